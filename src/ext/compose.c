/* SPDX-License-Identifier: MIT */
#include "compose.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "out.h"
#include "spawn.h"

#define PROBE_TIMEOUT_NS (60LL * 1000000000LL)

static const char *const compose_files[] = {"docker-compose.yml", "docker-compose.yaml",
					    "compose.yaml", "compose.yml"};

/* The last non-empty line of a command's output, for messages. */
static void last_line(const char *s, char *buf, size_t n)
{
	const char *end, *start;

	buf[0] = '\0';
	if (!s)
		return;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(buf, n, "%.*s", (int)(end - start), start);
}

/* Runs a read-only command in the compose directory, capturing its output, and tells the
 * observer (when `tell`); a non-zero exit is the caller's to judge. record = false for polling. */
static int probe(const struct compose *c, const char *what, char *const argv[], bool record,
		 bool tell, struct spawn_result *res)
{
	struct spawn_opts so = {.cwd = c->workdir, .capture = true, .timeout_ns = PROBE_TIMEOUT_NS};
	int r;

	if (tell && record && c->obs.waiting) {
		char shown[160];

		compose_describe(c, argv, shown, sizeof(shown));
		c->obs.waiting(c->obs.arg, what, shown);
	}
	r = spawn_run(argv, &so, res);
	if (tell && record && c->obs.waiting)
		c->obs.waiting(c->obs.arg, what, NULL);
	if (tell && c->obs.ran)
		c->obs.ran(c->obs.arg, what, argv, c->workdir, res, record);
	return r;
}

const char *compose_command_name(const struct compose *c)
{
	return c->v1 ? "docker-compose" : "docker compose";
}

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 1 && a[la - 1] == '/')
		la--;
	if (str_empty(b) || streq(b, "."))
		return xstrndup(a, la);
	if (b[0] == '/')
		return xstrdup(b);
	if (str_startswith(b, "./"))
		b += 2;
	return xasprintf("%.*s/%s", (int)la, a, b);
}

int compose_open(struct compose **out, const struct compose_observer *obs, const char *checkout,
		 const char *workdir, const char *project, char *err, size_t errlen)
{
	struct compose *c = xcalloc(1, sizeof(*c));
	struct spawn_result res = {0};
	char line[256];
	int r;

	*out = NULL;
	if (obs)
		c->obs = *obs;
	c->workdir = path_join(checkout, workdir);
	c->project = xstrdup(project);
	c->docker = spawn_which("docker");
	if (!c->docker) {
		snprintf(err, errlen,
			 "the docker client is not installed (no 'docker' on PATH); "
			 "install docker.io, or deploy with --runtime native");
		r = SL_EENV;
		goto fail;
	}
	{
		char *argv[] = {c->docker, "version", "--format", "{{.Server.Version}}", NULL};
		r = probe(c, "docker", argv, true, true, &res);
		if (r < 0 || res.exit_code != 0) {
			const char *host = getenv("DOCKER_HOST");
			last_line(res.output, line, sizeof(line));
			snprintf(
			    err, errlen,
			    "cannot reach the Docker engine at '%s': %s; start dockerd, or point "
			    "DOCKER_HOST at its socket",
			    host ? host : "unix:///var/run/docker.sock",
			    r < 0     ? strerror(-r)
			    : line[0] ? line
				      : "no answer");
			r = SL_EENV;
			goto fail;
		}
		last_line(res.output, line, sizeof(line));
		out_say("docker engine %s answers (%s)", line,
			getenv("DOCKER_HOST") ? getenv("DOCKER_HOST") : "default socket");
		spawn_result_release(&res);
	}
	{
		/* v2 first: the plugin answers `docker compose version` */
		char *argv[] = {c->docker, "compose", "version", NULL};
		r = probe(c, "docker", argv, true, true, &res);
		if (r == 0 && res.exit_code == 0) {
			last_line(res.output, line, sizeof(line));
			out_say("compose: docker compose (%s)", line);
			spawn_result_release(&res);
			*out = c;
			return 0;
		}
		spawn_result_release(&res);
	}
	/* v1 is a Python program: not probed (half a second each time); when it is broken, its
	 * first command says so */
	c->v1 = spawn_which("docker-compose");
	if (c->v1) {
		out_say("compose: docker-compose (v1, %s; 'docker compose' is not installed)",
			c->v1);
		*out = c;
		return 0;
	}
	snprintf(err, errlen,
		 "compose is not installed: neither 'docker compose' (v2) nor "
		 "'docker-compose' (v1) works; install docker-compose (Debian) or the compose "
		 "plugin");
	r = SL_EENV;
fail:
	spawn_result_release(&res);
	compose_free(c);
	return r;
}

void compose_free(struct compose *c)
{
	if (!c)
		return;
	if (c->override)
		unlink(c->override);
	if (c->tmpdir)
		rmdir(c->tmpdir);
	free(c->docker), free(c->v1), free(c->workdir), free(c->file), free(c->project);
	free(c->tmpdir), free(c->override);
	strv_free(&c->services);
	strv_free(&c->built);
	free(c);
}

/* The compose argv prefix, into a strv (pointers owned by c). */
static void prefix(const struct compose *c, struct strv *v, bool with_override)
{
	if (c->v1) {
		strv_push(v, c->v1);
	} else {
		strv_push(v, c->docker);
		strv_push(v, "compose");
	}
	strv_push(v, "-p");
	strv_push(v, c->project);
	if (c->file) {
		strv_push(v, "-f");
		strv_push(v, c->file);
	}
	if (with_override && c->override) {
		strv_push(v, "-f");
		strv_push(v, c->override);
	}
	strv_push(v, "--project-directory");
	strv_push(v, c->workdir);
}

void compose_argv(const struct compose *c, const char *const *args, struct strv *argv)
{
	prefix(c, argv, true);
	for (size_t i = 0; args[i]; i++)
		strv_push(argv, args[i]);
}

void compose_docker_argv(const struct compose *c, const char *const *args, struct strv *argv)
{
	strv_push(argv, c->docker);
	for (size_t i = 0; args[i]; i++)
		strv_push(argv, args[i]);
}

void compose_describe(const struct compose *c, char *const argv[], char *buf, size_t n)
{
	size_t i = 1, len;
	int w;

	if (!n)
		return;
	if (c->v1 && argv[0] && streq(argv[0], c->v1)) {
		w = snprintf(buf, n, "docker-compose");
	} else if (argv[0] && argv[1] && streq(argv[1], "compose")) {
		w = snprintf(buf, n, "docker compose");
		i = 2;
	} else {
		w = snprintf(buf, n, "docker");
		i = argv[0] ? 1 : 0;
	}
	len = w < 0 ? 0 : (size_t)w >= n ? n - 1 : (size_t)w;
	if (i > 1 || (c->v1 && argv[0] && streq(argv[0], c->v1)))
		while (argv[i] && argv[i + 1] &&
		       (streq(argv[i], "-p") || streq(argv[i], "-f") ||
			streq(argv[i], "--project-directory")))
			i += 2;
	for (; argv[i] && len + 1 < n; i++) {
		w = snprintf(buf + len, n - len, " %s", argv[i]);
		len += w < 0 ? 0 : (size_t)w >= n - len ? n - len - 1 : (size_t)w;
	}
}

/* `config` prints normalised YAML (two-space indents, both v1 and v2): the services are the
 * two-space keys under "services:", a build section a four-space "build:" key below one. */
static void config_parse(struct compose *c, char *text)
{
	bool in_services = false;
	char *cur = NULL;

	strv_free(&c->services);
	strv_free(&c->built);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		size_t ind = strspn(line, " ");
		char *rest = line + ind, *colon;

		if (ind == 0) {
			in_services = str_startswith(rest, "services:");
			continue;
		}
		if (!in_services || rest[0] == '-' || rest[0] == '#')
			continue;
		colon = strchr(rest, ':');
		if (!colon)
			continue;
		if (ind == 2) {
			*colon = '\0';
			if ((rest[0] == '"' || rest[0] == '\'') && strlen(rest) > 1) {
				rest++;
				rest[strlen(rest) - 1] = '\0';
			}
			strv_push(&c->services, rest);
			cur = c->services.v[c->services.n - 1];
		} else if (ind == 4 && cur && str_startswith(rest, "build:")) {
			strv_push(&c->built, cur);
		}
	}
}

int compose_config_read(struct compose *c, char *err, size_t errlen)
{
	struct spawn_result res = {0};
	struct strv v = {0};
	_cleanup_free_ char *text = NULL;
	char line[512];
	int r;

	free(c->file);
	c->file = NULL;
	for (size_t i = 0; i < ELEMENTSOF(compose_files) && !c->file; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", c->workdir, compose_files[i]);
		if (access(p, R_OK) == 0)
			c->file = xstrdup(p);
	}
	if (!c->file) {
		snprintf(err, errlen,
			 "no compose file in '%s' (docker-compose.yml, compose.yaml); set "
			 "[runtime docker] workdir to the directory that holds it",
			 c->workdir);
		return SL_EREFUSED;
	}
	/* the file's version line goes into the override too: compose v1 refuses to merge files
	 * of different versions */
	c->version_line[0] = '\0';
	if (read_file(c->file, 1 << 20, &text, NULL) == 0) {
		for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			if (str_startswith(l, "version:")) {
				size_t n = strcspn(l, "\r\n");
				snprintf(c->version_line, sizeof(c->version_line), "%.*s", (int)n,
					 l);
				break;
			}
		}
	}
	prefix(c, &v, false);
	strv_push(&v, "config");
	r = probe(c, "compose", v.v, true, true, &res);
	strv_free(&v);
	if (r < 0 || res.exit_code != 0) {
		last_line(res.output, line, sizeof(line));
		snprintf(err, errlen, "'%s config' rejects '%s': %s", compose_command_name(c),
			 c->file, r < 0 ? strerror(-r) : line);
		spawn_result_release(&res);
		return SL_EREFUSED;
	}
	config_parse(c, res.output ? res.output : (char *)"");
	spawn_result_release(&res);
	c->parsed = true;
	return 0;
}

bool compose_has_service(const struct compose *c, const char *service)
{
	return strv_contains(&c->services, service);
}

bool compose_has_build(const struct compose *c, const char *service)
{
	return strv_contains(&c->built, service);
}

void compose_image_tag(const char *project, const char *service, const char *commit, char *out,
		       size_t n)
{
	snprintf(out, n, "%s-%s:%.12s", project, service, commit);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

bool compose_dir_changed(const char *workdir, const struct strv *changed)
{
	_cleanup_free_ char *prefix = NULL;

	if (str_empty(workdir) || streq(workdir, ".") || streq(workdir, "./"))
		return changed->n > 0;
	prefix = xasprintf("%s%s", str_startswith(workdir, "./") ? workdir + 2 : workdir,
			   workdir[strlen(workdir) - 1] == '/' ? "" : "/");
	for (size_t i = 0; i < changed->n; i++)
		if (str_startswith(changed->v[i], prefix))
			return true;
	return false;
}

void compose_undefined_why(char *why, size_t n, const char *compose, const char *service,
			   const char *file, const struct strv *defined)
{
	_cleanup_free_ char *list = strv_join(defined, ", ");

	snprintf(why, n,
		 "compose service '%s' of service '%s' is not defined in '%s' (it defines: %s); "
		 "add it there, or set [service %s] compose = NAME",
		 compose, service, file, list, service);
}

/* A YAML double-quoted scalar (JSON's string syntax is valid YAML), with compose's '$'
 * interpolation escaped: the value reaches the container as written. */
static void yaml_value(struct buf *b, const char *v)
{
	json_t *s = json_str(v);
	char *q = json_dumps(s, JSON_ENCODE_ANY);

	for (const char *p = q ? q : "\"\""; *p; p++) {
		if (*p == '$')
			buf_append(b, "$$", 2);
		else
			buf_append(b, p, 1);
	}
	free(q);
	json_decref(s);
}

int compose_override_write(struct compose *c, const char *const *services, const char *const *tags,
			   const struct strv *const *envs, size_t n)
{
	struct buf b = {0};
	int r;

	if (!c->tmpdir) {
		const char *tmp = getenv("TMPDIR");
		char *t = xasprintf("%s/shiplog-compose-XXXXXX", str_empty(tmp) ? "/tmp" : tmp);
		if (!mkdtemp(t)) {
			r = -errno;
			free(t);
			return r;
		}
		c->tmpdir = t;
		c->override = xasprintf("%s/override.yml", t);
	}
	buf_printf(&b,
		   "# written by shiplog: images tagged with the commit being deployed, and the\n"
		   "# environment of [service NAME] env_file / env (mode 0600)\n");
	if (c->version_line[0])
		buf_printf(&b, "%s\n", c->version_line);
	buf_printf(&b, "services:\n");
	for (size_t i = 0; i < n; i++) {
		const struct strv *env = envs ? envs[i] : NULL;

		if (str_empty(tags[i]) && (!env || !env->n))
			continue;
		buf_printf(&b, "  \"%s\":\n", services[i]);
		if (!str_empty(tags[i]))
			buf_printf(&b, "    image: \"%s\"\n", tags[i]);
		if (env && env->n)
			buf_printf(&b, "    environment:\n");
		for (size_t j = 0; env && j < env->n; j++) {
			size_t k = strcspn(env->v[j], "=");
			buf_printf(&b, "      \"%.*s\": ", (int)k, env->v[j]);
			yaml_value(&b, env->v[j][k] ? env->v[j] + k + 1 : "");
			buf_printf(&b, "\n");
		}
	}
	r = write_file_atomic(c->override, b.data, b.len, 0600);
	buf_free(&b);
	return r;
}

static void copy_json_str(json_t *o, const char *key, char *dst, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));

	strlcpy_(dst, s ? s : "", n);
}

static void container_from_json(json_t *j, struct compose_container *ct)
{
	json_t *state = json_object_get(j, "State");
	json_t *cfg = json_object_get(j, "Config");
	json_t *labels = cfg ? json_object_get(cfg, "Labels") : NULL;
	json_t *health = state ? json_object_get(state, "Health") : NULL;
	const char *name = json_string_value(json_object_get(j, "Name"));

	memset(ct, 0, sizeof(*ct));
	copy_json_str(j, "Id", ct->id, sizeof(ct->id));
	strlcpy_(ct->name, name ? name + (name[0] == '/') : "", sizeof(ct->name));
	copy_json_str(j, "Image", ct->image_id, sizeof(ct->image_id));
	if (cfg)
		copy_json_str(cfg, "Image", ct->image, sizeof(ct->image));
	if (labels)
		copy_json_str(labels, "com.docker.compose.service", ct->service,
			      sizeof(ct->service));
	if (state) {
		copy_json_str(state, "Status", ct->status, sizeof(ct->status));
		ct->restarting = json_is_true(json_object_get(state, "Restarting"));
		ct->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
		copy_json_str(state, "StartedAt", ct->started_at, sizeof(ct->started_at));
		{
			json_int_t pid = json_integer_value(json_object_get(state, "Pid"));
			ct->pid = pid > 0 && pid <= INT32_MAX ? (uint32_t)pid : 0;
		}
	}
	{
		json_int_t n = json_integer_value(json_object_get(j, "RestartCount"));
		ct->restart_count = n > 0 && n <= INT32_MAX ? (uint32_t)n : 0;
	}
	if (health && json_is_object(health))
		copy_json_str(health, "Status", ct->health, sizeof(ct->health));
}

/* Runs the docker client command `docker ARGS... IDS...` (read-only) as probe() does. When it
 * cannot run, res is released and the code returned. */
static int probe_ids(const struct compose *c, const char *const *args, char *const *ids, size_t n,
		     bool record, bool tell, struct spawn_result *res)
{
	struct strv v = {0};
	int r;

	compose_docker_argv(c, args, &v);
	for (size_t i = 0; i < n; i++)
		strv_push(&v, ids[i]);
	r = probe(c, "docker", v.v, record, tell, res);
	strv_free(&v);
	if (r < 0)
		spawn_result_release(res);
	return r;
}

static const char *const inspect_args[] = {"inspect", "--type", "container", NULL};
static const char *const stats_args[] = {
    "stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}\t{{.MemUsage}}", NULL};

/* docker inspect IDS -> containers; a missing id gives status "missing". */
static int inspect(struct compose *c, bool record, bool tell, char *const *ids, size_t n,
		   struct compose_container *out)
{
	struct spawn_result res = {0};
	json_error_t jerr;
	json_t *arr;
	int r;

	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		strlcpy_(out[i].id, ids[i], sizeof(out[i].id));
		strlcpy_(out[i].status, "missing", sizeof(out[i].status));
	}
	if (!n)
		return 0;
	/* the output holds stderr too (an id that vanished: "Error: No such container"): parse
	 * the JSON array wherever it starts and ignore the rest */
	r = probe_ids(c, inspect_args, ids, n, record, tell, &res);
	if (r < 0)
		return r;
	{
		const char *j = res.output ? strchr(res.output, '[') : NULL;
		arr = json_loads(j ? j : "[]", JSON_DISABLE_EOF_CHECK, &jerr);
	}
	spawn_result_release(&res);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return -EBADMSG;
	}
	for (size_t k = 0; k < json_array_size(arr); k++) {
		struct compose_container ct;
		container_from_json(json_array_get(arr, k), &ct);
		for (size_t i = 0; i < n; i++)
			if (streq(ct.id, ids[i]) || str_startswith(ct.id, ids[i]))
				out[i] = ct;
	}
	json_decref(arr);
	return 0;
}

int compose_inspect(struct compose *c, char *const *ids, size_t n, struct compose_container *out)
{
	return inspect(c, false, false, ids, n, out); /* polling: not even timed */
}

/* Runs a read-only docker client command (as probe() does, told to the observer) and appends
 * its non-empty output lines, trimmed, to *lines. Its failure: the code, or SL_EFAILED for a
 * non-zero exit. */
static int probe_lines(const struct compose *c, char *const argv[], bool record, struct strv *lines)
{
	struct spawn_result res = {0};
	int r = probe(c, "docker", argv, record, true, &res);

	if (r < 0 || res.exit_code != 0) {
		spawn_result_release(&res);
		return r < 0 ? r : SL_EFAILED;
	}
	for (char *l = strtok(res.output ? res.output : (char *)"", "\n"); l;
	     l = strtok(NULL, "\n"))
		if (*str_trim(l))
			strv_push(lines, l);
	spawn_result_release(&res);
	return 0;
}

int compose_containers(struct compose *c, bool record, struct compose_container **out, size_t *n)
{
	_cleanup_free_ char *filter = xasprintf("label=com.docker.compose.project=%s", c->project);
	char *argv[] = {c->docker, "ps", "-a", "-q", "--no-trunc", "--filter", filter, NULL};
	struct strv ids = {0};
	struct compose_container *cts;
	size_t k = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = probe_lines(c, argv, record, &ids);
	if (r < 0) {
		strv_free(&ids);
		return r;
	}
	cts = xcalloc(ids.n + 1, sizeof(*cts));
	r = inspect(c, record, true, ids.v, ids.n, cts);
	if (r < 0) {
		free(cts);
		strv_free(&ids);
		return r;
	}
	/* one-off `compose run` containers are not the service's */
	for (size_t i = 0; i < ids.n; i++)
		if (!streq(cts[i].status, "missing") && cts[i].service[0])
			cts[k++] = cts[i];
	strv_free(&ids);
	*out = cts;
	*n = k;
	return 0;
}

bool compose_parse_mem_usage(const char *text, uint64_t *bytes)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {{"B", 1},
		     {"KiB", 1024.0},
		     {"MiB", 1048576.0},
		     {"GiB", 1073741824.0},
		     {"TiB", 1099511627776.0},
		     {"kB", 1e3},
		     {"KB", 1e3},
		     {"MB", 1e6},
		     {"GB", 1e9},
		     {"TB", 1e12}};
	char *end;
	double v;
	size_t ulen;

	if (!text)
		return false;
	while (*text == ' ')
		text++;
	if (!(*text >= '0' && *text <= '9'))
		return false;
	v = strtod(text, &end);
	if (end == text || !(v >= 0) || v > 1e18)
		return false;
	ulen = strcspn(end, " /");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].unit) == ulen && strncmp(end, units[i].unit, ulen) == 0) {
			double b = v * units[i].mult;
			if (b > 1.8e19)
				return false;
			*bytes = (uint64_t)b;
			return true;
		}
	return false;
}

int compose_memory(struct compose *c, char *const *ids, size_t n, uint64_t *mem)
{
	struct spawn_result res = {0};
	int r;

	for (size_t i = 0; i < n; i++)
		mem[i] = UINT64_MAX;
	if (!n)
		return 0;
	r = probe_ids(c, stats_args, ids, n, false, false, &res);
	if (r < 0)
		return r;
	/* every line is hostile: "ID<TAB>USAGE / LIMIT", anything else is skipped */
	for (char *save = NULL, *l = strtok_r(res.output ? res.output : (char *)"", "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(l, '\t');
		uint64_t b;

		if (!tab || tab == l)
			continue;
		*tab = '\0';
		if (!compose_parse_mem_usage(tab + 1, &b))
			continue;
		for (size_t i = 0; i < n; i++)
			if (ids[i][0] && (str_startswith(l, ids[i]) || str_startswith(ids[i], l)))
				mem[i] = b;
	}
	spawn_result_release(&res);
	return 0;
}

int compose_images_exist(struct compose *c, const char *const *refs, size_t n, bool *exists)
{
	struct spawn_result res = {0};
	struct strv v = {0}, found = {0};
	int r;

	for (size_t i = 0; i < n; i++)
		exists[i] = false;
	if (!n)
		return 0;
	strv_push(&v, c->docker);
	strv_push(&v, "image");
	strv_push(&v, "ls");
	strv_push(&v, "--format");
	strv_push(&v, "{{.Repository}}:{{.Tag}}");
	for (size_t i = 0; i < n; i++) {
		strv_push(&v, "--filter");
		strv_push_take(&v, xasprintf("reference=%s", refs[i]));
	}
	r = probe(c, "docker", v.v, true, true, &res);
	strv_free(&v);
	if (r < 0 || res.exit_code != 0) {
		spawn_result_release(&res);
		return r < 0 ? r : SL_EFAILED;
	}
	for (char *l = strtok(res.output ? res.output : (char *)"", "\n"); l;
	     l = strtok(NULL, "\n"))
		strv_push(&found, str_trim(l));
	spawn_result_release(&res);
	for (size_t i = 0; i < n; i++)
		exists[i] = strv_contains(&found, refs[i]);
	strv_free(&found);
	return 0;
}

int compose_running_projects(struct compose *c, struct strv *lines)
{
	char *argv[] = {
	    c->docker,	"ps",
	    "--filter", "label=com.docker.compose.project",
	    "--format", "{{.Label \"com.docker.compose.project\"}}\t{{.Names}}\t{{.Status}}",
	    NULL};

	return probe_lines(c, argv, true, lines);
}

static void unix_time_arg(int64_t ns, char *buf, size_t n)
{
	snprintf(buf, n, "%lld.%09lld", (long long)(ns / 1000000000LL),
		 (long long)(ns % 1000000000LL));
}

/* The service's containers, oldest first (a recreate leaves one; replicas several): *cts
 * (malloc'd, free it) holds *k of them. SL_EENV with err when docker cannot list them. */
static int service_containers(struct compose *c, const char *service,
			      struct compose_container **cts, size_t *k, char *err, size_t errlen)
{
	size_t n = 0;
	struct compose_container *v;

	*k = 0;
	if (compose_containers(c, false, cts, &n) < 0) {
		snprintf(err, errlen,
			 "cannot list the containers of compose project '%s' (docker ps)",
			 c->project);
		return SL_EENV;
	}
	v = *cts;
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].service, service))
			v[(*k)++] = v[i];
	for (size_t i = 1; i < *k; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1].started_at, v[j].started_at) > 0; j--) {
			struct compose_container t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return 0;
}

/* docker logs --timestamps [--since T] [--until T] into v; the container's id comes after. */
static void logs_argv(struct compose *c, struct strv *v, int64_t since_ns, int64_t until_ns)
{
	char at[48];

	strv_push(v, c->docker);
	strv_push(v, "logs");
	strv_push(v, "--timestamps");
	if (since_ns) {
		unix_time_arg(since_ns, at, sizeof(at));
		strv_push(v, "--since");
		strv_push(v, at);
	}
	if (until_ns) {
		unix_time_arg(until_ns, at, sizeof(at));
		strv_push(v, "--until");
		strv_push(v, at);
	}
}

int compose_logs(struct compose *c, const char *service, const struct compose_logs_opts *o,
		 char *err, size_t errlen)
{
	struct compose_container *cts = NULL;
	size_t k = 0;
	int r;

	r = service_containers(c, service, &cts, &k, err, errlen);
	if (r < 0)
		return r;
	if (!k) {
		snprintf(err, errlen,
			 "compose service '%s' of project '%s' has no container (docker ps -a): "
			 "deploy it with --runtime docker first",
			 service, c->project);
		free(cts);
		return SL_EENV;
	}
	for (size_t i = 0; i < k && r == 0; i++) {
		/* only the newest container is followed: the others ended */
		bool follow = o->follow && i == k - 1;
		char tail[24];
		struct spawn_result res = {0};
		struct strv v = {0};

		logs_argv(c, &v, o->since_ns, o->until_ns);
		if (o->tail) {
			snprintf(tail, sizeof(tail), "%llu", (unsigned long long)o->tail);
			strv_push(&v, "--tail");
			strv_push(&v, tail);
		}
		if (follow)
			strv_push(&v, "--follow");
		strv_push(&v, cts[i].id);
		if (k > 1)
			printf("== %s (%.12s, started %s) ==\n", cts[i].name, cts[i].id,
			       cts[i].started_at);
		fflush(stdout);
		/* relayed (captured and teed), never inherited: terminal controls are escaped */
		r = spawn_run(v.v,
			      &(struct spawn_opts){.cwd = c->workdir,
						   .capture = true,
						   .tee = true,
						   .abort_flag = follow ? o->stop : NULL},
			      &res);
		if (r < 0) {
			snprintf(err, errlen, "cannot run docker logs: %s", strerror(-r));
			r = SL_EENV;
		} else if (res.exit_code != 0 && !(follow && o->stop && *o->stop)) {
			snprintf(err, errlen, "docker logs %.12s exited with status %d", cts[i].id,
				 res.exit_code);
			r = SL_EENV;
		}
		spawn_result_release(&res);
		strv_free(&v);
	}
	free(cts);
	return r;
}

int compose_logs_lines(struct compose *c, const char *service, int64_t since_ns, int64_t until_ns,
		       struct strv *lines, char *err, size_t errlen)
{
	struct compose_container *cts = NULL;
	size_t k = 0;
	int r;

	r = service_containers(c, service, &cts, &k, err, errlen);
	if (r < 0)
		return r;
	for (size_t i = 0; i < k && r == 0; i++) {
		struct spawn_result res = {0};
		struct strv v = {0};

		logs_argv(c, &v, since_ns, until_ns);
		strv_push(&v, cts[i].id);
		r = probe(c, "docker", v.v, false, false, &res);
		strv_free(&v);
		if (r < 0 || res.exit_code != 0) {
			snprintf(err, errlen, "docker logs %.12s failed (%s)", cts[i].id,
				 r < 0 ? strerror(-r) : "non-zero exit");
			spawn_result_release(&res);
			r = SL_EENV;
			break;
		}
		for (char *save = NULL,
			  *l = strtok_r(res.output ? res.output : (char *)"", "\n", &save);
		     l; l = strtok_r(NULL, "\n", &save))
			strv_push(lines, l);
		spawn_result_release(&res);
	}
	free(cts);
	return r;
}
