/* SPDX-License-Identifier: MIT */
/* [host NAME] and [fleet]: every key accepted, defaults, the [target] fallbacks, and hostile or
 * wrong values refused with the file, line, key and a fix. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "testlib.h"
#include "util.h"

#include "config/config-fx.h"

#define BASE "[project]\nname = demo\n[service web]\nrole = web\n[service jobs]\nrole = worker\n"

Test(fleet_config, single_host_file_has_no_hosts)
{
	struct fx f = {0};

	fx_load(&f, BASE);
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_eq(f.cfg->nhosts, 0);
	cr_assert_null(config_host(f.cfg, "web1"));
	cr_assert_eq(f.cfg->fleet.canary_count, 1);
	cr_assert_eq(f.cfg->fleet.wave_percent, 100);
	cr_assert_eq(f.cfg->fleet.max_failed_hosts, 0);
	cr_assert_eq(f.cfg->fleet.on_failure, FLEET_ON_FAILURE_ROLLBACK_MOVED);
	cr_assert_eq(f.cfg->fleet.host_timeout_ns, 30 * 60000000000LL);
	fx_release(&f);
}

Test(fleet_config, every_key_accepted)
{
	struct fx f = {0};
	const struct host *h;
	char real[PATH_MAX];

	fx_load(&f, BASE "[target]\nssh_key = keys/id\nshiplog = /usr/bin/shiplog\n"
			 "[host web1]\nssh = deploy@web1.example.com:2222\n"
			 "checkout = /srv/demo\nshiplog = /opt/shiplog/bin/shiplog\n"
			 "ssh_key = ~/.ssh/fleet\n"
			 "ssh_options = StrictHostKeyChecking=accept-new, Port=2222\n"
			 "services = web\nlabels = region=eu, tier=edge\nlabels = primary\n"
			 "[host jobs-1]\nssh = ops@[::1]\ncheckout = apps/demo\n"
			 "[host here]\nssh = local\ncheckout = .\n"
			 "[fleet]\ncanary = web1\nwave_size = 50%\nparallelism = 4\n"
			 "max_failed_hosts = 1\npause = 2s\non_failure = stop\n"
			 "host_timeout = 5m\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_eq(f.cfg->nhosts, 3);
	h = config_host(f.cfg, "web1");
	cr_assert_not_null(h);
	cr_assert_str_eq(h->ssh, "deploy@web1.example.com:2222");
	cr_assert_not(h->local);
	cr_assert_str_eq(h->checkout, "/srv/demo");
	cr_assert_str_eq(config_host_shiplog(f.cfg, h), "/opt/shiplog/bin/shiplog");
	cr_assert(strstr(config_host_ssh_key(f.cfg, h), "/.ssh/fleet"));
	cr_assert_eq(h->ssh_options.n, 2);
	cr_assert(config_host_runs(h, "web"));
	cr_assert_not(config_host_runs(h, "jobs"));
	cr_assert_eq(h->labels.n, 3);
	cr_assert_str_eq(h->labels.v[2], "primary");

	h = config_host(f.cfg, "jobs-1");
	cr_assert_str_eq(h->ssh, "ops@[::1]");
	cr_assert_str_eq(h->checkout, "apps/demo", "a remote relative path is the user's home's");
	cr_assert_str_eq(config_host_shiplog(f.cfg, h), "/usr/bin/shiplog", "[target]'s");
	cr_assert(strstr(config_host_ssh_key(f.cfg, h), "/keys/id"), "[target]'s");
	cr_assert(config_host_runs(h, "jobs"), "no subset runs every service");

	h = config_host(f.cfg, "here");
	cr_assert(h->local);
	cr_assert_null(h->ssh);
	cr_assert(realpath(f.dir, real));
	cr_assert_str_eq(h->checkout, real, "a local checkout resolves like [target]'s");

	cr_assert_eq(f.cfg->fleet.canary_hosts.n, 1);
	cr_assert_str_eq(f.cfg->fleet.canary_hosts.v[0], "web1");
	cr_assert_eq(f.cfg->fleet.canary_count, 0);
	cr_assert_eq(f.cfg->fleet.wave_percent, 50);
	cr_assert_eq(f.cfg->fleet.wave_size, 0);
	cr_assert_eq(f.cfg->fleet.parallelism, 4);
	cr_assert_eq(f.cfg->fleet.max_failed_hosts, 1);
	cr_assert_eq(f.cfg->fleet.pause_ns, 2000000000LL);
	cr_assert_eq(f.cfg->fleet.on_failure, FLEET_ON_FAILURE_STOP);
	cr_assert_str_eq(fleet_on_failure_name(f.cfg->fleet.on_failure), "stop");
	cr_assert_eq(f.cfg->fleet.host_timeout_ns, 300000000000LL);
	fx_release(&f);
}

Test(fleet_config, counts_and_the_target_checkout)
{
	struct fx f = {0};

	fx_load(&f, BASE "[target]\ncheckout = /srv/demo\n[host a]\nssh = a.example\n"
			 "[fleet]\ncanary = 0\nwave_size = 3\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_str_eq(f.cfg->hosts[0].checkout, "/srv/demo");
	cr_assert_eq(f.cfg->fleet.canary_count, 0);
	cr_assert_eq(f.cfg->fleet.canary_hosts.n, 0);
	cr_assert_eq(f.cfg->fleet.wave_size, 3);
	cr_assert_eq(f.cfg->fleet.wave_percent, 0);
	fx_release(&f);
}

#define HOST "[host web1]\n" /* line 7 */

Test(fleet_config, hostile_targets_and_paths_refused)
{
	static const char *const bad_ssh[] = {
	    "-oProxyCommand=sh",   "deploy@host;reboot", "deploy@$(id)", "de ploy@host",
	    "deploy@host:0",	   "deploy@host:99999",	 "deploy@-host", "deploy@host:22:22",
	    "'deploy'@host",	   "deploy@ho`st`",	 "@host",	 "deploy@",
	    "deploy@host\\nx",	   "deploy@[::1",	 "deploy@a@b",	 "user@host/x",
	    "deploy@.hidden.host",
	};
	static const char *const bad_path[] = {"-rf", "~/app", "/srv/~/x"};
	struct fx f = {0};

	for (size_t i = 0; i < ELEMENTSOF(bad_ssh); i++) {
		_cleanup_free_ char *t =
		    xasprintf(BASE HOST "ssh = %s\ncheckout = /srv\n", bad_ssh[i]);
		fx_load(&f, t);
		expect_error(&f, 8, "host web1", "ssh");
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_path); i++) {
		_cleanup_free_ char *t =
		    xasprintf(BASE HOST "ssh = h\ncheckout = %s\n", bad_path[i]);
		_cleanup_free_ char *u =
		    xasprintf(BASE HOST "ssh = h\ncheckout = /srv\nshiplog = %s\n", bad_path[i]);
		fx_load(&f, t);
		expect_error(&f, 9, "host web1", "checkout");
		fx_load(&f, u);
		expect_error(&f, 10, "host web1", "shiplog");
	}
	fx_load(&f, BASE HOST "ssh = h\ncheckout = /srv\nssh_options = ProxyCommand=sh -c id\n");
	expect_error(&f, 10, "host web1", "ssh_options");
	cr_assert(strstr(f.err, "not an allowed ssh option"), "%s", f.err);
	fx_load(&f,
		BASE HOST "ssh = h\ncheckout = /srv\nssh_options = UserKnownHostsFile=/tmp/kh\n");
	expect_error(&f, 10, "host web1", "ssh_options");
	fx_release(&f);
}

Test(fleet_config, wrong_values_name_line_and_key)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *section, *key;
	} cases[] = {
	    {HOST "ssh = h\ncheckout = /srv\nservices = nope\n", 10, "host web1", "services"},
	    {HOST "ssh = h\ncheckout = /srv\nservices = Web!\n", 10, "host web1", "services"},
	    {HOST "ssh = h\ncheckout = /srv\nlabels = a=b=c;d\n", 10, "host web1", "labels"},
	    {HOST "ssh = h\ncheckout = /srv\nlabels = x=\n", 10, "host web1", "labels"},
	    {HOST "ssh = h\ncheckout = /srv\nssh = g\n", 10, "host web1", "ssh"},
	    {HOST "ssh = h\ncheckout = /srv\nport = 22\n", 10, "host web1", "port"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\ncanary = web2\n", 11, "fleet", "canary"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\ncanary = -1\n", 11, "fleet", "canary"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\nwave_size = 0\n", 11, "fleet", "wave_size"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\nwave_size = 101%\n", 11, "fleet",
	     "wave_size"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\nwave_size = half\n", 11, "fleet",
	     "wave_size"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\nparallelism = many\n", 11, "fleet",
	     "parallelism"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\nmax_failed_hosts = -2\n", 11, "fleet",
	     "max_failed_hosts"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\npause = soon\n", 11, "fleet", "pause"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\nhost_timeout = 0s\n", 11, "fleet",
	     "host_timeout"},
	    {HOST "ssh = h\ncheckout = /srv\n[fleet]\non_failure = rollback\n", 11, "fleet",
	     "on_failure"},
	    {HOST "checkout = /srv\n", 7, "host web1", "ssh"},
	    {HOST "ssh = h\n", 7, "host web1", "checkout"},
	};
	struct fx f = {0};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *t = xasprintf(BASE "%s", cases[i].text);
		fx_load(&f, t);
		expect_error(&f, cases[i].line, cases[i].section, cases[i].key);
	}
	fx_release(&f);
}

Test(fleet_config, sections_named_and_counted)
{
	struct fx f = {0};

	fx_load(&f, BASE "[host]\nssh = h\n");
	cr_assert_eq(f.r, SL_EUSAGE);
	cr_assert(strstr(f.err, ":7: [host]: a host needs a name;"), "%s", f.err);
	fx_load(&f, BASE "[host web;1]\nssh = h\n");
	cr_assert(strstr(f.err, ":7: [host web;1]: invalid host name;"), "%s", f.err);
	fx_load(&f, BASE HOST "ssh = h\ncheckout = /s\n" HOST "ssh = g\n");
	cr_assert(strstr(f.err, ":10: [host web1]: defined twice (first on line 7);"), "%s", f.err);
	fx_load(&f, BASE "[fleet]\nwave_size = 2\n");
	cr_assert(strstr(f.err, ":8: [fleet]: no [host NAME] sections;"), "%s", f.err);
	fx_release(&f);
}
