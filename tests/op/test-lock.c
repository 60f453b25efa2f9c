/* SPDX-License-Identifier: MIT */
/* The deploy lock between real processes: a forked child holds it, the test contends. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "testlib.h"
#include "util.h"

#include <ledger/ledger.h>

struct holder_proc {
	pid_t pid;
	int release_fd; /* write a byte (or close) to make it release and exit */
};

/* Forks a child that takes the lock, records op, reports ready, then holds it until told to let
 * go (or for hold_ms when >= 0). */
static struct holder_proc holder_start(const char *dir, uint64_t op, int hold_ms)
{
	int ready[2], go[2];
	struct holder_proc h;
	char c;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	h.pid = fork();
	cr_assert_geq(h.pid, 0);
	if (h.pid == 0) {
		struct deploy_lock l;
		struct lock_holder other;

		close(ready[0]);
		close(go[1]);
		if (lock_acquire(dir, 0, &l, &other) < 0)
			_exit(10);
		if (op && lock_set_op(&l, op, 12) < 0)
			_exit(11);
		if (write(ready[1], "r", 1) != 1)
			_exit(12);
		if (hold_ms >= 0) {
			struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		} else {
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
		}
		lock_release(&l);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "holder child failed to take the lock");
	close(ready[0]);
	h.release_fd = go[1];
	return h;
}

static int holder_wait(struct holder_proc *h)
{
	int st;

	close(h->release_fd);
	cr_assert_eq(waitpid(h->pid, &st, 0), h->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(lock, acquire_writes_record_mode_0600)
{
	char *dir = tl_mkdtemp("lock-basic");
	char *path = xasprintf("%s/deploy.lock", dir), *text, *pidstr;
	struct deploy_lock l;
	struct lock_holder h;
	struct stat st;
	int64_t before = now_ns();

	umask(022);
	cr_assert_eq(lock_acquire(dir, 0, &l, &h), 0);
	cr_assert_geq(l.fd, 0);
	cr_assert_str_eq(l.path, path);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	text = tl_read(path);
	pidstr = xasprintf("\"pid\":%d", (int)getpid());
	cr_assert_not_null(strstr(text, pidstr), "record: %s", text);
	cr_assert_not_null(strstr(text, actor_string()), "record: %s", text);

	cr_assert_eq(lock_set_op(&l, 57, 12), 0);
	free(text);
	text = tl_read(path);
	cr_assert_not_null(strstr(text, "\"op\":57"), "record: %s", text);
	cr_assert_not_null(strstr(text, "\"number\":12"), "record: %s", text);

	bool held = false;
	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert(held);
	cr_assert_eq(h.pid, (uint32_t)getpid());
	cr_assert_eq(h.op, 57);
	cr_assert_eq(h.number, 12);
	cr_assert_str_eq(h.actor, actor_string());
	cr_assert_geq(h.since_ns, before - 1000000000LL);
	cr_assert_leq(h.since_ns, now_ns());

	lock_release(&l);
	cr_assert_eq(l.fd, -1);
	cr_assert_eq(access(path, F_OK), 0, "release must leave the file");
	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert_not(held);
	lock_release(&l); /* twice is harmless */
	free(pidstr);
	free(text);
	free(path);
	tl_rmrf(dir);
	free(dir);
}

Test(lock, status_without_a_lock_file)
{
	char *dir = tl_mkdtemp("lock-none");
	struct lock_holder h;
	bool held = true;

	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert_not(held);
	cr_assert_eq(h.pid, 0);
	tl_rmrf(dir);
	free(dir);
}

Test(lock, second_process_is_refused_with_holder_named)
{
	char *dir = tl_mkdtemp("lock-refuse");
	struct holder_proc hp = holder_start(dir, 4242, -1);
	struct deploy_lock l;
	struct lock_holder h;
	char desc[512], *want;
	bool held = false;

	cr_assert_eq(lock_acquire(dir, 0, &l, &h), SL_EREFUSED);
	cr_assert_eq(l.fd, -1);
	cr_assert_eq(h.pid, (uint32_t)hp.pid);
	cr_assert_eq(h.op, 4242);
	cr_assert_eq(h.number, 12);
	cr_assert_str_eq(h.actor, actor_string());
	lock_holder_describe(&h, desc, sizeof(desc));
	want = xasprintf("pid %d (%s, operation 12, since ", (int)hp.pid, actor_string());
	cr_assert(str_startswith(desc, want), "describe: %s", desc);

	/* lock_status looks without disturbing the holder. */
	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert(held);
	cr_assert_eq(h.pid, (uint32_t)hp.pid);
	cr_assert_eq(lock_acquire(dir, 0, &l, &h), SL_EREFUSED);

	cr_assert_eq(holder_wait(&hp), 0);
	cr_assert_eq(lock_acquire(dir, 0, &l, &h), 0);
	lock_release(&l);
	free(want);
	tl_rmrf(dir);
	free(dir);
}

Test(lock, waiting_succeeds_when_the_holder_lets_go)
{
	char *dir = tl_mkdtemp("lock-wait");
	struct holder_proc hp = holder_start(dir, 7, 300);
	struct deploy_lock l;
	struct lock_holder h;
	int64_t t0 = mono_ns(), dt;

	cr_assert_eq(lock_acquire(dir, 5000 * 1000000LL, &l, &h), 0);
	dt = mono_ns() - t0;
	cr_assert_geq(dt, 150 * 1000000LL, "got the lock too early: %lld ns", (long long)dt);
	cr_assert_lt(dt, 3000 * 1000000LL);
	lock_release(&l);
	cr_assert_eq(holder_wait(&hp), 0);
	tl_rmrf(dir);
	free(dir);
}

Test(lock, waiting_gives_up_at_the_deadline)
{
	char *dir = tl_mkdtemp("lock-deadline");
	struct holder_proc hp = holder_start(dir, 9, -1);
	struct deploy_lock l;
	struct lock_holder h;
	int64_t t0 = mono_ns(), dt;

	cr_assert_eq(lock_acquire(dir, 400 * 1000000LL, &l, &h), SL_EREFUSED);
	dt = mono_ns() - t0;
	cr_assert_geq(dt, 400 * 1000000LL);
	cr_assert_lt(dt, 1500 * 1000000LL);
	cr_assert_eq(h.pid, (uint32_t)hp.pid);
	cr_assert_eq(holder_wait(&hp), 0);
	tl_rmrf(dir);
	free(dir);
}

Test(lock, killed_holder_frees_the_lock)
{
	char *dir = tl_mkdtemp("lock-kill");
	struct holder_proc hp = holder_start(dir, 11, -1);
	struct deploy_lock l;
	struct lock_holder h;
	bool held = false;

	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert(held);
	kill(hp.pid, SIGKILL);
	cr_assert_eq(holder_wait(&hp), 128 + SIGKILL);

	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert_not(held);
	/* The dead holder's record is still there to say who it was. */
	cr_assert_eq(h.pid, (uint32_t)hp.pid);
	cr_assert_eq(h.op, 11);
	cr_assert_eq(lock_acquire(dir, 0, &l, &h), 0);
	lock_release(&l);
	tl_rmrf(dir);
	free(dir);
}

Test(lock, describe_format)
{
	struct lock_holder h = {.pid = 4242, .op = 57, .number = 12};
	struct tm tm = {.tm_year = 2026 - 1900,
			.tm_mon = 10,
			.tm_mday = 27,
			.tm_hour = 12,
			.tm_min = 3,
			.tm_sec = 10};
	char buf[256];

	strcpy(h.actor, "alice@vps");
	h.since_ns = (int64_t)timegm(&tm) * 1000000000LL + 123456789;
	lock_holder_describe(&h, buf, sizeof(buf));
	cr_assert_str_eq(buf, "pid 4242 (alice@vps, operation 12, since 2026-11-27T12:03:10Z)");

	/* an older holder's note has no number: with no ledger to ask, the id says seq: */
	h.number = 0;
	lock_holder_describe(&h, buf, sizeof(buf));
	cr_assert_str_eq(buf, "pid 4242 (alice@vps, operation seq:57, since 2026-11-27T12:03:10Z)");

	h.op = 0;
	lock_holder_describe(&h, buf, sizeof(buf));
	cr_assert_str_eq(buf, "pid 4242 (alice@vps, since 2026-11-27T12:03:10Z)");
}

Test(lock, garbage_record_is_harmless)
{
	char *dir = tl_mkdtemp("lock-garbage");
	char *path = xasprintf("%s/deploy.lock", dir);
	struct lock_holder h;
	bool held = true;
	struct deploy_lock l;

	tl_write(path, "\x01\x02{not json at all\n");
	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert_not(held);
	cr_assert_eq(h.pid, 0);
	cr_assert_eq(lock_acquire(dir, 0, &l, &h), 0);
	lock_release(&l);
	cr_assert_eq(lock_status(dir, &held, &h), 0);
	cr_assert_eq(h.pid, (uint32_t)getpid());
	free(path);
	tl_rmrf(dir);
	free(dir);
}

/* What fn logs on stderr, as a malloc'd string. */
static char *stderr_of(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/shiplog-lock-msg.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text = NULL;
	size_t len = 0;

	cr_assert_geq(fd, 0);
	fflush(stderr);
	dup2(fd, 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	cr_assert_eq(read_file(path, 65536, &text, &len), 0);
	unlink(path);
	return text;
}

struct say_args {
	const char *what;
	int r;
	const struct lock_holder *h;
	bool can_wait;
};

static void say(void *p)
{
	const struct say_args *a = p;

	lock_say_refused(a->what, "/var/lib/x", a->r, a->h, a->can_wait);
}

/* The one lock-held message: the command, the holder, the way out (--wait-lock only where the
 * command takes it); any other failure names the directory and the cause. */
Test(lock, refusal_message)
{
	struct lock_holder h = {.pid = 4242, .op = 57, .number = 12};
	struct say_args a = {"deploy", SL_EREFUSED, &h, true};
	char *m;

	strlcpy_(h.actor, "alice@vps", sizeof(h.actor));
	m = stderr_of(say, &a);
	cr_assert(strstr(m, "deploy: lock held by pid 4242 (alice@vps, operation 12)"), "%s", m);
	cr_assert(strstr(m, "--wait-lock"), "%s", m);
	free(m);

	a = (struct say_args){"ledger import", SL_EREFUSED, &h, false};
	m = stderr_of(say, &a);
	cr_assert(strstr(m, "ledger import: lock held by pid 4242"), "%s", m);
	cr_assert_null(strstr(m, "--wait-lock"), "%s", m);
	cr_assert(strstr(m, "nothing was changed"), "%s", m);
	free(m);

	a = (struct say_args){"rollback", -EACCES, &h, true};
	m = stderr_of(say, &a);
	cr_assert(strstr(m, "rollback: cannot take the deploy lock in '/var/lib/x'"), "%s", m);
	cr_assert_null(strstr(m, "held by"), "%s", m);
	free(m);
}
