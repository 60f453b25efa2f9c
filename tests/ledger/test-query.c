/* SPDX-License-Identifier: MIT */
/* Queries over a hand-made ledger with known answers: iterators, seek_time, op_events,
 * state_at, history with every filter, stats; and history/state cost on a larger ledger. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger-gen.h"
#include "ledger/ledger.h"
#include "testlib.h"

#define T0 1700000000000000000ll
#define SEC 1000000000ll
#define MS 1000000ll

static char *dir;
static struct ledger *lg;
static uint64_t A, X, B, R, C, last;

/* Each event at T0 + seq seconds, so times are known. */
static uint64_t put(struct ledger_event *ev)
{
	uint64_t seq;
	int rc;

	cr_assert_eq(ledger_last_seq(lg, &seq), 0);
	ev->time_ns = T0 + (int64_t)(seq + 1) * SEC;
	ev->actor = "alice@vps";
	rc = ledger_append(lg, ev, LEDGER_APPEND_NOSYNC, &seq);
	cr_assert_eq(rc, 0, "%s", ledger_errmsg(lg));
	last = seq;
	return seq;
}

static const char *svc_native[] = {"web", "api"};
static const char *svc_docker[] = {"compute"};

static uint64_t req(const char *kind, int rt, const char **sv, unsigned n, const char *commit,
		    const char *prev, uint64_t reverts)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};

	ev.u.op_requested.kind = kind;
	ev.u.op_requested.runtime = rt;
	ev.u.op_requested.services = (struct ledger_strv){n, sv};
	ev.u.op_requested.commit = commit;
	ev.u.op_requested.prev_commit = prev;
	ev.u.op_requested.reverts = reverts;
	return put(&ev);
}

static void phase(uint64_t op, const char *name, int64_t ms, bool ok)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_STARTED, .op = op};

	ev.u.phase.name = name;
	put(&ev);
	ev.type = LEDGER_EV_PHASE_FINISHED;
	ev.u.phase.duration_ns = ms * MS;
	ev.u.phase.ok = ok;
	put(&ev);
}

static void fin(uint64_t op, enum ledger_outcome o, int64_t ms, uint64_t rb, const char *err)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED, .op = op};

	ev.u.op_finished.outcome = o;
	ev.u.op_finished.duration_ns = ms * MS;
	ev.u.op_finished.rollback_op = rb;
	ev.u.op_finished.error = err;
	put(&ev);
}

static void restart(uint64_t op, const char *svc, int rt)
{
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_RESTARTED, .op = op};

	ev.u.unit_restarted.service = svc;
	ev.u.unit_restarted.runtime = rt;
	put(&ev);
}

static void setup(void)
{
	struct ledger_options o = {.snapshot_every = 4};
	struct ledger_event ev;

	dir = tl_mkdtemp("query");
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);

	A = req("deploy", LEDGER_RT_NATIVE, svc_native, 2, "a1", "", 0);
	phase(A, "precheck", 10, true);
	phase(A, "rollout", 100, true);
	restart(A, "web", 0);
	phase(A, "verify", 50, true);
	fin(A, LEDGER_OUT_SUCCEEDED, 200, 0, "");

	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_OP_REFUSED;
	ev.u.op_refused.req.kind = "deploy";
	ev.u.op_refused.req.runtime = LEDGER_RT_DOCKER;
	ev.u.op_refused.guard = "edge";
	ev.u.op_refused.reason = "edge roles need DEPLOY_NATIVE_EDGE_READY=1";
	X = put(&ev);

	B = req("deploy", LEDGER_RT_DOCKER, svc_docker, 1, "b1", "a1", 0);
	phase(B, "precheck", 20, true);
	phase(B, "rollout", 200, true);
	restart(B, "compute", 1);
	phase(B, "verify", 70, false);
	R = req("rollback", LEDGER_RT_DOCKER, svc_docker, 1, "a1", "b1", B);
	phase(R, "precheck", 5, true);
	phase(R, "rollout", 30, true);
	restart(R, "compute", 1);
	phase(R, "verify", 40, true);
	fin(R, LEDGER_OUT_SUCCEEDED, 100, 0, "");
	fin(B, LEDGER_OUT_ROLLED_BACK, 400, R, "verify failed");

	C = req("deploy", LEDGER_RT_NATIVE, svc_native, 1, "c1", "a1", 0);
	phase(C, "precheck", 15, true);
}

static void teardown(void)
{
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

TestSuite(query, .init = setup, .fini = teardown);

Test(query, iterators)
{
	struct ledger_iter *it;
	const struct ledger_event *ev;
	uint64_t seq, want;
	const uint8_t *buf;
	size_t len;

	cr_assert_eq(ledger_iter_new(lg, LEDGER_BACKWARD, 5, &it), 0);
	for (want = 5; ledger_iter_next(it, &ev) == 1; want--)
		cr_assert_eq(ev->seq, want);
	cr_assert_eq(want, 0);
	ledger_iter_free(it);

	cr_assert_eq(ledger_iter_new(lg, LEDGER_FORWARD, last - 2, &it), 0);
	for (want = last - 2; ledger_iter_next_raw(it, &seq, &buf, &len) == 1; want++) {
		cr_assert_eq(seq, want);
		cr_assert_gt(len, 0);
	}
	cr_assert_eq(want, last + 1);
	cr_assert_eq(ledger_iter_next(it, &ev), 0, "stays at the end");
	ledger_iter_free(it);

	cr_assert_eq(ledger_iter_new(lg, LEDGER_BACKWARD, last + 100, &it), 0);
	cr_assert_eq(ledger_iter_next(it, &ev), 1);
	cr_assert_eq(ev->seq, last, "backward past the end starts at the last");
	ledger_iter_free(it);
	cr_assert_eq(ledger_iter_new(lg, LEDGER_FORWARD, last + 1, &it), 0);
	cr_assert_eq(ledger_iter_next(it, &ev), 0);
	ledger_iter_free(it);
}

Test(query, seek_time)
{
	uint64_t seq;

	cr_assert_eq(ledger_seek_time(lg, T0, &seq), 0);
	cr_assert_eq(seq, 1);
	for (uint64_t k = 1; k <= last; k++) {
		cr_assert_eq(ledger_seek_time(lg, T0 + (int64_t)k * SEC, &seq), 0);
		cr_assert_eq(seq, k);
		cr_assert_eq(ledger_seek_time(lg, T0 + (int64_t)k * SEC - 1, &seq), 0);
		cr_assert_eq(seq, k);
	}
	cr_assert_eq(ledger_seek_time(lg, T0 + (int64_t)(last + 5) * SEC, &seq), 0);
	cr_assert_eq(seq, last + 1);
}

struct collect {
	uint64_t seqs[64];
	unsigned n;
	unsigned stop_after;
};

static int collect_fn(const struct ledger_event *ev, void *ud)
{
	struct collect *c = ud;

	c->seqs[c->n++] = ev->seq;
	return c->stop_after && c->n >= c->stop_after ? 1 : 0;
}

Test(query, op_events)
{
	struct collect c = {0};
	struct ledger_event ev;

	cr_assert_eq(ledger_op_events(lg, B, collect_fn, &c), 0);
	/* request, 3 phases x 2, restart, finish; none of R's events */
	cr_assert_eq(c.n, 9);
	cr_assert_eq(c.seqs[0], B);
	for (unsigned i = 0; i < c.n; i++) {
		cr_assert_eq(ledger_get(lg, c.seqs[i], &ev), 0);
		cr_assert_eq(ev.op, B);
		ledger_event_release(&ev);
	}
	cr_assert_eq(ledger_get(lg, c.seqs[c.n - 1], &ev), 0);
	cr_assert_eq(ev.type, LEDGER_EV_OP_FINISHED);
	ledger_event_release(&ev);

	memset(&c, 0, sizeof(c));
	cr_assert_eq(ledger_op_events(lg, X, collect_fn, &c), 0);
	cr_assert_eq(c.n, 1, "a standalone refusal is one event");

	memset(&c, 0, sizeof(c));
	cr_assert_eq(ledger_op_events(lg, C, collect_fn, &c), 0);
	cr_assert_eq(c.n, 3, "a running operation: up to the end");

	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	cr_assert_eq(ledger_op_events(lg, A, collect_fn, &c), 0);
	cr_assert_eq(c.n, 2, "the callback stops it");

	cr_assert_eq(ledger_op_events(lg, A + 1, collect_fn, &c), LEDGER_ENOTFOUND);
	cr_assert_eq(ledger_op_events(lg, last + 10, collect_fn, &c), LEDGER_ENOTFOUND);
}

Test(query, state_at_points)
{
	struct ledger_state *st = malloc(sizeof(*st));

	cr_assert_eq(ledger_state_at(lg, R - 1, st), 0);
	cr_assert_eq(st->inflight.op, B);
	cr_assert(st->inflight.verify_failed);
	cr_assert_eq(ledger_state_at(lg, R, st), 0);
	cr_assert_eq(st->inflight.op, R);
	cr_assert_eq(st->parent.op, B);
	cr_assert_eq(ledger_state_at(lg, C - 1, st), 0);
	cr_assert_eq(st->inflight.op, 0);
	cr_assert_not_null(ledger_state_quarantined(st, "b1"));
	cr_assert_str_eq(ledger_state_service(st, "compute")->rt[1].good[0].commit, "a1");
	cr_assert_eq(ledger_state_at(lg, UINT64_MAX, st), 0);
	cr_assert_eq(st->seq, last);
	cr_assert_eq(st->inflight.op, C);
	cr_assert_str_eq(st->inflight.phase, "precheck");
	free(st);
}

static void history(const struct ledger_history_filter *f, size_t limit, const uint64_t *want,
		    size_t nwant)
{
	struct ledger_op_summary *rows;
	size_t n;

	cr_assert_eq(ledger_history(lg, f, limit, &rows, &n), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(n, nwant, "%zu rows, want %zu", n, nwant);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(rows[i].op, want[i], "row %zu: op %llu, want %llu", i,
			     (unsigned long long)rows[i].op, (unsigned long long)want[i]);
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
}

Test(query, history_rows)
{
	struct ledger_op_summary *rows;
	size_t n;

	cr_assert_eq(ledger_history(lg, NULL, 0, &rows, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(rows[0].op, C);
	cr_assert_eq(rows[0].outcome, LEDGER_OUT_NONE);
	cr_assert_eq(rows[0].finished_ns, 0);
	cr_assert_eq(rows[1].op, R);
	cr_assert_eq(rows[1].outcome, LEDGER_OUT_SUCCEEDED);
	cr_assert_str_eq(rows[1].request.u.op_requested.kind, "rollback");
	cr_assert_eq(rows[2].op, B);
	cr_assert_eq(rows[2].outcome, LEDGER_OUT_ROLLED_BACK);
	cr_assert_eq(rows[2].rollback_op, R);
	cr_assert_str_eq(rows[2].error, "verify failed");
	cr_assert_eq(rows[2].started_ns, T0 + (int64_t)B * SEC);
	cr_assert_eq(rows[3].op, X);
	cr_assert(rows[3].refused);
	cr_assert_eq(rows[3].outcome, LEDGER_OUT_REFUSED);
	cr_assert(strstr(rows[3].error, "EDGE_READY"));
	cr_assert_eq(rows[3].request.type, LEDGER_EV_OP_REFUSED);
	cr_assert_eq(rows[4].op, A);
	cr_assert_eq(rows[4].outcome, LEDGER_OUT_SUCCEEDED);
	cr_assert_eq(rows[4].finished_ns, T0 + (int64_t)(X - 1) * SEC);
	cr_assert_str_eq(rows[4].request.u.op_requested.commit, "a1");
	/* operations are numbered 1, 2, 3 ... (the refusal counts), whatever their sequence */
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(rows[i].number, 5 - i, "row %zu (op %llu) has number %llu", i,
			     (unsigned long long)rows[i].op, (unsigned long long)rows[i].number);
	cr_assert_eq(rows[0].request.u.op_requested.number, 5, "append stored the number");
	cr_assert_eq(rows[3].request.u.op_refused.req.number, 2);
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	/* a filtered walk numbers its rows the same */
	{
		struct ledger_history_filter f = {.runtime = LEDGER_RT_DOCKER, .outcome = -1};

		cr_assert_eq(ledger_history(lg, &f, 0, &rows, &n), 0);
		cr_assert_eq(n, 3);
		cr_assert_eq(rows[0].number, 4);
		cr_assert_eq(rows[1].number, 3);
		cr_assert_eq(rows[2].number, 2);
		for (size_t i = 0; i < n; i++)
			ledger_op_summary_release(&rows[i]);
		free(rows);
	}
}

Test(query, op_numbers)
{
	const uint64_t ops[] = {A, X, B, R, C};
	uint64_t v;

	for (uint64_t i = 0; i < 5; i++) {
		cr_assert_eq(ledger_op_number(lg, ops[i], &v), 0, "%s", ledger_errmsg(lg));
		cr_assert_eq(v, i + 1, "op %llu: number %llu", (unsigned long long)ops[i],
			     (unsigned long long)v);
		cr_assert_eq(ledger_op_by_number(lg, i + 1, &v), 0, "%s", ledger_errmsg(lg));
		cr_assert_eq(v, ops[i], "number %llu: op %llu", (unsigned long long)i + 1,
			     (unsigned long long)v);
	}
	cr_assert_eq(ledger_op_by_number(lg, 6, &v), LEDGER_ENOTFOUND);
	cr_assert_eq(ledger_op_number(lg, A + 1, &v), LEDGER_ENOTFOUND, "not an operation");
	cr_assert_eq(ledger_op_number(lg, last + 5, &v), LEDGER_ENOTFOUND);
}

static int count_events(const struct ledger_event *ev, void *ud)
{
	(void)ev;
	(*(size_t *)ud)++;
	return 0;
}

/* A fleet operation (a numbered fleet.started ... fleet.finished) is numbered among the others,
 * listed by history when the filter asks for fleet operations (and only then), left out of
 * stats, and its events are found by op_events; the snapshots agree with the replay. */
Test(query, fleet_operations_are_numbered)
{
	const char *target[] = {"main"}, *hosts[] = {"h1=1", "h2=2"}, *runs[] = {"h1=f1", "h2=f1"};
	struct ledger_event ev = {.type = LEDGER_EV_FLEET_STARTED};
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1, .fleet = true};
	struct ledger_op_summary *rows = NULL;
	struct ledger_verify_report rep;
	struct ledger_stats st;
	uint64_t F, D, v, before;
	size_t n = 0, seen = 0;

	cr_assert_eq(ledger_stats(lg, NULL, 0, &st), 0);
	before = st.ops;
	ev.u.fleet_started.kind = "deploy";
	ev.u.fleet_started.target = (struct ledger_strv){1, target};
	ev.u.fleet_started.hosts = (struct ledger_strv){2, hosts};
	ev.u.fleet_started.retries = 3; /* its key "rt" is not a request's runtime */
	F = put(&ev);
	cr_assert_eq(ev.u.fleet_started.number, 6, "append numbers it: %llu",
		     (unsigned long long)ev.u.fleet_started.number);
	ev = (struct ledger_event){.type = LEDGER_EV_FLEET_HOST, .op = F};
	ev.u.fleet_host.host = "h1";
	ev.u.fleet_host.wave = 1;
	ev.u.fleet_host.action = "deploy";
	ev.u.fleet_host.host_op = 12;
	ev.u.fleet_host.outcome = "succeeded";
	ev.u.fleet_host.commit = "f1";
	put(&ev);
	ev = (struct ledger_event){.type = LEDGER_EV_FLEET_FINISHED, .op = F};
	ev.u.fleet_finished.outcome = "succeeded";
	ev.u.fleet_finished.commit = "f1";
	ev.u.fleet_finished.runs = (struct ledger_strv){2, runs};
	ev.u.fleet_finished.duration_ns = 3 * SEC;
	put(&ev);
	D = req("deploy", LEDGER_RT_NATIVE, svc_native, 2, "d1", "c1", 0);

	cr_assert_eq(ledger_op_number(lg, F, &v), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(v, 6);
	cr_assert_eq(ledger_op_by_number(lg, 6, &v), 0);
	cr_assert_eq(v, F);
	cr_assert_eq(ledger_op_number(lg, D, &v), 0);
	cr_assert_eq(v, 7, "the next operation counts the fleet one: %llu", (unsigned long long)v);

	cr_assert_eq(ledger_history(lg, &f, 3, &rows, &n), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(n, 3);
	cr_assert_eq(rows[0].op, D);
	cr_assert_eq(rows[0].number, 7);
	cr_assert_eq(rows[1].op, F);
	cr_assert_eq(rows[1].number, 6);
	cr_assert_eq(rows[1].request.type, LEDGER_EV_FLEET_STARTED);
	cr_assert_eq(rows[1].outcome, LEDGER_OUT_SUCCEEDED, "fleet.finished ends it");
	cr_assert_eq(rows[1].finished_ns - rows[1].started_ns, 2 * SEC);
	cr_assert_eq(rows[2].op, C);
	cr_assert_eq(rows[2].number, 5);
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);

	/* without .fleet (and with a kind or runtime filter) it is not one of the rows */
	f.fleet = false;
	cr_assert_eq(ledger_history(lg, &f, 0, &rows, &n), 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert_neq(rows[i].op, F);
		ledger_op_summary_release(&rows[i]);
	}
	free(rows);
	f = (struct ledger_history_filter){
	    .runtime = LEDGER_RT_NATIVE, .outcome = -1, .fleet = true};
	cr_assert_eq(ledger_history(lg, &f, 0, &rows, &n), 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert_neq(rows[i].op, F);
		ledger_op_summary_release(&rows[i]);
	}
	free(rows);

	f = (struct ledger_history_filter){
	    .runtime = -1, .outcome = -1, .kind = "fleet", .fleet = true};
	cr_assert_eq(ledger_history(lg, &f, 0, &rows, &n), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(n, 1, "--kind fleet: the fleet operation alone");
	cr_assert_eq(rows[0].op, F);
	ledger_op_summary_release(&rows[0]);
	free(rows);

	cr_assert_eq(ledger_stats(lg, NULL, 0, &st), 0);
	cr_assert_eq(st.ops, before + 1, "stats count this ledger's deploys, not the fleet one");
	cr_assert_eq(ledger_stats_summary(lg, &st), 0);
	cr_assert_eq(st.ops, 6, "the summary too: 5 + D, not F (%llu)", (unsigned long long)st.ops);
	cr_assert_eq(st.outcome[LEDGER_OUT_NONE], 2, "C and D still run");
	cr_assert_eq(ledger_op_events(lg, F, count_events, &seen), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(seen, 3, "fleet.started, fleet.host, fleet.finished: %zu", seen);
	cr_assert_eq(ledger_verify(lg, &rep), 0, "%s", rep.detail);
}

static double cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Numbers agree with a forward count on a generated ledger with snapshots, and a lookup costs
 * a snapshot interval, not the ledger. */
Test(query, op_numbers_on_a_larger_ledger, .timeout = 120)
{
	struct ledger_options o = {.snapshot_every = 1000};
	char *big = tl_mkdtemp("opnum");
	struct ledger_iter *it;
	const struct ledger_event *ev;
	struct ledger *b;
	struct gen g;
	uint64_t count = 0, v, checked = 0, lastop = 0;
	double t, scan, lookups;
	int rc;

	cr_assert_eq(ledger_open(&b, big, LEDGER_OPEN_CREATE, &o), 0);
	gen_init(&g, b, 7);
	while (g.events < 20000)
		gen_op(&g);
	t = cpu_ms();
	cr_assert_eq(ledger_iter_new(b, LEDGER_FORWARD, 0, &it), 0);
	while ((rc = ledger_iter_next(it, &ev)) > 0) {
		const struct ledger_op_requested *req =
		    ev->type == LEDGER_EV_OP_REQUESTED			    ? &ev->u.op_requested
		    : ev->type == LEDGER_EV_OP_REFUSED && ev->op == ev->seq ? &ev->u.op_refused.req
									    : NULL;
		if (!req)
			continue;
		count++;
		lastop = ev->seq;
		cr_assert_eq(req->number, count, "event %llu", (unsigned long long)ev->seq);
		if (count % 97 == 0) {
			cr_assert_eq(ledger_op_number(b, ev->seq, &v), 0);
			cr_assert_eq(v, count);
			cr_assert_eq(ledger_op_by_number(b, count, &v), 0);
			cr_assert_eq(v, ev->seq);
			checked++;
		}
	}
	ledger_iter_free(it);
	scan = cpu_ms() - t;
	cr_assert_eq(rc, 0);
	cr_assert_gt(checked, 10);
	/* a lookup is an index read, not a scan: CPU time against the scan above (which also did
	 * ~200 lookups), no absolute budget */
	t = cpu_ms();
	cr_assert_eq(ledger_op_by_number(b, count, &v), 0);
	cr_assert_eq(ledger_op_number(b, lastop, &v), 0);
	lookups = cpu_ms() - t;
	cr_log_info("op number lookups over %llu events: %.3f ms CPU (scan %.3f ms)",
		    (unsigned long long)g.events, lookups, scan);
	cr_assert_lt(lookups, scan / 4, "two lookups cost %.3f ms of a %.3f ms scan", lookups,
		     scan);
	ledger_close(b);
	tl_rmrf(big);
	free(big);
}

Test(query, history_filters)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	uint64_t all[] = {C, R, B, X, A};

	history(&f, 2, all, 2);
	f.kind = "rollback";
	history(&f, 0, (uint64_t[]){R}, 1);
	f.kind = NULL;
	f.service = "compute";
	history(&f, 0, (uint64_t[]){R, B}, 2);
	f.service = NULL;
	f.runtime = LEDGER_RT_NATIVE;
	history(&f, 0, (uint64_t[]){C, A}, 2);
	f.runtime = -1;
	f.outcome = LEDGER_OUT_REFUSED;
	history(&f, 0, (uint64_t[]){X}, 1);
	f.outcome = LEDGER_OUT_NONE;
	history(&f, 0, (uint64_t[]){C}, 1);
	f.outcome = LEDGER_OUT_SUCCEEDED;
	history(&f, 1, (uint64_t[]){R}, 1);
	f.outcome = -1;
	f.since_ns = T0 + (int64_t)B * SEC;
	history(&f, 0, (uint64_t[]){C, R, B}, 3);
	f.since_ns = 0;
	f.until_ns = T0 + (int64_t)X * SEC;
	history(&f, 0, (uint64_t[]){X, A}, 2);
}

static const struct ledger_phase_stats *phase_of(const struct ledger_stats *s, const char *name)
{
	for (uint32_t i = 0; i < s->nphases; i++)
		if (strcmp(s->phases[i].phase, name) == 0)
			return &s->phases[i];
	cr_assert_fail("no phase %s", name);
	return NULL;
}

Test(query, stats)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	const struct ledger_phase_stats *p;
	struct ledger_stats s;

	cr_assert_eq(ledger_stats(lg, NULL, 0, &s), 0);
	cr_assert_eq(s.ops, 5);
	cr_assert_eq(s.outcome[LEDGER_OUT_SUCCEEDED], 2);
	cr_assert_eq(s.outcome[LEDGER_OUT_ROLLED_BACK], 1);
	cr_assert_eq(s.outcome[LEDGER_OUT_REFUSED], 1);
	cr_assert_eq(s.outcome[LEDGER_OUT_NONE], 1);
	cr_assert_eq(s.nphases, 4);
	cr_assert_str_eq(s.phases[0].phase, "precheck", "in the order operations run them");
	cr_assert_str_eq(s.phases[1].phase, "rollout");
	cr_assert_str_eq(s.phases[2].phase, "verify");
	cr_assert_str_eq(s.phases[3].phase, "total");
	p = phase_of(&s, "precheck");
	cr_assert_eq(p->count, 4);
	cr_assert_eq(p->p50_ns, 10 * MS);
	cr_assert_eq(p->p90_ns, 20 * MS);
	cr_assert_eq(p->p99_ns, 20 * MS);
	cr_assert_eq(p->max_ns, 20 * MS);
	cr_assert_eq(p->mean_ns, 12500000);
	p = phase_of(&s, "verify");
	cr_assert_eq(p->count, 3);
	cr_assert_eq(p->failures, 1);
	cr_assert_eq(p->p50_ns, 50 * MS);
	cr_assert_eq(p->max_ns, 70 * MS);
	p = phase_of(&s, "total");
	cr_assert_eq(p->count, 3);
	cr_assert_eq(p->failures, 1);
	cr_assert_eq(p->max_ns, 400 * MS);
	cr_assert_eq(p->p50_ns, 200 * MS);

	cr_assert_eq(ledger_stats(lg, NULL, 2, &s), 0);
	cr_assert_eq(s.ops, 2);
	cr_assert_eq(phase_of(&s, "precheck")->count, 2);
	cr_assert_eq(phase_of(&s, "precheck")->max_ns, 15 * MS);

	f.kind = "deploy";
	cr_assert_eq(ledger_stats(lg, &f, 0, &s), 0);
	cr_assert_eq(s.ops, 4);
	cr_assert_eq(phase_of(&s, "rollout")->count, 2);
	cr_assert_eq(phase_of(&s, "rollout")->mean_ns, 150 * MS);
}

static bool within(int64_t approx, int64_t exact, double rel)
{
	double d = (double)approx - (double)exact;

	return (d < 0 ? -d : d) <= rel * (double)exact;
}

Test(query, stats_summary_agrees_with_the_walk)
{
	struct ledger_stats exact, sum;

	cr_assert_eq(ledger_stats(lg, NULL, 0, &exact), 0);
	cr_assert_eq(ledger_stats_summary(lg, &sum), 0, "%s", ledger_errmsg(lg));
	cr_assert(sum.approximate && !exact.approximate);
	cr_assert_eq(sum.ops, exact.ops);
	for (int o = 0; o < LEDGER_OUT__COUNT; o++)
		cr_assert_eq(sum.outcome[o], exact.outcome[o], "outcome %d", o);
	cr_assert_eq(sum.nphases, exact.nphases);
	for (uint32_t i = 0; i < exact.nphases; i++) {
		const struct ledger_phase_stats *e = &exact.phases[i], *a = &sum.phases[i];

		cr_assert_str_eq(a->phase, e->phase, "same phases in the same order");
		cr_assert_eq(a->count, e->count, "%s", e->phase);
		cr_assert_eq(a->failures, e->failures, "%s", e->phase);
		cr_assert_eq(a->max_ns, e->max_ns, "%s", e->phase);
		cr_assert_eq(a->mean_ns, e->mean_ns, "%s", e->phase);
		cr_assert(within(a->p50_ns, e->p50_ns, 0.032), "%s p50 %lld vs %lld", e->phase,
			  (long long)a->p50_ns, (long long)e->p50_ns);
		cr_assert(within(a->p90_ns, e->p90_ns, 0.032), "%s p90", e->phase);
		cr_assert(within(a->p99_ns, e->p99_ns, 0.032), "%s p99", e->phase);
	}
}

Test(query, histogram_buckets_stay_within_three_percent)
{
	int64_t prev = 0;

	for (int64_t us = 1; us < (int64_t)1 << 35; us = us * 21 / 20 + 1) {
		int64_t ns = us * 1000, v = ledger_hist_value(ledger_hist_bucket(ns));
		cr_assert(within(v, ns, us < 32 ? 0.5 : 0.0313), "%lld us -> %lld ns",
			  (long long)us, (long long)v);
		cr_assert_geq(v, prev, "buckets are ordered");
		prev = v;
	}
	cr_assert_eq(ledger_hist_bucket(0), ledger_hist_bucket(1000));
	cr_assert_eq(ledger_hist_bucket(INT64_MAX), LEDGER_HIST_BUCKETS - 1);
}

static void history_release(struct ledger_op_summary *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
}

/* history --limit 20 and status on a larger ledger cost what their answers need, not what the
 * ledger holds. No absolute times (a loaded machine would fail them): this thread's CPU time
 * against a full history scan of the same ledger, in the same process. The figures themselves
 * belong to tests/bench/ledger. */
Test(query, cost_follows_the_answer, .timeout = 120)
{
	struct ledger_options o = {.snapshot_every = 1000};
	char *big = tl_mkdtemp("bigq");
	struct ledger_state *st = malloc(sizeof(*st));
	struct ledger_op_summary *rows;
	struct ledger *b;
	struct gen g;
	size_t n, all;
	double t, full, limited, state;

	cr_assert_eq(ledger_open(&b, big, LEDGER_OPEN_CREATE, &o), 0);
	gen_init(&g, b, 11);
	while (g.events < 40000)
		gen_op(&g);
	ledger_close(b);
	cr_assert_eq(ledger_open(&b, big, LEDGER_OPEN_RDONLY, &o), 0);

	t = cpu_ms();
	cr_assert_eq(ledger_history(b, NULL, 0, &rows, &all), 0);
	full = cpu_ms() - t;
	history_release(rows, all);
	cr_assert_gt(all, 1000);

	t = cpu_ms();
	cr_assert_eq(ledger_history(b, NULL, 20, &rows, &n), 0);
	limited = cpu_ms() - t;
	cr_assert_eq(n, 20);
	history_release(rows, n);

	t = cpu_ms();
	cr_assert_eq(ledger_state_at(b, UINT64_MAX, st), 0);
	state = cpu_ms() - t;

	cr_log_info("over %llu events (%zu operations): full history %.3f ms CPU, --limit 20 "
		    "%.3f ms, state_at(newest) %.3f ms",
		    (unsigned long long)g.events, all, full, limited, state);
	/* 20 of the operations: about 1% of the scan's work; 10% leaves room for noise */
	cr_assert_lt(limited, full / 10, "history --limit 20 cost %.3f ms of a %.3f ms full scan",
		     limited, full);
	/* a snapshot and at most 1,000 events replayed, of 40,000 */
	cr_assert_lt(state, full / 4, "state_at cost %.3f ms of a %.3f ms full scan", state, full);
	ledger_close(b);
	tl_rmrf(big);
	free(big);
	free(st);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Percentiles by selection agree with a full sort (nearest rank), with duplicates. */
Test(query, stats_percentiles_match_a_sort, .timeout = 60)
{
	struct ledger_options o = {.snapshot_every = 100};
	char *d = tl_mkdtemp("pct");
	struct ledger_event *evs = calloc(4 * 997, sizeof(*evs));
	int64_t *want = calloc(997, sizeof(*want));
	const struct ledger_phase_stats *p;
	struct ledger_stats s;
	struct ledger *b;
	uint64_t r = 99, base;
	__int128 sum = 0;
	size_t n = 0;

	cr_assert_eq(ledger_open(&b, d, LEDGER_OPEN_CREATE, &o), 0);
	cr_assert_eq(ledger_last_seq(b, &base), 0);
	for (int i = 0; i < 997; i++) {
		uint64_t op = base + n + 1;

		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		want[i] = (int64_t)(r % 300) * MS; /* many duplicates */
		sum += want[i];
		evs[n].type = LEDGER_EV_OP_REQUESTED;
		evs[n++].u.op_requested.kind = "deploy";
		evs[n].type = LEDGER_EV_PHASE_FINISHED;
		evs[n].op = op;
		evs[n].u.phase.name = "rollout";
		evs[n].u.phase.ok = i % 3 != 0;
		evs[n++].u.phase.duration_ns = want[i];
		evs[n].type = LEDGER_EV_OP_FINISHED;
		evs[n].op = op;
		evs[n].u.op_finished.outcome = LEDGER_OUT_SUCCEEDED;
		evs[n++].u.op_finished.duration_ns = want[i] * 2;
	}
	for (size_t i = 0; i < n; i++)
		evs[i].actor = "a@b";
	cr_assert_eq(ledger_append_many(b, evs, n, LEDGER_APPEND_NOSYNC), 0, "%s",
		     ledger_errmsg(b));
	cr_assert_eq(ledger_stats(b, NULL, 0, &s), 0);
	qsort(want, 997, sizeof(*want), cmp64);
	p = phase_of(&s, "rollout");
	cr_assert_eq(p->count, 997);
	cr_assert_eq(p->failures, 333);
	cr_assert_eq(p->p50_ns, want[(997 * 50 + 99) / 100 - 1]);
	cr_assert_eq(p->p90_ns, want[(997 * 90 + 99) / 100 - 1]);
	cr_assert_eq(p->p99_ns, want[(997 * 99 + 99) / 100 - 1]);
	cr_assert_eq(p->max_ns, want[996]);
	cr_assert_eq(p->mean_ns, (int64_t)(sum / 997));
	cr_assert_eq(phase_of(&s, "total")->p90_ns, 2 * want[(997 * 90 + 99) / 100 - 1]);
	ledger_close(b);
	tl_rmrf(d);
	free(d);
	free(evs);
	free(want);
}
