/* SPDX-License-Identifier: MIT */
/* The ledger's state as metrics text for Prometheus (node_exporter's textfile collector reads the
 * text exposition format; OpenMetrics 1.0 on request). A pure function of what it is given. */
#ifndef SHIPLOG_METRICS_H
#define SHIPLOG_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "util.h"

/* What the state does not hold: per service, the newest operation that touched it. */
struct metrics_last_op {
	const char *service;
	uint64_t op;
	int64_t finished_ns; /* 0: still running or never closed */
	enum ledger_outcome outcome;
	const char *kind; /* "deploy" | "rollback" */
};

struct metrics_input {
	const struct ledger_state *st;
	const struct metrics_last_op *last; /* nlast entries */
	size_t nlast;
	int lock_held; /* 1 held, 0 free, -1 unknown (no series) */
	int64_t now_ns;
	bool openmetrics; /* OpenMetrics 1.0: counter families without _total, "# EOF" */
};

/* Appends the whole exposition to out. The phase histograms are re-bucketed from the ledger's
 * log-linear buckets (within 3.1% of the exact durations) into METRICS_LE seconds. */
void metrics_write(struct buf *out, const struct metrics_input *in);

#endif
