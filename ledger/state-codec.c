/* SPDX-License-Identifier: MIT */
/*
 * state-codec.c: reducer states as msgpack (snapshots), and state equality.
 *
 * A state is a map with short keys (see docs/events.md). Decoding validates like the event
 * codec and then fills the fixed-size struct: a string longer than its field, a table longer
 * than its limit or an index out of range is corrupt, never truncated.
 */
#include <errno.h>
#include <msgpack.h>
#include <string.h>

#include "internal.h"

#define STATE_MAX_BYTES (4u << 20)

/* ---- encode ------------------------------------------------------------------------------- */

static void pk_key(msgpack_packer *pk, const char *k)
{
	size_t n = strlen(k);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, k, n);
}

static void pk_str(msgpack_packer *pk, const char *k, const char *s)
{
	size_t n = strlen(s);

	if (k)
		pk_key(pk, k);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pk_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
	pk_key(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void pk_i64(msgpack_packer *pk, const char *k, int64_t v)
{
	pk_key(pk, k);
	msgpack_pack_int64(pk, v);
}

static void pk_bool(msgpack_packer *pk, const char *k, bool v)
{
	pk_key(pk, k);
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static void pk_inflight(msgpack_packer *pk, const char *k, const struct ledger_inflight *in)
{
	pk_key(pk, k);
	msgpack_pack_map(pk, 12);
	pk_u64(pk, "op", in->op);
	pk_str(pk, "k", in->kind);
	pk_i64(pk, "rt", in->runtime);
	pk_str(pk, "ph", in->phase);
	pk_str(pk, "a", in->actor);
	pk_u64(pk, "pid", in->pid);
	pk_i64(pk, "st", in->started_ns);
	pk_str(pk, "c", in->commit);
	pk_str(pk, "pc", in->prev_commit);
	pk_u64(pk, "rv", in->reverts);
	pk_key(pk, "sv");
	msgpack_pack_array(pk, in->nservices);
	for (uint32_t i = 0; i < in->nservices; i++)
		msgpack_pack_uint8(pk, in->services[i]);
	pk_bool(pk, "vf", in->verify_failed);
}

int ledger_state_encode(const struct ledger_state *st, uint8_t **out, size_t *out_len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	if (!st || !out || !out_len)
		return LEDGER_EINVAL;
	if (st->nservices > LEDGER_MAX_SERVICES || st->nquarantine > LEDGER_MAX_QUARANTINE)
		return LEDGER_EINVAL;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 12);
	pk_u64(&pk, "v", LEDGER_SCHEMA_VERSION);
	pk_u64(&pk, "seq", st->seq);
	pk_i64(&pk, "ts", st->time_ns);
	pk_str(&pk, "cc", st->checkout_commit);
	pk_str(&pk, "cr", st->checkout_ref);
	pk_u64(&pk, "lo", st->last_op);

	pk_key(&pk, "sv");
	msgpack_pack_array(&pk, st->nservices);
	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *s = &st->services[i];

		msgpack_pack_map(&pk, 3);
		pk_str(&pk, "n", s->name);
		pk_i64(&pk, "o", s->owner);
		pk_key(&pk, "rt");
		msgpack_pack_array(&pk, LEDGER_RT__COUNT);
		for (int r = 0; r < LEDGER_RT__COUNT; r++) {
			const struct ledger_service_runtime *rt = &s->rt[r];
			uint32_t ngood =
			    rt->ngood > LEDGER_GOOD_DEPTH ? LEDGER_GOOD_DEPTH : rt->ngood;

			msgpack_pack_map(&pk, 6);
			pk_str(&pk, "c", rt->commit);
			pk_str(&pk, "e", rt->env);
			pk_i64(&pk, "s", rt->since_ns);
			pk_u64(&pk, "op", rt->op);
			pk_bool(&pk, "h", rt->healthy);
			pk_key(&pk, "g");
			msgpack_pack_array(&pk, ngood);
			for (uint32_t g = 0; g < ngood; g++) {
				msgpack_pack_array(&pk, 3);
				pk_str(&pk, NULL, rt->good[g].commit);
				msgpack_pack_uint64(&pk, rt->good[g].op);
				msgpack_pack_int64(&pk, rt->good[g].time_ns);
			}
		}
	}
	pk_inflight(&pk, "in", &st->inflight);
	pk_inflight(&pk, "pa", &st->parent);

	pk_key(&pk, "q");
	msgpack_pack_array(&pk, st->nquarantine);
	for (uint32_t i = 0; i < st->nquarantine; i++) {
		const struct ledger_quarantine *q = &st->quarantine[i];

		msgpack_pack_map(&pk, 5);
		pk_str(&pk, "c", q->commit);
		pk_u64(&pk, "op", q->op);
		pk_u64(&pk, "rb", q->rollback_op);
		pk_i64(&pk, "ts", q->time_ns);
		pk_str(&pk, "r", q->reason);
	}

	pk_key(&pk, "ct");
	msgpack_pack_map(&pk, 4);
	pk_u64(&pk, "e", st->counters.events);
	pk_u64(&pk, "o", st->counters.ops);
	pk_key(&pk, "oc");
	msgpack_pack_array(&pk, LEDGER_OUT__COUNT);
	for (int i = 0; i < LEDGER_OUT__COUNT; i++)
		msgpack_pack_uint64(&pk, st->counters.outcome[i]);
	pk_u64(&pk, "u", st->counters.unknown_events);

	/* histograms: only the buckets in use, as [index, count] pairs */
	pk_key(&pk, "h");
	msgpack_pack_array(&pk, st->nhist);
	for (uint32_t i = 0; i < st->nhist && i < LEDGER_MAX_HISTS; i++) {
		const struct ledger_phase_hist *h = &st->hist[i];
		uint32_t used = 0;

		for (uint32_t b = 0; b < LEDGER_HIST_BUCKETS; b++)
			used += h->buckets[b] != 0;
		msgpack_pack_map(&pk, 6);
		pk_str(&pk, "n", h->phase);
		pk_u64(&pk, "c", h->count);
		pk_u64(&pk, "f", h->failures);
		pk_i64(&pk, "s", h->sum_ns);
		pk_i64(&pk, "m", h->max_ns);
		pk_key(&pk, "b");
		msgpack_pack_array(&pk, used * 2);
		for (uint32_t b = 0; b < LEDGER_HIST_BUCKETS; b++)
			if (h->buckets[b]) {
				msgpack_pack_uint32(&pk, b);
				msgpack_pack_uint32(&pk, h->buckets[b]);
			}
	}

	if (!sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*out_len = sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&sb);
	return 0;
}

/* ---- decode ------------------------------------------------------------------------------- */

static int rd_str(struct mp_rd *r, char *dst, size_t size)
{
	const char *s;
	uint32_t n;

	if (mp_read_str(r, &s, &n) < 0 || n >= size || memchr(s, '\0', n))
		return LEDGER_ECORRUPT;
	memcpy(dst, s, n);
	memset(dst + n, 0, size - n);
	return 0;
}

static int rd_u64(struct mp_rd *r, uint64_t *v)
{
	return mp_read_u64(r, v) < 0 ? LEDGER_ECORRUPT : 0;
}

static int rd_u32(struct mp_rd *r, uint32_t *v)
{
	uint64_t u;

	if (mp_read_u64(r, &u) < 0 || u > UINT32_MAX)
		return LEDGER_ECORRUPT;
	*v = (uint32_t)u;
	return 0;
}

static int rd_i64(struct mp_rd *r, int64_t *v)
{
	return mp_read_i64(r, v) < 0 ? LEDGER_ECORRUPT : 0;
}

static int rd_bool(struct mp_rd *r, bool *v)
{
	return mp_read_bool(r, v) < 0 ? LEDGER_ECORRUPT : 0;
}

static int rd_key(struct mp_rd *r, const char **k, uint32_t *n)
{
	return mp_read_str(r, k, n) < 0 ? LEDGER_ECORRUPT : 0;
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int rc_ = (x);                                                                     \
		if (rc_ < 0)                                                                       \
			return rc_;                                                                \
	} while (0)

static int rd_inflight(struct mp_rd *r, struct ledger_inflight *in, uint32_t nservices)
{
	uint32_t n, klen;
	const char *k;
	int64_t i64;

	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "op")) {
			TRY(rd_u64(r, &in->op));
		} else if (mp_key_is(k, klen, "k")) {
			TRY(rd_str(r, in->kind, sizeof(in->kind)));
		} else if (mp_key_is(k, klen, "rt")) {
			TRY(rd_i64(r, &i64));
			if (i64 < 0 || i64 >= LEDGER_RT__COUNT)
				return LEDGER_ECORRUPT;
			in->runtime = (int)i64;
		} else if (mp_key_is(k, klen, "ph")) {
			TRY(rd_str(r, in->phase, sizeof(in->phase)));
		} else if (mp_key_is(k, klen, "a")) {
			TRY(rd_str(r, in->actor, sizeof(in->actor)));
		} else if (mp_key_is(k, klen, "pid")) {
			TRY(rd_u32(r, &in->pid));
		} else if (mp_key_is(k, klen, "st")) {
			TRY(rd_i64(r, &in->started_ns));
		} else if (mp_key_is(k, klen, "c")) {
			TRY(rd_str(r, in->commit, sizeof(in->commit)));
		} else if (mp_key_is(k, klen, "pc")) {
			TRY(rd_str(r, in->prev_commit, sizeof(in->prev_commit)));
		} else if (mp_key_is(k, klen, "rv")) {
			TRY(rd_u64(r, &in->reverts));
		} else if (mp_key_is(k, klen, "sv")) {
			uint32_t m, idx;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_MAX_SERVICES)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++) {
				TRY(rd_u32(r, &idx));
				if (idx >= nservices)
					return LEDGER_ECORRUPT;
				in->services[j] = (uint8_t)idx;
			}
			in->nservices = m;
		} else if (mp_key_is(k, klen, "vf")) {
			TRY(rd_bool(r, &in->verify_failed));
		} else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return 0;
}

static int rd_runtime(struct mp_rd *r, struct ledger_service_runtime *rt)
{
	uint32_t n, klen;
	const char *k;

	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "c")) {
			TRY(rd_str(r, rt->commit, sizeof(rt->commit)));
		} else if (mp_key_is(k, klen, "s")) {
			TRY(rd_i64(r, &rt->since_ns));
		} else if (mp_key_is(k, klen, "op")) {
			TRY(rd_u64(r, &rt->op));
		} else if (mp_key_is(k, klen, "h")) {
			TRY(rd_bool(r, &rt->healthy));
		} else if (mp_key_is(k, klen, "e")) {
			TRY(rd_str(r, rt->env, sizeof(rt->env)));
		} else if (mp_key_is(k, klen, "g")) {
			uint32_t m, three;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_GOOD_DEPTH)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++) {
				if (mp_read_array(r, &three) < 0 || three != 3)
					return LEDGER_ECORRUPT;
				TRY(rd_str(r, rt->good[j].commit, sizeof(rt->good[j].commit)));
				TRY(rd_u64(r, &rt->good[j].op));
				TRY(rd_i64(r, &rt->good[j].time_ns));
			}
			rt->ngood = m;
		} else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return 0;
}

static int rd_service(struct mp_rd *r, struct ledger_service_state *s)
{
	uint32_t n, klen;
	const char *k;
	int64_t i64;

	s->owner = -1;
	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "n")) {
			TRY(rd_str(r, s->name, sizeof(s->name)));
		} else if (mp_key_is(k, klen, "o")) {
			TRY(rd_i64(r, &i64));
			if (i64 < -1 || i64 >= LEDGER_RT__COUNT)
				return LEDGER_ECORRUPT;
			s->owner = (int)i64;
		} else if (mp_key_is(k, klen, "rt")) {
			uint32_t m;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_RT__COUNT)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++)
				TRY(rd_runtime(r, &s->rt[j]));
		} else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return 0;
}

static int rd_quarantine(struct mp_rd *r, struct ledger_quarantine *q)
{
	uint32_t n, klen;
	const char *k;

	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "c"))
			TRY(rd_str(r, q->commit, sizeof(q->commit)));
		else if (mp_key_is(k, klen, "op"))
			TRY(rd_u64(r, &q->op));
		else if (mp_key_is(k, klen, "rb"))
			TRY(rd_u64(r, &q->rollback_op));
		else if (mp_key_is(k, klen, "ts"))
			TRY(rd_i64(r, &q->time_ns));
		else if (mp_key_is(k, klen, "r"))
			TRY(rd_str(r, q->reason, sizeof(q->reason)));
		else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0)
			return LEDGER_ECORRUPT;
	}
	return 0;
}

static int rd_counters(struct mp_rd *r, struct ledger_counters *c)
{
	uint32_t n, klen;
	const char *k;

	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "e")) {
			TRY(rd_u64(r, &c->events));
		} else if (mp_key_is(k, klen, "o")) {
			TRY(rd_u64(r, &c->ops));
		} else if (mp_key_is(k, klen, "u")) {
			TRY(rd_u64(r, &c->unknown_events));
		} else if (mp_key_is(k, klen, "oc")) {
			uint32_t m;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_OUT__COUNT)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++)
				TRY(rd_u64(r, &c->outcome[j]));
		} else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return 0;
}

static int rd_hist(struct mp_rd *r, struct ledger_phase_hist *h)
{
	uint32_t n, klen, m, b, c;
	const char *k;

	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "n")) {
			TRY(rd_str(r, h->phase, sizeof(h->phase)));
		} else if (mp_key_is(k, klen, "c")) {
			TRY(rd_u64(r, &h->count));
		} else if (mp_key_is(k, klen, "f")) {
			TRY(rd_u64(r, &h->failures));
		} else if (mp_key_is(k, klen, "s")) {
			TRY(rd_i64(r, &h->sum_ns));
		} else if (mp_key_is(k, klen, "m")) {
			TRY(rd_i64(r, &h->max_ns));
		} else if (mp_key_is(k, klen, "b")) {
			if (mp_read_array(r, &m) < 0 || m % 2 || m > 2 * LEDGER_HIST_BUCKETS)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j += 2) {
				TRY(rd_u32(r, &b));
				TRY(rd_u32(r, &c));
				if (b >= LEDGER_HIST_BUCKETS)
					return LEDGER_ECORRUPT;
				h->buckets[b] = c;
			}
		} else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return 0;
}

static int state_decode(struct mp_rd *r, struct ledger_state *st)
{
	uint32_t n, klen;
	const char *k;
	uint64_t v = 0;
	/* inflight service indexes are checked against the table, which may come later */
	struct mp_rd in = {NULL, NULL}, pa = {NULL, NULL};

	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		TRY(rd_key(r, &k, &klen));
		if (mp_key_is(k, klen, "v")) {
			TRY(rd_u64(r, &v));
			if (v > LEDGER_SCHEMA_VERSION)
				return LEDGER_ESCHEMA;
		} else if (mp_key_is(k, klen, "seq")) {
			TRY(rd_u64(r, &st->seq));
		} else if (mp_key_is(k, klen, "ts")) {
			TRY(rd_i64(r, &st->time_ns));
		} else if (mp_key_is(k, klen, "cc")) {
			TRY(rd_str(r, st->checkout_commit, sizeof(st->checkout_commit)));
		} else if (mp_key_is(k, klen, "cr")) {
			TRY(rd_str(r, st->checkout_ref, sizeof(st->checkout_ref)));
		} else if (mp_key_is(k, klen, "lo")) {
			TRY(rd_u64(r, &st->last_op));
		} else if (mp_key_is(k, klen, "sv")) {
			uint32_t m;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_MAX_SERVICES)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++)
				TRY(rd_service(r, &st->services[j]));
			st->nservices = m;
		} else if (mp_key_is(k, klen, "in") || mp_key_is(k, klen, "pa")) {
			struct mp_rd *save = k[0] == 'i' ? &in : &pa;

			*save = *r;
			if (mp_skip(r, LEDGER_MAX_DEPTH) < 0)
				return LEDGER_ECORRUPT;
		} else if (mp_key_is(k, klen, "q")) {
			uint32_t m;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_MAX_QUARANTINE)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++)
				TRY(rd_quarantine(r, &st->quarantine[j]));
			st->nquarantine = m;
		} else if (mp_key_is(k, klen, "ct")) {
			TRY(rd_counters(r, &st->counters));
		} else if (mp_key_is(k, klen, "h")) {
			uint32_t m;

			if (mp_read_array(r, &m) < 0 || m > LEDGER_MAX_HISTS)
				return LEDGER_ECORRUPT;
			for (uint32_t j = 0; j < m; j++)
				TRY(rd_hist(r, &st->hist[j]));
			st->nhist = m;
		} else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	if (v == 0)
		return LEDGER_ECORRUPT;
	if (in.p)
		TRY(rd_inflight(&in, &st->inflight, st->nservices));
	if (pa.p)
		TRY(rd_inflight(&pa, &st->parent, st->nservices));
	return 0;
}

int ledger_state_decode(const uint8_t *buf, size_t len, struct ledger_state *st)
{
	struct mp_rd r = {buf, buf + len};
	int rc;

	if (!st || (!buf && len))
		return LEDGER_EINVAL;
	rc = mp_validate(buf, len, STATE_MAX_BYTES, LEDGER_MAX_DEPTH, NULL, 0);
	if (rc < 0)
		return rc;
	ledger_state_init(st);
	rc = state_decode(&r, st);
	if (rc < 0)
		ledger_state_init(st);
	return rc;
}

/* ---- equality ----------------------------------------------------------------------------- */

/* Field by field, so that padding and bytes after a string's NUL never matter. */
static bool inflight_equal(const struct ledger_inflight *a, const struct ledger_inflight *b)
{
	return a->op == b->op && strcmp(a->kind, b->kind) == 0 && a->runtime == b->runtime &&
	       strcmp(a->phase, b->phase) == 0 && strcmp(a->actor, b->actor) == 0 &&
	       a->pid == b->pid && a->started_ns == b->started_ns &&
	       strcmp(a->commit, b->commit) == 0 && strcmp(a->prev_commit, b->prev_commit) == 0 &&
	       a->reverts == b->reverts && a->nservices == b->nservices &&
	       a->nservices <= LEDGER_MAX_SERVICES &&
	       memcmp(a->services, b->services, a->nservices) == 0 &&
	       a->verify_failed == b->verify_failed;
}

static bool runtime_equal(const struct ledger_service_runtime *a,
			  const struct ledger_service_runtime *b)
{
	if (strcmp(a->commit, b->commit) != 0 || strcmp(a->env, b->env) != 0 ||
	    a->since_ns != b->since_ns || a->op != b->op || a->healthy != b->healthy ||
	    a->ngood != b->ngood || a->ngood > LEDGER_GOOD_DEPTH)
		return false;
	for (uint32_t i = 0; i < a->ngood; i++)
		if (strcmp(a->good[i].commit, b->good[i].commit) != 0 ||
		    a->good[i].op != b->good[i].op || a->good[i].time_ns != b->good[i].time_ns)
			return false;
	return true;
}

bool ledger_state_equal(const struct ledger_state *a, const struct ledger_state *b)
{
	if (!a || !b)
		return a == b;
	if (a->seq != b->seq || a->time_ns != b->time_ns ||
	    strcmp(a->checkout_commit, b->checkout_commit) != 0 ||
	    strcmp(a->checkout_ref, b->checkout_ref) != 0 || a->last_op != b->last_op ||
	    a->nservices != b->nservices || a->nservices > LEDGER_MAX_SERVICES ||
	    a->nquarantine != b->nquarantine || a->nquarantine > LEDGER_MAX_QUARANTINE)
		return false;
	for (uint32_t i = 0; i < a->nservices; i++) {
		const struct ledger_service_state *x = &a->services[i], *y = &b->services[i];

		if (strcmp(x->name, y->name) != 0 || x->owner != y->owner)
			return false;
		for (int r = 0; r < LEDGER_RT__COUNT; r++)
			if (!runtime_equal(&x->rt[r], &y->rt[r]))
				return false;
	}
	if (!inflight_equal(&a->inflight, &b->inflight) || !inflight_equal(&a->parent, &b->parent))
		return false;
	for (uint32_t i = 0; i < a->nquarantine; i++) {
		const struct ledger_quarantine *x = &a->quarantine[i], *y = &b->quarantine[i];

		if (strcmp(x->commit, y->commit) != 0 || x->op != y->op ||
		    x->rollback_op != y->rollback_op || x->time_ns != y->time_ns ||
		    strcmp(x->reason, y->reason) != 0)
			return false;
	}
	if (a->nhist != b->nhist || a->nhist > LEDGER_MAX_HISTS)
		return false;
	for (uint32_t i = 0; i < a->nhist; i++) {
		const struct ledger_phase_hist *x = &a->hist[i], *y = &b->hist[i];

		if (strcmp(x->phase, y->phase) != 0 || x->count != y->count ||
		    x->failures != y->failures || x->sum_ns != y->sum_ns ||
		    x->max_ns != y->max_ns ||
		    memcmp(x->buckets, y->buckets, sizeof(x->buckets)) != 0)
			return false;
	}
	return memcmp(&a->counters, &b->counters, sizeof(a->counters)) == 0;
}
