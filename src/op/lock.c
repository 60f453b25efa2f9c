/* SPDX-License-Identifier: MIT */
/* The deploy lock. flock(2) is the lock; the file's content is only a note about who holds it,
 * one JSON line: {"pid":4242,"actor":"alice@vps","op":57,"number":12,"since_ns":...}. The note is
 * written in place (pwrite, then ftruncate to its length) so that a reader never finds the file
 * empty while a holder rewrites it, and reads stop at the first newline. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "out.h"
#include "util.h"
#include "view.h"

#define LOCK_FILE "deploy.lock"
#define LOCK_RETRY_NS (75LL * 1000000LL)
/* lock_status() holds a shared flock for a moment; an acquire that meets it tries again a few
 * times before it calls the lock busy. */
#define LOCK_GRACE_TRIES 3
#define LOCK_GRACE_NS (10LL * 1000000LL)

static void lock_sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int lock_flock(int fd, int how)
{
	int r;

	do
		r = flock(fd, how);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static void lock_record_read(int fd, struct lock_holder *h)
{
	char text[1024];
	json_t *root, *v;
	ssize_t n;
	char *nl;

	*h = (struct lock_holder){0};
	n = pread(fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return;
	text[n] = '\0';
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return;
	}
	if (json_is_integer(v = json_object_get(root, "pid")) && json_integer_value(v) > 0)
		h->pid = (uint32_t)json_integer_value(v);
	if (json_is_string(v = json_object_get(root, "actor")))
		strlcpy_(h->actor, json_string_value(v), sizeof(h->actor));
	if (json_is_integer(v = json_object_get(root, "op")) && json_integer_value(v) > 0)
		h->op = (uint64_t)json_integer_value(v);
	if (json_is_integer(v = json_object_get(root, "number")) && json_integer_value(v) > 0)
		h->number = (uint64_t)json_integer_value(v);
	if (json_is_integer(v = json_object_get(root, "since_ns")))
		h->since_ns = json_integer_value(v);
	json_decref(root);
}

static int lock_record_write(int fd, const struct lock_holder *h)
{
	_cleanup_free_ char *line = NULL;
	json_t *root;
	char *text;
	size_t len;
	ssize_t n;

	root = json_pack("{s:I,s:s,s:I,s:I,s:I}", "pid", (json_int_t)h->pid, "actor", h->actor,
			 "op", (json_int_t)h->op, "number", (json_int_t)h->number, "since_ns",
			 (json_int_t)h->since_ns);
	if (!root)
		return -EINVAL;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return -ENOMEM;
	line = xasprintf("%s\n", text);
	free(text);
	len = strlen(line);
	n = pwrite(fd, line, len, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (ftruncate(fd, (off_t)len) < 0)
		return -errno;
	if (fdatasync(fd) < 0)
		return -errno;
	return 0;
}

int lock_acquire(const char *ledger_dir, int64_t wait_ns, struct deploy_lock *l,
		 struct lock_holder *holder)
{
	return lock_acquire_file(ledger_dir, LOCK_FILE, wait_ns, l, holder);
}

int lock_acquire_file(const char *ledger_dir, const char *file, int64_t wait_ns,
		      struct deploy_lock *l, struct lock_holder *holder)
{
	struct lock_holder me = {0}, dummy;
	int64_t deadline = mono_ns() + (wait_ns > 0 ? wait_ns : 0);
	int fd, r, grace = 0;

	l->fd = -1;
	if (!holder)
		holder = &dummy;
	*holder = (struct lock_holder){0};
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s/%s", ledger_dir, file) >=
	    sizeof(l->path))
		return -ENAMETOOLONG;
	r = mkdir_p(ledger_dir, 0700);
	if (r < 0)
		return r;
	fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;

	for (;;) {
		r = lock_flock(fd, LOCK_EX | LOCK_NB);
		if (r == 0)
			break;
		if (r != -EWOULDBLOCK) {
			close(fd);
			return r;
		}
		if (mono_ns() >= deadline) {
			if (grace++ >= LOCK_GRACE_TRIES) {
				lock_record_read(fd, holder);
				close(fd);
				return SL_EREFUSED;
			}
			lock_sleep_ns(LOCK_GRACE_NS);
			continue;
		}
		int64_t left = deadline - mono_ns();
		lock_sleep_ns(left < LOCK_RETRY_NS ? (left > 0 ? left : 0) : LOCK_RETRY_NS);
	}

	/* The file may predate us with a looser mode; the note names users and hosts. */
	fchmod(fd, 0600);
	me.pid = (uint32_t)getpid();
	strlcpy_(me.actor, actor_string(), sizeof(me.actor));
	me.since_ns = now_ns();
	r = lock_record_write(fd, &me);
	if (r < 0) {
		close(fd);
		return r;
	}
	l->fd = fd;
	return 0;
}

int lock_set_op(struct deploy_lock *l, uint64_t op, uint64_t number)
{
	struct lock_holder h;

	if (!l || l->fd < 0)
		return -EBADF;
	lock_record_read(l->fd, &h);
	h.pid = (uint32_t)getpid();
	if (!h.actor[0])
		strlcpy_(h.actor, actor_string(), sizeof(h.actor));
	if (!h.since_ns)
		h.since_ns = now_ns();
	h.op = op;
	h.number = number;
	return lock_record_write(l->fd, &h);
}

void lock_release(struct deploy_lock *l)
{
	if (!l || l->fd < 0)
		return;
	flock(l->fd, LOCK_UN);
	close(l->fd);
	l->fd = -1;
}

int lock_status(const char *ledger_dir, bool *held, struct lock_holder *holder)
{
	return lock_status_file(ledger_dir, LOCK_FILE, held, holder);
}

int lock_status_file(const char *ledger_dir, const char *file, bool *held,
		     struct lock_holder *holder)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", ledger_dir, file);
	_cleanup_close_ int fd = -1;
	struct lock_holder dummy;
	int r;

	if (!holder)
		holder = &dummy;
	*holder = (struct lock_holder){0};
	*held = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	lock_record_read(fd, holder);
	r = lock_flock(fd, LOCK_SH | LOCK_NB);
	if (r == -EWOULDBLOCK) {
		*held = true;
		return 0;
	}
	if (r < 0)
		return r;
	flock(fd, LOCK_UN);
	return 0;
}

void lock_say_refused(const char *what, const char *ledger_dir, int r, const struct lock_holder *h,
		      bool can_wait)
{
	char who[512];

	if (r != SL_EREFUSED) {
		log_error("%s: cannot take the deploy lock in '%s': %s", what, ledger_dir,
			  sl_strerror(r));
		return;
	}
	lock_holder_describe(h, who, sizeof(who));
	if (can_wait)
		log_error("%s: lock held by %s; wait (--wait-lock 5m) or run 'shiplog lock status'",
			  what, who);
	else
		log_error("%s: lock held by %s; nothing was changed: run it again once the lock is "
			  "free ('shiplog lock status')",
			  what, who);
}

void lock_holder_describe(const struct lock_holder *h, char *buf, size_t n)
{
	char since[32] = "";
	struct buf b = {0};

	if (h->since_ns > 0) {
		time_t t = (time_t)(h->since_ns / 1000000000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (h->pid)
		buf_printf(&b, "pid %u (", h->pid);
	else
		buf_printf(&b, "an unknown holder (");
	buf_printf(&b, "%s", h->actor[0] ? h->actor : "unknown actor");
	if (h->op) {
		char on[VIEW_OP_NAME_MAX];

		if (h->number)
			snprintf(on, sizeof(on), "%llu", (unsigned long long)h->number);
		else
			view_op_name(h->op, on);
		buf_printf(&b, ", operation %s", on);
	}
	if (since[0])
		buf_printf(&b, ", since %s", since);
	buf_printf(&b, ")");
	strlcpy_(buf, b.data, n);
	buf_free(&b);
}
