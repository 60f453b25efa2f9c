/* SPDX-License-Identifier: MIT */
/* shiplog cutover end to end, against the private user manager and the private Docker engine
 * (tools/test.sh): the sample project with its compose deployment (tools/add-docker-sample.sh),
 * whose containers answer on the same ports and write the same heartbeats as the native units.
 * One deployed state is reused across the cases, in order: refused without a soak verdict,
 * --dry-run touches nothing, a worker from docker to native and back after a real soak, a
 * rollback across the cut-over, a cut-over whose new runtime fails its verify is reversed, and
 * an edge cut-over runs the [edge] switch and the public checks. What runs is checked on the
 * manager and the engine, not only in the ledger. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

Test(cutover, worker_and_edge_between_runtimes, .timeout = 240)
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
	fprintf(stderr, "test-cutover: %.1f s\n", (double)(mono_ns() - t0) / 1e9);
	teardown(&s);
}
