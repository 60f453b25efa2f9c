/* SPDX-License-Identifier: MIT */
/* Unit templates: rendered from the service registry, written only when their text changed.
 * Used by `shiplog units` and by deploys whose commit changed the templates. */
#include "units.h"
#include "releases.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus.h"
#include "env.h"
#include "util.h"

#define UNITS_TEMPLATE_MAX (256 * 1024)

static const char *const units_scopes[] = {"none", "full", "web", "api", "services", "workers"};

/* The parameters a template may use. */
struct units_params {
	const char *project;
	const char *service;
	const char *role;
	const char *workdir;
	const char *env_file;
	const char *exec;
	const char *stdout_;
};

static int units_err(int r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int units_err(int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

bool units_scope_valid(const char *scope)
{
	for (size_t i = 0; i < ELEMENTSOF(units_scopes); i++)
		if (streq(scope, units_scopes[i]))
			return true;
	return false;
}

bool units_scope_has(const char *scope, enum role r)
{
	if (streq(scope, "full"))
		return true;
	if (streq(scope, "web"))
		return r == ROLE_WEB;
	if (streq(scope, "api"))
		return r == ROLE_API;
	if (streq(scope, "services"))
		return r == ROLE_API || r == ROLE_WORKER;
	if (streq(scope, "workers"))
		return r == ROLE_WORKER;
	return false;
}

/* Relative paths in [runtime native] are relative to base; "~/" is expanded. */
static char *units_path_resolve(const char *base, const char *p)
{
	_cleanup_free_ char *e = expand_home(p);

	if (e[0] == '/')
		return xstrdup(e);
	return xasprintf("%s/%s", base, e);
}

/* The directory a service's unit runs in: the checkout, or, for layout = releases, the
 * service's own release link. */
static char *units_workdir(const struct config *cfg, const struct service *svc)
{
	if (cfg->target.layout == LAYOUT_RELEASES)
		return releases_service_link(cfg, svc->name);
	return xstrdup(cfg->target.checkout);
}

/* <workdir>/<unit_dir>: a service's template comes from the release it runs. For the releases
 * layout, before the service has a release: the `current` release's, then the checkout's. */
static char *units_template_dir(const struct config *cfg, const char *workdir)
{
	const char *ud = str_empty(cfg->native.unit_dir) ? "units" : cfg->native.unit_dir;
	char *d = units_path_resolve(workdir, ud);
	struct stat st;

	if (cfg->target.layout == LAYOUT_RELEASES && stat(d, &st) < 0) {
		_cleanup_free_ char *cur = releases_current(cfg);
		free(d);
		d = units_path_resolve(cur, ud);
		if (stat(d, &st) < 0) {
			free(d);
			d = units_path_resolve(cfg->target.checkout, ud);
		}
	}
	return d;
}

static char *units_log_dir(const struct config *cfg)
{
	if (str_empty(cfg->native.log_dir))
		return NULL;
	return units_path_resolve(cfg->target.checkout, cfg->native.log_dir);
}

static char *units_install_dir(const struct config *cfg)
{
	if (cfg->native.manager == MANAGER_SYSTEM)
		return xstrdup("/etc/systemd/system");
	return bus_user_unit_dir();
}

/* A value as systemd reads it in a unit file: '%' starts a specifier, so it is doubled. In
 * ExecStart= a '$' expands a variable and whitespace splits words: those are escaped and the
 * word is quoted. */
static void units_append_value(struct buf *b, const char *v, bool exec_word)
{
	bool quote = exec_word && strpbrk(v, " \t\"'\\");

	if (quote)
		buf_append(b, "\"", 1);
	for (const char *p = v; *p; p++) {
		if (*p == '%')
			buf_append(b, "%%", 2);
		else if (exec_word && *p == '$')
			buf_append(b, "$$", 2);
		else if (quote && (*p == '"' || *p == '\\')) {
			buf_append(b, "\\", 1);
			buf_append(b, p, 1);
		} else
			buf_append(b, p, 1);
	}
	if (quote)
		buf_append(b, "\"", 1);
}

static const char *units_param(const struct units_params *p, const char *name, size_t len,
			       bool *exec_word)
{
	const struct {
		const char *name;
		const char *value;
	} table[] = {
	    {"PROJECT", p->project}, {"SERVICE", p->service},	{"ROLE", p->role},
	    {"WORKDIR", p->workdir}, {"ENV_FILE", p->env_file}, {"EXEC", p->exec},
	    {"STDOUT", p->stdout_},
	};

	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0) {
			*exec_word = streq(table[i].name, "EXEC");
			return table[i].value;
		}
	}
	return NULL;
}

static bool units_is_param_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Replaces every @NAME@ in tmpl. An unknown @NAME@ outside a comment line is an error: the unit
 * would run with a literal "@FOO@" in it. */
static int units_substitute(const char *tmpl, const char *tmpl_path, const struct units_params *p,
			    char **out, char *err, size_t errlen)
{
	struct buf b = {0};
	unsigned line = 1;
	bool comment = false, line_start = true;

	for (const char *s = tmpl; *s;) {
		const char *e, *v;
		bool exec_word = false;

		if (*s == '\n') {
			buf_append(&b, s++, 1);
			line++;
			line_start = true;
			comment = false;
			continue;
		}
		if (line_start && *s != ' ' && *s != '\t') {
			comment = *s == '#' || *s == ';';
			line_start = false;
		}
		if (*s != '@') {
			buf_append(&b, s++, 1);
			continue;
		}
		for (e = s + 1; units_is_param_char(*e); e++)
			;
		if (*e != '@' || e == s + 1) {
			buf_append(&b, s++, 1);
			continue;
		}
		v = units_param(p, s + 1, (size_t)(e - s - 1), &exec_word);
		if (!v && exec_word && !comment) {
			buf_free(&b);
			return units_err(
			    SL_EUSAGE, err, errlen,
			    "%s:%u: the template runs @EXEC@ but [runtime native] exec "
			    "is not set: set exec = PATH (relative to the checkout; it "
			    "gets the service name as its argument), or write the "
			    "program into the template's ExecStart=",
			    tmpl_path, line);
		}
		if (!v) {
			if (!comment) {
				buf_free(&b);
				return units_err(
				    SL_EUSAGE, err, errlen,
				    "%s:%u: unknown template parameter '%.*s'; use "
				    "@PROJECT@, @SERVICE@, @ROLE@, @WORKDIR@, @ENV_FILE@, "
				    "@EXEC@ or @STDOUT@",
				    tmpl_path, line, (int)(e - s + 1), s);
			}
			buf_append(&b, s, (size_t)(e - s + 1));
		} else {
			units_append_value(&b, v, exec_word);
		}
		s = e + 1;
	}
	buf_append(&b, "", 1);
	*out = b.data;
	return 0;
}

/* The service's own environment ([service X] env_file, env), as a second [Service] section that
 * systemd merges into the first; after the template's EnvironmentFile= (the global file), so
 * these win. "" when it has none. */
static char *units_service_env(const struct config *cfg, const struct service *svc)
{
	struct strv files = {0};
	struct buf b = {0};

	if (!svc->env_files.n && !svc->env.n)
		return xstrdup("");
	buf_printf(&b, "\n# The environment of [service %s] in shiplog.conf.\n[Service]\n",
		   svc->name);
	env_files(cfg, svc, &files);
	for (size_t i = 1; i < files.n; i++) { /* [0] is the global file, in the template */
		buf_printf(&b, "EnvironmentFile=-");
		units_append_value(&b, files.v[i], false);
		buf_printf(&b, "\n");
	}
	for (size_t i = 0; i < svc->env.n; i++) {
		buf_printf(&b, "Environment=\"");
		for (const char *p = svc->env.v[i]; *p; p++) {
			if (*p == '%')
				buf_append(&b, "%%", 2);
			else if (*p == '"' || *p == '\\') {
				buf_append(&b, "\\", 1);
				buf_append(&b, p, 1);
			} else
				buf_append(&b, p, 1);
		}
		buf_printf(&b, "\"\n");
	}
	strv_free(&files);
	return b.data;
}

void units_set_release(struct units_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->f[i].template_path);
		free(set->f[i].text);
		free(set->f[i].path);
	}
	free(set->f);
	free(set->dir);
	*set = (struct units_set){0};
}

int units_render(const struct config *cfg, struct units_set *set, char *err, size_t errlen)
{
	_cleanup_free_ char *env_file = NULL, *log_dir = NULL;
	int r;

	*set = (struct units_set){0};
	if (str_empty(cfg->target.checkout))
		return units_err(SL_EUSAGE, err, errlen,
				 "%s: [target] checkout is not set; the units run in the live "
				 "checkout: set checkout = PATH",
				 cfg->path);
	/* exec is needed only by templates that use @EXEC@: units_substitute says which. */
	if (cfg->nservices == 0)
		return units_err(SL_EUSAGE, err, errlen,
				 "%s: no [service NAME] sections: there are no units", cfg->path);

	env_file = units_path_resolve(
	    cfg->target.checkout, str_empty(cfg->native.env_file) ? ".env" : cfg->native.env_file);
	log_dir = units_log_dir(cfg);
	if (strchr(cfg->target.checkout, '\n') || strchr(env_file, '\n') ||
	    (cfg->native.exec && strchr(cfg->native.exec, '\n')))
		return units_err(SL_EUSAGE, err, errlen,
				 "%s: the checkout, env_file or exec path contains a newline; it "
				 "cannot go into a unit file",
				 cfg->path);

	set->dir = units_install_dir(cfg);
	if (!set->dir)
		return units_err(SL_EENV, err, errlen,
				 "cannot find the user unit directory: neither XDG_CONFIG_HOME nor "
				 "HOME is set");
	set->f = xcalloc(cfg->nservices, sizeof(*set->f));
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct service *svc = &cfg->services[i];
		struct units_file *f = &set->f[set->n++];
		_cleanup_free_ char *tmpl = NULL, *body = NULL, *stdout_ = NULL;
		char *env;
		_cleanup_free_ char *workdir = units_workdir(cfg, svc);
		_cleanup_free_ char *tdir = units_template_dir(cfg, workdir);
		_cleanup_free_ char *exec = str_empty(cfg->native.exec)
						? NULL
						: units_path_resolve(workdir, cfg->native.exec);
		struct units_params p;

		f->svc = svc;
		f->template_path = xasprintf("%s/%s.service.in", tdir, svc->name);
		f->path = xasprintf("%s/%s", set->dir, svc->unit);
		r = read_file(f->template_path, UNITS_TEMPLATE_MAX, &tmpl, NULL);
		if (r == -ENOENT) {
			r = units_err(
			    SL_EUSAGE, err, errlen,
			    "no unit template '%s' for [service %s]; write one (the shiplog "
			    "sources have examples in units/) or point [runtime native] "
			    "unit_dir at the templates",
			    f->template_path, svc->name);
			goto fail;
		}
		if (r < 0) {
			r = units_err(SL_EUSAGE, err, errlen, "cannot read unit template '%s': %s",
				      f->template_path, strerror(-r));
			goto fail;
		}
		stdout_ = log_dir ? xasprintf("append:%s/%s.log", log_dir, svc->name)
				  : xstrdup("journal");
		p = (struct units_params){
		    .project = cfg->project,
		    .service = svc->name,
		    .role = role_name(svc->role),
		    .workdir = workdir,
		    .env_file = env_file,
		    .exec = exec,
		    .stdout_ = stdout_,
		};
		r = units_substitute(tmpl, f->template_path, &p, &body, err, errlen);
		if (r < 0)
			goto fail;
		/* At the end, so that line numbers match the template's. */
		env = units_service_env(cfg, svc);
		f->secret = svc->env.n > 0;
		f->text =
		    xasprintf("%s%s%s# Generated by 'shiplog units install' from %s: edit the "
			      "template and install again, not this file.\n",
			      body, body[0] && body[strlen(body) - 1] != '\n' ? "\n" : "", env,
			      f->template_path);
		free(env);
	}
	return 0;
fail:
	units_set_release(set);
	return r;
}

int units_write(const struct config *cfg, struct units_set *set, bool dry_run, size_t *changed,
		char *err, size_t errlen)
{
	_cleanup_free_ char *log_dir = NULL;
	size_t n = 0;
	int r;

	if (changed)
		*changed = 0;
	if (!dry_run) {
		r = mkdir_p(set->dir, 0755);
		if (r < 0)
			return units_err(SL_EENV, err, errlen,
					 "cannot create the unit directory "
					 "'%s': %s",
					 set->dir, strerror(-r));
		log_dir = units_log_dir(cfg);
		if (log_dir && (r = mkdir_p(log_dir, 0755)) < 0)
			return units_err(SL_EENV, err, errlen,
					 "cannot create [runtime native] "
					 "log_dir '%s': %s",
					 log_dir, strerror(-r));
	}
	for (size_t i = 0; i < set->n; i++) {
		struct units_file *f = &set->f[i];
		_cleanup_free_ char *old = NULL;

		if (read_file(f->path, UNITS_TEMPLATE_MAX * 2, &old, NULL) == 0 &&
		    streq(old, f->text)) {
			f->status = "unchanged";
			continue;
		}
		f->status = old ? "updated" : "installed";
		n++;
		if (dry_run)
			continue;
		r = write_file_atomic(f->path, f->text, strlen(f->text), f->secret ? 0600 : 0644);
		if (r < 0)
			return units_err(SL_EENV, err, errlen, "cannot write unit '%s': %s",
					 f->path, strerror(-r));
	}
	if (changed)
		*changed = n;
	return 0;
}

int units_install(const struct config *cfg, struct bus *bus, const char *enable_scope,
		  bool *changed, char *err, size_t errlen)
{
	struct units_set set = {0};
	struct strv enable = {0};
	size_t n = 0;
	int r;

	if (changed)
		*changed = false;
	if (enable_scope && !units_scope_valid(enable_scope))
		return units_err(SL_EUSAGE, err, errlen,
				 "unknown scope '%s'; use one of: " UNITS_SCOPE_LIST, enable_scope);
	/* releases layout: every service runs from its own link; a checkout that ran from the
	 * single `current` link gets them first, at that release */
	if (cfg->target.layout == LAYOUT_RELEASES &&
	    (r = releases_adopt(cfg, NULL, NULL, err, errlen)) < 0)
		return SL_EENV;
	r = units_render(cfg, &set, err, errlen);
	if (r < 0)
		return r;
	r = units_write(cfg, &set, false, &n, err, errlen);
	if (r < 0)
		goto out;
	if (changed)
		*changed = n > 0;
	if (n > 0 && (r = bus_reload(bus)) < 0) {
		r = units_err(SL_EENV, err, errlen, "%s", bus_errmsg(bus));
		goto out;
	}
	for (size_t i = 0; enable_scope && i < set.n; i++)
		if (units_scope_has(enable_scope, set.f[i].svc->role))
			strv_push(&enable, set.f[i].svc->unit);
	if (enable.n > 0 && (r = bus_enable_units(bus, enable.v, enable.n)) < 0) {
		r = units_err(SL_EENV, err, errlen, "%s", bus_errmsg(bus));
		goto out;
	}
	r = 0;
out:
	strv_free(&enable);
	units_set_release(&set);
	return r;
}
