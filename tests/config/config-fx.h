/* SPDX-License-Identifier: MIT */
/* The config tests' fixture (tests/config/test-*.c): a scratch dir per test, a file written into
 * it, the loader's verdict, and the check of a refused file's message. */
#ifndef SHIPLOG_TESTS_CONFIG_FX_H
#define SHIPLOG_TESTS_CONFIG_FX_H

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "testlib.h"
#include "util.h"

/* A scratch dir per test, a file written into it, and the loader's verdict. */
struct fx {
	char *dir;
	char *path;
	struct config *cfg;
	char err[1024];
	int r;
};

static void fx_load(struct fx *f, const char *text)
{
	if (!f->dir)
		f->dir = tl_mkdtemp("config");
	free(f->path);
	f->path = xasprintf("%s/shiplog.conf", f->dir);
	tl_write(f->path, text);
	config_free(f->cfg);
	f->cfg = NULL;
	f->err[0] = '\0';
	f->r = config_load(f->path, &f->cfg, f->err, sizeof(f->err));
}

static void fx_release(struct fx *f)
{
	config_free(f->cfg);
	if (f->dir)
		tl_rmrf(f->dir);
	free(f->dir);
	free(f->path);
}

/* Asserts a failed load whose message starts "<path>:<line>: [<section>] <key>:". */
static void expect_error(struct fx *f, unsigned line, const char *section, const char *key)
{
	_cleanup_free_ char *prefix = xasprintf("%s:%u: [%s] %s:", f->path, line, section, key);

	cr_assert_eq(f->r, SL_EUSAGE, "expected a config error for [%s] %s, got %d", section, key,
		     f->r);
	cr_assert_null(f->cfg, "nothing may be returned on error");
	cr_assert(str_startswith(f->err, prefix), "error '%s' does not start with '%s'", f->err,
		  prefix);
	cr_assert(strchr(f->err + strlen(prefix), ';'), "error '%s' has no fix after ';'", f->err);
}

#endif
