/* SPDX-License-Identifier: MIT */
/* JSON a script parses (--json, `ledger export`): events, reducer states and operation summaries,
 * each as one value. Every function returns a new reference. */
#ifndef SHIPLOG_JSON_H
#define SHIPLOG_JSON_H

#include <jansson.h>
#include <ledger/ledger.h>

/* Every field of the event: the envelope (seq, version, type, time as RFC 3339, time_ns, op,
 * actor) and the type's own fields at the top level under their names in the ledger's table,
 * lists as arrays and runtimes and outcomes by name (op.refused nests its request under
 * "request"; a sparse field shows only when set). Lossless: render_event_parse() (jsonl.h) reads
 * it back to the same event. */
json_t *render_event_json(const struct ledger_event *ev);

/* The whole state: services with owner, per-runtime commit/since/healthy/last-good, quarantine,
 * in-flight (and nested parent) operation, counters. */
json_t *render_state_json(const struct ledger_state *st);
/* The in-flight record (null when nothing runs). */
json_t *render_inflight_json(const struct ledger_state *st, const struct ledger_inflight *in);

/* One operation of the history; st (may be NULL) marks quarantined commits. */
json_t *render_op_json(const struct ledger_op_summary *s, const struct ledger_state *st);

#endif
