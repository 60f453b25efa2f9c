/* SPDX-License-Identifier: MIT */
/* A soak window's samples added up from the ledger, with what the operations inside it did to
 * the services set aside (their spans: op.requested to their own op.finished). One computation
 * that `soak report` (op/soak-report.c) and the HTML report's soak section (report.c) share. */
#ifndef SHIPLOG_SOAK_TALLY_H
#define SHIPLOG_SOAK_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <ledger/ledger.h>

#include "util.h"

/* An operation in or around a soak window (deploy, rollback, cut-over) and the time it ran:
 * from its op.requested to its own op.finished. Samples of the services it names (or
 * restarted) taken inside it judge the operation, not the service. */
struct soak_span {
	uint64_t op;
	char kind[16];
	int64_t start_ns, end_ns;
	/* No end of its own in the ledger (killed, or still running; an op.finished that a later
	 * operation wrote for it, "interrupted" with no duration, is not its own): end_ns is its
	 * last event, so that a dead operation hides nothing after it. */
	bool unfinished;
	struct strv services;
};

struct soak_spans {
	struct soak_span *v;
	size_t n;
};

void soak_spans_release(struct soak_spans *s);

/* Which operation one sample belongs to (0: none). sample_op: the one whose span holds the
 * sample's time, for a service it touched (a state not active then is the operation's).
 * change_op: the one that a restart or new pid this sample is the first to show is put down
 * to: the span that holds the time the runtime says the process started, when it says one
 * after the previous sample; else (an older ledger, a runtime that did not say) the span that
 * meets the time since the previous sample, as the change happened some time in it. A first
 * sample has no change_op. */
struct soak_during {
	uint64_t sample_op, change_op;
};

/* The soak_during of a sample of service taken at t_ns, whose previous sample was at prev_ns
 * (0: none), showing a process started at started_ns (0: not known). Pure. */
void soak_during_of(const struct soak_spans *sp, const char *service, int64_t prev_ns, int64_t t_ns,
		    int64_t started_ns, struct soak_during *d);

/* A restart or new process a sample showed: when (the runtime's time when exact, else the
 * sample's), and what it was put down to. */
struct soak_start {
	int64_t at_ns;
	bool exact;   /* the runtime's own start time */
	bool restart; /* the restart counter went up (else only a new pid or container) */
	uint64_t op;  /* the operation it is set aside for, 0: the service's own */
};

#define SOAK_TALLY_STARTS 8 /* starts kept per service (the newest); more are counted */

/* Tallies of a window: one per service and runtime it was sampled on. */
#define SOAK_TALLY_MAX (2 * LEDGER_MAX_SERVICES)

#define SOAK_TALLY_OPS 8 /* operations named per service; more are counted, not named */

/* What a window's samples add up to, per service and runtime: a service whose owner changed in
 * the window (a cut-over, a rollback that moved it) has one tally per runtime it was sampled on.
 * samples, inactive, restarts and pids are the service's own; op_* are what the operations'
 * spans held (set aside, not judged). */
struct soak_tally {
	char name[LEDGER_NAME_MAX];
	int runtime; /* of the samples; -1 before the first */
	uint32_t samples, inactive, restarts, pids;
	uint32_t op_samples, op_inactive, op_restarts, op_pids;
	uint64_t ops[SOAK_TALLY_OPS]; /* the operations those came from, in order */
	uint32_t nops;
	bool seen;
	uint32_t prev_restarts, last_pid;
	int64_t first_ns; /* the time of the first sample */
	int64_t last_ns;  /* the time of the previous sample, 0 before the first */
	char last_container[16];
	struct soak_start starts[SOAK_TALLY_STARTS]; /* a ring: the newest */
	uint32_t nstarts;			     /* seen; the ring holds the last 8 */
	uint64_t peak_memory, first_memory, last_memory;
};

/* One observation, taken at t_ns, into the tally: restarts are summed per sample (a counter
 * that went down is a new container or a unit started anew: its value counts), pids and
 * containers counted when they change. With d (NULL: the sampler's own count, nothing set
 * aside), what falls in an operation's span is counted in op_* instead. */
unsigned soak_tally_add(struct soak_tally *t, const struct ledger_unit_observed *o, int64_t t_ns,
			const struct soak_during *d);

/* What one sample added (soak_tally_add's return, bits): */
#define SOAK_ADDED_INACTIVE 1u /* a sample not active, the service's own */
#define SOAK_ADDED_RESTART 2u  /* a restart, the service's own */
#define SOAK_ADDED_ASIDE 4u    /* the sample, or a restart or new pid it shows, set aside */

/* The other tally of the same service in t[0..n) before t[i] (dir -1) or after it (dir +1), or
 * NULL: the parts of a service whose owner changed in the window. */
const struct soak_tally *soak_tally_part(const struct soak_tally *t, size_t n, size_t i, int dir);

/* The i-th newest start kept (i < min(nstarts, SOAK_TALLY_STARTS)), oldest first. */
const struct soak_start *soak_tally_start(const struct soak_tally *t, uint32_t i);

/* "compute: set aside during operation 3 (deploy): 6 samples, 2 not active, 0 restarts, 1
 * new pid" (malloc'd; operations named by number through view_op_name), or NULL when nothing
 * of service was inside an operation. split (the service has a part on each runtime): "compute:
 * on docker, set aside ...". */
char *soak_set_aside(const struct soak_tally *t, const struct soak_spans *sp, bool split);

/* A soak window: [start seq, stop seq or 0 while open]. */
struct soak_window {
	uint64_t start, stop;
	int64_t start_ns, stop_ns;
	char name[LEDGER_NAME_MAX];
	char unit[256];	    /* the sampler's unit, "" for a detached sampler */
	char summary[1024]; /* soak.stopped's */
};

/* The newest window, or the newest named name. LEDGER_ENOTFOUND when there is none. */
int soak_find_window(struct ledger *lg, const char *name, struct soak_window *w);

/* The operations whose span meets the window [start seq, stop seq] (0: open, to the end): every
 * operation (led by an op.requested) with an event inside it, and the one in flight when it
 * opened. */
int soak_window_spans(struct ledger *lg, uint64_t start, uint64_t stop, struct soak_spans *out);

/* Called with each sample as it is added: its tally and what it added (SOAK_ADDED_*). */
typedef void (*soak_sample_fn)(void *ud, const struct soak_tally *t, unsigned added);

/* The samples of one window (start seq to stop seq, 0 = to the end), per service and runtime
 * into t (room for SOAK_TALLY_MAX, *n of them used, in the order first sampled), with what fell
 * inside the operations of sp set aside (sp NULL: nothing); with ops, the operations inside it as
 * text lines ("#SEQ what") and as JSON into opsj; with on_sample, each sample as it is added. */
int soak_window_tally(struct ledger *lg, uint64_t start, uint64_t stop, const struct soak_spans *sp,
		      struct soak_tally *t, size_t *n, struct strv *ops, json_t *opsj,
		      soak_sample_fn on_sample, void *ud);

#endif
