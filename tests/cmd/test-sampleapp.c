/* SPDX-License-Identifier: MIT */
/* The sample app the integration tests and the demo deploy: roles, the commit it reports, the
 * failure modes it can be told to have, and a prompt clean stop. Runs it directly, no manager. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "util.h"

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static pid_t app_start(const char *dir, const char *service)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (chdir(dir) < 0)
			_exit(126);
		unsetenv("NOTIFY_SOCKET");
		execl(SAMPLEAPP_BINARY, "sampleapp", service, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits up to ms for the process to exit; its exit code, or -1 when it still runs. */
static int app_wait(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms / 10; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10 * 1000);
	}
	return -1;
}

static void app_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Sends a request, returns the status (0: no answer); *resp gets the whole response. */
static int http(int port, const char *method, const char *path, char **resp)
{
	return tl_http(port, method, path, 200, resp);
}

static char *git_repo(void)
{
	char *dir = tl_mkdtemp("sampleapp");

	cr_assert_eq(tl_sh("cd '%s' && git init -q -b main . && git -c user.name=t -c "
			   "user.email=t@t -c commit.gpgsign=false commit -q --allow-empty -m one",
			   dir),
		     0);
	return dir;
}

static char *head_commit(const char *dir)
{
	char *argv[] = {"git", "-C", (char *)dir, "rev-parse", "HEAD", NULL};
	struct tl_run r;
	char *c;

	tl_run(&r, NULL, NULL, argv);
	c = xstrdup(str_trim(r.out));
	tl_run_release(&r);
	return c;
}

Test(sampleapp, api_serves_health_with_the_commit_and_stops_on_sigterm)
{
	_cleanup_free_ char *dir = git_repo(), *commit = head_commit(dir), *conf = NULL;
	_cleanup_free_ char *resp = NULL, *want = NULL;
	int port = free_port();
	pid_t pid;

	conf = xasprintf("%s/app.conf", dir);
	want = xasprintf("# comment\napi.role = api\napi.port = %d\n", port);
	tl_write(conf, want);
	pid = app_start(dir, "api");
	cr_assert_eq(http(port, "GET", "/health", &resp), 200, "%s", resp ? resp : "(none)");
	free(want);
	want = xasprintf("{\"service\":\"api\",\"role\":\"api\",\"commit\":\"%s\",\"pid\":%d}",
			 commit, (int)pid);
	cr_assert(strstr(resp, want), "want %s in %s", want, resp);
	cr_assert(strstr(resp, "Connection: close"));
	free(resp);

	cr_assert_eq(http(port, "HEAD", "/", &resp), 200);
	cr_assert(str_startswith(strstr(resp, "\r\n\r\n"), "\r\n\r\n") &&
		      strstr(resp, "\r\n\r\n")[4] == '\0',
		  "HEAD has no body: %s", resp);
	free(resp);
	cr_assert_eq(http(port, "GET", "/nope", &resp), 404);

	kill(pid, SIGTERM);
	cr_assert_eq(app_wait(pid, 2000), 0, "SIGTERM: exit 0 within 2 s");
	tl_rmrf(dir);
}

Test(sampleapp, health_status_is_configurable)
{
	_cleanup_free_ char *dir = git_repo(), *conf = xasprintf("%s/app.conf", dir);
	_cleanup_free_ char *text = NULL, *resp = NULL;
	int port = free_port();
	pid_t pid;

	text = xasprintf("web.role = web\nweb.port = %d\nweb.health_status = 503\n", port);
	tl_write(conf, text);
	pid = app_start(dir, "web");
	cr_assert_eq(http(port, "GET", "/health", &resp), 503, "%s", resp ? resp : "(none)");
	free(resp);
	cr_assert_eq(http(port, "GET", "/", &resp), 200);
	kill(pid, SIGINT);
	cr_assert_eq(app_wait(pid, 2000), 0, "SIGINT: exit 0");
	tl_rmrf(dir);
}

Test(sampleapp, crash_and_crash_after_exit_3)
{
	_cleanup_free_ char *dir = git_repo(), *conf = xasprintf("%s/app.conf", dir);
	struct timespec t0, t1;
	double took;
	pid_t pid;

	tl_write(conf, "a.role = worker\na.crash = 1\nb.role = worker\nb.crash_after = 0.5\n");
	pid = app_start(dir, "a");
	cr_assert_eq(app_wait(pid, 2000), 3, "crash = 1: exit 3 at once");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = app_start(dir, "b");
	cr_assert_eq(app_wait(pid, 300), -1, "crash_after: still running before the time");
	cr_assert_eq(app_wait(pid, 3000), 3, "crash_after: exit 3 afterwards");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert(took >= 0.5 && took < 2.5, "crashed after %.2fs", took);

	tl_write(conf, "c.role = nonsense\n");
	pid = app_start(dir, "c");
	cr_assert_eq(app_wait(pid, 2000), 2, "a bad role is a usage error");
	tl_rmrf(dir);
}

Test(sampleapp, worker_heartbeat_and_commit_sources)
{
	_cleanup_free_ char *dir = git_repo(), *commit = head_commit(dir);
	_cleanup_free_ char *conf = xasprintf("%s/app.conf", dir), *text = NULL;
	_cleanup_free_ char *beat_path = xasprintf("%s/beats/w.beat", dir);
	_cleanup_free_ char *rev_path = xasprintf("%s/REVISION", dir);
	char *beat = NULL;
	pid_t pid;

	text = xasprintf("heartbeat_dir = %s/beats\nw.role = worker\n", dir);
	tl_write(conf, text);

	/* A loose ref. */
	pid = app_start(dir, "w");
	for (int i = 0; i < 200 && !(beat = tl_read(beat_path)); i++)
		usleep(10 * 1000);
	cr_assert_not_null(beat, "no heartbeat file");
	cr_assert(str_startswith(beat, commit), "beat '%s' lacks %s", beat, commit);
	{
		_cleanup_free_ char *want = xasprintf("%s %d ", commit, (int)pid);
		cr_assert(str_startswith(beat, want), "beat '%s' is not 'commit pid time'", beat);
	}
	free(beat);
	kill(pid, SIGTERM);
	cr_assert_eq(app_wait(pid, 2000), 0);

	/* packed-refs only. */
	cr_assert_eq(tl_sh("cd '%s' && git pack-refs --all && test ! -e .git/refs/heads/main", dir),
		     0);
	unlink(beat_path);
	pid = app_start(dir, "w");
	for (int i = 0; i < 200 && !(beat = tl_read(beat_path)); i++)
		usleep(10 * 1000);
	cr_assert(beat && str_startswith(beat, commit), "packed ref: '%s'", beat ? beat : "");
	free(beat);
	app_stop(pid);

	/* REVISION wins (the releases layout). */
	tl_write(rev_path, "0123456789abcdef0123456789abcdef01234567\n");
	unlink(beat_path);
	pid = app_start(dir, "w");
	for (int i = 0; i < 200 && !(beat = tl_read(beat_path)); i++)
		usleep(10 * 1000);
	cr_assert(beat && str_startswith(beat, "0123456789abcdef0123456789abcdef01234567 "),
		  "REVISION: '%s'", beat ? beat : "");
	free(beat);
	app_stop(pid);
	tl_rmrf(dir);
}
