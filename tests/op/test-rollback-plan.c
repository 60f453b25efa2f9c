/* SPDX-License-Identifier: MIT */
/* rollback_plan(): the whole plan of a rollback from one read of the ledger (made here with the
 * ledger API) and a real git repository: back to the last-good commits, to an operation, to a
 * ref, a narrower scope, completing an interrupted rollback to the targets it recorded, the
 * automatic rollback of a failed deploy, and the refusals. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ledger/ledger-gen.h"
#include "rollback.h"
#include "testlib.h"
#include "util.h"

#define NATIVE LEDGER_RT_NATIVE

static char *dir;
static struct config *cfg;
static struct ledger *lg;
static struct repo *repo;
static struct gen g;
static char c1[REPO_OID_HEX], c2[REPO_OID_HEX], c3[REPO_OID_HEX];
static const char *const both[] = {"web", "api"};

/* A repository with three commits (tags v1, v2, v3), a config of web, api and compute whose
 * checkout it is, and an empty ledger. */
static void setup(void)
{
	_cleanup_free_ char *conf = NULL, *text = NULL, *ldir = NULL;
	char err[512];

	dir = tl_mkdtemp("rbplan");
	cr_assert_eq(tl_sh("cd '%s' && mkdir app && cd app && git init -q && "
			   "for i in 1 2 3; do echo $i > f && git add f && "
			   "git -c user.name=t -c user.email=t@t commit -qm c$i && git tag v$i; "
			   "done",
			   dir),
		     0);
	conf = xasprintf("%s/shiplog.conf", dir);
	text = xasprintf("[project]\nname = rb\n[target]\ncheckout = %s/app\n"
			 "[service web]\nrole = web\n[service api]\nrole = api\n"
			 "[service compute]\nrole = worker\n",
			 dir);
	tl_write(conf, text);
	cr_assert_eq(config_load(conf, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(repo_open(cfg->target.checkout, &repo), 0);
	cr_assert_eq(repo_resolve(repo, "v1", c1), 0);
	cr_assert_eq(repo_resolve(repo, "v2", c2), 0);
	cr_assert_eq(repo_resolve(repo, "v3", c3), 0);
	ldir = xasprintf("%s/ledger", dir);
	cr_assert_eq(ledger_open(&lg, ldir, LEDGER_OPEN_CREATE, NULL), 0);
	gen_init(&g, lg, 3);
}

static void teardown(void)
{
	ledger_close(lg);
	repo_free(repo);
	config_free(cfg);
	tl_rmrf(dir);
	free(dir);
}

TestSuite(rollback_plan, .init = setup, .fini = teardown);

/* A deploy of commit to the services, ending with outcome (rolled back: by a nested automatic
 * rollback to back_to). Returns its operation id. */
static uint64_t deploy(const char *commit, const char *const *sv, unsigned n,
		       enum ledger_outcome outcome, const char *back_to)
{
	uint64_t op = gen_request(&g, "deploy", commit, NATIVE, sv, n, 0);

	gen_move(&g, op, commit);
	gen_restart(&g, op, NATIVE, sv, n);
	if (outcome == LEDGER_OUT_ROLLED_BACK) {
		uint64_t rb;
		snprintf(g.good[NATIVE], sizeof(g.good[NATIVE]), "%s", back_to);
		rb = gen_rollback(&g, op, NATIVE, sv, n);
		gen_finish(&g, op, outcome, rb, "verify failed");
	} else {
		gen_finish(&g, op, outcome, 0, outcome == LEDGER_OUT_SUCCEEDED ? "" : "failed");
	}
	return op;
}

/* A rollback that recorded its targets and stopped half way (web moved, api not). */
static uint64_t interrupted_rollback(uint64_t reverts, const char *prev)
{
	static const char *targets[2];
	static char t0[64], t1[64];
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};
	const struct ledger_op_requested req = {
	    .kind = "rollback",
	    .mode = "to",
	    .ref = "v1",
	    .commit = c1,
	    .prev_commit = prev,
	    .runtime = NATIVE,
	    .services = {2, (const char **)both},
	    .exec_mode = "local",
	    .config_digest = "abc",
	    .reverts = reverts,
	    .reason = "manual",
	    .targets = {2, targets},
	};
	uint64_t op;

	snprintf(t0, sizeof(t0), "web=%s", c1);
	snprintf(t1, sizeof(t1), "api=%s", c1);
	targets[0] = t0;
	targets[1] = t1;
	ev.u.op_requested = req;
	op = gen_emit(&g, &ev);
	gen_move(&g, op, c1);
	gen_restart(&g, op, NATIVE, both, 1);
	gen_finish(&g, op, LEDGER_OUT_INTERRUPTED, 0, "interrupted by signal 15");
	return op;
}

/* Reads the inputs and plans; returns what rollback_plan returned. */
static int plan(struct rollback_plan *p, struct rollback_args *a)
{
	struct rollback_inputs in;
	int r;

	a->exec_mode = REMOTE_MODE_LOCAL;
	r = rollback_inputs_read(lg, repo, cfg, a, &in);
	cr_assert_eq(r, 0, "inputs: %s", sl_strerror(r));
	r = rollback_plan(cfg, a, &in, p);
	rollback_inputs_release(&in);
	return r;
}

static const struct rollback_target *target(const struct rollback_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ntargets; i++)
		if (streq(cfg->services[p->targets[i].service].name, name))
			return &p->targets[i];
	return NULL;
}

static bool noted(const struct rollback_plan *p, const char *needle)
{
	for (size_t i = 0; i < p->notes.n; i++)
		if (strstr(p->notes.v[i], needle))
			return true;
	return false;
}

static void expect_targets(const struct rollback_plan *p, const char *commit, const char *from)
{
	cr_assert_eq(p->ntargets, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct rollback_target *t = target(p, both[i]);
		cr_assert(t, "%s has no target", both[i]);
		cr_assert_str_eq(t->commit, commit, "%s", both[i]);
		cr_assert_str_eq(t->from, from, "%s", both[i]);
	}
}

Test(rollback_plan, back_to_the_last_good_commits)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};
	uint64_t op2;

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	op2 = deploy(c2, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.how, ROLLBACK_LAST_GOOD);
	cr_assert_str_eq(p.mode, "last-good");
	cr_assert_str_eq(p.ref, "");
	cr_assert_str_eq(p.reason, "manual");
	expect_targets(&p, c1, c2);
	cr_assert_eq(p.nscope, 2, "compute was never deployed: not in the default scope");
	cr_assert_eq(p.reverts, op2);
	cr_assert_str_eq(p.quarantine, c3, "what the checkout holds is recorded as prev_commit");
	/* issue 11: what is quarantined is what the services ran, not the checkout's commit */
	cr_assert_str_eq(target(&p, "web")->away, c2);
	cr_assert_str_eq(target(&p, "api")->away, c2);
	cr_assert_eq(p.npassed, 1);
	cr_assert_eq(p.passed[0].op, op2);
	cr_assert(noted(&p, "rolling back past operation"));
	cr_assert_eq(p.refusal, 0);
	cr_assert_null(guard_list_refusal(&p.guards));
	cr_assert(guard_list_find(&p.guards, "scope"));
	cr_assert_eq(guard_list_find(&p.guards, "target")->result, GUARD_PASS);
	cr_assert(!p.verify_all && !p.restart_all && !p.completes);
	rollback_plan_release(&p);
}

Test(rollback_plan, skips_what_failed_and_was_rolled_back)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c2, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c3, both, 2, LEDGER_OUT_ROLLED_BACK, c2);
	/* they run c2 again, the last-good: the rollback goes to the one before it */
	cr_assert_eq(plan(&p, &a), 0);
	expect_targets(&p, c1, c2);
	cr_assert(noted(&p, "skipping operation"), "the rolled-back deploy is not named");
	cr_assert(noted(&p, "rolled-back"));
	rollback_plan_release(&p);
}

Test(rollback_plan, to_an_operation)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};
	char to[32];
	uint64_t op1;

	op1 = deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c3, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	snprintf(to, sizeof(to), "%llu", (unsigned long long)op1);
	a.to = to;
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.how, ROLLBACK_POINT);
	cr_assert_str_eq(p.mode, "to");
	cr_assert_str_eq(p.ref, to);
	cr_assert_eq(p.at.op, op1);
	cr_assert(strstr(p.target_desc, "the state after operation"), "%s", p.target_desc);
	expect_targets(&p, c1, c3);
	rollback_plan_release(&p);
}

Test(rollback_plan, to_a_ref_sends_every_service_there)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE, .to = "v2"};

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c3, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.how, ROLLBACK_REF);
	cr_assert_str_eq(p.ref, "v2");
	expect_targets(&p, c2, c3);
	rollback_plan_release(&p);
}

Test(rollback_plan, a_scope_narrows_it)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};
	char err[256];

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c2, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(scope_args_take(&a.scope, "pieces", "api", err, sizeof(err)), 1);
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.nscope, 1);
	cr_assert_eq(p.ntargets, 1);
	cr_assert(target(&p, "api"));
	cr_assert_str_eq(target(&p, "api")->commit, c1);
	rollback_plan_release(&p);
	scope_args_release(&a.scope);
}

Test(rollback_plan, completes_an_interrupted_rollback_to_its_recorded_targets)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};
	uint64_t op3, rb;

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c2, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	op3 = deploy(c3, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	rb = interrupted_rollback(op3, c3);
	/* web already moved to c1; the last-good rule would now pick c2 for api: the recorded
	 * targets win */
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.how, ROLLBACK_RECORDED);
	cr_assert_eq(p.completes, rb);
	cr_assert_str_eq(p.mode, "to");
	cr_assert_str_eq(p.ref, "v1");
	cr_assert(p.verify_all);
	cr_assert_eq(p.reverts, op3);
	cr_assert_str_eq(p.quarantine, c3);
	cr_assert_eq(p.ntargets, 2);
	cr_assert_str_eq(target(&p, "web")->commit, c1);
	cr_assert_str_eq(target(&p, "web")->from, c1);
	cr_assert_str_eq(target(&p, "api")->commit, c1);
	cr_assert_str_eq(target(&p, "api")->from, c3);
	/* the interrupted one (an older request without `from`) had moved web already: web rolls
	 * away from the checkout's commit before it, api from what it runs */
	cr_assert_str_eq(target(&p, "web")->away, c3);
	cr_assert_str_eq(target(&p, "api")->away, c3);
	cr_assert(noted(&p, "was interrupted: completing it"));
	rollback_plan_release(&p);

	/* an explicit --to is a new target instead */
	a.to = "v2";
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.how, ROLLBACK_REF);
	cr_assert_eq(p.completes, 0);
	cr_assert(!p.verify_all);
	rollback_plan_release(&p);
}

Test(rollback_plan, refuses_with_nothing_deployed)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};

	cr_assert_eq(plan(&p, &a), SL_EUSAGE);
	cr_assert_str_eq(guard_list_refusal(&p.guards)->guard, "scope");
	cr_assert(strstr(guard_list_refusal(&p.guards)->reason, "nothing to roll back"));
	rollback_plan_release(&p);
}

Test(rollback_plan, refuses_without_an_earlier_good_commit)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(plan(&p, &a), SL_EFAILED);
	cr_assert_str_eq(guard_list_refusal(&p.guards)->guard, "target");
	cr_assert_eq(p.nleft, 2);
	cr_assert(noted(&p, "web: no earlier good commit in the ledger: left as it is"));
	rollback_plan_release(&p);
}

Test(rollback_plan, a_target_that_names_nothing_is_a_usage_error)
{
	struct rollback_args a = {.runtime = NATIVE, .exec_mode = REMOTE_MODE_LOCAL};
	struct rollback_inputs in;

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	a.to = "no-such-ref";
	cr_assert_eq(rollback_inputs_read(lg, repo, cfg, &a, &in), SL_EUSAGE);
	rollback_inputs_release(&in);
	a.to = "seq:999";
	cr_assert_eq(rollback_inputs_read(lg, repo, cfg, &a, &in), SL_EUSAGE);
	rollback_inputs_release(&in);
	a.to = "now";
	cr_assert_eq(rollback_inputs_read(lg, repo, cfg, &a, &in), SL_EUSAGE);
	rollback_inputs_release(&in);
	a.to = "seq:0";
	cr_assert_eq(rollback_inputs_read(lg, repo, cfg, &a, &in), SL_EUSAGE);
	rollback_inputs_release(&in);
}

Test(rollback_plan, the_automatic_rollback_of_a_failed_deploy)
{
	struct rollback_plan p;
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	static const char *const web[] = {"web"};
	const size_t svcs[] = {0, 2}; /* web, compute */
	struct rollback_failed_deploy f = {
	    .op = 99,
	    .runtime = NATIVE,
	    .services = svcs,
	    .nservices = 2,
	    .prev = c2,
	    .target = c3,
	    .head = c3,
	    .exec_mode = REMOTE_MODE_LOCAL,
	};

	deploy(c1, web, 1, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(ledger_state_at(lg, UINT64_MAX, st), 0);
	cr_assert_eq(rollback_plan_auto(cfg, st, &f, &p), 0);
	cr_assert_eq(p.how, ROLLBACK_AUTO);
	cr_assert_str_eq(p.mode, "auto");
	cr_assert_eq(p.reverts, 99);
	cr_assert(p.restart_all);
	cr_assert_str_eq(target(&p, "web")->commit, c1, "web: its last-good");
	cr_assert_str_eq(target(&p, "compute")->commit, c2, "compute: the commit before");
	cr_assert_str_eq(target(&p, "compute")->from, c3);
	cr_assert(noted(&p, "compute has no last-good commit in the ledger yet"));
	rollback_plan_release(&p);

	f.prev = "";
	cr_assert_eq(rollback_plan_auto(cfg, st, &f, &p), 0);
	cr_assert_eq(p.ntargets, 1);
	cr_assert_eq(p.nleft, 1);
	rollback_plan_release(&p);

	/* the checkout was at the failed commit before the deploy: compute is not "rolled
	 * back" to the very commit that failed; web still goes to its last-good */
	f.prev = c3;
	cr_assert_eq(rollback_plan_auto(cfg, st, &f, &p), 0);
	cr_assert_eq(p.ntargets, 1);
	cr_assert_str_eq(target(&p, "web")->commit, c1);
	cr_assert_eq(p.nleft, 1);
	cr_assert(noted(&p, "compute: no last-good commit, and the checkout held the failed "
			    "commit before this deploy too"));
	rollback_plan_release(&p);
	free(st);
}

/* A deploy fails at a commit an earlier deploy verified (its crash came after that settle
 * window): the automatic rollback does not go "back" to that same commit, but to the good one
 * before it. */
Test(rollback_plan, the_automatic_rollback_passes_over_a_last_good_that_just_failed)
{
	struct rollback_plan p;
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	static const char *const web[] = {"web"};
	const size_t svcs[] = {0}; /* web */
	struct rollback_failed_deploy f = {
	    .op = 99,
	    .runtime = NATIVE,
	    .services = svcs,
	    .nservices = 1,
	    .prev = c3,
	    .target = c3,
	    .head = c3,
	    .exec_mode = REMOTE_MODE_LOCAL,
	};

	deploy(c1, web, 1, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c3, web, 1, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(ledger_state_at(lg, UINT64_MAX, st), 0);
	cr_assert_eq(rollback_plan_auto(cfg, st, &f, &p), 0);
	cr_assert_eq(p.ntargets, 1);
	cr_assert_str_eq(target(&p, "web")->commit, c1, "web goes back to the failed commit");
	cr_assert(noted(&p, "web: its last-good"));
	rollback_plan_release(&p);
	free(st);
}

/* A first deploy that fails at the commit the checkout already held: no service has anything
 * to go back to, and the plan says so instead of restarting the failed commit again. */
Test(rollback_plan, a_failed_first_deploy_of_the_checked_out_commit_has_nothing_to_go_back_to)
{
	struct rollback_plan p;
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	const size_t svcs[] = {0, 2}; /* web, compute */
	struct rollback_failed_deploy f = {
	    .op = 1,
	    .runtime = NATIVE,
	    .services = svcs,
	    .nservices = 2,
	    .prev = c3,
	    .target = c3,
	    .head = c3,
	    .exec_mode = REMOTE_MODE_LOCAL,
	};

	cr_assert_eq(ledger_state_at(lg, UINT64_MAX, st), 0);
	cr_assert_eq(rollback_plan_auto(cfg, st, &f, &p), SL_EFAILED);
	cr_assert_eq(p.ntargets, 0);
	cr_assert_eq(p.nleft, 2);
	cr_assert_str_eq(guard_list_refusal(&p.guards)->guard, "target");
	cr_assert(strstr(guard_list_refusal(&p.guards)->reason, "nothing to roll back to"));
	rollback_plan_release(&p);
	free(st);
}

Test(rollback_plan, json_has_the_whole_plan)
{
	struct rollback_plan p;
	struct rollback_args a = {.runtime = NATIVE};
	json_t *o;

	deploy(c1, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	deploy(c2, both, 2, LEDGER_OUT_SUCCEEDED, NULL);
	cr_assert_eq(plan(&p, &a), 0);
	o = rollback_plan_json(&p, cfg);
	cr_assert_str_eq(json_string_value(json_object_get(o, "how")), "last-good");
	cr_assert_eq(json_array_size(json_object_get(o, "targets")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(o, "targets"), 0), "to")),
			 c1);
	cr_assert(json_is_null(json_object_get(o, "refused")));
	cr_assert_eq(json_array_size(json_object_get(o, "guards")), 2);
	cr_assert_eq(json_array_size(json_object_get(o, "notes")), p.notes.n);
	json_decref(o);
	rollback_plan_release(&p);
}

static void owner_changed(uint64_t op, const char *from, const char *to, const char *commit)
{
	struct ledger_event ev = {.type = LEDGER_EV_OWNER_CHANGED, .op = op};

	ev.u.owner_changed.service = "compute";
	ev.u.owner_changed.from = from;
	ev.u.owner_changed.to = to;
	ev.u.owner_changed.commit = commit;
	gen_emit(&g, &ev);
}

/* compute ran c3 on docker and was cut over to native: a plain rollback puts docker back (an
 * owner move, no commit target, nothing quarantined); once a deploy on native followed, it
 * rolls that deploy back instead. */
Test(rollback_plan, across_a_cut_over_the_previous_owner_comes_back)
{
	static const char *const comp[] = {"compute"};
	struct rollback_plan p = {0};
	struct rollback_args a = {.runtime = NATIVE};
	uint64_t d, c;

	d = gen_request(&g, "deploy", c3, LEDGER_RT_DOCKER, comp, 1, 0);
	gen_move(&g, d, c3);
	gen_restart(&g, d, LEDGER_RT_DOCKER, comp, 1);
	gen_finish(&g, d, LEDGER_OUT_SUCCEEDED, 0, "");
	c = gen_request(&g, "cutover", c3, NATIVE, comp, 1, 0);
	owner_changed(c, "docker", "", "");
	gen_restart(&g, c, NATIVE, comp, 1);
	owner_changed(c, "docker", "native", c3);
	gen_finish(&g, c, LEDGER_OUT_SUCCEEDED, 0, "");

	cr_assert_eq(plan(&p, &a), 0, "%s", guard_list_refusal(&p.guards)->reason);
	cr_assert_eq(p.nowners, 1);
	cr_assert_eq(p.owners[0].from, NATIVE);
	cr_assert_eq(p.owners[0].to, LEDGER_RT_DOCKER);
	cr_assert_str_eq(p.owners[0].commit, c3);
	cr_assert_eq(p.owners[0].cutover, c);
	cr_assert_eq(p.ntargets, 0, "compute's commit does not move");
	cr_assert_eq(p.reverts, c);
	rollback_plan_release(&p);

	/* a deploy on native after the cut-over: the rollback is about that deploy */
	deploy(c2, comp, 1, LEDGER_OUT_SUCCEEDED, NULL);
	memset(&p, 0, sizeof(p));
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.nowners, 0);
	cr_assert_eq(p.ntargets, 1);
	cr_assert_str_eq(p.targets[0].commit, c3);
	rollback_plan_release(&p);
}

/* A cut-over of compute as cutover_execute records it: stopped on from, restarted and owned on
 * to at commit. */
static uint64_t cut_over(const char *from, int to, const char *commit)
{
	static const char *const comp[] = {"compute"};
	uint64_t c = gen_request(&g, "cutover", commit, to, comp, 1, 0);

	owner_changed(c, from, "", "");
	gen_restart(&g, c, to, comp, 1);
	owner_changed(c, from, ledger_runtime_name(to), commit);
	gen_finish(&g, c, LEDGER_OUT_SUCCEEDED, 0, "");
	return c;
}

/* --to an operation before two cut-overs and a native deploy: compute goes back to the owner it
 * had then (docker) at the commit it ran there, stopping native (which runs c2) first; its
 * commit on native does not move. web, owned by docker then and now, is left to a docker
 * rollback (restarting it on native would run it twice). */
Test(rollback_plan, to_before_cut_overs_the_owner_then_comes_back)
{
	static const char *const comp[] = {"compute"}, *const cw[] = {"compute", "web"};
	static const char *const webs[] = {"web"};
	struct rollback_plan p = {0};
	struct rollback_args a = {.runtime = NATIVE, .to = "2"};
	json_t *o, *ow;
	uint64_t d;

	d = gen_request(&g, "deploy", c1, NATIVE, webs, 1, 0); /* 1: web once on native */
	gen_move(&g, d, c1);
	gen_restart(&g, d, NATIVE, webs, 1);
	gen_finish(&g, d, LEDGER_OUT_SUCCEEDED, 0, "");
	d = gen_request(&g, "deploy", c1, LEDGER_RT_DOCKER, cw, 2, 0); /* 2: both on docker */
	gen_restart(&g, d, LEDGER_RT_DOCKER, cw, 2);
	gen_finish(&g, d, LEDGER_OUT_SUCCEEDED, 0, "");
	cut_over("docker", NATIVE, c1);			 /* 3 */
	cut_over("native", LEDGER_RT_DOCKER, c1);	 /* 4 */
	deploy(c2, comp, 1, LEDGER_OUT_SUCCEEDED, NULL); /* 5: native at c2 makes it the owner */

	cr_assert_eq(plan(&p, &a), 0, "%s", guard_list_refusal(&p.guards)->reason);
	cr_assert_eq(p.nowners, 1);
	cr_assert_eq(p.owners[0].from, NATIVE);
	cr_assert_eq(p.owners[0].to, LEDGER_RT_DOCKER);
	cr_assert_str_eq(p.owners[0].commit, c1, "docker's commit at that point");
	cr_assert_str_eq(p.owners[0].back, c2, "what native runs now, for a reverse");
	cr_assert_eq(p.owners[0].cutover, 0, "a deploy, not a cut-over, made native the owner");
	cr_assert_eq(p.ntargets, 0, "neither commit moves on native");
	cr_assert(noted(&p, "compute: owned by docker at that point and by native now"));
	cr_assert(noted(&p, "web is owned by docker at that point and still now"));
	cr_assert_str_eq(rollback_owners_end(&p), c1, "the checkout ends at docker's commit");
	o = rollback_plan_json(&p, cfg);
	ow = json_array_get(json_object_get(o, "owners"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(ow, "to")), "docker");
	cr_assert_str_eq(json_string_value(json_object_get(ow, "commit")), c1);
	cr_assert_str_eq(json_string_value(json_object_get(ow, "runs")), c2);
	cr_assert(json_is_true(json_object_get(ow, "checkout_moves")), "the checkout holds c3");
	cr_assert(json_is_null(json_object_get(ow, "cutover")));
	json_decref(o);
	rollback_plan_release(&p);
}

/* The owner move of the only rollback_plan p made, in JSON. */
static json_t *owner_json(const struct rollback_plan *p)
{
	json_t *a = rollback_owners_json(p, cfg), *o = json_incref(json_array_get(a, 0));

	json_decref(a);
	return o;
}

/* [target] layout = releases, --to a point: an owner move starts from the commit's release. To
 * docker at c1, which has no release: compose reads the checkout, which moves to c1 first; once
 * release c1 is on disk, compose reads it and the checkout stays. To native at c2: its release
 * is written and built first when it is not built, and not built again when it is. */
Test(rollback_plan, releases_layout_owner_moves_start_from_the_release)
{
	static const char *const comp[] = {"compute"};
	struct rollback_plan p = {0};
	struct rollback_args a = {.runtime = NATIVE, .to = "1"};
	json_t *ow;
	uint64_t d;

	cfg->target.layout = LAYOUT_RELEASES;
	d = gen_request(&g, "deploy", c1, LEDGER_RT_DOCKER, comp, 1, 0); /* 1: docker at c1 */
	gen_restart(&g, d, LEDGER_RT_DOCKER, comp, 1);
	gen_finish(&g, d, LEDGER_OUT_SUCCEEDED, 0, "");
	cut_over("docker", NATIVE, c1);			 /* 2 */
	deploy(c2, comp, 1, LEDGER_OUT_SUCCEEDED, NULL); /* 3: native at c2 */

	cr_assert_eq(plan(&p, &a), 0, "%s", guard_list_refusal(&p.guards)->reason);
	cr_assert_eq(p.nowners, 1, "the releases layout moves owners too");
	cr_assert_eq(p.owners[0].to, LEDGER_RT_DOCKER);
	cr_assert_str_eq(p.owners[0].commit, c1);
	cr_assert(p.owners[0].releases && !p.owners[0].release_exists);
	cr_assert(p.owners[0].checkout_moves, "no release of c1: compose reads the checkout (c3)");
	ow = owner_json(&p);
	cr_assert(json_is_true(json_object_get(ow, "checkout_moves")));
	cr_assert(json_is_false(json_object_get(json_object_get(ow, "release"), "exists")));
	json_decref(ow);
	rollback_plan_release(&p);

	cr_assert_eq(tl_sh("mkdir -p '%s.releases/%s'", cfg->target.checkout, c1), 0);
	memset(&p, 0, sizeof(p));
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert_eq(p.nowners, 1);
	cr_assert(p.owners[0].release_exists && !p.owners[0].checkout_moves,
		  "compose reads release c1: the checkout stays");
	rollback_plan_release(&p);

	cut_over("native", LEDGER_RT_DOCKER, c2); /* 4: docker at c2 */
	a.to = "3";
	memset(&p, 0, sizeof(p));
	cr_assert_eq(plan(&p, &a), 0, "%s", guard_list_refusal(&p.guards)->reason);
	cr_assert_eq(p.nowners, 1);
	cr_assert_eq(p.owners[0].from, LEDGER_RT_DOCKER);
	cr_assert_eq(p.owners[0].to, NATIVE);
	cr_assert_str_eq(p.owners[0].commit, c2);
	cr_assert(!p.owners[0].release_built && !p.owners[0].checkout_moves,
		  "native starts from release c2 (not written yet), not from the checkout");
	ow = owner_json(&p);
	cr_assert(json_is_false(json_object_get(json_object_get(ow, "release"), "built")));
	json_decref(ow);
	rollback_plan_release(&p);

	cr_assert_eq(tl_sh("mkdir -p '%s.releases/%s' && touch '%s.releases/%s/.shiplog-built'",
			   cfg->target.checkout, c2, cfg->target.checkout, c2),
		     0);
	memset(&p, 0, sizeof(p));
	cr_assert_eq(plan(&p, &a), 0);
	cr_assert(p.owners[0].release_exists && p.owners[0].release_built, "release c2 is built");
	ow = owner_json(&p);
	cr_assert(json_is_true(json_object_get(json_object_get(ow, "release"), "built")));
	json_decref(ow);
	rollback_plan_release(&p);
	tl_sh("rm -rf '%s.releases'", cfg->target.checkout);
}

/* A rollback --to 1 (compute back to docker at c1) killed between its owner move's stop and its
 * start: compute is stopped, owned by no runtime. The plain rollback that completes it resolves
 * the same point again and starts compute on docker at c1, native (where it last ran) stopped
 * first; --to 1 given again plans the same start. */
Test(rollback_plan, completing_a_killed_owner_move_starts_the_stopped_service)
{
	static const char *const comp[] = {"compute"};
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};
	struct rollback_plan p = {0};
	struct rollback_args a = {.runtime = NATIVE};
	uint64_t d, rb;

	d = gen_request(&g, "deploy", c1, LEDGER_RT_DOCKER, comp, 1, 0); /* 1: docker at c1 */
	gen_restart(&g, d, LEDGER_RT_DOCKER, comp, 1);
	gen_finish(&g, d, LEDGER_OUT_SUCCEEDED, 0, "");
	cut_over("docker", NATIVE, c1);			 /* 2 */
	deploy(c2, comp, 1, LEDGER_OUT_SUCCEEDED, NULL); /* 3: native at c2 */
	ev.u.op_requested = (struct ledger_op_requested){
	    .kind = "rollback",
	    .mode = "to",
	    .ref = "1",
	    .commit = c1,
	    .runtime = NATIVE,
	    .exec_mode = "local",
	    .config_digest = "abc",
	    .reason = "manual",
	};
	rb = gen_emit(&g, &ev); /* 4: only an owner move, no commit targets */
	owner_changed(rb, "native", "", "");
	gen_finish(&g, rb, LEDGER_OUT_INTERRUPTED, 0, "interrupted by signal 9");

	cr_assert_eq(plan(&p, &a), 0, "%s", guard_list_refusal(&p.guards)->reason);
	cr_assert_eq(p.completes, rb);
	cr_assert_eq(p.nowners, 1, "the owner move it did not finish");
	cr_assert(p.owners[0].stopped);
	cr_assert_eq(p.owners[0].from, NATIVE, "native is stopped first");
	cr_assert_eq(p.owners[0].to, LEDGER_RT_DOCKER);
	cr_assert_str_eq(p.owners[0].commit, c1);
	cr_assert(noted(&p, "compute: owned by docker at that point and stopped now"));
	cr_assert_eq(p.ntargets, 0);
	rollback_plan_release(&p);

	a.to = "1";
	memset(&p, 0, sizeof(p));
	cr_assert_eq(plan(&p, &a), 0, "%s", guard_list_refusal(&p.guards)->reason);
	cr_assert_eq(p.completes, 0, "an explicit --to is a new rollback");
	cr_assert(p.nowners == 1 && p.owners[0].stopped && p.owners[0].to == LEDGER_RT_DOCKER);
	rollback_plan_release(&p);
}
