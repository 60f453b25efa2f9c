/* SPDX-License-Identifier: MIT */
/* The cut-over's executor: the lock, the state read once, the facts and the plan under it, the
 * intent, then the move (stop the old owner first, never both running; start the new one at the
 * same commit; verify; the [edge] switch and the public checks for an edge role); a failure puts
 * the old owner back and verifies it. The plan is in cutover-plan.c. */
#include "cutover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lock.h"
#include "out.h"
#include "releases.h"
#include "rollout.h"
#include "util.h"
#include "view.h"

/* ---- the move ----------------------------------------------------------------------------- */

/* One runtime's side of the move: the services in scope, at commit. */
struct side {
	struct rollout ro;
	bool opened;
	/* [target] layout = releases, native: the release is in place (ro.workdir), and whether
	 * this move pointed the links at it, with where they pointed before ("" none) */
	bool prepared, switched;
	char links[LEDGER_MAX_SERVICES][REPO_OID_HEX];
	char current[REPO_OID_HEX];
	bool touched; /* its stop was attempted: a side effect */
	bool stopped; /* the old side, when nothing runs on it (no owner): its stop is not an owner
		       * change, and the reverse starts nothing on it */
};

static void side_init(struct side *s, struct op *op, const struct config *cfg, struct repo *repo,
		      int runtime, const struct plan *scope, const char *commit)
{
	memset(s, 0, sizeof(*s));
	s->ro.cfg = cfg;
	s->ro.op = op;
	s->ro.repo = repo;
	s->ro.runtime = runtime;
	s->ro.ops = runtime_ops_for(runtime);
	s->ro.plan = *scope;
	s->ro.no_build = true; /* built before the stop, when the plan said so */
	strlcpy_(s->ro.prev, commit, sizeof(s->ro.prev));
	strlcpy_(s->ro.target, commit, sizeof(s->ro.target));
	if (cfg->target.layout != LAYOUT_RELEASES)
		return;
	if (runtime == LEDGER_RT_NATIVE) {
		/* the units run from the commit's release: written and built like a deploy's,
		 * after the release `current` names (carry comes from it) */
		s->ro.releases = true;
		releases_current_commit(cfg, s->ro.prev);
	} else {
		/* compose reads the tree of the commit: the release native ran from, when it
		 * exists (the plan's ready guard), else the checkout, which then holds it */
		char *rel = releases_path(cfg, commit);
		struct stat sb;
		if (stat(rel, &sb) == 0 && S_ISDIR(sb.st_mode))
			s->ro.workdir = rel;
		else
			free(rel);
	}
}

/* Releases, native: the release of the commit in place (written when missing, recorded). */
static int side_prepare(struct side *s)
{
	int r;

	if (!s->ro.releases || s->prepared)
		return 0;
	r = rollout_move_checkout(&s->ro);
	s->prepared = r >= 0;
	return r;
}

/* Releases, native, before the start: where the links of the services in scope and `current`
 * point now; when they all name the commit already, nothing is switched. */
static void links_read(struct side *s)
{
	const struct config *cfg = s->ro.cfg;
	bool all = true;

	for (size_t i = 0; i < s->ro.plan.nservices; i++) {
		const char *name = rollout_service(&s->ro, i)->name;
		releases_service_commit(cfg, name, s->links[i]);
		all = all && streq(s->links[i], s->ro.target);
	}
	releases_current_commit(cfg, s->current);
	s->ro.links_set = all;
	if (all)
		out_say("release links of %s already name %.12s: nothing to switch",
			s->ro.plan.scope_desc, s->ro.target);
}

/* After a failed start on native: the links of the services in scope and `current` point
 * where they did before the switch again (removed when there was none), each a recorded step,
 * and git.moved says the current release is the previous one again. */
static int links_put_back(struct op *op, struct side *s)
{
	const struct config *cfg = s->ro.cfg;
	struct ledger_event ev = {.type = LEDGER_EV_GIT_MOVED};
	_cleanup_free_ char *path = NULL;
	int r = op_durable(op);

	for (size_t i = 0; r >= 0 && i <= s->ro.plan.nservices; i++) {
		bool cur = i == s->ro.plan.nservices;
		const char *name = cur ? NULL : rollout_service(&s->ro, i)->name;
		const char *to = cur ? s->current : s->links[i];
		_cleanup_free_ char *link =
		    cur ? releases_current(cfg) : releases_service_link(cfg, name);
		char *ln[] = {"ln", "-sfn", (char *)to, link, NULL};
		char *rm[] = {"rm", "-f", link, NULL};
		char err[512];
		int64_t t0 = mono_ns();

		r = releases_point(cfg, name, to, err, sizeof(err));
		op_record_step(op, "switch-back", to[0] ? ln : rm, "", r < 0 ? 1 : 0,
			       mono_ns() - t0,
			       to[0] ? "# atomic: the link as it was before the cut-over"
				     : "# the cut-over made this link: removed");
		if (r < 0) {
			op_fail(op, "%s", err);
			log_error("%s", err);
			return SL_EFAILED;
		}
		out_say("release link %s: back to %s", link, to[0] ? to : "(none: removed)");
	}
	if (r < 0 || !s->current[0])
		return r;
	path = releases_path(cfg, s->current);
	ev.u.git_moved.from = s->ro.target;
	ev.u.git_moved.to = s->current;
	ev.u.git_moved.ref = "";
	ev.u.git_moved.path = path;
	ev.u.git_moved.config_digest = "";
	return op_append(op, &ev);
}

static int side_open(struct side *s)
{
	int r;

	if (s->opened)
		return 0;
	r = rollout_open_runtime(&s->ro);
	if (r < 0 && !s->ro.op->error[0])
		op_fail(s->ro.op, "the %s runtime is unreachable",
			ledger_runtime_name(s->ro.runtime));
	s->opened = r >= 0;
	return r;
}

/* owner.changed for every service in scope: from -> to (a runtime or "" for stopped), with the
 * commit `to` runs verified ("" when it is a stop). */
static int record_owner(struct op *op, const struct side *s, const char *from, const char *to,
			const char *commit)
{
	for (size_t i = 0; i < s->ro.plan.nservices; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_OWNER_CHANGED};
		const char *name = rollout_service(&s->ro, i)->name;
		int r;

		ev.u.owner_changed.service = name;
		ev.u.owner_changed.from = from;
		ev.u.owner_changed.to = to;
		ev.u.owner_changed.commit = commit;
		r = op_append(op, &ev);
		if (r < 0)
			return r;
		out_say("owner of %s: %s -> %s%s%.12s", name, from[0] ? from : "(none)",
			to[0] ? to : "(none: stopped)", commit[0] ? " at " : "", commit);
	}
	return 0;
}

/* Stops the services on s's runtime and records that nothing owns them. */
static int side_stop(struct op *op, struct side *s)
{
	const char *rt = ledger_runtime_name(s->ro.runtime);
	int r = side_open(s);

	if (r >= 0)
		r = op_durable(op);
	if (r >= 0) {
		s->touched = true;
		r = s->ro.ops->stop(&s->ro, s->ro.plan.services, s->ro.plan.nservices);
	}
	if (r < 0) {
		if (!op->error[0])
			op_fail(op, "cannot stop %s on %s", s->ro.plan.scope_desc, rt);
		return r;
	}
	if (s->stopped) {
		out_say("%s: stopped on %s (no runtime owned it)", s->ro.plan.scope_desc, rt);
		return 0;
	}
	return record_owner(op, s, rt, "", "");
}

/* Starts the services on s's runtime (unit.restarted makes it the owner) and verifies them.
 * Releases, native: from the commit's release, the links switched to it first when needed. */
static int side_start_verify(struct op *op, struct side *s)
{
	int r = side_open(s);

	if (r >= 0)
		r = side_prepare(s);
	if (r >= 0 && s->ro.releases)
		links_read(s);
	if (r >= 0) {
		r = rollout_restart(&s->ro);
		s->switched = s->ro.releases && !s->ro.links_set && s->ro.moved;
	}
	if (r >= 0) {
		op_phase_begin(op, "verify", "Verify");
		r = rollout_verify(&s->ro);
	}
	return r;
}

/* The [edge] switch or revert, argv as configured, recorded as a step with its last lines. */
static int edge_run(struct op *op, const struct config *cfg, const char *what,
		    const struct strv *argv, int from, int to, const struct plan *scope,
		    const char *commit)
{
	struct strv env = {0}, svcs = {0};
	_cleanup_free_ char *list = NULL;
	int r;

	for (size_t i = 0; i < scope->nservices; i++)
		strv_push(&svcs, cfg->services[scope->services[i]].name);
	list = strv_join(&svcs, ",");
	strv_push_take(&env, xasprintf("SHIPLOG_CUTOVER_FROM=%s", ledger_runtime_name(from)));
	strv_push_take(&env, xasprintf("SHIPLOG_CUTOVER_TO=%s", ledger_runtime_name(to)));
	strv_push_take(&env, xasprintf("SHIPLOG_SERVICES=%s", list));
	strv_push_take(&env, xasprintf("SHIPLOG_COMMIT=%s", commit));
	strv_push_take(&env, xasprintf("SHIPLOG_OP_NUMBER=%llu", (unsigned long long)op->number));
	r = op_durable(op);
	if (r >= 0)
		r = op_run_shell(op, what, argv->v, cfg->target.checkout, env.v, NULL);
	strv_free(&env);
	strv_free(&svcs);
	return r;
}

/* The new owner's edge: the switch (when configured), then the public checks. */
static int edge_forward(struct op *op, struct side *nw, int from, bool *switched)
{
	const struct config *cfg = nw->ro.cfg;
	int r;

	if (cfg->edge.switch_argv.n) {
		op_phase_begin(op, "edge-switch", "Edge Switch");
		*switched = true;
		r = edge_run(op, cfg, "edge-switch", &cfg->edge.switch_argv, from, nw->ro.runtime,
			     &nw->ro.plan, nw->ro.target);
		if (r < 0)
			return r;
	}
	op_phase_begin(op, "public-verify", "Public Verify");
	return rollout_public_verify(&nw->ro);
}

/* Whether s's runtime starts from the checkout: in place always; with releases, docker when the
 * commit has no release (compose is read in the checkout, which must hold the commit), never
 * native (its units run from the commit's release). */
static bool side_reads_checkout(const struct side *s)
{
	return !s->ro.releases && !s->ro.workdir;
}

/* Moves the checkout to commit when it holds another, recorded as a deploy's move is
 * (git.moved); *moved (may be NULL) is set when it moved. 0 when the checkout holds commit, or
 * commit is "". */
static int checkout_to(struct op *op, const struct config *cfg, struct repo *repo,
		       const char *commit, bool *moved)
{
	struct rollout mv = {.cfg = cfg, .op = op, .repo = repo};
	int r;

	repo_head(repo, mv.prev, NULL, 0);
	if (!commit[0] || streq(mv.prev, commit))
		return 0;
	strlcpy_(mv.target, commit, sizeof(mv.target));
	r = rollout_move_checkout(&mv);
	if (r == SL_EREFUSED)
		log_error("%s", op->error); /* not printed by the move */
	if (r >= 0 && moved)
		*moved = true;
	rollout_release(&mv);
	return r;
}

/* Puts the old owner back after the new one failed: the edge revert, stop the new one, the
 * checkout back to what the old owner runs (or, when it does not start from the checkout, to
 * home: where the move found it, "" when it did not move), start and verify the old one, record
 * it. 0 when the old owner runs and passed its verify. */
static int reverse(struct op *op, struct side *old, struct side *nw, bool switched,
		   const char *home)
{
	const struct config *cfg = old->ro.cfg;
	const char *from = ledger_runtime_name(old->ro.runtime);
	const char *to = ledger_runtime_name(nw->ro.runtime);
	int r, k = 0;

	op_phase_end(op, false, op->error);
	log_error("cutover failed: %s", op->error);
	op_phase_begin(op, "reverse", "Reverse");
	if (old->stopped)
		out_say("stopping %s on %s again: it was stopped before", old->ro.plan.scope_desc,
			to);
	else
		out_say("putting %s back on %s", old->ro.plan.scope_desc, from);
	if (switched && cfg->edge.revert_argv.n)
		k = edge_run(op, cfg, "edge-revert", &cfg->edge.revert_argv, old->ro.runtime,
			     nw->ro.runtime, &nw->ro.plan, nw->ro.target);
	/* the new side, whether it started or not: never both running */
	r = side_open(nw);
	if (r >= 0)
		r = op_durable(op);
	if (r >= 0)
		r = nw->ro.ops->stop(&nw->ro, nw->ro.plan.services, nw->ro.plan.nservices);
	if (r >= 0)
		r = record_owner(op, nw, to, "", "");
	if (r >= 0 && nw->switched)
		r = links_put_back(op, nw);
	if (r >= 0)
		r = checkout_to(op, cfg, old->ro.repo,
				side_reads_checkout(old) && !old->stopped ? old->ro.target : home,
				NULL);
	if (r < 0 || old->stopped)
		return r < 0 ? r : k; /* nothing ran on the old side: left stopped, as before */
	r = side_start_verify(op, old);
	if (r >= 0 && old->ro.plan.touches_edge) {
		op_phase_begin(op, "public-verify", "Public Verify");
		r = rollout_public_verify(&old->ro);
	}
	if (r < 0)
		return r;
	r = record_owner(op, old, "", from, ""); /* no commit: the owner is as before */
	return r < 0 ? r : k;
}

/* The services (cfg indexes) as a scope: edge roles and a description. */
static void scope_of(const struct config *cfg, const size_t *svcs, size_t n, struct plan *scope)
{
	struct buf desc = {0};

	for (size_t i = 0; i < n; i++) {
		const struct service *s = &cfg->services[svcs[i]];
		scope->services[scope->nservices++] = svcs[i];
		scope->touches_edge = scope->touches_edge || cfg->policy.edge_role[s->role];
		scope->web_in_scope = scope->web_in_scope || s->role == ROLE_WEB;
		scope->api_in_scope = scope->api_in_scope || s->role == ROLE_API;
		buf_printf(&desc, "%s%s", i ? ", " : "", s->name);
	}
	strlcpy_(scope->scope_desc, desc.data ? desc.data : "", sizeof(scope->scope_desc));
	buf_free(&desc);
}

/* The build for the new runtime, before anything stops. */
static int build_first(struct op *op, struct side *nw)
{
	int r;

	op_phase_begin(op, "build", "Build");
	nw->ro.no_build = false;
	r = side_open(nw);
	if (r >= 0)
		r = side_prepare(nw); /* releases: the release to build in */
	if (r >= 0)
		r = rollout_build(&nw->ro);
	nw->ro.no_build = true;
	return r;
}

/* Old owner stopped, new one started and verified, the edge switched and checked. */
static int forward(struct op *op, struct side *old, struct side *nw, bool *switched)
{
	int r;

	op_phase_begin(op, "stop", "Stop");
	r = side_stop(op, old);
	if (r >= 0) {
		op_phase_begin(op, "start", "Start");
		r = side_start_verify(op, nw);
	}
	if (r >= 0 && nw->ro.plan.touches_edge)
		r = edge_forward(op, nw, old->ro.runtime, switched);
	if (r >= 0)
		op_phase_end(op, true, NULL);
	return r;
}

/* A move that ended before the old owner stopped: the checkout goes back where it was (the
 * old owner runs from it), whatever signal came. */
static void unchanged(struct op *op, const struct config *cfg, struct repo *repo, const char *start,
		      bool moved)
{
	char err[sizeof(op->error)];
	int sig;

	if (!moved || op->ledger_error)
		return;
	sig = op_interrupt_take();
	strlcpy_(err, op->error, sizeof(err));
	(void)checkout_to(op, cfg, repo, start, NULL);
	strlcpy_(op->error, err, sizeof(op->error));
	op_interrupt_restore(sig);
}

int cutover_move_run_at(struct op *op, const struct config *cfg, struct repo *repo,
			const size_t *svcs, size_t n, int from, int to, const char *commit,
			const char *back, bool build, enum cutover_end *end)
{
	struct plan scope = {0};
	struct side old, nw;
	bool switched = false, moved = false;
	char err[sizeof(op->error)], start[REPO_OID_HEX] = "";
	int r = 0, sig;

	*end = CUTOVER_UNCHANGED;
	scope_of(cfg, svcs, n, &scope);
	side_init(&old, op, cfg, repo, from, &scope, back ? back : commit);
	old.stopped = !back;
	side_init(&nw, op, cfg, repo, to, &scope, commit);
	repo_head(repo, start, NULL, 0);
	if (side_reads_checkout(&nw)) /* the new owner starts from it */
		r = checkout_to(op, cfg, repo, commit, &moved);
	if (r >= 0 && build)
		r = build_first(op, &nw); /* a failed build leaves the old owner running */
	if (r >= 0) {
		*end = CUTOVER_BROKEN;
		r = forward(op, &old, &nw, &switched);
	}
	if (r >= 0) {
		*end = CUTOVER_MOVED;
		r = record_owner(op, &nw, old.stopped ? "" : ledger_runtime_name(from),
				 ledger_runtime_name(to), commit);
		goto out;
	}
	if (!old.touched) {
		/* stopped before the old owner was touched (the build failed, or a signal came
		 * first): it runs as it did */
		*end = CUTOVER_UNCHANGED;
		unchanged(op, cfg, repo, start, moved);
		goto out;
	}
	if (op->ledger_error)
		goto out; /* nothing can be recorded: no reverse */
	/* The old owner was stopped: it is put back whether the new one failed or the operator
	 * stopped the cut-over (a service left stopped is the half-done state a first ^C must
	 * not leave). The signal is held while the reverse runs; a second one kills at once. */
	sig = op_interrupt_take();
	if (sig)
		log_warn("signal %d during the cut-over: putting %s back on %s and verifying it "
			 "(a second signal stops at once and leaves it half done)",
			 sig, scope.scope_desc, ledger_runtime_name(from));
	strlcpy_(err, op->error, sizeof(err));
	r = reverse(op, &old, &nw, switched, moved ? start : "");
	*end = r >= 0 ? CUTOVER_REVERSED : CUTOVER_BROKEN;
	if (r >= 0)
		op_phase_end(op, true, NULL);
	strlcpy_(op->error, err, sizeof(op->error)); /* the cause, not what the reverse met */
	op_interrupt_restore(sig);
	r = SL_EFAILED;
out:
	rollout_release(&old.ro);
	rollout_release(&nw.ro);
	return r;
}

int cutover_move_run(struct op *op, const struct config *cfg, struct repo *repo, const size_t *svcs,
		     size_t n, int from, int to, const char *commit, bool build,
		     enum cutover_end *end)
{
	return cutover_move_run_at(op, cfg, repo, svcs, n, from, to, commit, commit, build, end);
}

/* ---- the operation ----------------------------------------------------------------------------
 */

static const char *svc_name_of(const struct cutover_plan *p, size_t i)
{
	return p->cfg->services[p->moves[i].service].name;
}

static void fill_request(struct ledger_op_requested *req, const struct cutover_plan *p,
			 const struct cutover_facts *f, const char **svcs, const char **targets,
			 char (*tbuf)[LEDGER_NAME_MAX + REPO_OID_HEX])
{
	const struct config *cfg = p->cfg;

	req->kind = "cutover";
	req->mode = p->to == LEDGER_RT_NATIVE ? "to-native" : "to-docker";
	req->ref = "";
	req->commit = p->commit;
	req->prev_commit = f->head;
	req->runtime = p->to;
	for (size_t i = 0; i < p->nmoves; i++) {
		svcs[i] = cfg->services[p->moves[i].service].name;
		snprintf(tbuf[i], sizeof(tbuf[0]), "%s=%s", svcs[i], p->moves[i].commit);
		targets[i] = tbuf[i];
	}
	req->services = (struct ledger_strv){(uint32_t)p->nmoves, svcs};
	req->targets = (struct ledger_strv){(uint32_t)p->nmoves, targets};
	req->flags = (struct ledger_strv){(uint32_t)p->nflags, (const char **)p->flags};
	req->exec_mode = remote_mode_name(p->args->exec_mode);
	req->config_digest = cfg->digest;
	req->reason = "";
}

/* The end of a cut-over the operator stopped (SIGINT/SIGTERM): what the first signal left, in
 * op.finished (interrupted) and in one line naming the operation. SL_EINTERRUPTED (exit 130). */
static int say_interrupted(struct op *op, const struct cutover_plan *p, enum cutover_end end)
{
	const char *from = ledger_runtime_name(p->from), *to = ledger_runtime_name(p->to);
	const char *svcs = p->scope.scope_desc + strlen("pieces: ");
	unsigned long long n = (unsigned long long)op->number;
	int sig = (int)op_interrupted;
	char cause[sizeof(op->error)];

	strlcpy_(cause, op->error, sizeof(cause));
	op->error[0] = '\0';
	if (end == CUTOVER_UNCHANGED)
		op_fail(op, "interrupted by signal %d before anything stopped: %s still runs on %s",
			sig, svcs, from);
	else if (end == CUTOVER_REVERSED)
		op_fail(
		    op,
		    "interrupted by signal %d; reversed: %s runs on %s again at %.12s (verified)",
		    sig, svcs, from, p->commit);
	else
		op_fail(op, "interrupted by signal %d; the reverse did not finish: %s", sig, cause);
	op_finish(op, LEDGER_OUT_INTERRUPTED, 0);
	if (end == CUTOVER_BROKEN)
		log_error(
		    "!!! cutover operation %llu %s; check what runs with 'shiplog status' and "
		    "'shiplog show %llu', then 'shiplog cutover %s --to %s' (or --to %s)",
		    n, op->error, n, svcs, from, to);
	else
		log_error("cutover operation %llu %s; see 'shiplog show %llu'", n, op->error, n);
	return SL_EINTERRUPTED;
}

/* The end of a cut-over that did not succeed: what runs, and the one line naming the op. */
static int say_failed(struct op *op, const struct cutover_plan *p, int r, enum cutover_end end)
{
	const char *from = ledger_runtime_name(p->from);
	unsigned long long n = (unsigned long long)op->number;

	if (op_interrupted)
		return say_interrupted(op, p, end);
	if (op->ledger_error) {
		op_finish(op, LEDGER_OUT_FAILED, 0);
		return op->ledger_error;
	}
	if (!op->error[0])
		op_fail(op, "%s", sl_strerror(r));
	op_finish(op, LEDGER_OUT_FAILED, 0);
	if (end == CUTOVER_UNCHANGED)
		log_error(
		    "cutover operation %llu failed before anything stopped: %s; %s still runs "
		    "on %s; see 'shiplog show %llu'",
		    n, op->error, p->scope.scope_desc, from, n);
	else if (end == CUTOVER_REVERSED)
		log_error("cutover operation %llu failed and was reversed: %s; %s runs on %s again "
			  "at %.12s (verified); see 'shiplog show %llu'",
			  n, op->error, p->scope.scope_desc, from, p->commit, n);
	else
		log_error("!!! cutover operation %llu failed and its reverse failed too: %s; check "
			  "what runs with 'shiplog status' and 'shiplog show %llu', then 'shiplog "
			  "cutover %s --to %s'",
			  n, op->error, n, p->scope.scope_desc + strlen("pieces: "), from);
	return SL_EFAILED;
}

static const char *end_name(enum cutover_end end)
{
	static const char *const names[] = {
	    [CUTOVER_MOVED] = "moved",
	    [CUTOVER_UNCHANGED] = "unchanged",
	    [CUTOVER_REVERSED] = "reversed",
	    [CUTOVER_BROKEN] = "broken",
	};
	return names[end];
}

/* The cut-over's keys of the --json result line (op_finish prints it; a refusal here). */
static json_t *result_json(const struct cutover_plan *p, enum cutover_end end)
{
	json_t *svcs = json_array();

	for (size_t i = 0; i < p->nmoves; i++)
		json_array_append_new(svcs, json_str(svc_name_of(p, i)));
	return json_pack("{s:o,s:s,s:s,s:b,s:s}", "services", svcs, "from",
			 ledger_runtime_name(p->from), "to", ledger_runtime_name(p->to), "reversed",
			 end == CUTOVER_REVERSED, "end", end_name(end));
}

/* A refusal with --json: the same line a finished cut-over prints, outcome "refused". */
static void print_refused(const struct cutover_plan *p, const struct ledger_op_requested *req,
			  uint64_t id, const struct guard_verdict *v)
{
	json_t *o;

	if (!out_settings.json)
		return;
	o = json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:s}", "kind", "cutover", "op",
		      id ? json_integer((json_int_t)id) : json_null(), "number",
		      req->number ? json_integer((json_int_t)req->number) : json_null(), "outcome",
		      "refused", "commit", json_str(p->commit), "prev_commit", json_str(p->commit),
		      "rollback_op", json_null(), "rollback_number", json_null(), "error",
		      json_str(v->reason), "guard", v->guard);
	if (o)
		json_object_update_new(o, result_json(p, CUTOVER_UNCHANGED));
	if (o)
		out_json(o);
}

/* Prints every guard as the precheck found it. */
static void say_guards(const struct cutover_plan *p)
{
	for (size_t i = 0; i < p->guards.n; i++)
		out_say("%s: %s", p->guards.v[i].guard, p->guards.v[i].reason);
}

static int run_plan(struct cutover_plan *p, const struct cutover_facts *f, struct repo *repo,
		    struct ledger *lg, struct deploy_lock *lock)
{
	const char *svcs[LEDGER_MAX_SERVICES], *targets[LEDGER_MAX_SERVICES];
	char tbuf[LEDGER_MAX_SERVICES][LEDGER_NAME_MAX + REPO_OID_HEX];
	struct ledger_op_requested req = {0};
	const struct guard_verdict *v = guard_list_refusal(&p->guards);
	struct op op = {.current = -1};
	enum cutover_end end = CUTOVER_UNCHANGED;
	int r;

	fill_request(&req, p, f, svcs, targets, tbuf);
	if (v) {
		uint64_t id = 0;
		op_refuse_request(lg, &req, v->guard, v->reason, &id);
		log_tone(OUT_TONE_REFUSED, "cutover refused (operation %llu): %s",
			 (unsigned long long)req.number, v->reason);
		print_refused(p, &req, id, v);
		return SL_EREFUSED;
	}
	r = op_begin(&op, lg, &req);
	if (r < 0)
		return r;
	lock_set_op(lock, op.id, op.number);
	out_say("Operation %llu started (seq:%llu)", (unsigned long long)op.number,
		(unsigned long long)op.id);
	op_expect(&op, &req, p->cfg->policy.baseline_ops);
	op_phase_begin(&op, "precheck", "Precheck");
	say_guards(p);
	r = cutover_move_run(&op, p->cfg, repo, p->scope.services, p->scope.nservices, p->from,
			     p->to, p->commit, p->build, &end);
	/* for the --json result line */
	op.result_commit = p->commit;
	op.result_prev = p->commit;
	op.result_extra = result_json(p, end);
	if (r < 0) {
		r = say_failed(&op, p, r, end);
	} else if (op_interrupted) {
		/* the signal came once the new owner was verified: the move is done and recorded;
		 * the ledger says when the signal came */
		op_fail(&op,
			"signal %d came after %s was verified on %s: the cut-over was finished and "
			"recorded",
			(int)op_interrupted, p->scope.scope_desc + strlen("pieces: "),
			ledger_runtime_name(p->to));
		r = op_finish(&op, LEDGER_OUT_SUCCEEDED, 0);
		log_error("cutover operation %llu: %s; see 'shiplog show %llu'",
			  (unsigned long long)op.number, op.error, (unsigned long long)op.number);
		if (r >= 0)
			r = SL_EINTERRUPTED;
	} else {
		r = op_finish(&op, LEDGER_OUT_SUCCEEDED, 0);
		out_say_tone(OUT_TONE_OK,
			     "Operation %llu succeeded: %s now runs on %s at %.12s (%s stopped)",
			     (unsigned long long)op.number, p->scope.scope_desc,
			     ledger_runtime_name(p->to), p->commit, ledger_runtime_name(p->from));
	}
	json_decref(op.result_extra);
	return r < 0 ? r : 0;
}

int cutover_execute(const struct config *cfg, const struct cutover_args *a, struct repo *repo,
		    struct ledger *lg, const char *ledger_dir)
{
	struct deploy_lock lock = {.fd = -1};
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	struct cutover_facts *f = xcalloc(1, sizeof(*f));
	struct cutover_plan *p = xcalloc(1, sizeof(*p));
	struct lock_holder holder;
	char err[512];
	int r;

	r = lock_acquire(ledger_dir, a->wait_lock_ns, &lock, &holder);
	if (r < 0) {
		lock_say_refused("cutover", ledger_dir, r, &holder, true);
		goto out;
	}
	/* the state, read once under the lock; an operation a dead process left open is closed */
	r = ledger_state_at(lg, UINT64_MAX, st);
	if (r < 0) {
		log_error("cannot read the ledger state: %s: %s", ledger_strerror(r),
			  ledger_errmsg(lg));
		goto out;
	}
	r = op_close_inflight(lg, st, "interrupted");
	if (r < 0)
		goto out;
	if (st->inflight.op) {
		r = ledger_state_at(lg, UINT64_MAX, st); /* what the close left */
		if (r < 0)
			goto out;
	}
	/* the facts, once, under the lock; the plan decided again from them */
	cutover_facts_read(cfg, a, repo, lg, st, ledger_dir, f);
	r = cutover_plan(cfg, a, f, st, p, err, sizeof(err));
	if (r < 0) {
		log_error("cutover: %s", err);
		goto out;
	}
	p->lock_taken = true;
	cutover_plan_guards(p, st);
	cutover_plan_say(p);
	r = run_plan(p, f, repo, lg, &lock);
out:
	free(st);
	free(f);
	free(p);
	lock_release(&lock);
	return r;
}
