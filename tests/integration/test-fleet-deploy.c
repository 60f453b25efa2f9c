/* SPDX-License-Identifier: MIT */
/* A fleet deploy against the real test hosts of tools/fleet-hosts.sh (each its own user, sshd,
 * user manager and checkout, reached over ssh on 127.0.0.1): two waves, numbered and listed by
 * the controller's history and show; a canary that fails verify (no other host moves, the
 * canary is rolled back); a host unreachable in the second wave (partial outcome; --retry-failed
 * refuses to follow the branch once it moved, then converges it onto the branch once the branch
 * is back at the target); two concurrent fleet deploys (the second refused naming the holder),
 * the first a pool of two over a wave of three; a fleet rollback. One deployed state carries
 * from one case to the next, so it is one test, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"
#include "util.h"

struct fleet {
	char *dir;  /* scratch: the controller's config and ledger, a clone of origin */
	char *conf; /* the controller's shiplog.conf */
	char *env[2];
};

static void expect_head(const char *host, const char *commit)
{
	_cleanup_free_ char *head = tl_fleet_sh(host, "git -C ~/app rev-parse HEAD", NULL);

	cr_assert_str_eq(head, commit, "%s runs %.12s, not %.12s", host, head, commit);
}

/* Commits a shell snippet in the clone and pushes it to origin main; the new commit. */
static char *push(struct fleet *f, const char *snippet, const char *message)
{
	_cleanup_free_ char *head = xasprintf("%s/head", f->dir);

	cr_assert_eq(
	    tl_sh(
		"cd '%s/clone' && %s && git add -A && git -c user.name=t -c user.email=t@t commit "
		"-qm '%s' && git push -q origin main && git rev-parse HEAD >'%s'",
		f->dir, snippet, message, head),
	    0);
	return str_trim(tl_read(head));
}

/* pool: one wave of the three hosts, two at a time, h1 held back (its shiplog waits until h3's
 * has started: a pool starts h3 as soon as h2 ends; batches of two would not until h1 ended) */
static void write_conf_pool(struct fleet *f, unsigned max_failed, bool pool)
{
	struct buf b = {0};

	buf_printf(&b,
		   "[project]\nname = fleetctl\n[target]\nledger = %s/ledger\nssh_key = %s\n"
		   "[service web]\nrole = web\n[service api]\nrole = api\n",
		   f->dir, getenv("SHIPLOG_TEST_FLEET_KEY"));
	for (int i = 1; i <= 3; i++) {
		char name[8];
		_cleanup_free_ char *target = NULL;

		snprintf(name, sizeof(name), "h%d", i);
		target = tl_fleet_target(name);
		buf_printf(&b, "[host %s]\nssh = %s\ncheckout = %s/%s/app\n", name, target,
			   getenv("SHIPLOG_TEST_FLEET_DIR"), name);
		if (pool && i != 2)
			buf_printf(&b, "shiplog = %s/%s/bin/shiplog-pool\n",
				   getenv("SHIPLOG_TEST_FLEET_DIR"), name);
	}
	if (pool)
		buf_printf(&b,
			   "[fleet]\ncanary = 0\nwave_size = 3\nparallelism = 2\n"
			   "max_failed_hosts = %u\non_failure = stop\nhost_timeout = 2m\n",
			   max_failed);
	else
		buf_printf(&b,
			   "[fleet]\ncanary = 1\nwave_size = 2\nmax_failed_hosts = %u\n"
			   "on_failure = rollback-moved\nhost_timeout = 2m\n",
			   max_failed);
	tl_write(f->conf, b.data);
	buf_free(&b);
}

static void write_conf(struct fleet *f, unsigned max_failed)
{
	write_conf_pool(f, max_failed, false);
}

/* shiplog on the controller with up to four arguments; stdout in r->out. */
static void controller(struct fleet *f, struct tl_run *r, const char *a1, const char *a2,
		       const char *a3, const char *a4)
{
	tl_shiplog(r, f->dir, f->env, "-c", f->conf, a1, a2, a3, a4, NULL);
}

static void fleet_shiplog(struct fleet *f, struct tl_run *r, const char *a1, const char *a2,
			  const char *a3)
{
	char *both;

	tl_shiplog(r, f->dir, f->env, "-c", f->conf, "deploy", a1, a2, a3, NULL);
	both = xasprintf("%s%s", r->out ? r->out : "", r->err ? r->err : "");
	free(r->err);
	r->err = both; /* the transcript (stdout) and the errors, for the assertions */
	fprintf(stderr, "---- deploy %s %s %s: exit %d\n%s\n", a1, a2 ? a2 : "", a3 ? a3 : "",
		r->exit_code, r->err);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fleet operation just run is the controller ledger's operation 1: history lists it with
 * its waves and each host's outcome and operation there; show 1 prints its waves and hosts. */
static void fleet_op_listed(struct fleet *f, const char *good)
{
	char want[160];
	struct tl_run r;

	controller(f, &r, "history", NULL, NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	snprintf(want, sizeof(want), "fleet     deploy main           %.12s", good);
	cr_assert(strstr(r.out, "     1  ") && strstr(r.out, want), "%s", r.out);
	cr_assert(strstr(r.out, "waves: 1: h1; 2: h2, h3"), "%s", r.out);
	cr_assert(strstr(r.out, "hosts: h1 succeeded (op "), "%s", r.out);
	cr_assert(strstr(r.out, "h3 succeeded (op "), "%s", r.out);
	tl_run_release(&r);

	controller(f, &r, "--json", "history", "--kind", "fleet");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"number\":1,") && strstr(r.out, "\"kind\":\"fleet\""), "%s",
		  r.out);
	snprintf(want, sizeof(want),
		 "\"host\":\"h2\",\"wave\":2,\"action\":\"deploy\","
		 "\"outcome\":\"succeeded\",\"host_op\":");
	cr_assert(strstr(r.out, want), "%s", r.out);
	tl_run_release(&r);

	controller(f, &r, "show", "1", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "operation 1 (seq:1)"), "%s", r.out);
	cr_assert(strstr(r.out, "fleet deploy: succeeded"), "%s", r.out);
	cr_assert(strstr(r.out, "  wave 2: h2, h3"), "%s", r.out);
	snprintf(want, sizeof(want), "deploy    succeeded     op ");
	cr_assert(strstr(r.out, "  h3   ") && strstr(r.out, want), "%s", r.out);
	tl_run_release(&r);
}

/* (r.err holds stdout and stderr: see fleet_shiplog) */
/* Two waves, then a canary that fails verify. */
static void two_waves_then_a_failing_canary(struct fleet *f, char **good)
{
	_cleanup_free_ char *bad = NULL;
	struct tl_run r;

	/* healthy whatever an earlier run of this test left in origin */
	*good =
	    push(f, "sed -i '/health_status/d' app.conf && echo wave >> NOTES", "fleet: two waves");
	fleet_shiplog(f, &r, "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "wave 1 of 2: h1") && strstr(r.err, "wave 2 of 2: h2, h3"), "%s",
		  r.err);
	cr_assert(strstr(r.err, "fleet deploy succeeded"), "%s", r.err);
	cr_assert(strstr(r.err, "host h2 deploy: succeeded (its operation "), "%s", r.err);
	for (int i = 1; i <= 3; i++)
		expect_head((const char *[]){"h1", "h2", "h3"}[i - 1], *good);
	tl_run_release(&r);
	fleet_op_listed(f, *good);

	bad = push(f,
		   "echo 'api.health_status = 500' >> app.conf && sed -i "
		   "'s/^health_timeout = .*/health_timeout = 2s/' shiplog.conf",
		   "fleet: break api health");
	fleet_shiplog(f, &r, "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 1, "%s", r.err);
	cr_assert(strstr(r.err, "host h1 deploy: rolled-back"), "%s", r.err);
	cr_assert_null(strstr(r.err, "host h2 deploy"), "h2 moved after a failed canary: %s",
		       r.err);
	cr_assert(strstr(r.err, "not started"), "%s", r.err);
	for (int i = 1; i <= 3; i++)
		expect_head((const char *[]){"h1", "h2", "h3"}[i - 1], *good);
	tl_run_release(&r);
}

/* h3 down in wave two: partial, recorded; back up, --retry-failed deploys the same branch
 * pinned to the commit the others reached: refused (said, with what to run) while main has
 * moved past it; once main is back there, it converges only h3, onto branch main. */
static void unreachable_then_retry(struct fleet *f, const char *good)
{
	_cleanup_free_ char *fixed = NULL, *h1op = NULL, *h1op2 = NULL, *moved = NULL;
	_cleanup_free_ char *branch = NULL;
	char want[160];
	struct tl_run r;

	fixed = push(f, "git revert --no-commit HEAD", "fleet: fix api health");
	write_conf(f, 1);
	cr_assert_eq(tl_fleet_ctl("down", "h3"), 0);
	fleet_shiplog(f, &r, "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(tl_fleet_ctl("up", "h3"), 0);
	cr_assert_eq(r.exit_code, 1, "a fleet left at two commits is not a success: %s", r.err);
	cr_assert(strstr(r.err, "host h3 deploy: unreachable"), "%s", r.err);
	cr_assert(strstr(r.err, "1 host not at the target: h3"), "%s", r.err);
	expect_head("h1", fixed);
	expect_head("h2", fixed);
	tl_run_release(&r);
	h1op =
	    tl_fleet_sh("h1", "cd ~/app && shiplog history --limit 1 --json | head -c 300", NULL);

	/* main moves on: the retry does not follow it */
	moved = push(f, "echo moved >> NOTES", "fleet: main moves on");
	fleet_shiplog(f, &r, "--retry-failed", NULL, NULL);
	cr_assert_eq(r.exit_code, 1, "%s", r.err);
	snprintf(want, sizeof(want), "main pinned to %.12s", fixed);
	cr_assert(strstr(r.err, want), "%s", r.err);
	cr_assert(strstr(r.err, "host h3 deploy: refused"), "%s", r.err);
	snprintf(want, sizeof(want),
		 "'main' moved since the fleet deploy this retries took it to %.12s", fixed);
	cr_assert(strstr(r.err, want), "%s", r.err);
	cr_assert(strstr(r.err, "run 'shiplog deploy main --all-hosts'"), "%s", r.err);
	cr_assert_null(strstr(r.err, "--retry-failed' converges them"),
		       "another retry would be refused again: %s", r.err);
	tl_run_release(&r);
	expect_head("h3", good);

	/* main back at the target (a force-push): the retry of the retry converges h3 */
	cr_assert_eq(tl_sh("cd '%s/clone' && git push -qf origin %s:main && git reset -q --hard %s",
			   f->dir, fixed, fixed),
		     0);
	fleet_shiplog(f, &r, "--retry-failed", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "retrying fleet operation "), "%s", r.err);
	cr_assert(strstr(r.err, "host h3 deploy: succeeded"), "%s", r.err);
	cr_assert_null(strstr(r.err, "host h1 deploy"), "the retry touched h1: %s", r.err);
	expect_head("h3", fixed);
	branch = tl_fleet_sh("h3", "git -C ~/app symbolic-ref --short HEAD", NULL);
	cr_assert_str_eq(branch, "main", "the retry left h3 detached, not on main");
	h1op2 =
	    tl_fleet_sh("h1", "cd ~/app && shiplog history --limit 1 --json | head -c 300", NULL);
	cr_assert_str_eq(h1op, h1op2, "h1's ledger moved during the retry");
	tl_run_release(&r);
}

/* The pool's wrappers: h3's shiplog says it started (a file in a directory every host user
 * may write), h1's waits for that (at most 60 s) before it runs. */
static void pool_wrappers(struct fleet *f, char **mark_dir)
{
	_cleanup_free_ char *w1 = NULL, *w3 = NULL, *out1 = NULL, *out3 = NULL;

	(void)f;
	*mark_dir = xstrdup("/tmp/shiplog-pool-XXXXXX"); /* /tmp: every host user reaches it */
	cr_assert_not_null(mkdtemp(*mark_dir));
	cr_assert_eq(tl_sh("chmod 1777 '%s'", *mark_dir), 0);
	w3 =
	    xasprintf("mkdir -p ~/bin && printf '#!/bin/sh\\ntouch %s/h3\\nexec shiplog \"$@\"\\n' "
		      ">~/bin/shiplog-pool && chmod +x ~/bin/shiplog-pool && echo ok",
		      *mark_dir);
	w1 = xasprintf(
	    "mkdir -p ~/bin && printf '#!/bin/sh\\ni=0\\nwhile [ ! -e %s/h3 ] && [ $i -lt "
	    "600 ]; do sleep 0.1; i=$((i+1)); done\\nexec shiplog \"$@\"\\n' "
	    ">~/bin/shiplog-pool && chmod +x ~/bin/shiplog-pool && echo ok",
	    *mark_dir);
	out3 = tl_fleet_sh("h3", w3, NULL);
	out1 = tl_fleet_sh("h1", w1, NULL);
}

/* fleet.host's end (its event time) and start (that minus its duration) of host h in the
 * newest fleet operation of the controller's ledger, from `ledger export`. */
static void host_times(struct fleet *f, const char *h, double *start, double *end)
{
	struct tl_run r;
	char want[64];
	const char *p, *line = NULL;

	controller(f, &r, "ledger", "export", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	snprintf(want, sizeof(want), "\"host\":\"%s\"", h);
	for (p = r.out; (p = strstr(p, "\"type\":\"fleet.host\"")); p++) {
		const char *bol = p, *eol = strchr(p, '\n');
		while (bol > r.out && bol[-1] != '\n')
			bol--;
		if (memmem(bol, eol ? (size_t)(eol - bol) : strlen(bol), want, strlen(want)))
			line = bol; /* the last one wins: the newest operation's */
	}
	cr_assert_not_null(line, "no fleet.host of %s: %s", h, r.out);
	{
		const char *t = strstr(line, "\"time_ns\":"), *d = strstr(line, "\"duration_ns\":");
		cr_assert(t && d, "%.300s", line);
		*end = strtod(t + strlen("\"time_ns\":"), NULL) / 1e9;
		*start = *end - strtod(d + strlen("\"duration_ns\":"), NULL) / 1e9;
	}
	tl_run_release(&r);
}

/* A second fleet deploy while one runs: refused, naming the holder. The first runs its one wave
 * of three as a pool of two: h3 starts when h2 ends, while h1 still runs. */
static void concurrent_refused(struct fleet *f)
{
	_cleanup_free_ char *lock = xasprintf("%s/ledger/fleet.lock", f->dir);
	_cleanup_free_ char *log = xasprintf("%s/first.log", f->dir);
	_cleanup_free_ char *mark_dir = NULL, *first = NULL;
	double h1_start, h1_end, h3_start, h3_end;
	struct tl_run r;
	int held = 1;

	pool_wrappers(f, &mark_dir);
	write_conf_pool(f, 1, true);
	cr_assert_eq(tl_sh("DEPLOY_SSH_KNOWN_HOSTS='%s' '%s' -c '%s' deploy main --all-hosts "
			   "--edge-ready >'%s' 2>&1 &",
			   getenv("SHIPLOG_TEST_FLEET_KNOWN_HOSTS"), SHIPLOG_BINARY, f->conf, log),
		     0);
	for (int i = 0; i < 200 && held; i++) { /* until the first one holds the fleet lock */
		held = tl_sh("[ -f '%s' ] && flock -n '%s' true", lock, lock) == 0;
		if (held)
			tl_sh("sleep 0.05");
	}
	cr_assert_not(held, "the first fleet deploy never took the fleet lock");
	fleet_shiplog(f, &r, "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 3, "%s", r.err);
	cr_assert(strstr(r.err, "another fleet operation holds the fleet lock: pid "), "%s", r.err);
	tl_run_release(&r);
	for (int i = 0; i < 1200 && tl_sh("flock -n '%s' true", lock) != 0; i++)
		tl_sh("sleep 0.1");
	first = tl_read(log);
	fprintf(stderr, "---- the first (pool) deploy:\n%s\n", first);
	cr_assert(strstr(first, "wave 1 of 1: h1, h2, h3"), "%s", first);
	cr_assert(strstr(first, "fleet deploy succeeded"), "%s", first);
	host_times(f, "h1", &h1_start, &h1_end);
	host_times(f, "h3", &h3_start, &h3_end);
	fprintf(stderr, "pool: h1 %.2f..%.2f, h3 %.2f..%.2f\n", h1_start, h1_end, h3_start, h3_end);
	cr_assert_lt(h3_start, h1_end, "h3 started only after h1 ended: batches, not a pool");
	tl_rmrf(mark_dir);
	write_conf(f, 1);
}

/* rollback --all-hosts: every host back to its own last-good (the first deploy's commit), in
 * waves, recorded. */
static void fleet_rollback(struct fleet *f, const char *good)
{
	struct tl_run r;
	char *both;

	tl_shiplog(&r, f->dir, f->env, "-c", f->conf, "rollback", "--all-hosts", NULL);
	both = xasprintf("%s%s", r.out ? r.out : "", r.err ? r.err : "");
	fprintf(stderr, "---- rollback --all-hosts: exit %d\n%s\n", r.exit_code, both);
	cr_assert_eq(r.exit_code, 0, "%s", both);
	cr_assert(strstr(both, "host h1 rollback: succeeded") &&
		      strstr(both, "wave 2 of 2: h2, h3"),
		  "%s", both);
	cr_assert(strstr(both, "fleet rollback succeeded"), "%s", both);
	for (int i = 1; i <= 3; i++)
		expect_head((const char *[]){"h1", "h2", "h3"}[i - 1], good);
	free(both);
	tl_run_release(&r);
}

Test(fleet_deploy, waves_canary_unreachable_retry_and_lock, .timeout = 900)
{
	struct fleet f = {0};
	_cleanup_free_ char *good = NULL;
	double t0 = now_s();

	TL_REQUIRE(tl_have_fleet(), "the fleet's test hosts");
	f.dir = tl_mkdtemp("fleetdeploy");
	f.conf = xasprintf("%s/shiplog.conf", f.dir);
	f.env[0] = xasprintf("DEPLOY_SSH_KNOWN_HOSTS=%s", getenv("SHIPLOG_TEST_FLEET_KNOWN_HOSTS"));
	cr_assert_eq(
	    tl_sh("git clone -q '%s' '%s/clone'", getenv("SHIPLOG_TEST_FLEET_ORIGIN"), f.dir), 0);
	write_conf(&f, 0);

	two_waves_then_a_failing_canary(&f, &good);
	unreachable_then_retry(&f, good);
	concurrent_refused(&f);
	fleet_rollback(&f, good);

	fprintf(stderr, "fleet deploy scenarios: %.1f s wall\n", now_s() - t0);
	tl_rmrf(f.dir);
	free(f.dir);
	free(f.conf);
	free(f.env[0]);
}
