/* SPDX-License-Identifier: MIT */
/* The shared build's decision: whether the native runtime's shared `build` commands run for a
 * target, and why. build_decide() is pure, a function of the config's build_when_changed list,
 * --build, and the facts read for it (build_facts_*): the commit of the last completed build
 * (the newest build.completed of the checkout in the ledger; an interrupted or failed build
 * wrote none, so it counts as no build), or, in the releases layout, the release whose build
 * output was carried, and the paths git reports changed between that commit and the target.
 * The operation's plan decides with it (--dry-run prints the decision) and the runtime carries
 * the decision out (struct rollout's shared_build). */
#ifndef SHIPLOG_BUILD_H
#define SHIPLOG_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "repo.h"
#include "util.h"
#include "view.h"

#define BUILD_WHY_MAX 512

/* What the decision depends on besides the config and the flags; every field is read, none is
 * decided. Release with build_facts_release. */
struct build_facts {
	bool releases;		 /* the releases layout: base is a carried release */
	char path[4096];	 /* in place: the checkout whose builds were read */
	bool base_read;		 /* in place: the ledger was read for base */
	int base_error;		 /* in place: the ledger's code when it could not be read */
	char base[REPO_OID_HEX]; /* in place: the commit of the last completed build of the
				  * checkout; releases: the built release whose output was (or
				  * will be) carried into the target's; "" none */
	uint64_t base_op;	 /* in place: the operation that built base */
	char base_op_name[VIEW_OP_NAME_MAX]; /* ... as people read it (view_op_name) */
	bool release_built;		     /* releases: the target's release was built before */
	char target[REPO_OID_HEX]; /* changed is between base and this commit ("" not diffed) */
	struct strv changed;	   /* the paths git reports changed between base and target */
	char diff_error[256];	   /* why they could not be listed ("" none) */
};

/* The newest build.completed of path in the ledger: f->base, f->base_op ("" and 0 when none),
 * f->base_read; f->base_error on a read error (also returned). One backward scan, which stops
 * at the first build of path. */
int build_facts_read_last(struct ledger *lg, const char *path, struct build_facts *f);

/* The paths changed between f->base and target, as git reports them (nothing when base is ""
 * or equals target). Sets f->target; a failure goes to f->diff_error (also returned). */
int build_facts_diff(struct repo *repo, const char *target, struct build_facts *f);

void build_facts_release(struct build_facts *f);

struct build_decision {
	bool run;		 /* the shared build runs */
	char why[BUILD_WHY_MAX]; /* why it runs, or why it is skipped */
};

/* Pure: the shared build's decision for target. when: build_when_changed (globs, fnmatch with
 * FNM_PATHNAME, or exact paths); force: --build. The reasons name what changed and since
 * which build, or that none is recorded, or that --build forces it. Whether the releases
 * layout builds at all (a release built before builds nothing) is the caller's: this decides
 * the shared build of a release that gets built. */
void build_decide(const struct strv *when, bool force, const char *target,
		  const struct build_facts *f, struct build_decision *d);

#endif
