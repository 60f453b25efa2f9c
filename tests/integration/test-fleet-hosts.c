/* SPDX-License-Identifier: MIT */
/* The fleet's test hosts themselves (tools/fleet-hosts.sh, started by tools/test.sh): each one
 * is reached by a plain ssh login that sees its own user manager, runs the shared sample at the
 * origin's commit on its own 127.0.0.1, and keeps its manager in a cgroup of its own. The other
 * fleet tests build on exactly this. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "util.h"

static char *origin_head(void)
{
	char *argv[] = {"git",	     "--git-dir", getenv("SHIPLOG_TEST_FLEET_ORIGIN"),
			"rev-parse", "main",	  NULL};
	struct tl_run r;
	char *out;

	tl_run(&r, NULL, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	out = str_trim(r.out);
	r.out = NULL;
	tl_run_release(&r);
	return out;
}

Test(fleet_hosts, each_host_is_its_own_machine)
{
	char *head, *cgroups[16] = {0};
	int n, code;

	TL_REQUIRE(tl_have_fleet(), "the fleet's test hosts");
	n = tl_fleet_count();
	cr_assert(n >= 3 && n <= 16, "SHIPLOG_TEST_FLEET_HOSTS names %d hosts", n);
	head = origin_head();
	for (int i = 0; i < n; i++) {
		char name[8], slice[32], *target, *out;
		snprintf(name, sizeof(name), "h%d", i + 1);
		snprintf(slice, sizeof(slice), "-%s.slice/", name);
		target = tl_fleet_target(name);
		cr_assert_not_null(target, "no %s in SHIPLOG_TEST_FLEET_HOSTS", name);
		cr_assert(strstr(target, "@127.0.0.1:"), "%s", target);
		/* the login sees the manager and finds shiplog, as a deploy forwarded to it will */
		out = tl_fleet_sh(
		    name,
		    "command -v shiplog >/dev/null && systemctl --user is-system-running "
		    "&& curl -s http://127.0.0.1:3000/health",
		    &code);
		cr_assert_eq(code, 0, "%s: %s", name, out);
		cr_assert(strstr(out, head), "%s runs another commit than origin's %s: %s", name,
			  head, out);
		free(out);
		cgroups[i] =
		    tl_fleet_sh(name, "systemctl --user show -p ControlGroup --value", &code);
		cr_assert_eq(code, 0);
		cr_assert(strstr(cgroups[i], slice),
			  "%s's manager is not in a cgroup of its own: '%s'", name, cgroups[i]);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(cgroups[i], cgroups[j]);
		free(target);
	}
	for (int i = 0; i < n; i++)
		free(cgroups[i]);
	free(head);
}

Test(fleet_hosts, a_host_taken_down_refuses_then_comes_back)
{
	int code;
	char *out;

	TL_REQUIRE(tl_have_fleet(), "the fleet's test hosts");
	cr_assert_eq(tl_fleet_ctl("down", "h2"), 0);
	out = tl_fleet_sh("h2", "true", &code);
	cr_assert_eq(code, 255, "h2 still answers ssh after 'down'");
	free(out);
	out = tl_fleet_sh("h1", "true", &code);
	cr_assert_eq(code, 0, "h1 went down with h2");
	free(out);
	cr_assert_eq(tl_fleet_ctl("up", "h2"), 0);
	out = tl_fleet_sh("h2", "systemctl --user is-system-running", &code);
	cr_assert_eq(code, 0, "h2 did not come back: %s", out);
	free(out);
}
