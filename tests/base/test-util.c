/* SPDX-License-Identifier: MIT */
/* util.c: the atomic file write, on a real file system. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "testlib.h"
#include "util.h"

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "lstat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* The temporary file's name cannot be guessed, and whatever sits at the old predictable name
 * (<path>.tmp.<pid>, a symlink to a file of someone else's) is neither followed nor touched. */
Test(util, atomic_write_never_follows_a_planted_symlink)
{
	char *dir = tl_mkdtemp("atomic");
	char *path = xasprintf("%s/unit.service", dir);
	char *victim = xasprintf("%s/victim", dir);
	char *planted = xasprintf("%s.tmp.%d", path, (int)getpid());
	struct stat st;
	char *text;

	tl_write(victim, "precious\n");
	cr_assert_eq(chmod(victim, 0644), 0);
	cr_assert_eq(symlink(victim, planted), 0);

	cr_assert_eq(write_file_atomic(path, "new\n", 4, 0600), 0);
	text = tl_read(victim);
	cr_assert_str_eq(text, "precious\n", "the write went through the planted symlink");
	free(text);
	cr_assert_eq(mode_of(victim), 0644, "the planted symlink's target was chmod'ed");
	text = tl_read(path);
	cr_assert_str_eq(text, "new\n");
	free(text);
	cr_assert_eq(mode_of(path), 0600);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "the target is not a regular file");
	cr_assert_eq(tl_sh("test $(ls -A '%s' | wc -l) -eq 3", dir), 0,
		     "a temporary file was left behind");
	tl_rmrf(dir);
	free(dir), free(path), free(victim), free(planted);
}

/* The mode asked for is the mode written, whatever the umask. */
Test(util, atomic_write_mode_is_exact)
{
	char *dir = tl_mkdtemp("atomicmode");
	char *path = xasprintf("%s/f", dir);

	umask(0);
	cr_assert_eq(write_file_atomic(path, "x", 1, 0644), 0);
	cr_assert_eq(mode_of(path), 0644);
	cr_assert_eq(write_file_atomic(path, "y", 1, 0600), 0);
	cr_assert_eq(mode_of(path), 0600);
	umask(022);
	tl_rmrf(dir);
	free(dir), free(path);
}

/* Userinfo and secret-looking query values of every URL in a text become ***; the rest stays. */
Test(util, redact_secrets_in_urls)
{
	static const char *const cases[][2] = {
	    {"fetch 'origin': failed (url 'http://u:p4ss@host/r.git')",
	     "fetch 'origin': failed (url 'http://***@host/r.git')"},
	    {"https://TOKEN@github.com/o/r", "https://***@github.com/o/r"},
	    {"http://h:8/health?token=abc&x=1&API_KEY=k;sig=s#f",
	     "http://h:8/health?token=***&x=1&API_KEY=***;sig=***#f"},
	    {"a http://a:b@h/ b https://c:d@h/?password=e c",
	     "a http://***@h/ b https://***@h/?password=*** c"},
	    {"ssh://git@h:22/r ok", "ssh://***@h:22/r ok"},
	    {"no url here: user@host, key=value", "no url here: user@host, key=value"},
	    {"http://h/p?q=1", "http://h/p?q=1"},
	    {"", ""},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *got = redact_secrets(cases[i][0]);

		cr_assert_str_eq(got, cases[i][1], "redact('%s')", cases[i][0]);
		free(got);
	}
	{
		char *got = redact_secrets(NULL);
		cr_assert_str_eq(got, "");
		free(got);
	}
}

/* Another shiplog's exit status (a server's over ssh, a fleet host's) reads back as the result
 * it was made from: a remote ^C stays an interruption (130, once read as an environment error by
 * the fleet reads) and "no ledger" stays itself (5); a status shiplog never exits with is an
 * environment error, said to be unknown. */
Test(util, exit_status_reads_back_as_the_result_it_came_from)
{
	static const int results[] = {0,       SL_EFAILED,   SL_EUSAGE,	     SL_EREFUSED,
				      SL_EENV, SL_ENOLEDGER, SL_EINTERRUPTED};
	static const int unknown[] = {6, 124, 126, 127, 137, 143, 255, -1};
	bool known;

	for (size_t i = 0; i < ELEMENTSOF(results); i++) {
		known = false;
		cr_assert_eq(result_for_exit_code(exit_code_for(results[i]), &known), results[i],
			     "result %d (exit %d) does not read back", results[i],
			     exit_code_for(results[i]));
		cr_assert(known);
	}
	cr_assert_eq(result_for_exit_code(130, NULL), SL_EINTERRUPTED);
	cr_assert_eq(exit_code_for(SL_EINTERRUPTED), 130);
	cr_assert_eq(result_for_exit_code(5, NULL), SL_ENOLEDGER);
	for (size_t i = 0; i < ELEMENTSOF(unknown); i++) {
		known = true;
		cr_assert_eq(result_for_exit_code(unknown[i], &known), SL_EENV, "exit %d",
			     unknown[i]);
		cr_assert_not(known, "exit %d is not one of shiplog's", unknown[i]);
	}
}
