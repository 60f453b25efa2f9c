/* SPDX-License-Identifier: MIT */
/* The expected durations at the start of a deploy, the live progress line under a real
 * pseudo-terminal (script(1) from bsdutils) and its absence when piped, with CI=true, with
 * --no-progress and with --json, the same ledger records either way, and a phase made slow after
 * several fast ones flagged in the timings block and recorded as phase.slow. Real user manager,
 * real units. The line says what is waited for: the build's command, the systemd restart jobs by
 * unit, the settle window; and on the docker runtime (real engine, when there is one) the compose
 * commands and the containers' settle window. */
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
		/* a wide terminal: the line is cut to the width, and the end says what is waited
		 * for */
		_cleanup_free_ char *cmd =
		    xasprintf("stty cols 250 && env -u CI %s '%s' -c '%s' deploy main --fast %s",
			      env ? env : "", SHIPLOG_BINARY, conf, extra ? extra : "");
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
	/* compute takes 0.3 s to stop: its restart job is waited for on the line */
	sample_commit(&s, NULL, "echo 'compute.stop_delay = 0.3' >> app.conf", "slow compute stop");
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

	/* 2: on a terminal: expected durations of one earlier deploy, then the live line; the
	 * build takes long enough to be drawn */
	deploy(&s, conf, true, "SHIPLOG_TEST_BUILD_SLEEP=0.4", NULL, &r);
	cr_assert(strstr(r.out, "[deploy] expected (p50 of the last 1 succeeded native deploy of "
				"this scope): precheck "),
		  "%s", r.out);
	cr_assert(strstr(r.out, "[deploy] expected total: "), "%s", r.out);
	cr_assert(strstr(r.out, ", verify "), "%s", r.out);
	cr_assert(has_progress(r.out), "no progress line on a terminal:\n%s", r.out);
	cr_assert(strstr(r.out, "\r~ verify ") && strstr(r.out, "usually"),
		  "no verify progress:\n%s", r.out);
	cr_assert(strstr(r.out, "stable, settle "), "the settle wait is not shown:\n%s", r.out);
	/* what each wait is for: the build's command, the unit whose restart job runs */
	cr_assert(strstr(r.out, "\r~ build ") &&
		      strstr(r.out, " | build: sleep ${SHIPLOG_TEST_BUILD_SLEEP:-0}"),
		  "the build's wait is not shown:\n%s", r.out);
	{
		_cleanup_free_ char *waiting =
		    xasprintf(" | restart: waiting for %s-compute.service (", s.project);

		cr_assert(strstr(r.out, "\r~ restart ") && strstr(r.out, waiting) &&
			      strstr(r.out, " done), timeout "),
			  "the restart jobs waited for are not shown:\n%s", r.out);
	}
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
	deploy(&s, conf, true, "SHIPLOG_TEST_BUILD_SLEEP=0.4", "--no-progress", &r);
	cr_assert(!has_progress(r.out), "a progress line with --no-progress:\n%s", r.out);
	op_plain = sample_newest_op(&s, "\"deploy\"");
	tl_run_release(&r);

	/* the ledger holds the same with and without the line */
	with = export_shape(&s, conf, op_tty);
	without = export_shape(&s, conf, op_plain);
	cr_assert(strlen(with) > 200, "%s", with);
	cr_assert_str_eq(with, without, "the records differ with the progress line");

	/* 5: one more fast one, on a terminal with --json: no line in the JSON; then 6: a slow
	 * build after five fast ones */
	deploy(&s, conf, true, NULL, "--json", &r);
	cr_assert(!has_progress(r.out), "a progress line with --json:\n%s", r.out);
	cr_assert(strstr(r.out, "{\""), "no JSON on a terminal with --json:\n%s", r.out);
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

/* The sample's compose deployment removed: its containers, network and images. */
static void docker_clean(struct sample *s)
{
	tl_sh("ids=$(docker ps -aq --filter label=com.docker.compose.project=%s-vps); "
	      "[ -n \"$ids\" ] && docker rm -f $ids >/dev/null 2>&1; "
	      "docker network rm %s-vps_default %s-vps-default >/dev/null 2>&1; "
	      "imgs=$(docker image ls -q --filter 'reference=%s-vps-*'); "
	      "[ -n \"$imgs\" ] && docker rmi -f $imgs >/dev/null 2>&1; true",
	      s->project, s->project, s->project, s->project);
}

static struct sample docker_sample;

static void docker_fini(void)
{
	if (docker_sample.dir) {
		docker_clean(&docker_sample);
		sample_teardown(&docker_sample);
	}
}

/* The docker runtime on the same line: the compose commands it waits for (the image build, the
 * `up`) and the containers' settle window. One service, a fresh image: one build. */
Test(progress, docker_waits_are_shown, .fini = docker_fini, .timeout = 300)
{
	struct sample *s = &docker_sample;
	struct tl_run r;
	_cleanup_free_ char *snippet = NULL, *cmd = NULL, *conf = NULL;

	TL_REQUIRE(tl_have_docker(), "a private Docker engine");
	REQUIRE_MANAGER();
	sample_setup(s, "progdk", false);
	snippet = xasprintf("'%s/tools/add-docker-sample.sh' . '%s' %d >/dev/null",
			    SHIPLOG_SOURCE_DIR, s->project, s->port);
	sample_commit(s, NULL, snippet, "docker sample");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s->checkout), 0);
	/* a settle window longer than the first `docker inspect` takes on a busy engine */
	conf = sample_alt_conf(s, "progdk", "[policy]", "settle = 2s");
	cmd = xasprintf("stty cols 250 && env -u CI '%s' -c '%s' deploy main --runtime docker "
			"--pieces web --fast",
			SHIPLOG_BINARY, conf);
	{
		char *argv[] = {"script", "-qfec", cmd, "/dev/null", NULL};

		tl_run(&r, s->checkout, NULL, argv);
	}
	cr_assert_eq(r.exit_code, 0, "deploy failed:\n%s\n%s", r.out, r.err);
	/* compose v2 (docker compose) or v1 (docker-compose), as the engine has it */
	cr_assert(strstr(r.out, "\r~ precheck ") && strstr(r.out, "compose config\033[K"),
		  "compose's own probes are not shown:\n%s", r.out);
	cr_assert(strstr(r.out, "\r~ build ") && strstr(r.out, " | build: docker") &&
		      strstr(r.out, "compose build web\033[K"),
		  "the image build's wait is not shown:\n%s", r.out);
	cr_assert(strstr(r.out, " | up: docker") &&
		      strstr(r.out, "compose up -d --no-deps --no-build web\033[K"),
		  "the compose up's wait is not shown:\n%s", r.out);
	cr_assert(strstr(r.out, "\r~ verify ") && strstr(r.out, " | 1 of 1 stable, settle "),
		  "the containers' settle window is not shown:\n%s", r.out);
	cr_assert(!has_progress(strstr(r.out, "Deploy Timings")), "drawn after the end:\n%s",
		  r.out);
	tl_run_release(&r);
}
