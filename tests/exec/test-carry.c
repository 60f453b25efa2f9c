/* SPDX-License-Identifier: MIT */
/* [target] carry on the real filesystem: a carried tree is a copy the build may change, or a
 * tree of hard links that the build cannot write through into the previous release. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "releases.h"
#include "testlib.h"
#include "util.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* <base>/checkout.releases/A with node_modules/pkg/{index.js,bin (0755)} and a symlink. */
static void make_previous(const char *base)
{
	cr_assert_eq(tl_sh("cd '%s' && mkdir -p checkout.releases/" A "/node_modules/pkg "
			   "checkout.releases/" B " && cd checkout.releases/" A "/node_modules && "
			   "echo v1 > pkg/index.js && printf '#!/bin/sh\\n' > pkg/bin && "
			   "chmod 755 pkg/bin && ln -s pkg/index.js main.js",
			   base),
		     0);
}

static char *slurp(const char *base, const char *rel, const char *path)
{
	char *p = xasprintf("%s/checkout.releases/%s/%s", base, rel, path);
	char *t = tl_read(p);

	free(p);
	return t ? t : xstrdup("");
}

/* What a child reports: 0 ok, else the number of the failed check. */
static int carry_as_user(const char *base, enum carry_method method, bool hardlinked)
{
	struct config cfg = {0};
	struct releases_carry_result res;
	char err[512], *f, *t;
	struct stat a, b;
	int fd;

	cfg.target.checkout = xasprintf("%s/checkout", base);
	cfg.target.carry_method = method;
	if (releases_carry(&cfg, A, B, "node_modules", &res, err, sizeof(err)) < 0)
		return 1;
	if (res.files != 2 || res.skipped)
		return 2;
	if ((res.how == RELEASES_CARRY_HARDLINK) != hardlinked)
		return 3;
	f = xasprintf("%s/checkout.releases/" B "/node_modules/pkg/index.js", base);
	if (stat(f, &b) < 0)
		return 4;
	t = xasprintf("%s/checkout.releases/" A "/node_modules/pkg/index.js", base);
	if (stat(t, &a) < 0 || (a.st_ino == b.st_ino) != hardlinked)
		return 5;
	/* the build writes the carried file in place: refused for a hard link (EACCES) */
	fd = open(f, O_WRONLY | O_APPEND);
	if (hardlinked && (fd >= 0 || errno != EACCES))
		return 6;
	if (fd >= 0) {
		if (write(fd, "v2\n", 3) != 3)
			return 7;
		close(fd);
	}
	/* and replaces it, as package managers do: always fine */
	if (unlink(f) < 0)
		return 8;
	free(t);
	t = slurp(base, A, "node_modules/pkg/index.js");
	if (!streq(t, "v1\n"))
		return 9; /* the previous release changed */
	free(t);
	t = xasprintf("%s/checkout.releases/" B "/node_modules/pkg/bin", base);
	if (stat(t, &b) < 0 || !(b.st_mode & 0100))
		return 10; /* modes are kept */
	free(t);
	t = xasprintf("%s/checkout.releases/" B "/node_modules/main.js", base);
	if (lstat(t, &b) < 0 || !S_ISLNK(b.st_mode))
		return 11; /* symlinks stay symlinks */
	free(t);
	free(f);
	free(cfg.target.checkout);
	return 0;
}

static int in_child(const char *base, enum carry_method method, bool hardlinked, uid_t uid)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (uid != geteuid() && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(100);
		_exit(carry_as_user(base, method, hardlinked));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

Test(carry, hard_links_cannot_be_written_through)
{
	char *base = tl_mkdtemp("carry-hl");
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	int r;

	/* as root, permissions protect nothing: the test runs the carry as 'nobody' */
	chmod(base, 0755);
	make_previous(base);
	if (geteuid() == 0)
		cr_assert_eq(tl_sh("chown -R %u:%u '%s/checkout.releases'", uid, uid, base), 0);
	r = in_child(base, CARRY_HARDLINK, true, uid);
	cr_assert_eq(r, 0, "check %d failed (see carry_as_user)", r);
	tl_rmrf(base);
	free(base);
}

Test(carry, root_gets_copies_instead_of_hard_links)
{
	char *base;
	int r;

	TL_REQUIRE(geteuid() == 0, "root");
	base = tl_mkdtemp("carry-root");
	make_previous(base);
	r = in_child(base, CARRY_HARDLINK, false, 0);
	cr_assert_eq(r, 0, "check %d failed (see carry_as_user)", r);
	tl_rmrf(base);
	free(base);
}

Test(carry, auto_copies_or_reflinks_and_the_build_may_write)
{
	char *base = tl_mkdtemp("carry-auto");
	int r;

	make_previous(base);
	r = in_child(base, CARRY_AUTO, false, geteuid());
	cr_assert_eq(r, 0, "check %d failed (see carry_as_user)", r);
	tl_rmrf(base);
	free(base);
}
