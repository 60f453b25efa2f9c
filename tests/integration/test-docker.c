/* SPDX-License-Identifier: MIT */
/* The docker runtime end to end against a real private Docker engine (tools/test.sh starts it
 * and imports local/tiny:1) and compose: the sample project gains a compose deployment
 * (tools/add-docker-sample.sh) whose web and api answer the commit they were built from on the
 * same ports as the native units, and whose workers write the same heartbeats. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sample.h"
#include "util.h"

static char *const edge_ok[] = {"DEPLOY_NATIVE_EDGE_READY=1", NULL};

#define REQUIRE_DOCKER()                                                                           \
	do {                                                                                       \
		TL_REQUIRE(tl_have_docker(), "a private Docker engine");                           \
		TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");              \
	} while (0)

static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *capture(const char *fmt, ...)
{
	char cmd[2048];
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	struct tl_run r;
	va_list ap;
	char *out;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	tl_run(&r, NULL, NULL, argv);
	out = r.out;
	r.out = NULL;
	tl_run_release(&r);
	str_trim(out);
	return out;
}

static void docker_teardown(struct sample *s);

/* The sample of the running test (each test runs in its own process), torn down by the suite's
 * fini also when an assertion ends the test early: no containers, networks or images left. */
static struct sample current;
static bool have_current;

static void suite_fini(void)
{
	if (have_current)
		docker_teardown(&current);
}

TestSuite(docker, .fini = suite_fini);

/* The sample with its compose deployment committed, pushed and checked out. */
static void docker_setup(struct sample *s, const char *tag)
{
	char snippet[1024];

	sample_setup(s, tag, false);
	current = *s;
	have_current = true;
	snprintf(snippet, sizeof(snippet), "'%s/tools/add-docker-sample.sh' . '%s' %d >/dev/null",
		 SHIPLOG_SOURCE_DIR, s->project, s->port);
	sample_commit(s, NULL, snippet, "docker sample");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s->checkout), 0);
}

static void docker_teardown(struct sample *s)
{
	have_current = false;
	if (!s->dir)
		return;
	/* everything labelled with the sample's projects, its network and its images */
	tl_sh("ids=$(docker ps -aq --filter label=com.docker.compose.project=%s-vps; "
	      "docker ps -aq --filter label=com.docker.compose.project=%s); "
	      "[ -n \"$ids\" ] && docker rm -f $ids >/dev/null 2>&1; "
	      "docker network rm %s-vps_default %s-vps-default >/dev/null 2>&1; "
	      "imgs=$(docker image ls -q --filter 'reference=%s-vps-*'); "
	      "[ -n \"$imgs\" ] && docker rmi -f $imgs >/dev/null 2>&1; true",
	      s->project, s->project, s->project, s->project, s->project);
	sample_teardown(s);
}

/* Full container id of a compose service of the sample ("" when none). */
static void container_id(struct sample *s, const char *service, char out[80])
{
	char *o =
	    capture("docker ps -aq --no-trunc --filter label=com.docker.compose.project=%s-vps "
		    "--filter label=com.docker.compose.service=%s",
		    s->project, service);
	strlcpy_(out, o, 80);
	free(o);
}

static void container_image(struct sample *s, const char *service, char out[256])
{
	char id[80];
	char *o;

	container_id(s, service, id);
	o = capture("docker inspect --format '{{.Config.Image}}' %s", id[0] ? id : "none");
	strlcpy_(out, o, 256);
	free(o);
}

static void deploy_ok(struct sample *s, struct tl_run *r, const char *what)
{
	cr_assert_eq(r->exit_code, 0, "%s failed (%d):\n%s\n%s", what, r->exit_code, r->out,
		     r->err);
	cr_assert(strstr(r->out, "== Deploy Timings =="), "%s: no timings block:\n%s", what,
		  r->out);
	(void)s;
}

Test(docker, full_deploy_then_scoped_deploy_recreates_only_the_selected)
{
	struct sample s;
	struct tl_run r;
	char head[41], got[41], web1[80], api1[80], compute1[80], id[80], img[256];
	const char *c2;

	REQUIRE_DOCKER();
	docker_setup(&s, "dkfull");
	sample_head(&s, head);

	/* no edge guard on docker: a full deploy needs no acknowledgement */
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", NULL);
	deploy_ok(&s, &r, "full docker deploy");
	cr_assert(strstr(r.out, "compose: docker"), "compose not named:\n%s", r.out);
	cr_assert(strstr(r.out, "(started)"), "containers not reported as started:\n%s", r.out);
	cr_assert(strstr(r.out, "logs --no-color --tail=100"), "no log tail without --fast:\n%s",
		  r.out);
	tl_run_release(&r);
	sample_http_commit(&s, "web", got);
	cr_assert_str_eq(got, head, "web answers '%s', not %s", got, head);
	sample_http_commit(&s, "api", got);
	cr_assert_str_eq(got, head);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, head, "the compute container beats '%s'", got);
	container_image(&s, "api", img);
	cr_assert(strstr(img, head) == NULL && strncmp(strchr(img, ':') + 1, head, 12) == 0,
		  "api image '%s' is not tagged with the commit", img);
	cr_assert_eq(sample_count_events(&s, "unit.restarted"), 6);
	container_id(&s, "web", web1);
	container_id(&s, "api", api1);
	container_id(&s, "compute", compute1);
	cr_assert(web1[0] && api1[0] && compute1[0]);

	c2 = sample_commit(&s, NULL, "echo change >> NOTES", "second");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "api",
		       "--fast", NULL);
	deploy_ok(&s, &r, "scoped docker deploy");
	cr_assert(strstr(r.out, "(recreated)"), "api not recreated:\n%s", r.out);
	cr_assert(strstr(r.out, "--fast: skipped"), "fast did not say what it skipped:\n%s", r.out);
	tl_run_release(&r);
	container_id(&s, "api", id);
	cr_assert_str_neq(id, api1, "the api container was not recreated");
	container_id(&s, "web", id);
	cr_assert_str_eq(id, web1, "web was recreated by an api-only deploy");
	container_id(&s, "compute", id);
	cr_assert_str_eq(id, compute1, "compute was recreated by an api-only deploy");
	sample_http_commit(&s, "api", got);
	cr_assert_str_eq(got, c2, "api answers '%s', not the new commit", got);
	sample_http_commit(&s, "web", got);
	cr_assert_str_eq(got, head, "web should still answer the old commit");
	cr_assert_eq(sample_count_events(&s, "unit.restarted"), 7);

	sample_shiplog(&s, &r, NULL, "--json", "status", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "docker"), "status does not show docker:\n%s", r.out);
	tl_run_release(&r);
	docker_teardown(&s);
}

Test(docker, force_recreate_changes_container_ids_and_reuses_images)
{
	struct sample s;
	struct tl_run r;
	char web1[80], id[80];

	REQUIRE_DOCKER();
	docker_setup(&s, "dkforce");
	/* --dry-run asks compose and the engine what the precheck and the build will */
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "web",
		       "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 0, "dry run (%d):\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.out, "compose services: every compose service in scope is defined"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "build web: runs: image ") &&
		      strstr(r.out, " is not in the Docker engine: compose builds it"),
		  "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "web",
		       NULL);
	deploy_ok(&s, &r, "first deploy");
	cr_assert(strstr(r.out, " build web"), "the image was not built:\n%s", r.out);
	tl_run_release(&r);
	container_id(&s, "web", web1);

	/* the same commit again: the plan and then the run find the image and build nothing */
	sample_shiplog(&s, &r, NULL, "--json", "deploy", "main", "--runtime", "docker", "--pieces",
		       "web", "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 0, "dry run (%d):\n%s\n%s", r.exit_code, r.out, r.err);
	{
		json_t *o = json_loads(r.out, 0, NULL), *b, *g;
		cr_assert_not_null(o, "%s", r.out);
		b = json_array_get(json_object_get(o, "builds"), 0);
		g = json_array_get(json_object_get(o, "guards"), 3);
		cr_assert(json_is_false(json_object_get(b, "runs")), "%s", r.out);
		cr_assert(strstr(json_string_value(json_object_get(b, "why")),
				 "exists in the Docker engine: not rebuilt"),
			  "%s", r.out);
		cr_assert_str_eq(json_string_value(json_object_get(g, "guard")), "service-missing");
		cr_assert_str_eq(json_string_value(json_object_get(g, "verdict")), "pass");
		json_decref(o);
	}
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "web",
		       NULL);
	deploy_ok(&s, &r, "second deploy");
	cr_assert(strstr(r.out, "exists: not rebuilt"), "the image was rebuilt:\n%s", r.out);
	cr_assert(strstr(r.out, "(unchanged)"), "web not reported unchanged:\n%s", r.out);
	tl_run_release(&r);
	container_id(&s, "web", id);
	cr_assert_str_eq(id, web1, "web was recreated without --force-recreate");

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "web",
		       "--force-recreate", NULL);
	deploy_ok(&s, &r, "--force-recreate deploy");
	cr_assert(strstr(r.out, "--force-recreate"), "%s", r.out);
	tl_run_release(&r);
	container_id(&s, "web", id);
	cr_assert(id[0]);
	cr_assert_str_neq(id, web1, "--force-recreate kept the container");

	/* native has no containers to recreate */
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "native", "--workers-only",
		       "--force-recreate", NULL);
	cr_assert_eq(r.exit_code, 2, "expected a usage error (2), got %d:\n%s", r.exit_code, r.err);
	tl_run_release(&r);
	docker_teardown(&s);
}

Test(docker, exiting_container_fails_verify_and_rolls_back)
{
	struct sample s;
	struct tl_run r;
	char head[41], got[41], img[256], *orig;
	const char *bad;

	REQUIRE_DOCKER();
	docker_setup(&s, "dkcrash");
	sample_head(&s, head);
	/* the api alone (the subject here); its check fails for good only at the timeout: 3 s,
	 * not the sample's 10 s */
	orig = s.conf;
	s.conf = sample_alt_conf(&s, "dkcrash", "[policy]", "health_timeout = 3s");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--api-only", NULL);
	deploy_ok(&s, &r, "first deploy");
	tl_run_release(&r);

	bad = sample_commit(&s, NULL, "echo 'api.crash = 1' >> deployment/docker/app.conf",
			    "break the api");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--api-only", NULL);
	cr_assert_eq(r.exit_code, 1, "expected a failed deploy (1), got %d:\n%s\n%s", r.exit_code,
		     r.out, r.err);
	cr_assert(strstr(r.out, "FAIL"), "no failed container check:\n%s", r.out);
	cr_assert(strstr(r.out, "crash = 1 in app.conf"), "no log tail on failure:\n%s", r.out);
	cr_assert(strstr(r.out, "Automatic Rollback"), "%s", r.out);
	cr_assert(strstr(r.out, "exists: not rebuilt"), "the rollback rebuilt the old image:\n%s",
		  r.out);
	cr_assert(strstr(r.err, "rolled back"), "%s", r.err);
	tl_run_release(&r);

	sample_http_commit(&s, "api", got);
	cr_assert_str_eq(got, head, "after the rollback api answers '%s', not %s", got, head);
	container_image(&s, "api", img);
	cr_assert(strncmp(strchr(img, ':') + 1, head, 12) == 0,
		  "api runs image '%s', not the previous commit's", img);
	cr_assert(strncmp(strchr(img, ':') + 1, bad, 12) != 0);
	free(s.conf);
	s.conf = orig;
	docker_teardown(&s);
}

Test(docker, foreign_project_is_reported)
{
	struct sample s;
	struct tl_run r;
	char name[128];

	REQUIRE_DOCKER();
	docker_setup(&s, "dkforeign");
	snprintf(name, sizeof(name), "%s-stray", s.project);
	cr_assert_eq(tl_sh("docker run -d --init --name '%s' --label "
			   "com.docker.compose.project=%s local/tiny:1 >/dev/null",
			   name, s.project),
		     0);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "compute",
		       NULL);
	deploy_ok(&s, &r, "deploy beside a foreign project");
	cr_assert(strstr(r.err, "foreign compose project"), "no foreign project warning:\n%s",
		  r.err);
	cr_assert(strstr(r.err, name), "the stray container is not named:\n%s", r.err);
	tl_run_release(&r);
	docker_teardown(&s);
}

Test(docker, ownership_refusal_and_take_over)
{
	struct sample s;
	struct tl_run r;
	char head[41], got[41];

	REQUIRE_DOCKER();
	docker_setup(&s, "dkowner");
	sample_head(&s, head);
	sample_shiplog(&s, &r, edge_ok, "deploy", "main", "--runtime", "native", "--api-only",
		       NULL);
	deploy_ok(&s, &r, "native deploy of api");
	tl_run_release(&r);
	cr_assert_neq(sample_main_pid(&s, "api"), 0u, "the native api does not run");

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--api-only", NULL);
	cr_assert_eq(r.exit_code, 3, "expected a refusal (3), got %d:\n%s\n%s", r.exit_code, r.out,
		     r.err);
	cr_assert(strstr(r.err, "'api'") && strstr(r.err, "native") && strstr(r.err, "--take-over"),
		  "the refusal does not name service, owner and fix:\n%s", r.err);
	tl_run_release(&r);
	cr_assert_neq(sample_main_pid(&s, "api"), 0u, "the refusal stopped the native api");

	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--api-only",
		       "--take-over", NULL);
	deploy_ok(&s, &r, "take-over");
	tl_run_release(&r);
	cr_assert_eq(sample_main_pid(&s, "api"), 0u, "the native api still runs");
	sample_http_commit(&s, "api", got);
	cr_assert_str_eq(got, head, "the docker api does not answer (got '%s')", got);
	cr_assert_eq(sample_count_events(&s, "owner.changed"), 1);
	sample_shiplog(&s, &r, NULL, "--json", "status", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"owner\":\"docker\""),
		  "status does not show docker as owner:\n%s", r.out);
	tl_run_release(&r);
	docker_teardown(&s);
}

/* Compose v2 ('docker compose') is preferred when it answers. Debian 12 ships only v1, so the
 * docker CLI plugin here is the recipe's shim that hands 'docker compose ...' to docker-compose
 * and logs each call: the v2 argv shiplog builds is what reaches the engine. */
Test(docker, compose_v2_plugin_is_preferred)
{
	struct sample s;
	struct tl_run r;
	char *cfg, *plugin, *log, *env[2], *calls, head[41], got[41];

	REQUIRE_DOCKER();
	docker_setup(&s, "dkv2");
	sample_head(&s, head);
	cfg = xasprintf("%s/docker-config", s.dir);
	plugin = xasprintf("%s/cli-plugins/docker-compose", cfg);
	log = xasprintf("%s/compose-v2.log", s.dir);
	{
		char *text = xasprintf(
		    "#!/bin/sh\n"
		    "if [ \"$1\" = docker-cli-plugin-metadata ]; then\n"
		    "  printf '{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"test shim\","
		    "\"Version\":\"2.99.0\",\"ShortDescription\":\"compose v2 shim\"}\\n'; exit 0\n"
		    "fi\n"
		    "shift\n"
		    "echo \"$*\" >> '%s'\n"
		    "if [ \"$1\" = version ]; then echo 'Docker Compose version v2.99.0-shim'; "
		    "exit 0; fi\n"
		    "exec docker-compose \"$@\"\n",
		    log);
		tl_write(plugin, text);
		free(text);
	}
	cr_assert_eq(tl_sh("chmod +x '%s'", plugin), 0);
	env[0] = xasprintf("DOCKER_CONFIG=%s", cfg);
	env[1] = NULL;

	/* the api alone: which compose runs does not depend on how many services it starts */
	sample_shiplog(&s, &r, env, "deploy", "main", "--runtime", "docker", "--pieces", "api",
		       "--fast", NULL);
	deploy_ok(&s, &r, "docker deploy through compose v2");
	cr_assert(strstr(r.out, "compose: docker compose ("), "v2 not chosen:\n%s", r.out);
	cr_assert(strstr(r.out, "$ docker compose") || strstr(r.out, " compose "),
		  "the v2 command line is not shown:\n%s", r.out);
	tl_run_release(&r);
	calls = tl_read(log);
	cr_assert_not_null(calls, "the v2 plugin was never called");
	cr_assert(strstr(calls, "up -d"), "compose up did not go through v2:\n%s", calls);
	free(calls);
	sample_http_commit(&s, "api", got);
	cr_assert_str_eq(got, head);
	free(env[0]);
	free(cfg);
	free(plugin);
	free(log);
	docker_teardown(&s);
}

/* [service X] env reaches the container through the compose override; the value stays out of
 * the ledger and the transcript. */
Test(docker, service_environment_reaches_the_container)
{
	struct sample s;
	struct tl_run r;
	char id[80], *env, *conf;

	REQUIRE_DOCKER();
	docker_setup(&s, "dkenv");
	conf = sample_alt_conf(&s, "dkenv", "[service compute]",
			       "env = GREETING=docker-secret-$HOME-4711");
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "deploy", "main", "--runtime", "docker",
		   "--pieces", "compute", NULL);
	deploy_ok(&s, &r, "docker deploy with a service environment");
	cr_assert(strstr(r.out, "environment of compute: GREETING"), "names not shown:\n%s", r.out);
	cr_assert(!strstr(r.out, "docker-secret") && !strstr(r.err, "docker-secret"),
		  "a value reached the transcript:\n%s\n%s", r.out, r.err);
	tl_run_release(&r);
	container_id(&s, "compute", id);
	cr_assert(id[0], "no compute container");
	env = capture("docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' %s", id);
	cr_assert(strstr(env, "GREETING=docker-secret-$HOME-4711"),
		  "the value did not reach the container literally:\n%s", env);
	free(env);
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "ledger", "export", NULL);
	cr_assert(!strstr(r.out, "docker-secret"), "a value reached the ledger");
	tl_run_release(&r);
	free(conf);
	docker_teardown(&s);
}

/* Issue 11: `shiplog logs SERVICE` of a docker service is its container's `docker logs`: for the
 * window of an operation with --op (a service the operation did not recreate has no lines in
 * it), the last lines without, and -f follows until interrupted. */
Test(docker, logs_of_a_container_for_an_operation_and_followed)
{
	struct sample s;
	struct tl_run r;
	char head[41], want[160], opa[24], opb[24], cmd[2048];
	const char *c2;
	unsigned long a, b;
	char *out;

	REQUIRE_DOCKER();
	docker_setup(&s, "dklogs");
	sample_head(&s, head);
	/* the two services whose logs are read (the full deploy is the first test's) */
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "web,api",
		       NULL);
	deploy_ok(&s, &r, "docker deploy of web and api");
	tl_run_release(&r);
	a = sample_newest_op(&s, "\"deploy\"");
	c2 = sample_commit(&s, NULL, "echo change >> NOTES", "second");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "api",
		       "--fast", NULL);
	deploy_ok(&s, &r, "scoped docker deploy");
	tl_run_release(&r);
	b = sample_newest_op(&s, "\"deploy\"");
	cr_assert(a && b && a != b);
	snprintf(opa, sizeof(opa), "%lu", a);
	snprintf(opb, sizeof(opb), "%lu", b);

	/* the owner is docker: no --runtime needed */
	sample_shiplog(&s, &r, NULL, "logs", "api", "--op", opb, NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	snprintf(want, sizeof(want), "app[api]: start service=api role=api commit=%s", c2);
	cr_assert(strstr(r.out, want), "no start line of the new api container:\n%s", r.out);
	cr_assert(strstr(r.out, "Z app[api]"), "lines carry their time:\n%s", r.out);
	cr_assert(!strstr(r.out, "== Deploy") && !strstr(r.out, "docker engine"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "logs", "web", "--op", opa, NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	snprintf(want, sizeof(want), "app[web]: start service=web role=web commit=%s", head);
	cr_assert(strstr(r.out, want), "web started in operation %s:\n%s", opa, r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "logs", "web", "--op", opb, NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(!strstr(r.out, "app[web]: start"), "web was not recreated in %s:\n%s", opb,
		  r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "logs", "api", "-n", "5", "--runtime", "docker", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, c2), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "logs", "nosuch", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	tl_run_release(&r);

	/* -f: follows until SIGINT, then exits 0. --foreground: one SIGINT to shiplog, as a ^C
	 * gives (without it timeout also signals its process group: the same request twice within
	 * microseconds, which shiplog takes as one, see interrupt.h) */
	out = xasprintf("%s/follow.out", s.dir);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && timeout --foreground --preserve-status -s INT 4 '%s' -c '%s' logs web "
		 "-f >'%s' "
		 "2>&1; echo $?",
		 s.checkout, SHIPLOG_BINARY, s.conf, out);
	{
		char *argv[] = {"/bin/sh", "-c", cmd, NULL};
		char *text;

		tl_run(&r, NULL, NULL, argv);
		text = tl_read(out);
		snprintf(want, sizeof(want), "app[web]: start service=web role=web commit=%s",
			 head);
		cr_assert(strstr(text, want), "-f printed:\n%s", text);
		cr_assert(strncmp(r.out, "0", 1) == 0, "-f ended with %s:\n%s", r.out, text);
		free(text);
		tl_run_release(&r);
	}
	free(out);
	docker_teardown(&s);
}
