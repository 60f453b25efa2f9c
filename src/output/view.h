/* SPDX-License-Identifier: MIT */
/* What text and JSON output both show about ledger values beyond their stored fields: the request
 * an event carries, an operation's outcome and guard, a restart the ledger has not settled. Pure
 * functions of what they are given. */
#ifndef SHIPLOG_VIEW_H
#define SHIPLOG_VIEW_H

#include <stdint.h>

#include <ledger/ledger.h>

/* The request of an op.requested or of a standalone op.refused event; NULL for other types. */
const struct ledger_op_requested *render_event_request(const struct ledger_event *ev);

/* "running", "succeeded", "failed", "rolled-back", "interrupted", "refused". */
const char *render_op_outcome(const struct ledger_op_summary *s);
/* The guard that refused the operation, or NULL. */
const char *render_op_guard(const struct ledger_op_summary *s);

/* A runtime's name; "" for a value that names none (an in-flight record's -1). */
const char *render_runtime_name(int rt);

/* Whether the in-flight operation may have restarted service i on runtime rt without the
 * ledger knowing yet: it is in the phase that restarts (a deploy's "restart", a rollback's
 * "rollout") and no unit.restarted of it names the service. A kill there leaves systemd to
 * finish a restart that was asked for, so what runs is the recorded commit or the operation's
 * target until the next operation settles it. Returns the operation, or NULL. */
const struct ledger_inflight *render_restart_unsettled(const struct ledger_state *st, uint32_t i,
						       int rt);

/* Operations are shown to people by number (1, 2, 3 ... in ledger order), not by id (the
 * sequence of their first event), which JSON keeps under its old names ("op") beside the number.
 * The command that opens the ledger names it here (NULL when it closes it); lookups
 * (ledger_op_number) are remembered, since a status names the same few operations many times.
 * view_op_number: the number of operation op, 0 when op is 0, names no operation or no ledger
 * is set. view_op_name: "12", or "seq:157" when the number is not known (never the id alone,
 * which would read as a number); "-" for op 0. view_op_name_seq: "12 (seq:157)". Both return
 * buf. */
#define VIEW_OP_NAME_MAX 48
void view_use_ledger(struct ledger *lg);
uint64_t view_op_number(uint64_t op);
const char *view_op_name(uint64_t op, char buf[VIEW_OP_NAME_MAX]);
const char *view_op_name_seq(uint64_t op, char buf[VIEW_OP_NAME_MAX]);

#endif
