/* SPDX-License-Identifier: MIT */
/* The systemd manager over sd-bus. Nothing else in shiplog includes sd-bus.h. Functions return 0
 * or -errno; bus_errmsg() has the D-Bus error text of the last failure. */
#ifndef SHIPLOG_BUS_H
#define SHIPLOG_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;

/* user: the user manager ($XDG_RUNTIME_DIR/bus, falling back to the manager's private socket
 * $XDG_RUNTIME_DIR/systemd/private); else the system manager. */
int bus_open(struct bus **out, bool user);
void bus_close(struct bus *b);
/* On a bus_open() failure *out is NULL and bus_errmsg(NULL) has the message (what was tried,
 * why it failed, the fix). */
const char *bus_errmsg(const struct bus *b);

struct unit_props {
	char load_state[32];   /* "loaded", "not-found", "masked", "bad-setting", "error" */
	char active_state[32]; /* "active", "activating", "failed", ... */
	char sub_state[32];
	char result[32]; /* Service.Result: "success", "exit-code", "start-limit-hit" ... */
	char invocation_id[33];
	char fragment_path[256];
	uint32_t main_pid;
	uint32_t n_restarts;
	int32_t exec_main_status;
	int32_t exec_main_code; /* ExecMainCode: CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3) */
	uint32_t exec_main_pid; /* ExecMainPID: the last main process, also after it exited */
	uint64_t exec_main_start_us; /* realtime µs */
	uint64_t memory_bytes;	     /* MemoryCurrent, UINT64_MAX when unknown */
	bool need_daemon_reload;
};

/* Loads (LoadUnit) and reads a unit's properties. A unit that does not exist reads as
 * load_state "not-found" with return 0. */
int bus_unit_props(struct bus *b, const char *unit, struct unit_props *p);

/* A cheap look at a unit for a settle window's polls: ActiveState, SubState and (services)
 * NRestarts and MainPID, one small Get each, where bus_unit_props() has the manager serialize
 * every property of two interfaces (reading the unit's cgroup files on the way). When the unit
 * is not active, the rest of *p is read as bus_unit_props() does (Result, exit status), with
 * active_state and sub_state kept as this look saw them; otherwise the rest stays zero. Falls
 * back to bus_unit_props() when a Get fails (a unit that is not loaded, a lost connection), so
 * returns and errors are its. */
int bus_unit_watch(struct bus *b, const char *unit, struct unit_props *p);

/* "result exit-code, exit status 3" / "result signal, killed by signal SEGV (core dumped)":
 * why the last main process of a unit ended, from its props. */
void bus_format_exit(const struct unit_props *p, char *out, size_t n);

/* daemon-reload; returns when the manager has reloaded. */
int bus_reload(struct bus *b);

/* ResetFailedUnit: a failed unit becomes inactive and its start rate limit counter starts
 * again, so a start is not refused with start-limit-hit. */
int bus_reset_failed(struct bus *b, const char *unit);

struct restart_job {
	const char *unit;	/* in */
	char result[32];	/* out: JobRemoved result: "done", "failed", "timeout", "canceled",
				 * "dependency", "skipped"; "deadline" when we stopped waiting */
	int64_t duration_ns;	/* out: from queueing to JobRemoved */
	uint32_t pid_before;	/* out: MainPID before */
	uint32_t pid_after;	/* out: MainPID after */
	int error;		/* out: < 0 when the restart could not be queued */
	char errmsg[256];	/* out */
	bool reset_start_limit; /* out: it hit start-limit-hit once and was reset and retried */
	bool pending;		/* out: queued and not finished yet (for the watch below) */
};

/* Told while jobs run: once when they are queued and again each time one finishes, with
 * jobs[i].pending saying which are still waited for (the caller's progress line). */
struct bus_jobs_watch {
	void (*changed)(void *arg, const struct restart_job *jobs, size_t n);
	void *arg;
};

/* Subscribes to JobRemoved first, queues RestartUnit(unit, "replace") for every job at once and
 * waits for every job's result until deadline_ns (CLOCK_MONOTONIC). A unit that fails with
 * start-limit-hit is reset (ResetFailedUnit) and restarted once. Returns 0 when every job was
 * queued and finished (inspect each result), -ETIMEDOUT when the deadline passed first.
 * A job that could not be queued (NoSuchUnit...) gets error/errmsg, the others still run, and
 * the return value is that error (-ETIMEDOUT first); bus_errmsg() has its text. watch may be
 * NULL. */
int bus_restart_units(struct bus *b, struct restart_job *jobs, size_t n, int64_t deadline_ns,
		      const struct bus_jobs_watch *watch);

/* Stops units the same way (for take-over and rollback of a service that did not run before). */
int bus_stop_units(struct bus *b, struct restart_job *jobs, size_t n, int64_t deadline_ns,
		   const struct bus_jobs_watch *watch);

/* A transient service the manager runs and supervises (StartTransientUnit, mode "fail"): argv
 * (NULL-terminated; argv[0] an absolute path) with env ("K=V", NULL-terminated, may be NULL)
 * added to the manager's environment, in cwd; restarted after a failure (Restart=on-failure,
 * 1 s apart) and collected when it ends (CollectMode=inactive-or-failed); killed after
 * runtime_max_us (0: never). Returns once the start job is queued; -EEXIST (bus_errmsg says so)
 * when a unit of that name is loaded already. */
struct transient_spec {
	const char *unit; /* "name.service" */
	const char *description;
	char *const *argv;
	char *const *env;
	const char *cwd;
	uint64_t runtime_max_us;
};
int bus_start_transient(struct bus *b, const struct transient_spec *t);

/* EnableUnitFiles(units, runtime=false, force=true) then a reload; nothing is started. */
int bus_enable_units(struct bus *b, char *const *units, size_t n);

/* The user manager's unit directory for installed units: $XDG_CONFIG_HOME/systemd/user (or
 * ~/.config/systemd/user); malloc'd. */
char *bus_user_unit_dir(void);

#endif
