/* SPDX-License-Identifier: MIT */
#include "env.h"

#include <string.h>

#define ENV_FILE_MAX (1u << 20)
#define ENV_REDACT_MIN 4 /* shorter values would blank out ordinary words and numbers */

static char *env_path(const struct config *cfg, const char *p)
{
	_cleanup_free_ char *e = expand_home(p);

	return e[0] == '/' ? xstrdup(e) : xasprintf("%s/%s", cfg->target.checkout, e);
}

void env_files(const struct config *cfg, const struct service *s, struct strv *paths)
{
	strv_push_take(
	    paths, env_path(cfg, str_empty(cfg->native.env_file) ? ".env" : cfg->native.env_file));
	for (size_t i = 0; s && i < s->env_files.n; i++)
		strv_push_take(paths, env_path(cfg, s->env_files.v[i]));
}

/* systemd's EnvironmentFile= syntax, the common part: NAME=value lines, '#' and ';' comments,
 * a value in single or double quotes loses them. */
static void env_file_read(const char *path, struct strv *kv)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	char *line, *save = NULL;

	if (read_file(path, ENV_FILE_MAX, &data, &len) < 0)
		return;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *v, *name = str_trim(line);
		size_t n;

		if (!*name || *name == '#' || *name == ';' || !(eq = strchr(name, '=')))
			continue;
		*eq = '\0';
		v = str_trim(eq + 1);
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		strv_push_take(kv, xasprintf("%s=%s", str_trim(name), v));
	}
}

void env_collect(const struct config *cfg, const struct service *s, struct strv *kv)
{
	struct strv paths = {0};

	env_files(cfg, s, &paths);
	for (size_t i = 0; i < paths.n; i++)
		env_file_read(paths.v[i], kv);
	for (size_t i = 0; s && i < s->env.n; i++)
		strv_push(kv, s->env.v[i]);
	strv_free(&paths);
}

void env_collect_own(const struct config *cfg, const struct service *s, struct strv *kv)
{
	for (size_t j = 0; j < s->env_files.n; j++) {
		_cleanup_free_ char *p = env_path(cfg, s->env_files.v[j]);
		env_file_read(p, kv);
	}
	for (size_t j = 0; j < s->env.n; j++)
		strv_push(kv, s->env.v[j]);
}

void env_collect_all(const struct config *cfg, struct strv *kv)
{
	env_collect(cfg, NULL, kv);
	for (size_t i = 0; i < cfg->nservices; i++) {
		env_collect_own(cfg, &cfg->services[i], kv);
	}
}

void env_digest(const struct config *cfg, const struct service *s, char out[65])
{
	struct strv paths = {0}, kv = {0};
	struct buf b = {0};

	env_files(cfg, s, &paths);
	env_collect(cfg, s, &kv);
	for (size_t i = 0; i < paths.n; i++)
		buf_printf(&b, "file %s\n", paths.v[i]);
	for (size_t i = 0; i < kv.n; i++)
		buf_printf(&b, "%s\n", kv.v[i]);
	sha256_hex(b.data ? b.data : "", b.len, out);
	buf_free(&b);
	strv_free(&paths);
	strv_free(&kv);
}

char *env_names(const struct strv *kv)
{
	struct buf b = {0};

	for (size_t i = 0; i < kv->n; i++)
		buf_printf(&b, "%s%.*s", i ? ", " : "", (int)strcspn(kv->v[i], "="), kv->v[i]);
	return b.data ? b.data : xstrdup("");
}

char *env_redact(const char *text, size_t len, const struct strv *kv)
{
	struct buf b = {0};
	size_t i = 0;

	while (i < len) {
		size_t best = 0, bestk = 0;

		/* the longest value that starts here: a value inside another is not cut in two */
		for (size_t k = 0; k < kv->n; k++) {
			const char *v = strchr(kv->v[k], '=') + 1;
			size_t n = strlen(v);

			if (n >= ENV_REDACT_MIN && n > best && n <= len - i &&
			    !memcmp(text + i, v, n))
				best = n, bestk = k;
		}
		if (best) {
			buf_printf(&b, "[redacted %.*s]", (int)strcspn(kv->v[bestk], "="),
				   kv->v[bestk]);
			i += best;
		} else {
			buf_append(&b, text + i, 1);
			i++;
		}
	}
	return b.data ? b.data : xstrdup("");
}
