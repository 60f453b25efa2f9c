/* SPDX-License-Identifier: MIT */
/* The releases layout against the real user manager and real git: every service runs from its
 * own release, what a scoped deploy leaves alone keeps running (and restarting) the code it was
 * verified with. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

static char *const edge_ok[] = {"DEPLOY_NATIVE_EDGE_READY=1", NULL};

#define REQUIRE_MANAGER() TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager")

static void deploy_ok(struct sample *s, const char *scope, struct tl_run *out)
{
	struct tl_run r;

	sample_shiplog(s, &r, edge_ok, "deploy", "main", scope, NULL);
	cr_assert_eq(r.exit_code, 0, "deploy %s failed:\n%s\n%s", scope, r.out, r.err);
	if (out)
		*out = r;
	else
		tl_run_release(&r);
}

/* Stops and starts a unit the way a crash-restart or a reboot would: shiplog is not involved. */
static void restart_by_hand(struct sample *s, const char *service)
{
	cr_assert_eq(tl_sh("systemctl --user restart %s-%s.service", s->project, service), 0);
	for (int i = 0; i < 50; i++) {
		char got[41];
		sample_http_commit(s, service, got);
		if (got[0])
			return;
		usleep(100000);
	}
}

static char *releases_conf(struct sample *s, const char *extra)
{
	char *conf = sample_alt_conf(s, "rel", "[target]", extra);
	struct tl_run r;

	s->conf = conf;
	sample_shiplog(s, &r, NULL, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	return conf;
}

Test(releases, scoped_deploy_leaves_other_services_on_their_release)
{
	struct sample s;
	struct tl_run r;
	char c1[41], c2[41], c3[41], got[41], *orig;

	REQUIRE_MANAGER();
	sample_setup(&s, "relscope", false);
	orig = s.conf;
	releases_conf(&s, "layout = releases\nkeep_releases = 1");

	strlcpy_(c1, sample_commit(&s, NULL, "echo one >> NOTES", "one"), sizeof(c1));
	deploy_ok(&s, "--edge-ready", NULL);
	sample_http_commit(&s, "web", got);
	cr_assert_str_eq(got, c1);
	sample_release_link(&s, "current-web", got);
	cr_assert_str_eq(got, c1, "web's link points at '%s', not %s", got, c1);

	/* A checkout of the single-link layout: units run from `current`, no per-service link.
	 * The next deploy must migrate it without moving what web runs. */
	cr_assert_eq(tl_sh("cd '%s.releases' && rm -f current-* && sed -i "
			   "'s|\\.releases/current-[a-z-]*|.releases/current|' "
			   "\"${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/%s-\"*.service && "
			   "systemctl --user daemon-reload",
			   s.checkout, s.project),
		     0);

	strlcpy_(c2, sample_commit(&s, NULL, "echo two >> NOTES", "two"), sizeof(c2));
	deploy_ok(&s, "--workers-only", &r);
	cr_assert(strstr(r.out, "release link of web: created at"), "no migration:\n%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("grep -q 'WorkingDirectory=.*\\.releases/current-web$' "
			   "\"${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/%s-web.service\"",
			   s.project),
		     0, "web's unit does not run from its own link");
	sample_release_link(&s, "current-web", got);
	cr_assert_str_eq(got, c1, "the workers-only deploy moved web's code to %s", got);
	sample_release_link(&s, "current-compute", got);
	cr_assert_str_eq(got, c2);
	sample_release_link(&s, "current", got);
	cr_assert_str_eq(got, c2, "`current` does not name the newest release");

	/* a crash or a reboot of web starts what was verified for web */
	restart_by_hand(&s, "web");
	sample_http_commit(&s, "web", got);
	cr_assert_str_eq(got, c1, "web restarted into %s, not its verified %s", got, c1);

	/* and again, with the links in place: web stays, the workers move, c1 is kept */
	strlcpy_(c3, sample_commit(&s, NULL, "echo three >> NOTES", "three"), sizeof(c3));
	deploy_ok(&s, "--workers-only", NULL);
	restart_by_hand(&s, "web");
	sample_http_commit(&s, "web", got);
	cr_assert_str_eq(got, c1, "web restarted into %s, not %s", got, c1);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c3);
	{
		char *p1 = xasprintf("%s.releases/%s", s.checkout, c1);
		char *p2 = xasprintf("%s.releases/%s", s.checkout, c2);
		struct stat st;
		cr_assert_eq(stat(p1, &st), 0, "web's release %s was pruned", c1);
		/* c2: not run by anyone, but the workers' last-good but one: kept for rollback */
		cr_assert_eq(stat(p2, &st), 0, "the rollback target %s was pruned", c2);
		free(p1), free(p2);
	}

	free(s.conf);
	s.conf = orig;
	sample_teardown(&s);
}

static char *rel_file(struct sample *s, const char *commit, const char *path)
{
	char *p = xasprintf("%s.releases/%s/%s", s->checkout, commit, path);
	char *text = tl_read(p);

	free(p);
	return text ? text : xstrdup("");
}

static void rel_stat(struct sample *s, const char *commit, const char *path, struct stat *st)
{
	char *p = xasprintf("%s.releases/%s/%s", s->checkout, commit, path);

	cr_assert_eq(lstat(p, st), 0, "%s is missing", p);
	free(p);
}

Test(releases, carry_and_shared_skip_the_build_and_spare_the_previous_release)
{
	struct sample s;
	struct tl_run r;
	struct stat a, b;
	char c1[41], c2[41], c4[41], *orig, *t, *builds;
	bool hardlinks;

	REQUIRE_MANAGER();
	sample_setup(&s, "relcarry", false);
	orig = s.conf;
	releases_conf(&s, "layout = releases\n"
			  "carry = build, node_modules\n"
			  "carry_method = hardlink\n"
			  "shared = .env, data/uploads\n"
			  "build = mkdir -p build && cc -O2 -o build/sampleapp app/sampleapp.c "
			  "-lsystemd && sh deps.sh");
	builds = xasprintf("%s/builds.log", s.dir);
	/* deps.sh stands in for `npm install`: it fills node_modules when it is missing */
	t = xasprintf("printf '%%s\\n' '[ -d node_modules ] || { mkdir -p node_modules/pkg && "
		      "echo v1 > node_modules/pkg/index.js; }' 'echo \"$PWD\" >> %s' > deps.sh",
		      builds);
	strlcpy_(c1, sample_commit(&s, NULL, t, "deps"), sizeof(c1));
	free(t);
	tl_write(xasprintf("%s/.env", s.checkout), "SAMPLE_SECRET=1\n");

	deploy_ok(&s, "--edge-ready", NULL);
	t = rel_file(&s, c1, "node_modules/pkg/index.js");
	cr_assert_str_eq(t, "v1\n");
	free(t);
	t = rel_file(&s, c1, ".env");
	cr_assert_str_eq(t, "SAMPLE_SECRET=1\n", "the release's .env is not the checkout's");
	free(t);
	rel_stat(&s, c1, "data/uploads", &a);
	cr_assert(S_ISLNK(a.st_mode), "data/uploads is not a link to the shared folder");
	cr_assert_eq(tl_sh("echo u1 > '%s.releases/%s/data/uploads/u1'", s.checkout, c1), 0);

	/* a one-line change: build output carried, the shared build skipped, shared kept */
	strlcpy_(c2, sample_commit(&s, NULL, "echo two >> NOTES", "two"), sizeof(c2));
	deploy_ok(&s, "--edge-ready", &r);
	cr_assert(strstr(r.out, "skipping the shared build"), "%s", r.out);
	cr_assert(strstr(r.out, "carry node_modules from"), "%s", r.out);
	/* as root, permissions cannot protect a shared inode: copies (tests/exec/test-carry.c
	 * runs the hard links as another user) */
	hardlinks = geteuid() != 0;
	cr_assert(strstr(r.out, hardlinks ? "read-only hard links" : "as copies"), "%s", r.out);
	tl_run_release(&r);
	{
		char got[41];
		sample_http_commit(&s, "web", got);
		cr_assert_str_eq(got, c2, "web does not run the carried build of %s", c2);
		sample_beat_commit(&s, "compute", got);
		cr_assert_str_eq(got, c2);
	}
	rel_stat(&s, c1, "node_modules/pkg/index.js", &a);
	rel_stat(&s, c2, "node_modules/pkg/index.js", &b);
	cr_assert_eq(a.st_ino == b.st_ino, hardlinks, "hard link: %d", a.st_ino == b.st_ino);
	if (hardlinks)
		cr_assert_eq(b.st_mode & 0222, 0, "a carried hard link is writable: %o", b.st_mode);
	t = rel_file(&s, c2, "data/uploads/u1");
	cr_assert_str_eq(t, "u1\n", "the shared uploads are not shared");
	free(t);
	t = tl_read(builds);
	cr_assert(t && !strstr(t, c2), "the shared build ran for %s:\n%s", c2, t);
	free(t);

	/* a build that writes a carried file in place: into a hard link it fails, into a copy it
	 * succeeds; either way the previous release is untouched */
	sample_commit(&s, NULL,
		      "echo '/* three */' >> app/sampleapp.c && "
		      "echo 'echo v2 >> node_modules/pkg/index.js' >> deps.sh",
		      "in-place write");
	sample_shiplog(&s, &r, edge_ok, "deploy", "main", NULL);
	cr_assert_eq(r.exit_code, hardlinks ? 1 : 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	t = rel_file(&s, c2, "node_modules/pkg/index.js");
	cr_assert_str_eq(t, "v1\n", "the build changed the previous release's file");
	free(t);
	t = rel_file(&s, c1, "node_modules/pkg/index.js");
	cr_assert_str_eq(t, "v1\n", "the build changed an older release's file");
	free(t);

	/* a build that replaces a carried file (as package managers do) works, and still
	 * leaves the previous release alone */
	strlcpy_(c4,
		 sample_commit(&s, NULL,
			       "echo '/* four */' >> app/sampleapp.c && "
			       "sed -i '$d' deps.sh && echo 'rm -f node_modules/pkg/index.js "
			       "&& echo v2 > node_modules/pkg/index.js' >> deps.sh",
			       "replace"),
		 sizeof(c4));
	deploy_ok(&s, "--edge-ready", &r);
	cr_assert(strstr(r.out, "shared build: 'app/sampleapp.c' changed"), "%s", r.out);
	cr_assert(strstr(r.out, "carry node_modules from"), "%s", r.out);
	tl_run_release(&r);
	t = rel_file(&s, c4, "node_modules/pkg/index.js");
	cr_assert_str_eq(t, "v2\n");
	free(t);
	t = rel_file(&s, c2, "node_modules/pkg/index.js");
	cr_assert_str_eq(t, "v1\n", "the build changed the previous release's file");
	free(t);

	free(builds);
	free(s.conf);
	s.conf = orig;
	sample_teardown(&s);
}

/* The first releases deploy has no release before it: it says so instead of printing empty
 * commits ("clean (at  on main)", "(was )"). */
Test(releases, first_deploy_prints_no_empty_commits)
{
	struct sample s;
	struct tl_run r;
	char head[41];
	char *orig;

	REQUIRE_MANAGER();
	sample_setup(&s, "relfirst", false);
	orig = s.conf;
	releases_conf(&s, "layout = releases");
	sample_head(&s, head);
	deploy_ok(&s, "--edge-ready", &r);
	cr_assert(!strstr(r.out, "(at  ") && !strstr(r.out, "(was )"), "empty commits:\n%s", r.out);
	cr_assert(strstr(r.out, "(the first release: nothing deployed before)"), "%s", r.out);
	{
		char want[128];
		snprintf(want, sizeof(want), "is clean (at %.12s on main)", head);
		cr_assert(strstr(r.out, want), "no checkout commit '%s':\n%s", want, r.out);
	}
	tl_run_release(&r);
	free(s.conf);
	s.conf = orig;
	sample_teardown(&s);
}

/* The in-place layout has one tree for every service: a scoped deploy says what it moves under
 * the services it leaves out, records it, and status shows the drift until they are deployed. */
Test(releases, in_place_scoped_deploy_reports_and_records_the_drift)
{
	struct sample s;
	struct tl_run r;
	char c1[41], c2[41], want[128];

	REQUIRE_MANAGER();
	sample_setup(&s, "drift", true);
	strlcpy_(c1, sample_commit(&s, NULL, "echo one >> NOTES", "one"), sizeof(c1));
	deploy_ok(&s, "--edge-ready", NULL);
	sample_shiplog(&s, &r, NULL, "status", NULL);
	cr_assert(!strstr(r.out, "drift:"), "drift after a full deploy:\n%s", r.out);
	tl_run_release(&r);

	strlcpy_(c2, sample_commit(&s, NULL, "echo two >> NOTES", "two"), sizeof(c2));
	deploy_ok(&s, "--workers-only", &r);
	cr_assert(strstr(r.out, "changes the files under web, api"), "no note:\n%s", r.out);
	cr_assert(strstr(r.out, "  NOTES"), "the changed paths are not named:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "shared-checkout"), "the note is not in the ledger");
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "status", NULL);
	snprintf(want, sizeof(want), "drift: web runs %.12s but its files on disk are %.12s", c1,
		 c2);
	cr_assert(strstr(r.out, want), "status does not show '%s':\n%s", want, r.out);
	cr_assert(!strstr(r.out, "drift: compute"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "--json", "status", NULL);
	cr_assert(strstr(r.out, "\"drift\":[{"), "%s", r.out);
	tl_run_release(&r);

	deploy_ok(&s, "--edge-ready", NULL);
	sample_shiplog(&s, &r, NULL, "status", NULL);
	cr_assert(!strstr(r.out, "drift:"), "drift after the full deploy:\n%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}
