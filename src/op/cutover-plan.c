/* SPDX-License-Identifier: MIT */
/* The cut-over's plan: the facts (reads only), the plan and its guards (pure), and --dry-run's
 * print of the plan (text, or JSON with --json). The executor is in cutover.c. See cutover.h. */
#include "cutover.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build.h"
#include "bus.h"
#include "compose.h"
#include "lock.h"
#include "out.h"
#include "releases.h"
#include "util.h"

/* ---- facts: reads only ----------------------------------------------------------------------- */

/* The services of a that name services, as cfg indexes (unknown names are the plan's to refuse). */
static size_t named_services(const struct config *cfg, const struct cutover_args *a, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < a->services.n && n < LEDGER_MAX_SERVICES; i++) {
		int k = config_service_index(cfg, a->services.v[i]);
		if (k >= 0)
			out[n++] = (size_t)k;
	}
	return n;
}

static void ready_set(struct cutover_ready *r, bool ready, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ready_set(struct cutover_ready *r, bool ready, const char *fmt, ...)
{
	va_list ap;

	r->asked = true;
	r->ready = ready;
	r->built = ready;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
}

/* Native: each unit is loaded in the manager (asked, not started). */
static void read_native(const struct config *cfg, const size_t *svcs, size_t n,
			struct cutover_facts *f)
{
	struct bus *bus = NULL;

	if (bus_open(&bus, cfg->native.manager == MANAGER_USER) < 0) {
		snprintf(f->runtime_error, sizeof(f->runtime_error),
			 "cannot reach the systemd %s manager: %s",
			 cfg->native.manager == MANAGER_USER ? "user" : "system", bus_errmsg(bus));
		bus_close(bus);
		return;
	}
	f->runtime_asked = true;
	for (size_t i = 0; i < n; i++) {
		const struct service *s = &cfg->services[svcs[i]];
		struct unit_props p;

		if (bus_unit_props(bus, s->unit, &p) < 0)
			ready_set(&f->ready[svcs[i]], false, "cannot read unit %s: %s", s->unit,
				  bus_errmsg(bus));
		else if (!streq(p.load_state, "loaded"))
			ready_set(&f->ready[svcs[i]], false,
				  "unit %s of '%s' is %s; install it with 'shiplog units install'",
				  s->unit, s->name, p.load_state[0] ? p.load_state : "not loaded");
		else
			ready_set(&f->ready[svcs[i]], true, "unit %s loaded (%s/%s)", s->unit,
				  p.active_state, p.sub_state);
	}
	bus_close(bus);
}

static bool is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The tree compose reads for the commit: in place, the checkout; with releases, the commit's
 * release when it exists (the one native ran from), else the checkout when it holds the
 * commit. "" when neither. */
static void docker_tree(const struct config *cfg, struct cutover_facts *f)
{
	_cleanup_free_ char *rel = f->commit[0] ? releases_path(cfg, f->commit) : NULL;

	if (!f->releases || !rel)
		strlcpy_(f->tree, cfg->target.checkout, sizeof(f->tree));
	else if (rel && is_dir(rel))
		strlcpy_(f->tree, rel, sizeof(f->tree));
	else if (streq(f->commit, f->head))
		strlcpy_(f->tree, cfg->target.checkout, sizeof(f->tree));
	else
		f->tree[0] = '\0';
}

/* Docker: each compose service is defined, and the image of the commit exists when the service
 * is built from source; compose is read in the tree of the commit (docker_tree). */
static void read_docker(const struct config *cfg, const size_t *svcs, size_t n,
			struct cutover_facts *f)
{
	struct compose *c = NULL;
	const char *refs[LEDGER_MAX_SERVICES];
	const char *commit = f->commit[0] ? f->commit : f->head;
	char tags[LEDGER_MAX_SERVICES][200], err[512];
	bool exists[LEDGER_MAX_SERVICES];
	size_t nref = 0, idx[LEDGER_MAX_SERVICES];

	docker_tree(cfg, f);
	if (!f->tree[0]) {
		snprintf(f->runtime_error, sizeof(f->runtime_error),
			 "no tree of %.12s to read compose from: its release is gone and the "
			 "checkout holds %.12s",
			 f->commit, f->head);
		return;
	}
	setenv("SHIPLOG_COMMIT", commit[0] ? commit : "unknown", 1); /* as compose runs */
	if (compose_open(&c, NULL, f->tree, cfg->docker.workdir, cfg->docker.project, err,
			 sizeof(err)) < 0 ||
	    compose_config_read(c, err, sizeof(err)) < 0) {
		snprintf(f->runtime_error, sizeof(f->runtime_error), "%s", err);
		compose_free(c);
		return;
	}
	f->runtime_asked = true;
	for (size_t i = 0; i < n; i++) {
		const struct service *s = &cfg->services[svcs[i]];

		if (!compose_has_service(c, s->compose)) {
			struct cutover_ready *r = &f->ready[svcs[i]];
			compose_undefined_why(r->what, sizeof(r->what), s->compose, s->name,
					      c->file, &c->services);
			r->asked = true;
		} else if (!compose_has_build(c, s->compose)) {
			ready_set(&f->ready[svcs[i]], true,
				  "compose service %s defined (image as written)", s->compose);
		} else {
			compose_image_tag(cfg->docker.project, s->compose, commit, tags[nref],
					  sizeof(tags[0]));
			refs[nref] = tags[nref];
			idx[nref++] = i;
		}
	}
	if (compose_images_exist(c, refs, nref, exists) < 0)
		for (size_t k = 0; k < nref; k++)
			exists[k] = false;
	for (size_t k = 0; k < nref; k++) {
		ready_set(&f->ready[svcs[idx[k]]], true,
			  exists[k] ? "compose service %s defined, image %s exists"
				    : "compose service %s defined, image %s to build",
			  cfg->services[svcs[idx[k]]].compose, refs[k]);
		f->ready[svcs[idx[k]]].built = exists[k];
	}
	compose_free(c);
}

/* The newest soak.verdict of each service, in one backward scan that decodes only verdicts and
 * stops once every service has one. */
static void read_soak(const struct config *cfg, struct ledger *lg, const size_t *svcs, size_t n,
		      struct cutover_facts *f)
{
	struct ledger_iter *it = NULL;
	const uint8_t *buf;
	size_t len, left = n;
	uint64_t seq;

	if (ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it) < 0)
		return;
	while (left && ledger_iter_next_raw(it, &seq, &buf, &len) == 1) {
		struct ledger_event ev;
		enum ledger_event_type t;

		if (ledger_event_peek(buf, len, &t, NULL, NULL) < 0 ||
		    t != LEDGER_EV_SOAK_VERDICT || ledger_event_decode(buf, len, &ev, NULL, 0) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			struct cutover_soak *s = &f->soak[svcs[i]];
			const struct ledger_soak_verdict *v = &ev.u.soak_verdict;
			const char *name = cfg->services[svcs[i]].name;
			size_t nl = strlen(name);
			struct buf why = {0};

			for (uint32_t k = 0; k < v->services.n && !s->found; k++) {
				const char *e = v->services.v[k];
				if (strncmp(e, name, nl) != 0 || e[nl] != '=')
					continue;
				s->found = true;
				s->pass = streq(e + nl + 1, "pass");
				s->seq = seq;
				s->time_ns = ev.time_ns;
				strlcpy_(s->window, v->name, sizeof(s->window));
				left--;
			}
			for (uint32_t k = 0; s->found && s->seq == seq && k < v->reasons.n; k++)
				if (!strncmp(v->reasons.v[k], name, nl) &&
				    v->reasons.v[k][nl] == ':')
					buf_printf(&why, "%s%s", why.len ? "; " : "",
						   v->reasons.v[k] + nl + 2);
			if (why.len)
				strlcpy_(s->why, why.data, sizeof(s->why));
			buf_free(&why);
		}
		ledger_event_release(&ev);
	}
	ledger_iter_free(it);
	f->soak_read = true;
}

/* The one commit the services run by st (as plan_moves reads it), "" when none or several. */
static void read_commit(const struct config *cfg, const struct cutover_args *a,
			const struct ledger_state *st, const size_t *svcs, size_t n,
			struct cutover_facts *f)
{
	int from = a->to == LEDGER_RT_NATIVE ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;

	f->commit[0] = '\0';
	for (size_t i = 0; st && i < n; i++) {
		const struct ledger_service_state *ss =
		    ledger_state_service(st, cfg->services[svcs[i]].name);
		const char *c = !ss		 ? ""
				: ss->owner >= 0 ? ss->rt[ss->owner].commit
						 : ss->rt[from].commit;
		if (i > 0 && !streq(c, f->commit)) {
			f->commit[0] = '\0';
			return;
		}
		strlcpy_(f->commit, c, sizeof(f->commit));
	}
}

void cutover_facts_read(const struct config *cfg, const struct cutover_args *a, struct repo *repo,
			struct ledger *lg, const struct ledger_state *st, const char *ledger_dir,
			struct cutover_facts *f)
{
	size_t svcs[LEDGER_MAX_SERVICES], n = named_services(cfg, a, svcs);

	repo_head(repo, f->head, NULL, 0);
	read_commit(cfg, a, st, svcs, n, f);
	f->releases = cfg->target.layout == LAYOUT_RELEASES;
	if (f->releases && f->commit[0]) {
		_cleanup_free_ char *rel = releases_path(cfg, f->commit);
		f->release_exists = is_dir(rel);
		f->release_built = f->release_exists && releases_is_built(cfg, f->commit);
	}
	if (lg) {
		struct build_facts b = {0};
		(void)build_facts_read_last(lg, repo_workdir(repo), &b);
		strlcpy_(f->built, b.base, sizeof(f->built));
		build_facts_release(&b);
		read_soak(cfg, lg, svcs, n, f);
	}
	if (a->to == LEDGER_RT_NATIVE)
		read_native(cfg, svcs, n, f);
	else
		read_docker(cfg, svcs, n, f);
	if (a->dry_run && ledger_dir) {
		struct lock_holder holder;
		if (lock_status(ledger_dir, &f->lock_held, &holder) == 0) {
			f->lock_known = true;
			if (f->lock_held)
				lock_holder_describe(&holder, f->lock_holder,
						     sizeof(f->lock_holder));
		}
	}
}

/* ---- the guards: pure ------------------------------------------------------------------------ */

static const char *svc_name(const struct cutover_plan *p, size_t i)
{
	return p->cfg->services[p->moves[i].service].name;
}

void cutover_guard_lock(const struct cutover_plan *p, const struct ledger_state *st,
			struct guard_verdict *v)
{
	(void)st;
	if (p->lock_taken)
		guard_set(v, "lock", GUARD_PASS, "taken by this cut-over");
	else if (!p->facts->lock_known)
		guard_set(v, "lock", GUARD_UNKNOWN, "taken when the cut-over starts");
	else if (p->facts->lock_held)
		guard_set(v, "lock", GUARD_REFUSE, "lock held by %s", p->facts->lock_holder);
	else
		guard_set(v, "lock", GUARD_PASS, "free");
}

void cutover_guard_owner(const struct cutover_plan *p, const struct ledger_state *st,
			 struct guard_verdict *v)
{
	const char *to = ledger_runtime_name(p->to);
	struct buf list = {0};

	if (!st) {
		guard_set(v, "owner", GUARD_UNKNOWN, "the ledger was not read");
		return;
	}
	for (size_t i = 0; i < p->nmoves; i++) {
		const struct cutover_move *m = &p->moves[i];
		if (m->from == p->to) {
			guard_set(v, "owner", GUARD_REFUSE,
				  "'%s' is already owned by the %s runtime: nothing to cut over; "
				  "leave it out",
				  svc_name(p, i), to);
			goto out;
		}
		if (!m->commit[0]) {
			guard_set(
			    v, "owner", GUARD_REFUSE,
			    "'%s' runs on no runtime according to the ledger (never deployed, "
			    "or stopped by an interrupted operation): there is nothing to move; "
			    "deploy it with 'shiplog deploy main --runtime %s --pieces %s'",
			    svc_name(p, i), to, svc_name(p, i));
			goto out;
		}
		buf_printf(&list, "%s%s %s -> %s at %.12s", list.len ? ", " : "", svc_name(p, i),
			   m->from >= 0 ? ledger_runtime_name(m->from) : "(stopped)", to,
			   m->commit);
	}
	guard_set(v, "owner", GUARD_PASS, "%s", list.data ? list.data : "");
out:
	buf_free(&list);
}

/* The commit each service runs must be the checkout's (the new runtime starts from the
 * checkout: the native units run its files, compose reads its compose file). */
static bool commit_ready(const struct cutover_plan *p, const struct cutover_move *m,
			 struct guard_verdict *v)
{
	const struct cutover_facts *f = p->facts;
	const char *name = p->cfg->services[m->service].name;

	if (!streq(m->commit, f->head)) {
		guard_set(v, "ready", GUARD_REFUSE,
			  "'%s' runs %.12s on %s but the checkout holds %.12s: the %s runtime "
			  "would start other files; deploy %.12s to '%s' on %s first "
			  "('shiplog deploy %.12s --runtime %s --pieces %s'), then cut over",
			  name, m->commit, ledger_runtime_name(m->from), f->head,
			  ledger_runtime_name(p->to), f->head, name, ledger_runtime_name(m->from),
			  f->head, ledger_runtime_name(m->from), name);
		return false;
	}
	return true;
}

/* The releases layout: the new runtime starts from the release of the one commit the services
 * run, not from the checkout (the native units run from their release links; compose is read in
 * the release native ran from). */
static bool releases_ready(const struct cutover_plan *p, struct guard_verdict *v)
{
	const struct cutover_facts *f = p->facts;

	for (size_t i = 0; i < p->nmoves; i++) {
		if (!p->moves[i].commit[0] || streq(p->moves[i].commit, f->commit))
			continue;
		guard_set(v, "ready", GUARD_REFUSE,
			  "[target] layout = releases: '%s' runs %.12s, not %.12s like '%s': the "
			  "services of one cut-over start from one release; cut them over one "
			  "commit at a time",
			  svc_name(p, i), p->moves[i].commit, f->commit[0] ? f->commit : "(mixed)",
			  svc_name(p, 0));
		return false;
	}
	if (p->to == LEDGER_RT_DOCKER && f->commit[0] && !f->tree[0]) {
		guard_set(
		    v, "ready", GUARD_REFUSE,
		    "[target] layout = releases: compose must read the tree of %.12s, but its "
		    "release is gone and the checkout holds %.12s; check %.12s out in the "
		    "checkout ('git -C %s switch --detach %.12s'), then cut over",
		    f->commit, f->head, f->commit, p->cfg->target.checkout, f->commit);
		return false;
	}
	return true;
}

void cutover_guard_ready(const struct cutover_plan *p, const struct ledger_state *st,
			 struct guard_verdict *v)
{
	const struct cutover_facts *f = p->facts;
	struct buf list = {0};

	(void)st;
	if (f->releases && !releases_ready(p, v))
		return;
	if (!f->runtime_asked) {
		guard_set(v, "ready", GUARD_REFUSE, "the %s runtime cannot be asked: %s",
			  ledger_runtime_name(p->to), f->runtime_error);
		return;
	}
	for (size_t i = 0; i < p->nmoves; i++) {
		const struct cutover_ready *r = &f->ready[p->moves[i].service];
		if (!r->ready) {
			guard_set(v, "ready", GUARD_REFUSE, "%s",
				  r->asked ? r->what : "the runtime did not answer");
			goto out;
		}
		if (!f->releases && p->moves[i].commit[0] && !commit_ready(p, &p->moves[i], v))
			goto out;
		buf_printf(&list, "%s%s", list.len ? "; " : "", r->what);
	}
	if (f->releases && p->to == LEDGER_RT_NATIVE)
		guard_set(v, "ready", GUARD_PASS, "%s; release %.12s %s; build: %s", list.data,
			  f->commit,
			  f->release_built    ? "is built"
			  : f->release_exists ? "exists, its build did not complete"
					      : "is not written yet",
			  p->build_why);
	else if (f->releases)
		guard_set(v, "ready", GUARD_PASS,
			  "%s; compose reads %s (the tree of %.12s); build: %s", list.data, f->tree,
			  f->commit, p->build_why);
	else
		guard_set(v, "ready", GUARD_PASS, "%s; the checkout holds %.12s; build: %s",
			  list.data, f->head, p->build_why);
out:
	buf_free(&list);
}

void cutover_guard_soak(const struct cutover_plan *p, const struct ledger_state *st,
			struct guard_verdict *v)
{
	const struct cutover_facts *f = p->facts;
	struct buf list = {0};
	char when[64];

	(void)st;
	if (p->args->without_soak) {
		guard_set(v, "soak", GUARD_PASS,
			  "--without-soak: no soak verdict required (recorded with the operation)");
		return;
	}
	if (!f->soak_read) {
		guard_set(v, "soak", GUARD_UNKNOWN, "the ledger was not read");
		return;
	}
	for (size_t i = 0; i < p->nmoves; i++) {
		const struct cutover_soak *s = &f->soak[p->moves[i].service];
		const char *name = svc_name(p, i);

		if (!s->found) {
			guard_set(
			    v, "soak", GUARD_REFUSE,
			    "no soak verdict for '%s' in the ledger: soak it first ('shiplog "
			    "soak start --pieces %s --for 1h', then 'shiplog soak report'), or "
			    "pass --without-soak",
			    name, name);
			goto out;
		}
		format_time(s->time_ns, when, sizeof(when));
		if (!s->pass) {
			guard_set(v, "soak", GUARD_REFUSE,
				  "the newest soak verdict for '%s' failed (window '%s', %s%s%s): "
				  "fix it and soak again, or pass --without-soak",
				  name, s->window, when, s->why[0] ? ": " : "", s->why);
			goto out;
		}
		buf_printf(&list, "%s%s passed in window '%s' (%s)", list.len ? "; " : "", name,
			   s->window, when);
	}
	guard_set(v, "soak", GUARD_PASS, "%s", list.data ? list.data : "");
out:
	buf_free(&list);
}

typedef void (*cutover_guard_fn)(const struct cutover_plan *p, const struct ledger_state *st,
				 struct guard_verdict *v);

/* In the order the real run checks them. */
static const cutover_guard_fn cutover_guards[] = {
    cutover_guard_lock,
    cutover_guard_owner,
    cutover_guard_ready,
    cutover_guard_soak,
};

/* Each move's owner and commit from st; the one commit they share. */
static void plan_moves(struct cutover_plan *p, const struct ledger_state *st)
{
	bool same = true;

	for (size_t i = 0; i < p->nmoves; i++) {
		struct cutover_move *m = &p->moves[i];
		const struct ledger_service_state *ss =
		    st ? ledger_state_service(st, svc_name(p, i)) : NULL;

		m->from = ss ? ss->owner : -1;
		m->commit[0] = '\0';
		if (ss && ss->owner >= 0)
			strlcpy_(m->commit, ss->rt[ss->owner].commit, sizeof(m->commit));
		else if (ss) /* stopped (an interrupted cut-over): what it ran on the runtime it
			      * leaves */
			strlcpy_(m->commit, ss->rt[p->from].commit, sizeof(m->commit));
		same = same && streq(m->commit, p->moves[0].commit);
	}
	strlcpy_(p->commit, same && p->nmoves ? p->moves[0].commit : "", sizeof(p->commit));
}

/* Whether the commit is built for the new runtime: native, the checkout's last completed shared
 * build is of the commit (or there is no shared build); docker, every image exists. */
static void plan_build(struct cutover_plan *p)
{
	const struct cutover_facts *f = p->facts;
	const struct config *cfg = p->cfg;

	p->build = false;
	if (p->to == LEDGER_RT_NATIVE && f->releases) {
		/* the release is written and built as a whole, once (as deploy does) */
		p->build = !f->release_built;
		if (p->build)
			snprintf(p->build_why, sizeof(p->build_why),
				 "runs first (release %.12s %s: written from the repository and "
				 "built there before anything stops)",
				 p->commit, f->release_exists ? "is not built" : "does not exist");
		else
			snprintf(p->build_why, sizeof(p->build_why),
				 "not needed (release %.12s is built)", p->commit);
		return;
	}
	if (p->to == LEDGER_RT_NATIVE) {
		p->build = cfg->native.build.n && !streq(f->built, f->head);
		if (!cfg->native.build.n)
			snprintf(p->build_why, sizeof(p->build_why), "no [runtime native] build");
		else if (p->build)
			snprintf(
			    p->build_why, sizeof(p->build_why),
			    "runs first (the last completed build of the checkout was %s%.12s)",
			    f->built[0] ? "at " : "none", f->built);
		else
			snprintf(p->build_why, sizeof(p->build_why),
				 "not needed (the checkout's last completed build is of %.12s)",
				 f->built);
		return;
	}
	for (size_t i = 0; i < p->nmoves; i++)
		p->build = p->build || !f->ready[p->moves[i].service].built;
	snprintf(p->build_why, sizeof(p->build_why), "%s",
		 p->build ? "runs first (an image of the commit is missing)"
			  : "not needed (every image exists)");
}

void cutover_plan_guards(struct cutover_plan *p, const struct ledger_state *st)
{
	plan_moves(p, st);
	plan_build(p);
	p->guards.n = 0;
	for (size_t i = 0; i < ELEMENTSOF(cutover_guards); i++)
		cutover_guards[i](p, st, &p->guards.v[p->guards.n++]);
}

/* ---- the plan (pure) ------------------------------------------------------------------------- */

/* The services as a scope: cfg indexes in registry order, the edge roles among them. */
static int plan_services(struct cutover_plan *p, char *err, size_t errlen)
{
	const struct config *cfg = p->cfg;
	const struct strv *names = &p->args->services;
	bool in[LEDGER_MAX_SERVICES] = {false};
	struct buf desc = {0};

	if (!names->n) {
		snprintf(err, errlen,
			 "name the services to cut over (e.g. 'cutover compute --to %s')",
			 ledger_runtime_name(p->to));
		return SL_EUSAGE;
	}
	for (size_t i = 0; i < names->n; i++) {
		int k = config_service_index(cfg, names->v[i]);
		if (k < 0 || in[k]) {
			_cleanup_free_ char *known = NULL;
			struct strv all = {0};
			for (size_t j = 0; j < cfg->nservices; j++)
				strv_push(&all, cfg->services[j].name);
			known = strv_join(&all, ", ");
			strv_free(&all);
			snprintf(err, errlen,
				 k < 0 ? "unknown service '%s'; the services are: %s"
				       : "service '%s' is named twice%s",
				 names->v[i], k < 0 ? known : "");
			return SL_EUSAGE;
		}
		in[k] = true;
	}
	for (size_t k = 0; k < cfg->nservices; k++) {
		const struct service *s = &cfg->services[k];
		if (!in[k])
			continue;
		p->scope.services[p->scope.nservices++] = k;
		p->moves[p->nmoves++].service = k;
		p->scope.touches_edge = p->scope.touches_edge || cfg->policy.edge_role[s->role];
		p->scope.web_in_scope = p->scope.web_in_scope || s->role == ROLE_WEB;
		p->scope.api_in_scope = p->scope.api_in_scope || s->role == ROLE_API;
		buf_printf(&desc, "%s%s", desc.len ? ", " : "pieces: ", s->name);
	}
	strlcpy_(p->scope.scope_desc, desc.data, sizeof(p->scope.scope_desc));
	buf_free(&desc);
	return 0;
}

int cutover_plan(const struct config *cfg, const struct cutover_args *a,
		 const struct cutover_facts *f, const struct ledger_state *st,
		 struct cutover_plan *p, char *err, size_t errlen)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->args = a;
	p->facts = f;
	p->to = a->to;
	p->from = a->to == LEDGER_RT_NATIVE ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;
	r = plan_services(p, err, errlen);
	if (r < 0)
		return r;
	if (p->scope.touches_edge && str_empty(cfg->public_.app_url)) {
		snprintf(err, errlen,
			 "[public] app_url is required when an edge role is cut over (%s): the "
			 "public checks follow the switch; set it in %s or DEPLOY_PUBLIC_APP_URL",
			 p->scope.scope_desc, cfg->path);
		return SL_EUSAGE;
	}
	p->edge_switch = p->scope.touches_edge && cfg->edge.switch_argv.n;
	if (a->without_soak)
		p->flags[p->nflags++] = "without-soak";
	cutover_plan_guards(p, st);
	return 0;
}

/* ---- printing the plan ----------------------------------------------------------------------- */

void cutover_plan_say(const struct cutover_plan *p)
{
	const struct config *cfg = p->cfg;

	out_say("Cutting over to the %s runtime: %s", ledger_runtime_name(p->to),
		p->scope.scope_desc);
	for (size_t i = 0; i < p->nmoves; i++) {
		const struct cutover_move *m = &p->moves[i];
		const struct service *s = &cfg->services[m->service];
		out_say("  %-16s %-6s %s -> %s (%s)%s%.12s", s->name, role_name(s->role),
			m->from >= 0 ? ledger_runtime_name(m->from) : "(none)",
			ledger_runtime_name(p->to),
			p->to == LEDGER_RT_NATIVE ? s->unit : s->compose,
			m->commit[0] ? " at " : "", m->commit);
	}
}

static json_t *argv_json(const struct strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_str(v->v[i]));
	return a;
}

json_t *cutover_plan_json(const struct cutover_plan *p)
{
	const struct config *cfg = p->cfg;
	json_t *svcs = json_array(), *guards = guard_list_json(&p->guards), *flags = json_array(),
	       *o;
	bool refused = guard_list_refusal(&p->guards) != NULL;

	for (size_t i = 0; i < p->nmoves; i++) {
		const struct cutover_move *m = &p->moves[i];
		const struct service *s = &cfg->services[m->service];
		json_array_append_new(
		    svcs, json_pack("{s:o,s:s,s:o,s:s,s:o,s:o,s:o}", "name", json_str(s->name),
				    "role", role_name(s->role), "from",
				    m->from >= 0 ? json_string(ledger_runtime_name(m->from))
						 : json_null(),
				    "to", ledger_runtime_name(p->to), "commit",
				    m->commit[0] ? json_str(m->commit) : json_null(), "unit",
				    json_str(s->unit), "compose", json_str(s->compose)));
	}
	for (size_t i = 0; i < p->nflags; i++)
		json_array_append_new(flags, json_str(p->flags[i]));
	o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "operation", "cutover", "to",
		      ledger_runtime_name(p->to), "from", ledger_runtime_name(p->from), "commit",
		      p->commit[0] ? json_str(p->commit) : json_null(), "services", svcs, "flags",
		      flags, "guards", guards);
	json_object_set_new(o, "build",
			    json_pack("{s:b,s:s}", "runs", p->build, "why", p->build_why));
	json_object_set_new(o, "checkout_commit",
			    p->facts->head[0] ? json_str(p->facts->head) : json_null());
	json_object_set_new(o, "layout", json_string(p->facts->releases ? "releases" : "in-place"));
	if (p->facts->releases && p->to == LEDGER_RT_NATIVE)
		json_object_set_new(o, "release",
				    p->commit[0]
					? json_pack("{s:o,s:b,s:b}", "commit", json_str(p->commit),
						    "exists", p->facts->release_exists, "built",
						    p->facts->release_built)
					: json_null());
	else if (p->facts->releases)
		json_object_set_new(o, "tree",
				    p->facts->tree[0] ? json_str(p->facts->tree) : json_null());
	json_object_set_new(o, "edge",
			    p->scope.touches_edge
				? json_pack("{s:o,s:o,s:b}", "switch",
					    argv_json(&cfg->edge.switch_argv), "revert",
					    argv_json(&cfg->edge.revert_argv), "public_checks", 1)
				: json_null());
	json_object_set_new(o, "would", json_string(refused ? "refuse" : "cutover"));
	return o;
}

/* The steps the run takes, in order, as a person reads them. */
static void say_steps(const struct cutover_plan *p)
{
	const char *from = ledger_runtime_name(p->from), *to = ledger_runtime_name(p->to);

	bool links = p->facts->releases && p->to == LEDGER_RT_NATIVE;

	out_say("steps: %sstop on %s; %sstart on %s at %.12s; verify (settle, health checks)%s%s; "
		"record the owner",
		!p->build ? ""
		: links	  ? "write and build the release for the new runtime; "
			  : "build for the new runtime; ",
		from, links ? "point the release links at it (when they do not already); " : "", to,
		p->commit[0] ? p->commit : "(unknown)", p->edge_switch ? "; the [edge] switch" : "",
		p->scope.touches_edge ? "; the public checks" : "");
	out_say("on failure: stop on %s%s%s; start on %s again; verify it; record it", to,
		links ? "; the release links back where they were" : "",
		p->edge_switch && p->cfg->edge.revert_argv.n ? "; the [edge] revert" : "", from);
}

int cutover_plan_print(const struct cutover_plan *p)
{
	bool refused = guard_list_refusal(&p->guards) != NULL;

	say_steps(p);
	for (size_t i = 0; i < p->guards.n; i++) {
		const struct guard_verdict *v = &p->guards.v[i];
		if (v->result == GUARD_REFUSE)
			out_say("would refuse: the %s guard: %s", v->guard, v->reason);
		else
			out_say("%s: %s%s", v->guard,
				v->result == GUARD_UNKNOWN ? "not checked: " : "", v->reason);
	}
	if (out_settings.json)
		out_json(cutover_plan_json(p));
	out_say("--dry-run: nothing was changed or recorded");
	return refused ? SL_EREFUSED : 0;
}
