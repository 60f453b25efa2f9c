/* SPDX-License-Identifier: MIT */
/* A point in the ledger as people write it, one grammar for every command that takes one
 * (`state --at`, `diff A B`, `rollback --to`):
 *   now      the newest event
 *   seq:N    the state after event N (0 = the empty ledger)
 *   N        a bare number: an operation number (1, 2, 3 ... as `history` shows them), the
 *            state after its last event; only `state --at` reads it as a sequence (enum
 *            point_number), as it always has
 *   TIME     RFC 3339 (2026-11-27T08:00:00Z) or an age (90m, 2h, 3d): the state after the last
 *            event before it
 * Parsing needs nothing but the text; resolving reads the ledger. */
#ifndef SHIPLOG_POINT_H
#define SHIPLOG_POINT_H

#include <stddef.h>
#include <stdint.h>

struct ledger;

enum point_kind { POINT_NOW, POINT_SEQ, POINT_NUMBER, POINT_TIME };

struct point {
	enum point_kind kind;
	uint64_t n;	 /* POINT_SEQ, POINT_NUMBER */
	int64_t time_ns; /* POINT_TIME: absolute, ns since the epoch */
};

/* Parses arg; an age counts back from now (ns since the epoch). Returns 0 with *p set;
 * -EINVAL when arg starts with "seq:" but no number follows (p->kind is POINT_SEQ then);
 * -ENOENT when arg has none of the forms (rollback then reads it as a git ref). */
int point_parse(const char *arg, int64_t now, struct point *p);

/* What a bare number means to the command. */
enum point_number {
	POINT_NUMBER_SEQ, /* a sequence (state --at) */
	POINT_NUMBER_OP,  /* an operation number (diff, rollback --to) */
};

/* A point resolved against one ledger. */
struct point_at {
	uint64_t seq;	 /* the state after this event is the one the point names (0: the empty
			  * ledger, e.g. a time before the first event) */
	uint64_t op;	 /* the operation the point named, its id (0: it named none) */
	uint64_t number; /* ... and its number (1, 2, 3 ...; 0: none) */
	uint64_t last;	 /* the newest sequence when it was resolved */
};

/* Resolves p in lg: an operation is the state after its last event. Returns 0; -ERANGE when the
 * point is not in the ledger (a sequence past the newest, no operation N), with err saying so
 * ("no event 999 in this ledger (newest is 51)"); a ledger code when a read failed, with err
 * saying which ("cannot read the operation"). err is never prefixed with a command name. */
int point_resolve(struct ledger *lg, const struct point *p, enum point_number number,
		  struct point_at *at, char *err, size_t errlen);

#endif
