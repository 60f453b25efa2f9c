/* SPDX-License-Identifier: MIT */
/* The expected durations at the start of a deploy, the live progress line under a real
 * pseudo-terminal (script(1) from bsdutils) and its absence when piped, with CI=true and with
 * --no-progress, the same ledger records either way, and a phase made slow after several fast
 * ones flagged in the timings block and recorded as phase.slow. Real user manager, real units. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "util.h"

#define REQUIRE_MANAGER() TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager")

static unsigned ncommit;

/* A new commit (NOTES changes: the build runs), then `deploy main --fast` with conf, either
 * piped or under a pseudo-terminal (script -qfec), with extra words and environment. */
static void deploy(struct sample *s, const char *conf, bool tty, const char *env, const char *extra,
		   struct tl_run *r)
{
	char msg[32];

	snprintf(msg, sizeof(msg), "change %u", ++ncommit);
	sample_commit(s, NULL, "echo x >> NOTES", msg);
	if (tty) {
		/* CI is unset unless the case sets it: the harness may run under CI=true */
		_cleanup_free_ char *cmd =
		    xasprintf("env -u CI %s '%s' -c '%s' deploy main --fast %s", env ? env : "",
			      SHIPLOG_BINARY, conf, extra ? extra : "");
		char *argv[] = {"script", "-qfec", cmd, "/dev/null", NULL};

		tl_run(r, s->checkout, NULL, argv);
	} else {
		char *argv[] = {SHIPLOG_BINARY, "-c",	  (char *)conf,	 "deploy",
				"main",		"--fast", (char *)extra, NULL};

		if (!extra)
			argv[6] = NULL;
		tl_run(r, s->checkout, NULL, argv);
	}
	cr_assert_eq(r->exit_code, 0, "deploy failed:\n%s\n%s", r->out, r->err);
}

static bool has_progress(const char *out)
{
	return strstr(out, "\r~ ") != NULL || strstr(out, "\033[K") != NULL;
}

/* The ledger export of operation number `number` (its events carry its id: the seq of its
 * op.requested), one event a line, with what differs between two runs of
 * the same deploy taken out: times, durations, pids, commits, ids and numbers, and the polls of
 * the settle window (attempts: how many fit in it). */
static char *export_shape(struct sample *s, const char *conf, unsigned long number)
{
	_cleanup_free_ char *cmd = xasprintf(
	    "'%s' -c '%s' ledger export > '%s/export' && "
	    "id=$(grep '\"type\":\"op.requested\"' '%s/export' | grep -E '\"number\":%lu[,}]' | "
	    "sed -E 's/^.\"seq\":([0-9]+).*/\\1/') && test -n \"$id\" && "
	    "grep -E \"\\\"op\\\":$id[,}]\" '%s/export' | sed -E "
	    "-e 's/\"(seq|op|time|time_ns|duration_ns|latency_ns|pid|number|before|after|"
	    "rollback_op|attempts)\":(\"[^\"]*\"|[0-9]+)/\"\\1\":_/g' "
	    "-e 's/[0-9a-f]{40}/C/g' -e 's/pid [0-9]+/pid N/g' "
	    "-e 's/change [0-9]+/change N/g' > '%s/shape.%lu'",
	    SHIPLOG_BINARY, conf, s->dir, s->dir, number, s->dir, s->dir, number);
	_cleanup_free_ char *path = xasprintf("%s/shape.%lu", s->dir, number);
	char *text;

	cr_assert_eq(tl_sh("%s", cmd), 0, "%s", cmd);
	text = tl_read(path);
	cr_assert_not_null(text);
	return text;
}

Test(progress, eta_progress_line_and_slow_phase, .timeout = 300)
{
	struct sample s;
	struct tl_run r;
	_cleanup_free_ char *conf = NULL;
	_cleanup_free_ char *with = NULL, *without = NULL;
	unsigned long op_tty, op_plain;

	REQUIRE_MANAGER();
	sample_setup(&s, "progress", true);
	/* a build that takes as long as SHIPLOG_TEST_BUILD_SLEEP says, run on every deploy */
	conf = sample_alt_conf(&s, "progress", "[runtime native]",
			       "build = sleep ${SHIPLOG_TEST_BUILD_SLEEP:-0}\n"
			       "build_when_changed = NOTES");

	/* 1: piped, nothing to compare with */
	deploy(&s, conf, false, NULL, NULL, &r);
	cr_assert(strstr(r.out, "[deploy] expected: no history yet (no earlier native deploy of "
				"this scope succeeded)"),
		  "%s", r.out);
	cr_assert(!has_progress(r.out), "a progress line on a pipe:\n%s", r.out);
	tl_run_release(&r);

	/* 2: on a terminal: expected durations of one earlier deploy, then the live line */
	deploy(&s, conf, true, NULL, NULL, &r);
	cr_assert(strstr(r.out, "[deploy] expected (p50 of the last 1 succeeded native deploy of "
				"this scope): precheck "),
		  "%s", r.out);
	cr_assert(strstr(r.out, "[deploy] expected total: "), "%s", r.out);
	cr_assert(strstr(r.out, ", verify "), "%s", r.out);
	cr_assert(has_progress(r.out), "no progress line on a terminal:\n%s", r.out);
	cr_assert(strstr(r.out, "\r~ verify ") && strstr(r.out, "usually"),
		  "no verify progress:\n%s", r.out);
	cr_assert(strstr(r.out, "stable, settle "), "the settle wait is not shown:\n%s", r.out);
	/* the line is gone before the timings block and drawn only at the start of a line: after
	 * a newline or in place of itself */
	cr_assert(strstr(r.out, "Deploy Timings"), "%s", r.out);
	cr_assert(!has_progress(strstr(r.out, "Deploy Timings")), "drawn after the end:\n%s",
		  r.out);
	for (const char *p = strstr(r.out, "\r~ "); p; p = strstr(p + 1, "\r~ "))
		cr_assert(p[-1] == '\n' || (p - r.out >= 3 && memcmp(p - 3, "\033[K", 3) == 0),
			  "a progress line inside a half line at %zd:\n%s", p - r.out, r.out);
	op_tty = sample_newest_op(&s, "\"deploy\"");
	tl_run_release(&r);

	/* 3, 4: a terminal, but CI=true or --no-progress: the expected durations, no line */
	deploy(&s, conf, true, "CI=true", NULL, &r);
	cr_assert(strstr(r.out, "[deploy] expected (p50 of the last 2 succeeded"), "%s", r.out);
	cr_assert(!has_progress(r.out), "a progress line with CI=true:\n%s", r.out);
	tl_run_release(&r);
	deploy(&s, conf, true, NULL, "--no-progress", &r);
	cr_assert(!has_progress(r.out), "a progress line with --no-progress:\n%s", r.out);
	op_plain = sample_newest_op(&s, "\"deploy\"");
	tl_run_release(&r);

	/* the ledger holds the same with and without the line */
	with = export_shape(&s, conf, op_tty);
	without = export_shape(&s, conf, op_plain);
	cr_assert(strlen(with) > 200, "%s", with);
	cr_assert_str_eq(with, without, "the records differ with the progress line");

	/* 5: one more fast one, then 6: a slow build after five fast ones */
	deploy(&s, conf, false, NULL, NULL, &r);
	cr_assert(!strstr(r.out, "SLOW"), "%s", r.out);
	tl_run_release(&r);
	sample_commit(&s, NULL, "echo x >> NOTES", "slow");
	{
		char *env[] = {"SHIPLOG_TEST_BUILD_SLEEP=1.5", NULL};
		char *argv[] = {SHIPLOG_BINARY, "-c", conf, "deploy", "main", "--fast", NULL};

		tl_run(&r, s.checkout, env, argv);
	}
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "[deploy] build: ") && strstr(r.out, "  SLOW: p95 ") &&
		      strstr(r.out, "over 5 earlier"),
		  "the slow build is not flagged:\n%s", r.out);
	tl_run_release(&r);
	/* recorded: another phase may be slow by chance on a loaded machine, the build is */
	cr_assert_geq(sample_count_events(&s, "phase.slow"), 1);
	{
		_cleanup_free_ char *id = xasprintf("%lu", sample_newest_op(&s, "\"deploy\""));

		sample_shiplog(&s, &r, NULL, "show", id, NULL);
	}
	cr_assert(strstr(r.out, "build slower than usual: "), "%s", r.out);
	cr_assert(strstr(r.out, "over the last 5 comparable operations"), "%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}
