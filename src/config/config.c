/* SPDX-License-Identifier: MIT */
/* shiplog.conf: read with inih through our own line reader (which counts lines, enforces inih's
 * 200-character limit, strips indentation and sees section headers), checked against one key
 * table, then validated as a whole. Any error frees everything: nothing is half-parsed. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <jansson.h>
#include <ledger/ledger.h>

#include "keys.h"
#include "out.h"
#include "util.h"
#include "values.h"

#define CONFIG_FILE_MAX (1u << 20)

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

int role_from_name(const char *s)
{
	for (int r = 0; r < ROLE__COUNT; r++)
		if (streq(s, role_name((enum role)r)))
			return r;
	return -1;
}

/* ---- parse state -------------------------------------------------------------------------- */

void parse_fail_line(struct parse *p, unsigned line, const char *fmt, ...)
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
	if (p->sec == SEC_SERVICE)
		seen = p->svc_seen[p->svc - p->cfg->services];
	else if (p->sec == SEC_HOST)
		seen = p->host_seen[p->host - p->cfg->hosts];
	else
		seen = p->seen;
	if (keys[k].type == KT_SINGLE && seen[k]) {
		key_fail(p, name, "set twice (first on line %u); keep one", seen[k]);
		return 0;
	}
	if (!seen[k])
		seen[k] = p->line;
	if (str_has_control(value)) {
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
	p->host = NULL;
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
	if (streq(w1, "host")) {
		host_section_begin(p, w2);
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
			    s != SEC_HOST && streq(w1, section_label[s])) {
				p->sec = (enum section)s;
				return;
			}
	}
unknown:
	parse_fail_line(p, p->line,
			"[%s]: unknown section; use [project], [target], [git], "
			"[runtime native], [runtime docker], [service NAME], [public], [policy], "
			"[hooks], [soak], [host NAME] or [fleet]",
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

bool config_line_is_error(const struct config *cfg, const char *line, int priority)
{
	if (priority >= 0 && priority <= 3)
		return true;
	for (size_t i = 0; i < cfg->soak.error_patterns.n; i++) {
		regex_t re;
		bool hit;

		if (regcomp(&re, cfg->soak.error_patterns.v[i], REG_EXTENDED | REG_NOSUB) != 0)
			continue; /* config_load checked them */
		hit = regexec(&re, line, 0, NULL, 0) == 0;
		regfree(&re);
		if (hit)
			return true;
	}
	return false;
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
	strv_free(&cfg->soak.error_patterns);
	strv_free(&cfg->edge.switch_argv);
	strv_free(&cfg->edge.revert_argv);
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
	for (size_t i = 0; i < cfg->nhosts; i++)
		host_free(&cfg->hosts[i]);
	free(cfg->hosts);
	strv_free(&cfg->fleet.canary_hosts);
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
	c->policy.baseline_ops = 50;
	c->policy.health_timeout_ns = 60000000000LL;
	c->soak.log_lines = 20;
	c->fleet.canary_count = 1;
	c->fleet.wave_percent = 100;
	c->fleet.on_failure = FLEET_ON_FAILURE_ROLLBACK_MOVED;
	c->fleet.host_timeout_ns = 30 * 60000000000LL;
	c->soak.every_ns = 10000000000LL;
	c->soak.duration_ns = 3600000000000LL;
	strv_push(&c->soak.error_patterns, SOAK_DEFAULT_ERROR_PATTERN);
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
	return fleet_finish(p);
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
	free(p.host_seen);
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
	if ((v = env_get("DEPLOY_SSH_KNOWN_HOSTS"))) {
		/* the operator's own choice, so any path: first, since ssh takes an option's first
		 * value (the config's UserKnownHostsFile, if any, is then unused) */
		_cleanup_free_ char *path = expand_home(v);
		struct strv opts = {0};

		strv_push_take(&opts, xasprintf("UserKnownHostsFile=%s", path));
		for (size_t i = 0; i < cfg->target.ssh_options.n; i++)
			strv_push(&opts, cfg->target.ssh_options.v[i]);
		strv_free(&cfg->target.ssh_options);
		cfg->target.ssh_options = opts;
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
