/* SPDX-License-Identifier: MIT */
/* Native deploys end to end against the real private user manager, real git repositories and the
 * sample app's real HTTP services and heartbeats. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

static char *const edge_ok[] = {"DEPLOY_NATIVE_EDGE_READY=1", NULL};

#define REQUIRE_MANAGER() TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager")

Test(deploy, fast_restarts_exactly_the_workers)
{
	struct sample s;
	struct tl_run r;
	unsigned web, api, compute, candles;
	char got[41], prev[41];
	const char *c2;

	REQUIRE_MANAGER();
	sample_setup(&s, "fast", true);
	sample_head(&s, prev);
	web = sample_main_pid(&s, "web");
	api = sample_main_pid(&s, "api");
	compute = sample_main_pid(&s, "compute");
	candles = sample_main_pid(&s, "candles");
	c2 = sample_commit(&s, NULL, "echo change >> NOTES", "second");

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "native", "--fast", NULL);
	cr_assert_eq(r.exit_code, 0, "deploy failed:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "== Deploy Timings =="), "no timings block:\n%s", r.out);
	cr_assert(strstr(r.out, "[deploy] total: "), "no total:\n%s", r.out);
	cr_assert(strstr(r.out, "--workers-only"), "fast narrowing not announced:\n%s", r.out);
	/* nothing was built through shiplog yet: the first deploy builds (issue 11 item 1) */
	cr_assert(strstr(r.out, "shared build: no completed build"), "build reason missing:\n%s",
		  r.out);

	cr_assert_eq(sample_main_pid(&s, "web"), web, "web was restarted");
	cr_assert_eq(sample_main_pid(&s, "api"), api, "api was restarted");
	cr_assert_neq(sample_main_pid(&s, "compute"), compute, "compute was not restarted");
	cr_assert_neq(sample_main_pid(&s, "candles"), candles, "candles was not restarted");
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c2, "compute runs %s, not the new commit %s", got, c2);
	sample_beat_commit(&s, "ingest-equities", got);
	cr_assert_str_eq(got, c2);
	sample_http_commit(&s, "web", got);
	cr_assert_str_eq(got, prev, "web should still answer the old commit");
	cr_assert_eq(sample_count_events(&s, "unit.restarted"), 4);
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, edge_refusal_fetches_nothing_and_is_recorded)
{
	struct sample s;
	struct tl_run r;
	char before[41];

	REQUIRE_MANAGER();
	sample_setup(&s, "edge", false);
	sample_commit(&s, NULL, "echo x >> NOTES", "unfetched");
	tl_sh("git -C '%s' rev-parse origin/main > '%s/before'", s.checkout, s.dir);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "native", NULL);
	cr_assert_eq(r.exit_code, 3, "expected refusal (3), got %d:\n%s\n%s", r.exit_code, r.out,
		     r.err);
	cr_assert(strstr(r.err, "DEPLOY_NATIVE_EDGE_READY=1"), "%s", r.err);
	cr_assert(strstr(r.err, "--workers-only"), "%s", r.err);
	cr_assert_eq(
	    tl_sh("git -C '%s' rev-parse origin/main | cmp -s - '%s/before'", s.checkout, s.dir), 0,
	    "the refused deploy fetched");
	cr_assert_eq(sample_count_events(&s, "op.refused"), 1);
	sample_shiplog(&s, &r, NULL, "--json", "history", NULL);
	cr_assert(strstr(r.out, "edge"), "history does not show the edge refusal: %s", r.out);
	(void)before;
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, dirty_checkout_is_refused_and_allowlist_passes)
{
	struct sample s;
	struct tl_run r;

	REQUIRE_MANAGER();
	sample_setup(&s, "dirty", true);
	tl_sh("echo tweak >> '%s/app.conf' && echo junk > '%s/stray.txt'", s.checkout, s.checkout);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "app.conf") && strstr(r.err, "stray.txt"), "paths not listed: %s",
		  r.err);
	tl_run_release(&r);

	tl_sh("cd '%s' && git checkout -q app.conf && rm stray.txt && echo ok > notes.local",
	      s.checkout);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "allowlisted untracked file blocked the deploy:\n%s\n%s",
		     r.out, r.err);
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, missing_unit_is_refused)
{
	struct sample s;
	struct tl_run r;

	REQUIRE_MANAGER();
	sample_setup(&s, "nounit", false);
	tl_sh("rm -f \"${XDG_CONFIG_HOME}/systemd/user/%s-candles.service\" && "
	      "systemctl --user daemon-reload",
	      s.project);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "-candles.service"), "unit not named: %s", r.err);
	cr_assert(strstr(r.err, "shiplog units install"), "no fix given: %s", r.err);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* Starts a deploy whose build sleeps, in the background; returns its pid. */
static pid_t slow_deploy(struct sample *s, const char *seconds)
{
	char *conf = xasprintf("%s/slow.conf", s->dir);
	pid_t pid;

	tl_sh("sed -e 's|^build = .*|build = sleep %s|' -e 's|^build_when_changed.*||' "
	      "-e 's|^\\[target\\]|[target]\\nlocal_exec = always|' '%s' > '%s'",
	      seconds, s->conf, conf);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char *log = xasprintf("%s/slow.log", s->dir);
		/* both appending: with stdout at its own offset ("w"), its writes overwrote the
		 * lines stderr had appended, and a test could not read them */
		fclose(fopen(log, "w"));
		freopen(log, "a", stdout);
		freopen(log, "a", stderr);
		execl(SHIPLOG_BINARY, SHIPLOG_BINARY, "-c", conf, "deploy", "main",
		      "--workers-only", (char *)NULL);
		_exit(127);
	}
	free(conf);
	/* wait until it runs its build */
	for (int i = 0; i < 100; i++) {
		if (tl_sh("grep -q 'sleep %s' '%s/slow.log' 2>/dev/null", seconds, s->dir) == 0)
			return pid;
		usleep(100000);
	}
	cr_assert_fail("the slow deploy never reached its build");
	return pid;
}

Test(deploy, second_deploy_is_refused_naming_the_holder)
{
	struct sample s;
	struct tl_run r;
	pid_t pid;
	int st;
	char pidtext[32];

	REQUIRE_MANAGER();
	sample_setup(&s, "lock", true);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	pid = slow_deploy(&s, "3");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	snprintf(pidtext, sizeof(pidtext), "pid %d", (int)pid);
	cr_assert(strstr(r.err, "lock held by") && strstr(r.err, pidtext),
		  "holder not named (%s): %s", pidtext, r.err);
	tl_run_release(&r);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the slow deploy failed");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--wait-lock", "30s",
		       NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, killed_deploy_is_interrupted_and_the_next_succeeds)
{
	struct sample s;
	struct tl_run r;
	pid_t pid;
	char got[41];
	const char *c2;

	REQUIRE_MANAGER();
	sample_setup(&s, "kill", true);
	c2 = sample_commit(&s, NULL, "echo x >> NOTES", "next");
	pid = slow_deploy(&s, "30");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	sample_shiplog(&s, &r, NULL, "--json", "status", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "as interrupted"), "the dead operation was not closed:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "history", NULL);
	cr_assert(strstr(r.out, "interrupted"), "history: %s", r.out);
	cr_assert(strstr(r.out, "succeeded"), "history: %s", r.out);
	tl_run_release(&r);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c2);
	sample_teardown(&s);
}

/* Live (not zombie) processes in process group pgid. */
static int group_alive(int pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300], *stat, *p;
		int grp = 0;
		char state = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		stat = tl_read(path);
		if (!stat)
			continue;
		p = strrchr(stat, ')');
		if (p && sscanf(p + 2, "%c %*d %d", &state, &grp) == 2 && grp == pgid &&
		    state != 'Z' && state != 'X')
			n++;
		free(stat);
	}
	closedir(d);
	return n;
}

/* shiplog SIGKILLed during its build: the build (a shell and the sleep it runs, in their own
 * process group) must die with it, not run on as orphans. */
Test(deploy, killed_deploy_leaves_no_build_running)
{
	struct sample s;
	char *conf, *pidfile, *text = NULL, *over, *stat, *p;
	int shell = 0, pgid = 0, alive = -1;
	pid_t pid;

	REQUIRE_MANAGER();
	sample_setup(&s, "orphan", true);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	pidfile = xasprintf("%s/build.pid", s.dir);
	over = xasprintf("build = echo $$ > %s.tmp && mv %s.tmp %s && sleep 300\n"
			 "build_when_changed = NOTES",
			 pidfile, pidfile, pidfile);
	conf = sample_alt_conf(&s, "orphan", "[runtime native]", over);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char *log = xasprintf("%s/orphan.log", s.dir);
		/* both appending: with stdout at its own offset ("w"), its writes overwrote the
		 * lines stderr had appended, and a test could not read them */
		fclose(fopen(log, "w"));
		freopen(log, "a", stdout);
		freopen(log, "a", stderr);
		execl(SHIPLOG_BINARY, SHIPLOG_BINARY, "-c", conf, "deploy", "main",
		      "--workers-only", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !text; i++) {
		text = tl_read(pidfile);
		if (!text)
			usleep(50000);
	}
	cr_assert_not_null(text, "the deploy never ran its build");
	shell = atoi(text);
	cr_assert_gt(shell, 0);
	{
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/stat", shell);
		stat = tl_read(path);
		cr_assert_not_null(stat);
		p = strrchr(stat, ')');
		cr_assert(p && sscanf(p + 2, "%*c %*d %d", &pgid) == 1);
		free(stat);
	}
	cr_assert_gt(group_alive(pgid), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 100 && alive != 0; i++) {
		alive = group_alive(pgid);
		if (alive)
			usleep(100000);
	}
	if (alive)
		kill(-pgid, SIGKILL);
	cr_assert_eq(alive, 0,
		     "10 s after shiplog was killed, %d process(es) of its build still "
		     "run",
		     alive);
	free(text);
	free(over);
	free(conf);
	free(pidfile);
	sample_teardown(&s);
}

Test(deploy, unit_that_exits_at_once_fails_verify)
{
	struct sample s;
	struct tl_run r;

	REQUIRE_MANAGER();
	sample_setup(&s, "crash", true);
	sample_commit(&s, NULL, "echo 'compute.crash = 1' >> app.conf", "break compute");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--fast", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.out, "FAIL") && strstr(r.out, "-compute.service"), "%s", r.out);
	cr_assert(strstr(r.out, "== Deploy Timings =="), "no timings on failure:\n%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, failing_http_check_fails_with_its_reason)
{
	struct sample s;
	struct tl_run r;
	char *conf;

	REQUIRE_MANAGER();
	sample_setup(&s, "http", true);
	/* the check fails for good only at its timeout: 3 s, not the sample's 10 s */
	conf = sample_alt_conf(&s, "http", "[policy]", "health_timeout = 3s");
	sample_commit(&s, NULL, "echo 'api.health_status = 500' >> app.conf", "break api health");
	tl_shiplog(&r, s.checkout, edge_ok, "-c", conf, "deploy", "main", "--api-only", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.out, "500") || strstr(r.err, "500"), "reason missing:\n%s\n%s", r.out,
		  r.err);
	tl_run_release(&r);
	free(conf);
	sample_teardown(&s);
}

Test(deploy, hostile_refs_are_refused_or_literal)
{
	struct sample s;
	struct tl_run r;
	const char *evil = "ev$(touch${IFS}PWNED)il;x\"q`id`";
	char got[41];
	const char *c;
	char *pwned;

	REQUIRE_MANAGER();
	sample_setup(&s, "evil", true);
	pwned = xasprintf("%s/PWNED", s.checkout);

	sample_shiplog(&s, &r, NULL, "deploy", "x; touch PWNED", "--workers-only", NULL);
	cr_assert_neq(r.exit_code, 0);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "$(touch PWNED)", "--workers-only", NULL);
	cr_assert_neq(r.exit_code, 0);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "branch", "-rf", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "a leading '-' must be refused as usage: %d %s", r.exit_code,
		     r.err);
	tl_run_release(&r);

	/* a real branch whose name is full of shell syntax deploys literally */
	c = sample_commit(&s, evil, "echo evil >> NOTES", "evil branch");
	sample_shiplog(&s, &r, NULL, "deploy", "branch", evil, "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c);
	cr_assert_neq(access(pwned, F_OK), 0, "a ref was executed by a shell");
	cr_assert_neq(tl_sh("find '%s' -name PWNED | grep -q .", s.dir), 0,
		      "a ref was executed by a shell");
	free(pwned);
	sample_teardown(&s);
}

/* Issue 9 item 15: an unknown ref is a usage error (exit 2) and records nothing; a SHA is named
 * as given, never as refs/remotes/<remote>/<sha>; a commit only the remote has still deploys. */
Test(deploy, unknown_ref_exits_2_and_records_nothing)
{
	struct sample s;
	struct tl_run r;
	const char *sha = "0123456789abcdef0123456789abcdef01234567";
	const char *c;
	char got[41];
	int before;

	REQUIRE_MANAGER();
	sample_setup(&s, "noref", true);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	before = sample_count_events(&s, "op.requested");

	sample_shiplog(&s, &r, NULL, "deploy", "nosuchref", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "an unknown ref must exit 2, got %d:\n%s\n%s", r.exit_code,
		     r.out, r.err);
	cr_assert(strstr(r.err, "unknown ref 'nosuchref'"), "%s", r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", sha, "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.err, sha), "the SHA is not named: %s", r.err);
	cr_assert(!strstr(r.err, "refs/remotes") && !strstr(r.out, "refs/remotes"),
		  "the SHA is shown as a remote branch:\n%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "branch", "nosuchbranch", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "op.requested"), before,
		     "an unknown ref was recorded as an operation");

	/* a commit the checkout has not fetched yet resolves after the fetch and deploys */
	c = sample_commit(&s, NULL, "echo z >> NOTES", "only on the remote");
	sample_shiplog(&s, &r, NULL, "deploy", c, "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c);
	sample_shiplog(&s, &r, NULL, "history", NULL);
	cr_assert(!strstr(r.out, "refs/remotes"), "history: %s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* Issue 9 item 15: an origin that is a local path which was removed is named as such, with the
 * fix, instead of libgit2's bare "unsupported URL protocol". */
Test(deploy, removed_origin_path_is_named_with_the_fix)
{
	struct sample s;
	struct tl_run r;

	REQUIRE_MANAGER();
	sample_setup(&s, "noorigin", true);
	cr_assert_eq(tl_sh("o=$(git -C '%s' remote get-url origin) && case \"$o\" in /*) ;; *) "
			   "exit 1;; esac && mv \"$o\" '%s/origin-moved'",
			   s.checkout, s.dir),
		     0, "the sample's origin is not a local path");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.err, "no longer exists") && strstr(r.err, "remote set-url origin") &&
		      strstr(r.err, "[git] remote"),
		  "the message lacks the cause or the fix:\n%s", r.err);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* Issue 9 item 15: main was force-pushed, so the checkout's branch cannot fast-forward. The
 * refusal (guard diverged) says exactly how to reset to the remote; --reset-to-remote does it,
 * recorded as a step. */
Test(deploy, diverged_branch_says_how_to_reset_and_reset_to_remote_does_it)
{
	struct sample s;
	struct tl_run r;
	char c1[41], c2[41], now[41], *want;

	REQUIRE_MANAGER();
	sample_setup(&s, "diverged", true);
	strlcpy_(c1, sample_commit(&s, NULL, "echo one >> NOTES", "to be rewritten"), sizeof(c1));
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("git -C '%s' reset -q --hard HEAD~1", s.dev), 0);
	strlcpy_(c2, sample_commit(&s, NULL, "echo two >> NOTES", "force-pushed"), sizeof(c2));

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "%s\n%s", r.out, r.err);
	want = xasprintf("git -C %s reset --hard origin/main", s.checkout);
	cr_assert(strstr(r.err, "diverged") && strstr(r.err, want) &&
		      strstr(r.err, "--reset-to-remote"),
		  "the refusal does not say how to reset:\n%s", r.err);
	/* said once, as the refusal */
	cr_assert_null(strstr(strstr(r.err, want) + strlen(want), want),
		       "the refusal is printed more than once:\n%s", r.err);
	free(want);
	tl_run_release(&r);
	sample_head(&s, now);
	cr_assert_str_eq(now, c1, "the refused deploy moved the checkout");

	sample_shiplog(&s, &r, NULL, "deploy", "nosuchref", "--reset-to-remote", NULL);
	cr_assert_eq(r.exit_code, 2, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--reset-to-remote", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_head(&s, now);
	cr_assert_str_eq(now, c2);
	cr_assert_eq(
	    tl_sh("test \"$(git -C '%s' symbolic-ref HEAD)\" = refs/heads/main", s.checkout), 0,
	    "the checkout is not on main");
	sample_beat_commit(&s, "compute", now);
	cr_assert_str_eq(now, c2);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "\"reset\",\"--hard\",\"origin/main\""),
		  "the reset is not recorded as a step:\n%s", r.out);
	cr_assert(strstr(r.out, "reset-to-remote"), "the flag is not recorded");
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, check_runs_the_health_checks_now)
{
	struct sample s;
	struct tl_run r;
	char *env[3], *argv[4];

	REQUIRE_MANAGER();
	sample_setup(&s, "check", true);
	sample_shiplog(&s, &r, NULL, "check", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "ok") && strstr(r.out, "http-get"), "%s", r.out);
	tl_run_release(&r);

	/* the reference's helper, as a thin wrapper */
	env[0] = xasprintf("SHIPLOG=%s", SHIPLOG_BINARY);
	env[1] = xasprintf("SHIPLOG_CONFIG=%s", s.conf);
	env[2] = NULL;
	argv[0] = SHIPLOG_SOURCE_DIR "/tools/check-native-health.sh";
	argv[1] = "workers";
	argv[2] = NULL;
	tl_run(&r, s.checkout, env, argv);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "-compute.service"), "%s", r.out);
	cr_assert(!strstr(r.out, "-web.service"), "workers scope checked web:\n%s", r.out);
	tl_run_release(&r);

	tl_sh("systemctl --user stop %s-api.service", s.project);
	sample_shiplog(&s, &r, NULL, "--json", "check", "--api-only", NULL);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "\"ok\":false"), "%s", r.out);
	tl_run_release(&r);
	free(env[0]);
	free(env[1]);
	sample_teardown(&s);
}

Test(deploy, sigterm_ends_the_operation_interrupted_with_timings)
{
	struct sample s;
	struct tl_run r;
	pid_t pid;
	int st;
	char *log;

	REQUIRE_MANAGER();
	sample_setup(&s, "term", true);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	pid = slow_deploy(&s, "20");
	/* twice at once, as timeout(1) and some supervisors send it: one request to stop */
	kill(pid, SIGTERM);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	log = xasprintf("%s/slow.log", s.dir);
	{
		char *text = tl_read(log);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d:\n%s", st, text);
		cr_assert(text && strstr(text, "== Deploy Timings =="), "%s", text);
		/* the one line says what the signal left: the checkout moved, nothing restarted */
		cr_assert(strstr(text, "interrupted by signal 15 after the checkout moved to ") &&
			      strstr(text, "nothing was restarted"),
			  "%s", text);
		cr_assert(!strstr(text, "Automatic Rollback"),
			  "rolled back behind the operator:\n%s", text);
		/* the build did not fail: the signal stopped it, and the line says so */
		cr_assert(strstr(text, "was stopped: shiplog got signal 15") &&
			      !strstr(text, "exited with status"),
			  "the stopped build reads as a failed one:\n%s", text);
		free(text);
	}
	free(log);
	usleep(200000);
	cr_assert_neq(tl_sh("pgrep -f '^sleep 20$' >/dev/null"), 0,
		      "the interrupted build's process was left running");
	cr_assert_eq(sample_count_events(&s, "unit.restarted"), 0,
		     "units were restarted after the operator interrupted the deploy");
	sample_shiplog(&s, &r, NULL, "--json", "history", "--limit", "1", NULL);
	cr_assert(strstr(r.out, "\"outcome\":\"interrupted\""), "%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}

Test(deploy, dry_run_says_what_the_guards_say_and_records_nothing)
{
	struct sample s;
	struct tl_run r;
	char *data;

	REQUIRE_MANAGER();
	sample_setup(&s, "dry", false);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 3, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "would refuse: the edge guard"), "%s", r.out);
	cr_assert(strstr(r.out, "nothing was changed or recorded"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "edge guard: passes") && strstr(r.out, "lock: free"), "%s", r.out);
	tl_run_release(&r);
	data = xasprintf("%s/data.mdb", s.ledger);
	cr_assert_neq(access(data, F_OK), 0, "a dry run created the ledger");
	free(data);
	sample_teardown(&s);
}

/* A build that prints terminal controls (a window-title OSC, CR, a UTF-8 C1 CSI): the deploy
 * transcript relays its output with them escaped, and so does 'show' from the ledger. */
Test(deploy, build_output_reaches_the_terminal_escaped)
{
	struct sample s;
	struct tl_run r;
	char *conf, *script, *over;

	REQUIRE_MANAGER();
	sample_setup(&s, "besc", true);
	script = xasprintf("%s/evil-build.sh", s.dir);
	tl_write(script, "printf 'x\\033]0;pwned\\007y\\r\\302\\233z\\n'\n"
			 "printf 'to stderr \\033[31mred\\n' >&2\nexit 3\n");
	over = xasprintf("build = sh %s\nbuild_when_changed =", script);
	conf = sample_alt_conf(&s, "besc", "[service compute]", over);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	tl_assert_no_controls("deploy stdout", r.out);
	tl_assert_no_controls("deploy stderr", r.err);
	cr_assert(strstr(r.out, "x\\x1b]0;pwned\\x07y\\x0d\\xc2\\x9bz"),
		  "the build's output is not shown escaped:\n%s", r.out);
	cr_assert(strstr(r.out, "to stderr \\x1b[31mred"), "stderr line missing:\n%s", r.out);
	tl_run_release(&r);

	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "show", "1", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_assert_no_controls("show", r.out);
	cr_assert(strstr(r.out, "\\x1b]0;pwned\\x07"), "show: %s", r.out);
	tl_run_release(&r);
	free(over);
	free(script);
	free(conf);
	sample_teardown(&s);
}

/* Issue 9 item 8: a build's output is redacted before it reaches the terminal, line by line:
 * the values of the configured environment and the secrets of URLs (userinfo, token-like query
 * values), also when a line arrives in pieces, and a last line without its newline. The ledger
 * keeps the same lines redacted. */
Test(deploy, build_output_is_redacted_before_it_is_shown)
{
	static const char *const secrets[] = {"UrlPw987", "TokPart4321", "hunter2-db-pass",
					      "LastPw55"};
	struct sample s;
	struct tl_run r, exp;
	char *conf, *script, *over, *all;

	REQUIRE_MANAGER();
	sample_setup(&s, "bred", true);
	script = xasprintf("%s/chatty-build.sh", s.dir);
	tl_write(script, "printf 'cloning http://bob:UrlPw987@git.example/x.git?access_token=Tok'\n"
			 "sleep 0.3\n"
			 "printf 'Part4321&depth=1\\n'\n"
			 "echo \"connecting with $DB_SEEN\"\n"
			 "printf 'last http://carol:LastPw55@h.example/' >&2\n"
			 "exit 3\n");
	over = xasprintf("build = sh %s\nbuild_when_changed =\nenv = DB_PASSWORD=hunter2-db-pass",
			 script);
	conf = sample_alt_conf(&s, "bred", "[service compute]", over);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	{
		/* the build sees the value the way a build gets it: from its environment */
		char *env[] = {"DB_SEEN=hunter2-db-pass", NULL};
		tl_shiplog(&r, s.checkout, env, "-c", conf, "deploy", "main", "--workers-only",
			   NULL);
	}
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	tl_shiplog(&exp, s.checkout, NULL, "-c", conf, "ledger", "export", NULL);
	cr_assert_eq(exp.exit_code, 0, "%s", exp.err);
	all = xasprintf("%s\n%s\n%s", r.out, r.err, exp.out);
	for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
		cr_assert_null(strstr(all, secrets[i]), "'%s' was printed or recorded:\n%s",
			       secrets[i], all);
	cr_assert(strstr(r.out, "cloning http://***@git.example/x.git?access_token=***&depth=1"),
		  "the URL line is not shown redacted:\n%s", r.out);
	cr_assert(strstr(r.out, "connecting with [redacted DB_PASSWORD]"),
		  "the environment value is not shown redacted:\n%s", r.out);
	cr_assert(strstr(r.out, "last http://***@h.example/"),
		  "the last line (no newline) is not shown:\n%s", r.out);
	tl_run_release(&r), tl_run_release(&exp);
	free(all), free(over), free(script), free(conf);
	sample_teardown(&s);
}

/* A failing build is named by its command, its output is kept (values of the configured
 * environment redacted) and shown by `show`, and builds are a phase of their own. */
Test(deploy, failing_build_names_the_command_and_keeps_its_redacted_output)
{
	struct sample s;
	struct tl_run r;
	char *conf;

	REQUIRE_MANAGER();
	sample_setup(&s, "bfail", true);
	tl_sh("echo 'API_KEY=s3cr3t-from-env-file' > '%s/.env'", s.checkout);
	conf = sample_alt_conf(&s, "bfail", "[service compute]",
			       "build = echo compiling; cat .env; echo \"token $TOKEN_SEEN\"; "
			       "echo the-real-error >&2; exit 3\n"
			       "build_when_changed =\n"
			       "env = DB_PASSWORD=hunter2-db-pass");
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	{
		char *env[] = {"TOKEN_SEEN=hunter2-db-pass", NULL};
		tl_shiplog(&r, s.checkout, env, "-c", conf, "deploy", "main", "--workers-only",
			   NULL);
	}
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "'echo compiling; cat .env;") && strstr(r.err, "status 3"),
		  "the failing command is not named:\n%s", r.err);
	cr_assert(!strstr(r.err, "'/bin/sh' exited"), "%s", r.err);
	cr_assert(strstr(r.out, "the-real-error") || strstr(r.err, "the-real-error"),
		  "the build's output did not stream:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "[deploy] build: ") && strstr(r.out, "(failed)"),
		  "no build phase in the timings:\n%s", r.out);
	tl_run_release(&r);

	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "show", "1", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "> the-real-error") && strstr(r.out, "> compiling"),
		  "show does not keep the build's last lines:\n%s", r.out);
	cr_assert(strstr(r.out, "== build =="), "no build phase recorded:\n%s", r.out);
	cr_assert(strstr(r.out, "[redacted API_KEY]") && strstr(r.out, "[redacted DB_PASSWORD]"),
		  "values not redacted:\n%s", r.out);
	cr_assert(!strstr(r.out, "s3cr3t-from-env-file") && !strstr(r.out, "hunter2-db-pass"),
		  "a secret value reached show:\n%s", r.out);
	tl_run_release(&r);
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "ledger", "export", NULL);
	cr_assert(!strstr(r.out, "s3cr3t-from-env-file") && !strstr(r.out, "hunter2-db-pass"),
		  "a secret value reached the ledger");
	cr_assert(strstr(r.out, "the-real-error"), "the output is not in the ledger");
	tl_run_release(&r);
	free(conf);
	sample_teardown(&s);
}

/* A build that rewrites a tracked file and leaves an untracked one is reported at once, with
 * the paths and the fixes, and recorded; an allowlisted file is not. */
Test(deploy, build_that_dirties_the_checkout_is_reported_and_recorded)
{
	struct sample s;
	struct tl_run r;
	char *conf;

	REQUIRE_MANAGER();
	sample_setup(&s, "bdirty", true);
	conf = sample_alt_conf(&s, "bdirty", NULL,
			       "build = echo rewritten >> app.conf; echo x > package-lock.json; "
			       "echo y > cache.local\n"
			       "build_when_changed =");
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "changed the checkout") && strstr(r.err, "M app.conf") &&
		      strstr(r.err, "?? package-lock.json"),
		  "the dirtying build was not reported with its paths:\n%s", r.err);
	cr_assert(strstr(r.err, ".gitignore") && strstr(r.err, "allow_untracked"),
		  "no fix given:\n%s", r.err);
	cr_assert(!strstr(r.err, "?? cache.local"), "an allowlisted path was reported:\n%s", r.err);
	tl_run_release(&r);

	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "--json", "show", "1", NULL);
	cr_assert(strstr(r.out, "\"what\":\"tree\"") && strstr(r.out, "?? package-lock.json"),
		  "the dirty paths were not recorded:\n%s", r.out);
	tl_run_release(&r);

	/* what the report announced: the next deploy is refused as dirty */
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	tl_run_release(&r);
	free(conf);
	sample_teardown(&s);
}

static unsigned unit_pid(struct sample *s, const char *service)
{
	return sample_main_pid(s, service);
}

/* [hooks] and per-service hooks run at their points, argv or shell, with the service's
 * environment; a failing before_restart stops the deploy before anything restarts; after_rollback
 * runs after an automatic rollback. */
Test(deploy, hooks_run_at_their_points_and_a_failing_before_restart_restarts_nothing)
{
	struct sample s;
	struct tl_run r;
	char *conf, *bad, *log, *text, pidline[64];
	unsigned pid;
	const char *c2;

	REQUIRE_MANAGER();
	sample_setup(&s, "hooks", true);
	log = xasprintf("%s/hooks.log", s.dir);
	conf = sample_alt_conf(
	    &s, "hooks", "[service compute]",
	    "env = MY_VAR=compute-value\n"
	    "before_restart = echo \"$SHIPLOG_SERVICE $MY_VAR $SHIPLOG_COMMIT pid $(systemctl "
	    "--user show -p MainPID --value $SHIPLOG_UNIT)\" >> ../hooks.log\n"
	    "after_verify = echo after_verify $SHIPLOG_SERVICE >> ../hooks.log\n"
	    "after_rollback = echo after_rollback $SHIPLOG_SERVICE $SHIPLOG_COMMIT >> "
	    "../hooks.log");
	tl_sh("printf '\\n[hooks]\\nbefore_restart = [\"touch\", \"%s/argv-hook-ran\"]\\n' >> '%s'",
	      s.dir, conf);
	c2 = sample_commit(&s, NULL, "echo x >> NOTES", "next");
	pid = unit_pid(&s, "compute");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	tl_run_release(&r);
	text = tl_read(log);
	snprintf(pidline, sizeof(pidline), "pid %u\n", pid);
	cr_assert(text && strstr(text, "compute compute-value ") && strstr(text, c2),
		  "the service hook did not get its environment: %s", text);
	cr_assert(strstr(text, pidline),
		  "before_restart did not run before the restart: %s (old "
		  "pid %u)",
		  text, pid);
	cr_assert(strstr(text, "after_verify compute"), "after_verify did not run: %s", text);
	free(text);
	cr_assert_eq(tl_sh("test -f '%s/argv-hook-ran'", s.dir), 0, "the argv hook did not run");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "show", "1", NULL);
	cr_assert(strstr(r.out, "[hook before_restart compute]") &&
		      strstr(r.out, "[hook before_restart]") && strstr(r.out, "[hook after_verify"),
		  "hooks not recorded as steps:\n%s", r.out);
	cr_assert(!strstr(r.out, "compute-value"), "a value reached show:\n%s", r.out);
	tl_run_release(&r);

	/* a failing before_restart: nothing restarts, nothing rolls back, the state is said */
	bad = sample_alt_conf(&s, "hooks-bad", "[service compute]",
			      "before_restart = echo migration failed >&2; exit 7");
	sample_commit(&s, NULL, "echo y >> NOTES", "third");
	pid = unit_pid(&s, "compute");
	tl_shiplog(&r, s.checkout, NULL, "-c", bad, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "status 7") && strstr(r.err, "nothing was restarted") &&
		      strstr(r.err, "still run"),
		  "the stop and the checkout's state are not said:\n%s", r.err);
	cr_assert(!strstr(r.out, "Automatic Rollback"), "%s", r.out);
	cr_assert_eq(unit_pid(&s, "compute"), pid, "compute was restarted after a failed hook");
	tl_run_release(&r);
	tl_shiplog(&r, s.checkout, NULL, "-c", bad, "--json", "history", "--limit", "1", NULL);
	cr_assert(strstr(r.out, "\"outcome\":\"failed\""), "%s", r.out);
	tl_run_release(&r);

	/* after_rollback runs after the automatic rollback of a broken commit */
	tl_sh("git -C '%s' reset -q --hard", s.checkout);
	sample_commit(&s, NULL, "echo 'compute.crash = 1' >> app.conf", "break compute");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	tl_run_release(&r);
	text = tl_read(log);
	cr_assert(text && strstr(text, "after_rollback compute"), "after_rollback did not run: %s",
		  text);
	free(text);
	free(bad);
	free(conf);
	free(log);
	sample_teardown(&s);
}

/* The number after "key": in a JSON line, or -1. */
static long long json_num(const char *line, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(line, needle);
	return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

/* Web and api both answer 500: the checks run side by side, so the failed deploy waits one
 * health timeout, not the sum of them, before the rollback starts (issue 9, item 16). */
Test(deploy, failing_checks_of_two_services_take_one_timeout, .timeout = 180)
{
	struct sample s;
	struct tl_run r;
	char c1[41];
	long long op = -1, verify_ns = -1;
	int failed = 0, cut = 0, ok = 0;
	char *save = NULL;

	REQUIRE_MANAGER();
	sample_setup(&s, "twofail", true);
	/* 3 s checks, from a good deploy: the same whichever config a deploy applies */
	strlcpy_(c1,
		 sample_commit(&s, NULL,
			       "sed -i 's/^health_timeout = .*/health_timeout = 3s/' shiplog.conf",
			       "3 s health timeout"),
		 sizeof(c1));
	sample_shiplog(&s, &r, edge_ok, "deploy", "main", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_commit(&s, NULL,
		      "printf 'web.health_status = 500\\napi.health_status = 500\\n' >> app.conf",
		      "break web and api");

	sample_shiplog(&s, &r, edge_ok, "deploy", "main", NULL);
	cr_assert_eq(r.exit_code, 1, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "Automatic Rollback"), "%s", r.out);
	tl_run_release(&r);
	{
		char got[41];
		sample_http_commit(&s, "web", got);
		cr_assert_str_eq(got, c1, "web was not rolled back");
		sample_http_commit(&s, "api", got);
		cr_assert_str_eq(got, c1, "api was not rolled back");
	}

	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	/* the first verify that failed is the deploy's (the rollback's passed) */
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (op < 0 && strstr(l, "\"type\":\"phase.finished\"") &&
		    strstr(l, "\"phase\":\"verify\"") && strstr(l, "\"ok\":false")) {
			op = json_num(l, "op");
			verify_ns = json_num(l, "duration_ns");
		}
	}
	cr_assert_gt(op, 0, "no failed verify phase in the ledger");
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	save = NULL;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strstr(l, "\"type\":\"health.checked\"") || json_num(l, "op") != op ||
		    !strstr(l, "\"kind\":\"http-"))
			continue;
		if (strstr(l, "\"ok\":true"))
			ok++;
		else if (strstr(l, "\"cut_short\":true")) {
			cut++;
			cr_assert(strstr(l, "\"detail\":\"cut short: "), "%s", l);
		} else {
			failed++;
			cr_assert(strstr(l, "HTTP 500"), "%s", l);
		}
	}
	tl_run_release(&r);
	cr_assert_eq(ok, 1, "web's HEAD / should pass");
	cr_assert_geq(failed, 1, "no check failed for good");
	cr_assert_eq(failed + cut, 2, "web and api /health: %d failed, %d cut short", failed, cut);
	/* settle 1 s + one 3 s timeout; in sequence it was 1 + 3 + 3 */
	cr_assert_lt(verify_ns, 5500000000LL, "verify took %.2f s", verify_ns / 1e9);
	sample_teardown(&s);
}

/* A secret in a URL (a git remote's userinfo, a health target's userinfo or token) is never
 * recorded or printed: the ledger and the output carry "***" in its place. */
Test(deploy, url_secrets_are_neither_recorded_nor_printed)
{
	static const char *const secrets[] = {"HealthPw1", "Tok3nVal", "AppPw22",
					      "K3yVal",	   "GitPw333", "gituser"};
	struct sample s;
	struct tl_run ok, bad, exp;
	char *orig_conf, *first, *remote, *overrides, *all;

	REQUIRE_MANAGER();
	sample_setup(&s, "secrets", true);
	cr_assert_eq(tl_sh("git -C '%s' remote add creds "
			   "'http://gituser:GitPw333@127.0.0.1:1/origin.git?access_token=Tok3nVal'",
			   s.checkout),
		     0);
	overrides = xasprintf("health = http-get "
			      "http://webuser:HealthPw1@127.0.0.1:%d/health?token=Tok3nVal&x=1\n"
			      "app_url = http://appuser:AppPw22@127.0.0.1:%d/?api_key=K3yVal",
			      s.port, s.port);
	orig_conf = s.conf;
	remote = xasprintf("%s\nremote = creds", overrides);
	first = sample_alt_conf(&s, "secrets-remote", NULL, remote);
	s.conf = sample_alt_conf(&s, "secrets", NULL, overrides);

	sample_commit(&s, NULL, "echo one >> NOTES", "one");
	sample_shiplog(&s, &ok, edge_ok, "deploy", "main", NULL);
	cr_assert_eq(ok.exit_code, 0, "%s\n%s", ok.out, ok.err);

	free(s.conf);
	s.conf = first;
	sample_commit(&s, NULL, "echo two >> NOTES", "two");
	sample_shiplog(&s, &bad, edge_ok, "deploy", "main", NULL);
	cr_assert_neq(bad.exit_code, 0, "a fetch from 127.0.0.1:1 succeeded:\n%s", bad.out);

	sample_shiplog(&s, &exp, NULL, "ledger", "export", NULL);
	cr_assert_eq(exp.exit_code, 0, "%s", exp.err);
	all = xasprintf("%s\n%s\n%s\n%s\n%s", exp.out, ok.out, ok.err, bad.out, bad.err);
	for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
		cr_assert_null(strstr(all, secrets[i]), "'%s' was recorded or printed:\n%s",
			       secrets[i], all);
	/* the targets and the remote are there, redacted */
	cr_assert(strstr(exp.out, "http://***@127.0.0.1:"), "no redacted target:\n%s", exp.out);
	cr_assert(strstr(exp.out, "token=***"), "no redacted token:\n%s", exp.out);
	cr_assert(strstr(bad.err, "http://***@127.0.0.1:1/origin.git") ||
		      strstr(bad.out, "http://***@127.0.0.1:1/origin.git"),
		  "the remote is not named:\n%s\n%s", bad.out, bad.err);
	tl_run_release(&ok), tl_run_release(&bad), tl_run_release(&exp);
	free(all), free(overrides), free(remote), free(s.conf);
	s.conf = orig_conf;
	sample_teardown(&s);
}

/* Issue 11 item 1: the checkout is already at the target and nothing was built through shiplog
 * (no build output at all): the first deploy builds. Then, with nothing new, it skips and says
 * what it compared with; --build forces the build. */
Test(deploy, first_deploy_builds_and_build_flag_forces_it)
{
	struct sample s;
	struct tl_run r;
	char *bin;

	REQUIRE_MANAGER();
	sample_setup(&s, "firstbuild", true);
	bin = xasprintf("%s/build/sampleapp", s.checkout);
	cr_assert_eq(unlink(bin), 0, "the sample has no build output to remove");

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "the first deploy did not build:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "shared build: no completed build of "), "%s", r.out);
	cr_assert_eq(access(bin, X_OK), 0, "no build output after the first deploy");
	cr_assert_eq(sample_count_events(&s, "build.completed"), 1);
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "skipping the shared build: ") &&
		      strstr(r.out, "was built completely by operation"),
		  "the skip does not say what it compared with:\n%s", r.out);
	tl_run_release(&r);

	sample_commit(&s, NULL, "echo x >> NOTES", "notes only");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out,
			 "skipping the shared build: none of app/sampleapp.c changed between "
			 "the last completed build"),
		  "%s", r.out);
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--build", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "shared build: --build"), "%s", r.out);
	cr_assert_eq(sample_count_events(&s, "build.completed"), 2);
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--build", "--no-build", NULL);
	cr_assert_eq(r.exit_code, 2, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	free(bin);
	sample_teardown(&s);
}

/* Issue 9 item 4: a SIGTERM during the build leaves the checkout moved and the build unfinished;
 * the next deploy must build (compared with the last completed build, not with the checkout). */
Test(deploy, interrupted_build_counts_as_no_build)
{
	struct sample s;
	struct tl_run r;
	char *conf, *log;
	pid_t pid;
	int st;

	REQUIRE_MANAGER();
	sample_setup(&s, "ibuild", true);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_commit(&s, NULL,
		      "echo 'const char shiplog_marker[] __attribute__((used)) = \"MARKER-v2\";' "
		      ">> app/sampleapp.c",
		      "new code");

	/* the same config, with a build that is slow before it compiles */
	conf = xasprintf("%s/slowbuild.conf", s.dir);
	log = xasprintf("%s/slowbuild.log", s.dir);
	tl_sh("sed -e 's|^build = |build = sleep 21 \\&\\& |' "
	      "-e 's|^\\[target\\]|[target]\\nlocal_exec = always|' '%s' > '%s'",
	      s.conf, conf);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		/* both appending: with stdout at its own offset ("w"), its writes overwrote the
		 * lines stderr had appended, and a test could not read them */
		fclose(fopen(log, "w"));
		freopen(log, "a", stdout);
		freopen(log, "a", stderr);
		execl(SHIPLOG_BINARY, SHIPLOG_BINARY, "-c", conf, "deploy", "main",
		      "--workers-only", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && tl_sh("grep -q 'sleep 21' '%s' 2>/dev/null", log) != 0; i++)
		usleep(100000);
	cr_assert_eq(tl_sh("grep -q 'shared build: ' '%s'", log), 0,
		     "the slow deploy did not build:\n%s", tl_read(log));
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d", st);
	cr_assert_neq(tl_sh("grep -q MARKER-v2 '%s/build/sampleapp'", s.checkout), 0);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out,
			 "shared build: 'app/sampleapp.c' changed between the last completed "
			 "build"),
		  "the build after an interrupted one was skipped:\n%s", r.out);
	cr_assert_eq(tl_sh("grep -q MARKER-v2 '%s/build/sampleapp'", s.checkout), 0,
		     "the binary does not hold the deployed code");
	tl_run_release(&r);
	free(conf);
	free(log);
	sample_teardown(&s);
}

/* A tmpfs of that size on dir (root only); false when it cannot be mounted. */
static bool mount_tmpfs(const char *dir, const char *size)
{
	return geteuid() == 0 &&
	       tl_sh("mkdir -p '%s' && mount -t tmpfs -o size=%s,mode=0700 tmpfs '%s' 2>/dev/null",
		     dir, size, dir) == 0;
}

static int count_lines_with(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Issue 9 item 3: a ledger on a disk that fills up. An event that cannot be appended stops the
 * operation before its next side effect: one message (cause, ledger path, fix), exit 4, the
 * checkout and the services untouched, no rollback claimed. Then the same with the ledger's
 * filesystem read-only. Real tmpfs, real git, the real user manager. */
Test(deploy, full_or_read_only_ledger_stops_before_any_side_effect)
{
	struct sample s;
	struct tl_run r;
	char *probe, *fs, *conf, *orig, head[41], now[41], moved[64], after[64];
	unsigned compute, pid;
	int stopped_midway = 0, fails = 0;
	bool fit = false;

	REQUIRE_MANAGER();
	probe = tl_mkdtemp("tmpfsprobe");
	TL_REQUIRE(mount_tmpfs(probe, "64k") && tl_sh("umount '%s'", probe) == 0,
		   "a tmpfs mount (root)");
	sample_setup(&s, "fulldisk", true);
	fs = xasprintf("%s/ledgerfs", s.dir);
	cr_assert(mount_tmpfs(fs, "4m"));
	conf = xasprintf("%s/full.conf", s.dir);
	tl_sh("sed -e 's|^ledger = .*|ledger = %s/ledger|' "
	      "-e 's|^\\[target\\]|[target]\\nlocal_exec = always|' '%s' > '%s'",
	      fs, s.conf, conf);
	orig = s.conf;
	s.conf = conf;

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	sample_head(&s, head);
	compute = sample_main_pid(&s, "compute");

	/* fill the disk, then give back 16 KiB at a time until a deploy fits: it must reserve
	 * OP_RECORD_ROOM (1 MiB) past the ledger before its first side effect, so there are three
	 * ways to fail on the way (op.requested, a sync, the reservation) and none may leave a
	 * side effect unrecorded */
	tl_sh("dd if=/dev/zero of='%s/fill' bs=4k >/dev/null 2>&1; sync", fs);
	for (int i = 0; i < 200 && !fit; i++) {
		if (i)
			tl_sh("truncate -s -16384 '%s/fill'", fs);
		sample_head(&s, head);
		compute = sample_main_pid(&s, "compute");
		sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
		if (r.exit_code == 0) {
			fit = true;
			tl_run_release(&r);
			break;
		}
		fails++;
		cr_assert_eq(r.exit_code, 4, "a full ledger disk must exit 4:\n%s\n%s", r.out,
			     r.err);
		cr_assert(strstr(r.err, "the disk is full: cannot ") && strstr(r.err, fs) &&
			      strstr(r.err, "free space"),
			  "the message lacks the cause, the ledger path or the fix:\n%s", r.err);
		cr_assert_eq(count_lines_with(r.err, "the disk is full"), 1,
			     "more than one message:\n%s", r.err);
		cr_assert(!strstr(r.err, "ROLLBACK") && !strstr(r.out, "Automatic Rollback"),
			  "a rollback was claimed:\n%s\n%s", r.out, r.err);
		if (strstr(r.err, "stopped before its next step"))
			stopped_midway++;
		/* whatever moved is in the ledger (or, for the checkout, said) */
		sample_head(&s, now);
		pid = sample_main_pid(&s, "compute");
		tl_run_release(&r);
		sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
		snprintf(moved, sizeof(moved), "\"to\":\"%s\"", now);
		snprintf(after, sizeof(after), "\"after\":\"%u\"", pid);
		cr_assert(streq(now, head) || strstr(r.out, moved),
			  "the checkout moved to %s without a record", now);
		cr_assert(pid == compute || strstr(r.out, after),
			  "compute was restarted (pid %u) without a record", pid);
		tl_run_release(&r);
	}
	cr_assert(fails > 0, "the full disk never stopped a deploy");
	cr_assert(fit, "no deploy fitted after %d failures", fails);
	cr_assert(stopped_midway > 0,
		  "no deploy was stopped after its intent was recorded (%d failures)", fails);
	tl_sh("rm -f '%s/fill'", fs);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "no deploy after the space came back:\n%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "verify", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);

	/* read-only */
	sample_commit(&s, NULL, "echo y >> NOTES", "after ro");
	sample_head(&s, head);
	cr_assert_eq(tl_sh("mount -o remount,ro '%s'", fs), 0);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 4, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.err, "read-only") && strstr(r.err, fs) && strstr(r.err, "remount"), "%s",
		  r.err);
	sample_head(&s, now);
	cr_assert_str_eq(now, head);
	tl_run_release(&r);

	tl_sh("umount -l '%s'", fs);
	s.conf = orig;
	free(conf);
	free(fs);
	tl_rmrf(probe);
	free(probe);
	sample_teardown(&s);
}

/* Issue 9 item 5: the checkout holds a shiplog.conf whose compute health check hangs (it was
 * pulled by hand, never deployed); the commit being deployed removes it. The deploy applies the
 * target commit's services (no hanging check), says that the config differs, and records the
 * target config's hash in git.moved. A target whose config is invalid is refused before
 * anything moves. */
Test(deploy, target_commit_config_applies_to_the_services)
{
	struct sample s;
	struct tl_run r;
	char head[41], now[41], *digest;
	const char *fixed;
	unsigned compute;

	REQUIRE_MANAGER();
	sample_setup(&s, "tconf", true);
	sample_commit(&s, NULL,
		      "sed -i '/^\\[service compute\\]/a health = cmd sleep 60' shiplog.conf",
		      "a hanging check");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s.checkout), 0);
	fixed = sample_commit(&s, NULL, "sed -i '/^health = cmd sleep 60/d' shiplog.conf",
			      "remove the hanging check");

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "the fixed config was not applied:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "the target commit's shiplog.conf differs from the one this deploy "
				"started with"),
		  "%s", r.out);
	cr_assert(!strstr(r.out, "sleep 60"), "the old check ran:\n%s", r.out);
	tl_run_release(&r);
	digest = NULL;
	{
		char *argv[] = {"/bin/sh", "-c", "", NULL};
		char *cmd = xasprintf("git -C '%s' show %s:shiplog.conf | sha256sum | cut -c1-64",
				      s.checkout, fixed);
		argv[2] = cmd;
		tl_run(&r, s.dir, NULL, argv);
		digest = xasprintf("\"config_digest\":\"%.64s\"", r.out);
		tl_run_release(&r);
		free(cmd);
	}
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, digest), "git.moved does not record %s:\n%s", digest, r.out);
	tl_run_release(&r);
	free(digest);

	/* an invalid config in the target: refused before anything moves */
	sample_commit(&s, NULL, "sed -i '/^\\[service compute\\]/a health = bogus x' shiplog.conf",
		      "broken config");
	sample_head(&s, head);
	compute = sample_main_pid(&s, "compute");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.err, "the target commit's config is invalid") &&
		      strstr(r.err, ":shiplog.conf:"),
		  "%s", r.err);
	sample_head(&s, now);
	cr_assert_str_eq(now, head, "the checkout moved to a commit with a broken config");
	cr_assert_eq(sample_main_pid(&s, "compute"), compute);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* True when /proc/PID/environ of the process holds the entry "NAME=value". */
static bool proc_has_env(unsigned pid, const char *entry)
{
	return tl_sh("tr '\\0' '\\n' < /proc/%u/environ | grep -qxF '%s'", pid, entry) == 0;
}

/* [service X] env_file and env reach the unit's process; the values stay out of the ledger and
 * the transcript; diff says that the environment changed. */
Test(deploy, service_environment_reaches_the_process_and_not_the_ledger)
{
	struct sample s;
	struct tl_run r;
	char *conf, *conf2, *envf, *line;
	unsigned pid;

	REQUIRE_MANAGER();
	sample_setup(&s, "senv", true);
	envf = xasprintf("%s/compute.env", s.dir);
	tl_write(envf, "# compute's own file\nFROM_FILE=file-secret-4711\n");
	conf = sample_alt_conf(&s, "senv", "[service compute]",
			       "env = GREETING=env-secret-0815\nenv = PCT=100%");
	/* the sample has a global env_file line, which sample_alt_conf would replace */
	line = xasprintf("env_file = %s", envf);
	tl_sh("sed -i 's|^\\[service compute\\]$|&\\n%s|' '%s'", line, conf);
	free(line);
	sample_commit(&s, NULL, "echo x >> NOTES", "next");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(!strstr(r.out, "secret-") && !strstr(r.err, "secret-"),
		  "a value reached the transcript:\n%s\n%s", r.out, r.err);
	tl_run_release(&r);
	pid = sample_main_pid(&s, "compute");
	cr_assert(pid > 0);
	cr_assert(proc_has_env(pid, "GREETING=env-secret-0815"), "env = did not reach compute");
	cr_assert(proc_has_env(pid, "FROM_FILE=file-secret-4711"),
		  "env_file did not reach compute");
	cr_assert(proc_has_env(pid, "PCT=100%"), "a '%%' was not kept literally");
	cr_assert(!proc_has_env(sample_main_pid(&s, "candles"), "GREETING=env-secret-0815") &&
		      !proc_has_env(sample_main_pid(&s, "candles"), "FROM_FILE=file-secret-4711"),
		  "compute's environment leaked into candles");
	cr_assert_eq(tl_sh("test \"$(stat -c %%a "
			   "\"${XDG_CONFIG_HOME}/systemd/user/%s-compute.service\")\" = 600",
			   s.project),
		     0, "a unit with env values is not 0600");

	/* a changed value: the unit is re-rendered, the process gets it, diff says so */
	conf2 = sample_alt_conf(&s, "senv2", "[service compute]", "env = GREETING=env-secret-0816");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf2, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	tl_run_release(&r);
	cr_assert(proc_has_env(sample_main_pid(&s, "compute"), "GREETING=env-secret-0816"),
		  "the changed value did not reach compute");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf2, "ledger", "export", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(!strstr(r.out, "secret-0815") && !strstr(r.out, "secret-0816") &&
		      !strstr(r.out, "file-secret"),
		  "a value reached the ledger");
	tl_run_release(&r);
	/* operation 1 is the first deploy: its state against the newest */
	tl_shiplog(&r, s.checkout, NULL, "-c", conf2, "diff", "1", "now", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "compute: native environment changed"),
		  "diff does not show the environment change:\n%s", r.out);
	cr_assert(!strstr(r.out, "candles: native environment"), "%s", r.out);
	tl_run_release(&r);
	free(conf);
	free(conf2);
	free(envf);
	sample_teardown(&s);
}

/* Issue 9 item 15: the checkout's filesystem is full (not the ledger's): the message names that
 * filesystem and the fix, not a bare "No space left on device". */
Test(deploy, full_checkout_filesystem_is_named)
{
	struct sample s;
	struct tl_run r;
	char *probe, *fs, *ck, *over, *conf, *orig, *want;

	REQUIRE_MANAGER();
	probe = tl_mkdtemp("tmpfsprobe");
	TL_REQUIRE(mount_tmpfs(probe, "64k") && tl_sh("umount '%s'", probe) == 0,
		   "a tmpfs mount (root)");
	sample_setup(&s, "ckfull", false);
	fs = xasprintf("%s/ckfs", s.dir);
	cr_assert(mount_tmpfs(fs, "16m"));
	ck = xasprintf("%s/checkout", fs);
	cr_assert_eq(tl_sh("cp -a '%s' '%s'", s.checkout, ck), 0);
	over = xasprintf("checkout = %s", ck);
	conf = sample_alt_conf(&s, "ckfull", "target", over);
	orig = s.conf;
	s.conf = conf;
	sample_commit(&s, NULL, "head -c 4000000 /dev/urandom > big.bin", "big file");
	tl_sh("dd if=/dev/zero of='%s/fill' bs=4k >/dev/null 2>&1; sync", fs);

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_neq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	want = xasprintf("the filesystem of the checkout '%s' is full", ck);
	cr_assert(strstr(r.err, "No space left on device") && strstr(r.err, want) &&
		      strstr(r.err, "df -h"),
		  "the message does not name the full filesystem or the fix:\n%s", r.err);
	tl_run_release(&r);

	/* room for the fetch (a 4 MB pack), not for the checkout's files as well */
	tl_sh("rm -f '%s/fill' && dd if=/dev/zero of='%s/fill' bs=4k >/dev/null 2>&1; "
	      "truncate -s -6M '%s/fill'; sync",
	      fs, fs, fs);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_neq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.err, "checkout of") && strstr(r.err, want) && strstr(r.err, "df -h"),
		  "a full disk during the checkout is not named with its fix:\n%s", r.err);
	free(want);
	tl_run_release(&r);

	tl_sh("umount -l '%s'", fs);
	s.conf = orig;
	free(conf);
	free(over);
	free(ck);
	free(fs);
	tl_rmrf(probe);
	free(probe);
	sample_teardown(&s);
}

/* Issue 9 item 15: --dry-run on a ledger the real deploy cannot open says so, with the real
 * run's message, and exits like it (4), creating nothing. */
Test(deploy, dry_run_on_an_unwritable_ledger_says_so_and_fails_like_the_real_run)
{
	struct sample s;
	struct tl_run r;
	char *probe, *fs, *over, *conf, *orig;

	REQUIRE_MANAGER();
	probe = tl_mkdtemp("tmpfsprobe");
	TL_REQUIRE(mount_tmpfs(probe, "64k") && tl_sh("umount '%s'", probe) == 0,
		   "a tmpfs mount (root)");
	sample_setup(&s, "dryro", false);
	fs = xasprintf("%s/rofs", s.dir);
	cr_assert(mount_tmpfs(fs, "1m"));
	cr_assert_eq(tl_sh("mount -o remount,ro '%s'", fs), 0);
	over = xasprintf("ledger = %s/ledger", fs);
	conf = sample_alt_conf(&s, "dryro", "target", over);
	orig = s.conf;
	s.conf = conf;

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 4,
		     "a dry run on a read-only ledger must fail like the real run:\n"
		     "%s\n%s",
		     r.out, r.err);
	cr_assert(strstr(r.err, "read-only") && strstr(r.err, fs) && strstr(r.err, "remount"), "%s",
		  r.err);
	cr_assert(strstr(r.out, "nothing was changed or recorded"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 4, "the real run: %s\n%s", r.out, r.err);
	tl_run_release(&r);

	/* a writable place: the dry run passes and still creates nothing */
	tl_sh("umount -l '%s'", fs);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "ledger: writable"), "%s", r.out);
	tl_run_release(&r);
	cr_assert_neq(tl_sh("test -e '%s/ledger'", fs), 0, "a dry run created the ledger");

	s.conf = orig;
	free(conf);
	free(over);
	free(fs);
	tl_rmrf(probe);
	free(probe);
	sample_teardown(&s);
}
