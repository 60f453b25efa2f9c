/* SPDX-License-Identifier: MIT */
/* Text a person reads: one line per event, the state as a table, a row of the history table, and
 * the small formats they share (a short commit, a time, an offset). */
#ifndef SHIPLOG_TEXT_H
#define SHIPLOG_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ledger/ledger.h>

#include "out.h"
#include "util.h"

#define RENDER_SHORT_COMMIT 12

/* The first 12 characters of a commit, "-" for an empty one. Points into buf. */
const char *render_short_commit(const char *commit, char buf[RENDER_SHORT_COMMIT + 1]);
/* "2026-11-27T08:00:00Z" (UTC, whole seconds), "-" for 0. */
void render_time_short(int64_t ns, char *buf, size_t n);
/* "+1.234s" relative to base_ns. */
void render_offset(int64_t ns, int64_t base_ns, char *buf, size_t n);

/* One line describing the event, without envelope or newline, appended to b, written by its
 * type's template in the ledger's table (ledger_event_type_text()): "$ git fetch origin main
 * [fetch] exit 0, 312ms", "restarted web (web.service, native): done, pid 100 -> 200, 520ms",
 * "health web http-get http://...: ok, 1 attempt, 12ms: 200 OK". A detail of several lines
 * continues on lines of its own. Unknown types print their type name. */
void render_event_text(struct buf *b, const struct ledger_event *ev);

/* What the event's line says, for its colour (out.h): the start of a phase is a header, a
 * failed phase or health check fails, the terminal event has its outcome's tone. */
enum out_tone render_event_tone(const struct ledger_event *ev);

/* The state as aligned text: a header line, the service table, quarantine and in-flight lines. */
void render_state_text(FILE *f, const struct ledger_state *st);

/* The header line and one row of the history table; st (may be NULL) marks quarantined
 * commits. */
void render_op_header(FILE *f);
void render_op_text(FILE *f, const struct ledger_op_summary *s, const struct ledger_state *st);

#endif
