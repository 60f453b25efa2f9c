/* SPDX-License-Identifier: MIT */
/* shiplog lock status | break: who holds the deploy lock; stop a holder that hangs. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "lock.h"
#include "op.h"
#include "out.h"
#include "util.h"
#include "view.h"

static const char usage[] =
    "usage: shiplog lock status\n"
    "       shiplog lock break [--kill] [--wait DURATION]\n"
    "\n"
    "The deploy lock is an flock(2) on <ledger>/deploy.lock held for a whole deploy or rollback.\n"
    "The kernel releases it when its holder dies, so it is never stale: the dead holder's\n"
    "operation is closed as 'interrupted' by the next operation.\n"
    "\n"
    "  status        held or free; the holder's pid, user@host, operation and since when\n"
    "  break         for a holder that hangs: without --kill it only says who holds the lock;\n"
    "                with --kill it sends SIGTERM to the holder (SIGKILL after --wait, default\n"
    "                10s), records lock.broken and closes the holder's operation as interrupted\n"
    "\n"
    "Examples:\n"
    "  shiplog lock status\n"
    "  shiplog lock break --kill --wait 30s   # a deploy that hangs: end it, free the lock\n"
    "\n"
    "Exit codes: 0 (status: held or free, see the output or --json); 0 broken or nothing to "
    "break;\n"
    "3 break without --kill on a live holder; 4 ledger or environment error.\n";

static int print_status(struct cmd_ctx *ctx, bool *held_out, struct lock_holder *h)
{
	char who[512];
	bool held = false;
	int r;

	r = lock_status(ctx->ledger_dir, &held, h);
	if (r < 0 && r != -ENOENT) {
		log_error("cannot read the lock in '%s': %s", ctx->ledger_dir, strerror(-r));
		return SL_EENV;
	}
	*held_out = held;
	if (out_settings.json) {
		uint64_t n = !held ? 0 : h->number ? h->number : view_op_number(h->op);

		out_json(json_pack("{s:b,s:i,s:o,s:I,s:o,s:o}", "held", held, "pid",
				   held ? (int)h->pid : 0, "actor", json_str(held ? h->actor : ""),
				   "op", (json_int_t)(held ? h->op : 0), "number",
				   n ? json_integer((json_int_t)n) : json_null(), "since",
				   held ? json_time(h->since_ns) : json_null()));
		return 0;
	}
	if (!held) {
		printf("lock: free (%s/deploy.lock)\n", ctx->ledger_dir);
		return 0;
	}
	lock_holder_describe(h, who, sizeof(who));
	printf("lock: held by %s\n", who);
	return 0;
}

static int do_break(struct cmd_ctx *ctx, bool kill_it, int64_t wait_ns)
{
	struct ledger_event ev = {.type = LEDGER_EV_LOCK_BROKEN};
	struct lock_holder h;
	bool held;
	char who[512];
	int r;

	r = print_status(ctx, &held, &h);
	if (r < 0)
		return r;
	if (!held) {
		out_plain(
		    "nothing to break: the lock is free (a dead holder releases it by itself)");
		return 0;
	}
	lock_holder_describe(&h, who, sizeof(who));
	if (!kill_it) {
		log_error("lock held by %s, which is alive; to stop it, run 'shiplog lock break "
			  "--kill' (its operation is then closed as interrupted)",
			  who);
		return SL_EREFUSED;
	}
	if (h.pid == 0 || (pid_t)h.pid == getpid()) {
		log_error("the lock record names no process to stop; remove nothing by hand, wait "
			  "for the holder");
		return SL_EENV;
	}
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		return r;
	ev.u.lock_broken.holder_pid = h.pid;
	ev.u.lock_broken.holder = h.actor;
	ev.u.lock_broken.holder_op = h.op;
	ev.version = LEDGER_SCHEMA_VERSION;
	ev.actor = actor_string();
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0) {
		log_error("cannot record lock.broken: %s", ledger_strerror(r));
		return r;
	}
	out_plain("sending SIGTERM to pid %u", h.pid);
	if (kill((pid_t)h.pid, SIGTERM) < 0 && errno != ESRCH) {
		log_error("cannot signal pid %u: %s", h.pid, strerror(errno));
		return SL_EENV;
	}
	{
		int64_t deadline = mono_ns() + wait_ns;
		struct deploy_lock l = {.fd = -1};
		struct lock_holder again;
		while (lock_acquire(ctx->ledger_dir, 0, &l, &again) == SL_EREFUSED) {
			if (mono_ns() >= deadline) {
				out_plain("pid %u still holds the lock after SIGTERM: SIGKILL",
					  h.pid);
				kill((pid_t)h.pid, SIGKILL);
				deadline = INT64_MAX;
			}
			usleep(100000);
		}
		r = op_close_interrupted(ctx->lg, "lock broken");
		lock_release(&l);
	}
	out_plain("lock broken");
	return r < 0 ? r : 0;
}

static const struct option options[] = {
    {"kill", no_argument, NULL, 'k'},
    {"wait", required_argument, NULL, 'w'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct lock_holder h;
	bool kill_it = false, held;
	int64_t wait_ns = 10000000000LL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'k') {
			kill_it = true;
		} else if (opt == 'w') {
			if (parse_duration_ns(optarg, &wait_ns) < 0)
				return cmd_usage_error(&cmd_lock, "--wait: '%s' is not a duration",
						       optarg);
		} else {
			return cmd_usage_error(&cmd_lock, "unknown option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_lock, "say 'status' or 'break'");
	if (!ctx->ledger_dir) {
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, ctx->cfg);
		if (!ctx->ledger_dir)
			return SL_EUSAGE;
	}
	if (streq(argv[optind], "status")) {
		r = print_status(ctx, &held, &h);
		return r < 0 ? r : 0;
	}
	if (streq(argv[optind], "break"))
		return do_break(ctx, kill_it, wait_ns);
	return cmd_usage_error(&cmd_lock, "unknown subcommand '%s'; say 'status' or 'break'",
			       argv[optind]);
}

const struct cmd_entry cmd_lock = {
    .name = "lock",
    .summary = "status | break: the deploy lock and its holder",
    .usage = usage,
    .flags = CMD_CONFIG_OPTIONAL,
    .shortopts = "",
    .options = options,
    .words = "status break",
    .run = run,
};
