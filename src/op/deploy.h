/* SPDX-License-Identifier: MIT */
/* The deploy operation: plan purely, then execute once.
 *
 *   deploy_facts_read()  what git, the lock and the ledger's place say now (reads only)
 *   deploy_plan()        pure: config + arguments + facts + one ledger state -> the whole plan:
 *                        services and their targets, every guard's verdict, builds and why,
 *                        execution mode, runtime, layout
 *   deploy_plan_print()  --dry-run: exactly the plan, as text or JSON
 *   deploy_execute()     carries the plan out through op.c and rollout.c
 *
 * The ledger state is read once, under the lock, by deploy_execute and passed down (closing an
 * interrupted operation, the guards, the automatic rollback); only pruning old releases after a
 * success reads the state the deploy produced. */
#ifndef SHIPLOG_DEPLOY_H
#define SHIPLOG_DEPLOY_H

#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "build.h"
#include "config.h"
#include "guard.h"
#include "plan.h"
#include "remote.h"
#include "repo.h"

/* --dry-run, docker: what the compose CLI and the engine say now, asked with the precheck's and
 * the build's own read-only commands (`compose config`, `docker image ls`), recorded nowhere. */
struct deploy_compose_facts {
	bool read;			     /* asked: the fields below say what was found */
	char open_error[GUARD_REASON_MAX];   /* the engine or compose cannot be asked ("") */
	char config_error[GUARD_REASON_MAX]; /* no compose file, or compose rejects it ("") */
	char file[512];			     /* the compose file read, at the checkout's commit */
	struct strv services, built; /* the services it defines; those with a build section */
	char target[REPO_OID_HEX];   /* the commit the fields below are for ("" unknown) */
	bool dir_changed;	     /* target changes the compose directory: the build reads the
				      * compose file again after the move */
	bool images_read;	     /* the engine was asked for target's image tags ... */
	char images_error[256];	     /* ... or why it could not be ("") */
	struct strv images;	     /* the tags of target's images that the engine has */
};

/* What the deploy found before planning; nothing here changed anything. */
struct deploy_facts {
	char *remote;		    /* the git remote the target comes from (malloc'd) */
	enum remote_mode exec_mode; /* where this deploy runs (remote_maybe_forward decided) */
	const char *forwarded_from; /* user@host when forwarded over ssh, else NULL */
	const char *edge_ready_env; /* DEPLOY_NATIVE_EDGE_READY as found (may be NULL) */
	char head[REPO_OID_HEX];    /* the checkout's commit ("" before the first) */
	char branch[256];	    /* its branch ("" detached) */
	char prev[REPO_OID_HEX];    /* what runs now: head, or the current release's commit */
	bool move_pending;	    /* a checkout move a killed operation left unfinished:
				     * the run puts it back first (rollout_recover_checkout) */
	struct repo_move move;
	int dirty_error; /* 0, or why the checkout's status could not be read */
	char dirty_errmsg[256];
	struct strv dirty;	    /* paths with local changes outside [target] allow_untracked */
	char target[REPO_OID_HEX];  /* the target as the checkout resolves it now, without a
				     * fetch; "" when it does not know it yet */
	bool lock_known, lock_held; /* --dry-run: the lock's state (the real run takes it) */
	char lock_holder[512];
	/* --dry-run, native: the unit files of the services in scope, read (not the manager) */
	bool units_read;		      /* read: the fields below say what was found */
	char units_missing[GUARD_REASON_MAX]; /* the first unit with no file, and where ("") */
	char units_stale[GUARD_REASON_MAX];   /* units whose file differs from what 'shiplog
					       * units install' writes now ("" none) */
	char units_dir[512];		      /* where shiplog installs them */
	char units_error[GUARD_REASON_MAX];   /* why the templates could not be rendered ("") */
	struct deploy_compose_facts compose;  /* --dry-run, docker */
	struct build_facts build; /* what the shared build's decision needs: the last completed
				   * build (deploy_facts_read_builds), what changed since */
	bool ledger_known;	  /* --dry-run: whether the real run could write the ledger */
	int ledger_error;	  /* 0 writable, else -errno */
	const char *ledger_dir;	  /* where the ledger is ("" unknown) */
};

/* Reads the facts: the checkout's head and branch, what runs, the remote (resolved as the
 * config says), local changes, the target as known without a fetch. With dry_run also the
 * lock, whether the ledger could be written at ledger_dir (may be NULL), and the runtime's
 * side: the unit files (native), or what compose defines and which images the engine has
 * (docker). Returns 0 or a
 * negative code (said): a remote that cannot be resolved. Release with deploy_facts_release. */
int deploy_facts_read(const struct config *cfg, const struct deploy_args *a, struct repo *repo,
		      const char *ledger_dir, bool dry_run, struct deploy_facts *f);
void deploy_facts_release(struct deploy_facts *f);

/* Reads what the shared build's decision needs for target (f->target when NULL): in place, the
 * last completed build of the checkout from lg (NULL: there is no ledger yet, so none is
 * recorded) and the paths git reports changed since; releases layout, whether the target's
 * release was built before, the built release a new one carries its build output from, and the
 * paths changed since that one. Reads only. */
void deploy_facts_read_builds(struct deploy_facts *f, const struct config *cfg,
			      const struct deploy_args *a, struct repo *repo, struct ledger *lg,
			      const char *target);

/* A build the plan runs, or skips, and why. */
struct deploy_build {
	const char *service;	/* NULL for the shared build */
	const char *command;	/* the operator's shell string (NULL: a docker image) */
	enum guard_result runs; /* PASS runs, REFUSE skipped, UNKNOWN: not decided from what the
				 * plan knows (docker: the engine was not asked, or the target
				 * commit's compose file is read after the move) */
	char why[BUILD_WHY_MAX];
};

#define DEPLOY_MAX_BUILDS 64

struct deploy_plan {
	const struct config *cfg;
	const struct deploy_args *args;
	struct deploy_facts *facts; /* not changed by deploy_plan(); the run updates it as it
				     * learns (local changes after putting back a killed move) */
	struct plan scope;	    /* the services in scope (indexes into cfg->services) */
	int runtime;		    /* enum ledger_runtime */
	bool releases;		    /* the releases layout (native only); else in place */
	const char *ref;	    /* the target as recorded: branch, ref, or main's name */
	char *target_spec;	    /* what the fetch resolves ("refs/remotes/origin/main") */
	char target[REPO_OID_HEX];  /* the commit: facts->target, then what the fetch resolved */
	char branch[256];	    /* the branch the checkout moves to ("" detached) */
	/* The target commit's shiplog.conf, once read after the fetch (the config guard): */
	bool target_cfg_read;		  /* false: not read yet (the guard is unknown) */
	const struct config *target_cfg;  /* NULL: not in the commit, or not tracked */
	char target_cfg_error[768];	  /* why it cannot apply ("" none) */
	char target_cfg_name[128];	  /* "<commit>:shiplog.conf" */
	char target_cfg_note[512];	  /* with target_cfg NULL: why the started config applies */
	bool lock_taken;		  /* the run holds the deploy lock */
	bool units_checked;		  /* the runtime was asked whether every unit exists ... */
	char units_why[GUARD_REASON_MAX]; /* ... and what is missing ("" nothing) */
	struct guard_list guards;	  /* every guard, in the order the real run checks them */
	struct build_decision shared_build; /* native: the shared build's decision (build_decide
					     * over facts->build), which the executor carries out */
	struct deploy_build builds[DEPLOY_MAX_BUILDS];
	size_t nbuilds;
	const char *flags[12]; /* recorded in op.requested */
	size_t nflags;
	char *forwarded_flag; /* "forwarded-from=user@host" (owned) */
};

/* The guards, pure functions of the plan and the state (st may be NULL: not read, so those
 * that need it are GUARD_UNKNOWN). Each sets v. The real run checks them in this order. */
void deploy_guard_edge(const struct deploy_plan *p, const struct ledger_state *st,
		       struct guard_verdict *v);
void deploy_guard_lock(const struct deploy_plan *p, const struct ledger_state *st,
		       struct guard_verdict *v);
void deploy_guard_dirty_tree(const struct deploy_plan *p, const struct ledger_state *st,
			     struct guard_verdict *v);
void deploy_guard_units(const struct deploy_plan *p, const struct ledger_state *st,
			struct guard_verdict *v);
void deploy_guard_ownership(const struct deploy_plan *p, const struct ledger_state *st,
			    struct guard_verdict *v);
void deploy_guard_quarantine(const struct deploy_plan *p, const struct ledger_state *st,
			     struct guard_verdict *v);
void deploy_guard_config(const struct deploy_plan *p, const struct ledger_state *st,
			 struct guard_verdict *v);

/* The scope part of the plan, pure, checked before anything is read: SL_EUSAGE with err. */
int deploy_plan_scope(const struct config *cfg, const struct deploy_args *a, struct plan *scope,
		      char *err, size_t errlen);

/* (Re)computes every guard's verdict into p->guards from the plan as it stands and st (may be
 * NULL). Pure. The executor calls it as it learns the state, the target and the runtime's
 * answer, so that each guard is decided by the same function --dry-run printed. */
void deploy_plan_guards(struct deploy_plan *p, const struct ledger_state *st);

/* Reads the target commit's shiplog.conf from git (the blob at p->target, no checkout) into the
 * plan, for the config guard: parsed, checked, its digest compared by the guard. The config
 * applies only when its file is tracked in the checkout (else p->target_cfg_note says why the
 * started one applies). *tcfg gets what to free (NULL when nothing was loaded). Reads only. */
void deploy_plan_read_target_config(struct deploy_plan *p, struct repo *repo, struct config **tcfg);

/* (Re)computes the builds into p->builds and p->shared_build from the plan as it stands (the
 * target, the target commit's config once read) and p->facts->build. Pure. The executor calls
 * it once it has moved to the target, so that the build runs as the same function decided. */
void deploy_plan_builds(struct deploy_plan *p);

/* Resolves what the deploy targets (the remote branch, or a REF, or a bare branch name as REF
 * on the remote) in the checkout as it is. 0, or a negative code with repo_errmsg(repo). */
int deploy_target_resolve(struct repo *repo, const struct deploy_args *a, const struct config *cfg,
			  const char *remote, char oid[REPO_OID_HEX]);

/* Pure: nothing is read or changed. Returns 0 with *p filled (every guard's verdict in
 * p->guards), or SL_EUSAGE with err (a scope that does not fit the config, --reset-to-remote
 * with a REF, [public] app_url missing with an edge role in scope). st may be NULL. p borrows
 * cfg, a and f; release it with deploy_plan_release. */
int deploy_plan(const struct config *cfg, const struct deploy_args *a, struct deploy_facts *f,
		const struct ledger_state *st, struct deploy_plan *p, char *err, size_t errlen);
void deploy_plan_release(struct deploy_plan *p);

/* The plan's head lines, printed by every deploy: what, through which runtime, the remote, the
 * execution mode, the services. */
void deploy_plan_say(const struct deploy_plan *p);

/* --dry-run: the rest of the plan (target, builds, every guard, the ledger), as text, or as one
 * JSON object on stdout with --json (docs/commands.md). Returns 0 when the real run would go on,
 * SL_EREFUSED when a guard would refuse, or the ledger error the real run would stop with. */
int deploy_plan_print(const struct deploy_plan *p);

/* Carries the plan out (the caller already printed it with deploy_plan_say): the edge guard,
 * the lock, the ledger state read once, the intent, precheck -> rollout -> build -> restart ->
 * verify -> public verify, and [policy] on_failure when it fails after something moved.
 * Returns 0 or a negative code (said). */
int deploy_execute(struct deploy_plan *p, struct repo *repo, struct ledger *lg,
		   const char *ledger_dir);

/* current-branch, in this clone (cfg->dir): refuses a detached HEAD or any local change, pushes
 * the branch to its remote (setting its upstream when missing), under a "Local Publish" phase.
 * The branch's name goes to out. 0, SL_EUSAGE (not a checkout), SL_EREFUSED, SL_EFAILED (the
 * push), all said. */
int deploy_publish_branch(const struct config *cfg, char *out, size_t outlen);

#endif
