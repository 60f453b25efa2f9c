/* SPDX-License-Identifier: MIT */
#include "sample.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *const services[] = {
    "web", "api", "compute", "candles", "ingest-options", "ingest-equities"};

static bool port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int free_port_pair(void)
{
	srand((unsigned)(getpid() ^ time(NULL)));
	for (int i = 0; i < 200; i++) {
		int p = 20000 + (rand() % 20000) * 2;
		if (port_free(p) && port_free(p + 1))
			return p;
	}
	cr_assert_fail("no free port pair");
	return 0;
}

static char *capture(const char *cwd, const char *cmd)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct tl_run r;
	char *out;

	tl_run(&r, cwd, NULL, argv);
	out = r.out;
	r.out = NULL;
	tl_run_release(&r);
	str_trim(out);
	return out;
}

void sample_setup(struct sample *s, const char *tag, bool start)
{
	struct tl_run r;
	char *argv[6];
	char *env[] = {"SHIPLOG_SAMPLEAPP=" SAMPLEAPP_BINARY, NULL};
	char port[16];

	*s = (struct sample){0};
	s->dir = tl_mkdtemp(tag);
	snprintf(s->project, sizeof(s->project), "t%s%d", tag, (int)getpid() % 100000);
	for (char *p = s->project; *p; p++)
		if (*p == '_')
			*p = '-';
	s->port = free_port_pair();
	snprintf(port, sizeof(port), "%d", s->port);
	argv[0] = SHIPLOG_SOURCE_DIR "/tools/make-sample-repo.sh";
	argv[1] = s->dir, argv[2] = s->project, argv[3] = port, argv[4] = NULL;
	tl_run(&r, s->dir, env, argv);
	cr_assert_eq(r.exit_code, 0, "make-sample-repo.sh failed: %s%s", r.out, r.err);
	tl_run_release(&r);
	s->checkout = xasprintf("%s/checkout", s->dir);
	s->conf = xasprintf("%s/shiplog.conf", s->checkout);
	s->ledger = xasprintf("%s/ledger", s->dir);
	s->dev = xasprintf("%s/dev", s->dir);
	cr_assert_eq(
	    tl_sh("git clone -q '%s/origin.git' '%s' && git -C '%s' config user.email t@t && "
		  "git -C '%s' config user.name t",
		  s->dir, s->dev, s->dev, s->dev),
	    0);

	sample_shiplog(s, &r, NULL, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "units install failed: %s%s", r.out, r.err);
	tl_run_release(&r);
	if (!start)
		return;
	{
		struct buf cmd = {0};
		buf_printf(&cmd, "systemctl --user start");
		for (size_t i = 0; i < ELEMENTSOF(services); i++)
			buf_printf(&cmd, " %s-%s.service", s->project, services[i]);
		if (tl_sh("%s", cmd.data) != 0) {
			char *logs =
			    capture(s->dir, "tail -n 5 logs/*.log 2>&1; systemctl --user "
					    "list-units --all --no-pager 't*' 2>&1 | tail -n 20");
			cr_assert_fail("starting the sample units failed (port %d):\n%s", s->port,
				       logs);
		}
		buf_free(&cmd);
	}
	for (int i = 0; i < 100; i++) {
		char web[41], api[41];
		sample_http_commit(s, "web", web);
		sample_http_commit(s, "api", api);
		if (web[0] && api[0])
			return;
		usleep(100000);
	}
	cr_assert_fail("the sample's web and api did not answer within 10 s");
}

void sample_teardown(struct sample *s)
{
	struct buf cmd = {0};

	if (!s->dir)
		return;
	buf_printf(&cmd, "systemctl --user stop");
	for (size_t i = 0; i < ELEMENTSOF(services); i++)
		buf_printf(&cmd, " %s-%s.service", s->project, services[i]);
	/* reset-failed only this sample's units: a bare reset-failed also clears the start
	 * limit counters of the units of tests running beside this one */
	buf_printf(&cmd,
		   " >/dev/null 2>&1; systemctl --user reset-failed '%s-*' >/dev/null 2>&1; "
		   "rm -f \"${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/%s-\"*; "
		   "systemctl --user daemon-reload >/dev/null 2>&1",
		   s->project, s->project);
	tl_sh("%s", cmd.data);
	buf_free(&cmd);
	if (!getenv("SHIPLOG_TEST_KEEP"))
		tl_rmrf(s->dir);
	free(s->dir), free(s->checkout), free(s->conf), free(s->ledger), free(s->dev);
	*s = (struct sample){0};
}

void sample_shiplog(struct sample *s, struct tl_run *r, char *const env[], ...)
{
	char *argv[64];
	size_t n = 0;
	va_list ap;

	argv[n++] = SHIPLOG_BINARY;
	argv[n++] = "-c";
	argv[n++] = s->conf;
	va_start(ap, env);
	for (char *a; (a = va_arg(ap, char *)) && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	tl_run(r, s->checkout, env, argv);
}

const char *sample_commit(struct sample *s, const char *branch, const char *snippet,
			  const char *message)
{
	static char sha[41];
	char *out;

	cr_assert_eq(tl_sh("cd '%s' && git checkout -q -B '%s' && (%s) && git add -A && "
			   "git commit -q -m '%s' && git push -q -f origin 'HEAD:refs/heads/%s'",
			   s->dev, branch ? branch : "main", snippet, message,
			   branch ? branch : "main"),
		     0, "commit '%s' failed", message);
	out = capture(s->dev, "git rev-parse HEAD");
	strlcpy_(sha, out, sizeof(sha));
	free(out);
	if (branch)
		tl_sh("cd '%s' && git checkout -q main", s->dev);
	return sha;
}

void sample_head(struct sample *s, char out[41])
{
	char *o = capture(s->checkout, "git rev-parse HEAD");
	strlcpy_(out, o, 41);
	free(o);
}

unsigned sample_main_pid(struct sample *s, const char *service)
{
	char cmd[256];
	char *o;
	unsigned pid;

	snprintf(cmd, sizeof(cmd), "systemctl --user show -p MainPID --value %s-%s.service",
		 s->project, service);
	o = capture(NULL, cmd);
	pid = (unsigned)strtoul(o, NULL, 10);
	free(o);
	return pid;
}

void sample_http_commit(struct sample *s, const char *service, char out[41])
{
	char cmd[256];
	char *o, *c;

	snprintf(cmd, sizeof(cmd), "curl -s --max-time 2 http://127.0.0.1:%d/health",
		 s->port + (streq(service, "api") ? 1 : 0));
	o = capture(NULL, cmd);
	out[0] = '\0';
	c = strstr(o, "\"commit\":\"");
	if (c)
		strlcpy_(out, c + 10, 41);
	free(o);
}

void sample_beat_commit(struct sample *s, const char *service, char out[41])
{
	char *path = xasprintf("%s/beats/%s.beat", s->dir, service);
	time_t start = time(NULL);

	out[0] = '\0';
	for (int i = 0; i < 100; i++) {
		char *b = tl_read(path);
		if (b) {
			char commit[41] = "";
			unsigned long t = 0;
			if (sscanf(b, "%40s %*u %lu", commit, &t) >= 1 &&
			    t >= (unsigned long)start) {
				strlcpy_(out, commit, 41);
				free(b);
				break;
			}
			free(b);
		}
		usleep(100000);
	}
	free(path);
}

int sample_count_events(struct sample *s, const char *type)
{
	struct tl_run r;
	char needle[64];
	int n = 0;

	sample_shiplog(s, &r, NULL, "ledger", "export", NULL);
	snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
	for (char *p = r.out; (p = strstr(p, needle)); p++)
		n++;
	tl_run_release(&r);
	return n;
}

static size_t key_len(const char *line)
{
	return strcspn(line, " =");
}

static bool same_key(const char *line, const char *override)
{
	size_t k = key_len(override);

	return strncmp(line, override, k) == 0 && (line[k] == ' ' || line[k] == '=');
}

char *sample_alt_conf(struct sample *s, const char *name, const char *section,
		      const char *overrides)
{
	char *path = xasprintf("%s/%s.conf", s->dir, name);
	char *text = tl_read(s->conf);
	struct strv lines = {0}, file = {0};
	struct buf out = {0};
	bool present[64] = {0}, used[64] = {0};
	char *save = NULL, *copy;

	cr_assert_not_null(text);
	copy = xstrdup(overrides ? overrides : "");
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		strv_push(&lines, l);
	free(copy);
	save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		strv_push(&file, l);
	for (size_t f = 0; f < file.n; f++)
		for (size_t i = 0; i < lines.n; i++)
			if (same_key(file.v[f], lines.v[i]))
				present[i] = true;
	for (size_t f = 0; f < file.n; f++) {
		const char *line = file.v[f];
		for (size_t i = 0; i < lines.n && line == file.v[f]; i++)
			if (!used[i] && same_key(line, lines.v[i])) {
				line = lines.v[i];
				used[i] = true;
			}
		buf_printf(&out, "%s\n", line);
		if (streq(file.v[f], "[target]"))
			buf_printf(&out, "local_exec = always\n");
		if (section && streq(file.v[f], section))
			for (size_t i = 0; i < lines.n; i++)
				if (!present[i])
					buf_printf(&out, "%s\n", lines.v[i]);
	}
	tl_write(path, out.data);
	buf_free(&out);
	strv_free(&lines);
	strv_free(&file);
	free(text);
	return path;
}

unsigned long sample_newest_op(struct sample *s, const char *needle)
{
	struct tl_run r;
	unsigned long id = 0;

	sample_shiplog(s, &r, NULL, "--json", "history", "--limit", "50", NULL);
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		char *p = strstr(line, "\"number\":");
		if (p && strstr(line, needle)) {
			id = strtoul(p + 9, NULL, 10);
			break;
		}
	}
	tl_run_release(&r);
	return id;
}

pid_t sample_start_until(struct sample *s, const char *conf, const char *name, const char *marker,
			 char *const args[])
{
	char *log = xasprintf("%s/%s.log", s->dir, name);
	char *argv[16];
	size_t n = 0;
	pid_t pid;

	argv[n++] = SHIPLOG_BINARY;
	argv[n++] = "-c";
	argv[n++] = (char *)(conf ? conf : s->conf);
	for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr) ||
		    chdir(s->checkout) < 0)
			_exit(126);
		execv(SHIPLOG_BINARY, argv);
		_exit(127);
	}
	for (int i = 0; i < 1200; i++) {
		if (tl_sh("grep -q -- '%s' '%s' 2>/dev/null", marker, log) == 0) {
			free(log);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(50000);
	}
	cr_assert_fail("'%s' never said '%s':\n%s", name, marker, tl_read(log));
	return pid;
}

void sample_release_link(struct sample *s, const char *name, char out[41])
{
	char *link = xasprintf("%s.releases/%s", s->checkout, name), buf[4096];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);

	out[0] = '\0';
	if (n > 0) {
		buf[n] = '\0';
		strlcpy_(out, strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf, 41);
	}
	free(link);
}
