/* SPDX-License-Identifier: MIT */
/* Execution mode: run here (on the server's checkout) or forward the same command over ssh to the
 * shiplog on the server, so that the ledger always lives on the server. */
#ifndef SHIPLOG_REMOTE_H
#define SHIPLOG_REMOTE_H

#include <stdbool.h>

struct config;

#define REMOTE_RUN_HERE 1

enum { EXEC_OVERRIDE_NONE = 0, EXEC_OVERRIDE_LOCAL = 1, EXEC_OVERRIDE_SSH = 2 };

/* Where an operation runs. It is decided once, by remote_maybe_forward(), and carried by the
 * caller into the plan and the recorded op.requested (exec_mode). */
enum remote_mode {
	REMOTE_MODE_LOCAL = 0, /* on this machine's checkout */
	REMOTE_MODE_SSH,       /* over ssh: the server end of a forwarded command */
};

/* "local" | "ssh": the name recorded and printed. */
const char *remote_mode_name(enum remote_mode mode);

/* What the decision and the forwarding need, all of it borrowed from the caller. */
struct remote_request {
	const struct config *cfg;
	const char *forwarded_from; /* --forwarded-from: this run is the server end (never
				     * forwards again); NULL otherwise */
	int argc;		    /* the command and its arguments, forwarded word for word */
	char **argv;		    /* (a "--ssh" among them is dropped) */
	bool read;		    /* a read command: stdout stays exactly the server's, the
				     * "Execution mode" line goes to stderr */
	int exec_override;	    /* EXEC_OVERRIDE_*: --local / --ssh */
};

/* Decides the mode (--local/--ssh, DEPLOY_FORCE_SSH=1, [target] local_exec, and whether the
 * configured checkout is the directory of this config, by real path) and stores it in *mode
 * (may be NULL). Returns REMOTE_RUN_HERE to run here, in *mode; otherwise forwards rq->argv over
 * ssh and returns the remote result (0 or a negative code matching its exit status). The server
 * end (rq->forwarded_from) is REMOTE_MODE_SSH and runs here, detached from the connection. */
int remote_maybe_forward(const struct remote_request *rq, enum remote_mode *mode);

/* The same decision without running anything: REMOTE_RUN_HERE for local, 0 when forwarding is
 * ready (the target is set and the key exists), or a negative code (already said). For steps
 * that must not happen when forwarding cannot (current-branch pushes before it forwards). */
int remote_preflight(const struct remote_request *rq);

#endif
