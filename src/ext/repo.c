/* SPDX-License-Identifier: MIT */
/* Git through libgit2: opening, resolving, remotes and fetch, status and diffs, push. Moving the
 * checkout (and putting back a move a kill left half done) is in repo-checkout.c; the two are
 * the only files that include git2.h. Each failure leaves one line in the handle (repo_errmsg)
 * naming what was attempted, its subject, and libgit2's reason. */
#include "repo.h"

#include <errno.h>
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

/* repo_open() fails without a handle to hang the message on; repo_errmsg(NULL) returns it. */
static __thread char repo_open_err[1024];

const char *repo_git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message && *e->message ? e->message : "unknown libgit2 error";
}

int repo_fail(struct repo *r, int code, const char *fmt, ...)
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

void repo_oid_hex(const git_oid *oid, char out[REPO_OID_HEX])
{
	git_oid_tostr(out, REPO_OID_HEX, oid);
}

static int repo_oid_parse(struct repo *r, const char *hex, git_oid *oid)
{
	if (!hex || strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(oid, hex) < 0)
		return repo_fail(r, -EINVAL, "'%s' is not a full commit id", hex ? hex : "(null)");
	return 0;
}

int repo_commit_lookup(struct repo *r, const char *hex, git_commit **c)
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
