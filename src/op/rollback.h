/* SPDX-License-Identifier: MIT */
/* Rolling services back to commits chosen from the ledger. Used by `shiplog rollback` and by a
 * failed deploy whose policy is on_failure = rollback (then the rollback operation nests inside
 * the failed deploy: it names it in `reverts`). */
#ifndef SHIPLOG_ROLLBACK_H
#define SHIPLOG_ROLLBACK_H

#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "remote.h"
#include "repo.h"

struct rb_target {
	size_t service;		   /* index into cfg->services */
	char commit[REPO_OID_HEX]; /* where it goes */
	char from[REPO_OID_HEX];   /* what it runs now ("" unknown) */
};

struct rb_request {
	const char *mode;   /* "auto" | "last-good" | "to" */
	const char *ref;    /* the target as the operator wrote it ("" for auto) */
	const char *reason; /* "auto" | "manual" */
	uint64_t reverts;   /* the operation whose effect is undone (0 none) */
	int runtime;
	enum remote_mode exec_mode; /* where it runs: the command's mode, or the failed deploy's */
	bool no_build;
	bool fast;		 /* skip the per-unit log output in verify */
	bool restart_all;	 /* restart every target, even one already at its commit (the
				  * failed deploy left it in an unknown state) */
	bool verify_all;	 /* verify every target, also those not restarted (completing an
				  * interrupted rollback, whose restarts were never verified) */
	const char *prev_commit; /* what is rolled away from, for the quarantine; NULL = the
				  * checkout's (or current release's) commit */
	struct rb_target targets[64];
	size_t ntargets;
};

/* For each service (cfg indexes, n of them) its last-good commit on runtime from st; services
 * with none are left out and named in `missing` (may be NULL). `skip_current`: when a service
 * runs its last-good commit now, take the one before it (manual rollback). */
void rollback_pick_last_good(const struct config *cfg, const struct ledger_state *st, int runtime,
			     const size_t *svcs, size_t n, bool skip_current, struct rb_request *rq,
			     struct strv *missing);

/* Runs the rollback operation (the caller holds the deploy lock): records op.requested of kind
 * rollback, moves the checkout group by group (services that share a target commit), builds
 * when needed, restarts only services not already at their target, verifies them, finishes.
 * *op_id gets the operation id. Returns 0 when it succeeded, SL_EFAILED when it failed. */
int rollback_execute(struct cmd_ctx *ctx, struct repo *repo, struct rb_request *rq,
		     uint64_t *op_id);

/* Prints (to stderr) what each service (cfg indexes) runs on runtime according to the ledger:
 * its commit, the operation that restarted it and whether it was verified since. For the end of
 * an operation that did not finish its work. */
void rollback_say_running(struct ledger *lg, const struct config *cfg, int runtime,
			  const size_t *svcs, size_t n);

#endif
