/* SPDX-License-Identifier: MIT */
#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

char *tl_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *p = xasprintf("%s/shiplog-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);

	cr_assert_not_null(mkdtemp(p), "mkdtemp %s: %s", p, strerror(errno));
	return p;
}

void tl_rmrf(const char *path)
{
	char *argv[] = {"rm", "-rf", (char *)path, NULL};
	struct tl_run r;

	if (!path || !*path || streq(path, "/"))
		return;
	tl_run(&r, NULL, NULL, argv);
	tl_run_release(&r);
}

static char *slurp_fd(int fd)
{
	struct buf b = {0};
	char chunk[8192];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	if (!b.data)
		b.data = xstrdup("");
	return b.data;
}

void tl_run(struct tl_run *r, const char *cwd, char *const env_add[], char *const argv[])
{
	char outp[] = "/tmp/tl-out-XXXXXX", errp[] = "/tmp/tl-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp), status;
	pid_t pid;

	cr_assert(ofd >= 0 && efd >= 0);
	unlink(outp);
	unlink(errp);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		for (size_t i = 0; env_add && env_add[i]; i++)
			putenv(env_add[i]);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	r->out = slurp_fd(ofd);
	r->err = slurp_fd(efd);
	close(ofd);
	close(efd);
}

void tl_shiplog(struct tl_run *r, const char *cwd, char *const env_add[], ...)
{
	char *argv[64];
	size_t n = 0;
	va_list ap;

	argv[n++] = SHIPLOG_BINARY;
	va_start(ap, env_add);
	for (char *a; (a = va_arg(ap, char *)) && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	tl_run(r, cwd, env_add, argv);
}

void tl_run_release(struct tl_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int tl_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void tl_write(const char *path, const char *content)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	FILE *f;

	if (slash) {
		*slash = '\0';
		mkdir_p(dir, 0755);
	}
	free(dir);
	f = fopen(path, "w");
	cr_assert_not_null(f, "write %s: %s", path, strerror(errno));
	fputs(content, f);
	fclose(f);
}

char *tl_read(const char *path)
{
	char *s = NULL;

	if (read_file(path, 64 << 20, &s, NULL) < 0)
		return NULL;
	return s;
}

static bool report(bool ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "SKIP: %s is not available; run the suite through tools/test.sh\n",
			what);
	return ok;
}

bool tl_have_user_manager(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *path;
	bool ok;

	if (!getenv("SHIPLOG_TEST_USER_MANAGER") || !rt)
		return report(false, "a private systemd user manager");
	path = xasprintf("%s/systemd/private", rt);
	ok = access(path, F_OK) == 0;
	free(path);
	return report(ok, "a private systemd user manager");
}

bool tl_have_docker(void)
{
	return report(getenv("SHIPLOG_TEST_DOCKER") && getenv("DOCKER_HOST") &&
			  tl_sh("docker version >/dev/null 2>&1") == 0,
		      "a private Docker engine");
}

bool tl_have_sshd(void)
{
	return report(getenv("SHIPLOG_TEST_SSH_PORT") && getenv("SHIPLOG_TEST_SSH_KEY"),
		      "an sshd on 127.0.0.1");
}

bool tl_have_fleet(void)
{
	const char *hosts = getenv("SHIPLOG_TEST_FLEET_HOSTS");

	return report(!str_empty(hosts) && getenv("SHIPLOG_TEST_FLEET_KEY") &&
			  getenv("SHIPLOG_TEST_FLEET_CTL") && getenv("SHIPLOG_TEST_FLEET_DIR"),
		      "the fleet's test hosts (tools/fleet-hosts.sh)");
}

int tl_fleet_count(void)
{
	const char *h = getenv("SHIPLOG_TEST_FLEET_HOSTS");
	int n = 0;

	for (; h && *h; h++)
		if (*h == '=')
			n++;
	return n;
}

char *tl_fleet_target(const char *name)
{
	const char *h = getenv("SHIPLOG_TEST_FLEET_HOSTS");
	size_t len = strlen(name);

	while (h && *h) {
		size_t word = strcspn(h, " ");
		if (word > len && !strncmp(h, name, len) && h[len] == '=')
			return xstrndup(h + len + 1, word - len - 1);
		h += word;
		h += strspn(h, " ");
	}
	return NULL;
}

int tl_fleet_ctl(const char *verb, const char *name)
{
	return tl_sh("'%s' %s '%s' '%s' >/dev/null", getenv("SHIPLOG_TEST_FLEET_CTL"), verb,
		     getenv("SHIPLOG_TEST_FLEET_DIR"), name);
}

char *tl_fleet_sh(const char *name, const char *command, int *code)
{
	char *argv[] = {
	    "ssh",	     "-F", getenv("SHIPLOG_TEST_FLEET_SSH_CONFIG"), (char *)name,
	    (char *)command, NULL};
	struct tl_run r;
	char *out;

	tl_run(&r, NULL, NULL, argv);
	if (code)
		*code = r.exit_code;
	else
		cr_assert_eq(r.exit_code, 0, "%s: %s: %s", name, command, r.err);
	out = str_trim(r.out);
	r.out = NULL;
	tl_run_release(&r);
	return out;
}

int tl_http(int port, const char *method, const char *path, int tries, char **response)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[512], chunk[4096];
	struct buf b = {0};
	int fd = -1, status = 0;

	*response = NULL;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < tries; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(fd);
		fd = -1;
		if (i + 1 < tries)
			usleep(10 * 1000);
	}
	if (fd < 0)
		return 0;
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		 method, path);
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return 0;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			break;
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	buf_append(&b, "", 1);
	if (sscanf(b.data, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	*response = b.data;
	return status;
}

void tl_assert_no_controls(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		cr_assert(!((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f),
			  "%s: raw control byte 0x%02x at offset %zu", what, *p,
			  (size_t)(p - (const unsigned char *)s));
		cr_assert(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f),
			  "%s: raw C1 control U+00%02X at offset %zu", what, p[1],
			  (size_t)(p - (const unsigned char *)s));
	}
}
