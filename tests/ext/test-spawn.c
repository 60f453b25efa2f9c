/* SPDX-License-Identifier: MIT */
/* spawn: real processes. Exit codes, signals, capture, cwd, environment, stdin, timeouts, exec
 * failures, descriptor hygiene and literal argv. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "testlib.h"
#include "util.h"

static int run(char *const argv[], const struct spawn_opts *o, struct spawn_result *res)
{
	return spawn_run(argv, o, res);
}

Test(spawn, exit_codes)
{
	struct spawn_result res;
	char *ok[] = {"true", NULL};
	char *three[] = {"sh", "-c", "exit 3", NULL};
	char *e127[] = {"sh", "-c", "exit 127", NULL};

	cr_assert_eq(run(ok, NULL, &res), 0);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_not(res.timed_out);
	cr_assert_gt(res.duration_ns, 0);
	spawn_result_release(&res);

	cr_assert_eq(run(three, NULL, &res), 0);
	cr_assert_eq(res.exit_code, 3);
	spawn_result_release(&res);

	/* A program that exits 127 ran: not the same as one that is missing. */
	cr_assert_eq(run(e127, NULL, &res), 0);
	cr_assert_eq(res.exit_code, 127);
	spawn_result_release(&res);
}

Test(spawn, killed_by_signal)
{
	struct spawn_result res;
	char *term[] = {"sh", "-c", "kill -TERM $$", NULL};
	char *kill9[] = {"sh", "-c", "kill -9 $$", NULL};

	cr_assert_eq(run(term, NULL, &res), 0);
	cr_assert_eq(res.exit_code, 128 + 15);
	spawn_result_release(&res);
	cr_assert_eq(run(kill9, NULL, &res), 0);
	cr_assert_eq(res.exit_code, 128 + 9);
	spawn_result_release(&res);
}

Test(spawn, capture_both_streams)
{
	struct spawn_opts o = {.capture = true};
	struct spawn_result res;
	char *argv[] = {"sh", "-c", "echo out1; echo err1 >&2; echo out2", NULL};

	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_not_null(res.output);
	cr_assert_str_eq(res.output, "out1\nerr1\nout2\n");
	cr_assert_eq(res.output_len, strlen("out1\nerr1\nout2\n"));
	spawn_result_release(&res);
	cr_assert_null(res.output);

	char *quiet[] = {"true", NULL};
	cr_assert_eq(run(quiet, &o, &res), 0);
	cr_assert_not_null(res.output);
	cr_assert_eq(res.output_len, 0);
	cr_assert_str_eq(res.output, "");
	spawn_result_release(&res);
}

Test(spawn, capture_keeps_the_tail_of_big_output)
{
	struct spawn_opts o = {.capture = true};
	struct spawn_result res;
	/* 3 MiB of 'a', then a marker line. */
	char *argv[] = {"sh", "-c", "head -c 3145728 /dev/zero | tr '\\000' a; echo; echo END-MARK",
			NULL};

	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_leq(res.output_len, (1u << 20) + 100);
	cr_assert_geq(res.output_len, 1u << 20);
	cr_assert(str_startswith(res.output, "[... "), "no truncation note: %.40s", res.output);
	cr_assert_str_eq(res.output + res.output_len - strlen("END-MARK\n"), "END-MARK\n");
	spawn_result_release(&res);
}

Test(spawn, cwd_and_env)
{
	char *dir = tl_mkdtemp("spawn-cwd");
	char real[PATH_MAX], *expect;
	char *env[] = {"SHIPLOG_T1=hello world", "HOME=/nonexistent-home", NULL};
	struct spawn_opts o = {.cwd = dir, .capture = true, .env_add = env};
	struct spawn_result res;
	char *argv[] = {"sh", "-c", "pwd; echo \"$SHIPLOG_T1\"; echo \"$HOME\"", NULL};

	cr_assert_not_null(realpath(dir, real));
	expect = xasprintf("%s\nhello world\n/nonexistent-home\n", real);
	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_str_eq(res.output, expect);
	spawn_result_release(&res);

	/* A missing cwd is an error to start, not an exit code. */
	struct spawn_opts bad = {.cwd = "/nonexistent/shiplog-dir"};
	cr_assert_eq(run(argv, &bad, &res), -ENOENT);
	cr_assert_eq(res.exit_code, -1);
	free(expect);
	tl_rmrf(dir);
	free(dir);
}

Test(spawn, stdin_default_and_path)
{
	char *dir = tl_mkdtemp("spawn-stdin");
	char *file = xasprintf("%s/input", dir);
	struct spawn_opts o = {.capture = true};
	struct spawn_result res;
	char *argv[] = {"cat", NULL};

	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_eq(res.output_len, 0); /* /dev/null */
	spawn_result_release(&res);

	tl_write(file, "from a file\n");
	o.stdin_path = file;
	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_str_eq(res.output, "from a file\n");
	spawn_result_release(&res);
	free(file);
	tl_rmrf(dir);
	free(dir);
}

Test(spawn, stream_to_stderr)
{
	char *dir = tl_mkdtemp("spawn-stream");
	char *file = xasprintf("%s/stderr", dir);
	struct spawn_opts o = {.stream_to_stderr = true};
	struct spawn_result res;
	char *argv[] = {"sh", "-c", "echo to-stdout; echo to-stderr >&2", NULL};
	int saved_err = dup(2), saved_out = dup(1);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *text;

	cr_assert(fd >= 0 && saved_err >= 0 && saved_out >= 0 && devnull >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(fd, 2);
	dup2(devnull, 1);
	int r = run(argv, &o, &res);
	dup2(saved_err, 2);
	dup2(saved_out, 1);
	cr_assert_eq(r, 0);
	cr_assert_null(res.output);
	text = tl_read(file);
	cr_assert_str_eq(text, "to-stdout\nto-stderr\n");
	free(text);
	free(file);
	tl_rmrf(dir);
	free(dir);
}

Test(spawn, timeout_terminates, .timeout = 20)
{
	struct spawn_opts o = {.timeout_ns = 200 * 1000000LL, .capture = true};
	struct spawn_result res;
	char *argv[] = {"sleep", "30", NULL};

	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert(res.timed_out);
	cr_assert_eq(res.exit_code, 128 + 15);
	cr_assert_geq(res.duration_ns, 200 * 1000000LL);
	cr_assert_lt(res.duration_ns, 3000 * 1000000LL);
	spawn_result_release(&res);
}

Test(spawn, timeout_kills_what_ignores_sigterm, .timeout = 30)
{
	struct spawn_opts o = {.timeout_ns = 200 * 1000000LL, .capture = true};
	struct spawn_result res;
	/* The shell ignores SIGTERM; its sleep keeps the capture pipe open after the shell dies. */
	char *argv[] = {"sh", "-c", "trap '' TERM; echo started; sleep 30; echo never", NULL};

	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert(res.timed_out);
	cr_assert_eq(res.exit_code, 128 + 9);
	cr_assert_geq(res.duration_ns, 5000 * 1000000LL);
	cr_assert_lt(res.duration_ns, 9000 * 1000000LL);
	cr_assert_str_eq(res.output, "started\n");
	spawn_result_release(&res);
}

/* An abortable step (own process group) reports like any other: status, signal, output. */
Test(spawn, abortable_step_reports_status_and_output, .timeout = 20)
{
	static volatile sig_atomic_t flag;
	struct spawn_opts o = {.capture = true, .abort_flag = &flag};
	struct spawn_result res;
	char *three[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	char *kill9[] = {"sh", "-c", "kill -9 $$", NULL};
	char *fds[] = {"sh", "-c", "ls -1 /proc/$$/fd", NULL};
	char *missing[] = {"/nonexistent/dir/prog", NULL};

	cr_assert_eq(run(three, &o, &res), 0);
	cr_assert_eq(res.exit_code, 3);
	cr_assert_str_eq(res.output, "out\nerr\n");
	spawn_result_release(&res);
	cr_assert_eq(run(kill9, &o, &res), 0);
	cr_assert_eq(res.exit_code, 128 + 9);
	spawn_result_release(&res);
	cr_assert_eq(run(fds, &o, &res), 0);
	cr_assert_str_eq(res.output, "0\n1\n2\n", "the step holds more than 0, 1, 2: %s",
			 res.output);
	spawn_result_release(&res);
	cr_assert_eq(run(missing, &o, &res), -ENOENT);
}

/* A process is gone when it no longer exists or is a zombie nobody reaped yet. */
static bool gone(pid_t pid)
{
	char path[64], *stat, *p;
	bool z;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = tl_read(path);
	if (!stat)
		return true;
	p = strrchr(stat, ')');
	z = p && (p[2] == 'Z' || p[2] == 'X');
	free(stat);
	return z;
}

/* shiplog killed with SIGKILL (no handler runs) while a build runs in its own process group:
 * the build and everything it started die too, instead of running on as orphans. */
Test(spawn, abortable_step_dies_with_a_killed_parent, .timeout = 60)
{
	char *dir = tl_mkdtemp("spawn-orphans");
	char *pids = xasprintf("%s/pids", dir);
	char *cmd = xasprintf("echo $$ > '%s.tmp'; sleep 300 & echo $! >> '%s.tmp'; "
			      "(trap '' TERM; sleep 300) & echo $! >> '%s.tmp'; mv '%s.tmp' '%s'; "
			      "wait",
			      pids, pids, pids, pids, pids);
	pid_t parent, p[3] = {0};
	char *text = NULL, left[64];
	bool all_gone = false;

	parent = fork();
	cr_assert_geq(parent, 0);
	if (parent == 0) {
		static volatile sig_atomic_t flag;
		struct spawn_opts o = {.abort_flag = &flag};
		struct spawn_result res;
		char *argv[] = {"sh", "-c", cmd, NULL};
		spawn_run(argv, &o, &res);
		_exit(0);
	}
	for (int i = 0; i < 200 && !text; i++) {
		text = tl_read(pids);
		if (!text)
			usleep(50000);
	}
	cr_assert_not_null(text, "the step did not start");
	cr_assert_eq(sscanf(text, "%d %d %d", &p[0], &p[1], &p[2]), 3, "%s", text);
	kill(parent, SIGKILL);
	waitpid(parent, NULL, 0);
	for (int i = 0; i < 100 && !all_gone; i++) {
		all_gone = gone(p[0]) && gone(p[1]) && gone(p[2]);
		if (!all_gone)
			usleep(100000);
	}
	snprintf(left, sizeof(left), "%s%s%s", gone(p[0]) ? "" : "sh ", gone(p[1]) ? "" : "sleep ",
		 gone(p[2]) ? "" : "sleep-ignoring-TERM");
	for (int i = 0; i < 3; i++)
		if (!gone(p[i]))
			kill(p[i], SIGKILL);
	cr_assert(all_gone, "10 s after the parent was killed the step still runs: %s", left);
	free(text);
	free(cmd);
	free(pids);
	tl_rmrf(dir);
	free(dir);
}

Test(spawn, missing_program)
{
	struct spawn_result res;
	char *bare[] = {"shiplog-no-such-program-xyz", NULL};
	char *path[] = {"/nonexistent/dir/prog", NULL};

	cr_assert_eq(run(bare, NULL, &res), -ENOENT);
	cr_assert_eq(res.exit_code, -1);
	cr_assert_eq(run(path, NULL, &res), -ENOENT);
	cr_assert_eq(res.exit_code, -1);
}

Test(spawn, not_executable)
{
	char *dir = tl_mkdtemp("spawn-noexec");
	char *file = xasprintf("%s/script", dir);
	struct spawn_opts o = {.capture = true};
	struct spawn_result res;
	char *argv[] = {file, NULL};

	tl_write(file, "#!/bin/sh\necho hi\n");
	chmod(file, 0644);
	cr_assert_eq(run(argv, &o, &res), -EACCES);
	cr_assert_eq(res.exit_code, -1);
	chmod(file, 0755);
	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_str_eq(res.output, "hi\n");
	spawn_result_release(&res);
	free(file);
	tl_rmrf(dir);
	free(dir);
}

Test(spawn, no_descriptor_leaks)
{
	struct spawn_opts o = {.capture = true};
	struct spawn_result res;
	/* Deliberately without O_CLOEXEC, like LMDB's data fd. */
	int leak = open("/dev/null", O_RDONLY);
	int leak2 = open("/etc/hostname", O_RDONLY);
	/* The shell waits on ls with only its own descriptors open; ls lists the shell's. */
	char *cmd =
	    xasprintf("ls -1 /proc/$$/fd; test -e /proc/$$/fd/%d && echo LEAK%d", leak, leak);
	char *argv[] = {"sh", "-c", cmd, NULL};

	cr_assert_geq(leak, 3);
	cr_assert_geq(leak2, 3);
	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_eq(res.exit_code, 1, "child saw the parent's fd: %s", res.output);
	cr_assert_str_eq(res.output, "0\n1\n2\n");
	spawn_result_release(&res);
	free(cmd);
	close(leak);
	close(leak2);
}

Test(spawn, argv_arrives_literally)
{
	struct spawn_opts o = {.capture = true};
	struct spawn_result res;
	char *argv[] = {"sh",
			"-c",
			"for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done",
			"sh",
			"two words",
			"it's",
			"\"quoted\"",
			"$(touch /tmp/shiplog-pwned)",
			"a;b",
			"-rf",
			"*",
			"`id`",
			"",
			"tab\there",
			NULL};

	cr_assert_eq(run(argv, &o, &res), 0);
	cr_assert_eq(res.exit_code, 0);
	cr_assert_str_eq(res.output, "[two words]\n[it's]\n[\"quoted\"]\n"
				     "[$(touch /tmp/shiplog-pwned)]\n[a;b]\n[-rf]\n[*]\n[`id`]\n"
				     "[]\n[tab\there]\n");
	cr_assert_neq(access("/tmp/shiplog-pwned", F_OK), 0);
	spawn_result_release(&res);

	/* And without a shell in between: printf gets its argv as is. */
	char *direct[] = {"printf", "%s|%s|%s\\n", "-n", "$HOME", "a b", NULL};
	cr_assert_eq(run(direct, &o, &res), 0);
	cr_assert_str_eq(res.output, "-n|$HOME|a b\n");
	spawn_result_release(&res);
}

Test(spawn, which)
{
	char *sh = spawn_which("sh");
	char *none = spawn_which("shiplog-no-such-program-xyz");

	cr_assert_not_null(sh);
	cr_assert_eq(sh[0], '/');
	cr_assert_eq(access(sh, X_OK), 0);
	cr_assert_null(none);
	cr_assert_null(spawn_which(""));
	char *abs = spawn_which("/bin/sh");
	cr_assert_str_eq(abs, "/bin/sh");
	free(abs);
	free(sh);
}

/* ---- spawn_daemon ---------------------------------------------------------------------------- */

struct daemon_arg {
	char *dir;
	pid_t starter;
};

/* In the daemon: notes its pid, parent, session and descriptors, prints to its log, waits to be
 * told to go. */
static int daemon_fn(void *p)
{
	const struct daemon_arg *a = p;
	_cleanup_free_ char *note = xasprintf("%s/note", a->dir), *go = xasprintf("%s/go", a->dir);
	_cleanup_free_ char *text =
	    xasprintf("%d %d %d %d %d\n", (int)getpid(), (int)getppid(), (int)getsid(0),
		      fcntl(3, F_GETFD) >= 0, (int)a->starter);

	printf("daemon says hello\n");
	fflush(stdout);
	fprintf(stderr, "and on stderr\n");
	write_file_atomic(note, text, strlen(text), 0600);
	for (int i = 0; i < 500 && access(go, F_OK) != 0; i++)
		usleep(10000);
	return -1; /* exits 1: nobody waits for it */
}

Test(spawn, daemon_is_detached_with_its_log)
{
	char *dir = tl_mkdtemp("spawn-daemon");
	_cleanup_free_ char *log = xasprintf("%s/d.log", dir), *note = xasprintf("%s/note", dir),
			    *go = xasprintf("%s/go", dir), *text = NULL, *logtext = NULL;
	struct daemon_arg a = {dir, getpid()};
	int extra = open("/dev/null", O_RDONLY), dpid, ppid, sid, fd3, starter;
	pid_t pid = 0;
	struct stat st;

	cr_assert_geq(extra, 3); /* not inherited by the daemon */
	cr_assert_eq(spawn_daemon(daemon_fn, &a, log, &pid), 0);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 500 && access(note, F_OK) != 0; i++)
		usleep(10000);
	cr_assert_eq(read_file(note, 4096, &text, NULL), 0, "the daemon did not run");
	cr_assert_eq(sscanf(text, "%d %d %d %d %d", &dpid, &ppid, &sid, &fd3, &starter), 5);
	cr_assert_eq(dpid, pid, "the pid reported is the daemon's");
	cr_assert_neq(ppid, getpid(), "the daemon is not our child");
	cr_assert_neq(sid, getsid(0), "a session of its own");
	cr_assert_eq(fd3, 0, "no descriptor of ours leaked");
	cr_assert_eq(starter, getpid());
	/* the intermediate child was reaped: we have no child left */
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
	tl_write(go, "");
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	cr_assert_eq(read_file(log, 4096, &logtext, NULL), 0);
	cr_assert(strstr(logtext, "daemon says hello\n") && strstr(logtext, "and on stderr\n"),
		  "%s", logtext);
	cr_assert_eq(stat(log, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	close(extra);
	tl_rmrf(dir);
	free(dir);
}

/* ---- spawn_relay_detached -------------------------------------------------------------------- */

/* Forks a process with stdout and stderr on pipes that calls spawn_relay_detached(); the work
 * after it (in the relayed child) writes `lines` lines to each, sleeping `ms` between, and exits
 * 7. *out and *err get the read ends. Returns the relay process's pid. */
static pid_t relayed(int lines, int ms, int *out, int *err)
{
	int o[2], e[2];
	pid_t pid;

	cr_assert_eq(pipe(o), 0);
	cr_assert_eq(pipe(e), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]), close(o[1]), close(e[0]), close(e[1]);
		if (spawn_relay_detached() < 0)
			_exit(99);
		/* the relayed work: a session of its own, stdin from /dev/null */
		if (getsid(0) != getpid() || getchar() != EOF)
			_exit(98);
		for (int i = 0; i < lines; i++) {
			printf("out %d\n", i);
			fflush(stdout);
			fprintf(stderr, "err %d\n", i);
			usleep((useconds_t)ms * 1000);
		}
		_exit(7);
	}
	close(o[1]);
	close(e[1]);
	*out = o[0];
	*err = e[0];
	return pid;
}

Test(spawn, relay_passes_output_and_status)
{
	int out, err, st;
	pid_t pid = relayed(3, 0, &out, &err);
	_cleanup_free_ char *o = NULL, *e = NULL;
	char buf[256];
	ssize_t n;

	n = read(out, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 7, "the relay exits with the work's status");
	/* everything arrived, in order */
	{
		struct buf b = {0};
		buf_append(&b, buf, (size_t)n);
		while ((n = read(out, buf, sizeof(buf))) > 0)
			buf_append(&b, buf, (size_t)n);
		cr_assert_str_eq(b.data, "out 0\nout 1\nout 2\n");
		buf_free(&b);
	}
	n = read(err, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(str_startswith(buf, "err 0\n"), "%s", buf);
	close(out);
	close(err);
}

/* The reader goes away (a lost ssh connection): the work is not stopped, and its status still
 * comes back. */
Test(spawn, relay_survives_a_lost_reader)
{
	int out, err, st;
	pid_t pid = relayed(20, 20, &out, &err);
	char buf[64];

	cr_assert_gt(read(out, buf, sizeof(buf)), 0);
	close(out);
	close(err);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "the relay was killed (signal %d)",
		  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), 7, "the work ran to its end");
}
