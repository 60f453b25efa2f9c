/* SPDX-License-Identifier: MIT */
/* The soak verdict (op/soak.c), pure: thresholds, reasons, error lines, the comparison. */
#include <criterion/criterion.h>
#include <string.h>

#include <ledger/ledger.h>

#include "config.h"
#include "soak.h"
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
	soak_during_of(&sp, "web", 500, 1500, &d);
	cr_assert_eq(d.sample_op + d.change_op, 0, "web was not touched");
	soak_during_of(&sp, "compute", 0, 500, &d);
	cr_assert_eq(d.sample_op + d.change_op, 0);
	soak_tally_add(&t, &up, 500, &d);
	soak_during_of(&sp, "compute", 500, 1500, &d);
	cr_assert_eq(d.sample_op, 5);
	cr_assert_eq(d.change_op, 5);
	soak_tally_add(&t, &down, 1500, &d);
	/* the first sample after the operation shows its new pid and a restart */
	up.pid = 11;
	up.restarts = 1;
	soak_during_of(&sp, "compute", 1500, 2500, &d);
	cr_assert_eq(d.sample_op, 0);
	cr_assert_eq(d.change_op, 5);
	soak_tally_add(&t, &up, 2500, &d);
	/* a crash later is the service's own */
	up.pid = 12;
	up.restarts = 2;
	soak_during_of(&sp, "compute", 2500, 3500, &d);
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
	aside = soak_set_aside(&t, &sp);
	cr_assert_str_eq(aside, "compute: set aside during operation seq:5 (deploy): 1 sample, 1 "
				"not active, 1 restart, 1 new pid");
	free(aside);
	/* the sampler's own count (no spans) keeps everything */
	memset(&t, 0, sizeof(t));
	soak_tally_add(&t, &down, 1500, NULL);
	cr_assert_eq(t.inactive, 1);
	cr_assert_null(soak_set_aside(&t, &sp));
	strv_free(&span.services);
}
