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

#endif
