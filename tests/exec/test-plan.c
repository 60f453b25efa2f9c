/* SPDX-License-Identifier: MIT */
/* The pure planner: deploy arguments, scope flags and their conflicts, pieces, --fast narrowing
 * on both runtimes, and the edge guard. */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include <criterion/criterion.h>
#include <ledger/ledger.h>

#include "config.h"
#include "plan.h"
#include "testlib.h"
#include "util.h"

#define NATIVE LEDGER_RT_NATIVE
#define DOCKER LEDGER_RT_DOCKER

static char *cfg_dir;
static struct config *cfg;

/* The reference's six services. */
static void setup(void)
{
	char err[512];
	_cleanup_free_ char *path = NULL;

	cfg_dir = tl_mkdtemp("plan");
	path = xasprintf("%s/shiplog.conf", cfg_dir);
	tl_write(path, "[project]\nname = islandflow\n"
		       "[service web]\nrole = web\n"
		       "[service api]\nrole = api\n"
		       "[service compute]\nrole = worker\n"
		       "[service candles]\nrole = worker\n"
		       "[service ingest-options]\nrole = worker\n"
		       "[service ingest-equities]\nrole = worker\n");
	cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	config_free(cfg);
	cfg = NULL;
	tl_rmrf(cfg_dir);
	free(cfg_dir);
}

TestSuite(plan, .init = setup, .fini = teardown);

/* Parses "deploy ARGS..." from a NULL-terminated list. */
static int parse(struct deploy_args *a, char *err, size_t errlen, ...)
{
	char *argv[32] = {"deploy"};
	int argc = 1;
	va_list ap;

	va_start(ap, errlen);
	for (char *s; (s = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = s;
	va_end(ap);
	err[0] = '\0';
	return deploy_args_parse(argc, argv, a, err, errlen);
}

/* The names of the planned services joined with ",". */
static char *planned(const struct plan *p)
{
	struct strv names = {0};
	char *s;

	for (size_t i = 0; i < p->nservices; i++)
		strv_push(&names, cfg->services[p->services[i]].name);
	s = strv_join(&names, ",");
	strv_free(&names);
	return s;
}

static void expect_scope(const char *flag, int runtime, bool fast, const char *want,
			 const char *desc, bool edge)
{
	struct deploy_args a;
	struct plan p;
	char err[512];
	_cleanup_free_ char *got = NULL;

	cr_assert_eq(parse(&a, err, sizeof(err), "main", flag, NULL), 0, "%s: %s", flag, err);
	cr_assert_eq(plan_scope(cfg, &a.scope, runtime, fast, &p, err, sizeof(err)), 0, "%s", err);
	got = planned(&p);
	cr_assert_str_eq(got, want, "%s", flag ? flag : "(none)");
	cr_assert_str_eq(p.scope_desc, desc);
	cr_assert_eq(p.touches_edge, edge, "%s touches_edge", flag ? flag : "(none)");
	cr_assert_eq(p.fast_narrowed, false, "an explicit scope is never narrowed");
	cr_assert_str_eq(p.notice, "");
	deploy_args_release(&a);
}

Test(plan, each_scope_flag)
{
	expect_scope("--web-only", NATIVE, false, "web", "web only", true);
	expect_scope("--api-only", NATIVE, false, "api", "api only", true);
	expect_scope("--services-only", NATIVE, false,
		     "api,compute,candles,ingest-options,ingest-equities", "api + backend services",
		     true);
	expect_scope("--workers-only", NATIVE, false,
		     "compute,candles,ingest-options,ingest-equities", "worker services only",
		     false);
	/* --fast never changes an explicit scope, on either runtime. */
	expect_scope("--web-only", NATIVE, true, "web", "web only", true);
	expect_scope("--api-only", DOCKER, true, "api", "api only", true);
	expect_scope("--workers-only", DOCKER, true,
		     "compute,candles,ingest-options,ingest-equities", "worker services only",
		     false);
}

Test(plan, full_scope_and_fast_narrowing)
{
	struct deploy_args a;
	struct plan p;
	char err[512];
	_cleanup_free_ char *full = NULL, *nat = NULL, *dock = NULL;

	cr_assert_eq(parse(&a, err, sizeof(err), "main", NULL), 0, "%s", err);
	cr_assert_eq(a.scope.explicit_, false);
	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, false, &p, err, sizeof(err)), 0);
	full = planned(&p);
	cr_assert_str_eq(full, "web,api,compute,candles,ingest-options,ingest-equities");
	cr_assert_str_eq(p.scope_desc, "full stack");
	cr_assert(p.touches_edge && p.web_in_scope && p.api_in_scope);
	cr_assert_eq(p.fast_narrowed, false);

	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, true, &p, err, sizeof(err)), 0);
	nat = planned(&p);
	cr_assert_str_eq(nat, "compute,candles,ingest-options,ingest-equities");
	cr_assert(p.fast_narrowed);
	cr_assert_eq(p.touches_edge, false);
	cr_assert_str_eq(p.scope_desc, "worker services only");
	cr_assert(strstr(p.notice, "--fast: full native deploy narrowed to --workers-only"), "%s",
		  p.notice);

	/* -1 (no --runtime) is native, shiplog's default. */
	cr_assert_eq(plan_scope(cfg, &a.scope, -1, true, &p, err, sizeof(err)), 0);
	cr_assert_str_eq(p.scope_desc, "worker services only");

	cr_assert_eq(plan_scope(cfg, &a.scope, DOCKER, true, &p, err, sizeof(err)), 0);
	dock = planned(&p);
	cr_assert_str_eq(dock, "api,compute,candles,ingest-options,ingest-equities");
	cr_assert(p.fast_narrowed);
	cr_assert(p.touches_edge && !p.web_in_scope && p.api_in_scope);
	cr_assert(strstr(p.notice, "--fast: full docker deploy narrowed to --services-only"), "%s",
		  p.notice);

	/* A NULL scope is the full scope. */
	cr_assert_eq(plan_scope(cfg, NULL, DOCKER, false, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.nservices, 6);
	deploy_args_release(&a);
}

Test(plan, scope_conflicts)
{
	struct deploy_args a;
	char err[512];

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--web-only", "--api-only", NULL),
		     SL_EUSAGE);
	cr_assert(strstr(err, "choose only one scope flag"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "--workers-only", "main", "--services-only", NULL),
		     SL_EUSAGE);
	cr_assert(strstr(err, "choose only one scope flag"), "%s", err);
	/* Repeating the same flag is harmless. */
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--web-only", "--web-only", NULL), 0, "%s",
		     err);
	cr_assert_eq(a.scope.kind, SCOPE_WEB);
	cr_assert_eq(a.scope.nflags, 1);
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--pieces", "web", "--api-only", NULL),
		     SL_EUSAGE);
	cr_assert(strstr(err, "--pieces cannot be combined with --api-only"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--workers-only", "--piece=web", NULL),
		     SL_EUSAGE);
	cr_assert(strstr(err, "cannot be combined with --workers-only"), "%s", err);
}

Test(plan, scope_args_take_directly)
{
	struct scope_args s = {0};
	char err[256];

	cr_assert_eq(scope_args_take(&s, "runtime", "docker", err, sizeof(err)), 0);
	cr_assert_eq(scope_args_take(&s, "api-only", NULL, err, sizeof(err)), 1);
	cr_assert_eq(s.kind, SCOPE_API);
	cr_assert(s.explicit_);
	cr_assert_eq(scope_args_take(&s, "web-only", NULL, err, sizeof(err)), SL_EUSAGE);
	scope_args_release(&s);
	cr_assert_eq(scope_args_take(&s, "pieces", NULL, err, sizeof(err)), SL_EUSAGE);
	cr_assert_eq(scope_args_take(&s, "pieces", " , ", err, sizeof(err)), SL_EUSAGE);
	cr_assert_eq(s.pieces.n, 0);
	scope_args_release(&s);
}

/* The one scope table, as a command uses it: SCOPE_OPTIONS in its getopt_long table, next to its
 * own options, and scope_args_option() on what getopt_long returns. */
Test(plan, scope_options_through_getopt)
{
	static const struct option opts[] = {
	    SCOPE_OPTIONS,
	    {"wait", required_argument, NULL, 'w'},
	    {0},
	};
	char *argv[] = {"check", "--piece", "web", "--wait", "5s", "--pieces=api,web", NULL};
	struct scope_args s = {0};
	char err[256];
	int opt, r, own = 0;

	optind = 0;
	while ((opt = getopt_long(6, argv, "", opts, NULL)) != -1) {
		r = scope_args_option(&s, opt, optarg, err, sizeof(err));
		cr_assert_geq(r, 0, "%s", err);
		if (r == 0) {
			cr_assert_eq(opt, 'w');
			cr_assert_str_eq(optarg, "5s");
			own++;
		}
	}
	cr_assert_eq(own, 1);
	cr_assert_eq(s.kind, SCOPE_PIECES);
	cr_assert_eq(s.pieces.n, 2);
	cr_assert_str_eq(s.pieces.v[0], "web");
	cr_assert_str_eq(s.pieces.v[1], "api");
	scope_args_release(&s);

	/* every entry of the table is recognised, by val and by name, with its own name in errors
	 */
	for (const struct option *o = scope_options; o->name; o++) {
		cr_assert_eq(
		    scope_args_option(&s, o->val, o->has_arg ? "web" : NULL, err, sizeof(err)), 1,
		    "--%s", o->name);
		scope_args_release(&s);
		cr_assert_eq(
		    scope_args_take(&s, o->name, o->has_arg ? "web" : NULL, err, sizeof(err)), 1,
		    "--%s", o->name);
		scope_args_release(&s);
	}
	cr_assert_eq(scope_args_option(&s, SCOPE_OPT(SCOPE_WORKERS), NULL, err, sizeof(err)), 1);
	cr_assert_eq(s.kind, SCOPE_WORKERS);
	cr_assert_eq(scope_args_option(&s, SCOPE_OPT_PIECE, "web", err, sizeof(err)), SL_EUSAGE);
	cr_assert(strstr(err, "--piece cannot be combined with --workers-only"), "%s", err);
	scope_args_release(&s);
	cr_assert_eq(scope_args_option(&s, 'w', "5s", err, sizeof(err)), 0);
	cr_assert_eq(scope_args_option(&s, 0, NULL, err, sizeof(err)), 0);
	cr_assert_eq(scope_args_option(&s, SCOPE_OPT(SCOPE_FULL), NULL, err, sizeof(err)), 0);
	cr_assert_not(s.explicit_);

	/* deploy's table holds the same entries */
	for (const struct option *o = scope_options; o->name; o++) {
		bool found = false;
		for (const struct option *d = deploy_options; d->name; d++)
			found |= streq(d->name, o->name) && d->has_arg == o->has_arg;
		cr_assert(found, "deploy takes --%s", o->name);
	}
}

Test(plan, pieces)
{
	struct deploy_args a;
	struct plan p;
	char err[512];
	_cleanup_free_ char *got = NULL;

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--pieces", "candles, web",
			   "--piece=compute", "--piece", "web", NULL),
		     0, "%s", err);
	cr_assert_eq(a.scope.kind, SCOPE_PIECES);
	cr_assert_eq(a.scope.pieces.n, 3);
	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, false, &p, err, sizeof(err)), 0, "%s", err);
	got = planned(&p);
	cr_assert_str_eq(got, "web,compute,candles", "registry order");
	cr_assert_str_eq(p.scope_desc, "pieces: web, compute, candles");
	cr_assert(p.touches_edge && p.web_in_scope && !p.api_in_scope);
	/* --fast with some pieces: they stay. */
	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, true, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.nservices, 3);
	cr_assert_eq(p.fast_narrowed, false);
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--pieces=web,nope", NULL), 0, "%s", err);
	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, false, &p, err, sizeof(err)), SL_EUSAGE);
	cr_assert(strstr(err, "unknown service 'nope' in --pieces; known services: web, api, "
			      "compute, candles, ingest-options, ingest-equities"),
		  "%s", err);
	deploy_args_release(&a);
}

Test(plan, fast_with_all_pieces_counts_as_full)
{
	struct deploy_args a;
	struct plan p;
	char err[512];
	_cleanup_free_ char *got = NULL;

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--fast", "--pieces",
			   "web,api,compute,candles", "--pieces", "ingest-options,ingest-equities",
			   NULL),
		     0, "%s", err);
	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, a.fast, &p, err, sizeof(err)), 0, "%s", err);
	got = planned(&p);
	cr_assert_str_eq(got, "compute,candles,ingest-options,ingest-equities");
	cr_assert(p.fast_narrowed);
	cr_assert(p.notice[0]);
	/* Without --fast all pieces stay, and the description is cut to fit. */
	cr_assert_eq(plan_scope(cfg, &a.scope, NATIVE, false, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.nservices, 6);
	cr_assert(str_startswith(p.scope_desc, "pieces: web, api"), "%s", p.scope_desc);
	cr_assert(strlen(p.scope_desc) < sizeof(p.scope_desc));
	deploy_args_release(&a);
}

Test(plan, empty_scope_is_an_error)
{
	struct config *c2 = NULL;
	struct scope_args s = {0};
	struct plan p;
	char err[512];
	_cleanup_free_ char *path = xasprintf("%s/web-only.conf", cfg_dir);

	tl_write(path, "[project]\nname = x\n[service web]\nrole = web\n");
	cr_assert_eq(config_load(path, &c2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(scope_args_take(&s, "workers-only", NULL, err, sizeof(err)), 1);
	cr_assert_eq(plan_scope(c2, &s, NATIVE, false, &p, err, sizeof(err)), SL_EUSAGE);
	cr_assert(strstr(err, "--workers-only selects no service"), "%s", err);
	scope_args_release(&s);
	cr_assert_eq(plan_scope(c2, &s, NATIVE, true, &p, err, sizeof(err)), SL_EUSAGE);
	cr_assert(strstr(err, "--fast narrowed the native deploy to --workers-only"), "%s", err);
	config_free(c2);
}

Test(plan, edge_guard_matrix)
{
	struct plan edge = {.touches_edge = true}, workers = {.touches_edge = false};

	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, NULL), false);
	cr_assert_eq(plan_edge_allowed(&edge, -1, false, NULL), false, "default runtime is native");
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, true, NULL), true);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, "1"), true);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, " 1 "), true);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, "true"), false);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, "yes"), false);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, "0"), false);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, "11"), false);
	cr_assert_eq(plan_edge_allowed(&edge, NATIVE, false, ""), false);
	cr_assert_eq(plan_edge_allowed(&edge, DOCKER, false, NULL), true);
	cr_assert_eq(plan_edge_allowed(&workers, NATIVE, false, NULL), true);
	cr_assert_eq(plan_edge_allowed(&workers, NATIVE, false, "true"), true);
}

Test(plan, edge_roles_from_config_drive_touches_edge)
{
	struct config *c2 = NULL;
	struct scope_args s = {0};
	struct plan p;
	char err[512];
	_cleanup_free_ char *path = xasprintf("%s/edge.conf", cfg_dir);

	tl_write(path,
		 "[project]\nname = x\n[service web]\nrole = web\n[service w]\nrole = worker\n"
		 "[policy]\nedge_roles = worker\n");
	cr_assert_eq(config_load(path, &c2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(scope_args_take(&s, "web-only", NULL, err, sizeof(err)), 1);
	cr_assert_eq(plan_scope(c2, &s, NATIVE, false, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.touches_edge, false);
	cr_assert(plan_edge_allowed(&p, NATIVE, false, NULL));
	scope_args_release(&s);
	cr_assert_eq(scope_args_take(&s, "workers-only", NULL, err, sizeof(err)), 1);
	cr_assert_eq(plan_scope(c2, &s, NATIVE, false, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.touches_edge, true);
	cr_assert_eq(plan_edge_allowed(&p, NATIVE, false, NULL), false);
	scope_args_release(&s);
	config_free(c2);
}

Test(plan, modes)
{
	struct deploy_args a;
	char err[512];

	cr_assert_eq(parse(&a, err, sizeof(err), "main", NULL), 0);
	cr_assert_eq(a.mode, DEPLOY_MAIN);
	cr_assert_null(a.target);
	cr_assert_eq(a.runtime, -1);
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "current-branch", NULL), 0);
	cr_assert_eq(a.mode, DEPLOY_CURRENT_BRANCH);
	deploy_args_release(&a);
	cr_assert_eq(parse(&a, err, sizeof(err), "current", "--fast", "branch", NULL), 0);
	cr_assert_eq(a.mode, DEPLOY_CURRENT_BRANCH);
	cr_assert(a.fast);
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "branch", "feature/x", NULL), 0, "%s", err);
	cr_assert_eq(a.mode, DEPLOY_BRANCH);
	cr_assert_str_eq(a.target, "feature/x");
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "v1.2.3", NULL), 0);
	cr_assert_eq(a.mode, DEPLOY_REF);
	cr_assert_str_eq(a.target, "v1.2.3");
	cr_assert_str_eq(deploy_mode_name(a.mode), "ref");
	deploy_args_release(&a);

	cr_assert_str_eq(deploy_mode_name(DEPLOY_CURRENT_BRANCH), "current-branch");
	cr_assert_str_eq(deploy_mode_name(DEPLOY_BRANCH), "branch");

	/* Usage errors. */
	cr_assert_eq(parse(&a, err, sizeof(err), NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "--fast", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "extra", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "a", "b", "c", "d", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "branch", NULL), SL_EUSAGE);
	cr_assert(strstr(err, "'branch' needs a NAME"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "branch", "a", "b", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--bogus", NULL), SL_EUSAGE);
	cr_assert(strstr(err, "unknown option '--bogus'"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "-x", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--fast=yes", NULL), SL_EUSAGE);
}

Test(plan, flags)
{
	struct deploy_args a;
	char err[512];

	cr_assert_eq(parse(&a, err, sizeof(err), "--runtime=docker", "main", "--fast", "--no-build",
			   "--force-recreate", "--dry-run", "--edge-ready", "--force",
			   "--take-over", "--wait-lock", "90s", "--ssh", NULL),
		     0, "%s", err);
	cr_assert_eq(a.runtime, DOCKER);
	cr_assert(a.fast && a.no_build && a.force_recreate && a.dry_run && a.edge_ready_flag &&
		  a.force && a.take_over);
	cr_assert_eq(a.wait_lock_ns, 90000000000LL);
	cr_assert_eq(a.exec_override, 2);
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--runtime", "native", "--local", NULL),
		     0);
	cr_assert_eq(a.runtime, NATIVE);
	cr_assert_eq(a.exec_override, 1);
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--runtime", "podman", NULL), SL_EUSAGE);
	cr_assert(strstr(err, "use native or docker"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--runtime", NULL), SL_EUSAGE);
	cr_assert_eq(
	    parse(&a, err, sizeof(err), "main", "--runtime=docker", "--runtime=native", NULL),
	    SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--wait-lock", "soon", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--local", "--ssh", NULL), SL_EUSAGE);

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--force-recreate", NULL), SL_EUSAGE);
	cr_assert_str_eq(err, "--force-recreate is only supported with --runtime docker");
	cr_assert_eq(
	    parse(&a, err, sizeof(err), "main", "--runtime", "native", "--force-recreate", NULL),
	    SL_EUSAGE);
	cr_assert_str_eq(err, "--force-recreate is only supported with --runtime docker");
}

/* --pin COMMIT (what a fleet retry sends): a full commit id, for main, a branch or a REF. */
Test(plan, pin)
{
	const char *c = "0123456789abcdef0123456789abcdef01234567";
	struct deploy_args a;
	char err[512];

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--pin", c, NULL), 0, "%s", err);
	cr_assert_str_eq(a.pin, c);
	cr_assert_eq(a.mode, DEPLOY_MAIN);
	deploy_args_release(&a);
	cr_assert_eq(parse(&a, err, sizeof(err), "branch", "x",
			   "--pin=0123456789abcdef0123456789abcdef01234567", NULL),
		     0, "%s", err);
	cr_assert_str_eq(a.pin, c);
	deploy_args_release(&a);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", NULL), 0);
	cr_assert_str_eq(a.pin, "", "no pin unless given");
	deploy_args_release(&a);

	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--pin", "0123abc", NULL), SL_EUSAGE);
	cr_assert(strstr(err, "--pin '0123abc' is not a full commit id"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "main", "--pin",
			   "0123456789ABCDEF0123456789abcdef01234567", NULL),
		     SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "current-branch", "--pin", c, NULL), SL_EUSAGE);
	cr_assert(strstr(err, "not current-branch"), "%s", err);
}

Test(plan, refs_refused_or_taken_literally)
{
	struct deploy_args a;
	char err[512];

	cr_assert_eq(parse(&a, err, sizeof(err), "--", "-rf", NULL), SL_EUSAGE);
	cr_assert(strstr(err, "starts with '-'"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "branch", "--", "--upload-pack=x", NULL),
		     SL_EUSAGE);
	cr_assert(strstr(err, "starts with '-'"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "-", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "v1\nrm -rf /", NULL), SL_EUSAGE);
	cr_assert(strstr(err, "control characters"), "%s", err);
	cr_assert_eq(parse(&a, err, sizeof(err), "branch", "a\tb", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "x\x1b[31m", NULL), SL_EUSAGE);
	cr_assert_eq(parse(&a, err, sizeof(err), "", NULL), SL_EUSAGE);

	/* Spaces, $(...) and ';' are kept literally: they never reach a shell. */
	cr_assert_eq(parse(&a, err, sizeof(err), "my ref; $(touch /tmp/pwned)", NULL), 0, "%s",
		     err);
	cr_assert_eq(a.mode, DEPLOY_REF);
	cr_assert_str_eq(a.target, "my ref; $(touch /tmp/pwned)");
	deploy_args_release(&a);
	cr_assert_eq(parse(&a, err, sizeof(err), "branch", "feat `id`;x", NULL), 0, "%s", err);
	cr_assert_str_eq(a.target, "feat `id`;x");
	deploy_args_release(&a);
}
