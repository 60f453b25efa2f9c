/* SPDX-License-Identifier: MIT */
/* One owner per service: a service runs on one runtime at a time (the reference's lesson: docker
 * and native workers consuming the same durable streams conflict). The owner is the ledger's:
 * the runtime that last restarted it, or the last owner.changed. */
#ifndef SHIPLOG_OWNERSHIP_H
#define SHIPLOG_OWNERSHIP_H

#include <stdbool.h>
#include <stddef.h>

#include <ledger/ledger.h>

#include "rollout.h"

/* Checks the services in ro->plan against their owners in st. Returns 0 when none is owned by
 * another runtime than ro->runtime. Otherwise, without take_over: SL_EREFUSED with a message in
 * why naming each service, its owner and the fix (--take-over). With take_over: opens the other
 * runtime, stops those services there (a side effect: ro->restarted is set so a failure later
 * rolls back), appends owner.changed (from the other runtime to ro->runtime) for each and
 * returns 0; SL_EFAILED with why (and op->error) when the other runtime cannot stop them. */
int ownership_check(struct rollout *ro, const struct ledger_state *st, bool take_over, char *why,
		    size_t n);

#endif
