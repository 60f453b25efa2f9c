/* SPDX-License-Identifier: MIT */
/* The fleet plan, pure: host selection by name and label, the canary wave, waves by count and
 * percentage, each host's part of the scope, and the words each host's shiplog runs. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "fleet.h"
#include "testlib.h"
#include "util.h"

struct fx {
	char *dir;
	struct config *cfg;
	struct fleet_plan p;
	size_t sel[16], nsel;
	char err[512];
};

#define SERVICES                                                                                   \
	"[project]\nname = demo\n[service web]\nrole = web\n[service jobs]\nrole = worker\n"
#define HOST(n, extra) "[host " n "]\nssh = deploy@" n ".example\ncheckout = /srv/demo\n" extra

static void fx_load(struct fx *f, const char *text)
{
	char err[1024];
	_cleanup_free_ char *path = NULL;

	f->dir = tl_mkdtemp("fleetplan");
	path = xasprintf("%s/shiplog.conf", f->dir);
	tl_write(path, text);
	cr_assert_eq(config_load(path, &f->cfg, err, sizeof(err)), 0, "%s", err);
	f->p = (struct fleet_plan){.kind = "deploy"};
}

static int fx_plan(struct fx *f, const struct strv *sel, const struct plan *scope)
{
	int r = fleet_select(f->cfg, sel, f->sel, &f->nsel, f->err, sizeof(f->err));

	if (r < 0)
		return r;
	return fleet_plan_make(f->cfg, f->sel, f->nsel, scope, &f->p, f->err, sizeof(f->err));
}

static void fx_release(struct fx *f)
{
	fleet_plan_release(&f->p);
	config_free(f->cfg);
	tl_rmrf(f->dir);
	free(f->dir);
}

/* "a:1c b:2 c:2" — each member's host, wave, and c for a canary, "-" for skipped. */
static char *waves(const struct fleet_plan *p)
{
	struct buf b = {0};

	for (size_t i = 0; i < p->nmembers; i++) {
		const struct fleet_member *m = &p->members[i];
		if (m->wave)
			buf_printf(&b, "%s%s:%u%s", i ? " " : "", m->host->name, m->wave,
				   m->canary ? "c" : "");
		else
			buf_printf(&b, "%s%s:-", i ? " " : "", m->host->name);
	}
	return b.data;
}

Test(fleet_plan, canary_then_waves_by_count)
{
	struct fx f = {0};
	_cleanup_free_ char *w = NULL;

	fx_load(&f, SERVICES HOST("a", "") HOST("b", "") HOST("c", "") HOST("d", "")
			HOST("e", "") "[fleet]\nwave_size = 2\n");
	cr_assert_eq(fx_plan(&f, NULL, NULL), 0, "%s", f.err);
	w = waves(&f.p);
	cr_assert_str_eq(w, "a:1c b:2 c:2 d:3 e:3");
	cr_assert_eq(f.p.nwaves, 3);
	cr_assert_eq(f.p.wave_size, 2);
	fx_release(&f);
}

Test(fleet_plan, named_canaries_and_percent)
{
	struct fx f = {0};
	_cleanup_free_ char *w = NULL;

	fx_load(&f, SERVICES HOST("a", "") HOST("b", "") HOST("c", "")
			HOST("d", "") "[fleet]\ncanary = c, d\nwave_size = 25%\n");
	cr_assert_eq(fx_plan(&f, NULL, NULL), 0, "%s", f.err);
	w = waves(&f.p);
	cr_assert_str_eq(w, "c:1c d:1c a:2 b:3", "25%% of 4 is one host a wave");
	fx_release(&f);
}

Test(fleet_plan, no_canary_and_one_wave)
{
	struct fx f = {0};
	_cleanup_free_ char *w = NULL;

	fx_load(&f, SERVICES HOST("a", "") HOST("b", "") HOST("c", "") "[fleet]\ncanary = 0\n");
	cr_assert_eq(fx_plan(&f, NULL, NULL), 0, "%s", f.err);
	w = waves(&f.p);
	cr_assert_str_eq(w, "a:1 b:1 c:1", "default wave_size is 100%%");
	fx_release(&f);
}

Test(fleet_plan, selection_by_name_and_label)
{
	struct fx f = {0};
	struct strv sel = {0};
	_cleanup_free_ char *w = NULL;

	fx_load(&f, SERVICES HOST("a", "labels = region=eu\n") HOST("b", "")
			HOST("c", "labels = region=eu\n"));
	strv_push(&sel, "region=eu");
	strv_push(&sel, "a");
	cr_assert_eq(fx_plan(&f, &sel, NULL), 0, "%s", f.err);
	w = waves(&f.p);
	cr_assert_str_eq(w, "a:1c c:2", "config order, each once");
	strv_free(&sel);
	strv_push(&sel, "zz");
	cr_assert_eq(fleet_select(f.cfg, &sel, f.sel, &f.nsel, f.err, sizeof(f.err)), SL_EUSAGE);
	cr_assert(strstr(f.err, "host 'zz' is not a [host NAME]"), "%s", f.err);
	strv_free(&sel);
	strv_push(&sel, "tier=x");
	cr_assert_eq(fleet_select(f.cfg, &sel, f.sel, &f.nsel, f.err, sizeof(f.err)), SL_EUSAGE);
	cr_assert(strstr(f.err, "label 'tier=x' is on no [host NAME]"), "%s", f.err);
	strv_free(&sel);
	fx_release(&f);
}

Test(fleet_plan, services_subset_meets_the_scope)
{
	struct fx f = {0};
	struct plan web = {.services = {0}, .nservices = 1};
	struct strv words = {0};
	_cleanup_free_ char *w = NULL, *line = NULL;

	fx_load(&f, SERVICES HOST("a", "") HOST("b", "services = jobs\n")
			HOST("c", "services = web, jobs\n"));
	/* the full scope: b deploys its subset */
	cr_assert_eq(fx_plan(&f, NULL, NULL), 0, "%s", f.err);
	cr_assert_eq(f.p.members[1].pieces.n, 1);
	cr_assert_str_eq(f.p.members[1].pieces.v[0], "jobs");
	fleet_plan_release(&f.p);

	/* --web-only: b runs none of it and is skipped; c deploys web only */
	f.p = (struct fleet_plan){.kind = "deploy"};
	cr_assert_eq(fx_plan(&f, NULL, &web), 0, "%s", f.err);
	w = waves(&f.p);
	cr_assert_str_eq(w, "a:1c c:2 b:-");
	cr_assert(strstr(f.p.members[2].skip, "runs none of the services"), "%s",
		  f.p.members[2].skip);
	strv_push(&f.p.target, "main");
	strv_push(&f.p.flags, "--fast");
	strv_push(&f.p.scope, "--web-only");
	fleet_member_words(&f.p, &f.p.members[0], &words);
	line = strv_join(&words, " ");
	cr_assert_str_eq(line, "--json deploy main --fast --web-only", "no subset: the scope");
	strv_free(&words);
	free(line);
	fleet_member_words(&f.p, &f.p.members[1], &words);
	line = strv_join(&words, " ");
	cr_assert_str_eq(line, "--json deploy main --fast --pieces web", "a subset: its part");
	strv_free(&words);
	fx_release(&f);
}

Test(fleet_plan, nothing_left_is_a_usage_error)
{
	struct fx f = {0};
	struct plan web = {.services = {0}, .nservices = 1};

	fx_load(&f, SERVICES HOST("b", "services = jobs\n"));
	cr_assert_eq(fx_plan(&f, NULL, &web), SL_EUSAGE);
	cr_assert(strstr(f.err, "none of the hosts runs a service in scope"), "%s", f.err);
	fx_release(&f);
	fx_load(&f, SERVICES);
	cr_assert_eq(fx_plan(&f, NULL, NULL), SL_EUSAGE);
	cr_assert(strstr(f.err, "no [host NAME] sections"), "%s", f.err);
	fx_release(&f);
}

Test(fleet_plan, split_args_keeps_what_hosts_need)
{
	struct fleet_plan p = {0};
	char *argv[] = {"deploy",      "main",	    "--hosts",	   "a,b",    "--fast",
			"--web-only",  "--dry-run", "--runtime",   "native", "--pieces=web",
			"--wait-lock", "5s",	    "--edge-ready"};
	_cleanup_free_ char *t = NULL, *fl = NULL, *sc = NULL;

	fleet_split_args(ELEMENTSOF(argv), argv, deploy_options, &p);
	t = strv_join(&p.target, " ");
	fl = strv_join(&p.flags, " ");
	sc = strv_join(&p.scope, " ");
	cr_assert_str_eq(t, "main");
	cr_assert_str_eq(fl, "--fast --runtime native --edge-ready");
	cr_assert_str_eq(sc, "--web-only --pieces=web");
	fleet_plan_release(&p);
}
