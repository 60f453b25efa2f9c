/* SPDX-License-Identifier: MIT */
/*
 * state-codec.c: reducer states as msgpack (snapshots), and state equality.
 *
 * A state is a map with short keys (see docs/events.md). One table per struct says each key,
 * its kind and where it lives; encoding, decoding and equality walk those tables, so a new
 * field of the state is one row (the wire format is unchanged by the tables: snapshots written
 * before them load, see tests/ledger/test-state-codec.c). Decoding validates like the event
 * codec and then fills the fixed-size struct: a string longer than its field, a table longer
 * than its limit or an index out of range is corrupt, never truncated.
 */
#include <errno.h>
#include <msgpack.h>
#include <string.h>

#include "internal.h"

#define STATE_MAX_BYTES (4u << 20)

/* ---- the table ---------------------------------------------------------------------------- */

enum state_kind {
	SK_STR,	    /* char[size], NUL-terminated; a longer string is corrupt, never truncated */
	SK_U64,	    /* uint64_t */
	SK_I64,	    /* int64_t */
	SK_U32,	    /* uint32_t, on the wire any unsigned integer that fits */
	SK_BOOL,    /* bool */
	SK_INT,	    /* int in [min, max], on the wire a signed integer */
	SK_VERSION, /* no storage: the schema version, required, at most LEDGER_SCHEMA_VERSION */
	SK_MAP,	    /* a struct, by its own table */
	SK_LIST,    /* structs of `size` bytes by table `sub`; uint32_t count at count_off, or
		     * always max of them when count_off is NO_COUNT; at most max */
	SK_U64S,    /* uint64_t[max], all of them (decode: at most max) */
	SK_INDEXES, /* uint8_t[max] with a uint32_t count at count_off: service table indexes */
	SK_SPARSE,  /* uint32_t[max] as [index, value] pairs of the non-zero ones */
};

#define NO_COUNT SIZE_MAX

struct state_schema;

struct state_field {
	const char *key;
	uint8_t keylen;
	enum state_kind kind;
	size_t off;
	size_t size;	  /* SK_STR: the array's bytes; SK_LIST: one element's */
	size_t count_off; /* SK_LIST, SK_INDEXES */
	uint32_t max;	  /* SK_LIST, SK_U64S, SK_INDEXES, SK_SPARSE */
	int64_t min, top; /* SK_INT: the range */
	int64_t dflt;	  /* SK_INT: the value when the key is missing */
	const struct state_schema *sub;
	bool omit_zero; /* left out when zero (SK_U64, SK_BOOL, SK_LIST): keys added later, so that
			 * a state that does not use them encodes as before */
};

struct state_schema {
	const struct state_field *f;
	uint32_t n;
	bool tuple; /* an array of the values in table order, without keys */
};

#define KEY(k) .key = k, .keylen = sizeof(k) - 1
#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define S_STR(k, T, m)                                                                             \
	{                                                                                          \
		KEY(k), .kind = SK_STR, .off = offsetof(T, m), .size = MEMBER_SIZE(T, m)           \
	}
#define S_NUM(k, kd, T, m)                                                                         \
	{                                                                                          \
		KEY(k), .kind = kd, .off = offsetof(T, m)                                          \
	}
#define S_INT(k, T, m, lo, hi, d)                                                                  \
	{                                                                                          \
		KEY(k), .kind = SK_INT, .off = offsetof(T, m), .min = lo, .top = hi, .dflt = d     \
	}
#define S_MAP(k, T, m, s)                                                                          \
	{                                                                                          \
		KEY(k), .kind = SK_MAP, .off = offsetof(T, m), .sub = &s                           \
	}
#define S_LIST(k, T, m, count, limit, s)                                                           \
	{                                                                                          \
		KEY(k), .kind = SK_LIST, .off = offsetof(T, m), .size = sizeof(((T *)0)->m[0]),    \
			.count_off = count, .max = limit, .sub = &s                                \
	}
#define S_ARRAY(k, kd, T, m, count, limit)                                                         \
	{                                                                                          \
		KEY(k), .kind = kd, .off = offsetof(T, m), .count_off = count, .max = limit        \
	}
#define SCHEMA(name, fields, is_tuple)                                                             \
	static const struct state_schema name = {fields, sizeof(fields) / sizeof((fields)[0]),     \
						 is_tuple}

static const struct state_field good_fields[] = {
    S_STR("c", struct ledger_good, commit),
    S_NUM("op", SK_U64, struct ledger_good, op),
    S_NUM("ts", SK_I64, struct ledger_good, time_ns),
};
SCHEMA(good_schema, good_fields, true);

static const struct state_field runtime_fields[] = {
    S_STR("c", struct ledger_service_runtime, commit),
    S_STR("e", struct ledger_service_runtime, env),
    S_NUM("s", SK_I64, struct ledger_service_runtime, since_ns),
    S_NUM("op", SK_U64, struct ledger_service_runtime, op),
    S_NUM("h", SK_BOOL, struct ledger_service_runtime, healthy),
    S_LIST("g", struct ledger_service_runtime, good, offsetof(struct ledger_service_runtime, ngood),
	   LEDGER_GOOD_DEPTH, good_schema),
};
SCHEMA(runtime_schema, runtime_fields, false);

static const struct state_field service_fields[] = {
    S_STR("n", struct ledger_service_state, name),
    S_INT("o", struct ledger_service_state, owner, -1, LEDGER_RT__COUNT - 1, -1),
    {KEY("oo"), .kind = SK_U64, .off = offsetof(struct ledger_service_state, owner_op),
     .omit_zero = true},
    S_LIST("rt", struct ledger_service_state, rt, NO_COUNT, LEDGER_RT__COUNT, runtime_schema),
};
SCHEMA(service_schema, service_fields, false);

/* A rollback's "from" commits: each a char[LEDGER_COMMIT_MAX], written as a one-string tuple. */
static const struct state_field from_fields[] = {
    {KEY("c"), .kind = SK_STR, .off = 0, .size = LEDGER_COMMIT_MAX},
};
SCHEMA(from_schema, from_fields, true);

static const struct state_field inflight_fields[] = {
    S_NUM("op", SK_U64, struct ledger_inflight, op),
    {KEY("n"), .kind = SK_U64, .off = offsetof(struct ledger_inflight, number), .omit_zero = true},
    {KEY("nb"), .kind = SK_BOOL, .off = offsetof(struct ledger_inflight, numbered),
     .omit_zero = true},
    {KEY("mn"), .kind = SK_BOOL, .off = offsetof(struct ledger_inflight, manual),
     .omit_zero = true},
    {KEY("fr"), .kind = SK_LIST, .off = offsetof(struct ledger_inflight, from),
     .size = LEDGER_COMMIT_MAX, .count_off = offsetof(struct ledger_inflight, nfrom),
     .max = LEDGER_MAX_FROM, .sub = &from_schema, .omit_zero = true},
    S_STR("k", struct ledger_inflight, kind),
    S_INT("rt", struct ledger_inflight, runtime, 0, LEDGER_RT__COUNT - 1, 0),
    S_STR("ph", struct ledger_inflight, phase),
    S_STR("a", struct ledger_inflight, actor),
    S_NUM("pid", SK_U32, struct ledger_inflight, pid),
    S_NUM("st", SK_I64, struct ledger_inflight, started_ns),
    S_STR("c", struct ledger_inflight, commit),
    S_STR("pc", struct ledger_inflight, prev_commit),
    S_NUM("rv", SK_U64, struct ledger_inflight, reverts),
    S_ARRAY("sv", SK_INDEXES, struct ledger_inflight, services,
	    offsetof(struct ledger_inflight, nservices), LEDGER_MAX_SERVICES),
    S_NUM("vf", SK_BOOL, struct ledger_inflight, verify_failed),
};
SCHEMA(inflight_schema, inflight_fields, false);

static const struct state_field quarantine_fields[] = {
    S_STR("c", struct ledger_quarantine, commit),
    S_NUM("op", SK_U64, struct ledger_quarantine, op),
    S_NUM("rb", SK_U64, struct ledger_quarantine, rollback_op),
    S_NUM("ts", SK_I64, struct ledger_quarantine, time_ns),
    S_STR("r", struct ledger_quarantine, reason),
};
SCHEMA(quarantine_schema, quarantine_fields, false);

static const struct state_field counters_fields[] = {
    S_NUM("e", SK_U64, struct ledger_counters, events),
    S_NUM("o", SK_U64, struct ledger_counters, ops),
    {KEY("fo"), .kind = SK_U64, .off = offsetof(struct ledger_counters, fleet_ops),
     .omit_zero = true},
    S_ARRAY("oc", SK_U64S, struct ledger_counters, outcome, NO_COUNT, LEDGER_OUT__COUNT),
    S_NUM("u", SK_U64, struct ledger_counters, unknown_events),
};
SCHEMA(counters_schema, counters_fields, false);

/* Histograms: only the buckets in use. */
static const struct state_field hist_fields[] = {
    S_STR("n", struct ledger_phase_hist, phase),
    S_NUM("c", SK_U64, struct ledger_phase_hist, count),
    S_NUM("f", SK_U64, struct ledger_phase_hist, failures),
    S_NUM("s", SK_I64, struct ledger_phase_hist, sum_ns),
    S_NUM("m", SK_I64, struct ledger_phase_hist, max_ns),
    S_ARRAY("b", SK_SPARSE, struct ledger_phase_hist, buckets, NO_COUNT, LEDGER_HIST_BUCKETS),
};
SCHEMA(hist_schema, hist_fields, false);

static const struct state_field state_fields[] = {
    {KEY("v"), .kind = SK_VERSION},
    S_NUM("seq", SK_U64, struct ledger_state, seq),
    S_NUM("ts", SK_I64, struct ledger_state, time_ns),
    S_STR("cc", struct ledger_state, checkout_commit),
    S_STR("cr", struct ledger_state, checkout_ref),
    S_NUM("lo", SK_U64, struct ledger_state, last_op),
    S_LIST("sv", struct ledger_state, services, offsetof(struct ledger_state, nservices),
	   LEDGER_MAX_SERVICES, service_schema),
    S_MAP("in", struct ledger_state, inflight, inflight_schema),
    S_MAP("pa", struct ledger_state, parent, inflight_schema),
    S_LIST("q", struct ledger_state, quarantine, offsetof(struct ledger_state, nquarantine),
	   LEDGER_MAX_QUARANTINE, quarantine_schema),
    S_MAP("ct", struct ledger_state, counters, counters_schema),
    S_LIST("h", struct ledger_state, hist, offsetof(struct ledger_state, nhist), LEDGER_MAX_HISTS,
	   hist_schema),
};
SCHEMA(state_schema, state_fields, false);

#define AT(obj, f, type) ((type *)((char *)(obj) + (f)->off))
#define CAT(obj, f, type) ((const type *)((const char *)(obj) + (f)->off))

/* A list's length: its count (never over the limit), or the fixed length. */
static uint32_t list_len(const void *obj, const struct state_field *f)
{
	uint32_t n;

	if (f->count_off == NO_COUNT)
		return f->max;
	n = *(const uint32_t *)((const char *)obj + f->count_off);
	return n > f->max ? f->max : n;
}

/* ---- encode ------------------------------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void encode_struct(msgpack_packer *pk, const struct state_schema *sc, const void *obj);

static void encode_value(msgpack_packer *pk, const struct state_field *f, const void *obj)
{
	switch (f->kind) {
	case SK_STR:
		pk_str(pk, CAT(obj, f, char), strnlen(CAT(obj, f, char), f->size));
		break;
	case SK_U64:
		msgpack_pack_uint64(pk, *CAT(obj, f, uint64_t));
		break;
	case SK_I64:
		msgpack_pack_int64(pk, *CAT(obj, f, int64_t));
		break;
	case SK_U32:
		msgpack_pack_uint64(pk, *CAT(obj, f, uint32_t));
		break;
	case SK_BOOL:
		if (*CAT(obj, f, bool))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case SK_INT:
		msgpack_pack_int64(pk, *CAT(obj, f, int));
		break;
	case SK_VERSION:
		msgpack_pack_uint64(pk, LEDGER_SCHEMA_VERSION);
		break;
	case SK_MAP:
		encode_struct(pk, f->sub, CAT(obj, f, char));
		break;
	case SK_LIST: {
		uint32_t n = list_len(obj, f);

		msgpack_pack_array(pk, n);
		for (uint32_t i = 0; i < n; i++)
			encode_struct(pk, f->sub, CAT(obj, f, char) + i * f->size);
		break;
	}
	case SK_U64S:
		msgpack_pack_array(pk, f->max);
		for (uint32_t i = 0; i < f->max; i++)
			msgpack_pack_uint64(pk, CAT(obj, f, uint64_t)[i]);
		break;
	case SK_INDEXES: {
		uint32_t n = list_len(obj, f);

		msgpack_pack_array(pk, n);
		for (uint32_t i = 0; i < n; i++)
			msgpack_pack_uint8(pk, CAT(obj, f, uint8_t)[i]);
		break;
	}
	case SK_SPARSE: {
		const uint32_t *v = CAT(obj, f, uint32_t);
		uint32_t used = 0;

		for (uint32_t i = 0; i < f->max; i++)
			used += v[i] != 0;
		msgpack_pack_array(pk, used * 2);
		for (uint32_t i = 0; i < f->max; i++)
			if (v[i]) {
				msgpack_pack_uint32(pk, i);
				msgpack_pack_uint32(pk, v[i]);
			}
		break;
	}
	}
}

static bool omitted(const struct state_field *f, const void *obj)
{
	if (!f->omit_zero)
		return false;
	switch (f->kind) {
	case SK_U64:
		return *CAT(obj, f, uint64_t) == 0;
	case SK_BOOL:
		return !*CAT(obj, f, bool);
	case SK_LIST:
		return list_len(obj, f) == 0;
	default:
		return false;
	}
}

static void encode_struct(msgpack_packer *pk, const struct state_schema *sc, const void *obj)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < sc->n; i++)
		n += sc->tuple || !omitted(&sc->f[i], obj);
	if (sc->tuple)
		msgpack_pack_array(pk, sc->n);
	else
		msgpack_pack_map(pk, n);
	for (uint32_t i = 0; i < sc->n; i++) {
		if (!sc->tuple && omitted(&sc->f[i], obj))
			continue;
		if (!sc->tuple)
			pk_str(pk, sc->f[i].key, strlen(sc->f[i].key));
		encode_value(pk, &sc->f[i], obj);
	}
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
	encode_struct(&pk, &state_schema, st);
	if (!sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*out_len = sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&sb);
	return 0;
}

/* ---- decode ------------------------------------------------------------------------------- */

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int rc_ = (x);                                                                     \
		if (rc_ < 0)                                                                       \
			return rc_;                                                                \
	} while (0)

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

static int rd_array(struct mp_rd *r, uint32_t *n, uint32_t max)
{
	return mp_read_array(r, n) < 0 || *n > max ? LEDGER_ECORRUPT : 0;
}

static int decode_struct(struct mp_rd *r, const struct state_schema *sc, void *obj,
			 uint64_t *version);

static int decode_value(struct mp_rd *r, const struct state_field *f, void *obj, uint64_t *version)
{
	uint32_t m, b, c;
	int64_t i64;

	switch (f->kind) {
	case SK_STR:
		return rd_str(r, AT(obj, f, char), f->size);
	case SK_U64:
		return rd_u64(r, AT(obj, f, uint64_t));
	case SK_I64:
		return rd_i64(r, AT(obj, f, int64_t));
	case SK_U32:
		return rd_u32(r, AT(obj, f, uint32_t));
	case SK_BOOL:
		return mp_read_bool(r, AT(obj, f, bool)) < 0 ? LEDGER_ECORRUPT : 0;
	case SK_INT:
		TRY(rd_i64(r, &i64));
		if (i64 < f->min || i64 > f->top)
			return LEDGER_ECORRUPT;
		*AT(obj, f, int) = (int)i64;
		return 0;
	case SK_VERSION:
		TRY(rd_u64(r, version));
		return *version > LEDGER_SCHEMA_VERSION ? LEDGER_ESCHEMA : 0;
	case SK_MAP:
		return decode_struct(r, f->sub, AT(obj, f, char), version);
	case SK_LIST:
		TRY(rd_array(r, &m, f->max));
		for (uint32_t j = 0; j < m; j++)
			TRY(decode_struct(r, f->sub, AT(obj, f, char) + j * f->size, version));
		if (f->count_off != NO_COUNT)
			*(uint32_t *)((char *)obj + f->count_off) = m;
		return 0;
	case SK_U64S:
		TRY(rd_array(r, &m, f->max));
		for (uint32_t j = 0; j < m; j++)
			TRY(rd_u64(r, &AT(obj, f, uint64_t)[j]));
		return 0;
	case SK_INDEXES:
		TRY(rd_array(r, &m, f->max));
		for (uint32_t j = 0; j < m; j++) {
			TRY(rd_u32(r, &b));
			if (b >= f->max)
				return LEDGER_ECORRUPT;
			AT(obj, f, uint8_t)[j] = (uint8_t)b;
		}
		*(uint32_t *)((char *)obj + f->count_off) = m;
		return 0;
	case SK_SPARSE:
		if (mp_read_array(r, &m) < 0 || m % 2 || m > 2 * f->max)
			return LEDGER_ECORRUPT;
		for (uint32_t j = 0; j < m; j += 2) {
			TRY(rd_u32(r, &b));
			TRY(rd_u32(r, &c));
			if (b >= f->max)
				return LEDGER_ECORRUPT;
			AT(obj, f, uint32_t)[b] = c;
		}
		return 0;
	}
	return LEDGER_ECORRUPT;
}

/* A row written without KEY() has no keylen: it still matches, by strlen. */
static bool key_is(const struct state_field *f, const char *k, uint32_t klen)
{
	size_t l = f->keylen ? f->keylen : strlen(f->key);

	return l == klen && memcmp(f->key, k, klen) == 0;
}

static int decode_struct(struct mp_rd *r, const struct state_schema *sc, void *obj,
			 uint64_t *version)
{
	uint32_t n, klen;
	const char *k;

	if (sc->tuple) {
		if (mp_read_array(r, &n) < 0 || n != sc->n)
			return LEDGER_ECORRUPT;
		for (uint32_t i = 0; i < n; i++)
			TRY(decode_value(r, &sc->f[i], obj, version));
		return 0;
	}
	for (uint32_t i = 0; i < sc->n; i++)
		if (sc->f[i].kind == SK_INT)
			*AT(obj, &sc->f[i], int) = (int)sc->f[i].dflt;
	if (mp_read_map(r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		const struct state_field *f = NULL;

		if (mp_read_str(r, &k, &klen) < 0)
			return LEDGER_ECORRUPT;
		/* the encoder writes the keys in table order: try the i-th first */
		if (i < sc->n && key_is(&sc->f[i], k, klen))
			f = &sc->f[i];
		for (uint32_t j = 0; j < sc->n && !f; j++)
			if (key_is(&sc->f[j], k, klen))
				f = &sc->f[j];
		if (f)
			TRY(decode_value(r, f, obj, version));
		else if (mp_skip(r, LEDGER_MAX_DEPTH) < 0)
			return LEDGER_ECORRUPT;
	}
	return 0;
}

/* The in-flight records name services by their index in the table. */
static bool inflight_valid(const struct ledger_inflight *in, uint32_t nservices)
{
	for (uint32_t i = 0; i < in->nservices; i++)
		if (in->services[i] >= nservices)
			return false;
	return true;
}

int ledger_state_decode(const uint8_t *buf, size_t len, struct ledger_state *st)
{
	struct mp_rd r = {buf, buf + len};
	uint64_t version = 0;
	int rc;

	if (!st || (!buf && len))
		return LEDGER_EINVAL;
	rc = mp_validate(buf, len, STATE_MAX_BYTES, LEDGER_MAX_DEPTH, NULL, 0);
	if (rc < 0)
		return rc;
	ledger_state_init(st);
	rc = decode_struct(&r, &state_schema, st, &version);
	if (rc == 0 && (version == 0 || !inflight_valid(&st->inflight, st->nservices) ||
			!inflight_valid(&st->parent, st->nservices)))
		rc = LEDGER_ECORRUPT;
	if (rc < 0)
		ledger_state_init(st);
	return rc;
}

/* ---- equality ----------------------------------------------------------------------------- */

static bool equal_struct(const struct state_schema *sc, const void *a, const void *b);

/* Field by field, so that padding and bytes after a string's NUL never matter. */
static bool equal_value(const struct state_field *f, const void *a, const void *b)
{
	switch (f->kind) {
	case SK_STR:
		return strncmp(CAT(a, f, char), CAT(b, f, char), f->size) == 0;
	case SK_U64:
		return *CAT(a, f, uint64_t) == *CAT(b, f, uint64_t);
	case SK_I64:
		return *CAT(a, f, int64_t) == *CAT(b, f, int64_t);
	case SK_U32:
		return *CAT(a, f, uint32_t) == *CAT(b, f, uint32_t);
	case SK_BOOL:
		return *CAT(a, f, bool) == *CAT(b, f, bool);
	case SK_INT:
		return *CAT(a, f, int) == *CAT(b, f, int);
	case SK_VERSION:
		return true;
	case SK_MAP:
		return equal_struct(f->sub, CAT(a, f, char), CAT(b, f, char));
	case SK_LIST:
	case SK_INDEXES: {
		uint32_t n = f->max;

		if (f->count_off != NO_COUNT) {
			n = *(const uint32_t *)((const char *)a + f->count_off);
			if (n != *(const uint32_t *)((const char *)b + f->count_off) || n > f->max)
				return false;
		}
		if (f->kind == SK_INDEXES)
			return memcmp(CAT(a, f, uint8_t), CAT(b, f, uint8_t), n) == 0;
		for (uint32_t i = 0; i < n; i++)
			if (!equal_struct(f->sub, CAT(a, f, char) + i * f->size,
					  CAT(b, f, char) + i * f->size))
				return false;
		return true;
	}
	case SK_U64S:
		return memcmp(CAT(a, f, uint64_t), CAT(b, f, uint64_t),
			      f->max * sizeof(uint64_t)) == 0;
	case SK_SPARSE:
		return memcmp(CAT(a, f, uint32_t), CAT(b, f, uint32_t),
			      f->max * sizeof(uint32_t)) == 0;
	}
	return false;
}

static bool equal_struct(const struct state_schema *sc, const void *a, const void *b)
{
	for (uint32_t i = 0; i < sc->n; i++)
		if (!equal_value(&sc->f[i], a, b))
			return false;
	return true;
}

bool ledger_state_equal(const struct ledger_state *a, const struct ledger_state *b)
{
	if (!a || !b)
		return a == b;
	return equal_struct(&state_schema, a, b);
}
