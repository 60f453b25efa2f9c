/* SPDX-License-Identifier: MIT */
/* shiplog status: what runs now. One snapshot read plus the tail (ledger_state_at), and the lock
 * file: cheap whatever the ledger's size. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "config.h"
#include "fleet-reads.h"
#include "json.h"
#include "lock.h"
#include "out.h"
#include "reads.h"
#include "releases.h"
#include "repo.h"
#include "text.h"
#include "util.h"
#include "view.h"

static json_t *lock_json(int r, bool held, const struct lock_holder *h)
{
	if (r < 0)
		return json_pack("{s:b,s:o}", "held", 0, "error", json_str(sl_strerror(r)));
	if (!held)
		return json_pack("{s:b}", "held", 0);
	uint64_t n = h->number ? h->number : view_op_number(h->op);

	return json_pack("{s:b,s:I,s:o,s:I,s:o,s:o}", "held", 1, "pid", (json_int_t)h->pid, "actor",
			 json_str(h->actor), "op", (json_int_t)h->op, "number",
			 n ? json_integer((json_int_t)n) : json_null(), "since",
			 json_time(h->since_ns));
}

/* Drift: a service whose files on disk are not the commit it runs (the shared in-place checkout
 * moved by a deploy that left it out, or its release link). Needs the config; reads git only for
 * the in-place layout. One line per drifting service into text, or an array into json. */
static void drift(struct cmd_ctx *ctx, const struct ledger_state *st, json_t *json)
{
	const struct config *cfg = ctx->cfg;
	struct repo *repo = NULL;
	char head[REPO_OID_HEX] = "";

	if (!cfg || str_empty(cfg->target.checkout))
		return;
	if (cfg->target.layout == LAYOUT_IN_PLACE) {
		if (repo_open(cfg->target.checkout, &repo) < 0 ||
		    repo_head(repo, head, NULL, 0) < 0)
			head[0] = '\0';
		repo_free(repo);
		if (!head[0])
			return;
	}
	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *ss = &st->services[i];
		const char *runs = ss->rt[LEDGER_RT_NATIVE].commit;
		char files[REPO_OID_HEX] = "";

		if (!runs[0] || ss->owner != LEDGER_RT_NATIVE || !config_service(cfg, ss->name))
			continue;
		if (cfg->target.layout == LAYOUT_IN_PLACE)
			strlcpy_(files, head, sizeof(files));
		else if (releases_service_commit(cfg, ss->name, files) < 0)
			continue;
		if (streq(files, runs))
			continue;
		if (json)
			json_array_append_new(json, json_pack("{s:s,s:s,s:s}", "service", ss->name,
							      "runs", runs, "files", files));
		else
			printf(
			    "drift: %s runs %.12s but its files on disk are %.12s (%s); a restart "
			    "would run code no deploy verified for it\n",
			    ss->name, runs, files,
			    cfg->target.layout == LAYOUT_IN_PLACE ? "the shared checkout moved"
								  : "its release link");
	}
}

static const struct option options[] = {
    {"json", no_argument, NULL, 'J'},
    FLEET_READS_OPTIONS,
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ledger_state *st = NULL;
	struct lock_holder holder = {0};
	bool held = false;
	char on[VIEW_OP_NAME_MAX];
	int r, lr;

	r = fleet_reads_maybe(ctx, &cmd_status, argc, argv);
	if (r != CMD_RUN_HERE)
		return r;
	r = args_json_only(&cmd_status, argc, argv);
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
		reads_ledger_fail(&cmd_status, ctx->lg, r, "cannot replay the ledger", 0);
		goto out;
	}
	lr = lock_status(ctx->ledger_dir, &held, &holder);

	if (out_settings.json) {
		json_t *o = render_state_json(st);

		json_object_set_new(o, "ledger", json_str(ctx->ledger_dir));
		json_object_set_new(o, "lock", lock_json(lr, held, &holder));
		json_object_set_new(o, "drift", json_array());
		drift(ctx, st, json_object_get(o, "drift"));
		out_json(o);
		goto out;
	}

	printf("ledger %s\n", ctx->ledger_dir);
	render_state_text(stdout, st);
	drift(ctx, st, NULL);
	if (lr < 0) {
		printf("lock: unknown (%s)\n", sl_strerror(lr));
	} else if (held) {
		char d[512];

		lock_holder_describe(&holder, d, sizeof(d));
		printf("lock: held by %s\n", d);
	} else {
		printf("lock: free\n");
		if (st->inflight.op)
			printf("note: operation %s is recorded as running but nobody holds "
			       "the lock: its process died; the next deploy or rollback closes it "
			       "as interrupted\n",
			       view_op_name(st->inflight.op, on));
	}
out:
	free(st);
	return r;
}

const struct cmd_entry cmd_status = {
    .name = "status",
    .summary = "what runs now: per service commit, owner, health, last-good; lock holder",
    .usage =
	"usage: shiplog status [--json] [--host NAME | --all-hosts [--host-timeout D]]\n"
	"\n"
	"Shows the current state replayed from the ledger: for every service the runtime\n"
	"that owns it, the commit running on each runtime and since when, whether its last\n"
	"health evidence was good, and its last-good commit (the newest operation whose\n"
	"verify passed and that was not rolled back). Then the quarantined commits (undone\n"
	"by a rollback), the operation in flight (with its phase, actor and pid) and who\n"
	"holds the deploy lock. It reads the newest snapshot plus the events after it, so\n"
	"it is fast on any ledger size. With the config, a 'drift:' line names every service\n"
	"whose files on disk are not the commit it runs (the in-place checkout moved by a\n"
	"deploy that left it out of scope; in the releases layout, its release link).\n"
	"\n"
	"Options:\n"
	"  --json    one JSON document: seq, services[].runtimes.<rt>.{commit,since,healthy,\n"
	"            last_good}, quarantine[], inflight, parent, counters, lock,\n"
	"            drift[].{service,runs,files}\n"
	"  --host NAME        the status of [host NAME] (its own shiplog, over ssh)\n"
	"  --all-hosts        every host at once: one row per host and service (commit,\n"
	"                     health, last-good, lock), MIXED lines for a service that runs\n"
	"                     more than one commit; a host never deployed (no ledger there\n"
	"                     yet) as one row that says so (an answer); a host that did not\n"
	"                     answer as its row (exit 4; the others are shown); --json:\n"
	"                     hosts[] (state ok, never-deployed or no-answer), commits, mixed\n"
	"  --host-timeout D   a host's answer is awaited this long (default 20s)\n"
	"\n"
	"Examples:\n"
	"  shiplog status\n"
	"  shiplog --ledger /srv/state/app status --json | jq '.services[].owner'\n"
	"  shiplog status --all-hosts\n"
	"\n"
	"Exit codes: 0 ok (with --all-hosts: every host answered, a never deployed one\n"
	"included), 2 usage, 4 unreadable ledger (with --all-hosts: a host did not answer),\n"
	"5 no ledger: nothing was deployed with it yet (--host: that host's).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .options = options,
    .run = run,
};
