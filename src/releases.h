/* SPDX-License-Identifier: MIT */
/* The releases layout (target.layout = releases): each deployed commit is written once, by
 * libgit2, into <checkout>.releases/<commit>/ and built there; <checkout>.releases/current is a
 * symlink switched atomically (rename of a new link over it); units run from `current`. Rolling
 * back to a release that still exists is a switch and a restart, with no rebuild. The releases
 * live beside the checkout, not in it, so the checkout never looks dirty. */
#ifndef SHIPLOG_RELEASES_H
#define SHIPLOG_RELEASES_H

#include <stdbool.h>
#include <stddef.h>

#include <ledger/ledger.h>

#include "config.h"
#include "repo.h"
#include "util.h"

/* <checkout>.releases, <checkout>.releases/current, <checkout>.releases/<commit>: malloc'd. */
char *releases_dir(const struct config *cfg);
char *releases_current(const struct config *cfg);
char *releases_path(const struct config *cfg, const char *commit);

/* The commit `current` points at; -ENOENT when there is no current release. */
int releases_current_commit(const struct config *cfg, char out[REPO_OID_HEX]);

/* Makes sure releases/<commit> exists (written into a temporary directory, then renamed, so a
 * release directory is always complete) with a REVISION file. *created says whether it was
 * written now; *built whether an earlier build of it completed (see releases_mark_built). */
int releases_ensure(struct repo *repo, const struct config *cfg, const char *commit,
		    bool *created, bool *built, char *err, size_t errlen);

/* Marks a release as built: its builds completed. */
int releases_mark_built(const struct config *cfg, const char *commit);

/* Points `current` at releases/<commit>, atomically. */
int releases_switch(const struct config *cfg, const char *commit, char *err, size_t errlen);

/* Keeps the newest `keep` releases (by creation time) and every protected one: the one
 * `current` points at, and, for every service, the commit it runs, its last-good and the one
 * before that (what `shiplog rollback` would go back to). Removes the rest; their names go to
 * removed. */
int releases_prune(const struct config *cfg, const struct ledger_state *st, unsigned keep,
		   struct strv *removed, char *err, size_t errlen);

#endif
