/* SPDX-License-Identifier: MIT */
/* shiplog stats: per-phase duration percentiles and outcome rates over recent operations. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "fleet-reads.h"
#include "out.h"
#include "reads.h"
#include "util.h"

static json_t *stats_json(const struct ledger_stats *s)
{
	json_t *o = json_object(), *phases = json_array(), *oc = json_object();
	uint64_t finished = 0;

	for (uint32_t i = 0; i < s->nphases && i < ELEMENTSOF(s->phases); i++) {
		const struct ledger_phase_stats *p = &s->phases[i];

		json_array_append_new(
		    phases,
		    json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "phase", json_str(p->phase),
			      "count", (json_int_t)p->count, "failures", (json_int_t)p->failures,
			      "p50_ns", (json_int_t)p->p50_ns, "p90_ns", (json_int_t)p->p90_ns,
			      "p95_ns", (json_int_t)p->p95_ns, "p99_ns", (json_int_t)p->p99_ns,
			      "max_ns", (json_int_t)p->max_ns, "mean_ns", (json_int_t)p->mean_ns));
	}
	for (int i = LEDGER_OUT_NONE; i < LEDGER_OUT__COUNT; i++) {
		json_object_set_new(oc, i == LEDGER_OUT_NONE ? "running" : ledger_outcome_name(i),
				    json_integer((json_int_t)s->outcome[i]));
		if (i != LEDGER_OUT_NONE && i != LEDGER_OUT_REFUSED)
			finished += s->outcome[i];
	}
	json_object_set_new(o, "ops", json_integer((json_int_t)s->ops));
	json_object_set_new(o, "outcomes", oc);
	json_object_set_new(
	    o, "success_rate",
	    finished ? json_real((double)s->outcome[LEDGER_OUT_SUCCEEDED] / (double)finished)
		     : json_null());
	json_object_set_new(o, "phases", phases);
	json_object_set_new(o, "approximate", json_boolean(s->approximate));
	return o;
}

static void stats_text(const struct ledger_stats *s)
{
	char d[6][32];
	uint64_t finished = 0;

	if (s->ops == 0) {
		printf("no operations match\n");
		return;
	}
	printf("%-16s %7s %8s %9s %9s %9s %9s %9s %9s\n", "PHASE", "COUNT", "FAILURES", "P50",
	       "P90", "P95", "P99", "MAX", "MEAN");
	for (uint32_t i = 0; i < s->nphases && i < ELEMENTSOF(s->phases); i++) {
		const struct ledger_phase_stats *p = &s->phases[i];

		format_duration(p->p50_ns, d[0], sizeof(d[0]));
		format_duration(p->p90_ns, d[1], sizeof(d[1]));
		format_duration(p->p95_ns, d[2], sizeof(d[2]));
		format_duration(p->p99_ns, d[3], sizeof(d[3]));
		format_duration(p->max_ns, d[4], sizeof(d[4]));
		format_duration(p->mean_ns, d[5], sizeof(d[5]));
		printf("%-16s %7" PRIu64 " %8" PRIu64 " %9s %9s %9s %9s %9s %9s\n", p->phase,
		       p->count, p->failures, d[0], d[1], d[2], d[3], d[4], d[5]);
	}
	printf("\n%" PRIu64 " operations:", s->ops);
	for (int i = LEDGER_OUT_SUCCEEDED; i < LEDGER_OUT__COUNT; i++) {
		printf(" %s %" PRIu64 " (%.1f%%)%s", ledger_outcome_name(i), s->outcome[i],
		       100.0 * (double)s->outcome[i] / (double)s->ops,
		       i + 1 < LEDGER_OUT__COUNT ? "," : "");
		if (i != LEDGER_OUT_REFUSED)
			finished += s->outcome[i];
	}
	if (s->outcome[LEDGER_OUT_NONE])
		printf(", running %" PRIu64, s->outcome[LEDGER_OUT_NONE]);
	printf("\n");
	if (finished)
		printf(
		    "success rate: %.1f%% of %" PRIu64 " operations that ran to an end (refusals "
		    "not counted)\n",
		    100.0 * (double)s->outcome[LEDGER_OUT_SUCCEEDED] / (double)finished, finished);
	if (s->approximate)
		printf("(every operation, from the ledger's running histograms: p50/p90/p95/p99 "
		       "within 3.1%%; --exact walks the events)\n");
}

/* "2026-11-30" for a day, "2026-W49" (ISO week) for a week, in UTC like the periods. */
static void period_label(int64_t start_ns, enum ledger_trend_by by, char *buf, size_t n)
{
	time_t t = (time_t)(start_ns / 1000000000LL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, by == LEDGER_TREND_WEEK ? "%G-W%V" : "%Y-%m-%d", &tm);
}

static json_t *trend_json(const struct ledger_trend_period *p, size_t n, enum ledger_trend_by by)
{
	json_t *o = json_object(), *a = json_array();
	char label[32];

	for (size_t i = 0; i < n; i++) {
		json_t *per = json_object(), *phases = json_array();

		for (uint32_t k = 0; k < p[i].stats.nphases && k < ELEMENTSOF(p[i].stats.phases);
		     k++) {
			const struct ledger_phase_stats *ps = &p[i].stats.phases[k];

			if (ps->count == 0)
				continue;
			json_array_append_new(
			    phases,
			    json_pack("{s:o,s:I,s:I,s:I,s:I,s:b}", "phase", json_str(ps->phase),
				      "count", (json_int_t)ps->count, "failures",
				      (json_int_t)ps->failures, "p50_ns", (json_int_t)ps->p50_ns,
				      "p95_ns", (json_int_t)ps->p95_ns, "slower", p[i].slower[k]));
		}
		period_label(p[i].start_ns, by, label, sizeof(label));
		json_object_set_new(per, "period", json_string(label));
		json_object_set_new(per, "start", json_time(p[i].start_ns));
		json_object_set_new(per, "ops", json_integer((json_int_t)p[i].stats.ops));
		json_object_set_new(per, "phases", phases);
		json_array_append_new(a, per);
	}
	json_object_set_new(o, "by", json_string(by == LEDGER_TREND_WEEK ? "week" : "day"));
	json_object_set_new(o, "periods", a);
	return o;
}

static void trend_text(const struct ledger_trend_period *p, size_t n, enum ledger_trend_by by)
{
	char label[32], d50[32], d95[32];
	size_t marked = 0;

	if (n == 0) {
		printf("no operations match\n");
		return;
	}
	printf("%-10s %-16s %7s %9s %9s\n", by == LEDGER_TREND_WEEK ? "WEEK" : "DAY", "PHASE",
	       "COUNT", "P50", "P95");
	for (size_t i = 0; i < n; i++) {
		bool first = true;

		period_label(p[i].start_ns, by, label, sizeof(label));
		for (uint32_t k = 0; k < p[i].stats.nphases && k < ELEMENTSOF(p[i].stats.phases);
		     k++) {
			const struct ledger_phase_stats *ps = &p[i].stats.phases[k];

			if (ps->count == 0)
				continue;
			format_duration(ps->p50_ns, d50, sizeof(d50));
			format_duration(ps->p95_ns, d95, sizeof(d95));
			printf("%-10s %-16s %7" PRIu64 " %9s %9s", first ? label : "", ps->phase,
			       ps->count, d50, d95);
			if (p[i].slower[k]) {
				out_paint(stdout, OUT_TONE_WARN, "  SLOWER");
				marked++;
			}
			printf("\n");
			first = false;
		}
	}
	if (marked)
		printf("\nSLOWER: the period's p50 is above the p95 of the same phase in the "
		       "last earlier period\nthat ran it (each with at least %d samples).\n",
		       LEDGER_TREND_MIN_SAMPLES);
}

static const struct option options[] = {
    {"last", required_argument, NULL, 'n'},
    {"since", required_argument, NULL, 's'},
    {"runtime", required_argument, NULL, 'r'},
    {"scope", required_argument, NULL, 'S'},
    {"json", no_argument, NULL, 'J'},
    {"exact", no_argument, NULL, 'x'},
    {"trend", no_argument, NULL, 't'},
    {"by", required_argument, NULL, 'b'},
    FLEET_READS_OPTIONS,
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool exact = false, trend = false, by_given = false;
	enum ledger_trend_by by = LEDGER_TREND_DAY;
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	struct ledger_stats *s;
	uint64_t last = 0;
	int opt, r;

	r = fleet_reads_maybe(ctx, &cmd_stats, argc, argv);
	if (r != CMD_RUN_HERE)
		return r;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			r = args_u64(&cmd_stats, "--last", optarg, 1, &last);
			if (r < 0)
				return r;
			break;
		case 's':
			r = args_time(&cmd_stats, "--since", optarg, &f.since_ns);
			if (r < 0)
				return r;
			break;
		case 'r':
			f.runtime = ledger_runtime_from_name(optarg);
			if (f.runtime < 0) {
				log_error("stats: bad --runtime '%s': use native or docker",
					  optarg);
				return SL_EUSAGE;
			}
			break;
		case 'S':
			f.service = optarg;
			break;
		case 'J':
			out_settings.json = true;
			break;
		case 'x':
			exact = true;
			break;
		case 't':
			trend = true;
			break;
		case 'b':
			if (streq(optarg, "day"))
				by = LEDGER_TREND_DAY;
			else if (streq(optarg, "week"))
				by = LEDGER_TREND_WEEK;
			else
				return cmd_usage_error(&cmd_stats, "--by: '%s' is not day or week",
						       optarg);
			by_given = true;
			break;
		default:
			return args_bad_option(&cmd_stats, argv, optind, optopt);
		}
	}
	if (optind < argc) {
		log_error("stats: unexpected argument '%s'; see 'shiplog stats --help'",
			  argv[optind]);
		return SL_EUSAGE;
	}
	if (by_given && !trend)
		return cmd_usage_error(&cmd_stats, "--by goes with --trend");
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;
	if (trend) {
		struct ledger_trend_period *p = NULL;
		size_t n = 0;

		r = ledger_stats_trend(ctx->lg, &f, (size_t)last, by, &p, &n);
		if (r < 0)
			reads_ledger_fail(&cmd_stats, ctx->lg, r, "cannot compute the trend", 0);
		else if (out_settings.json)
			out_json(trend_json(p, n, by));
		else
			trend_text(p, n, by);
		free(p);
		return r;
	}

	s = xcalloc(1, sizeof(*s));
	/* every operation, unfiltered: the ledger's running histograms answer at once */
	if (!exact && !last && !f.since_ns && f.runtime < 0 && !f.service)
		r = ledger_stats_summary(ctx->lg, s);
	else
		r = ledger_stats(ctx->lg, &f, (size_t)last, s);
	if (r < 0) {
		reads_ledger_fail(&cmd_stats, ctx->lg, r, "cannot compute statistics", 0);
	} else if (out_settings.json) {
		out_json(stats_json(s));
	} else {
		stats_text(s);
	}
	free(s);
	return r;
}

const struct cmd_entry cmd_stats = {
    .name = "stats",
    .summary = "per-phase p50/p90/p95/p99/max durations and success rate",
    .usage =
	"usage: shiplog stats [--last N] [--since T] [--runtime R] [--scope SERVICE] [--exact]\n"
	"                     [--trend [--by day|week]] [--json] [--host NAME | --all-hosts]\n"
	"\n"
	"Duration statistics of each phase (precheck, publish, rollout, verify, public-verify,\n"
	"and 'total' for whole operations) over the matching operations: how many ran, how\n"
	"many failed, p50, p90, p95, p99, max and mean; then the count and share of every\n"
	"outcome and the success rate (succeeded / operations that ran to an end; refusals\n"
	"excluded).\n"
	"\n"
	"Options:\n"
	"  -n, --last N     only the newest N matching operations\n"
	"  --since T        only operations started at or after T (RFC 3339 or 90m, 2h, 3d)\n"
	"  --runtime R      native or docker\n"
	"  --scope S        only operations that touched service S\n"
	"  --exact          exact percentiles over every operation (walks every event); without\n"
	"                   a filter, stats reads the ledger's running histograms instead:\n"
	"                   counts, failures, max and mean exact, p50/p90/p95/p99 within\n"
	"                   3.1%\n"
	"  --trend          per day (UTC) or week (ISO, from Monday) of the operations' start: "
	"each\n"
	"                   phase's count, p50 and p95, and SLOWER where the p50 rose above the\n"
	"                   p95 of the last earlier period that ran it (both with at least 3\n"
	"                   samples); --json: {\"by\",\"periods\":[{\"period\",\"start\",\"ops\",\n"
	"                   \"phases\":[{\"phase\",\"count\",\"failures\",\"p50_ns\",\"p95_ns\",\n"
	"                   \"slower\"}]}]}\n"
	"  --by day|week    the trend's period (default day)\n"
	"  --json           "
	"{\"ops\":..,\"outcomes\":{..},\"success_rate\":..,\"phases\":[{\"phase\","
	"\n                   "
	"\"count\",\"failures\",\"p50_ns\",\"p90_ns\",\"p95_ns\",\"p99_ns\",\"max_ns\","
	"\"mean_ns\"}]}\n"
	"  --host NAME      run it on [host NAME] (its own shiplog, over ssh), as it answers\n"
	"  --host-timeout D a host's answer is awaited this long (default 20s)\n"
	"  --all-hosts      every host at once, a host column on each line (--json: a \"host\"\n"
	"                   field); a host never deployed gets one line; one that did not\n"
	"                   answer, or answered over 1 MiB (never shown cut), gets one line\n"
	"                   (exit 4)\n"
	"\n"
	"Examples:\n"
	"  shiplog stats\n"
	"  shiplog stats --last 50 --runtime native\n"
	"  shiplog stats --since 7d --scope api --json\n"
	"  shiplog stats --trend --by week --runtime native\n"
	"\n"
	"Exit codes: 0 ok, 2 usage, 4 unreadable ledger, 5 no ledger (nothing deployed yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .shortopts = "n:",
    .options = options,
    .run = run,
};
