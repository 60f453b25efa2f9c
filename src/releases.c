/* SPDX-License-Identifier: MIT */
#include "releases.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int releases_service_commit(const struct config *cfg, const char *service,
			    char out[REPO_OID_HEX])
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

int releases_ensure(struct repo *repo, const struct config *cfg, const char *commit,
		    bool *created, bool *built, char *err, size_t errlen)
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

int releases_switch(const struct config *cfg, const char *commit, const char *const *services,
		    size_t n, char *err, size_t errlen)
{
	_cleanup_free_ char *cur = releases_current(cfg);
	int r;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *link = releases_service_link(cfg, services[i]);
		r = point_link(link, commit, err, errlen);
		if (r < 0)
			return r;
	}
	return point_link(cur, commit, err, errlen);
}

int releases_adopt(const struct config *cfg, const struct ledger_state *st,
		   struct strv *adopted, char *err, size_t errlen)
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
