/* SPDX-License-Identifier: MIT */
/* shiplog cutover end to end, against the private user manager and the private Docker engine
 * (tools/test.sh): the sample project with its compose deployment (tools/add-docker-sample.sh),
 * whose containers answer on the same ports and write the same heartbeats as the native units.
 * One deployed state is reused across the cases, in order: refused without a soak verdict,
 * --dry-run touches nothing, a worker from docker to native and back after a real soak, a
 * rollback across the cut-over, a cut-over whose new runtime fails its verify is reversed, an
 * edge cut-over runs the [edge] switch and the public checks, rollback --to before the
 * cut-overs, then a ^C during a cut-over. The releases layout has a setup of its own: both ways,
 * and rollback --to moving the owner both ways. What runs is checked on the manager and the
 * engine,
 * not only in the ledger. */
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

static struct sample current;
static bool have_current;

static void teardown(struct sample *s)
{
	have_current = false;
	if (!s->dir)
		return;
	tl_sh("ids=$(docker ps -aq --filter label=com.docker.compose.project=%s-vps); "
	      "[ -n \"$ids\" ] && docker rm -f $ids >/dev/null 2>&1; "
	      "docker network rm %s-vps_default >/dev/null 2>&1; "
	      "imgs=$(docker image ls -q --filter 'reference=%s-vps-*'); "
	      "[ -n \"$imgs\" ] && docker rmi -f $imgs >/dev/null 2>&1; true",
	      s->project, s->project, s->project);
	sample_teardown(s);
}

static void suite_fini(void)
{
	if (have_current)
		teardown(&current);
}

TestSuite(cutover, .fini = suite_fini);

/* Whether the compose service's container of the sample runs. */
static bool container_runs(struct sample *s, const char *service)
{
	return tl_sh("docker ps -q --filter label=com.docker.compose.project=%s-vps --filter "
		     "label=com.docker.compose.service=%s --filter status=running | grep -q .",
		     s->project, service) == 0;
}

static void run_ok(struct tl_run *r, const char *what)
{
	cr_assert_eq(r->exit_code, 0, "%s failed (%d):\n%s\n%s", what, r->exit_code, r->out,
		     r->err);
}

/* Where a service runs, checked on the manager and the engine: exactly one of them. */
static void assert_runs_on(struct sample *s, const char *service, const char *runtime)
{
	bool native = sample_main_pid(s, service) != 0, docker = container_runs(s, service);

	cr_assert(streq(runtime, "native") ? native && !docker : docker && !native,
		  "%s should run on %s only: native pid %s, container %s", service, runtime,
		  native ? "yes" : "none", docker ? "running" : "none");
}

/* The sample with its compose deployment, [edge] switch/revert that leave marker files, and
 * compute and web deployed on docker. */
static void setup(struct sample *s)
{
	char snippet[1024], *alt, *text;
	struct tl_run r;

	sample_setup(s, "cutover", false);
	current = *s;
	have_current = true;
	snprintf(snippet, sizeof(snippet), "'%s/tools/add-docker-sample.sh' . '%s' %d >/dev/null",
		 SHIPLOG_SOURCE_DIR, s->project, s->port);
	sample_commit(s, NULL, snippet, "docker sample");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s->checkout), 0);
	alt = sample_alt_conf(s, "edge", NULL, NULL);
	text = tl_read(alt);
	{
		/* [soak] keeps its thresholds of 0: the soak below must pass as a real one would */
		char *full = xasprintf("%s\n[edge]\nswitch = /bin/touch '%s/switched'\nrevert = "
				       "/bin/touch '%s/reverted'\n",
				       text, s->dir, s->dir);
		tl_write(alt, full);
		free(full);
	}
	free(text);
	free(s->conf);
	s->conf = alt;
	current = *s;
	sample_shiplog(s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces",
		       "compute,web", NULL);
	run_ok(&r, "docker deploy");
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");
}

/* A real soak of compute, ended and judged: a passing soak.verdict. */
static void soak_compute(struct sample *s)
{
	struct tl_run r;

	sample_shiplog(s, &r, NULL, "soak", "start", "--name", "pre-cutover", "--pieces", "compute",
		       "--every", "200ms", "--for", "60s", NULL);
	run_ok(&r, "soak start");
	tl_run_release(&r);
	for (int i = 0; i < 50 && sample_count_events(s, "unit.observed") < 3; i++)
		usleep(100000);
	sample_shiplog(s, &r, NULL, "soak", "stop", NULL);
	run_ok(&r, "soak stop");
	tl_run_release(&r);
	sample_shiplog(s, &r, NULL, "soak", "report", "--name", "pre-cutover", NULL);
	run_ok(&r, "soak report");
	cr_assert(strstr(r.out, "pass"), "the soak did not pass:\n%s", r.out);
	tl_run_release(&r);
}

static void refused_without_soak_and_dry_run(struct sample *s)
{
	struct tl_run r;
	int ops = sample_count_events(s, "op.requested");

	sample_shiplog(s, &r, NULL, "cutover", "compute", "--to", "native", NULL);
	cr_assert_eq(r.exit_code, 3, "expected a refusal (3), got %d:\n%s\n%s", r.exit_code, r.out,
		     r.err);
	cr_assert(strstr(r.err, "soak") && strstr(r.err, "--without-soak"),
		  "the refusal does not name the soak and the way past it:\n%s", r.err);
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");

	sample_shiplog(s, &r, NULL, "--json", "cutover", "compute", "--to", "native",
		       "--without-soak", "--dry-run", NULL);
	run_ok(&r, "dry-run");
	cr_assert(strstr(r.out, "\"would\":\"cutover\"") && strstr(r.out, "\"guard\":\"soak\"") &&
		      strstr(r.out, "\"from\":\"docker\""),
		  "the plan is not in the JSON:\n%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(s, "op.requested"), ops, "--dry-run recorded something");
	assert_runs_on(s, "compute", "docker");
}

static void cutover_ok(struct sample *s, const char *service, const char *to, bool soak)
{
	struct tl_run r;

	sample_shiplog(s, &r, NULL, "cutover", service, "--to", to, soak ? NULL : "--without-soak",
		       NULL);
	run_ok(&r, "cutover");
	cr_assert(strstr(r.out, "== Stop ==") && strstr(r.out, "succeeded"),
		  "no stop phase or success line:\n%s", r.out);
	tl_run_release(&r);
	assert_runs_on(s, service, to);
}

/* compute's native unit crashes at start (app.conf in the checkout, which the docker image
 * does not read): the cut-over fails its verify and puts docker back. */
static void failed_verify_is_reversed(struct sample *s)
{
	char *conf = xasprintf("%s/app.conf", s->checkout), *text = tl_read(conf), *broken;
	struct tl_run r;
	char head[41], got[41];

	cr_assert_not_null(text);
	broken = xasprintf("%s\ncompute.crash = 1\n", text);
	tl_write(conf, broken);
	sample_shiplog(s, &r, NULL, "cutover", "compute", "--to", "native", "--without-soak", NULL);
	tl_write(conf, text);
	cr_assert_eq(r.exit_code, 1, "expected a failure (1), got %d:\n%s\n%s", r.exit_code, r.out,
		     r.err);
	cr_assert(strstr(r.err, "reversed") && strstr(r.err, "cutover operation "),
		  "no one line naming the operation and the reverse:\n%s", r.err);
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");
	sample_head(s, head);
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, head, "the docker compute does not beat (got '%s')", got);
	free(conf), free(text), free(broken);
}

/* web is an edge role: the switch command runs, then the public check. */
static void edge_cutover(struct sample *s)
{
	char *marker = xasprintf("%s/switched", s->dir), head[41], got[41];
	struct tl_run r;

	sample_shiplog(s, &r, NULL, "cutover", "web", "--to", "native", "--without-soak", NULL);
	run_ok(&r, "edge cutover");
	cr_assert(strstr(r.out, "== Edge Switch ==") && strstr(r.out, "== Public Verify =="),
		  "no edge switch or public verify:\n%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(access(marker, F_OK), 0, "the switch command did not run");
	assert_runs_on(s, "web", "native");
	sample_head(s, head);
	sample_http_commit(s, "web", got);
	cr_assert_str_eq(got, head, "native web answers '%s'", got);
	free(marker);
}

static void rollback_restores_previous_owner(struct sample *s)
{
	struct tl_run r;

	sample_shiplog(s, &r, NULL, "rollback", "--pieces", "compute", NULL);
	run_ok(&r, "rollback across the cut-over");
	tl_run_release(&r);
	assert_runs_on(s, "compute", "native");
}

/* The docker deploy of setup(), then (the cases above) compute and web cut over to native, and
 * a native deploy of a new commit to compute (the checkout moves with it): `rollback --to` the
 * docker deploy puts both back on docker at the commit they ran there, the checkout's no
 * longer. --dry-run shows the owner moves (text and JSON) and touches nothing. */
static void rollback_to_before_the_cut_overs(struct sample *s)
{
	char n[32], first[41], head[41], got[41];
	unsigned long op = sample_newest_op(s, "\"deploy\"");
	int ops;
	struct tl_run r;

	cr_assert_neq(op, 0, "no docker deploy in the history");
	snprintf(n, sizeof(n), "%lu", op);
	sample_head(s, first);
	assert_runs_on(s, "compute", "native");
	assert_runs_on(s, "web", "native");
	sample_commit(s, NULL, "echo after-cutover >> NOTES", "after the cut-overs");
	sample_shiplog(s, &r, NULL, "deploy", "main", "--runtime", "native", "--pieces", "compute",
		       NULL);
	run_ok(&r, "native deploy of compute");
	tl_run_release(&r);
	sample_head(s, head);
	cr_assert_str_neq(head, first, "the checkout did not move");

	ops = sample_count_events(s, "op.requested");
	sample_shiplog(s, &r, NULL, "rollback", "--to", n, "--dry-run", NULL);
	run_ok(&r, "rollback --to --dry-run");
	cr_assert(strstr(r.out, "would put back compute") && strstr(r.out, "would put back web") &&
		      strstr(r.out, "native -> docker") && strstr(r.out, "the checkout moves to"),
		  "the owner moves are not in the plan:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(s, &r, NULL, "--json", "rollback", "--to", n, "--dry-run", NULL);
	run_ok(&r, "rollback --to --dry-run --json");
	cr_assert(strstr(r.out, "\"owners\":[{") && strstr(r.out, "\"to\":\"docker\"") &&
		      strstr(r.out, first),
		  "the owner moves are not in the JSON plan:\n%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(s, "op.requested"), ops, "--dry-run recorded something");
	assert_runs_on(s, "compute", "native");

	sample_shiplog(s, &r, NULL, "rollback", "--to", n, NULL);
	run_ok(&r, "rollback --to before the cut-overs");
	cr_assert(strstr(r.out, "== Edge Switch =="), "web's move did not switch the edge:\n%s",
		  r.out);
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");
	assert_runs_on(s, "web", "docker");
	sample_head(s, got);
	cr_assert_str_eq(got, first, "the checkout is not back at the docker deploy's commit");
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, first, "the docker compute beats '%s'", got);
	sample_http_commit(s, "web", got);
	cr_assert_str_eq(got, first, "the docker web answers '%s'", got);
}

/* Runs shiplog with args (the sample's config; output in DIR/name.log), sends sig once the
 * move's start phase began (`== Start ==`: the old owner is stopped), and returns its wait
 * status. */
static int signal_at_start(struct sample *s, const char *name, int sig, char *const args[])
{
	pid_t pid = sample_start_until(s, NULL, name, "== Start ==", args);
	int st;

	kill(pid, sig);
	waitpid(pid, &st, 0);
	return st;
}

/* One SIGINT (as `timeout --foreground` sends) while a cut-over starts or verifies the new
 * owner: the old owner is put back and verified, the operation ends interrupted, exit 130. */
static void sigint_during_cutover_reverses(struct sample *s)
{
	char *log = xasprintf("%s/sigint.log", s->dir), *text, head[41], got[41];
	char *args[] = {"cutover", "compute", "--to", "native", "--without-soak", NULL};
	struct tl_run r;
	int st = signal_at_start(s, "sigint", SIGINT, args);

	text = tl_read(log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "expected exit 130, got status %d:\n%s",
		  st, text);
	cr_assert(strstr(text, "== Reverse ==") &&
		      strstr(text, "interrupted by signal 2; reversed"),
		  "no reverse, or it was not said:\n%s", text);
	assert_runs_on(s, "compute", "docker");
	sample_head(s, head);
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, head, "the docker compute does not beat (got '%s')", got);
	sample_shiplog(s, &r, NULL, "--json", "history", "--limit", "1", NULL);
	cr_assert(strstr(r.out, "\"cutover\"") && strstr(r.out, "\"outcome\":\"interrupted\""),
		  "the ledger does not close the cut-over as interrupted:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(s, &r, NULL, "status", NULL);
	cr_assert(!strstr(r.out, "recorded as running"), "an operation is left open:\n%s", r.out);
	tl_run_release(&r);
	free(text);
	free(log);
}

Test(cutover, worker_and_edge_between_runtimes, .timeout = 360)
{
	struct sample s;
	int64_t t0 = mono_ns();

	TL_REQUIRE(tl_have_docker(), "a private Docker engine");
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	setup(&s);
	refused_without_soak_and_dry_run(&s);
	soak_compute(&s);
	cutover_ok(&s, "compute", "native", true);
	cutover_ok(&s, "compute", "docker", false);
	failed_verify_is_reversed(&s);
	rollback_restores_previous_owner(&s);
	edge_cutover(&s);
	rollback_to_before_the_cut_overs(&s);
	sigint_during_cutover_reverses(&s);
	fprintf(stderr, "test-cutover: %.1f s\n", (double)(mono_ns() - t0) / 1e9);
	teardown(&s);
}

/* ---- the releases layout --------------------------------------------------------------------- */

/* The last line of out, parsed. */
static json_t *last_json_line(char *out)
{
	char *nl, *last = out;

	while ((nl = strchr(last, '\n')) && nl[1])
		last = nl + 1;
	return json_loads(last, 0, NULL);
}

/* The sample with its compose deployment and layout = releases, app.conf shared between the
 * releases (<checkout>.shared/app.conf: the native units read it, the images do not), its units
 * installed to run from their release links, and compute deployed on docker at c1. */
static void setup_releases(struct sample *s, char c1[41])
{
	char snippet[1024], *alt;
	struct tl_run r;

	sample_setup(s, "cutrel", false);
	current = *s;
	have_current = true;
	snprintf(snippet, sizeof(snippet), "'%s/tools/add-docker-sample.sh' . '%s' %d >/dev/null",
		 SHIPLOG_SOURCE_DIR, s->project, s->port);
	strlcpy_(c1, sample_commit(s, NULL, snippet, "docker sample"), 41);
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s->checkout), 0);
	alt = sample_alt_conf(s, "rel", "[target]", "layout = releases\nshared = app.conf");
	free(s->conf);
	s->conf = alt;
	current = *s;
	sample_shiplog(s, &r, NULL, "units", "install", NULL);
	run_ok(&r, "units install");
	tl_run_release(&r);
	sample_shiplog(s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "compute",
		       NULL);
	run_ok(&r, "docker deploy");
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");
}

/* The native compute crashes (the shared app.conf): the cut-over wrote and built release c1,
 * pointed compute's link at it, failed its verify, and put the link back (there was none) and
 * docker with it. */
static void releases_failed_native_puts_links_back(struct sample *s, const char *c1)
{
	char *shared = xasprintf("%s.shared/app.conf", s->checkout);
	char *app = xasprintf("%s/app.conf", s->checkout), *text = tl_read(app), *broken, got[41];
	struct tl_run r;

	cr_assert_not_null(text);
	cr_assert_eq(tl_sh("mkdir -p '%s.shared'", s->checkout), 0);
	broken = xasprintf("%s\ncompute.crash = 1\n", text);
	tl_write(shared, broken);
	sample_shiplog(s, &r, NULL, "cutover", "compute", "--to", "native", "--without-soak", NULL);
	cr_assert_eq(r.exit_code, 1, "expected a failure (1), got %d:\n%s\n%s", r.exit_code, r.out,
		     r.err);
	cr_assert(strstr(r.out, "== Build ==") && strstr(r.out, "== Reverse =="), "%s", r.out);
	cr_assert(strstr(r.err, "reversed"), "%s", r.err);
	cr_assert(strstr(r.out, "current-compute: back to (none: removed)"),
		  "the link was not put back:\n%s", r.out);
	tl_run_release(&r);
	sample_release_link(s, "current-compute", got);
	cr_assert_str_eq(got, "", "compute's link still names %s", got);
	cr_assert_eq(tl_sh("test -f '%s.releases/%s/.shiplog-built'", s->checkout, c1), 0,
		     "release %s was not built", c1);
	assert_runs_on(s, "compute", "docker");
	tl_write(shared, text); /* fixed */
	free(shared), free(app), free(text), free(broken);
}

/* The release is built now: no build, the link switched, the unit runs c1 from it. With
 * --json the transcript goes to stderr, says [cutover], and stdout ends with the result. */
static void releases_to_native_json(struct sample *s, const char *c1)
{
	struct tl_run r;
	json_t *o, *svcs;
	char got[41];

	sample_shiplog(s, &r, NULL, "--json", "cutover", "compute", "--to", "native",
		       "--without-soak", NULL);
	run_ok(&r, "releases cutover to native");
	cr_assert(strstr(r.err, "[cutover] Operation ") && !strstr(r.err, "[deploy] "),
		  "the transcript does not say [cutover]:\n%s", r.err);
	cr_assert(strstr(r.err, "not needed (release ") && !strstr(r.err, "== Build =="), "%s",
		  r.err);
	o = last_json_line(r.out);
	cr_assert_not_null(o, "the last line of stdout is not JSON:\n%s", r.out);
	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")), "cutover");
	cr_assert_str_eq(json_string_value(json_object_get(o, "outcome")), "succeeded");
	cr_assert_gt(json_integer_value(json_object_get(o, "number")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "from")), "docker");
	cr_assert_str_eq(json_string_value(json_object_get(o, "to")), "native");
	cr_assert_str_eq(json_string_value(json_object_get(o, "commit")), c1);
	cr_assert(json_is_false(json_object_get(o, "reversed")), "%s", r.out);
	svcs = json_object_get(o, "services");
	cr_assert(json_array_size(svcs) == 1 &&
		      streq(json_string_value(json_array_get(svcs, 0)), "compute"),
		  "%s", r.out);
	json_decref(o);
	tl_run_release(&r);
	sample_release_link(s, "current-compute", got);
	cr_assert_str_eq(got, c1, "compute's link names '%s'", got);
	assert_runs_on(s, "compute", "native");
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, c1, "the native compute beats '%s'", got);
}

/* compute's image of commit is gone, and its stopped container with it (compose v1 cannot
 * recreate a container whose image is gone). */
static void drop_image(struct sample *s, const char *commit)
{
	cr_assert_eq(tl_sh("ids=$(docker ps -aq --filter label=com.docker.compose.project=%s-vps "
			   "--filter label=com.docker.compose.service=compute); "
			   "[ -z \"$ids\" ] || docker rm -f $ids >/dev/null; "
			   "docker rmi -f '%s-vps-compute:%.12s' >/dev/null",
			   s->project, s->project, commit),
		     0);
}

/* The checkout moves on to c2, whose compose app.conf crashes compute, and c1's image is gone:
 * the cut-over back builds c1's image from release c1 (not from the checkout) and runs it. */
static void releases_to_docker_builds_from_the_release(struct sample *s, const char *c1)
{
	struct tl_run r;
	char got[41];

	sample_commit(s, NULL, "echo 'compute.crash = 1' >> deployment/docker/app.conf",
		      "crash the docker compute");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s->checkout), 0);
	drop_image(s, c1);
	sample_shiplog(s, &r, NULL, "cutover", "compute", "--to", "docker", "--without-soak", NULL);
	run_ok(&r, "releases cutover to docker");
	cr_assert(strstr(r.out, "== Build ==") && strstr(r.out, ".releases/"), "%s", r.out);
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, c1, "the docker compute beats '%s'", got);
}

/* `rollback --to n` (compute from native back to docker at c1) killed (SIGKILL) once native is
 * stopped and docker starting: compute runs nowhere, and status says so (owned by none, the
 * operation recorded as running with nobody holding the lock). The plain rollback that follows
 * closes it as interrupted and completes it: compose builds c1's image in release c1 (the
 * checkout holds c2, whose image would crash) and compute runs there. */
static void killed_owner_move_is_completed(struct sample *s, const char *c1, const char *n)
{
	char *log = xasprintf("%s/killed.log", s->dir), got[41];
	char *args[] = {"rollback", "--to", (char *)n, NULL};
	struct tl_run r;
	int st = signal_at_start(s, "killed", SIGKILL, args);

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d:\n%s", st, tl_read(log));
	cr_assert(sample_main_pid(s, "compute") == 0, "native compute still runs");
	sample_shiplog(s, &r, NULL, "--json", "status", NULL);
	cr_assert(strstr(r.out, "{\"name\":\"compute\",\"owner\":null"),
		  "status does not say compute is owned by none:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(s, &r, NULL, "status", NULL);
	cr_assert(strstr(r.out, "recorded as running but nobody holds the lock"),
		  "status does not say the rollback died:\n%s", r.out);
	tl_run_release(&r);

	sample_shiplog(s, &r, NULL, "rollback", NULL);
	run_ok(&r, "the rollback completing the killed one");
	cr_assert(strstr(r.out, "as interrupted") && strstr(r.out, "completing it") &&
		      strstr(r.out, "owned by docker at that point and stopped now") &&
		      strstr(r.out, "owner of compute: (none) -> docker") &&
		      strstr(r.out, ".releases/"),
		  "the owner move was not completed from the release:\n%s", r.out);
	tl_run_release(&r);
	assert_runs_on(s, "compute", "docker");
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, c1, "the docker compute beats '%s'", got);
	free(log);
}

/* rollback --to moves owners in the releases layout too. Release c1 is pruned while docker runs
 * compute (as `keep` would): back to the point after the cut-over to native, release c1 is
 * written and built again before anything stops, and the unit runs c1 from it. Then back to the
 * point after the cut-over to docker, with c1's image gone, killed half way and completed
 * (killed_owner_move_is_completed). */
static void releases_rollback_moves_owners(struct sample *s, const char *c1,
					   unsigned long to_native, unsigned long to_docker)
{
	struct tl_run r;
	char n[32], got[41];

	cr_assert_eq(tl_sh("rm -rf '%s.releases/%s'", s->checkout, c1), 0);
	snprintf(n, sizeof(n), "%lu", to_native);
	sample_shiplog(s, &r, NULL, "rollback", "--to", n, "--dry-run", NULL);
	run_ok(&r, "rollback --to --dry-run (releases)");
	cr_assert(strstr(r.out, "would put back compute") && strstr(r.out, "docker -> native") &&
		      strstr(r.out, "written and built first"),
		  "the owner move is not in the plan:\n%s", r.out);
	tl_run_release(&r);
	cr_assert_neq(tl_sh("test -e '%s.releases/%s'", s->checkout, c1), 0,
		      "--dry-run wrote release %s", c1);
	sample_shiplog(s, &r, NULL, "rollback", "--to", n, NULL);
	run_ok(&r, "rollback --to the native owner (releases)");
	cr_assert(strstr(r.out, "== Build ==") &&
		      strstr(r.out, "owner of compute: docker -> native"),
		  "release %s was not built, or the owner not moved:\n%s", c1, r.out);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("test -f '%s.releases/%s/.shiplog-built'", s->checkout, c1), 0,
		     "release %s was not built again", c1);
	sample_release_link(s, "current-compute", got);
	cr_assert_str_eq(got, c1, "compute's link names '%s'", got);
	assert_runs_on(s, "compute", "native");
	sample_beat_commit(s, "compute", got);
	cr_assert_str_eq(got, c1, "the native compute beats '%s'", got);

	drop_image(s, c1);
	snprintf(n, sizeof(n), "%lu", to_docker);
	killed_owner_move_is_completed(s, c1, n);
}

Test(cutover, releases_layout_both_ways, .timeout = 300)
{
	struct sample s;
	char c1[41];
	unsigned long to_native, to_docker;
	int64_t t0 = mono_ns();

	TL_REQUIRE(tl_have_docker(), "a private Docker engine");
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	setup_releases(&s, c1);
	releases_failed_native_puts_links_back(&s, c1);
	releases_to_native_json(&s, c1);
	to_native = sample_newest_op(&s, "\"cutover\"");
	releases_to_docker_builds_from_the_release(&s, c1);
	to_docker = sample_newest_op(&s, "\"cutover\"");
	cr_assert(to_native && to_docker > to_native, "the cut-overs are not in the history");
	releases_rollback_moves_owners(&s, c1, to_native, to_docker);
	fprintf(stderr, "test-cutover releases: %.1f s\n", (double)(mono_ns() - t0) / 1e9);
	teardown(&s);
}
