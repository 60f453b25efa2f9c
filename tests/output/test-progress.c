/* SPDX-License-Identifier: MIT */
/* The progress line's policy (when it is shown) and its text (never wider than the terminal,
 * no control bytes, the ETA or "no history yet"). The line on a real terminal is tested in
 * tests/integration/test-progress.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "progress.h"

#define S 1000000000LL

Test(progress, shown_only_on_a_terminal_without_quiet_json_ci_or_the_flag)
{
	cr_assert(progress_decide(true, false, 0, false, NULL));
	cr_assert(progress_decide(true, false, 1, false, "false"));
	cr_assert(progress_decide(true, false, 0, false, ""));
	cr_assert_not(progress_decide(false, false, 0, false, NULL), "piped");
	cr_assert_not(progress_decide(true, true, 0, false, NULL), "--json");
	cr_assert_not(progress_decide(true, false, -1, false, NULL), "-q");
	cr_assert_not(progress_decide(true, false, 0, true, NULL), "--no-progress");
	cr_assert_not(progress_decide(true, false, 0, false, "true"), "CI=true");
	cr_assert_not(progress_decide(true, false, 0, false, "1"), "CI=1");
}

Test(progress, text)
{
	char b[256];

	progress_format(b, sizeof(b), 200, "build", 38 * S, 41 * S, 45 * S, 12 * S, true,
			"build: bun install", NULL, -1);
	cr_assert_str_eq(b, "~ build 38s, usually 41s | 45s in, ETA 12s | build: bun install");
	progress_format(b, sizeof(b), 200, "verify", 2 * S, 3 * S, 14 * S, S, true, "4 of 6 stable",
			"settle", 600000000LL);
	cr_assert_str_eq(b, "~ verify 2.0s, usually 3.0s | 14s in, ETA 1.0s | 4 of 6 stable, "
			    "settle 0.6s left");
	progress_format(b, sizeof(b), 200, "rollout", 125 * S, 0, 130 * S, 0, false, NULL, NULL,
			-1);
	cr_assert_str_eq(b, "~ rollout 2m05s | 2m10s in, no ETA (no history yet)");
}

Test(progress, narrower_than_the_terminal_and_no_controls)
{
	char b[256];
	size_t n;

	n = progress_format(b, sizeof(b), 30, "verify", 2 * S, 3 * S, 14 * S, S, true,
			    "4 of 6 stable", "settle", S);
	cr_assert_eq(n, 29);
	cr_assert_eq(strlen(b), 29);
	progress_format(b, sizeof(b), 200, "build", S, 0, S, 0, false, "x\033[2J\ty\xc3\xa9", NULL,
			-1);
	for (const char *p = b; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "%s", b);
}

/* A narrow terminal gives up the usual time and the time in before what the phase waits for,
 * then the end of what it waits for; its time left (until the timeout) stays to the last. */
Test(progress, a_narrow_terminal_keeps_what_it_waits_for)
{
	const char *what = "waiting for app-compute.service (3 of 4 done)";
	char b[256];
	size_t n;

	progress_format(b, sizeof(b), 110, "restart", 2 * S, 3 * S, 14 * S, 4 * S, true, what,
			"timeout", 9600000000LL);
	cr_assert_str_eq(b,
			 "~ restart 2.0s | 14s in, ETA 4.0s | waiting for app-compute.service (3 "
			 "of 4 done), timeout 9.6s left");
	n = progress_format(b, sizeof(b), 80, "restart", 2 * S, 3 * S, 14 * S, 4 * S, true, what,
			    "timeout", 9600000000LL);
	cr_assert_str_eq(b, "~ restart | ETA 4.0s | waiting for app-compute.service (3..., timeout "
			    "9.6s left");
	cr_assert_eq(n, 79);
	n = progress_format(b, sizeof(b), 60, "restart", 2 * S, 0, 14 * S, 0, false, what,
			    "timeout", 9600000000LL);
	cr_assert_str_eq(b, "~ restart | no ETA | waiting for app-..., timeout 9.6s left");
	cr_assert_eq(n, strlen(b));
	cr_assert_eq(n, 59);
}
