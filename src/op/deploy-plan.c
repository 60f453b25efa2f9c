/* SPDX-License-Identifier: MIT */
/* The deploy plan: facts (reads only), the plan and its guards (pure). --dry-run's print of the
 * plan is deploy-print.c, the executor deploy.c. See deploy.h. */
#include "deploy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "compose.h"
#include "lock.h"
#include "op.h"
#include "out.h"
#include "ownership.h"
#include "releases.h"
#include "rollout.h"
#include "units.h"
#include "util.h"
#include "view.h"

/* ---- facts: what git, the lock and the ledger's place say (reads only) -------------------- */

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

int deploy_target_resolve(struct repo *repo, const struct deploy_args *a, const struct config *cfg,
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

/* --dry-run: could the real deploy open and write the ledger at dir? Checked without creating
 * anything: the ledger directory (or, when missing, the nearest existing parent it would be
 * created in) and its files must be writable, on a filesystem with free space. 0 or -errno. */
static int ledger_writable(const char *dir)
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

/* The unit files of the services in scope, as 'shiplog units install' would write them now
 * (rendered in memory from the checkout's templates) against what is on disk: which have no
 * file (the first is named, with the other directories systemd reads units from, where an
 * operator may have put it), and which differ. Reads only; the manager is not asked. */
static const char *const user_unit_dirs[] = {"/etc/systemd/user", "/usr/local/lib/systemd/user",
					     "/usr/lib/systemd/user", "/lib/systemd/user"};
static const char *const system_unit_dirs[] = {"/run/systemd/system",
					       "/usr/local/lib/systemd/system",
					       "/usr/lib/systemd/system", "/lib/systemd/system"};

static bool unit_elsewhere(const struct config *cfg, const char *unit, char *where, size_t n)
{
	bool sys = cfg->native.manager == MANAGER_SYSTEM;
	const char *const *dirs = sys ? system_unit_dirs : user_unit_dirs;

	for (size_t i = 0; i < (sys ? ELEMENTSOF(system_unit_dirs) : ELEMENTSOF(user_unit_dirs));
	     i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], unit);
		if (access(path, F_OK) == 0) {
			strlcpy_(where, path, n);
			return true;
		}
	}
	return false;
}

static void read_unit_files(const struct config *cfg, const struct deploy_args *a,
			    struct deploy_facts *f)
{
	struct units_set set = {0};
	struct plan scope;
	struct buf stale = {0};
	char err[GUARD_REASON_MAX];

	if (plan_scope(cfg, &a->scope, a->runtime, a->fast, &scope, err, sizeof(err)) < 0)
		return;
	f->units_read = true;
	if (units_render(cfg, &set, f->units_error, sizeof(f->units_error)) < 0 ||
	    units_write(cfg, &set, true, NULL, f->units_error, sizeof(f->units_error)) < 0)
		goto out;
	strlcpy_(f->units_dir, set.dir, sizeof(f->units_dir));
	for (size_t i = 0; i < scope.nservices; i++) {
		const struct service *s = &cfg->services[scope.services[i]];
		const struct units_file *u = NULL;
		char where[512];
		for (size_t k = 0; k < set.n && !u; k++)
			if (set.f[k].svc == s)
				u = &set.f[k];
		if (!u)
			continue;
		if (streq(u->status, "installed")) {
			if (unit_elsewhere(cfg, s->unit, where, sizeof(where))) {
				buf_printf(&stale, "%s%s (in %s, not installed by shiplog)",
					   stale.len ? ", " : "", s->unit, where);
				continue;
			}
			if (!f->units_missing[0])
				snprintf(
				    f->units_missing, sizeof(f->units_missing),
				    "unit '%s' of service '%s' has no unit file (not in %s nor "
				    "in the manager's other unit directories); install it with "
				    "'shiplog units install' (or tools/install-user-units.sh)",
				    s->unit, s->name, set.dir);
		} else if (streq(u->status, "updated")) {
			buf_printf(&stale, "%s%s", stale.len ? ", " : "", s->unit);
		}
	}
	if (stale.len)
		strlcpy_(f->units_stale, stale.data, sizeof(f->units_stale));
out:
	buf_free(&stale);
	units_set_release(&set);
}

/* Docker: what the precheck and the build will ask, asked now with the same read-only commands
 * (nothing recorded): `compose config` at the checkout's commit (the services it defines and
 * which have a build section, with SHIPLOG_COMMIT as the precheck sets it), whether the target
 * commit changes the compose directory (then the build reads it again after the move), and one
 * `docker image ls` for the target's image tags of the services in scope. */
static void read_compose(const struct config *cfg, const struct deploy_args *a, struct repo *repo,
			 struct deploy_facts *f)
{
	struct deploy_compose_facts *d = &f->compose;
	char tags[LEDGER_MAX_SERVICES][COMPOSE_TAG_MAX];
	const char *refs[LEDGER_MAX_SERVICES];
	bool exists[LEDGER_MAX_SERVICES];
	struct compose *c = NULL;
	struct strv changed = {0};
	struct plan scope;
	char err[GUARD_REASON_MAX];
	size_t n = 0;
	int r;

	if (plan_scope(cfg, &a->scope, a->runtime, a->fast, &scope, err, sizeof(err)) < 0)
		return;
	d->read = true;
	if (compose_open(&c, NULL, repo_workdir(repo), cfg->docker.workdir, cfg->docker.project,
			 d->open_error, sizeof(d->open_error)) < 0)
		return;
	setenv("SHIPLOG_COMMIT", f->prev[0] ? f->prev : "unknown", 1);
	if (compose_config_read(c, d->config_error, sizeof(d->config_error)) < 0)
		goto out;
	strlcpy_(d->file, c->file, sizeof(d->file));
	for (size_t i = 0; i < c->services.n; i++)
		strv_push(&d->services, c->services.v[i]);
	for (size_t i = 0; i < c->built.n; i++)
		strv_push(&d->built, c->built.v[i]);
	strlcpy_(d->target, f->target, sizeof(d->target));
	if (!f->target[0])
		goto out;
	if (!streq(f->target, f->prev))
		d->dir_changed = repo_changed_paths(repo, f->prev, f->target, &changed) < 0 ||
				 compose_dir_changed(cfg->docker.workdir, &changed);
	for (size_t i = 0; i < scope.nservices && !d->dir_changed; i++) {
		const struct service *s = &cfg->services[scope.services[i]];
		if (!compose_has_build(c, s->compose))
			continue;
		compose_image_tag(cfg->docker.project, s->compose, f->target, tags[n],
				  sizeof(tags[n]));
		refs[n] = tags[n];
		n++;
	}
	if (d->dir_changed)
		goto out;
	r = compose_images_exist(c, refs, n, exists);
	if (r < 0) {
		snprintf(d->images_error, sizeof(d->images_error),
			 "cannot list the docker images: %s", sl_strerror(r));
		goto out;
	}
	d->images_read = true;
	for (size_t k = 0; k < n; k++)
		if (exists[k])
			strv_push(&d->images, refs[k]);
out:
	strv_free(&changed);
	compose_free(c);
}

int deploy_facts_read(const struct config *cfg, const struct deploy_args *a, struct repo *repo,
		      const char *ledger_dir, bool dry_run, struct deploy_facts *f)
{
	int r;

	f->edge_ready_env = getenv("DEPLOY_NATIVE_EDGE_READY");
	f->ledger_dir = ledger_dir ? ledger_dir : "";
	repo_head(repo, f->head, f->branch, sizeof(f->branch));
	strlcpy_(f->prev, f->head, sizeof(f->prev)); /* the checkout's; prev is what runs */
	if (cfg->target.layout == LAYOUT_RELEASES && a->runtime == LEDGER_RT_NATIVE)
		releases_current_commit(cfg, f->prev); /* "" before the first release */
	r = repo_remote_resolve(repo, streq(cfg->git.remote, "auto") ? NULL : cfg->git.remote,
				a->mode == DEPLOY_BRANCH ? a->target : NULL, cfg->git.main_branch,
				&cfg->git.remote_candidates, &f->remote);
	if (r < 0) {
		log_error("%s", repo_errmsg(repo));
		return r;
	}
	f->move_pending = repo_move_pending(repo, &f->move) > 0;
	r = repo_dirty(repo, &cfg->target.allow_untracked, &f->dirty);
	if (r < 0) {
		f->dirty_error = r;
		strlcpy_(f->dirty_errmsg, repo_errmsg(repo), sizeof(f->dirty_errmsg));
	}
	if (deploy_target_resolve(repo, a, cfg, f->remote, f->target) < 0)
		f->target[0] = '\0';
	if (dry_run && a->runtime == LEDGER_RT_NATIVE)
		read_unit_files(cfg, a, f);
	if (dry_run && a->runtime == LEDGER_RT_DOCKER)
		read_compose(cfg, a, repo, f);
	if (dry_run && ledger_dir) {
		struct lock_holder holder;
		f->ledger_known = true;
		f->ledger_error = ledger_writable(ledger_dir);
		if (lock_status(ledger_dir, &f->lock_held, &holder) == 0) {
			f->lock_known = true;
			if (f->lock_held)
				lock_holder_describe(&holder, f->lock_holder,
						     sizeof(f->lock_holder));
		}
	}
	return 0;
}

void deploy_facts_read_builds(struct deploy_facts *f, const struct config *cfg,
			      const struct deploy_args *a, struct repo *repo, struct ledger *lg,
			      const char *target)
{
	struct build_facts *b = &f->build;

	if (!target)
		target = f->target;
	b->releases = cfg->target.layout == LAYOUT_RELEASES && a->runtime == LEDGER_RT_NATIVE;
	if (!b->releases) {
		if (lg)
			(void)build_facts_read_last(lg, repo_workdir(repo), b);
		else
			strlcpy_(b->path, repo_workdir(repo), sizeof(b->path));
	} else if (target[0]) {
		_cleanup_free_ char *rel = releases_path(cfg, target);
		b->release_built = releases_is_built(cfg, target);
		/* [target] carry copies the build output of the previous release into a release
		 * written now (one that does not exist yet), when that one was built */
		b->base[0] = '\0';
		if (cfg->target.carry.n && f->prev[0] && !streq(f->prev, target) &&
		    access(rel, F_OK) < 0 && releases_is_built(cfg, f->prev))
			strlcpy_(b->base, f->prev, sizeof(b->base));
	}
	(void)build_facts_diff(repo, target, b);
}

void deploy_facts_release(struct deploy_facts *f)
{
	free(f->remote);
	f->remote = NULL;
	strv_free(&f->dirty);
	build_facts_release(&f->build);
	strv_free(&f->compose.services);
	strv_free(&f->compose.built);
	strv_free(&f->compose.images);
}

/* ---- the target commit's config, read from git ---------------------------------------------- */

void deploy_plan_read_target_config(struct deploy_plan *p, struct repo *repo, struct config **tcfg)
{
	const struct config *cfg = p->cfg;
	_cleanup_free_ char *wd = realpath(repo_workdir(repo), NULL), *data = NULL;
	const char *rel;
	char err[640];
	size_t len, n;
	int r;

	*tcfg = NULL;
	p->target_cfg_read = true;
	p->target_cfg = NULL;
	p->target_cfg_error[0] = p->target_cfg_note[0] = '\0';
	if (!p->target[0]) {
		p->target_cfg_read = false; /* nothing to read it from yet */
		return;
	}
	n = wd ? strlen(wd) : 0;
	if (!wd || strncmp(cfg->path, wd, n) != 0 || cfg->path[n] != '/') {
		snprintf(p->target_cfg_note, sizeof(p->target_cfg_note),
			 "%s lies outside the checkout, so it is not the commit's: the config this "
			 "deploy started with applies",
			 cfg->path);
		return;
	}
	rel = cfg->path + n + 1;
	r = repo_read_file(repo, p->target, rel, 1u << 20, &data, &len);
	if (r == -ENOENT) {
		snprintf(p->target_cfg_note, sizeof(p->target_cfg_note),
			 "%s is not in commit %.12s: the config this deploy started with applies",
			 rel, p->target);
		return;
	}
	snprintf(p->target_cfg_name, sizeof(p->target_cfg_name), "%.12s:%s", p->target, rel);
	if (r < 0) {
		snprintf(p->target_cfg_error, sizeof(p->target_cfg_error), "cannot read %s: %s",
			 p->target_cfg_name, r == -EFBIG ? "larger than 1 MiB" : repo_errmsg(repo));
		return;
	}
	r = config_load_data(cfg->path, p->target_cfg_name, data, len, tcfg, err, sizeof(err));
	if (r < 0) {
		snprintf(p->target_cfg_error, sizeof(p->target_cfg_error),
			 "the target commit's config is invalid: %s; fix it in a new commit "
			 "(nothing was changed)",
			 err);
		return;
	}
	config_apply_env(*tcfg);
	p->target_cfg = *tcfg;
}

/* ---- the guards: pure functions of the plan and the state ---------------------------------- */

void deploy_guard_edge(const struct deploy_plan *p, const struct ledger_state *st,
		       struct guard_verdict *v)
{
	(void)st;
	if (!plan_edge_allowed(&p->scope, p->runtime, p->args->edge_ready_flag,
			       p->facts->edge_ready_env))
		guard_set(v, "edge", GUARD_REFUSE,
			  "native deploy of %s touches the edge (web/api) and is not acknowledged",
			  p->scope.scope_desc);
	else
		guard_set(v, "edge", GUARD_PASS, "passes");
}

void deploy_guard_lock(const struct deploy_plan *p, const struct ledger_state *st,
		       struct guard_verdict *v)
{
	(void)st;
	if (p->lock_taken)
		guard_set(v, "lock", GUARD_PASS, "taken by this deploy");
	else if (!p->facts->lock_known)
		guard_set(v, "lock", GUARD_UNKNOWN, "taken when the deploy starts");
	else if (p->facts->lock_held)
		guard_set(v, "lock", GUARD_REFUSE, "lock held by %s", p->facts->lock_holder);
	else
		guard_set(v, "lock", GUARD_PASS, "free");
}

void deploy_guard_dirty_tree(const struct deploy_plan *p, const struct ledger_state *st,
			     struct guard_verdict *v)
{
	const struct deploy_facts *f = p->facts;

	(void)st;
	if (f->dirty_error) {
		guard_set(v, "dirty-tree", GUARD_UNKNOWN, "cannot read the checkout status: %s",
			  f->dirty_errmsg);
	} else if (f->dirty.n && f->move_pending) {
		_cleanup_free_ char *list = strv_join(&f->dirty, ", ");
		char on[VIEW_OP_NAME_MAX];

		guard_set(
		    v, "dirty-tree", GUARD_UNKNOWN,
		    "a checkout move of operation %s (%.12s -> %.12s) was left unfinished: "
		    "the deploy puts back what it wrote first, then checks what is left of: %s",
		    view_op_name(f->move.op, on), f->move.from, f->move.to, list);
	} else if (f->dirty.n) {
		_cleanup_free_ char *list = strv_join(&f->dirty, ", ");
		guard_set(v, "dirty-tree", GUARD_REFUSE,
			  "the checkout '%s' has local changes: %s; commit, stash or remove them, "
			  "or allow untracked paths with [target] allow_untracked",
			  p->cfg->target.checkout, list);
	} else {
		guard_set(v, "dirty-tree", GUARD_PASS, "clean");
	}
}

/* --dry-run, docker: decided from what compose said, as the precheck decides it. */
static void guard_compose_services(const struct deploy_plan *p, const char *name,
				   struct guard_verdict *v)
{
	const struct deploy_compose_facts *d = &p->facts->compose;
	char why[GUARD_REASON_MAX];

	if (d->open_error[0]) {
		guard_set(v, name, GUARD_UNKNOWN, "%s", d->open_error);
		return;
	}
	if (d->config_error[0]) {
		guard_set(v, name, GUARD_REFUSE, "%s", d->config_error);
		return;
	}
	for (size_t i = 0; i < p->scope.nservices; i++) {
		const struct service *s = &p->cfg->services[p->scope.services[i]];
		if (!strv_contains(&d->services, s->compose)) {
			compose_undefined_why(why, sizeof(why), s->compose, s->name, d->file,
					      &d->services);
			guard_set(v, name, GUARD_REFUSE, "%s", why);
			return;
		}
	}
	guard_set(v, name, GUARD_PASS,
		  "every compose service in scope is defined in '%s' (as 'compose config' reads "
		  "it now)",
		  d->file);
}

void deploy_guard_units(const struct deploy_plan *p, const struct ledger_state *st,
			struct guard_verdict *v)
{
	const char *name = p->runtime == LEDGER_RT_NATIVE ? "unit-missing" : "service-missing";

	const struct deploy_facts *f = p->facts;

	(void)st;
	if (!p->units_checked && f->units_read && p->runtime == LEDGER_RT_NATIVE) {
		/* --dry-run: decided from the unit files; the manager is not asked */
		if (f->units_error[0])
			guard_set(v, name, GUARD_REFUSE, "%s", f->units_error);
		else if (f->units_missing[0])
			guard_set(v, name, GUARD_REFUSE, "%s", f->units_missing);
		else
			guard_set(
			    v, name, GUARD_PASS,
			    "every unit in scope has its file in %s%s%s; the precheck also "
			    "asks the manager that each is loaded (a unit file systemd cannot "
			    "parse is not)",
			    f->units_dir,
			    f->units_stale[0] ? "; not as 'shiplog units install' writes "
						"them now: "
					      : ", as 'shiplog units install' writes them",
			    f->units_stale);
	} else if (!p->units_checked && f->compose.read && p->runtime == LEDGER_RT_DOCKER)
		guard_compose_services(p, name, v);
	else if (!p->units_checked)
		guard_set(v, name, GUARD_UNKNOWN, "the %s runtime is asked in the precheck",
			  ledger_runtime_name(p->runtime));
	else if (p->units_why[0])
		guard_set(v, name, GUARD_REFUSE, "%s", p->units_why);
	else
		guard_set(v, name, GUARD_PASS, "every %s in scope exists",
			  p->runtime == LEDGER_RT_NATIVE ? "unit" : "compose service");
}

void deploy_guard_ownership(const struct deploy_plan *p, const struct ledger_state *st,
			    struct guard_verdict *v)
{
	struct rollout ro = {.cfg = p->cfg, .runtime = p->runtime, .plan = p->scope};
	char why[GUARD_REASON_MAX];

	if (!st) {
		guard_set(v, "ownership", GUARD_UNKNOWN, "the ledger was not read");
		return;
	}
	/* without take_over, ownership_check only reads st */
	if (ownership_check(&ro, st, false, why, sizeof(why)) == 0)
		guard_set(v, "ownership", GUARD_PASS,
			  "no service in scope is owned by another "
			  "runtime");
	else if (p->args->take_over)
		guard_set(v, "ownership", GUARD_PASS,
			  "--take-over: the other runtime stops them just before the restart");
	else
		guard_set(v, "ownership", GUARD_REFUSE, "%s", why);
	strv_free(&ro.changed);
}

void deploy_guard_quarantine(const struct deploy_plan *p, const struct ledger_state *st,
			     struct guard_verdict *v)
{
	const struct ledger_quarantine *q;
	char when[64], on[VIEW_OP_NAME_MAX];

	if (!st || !p->target[0]) {
		guard_set(v, "quarantine", GUARD_UNKNOWN, "%s",
			  !st ? "the ledger was not read" : "the target is known after the fetch");
		return;
	}
	q = ledger_state_quarantined(st, p->target);
	if (!q) {
		guard_set(v, "quarantine", GUARD_PASS, "%.12s is not quarantined", p->target);
		return;
	}
	format_time(q->time_ns, when, sizeof(when));
	if (p->args->force)
		guard_set(v, "quarantine", GUARD_PASS,
			  "--force: deploying %.12s although it was rolled back (%s)", p->target,
			  q->reason);
	else
		guard_set(v, "quarantine", GUARD_REFUSE,
			  "commit %.12s was rolled back at %s (operation %s: %s); deploy a newer "
			  "commit, or pass --force to deploy it anyway",
			  p->target, when, view_op_name(q->op, on), q->reason);
}

void deploy_guard_config(const struct deploy_plan *p, const struct ledger_state *st,
			 struct guard_verdict *v)
{
	const struct config *t = p->target_cfg;

	(void)st;
	if (!p->target_cfg_read) {
		guard_set(v, "config", GUARD_UNKNOWN,
			  "the target commit's shiplog.conf is read after the fetch");
		return;
	}
	if (p->target_cfg_error[0]) {
		guard_set(v, "config", GUARD_REFUSE, "%s", p->target_cfg_error);
		return;
	}
	for (size_t i = 0; t && i < p->scope.nservices; i++) {
		const struct service *s = &p->cfg->services[p->scope.services[i]];
		int k = config_service_index(t, s->name);
		if (k < 0) {
			guard_set(v, "config", GUARD_REFUSE,
				  "service '%s' is in scope but not in %s; deploy it without that "
				  "service (--pieces)",
				  s->name, p->target_cfg_name);
			return;
		}
		if (t->services[k].role != s->role) {
			guard_set(v, "config", GUARD_REFUSE,
				  "service '%s' has another role in %s; deploy that change in two "
				  "steps (first the config, then the services)",
				  s->name, p->target_cfg_name);
			return;
		}
	}
	if (!t)
		guard_set(v, "config", GUARD_PASS, "%s",
			  p->target_cfg_note[0] ? p->target_cfg_note
						: "the config this deploy started with applies");
	else if (!streq(t->digest, p->cfg->digest))
		guard_set(v, "config", GUARD_PASS,
			  "%s differs from the config this deploy started with (sha256 %.12s, was "
			  "%.12s): its services' units, builds and health checks apply; [project], "
			  "[target], [git], [public] and [policy] stay as started",
			  p->target_cfg_name, t->digest, p->cfg->digest);
	else
		guard_set(v, "config", GUARD_PASS,
			  "%s is the config this deploy started with (sha256 %.12s)",
			  p->target_cfg_name, t->digest);
}

typedef void (*deploy_guard_fn)(const struct deploy_plan *p, const struct ledger_state *st,
				struct guard_verdict *v);

/* In the order the real run checks them. */
static const deploy_guard_fn deploy_guards[] = {
    deploy_guard_edge,	    deploy_guard_lock,	     deploy_guard_dirty_tree, deploy_guard_units,
    deploy_guard_ownership, deploy_guard_quarantine, deploy_guard_config,
};

/* (Re)computes every verdict: at planning, and as the run learns the state, the target, the
 * runtime's answer and the target's config. */
void deploy_plan_guards(struct deploy_plan *p, const struct ledger_state *st)
{
	p->guards.n = 0;
	for (size_t i = 0; i < ELEMENTSOF(deploy_guards); i++)
		deploy_guards[i](p, st, &p->guards.v[p->guards.n++]);
}

/* ---- the plan (pure) ------------------------------------------------------------------------ */

static struct deploy_build *add_build(struct deploy_plan *p, const char *service,
				      const char *command, enum guard_result runs, const char *fmt,
				      ...) __attribute__((format(printf, 5, 6)));

static struct deploy_build *add_build(struct deploy_plan *p, const char *service,
				      const char *command, enum guard_result runs, const char *fmt,
				      ...)
{
	struct deploy_build *b;
	va_list ap;

	if (p->nbuilds >= DEPLOY_MAX_BUILDS)
		return NULL;
	b = &p->builds[p->nbuilds++];
	b->service = service;
	b->command = command;
	b->runs = runs;
	va_start(ap, fmt);
	vsnprintf(b->why, sizeof(b->why), fmt, ap);
	va_end(ap);
	return b;
}

/* The service named like cfg's service i in the config the deploy applies (the target
 * commit's once read, else cfg's). */
static const struct service *applied_service(const struct deploy_plan *p, size_t i)
{
	const struct config *t = p->target_cfg;
	int k = t ? config_service_index(t, p->cfg->services[i].name) : -1;

	return k >= 0 ? &t->services[k] : &p->cfg->services[i];
}

/* The image of a compose service in scope, as the docker runtime's build decides it: with a
 * build section, its tag for the target is built unless the engine has it; without, the image
 * is used as written. Decided from the compose facts of --dry-run when they are for this
 * target; else not decided here (the run asks compose and the engine after the move). */
static void plan_image(struct deploy_plan *p, const struct service *s)
{
	const struct deploy_compose_facts *d = &p->facts->compose;
	const char *unread = !d->read		  ? "the plan did not ask compose and the engine"
			     : d->open_error[0]	  ? d->open_error
			     : d->config_error[0] ? d->config_error
						  : NULL;
	char tag[COMPOSE_TAG_MAX];

	if (p->args->no_build) {
		add_build(p, s->name, NULL, GUARD_REFUSE, "--no-build");
	} else if (unread || !p->target[0] || !streq(d->target, p->target)) {
		add_build(p, s->name, NULL, GUARD_UNKNOWN,
			  "the image of compose service '%s' for the target commit is built unless "
			  "the Docker engine has it already; decided after the fetch (%s)",
			  s->compose,
			  unread	 ? unread
			  : p->target[0] ? "the plan asked for another commit"
					 : "the target is not known yet");
	} else if (d->dir_changed) {
		add_build(p, s->name, NULL, GUARD_UNKNOWN,
			  "commit %.12s changes the compose directory: compose service '%s' is "
			  "read again after the checkout moves, and its image built unless the "
			  "engine has it",
			  p->target, s->compose);
	} else if (!strv_contains(&d->built, s->compose)) {
		add_build(p, s->name, NULL, GUARD_REFUSE,
			  "compose service '%s' has no build section: its image is used as written",
			  s->compose);
	} else {
		compose_image_tag(p->cfg->docker.project, s->compose, p->target, tag, sizeof(tag));
		if (!d->images_read)
			add_build(p, s->name, NULL, GUARD_UNKNOWN, "image %s: %s", tag,
				  d->images_error);
		else if (strv_contains(&d->images, tag))
			add_build(p, s->name, NULL, GUARD_REFUSE,
				  "image %s exists in the Docker engine: not rebuilt", tag);
		else
			add_build(p, s->name, NULL, GUARD_PASS,
				  "image %s is not in the Docker engine: compose builds it", tag);
	}
}

/* What builds and why: the shared build's decision (build_decide over the facts), the
 * services' builds in scope (all of them for a new release), docker's images. The lists come
 * from the config the deploy applies (the target commit's, once read). */
static void plan_builds(struct deploy_plan *p)
{
	const struct config *ec = p->target_cfg ? p->target_cfg : p->cfg;
	const struct deploy_args *a = p->args;
	const struct strv *shared = &ec->native.build;
	const struct build_facts *bf = &p->facts->build;
	bool built = p->releases && bf->release_built;

	p->nbuilds = 0;
	if (p->runtime != LEDGER_RT_NATIVE) {
		for (size_t i = 0; i < p->scope.nservices; i++)
			plan_image(p, &p->cfg->services[p->scope.services[i]]);
		return;
	}
	build_decide(&ec->native.build_when_changed, a->build, p->target, bf, &p->shared_build);
	if (a->no_build) {
		p->shared_build.run = false;
		strlcpy_(p->shared_build.why, "--no-build", sizeof(p->shared_build.why));
	} else if (built) {
		p->shared_build.run = false;
		snprintf(p->shared_build.why, sizeof(p->shared_build.why),
			 "release %.12s is already built", p->target);
	}
	for (size_t i = 0; i < shared->n; i++)
		add_build(p, NULL, shared->v[i], p->shared_build.run ? GUARD_PASS : GUARD_REFUSE,
			  "%s", p->shared_build.why);
	for (size_t i = 0; i < p->cfg->nservices; i++) {
		const struct service *s = applied_service(p, i);
		bool in = false;
		for (size_t j = 0; j < p->scope.nservices; j++)
			in = in || p->scope.services[j] == i;
		if (!in && !p->releases)
			continue;
		for (size_t j = 0; j < s->build.n; j++) {
			if (a->no_build)
				add_build(p, s->name, s->build.v[j], GUARD_REFUSE, "--no-build");
			else if (built)
				add_build(p, s->name, s->build.v[j], GUARD_REFUSE,
					  "release %.12s is already built", p->target);
			else if (p->releases)
				add_build(p, s->name, s->build.v[j], GUARD_PASS,
					  "a new release builds every service");
			else
				add_build(p, s->name, s->build.v[j], GUARD_PASS, "%s is in scope",
					  s->name);
		}
	}
}

void deploy_plan_builds(struct deploy_plan *p)
{
	plan_builds(p);
}

static void plan_flags(struct deploy_plan *p)
{
	const struct deploy_args *a = p->args;
	size_t nf = 0;

	if (a->fast)
		p->flags[nf++] = "fast";
	if (a->no_build)
		p->flags[nf++] = "no-build";
	if (a->build)
		p->flags[nf++] = "build";
	if (a->force_recreate)
		p->flags[nf++] = "force-recreate";
	if (a->edge_ready_flag)
		p->flags[nf++] = "edge-ready";
	if (a->force)
		p->flags[nf++] = "force";
	if (a->take_over)
		p->flags[nf++] = "take-over";
	if (a->reset_to_remote)
		p->flags[nf++] = "reset-to-remote";
	if (p->facts->forwarded_from) {
		p->forwarded_flag = xasprintf("forwarded-from=%s", p->facts->forwarded_from);
		p->flags[nf++] = p->forwarded_flag;
	}
	p->nflags = nf;
}

int deploy_plan_scope(const struct config *cfg, const struct deploy_args *a, struct plan *scope,
		      char *err, size_t errlen)
{
	int r;

	if (a->reset_to_remote && a->mode == DEPLOY_REF) {
		snprintf(
		    err, errlen,
		    "--reset-to-remote resets the checkout's branch, and 'deploy REF' has none; "
		    "use it with 'deploy main' or 'deploy branch NAME'");
		return SL_EUSAGE;
	}
	r = plan_scope(cfg, &a->scope, a->runtime, a->fast, scope, err, errlen);
	if (r < 0)
		return r;
	if (scope->touches_edge && str_empty(cfg->public_.app_url)) {
		snprintf(
		    err, errlen,
		    "[public] app_url is required when an edge role is in scope (%s); set it in "
		    "%s or DEPLOY_PUBLIC_APP_URL",
		    scope->scope_desc, cfg->path);
		return SL_EUSAGE;
	}
	return 0;
}

int deploy_plan(const struct config *cfg, const struct deploy_args *a, struct deploy_facts *f,
		const struct ledger_state *st, struct deploy_plan *p, char *err, size_t errlen)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->args = a;
	p->facts = f;
	p->runtime = a->runtime;
	r = deploy_plan_scope(cfg, a, &p->scope, err, errlen);
	if (r < 0)
		return r;
	p->releases = cfg->target.layout == LAYOUT_RELEASES && a->runtime == LEDGER_RT_NATIVE;
	p->ref = a->target ? a->target : (a->mode == DEPLOY_MAIN ? cfg->git.main_branch : "");
	p->target_spec = target_spec(a, cfg, f->remote);
	strlcpy_(p->target, f->target, sizeof(p->target));
	if (a->mode == DEPLOY_MAIN)
		strlcpy_(p->branch, cfg->git.main_branch, sizeof(p->branch));
	else if (a->mode == DEPLOY_BRANCH || a->mode == DEPLOY_CURRENT_BRANCH)
		strlcpy_(p->branch, a->target, sizeof(p->branch));
	plan_flags(p);
	plan_builds(p);
	deploy_plan_guards(p, st);
	return 0;
}

void deploy_plan_release(struct deploy_plan *p)
{
	free(p->target_spec);
	free(p->forwarded_flag);
	p->target_spec = p->forwarded_flag = NULL;
}
