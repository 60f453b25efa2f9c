/* SPDX-License-Identifier: MIT */
/*
 * query.c: reading the log by position. Iterators, seeking by time, operation numbers, the
 * events of one operation, the state at a point. History, phase statistics and trends, the
 * backward walks that summarize operations, are in history.c. Scans use ledger_event_peek() to
 * pass over events they do not need without decoding them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- iterators ---------------------------------------------------------------------------- */

struct ledger_iter {
	struct ledger *lg;
	MDB_txn *txn;
	MDB_cursor *cur;
	enum ledger_iter_dir dir;
	uint64_t start;
	bool started;
	bool done;
	struct arena *arena;
	struct ledger_event ev;
};

int ledger_iter_new(struct ledger *lg, enum ledger_iter_dir dir, uint64_t start,
		    struct ledger_iter **out)
{
	struct ledger_iter *it;
	int rc;

	if (!lg || !out || (dir != LEDGER_FORWARD && dir != LEDGER_BACKWARD))
		return LEDGER_EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->lg = lg;
	it->dir = dir;
	it->start = start;
	it->arena = arena_new(16 << 10);
	if (!it->arena) {
		free(it);
		return -ENOMEM;
	}
	rc = store_read_begin(lg, &it->txn);
	if (rc)
		goto fail;
	rc = mdb_cursor_open(it->txn, lg->events, &it->cur);
	if (rc) {
		rc = lg_mdb_err(lg, rc, "open cursor");
		goto fail;
	}
	*out = it;
	return 0;
fail:
	ledger_iter_free(it);
	return rc;
}

void ledger_iter_free(struct ledger_iter *it)
{
	if (!it)
		return;
	if (it->cur)
		mdb_cursor_close(it->cur);
	store_read_end(it->lg, it->txn);
	arena_free(it->arena);
	free(it);
}

/* Positions on the next record. 1 with k/v, 0 at the end, < 0 on error. */
static int iter_step(struct ledger_iter *it, MDB_val *k, MDB_val *v)
{
	uint64_t be;
	int rc;

	if (it->done)
		return 0;
	if (!it->started) {
		it->started = true;
		if (it->start == 0) {
			rc = mdb_cursor_get(it->cur, k, v,
					    it->dir == LEDGER_FORWARD ? MDB_FIRST : MDB_LAST);
		} else {
			be = htobe64(it->start);
			*k = (MDB_val){sizeof(be), &be};
			rc = mdb_cursor_get(it->cur, k, v, MDB_SET_RANGE);
			if (it->dir == LEDGER_BACKWARD) {
				if (rc == MDB_NOTFOUND)
					rc = mdb_cursor_get(it->cur, k, v, MDB_LAST);
				else if (rc == 0 && key_seq(k) > it->start)
					rc = mdb_cursor_get(it->cur, k, v, MDB_PREV);
			}
		}
	} else {
		rc = mdb_cursor_get(it->cur, k, v, it->dir == LEDGER_FORWARD ? MDB_NEXT : MDB_PREV);
	}
	if (rc == MDB_NOTFOUND) {
		it->done = true;
		return 0;
	}
	if (rc)
		return lg_mdb_err(it->lg, rc, "read events");
	return 1;
}

int ledger_iter_next_raw(struct ledger_iter *it, uint64_t *seq, const uint8_t **buf, size_t *len)
{
	MDB_val k, v;
	int rc;

	if (!it)
		return LEDGER_EINVAL;
	rc = iter_step(it, &k, &v);
	if (rc <= 0)
		return rc;
	if (seq)
		*seq = key_seq(&k);
	if (buf)
		*buf = v.mv_data;
	if (len)
		*len = v.mv_size;
	return 1;
}

int ledger_iter_next(struct ledger_iter *it, const struct ledger_event **ev)
{
	char err[160] = "";
	MDB_val k, v;
	int rc;

	if (!it || !ev)
		return LEDGER_EINVAL;
	rc = iter_step(it, &k, &v);
	if (rc <= 0)
		return rc;
	arena_reset(it->arena);
	rc = event_decode_into(v.mv_data, v.mv_size, &it->ev, it->arena, err, sizeof(err));
	it->ev.seq = key_seq(&k);
	*ev = &it->ev;
	if (rc < 0)
		return lg_err(it->lg, rc, "event %llu: %s", (unsigned long long)it->ev.seq, err);
	return 1;
}

/* ---- seek by time ------------------------------------------------------------------------- */

static int get_peek(struct ledger *lg, MDB_txn *txn, uint64_t seq, enum ledger_event_type *t,
		    uint64_t *op, int64_t *time_ns)
{
	uint64_t be = htobe64(seq);
	MDB_val k = {sizeof(be), &be}, v;
	int rc = mdb_get(txn, lg->events, &k, &v);

	if (rc == MDB_NOTFOUND)
		return lg_err(lg, LEDGER_EGAP, "event %llu is missing", (unsigned long long)seq);
	if (rc)
		return lg_mdb_err(lg, rc, "read event");
	rc = ledger_event_peek(v.mv_data, v.mv_size, t, op, time_ns);
	if (rc < 0)
		return lg_err(lg, rc, "event %llu does not decode", (unsigned long long)seq);
	return 0;
}

int ledger_seek_time(struct ledger *lg, int64_t time_ns, uint64_t *seq)
{
	MDB_txn *txn;
	uint64_t last, lo, hi;
	int64_t t;
	int rc;

	if (!lg || !seq)
		return LEDGER_EINVAL;
	rc = store_read_begin(lg, &txn);
	if (rc)
		return rc;
	rc = store_last_seq_txn(lg, txn, &last);
	if (rc)
		goto out;
	/* first seq in [1, last + 1) with time >= time_ns */
	lo = 1;
	hi = last + 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		rc = get_peek(lg, txn, mid, NULL, NULL, &t);
		if (rc)
			goto out;
		if (t >= time_ns)
			hi = mid;
		else
			lo = mid + 1;
	}
	*seq = lo;
out:
	store_read_end(lg, txn);
	return rc;
}

/* ---- operation numbers ------------------------------------------------------------------- */

/* The operations counted by the snapshot at key k (counters.ops), decoded into a scratch state. */
static int snapshot_ops(struct ledger *lg, const MDB_val *k, const MDB_val *v,
			struct ledger_state *scratch, uint64_t *ops)
{
	int rc = ledger_state_decode(v->mv_data, v->mv_size, scratch);

	if (rc < 0)
		return lg_err(lg, rc, "snapshot %llu does not decode: %s",
			      (unsigned long long)key_seq(k), ledger_strerror(rc));
	*ops = scratch->counters.ops;
	return 0;
}

/* Counts operation starts in (from, ...]: stops at `until` (when non-zero) or when the count
 * reaches `want` (when non-zero). *at gets the sequence it stopped at, *count the starts. */
static int count_starts(struct ledger *lg, MDB_txn *txn, uint64_t from, uint64_t until,
			uint64_t want, uint64_t *count, uint64_t *at, bool *at_start)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint64_t be = htobe64(from + 1), n = *count;
	int rc;

	*at = 0;
	*at_start = false;
	rc = mdb_cursor_open(txn, lg->events, &c);
	if (rc)
		return lg_mdb_err(lg, rc, "open cursor");
	k = (MDB_val){sizeof(be), &be};
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		uint64_t seq = key_seq(&k), op;
		enum ledger_event_type t;
		bool start;

		if (until && seq > until)
			break;
		rc = ledger_event_peek(v.mv_data, v.mv_size, &t, &op, NULL);
		if (rc < 0) {
			rc = lg_err(lg, rc, "event %llu does not decode", (unsigned long long)seq);
			break;
		}
		start = event_starts_op(v.mv_data, v.mv_size, t, op, seq);
		n += start;
		*at = seq;
		*at_start = start;
		if ((until && seq == until) || (want && start && n == want))
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = lg_mdb_err(lg, rc, "read events");
	mdb_cursor_close(c);
	*count = n;
	return rc;
}

int ledger_op_number(struct ledger *lg, uint64_t op, uint64_t *number)
{
	struct ledger_state *scratch = NULL;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	uint64_t be, from = 0, count = 0, at;
	bool at_start;
	int rc;

	if (!lg || !number || op == 0)
		return LEDGER_EINVAL;
	rc = store_read_begin(lg, &txn);
	if (rc)
		return rc;
	/* the newest snapshot before op */
	rc = mdb_cursor_open(txn, lg->snapshots, &c);
	if (rc) {
		rc = lg_mdb_err(lg, rc, "open cursor");
		goto out;
	}
	be = htobe64(op);
	k = (MDB_val){sizeof(be), &be};
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	if (rc == 0) {
		scratch = malloc(sizeof(*scratch));
		if (!scratch) {
			rc = -ENOMEM;
			goto out;
		}
		from = key_seq(&k);
		rc = snapshot_ops(lg, &k, &v, scratch, &count);
		if (rc < 0)
			goto out;
	} else if (rc != MDB_NOTFOUND) {
		rc = lg_mdb_err(lg, rc, "read snapshots");
		goto out;
	}
	rc = count_starts(lg, txn, from, op, 0, &count, &at, &at_start);
	if (rc == 0 && (at != op || !at_start))
		rc = lg_err(lg, LEDGER_ENOTFOUND, "%llu is not an operation",
			    (unsigned long long)op);
	if (rc == 0)
		*number = count;
out:
	if (c)
		mdb_cursor_close(c);
	store_read_end(lg, txn);
	free(scratch);
	return rc;
}

/* The sequences of every snapshot, in order, into *keys (malloc'd; *nkeys of them). */
static int snapshot_keys(struct ledger *lg, MDB_cursor *c, uint64_t **keys, size_t *nkeys)
{
	MDB_val k, v;
	size_t cap = 0;
	int rc;

	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (*nkeys == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			uint64_t *nk = realloc(*keys, ncap * sizeof(*nk));

			if (!nk)
				return -ENOMEM;
			*keys = nk;
			cap = ncap;
		}
		(*keys)[(*nkeys)++] = key_seq(&k);
	}
	return rc == MDB_NOTFOUND ? 0 : lg_mdb_err(lg, rc, "read snapshots");
}

/* A binary search over the snapshots keys[0..nkeys) for the newest that counts fewer
 * operations than number: its sequence in *from and its count in *count (0 and 0: none). */
static int snapshot_before_number(struct ledger *lg, MDB_cursor *c, const uint64_t *keys,
				  size_t nkeys, uint64_t number, uint64_t *from, uint64_t *count)
{
	struct ledger_state *scratch;
	size_t lo = 0, hi = nkeys; /* keys[0..lo) count < number, keys[hi..) count >= number */
	MDB_val k, v;
	int rc = 0;

	if (!nkeys)
		return 0;
	scratch = malloc(sizeof(*scratch));
	if (!scratch)
		return -ENOMEM;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t be = htobe64(keys[mid]), ops;

		k = (MDB_val){sizeof(be), &be};
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
		if (rc) {
			rc = lg_mdb_err(lg, rc, "read snapshots");
			break;
		}
		rc = snapshot_ops(lg, &k, &v, scratch, &ops);
		if (rc < 0)
			break;
		if (ops < number) {
			lo = mid + 1;
			*from = keys[mid];
			*count = ops;
		} else {
			hi = mid;
		}
	}
	free(scratch);
	return rc < 0 ? rc : 0;
}

int ledger_op_by_number(struct ledger *lg, uint64_t number, uint64_t *op)
{
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	uint64_t *keys = NULL, from = 0, count = 0, at;
	size_t nkeys = 0;
	bool at_start;
	int rc;

	if (!lg || !op || number == 0)
		return LEDGER_EINVAL;
	rc = store_read_begin(lg, &txn);
	if (rc)
		return rc;
	/* the snapshots' sequences (keys only), then a binary search for the newest snapshot that
	 * counts fewer operations than `number`, then the walk from there */
	rc = mdb_cursor_open(txn, lg->snapshots, &c);
	if (rc) {
		rc = lg_mdb_err(lg, rc, "open cursor");
		goto out;
	}
	rc = snapshot_keys(lg, c, &keys, &nkeys);
	if (rc == 0)
		rc = snapshot_before_number(lg, c, keys, nkeys, number, &from, &count);
	if (rc == 0)
		rc = count_starts(lg, txn, from, 0, number, &count, &at, &at_start);
	if (rc == 0 && (count != number || !at_start))
		rc = lg_err(lg, LEDGER_ENOTFOUND, "no operation %llu (the ledger holds %llu)",
			    (unsigned long long)number, (unsigned long long)count);
	if (rc == 0)
		*op = at;
out:
	if (c)
		mdb_cursor_close(c);
	store_read_end(lg, txn);
	free(keys);
	return rc;
}

/* ---- the events of one operation ---------------------------------------------------------- */

int ledger_op_events(struct ledger *lg, uint64_t op,
		     int (*fn)(const struct ledger_event *ev, void *ud), void *ud)
{
	struct ledger_iter *it = NULL;
	enum ledger_event_type t;
	const uint8_t *buf = NULL;
	uint64_t seq = 0, eop;
	size_t len = 0;
	int rc;

	if (!lg || !fn || op == 0)
		return LEDGER_EINVAL;
	rc = ledger_iter_new(lg, LEDGER_FORWARD, op, &it);
	if (rc)
		return rc;
	for (bool first = true;; first = false) {
		char err[160] = "";

		rc = ledger_iter_next_raw(it, &seq, &buf, &len);
		if (rc == 0 && first)
			rc = lg_err(lg, LEDGER_ENOTFOUND, "%llu is not an operation",
				    (unsigned long long)op);
		if (rc <= 0)
			break;
		rc = ledger_event_peek(buf, len, &t, &eop, NULL);
		if (rc < 0) {
			rc = lg_err(lg, rc, "event %llu does not decode", (unsigned long long)seq);
			break;
		}
		if (first && (seq != op || eop != op || !event_starts_op(buf, len, t, eop, seq))) {
			rc = lg_err(lg, LEDGER_ENOTFOUND, "%llu is not an operation",
				    (unsigned long long)op);
			break;
		}
		if (eop != op)
			continue;
		arena_reset(it->arena);
		rc = event_decode_into(buf, len, &it->ev, it->arena, err, sizeof(err));
		if (rc < 0) {
			rc = lg_err(lg, rc, "event %llu: %s", (unsigned long long)seq, err);
			break;
		}
		it->ev.seq = seq;
		rc = fn(&it->ev, ud);
		if (rc != 0)
			break;
		/* a standalone refusal is its own terminal event */
		if (is_terminal(t))
			break;
	}
	ledger_iter_free(it);
	return rc < 0 ? rc : 0;
}

/* ---- state at a point --------------------------------------------------------------------- */

int ledger_state_at(struct ledger *lg, uint64_t seq, struct ledger_state *st)
{
	MDB_txn *txn;
	uint64_t last;
	int rc;

	if (!lg || !st)
		return LEDGER_EINVAL;
	rc = store_read_point(lg, &txn, &seq);
	if (rc)
		return rc;
	store_last_seq_txn(lg, txn, &last);
	if (lg->cache_valid && lg->cache_seq == seq) {
		memcpy(st, lg->cache, sizeof(*st));
		goto out;
	}
	rc = store_state_at_txn(lg, txn, seq,
				lg->cache_valid && lg->cache_seq <= seq ? lg->cache : NULL, st);
	if (rc == 0 && seq == last) {
		memcpy(lg->cache, st, sizeof(*st));
		lg->cache_seq = seq;
		lg->cache_valid = true;
	}
out:
	store_read_end(lg, txn);
	return rc;
}

/* ---- stats from the histograms ------------------------------------------------------------ */

static int64_t hist_pct(const struct ledger_phase_hist *h, unsigned pct)
{
	uint64_t rank = (h->count * pct + 99) / 100, seen = 0;

	if (rank == 0)
		rank = 1;
	for (uint32_t b = 0; b < LEDGER_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			int64_t v = ledger_hist_value(b);
			return v > h->max_ns ? h->max_ns : v;
		}
	}
	return h->max_ns;
}

int ledger_stats_summary(struct ledger *lg, struct ledger_stats *out)
{
	struct ledger_state *st;
	const struct ledger_phase_hist *total = NULL;
	uint64_t done = 0;
	int rc;

	if (!lg || !out)
		return LEDGER_EINVAL;
	memset(out, 0, sizeof(*out));
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	rc = ledger_state_at(lg, UINT64_MAX, st);
	if (rc < 0)
		goto out;
	/* this ledger's own operations: a fleet operation has no phases nor outcome counted */
	out->ops = st->counters.ops - st->counters.fleet_ops;
	for (int i = 0; i < LEDGER_OUT__COUNT; i++) {
		out->outcome[i] = st->counters.outcome[i];
		done += i == LEDGER_OUT_NONE ? 0 : st->counters.outcome[i];
	}
	out->outcome[LEDGER_OUT_NONE] = out->ops > done ? out->ops - done : 0;
	out->approximate = true;
	/* in the order phases first finished, "total" last */
	for (uint32_t i = 0; i <= st->nhist; i++) {
		const struct ledger_phase_hist *h = i < st->nhist ? &st->hist[i] : total;
		struct ledger_phase_stats *ps;

		if (!h || (i < st->nhist && strcmp(h->phase, "total") == 0)) {
			if (h)
				total = h;
			continue;
		}
		if (h->count == 0 || out->nphases == sizeof(out->phases) / sizeof(out->phases[0]))
			continue;
		ps = &out->phases[out->nphases++];
		str_copy(ps->phase, sizeof(ps->phase), h->phase);
		ps->count = h->count;
		ps->failures = h->failures;
		ps->max_ns = h->max_ns;
		ps->mean_ns = h->sum_ns / (int64_t)h->count;
		ps->p50_ns = hist_pct(h, 50);
		ps->p90_ns = hist_pct(h, 90);
		ps->p95_ns = hist_pct(h, 95);
		ps->p99_ns = hist_pct(h, 99);
	}
out:
	free(st);
	return rc;
}
