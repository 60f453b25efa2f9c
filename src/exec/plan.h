/* SPDX-License-Identifier: MIT */
/* Planning is pure: config + arguments + environment -> which services, which guards. Nothing
 * here touches the disk, git, the bus or the ledger. */
#ifndef SHIPLOG_PLAN_H
#define SHIPLOG_PLAN_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "config.h"
#include "util.h"

enum scope_kind { SCOPE_FULL, SCOPE_WEB, SCOPE_API, SCOPE_SERVICES, SCOPE_WORKERS, SCOPE_PIECES };

/* The scope options, declared once for every command that takes them (deploy, rollback, check,
 * soak): getopt_long entries to put in a command's option table, each with the val
 * SCOPE_OPT(kind) (--piece, the repeatable one-name form of --pieces: SCOPE_OPT_PIECE).
 * scope_args_option() takes what getopt_long returns; deploy's own parser looks names up in the
 * same entries (scope_options). */
#define SCOPE_OPT(kind) (0x100 + (int)(kind))
#define SCOPE_OPT_PIECE (SCOPE_OPT(SCOPE_PIECES) + 1)
/* clang-format off */
#define SCOPE_OPTIONS                                                                              \
	{"web-only", no_argument, NULL, SCOPE_OPT(SCOPE_WEB)},                                     \
	{"api-only", no_argument, NULL, SCOPE_OPT(SCOPE_API)},                                     \
	{"services-only", no_argument, NULL, SCOPE_OPT(SCOPE_SERVICES)},                           \
	{"workers-only", no_argument, NULL, SCOPE_OPT(SCOPE_WORKERS)},                             \
	{"pieces", required_argument, NULL, SCOPE_OPT(SCOPE_PIECES)},                              \
	{"piece", required_argument, NULL, SCOPE_OPT_PIECE}
/* clang-format on */
extern const struct option scope_options[]; /* SCOPE_OPTIONS, then {0} */

/* Scope flags as given on the command line. */
struct scope_args {
	enum scope_kind kind;
	bool explicit_;	    /* a scope flag or --pieces was given */
	struct strv pieces; /* --pieces a,b / repeatable --piece a */
	int nflags;	    /* how many of the --*-only flags were given (only one allowed) */
};

/* Recognises one scope option (long name without "--", value for pieces/piece). Returns 1 when it
 * was a scope option, 0 when not, SL_EUSAGE with err on a conflict ("choose only one scope
 * flag", "--pieces cannot be combined with --web-only"). */
int scope_args_take(struct scope_args *s, const char *name, const char *value, char *err,
		    size_t errlen);
/* The same for an option as getopt_long returned it (opt, with its optarg) from a table that
 * holds SCOPE_OPTIONS: 1 when it was a scope option, 0 when not (the caller's own), SL_EUSAGE
 * with err on a conflict. */
int scope_args_option(struct scope_args *s, int opt, const char *optarg, char *err, size_t errlen);
void scope_args_release(struct scope_args *s);

enum deploy_mode { DEPLOY_MAIN, DEPLOY_CURRENT_BRANCH, DEPLOY_BRANCH, DEPLOY_REF };
const char *deploy_mode_name(enum deploy_mode m); /* "main", "current-branch", "branch", "ref" */

struct deploy_args {
	enum deploy_mode mode;
	char *target; /* branch name (branch) or ref (ref) */
	int runtime;  /* enum ledger_runtime; -1 = not given (native... see plan) */
	bool fast, no_build, force_recreate, dry_run, edge_ready_flag, force, take_over;
	bool build;	      /* --build: run the shared build whatever changed */
	bool reset_to_remote; /* --reset-to-remote: reset a diverged branch to the remote */
	bool no_progress;     /* --no-progress: no live status line (output/progress.h) */
	int64_t wait_lock_ns; /* --wait-lock DURATION, 0 = refuse at once */
	int exec_override;    /* 0 none, 1 --local, 2 --ssh */
	struct scope_args scope;
	/* a fleet deploy ([host NAME] sections): */
	struct strv hosts; /* --hosts a,b (names, or name=value labels); repeatable */
	bool all_hosts;	   /* --all-hosts */
	bool retry_failed; /* --retry-failed: the hosts the last fleet deploy left behind
			    * (what to deploy is then optional: its target) */
	char pin[41];	   /* --pin COMMIT: the target must resolve to this commit after the
			    * fetch, else the deploy is refused ("" no pin) */
};

/* In the refusal of a deploy whose --pin the target no longer resolves to: a fleet retry looks
 * for it in a host's answer to say that the ref moved. */
#define DEPLOY_PIN_MOVED "not the pinned"

/* Whether a deploy or rollback goes over the fleet's hosts (--hosts, --all-hosts,
 * --retry-failed) rather than this checkout. */
bool deploy_args_fleet(const struct deploy_args *a);

/* deploy's options (SCOPE_OPTIONS and its own), for the command table; vals are not used. */
extern const struct option deploy_options[];

/* Parses `deploy` arguments (argv[0] = "deploy"). Accepts the reference's forms: "main",
 * "current-branch", "current branch", "branch NAME", a REF; flags before or after;
 * --runtime=X and --runtime X. SL_EUSAGE with err on anything wrong, including --force-recreate
 * with native. A REF or branch NAME that starts with '-' or holds control characters is
 * refused. */
int deploy_args_parse(int argc, char **argv, struct deploy_args *a, char *err, size_t errlen);
void deploy_args_release(struct deploy_args *a);

struct plan {
	size_t services[LEDGER_MAX_SERVICES]; /* indexes into cfg->services, registry order */
	size_t nservices;
	bool fast_narrowed; /* --fast narrowed a full scope (say so) */
	bool touches_edge;  /* a service whose role is an edge role is in scope */
	bool web_in_scope, api_in_scope;
	char scope_desc[64]; /* "full stack", "web only", "api only", "api + backend services",
			      * "worker services only", "pieces: a, b" */
	char notice[256];    /* the fast-narrowing notice, "" when none; no "[deploy] " prefix:
			      * print it with out_say("%s", notice) */
};

/* Computes the effective scope. --fast narrows only a full scope: native -> workers, docker ->
 * services. Unknown pieces: SL_EUSAGE listing the known services. An empty scope: SL_EUSAGE. */
int plan_scope(const struct config *cfg, const struct scope_args *s, int runtime, bool fast,
	       struct plan *p, char *err, size_t errlen);

/* The edge guard (reference §2.3): a native plan that touches the edge needs the
 * acknowledgement (--edge-ready or DEPLOY_NATIVE_EDGE_READY=1 exactly). Returns true when the
 * deploy may go on. */
bool plan_edge_allowed(const struct plan *p, int runtime, bool edge_ready_flag,
		       const char *env_value);

#endif
