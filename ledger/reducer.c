/* SPDX-License-Identifier: MIT */
/*
 * reducer.c: state x event -> state. Pure and deterministic: no clock, no I/O, no allocation.
 * The state is a fixed-size struct whose unused bytes stay zero, so snapshots compare equal to
 * replays. Every apply function checks what can fail (a full service table, a bad enum) before
 * it changes anything: an error leaves the state as it was.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

void ledger_state_init(struct ledger_state *st)
{
	if (st)
		memset(st, 0, sizeof(*st));
}

static int service_index(const struct ledger_state *st, const char *name)
{
	char key[LEDGER_NAME_MAX];

	/* names are stored truncated; look them up the same way */
	str_copy(key, sizeof(key), name);
	for (uint32_t i = 0; i < st->nservices; i++)
		if (strcmp(st->services[i].name, key) == 0)
			return (int)i;
	return -1;
}

const struct ledger_service_state *ledger_state_service(const struct ledger_state *st,
							const char *name)
{
	int i;

	if (!st || !name)
		return NULL;
	i = service_index(st, name);
	return i < 0 ? NULL : &st->services[i];
}

const struct ledger_quarantine *ledger_state_quarantined(const struct ledger_state *st,
							 const char *commit)
{
	if (!st || !commit || !*commit)
		return NULL;
	for (uint32_t i = 0; i < st->nquarantine; i++)
		if (strcmp(st->quarantine[i].commit, commit) == 0)
			return &st->quarantine[i];
	return NULL;
}

/* Registers a service (owner -1) or finds it. Call service_room() first. */
static int service_get(struct ledger_state *st, const char *name)
{
	struct ledger_service_state *s;
	int i = service_index(st, name);

	if (i >= 0)
		return i;
	if (st->nservices >= LEDGER_MAX_SERVICES)
		return LEDGER_EFULL;
	s = &st->services[st->nservices];
	memset(s, 0, sizeof(*s));
	str_copy(s->name, sizeof(s->name), name);
	s->owner = -1;
	return (int)st->nservices++;
}

/* How many of names[0..n) are not registered yet (each counted once). */
static uint32_t services_missing(const struct ledger_state *st, const char *const *names,
				 uint32_t n)
{
	uint32_t missing = 0;

	for (uint32_t i = 0; i < n; i++) {
		bool dup = false;

		if (service_index(st, S(names[i])) >= 0)
			continue;
		for (uint32_t j = 0; j < i && !dup; j++)
			dup = strcmp(S(names[i]), S(names[j])) == 0;
		missing += !dup;
	}
	return missing;
}

static bool runtime_ok(int rt)
{
	return rt >= 0 && rt < LEDGER_RT__COUNT;
}

static void inflight_clear(struct ledger_inflight *in)
{
	memset(in, 0, sizeof(*in));
}

/* Closes the running operation: the nested-under one (if any) runs again. */
static void op_close(struct ledger_state *st)
{
	if (st->parent.op != 0) {
		memcpy(&st->inflight, &st->parent, sizeof(st->inflight));
		inflight_clear(&st->parent);
	} else {
		inflight_clear(&st->inflight);
	}
}

static void good_remove(struct ledger_service_runtime *rt, const char *commit)
{
	for (uint32_t i = 0; i < rt->ngood; i++) {
		if (strcmp(rt->good[i].commit, commit) != 0)
			continue;
		memmove(&rt->good[i], &rt->good[i + 1], (rt->ngood - i - 1) * sizeof(rt->good[0]));
		rt->ngood--;
		memset(&rt->good[rt->ngood], 0, sizeof(rt->good[0]));
		i--;
	}
}

static void good_push(struct ledger_service_runtime *rt, const char *commit, uint64_t op,
		      int64_t time_ns)
{
	struct ledger_good g;

	memset(&g, 0, sizeof(g));
	str_copy(g.commit, sizeof(g.commit), commit);
	g.op = op;
	g.time_ns = time_ns;
	good_remove(rt, g.commit);
	if (rt->ngood == LEDGER_GOOD_DEPTH)
		rt->ngood--; /* drop the oldest */
	memmove(&rt->good[1], &rt->good[0], rt->ngood * sizeof(rt->good[0]));
	memcpy(&rt->good[0], &g, sizeof(g));
	rt->ngood++;
}

static void quarantine_add(struct ledger_state *st, const char *commit, uint64_t op,
			   uint64_t rollback_op, int64_t time_ns, const char *reason)
{
	struct ledger_quarantine *q = NULL;

	for (uint32_t i = 0; i < st->nquarantine && !q; i++)
		if (strcmp(st->quarantine[i].commit, commit) == 0)
			q = &st->quarantine[i];
	if (!q) {
		if (st->nquarantine == LEDGER_MAX_QUARANTINE) {
			memmove(&st->quarantine[0], &st->quarantine[1],
				(LEDGER_MAX_QUARANTINE - 1) * sizeof(st->quarantine[0]));
			st->nquarantine--;
		}
		q = &st->quarantine[st->nquarantine++];
	}
	memset(q, 0, sizeof(*q));
	str_copy(q->commit, sizeof(q->commit), commit);
	q->op = op;
	q->rollback_op = rollback_op;
	q->time_ns = time_ns;
	str_copy(q->reason, sizeof(q->reason), reason);
}

/* A commit proved good again (a forced deploy, or a rollback back to it, that passed verify) is
 * no longer quarantined. */
static void quarantine_remove(struct ledger_state *st, const char *commit)
{
	for (uint32_t i = 0; i < st->nquarantine; i++) {
		if (strcmp(st->quarantine[i].commit, commit) != 0)
			continue;
		memmove(&st->quarantine[i], &st->quarantine[i + 1],
			(st->nquarantine - i - 1) * sizeof(st->quarantine[0]));
		st->nquarantine--;
		memset(&st->quarantine[st->nquarantine], 0, sizeof(st->quarantine[0]));
		return;
	}
}

/* Removes commit from the good lists of the operation's services on its runtime. */
static void good_remove_scope(struct ledger_state *st, const struct ledger_inflight *in,
			      const char *commit)
{
	for (uint32_t i = 0; i < in->nservices; i++)
		good_remove(&st->services[in->services[i]].rt[in->runtime], commit);
}

/* Whether a service of the operation still runs commit on its runtime after it: a rollback that
 * rolled one service away from a commit another of its services went (back) to does not
 * quarantine it. */
static bool service_runs_scope(const struct ledger_state *st, const struct ledger_inflight *in,
			       const char *commit)
{
	for (uint32_t i = 0; i < in->nservices; i++)
		if (strcmp(st->services[in->services[i]].rt[in->runtime].commit, commit) == 0)
			return true;
	return false;
}

static void inflight_fill(struct ledger_state *st, struct ledger_inflight *in,
			  const struct ledger_event *ev, const struct ledger_op_requested *req)
{
	inflight_clear(in);
	in->op = ev->op;
	str_copy(in->kind, sizeof(in->kind), req->kind);
	in->runtime = (int)req->runtime;
	str_copy(in->actor, sizeof(in->actor), ev->actor);
	in->pid = req->pid;
	in->started_ns = ev->time_ns;
	str_copy(in->commit, sizeof(in->commit), req->commit);
	str_copy(in->prev_commit, sizeof(in->prev_commit), req->prev_commit);
	in->reverts = req->reverts;
	/* kept only for requests that carry their number: snapshots of older ledgers stay equal
	 * to their replay */
	in->numbered = req->number != 0;
	in->number = in->numbered ? st->counters.ops : 0;
	in->manual = in->numbered && strcmp(S(req->reason), "manual") == 0;
	/* what a rollback rolls away from: "service=commit" entries, kept as distinct commits */
	for (uint32_t i = 0; i < req->from.n && req->from.v; i++) {
		const char *eq = strrchr(S(req->from.v[i]), '=');
		const char *c = eq ? eq + 1 : S(req->from.v[i]);
		bool dup = false;

		for (uint32_t j = 0; j < in->nfrom && !dup; j++)
			dup = strcmp(in->from[j], c) == 0;
		if (*c && !dup && in->nfrom < LEDGER_MAX_FROM)
			str_copy(in->from[in->nfrom++], sizeof(in->from[0]), c);
	}
	for (uint32_t i = 0; i < req->services.n; i++) {
		int idx = service_get(st, S(req->services.v[i]));
		bool dup = false;

		for (uint32_t j = 0; j < in->nservices && !dup; j++)
			dup = in->services[j] == idx;
		if (idx >= 0 && !dup && in->nservices < LEDGER_MAX_SERVICES)
			in->services[in->nservices++] = (uint8_t)idx;
	}
}

int reduce_op_requested(struct ledger_state *st, const struct ledger_event *ev)
{
	const struct ledger_op_requested *req = &ev->u.op_requested;
	bool nest;

	if (!runtime_ok((int)req->runtime) || (req->services.n && !req->services.v))
		return LEDGER_EINVAL;
	if (st->nservices + services_missing(st, req->services.v, req->services.n) >
	    LEDGER_MAX_SERVICES)
		return LEDGER_EFULL;

	st->counters.ops++;
	st->last_op = ev->op;
	nest = st->inflight.op != 0 && strcmp(S(req->kind), "rollback") == 0 &&
	       req->reverts == st->inflight.op;
	if (nest)
		memcpy(&st->parent, &st->inflight, sizeof(st->parent));
	else
		inflight_clear(&st->parent);
	inflight_fill(st, &st->inflight, ev, req);
	return 0;
}

int reduce_op_refused(struct ledger_state *st, const struct ledger_event *ev)
{
	if (ev->op == ev->seq) {
		st->counters.ops++;
		st->counters.outcome[LEDGER_OUT_REFUSED]++;
		st->last_op = ev->op;
		return 0;
	}
	st->counters.outcome[LEDGER_OUT_REFUSED]++;
	if (ev->op != 0 && ev->op == st->inflight.op)
		op_close(st);
	return 0;
}

/* What op.finished does to the operation `in` (the running one or its parent). */
static void op_finish(struct ledger_state *st, const struct ledger_inflight *in,
		      const struct ledger_event *ev)
{
	const struct ledger_op_finished *f = &ev->u.op_finished;
	char reason[128];

	st->counters.outcome[f->outcome]++;
	switch (f->outcome) {
	case LEDGER_OUT_SUCCEEDED:
		for (uint32_t i = 0; i < in->nservices; i++) {
			struct ledger_service_runtime *rt =
			    &st->services[in->services[i]].rt[in->runtime];

			if (rt->commit[0]) {
				good_push(rt, rt->commit, in->op, ev->time_ns);
				quarantine_remove(st, rt->commit);
			}
		}
		if (strcmp(in->kind, "rollback") != 0 || in->reverts == 0)
			break;
		if (in->nfrom) {
			/* this shiplog's rollbacks name what each service ran before it: those
			 * commits, not the checkout's, are what was rolled away from (except one
			 * that a service of the rollback runs now, verified or left in place) */
			if (in->manual)
				snprintf(reason, sizeof(reason),
					 "rolled back by hand by %.60s (operation %llu, seq:%llu)",
					 in->actor, (unsigned long long)in->number,
					 (unsigned long long)in->op);
			else if (in->number)
				snprintf(reason, sizeof(reason),
					 "rolled back by operation %llu (seq:%llu)",
					 (unsigned long long)in->number,
					 (unsigned long long)in->op);
			else
				snprintf(reason, sizeof(reason), "rolled back by operation %llu",
					 (unsigned long long)in->op);
			for (uint32_t i = 0; i < in->nfrom; i++) {
				if (!service_runs_scope(st, in, in->from[i])) {
					quarantine_add(st, in->from[i], in->reverts, in->op,
						       ev->time_ns, reason);
					good_remove_scope(st, in, in->from[i]);
				}
			}
		} else if (in->prev_commit[0] && strcmp(in->prev_commit, in->commit) != 0) {
			/* older ledgers: the checkout commit before the rollback */
			snprintf(reason, sizeof(reason), "rolled back by operation %llu",
				 (unsigned long long)in->op);
			quarantine_add(st, in->prev_commit, in->reverts, in->op, ev->time_ns,
				       reason);
			good_remove_scope(st, in, in->prev_commit);
		}
		break;
	case LEDGER_OUT_ROLLED_BACK:
		if (in->commit[0]) {
			quarantine_add(st, in->commit, in->op, f->rollback_op, ev->time_ns,
				       S(f->error));
			good_remove_scope(st, in, in->commit);
		}
		break;
	default:
		break;
	}
}

uint32_t ledger_hist_bucket(int64_t ns)
{
	uint64_t us = ns <= 1000 ? 1 : (uint64_t)ns / 1000;
	uint32_t msb = 63 - (uint32_t)__builtin_clzll(us), sub;

	if (msb >= LEDGER_HIST_BUCKETS / LEDGER_HIST_SUB)
		return LEDGER_HIST_BUCKETS - 1;
	/* the four bits after the leading one */
	sub = (uint32_t)(msb >= 4 ? us >> (msb - 4) : us << (4 - msb)) & (LEDGER_HIST_SUB - 1);
	return msb * LEDGER_HIST_SUB + sub;
}

int64_t ledger_hist_value(uint32_t bucket)
{
	uint32_t msb = bucket / LEDGER_HIST_SUB, sub = bucket % LEDGER_HIST_SUB;
	/* [ (16+sub) 2^msb / 16, (17+sub) 2^msb / 16 ) µs: its middle, in ns */
	double lo = (double)(LEDGER_HIST_SUB + sub) * (double)(1ULL << msb) / LEDGER_HIST_SUB;
	double hi = (double)(LEDGER_HIST_SUB + sub + 1) * (double)(1ULL << msb) / LEDGER_HIST_SUB;

	return (int64_t)((lo + hi) / 2 * 1000.0);
}

/* Adds one duration to the histogram of `phase`; a phase beyond the table is not kept. */
static void hist_add(struct ledger_state *st, const char *phase, int64_t ns, bool ok)
{
	struct ledger_phase_hist *h = NULL;

	for (uint32_t i = 0; i < st->nhist && !h; i++)
		if (strcmp(st->hist[i].phase, phase) == 0)
			h = &st->hist[i];
	if (!h) {
		if (st->nhist == LEDGER_MAX_HISTS || !*phase)
			return;
		h = &st->hist[st->nhist++];
		str_copy(h->phase, sizeof(h->phase), phase);
	}
	if (ns < 0)
		ns = 0;
	h->count++;
	h->failures += !ok;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->buckets[ledger_hist_bucket(ns)]++;
}

int reduce_op_finished(struct ledger_state *st, const struct ledger_event *ev)
{
	struct ledger_inflight in;

	if (ev->u.op_finished.outcome <= LEDGER_OUT_NONE ||
	    ev->u.op_finished.outcome >= LEDGER_OUT__COUNT)
		return LEDGER_EINVAL;
	if (ev->u.op_finished.outcome != LEDGER_OUT_REFUSED)
		hist_add(st, "total", ev->u.op_finished.duration_ns,
			 ev->u.op_finished.outcome == LEDGER_OUT_SUCCEEDED);
	if (ev->op != 0 && ev->op == st->inflight.op) {
		memcpy(&in, &st->inflight, sizeof(in));
		op_finish(st, &in, ev);
		op_close(st);
	} else if (ev->op != 0 && ev->op == st->parent.op) {
		/* the outer operation ends while its rollback still runs: both are over */
		memcpy(&in, &st->parent, sizeof(in));
		op_finish(st, &in, ev);
		inflight_clear(&st->parent);
		inflight_clear(&st->inflight);
	}
	return 0;
}

int reduce_phase_started(struct ledger_state *st, const struct ledger_event *ev)
{
	if (ev->op != 0 && ev->op == st->inflight.op)
		str_copy(st->inflight.phase, sizeof(st->inflight.phase), ev->u.phase.name);
	return 0;
}

int reduce_phase_finished(struct ledger_state *st, const struct ledger_event *ev)
{
	const char *name = S(ev->u.phase.name);

	hist_add(st, name, ev->u.phase.duration_ns, ev->u.phase.ok);
	if (ev->op != 0 && ev->op == st->inflight.op && !ev->u.phase.ok &&
	    (strcmp(name, "verify") == 0 || strcmp(name, "public-verify") == 0))
		st->inflight.verify_failed = true;
	return 0;
}

int reduce_git_moved(struct ledger_state *st, const struct ledger_event *ev)
{
	str_copy(st->checkout_commit, sizeof(st->checkout_commit), ev->u.git_moved.to);
	str_copy(st->checkout_ref, sizeof(st->checkout_ref), ev->u.git_moved.ref);
	if (ev->op != 0 && ev->op == st->inflight.op)
		str_copy(st->inflight.commit, sizeof(st->inflight.commit), ev->u.git_moved.to);
	return 0;
}

int reduce_unit_restarted(struct ledger_state *st, const struct ledger_event *ev)
{
	const struct ledger_unit_restarted *u = &ev->u.unit_restarted;
	struct ledger_service_runtime *rt;
	const char *commit;
	int idx;

	if (!runtime_ok((int)u->runtime))
		return LEDGER_EINVAL;
	idx = service_get(st, S(u->service));
	if (idx < 0)
		return idx;
	rt = &st->services[idx].rt[u->runtime];
	if (u->commit && *u->commit)
		commit = u->commit;
	else if (ev->op != 0 && ev->op == st->inflight.op)
		commit = st->inflight.commit;
	else
		commit = st->checkout_commit;
	if (commit != rt->commit)
		str_copy(rt->commit, sizeof(rt->commit), commit);
	rt->since_ns = ev->time_ns;
	rt->op = ev->op;
	rt->healthy = false;
	str_copy(rt->env, sizeof(rt->env), S(u->env));
	if (st->services[idx].owner >= 0 && st->services[idx].owner != (int)u->runtime)
		st->services[idx].owner_op = 0; /* a restart made the owner, not a cut-over */
	st->services[idx].owner = (int)u->runtime;
	return 0;
}

int reduce_health_checked(struct ledger_state *st, const struct ledger_event *ev)
{
	const struct ledger_health_checked *h = &ev->u.health_checked;
	int idx;

	if (!runtime_ok((int)h->runtime))
		return LEDGER_EINVAL;
	idx = service_get(st, S(h->service));
	if (idx < 0)
		return idx;
	st->services[idx].rt[h->runtime].healthy = h->ok;
	if (!h->ok && ev->op != 0 && ev->op == st->inflight.op)
		st->inflight.verify_failed = true;
	return 0;
}

int reduce_owner_changed(struct ledger_state *st, const struct ledger_event *ev)
{
	const char *to = S(ev->u.owner_changed.to);
	int idx = service_get(st, S(ev->u.owner_changed.service));
	int rt;

	if (idx < 0)
		return idx;
	rt = *to ? ledger_runtime_from_name(to) : -1;
	st->services[idx].owner = rt < 0 ? -1 : rt;
	/* A cut-over (the event carries the commit) is what a rollback can undo; a take-over
	 * (from a runtime, no commit) makes the owner otherwise; a stop and a failed cut-over's
	 * put-back (from none) change nothing. Older ledgers have no owner_op: 0 stays 0. */
	if (rt >= 0 && *S(ev->u.owner_changed.commit))
		st->services[idx].owner_op = ev->op;
	else if (rt >= 0 && *S(ev->u.owner_changed.from))
		st->services[idx].owner_op = 0;
	return 0;
}

int reduce_unit_observed(struct ledger_state *st, const struct ledger_event *ev)
{
	const struct ledger_unit_observed *o = &ev->u.unit_observed;
	int idx;

	if (!runtime_ok((int)o->runtime))
		return LEDGER_EINVAL;
	/* observations never register a service: a soak must not fill the table */
	idx = service_index(st, S(o->service));
	if (idx >= 0)
		st->services[idx].rt[o->runtime].healthy =
		    strcmp(S(o->active_state), "active") == 0;
	return 0;
}

int reduce_quarantine_lifted(struct ledger_state *st, const struct ledger_event *ev)
{
	quarantine_remove(st, S(ev->u.quarantine_lifted.commit));
	return 0;
}

int reduce_fleet_started(struct ledger_state *st, const struct ledger_event *ev)
{
	/* numbered: an operation of this ledger (older fleet.started events were not) */
	if (ev->u.fleet_started.number) {
		st->counters.ops++;
		st->counters.fleet_ops++;
	}
	return 0;
}

int reduce_counters_only(struct ledger_state *st, const struct ledger_event *ev)
{
	(void)st;
	(void)ev;
	return 0;
}

int ledger_state_apply(struct ledger_state *st, const struct ledger_event *ev)
{
	event_apply_fn fn;
	int rc;

	if (!st || !ev || ev->seq != st->seq + 1)
		return LEDGER_EINVAL;
	if ((unsigned)ev->type >= LEDGER_EV__COUNT)
		return LEDGER_EINVAL;
	fn = event_type_apply(ev->type);
	if (fn) {
		rc = fn(st, ev);
		if (rc < 0)
			return rc;
	} else {
		st->counters.unknown_events++;
	}
	st->seq = ev->seq;
	st->time_ns = ev->time_ns;
	st->counters.events++;
	return 0;
}
