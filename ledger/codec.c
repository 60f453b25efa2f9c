/* SPDX-License-Identifier: MIT */
/*
 * codec.c: a bounds-checked msgpack reader and the validating walk that runs before anything
 * is allocated. msgpack-c's own unpacker allocates from the declared counts (a 5-byte
 * "dd ff ff ff ff" asks it for 128 GiB), so decoding reads the validated bytes directly;
 * encoding uses msgpack-c's packer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct mp_head {
	enum mp_type type;
	uint64_t u; /* integer bits, bool value */
	bool neg;   /* MP_INT with a negative value */
	uint32_t n; /* payload bytes (str, bin, ext, float) or element count (array, map) */
};

static uint64_t be_read(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Reads one header. Payloads and container counts are checked against the bytes that remain:
 * each element takes at least one byte, so a count larger than that is corrupt, whatever it
 * claims. */
/* The headers of 0xc0..0xdf: the type, how many big-endian bytes follow the first (a value, a
 * length or a count), or a fixed payload. MP_BAD marks 0xc1, never used. */
static const struct {
	uint8_t type, extra, payload;
} mp_c0[32] = {
    [0x00] = {MP_NIL, 0, 0},	  [0x01] = {MP_BAD, 0, 0},     [0x02] = {MP_BOOL, 0, 0},
    [0x03] = {MP_BOOL, 0, 0},	  [0x04] = {MP_BIN, 1, 0},     [0x05] = {MP_BIN, 2, 0},
    [0x06] = {MP_BIN, 4, 0},	  [0x07] = {MP_EXT, 1, 0},     [0x08] = {MP_EXT, 2, 0},
    [0x09] = {MP_EXT, 4, 0},	  [0x0a] = {MP_FLOAT, 0, 4},   [0x0b] = {MP_FLOAT, 0, 8},
    [0x0c] = {MP_UINT, 1, 0},	  [0x0d] = {MP_UINT, 2, 0},    [0x0e] = {MP_UINT, 4, 0},
    [0x0f] = {MP_UINT, 8, 0},	  [0x10] = {MP_INT, 1, 0},     [0x11] = {MP_INT, 2, 0},
    [0x12] = {MP_INT, 4, 0},	  [0x13] = {MP_INT, 8, 0},     [0x14] = {MP_EXT, 0, 1 + 1},
    [0x15] = {MP_EXT, 0, 1 + 2},  [0x16] = {MP_EXT, 0, 1 + 4}, [0x17] = {MP_EXT, 0, 1 + 8},
    [0x18] = {MP_EXT, 0, 1 + 16}, [0x19] = {MP_STR, 1, 0},     [0x1a] = {MP_STR, 2, 0},
    [0x1b] = {MP_STR, 4, 0},	  [0x1c] = {MP_ARRAY, 2, 0},   [0x1d] = {MP_ARRAY, 4, 0},
    [0x1e] = {MP_MAP, 2, 0},	  [0x1f] = {MP_MAP, 4, 0},
}; /* fixext (0xd4..0xd8): the type byte and the data are the payload */

/* The first byte: its type, and the value, count or payload it holds itself or the number of
 * bytes that follow with them (*extra). LEDGER_ECORRUPT for 0xc1. */
static int mp_first_byte(uint8_t b, struct mp_head *h, int *extra, uint64_t *payload)
{
	if (b <= 0x7f) {
		h->type = MP_UINT;
		h->u = b;
	} else if (b <= 0x9f) {
		h->type = b <= 0x8f ? MP_MAP : MP_ARRAY;
		h->n = b & 0x0f;
	} else if (b <= 0xbf) {
		h->type = MP_STR;
		*payload = b & 0x1f;
	} else if (b >= 0xe0) {
		h->type = MP_INT;
		h->u = (uint64_t)(int64_t)(int8_t)b;
		h->neg = true;
	} else {
		h->type = (enum mp_type)mp_c0[b - 0xc0].type;
		if (h->type == MP_BAD)
			return LEDGER_ECORRUPT;
		h->u = b == 0xc3;
		*extra = mp_c0[b - 0xc0].extra;
		*payload = mp_c0[b - 0xc0].payload;
	}
	return 0;
}

/* The v read from the bytes after the first: an integer (sign-extended from its width), an ext
 * length (+ its type byte), a container count, or a str/bin length. */
static void mp_extra_apply(struct mp_head *h, uint64_t v, int extra, uint64_t *payload)
{
	switch (h->type) {
	case MP_UINT:
		h->u = v;
		break;
	case MP_INT:
		h->u = extra == 1   ? (uint64_t)(int64_t)(int8_t)v
		       : extra == 2 ? (uint64_t)(int64_t)(int16_t)v
		       : extra == 4 ? (uint64_t)(int64_t)(int32_t)v
				    : v;
		h->neg = (int64_t)h->u < 0;
		break;
	case MP_EXT:
		*payload = v + 1; /* + the type byte */
		break;
	case MP_ARRAY:
	case MP_MAP:
		h->n = (uint32_t)v;
		break;
	default: /* str, bin */
		*payload = v;
		break;
	}
}

/* Every header the fast path below does not take. */
static int mp_head_read_slow(struct mp_rd *r, struct mp_head *h)
{
	const uint8_t *p = r->p;
	size_t avail = (size_t)(r->end - p);
	int extra = 0; /* header bytes after the first */
	uint64_t payload = 0;

	if (avail == 0)
		return LEDGER_ECORRUPT;
	memset(h, 0, sizeof(*h));
	if (mp_first_byte(p[0], h, &extra, &payload) < 0)
		return LEDGER_ECORRUPT;
	if ((size_t)extra + 1 > avail)
		return LEDGER_ECORRUPT;
	if (extra)
		mp_extra_apply(h, be_read(p + 1, extra), extra, &payload);
	p += 1 + extra;
	avail -= 1 + (size_t)extra;

	switch (h->type) {
	case MP_STR:
	case MP_BIN:
	case MP_EXT:
	case MP_FLOAT:
		if (payload > avail)
			return LEDGER_ECORRUPT;
		h->n = (uint32_t)payload;
		break;
	case MP_ARRAY:
		if (h->n > avail)
			return LEDGER_ECORRUPT;
		break;
	case MP_MAP:
		if ((uint64_t)h->n * 2 > avail)
			return LEDGER_ECORRUPT;
		break;
	default:
		break;
	}
	r->p = p;
	return 0;
}

static inline int mp_head_read(struct mp_rd *r, struct mp_head *h)
{
	if (r->p < r->end) {
		uint8_t b = r->p[0];
		size_t avail = (size_t)(r->end - r->p - 1);

		if (b <= 0x7f) {
			h->type = MP_UINT;
			h->u = b;
			h->neg = false;
			h->n = 0;
			r->p++;
			return 0;
		}
		if ((b & 0xe0) == 0xa0 && (b & 0x1f) <= avail) {
			h->type = MP_STR;
			h->n = b & 0x1f;
			r->p++;
			return 0;
		}
		if ((b & 0xf0) == 0x80 && (size_t)(b & 0x0f) * 2 <= avail) {
			h->type = MP_MAP;
			h->n = b & 0x0f;
			r->p++;
			return 0;
		}
		if ((b & 0xf0) == 0x90 && (size_t)(b & 0x0f) <= avail) {
			h->type = MP_ARRAY;
			h->n = b & 0x0f;
			r->p++;
			return 0;
		}
		if (b == 0xc2 || b == 0xc3) {
			h->type = MP_BOOL;
			h->u = b == 0xc3;
			h->n = 0;
			r->p++;
			return 0;
		}
		if (b >= 0xcc && b <= 0xcf) {
			uint64_t u;

			if (mp_read_uint_fixed(r, &u) < 0)
				return LEDGER_ECORRUPT;
			h->type = MP_UINT;
			h->u = u;
			h->neg = false;
			h->n = 0;
			return 0;
		}
	}
	return mp_head_read_slow(r, h);
}

static int mp_expect(struct mp_rd *r, enum mp_type t, struct mp_head *h)
{
	struct mp_rd c = *r;
	int rc = mp_head_read(&c, h);

	if (rc < 0)
		return rc;
	if (h->type != t && !(t == MP_UINT && h->type == MP_INT))
		return -EINVAL;
	*r = c;
	return 0;
}

int mp_read_nil(struct mp_rd *r)
{
	struct mp_head h;

	return mp_expect(r, MP_NIL, &h);
}

int mp_read_bool(struct mp_rd *r, bool *v)
{
	struct mp_head h;
	int rc = mp_expect(r, MP_BOOL, &h);

	if (rc == 0)
		*v = h.u != 0;
	return rc;
}

int mp_read_int(struct mp_rd *r, bool *neg, uint64_t *v)
{
	struct mp_head h;
	int rc = mp_expect(r, MP_UINT, &h);

	if (rc == 0) {
		*neg = h.neg;
		*v = h.u;
	}
	return rc;
}

int mp_read_u64_slow(struct mp_rd *r, uint64_t *v)
{
	struct mp_rd c = *r;
	bool neg;
	uint64_t u;
	int rc = mp_read_int(&c, &neg, &u);

	if (rc < 0)
		return rc;
	if (neg)
		return -ERANGE;
	*v = u;
	*r = c;
	return 0;
}

int mp_read_i64_slow(struct mp_rd *r, int64_t *v)
{
	struct mp_rd c = *r;
	bool neg;
	uint64_t u;
	int rc = mp_read_int(&c, &neg, &u);

	if (rc < 0)
		return rc;
	if (!neg && u > (uint64_t)INT64_MAX)
		return -ERANGE;
	*v = (int64_t)u;
	*r = c;
	return 0;
}

int mp_read_str_slow(struct mp_rd *r, const char **s, uint32_t *n)
{
	struct mp_head h;
	int rc = mp_expect(r, MP_STR, &h);

	if (rc < 0)
		return rc;
	*s = (const char *)r->p;
	*n = h.n;
	r->p += h.n;
	return 0;
}

int mp_read_array(struct mp_rd *r, uint32_t *n)
{
	struct mp_head h;
	int rc = mp_expect(r, MP_ARRAY, &h);

	if (rc == 0)
		*n = h.n;
	return rc;
}

int mp_read_map_slow(struct mp_rd *r, uint32_t *n)
{
	struct mp_head h;
	int rc = mp_expect(r, MP_MAP, &h);

	if (rc == 0)
		*n = h.n;
	return rc;
}

/* depth: how many more container levels are allowed. */
int mp_skip(struct mp_rd *r, int depth)
{
	struct mp_head h;
	uint64_t elems;
	int rc = mp_head_read(r, &h);

	if (rc < 0)
		return rc;
	switch (h.type) {
	case MP_STR:
	case MP_BIN:
	case MP_EXT:
	case MP_FLOAT:
		r->p += h.n;
		return 0;
	case MP_ARRAY:
	case MP_MAP:
		if (depth <= 0)
			return LEDGER_ETOOBIG;
		elems = h.type == MP_MAP ? (uint64_t)h.n * 2 : h.n;
		for (uint64_t i = 0; i < elems; i++) {
			rc = mp_skip(r, depth - 1);
			if (rc < 0)
				return rc;
		}
		return 0;
	default:
		return 0;
	}
}

int mp_validate(const uint8_t *buf, size_t len, size_t max_bytes, int max_depth, char *err,
		size_t errlen)
{
	struct mp_rd r = {buf, buf + len};
	int rc;

	if (len > max_bytes) {
		errfmt(err, errlen, "%zu bytes, over the limit of %zu", len, max_bytes);
		return LEDGER_ETOOBIG;
	}
	if (len == 0 || !buf) {
		errfmt(err, errlen, "empty input");
		return LEDGER_ECORRUPT;
	}
	rc = mp_skip(&r, max_depth);
	if (rc == LEDGER_ETOOBIG) {
		errfmt(err, errlen, "nested deeper than %d levels", max_depth);
		return rc;
	}
	if (rc < 0) {
		errfmt(err, errlen, "malformed or truncated msgpack at byte %zu",
		       (size_t)(r.p - buf));
		return LEDGER_ECORRUPT;
	}
	if (r.p != r.end) {
		errfmt(err, errlen, "%zu trailing bytes after the value", (size_t)(r.end - r.p));
		return LEDGER_ECORRUPT;
	}
	return 0;
}

/* ---- arena -------------------------------------------------------------------------------- */

struct arena_blk {
	struct arena_blk *next;
	size_t cap;
	size_t used;
	_Alignas(16) char data[];
};

struct arena {
	struct arena_blk *extra; /* overflow blocks, newest first */
	size_t cap;
	size_t used;
	_Alignas(16) char data[];
};

struct arena *arena_new(size_t hint)
{
	struct arena *a;

	if (hint < 256)
		hint = 256;
	a = malloc(sizeof(*a) + hint);
	if (!a)
		return NULL;
	a->extra = NULL;
	a->cap = hint;
	a->used = 0;
	return a;
}

void arena_reset(struct arena *a)
{
	struct arena_blk *b, *n;

	if (!a)
		return;
	for (b = a->extra; b; b = n) {
		n = b->next;
		free(b);
	}
	a->extra = NULL;
	a->used = 0;
}

void arena_free(struct arena *a)
{
	arena_reset(a);
	free(a);
}

static void *bump(char *data, size_t cap, size_t *used, size_t n, size_t align)
{
	size_t off = (*used + align - 1) & ~(align - 1);

	if (off > cap || n > cap - off)
		return NULL;
	*used = off + n;
	return data + off;
}

void *arena_alloc(struct arena *a, size_t n, size_t align)
{
	struct arena_blk *b;
	size_t cap;
	void *p;

	p = bump(a->data, a->cap, &a->used, n, align);
	if (p)
		return p;
	if (a->extra) {
		p = bump(a->extra->data, a->extra->cap, &a->extra->used, n, align);
		if (p)
			return p;
	}
	cap = a->extra ? a->extra->cap * 2 : a->cap * 2;
	if (cap < n + align)
		cap = n + align;
	b = malloc(sizeof(*b) + cap);
	if (!b)
		return NULL;
	b->cap = cap;
	b->used = 0;
	b->next = a->extra;
	a->extra = b;
	return bump(b->data, b->cap, &b->used, n, align);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1, 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ---- text --------------------------------------------------------------------------------- */

void errfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void str_copy(char *dst, size_t n, const char *src)
{
	size_t l = src ? strnlen(src, n - 1) : 0;

	if (l)
		memcpy(dst, src, l);
	memset(dst + l, 0, n - l);
}
