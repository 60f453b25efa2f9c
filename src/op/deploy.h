/* SPDX-License-Identifier: MIT */
/* The deploy operation, callable from `deploy` and from remote forwarding. */
#ifndef SHIPLOG_DEPLOY_H
#define SHIPLOG_DEPLOY_H

#include "cmd.h"
#include "op.h"
#include "plan.h"
#include "rollout.h"

/* Runs a deploy with parsed arguments (a->runtime set) here, in the execution mode that
 * remote_maybe_forward() chose (recorded, and carried to an automatic rollback). Returns 0 or a
 * negative code. */
int deploy_run(struct cmd_ctx *ctx, struct deploy_args *a, enum remote_mode mode);

/* A deploy failed after it started (r < 0 from a step, op->error set): applies
 * [policy] on_failure (rollback to the last-good commits of the services it touched, or stop),
 * finishes the operation and returns the code to exit with. */
int deploy_failed(struct cmd_ctx *ctx, struct op *op, struct rollout *ro, int r);

#endif
