/* SPDX-License-Identifier: MIT */
/* The releases layout (target.layout = releases): each deployed commit is written once, by
 * libgit2, into <checkout>.releases/<commit>/ and built there. Each service runs from its own
 * link, <checkout>.releases/current-<service>, switched atomically (rename of a new link over
 * it) only when that service is deployed, so a scoped deploy never changes the code under the
 * services outside its scope. <checkout>.releases/current names the release the newest
 * operation switched to (the previous release of the next deploy); no unit runs from it.
 * Rolling back to a release that still exists is a switch and a restart, with no rebuild. The
 * releases live beside the checkout, not in it, so the checkout never looks dirty. */
#ifndef SHIPLOG_RELEASES_H
#define SHIPLOG_RELEASES_H

#include <stdbool.h>
#include <stddef.h>

#include <ledger/ledger.h>

#include "config.h"
#include "repo.h"
#include "util.h"

/* <checkout>.releases, <checkout>.releases/current, <checkout>.releases/<commit>,
 * <checkout>.releases/current-<service>: malloc'd. */
char *releases_dir(const struct config *cfg);
char *releases_current(const struct config *cfg);
char *releases_path(const struct config *cfg, const char *commit);
char *releases_service_link(const struct config *cfg, const char *service);

/* The commit `current` (or a service's link) points at; -ENOENT when there is none. */
int releases_current_commit(const struct config *cfg, char out[REPO_OID_HEX]);
int releases_service_commit(const struct config *cfg, const char *service, char out[REPO_OID_HEX]);

/* Makes sure releases/<commit> exists (written into a temporary directory, then renamed, so a
 * release directory is always complete) with a REVISION file. *created says whether it was
 * written now; *built whether an earlier build of it completed (see releases_mark_built). */
int releases_ensure(struct repo *repo, const struct config *cfg, const char *commit, bool *created,
		    bool *built, char *err, size_t errlen);

/* Marks a release as built: its builds completed. */
int releases_mark_built(const struct config *cfg, const char *commit);
bool releases_is_built(const struct config *cfg, const char *commit);

/* Points the links of the n named services, then `current`, at releases/<commit>, each
 * atomically, all or nothing: when one fails, those switched before it are put back where they
 * were (removed when there was none) and its error is returned. */
int releases_switch(const struct config *cfg, const char *commit, const char *const *services,
		    size_t n, char *err, size_t errlen);

/* Points one link (a service's, or `current` when service is NULL) at releases/<commit>,
 * atomically; commit "" removes the link (it did not exist before). For putting links back. */
int releases_point(const struct config *cfg, const char *service, const char *commit, char *err,
		   size_t errlen);

/* Migration from the single `current` link (and the first scoped deploy): gives every service
 * that has no link one, pointing at the release of the commit the ledger says it runs (st may
 * be NULL) when that release exists, else at what `current` points at (what its unit ran from
 * before). Services left without any release get no link. Their names go to adopted. */
int releases_adopt(const struct config *cfg, const struct ledger_state *st, struct strv *adopted,
		   char *err, size_t errlen);

/* Keeps the newest `keep` releases (by creation time) and every protected one: the ones
 * `current` and every service's link point at, and, for every service, the commit it runs, its
 * last-good and the one before that (what `shiplog rollback` would go back to). Removes the
 * rest; their names go to removed. */
int releases_prune(const struct config *cfg, const struct ledger_state *st, unsigned keep,
		   struct strv *removed, char *err, size_t errlen);

/* <checkout>.shared: what [target] shared links every release to. malloc'd. */
char *releases_shared_dir(const struct config *cfg);

enum releases_carry_how { RELEASES_CARRY_REFLINK, RELEASES_CARRY_HARDLINK, RELEASES_CARRY_COPY };
struct releases_carry_result {
	enum releases_carry_how how;
	unsigned files;
	const char *skipped; /* why nothing was carried, or NULL */
};
const char *releases_carry_how_name(enum releases_carry_how how);

/* Copies releases/<from>/<path> into releases/<to>/<path> (a [target] carry entry), before the
 * build. Each file as a reflink (FICLONE) where the filesystem has them, else a copy; with
 * carry_method = hardlink as a hard link whose inode loses its write permission, so that an
 * in-place write by the build fails instead of changing the previous release (as root, which
 * ignores permissions: copies). Nothing is done when <to> has the path or <from> has not
 * (res->skipped says which). On error the partial copy is removed. */
int releases_carry(const struct config *cfg, const char *from, const char *to, const char *path,
		   struct releases_carry_result *res, char *err, size_t errlen);

/* Links each [target] shared path of releases/<commit> to <checkout>.shared/<path> (absolute
 * symlinks), replacing what the commit has there. A shared path that does not exist yet is
 * created first: copied from the checkout when it has one (the .env written there), else an
 * empty directory. What was created or replaced goes to notes. */
int releases_link_shared(const struct config *cfg, const char *commit, struct strv *notes,
			 char *err, size_t errlen);

#endif
