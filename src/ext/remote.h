/* SPDX-License-Identifier: MIT */
/* Execution mode: run here (on the server's checkout) or forward the same command over ssh to the
 * shiplog on the server, so that the ledger always lives on the server. */
#ifndef SHIPLOG_REMOTE_H
#define SHIPLOG_REMOTE_H

#include <stdbool.h>

struct config;
struct strv;

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
 * end (rq->forwarded_from) is REMOTE_MODE_SSH and runs here, detached from the connection; with
 * --local as well (a fleet controller's run of its own host) it is REMOTE_MODE_LOCAL, detached
 * the same way. */
int remote_maybe_forward(const struct remote_request *rq, enum remote_mode *mode);

/* The same decision without running anything: REMOTE_RUN_HERE for local, 0 when forwarding is
 * ready (the target is set and the key exists), or a negative code (already said). For steps
 * that must not happen when forwarding cannot (current-branch pushes before it forwards). */
int remote_preflight(const struct remote_request *rq);

/* Exit statuses of an ssh run of a remote shiplog that are not shiplog's own: ssh's (the
 * connection failed or was lost), and the remote shell line's before shiplog runs. */
#define REMOTE_EXIT_SSH 255
#define REMOTE_EXIT_NO_CHECKOUT 124
#define REMOTE_EXIT_NO_SHIPLOG 127

/* How one host's shiplog is reached; every field borrowed. */
struct remote_host {
	const char *ssh;		 /* [user@]host[:port] */
	const char *ssh_key;		 /* NULL: ssh's own identities */
	const struct strv *ssh_options;	 /* "Name=value", first (for ssh the first value wins);
					  * may be NULL */
	const struct strv *more_options; /* then these (e.g. [target]'s); may be NULL */
	const char *checkout;		 /* the remote shell cds there first */
	const char *shiplog;		 /* the program there */
	const char *log_path;		 /* ssh -E: its own diagnostics go there; NULL: stderr */
	const char *control_path;	 /* reuse one connection (ControlMaster=auto, this
					  * ControlPath, ControlPersist=60); NULL: none */
};

/* The one way shiplog runs itself on another host: fills argv (appends; the caller frees)
 * with "ssh [options] -- HOST LINE", LINE being the remote shell line that cds to the
 * checkout (else exits REMOTE_EXIT_NO_CHECKOUT), checks the program (else
 * REMOTE_EXIT_NO_SHIPLOG) and execs "SHIPLOG --forwarded-from ACTOR WORDS...", every word
 * single-quoted; nothing given is ever put in the line unquoted. -EINVAL when h->ssh is not
 * [user@]host[:port] (nothing appended). */
int remote_ssh_argv(const struct remote_host *h, char *const *words, int nwords, struct strv *argv);

/* "ssh exited 255" explained from its -E log: "cannot reach 'HOST' over ssh: connection
 * refused (...); FIX", or NULL when the log says nothing known (the connection was lost).
 * malloc'd. */
char *remote_ssh_failure(const char *ssh, const char *log_path);

/* Where ssh keeps the shared connections of a fleet's commands: "DIR/%C" in a private
 * directory ($XDG_RUNTIME_DIR/shiplog-ssh, else /tmp/shiplog-ssh-UID; created 0700, refused when
 * another user owns it or others may enter it), short enough for a unix socket path. NULL
 * (said as a warning) when there is no such directory: then each command connects anew.
 * malloc'd. */
char *remote_control_path(void);

#endif
