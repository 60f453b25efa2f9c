/* SPDX-License-Identifier: MIT */
#include "reads.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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
		op = rows[0].op;
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	return op;
}

int reads_check_point(const struct cmd_entry *c, const char *arg, bool ops)
{
	struct point p;
	int r = point_parse(arg, now_ns(), &p);

	(void)ops;
	if (r == -EINVAL) {
		log_error("%s: bad sequence '%s': expected seq:N with N a number", c->name, arg);
		return SL_EUSAGE;
	}
	if (r < 0) {
		log_error("%s: bad point '%s': use an operation id (41), a sequence (seq:120), RFC "
			  "3339 time (2026-11-27T08:00:00Z) or an age like 90m, 2h, 3d",
			  c->name, arg);
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
		snprintf(desc, desclen, "op %" PRIu64 " (seq %" PRIu64 ")", at.op, at.seq);
	} else if (p.kind == POINT_TIME) {
		char ts[40];
		render_time_short(p.time_ns, ts, sizeof(ts));
		snprintf(desc, desclen, "%s (seq %" PRIu64 ")", ts, at.seq);
	} else {
		snprintf(desc, desclen, "seq %" PRIu64, at.seq);
	}
	return 0;
}
