/* SPDX-License-Identifier: MIT */
/* Fleet operations in the controller's own reads: a history row (its number, target, waves and
 * each host's outcome) and the summary `show N` prints under its events. They read the
 * operation with fleet_view_read(). */
#ifndef SHIPLOG_FLEET_OPS_H
#define SHIPLOG_FLEET_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include <ledger/ledger.h>

/* Whether a history row is a fleet operation's. */
bool fleet_ops_is_fleet(const struct ledger_op_summary *s);

/* history: the row of fleet operation s, as text (the columns of render_op_header, then one
 * indented line with its waves and one with each host's outcome) or as one JSON object (kind
 * "fleet", fleet_kind, target, waves, hosts: [{host, wave, action, outcome, host_op, commit}]).
 * A ledger error is said on the row ("hosts: unreadable: ..."). */
void fleet_ops_row_text(FILE *f, struct ledger *lg, const struct ledger_op_summary *s);
json_t *fleet_ops_row_json(struct ledger *lg, const struct ledger_op_summary *s);

/* show N of a fleet operation: after its events, its waves and each host's run (its op there
 * and outcome); with json, the same as fields added to o ("kind", "waves", "hosts"). */
void fleet_ops_show(struct ledger *lg, uint64_t op, json_t *o);

#endif
