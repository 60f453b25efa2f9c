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
#include "soak-tally.h"
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

/* ---- the samples (soak-sample.c; the tally is output/soak-tally.h's) ------------------- */

/* The figures the verdict reads, over a window of duration_ns (errors not known yet). */
void soak_figures_of(const struct soak_tally *t, int64_t duration_ns, struct soak_figures *f);

/* A service the sampler watches, on its runtime (LEDGER_RT_*), and what it saw there. follow:
 * when its owner changes in the window (owner.changed to a runtime: a cut-over, a rollback that
 * moves it), it is sampled on the new owner from then on; false when --runtime chose it. */
struct soak_sampled {
	const struct service *svc;
	int runtime;
	bool follow;
	struct soak_tally t;
	struct strv parts; /* the summaries of its parts on runtimes it left */
};

/* The sampler: one unit.observed per service every every_ns (units over sd-bus, containers
 * through docker inspect and docker stats) until deadline_ns (wall clock) or *stop, then
 * soak.stopped with the summary. Before each round it reads the owner.changed events since the
 * window opened (so a sampler started again after a crash follows them too). 0, or SL_EENV (no
 * bus for native services, soak.stopped not recorded). */
int soak_sample_run(struct ledger *lg, const struct config *cfg, const char *name,
		    struct soak_sampled *sv, size_t n, uint64_t every_ns, uint64_t deadline_ns,
		    volatile sig_atomic_t *stop);

/* ---- windows in the ledger (soak-window.c; finding and tallying one: soak-tally.h) ------- */

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
	struct soak_tally t[SOAK_TALLY_MAX];
	struct soak_logs logs[SOAK_TALLY_MAX];
	bool pass[SOAK_TALLY_MAX];
	struct soak_spans spans; /* the operations whose samples are set aside */
	size_t n;
	struct strv ops, verdicts, reasons, compare; /* verdicts: "service=pass|fail" */
	json_t *opsj;
	bool judged;   /* with thresholds and logs: a config was given and not status only */
	bool all_pass; /* when judged */
	bool running;  /* set by the caller: whether the sampler still runs */
};

/* Whether row i is one part of a service sampled on two runtimes (its owner changed in the
 * window), and the time that part covers: from the window's start, or the previous part's last
 * sample, to the next part's first sample, or the window's stop (0 while open). */
bool soak_report_split(const struct soak_report *rep, size_t i);
void soak_report_part_span(const struct soak_report *rep, size_t i, int64_t *since_ns,
			   int64_t *until_ns);

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
