/* SPDX-License-Identifier: MIT */
/* shiplog status: what runs now. One snapshot read plus the tail (ledger_state_at), and the lock
 * file: cheap whatever the ledger's size. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "lock.h"
#include "out.h"
#include "render.h"
#include "util.h"

static json_t *lock_json(int r, bool held, const struct lock_holder *h)
{
	if (r < 0)
		return json_pack("{s:b,s:o}", "held", 0, "error", json_str(sl_strerror(r)));
	if (!held)
		return json_pack("{s:b}", "held", 0);
	return json_pack("{s:b,s:I,s:o,s:I,s:o}", "held", 1, "pid", (json_int_t)h->pid, "actor",
			 json_str(h->actor), "op", (json_int_t)h->op, "since",
			 json_time(h->since_ns));
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ledger_state *st = NULL;
	struct lock_holder holder = {0};
	bool held = false;
	int r, lr;

	r = render_args_json_only(&cmd_status, argc, argv);
	if (r < 0)
		return r;
	if (optind < argc) {
		log_error("status: unexpected argument '%s'; see 'shiplog status --help'",
			  argv[optind]);
		return SL_EUSAGE;
	}
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;

	st = xmalloc(sizeof(*st));
	r = ledger_state_at(ctx->lg, UINT64_MAX, st);
	if (r < 0) {
		render_ledger_fail(&cmd_status, ctx->lg, r, "cannot replay the ledger", 0);
		goto out;
	}
	lr = lock_status(ctx->ledger_dir, &held, &holder);

	if (out_settings.json) {
		json_t *o = render_state_json(st);

		json_object_set_new(o, "ledger", json_str(ctx->ledger_dir));
		json_object_set_new(o, "lock", lock_json(lr, held, &holder));
		out_json(o);
		goto out;
	}

	printf("ledger %s\n", ctx->ledger_dir);
	render_state_text(stdout, st);
	if (lr < 0) {
		printf("lock: unknown (%s)\n", sl_strerror(lr));
	} else if (held) {
		char d[512];

		lock_holder_describe(&holder, d, sizeof(d));
		printf("lock: held by %s\n", d);
	} else {
		printf("lock: free\n");
		if (st->inflight.op)
			printf("note: operation %" PRIu64
			       " is recorded as running but nobody holds "
			       "the lock: its process died; the next deploy or rollback closes it "
			       "as interrupted\n",
			       st->inflight.op);
	}
out:
	free(st);
	return r;
}

const struct cmd_entry cmd_status = {
    .name = "status",
    .summary = "what runs now: per service commit, owner, health, last-good; lock holder",
    .usage = "usage: shiplog status [--json]\n"
	     "\n"
	     "Shows the current state replayed from the ledger: for every service the runtime\n"
	     "that owns it, the commit running on each runtime and since when, whether its last\n"
	     "health evidence was good, and its last-good commit (the newest operation whose\n"
	     "verify passed and that was not rolled back). Then the quarantined commits (undone\n"
	     "by a rollback), the operation in flight (with its phase, actor and pid) and who\n"
	     "holds the deploy lock. It reads the newest snapshot plus the events after it, so\n"
	     "it is fast on any ledger size.\n"
	     "\n"
	     "Options:\n"
	     "  --json    one JSON document: seq, services[].runtimes.<rt>.{commit,since,healthy,\n"
	     "            last_good}, quarantine[], inflight, parent, counters, lock\n"
	     "\n"
	     "Examples:\n"
	     "  shiplog status\n"
	     "  shiplog --ledger /srv/state/app status --json | jq '.services[].owner'\n"
	     "\n"
	     "Exit codes: 0 ok, 2 usage, 4 no ledger or unreadable ledger.\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .run = run,
};
