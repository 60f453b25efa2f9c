/* SPDX-License-Identifier: MIT */
/* The pure planner: arguments and config in, services and guard decisions out. Follows the
 * reference (§1.2-1.5 and the later branch/pieces modes); nothing here has a side effect. */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "util.h"

static int usage_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return SL_EUSAGE;
}

/* ---- scope flags -------------------------------------------------------------------------- */

const struct option scope_options[] = {SCOPE_OPTIONS, {0}};

static const struct option *scope_option_find(const char *name, int val)
{
	for (const struct option *o = scope_options; o->name; o++)
		if (name ? streq(o->name, name) : o->val == val)
			return o;
	return NULL;
}

static enum scope_kind scope_option_kind(const struct option *o)
{
	return o->val == SCOPE_OPT_PIECE ? SCOPE_PIECES : (enum scope_kind)(o->val - SCOPE_OPT(0));
}

/* "web-only" ... for the flags, "pieces", "full" */
static const char *scope_flag_name(enum scope_kind k)
{
	const struct option *o = scope_option_find(NULL, SCOPE_OPT(k));

	return o ? o->name : "full";
}

int scope_args_take(struct scope_args *s, const char *name, const char *value, char *err,
		    size_t errlen)
{
	const struct option *o = scope_option_find(name, 0);
	struct strv add = {0};
	enum scope_kind k;

	if (!o)
		return 0;
	k = scope_option_kind(o);
	if (k != SCOPE_PIECES) {
		if (s->kind == SCOPE_PIECES)
			return usage_fail(err, errlen,
					  "--pieces cannot be combined with --%s; name "
					  "the services with --pieces alone",
					  name);
		if (s->nflags > 0 && s->kind != k)
			return usage_fail(err, errlen,
					  "choose only one scope flag (--%s and --%s "
					  "were both given)",
					  scope_flag_name(s->kind), name);
		if (s->kind != k)
			s->nflags++;
		s->kind = k;
		s->explicit_ = true;
		return 1;
	}
	if (s->nflags > 0)
		return usage_fail(err, errlen,
				  "--%s cannot be combined with --%s; use one or the "
				  "other",
				  name, scope_flag_name(s->kind));
	if (str_empty(value))
		return usage_fail(err, errlen, "--%s needs service names, e.g. --pieces web,api",
				  name);
	if (str_has_control(value))
		return usage_fail(err, errlen, "--%s: control characters in the value", name);
	strv_split_commas(&add, value);
	if (add.n == 0)
		return usage_fail(err, errlen, "--%s '%s' names no service; e.g. --pieces web,api",
				  name, value);
	for (size_t i = 0; i < add.n; i++)
		if (!strv_contains(&s->pieces, add.v[i]))
			strv_push(&s->pieces, add.v[i]);
	strv_free(&add);
	s->kind = SCOPE_PIECES;
	s->explicit_ = true;
	return 1;
}

int scope_args_option(struct scope_args *s, int opt, const char *optarg, char *err, size_t errlen)
{
	const struct option *o = opt >= SCOPE_OPT(0) ? scope_option_find(NULL, opt) : NULL;

	return o ? scope_args_take(s, o->name, optarg, err, errlen) : 0;
}

void scope_args_release(struct scope_args *s)
{
	if (!s)
		return;
	strv_free(&s->pieces);
	*s = (struct scope_args){0};
}

/* ---- deploy arguments --------------------------------------------------------------------- */

const char *deploy_mode_name(enum deploy_mode m)
{
	switch (m) {
	case DEPLOY_MAIN:
		return "main";
	case DEPLOY_CURRENT_BRANCH:
		return "current-branch";
	case DEPLOY_BRANCH:
		return "branch";
	case DEPLOY_REF:
		return "ref";
	}
	return "unknown";
}

static int target_check(const char *what, const char *t, char *err, size_t errlen)
{
	if (str_empty(t))
		return usage_fail(err, errlen, "empty %s; give a name", what);
	if (t[0] == '-')
		return usage_fail(err, errlen,
				  "refusing %s '%s': it starts with '-'; no git %s "
				  "does",
				  what, t, what);
	if (str_has_control(t))
		return usage_fail(err, errlen,
				  "refusing %s: it contains control characters "
				  "(newline, tab, ...); give the name as it is",
				  what);
	return 0;
}

static int runtime_parse(const char *v, int *rt, char *err, size_t errlen)
{
	int r;

	if (streq(v, "native"))
		r = LEDGER_RT_NATIVE;
	else if (streq(v, "docker"))
		r = LEDGER_RT_DOCKER;
	else
		return usage_fail(err, errlen,
				  "--runtime '%s' is not a runtime; use native or "
				  "docker",
				  v ? v : "");
	if (*rt >= 0 && *rt != r)
		return usage_fail(err, errlen,
				  "--runtime given twice with different values; "
				  "choose one");
	*rt = r;
	return 0;
}

/* deploy's options; its parser (below) takes them before, between and after the words */
const struct option deploy_options[] = {
    SCOPE_OPTIONS,
    {"runtime", required_argument, NULL, 0},
    {"wait-lock", required_argument, NULL, 0},
    {"fast", no_argument, NULL, 0},
    {"no-build", no_argument, NULL, 0},
    {"build", no_argument, NULL, 0},
    {"force-recreate", no_argument, NULL, 0},
    {"dry-run", no_argument, NULL, 0},
    {"edge-ready", no_argument, NULL, 0},
    {"force", no_argument, NULL, 0},
    {"take-over", no_argument, NULL, 0},
    {"reset-to-remote", no_argument, NULL, 0},
    {"local", no_argument, NULL, 0},
    {"ssh", no_argument, NULL, 0},
    {"no-progress", no_argument, NULL, 0},
    {"hosts", required_argument, NULL, 0},
    {"all-hosts", no_argument, NULL, 0},
    {"retry-failed", no_argument, NULL, 0},
    {"pin", required_argument, NULL, 0},
    {0},
};

bool deploy_args_fleet(const struct deploy_args *a)
{
	return a->hosts.n || a->all_hosts || a->retry_failed;
}

/* --hosts a,b: host names (or name=value labels), checked against the config later */
static int hosts_take(struct deploy_args *a, const char *value, char *err, size_t errlen)
{
	struct strv add = {0};

	strv_split_commas(&add, value);
	for (size_t i = 0; i < add.n; i++) {
		const char *w = add.v[i];
		if (w[0] == '-' || str_has_control(w) || strpbrk(w, " \t'\"`$;|&<>()\\/")) {
			strv_free(&add);
			return usage_fail(
			    err, errlen,
			    "--hosts '%s' is not a host name or label; list [host "
			    "NAME] names or name=value labels, e.g. --hosts web1,web2",
			    w);
		}
		strv_push(&a->hosts, w);
	}
	strv_free(&add);
	if (!a->hosts.n)
		return usage_fail(err, errlen, "--hosts needs host names, e.g. --hosts web1,web2");
	return 0;
}

static int deploy_option(struct deploy_args *a, const char *name, const char *value, char *err,
			 size_t errlen)
{
	int r;

	r = scope_args_take(&a->scope, name, value, err, errlen);
	if (r != 0)
		return r < 0 ? r : 0;
	if (streq(name, "runtime"))
		return runtime_parse(value, &a->runtime, err, errlen);
	if (streq(name, "wait-lock")) {
		if (parse_duration_ns(value, &a->wait_lock_ns) < 0)
			return usage_fail(err, errlen,
					  "--wait-lock '%s' is not a duration; write "
					  "e.g. 30s or 5m",
					  value);
		return 0;
	}
	if (streq(name, "hosts"))
		return hosts_take(a, value, err, errlen);
	if (streq(name, "pin")) {
		size_t n = strlen(value);
		if (n != 40 || strspn(value, "0123456789abcdef") != n)
			return usage_fail(err, errlen,
					  "--pin '%s' is not a full commit id; give the 40 hex "
					  "digits the target must resolve to",
					  value);
		strlcpy_(a->pin, value, sizeof(a->pin));
		return 0;
	}
	if (streq(name, "all-hosts"))
		a->all_hosts = true;
	else if (streq(name, "retry-failed"))
		a->retry_failed = true;
	else if (streq(name, "fast"))
		a->fast = true;
	else if (streq(name, "no-build"))
		a->no_build = true;
	else if (streq(name, "build"))
		a->build = true;
	else if (streq(name, "force-recreate"))
		a->force_recreate = true;
	else if (streq(name, "dry-run"))
		a->dry_run = true;
	else if (streq(name, "edge-ready"))
		a->edge_ready_flag = true;
	else if (streq(name, "force"))
		a->force = true;
	else if (streq(name, "take-over"))
		a->take_over = true;
	else if (streq(name, "reset-to-remote"))
		a->reset_to_remote = true;
	else if (streq(name, "no-progress"))
		a->no_progress = true;
	else if (streq(name, "local") || streq(name, "ssh")) {
		int mode = streq(name, "local") ? 1 : 2;
		if (a->exec_override && a->exec_override != mode)
			return usage_fail(err, errlen, "choose --local or --ssh, not both");
		a->exec_override = mode;
	}
	return 0;
}

/* One --option (at argv[*i]; a separate value is taken from argv[*i + 1]) into a. */
static int deploy_arg_option(int argc, char **argv, int *i, struct deploy_args *a, char *err,
			     size_t errlen)
{
	const char *arg = argv[*i], *value = NULL, *eq;
	char name[32];
	int kind = -1;

	if (arg[1] != '-')
		return usage_fail(err, errlen, "unknown option '%s'", arg);
	eq = strchr(arg + 2, '=');
	if ((eq ? (size_t)(eq - arg - 2) : strlen(arg + 2)) >= sizeof(name))
		return usage_fail(err, errlen, "unknown option '%.40s'", arg);
	strlcpy_(name, arg + 2, eq ? (size_t)(eq - arg - 2) + 1 : sizeof(name));
	for (const struct option *o = deploy_options; o->name; o++)
		if (streq(name, o->name))
			kind = o->has_arg;
	if (kind < 0)
		return usage_fail(err, errlen, "unknown option '--%s'", name);
	if (kind == no_argument && eq)
		return usage_fail(err, errlen, "--%s takes no value", name);
	if (kind == required_argument) {
		if (eq)
			value = eq + 1;
		else if (*i + 1 < argc)
			value = argv[++*i];
		else
			return usage_fail(err, errlen, "--%s needs a value", name);
	}
	return deploy_option(a, name, value, err, errlen);
}

/* The options that exclude each other. */
static int deploy_args_combine(const struct deploy_args *a, char *err, size_t errlen)
{
	if (a->all_hosts && a->hosts.n)
		return usage_fail(err, errlen, "choose --hosts or --all-hosts, not both");
	if (a->retry_failed && (a->all_hosts || a->hosts.n))
		return usage_fail(
		    err, errlen,
		    "--retry-failed takes the hosts the last fleet deploy left behind; "
		    "drop --hosts / --all-hosts");
	if (a->build && a->no_build)
		return usage_fail(err, errlen, "choose --build or --no-build, not both");

	if (a->force_recreate && a->runtime != LEDGER_RT_DOCKER)
		return usage_fail(err, errlen,
				  "--force-recreate is only supported with --runtime docker");
	return 0;
}

/* What to deploy, from the npos words left: main, current-branch, branch NAME, or a REF. */
static int deploy_arg_target(const char *const *pos, size_t npos, struct deploy_args *a, char *err,
			     size_t errlen)
{
	int r;

	if (npos == 1 && streq(pos[0], "main")) {
		a->mode = DEPLOY_MAIN;
	} else if ((npos == 1 && streq(pos[0], "current-branch")) ||
		   (npos == 2 && streq(pos[0], "current") && streq(pos[1], "branch"))) {
		a->mode = DEPLOY_CURRENT_BRANCH;
	} else if (npos >= 1 && streq(pos[0], "branch")) {
		if (npos != 2)
			return usage_fail(err, errlen,
					  npos == 1 ? "'branch' needs a NAME: deploy branch NAME"
						    : "too many arguments after 'branch NAME'");
		r = target_check("branch name", pos[1], err, errlen);
		if (r < 0)
			return r;
		a->mode = DEPLOY_BRANCH;
		a->target = xstrdup(pos[1]);
	} else if (npos == 1) {
		r = target_check("ref", pos[0], err, errlen);
		if (r < 0)
			return r;
		a->mode = DEPLOY_REF;
		a->target = xstrdup(pos[0]);
	} else if (npos == 0 && a->retry_failed) {
		a->mode = DEPLOY_REF; /* the last fleet deploy's target */
	} else if (npos == 0) {
		return usage_fail(err, errlen,
				  "what to deploy is missing; give main, current-branch, branch "
				  "NAME or a REF");
	} else {
		return usage_fail(err, errlen,
				  "unexpected argument '%s'; give main, current-branch, branch "
				  "NAME or one REF",
				  pos[1]);
	}
	return 0;
}

int deploy_args_parse(int argc, char **argv, struct deploy_args *a, char *err, size_t errlen)
{
	const char *pos[3];
	size_t npos = 0;
	bool opts_done = false;
	int r = 0;

	*a = (struct deploy_args){.runtime = -1};
	for (int i = 1; i < argc && r >= 0; i++) {
		const char *arg = argv[i];

		if (opts_done || arg[0] != '-' || arg[1] == '\0') {
			if (npos >= ELEMENTSOF(pos))
				r = usage_fail(err, errlen,
					       "too many arguments ('%s' is extra); give main, "
					       "current-branch, branch NAME or one REF",
					       arg);
			else
				pos[npos++] = arg;
		} else if (streq(arg, "--")) {
			opts_done = true;
		} else {
			r = deploy_arg_option(argc, argv, &i, a, err, errlen);
		}
	}
	if (r >= 0)
		r = deploy_args_combine(a, err, errlen);
	if (r >= 0)
		r = deploy_arg_target(pos, npos, a, err, errlen);
	if (r >= 0 && a->pin[0] && a->mode == DEPLOY_CURRENT_BRANCH)
		r = usage_fail(err, errlen,
			       "--pin applies to main, branch NAME or a REF, not current-branch");
	if (r < 0) {
		deploy_args_release(a);
		return r;
	}
	return 0;
}

void deploy_args_release(struct deploy_args *a)
{
	if (!a)
		return;
	free(a->target);
	a->target = NULL;
	scope_args_release(&a->scope);
	strv_free(&a->hosts);
}

/* ---- the scope ---------------------------------------------------------------------------- */

static char *services_known(const struct config *cfg)
{
	struct strv names = {0};
	char *s;

	for (size_t i = 0; i < cfg->nservices; i++)
		strv_push(&names, cfg->services[i].name);
	s = strv_join(&names, ", ");
	strv_free(&names);
	return s;
}

static bool kind_selects(enum scope_kind k, enum role r)
{
	switch (k) {
	case SCOPE_FULL:
		return true;
	case SCOPE_WEB:
		return r == ROLE_WEB;
	case SCOPE_API:
		return r == ROLE_API;
	case SCOPE_SERVICES:
		return r == ROLE_API || r == ROLE_WORKER;
	case SCOPE_WORKERS:
		return r == ROLE_WORKER;
	case SCOPE_PIECES:
		break;
	}
	return false;
}

static const char *kind_desc(enum scope_kind k)
{
	switch (k) {
	case SCOPE_FULL:
		return "full stack";
	case SCOPE_WEB:
		return "web only";
	case SCOPE_API:
		return "api only";
	case SCOPE_SERVICES:
		return "api + backend services";
	case SCOPE_WORKERS:
		return "worker services only";
	case SCOPE_PIECES:
		break;
	}
	return "pieces";
}

int plan_scope(const struct config *cfg, const struct scope_args *s, int runtime, bool fast,
	       struct plan *p, char *err, size_t errlen)
{
	bool selected[LEDGER_MAX_SERVICES] = {0};
	enum scope_kind kind = s ? s->kind : SCOPE_FULL;
	bool native = runtime != LEDGER_RT_DOCKER;
	size_t nsel = 0;

	*p = (struct plan){0}; /* cfg->nservices <= LEDGER_MAX_SERVICES: config_load checks it */
	if (kind == SCOPE_PIECES) {
		for (size_t i = 0; i < s->pieces.n; i++) {
			int idx = config_service_index(cfg, s->pieces.v[i]);
			if (idx < 0) {
				_cleanup_free_ char *known = services_known(cfg);
				return usage_fail(err, errlen,
						  "unknown service '%s' in --pieces; "
						  "known services: %s",
						  s->pieces.v[i], known);
			}
			if (!selected[idx])
				nsel++;
			selected[idx] = true;
		}
		/* The reference's later rule: naming every service is a full deploy for --fast. */
		if (fast && nsel == cfg->nservices)
			kind = SCOPE_FULL;
	}
	if (fast && kind == SCOPE_FULL) {
		kind = native ? SCOPE_WORKERS : SCOPE_SERVICES;
		p->fast_narrowed = true;
		snprintf(p->notice, sizeof(p->notice),
			 "--fast: full %s deploy narrowed to --%s (%s); give a scope flag or "
			 "--pieces to choose",
			 native ? "native" : "docker", scope_flag_name(kind), kind_desc(kind));
	}
	if (kind != SCOPE_PIECES)
		for (size_t i = 0; i < cfg->nservices; i++)
			selected[i] = kind_selects(kind, cfg->services[i].role);

	for (size_t i = 0; i < cfg->nservices; i++) {
		enum role r = cfg->services[i].role;
		if (!selected[i])
			continue;
		p->services[p->nservices++] = i;
		if (cfg->policy.edge_role[r])
			p->touches_edge = true;
		if (r == ROLE_WEB)
			p->web_in_scope = true;
		if (r == ROLE_API)
			p->api_in_scope = true;
	}
	if (p->nservices == 0) {
		_cleanup_free_ char *known = services_known(cfg);
		if (p->fast_narrowed)
			return usage_fail(err, errlen,
					  "--fast narrowed the %s deploy to --%s, but "
					  "no service has that role; give a scope flag or --pieces "
					  "(known services: %s)",
					  native ? "native" : "docker", scope_flag_name(kind),
					  known);
		return usage_fail(err, errlen,
				  "--%s selects no service: none has that role; "
				  "known services: %s",
				  scope_flag_name(kind), known);
	}

	if (kind == SCOPE_PIECES) {
		struct buf b = {0};
		buf_printf(&b, "pieces: ");
		for (size_t i = 0; i < p->nservices; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", cfg->services[p->services[i]].name);
		if (b.len >= sizeof(p->scope_desc))
			memcpy(b.data + sizeof(p->scope_desc) - 4, "...", 4);
		strlcpy_(p->scope_desc, b.data, sizeof(p->scope_desc));
		buf_free(&b);
	} else {
		strlcpy_(p->scope_desc, kind_desc(kind), sizeof(p->scope_desc));
	}
	return 0;
}

bool plan_edge_allowed(const struct plan *p, int runtime, bool edge_ready_flag,
		       const char *env_value)
{
	_cleanup_free_ char *v = NULL;

	if (runtime == LEDGER_RT_DOCKER || !p->touches_edge || edge_ready_flag)
		return true;
	if (!env_value)
		return false;
	v = str_trim(xstrdup(env_value));
	return streq(v, "1");
}
