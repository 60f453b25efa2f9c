/* SPDX-License-Identifier: MIT */
/* What a failure of the fleet controller or of a later wave leaves on the real test hosts of
 * tools/fleet-hosts.sh (docs/fleet.md, "What a failure leaves"):
 *   - a lost controller (SIGKILL while the second host deploys): the host it was running
 *     finishes on its own, the next `status --all-hosts` names exactly the commit each host's
 *     web serves (asked inside the host) and calls the fleet mixed, no host is mid-step, and
 *     the next fleet deploy converges every host;
 *   - one Ctrl-C (SIGINT): the running host finishes, no new one starts, exit 130,
 *     fleet.finished says interrupted, --retry-failed converges the rest;
 *   - a host of wave 2 that fails verify under the default policy: the hosts this operation
 *     moved are rolled back, each named, each recorded, every web back at the old commit;
 *   - `ssh = local`: the controller is itself a host (its user, in its namespace, where no sshd
 *     answers on 127.0.0.1) and moves itself without ssh, and a SIGKILL of that controller does
 *     not cut its own deploy;
 *   - a lost controller of `rollback --all-hosts --to fleet:N` (SIGKILL while the second host
 *     rolls back): each host's own status says what its web and api answer and its units run,
 *     and the next fleet rollback closes the lost one as interrupted and takes the rest back.
 * One deployed state carries from case to case (every host first deployed at once, so that the
 * test does not depend on which fleet test ran before): one test, in order. Every wait is on a
 * condition (a host's lock, a process's exit), with a deadline. */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "util.h"

static const char *const hosts[] = {"h1", "h2", "h3"};
#define NHOSTS 3

struct fx {
	char *dir;  /* scratch: the controller's config and ledger, a clone of origin */
	char *conf; /* the controller's shiplog.conf */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = {0, 100 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* The commit host NAME's web really serves: its /health, asked inside the host. */
static char *web_commit(const char *name)
{
	_cleanup_free_ char *out =
	    tl_fleet_sh(name, "curl -s --max-time 5 http://127.0.0.1:3000/health", NULL);
	json_t *o = json_loads(out, 0, NULL);
	const char *c = json_string_value(json_object_get(o, "commit"));
	char *commit;

	cr_assert_not_null(c, "%s's web answered no commit: %s", name, out);
	commit = xstrdup(c);
	json_decref(o);
	return commit;
}

static void expect_web(const char *name, const char *commit)
{
	_cleanup_free_ char *serves = web_commit(name);

	cr_assert_str_eq(serves, commit, "%s's web serves %.12s, not %.12s", name, serves, commit);
}

/* Whether host NAME's deploy lock is held now (`shiplog lock status` takes a shared flock for
 * a moment; an acquire that meets it tries again, so asking cannot refuse a deploy). */
static bool host_busy(const char *name)
{
	int code;
	_cleanup_free_ char *out = tl_fleet_sh(name, "cd app && shiplog --json lock status", &code);

	cr_assert_eq(code, 0, "%s: lock status: %s", name, out);
	return strstr(out, "\"held\":true") != NULL;
}

static void wait_busy(const char *name)
{
	double end = now_s() + 90;

	while (!host_busy(name)) {
		cr_assert(now_s() < end, "%s never started its deploy", name);
		nap();
	}
}

/* Every host's own shiplog has finished: no host lock held. */
static void wait_hosts_idle(void)
{
	double end = now_s() + 180;

	for (int i = 0; i < NHOSTS; i++)
		while (host_busy(hosts[i])) {
			cr_assert(now_s() < end, "%s still holds its lock after 180 s", hosts[i]);
			nap();
		}
}

/* Commits a shell snippet in the clone, pushes it to origin main; the new commit. */
static char *push(struct fx *f, const char *snippet, const char *message)
{
	_cleanup_free_ char *head = xasprintf("%s/head", f->dir);

	cr_assert_eq(tl_sh("cd '%s/clone' && %s && git add -A && git -c user.name=t -c "
			   "user.email=t@t commit -q --allow-empty -m '%s' && git push -q origin "
			   "main && git rev-parse HEAD >'%s'",
			   f->dir, snippet, message, head),
		     0);
	return str_trim(tl_read(head));
}

/* [host hI] for each test host (services: per host, NULL for all), then fleet. */
static void write_conf(struct fx *f, const char *services[NHOSTS], const char *fleet)
{
	struct buf b = {0};

	buf_printf(&b,
		   "[project]\nname = fleetfail\n[target]\nledger = %s/ledger\nssh_key = %s\n"
		   "[service web]\nrole = web\n[service api]\nrole = api\n",
		   f->dir, getenv("SHIPLOG_TEST_FLEET_KEY"));
	for (int i = 0; i < NHOSTS; i++) {
		_cleanup_free_ char *target = tl_fleet_target(hosts[i]);

		buf_printf(&b, "[host %s]\nssh = %s\ncheckout = %s/%s/app\n", hosts[i], target,
			   getenv("SHIPLOG_TEST_FLEET_DIR"), hosts[i]);
		if (services && services[i])
			buf_printf(&b, "services = %s\n", services[i]);
	}
	buf_printf(&b, "[fleet]\nhost_timeout = 2m\n%s", fleet);
	tl_write(f->conf, b.data);
	buf_free(&b);
}

/* The controller in the foreground: exit code, stdout and stderr together in r->err. */
static void controller(struct fx *f, struct tl_run *r, const char *a1, const char *a2,
		       const char *a3, const char *a4)
{
	char *argv[] = {SHIPLOG_BINARY, "-c",	    f->conf,	(char *)a1,
			(char *)a2,	(char *)a3, (char *)a4, NULL};
	char *both;

	tl_run(r, f->dir, NULL, argv);
	both = xasprintf("%s%s", r->out ? r->out : "", r->err ? r->err : "");
	free(r->err);
	r->err = both;
	fprintf(stderr, "---- %s %s %s: exit %d\n%.3000s\n", a1, a2 ? a2 : "", a3 ? a3 : "",
		r->exit_code, streq(a1, "--json") ? "(json)" : both);
}

/* A controller in the background, its stdout and stderr to log: its pid. (<spawn.h> is
 * shiplog's own on this include path: fork and exec.) */
static pid_t controller_start(char *const argv[], const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid;

	cr_assert(fd >= 0, "%s", log);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	return pid;
}

/* Its exit code, 128+n when killed by signal n. */
static int controller_wait(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *service_commit(json_t *status, const char *service)
{
	size_t i;
	json_t *svc;

	json_array_foreach(json_object_get(status, "services"), i, svc)
	{
		if (streq(json_string_value(json_object_get(svc, "name")), service)) {
			const char *owner = json_string_value(json_object_get(svc, "owner"));
			json_t *rt = json_object_get(json_object_get(svc, "runtimes"),
						     owner ? owner : "native");
			return json_string_value(json_object_get(rt, "commit"));
		}
	}
	return NULL;
}

/* `status --all-hosts` against what runs: each host's web commit is the one its web serves,
 * no host holds its lock or has an operation in flight, and the fleet is called mixed exactly
 * when the hosts serve different commits. */
static void status_says_what_runs(struct fx *f)
{
	char *serves[NHOSTS];
	bool mixed = false;
	struct tl_run r;
	json_t *doc;

	for (int i = 0; i < NHOSTS; i++) {
		serves[i] = web_commit(hosts[i]);
		mixed = mixed || !streq(serves[i], serves[0]);
	}
	controller(f, &r, "--json", "status", "--all-hosts", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	doc = json_loads(r.out, 0, NULL);
	cr_assert_not_null(doc, "%s", r.out);
	cr_assert_eq(json_is_true(json_object_get(doc, "mixed")), mixed, "mixed should be %d: %s",
		     mixed, r.out);
	for (int i = 0; i < NHOSTS; i++) {
		json_t *h = json_array_get(json_object_get(doc, "hosts"), (size_t)i);
		json_t *st = json_object_get(h, "status");
		const char *web = service_commit(st, "web");

		cr_assert(streq(json_string_value(json_object_get(h, "host")), hosts[i]));
		cr_assert_str_eq(web ? web : "(none)", serves[i],
				 "status says %s's web runs %s, it serves %s", hosts[i], web,
				 serves[i]);
		cr_assert(json_is_null(json_object_get(st, "inflight")),
			  "%s has an operation in flight: %s", hosts[i], r.out);
		cr_assert_not(json_is_true(json_object_get(json_object_get(st, "lock"), "held")),
			      "%s's lock is held", hosts[i]);
	}
	json_decref(doc);
	tl_run_release(&r);

	controller(f, &r, "status", "--all-hosts", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(strstr(r.out, "MIXED") != NULL, mixed, "%s", r.out);
	for (int i = 0; i < NHOSTS; i++) {
		char row[64];

		snprintf(row, sizeof(row), "\n%s    web               %.12s  ", hosts[i],
			 serves[i]);
		cr_assert(strstr(r.out, row), "no row '%s' in:\n%s", row + 1, r.out);
		free(serves[i]);
	}
	tl_run_release(&r);
}

/* The controller's ledger (JSON lines). */
static char *controller_events(struct fx *f)
{
	struct tl_run r;
	char *out;

	controller(f, &r, "ledger", "export", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	out = r.out;
	r.out = NULL;
	tl_run_release(&r);
	return out;
}

static void deploy_in_background(struct fx *f, const char *log, pid_t *pid)
{
	char *argv[] = {SHIPLOG_BINARY, "-c",	       f->conf,	       "deploy",
			"main",		"--all-hosts", "--edge-ready", NULL};

	*pid = controller_start(argv, log);
}

/* The fleet command whose stderr is err closed the lost `what` before it (its controller was
 * SIGKILLed while h2 ran): said, and its fleet.finished (the one before the newest) is
 * interrupted with h2 and h3 without a recorded result. */
static void assert_lost_one_closed(struct fx *f, const char *err, const char *what)
{
	cr_assert(strstr(err, "had no end: its controller was lost; recorded as interrupted; "
			      "no result recorded for h2, h3"),
		  "%s", err);
	cr_assert_eq(tl_sh("'%s' -c '%s' ledger export | grep '\"fleet.finished\"' | tail -2 | "
			   "head -1 | grep '\"outcome\":\"interrupted\"' | "
			   "grep -q '\"failed\":\\[\"h2\",\"h3\"\\]'",
			   SHIPLOG_BINARY, f->conf),
		     0, "the lost %s was not closed as interrupted", what);
}

/* SIGKILL while h2 deploys: h2 finishes on its own, h3 never starts; status says exactly
 * that; the next fleet deploy converges. */
static void lost_controller(struct fx *f)
{
	_cleanup_free_ char *log = xasprintf("%s/killed.log", f->dir), *c1 = NULL, *h3was = NULL,
			    *said = NULL, *h2last = NULL;
	struct tl_run r;
	double t0 = now_s();
	pid_t pid;

	c1 = push(f, "true", "fleet: lost controller");
	h3was = web_commit("h3");
	deploy_in_background(f, log, &pid);
	wait_busy("h2");
	kill(pid, SIGKILL);
	cr_assert_eq(controller_wait(pid), 128 + SIGKILL);
	said = tl_read(log);
	fprintf(stderr, "---- killed while h2 deployed:\n%s\n", said);
	wait_hosts_idle();

	expect_web("h1", c1);
	expect_web("h2", c1); /* its own shiplog finished the deploy the controller started */
	expect_web("h3", h3was);
	h2last = tl_fleet_sh("h2", "cd app && shiplog --json history --limit 1", NULL);
	cr_assert(strstr(h2last, "\"succeeded\""), "h2's deploy did not finish: %s", h2last);
	status_says_what_runs(f);
	fprintf(stderr, "lost controller, until status named every host: %.1f s\n", now_s() - t0);

	/* the next fleet deploy, h2 and h3 at once after the canary (two waves, not three) */
	write_conf(f, NULL, "canary = 1\nwave_size = 2\n");
	controller(f, &r, "deploy", "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 0, "the next fleet deploy did not converge: %s", r.err);
	for (int i = 0; i < NHOSTS; i++)
		expect_web(hosts[i], c1);
	/* and it closed the lost one: interrupted, h2 and h3 without a recorded result */
	assert_lost_one_closed(f, r.err, "fleet operation");
	tl_run_release(&r);
	write_conf(f, NULL, "canary = 1\nwave_size = 1\n");
	fprintf(stderr, "lost controller case: %.1f s\n", now_s() - t0);
}

/* One SIGINT while h2 deploys: h2 finishes, h3 is not started, exit 130, recorded as
 * interrupted with each host's outcome; --retry-failed converges h3 only. */
static void interrupted_controller(struct fx *f)
{
	_cleanup_free_ char *log = xasprintf("%s/interrupted.log", f->dir), *c2 = NULL, *c1 = NULL,
			    *said = NULL, *events = NULL;
	struct tl_run r;
	double t0 = now_s();
	pid_t pid;
	int code;

	c1 = web_commit("h3");
	c2 = push(f, "true", "fleet: interrupted");
	deploy_in_background(f, log, &pid);
	wait_busy("h2");
	kill(pid, SIGINT);
	code = controller_wait(pid);
	said = tl_read(log);
	fprintf(stderr, "---- SIGINT while h2 deployed: exit %d\n%s\n", code, said);
	cr_assert_eq(code, 130, "%s", said);
	cr_assert(strstr(said, "host h2 deploy: succeeded"), "h2 was cut: %s", said);
	cr_assert_null(strstr(said, "host h3 deploy"), "h3 started after the ^C: %s", said);
	cr_assert(strstr(said, "interrupted: no further host was started"), "%s", said);
	cr_assert(strstr(said, "h3               not started"), "%s", said);
	cr_assert(strstr(said, "fleet deploy interrupted"), "%s", said);
	cr_assert(strstr(said, "1 host not at the target: h3"), "%s", said);
	events = controller_events(f);
	cr_assert(strstr(events, "\"type\":\"fleet.finished\"") &&
		      strstr(events, "\"outcome\":\"interrupted\""),
		  "%s", events);
	cr_assert_eq(tl_sh("'%s' -c '%s' ledger export | grep '\"fleet.finished\"' | tail -1 | "
			   "grep -q '\"failed\":\\[\"h3\"\\]'",
			   SHIPLOG_BINARY, f->conf),
		     0, "fleet.finished does not name h3 as not reached: %s", events);
	for (int i = 0; i < NHOSTS; i++)
		cr_assert_not(host_busy(hosts[i]), "%s is mid-step after the ^C", hosts[i]);
	expect_web("h1", c2);
	expect_web("h2", c2);
	expect_web("h3", c1);
	status_says_what_runs(f);

	controller(f, &r, "deploy", "--retry-failed", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "host h3 deploy: succeeded"), "%s", r.err);
	cr_assert_null(strstr(r.err, "host h1 deploy"), "the retry touched h1: %s", r.err);
	cr_assert_null(strstr(r.err, "host h2 deploy"), "the retry touched h2: %s", r.err);
	expect_web("h3", c2);
	tl_run_release(&r);

	/* one SIGINT while the last host deploys: it finishes, every host is at the target, the
	 * fleet deploy succeeded, and the exit is still 130 (a signal came) */
	free(said);
	free(c2);
	c2 = push(f, "true", "fleet: interrupted on the last host");
	deploy_in_background(f, log, &pid);
	wait_busy("h3");
	kill(pid, SIGINT);
	code = controller_wait(pid);
	said = tl_read(log);
	cr_assert_eq(code, 130, "exit %d after a ^C on the last host:\n%s", code, said);
	cr_assert(strstr(said, "fleet deploy succeeded") &&
		      strstr(said, "every host reached the target"),
		  "%s", said);
	for (int i = 0; i < NHOSTS; i++)
		expect_web(hosts[i], c2);
	fprintf(stderr, "interrupted controller case: %.1f s\n", now_s() - t0);
}

/* h1 and h3 run only web, h2 every service; the new commit breaks api's health. Wave 1 (h1)
 * and h3 of wave 2 succeed, h2 fails verify and puts itself back: under the default policy
 * (rollback-moved) the controller rolls back h1 and h3, says so per host, records them. */
static void rollback_of_the_moved_hosts(struct fx *f)
{
	const char *services[NHOSTS] = {"web", NULL, "web"};
	_cleanup_free_ char *old = web_commit("h1"), *bad = NULL, *events = NULL, *fixed = NULL;
	struct tl_run r;
	double t0 = now_s();

	write_conf(f, services, "canary = 1\nwave_size = 2\n");
	bad = push(f,
		   "echo 'api.health_status = 500' >> app.conf && sed -i "
		   "'s/^health_timeout = .*/health_timeout = 2s/' shiplog.conf",
		   "fleet: break api health");
	controller(f, &r, "deploy", "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 1, "%s", r.err);
	cr_assert(strstr(r.err, "host h1 deploy: succeeded"), "%s", r.err);
	cr_assert(strstr(r.err, "host h3 deploy: succeeded"), "%s", r.err);
	cr_assert(strstr(r.err, "host h2 deploy: rolled-back"), "%s", r.err);
	cr_assert(strstr(r.err, "rolling back the 2 hosts this operation moved"), "%s", r.err);
	cr_assert(strstr(r.err, "host h1 rollback: succeeded"), "%s", r.err);
	cr_assert(strstr(r.err, "host h3 rollback: succeeded"), "%s", r.err);
	cr_assert_null(strstr(r.err, "host h2 rollback"), "h2 put itself back: %s", r.err);
	cr_assert(strstr(r.err, "fleet deploy rolled-back"), "%s", r.err);
	tl_run_release(&r);
	events = controller_events(f);
	for (int i = 0; i < NHOSTS; i += 2) {
		char want[64];

		snprintf(want, sizeof(want), "\"host\":\"%s\",\"wave\":0,\"action\":\"rollback\"",
			 hosts[i]);
		cr_assert(strstr(events, want), "no fleet.host rollback of %s: %s", hosts[i],
			  events);
	}
	for (int i = 0; i < NHOSTS; i++)
		expect_web(hosts[i], old);
	status_says_what_runs(f);

	fixed = push(f, "git revert --no-commit HEAD", "fleet: fix api health");
	write_conf(f, NULL, "canary = 1\nwave_size = 1\n");
	fprintf(stderr, "rollback-moved case: %.1f s\n", now_s() - t0);
}

/* The controller is h1 (its user, in its namespace), h1 is `ssh = local`: the fleet deploy
 * moves it without ssh (no sshd answers on the namespace's 127.0.0.1), and a SIGKILL of the
 * controller while h1 deploys does not cut h1's deploy. */
static void controller_on_a_host(struct fx *f)
{
	const char *dir = getenv("SHIPLOG_TEST_FLEET_DIR");
	_cleanup_free_ char *target = tl_fleet_target("h1");
	_cleanup_free_ char *user = xstrndup(target, strcspn(target, "@"));
	_cleanup_free_ char *conf = xasprintf("%s/h1/fleetctl.conf", dir);
	_cleanup_free_ char *log = xasprintf("%s/local.log", f->dir), *c = NULL, *said = NULL,
			    *last = NULL, *comm = NULL, *commpath = NULL;
	char *argv[] = {getenv("SHIPLOG_TEST_FLEET_CTL"),
			"as",
			(char *)dir,
			"h1",
			"shiplog",
			"-c",
			conf,
			"deploy",
			"main",
			"--all-hosts",
			"--edge-ready",
			NULL};
	double t0 = now_s();
	pid_t pid;
	int code;

	cr_assert_eq(tl_sh("printf '[project]\\nname = fleetlocal\\n[target]\\nledger = "
			   "%s/h1/fleetctl-ledger\\n[service web]\\nrole = web\\n[service api]\\n"
			   "role = api\\n[host h1]\\nssh = local\\ncheckout = %s/h1/app\\n' >'%s' "
			   "&& chown '%s:' '%s'",
			   dir, dir, conf, user, conf),
		     0);
	c = push(f, "true", "fleet: a controller on its own host");

	pid = controller_start(argv, log);
	wait_busy("h1");
	commpath = xasprintf("/proc/%d/comm", (int)pid);
	comm = str_trim(tl_read(commpath));
	cr_assert_str_eq(comm, "shiplog", "the pid is not the controller's");
	kill(pid, SIGKILL);
	cr_assert_eq(controller_wait(pid), 128 + SIGKILL);
	while (host_busy("h1")) {
		cr_assert(now_s() - t0 < 180, "h1's deploy never ended");
		nap();
	}
	expect_web("h1", c);
	last = tl_fleet_sh("h1", "cd app && shiplog --json history --limit 1", NULL);
	cr_assert(strstr(last, "\"succeeded\""), "h1's own deploy was cut: %s", last);

	c = push(f, "true", "fleet: a controller on its own host, to the end");
	code = controller_wait(controller_start(argv, log));
	said = tl_read(log);
	fprintf(stderr, "---- the controller on h1, ssh = local: exit %d\n%s\n", code, said);
	cr_assert_eq(code, 0, "%s", said);
	cr_assert(strstr(said, "wave 1 (canary): h1 (local, checkout "), "%s", said);
	cr_assert(strstr(said, "host h1 deploy: succeeded"), "%s", said);
	expect_web("h1", c);
	cr_assert_eq(tl_sh("rm -rf '%s' '%s/h1/fleetctl-ledger'", conf, dir), 0);
	fprintf(stderr, "ssh = local case: %.1f s\n", now_s() - t0);
}

/* Host NAME's own `status` against what runs there: for web and api, the commit it names is
 * the one the service answers /health with over HTTP (asked inside the host), its unit is
 * active, and it is said healthy and settled; no operation is in flight, its lock is free and
 * no shiplog of the host's user is left running (the hosts share this machine's process table).
 * One ssh login asks all of it, one answer a line. */
static void host_status_is_what_runs(const char *name)
{
	static const char *const svcs[] = {"web", "api"};
	const char *project = getenv("SHIPLOG_TEST_FLEET_PROJECT");
	_cleanup_free_ char *cmd = xasprintf(
	    "cd app && shiplog --json status && for p in 3000 3001; do curl -s --max-time 5 "
	    "http://127.0.0.1:$p/health; echo; done; systemctl --user is-active '%s-web.service' "
	    "'%s-api.service'; pgrep -c -u \"$(id -u)\" -x shiplog || true",
	    project, project);
	_cleanup_free_ char *out = tl_fleet_sh(name, cmd, NULL);
	char *lines[7] = {0}, *save = NULL, *l = strtok_r(out, "\n", &save);
	json_t *st, *svc;
	size_t n = 0, i;

	for (; l && n < ELEMENTSOF(lines); l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	cr_assert_eq(n, 6, "%s: %zu answers, not 6", name, n);
	st = json_loads(lines[0], 0, NULL);
	cr_assert_not_null(st, "%s: status: %s", name, lines[0]);
	cr_assert(json_is_null(json_object_get(st, "inflight")), "%s: in flight: %s", name,
		  lines[0]);
	cr_assert_not(json_is_true(json_object_get(json_object_get(st, "lock"), "held")),
		      "%s: lock held: %s", name, lines[0]);
	for (size_t k = 0; k < ELEMENTSOF(svcs); k++) {
		json_t *health = json_loads(lines[1 + k], 0, NULL), *rt = NULL;
		const char *serves = json_string_value(json_object_get(health, "commit"));
		const char *said;

		cr_assert_not_null(serves, "%s's %s answered no commit: %s", name, svcs[k],
				   lines[1 + k]);
		json_array_foreach(json_object_get(st, "services"), i, svc)
		{
			if (streq(json_string_value(json_object_get(svc, "name")), svcs[k]))
				rt = json_object_get(json_object_get(svc, "runtimes"), "native");
		}
		said = json_string_value(json_object_get(rt, "commit"));
		cr_assert_str_eq(said ? said : "(none)", serves,
				 "%s: status says %s runs %s, it serves %s", name, svcs[k], said,
				 serves);
		cr_assert(json_is_true(json_object_get(rt, "healthy")) &&
			      json_is_null(json_object_get(rt, "unsettled")),
			  "%s: %s is not said healthy and settled: %s", name, svcs[k], lines[0]);
		cr_assert_str_eq(lines[3 + k], "active", "%s: %s's unit is %s", name, svcs[k],
				 lines[3 + k]);
		json_decref(health);
	}
	cr_assert_str_eq(lines[5], "0", "%s: %s shiplog processes still run", name, lines[5]);
	json_decref(st);
}

/* SIGKILL of the controller of `rollback --all-hosts --to fleet:N` while h2 rolls back (one
 * host after another): h1 was rolled back, h2's own shiplog finishes its rollback, h3 was never
 * started. Each host's status says what runs there, and status --all-hosts too. */
static void killed_fleet_rollback(struct fx *f, const char *to, const char *cur, const char *next)
{
	_cleanup_free_ char *log = xasprintf("%s/killed-rollback.log", f->dir), *said = NULL,
			    *h2last = NULL;
	char *argv[] = {SHIPLOG_BINARY, "-c",	f->conf,    "rollback",
			"--all-hosts",	"--to", (char *)to, NULL};
	pid_t pid;

	write_conf(f, NULL, "canary = 1\nwave_size = 1\n");
	pid = controller_start(argv, log);
	wait_busy("h2");
	kill(pid, SIGKILL);
	cr_assert_eq(controller_wait(pid), 128 + SIGKILL);
	said = tl_read(log);
	fprintf(stderr, "---- killed while h2 rolled back:\n%s\n", said);
	cr_assert(strstr(said, "host h1 rollback: succeeded"), "%s", said);
	wait_hosts_idle();

	expect_web("h1", cur);
	expect_web("h2", cur); /* its own shiplog finished the rollback the controller started */
	expect_web("h3", next);
	h2last = tl_fleet_sh("h2", "cd app && shiplog --json history --limit 1", NULL);
	cr_assert(strstr(h2last, "\"rollback\"") && strstr(h2last, "\"succeeded\""),
		  "h2's rollback did not finish: %s", h2last);
	for (int i = 0; i < NHOSTS; i++)
		host_status_is_what_runs(hosts[i]);
	status_says_what_runs(f);
}

/* rollback --all-hosts --to fleet:N: each host back to what it ran before fleet operation N
 * moved it; a bare operation number (each host's own) and an unknown fleet operation are
 * refused before anything runs. A controller killed half way through it is closed as
 * interrupted by the next fleet operation, which takes the rest of the hosts back. */
static void rollback_to_a_fleet_operation(struct fx *f)
{
	_cleanup_free_ char *cur = NULL, *next = NULL, *to = NULL;
	struct tl_run r;
	unsigned long number = 0;
	const char *p;
	double t0 = now_s();

	write_conf(f, NULL, "canary = 0\nwave_size = 3\n");
	controller(f, &r, "deploy", "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	cur = web_commit("h1");
	next = push(f, "echo to-fleet >> NOTES", "fleet: rollback --to fleet:N");
	controller(f, &r, "deploy", "main", "--all-hosts", "--edge-ready");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	p = strstr(r.err, "Fleet operation ");
	cr_assert(p && sscanf(p, "Fleet operation %lu started", &number) == 1, "%s", r.err);
	tl_run_release(&r);
	for (int i = 0; i < NHOSTS; i++)
		expect_web(hosts[i], next);

	controller(f, &r, "rollback", "--all-hosts", "--to", "2");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "names a different moment on each; give --to fleet:N"), "%s",
		  r.err);
	tl_run_release(&r);
	controller(f, &r, "rollback", "--all-hosts", "--to", "fleet:999");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "this ledger has no fleet operation 999"), "%s", r.err);
	tl_run_release(&r);
	for (int i = 0; i < NHOSTS; i++)
		expect_web(hosts[i], next); /* refused: nothing moved */

	to = xasprintf("fleet:%lu", number);
	killed_fleet_rollback(f, to, cur, next);
	controller(f, &r, "rollback", "--all-hosts", "--to", to);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	/* it closed the lost one first: interrupted, h2 and h3 without a recorded result */
	assert_lost_one_closed(f, r.err, "fleet rollback");
	for (int i = 0; i < NHOSTS; i++) {
		char want[64];

		snprintf(want, sizeof(want), "host %s rollback: succeeded", hosts[i]);
		cr_assert(strstr(r.err, want), "%s", r.err);
		expect_web(hosts[i], cur);
	}
	tl_run_release(&r);
	status_says_what_runs(f);
	write_conf(f, NULL, "canary = 1\nwave_size = 1\n");
	fprintf(stderr, "rollback --to fleet:N case: %.1f s\n", now_s() - t0);
}

Test(fleet_failures, lost_interrupted_rolled_back_and_local, .timeout = 900)
{
	struct fx f = {0};
	double t0 = now_s();

	TL_REQUIRE(tl_have_fleet(), "the fleet's test hosts");
	cr_assert_eq(tl_fleet_count(), NHOSTS, "these cases are written for 3 hosts");
	setenv("DEPLOY_SSH_KNOWN_HOSTS", getenv("SHIPLOG_TEST_FLEET_KNOWN_HOSTS"), 1);
	f.dir = tl_mkdtemp("fleetfail");
	f.conf = xasprintf("%s/shiplog.conf", f.dir);
	cr_assert_eq(
	    tl_sh("git clone -q '%s' '%s/clone'", getenv("SHIPLOG_TEST_FLEET_ORIGIN"), f.dir), 0);
	/* every host deployed at origin's main, all at once: a host this run's order left never
	 * deployed has no ledger, and the cases compare what each host says with what it runs */
	write_conf(&f, NULL, "canary = 0\nwave_size = 3\n");
	free(push(&f, "sed -i '/health_status/d' app.conf", "fleet: failures start here"));
	{
		struct tl_run r;

		controller(&f, &r, "deploy", "main", "--all-hosts", "--edge-ready");
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		tl_run_release(&r);
	}
	fprintf(stderr, "setup, every host deployed: %.1f s\n", now_s() - t0);
	/* canary 1, wave size 1: the hosts start one after another */
	write_conf(&f, NULL, "canary = 1\nwave_size = 1\n");

	lost_controller(&f);
	interrupted_controller(&f);
	rollback_of_the_moved_hosts(&f);
	controller_on_a_host(&f);
	rollback_to_a_fleet_operation(&f);

	fprintf(stderr, "fleet failure scenarios: %.1f s wall\n", now_s() - t0);
	if (!getenv("SHIPLOG_TEST_KEEP"))
		tl_rmrf(f.dir);
	free(f.dir);
	free(f.conf);
}
