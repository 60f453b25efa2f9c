/* SPDX-License-Identifier: MIT */
/*
 * internal.h: what the ledger's files share and nothing outside ledger/ may use.
 *
 * codec.c        the msgpack reader (bounds-checked), the validating walk, the string arena
 * event-types.c  the type table: wire name, fields, text template, apply; names; field checks
 * event-codec.c  events as msgpack (encode, decode, peek), driven by the table
 * reducer.c      the per-type apply functions and the state lookups
 * state-codec.c  snapshots
 * store.c        the LMDB boundary: open, transactions, map growth, append
 * query.c        iteration, seek, per-operation scans, state_at, history, stats
 * verify.c       ledger_verify
 */
#ifndef LEDGER_INTERNAL_H
#define LEDGER_INTERNAL_H

#include <endian.h>
#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ledger/ledger.h"

/* ---- codec.c: reading msgpack ------------------------------------------------------------- */

enum mp_type {
	MP_BAD = 0,
	MP_NIL,
	MP_BOOL,
	MP_UINT,
	MP_INT, /* a signed encoding; the value may still be >= 0 */
	MP_FLOAT,
	MP_STR,
	MP_BIN,
	MP_ARRAY,
	MP_MAP,
	MP_EXT,
};

/* A cursor over bytes. Every read checks bounds, so it is safe on any input; the validating walk
 * runs first only to enforce the limits before anything is allocated. */
struct mp_rd {
	const uint8_t *p;
	const uint8_t *end;
};

/* Walks one whole value: total size <= max_bytes, every container's count fits in the bytes
 * that remain, depth <= max_depth, and the value ends exactly at len. 0, LEDGER_ECORRUPT or
 * LEDGER_ETOOBIG (err gets the reason). */
int mp_validate(const uint8_t *buf, size_t len, size_t max_bytes, int max_depth, char *err,
		size_t errlen);

int mp_read_nil(struct mp_rd *r);
int mp_read_bool(struct mp_rd *r, bool *v);
/* Any integer encoding; *neg tells whether the value is negative (then *v holds it as int64). */
int mp_read_int(struct mp_rd *r, bool *neg, uint64_t *v);
int mp_read_str_slow(struct mp_rd *r, const char **s, uint32_t *n);
int mp_read_array(struct mp_rd *r, uint32_t *n);
int mp_read_map_slow(struct mp_rd *r, uint32_t *n);
/* Skips one value (bounded recursion). */
int mp_skip(struct mp_rd *r, int depth);

/* Typed helpers over mp_read_int with range checks: 0 or -ERANGE / -EINVAL (wrong type). */
int mp_read_u64_slow(struct mp_rd *r, uint64_t *v);
int mp_read_i64_slow(struct mp_rd *r, int64_t *v);

/* Fast paths for the one-byte headers nearly every value of an event has (short keys and
 * strings, small maps, small integers); everything else takes the general reader. */
static inline int mp_read_str(struct mp_rd *r, const char **s, uint32_t *n)
{
	if (r->p < r->end && (r->p[0] & 0xe0) == 0xa0) {
		uint32_t l = r->p[0] & 0x1f;

		if (l > (size_t)(r->end - r->p - 1))
			return LEDGER_ECORRUPT;
		*s = (const char *)r->p + 1;
		*n = l;
		r->p += 1 + l;
		return 0;
	}
	return mp_read_str_slow(r, s, n);
}

static inline int mp_read_map(struct mp_rd *r, uint32_t *n)
{
	if (r->p < r->end && (r->p[0] & 0xf0) == 0x80) {
		uint32_t c = r->p[0] & 0x0f;

		if ((size_t)c * 2 > (size_t)(r->end - r->p - 1))
			return LEDGER_ECORRUPT;
		*n = c;
		r->p++;
		return 0;
	}
	return mp_read_map_slow(r, n);
}

/* uint 8/16/32/64 (0xcc..0xcf): 1 when read into *v, 0 when not that encoding, < 0 short. */
static inline int mp_read_uint_fixed(struct mp_rd *r, uint64_t *v)
{
	uint8_t b = r->p[0];
	size_t n, avail = (size_t)(r->end - r->p - 1);
	uint64_t u = 0;

	if (b < 0xcc || b > 0xcf)
		return 0;
	n = (size_t)1 << (b - 0xcc);
	if (n > avail)
		return LEDGER_ECORRUPT;
	for (size_t i = 1; i <= n; i++)
		u = (u << 8) | r->p[i];
	*v = u;
	r->p += 1 + n;
	return 1;
}

static inline int mp_read_u64(struct mp_rd *r, uint64_t *v)
{
	if (r->p < r->end) {
		int rc;

		if (r->p[0] <= 0x7f) {
			*v = *r->p++;
			return 0;
		}
		rc = mp_read_uint_fixed(r, v);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return mp_read_u64_slow(r, v);
}

static inline int mp_read_i64(struct mp_rd *r, int64_t *v)
{
	if (r->p < r->end) {
		struct mp_rd c = *r;
		uint64_t u;
		int rc;

		if (r->p[0] <= 0x7f) {
			*v = *r->p++;
			return 0;
		}
		rc = mp_read_uint_fixed(&c, &u);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			if (u > (uint64_t)INT64_MAX)
				return -ERANGE;
			*v = (int64_t)u;
			*r = c;
			return 0;
		}
	}
	return mp_read_i64_slow(r, v);
}

static inline bool mp_is_nil(const struct mp_rd *r)
{
	return r->p < r->end && r->p[0] == 0xc0;
}

static inline bool mp_key_is(const char *k, uint32_t n, const char *lit)
{
	size_t l = __builtin_strlen(lit);

	return n == l && __builtin_memcmp(k, lit, l) == 0;
}

/* ---- codec.c: the arena decoded strings live in ------------------------------------------- */

struct arena;
struct arena *arena_new(size_t hint);
void arena_reset(struct arena *a);
void arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t n, size_t align);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* ---- codec.c: small text helpers ---------------------------------------------------------- */

void errfmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copies src (NULL = "") into dst[n], truncated, zero-filled to the end. */
void str_copy(char *dst, size_t n, const char *src);

/* ---- event-types.c: the type table --------------------------------------------------------- */

/* reducer.c: one apply function per type, referenced by the type table. They run after the
 * envelope rules (seq, counters) and must fail before changing anything. */
typedef int (*event_apply_fn)(struct ledger_state *st, const struct ledger_event *ev);

/* One row per type (LEDGER_EV_UNKNOWN's is empty). */
struct event_type {
	const char *name;
	size_t namelen;
	const struct ledger_field *fields;
	size_t nfields;
	const char *required; /* a field key that must be present (non-empty / non-zero) */
	event_apply_fn apply;
	const char *text;
};
extern const struct event_type event_types[LEDGER_EV__COUNT];

/* A type, runtime or outcome by its wire name (not NUL-terminated): LEDGER_EV_UNKNOWN, or
 * LEDGER_EINVAL for a runtime or outcome name that is not one. */
enum ledger_event_type event_type_from_bytes(const char *s, size_t n);
int runtime_from_bytes(const char *s, size_t n);
int outcome_from_bytes(const char *s, size_t n);

/* Shorter names for the field kinds, for the type table and the codec. */
#define F_STR LEDGER_FIELD_STR
#define F_STRV LEDGER_FIELD_STRV
#define F_U64 LEDGER_FIELD_U64
#define F_I64 LEDGER_FIELD_I64
#define F_U32 LEDGER_FIELD_U32
#define F_I32 LEDGER_FIELD_I32
#define F_BOOL LEDGER_FIELD_BOOL
#define F_RUNTIME LEDGER_FIELD_RUNTIME
#define F_OUTCOME LEDGER_FIELD_OUTCOME

#define FIELD(ev, f, type) ((type *)((char *)(ev) + (f)->offset))
#define CFIELD(ev, f, type) ((const type *)((const char *)(ev) + (f)->offset))

typedef const char *cstr;

/* ledger_field_is_zero(), inline for the codec's loops. */
static inline bool field_value_is_zero(const struct ledger_field *f, const void *value)
{
	switch (f->kind) {
	case LEDGER_FIELD_STR: {
		const char *str = *(const cstr *)value;
		return !str || !*str;
	}
	case LEDGER_FIELD_STRV:
		return ((const struct ledger_strv *)value)->n == 0;
	case LEDGER_FIELD_U64:
		return *(const uint64_t *)value == 0;
	case LEDGER_FIELD_I64:
		return *(const int64_t *)value == 0;
	case LEDGER_FIELD_U32:
		return *(const uint32_t *)value == 0;
	case LEDGER_FIELD_I32:
		return *(const int32_t *)value == 0;
	case LEDGER_FIELD_BOOL:
		return !*(const bool *)value;
	case LEDGER_FIELD_RUNTIME:
		return *(const enum ledger_runtime *)value == LEDGER_RT_NATIVE;
	case LEDGER_FIELD_OUTCOME:
		return *(const enum ledger_outcome *)value == LEDGER_OUT_NONE;
	}
	return true;
}

/* The required-field checks of encode, for append's caller-side validation. */
int event_check(const struct ledger_event *ev, char *err, size_t errlen);
/* The same without the envelope: required field, enum ranges, list sizes. */
int event_check_fields(const struct ledger_event *ev, char *err, size_t errlen);

/* ---- event-codec.c ------------------------------------------------------------------------ */

/* Decodes buf into ev with strings in arena a (not set as ev->_arena). */
int event_decode_into(const uint8_t *buf, size_t len, struct ledger_event *ev, struct arena *a,
		      char *err, size_t errlen);

/* reducer.c */
int reduce_op_requested(struct ledger_state *st, const struct ledger_event *ev);
int reduce_op_refused(struct ledger_state *st, const struct ledger_event *ev);
int reduce_op_finished(struct ledger_state *st, const struct ledger_event *ev);
int reduce_phase_started(struct ledger_state *st, const struct ledger_event *ev);
int reduce_phase_finished(struct ledger_state *st, const struct ledger_event *ev);
int reduce_git_moved(struct ledger_state *st, const struct ledger_event *ev);
int reduce_unit_restarted(struct ledger_state *st, const struct ledger_event *ev);
int reduce_health_checked(struct ledger_state *st, const struct ledger_event *ev);
int reduce_owner_changed(struct ledger_state *st, const struct ledger_event *ev);
int reduce_unit_observed(struct ledger_state *st, const struct ledger_event *ev);
int reduce_counters_only(struct ledger_state *st, const struct ledger_event *ev);
int reduce_fleet_started(struct ledger_state *st, const struct ledger_event *ev);
int reduce_quarantine_lifted(struct ledger_state *st, const struct ledger_event *ev);
event_apply_fn event_type_apply(enum ledger_event_type t);

/* ---- store.c ------------------------------------------------------------------------------ */

struct ledger {
	MDB_env *env;
	MDB_dbi events;
	MDB_dbi snapshots;
	MDB_dbi meta;
	char *path;	/* realpath, the registry key */
	unsigned flags; /* LEDGER_OPEN_* */
	pid_t pid;	/* the process that opened it: a forked child must not close it */
	uint32_t snapshot_every;
	size_t mapsize;
	off_t reserved_end; /* data.mdb is allocated up to here (ledger_reserve) */
	unsigned readers;   /* read transactions open on this handle: no resize while > 0 */
	/* The state after cache_seq, so appends need not replay the tail each time. */
	struct ledger_state *cache;
	struct ledger_state *work;
	uint64_t cache_seq;
	bool cache_valid;
	struct arena *arena; /* scratch for decodes inside appends and state_at */
	char errmsg[256];
};

int lg_err(struct ledger *lg, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int lg_mdb_err(struct ledger *lg, int rc, const char *what);

/* Begins a transaction (flags: 0 or MDB_RDONLY), adopting another process's map growth. */
int store_txn_begin(struct ledger *lg, unsigned flags, MDB_txn **txn);
/* Doubles the map (no read transaction of ours may be open). */
int store_grow(struct ledger *lg);
/* Less than 1 MiB left for the ledger's directory: a write that came up short ran out of space. */
bool store_disk_full(const struct ledger *lg);

/* Read transactions: counted on the handle, adopting another process's map growth at begin. */
int store_read_begin(struct ledger *lg, MDB_txn **txn);
/* Begins a read transaction and resolves seq (UINT64_MAX = the newest; beyond the end:
 * LEDGER_ENOTFOUND, and no transaction is left open). */
int store_read_point(struct ledger *lg, MDB_txn **txn, uint64_t *seq);
int store_apply_raw(struct ledger *lg, struct ledger_state *st, uint64_t seq, const void *data,
		    size_t len);
void store_read_end(struct ledger *lg, MDB_txn *txn);

static inline uint64_t key_seq(const MDB_val *k)
{
	uint64_t be;

	if (k->mv_size != sizeof(be))
		return 0;
	__builtin_memcpy(&be, k->mv_data, sizeof(be));
	return be64toh(be);
}

/* The state after seq inside txn: nearest snapshot at or before it plus the tail; starts from
 * `from` (a state after from->seq <= seq) instead when that is closer. */
int store_state_at_txn(struct ledger *lg, MDB_txn *txn, uint64_t seq,
		       const struct ledger_state *from, struct ledger_state *st);
int store_last_seq_txn(struct ledger *lg, MDB_txn *txn, uint64_t *seq);

/* An event that ends an operation. */
static inline bool is_terminal(enum ledger_event_type t)
{
	return t == LEDGER_EV_OP_FINISHED || t == LEDGER_EV_OP_REFUSED ||
	       t == LEDGER_EV_FLEET_FINISHED;
}

/* Whether the stored event buf (type t, operation op, at seq) starts an operation: an
 * op.requested, a standalone op.refused, or a fleet.started that carries its number. */
bool event_starts_op(const uint8_t *buf, size_t len, enum ledger_event_type t, uint64_t op,
		     uint64_t seq);

#endif
