/* SPDX-License-Identifier: MIT */
/* shiplog logs SERVICE [--op ID | --since T] [-n N] [-f]: the service's unit lines from the
 * systemd journal (sd-journal, matched by unit), or its [runtime native] log_dir file. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "config.h"
#include "journal.h"
#include "out.h"
#include "reads.h"
#include "spawn.h"
#include "util.h"

static volatile sig_atomic_t stop_following;

static void on_stop(int sig)
{
	stop_following = sig;
}

struct window {
	uint64_t op;
	int64_t first_ns, last_ns;
	bool finished;
};

static int window_cb(const struct ledger_event *ev, void *ud)
{
	struct window *w = ud;

	if (!w->first_ns)
		w->first_ns = ev->time_ns;
	w->last_ns = ev->time_ns;
	if (ev->op == w->op && ev->type == LEDGER_EV_OP_FINISHED)
		w->finished = true;
	return 0;
}

/* The times of operation op's first and last events (its nested rollback included). */
static int op_window(struct cmd_ctx *ctx, uint64_t op, struct window *w)
{
	int r;

	r = cmd_open_ledger(ctx, false);
	if (r < 0)
		return r;
	*w = (struct window){.op = op};
	r = ledger_op_events(ctx->lg, op, window_cb, w);
	if (r == LEDGER_ENOTFOUND || (r == 0 && !w->first_ns)) {
		log_error("logs: no operation %" PRIu64 " in this ledger (newest is %" PRIu64
			  "); see 'shiplog history'",
			  op, reads_newest_op(ctx->lg));
		return SL_EUSAGE;
	}
	if (r < 0)
		return reads_ledger_fail(&cmd_logs, ctx->lg, r, "cannot read the operation", op);
	return 0;
}

/* log_dir: the file has no times and no invocations; print its last lines. */
static int print_file(const struct config *cfg, const struct service *s, uint64_t lines,
		      bool windowed)
{
	const char *dir = cfg->native.log_dir;
	_cleanup_free_ char *path =
	    dir[0] == '/' ? xasprintf("%s/%s.log", dir, s->name)
			  : xasprintf("%s/%s/%s.log", cfg->target.checkout, dir, s->name);
	char n[32];
	char *argv[] = {"tail", "-n", n, path, NULL};
	struct spawn_result res = {0};
	int r;

	if (windowed)
		log_warn("'%s' has no times (log_dir): showing its last %" PRIu64
			 " lines, not the window asked for",
			 path, lines);
	snprintf(n, sizeof(n), "%" PRIu64, lines);
	/* relayed (captured and teed), not inherited: terminal controls in the file are escaped */
	r = spawn_run(argv, &(struct spawn_opts){.capture = true, .tee = true}, &res);
	if (r < 0 || res.exit_code != 0) {
		log_error("logs: cannot read '%s': check [runtime native] log_dir", path);
		spawn_result_release(&res);
		return SL_EENV;
	}
	spawn_result_release(&res);
	return 0;
}

static const struct option options[] = {
    {"op", required_argument, NULL, 'o'},
    {"since", required_argument, NULL, 's'},
    {"lines", required_argument, NULL, 'n'},
    {"follow", no_argument, NULL, 'f'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct config *cfg = ctx->cfg;
	const struct service *s = NULL;
	struct journal_query q = {0};
	uint64_t op = 0, lines = 0;
	int64_t since = 0;
	bool follow = false, have_op = false;
	char err[512];
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n:f", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			r = args_u64(&cmd_logs, "operation id", optarg, 1, &op);
			if (r < 0)
				return r;
			have_op = true;
			break;
		case 's':
			r = args_time(&cmd_logs, "--since", optarg, &since);
			if (r < 0)
				return r;
			break;
		case 'n':
			r = args_u64(&cmd_logs, "--lines", optarg, 1, &lines);
			if (r < 0)
				return r;
			break;
		case 'f':
			follow = true;
			break;
		default:
			return args_bad_option(&cmd_logs, argv, optind, optopt);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error(&cmd_logs, "expected one service name");
	if (have_op && since)
		return cmd_usage_error(&cmd_logs, "--op and --since both set a window; give one");
	if (have_op && follow)
		return cmd_usage_error(&cmd_logs, "--op is a past window; -f follows new lines: "
						  "give one");
	for (size_t i = 0; i < cfg->nservices; i++)
		if (streq(cfg->services[i].name, argv[optind]))
			s = &cfg->services[i];
	if (!s) {
		struct strv names = {0};
		_cleanup_free_ char *list = NULL;

		for (size_t i = 0; i < cfg->nservices; i++)
			strv_push(&names, cfg->services[i].name);
		list = strv_join(&names, ", ");
		strv_free(&names);
		log_error("logs: no service '%s' in %s; its services are: %s", argv[optind],
			  cfg->path, list);
		return SL_EUSAGE;
	}

	if (cfg->native.log_dir)
		return print_file(cfg, s, lines ? lines : 100, have_op || since);

	q.unit = s->unit;
	q.user = cfg->native.manager == MANAGER_USER;
	if (have_op) {
		struct window w;

		r = op_window(ctx, op, &w);
		if (r < 0)
			return r;
		q.since_us = (uint64_t)w.first_ns / 1000;
		q.until_us = w.finished ? (uint64_t)w.last_ns / 1000 : 0;
	} else if (since) {
		q.since_us = (uint64_t)since / 1000;
	} else {
		q.max_lines = lines ? lines : 100;
	}
	if (!journal_available(err, sizeof(err))) {
		log_error("logs: %s", err);
		return SL_EENV;
	}
	if (follow) {
		struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESETHAND};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	r = journal_print(&q, stdout, follow, &stop_following, err, sizeof(err));
	if (r < 0) {
		log_error("logs: %s", err);
		return SL_EENV;
	}
	return 0;
}

const struct cmd_entry cmd_logs = {
    .name = "logs",
    .summary = "a service's unit lines from the journal, for an operation's window or since T",
    .usage =
	"usage: shiplog logs SERVICE [--op ID | --since T] [-n N] [-f]\n"
	"\n"
	"Prints the lines of SERVICE's systemd unit from the journal (the user manager's unit "
	"with\n"
	"[runtime native] manager = user, as journalctl --user-unit does), one per line:\n"
	"  2026-12-01T15:00:00.123Z IDENT[PID]: message\n"
	"\n"
	"  --op ID       only the lines written while operation ID ran (its first to its last\n"
	"                event, its automatic rollback included; see 'shiplog history')\n"
	"  --since T     the lines since T (RFC 3339, or an age: 90m, 2h, 3d)\n"
	"  -n, --lines N the last N lines (default 100 when neither --op nor --since is given)\n"
	"  -f, --follow  keep printing new lines until interrupted\n"
	"\n"
	"The journal read is the machine's (sd-journal), or the journal files under\n"
	"$SHIPLOG_JOURNAL_DIR when that is set. With [runtime native] log_dir, units append to\n"
	"<log_dir>/<service>.log instead: that file has no times, so its last N lines are shown.\n"
	"After a failed restart or verify, deploy and rollback print the unit's Result, its exit\n"
	"status and its last lines of that invocation themselves, and record them in the ledger.\n"
	"\n"
	"Examples:\n"
	"  shiplog logs web -n 20\n"
	"  shiplog logs compute --op 42\n"
	"  shiplog logs api --since 10m -f\n"
	"\n"
	"Exit codes: 0 ok, 2 usage (unknown service or operation, --op with --since or -f),\n"
	"4 no journal or no ledger.\n",
    .flags = CMD_CONFIG | CMD_FORWARDS,
    .shortopts = "n:f",
    .options = options,
    .run = run,
};
