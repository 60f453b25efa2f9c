/* SPDX-License-Identifier: MIT */
/* The shared build's decision: build_decide is pure (each reason, from facts made by hand), and
 * the facts come from a real ledger (the newest build.completed of the path; a build that did
 * not complete wrote none, so it counts as none) and a real git repository (the paths changed
 * since that build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "testlib.h"
#include "util.h"

static const char *const when_v[] = {"package.json", "lib/*.c"};
static const struct strv when = {.v = (char **)when_v, .n = 2};
static const struct strv none = {0};

#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"

static void facts(struct build_facts *f, const char *base, const char *target, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->base_read = true;
	strlcpy_(f->path, "/srv/app", sizeof(f->path));
	strlcpy_(f->base, base, sizeof(f->base));
	f->base_op = 7;
	strlcpy_(f->base_op_name, "7", sizeof(f->base_op_name));
	strlcpy_(f->target, target, sizeof(f->target));
	va_start(ap, target);
	for (const char *p; (p = va_arg(ap, const char *));)
		strv_push(&f->changed, p);
	va_end(ap);
}

Test(build_decide, a_changed_input_runs_it_and_names_the_path_and_the_build)
{
	struct build_facts f;
	struct build_decision d;

	facts(&f, C1, C2, "README.md", "lib/x.c", NULL);
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert_str_eq(d.why, "'lib/x.c' changed between the last completed build 111111111111 "
				"(operation 7) and 222222222222");
	build_facts_release(&f);
}

Test(build_decide, nothing_of_the_list_changed_skips_it)
{
	struct build_facts f;
	struct build_decision d;

	facts(&f, C1, C2, "README.md", "lib/sub/deep.c", NULL); /* FNM_PATHNAME: no match */
	build_decide(&when, false, C2, &f, &d);
	cr_assert_not(d.run);
	cr_assert_str_eq(d.why, "none of package.json, lib/*.c changed between the last completed "
				"build 111111111111 (operation 7) and 222222222222");
	build_facts_release(&f);
}

Test(build_decide, forced_always_and_nothing_recorded_run_it)
{
	struct build_facts f;
	struct build_decision d;

	facts(&f, C1, C2, NULL);
	build_decide(&when, true, C2, &f, &d);
	cr_assert(d.run);
	cr_assert_str_eq(d.why, "--build forces it");
	build_decide(&none, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert_str_eq(d.why, "no build_when_changed list: always built");
	build_facts_release(&f);

	facts(&f, "", C2, NULL);
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert_str_eq(d.why, "no completed build of /srv/app is recorded");
	f.base_read = false;
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert_str_eq(d.why, "no completed build is recorded (no ledger yet)");
	f.base_error = LEDGER_ECORRUPT;
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert(strstr(d.why, "cannot be read from the ledger"), "%s", d.why);
	build_facts_release(&f);
}

Test(build_decide, the_target_built_already_skips_it_and_a_stale_diff_never_skips)
{
	struct build_facts f;
	struct build_decision d;

	facts(&f, C2, "", NULL);
	build_decide(&when, false, C2, &f, &d);
	cr_assert_not(d.run);
	cr_assert_str_eq(d.why, "222222222222 was built completely by operation 7");
	build_facts_release(&f);

	/* the facts were diffed for another commit than the one decided: build */
	facts(&f, C1, C1, NULL);
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert(strstr(d.why, "were not listed"), "%s", d.why);
	build_facts_release(&f);

	facts(&f, C1, C2, NULL);
	strlcpy_(f.diff_error, "object not found", sizeof(f.diff_error));
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert(strstr(d.why, "cannot compare with the last completed build 111111111111: "
				"object not found"),
		  "%s", d.why);
	build_facts_release(&f);
}

Test(build_decide, a_release_compares_with_the_release_it_carried_from)
{
	struct build_facts f;
	struct build_decision d;

	facts(&f, C1, C2, "docs/x.md", NULL);
	f.releases = true;
	build_decide(&when, false, C2, &f, &d);
	cr_assert_not(d.run);
	cr_assert_str_eq(d.why, "none of package.json, lib/*.c changed since release 111111111111, "
				"whose build output is carried");
	strv_push(&f.changed, "package.json");
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert_str_eq(d.why, "'package.json' changed since release 111111111111");
	f.base[0] = '\0';
	build_decide(&when, false, C2, &f, &d);
	cr_assert(d.run);
	cr_assert(strstr(d.why, "no build output carried"), "%s", d.why);
	build_facts_release(&f);
}

/* ---- the facts, read ------------------------------------------------------------------------ */

static void append(struct ledger *lg, struct ledger_event *ev)
{
	cr_assert_eq(ledger_append(lg, ev, LEDGER_APPEND_NOSYNC, NULL), 0, "%s", ledger_errmsg(lg));
}

static uint64_t request(struct ledger *lg)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};
	uint64_t seq = 0;

	ev.u.op_requested.kind = "deploy";
	ev.u.op_requested.mode = "main";
	ev.u.op_requested.ref = "main";
	ev.u.op_requested.commit = "";
	ev.u.op_requested.prev_commit = "";
	ev.u.op_requested.exec_mode = "local";
	ev.u.op_requested.config_digest = "";
	ev.u.op_requested.reason = "";
	ev.actor = "t@h";
	cr_assert_eq(ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, &seq), 0, "%s",
		     ledger_errmsg(lg));
	return seq;
}

static void built(struct ledger *lg, uint64_t op, const char *path, const char *commit)
{
	struct ledger_event ev = {.type = LEDGER_EV_BUILD_COMPLETED, .op = op, .actor = "t@h"};

	ev.u.build_completed.path = path;
	ev.u.build_completed.commit = commit;
	append(lg, &ev);
}

Test(build_facts, the_last_completed_build_of_the_path_and_an_interrupted_one_counts_as_none)
{
	char *dir = tl_mkdtemp("build-facts");
	_cleanup_free_ char *lgdir = xasprintf("%s/ledger", dir);
	struct ledger *lg = NULL;
	struct build_facts f = {0};
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED, .actor = "t@h"};
	uint64_t a, b;

	cr_assert_eq(ledger_open(&lg, lgdir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(build_facts_read_last(lg, "/srv/app", &f), 0);
	cr_assert(f.base_read);
	cr_assert_str_eq(f.base, "");

	a = request(lg);
	built(lg, a, "/srv/app", C1);
	built(lg, a, "/srv/other", C2);
	/* operation b moved the checkout to C2 and was killed in its build: no build.completed */
	b = request(lg);
	ev.op = b;
	ev.u.op_finished.outcome = LEDGER_OUT_INTERRUPTED;
	ev.u.op_finished.error = "interrupted";
	append(lg, &ev);

	cr_assert_eq(build_facts_read_last(lg, "/srv/app", &f), 0);
	cr_assert_str_eq(f.base, C1);
	cr_assert_eq(f.base_op, a);
	cr_assert_str_eq(f.path, "/srv/app");
	cr_assert_eq(build_facts_read_last(lg, "/srv/other", &f), 0);
	cr_assert_str_eq(f.base, C2);
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

Test(build_facts, the_paths_changed_since_the_build_come_from_git)
{
	char *dir = tl_mkdtemp("build-diff");
	_cleanup_free_ char *co = xasprintf("%s/co", dir);
	struct repo *repo = NULL;
	struct build_facts f = {0};
	struct build_decision d;
	char c1[REPO_OID_HEX], c2[REPO_OID_HEX], c3[REPO_OID_HEX];

	cr_assert_eq(tl_sh("cd '%s' && git init -q co && cd co && git config user.email t@e && "
			   "git config user.name t && mkdir lib && echo 1 > package.json && "
			   "git add . && git commit -qm 1 && echo 2 > README.md && git add . && "
			   "git commit -qm 2 && echo 3 > lib/a.c && git add . && git commit -qm 3",
			   dir),
		     0);
	cr_assert_eq(repo_open(co, &repo), 0);
	cr_assert_eq(repo_resolve(repo, "HEAD~2", c1), 0);
	cr_assert_eq(repo_resolve(repo, "HEAD~1", c2), 0);
	cr_assert_eq(repo_resolve(repo, "HEAD", c3), 0);
	f.base_read = true;
	strlcpy_(f.base, c1, sizeof(f.base));
	cr_assert_eq(build_facts_diff(repo, c2, &f), 0);
	cr_assert_eq(f.changed.n, 1);
	cr_assert_str_eq(f.changed.v[0], "README.md");
	build_decide(&when, false, c2, &f, &d);
	cr_assert_not(d.run, "%s", d.why);
	cr_assert_eq(build_facts_diff(repo, c3, &f), 0);
	build_decide(&when, false, c3, &f, &d);
	cr_assert(d.run);
	cr_assert(strstr(d.why, "'lib/a.c' changed between"), "%s", d.why);
	build_facts_release(&f);
	repo_free(repo);
	tl_rmrf(dir);
	free(dir);
}
