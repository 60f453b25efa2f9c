/* SPDX-License-Identifier: MIT */
/* The releases layout on a real filesystem and a real git repository: a release is written
 * whole or not at all, links switch per service, adoption and pruning keep what the ledger
 * says runs or could be rolled back to, and shared paths are links into <checkout>.shared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "releases.h"
#include "rollout.h"
#include "testlib.h"
#include "util.h"

struct fixture {
	char *base;
	struct config cfg;
	struct service svc[2];
	struct repo *repo;
	char c1[REPO_OID_HEX], c2[REPO_OID_HEX], c3[REPO_OID_HEX];
};

/* <base>/checkout: a git repository with three commits of app.txt ("one", "two", "three"). */
static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->base = tl_mkdtemp("releases");
	cr_assert_eq(tl_sh("cd '%s' && git init -q checkout && cd checkout && "
			   "git config user.email t@example.com && git config user.name t && "
			   "for v in one two three; do echo $v > app.txt && git add app.txt && "
			   "git commit -qm $v; done",
			   f->base),
		     0);
	f->cfg.target.checkout = xasprintf("%s/checkout", f->base);
	f->svc[0].name = "web";
	f->svc[1].name = "worker";
	f->cfg.services = f->svc;
	f->cfg.nservices = 2;
	cr_assert_eq(repo_open(f->cfg.target.checkout, &f->repo), 0);
	cr_assert_eq(repo_resolve(f->repo, "HEAD~2", f->c1), 0);
	cr_assert_eq(repo_resolve(f->repo, "HEAD~1", f->c2), 0);
	cr_assert_eq(repo_resolve(f->repo, "HEAD", f->c3), 0);
}

static void teardown(struct fixture *f)
{
	repo_free(f->repo);
	free(f->cfg.target.checkout);
	tl_rmrf(f->base);
	free(f->base);
}

static char *release_file(struct fixture *f, const char *commit, const char *name)
{
	char *p = xasprintf("%s/%s", releases_path(&f->cfg, commit), name);
	char *t = tl_read(p);

	free(p);
	return t;
}

static void ensure(struct fixture *f, const char *commit, bool want_created)
{
	bool created, built;
	char err[512] = "";

	cr_assert_eq(releases_ensure(f->repo, &f->cfg, commit, &created, &built, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(created, want_created, "release %.8s created: %d", commit, created);
}

Test(releases, a_release_is_written_once_with_its_revision_and_marked_built)
{
	struct fixture f;
	bool created, built;
	char err[512];
	char *t;

	setup(&f);
	ensure(&f, f.c2, true);
	t = release_file(&f, f.c2, "app.txt");
	cr_assert_str_eq(t, "two\n");
	free(t);
	t = release_file(&f, f.c2, "REVISION");
	cr_assert(t && str_startswith(t, f.c2), "REVISION: %s", t ? t : "(none)");
	free(t);
	cr_assert_not(releases_is_built(&f.cfg, f.c2));
	/* a second ensure writes nothing and reports the build */
	cr_assert_eq(releases_mark_built(&f.cfg, f.c2), 0);
	cr_assert_eq(releases_ensure(f.repo, &f.cfg, f.c2, &created, &built, err, sizeof(err)), 0);
	cr_assert_not(created);
	cr_assert(built);
	/* nothing half-written is left beside it */
	cr_assert_eq(tl_sh("test \"$(ls -A '%s.releases' | grep -v '^%s$' | wc -l)\" = 0",
			   f.cfg.target.checkout, f.c2),
		     0, "only the release itself is in the releases directory");
	teardown(&f);
}

Test(releases, switching_moves_only_the_named_services_links)
{
	struct fixture f;
	const char *web[] = {"web"}, *both[] = {"web", "worker"};
	char got[REPO_OID_HEX], err[512] = "";

	setup(&f);
	ensure(&f, f.c1, true);
	ensure(&f, f.c2, true);
	cr_assert_eq(releases_current_commit(&f.cfg, got), -ENOENT, "no current before a switch");
	cr_assert_eq(releases_switch(&f.cfg, f.c1, both, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(releases_switch(&f.cfg, f.c2, web, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(releases_service_commit(&f.cfg, "web", got), 0);
	cr_assert_str_eq(got, f.c2);
	cr_assert_eq(releases_service_commit(&f.cfg, "worker", got), 0);
	cr_assert_str_eq(got, f.c1, "the worker's code did not move with a web-only switch");
	cr_assert_eq(releases_current_commit(&f.cfg, got), 0);
	cr_assert_str_eq(got, f.c2, "current names the newest switch");
	/* the links are symlinks into the releases directory, read through as the release */
	cr_assert_eq(tl_sh("test \"$(cat '%s.releases/current-worker/app.txt')\" = one",
			   f.cfg.target.checkout),
		     0);
	teardown(&f);
}

/* A link that cannot be switched (a directory where worker's link should be) fails the switch
 * and puts web's, switched before it, back at c1: no service starts another release than its
 * peers, and `current` is untouched. */
Test(releases, a_failed_switch_puts_back_the_links_it_switched)
{
	struct fixture f;
	const char *web[] = {"web"}, *both[] = {"web", "worker"};
	char got[REPO_OID_HEX], err[512] = "";

	setup(&f);
	ensure(&f, f.c1, true);
	ensure(&f, f.c2, true);
	cr_assert_eq(releases_switch(&f.cfg, f.c1, web, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(tl_sh("mkdir -p '%s.releases/current-worker/x'", f.cfg.target.checkout), 0);
	cr_assert_lt(releases_switch(&f.cfg, f.c2, both, 2, err, sizeof(err)), 0);
	cr_assert(strstr(err, "current-worker"), "the error does not name the link: %s", err);
	cr_assert_eq(releases_service_commit(&f.cfg, "web", got), 0);
	cr_assert_str_eq(got, f.c1, "web's link was left at the failed switch's release");
	cr_assert_eq(releases_current_commit(&f.cfg, got), 0);
	cr_assert_str_eq(got, f.c1, "current moved");

	/* a link that did not exist before is removed again */
	cr_assert_eq(tl_sh("rm -f '%s.releases/current-web'", f.cfg.target.checkout), 0);
	cr_assert_lt(releases_switch(&f.cfg, f.c2, both, 2, err, sizeof(err)), 0);
	cr_assert_eq(releases_service_commit(&f.cfg, "web", got), -ENOENT, "web's link is %s", got);
	teardown(&f);
}

Test(releases, adoption_gives_each_service_the_release_it_runs)
{
	struct fixture f;
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	struct strv adopted = {0};
	const char *none[] = {NULL};
	char got[REPO_OID_HEX], err[512] = "";

	setup(&f);
	ensure(&f, f.c1, true);
	ensure(&f, f.c2, true);
	/* the old single `current` layout: current -> c2, no per-service links */
	cr_assert_eq(releases_switch(&f.cfg, f.c2, none, 0, err, sizeof(err)), 0, "%s", err);
	ledger_state_init(st);
	st->nservices = 1;
	strlcpy_(st->services[0].name, "worker", sizeof(st->services[0].name));
	strlcpy_(st->services[0].rt[LEDGER_RT_NATIVE].commit, f.c1,
		 sizeof(st->services[0].rt[0].commit));
	cr_assert_eq(releases_adopt(&f.cfg, st, &adopted, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(adopted.n, 2);
	cr_assert_eq(releases_service_commit(&f.cfg, "worker", got), 0);
	cr_assert_str_eq(got, f.c1, "the worker gets the release the ledger says it runs");
	cr_assert_eq(releases_service_commit(&f.cfg, "web", got), 0);
	cr_assert_str_eq(got, f.c2, "web, unknown to the ledger, gets what current points at");
	/* a second adoption changes nothing */
	strv_free(&adopted);
	cr_assert_eq(releases_adopt(&f.cfg, st, &adopted, err, sizeof(err)), 0);
	cr_assert_eq(adopted.n, 0);
	strv_free(&adopted);
	free(st);
	teardown(&f);
}

Test(releases, pruning_keeps_the_newest_and_what_runs_or_could_be_rolled_back_to)
{
	struct fixture f;
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	struct strv removed = {0};
	const char *web[] = {"web"};
	char err[512] = "", old[REPO_OID_HEX];

	setup(&f);
	ensure(&f, f.c1, true);
	ensure(&f, f.c2, true);
	ensure(&f, f.c3, true);
	/* c3 newest by mtime, c1 oldest */
	cr_assert_eq(tl_sh("cd '%s.releases' && touch -d '3 hours ago' %s && "
			   "touch -d '2 hours ago' %s",
			   f.cfg.target.checkout, f.c1, f.c2),
		     0);
	cr_assert_eq(releases_switch(&f.cfg, f.c3, web, 1, err, sizeof(err)), 0, "%s", err);
	ledger_state_init(st);
	st->nservices = 1;
	strlcpy_(st->services[0].name, "web", sizeof(st->services[0].name));
	strlcpy_(st->services[0].rt[LEDGER_RT_NATIVE].commit, f.c3, LEDGER_COMMIT_MAX);
	st->services[0].rt[LEDGER_RT_NATIVE].ngood = 1;
	strlcpy_(st->services[0].rt[LEDGER_RT_NATIVE].good[0].commit, f.c1, LEDGER_COMMIT_MAX);

	cr_assert_eq(releases_prune(&f.cfg, st, 1, &removed, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(removed.n, 1, "only c2 goes: c3 is newest and linked, c1 is last-good");
	cr_assert_str_eq(removed.v[0], f.c2);
	cr_assert_eq(releases_current_commit(&f.cfg, old), 0);
	cr_assert_eq(tl_sh("test -d '%s.releases/%s' && test ! -e '%s.releases/%s'",
			   f.cfg.target.checkout, f.c1, f.cfg.target.checkout, f.c2),
		     0);
	strv_free(&removed);
	free(st);
	teardown(&f);
}

/* After an operation, pruning protects what the state read under the lock names: the
 * operation hands that snapshot over (ro->state) and the ledger is not read again (there is
 * none here: ro->op is NULL). Without a snapshot nothing is pruned. */
Test(releases, pruning_after_an_operation_uses_the_state_it_read_under_the_lock)
{
	struct fixture f;
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	struct rollout ro = {0};
	const char *web[] = {"web"};
	char err[512] = "";

	setup(&f);
	ensure(&f, f.c1, true);
	ensure(&f, f.c2, true);
	ensure(&f, f.c3, true);
	cr_assert_eq(tl_sh("cd '%s.releases' && touch -d '3 hours ago' %s && "
			   "touch -d '2 hours ago' %s",
			   f.cfg.target.checkout, f.c1, f.c2),
		     0);
	cr_assert_eq(releases_switch(&f.cfg, f.c3, web, 1, err, sizeof(err)), 0, "%s", err);
	f.cfg.target.keep_releases = 1;
	ro.cfg = &f.cfg;
	ro.releases = true;
	rollout_prune_releases(&ro); /* no state: nothing goes */
	cr_assert_eq(tl_sh("test -d '%s.releases/%s' && test -d '%s.releases/%s'",
			   f.cfg.target.checkout, f.c1, f.cfg.target.checkout, f.c2),
		     0);
	ledger_state_init(st);
	st->nservices = 1;
	strlcpy_(st->services[0].name, "web", sizeof(st->services[0].name));
	strlcpy_(st->services[0].rt[LEDGER_RT_NATIVE].commit, f.c2, LEDGER_COMMIT_MAX);
	ro.state = st;
	rollout_prune_releases(&ro); /* c2 ran before the operation: kept; c1 goes */
	cr_assert_eq(tl_sh("test ! -e '%s.releases/%s' && test -d '%s.releases/%s' && "
			   "test -d '%s.releases/%s'",
			   f.cfg.target.checkout, f.c1, f.cfg.target.checkout, f.c2,
			   f.cfg.target.checkout, f.c3),
		     0);
	free(st);
	teardown(&f);
}

Test(releases, shared_paths_link_into_the_shared_folder_seeded_from_the_checkout)
{
	struct fixture f;
	struct strv notes = {0};
	char err[512] = "";
	char *t;

	setup(&f);
	strv_push(&f.cfg.target.shared, ".env");
	strv_push(&f.cfg.target.shared, "uploads");
	tl_write(xasprintf("%s/.env", f.cfg.target.checkout), "SECRET=x\n");
	ensure(&f, f.c3, true);
	cr_assert_eq(releases_link_shared(&f.cfg, f.c3, &notes, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(notes.n, 2, "what was created is said");
	cr_assert_eq(tl_sh("cd '%s.releases/%s' && test -L .env && test -L uploads && "
			   "test \"$(readlink .env)\" = '%s.shared/.env' && "
			   "test -d '%s.shared/uploads'",
			   f.cfg.target.checkout, f.c3, f.cfg.target.checkout,
			   f.cfg.target.checkout),
		     0);
	t = release_file(&f, f.c3, ".env");
	cr_assert_str_eq(t, "SECRET=x\n", "the shared .env was seeded from the checkout");
	free(t);
	strv_free(&notes);
	strv_free(&f.cfg.target.shared);
	teardown(&f);
}
