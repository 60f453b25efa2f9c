/* SPDX-License-Identifier: MIT */
/* repo: libgit2 against real repositories made with the git CLI in a scratch directory: a bare
 * "origin", a "dev" clone that makes commits and pushes, and a "live" clone that shiplog drives. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "repo.h"
#include "testlib.h"
#include "util.h"

static char *base, *origin, *dev, *live;

/* Runs git in dir; returns trimmed stdout (malloc'd); asserts success. */
static char *git(const char *dir, ...)
{
	char *argv[32];
	size_t n = 0;
	struct tl_run r;
	va_list ap;
	char *out;

	argv[n++] = "git";
	va_start(ap, dir);
	for (char *a; (a = va_arg(ap, char *)) && n < 31;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	tl_run(&r, dir, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "git %s %s failed in %s: %s", argv[1], n > 2 ? argv[2] : "",
		     dir, r.err);
	out = xstrdup(str_trim(r.out));
	tl_run_release(&r);
	return out;
}

#define GIT_OK(...) free(git(__VA_ARGS__))

static void commit_file(const char *dir, const char *file, const char *content, const char *msg)
{
	char *path = xasprintf("%s/%s", dir, file);

	tl_write(path, content);
	GIT_OK(dir, "add", "--", file, NULL);
	GIT_OK(dir, "commit", "-q", "-m", msg, NULL);
	free(path);
}

static void setup(void)
{
	char *home;

	base = tl_mkdtemp("repo");
	home = xasprintf("%s/home", base);
	mkdir(home, 0700);
	/* A private HOME: no user config, no safe.directory surprises, for git and libgit2. */
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "Test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.invalid", 1);
	free(home);
	git_libgit2_init();

	origin = xasprintf("%s/origin.git", base);
	dev = xasprintf("%s/dev", base);
	live = xasprintf("%s/live", base);
	GIT_OK(base, "init", "-q", "--bare", "-b", "main", origin, NULL);
	GIT_OK(base, "clone", "-q", origin, dev, NULL);
	GIT_OK(dev, "checkout", "-q", "-b", "main", NULL);
	commit_file(dev, ".gitignore", "*.log\n", "ignore logs");
	commit_file(dev, "a.txt", "a1\n", "a1");
	commit_file(dev, "dir/b.txt", "b1\n", "b1");
	GIT_OK(dev, "tag", "-a", "v1", "-m", "release 1", NULL);
	GIT_OK(dev, "push", "-q", "origin", "main", "--tags", NULL);
	GIT_OK(base, "clone", "-q", origin, live, NULL);
}

static void teardown(void)
{
	git_libgit2_shutdown();
	tl_rmrf(base);
	free(base);
	free(origin);
	free(dev);
	free(live);
}

TestSuite(repo, .init = setup, .fini = teardown);

static struct repo *open_live(void)
{
	struct repo *r = NULL;

	cr_assert_eq(repo_open(live, &r), 0, "open: %s", repo_errmsg(NULL));
	return r;
}

/* A new commit on origin's main, made in dev; returns its id. */
static char *origin_advance(const char *file, const char *content)
{
	commit_file(dev, file, content, file);
	GIT_OK(dev, "push", "-q", "origin", "main", NULL);
	return git(dev, "rev-parse", "HEAD", NULL);
}

Test(repo, open_and_head)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX], branch[64];
	char *want = git(live, "rev-parse", "HEAD", NULL);

	cr_assert_eq(repo_head(r, oid, branch, sizeof(branch)), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, want);
	cr_assert_str_eq(branch, "main");
	cr_assert_str_eq(repo_workdir(r), live);
	repo_free(r);
	free(want);
}

Test(repo, open_errors)
{
	struct repo *r = (struct repo *)1;
	char *plain = xasprintf("%s/not-a-repo", base);

	mkdir(plain, 0755);
	cr_assert_eq(repo_open(plain, &r), SL_EENV);
	cr_assert_null(r);
	cr_assert_not_null(strstr(repo_errmsg(NULL), plain), "%s", repo_errmsg(NULL));
	cr_assert_eq(repo_open(origin, &r), SL_EENV); /* bare */
	cr_assert_not_null(strstr(repo_errmsg(NULL), "bare"), "%s", repo_errmsg(NULL));
	free(plain);
}

Test(repo, open_foreign_owner_names_safe_directory)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root to chown a repository to another user");
	cr_assert_eq(tl_sh("chown -R nobody '%s'", live), 0);
	struct repo *r = NULL;
	int rc = repo_open(live, &r);
	cr_assert_eq(rc, SL_EENV);
	cr_assert_not_null(strstr(repo_errmsg(NULL), "safe.directory"), "%s", repo_errmsg(NULL));
	cr_assert_not_null(strstr(repo_errmsg(NULL), live), "%s", repo_errmsg(NULL));
	tl_sh("chown -R root '%s'", live);
}

Test(repo, resolve)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX];
	char *head = git(live, "rev-parse", "HEAD", NULL);
	char *first = git(live, "rev-parse", "HEAD~2", NULL);
	char *tag = git(live, "rev-parse", "v1^{commit}", NULL);
	char *tag_obj = git(live, "rev-parse", "v1", NULL);
	char shortid[9];

	cr_assert_str_neq(tag, tag_obj, "v1 must be an annotated tag for this test");
	cr_assert_eq(repo_resolve(r, "main", oid), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, head);
	cr_assert_eq(repo_resolve(r, "origin/main", oid), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, head);
	cr_assert_eq(repo_resolve(r, "v1", oid), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, tag);
	cr_assert_eq(repo_resolve(r, first, oid), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, first);
	snprintf(shortid, sizeof(shortid), "%.8s", first);
	cr_assert_eq(repo_resolve(r, shortid, oid), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, first);
	cr_assert_eq(repo_resolve(r, "HEAD~2", oid), 0, "%s", repo_errmsg(r));
	cr_assert_str_eq(oid, first);

	cr_assert_eq(repo_resolve(r, "--upload-pack=evil", oid), SL_EUSAGE);
	cr_assert_not_null(strstr(repo_errmsg(r), "'--upload-pack=evil'"), "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "'-'"), "%s", repo_errmsg(r));
	cr_assert_eq(repo_resolve(r, "main\nrm -rf", oid), SL_EUSAGE);
	cr_assert_not_null(strstr(repo_errmsg(r), "control"), "%s", repo_errmsg(r));
	cr_assert_eq(repo_resolve(r, "", oid), SL_EUSAGE);
	cr_assert_eq(repo_resolve(r, "no-such-branch", oid), SL_EUSAGE);
	cr_assert_str_eq(repo_errmsg(r), "unknown revision 'no-such-branch'");
	/* A tree is not a commit. */
	cr_assert_eq(repo_resolve(r, "HEAD^{tree}", oid), SL_EUSAGE);
	repo_free(r);
	free(head);
	free(first);
	free(tag);
	free(tag_obj);
}

Test(repo, fetch_new_commit_and_prune)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX];
	char *before = git(live, "rev-parse", "origin/main", NULL), *after;

	GIT_OK(dev, "push", "-q", "origin", "main:feature-x", NULL);
	after = origin_advance("c.txt", "c1\n");
	cr_assert_eq(repo_resolve(r, "origin/main", oid), 0);
	cr_assert_str_eq(oid, before);

	cr_assert_eq(repo_fetch(r, "origin"), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_resolve(r, "origin/main", oid), 0);
	cr_assert_str_eq(oid, after);
	cr_assert_eq(repo_resolve(r, "origin/feature-x", oid), 0);

	/* Pruned when it disappears upstream. */
	GIT_OK(dev, "push", "-q", "origin", ":feature-x", NULL);
	cr_assert_eq(repo_fetch(r, "origin"), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_resolve(r, "origin/feature-x", oid), SL_EUSAGE);

	/* The work tree and HEAD did not move. */
	cr_assert_eq(repo_head(r, oid, NULL, 0), 0);
	cr_assert_str_eq(oid, before);

	cr_assert_lt(repo_fetch(r, "nosuch"), 0);
	cr_assert_not_null(strstr(repo_errmsg(r), "'nosuch'"), "%s", repo_errmsg(r));
	GIT_OK(live, "remote", "add", "broken", "/nonexistent/shiplog/repo.git", NULL);
	cr_assert_lt(repo_fetch(r, "broken"), 0);
	cr_assert(str_startswith(repo_errmsg(r), "the remote 'broken' is the path ") &&
		      strstr(repo_errmsg(r), "no longer exists") &&
		      strstr(repo_errmsg(r), "remote set-url broken"),
		  "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "/nonexistent/shiplog/repo.git"), "%s",
			   repo_errmsg(r));
	repo_free(r);
	free(before);
	free(after);
}

static bool has(const struct strv *sv, const char *s)
{
	return strv_contains(sv, s);
}

Test(repo, dirty_detection)
{
	struct repo *r = open_live();
	struct strv dirty = {0}, allow = {0};
	char *p;

	cr_assert_eq(repo_dirty(r, NULL, &dirty), 0, "%s", repo_errmsg(r));
	cr_assert_eq(dirty.n, 0, "clean tree reported dirty: %s", dirty.n ? dirty.v[0] : "");

	/* Ignored files are invisible. */
	p = xasprintf("%s/debug.log", live);
	tl_write(p, "log\n");
	free(p);
	cr_assert_eq(repo_dirty(r, NULL, &dirty), 0);
	cr_assert_eq(dirty.n, 0);

	p = xasprintf("%s/a.txt", live);
	tl_write(p, "changed\n");
	free(p);
	p = xasprintf("%s/staged.txt", live);
	tl_write(p, "new\n");
	free(p);
	GIT_OK(live, "add", "staged.txt", NULL);
	p = xasprintf("%s/newdir/sub/f.txt", live);
	tl_write(p, "untracked\n");
	free(p);
	p = xasprintf("%s/deployment/docker/signal-cli-1.2.tar.gz", live);
	tl_write(p, "blob\n");
	free(p);
	GIT_OK(live, "rm", "-q", "dir/b.txt", NULL);

	cr_assert_eq(repo_dirty(r, NULL, &dirty), 0);
	cr_assert(has(&dirty, "M a.txt"));
	cr_assert(has(&dirty, "A staged.txt"));
	cr_assert(has(&dirty, "?? newdir/sub/f.txt"));
	cr_assert(has(&dirty, "D dir/b.txt"));
	cr_assert(has(&dirty, "?? deployment/docker/signal-cli-1.2.tar.gz"));
	cr_assert_eq(dirty.n, 5, "%zu entries", dirty.n);
	strv_free(&dirty);

	/* An allowlisted glob passes; FNM_PATHNAME keeps '*' inside one directory. */
	strv_push(&allow, "deployment/docker/signal-cli-*.tar.gz");
	strv_push(&allow, "*.txt");
	cr_assert_eq(repo_dirty(r, &allow, &dirty), 0);
	cr_assert_not(has(&dirty, "?? deployment/docker/signal-cli-1.2.tar.gz"));
	cr_assert_not(has(&dirty, "M a.txt"));
	cr_assert(has(&dirty, "?? newdir/sub/f.txt"));
	cr_assert(has(&dirty, "D dir/b.txt"));
	cr_assert_eq(dirty.n, 2, "%zu entries", dirty.n);
	strv_free(&dirty);
	strv_free(&allow);
	repo_free(r);
}

Test(repo, changed_paths)
{
	struct repo *r = open_live();
	struct strv paths = {0};
	char *from = git(dev, "rev-parse", "HEAD", NULL), *to;

	commit_file(dev, "a.txt", "a2\n", "a2");
	commit_file(dev, "c.txt", "c\n", "c");
	GIT_OK(dev, "mv", "dir/b.txt", "dir/b2.txt", NULL);
	GIT_OK(dev, "commit", "-q", "-m", "rename", NULL);
	GIT_OK(dev, "push", "-q", "origin", "main", NULL);
	to = git(dev, "rev-parse", "HEAD", NULL);
	cr_assert_eq(repo_fetch(r, "origin"), 0, "%s", repo_errmsg(r));

	cr_assert_eq(repo_changed_paths(r, from, to, &paths), 0, "%s", repo_errmsg(r));
	cr_assert(has(&paths, "a.txt"));
	cr_assert(has(&paths, "c.txt"));
	cr_assert(has(&paths, "dir/b.txt"));
	cr_assert(has(&paths, "dir/b2.txt"));
	cr_assert_not(has(&paths, ".gitignore"));
	cr_assert_eq(paths.n, 4);
	strv_free(&paths);

	cr_assert_eq(repo_changed_paths(r, to, to, &paths), 0);
	cr_assert_eq(paths.n, 0);
	cr_assert_lt(repo_changed_paths(r, "not-a-sha", to, &paths), 0);
	repo_free(r);
	free(from);
	free(to);
}

Test(repo, checkout_branch_fast_forward)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX], branch[64], *target, *content, *status, *path;

	target = origin_advance("a.txt", "a2\n");
	cr_assert_eq(repo_fetch(r, "origin"), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_resolve(r, "origin/main", oid), 0);
	cr_assert_str_eq(oid, target);

	cr_assert_eq(repo_checkout_branch(r, "main", target), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_head(r, oid, branch, sizeof(branch)), 0);
	cr_assert_str_eq(oid, target);
	cr_assert_str_eq(branch, "main");
	path = xasprintf("%s/a.txt", live);
	content = tl_read(path);
	cr_assert_str_eq(content, "a2\n");
	status = git(live, "status", "--porcelain", NULL);
	cr_assert_str_eq(status, "");
	free(status);
	status = git(live, "rev-parse", "main", NULL);
	cr_assert_str_eq(status, target);

	/* Same commit again: a no-op that succeeds. */
	cr_assert_eq(repo_checkout_branch(r, "main", target), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_checkout_branch(r, "-bad", target), SL_EUSAGE);
	repo_free(r);
	free(status);
	free(content);
	free(path);
	free(target);
}

Test(repo, checkout_branch_refuses_diverged)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX], *target, *local, *now;

	commit_file(live, "local.txt", "only here\n", "local work");
	local = git(live, "rev-parse", "HEAD", NULL);
	target = origin_advance("a.txt", "a2\n");
	cr_assert_eq(repo_fetch(r, "origin"), 0, "%s", repo_errmsg(r));

	cr_assert_eq(repo_checkout_branch(r, "main", target), SL_EREFUSED);
	cr_assert(str_startswith(repo_errmsg(r), "branch 'main' has diverged from "), "%s",
		  repo_errmsg(r));
	cr_assert_eq(repo_head(r, oid, NULL, 0), 0);
	cr_assert_str_eq(oid, local);
	now = git(live, "status", "--porcelain", NULL);
	cr_assert_str_eq(now, "");
	repo_free(r);
	free(now);
	free(local);
	free(target);
}

Test(repo, checkout_creates_a_missing_branch)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX], branch[64];
	char *first = git(live, "rev-parse", "HEAD~1", NULL), *path, *b;

	cr_assert_eq(repo_checkout_branch(r, "release", first), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_head(r, oid, branch, sizeof(branch)), 0);
	cr_assert_str_eq(branch, "release");
	cr_assert_str_eq(oid, first);
	path = xasprintf("%s/dir/b.txt", live);
	cr_assert_neq(access(path, F_OK), 0, "dir/b.txt came after HEAD~1");
	b = git(live, "rev-parse", "release", NULL);
	cr_assert_str_eq(b, first);
	repo_free(r);
	free(b);
	free(path);
	free(first);
}

Test(repo, checkout_detached)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX], branch[64] = "x";
	char *first = git(live, "rev-parse", "HEAD~1", NULL), *main_before, *main_after;

	main_before = git(live, "rev-parse", "main", NULL);
	cr_assert_eq(repo_checkout_detached(r, first), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_head(r, oid, branch, sizeof(branch)), 0);
	cr_assert_str_eq(oid, first);
	cr_assert_str_eq(branch, "");
	main_after = git(live, "rev-parse", "main", NULL);
	cr_assert_str_eq(main_after, main_before);
	free(main_after);
	main_after = git(live, "status", "--porcelain", NULL);
	cr_assert_str_eq(main_after, "");

	/* And back to the branch from detached HEAD. */
	cr_assert_eq(repo_checkout_branch(r, "main", main_before), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_head(r, oid, branch, sizeof(branch)), 0);
	cr_assert_str_eq(branch, "main");
	repo_free(r);
	free(main_after);
	free(main_before);
	free(first);
}

Test(repo, conflict_leaves_everything_untouched)
{
	struct repo *r = open_live();
	char oid[REPO_OID_HEX], *target, *before, *path, *content, *untracked;

	before = git(live, "rev-parse", "HEAD", NULL);
	commit_file(dev, "c.txt", "from origin\n", "add c");
	target = origin_advance("a.txt", "a2\n");
	cr_assert_eq(repo_fetch(r, "origin"), 0, "%s", repo_errmsg(r));

	path = xasprintf("%s/a.txt", live);
	tl_write(path, "local edit\n");
	cr_assert_eq(repo_checkout_branch(r, "main", target), SL_EREFUSED);
	cr_assert_not_null(strstr(repo_errmsg(r), "a.txt"), "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "local changes"), "%s", repo_errmsg(r));
	content = tl_read(path);
	cr_assert_str_eq(content, "local edit\n");
	free(content);
	untracked = xasprintf("%s/c.txt", live);
	cr_assert_neq(access(untracked, F_OK), 0, "checkout wrote c.txt despite the conflict");
	cr_assert_eq(repo_head(r, oid, NULL, 0), 0);
	cr_assert_str_eq(oid, before);
	content = git(live, "rev-parse", "main", NULL);
	cr_assert_str_eq(content, before);
	free(content);
	cr_assert_eq(repo_checkout_detached(r, target), SL_EREFUSED);

	/* An untracked file in the way is a conflict too. */
	tl_write(path, "a1\n");
	tl_write(untracked, "mine\n");
	cr_assert_eq(repo_checkout_branch(r, "main", target), SL_EREFUSED);
	cr_assert_not_null(strstr(repo_errmsg(r), "c.txt"), "%s", repo_errmsg(r));
	content = tl_read(untracked);
	cr_assert_str_eq(content, "mine\n");
	free(content);
	repo_free(r);
	free(untracked);
	free(path);
	free(before);
	free(target);
}

Test(repo, materialize)
{
	struct repo *r = open_live();
	char *first = git(live, "rev-parse", "HEAD~1", NULL),
	     *head = git(live, "rev-parse", "HEAD", NULL);
	char *rel = xasprintf("%s/releases/r1", base), *p, *content;
	char oid[REPO_OID_HEX];

	cr_assert_eq(repo_materialize(r, first, rel), 0, "%s", repo_errmsg(r));
	p = xasprintf("%s/a.txt", rel);
	content = tl_read(p);
	cr_assert_str_eq(content, "a1\n");
	free(content);
	free(p);
	p = xasprintf("%s/.gitignore", rel);
	cr_assert_eq(access(p, F_OK), 0);
	free(p);
	p = xasprintf("%s/dir/b.txt", rel);
	cr_assert_neq(access(p, F_OK), 0, "HEAD~1 has no dir/b.txt");
	free(p);
	p = xasprintf("%s/.git", rel);
	cr_assert_neq(access(p, F_OK), 0);
	free(p);

	/* The repository itself is untouched: HEAD, index, work tree. */
	cr_assert_eq(repo_head(r, oid, NULL, 0), 0);
	cr_assert_str_eq(oid, head);
	content = git(live, "status", "--porcelain", NULL);
	cr_assert_str_eq(content, "");
	free(content);

	/* The full tree of HEAD into another one. */
	free(rel);
	rel = xasprintf("%s/releases/r2", base);
	cr_assert_eq(repo_materialize(r, head, rel), 0, "%s", repo_errmsg(r));
	p = xasprintf("%s/dir/b.txt", rel);
	content = tl_read(p);
	cr_assert_str_eq(content, "b1\n");
	free(content);
	free(p);

	/* Not into a non-empty directory. */
	cr_assert_lt(repo_materialize(r, head, rel), 0);
	cr_assert_not_null(strstr(repo_errmsg(r), "not empty"), "%s", repo_errmsg(r));
	repo_free(r);
	free(rel);
	free(first);
	free(head);
}

Test(repo, push_branch_sets_upstream)
{
	struct repo *r = open_live();
	char *sha, *remote_sha, *up, *cfg;

	GIT_OK(live, "checkout", "-q", "-b", "feature", NULL);
	commit_file(live, "f.txt", "feature\n", "feature work");
	sha = git(live, "rev-parse", "HEAD", NULL);

	cr_assert_eq(repo_push_branch(r, "origin", "feature"), 0, "%s", repo_errmsg(r));
	remote_sha = git(origin, "rev-parse", "refs/heads/feature", NULL);
	cr_assert_str_eq(remote_sha, sha);
	up = git(live, "rev-parse", "--abbrev-ref", "feature@{u}", NULL);
	cr_assert_str_eq(up, "origin/feature");
	cfg = git(live, "config", "branch.feature.merge", NULL);
	cr_assert_str_eq(cfg, "refs/heads/feature");
	free(cfg);

	/* Again after another commit: a plain fast-forward push. */
	commit_file(live, "f.txt", "feature 2\n", "more");
	free(sha);
	sha = git(live, "rev-parse", "HEAD", NULL);
	cr_assert_eq(repo_push_branch(r, "origin", "feature"), 0, "%s", repo_errmsg(r));
	free(remote_sha);
	remote_sha = git(origin, "rev-parse", "refs/heads/feature", NULL);
	cr_assert_str_eq(remote_sha, sha);

	/* A non-fast-forward is rejected with a clear error. */
	GIT_OK(dev, "fetch", "-q", "origin", NULL);
	GIT_OK(dev, "checkout", "-q", "-b", "feature", "origin/feature", NULL);
	commit_file(dev, "g.txt", "other\n", "other side");
	GIT_OK(dev, "push", "-q", "origin", "feature", NULL);
	commit_file(live, "h.txt", "mine\n", "my side");
	cr_assert_eq(repo_push_branch(r, "origin", "feature"), SL_EREFUSED, "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "fast-forward"), "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "'feature'"), "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "'origin'"), "%s", repo_errmsg(r));

	cr_assert_eq(repo_push_branch(r, "nosuch", "feature"), SL_EUSAGE);
	cr_assert_not_null(strstr(repo_errmsg(r), "'nosuch'"), "%s", repo_errmsg(r));
	cr_assert_eq(repo_push_branch(r, "origin", "no-such-branch"), SL_EUSAGE);
	repo_free(r);
	free(up);
	free(sha);
	free(remote_sha);
}

Test(repo, remote_resolution)
{
	struct repo *r;
	struct strv cands = {0}, names = {0};
	char *out = NULL;

	GIT_OK(live, "remote", "add", "github", "/nonexistent/github.git", NULL);
	GIT_OK(live, "remote", "add", "zeta", "/nonexistent/zeta.git", NULL);
	GIT_OK(live, "config", "branch.feature.remote", "github", NULL);
	r = open_live();
	cr_assert(repo_remote_exists(r, "origin"));
	cr_assert(repo_remote_exists(r, "github"));
	cr_assert_not(repo_remote_exists(r, "forgejo"));
	cr_assert_eq(repo_remote_list(r, &names), 0);
	cr_assert_eq(names.n, 3);
	cr_assert(has(&names, "origin") && has(&names, "github") && has(&names, "zeta"));
	strv_free(&names);

	strv_push(&cands, "forgejo");
	strv_push(&cands, "origin");
	strv_push(&cands, "github");

	/* An explicit name must exist. */
	cr_assert_eq(repo_remote_resolve(r, "nope", NULL, "main", &cands, &out), SL_EUSAGE);
	cr_assert_null(out);
	cr_assert_not_null(strstr(repo_errmsg(r), "'nope'"), "%s", repo_errmsg(r));
	cr_assert_eq(repo_remote_resolve(r, "zeta", NULL, "main", &cands, &out), 0);
	cr_assert_str_eq(out, "zeta");
	free(out);

	/* branch.<branch>.remote first. */
	cr_assert_eq(repo_remote_resolve(r, "auto", "feature", "main", &cands, &out), 0);
	cr_assert_str_eq(out, "github");
	free(out);
	/* then branch.<main>.remote (set by the clone). */
	cr_assert_eq(repo_remote_resolve(r, NULL, "other", "main", &cands, &out), 0);
	cr_assert_str_eq(out, "origin");
	free(out);
	/* then the candidates, in order. */
	GIT_OK(live, "config", "--unset", "branch.main.remote", NULL);
	strv_free(&cands);
	strv_push(&cands, "forgejo");
	strv_push(&cands, "github");
	strv_push(&cands, "origin");
	cr_assert_eq(repo_remote_resolve(r, NULL, NULL, "main", &cands, &out), 0);
	cr_assert_str_eq(out, "github");
	free(out);
	/* then any remote. */
	strv_free(&cands);
	strv_push(&cands, "forgejo");
	cr_assert_eq(repo_remote_resolve(r, "", NULL, "main", &cands, &out), 0);
	cr_assert(streq(out, "origin") || streq(out, "github") || streq(out, "zeta"), "%s", out);
	free(out);
	repo_free(r);

	/* No remote at all: an error listing what was tried. */
	GIT_OK(live, "remote", "remove", "origin", NULL);
	GIT_OK(live, "remote", "remove", "github", NULL);
	GIT_OK(live, "remote", "remove", "zeta", NULL);
	r = open_live();
	out = NULL;
	cr_assert_eq(repo_remote_resolve(r, NULL, "topic", "main", &cands, &out), SL_EUSAGE);
	cr_assert_null(out);
	cr_assert_not_null(strstr(repo_errmsg(r), "forgejo"), "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "branch.topic.remote"), "%s", repo_errmsg(r));
	cr_assert_not_null(strstr(repo_errmsg(r), "DEPLOY_GIT_REMOTE"), "%s", repo_errmsg(r));
	repo_free(r);
	strv_free(&cands);
}

/* A checkout killed half way (set up by hand here, exactly): HEAD still at `from`, some paths at
 * `to`, one cut short, one deleted, one the move adds. repo_move_undo puts back the checkout's
 * own paths to `from` and never touches what someone else wrote: a move's path with other
 * content, or a file the move has nothing to do with. The intent round-trips through the
 * repository. */
Test(repo, interrupted_move_is_undone_but_never_an_operators_change)
{
	struct repo *r;
	struct repo_move m = {.op = 7}, got;
	struct strv restored = {0}, kept = {0};
	char *from, *to, *path, *text, *status;

	commit_file(dev, "g.txt", "g1\n", "g1");
	GIT_OK(dev, "push", "-q", "origin", "main", NULL);
	GIT_OK(live, "pull", "-q", NULL);
	from = git(live, "rev-parse", "HEAD", NULL);
	tl_write(xasprintf("%s/a.txt", dev), "a2: a longer second version of a\n");
	tl_write(xasprintf("%s/dir/b.txt", dev), "b2\n");
	tl_write(xasprintf("%s/c.txt", dev), "c2\n");
	mkdir(xasprintf("%s/new", dev), 0755);
	tl_write(xasprintf("%s/new/d.txt", dev), "d2\n");
	GIT_OK(dev, "rm", "-q", "g.txt", NULL);
	GIT_OK(dev, "add", "-A", NULL);
	GIT_OK(dev, "commit", "-q", "-m", "to", NULL);
	GIT_OK(dev, "push", "-q", "origin", "main", NULL);
	GIT_OK(live, "fetch", "-q", NULL);
	to = git(live, "rev-parse", "origin/main", NULL);

	r = open_live();
	strlcpy_(m.from, from, sizeof(m.from));
	strlcpy_(m.to, to, sizeof(m.to));
	strlcpy_(m.ref, "main", sizeof(m.ref));
	cr_assert_eq(repo_move_pending(r, &got), 0, "a move pending before one began");
	cr_assert_eq(repo_move_begin(r, &m), 0, "%s", repo_errmsg(r));
	cr_assert_eq(repo_move_pending(r, &got), 1, "%s", repo_errmsg(r));
	cr_assert_str_eq(got.from, from);
	cr_assert_str_eq(got.to, to);
	cr_assert_str_eq(got.ref, "main");
	cr_assert_eq(got.op, 7);

	/* the half-done checkout, and the operator's own files */
	tl_write(xasprintf("%s/a.txt", live), "a2: a longer"); /* cut short */
	tl_write(xasprintf("%s/dir/b.txt", live), "b2\n");
	tl_write(xasprintf("%s/c.txt", live), "c2\n");
	mkdir(xasprintf("%s/new", live), 0755);
	tl_write(xasprintf("%s/new/d.txt", live), "the operator's own\n");
	unlink(xasprintf("%s/g.txt", live));
	tl_write(xasprintf("%s/notes.local", live), "not the move's\n");

	cr_assert_eq(repo_move_undo(r, &m, &restored, &kept), 0, "%s", repo_errmsg(r));
	cr_assert_eq(restored.n, 4, "restored %zu paths", restored.n);
	cr_assert(strv_contains(&restored, "a.txt") && strv_contains(&restored, "dir/b.txt") &&
		  strv_contains(&restored, "c.txt") && strv_contains(&restored, "g.txt"));
	cr_assert_eq(kept.n, 1);
	cr_assert_str_eq(kept.v[0], "A new/d.txt");

	text = tl_read(xasprintf("%s/a.txt", live));
	cr_assert_str_eq(text, "a1\n");
	text = tl_read(xasprintf("%s/dir/b.txt", live));
	cr_assert_str_eq(text, "b1\n");
	text = tl_read(xasprintf("%s/g.txt", live));
	cr_assert_str_eq(text, "g1\n");
	path = xasprintf("%s/c.txt", live);
	cr_assert_neq(access(path, F_OK), 0, "the file the move added is still there");
	text = tl_read(xasprintf("%s/new/d.txt", live));
	cr_assert_str_eq(text, "the operator's own\n");
	text = tl_read(xasprintf("%s/notes.local", live));
	cr_assert_str_eq(text, "not the move's\n");
	status = git(live, "status", "--porcelain", "--untracked-files=all", NULL);
	cr_assert_str_eq(status, "?? new/d.txt\n?? notes.local", "%s", status);

	/* nothing left to do once the operator's file is gone, and the record goes */
	unlink(xasprintf("%s/new/d.txt", live));
	strv_free(&restored);
	strv_free(&kept);
	cr_assert_eq(repo_move_undo(r, &m, &restored, &kept), 0, "%s", repo_errmsg(r));
	cr_assert_eq(restored.n + kept.n, 0);
	cr_assert_eq(repo_move_end(r), 0);
	cr_assert_eq(repo_move_pending(r, &got), 0);
	strv_free(&restored);
	strv_free(&kept);
	repo_free(r);
}

/* The move record: created once (whole, then renamed into place), then overwritten in place,
 * one block, by every later move; cleared to "idle" at the end; an older shiplog's record (not
 * one block long) is read, and replaced or removed. */
Test(repo, the_move_record_is_created_once_then_overwritten_in_place)
{
	struct repo *r = open_live();
	struct repo_move m = {.op = 3}, got;
	char *rec = xasprintf("%s/.git/SHIPLOG_MOVE", live);
	struct stat st1, st2;

	memset(m.from, 'a', 40);
	memset(m.to, 'b', 40);
	cr_assert_eq(repo_move_end(r), 0, "no record: nothing to clear");
	cr_assert_eq(repo_move_begin(r, &m), 0, "%s", repo_errmsg(r));
	cr_assert_eq(stat(rec, &st1), 0);
	cr_assert_eq(st1.st_size, REPO_MOVE_RECORD);
	cr_assert_eq(repo_move_end(r), 0);
	cr_assert_eq(repo_move_pending(r, &got), 0, "cleared: no move pending");
	m.op = 4;
	memset(m.to, 'c', 40);
	cr_assert_eq(repo_move_begin(r, &m), 0, "%s", repo_errmsg(r));
	cr_assert_eq(stat(rec, &st2), 0);
	cr_assert_eq(st2.st_ino, st1.st_ino, "the second move rewrote the record in place");
	cr_assert_eq(st2.st_size, REPO_MOVE_RECORD);
	cr_assert_eq(repo_move_pending(r, &got), 1, "%s", repo_errmsg(r));
	cr_assert_eq(got.op, 4);
	cr_assert_eq(got.to[0], 'c');

	/* a record as an older shiplog wrote it (its own size): read, then replaced whole */
	tl_write(rec, "from aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		      "to dddddddddddddddddddddddddddddddddddddddd\nref \nop 9\n");
	cr_assert_eq(repo_move_pending(r, &got), 1, "%s", repo_errmsg(r));
	cr_assert_eq(got.op, 9);
	cr_assert_eq(repo_move_end(r), 0);
	cr_assert_eq(access(rec, F_OK), -1, "an older record is removed at the end");
	cr_assert_eq(repo_move_pending(r, &got), 0);
	free(rec);
	repo_free(r);
}
