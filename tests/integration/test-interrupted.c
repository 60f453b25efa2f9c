/* SPDX-License-Identifier: MIT */
/* Operations killed half way, against the real user manager and real git repositories: what the
 * next operation finds and puts right (issue 9; the drill's checkout finding). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

#define REQUIRE_MANAGER() TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager")

#define BULK_FILES 4000

/* Entries in dir (-1 when it does not exist). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Pushes a commit that changes NOTES and adds BULK_FILES files under `bulk` (a checkout that
 * takes a measurable time), starts `deploy main --workers-only` and SIGKILLs it once the
 * checkout has written some of them, while it still writes the others. commit gets the
 * commit. */
static void deploy_killed_in_checkout(struct sample *s, const char *bulk, char commit[41])
{
	_cleanup_free_ char *snippet = xasprintf(
	    "echo %s >> NOTES && mkdir %s && head -c %d /dev/urandom | split -b 4096 -a 4 - %s/f",
	    bulk, bulk, BULK_FILES * 4096, bulk);
	_cleanup_free_ char *dir = xasprintf("%s/%s", s->checkout, bulk);
	_cleanup_free_ char *log = xasprintf("%s/%s.log", s->dir, bulk);
	int seen = -1, left;
	pid_t pid;

	strlcpy_(commit, sample_commit(s, NULL, snippet, bulk), 41);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		freopen(log, "w", stdout);
		freopen(log, "a", stderr);
		execl(SHIPLOG_BINARY, SHIPLOG_BINARY, "-c", s->conf, "deploy", "main",
		      "--workers-only", (char *)NULL);
		_exit(127);
	}
	/* the kill lands while libgit2 writes the files: after the first 100 appear */
	for (int i = 0; i < 600000 && seen < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			cr_assert_fail("the deploy ended before its checkout was seen:\n%s",
				       tl_read(log));
		seen = count_entries(dir);
		if (seen < 100)
			usleep(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	left = count_entries(dir);
	cr_assert(left >= 100 && left < BULK_FILES,
		  "the kill did not land during the checkout (%d of %d files written); a faster "
		  "machine needs more files",
		  left, BULK_FILES);
}

/* The drill's open finding: a SIGKILL while libgit2 checks out the new commit left files of
 * both commits in the tree (HEAD still at the old one) and every later deploy was refused as a
 * dirty tree. The move's intent is recorded in the repository before the checkout starts; the
 * next deploy (or rollback) puts the paths the move was changing back to the old commit
 * (recorded as a checkout-restore step) and proceeds. A path holding someone's own change is
 * never touched: it is named with how to drop it, the deploy is refused as dirty, and once it
 * is dropped the next deploy proceeds. */
Test(interrupted, killed_checkout_is_put_back_and_never_an_operators_change)
{
	struct sample s;
	struct tl_run r;
	char prev[41], a[41], b[41], now[41];
	_cleanup_free_ char *notes = NULL, *bulk2 = NULL;

	REQUIRE_MANAGER();
	sample_setup(&s, "ckill", true);
	sample_head(&s, prev);

	/* 1. killed mid-checkout: the next deploy puts the tree back and deploys */
	deploy_killed_in_checkout(&s, "bulk1", a);
	sample_head(&s, now);
	cr_assert_str_eq(now, prev, "HEAD moved before the checkout had finished");
	cr_assert_eq(tl_sh("test -n \"$(git -C '%s' status --porcelain)\"", s.checkout), 0,
		     "the killed checkout left a clean tree: nothing was tested");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "the deploy after the killed checkout failed:\n%s\n%s", r.out,
		     r.err);
	cr_assert(strstr(r.out, "closing operation "), "the killed deploy was not closed:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "putting back its paths to ") && strstr(r.out, "git restore"),
		  "the interrupted checkout was not put back:\n%s", r.out);
	sample_head(&s, now);
	cr_assert_str_eq(now, a);
	cr_assert_eq(tl_sh("test -z \"$(git -C '%s' status --porcelain)\"", s.checkout), 0,
		     "the tree is not clean after the deploy");
	sample_beat_commit(&s, "compute", now);
	cr_assert_str_eq(now, a, "compute does not run the deployed commit");
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "\"checkout-restore\""), "no checkout-restore step recorded");
	tl_run_release(&r);

	/* 2. killed again, and the operator edits a file the checkout was moving */
	deploy_killed_in_checkout(&s, "bulk2", b);
	notes = xasprintf("%s/NOTES", s.checkout);
	tl_write(notes, "my own note\n");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "a deploy went ahead over an operator's change:\n%s\n%s",
		     r.out, r.err);
	cr_assert(strstr(r.err, "NOTES") && strstr(r.err, "left as they are") &&
		      strstr(r.err, "checkout ") && strstr(r.err, " -- NOTES"),
		  "the operator's change is not named with how to drop it:\n%s", r.err);
	tl_run_release(&r);
	{
		char *text = tl_read(notes);
		cr_assert_str_eq(text, "my own note\n", "the operator's change was overwritten");
		free(text);
	}
	bulk2 = xasprintf("%s/bulk2", s.checkout);
	cr_assert_leq(count_entries(bulk2), 0, "the files the move added were not removed");
	cr_assert_eq(tl_sh("test \"$(git -C '%s' status --porcelain)\" = ' M NOTES'", s.checkout),
		     0, "more than the operator's change is left in the tree");
	cr_assert_eq(tl_sh("git -C '%s' checkout -q %s -- NOTES", s.checkout, a), 0);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "the deploy after the change was dropped failed:\n%s\n%s",
		     r.out, r.err);
	sample_head(&s, now);
	cr_assert_str_eq(now, b);
	cr_assert_eq(tl_sh("test -z \"$(git -C '%s' status --porcelain)\"", s.checkout), 0);
	tl_run_release(&r);

	/* 3. a rollback after the killed checkout puts it back too, then rolls back (to a) */
	deploy_killed_in_checkout(&s, "bulk3", now);
	sample_shiplog(&s, &r, NULL, "rollback", NULL);
	cr_assert_eq(r.exit_code, 0, "the rollback after the killed checkout failed:\n%s\n%s",
		     r.out, r.err);
	cr_assert(strstr(r.out, "putting back its paths to "),
		  "the rollback did not put the checkout back:\n%s", r.out);
	sample_head(&s, now);
	cr_assert_str_eq(now, a);
	cr_assert_eq(tl_sh("test -z \"$(git -C '%s' status --porcelain)\"", s.checkout), 0,
		     "the tree is not clean after the rollback");
	tl_run_release(&r);
	sample_teardown(&s);
}

/* SIGINT to pid; returns its exit status (-1: it did not exit) and its log in *text. */
static int interrupt(struct sample *s, pid_t pid, const char *name, char **text)
{
	_cleanup_free_ char *log = xasprintf("%s/%s.log", s->dir, name);
	int st;

	kill(pid, SIGINT);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*text = tl_read(log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One ^C (SIGINT) stops a deploy and a rollback as it stops a cut-over or a fleet operation:
 * exit 130, op.finished interrupted, one line naming the operation and what the signal left,
 * and what each service runs (the real units: the heartbeats say it). The next plain rollback
 * completes the stopped one. */
Test(interrupted, sigint_ends_a_deploy_and_a_rollback_with_130)
{
	struct sample s;
	struct tl_run r;
	char c1[41], c2[41], now[41], line[64];
	_cleanup_free_ char *slow = NULL, *text = NULL, *text2 = NULL;
	int64_t t0 = mono_ns();
	pid_t pid;
	int code;

	REQUIRE_MANAGER();
	sample_setup(&s, "sigint", true);
	strlcpy_(c1, sample_commit(&s, NULL, "echo one >> NOTES", "one"), sizeof(c1));
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	strlcpy_(c2, sample_commit(&s, NULL, "echo two >> NOTES", "two"), sizeof(c2));
	slow = sample_alt_conf(&s, "slow", "[policy]", "settle = 8s");

	/* 1. a deploy stopped in its settle window: its restarts ran, nothing was verified */
	pid = sample_start_until(&s, slow, "deploy", "== Verify ==",
				 (char *[]){"deploy", "main", "--workers-only", NULL});
	code = interrupt(&s, pid, "deploy", &text);
	cr_assert_eq(code, 130, "an interrupted deploy exited %d:\n%s", code, text);
	cr_assert(strstr(text, "interrupted by signal 2 after the restart of") &&
		      strstr(text, "not verified; deploy again or run 'shiplog rollback'"),
		  "the one line does not say what the signal left:\n%s", text);
	cr_assert(!strstr(text, "Automatic Rollback"), "rolled back behind the operator:\n%s",
		  text);
	snprintf(line, sizeof(line), "%-16s %.12s", "compute", c2);
	cr_assert(strstr(text, line), "what compute runs is not said:\n%s", text);
	sample_beat_commit(&s, "compute", now);
	cr_assert_str_eq(now, c2, "compute does not run what the deploy restarted");
	sample_shiplog(&s, &r, NULL, "--json", "history", "--limit", "1", NULL);
	cr_assert(strstr(r.out, "\"outcome\":\"interrupted\""), "%s", r.out);
	tl_run_release(&r);

	/* 2. the rollback that follows, stopped while it verifies */
	pid = sample_start_until(&s, slow, "rollback",
				 "== Rollback Verify ==", (char *[]){"rollback", NULL});
	code = interrupt(&s, pid, "rollback", &text2);
	cr_assert_eq(code, 130, "an interrupted rollback exited %d:\n%s", code, text2);
	cr_assert(strstr(text2, "was interrupted by signal 2; 'shiplog rollback' completes it"),
		  "%s", text2);
	snprintf(line, sizeof(line), "%-16s %.12s", "compute", c1);
	cr_assert(strstr(text2, line), "what compute runs is not said:\n%s", text2);
	sample_shiplog(&s, &r, NULL, "--json", "history", "--limit", "1", NULL);
	cr_assert(strstr(r.out, "\"outcome\":\"interrupted\"") &&
		      strstr(r.out, "\"kind\":\"rollback\""),
		  "%s", r.out);
	tl_run_release(&r);

	/* 3. the next plain rollback completes it */
	sample_shiplog(&s, &r, NULL, "rollback", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "was interrupted: completing it"), "%s", r.out);
	tl_run_release(&r);
	sample_beat_commit(&s, "compute", now);
	cr_assert_str_eq(now, c1, "compute does not run the rolled-back commit");
	fprintf(stderr, "test-interrupted (SIGINT deploy, rollback): %.1f s\n",
		(double)(mono_ns() - t0) / 1e9);
	sample_teardown(&s);
}
