/* SPDX-License-Identifier: MIT */
/* Health checks against real sockets: a tiny HTTP server forked inside each test on
 * 127.0.0.1:<free port>, closed ports, and real commands. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "testlib.h"
#include "util.h"

#define MS 1000000LL

enum srv_mode {
	SRV_FIXED,  /* answer status + body */
	SRV_ECHO,   /* answer 200 with the request as the body */
	SRV_SILENT, /* accept, never answer */
};

struct srv {
	pid_t pid;
	int port;
};

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(a);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&a, &len);
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

/* A port nothing listens on (bound, then closed). */
static int closed_port(void)
{
	int fd = listen_on(0), port;

	cr_assert_geq(fd, 0);
	port = port_of(fd);
	close(fd);
	return port;
}

static void srv_serve(int lfd, enum srv_mode mode, int status, const char *body)
{
	for (;;) {
		char req[4096];
		size_t n = 0;
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			continue;
		if (mode == SRV_SILENT) {
			sleep(60);
			_exit(0);
		}
		while (n < sizeof(req) - 1) {
			ssize_t k = read(c, req + n, sizeof(req) - 1 - n);
			if (k <= 0)
				break;
			n += (size_t)k;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n] = '\0';
		const char *b = mode == SRV_ECHO ? req : body;
		char *resp =
		    xasprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%sConnection: close"
			      "\r\n\r\n%s",
			      status, strlen(b),
			      status / 100 == 3 ? "Location: http://127.0.0.1:1/\r\n" : "", b);
		ssize_t w = write(c, resp, strlen(resp));
		(void)w;
		free(resp);
		close(c);
	}
}

/* Starts a server; with delay_ms > 0 it binds the port only after that long. */
static struct srv srv_start(enum srv_mode mode, int status, const char *body, int delay_ms)
{
	struct srv s;
	int lfd = -1;

	if (delay_ms > 0)
		s.port = closed_port();
	else {
		lfd = listen_on(0);
		cr_assert_geq(lfd, 0);
		s.port = port_of(lfd);
	}
	s.pid = fork();
	cr_assert_geq(s.pid, 0);
	if (s.pid == 0) {
		if (delay_ms > 0) {
			struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			lfd = listen_on(s.port);
			if (lfd < 0)
				_exit(3);
		}
		srv_serve(lfd, mode, status, body);
		_exit(0);
	}
	if (lfd >= 0)
		close(lfd);
	return s;
}

static void srv_stop(struct srv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

static struct health_spec http_spec(enum health_kind kind, int port, const char *path, int expect)
{
	struct health_spec h = {.kind = kind, .expect_status = expect};

	h.target = xasprintf("http://127.0.0.1:%d%s", port, path);
	return h;
}

Test(health, http_get_ok_with_body_excerpt)
{
	struct srv s = srv_start(SRV_FIXED, 200, "{\"status\":\"ok\"}\n\x01", 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/health", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert(res.ok, "detail: %s", res.detail);
	cr_assert_eq(res.http_status, 200);
	cr_assert_eq(res.attempts, 1);
	cr_assert_gt(res.latency_ns, 0);
	cr_assert_str_eq(res.detail, "HTTP 200: {\"status\":\"ok\"}\\n\\x01");
	srv_stop(&s);
	free(h.target);
}

Test(health, http_get_sends_user_agent)
{
	struct srv s = srv_start(SRV_ECHO, 200, NULL, 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert(res.ok);
	cr_assert(str_startswith(res.detail, "HTTP 200: GET / HTTP/1.1\\r\\n"), "%s", res.detail);
	cr_assert_not_null(strstr(res.detail, "User-Agent: shiplog/" SHIPLOG_VERSION), "%s",
			   res.detail);
	srv_stop(&s);
	free(h.target);
}

Test(health, http_get_500_fails)
{
	struct srv s = srv_start(SRV_FIXED, 500, "database is down", 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/health", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_eq(res.http_status, 500);
	cr_assert_str_eq(res.detail, "HTTP 500: database is down");
	srv_stop(&s);
	free(h.target);
}

/* A body's closing newline (most JSON and text answers have one) is not shown as "\n". */
Test(health, http_get_body_closing_newline_is_dropped)
{
	struct srv s = srv_start(SRV_FIXED, 500, "{\"ok\":false}\r\n", 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/health", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert_str_eq(res.detail, "HTTP 500: {\"ok\":false}");
	srv_stop(&s);
	free(h.target);
}

Test(health, http_get_long_body_is_cut)
{
	char body[1000];
	struct srv s;
	struct health_spec h;
	struct health_result res;

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	s = srv_start(SRV_FIXED, 200, body, 0);
	h = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert(res.ok);
	cr_assert_eq(strlen(res.detail), strlen("HTTP 200: ") + 200 + 3, "%zu", strlen(res.detail));
	srv_stop(&s);
	free(h.target);
}

Test(health, http_get_expect_status)
{
	struct srv s = srv_start(SRV_FIXED, 404, "nope", 0);
	struct health_spec want404 = http_spec(HEALTH_HTTP_GET, s.port, "/", 404);
	struct health_spec want200 = http_spec(HEALTH_HTTP_GET, s.port, "/", 200);
	struct health_spec any = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&want404, 2000 * MS, NULL, &res), 0);
	cr_assert(res.ok, "%s", res.detail);
	cr_assert_eq(health_check_once(&want200, 2000 * MS, NULL, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_eq(res.http_status, 404);
	cr_assert_not_null(strstr(res.detail, "expected 200"), "%s", res.detail);
	cr_assert_eq(health_check_once(&any, 2000 * MS, NULL, &res), 0);
	cr_assert_not(res.ok);
	srv_stop(&s);
	free(want404.target);
	free(want200.target);
	free(any.target);
}

Test(health, http_redirect_is_not_followed)
{
	struct srv s = srv_start(SRV_FIXED, 302, "", 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	struct health_result res;

	/* The Location points at a closed port: following it would fail. */
	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert(res.ok, "%s", res.detail);
	cr_assert_eq(res.http_status, 302);
	srv_stop(&s);
	free(h.target);
}

Test(health, http_head)
{
	struct srv ok = srv_start(SRV_FIXED, 200, "page", 0);
	struct srv missing = srv_start(SRV_FIXED, 404, "gone", 0);
	struct health_spec h1 = http_spec(HEALTH_HTTP_HEAD, ok.port, "/", 0);
	struct health_spec h2 = http_spec(HEALTH_HTTP_HEAD, missing.port, "/", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&h1, 2000 * MS, NULL, &res), 0);
	cr_assert(res.ok, "%s", res.detail);
	cr_assert_eq(res.http_status, 200);
	cr_assert_eq(health_check_once(&h2, 2000 * MS, NULL, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_eq(res.http_status, 404);
	cr_assert(str_startswith(res.detail, "HTTP 404"), "%s", res.detail);
	srv_stop(&ok);
	srv_stop(&missing);
	free(h1.target);
	free(h2.target);
}

Test(health, http_connection_refused)
{
	struct health_spec h = http_spec(HEALTH_HTTP_GET, closed_port(), "/health", 0);
	struct health_result res;

	cr_assert_eq(health_check_once(&h, 2000 * MS, NULL, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_eq(res.http_status, 0);
	cr_assert(str_startswith(res.detail, "GET http://127.0.0.1:"), "%s", res.detail);
	free(h.target);
}

Test(health, http_attempt_timeout_on_a_silent_server, .timeout = 20)
{
	struct srv s = srv_start(SRV_SILENT, 0, NULL, 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	struct health_result res;
	int64_t t0 = mono_ns(), dt;

	cr_assert_eq(health_check_once(&h, 300 * MS, NULL, &res), 0);
	dt = mono_ns() - t0;
	cr_assert_not(res.ok);
	cr_assert_geq(dt, 250 * MS);
	cr_assert_lt(dt, 2000 * MS);
	cr_assert_not_null(strstr(res.detail, "imed out"), "%s", res.detail);
	srv_stop(&s);
	free(h.target);
}

Test(health, tcp_open_and_closed)
{
	int lfd = listen_on(0);
	struct health_spec h = {.kind = HEALTH_TCP};
	struct health_result res;

	cr_assert_geq(lfd, 0);
	h.target = xasprintf("127.0.0.1:%d", port_of(lfd));
	cr_assert_eq(health_check_once(&h, 1000 * MS, NULL, &res), 0);
	cr_assert(res.ok, "%s", res.detail);
	free(h.target);

	h.target = xasprintf("localhost:%d", port_of(lfd));
	cr_assert_eq(health_check_once(&h, 1000 * MS, NULL, &res), 0);
	cr_assert(res.ok, "%s", res.detail);
	free(h.target);
	close(lfd);

	h.target = xasprintf("127.0.0.1:%d", closed_port());
	cr_assert_eq(health_check_once(&h, 1000 * MS, NULL, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_not_null(strstr(res.detail, "refused"), "%s", res.detail);
	cr_assert(str_startswith(res.detail, "connect 127.0.0.1:"), "%s", res.detail);
	free(h.target);

	h.target = "no-port-here";
	cr_assert_eq(health_check_once(&h, 1000 * MS, NULL, &res), -EINVAL);
	cr_assert_not(res.ok);
}

Test(health, cmd_checks)
{
	char *dir = tl_mkdtemp("health-cmd");
	char *marker = xasprintf("%s/marker", dir);
	struct health_spec h = {.kind = HEALTH_CMD, .target = "cmd"};
	struct health_result res;

	strv_push(&h.argv, "true");
	cr_assert_eq(health_check_once(&h, 2000 * MS, dir, &res), 0);
	cr_assert(res.ok, "%s", res.detail);
	strv_free(&h.argv);

	strv_push(&h.argv, "false");
	cr_assert_eq(health_check_once(&h, 2000 * MS, dir, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_str_eq(res.detail, "exit 1");
	strv_free(&h.argv);

	strv_push(&h.argv, "sh");
	strv_push(&h.argv, "-c");
	strv_push(&h.argv, "echo first; echo 'last line'; echo; test -f marker");
	cr_assert_eq(health_check_once(&h, 2000 * MS, dir, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_str_eq(res.detail, "exit 1: last line");
	tl_write(marker, "");
	cr_assert_eq(health_check_once(&h, 2000 * MS, dir, &res), 0);
	cr_assert(res.ok, "the cwd was not used: %s", res.detail);
	cr_assert_str_eq(res.detail, "last line");
	strv_free(&h.argv);

	strv_push(&h.argv, "shiplog-no-such-check");
	cr_assert_eq(health_check_once(&h, 2000 * MS, dir, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_not_null(strstr(res.detail, "not found"), "%s", res.detail);
	strv_free(&h.argv);

	strv_push(&h.argv, "sleep");
	strv_push(&h.argv, "10");
	int64_t t0 = mono_ns();
	cr_assert_eq(health_check_once(&h, 300 * MS, dir, &res), 0);
	cr_assert_not(res.ok);
	cr_assert_lt(mono_ns() - t0, 3000 * MS);
	cr_assert(str_startswith(res.detail, "timed out"), "%s", res.detail);
	strv_free(&h.argv);
	free(marker);
	tl_rmrf(dir);
	free(dir);
}

Test(health, retries_until_the_server_comes_up, .timeout = 20)
{
	struct srv s = srv_start(SRV_FIXED, 200, "up", 300);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	struct health_result res;
	int64_t t0 = mono_ns(), dt;

	cr_assert_eq(health_check(&h, 5000 * MS, 100 * MS, NULL, &res), 0);
	dt = mono_ns() - t0;
	cr_assert(res.ok, "%s", res.detail);
	cr_assert_gt(res.attempts, 1);
	cr_assert_geq(dt, 250 * MS);
	cr_assert_lt(dt, 3000 * MS);
	cr_assert_lt(res.latency_ns, 1000 * MS, "latency is the last attempt's");
	srv_stop(&s);
	free(h.target);
}

Test(health, overall_timeout_is_respected, .timeout = 20)
{
	struct health_spec h = {.kind = HEALTH_TCP};
	struct health_result res;
	int64_t t0 = mono_ns(), dt;

	h.target = xasprintf("127.0.0.1:%d", closed_port());
	cr_assert_eq(health_check(&h, 700 * MS, 100 * MS, NULL, &res), 0);
	dt = mono_ns() - t0;
	cr_assert_not(res.ok);
	cr_assert_geq(res.attempts, 4, "attempts %u", res.attempts);
	cr_assert_geq(dt, 500 * MS);
	cr_assert_lt(dt, 1200 * MS);
	free(h.target);

	/* A silent server: attempts are cut by the deadline, not left to hang. */
	struct srv s = srv_start(SRV_SILENT, 0, NULL, 0);
	struct health_spec g = http_spec(HEALTH_HTTP_GET, s.port, "/", 0);
	t0 = mono_ns();
	cr_assert_eq(health_check(&g, 800 * MS, 100 * MS, NULL, &res), 0);
	dt = mono_ns() - t0;
	cr_assert_not(res.ok);
	cr_assert_lt(dt, 1500 * MS);
	srv_stop(&s);
	free(g.target);
}

/* Two checks that fail side by side take one timeout, not two. */
Test(health, check_all_runs_the_checks_side_by_side, .timeout = 20)
{
	struct srv s = srv_start(SRV_FIXED, 500, "down", 0);
	struct health_spec a = http_spec(HEALTH_HTTP_GET, s.port, "/web", 0);
	struct health_spec b = http_spec(HEALTH_HTTP_GET, s.port, "/api", 0);
	struct health_job jobs[2] = {{.spec = &a}, {.spec = &b}};
	int64_t t0 = mono_ns(), dt;
	int definitive = 0;

	cr_assert_eq(health_check_all(jobs, 2, 1000 * MS, 100 * MS, NULL, NULL), 0);
	dt = mono_ns() - t0;
	cr_assert_geq(dt, 800 * MS);
	cr_assert_lt(dt, 1500 * MS, "two 1 s checks took %lld ms", (long long)(dt / MS));
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(jobs[i].rc, 0);
		cr_assert_not(jobs[i].res.ok);
		cr_assert_geq(jobs[i].res.attempts, 1);
		cr_assert(strstr(jobs[i].res.detail, "HTTP 500"), "%s", jobs[i].res.detail);
		definitive += !jobs[i].res.cut_short;
	}
	cr_assert_geq(definitive, 1, "no check failed for good");
	srv_stop(&s);
	free(a.target);
	free(b.target);
}

/* A check that fails for good stops the others at once: one retrying against a closed port,
 * one whose HTTP request hangs on a silent server, one command that would sleep for a minute. */
Test(health, first_failure_cuts_the_others_short, .timeout = 30)
{
	struct srv s = srv_start(SRV_SILENT, 0, NULL, 0);
	struct health_spec bad = {.kind = HEALTH_TCP, .target = "not-a-host-port"}; /* for good */
	struct health_spec tcp = {.kind = HEALTH_TCP};
	struct health_spec hung = http_spec(HEALTH_HTTP_GET, s.port, "/health", 0);
	struct health_spec cmd = {.kind = HEALTH_CMD};
	struct health_job jobs[4] = {
	    {.spec = &tcp}, {.spec = &hung}, {.spec = &cmd}, {.spec = &bad}};
	int64_t t0, dt;

	tcp.target = xasprintf("127.0.0.1:%d", closed_port());
	strv_push(&cmd.argv, "sleep");
	strv_push(&cmd.argv, "60.71");
	t0 = mono_ns();
	cr_assert_eq(health_check_all(jobs, 4, 20000 * MS, 100 * MS, NULL, NULL), 0);
	dt = mono_ns() - t0;
	cr_assert_lt(dt, 2500 * MS, "the others ran on for %lld ms", (long long)(dt / MS));
	cr_assert_lt(jobs[3].rc, 0);
	cr_assert_not(jobs[3].res.cut_short);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(jobs[i].rc, 0, "job %d", i);
		cr_assert_not(jobs[i].res.ok, "job %d", i);
		cr_assert(jobs[i].res.cut_short, "job %d not cut short: %s", i, jobs[i].res.detail);
	}
	cr_assert(strstr(jobs[0].res.detail, "connect") ||
		      streq(jobs[0].res.detail, "no attempt finished"),
		  "%s", jobs[0].res.detail);
	cr_assert_str_eq(jobs[2].res.detail, "no attempt finished");
	cr_assert_neq(tl_sh("pgrep -x -f 'sleep 60.71' >/dev/null"), 0,
		      "the command was left running");
	srv_stop(&s);
	free(tcp.target);
	free(hung.target);
	strv_free(&cmd.argv);
}

static volatile sig_atomic_t test_stop;
static void on_alarm(int sig)
{
	test_stop = sig;
}

/* An interruption (a signal handler sets the flag, as SIGINT does in a deploy) cuts every check
 * short. */
Test(health, stop_flag_cuts_every_check_short, .timeout = 30)
{
	struct srv s = srv_start(SRV_FIXED, 503, "warming up", 0);
	struct health_spec h = http_spec(HEALTH_HTTP_GET, s.port, "/health", 0);
	struct health_spec cmd = {.kind = HEALTH_CMD};
	struct health_job jobs[2] = {{.spec = &h}, {.spec = &cmd}};
	struct itimerval it = {.it_value = {.tv_usec = 400000}};
	int64_t t0, dt;

	strv_push(&cmd.argv, "sleep");
	strv_push(&cmd.argv, "61.71");
	test_stop = 0;
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = mono_ns();
	cr_assert_eq(health_check_all(jobs, 2, 20000 * MS, 100 * MS, NULL, &test_stop), 0);
	dt = mono_ns() - t0;
	cr_assert_eq(test_stop, SIGALRM);
	cr_assert_lt(dt, 2000 * MS, "took %lld ms", (long long)(dt / MS));
	for (int i = 0; i < 2; i++) {
		cr_assert_not(jobs[i].res.ok);
		cr_assert(jobs[i].res.cut_short, "job %d: %s", i, jobs[i].res.detail);
	}
	cr_assert(strstr(jobs[0].res.detail, "HTTP 503"), "%s", jobs[0].res.detail);
	cr_assert_geq(jobs[0].res.attempts, 2);
	cr_assert_neq(tl_sh("pgrep -x -f 'sleep 61.71' >/dev/null"), 0,
		      "the command was left running");
	srv_stop(&s);
	free(h.target);
	strv_free(&cmd.argv);
}
