/* SPDX-License-Identifier: MIT */
/* The deploy plan and its guards, pure, over a real git repository (the sample repo made by
 * tools/make-sample-repo.sh in a temp dir: a checkout and its bare origin) and a ledger state
 * built by hand: no user manager, no ledger on disk. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <ledger/ledger.h>

#include "compose.h"
#include "config.h"
#include "deploy.h"
#include "out.h"
#include "plan.h"
#include "repo.h"
#include "testlib.h"
#include "units.h"
#include "util.h"
#include "view.h"

static char *dir, *checkout;
static struct config *cfg;
static struct repo *repo;
static struct deploy_args args;
static struct deploy_facts facts;
static struct deploy_plan plan;
static struct ledger *plan_lg; /* the ledger deploy_facts_read_builds reads (NULL: none yet) */

static void setup(void)
{
	char *argv[5], err[512];
	char *env[] = {"SHIPLOG_SAMPLEAPP=" SAMPLEAPP_BINARY, NULL};
	_cleanup_free_ char *conf = NULL;
	struct tl_run r;

	dir = tl_mkdtemp("dplan");
	argv[0] = SHIPLOG_SOURCE_DIR "/tools/make-sample-repo.sh";
	argv[1] = dir, argv[2] = "dplan", argv[3] = "18000", argv[4] = NULL;
	tl_run(&r, dir, env, argv);
	cr_assert_eq(r.exit_code, 0, "make-sample-repo.sh: %s%s", r.out, r.err);
	tl_run_release(&r);
	checkout = xasprintf("%s/checkout", dir);
	conf = xasprintf("%s/shiplog.conf", checkout);
	cr_assert_eq(config_load(conf, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(repo_open(checkout, &repo), 0, "%s", repo_errmsg(repo));
	unsetenv("DEPLOY_NATIVE_EDGE_READY");
}

static void teardown(void)
{
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	memset(&plan, 0, sizeof(plan));
	memset(&facts, 0, sizeof(facts));
	repo_free(repo);
	config_free(cfg);
	tl_rmrf(dir);
	free(dir);
	free(checkout);
}

TestSuite(deploy_plan, .init = setup, .fini = teardown);

/* Parses "deploy ARGS...", reads the facts and plans with st (may be NULL). Returns the plan's
 * result. */
static int plan_with(const struct ledger_state *st, ...)
{
	char *argv[32] = {"deploy"}, err[1024] = "";
	int argc = 1, r;
	va_list ap;

	va_start(ap, st);
	for (char *s; (s = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = s;
	va_end(ap);
	cr_assert_eq(deploy_args_parse(argc, argv, &args, err, sizeof(err)), 0, "%s", err);
	if (args.runtime < 0)
		args.runtime = LEDGER_RT_NATIVE;
	facts.exec_mode = REMOTE_MODE_LOCAL;
	cr_assert_eq(deploy_facts_read(cfg, &args, repo, NULL, false, &facts), 0);
	deploy_facts_read_builds(&facts, cfg, &args, repo, plan_lg, NULL);
	r = deploy_plan(cfg, &args, &facts, st, &plan, err, sizeof(err));
	return r;
}

static const struct guard_verdict *g(const char *name)
{
	const struct guard_verdict *v = guard_list_find(&plan.guards, name);
	cr_assert_not_null(v, "no verdict of guard %s", name);
	return v;
}

static char *head_of(const char *ref)
{
	char oid[REPO_OID_HEX];
	cr_assert_eq(repo_resolve(repo, ref, oid), 0);
	return xstrdup(oid);
}

Test(deploy_plan, a_full_native_plan_refuses_at_the_edge_and_names_every_guard)
{
	static const char *const order[] = {"edge",	 "lock",       "dirty-tree", "unit-missing",
					    "ownership", "quarantine", "config"};
	_cleanup_free_ char *tip = head_of("refs/remotes/origin/main");

	cr_assert_eq(plan_with(NULL, "main", NULL), 0);
	cr_assert_eq(plan.scope.nservices, 6);
	cr_assert_str_eq(plan.target, tip);
	cr_assert_str_eq(plan.target_spec, "refs/remotes/origin/main");
	cr_assert_str_eq(plan.branch, "main");
	cr_assert_not(plan.releases);
	cr_assert_eq(plan.guards.n, ELEMENTSOF(order));
	for (size_t i = 0; i < ELEMENTSOF(order); i++)
		cr_assert_str_eq(plan.guards.v[i].guard, order[i]);
	cr_assert_eq(g("edge")->result, GUARD_REFUSE);
	cr_assert(strstr(g("edge")->reason, "touches the edge"), "%s", g("edge")->reason);
	cr_assert_str_eq(guard_list_refusal(&plan.guards)->guard, "edge");
	/* what needs the ledger, the runtime or the fetch is said to be unknown, not passed */
	cr_assert_eq(g("ownership")->result, GUARD_UNKNOWN);
	cr_assert_eq(g("quarantine")->result, GUARD_UNKNOWN);
	cr_assert_eq(g("unit-missing")->result, GUARD_UNKNOWN);
	cr_assert_eq(g("config")->result, GUARD_UNKNOWN);
	cr_assert_eq(g("lock")->result, GUARD_UNKNOWN);
	cr_assert_eq(g("dirty-tree")->result, GUARD_PASS);
}

Test(deploy_plan, the_edge_acknowledged_by_flag_or_environment_passes)
{
	cr_assert_eq(plan_with(NULL, "main", "--edge-ready", NULL), 0);
	cr_assert_eq(g("edge")->result, GUARD_PASS);
	cr_assert_null(guard_list_refusal(&plan.guards));
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	setenv("DEPLOY_NATIVE_EDGE_READY", "1", 1);
	cr_assert_eq(plan_with(NULL, "main", NULL), 0);
	unsetenv("DEPLOY_NATIVE_EDGE_READY");
	cr_assert_eq(g("edge")->result, GUARD_PASS);
}

Test(deploy_plan, a_dirty_checkout_refuses_with_the_paths)
{
	_cleanup_free_ char *f = xasprintf("%s/stray.txt", checkout);
	_cleanup_free_ char *ok = xasprintf("%s/notes.local", checkout);

	tl_write(f, "x\n");
	tl_write(ok, "allowed by allow_untracked\n");
	cr_assert_eq(plan_with(NULL, "main", "--workers-only", NULL), 0);
	cr_assert_eq(g("dirty-tree")->result, GUARD_REFUSE);
	cr_assert(strstr(g("dirty-tree")->reason, "stray.txt"), "%s", g("dirty-tree")->reason);
	cr_assert_null(strstr(g("dirty-tree")->reason, "notes.local"));
	cr_assert_str_eq(guard_list_refusal(&plan.guards)->guard, "dirty-tree");
}

Test(deploy_plan, a_scoped_plan_has_its_services_and_their_builds)
{
	cr_assert_eq(plan_with(NULL, "main", "--pieces", "compute,api", NULL), 0);
	cr_assert_eq(plan.scope.nservices, 2);
	cr_assert_str_eq(cfg->services[plan.scope.services[0]].name, "api");
	cr_assert_str_eq(cfg->services[plan.scope.services[1]].name, "compute");
	cr_assert(plan.scope.touches_edge);
	/* no ledger yet: no build is recorded, so the shared build runs */
	cr_assert_eq(plan.nbuilds, 1);
	cr_assert_null(plan.builds[0].service);
	cr_assert_eq(plan.builds[0].runs, GUARD_PASS);
	cr_assert_str_eq(plan.builds[0].why, "no completed build is recorded (no ledger yet)");
}

Test(deploy_plan, build_and_no_build_say_why)
{
	cr_assert_eq(plan_with(NULL, "main", "--workers-only", "--build", NULL), 0);
	cr_assert_eq(plan.builds[0].runs, GUARD_PASS);
	cr_assert_str_eq(plan.builds[0].why, "--build forces it");
	cr_assert_eq(plan.nflags, 1);
	cr_assert_str_eq(plan.flags[0], "build");
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	cr_assert_eq(plan_with(NULL, "main", "--workers-only", "--no-build", NULL), 0);
	cr_assert_eq(plan.builds[0].runs, GUARD_REFUSE);
	cr_assert_str_eq(plan.builds[0].why, "--no-build");
}

Test(deploy_plan, usage_errors_come_from_the_pure_scope)
{
	char err[512];
	struct plan scope;

	cr_assert_eq(plan_with(NULL, "main", "--pieces", "nosuch", NULL), SL_EUSAGE);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	{
		char *argv[] = {"deploy", "v1", "--reset-to-remote"};
		cr_assert_eq(deploy_args_parse(3, argv, &args, err, sizeof(err)), 0, "%s", err);
		args.runtime = LEDGER_RT_NATIVE;
		cr_assert_eq(deploy_plan_scope(cfg, &args, &scope, err, sizeof(err)), SL_EUSAGE);
		cr_assert(strstr(err, "--reset-to-remote"), "%s", err);
	}
}

/* A state in which the sample's compute runs on docker and commit `bad` is quarantined. */
static struct ledger_state *state_with(const char *bad)
{
	struct ledger_state *st = xcalloc(1, sizeof(*st));

	ledger_state_init(st);
	st->nservices = 1;
	strlcpy_(st->services[0].name, "compute", sizeof(st->services[0].name));
	st->services[0].owner = LEDGER_RT_DOCKER;
	strlcpy_(st->services[0].rt[LEDGER_RT_DOCKER].commit, "0123456789abcdef",
		 sizeof(st->services[0].rt[0].commit));
	st->nquarantine = 1;
	strlcpy_(st->quarantine[0].commit, bad, sizeof(st->quarantine[0].commit));
	st->quarantine[0].op = 7;
	strlcpy_(st->quarantine[0].reason, "verify failed", sizeof(st->quarantine[0].reason));
	return st;
}

Test(deploy_plan, a_quarantined_target_refuses_unless_forced)
{
	_cleanup_free_ char *tip = head_of("refs/remotes/origin/main");
	struct ledger_state *st = state_with(tip);

	cr_assert_eq(plan_with(st, "main", "--pieces", "candles", NULL), 0);
	cr_assert_eq(g("quarantine")->result, GUARD_REFUSE);
	cr_assert(strstr(g("quarantine")->reason, "operation seq:7: verify failed") &&
		      strstr(g("quarantine")->reason, "--force"),
		  "%s", g("quarantine")->reason);
	cr_assert_eq(g("ownership")->result, GUARD_PASS); /* candles has no other owner */
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	cr_assert_eq(plan_with(st, "main", "--pieces", "candles", "--force", NULL), 0);
	cr_assert_eq(g("quarantine")->result, GUARD_PASS);
	cr_assert(strstr(g("quarantine")->reason, "--force"), "%s", g("quarantine")->reason);
	free(st);
}

Test(deploy_plan, a_service_owned_by_the_other_runtime_refuses_unless_taken_over)
{
	struct ledger_state *st = state_with("ffff");

	cr_assert_eq(plan_with(st, "main", "--pieces", "compute", NULL), 0);
	cr_assert_eq(g("ownership")->result, GUARD_REFUSE);
	cr_assert(strstr(g("ownership")->reason, "'compute' (owned by docker"), "%s",
		  g("ownership")->reason);
	cr_assert_eq(g("quarantine")->result, GUARD_PASS);
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	cr_assert_eq(plan_with(st, "main", "--pieces", "compute", "--take-over", NULL), 0);
	cr_assert_eq(g("ownership")->result, GUARD_PASS);
	free(st);
}

Test(deploy_plan, the_config_guard_judges_the_target_commits_config)
{
	struct config *t = NULL;
	char err[512];
	_cleanup_free_ char *other = xasprintf("%s/other.conf", dir);

	cr_assert_eq(plan_with(NULL, "main", "--pieces", "compute", NULL), 0);
	plan.target_cfg_read = true;
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("config")->result, GUARD_PASS);
	snprintf(plan.target_cfg_error, sizeof(plan.target_cfg_error),
		 "the target commit's config "
		 "is invalid: x");
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("config")->result, GUARD_REFUSE);
	plan.target_cfg_error[0] = '\0';
	tl_write(other, "[project]\nname = dplan\n[service web]\nrole = web\n");
	cr_assert_eq(config_load(other, &t, err, sizeof(err)), 0, "%s", err);
	plan.target_cfg = t;
	strlcpy_(plan.target_cfg_name, "abc:shiplog.conf", sizeof(plan.target_cfg_name));
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("config")->result, GUARD_REFUSE);
	cr_assert(strstr(g("config")->reason, "'compute' is in scope but not in abc:shiplog.conf"),
		  "%s", g("config")->reason);
	config_free(t);
}

/* Runs deploy_plan_print with --json and returns the JSON line it printed on stdout. */
static json_t *print_json(int *result)
{
	FILE *saved = stdout, *tmp = tmpfile();
	char line[65536] = "";
	json_error_t jerr;
	json_t *o;

	out_settings.json = true;
	stdout = tmp;
	*result = deploy_plan_print(&plan);
	fflush(tmp);
	stdout = saved;
	out_settings.json = false;
	rewind(tmp);
	cr_assert_not_null(fgets(line, sizeof(line), tmp), "nothing on stdout");
	fclose(tmp);
	o = json_loads(line, 0, &jerr);
	cr_assert_not_null(o, "%s: %s", jerr.text, line);
	return o;
}

Test(deploy_plan, the_dry_run_json_is_the_plan)
{
	_cleanup_free_ char *tip = head_of("refs/remotes/origin/main");
	json_t *o, *guards, *v;
	int r;

	cr_assert_eq(plan_with(NULL, "main", "--workers-only", "--no-build", NULL), 0);
	o = print_json(&r);
	cr_assert_eq(r, 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "operation")), "deploy");
	cr_assert(json_is_true(json_object_get(o, "dry_run")));
	cr_assert_str_eq(json_string_value(json_object_get(o, "mode")), "main");
	cr_assert_str_eq(json_string_value(json_object_get(o, "remote")), "origin");
	cr_assert_str_eq(json_string_value(json_object_get(o, "target")), tip);
	cr_assert_str_eq(json_string_value(json_object_get(o, "runtime")), "native");
	cr_assert_str_eq(json_string_value(json_object_get(o, "exec_mode")), "local");
	cr_assert_str_eq(json_string_value(json_object_get(o, "layout")), "in-place");
	cr_assert_str_eq(json_string_value(json_object_get(o, "scope")), "worker services only");
	cr_assert_eq(json_array_size(json_object_get(o, "services")), 4);
	v = json_array_get(json_object_get(o, "services"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(v, "name")), "compute");
	cr_assert_str_eq(json_string_value(json_object_get(v, "role")), "worker");
	cr_assert_str_eq(json_string_value(json_object_get(v, "unit")), "dplan-compute.service");
	v = json_array_get(json_object_get(o, "builds"), 0);
	cr_assert(json_is_false(json_object_get(v, "runs")));
	cr_assert_str_eq(json_string_value(json_object_get(v, "why")), "--no-build");
	guards = json_object_get(o, "guards");
	cr_assert_eq(json_array_size(guards), plan.guards.n);
	v = json_array_get(guards, 0);
	cr_assert_str_eq(json_string_value(json_object_get(v, "guard")), "edge");
	cr_assert_str_eq(json_string_value(json_object_get(v, "verdict")), "pass");
	cr_assert_str_eq(json_string_value(json_object_get(o, "would")), "deploy");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "flags"), 0)),
			 "no-build");
	json_decref(o);

	/* a refusing plan says so, and the print returns the refusal like the real run */
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	cr_assert_eq(plan_with(NULL, "main", NULL), 0);
	o = print_json(&r);
	cr_assert_eq(r, SL_EREFUSED);
	cr_assert_str_eq(json_string_value(json_object_get(o, "would")), "refuse");
	v = json_array_get(json_object_get(o, "guards"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(v, "verdict")), "refuse");
	json_decref(o);
}

Test(deploy_plan, a_docker_plan_without_the_compose_facts_leaves_services_and_images_open)
{
	cr_assert_eq(plan_with(NULL, "main", "--runtime", "docker", "--services-only", NULL), 0);
	cr_assert_eq(plan.runtime, LEDGER_RT_DOCKER);
	cr_assert_eq(g("edge")->result, GUARD_PASS); /* the edge guard is the native runtime's */
	cr_assert_eq(g("service-missing")->result, GUARD_UNKNOWN);
	cr_assert_eq(plan.nbuilds, plan.scope.nservices);
	cr_assert_str_eq(plan.builds[0].service, "api");
	cr_assert_null(plan.builds[0].command);
	cr_assert_eq(plan.builds[0].runs, GUARD_UNKNOWN);
	cr_assert(strstr(plan.builds[0].why, "compose service 'api'"), "%s", plan.builds[0].why);
	cr_assert(strstr(plan.builds[0].why, "did not ask"), "%s", plan.builds[0].why);
}

static const struct deploy_build *build_of(const char *service)
{
	for (size_t i = 0; i < plan.nbuilds; i++)
		if (plan.builds[i].service && streq(plan.builds[i].service, service))
			return &plan.builds[i];
	cr_assert_fail("no build of %s", service);
	return NULL;
}

/* What --dry-run's compose read finds (the commands are the integration test's), set by hand:
 * the guard and the images are decided from it as the precheck and the build decide them. */
Test(deploy_plan, a_docker_plan_decides_services_and_images_from_what_compose_said)
{
	struct deploy_compose_facts *d = &facts.compose;
	char tag[COMPOSE_TAG_MAX];
	json_t *o, *v;
	int r;

	cr_assert_eq(plan_with(NULL, "main", "--runtime", "docker", "--services-only", NULL), 0);
	const struct service *last = &cfg->services[plan.scope.services[plan.scope.nservices - 1]];
	_cleanup_free_ char *missing = NULL;

	cr_assert_str_neq(last->name, "api");
	d->read = true;
	strcpy(d->file, "/srv/app/docker-compose.yml");
	for (size_t i = 0; i + 1 < plan.scope.nservices; i++)
		strv_push(&d->services, cfg->services[plan.scope.services[i]].compose);
	strv_push(&d->built, "api");
	strlcpy_(d->target, plan.target, sizeof(d->target));
	d->images_read = true;
	compose_image_tag(cfg->docker.project, "api", plan.target, tag, sizeof(tag));

	/* the last is not defined: refused with the precheck's own words */
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("service-missing")->result, GUARD_REFUSE);
	missing = xasprintf("compose service '%s' of service '%s' is not defined in "
			    "'/srv/app/docker-compose.yml' (it defines: api, ",
			    last->compose, last->name);
	cr_assert(strstr(g("service-missing")->reason, missing), "%s",
		  g("service-missing")->reason);
	strv_push(&d->services, last->compose);
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("service-missing")->result, GUARD_PASS, "%s", g("service-missing")->reason);

	/* api's image for the target is missing: built; the others have no build section */
	deploy_plan_builds(&plan);
	cr_assert_eq(build_of("api")->runs, GUARD_PASS, "%s", build_of("api")->why);
	cr_assert(strstr(build_of("api")->why, tag), "%s", build_of("api")->why);
	cr_assert_eq(build_of(last->name)->runs, GUARD_REFUSE);
	cr_assert(strstr(build_of(last->name)->why, "no build section"), "%s",
		  build_of(last->name)->why);
	/* the engine has it: not rebuilt */
	strv_push(&d->images, tag);
	deploy_plan_builds(&plan);
	cr_assert_eq(build_of("api")->runs, GUARD_REFUSE);
	cr_assert(strstr(build_of("api")->why, "exists"), "%s", build_of("api")->why);
	o = print_json(&r);
	cr_assert_eq(r, 0);
	v = json_array_get(json_object_get(o, "builds"), 0);
	cr_assert(json_is_false(json_object_get(v, "runs")));
	cr_assert_str_eq(json_string_value(json_object_get(o, "would")), "deploy");
	json_decref(o);
	/* the target changes the compose directory: read again after the move, so open here */
	d->dir_changed = true;
	deploy_plan_builds(&plan);
	cr_assert_eq(build_of("api")->runs, GUARD_UNKNOWN);
	cr_assert(strstr(build_of("api")->why, "changes the compose directory"), "%s",
		  build_of("api")->why);
	d->dir_changed = false;
	/* facts of another commit (the fetch brought a newer one) decide nothing */
	memset(d->target, 'f', sizeof(d->target) - 1);
	deploy_plan_builds(&plan);
	cr_assert_eq(build_of("api")->runs, GUARD_UNKNOWN);
	/* --no-build wins */
	strlcpy_(d->target, plan.target, sizeof(d->target));
	args.no_build = true;
	deploy_plan_builds(&plan);
	cr_assert_eq(build_of("api")->runs, GUARD_REFUSE);
	cr_assert_str_eq(build_of("api")->why, "--no-build");
	args.no_build = false;

	/* an engine that does not answer: the guard is open and the run would stop there */
	strcpy(d->open_error, "cannot reach the Docker engine at 'unix:///nowhere': no answer");
	deploy_plan_guards(&plan, NULL);
	deploy_plan_builds(&plan);
	cr_assert_eq(g("service-missing")->result, GUARD_UNKNOWN);
	cr_assert_eq(build_of("api")->runs, GUARD_UNKNOWN);
	o = print_json(&r);
	cr_assert_eq(r, SL_EENV);
	cr_assert_str_eq(json_string_value(json_object_get(o, "would")), "stop");
	json_decref(o);
	/* a compose file compose rejects refuses, as the precheck does */
	d->open_error[0] = '\0';
	strcpy(d->config_error, "'docker compose config' rejects 'x': bad");
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("service-missing")->result, GUARD_REFUSE);
	cr_assert_str_eq(g("service-missing")->reason, d->config_error);
}

Test(deploy_plan, compose_tags_and_the_compose_directory_as_the_runtime_reads_them)
{
	struct strv changed = {0};
	char tag[COMPOSE_TAG_MAX];

	compose_image_tag("My_App", "API", "0123456789abcdef", tag, sizeof(tag));
	cr_assert_str_eq(tag, "my_app-api:0123456789ab");
	cr_assert_not(compose_dir_changed("deploy", &changed));
	strv_push(&changed, "src/app.c");
	cr_assert(compose_dir_changed("", &changed));
	cr_assert(compose_dir_changed("./", &changed));
	cr_assert_not(compose_dir_changed("deploy", &changed));
	cr_assert_not(compose_dir_changed("./src/app", &changed));
	strv_push(&changed, "deploy/docker-compose.yml");
	cr_assert(compose_dir_changed("./deploy/", &changed));
	cr_assert(compose_dir_changed("deploy", &changed));
	strv_free(&changed);
}

Test(deploy_plan, a_releases_plan_says_its_layout_and_that_a_new_release_builds_everything)
{
	struct config *rel = NULL;
	char err[512];
	_cleanup_free_ char *conf = xasprintf("%s/rel.conf", dir);

	tl_sh("sed 's|^\\[target\\]|[target]\\nlayout = releases|' '%s/shiplog.conf' > '%s'",
	      checkout, conf);
	cr_assert_eq(config_load(conf, &rel, err, sizeof(err)), 0, "%s", err);
	config_free(cfg);
	cfg = rel;
	cr_assert_eq(plan_with(NULL, "main", "--workers-only", NULL), 0);
	cr_assert(plan.releases);
	cr_assert_eq(plan.builds[0].runs, GUARD_PASS);
	cr_assert(strstr(plan.builds[0].why, "a new release"), "%s", plan.builds[0].why);
}

/* A commit of the checkout changing path (made and checked out in the checkout: it stays
 * clean). Returns the new commit. */
static char *commit_change(const char *path)
{
	cr_assert_eq(tl_sh("cd '%s' && echo change >> '%s' && git add -A && "
			   "git -c user.email=t@e -c user.name=t commit -qm '%s'",
			   checkout, path, path),
		     0);
	repo_free(repo);
	cr_assert_eq(repo_open(checkout, &repo), 0);
	return head_of("HEAD");
}

static void ledger_event_add(struct ledger_event *ev)
{
	ev->actor = "t@h";
	cr_assert_eq(ledger_append(plan_lg, ev, LEDGER_APPEND_NOSYNC, NULL), 0, "%s",
		     ledger_errmsg(plan_lg));
}

/* Records a completed build of the checkout at commit by operation op. */
static void record_build(uint64_t op, const char *commit)
{
	struct ledger_event ev = {.type = LEDGER_EV_BUILD_COMPLETED, .op = op};

	ev.u.build_completed.path = repo_workdir(repo);
	ev.u.build_completed.commit = commit;
	ledger_event_add(&ev);
}

static void replan(const char *target)
{
	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	cr_assert_eq(plan_with(NULL, target, "--workers-only", NULL), 0);
}

Test(deploy_plan, the_shared_build_is_decided_against_the_last_completed_build)
{
	_cleanup_free_ char *c0 = head_of("HEAD"), *lgdir = xasprintf("%s/ledger", dir);
	_cleanup_free_ char *c1 = commit_change("NOTES");
	_cleanup_free_ char *c2 = commit_change("app/sampleapp.c");
	char want[512], on[VIEW_OP_NAME_MAX];
	json_t *o;
	int r;

	cr_assert_eq(ledger_open(&plan_lg, lgdir, LEDGER_OPEN_CREATE, NULL), 0);
	/* a ledger without a build: it runs */
	cr_assert_eq(plan_with(NULL, c1, "--workers-only", NULL), 0);
	cr_assert_eq(plan.builds[0].runs, GUARD_PASS);
	cr_assert(strstr(plan.builds[0].why, "no completed build of "), "%s", plan.builds[0].why);

	/* built at c0: only NOTES changed up to c1, the build's input changed up to c2 */
	record_build(1, c0);
	replan(c1);
	cr_assert_eq(plan.builds[0].runs, GUARD_REFUSE);
	snprintf(want, sizeof(want),
		 "none of app/sampleapp.c changed between the last completed build %.12s "
		 "(operation %s) and %.12s",
		 c0, view_op_name(1, on), c1);
	cr_assert_str_eq(plan.builds[0].why, want);
	cr_assert_not(plan.shared_build.run);
	o = print_json(&r);
	cr_assert(json_is_false(
	    json_object_get(json_array_get(json_object_get(o, "builds"), 0), "runs")));
	json_decref(o);

	replan(c2);
	cr_assert_eq(plan.builds[0].runs, GUARD_PASS);
	snprintf(want, sizeof(want),
		 "'app/sampleapp.c' changed between the last completed build %.12s (operation %s) "
		 "and %.12s",
		 c0, view_op_name(1, on), c2);
	cr_assert_str_eq(plan.builds[0].why, want);

	/* the build of c2 completed: c2 builds nothing more */
	record_build(5, c2);
	replan(c2);
	cr_assert_eq(plan.builds[0].runs, GUARD_REFUSE);
	cr_assert(strstr(plan.builds[0].why, "was built completely by operation "), "%s",
		  plan.builds[0].why);
	ledger_close(plan_lg);
	plan_lg = NULL;
}

/* Reads the facts as --dry-run does (the unit files too) and plans. */
static void plan_dry(const char *target)
{
	char *argv[] = {"deploy", (char *)target, "--workers-only", "--dry-run", NULL}, err[1024];

	deploy_plan_release(&plan);
	deploy_facts_release(&facts);
	deploy_args_release(&args);
	memset(&facts, 0, sizeof(facts));
	cr_assert_eq(deploy_args_parse(4, argv, &args, err, sizeof(err)), 0, "%s", err);
	args.runtime = LEDGER_RT_NATIVE;
	cr_assert_eq(deploy_facts_read(cfg, &args, repo, NULL, true, &facts), 0);
	cr_assert_eq(deploy_plan(cfg, &args, &facts, NULL, &plan, err, sizeof(err)), 0, "%s", err);
}

Test(deploy_plan, the_dry_run_judges_the_units_by_their_files)
{
	_cleanup_free_ char *xdg = xasprintf("%s/xdg", dir);
	struct units_set set = {0};
	char err[512];

	setenv("XDG_CONFIG_HOME", xdg, 1);
	plan_dry("main");
	cr_assert_eq(g("unit-missing")->result, GUARD_REFUSE);
	cr_assert(strstr(g("unit-missing")->reason,
			 "unit 'dplan-compute.service' of service 'compute' has no unit file"),
		  "%s", g("unit-missing")->reason);

	/* installed as 'shiplog units install' writes them (without the manager's reload) */
	cr_assert_eq(units_render(cfg, &set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(units_write(cfg, &set, false, NULL, err, sizeof(err)), 0, "%s", err);
	units_set_release(&set);
	plan_dry("main");
	cr_assert_eq(g("unit-missing")->result, GUARD_PASS, "%s", g("unit-missing")->reason);
	cr_assert(strstr(g("unit-missing")->reason, ", as 'shiplog units install' writes them"),
		  "%s", g("unit-missing")->reason);

	/* one changed by hand: still there, said to differ */
	tl_sh("echo '# by hand' >> '%s/systemd/user/dplan-candles.service'", xdg);
	plan_dry("main");
	cr_assert_eq(g("unit-missing")->result, GUARD_PASS);
	cr_assert(strstr(g("unit-missing")->reason, "writes them now: dplan-candles.service;"),
		  "%s", g("unit-missing")->reason);
	unsetenv("XDG_CONFIG_HOME");
}

Test(deploy_plan, the_dry_run_reads_the_target_commits_config_from_git)
{
	struct config *tcfg = NULL;
	_cleanup_free_ char *c0 = head_of("HEAD"), *c1 = NULL, *c2 = NULL;

	/* the same config at the target */
	plan_dry(c0);
	deploy_plan_read_target_config(&plan, repo, &tcfg);
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("config")->result, GUARD_PASS);
	cr_assert(strstr(g("config")->reason, "is the config this deploy started with"), "%s",
		  g("config")->reason);
	config_free(tcfg);

	/* a commit that changes it: read from git (the checkout stays at c0), said to differ */
	cr_assert_eq(tl_sh("cd '%s' && sed -i 's/^settle = .*/settle = 2s/' shiplog.conf && "
			   "git -c user.email=t@e -c user.name=t commit -qam settle && "
			   "git reset -q --hard HEAD~1",
			   checkout),
		     0);
	cr_assert_eq(tl_sh("cd '%s' && git rev-parse HEAD@{1} > ../c1", checkout), 0);
	{
		_cleanup_free_ char *p = xasprintf("%s/c1", dir);
		c1 = tl_read(p);
		c1[strcspn(c1, "\n")] = '\0';
	}
	plan_dry(c1);
	deploy_plan_read_target_config(&plan, repo, &tcfg);
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("config")->result, GUARD_PASS);
	cr_assert(strstr(g("config")->reason, "differs from the config this deploy started with"),
		  "%s", g("config")->reason);
	cr_assert_str_eq(head_of("HEAD"), c0);
	config_free(tcfg);

	/* an invalid one refuses */
	cr_assert_eq(tl_sh("cd '%s' && echo 'bogus line' >> shiplog.conf && "
			   "git -c user.email=t@e -c user.name=t commit -qam bad && "
			   "git rev-parse HEAD > ../c2 && git reset -q --hard HEAD~1",
			   checkout),
		     0);
	{
		_cleanup_free_ char *p = xasprintf("%s/c2", dir);
		c2 = tl_read(p);
		c2[strcspn(c2, "\n")] = '\0';
	}
	plan_dry(c2);
	deploy_plan_read_target_config(&plan, repo, &tcfg);
	deploy_plan_guards(&plan, NULL);
	cr_assert_eq(g("config")->result, GUARD_REFUSE);
	cr_assert(strstr(g("config")->reason, "the target commit's config is invalid"), "%s",
		  g("config")->reason);
	config_free(tcfg);
}
