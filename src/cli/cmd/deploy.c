/* SPDX-License-Identifier: MIT */
/* shiplog deploy: plan, guard, lock, record the intent, then precheck -> rollout -> verify ->
 * public verify, each phase timed and recorded. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "config.h"
#include "deploy.h"
#include "lock.h"
#include "op.h"
#include "out.h"
#include "ownership.h"
#include "plan.h"
#include "releases.h"
#include "remote.h"
#include "repo.h"
#include "rollout.h"
#include "util.h"

static const char usage[] =
    "usage: shiplog deploy main | current-branch | branch NAME | REF [options]\n"
    "\n"
    "Deploys a commit to the server's checkout and restarts the services in scope, recording\n"
    "every step in the ledger. Phases: precheck, rollout (fetch, move the checkout), build\n"
    "(each command's exit and last lines of output are kept; a build that leaves the\n"
    "checkout dirty is reported), restart (before_restart hooks, restarts in parallel),\n"
    "verify (units stable for the settle window, then the health checks of all services at\n"
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
    "  --dry-run         print the plan and what the edge guard, the checkout, the ledger\n"
    "                    and the lock say now, and stop; nothing is changed or recorded\n"
    "                    (exit 3 when a guard would refuse, 4 when the ledger cannot be\n"
    "                    written, like the real run)\n"
    "  --local, --ssh    force server-local execution or forwarding over ssh\n"
    "\n"
    "Environment (the reference tool's names): DEPLOY_NATIVE_EDGE_READY=1, DEPLOY_FORCE_SSH=1,\n"
    "DEPLOY_SSH_KEY_PATH, DEPLOY_GIT_REMOTE, DEPLOY_PUBLIC_APP_URL,\n"
    "DEPLOY_PUBLIC_API_HEALTH_URL, DEPLOY_NATIVE_<SERVICE>_UNIT.\n"
    "\n"
    "Exit: 0 deployed; 1 failed (rolled back or stopped); 2 usage or config error;\n"
    "3 refused (edge guard, dirty checkout, lock held, quarantined commit, unit missing);\n"
    "4 ledger or environment error.\n"
    "\n"
    "Examples:\n"
    "  shiplog deploy main --fast                 # workers only, quickest iteration\n"
    "  shiplog deploy main --edge-ready           # everything, web and api included\n"
    "  shiplog deploy v1.4.2 --pieces api,compute # a tag, two services\n"
    "  shiplog deploy main --dry-run              # what would happen\n";

static void fill_request(struct ledger_op_requested *req, const struct deploy_args *a,
			 const struct config *cfg, const struct plan *p, const char **svcs,
			 const char **flags, size_t *nflags, const char *exec_mode)
{
	size_t nf = 0;

	req->kind = "deploy";
	req->mode = deploy_mode_name(a->mode);
	req->ref = a->target ? a->target : (a->mode == DEPLOY_MAIN ? cfg->git.main_branch : "");
	req->commit = "";
	req->prev_commit = "";
	req->runtime = a->runtime;
	for (size_t i = 0; i < p->nservices; i++)
		svcs[i] = cfg->services[p->services[i]].name;
	req->services.n = (uint32_t)p->nservices;
	req->services.v = svcs;
	if (a->fast)
		flags[nf++] = "fast";
	if (a->no_build)
		flags[nf++] = "no-build";
	if (a->build)
		flags[nf++] = "build";
	if (a->force_recreate)
		flags[nf++] = "force-recreate";
	if (a->edge_ready_flag)
		flags[nf++] = "edge-ready";
	if (a->force)
		flags[nf++] = "force";
	if (a->take_over)
		flags[nf++] = "take-over";
	if (a->reset_to_remote)
		flags[nf++] = "reset-to-remote";
	req->flags.n = (uint32_t)nf;
	req->flags.v = flags;
	*nflags = nf;
	req->exec_mode = exec_mode;
	req->config_digest = cfg->digest;
	req->reverts = 0;
	req->reason = "";
}

static void print_plan(const struct deploy_args *a, const struct config *cfg, const struct plan *p,
		       const char *remote, const char *exec_mode)
{
	out_say("Deploying %s%s%s through the %s runtime: %s%s",
		a->mode == DEPLOY_REF ? "" : remote, a->mode == DEPLOY_REF ? "" : "/",
		a->mode == DEPLOY_MAIN ? cfg->git.main_branch : a->target,
		ledger_runtime_name(a->runtime), p->scope_desc, a->fast ? ", fast mode" : "");
	out_say("Using git remote: %s", remote);
	out_say("Execution mode: %s (checkout %s)", exec_mode, cfg->target.checkout);
	if (p->notice[0])
		out_say("%s", p->notice);
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &cfg->services[p->services[i]];
		out_say("  %-16s %-6s %s", s->name, role_name(s->role),
			a->runtime == LEDGER_RT_NATIVE ? s->unit : s->compose);
	}
}

/* The target spec: what to resolve after the fetch. */
static char *target_spec(const struct deploy_args *a, const struct config *cfg, const char *remote)
{
	switch (a->mode) {
	case DEPLOY_MAIN:
		return xasprintf("refs/remotes/%s/%s", remote, cfg->git.main_branch);
	case DEPLOY_BRANCH:
	case DEPLOY_CURRENT_BRANCH:
		return xasprintf("refs/remotes/%s/%s", remote, a->target);
	case DEPLOY_REF:
	default:
		return xstrdup(a->target);
	}
}

static int resolve_target(struct repo *repo, const struct deploy_args *a, const struct config *cfg,
			  const char *remote, char oid[REPO_OID_HEX])
{
	_cleanup_free_ char *spec = target_spec(a, cfg, remote);
	int r = repo_resolve(repo, spec, oid);

	if (r < 0 && a->mode == DEPLOY_REF) {
		/* a bare branch name given as REF: try it on the remote */
		_cleanup_free_ char *remote_spec =
		    xasprintf("refs/remotes/%s/%s", remote, a->target);
		if (repo_resolve(repo, remote_spec, oid) == 0)
			return 0;
		(void)repo_resolve(repo, spec, oid); /* the message names the REF as given */
	}
	return r;
}

/* An unknown ref is a usage error (exit 2), not a failed operation: resolve the target before
 * the intent is recorded. A target the checkout does not know yet gets a fetch first; that fetch
 * is not recorded (it only updates remote-tracking refs: nothing that runs or is checked out
 * moves), and the rollout's recorded fetch runs as usual. A failed fetch leaves the question to
 * that recorded fetch. Returns 0 or SL_EUSAGE (said). */
static int pre_resolve_target(struct repo *repo, const struct deploy_args *a,
			      const struct config *cfg, char *remote)
{
	char oid[REPO_OID_HEX];
	int r = resolve_target(repo, a, cfg, remote, oid);

	if (r == 0)
		return 0;
	{
		char *argv[] = {"git", "fetch", remote, NULL};
		out_argv(argv, "# via libgit2, to resolve the target; not recorded");
	}
	if (repo_fetch(repo, remote) < 0)
		return 0;
	r = resolve_target(repo, a, cfg, remote, oid);
	if (r == 0)
		return 0;
	if (a->mode == DEPLOY_REF)
		log_error(
		    "unknown ref '%s': no commit, tag or branch of the checkout or of '%s' has "
		    "that name (%s); check the name with 'git ls-remote %s'; nothing was recorded",
		    a->target, remote, repo_errmsg(repo), remote);
	else
		log_error("unknown branch '%s': '%s' has no such branch (%s); check the name with "
			  "'git ls-remote --heads %s'; nothing was recorded",
			  a->mode == DEPLOY_MAIN ? cfg->git.main_branch : a->target, remote,
			  repo_errmsg(repo), remote);
	return SL_EUSAGE;
}

/* --dry-run: could the real deploy open and write the ledger at dir? Checked without creating
 * anything: the ledger directory (or, when missing, the nearest existing parent it would be
 * created in) and its files must be writable, on a filesystem with free space. 0 or -errno. */
static int dry_run_ledger(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	_cleanup_free_ char *at = xstrdup(dir);
	struct statvfs vfs;

	while (access(at, F_OK) < 0) {
		char *slash = strrchr(at, '/');
		if (errno != ENOENT || !slash)
			return -errno;
		if (slash == at)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (access(at, W_OK) < 0)
		return -errno;
	for (size_t i = 0; streq(at, dir) && i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *f = xasprintf("%s/%s", dir, files[i]);
		if (access(f, W_OK) < 0 && errno != ENOENT)
			return -errno;
	}
	if (statvfs(at, &vfs) == 0 && vfs.f_bavail == 0)
		return -ENOSPC;
	return 0;
}

/* --dry-run: what the guards that need no side effect would say now. Returns 0, or
 * SL_EREFUSED when one of them would refuse (so scripts can test a plan), or the ledger error
 * the real deploy would stop with (said). */
static int dry_run_guards(struct cmd_ctx *ctx, const struct deploy_args *a, struct rollout *ro)
{
	struct strv dirty = {0};
	struct lock_holder holder;
	bool held = false, refused = false;
	char who[512];

	if (!plan_edge_allowed(&ro->plan, a->runtime, a->edge_ready_flag,
			       getenv("DEPLOY_NATIVE_EDGE_READY"))) {
		out_say("would refuse: the edge guard (%s touches web/api; set "
			"DEPLOY_NATIVE_EDGE_READY=1 or --edge-ready)",
			ro->plan.scope_desc);
		refused = true;
	} else {
		out_say("edge guard: passes");
	}
	if (repo_dirty(ro->repo, &ctx->cfg->target.allow_untracked, &dirty) == 0 && dirty.n) {
		_cleanup_free_ char *list = strv_join(&dirty, ", ");
		out_say("would refuse: the checkout has local changes: %s", list);
		refused = true;
	} else {
		out_say("checkout: clean");
	}
	strv_free(&dirty);
	if (!ctx->ledger_dir)
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, ctx->cfg);
	if (ctx->ledger_dir) {
		int r = dry_run_ledger(ctx->ledger_dir);
		if (r < 0) {
			out_say("would stop: the ledger cannot be written (below)");
			op_ledger_write_error(ctx->ledger_dir, "open", r, "--dry-run checked", 0);
			return r;
		}
		out_say("ledger: writable");
	}
	if (ctx->ledger_dir && lock_status(ctx->ledger_dir, &held, &holder) == 0 && held) {
		lock_holder_describe(&holder, who, sizeof(who));
		out_say("would wait or refuse: the lock is held by %s", who);
		refused = true;
	} else {
		out_say("lock: free");
	}
	return refused ? SL_EREFUSED : 0;
}

/* The ownership rule against the ledger's current state (see ownership.h). */
static int check_ownership(struct cmd_ctx *ctx, struct rollout *ro, bool take_over, char *err,
			   size_t errlen)
{
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	int r = ledger_state_at(ctx->lg, UINT64_MAX, st);

	if (r < 0) {
		op_fail(ro->op, "cannot read the ledger state: %s", ledger_strerror(r));
		log_error("%s", ro->op->error);
	} else {
		r = ownership_check(ro, st, take_over, err, errlen);
		if (r < 0 && r != SL_EREFUSED) {
			op_fail(ro->op, "%s", err);
			log_error("%s", err);
		}
	}
	free(st);
	return r;
}

/* The config a deploy applies (issue: a commit that fixes its config must be deployable): the
 * [service] sections and the native build, build_when_changed, unit_dir, exec, env_file and
 * log_dir of the target commit's shiplog.conf, read from git before anything moves; what
 * governs shiplog itself ([project], [target], [git], [policy], [public], ssh) stays the one
 * it started with. Only when the config file is tracked in the checkout. Returns 0 (ro->cfg
 * and ro->plan then refer to *eff when the target's config differs; *tcfg keeps its storage),
 * or SL_EREFUSED with why (an invalid config, a service in scope missing or with another
 * role). */
static int target_config(const struct config *cfg, struct rollout *ro, struct config **tcfg,
			 struct config *eff, char *why, size_t whylen)
{
	_cleanup_free_ char *wd = realpath(repo_workdir(ro->repo), NULL), *data = NULL,
			    *name = NULL;
	struct config *t = NULL;
	struct plan plan = ro->plan;
	const char *rel;
	char err[768];
	size_t len, n;
	int r;

	*tcfg = NULL;
	n = wd ? strlen(wd) : 0;
	if (!wd || strncmp(cfg->path, wd, n) != 0 || cfg->path[n] != '/')
		return 0; /* the config lives outside the checkout: it is not the commit's */
	rel = cfg->path + n + 1;
	r = repo_read_file(ro->repo, ro->target, rel, 1u << 20, &data, &len);
	if (r == -ENOENT) {
		out_say("%s is not in commit %.12s: the config this deploy started with applies",
			rel, ro->target);
		return 0;
	}
	name = xasprintf("%.12s:%s", ro->target, rel);
	if (r < 0) {
		snprintf(why, whylen, "cannot read %s: %s", name,
			 r == -EFBIG ? "larger than 1 MiB" : repo_errmsg(ro->repo));
		return SL_EREFUSED;
	}
	r = config_load_data(cfg->path, name, data, len, &t, err, sizeof(err));
	if (r < 0) {
		snprintf(why, whylen,
			 "the target commit's config is invalid: %s; fix it in a new "
			 "commit (nothing was changed)",
			 err);
		return SL_EREFUSED;
	}
	config_apply_env(t);
	strlcpy_(ro->config_digest, t->digest, sizeof(ro->config_digest));
	if (streq(t->digest, cfg->digest)) {
		config_free(t);
		return 0;
	}
	for (size_t i = 0; i < plan.nservices; i++) {
		const struct service *s = &cfg->services[plan.services[i]];
		int k = config_service_index(t, s->name);
		if (k < 0 || t->services[k].role != s->role) {
			snprintf(why, whylen,
				 k < 0
				     ? "service '%s' is in scope but not in %s; deploy it without "
				       "that service (--pieces)"
				     : "service '%s' has another role in %s; deploy that change in "
				       "two steps (first the config, then the services)",
				 s->name, name);
			config_free(t);
			return SL_EREFUSED;
		}
		plan.services[i] = (size_t)k;
	}
	*eff = *cfg;
	eff->services = t->services;
	eff->nservices = t->nservices;
	eff->native.build = t->native.build;
	eff->native.build_when_changed = t->native.build_when_changed;
	eff->native.unit_dir = t->native.unit_dir;
	eff->native.exec = t->native.exec;
	eff->native.env_file = t->native.env_file;
	eff->native.log_dir = t->native.log_dir;
	strlcpy_(eff->digest, t->digest, sizeof(eff->digest));
	ro->cfg = eff;
	ro->plan = plan;
	*tcfg = t;
	out_say(
	    "the target commit's %s differs from the one this deploy started with (sha256 "
	    "%.12s, was %.12s): its services' units, builds and health checks apply; [project], "
	    "[target], [git], [public] and [policy] stay as started",
	    rel, t->digest, cfg->digest);
	return 0;
}

static int refuse(struct op *op, const char *guard, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Refuses an operation that was already requested: terminal op.refused, timings. */
static int refuse(struct op *op, const char *guard, const char *fmt, ...)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED};
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("deploy refused: %s", msg);
	if (op->current >= 0)
		op_phase_end(op, false, msg);
	ev.u.op_refused.guard = guard;
	ev.u.op_refused.reason = msg;
	op_append(op, &ev);
	op_durable(op);
	op->finished = true;
	op_print_timings(op);
	return op->ledger_error ? op->ledger_error : SL_EREFUSED;
}

/* A before_restart hook failed: nothing was restarted, so there is nothing to roll back. The
 * operation fails and says where the code on disk stands. */
static int hook_stopped(struct op *op, struct rollout *ro)
{
	op_finish(op, LEDGER_OUT_FAILED, 0);
	log_error("deploy stopped: %s; nothing was restarted", op->error);
	if (ro->releases)
		log_error("'current' still points at %.12s; release %.12s stays built for the next "
			  "try; fix the hook and deploy again (see 'shiplog show %llu')",
			  ro->prev[0] ? ro->prev : "(none)", ro->target,
			  (unsigned long long)op->id);
	else
		log_error("the checkout '%s' now holds %.12s (built) while the services still run "
			  "%.12s: a unit that restarts on its own would run the new files; fix the "
			  "hook and deploy again, or put the checkout back with 'shiplog deploy "
			  "%.12s' (see 'shiplog show %llu')",
			  repo_workdir(ro->repo), ro->target, ro->prev[0] ? ro->prev : "(none)",
			  ro->prev, (unsigned long long)op->id);
	return SL_EFAILED;
}

int deploy_run(struct cmd_ctx *ctx, struct deploy_args *a, enum remote_mode mode)
{
	struct config *cfg = ctx->cfg;
	struct rollout ro = {.cfg = cfg, .runtime = a->runtime, .exec_mode = mode};
	struct ledger_op_requested req = {0};
	struct config *tcfg = NULL, eff;
	struct plan plan0;
	const char *svcs[LEDGER_MAX_SERVICES], *flags[10];
	struct deploy_lock lock = {.fd = -1};
	struct lock_holder holder;
	struct strv dirty = {0};
	_cleanup_free_ char *remote = NULL, *via = NULL;
	char err[1024], branch[256] = "", head[REPO_OID_HEX] = "";
	struct op op = {.current = -1};
	size_t nflags;
	int r;

	ro.fast = a->fast;
	ro.no_build = a->no_build;
	ro.force_build = a->build;
	ro.reset_to_remote = a->reset_to_remote;
	ro.force_recreate = a->force_recreate;
	ro.op = &op;

	if (a->reset_to_remote && a->mode == DEPLOY_REF) {
		log_error(
		    "--reset-to-remote resets the checkout's branch, and 'deploy REF' has none; "
		    "use it with 'deploy main' or 'deploy branch NAME'");
		return SL_EUSAGE;
	}
	r = plan_scope(cfg, &a->scope, a->runtime, a->fast, &ro.plan, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	if (ro.plan.touches_edge && str_empty(cfg->public_.app_url)) {
		log_error(
		    "[public] app_url is required when an edge role is in scope (%s); set it in "
		    "%s or DEPLOY_PUBLIC_APP_URL",
		    ro.plan.scope_desc, cfg->path);
		return SL_EUSAGE;
	}

	/* Reading git is not a side effect: open the checkout and resolve the remote first. */
	r = repo_open(cfg->target.checkout, &ro.repo);
	if (r < 0) {
		log_error("cannot open the checkout '%s': %s", cfg->target.checkout,
			  repo_errmsg(ro.repo));
		repo_free(ro.repo);
		return SL_EENV;
	}
	repo_head(ro.repo, ro.prev, branch, sizeof(branch));
	strlcpy_(head, ro.prev, sizeof(head)); /* the checkout's; ro.prev is what runs */
	ro.releases = cfg->target.layout == LAYOUT_RELEASES;
	if (ro.releases && ro.runtime == LEDGER_RT_NATIVE)
		releases_current_commit(cfg, ro.prev); /* "" before the first release */
	else
		ro.releases = false;
	r = repo_remote_resolve(ro.repo, streq(cfg->git.remote, "auto") ? NULL : cfg->git.remote,
				a->mode == DEPLOY_BRANCH ? a->target : NULL, cfg->git.main_branch,
				&cfg->git.remote_candidates, &remote);
	if (r < 0) {
		log_error("%s", repo_errmsg(ro.repo));
		goto out;
	}

	ro.remote = remote;
	fill_request(&req, a, cfg, &ro.plan, svcs, flags, &nflags, remote_mode_name(mode));
	if (ctx->forwarded_from && nflags < ELEMENTSOF(flags)) {
		via = xasprintf("forwarded-from=%s", ctx->forwarded_from);
		flags[nflags++] = via;
		req.flags.n = (uint32_t)nflags;
	}
	req.prev_commit = ro.prev;
	print_plan(a, cfg, &ro.plan, remote, remote_mode_name(mode));

	if (a->dry_run) {
		r = dry_run_guards(ctx, a, &ro);
		out_say("--dry-run: nothing was changed or recorded");
		goto out;
	}

	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		goto out;

	/* The edge guard is static: checked before the lock and before any fetch. */
	if (!plan_edge_allowed(&ro.plan, a->runtime, a->edge_ready_flag,
			       getenv("DEPLOY_NATIVE_EDGE_READY"))) {
		uint64_t id = 0;
		snprintf(err, sizeof(err),
			 "native deploy of %s touches the edge (web/api) and is not acknowledged",
			 ro.plan.scope_desc);
		op_refuse_request(ctx->lg, &req, "edge", err, &id);
		log_error("refusing native deploy of edge services (%s) (operation %llu)",
			  ro.plan.scope_desc, (unsigned long long)id);
		log_error("set DEPLOY_NATIVE_EDGE_READY=1 (or --edge-ready) only after the proxy "
			  "routing and native units are prepared");
		log_error("use --workers-only or --fast to iterate on workers before the cutover");
		r = SL_EREFUSED;
		goto out;
	}

	r = lock_acquire(ctx->ledger_dir, a->wait_lock_ns, &lock, &holder);
	if (r == SL_EREFUSED) {
		char who[512];
		lock_holder_describe(&holder, who, sizeof(who));
		snprintf(err, sizeof(err), "lock held by %s", who);
		op_refuse_request(ctx->lg, &req, "lock", err, NULL);
	}
	if (r < 0) {
		lock_say_refused("deploy", ctx->ledger_dir, r, &holder, true);
		goto out;
	}

	/* We hold the lock: an operation still open in the ledger belongs to a dead process. */
	r = op_close_interrupted(ctx->lg, "interrupted");
	if (r < 0)
		goto out;
	r = pre_resolve_target(ro.repo, a, cfg, remote);
	if (r < 0)
		goto out;

	r = op_begin(&op, ctx->lg, &req);
	if (r < 0)
		goto out;
	lock_set_op(&lock, op.id);
	out_say("Operation %llu started", (unsigned long long)op.id);

	/* ---- precheck ---- */
	op_phase_begin(&op, "precheck", "Precheck");
	r = rollout_recover_checkout(&ro); /* a checkout a killed operation left half done */
	if (r < 0)
		goto fail;
	r = repo_dirty(ro.repo, &cfg->target.allow_untracked, &dirty);
	if (r < 0) {
		op_fail(&op, "cannot read the checkout status: %s", repo_errmsg(ro.repo));
		log_error("%s", op.error);
		r = SL_EFAILED;
		goto fail;
	}
	if (dirty.n) {
		_cleanup_free_ char *list = strv_join(&dirty, ", ");
		for (size_t i = 0; i < dirty.n; i++)
			out_say("  %s", dirty.v[i]);
		r = refuse(
		    &op, "dirty-tree",
		    "the checkout '%s' has local changes: %s; commit, stash or remove them, or "
		    "allow untracked paths with [target] allow_untracked",
		    cfg->target.checkout, list);
		goto out;
	}
	out_say("checkout %s is clean (at %.12s%s%s)", cfg->target.checkout,
		head[0] ? head : "no commit yet", branch[0] ? " on " : ", detached", branch);
	r = rollout_open_runtime(&ro);
	if (r < 0) {
		op_fail(&op, "the %s runtime is unreachable", ledger_runtime_name(a->runtime));
		goto fail;
	}
	r = rollout_precheck_runtime(&ro, err, sizeof(err));
	if (r == SL_EREFUSED) {
		r = refuse(&op, a->runtime == LEDGER_RT_NATIVE ? "unit-missing" : "service-missing",
			   "%s", err);
		goto out;
	}
	if (r < 0) {
		op_fail(&op, "%s", err);
		log_error("%s", err);
		goto fail;
	}
	/* One owner per service: refused here, before anything moves, unless --take-over (which
	 * stops the other runtime after the build, just before the restart). */
	if (!a->take_over) {
		r = check_ownership(ctx, &ro, false, err, sizeof(err));
		if (r == SL_EREFUSED) {
			r = refuse(&op, "ownership", "%s", err);
			goto out;
		}
		if (r < 0)
			goto fail;
	}
	op_phase_end(&op, true, NULL);

	/* ---- rollout ---- */
	op_phase_begin(&op, "rollout", "Rollout");
	{
		char *argv[] = {"git", "fetch", remote, NULL};
		int64_t t0;
		r = op_durable(&op);
		if (r < 0)
			goto fail;
		t0 = mono_ns();
		r = repo_fetch(ro.repo, remote);
		op_record_step(&op, "fetch", argv, cfg->target.checkout, r < 0 ? 1 : 0,
			       mono_ns() - t0, "# via libgit2");
		if (r < 0) {
			op_fail(&op, "fetch from '%s' failed: %s", remote, repo_errmsg(ro.repo));
			log_error("%s", op.error);
			r = SL_EFAILED;
			goto fail;
		}
	}
	r = resolve_target(ro.repo, a, cfg, remote, ro.target);
	if (r < 0) {
		op_fail(&op, "cannot resolve '%s': %s", req.ref, repo_errmsg(ro.repo));
		log_error("%s", op.error);
		r = r == SL_EUSAGE ? SL_EUSAGE : SL_EFAILED;
		goto fail;
	}
	if (ro.prev[0])
		out_say("target %s -> %.12s (was %.12s)", req.ref, ro.target, ro.prev);
	else
		out_say("target %s -> %.12s (the first %s: nothing deployed before)", req.ref,
			ro.target, ro.releases ? "release" : "deploy");
	{
		struct ledger_state *st = xcalloc(1, sizeof(*st));
		const struct ledger_quarantine *q = NULL;
		if (ledger_state_at(ctx->lg, UINT64_MAX, st) == 0)
			q = ledger_state_quarantined(st, ro.target);
		if (q && !a->force) {
			char when[64];
			format_time(q->time_ns, when, sizeof(when));
			r = refuse(
			    &op, "quarantine",
			    "commit %.12s was rolled back at %s (operation %llu: %s); deploy a "
			    "newer commit, or pass --force to deploy it anyway",
			    ro.target, when, (unsigned long long)q->op, q->reason);
			free(st);
			goto out;
		}
		if (q)
			out_say("--force: deploying %.12s although it was rolled back (%s)",
				ro.target, q->reason);
		free(st);
	}
	plan0 = ro.plan;
	r = target_config(cfg, &ro, &tcfg, &eff, err, sizeof(err));
	if (r < 0) {
		r = refuse(&op, "config", "%s", err);
		goto out;
	}
	if (a->mode == DEPLOY_MAIN)
		strlcpy_(ro.branch, cfg->git.main_branch, sizeof(ro.branch));
	else if (a->mode == DEPLOY_BRANCH || a->mode == DEPLOY_CURRENT_BRANCH)
		strlcpy_(ro.branch, a->target, sizeof(ro.branch));
	rollout_note_shared_checkout(&ro);
	r = rollout_move_checkout(&ro);
	if (r == SL_EREFUSED) {
		r = refuse(&op, "diverged", "%s", op.error);
		goto out;
	}
	if (r < 0)
		goto fail;
	op_phase_begin(&op, "build", "Build");
	r = rollout_build(&ro);
	if (r < 0)
		goto fail;
	op_phase_begin(&op, "restart", "Restart");
	r = rollout_run_hooks(&ro, HOOK_BEFORE_RESTART);
	if (r < 0 && !op_interrupted) {
		r = hook_stopped(&op, &ro);
		goto out;
	}
	if (r < 0)
		goto fail;
	if (a->take_over) {
		r = check_ownership(ctx, &ro, true, err, sizeof(err));
		if (r < 0)
			goto fail;
	}
	r = rollout_restart(&ro);
	if (r < 0)
		goto fail;
	op_phase_end(&op, true, NULL);

	/* ---- verify ---- */
	op_phase_begin(&op, "verify", "Verify");
	r = rollout_verify(&ro);
	if (r < 0)
		goto fail;
	r = rollout_run_hooks(&ro, HOOK_AFTER_VERIFY);
	if (r < 0)
		goto fail;
	op_phase_end(&op, true, NULL);

	if (ro.plan.touches_edge) {
		op_phase_begin(&op, "public-verify", "Public Verify");
		r = rollout_public_verify(&ro);
		if (r < 0)
			goto fail;
		op_phase_end(&op, true, NULL);
	}

	r = op_finish(&op, LEDGER_OUT_SUCCEEDED, 0);
	out_say("Operation %llu succeeded: %s now runs %.12s", (unsigned long long)op.id,
		ro.plan.scope_desc, ro.target);
	rollout_prune_releases(&ro, ctx->lg);
	r = r < 0 ? r : 0;
	goto out;

fail:
	if (tcfg) {
		/* the rollback goes back to the services as the started config knows them */
		ro.cfg = cfg;
		ro.plan = plan0;
	}
	r = deploy_failed(ctx, &op, &ro, r);
out:
	strv_free(&dirty);
	rollout_release(&ro);
	config_free(tcfg);
	repo_free(ro.repo);
	lock_release(&lock);
	return r;
}

/* current-branch: refuse any local change, push this clone's branch (setting its upstream when
 * missing), then deploy it as `branch NAME`. Rewrites the command line that gets forwarded. */
static int publish_current_branch(struct cmd_ctx *ctx, struct deploy_args *a, struct strv *fwd)
{
	const struct config *cfg = ctx->cfg;
	struct repo *repo = NULL;
	struct strv dirty = {0}, none = {0};
	_cleanup_free_ char *remote = NULL;
	char oid[REPO_OID_HEX], branch[256] = "", d[32];
	int64_t t0 = mono_ns();
	int r;

	struct remote_request rq = cmd_remote_request(ctx, a->exec_override);

	r = remote_preflight(&rq); /* a missing key stops us before the push */
	if (r < 0)
		return r;
	out_phase("Local Publish");
	r = repo_open(cfg->dir, &repo);
	if (r < 0) {
		log_error("current-branch: '%s' is not a git checkout: %s", cfg->dir,
			  repo_errmsg(repo));
		r = SL_EUSAGE;
		goto out;
	}
	repo_head(repo, oid, branch, sizeof(branch));
	if (!branch[0]) {
		log_error(
		    "current-branch: refusing branch deploy from a detached HEAD; check out a "
		    "branch, or deploy the commit with 'shiplog deploy %.12s'",
		    oid);
		r = SL_EREFUSED;
		goto out;
	}
	r = repo_dirty(repo, &none, &dirty);
	if (r < 0 || dirty.n) {
		_cleanup_free_ char *list = strv_join(&dirty, ", ");
		log_error("current-branch: uncommitted local changes (%s); commit first",
			  r < 0 ? repo_errmsg(repo) : list);
		r = SL_EREFUSED;
		goto out;
	}
	r = repo_remote_resolve(repo, streq(cfg->git.remote, "auto") ? NULL : cfg->git.remote,
				branch, cfg->git.main_branch, &cfg->git.remote_candidates, &remote);
	if (r < 0) {
		log_error("%s", repo_errmsg(repo));
		goto out;
	}
	{
		char *argv[] = {"git", "push", "-u", remote, branch, NULL};
		out_argv(argv, "# via libgit2");
	}
	r = repo_push_branch(repo, remote, branch);
	if (r < 0) {
		log_error("current-branch: push of '%s' to '%s' failed: %s", branch, remote,
			  repo_errmsg(repo));
		r = SL_EFAILED;
		goto out;
	}
	format_duration(mono_ns() - t0, d, sizeof(d));
	out_say("local publish: %s (pushed %s %.12s to %s)", d, branch, oid, remote);
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
	r = 0;
out:
	strv_free(&dirty);
	repo_free(repo);
	return r;
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
	if (a.runtime < 0)
		a.runtime = LEDGER_RT_NATIVE;
	if (a.mode == DEPLOY_CURRENT_BRANCH && !ctx->forwarded_from) {
		r = publish_current_branch(ctx, &a, &fwd);
		if (r < 0)
			goto out;
	}
	rq = cmd_remote_request(ctx, a.exec_override); /* after publish rewrote the command */
	r = remote_maybe_forward(&rq, &mode);
	if (r == REMOTE_RUN_HERE)
		r = deploy_run(ctx, &a, mode);
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
