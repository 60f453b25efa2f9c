/* SPDX-License-Identifier: MIT */
/* Git, through libgit2 only. Nothing else in shiplog includes git2.h. Every function returns 0 or
 * a negative code; repo_errmsg() then says why in one line ("fetch 'origin': failed to resolve
 * path '/x': No such file or directory"). Object ids are 40-char hex strings (41 with NUL). */
#ifndef SHIPLOG_REPO_H
#define SHIPLOG_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define REPO_OID_HEX 41

struct repo;

/* Opens the repository whose work tree is path (no upward search). On failure *out is NULL and
 * repo_errmsg(NULL) says why (naming safe.directory when the owner check refused it). */
int repo_open(const char *path, struct repo **out);
void repo_free(struct repo *r);
const char *repo_errmsg(const struct repo *r);
const char *repo_workdir(const struct repo *r);

/* HEAD's commit; *branch gets the short branch name, "" when detached. */
int repo_head(struct repo *r, char oid[REPO_OID_HEX], char *branch, size_t branch_len);

/* Resolves any revspec (branch, tag, sha, remote/branch) to a commit. A spec that starts with
 * '-' or contains control characters is refused (SL_EUSAGE), never passed on. */
int repo_resolve(struct repo *r, const char *spec, char oid[REPO_OID_HEX]);

/* True when a configured remote of that name exists. */
bool repo_remote_exists(struct repo *r, const char *name);
/* All configured remote names. */
int repo_remote_list(struct repo *r, struct strv *names);
/* Remote resolution (reference §2.1, fixed): an explicit name (DEPLOY_GIT_REMOTE, or git.remote
 * when not "auto") must exist, else SL_EUSAGE naming it; otherwise the first existing of
 * branch.<branch>.remote (branch may be NULL), branch.<main>.remote, the candidates, then every
 * remote. *out is malloc'd. No remote at all: SL_EUSAGE listing what was tried. */
int repo_remote_resolve(struct repo *r, const char *explicit_name, const char *branch,
			const char *main_branch, const struct strv *candidates, char **out);

/* Fetches the remote's configured refspecs (prune). */
int repo_fetch(struct repo *r, const char *remote);

/* Working-tree changes: tracked modifications (staged or not) and untracked paths (recursing into
 * untracked directories), ignoring paths that match an allow glob (fnmatch, FNM_PATHNAME) and
 * ignored files. Each entry is "M path", "A path", "D path", "R path" or "?? path". */
int repo_dirty(struct repo *r, const struct strv *allow_globs, struct strv *dirty);

/* Paths that differ between two commits (both sides of renames). */
int repo_changed_paths(struct repo *r, const char *from_oid, const char *to_oid,
		       struct strv *paths);

/* The bytes of path (relative to the work tree) in commit oid, NUL-terminated in a malloc'd
 * *data. -ENOENT when the commit has no such file, -EFBIG over max bytes. */
int repo_read_file(struct repo *r, const char *oid, const char *path, size_t max, char **data,
		   size_t *len);

/* Moves the local branch to target (which must be a fast-forward of it, else SL_EREFUSED saying
 * so), checks it out safely and points HEAD at it. Creates the branch when missing. */
int repo_checkout_branch(struct repo *r, const char *branch, const char *target_oid);
/* The same; a refusal of a diverged branch names upstream ("origin/main", may be NULL) and how to
 * reset to it. With reset, a diverged branch is moved to target anyway (git reset --hard
 * upstream; the safe checkout still refuses to overwrite local changes). */
int repo_move_branch(struct repo *r, const char *branch, const char *target_oid,
		     const char *upstream, bool reset);
/* Checks out target safely and detaches HEAD at it. */
int repo_checkout_detached(struct repo *r, const char *target_oid);

/* A move of the work tree, recorded in the repository (<gitdir>/SHIPLOG_MOVE, written and synced)
 * before its checkout starts and cleared once the move is complete and recorded: a checkout that
 * was killed half way (files of both commits in the tree, HEAD still at `from`) is recognised by
 * the next operation, and only its own paths are put back.
 *
 * The record is one block of REPO_MOVE_RECORD bytes, the move or "idle", padded with newlines.
 * The first move of a checkout creates it (written whole, synced, renamed into place, the
 * directory synced); every later one overwrites it in place and syncs its data only (one
 * fdatasync of a block that is already allocated: no metadata, no journal commit). repo_move_end
 * writes "idle" without a sync: when an operating-system crash loses that write, the record
 * names a move that finished, which the next operation recognises (HEAD is no longer at its
 * `from`, or its paths already hold `from`) and clears. */
#define REPO_MOVE_RECORD 512
struct repo_move {
	char from[REPO_OID_HEX]; /* HEAD when the move started */
	char to[REPO_OID_HEX];	 /* the commit being checked out */
	char ref[256];		 /* the branch moved, "" when detached */
	unsigned long long op;	 /* the operation that moved it */
};
int repo_move_begin(struct repo *r, const struct repo_move *m);
int repo_move_end(struct repo *r); /* nothing to do when there is no record */
/* 1 and *m when a move was left unfinished, 0 when none; < 0 when the record cannot be read
 * (repo_errmsg names the file). */
int repo_move_pending(struct repo *r, struct repo_move *m);
/* Puts back, to m->from (the tree and the index), every path the move from -> to changes that
 * holds what the checkout itself can have left there: from's content, to's, a beginning of either
 * (a write cut short by the kill, of the checkout or of an earlier put-back), or nothing; those
 * that differed from m->from go to `restored`. A path holding anything else (someone's own change,
 * a staged one) is not touched and goes to `kept` as "M path" (from has it) or "A path" (only the
 * move's target has it). Only for a tree whose HEAD is m->from. */
int repo_move_undo(struct repo *r, const struct repo_move *m, struct strv *restored,
		   struct strv *kept);

/* Writes the tree of commit oid into dir (created; must not exist or be empty). For the
 * releases layout. */
int repo_materialize(struct repo *r, const char *oid, const char *dir);

/* Pushes branch to remote (setting upstream when missing). */
int repo_push_branch(struct repo *r, const char *remote, const char *branch);

#endif
