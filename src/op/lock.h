/* SPDX-License-Identifier: MIT */
/* The deploy lock: flock(2) on <ledger>/deploy.lock for the whole operation. The file holds the
 * holder's record (pid, user@host, operation id, since) so that a refusal can name it. The kernel
 * drops the flock when the holder dies, so a lock is never stale; the dead holder's operation is
 * found open in the ledger and closed as interrupted by the next operation. */
#ifndef SHIPLOG_LOCK_H
#define SHIPLOG_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lock_holder {
	uint32_t pid;
	char actor[256];
	uint64_t op;	 /* the operation's id (0: none yet) */
	uint64_t number; /* its number, what messages show (0: not recorded, an older holder) */
	int64_t since_ns;
};

struct deploy_lock {
	int fd; /* -1 when not held */
	char path[4096];
};

/* Takes the lock, waiting up to wait_ns (0: fail at once). When it is held: SL_EREFUSED and
 * *holder describes the holder (as far as its record says). */
int lock_acquire(const char *ledger_dir, int64_t wait_ns, struct deploy_lock *l,
		 struct lock_holder *holder);
/* The same on another file of the ledger directory: the fleet lock is FLEET_LOCK_FILE. */
#define FLEET_LOCK_FILE "fleet.lock"
int lock_acquire_file(const char *ledger_dir, const char *file, int64_t wait_ns,
		      struct deploy_lock *l, struct lock_holder *holder);
/* Records the operation, its id and number, in the holder record. */
int lock_set_op(struct deploy_lock *l, uint64_t op, uint64_t number);
void lock_release(struct deploy_lock *l);

/* Reads the holder record; *held says whether someone holds the flock now. */
int lock_status(const char *ledger_dir, bool *held, struct lock_holder *holder);
int lock_status_file(const char *ledger_dir, const char *file, bool *held,
		     struct lock_holder *holder);

/* One line: "pid 4242 (alice@vps, operation 57, since 2026-11-27T12:03:10Z)"; the operation part
 * is left out while the holder has not recorded one. */
void lock_holder_describe(const struct lock_holder *h, char *buf, size_t n);

/* The one message for a lock_acquire() that did not give the lock (r < 0), logged for `what`
 * ("deploy", "rollback", "ledger import"): held (SL_EREFUSED) names the holder h and the way
 * out (with `can_wait`, the command's --wait-lock); any other r names the lock's directory and
 * the cause. */
void lock_say_refused(const char *what, const char *ledger_dir, int r, const struct lock_holder *h,
		      bool can_wait);

#endif
