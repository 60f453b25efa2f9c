/* SPDX-License-Identifier: MIT */
/* shiplog deploy: plan, guard, lock, record the intent, then precheck -> rollout -> verify ->
 * public verify, each phase timed and recorded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "deploy.h"
#include "fleet.h"
#include "out.h"
#include "remote.h"
#include "repo.h"
#include "util.h"

static const char usage[] =
    "usage: shiplog deploy main | current-branch | branch NAME | REF [options]\n"
    "\n"
    "Deploys a commit to the server's checkout and restarts the services in scope, recording\n"
    "every step in the ledger. Phases: precheck, rollout (fetch, move the checkout), build\n"
    "(each command's exit and last lines of output are kept; a build that leaves the\n"
    "checkout dirty is reported), restart (before_restart hooks, restarts in parallel),\n"
    "verify (units stable for the settle window, one more for a unit that logged an error\n"
    "line; then the health checks of all services at\n"
    "once: the first that fails for good stops the others; after_verify hooks), public\n"
    "verify (edge roles only). A closing 'Deploy Timings' block is printed, on failure too.\n"
    "The services' units, builds and health checks come from the target commit's\n"
    "shiplog.conf (read from git before anything moves; an invalid one is refused).\n"
    "\n"
    "What to deploy:\n"
    "  main              <remote>/<main_branch>; the checkout's branch is fast-forwarded\n"
    "  branch NAME       <remote>/NAME; the checkout switches to branch NAME\n"
    "  current-branch    push this clone's current branch, then deploy it (remote mode)\n"
    "  REF               any commit, tag or remote branch; the checkout is detached there\n"
    "                    (an unknown one exits 2 and is not recorded)\n"
    "\n"
    "Options:\n"
    "  --runtime native|docker  the runtime (default native)\n"
    "  --fast            narrow a full deploy (native: workers; docker: services) and skip the\n"
    "                    per-unit status and log output; says what it skipped\n"
    "  --web-only | --api-only | --services-only | --workers-only\n"
    "                    scope by role (services = api + workers); one at most\n"
    "  --pieces a,b      exactly these services (also --piece a, repeatable)\n"
    "  --no-build        skip the build commands\n"
    "  --build           run the shared build even when nothing in build_when_changed\n"
    "                    changed since the last completed build\n"
    "  --edge-ready      acknowledge that a native deploy may touch an edge role (web, api);\n"
    "                    same as DEPLOY_NATIVE_EDGE_READY=1\n"
    "  --force           deploy a commit even though an earlier rollback quarantined it\n"
    "  --force-recreate  docker only: recreate containers\n"
    "  --take-over       move services owned by the other runtime (stopping them there)\n"
    "  --reset-to-remote main, branch NAME: when the checkout's branch has diverged from\n"
    "                    <remote>/NAME (a force-push), reset it there (git reset --hard,\n"
    "                    recorded) instead of refusing; local commits on it are dropped\n"
    "  --wait-lock DUR   wait up to DUR (e.g. 2m) for another deploy to finish\n"
    "  --dry-run         print the plan (target, builds and why, every guard's verdict,\n"
    "                    the ledger; with --json as one JSON object) and stop; nothing is\n"
    "                    changed or recorded (exit 3 when a guard would refuse, 4 when\n"
    "                    the ledger cannot be written, like the real run)\n"
    "  --local, --ssh    force server-local execution or forwarding over ssh\n"
    "  --hosts a,b       a fleet deploy ([host NAME] sections): each named host (or every\n"
    "                    host with a name=value label) runs its own shiplog over ssh, in\n"
    "                    waves ([fleet]: canary first, then wave_size at a time; the next\n"
    "                    wave only when the previous one verified; it stops past\n"
    "                    max_failed_hosts and, with on_failure = rollback-moved, rolls back\n"
    "                    the hosts it moved). Each host's ledger keeps its deploy; this\n"
    "                    ledger records the fleet operation (fleet.* events), numbered like\n"
    "                    any operation there (history, show N). Inside a wave, [fleet]\n"
    "                    parallelism hosts run at once, the next starting as one ends.\n"
    "                    Exit 0 only when every host reached the same commit; else 1,\n"
    "                    naming which host runs what. ^C starts no further host (nor a\n"
    "                    rollback), lets the running ones finish and exits 130. A second\n"
    "                    fleet deploy is refused (exit 3) while one holds the fleet lock.\n"
    "                    --dry-run prints the waves\n"
    "  --all-hosts       the same over every [host NAME]\n"
    "  --retry-failed    deploy the last fleet deploy's target as it was given (main, a\n"
    "                    branch: the hosts end on it, not detached) and options to the hosts\n"
    "                    it did not get there, and only to them, pinned (--pin) to the commit\n"
    "                    the others reached: if the branch moved since, each such host refuses\n"
    "                    and the controller says what to run; what to deploy is optional\n"
    "  --pin COMMIT      deploy only if the target resolves to COMMIT (40 hex digits) after\n"
    "                    the fetch; else refused (exit 3), nothing moved\n"
    "  --no-progress     no live status line on a terminal (phase, elapsed, ETA, what it\n"
    "                    waits for); it is also off when stdout is not a terminal, with -q,\n"
    "                    --json or CI=true. The expected duration of each phase, from the\n"
    "                    last comparable deploys ([policy] baseline_ops), is printed at the\n"
    "                    start either way, and a phase slower than their p95 is flagged\n"
    "                    SLOW in the timings block and recorded (phase.slow)\n"
    "\n"
    "Environment (the reference tool's names): DEPLOY_NATIVE_EDGE_READY=1, DEPLOY_FORCE_SSH=1,\n"
    "DEPLOY_SSH_KEY_PATH, DEPLOY_GIT_REMOTE, DEPLOY_PUBLIC_APP_URL,\n"
    "DEPLOY_PUBLIC_API_HEALTH_URL, DEPLOY_NATIVE_<SERVICE>_UNIT.\n"
    "\n"
    "Exit codes: 0 deployed; 1 failed (rolled back or stopped); 2 usage or config error;\n"
    "3 refused (edge guard, dirty checkout, lock held, quarantined commit, unit missing);\n"
    "4 ledger or environment error; 130 interrupted (SIGINT/SIGTERM: the operation stops at\n"
    "its next step, rolls nothing back and says what it left).\n"
    "\n"
    "Examples:\n"
    "  shiplog deploy main --fast                 # workers only, quickest iteration\n"
    "  shiplog deploy main --edge-ready           # everything, web and api included\n"
    "  shiplog deploy v1.4.2 --pieces api,compute # a tag, two services\n"
    "  shiplog deploy main --dry-run              # what would happen\n"
    "  shiplog deploy v1.4.2 --all-hosts          # the fleet, canary first, in waves\n"
    "  shiplog deploy --retry-failed              # the hosts the last one left behind\n";

/* --dry-run: the ledger's state as it is now, read-only, when a ledger exists (nothing is
 * created); when there is none yet, the empty state the real run would start from. 0 or the
 * open's error (said). */
static int dry_run_state(struct cmd_ctx *ctx, struct ledger_state **st)
{
	_cleanup_free_ char *data = xasprintf("%s/data.mdb", ctx->ledger_dir);
	int r;

	if (access(data, F_OK) < 0) {
		*st = xcalloc(1, sizeof(**st));
		ledger_state_init(*st);
		return 0;
	}
	r = cmd_open_ledger(ctx, false);
	if (r < 0)
		return r;
	*st = xcalloc(1, sizeof(**st));
	r = ledger_state_at(ctx->lg, UINT64_MAX, *st);
	if (r < 0) {
		log_error("cannot read the ledger state: %s: %s", ledger_strerror(r),
			  ledger_errmsg(ctx->lg));
		return r;
	}
	return 0;
}

/* Here (not forwarded): parse -> facts -> plan -> print, or execute. */
static int deploy_here(struct cmd_ctx *ctx, const struct deploy_args *a, enum remote_mode mode)
{
	const struct config *cfg = ctx->cfg;
	struct deploy_facts f = {.exec_mode = mode, .forwarded_from = ctx->forwarded_from};
	struct deploy_plan p = {0};
	struct ledger_state *st = NULL;
	struct config *tcfg = NULL;
	struct repo *repo = NULL;
	char err[1024];
	int r;

	r = deploy_plan_scope(cfg, a, &p.scope, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	/* Reading git is not a side effect: open the checkout and resolve the remote first. */
	r = repo_open(cfg->target.checkout, &repo);
	if (r < 0) {
		log_error("cannot open the checkout '%s': %s", cfg->target.checkout,
			  repo_errmsg(repo));
		repo_free(repo);
		return SL_EENV;
	}
	if (a->dry_run && !ctx->ledger_dir)
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, cfg);
	r = deploy_facts_read(cfg, a, repo, a->dry_run ? ctx->ledger_dir : NULL, a->dry_run, &f);
	if (r < 0)
		goto out;
	if (a->dry_run && f.ledger_known && !f.ledger_error && dry_run_state(ctx, &st) < 0)
		goto out;
	if (a->dry_run)
		deploy_facts_read_builds(&f, cfg, a, repo, ctx->lg, NULL);
	r = deploy_plan(cfg, a, &f, st, &p, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	deploy_plan_say(&p);
	if (a->dry_run) {
		/* the target commit's config, read from git as the real run reads it after the
		 * fetch: the config guard and the builds are decided over it */
		deploy_plan_read_target_config(&p, repo, &tcfg);
		deploy_plan_builds(&p);
		deploy_plan_guards(&p, st);
		r = deploy_plan_print(&p);
		goto out;
	}
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		goto out;
	r = deploy_execute(&p, repo, ctx->lg, ctx->ledger_dir);
out:
	deploy_plan_release(&p);
	deploy_facts_release(&f);
	config_free(tcfg);
	free(st);
	repo_free(repo);
	return r;
}

/* --hosts / --all-hosts: the fleet's plan over the [host NAME] sections; each host's own
 * shiplog deploys it. argv: the command line the hosts' words come from. */
static int deploy_fleet(struct cmd_ctx *ctx, const struct deploy_args *a, int argc, char **argv,
			uint64_t retries)
{
	const struct config *cfg = ctx->cfg;
	struct fleet_plan p = {.kind = "deploy"};
	size_t *sel = xcalloc(cfg->nhosts ? cfg->nhosts : 1, sizeof(*sel)), nsel = 0;
	struct plan scope;
	char err[1024];
	int r;

	/* the scope only: what each host needs beyond it ([public] app_url ...) its own
	 * shiplog checks against its own config */
	r = plan_scope(cfg, &a->scope, a->runtime, a->fast, &scope, err, sizeof(err));
	if (r >= 0)
		r = fleet_select(cfg, &a->hosts, sel, &nsel, err, sizeof(err));
	if (r >= 0) {
		fleet_split_args(argc, argv, deploy_options, &p);
		r = fleet_plan_make(cfg, sel, nsel, a->scope.explicit_ || a->fast ? &scope : NULL,
				    &p, err, sizeof(err));
	}
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	fleet_plan_print(&p);
	if (a->dry_run) {
		out_say("--dry-run: nothing was changed or recorded");
		goto out;
	}
	r = cmd_open_ledger(ctx, true);
	if (r >= 0)
		r = fleet_execute_retry(&p, ctx->lg, ctx->ledger_dir, retries);
out:
	fleet_plan_release(&p);
	free(sel);
	return r;
}

/* The command line a retry runs: the last fleet deploy's target as it was given (main, a
 * branch: the hosts end on that branch, not detached) pinned to the commit its hosts reached
 * (--pin: a branch that moved since is refused by each host, not deployed), and its options,
 * over the hosts it left behind. */
static void retry_argv(const struct fleet_last *l, struct strv *argv)
{
	strv_push(argv, "deploy");
	for (size_t i = 0; i < l->target.n; i++)
		strv_push(argv, l->target.v[i]);
	for (size_t i = 0; i < l->flags.n; i++) {
		if (streq(l->flags.v[i], "--pin"))
			i++; /* an earlier retry's pin, and its value: this one pins anew */
		else if (!str_startswith(l->flags.v[i], "--pin="))
			strv_push(argv, l->flags.v[i]);
	}
	if (l->commit[0]) {
		strv_push(argv, "--pin");
		strv_push(argv, l->commit);
	}
	strv_push(argv, "--hosts");
	strv_push_take(argv, strv_join(&l->failed, ","));
}

/* "fleet operation 3 (seq:41)", or "fleet operation seq:41" for one recorded unnumbered. */
static const char *fleet_op_name(const struct fleet_last *l, char *buf, size_t n)
{
	if (l->number)
		snprintf(buf, n, "fleet operation %llu (seq:%llu)", (unsigned long long)l->number,
			 (unsigned long long)l->op);
	else
		snprintf(buf, n, "fleet operation seq:%llu", (unsigned long long)l->op);
	return buf;
}

/* --retry-failed: converges only the hosts the last fleet deploy did not get to its target. */
static int deploy_retry(struct cmd_ctx *ctx, const struct deploy_args *given)
{
	struct fleet_last l;
	struct deploy_args a;
	struct strv argv = {0};
	char err[512], name[80];
	int r;

	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		return r;
	r = fleet_last_read(ctx->lg, &l);
	if (r == -ENOENT)
		log_error("no fleet deploy in the ledger at '%s' to retry; run 'shiplog deploy REF "
			  "--all-hosts' first",
			  ctx->ledger_dir);
	if (r < 0)
		return r == -ENOENT ? SL_EUSAGE : SL_EENV;
	if (!l.failed.n) {
		out_say("%s left no host behind: nothing to retry",
			fleet_op_name(&l, name, sizeof(name)));
		fleet_last_release(&l);
		return 0;
	}
	retry_argv(&l, &argv);
	_cleanup_free_ char *hosts = strv_join(&l.failed, ", ");
	_cleanup_free_ char *what = strv_join(&l.target, " ");
	if (l.commit[0])
		out_say("retrying %s on %s: %s pinned to %.12s",
			fleet_op_name(&l, name, sizeof(name)), hosts, what, l.commit);
	else
		out_say("retrying %s on %s: %s (no host reached a commit then: nothing to pin)",
			fleet_op_name(&l, name, sizeof(name)), hosts, what);
	r = deploy_args_parse((int)argv.n, argv.v, &a, err, sizeof(err));
	if (r < 0)
		log_error("cannot retry %s: %s", fleet_op_name(&l, name, sizeof(name)), err);
	else {
		a.dry_run = given->dry_run;
		if (a.runtime < 0)
			a.runtime = LEDGER_RT_NATIVE;
		r = deploy_fleet(ctx, &a, (int)argv.n, argv.v, l.op);
		deploy_args_release(&a);
	}
	strv_free(&argv);
	fleet_last_release(&l);
	return r;
}

/* current-branch: push this clone's branch (deploy_publish_branch), then deploy it as
 * `branch NAME`. Rewrites the command line that gets forwarded. */
static int publish_current_branch(struct cmd_ctx *ctx, struct deploy_args *a, struct strv *fwd)
{
	struct remote_request rq = cmd_remote_request(ctx, a->exec_override);
	char branch[256];
	int r;

	r = remote_preflight(&rq); /* a missing key stops us before the push */
	if (r < 0)
		return r;
	r = deploy_publish_branch(ctx->cfg, branch, sizeof(branch));
	if (r < 0)
		return r;
	a->mode = DEPLOY_BRANCH;
	free(a->target);
	a->target = xstrdup(branch);
	/* forward as `deploy branch NAME ...`, dropping the current-branch words */
	strv_push(fwd, "deploy");
	strv_push(fwd, "branch");
	strv_push(fwd, branch);
	for (int i = 1; i < ctx->cmd_argc; i++) {
		const char *w = ctx->cmd_argv[i];
		if (streq(w, "current-branch") || (streq(w, "current") && i + 1 < ctx->cmd_argc &&
						   streq(ctx->cmd_argv[i + 1], "branch") && ++i))
			continue;
		strv_push(fwd, w);
	}
	ctx->cmd_argc = (int)fwd->n;
	ctx->cmd_argv = fwd->v;
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct deploy_args a;
	struct strv fwd = {0};
	struct remote_request rq;
	enum remote_mode mode;
	char err[512];
	int r;

	r = deploy_args_parse(argc, argv, &a, err, sizeof(err));
	if (r < 0)
		return cmd_usage_error(&cmd_deploy, "%s", err);
	if (a.no_progress)
		out_settings.no_progress = true;
	if (a.runtime < 0)
		a.runtime = LEDGER_RT_NATIVE;
	if (deploy_args_fleet(&a) && !ctx->forwarded_from) {
		r = a.retry_failed ? deploy_retry(ctx, &a)
				   : deploy_fleet(ctx, &a, ctx->cmd_argc, ctx->cmd_argv, 0);
		goto out;
	}
	if (a.mode == DEPLOY_CURRENT_BRANCH && !ctx->forwarded_from) {
		r = publish_current_branch(ctx, &a, &fwd);
		if (r < 0)
			goto out;
	}
	rq = cmd_remote_request(ctx, a.exec_override); /* after publish rewrote the command */
	r = remote_maybe_forward(&rq, &mode);
	if (r == REMOTE_RUN_HERE)
		r = deploy_here(ctx, &a, mode);
out:
	strv_free(&fwd);
	deploy_args_release(&a);
	return r;
}

const struct cmd_entry cmd_deploy = {
    .name = "deploy",
    .summary = "deploy a commit to the services in scope",
    .usage = usage,
    .flags = CMD_CONFIG,
    .options = deploy_options,
    .run = run,
};
