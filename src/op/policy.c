/* SPDX-License-Identifier: MIT */
/* What happens when a deploy fails after it started: [policy] on_failure. With `rollback` (the
 * default) every service the failed deploy touched goes back to its last-good commit, in a
 * rollback operation nested in the failed one; the rollback never triggers another rollback. */
#include <stdio.h>
#include <string.h>

#include "deploy.h"
#include "out.h"
#include "rollback.h"
#include "util.h"

static void say_stopped(const struct op *op, const struct rollout *ro)
{
	log_error("deploy failed: %s", op->error);
	log_error("operation %llu failed; the checkout is at %.12s; see 'shiplog show %llu'%s",
		  (unsigned long long)op->id, ro->moved ? ro->target : ro->prev,
		  (unsigned long long)op->id,
		  ro->moved ? "; 'shiplog rollback' returns the services to their last-good commits"
			    : "");
}

int deploy_failed(struct cmd_ctx *ctx, struct op *op, struct rollout *ro, int r)
{
	const struct config *cfg = ctx->cfg;
	struct ledger_state *st = NULL;
	struct rollback_plan *p = NULL;
	struct rollback_failed_deploy f = {0};
	char head[REPO_OID_HEX];
	uint64_t rb_op = 0;
	int k;

	if (op_interrupted) {
		/* The operator stopped it: no automatic rollback behind their back. */
		op->error[0] = '\0';
		op_fail(op, "interrupted by signal %d", (int)op_interrupted);
		op_finish(op, LEDGER_OUT_INTERRUPTED, 0);
		log_error("operation %llu interrupted%s; see 'shiplog show %llu'%s",
			  (unsigned long long)op->id, ro->moved ? " after the checkout moved" : "",
			  (unsigned long long)op->id,
			  ro->restarted ? "; deploy again or run 'shiplog rollback'" : "");
		if (ro->restarted)
			rollback_say_running(op->lg, cfg, ro->runtime, ro->plan.services,
					     ro->plan.nservices);
		return SL_EFAILED;
	}
	if (op->ledger_error) {
		/* The ledger took no write (the message said why): nothing more is done, no
		 * rollback either, since it could not be recorded. */
		op_finish(op, LEDGER_OUT_FAILED, 0);
		if (ro->moved || ro->restarted)
			log_error(
			    "the checkout had moved to %.12s%s before the ledger failed; once the "
			    "ledger can be written, deploy again or run 'shiplog rollback'",
			    ro->target, ro->restarted ? " and services were restarted" : "");
		return op->ledger_error;
	}
	if (!op->error[0])
		op_fail(op, "%s", sl_strerror(r));
	if (!ro->moved && !ro->restarted) {
		/* nothing changed on the server: there is nothing to roll back */
		op_finish(op, LEDGER_OUT_FAILED, 0);
		say_stopped(op, ro);
		return r == SL_EUSAGE || r == SL_EREFUSED ? r : SL_EFAILED;
	}
	if (cfg->policy.on_failure == ON_FAILURE_STOP) {
		op_finish(op, LEDGER_OUT_FAILED, 0);
		out_say("[policy] on_failure = stop: no automatic rollback");
		say_stopped(op, ro);
		return SL_EFAILED;
	}

	op_phase_end(op, false, op->error);
	log_error("deploy failed: %s", op->error);
	out_phase("Automatic Rollback");
	st = xcalloc(1, sizeof(*st));
	p = xcalloc(1, sizeof(*p));
	k = ledger_state_at(op->lg, UINT64_MAX, st);
	if (k < 0) {
		log_error("cannot read the ledger state for the rollback: %s", ledger_strerror(k));
		op_finish(op, LEDGER_OUT_FAILED, 0);
		goto out;
	}
	f.op = op->id;
	f.runtime = ro->runtime;
	f.services = ro->plan.services;
	f.nservices = ro->plan.nservices;
	f.prev = ro->prev;
	f.target = ro->target;
	f.head = head;
	f.fast = ro->fast;
	f.exec_mode = ro->exec_mode;
	rollback_checkout_commit(cfg, ro->repo, ro->runtime, head);
	k = rollback_plan_auto(cfg, st, &f, p);
	rollback_plan_print(p, cfg, false);
	if (k < 0) {
		op_finish(op, LEDGER_OUT_FAILED, 0);
		goto out;
	}

	k = rollback_execute(p, cfg, op->lg, ro->repo, &rb_op);
	if (k < 0 && !rb_op) {
		/* the rollback could not even record its intent, so it did not run */
		op_finish(op, LEDGER_OUT_FAILED, 0);
		log_error("deploy %llu failed and its automatic rollback could not start; %s runs "
			  "%.12s; once the ledger can be written, run 'shiplog rollback'",
			  (unsigned long long)op->id, ro->plan.scope_desc, ro->target);
		goto out;
	}
	if (k == 0) {
		op_finish(op, LEDGER_OUT_ROLLED_BACK, rb_op);
		out_phase("Summary");
		out_say("operation %llu FAILED: %s", (unsigned long long)op->id, op->error);
		out_say("rolled back by operation %llu; %.12s is quarantined (deploy it again only "
			"with --force)",
			(unsigned long long)rb_op, ro->target);
		for (size_t i = 0; i < p->ntargets; i++)
			out_say("  %-16s now runs %.12s", cfg->services[p->targets[i].service].name,
				p->targets[i].commit);
		log_error("deploy %llu failed and was rolled back (operation %llu)",
			  (unsigned long long)op->id, (unsigned long long)rb_op);
	} else if (op_interrupted) {
		/* The operator stopped the rollback: say where it got to, from the ledger. */
		_cleanup_free_ char *msg =
		    xasprintf("%s; the automatic rollback (operation %llu) "
			      "was interrupted by signal %d",
			      op->error, (unsigned long long)rb_op, (int)op_interrupted);
		strlcpy_(op->error, msg, sizeof(op->error));
		op_finish(op, LEDGER_OUT_FAILED, rb_op);
		log_error("deploy %llu failed and its automatic rollback (operation %llu) was "
			  "interrupted by signal %d; 'shiplog rollback' completes it",
			  (unsigned long long)op->id, (unsigned long long)rb_op,
			  (int)op_interrupted);
		rollback_say_running(op->lg, cfg, ro->runtime, ro->plan.services,
				     ro->plan.nservices);
	} else {
		_cleanup_free_ char *msg = xasprintf("%s; the automatic rollback (operation %llu) "
						     "FAILED too",
						     op->error, (unsigned long long)rb_op);
		strlcpy_(op->error, msg, sizeof(op->error));
		op_finish(op, LEDGER_OUT_FAILED, rb_op);
		log_error(
		    "!!! ROLLBACK FAILED: deploy %llu failed and its automatic rollback (operation "
		    "%llu) failed too; see 'shiplog show %llu' and 'shiplog status'",
		    (unsigned long long)op->id, (unsigned long long)rb_op,
		    (unsigned long long)rb_op);
		rollback_say_running(op->lg, cfg, ro->runtime, ro->plan.services,
				     ro->plan.nservices);
	}
out:
	if (p)
		rollback_plan_release(p);
	free(p);
	free(st);
	return SL_EFAILED;
}
