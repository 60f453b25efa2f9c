/* SPDX-License-Identifier: MIT */
/* Running external programs: fork + execve with an argv array, never a shell built from data.
 *
 * Everything the child needs (program path, environment) is prepared before fork(), so the child
 * only makes async-signal-safe calls. An exec failure travels back through a close-on-exec pipe,
 * which is how a missing program (-ENOENT) is told apart from a program that exits 127. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define SPAWN_OUTPUT_MAX (1u << 20) /* captured output keeps the last 1 MiB */
#define SPAWN_KILL_GRACE_NS (5LL * 1000000000LL)

char *spawn_which(const char *name)
{
	const char *path, *p;
	struct stat st;

	if (str_empty(name))
		return NULL;
	if (strchr(name, '/')) {
		char cwd[PATH_MAX];

		if (access(name, X_OK) < 0 || stat(name, &st) < 0 || !S_ISREG(st.st_mode))
			return NULL;
		if (name[0] == '/' || !getcwd(cwd, sizeof(cwd)))
			return xstrdup(name);
		return xasprintf("%s/%s", cwd, name);
	}
	path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char *cand;

		if (end == p)
			cand = xasprintf("./%s", name);
		else
			cand = xasprintf("%.*s/%s", (int)(end - p), p, name);
		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (cand[0] != '/') {
				char *abs = spawn_which(cand);
				free(cand);
				return abs;
			}
			return cand;
		}
		free(cand);
		if (!*end)
			break;
		p = end;
	}
	return NULL;
}

/* environ with env_add applied (an entry replaces one with the same key). */
static char **spawn_env_build(char *const *env_add)
{
	size_t n = 0, k = 0, m = 0;
	char **envp;

	for (char **e = environ; e && *e; e++)
		n++;
	for (char *const *a = env_add; a && *a; a++)
		m++;
	envp = xcalloc(n + m + 1, sizeof(char *));
	for (char **e = environ; e && *e; e++) {
		size_t klen = strcspn(*e, "=");
		bool replaced = false;

		for (char *const *a = env_add; a && *a; a++) {
			if (strncmp(*a, *e, klen) == 0 && (*a)[klen] == '=') {
				replaced = true;
				break;
			}
		}
		if (!replaced)
			envp[k++] = *e;
	}
	for (char *const *a = env_add; a && *a; a++)
		envp[k++] = *a;
	envp[k] = NULL;
	return envp;
}

static void spawn_close_from(int lowfd, int keep)
{
	/* close_range() when the kernel has it (5.9+); a bounded loop otherwise. */
	if (keep >= lowfd) {
		if (keep > lowfd && close_range((unsigned)lowfd, (unsigned)keep - 1, 0) < 0)
			goto fallback;
		if (close_range((unsigned)keep + 1, ~0u, 0) < 0)
			goto fallback;
		return;
	}
	if (close_range((unsigned)lowfd, ~0u, 0) == 0)
		return;
fallback:;
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowfd; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

static void spawn_child_fail(int errfd, int err)
{
	ssize_t n;

	do
		n = write(errfd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

static void spawn_sleep_ms(int ms)
{
	poll(NULL, 0, ms); /* async-signal-safe, unlike usleep() */
}

/* The leader of a step's process group: forks the program (and returns in it), then stays as
 * its watchdog. shiplog holds the write end of watchfd; when it closes, shiplog is gone (even
 * killed with SIGKILL, which no handler sees), and the watchdog takes the whole group down with
 * it: SIGTERM, then SIGKILL. Otherwise it exits with the program's status (128+n when a signal
 * killed it, as shiplog reports either way). Async-signal-safe calls only. */
static void spawn_watch(int watchfd, int errfd)
{
	struct pollfd pfd[2];
	int status, pidfd = -1, null;
	pid_t pid;

	/* shiplog stops a step with SIGTERM to the group: meant for the program, which the
	 * watchdog outlives to report its status. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid < 0)
		spawn_child_fail(errfd, errno);
	if (pid == 0) {
		close(watchfd);
		return;
	}
	/* Hold nothing of shiplog's: not the lock, the ledger, the capture pipe or the terminal. */
	spawn_close_from(3, watchfd);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		if (null > 2)
			close(null);
	}
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (;;) {
		nfds_t n = 0;

		pfd[n++] = (struct pollfd){.fd = watchfd, .events = POLLIN};
		if (pidfd >= 0)
			pfd[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		poll(pfd, n, pidfd >= 0 ? -1 : 20);
		if (waitpid(pid, &status, WNOHANG) == pid)
			_exit(WIFEXITED(status)	    ? WEXITSTATUS(status)
			      : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
						    : 127);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			kill(0, SIGTERM);
			for (int i = 0; i < 40 && waitpid(pid, &status, WNOHANG) == 0; i++)
				spawn_sleep_ms(50);
			kill(0, SIGKILL);
			_exit(128 + SIGKILL);
		}
	}
}

/* Runs in the child after fork(): async-signal-safe calls only. */
static void spawn_child(const char *path, char *const argv[], char **envp,
			const struct spawn_opts *o, int outfd, int errout, int errfd, int watchfd)
{
	sigset_t all;
	int in;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* A step that can be aborted gets a group of its own, so that it is stopped with everything
	 * it started, and a watchdog that ends the group when shiplog dies; otherwise it stays in
	 * ours and gets the terminal's ^C like we do. */
	if (o->abort_flag) {
		setpgid(0, 0);
		spawn_watch(watchfd, errfd);
	}
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);

	in = open(o->stdin_path ? o->stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		spawn_child_fail(errfd, errno);
	if (dup2(in, 0) < 0)
		spawn_child_fail(errfd, errno);
	if (outfd >= 0) {
		if (dup2(outfd, 1) < 0 || dup2(errout >= 0 ? errout : outfd, 2) < 0)
			spawn_child_fail(errfd, errno);
	} else if (o->stream_to_stderr) {
		if (dup2(2, 1) < 0)
			spawn_child_fail(errfd, errno);
	}
	if (o->cwd && chdir(o->cwd) < 0)
		spawn_child_fail(errfd, errno);
	/* Nothing but 0, 1, 2 survives: not the LMDB data fd, not a lock, not a socket. */
	spawn_close_from(3, errfd);
	execve(path, argv, envp);
	spawn_child_fail(errfd, errno);
}

static int spawn_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	return -1;
#endif
}

static void spawn_capture_append(struct buf *b, size_t *dropped, const char *p, size_t n)
{
	buf_append(b, p, n);
	/* Grow to twice the cap, then keep the tail: amortized O(1) per byte. */
	if (b->len > 2 * SPAWN_OUTPUT_MAX) {
		size_t cut = b->len - SPAWN_OUTPUT_MAX;

		memmove(b->data, b->data + cut, SPAWN_OUTPUT_MAX);
		b->len = SPAWN_OUTPUT_MAX;
		b->data[b->len] = '\0';
		*dropped += cut;
	}
}

/* The copy of the output shown as it comes: where (1: stdout, 2: stderr, < 0: none), and, with
 * a filter, the line not complete yet. */
struct spawn_tee {
	int fd;
	char *(*filter)(const char *line, size_t len, void *arg);
	void *arg;
	struct buf line;
};

#define SPAWN_TEE_LINE_MAX 65536

static void spawn_tee_show(struct spawn_tee *t, const char *p, size_t n)
{
	FILE *f = t->fd == 2 ? stderr : stdout;

	if (t->filter) {
		_cleanup_free_ char *shown = t->filter(p, n, t->arg);
		fputs(shown, f);
	} else {
		fwrite(p, 1, n, f);
	}
	fflush(f);
}

/* Copies a chunk to the tee through stdio, so that it passes the filter out.c puts there for
 * terminal control bytes; with a line filter, whole lines only (the rest waits for its end).
 * A reader that went away is not an error. */
static void spawn_tee(struct spawn_tee *t, const char *p, size_t n)
{
	const char *nl;

	if (t->fd < 0)
		return;
	if (!t->filter) {
		spawn_tee_show(t, p, n);
		return;
	}
	buf_append(&t->line, p, n);
	while (t->line.len) {
		size_t len;

		nl = memchr(t->line.data, '\n', t->line.len);
		if (nl)
			len = (size_t)(nl - t->line.data) + 1;
		else if (t->line.len >= SPAWN_TEE_LINE_MAX)
			len = t->line.len;
		else
			break;
		spawn_tee_show(t, t->line.data, len);
		memmove(t->line.data, t->line.data + len, t->line.len - len + 1);
		t->line.len -= len;
	}
}

/* The end of the output: a last line without its newline is shown too. */
static void spawn_tee_flush(struct spawn_tee *t)
{
	if (t->fd >= 0 && t->line.len)
		spawn_tee_show(t, t->line.data, t->line.len);
	buf_free(&t->line);
}

/* Reads what is available; returns false on EOF or error. */
static bool spawn_capture_read(int fd, struct buf *b, size_t *dropped, struct spawn_tee *tee)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n > 0) {
			spawn_tee(tee, chunk, (size_t)n);
			spawn_capture_append(b, dropped, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
}

static int spawn_poll_ms(int64_t deadline)
{
	int64_t left;

	if (deadline <= 0)
		return -1;
	left = deadline - mono_ns();
	if (left <= 0)
		return 0;
	return (int)((left + 999999) / 1000000);
}

/* The pipes of one run: the output (capture), the watchdog's lifeline (abort_flag: we keep the
 * write end until the step is over) and the exec error report. Each end is -1 when unused. */
struct spawn_pipes {
	int outr, outw, watchr, watchw, errr, errw;
	int errout; /* o->stderr_path, opened */
};

static void spawn_fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void spawn_pipes_close(struct spawn_pipes *p)
{
	int *fds[] = {&p->outr, &p->outw, &p->watchr, &p->watchw, &p->errr, &p->errw, &p->errout};

	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		spawn_fd_close(fds[i]);
}

/* Opens the pipes o needs (all close-on-exec). 0, or -errno with none left open. */
static int spawn_pipes_open(const struct spawn_opts *o, struct spawn_pipes *p)
{
	int fd[2];

	*p = (struct spawn_pipes){-1, -1, -1, -1, -1, -1, -1};
	if (o->capture) {
		if (pipe2(fd, O_CLOEXEC) < 0)
			goto fail;
		p->outr = fd[0], p->outw = fd[1];
	}
	if (o->capture && o->stderr_path) {
		p->errout = open(o->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (p->errout < 0)
			goto fail;
	}
	if (o->abort_flag) {
		if (pipe2(fd, O_CLOEXEC) < 0)
			goto fail;
		p->watchr = fd[0], p->watchw = fd[1];
	}
	if (pipe2(fd, O_CLOEXEC) < 0)
		goto fail;
	p->errr = fd[0], p->errw = fd[1];
	return 0;
fail : {
	int r = -errno;
	spawn_pipes_close(p);
	return r;
}
}

/* Waits for the child while reading its output: kills its group when *o->abort_flag is set, and
 * it (SIGTERM, then SIGKILL after the grace) at the timeout. *status gets its wait status; 0,
 * or -errno when poll failed (the child is killed and reaped then). */
static int spawn_wait(pid_t pid, const struct spawn_opts *o, int64_t start, int outr,
		      struct buf *out, size_t *dropped, struct spawn_tee *tee, int *status,
		      struct spawn_result *res)
{
	_cleanup_close_ int pidfd = spawn_pidfd_open(pid);
	int64_t deadline = o->timeout_ns > 0 ? start + o->timeout_ns : 0;
	bool exited = false, out_open = outr >= 0, killed = false, aborted = false;
	int r = 0;

	if (outr >= 0)
		fcntl(outr, F_SETFL, fcntl(outr, F_GETFL) | O_NONBLOCK);
	while (!exited) {
		struct pollfd pfd[2];
		int nfd = 0, timeout_ms = spawn_poll_ms(deadline), pr;

		if (pidfd >= 0)
			pfd[nfd++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		if (out_open)
			pfd[nfd++] = (struct pollfd){.fd = outr, .events = POLLIN};
		if (pidfd < 0 && (timeout_ms < 0 || timeout_ms > 20))
			timeout_ms = 20; /* no pidfd: look at the child now and then */
		if (o->abort_flag && (timeout_ms < 0 || timeout_ms > 50))
			timeout_ms =
			    50; /* the flag may be set by another thread: no EINTR wakes us */

		pr = poll(pfd, (nfds_t)nfd, timeout_ms);
		if (pr < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (out_open && pr > 0 && (pfd[nfd - 1].revents & (POLLIN | POLLHUP | POLLERR)))
			out_open = spawn_capture_read(outr, out, dropped, tee);

		if (waitpid(pid, status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		if (o->abort_flag && *o->abort_flag && !aborted) {
			kill(-pid, SIGTERM);
			aborted = true;
			killed = true;
			deadline = mono_ns() + SPAWN_KILL_GRACE_NS;
			continue;
		}
		if (deadline > 0 && mono_ns() >= deadline) {
			if (!killed) {
				kill(o->abort_flag ? -pid : pid, SIGTERM);
				res->timed_out = true;
				killed = true;
				deadline = mono_ns() + SPAWN_KILL_GRACE_NS;
			} else {
				kill(o->abort_flag ? -pid : pid, SIGKILL);
				deadline = 0;
			}
		}
	}
	if (!exited) {
		/* poll failed: do not leave the child behind. */
		kill(o->abort_flag ? -pid : pid, SIGKILL);
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	}
	/* The child is gone; what it wrote is in the pipe. A grandchild that still holds the pipe
	 * open must not keep us waiting, so read only what is there now. */
	if (out_open)
		spawn_capture_read(outr, out, dropped, tee);
	return r;
}

/* The captured output into res: its last SPAWN_OUTPUT_MAX bytes, after a line saying how many
 * earlier bytes were dropped when any were. Takes out. */
static void spawn_output_take(struct buf *out, size_t dropped, struct spawn_result *res)
{
	if (out->len > SPAWN_OUTPUT_MAX) {
		size_t cut = out->len - SPAWN_OUTPUT_MAX;

		memmove(out->data, out->data + cut, SPAWN_OUTPUT_MAX + 1);
		out->len = SPAWN_OUTPUT_MAX;
		dropped += cut;
	}
	if (dropped) {
		struct buf b = {0};

		buf_printf(&b, "[... %zu earlier bytes dropped ...]\n", dropped);
		buf_append(&b, out->data, out->len);
		buf_free(out);
		*out = b;
	}
	if (!out->data)
		buf_append(out, "", 0);
	res->dropped = dropped;
	res->output = out->data;
	res->output_len = out->len;
}

int spawn_run(char *const argv[], const struct spawn_opts *o, struct spawn_result *res)
{
	static const struct spawn_opts none = {0};
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char **envp = NULL;
	struct spawn_pipes p;
	int status = 0, child_err = 0, r;
	struct spawn_tee tee = {.fd = -1};
	struct buf out = {0};
	size_t dropped = 0;
	int64_t start;
	pid_t pid;
	ssize_t n;

	if (!o)
		o = &none;
	if (o->capture && o->tee)
		tee = (struct spawn_tee){
		    .fd = o->stream_to_stderr ? 2 : 1, .filter = o->tee_filter, .arg = o->tee_arg};
	*res = (struct spawn_result){.exit_code = -1};
	if (!argv || !argv[0])
		return -EINVAL;
	start = mono_ns();

	/* A bare name is looked up on PATH here; a path is used as given (relative to o->cwd),
	 * and exec reports what is wrong with it. */
	path = strchr(argv[0], '/') ? xstrdup(argv[0]) : spawn_which(argv[0]);
	if (!path) {
		res->duration_ns = mono_ns() - start;
		return -ENOENT;
	}
	envp = spawn_env_build(o->env_add);
	r = spawn_pipes_open(o, &p);
	if (r < 0)
		return r;

	pid = fork();
	if (pid < 0) {
		r = -errno;
		spawn_pipes_close(&p);
		return r;
	}
	if (pid == 0) {
		spawn_fd_close(&p.errr);
		spawn_child(path, argv, envp, o, p.outw, p.errout, p.errw, p.watchr);
	}
	if (o->abort_flag)
		setpgid(pid, pid); /* also here: no window in which a signal misses the group */
	/* the child's ends */
	spawn_fd_close(&p.errw);
	spawn_fd_close(&p.watchr);
	spawn_fd_close(&p.outw);
	spawn_fd_close(&p.errout);
	do
		n = read(p.errr, &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	spawn_fd_close(&p.errr);
	if (n == (ssize_t)sizeof(child_err)) {
		/* exec (or the setup before it) failed; the child has exited with 127. */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		res->duration_ns = mono_ns() - start;
		spawn_pipes_close(&p);
		return child_err > 0 ? -child_err : -EIO;
	}

	r = spawn_wait(pid, o, start, p.outr, &out, &dropped, &tee, &status, res);
	spawn_pipes_close(&p); /* the output, and the watchdog's lifeline: the step is over */
	spawn_tee_flush(&tee);
	res->duration_ns = mono_ns() - start;

	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->exit_code = 128 + WTERMSIG(status);
	if (o->capture)
		spawn_output_take(&out, dropped, res);
	else
		buf_free(&out);
	return r;
}

void spawn_result_release(struct spawn_result *res)
{
	if (!res)
		return;
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}

/* ---- daemons and relays ------------------------------------------------------------------- */

static void spawn_write_all(int fd, const void *p, size_t n)
{
	ssize_t w;

	for (size_t off = 0; off < n; off += (size_t)(w > 0 ? w : 0)) {
		w = write(fd, (const char *)p + off, n - off);
		if (w < 0 && errno != EINTR)
			return;
	}
}

int spawn_daemon(int (*fn)(void *arg), void *arg, const char *log_path, pid_t *pid)
{
	int report[2], st, fd, r;
	pid_t child, daemon_pid = 0;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		r = -errno;
		close(report[0]);
		close(report[1]);
		return r;
	}
	if (child == 0) {
		close(report[0]);
		setsid();
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fd != 0) {
			dup2(fd, 0);
			close(fd);
		}
		fd = open(log_path ? log_path : "/dev/null",
			  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		spawn_close_from(3, report[1]);
		daemon_pid = fork();
		if (daemon_pid != 0) {
			/* the daemon's pid (or 0: it could not start), then leave: the daemon is
			 * reparented and outlives whoever started it */
			spawn_write_all(report[1], &daemon_pid, sizeof(daemon_pid));
			_exit(daemon_pid > 0 ? 0 : 1);
		}
		close(report[1]);
		_exit(fn(arg) < 0 ? 1 : 0);
	}
	close(report[1]);
	do
		n = read(report[0], &daemon_pid, sizeof(daemon_pid));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(daemon_pid) || daemon_pid <= 0)
		return -ECHILD;
	if (pid)
		*pid = daemon_pid;
	return 0;
}

/* Copies what is readable on from to fd `to`; after the first failed write (the reader is
 * gone) the rest is drained into nothing. Returns false on EOF. */
static bool spawn_relay_copy(int from, int to, bool *to_dead)
{
	char chunk[16384];
	ssize_t n, w;

	n = read(from, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	for (ssize_t off = 0; !*to_dead && off < n; off += w) {
		w = write(to, chunk + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w < 0)
			*to_dead = true;
	}
	return true;
}

int spawn_relay_detached(void)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1}, st = 0, devnull, r;
	bool out_dead = false, err_dead = false, out_open = true, err_open = true;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		setsid();
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, 0);
			close(devnull);
		}
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	close(out[1]), close(err[1]);
	while (out_open || err_open) {
		struct pollfd p[2] = {{.fd = out_open ? out[0] : -1, .events = POLLIN},
				      {.fd = err_open ? err[0] : -1, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && !spawn_relay_copy(out[0], 1, &out_dead))
			out_open = false;
		if (p[1].revents && !spawn_relay_copy(err[0], 2, &err_dead))
			err_open = false;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : EXIT_ENVIRONMENT);

fail:
	r = -errno;
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}
