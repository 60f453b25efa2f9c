/* SPDX-License-Identifier: MIT */
/* shiplog logs SERVICE [--op N | --since T] [-n N] [-f]: the service's unit lines from the
 * systemd journal (sd-journal, matched by unit), or its [runtime native] log_dir file, or for
 * the docker runtime its containers' `docker logs`. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "compose.h"
#include "config.h"
#include "interrupt.h"
#include "journal.h"
#include "out.h"
#include "reads.h"
#include "spawn.h"
#include "util.h"

static volatile sig_atomic_t stop_following;

/* -f: SIGINT or SIGTERM ends the follow (once; a second one ends the process: interrupt.h). */
static void stop_on_signal(void)
{
	interrupt_catch(&stop_following);
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
static int op_window(struct cmd_ctx *ctx, const char *arg, struct window *w)
{
	uint64_t op = 0;
	int r;

	r = cmd_open_ledger(ctx, false);
	if (r < 0)
		return r;
	r = reads_resolve_op(&cmd_logs, ctx->lg, arg, &op, NULL);
	if (r < 0)
		return r;
	*w = (struct window){.op = op};
	r = ledger_op_events(ctx->lg, op, window_cb, w);
	if (r == LEDGER_ENOTFOUND || (r == 0 && !w->first_ns)) {
		log_error("logs: operation %s has no events; see 'shiplog history'", arg);
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

/* The runtime that runs the service now according to the ledger; native when the ledger does
 * not exist or does not know it. */
static int service_owner(struct cmd_ctx *ctx, const char *name)
{
	struct ledger_state *st;
	const struct ledger_service_state *ss;
	int rt = LEDGER_RT_NATIVE;

	if (!ctx->ledger_dir)
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, ctx->cfg);
	if (!ctx->lg) {
		_cleanup_free_ char *mdb =
		    ctx->ledger_dir ? xasprintf("%s/data.mdb", ctx->ledger_dir) : NULL;

		if (!mdb || access(mdb, R_OK) != 0 || cmd_open_ledger(ctx, false) < 0)
			return rt;
	}
	st = xmalloc(sizeof(*st));
	if (ledger_state_at(ctx->lg, UINT64_MAX, st) == 0) {
		ss = ledger_state_service(st, name);
		if (ss && ss->owner == LEDGER_RT_DOCKER)
			rt = LEDGER_RT_DOCKER;
	}
	free(st);
	return rt;
}

/* The docker runtime: the compose service's container logs through `docker logs`. */
static int docker_logs(struct cmd_ctx *ctx, const struct service *s, const char *op, int64_t since,
		       uint64_t lines, bool follow)
{
	const struct config *cfg = ctx->cfg;
	struct compose_logs_opts o = {.since_ns = since, .follow = follow, .stop = &stop_following};
	struct compose *c = NULL;
	char err[1024];
	int verbosity = out_settings.verbosity, r;

	if (op) {
		struct window w;

		r = op_window(ctx, op, &w);
		if (r < 0)
			return r;
		o.since_ns = w.first_ns;
		o.until_ns = w.finished ? w.last_ns : 0;
	} else if (!since) {
		o.tail = lines ? lines : 100;
	}
	/* before compose_open's own docker calls: a ^C while they run ends the follow, as after */
	if (follow)
		stop_on_signal();
	/* compose_open says which engine and compose answer: not part of the log lines */
	out_settings.verbosity = -1;
	r = compose_open(&c, NULL, cfg->target.checkout, cfg->docker.workdir, cfg->docker.project,
			 err, sizeof(err));
	out_settings.verbosity = verbosity;
	if (r < 0) {
		log_error("logs: %s", err);
		return SL_EENV;
	}
	r = compose_logs(c, s->compose ? s->compose : s->name, &o, err, sizeof(err));
	compose_free(c);
	if (r < 0) {
		log_error("logs: %s", err);
		return SL_EENV;
	}
	return 0;
}

static const struct option options[] = {
    {"op", required_argument, NULL, 'o'},      {"since", required_argument, NULL, 's'},
    {"lines", required_argument, NULL, 'n'},   {"follow", no_argument, NULL, 'f'},
    {"runtime", required_argument, NULL, 'r'}, {0},
};

/* The service called name in the config, or NULL (said, with the names it has). */
static const struct service *service_named(const struct config *cfg, const char *name)
{
	struct strv names = {0};
	_cleanup_free_ char *list = NULL;

	for (size_t i = 0; i < cfg->nservices; i++)
		if (streq(cfg->services[i].name, name))
			return &cfg->services[i];
	for (size_t i = 0; i < cfg->nservices; i++)
		strv_push(&names, cfg->services[i].name);
	list = strv_join(&names, ", ");
	strv_free(&names);
	log_error("logs: no service '%s' in %s; its services are: %s", name, cfg->path, list);
	return NULL;
}

/* The journal's lines of q (followed with follow, until a signal). SL_EENV (said) without a
 * journal. */
static int journal_show(struct journal_query *q, bool follow)
{
	char err[1024];

	if (!journal_available(err, sizeof(err))) {
		log_error("logs: %s", err);
		return SL_EENV;
	}
	if (follow)
		stop_on_signal();
	if (journal_print(q, stdout, follow, &stop_following, err, sizeof(err)) < 0) {
		log_error("logs: %s", err);
		return SL_EENV;
	}
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct config *cfg = ctx->cfg;
	const struct service *s = NULL;
	struct journal_query q = {0};
	const char *op_arg = NULL;
	uint64_t lines = 0;
	int64_t since = 0;
	bool follow = false, have_op = false;
	int runtime = -1;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n:f", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (reads_check_op(&cmd_logs, optarg) < 0)
				return SL_EUSAGE;
			op_arg = optarg;
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
		case 'r':
			runtime = ledger_runtime_from_name(optarg);
			if (runtime < 0)
				return cmd_usage_error(
				    &cmd_logs, "bad --runtime '%s': use native or docker", optarg);
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
	s = service_named(cfg, argv[optind]);
	if (!s)
		return SL_EUSAGE;

	if (runtime < 0)
		runtime = service_owner(ctx, s->name);
	if (runtime == LEDGER_RT_DOCKER)
		return docker_logs(ctx, s, have_op ? op_arg : NULL, since, lines, follow);
	if (cfg->native.log_dir)
		return print_file(cfg, s, lines ? lines : 100, have_op || since);

	q.unit = s->unit;
	q.user = cfg->native.manager == MANAGER_USER;
	if (have_op) {
		struct window w;

		r = op_window(ctx, op_arg, &w);
		if (r < 0)
			return r;
		q.since_us = (uint64_t)w.first_ns / 1000;
		q.until_us = w.finished ? (uint64_t)w.last_ns / 1000 : 0;
	} else if (since) {
		q.since_us = (uint64_t)since / 1000;
	} else {
		q.max_lines = lines ? lines : 100;
	}
	return journal_show(&q, follow);
}

const struct cmd_entry cmd_logs = {
    .name = "logs",
    .summary = "a service's unit lines from the journal, for an operation's window or since T",
    .usage =
	"usage: shiplog logs SERVICE [--op N|seq:S | --since T] [-n N] [-f] [--runtime R]\n"
	"\n"
	"Prints the lines of SERVICE's systemd unit from the journal (the user manager's unit "
	"with\n"
	"[runtime native] manager = user, as journalctl --user-unit does), one per line:\n"
	"  2026-12-01T15:00:00.123Z IDENT[PID]: message\n"
	"When the docker runtime runs SERVICE (the ledger's owner, or --runtime docker), its\n"
	"compose service's container logs instead, from 'docker logs --timestamps' (each\n"
	"container of the service, oldest first; -f follows the newest).\n"
	"\n"
	"  --op N        only the lines written while operation N ran (its first to its last\n"
	"                event, its automatic rollback included): its number, as 'shiplog\n"
	"                history' shows it, or seq:S, the sequence of its first event\n"
	"  --since T     the lines since T (RFC 3339, or an age: 90m, 2h, 3d)\n"
	"  -n, --lines N the last N lines (default 100 when neither --op nor --since is given)\n"
	"  -f, --follow  keep printing new lines until interrupted\n"
	"  --runtime R   native (the journal) or docker (the containers); default: the runtime\n"
	"                that runs SERVICE according to the ledger, else native\n"
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
	"4 no journal, no container or no Docker engine, 5 no ledger (nothing deployed yet).\n",
    .flags = CMD_CONFIG | CMD_FORWARDS,
    .shortopts = "n:f",
    .options = options,
    .run = run,
};
