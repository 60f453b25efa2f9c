/* SPDX-License-Identifier: MIT */
/* What the read commands share over the ledger: one way to report a failed ledger call, the newest
 * operation, and a point in the ledger (point.h's grammar) checked and resolved with the
 * command's messages. */
#ifndef SHIPLOG_READS_H
#define SHIPLOG_READS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "cmd.h"

/* Reports a failed ledger call once, as one line, and returns r: a corrupt event names its seq
 * and the fix ('shiplog ledger verify'). */
int reads_ledger_fail(const struct cmd_entry *c, struct ledger *lg, int r, const char *what,
		      uint64_t seq);

/* The newest operation id (0 when there is none). */
uint64_t reads_newest_op(struct ledger *lg);

/* Resolves a point in the ledger to the sequence of the state after it ("now": the newest):
 *   "seq:N"  event N;
 *   "N"      plain number: an operation id when ops is true (the state after its last event),
 *            else event N;
 *   else     a time (RFC 3339 or age): the state after the last event before it.
 * desc gets a short description ("op 41 (seq 48)"). Errors print one line: SL_EUSAGE for a bad
 * value or a number not in the ledger, a ledger code otherwise. */
int reads_resolve_point(const struct cmd_entry *c, struct ledger *lg, const char *arg, bool ops,
			uint64_t *seq, char *desc, size_t desclen);
/* Only the form of such a point, without the ledger: 0, or SL_EUSAGE with the message said. */
int reads_check_point(const struct cmd_entry *c, const char *arg, bool ops);

/* An operation as people name it: its number (41) or the sequence of its first event
 * (seq:157). check: the form only (SL_EUSAGE, said). resolve: *op gets its id (the sequence),
 * *number (may be NULL) its number; SL_EUSAGE, said, when the ledger has no such operation
 * (an event inside another operation names it). */
int reads_check_op(const struct cmd_entry *c, const char *arg);
int reads_resolve_op(const struct cmd_entry *c, struct ledger *lg, const char *arg, uint64_t *op,
		     uint64_t *number);

#endif
