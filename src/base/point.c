/* SPDX-License-Identifier: MIT */
#include "point.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <ledger/ledger.h>

#include "util.h"

/* Digits only (no sign, no space), at most INT64_MAX: sequences are int64 in JSON. */
static int parse_number(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (str_empty(s) || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > INT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

int point_parse(const char *arg, int64_t now, struct point *p)
{
	*p = (struct point){0};
	if (streq(arg, "now")) {
		p->kind = POINT_NOW;
		return 0;
	}
	if (str_startswith(arg, "seq:")) {
		p->kind = POINT_SEQ;
		return parse_number(arg + 4, &p->n) < 0 ? -EINVAL : 0;
	}
	if (parse_number(arg, &p->n) == 0) {
		p->kind = POINT_NUMBER;
		return 0;
	}
	if (parse_time_ns(arg, now, &p->time_ns) == 0) {
		p->kind = POINT_TIME;
		return 0;
	}
	return -ENOENT;
}

static int last_event(const struct ledger_event *ev, void *ud)
{
	*(uint64_t *)ud = ev->seq;
	return 0;
}

static uint64_t newest_op(struct ledger *lg)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	struct ledger_op_summary *rows = NULL;
	size_t n = 0;
	uint64_t op = 0;

	if (ledger_history(lg, &f, 1, &rows, &n) == 0 && n > 0)
		op = rows[0].number;
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	return op;
}

/* The operation that starts at event n: 1 with at->seq its last event, 0 when none starts
 * there, or a ledger code. */
static int resolve_op(struct ledger *lg, uint64_t n, struct point_at *at)
{
	uint64_t end = 0;
	int r = n ? ledger_op_events(lg, n, last_event, &end) : LEDGER_ENOTFOUND;

	if (r == LEDGER_ENOTFOUND || (r == 0 && end == 0))
		return 0;
	if (r < 0)
		return r;
	at->op = n;
	at->seq = end;
	return 1;
}

int point_resolve(struct ledger *lg, const struct point *p, enum point_number number,
		  struct point_at *at, char *err, size_t errlen)
{
	uint64_t n;
	int r;

	*at = (struct point_at){0};
	err[0] = '\0';
	r = ledger_last_seq(lg, &at->last);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the ledger");
		return r;
	}
	switch (p->kind) {
	case POINT_NOW:
		at->seq = at->last;
		return 0;
	case POINT_TIME:
		r = ledger_seek_time(lg, p->time_ns, &n);
		if (r < 0) {
			snprintf(err, errlen, "cannot search the ledger by time");
			return r;
		}
		at->seq = n > 0 ? n - 1 : 0;
		return 0;
	case POINT_NUMBER:
		if (number == POINT_NUMBER_SEQ)
			break;
		/* an operation by its number (1, 2, 3 ...); seq:N names an event */
		{
			uint64_t op = 0;

			r = p->n ? ledger_op_by_number(lg, p->n, &op) : LEDGER_ENOTFOUND;
			if (r == 0)
				r = resolve_op(lg, op, at);
			if (r == 1)
				at->number = p->n;
		}
		if (r == 1)
			return 0;
		if (r < 0 && r != LEDGER_ENOTFOUND) {
			snprintf(err, errlen, "cannot read the operation");
			return r;
		}
		snprintf(err, errlen,
			 "no operation %" PRIu64 " in this ledger (newest is %" PRIu64
			 "); see 'shiplog history', or write seq:%" PRIu64 " for event %" PRIu64,
			 p->n, newest_op(lg), p->n, p->n);
		return -ERANGE;
	case POINT_SEQ:
		break;
	}
	if (p->n > at->last) {
		snprintf(err, errlen, "no event %" PRIu64 " in this ledger (newest is %" PRIu64 ")",
			 p->n, at->last);
		return -ERANGE;
	}
	at->seq = p->n;
	return 0;
}
