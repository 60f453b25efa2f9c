/* SPDX-License-Identifier: MIT */
/* JSON lines back into events (`ledger import`): the inverse of render_event_json() (json.h),
 * driven by the same table of fields. */
#ifndef SHIPLOG_JSONL_H
#define SHIPLOG_JSONL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <ledger/ledger.h>

#include "pool.h"

/* Reads one event from JSON in render_event_json()'s format; its strings and lists live in pool
 * a. Every field is type-checked; unknown keys are ignored; missing strings become "". "type" and
 * one of "time_ns" / "time" are required, and so are an op.finished's outcome and the runtime of
 * the events that name one. *has_seq is set when "seq" was present (ev->seq then holds it).
 * Returns 0, or -EINVAL with one line in err ("field 'exit_code' must be an integer"). */
int render_event_parse(json_t *obj, struct ledger_event *ev, bool *has_seq, struct pool *a,
		       char *err, size_t errlen);

#endif
