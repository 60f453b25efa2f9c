/* SPDX-License-Identifier: MIT */
#include "rollback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "op.h"
#include "out.h"
#include "releases.h"
#include "remote.h"
#include "rollout.h"
#include "util.h"

void rollback_pick_last_good(const struct config *cfg, const struct ledger_state *st, int runtime,
			     const size_t *svcs, size_t n, bool skip_current, struct rb_request *rq,
			     struct strv *missing)
{
	rq->ntargets = 0;
	for (size_t i = 0; i < n; i++) {
		const struct service *s = &cfg->services[svcs[i]];
		const struct ledger_service_state *ss = ledger_state_service(st, s->name);
		const struct ledger_service_runtime *rt;
		const struct ledger_good *pick = NULL;
		struct rb_target *t;

		if (!ss) {
			if (missing)
				strv_push(missing, s->name);
			continue;
		}
		rt = &ss->rt[runtime];
		{
			/* good commits, newest first, without quarantined ones */
			const struct ledger_good *l[LEDGER_GOOD_DEPTH];
			size_t nl = 0;
			for (uint32_t g = 0; g < rt->ngood; g++)
				if (!ledger_state_quarantined(st, rt->good[g].commit))
					l[nl++] = &rt->good[g];
			if (!skip_current) {
				pick = nl ? l[0] : NULL;
			} else if (nl && (streq(rt->commit, l[0]->commit) ||
					  (nl > 1 && streq(rt->commit, l[1]->commit)))) {
				/* it runs the last-good (or already the one before, after an
				 * interrupted rollback): the one before the last-good */
				pick = nl > 1 ? l[1] : NULL;
			} else {
				/* it runs something that never proved good: the last-good */
				pick = nl ? l[0] : NULL;
			}
		}
		if (!pick) {
			if (missing)
				strv_push(missing, s->name);
			continue;
		}
		t = &rq->targets[rq->ntargets++];
		t->service = svcs[i];
		strlcpy_(t->commit, pick->commit, sizeof(t->commit));
		strlcpy_(t->from, rt->commit, sizeof(t->from));
	}
}

/* Services grouped by target commit; the largest group goes last so that the checkout ends on
 * the commit most services run. */
struct group {
	char commit[REPO_OID_HEX];
	size_t idx[LEDGER_MAX_SERVICES];
	size_t n;
};

static size_t make_groups(const struct rb_request *rq, struct group *g)
{
	size_t ng = 0;

	for (size_t i = 0; i < rq->ntargets; i++) {
		size_t k;
		for (k = 0; k < ng; k++)
			if (streq(g[k].commit, rq->targets[i].commit))
				break;
		if (k == ng) {
			memset(&g[ng], 0, sizeof(g[ng]));
			strlcpy_(g[ng].commit, rq->targets[i].commit, sizeof(g[ng].commit));
			ng++;
		}
		g[k].idx[g[k].n++] = rq->targets[i].service;
	}
	for (size_t i = 1; i < ng; i++)
		for (size_t j = i; j > 0 && g[j - 1].n > g[j].n; j--) {
			struct group tmp = g[j];
			g[j] = g[j - 1];
			g[j - 1] = tmp;
		}
	return ng;
}

int rollback_execute(struct cmd_ctx *ctx, struct repo *repo, struct rb_request *rq, uint64_t *op_id)
{
	const struct config *cfg = ctx->cfg;
	struct ledger_op_requested req = {0};
	struct rollout ro = {.cfg = cfg, .runtime = rq->runtime, .repo = repo};
	struct group groups[LEDGER_MAX_SERVICES];
	const char *svcs[LEDGER_MAX_SERVICES], *targets[LEDGER_MAX_SERVICES];
	_cleanup_free_ char *target_buf = NULL;
	struct op op = {.current = -1};
	char head[REPO_OID_HEX] = "", branch[256];
	size_t ng, restarted[LEDGER_MAX_SERVICES], nrestarted = 0;
	int r;

	ro.op = &op;
	ro.no_build = rq->no_build;
	ro.fast = rq->fast;
	repo_head(repo, head, branch, sizeof(branch));
	ro.releases = cfg->target.layout == LAYOUT_RELEASES && rq->runtime == LEDGER_RT_NATIVE;
	if (ro.releases)
		releases_current_commit(cfg, head);
	ng = make_groups(rq, groups);

	/* the resolved targets, recorded: an interrupted rollback is completed to exactly these */
	target_buf = xcalloc(rq->ntargets ? rq->ntargets : 1, LEDGER_NAME_MAX + REPO_OID_HEX + 1);
	for (size_t i = 0; i < rq->ntargets; i++) {
		char *t = target_buf + i * (LEDGER_NAME_MAX + REPO_OID_HEX + 1);
		svcs[i] = cfg->services[rq->targets[i].service].name;
		snprintf(t, LEDGER_NAME_MAX + REPO_OID_HEX + 1, "%s=%s", svcs[i],
			 rq->targets[i].commit);
		targets[i] = t;
	}
	req.kind = "rollback";
	req.mode = rq->mode;
	req.ref = rq->ref;
	req.commit = ng ? groups[ng - 1].commit : "";
	req.prev_commit = rq->prev_commit ? rq->prev_commit : head;
	req.runtime = rq->runtime;
	req.services.n = (uint32_t)rq->ntargets;
	req.services.v = svcs;
	req.exec_mode = remote_mode_name(rq->exec_mode);
	req.config_digest = cfg->digest;
	req.reverts = rq->reverts;
	req.reason = rq->reason;
	req.targets.n = (uint32_t)rq->ntargets;
	req.targets.v = targets;

	r = op_begin(&op, ctx->lg, &req);
	if (r < 0)
		return r;
	*op_id = op.id;
	out_say("Operation %llu: rolling back %zu service%s (%s)%s%llu", (unsigned long long)op.id,
		rq->ntargets, rq->ntargets == 1 ? "" : "s", rq->reason,
		rq->reverts ? ", reverting operation " : "", (unsigned long long)rq->reverts);
	for (size_t i = 0; i < rq->ntargets; i++)
		out_say("  %-16s %.12s -> %.12s", svcs[i],
			rq->targets[i].from[0] ? rq->targets[i].from : "(unknown)",
			rq->targets[i].commit);

	r = rollout_open_runtime(&ro);
	if (r < 0) {
		op_fail(&op, "the %s runtime is unreachable", ledger_runtime_name(rq->runtime));
		goto fail;
	}

	op_phase_begin(&op, "rollout", "Rollback Rollout");
	r = rollout_recover_checkout(&ro); /* a checkout a killed operation left half done */
	if (r < 0)
		goto fail;
	for (size_t gi = 0; gi < ng; gi++) {
		struct group *g = &groups[gi];

		strlcpy_(ro.prev, head, sizeof(ro.prev));
		strlcpy_(ro.target, g->commit, sizeof(ro.target));
		ro.branch[0] = '\0';
		ro.plan.nservices = 0;
		for (size_t i = 0; i < g->n; i++) {
			const struct rb_target *t = NULL;
			for (size_t k = 0; k < rq->ntargets; k++)
				if (rq->targets[k].service == g->idx[i])
					t = &rq->targets[k];
			if (t && !rq->restart_all && streq(t->from, t->commit)) {
				out_say("%s already runs %.12s: not restarted",
					cfg->services[g->idx[i]].name, t->commit);
				continue;
			}
			ro.plan.services[ro.plan.nservices++] = g->idx[i];
		}
		if (!ro.plan.nservices)
			continue;
		if (!streq(head, g->commit)) {
			r = rollout_move_checkout(&ro);
			if (r == SL_EREFUSED) /* said by no one yet */
				log_error("checkout of %.12s refused: %s", ro.target, op.error);
			if (r < 0)
				goto fail;
			strlcpy_(head, g->commit, sizeof(head));
		} else {
			strv_free(&ro.changed);
			out_say("checkout already at %.12s", head);
		}
		r = rollout_build(&ro);
		if (r < 0)
			goto fail;
		r = rollout_restart(&ro);
		if (r < 0)
			goto fail;
		for (size_t i = 0; i < ro.plan.nservices; i++)
			restarted[nrestarted++] = ro.plan.services[i];
	}
	op_phase_end(&op, true, NULL);

	op_phase_begin(&op, "verify", "Rollback Verify");
	if (rq->verify_all) {
		/* completing an interrupted rollback: what it restarted was never verified */
		nrestarted = 0;
		for (size_t i = 0; i < rq->ntargets; i++)
			restarted[nrestarted++] = rq->targets[i].service;
	}
	ro.plan.nservices = nrestarted;
	memcpy(ro.plan.services, restarted, nrestarted * sizeof(restarted[0]));
	if (ro.plan.nservices) {
		r = rollout_verify(&ro);
		if (r < 0)
			goto fail;
		r = rollout_run_hooks(&ro, HOOK_AFTER_ROLLBACK);
		if (r < 0)
			goto fail;
	} else {
		out_say("nothing was restarted: every service already ran its target");
	}
	op_phase_end(&op, true, NULL);
	r = op_finish(&op, LEDGER_OUT_SUCCEEDED, 0);
	rollout_prune_releases(&ro, ctx->lg);
	rollout_release(&ro);
	return r < 0 ? r : 0;

fail:
	if (!op.error[0])
		op_fail(&op, "%s", sl_strerror(r));
	/* stopped by the operator: interrupted, not failed; the next 'shiplog rollback' completes
	 * it */
	op_finish(&op, op_interrupted ? LEDGER_OUT_INTERRUPTED : LEDGER_OUT_FAILED, 0);
	rollout_release(&ro);
	return SL_EFAILED;
}

void rollback_say_running(struct ledger *lg, const struct config *cfg, int runtime,
			  const size_t *svcs, size_t n)
{
	struct ledger_state *st = xcalloc(1, sizeof(*st));

	if (ledger_state_at(lg, UINT64_MAX, st) < 0) {
		log_error("cannot read the ledger to say what each service runs: run 'shiplog "
			  "status'");
		free(st);
		return;
	}
	log_error("what each service runs, as recorded in the ledger:");
	for (size_t i = 0; i < n; i++) {
		const char *name = cfg->services[svcs[i]].name;
		const struct ledger_service_state *ss = ledger_state_service(st, name);
		const struct ledger_service_runtime *rt = ss ? &ss->rt[runtime] : NULL;

		if (!rt || !rt->commit[0])
			log_error("  %-16s (never deployed on %s)", name,
				  ledger_runtime_name(runtime));
		else
			log_error("  %-16s %.12s (restarted by operation %llu, %s)", name,
				  rt->commit, (unsigned long long)rt->op,
				  rt->healthy ? "verified" : "not verified since");
	}
	free(st);
}
