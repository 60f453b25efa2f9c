/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <inttypes.h>
#include <string.h>

/* The upper bounds of the phase-duration histogram buckets, in seconds. */
static const double metrics_le[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};

/* A label value as the exposition format wants it: backslash, double quote and newline escaped. */
static void label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_printf(out, "\\n");
		else
			buf_append(out, v, 1);
	}
}

/* "# HELP" and "# TYPE" of a family. A counter's samples end in _total; in OpenMetrics its
 * family name does not. */
static void family(struct buf *out, const struct metrics_input *in, const char *name,
		   const char *type, const char *help)
{
	size_t n = strlen(name);
	bool total = strcmp(type, "counter") == 0 && n > 6 && strcmp(name + n - 6, "_total") == 0;
	int len = (int)(in->openmetrics && total ? n - 6 : n);

	buf_printf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", len, name, help, len, name, type);
}

static double seconds(int64_t ns)
{
	return (double)ns / 1e9;
}

static void operations(struct buf *out, const struct metrics_input *in)
{
	const struct ledger_counters *c = &in->st->counters;

	family(out, in, "shiplog_operations_total", "counter",
	       "Operations recorded in the ledger, by outcome.");
	for (int o = LEDGER_OUT_SUCCEEDED; o < LEDGER_OUT__COUNT; o++)
		buf_printf(out, "shiplog_operations_total{outcome=\"%s\"} %" PRIu64 "\n",
			   ledger_outcome_name((enum ledger_outcome)o), c->outcome[o]);
	family(out, in, "shiplog_ledger_events_total", "counter", "Events appended to the ledger.");
	buf_printf(out, "shiplog_ledger_events_total %" PRIu64 "\n", c->events);
	family(out, in, "shiplog_operation_in_flight", "gauge",
	       "1 while an operation is recorded as running.");
	buf_printf(out, "shiplog_operation_in_flight %d\n", in->st->inflight.op ? 1 : 0);
	if (in->lock_held >= 0) {
		family(out, in, "shiplog_lock_held", "gauge", "1 while the deploy lock is held.");
		buf_printf(out, "shiplog_lock_held %d\n", in->lock_held);
	}
	family(out, in, "shiplog_quarantined_commits", "gauge",
	       "Commits undone by a rollback that deploys refuse.");
	buf_printf(out, "shiplog_quarantined_commits %" PRIu32 "\n", in->st->nquarantine);
}

static void phases(struct buf *out, const struct metrics_input *in)
{
	const struct ledger_state *st = in->st;

	if (!st->nhist)
		return;
	family(out, in, "shiplog_phase_duration_seconds", "histogram",
	       "Duration of each phase of deploys and rollbacks.");
	for (uint32_t i = 0; i < st->nhist; i++) {
		const struct ledger_phase_hist *h = &st->hist[i];
		uint64_t below = 0;
		uint32_t b = 0;

		for (size_t j = 0; j < ELEMENTSOF(metrics_le); j++) {
			int64_t le_ns = (int64_t)(metrics_le[j] * 1e9);
			for (; b < LEDGER_HIST_BUCKETS && ledger_hist_value(b) <= le_ns; b++)
				below += h->buckets[b];
			buf_printf(out, "shiplog_phase_duration_seconds_bucket{phase=\"");
			label(out, h->phase);
			buf_printf(out, "\",le=\"%g\"} %" PRIu64 "\n", metrics_le[j], below);
		}
		buf_printf(out, "shiplog_phase_duration_seconds_bucket{phase=\"");
		label(out, h->phase);
		buf_printf(out, "\",le=\"+Inf\"} %" PRIu64 "\n", h->count);
		buf_printf(out, "shiplog_phase_duration_seconds_sum{phase=\"");
		label(out, h->phase);
		buf_printf(out, "\"} %.6f\n", seconds(h->sum_ns));
		buf_printf(out, "shiplog_phase_duration_seconds_count{phase=\"");
		label(out, h->phase);
		buf_printf(out, "\"} %" PRIu64 "\n", h->count);
	}
	family(out, in, "shiplog_phase_failures_total", "counter", "Phases that ended failed.");
	for (uint32_t i = 0; i < st->nhist; i++) {
		buf_printf(out, "shiplog_phase_failures_total{phase=\"");
		label(out, st->hist[i].phase);
		buf_printf(out, "\"} %" PRIu64 "\n", st->hist[i].failures);
	}
}

/* One gauge family over every (service, runtime) that has a commit; value(r) < 0 skips it. */
typedef double (*runtime_value_fn)(const struct metrics_input *in,
				   const struct ledger_service_runtime *r);

static void per_runtime(struct buf *out, const struct metrics_input *in, const char *name,
			const char *help, runtime_value_fn value)
{
	bool header = false;

	for (uint32_t i = 0; i < in->st->nservices; i++) {
		const struct ledger_service_state *s = &in->st->services[i];
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_service_runtime *r = &s->rt[rt];
			double v;

			if (!r->commit[0] || (v = value(in, r)) < 0)
				continue;
			if (!header)
				family(out, in, name, "gauge", help);
			header = true;
			buf_printf(out, "%s{service=\"", name);
			label(out, s->name);
			buf_printf(out, "\",runtime=\"%s\"} %.15g\n",
				   ledger_runtime_name((enum ledger_runtime)rt), v);
		}
	}
}

static double v_healthy(const struct metrics_input *in, const struct ledger_service_runtime *r)
{
	(void)in;
	return r->healthy ? 1 : 0;
}

static double v_since(const struct metrics_input *in, const struct ledger_service_runtime *r)
{
	(void)in;
	return r->since_ns ? seconds(r->since_ns) : -1;
}

static double v_good(const struct metrics_input *in, const struct ledger_service_runtime *r)
{
	(void)in;
	return r->ngood ? seconds(r->good[0].time_ns) : -1;
}

static double v_good_age(const struct metrics_input *in, const struct ledger_service_runtime *r)
{
	if (!r->ngood || in->now_ns < r->good[0].time_ns)
		return -1;
	return seconds(in->now_ns - r->good[0].time_ns);
}

static void services(struct buf *out, const struct metrics_input *in)
{
	const struct ledger_state *st = in->st;
	bool header = false;

	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *s = &st->services[i];
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			if (!s->rt[rt].commit[0])
				continue;
			if (!header)
				family(out, in, "shiplog_service_info", "gauge",
				       "The commit each service runs on each runtime, and whether "
				       "that runtime owns it (owner=\"1\").");
			header = true;
			buf_printf(out, "shiplog_service_info{service=\"");
			label(out, s->name);
			buf_printf(out, "\",runtime=\"%s\",commit=\"",
				   ledger_runtime_name((enum ledger_runtime)rt));
			label(out, s->rt[rt].commit);
			buf_printf(out, "\",owner=\"%d\"} 1\n", s->owner == rt);
		}
	}
	per_runtime(out, in, "shiplog_service_healthy",
		    "1 when the service's last health evidence was good.", v_healthy);
	per_runtime(out, in, "shiplog_service_restart_timestamp_seconds",
		    "When the service was last restarted by an operation.", v_since);
	per_runtime(out, in, "shiplog_service_last_good_timestamp_seconds",
		    "When the service's last-good commit passed verify.", v_good);
	per_runtime(out, in, "shiplog_service_last_good_age_seconds",
		    "Seconds between the last-good verify and when these metrics were written.",
		    v_good_age);
}

static void last_ops(struct buf *out, const struct metrics_input *in)
{
	if (!in->nlast)
		return;
	family(out, in, "shiplog_service_last_operation_timestamp_seconds", "gauge",
	       "When the newest operation that touched the service finished (0: running).");
	for (size_t i = 0; i < in->nlast; i++) {
		buf_printf(out, "shiplog_service_last_operation_timestamp_seconds{service=\"");
		label(out, in->last[i].service);
		buf_printf(out, "\",kind=\"");
		label(out, in->last[i].kind);
		buf_printf(out, "\"} %.3f\n", seconds(in->last[i].finished_ns));
	}
	family(out, in, "shiplog_service_last_operation_outcome", "gauge",
	       "The outcome of the newest operation that touched the service: 1 for the outcome "
	       "it had, 0 for the others.");
	for (size_t i = 0; i < in->nlast; i++)
		for (int o = LEDGER_OUT_NONE; o < LEDGER_OUT__COUNT; o++) {
			const char *name = o == LEDGER_OUT_NONE
					       ? "running"
					       : ledger_outcome_name((enum ledger_outcome)o);
			buf_printf(out, "shiplog_service_last_operation_outcome{service=\"");
			label(out, in->last[i].service);
			buf_printf(out, "\",outcome=\"%s\"} %d\n", name,
				   in->last[i].outcome == (enum ledger_outcome)o);
		}
}

void metrics_write(struct buf *out, const struct metrics_input *in)
{
	operations(out, in);
	phases(out, in);
	services(out, in);
	last_ops(out, in);
	family(out, in, "shiplog_metrics_timestamp_seconds", "gauge",
	       "When these metrics were written (a stale textfile shows here).");
	buf_printf(out, "shiplog_metrics_timestamp_seconds %.3f\n", seconds(in->now_ns));
	if (in->openmetrics)
		buf_printf(out, "# EOF\n");
}
