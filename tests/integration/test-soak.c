/* SPDX-License-Identifier: MIT */
/* Soak windows against the real manager: samples land in the ledger, the report names what ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

Test(soak, samples_units_and_reports_the_window)
{
	struct sample s;
	struct tl_run r;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	sample_setup(&s, "soak", true);
	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "after-cutover", "--workers-only",
		       "--every", "200ms", "--for", "30s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	/* a second soak while one runs is refused */
	sample_shiplog(&s, &r, NULL, "soak", "start", NULL);
	cr_assert_eq(r.exit_code, 3, "%s\n%s", r.out, r.err);
	tl_run_release(&r);

	sample_commit(&s, NULL, "echo x >> NOTES", "during the soak");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	usleep(500000);
	sample_shiplog(&s, &r, NULL, "soak", "stop", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "soak", "report", "--name", "after-cutover", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "compute") && strstr(r.out, "SAMPLES"), "%s", r.out);
	cr_assert(strstr(r.out, "deploy requested"), "the deploy in the window is not listed:\n%s",
		  r.out);
	cr_assert(!strstr(r.out, "(running)"), "stopped soak still shown running:\n%s", r.out);
	tl_run_release(&r);
	cr_assert_geq(sample_count_events(&s, "unit.observed"), 8, "too few samples recorded");
	cr_assert_eq(sample_count_events(&s, "soak.stopped"), 1);
	sample_teardown(&s);
}

/* The sampler is a transient unit of the manager, not a child of the command: it runs after
 * `soak start` returned, and ends by itself at --for with soak.stopped. */
Test(soak, sampler_is_a_unit_that_ends_at_for)
{
	struct sample s;
	struct tl_run r;
	char unit[256] = "", *nl;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	sample_setup(&s, "soakfor", true);
	sample_shiplog(&s, &r, NULL, "soak", "start", "--pieces", "compute", "--every", "200ms",
		       "--for", "2s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	nl = strstr(r.out, "sampler unit ");
	cr_assert(nl, "no unit named:\n%s", r.out);
	strlcpy_(unit, nl + 13, sizeof(unit));
	unit[strcspn(unit, "\n")] = '\0';
	tl_run_release(&r);
	cr_assert_eq(tl_sh("systemctl --user is-active --quiet '%s'", unit), 0,
		     "sampler unit %s is not active", unit);
	for (int i = 0; i < 60 && sample_count_events(&s, "soak.stopped") == 0; i++)
		usleep(100000);
	cr_assert_eq(sample_count_events(&s, "soak.stopped"), 1, "the soak did not end at --for");
	cr_assert_geq(sample_count_events(&s, "unit.observed"), 5);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--json", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "\"running\":false") && strstr(r.out, "\"runtime\":\"native\""),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\"overall\":\"pass\""), "a healthy unit does not pass:\n%s",
		  r.out);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "soak.verdict"), 1);
	sample_teardown(&s);
}

/* A unit made to crash: its restarts and the error lines it logged (a configured pattern) are
 * in the report, its journal lines shown, and the verdict fails for it alone; it is recorded
 * once, as soak.verdict. */
Test(soak, a_crashing_unit_fails_the_verdict_with_its_journal_lines)
{
	struct sample s;
	struct tl_run r;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	TL_REQUIRE(getenv("SHIPLOG_TEST_JOURNAL") && getenv("SHIPLOG_JOURNAL_DIR"),
		   "a private journald");
	char *orig_conf;

	sample_setup(&s, "soakcrash", false);
	/* units that write to the journal: no log_dir */
	orig_conf = s.conf;
	s.conf = sample_alt_conf(&s, "journal", "runtime native", "log_dir = ");
	cr_assert_eq(tl_sh("printf '\\n[soak]\\nerror_pattern = crashing\\nlog_lines = 5\\n' >> "
			   "'%s'",
			   s.conf),
		     0);
	sample_shiplog(&s, &r, NULL, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("systemctl --user start %s-compute.service %s-candles.service",
			   s.project, s.project),
		     0);
	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "crashy", "--pieces",
		       "compute,candles", "--every", "200ms", "--for", "7s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("echo 'compute.crash_after = 0.5' >> '%s/app.conf' && systemctl --user "
			   "restart %s-compute.service",
			   s.checkout, s.project),
		     0);
	for (int i = 0; i < 120 && sample_count_events(&s, "soak.stopped") == 0; i++)
		usleep(100000);
	sample_shiplog(&s, &r, NULL, "soak", "report", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "crashing: crash_after elapsed"), "no journal line:\n%s", r.out);
	cr_assert(strstr(r.out, "compute: ") && strstr(r.out, "restart"), "no restart reason:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "error line"), "no error lines:\n%s", r.out);
	cr_assert(strstr(r.out, "  candles          pass") &&
		      strstr(r.out, "  compute          FAIL") &&
		      strstr(r.out, "  overall          FAIL"),
		  "wrong verdict:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--json", NULL);
	cr_assert(strstr(r.out, "\"overall\":\"fail\""), "%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "soak.verdict"), 1, "the verdict is recorded once");
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "\"type\":\"soak.verdict\"") && strstr(r.out, "\"pass\":false") &&
		      strstr(r.out, "compute=fail"),
		  "%s", r.out);
	tl_run_release(&r);
	free(s.conf);
	s.conf = orig_conf;
	sample_teardown(&s);
}
