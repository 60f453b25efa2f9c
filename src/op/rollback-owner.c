/* SPDX-License-Identifier: MIT */
/* A rollback across a cut-over: the previous owner of a service whose newest change was a
 * cut-over is put back (the ledger knows the operation that made the owner, owner_op), through
 * the cut-over's own move. See rollback.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "cutover.h"
#include "out.h"
#include "rollback.h"
#include "util.h"
#include "view.h"

static void note_owner(struct rollback_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line the plan says before it runs. */
static void note_owner(struct rollback_plan *p, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		abort();
	va_end(ap);
	strv_push_take(&p->notes, line);
}

static int other_runtime(int runtime)
{
	return runtime == LEDGER_RT_NATIVE ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;
}

/* The cut-over a plain rollback undoes for ss, or 0: the operation that made its owner is also
 * the newest whose verify passed for it there (no deploy since). */
static uint64_t newest_cutover(const struct ledger_service_state *ss)
{
	const struct ledger_service_runtime *rt;

	if (!ss || ss->owner < 0 || !ss->owner_op)
		return 0;
	rt = &ss->rt[ss->owner];
	return rt->ngood && rt->good[0].op == ss->owner_op ? ss->owner_op : 0;
}

/* Where o's new owner starts from. In place: the checkout, moved to the commit first when it
 * holds another. Releases: native from the commit's release (written and built first when it is
 * not built); docker reads compose in that release when it exists, else in the checkout (moved
 * to the commit first). */
static void owner_tree(const struct config *cfg, const struct rollback_inputs *in,
		       struct rollback_owner *o)
{
	const struct rollback_release *rel = NULL;

	for (size_t k = 0; k < in->nreleases && !rel; k++)
		if (streq(in->releases[k].commit, o->commit))
			rel = &in->releases[k];
	o->releases = cfg->target.layout == LAYOUT_RELEASES;
	o->release_exists = o->releases && rel && rel->exists;
	o->release_built = o->releases && rel && rel->built;
	o->checkout_moves = (!o->releases || (o->to == LEDGER_RT_DOCKER && !o->release_exists)) &&
			    in->checkout[0] && !streq(in->checkout, o->commit);
}

static void add_owner(struct rollback_plan *p, const struct config *cfg,
		      const struct rollback_inputs *in, size_t service, int from, int to,
		      const char *commit, const char *back, uint64_t cutover)
{
	struct rollback_owner *o = &p->owners[p->nowners++];

	o->service = service;
	o->from = from;
	o->to = to;
	o->cutover = cutover;
	strlcpy_(o->commit, commit, sizeof(o->commit));
	strlcpy_(o->back, back, sizeof(o->back));
	owner_tree(cfg, in, o);
	if (cutover > p->reverts)
		p->reverts = cutover;
}

/* --to a point: a service another runtime owns now than then goes back to the owner it had,
 * at the commit that one ran then. true when the service leaves the scope (an owner move, or
 * left with a note); false when its commit moves on the rollback's runtime as before. */
static bool owner_at_point(struct rollback_plan *p, const struct config *cfg,
			   const struct rollback_inputs *in, size_t service)
{
	const char *name = cfg->services[service].name, *rt = ledger_runtime_name(p->runtime);
	const struct ledger_service_state *now = ledger_state_service(in->now, name);
	const struct ledger_service_state *then =
	    in->to.then ? ledger_state_service(in->to.then, name) : NULL;
	const char *commit;
	char on[VIEW_OP_NAME_MAX];

	if (!now || !then || then->owner < 0)
		return false; /* no owner then: its commit on the runtime, as before */
	commit = then->rt[then->owner].commit;
	if (now->owner < 0 && commit[0]) {
		/* stopped since (a cut-over or a rollback's owner move killed between its stop
		 * and its start): started on the owner of then, the other runtime stopped first
		 * (never both running); a failed start leaves it stopped, as it was */
		add_owner(p, cfg, in, service, other_runtime(then->owner), then->owner, commit, "",
			  0);
		p->owners[p->nowners - 1].stopped = true;
		note_owner(p,
			   "%s: owned by %s at that point and stopped now (by no runtime): "
			   "started on %s at %.12s",
			   name, ledger_runtime_name(then->owner), ledger_runtime_name(then->owner),
			   commit);
		return true;
	}
	if (now->owner < 0 || now->owner == then->owner) {
		if (then->owner == p->runtime)
			return false; /* restarted there, as before (which makes it the owner) */
		note_owner(p,
			   "%s is owned by %s at that point and %s now, not by %s: left as it is "
			   "(started on %s it would run twice); 'shiplog rollback --runtime %s "
			   "--to %s' moves it",
			   name, ledger_runtime_name(then->owner),
			   now->owner < 0 ? "by no runtime" : "still", rt, rt,
			   ledger_runtime_name(then->owner), in->to.text);
		return true;
	}
	if (!commit[0]) {
		note_owner(p,
			   "%s ran on %s at that point but the ledger holds no commit for it "
			   "there: left as it is; 'shiplog cutover %s --to %s' moves it",
			   name, ledger_runtime_name(then->owner), name,
			   ledger_runtime_name(then->owner));
		return true;
	}
	add_owner(p, cfg, in, service, now->owner, then->owner, commit, now->rt[now->owner].commit,
		  now->owner_op);
	note_owner(p, "%s: owned by %s at that point and by %s now%s%s%s: back to %s at %.12s",
		   name, ledger_runtime_name(then->owner), ledger_runtime_name(now->owner),
		   now->owner_op ? " (since operation " : "",
		   now->owner_op ? view_op_name(now->owner_op, on) : "", now->owner_op ? ")" : "",
		   ledger_runtime_name(then->owner), commit);
	return true;
}

void rollback_plan_owners(struct rollback_plan *p, const struct config *cfg,
			  const struct rollback_inputs *in)
{
	size_t keep = 0;
	char on[VIEW_OP_NAME_MAX];

	for (size_t i = 0; i < p->nscope; i++) {
		const char *name = cfg->services[p->scope[i]].name;
		const struct ledger_service_state *ss = ledger_state_service(in->now, name);
		uint64_t cut = newest_cutover(ss);
		const char *prev;

		if (in->to.kind == ROLLBACK_TO_POINT && owner_at_point(p, cfg, in, p->scope[i]))
			continue;
		if (in->to.kind != ROLLBACK_TO_NONE || !cut) {
			p->scope[keep++] = p->scope[i];
			continue;
		}
		prev = ss->rt[other_runtime(ss->owner)].commit;
		if (!streq(prev, p->head)) {
			strv_push_take(
			    &p->notes,
			    xasprintf(
				"%s was cut over to %s by operation %s; its previous owner ran "
				"%.12s but the checkout holds %.12s: cut it over by hand",
				name, ledger_runtime_name(ss->owner), view_op_name(cut, on), prev,
				p->head));
			continue;
		}
		add_owner(p, cfg, in, p->scope[i], ss->owner, other_runtime(ss->owner), prev,
			  ss->rt[ss->owner].commit, cut);
		strv_push_take(&p->notes,
			       xasprintf("%s: its newest change is the cut-over to %s (operation "
					 "%s): back to %s at %.12s",
					 name, ledger_runtime_name(ss->owner),
					 view_op_name(cut, on),
					 ledger_runtime_name(p->owners[p->nowners - 1].to), prev));
	}
	p->nscope = keep;
}

/* Owners that move together: the same runtimes and commits (cutover_move_run_at takes them
 * in one move, started in parallel). grp[i] is the first owner of i's group. */
static void owner_groups(const struct rollback_plan *p, size_t *grp)
{
	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];

		grp[i] = i;
		for (size_t k = 0; k < i && grp[i] == i; k++) {
			const struct rollback_owner *q = &p->owners[k];
			if (q->from == o->from && q->to == o->to && q->stopped == o->stopped &&
			    streq(q->commit, o->commit) && streq(q->back, o->back))
				grp[i] = grp[k];
		}
	}
}

const char *rollback_owners_end(const struct rollback_plan *p)
{
	size_t grp[LEDGER_MAX_SERVICES], last = 0;

	if (!p->nowners)
		return "";
	owner_groups(p, grp);
	for (size_t i = 0; i < p->nowners; i++)
		if (grp[i] == i)
			last = i;
	return p->owners[last].commit;
}

/* Where o's new owner starts from, as the plan says it (owner_tree). */
static void owner_from(const struct rollback_owner *o, char *buf, size_t len)
{
	const char *to = ledger_runtime_name(o->to);

	if (o->releases && o->to == LEDGER_RT_NATIVE)
		snprintf(buf, len, "from release %.12s, %s", o->commit,
			 o->release_built    ? "built"
			 : o->release_exists ? "built first (its build did not complete)"
					     : "written and built first");
	else if (o->releases && o->release_exists)
		snprintf(buf, len, "compose reads release %.12s; build for %s when needed",
			 o->commit, to);
	else if (o->checkout_moves)
		snprintf(buf, len, "the checkout moves to %.12s; build for %s when needed",
			 o->commit, to);
	else
		snprintf(buf, len, "from the checkout; build for %s when needed", to);
}

void rollback_owners_print(const struct rollback_plan *p, const struct config *cfg)
{
	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];
		const char *from = ledger_runtime_name(o->from);
		bool other = o->back[0] && !streq(o->back, o->commit);
		char start[160];

		owner_from(o, start, sizeof(start));
		if (o->stopped)
			out_say("would start %-16s (stopped now) on %s at %.12s (%s stopped first; "
				"%s)",
				cfg->services[o->service].name, ledger_runtime_name(o->to),
				o->commit, from, start);
		else
			out_say("would put back %-16s %s -> %s at %.12s (stop on %s first%s%.12s; "
				"%s)",
				cfg->services[o->service].name, from, ledger_runtime_name(o->to),
				o->commit, from, other ? ", where it runs " : "",
				other ? o->back : "", start);
	}
}

json_t *rollback_owners_json(const struct rollback_plan *p, const struct config *cfg)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];
		json_t *ow = json_pack(
		    "{s:o,s:s,s:s,s:o,s:o,s:b,s:o,s:o}", "service",
		    json_str(cfg->services[o->service].name), "from", ledger_runtime_name(o->from),
		    "to", ledger_runtime_name(o->to), "commit", json_str(o->commit), "runs",
		    json_str(o->back), "checkout_moves", o->checkout_moves, "cutover",
		    o->cutover ? json_integer((json_int_t)o->cutover) : json_null(),
		    "cutover_number",
		    o->cutover ? json_integer((json_int_t)view_op_number(o->cutover))
			       : json_null());
		/* the releases layout: the commit's release the new owner starts from (native) or
		 * compose reads when it exists (docker); null in place */
		/* stopped now (no owner): started on `to`, `from` stopped first */
		json_object_set_new(ow, "stopped", json_boolean(o->stopped));
		json_object_set_new(ow, "release",
				    o->releases
					? json_pack("{s:b,s:b}", "exists", o->release_exists,
						    "built", o->release_built)
					: json_null());
		json_array_append_new(a, ow);
	}
	return a;
}

/* Whether the move of o needs a build for its new owner: docker always (its build skips the
 * images that exist); native in place when the checkout's last completed shared build is of
 * another commit, with releases when the commit's release is not built (the same rules as a
 * cut-over's plan). */
static bool owner_build(const struct rollback_plan *p, const struct config *cfg,
			const struct rollback_owner *o, const char *built)
{
	if (o->to == LEDGER_RT_DOCKER)
		return true;
	if (o->releases)
		return !p->no_build && !o->release_built; /* built as a whole, as a deploy does */
	return !p->no_build && cfg->native.build.n && !streq(built, o->commit);
}

/* op->error for a move that failed: which move, the cause, and what runs. */
static void owner_failed(struct op *op, const struct rollback_owner *o, const char *names,
			 enum cutover_end end)
{
	const char *from = ledger_runtime_name(o->from), *to = ledger_runtime_name(o->to);
	const char *cause = op->error[0] ? op->error : "failed";
	_cleanup_free_ char *e = NULL;

	if (end == CUTOVER_REVERSED && o->stopped)
		e = xasprintf("starting %s on %s failed (%s): it is stopped again, as it was "
			      "before",
			      names, to, cause);
	else if (end == CUTOVER_UNCHANGED)
		e = xasprintf("moving %s to %s failed before anything stopped (%s): it still runs "
			      "on %s",
			      names, to, cause, from);
	else if (end == CUTOVER_REVERSED)
		e = xasprintf(
		    "moving %s to %s failed (%s) and was reversed: it runs on %s again at "
		    "%.12s (verified)",
		    names, to, cause, from, o->back[0] ? o->back : o->commit);
	else
		e = xasprintf(
		    "moving %s to %s failed (%s) and its reverse failed too: check "
		    "'shiplog status', then cut each over by hand ('shiplog cutover SERVICE "
		    "--to %s')",
		    names, to, cause, from);
	strlcpy_(op->error, e, sizeof(op->error));
}

int rollback_execute_owners(const struct rollback_plan *p, const struct config *cfg, struct op *op,
			    struct repo *repo)
{
	size_t grp[LEDGER_MAX_SERVICES];
	struct build_facts bf = {0};
	int r = 0;

	owner_groups(p, grp);
	for (size_t i = 0; i < p->nowners; i++)
		if (p->owners[i].to == LEDGER_RT_NATIVE && cfg->native.build.n && !bf.base_read) {
			(void)build_facts_read_last(op->lg, repo_workdir(repo), &bf);
			bf.base_read = true;
		}
	for (size_t i = 0; i < p->nowners && r >= 0; i++) {
		const struct rollback_owner *o = &p->owners[i];
		size_t svcs[LEDGER_MAX_SERVICES], n = 0;
		struct strv names = {0};
		_cleanup_free_ char *list = NULL;
		enum cutover_end end;

		if (grp[i] != i)
			continue;
		for (size_t k = i; k < p->nowners; k++)
			if (grp[k] == i) {
				svcs[n++] = p->owners[k].service;
				strv_push(&names, cfg->services[p->owners[k].service].name);
			}
		list = strv_join(&names, ", ");
		strv_free(&names);
		if (o->stopped)
			out_say("starting %s (stopped) on %s at %.12s", list,
				ledger_runtime_name(o->to), o->commit);
		else
			out_say("putting back the owner of %s: %s -> %s at %.12s", list,
				ledger_runtime_name(o->from), ledger_runtime_name(o->to),
				o->commit);
		r = cutover_move_run_at(op, cfg, repo, svcs, n, o->from, o->to, o->commit,
					o->stopped   ? NULL
					: o->back[0] ? o->back
						     : o->commit,
					owner_build(p, cfg, o, bf.base), &end);
		if (r >= 0 && o->to == LEDGER_RT_NATIVE && owner_build(p, cfg, o, bf.base))
			strlcpy_(bf.base, o->commit, sizeof(bf.base)); /* built now */
		if (r < 0 && !op->ledger_error)
			owner_failed(op, o, list, end);
	}
	build_facts_release(&bf);
	return r;
}
