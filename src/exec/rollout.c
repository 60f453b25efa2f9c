/* SPDX-License-Identifier: MIT */
#include "rollout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "health.h"
#include "out.h"
#include "releases.h"
#include "util.h"
#include "view.h"

#define HEALTH_INTERVAL_NS 200000000LL

const struct runtime_ops *runtime_ops_for(int runtime)
{
	return runtime == LEDGER_RT_DOCKER ? &docker_runtime_ops : &native_runtime_ops;
}

void rollout_release(struct rollout *ro)
{
	if (ro->ops && ro->ops->close)
		ro->ops->close(ro);
	strv_free(&ro->changed);
	free(ro->workdir);
	ro->workdir = NULL;
}

const char *rollout_workdir(const struct rollout *ro)
{
	return ro->workdir ? ro->workdir : repo_workdir(ro->repo);
}

const struct service *rollout_service(const struct rollout *ro, size_t i)
{
	return &ro->cfg->services[ro->plan.services[i]];
}

int rollout_open_runtime(struct rollout *ro)
{
	if (!ro->ops)
		ro->ops = runtime_ops_for(ro->runtime);
	return ro->ops->open(ro);
}

int rollout_precheck_runtime(struct rollout *ro, char *why, size_t whylen)
{
	return ro->ops->precheck(ro, why, whylen);
}

/* [target] carry: copied from the previous release (the one `current` names) into a new one,
 * when that release was built, before the build. */
static void carry_from_previous(struct rollout *ro, const char *path)
{
	const struct strv *carry = &ro->cfg->target.carry;
	bool ok = true;

	if (!ro->prev[0] || streq(ro->prev, ro->target) || !releases_is_built(ro->cfg, ro->prev)) {
		char *list = strv_join(carry, ", ");
		out_say("carry: no built previous release to copy %s from", list);
		free(list);
		return;
	}
	for (size_t i = 0; i < carry->n; i++) {
		_cleanup_free_ char *src = releases_path(ro->cfg, ro->prev);
		_cleanup_free_ char *from = xasprintf("%s/%s", src, carry->v[i]);
		_cleanup_free_ char *to = xasprintf("%s/%s", path, carry->v[i]);
		char *argv[] = {"cp", "-a", "--reflink=auto", from, to, NULL};
		struct releases_carry_result res;
		char err[512], note[128], d[32];
		int64_t t0 = mono_ns();
		int r = releases_carry(ro->cfg, ro->prev, ro->target, carry->v[i], &res, err,
				       sizeof(err));

		if (res.skipped) {
			out_say("carry %s: skipped, %s", carry->v[i], res.skipped);
			continue;
		}
		snprintf(note, sizeof(note), "# %u files as %s", res.files,
			 releases_carry_how_name(res.how));
		op_record_step(ro->op, "carry", argv, path, r < 0 ? 1 : 0, mono_ns() - t0, note);
		format_duration(mono_ns() - t0, d, sizeof(d));
		if (r < 0) {
			log_warn("%s; the build starts without it", err);
			ok = false;
			continue;
		}
		out_say("carry %s from %.12s: %u files as %s in %s", carry->v[i], ro->prev,
			res.files, releases_carry_how_name(res.how), d);
	}
	if (ok)
		strlcpy_(ro->carried_from, ro->prev, sizeof(ro->carried_from));
}

/* Releases layout: write the target's release (once) and build there; `current` is switched
 * by rollout_restart, just before the restarts. */
static int prepare_release(struct rollout *ro)
{
	_cleanup_free_ char *path = releases_path(ro->cfg, ro->target);
	char *argv[] = {"git", "worktree-export", ro->target, path, NULL};
	bool created = false;
	char err[512];
	int64_t t0;
	int r;

	r = op_durable(ro->op);
	if (r < 0)
		return r;
	t0 = mono_ns();
	r = releases_ensure(ro->repo, ro->cfg, ro->target, &created, &ro->release_built, err,
			    sizeof(err));
	if (created || r < 0)
		op_record_step(ro->op, "release", argv, repo_workdir(ro->repo), r < 0 ? 1 : 0,
			       mono_ns() - t0, "# via libgit2: the commit's tree, once per commit");
	if (r < 0) {
		op_fail(ro->op, "%s", err);
		log_error("%s", err);
		return SL_EFAILED;
	}
	free(ro->workdir);
	ro->workdir = xstrdup(path);
	strv_free(&ro->changed);
	if (ro->prev[0] && !streq(ro->prev, ro->target))
		repo_changed_paths(ro->repo, ro->prev, ro->target, &ro->changed);
	out_say("release %s: %s", path,
		created		    ? "written"
		: ro->release_built ? "exists and is built"
				    : "exists, not built");
	ro->carried_from[0] = '\0';
	if (created && ro->cfg->target.carry.n)
		carry_from_previous(ro, path);
	if (ro->cfg->target.shared.n) {
		struct strv notes = {0};
		r = releases_link_shared(ro->cfg, ro->target, &notes, err, sizeof(err));
		for (size_t i = 0; i < notes.n; i++)
			out_say("%s", notes.v[i]);
		strv_free(&notes);
		if (r < 0) {
			op_fail(ro->op, "%s", err);
			log_error("%s", err);
			return SL_EFAILED;
		}
	}
	return 0;
}

/* Services without a link of their own (a checkout that ran from the single `current` link, or
 * services no deploy has reached yet) get one first, at what they run now: a scoped switch
 * must not leave them on a link that moves with every deploy. */
static void adopt_links(struct rollout *ro)
{
	struct ledger_state *st = NULL;
	struct strv adopted = {0};
	char err[512];

	if (!ro->state) {
		st = xcalloc(1, sizeof(*st));
		if (ledger_state_at(ro->op->lg, UINT64_MAX, st) < 0) {
			free(st);
			st = NULL;
		}
	}
	if (releases_adopt(ro->cfg, ro->state ? ro->state : st, &adopted, err, sizeof(err)) < 0)
		log_warn("%s", err);
	for (size_t i = 0; i < adopted.n; i++) {
		char c[REPO_OID_HEX] = "";
		releases_service_commit(ro->cfg, adopted.v[i], c);
		out_say("release link of %s: created at %.12s (what it runs now)", adopted.v[i], c);
	}
	strv_free(&adopted);
	free(st);
}

static int switch_release(struct rollout *ro)
{
	struct ledger_event ev = {.type = LEDGER_EV_GIT_MOVED};
	_cleanup_free_ char *dir = releases_dir(ro->cfg);
	const char *names[LEDGER_MAX_SERVICES];
	struct strv argv = {0};
	char err[512];
	int64_t t0;
	int r;

	r = op_durable(ro->op);
	if (r < 0)
		return r;
	adopt_links(ro);
	strv_push(&argv, "ln");
	strv_push(&argv, "-sfn");
	strv_push(&argv, ro->target);
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		names[i] = rollout_service(ro, i)->name;
		strv_push_take(&argv, xasprintf("%s/current-%s", dir, names[i]));
	}
	strv_push_take(&argv, xasprintf("%s/current", dir));
	t0 = mono_ns();
	r = releases_switch(ro->cfg, ro->target, names, ro->plan.nservices, err, sizeof(err));
	op_record_step(ro->op, "switch", argv.v, "", r < 0 ? 1 : 0, mono_ns() - t0,
		       "# atomic: a new link renamed over the old, for each service in scope");
	strv_free(&argv);
	if (r < 0) {
		op_fail(ro->op, "%s", err);
		log_error("%s", err);
		return SL_EFAILED;
	}
	ro->moved = true;
	ev.u.git_moved.from = ro->prev;
	ev.u.git_moved.to = ro->target;
	ev.u.git_moved.ref = "";
	ev.u.git_moved.path = ro->workdir;
	ev.u.git_moved.config_digest = ro->config_digest;
	return op_append(ro->op, &ev);
}

void rollout_prune_releases(struct rollout *ro)
{
	struct strv removed = {0};
	char err[512];

	if (!ro->releases)
		return;
	if (!ro->state) {
		log_warn("the ledger state was not read: old releases were not pruned");
		return;
	}
	/* The state read under the lock, before this operation: it protects what ran and was
	 * good before it, a superset of what the state after it protects apart from the commit
	 * this operation switched to, which `current` and the links of its services name. */
	if (releases_prune(ro->cfg, ro->state,
			   ro->cfg->target.keep_releases ? ro->cfg->target.keep_releases : 5,
			   &removed, err, sizeof(err)) < 0)
		log_warn("%s", err);
	for (size_t i = 0; i < removed.n; i++)
		out_say("removed old release %.12s (beyond keep_releases = %u)", removed.v[i],
			ro->cfg->target.keep_releases);
	strv_free(&removed);
}

void rollout_note_shared_checkout(struct rollout *ro)
{
	struct strv changed = {0}, others = {0};
	struct buf note = {0};
	_cleanup_free_ char *list = NULL;
	char *argv[] = {"git", "diff", "--name-only", ro->prev, ro->target, NULL};

	if (ro->releases || !ro->prev[0] || streq(ro->prev, ro->target) ||
	    ro->plan.nservices >= ro->cfg->nservices)
		return;
	for (size_t i = 0; i < ro->cfg->nservices; i++) {
		bool in = false;
		for (size_t j = 0; j < ro->plan.nservices; j++)
			in = in || ro->plan.services[j] == i;
		if (!in)
			strv_push(&others, ro->cfg->services[i].name);
	}
	if (repo_changed_paths(ro->repo, ro->prev, ro->target, &changed) < 0 || !changed.n)
		goto out;
	list = strv_join(&others, ", ");
	buf_printf(&note,
		   "# the checkout is shared: this changes the files under %s (not in scope)"
		   ": %zu path%s:",
		   list, changed.n, changed.n == 1 ? "" : "s");
	for (size_t i = 0; i < changed.n && i < 10; i++)
		buf_printf(&note, " %s", changed.v[i]);
	if (changed.n > 10)
		buf_printf(&note, " ...");
	out_say("note: the in-place checkout is shared by every service: moving it %.12s -> %.12s "
		"changes the files under %s, which keep running %.12s until restarted",
		ro->prev, ro->target, list, ro->prev);
	for (size_t i = 0; i < changed.n && i < 10; i++)
		out_say("  %s", changed.v[i]);
	if (changed.n > 10)
		out_say("  ... and %zu more", changed.n - 10);
	out_say("  ('shiplog status' shows the drift; layout = releases gives each service its own "
		"release)");
	op_record_step(ro->op, "shared-checkout", argv, repo_workdir(ro->repo), 0, 0, note.data);
out:
	buf_free(&note);
	strv_free(&changed);
	strv_free(&others);
}

int rollout_move_checkout(struct rollout *ro)
{
	struct ledger_event ev = {.type = LEDGER_EV_GIT_MOVED};
	struct repo_move mv = {0};
	const char *checkout = repo_workdir(ro->repo);
	char *argv[6];
	_cleanup_free_ char *upstream = NULL;
	int64_t t0;
	int r;

	if (ro->releases)
		return prepare_release(ro);
	if (ro->branch[0] && ro->remote)
		upstream = xasprintf("%s/%s", ro->remote, ro->branch);
	if (ro->branch[0]) {
		argv[0] = "git", argv[1] = "switch", argv[2] = ro->branch, argv[3] = NULL;
		out_argv(argv, "# via libgit2");
		argv[0] = "git", argv[1] = "merge", argv[2] = "--ff-only", argv[3] = ro->target,
		argv[4] = NULL;
		if (ro->reset_to_remote && upstream)
			argv[1] = "reset", argv[2] = "--hard", argv[3] = upstream;
	} else {
		argv[0] = "git", argv[1] = "switch", argv[2] = "--detach", argv[3] = ro->target,
		argv[4] = NULL;
	}
	r = op_durable(ro->op);
	if (r < 0)
		return r;
	/* The intent, in the repository, before a file changes: a checkout killed half way is
	 * put back by the next operation (rollout_recover_checkout). */
	mv.op = ro->op->id;
	strlcpy_(mv.to, ro->target, sizeof(mv.to));
	strlcpy_(mv.ref, ro->branch, sizeof(mv.ref));
	if (repo_head(ro->repo, mv.from, NULL, 0) == 0 && repo_move_begin(ro->repo, &mv) < 0) {
		op_fail(ro->op, "%s", repo_errmsg(ro->repo));
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	t0 = mono_ns();
	r = ro->branch[0]
		? repo_move_branch(ro->repo, ro->branch, ro->target, upstream, ro->reset_to_remote)
		: repo_checkout_detached(ro->repo, ro->target);
	op_record_step(ro->op, "checkout", argv, checkout, r < 0 ? 1 : 0, mono_ns() - t0,
		       "# via libgit2");
	if (r == SL_EREFUSED)
		repo_move_end(ro->repo); /* refused before a file changed */
	if (r == SL_EREFUSED) {
		/* a refusal (a diverged branch, local changes in the way): the caller refuses the
		 * operation and prints op->error, once */
		op_fail(ro->op, "%s", repo_errmsg(ro->repo));
		return r;
	}
	if (r < 0) {
		op_fail(ro->op, "checkout of %.12s failed: %s", ro->target, repo_errmsg(ro->repo));
		log_error("checkout of %.12s failed: %s", ro->target, repo_errmsg(ro->repo));
		return SL_EFAILED;
	}
	ro->moved = true;
	ev.u.git_moved.from = ro->prev;
	ev.u.git_moved.to = ro->target;
	ev.u.git_moved.ref = ro->branch;
	ev.u.git_moved.path = checkout;
	ev.u.git_moved.config_digest = ro->config_digest;
	r = op_append(ro->op, &ev);
	if (r < 0)
		return r;
	repo_move_end(ro->repo); /* complete and recorded */
	out_say("checkout %s: %.12s -> %.12s%s%s", checkout, ro->prev[0] ? ro->prev : "(none)",
		ro->target, ro->branch[0] ? " on " : " (detached)", ro->branch);
	strv_free(&ro->changed);
	if (ro->prev[0] && !streq(ro->prev, ro->target)) {
		r = repo_changed_paths(ro->repo, ro->prev, ro->target, &ro->changed);
		if (r < 0) {
			log_error("cannot diff %.12s..%.12s: %s", ro->prev, ro->target,
				  repo_errmsg(ro->repo));
			return SL_EFAILED;
		}
	}
	return 0;
}

/* The put-back as a "checkout-restore" step: the equivalent `git restore` (the first 10 paths),
 * and the first 200 paths as its output. */
static void restore_record(struct rollout *ro, const struct repo_move *m,
			   const struct strv *restored, bool failed, int64_t duration_ns)
{
	struct strv argv = {0};
	struct buf out = {0};
	char on[VIEW_OP_NAME_MAX], note[256];

	strv_push(&argv, "git");
	strv_push(&argv, "restore");
	strv_push_take(&argv, xasprintf("--source=%s", m->from));
	strv_push(&argv, "--staged");
	strv_push(&argv, "--worktree");
	strv_push(&argv, "--");
	for (size_t i = 0; i < restored->n && i < 10; i++)
		strv_push(&argv, restored->v[i]);
	for (size_t i = 0; i < restored->n && i < 200; i++)
		buf_printf(&out, "%s%s", i ? "\n" : "", restored->v[i]);
	if (restored->n > 200)
		buf_printf(&out, "\n... and %zu more", restored->n - 200);
	snprintf(note, sizeof(note),
		 "# via libgit2: %zu path%s an interrupted checkout (operation %s, %.12s -> "
		 "%.12s) left half moved%s",
		 restored->n, restored->n == 1 ? "" : "s", view_op_name(m->op, on), m->from, m->to,
		 restored->n > 10 ? "; the first 10 shown" : "");
	op_record_check(ro->op, "checkout-restore", argv.v, repo_workdir(ro->repo), failed ? 1 : 0,
			duration_ns, note, out.data ? out.data : "");
	strv_free(&argv);
	buf_free(&out);
}

/* The paths the put-back left alone (kept: "M path" in from, "A path" added), named with how
 * to look at them and drop them. */
static void kept_say(const char *co, const struct repo_move *m, const struct strv *kept)
{
	struct strv in_from = {0}, added = {0}, all_v = {0};
	_cleanup_free_ char *all = NULL, *mod = NULL, *add = NULL, *fix = NULL;

	for (size_t i = 0; i < kept->n; i++)
		strv_push(kept->v[i][0] == 'M' ? &in_from : &added, kept->v[i] + 2);
	for (size_t i = 0; i < in_from.n; i++)
		strv_push(&all_v, in_from.v[i]);
	for (size_t i = 0; i < added.n; i++)
		strv_push(&all_v, added.v[i]);
	all = strv_join(&all_v, " ");
	mod = strv_join(&in_from, " ");
	add = strv_join(&added, " ");
	fix = xasprintf("%s%s%s%s%s%s%s", in_from.n ? "git -C " : "", in_from.n ? co : "",
			in_from.n ? " checkout " : "", in_from.n ? m->from : "",
			in_from.n ? " -- " : "", mod, in_from.n && added.n ? "; " : "");
	log_warn("checkout %s: %zu path%s the interrupted checkout was moving hold changes that "
		 "are neither %.12s's nor %.12s's (someone's own): left as they are: %s",
		 co, all_v.n, all_v.n == 1 ? "" : "s", m->from, m->to, all);
	log_warn("look at them ('git -C %s status -- %s'); to drop them: %s%s%s%s%s; then deploy "
		 "again",
		 co, all, fix, added.n ? "cd " : "", added.n ? co : "", added.n ? " && rm -- " : "",
		 add);
	strv_free(&in_from);
	strv_free(&added);
	strv_free(&all_v);
}

int rollout_recover_checkout(struct rollout *ro)
{
	const char *co = repo_workdir(ro->repo);
	struct strv restored = {0}, kept = {0};
	struct repo_move m;
	char on[VIEW_OP_NAME_MAX];
	char head[REPO_OID_HEX];
	int64_t t0;
	int r;

	r = repo_move_pending(ro->repo, &m);
	if (r < 0)
		log_warn("%s", repo_errmsg(ro->repo));
	if (r <= 0)
		return 0;
	if (repo_head(ro->repo, head, NULL, 0) < 0) {
		log_warn(
		    "an interrupted checkout move was recorded in '%s', but its HEAD cannot be "
		    "read: %s",
		    co, repo_errmsg(ro->repo));
		return 0;
	}
	if (streq(head, m.to) || !streq(head, m.from)) {
		/* HEAD moved: the checkout got to its end (only its record was missing), or
		 * someone moved it by hand since; either way the files are HEAD's business now */
		out_say("checkout %s: the move %.12s -> %.12s of operation %s %s", co, m.from, m.to,
			view_op_name(m.op, on),
			streq(head, m.to) ? "had finished before it stopped: nothing to put back"
					  : "was left unfinished, but HEAD has moved since: left "
					    "as it is");
		repo_move_end(ro->repo);
		return 0;
	}
	r = op_durable(ro->op);
	if (r < 0)
		return r;
	out_say("checkout %s: operation %s stopped while checking out %.12s over %.12s; putting "
		"back its paths to %.12s, the commit HEAD, the ledger and the services are at (the "
		"new commit was neither built nor started)",
		co, view_op_name(m.op, on), m.to, m.from, m.from);
	t0 = mono_ns();
	r = repo_move_undo(ro->repo, &m, &restored, &kept);
	restore_record(ro, &m, &restored, r < 0, mono_ns() - t0);
	if (r < 0) {
		log_warn("%s", repo_errmsg(ro->repo));
	} else if (kept.n) {
		kept_say(co, &m, &kept);
	} else {
		out_say("checkout %s: %zu path%s put back to %.12s", co, restored.n,
			restored.n == 1 ? "" : "s", m.from);
		repo_move_end(ro->repo);
	}
	strv_free(&restored);
	strv_free(&kept);
	return 0;
}

void rollout_check_tree(struct rollout *ro, const char *cmd, struct strv *seen)
{
	char *argv[] = {"git", "status", "--porcelain", "--untracked-files=all", NULL};
	struct strv dirty = {0}, fresh = {0};
	_cleanup_free_ char *lines = NULL, *list = NULL;
	int64_t t0 = mono_ns();

	if (repo_dirty(ro->repo, &ro->cfg->target.allow_untracked, &dirty) < 0) {
		log_warn("cannot read the status of '%s' after the build '%s': %s",
			 repo_workdir(ro->repo), cmd, repo_errmsg(ro->repo));
		return;
	}
	for (size_t i = 0; i < dirty.n; i++)
		if (!strv_contains(seen, dirty.v[i])) {
			strv_push(&fresh, dirty.v[i]);
			strv_push(seen, dirty.v[i]);
		}
	strv_free(&dirty);
	if (!fresh.n)
		return;
	lines = strv_join(&fresh, "\n");
	list = strv_join(&fresh, ", ");
	op_record_check(ro->op, "tree", argv, repo_workdir(ro->repo), 1, mono_ns() - t0,
			"# via libgit2: what the build left in the checkout", lines);
	log_warn("the build '%s' changed the checkout '%s': %s", cmd, repo_workdir(ro->repo), list);
	log_warn("the next deploy will be refused as dirty; have the build write only to ignored "
		 "paths (an output directory listed in .gitignore), keep it from rewriting tracked "
		 "files (e.g. 'npm ci', not 'npm install'), or allow the untracked paths with "
		 "[target] allow_untracked");
	strv_free(&fresh);
}

/* One hook: argv or shell string, in the workdir, with the environment of s (NULL: the
 * global one) and what it is about (SHIPLOG_*). */
static int run_hook(struct rollout *ro, enum hook_point point, const struct service *s,
		    const char *text, const struct strv *secrets)
{
	struct strv argv = {0}, env = {0};
	_cleanup_free_ char *what = NULL;
	char err[256], op[32];
	bool shell;
	int r;

	if (hook_parse(text, &argv, &shell, err, sizeof(err)) < 0) {
		op_fail(ro->op, "hook %s: %s", hook_point_name(point), err);
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	env_collect(ro->cfg, s, &env);
	snprintf(op, sizeof(op), "%llu", (unsigned long long)ro->op->id);
	strv_push_take(&env, xasprintf("SHIPLOG_HOOK=%s", hook_point_name(point)));
	strv_push_take(&env, xasprintf("SHIPLOG_OP=%s", op));
	strv_push_take(&env,
		       xasprintf("SHIPLOG_OP_NUMBER=%llu", (unsigned long long)ro->op->number));
	strv_push_take(&env, xasprintf("SHIPLOG_COMMIT=%s", ro->target));
	strv_push_take(&env, xasprintf("SHIPLOG_PREV_COMMIT=%s", ro->prev));
	strv_push_take(&env, xasprintf("SHIPLOG_SERVICE=%s", s ? s->name : ""));
	strv_push_take(&env,
		       xasprintf("SHIPLOG_UNIT=%s", !s				      ? ""
						    : ro->runtime == LEDGER_RT_DOCKER ? s->compose
										      : s->unit));
	{
		struct buf names = {0};
		for (size_t i = 0; i < ro->plan.nservices; i++)
			buf_printf(&names, "%s%s", i ? "," : "", rollout_service(ro, i)->name);
		strv_push_take(&env,
			       xasprintf("SHIPLOG_SERVICES=%s", names.data ? names.data : ""));
		buf_free(&names);
	}
	what = s ? xasprintf("hook %s %s", hook_point_name(point), s->name)
		 : xasprintf("hook %s", hook_point_name(point));
	r = op_run_shell(ro->op, what, argv.v, rollout_workdir(ro), env.v, secrets);
	strv_free(&argv);
	strv_free(&env);
	return r < 0 ? SL_EFAILED : 0;
}

int rollout_run_hooks(struct rollout *ro, enum hook_point point)
{
	const struct strv *global = &ro->cfg->hooks[point];
	struct strv secrets = {0};
	bool any = global->n > 0;
	int r = 0;

	for (size_t i = 0; i < ro->plan.nservices; i++)
		any = any || rollout_service(ro, i)->hooks[point].n > 0;
	if (!any)
		return 0;
	env_collect_all(ro->cfg, &secrets);
	for (size_t j = 0; j < global->n && r == 0; j++)
		r = run_hook(ro, point, NULL, global->v[j], &secrets);
	for (size_t i = 0; i < ro->plan.nservices && r == 0; i++) {
		const struct service *s = rollout_service(ro, i);
		for (size_t j = 0; j < s->hooks[point].n && r == 0; j++)
			r = run_hook(ro, point, s, s->hooks[point].v[j], &secrets);
	}
	strv_free(&secrets);
	return r;
}

int rollout_build(struct rollout *ro)
{
	if (ro->no_build) {
		out_say("--no-build: skipping the builds");
		return 0;
	}
	return ro->ops->build(ro);
}

int rollout_restart(struct rollout *ro)
{
	if (ro->releases && !ro->links_set) {
		int r = switch_release(ro);
		if (r < 0)
			return r;
	}
	ro->restarted = true;
	return ro->ops->restart(ro);
}

static void record_health(struct rollout *ro, const struct service *s, const char *kind,
			  const char *target, bool ok, uint32_t attempts, int64_t latency,
			  const char *detail, bool cut_short)
{
	struct ledger_event ev = {.type = LEDGER_EV_HEALTH_CHECKED};

	ev.u.health_checked.service = s ? s->name : "";
	ev.u.health_checked.runtime = ro->runtime;
	ev.u.health_checked.kind = kind;
	ev.u.health_checked.target = target;
	ev.u.health_checked.ok = ok;
	ev.u.health_checked.attempts = attempts;
	ev.u.health_checked.latency_ns = latency;
	ev.u.health_checked.detail = detail;
	ev.u.health_checked.cut_short = cut_short;
	op_append(ro->op, &ev);
}

void rollout_record_health(struct rollout *ro, const struct service *s, const char *kind,
			   const char *target, bool ok, uint32_t attempts, int64_t latency,
			   const char *detail)
{
	record_health(ro, s, kind, target, ok, attempts, latency, detail, false);
}

void rollout_record_restart(struct rollout *ro, const struct service *s, const char *unit,
			    const char *result, int64_t duration_ns, const char *before,
			    const char *after)
{
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_RESTARTED};
	char envd[65];

	env_digest(ro->cfg, s, envd);
	ev.u.unit_restarted.env = envd;
	ev.u.unit_restarted.service = s->name;
	ev.u.unit_restarted.runtime = ro->runtime;
	ev.u.unit_restarted.unit = unit;
	ev.u.unit_restarted.result = result;
	ev.u.unit_restarted.duration_ns = duration_ns;
	ev.u.unit_restarted.before = before;
	ev.u.unit_restarted.after = after;
	ev.u.unit_restarted.commit = ro->target;
	op_append(ro->op, &ev);
}

static int check_one(struct rollout *ro, const struct service *s, const struct health_spec *h,
		     const char *kind_override)
{
	struct health_result res;
	int64_t t0 = mono_ns();
	char lat[32];

	health_check(h, ro->cfg->policy.health_timeout_ns, HEALTH_INTERVAL_NS, rollout_workdir(ro),
		     &res);
	op_waited(ro->op, mono_ns() - t0);
	rollout_record_health(ro, s, kind_override ? kind_override : health_kind_name(h->kind),
			      h->target, res.ok, res.attempts, res.latency_ns, res.detail);
	format_duration(res.latency_ns, lat, sizeof(lat));
	out_say("%s %s %s %s: %s (%u attempt%s, %s)", res.ok ? "ok" : "FAIL",
		s ? s->name : "public", kind_override ? kind_override : health_kind_name(h->kind),
		h->target, res.detail, res.attempts, res.attempts == 1 ? "" : "s", lat);
	if (!res.ok) {
		op_fail(ro->op, "%s check %s failed: %s", s ? s->name : "public", h->target,
			res.detail);
		return SL_EFAILED;
	}
	return 0;
}

/* Records and prints one check of a concurrent verify; `first` is the check whose failure ended
 * the others (NULL when none failed for good). */
static void record_job(struct rollout *ro, const struct service *s, const struct health_job *j,
		       const struct service *first_s, const struct health_job *first)
{
	const char *kind = health_kind_name(j->spec->kind);
	char lat[32], detail[sizeof(j->res.detail) + 256];

	format_duration(j->res.latency_ns, lat, sizeof(lat));
	if (j->res.cut_short && first)
		snprintf(detail, sizeof(detail),
			 "cut short: %s check %s failed first; last attempt: %s", first_s->name,
			 first->spec->target, j->res.detail);
	else if (j->res.cut_short)
		snprintf(detail, sizeof(detail), "cut short: interrupted; last attempt: %s",
			 j->res.detail);
	else
		snprintf(detail, sizeof(detail), "%s", j->res.detail);
	record_health(ro, s, kind, j->spec->target, j->res.ok, j->res.attempts, j->res.latency_ns,
		      detail, j->res.cut_short);
	out_say("%s %s %s %s: %s (%u attempt%s, %s)",
		j->res.ok	   ? "ok"
		: j->res.cut_short ? "CUT"
				   : "FAIL",
		s->name, kind, j->spec->target, detail, j->res.attempts,
		j->res.attempts == 1 ? "" : "s", lat);
}

/* The last lines of the services in scope after verify (runtime_ops.show_logs): all of them
 * when it passed, or the one service `failed` when a check of it failed first (NULL: none). */
static void verify_logs(struct rollout *ro, bool ok, const struct service *failed)
{
	size_t idx[LEDGER_MAX_SERVICES], n = 0;

	if (!ro->ops->show_logs || ro->fast)
		return;
	for (size_t i = 0; i < ro->plan.nservices && n < LEDGER_MAX_SERVICES; i++)
		if (ok || rollout_service(ro, i) == failed)
			idx[n++] = i;
	if (n)
		ro->ops->show_logs(ro, idx, n);
}

int rollout_verify(struct rollout *ro)
{
	struct health_job *jobs;
	const struct service **owner;
	size_t n = 0, k = 0, first = SIZE_MAX;
	bool cut = false;
	int64_t t0;
	int r;

	r = ro->ops->verify(ro);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ro->plan.nservices; i++)
		n += rollout_service(ro, i)->nhealth;
	if (!n) {
		verify_logs(ro, true, NULL);
		return 0;
	}
	/* Every check of every service at once, against one deadline: a failed deploy waits for
	 * the first check that fails for good, not for the sum of the timeouts. */
	jobs = xcalloc(n, sizeof(*jobs));
	owner = xcalloc(n, sizeof(*owner));
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = rollout_service(ro, i);
		for (size_t j = 0; j < s->nhealth; j++, k++) {
			jobs[k].spec = &s->health[j];
			owner[k] = s;
		}
	}
	t0 = mono_ns();
	op_waiting(ro->op, "timeout", t0 + ro->cfg->policy.health_timeout_ns,
		   "health: %zu check%s of %zu service%s", n, n == 1 ? "" : "s", ro->plan.nservices,
		   ro->plan.nservices == 1 ? "" : "s");
	health_check_all(jobs, n, ro->cfg->policy.health_timeout_ns, HEALTH_INTERVAL_NS,
			 rollout_workdir(ro), &op_interrupted);
	op_waiting(ro->op, NULL, 0, NULL);
	op_waited(ro->op, mono_ns() - t0);
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].res.cut_short)
			cut = true;
		else if (!jobs[i].res.ok &&
			 (first == SIZE_MAX || jobs[i].ended_ns < jobs[first].ended_ns))
			first = i;
	}
	if (first != SIZE_MAX)
		op_fail(ro->op, "%s check %s failed: %s", owner[first]->name,
			jobs[first].spec->target, jobs[first].res.detail);
	else if (cut)
		op_fail(ro->op, "interrupted during the health checks");
	for (size_t i = 0; i < n; i++)
		record_job(ro, owner[i], &jobs[i], first == SIZE_MAX ? NULL : owner[first],
			   first == SIZE_MAX ? NULL : &jobs[first]);
	if (first != SIZE_MAX || cut)
		r = SL_EFAILED;
	verify_logs(ro, r == 0, first == SIZE_MAX ? NULL : owner[first]);
	free(owner);
	free(jobs);
	return r;
}

/* The first service in scope with that role: public checks are recorded as its evidence. */
static const struct service *first_with_role(const struct rollout *ro, enum role role)
{
	for (size_t i = 0; i < ro->plan.nservices; i++)
		if (rollout_service(ro, i)->role == role)
			return rollout_service(ro, i);
	return NULL;
}

int rollout_public_verify(struct rollout *ro)
{
	const struct config *cfg = ro->cfg;
	int r = 0;

	if (ro->plan.web_in_scope && !str_empty(cfg->public_.app_url)) {
		struct health_spec h = {.kind = HEALTH_HTTP_HEAD, .target = cfg->public_.app_url};
		r = check_one(ro, first_with_role(ro, ROLE_WEB), &h, "public");
	} else if (!ro->plan.web_in_scope) {
		out_say("public app check skipped: web is not in scope");
	}
	if (ro->plan.api_in_scope) {
		if (!str_empty(cfg->public_.api_health_url)) {
			struct health_spec h = {.kind = HEALTH_HTTP_GET,
						.target = cfg->public_.api_health_url};
			int k = check_one(ro, first_with_role(ro, ROLE_API), &h, "public");
			if (k < 0)
				r = k;
		} else {
			out_say("public API check skipped: set [public] api_health_url or "
				"DEPLOY_PUBLIC_API_HEALTH_URL to check the API through the edge");
		}
	}
	return r;
}
