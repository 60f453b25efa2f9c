/* SPDX-License-Identifier: MIT */
/* An operation in flight: the one place that turns what a deploy or rollback does into ledger
 * events and into the transcript a person reads. Phases are timed and printed like the reference
 * ("== Rollout ==", "$ argv", a closing "Deploy Timings" block, also on failure); every external
 * command is echoed, run and recorded as step.ran.
 *
 * Durability: op.requested and op.finished are synced. Everything in between is appended without
 * a sync (it survives a crash of this process) and one sync is forced before each side effect
 * (op_durable()), so an OS crash can never hide a side effect that started. op_durable() also
 * reserves OP_RECORD_ROOM of disk past the ledger's data: the events that record a side effect
 * (a restart's pids, a checkout's move) are appended after it, and a disk that fills in between
 * must not lose them. If the room cannot be had, the operation stops before the side effect. */
#ifndef SHIPLOG_OP_H
#define SHIPLOG_OP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "spawn.h"
#include "util.h"

#define OP_MAX_PHASES 12

struct op_phase {
	char name[LEDGER_NAME_MAX];
	int64_t duration_ns;
	bool ok;
	bool slow; /* slower than the p95 of the comparable operations (op_finish decides) */
};

/* A phase slower than the comparable operations' p95 is flagged when at least this many of
 * them ran it and it is slower by more than OP_SLOW_MARGIN_NS (timer noise). */
#define OP_SLOW_MIN_SAMPLES 5
#define OP_SLOW_MARGIN_NS 50000000LL

struct op {
	struct ledger *lg;
	uint64_t id;	 /* the sequence of its first event */
	uint64_t number; /* its operation number (1, 2, 3 ...), what people are shown */
	char kind[16];	 /* "deploy" | "rollback" | "cutover" (the transcript's prefix is the
			  * command's: out_settings.tag) */
	int64_t started_mono;
	int64_t wait_ns; /* time spent waiting on commands, jobs and checks */
	bool unsynced;	 /* events appended since the last sync */
	struct op_phase phases[OP_MAX_PHASES];
	size_t nphases;
	int current; /* index of the open phase, -1 when none */
	int64_t phase_started_mono;
	bool finished;
	char error[512];	  /* the first failure, shown at the end */
	int ledger_error;	  /* the first append or sync that failed (0 = none): from then on
				   * nothing is appended and op_durable() refuses every side effect */
	struct ledger_stats base; /* the comparable operations (op_expect), ops 0 when none */
	/* what the --json result line reports (borrowed; "" or NULL when unknown): */
	const char *result_commit;   /* the commit the operation went to */
	const char *result_prev;     /* what ran before */
	struct json_t *result_extra; /* more keys of the --json result line (the caller's; NULL:
				      * none) */
};

/* Set by SIGINT/SIGTERM while an operation runs (op_begin installs the handlers, once per
 * process). The operation stops at the next step and ends `interrupted`, with its timings; a
 * second signal kills at once (the next operation then closes it as interrupted). */
extern volatile sig_atomic_t op_interrupted;
/* Installs those handlers (a second signal kills, unless it repeats the first within
 * INTERRUPT_REPEAT_MS: interrupt.h); op_begin calls it. */
void op_catch_signals(void);
/* A reverse that must run after the operator's first signal (a cut-over puts the old owner
 * back rather than leave a service stopped): op_interrupt_take() returns the signal (0: none)
 * and clears op_interrupted, so that op_durable() lets the reverse's side effects through; a
 * second signal still kills at once (interrupt.h: not a repeat of the first within
 * INTERRUPT_REPEAT_MS, which is the same request). op_interrupt_restore()
 * sets it again once the reverse is done, and the operation ends interrupted. */
int op_interrupt_take(void);
void op_interrupt_restore(int sig);

/* The one message for a ledger that took no write: the cause first (disk full, read-only,
 * permission), what could not be done, the ledger's path and the fix. what: "record 'x' in",
 * "sync", "open". op: the operation that stops (0 = none yet). */
void op_ledger_write_error(const char *path, const char *what, int r, const char *detail,
			   uint64_t op);

/* Appends op.requested (durable) and starts the clock. req->pid and req->number (the number
 * the ledger gave it, also op->number) are filled in. */
int op_begin(struct op *op, struct ledger *lg, struct ledger_op_requested *req);

/* Reads what the last `last_n` comparable operations took (same kind, runtime and exact scope
 * as req, succeeded), prints the expected duration of each phase and the total ("no history
 * yet" when there are none), and starts the live progress line (output/progress.h) when it is
 * wanted. Call right after op_begin. Reading the ledger is best effort: a failure only says
 * that there is no estimate. */
void op_expect(struct op *op, const struct ledger_op_requested *req, uint32_t last_n);

/* What the operation waits for now, for the progress line ("4 of 6 stable"); with deadline_mono
 * (0 = none) it shows the time left, after prefix ("settle"). fmt NULL clears it. Costs nothing
 * without a progress line. */
void op_waiting(struct op *op, const char *prefix, int64_t deadline_mono, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends a standalone op.refused for a request that never started (guards checked before the
 * lock, the lock itself). Durable. *id_out may be NULL; req->number gets its number. */
int op_refuse_request(struct ledger *lg, struct ledger_op_requested *req, const char *guard,
		      const char *reason, uint64_t *id_out);

/* Appends one event of this operation (fills op, actor, time). Not synced. */
int op_append(struct op *op, struct ledger_event *ev);

/* Makes everything appended so far durable; call before each side effect. Fails (and the
 * caller must not go on) when an earlier append or this sync failed: op->ledger_error. */
int op_durable(struct op *op);

/* Opens a phase: prints "== title ==" and appends phase.started. Closes an open one first. */
int op_phase_begin(struct op *op, const char *name, const char *title);
/* Closes the open phase: appends phase.finished with its duration. */
int op_phase_end(struct op *op, bool ok, const char *error);

/* Records the first failure message (later ones are ignored). */
void op_fail(struct op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Echoes "$ argv", makes the ledger durable, runs argv in cwd, appends step.ran. Returns 0 when
 * the command ran and exited 0, SL_EFAILED when it exited non-zero (message recorded), -errno
 * when it could not start. res may be NULL; when given, it must be released by the caller.
 * Without capture the output streams through our stdout line by line, the secrets of URLs
 * redacted (and terminal controls escaped). */
int op_run(struct op *op, const char *what, char *const argv[], const char *cwd, bool capture,
	   struct spawn_result *res);
/* op_run, with `shown` (NULL: argv[0]) as what the progress line says it waits for: a short
 * form of a long argv ("docker compose build web"). */
int op_run_as(struct op *op, const char *what, const char *shown, char *const argv[],
	      const char *cwd, bool capture, struct spawn_result *res);

/* Runs a build or hook: argv (["/bin/sh", "-c", TEXT] for the operator's shell strings) with
 * env_add (may be NULL) added to the environment, its output streamed and kept: each line is
 * shown once it is complete, with every value of `secrets` ("NAME=value" entries) and the
 * secrets of URLs (userinfo, token-like query values) redacted, and step.ran records the last
 * lines (OP_TAIL_LINES, at most OP_TAIL_BYTES), redacted the same way. A failure names the
 * command (the shell string, not "/bin/sh"). Returns like op_run. */
#define OP_TAIL_LINES 20
#define OP_TAIL_BYTES 2048
/* Disk kept free for the records between two side effects: a few dozen small commits and one
 * reducer snapshot (LMDB writes each commit to fresh pages), with a wide margin. */
#define OP_RECORD_ROOM (1024 * 1024)
int op_run_shell(struct op *op, const char *what, char *const argv[], const char *cwd,
		 char *const env_add[], const struct strv *secrets);

/* Records a check shiplog did itself (op_record_step) with what it found as the step's output. */
int op_record_check(struct op *op, const char *what, char *const argv[], const char *cwd,
		    int exit_code, int64_t duration_ns, const char *suffix, const char *output);

/* Records a step that shiplog did itself (libgit2, sd-bus): argv is the equivalent command a
 * person would type, shown with a "# via libgit2" style suffix. */
int op_record_step(struct op *op, const char *what, char *const argv[], const char *cwd,
		   int exit_code, int64_t duration_ns, const char *suffix);

/* Adds time spent waiting on something external (restart jobs, health checks). */
void op_waited(struct op *op, int64_t ns);

/* Closes any open phase (as failed when outcome is not SUCCEEDED), appends a phase.slow for
 * each phase slower than the comparable operations' p95 (op_expect), then op.finished
 * (durable), and prints the timings block (slow phases flagged). With --json, one result line
 * on stdout: {"kind", "op", "number", "outcome", "commit", "prev_commit", "rollback_op",
 * "rollback_number", "error"} and the keys of op->result_extra (a nested rollback prints its
 * own line first; a fleet controller reads the last). */
int op_finish(struct op *op, enum ledger_outcome outcome, uint64_t rollback_op);

/* The closing block: "== Deploy Timings ==" (Rollback, Cutover), one "[tag] <phase>: <dur>" line
 * per phase (a slow one with "  SLOW: p95 <dur>, p50 <dur> over N earlier") and "[tag] total:
 * <dur>" (the sum of the phases, as the reference). Ends the progress line first. */
void op_print_timings(const struct op *op);

/* Closes operations left open by a process that died: appends op.finished(interrupted) for the
 * in-flight operation (and its parent). Call with the deploy lock held. Prints what it closed. */
int op_close_interrupted(struct ledger *lg, const char *why_prefix);
/* The same with the state the caller read under the lock (st->inflight, st->parent). */
int op_close_inflight(struct ledger *lg, const struct ledger_state *st, const char *why_prefix);

#endif
