/* SPDX-License-Identifier: MIT */
/* Soak windows against the real manager: samples land in the ledger, the report names what ran. */
#include <stdio.h>
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
