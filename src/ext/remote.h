/* SPDX-License-Identifier: MIT */
/* Execution mode: run here (on the server's checkout) or forward the same command over ssh to the
 * shiplog on the server, so that the ledger always lives on the server. */
#ifndef SHIPLOG_REMOTE_H
#define SHIPLOG_REMOTE_H

#include "cmd.h"

#define REMOTE_RUN_HERE 1

enum { EXEC_OVERRIDE_NONE = 0, EXEC_OVERRIDE_LOCAL = 1, EXEC_OVERRIDE_SSH = 2 };

/* Decides the mode (--local/--ssh, DEPLOY_FORCE_SSH=1, [target] local_exec, and whether the
 * configured checkout is the directory of this config, by real path). Returns REMOTE_RUN_HERE
 * to run locally; otherwise forwards ctx->global_argv over ssh and returns the remote result
 * (0 or a negative code matching its exit status). */
int remote_maybe_forward(struct cmd_ctx *ctx, int exec_override);

/* The same decision without running anything: REMOTE_RUN_HERE for local, 0 when forwarding is
 * ready (the target is set and the key exists), or a negative code (already said). For steps
 * that must not happen when forwarding cannot (current-branch pushes before it forwards). */
int remote_preflight(struct cmd_ctx *ctx, int exec_override);

/* "local" or "ssh": the mode chosen by the last remote_maybe_forward() in this process. */
const char *remote_exec_mode(void);

#endif
