/* SPDX-License-Identifier: MIT */
/*
 * append.c: appending to the log. Sequence, operation id, operation number and time are
 * assigned inside the write transaction, so concurrent processes never collide; the snapshot
 * due at that sequence is written in the same transaction; a full map grows and the append is
 * retried. The LMDB boundary itself (open, transactions, map size) is in store.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_GROW_TRIES 40 /* doublings of the map one append may ask for */

/* ---- append ------------------------------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Fills in what append assigns. `orig` is the caller's event, untouched until commit. */
static void event_assign(struct ledger_event *ev, const struct ledger_event *orig, uint64_t seq,
			 int64_t now)
{
	memcpy(ev, orig, sizeof(*ev));
	ev->seq = seq;
	if (ev->op == 0 &&
	    (ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_REFUSED ||
	     ev->type == LEDGER_EV_FLEET_STARTED))
		ev->op = seq;
	if (ev->time_ns == 0)
		ev->time_ns = now;
}

/* The request fields of an event that starts an operation (op.requested, standalone
 * op.refused), or NULL. */
static struct ledger_op_requested *event_start_request(struct ledger_event *ev)
{
	if (ev->type == LEDGER_EV_OP_REQUESTED)
		return &ev->u.op_requested;
	if (ev->type == LEDGER_EV_OP_REFUSED && ev->op == ev->seq)
		return &ev->u.op_refused.req;
	return NULL;
}

/* Where the operation number of an event that starts an operation goes (NULL: none): the
 * request's, or a fleet.started's. */
static uint64_t *event_number_slot(struct ledger_event *ev)
{
	struct ledger_op_requested *req = event_start_request(ev);

	if (req)
		return &req->number;
	if (ev->type == LEDGER_EV_FLEET_STARTED)
		return &ev->u.fleet_started.number;
	return NULL;
}

/* An operation's number is the count of operations up to it: assigned here, inside the write
 * transaction, so concurrent writers (a refusal does not hold the deploy lock) never share one.
 * `ops` is the count before this event. */
static void event_number(struct ledger_event *ev, uint64_t ops)
{
	uint64_t *n = event_number_slot(ev);

	if (n && *n == 0)
		*n = ops + 1;
}

/* One attempt: begin, assign, encode, apply, put, snapshot, commit. */
/* Brings lg->cache to the state after event last, when another process appended since (or
 * on the first append). */
static int cache_catch_up(struct ledger *lg, MDB_txn *txn, uint64_t last)
{
	const struct ledger_state *from;
	int rc;

	if (lg->cache_valid && lg->cache_seq == last)
		return 0;
	from = lg->cache_valid && lg->cache_seq <= last ? lg->cache : NULL;
	rc = store_state_at_txn(lg, txn, last, from, lg->work);
	if (rc)
		return rc;
	memcpy(lg->cache, lg->work, sizeof(*lg->cache));
	lg->cache_seq = last;
	lg->cache_valid = true;
	return 0;
}

/* Appends event i of the batch (evs[i], encoded here, or the encoded bufs[i]) as seq: decoded
 * back and applied to lg->work first, then put, with a snapshot every snapshot_every events. */
static int append_one(struct ledger *lg, MDB_txn *txn, struct ledger_event *evs,
		      const uint8_t *const *bufs, const size_t *lens, size_t i, uint64_t seq,
		      int64_t now)
{
	struct ledger_event ev, dev;
	uint8_t *buf = NULL;
	char err[160] = "";
	uint64_t be = htobe64(seq);
	MDB_val k = {sizeof(be), &be}, v;
	size_t len;
	int rc;

	arena_reset(lg->arena);
	if (evs) {
		event_assign(&ev, &evs[i], seq, now);
		event_number(&ev, lg->work->counters.ops);
		rc = ledger_event_encode(&ev, &buf, &len);
		if (rc < 0) {
			event_check(&ev, err, sizeof(err));
			rc = lg_err(lg, rc, "event %zu: %s", i, *err ? err : ledger_strerror(rc));
			goto out;
		}
		v = (MDB_val){len, buf};
	} else {
		v = (MDB_val){lens[i], (void *)bufs[i]};
	}
	rc = event_decode_into(v.mv_data, v.mv_size, &dev, lg->arena, err, sizeof(err));
	if (rc < 0) {
		rc = lg_err(lg, rc, "event %zu: %s", i, err);
		goto out;
	}
	dev.seq = seq;
	rc = ledger_state_apply(lg->work, &dev);
	if (rc < 0) {
		rc = lg_err(lg, rc, "event %zu (%s) does not apply: %s", i, dev.type_name,
			    rc == LEDGER_EFULL ? "more services than the ledger tracks"
					       : ledger_strerror(rc));
		goto out;
	}
	rc = mdb_put(txn, lg->events, &k, &v, MDB_APPEND);
	if (rc) {
		rc = rc == MDB_MAP_FULL ? rc : lg_mdb_err(lg, rc, "append");
		goto out;
	}
	if (seq % lg->snapshot_every == 0) {
		free(buf);
		buf = NULL;
		rc = ledger_state_encode(lg->work, &buf, &len);
		if (rc < 0)
			goto out;
		v = (MDB_val){len, buf};
		rc = mdb_put(txn, lg->snapshots, &k, &v, 0);
		if (rc)
			rc = rc == MDB_MAP_FULL ? rc : lg_mdb_err(lg, rc, "write snapshot");
	}
out:
	free(buf);
	return rc;
}

/* After the commit: the caller's events get what the ledger gave them (sequence, operation,
 * time, and an operation's number where the caller left it 0), and the work state, now the
 * state after the last event, becomes the cache. */
static void append_done(struct ledger *lg, struct ledger_event *evs, size_t n, uint64_t last,
			int64_t now)
{
	uint64_t ops = lg->cache->counters.ops;
	struct ledger_state *t = lg->cache;
	struct ledger_event ev;

	for (size_t i = 0; evs && i < n; i++) {
		uint64_t *num;

		event_assign(&ev, &evs[i], last + 1 + i, now);
		num = event_number_slot(&ev);
		if (num && *num == 0) {
			/* the same member of the caller's event (ev is its copy) */
			uint64_t *onum =
			    (uint64_t *)((char *)&evs[i] + ((char *)num - (char *)&ev));
			*onum = ops + 1;
		}
		ops += num != NULL;
	}
	lg->cache = lg->work;
	lg->work = t;
	lg->cache_seq = last + n;
	for (size_t i = 0; evs && i < n; i++) {
		event_assign(&ev, &evs[i], last + 1 + i, now);
		evs[i].seq = ev.seq;
		evs[i].op = ev.op;
		evs[i].time_ns = ev.time_ns;
	}
}

static int store_append_txn(struct ledger *lg, struct ledger_event *evs, const uint8_t *const *bufs,
			    const size_t *lens, size_t n, uint64_t *first)
{
	MDB_txn *txn = NULL;
	uint64_t last;
	int64_t now;
	int rc;

	rc = store_txn_begin(lg, 0, &txn);
	if (rc)
		return rc;
	rc = store_last_seq_txn(lg, txn, &last);
	if (rc)
		goto out;
	rc = cache_catch_up(lg, txn, last);
	if (rc)
		goto out;
	memcpy(lg->work, lg->cache, sizeof(*lg->work));
	now = now_ns();
	for (size_t i = 0; i < n; i++) {
		rc = append_one(lg, txn, evs, bufs, lens, i, last + 1 + i, now);
		if (rc)
			goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc == EIO && store_disk_full(lg))
		rc = ENOSPC; /* LMDB reports a short write as EIO */
	if (rc) {
		rc = rc == MDB_MAP_FULL ? rc : lg_mdb_err(lg, rc, "commit");
		goto out;
	}
	append_done(lg, evs, n, last, now);
	*first = last + 1;
out:
	arena_reset(lg->arena);
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

static int store_append(struct ledger *lg, struct ledger_event *evs, const uint8_t *const *bufs,
			const size_t *lens, size_t n, unsigned flags, uint64_t *first)
{
	bool nosync = flags & LEDGER_APPEND_NOSYNC;
	char err[160] = "";
	int rc;

	if (!lg)
		return LEDGER_EINVAL;
	lg->errmsg[0] = '\0';
	if (lg->flags & LEDGER_OPEN_RDONLY)
		return lg_err(lg, -EROFS, "the ledger is open read-only");
	if (n == 0)
		return 0;
	if (lg->pid != getpid())
		return lg_err(lg, LEDGER_EINVAL, "a ledger handle cannot be used across fork");
	for (size_t i = 0; evs && i < n; i++) {
		rc = event_check(&evs[i], err, sizeof(err));
		if (rc < 0)
			return lg_err(lg, rc, "event %zu: %s", i, err);
	}

	for (int tries = 0;; tries++) {
		/* NOSYNC for this commit only: the data reaches the page cache (it survives the
		 * process) but not the disk until a later synced commit or ledger_sync() */
		if (nosync)
			mdb_env_set_flags(lg->env, MDB_NOSYNC, 1);
		rc = store_append_txn(lg, evs, bufs, lens, n, first);
		if (nosync)
			mdb_env_set_flags(lg->env, MDB_NOSYNC, 0);
		if (rc != MDB_MAP_FULL)
			break;
		if (tries >= MAX_GROW_TRIES)
			return lg_err(lg, LEDGER_ESTORE, "the ledger map cannot grow further");
		rc = store_grow(lg);
		if (rc < 0)
			return rc;
	}
	return rc;
}

int ledger_append(struct ledger *lg, struct ledger_event *ev, unsigned flags, uint64_t *seq_out)
{
	uint64_t first = 0;
	int rc;

	if (!ev)
		return LEDGER_EINVAL;
	rc = store_append(lg, ev, NULL, NULL, 1, flags, &first);
	if (rc == 0 && seq_out)
		*seq_out = first;
	return rc;
}

int ledger_append_many(struct ledger *lg, struct ledger_event *evs, size_t n, unsigned flags)
{
	uint64_t first;

	if (!evs && n)
		return LEDGER_EINVAL;
	return store_append(lg, evs, NULL, NULL, n, flags, &first);
}

int ledger_append_raw(struct ledger *lg, const uint8_t *const *bufs, const size_t *lens, size_t n,
		      unsigned flags)
{
	uint64_t first;

	if ((!bufs || !lens) && n)
		return LEDGER_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!bufs[i] || lens[i] > LEDGER_EVENT_MAX_BYTES)
			return lg_err(lg, bufs[i] ? LEDGER_ETOOBIG : LEDGER_EINVAL,
				      "event %zu: bad buffer", i);
	return store_append(lg, NULL, bufs, lens, n, flags, &first);
}

int ledger_sync(struct ledger *lg)
{
	int rc;

	if (!lg)
		return LEDGER_EINVAL;
	if (lg->flags & LEDGER_OPEN_RDONLY)
		return lg_err(lg, -EROFS, "the ledger is open read-only");
	rc = mdb_env_sync(lg->env, 1);
	return rc ? lg_mdb_err(lg, rc, "sync") : 0;
}

int ledger_reserve(struct ledger *lg, uint64_t bytes)
{
	struct stat st;
	int fd;

	if (!lg || bytes > (uint64_t)INT64_MAX / 2)
		return LEDGER_EINVAL;
	if (lg->flags & LEDGER_OPEN_RDONLY)
		return lg_err(lg, -EROFS, "the ledger is open read-only");
	if (mdb_env_get_fd(lg->env, &fd) || fd < 0 || fstat(fd, &st) < 0)
		return lg_err(lg, LEDGER_ESTORE, "cannot find the ledger's data file");
	if (st.st_size + (off_t)bytes <= lg->reserved_end)
		return 0;
	/* KEEP_SIZE: LMDB knows its pages by number, not by the file's size */
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, (off_t)bytes) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return 0;
		return lg_err(lg, -errno, "cannot allocate %llu bytes past the data (%s)",
			      (unsigned long long)bytes, strerror(errno));
	}
	lg->reserved_end = st.st_size + (off_t)bytes;
	return 0;
}
