/* SPDX-License-Identifier: MIT */
/* `shiplog stats --trend [--by day|week]` as the real binary prints it, over a ledger imported
 * from generated history: 4 days of 5 deploys each whose build doubles on the third day. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testlib.h"
#include "util.h"

/* Monday 2026-11-23 00:00 UTC */
#define MONDAY 1795392000LL

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static char *history(void)
{
	struct buf b = {0};
	unsigned seq = 0;

	for (int d = 0; d < 4; d++)
		for (int i = 0; i < 5; i++) {
			long long t = (MONDAY + d * 86400LL + i * 3600LL) * 1000000000LL;
			unsigned op = ++seq;
			const char *ph[] = {"precheck", "build", "verify"};
			long long ms[] = {10 + i, (d >= 2 ? 800 : 400) + i, 1000 + i};

			buf_printf(
			    &b,
			    "{\"seq\":%u,\"type\":\"op.requested\",\"time_ns\":%lld,\"op\":%u,"
			    "\"actor\":\"alice@vps\",\"kind\":\"deploy\",\"mode\":\"main\","
			    "\"ref\":\"main\",\"commit\":\"\",\"prev_commit\":\"\","
			    "\"runtime\":\"native\",\"services\":[\"api\"],\"flags\":[],"
			    "\"exec_mode\":\"local\",\"config_digest\":\"d\",\"reverts\":0,"
			    "\"reason\":\"\",\"pid\":1}\n",
			    op, t, op);
			for (int k = 0; k < 3; k++) {
				t += ms[k] * 1000000LL;
				buf_printf(
				    &b,
				    "{\"seq\":%u,\"type\":\"phase.finished\",\"time_ns\":%lld,"
				    "\"op\":%u,\"actor\":\"alice@vps\",\"phase\":\"%s\","
				    "\"duration_ns\":%lld,\"ok\":true,\"error\":\"\"}\n",
				    ++seq, t, op, ph[k], ms[k] * 1000000LL);
			}
			buf_printf(
			    &b,
			    "{\"seq\":%u,\"type\":\"op.finished\",\"time_ns\":%lld,\"op\":%u,"
			    "\"actor\":\"alice@vps\",\"outcome\":\"succeeded\",\"error\":\"\","
			    "\"duration_ns\":%lld,\"rollback_op\":0}\n",
			    ++seq, t + 1000, op, (ms[0] + ms[1] + ms[2]) * 1000000LL);
		}
	return b.data;
}

Test(trend, stats_trend_by_day_and_week)
{
	char *dir = tl_mkdtemp("trend"), *ledger = xasprintf("%s/ledger", dir);
	char *file = xasprintf("%s/history.jsonl", dir), *text = history();
	struct tl_run r;
	json_t *o, *periods, *day3;
	size_t i;
	json_t *p;
	bool build_marked = false;

	tl_write(file, text);
	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "ledger", "import", file, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	tl_run_release(&r);

	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "stats", "--trend", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "DAY        PHASE              COUNT       P50       P95\n"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "2026-11-23 precheck               5      12ms      14ms\n"), "%s",
		  r.out);
	cr_assert(
	    strstr(r.out, "           build                  5     802ms     804ms  SLOWER\n"),
	    "%s", r.out);
	cr_assert(strstr(r.out, "2026-11-26 "), "%s", r.out);
	/* one SLOWER for build and one for the total, on day 3 only */
	cr_assert_eq(count(r.out, "SLOWER\n"), 2, "%s", r.out);
	tl_run_release(&r);

	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "--json", "stats", "--trend", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	o = json_loads(r.out, 0, NULL);
	cr_assert_not_null(o, "%s", r.out);
	cr_assert_str_eq(json_string_value(json_object_get(o, "by")), "day");
	periods = json_object_get(o, "periods");
	cr_assert_eq(json_array_size(periods), 4);
	day3 = json_array_get(periods, 2);
	cr_assert_str_eq(json_string_value(json_object_get(day3, "period")), "2026-11-25");
	cr_assert_eq(json_integer_value(json_object_get(day3, "ops")), 5);
	json_array_foreach(json_object_get(day3, "phases"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "phase")), "build") != 0)
			continue;
		cr_assert_eq(json_integer_value(json_object_get(p, "p95_ns")), 804000000);
		cr_assert(json_is_true(json_object_get(p, "slower")));
		build_marked = true;
	}
	cr_assert(build_marked, "%s", r.out);
	json_decref(o);
	tl_run_release(&r);

	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "stats", "--trend", "--by", "week", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "WEEK  ") && strstr(r.out, "2026-W48   precheck              20"),
		  "%s", r.out);
	cr_assert(!strstr(r.out, "SLOWER"), "%s", r.out);
	tl_run_release(&r);

	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "stats", "--by", "week", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, dir, NULL, "--ledger", ledger, "stats", "--trend", "--by", "month", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "'month' is not day or week"), "%s", r.err);
	tl_run_release(&r);

	free(text);
	free(file);
	free(ledger);
	tl_rmrf(dir);
	free(dir);
}
