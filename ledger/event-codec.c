/* SPDX-License-Identifier: MIT */
/*
 * event-codec.c: events as msgpack, driven by the type table (event-types.c).
 *
 * Wire format: a msgpack map. Envelope keys "v" (schema), "t" (type name), "ts" (ns), "op",
 * "a" (actor), always first so ledger_event_peek() can stop early; then the type's fields. Zero
 * numbers, false, empty strings and empty lists are left out: a missing key decodes as that
 * zero value, so the round trip is exact.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool field_is_zero(const struct ledger_event *ev, const struct ledger_field *f)
{
	return field_value_is_zero(f, ledger_event_field(ev, f));
}

/* ---- encode ------------------------------------------------------------------------------- */

static void pack_key(msgpack_packer *pk, const char *k)
{
	size_t n = strlen(k);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, k, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	msgpack_pack_str(pk, n);
	if (n)
		msgpack_pack_str_body(pk, s, n);
}

static void pack_field(msgpack_packer *pk, const struct ledger_event *ev,
		       const struct ledger_field *f)
{
	pack_key(pk, f->key);
	switch (f->kind) {
	case F_STR:
		pack_cstr(pk, *CFIELD(ev, f, cstr));
		break;
	case F_STRV: {
		const struct ledger_strv *sv = CFIELD(ev, f, struct ledger_strv);

		msgpack_pack_array(pk, sv->n);
		for (uint32_t i = 0; i < sv->n; i++)
			pack_cstr(pk, sv->v[i]);
		break;
	}
	case F_U64:
		msgpack_pack_uint64(pk, *CFIELD(ev, f, uint64_t));
		break;
	case F_I64:
		msgpack_pack_int64(pk, *CFIELD(ev, f, int64_t));
		break;
	case F_U32:
		msgpack_pack_uint32(pk, *CFIELD(ev, f, uint32_t));
		break;
	case F_I32:
		msgpack_pack_int32(pk, *CFIELD(ev, f, int32_t));
		break;
	case F_BOOL:
		if (*CFIELD(ev, f, bool))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case F_RUNTIME:
		pack_cstr(pk, ledger_runtime_name(*CFIELD(ev, f, enum ledger_runtime)));
		break;
	case F_OUTCOME:
		pack_cstr(pk, ledger_outcome_name(*CFIELD(ev, f, enum ledger_outcome)));
		break;
	}
}

int ledger_event_encode(const struct ledger_event *ev, uint8_t **out, size_t *out_len)
{
	const struct event_type *et;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = 5;
	int rc;

	if (!out || !out_len)
		return LEDGER_EINVAL;
	rc = event_check(ev, NULL, 0);
	if (rc < 0)
		return rc;
	et = &event_types[ev->type];
	for (size_t i = 0; i < et->nfields; i++)
		n += !field_is_zero(ev, &et->fields[i]);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	pack_key(&pk, "v");
	msgpack_pack_uint32(&pk, LEDGER_SCHEMA_VERSION);
	pack_key(&pk, "t");
	pack_cstr(&pk, et->name);
	pack_key(&pk, "ts");
	msgpack_pack_int64(&pk, ev->time_ns);
	pack_key(&pk, "op");
	msgpack_pack_uint64(&pk, ev->op);
	pack_key(&pk, "a");
	pack_cstr(&pk, ev->actor);
	for (size_t i = 0; i < et->nfields; i++)
		if (!field_is_zero(ev, &et->fields[i]))
			pack_field(&pk, ev, &et->fields[i]);

	/* msgpack_sbuffer_write returns -1 on allocation failure, and the packer ignores it:
	 * a short buffer shows as no data. */
	if (!sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	if (sb.size > LEDGER_EVENT_MAX_BYTES) {
		msgpack_sbuffer_destroy(&sb);
		return LEDGER_ETOOBIG;
	}
	*out_len = sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&sb);
	return 0;
}

/* ---- decode ------------------------------------------------------------------------------- */

static const char empty[] = "";

/* The error of a value that is not of field f's kind: malformed (rc LEDGER_ECORRUPT), out of
 * range (-ERANGE), or of another type. */
static int field_type_error(int rc, const struct ledger_field *f, const char *tname, char *err,
			    size_t errlen)
{
	if (rc == LEDGER_ECORRUPT) {
		errfmt(err, errlen, "%s: key '%s': malformed value", tname, f->key);
		return rc;
	}
	errfmt(err, errlen, "%s: key '%s': %s", tname, f->key,
	       rc == -ERANGE	      ? "integer out of range"
	       : f->kind == F_STR     ? "expected a string"
	       : f->kind == F_STRV    ? "expected a list of strings"
	       : f->kind == F_BOOL    ? "expected a boolean"
	       : f->kind == F_RUNTIME ? "expected a runtime name"
	       : f->kind == F_OUTCOME ? "expected an outcome name"
				      : "expected an integer");
	return LEDGER_ECORRUPT;
}

static int decode_strv(struct mp_rd *r, struct ledger_event *ev, const struct ledger_field *f,
		       struct arena *a, const char *tname, char *err, size_t errlen)
{
	struct ledger_strv *sv = FIELD(ev, f, struct ledger_strv);
	const char **v, *e;
	uint32_t n, en;
	int rc;

	rc = mp_read_array(r, &n);
	if (rc < 0)
		return field_type_error(rc, f, tname, err, errlen);
	if (n > LEDGER_MAX_LIST) {
		errfmt(err, errlen, "%s: key '%s': %u elements, over the limit of %u", tname,
		       f->key, n, LEDGER_MAX_LIST);
		return LEDGER_ETOOBIG;
	}
	v = arena_alloc(a, (n ? n : 1) * sizeof(*v), sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		if (mp_read_str(r, &e, &en) < 0) {
			errfmt(err, errlen, "%s: key '%s': element %u is not a string", tname,
			       f->key, k);
			return LEDGER_ECORRUPT;
		}
		v[k] = arena_strndup(a, e, en);
		if (!v[k])
			return -ENOMEM;
	}
	sv->n = n;
	sv->v = v;
	return 0;
}

/* A runtime or an outcome, stored by name. */
static int decode_name(struct mp_rd *r, struct ledger_event *ev, const struct ledger_field *f,
		       const char *tname, char *err, size_t errlen)
{
	const char *s;
	uint32_t n;
	int rc;

	rc = mp_read_str(r, &s, &n);
	if (rc < 0)
		return field_type_error(rc, f, tname, err, errlen);
	rc = f->kind == F_RUNTIME ? runtime_from_bytes(s, n) : outcome_from_bytes(s, n);
	if (rc < 0 || (f->kind == F_OUTCOME && rc == LEDGER_OUT_NONE)) {
		errfmt(err, errlen, "%s: key '%s': unknown %s '%.*s'", tname, f->key,
		       f->kind == F_RUNTIME ? "runtime" : "outcome", (int)(n > 32 ? 32 : n), s);
		return LEDGER_ECORRUPT;
	}
	if (f->kind == F_RUNTIME)
		*FIELD(ev, f, enum ledger_runtime) = (enum ledger_runtime)rc;
	else
		*FIELD(ev, f, enum ledger_outcome) = (enum ledger_outcome)rc;
	return 0;
}

/* The integer kinds: 0, or the reader's code, or -ERANGE when it does not fit the field. */
static int decode_int(struct mp_rd *r, struct ledger_event *ev, const struct ledger_field *f)
{
	uint64_t u;
	int64_t i;
	int rc;

	if (f->kind == F_U64 || f->kind == F_U32) {
		rc = mp_read_u64(r, &u);
		if (rc == 0 && f->kind == F_U32 && u > UINT32_MAX)
			rc = -ERANGE;
		if (rc == 0 && f->kind == F_U64)
			*FIELD(ev, f, uint64_t) = u;
		else if (rc == 0)
			*FIELD(ev, f, uint32_t) = (uint32_t)u;
		return rc;
	}
	rc = mp_read_i64(r, &i);
	if (rc == 0 && f->kind == F_I32 && (i < INT32_MIN || i > INT32_MAX))
		rc = -ERANGE;
	if (rc == 0 && f->kind == F_I64)
		*FIELD(ev, f, int64_t) = i;
	else if (rc == 0)
		*FIELD(ev, f, int32_t) = (int32_t)i;
	return rc;
}

static int decode_field(struct mp_rd *r, struct ledger_event *ev, const struct ledger_field *f,
			struct arena *a, const char *tname, char *err, size_t errlen)
{
	const char *s;
	uint32_t n;
	int rc = 0;

	if (mp_is_nil(r)) {
		/* nil is the zero value of any field */
		mp_read_nil(r);
		if (f->kind == F_STR)
			*FIELD(ev, f, const char *) = empty;
		return 0;
	}
	switch (f->kind) {
	case F_STR:
		rc = mp_read_str(r, &s, &n);
		if (rc < 0)
			break;
		s = arena_strndup(a, s, n);
		if (!s)
			return -ENOMEM;
		*FIELD(ev, f, const char *) = s;
		return 0;
	case F_STRV:
		return decode_strv(r, ev, f, a, tname, err, errlen);
	case F_RUNTIME:
	case F_OUTCOME:
		return decode_name(r, ev, f, tname, err, errlen);
	case F_BOOL:
		rc = mp_read_bool(r, FIELD(ev, f, bool));
		break;
	case F_U64:
	case F_U32:
	case F_I64:
	case F_I32:
		rc = decode_int(r, ev, f);
		break;
	}
	return rc < 0 ? field_type_error(rc, f, tname, err, errlen) : 0;
}

/* Every string field of the type set to "" so that callers can print any of them. */
static void event_fill_defaults(struct ledger_event *ev)
{
	const struct event_type *et = &event_types[ev->type];

	ev->actor = empty;
	if (!ev->type_name)
		ev->type_name = empty;
	for (size_t i = 0; i < et->nfields; i++)
		if (et->fields[i].kind == F_STR)
			*FIELD(ev, &et->fields[i], const char *) = empty;
}

/* An envelope key: 0 handled, 1 not an envelope key, < 0 error. */
static int decode_envelope(struct mp_rd *r, struct ledger_event *ev, const char *k, uint32_t klen,
			   struct arena *a, const char **tname, uint32_t *tlen, char *err,
			   size_t errlen)
{
	uint64_t u;

	if (klen > 2)
		return 1;
	if (mp_key_is(k, klen, "v")) {
		if (mp_read_u64(r, &u) < 0 || u == 0 || u > UINT32_MAX) {
			errfmt(err, errlen, "key 'v': expected a schema version");
			return LEDGER_ECORRUPT;
		}
		if (u > LEDGER_SCHEMA_VERSION) {
			errfmt(err, errlen, "schema version %llu is newer than %d",
			       (unsigned long long)u, LEDGER_SCHEMA_VERSION);
			return LEDGER_ESCHEMA;
		}
		ev->version = (uint32_t)u;
	} else if (mp_key_is(k, klen, "t")) {
		if (mp_read_str(r, tname, tlen) < 0 || *tlen == 0) {
			errfmt(err, errlen, "key 't': expected a type name");
			return LEDGER_ECORRUPT;
		}
	} else if (mp_key_is(k, klen, "ts")) {
		if (mp_read_i64(r, &ev->time_ns) < 0) {
			errfmt(err, errlen, "key 'ts': expected an integer");
			return LEDGER_ECORRUPT;
		}
	} else if (mp_key_is(k, klen, "op")) {
		if (mp_read_u64(r, &ev->op) < 0) {
			errfmt(err, errlen, "key 'op': expected an unsigned integer");
			return LEDGER_ECORRUPT;
		}
	} else if (mp_key_is(k, klen, "a")) {
		const char *s;
		uint32_t n;

		if (mp_read_str(r, &s, &n) < 0) {
			errfmt(err, errlen, "key 'a': expected a string");
			return LEDGER_ECORRUPT;
		}
		ev->actor = arena_strndup(a, s, n);
		if (!ev->actor)
			return -ENOMEM;
	} else {
		return 1;
	}
	return 0;
}

/* Once the type is known: its name copied, every string field "". */
static int decode_set_type(struct ledger_event *ev, const char *tname, uint32_t tlen,
			   struct arena *a)
{
	const char *actor = ev->actor;

	ev->type = event_type_from_bytes(tname, tlen);
	ev->type_name = arena_strndup(a, tname, tlen);
	if (!ev->type_name)
		return -ENOMEM;
	event_fill_defaults(ev);
	if (actor)
		ev->actor = actor;
	return 0;
}

/* Skips a value inside the event's map: one level is the map itself. */
static int skip_value(struct mp_rd *r, char *err, size_t errlen)
{
	int rc = mp_skip(r, LEDGER_MAX_DEPTH - 1);

	if (rc == LEDGER_ETOOBIG) {
		errfmt(err, errlen, "nested deeper than %d levels", LEDGER_MAX_DEPTH);
		return rc;
	}
	if (rc < 0) {
		errfmt(err, errlen, "malformed or truncated msgpack");
		return LEDGER_ECORRUPT;
	}
	return 0;
}

static int decode_type_field(struct mp_rd *r, struct ledger_event *ev, const char *k, uint32_t klen,
			     struct arena *a, char *err, size_t errlen)
{
	const struct event_type *et = &event_types[ev->type];

	for (size_t j = 0; j < et->nfields; j++) {
		const struct ledger_field *f = &et->fields[j];

		if (f->keylen == klen && memcmp(f->key, k, klen) == 0)
			return decode_field(r, ev, f, a, et->name, err, errlen);
	}
	return skip_value(r, err, errlen);
}

/* The second pass over an event whose fields came before its "t" (the first pass read the
 * envelope and the type; the bytes were checked then): the type's fields. */
static int decode_rescan(const uint8_t *buf, size_t len, struct ledger_event *ev, struct arena *a,
			 char *err, size_t errlen)
{
	struct mp_rd r = {buf, buf + len};
	struct ledger_event scratch;
	const char *k, *t2;
	uint32_t nkeys, klen, t2len;
	int rc;

	mp_read_map(&r, &nkeys);
	for (uint32_t i = 0; i < nkeys; i++) {
		mp_read_str(&r, &k, &klen);
		if (klen <= 2 && (mp_key_is(k, klen, "v") || mp_key_is(k, klen, "t") ||
				  mp_key_is(k, klen, "ts") || mp_key_is(k, klen, "op") ||
				  mp_key_is(k, klen, "a"))) {
			/* decoded already: read again into a scratch event to pass it */
			memset(&scratch, 0, sizeof(scratch));
			rc = decode_envelope(&r, &scratch, k, klen, a, &t2, &t2len, err, errlen);
		} else {
			rc = decode_type_field(&r, ev, k, klen, a, err, errlen);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int event_decode_into(const uint8_t *buf, size_t len, struct ledger_event *ev, struct arena *a,
		      char *err, size_t errlen)
{
	struct mp_rd r = {buf, buf + len};
	const char *tname = NULL, *k;
	uint32_t tlen = 0, nkeys, klen;
	bool typed = false, rescan = false;
	int rc;

	memset(ev, 0, sizeof(*ev));
	/* No separate validating walk: every read below is bounds-checked (a declared length or
	 * count never exceeds the bytes left), lists are capped before anything is allocated,
	 * skipped values are depth-limited, and the trailing-bytes check closes the loop. */
	if (len > LEDGER_EVENT_MAX_BYTES) {
		errfmt(err, errlen, "%zu bytes, over the limit of %u", len, LEDGER_EVENT_MAX_BYTES);
		return LEDGER_ETOOBIG;
	}
	if (mp_read_map(&r, &nkeys) < 0) {
		errfmt(err, errlen, "an event is a map");
		return LEDGER_ECORRUPT;
	}

	/* One pass when the type comes before its fields (as this encoder writes it); a field
	 * met before "t" sends us round a second time. */
	for (uint32_t i = 0; i < nkeys; i++) {
		if (mp_read_str(&r, &k, &klen) < 0) {
			errfmt(err, errlen, "map key %u is not a string", i);
			return LEDGER_ECORRUPT;
		}
		rc = decode_envelope(&r, ev, k, klen, a, &tname, &tlen, err, errlen);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (tname && !typed) {
				rc = decode_set_type(ev, tname, tlen, a);
				if (rc < 0)
					return rc;
				typed = true;
			}
			continue;
		}
		if (!typed) {
			rescan = true;
			rc = skip_value(&r, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		if (ev->type == LEDGER_EV_UNKNOWN) {
			rc = skip_value(&r, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = decode_type_field(&r, ev, k, klen, a, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (r.p != r.end) {
		errfmt(err, errlen, "%zu trailing bytes after the event", (size_t)(r.end - r.p));
		return LEDGER_ECORRUPT;
	}
	if (!ev->version || !typed) {
		errfmt(err, errlen, "missing key '%s'", ev->version ? "t" : "v");
		return LEDGER_ECORRUPT;
	}
	if (ev->type == LEDGER_EV_UNKNOWN)
		return 0; /* kept as it is: the envelope is all we know */

	if (rescan) {
		rc = decode_rescan(buf, len, ev, a, err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = event_check_fields(ev, err, errlen);
	if (rc < 0)
		return rc == LEDGER_EINVAL ? LEDGER_ECORRUPT : rc;
	return 0;
}

int ledger_event_decode(const uint8_t *buf, size_t len, struct ledger_event *ev, char *errbuf,
			size_t errlen)
{
	struct arena *a;
	int rc;

	if (!ev)
		return LEDGER_EINVAL;
	memset(ev, 0, sizeof(*ev));
	if (!buf && len)
		return LEDGER_EINVAL;
	if (len > LEDGER_EVENT_MAX_BYTES) {
		errfmt(errbuf, errlen, "%zu bytes, over the limit of %u", len,
		       LEDGER_EVENT_MAX_BYTES);
		return LEDGER_ETOOBIG;
	}
	a = arena_new(len + 128);
	if (!a)
		return -ENOMEM;
	rc = event_decode_into(buf, len, ev, a, errbuf, errlen);
	if (rc < 0) {
		arena_free(a);
		memset(ev, 0, sizeof(*ev));
		return rc;
	}
	ev->_arena = a;
	return 0;
}

void ledger_event_release(struct ledger_event *ev)
{
	if (!ev)
		return;
	arena_free(ev->_arena);
	memset(ev, 0, sizeof(*ev));
}

bool event_starts_op(const uint8_t *buf, size_t len, enum ledger_event_type t, uint64_t op,
		     uint64_t seq)
{
	struct mp_rd r = {buf, buf + len};
	uint32_t nkeys, klen;
	const char *k;

	if (t == LEDGER_EV_OP_REQUESTED)
		return true;
	if (t == LEDGER_EV_OP_REFUSED)
		return op == seq;
	if (t != LEDGER_EV_FLEET_STARTED || mp_read_map(&r, &nkeys) < 0)
		return false;
	for (uint32_t i = 0; i < nkeys; i++) {
		uint64_t n;

		if (mp_read_str(&r, &k, &klen) < 0)
			return false;
		if (mp_key_is(k, klen, "n"))
			return mp_read_u64(&r, &n) == 0 && n > 0;
		if (mp_skip(&r, LEDGER_MAX_DEPTH) < 0)
			return false;
	}
	return false;
}

int ledger_event_peek(const uint8_t *buf, size_t len, enum ledger_event_type *type, uint64_t *op,
		      int64_t *time_ns)
{
	struct mp_rd r = {buf, buf + len};
	uint32_t nkeys, klen;
	const char *k;
	int found = 0;
	bool have_t = false;

	if (!buf || len == 0)
		return LEDGER_ECORRUPT;
	if (len > LEDGER_EVENT_MAX_BYTES)
		return LEDGER_ETOOBIG;
	if (mp_read_map(&r, &nkeys) < 0)
		return LEDGER_ECORRUPT;
	if (type)
		*type = LEDGER_EV_UNKNOWN;
	if (op)
		*op = 0;
	if (time_ns)
		*time_ns = 0;
	for (uint32_t i = 0; i < nkeys && found < 3; i++) {
		if (mp_read_str(&r, &k, &klen) < 0)
			return LEDGER_ECORRUPT;
		if (mp_key_is(k, klen, "t")) {
			const char *s;
			uint32_t n;

			if (mp_read_str(&r, &s, &n) < 0)
				return LEDGER_ECORRUPT;
			if (type)
				*type = event_type_from_bytes(s, n);
			have_t = true;
			found++;
		} else if (mp_key_is(k, klen, "op")) {
			uint64_t u;

			if (mp_read_u64(&r, &u) < 0)
				return LEDGER_ECORRUPT;
			if (op)
				*op = u;
			found++;
		} else if (mp_key_is(k, klen, "ts")) {
			int64_t t;

			if (mp_read_i64(&r, &t) < 0)
				return LEDGER_ECORRUPT;
			if (time_ns)
				*time_ns = t;
			found++;
		} else if (mp_skip(&r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return have_t ? 0 : LEDGER_ECORRUPT;
}
