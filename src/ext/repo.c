/* SPDX-License-Identifier: MIT */
/* Git through libgit2: the only file that includes git2.h. Each failure leaves one line in the
 * handle (repo_errmsg) naming what was attempted, its subject, and libgit2's reason. */
#include "repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dlfcn.h>
#include <git2.h>

#include "repo-git.h"

#include "util.h"

struct repo {
	git_repository *git;
	char *workdir; /* without a trailing slash */
	char err[1024];
};

/* repo_open() fails without a handle to hang the message on; repo_errmsg(NULL) returns it. */
static __thread char repo_open_err[1024];

static const char *repo_git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message && *e->message ? e->message : "unknown libgit2 error";
}

static int repo_fail(struct repo *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int repo_fail(struct repo *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	/* libgit2 says "No space left on device", at best with a file deep in .git: name the
	 * filesystem and the way out */
	if (strstr(r->err, strerror(ENOSPC)) && r->workdir) {
		size_t n = strlen(r->err);
		snprintf(r->err + n, sizeof(r->err) - n,
			 "; the filesystem of the checkout '%s' is full: free space there (df -h "
			 "'%s'), then run the command again",
			 r->workdir, r->workdir);
	}
	return code;
}

const char *repo_errmsg(const struct repo *r)
{
	return r ? r->err : repo_open_err;
}

const char *repo_workdir(const struct repo *r)
{
	return r->workdir;
}

/* libgit2 is loaded when a command first opens a repository, not when shiplog starts: linking
 * it pulls in its TLS and ssh libraries, ~3.5 ms of loading on every command, also the reads
 * (status, history) that never touch git. */
struct repo_git_api repo_git;
static bool git_initialised;
static char git_load_error[256];

static bool repo_git_load(void)
{
	static bool tried, ok;
	void *h;

	if (tried)
		return ok;
	tried = true;
	h = dlopen(SHIPLOG_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(git_load_error, sizeof(git_load_error),
			 "cannot load %s (%s); install the libgit2 package", SHIPLOG_LIBGIT2_SONAME,
			 dlerror());
		return false;
	}
#define REPO_GIT_LOAD(name)                                                                        \
	*(void **)&repo_git.p_##name = dlsym(h, #name);                                            \
	if (!repo_git.p_##name) {                                                                  \
		snprintf(git_load_error, sizeof(git_load_error),                                   \
			 "%s lacks %s; libgit2 1.5 or newer "                                      \
			 "is needed",                                                              \
			 SHIPLOG_LIBGIT2_SONAME, #name);                                           \
		return false;                                                                      \
	}
	REPO_GIT_FUNCTIONS(REPO_GIT_LOAD)
#undef REPO_GIT_LOAD
	ok = true;
	return true;
}

int repo_open(const char *path, struct repo **out)
{
	git_repository *g = NULL;
	struct repo *r;
	const char *wd;
	int rc;

	*out = NULL;
	repo_open_err[0] = '\0';
	/* libgit2 is initialised on first use only: commands that never touch git (status,
	 * history) do not pay for it. The reference count it keeps makes this safe to repeat. */
	if (!repo_git_load()) {
		snprintf(repo_open_err, sizeof(repo_open_err), "%s", git_load_error);
		return SL_EENV;
	}
	if (!git_initialised) {
		git_libgit2_init();
		git_initialised = true;
	}
	rc = git_repository_open_ext(&g, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc < 0) {
		const char *msg = repo_git_msg();

		/* libgit2 1.5 reports the ownership check as "config value 'safe.directory' was
		 * not found" (GIT_ENOTFOUND), later versions as GIT_EOWNER. */
		if (rc == GIT_EOWNER || strstr(msg, "safe.directory"))
			snprintf(
			    repo_open_err, sizeof(repo_open_err),
			    "repository '%s' is owned by another user; if it is trusted, run "
			    "'git config --global --add safe.directory %s' as the user running "
			    "shiplog",
			    path, path);
		else
			snprintf(repo_open_err, sizeof(repo_open_err), "open repository '%s': %s",
				 path, msg);
		return SL_EENV;
	}
	wd = git_repository_workdir(g);
	if (!wd) {
		git_repository_free(g);
		snprintf(repo_open_err, sizeof(repo_open_err),
			 "open repository '%s': it is bare; shiplog needs a work tree", path);
		return SL_EENV;
	}
	r = xcalloc(1, sizeof(*r));
	r->git = g;
	r->workdir = xstrdup(wd);
	for (size_t n = strlen(r->workdir); n > 1 && r->workdir[n - 1] == '/'; n--)
		r->workdir[n - 1] = '\0';
	*out = r;
	return 0;
}

void repo_free(struct repo *r)
{
	if (!r)
		return;
	git_repository_free(r->git);
	free(r->workdir);
	free(r);
}

static void repo_oid_hex(const git_oid *oid, char out[REPO_OID_HEX])
{
	git_oid_tostr(out, REPO_OID_HEX, oid);
}

static int repo_oid_parse(struct repo *r, const char *hex, git_oid *oid)
{
	if (!hex || strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(oid, hex) < 0)
		return repo_fail(r, -EINVAL, "'%s' is not a full commit id", hex ? hex : "(null)");
	return 0;
}

static int repo_commit_lookup(struct repo *r, const char *hex, git_commit **c)
{
	git_oid oid;
	int rc;

	rc = repo_oid_parse(r, hex, &oid);
	if (rc < 0)
		return rc;
	if (git_commit_lookup(c, r->git, &oid) < 0)
		return repo_fail(r, SL_EUSAGE, "commit '%s' not found: %s", hex, repo_git_msg());
	return 0;
}

int repo_head(struct repo *r, char oid[REPO_OID_HEX], char *branch, size_t branch_len)
{
	git_reference *head = NULL;
	git_object *obj = NULL;
	int rc;

	if (branch && branch_len)
		branch[0] = '\0';
	rc = git_repository_head(&head, r->git);
	if (rc == GIT_EUNBORNBRANCH)
		return repo_fail(r, SL_EENV, "HEAD of '%s' has no commit yet", r->workdir);
	if (rc < 0)
		return repo_fail(r, SL_EENV, "read HEAD of '%s': %s", r->workdir, repo_git_msg());
	if (git_reference_peel(&obj, head, GIT_OBJECT_COMMIT) < 0) {
		rc = repo_fail(r, SL_EENV, "read HEAD of '%s': %s", r->workdir, repo_git_msg());
		git_reference_free(head);
		return rc;
	}
	repo_oid_hex(git_object_id(obj), oid);
	if (branch && branch_len && git_reference_is_branch(head))
		strlcpy_(branch, git_reference_shorthand(head), branch_len);
	git_object_free(obj);
	git_reference_free(head);
	return 0;
}

int repo_resolve(struct repo *r, const char *spec, char oid[REPO_OID_HEX])
{
	git_object *obj = NULL, *commit = NULL;
	int rc;

	if (str_empty(spec))
		return repo_fail(r, SL_EUSAGE, "empty revision");
	if (spec[0] == '-')
		return repo_fail(r, SL_EUSAGE,
				 "refusing revision '%s': it starts with '-' and would read as an "
				 "option",
				 spec);
	for (const unsigned char *p = (const unsigned char *)spec; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return repo_fail(r, SL_EUSAGE,
					 "refusing revision: it contains control characters");

	rc = git_revparse_single(&obj, r->git, spec);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return repo_fail(r, SL_EUSAGE, "unknown revision '%s'", spec);
	if (rc == GIT_EAMBIGUOUS)
		return repo_fail(r, SL_EUSAGE, "ambiguous revision '%s'; give more of it", spec);
	if (rc < 0)
		return repo_fail(r, SL_EUSAGE, "revision '%s': %s", spec, repo_git_msg());
	rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return repo_fail(r, SL_EUSAGE, "revision '%s' does not name a commit", spec);
	repo_oid_hex(git_object_id(commit), oid);
	git_object_free(commit);
	return 0;
}

/* ---- remotes ------------------------------------------------------------------------------ */

bool repo_remote_exists(struct repo *r, const char *name)
{
	git_remote *rem = NULL;

	if (str_empty(name))
		return false;
	if (git_remote_lookup(&rem, r->git, name) < 0)
		return false;
	git_remote_free(rem);
	return true;
}

int repo_remote_list(struct repo *r, struct strv *names)
{
	git_strarray arr = {0};

	if (git_remote_list(&arr, r->git) < 0)
		return repo_fail(r, SL_EENV, "list remotes of '%s': %s", r->workdir,
				 repo_git_msg());
	for (size_t i = 0; i < arr.count; i++)
		strv_push(names, arr.strings[i]);
	git_strarray_dispose(&arr);
	return 0;
}

/* branch.<b>.remote, or NULL. malloc'd. */
static char *repo_branch_remote(struct repo *r, const char *branch)
{
	git_config *cfg = NULL;
	git_buf val = {0};
	char *key, *out = NULL;

	if (str_empty(branch))
		return NULL;
	if (git_repository_config_snapshot(&cfg, r->git) < 0)
		return NULL;
	key = xasprintf("branch.%s.remote", branch);
	if (git_config_get_string_buf(&val, cfg, key) == 0 && val.ptr && *val.ptr)
		out = xstrdup(val.ptr);
	git_buf_dispose(&val);
	git_config_free(cfg);
	free(key);
	return out;
}

int repo_remote_resolve(struct repo *r, const char *explicit_name, const char *branch,
			const char *main_branch, const struct strv *candidates, char **out)
{
	struct strv tried = {0}, all = {0};
	char *name;
	int rc;

	*out = NULL;
	if (!str_empty(explicit_name) && !streq(explicit_name, "auto")) {
		if (repo_remote_exists(r, explicit_name)) {
			*out = xstrdup(explicit_name);
			return 0;
		}
		repo_remote_list(r, &all);
		_cleanup_free_ char *list = strv_join(&all, ", ");
		strv_free(&all);
		return repo_fail(r, SL_EUSAGE,
				 "git remote '%s' does not exist in '%s' (configured: %s); add it "
				 "or name another remote",
				 explicit_name, r->workdir, *list ? list : "none");
	}

	/* Candidates in order: branch.<branch>.remote, branch.<main>.remote, the configured
	 * names, then every remote. The first one that exists wins. */
	name = repo_branch_remote(r, branch);
	if (name) {
		if (repo_remote_exists(r, name)) {
			*out = name;
			return 0;
		}
		strv_push_take(&tried, name);
	} else if (!str_empty(branch)) {
		strv_push_take(&tried, xasprintf("branch.%s.remote (unset)", branch));
	}
	if (!streq(branch, main_branch)) {
		name = repo_branch_remote(r, main_branch);
		if (name) {
			if (repo_remote_exists(r, name)) {
				strv_free(&tried);
				*out = name;
				return 0;
			}
			strv_push_take(&tried, name);
		} else if (!str_empty(main_branch)) {
			strv_push_take(&tried, xasprintf("branch.%s.remote (unset)", main_branch));
		}
	}
	for (size_t i = 0; candidates && i < candidates->n; i++) {
		if (repo_remote_exists(r, candidates->v[i])) {
			strv_free(&tried);
			*out = xstrdup(candidates->v[i]);
			return 0;
		}
		if (!strv_contains(&tried, candidates->v[i]))
			strv_push(&tried, candidates->v[i]);
	}
	rc = repo_remote_list(r, &all);
	if (rc == 0 && all.n > 0) {
		strv_free(&tried);
		*out = xstrdup(all.v[0]);
		strv_free(&all);
		return 0;
	}
	strv_free(&all);
	_cleanup_free_ char *list = strv_join(&tried, ", ");
	strv_free(&tried);
	return repo_fail(r, SL_EUSAGE,
			 "no git remote found in '%s' (tried: %s%sany configured remote); set "
			 "DEPLOY_GIT_REMOTE or [git] remote, or configure branch.<name>.remote",
			 r->workdir, list, *list ? ", " : "");
}

/* Credentials for ssh remotes: the agent first, then the usual key files, each once. */
struct repo_cred_state {
	unsigned tries;
};

static int repo_cred_cb(git_credential **cred, const char *url, const char *username_from_url,
			unsigned int allowed, void *payload)
{
	static const char *const keys[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
	struct repo_cred_state *st = payload;
	const char *user = username_from_url && *username_from_url ? username_from_url : "git";
	const char *home = getenv("HOME");

	(void)url;
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(cred, user);
	if (!(allowed & GIT_CREDENTIAL_SSH_KEY))
		return GIT_PASSTHROUGH;
	while (st->tries < 1 + ELEMENTSOF(keys)) {
		unsigned i = st->tries++;

		if (i == 0) {
			if (getenv("SSH_AUTH_SOCK"))
				return git_credential_ssh_key_from_agent(cred, user);
			continue;
		}
		if (!home)
			break;
		_cleanup_free_ char *priv = xasprintf("%s/.ssh/%s", home, keys[i - 1]);
		_cleanup_free_ char *pub = xasprintf("%s.pub", priv);
		if (access(priv, R_OK) == 0)
			return git_credential_ssh_key_new(
			    cred, user, access(pub, R_OK) == 0 ? pub : NULL, priv, NULL);
	}
	return GIT_PASSTHROUGH;
}

/* A remote whose URL is a local path (or file://) that is gone: libgit2 then says only
 * "unsupported URL protocol". Relative paths are taken from the checkout, like git does. */
static bool repo_url_path_gone(const struct repo *r, const char *url)
{
	const char *colon;
	struct stat st;

	if (str_empty(url))
		return false;
	if (strncmp(url, "file://", 7) == 0)
		url += 7;
	else if (strstr(url, "://"))
		return false;
	colon = strchr(url, ':');
	if (colon && (!strchr(url, '/') || colon < strchr(url, '/')))
		return false; /* scp-like user@host:path */
	if (url[0] == '/')
		return stat(url, &st) < 0 && errno == ENOENT;
	{
		_cleanup_free_ char *abs = xasprintf("%s/%s", r->workdir, url);
		return stat(abs, &st) < 0 && errno == ENOENT;
	}
}

int repo_fetch(struct repo *r, const char *remote)
{
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	struct repo_cred_state cs = {0};
	git_remote *rem = NULL;
	int rc;

	if (git_remote_lookup(&rem, r->git, remote) < 0)
		return repo_fail(r, SL_EUSAGE, "fetch '%s': no such remote in '%s'", remote,
				 r->workdir);
	fo.prune = GIT_FETCH_PRUNE;
	fo.callbacks.credentials = repo_cred_cb;
	fo.callbacks.payload = &cs;
	rc = git_remote_fetch(rem, NULL, &fo, NULL);
	if (rc < 0 && repo_url_path_gone(r, git_remote_url(rem)))
		rc = repo_fail(r, SL_EENV,
			       "the remote '%s' is the path '%s', which no longer exists (libgit2: "
			       "%s); point it at the repository with 'git -C %s remote set-url %s "
			       "NEW-URL', or pick another remote with [git] remote",
			       remote, git_remote_url(rem), repo_git_msg(), r->workdir, remote);
	else if (rc < 0)
		rc = repo_fail(r, SL_EENV, "fetch '%s': %s (url '%s')", remote, repo_git_msg(),
			       git_remote_url(rem) ? git_remote_url(rem) : "");
	git_remote_free(rem);
	return rc;
}

/* ---- status and diffs ----------------------------------------------------------------------- */

static bool repo_allowed(const struct strv *globs, const char *path)
{
	for (size_t i = 0; globs && i < globs->n; i++)
		if (fnmatch(globs->v[i], path, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static const char *repo_status_code(unsigned s)
{
	if (s & GIT_STATUS_INDEX_NEW)
		return "A";
	if (s & (GIT_STATUS_INDEX_RENAMED | GIT_STATUS_WT_RENAMED))
		return "R";
	if (s & (GIT_STATUS_INDEX_DELETED | GIT_STATUS_WT_DELETED))
		return "D";
	if (s & GIT_STATUS_WT_NEW)
		return "??";
	return "M"; /* modified, type change, conflicted */
}

int repo_dirty(struct repo *r, const struct strv *allow_globs, struct strv *dirty)
{
	git_status_options so = GIT_STATUS_OPTIONS_INIT;
	git_status_list *sl = NULL;
	size_t n;

	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		   GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&sl, r->git, &so) < 0)
		return repo_fail(r, SL_EENV, "status of '%s': %s", r->workdir, repo_git_msg());
	n = git_status_list_entrycount(sl);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(sl, i);
		const git_diff_delta *d;
		const char *path;

		if (e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
			continue;
		d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
		if (!d)
			continue;
		path = d->new_file.path ? d->new_file.path : d->old_file.path;
		if (repo_allowed(allow_globs, path))
			continue;
		strv_push_take(dirty, xasprintf("%s %s", repo_status_code(e->status), path));
	}
	git_status_list_free(sl);
	return 0;
}

static int repo_commit_tree(struct repo *r, const char *hex, git_tree **tree)
{
	git_commit *c = NULL;
	int rc;

	rc = repo_commit_lookup(r, hex, &c);
	if (rc < 0)
		return rc;
	rc = git_commit_tree(tree, c);
	git_commit_free(c);
	if (rc < 0)
		return repo_fail(r, SL_EENV, "tree of '%s': %s", hex, repo_git_msg());
	return 0;
}

int repo_changed_paths(struct repo *r, const char *from_oid, const char *to_oid, struct strv *paths)
{
	git_tree *a = NULL, *b = NULL;
	git_diff *diff = NULL;
	int rc;

	rc = repo_commit_tree(r, from_oid, &a);
	if (rc == 0)
		rc = repo_commit_tree(r, to_oid, &b);
	if (rc == 0 && git_diff_tree_to_tree(&diff, r->git, a, b, NULL) < 0)
		rc = repo_fail(r, SL_EENV, "diff %.12s..%.12s: %s", from_oid, to_oid,
			       repo_git_msg());
	if (rc == 0) {
		size_t n = git_diff_num_deltas(diff);

		for (size_t i = 0; i < n; i++) {
			const git_diff_delta *d = git_diff_get_delta(diff, i);

			strv_push(paths, d->new_file.path);
			if (!streq(d->old_file.path, d->new_file.path))
				strv_push(paths, d->old_file.path);
		}
	}
	git_diff_free(diff);
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}

int repo_read_file(struct repo *r, const char *oid, const char *path, size_t max, char **data,
		   size_t *len)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int rc;

	*data = NULL;
	*len = 0;
	rc = repo_commit_tree(r, oid, &tree);
	if (rc == 0 && git_tree_entry_bypath(&e, tree, path) < 0)
		rc = -ENOENT;
	if (rc == 0 && (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
			git_blob_lookup(&blob, r->git, git_tree_entry_id(e)) < 0))
		rc = repo_fail(r, SL_EENV, "%.12s:%s is not a readable file", oid, path);
	if (rc == 0 && (size_t)git_blob_rawsize(blob) > max)
		rc = -EFBIG;
	if (rc == 0) {
		*len = (size_t)git_blob_rawsize(blob);
		*data = xmalloc(*len + 1);
		memcpy(*data, git_blob_rawcontent(blob), *len);
		(*data)[*len] = '\0';
	}
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	return rc;
}

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

int repo_move_begin(struct repo *r, const struct repo_move *m)
{
	_cleanup_free_ char *path = repo_move_file(r);
	_cleanup_free_ char *text =
	    xasprintf("from %s\nto %s\nref %s\nop %llu\n", m->from, m->to, m->ref, m->op);
	int rc = write_file_atomic(path, text, strlen(text), 0644);

	if (rc < 0)
		return repo_fail(r, rc, "cannot record the checkout's move in '%s': %s", path,
				 strerror(-rc));
	repo_sync_gitdir(r);
	return 0;
}

int repo_move_end(struct repo *r)
{
	_cleanup_free_ char *path = repo_move_file(r);

	if (unlink(path) < 0 && errno != ENOENT)
		return repo_fail(r, -errno, "cannot remove '%s': %s", path, strerror(errno));
	repo_sync_gitdir(r);
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

/* ---- push ----------------------------------------------------------------------------------- */

struct repo_push_state {
	struct repo_cred_state cred;
	char rejected[512];
};

static int repo_push_update_cb(const char *refname, const char *status, void *data)
{
	struct repo_push_state *st = data;

	if (status && !st->rejected[0])
		snprintf(st->rejected, sizeof(st->rejected), "%s: %s", refname, status);
	return 0;
}

static int repo_push_cred_cb(git_credential **cred, const char *url, const char *user,
			     unsigned int allowed, void *payload)
{
	struct repo_push_state *st = payload;

	return repo_cred_cb(cred, url, user, allowed, &st->cred);
}

int repo_push_branch(struct repo *r, const char *remote, const char *branch)
{
	git_push_options po = GIT_PUSH_OPTIONS_INIT;
	struct repo_push_state st = {0};
	git_reference *local = NULL, *up = NULL;
	git_remote *rem = NULL;
	_cleanup_free_ char *spec = NULL, *upname = NULL;
	char *specs[1];
	git_strarray refspecs = {specs, 1};
	int rc, valid = 0;

	if (str_empty(branch) || branch[0] == '-' || git_branch_name_is_valid(&valid, branch) < 0 ||
	    !valid)
		return repo_fail(r, SL_EUSAGE, "invalid branch name '%s'", branch ? branch : "");
	if (git_branch_lookup(&local, r->git, branch, GIT_BRANCH_LOCAL) < 0)
		return repo_fail(r, SL_EUSAGE, "push '%s': no local branch of that name", branch);
	if (git_remote_lookup(&rem, r->git, remote) < 0) {
		rc = repo_fail(r, SL_EUSAGE, "push '%s': no remote '%s' in '%s'", branch, remote,
			       r->workdir);
		goto out;
	}
	spec = xasprintf("refs/heads/%s:refs/heads/%s", branch, branch);
	specs[0] = spec;
	po.callbacks.credentials = repo_push_cred_cb;
	po.callbacks.push_update_reference = repo_push_update_cb;
	po.callbacks.payload = &st;
	rc = git_remote_push(rem, &refspecs, &po);
	if (rc == GIT_ENONFASTFORWARD) {
		rc = repo_fail(r, SL_EREFUSED,
			       "push '%s' to '%s' was rejected: not a fast-forward (%s); fetch and "
			       "integrate the remote branch first",
			       branch, remote, repo_git_msg());
		goto out;
	}
	if (rc < 0) {
		rc = repo_fail(r, SL_EENV, "push '%s' to '%s': %s", branch, remote, repo_git_msg());
		goto out;
	}
	if (st.rejected[0]) {
		rc = repo_fail(r, SL_EREFUSED,
			       "push '%s' to '%s' was rejected (%s); fetch and integrate the "
			       "remote branch first",
			       branch, remote, st.rejected);
		goto out;
	}
	rc = git_branch_upstream(&up, local);
	if (rc == GIT_ENOTFOUND) {
		upname = xasprintf("%s/%s", remote, branch);
		if (git_branch_set_upstream(local, upname) < 0) {
			rc = repo_fail(r, SL_EENV,
				       "pushed '%s', but setting its upstream to '%s' "
				       "failed: %s",
				       branch, upname, repo_git_msg());
			goto out;
		}
	}
	rc = 0;
out:
	git_reference_free(up);
	git_reference_free(local);
	git_remote_free(rem);
	return rc;
}
