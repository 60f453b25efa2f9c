/* SPDX-License-Identifier: MIT */
/*
 * verify.c: the whole-ledger check. One read transaction walks the events and the snapshots
 * side by side: every event decodes, sequences run 1, 2, 3, ... without a gap, the replay from
 * scratch applies every event, and each snapshot equals the replay at its sequence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int verify_fail(struct ledger *lg, struct ledger_verify_report *rep, uint64_t seq, int code,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int verify_fail(struct ledger *lg, struct ledger_verify_report *rep, uint64_t seq, int code,
		       const char *fmt, ...)
{
	va_list ap;

	rep->first_bad_seq = seq;
	rep->first_error = code;
	va_start(ap, fmt);
	vsnprintf(rep->detail, sizeof(rep->detail), fmt, ap);
	va_end(ap);
	return lg_err(lg, code, "%s", rep->detail);
}

/* Event seq (its bytes in v) decoded and applied to st, the replay so far. */
static int verify_replay(struct ledger *lg, struct ledger_verify_report *rep, const MDB_val *v,
			 uint64_t seq, struct arena *a, struct ledger_state *st)
{
	struct ledger_event ev;
	char err[160] = "";
	int rc;

	arena_reset(a);
	rc = event_decode_into(v->mv_data, v->mv_size, &ev, a, err, sizeof(err));
	if (rc < 0)
		return verify_fail(lg, rep, seq, rc, "event %llu: %s", (unsigned long long)seq,
				   err);
	ev.seq = seq;
	rc = ledger_state_apply(st, &ev);
	if (rc < 0)
		return verify_fail(lg, rep, seq, rc, "event %llu (%s) does not apply: %s",
				   (unsigned long long)seq, ev.type_name, ledger_strerror(rc));
	rep->events++;
	return 0;
}

/* The snapshot at seq (its bytes in sv) against the replay st; snap is scratch. */
static int verify_snapshot(struct ledger *lg, struct ledger_verify_report *rep, const MDB_val *sv,
			   uint64_t seq, const struct ledger_state *st, struct ledger_state *snap)
{
	int rc = ledger_state_decode(sv->mv_data, sv->mv_size, snap);

	if (rc < 0)
		return verify_fail(lg, rep, seq, rc, "snapshot %llu does not decode: %s",
				   (unsigned long long)seq, ledger_strerror(rc));
	if (!ledger_state_equal(st, snap))
		return verify_fail(lg, rep, seq, LEDGER_EMISMATCH,
				   "snapshot %llu differs from the replay",
				   (unsigned long long)seq);
	rep->snapshots++;
	return 0;
}

int ledger_verify(struct ledger *lg, struct ledger_verify_report *rep)
{
	struct ledger_verify_report local;
	struct ledger_state *st = NULL, *snap = NULL;
	MDB_cursor *ce = NULL, *cs = NULL;
	struct arena *a = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v, sk, sv;
	uint64_t want = 1, seq, sseq = 0;
	int rc, ers, srs;

	if (!lg)
		return LEDGER_EINVAL;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	st = malloc(sizeof(*st));
	snap = malloc(sizeof(*snap));
	a = arena_new(16 << 10);
	if (!st || !snap || !a) {
		rc = -ENOMEM;
		goto out;
	}
	ledger_state_init(st);

	rc = store_read_begin(lg, &txn);
	if (rc)
		goto out;
	if ((rc = mdb_cursor_open(txn, lg->events, &ce)) ||
	    (rc = mdb_cursor_open(txn, lg->snapshots, &cs))) {
		rc = lg_mdb_err(lg, rc, "open cursor");
		goto out;
	}

	srs = mdb_cursor_get(cs, &sk, &sv, MDB_FIRST);
	if (srs == 0)
		sseq = key_seq(&sk);
	for (ers = mdb_cursor_get(ce, &k, &v, MDB_FIRST); ers == 0;
	     ers = mdb_cursor_get(ce, &k, &v, MDB_NEXT)) {
		seq = key_seq(&k);
		if (seq != want) {
			rc = verify_fail(lg, rep, want, LEDGER_EGAP,
					 "sequence gap: expected event %llu, found %llu",
					 (unsigned long long)want, (unsigned long long)seq);
			goto out;
		}
		rc = verify_replay(lg, rep, &v, seq, a, st);
		if (rc < 0)
			goto out;

		/* snapshots at sequences the walk has passed without meeting them are orphans */
		if (srs == 0 && sseq < seq) {
			rc = verify_fail(lg, rep, sseq, LEDGER_EMISMATCH,
					 "snapshot %llu is not at an event",
					 (unsigned long long)sseq);
			goto out;
		}
		if (srs == 0 && sseq == seq) {
			rc = verify_snapshot(lg, rep, &sv, seq, st, snap);
			if (rc < 0)
				goto out;
			srs = mdb_cursor_get(cs, &sk, &sv, MDB_NEXT);
			if (srs == 0)
				sseq = key_seq(&sk);
		}
		want++;
	}
	if (ers != MDB_NOTFOUND) {
		rc = lg_mdb_err(lg, ers, "read events");
		verify_fail(lg, rep, want, rc, "%s", lg->errmsg);
		goto out;
	}
	if (srs == 0) {
		rc = verify_fail(lg, rep, sseq, LEDGER_EMISMATCH,
				 "snapshot %llu is past the last event", (unsigned long long)sseq);
		goto out;
	}
	rc = 0;
out:
	if (ce)
		mdb_cursor_close(ce);
	if (cs)
		mdb_cursor_close(cs);
	store_read_end(lg, txn);
	arena_free(a);
	free(st);
	free(snap);
	return rc;
}
