/* SPDX-License-Identifier: MIT */
/* A soak window's judgement: what each service logged in the window (the journal for units,
 * `docker logs` for containers), its error lines, and the verdict against [soak]'s thresholds,
 * compared with the same service's previous window on the other runtime. The verdict itself is
 * pure (soak_judge); the logs are read from the real systems. */
#ifndef SHIPLOG_SOAK_H
#define SHIPLOG_SOAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <signal.h>

#include <ledger/ledger.h>

#include "config.h"
#include "util.h"

/* What a service logged in a window. */
struct soak_logs {
	struct strv lines; /* the last [soak] log_lines lines, "HH:MM:SS message", escaped */
	size_t total;	   /* lines in the window */
	size_t errors;	   /* of which error lines */
	bool read;	   /* false: none could be read, err says why */
	char err[256];
};

/* Whether a line is an error line: journal priority err (3) or worse (priority < 0: none
 * known), or a match of one of [soak] error_pattern. */
bool soak_line_is_error(const struct config *cfg, const char *line, int priority);

/* Reads the lines service s wrote from since_ns to until_ns on runtime (LEDGER_RT_*). */
void soak_logs_read(const struct config *cfg, const struct service *s, int runtime,
		    int64_t since_ns, int64_t until_ns, struct soak_logs *out);
void soak_logs_release(struct soak_logs *l);

/* Prints them under "logs of SERVICE (RUNTIME): N lines, E error lines[, the last K]:", each
 * line as "  | line" (already escaped), or why none could be read. */
void soak_logs_print(const char *service, int runtime, const struct soak_logs *l);

/* One service's figures over a window. */
struct soak_figures {
	int runtime; /* LEDGER_RT_*, -1 when not sampled */
	int64_t duration_ns;
	uint32_t samples, inactive, restarts;
	uint64_t first_memory, last_memory, peak_memory;
	size_t errors;
	bool errors_known; /* its logs were read */
};

/* The verdict of one service: pass, and a reason per failed check appended to *reasons
 * ("compute: 3 restarts (at most 0)"). No samples at all fails too. */
bool soak_judge(const struct config *cfg, const char *service, const struct soak_figures *f,
		struct strv *reasons);

/* "compute: native 12.0 restarts/h, 3.0 errors/h, peak 41.2MB vs docker 0.0 restarts/h, ..."
 * (malloc'd): this window beside the previous one on the other runtime. */
char *soak_compare(const char *service, const struct soak_figures *now,
		   const struct soak_figures *prev);

/* What the services logged in a window, each on the runtime that ran it at ledger sequence
 * at_seq (its owner then, else native; UINT64_MAX: now), printed one soak_logs_print block
 * each: every service, or those named in only (NULL: all). `audit --logs` and `show --logs`. */
void soak_logs_print_window(const struct config *cfg, struct ledger *lg, uint64_t at_seq,
			    const struct ledger_strv *only, int64_t since_ns, int64_t until_ns);

/* ---- the samples (soak-sample.c) ---------------------------------------------------------- */

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
 * change_op: the one whose span meets the time since the service's previous sample (a restart
 * or new pid that this sample is the first to show happened in that time, so perhaps during the
 * operation: it is the operation's). A first sample has no change_op. */
struct soak_during {
	uint64_t sample_op, change_op;
};

/* The soak_during of a sample of service taken at t_ns, whose previous sample was at prev_ns
 * (0: none). Pure. */
void soak_during_of(const struct soak_spans *sp, const char *service, int64_t prev_ns, int64_t t_ns,
		    struct soak_during *d);

#define SOAK_TALLY_OPS 8 /* operations named per service; more are counted, not named */

/* What a window's samples add up to, per service. samples, inactive, restarts and pids are the
 * service's own; op_* are what the operations' spans held (set aside, not judged). */
struct soak_tally {
	char name[LEDGER_NAME_MAX];
	int runtime; /* of the samples; -1 before the first */
	uint32_t samples, inactive, restarts, pids;
	uint32_t op_samples, op_inactive, op_restarts, op_pids;
	uint64_t ops[SOAK_TALLY_OPS]; /* the operations those came from, in order */
	uint32_t nops;
	bool seen;
	uint32_t prev_restarts, last_pid;
	int64_t last_ns; /* the time of the previous sample, 0 before the first */
	char last_container[16];
	uint64_t peak_memory, first_memory, last_memory;
};

/* One observation, taken at t_ns, into the tally: restarts are summed per sample (a counter
 * that went down is a new container or a unit started anew: its value counts), pids and
 * containers counted when they change. With d (NULL: the sampler's own count, nothing set
 * aside), what falls in an operation's span is counted in op_* instead. */
void soak_tally_add(struct soak_tally *t, const struct ledger_unit_observed *o, int64_t t_ns,
		    const struct soak_during *d);

/* "compute: set aside during operation 3 (deploy): 6 samples, 2 not active, 0 restarts, 1
 * new pid" (malloc'd; operations named by number through view_op_name), or NULL when nothing
 * of service was inside an operation. */
char *soak_set_aside(const struct soak_tally *t, const struct soak_spans *sp);

/* The figures the verdict reads, over a window of duration_ns (errors not known yet). */
void soak_figures_of(const struct soak_tally *t, int64_t duration_ns, struct soak_figures *f);

/* A service the sampler watches, on its runtime (LEDGER_RT_*), and what it saw. */
struct soak_sampled {
	const struct service *svc;
	int runtime;
	struct soak_tally t;
};

/* The sampler: one unit.observed per service every every_ns (units over sd-bus, containers
 * through docker inspect and docker stats) until deadline_ns (wall clock) or *stop, then
 * soak.stopped with the summary. 0, or SL_EENV (no bus for native services, soak.stopped not
 * recorded). */
int soak_sample_run(struct ledger *lg, const struct config *cfg, const char *name,
		    struct soak_sampled *sv, size_t n, uint64_t every_ns, uint64_t deadline_ns,
		    volatile sig_atomic_t *stop);

/* ---- windows in the ledger (soak-window.c) ------------------------------------------------ */

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

/* The samples of one window (start seq to stop seq, 0 = to the end), per service into t (room
 * for LEDGER_MAX_SERVICES, *n of them used), with what fell inside the operations of sp set
 * aside (sp NULL: nothing); with ops, the operations inside it as text lines ("#SEQ what") and
 * as JSON into opsj. */
int soak_window_tally(struct ledger *lg, uint64_t start, uint64_t stop, const struct soak_spans *sp,
		      struct soak_tally *t, size_t *n, struct strv *ops, json_t *opsj);

/* The same service's newest window before `before` (a soak.started seq) on another runtime
 * than rt, with its figures and (when still readable) its error lines. */
bool soak_previous_window(struct ledger *lg, const struct config *cfg, uint64_t before,
			  const char *service, int rt, struct soak_figures *f);

/* Whether the window (stopped at stop) has its soak.verdict already. */
bool soak_verdict_recorded(struct ledger *lg, uint64_t stop, const char *name);

/* ---- the report (soak-report.c) ----------------------------------------------------------- */

/* Everything `soak report` shows of one window, gathered from the ledger and, when judged,
 * from the services' logs. */
struct soak_report {
	struct soak_window w;
	struct soak_tally t[LEDGER_MAX_SERVICES];
	struct soak_logs logs[LEDGER_MAX_SERVICES];
	bool pass[LEDGER_MAX_SERVICES];
	struct soak_spans spans; /* the operations whose samples are set aside */
	size_t n;
	struct strv ops, verdicts, reasons, compare; /* verdicts: "service=pass|fail" */
	json_t *opsj;
	bool judged;   /* with thresholds and logs: a config was given and not status only */
	bool all_pass; /* when judged */
	bool running;  /* set by the caller: whether the sampler still runs */
};

/* Reads the window (newest, or named name) and, with cfg and not status_only, judges it.
 * LEDGER_ENOTFOUND when there is no such window. */
int soak_report_gather(struct ledger *lg, const struct config *cfg, const char *name,
		       bool status_only, struct soak_report *rep);
void soak_report_release(struct soak_report *rep);
/* The report as `soak report --json` prints it (new reference). */
json_t *soak_report_json(const struct soak_report *rep);
/* The report as text on stdout; status_only: the window and its sample counts. */
void soak_report_print(const struct soak_report *rep, bool status_only);

#endif
