/* SPDX-License-Identifier: MIT */
/* shiplog.conf: every key accepted and validated, errors naming file:line and key, the inih line
 * limit, defaults, environment overrides, the starter text, and `shiplog init`. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ledger/ledger.h>

#include "config.h"
#include "health.h"
#include "testlib.h"
#include "util.h"

#include "config/config-fx.h"

#define MINIMAL "[project]\nname = demo\n[service web]\nrole = web\n"

Test(config, minimal_defaults)
{
	struct fx f = {0};
	char real[PATH_MAX];

	fx_load(&f, MINIMAL);
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert(realpath(f.dir, real));
	cr_assert_str_eq(f.cfg->project, "demo");
	cr_assert_str_eq(f.cfg->dir, real);
	cr_assert_str_eq(f.cfg->target.checkout, real, "checkout defaults to the file's directory");
	cr_assert_null(f.cfg->target.ssh);
	cr_assert_null(f.cfg->target.ssh_key);
	cr_assert_null(f.cfg->target.ledger, "ledger stays NULL: cmd.c computes the default");
	cr_assert_eq(f.cfg->target.local_exec, LOCAL_EXEC_AUTO);
	cr_assert_eq(f.cfg->target.layout, LAYOUT_IN_PLACE);
	cr_assert_eq(f.cfg->target.keep_releases, 5);
	cr_assert_eq(f.cfg->policy.baseline_ops, 50);
	cr_assert_eq(f.cfg->target.allow_untracked.n, 0);
	cr_assert_str_eq(f.cfg->git.main_branch, "main");
	cr_assert_str_eq(f.cfg->git.remote, "auto");
	cr_assert_eq(f.cfg->git.remote_candidates.n, 3);
	cr_assert_str_eq(f.cfg->git.remote_candidates.v[0], "forgejo");
	cr_assert_str_eq(f.cfg->git.remote_candidates.v[1], "origin");
	cr_assert_str_eq(f.cfg->git.remote_candidates.v[2], "github");
	cr_assert_eq(f.cfg->native.manager, MANAGER_USER);
	cr_assert_eq(f.cfg->native.build.n, 0);
	cr_assert_null(f.cfg->native.env_file);
	cr_assert_str_eq(f.cfg->native.unit_dir, "units");
	cr_assert_null(f.cfg->native.exec);
	cr_assert_null(f.cfg->native.log_dir);
	cr_assert_str_eq(f.cfg->docker.workdir, ".");
	cr_assert_str_eq(f.cfg->docker.project, "demo");
	cr_assert_eq(f.cfg->policy.edge_role[ROLE_WEB], true);
	cr_assert_eq(f.cfg->policy.edge_role[ROLE_API], true);
	cr_assert_eq(f.cfg->policy.edge_role[ROLE_WORKER], false);
	cr_assert_eq(f.cfg->policy.on_failure, ON_FAILURE_ROLLBACK);
	cr_assert_eq(f.cfg->policy.settle_ns, 3000000000LL);
	cr_assert_eq(f.cfg->policy.health_timeout_ns, 60000000000LL);
	cr_assert_null(f.cfg->public_.app_url);
	cr_assert_eq(f.cfg->nservices, 1);
	cr_assert_str_eq(f.cfg->services[0].unit, "demo-web.service");
	cr_assert_str_eq(f.cfg->services[0].compose, "web");
	cr_assert_eq(f.cfg->services[0].line, 3);
	cr_assert_eq(strlen(f.cfg->digest), 64);
	fx_release(&f);
}

Test(config, every_key_accepted)
{
	struct fx f = {0};
	const char *home = getenv("HOME");
	_cleanup_free_ char *ledger = NULL, *key = NULL;
	const struct service *s;

	fx_load(&f, "; a comment\n"
		    "# another\n"
		    "[project]\n"
		    "name = islandflow\n"
		    "\n"
		    "[target]\n"
		    "checkout = /home/delta/islandflow          ; the live checkout\n"
		    "ssh = delta@152.53.80.229:2222\n"
		    "ssh_key = ~/.ssh/delta_ed25519\n"
		    "local_exec = never\n"
		    "allow_untracked = deployment/docker/signal-cli-*.tar.gz\n"
		    "allow_untracked = tmp/*\n"
		    "ledger = ~/.local/state/shiplog/islandflow\n"
		    "layout = releases\n"
		    "keep_releases = 7\n"
		    "[git]\n"
		    "main_branch = trunk\n"
		    "remote = forgejo\n"
		    "remote_candidates = forgejo, origin\n"
		    "remote_candidates = github\n"
		    "[runtime native]\n"
		    "manager = system\n"
		    "build = bun install --frozen-lockfile\n"
		    "build = sh -c 'a;b'\n"
		    "build_when_changed = bun.lock, package.json\n"
		    "build_when_changed = apps/web/package.json\n"
		    "env_file = .env\n"
		    "unit_dir = deployment/native\n"
		    "exec = bin/app\n"
		    "log_dir = ~/logs\n"
		    "[runtime docker]\n"
		    "workdir = deployment/docker\n"
		    "project = islandflow-vps\n"
		    "foreign_projects = islandflow\n"
		    "foreign_projects = old-one, older\n"
		    "[service web]\n"
		    "role = web\n"
		    "unit = islandflow-web\n"
		    "compose = web-svc\n"
		    "build = bun --cwd=apps/web run build\n"
		    "build = true\n"
		    "health = http-head http://127.0.0.1:3000/\n"
		    "health = tcp 127.0.0.1:3000\n"
		    "[service api]\n"
		    "    role = api\n"
		    "    unit = islandflow-api.socket\n"
		    "    health = http-get http://127.0.0.1:4000/health 204\n"
		    "    health = cmd /bin/sh -c \"test -e '/tmp/x y'\"\n"
		    "[service ingest-options]\n"
		    "role = worker\n"
		    "[public]\n"
		    "app_url = https://flow.deltaisland.io\n"
		    "api_health_url =\n"
		    "[policy]\n"
		    "edge_roles = web\n"
		    "edge_roles = worker\n"
		    "on_failure = stop\n"
		    "settle = 500ms\n"
		    "health_timeout = 2m\n"
		    "baseline_ops = 20\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	ledger = xasprintf("%s/.local/state/shiplog/islandflow", home);
	key = xasprintf("%s/.ssh/delta_ed25519", home);
	cr_assert_str_eq(f.cfg->project, "islandflow");
	cr_assert_str_eq(f.cfg->target.checkout, "/home/delta/islandflow");
	cr_assert_str_eq(f.cfg->target.ssh, "delta@152.53.80.229:2222");
	cr_assert_str_eq(f.cfg->target.ssh_key, key);
	cr_assert_eq(f.cfg->target.local_exec, LOCAL_EXEC_NEVER);
	cr_assert_eq(f.cfg->target.allow_untracked.n, 2);
	cr_assert_str_eq(f.cfg->target.allow_untracked.v[1], "tmp/*");
	cr_assert_str_eq(f.cfg->target.ledger, ledger);
	cr_assert_eq(f.cfg->target.layout, LAYOUT_RELEASES);
	cr_assert_eq(f.cfg->target.keep_releases, 7);
	cr_assert_eq(f.cfg->policy.baseline_ops, 20);
	cr_assert_str_eq(f.cfg->git.main_branch, "trunk");
	cr_assert_str_eq(f.cfg->git.remote, "forgejo");
	cr_assert_eq(f.cfg->git.remote_candidates.n, 3, "the first line replaces the default");
	cr_assert_str_eq(f.cfg->git.remote_candidates.v[2], "github");
	cr_assert_eq(f.cfg->native.manager, MANAGER_SYSTEM);
	cr_assert_eq(f.cfg->native.build.n, 2);
	cr_assert_str_eq(f.cfg->native.build.v[1], "sh -c 'a;b'");
	cr_assert_eq(f.cfg->native.build_when_changed.n, 3);
	cr_assert_str_eq(f.cfg->native.build_when_changed.v[1], "package.json");
	cr_assert_str_eq(f.cfg->native.env_file, ".env");
	cr_assert_str_eq(f.cfg->native.unit_dir, "deployment/native");
	cr_assert_str_eq(f.cfg->native.exec, "bin/app");
	cr_assert(str_startswith(f.cfg->native.log_dir, home) &&
		  strstr(f.cfg->native.log_dir, "/logs"));
	cr_assert_str_eq(f.cfg->docker.workdir, "deployment/docker");
	cr_assert_str_eq(f.cfg->docker.project, "islandflow-vps");
	cr_assert_eq(f.cfg->docker.foreign_projects.n, 3);
	cr_assert_eq(f.cfg->nservices, 3);

	s = config_service(f.cfg, "web");
	cr_assert_not_null(s);
	cr_assert_eq(s->role, ROLE_WEB);
	cr_assert_str_eq(s->unit, "islandflow-web.service", "'.service' is added");
	cr_assert_str_eq(s->compose, "web-svc");
	cr_assert_eq(s->build.n, 2);
	cr_assert_eq(s->nhealth, 2);
	cr_assert_eq(s->health[0].kind, HEALTH_HTTP_HEAD);
	cr_assert_str_eq(s->health[0].target, "http://127.0.0.1:3000/");
	cr_assert_eq(s->health[0].line, 42);
	cr_assert_eq(s->health[1].kind, HEALTH_TCP);

	s = config_service(f.cfg, "api");
	cr_assert_eq(s->role, ROLE_API, "indented keys are plain keys, not continuations");
	cr_assert_str_eq(s->unit, "islandflow-api.socket");
	cr_assert_eq(s->nhealth, 2);
	cr_assert_eq(s->health[0].kind, HEALTH_HTTP_GET);
	cr_assert_eq(s->health[0].expect_status, 204);
	cr_assert_eq(s->health[1].kind, HEALTH_CMD);
	cr_assert_eq(s->health[1].argv.n, 3);
	cr_assert_str_eq(s->health[1].argv.v[2], "test -e '/tmp/x y'");

	s = config_service(f.cfg, "ingest-options");
	cr_assert_str_eq(s->unit, "islandflow-ingest-options.service");
	cr_assert_str_eq(s->compose, "ingest-options");
	cr_assert_eq(config_service_index(f.cfg, "ingest-options"), 2);
	cr_assert_eq(config_service_index(f.cfg, "nope"), -1);
	cr_assert_null(config_service(f.cfg, "nope"));

	cr_assert_str_eq(f.cfg->public_.app_url, "https://flow.deltaisland.io");
	cr_assert_null(f.cfg->public_.api_health_url, "empty means unset");
	cr_assert_eq(f.cfg->policy.edge_role[ROLE_WEB], true);
	cr_assert_eq(f.cfg->policy.edge_role[ROLE_API], false, "edge_roles replaces the default");
	cr_assert_eq(f.cfg->policy.edge_role[ROLE_WORKER], true);
	cr_assert_eq(f.cfg->policy.on_failure, ON_FAILURE_STOP);
	cr_assert_eq(f.cfg->policy.settle_ns, 500000000LL);
	cr_assert_eq(f.cfg->policy.health_timeout_ns, 120000000000LL);
	fx_release(&f);
}

Test(config, relative_paths_resolve_against_the_file)
{
	struct fx f = {0};
	char real[PATH_MAX];
	_cleanup_free_ char *co = NULL, *lg = NULL;

	fx_load(&f, "[project]\nname = demo\n[target]\ncheckout = app\nledger = ./state\n"
		    "ssh_key = keys/id\n[service web]\nrole = web\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert(realpath(f.dir, real));
	co = xasprintf("%s/app", real);
	lg = xasprintf("%s/state", real);
	cr_assert_str_eq(f.cfg->target.checkout, co);
	cr_assert_str_eq(f.cfg->target.ledger, lg);
	cr_assert(str_startswith(f.cfg->target.ssh_key, real));
	fx_release(&f);
}

Test(config, digest_is_sha256_of_the_bytes)
{
	struct fx f = {0};
	char want[65];
	_cleanup_free_ char *data = NULL;
	size_t len;

	fx_load(&f, MINIMAL "# trailing comment\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_eq(read_file(f.path, 1 << 20, &data, &len), 0);
	sha256_hex(data, len, want);
	cr_assert_str_eq(f.cfg->digest, want);
	fx_release(&f);
}

/* Each wrong value, on line 3 of its section, must be refused naming file:3, section and key. */
static const struct bad {
	const char *section, *key, *value;
} bad_values[] = {
    {"target", "ssh", "-oProxyCommand=x"},
    {"target", "ssh_options", "ProxyCommand=touch /tmp/x"},
    {"target", "ssh_options", "Port=22, localcommand=id"},
    /* ssh appends host keys to the UserKnownHostsFile: only a known_hosts file in ~/.ssh */
    {"target", "ssh_options", "UserKnownHostsFile=/tmp/x"},
    {"target", "ssh_options", "userknownhostsfile=~/.bashrc"},
    {"target", "ssh_options", "UserKnownHostsFile=~/.ssh/authorized_keys"},
    {"target", "ssh_options", "UserKnownHostsFile=~/.ssh/../known_hosts"},
    {"target", "ssh_options", "UserKnownHostsFile=~/.ssh/known_hosts /etc/cron.d/x"},
    {"target", "ssh_options", "UserKnownHostsFile=~/.ssh/%h_known_hosts"},
    {"target", "ssh_options", "UserKnownHostsFile=${HOME}/.ssh/known_hosts"},
    {"project", "name", ".."},
    {"project", "name", "."},
    {"project", "name", ".hidden"},
    {"project", "name", "-x"},
    {"target", "ssh", "user@"},
    {"target", "ssh", "user@host:99999"},
    {"target", "local_exec", "sometimes"},
    {"target", "layout", "blue-green"},
    {"target", "keep_releases", "0"},
    {"target", "keep_releases", "five"},
    {"target", "keep_releases", "-1"},
    {"policy", "baseline_ops", "0"},
    {"policy", "baseline_ops", "many"},
    {"policy", "baseline_ops", "1000001"},
    {"target", "checkout", ""},
    {"target", "allow_untracked", ""},
    {"git", "main_branch", "-x"},
    {"git", "main_branch", "a b"},
    {"git", "remote", "bad remote"},
    {"git", "remote_candidates", "origin, -x"},
    {"runtime native", "manager", "root"},
    {"runtime native", "build", ""},
    {"runtime native", "unit_dir", ""},
    {"runtime docker", "project", "Upper"},
    {"runtime docker", "workdir", ""},
    {"service web", "role", "frontend"},
    {"service web", "unit", "bad unit"},
    {"service web", "compose", "a/b"},
    {"service web", "health", "http http://x/"},
    {"service web", "health", "http-get ftp://x/"},
    {"service web", "health", "http-get http://x/ 999"},
    {"service web", "health", "http-get http:// "},
    {"service web", "health", "http-head http://x/ extra"},
    {"service web", "health", "tcp localhost"},
    {"service web", "health", "tcp localhost:0"},
    {"service web", "health", "tcp ::1:80"},
    {"service web", "health", "cmd"},
    {"service web", "health", "cmd sh -c 'unterminated"},
    {"service web", "build", ""},
    {"public", "app_url", "flow.example.com"},
    {"public", "api_health_url", "ftp://x/"},
    {"policy", "edge_roles", "web, edge"},
    {"policy", "on_failure", "retry"},
    {"policy", "settle", "3"},
    {"policy", "settle", "soon"},
    {"policy", "settle", "1e3s"}, /* strtod's forms are not durations */
    {"policy", "health_timeout", "0x10s"},
    {"policy", "health_timeout", "1.5e1s"},
    {"policy", "health_timeout", "99999999999d"}, /* over int64 nanoseconds */
    {"policy", "health_timeout", "0s"},
    {"project", "name", "my app"},
    {"project", "name", "a/b"},
};

Test(config, wrong_values_name_file_line_section_key)
{
	for (size_t i = 0; i < ELEMENTSOF(bad_values); i++) {
		const struct bad *b = &bad_values[i];
		struct fx f = {0};
		_cleanup_free_ char *text = NULL;

		/* The bad line is line 3 of the file. */
		if (streq(b->section, "service web"))
			text =
			    xasprintf("[service web]\nrole = web\n%s = %s\n[project]\nname = d\n",
				      b->key, b->value);
		else if (streq(b->section, "project"))
			text = xasprintf("[service web]\n[project]\n%s = %s\n", b->key, b->value);
		else
			text = xasprintf(MINIMAL "[%s]\n%s = %s\n", b->section, b->key, b->value);
		if (!streq(b->section, "service web") && !streq(b->section, "project")) {
			/* MINIMAL is four lines: the section header is line 5, the key line 6. */
			fx_load(&f, text);
			expect_error(&f, 6, b->section, b->key);
		} else if (streq(b->section, "service web") && streq(b->key, "role")) {
			free(text);
			text = xasprintf("[project]\nname = d\n[service web]\n%s = %s\n", b->key,
					 b->value);
			fx_load(&f, text);
			expect_error(&f, 4, b->section, b->key);
		} else {
			fx_load(&f, text);
			expect_error(&f, 3, b->section, b->key);
		}
		fx_release(&f);
	}
}

/* Issue 9 item 7: a committed ssh_options = UserKnownHostsFile=<any file>, with
 * StrictHostKeyChecking=accept-new, made ssh append a host key line to that file. Only a
 * known_hosts file in ~/.ssh is accepted; the error says why and what to do instead. The
 * operator's own DEPLOY_SSH_KNOWN_HOSTS may name any file, and comes first (ssh takes an
 * option's first value). */
Test(config, user_known_hosts_file_only_in_dot_ssh)
{
	static const char *const good[] = {
	    "~/.ssh/known_hosts",
	    "~/.ssh/deploy_known_hosts",
	    "~/.ssh/hosts/known_hosts2",
	    "/dev/null",
	    "none",
	};
	_cleanup_free_ char *abs = xasprintf("%s/.ssh/known_hosts", getenv("HOME"));
	struct fx f = {0};
	_cleanup_free_ char *text = NULL;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		free(text);
		text =
		    xasprintf(MINIMAL "[target]\nssh_options = StrictHostKeyChecking=accept-new, "
				      "UserKnownHostsFile=%s\n",
			      good[i]);
		fx_load(&f, text);
		cr_assert_eq(f.r, 0, "%s: %s", good[i], f.err);
		cr_assert_eq(f.cfg->target.ssh_options.n, 2);
	}
	free(text);
	text = xasprintf(MINIMAL "[target]\nssh_options = UserKnownHostsFile=%s\n", abs);
	fx_load(&f, text);
	cr_assert_eq(f.r, 0, "%s: %s", abs, f.err);

	fx_load(&f, MINIMAL "[target]\nssh_options = StrictHostKeyChecking=accept-new, "
			    "UserKnownHostsFile=/home/someone/.profile\n");
	cr_assert_eq(f.r, SL_EUSAGE);
	cr_assert(strstr(f.err, "UserKnownHostsFile=/home/someone/.profile"), "%s", f.err);
	cr_assert(strstr(f.err, "ssh adds host keys to that file"), "%s", f.err);
	cr_assert(strstr(f.err, "~/.ssh"), "%s", f.err);
	cr_assert(strstr(f.err, "DEPLOY_SSH_KNOWN_HOSTS"), "%s", f.err);

	/* the environment's file comes first, whatever it is */
	fx_load(&f, MINIMAL "[target]\nssh_options = StrictHostKeyChecking=accept-new, "
			    "UserKnownHostsFile=~/.ssh/known_hosts\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	setenv("DEPLOY_SSH_KNOWN_HOSTS", " /srv/deploy/known_hosts ", 1);
	config_apply_env(f.cfg);
	unsetenv("DEPLOY_SSH_KNOWN_HOSTS");
	cr_assert_eq(f.cfg->target.ssh_options.n, 3);
	cr_assert_str_eq(f.cfg->target.ssh_options.v[0],
			 "UserKnownHostsFile=/srv/deploy/known_hosts");
	cr_assert_str_eq(f.cfg->target.ssh_options.v[1], "StrictHostKeyChecking=accept-new");
	fx_release(&f);
}

Test(config, health_message_names_the_kinds)
{
	struct fx f = {0};

	fx_load(&f, MINIMAL "health = http http://127.0.0.1/\n");
	expect_error(&f, 5, "service web", "health");
	cr_assert(strstr(f.err, "unknown kind 'http'; use http-get, http-head, tcp or cmd"), "%s",
		  f.err);
	fx_release(&f);
}

Test(config, long_line_rejected_nothing_half_parsed)
{
	struct fx f = {0};
	struct buf b = {0};
	_cleanup_free_ char *want = NULL;

	buf_printf(&b, MINIMAL "build = echo ");
	for (int i = 0; i < 190; i++)
		buf_append(&b, "x", 1);
	buf_printf(&b, "\n[service api]\nrole = api\n");
	fx_load(&f, b.data);
	want = xasprintf("%s:5: line longer than 200 characters (inih's limit); shorten it or "
			 "split a list over repeated keys",
			 f.path);
	cr_assert_eq(f.r, SL_EUSAGE);
	cr_assert_null(f.cfg);
	cr_assert_str_eq(f.err, want);

	/* 198 characters fit. */
	buf_free(&b);
	buf_printf(&b, MINIMAL "build = ");
	for (int i = 0; i < 190; i++)
		buf_append(&b, "y", 1);
	buf_printf(&b, "\n");
	fx_load(&f, b.data);
	cr_assert_eq(f.r, 0, "a 198-character line must load: %s", f.err);
	cr_assert_eq(strlen(f.cfg->services[0].build.v[0]), 190);
	buf_free(&b);
	fx_release(&f);
}

Test(config, unknown_section_and_key)
{
	struct fx f = {0};

	fx_load(&f, MINIMAL "[deploy]\nx = 1\n");
	cr_assert_eq(f.r, SL_EUSAGE);
	cr_assert_null(f.cfg);
	cr_assert(str_startswith(f.err, f.path), "%s", f.err);
	cr_assert(strstr(f.err, ":5: [deploy]: unknown section;"), "%s", f.err);

	fx_load(&f, MINIMAL "[runtime podman]\n");
	cr_assert(strstr(f.err, ":5: [runtime podman]: unknown section;"), "%s", f.err);

	fx_load(&f, MINIMAL "[service]\n");
	cr_assert(strstr(f.err, ":5: [service]: a service needs a name;"), "%s", f.err);

	fx_load(&f, MINIMAL "[service Web]\nrole = web\n");
	cr_assert(strstr(f.err, ":5: [service Web]: invalid service name;"), "%s", f.err);

	fx_load(&f, MINIMAL "[target]\nchekout = /srv\n");
	expect_error(&f, 6, "target", "chekout");
	cr_assert(strstr(f.err, "did you mean 'checkout'?"), "%s", f.err);

	fx_load(&f, MINIMAL "[git]\nbuild = make\n");
	expect_error(&f, 6, "git", "build");
	cr_assert(strstr(f.err, "belongs in [runtime native]"), "%s", f.err);

	fx_load(&f, MINIMAL "[policy]\nfrobnicate = 1\n");
	expect_error(&f, 6, "policy", "frobnicate");
	cr_assert(strstr(f.err, "known keys in this section: edge_roles, on_failure"), "%s", f.err);

	fx_load(&f, "name = x\n" MINIMAL);
	cr_assert(strstr(f.err, ":1: name: key outside any section;"), "%s", f.err);

	fx_load(&f, MINIMAL "this line has no equals sign\n");
	cr_assert(strstr(f.err, ":5: syntax error"), "%s", f.err);
	cr_assert_null(f.cfg);
	fx_release(&f);
}

Test(config, duplicate_keys_and_services)
{
	struct fx f = {0};

	fx_load(&f, MINIMAL "[git]\nremote = a\nremote = b\n");
	expect_error(&f, 7, "git", "remote");
	cr_assert(strstr(f.err, "set twice (first on line 6)"), "%s", f.err);

	/* Duplicates across repeated section headers count too. */
	fx_load(&f, "[project]\nname = a\n[service web]\nrole = web\n[project]\nname = b\n");
	expect_error(&f, 6, "project", "name");

	fx_load(&f, MINIMAL "unit = a\nunit = b\n");
	expect_error(&f, 6, "service web", "unit");

	fx_load(&f, MINIMAL "[service web]\nrole = web\n");
	cr_assert(strstr(f.err, ":5: [service web]: defined twice (first on line 3)"), "%s", f.err);

	fx_load(&f, MINIMAL "[service api]\nrole = api\nunit = demo-web\n");
	cr_assert(strstr(f.err, ":7: [service api] unit: 'demo-web.service' is also the unit of "
				"service 'web'"),
		  "%s", f.err);
	fx_release(&f);
}

/* One service limit: whatever config_load accepts, the ledger can record an operation of
 * (a 33-service config used to pass `check` while every deploy failed with exit 4), and one
 * service more is refused when the config loads. */
Test(config, service_limit_is_the_ledgers)
{
	struct fx f = {0};
	struct ledger *lg = NULL;
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED, .actor = "t@h"};
	const char *names[LEDGER_MAX_SERVICES];
	_cleanup_free_ char *text = xstrdup("[project]\nname = demo\n[service web]\nrole = web\n");
	_cleanup_free_ char *dir = NULL, *over = NULL, *want = NULL;

	for (int i = 1; i < LEDGER_MAX_SERVICES; i++) {
		char *t = xasprintf("%s[service w%d]\nrole = worker\n", text, i);

		free(text);
		text = t;
	}
	fx_load(&f, text);
	cr_assert_eq(f.r, 0, "%d services load: %s", LEDGER_MAX_SERVICES, f.err);
	cr_assert_eq(f.cfg->nservices, LEDGER_MAX_SERVICES);
	for (size_t i = 0; i < f.cfg->nservices; i++)
		names[i] = f.cfg->services[i].name;
	ev.u.op_requested =
	    (struct ledger_op_requested){.kind = "deploy",
					 .mode = "main",
					 .ref = "main",
					 .commit = "",
					 .prev_commit = "",
					 .services = {(uint32_t)f.cfg->nservices, names},
					 .exec_mode = "local",
					 .config_digest = "d",
					 .reason = ""};
	dir = xasprintf("%s/ledger", f.dir);
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL), 0,
		     "the ledger records an operation of every service the config accepts: %s",
		     ledger_errmsg(lg));
	ledger_close(lg);

	over = xasprintf("%s[service one-more]\nrole = worker\n", text);
	fx_load(&f, over);
	cr_assert_eq(f.r, SL_EUSAGE);
	cr_assert_null(f.cfg);
	want = xasprintf(":%d: [service one-more]: more than %d services;",
			 2 * LEDGER_MAX_SERVICES + 3, LEDGER_MAX_SERVICES);
	cr_assert(strstr(f.err, want), "%s", f.err);
	fx_release(&f);
}

Test(config, whole_file_problems)
{
	struct fx f = {0};
	_cleanup_free_ char *want = NULL;

	fx_load(&f, "[project]\nname = demo\n");
	want = xasprintf("%s: no [service NAME] sections;", f.path);
	cr_assert(str_startswith(f.err, want), "%s", f.err);
	cr_assert_null(f.cfg);

	fx_load(&f, "[service web]\nrole = web\n");
	cr_assert(strstr(f.err, ": [project] name: missing;"), "%s", f.err);

	fx_load(&f, MINIMAL "[service api]\nunit = x\n");
	cr_assert(strstr(f.err, ":5: [service api] role: missing;"), "%s", f.err);

	f.err[0] = '\0';
	cr_assert_eq(config_load("/nonexistent/shiplog.conf", &f.cfg, f.err, sizeof(f.err)),
		     SL_EUSAGE);
	cr_assert(str_startswith(f.err, "/nonexistent/shiplog.conf: cannot read"), "%s", f.err);
	fx_release(&f);
}

Test(config, env_overrides)
{
	struct fx f = {0};
	const char *home = getenv("HOME");
	_cleanup_free_ char *key = NULL;

	fx_load(&f, "[project]\nname = demo\n[public]\napp_url = https://a.example/\n"
		    "[service web]\nrole = web\n[service ingest-options]\nrole = worker\n"
		    "[service api]\nrole = api\nunit = keep.service\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	setenv("DEPLOY_PUBLIC_APP_URL", "  https://b.example/ ", 1);
	setenv("DEPLOY_PUBLIC_API_HEALTH_URL", "https://b.example/api/health", 1);
	setenv("DEPLOY_GIT_REMOTE", " forgejo ", 1);
	setenv("DEPLOY_SSH_KEY_PATH", "~/.ssh/other", 1);
	setenv("DEPLOY_NATIVE_INGEST_OPTIONS_UNIT", " custom-ingest ", 1);
	setenv("DEPLOY_NATIVE_WEB_UNIT", "web-x.service", 1);
	setenv("DEPLOY_NATIVE_API_UNIT", "   ", 1); /* empty after trimming: unset */
	config_apply_env(f.cfg);
	key = xasprintf("%s/.ssh/other", home);
	cr_assert_str_eq(f.cfg->public_.app_url, "https://b.example/");
	cr_assert_str_eq(f.cfg->public_.api_health_url, "https://b.example/api/health");
	cr_assert_str_eq(f.cfg->git.remote, "forgejo");
	cr_assert_str_eq(f.cfg->target.ssh_key, key);
	cr_assert_str_eq(config_service(f.cfg, "ingest-options")->unit, "custom-ingest.service");
	cr_assert_str_eq(config_service(f.cfg, "web")->unit, "web-x.service");
	cr_assert_str_eq(config_service(f.cfg, "api")->unit, "keep.service");

	/* Empty values leave the config alone. */
	setenv("DEPLOY_PUBLIC_APP_URL", "", 1);
	setenv("DEPLOY_GIT_REMOTE", " ", 1);
	fx_load(&f, "[project]\nname = demo\n[public]\napp_url = https://a.example/\n"
		    "[service web]\nrole = web\n");
	unsetenv("DEPLOY_PUBLIC_API_HEALTH_URL");
	unsetenv("DEPLOY_SSH_KEY_PATH");
	config_apply_env(f.cfg);
	cr_assert_str_eq(f.cfg->public_.app_url, "https://a.example/");
	cr_assert_str_eq(f.cfg->git.remote, "auto");
	cr_assert_null(f.cfg->target.ssh_key);
	fx_release(&f);
}

Test(config, starter_text_loads)
{
	struct fx f = {0};
	const char *text = config_starter_text();
	static const char *const want[] = {
	    "web", "api", "compute", "candles", "ingest-options", "ingest-equities"};

	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		cr_assert(n <= 198, "starter line too long for inih: %.*s", (int)n, l);
		l += n + (nl ? 1 : 0);
	}
	fx_load(&f, text);
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_eq(f.cfg->nservices, ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		cr_assert_str_eq(f.cfg->services[i].name, want[i]);
	cr_assert_eq(f.cfg->services[0].role, ROLE_WEB);
	cr_assert_eq(f.cfg->services[1].role, ROLE_API);
	cr_assert_eq(f.cfg->services[5].role, ROLE_WORKER);
	cr_assert_eq(f.cfg->services[0].nhealth, 1);
	cr_assert_eq(f.cfg->services[1].nhealth, 1);
	fx_release(&f);
}

Test(config, find_walks_up)
{
	char *dir = tl_mkdtemp("find");
	_cleanup_free_ char *deep = xasprintf("%s/a/b/c", dir), *conf = NULL, *found = NULL;
	char real[PATH_MAX];

	cr_assert_eq(mkdir_p(deep, 0755), 0);
	cr_assert(realpath(dir, real));
	conf = xasprintf("%s/a/shiplog.conf", real);
	tl_write(conf, MINIMAL);
	cr_assert_eq(config_find(deep, &found), 0);
	cr_assert_str_eq(found, conf);
	unlink(conf);
	cr_assert_eq(config_find(deep, &found), -ENOENT);
	tl_rmrf(dir);
	free(dir);
}

Test(health_spec, parse_forms)
{
	struct health_spec h;
	char err[256];

	cr_assert_eq(health_spec_parse("http-get https://x.example/health", &h, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(h.kind, HEALTH_HTTP_GET);
	cr_assert_eq(h.expect_status, 0);
	cr_assert_str_eq(h.target, "https://x.example/health");
	health_spec_release(&h);

	cr_assert_eq(health_spec_parse("tcp [::1]:4222", &h, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(h.kind, HEALTH_TCP);
	cr_assert_str_eq(h.target, "[::1]:4222");
	health_spec_release(&h);

	cr_assert_eq(health_spec_parse("cmd redis-cli -p 6379 ping", &h, err, sizeof(err)), 0);
	cr_assert_eq(h.argv.n, 4);
	cr_assert_str_eq(h.target, "redis-cli -p 6379 ping");
	health_spec_release(&h);

	/* Quotes group, nothing expands. */
	cr_assert_eq(health_spec_parse("cmd echo '$HOME' \"a \\\"b\\\" $(x)\" c\\ d ''", &h, err,
				       sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(h.argv.n, 5);
	cr_assert_str_eq(h.argv.v[1], "$HOME");
	cr_assert_str_eq(h.argv.v[2], "a \"b\" $(x)");
	cr_assert_str_eq(h.argv.v[3], "c d");
	cr_assert_str_eq(h.argv.v[4], "");
	health_spec_release(&h);

	cr_assert_eq(health_spec_parse("cmd a \"b", &h, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "unterminated double quote"), "%s", err);
	cr_assert_eq(health_spec_parse("", &h, err, sizeof(err)), -EINVAL);
	cr_assert_eq(health_spec_parse("http-get http://x/\n", &h, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(health_kind_name(HEALTH_HTTP_HEAD), "http-head");
	cr_assert_str_eq(role_name(ROLE_WORKER), "worker");
}

/* ---- shiplog init, through the real binary ------------------------------------------------ */

Test(init, writes_a_loadable_starter_and_refuses_to_overwrite)
{
	char *dir = tl_mkdtemp("init");
	_cleanup_free_ char *proj = xasprintf("%s/shop-app", dir), *path = NULL, *text = NULL;
	struct config *cfg = NULL;
	struct tl_run r;
	struct stat st;
	char err[512];

	cr_assert_eq(access(SHIPLOG_BINARY, X_OK), 0, "the shiplog binary '%s' is not built",
		     SHIPLOG_BINARY);
	cr_assert_eq(mkdir_p(proj, 0755), 0);
	path = xasprintf("%s/shiplog.conf", proj);
	tl_shiplog(&r, proj, NULL, "init", NULL);
	cr_assert_eq(r.exit_code, 0, "init failed: %s", r.err);
	cr_assert(strstr(r.out, "wrote "), "%s", r.out);
	cr_assert(strstr(r.out, "next steps"), "%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(config_load(path, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg->project, "shop-app", "named after its directory");
	cr_assert_str_eq(cfg->services[0].unit, "shop-app-web.service");
	config_free(cfg);

	tl_write(path, "# mine\n");
	tl_shiplog(&r, proj, NULL, "init", NULL);
	cr_assert_eq(r.exit_code, 2, "overwriting needs --force");
	cr_assert(strstr(r.err, "already exists"), "%s", r.err);
	tl_run_release(&r);
	text = tl_read(path);
	cr_assert_str_eq(text, "# mine\n", "the file is untouched");

	tl_shiplog(&r, proj, NULL, "init", "--force", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	free(text);
	text = tl_read(path);
	cr_assert(strstr(text, "[service ingest-equities]"));

	/* An explicit PATH, and too many arguments. */
	tl_shiplog(&r, dir, NULL, "init", "other.conf", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	free(path);
	path = xasprintf("%s/other.conf", dir);
	cr_assert_eq(stat(path, &st), 0);
	tl_shiplog(&r, dir, NULL, "init", "a", "b", NULL);
	cr_assert_eq(r.exit_code, 2);
	tl_run_release(&r);
	tl_rmrf(dir);
	free(dir);
}

Test(config, hooks_and_service_environment)
{
	struct fx f = {0};
	const struct service *w;
	struct strv argv = {0};
	char err[256];
	bool shell;

	fx_load(&f, MINIMAL "env_file = conf/web.env\n"
			    "env = NODE_ENV=production\n"
			    "env = DATABASE_URL=postgres://u:p@db/app?x=1\n"
			    "before_restart = [\"bin/migrate\", \"up\"]\n"
			    "after_rollback = bin/notify \"rolled back\" && true\n"
			    "[hooks]\n"
			    "after_verify = curl -fsS http://127.0.0.1/warm\n"
			    "after_verify = [\"true\"]\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	w = config_service(f.cfg, "web");
	cr_assert_eq(w->env.n, 2);
	cr_assert_str_eq(w->env.v[1], "DATABASE_URL=postgres://u:p@db/app?x=1");
	cr_assert_str_eq(w->env_files.v[0], "conf/web.env");
	cr_assert_eq(w->hooks[HOOK_BEFORE_RESTART].n, 1);
	cr_assert_eq(w->hooks[HOOK_AFTER_ROLLBACK].n, 1);
	cr_assert_eq(f.cfg->hooks[HOOK_AFTER_VERIFY].n, 2);
	cr_assert_eq(
	    hook_parse(w->hooks[HOOK_BEFORE_RESTART].v[0], &argv, &shell, err, sizeof(err)), 0);
	cr_assert(!shell);
	cr_assert_eq(argv.n, 2);
	cr_assert_str_eq(argv.v[0], "bin/migrate");
	strv_free(&argv);
	cr_assert_eq(
	    hook_parse(w->hooks[HOOK_AFTER_ROLLBACK].v[0], &argv, &shell, err, sizeof(err)), 0);
	cr_assert(shell);
	cr_assert_str_eq(argv.v[0], "/bin/sh");
	cr_assert_str_eq(argv.v[2], "bin/notify \"rolled back\" && true");
	strv_free(&argv);

	fx_load(&f, MINIMAL "env = 1BAD=x\n");
	expect_error(&f, 5, "service web", "env");
	fx_load(&f, MINIMAL "env = NOVALUE\n");
	expect_error(&f, 5, "service web", "env");
	fx_load(&f, MINIMAL "before_restart = [\"bin/migrate\", 3]\n");
	expect_error(&f, 5, "service web", "before_restart");
	fx_load(&f, MINIMAL "[hooks]\nafter_verify = [\"unterminated\"\n");
	expect_error(&f, 6, "hooks", "after_verify");
	fx_release(&f);
}

/* [soak]: the verdict's thresholds, checked like every key; error_pattern replaces the default
 * and must compile. */
Test(config, soak_thresholds_and_patterns)
{
	struct fx f = {0};

	fx_load(&f, MINIMAL);
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_eq(f.cfg->soak.max_restarts, 0);
	cr_assert_eq(f.cfg->soak.max_memory_growth_pct, 0);
	cr_assert_eq(f.cfg->soak.log_lines, 20);
	cr_assert_eq(f.cfg->soak.error_patterns.n, 1);
	cr_assert_eq(f.cfg->soak.every_ns, 10000000000LL);
	cr_assert_eq(f.cfg->soak.duration_ns, 3600000000000LL);
	fx_load(&f,
		MINIMAL "[soak]\nmax_restarts = 2\nmax_not_active = 1\nmax_error_lines = 3\n"
			"max_memory_growth = 50%\nerror_pattern = crash(ed|ing)\n"
			"error_pattern = panic\nlog_lines = 5\nevery = 300ms\nduration = 90s\n");
	cr_assert_eq(f.r, 0, "%s", f.err);
	cr_assert_eq(f.cfg->soak.max_restarts, 2);
	cr_assert_eq(f.cfg->soak.max_not_active, 1);
	cr_assert_eq(f.cfg->soak.max_error_lines, 3);
	cr_assert_eq(f.cfg->soak.max_memory_growth_pct, 50);
	cr_assert_eq(f.cfg->soak.log_lines, 5);
	cr_assert_eq(f.cfg->soak.error_patterns.n, 2);
	cr_assert_str_eq(f.cfg->soak.error_patterns.v[0], "crash(ed|ing)");
	cr_assert_eq(f.cfg->soak.every_ns, 300000000LL);
	cr_assert_eq(f.cfg->soak.duration_ns, 90000000000LL);
	fx_load(&f, MINIMAL "[soak]\nevery = 0s\n");
	expect_error(&f, 6, "soak", "every");
	fx_load(&f, MINIMAL "[soak]\nduration = soon\n");
	expect_error(&f, 6, "soak", "duration");
	fx_load(&f, MINIMAL "[soak]\nmax_restarts = many\n");
	expect_error(&f, 6, "soak", "max_restarts");
	fx_load(&f, MINIMAL "[soak]\nmax_memory_growth = 50\n");
	expect_error(&f, 6, "soak", "max_memory_growth");
	fx_load(&f, MINIMAL "[soak]\nerror_pattern = (unclosed\n");
	expect_error(&f, 6, "soak", "error_pattern");
	fx_release(&f);
}
