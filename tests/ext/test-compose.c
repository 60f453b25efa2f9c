/* SPDX-License-Identifier: MIT */
/* compose: a plain external-system module. It builds the argv of the commands with side effects
 * for its caller to run, and tells the caller's observer of each probe it ran itself, recording
 * nothing. A fake `docker` on PATH stands in for the engine; test-docker runs the real one. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"
#include "testlib.h"
#include "util.h"

struct seen {
	struct strv lines; /* "what|argv[1]|record" */
};

static void observe(void *arg, const char *what, char *const argv[], const char *cwd,
		    const struct spawn_result *res, bool record)
{
	struct seen *s = arg;

	cr_assert_not_null(cwd);
	cr_assert_geq(res->exit_code, 0);
	strv_push_take(&s->lines, xasprintf("%s|%s|%d", what, argv[1], (int)record));
}

/* the progress hook: "W:what:shown" before a recorded probe, "W:what:-" after it */
static void waiting(void *arg, const char *what, const char *shown)
{
	struct seen *s = arg;

	strv_push_take(&s->lines, xasprintf("W:%s:%s", what, shown ? shown : "-"));
}

Test(compose, probes_are_told_to_the_observer_and_argv_is_built)
{
	char *dir = tl_mkdtemp("compose");
	_cleanup_free_ char *bin = xasprintf("%s/bin", dir), *docker = xasprintf("%s/docker", bin),
			    *path = xasprintf("%s:/usr/bin:/bin", bin);
	const char *old_path = getenv("PATH");
	_cleanup_free_ char *saved = old_path ? xstrdup(old_path) : NULL;
	struct seen seen = {0};
	const struct compose_observer obs = {.ran = observe, .waiting = waiting, .arg = &seen};
	const char *up[] = {"up", "-d", "web", NULL}, *stop[] = {"stop", "c1", NULL};
	struct compose *c = NULL;
	struct compose_container *cts = NULL;
	struct strv argv = {0};
	size_t n = 9;
	char err[512];

	cr_assert_eq(
	    tl_sh(
		"mkdir -p '%s' && printf '#!/bin/sh\\n[ \"$1\" = ps ] || echo 27.0.1\\n' > '%s' && "
		"chmod +x '%s'",
		bin, docker, docker),
	    0);
	setenv("PATH", path, 1);
	cr_assert_eq(compose_open(&c, &obs, dir, ".", "demo", err, sizeof(err)), 0, "%s", err);
	/* each recorded probe: waited for (its short form) while it runs, then told */
	cr_assert_eq(seen.lines.n, 6);
	cr_assert_str_eq(seen.lines.v[0], "W:docker:docker version --format {{.Server.Version}}");
	cr_assert_str_eq(seen.lines.v[1], "W:docker:-");
	cr_assert_str_eq(seen.lines.v[2], "docker|version|1");
	cr_assert_str_eq(seen.lines.v[3], "W:docker:docker compose version");
	cr_assert_str_eq(seen.lines.v[4], "W:docker:-");
	cr_assert_str_eq(seen.lines.v[5], "docker|compose|1");

	/* a poll: told, not to be recorded, and not shown as waited for (its caller says what it
	 * polls for) */
	cr_assert_eq(compose_containers(c, false, &cts, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(seen.lines.n, 7);
	cr_assert_str_eq(seen.lines.v[6], "docker|ps|0");
	free(cts);

	/* commands with side effects: built, not run */
	compose_docker_argv(c, stop, &argv);
	cr_assert_eq(argv.n, 3);
	cr_assert_str_eq(argv.v[0], docker);
	cr_assert_str_eq(argv.v[1], "stop");
	strv_free(&argv);
	compose_argv(c, up, &argv);
	cr_assert_str_eq(argv.v[0], docker);
	cr_assert_str_eq(argv.v[1], "compose");
	cr_assert(strv_contains(&argv, "-p") && strv_contains(&argv, "demo"));
	cr_assert_str_eq(argv.v[argv.n - 3], "up");
	cr_assert_str_eq(argv.v[argv.n - 1], "web");
	cr_assert_eq(seen.lines.n, 7, "building an argv runs nothing");
	{
		/* the progress line's short form: no -p/-f/--project-directory prefix, cut to fit
		 */
		char shown[64], tiny[12];

		compose_describe(c, argv.v, shown, sizeof(shown));
		cr_assert_str_eq(shown, "docker compose up -d web");
		compose_describe(c, argv.v, tiny, sizeof(tiny));
		cr_assert_str_eq(tiny, "docker comp");
	}
	strv_free(&argv);
	compose_docker_argv(c, stop, &argv);
	{
		char shown[64];

		compose_describe(c, argv.v, shown, sizeof(shown));
		cr_assert_str_eq(shown, "docker stop c1");
	}
	strv_free(&argv);

	compose_free(c);
	if (saved)
		setenv("PATH", saved, 1);
	strv_free(&seen.lines);
	tl_rmrf(dir);
	free(dir);
}

/* docker stats' MemUsage is read defensively: units from B to TiB, anything else refused. */
Test(compose, mem_usage_parses_docker_stats_figures_and_refuses_the_rest)
{
	uint64_t b = 0;

	cr_assert(compose_parse_mem_usage("1.5MiB / 23.44GiB", &b));
	cr_assert_eq(b, 1572864);
	cr_assert(compose_parse_mem_usage("812KiB / 1GiB", &b));
	cr_assert_eq(b, 812 * 1024);
	cr_assert(compose_parse_mem_usage("0B / 0B", &b));
	cr_assert_eq(b, 0);
	cr_assert(compose_parse_mem_usage("2GB / 4GB", &b));
	cr_assert_eq(b, 2000000000ull);
	cr_assert_not(compose_parse_mem_usage("-- / --", &b));
	cr_assert_not(compose_parse_mem_usage("", &b));
	cr_assert_not(compose_parse_mem_usage("-1MiB / 1GiB", &b));
	cr_assert_not(compose_parse_mem_usage("1e300GiB / 1GiB", &b));
	cr_assert_not(compose_parse_mem_usage("12XB / 1GiB", &b));
	cr_assert_not(compose_parse_mem_usage("nan / 1GiB", &b));
	cr_assert_not(compose_parse_mem_usage(NULL, &b));
}
