/* SPDX-License-Identifier: MIT */
/* The reducer: last-good lists, nesting of automatic rollbacks, quarantine, refusals, owners,
 * table limits; and replay from scratch == nearest snapshot + tail at every cut point. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-gen.h"
#include "ledger/ledger.h"
#include "testlib.h"

static struct ledger_state *st;

static void setup(void)
{
	st = calloc(1, sizeof(*st));
	ledger_state_init(st);
}

static void teardown(void)
{
	free(st);
}

TestSuite(reducer, .init = setup, .fini = teardown);

static int64_t clock_ns = 1000;

/* Applies ev as the next event; returns its seq. */
static uint64_t apply(struct ledger_event *ev)
{
	int rc;

	ev->seq = st->seq + 1;
	if (ev->op == 0 && (ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_REFUSED))
		ev->op = ev->seq;
	ev->time_ns = clock_ns += 10;
	if (!ev->actor)
		ev->actor = "alice@vps";
	rc = ledger_state_apply(st, ev);
	cr_assert_eq(rc, 0, "apply %s: %s", ledger_event_type_name(ev->type), ledger_strerror(rc));
	return ev->seq;
}

static const char *all[] = {"web", "api", "compute"};

static uint64_t request(const char *kind, const char *commit, const char *prev, int rt, unsigned n,
			uint64_t reverts)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};

	ev.u.op_requested.kind = kind;
	ev.u.op_requested.commit = commit;
	ev.u.op_requested.prev_commit = prev;
	ev.u.op_requested.runtime = rt;
	ev.u.op_requested.services = (struct ledger_strv){n, all};
	ev.u.op_requested.reverts = reverts;
	ev.u.op_requested.pid = 12;
	return apply(&ev);
}

static void restart(uint64_t op, const char *svc, int rt, const char *commit)
{
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_RESTARTED, .op = op};

	ev.u.unit_restarted.service = svc;
	ev.u.unit_restarted.runtime = rt;
	ev.u.unit_restarted.commit = commit;
	apply(&ev);
}

static void health(uint64_t op, const char *svc, int rt, bool ok)
{
	struct ledger_event ev = {.type = LEDGER_EV_HEALTH_CHECKED, .op = op};

	ev.u.health_checked.service = svc;
	ev.u.health_checked.runtime = rt;
	ev.u.health_checked.ok = ok;
	apply(&ev);
}

static void finish(uint64_t op, enum ledger_outcome o, uint64_t rb, const char *error)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED, .op = op};

	ev.u.op_finished.outcome = o;
	ev.u.op_finished.rollback_op = rb;
	ev.u.op_finished.error = error;
	apply(&ev);
}

static void moved(uint64_t op, const char *to)
{
	struct ledger_event ev = {.type = LEDGER_EV_GIT_MOVED, .op = op};

	ev.u.git_moved.from = st->checkout_commit;
	ev.u.git_moved.to = to;
	ev.u.git_moved.ref = "main";
	apply(&ev);
}

/* A whole deploy of commit to the first n services that succeeds. */
static uint64_t deploy_ok(const char *commit, int rt, unsigned n)
{
	uint64_t op = request("deploy", commit, st->checkout_commit, rt, n, 0);

	moved(op, commit);
	for (unsigned i = 0; i < n; i++)
		restart(op, all[i], rt, NULL);
	for (unsigned i = 0; i < n; i++)
		health(op, all[i], rt, true);
	finish(op, LEDGER_OUT_SUCCEEDED, 0, "");
	return op;
}

static const struct ledger_service_runtime *rt_of(const char *svc, int rt)
{
	const struct ledger_service_state *s = ledger_state_service(st, svc);

	cr_assert_not_null(s, "service %s", svc);
	return &s->rt[rt];
}

Test(reducer, sequence_must_follow)
{
	struct ledger_event ev = {.type = LEDGER_EV_LOCK_BROKEN, .actor = "x"};
	struct ledger_state before;

	ev.seq = 2;
	memcpy(&before, st, sizeof(before));
	cr_assert_eq(ledger_state_apply(st, &ev), LEDGER_EINVAL);
	cr_assert_eq(memcmp(&before, st, sizeof(before)), 0);
	ev.seq = 1;
	cr_assert_eq(ledger_state_apply(st, &ev), 0);
	cr_assert_eq(st->seq, 1);
	cr_assert_eq(st->counters.events, 1);
	cr_assert_eq(ledger_state_apply(st, &ev), LEDGER_EINVAL, "the same seq twice");
}

Test(reducer, deploy_success_sets_last_good)
{
	uint64_t op = deploy_ok("c1", LEDGER_RT_NATIVE, 2);
	const struct ledger_service_runtime *web = rt_of("web", LEDGER_RT_NATIVE);

	cr_assert_str_eq(web->commit, "c1");
	cr_assert_eq(web->op, op);
	cr_assert(web->healthy);
	cr_assert_eq(web->ngood, 1);
	cr_assert_str_eq(web->good[0].commit, "c1");
	cr_assert_eq(web->good[0].op, op);
	cr_assert_eq(ledger_state_service(st, "web")->owner, LEDGER_RT_NATIVE);
	cr_assert_null(ledger_state_service(st, "compute"), "not in the deploy's scope");
	cr_assert_eq(rt_of("api", LEDGER_RT_DOCKER)->ngood, 0, "docker untouched");
	cr_assert_eq(st->inflight.op, 0);
	cr_assert_eq(st->last_op, op);
	cr_assert_eq(st->counters.ops, 1);
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_SUCCEEDED], 1);
	cr_assert_str_eq(st->checkout_commit, "c1");
	cr_assert_str_eq(st->checkout_ref, "main");
}

Test(reducer, inflight_tracks_the_operation)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_STARTED};
	uint64_t op = request("deploy", "c9", "c8", LEDGER_RT_DOCKER, 3, 0);

	cr_assert_eq(st->inflight.op, op);
	cr_assert_str_eq(st->inflight.kind, "deploy");
	cr_assert_eq(st->inflight.runtime, LEDGER_RT_DOCKER);
	cr_assert_str_eq(st->inflight.actor, "alice@vps");
	cr_assert_eq(st->inflight.pid, 12);
	cr_assert_str_eq(st->inflight.commit, "c9");
	cr_assert_str_eq(st->inflight.prev_commit, "c8");
	cr_assert_eq(st->inflight.nservices, 3);
	cr_assert_eq(st->nservices, 3, "services of a request are registered");
	cr_assert_eq(st->services[0].owner, -1);
	ev.op = op;
	ev.u.phase.name = "rollout";
	apply(&ev);
	cr_assert_str_eq(st->inflight.phase, "rollout");
	ev.op = op + 100; /* another operation's phase does not count */
	ev.u.phase.name = "verify";
	apply(&ev);
	cr_assert_str_eq(st->inflight.phase, "rollout");
	/* git.moved of the operation updates what it deploys; a unit restarted without a
	 * commit runs the operation's commit */
	moved(op, "c10");
	cr_assert_str_eq(st->inflight.commit, "c10");
	restart(op, "api", LEDGER_RT_DOCKER, NULL);
	cr_assert_str_eq(rt_of("api", LEDGER_RT_DOCKER)->commit, "c10");
	cr_assert_not(rt_of("api", LEDGER_RT_DOCKER)->healthy);
	restart(0, "web", LEDGER_RT_DOCKER, NULL);
	cr_assert_str_eq(rt_of("web", LEDGER_RT_DOCKER)->commit, "c10", "checkout commit");
	restart(op, "web", LEDGER_RT_DOCKER, "explicit");
	cr_assert_str_eq(rt_of("web", LEDGER_RT_DOCKER)->commit, "explicit");
	health(op, "web", LEDGER_RT_DOCKER, false);
	cr_assert(st->inflight.verify_failed);
}

Test(reducer, verify_phase_failure_marks_the_operation)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_FINISHED};
	uint64_t op = request("deploy", "c1", "", 0, 1, 0);

	ev.op = op;
	ev.u.phase.name = "rollout";
	ev.u.phase.ok = false;
	apply(&ev);
	cr_assert_not(st->inflight.verify_failed, "only verify phases");
	ev.u.phase.name = "public-verify";
	apply(&ev);
	cr_assert(st->inflight.verify_failed);
}

Test(reducer, good_list_order_and_depth)
{
	char c[16];

	deploy_ok("A", 0, 1);
	deploy_ok("B", 0, 1);
	deploy_ok("C", 0, 1);
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "C");
	cr_assert_str_eq(rt_of("web", 0)->good[1].commit, "B");
	cr_assert_str_eq(rt_of("web", 0)->good[2].commit, "A");
	deploy_ok("A", 0, 1); /* moves to the front, not duplicated */
	cr_assert_eq(rt_of("web", 0)->ngood, 3);
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "A");
	cr_assert_str_eq(rt_of("web", 0)->good[1].commit, "C");
	cr_assert_str_eq(rt_of("web", 0)->good[2].commit, "B");
	for (int i = 0; i < LEDGER_GOOD_DEPTH + 2; i++) {
		snprintf(c, sizeof(c), "N%d", i);
		deploy_ok(c, 0, 1);
	}
	cr_assert_eq(rt_of("web", 0)->ngood, LEDGER_GOOD_DEPTH);
	snprintf(c, sizeof(c), "N%d", LEDGER_GOOD_DEPTH + 1);
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, c);
	cr_assert_str_eq(rt_of("web", 0)->good[LEDGER_GOOD_DEPTH - 1].commit, "N2",
			 "oldest dropped");
}

Test(reducer, nested_auto_rollback)
{
	uint64_t d, r;
	const struct ledger_quarantine *q;

	deploy_ok("G", 0, 2);
	d = request("deploy", "X", "G", 0, 2, 0);
	moved(d, "X");
	restart(d, "web", 0, NULL);
	restart(d, "api", 0, NULL);
	health(d, "web", 0, true);
	health(d, "api", 0, false);
	cr_assert(st->inflight.verify_failed);

	r = request("rollback", "G", "X", 0, 2, d);
	cr_assert_eq(st->inflight.op, r, "the rollback runs");
	cr_assert_eq(st->parent.op, d, "nested under the deploy");
	cr_assert(st->parent.verify_failed);
	moved(r, "G");
	restart(r, "web", 0, NULL);
	restart(r, "api", 0, NULL);
	health(r, "web", 0, true);
	health(r, "api", 0, true);
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");

	cr_assert_eq(st->inflight.op, d, "the deploy runs again");
	cr_assert_eq(st->parent.op, 0);
	q = ledger_state_quarantined(st, "X");
	cr_assert_not_null(q, "the reverted commit is quarantined");
	cr_assert_eq(q->op, d);
	cr_assert_eq(q->rollback_op, r);
	cr_assert_str_eq(rt_of("api", 0)->commit, "G");
	cr_assert_str_eq(rt_of("api", 0)->good[0].commit, "G");
	cr_assert_eq(rt_of("api", 0)->good[0].op, r);

	finish(d, LEDGER_OUT_ROLLED_BACK, r, "verify failed: api unhealthy");
	cr_assert_eq(st->inflight.op, 0);
	cr_assert_eq(st->nquarantine, 1, "updated, not duplicated");
	q = ledger_state_quarantined(st, "X");
	cr_assert_str_eq(q->reason, "verify failed: api unhealthy");
	cr_assert_eq(q->rollback_op, r);
	cr_assert_eq(rt_of("web", 0)->ngood, 1, "X never became good");
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_ROLLED_BACK], 1);
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_SUCCEEDED], 2);
	cr_assert_eq(st->counters.ops, 3);
}

Test(reducer, manual_rollback_quarantines_and_removes_from_good)
{
	uint64_t a, b, r;

	a = deploy_ok("A", 1, 3);
	b = deploy_ok("B", 1, 3);
	cr_assert_str_eq(rt_of("compute", 1)->good[0].commit, "B");
	r = request("rollback", "A", "B", 1, 3, b);
	cr_assert_eq(st->parent.op, 0, "nothing to nest under");
	for (int i = 0; i < 3; i++)
		restart(r, all[i], 1, "A");
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(rt_of(all[i], 1)->ngood, 1);
		cr_assert_str_eq(rt_of(all[i], 1)->good[0].commit, "A");
		cr_assert_eq(rt_of(all[i], 1)->good[0].op, r);
	}
	cr_assert_not_null(ledger_state_quarantined(st, "B"));
	cr_assert_eq(ledger_state_quarantined(st, "B")->op, b);
	cr_assert_eq(ledger_state_quarantined(st, "B")->rollback_op, r);
	cr_assert(strstr(ledger_state_quarantined(st, "B")->reason, "rolled back by operation"));
	cr_assert_null(ledger_state_quarantined(st, "A"));
	(void)a;
}

/* A rollback of this shiplog: numbered, reason given, with the "service=commit" it rolls away
 * from. */
static uint64_t rollback_request(const char *commit, const char *prev, unsigned n,
				 const char *const *svcs, const char *const *from, unsigned nfrom,
				 uint64_t reverts, const char *why)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};

	ev.u.op_requested.kind = "rollback";
	ev.u.op_requested.commit = commit;
	ev.u.op_requested.prev_commit = prev;
	ev.u.op_requested.services = (struct ledger_strv){n, (const char **)svcs};
	ev.u.op_requested.reverts = reverts;
	ev.u.op_requested.reason = why;
	ev.u.op_requested.number = st->counters.ops + 1;
	ev.u.op_requested.from = (struct ledger_strv){nfrom, (const char **)from};
	return apply(&ev);
}

/* A workers-only deploy of W after a full deploy of A, then a manual `rollback --to` of the
 * worker: the worker ran W, the checkout is W too, but web still runs A. Only what the worker
 * ran is quarantined, and the reason says it was by hand. */
Test(reducer, scoped_manual_rollback_quarantines_what_its_services_ran)
{
	static const char *const compute[] = {"compute"}, *const from_w[] = {"compute=W"};
	uint64_t a, w, r;
	const struct ledger_quarantine *q;

	a = deploy_ok("A", 0, 3);
	w = request("deploy", "W", "A", 0, 0, 0);
	moved(w, "W");
	restart(w, "compute", 0, NULL);
	finish(w, LEDGER_OUT_SUCCEEDED, 0, "");
	/* a later web-only deploy moves the checkout to V: the rollback's prev_commit is V */
	w = request("deploy", "V", "W", 0, 1, 0);
	moved(w, "V");
	restart(w, "web", 0, NULL);
	finish(w, LEDGER_OUT_SUCCEEDED, 0, "");
	r = rollback_request("A", "V", 1, compute, from_w, 1, w, "manual");
	moved(r, "A");
	restart(r, "compute", 0, "A");
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");
	q = ledger_state_quarantined(st, "W");
	cr_assert_not_null(q, "what the worker ran is quarantined");
	cr_assert_null(ledger_state_quarantined(st, "V"), "web's verified commit is not");
	cr_assert_eq(q->rollback_op, r);
	{
		char want[128];

		snprintf(want, sizeof(want),
			 "rolled back by hand by alice@vps (operation 4, seq:%llu)",
			 (unsigned long long)r);
		cr_assert_str_eq(q->reason, want);
	}
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "V", "web keeps its last-good");
	cr_assert_str_eq(rt_of("compute", 0)->good[0].commit, "A");
	(void)a;
}

/* The automatic rollback says its number; services that already run their target roll away
 * from nothing; a commit another service of the rollback still runs is not quarantined. */
Test(reducer, rollback_from_list_rules)
{
	static const char *const two[] = {"web", "api"};
	static const char *const from[] = {"web=B", "api=A"};
	uint64_t b, d, r;
	const struct ledger_quarantine *q;

	deploy_ok("A", 0, 2);
	b = deploy_ok("B", 0, 1); /* web runs B, api A */
	d = request("deploy", "C", "B", 0, 2, 0);
	restart(d, "web", 0, "C");
	r = rollback_request("B", "C", 1, two, (const char *const[]){"web=C"}, 1, d, "auto");
	restart(r, "web", 0, "B");
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");
	q = ledger_state_quarantined(st, "C");
	cr_assert_not_null(q);
	{
		char want[128];

		snprintf(want, sizeof(want), "rolled back by operation 4 (seq:%llu)",
			 (unsigned long long)r);
		cr_assert_str_eq(q->reason, want);
	}
	finish(d, LEDGER_OUT_ROLLED_BACK, r, "verify failed");

	/* web B -> A, api stays at A: A is not quarantined, B is */
	r = rollback_request("A", "B", 2, two, from, 2, b, "manual");
	restart(r, "web", 0, "A");
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");
	cr_assert_not_null(ledger_state_quarantined(st, "B"));
	cr_assert_null(ledger_state_quarantined(st, "A"));
}

/* quarantine.lifted takes a commit out of the quarantine and nothing else. */
Test(reducer, quarantine_lifted)
{
	struct ledger_event ev = {.type = LEDGER_EV_QUARANTINE_LIFTED};
	uint64_t b, r, events;

	deploy_ok("A", 0, 3);
	b = deploy_ok("B", 0, 3);
	r = request("rollback", "A", "B", 0, 3, b);
	for (int i = 0; i < 3; i++)
		restart(r, all[i], 0, "A");
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");
	cr_assert_not_null(ledger_state_quarantined(st, "B"));
	events = st->counters.events;
	ev.u.quarantine_lifted.commit = "B";
	ev.u.quarantine_lifted.reason = "fixed in the config";
	apply(&ev);
	cr_assert_null(ledger_state_quarantined(st, "B"));
	cr_assert_eq(st->nquarantine, 0);
	cr_assert_eq(st->counters.events, events + 1);
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "A", "good lists unchanged");
	/* lifting what is not there changes nothing else */
	ev.u.quarantine_lifted.commit = "Z";
	apply(&ev);
	cr_assert_eq(st->nquarantine, 0);
}

Test(reducer, rolled_back_quarantines_its_commit)
{
	uint64_t d;

	deploy_ok("A", 0, 1);
	deploy_ok("B", 0, 1);
	d = request("deploy", "C", "B", 0, 1, 0);
	restart(d, "web", 0, NULL);
	finish(d, LEDGER_OUT_SUCCEEDED, 0, ""); /* C is good for a moment */
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "C");
	d = request("deploy", "C", "C", 0, 1, 0);
	finish(d, LEDGER_OUT_ROLLED_BACK, 99, "soak failed");
	cr_assert_not_null(ledger_state_quarantined(st, "C"));
	cr_assert_eq(ledger_state_quarantined(st, "C")->rollback_op, 99);
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "B", "C removed from the good list");
}

Test(reducer, a_commit_that_passes_verify_again_leaves_quarantine)
{
	uint64_t b, r, d;

	deploy_ok("A", 0, 3);
	b = deploy_ok("B", 0, 3);
	r = request("rollback", "A", "B", 0, 3, b);
	for (int i = 0; i < 3; i++)
		restart(r, all[i], 0, "A");
	finish(r, LEDGER_OUT_SUCCEEDED, 0, "");
	cr_assert_not_null(ledger_state_quarantined(st, "B"));

	/* a failed (forced) deploy of B keeps it quarantined ... */
	d = request("deploy", "B", "A", 0, 3, 0);
	restart(d, "web", 0, "B");
	finish(d, LEDGER_OUT_FAILED, 0, "verify failed");
	cr_assert_not_null(ledger_state_quarantined(st, "B"));
	/* ... one that passes verify lifts it */
	d = request("deploy", "B", "A", 0, 3, 0);
	for (int i = 0; i < 3; i++)
		restart(d, all[i], 0, "B");
	finish(d, LEDGER_OUT_SUCCEEDED, 0, "");
	cr_assert_null(ledger_state_quarantined(st, "B"), "B proved good again");
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "B");
}

Test(reducer, failed_and_interrupted_change_nothing_but_counters)
{
	uint64_t d;

	deploy_ok("A", 0, 1);
	d = request("deploy", "B", "A", 0, 1, 0);
	restart(d, "web", 0, NULL);
	finish(d, LEDGER_OUT_FAILED, 0, "build failed");
	d = request("deploy", "C", "B", 0, 1, 0);
	finish(d, LEDGER_OUT_INTERRUPTED, 0, "");
	cr_assert_str_eq(rt_of("web", 0)->good[0].commit, "A");
	cr_assert_eq(rt_of("web", 0)->ngood, 1);
	cr_assert_eq(st->nquarantine, 0);
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_FAILED], 1);
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_INTERRUPTED], 1);
	cr_assert_eq(st->inflight.op, 0);
	/* an op.finished of an unknown operation only counts the event */
	finish(12345, LEDGER_OUT_SUCCEEDED, 0, "");
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_SUCCEEDED], 1);
}

Test(reducer, refusals)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED};
	uint64_t d, s;

	ev.u.op_refused.req.kind = "deploy";
	ev.u.op_refused.reason = "edge";
	s = apply(&ev);
	cr_assert_eq(ev.op, s, "standalone");
	cr_assert_eq(st->counters.ops, 1);
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_REFUSED], 1);
	cr_assert_eq(st->last_op, s);
	cr_assert_eq(st->inflight.op, 0);

	d = request("deploy", "B", "A", 0, 1, 0);
	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_OP_REFUSED;
	ev.op = d;
	ev.u.op_refused.reason = "dirty tree";
	apply(&ev);
	cr_assert_eq(st->inflight.op, 0, "terminal for the operation");
	cr_assert_eq(st->counters.ops, 2);
	cr_assert_eq(st->counters.outcome[LEDGER_OUT_REFUSED], 2);
}

Test(reducer, finishing_the_parent_closes_both)
{
	uint64_t d, r;

	d = request("deploy", "X", "G", 0, 1, 0);
	r = request("rollback", "G", "X", 0, 1, d);
	cr_assert_eq(st->parent.op, d);
	finish(d, LEDGER_OUT_INTERRUPTED, 0, "");
	cr_assert_eq(st->inflight.op, 0);
	cr_assert_eq(st->parent.op, 0);
	(void)r;
	/* a rollback that reverts something else does not nest */
	d = request("deploy", "Y", "G", 0, 1, 0);
	r = request("rollback", "G", "Y", 0, 1, d - 1);
	cr_assert_eq(st->parent.op, 0);
	cr_assert_eq(st->inflight.op, r);
}

Test(reducer, owner_health_observed_unknown)
{
	struct ledger_event ev = {.type = LEDGER_EV_OWNER_CHANGED};

	ev.u.owner_changed.service = "web";
	ev.u.owner_changed.to = "docker";
	apply(&ev);
	cr_assert_eq(ledger_state_service(st, "web")->owner, LEDGER_RT_DOCKER);
	ev.u.owner_changed.to = "";
	apply(&ev);
	cr_assert_eq(ledger_state_service(st, "web")->owner, -1);

	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_UNIT_OBSERVED;
	ev.u.unit_observed.service = "web";
	ev.u.unit_observed.active_state = "active";
	apply(&ev);
	cr_assert(rt_of("web", 0)->healthy);
	ev.u.unit_observed.active_state = "failed";
	apply(&ev);
	cr_assert_not(rt_of("web", 0)->healthy);
	ev.u.unit_observed.service = "ghost";
	apply(&ev);
	cr_assert_null(ledger_state_service(st, "ghost"), "observations do not register");

	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_UNKNOWN;
	ev.type_name = "future.thing";
	apply(&ev);
	cr_assert_eq(st->counters.unknown_events, 1);
	cr_assert_eq(st->counters.events, 6);
}

Test(reducer, full_tables)
{
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_RESTARTED};
	struct ledger_state *before = malloc(sizeof(*before));
	const char *names[1];
	char name[32];
	int rc;

	for (int i = 0; i < LEDGER_MAX_SERVICES; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		ev.op = 0;
		ev.u.unit_restarted.service = name;
		apply(&ev);
	}
	cr_assert_eq(st->nservices, LEDGER_MAX_SERVICES);
	memcpy(before, st, sizeof(*before));
	ev.seq = st->seq + 1;
	ev.u.unit_restarted.service = "one-too-many";
	cr_assert_eq(ledger_state_apply(st, &ev), LEDGER_EFULL);
	cr_assert_eq(memcmp(before, st, sizeof(*before)), 0, "unchanged on error");

	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_OP_REQUESTED;
	ev.seq = ev.op = st->seq + 1;
	ev.actor = "a";
	ev.u.op_requested.kind = "deploy";
	names[0] = "another";
	ev.u.op_requested.services = (struct ledger_strv){1, names};
	rc = ledger_state_apply(st, &ev);
	cr_assert_eq(rc, LEDGER_EFULL);
	cr_assert_eq(memcmp(before, st, sizeof(*before)), 0, "unchanged on error");
	free(before);
}

Test(reducer, quarantine_full_drops_oldest)
{
	char c[16];

	for (int i = 0; i < LEDGER_MAX_QUARANTINE + 3; i++) {
		uint64_t d;

		snprintf(c, sizeof(c), "Q%d", i);
		d = request("deploy", c, "", 0, 1, 0);
		finish(d, LEDGER_OUT_ROLLED_BACK, 0, "bad");
	}
	cr_assert_eq(st->nquarantine, LEDGER_MAX_QUARANTINE);
	cr_assert_null(ledger_state_quarantined(st, "Q0"));
	cr_assert_null(ledger_state_quarantined(st, "Q2"));
	cr_assert_not_null(ledger_state_quarantined(st, "Q3"));
	snprintf(c, sizeof(c), "Q%d", LEDGER_MAX_QUARANTINE + 2);
	cr_assert_str_eq(st->quarantine[LEDGER_MAX_QUARANTINE - 1].commit, c);
}

/* The generated history replayed from scratch equals the nearest snapshot + tail at every
 * cut point, through a fresh handle (no cache) and the appending one. */
Test(reducer, replay_equals_snapshot_plus_tail, .timeout = 120)
{
	struct ledger_options o = {.snapshot_every = 7};
	char *dir = tl_mkdtemp("replay");
	struct ledger_state *replay = calloc(1, sizeof(*replay));
	struct ledger_state *at = calloc(1, sizeof(*at));
	struct ledger *lg;
	struct ledger_iter *it;
	const struct ledger_event *ev;
	struct gen g;
	uint64_t last, checked = 0;
	int rc;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);
	gen_init(&g, lg, 7);
	while (g.events < 3000)
		gen_op(&g);
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, g.events);

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) { /* a fresh handle: snapshots only, no cache */
			ledger_close(lg);
			cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, &o), 0);
		}
		ledger_state_init(replay);
		cr_assert_eq(ledger_iter_new(lg, LEDGER_FORWARD, 0, &it), 0);
		while ((rc = ledger_iter_next(it, &ev)) == 1) {
			cr_assert_eq(ledger_state_apply(replay, ev), 0, "seq %llu",
				     (unsigned long long)ev->seq);
			cr_assert_eq(ledger_state_at(lg, ev->seq, at), 0, "%s", ledger_errmsg(lg));
			cr_assert(ledger_state_equal(replay, at), "state at %llu differs",
				  (unsigned long long)ev->seq);
			if (ev->seq % 97 == 0 || ev->seq == last) {
				/* the lazy replay from scratch (count-only events not decoded) */
				cr_assert_eq(ledger_replay(lg, ev->seq, at), 0, "%s",
					     ledger_errmsg(lg));
				cr_assert(ledger_state_equal(replay, at),
					  "ledger_replay to %llu differs",
					  (unsigned long long)ev->seq);
			}
			checked++;
		}
		cr_assert_eq(rc, 0);
		ledger_iter_free(it);
	}
	cr_assert_eq(checked, 2 * last);
	cr_assert_eq(ledger_state_at(lg, UINT64_MAX, at), 0);
	cr_assert(ledger_state_equal(replay, at));
	/* the history exercised what it should */
	cr_assert_gt(replay->counters.outcome[LEDGER_OUT_ROLLED_BACK], 0);
	cr_assert_gt(replay->counters.outcome[LEDGER_OUT_REFUSED], 0);
	cr_assert_gt(replay->counters.outcome[LEDGER_OUT_INTERRUPTED], 0);
	cr_assert_gt(replay->counters.unknown_events, 0);
	cr_assert_gt(replay->nquarantine, 0);
	cr_assert_eq(ledger_state_at(lg, last + 1, at), LEDGER_ENOTFOUND);
	cr_assert_eq(ledger_replay(lg, last + 1, at), LEDGER_ENOTFOUND);
	cr_assert_eq(ledger_state_at(lg, 0, at), 0);
	cr_assert_eq(at->seq, 0);
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
	free(replay);
	free(at);
}

static void owner(uint64_t op, const char *svc, const char *from, const char *to,
		  const char *commit)
{
	struct ledger_event ev = {.type = LEDGER_EV_OWNER_CHANGED, .op = op};

	ev.u.owner_changed.service = svc;
	ev.u.owner_changed.from = from;
	ev.u.owner_changed.to = to;
	ev.u.owner_changed.commit = commit;
	apply(&ev);
}

/* A cut-over (owner.changed with the commit) is what owner_op remembers; the stop before it and
 * the put-back of a failed one leave it; a take-over or a restart by another runtime clear it. */
Test(reducer, owner_op_remembers_the_cut_over)
{
	uint64_t d, c, f;

	d = deploy_ok("c1", LEDGER_RT_DOCKER, 3);
	cr_assert_eq(ledger_state_service(st, "compute")->owner_op, 0);
	c = request("cutover", "c1", "c1", LEDGER_RT_NATIVE, 3, 0);
	owner(c, "compute", "docker", "", "");
	restart(c, "compute", LEDGER_RT_NATIVE, "c1");
	health(c, "compute", LEDGER_RT_NATIVE, true);
	owner(c, "compute", "docker", "native", "c1");
	finish(c, LEDGER_OUT_SUCCEEDED, 0, "");
	cr_assert_eq(ledger_state_service(st, "compute")->owner, LEDGER_RT_NATIVE);
	cr_assert_eq(ledger_state_service(st, "compute")->owner_op, c);
	cr_assert_eq(rt_of("compute", LEDGER_RT_NATIVE)->good[0].op, c);

	/* a failed cut-over back, put back: the owner and owner_op are as before */
	f = request("cutover", "c1", "c1", LEDGER_RT_DOCKER, 3, 0);
	owner(f, "compute", "native", "", "");
	restart(f, "compute", LEDGER_RT_DOCKER, "c1");
	health(f, "compute", LEDGER_RT_DOCKER, false);
	owner(f, "compute", "docker", "", "");
	restart(f, "compute", LEDGER_RT_NATIVE, "c1");
	owner(f, "compute", "", "native", "");
	finish(f, LEDGER_OUT_FAILED, 0, "x");
	cr_assert_eq(ledger_state_service(st, "compute")->owner, LEDGER_RT_NATIVE);
	cr_assert_eq(ledger_state_service(st, "compute")->owner_op, c);

	/* a take-over to docker clears it */
	owner(d, "compute", "native", "docker", "");
	cr_assert_eq(ledger_state_service(st, "compute")->owner_op, 0);
	/* and so does a restart by another runtime after a cut-over */
	owner(c, "api", "docker", "native", "c1");
	cr_assert_eq(ledger_state_service(st, "api")->owner_op, c);
	restart(d, "api", LEDGER_RT_DOCKER, "c1");
	cr_assert_eq(ledger_state_service(st, "api")->owner_op, 0);
}
