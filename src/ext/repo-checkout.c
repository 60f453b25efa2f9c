/* SPDX-License-Identifier: MIT */
/* Moving the checkout through libgit2: a safe checkout of a branch or a detached commit, the
 * intent file a move writes first (.git/SHIPLOG_MOVE) and the put-back of a move a kill left
 * half done, path by path, and writing a commit's tree into another directory (a release).
 * The rest of git is in repo.c; see repo.h for the contracts. */
#include "repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "repo-git.h"

#include "util.h"

/* ---- checkout ------------------------------------------------------------------------------- */

struct repo_conflicts {
	struct strv paths;
};

static int repo_notify_cb(git_checkout_notify_t why, const char *path,
			  const git_diff_file *baseline, const git_diff_file *target,
			  const git_diff_file *workdir, void *payload)
{
	struct repo_conflicts *c = payload;

	(void)baseline;
	(void)target;
	(void)workdir;
	if ((why & GIT_CHECKOUT_NOTIFY_CONFLICT) && path && c->paths.n < 64)
		strv_push(&c->paths, path);
	return 0;
}

/* A safe checkout of commit's tree into the work tree: refuses, changing nothing, when a local
 * modification would be overwritten. */
static int repo_checkout_safe(struct repo *r, git_commit *commit, const char *hex)
{
	git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
	struct repo_conflicts conflicts = {0};
	int rc;

	co.checkout_strategy = GIT_CHECKOUT_SAFE;
	co.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT;
	co.notify_cb = repo_notify_cb;
	co.notify_payload = &conflicts;
	rc = git_checkout_tree(r->git, (const git_object *)commit, &co);
	if (rc == GIT_ECONFLICT) {
		_cleanup_free_ char *list = strv_join(&conflicts.paths, "', '");

		rc = repo_fail(r, SL_EREFUSED,
			       "checkout of %.12s in '%s' refused: local changes to '%s' would be "
			       "overwritten; commit, move or discard them",
			       hex, r->workdir, conflicts.paths.n ? list : "(unknown paths)");
	} else if (rc < 0) {
		rc = repo_fail(r, SL_EENV, "checkout of %.12s in '%s': %s", hex, r->workdir,
			       repo_git_msg());
	}
	strv_free(&conflicts.paths);
	return rc;
}

int repo_move_branch(struct repo *r, const char *branch, const char *target_oid,
		     const char *upstream, bool reset)
{
	git_reference *ref = NULL, *moved = NULL;
	git_commit *commit = NULL;
	_cleanup_free_ char *refname = NULL;
	int rc, valid = 0;

	if (str_empty(branch) || branch[0] == '-' || git_branch_name_is_valid(&valid, branch) < 0 ||
	    !valid)
		return repo_fail(r, SL_EUSAGE, "invalid branch name '%s'", branch ? branch : "");
	rc = repo_commit_lookup(r, target_oid, &commit);
	if (rc < 0)
		return rc;
	refname = xasprintf("refs/heads/%s", branch);

	rc = git_branch_lookup(&ref, r->git, branch, GIT_BRANCH_LOCAL);
	if (rc == 0) {
		git_object *cur = NULL;

		if (git_reference_peel(&cur, ref, GIT_OBJECT_COMMIT) < 0) {
			rc = repo_fail(r, SL_EENV, "branch '%s': %s", branch, repo_git_msg());
			goto out;
		}
		if (!git_oid_equal(git_object_id(cur), git_commit_id(commit))) {
			char cur_hex[REPO_OID_HEX];
			int d = git_graph_descendant_of(r->git, git_commit_id(commit),
							git_object_id(cur));

			repo_oid_hex(git_object_id(cur), cur_hex);
			git_object_free(cur);
			if (d < 0) {
				rc = repo_fail(r, SL_EENV, "branch '%s': %s", branch,
					       repo_git_msg());
				goto out;
			}
			if (d == 0 && !reset && upstream) {
				rc = repo_fail(
				    r, SL_EREFUSED,
				    "branch '%s' in '%s' has diverged from %s (%.12s; "
				    "force-pushed?): its commit %.12s is not an ancestor "
				    "of it, so this is not a fast-forward; if nothing on "
				    "the local branch matters (see 'git -C %s log %s..%s'), "
				    "reset it with 'git -C %s reset --hard %s', or deploy "
				    "again with --reset-to-remote",
				    branch, r->workdir, upstream, target_oid, cur_hex, r->workdir,
				    upstream, branch, r->workdir, upstream);
				goto out;
			}
			if (d == 0 && !reset) {
				rc = repo_fail(r, SL_EREFUSED,
					       "branch '%s' has diverged from %.12s: its commit "
					       "%.12s is not an ancestor of the target, so this is "
					       "not a fast-forward; reconcile the branch by hand",
					       branch, target_oid, cur_hex);
				goto out;
			}
		} else {
			git_object_free(cur);
		}
	} else if (rc != GIT_ENOTFOUND) {
		rc = repo_fail(r, SL_EENV, "branch '%s': %s", branch, repo_git_msg());
		goto out;
	}

	rc = repo_checkout_safe(r, commit, target_oid);
	if (rc < 0)
		goto out;
	if (ref) {
		if (git_reference_set_target(&moved, ref, git_commit_id(commit),
					     reset ? "shiplog: reset to the remote"
						   : "shiplog: fast-forward") < 0) {
			rc = repo_fail(r, SL_EENV, "move branch '%s' to %.12s: %s", branch,
				       target_oid, repo_git_msg());
			goto out;
		}
	} else if (git_branch_create(&moved, r->git, branch, commit, 0) < 0) {
		rc = repo_fail(r, SL_EENV, "create branch '%s' at %.12s: %s", branch, target_oid,
			       repo_git_msg());
		goto out;
	}
	if (git_repository_set_head(r->git, refname) < 0)
		rc = repo_fail(r, SL_EENV, "point HEAD at '%s': %s", branch, repo_git_msg());
out:
	git_reference_free(moved);
	git_reference_free(ref);
	git_commit_free(commit);
	return rc;
}

int repo_checkout_branch(struct repo *r, const char *branch, const char *target_oid)
{
	return repo_move_branch(r, branch, target_oid, NULL, false);
}

int repo_checkout_detached(struct repo *r, const char *target_oid)
{
	git_commit *commit = NULL;
	int rc;

	rc = repo_commit_lookup(r, target_oid, &commit);
	if (rc < 0)
		return rc;
	rc = repo_checkout_safe(r, commit, target_oid);
	if (rc == 0 && git_repository_set_head_detached(r->git, git_commit_id(commit)) < 0)
		rc = repo_fail(r, SL_EENV, "detach HEAD at %.12s: %s", target_oid, repo_git_msg());
	git_commit_free(commit);
	return rc;
}

/* ---- an interrupted move ------------------------------------------------------------------ */

static char *repo_move_file(struct repo *r)
{
	const char *gitdir = git_repository_path(r->git); /* ends with '/' */

	return xasprintf("%s%sSHIPLOG_MOVE", gitdir,
			 gitdir[0] && gitdir[strlen(gitdir) - 1] == '/' ? "" : "/");
}

/* The directory entry of a file just created or removed, on disk too. */
static void repo_sync_gitdir(struct repo *r)
{
	int fd = open(git_repository_path(r->git), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* rec: text padded with newlines to one record. */
static void repo_move_record(char rec[REPO_MOVE_RECORD], const char *text)
{
	memset(rec, '\n', REPO_MOVE_RECORD);
	memcpy(rec, text, strlen(text));
}

/* Overwrites the record in place: 0, or -errno (-ENOENT: there is none; -EINVAL: it is not
 * one record long, as an older shiplog wrote it). */
static int repo_move_overwrite(const char *path, const char rec[REPO_MOVE_RECORD], bool sync)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t done = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size != REPO_MOVE_RECORD)
		return -EINVAL;
	while (done < REPO_MOVE_RECORD) {
		ssize_t n = pwrite(fd, rec + done, REPO_MOVE_RECORD - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	if (sync && fdatasync(fd) < 0)
		return -errno;
	return 0;
}

int repo_move_begin(struct repo *r, const struct repo_move *m)
{
	_cleanup_free_ char *path = repo_move_file(r);
	_cleanup_free_ char *text =
	    xasprintf("from %s\nto %s\nref %s\nop %llu\n", m->from, m->to, m->ref, m->op);
	char rec[REPO_MOVE_RECORD];
	int rc;

	if (strlen(text) >= REPO_MOVE_RECORD)
		return repo_fail(r, -ENAMETOOLONG,
				 "cannot record the checkout's move in '%s': the "
				 "branch name is too long",
				 path);
	repo_move_record(rec, text);
	rc = repo_move_overwrite(path, rec, true);
	if (rc == 0)
		return 0;
	/* the first move of this checkout (or a record an older shiplog wrote): written whole,
	 * then its name, each on disk before the checkout starts */
	rc = write_file_atomic(path, rec, REPO_MOVE_RECORD, 0644);
	if (rc < 0)
		return repo_fail(r, rc, "cannot record the checkout's move in '%s': %s", path,
				 strerror(-rc));
	repo_sync_gitdir(r);
	return 0;
}

int repo_move_end(struct repo *r)
{
	_cleanup_free_ char *path = repo_move_file(r);
	char rec[REPO_MOVE_RECORD];
	int rc;

	repo_move_record(rec, "idle\n");
	rc = repo_move_overwrite(path, rec, false);
	if (rc == -ENOENT)
		return 0;
	if (rc == -EINVAL && unlink(path) < 0 && errno != ENOENT)
		rc = -errno; /* an older shiplog's record: removed, as that shiplog did */
	else if (rc == -EINVAL)
		rc = 0;
	if (rc < 0)
		return repo_fail(r, rc, "cannot clear '%s': %s", path, strerror(-rc));
	return 0;
}

int repo_move_pending(struct repo *r, struct repo_move *m)
{
	_cleanup_free_ char *path = repo_move_file(r), *data = NULL;
	size_t len;
	char *line, *save = NULL;
	int rc = read_file(path, 4096, &data, &len);

	memset(m, 0, sizeof(*m));
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return repo_fail(r, rc, "cannot read '%s': %s", path, strerror(-rc));
	if (strncmp(data, "idle\n", 5) == 0)
		return 0; /* the last move finished */
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "from ", 5) == 0)
			strlcpy_(m->from, line + 5, sizeof(m->from));
		else if (strncmp(line, "to ", 3) == 0)
			strlcpy_(m->to, line + 3, sizeof(m->to));
		else if (strncmp(line, "ref ", 4) == 0)
			strlcpy_(m->ref, line + 4, sizeof(m->ref));
		else if (strncmp(line, "op ", 3) == 0)
			m->op = strtoull(line + 3, NULL, 10);
	}
	if (strlen(m->from) != GIT_OID_HEXSZ || strlen(m->to) != GIT_OID_HEXSZ)
		return repo_fail(r, -EINVAL,
				 "'%s' is not a move shiplog wrote (no from/to commits); remove it "
				 "once 'git -C %s status' is what you want",
				 path, r->workdir);
	return 1;
}

/* The blob (or link) id of path in tree; false when the tree has none there. A submodule's
 * commit counts as none: it is not a file the checkout writes. */
static bool repo_tree_blob(git_tree *tree, const char *path, git_oid *id)
{
	git_tree_entry *e = NULL;
	bool ok = false;

	if (git_tree_entry_bypath(&e, tree, path) == 0 &&
	    git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
		git_oid_cpy(id, git_tree_entry_id(e));
		ok = true;
	}
	git_tree_entry_free(e);
	return ok;
}

/* Whether the file at full is a beginning of blob id (a write the kill cut short). */
static bool repo_file_is_prefix(struct repo *r, const char *full, off_t size, const git_oid *id)
{
	git_blob *b = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len;
	bool yes = false;

	if (git_blob_lookup(&b, r->git, id) < 0)
		return false;
	if ((size_t)size <= (size_t)git_blob_rawsize(b) &&
	    read_file(full, (size_t)git_blob_rawsize(b) + 1, &data, &len) == 0 &&
	    len <= (size_t)git_blob_rawsize(b))
		yes = memcmp(data, git_blob_rawcontent(b), len) == 0;
	git_blob_free(b);
	return yes;
}

enum repo_move_state { MOVE_AT_FROM, MOVE_OWN, MOVE_FOREIGN, MOVE_NOT_A_FILE };

/* What the work tree and the index hold at path, for a move from -> to. */
static enum repo_move_state repo_move_path_state(struct repo *r, git_index *idx, git_tree *from,
						 git_tree *to, const char *path)
{
	git_oid fid, tid, wid;
	bool hf = repo_tree_blob(from, path, &fid), ht = repo_tree_blob(to, path, &tid);
	const git_index_entry *ie = git_index_get_bypath(idx, path, 0);
	_cleanup_free_ char *full = xasprintf("%s/%s", r->workdir, path);
	bool index_at_from = hf ? ie && git_oid_equal(&ie->id, &fid) : !ie;
	struct stat st;

	if (!hf && !ht)
		return MOVE_NOT_A_FILE;
	if (ie && !(hf && git_oid_equal(&ie->id, &fid)) && !(ht && git_oid_equal(&ie->id, &tid)))
		return MOVE_FOREIGN; /* staged by someone */
	if (lstat(full, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR
			   ? (!hf && index_at_from ? MOVE_AT_FROM : MOVE_OWN)
			   : MOVE_FOREIGN;
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(full, target, sizeof(target));
		if (n < 0 || git_odb_hash(&wid, target, (size_t)n, GIT_OBJECT_BLOB) < 0)
			return MOVE_FOREIGN;
	} else if (!S_ISREG(st.st_mode) || git_odb_hashfile(&wid, full, GIT_OBJECT_BLOB) < 0) {
		return MOVE_FOREIGN;
	}
	if (hf && git_oid_equal(&wid, &fid))
		return index_at_from ? MOVE_AT_FROM : MOVE_OWN;
	if (ht && git_oid_equal(&wid, &tid))
		return MOVE_OWN;
	/* a write the kill cut short: of the checkout (to), or of an earlier put-back (from) */
	if (ht && S_ISREG(st.st_mode) && repo_file_is_prefix(r, full, st.st_size, &tid))
		return MOVE_OWN;
	if (hf && S_ISREG(st.st_mode) && repo_file_is_prefix(r, full, st.st_size, &fid))
		return MOVE_OWN;
	return MOVE_FOREIGN;
}

int repo_move_undo(struct repo *r, const struct repo_move *m, struct strv *restored,
		   struct strv *kept)
{
	git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
	git_commit *from_c = NULL, *to_c = NULL;
	git_tree *from_t = NULL, *to_t = NULL;
	git_index *idx = NULL;
	struct strv paths = {0};
	git_strarray ps;
	int rc;

	rc = repo_changed_paths(r, m->from, m->to, &paths);
	if (rc == 0)
		rc = repo_commit_lookup(r, m->from, &from_c);
	if (rc == 0)
		rc = repo_commit_lookup(r, m->to, &to_c);
	if (rc == 0 && (git_commit_tree(&from_t, from_c) < 0 || git_commit_tree(&to_t, to_c) < 0 ||
			git_repository_index(&idx, r->git) < 0))
		rc = repo_fail(r, SL_EENV, "read %.12s, %.12s and the index of '%s': %s", m->from,
			       m->to, r->workdir, repo_git_msg());
	for (size_t i = 0; rc == 0 && i < paths.n; i++) {
		switch (repo_move_path_state(r, idx, from_t, to_t, paths.v[i])) {
		case MOVE_OWN:
			strv_push(restored, paths.v[i]);
			break;
		case MOVE_FOREIGN: {
			git_oid id;
			strv_push_take(
			    kept,
			    xasprintf("%s %s", repo_tree_blob(from_t, paths.v[i], &id) ? "M" : "A",
				      paths.v[i]));
			break;
		}
		default:
			break;
		}
	}
	git_index_free(idx);
	if (rc == 0 && restored->n) {
		ps.strings = restored->v;
		ps.count = restored->n;
		/* the index first (git reset FROM -- PATHS): a path the move added is then
		 * untracked, and the checkout removes it */
		if (git_reset_default(r->git, (const git_object *)from_c, &ps) < 0)
			rc = repo_fail(r, SL_EENV, "reset the index of '%s' to %.12s: %s",
				       r->workdir, m->from, repo_git_msg());
		co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED |
				       GIT_CHECKOUT_REMOVE_IGNORED |
				       GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
		co.paths = ps;
		if (rc == 0 && git_checkout_tree(r->git, (const git_object *)from_c, &co) < 0)
			rc = repo_fail(r, SL_EENV, "put back %zu paths of '%s' to %.12s: %s",
				       restored->n, r->workdir, m->from, repo_git_msg());
	}
	strv_free(&paths);
	git_tree_free(from_t);
	git_tree_free(to_t);
	git_commit_free(from_c);
	git_commit_free(to_c);
	return rc;
}

static int repo_dir_empty_or_missing(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, "..")) {
			rc = -ENOTEMPTY;
			break;
		}
	closedir(d);
	return rc;
}

int repo_materialize(struct repo *r, const char *oid, const char *dir)
{
	git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
	git_commit *commit = NULL;
	int rc;

	rc = repo_dir_empty_or_missing(dir);
	if (rc < 0)
		return repo_fail(r, rc, "materialize into '%s': %s", dir,
				 rc == -ENOTEMPTY ? "the directory is not empty" : strerror(-rc));
	rc = mkdir_p(dir, 0755);
	if (rc < 0)
		return repo_fail(r, rc, "create '%s': %s", dir, strerror(-rc));
	rc = repo_commit_lookup(r, oid, &commit);
	if (rc < 0)
		return rc;
	/* Into another directory: the repository's own index and HEAD stay as they are. */
	co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
	co.target_directory = dir;
	if (git_checkout_tree(r->git, (const git_object *)commit, &co) < 0)
		rc = repo_fail(r, SL_EENV, "write %.12s into '%s': %s", oid, dir, repo_git_msg());
	git_commit_free(commit);
	return rc;
}
