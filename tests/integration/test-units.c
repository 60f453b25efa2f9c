/* SPDX-License-Identifier: MIT */
/* `shiplog units` against a real private systemd user manager (tools/test.sh starts it): the six
 * templates render, install without starting anything, pass systemd-analyze, and the installed
 * units ACTUALLY START and serve the checkout's commit (the reference only syntax-checked its
 * units, and its web unit never started). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "util.h"

static const char *const services[] = {
    "web", "api", "compute", "candles", "ingest-options", "ingest-equities"};
static const char *const workers[] = {"compute", "candles", "ingest-options", "ingest-equities"};

/* One sample project per test, torn down by the suite's fini even when an assertion fails. */
static struct {
	char *dir; /* scratch dir holding origin.git, checkout, logs, beats */
	char *checkout;
	char *conf;
	char *project;
	char *unit_dir; /* $XDG_CONFIG_HOME/systemd/user */
	int port;	/* web; api is port + 1 */
} sr;

static bool port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Two consecutive free ports: take one the kernel hands out, check the next one too. */
static int free_port_pair(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0), port;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
		getsockname(fd, (struct sockaddr *)&a, &len);
		port = ntohs(a.sin_port);
		close(fd);
		if (port < 65535 && port_free(port) && port_free(port + 1))
			return port;
	}
	cr_assert_fail("no two consecutive free ports on 127.0.0.1");
	return 0;
}

static void sample_setup(const char *tag)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	cr_assert(xdg && *xdg, "tools/test.sh exports XDG_CONFIG_HOME");
	sr.dir = tl_mkdtemp("units");
	sr.project = xasprintf("ut%d%s", (int)getpid(), tag);
	sr.port = free_port_pair();
	cr_assert_eq(tl_sh("SHIPLOG_SAMPLEAPP='%s' '%s/tools/make-sample-repo.sh' '%s' '%s' %d "
			   ">/dev/null",
			   SAMPLEAPP_BINARY, SHIPLOG_SOURCE_DIR, sr.dir, sr.project, sr.port),
		     0, "make-sample-repo.sh failed");
	sr.checkout = xasprintf("%s/checkout", sr.dir);
	sr.conf = xasprintf("%s/shiplog.conf", sr.checkout);
	sr.unit_dir = xasprintf("%s/systemd/user", xdg);
}

static void sample_teardown(void)
{
	if (!sr.project)
		return;
	tl_sh("systemctl --user stop '%s-*.service' >/dev/null 2>&1", sr.project);
	tl_sh("systemctl --user reset-failed '%s-*.service' >/dev/null 2>&1", sr.project);
	tl_sh("rm -f '%s'/%s-*.service '%s'/*.wants/%s-*.service", sr.unit_dir, sr.project,
	      sr.unit_dir, sr.project);
	tl_sh("systemctl --user daemon-reload >/dev/null 2>&1");
	tl_rmrf(sr.dir);
}

TestSuite(units, .init = NULL, .fini = sample_teardown, .timeout = 90);

static char *unit_path(const char *svc)
{
	return xasprintf("%s/%s-%s.service", sr.unit_dir, sr.project, svc);
}

static char *unit_name(const char *svc)
{
	return xasprintf("%s-%s.service", sr.project, svc);
}

/* systemctl --user show -p PROP --value UNIT, trimmed. */
static char *unit_prop(const char *svc, const char *prop)
{
	_cleanup_free_ char *unit = unit_name(svc);
	_cleanup_free_ char *p = xasprintf("--property=%s", prop);
	char *argv[] = {"systemctl", "--user", "show", p, "--value", unit, NULL};
	struct tl_run r;
	char *v;

	tl_run(&r, NULL, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "systemctl show failed: %s", r.err);
	v = xstrdup(str_trim(r.out));
	tl_run_release(&r);
	return v;
}

static char *checkout_commit(void)
{
	char *argv[] = {"git", "-C", sr.checkout, "rev-parse", "HEAD", NULL};
	struct tl_run r;
	char *v;

	tl_run(&r, NULL, NULL, argv);
	cr_assert_eq(r.exit_code, 0);
	v = xstrdup(str_trim(r.out));
	tl_run_release(&r);
	cr_assert_eq(strlen(v), 40);
	return v;
}

static void edit_template(const char *svc, const char *from, const char *to)
{
	_cleanup_free_ char *path = xasprintf("%s/units/%s.service.in", sr.checkout, svc);
	_cleanup_free_ char *text = tl_read(path);
	char *hit;
	struct buf b = {0};

	cr_assert_not_null(text);
	hit = strstr(text, from);
	cr_assert_not_null(hit, "'%s' not in %s", from, path);
	buf_append(&b, text, (size_t)(hit - text));
	buf_append(&b, to, strlen(to));
	buf_printf(&b, "%s", hit + strlen(from));
	tl_write(path, b.data);
	buf_free(&b);
}

/* A minimal HTTP/1.1 GET; returns the status (0 when nothing answered) and the body. */
static int http_get(int port, const char *path, char **body)
{
	char *resp, *sep;
	int status = tl_http(port, "GET", path, 1, &resp);

	*body = NULL;
	if (!resp)
		return 0;
	sep = strstr(resp, "\r\n\r\n");
	*body = xstrdup(sep ? sep + 4 : "");
	free(resp);
	return status;
}

static void install_ok(const char *extra)
{
	struct tl_run r;

	if (extra)
		tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", "--enable", extra,
			   NULL);
	else
		tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "units install failed (%d): %s%s", r.exit_code, r.out, r.err);
	tl_run_release(&r);
}

Test(units, install_renders_six_units_and_starts_nothing)
{
	_cleanup_free_ char *commit = NULL;
	struct tl_run r;

	sample_setup("inst");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "units install: %s%s", r.out, r.err);
	cr_assert(strstr(r.out, sr.unit_dir), "prints the target directory: %s", r.out);
	cr_assert(strstr(r.out, "nothing enabled"), "hints that nothing is enabled: %s", r.out);
	tl_run_release(&r);

	for (size_t i = 0; i < ELEMENTSOF(services); i++) {
		_cleanup_free_ char *path = unit_path(services[i]);
		_cleanup_free_ char *text = tl_read(path);
		_cleanup_free_ char *active = NULL, *load = NULL, *exec = NULL, *wd = NULL;
		_cleanup_free_ char *want = NULL;
		struct stat st;

		cr_assert_not_null(text, "%s was not installed", path);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0644, "%s has mode %o", path, st.st_mode & 07777);
		cr_assert_null(strstr(text, "@PROJECT@"), "unreplaced parameter in %s", path);
		/* No ordering on system targets: the user manager cannot see them. */
		cr_assert_null(strstr(text, "\nWants="), "%s", path);
		for (const char *a = strstr(text, "\nAfter="); a; a = strstr(a + 1, "\nAfter="))
			cr_assert(strncmp(a, "\nAfter=network", 15) != 0, "%s", path);
		want = xasprintf("ExecStart=%s/build/sampleapp %s\n", sr.checkout, services[i]);
		cr_assert(strstr(text, want), "%s lacks '%s'", path, want);
		free(want);
		want = xasprintf("StandardOutput=append:%s/logs/%s.log\n", sr.dir, services[i]);
		cr_assert(strstr(text, want), "%s lacks '%s'", path, want);

		load = unit_prop(services[i], "LoadState");
		active = unit_prop(services[i], "ActiveState");
		cr_assert_str_eq(load, "loaded", "%s: LoadState %s", services[i], load);
		cr_assert_str_eq(active, "inactive", "install started %s (%s)", services[i],
				 active);
		wd = unit_prop(services[i], "WorkingDirectory");
		cr_assert_str_eq(wd, sr.checkout);
	}

	/* Again: nothing changed, nothing written. */
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_null(strstr(r.out, "installed "), "a second install rewrote units: %s", r.out);
	cr_assert(strstr(r.out, "unchanged"), "%s", r.out);
	tl_run_release(&r);

	/* A changed template: only that unit is updated. */
	edit_template("api", "TimeoutStopSec=20", "TimeoutStopSec=21");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "--json", "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	{
		json_error_t je;
		json_t *o = json_loads(r.out, 0, &je), *u;
		size_t i, updated = 0;

		cr_assert_not_null(o, "install --json is not JSON: %s", r.out);
		cr_assert_eq(json_integer_value(json_object_get(o, "changed")), 1);
		json_array_foreach(json_object_get(o, "units"), i, u)
		{
			if (streq(json_string_value(json_object_get(u, "status")), "updated")) {
				updated++;
				cr_assert(strstr(json_string_value(json_object_get(u, "unit")),
						 "-api.service"));
			}
		}
		cr_assert_eq(updated, 1);
		json_decref(o);
	}
	tl_run_release(&r);
	commit = unit_prop("api", "TimeoutStopUSec");
	cr_assert_str_eq(commit, "21s", "the manager was not reloaded: TimeoutStopUSec=%s", commit);
}

Test(units, dry_run_writes_nothing)
{
	struct tl_run r;
	_cleanup_free_ char *path = NULL;

	sample_setup("dry");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", "--dry-run", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "would install"), "%s", r.out);
	tl_run_release(&r);
	path = unit_path("web");
	cr_assert_eq(access(path, F_OK), -1, "--dry-run wrote %s", path);
}

Test(units, verify_passes_on_the_six_templates)
{
	struct tl_run r;

	sample_setup("ver");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "verify", NULL);
	cr_assert_eq(r.exit_code, 0, "units verify (%d): %s%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.out, "6 units verified"), "%s", r.out);
	tl_run_release(&r);
}

Test(units, verify_fails_on_a_typo_in_a_key)
{
	struct tl_run r;

	sample_setup("typo");
	/* systemd-analyze exits 0 on an unknown key: only its warning shows the typo. */
	edit_template("web", "\nRestart=on-failure", "\nRestrat=on-failure");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "verify", NULL);
	cr_assert_eq(r.exit_code, 1, "verify passed a typo (%d): %s%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "Restrat"), "the finding is shown: %s", r.err);
	cr_assert(strstr(r.err, "units/web.service.in"), "names the template: %s", r.err);
	tl_run_release(&r);
}

Test(units, unknown_parameter_and_missing_exec_are_config_errors)
{
	struct tl_run r;
	_cleanup_free_ char *path = NULL, *conf = NULL;
	char *hit;

	sample_setup("bad");
	edit_template("compute", "SyslogIdentifier=@PROJECT@-@SERVICE@",
		      "SyslogIdentifier=@PROJECT@-@SERVCE@");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "compute.service.in") && strstr(r.err, "@SERVCE@"), "%s", r.err);
	tl_run_release(&r);
	/* Found before anything is written: not even the units before compute. */
	path = unit_path("web");
	cr_assert_eq(access(path, F_OK), -1, "a unit was written despite the error");
	edit_template("compute", "@SERVCE@", "@SERVICE@");

	conf = tl_read(sr.conf);
	hit = strstr(conf, "exec = build/sampleapp");
	cr_assert_not_null(hit);
	hit[0] = ';'; /* comment the key out */
	tl_write(sr.conf, conf);
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "exec"), "names the key: %s", r.err);
	tl_run_release(&r);
	cr_assert_eq(access(path, F_OK), -1);

	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", "--enable", "everything",
		   NULL);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "workers"), "lists the scopes: %s", r.err);
	tl_run_release(&r);
}

/* exec is needed only by a template that runs @EXEC@: templates that name their program need
 * no [runtime native] exec; one that still uses @EXEC@ is named with its line. */
Test(units, exec_is_required_only_by_templates_that_use_it)
{
	struct tl_run r;
	_cleanup_free_ char *conf = NULL, *path = NULL, *unit = NULL;
	char *hit;

	sample_setup("noexec");
	conf = tl_read(sr.conf);
	hit = strstr(conf, "exec = build/sampleapp");
	cr_assert_not_null(hit);
	hit[0] = ';'; /* no exec */
	tl_write(sr.conf, conf);
	for (size_t i = 0; i < ELEMENTSOF(services); i++)
		edit_template(services[i], "ExecStart=@EXEC@ @SERVICE@",
			      "ExecStart=@WORKDIR@/build/sampleapp @SERVICE@");
	/* compute still uses @EXEC@ in its ExecStart: that one is the error */
	edit_template("compute", "ExecStart=@WORKDIR@/build/sampleapp", "ExecStart=@EXEC@");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 2, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "compute.service.in:") && strstr(r.err, "@EXEC@") &&
		      strstr(r.err, "exec is not set"),
		  "names the template, its line and the key: %s", r.err);
	tl_run_release(&r);
	edit_template("compute", "ExecStart=@EXEC@", "ExecStart=@WORKDIR@/build/sampleapp");

	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "no template uses @EXEC@, yet: %s%s", r.out, r.err);
	tl_run_release(&r);
	path = unit_path("web");
	unit = tl_read(path);
	cr_assert(unit && strstr(unit, "/build/sampleapp web"), "%s", unit ? unit : "(none)");
}

Test(units, installed_units_actually_start)
{
	_cleanup_free_ char *commit = NULL;
	struct tl_run r;
	bool web_ok = false, api_ok = false;
	size_t beats_ok = 0;

	sample_setup("start");
	commit = checkout_commit();
	install_ok(NULL);
	cr_assert_eq(
	    tl_sh("systemctl --user start %s-web.service %s-api.service %s-compute.service "
		  "%s-candles.service %s-ingest-options.service "
		  "%s-ingest-equities.service",
		  sr.project, sr.project, sr.project, sr.project, sr.project, sr.project),
	    0, "systemctl --user start failed");

	/* Type=notify: the start job of web and api returned only after READY=1, so they listen. */
	for (int i = 0; i < 50 && !(web_ok && api_ok && beats_ok == ELEMENTSOF(workers)); i++) {
		char *body;

		if (!web_ok) {
			int st = http_get(sr.port, "/health", &body);
			web_ok =
			    st == 200 && strstr(body, commit) && strstr(body, "\"role\":\"web\"");
			free(body);
		}
		if (!api_ok) {
			int st = http_get(sr.port + 1, "/health", &body);
			api_ok =
			    st == 200 && strstr(body, commit) && strstr(body, "\"role\":\"api\"");
			free(body);
		}
		beats_ok = 0;
		for (size_t w = 0; w < ELEMENTSOF(workers); w++) {
			_cleanup_free_ char *p = xasprintf("%s/beats/%s.beat", sr.dir, workers[w]);
			_cleanup_free_ char *beat = tl_read(p);
			if (beat && str_startswith(beat, commit))
				beats_ok++;
		}
		if (!(web_ok && api_ok && beats_ok == ELEMENTSOF(workers)))
			usleep(100 * 1000);
	}
	cr_assert(web_ok, "web did not answer /health with commit %s", commit);
	cr_assert(api_ok, "api did not answer /health with commit %s", commit);
	cr_assert_eq(beats_ok, ELEMENTSOF(workers), "only %zu worker heartbeats carry %s", beats_ok,
		     commit);

	/* units list sees them running, with their main pids. */
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "--json", "units", "list", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	{
		size_t n = 0;
		for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
			json_error_t je;
			json_t *o = json_loads(line, 0, &je);

			cr_assert_not_null(o, "not JSON: %s", line);
			cr_assert_str_eq(json_string_value(json_object_get(o, "active_state")),
					 "active", "%s", line);
			cr_assert_gt(json_integer_value(json_object_get(o, "main_pid")), 0);
			json_decref(o);
			n++;
		}
		cr_assert_eq(n, ELEMENTSOF(services));
	}
	tl_run_release(&r);

	/* SIGINT (KillSignal=) stops them cleanly: inactive, not failed. */
	cr_assert_eq(tl_sh("systemctl --user stop '%s-*.service'", sr.project), 0);
	for (size_t i = 0; i < ELEMENTSOF(services); i++) {
		_cleanup_free_ char *active = unit_prop(services[i], "ActiveState");
		cr_assert_str_eq(active, "inactive", "%s after stop: %s", services[i], active);
	}
}

Test(units, enable_workers_links_them_and_starts_nothing)
{
	struct tl_run r;

	sample_setup("en");
	tl_shiplog(&r, NULL, NULL, "-c", sr.conf, "units", "install", "--enable", "workers", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "enabled scope 'workers'"), "%s", r.out);
	tl_run_release(&r);
	for (size_t i = 0; i < ELEMENTSOF(services); i++) {
		_cleanup_free_ char *link = xasprintf("%s/default.target.wants/%s-%s.service",
						      sr.unit_dir, sr.project, services[i]);
		_cleanup_free_ char *active = unit_prop(services[i], "ActiveState");
		_cleanup_free_ char *state = unit_prop(services[i], "UnitFileState");
		bool worker = !streq(services[i], "web") && !streq(services[i], "api");
		struct stat st;

		cr_assert_eq(lstat(link, &st) == 0, worker, "%s: wants link %s", services[i],
			     worker ? "missing" : "present");
		cr_assert_str_eq(state, worker ? "enabled" : "disabled", "%s", services[i]);
		cr_assert_str_eq(active, "inactive", "--enable started %s", services[i]);
	}
}

Test(units, unreachable_manager_is_an_environment_error)
{
	_cleanup_free_ char *dir = tl_mkdtemp("units-nobus");
	_cleanup_free_ char *rt = xasprintf("XDG_RUNTIME_DIR=%s/none", dir);
	_cleanup_free_ char *cfg = xasprintf("XDG_CONFIG_HOME=%s/config", dir);
	_cleanup_free_ char *conf = xasprintf("%s/shiplog.conf", dir);
	_cleanup_free_ char *installed = xasprintf("%s/config/systemd/user", dir);
	char *env[] = {rt, cfg, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent", NULL};
	struct tl_run r;

	tl_write(conf, "[project]\nname = nobus\n[target]\ncheckout = .\n[runtime native]\n"
		       "exec = build/app\n[service api]\nrole = api\n");
	tl_sh("mkdir -p '%s/units' && cp '%s/units/api.service.in' '%s/units/'", dir,
	      SHIPLOG_SOURCE_DIR, dir);
	tl_shiplog(&r, dir, env, "-c", conf, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 4, "(%d) %s%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "systemd --user"), "says how to start it: %s", r.err);
	tl_run_release(&r);
	cr_assert_eq(access(installed, F_OK), -1, "wrote units without a manager");
	tl_rmrf(dir);
}
