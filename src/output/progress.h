/* SPDX-License-Identifier: MIT */
/* The live status line of a deploy or rollback on a terminal: one line under the transcript,
 * redrawn in place with \r several times a second by a thread of its own, showing the phase,
 * how long it has run and usually takes, the operation's elapsed time and ETA, and what is being
 * waited for ("verify: 4 of 6 stable, settle 0.6s left"). It is cleared before any other output
 * (out.c's streams call progress_write_begin/_end around every write to the terminal) and only
 * drawn when stdout and stderr are each at the start of a line, so it never lands inside a half
 * line. It never reaches the ledger: the recorded events are the same with or without it.
 *
 * Shown only when progress_wanted(): stdout is a terminal, not -q, not --json, CI is not "true"
 * (or "1"), and --no-progress was not given (out_settings.no_progress). exec/op.c feeds it
 * (op_waiting), with what the runtimes wait for: a command, the systemd jobs by unit, the settle
 * window, the containers and the compose commands. */
#ifndef SHIPLOG_PROGRESS_H
#define SHIPLOG_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ledger/ledger.h>

#define PROGRESS_MAX_PHASES 16

/* What the comparable operations took per phase (p50), 0 phases when there is no history. */
struct progress_expect {
	size_t n;
	struct {
		char phase[LEDGER_NAME_MAX];
		int64_t ns;
	} v[PROGRESS_MAX_PHASES];
};

/* The policy above, from out_settings, the environment and isatty(1). */
bool progress_wanted(void);
/* The decision itself, for tests. ci: the value of CI (may be NULL). */
bool progress_decide(bool tty, bool json, int verbosity, bool no_progress, const char *ci);

/* Starts the line for an operation (nothing when !progress_wanted()). kind: "deploy" or
 * "rollback"; e may be NULL. A nested operation (the automatic rollback of a failed deploy)
 * takes the line over until its progress_end(), then the outer one resumes. */
void progress_begin(const char *kind, const struct progress_expect *e);
/* A phase started: what is waited for is cleared. */
void progress_phase(const char *name);
/* What is being waited for now ("build: bun install", "4 of 6 stable"); with deadline_mono
 * (mono_ns() clock, 0 = none) the line adds ", <left> left" (prefix: e.g. "settle"). NULL
 * clears it. */
void progress_wait(const char *what, const char *prefix, int64_t deadline_mono);
/* Stops the line of the innermost operation and clears it from the terminal. */
void progress_end(void);

/* Called by out.c around every write to fd 1 or 2 (the terminal): begin takes the line's lock
 * and clears the line when it is shown; end notes whether the stream now stands at the start of
 * a line and releases the lock. No-ops while no line runs. */
void progress_write_begin(int fd);
void progress_write_end(int fd, const char *p, size_t n);

/* The line's text for a given moment (exposed for tests): at most width - 1 columns. */
size_t progress_format(char *buf, size_t len, size_t width, const char *phase, int64_t phase_ns,
		       int64_t usual_ns, int64_t op_ns, int64_t left_ns, bool have_eta,
		       const char *what, const char *prefix, int64_t what_left_ns);

#endif
