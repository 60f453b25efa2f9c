/* SPDX-License-Identifier: MIT */
/* The cut-over plan and its guards, pure: a config from text, facts and a ledger state built by
 * hand. No git, no manager, no engine, no ledger on disk. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <ledger/ledger.h>

#include "config.h"
#include "cutover.h"
#include "out.h"
#include "util.h"

#define HEAD "1111111111111111111111111111111111111111"
#define OTHER "2222222222222222222222222222222222222222"

static const char conf_text[] = "[project]\nname = cp\n"
				"[target]\ncheckout = /srv/cp\n"
				"[runtime native]\nbuild = make\n"
				"[service web]\nrole = web\n"
				"[service api]\nrole = api\n"
				"[service compute]\nrole = worker\n"
				"[service candles]\nrole = worker\n"
				"[public]\napp_url = http://127.0.0.1:9/\n"
				"[edge]\nswitch = bin/proxy-switch 'to native'\n"
				"revert = bin/proxy-switch back\n";

static struct config *cfg;
static struct cutover_args args;
static struct cutover_facts facts;
static struct cutover_plan plan;
static struct ledger_state st;

static struct config *load(const char *text, char *err, size_t n)
{
	struct config *c = NULL;

	if (config_load_data("/srv/cp/shiplog.conf", "shiplog.conf", text, strlen(text), &c, err,
			     n) < 0)
		return NULL;
	return c;
}

/* Every service known, ready, soaked and passing; compute and candles run HEAD on docker. */
static void setup(void)
{
	char err[512];

	cfg = load(conf_text, err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	memset(&args, 0, sizeof(args));
	memset(&facts, 0, sizeof(facts));
	memset(&plan, 0, sizeof(plan));
	ledger_state_init(&st);
	args.to = LEDGER_RT_NATIVE;
	strlcpy_(facts.head, HEAD, sizeof(facts.head));
	strlcpy_(facts.built, HEAD, sizeof(facts.built));
	facts.runtime_asked = facts.soak_read = true;
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct ledger_service_state *ss = &st.services[st.nservices++];
		facts.ready[i] =
		    (struct cutover_ready){.asked = true, .ready = true, .built = true};
		snprintf(facts.ready[i].what, sizeof(facts.ready[i].what), "unit %s loaded",
			 cfg->services[i].unit);
		facts.soak[i] = (struct cutover_soak){.found = true, .pass = true, .seq = 7};
		strlcpy_(facts.soak[i].window, "w1", sizeof(facts.soak[i].window));
		strlcpy_(ss->name, cfg->services[i].name, sizeof(ss->name));
		ss->owner = LEDGER_RT_DOCKER;
		strlcpy_(ss->rt[LEDGER_RT_DOCKER].commit, HEAD, sizeof(ss->rt[0].commit));
	}
}

static void teardown(void)
{
	strv_free(&args.services);
	config_free(cfg);
}

TestSuite(cutover_plan, .init = setup, .fini = teardown);

static int plan_of(const char *names)
{
	char err[512] = "", *copy = xstrdup(names), *save = NULL;
	int r;

	strv_free(&args.services);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		strv_push(&args.services, w);
	free(copy);
	r = cutover_plan(cfg, &args, &facts, &st, &plan, err, sizeof(err));
	return r;
}

static const struct guard_verdict *verdict(const char *guard)
{
	const struct guard_verdict *v = guard_list_find(&plan.guards, guard);

	cr_assert_not_null(v, "no %s guard", guard);
	return v;
}

Test(cutover_plan, every_guard_passes_and_the_moves_come_from_the_state)
{
	cr_assert_eq(plan_of("candles compute"), 0);
	cr_assert_null(guard_list_refusal(&plan.guards), "refused: %s",
		       guard_list_refusal(&plan.guards)->reason);
	cr_assert_eq(plan.nmoves, 2);
	/* registry order, whatever the order named */
	cr_assert_str_eq(cfg->services[plan.moves[0].service].name, "compute");
	cr_assert_eq(plan.moves[0].from, LEDGER_RT_DOCKER);
	cr_assert_eq(plan.from, LEDGER_RT_DOCKER);
	cr_assert_str_eq(plan.commit, HEAD);
	cr_assert(!plan.build, "built already: %s", plan.build_why);
	cr_assert(!plan.edge_switch && !plan.scope.touches_edge);
	cr_assert_eq(verdict("lock")->result, GUARD_UNKNOWN);
	cr_assert(strstr(verdict("owner")->reason, "compute docker -> native"), "%s",
		  verdict("owner")->reason);
	cr_assert_eq(plan.nflags, 0);
}

Test(cutover_plan, refused_without_a_soak_verdict_unless_without_soak)
{
	facts.soak[config_service_index(cfg, "compute")].found = false;
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("soak")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("soak")->reason, "no soak verdict for 'compute'") &&
		  strstr(verdict("soak")->reason, "--without-soak"));
	cr_assert_str_eq(guard_list_refusal(&plan.guards)->guard, "soak");

	args.without_soak = true;
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("soak")->result, GUARD_PASS);
	cr_assert_eq(plan.nflags, 1);
	cr_assert_str_eq(plan.flags[0], "without-soak");
}

Test(cutover_plan, a_failed_verdict_refuses_with_its_reasons)
{
	struct cutover_soak *s = &facts.soak[config_service_index(cfg, "compute")];

	s->pass = false;
	strlcpy_(s->why, "3 restarts (at most 0)", sizeof(s->why));
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("soak")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("soak")->reason, "failed (window 'w1'") &&
		      strstr(verdict("soak")->reason, "3 restarts"),
		  "%s", verdict("soak")->reason);
}

Test(cutover_plan, already_owned_by_the_target_or_by_none_is_refused)
{
	st.services[config_service_index(cfg, "compute")].owner = LEDGER_RT_NATIVE;
	strlcpy_(st.services[config_service_index(cfg, "compute")].rt[LEDGER_RT_NATIVE].commit,
		 HEAD, LEDGER_COMMIT_MAX);
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("owner")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("owner")->reason, "already owned by the native runtime"));

	/* never deployed anywhere */
	st.services[config_service_index(cfg, "candles")].owner = -1;
	st.services[config_service_index(cfg, "candles")].rt[LEDGER_RT_DOCKER].commit[0] = '\0';
	cr_assert_eq(plan_of("candles"), 0);
	cr_assert_eq(verdict("owner")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("owner")->reason, "runs on no runtime"));

	/* stopped by an interrupted cut-over: it starts on the target at what it ran */
	strlcpy_(st.services[config_service_index(cfg, "candles")].rt[LEDGER_RT_DOCKER].commit,
		 HEAD, LEDGER_COMMIT_MAX);
	cr_assert_eq(plan_of("candles"), 0);
	cr_assert_eq(verdict("owner")->result, GUARD_PASS, "%s", verdict("owner")->reason);
	cr_assert_eq(plan.moves[0].from, -1);
	cr_assert_str_eq(plan.moves[0].commit, HEAD);
}

Test(cutover_plan, not_ready_when_the_unit_is_missing_or_the_checkout_holds_another_commit)
{
	struct cutover_ready *r = &facts.ready[config_service_index(cfg, "compute")];

	r->ready = false;
	strlcpy_(r->what, "unit cp-compute.service of 'compute' is not-found", sizeof(r->what));
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("ready")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("ready")->reason, "not-found"));

	r->ready = true;
	strlcpy_(facts.head, OTHER, sizeof(facts.head));
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("ready")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("ready")->reason, "but the checkout holds 222222222222") &&
		      strstr(verdict("ready")->reason, "shiplog deploy"),
		  "%s", verdict("ready")->reason);

	facts.runtime_asked = false;
	strlcpy_(facts.runtime_error, "cannot reach the systemd user manager",
		 sizeof(facts.runtime_error));
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert(strstr(verdict("ready")->reason, "cannot reach"));
}

Test(cutover_plan, the_build_runs_first_when_the_commit_is_not_built)
{
	facts.built[0] = '\0';
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert(plan.build);
	cr_assert_null(guard_list_refusal(&plan.guards));
	cr_assert(strstr(plan.build_why, "runs first"), "%s", plan.build_why);

	/* to docker: a missing image is built first */
	args.to = LEDGER_RT_DOCKER;
	for (size_t i = 0; i < st.nservices; i++) {
		st.services[i].owner = LEDGER_RT_NATIVE;
		strlcpy_(st.services[i].rt[LEDGER_RT_NATIVE].commit, HEAD, LEDGER_COMMIT_MAX);
	}
	facts.ready[config_service_index(cfg, "compute")].built = false;
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert(plan.build && plan.from == LEDGER_RT_NATIVE);
	cr_assert(strstr(plan.build_why, "image"), "%s", plan.build_why);
}

/* layout = releases: the new runtime starts from the commit's release, not from the checkout,
 * which may hold another commit; native builds the release first when it is not built. */
Test(cutover_plan, releases_layout_starts_from_the_release_of_the_commit)
{
	facts.releases = true;
	strlcpy_(facts.commit, HEAD, sizeof(facts.commit));
	strlcpy_(facts.head, OTHER, sizeof(facts.head)); /* in place, this would refuse */

	cr_assert_eq(plan_of("compute candles"), 0);
	cr_assert_null(guard_list_refusal(&plan.guards), "refused: %s",
		       guard_list_refusal(&plan.guards)->reason);
	cr_assert(plan.build, "an unwritten release is not built: %s", plan.build_why);
	cr_assert(strstr(plan.build_why, "does not exist"), "%s", plan.build_why);
	cr_assert(strstr(verdict("ready")->reason, "release 111111111111 is not written yet"), "%s",
		  verdict("ready")->reason);

	facts.release_exists = facts.release_built = true;
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert(!plan.build, "%s", plan.build_why);
	cr_assert(strstr(verdict("ready")->reason, "release 111111111111 is built"), "%s",
		  verdict("ready")->reason);

	/* one cut-over starts from one release */
	strlcpy_(st.services[config_service_index(cfg, "candles")].rt[LEDGER_RT_DOCKER].commit,
		 OTHER, LEDGER_COMMIT_MAX);
	cr_assert_eq(plan_of("compute candles"), 0);
	cr_assert_eq(verdict("ready")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("ready")->reason, "one commit at a time"), "%s",
		  verdict("ready")->reason);

	/* to docker: compose reads the release native ran from; with none (and the checkout
	 * elsewhere) it is refused with the fix */
	args.to = LEDGER_RT_DOCKER;
	for (size_t i = 0; i < st.nservices; i++) {
		st.services[i].owner = LEDGER_RT_NATIVE;
		strlcpy_(st.services[i].rt[LEDGER_RT_NATIVE].commit, HEAD, LEDGER_COMMIT_MAX);
	}
	strlcpy_(facts.tree, "/srv/cp.releases/" HEAD, sizeof(facts.tree));
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_null(guard_list_refusal(&plan.guards));
	cr_assert(strstr(verdict("ready")->reason, "compose reads /srv/cp.releases/1111"), "%s",
		  verdict("ready")->reason);
	facts.tree[0] = '\0';
	cr_assert_eq(plan_of("compute"), 0);
	cr_assert_eq(verdict("ready")->result, GUARD_REFUSE);
	cr_assert(strstr(verdict("ready")->reason, "release is gone") &&
		      strstr(verdict("ready")->reason, "switch --detach 111111111111"),
		  "%s", verdict("ready")->reason);
}

Test(cutover_plan, an_edge_role_brings_the_switch_and_the_public_checks)
{
	json_t *o;
	char *text;

	cr_assert_eq(plan_of("web"), 0);
	cr_assert(plan.scope.touches_edge && plan.edge_switch && plan.scope.web_in_scope);
	o = cutover_plan_json(&plan);
	text = json_dumps(o, JSON_COMPACT);
	cr_assert(strstr(text, "\"switch\":[\"bin/proxy-switch\",\"to native\"]") &&
		      strstr(text, "\"would\":\"cutover\""),
		  "%s", text);
	free(text);
	json_decref(o);
}

Test(cutover_plan, usage_errors)
{
	char err[512];

	cr_assert_eq(plan_of("nope"), SL_EUSAGE);
	cr_assert_eq(plan_of("compute compute"), SL_EUSAGE);
	cr_assert_eq(plan_of(""), SL_EUSAGE);
	free(cfg->public_.app_url);
	cfg->public_.app_url = NULL;
	cr_assert_eq(cutover_plan(cfg, &args, &facts, &st, &plan, err, sizeof(err)), SL_EUSAGE);
	cr_assert_eq(plan_of("api"), SL_EUSAGE);
	cr_assert_eq(plan_of("compute"), 0, "a worker needs no app_url");
}

Test(cutover_plan, the_edge_commands_are_argv_and_shell_syntax_is_refused)
{
	char err[512];
	struct config *c;
	char *text = xasprintf("%s", conf_text);
	char *bad = xasprintf("%s\nswitch = bin/a | tee log\n", "[project]\nname = x\n[edge]");

	c = load(bad, err, sizeof(err));
	cr_assert_null(c);
	cr_assert(strstr(err, "[edge] switch") && strstr(err, "shell"), "%s", err);
	cr_assert_eq(cfg->edge.switch_argv.n, 2);
	cr_assert_str_eq(cfg->edge.switch_argv.v[1], "to native");
	free(text);
	free(bad);
}
