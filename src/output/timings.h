/* SPDX-License-Identifier: MIT */
/* The Deploy Timings block: the phases of one operation as they finished, with their durations,
 * as text (like the reference deploy script prints it) and as JSON. */
#ifndef SHIPLOG_TIMINGS_H
#define SHIPLOG_TIMINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <ledger/ledger.h>

struct render_timings {
	char kind[16]; /* the operation's kind: "" or "deploy", "rollback", "cutover" (the block's
			* title and its lines' prefix) */
	size_t n;
	struct {
		char phase[LEDGER_NAME_MAX];
		int64_t ns;
	} v[32];
};
/* Records one finished phase (in the order they finished). */
void render_timings_add(struct render_timings *t, const char *phase, int64_t ns);
/* The total is the sum of the phases, like the reference (not wall clock). */
int64_t render_timings_total(const struct render_timings *t);
/* "\n== Deploy Timings ==\n[deploy] <phase>: <dur>\n...[deploy] total: <dur>\n" (Rollback and
 * [rollback], Cutover and [cutover] by t->kind, as the operation printed it) */
void render_timings_print(FILE *f, const struct render_timings *t);
/* {"phases":[{"phase":"verify","ns":123,"duration":"123ms"},...],"total_ns":..,"total":".."} */
json_t *render_timings_json(const struct render_timings *t);

#endif
