/* SPDX-License-Identifier: MIT */
/* shiplog.conf: read with inih through our own line reader (which counts lines, enforces inih's
 * 200-character limit, strips indentation and sees section headers), checked against one key
 * table, then validated as a whole. Any error frees everything: nothing is half-parsed. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <jansson.h>
#include <ledger/ledger.h>

#include "out.h"
#include "util.h"

#define CONFIG_FILE_MAX (1u << 20)
#define NAME_MAX_LEN 63

const char *hook_point_name(enum hook_point h)
{
	static const char *const names[HOOK__COUNT] = {"before_restart", "after_verify",
						       "after_rollback"};

	return (unsigned)h < HOOK__COUNT ? names[h] : "?";
}

int hook_parse(const char *text, struct strv *argv, bool *shell, char *err, size_t errlen)
{
	json_error_t je;
	json_t *a, *w;
	size_t i;

	*shell = text[0] != '[';
	if (*shell) {
		strv_push(argv, "/bin/sh");
		strv_push(argv, "-c");
		strv_push(argv, text);
		return 0;
	}
	a = json_loads(text, 0, &je);
	if (!a || !json_is_array(a) || json_array_size(a) == 0) {
		snprintf(
		    err, errlen,
		    "'%s' is not an argv list; write [\"bin/migrate\", \"up\"] (a JSON array of "
		    "strings), or a shell command that does not start with '['",
		    text);
		json_decref(a);
		return -EINVAL;
	}
	json_array_foreach(a, i, w)
	{
		if (!json_is_string(w)) {
			snprintf(err, errlen, "'%s': element %zu is not a string; quote every word",
				 text, i + 1);
			json_decref(a);
			strv_free(argv);
			return -EINVAL;
		}
		strv_push(argv, json_string_value(w));
	}
	json_decref(a);
	return 0;
}

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_WEB:
		return "web";
	case ROLE_API:
		return "api";
	case ROLE_WORKER:
		return "worker";
	default:
		return "unknown";
	}
}

static int role_from_name(const char *s)
{
	for (int r = 0; r < ROLE__COUNT; r++)
		if (streq(s, role_name((enum role)r)))
			return r;
	return -1;
}

/* ---- the key table ------------------------------------------------------------------------ */

enum section {
	SEC_NONE,
	SEC_PROJECT,
	SEC_TARGET,
	SEC_GIT,
	SEC_NATIVE,
	SEC_DOCKER,
	SEC_SERVICE,
	SEC_PUBLIC,
	SEC_POLICY,
	SEC_HOOKS,
	SEC__COUNT,
};

static const char *const section_label[SEC__COUNT] = {
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
};

enum key {
	K_PROJECT_NAME,
	K_TARGET_CHECKOUT,
	K_TARGET_SSH,
	K_TARGET_SSH_KEY,
	K_TARGET_SSH_OPTIONS,
	K_TARGET_SHIPLOG,
	K_TARGET_LOCAL_EXEC,
	K_TARGET_ALLOW_UNTRACKED,
	K_TARGET_LEDGER,
	K_TARGET_LAYOUT,
	K_TARGET_KEEP_RELEASES,
	K_TARGET_CARRY,
	K_TARGET_SHARED,
	K_TARGET_CARRY_METHOD,
	K_GIT_MAIN_BRANCH,
	K_GIT_REMOTE,
	K_GIT_REMOTE_CANDIDATES,
	K_NATIVE_MANAGER,
	K_NATIVE_BUILD,
	K_NATIVE_BUILD_WHEN_CHANGED,
	K_NATIVE_ENV_FILE,
	K_NATIVE_UNIT_DIR,
	K_NATIVE_EXEC,
	K_NATIVE_LOG_DIR,
	K_DOCKER_WORKDIR,
	K_DOCKER_PROJECT,
	K_DOCKER_FOREIGN_PROJECTS,
	K_SERVICE_ROLE,
	K_SERVICE_UNIT,
	K_SERVICE_COMPOSE,
	K_SERVICE_BUILD,
	K_SERVICE_HEALTH,
	K_SERVICE_ENV_FILE,
	K_SERVICE_ENV,
	K_SERVICE_BEFORE_RESTART,
	K_SERVICE_AFTER_VERIFY,
	K_SERVICE_AFTER_ROLLBACK,
	K_HOOKS_BEFORE_RESTART,
	K_HOOKS_AFTER_VERIFY,
	K_HOOKS_AFTER_ROLLBACK,
	K_PUBLIC_APP_URL,
	K_PUBLIC_API_HEALTH_URL,
	K_POLICY_EDGE_ROLES,
	K_POLICY_ON_FAILURE,
	K_POLICY_SETTLE,
	K_POLICY_HEALTH_TIMEOUT,
	K__COUNT,
};

enum key_type {
	KT_SINGLE, /* once per section */
	KT_LIST,   /* repeats; each line adds one value */
	KT_COMMAS, /* repeats; each line adds comma-separated values */
};

static const struct key_def {
	enum section sec;
	const char *name;
	enum key_type type;
} keys[K__COUNT] = {
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
};

/* ---- parse state -------------------------------------------------------------------------- */

struct parse {
	const char *path; /* as given, for messages */
	struct config *cfg;

	const char *data;
	size_t len, pos;
	unsigned line;
	bool inline_comment; /* the current line had a ' ;' comment that inih cut off */

	enum section sec;
	char seclabel[128];  /* "service web", as shown in messages */
	struct service *svc; /* current service section */

	unsigned seen[K__COUNT];	/* line of the first occurrence, 0 = not yet */
	unsigned (*svc_seen)[K__COUNT]; /* per service, same */
	bool candidates_given, edge_roles_given;

	char *err;
	size_t errlen;
	unsigned err_line; /* 0 = no error yet */
};

static void parse_fail_line(struct parse *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void parse_fail_line(struct parse *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err_line)
		return;
	p->err_line = line ? line : 1;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	if (p->inline_comment && line == p->line) {
		n = (int)strlen(p->err);
		snprintf(p->err + n, p->errlen - (size_t)n,
			 " (note: ' ;' starts a comment, so the value ends before it)");
	}
}

/* "<path>:<line>: [<section>] <key>: <problem>; <fix>" */
#define key_fail(p, key, fmt, ...)                                                                 \
	parse_fail_line((p), (p)->line, "[%s] %s: " fmt, (p)->seclabel, (key), ##__VA_ARGS__)

/* A problem with the file as a whole: "<path>: ..." */
static int file_fail(const char *path, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int file_fail(const char *path, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", path);

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return SL_EUSAGE;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

static void unknown_key(struct parse *p, const char *name)
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

/* ---- values ------------------------------------------------------------------------------- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static bool name_valid(const char *s, const char *extra)
{
	if (str_empty(s) || strlen(s) > NAME_MAX_LEN)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(extra, *c))
			return false;
	return true;
}

static bool service_name_valid(const char *s)
{
	if (str_empty(s) || strlen(s) > NAME_MAX_LEN)
		return false;
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (const char *c = s; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
			return false;
	return true;
}

/* A git ref or remote name as far as we can tell without git: no spaces, controls, leading '-'. */
static bool refname_valid(const char *s)
{
	if (str_empty(s) || s[0] == '-' || has_control(s))
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c) || strchr("~^:?*[\\", *c))
			return false;
	return !strstr(s, "..") && !strstr(s, "@{");
}

/* ssh options a committed shiplog.conf may set: none of them runs a program, loads code, opens a
 * forward or changes which host is reached. Everything else (ProxyCommand, ProxyJump,
 * LocalCommand, PermitLocalCommand, KnownHostsCommand, PKCS11Provider, SecurityKeyProvider,
 * Include, Match, ControlPath, forwards, HostName ...) is refused: `shiplog status` in a fresh
 * clone must not run what the repository says. */
static const char *const ssh_options_allowed[] = {
    "AddressFamily",
    "BatchMode",
    "CheckHostIP",
    "Ciphers",
    "Compression",
    "ConnectionAttempts",
    "ConnectTimeout",
    "FingerprintHash",
    "GlobalKnownHostsFile",
    "HashKnownHosts",
    "HostKeyAlgorithms",
    "HostKeyAlias",
    "IdentitiesOnly",
    "IPQoS",
    "KexAlgorithms",
    "LogLevel",
    "MACs",
    "Port",
    "PubkeyAcceptedAlgorithms",
    "RekeyLimit",
    "ServerAliveCountMax",
    "ServerAliveInterval",
    "StrictHostKeyChecking",
    "TCPKeepAlive",
    "UpdateHostKeys",
    "UserKnownHostsFile",
    "VerifyHostKeyDNS",
};

/* "Name=value" with Name on the allowlist (ssh compares names case-insensitively). */
static bool ssh_option_allowed(const char *opt)
{
	size_t n = 0;

	while (isalnum((unsigned char)opt[n]))
		n++;
	if (n == 0 || opt[n] != '=')
		return false;
	for (size_t i = 0; i < ELEMENTSOF(ssh_options_allowed); i++)
		if (strlen(ssh_options_allowed[i]) == n &&
		    strncasecmp(opt, ssh_options_allowed[i], n) == 0)
			return true;
	return false;
}

static bool url_valid(const char *s)
{
	const char *host = str_startswith(s, "http://")	   ? s + 7
			   : str_startswith(s, "https://") ? s + 8
							   : NULL;

	if (!host || !*host || *host == '/' || *host == ':' || has_control(s))
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c))
			return false;
	return true;
}

static bool unit_name_valid(const char *s)
{
	if (str_empty(s) || s[0] == '-' || s[0] == '.' || strlen(s) > 255)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(":-_.\\@", *c))
			return false;
	return true;
}

/* "islandflow-web" -> "islandflow-web.service"; a name with a unit type suffix stays. */
static char *unit_normalize(const char *s)
{
	static const char *const types[] = {"service", "socket", "target",   "timer",
					    "mount",   "path",	 "slice",    "scope",
					    "device",  "swap",	 "automount"};
	const char *dot = strrchr(s, '.');

	if (dot)
		for (size_t i = 0; i < ELEMENTSOF(types); i++)
			if (streq(dot + 1, types[i]))
				return xstrdup(s);
	return xasprintf("%s.service", s);
}

/* ~/ expanded; relative resolved against the config file's directory. */
static char *path_resolve(const char *dir, const char *value)
{
	char *e = expand_home(value);
	char *r;

	if (e[0] == '/')
		return e;
	if (streq(e, "."))
		r = xstrdup(dir);
	else if (str_startswith(e, "./"))
		r = xasprintf("%s/%s", dir, e + 2);
	else
		r = xasprintf("%s/%s", dir, e);
	free(e);
	return r;
}

static bool ssh_valid(const char *s)
{
	const char *at = strchr(s, '@'), *host, *colon;

	if (str_empty(s) || s[0] == '-' || has_control(s))
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c))
			return false;
	host = at ? at + 1 : s;
	if (at == s || !*host || *host == ':' || strchr(host, '@'))
		return false;
	colon = strrchr(host, ':');
	if (colon && host[0] != '[') {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535)
			return false;
	}
	return true;
}

static int enum_parse(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v, names[i]))
			return (int)i;
	return -1;
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

/* carry and shared: a relative path that stays inside the release. */
static bool release_subpath_valid(const char *v)
{
	const char *p = v;

	if (!v[0] || v[0] == '/' || strchr(v, '\n'))
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");
		if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.') || n == 0)
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return v[strlen(v) - 1] != '/';
}

static void str_set(char **field, const char *v)
{
	free(*field);
	*field = str_empty(v) ? NULL : xstrdup(v);
}

static bool env_name_valid(const char *v, size_t n)
{
	if (v[0] >= '0' && v[0] <= '9')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] == '_' || (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9')))
			return false;
	return true;
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

static void key_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct config *c = p->cfg;
	int64_t ns;
	int role;

	switch (k) {
	case K_PROJECT_NAME:
		/* it names the ledger directory: a plain file name, never "." or ".." */
		if (!name_valid(v, "._-") || !isalnum((unsigned char)v[0]))
			key_fail(p, name,
				 "'%s' is not a valid project name; use letters, digits, "
				 "'.', '_' and '-', starting with a letter or digit (at most 63)",
				 v);
		else
			str_set(&c->project, v);
		break;
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
	case K_TARGET_SSH_OPTIONS: {
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

				for (size_t j = 0; j < ELEMENTSOF(ssh_options_allowed); j++)
					buf_printf(&allowed, "%s%s", j ? ", " : "",
						   ssh_options_allowed[j]);
				key_fail(p, name,
					 "'%.*s' is not an allowed ssh option (an option that can "
					 "run a command, load code, forward or redirect the "
					 "connection is refused); remove it, or use one of: %s",
					 (int)strcspn(add.v[i], "="), add.v[i], allowed.data);
				buf_free(&allowed);
				break;
			}
			strv_push(&c->target.ssh_options, add.v[i]);
		}
		strv_free(&add);
		break;
	}
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
	case K_TARGET_KEEP_RELEASES: {
		char *end;
		unsigned long n;
		errno = 0;
		n = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end || errno || n < 1 || n > 10000)
			key_fail(p, name, "'%s' is not a count of at least 1; write e.g. 5", v);
		else
			c->target.keep_releases = (unsigned)n;
		break;
	}
	case K_TARGET_CARRY_METHOD:
		ENUM_SET(p, c->target.carry_method, name, v, carry_method_names,
			 "auto (reflinks, else copies) or hardlink (read-only hard links)");
		break;
	case K_TARGET_CARRY:
	case K_TARGET_SHARED: {
		struct strv add = {0};
		strv_split_commas(&add, v);
		for (size_t i = 0; i < add.n; i++) {
			if (!release_subpath_valid(add.v[i])) {
				key_fail(p, name,
					 "'%s' is not a path inside a release; write a relative "
					 "path without '..', e.g. node_modules",
					 add.v[i]);
				break;
			}
			strv_push(k == K_TARGET_CARRY ? &c->target.carry : &c->target.shared,
				  add.v[i]);
		}
		strv_free(&add);
		break;
	}
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
	case K_HOOKS_BEFORE_RESTART:
	case K_HOOKS_AFTER_VERIFY:
	case K_HOOKS_AFTER_ROLLBACK:
		hook_value(p, &c->hooks[k - K_HOOKS_BEFORE_RESTART], name, v);
		break;
	default:
		service_value(p, k, name, v);
		break;
	}
}

/* Keys whose empty value means "unset" (or, for comma lists, "none"). */
static bool key_may_be_empty(enum key k)
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

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	unsigned *seen;
	int k = -1;

	(void)section; /* the reader tracked it, with its line */
	if (p->err_line)
		return 0;
	if (p->sec == SEC_NONE) {
		parse_fail_line(p, p->line,
				"%s: key outside any section; put it under [project], "
				"[target], [git], ... (see docs/config.md)",
				name);
		return 0;
	}
	for (size_t i = 0; i < K__COUNT; i++)
		if (keys[i].sec == p->sec && streq(keys[i].name, name)) {
			k = (int)i;
			break;
		}
	if (k < 0) {
		unknown_key(p, name);
		return 0;
	}
	seen = p->sec == SEC_SERVICE ? p->svc_seen[p->svc - p->cfg->services] : p->seen;
	if (keys[k].type == KT_SINGLE && seen[k]) {
		key_fail(p, name, "set twice (first on line %u); keep one", seen[k]);
		return 0;
	}
	if (!seen[k])
		seen[k] = p->line;
	if (has_control(value)) {
		key_fail(p, name, "control characters in the value; remove them");
		return 0;
	}
	if (str_empty(value) && !key_may_be_empty((enum key)k)) {
		key_fail(p, name, "empty value; give a value or remove the line");
		return 0;
	}
	key_value(p, (enum key)k, name, value);
	return p->err_line ? 0 : 1;
}

/* ---- sections, seen by the reader --------------------------------------------------------- */

static void section_begin(struct parse *p, const char *raw)
{
	char buf[128], *w1, *w2, *w3, *save = NULL;
	struct config *c = p->cfg;

	p->svc = NULL;
	p->sec = SEC_NONE;
	strlcpy_(buf, raw, sizeof(buf));
	snprintf(p->seclabel, sizeof(p->seclabel), "%s", raw);
	w1 = strtok_r(buf, " \t", &save);
	w2 = w1 ? strtok_r(NULL, " \t", &save) : NULL;
	w3 = w2 ? strtok_r(NULL, " \t", &save) : NULL;
	if (!w1 || w3)
		goto unknown;

	if (streq(w1, "service")) {
		if (!w2) {
			parse_fail_line(p, p->line,
					"[service]: a service needs a name; write "
					"[service NAME], e.g. [service web]");
			return;
		}
		if (!service_name_valid(w2)) {
			parse_fail_line(p, p->line,
					"[service %s]: invalid service name; use lowercase "
					"letters, digits and '-', starting with a letter or digit "
					"(at most 63)",
					w2);
			return;
		}
		for (size_t i = 0; i < c->nservices; i++)
			if (streq(c->services[i].name, w2)) {
				parse_fail_line(p, p->line,
						"[service %s]: defined twice (first on line "
						"%u); merge the two sections",
						w2, c->services[i].line);
				return;
			}
		if (c->nservices >= LEDGER_MAX_SERVICES) {
			parse_fail_line(p, p->line,
					"[service %s]: more than %d services; shiplog "
					"handles at most %d per project (merge services "
					"or split the project)",
					w2, LEDGER_MAX_SERVICES, LEDGER_MAX_SERVICES);
			return;
		}
		c->services = xrealloc(c->services, (c->nservices + 1) * sizeof(*c->services));
		p->svc_seen = xrealloc(p->svc_seen, (c->nservices + 1) * sizeof(*p->svc_seen));
		memset(p->svc_seen[c->nservices], 0, sizeof(p->svc_seen[0]));
		p->svc = &c->services[c->nservices++];
		*p->svc =
		    (struct service){.name = xstrdup(w2), .role = ROLE_WORKER, .line = p->line};
		p->sec = SEC_SERVICE;
		snprintf(p->seclabel, sizeof(p->seclabel), "service %s", w2);
		return;
	}
	if (streq(w1, "runtime")) {
		if (streq(w2, "native"))
			p->sec = SEC_NATIVE;
		else if (streq(w2, "docker"))
			p->sec = SEC_DOCKER;
		else
			goto unknown;
		snprintf(p->seclabel, sizeof(p->seclabel), "runtime %s", w2);
		return;
	}
	if (!w2) {
		for (int s = SEC_PROJECT; s < SEC__COUNT; s++)
			if (s != SEC_NATIVE && s != SEC_DOCKER && s != SEC_SERVICE &&
			    streq(w1, section_label[s])) {
				p->sec = (enum section)s;
				return;
			}
	}
unknown:
	parse_fail_line(p, p->line,
			"[%s]: unknown section; use [project], [target], [git], "
			"[runtime native], [runtime docker], [service NAME], [public], [policy] or "
			"[hooks]",
			raw);
}

/* inih's reader: one line per call, counted; indentation stripped (so inih never sees a
 * continuation line); lines over inih's limit refused rather than split. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *start, *nl, *s;
	size_t len, content;

	if (p->err_line || p->pos >= p->len || num < 3)
		return NULL;
	start = p->data + p->pos;
	nl = memchr(start, '\n', p->len - p->pos);
	len = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
	content = nl ? len - 1 : len;
	p->pos += len;
	p->line++;
	if (content > (size_t)num - 2) {
		parse_fail_line(p, p->line,
				"line longer than 200 characters (inih's limit); "
				"shorten it or split a list over repeated keys");
		return NULL;
	}
	s = start;
	if (p->line == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	while (s < start + content && (*s == ' ' || *s == '\t'))
		s++;
	len -= (size_t)(s - start);
	memcpy(str, s, len);
	str[len] = '\0';
	p->inline_comment =
	    str[0] != ';' && str[0] != '#' && (strstr(str, " ;") || strstr(str, "\t;"));

	if (str[0] == '[') {
		char *close = strchr(str, ']');
		if (close) {
			char name[256];
			size_t n = (size_t)(close - str - 1);
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, str + 1, n);
			name[n] = '\0';
			section_begin(p, str_trim(name));
			if (p->err_line)
				return NULL;
		}
	}
	return str;
}

/* ---- load --------------------------------------------------------------------------------- */

static void service_free(struct service *s)
{
	free(s->name);
	free(s->unit);
	free(s->compose);
	strv_free(&s->build);
	strv_free(&s->env_files);
	strv_free(&s->env);
	for (int h = 0; h < HOOK__COUNT; h++)
		strv_free(&s->hooks[h]);
	for (size_t i = 0; i < s->nhealth; i++)
		health_spec_release(&s->health[i]);
	free(s->health);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->project);
	free(cfg->target.checkout);
	free(cfg->target.ssh);
	free(cfg->target.ssh_key);
	strv_free(&cfg->target.allow_untracked);
	for (int h = 0; h < HOOK__COUNT; h++)
		strv_free(&cfg->hooks[h]);
	strv_free(&cfg->target.ssh_options);
	strv_free(&cfg->target.carry);
	strv_free(&cfg->target.shared);
	free(cfg->target.shiplog);
	free(cfg->target.ledger);
	free(cfg->git.main_branch);
	free(cfg->git.remote);
	strv_free(&cfg->git.remote_candidates);
	strv_free(&cfg->native.build);
	strv_free(&cfg->native.build_when_changed);
	free(cfg->native.env_file);
	free(cfg->native.unit_dir);
	free(cfg->native.exec);
	free(cfg->native.log_dir);
	free(cfg->docker.workdir);
	free(cfg->docker.project);
	strv_free(&cfg->docker.foreign_projects);
	for (size_t i = 0; i < cfg->nservices; i++)
		service_free(&cfg->services[i]);
	free(cfg->services);
	free(cfg->public_.app_url);
	free(cfg->public_.api_health_url);
	free(cfg);
}

static void config_defaults(struct config *c)
{
	c->target.local_exec = LOCAL_EXEC_AUTO;
	c->target.layout = LAYOUT_IN_PLACE;
	c->target.keep_releases = 5;
	c->git.main_branch = xstrdup("main");
	c->git.remote = xstrdup("auto");
	strv_split_commas(&c->git.remote_candidates, "forgejo, origin, github");
	c->native.manager = MANAGER_USER;
	c->native.unit_dir = xstrdup("units");
	c->policy.edge_role[ROLE_WEB] = true;
	c->policy.edge_role[ROLE_API] = true;
	c->policy.on_failure = ON_FAILURE_ROLLBACK;
	c->policy.settle_ns = 3000000000LL;
	c->policy.health_timeout_ns = 60000000000LL;
}

/* Whole-file checks and derived defaults, after every line was read. */
static int config_finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (!c->project)
		return file_fail(p->path, p->err, p->errlen,
				 "[project] name: missing; add a "
				 "[project] section with 'name = myapp'");
	if (c->nservices == 0)
		return file_fail(p->path, p->err, p->errlen,
				 "no [service NAME] sections; add one "
				 "per service, e.g. [service web] with 'role = web'");
	if (!c->target.checkout)
		c->target.checkout = xstrdup(c->dir);
	if (!c->docker.workdir)
		c->docker.workdir = xstrdup(".");
	if (!c->docker.project)
		c->docker.project = xstrdup(c->project);
	for (size_t i = 0; i < c->nservices; i++) {
		struct service *s = &c->services[i];
		if (!p->svc_seen[i][K_SERVICE_ROLE]) {
			parse_fail_line(p, s->line,
					"[service %s] role: missing; add 'role = web', "
					"'role = api' or 'role = worker'",
					s->name);
			return SL_EUSAGE;
		}
		if (!s->unit)
			s->unit = xasprintf("%s-%s.service", c->project, s->name);
		if (!s->compose)
			s->compose = xstrdup(s->name);
	}
	for (size_t i = 0; i < c->nservices; i++)
		for (size_t j = 0; j < i; j++) {
			if (streq(c->services[i].unit, c->services[j].unit)) {
				parse_fail_line(
				    p,
				    p->svc_seen[i][K_SERVICE_UNIT] ? p->svc_seen[i][K_SERVICE_UNIT]
								   : c->services[i].line,
				    "[service %s] unit: '%s' is also the unit of service "
				    "'%s'; give each service its own unit",
				    c->services[i].name, c->services[i].unit, c->services[j].name);
				return SL_EUSAGE;
			}
			if (streq(c->services[i].compose, c->services[j].compose)) {
				parse_fail_line(
				    p,
				    p->svc_seen[i][K_SERVICE_COMPOSE]
					? p->svc_seen[i][K_SERVICE_COMPOSE]
					: c->services[i].line,
				    "[service %s] compose: '%s' is also the compose service of "
				    "'%s'; give each service its own",
				    c->services[i].name, c->services[i].compose,
				    c->services[j].name);
				return SL_EUSAGE;
			}
		}
	return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	_cleanup_free_ char *data = NULL, *abs = NULL;
	size_t len;
	int r;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	r = read_file(path, CONFIG_FILE_MAX, &data, &len);
	if (r == -EFBIG)
		return file_fail(path, err, errlen,
				 "larger than 1 MiB; this is not a shiplog.conf");
	if (r < 0)
		return file_fail(path, err, errlen, "cannot read: %s; check the path (-c FILE)",
				 strerror(-r));
	abs = realpath(path, NULL);
	if (!abs)
		return file_fail(path, err, errlen, "cannot resolve: %s", strerror(errno));
	return config_load_data(abs, path, data, len, out, err, errlen);
}

int config_load_data(const char *abs, const char *path, const char *data, size_t len,
		     struct config **out, char *err, size_t errlen)
{
	struct parse p = {.path = path, .err = err, .errlen = errlen};
	struct config *c;
	const char *slash;
	int r;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (len > CONFIG_FILE_MAX)
		return file_fail(path, err, errlen,
				 "larger than 1 MiB; this is not a shiplog.conf");
	if (strlen(data) != len)
		return file_fail(path, err, errlen, "contains a NUL byte; is it a text file?");

	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(abs);
	slash = strrchr(abs, '/');
	c->dir = slash == abs ? xstrdup("/") : xstrndup(abs, (size_t)(slash - abs));
	sha256_hex(data, len, c->digest);
	config_defaults(c);

	p.cfg = c;
	p.data = data;
	p.len = len;
	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0 && (!p.err_line || (unsigned)r < p.err_line)) {
		p.err_line = 0; /* inih's own error came first */
		parse_fail_line(&p, (unsigned)r,
				"syntax error: expected '[section]', 'key = value' "
				"or a comment; fix the line (note: no continuation lines)");
	}
	if (r < 0 && !p.err_line)
		r = file_fail(path, err, errlen, "cannot parse (inih error %d)", r);
	else
		r = p.err_line ? SL_EUSAGE : config_finish(&p);
	free(p.svc_seen);
	if (r < 0 || p.err_line) {
		config_free(c);
		return SL_EUSAGE;
	}
	*out = c;
	return 0;
}

int config_find(const char *start_dir, char **path)
{
	_cleanup_free_ char *dir = realpath(start_dir, NULL);
	struct stat st;

	if (!dir)
		return -errno;
	for (;;) {
		char *cand = xasprintf("%s/shiplog.conf", streq(dir, "/") ? "" : dir);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			*path = cand;
			return 0;
		}
		free(cand);
		if (streq(dir, "/"))
			return -ENOENT;
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
}

/* ---- environment -------------------------------------------------------------------------- */

/* Trimmed copy of an environment variable, NULL when unset or empty. */
static char *env_get(const char *name)
{
	const char *v = getenv(name);
	char *t;

	if (!v)
		return NULL;
	t = str_trim(xstrdup(v));
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

void config_apply_env(struct config *cfg)
{
	char *v;

	if (!cfg)
		return;
	if ((v = env_get("DEPLOY_PUBLIC_APP_URL"))) {
		if (url_valid(v)) {
			free(cfg->public_.app_url);
			cfg->public_.app_url = v;
		} else {
			log_warn("ignoring DEPLOY_PUBLIC_APP_URL='%s': not an http(s) URL", v);
			free(v);
		}
	}
	if ((v = env_get("DEPLOY_PUBLIC_API_HEALTH_URL"))) {
		if (url_valid(v)) {
			free(cfg->public_.api_health_url);
			cfg->public_.api_health_url = v;
		} else {
			log_warn("ignoring DEPLOY_PUBLIC_API_HEALTH_URL='%s': not an http(s) URL",
				 v);
			free(v);
		}
	}
	if ((v = env_get("DEPLOY_GIT_REMOTE"))) {
		if (refname_valid(v)) {
			free(cfg->git.remote);
			cfg->git.remote = v;
		} else {
			log_warn("ignoring DEPLOY_GIT_REMOTE='%s': not a remote name", v);
			free(v);
		}
	}
	if ((v = env_get("DEPLOY_SSH_KEY_PATH"))) {
		free(cfg->target.ssh_key);
		cfg->target.ssh_key = expand_home(v);
		free(v);
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct service *s = &cfg->services[i];
		_cleanup_free_ char *var = xasprintf("DEPLOY_NATIVE_%s_UNIT", s->name);
		for (char *c = var + strlen("DEPLOY_NATIVE_"); *c; c++)
			*c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
		if (!(v = env_get(var)))
			continue;
		if (unit_name_valid(v)) {
			free(s->unit);
			s->unit = unit_normalize(v);
		} else {
			log_warn("ignoring %s='%s': not a systemd unit name", var, v);
		}
		free(v);
	}
}

/* ---- lookups ------------------------------------------------------------------------------ */

int config_service_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->nservices; i++)
		if (streq(cfg->services[i].name, name))
			return (int)i;
	return -1;
}

const struct service *config_service(const struct config *cfg, const char *name)
{
	int i = config_service_index(cfg, name);
	return i < 0 ? NULL : &cfg->services[i];
}

/* ---- the starter file --------------------------------------------------------------------- */

const char *config_starter_text(void)
{
	return "# shiplog.conf: how shiplog deploys this project (written by 'shiplog init').\n"
	       "# Reference: docs/config.md. Lines start a comment with '#' or ';'; ' ;' after a\n"
	       "# value starts one too. Keys marked (list) may repeat: each line adds values.\n"
	       "# Durations: 500ms, 5s, 2m. Lines may not be longer than 200 characters.\n"
	       "\n"
	       "[project]\n"
	       "# names the ledger and the default units (<name>-<service>.service)\n"
	       "name = myapp\n"
	       "\n"
	       "[target]\n"
	       "# the live checkout on the server (default: the directory of this file)\n"
	       ";checkout = /srv/myapp\n"
	       "# user@host[:port] for remote mode: run shiplog there over ssh\n"
	       ";ssh = deploy@203.0.113.10\n"
	       "# the key for ssh -i (DEPLOY_SSH_KEY_PATH overrides it)\n"
	       ";ssh_key = ~/.ssh/id_ed25519\n"
	       ";ssh_options = StrictHostKeyChecking=accept-new  ; (list) extra ssh -o options\n"
	       ";shiplog = /usr/local/bin/shiplog   ; the shiplog program on the server\n"
	       "# auto: local when this is the server's checkout | always | never\n"
	       "local_exec = auto\n"
	       "# (list) untracked paths that do not make the checkout dirty, as globs\n"
	       ";allow_untracked = deployment/docker/*.tar.gz\n"
	       "# the ledger directory (default: $XDG_STATE_HOME/shiplog/<project name>)\n"
	       ";ledger = ~/.local/state/shiplog/myapp\n"
	       "# in-place: move the checkout itself | releases: one directory per deploy\n"
	       "layout = in-place\n"
	       "# releases layout: how many to keep (the running and last-good always stay)\n"
	       "keep_releases = 5\n"
	       "# releases layout: (list) copied from the previous release before the build\n"
	       ";carry = node_modules, .venv\n"
	       "# auto: reflinks where the filesystem has them, else copies | hardlink\n"
	       ";carry_method = auto\n"
	       "# releases layout: (list) symlinked from <checkout>.shared/ into every release\n"
	       ";shared = .env, uploads\n"
	       "\n"
	       "[git]\n"
	       "# the branch that 'shiplog deploy main' deploys\n"
	       "main_branch = main\n"
	       "# auto: the first of remote_candidates that exists; or a name (must exist)\n"
	       "remote = auto\n"
	       "# (list, comma-separated) remotes tried in order when remote = auto\n"
	       "remote_candidates = forgejo, origin, github\n"
	       "\n"
	       "[runtime native]\n"
	       "# user: systemd user units (systemctl --user) | system\n"
	       "manager = user\n"
	       "# (list) shared build commands, run by the shell in the checkout, in order\n"
	       ";build = npm ci\n"
	       "# (list, comma-separated) run the shared build only when one of these changed\n"
	       ";build_when_changed = package-lock.json, package.json\n"
	       "# environment file of the native services, relative to the checkout\n"
	       ";env_file = .env\n"
	       "# unit templates <service>.service.in for 'shiplog units install', in the "
	       "checkout\n"
	       "unit_dir = units\n"
	       "# the program the unit templates run (@EXEC@), relative to the checkout\n"
	       ";exec = bin/server\n"
	       "# append service output to <log_dir>/<service>.log instead of the journal\n"
	       ";log_dir = logs\n"
	       "\n"
	       "[runtime docker]\n"
	       "# where docker-compose.yml lives, relative to the checkout\n"
	       "workdir = .\n"
	       "# compose project name (default: the project name)\n"
	       ";project = myapp\n"
	       "# (list, comma-separated) warn when containers of these projects run\n"
	       ";foreign_projects = myapp-old\n"
	       "\n"
	       "# One section per service. role: web | api | worker. unit defaults to\n"
	       "# <project>-<service>.service, compose to the service name.\n"
	       "[service web]\n"
	       "# web | api | worker (scopes and the edge guard derive from it)\n"
	       "role = web\n"
	       "# the systemd unit (default myapp-web.service; '.service' is added when missing)\n"
	       ";unit = myapp-web.service\n"
	       "# the compose service name (default: the service name)\n"
	       "compose = web\n"
	       "# (list) native builds of this service, run by the shell in the checkout\n"
	       ";build = npm --prefix apps/web run build\n"
	       "# (list) http-get URL [STATUS] | http-head URL | tcp HOST:PORT | cmd ARGV...\n"
	       "health = http-head http://127.0.0.1:3000/\n"
	       "\n"
	       "[service api]\n"
	       "# the API behind the web app\n"
	       "role = api\n"
	       "# (list) an HTTP GET that must answer 2xx/3xx (or the STATUS given)\n"
	       "health = http-get http://127.0.0.1:4000/health\n"
	       "\n"
	       "[service compute]\n"
	       "# workers: no HTTP check, the unit must stay up for the settle window\n"
	       "role = worker\n"
	       "\n"
	       "[service candles]\n"
	       "# a worker\n"
	       "role = worker\n"
	       "\n"
	       "[service ingest-options]\n"
	       "# a worker\n"
	       "role = worker\n"
	       "\n"
	       "[service ingest-equities]\n"
	       "# a worker\n"
	       "role = worker\n"
	       "\n"
	       "[public]\n"
	       "# checked from outside after an edge deploy (DEPLOY_PUBLIC_APP_URL overrides it)\n"
	       ";app_url = https://app.example.com\n"
	       "# optional public API health URL (DEPLOY_PUBLIC_API_HEALTH_URL overrides it)\n"
	       ";api_health_url = https://app.example.com/api/health\n"
	       "\n"
	       "[policy]\n"
	       "# (list, comma-separated) roles that face the edge; native deploys of them need\n"
	       "# --edge-ready or DEPLOY_NATIVE_EDGE_READY=1\n"
	       "edge_roles = web, api\n"
	       "# on a failed verify: rollback (to the last good state) | stop\n"
	       "on_failure = rollback\n"
	       "# units must stay active, unrestarted, this long after a restart\n"
	       "settle = 3s\n"
	       "# how long health checks may retry before the deploy fails\n"
	       "health_timeout = 60s\n";
}
