/* SPDX-License-Identifier: MIT */
/* Rolling services back to commits chosen from the ledger, in two steps: a plan, computed
 * without touching anything from what was read once (the ledger's state and recent operations
 * under the deploy lock, what git says the target is), and its execution. `shiplog rollback`
 * prints the plan (--dry-run stops there) and executes it; a failed deploy whose policy is
 * on_failure = rollback plans its automatic rollback the same way, and the rollback operation
 * then nests inside the failed deploy (it names it in `reverts`). */
#ifndef SHIPLOG_ROLLBACK_H
#define SHIPLOG_ROLLBACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "config.h"
#include "guard.h"
#include "op.h"
#include "plan.h"
#include "point.h"
#include "remote.h"
#include "repo.h"
#include "util.h"

/* `shiplog rollback`'s arguments, parsed. */
struct rollback_args {
	struct scope_args scope; /* not explicit: every service the ledger has seen on runtime */
	int runtime;		 /* enum ledger_runtime */
	const char *to;		 /* --to as written; NULL: back to the last-good commits */
	bool no_build;
	enum remote_mode exec_mode; /* where it runs, decided before the plan */
};

/* What --to named, resolved (ROLLBACK_TO_NONE without --to). */
enum rollback_to_kind { ROLLBACK_TO_NONE, ROLLBACK_TO_POINT, ROLLBACK_TO_REF };
struct rollback_to {
	enum rollback_to_kind kind;
	const char *text;	   /* as written */
	struct point point;	   /* POINT: as parsed */
	struct point_at at;	   /* POINT: where it is in the ledger */
	struct ledger_state *then; /* POINT: the state there (owned) */
	char commit[REPO_OID_HEX]; /* REF: the commit git resolved it to */
};

/* How many of the newest operations the plan reads: enough to find an interrupted rollback and
 * to name what a rollback to the last-good commits passes over. */
#define ROLLBACK_RECENT 50

/* Everything a manual rollback's plan depends on besides the config and the arguments, read
 * once, under the deploy lock, by rollback_inputs_read(). */
struct rollback_inputs {
	struct ledger_state *now;	  /* the state now (owned) */
	struct ledger_op_summary *recent; /* the newest operations on the runtime, newest first */
	size_t nrecent;
	struct rollback_to to;	 /* --to resolved; when completing an interrupted rollback from a
				  * ledger that recorded no targets, its own --to */
	char head[REPO_OID_HEX]; /* the commit the checkout (or, releases layout, the current
				  * release) holds: what a rollback rolls away from */
	char checkout[REPO_OID_HEX]; /* the commit the checkout holds, either layout */
	/* [target] layout = releases, --to a point: what is on disk for each commit a service's
	 * owner ran at that point (an owner move starts from that commit's release) */
	struct rollback_release {
		char commit[REPO_OID_HEX];
		bool exists, built;
	} releases[LEDGER_MAX_SERVICES];
	size_t nreleases;
};

/* Reads the inputs for args: the state, the last operations on the runtime, what --to names
 * (a point: the state there; else a git ref). Returns 0; SL_EUSAGE when --to is none of an
 * operation, a sequence, a time or a ref, or names a point outside the ledger (said); a ledger
 * code when a read failed (said). Release in with rollback_inputs_release() either way. */
int rollback_inputs_read(struct ledger *lg, struct repo *repo, const struct config *cfg,
			 const struct rollback_args *a, struct rollback_inputs *in);
void rollback_inputs_release(struct rollback_inputs *in);

/* The commit the checkout holds on runtime (the current release's with the releases layout on
 * native), "" when unknown. */
void rollback_checkout_commit(const struct config *cfg, struct repo *repo, int runtime,
			      char head[REPO_OID_HEX]);

/* The newest operation among recent, when it is a rollback that did not finish (killed, or
 * stopped by a signal): the next plain rollback completes it. NULL otherwise. */
const struct ledger_op_summary *rollback_interrupted(const struct ledger_op_summary *recent,
						     size_t n);

struct rollback_target {
	size_t service;		   /* index into cfg->services */
	char commit[REPO_OID_HEX]; /* where it goes */
	char from[REPO_OID_HEX];   /* what it runs now ("" unknown) */
	char away[REPO_OID_HEX];   /* what it rolls away from: recorded in op.requested `from`, and
				    * quarantined when the rollback succeeds unless a service of the
				    * rollback runs it then; "" unknown */
};

/* A service in scope that the rollback leaves as it is, and why. */
struct rollback_left {
	char service[LEDGER_NAME_MAX];
	const char *why; /* "no earlier good commit in the ledger", ... */
};

/* An operation a rollback to the last-good commits passes over, newest first. */
struct rollback_passed {
	uint64_t op;	 /* its id */
	uint64_t number; /* its number, what notes show */
	char kind[16];
	char commit[LEDGER_COMMIT_MAX];
	enum ledger_outcome outcome; /* NONE: still open */
	bool quarantined;	     /* succeeded, but a rollback quarantined its commit */
};

/* A service whose owner the rollback puts back, through the cut-over's own move
 * (cutover_move_run_at: stop first, start, verify, record; reversed on failure) instead of
 * moving its commit: without --to, one whose newest change was a cut-over (its owner_op, also
 * the newest good operation on its owner), to the runtime it left at the commit it ran there;
 * with --to a point, one another runtime owns now than then, to the owner it had then at the
 * commit that one ran then. */
struct rollback_owner {
	size_t service;		   /* cfg index */
	int from, to;		   /* the owner now, and the one before the cut-over */
	char commit[REPO_OID_HEX]; /* what `to` starts: what it ran (plain: the checkout's commit;
				    * --to: what it ran at that point) */
	char back[REPO_OID_HEX];   /* what `from` runs now: what the reverse of a failed move
				    * starts again */
	uint64_t cutover;	   /* the cut-over it reverts (--to: the operation that made the
				    * owner now, 0 when a restart did) */
	bool stopped;		   /* no runtime owns it now (a move killed between its stop and
				    * its start): `to` starts it, `from` is stopped first, and a
				    * failure leaves it stopped */
	bool checkout_moves;	   /* the checkout goes to commit first (in place; releases: to
				    * docker when the commit has no release) */
	/* [target] layout = releases: the commit's release, as the plan found it (native starts
	 * from it, written and built first when it is not; compose reads it when it exists) */
	bool releases, release_exists, release_built;
};

/* How the targets were chosen. */
enum rollback_how {
	ROLLBACK_LAST_GOOD, /* each service's good commit before the one it runs */
	ROLLBACK_POINT,	    /* what each service ran at a point of the ledger */
	ROLLBACK_REF,	    /* one commit for every service */
	ROLLBACK_RECORDED,  /* what an interrupted rollback recorded as its targets */
	ROLLBACK_AUTO,	    /* after a failed deploy: each service's last-good commit */
};
const char *rollback_how_name(enum rollback_how how); /* "last-good", "point", ... */

struct rollback_plan {
	/* what op.requested records */
	char mode[16];	    /* "last-good" | "to" | "auto" (completing: the interrupted one's) */
	char *ref;	    /* the target as written, "" for last-good and auto (owned) */
	const char *reason; /* "manual" | "auto" */
	uint64_t reverts;   /* the operation whose effect is undone (0 none) */
	char quarantine[REPO_OID_HEX]; /* the checkout's commit it rolls away from (recorded as
					* prev_commit; the reducer of older ledgers quarantined it;
					* now each target's `away` is); "" unknown */
	int runtime;
	enum remote_mode exec_mode;
	/* how it runs */
	bool no_build;
	bool fast;		 /* skip the per-unit log output in verify */
	bool restart_all;	 /* restart every target, even one already at its commit (the failed
				  * deploy left it in an unknown state) */
	bool verify_all;	 /* verify every target, also those not restarted (completing an
				  * interrupted rollback, whose restarts were never verified) */
	char head[REPO_OID_HEX]; /* the checkout's commit before it */
	/* what it does */
	size_t scope[LEDGER_MAX_SERVICES]; /* the services in scope (cfg indexes) */
	size_t nscope;
	struct rollback_target targets[LEDGER_MAX_SERVICES];
	size_t ntargets;
	struct rollback_left left[LEDGER_MAX_SERVICES];
	size_t nleft;
	struct rollback_owner owners[LEDGER_MAX_SERVICES]; /* previous owners put back */
	size_t nowners;
	/* why these targets */
	enum rollback_how how;
	uint64_t completes;    /* the interrupted rollback this completes (0: none) */
	struct point_at at;    /* ROLLBACK_POINT: the point */
	char target_desc[256]; /* ROLLBACK_POINT: "the state after operation 41 (event 48)" */
	struct rollback_passed passed[ROLLBACK_RECENT];
	size_t npassed;
	struct strv notes; /* what it says before it runs, in order (one line each) */
	/* may it run */
	struct guard_list guards;
	int refusal; /* 0, or what a refusing guard exits with: SL_EUSAGE, SL_EFAILED */
};

/* The plan of a manual rollback: pure (no I/O). Returns 0 when it may run, else p->refusal
 * (the refusing verdict in p->guards says why). Release p with rollback_plan_release() either
 * way. */
int rollback_plan(const struct config *cfg, const struct rollback_args *a,
		  const struct rollback_inputs *in, struct rollback_plan *p);

/* What the automatic rollback of a failed deploy starts from. */
struct rollback_failed_deploy {
	uint64_t op;	 /* the failed deploy */
	uint64_t number; /* ... its number */
	int runtime;
	const size_t *services; /* its scope (cfg indexes) */
	size_t nservices;
	const char *prev;   /* the checkout's commit before it ("" unknown) */
	const char *target; /* the commit it deployed */
	const char *head;   /* the commit the checkout holds now */
	bool fast;
	enum remote_mode exec_mode; /* the failed deploy's */
};

/* The plan of the automatic rollback after a failed deploy: every service it touched back to
 * its last-good commit, or to the commit before the deploy when it has none yet. Pure; returns
 * like rollback_plan(). */
int rollback_plan_auto(const struct config *cfg, const struct ledger_state *now,
		       const struct rollback_failed_deploy *f, struct rollback_plan *p);

void rollback_plan_release(struct rollback_plan *p);

/* Part of rollback_plan. Plain (to the last-good state): each service in scope whose newest
 * change is a cut-over goes to p->owners and leaves the scope (its commit does not move); one
 * whose previous owner ran another commit than the checkout's is left, with a note. --to a
 * point: each service another runtime owns now than at that point goes to p->owners (back to
 * that owner at the commit it ran then) and leaves the scope; one owned then and now by the
 * other runtime than the rollback's is left with a note (restarting it would run it twice).
 * Pure. */
void rollback_plan_owners(struct rollback_plan *p, const struct config *cfg,
			  const struct rollback_inputs *in);
/* The owner moves as the plan prints them ("would put back ..."), and as JSON (an array). */
void rollback_owners_print(const struct rollback_plan *p, const struct config *cfg);
json_t *rollback_owners_json(const struct rollback_plan *p, const struct config *cfg);
/* Carries the owner moves out inside the rollback operation op, after its commit moves: the
 * services with the same move together (the checkout moved to their commit first, built for the
 * new owner when needed). 0, or SL_EFAILED with op->error naming the move, the cause and what
 * runs (a failed move is reversed: the old owner runs again, verified). */
int rollback_execute_owners(const struct rollback_plan *p, const struct config *cfg, struct op *op,
			    struct repo *repo);
/* The commit the checkout holds after the owner moves ("" when there are none). */
const char *rollback_owners_end(const struct rollback_plan *p);

/* Prints the plan as text: its notes, and with dry_run what it would move, record and refuse,
 * ending "--dry-run: nothing was changed or recorded". A refusal is said on stderr. */
void rollback_plan_print(const struct rollback_plan *p, const struct config *cfg, bool dry_run);
/* The plan as JSON (docs/commands.md, "rollback --dry-run --json"). */
json_t *rollback_plan_json(const struct rollback_plan *p, const struct config *cfg);

/* Carries a plan out (the caller holds the deploy lock; the plan does not refuse; st is the
 * ledger state the plan was made from, read under that lock: pruning old releases after a
 * success protects what it names, and the ledger is not read for it again): records
 * op.requested of kind rollback with the targets, moves the checkout group by group (services
 * that share a target commit), builds when needed, restarts only services not already at their
 * target, verifies them, puts back the owners of p->owners, finishes. *op_id gets the operation
 * id (0 when it could not start); on a failure, error (may be NULL) gets what op.finished
 * recorded as its cause. Returns 0 when it succeeded, SL_EINTERRUPTED when SIGINT/SIGTERM
 * stopped it (op.finished: interrupted), SL_EFAILED when it failed, or the code op_begin failed
 * with. */
int rollback_execute(const struct rollback_plan *p, const struct config *cfg, struct ledger *lg,
		     struct repo *repo, const struct ledger_state *st, uint64_t *op_id, char *error,
		     size_t errlen);

/* Prints (to stderr) what each service (cfg indexes) runs on runtime according to the ledger:
 * its commit, the operation that restarted it and whether it was verified since. For the end of
 * an operation that did not finish its work. */
void rollback_say_running(struct ledger *lg, const struct config *cfg, int runtime,
			  const size_t *svcs, size_t n);

#endif
