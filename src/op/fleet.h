/* SPDX-License-Identifier: MIT */
/* A fleet operation: one deploy (or rollback) per [host NAME], each run by the host's own
 * shiplog, in waves. The controller decides the waves (fleet_plan_make, pure), then runs them
 * (fleet_execute): canary first, the next wave only when the previous one verified, stopping at
 * [fleet] max_failed_hosts, rolling back the hosts it moved when on_failure = rollback-moved.
 * Each host's ledger stays authoritative for that host; the controller's ledger records the
 * fleet operation (fleet.started, fleet.wave, fleet.host, fleet.finished) with each host's
 * operation number, outcome and commit. */
#ifndef SHIPLOG_FLEET_H
#define SHIPLOG_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "plan.h"
#include "util.h"

struct ledger;

/* One host in the plan. */
struct fleet_member {
	const struct host *host;
	unsigned wave;	    /* 1, 2, ...; 0 when skipped */
	bool canary;	    /* in the canary wave */
	struct strv pieces; /* the services it deploys, passed as --pieces; empty: the scope as
			     * given (the host runs every service) */
	char skip[160];	    /* why it is not in any wave ("" it is) */
	char to[41];	    /* a rollback's --to for this host alone (fleet:N: what it ran
			     * before fleet operation N); "" the plan's target */
};

struct fleet_plan {
	const struct config *cfg;
	const char *kind;	      /* "deploy" | "rollback" */
	struct fleet_member *members; /* in wave order, the skipped ones last */
	size_t nmembers;
	unsigned nwaves;
	unsigned wave_size;   /* hosts per wave after the canary wave, resolved */
	unsigned parallelism; /* hosts at once inside a wave, resolved */
	struct strv target;   /* what to deploy as given: ["main"], ["branch", "x"], ["v1.2"]; a
			       * rollback's ["--to", "X"] or nothing */
	struct strv flags;    /* the other options forwarded to every host, scope excluded */
	struct strv scope;    /* the scope options as given (for hosts without a subset) */
};

/* The hosts a command names: names of [host NAME] sections or name=value labels (every host
 * carrying the label), in the config's order, each once; all of them when sel is empty. Fills
 * out with indexes into cfg->hosts. SL_EUSAGE with err naming what matches nothing. */
int fleet_select(const struct config *cfg, const struct strv *sel, size_t *out, size_t *nout,
		 char *err, size_t errlen);

/* Splits a deploy or rollback command line (argv[0] the command) into what every host gets:
 * the target words, the flags (the fleet's own options, --dry-run, --local/--ssh and
 * --no-progress dropped) and the scope options. options: the command's getopt table. */
void fleet_split_args(int argc, char **argv, const struct option *options, struct fleet_plan *p);

/* Pure: the waves over the hosts at indexes sel[0..nsel) of cfg->hosts. The canary wave first
 * ([fleet] canary: these hosts, or the first N), then waves of wave_size (or wave_size% of the
 * selected hosts, rounded up). scope (NULL: the full scope) is the deploy's scope over the
 * controller's config; a host with a services subset deploys the part of the scope it runs,
 * or is skipped (said) when it runs none of it. p->target/flags/scope are kept. SL_EUSAGE with
 * err when no host is left. Release with fleet_plan_release. */
int fleet_plan_make(const struct config *cfg, const size_t *sel, size_t nsel,
		    const struct plan *scope, struct fleet_plan *p, char *err, size_t errlen);
void fleet_plan_release(struct fleet_plan *p);

/* The words a member's host runs after "shiplog --forwarded-from ACTOR": --json, the command,
 * the target, the flags, and its pieces or the scope. Appended to words. */
void fleet_member_words(const struct fleet_plan *p, const struct fleet_member *m,
			struct strv *words);

/* --dry-run: the plan as text ("wave 1 (canary): web1"), or one JSON object with --json. */
void fleet_plan_print(const struct fleet_plan *p);

/* One host's run (fleet-run.c). */
struct fleet_host_run {
	const struct host *host;
	const struct strv *words;	 /* after the program: "--json", the command, ... */
	const char *shiplog;		 /* the program there (here, for a local host) */
	const char *ssh_key;		 /* NULL: ssh's own */
	const struct strv *more_options; /* [target]'s ssh options, after the host's */
	const char *control_path;	 /* ssh ControlPath to share the host's connection
					  * (remote_control_path()); NULL: a new one */
	int64_t timeout_ns;
};

/* What one host's run came to. */
struct fleet_result {
	const char *action; /* "deploy" | "rollback"; NULL: not run */
	char outcome[16];   /* the host's own (succeeded, failed, rolled-back, interrupted),
			     * or refused, unreachable, error */
	uint64_t host_op;   /* its operation number there, 0 unknown */
	char commit[41];    /* the commit it went to ("" unknown) */
	char prev[41];	    /* what it ran before ("" unknown) */
	char detail[512];   /* the error, or the host's last words */
	int64_t duration_ns;
};

/* Runs run->words on the host and fills r (never fails: what went wrong is r's outcome). */
void fleet_run_host(const struct fleet_host_run *run, struct fleet_result *r);

/* The last fleet deploy in the controller's ledger (fleet-last.c), for --retry-failed. */
struct fleet_last {
	uint64_t op;	    /* its fleet.started sequence */
	uint64_t number;    /* its operation number (0: recorded before fleet operations had one) */
	struct strv target; /* what it deployed, as given */
	struct strv flags;  /* the options every host got (the scope among them) */
	char commit[41];    /* the commit its hosts reached ("" none did) */
	struct strv failed; /* the hosts that did not reach it */
	bool finished;	    /* it ended (else the controller was lost) */
};
/* 0, -ENOENT when there is none, or a ledger error. Release with fleet_last_release. */
int fleet_last_read(struct ledger *lg, struct fleet_last *l);
void fleet_last_release(struct fleet_last *l);

/* One fleet operation as the controller's ledger recorded it (fleet-last.c), for history and
 * show: its intent, waves, every host run (fleet.host, in the order they ended; a host rolled
 * back after its deploy has two) and its end. */
struct fleet_view_host {
	char host[64];
	unsigned wave;	  /* 0: the rollback of a host it moved */
	char action[16];  /* deploy | rollback */
	uint64_t host_op; /* its operation number on the host, 0 unknown */
	char outcome[16];
	char commit[41];
	char prev_commit[41]; /* what it ran before, "" unknown */
	char detail[256];
	int64_t duration_ns;
};
struct fleet_view {
	uint64_t op;
	uint64_t number;     /* its operation number here */
	char kind[16];	     /* deploy | rollback */
	struct strv target;  /* as given */
	struct strv waves;   /* "h1", "h2, h3": wave i's hosts at waves.v[i - 1] (the waves that
			      * started) */
	struct strv planned; /* every host of its plan, wave started or not */
	uint64_t retries;    /* --retry-failed: the fleet operation it completes */
	struct fleet_view_host *hosts;
	size_t nhosts;
	char outcome[16];   /* "" when it has no fleet.finished (running, or its controller was
			     * lost) */
	char commit[41];    /* the target commit the hosts reported */
	struct strv failed; /* the hosts not at the target */
};
/* 0, LEDGER_ENOTFOUND when op is not a fleet operation, or a ledger error. Release with
 * fleet_view_release. */
int fleet_view_read(struct ledger *lg, uint64_t op, struct fleet_view *v);
void fleet_view_release(struct fleet_view *v);
/* The newest fleet operation when it has no end (its controller was lost): 0 with *v set,
 * -ENOENT when there is none or it ended, or a ledger error. */
int fleet_open_read(struct ledger *lg, struct fleet_view *v);

/* rollback --to fleet:N: sets each member's own --to to the commit it ran before fleet
 * operation N of this ledger moved it. 0; SL_EUSAGE with err naming the operation or the hosts
 * it did not move (and the fix); or a ledger error. */
int fleet_rollback_targets(struct ledger *lg, uint64_t number, struct fleet_plan *p, char *err,
			   size_t errlen);

/* Runs the plan from this machine (the controller), recording the fleet operation in the ledger
 * at ledger_dir under the fleet lock (<ledger_dir>/fleet.lock). 0 when every host in the plan
 * reached the target; SL_EFAILED when any did not (the hosts and what each runs are said);
 * SL_EINTERRUPTED when SIGINT/SIGTERM stopped it before every host ran (no host was started
 * after it, the running ones finished and were recorded, fleet.finished says interrupted);
 * SL_EREFUSED when another fleet operation holds the lock (its holder named). */
int fleet_execute(const struct fleet_plan *p, struct ledger *lg, const char *ledger_dir);
/* The same, recording that it completes the fleet operation `retries` (--retry-failed). */
int fleet_execute_retry(const struct fleet_plan *p, struct ledger *lg, const char *ledger_dir,
			uint64_t retries);

#endif
