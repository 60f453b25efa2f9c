/* SPDX-License-Identifier: MIT */
/* src/bus.c against a real private systemd user manager (tools/test.sh starts it and exports
 * XDG_RUNTIME_DIR, XDG_CONFIG_HOME and SHIPLOG_TEST_USER_MANAGER=1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bus.h"
#include "testlib.h"
#include "util.h"

#define SEC INT64_C(1000000000)

/* Unit names unique to this test process, and cleaned up at its end. */
static struct strv made_units;
static char *unit_dir;

static char *unit_name(const char *tag)
{
	return xasprintf("shiplog-bt-%d-%s.service", (int)getpid(), tag);
}

static char *unit_write(const char *tag, const char *body)
{
	char *name = unit_name(tag);
	_cleanup_free_ char *path = xasprintf("%s/%s", unit_dir, name);

	tl_write(path, body);
	if (!strv_contains(&made_units, name))
		strv_push(&made_units, name);
	return name;
}

static struct bus *bus_open_or_fail(void)
{
	struct bus *b = NULL;
	int r = bus_open(&b, true);

	cr_assert(r == 0, "bus_open: %s", bus_errmsg(NULL));
	cr_assert(b);
	return b;
}

static void setup(void)
{
	if (!tl_have_user_manager())
		return;
	unit_dir = bus_user_unit_dir();
	cr_assert(unit_dir);
	mkdir_p(unit_dir, 0755);
}

/* Stops what the test started, removes its unit files and any enable symlinks. */
static void teardown(void)
{
	struct bus *b = NULL;

	if (!unit_dir || made_units.n == 0)
		goto out;
	if (bus_open(&b, true) == 0) {
		struct restart_job *jobs = xcalloc(made_units.n, sizeof(*jobs));

		for (size_t i = 0; i < made_units.n; i++)
			jobs[i].unit = made_units.v[i];
		bus_stop_units(b, jobs, made_units.n, mono_ns() + 10 * SEC, NULL);
		free(jobs);
	}
	for (size_t i = 0; i < made_units.n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", unit_dir, made_units.v[i]);
		_cleanup_free_ char *l =
		    xasprintf("%s/default.target.wants/%s", unit_dir, made_units.v[i]);

		unlink(p);
		unlink(l);
	}
	for (size_t i = 0; i < made_units.n; i++)
		tl_sh("systemctl --user reset-failed '%s' 2>/dev/null", made_units.v[i]);
	if (b) {
		bus_reload(b);
		bus_close(b);
	}
out:
	strv_free(&made_units);
	free(unit_dir);
	unit_dir = NULL;
}

TestSuite(bus, .init = setup, .fini = teardown, .timeout = 60);

static const char *const exec_unit_fmt = "[Unit]\n"
					 "StartLimitIntervalSec=0\n"
					 "[Service]\n"
					 "Type=exec\n"
					 "ExecStartPre=/bin/sleep 0.3\n"
					 "ExecStart=/bin/sleep %d\n";

static char *exec_unit(const char *tag, int sleep_s)
{
	_cleanup_free_ char *body = xasprintf(exec_unit_fmt, sleep_s);

	return unit_write(tag, body);
}

/* Polls the unit until it leaves the activating/active state or 3 s pass. */
static void props_settle(struct bus *b, const char *unit, struct unit_props *p)
{
	int64_t until = mono_ns() + 3 * SEC;

	for (;;) {
		cr_assert(bus_unit_props(b, unit, p) == 0, "%s", bus_errmsg(b));
		if ((!streq(p->active_state, "active") && !streq(p->active_state, "activating")) ||
		    p->n_restarts > 0 || mono_ns() > until)
			return;
		usleep(20000);
	}
}

Test(bus, restart_in_parallel)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job jobs[3] = {0};
	_cleanup_free_ char *u0 = exec_unit("par-a", 600);
	_cleanup_free_ char *u1 = exec_unit("par-b", 600);
	_cleanup_free_ char *u2 = exec_unit("par-c", 600);
	int64_t t0, wall;

	jobs[0].unit = u0;
	jobs[1].unit = u1;
	jobs[2].unit = u2;

	/* First run starts them. */
	cr_assert_eq(bus_restart_units(b, jobs, 3, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	for (int i = 0; i < 3; i++) {
		cr_assert_str_eq(jobs[i].result, "done");
		cr_assert_neq(jobs[i].pid_after, 0);
	}

	uint32_t first[3] = {jobs[0].pid_after, jobs[1].pid_after, jobs[2].pid_after};
	uint64_t started[3];

	t0 = mono_ns();
	cr_assert_eq(bus_restart_units(b, jobs, 3, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	wall = mono_ns() - t0;

	for (int i = 0; i < 3; i++) {
		struct unit_props p;

		cr_assert_str_eq(jobs[i].result, "done", "%s: %s", jobs[i].unit, jobs[i].result);
		cr_assert_eq(jobs[i].error, 0);
		cr_assert_eq(jobs[i].pid_before, first[i]);
		cr_assert_neq(jobs[i].pid_after, 0);
		cr_assert_neq(jobs[i].pid_after, jobs[i].pid_before, "MainPID did not change");
		cr_assert_geq(jobs[i].duration_ns, 300 * 1000000LL,
			      "the 0.3 s ExecStartPre was not waited for");
		cr_assert_leq(jobs[i].duration_ns, wall);

		cr_assert_eq(bus_unit_props(b, jobs[i].unit, &p), 0, "%s", bus_errmsg(b));
		cr_assert_str_eq(p.load_state, "loaded");
		cr_assert_str_eq(p.active_state, "active");
		cr_assert_str_eq(p.sub_state, "running");
		cr_assert_str_eq(p.result, "success");
		cr_assert_eq(p.main_pid, jobs[i].pid_after);
		cr_assert_eq(strlen(p.invocation_id), 32);
		cr_assert_neq(p.exec_main_start_us, 0);
		cr_assert(p.exec_main_start_us / 1000000 + 60 > (uint64_t)time(NULL),
			  "ExecMainStartTimestamp is not realtime µs");
		cr_assert(strstr(p.fragment_path, jobs[i].unit));
		cr_assert_not(p.need_daemon_reload);
		started[i] = p.exec_main_start_us;
	}
	/* In parallel, whatever the machine's load: one after another, each main process would
	 * start at least the 0.3 s ExecStartPre after the previous one; together, all three
	 * ExecStartPre overlap, so the three starts lie within 0.3 s. */
	uint64_t lo = started[0], hi = started[0];

	for (int i = 1; i < 3; i++) {
		lo = started[i] < lo ? started[i] : lo;
		hi = started[i] > hi ? started[i] : hi;
	}
	cr_assert_lt(hi - lo, 300000,
		     "the main processes started %llu ms apart (restarts took %lld ms)",
		     (unsigned long long)((hi - lo) / 1000), (long long)(wall / 1000000));
	bus_close(b);
}

Test(bus, missing_unit_fails_alone)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job jobs[3] = {0};
	_cleanup_free_ char *u0 = exec_unit("miss-a", 600);
	_cleanup_free_ char *missing = unit_name("does-not-exist");
	_cleanup_free_ char *u2 = exec_unit("miss-c", 600);
	int r;

	jobs[0].unit = u0;
	jobs[1].unit = missing;
	jobs[2].unit = u2;
	r = bus_restart_units(b, jobs, 3, mono_ns() + 20 * SEC, NULL);
	cr_assert_lt(r, 0);
	cr_assert_neq(r, -ETIMEDOUT);
	cr_assert_eq(r, jobs[1].error);
	cr_assert_lt(jobs[1].error, 0);
	cr_assert(strstr(jobs[1].errmsg, missing), "errmsg: %s", jobs[1].errmsg);
	cr_assert(strstr(jobs[1].errmsg, "not found"), "errmsg: %s", jobs[1].errmsg);
	cr_assert(strstr(bus_errmsg(b), missing));
	cr_assert_str_eq(jobs[0].result, "done");
	cr_assert_str_eq(jobs[2].result, "done");
	cr_assert_eq(jobs[0].error, 0);
	cr_assert_eq(jobs[2].error, 0);
	cr_assert_neq(jobs[0].pid_after, 0);
	cr_assert_neq(jobs[2].pid_after, 0);
	bus_close(b);
}

Test(bus, missing_binary_fails)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job job = {0};
	struct unit_props p;
	_cleanup_free_ char *u = unit_write("nobin", "[Unit]\nStartLimitIntervalSec=0\n"
						     "[Service]\nType=exec\n"
						     "ExecStart=/nonexistent/bin/daemon\n");

	job.unit = u;
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_str_eq(job.result, "failed");
	cr_assert_not(job.reset_start_limit);
	cr_assert_eq(job.pid_after, 0);
	cr_assert_eq(bus_unit_props(b, u, &p), 0);
	cr_assert_str_eq(p.active_state, "failed");
	cr_assert_str_eq(p.result, "exit-code");
	cr_assert_eq(p.exec_main_status, 203); /* EXIT_EXEC */
	bus_close(b);
}

Test(bus, simple_unit_done_but_dead)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job job = {0};
	struct unit_props p;
	_cleanup_free_ char *u = unit_write("simple", "[Unit]\nStartLimitIntervalSec=0\n"
						      "[Service]\nType=simple\n"
						      "ExecStart=/bin/sh -c 'exit 3'\n");

	job.unit = u;
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	/* The job proves nothing for Type=simple: it is "done" once the process forked. */
	cr_assert_str_eq(job.result, "done");
	props_settle(b, u, &p);
	cr_assert_str_eq(p.active_state, "failed", "active_state %s", p.active_state);
	cr_assert_str_eq(p.result, "exit-code");
	cr_assert_eq(p.exec_main_status, 3);
	cr_assert_eq(p.main_pid, 0);
	bus_close(b);
}

Test(bus, simple_unit_restart_loop_shows_in_props)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job job = {0};
	struct unit_props p;
	_cleanup_free_ char *u = unit_write("crashloop", "[Unit]\nStartLimitIntervalSec=0\n"
							 "[Service]\nType=simple\n"
							 "Restart=always\nRestartSec=50ms\n"
							 "ExecStart=/bin/sh -c 'exit 1'\n");

	job.unit = u;
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_str_eq(job.result, "done");
	props_settle(b, u, &p);
	cr_assert_gt(p.n_restarts, 0, "NRestarts %u, state %s/%s", p.n_restarts, p.active_state,
		     p.sub_state);
	bus_close(b);
}

Test(bus, start_limit_is_reset_once)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job job = {0};
	_cleanup_free_ char *u = unit_write("limit", "[Unit]\n"
						     "StartLimitIntervalSec=60\n"
						     "StartLimitBurst=2\n"
						     "[Service]\nType=exec\n"
						     "ExecStart=/bin/sleep 600\n");

	job.unit = u;
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
			     bus_errmsg(b));
		cr_assert_str_eq(job.result, "done");
		cr_assert_not(job.reset_start_limit, "start %d was reset", i + 1);
	}
	/* The third start within the interval trips StartLimitBurst=2. */
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert(job.reset_start_limit);
	cr_assert_str_eq(job.result, "done");
	cr_assert_neq(job.pid_after, 0);
	cr_assert_neq(job.pid_after, job.pid_before);
	bus_close(b);
}

Test(bus, deadline)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job jobs[2] = {0};
	_cleanup_free_ char *u = unit_write("notify", "[Unit]\nStartLimitIntervalSec=0\n"
						      "[Service]\nType=notify\n"
						      "TimeoutStartSec=60\n"
						      "ExecStart=/bin/sleep 600\n");
	_cleanup_free_ char *quick = exec_unit("quick", 600);
	int64_t t0 = mono_ns(), took;
	int r;

	jobs[0].unit = u;
	jobs[1].unit = quick;
	/* 3 s: room for the other (0.3 s) job on a loaded machine */
	r = bus_restart_units(b, jobs, 2, t0 + 3 * SEC, NULL);
	took = mono_ns() - t0;
	cr_assert_eq(r, -ETIMEDOUT, "r = %d", r);
	cr_assert_str_eq(jobs[0].result, "deadline");
	/* from queueing to the deadline: queueing itself may take a while on a loaded machine */
	cr_assert_geq(jobs[0].duration_ns, 3 * SEC / 2, "duration %lld ms",
		      (long long)(jobs[0].duration_ns / 1000000));
	cr_assert_str_eq(jobs[1].result, "done", "the other job is still waited for");
	cr_assert_geq(took, 3 * SEC - 10000000);
	cr_assert_lt(took, 6 * SEC, "waited %lld ms", (long long)(took / 1000000));
	cr_assert(strstr(bus_errmsg(b), "deadline"));
	bus_close(b);
}

Test(bus, props_of_missing_unit)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct unit_props p;
	_cleanup_free_ char *u = unit_name("never-written");

	cr_assert_eq(bus_unit_props(b, u, &p), 0, "%s", bus_errmsg(b));
	cr_assert_str_eq(p.load_state, "not-found");
	cr_assert_str_eq(p.active_state, "inactive");
	cr_assert_eq(p.main_pid, 0);
	cr_assert_str_empty(p.invocation_id);

	/* A name that is no unit name at all is an error with the manager's text. */
	cr_assert_lt(bus_unit_props(b, "no/such unit", &p), 0);
	cr_assert(strstr(bus_errmsg(b), "no/such unit"), "%s", bus_errmsg(b));
	bus_close(b);
}

static char *proc_cmdline(uint32_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%u/cmdline", pid);
	char *s = NULL;
	size_t n = 0;

	if (read_file(path, 4096, &s, &n) < 0)
		return NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	return s;
}

Test(bus, reload_picks_up_edit)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job job = {0};
	struct unit_props p;
	_cleanup_free_ char *u =
	    unit_write("edit", "[Unit]\nStartLimitIntervalSec=0\n"
			       "[Service]\nType=exec\nExecStart=/bin/sleep 601\n");
	_cleanup_free_ char *cmd1 = NULL, *cmd2 = NULL;
	char *again;

	job.unit = u;
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_str_eq(job.result, "done");
	cmd1 = proc_cmdline(job.pid_after);
	cr_assert(cmd1 && strstr(cmd1, "sleep 601"), "cmdline %s", cmd1);
	cr_assert_eq(bus_unit_props(b, u, &p), 0);
	cr_assert_not(p.need_daemon_reload);

	usleep(10000); /* a different mtime for the edit */
	again = unit_write("edit", "[Unit]\nStartLimitIntervalSec=0\n"
				   "[Service]\nType=exec\nExecStart=/bin/sleep 602\n");
	free(again);
	cr_assert_eq(bus_unit_props(b, u, &p), 0);
	cr_assert(p.need_daemon_reload, "NeedDaemonReload is not set after the edit");

	cr_assert_eq(bus_reload(b), 0, "%s", bus_errmsg(b));
	cr_assert_eq(bus_unit_props(b, u, &p), 0);
	cr_assert_not(p.need_daemon_reload);

	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_str_eq(job.result, "done");
	cmd2 = proc_cmdline(job.pid_after);
	cr_assert(cmd2 && strstr(cmd2, "sleep 602"), "cmdline %s", cmd2);
	bus_close(b);
}

Test(bus, enable_links_without_starting)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct unit_props p;
	struct stat st;
	_cleanup_free_ char *u =
	    unit_write("enable", "[Unit]\nStartLimitIntervalSec=0\n"
				 "[Service]\nType=exec\nExecStart=/bin/sleep 600\n"
				 "[Install]\nWantedBy=default.target\n");
	_cleanup_free_ char *link = xasprintf("%s/default.target.wants/%s", unit_dir, u);
	_cleanup_free_ char *missing = unit_name("enable-missing");
	char *units[1] = {u};
	char *bad[1] = {missing};

	cr_assert_neq(lstat(link, &st), 0);
	cr_assert_eq(bus_enable_units(b, units, 1), 0, "%s", bus_errmsg(b));
	cr_assert_eq(lstat(link, &st), 0, "no symlink at %s", link);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(bus_unit_props(b, u, &p), 0);
	cr_assert_str_eq(p.active_state, "inactive");
	cr_assert_eq(p.main_pid, 0);

	/* Enabling a unit file that does not exist fails with the manager's text. */
	cr_assert_lt(bus_enable_units(b, bad, 1), 0);
	cr_assert(strstr(bus_errmsg(b), missing), "%s", bus_errmsg(b));
	bus_close(b);
}

Test(bus, stop_units)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	struct bus *b = bus_open_or_fail();
	struct restart_job job = {0};
	struct unit_props p;
	_cleanup_free_ char *u = exec_unit("stop", 600);

	job.unit = u;
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_neq(job.pid_after, 0);
	cr_assert_eq(bus_stop_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_str_eq(job.result, "done");
	cr_assert_neq(job.pid_before, 0);
	cr_assert_eq(job.pid_after, 0);
	cr_assert_eq(bus_unit_props(b, u, &p), 0);
	cr_assert_str_eq(p.active_state, "inactive");
	bus_close(b);
}

/* Without a bus daemon at DBUS_SESSION_BUS_ADDRESS, bus_open falls back to the manager's own
 * socket, where signals carry no sender: job results must still arrive. */
Test(bus, private_socket_fallback)
{
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	_cleanup_free_ char *empty = tl_mkdtemp("bus-nobus");
	_cleanup_free_ char *addr = xasprintf("unix:path=%s/bus", empty);
	struct restart_job job = {0};
	_cleanup_free_ char *u = exec_unit("private", 600);
	struct bus *b;

	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	b = bus_open_or_fail();
	job.unit = u;
	cr_assert_eq(bus_restart_units(b, &job, 1, mono_ns() + 20 * SEC, NULL), 0, "%s",
		     bus_errmsg(b));
	cr_assert_str_eq(job.result, "done");
	cr_assert_geq(job.duration_ns, 300 * 1000000LL);
	cr_assert_neq(job.pid_after, 0);
	bus_close(b);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	tl_rmrf(empty);
}

/* Needs no manager: it is about the lack of one. */
Test(bus, open_fails_clearly)
{
	_cleanup_free_ char *empty = tl_mkdtemp("bus-empty");
	_cleanup_free_ char *want = NULL;
	struct bus *b = (struct bus *)&b;
	int r;

	setenv("XDG_RUNTIME_DIR", empty, 1);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	r = bus_open(&b, true);
	cr_assert_lt(r, 0);
	cr_assert_null(b);
	want = xasprintf("cannot reach the systemd user manager at '%s/bus': No such file or "
			 "directory",
			 empty);
	cr_assert(strstr(bus_errmsg(NULL), want), "message: %s", bus_errmsg(NULL));
	cr_assert(strstr(bus_errmsg(NULL), "systemd/private"), "%s", bus_errmsg(NULL));
	cr_assert(strstr(bus_errmsg(NULL), "is 'systemd --user' running"), "%s", bus_errmsg(NULL));
	cr_assert(strstr(bus_errmsg(NULL), "loginctl enable-linger"), "%s", bus_errmsg(NULL));

	unsetenv("XDG_RUNTIME_DIR");
	cr_assert_lt(bus_open(&b, true), 0);
	cr_assert(strstr(bus_errmsg(NULL), "XDG_RUNTIME_DIR is not set"), "%s", bus_errmsg(NULL));
	tl_rmrf(empty);
}

Test(bus, user_unit_dir)
{
	char *d;

	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	d = bus_user_unit_dir();
	cr_assert_str_eq(d, "/x/cfg/systemd/user");
	free(d);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/x/home", 1);
	d = bus_user_unit_dir();
	cr_assert_str_eq(d, "/x/home/.config/systemd/user");
	free(d);
}
