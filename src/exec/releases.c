/* SPDX-License-Identifier: MIT */
#include "releases.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out.h"
#include "spawn.h"

#define BUILT_MARKER ".shiplog-built"

char *releases_dir(const struct config *cfg)
{
	return xasprintf("%s.releases", cfg->target.checkout);
}

char *releases_current(const struct config *cfg)
{
	return xasprintf("%s.releases/current", cfg->target.checkout);
}

char *releases_path(const struct config *cfg, const char *commit)
{
	return xasprintf("%s.releases/%s", cfg->target.checkout, commit);
}

char *releases_service_link(const struct config *cfg, const char *service)
{
	return xasprintf("%s.releases/current-%s", cfg->target.checkout, service);
}

static bool is_commit_name(const char *s)
{
	size_t n = strlen(s);

	return (n == 40 || n == 64) && strspn(s, "0123456789abcdef") == n;
}

static int link_commit(const char *link, char out[REPO_OID_HEX])
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	const char *base;

	out[0] = '\0';
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!is_commit_name(base))
		return -EINVAL;
	strlcpy_(out, base, REPO_OID_HEX);
	return 0;
}

int releases_current_commit(const struct config *cfg, char out[REPO_OID_HEX])
{
	_cleanup_free_ char *cur = releases_current(cfg);

	return link_commit(cur, out);
}

int releases_service_commit(const struct config *cfg, const char *service, char out[REPO_OID_HEX])
{
	_cleanup_free_ char *link = releases_service_link(cfg, service);

	return link_commit(link, out);
}

static int rm_rf(const char *path)
{
	char *argv[] = {"rm", "-rf", "--", (char *)path, NULL};
	struct spawn_opts so = {.capture = true};
	struct spawn_result res = {0};
	int r = spawn_run(argv, &so, &res);

	if (r == 0 && res.exit_code != 0)
		r = -EIO;
	spawn_result_release(&res);
	return r;
}

int releases_ensure(struct repo *repo, const struct config *cfg, const char *commit, bool *created,
		    bool *built, char *err, size_t errlen)
{
	_cleanup_free_ char *dir = releases_dir(cfg), *path = releases_path(cfg, commit);
	_cleanup_free_ char *tmp = NULL, *rev = NULL, *marker = NULL, *line = NULL;
	struct stat st;
	int r;

	*created = false;
	*built = false;
	r = mkdir_p(dir, 0755);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the releases directory '%s': %s", dir,
			 strerror(-r));
		return r;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		marker = xasprintf("%s/%s", path, BUILT_MARKER);
		*built = access(marker, F_OK) == 0;
		return 0;
	}
	tmp = xasprintf("%s/.tmp-%s-%d", dir, commit, (int)getpid());
	rm_rf(tmp);
	r = repo_materialize(repo, commit, tmp);
	if (r < 0) {
		snprintf(err, errlen, "%s", repo_errmsg(repo));
		rm_rf(tmp);
		return r;
	}
	rev = xasprintf("%s/REVISION", tmp);
	line = xasprintf("%s\n", commit);
	r = write_file_atomic(rev, line, strlen(line), 0644);
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "cannot complete the release '%s': %s", path, strerror(-r));
		rm_rf(tmp);
		return r;
	}
	*created = true;
	return 0;
}

int releases_mark_built(const struct config *cfg, const char *commit)
{
	_cleanup_free_ char *path = releases_path(cfg, commit);
	_cleanup_free_ char *marker = xasprintf("%s/%s", path, BUILT_MARKER);

	return write_file_atomic(marker, "", 0, 0644);
}

/* Points link at releases/<commit> (relative, so that the releases directory can move as a
 * whole), atomically: a new link renamed over the old. */
static int point_link(const char *link, const char *commit, char *err, size_t errlen)
{
	_cleanup_free_ char *tmp = xasprintf("%s.new-%d", link, (int)getpid());

	unlink(tmp);
	if (symlink(commit, tmp) < 0 || rename(tmp, link) < 0) {
		int r = -errno;
		snprintf(err, errlen, "cannot point '%s' at %s: %s", link, commit, strerror(-r));
		unlink(tmp);
		return r;
	}
	return 0;
}

bool releases_is_built(const struct config *cfg, const char *commit)
{
	_cleanup_free_ char *marker =
	    xasprintf("%s.releases/%s/%s", cfg->target.checkout, commit, BUILT_MARKER);

	return access(marker, F_OK) == 0;
}

int releases_switch(const struct config *cfg, const char *commit, const char *const *services,
		    size_t n, char *err, size_t errlen)
{
	char(*before)[REPO_OID_HEX] = xcalloc(n + 1, sizeof(*before));
	size_t done = 0;
	int r = 0;

	/* the services' links, then `current` (i == n) */
	for (; done <= n && r >= 0; done++) {
		const char *service = done < n ? services[done] : NULL;
		if (service)
			(void)releases_service_commit(cfg, service, before[done]);
		else
			(void)releases_current_commit(cfg, before[done]);
		r = releases_point(cfg, service, commit, err, errlen);
	}
	/* all or nothing: a link that failed leaves the ones switched before it where they were
	 * (removed when there was none), so no unit starts another release than its peers' */
	for (size_t i = 0; r < 0 && i + 1 < done; i++) {
		char e[256];
		if (releases_point(cfg, i < n ? services[i] : NULL, before[i], e, sizeof(e)) < 0)
			log_warn("%s", e);
	}
	free(before);
	return r;
}

int releases_point(const struct config *cfg, const char *service, const char *commit, char *err,
		   size_t errlen)
{
	_cleanup_free_ char *link =
	    service ? releases_service_link(cfg, service) : releases_current(cfg);

	if (commit[0])
		return point_link(link, commit, err, errlen);
	if (unlink(link) < 0 && errno != ENOENT) {
		int r = -errno;
		snprintf(err, errlen, "cannot remove '%s': %s", link, strerror(-r));
		return r;
	}
	return 0;
}

int releases_adopt(const struct config *cfg, const struct ledger_state *st, struct strv *adopted,
		   char *err, size_t errlen)
{
	char current[REPO_OID_HEX] = "";
	int r;

	releases_current_commit(cfg, current);
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct service *s = &cfg->services[i];
		_cleanup_free_ char *link = releases_service_link(cfg, s->name);
		const char *to = current;
		struct stat sb;

		if (lstat(link, &sb) == 0)
			continue;
		if (st) {
			/* the release of the commit it was started with, when it still exists */
			const struct ledger_service_state *ss = ledger_state_service(st, s->name);
			const char *runs = ss ? ss->rt[LEDGER_RT_NATIVE].commit : "";
			_cleanup_free_ char *p = runs[0] ? releases_path(cfg, runs) : NULL;
			if (p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
				to = runs;
		}
		if (!to[0])
			continue;
		r = point_link(link, to, err, errlen);
		if (r < 0)
			return r;
		if (adopted)
			strv_push(adopted, s->name);
	}
	return 0;
}

/* Protected: what `current` or a service's link points at, what any service runs, its last-good
 * (good[0]) and the one a `rollback` without a target would pick (good[1]). */
static bool is_protected(const struct ledger_state *st, const char *commit,
			 const struct strv *linked)
{
	for (size_t i = 0; i < linked->n; i++)
		if (streq(commit, linked->v[i]))
			return true;
	for (uint32_t i = 0; i < st->nservices; i++)
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_service_runtime *r = &st->services[i].rt[rt];
			if (streq(r->commit, commit))
				return true;
			for (uint32_t g = 0; g < r->ngood && g < 2; g++)
				if (streq(r->good[g].commit, commit))
					return true;
		}
	return false;
}

struct release_entry {
	char name[REPO_OID_HEX];
	time_t mtime;
};

static int by_mtime_desc(const void *a, const void *b)
{
	const struct release_entry *x = a, *y = b;

	return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : strcmp(x->name, y->name);
}

int releases_prune(const struct config *cfg, const struct ledger_state *st, unsigned keep,
		   struct strv *removed, char *err, size_t errlen)
{
	_cleanup_free_ char *dir = releases_dir(cfg);
	struct release_entry *list = NULL;
	struct strv linked = {0};
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;
		struct stat sb;
		if (streq(de->d_name, "current") || str_startswith(de->d_name, "current-")) {
			char c[REPO_OID_HEX];
			p = xasprintf("%s/%s", dir, de->d_name);
			if (link_commit(p, c) == 0)
				strv_push(&linked, c);
			continue;
		}
		if (!is_commit_name(de->d_name))
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(p, &sb) < 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, cap * sizeof(*list));
		}
		strlcpy_(list[n].name, de->d_name, sizeof(list[n].name));
		list[n].mtime = sb.st_mtime;
		n++;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), by_mtime_desc);
	for (size_t i = keep; i < n; i++) {
		_cleanup_free_ char *p = NULL;
		if (is_protected(st, list[i].name, &linked))
			continue;
		p = xasprintf("%s/%s", dir, list[i].name);
		r = rm_rf(p);
		if (r < 0) {
			snprintf(err, errlen, "cannot remove the old release '%s': %s", p,
				 strerror(-r));
			break;
		}
		strv_push(removed, list[i].name);
	}
	free(list);
	strv_free(&linked);
	return r;
}

char *releases_shared_dir(const struct config *cfg)
{
	return xasprintf("%s.shared", cfg->target.checkout);
}

/* ---- carry: a tree copied from the previous release ---------------------------------------- */

struct carry {
	enum releases_carry_how how;
	unsigned files;
};

static int copy_data(int in, int out)
{
	char buf[65536];

	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0)
			return -errno;
		for (ssize_t w, off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0)
				return -errno;
		}
	}
}

static int carry_file(struct carry *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	int in, out, r = 0;

	if (c->how == RELEASES_CARRY_HARDLINK) {
		/* The inode is shared: without write permission an in-place write by the build
		 * fails (EACCES) instead of changing the previous release's file. */
		if ((st->st_mode & 0222) && fchmodat(sdir, name, st->st_mode & 07555, 0) < 0)
			return -errno;
		return linkat(sdir, name, ddir, name, 0) < 0 ? -errno : 0;
	}
	in = openat(sdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	if (c->how == RELEASES_CARRY_REFLINK && ioctl(out, FICLONE, in) < 0) {
		if (errno != EOPNOTSUPP && errno != EXDEV && errno != EINVAL && errno != ENOTTY &&
		    errno != ENOSYS)
			r = -errno;
		else
			c->how = RELEASES_CARRY_COPY; /* this filesystem has no reflinks */
	}
	if (r == 0 && c->how == RELEASES_CARRY_COPY) {
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		r = copy_data(in, out);
		if (r == 0)
			futimens(out, ts);
	}
	if (r == 0 && fchmod(out, st->st_mode & 07777) < 0)
		r = -errno;
	close(in);
	close(out);
	return r;
}

static int carry_entry(struct carry *c, int sdir, int ddir, const char *name, int depth);

static int carry_dir(struct carry *c, int sdir, int ddir, const char *name, mode_t mode, int depth)
{
	int s, d, r = 0;
	DIR *dir;
	struct dirent *de;

	if (depth > 256)
		return -ELOOP;
	if (mkdirat(ddir, name, 0700) < 0)
		return -errno;
	s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0 || d < 0) {
		r = -errno;
		goto out;
	}
	dir = fdopendir(s);
	if (!dir) {
		r = -errno;
		goto out;
	}
	s = -1;
	while (r == 0 && (de = readdir(dir)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			r = carry_entry(c, dirfd(dir), d, de->d_name, depth + 1);
	closedir(dir);
	if (r == 0 && fchmod(d, mode & 07777) < 0)
		r = -errno;
out:
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return r;
}

static int carry_entry(struct carry *c, int sdir, int ddir, const char *name, int depth)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return carry_dir(c, sdir, ddir, name, st.st_mode, depth);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		return symlinkat(target, ddir, name) < 0 ? -errno : 0;
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* sockets, fifos: not build output */
	c->files++;
	return carry_file(c, sdir, ddir, name, &st);
}

int releases_carry(const struct config *cfg, const char *from, const char *to, const char *path,
		   struct releases_carry_result *res, char *err, size_t errlen)
{
	_cleanup_free_ char *src = releases_path(cfg, from), *dst = releases_path(cfg, to);
	_cleanup_free_ char *dpath = xasprintf("%s/%s", dst, path), *parent = NULL;
	struct carry c = {.how = RELEASES_CARRY_REFLINK};
	const char *base = strrchr(path, '/');
	struct stat st;
	int sdir = -1, ddir = -1, r;

	*res = (struct releases_carry_result){0};
	if (cfg->target.carry_method == CARRY_HARDLINK)
		c.how = geteuid() == 0 ? RELEASES_CARRY_COPY : RELEASES_CARRY_HARDLINK;
	if (lstat(dpath, &st) == 0) {
		res->skipped = "the new release has it (it is in the commit)";
		return 0;
	}
	parent = base ? xasprintf("%s/%.*s", src, (int)(base - path), path) : xstrdup(src);
	sdir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(parent);
	parent = base ? xasprintf("%s/%.*s", dst, (int)(base - path), path) : xstrdup(dst);
	base = base ? base + 1 : path;
	if (sdir < 0 || fstatat(sdir, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		res->skipped = "the previous release has none";
		if (sdir >= 0)
			close(sdir);
		return 0;
	}
	r = mkdir_p(parent, 0755);
	if (r == 0) {
		ddir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = ddir < 0 ? -errno : carry_entry(&c, sdir, ddir, base, 0);
	}
	close(sdir);
	if (ddir >= 0)
		close(ddir);
	res->how = c.how;
	res->files = c.files;
	if (r < 0) {
		snprintf(err, errlen, "cannot carry '%s' from release %.12s: %s", path, from,
			 strerror(-r));
		rm_rf(dpath);
	}
	return r;
}

const char *releases_carry_how_name(enum releases_carry_how how)
{
	return how == RELEASES_CARRY_REFLINK	? "reflinks"
	       : how == RELEASES_CARRY_HARDLINK ? "read-only hard links"
						: "copies";
}

/* ---- shared: paths every release links to ---------------------------------------------------- */

int releases_link_shared(const struct config *cfg, const char *commit, struct strv *notes,
			 char *err, size_t errlen)
{
	_cleanup_free_ char *sdir = releases_shared_dir(cfg), *rel = releases_path(cfg, commit);
	int r;

	for (size_t i = 0; i < cfg->target.shared.n; i++) {
		const char *p = cfg->target.shared.v[i];
		_cleanup_free_ char *src = xasprintf("%s/%s", sdir, p);
		_cleanup_free_ char *dst = xasprintf("%s/%s", rel, p);
		_cleanup_free_ char *seed = xasprintf("%s/%s", cfg->target.checkout, p);
		_cleanup_free_ char *dparent = xstrdup(dst), *sparent = xstrdup(src);
		char cur[PATH_MAX];
		ssize_t n = readlink(dst, cur, sizeof(cur) - 1);
		struct stat st;

		if (n > 0 && (size_t)n == strlen(src) && memcmp(cur, src, (size_t)n) == 0)
			continue; /* linked already */
		*strrchr(sparent, '/') = '\0';
		*strrchr(dparent, '/') = '\0';
		if (lstat(src, &st) < 0) {
			/* first use: the checkout's own copy (an .env written there), else an
			 * empty directory */
			r = mkdir_p(sparent, 0700);
			if (r == 0 && lstat(seed, &st) == 0) {
				char *argv[] = {"cp", "-a", "--", seed, src, NULL};
				struct spawn_opts so = {.capture = true};
				struct spawn_result res = {0};
				r = spawn_run(argv, &so, &res);
				if (r == 0 && res.exit_code != 0)
					r = -EIO;
				spawn_result_release(&res);
				strv_push_take(notes,
					       xasprintf("shared %s: created from %s", p, seed));
			} else if (r == 0) {
				r = mkdir(src, 0755) < 0 ? -errno : 0;
				strv_push_take(
				    notes, xasprintf("shared %s: created (empty directory)", p));
			}
			if (r < 0) {
				snprintf(err, errlen, "cannot create the shared path '%s': %s", src,
					 strerror(-r));
				return r;
			}
		}
		if (lstat(dst, &st) == 0) {
			strv_push_take(notes, xasprintf("shared %s: replaces the commit's own", p));
			rm_rf(dst);
		}
		r = mkdir_p(dparent, 0755);
		if (r == 0 && symlink(src, dst) < 0)
			r = -errno;
		if (r < 0) {
			snprintf(err, errlen, "cannot link '%s' to the shared '%s': %s", dst, src,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}
