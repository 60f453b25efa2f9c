/* SPDX-License-Identifier: MIT */
/* Running external programs: always an argv array, never a shell built from data. The one
 * exception is a command string from the operator's own config, which runs as
 * ["/bin/sh", "-c", STRING] and is recorded as exactly that argv. */
#ifndef SHIPLOG_SPAWN_H
#define SHIPLOG_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spawn_opts {
	const char *cwd;	 /* NULL: inherit (avoid: every step should name its cwd) */
	char *const *env_add;	 /* NULL-terminated "K=V" entries added to the environment */
	bool capture;		 /* collect stdout+stderr into result.output (else they stream) */
	bool tee;		 /* with capture: also copy the output, as it comes, to our stdout
				  * (stderr with stream_to_stderr) through stdio, so it streams
				  * (with out.c's escaping of terminal controls) and is kept */
	bool stream_to_stderr;	 /* when not capturing: send the child's stdout to our stderr */
	const char *stderr_path; /* with capture: the child's stderr is appended to this file
				  * (created 0600) instead of joining the captured output */
	/* With tee: each line (up to and with its '\n'; a last line without one, or 64 KiB
	 * without a newline, as it is) is passed through this before it is shown, so that what
	 * reaches the terminal can be redacted first; the result (malloc'd) is shown. NULL: the
	 * output is shown as it comes. */
	char *(*tee_filter)(const char *line, size_t len, void *arg);
	void *tee_arg;
	int64_t timeout_ns;	/* 0: none; on expiry SIGTERM, then SIGKILL after 5 s */
	const char *stdin_path; /* NULL: /dev/null */
	/* When set, the child runs in a process group of its own, and when *abort_flag becomes
	 * non-zero while it runs (a signal handler sets it), that group gets SIGTERM, then SIGKILL
	 * after 5 s: a shell is stopped with everything it started. The group's leader is a small
	 * watchdog that runs the program and ends the group (SIGTERM, then SIGKILL after 2 s) when
	 * this process dies, even by SIGKILL: no step outlives the operation that started it. */
	volatile sig_atomic_t *abort_flag;
};

struct spawn_result {
	int exit_code; /* 0..255; 128+n when killed by signal n; -1 when it could not start */
	int64_t duration_ns;
	char *output; /* capture: NUL-terminated, malloc'd (may be NULL); its last 1 MiB only,
		       * after a line "[... N earlier bytes dropped ...]" when it was longer */
	size_t output_len;
	size_t dropped; /* capture: the bytes of output dropped that way (0: it is whole) */
	bool timed_out;
};

/* Runs argv to completion. Returns 0 when the program ran (whatever its exit code; see
 * result), or -errno when it could not be started (result.exit_code = -1 then too). The child
 * gets no inherited descriptors but 0, 1, 2. */
int spawn_run(char *const argv[], const struct spawn_opts *o, struct spawn_result *res);
void spawn_result_release(struct spawn_result *res);

/* Runs fn(arg) as a daemon: in a grandchild that is reparented away from this process, in a
 * session of its own, with stdin from /dev/null and stdout and stderr appended to log_path
 * (created 0600; NULL: /dev/null). The daemon exits 0 when fn returns >= 0, 1 otherwise; it
 * gets no descriptors of ours but 0, 1, 2 and those fn opens. Flush stdio before: the buffers
 * are copied. Returns 0 with the daemon's pid in *pid (may be NULL) once it runs, or -errno
 * when it could not be started. The intermediate child is reaped here. */
int spawn_daemon(int (*fn)(void *arg), void *arg, const char *log_path, pid_t *pid);

/* Detaches the rest of this process's work from the fate of its stdout and stderr (an ssh
 * connection that may be lost): forks; the child returns 0 and goes on, in a session of its own,
 * with stdin from /dev/null and stdout and stderr into pipes. This process relays the pipes to
 * its own stdout and stderr while writes to them succeed, drains them after (SIGPIPE ignored),
 * and when both close it _exit()s with the child's status (128+n for a signal). Returns -errno
 * in this process, nothing forked, when it could not be set up. */
int spawn_relay_detached(void);

/* Looks a program up on PATH; malloc'd absolute path or NULL. */
char *spawn_which(const char *name);

#endif
