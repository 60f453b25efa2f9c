/* SPDX-License-Identifier: MIT */
/* shiplog report: the ledger as one self-contained HTML page. One forward scan of the events
 * (from --since on): the envelope of each is peeked, and only the types the page shows are
 * decoded and fed to the aggregate (output/report.c); the current state is the newest snapshot
 * plus its tail. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "config.h"
#include "fleet-reads.h"
#include "out.h"
#include "reads.h"
#include "report.h"
#include "util.h"

static const struct option options[] = {
    {"since", required_argument, NULL, 's'},
    {"output", required_argument, NULL, 'o'},
    FLEET_READS_OPTIONS,
    {0},
};

/* Where the page is read when not from this machine's ledger: --host NAME of the fleet. */
struct report_from {
	const char *host, *timeout_text, *since_text;
};

/* The page of [host NAME], built there by its own shiplog, onto our standard output (the fleet
 * reads pass one host's answer through as it comes). */
static int host_page(struct cmd_ctx *ctx, const struct report_from *f)
{
	char *argv[8] = {"report", "--host", (char *)f->host};
	int argc = 3;

	if (f->timeout_text) {
		argv[argc++] = "--host-timeout";
		argv[argc++] = (char *)f->timeout_text;
	}
	if (f->since_text) {
		argv[argc++] = "--since";
		argv[argc++] = (char *)f->since_text;
	}
	return fleet_reads_maybe(ctx, &cmd_report, argc, argv);
}

/* The page built elsewhere (the server of a forwarding config, or --host NAME) onto our
 * standard output; CMD_RUN_HERE when it is this machine's to build. */
static int page_elsewhere(struct cmd_ctx *ctx, const struct report_from *f)
{
	char *fargv[] = {"report", f->since_text ? "--since" : NULL, (char *)f->since_text, NULL};
	int argc = ctx->cmd_argc, r;
	char **argv = ctx->cmd_argv;

	if (f->host)
		return host_page(ctx, f);
	ctx->cmd_argc = f->since_text ? 3 : 1;
	ctx->cmd_argv = fargv;
	r = cmd_ready(ctx);
	ctx->cmd_argc = argc;
	ctx->cmd_argv = argv;
	return r;
}

/* cmd_ready() for -o FILE: FILE is on this machine even when the read runs on the server over
 * ssh (a forwarding config, or --host NAME). The command is sent without -o, and its standard
 * output (the page) goes into a temporary file beside FILE, renamed over it when the remote
 * run succeeded. Returns like cmd_ready(): CMD_RUN_HERE to build the page here (nothing was
 * written), or the result of the remote run. */
static int ready_to_file(struct cmd_ctx *ctx, const char *path, const struct report_from *f)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd, saved, r;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		log_error("report: cannot write '%s': %s; check that its directory exists and is "
			  "writable",
			  path, strerror(-r));
		return r == -ENOENT || r == -EACCES || r == -ENOTDIR || r == -EROFS ? SL_EENV : r;
	}
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0 || dup2(fd, STDOUT_FILENO) < 0) {
		r = -errno;
		log_error("report: cannot redirect standard output: %s", strerror(-r));
	} else {
		r = page_elsewhere(ctx, f);
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
	}
	if (saved >= 0)
		close(saved);
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)) {
		r = -errno;
		log_error("report: cannot write '%s': %s", path, strerror(-r));
	}
	close(fd);
	if (r != 0)
		unlink(tmp);
	return r;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *path = NULL, *since_text = NULL;
	struct report_from from = {0};
	int64_t since_ns = 0;
	struct report rp;
	struct ledger_state *st = NULL;
	struct buf html = {0};
	uint64_t scanned = 0, bad = 0;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			r = args_time(&cmd_report, "--since", optarg, &since_ns);
			if (r < 0)
				return r;
			since_text = optarg;
			from.since_text = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case FLEET_READS_OPT_HOST:
			from.host = optarg;
			break;
		case FLEET_READS_OPT_ALL_HOSTS:
			return cmd_usage_error(&cmd_report, "a page is one host's ledger: "
							    "use --host NAME, once per host");
		case FLEET_READS_OPT_TIMEOUT:
			from.timeout_text = optarg; /* checked by the fleet reads */
			break;
		default:
			return args_bad_option(&cmd_report, argv, optind, optopt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_report, "unexpected argument '%s'", argv[optind]);
	/* a read forwards over ssh only from a config and without --ledger (cmd_ready) */
	if (path && (from.host || (ctx->cfg && !ctx->ledger_opt && !ctx->forwarded_from)))
		r = ready_to_file(ctx, path, &from);
	else if (from.host)
		r = host_page(ctx, &from);
	else
		r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;

	report_init(&rp, since_ns);
	r = report_scan(ctx->lg, &rp, &scanned, &bad);
	if (r < 0) {
		reads_ledger_fail(&cmd_report, ctx->lg, r, "cannot read the events", 0);
		goto out;
	}
	st = xmalloc(sizeof(*st));
	r = ledger_state_at(ctx->lg, UINT64_MAX, st);
	if (r < 0) {
		reads_ledger_fail(&cmd_report, ctx->lg, r, "cannot replay the ledger", 0);
		goto out;
	}
	if (bad)
		log_warn("report: %llu events did not decode and are left out; see 'shiplog "
			 "ledger verify'",
			 (unsigned long long)bad);
	report_write(&html, &rp, st,
		     &(struct report_page){
			 .project = ctx->cfg ? ctx->cfg->project : NULL,
			 .ledger_dir = ctx->ledger_dir,
			 .now_ns = now_ns(),
			 .since_text = since_text,
			 .events = scanned,
		     });
	if (!path) {
		if (fwrite(html.data, 1, html.len, stdout) != html.len || fflush(stdout) != 0) {
			r = -errno;
			log_error("report: cannot write to standard output: %s", strerror(errno));
		}
	} else {
		/* atomic: a browser or a web server never sees half a page */
		r = write_file_atomic(path, html.data, html.len, 0644);
		if (r < 0)
			log_error("report: cannot write '%s': %s; check that its directory exists "
				  "and is writable",
				  path, strerror(-r));
	}
out:
	report_release(&rp);
	free(st);
	buf_free(&html);
	return r < 0 ? (r == -ENOENT || r == -EACCES || r == -ENOTDIR || r == -EROFS ? SL_EENV : r)
		     : 0;
}

const struct cmd_entry cmd_report = {
    .name = "report",
    .summary = "the ledger as one self-contained HTML page: timeline, trends, state",
    .usage =
	"usage: shiplog report [--since T] [-o FILE] [--host NAME]\n"
	"\n"
	"Writes one HTML file that needs nothing else (inline CSS and SVG, no script, no\n"
	"external asset; it reads the same with JavaScript off): the success rate and the count\n"
	"of every outcome; a timeline of the operations coloured by outcome, each rollback joined\n"
	"to the operation it reverted (past 240 operations, bars per span of time); each phase's\n"
	"duration over time as a p50 line in a p50-p95 band; the current state of every service\n"
	"and runtime; the quarantined commits; the soak windows with their samples and restarts;\n"
	"and the newest 60 operations in full. Every string from the ledger is HTML-escaped.\n"
	"It reads the ledger once, from T on: about a second for 100k operations.\n"
	"\n"
	"A ledger is one server's: report another server's from a checkout configured for it (the\n"
	"command runs there over ssh like every read), with --host NAME (a [host NAME] of the\n"
	"fleet, docs/fleet.md: the page is built there and streamed back), or with --ledger DIR.\n"
	"\n"
	"Options:\n"
	"  --since T          only operations from T on (RFC 3339 or an age: 90m, 2h, 7d); the\n"
	"                     current state and the quarantine are always the newest\n"
	"  -o, --output FILE  write FILE atomically (a temporary file renamed over it), mode\n"
	"                     0644; default: standard output. FILE is on this machine also\n"
	"                     when the report is read on the server over ssh\n"
	"  --host NAME        the page of [host NAME]'s ledger, built by its own shiplog\n"
	"  --host-timeout D   how long that host's page is awaited (default 20s)\n"
	"\n"
	"Examples:\n"
	"  shiplog report -o report.html\n"
	"  shiplog report --since 30d > last-month.html\n"
	"  shiplog report --host web2 -o web2.html\n"
	"\n"
	"Exit codes: 0 written, 2 usage, 4 unreadable ledger, or FILE could not be written,\n"
	"5 no ledger (nothing deployed yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .shortopts = "o:",
    .options = options,
    .run = run,
};
