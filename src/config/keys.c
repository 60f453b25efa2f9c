/* SPDX-License-Identifier: MIT */
/* The keys of shiplog.conf: the one table of sections and keys, and what each key's value must
 * be and where it goes in struct config. Messages are "[section] key: problem; fix" (key_fail),
 * with the file and line put in front by parse_fail_line. */
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "values.h"

const char *const section_label[SEC__COUNT] = {
    [SEC_NONE] = "",
    [SEC_PROJECT] = "project",
    [SEC_TARGET] = "target",
    [SEC_GIT] = "git",
    [SEC_NATIVE] = "runtime native",
    [SEC_DOCKER] = "runtime docker",
    [SEC_SERVICE] = "service NAME",
    [SEC_PUBLIC] = "public",
    [SEC_POLICY] = "policy",
    [SEC_HOOKS] = "hooks",
    [SEC_SOAK] = "soak",
    [SEC_HOST] = "host NAME",
    [SEC_FLEET] = "fleet",
    [SEC_EDGE] = "edge",
};

const struct key_def keys[K__COUNT] = {
    [K_PROJECT_NAME] = {SEC_PROJECT, "name", KT_SINGLE},
    [K_TARGET_CHECKOUT] = {SEC_TARGET, "checkout", KT_SINGLE},
    [K_TARGET_SSH] = {SEC_TARGET, "ssh", KT_SINGLE},
    [K_TARGET_SSH_KEY] = {SEC_TARGET, "ssh_key", KT_SINGLE},
    [K_TARGET_SSH_OPTIONS] = {SEC_TARGET, "ssh_options", KT_COMMAS},
    [K_TARGET_SHIPLOG] = {SEC_TARGET, "shiplog", KT_SINGLE},
    [K_TARGET_LOCAL_EXEC] = {SEC_TARGET, "local_exec", KT_SINGLE},
    [K_TARGET_ALLOW_UNTRACKED] = {SEC_TARGET, "allow_untracked", KT_LIST},
    [K_TARGET_LEDGER] = {SEC_TARGET, "ledger", KT_SINGLE},
    [K_TARGET_LAYOUT] = {SEC_TARGET, "layout", KT_SINGLE},
    [K_TARGET_KEEP_RELEASES] = {SEC_TARGET, "keep_releases", KT_SINGLE},
    [K_TARGET_CARRY] = {SEC_TARGET, "carry", KT_COMMAS},
    [K_TARGET_SHARED] = {SEC_TARGET, "shared", KT_COMMAS},
    [K_TARGET_CARRY_METHOD] = {SEC_TARGET, "carry_method", KT_SINGLE},
    [K_GIT_MAIN_BRANCH] = {SEC_GIT, "main_branch", KT_SINGLE},
    [K_GIT_REMOTE] = {SEC_GIT, "remote", KT_SINGLE},
    [K_GIT_REMOTE_CANDIDATES] = {SEC_GIT, "remote_candidates", KT_COMMAS},
    [K_NATIVE_MANAGER] = {SEC_NATIVE, "manager", KT_SINGLE},
    [K_NATIVE_BUILD] = {SEC_NATIVE, "build", KT_LIST},
    [K_NATIVE_BUILD_WHEN_CHANGED] = {SEC_NATIVE, "build_when_changed", KT_COMMAS},
    [K_NATIVE_ENV_FILE] = {SEC_NATIVE, "env_file", KT_SINGLE},
    [K_NATIVE_UNIT_DIR] = {SEC_NATIVE, "unit_dir", KT_SINGLE},
    [K_NATIVE_EXEC] = {SEC_NATIVE, "exec", KT_SINGLE},
    [K_NATIVE_LOG_DIR] = {SEC_NATIVE, "log_dir", KT_SINGLE},
    [K_DOCKER_WORKDIR] = {SEC_DOCKER, "workdir", KT_SINGLE},
    [K_DOCKER_PROJECT] = {SEC_DOCKER, "project", KT_SINGLE},
    [K_DOCKER_FOREIGN_PROJECTS] = {SEC_DOCKER, "foreign_projects", KT_COMMAS},
    [K_SERVICE_ROLE] = {SEC_SERVICE, "role", KT_SINGLE},
    [K_SERVICE_UNIT] = {SEC_SERVICE, "unit", KT_SINGLE},
    [K_SERVICE_COMPOSE] = {SEC_SERVICE, "compose", KT_SINGLE},
    [K_SERVICE_BUILD] = {SEC_SERVICE, "build", KT_LIST},
    [K_SERVICE_HEALTH] = {SEC_SERVICE, "health", KT_LIST},
    [K_SERVICE_ENV_FILE] = {SEC_SERVICE, "env_file", KT_LIST},
    [K_SERVICE_ENV] = {SEC_SERVICE, "env", KT_LIST},
    [K_SERVICE_BEFORE_RESTART] = {SEC_SERVICE, "before_restart", KT_LIST},
    [K_SERVICE_AFTER_VERIFY] = {SEC_SERVICE, "after_verify", KT_LIST},
    [K_SERVICE_AFTER_ROLLBACK] = {SEC_SERVICE, "after_rollback", KT_LIST},
    [K_HOOKS_BEFORE_RESTART] = {SEC_HOOKS, "before_restart", KT_LIST},
    [K_HOOKS_AFTER_VERIFY] = {SEC_HOOKS, "after_verify", KT_LIST},
    [K_HOOKS_AFTER_ROLLBACK] = {SEC_HOOKS, "after_rollback", KT_LIST},
    [K_PUBLIC_APP_URL] = {SEC_PUBLIC, "app_url", KT_SINGLE},
    [K_PUBLIC_API_HEALTH_URL] = {SEC_PUBLIC, "api_health_url", KT_SINGLE},
    [K_POLICY_EDGE_ROLES] = {SEC_POLICY, "edge_roles", KT_COMMAS},
    [K_POLICY_ON_FAILURE] = {SEC_POLICY, "on_failure", KT_SINGLE},
    [K_POLICY_SETTLE] = {SEC_POLICY, "settle", KT_SINGLE},
    [K_POLICY_HEALTH_TIMEOUT] = {SEC_POLICY, "health_timeout", KT_SINGLE},
    [K_POLICY_BASELINE_OPS] = {SEC_POLICY, "baseline_ops", KT_SINGLE},
    [K_SOAK_MAX_RESTARTS] = {SEC_SOAK, "max_restarts", KT_SINGLE},
    [K_SOAK_MAX_NOT_ACTIVE] = {SEC_SOAK, "max_not_active", KT_SINGLE},
    [K_SOAK_MAX_ERROR_LINES] = {SEC_SOAK, "max_error_lines", KT_SINGLE},
    [K_SOAK_MAX_MEMORY_GROWTH] = {SEC_SOAK, "max_memory_growth", KT_SINGLE},
    [K_SOAK_ERROR_PATTERN] = {SEC_SOAK, "error_pattern", KT_LIST},
    [K_SOAK_LOG_LINES] = {SEC_SOAK, "log_lines", KT_SINGLE},
    [K_HOST_SSH] = {SEC_HOST, "ssh", KT_SINGLE},
    [K_HOST_CHECKOUT] = {SEC_HOST, "checkout", KT_SINGLE},
    [K_HOST_SHIPLOG] = {SEC_HOST, "shiplog", KT_SINGLE},
    [K_HOST_SSH_KEY] = {SEC_HOST, "ssh_key", KT_SINGLE},
    [K_HOST_SSH_OPTIONS] = {SEC_HOST, "ssh_options", KT_COMMAS},
    [K_HOST_SERVICES] = {SEC_HOST, "services", KT_COMMAS},
    [K_HOST_LABELS] = {SEC_HOST, "labels", KT_COMMAS},
    [K_FLEET_CANARY] = {SEC_FLEET, "canary", KT_COMMAS},
    [K_FLEET_WAVE_SIZE] = {SEC_FLEET, "wave_size", KT_SINGLE},
    [K_FLEET_PARALLELISM] = {SEC_FLEET, "parallelism", KT_SINGLE},
    [K_FLEET_MAX_FAILED_HOSTS] = {SEC_FLEET, "max_failed_hosts", KT_SINGLE},
    [K_FLEET_PAUSE] = {SEC_FLEET, "pause", KT_SINGLE},
    [K_FLEET_ON_FAILURE] = {SEC_FLEET, "on_failure", KT_SINGLE},
    [K_FLEET_HOST_TIMEOUT] = {SEC_FLEET, "host_timeout", KT_SINGLE},
    [K_SOAK_EVERY] = {SEC_SOAK, "every", KT_SINGLE},
    [K_SOAK_DURATION] = {SEC_SOAK, "duration", KT_SINGLE},
    [K_EDGE_SWITCH] = {SEC_EDGE, "switch", KT_SINGLE},
    [K_EDGE_REVERT] = {SEC_EDGE, "revert", KT_SINGLE},
};

void unknown_key(struct parse *p, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	struct buf known = {0};

	for (size_t i = 0; i < K__COUNT; i++) {
		if (keys[i].sec != p->sec)
			continue;
		size_t d = edit_distance(name, keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = keys[i].name;
		}
		buf_printf(&known, "%s%s", known.len ? ", " : "", keys[i].name);
	}
	if (best) {
		key_fail(p, name, "unknown key; did you mean '%s'?", best);
	} else {
		const char *elsewhere = NULL;
		for (size_t i = 0; i < K__COUNT && !elsewhere; i++)
			if (streq(keys[i].name, name))
				elsewhere = section_label[keys[i].sec];
		if (elsewhere)
			key_fail(p, name, "unknown key here; it belongs in [%s]", elsewhere);
		else
			key_fail(p, name, "unknown key; known keys in this section: %s",
				 known.data ? known.data : "(none)");
	}
	buf_free(&known);
}

static const char *const local_exec_names[] = {"auto", "always", "never"};
static const char *const layout_names[] = {"in-place", "releases"};
static const char *const carry_method_names[] = {"auto", "hardlink"};
static const char *const manager_names[] = {"user", "system"};
static const char *const on_failure_names[] = {"rollback", "stop"};

#define ENUM_SET(p, field, key, v, names, hint)                                                    \
	do {                                                                                       \
		int e_ = enum_parse((v), (names), ELEMENTSOF(names));                              \
		if (e_ < 0)                                                                        \
			key_fail((p), (key), "'%s' is not valid; use %s", (v), (hint));            \
		else                                                                               \
			(field) = e_;                                                              \
	} while (0)

static void str_set(char **field, const char *v)
{
	free(*field);
	*field = str_empty(v) ? NULL : xstrdup(v);
}

static void hook_value(struct parse *p, struct strv *hooks, const char *name, const char *v)
{
	struct strv argv = {0};
	char herr[256];
	bool shell;

	if (hook_parse(v, &argv, &shell, herr, sizeof(herr)) < 0)
		key_fail(p, name, "%s", herr);
	else
		strv_push(hooks, v);
	strv_free(&argv);
}

static void service_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct service *s = p->svc;
	struct health_spec h;
	char herr[256];
	int role;

	switch (k) {
	case K_SERVICE_ROLE:
		role = role_from_name(v);
		if (role < 0)
			key_fail(p, name, "'%s' is not a role; use web, api or worker", v);
		else
			s->role = (enum role)role;
		break;
	case K_SERVICE_UNIT:
		if (!unit_name_valid(v))
			key_fail(p, name,
				 "'%s' is not a systemd unit name; use letters, digits and "
				 ":-_.\\@, e.g. myapp-web.service",
				 v);
		else {
			free(s->unit);
			s->unit = unit_normalize(v);
		}
		break;
	case K_SERVICE_COMPOSE:
		if (!name_valid(v, "-_."))
			key_fail(p, name,
				 "'%s' is not a compose service name; use letters, digits, "
				 "'-', '_' and '.'",
				 v);
		else
			str_set(&s->compose, v);
		break;
	case K_SERVICE_BUILD:
		strv_push(&s->build, v);
		break;
	case K_SERVICE_ENV_FILE:
		strv_push_take(&s->env_files, expand_home(v));
		break;
	case K_SERVICE_ENV: {
		size_t n = strcspn(v, "=");
		if (!v[n] || n == 0 || !env_name_valid(v, n))
			key_fail(p, name,
				 "'%.*s' is not NAME=value; write e.g. env = NODE_ENV=production "
				 "(letters, digits and '_', not starting with a digit)",
				 (int)(v[n] ? n : strlen(v)), v);
		else
			strv_push(&s->env, v);
		break;
	}
	case K_SERVICE_BEFORE_RESTART:
	case K_SERVICE_AFTER_VERIFY:
	case K_SERVICE_AFTER_ROLLBACK:
		hook_value(p, &s->hooks[k - K_SERVICE_BEFORE_RESTART], name, v);
		break;
	case K_SERVICE_HEALTH:
		if (health_spec_parse(v, &h, herr, sizeof(herr)) < 0) {
			key_fail(p, name, "%s", herr);
			break;
		}
		h.line = p->line;
		s->health = xrealloc(s->health, (s->nhealth + 1) * sizeof(*s->health));
		s->health[s->nhealth++] = h;
		break;
	default:
		break;
	}
}

void ssh_options_value(struct parse *p, const char *name, const char *v, struct strv *dst)
{
	struct strv add = {0};

	strv_split_commas(&add, v);
	for (size_t i = 0; i < add.n; i++) {
		if (!strchr(add.v[i], '=') || add.v[i][0] == '-') {
			key_fail(p, name,
				 "'%s' is not an ssh option; write Name=value, e.g. "
				 "StrictHostKeyChecking=accept-new",
				 add.v[i]);
			break;
		}
		if (!ssh_option_allowed(add.v[i])) {
			struct buf allowed = {0};

			for (size_t j = 0; j < ssh_options_allowed_count; j++)
				buf_printf(&allowed, "%s%s", j ? ", " : "", ssh_options_allowed[j]);
			key_fail(p, name,
				 "'%.*s' is not an allowed ssh option (an option that can run a "
				 "command, load code, forward or redirect the connection is "
				 "refused); remove it, or use one of: %s",
				 (int)strcspn(add.v[i], "="), add.v[i], allowed.data);
			buf_free(&allowed);
			break;
		}
		if (strncasecmp(add.v[i], "UserKnownHostsFile=", 19) == 0 &&
		    !ssh_known_hosts_allowed(add.v[i] + 19)) {
			key_fail(p, name,
				 "'%s': ssh adds host keys to that file "
				 "(StrictHostKeyChecking=accept-new, UpdateHostKeys), so a "
				 "shiplog.conf may only name a known_hosts file in ~/.ssh, "
				 "e.g. UserKnownHostsFile=~/.ssh/deploy_known_hosts (or "
				 "/dev/null); for a file elsewhere set DEPLOY_SSH_KNOWN_HOSTS "
				 "in your own environment",
				 add.v[i]);
			break;
		}
		strv_push(dst, add.v[i]);
	}
	strv_free(&add);
}

/* [target] carry and shared (lists): relative paths inside a release, without '..'. */
static void release_paths_add(struct parse *p, const char *name, const char *v, struct strv *to)
{
	struct strv add = {0};

	strv_split_commas(&add, v);
	for (size_t i = 0; i < add.n; i++) {
		if (!release_subpath_valid(add.v[i])) {
			key_fail(p, name,
				 "'%s' is not a path inside a release; write a relative path "
				 "without '..', e.g. node_modules",
				 add.v[i]);
			break;
		}
		strv_push(to, add.v[i]);
	}
	strv_free(&add);
}

static void keep_releases_set(struct parse *p, const char *name, const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || errno || n < 1 || n > 10000)
		key_fail(p, name, "'%s' is not a count of at least 1; write e.g. 5", v);
	else
		p->cfg->target.keep_releases = (unsigned)n;
}

/* The [target] keys: where and how the code is deployed. */
static void target_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct config *c = p->cfg;

	switch (k) {
	case K_TARGET_CHECKOUT:
		free(c->target.checkout);
		c->target.checkout = path_resolve(c->dir, v);
		break;
	case K_TARGET_SSH:
		if (!ssh_valid(v))
			key_fail(p, name,
				 "'%s' is not user@host[:port]; write e.g. "
				 "deploy@203.0.113.10 or deploy@host:2222",
				 v);
		else
			str_set(&c->target.ssh, v);
		break;
	case K_TARGET_SSH_KEY:
		free(c->target.ssh_key);
		c->target.ssh_key = path_resolve(c->dir, v);
		break;
	case K_TARGET_SSH_OPTIONS:
		ssh_options_value(p, name, v, &c->target.ssh_options);
		break;
	case K_TARGET_SHIPLOG:
		str_set(&c->target.shiplog, v);
		break;
	case K_TARGET_LOCAL_EXEC:
		ENUM_SET(p, c->target.local_exec, name, v, local_exec_names,
			 "auto, always or never");
		break;
	case K_TARGET_ALLOW_UNTRACKED:
		strv_push(&c->target.allow_untracked, v);
		break;
	case K_TARGET_LEDGER:
		free(c->target.ledger);
		c->target.ledger = path_resolve(c->dir, v);
		break;
	case K_TARGET_LAYOUT:
		ENUM_SET(p, c->target.layout, name, v, layout_names, "in-place or releases");
		break;
	case K_TARGET_KEEP_RELEASES:
		keep_releases_set(p, name, v);
		break;
	case K_TARGET_CARRY_METHOD:
		ENUM_SET(p, c->target.carry_method, name, v, carry_method_names,
			 "auto (reflinks, else copies) or hardlink (read-only hard links)");
		break;
	case K_TARGET_CARRY:
	case K_TARGET_SHARED:
		release_paths_add(p, name, v,
				  k == K_TARGET_CARRY ? &c->target.carry : &c->target.shared);
		break;
	default:
		break;
	}
}

/* The [git] keys. */
static void git_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct config *c = p->cfg;

	switch (k) {
	case K_GIT_MAIN_BRANCH:
		if (!refname_valid(v))
			key_fail(p, name, "'%s' is not a branch name; write e.g. main", v);
		else
			str_set(&c->git.main_branch, v);
		break;
	case K_GIT_REMOTE:
		if (!refname_valid(v))
			key_fail(p, name, "'%s' is not a remote name; use auto or a remote's name",
				 v);
		else
			str_set(&c->git.remote, v);
		break;
	case K_GIT_REMOTE_CANDIDATES: {
		struct strv add = {0};
		if (!p->candidates_given) {
			strv_free(&c->git.remote_candidates);
			p->candidates_given = true;
		}
		strv_split_commas(&add, v);
		for (size_t i = 0; i < add.n; i++) {
			if (!refname_valid(add.v[i]) || streq(add.v[i], "auto")) {
				key_fail(p, name,
					 "'%s' is not a remote name; list remote names, "
					 "e.g. forgejo, origin, github",
					 add.v[i]);
				break;
			}
			strv_push(&c->git.remote_candidates, add.v[i]);
		}
		strv_free(&add);
		break;
	}
	default:
		break;
	}
}

/* The [runtime native] and [runtime docker] keys. */
static void runtime_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct config *c = p->cfg;

	switch (k) {
	case K_NATIVE_MANAGER:
		ENUM_SET(p, c->native.manager, name, v, manager_names, "user or system");
		break;
	case K_NATIVE_BUILD:
		strv_push(&c->native.build, v);
		break;
	case K_NATIVE_BUILD_WHEN_CHANGED:
		strv_split_commas(&c->native.build_when_changed, v);
		break;
	case K_NATIVE_ENV_FILE:
		free(c->native.env_file);
		c->native.env_file = str_empty(v) ? NULL : expand_home(v);
		break;
	case K_NATIVE_UNIT_DIR:
		free(c->native.unit_dir);
		c->native.unit_dir = expand_home(v);
		break;
	case K_NATIVE_EXEC:
		free(c->native.exec);
		c->native.exec = str_empty(v) ? NULL : expand_home(v);
		break;
	case K_NATIVE_LOG_DIR:
		free(c->native.log_dir);
		c->native.log_dir = str_empty(v) ? NULL : expand_home(v);
		break;
	case K_DOCKER_WORKDIR:
		str_set(&c->docker.workdir, v);
		break;
	case K_DOCKER_PROJECT:
		if (!name_valid(v, "-_") ||
		    !(islower((unsigned char)v[0]) || isdigit((unsigned char)v[0])))
			key_fail(p, name,
				 "'%s' is not a compose project name; use lowercase "
				 "letters, digits, '-' and '_', starting with a letter or digit",
				 v);
		else
			str_set(&c->docker.project, v);
		break;
	case K_DOCKER_FOREIGN_PROJECTS:
		strv_split_commas(&c->docker.foreign_projects, v);
		break;
	default:
		break;
	}
}

/* The [public], [policy] and [hooks] keys. */
static void policy_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct config *c = p->cfg;
	int64_t ns;
	int role;

	switch (k) {
	case K_PUBLIC_APP_URL:
	case K_PUBLIC_API_HEALTH_URL:
		if (!str_empty(v) && !url_valid(v)) {
			key_fail(p, name,
				 "'%s' is not an http:// or https:// URL; write the full URL "
				 "or leave it empty",
				 v);
			break;
		}
		str_set(k == K_PUBLIC_APP_URL ? &c->public_.app_url : &c->public_.api_health_url,
			v);
		break;
	case K_POLICY_EDGE_ROLES: {
		struct strv add = {0};
		if (!p->edge_roles_given) {
			memset(c->policy.edge_role, 0, sizeof(c->policy.edge_role));
			p->edge_roles_given = true;
		}
		strv_split_commas(&add, v);
		for (size_t i = 0; i < add.n; i++) {
			role = role_from_name(add.v[i]);
			if (role < 0) {
				key_fail(p, name, "'%s' is not a role; list web, api or worker",
					 add.v[i]);
				break;
			}
			c->policy.edge_role[role] = true;
		}
		strv_free(&add);
		break;
	}
	case K_POLICY_ON_FAILURE:
		ENUM_SET(p, c->policy.on_failure, name, v, on_failure_names, "rollback or stop");
		break;
	case K_POLICY_SETTLE:
	case K_POLICY_HEALTH_TIMEOUT:
		if (parse_duration_ns(v, &ns) < 0)
			key_fail(p, name, "'%s' is not a duration; write e.g. 500ms, 5s or 2m", v);
		else if (k == K_POLICY_HEALTH_TIMEOUT && ns <= 0)
			key_fail(p, name, "'%s' is zero; give the checks some time, e.g. 60s", v);
		else if (k == K_POLICY_SETTLE)
			c->policy.settle_ns = ns;
		else
			c->policy.health_timeout_ns = ns;
		break;
	case K_POLICY_BASELINE_OPS: {
		char *end;
		unsigned long n;
		errno = 0;
		n = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end || errno || n < 1 || n > 100000)
			key_fail(p, name,
				 "'%s' is not a count from 1 to 100000; write e.g. 50 (the "
				 "comparable operations the ETA and the regression check read)",
				 v);
		else
			c->policy.baseline_ops = (uint32_t)n;
		break;
	}
	case K_HOOKS_BEFORE_RESTART:
	case K_HOOKS_AFTER_VERIFY:
	case K_HOOKS_AFTER_ROLLBACK:
		hook_value(p, &c->hooks[k - K_HOOKS_BEFORE_RESTART], name, v);
		break;
	default:
		break;
	}
}

/* A count: digits only, at most 1000000. */
static bool count_value(const char *v, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)v[0]))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end || errno || n > 1000000)
		return false;
	*out = (unsigned)n;
	return true;
}

/* The [soak] keys: the thresholds of a soak's verdict and what its report shows. */
static void soak_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct config *c = p->cfg;
	unsigned n;

	switch (k) {
	case K_SOAK_MAX_RESTARTS:
	case K_SOAK_MAX_NOT_ACTIVE:
	case K_SOAK_MAX_ERROR_LINES:
	case K_SOAK_LOG_LINES:
		if (!count_value(v, &n)) {
			key_fail(p, name, "'%s' is not a count; write e.g. 0 or 5", v);
			break;
		}
		if (k == K_SOAK_MAX_RESTARTS)
			c->soak.max_restarts = n;
		else if (k == K_SOAK_MAX_NOT_ACTIVE)
			c->soak.max_not_active = n;
		else if (k == K_SOAK_MAX_ERROR_LINES)
			c->soak.max_error_lines = n;
		else
			c->soak.log_lines = n;
		break;
	case K_SOAK_MAX_MEMORY_GROWTH: {
		size_t len = strlen(v);
		char num[16];

		if (streq(v, "off")) {
			c->soak.max_memory_growth_pct = 0;
			break;
		}
		if (len < 2 || len > sizeof(num) || v[len - 1] != '%') {
			key_fail(p, name, "'%s' is not a percentage; write e.g. 50%% or off", v);
			break;
		}
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		if (!count_value(num, &n) || n == 0)
			key_fail(p, name, "'%s' is not a percentage; write e.g. 50%% or off", v);
		else
			c->soak.max_memory_growth_pct = n;
		break;
	}
	case K_SOAK_EVERY:
	case K_SOAK_DURATION: {
		int64_t ns;
		if (parse_duration_ns(v, &ns) < 0 || ns <= 0)
			key_fail(p, name, "'%s' is not a duration above 0; write e.g. 10s or 1h",
				 v);
		else if (k == K_SOAK_EVERY)
			c->soak.every_ns = ns;
		else
			c->soak.duration_ns = ns;
		break;
	}
	case K_SOAK_ERROR_PATTERN: {
		regex_t re;
		int rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			key_fail(p, name,
				 "'%s' is not a POSIX extended regular expression (%s); write e.g. "
				 "panic|FATAL",
				 v, why);
			break;
		}
		regfree(&re);
		if (!p->soak_patterns_given) {
			strv_free(&c->soak.error_patterns);
			p->soak_patterns_given = true;
		}
		strv_push(&c->soak.error_patterns, v);
		break;
	}
	default:
		break;
	}
}

/* The [edge] keys: the operator's proxy switch and its revert, each an argv (words split like a
 * shell would, without expansion; never run through a shell), run by a cut-over of an edge
 * role. A word that only a shell would understand is refused: nothing would interpret it. */
static void edge_value(struct parse *p, enum key k, const char *name, const char *v)
{
	static const char *const shell_words[] = {"|", "||", "&", "&&", ";", ">", ">>", "<"};
	struct strv *argv =
	    k == K_EDGE_SWITCH ? &p->cfg->edge.switch_argv : &p->cfg->edge.revert_argv;
	char err[256];

	strv_free(argv);
	if (config_words_split(v, argv, err, sizeof(err)) < 0) {
		key_fail(p, name, "%s", err);
		return;
	}
	if (!argv->n) {
		key_fail(p, name,
			 "empty; write the command and its arguments, e.g. '%s = "
			 "bin/proxy-switch native'",
			 name);
		return;
	}
	for (size_t i = 0; i < argv->n; i++)
		for (size_t j = 0; j < ELEMENTSOF(shell_words); j++)
			if (streq(argv->v[i], shell_words[j]) || str_startswith(argv->v[i], "$(")) {
				key_fail(p, name,
					 "'%s' is shell syntax, and the command runs without a "
					 "shell (argv); put the pipeline in a script and name the "
					 "script",
					 argv->v[i]);
				return;
			}
}

void key_value(struct parse *p, enum key k, const char *name, const char *v)
{
	if (keys[k].sec == SEC_EDGE) {
		edge_value(p, k, name, v);
		return;
	}
	if (keys[k].sec == SEC_SOAK) {
		soak_value(p, k, name, v);
		return;
	}
	switch (keys[k].sec) {
	case SEC_PROJECT:
		/* name: it names the ledger directory: a plain file name, never "." or ".." */
		if (!name_valid(v, "._-") || !isalnum((unsigned char)v[0]))
			key_fail(p, name,
				 "'%s' is not a valid project name; use letters, digits, "
				 "'.', '_' and '-', starting with a letter or digit (at most 63)",
				 v);
		else
			str_set(&p->cfg->project, v);
		break;
	case SEC_TARGET:
		target_value(p, k, name, v);
		break;
	case SEC_GIT:
		git_value(p, k, name, v);
		break;
	case SEC_NATIVE:
	case SEC_DOCKER:
		runtime_value(p, k, name, v);
		break;
	case SEC_SERVICE:
		service_value(p, k, name, v);
		break;
	case SEC_HOST:
	case SEC_FLEET:
		fleet_key_value(p, k, name, v);
		break;
	default:
		policy_value(p, k, name, v);
		break;
	}
}

bool key_may_be_empty(enum key k)
{
	switch (k) {
	case K_TARGET_SSH:
	case K_TARGET_SSH_KEY:
	case K_TARGET_LEDGER:
	case K_NATIVE_ENV_FILE:
	case K_NATIVE_EXEC:
	case K_NATIVE_LOG_DIR:
	case K_PUBLIC_APP_URL:
	case K_PUBLIC_API_HEALTH_URL:
		return true;
	default:
		return keys[k].type == KT_COMMAS;
	}
}
