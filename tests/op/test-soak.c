/* SPDX-License-Identifier: MIT */
/* The soak verdict (op/soak.c), pure: thresholds, reasons, error lines, the comparison. */
#include <criterion/criterion.h>
#include <string.h>

#include <ledger/ledger.h>

#include "config.h"
#include "ledger/ledger-gen.h"
#include "soak.h"
#include "testlib.h"
#include "util.h"

static struct config *conf(void)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->soak.log_lines = 20;
	strv_push(&c->soak.error_patterns, SOAK_DEFAULT_ERROR_PATTERN);
	return c;
}

static void conf_free(struct config *c)
{
	strv_free(&c->soak.error_patterns);
	free(c);
}

Test(soak, healthy_figures_pass_and_each_threshold_gives_its_reason)
{
	struct config *c = conf();
	struct soak_figures f = {.runtime = LEDGER_RT_NATIVE,
				 .duration_ns = 3600000000000LL,
				 .samples = 10,
				 .first_memory = 100,
				 .last_memory = 300,
				 .peak_memory = 300,
				 .errors_known = true};
	struct strv why = {0};

	cr_assert(soak_judge(c, "web", &f, &why));
	cr_assert_eq(why.n, 0);
	f.restarts = 2;
	f.inactive = 1;
	f.errors = 4;
	c->soak.max_memory_growth_pct = 50;
	cr_assert_not(soak_judge(c, "web", &f, &why));
	cr_assert_eq(why.n, 4);
	cr_assert_str_eq(why.v[0], "web: 2 restarts (at most 0)");
	cr_assert_str_eq(why.v[1], "web: 1 sample not active (at most 0)");
	cr_assert_str_eq(why.v[2], "web: 4 error lines (at most 0)");
	cr_assert_str_eq(why.v[3], "web: memory grew 200% (at most 50%)");
	strv_free(&why);
	c->soak.max_restarts = 2;
	c->soak.max_not_active = 1;
	c->soak.max_error_lines = 4;
	c->soak.max_memory_growth_pct = 200;
	cr_assert(soak_judge(c, "web", &f, &why));
	f.samples = 0;
	cr_assert_not(soak_judge(c, "web", &f, &why));
	cr_assert_str_eq(why.v[0], "web: no samples");
	strv_free(&why);
	conf_free(c);
}

Test(soak, error_lines_by_priority_or_pattern)
{
	struct config *c = conf();

	cr_assert(soak_line_is_error(c, "12:00:00 all fine", 3));
	cr_assert(soak_line_is_error(c, "12:00:00 boom", 0));
	cr_assert_not(soak_line_is_error(c, "12:00:00 all fine", 4));
	cr_assert(soak_line_is_error(c, "12:00:00 ERROR: db down", 6));
	cr_assert(soak_line_is_error(c, "12:00:00 [FATAL] x", -1));
	cr_assert_not(soak_line_is_error(c, "12:00:00 0 errors, TERRORS", -1));
	strv_free(&c->soak.error_patterns);
	strv_push(&c->soak.error_patterns, "crash(ed|ing)");
	cr_assert(soak_line_is_error(c, "crashing: crash_after elapsed", 6));
	cr_assert_not(soak_line_is_error(c, "ERROR: not a pattern any more", 6));
	conf_free(c);
}

Test(soak, comparison_puts_both_runtimes_side_by_side_per_hour)
{
	struct soak_figures now = {.runtime = LEDGER_RT_NATIVE,
				   .duration_ns = 1800000000000LL,
				   .samples = 5,
				   .restarts = 3,
				   .errors = 1,
				   .errors_known = true,
				   .peak_memory = 2 * 1048576};
	struct soak_figures prev = {.runtime = LEDGER_RT_DOCKER,
				    .duration_ns = 3600000000000LL,
				    .samples = 5,
				    .peak_memory = 3 * 1048576};
	char *s = soak_compare("compute", &now, &prev);

	cr_assert_str_eq(s, "compute: native 6.0 restarts/h, 2.0 errors/h, peak 2.0MB vs docker "
			    "0.0 restarts/h, errors unknown, peak 3.0MB");
	free(s);
}

/* Spans of operations: a sample inside one that touched its service is the operation's, and so
 * is a restart or new pid first seen by the sample after one; others are the service's. */
Test(soak, samples_and_changes_inside_an_operation_are_set_aside)
{
	struct soak_span span = {.op = 5, .kind = "deploy", .start_ns = 1000, .end_ns = 2000};
	struct soak_spans sp = {.v = &span, .n = 1};
	struct soak_tally t = {.name = "compute", .runtime = -1};
	struct soak_during d;
	struct ledger_unit_observed up = {
	    .service = "compute", .active_state = "active", .pid = 10};
	struct ledger_unit_observed down = {.service = "compute", .active_state = "activating"};
	char *aside;

	strv_push(&span.services, "compute");
	soak_during_of(&sp, "web", 500, 1500, 0, &d);
	cr_assert_eq(d.sample_op + d.change_op, 0, "web was not touched");
	soak_during_of(&sp, "compute", 0, 500, 0, &d);
	cr_assert_eq(d.sample_op + d.change_op, 0);
	soak_tally_add(&t, &up, 500, &d);
	soak_during_of(&sp, "compute", 500, 1500, 0, &d);
	cr_assert_eq(d.sample_op, 5);
	cr_assert_eq(d.change_op, 5);
	soak_tally_add(&t, &down, 1500, &d);
	/* the first sample after the operation shows its new pid and a restart */
	up.pid = 11;
	up.restarts = 1;
	soak_during_of(&sp, "compute", 1500, 2500, 0, &d);
	cr_assert_eq(d.sample_op, 0);
	cr_assert_eq(d.change_op, 5);
	soak_tally_add(&t, &up, 2500, &d);
	/* a crash later is the service's own */
	up.pid = 12;
	up.restarts = 2;
	soak_during_of(&sp, "compute", 2500, 3500, 0, &d);
	cr_assert_eq(d.sample_op + d.change_op, 0);
	soak_tally_add(&t, &up, 3500, &d);
	down.pid = 12;
	soak_tally_add(&t, &down, 4500, &d);
	cr_assert_eq(t.samples, 5);
	cr_assert_eq(t.inactive, 1);
	cr_assert_eq(t.restarts, 1);
	cr_assert_eq(t.pids, 2, "the first pid and the crash's");
	cr_assert_eq(t.op_samples, 1);
	cr_assert_eq(t.op_inactive, 1);
	cr_assert_eq(t.op_restarts, 1);
	cr_assert_eq(t.op_pids, 1);
	cr_assert_eq(t.nops, 1);
	aside = soak_set_aside(&t, &sp, false);
	cr_assert_str_eq(aside, "compute: set aside during operation seq:5 (deploy): 1 sample, 1 "
				"not active, 1 restart, 1 new pid");
	free(aside);
	/* the sampler's own count (no spans) keeps everything */
	memset(&t, 0, sizeof(t));
	soak_tally_add(&t, &down, 1500, NULL);
	cr_assert_eq(t.inactive, 1);
	cr_assert_null(soak_set_aside(&t, &sp, false));
	strv_free(&span.services);
}

/* With the runtime's start time, a restart is put down to the span that holds it, to the
 * nanosecond: a crash just after an operation ended is the service's own, though the sample
 * that shows it is the first after the operation; one inside it is the operation's, however
 * late it is seen. Each start is kept with its time. */
Test(soak, the_runtimes_start_time_decides_whose_restart_it_is)
{
	struct soak_span span = {.op = 5, .kind = "cutover", .start_ns = 1000, .end_ns = 2000};
	struct soak_spans sp = {.v = &span, .n = 1};
	struct soak_tally t = {.name = "compute", .runtime = -1};
	struct soak_during d;
	struct ledger_unit_observed o = {
	    .service = "compute", .active_state = "active", .pid = 10, .started_ns = 400};
	const struct soak_start *s;

	strv_push(&span.services, "compute");
	soak_during_of(&sp, "compute", 0, 500, o.started_ns, &d);
	soak_tally_add(&t, &o, 500, &d);
	/* restarted at 1500, inside the span, seen at 2500 */
	o.pid = 11, o.restarts = 1, o.started_ns = 1500;
	soak_during_of(&sp, "compute", 500, 2500, o.started_ns, &d);
	cr_assert_eq(d.change_op, 5);
	soak_tally_add(&t, &o, 2500, &d);
	/* a sample inside the span, then a crash at 2300, after it: without the start time the
	 * first sample after the span would give it to the operation */
	soak_during_of(&sp, "compute", 1900, 2600, 0, &d);
	cr_assert_eq(d.change_op, 5, "the old rule, with no start time");
	soak_during_of(&sp, "compute", 1900, 2600, 2300, &d);
	cr_assert_eq(d.change_op, 0, "started after the span: the service's own");
	t.last_ns = 1900;
	o.pid = 12, o.restarts = 2, o.started_ns = 2300;
	soak_tally_add(&t, &o, 2600, &d);
	cr_assert_eq(t.op_restarts, 1);
	cr_assert_eq(t.restarts, 1);
	cr_assert_eq(t.nstarts, 2);
	s = soak_tally_start(&t, 0);
	cr_assert(s->at_ns == 1500 && s->exact && s->restart && s->op == 5);
	s = soak_tally_start(&t, 1);
	cr_assert(s->at_ns == 2300 && s->exact && s->op == 0);
	/* a new pid with no start time said: the sample's time, not exact */
	o.pid = 13, o.started_ns = 0;
	soak_during_of(&sp, "compute", 2600, 3600, 0, &d);
	soak_tally_add(&t, &o, 3600, &d);
	s = soak_tally_start(&t, 2);
	cr_assert(s->at_ns == 3600 && !s->exact && !s->restart && s->op == 0);
	/* the ring keeps the newest */
	for (int i = 0; i < SOAK_TALLY_STARTS; i++) {
		o.pid = 100 + (uint32_t)i;
		o.started_ns = 4000 + i * 1000 + 1;
		soak_during_of(&sp, "compute", t.last_ns, 4000 + (i + 1) * 1000, o.started_ns, &d);
		soak_tally_add(&t, &o, 4000 + (i + 1) * 1000, &d);
	}
	cr_assert_eq(t.nstarts, 3 + SOAK_TALLY_STARTS);
	cr_assert_eq(soak_tally_start(&t, SOAK_TALLY_STARTS - 1)->at_ns,
		     4000 + (SOAK_TALLY_STARTS - 1) * 1000 + 1);
	cr_assert_eq(soak_tally_start(&t, 0)->at_ns, 4001);
	strv_free(&span.services);
}

/* The samples of a service whose owner changed in the window (a cut-over): one tally per
 * runtime, in the order sampled, each with its own baseline (the new unit is no restart). */
Test(soak, a_window_across_a_cut_over_is_tallied_per_runtime)
{
	_cleanup_free_ char *dir = tl_mkdtemp("soakpart"), *ldir = xasprintf("%s/l", dir);
	struct ledger *lg = NULL;
	struct soak_tally t[SOAK_TALLY_MAX];
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_OBSERVED};
	uint64_t start = 0, last = 0;
	size_t n = 0;
	struct gen g;

	cr_assert_eq(ledger_open(&lg, ldir, LEDGER_OPEN_CREATE, NULL), 0);
	gen_init(&g, lg, 9);
	ev.u.unit_observed.service = "candles";
	ev.u.unit_observed.active_state = "active";
	for (int i = 0; i < 6; i++) {
		ev.u.unit_observed.runtime = i < 3 ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;
		ev.u.unit_observed.restarts = i < 3 ? 4 : 0;
		ev.u.unit_observed.pid = i < 3 ? 100 : 200;
		last = gen_emit(&g, &ev);
		if (!start)
			start = last;
	}
	cr_assert_eq(soak_window_tally(lg, start, last, NULL, t, &n, NULL, NULL, NULL, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert(t[0].runtime == LEDGER_RT_DOCKER && t[0].samples == 3);
	cr_assert(t[1].runtime == LEDGER_RT_NATIVE && t[1].samples == 3);
	cr_assert_eq(t[0].restarts + t[1].restarts, 0);
	cr_assert_eq(t[1].pids, 1, "its first pid only");
	cr_assert_eq(soak_tally_part(t, n, 0, +1), &t[1]);
	cr_assert_eq(soak_tally_part(t, n, 1, -1), &t[0]);
	cr_assert_null(soak_tally_part(t, n, 1, +1));
	cr_assert(t[0].last_ns < t[1].first_ns);
	ledger_close(lg);
	tl_rmrf(dir);
}

static uint64_t observe(struct gen *g, const char *service, const char *state)
{
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_OBSERVED};

	ev.u.unit_observed.service = service;
	ev.u.unit_observed.active_state = state;
	ev.u.unit_observed.sub_state = "";
	ev.u.unit_observed.pid = 7;
	return gen_emit(g, &ev);
}

/* Spans read from a real ledger: an operation in flight when the window opened counts from its
 * request to its own end; one that died (the interrupted close a later operation wrote for it,
 * with no duration, is not its end) is cut at its last event and said to be unfinished, so the
 * samples after it are the service's again; a standalone refusal has no span. */
Test(soak, spans_from_the_ledger_and_a_dead_operation_cut_at_its_last_event)
{
	static const char *const compute[] = {"compute"}, *const candles[] = {"candles"};
	_cleanup_free_ char *dir = tl_mkdtemp("soakspan"), *ldir = xasprintf("%s/l", dir);
	struct ledger *lg = NULL;
	struct soak_spans sp;
	struct soak_tally t[SOAK_TALLY_MAX];
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED};
	uint64_t a, b, start, refused, last;
	size_t n = 0;
	struct gen g;
	int64_t restart_b_ns;

	cr_assert_eq(ledger_open(&lg, ldir, LEDGER_OPEN_CREATE, NULL), 0);
	gen_init(&g, lg, 7);
	a = gen_request(&g, "deploy", "c1", LEDGER_RT_NATIVE, compute, 1, 0);
	start = observe(&g, "compute", "active"); /* the window opens here */
	gen_restart(&g, a, LEDGER_RT_NATIVE, compute, 1);
	observe(&g, "compute", "activating");
	gen_finish(&g, a, LEDGER_OUT_SUCCEEDED, 0, "");
	observe(&g, "compute", "active");
	b = gen_request(&g, "deploy", "c2", LEDGER_RT_NATIVE, candles, 1, 0);
	observe(&g, "candles", "activating");
	gen_restart(&g, b, LEDGER_RT_NATIVE, candles, 1);
	restart_b_ns = g.t;
	observe(&g, "candles", "failed"); /* after b died: the service's */
	observe(&g, "candles", "failed");
	ev.op = b;
	ev.u.op_finished.outcome = LEDGER_OUT_INTERRUPTED;
	ev.u.op_finished.error = "interrupted: process 4242 stopped during phase 'rollout'";
	gen_emit(&g, &ev);
	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_OP_REFUSED;
	ev.u.op_refused.req.kind = "deploy";
	ev.u.op_refused.req.commit = "c3";
	ev.u.op_refused.req.services = (struct ledger_strv){1, (const char **)candles};
	ev.u.op_refused.guard = "dirty-tree";
	ev.u.op_refused.reason = "dirty";
	refused = gen_emit(&g, &ev);
	last = observe(&g, "candles", "active");

	cr_assert_eq(soak_window_spans(lg, start, last, &sp), 0);
	cr_assert_eq(sp.n, 2, "a, b; no span for the refusal %llu", (unsigned long long)refused);
	cr_assert_eq(sp.v[0].op, a, "the operation in flight when the window opened");
	cr_assert_not(sp.v[0].unfinished);
	cr_assert_eq(sp.v[1].op, b);
	cr_assert(sp.v[1].unfinished);
	cr_assert_eq(sp.v[1].end_ns, restart_b_ns, "b is cut at its last event of its own");
	cr_assert_str_eq(sp.v[1].services.v[0], "candles");

	cr_assert_eq(soak_window_tally(lg, start, last, &sp, t, &n, NULL, NULL, NULL, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(t[0].name, "compute");
	cr_assert_eq(t[0].op_samples, 2, "the first sample and the activating one are a's");
	cr_assert_eq(t[0].op_inactive, 1);
	cr_assert_eq(t[0].inactive, 0);
	cr_assert_str_eq(t[1].name, "candles");
	cr_assert_eq(t[1].op_samples, 1);
	cr_assert_eq(t[1].op_inactive, 1);
	cr_assert_eq(t[1].inactive, 2, "the samples after the dead operation are not hidden");
	soak_spans_release(&sp);
	ledger_close(lg);
	tl_rmrf(dir);
}
