/* SPDX-License-Identifier: MIT */
/* The steps an operation is made of, shared by deploy and rollback: move the checkout, build,
 * restart in parallel, verify. Each step echoes what it does, records it through struct op, and
 * returns 0, SL_EFAILED (the operation failed; op->error says why) or another negative code. */
#ifndef SHIPLOG_ROLLOUT_H
#define SHIPLOG_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "build.h"
#include "config.h"
#include "op.h"
#include "plan.h"
#include "remote.h"
#include "repo.h"

struct bus;
struct rollout;

/* What a runtime does; one table per runtime (native.c over sd-bus, docker.c over the compose
 * CLI). Every function returns 0 or a negative code; SL_EFAILED means op->error says why. */
struct runtime_ops {
	const char *name;
	/* Connects (bus; engine + compose) and says clearly what is missing. Not a side effect. */
	int (*open)(struct rollout *ro);
	void (*close)(struct rollout *ro);
	/* Everything in scope exists (units loaded / compose services defined); warnings (foreign
	 * compose projects). SL_EREFUSED + why when something is missing. */
	int (*precheck)(struct rollout *ro, char *why, size_t whylen);
	/* Builds for the services in scope (native: shared + service build commands; docker:
	 * images tagged with the commit, skipped when that image exists). Honours no_build. */
	int (*build)(struct rollout *ro);
	/* Restarts (native: reload when needed, parallel RestartUnit; docker: up -d) and records
	 * unit.restarted for each service. */
	int (*restart)(struct rollout *ro);
	/* Running and stable over the settle window; records health.checked kind unit/container. */
	int (*verify)(struct rollout *ro);
	/* The last lines of these services (plan indexes), shown by rollout_verify after the
	 * health checks when not --fast: every service's when verify passed, only the one whose
	 * check failed first when it failed (the rollback starts at once). NULL: the runtime's
	 * verify shows its own. */
	void (*show_logs)(struct rollout *ro, const size_t *plan_idx, size_t n);
	/* Stops the given services (cfg indexes) on this runtime: take-over from it. */
	int (*stop)(struct rollout *ro, const size_t *svcs, size_t n);
};

extern const struct runtime_ops native_runtime_ops, docker_runtime_ops;
const struct runtime_ops *runtime_ops_for(int runtime);

struct rollout {
	const struct config *cfg;
	struct op *op;
	struct repo *repo;
	const struct runtime_ops *ops;
	struct bus *bus; /* native runtime: opened by rollout_open_runtime */
	void *rt;	 /* runtime private data (docker: struct compose) */
	int runtime;	 /* enum ledger_runtime */
	struct plan plan;
	bool fast, no_build, force_recreate;
	bool force_build; /* --build: the shared build runs whatever changed */
	/* The shared build's decision (build_decide), made by the operation before the build
	 * phase: the runtime carries it out and does not decide again. */
	bool shared_build_decided;
	struct build_decision shared_build;
	bool reset_to_remote;	   /* --reset-to-remote: a diverged branch is reset to remote */
	const char *remote;	   /* the git remote the target was fetched from */
	char prev[REPO_OID_HEX];   /* checkout commit before */
	char target[REPO_OID_HEX]; /* commit being deployed */
	char branch[256];	   /* branch the checkout moves to, "" = detached */
	char config_digest[65];	   /* sha256 of the target's shiplog.conf applied, "" = none */
	struct strv changed;	   /* paths changed between prev and target */
	bool moved;		   /* the checkout was moved (a side effect to undo) */
	bool releases;		   /* target.layout = releases */
	bool release_built;	   /* releases: the target release was built before */
	bool links_set;		   /* releases: the links of the services in scope already name
				    * the target: rollout_restart switches nothing */
	char carried_from[REPO_OID_HEX]; /* releases: [target] carry came from this built
					  * release ("" = nothing carried) */
	char *workdir;			 /* where builds, checks and units run: the checkout, or the
					  * target's release directory */
	bool restarted;			 /* restarts were attempted */
	int64_t restarted_ns;		 /* realtime of the restarts: where a unit's lines begin */
	enum remote_mode exec_mode;	 /* where this operation runs (recorded; an automatic
					  * rollback runs in its deploy's mode) */
	const struct ledger_state *state; /* the ledger state the operation read under the lock
					   * (NULL: read where needed) */
};

void rollout_release(struct rollout *ro);

/* Opens what the runtime needs (the bus for native). Not a side effect. */
int rollout_open_runtime(struct rollout *ro);

/* Precheck of the runtime: every unit in scope is loaded (native). Returns SL_EREFUSED with a
 * message naming the unit and how to install it. */
int rollout_precheck_runtime(struct rollout *ro, char *why, size_t whylen);

/* Moves the checkout from prev to target (fast-forwarding ro->branch, or detached), records
 * git.moved and computes ro->changed. SL_EREFUSED (a diverged branch, local changes in the way)
 * is not printed: op->error says why and the caller refuses with it. */
int rollout_move_checkout(struct rollout *ro);

/* A checkout move a killed operation left half done (repo_move_pending): while HEAD is still at
 * its `from`, the paths it was moving that hold only what the checkout itself wrote are put back
 * to `from` (tree and index), recorded as a "checkout-restore" step. `from` is the one commit the
 * ledger, HEAD and the running services agree on: the checkout comes before any build or restart.
 * Paths holding anything else (an operator's own change) are left untouched and named with how
 * to look at and drop them; the dirty-tree guard then refuses. When HEAD reached `to` (the move
 * finished) or moved elsewhere since, nothing is touched. For deploy and rollback, before the
 * dirty-tree guard; returns 0 or the ledger's error. */
int rollout_recover_checkout(struct rollout *ro);

/* In-place layout, before the move: when the scope leaves services out and the move changes
 * files, says which services and which paths (they keep running the old commit while their files
 * are the new one) and records it as a "shared-checkout" step. */
void rollout_note_shared_checkout(struct rollout *ro);

/* Where builds and checks run (the checkout, or the target release). */
const char *rollout_workdir(const struct rollout *ro);
/* Releases layout: after a success, removes releases beyond [target] keep_releases, protecting
 * what the links name and what ro->state (the state read under the lock; nothing is pruned
 * without it) names: what each service ran, its last-good and the one before. The ledger is
 * not read again. */
void rollout_prune_releases(struct rollout *ro);

/* Helpers for runtimes. */
const struct service *rollout_service(const struct rollout *ro, size_t i);
void rollout_record_health(struct rollout *ro, const struct service *s, const char *kind,
			   const char *target, bool ok, uint32_t attempts, int64_t latency,
			   const char *detail);
void rollout_record_restart(struct rollout *ro, const struct service *s, const char *unit,
			    const char *result, int64_t duration_ns, const char *before,
			    const char *after);

/* Runs the shared build as ro->shared_build decided (not decided: it runs, and says so) and the
 * per-service builds of the services in scope (releases: of every service, unless the release
 * was built before). Skipped with no_build. */
int rollout_build(struct rollout *ro);

/* In-place layout, after a build command: the paths it left changed or untracked (outside
 * [target] allow_untracked) that are not in `seen` yet are recorded (step.ran "tree" with the
 * paths as output), added to `seen`, and reported with the ways to fix it. */
void rollout_check_tree(struct rollout *ro, const char *cmd, struct strv *seen);

/* Runs the hooks of `point`: the [hooks] ones (global environment), then those of each service
 * in scope (its environment), in the workdir, with SHIPLOG_HOOK, SHIPLOG_OP (the id),
 * SHIPLOG_OP_NUMBER, SHIPLOG_COMMIT,
 * SHIPLOG_PREV_COMMIT, SHIPLOG_SERVICE, SHIPLOG_UNIT
 * and SHIPLOG_SERVICES set. Each is a step.ran "hook
 * <point> [<service>]" with its last lines. Stops at the first failure: SL_EFAILED. */
int rollout_run_hooks(struct rollout *ro, enum hook_point point);

/* Releases layout: switches the links of the services in scope (and `current`) to the target
 * first, recorded (a "switch" step and git.moved; ro->moved), unless links_set. Then reloads the
 * manager when unit files changed and restarts every service in scope in parallel, recording
 * unit.restarted for each. */
int rollout_restart(struct rollout *ro);

/* Units active and stable over the settle window, then the services' health checks with
 * retries until the timeout. Records health.checked for each. */
int rollout_verify(struct rollout *ro);

/* The public checks of edge roles in scope (app URL HEAD when web is in scope; the API health
 * URL when api is). */
int rollout_public_verify(struct rollout *ro);

#endif
