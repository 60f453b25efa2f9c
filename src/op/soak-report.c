/* SPDX-License-Identifier: MIT */
/* `soak report`: one window read back from the ledger, judged against [soak] with what the
 * services logged, and shown as text or JSON. */
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "json.h"
#include "soak.h"
#include "text.h"
#include "view.h"

/* The other tally of the same service before i (dir -1) or after it (+1), or NULL: the parts
 * of a service whose owner changed in the window. */
static const struct soak_tally *part_beside(const struct soak_report *rep, size_t i, int dir)
{
	return soak_tally_part(rep->t, rep->n, i, dir);
}

bool soak_report_split(const struct soak_report *rep, size_t i)
{
	return part_beside(rep, i, -1) || part_beside(rep, i, +1);
}

void soak_report_part_span(const struct soak_report *rep, size_t i, int64_t *since_ns,
			   int64_t *until_ns)
{
	const struct soak_tally *before = part_beside(rep, i, -1), *after = part_beside(rep, i, +1);

	*since_ns = before ? before->last_ns : rep->w.start_ns;
	*until_ns = after ? after->first_ns : rep->w.stop ? rep->w.stop_ns : 0;
}

/* Whether every part of service passed. */
static bool service_pass(const struct soak_report *rep, const char *service)
{
	for (size_t i = 0; i < rep->n; i++)
		if (streq(rep->t[i].name, service) && !rep->pass[i])
			return false;
	return true;
}

/* Each service's logs, its verdict, and the comparison with its previous window on the other
 * runtime. A service sampled on two runtimes (its owner changed in the window) is judged per
 * part, each over its own time with the logs of its runtime, and passes when both do. */
static void judge(struct ledger *lg, const struct config *cfg, struct soak_report *rep)
{
	const struct soak_window *w = &rep->w;

	rep->all_pass = rep->n > 0;
	for (size_t i = 0; i < rep->n; i++) {
		const struct soak_tally *t = &rep->t[i];
		const struct service *s = config_service(cfg, t->name);
		bool split = soak_report_split(rep, i);
		_cleanup_free_ char *label =
		    split ? xasprintf("%s: on %s", t->name, ledger_runtime_name(t->runtime))
			  : xstrdup(t->name);
		struct soak_figures f, prev;
		int64_t since, until;

		soak_report_part_span(rep, i, &since, &until);
		soak_figures_of(t, (until ? until : now_ns()) - since, &f);
		/* the logs of the part's runtime over the whole window: its unit or container
		 * starts during the cut-over, before the part's first sample */
		if (s) {
			soak_logs_read(cfg, s, t->runtime, w->start_ns, w->stop ? w->stop_ns : 0,
				       &rep->logs[i]);
			f.errors = rep->logs[i].errors;
			f.errors_known = rep->logs[i].read;
		}
		rep->pass[i] = soak_judge(cfg, label, &f, &rep->reasons);
		rep->all_pass &= rep->pass[i];
		{
			/* not a failed check: says what the figures above leave out */
			char *aside = soak_set_aside(t, &rep->spans, split);
			if (aside)
				strv_push_take(&rep->reasons, aside);
		}
		if (soak_previous_window(lg, cfg, w->start, t->name, t->runtime, &prev))
			strv_push_take(&rep->compare, soak_compare(t->name, &f, &prev));
	}
	/* one verdict per service, however many parts */
	for (size_t i = 0; i < rep->n; i++)
		if (!part_beside(rep, i, -1))
			strv_push_take(
			    &rep->verdicts,
			    xasprintf("%s=%s", rep->t[i].name,
				      service_pass(rep, rep->t[i].name) ? "pass" : "fail"));
}

int soak_report_gather(struct ledger *lg, const struct config *cfg, const char *name,
		       bool status_only, struct soak_report *rep)
{
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->opsj = json_array();
	r = soak_find_window(lg, name, &rep->w);
	if (r < 0)
		return r;
	/* what the operations in the window did to the services is theirs, not the services' */
	r = soak_window_spans(lg, rep->w.start, rep->w.stop, &rep->spans);
	if (r < 0)
		return r;
	r = soak_window_tally(lg, rep->w.start, rep->w.stop, &rep->spans, rep->t, &rep->n,
			      &rep->ops, rep->opsj, NULL, NULL);
	if (r < 0)
		return r;
	/* the verdict needs the thresholds and the services' logs: a report with a config */
	rep->judged = !status_only && cfg;
	if (rep->judged)
		judge(lg, cfg, rep);
	return 0;
}

void soak_report_release(struct soak_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		soak_logs_release(&rep->logs[i]);
	json_decref(rep->opsj);
	soak_spans_release(&rep->spans);
	strv_free(&rep->ops);
	strv_free(&rep->verdicts);
	strv_free(&rep->reasons);
	strv_free(&rep->compare);
}

static json_t *strv_json(const struct strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static json_t *service_json(const struct soak_report *rep, size_t i)
{
	const struct soak_tally *t = &rep->t[i];
	const struct soak_logs *l = &rep->logs[i];
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:I}", "service", t->name, "runtime",
			      ledger_runtime_name(t->runtime), "samples", (int)t->samples,
			      "restarts", (int)t->restarts, "pids", (int)t->pids, "not_active",
			      (int)t->inactive, "peak_memory_bytes", (json_int_t)t->peak_memory);
	json_t *ops = json_array();

	for (uint32_t k = 0; k < t->nops; k++)
		json_array_append_new(ops, json_integer((json_int_t)view_op_number(t->ops[k])));
	{
		char a[64], b[64];
		int64_t since, until;

		soak_report_part_span(rep, i, &since, &until);
		format_time(since, a, sizeof(a));
		format_time(until, b, sizeof(b));
		/* a service whose owner changed in the window has a part per runtime */
		json_object_set_new(o, "part",
				    json_pack("{s:b,s:s,s:o}", "split", soak_report_split(rep, i),
					      "since", a, "until",
					      until ? json_string(b) : json_null()));
	}
	{
		uint32_t kept = t->nstarts < SOAK_TALLY_STARTS ? t->nstarts : SOAK_TALLY_STARTS;
		json_t *starts = json_array();

		for (uint32_t k = 0; k < kept; k++) {
			const struct soak_start *s = soak_tally_start(t, k);
			char at[64];

			format_time(s->at_ns, at, sizeof(at));
			json_array_append_new(
			    starts,
			    json_pack("{s:s,s:b,s:b,s:o}", "at", at, "exact", s->exact, "restart",
				      s->restart, "operation",
				      s->op ? json_integer((json_int_t)view_op_number(s->op))
					    : json_null()));
		}
		json_object_set_new(o, "starts", starts);
	}
	json_object_set_new(o, "during_operations",
			    json_pack("{s:i,s:i,s:i,s:i,s:o}", "samples", (int)t->op_samples,
				      "not_active", (int)t->op_inactive, "restarts",
				      (int)t->op_restarts, "pids", (int)t->op_pids, "operations",
				      ops));
	if (!rep->judged)
		return o;
	json_object_set_new(o, "log_lines", json_integer((json_int_t)l->total));
	json_object_set_new(o, "error_lines",
			    l->read ? json_integer((json_int_t)l->errors) : json_null());
	json_object_set_new(o, "logs", strv_json(&l->lines));
	if (!l->read)
		json_object_set_new(o, "logs_error", json_string(l->err));
	json_object_set_new(o, "verdict", json_string(rep->pass[i] ? "pass" : "fail"));
	return o;
}

static json_t *spans_json(const struct soak_spans *sp)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sp->n; i++) {
		const struct soak_span *x = &sp->v[i];
		char since[64], until[64];

		format_time(x->start_ns, since, sizeof(since));
		format_time(x->end_ns, until, sizeof(until));
		json_array_append_new(a,
				      json_pack("{s:I,s:s,s:o,s:s,s:s,s:b}", "operation",
						(json_int_t)view_op_number(x->op), "kind", x->kind,
						"services", strv_json(&x->services), "since", since,
						"until", until, "unfinished", x->unfinished));
	}
	return a;
}

json_t *soak_report_json(const struct soak_report *rep)
{
	const struct soak_window *w = &rep->w;
	json_t *svcs = json_array(), *o;
	char a[64], b[64] = "";

	format_time(w->start_ns, a, sizeof(a));
	if (w->stop)
		format_time(w->stop_ns, b, sizeof(b));
	for (size_t i = 0; i < rep->n; i++)
		json_array_append_new(svcs, service_json(rep, i));
	o = json_pack("{s:s,s:b,s:s,s:o,s:s,s:o,s:O,s:s}", "name", w->name, "running", rep->running,
		      "since", a, "until", w->stop ? json_string(b) : json_null(), "sampler",
		      w->unit, "services", svcs, "operations", rep->opsj, "summary", w->summary);
	json_object_set_new(o, "operation_spans", spans_json(&rep->spans));
	if (rep->judged)
		json_object_set_new(o, "verdict",
				    json_pack("{s:s,s:b,s:o,s:o}", "overall",
					      rep->all_pass ? "pass" : "fail", "final",
					      w->stop != 0, "reasons", strv_json(&rep->reasons),
					      "compare", strv_json(&rep->compare)));
	return o;
}

static void print_header(const struct soak_report *rep)
{
	const struct soak_window *w = &rep->w;
	char a[64], b[64];

	format_time(w->start_ns, a, sizeof(a));
	if (w->stop)
		format_time(w->stop_ns, b, sizeof(b));
	printf("soak '%s': %s -> %s%s\n", w->name, a, w->stop ? b : "now",
	       w->stop	      ? ""
	       : rep->running ? " (running)"
			      : " (sampler gone)");
	if (w->unit[0])
		printf("sampler: systemd unit %s\n", w->unit);
	else
		printf("sampler: a detached process (no systemd unit)\n");
}

static void print_table(const struct soak_report *rep)
{
	printf("\n%-16s %-7s %8s %9s %5s %11s %12s %7s\n", "SERVICE", "RUNTIME", "SAMPLES",
	       "RESTARTS", "PIDS", "NOT-ACTIVE", "PEAK-MEMORY", "ERRORS");
	for (size_t i = 0; i < rep->n; i++) {
		const struct soak_tally *t = &rep->t[i];
		char errs[24] = "-", mem[24] = "-";
		if (rep->judged && rep->logs[i].read)
			snprintf(errs, sizeof(errs), "%zu", rep->logs[i].errors);
		/* 0: none read (a manager without memory accounting) */
		if (t->peak_memory)
			snprintf(mem, sizeof(mem), "%.1fMB", (double)t->peak_memory / 1048576.0);
		printf("%-16s %-7s %8u %9u %5u %11u %12s %7s\n", t->name,
		       ledger_runtime_name(t->runtime), t->samples, t->restarts, t->pids,
		       t->inactive, mem, errs);
	}
	for (size_t i = 0; i < rep->n; i++) {
		const struct soak_tally *t = &rep->t[i], *next = part_beside(rep, i, +1);
		char a[64], b[64];

		/* a service on two runtimes: which part came from which, and when */
		if (part_beside(rep, i, -1) || !next)
			continue;
		format_time(t->last_ns, a, sizeof(a));
		format_time(next->first_ns, b, sizeof(b));
		printf("%s: its owner changed in the window: sampled on %s to %s, on %s from %s "
		       "(a row, logs and verdict for each)\n",
		       t->name, ledger_runtime_name(t->runtime), a,
		       ledger_runtime_name(next->runtime), b);
	}
	printf("\noperations during the window: %s\n", rep->ops.n ? "" : "none");
	for (size_t i = 0; i < rep->ops.n; i++)
		printf("  %s\n", rep->ops.v[i]);
}

/* Every restart and new process the samples showed, with when it happened: the runtime's own
 * start time, to the second (or, when it did not say, the sample that first showed it), and
 * whether it is the service's or an operation's. */
static void print_starts(const struct soak_report *rep)
{
	bool any = false;

	for (size_t i = 0; i < rep->n; i++) {
		const struct soak_tally *t = &rep->t[i];
		uint32_t kept = t->nstarts < SOAK_TALLY_STARTS ? t->nstarts : SOAK_TALLY_STARTS;

		if (!t->nstarts)
			continue;
		if (!any)
			printf("\nrestarts and new processes (when the runtime started them):\n");
		any = true;
		if (t->nstarts > kept)
			printf("  %s (%s): %u, the newest %u:\n", t->name,
			       ledger_runtime_name(t->runtime), t->nstarts, kept);
		for (uint32_t k = 0; k < kept; k++) {
			const struct soak_start *s = soak_tally_start(t, k);
			char at[64], on[VIEW_OP_NAME_MAX];

			format_time(s->at_ns, at, sizeof(at));
			printf("  %-16s %-7s %s %s%s", t->name, ledger_runtime_name(t->runtime), at,
			       s->restart ? "restart" : "new process",
			       s->exact ? "" : " (first seen by this sample; no start time said)");
			if (s->op)
				printf(", during operation %s: set aside\n",
				       view_op_name(s->op, on));
			else
				printf("\n");
		}
	}
}

/* The operations' spans, and per service what fell inside them: left out of the table's
 * RESTARTS, PIDS and NOT-ACTIVE. */
static void print_spans(const struct soak_report *rep)
{
	if (!rep->spans.n)
		return;
	printf(
	    "\noperation spans (a service's samples inside one that touched it, and the restarts "
	    "and new pids they show, are the operation's: counted apart, not judged):\n");
	for (size_t i = 0; i < rep->spans.n; i++) {
		const struct soak_span *x = &rep->spans.v[i];
		_cleanup_free_ char *svcs = strv_join(&x->services, ", ");
		char on[VIEW_OP_NAME_MAX], a[64], b[64];

		format_time(x->start_ns, a, sizeof(a));
		format_time(x->end_ns, b, sizeof(b));
		printf("  operation %s %s of %s: %s -> %s%s\n", view_op_name(x->op, on), x->kind,
		       x->services.n ? svcs : "no service", a, b,
		       x->unfinished ? ", no end in the ledger (killed, or still running): cut at "
				       "its last event"
				     : "");
	}
	for (size_t i = 0; i < rep->n; i++) {
		_cleanup_free_ char *aside =
		    soak_set_aside(&rep->t[i], &rep->spans, soak_report_split(rep, i));
		if (aside)
			printf("  %s\n", aside);
	}
}

static void print_verdict(const struct soak_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		printf("\n");
		soak_logs_print(rep->t[i].name, rep->t[i].runtime, &rep->logs[i]);
	}
	if (rep->compare.n) {
		printf("\ncompared with the previous window on the other runtime:\n");
		for (size_t i = 0; i < rep->compare.n; i++)
			printf("  %s\n", rep->compare.v[i]);
	}
	printf("\nverdict%s:\n", rep->w.stop ? "" : " so far (the window is still open)");
	for (size_t i = 0; i < rep->n; i++)
		if (!part_beside(rep, i, -1))
			printf("  %-16s %s\n", rep->t[i].name,
			       service_pass(rep, rep->t[i].name) ? "pass" : "FAIL");
	for (size_t i = 0; i < rep->reasons.n; i++)
		printf("    %s\n", rep->reasons.v[i]);
	printf("  %-16s %s\n", "overall", rep->all_pass ? "pass" : "FAIL");
}

void soak_report_print(const struct soak_report *rep, bool status_only)
{
	print_header(rep);
	if (status_only) {
		for (size_t i = 0; i < rep->n; i++)
			printf("  %-16s %-6s %u samples so far\n", rep->t[i].name,
			       ledger_runtime_name(rep->t[i].runtime), rep->t[i].samples);
		return;
	}
	print_table(rep);
	print_starts(rep);
	print_spans(rep);
	if (rep->judged)
		print_verdict(rep);
}
