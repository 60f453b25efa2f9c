/* SPDX-License-Identifier: MIT */
#include "reads.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "point.h"
#include "text.h"
#include "util.h"

int reads_ledger_fail(const struct cmd_entry *c, struct ledger *lg, int r, const char *what,
		      uint64_t seq)
{
	const char *detail = lg ? ledger_errmsg(lg) : "";

	if (r == LEDGER_ECORRUPT || r == LEDGER_ETOOBIG || r == LEDGER_ESCHEMA) {
		if (seq)
			log_error("%s: event %" PRIu64 " of the ledger is unreadable (%s%s%s); run "
				  "'shiplog ledger verify'",
				  c->name, seq, ledger_strerror(r), str_empty(detail) ? "" : ": ",
				  detail);
		else
			log_error(
			    "%s: the ledger is unreadable (%s%s%s); run 'shiplog ledger verify'",
			    c->name, ledger_strerror(r), str_empty(detail) ? "" : ": ", detail);
		return r;
	}
	log_error("%s: %s: %s%s%s", c->name, what, ledger_strerror(r),
		  str_empty(detail) ? "" : ": ", detail);
	return r;
}

uint64_t reads_newest_op(struct ledger *lg)
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

int reads_check_point(const struct cmd_entry *c, const char *arg, bool ops)
{
	struct point p;
	int r = point_parse(arg, now_ns(), &p);

	if (r == -EINVAL) {
		log_error("%s: bad sequence '%s': expected seq:N with N a number", c->name, arg);
		return SL_EUSAGE;
	}
	if (r < 0) {
		log_error("%s: bad point '%s': use %s, a sequence (seq:120), RFC 3339 time "
			  "(2026-11-27T08:00:00Z) or an age like 90m, 2h, 3d",
			  c->name, arg,
			  ops ? "an operation number (12)" : "a sequence number (120)");
		return SL_EUSAGE;
	}
	return 0;
}

int reads_resolve_point(const struct cmd_entry *c, struct ledger *lg, const char *arg, bool ops,
			uint64_t *seq, char *desc, size_t desclen)
{
	struct point p;
	struct point_at at;
	char err[256];
	int r;

	if (reads_check_point(c, arg, ops) < 0)
		return SL_EUSAGE;
	point_parse(arg, now_ns(), &p);
	r = point_resolve(lg, &p, ops ? POINT_NUMBER_OP : POINT_NUMBER_SEQ, &at, err, sizeof(err));
	if (r == -ERANGE) {
		log_error("%s: %s", c->name, err);
		return SL_EUSAGE;
	}
	if (r < 0)
		return reads_ledger_fail(c, lg, r, err, 0);
	*seq = at.seq;
	if (p.kind == POINT_NOW) {
		snprintf(desc, desclen, "now (seq %" PRIu64 ")", at.seq);
	} else if (at.op) {
		snprintf(desc, desclen, "op %" PRIu64 " (seq %" PRIu64 ")", at.number, at.seq);
	} else if (p.kind == POINT_TIME) {
		char ts[40];
		render_time_short(p.time_ns, ts, sizeof(ts));
		snprintf(desc, desclen, "%s (seq %" PRIu64 ")", ts, at.seq);
	} else {
		snprintf(desc, desclen, "seq %" PRIu64, at.seq);
	}
	return 0;
}

/* "N" (a number) or "seq:N"; *is_seq says which. -1 when neither. */
static int op_arg_parse(const char *arg, uint64_t *n, bool *is_seq)
{
	char *end;

	*is_seq = strncmp(arg, "seq:", 4) == 0;
	if (*is_seq)
		arg += 4;
	if (!*arg || *arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	*n = strtoull(arg, &end, 10);
	if (errno || *end || *n == 0)
		return -1;
	return 0;
}

int reads_check_op(const struct cmd_entry *c, const char *arg)
{
	uint64_t n;
	bool is_seq;

	if (op_arg_parse(arg, &n, &is_seq) < 0) {
		log_error("%s: bad operation '%s': give its number (41, see 'shiplog history') or "
			  "the sequence of its first event (seq:157)",
			  c->name, arg);
		return SL_EUSAGE;
	}
	return 0;
}

int reads_resolve_op(const struct cmd_entry *c, struct ledger *lg, const char *arg, uint64_t *op,
		     uint64_t *number)
{
	uint64_t n, num = 0, id = 0;
	bool is_seq;
	int r;

	if (reads_check_op(c, arg) < 0)
		return SL_EUSAGE;
	op_arg_parse(arg, &n, &is_seq);
	if (is_seq) {
		id = n;
		r = ledger_op_number(lg, id, &num);
		if (r == LEDGER_ENOTFOUND) {
			struct ledger_event ev = {0};

			if (ledger_get(lg, id, &ev) == 0 && ev.op && ev.op != id) {
				uint64_t owner = 0;

				ledger_op_number(lg, ev.op, &owner);
				log_error("%s: event %" PRIu64
					  " is not the start of an operation; it "
					  "belongs to operation %" PRIu64
					  ": try 'shiplog %s %" PRIu64 "'",
					  c->name, id, owner, c->name, owner);
				ledger_event_release(&ev);
			} else {
				ledger_event_release(&ev);
				log_error("%s: no operation starts at event %" PRIu64
					  " in this ledger; see 'shiplog history'",
					  c->name, id);
			}
			return SL_EUSAGE;
		}
	} else {
		num = n;
		r = ledger_op_by_number(lg, num, &id);
		if (r == LEDGER_ENOTFOUND) {
			log_error("%s: no operation %" PRIu64 " in this ledger (newest is %" PRIu64
				  "); see 'shiplog history'",
				  c->name, num, reads_newest_op(lg));
			return SL_EUSAGE;
		}
	}
	if (r < 0)
		return reads_ledger_fail(c, lg, r, "cannot read the operation", 0);
	*op = id;
	if (number)
		*number = num;
	return 0;
}
