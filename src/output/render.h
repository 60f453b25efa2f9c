/* SPDX-License-Identifier: MIT */
/* Rendering of what the ledger holds: events, reducer states, operation summaries and the Deploy
 * Timings block, each as a JSON value (for --json and `ledger export`) and as text a person reads.
 * Also the inverse of the event JSON, for `ledger import`. Used by every read command and by
 * deploy/rollback output. Nothing here touches the store. */
#ifndef SHIPLOG_RENDER_H
#define SHIPLOG_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <ledger/ledger.h>

#include "util.h"

#define RENDER_SHORT_COMMIT 12

/* ---- small pieces -------------------------------------------------------------------------- */

/* The first 12 characters of a commit, "-" for an empty one. Points into buf. */
const char *render_short_commit(const char *commit, char buf[RENDER_SHORT_COMMIT + 1]);
/* "2026-11-27T08:00:00Z" (UTC, whole seconds), "-" for 0. */
void render_time_short(int64_t ns, char *buf, size_t n);
/* "+1.234s" relative to base_ns. */
void render_offset(int64_t ns, int64_t base_ns, char *buf, size_t n);

/* The request of an op.requested or of a standalone op.refused event; NULL for other types. */
const struct ledger_op_requested *render_event_request(const struct ledger_event *ev);

/* ---- events -------------------------------------------------------------------------------- */

/* Every field of the event: the envelope (seq, version, type, time as RFC 3339, time_ns, op,
 * actor) and the type's own fields at the top level (op.refused nests its request under
 * "request"). Lossless: render_event_parse() reads it back to the same event. New reference. */
json_t *render_event_json(const struct ledger_event *ev);

/* One line describing the event, without envelope or newline, appended to b:
 * "$ git fetch origin main  [fetch] exit 0, 312ms", "restarted web (web.service, native): done,
 * pid 100 -> 200, 520ms", "health web http-get http://...: ok, 1 attempt, 12ms: 200 OK". Unknown
 * types print their type name. */
void render_event_text(struct buf *b, const struct ledger_event *ev);

/* Storage for parsed events: everything render_event_parse() points to lives until
 * render_arena_free(). Zero-initialised is empty. */
struct render_arena {
	struct render_arena_block *head;
};
void *render_arena_alloc(struct render_arena *a, size_t n);
void render_arena_free(struct render_arena *a);

/* Reads one event from JSON in render_event_json()'s format. Every field is type-checked; unknown
 * keys are ignored; missing strings become "". "type" and one of "time_ns" / "time" are required.
 * *has_seq is set when "seq" was present (ev->seq then holds it). Returns 0, or -EINVAL with one
 * line in err ("field 'exit_code' must be an integer"). */
int render_event_parse(json_t *obj, struct ledger_event *ev, bool *has_seq, struct render_arena *a,
		       char *err, size_t errlen);

/* ---- states -------------------------------------------------------------------------------- */

/* The whole state: services with owner, per-runtime commit/since/healthy/last-good, quarantine,
 * in-flight (and nested parent) operation, counters. New reference. */
json_t *render_state_json(const struct ledger_state *st);
/* The in-flight record as JSON (null when nothing runs). */
json_t *render_inflight_json(const struct ledger_state *st, const struct ledger_inflight *in);

/* The state as aligned text: a header line, the service table, quarantine and in-flight lines. */
void render_state_text(FILE *f, const struct ledger_state *st);

/* ---- operation summaries (history) ------------------------------------------------------- */

/* "running", "succeeded", "failed", "rolled-back", "interrupted", "refused". */
const char *render_op_outcome(const struct ledger_op_summary *s);
/* st (may be NULL) marks quarantined commits. New reference. */
json_t *render_op_json(const struct ledger_op_summary *s, const struct ledger_state *st);
/* The header line and one row of the history table. */
void render_op_header(FILE *f);
void render_op_text(FILE *f, const struct ledger_op_summary *s, const struct ledger_state *st);

/* ---- Deploy Timings ------------------------------------------------------------------------ */

struct render_timings {
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
/* "\n== Deploy Timings ==\n[deploy] <phase>: <dur>\n...[deploy] total: <dur>\n" */
void render_timings_print(FILE *f, const struct render_timings *t);
/* {"phases":[{"phase":"verify","ns":123,"duration":"123ms"},...],"total_ns":..,"total":".."} */
json_t *render_timings_json(const struct render_timings *t);

#endif

/* ---- helpers of the read commands ---------------------------------------------------------- */

struct cmd_entry;

/* Parses a time argument (RFC 3339 or an age like 90m, 2h, 3d). On error prints one line naming
 * the command, the option, the value and the accepted forms, and returns SL_EUSAGE. */
int render_arg_time(const struct cmd_entry *c, const char *opt, const char *value, int64_t *out);
/* A decimal number >= min. Prints one line and returns SL_EUSAGE otherwise. */
int render_arg_u64(const struct cmd_entry *c, const char *what, const char *value, uint64_t min,
		   uint64_t *out);
/* For getopt's '?' with opterr = 0: one line naming the bad option; returns SL_EUSAGE. */
int render_arg_bad_option(const struct cmd_entry *c, char **argv, int optind_, int optopt_);
/* Option parsing for commands whose only option is --json: 0 with optind at the first operand,
 * or the usage error already reported. */
int render_args_json_only(const struct cmd_entry *c, int argc, char **argv);

/* Reports a failed ledger call once, as one line, and returns r: a corrupt event names its seq
 * and the fix ('shiplog ledger verify'). */
int render_ledger_fail(const struct cmd_entry *c, struct ledger *lg, int r, const char *what,
		       uint64_t seq);

/* The newest operation id (0 when there is none). */
uint64_t render_newest_op(struct ledger *lg);

/* Resolves a point in the ledger to the sequence of the state after it ("now": the newest):
 *   "seq:N"  event N;
 *   "N"      plain number: an operation id when ops is true (the state after its last event),
 *            else event N;
 *   else     a time (RFC 3339 or age): the state after the last event before it.
 * desc gets a short description ("op 41 (seq 48)"). Errors print one line: SL_EUSAGE for a bad
 * value or a number not in the ledger, a ledger code otherwise. */
int render_resolve_point(const struct cmd_entry *c, struct ledger *lg, const char *arg, bool ops,
			 uint64_t *seq, char *desc, size_t desclen);
/* Only the form of such a point, without the ledger: 0, or SL_EUSAGE with the message said. */
int render_check_point(const struct cmd_entry *c, const char *arg, bool ops);
