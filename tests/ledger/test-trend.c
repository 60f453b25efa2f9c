/* SPDX-License-Identifier: MIT */
/* What the ETA and the regression check read: per-phase statistics over the comparable
 * operations (same kind, runtime and exact scope), their p95, and the trend per day and week
 * with the phases that got slower marked. Generated history with known durations. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "testlib.h"

#define MS 1000000ll
#define DAY (86400ll * 1000000000ll)
/* Monday 2023-11-13 00:00 UTC */
#define MONDAY 1699833600000000000ll

static struct ledger *lg;
static char *dir;

static const char *web_api[] = {"web", "api"};
static const char *api_web[] = {"api", "web"};
static const char *api[] = {"api"};
static const char *web_api_compute[] = {"web", "api", "compute"};

static uint64_t put(struct ledger_event *ev)
{
	uint64_t seq = 0;

	ev->actor = "alice@vps";
	cr_assert_eq(ledger_append(lg, ev, LEDGER_APPEND_NOSYNC, &seq), 0, "%s", ledger_errmsg(lg));
	return seq;
}

/* One finished operation at time t with a precheck, rollout and verify of the given ms. */
static void op_at(int64_t t, const char *kind, int rt, const char **sv, uint32_t n,
		  enum ledger_outcome o, int64_t pre, int64_t roll, int64_t ver)
{
	const char *names[] = {"precheck", "rollout", "verify"};
	int64_t d[] = {pre, roll, ver};
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED, .time_ns = t};
	uint64_t op;

	ev.u.op_requested.kind = kind;
	ev.u.op_requested.runtime = rt;
	ev.u.op_requested.services = (struct ledger_strv){n, sv};
	op = put(&ev);
	for (int i = 0; i < 3; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = LEDGER_EV_PHASE_STARTED;
		ev.op = op;
		ev.time_ns = t + 1 + 2 * i;
		ev.u.phase.name = names[i];
		put(&ev);
		ev.type = LEDGER_EV_PHASE_FINISHED;
		ev.time_ns = t + 2 + 2 * i;
		ev.u.phase.duration_ns = d[i] * MS;
		ev.u.phase.ok = true;
		ev.u.phase.error = "";
		put(&ev);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_OP_FINISHED;
	ev.op = op;
	ev.time_ns = t + 10;
	ev.u.op_finished.outcome = o;
	ev.u.op_finished.error = "";
	ev.u.op_finished.duration_ns = (pre + roll + ver) * MS;
	put(&ev);
}

static void setup(void)
{
	dir = tl_mkdtemp("trend");
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
}

static void teardown(void)
{
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

TestSuite(trend, .init = setup, .fini = teardown);

static const struct ledger_phase_stats *phase_of(const struct ledger_stats *s, const char *name)
{
	for (uint32_t i = 0; i < s->nphases; i++)
		if (strcmp(s->phases[i].phase, name) == 0)
			return &s->phases[i];
	return NULL;
}

Test(trend, comparable_operations_are_same_kind_runtime_and_exact_scope)
{
	struct ledger_history_filter f = {.runtime = LEDGER_RT_NATIVE,
					  .outcome = LEDGER_OUT_SUCCEEDED,
					  .kind = "deploy",
					  .match_scope = true,
					  .scope = {2, web_api}};
	struct ledger_stats s;
	int64_t t = MONDAY;

	/* 20 comparable deploys, rollout 100..195 ms */
	for (int i = 0; i < 20; i++)
		op_at(t += 60000000000ll, "deploy", LEDGER_RT_NATIVE, i % 2 ? web_api : api_web, 2,
		      LEDGER_OUT_SUCCEEDED, 10, 100 + 5 * i, 50);
	/* not comparable: other scopes, runtime, kind, a failure; all with a huge rollout */
	op_at(t += 60000000000ll, "deploy", LEDGER_RT_NATIVE, api, 1, LEDGER_OUT_SUCCEEDED, 10,
	      9000, 50);
	op_at(t += 60000000000ll, "deploy", LEDGER_RT_NATIVE, web_api_compute, 3,
	      LEDGER_OUT_SUCCEEDED, 10, 9000, 50);
	op_at(t += 60000000000ll, "deploy", LEDGER_RT_DOCKER, web_api, 2, LEDGER_OUT_SUCCEEDED, 10,
	      9000, 50);
	op_at(t += 60000000000ll, "rollback", LEDGER_RT_NATIVE, web_api, 2, LEDGER_OUT_SUCCEEDED,
	      10, 9000, 50);
	op_at(t += 60000000000ll, "deploy", LEDGER_RT_NATIVE, web_api, 2, LEDGER_OUT_FAILED, 10,
	      9000, 50);

	cr_assert_eq(ledger_stats(lg, &f, 0, &s), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(s.ops, 20);
	cr_assert_eq(phase_of(&s, "rollout")->count, 20);
	cr_assert_eq(phase_of(&s, "rollout")->max_ns, 195 * MS);
	/* nearest rank: p50 is the 10th of 20, p95 the 19th */
	cr_assert_eq(phase_of(&s, "rollout")->p50_ns, 145 * MS);
	cr_assert_eq(phase_of(&s, "rollout")->p95_ns, 190 * MS);
	cr_assert_eq(phase_of(&s, "rollout")->p99_ns, 195 * MS);

	/* the last 5 of them: 170..195 */
	cr_assert_eq(ledger_stats(lg, &f, 5, &s), 0);
	cr_assert_eq(s.ops, 5);
	cr_assert_eq(phase_of(&s, "rollout")->p50_ns, 185 * MS);
	cr_assert_eq(phase_of(&s, "rollout")->p95_ns, 195 * MS);

	/* an exact scope nobody deployed: nothing, not everything */
	f.scope = (struct ledger_strv){1, (const char **)&web_api_compute[2]};
	cr_assert_eq(ledger_stats(lg, &f, 0, &s), 0);
	cr_assert_eq(s.ops, 0);
	f.scope = (struct ledger_strv){3, web_api_compute};
	cr_assert_eq(ledger_stats(lg, &f, 0, &s), 0);
	cr_assert_eq(s.ops, 1);
}

Test(trend, p95_from_the_histograms_is_close)
{
	struct ledger_stats s;
	int64_t t = MONDAY;

	for (int i = 1; i <= 100; i++)
		op_at(t += 1000000000ll, "deploy", LEDGER_RT_NATIVE, api, 1, LEDGER_OUT_SUCCEEDED,
		      i, 10, 10);
	cr_assert_eq(ledger_stats_summary(lg, &s), 0);
	cr_assert(phase_of(&s, "precheck")->p95_ns >= 95 * MS * 97 / 100 &&
		      phase_of(&s, "precheck")->p95_ns <= 95 * MS * 103 / 100,
		  "p95 %lld", (long long)phase_of(&s, "precheck")->p95_ns);
}

Test(trend, per_day_with_the_phases_that_got_slower)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	struct ledger_trend_period *p = NULL;
	size_t n = 0;

	/* 4 days, 5 deploys a day; the rollout doubles on day 3 (index 2) and stays there;
	 * verify wobbles but never above the previous day's p95; day 4's precheck has too few
	 * samples to be judged */
	for (int d = 0; d < 4; d++)
		for (int i = 0; i < 5; i++)
			op_at(MONDAY + d * DAY + (int64_t)i * 3600000000000ll, "deploy",
			      LEDGER_RT_NATIVE, api, 1, LEDGER_OUT_SUCCEEDED, 10 + i,
			      d >= 2 ? 400 + i : 200 + i, 50 + (d % 2) * 2 + i);
	cr_assert_eq(ledger_stats_trend(lg, &f, 0, LEDGER_TREND_DAY, &p, &n), 0, "%s",
		     ledger_errmsg(lg));
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		const struct ledger_stats *s = &p[i].stats;

		cr_assert_eq(p[i].start_ns, MONDAY + (int64_t)i * DAY);
		cr_assert_eq(s->ops, 5);
		cr_assert_eq(s->nphases, 4);
		cr_assert_str_eq(s->phases[0].phase, "precheck");
		cr_assert_str_eq(s->phases[1].phase, "rollout");
		cr_assert_str_eq(s->phases[2].phase, "verify");
		cr_assert_str_eq(s->phases[3].phase, "total");
		cr_assert_eq(s->phases[1].count, 5);
		cr_assert_eq(s->phases[1].p50_ns, (i >= 2 ? 402 : 202) * MS);
		cr_assert_eq(s->phases[1].p95_ns, (i >= 2 ? 404 : 204) * MS);
		cr_assert_eq(p[i].slower[1], i == 2, "rollout of day %zu", i);
		cr_assert_eq(p[i].slower[0], false);
		cr_assert_eq(p[i].slower[2], false, "verify of day %zu", i);
		cr_assert_eq(p[i].slower[3], i == 2, "total of day %zu", i);
	}
	free(p);

	/* weeks: all 4 days are in the week of MONDAY */
	cr_assert_eq(ledger_stats_trend(lg, &f, 0, LEDGER_TREND_WEEK, &p, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(p[0].start_ns, MONDAY);
	cr_assert_eq(p[0].stats.ops, 20);
	free(p);

	/* the newest 7 operations: the last of day 2 (index 2) and day 3 */
	cr_assert_eq(ledger_stats_trend(lg, &f, 7, LEDGER_TREND_DAY, &p, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(p[0].stats.ops, 2);
	cr_assert_eq(p[1].stats.ops, 5);
	free(p);
}

Test(trend, weeks_start_on_monday_and_an_empty_ledger_has_none)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	struct ledger_trend_period *p = NULL;
	size_t n = 7;

	cr_assert_eq(ledger_stats_trend(lg, &f, 0, LEDGER_TREND_WEEK, &p, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(p);
	/* Sunday 23:00 and the Monday after: two weeks */
	op_at(MONDAY - 3600000000000ll, "deploy", LEDGER_RT_NATIVE, api, 1, LEDGER_OUT_SUCCEEDED, 1,
	      1, 1);
	op_at(MONDAY + 3600000000000ll, "deploy", LEDGER_RT_NATIVE, api, 1, LEDGER_OUT_SUCCEEDED, 1,
	      1, 1);
	cr_assert_eq(ledger_stats_trend(lg, &f, 0, LEDGER_TREND_WEEK, &p, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(p[0].start_ns, MONDAY - 7 * DAY);
	cr_assert_eq(p[1].start_ns, MONDAY);
	free(p);
	cr_assert_eq(ledger_stats_trend(lg, &f, 0, 9, &p, &n), LEDGER_EINVAL);
}
