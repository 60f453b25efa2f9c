/* SPDX-License-Identifier: MIT */
/* The deploy executor: carries a plan out (the edge guard, the lock, the state read once, the
 * intent, precheck -> rollout -> build -> restart -> verify -> public verify), and [policy]
 * on_failure when it fails after something moved. The plan is in deploy-plan.c. */
#include "deploy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "op.h"
#include "out.h"
#include "ownership.h"
#include "rollback.h"
#include "rollout.h"
#include "util.h"
#include "view.h"

/* ---- execution --------------------------------------------------------------------------------
 */

/* An unknown ref is a usage error (exit 2), not a failed operation: resolve the target before
 * the intent is recorded. A target the checkout does not know yet gets a fetch first; that fetch
 * is not recorded (it only updates remote-tracking refs: nothing that runs or is checked out
 * moves), and the rollout's recorded fetch runs as usual. A failed fetch leaves the question to
 * that recorded fetch. Returns 0 or SL_EUSAGE (said). */
static int pre_resolve_target(struct repo *repo, const struct deploy_args *a,
			      const struct config *cfg, char *remote)
{
	char oid[REPO_OID_HEX];
	int r = deploy_target_resolve(repo, a, cfg, remote, oid);

	if (r == 0)
		return 0;
	{
		char *argv[] = {"git", "fetch", remote, NULL};
		out_argv(argv, "# via libgit2, to resolve the target; not recorded");
	}
	if (repo_fetch(repo, remote) < 0)
		return 0;
	r = deploy_target_resolve(repo, a, cfg, remote, oid);
	if (r == 0)
		return 0;
	if (a->mode == DEPLOY_REF)
		log_error(
		    "unknown ref '%s': no commit, tag or branch of the checkout or of '%s' has "
		    "that name (%s); check the name with 'git ls-remote %s'; nothing was recorded",
		    a->target, remote, repo_errmsg(repo), remote);
	else
		log_error("unknown branch '%s': '%s' has no such branch (%s); check the name with "
			  "'git ls-remote --heads %s'; nothing was recorded",
			  a->mode == DEPLOY_MAIN ? cfg->git.main_branch : a->target, remote,
			  repo_errmsg(repo), remote);
	return SL_EUSAGE;
}

static void fill_request(struct ledger_op_requested *req, const struct deploy_plan *p,
			 const char **svcs, const char **flags)
{
	req->kind = "deploy";
	req->mode = deploy_mode_name(p->args->mode);
	req->ref = p->ref;
	req->commit = "";
	req->prev_commit = p->facts->prev;
	req->runtime = p->runtime;
	for (size_t i = 0; i < p->scope.nservices; i++)
		svcs[i] = p->cfg->services[p->scope.services[i]].name;
	req->services.n = (uint32_t)p->scope.nservices;
	req->services.v = svcs;
	req->flags.n = (uint32_t)p->nflags;
	memcpy(flags, p->flags, p->nflags * sizeof(*flags));
	req->flags.v = flags;
	req->exec_mode = remote_mode_name(p->facts->exec_mode);
	req->config_digest = p->cfg->digest;
	req->reverts = 0;
	req->reason = "";
}

/* The config a deploy applies (a commit that fixes its config must be deployable): the
 * [service] sections and the native build, build_when_changed, unit_dir, exec, env_file and
 * log_dir of the target commit's shiplog.conf; what governs shiplog itself ([project], [target],
 * [git], [policy], [public], ssh) stays the one it started with. ro->cfg and ro->plan then
 * refer to *eff. Call once the config guard passed. */
static void apply_target_config(const struct deploy_plan *p, struct rollout *ro, struct config *eff)
{
	const struct config *cfg = p->cfg, *t = p->target_cfg;
	const char *rel = strchr(p->target_cfg_name, ':');

	if (!t)
		return;
	strlcpy_(ro->config_digest, t->digest, sizeof(ro->config_digest));
	if (streq(t->digest, cfg->digest))
		return;
	for (size_t i = 0; i < ro->plan.nservices; i++)
		ro->plan.services[i] =
		    (size_t)config_service_index(t, cfg->services[p->scope.services[i]].name);
	*eff = *cfg;
	eff->services = t->services;
	eff->nservices = t->nservices;
	eff->native.build = t->native.build;
	eff->native.build_when_changed = t->native.build_when_changed;
	eff->native.unit_dir = t->native.unit_dir;
	eff->native.exec = t->native.exec;
	eff->native.env_file = t->native.env_file;
	eff->native.log_dir = t->native.log_dir;
	strlcpy_(eff->digest, t->digest, sizeof(eff->digest));
	ro->cfg = eff;
	out_say(
	    "the target commit's %s differs from the one this deploy started with (sha256 "
	    "%.12s, was %.12s): its services' units, builds and health checks apply; [project], "
	    "[target], [git], [public] and [policy] stay as started",
	    rel ? rel + 1 : "shiplog.conf", t->digest, cfg->digest);
}

/* Refuses an operation that was already requested: terminal op.refused, timings. */
static int refuse(struct op *op, const struct guard_verdict *v)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED};

	log_tone(OUT_TONE_REFUSED, "deploy refused: %s", v->reason);
	if (op->current >= 0)
		op_phase_end(op, false, v->reason);
	ev.u.op_refused.guard = v->guard;
	ev.u.op_refused.reason = v->reason;
	op_append(op, &ev);
	op_durable(op);
	op->finished = true;
	op_print_timings(op);
	return op->ledger_error ? op->ledger_error : SL_EREFUSED;
}

/* A before_restart hook failed: nothing was restarted, so there is nothing to roll back. The
 * operation fails and says where the code on disk stands. */
static int hook_stopped(struct op *op, struct rollout *ro)
{
	op_finish(op, LEDGER_OUT_FAILED, 0);
	log_error("deploy stopped: %s; nothing was restarted", op->error);
	if (ro->releases)
		log_error("'current' still points at %.12s; release %.12s stays built for the next "
			  "try; fix the hook and deploy again (see 'shiplog show %llu')",
			  ro->prev[0] ? ro->prev : "(none)", ro->target,
			  (unsigned long long)op->number);
	else
		log_error("the checkout '%s' now holds %.12s (built) while the services still run "
			  "%.12s: a unit that restarts on its own would run the new files; fix the "
			  "hook and deploy again, or put the checkout back with 'shiplog deploy "
			  "%.12s' (see 'shiplog show %llu')",
			  repo_workdir(ro->repo), ro->target, ro->prev[0] ? ro->prev : "(none)",
			  ro->prev, (unsigned long long)op->number);
	return SL_EFAILED;
}

static void say_stopped(const struct op *op, const struct rollout *ro)
{
	log_error("deploy failed: %s", op->error);
	log_error("operation %llu failed; the checkout is at %.12s; see 'shiplog show %llu'%s",
		  (unsigned long long)op->number, ro->moved ? ro->target : ro->prev,
		  (unsigned long long)op->number,
		  ro->moved ? "; 'shiplog rollback' returns the services to their last-good commits"
			    : "");
}

/* The automatic rollback of [policy] on_failure = rollback: every service the failed deploy
 * touched goes back to its last-good commit (rollback_plan_auto over st, the state read under
 * the lock: a failed deploy adds no good commit and no quarantine), in a rollback operation
 * nested in the failed one. Finishes op; returns SL_EFAILED, or SL_EINTERRUPTED when the operator
 * stopped the rollback. */
static int auto_rollback(struct op *op, struct rollout *ro, const struct config *cfg,
			 const struct ledger_state *st)
{
	struct rollback_plan *p = xcalloc(1, sizeof(*p));
	struct rollback_failed_deploy f = {0};
	char head[REPO_OID_HEX];
	uint64_t rb_op = 0;
	char rbn[VIEW_OP_NAME_MAX];
	int k;

	op_phase_end(op, false, op->error);
	log_error("deploy failed: %s", op->error);
	out_phase("Automatic Rollback");
	f.op = op->id;
	f.number = op->number;
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
		log_error("deploy %llu failed and was not rolled back (nothing to go back to): %s "
			  "runs %.12s, which failed its verify; fix it and deploy a new commit, or "
			  "'shiplog rollback --to REF' to an older one; see 'shiplog show %llu'",
			  (unsigned long long)op->number, ro->plan.scope_desc, ro->target,
			  (unsigned long long)op->number);
		goto out;
	}
	k = rollback_execute(p, cfg, op->lg, ro->repo, st, &rb_op, NULL, 0);
	view_op_name(rb_op, rbn);
	if (k < 0 && !rb_op) {
		/* the rollback could not even record its intent, so it did not run */
		op_finish(op, LEDGER_OUT_FAILED, 0);
		log_error("deploy %llu failed and its automatic rollback could not start; %s runs "
			  "%.12s; once the ledger can be written, run 'shiplog rollback'",
			  (unsigned long long)op->number, ro->plan.scope_desc, ro->target);
		goto out;
	}
	if (k == 0) {
		op_finish(op, LEDGER_OUT_ROLLED_BACK, rb_op);
		out_phase("Summary");
		out_say_tone(OUT_TONE_FAIL, "operation %llu FAILED: %s",
			     (unsigned long long)op->number, op->error);
		out_say_tone(OUT_TONE_WARN,
			     "rolled back by operation %s; %.12s is quarantined (deploy it again "
			     "only with --force)",
			     rbn, ro->target);
		for (size_t i = 0; i < p->ntargets; i++)
			out_say("  %-16s now runs %.12s", cfg->services[p->targets[i].service].name,
				p->targets[i].commit);
		log_tone(OUT_TONE_WARN, "deploy %llu failed and was rolled back (operation %s)",
			 (unsigned long long)op->number, rbn);
	} else if (op_interrupted) {
		/* The operator stopped the rollback: say where it got to, from the ledger. */
		_cleanup_free_ char *msg = xasprintf("%s; the automatic rollback (operation %s) "
						     "was interrupted by signal %d",
						     op->error, rbn, (int)op_interrupted);
		strlcpy_(op->error, msg, sizeof(op->error));
		op_finish(op, LEDGER_OUT_FAILED, rb_op);
		log_error("deploy %llu failed and its automatic rollback (operation %s) was "
			  "interrupted by signal %d; 'shiplog rollback' completes it",
			  (unsigned long long)op->number, rbn, (int)op_interrupted);
		rollback_say_running(op->lg, cfg, ro->runtime, ro->plan.services,
				     ro->plan.nservices);
	} else {
		_cleanup_free_ char *msg = xasprintf("%s; the automatic rollback (operation %s) "
						     "FAILED too",
						     op->error, rbn);
		strlcpy_(op->error, msg, sizeof(op->error));
		op_finish(op, LEDGER_OUT_FAILED, rb_op);
		log_error(
		    "!!! ROLLBACK FAILED: deploy %llu failed and its automatic rollback (operation "
		    "%s) failed too; see 'shiplog show %s' and 'shiplog status'",
		    (unsigned long long)op->number, rbn, rbn);
		rollback_say_running(op->lg, cfg, ro->runtime, ro->plan.services,
				     ro->plan.nservices);
	}
out:
	rollback_plan_release(p);
	free(p);
	/* a signal during the rollback: the operator's stop, whatever the rollback got to */
	return op_interrupted ? SL_EINTERRUPTED : SL_EFAILED;
}

/* The end of a deploy the operator stopped (SIGINT/SIGTERM): no automatic rollback behind their
 * back. What the signal left is recorded in op.finished (interrupted) and said in one line
 * naming the operation; with services restarted, what each runs follows. SL_EINTERRUPTED
 * (exit 130). */
static int say_interrupted(struct op *op, struct rollout *ro, const struct config *cfg)
{
	unsigned long long n = (unsigned long long)op->number;
	int sig = (int)op_interrupted;
	const char *where = ro->releases ? "the 'current' links" : "the checkout";

	op->error[0] = '\0';
	if (ro->restarted)
		op_fail(op,
			"interrupted by signal %d after the restart of %s at %.12s began: not "
			"verified",
			sig, ro->plan.scope_desc, ro->target);
	else if (ro->moved)
		op_fail(op,
			"interrupted by signal %d after %s moved to %.12s; nothing was restarted: "
			"the services still run what they ran",
			sig, where, ro->target);
	else
		op_fail(op,
			"interrupted by signal %d before anything changed: %s and the services "
			"are as they were",
			sig, where);
	op_finish(op, LEDGER_OUT_INTERRUPTED, 0);
	log_error("deploy operation %llu %s; %ssee 'shiplog show %llu'", n, op->error,
		  ro->restarted ? "deploy again or run 'shiplog rollback'; "
		  : ro->moved	? "deploy again to finish it; "
				: "",
		  n);
	if (ro->restarted)
		rollback_say_running(op->lg, cfg, ro->runtime, ro->plan.services,
				     ro->plan.nservices);
	return SL_EINTERRUPTED;
}

/* A deploy failed after it started (r < 0 from a step, op->error set): [policy] on_failure
 * (rollback to the last-good commits of the services it touched, or stop). cfg is the config
 * the deploy started with (the rollback goes back to the services as it knows them). Finishes
 * the operation and returns the code to exit with. */
static int deploy_failed(struct op *op, struct rollout *ro, const struct config *cfg,
			 const struct ledger_state *st, int r)
{
	if (op_interrupted)
		return say_interrupted(op, ro, cfg);
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
	return auto_rollback(op, ro, cfg, st);
}

/* The edge guard is static: checked before the lock and before any fetch, recorded as a
 * standalone op.refused. Then the lock. Returns 0 with the lock held, or the refusal (said). */
static int guard_and_lock(struct deploy_plan *p, struct ledger *lg, const char *ledger_dir,
			  struct ledger_op_requested *req, struct deploy_lock *lock)
{
	const struct guard_verdict *v = guard_list_find(&p->guards, "edge");
	struct lock_holder holder;
	char who[512];
	int r;

	if (v->result == GUARD_REFUSE) {
		uint64_t id = 0;
		op_refuse_request(lg, req, v->guard, v->reason, &id);
		log_tone(OUT_TONE_REFUSED,
			 "refusing native deploy of edge services (%s) (operation %llu)",
			 p->scope.scope_desc, (unsigned long long)req->number);
		log_error("set DEPLOY_NATIVE_EDGE_READY=1 (or --edge-ready) only after the proxy "
			  "routing and native units are prepared");
		log_error("use --workers-only or --fast to iterate on workers before the cutover");
		return SL_EREFUSED;
	}
	r = lock_acquire(ledger_dir, p->args->wait_lock_ns, lock, &holder);
	if (r == SL_EREFUSED) {
		lock_holder_describe(&holder, who, sizeof(who));
		v = guard_list_set(&p->guards, "lock", GUARD_REFUSE, "lock held by %s", who);
		op_refuse_request(lg, req, v->guard, v->reason, NULL);
	}
	if (r < 0) {
		lock_say_refused("deploy", ledger_dir, r, &holder, true);
		return r;
	}
	p->lock_taken = true;
	return 0;
}

/* Precheck: the checkout is clean, the runtime has every unit, no other runtime owns a service
 * in scope (unless --take-over). Returns 0, a refusal (recorded) or a failure (goto fail). */
static int precheck(struct deploy_plan *p, struct rollout *ro, struct op *op,
		    const struct ledger_state *st, bool *refused)
{
	struct deploy_facts *f = p->facts;
	const struct guard_verdict *v;
	char err[GUARD_REASON_MAX];
	int r;

	op_phase_begin(op, "precheck", "Precheck");
	r = rollout_recover_checkout(ro); /* a checkout a killed operation left half done */
	if (r < 0)
		return r;
	if (f->move_pending) {
		/* what is left of the local changes once the move is put back */
		strv_free(&f->dirty);
		f->move_pending = false;
		f->dirty_error = repo_dirty(ro->repo, &p->cfg->target.allow_untracked, &f->dirty);
		if (f->dirty_error)
			strlcpy_(f->dirty_errmsg, repo_errmsg(ro->repo), sizeof(f->dirty_errmsg));
		deploy_plan_guards(p, st);
	}
	if (f->dirty_error) {
		op_fail(op, "cannot read the checkout status: %s", f->dirty_errmsg);
		log_error("%s", op->error);
		return SL_EFAILED;
	}
	v = guard_list_find(&p->guards, "dirty-tree");
	if (v->result == GUARD_REFUSE) {
		for (size_t i = 0; i < f->dirty.n; i++)
			out_say("  %s", f->dirty.v[i]);
		*refused = true;
		return refuse(op, v);
	}
	out_say("checkout %s is clean (at %.12s%s%s)", p->cfg->target.checkout,
		f->head[0] ? f->head : "no commit yet", f->branch[0] ? " on " : ", detached",
		f->branch);
	r = rollout_open_runtime(ro);
	if (r < 0) {
		op_fail(op, "the %s runtime is unreachable", ledger_runtime_name(p->runtime));
		return r;
	}
	r = rollout_precheck_runtime(ro, err, sizeof(err));
	if (r < 0 && r != SL_EREFUSED) {
		op_fail(op, "%s", err);
		log_error("%s", err);
		return r;
	}
	p->units_checked = true;
	strlcpy_(p->units_why, r == SL_EREFUSED ? err : "", sizeof(p->units_why));
	deploy_plan_guards(p, st);
	/* One owner per service: refused here, before anything moves, unless --take-over (which
	 * stops the other runtime after the build, just before the restart). */
	v = guard_list_refusal(&p->guards);
	if (v && (streq(v->guard, "unit-missing") || streq(v->guard, "service-missing") ||
		  streq(v->guard, "ownership"))) {
		*refused = true;
		return refuse(op, v);
	}
	op_phase_end(op, true, NULL);
	return 0;
}

/* The builds, decided by the plan's own function now that the target, its config and (releases
 * layout) its release are known: the runtime carries out p->shared_build. */
static void decide_builds(struct deploy_plan *p, struct rollout *ro)
{
	struct build_facts *b = &p->facts->build;

	if (p->releases) {
		b->release_built = ro->release_built;
		strlcpy_(b->base, ro->carried_from, sizeof(b->base));
	}
	(void)build_facts_diff(ro->repo, ro->target, b);
	deploy_plan_builds(p);
	ro->shared_build = p->shared_build;
	ro->shared_build_decided = true;
}

/* Rollout up to the move: the recorded fetch, the target, the quarantine and config guards,
 * the effective config, the move. */
static int fetch_and_move(struct deploy_plan *p, struct rollout *ro, struct op *op,
			  const struct ledger_state *st, struct config **tcfg, struct config *eff,
			  bool *refused)
{
	const struct config *cfg = p->cfg;
	const char *remote = p->facts->remote;
	const struct guard_verdict *v;
	int r;

	op_phase_begin(op, "rollout", "Rollout");
	{
		char *argv[] = {"git", "fetch", (char *)remote, NULL};
		int64_t t0;
		r = op_durable(op);
		if (r < 0)
			return r;
		t0 = mono_ns();
		r = repo_fetch(ro->repo, remote);
		op_record_step(op, "fetch", argv, cfg->target.checkout, r < 0 ? 1 : 0,
			       mono_ns() - t0, "# via libgit2");
		if (r < 0) {
			op_fail(op, "fetch from '%s' failed: %s", remote, repo_errmsg(ro->repo));
			log_error("%s", op->error);
			return SL_EFAILED;
		}
	}
	r = deploy_target_resolve(ro->repo, p->args, cfg, remote, ro->target);
	if (r < 0) {
		op_fail(op, "cannot resolve '%s': %s", p->ref, repo_errmsg(ro->repo));
		log_error("%s", op->error);
		return r == SL_EUSAGE ? SL_EUSAGE : SL_EFAILED;
	}
	strlcpy_(p->target, ro->target, sizeof(p->target));
	if (p->args->pin[0] && !streq(ro->target, p->args->pin)) {
		/* --pin: a ref that moved since is not silently another target */
		struct guard_verdict pin = {.guard = "pin", .result = GUARD_REFUSE};

		snprintf(pin.reason, sizeof(pin.reason),
			 "'%s' resolves to %.12s now, " DEPLOY_PIN_MOVED " %.12s: it moved since; "
			 "nothing moved here. Deploy '%s' without --pin for its new head, or %s "
			 "itself",
			 p->ref, ro->target, p->args->pin, p->ref, p->args->pin);
		*refused = true;
		return refuse(op, &pin);
	}
	if (ro->prev[0])
		out_say("target %s -> %.12s (was %.12s)", p->ref, ro->target, ro->prev);
	else
		out_say("target %s -> %.12s (the first %s: nothing deployed before)", p->ref,
			ro->target, ro->releases ? "release" : "deploy");
	deploy_plan_guards(p, st);
	v = guard_list_find(&p->guards, "quarantine");
	if (v->result == GUARD_REFUSE) {
		*refused = true;
		return refuse(op, v);
	}
	if (p->args->force && ledger_state_quarantined(st, ro->target))
		out_say("%s", v->reason);
	deploy_plan_read_target_config(p, ro->repo, tcfg);
	if (!p->target_cfg && p->target_cfg_note[0])
		out_say("%s", p->target_cfg_note);
	deploy_plan_guards(p, st);
	v = guard_list_find(&p->guards, "config");
	if (v->result == GUARD_REFUSE) {
		*refused = true;
		return refuse(op, v);
	}
	apply_target_config(p, ro, eff);
	strlcpy_(ro->branch, p->branch, sizeof(ro->branch));
	rollout_note_shared_checkout(ro);
	r = rollout_move_checkout(ro);
	if (r == SL_EREFUSED) {
		struct guard_verdict d;
		guard_set(&d, "diverged", GUARD_REFUSE, "%s", op->error);
		*refused = true;
		return refuse(op, &d);
	}
	if (r == 0)
		decide_builds(p, ro);
	return r;
}

/* Build, restart, verify, public verify. */
static int build_restart_verify(struct deploy_plan *p, struct rollout *ro, struct op *op,
				const struct ledger_state *st, bool *stopped)
{
	char err[GUARD_REASON_MAX];
	int r;

	op_phase_begin(op, "build", "Build");
	r = rollout_build(ro);
	if (r < 0)
		return r;
	op_phase_begin(op, "restart", "Restart");
	r = rollout_run_hooks(ro, HOOK_BEFORE_RESTART);
	if (r < 0 && !op_interrupted) {
		*stopped = true;
		return hook_stopped(op, ro);
	}
	if (r < 0)
		return r;
	if (p->args->take_over) {
		r = ownership_check(ro, st, true, err, sizeof(err));
		if (r < 0 && r != SL_EREFUSED) {
			op_fail(op, "%s", err);
			log_error("%s", err);
		}
		if (r < 0)
			return r;
	}
	r = rollout_restart(ro);
	if (r < 0)
		return r;
	op_phase_end(op, true, NULL);

	op_phase_begin(op, "verify", "Verify");
	r = rollout_verify(ro);
	if (r < 0)
		return r;
	r = rollout_run_hooks(ro, HOOK_AFTER_VERIFY);
	if (r < 0)
		return r;
	op_phase_end(op, true, NULL);

	if (ro->plan.touches_edge) {
		op_phase_begin(op, "public-verify", "Public Verify");
		r = rollout_public_verify(ro);
		if (r < 0)
			return r;
		op_phase_end(op, true, NULL);
	}
	return 0;
}

int deploy_execute(struct deploy_plan *p, struct repo *repo, struct ledger *lg,
		   const char *ledger_dir)
{
	const struct config *cfg = p->cfg;
	const struct deploy_args *a = p->args;
	struct rollout ro = {.cfg = cfg, .runtime = p->runtime, .repo = repo, .plan = p->scope};
	struct ledger_op_requested req = {0};
	struct deploy_lock lock = {.fd = -1};
	struct ledger_state *st = NULL;
	struct config *tcfg = NULL, eff;
	const char *svcs[LEDGER_MAX_SERVICES], *flags[ELEMENTSOF(p->flags)];
	struct op op = {.current = -1};
	bool done = false;
	int r;

	ro.fast = a->fast;
	ro.no_build = a->no_build;
	ro.force_build = a->build;
	ro.reset_to_remote = a->reset_to_remote;
	ro.force_recreate = a->force_recreate;
	ro.releases = p->releases;
	ro.exec_mode = p->facts->exec_mode;
	ro.remote = p->facts->remote;
	ro.op = &op;
	strlcpy_(ro.prev, p->facts->prev, sizeof(ro.prev));
	fill_request(&req, p, svcs, flags);

	r = guard_and_lock(p, lg, ledger_dir, &req, &lock);
	if (r < 0)
		goto out;
	/* The ledger state, read once under the lock, for every guard and the automatic rollback.
	 * An operation still open in it belongs to a dead process: closed first. */
	st = xcalloc(1, sizeof(*st));
	r = ledger_state_at(lg, UINT64_MAX, st);
	if (r < 0) {
		log_error("cannot read the ledger state: %s: %s", ledger_strerror(r),
			  ledger_errmsg(lg));
		goto out;
	}
	ro.state = st;
	r = op_close_inflight(lg, st, "interrupted");
	if (r < 0)
		goto out;
	/* with the state, under the lock: the last completed build of the checkout */
	deploy_facts_read_builds(p->facts, cfg, a, repo, lg, NULL);
	deploy_plan_guards(p, st);
	r = pre_resolve_target(repo, a, cfg, p->facts->remote);
	if (r < 0)
		goto out;

	r = op_begin(&op, lg, &req);
	if (r < 0)
		goto out;
	op.result_commit = ro.target; /* for the --json result line */
	op.result_prev = ro.prev;
	lock_set_op(&lock, op.id, op.number);
	out_say("Operation %llu started (seq:%llu)", (unsigned long long)op.number,
		(unsigned long long)op.id);
	op_expect(&op, &req, cfg->policy.baseline_ops);

	r = precheck(p, &ro, &op, st, &done);
	if (r >= 0 && !done)
		r = fetch_and_move(p, &ro, &op, st, &tcfg, &eff, &done);
	if (r >= 0 && !done)
		r = build_restart_verify(p, &ro, &op, st, &done);
	if (done)
		goto out;
	if (r < 0) {
		if (tcfg) {
			/* the rollback goes back to the services as the started config knows
			 * them */
			ro.cfg = cfg;
			ro.plan = p->scope;
		}
		r = deploy_failed(&op, &ro, cfg, st, r);
		goto out;
	}
	if (op_interrupted)
		/* the signal came once every check had passed: the deploy is done; the ledger
		 * says when the signal came */
		op_fail(&op,
			"signal %d came after %s was verified at %.12s: the deploy was finished",
			(int)op_interrupted, ro.plan.scope_desc, ro.target);
	r = op_finish(&op, LEDGER_OUT_SUCCEEDED, 0);
	out_say_tone(OUT_TONE_OK, "Operation %llu succeeded: %s now runs %.12s",
		     (unsigned long long)op.number, ro.plan.scope_desc, ro.target);
	rollout_prune_releases(&ro);
	r = r < 0 ? r : 0;
	if (r == 0 && op_interrupted) {
		log_error("deploy operation %llu: %s; see 'shiplog show %llu'",
			  (unsigned long long)op.number, op.error, (unsigned long long)op.number);
		r = SL_EINTERRUPTED;
	}
out:
	free(st);
	rollout_release(&ro);
	config_free(tcfg);
	lock_release(&lock);
	return r;
}

int deploy_publish_branch(const struct config *cfg, char *out, size_t outlen)
{
	struct repo *repo = NULL;
	struct strv dirty = {0}, none = {0};
	_cleanup_free_ char *remote = NULL;
	char oid[REPO_OID_HEX], branch[256] = "", d[32];
	int64_t t0 = mono_ns();
	int r;

	out_phase("Local Publish");
	r = repo_open(cfg->dir, &repo);
	if (r < 0) {
		log_error("current-branch: '%s' is not a git checkout: %s", cfg->dir,
			  repo_errmsg(repo));
		r = SL_EUSAGE;
		goto out;
	}
	repo_head(repo, oid, branch, sizeof(branch));
	if (!branch[0]) {
		log_error(
		    "current-branch: refusing branch deploy from a detached HEAD; check out a "
		    "branch, or deploy the commit with 'shiplog deploy %.12s'",
		    oid);
		r = SL_EREFUSED;
		goto out;
	}
	r = repo_dirty(repo, &none, &dirty);
	if (r < 0 || dirty.n) {
		_cleanup_free_ char *list = strv_join(&dirty, ", ");
		log_error("current-branch: uncommitted local changes (%s); commit first",
			  r < 0 ? repo_errmsg(repo) : list);
		r = SL_EREFUSED;
		goto out;
	}
	r = repo_remote_resolve(repo, streq(cfg->git.remote, "auto") ? NULL : cfg->git.remote,
				branch, cfg->git.main_branch, &cfg->git.remote_candidates, &remote);
	if (r < 0) {
		log_error("%s", repo_errmsg(repo));
		goto out;
	}
	{
		char *argv[] = {"git", "push", "-u", remote, branch, NULL};
		out_argv(argv, "# via libgit2");
	}
	r = repo_push_branch(repo, remote, branch);
	if (r < 0) {
		log_error("current-branch: push of '%s' to '%s' failed: %s", branch, remote,
			  repo_errmsg(repo));
		r = SL_EFAILED;
		goto out;
	}
	format_duration(mono_ns() - t0, d, sizeof(d));
	out_say("local publish: %s (pushed %s %.12s to %s)", d, branch, oid, remote);
	strlcpy_(out, branch, outlen);
	r = 0;
out:
	strv_free(&dirty);
	repo_free(repo);
	return r;
}
