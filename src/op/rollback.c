/* SPDX-License-Identifier: MIT */
#include "rollback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "op.h"
#include "out.h"
#include "releases.h"
#include "rollout.h"
#include "view.h"

/* ---- what the plan reads ------------------------------------------------------------------ */

void rollback_checkout_commit(const struct config *cfg, struct repo *repo, int runtime,
			      char head[REPO_OID_HEX])
{
	char branch[256];

	head[0] = '\0';
	repo_head(repo, head, branch, sizeof(branch));
	if (cfg->target.layout == LAYOUT_RELEASES && runtime == LEDGER_RT_NATIVE)
		releases_current_commit(cfg, head);
}

const struct ledger_op_summary *rollback_interrupted(const struct ledger_op_summary *recent,
						     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct ledger_op_summary *s = &recent[i];
		if (s->refused || s->request.type != LEDGER_EV_OP_REQUESTED)
			continue;
		if (streq(s->request.u.op_requested.kind, "rollback") &&
		    (s->outcome == LEDGER_OUT_INTERRUPTED || s->outcome == LEDGER_OUT_NONE))
			return s;
		return NULL;
	}
	return NULL;
}

/* What `to` names: a point of the ledger (and the state there), else a git ref. */
static int resolve_to(struct ledger *lg, struct repo *repo, const char *to, int64_t now,
		      struct rollback_to *t)
{
	char err[256];
	int r;

	t->text = to;
	r = point_parse(to, now, &t->point);
	if (r == -EINVAL) {
		log_error("rollback: '%s' is not a sequence: expected seq:N with N a number", to);
		return SL_EUSAGE;
	}
	if (r < 0) {
		r = repo_resolve(repo, to, t->commit);
		if (r < 0) {
			log_error(
			    "rollback: '%s' is not an operation, sequence, time or git ref: %s", to,
			    repo_errmsg(repo));
			return SL_EUSAGE;
		}
		t->kind = ROLLBACK_TO_REF;
		return 0;
	}
	if (t->point.kind == POINT_NOW) {
		log_error("rollback: --to now is where the services are: nothing to roll back to");
		return SL_EUSAGE;
	}
	t->kind = ROLLBACK_TO_POINT;
	r = point_resolve(lg, &t->point, POINT_NUMBER_OP, &t->at, err, sizeof(err));
	if (r == -ERANGE) {
		log_error("rollback: %s", err);
		return SL_EUSAGE;
	}
	if (r < 0) {
		log_error("rollback: %s: %s", err, ledger_strerror(r));
		return r;
	}
	if (t->at.seq == 0) {
		if (t->point.kind == POINT_TIME)
			log_error("rollback: nothing was recorded before %s", to);
		else
			log_error("rollback: '%s' is not a sequence in this ledger (1..%" PRIu64
				  ")",
				  to, t->at.last);
		return SL_EUSAGE;
	}
	t->then = xcalloc(1, sizeof(*t->then));
	r = ledger_state_at(lg, t->at.seq, t->then);
	if (r < 0) {
		log_error("cannot replay the ledger to %" PRIu64 ": %s", t->at.seq,
			  ledger_strerror(r));
		return r;
	}
	return 0;
}

/* The releases layout: whether commit's release is on disk and built, once per commit (an owner
 * move starts from it). */
static void read_release(const struct config *cfg, struct rollback_inputs *in, const char *commit)
{
	struct rollback_release *rel = &in->releases[in->nreleases];
	_cleanup_free_ char *path = NULL;
	struct stat sb;

	if (!commit[0] || in->nreleases == ELEMENTSOF(in->releases))
		return;
	for (size_t k = 0; k < in->nreleases; k++)
		if (streq(in->releases[k].commit, commit))
			return;
	path = releases_path(cfg, commit);
	strlcpy_(rel->commit, commit, sizeof(rel->commit));
	rel->exists = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
	rel->built = rel->exists && releases_is_built(cfg, commit);
	in->nreleases++;
}

/* The releases of the commits an owner move can start: what each service's owner ran at the
 * --to point, and what either runtime runs now (a plain rollback's move). */
static void read_releases(const struct config *cfg, struct rollback_inputs *in)
{
	for (uint32_t i = 0; in->to.then && i < in->to.then->nservices; i++) {
		const struct ledger_service_state *ss = &in->to.then->services[i];
		if (ss->owner >= 0)
			read_release(cfg, in, ss->rt[ss->owner].commit);
	}
	for (uint32_t i = 0; i < in->now->nservices; i++)
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++)
			read_release(cfg, in, in->now->services[i].rt[rt].commit);
}

int rollback_inputs_read(struct ledger *lg, struct repo *repo, const struct config *cfg,
			 const struct rollback_args *a, struct rollback_inputs *in)
{
	struct ledger_history_filter f = {.runtime = a->runtime, .outcome = -1};
	const struct ledger_op_summary *irb;
	const char *to = a->to;
	int r;

	memset(in, 0, sizeof(*in));
	in->now = xcalloc(1, sizeof(*in->now));
	r = ledger_state_at(lg, UINT64_MAX, in->now);
	if (r < 0) {
		log_error("cannot read the ledger state: %s", ledger_strerror(r));
		return r;
	}
	r = ledger_history(lg, &f, ROLLBACK_RECENT, &in->recent, &in->nrecent);
	if (r < 0) {
		log_error("cannot read the ledger's history: %s", ledger_strerror(r));
		return r;
	}
	rollback_checkout_commit(cfg, repo, a->runtime, in->head);
	repo_head(repo, in->checkout, NULL, 0);
	irb = to ? NULL : rollback_interrupted(in->recent, in->nrecent);
	if (irb && streq(irb->request.u.op_requested.mode, "to") &&
	    irb->request.u.op_requested.ref[0]) {
		/* completing an interrupted rollback --to: the same point again (a relative time
		 * from when it was asked), for the targets when it recorded none (an older
		 * ledger) and for the owner moves it did not finish */
		to = irb->request.u.op_requested.ref;
		r = resolve_to(lg, repo, to, irb->started_ns, &in->to);
	} else {
		r = to ? resolve_to(lg, repo, to, now_ns(), &in->to) : 0;
	}
	if (r >= 0 && cfg->target.layout == LAYOUT_RELEASES)
		read_releases(cfg, in);
	return r;
}

void rollback_inputs_release(struct rollback_inputs *in)
{
	for (size_t i = 0; i < in->nrecent; i++)
		ledger_op_summary_release(&in->recent[i]);
	free(in->recent);
	free(in->now);
	free(in->to.then);
	memset(in, 0, sizeof(*in));
}

/* ---- the plan ----------------------------------------------------------------------------- */

const char *rollback_how_name(enum rollback_how how)
{
	static const char *const names[] = {
	    [ROLLBACK_LAST_GOOD] = "last-good", [ROLLBACK_POINT] = "point", [ROLLBACK_REF] = "ref",
	    [ROLLBACK_RECORDED] = "recorded",	[ROLLBACK_AUTO] = "auto",
	};
	return (size_t)how < ELEMENTSOF(names) ? names[how] : "?";
}

static void note(struct rollback_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line the plan says before it runs. */
static void note(struct rollback_plan *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	strv_push(&p->notes, line);
}

static int refuse(struct rollback_plan *p, const char *guard, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A guard refuses: the plan is printed, not executed; code is what the command exits with. */
static int refuse(struct rollback_plan *p, const char *guard, int code, const char *fmt, ...)
{
	char reason[GUARD_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	guard_list_set(&p->guards, guard, GUARD_REFUSE, "%s", reason);
	p->refusal = code;
	return code;
}

static void leave(struct rollback_plan *p, const char *service, const char *why)
{
	struct rollback_left *l;

	note(p, "%s: %s: left as it is", service, why);
	if (p->nleft == ELEMENTSOF(p->left))
		return;
	l = &p->left[p->nleft++];
	strlcpy_(l->service, service, sizeof(l->service));
	l->why = why;
}

static void add_target(struct rollback_plan *p, const struct config *cfg, size_t service,
		       const char *commit, const struct ledger_state *now)
{
	const struct ledger_service_state *ss =
	    ledger_state_service(now, cfg->services[service].name);
	struct rollback_target *t;

	for (size_t i = 0; i < p->ntargets; i++)
		if (p->targets[i].service == service)
			return;
	t = &p->targets[p->ntargets++];
	t->service = service;
	strlcpy_(t->commit, commit, sizeof(t->commit));
	strlcpy_(t->from, ss ? ss->rt[p->runtime].commit : "", sizeof(t->from));
}

/* What each target rolls away from: what it runs (a completed interrupted rollback: what that
 * one recorded it ran; a service it had moved in an older ledger that recorded nothing: the
 * checkout's commit before it). */
static void plan_away(struct rollback_plan *p, const struct config *cfg,
		      const struct ledger_op_requested *ireq)
{
	for (size_t i = 0; i < p->ntargets; i++) {
		struct rollback_target *t = &p->targets[i];
		const char *name = cfg->services[t->service].name;
		size_t nl = strlen(name);
		const char *away = NULL;

		for (uint32_t k = 0; ireq && k < ireq->from.n && !away; k++) {
			const char *e = ireq->from.v[k];

			if (strncmp(e, name, nl) == 0 && e[nl] == '=' && e[nl + 1])
				away = e + nl + 1;
		}
		if (!away && t->from[0] && !streq(t->from, t->commit))
			away = t->from;
		if (!away && ireq && !ireq->from.n && p->quarantine[0])
			away = p->quarantine;
		if (!away)
			away = t->from;
		strlcpy_(t->away, away, sizeof(t->away));
	}
}

static void plan_init(struct rollback_plan *p, const char *mode, const char *ref,
		      const char *reason, int runtime, enum remote_mode exec_mode, const char *head)
{
	memset(p, 0, sizeof(*p));
	strlcpy_(p->mode, mode, sizeof(p->mode));
	p->ref = xstrdup(ref);
	p->reason = reason;
	p->runtime = runtime;
	p->exec_mode = exec_mode;
	strlcpy_(p->head, head ? head : "", sizeof(p->head));
	strlcpy_(p->quarantine, p->head, sizeof(p->quarantine));
}

/* A service's good commit to go back to: the last-good one that is not quarantined (nor
 * avoid: the commit a failed deploy just saw fail, which an earlier verify passed by luck);
 * with skip_current (a manual rollback), when it runs that one now (or already the one before
 * it, after an interrupted rollback), the one before it. NULL when there is none. */
static const struct ledger_good *pick_good(const struct ledger_state *st,
					   const struct ledger_service_runtime *rt,
					   bool skip_current, const char *avoid)
{
	const struct ledger_good *l[LEDGER_GOOD_DEPTH];
	size_t nl = 0;

	for (uint32_t g = 0; g < rt->ngood && nl < ELEMENTSOF(l); g++)
		if (!ledger_state_quarantined(st, rt->good[g].commit) &&
		    !(avoid && streq(rt->good[g].commit, avoid)))
			l[nl++] = &rt->good[g];
	if (!skip_current)
		return nl ? l[0] : NULL;
	if (nl && (streq(rt->commit, l[0]->commit) || (nl > 1 && streq(rt->commit, l[1]->commit))))
		return nl > 1 ? l[1] : NULL;
	/* it runs something that never proved good: the last-good */
	return nl ? l[0] : NULL;
}

/* Each service in scope to its good commit; those without one go to missing. */
static void targets_last_good(struct rollback_plan *p, const struct config *cfg,
			      const struct ledger_state *now, bool skip_current, const char *avoid,
			      size_t *missing, size_t *nmissing)
{
	for (size_t i = 0; i < p->nscope; i++) {
		const struct ledger_service_state *ss =
		    ledger_state_service(now, cfg->services[p->scope[i]].name);
		const struct ledger_good *pick =
		    ss ? pick_good(now, &ss->rt[p->runtime], skip_current, avoid) : NULL;

		if (ss && avoid && ss->rt[p->runtime].ngood &&
		    streq(ss->rt[p->runtime].good[0].commit, avoid))
			note(p,
			     "%s: its last-good %.12s is the commit that just failed (an earlier "
			     "verify passed it): not going back to it",
			     cfg->services[p->scope[i]].name, avoid);

		if (pick)
			add_target(p, cfg, p->scope[i], pick->commit, now);
		else
			missing[(*nmissing)++] = p->scope[i];
	}
}

/* The operations newer than the target that a rollback to the last-good commits passes over. */
static void passed_over(struct rollback_plan *p, const struct rollback_inputs *in,
			const char *target)
{
	for (size_t i = 0; i < in->nrecent && p->npassed < ELEMENTSOF(p->passed); i++) {
		const struct ledger_op_summary *s = &in->recent[i];
		struct rollback_passed *pp;

		if (s->refused || s->request.type != LEDGER_EV_OP_REQUESTED)
			continue;
		if (s->commit[0] && streq(s->commit, target))
			break;
		pp = &p->passed[p->npassed++];
		pp->op = s->op;
		pp->number = s->number;
		strlcpy_(pp->kind, s->request.u.op_requested.kind, sizeof(pp->kind));
		strlcpy_(pp->commit, s->commit, sizeof(pp->commit));
		pp->outcome = s->outcome;
		pp->quarantined = s->outcome == LEDGER_OUT_SUCCEEDED &&
				  ledger_state_quarantined(in->now, s->commit);
		if (pp->outcome != LEDGER_OUT_SUCCEEDED)
			note(p, "skipping operation %" PRIu64 " (%s %.12s): %s", pp->number,
			     pp->kind, pp->commit,
			     pp->outcome == LEDGER_OUT_NONE ? "still open"
							    : ledger_outcome_name(pp->outcome));
		else if (pp->quarantined)
			note(p,
			     "skipping operation %" PRIu64 " (%s %.12s): its commit is quarantined",
			     pp->number, pp->kind, pp->commit);
		else
			note(p, "rolling back past operation %" PRIu64 " (%s %.12s, succeeded)",
			     pp->number, pp->kind, pp->commit);
	}
}

/* Completing an interrupted rollback: the targets it recorded ("service=commit"), for the
 * services in scope. false when it recorded none (a ledger from before targets were recorded). */
static bool targets_recorded(struct rollback_plan *p, const struct config *cfg,
			     const struct ledger_state *now, const struct ledger_op_requested *req)
{
	if (!req->targets.n)
		return false;
	for (uint32_t i = 0; i < req->targets.n; i++) {
		const char *eq = strrchr(req->targets.v[i], '=');
		char name[LEDGER_NAME_MAX];
		bool in_scope = false;
		int idx;

		if (!eq || (size_t)(eq - req->targets.v[i]) >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - req->targets.v[i]),
			 req->targets.v[i]);
		idx = config_service_index(cfg, name);
		for (size_t k = 0; idx >= 0 && k < p->nscope; k++)
			in_scope = in_scope || p->scope[k] == (size_t)idx;
		if (!in_scope)
			leave(p, name, "not in scope (or no longer configured)");
		else
			add_target(p, cfg, (size_t)idx, eq + 1, now);
	}
	return true;
}

/* The services in scope: explicit, else every configured service the ledger has seen on the
 * runtime. */
static int scope_of(struct rollback_plan *p, const struct config *cfg,
		    const struct rollback_args *a, const struct ledger_state *now)
{
	_cleanup_free_ char *names = NULL;
	struct strv sv = {0};

	if (a->scope.explicit_) {
		struct plan sp;
		char err[512];
		if (plan_scope(cfg, &a->scope, a->runtime, false, &sp, err, sizeof(err)) < 0)
			return refuse(p, "scope", SL_EUSAGE, "%s", err);
		memcpy(p->scope, sp.services, sp.nservices * sizeof(p->scope[0]));
		p->nscope = sp.nservices;
	} else {
		for (size_t i = 0; i < cfg->nservices; i++) {
			const struct ledger_service_state *ss =
			    ledger_state_service(now, cfg->services[i].name);
			if (ss && ss->rt[a->runtime].commit[0])
				p->scope[p->nscope++] = i;
		}
	}
	if (!p->nscope)
		return refuse(p, "scope", SL_EUSAGE,
			      "nothing to roll back: the ledger shows no service deployed on the "
			      "%s runtime",
			      ledger_runtime_name(a->runtime));
	for (size_t i = 0; i < p->nscope; i++)
		strv_push(&sv, cfg->services[p->scope[i]].name);
	names = strv_join(&sv, ", ");
	strv_free(&sv);
	guard_list_set(&p->guards, "scope", GUARD_PASS, "%s", names);
	return 0;
}

/* The point's description, as the plan says it: "target: the state after operation 41 (event
 * 48)". */
static void describe_point(struct rollback_plan *p, const struct rollback_to *to)
{
	char when[64];

	if (to->at.op) {
		snprintf(p->target_desc, sizeof(p->target_desc),
			 "the state after operation %" PRIu64 " (event %" PRIu64 ")", to->at.number,
			 to->at.seq);
	} else if (to->point.kind == POINT_TIME) {
		format_time(to->point.time_ns, when, sizeof(when));
		snprintf(p->target_desc, sizeof(p->target_desc),
			 "the state at %s (event %" PRIu64 ")", when, to->at.seq);
	} else {
		snprintf(p->target_desc, sizeof(p->target_desc), "the state after event %" PRIu64,
			 to->at.seq);
	}
}

static void targets_at_point(struct rollback_plan *p, const struct config *cfg,
			     const struct rollback_inputs *in)
{
	p->how = ROLLBACK_POINT;
	p->at = in->to.at;
	describe_point(p, &in->to);
	note(p, "target: %s", p->target_desc);
	for (size_t i = 0; i < p->nscope; i++) {
		const char *name = cfg->services[p->scope[i]].name;
		const struct ledger_service_state *then = ledger_state_service(in->to.then, name);

		if (!then || !then->rt[p->runtime].commit[0])
			leave(p, name, "not deployed at that point");
		else
			add_target(p, cfg, p->scope[i], then->rt[p->runtime].commit, in->now);
	}
}

/* The last guard: something to move. */
static int check_targets(struct rollback_plan *p, const char *none)
{
	size_t there = 0;

	if (!p->ntargets && !p->nowners)
		return refuse(p, "target", SL_EFAILED, "%s", none);
	for (size_t i = 0; i < p->ntargets; i++)
		there += streq(p->targets[i].from, p->targets[i].commit);
	guard_list_set(&p->guards, "target", GUARD_PASS,
		       "%zu service%s to move, %zu already there, %zu previous owner%s to put back",
		       p->ntargets - there, p->ntargets - there == 1 ? "" : "s", there, p->nowners,
		       p->nowners == 1 ? "" : "s");
	return 0;
}

int rollback_plan(const struct config *cfg, const struct rollback_args *a,
		  const struct rollback_inputs *in, struct rollback_plan *p)
{
	const struct ledger_op_summary *irb =
	    a->to ? NULL : rollback_interrupted(in->recent, in->nrecent);
	const struct ledger_op_requested *ireq = irb ? &irb->request.u.op_requested : NULL;
	size_t missing[LEDGER_MAX_SERVICES], nmissing = 0;
	bool recorded = false;

	plan_init(p, a->to ? "to" : "last-good", a->to ? a->to : "", "manual", a->runtime,
		  a->exec_mode, in->head);
	p->no_build = a->no_build;
	/* A rollback that was killed or stopped half way is completed by a plain rollback: the
	 * targets it recorded, the same reverted operation, and what it rolled away from is what
	 * gets quarantined. An explicit --to is a new target instead. */
	if (irb) {
		note(p,
		     "operation %" PRIu64 ", a rollback (%s%s%s), was interrupted: completing it",
		     irb->number, ireq->mode, ireq->ref[0] ? " " : "", ireq->ref);
		p->completes = irb->op;
	}
	if (scope_of(p, cfg, a, in->now) < 0)
		return p->refusal;
	if (irb) {
		strlcpy_(p->mode, ireq->mode, sizeof(p->mode));
		free(p->ref);
		p->ref = xstrdup(ireq->ref);
		p->verify_all = true;
		recorded = targets_recorded(p, cfg, in->now, ireq);
		if (recorded) {
			p->how = ROLLBACK_RECORDED;
			note(p, "target: what operation %" PRIu64 " recorded as its target",
			     irb->number);
		} else if (streq(ireq->mode, "to") && ireq->ref[0]) {
			/* an older ledger: no targets recorded, only what the operator named (the
			 * inputs resolved it again) */
			note(p,
			     "operation %" PRIu64
			     " recorded no targets: resolving its --to %s again",
			     irb->number, ireq->ref);
		}
	}
	/* across a cut-over: the previous owner; when completing a rollback --to a point, the
	 * owner moves it did not finish (they are not among the recorded targets) */
	if (!irb || in->to.kind == ROLLBACK_TO_POINT)
		rollback_plan_owners(p, cfg, in);
	if (!recorded && in->to.kind == ROLLBACK_TO_NONE) {
		p->how = ROLLBACK_LAST_GOOD;
		targets_last_good(p, cfg, in->now, true, NULL, missing, &nmissing);
		for (size_t i = 0; i < nmissing; i++)
			leave(p, cfg->services[missing[i]].name,
			      "no earlier good commit in the ledger");
		if (p->ntargets)
			passed_over(p, in, p->targets[0].commit);
	} else if (!recorded && in->to.kind == ROLLBACK_TO_POINT) {
		targets_at_point(p, cfg, in);
	} else if (!recorded) {
		p->how = ROLLBACK_REF;
		for (size_t i = 0; i < p->nscope; i++)
			add_target(p, cfg, p->scope[i], in->to.commit, in->now);
	}
	/* the operation whose effect this undoes: the newest that restarted a service in scope */
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct ledger_service_state *now =
		    ledger_state_service(in->now, cfg->services[p->targets[i].service].name);
		if (now && now->rt[p->runtime].op > p->reverts)
			p->reverts = now->rt[p->runtime].op;
	}
	if (ireq && ireq->reverts) {
		p->reverts = ireq->reverts;
		if (ireq->prev_commit[0])
			strlcpy_(p->quarantine, ireq->prev_commit, sizeof(p->quarantine));
	}
	plan_away(p, cfg, ireq);
	return check_targets(p, "no target: no service in scope has an earlier good commit");
}

int rollback_plan_auto(const struct config *cfg, const struct ledger_state *now,
		       const struct rollback_failed_deploy *f, struct rollback_plan *p)
{
	size_t missing[LEDGER_MAX_SERVICES], nmissing = 0;

	plan_init(p, "auto", "", "auto", f->runtime, f->exec_mode, f->head);
	p->how = ROLLBACK_AUTO;
	p->reverts = f->op;
	p->restart_all = true;
	p->fast = f->fast;
	p->nscope = f->nservices < ELEMENTSOF(p->scope) ? f->nservices : ELEMENTSOF(p->scope);
	memcpy(p->scope, f->services, p->nscope * sizeof(p->scope[0]));
	guard_list_set(&p->guards, "scope", GUARD_PASS,
		       "what the failed deploy %" PRIu64 " touched", f->number);
	targets_last_good(p, cfg, now, false, f->target, missing, &nmissing);
	/* services with no last-good yet go back to what the checkout held before the deploy,
	 * unless that is the commit that failed (a first deploy of the commit the checkout was
	 * already at): restarting the same code again cannot help, it would only fail again */
	for (size_t i = 0; i < nmissing; i++) {
		const char *name = cfg->services[missing[i]].name;
		if (!f->prev || !f->prev[0]) {
			leave(p, name, "no last-good commit and no commit before the deploy");
			continue;
		}
		if (streq(f->prev, f->target)) {
			leave(p, name,
			      "no last-good commit, and the checkout held the failed commit before "
			      "this deploy too (nothing older to go back to)");
			continue;
		}
		add_target(p, cfg, missing[i], f->prev, now);
		note(p,
		     "%s has no last-good commit in the ledger yet: back to %.12s, the commit "
		     "before this deploy",
		     name, f->prev);
	}
	/* what they run is what the failed deploy left, whatever the ledger says */
	for (size_t i = 0; i < p->ntargets; i++)
		strlcpy_(p->targets[i].from, f->target, sizeof(p->targets[i].from));
	plan_away(p, cfg, NULL);
	return check_targets(p, "nothing to roll back to: no service the deploy touched has a "
				"last-good commit or an earlier commit than the one that failed");
}

void rollback_plan_release(struct rollback_plan *p)
{
	free(p->ref);
	p->ref = NULL;
	strv_free(&p->notes);
}

/* ---- printing the plan -------------------------------------------------------------------- */

void rollback_plan_print(const struct rollback_plan *p, const struct config *cfg, bool dry_run)
{
	const struct guard_verdict *no = guard_list_refusal(&p->guards);
	char reverts[64] = "", on[VIEW_OP_NAME_MAX];

	for (size_t i = 0; i < p->notes.n; i++)
		out_say("%s", p->notes.v[i]);
	if (no) {
		log_error("%s%s", p->how == ROLLBACK_AUTO ? "" : "rollback: ", no->reason);
		return;
	}
	if (!dry_run)
		return;
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct rollback_target *t = &p->targets[i];
		bool there = streq(t->from, t->commit);
		out_say("would move %-16s %.12s -> %.12s%s", cfg->services[t->service].name,
			t->from, t->commit,
			!there		 ? ""
			: p->restart_all ? " (already there; restarted anyway)"
					 : " (already there)");
	}
	rollback_owners_print(p, cfg);
	if (p->reverts)
		snprintf(reverts, sizeof(reverts), ", reverting operation %s",
			 view_op_name(p->reverts, on));
	out_say("would record: a %s rollback (%s%s%s) on %s, %s%s", p->reason, p->mode,
		p->ref[0] ? " " : "", p->ref, ledger_runtime_name(p->runtime),
		remote_mode_name(p->exec_mode), reverts);
	for (size_t i = 0; i < p->ntargets; i++) {
		const char *c = p->targets[i].away;
		bool dup = !c[0];

		for (size_t k = 0; k < i && !dup; k++)
			dup = streq(p->targets[k].away, c);
		for (size_t k = 0; k < p->ntargets && !dup; k++)
			dup = streq(p->targets[k].commit, c); /* a service goes (back) there */
		if (!dup)
			out_say("would quarantine %.12s, what %s runs", c,
				cfg->services[p->targets[i].service].name);
	}
	if (p->completes)
		out_say("would verify every service: completing operation %s",
			view_op_name(p->completes, on));
	if (p->no_build)
		out_say("no build (--no-build)");
	for (size_t i = 0; i < p->guards.n; i++)
		out_say("guard %s: %s: %s", p->guards.v[i].guard,
			guard_result_name(p->guards.v[i].result), p->guards.v[i].reason);
	out_say("--dry-run: nothing was changed or recorded");
}

static json_t *json_commit(const char *c)
{
	return c && c[0] ? json_str(c) : json_null();
}

static json_t *json_op(uint64_t op)
{
	return op ? json_integer((json_int_t)op) : json_null();
}

/* An operation's number beside its id ("reverts": id, "reverts_number": number). */
static json_t *json_op_number(uint64_t op)
{
	return json_op(view_op_number(op));
}

json_t *rollback_plan_json(const struct rollback_plan *p, const struct config *cfg)
{
	const struct guard_verdict *no = guard_list_refusal(&p->guards);
	json_t *o = json_object(), *a;

	json_object_set_new(o, "kind", json_string("rollback"));
	json_object_set_new(o, "mode", json_str(p->mode));
	json_object_set_new(o, "ref", json_str(p->ref));
	json_object_set_new(o, "reason", json_str(p->reason));
	json_object_set_new(o, "how", json_string(rollback_how_name(p->how)));
	json_object_set_new(o, "runtime", json_string(ledger_runtime_name(p->runtime)));
	json_object_set_new(o, "exec_mode", json_string(remote_mode_name(p->exec_mode)));
	json_object_set_new(o, "checkout", json_commit(p->head));
	json_object_set_new(o, "reverts", json_op(p->reverts));
	json_object_set_new(o, "reverts_number", json_op_number(p->reverts));
	json_object_set_new(o, "quarantine", json_commit(p->quarantine));
	json_object_set_new(o, "completes", json_op(p->completes));
	json_object_set_new(o, "completes_number", json_op_number(p->completes));
	if (p->how == ROLLBACK_POINT)
		json_object_set_new(o, "point",
				    json_pack("{s:I,s:o,s:o,s:o}", "seq", (json_int_t)p->at.seq,
					      "op", json_op(p->at.op), "number",
					      json_op(p->at.number), "desc",
					      json_str(p->target_desc)));
	else
		json_object_set_new(o, "point", json_null());
	a = json_array();
	for (size_t i = 0; i < p->nscope; i++)
		json_array_append_new(a, json_str(cfg->services[p->scope[i]].name));
	json_object_set_new(o, "scope", a);
	a = json_array();
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct rollback_target *t = &p->targets[i];
		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:b,s:o}", "service",
						   json_str(cfg->services[t->service].name), "from",
						   json_commit(t->from), "to", json_str(t->commit),
						   "restart",
						   p->restart_all || !streq(t->from, t->commit),
						   "rolls_away_from", json_commit(t->away)));
	}
	json_object_set_new(o, "targets", a);
	json_object_set_new(o, "owners", rollback_owners_json(p, cfg));
	a = json_array();
	for (size_t i = 0; i < p->nleft; i++)
		json_array_append_new(a, json_pack("{s:o,s:o}", "service",
						   json_str(p->left[i].service), "why",
						   json_str(p->left[i].why)));
	json_object_set_new(o, "left", a);
	a = json_array();
	for (size_t i = 0; i < p->npassed; i++) {
		const struct rollback_passed *pp = &p->passed[i];
		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o,s:o,s:b}", "op",
						   (json_int_t)pp->op, "number",
						   json_op(pp->number), "kind", json_str(pp->kind),
						   "commit", json_commit(pp->commit), "outcome",
						   pp->outcome == LEDGER_OUT_NONE
						       ? json_null()
						       : json_str(ledger_outcome_name(pp->outcome)),
						   "quarantined", pp->quarantined));
	}
	json_object_set_new(o, "passes_over", a);
	json_object_set_new(o, "build", json_boolean(!p->no_build));
	json_object_set_new(o, "fast", json_boolean(p->fast));
	json_object_set_new(o, "restart_all", json_boolean(p->restart_all));
	json_object_set_new(o, "verify_all", json_boolean(p->verify_all));
	a = json_array();
	for (size_t i = 0; i < p->guards.n; i++)
		json_array_append_new(a, json_pack("{s:o,s:s,s:o}", "guard",
						   json_str(p->guards.v[i].guard), "result",
						   guard_result_name(p->guards.v[i].result),
						   "reason", json_str(p->guards.v[i].reason)));
	json_object_set_new(o, "guards", a);
	json_object_set_new(o, "refused",
			    no ? json_pack("{s:o,s:o}", "guard", json_str(no->guard), "reason",
					   json_str(no->reason))
			       : json_null());
	a = json_array();
	for (size_t i = 0; i < p->notes.n; i++)
		json_array_append_new(a, json_str(p->notes.v[i]));
	json_object_set_new(o, "notes", a);
	return o;
}

/* ---- execution ---------------------------------------------------------------------------- */

/* Services grouped by target commit; the largest group goes last so that the checkout ends on
 * the commit most services run. */
struct group {
	char commit[REPO_OID_HEX];
	size_t idx[LEDGER_MAX_SERVICES];
	size_t n;
};

static size_t make_groups(const struct rollback_plan *p, struct group *g)
{
	size_t ng = 0;

	for (size_t i = 0; i < p->ntargets; i++) {
		size_t k;
		for (k = 0; k < ng; k++)
			if (streq(g[k].commit, p->targets[i].commit))
				break;
		if (k == ng) {
			memset(&g[ng], 0, sizeof(g[ng]));
			strlcpy_(g[ng].commit, p->targets[i].commit, sizeof(g[ng].commit));
			ng++;
		}
		g[k].idx[g[k].n++] = p->targets[i].service;
	}
	for (size_t i = 1; i < ng; i++)
		for (size_t j = i; j > 0 && g[j - 1].n > g[j].n; j--) {
			struct group tmp = g[j];
			g[j] = g[j - 1];
			g[j - 1] = tmp;
		}
	return ng;
}

static const struct rollback_target *target_of(const struct rollback_plan *p, size_t service)
{
	for (size_t k = 0; k < p->ntargets; k++)
		if (p->targets[k].service == service)
			return &p->targets[k];
	return NULL;
}

/* The shared build's decision for the group ro is at (build_decide, as a deploy's plan makes
 * it): in place against the last completed build of the checkout (read from the ledger when the
 * rollback started, then what an earlier group built), releases against the release whose
 * build output was carried. */
static void decide_build(struct rollout *ro, struct build_facts *bf)
{
	if (ro->releases) {
		bf->releases = true;
		bf->release_built = ro->release_built;
		strlcpy_(bf->base, ro->carried_from, sizeof(bf->base));
	}
	(void)build_facts_diff(ro->repo, ro->target, bf);
	build_decide(&ro->cfg->native.build_when_changed, false, ro->target, bf, &ro->shared_build);
	ro->shared_build_decided = true;
}

/* The rollout phase: each group's services that need it restarted at its commit. */
static int roll_groups(const struct rollback_plan *p, struct rollout *ro, struct group *groups,
		       size_t ng, size_t *restarted, size_t *nrestarted, struct build_facts *bf)
{
	const struct config *cfg = ro->cfg;
	char head[REPO_OID_HEX];
	int r;

	strlcpy_(head, p->head, sizeof(head));
	for (size_t gi = 0; gi < ng; gi++) {
		struct group *g = &groups[gi];

		strlcpy_(ro->prev, head, sizeof(ro->prev));
		strlcpy_(ro->target, g->commit, sizeof(ro->target));
		ro->branch[0] = '\0';
		ro->plan.nservices = 0;
		for (size_t i = 0; i < g->n; i++) {
			const struct rollback_target *t = target_of(p, g->idx[i]);
			if (t && !p->restart_all && streq(t->from, t->commit)) {
				out_say("%s already runs %.12s: not restarted",
					cfg->services[g->idx[i]].name, t->commit);
				continue;
			}
			ro->plan.services[ro->plan.nservices++] = g->idx[i];
		}
		if (!ro->plan.nservices)
			continue;
		if (!streq(head, g->commit)) {
			r = rollout_move_checkout(ro);
			if (r < 0)
				return r;
			strlcpy_(head, g->commit, sizeof(head));
		} else {
			strv_free(&ro->changed);
			out_say("checkout already at %.12s", head);
		}
		decide_build(ro, bf);
		r = rollout_build(ro);
		if (r < 0)
			return r;
		if (!ro->releases && !ro->no_build && ro->shared_build.run &&
		    ro->cfg->native.build.n) {
			/* recorded by the build: the next group compares with it */
			strlcpy_(bf->base, ro->target, sizeof(bf->base));
			bf->base_op = ro->op->id;
			view_op_name(ro->op->id, bf->base_op_name);
		}
		r = rollout_restart(ro);
		if (r < 0)
			return r;
		for (size_t i = 0; i < ro->plan.nservices; i++)
			restarted[(*nrestarted)++] = ro->plan.services[i];
	}
	return 0;
}

/* Records op.requested with the resolved targets (an interrupted rollback is completed to
 * exactly these) and says what it rolls back. commit: where the checkout ends. */
static int begin(const struct rollback_plan *p, const struct config *cfg, struct ledger *lg,
		 const char *commit, struct op *op)
{
	struct ledger_op_requested req = {0};
	const char *svcs[LEDGER_MAX_SERVICES], *targets[LEDGER_MAX_SERVICES];
	const char *from[2 * LEDGER_MAX_SERVICES];
	char target_buf[LEDGER_MAX_SERVICES][LEDGER_NAME_MAX + REPO_OID_HEX + 1];
	char from_buf[2 * LEDGER_MAX_SERVICES][LEDGER_NAME_MAX + REPO_OID_HEX + 1];
	char reverts[64] = "", owners[64] = "", on[VIEW_OP_NAME_MAX];
	size_t nfrom = 0;
	int r;

	for (size_t i = 0; i < p->ntargets; i++) {
		svcs[i] = cfg->services[p->targets[i].service].name;
		snprintf(target_buf[i], sizeof(target_buf[i]), "%s=%s", svcs[i],
			 p->targets[i].commit);
		targets[i] = target_buf[i];
		/* what it rolls away from: the reducer quarantines these, not the checkout's */
		if (p->targets[i].away[0]) {
			snprintf(from_buf[nfrom], sizeof(from_buf[nfrom]), "%s=%s", svcs[i],
				 p->targets[i].away);
			from[nfrom] = from_buf[nfrom];
			nfrom++;
		}
	}
	/* an owner put back at another commit than the one its owner now runs (--to) rolls away
	 * from that one, as a target does */
	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];
		if (!o->back[0] || streq(o->back, o->commit))
			continue;
		snprintf(from_buf[nfrom], sizeof(from_buf[nfrom]), "%s=%s",
			 cfg->services[o->service].name, o->back);
		from[nfrom] = from_buf[nfrom];
		nfrom++;
	}
	req.kind = "rollback";
	req.mode = p->mode;
	req.ref = p->ref;
	/* where the checkout ends: the owner moves come last and move it to their commit; only
	 * owners put back at the checkout's commit: it stays where it is */
	if (p->nowners)
		commit = rollback_owners_end(p);
	req.commit = commit[0] || !p->nowners ? commit : p->head;
	/* only owners, rolling away from nothing: no checkout commit to quarantine either (the
	 * reducer's rule for older ledgers would take prev_commit) */
	req.prev_commit = p->nowners && !p->ntargets && !nfrom && !streq(req.commit, p->quarantine)
			      ? ""
			      : p->quarantine;
	req.runtime = p->runtime;
	req.services.n = (uint32_t)p->ntargets;
	req.services.v = svcs;
	req.exec_mode = remote_mode_name(p->exec_mode);
	req.config_digest = cfg->digest;
	req.reverts = p->reverts;
	req.reason = p->reason;
	req.targets.n = (uint32_t)p->ntargets;
	req.targets.v = targets;
	req.from.n = (uint32_t)nfrom;
	req.from.v = from;
	r = op_begin(op, lg, &req);
	if (r < 0)
		return r;
	if (p->reverts)
		snprintf(reverts, sizeof(reverts), ", reverting operation %s",
			 view_op_name(p->reverts, on));
	if (p->nowners)
		snprintf(owners, sizeof(owners), " and putting back the owner of %zu", p->nowners);
	out_say("Operation %" PRIu64 " (seq:%" PRIu64 "): rolling back %zu service%s%s (%s)%s",
		op->number, op->id, p->ntargets, p->ntargets == 1 ? "" : "s", owners, p->reason,
		reverts);
	for (size_t i = 0; i < p->ntargets; i++)
		out_say("  %-16s %.12s -> %.12s", svcs[i],
			p->targets[i].from[0] ? p->targets[i].from : "(unknown)",
			p->targets[i].commit);
	op_expect(op, &req, cfg->policy.baseline_ops);
	return 0;
}

int rollback_execute(const struct rollback_plan *p, const struct config *cfg, struct ledger *lg,
		     struct repo *repo, const struct ledger_state *st, uint64_t *op_id, char *error,
		     size_t errlen)
{
	struct rollout ro = {.cfg = cfg, .runtime = p->runtime, .repo = repo, .state = st};
	struct build_facts bf = {0};
	struct group groups[LEDGER_MAX_SERVICES];
	struct op op = {.current = -1};
	size_t ng, restarted[LEDGER_MAX_SERVICES], nrestarted = 0;
	int r;

	*op_id = 0;
	ro.op = &op;
	ro.no_build = p->no_build;
	ro.fast = p->fast;
	ro.exec_mode = p->exec_mode;
	ro.releases = cfg->target.layout == LAYOUT_RELEASES && p->runtime == LEDGER_RT_NATIVE;
	ng = make_groups(p, groups);
	r = begin(p, cfg, lg, ng ? groups[ng - 1].commit : "", &op);
	if (r < 0)
		return r;
	/* for the --json result line: where the checkout ends */
	op.result_commit = p->nowners ? rollback_owners_end(p) : ng ? groups[ng - 1].commit : NULL;
	op.result_prev = p->quarantine;
	*op_id = op.id;

	r = rollout_open_runtime(&ro);
	if (r < 0) {
		op_fail(&op, "the %s runtime is unreachable", ledger_runtime_name(p->runtime));
		goto fail;
	}

	op_phase_begin(&op, "rollout", "Rollback Rollout");
	r = rollout_recover_checkout(&ro); /* a checkout a killed operation left half done */
	if (r < 0)
		goto fail;
	if (!ro.releases && p->runtime == LEDGER_RT_NATIVE)
		(void)build_facts_read_last(lg, repo_workdir(repo), &bf);
	r = roll_groups(p, &ro, groups, ng, restarted, &nrestarted, &bf);
	if (r < 0)
		goto fail;
	op_phase_end(&op, true, NULL);

	op_phase_begin(&op, "verify", "Rollback Verify");
	if (p->verify_all) {
		/* completing an interrupted rollback: what it restarted was never verified */
		nrestarted = 0;
		for (size_t i = 0; i < p->ntargets; i++)
			restarted[nrestarted++] = p->targets[i].service;
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
	} else if (!p->nowners) {
		out_say("nothing was restarted: every service already ran its target");
	}
	op_phase_end(&op, true, NULL);
	r = rollback_execute_owners(p, cfg, &op, repo);
	if (r < 0)
		goto fail;
	r = op_finish(&op, LEDGER_OUT_SUCCEEDED, 0);
	rollout_prune_releases(&ro);
	rollout_release(&ro);
	build_facts_release(&bf);
	return r < 0 ? r : 0;

fail:
	if (!op.error[0])
		op_fail(&op, "%s", sl_strerror(r));
	/* stopped by the operator: interrupted, not failed; the next 'shiplog rollback' completes
	 * it */
	op_finish(&op, op_interrupted ? LEDGER_OUT_INTERRUPTED : LEDGER_OUT_FAILED, 0);
	if (error)
		strlcpy_(error, op.error, errlen);
	rollout_release(&ro);
	build_facts_release(&bf);
	return op_interrupted ? SL_EINTERRUPTED : SL_EFAILED;
}

void rollback_say_running(struct ledger *lg, const struct config *cfg, int runtime,
			  const size_t *svcs, size_t n)
{
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	char on[VIEW_OP_NAME_MAX];

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
			log_error("  %-16s %.12s (restarted by operation %s, %s)", name, rt->commit,
				  view_op_name(rt->op, on),
				  rt->healthy ? "verified" : "not verified since");
	}
	free(st);
}
