/* SPDX-License-Identifier: MIT */
/* The cut-over: moving services from one runtime to the other, deliberately (the reference's
 * cutover.sh and its full rollback back to Docker). One owner at a time: the old owner stops
 * first, then the new one starts at the same commit and is verified; a failure stops the new one,
 * puts the old one back and verifies it. Like deploy, in two steps:
 *
 *   cutover_facts_read()  what the target runtime, the checkout, the lock and the ledger say now
 *                         (reads only: the manager's unit states, the compose file and images,
 *                         the soak verdicts)
 *   cutover_plan()        pure: config + arguments + facts + one ledger state -> the moves and
 *                         every guard's verdict
 *   cutover_plan_print()  --dry-run: exactly the plan, as text or JSON
 *   cutover_execute()     carries the plan out through op.c and rollout.c
 *
 * cutover_move_run() is the move itself (stop, start, verify, record; reversed on failure),
 * shared with a rollback that crosses a cut-over. */
#ifndef SHIPLOG_CUTOVER_H
#define SHIPLOG_CUTOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "config.h"
#include "guard.h"
#include "op.h"
#include "plan.h"
#include "remote.h"
#include "repo.h"

struct cutover_args {
	struct strv services; /* as named on the command line */
	int to;		      /* enum ledger_runtime: where they go */
	bool dry_run;
	bool without_soak;    /* no passing soak verdict needed (recorded as a flag) */
	int64_t wait_lock_ns; /* --wait-lock, 0 = refuse at once */
	enum remote_mode exec_mode;
};

/* The newest soak.verdict that judged a service. */
struct cutover_soak {
	bool found;
	bool pass;
	uint64_t seq; /* the event */
	int64_t time_ns;
	char window[LEDGER_NAME_MAX];
	char why[256]; /* its reasons about this service ("" when it passed) */
};

/* What the target runtime says about one service. */
struct cutover_ready {
	bool asked;	/* the runtime answered for it */
	bool ready;	/* it can start the service (unit loaded, compose service defined) */
	bool built;	/* docker: the image of the commit exists (or is not built from source) */
	char what[384]; /* what was found ("unit compute.service loaded", "image ... exists") or
			 * what is missing, with the fix */
};

/* What the cut-over found before planning; nothing here changed anything. Per service, by
 * cfg index. */
struct cutover_facts {
	char head[REPO_OID_HEX];   /* the checkout's commit ("" none) */
	char built[REPO_OID_HEX];  /* in place: the commit of the checkout's last completed shared
				    * build ("" none recorded) */
	char commit[REPO_OID_HEX]; /* the commit the named services run (the state's; "" when
				    * none or not one): what the runtime was asked about */
	/* [target] layout = releases: the new runtime starts from the commit's release, not from
	 * the checkout. Native: releases/<commit> exists and its build completed (else the run
	 * writes and builds it first); docker: compose reads (and builds from) tree. */
	bool releases;
	bool release_exists, release_built;
	char tree[1024];    /* docker: the directory compose is read from for commit ("" none) */
	bool runtime_asked; /* the target runtime was reached ... */
	char runtime_error[512]; /* ... or why not */
	struct cutover_ready ready[LEDGER_MAX_SERVICES];
	bool soak_read; /* the ledger was searched for soak verdicts */
	struct cutover_soak soak[LEDGER_MAX_SERVICES];
	bool lock_known, lock_held; /* --dry-run: the lock's state (the real run takes it) */
	char lock_holder[512];
};

/* One service's move. */
struct cutover_move {
	size_t service;		   /* cfg index */
	int from;		   /* its owner now (enum ledger_runtime), -1 none */
	char commit[REPO_OID_HEX]; /* what it runs there: what the new owner starts */
};

struct cutover_plan {
	const struct config *cfg;
	const struct cutover_args *args;
	const struct cutover_facts *facts;
	int to;	  /* enum ledger_runtime */
	int from; /* the runtime they leave (the other one) */
	struct cutover_move moves[LEDGER_MAX_SERVICES];
	size_t nmoves;
	struct plan scope;	   /* the services (cfg indexes), edge roles, description */
	char commit[REPO_OID_HEX]; /* the one commit they all run ("" when not known) */
	bool edge_switch;	   /* an edge role moves and [edge] switch is set */
	bool build;		   /* the commit is not built for the new runtime: it is built
				    * first, before anything stops (a failed build changes nothing) */
	char build_why[256];	   /* why it builds, or why not */
	bool lock_taken;	   /* the run holds the deploy lock */
	struct guard_list guards;  /* every guard, in the order the real run checks them */
	const char *flags[2];	   /* recorded in op.requested: "without-soak" */
	size_t nflags;
};

/* Reads the facts for the services of a (names that are not services are skipped: the plan
 * refuses them): the checkout's head and last build (lg may be NULL), the commit they run by
 * st (NULL: none), the target runtime's answer for each service at that commit (the checkout's
 * head when none; releases layout: the release of the commit), the newest soak verdict of
 * each, and with a->dry_run the lock at ledger_dir. Reads only. */
void cutover_facts_read(const struct config *cfg, const struct cutover_args *a, struct repo *repo,
			struct ledger *lg, const struct ledger_state *st, const char *ledger_dir,
			struct cutover_facts *f);

/* The guards, pure functions of the plan and the state (st NULL: the ledger was not read). */
void cutover_guard_lock(const struct cutover_plan *p, const struct ledger_state *st,
			struct guard_verdict *v);
void cutover_guard_owner(const struct cutover_plan *p, const struct ledger_state *st,
			 struct guard_verdict *v);
void cutover_guard_ready(const struct cutover_plan *p, const struct ledger_state *st,
			 struct guard_verdict *v);
void cutover_guard_soak(const struct cutover_plan *p, const struct ledger_state *st,
			struct guard_verdict *v);

/* (Re)computes the moves and every guard's verdict from the plan's facts and st. Pure. */
void cutover_plan_guards(struct cutover_plan *p, const struct ledger_state *st);

/* Pure: nothing is read or changed. 0 with *p filled, or SL_EUSAGE with err (an unknown or
 * repeated service, none at all, [public] app_url missing when an edge role moves). */
int cutover_plan(const struct config *cfg, const struct cutover_args *a,
		 const struct cutover_facts *f, const struct ledger_state *st,
		 struct cutover_plan *p, char *err, size_t errlen);

/* The head lines every cut-over prints: what moves where. */
void cutover_plan_say(const struct cutover_plan *p);
/* --dry-run: the plan's moves and every guard, as text, or one JSON object with --json.
 * 0 when the real run would go on, SL_EREFUSED when a guard would refuse. */
int cutover_plan_print(const struct cutover_plan *p);
json_t *cutover_plan_json(const struct cutover_plan *p);

/* The real run: the lock, the state read once (an operation a dead process left open is
 * closed), the facts read once under the lock, the plan (printed) and its guards, the intent,
 * then stop old -> start new -> verify (-> edge switch -> public checks); on failure the
 * reverse. 0, SL_EUSAGE, SL_EREFUSED (said; recorded as a standalone op.refused), SL_EFAILED
 * (the cut-over failed; what runs is said, naming the operation), or another code. */
int cutover_execute(const struct config *cfg, const struct cutover_args *a, struct repo *repo,
		    struct ledger *lg, const char *ledger_dir);

/* How a move ended. */
enum cutover_end {
	CUTOVER_MOVED,	   /* the new owner runs, verified */
	CUTOVER_UNCHANGED, /* it failed before anything stopped (the build): the old owner runs */
	CUTOVER_REVERSED,  /* the new owner failed; the old one runs again, verified */
	CUTOVER_BROKEN,	   /* the reverse failed too (or it was interrupted): see the ledger */
};

/* One move inside a running operation: with build, the commit is built for `to` first (a
 * failure there stops nothing); then the services (cfg indexes) stop on `from`, start on `to`
 * at `commit`, and are verified there (for an edge role, then the [edge] switch and the public
 * checks); owner.changed records each step. When the new runtime fails, it is stopped (the
 * [edge] revert runs when the switch ran), `from` starts again at the same commit and is
 * verified. op->error keeps the cause. Returns 0 (CUTOVER_MOVED), SL_EFAILED with *end saying
 * where it stopped, or the ledger's error. */
int cutover_move_run(struct op *op, const struct config *cfg, struct repo *repo, const size_t *svcs,
		     size_t n, int from, int to, const char *commit, bool build,
		     enum cutover_end *end);
/* cutover_move_run() when the old owner runs another commit than the one the new owner starts
 * (a rollback to an earlier point): `back` is what `from` runs. The checkout moves to `commit`
 * first when the new owner starts from it and it holds another (git.moved), and to `back` in
 * the reverse, before the old owner starts again; a move that ends before the old owner stopped
 * puts the checkout back where it was. back NULL: nothing runs on `from` now (the service is
 * stopped, owned by none): `from` is stopped all the same (never both running, unrecorded
 * since it changes no owner), and the reverse of a failed start stops the new owner and
 * starts nothing (CUTOVER_REVERSED: stopped again, as before).
 *
 * A first SIGINT/SIGTERM (op_interrupted) ends the current step, then: before the old owner
 * stopped, CUTOVER_UNCHANGED; after it stopped and before the new one passed its verify, the
 * reverse runs as on a failure (the signal held, op_interrupt_take; a second one kills) and
 * op_interrupted is set again after it; once the new one passed, the owner is recorded and it
 * returns 0 (CUTOVER_MOVED) with op_interrupted set. The caller ends the operation interrupted
 * and says which. */
int cutover_move_run_at(struct op *op, const struct config *cfg, struct repo *repo,
			const size_t *svcs, size_t n, int from, int to, const char *commit,
			const char *back, bool build, enum cutover_end *end);

#endif
