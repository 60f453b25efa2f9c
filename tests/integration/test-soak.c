/* SPDX-License-Identifier: MIT */
/* Soak windows against the real manager: samples land in the ledger, the report names what ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

/* Whether a unit.observed of service with a restart count above 0 is in the ledger. */
static bool restart_observed(struct sample *s, const char *service)
{
	struct tl_run r;
	char want[128];
	bool seen = false;

	snprintf(want, sizeof(want), "\"service\":\"%s\"", service);
	sample_shiplog(s, &r, NULL, "ledger", "export", NULL);
	for (char *line = r.out; line && *line && !seen;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		seen = strstr(line, "\"unit.observed\"") && strstr(line, want) &&
		       !strstr(line, "\"restarts\":0,");
		line = nl ? nl + 1 : NULL;
	}
	tl_run_release(&r);
	return seen;
}

/* A deploy in the middle of a window: what the sampler saw of the units it restarted (not
 * active for a moment, new pids) is the deploy's, set aside and named, and the window passes
 * with thresholds of 0; then a real crash, after the deploy, still fails it. */
Test(soak, samples_units_and_reports_the_window)
{
	struct sample s;
	struct tl_run r;
	int n;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	sample_setup(&s, "soak", true);
	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "after-cutover", "--workers-only",
		       "--every", "200ms", "--for", "30s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	/* a second soak while one runs is refused */
	sample_shiplog(&s, &r, NULL, "soak", "start", NULL);
	cr_assert_eq(r.exit_code, 3, "%s\n%s", r.out, r.err);
	tl_run_release(&r);

	sample_commit(&s, NULL, "echo x >> NOTES", "during the soak");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	n = sample_count_events(&s, "unit.observed");
	for (int i = 0; i < 50 && sample_count_events(&s, "unit.observed") < n + 8; i++)
		usleep(100000);
	/* the open window so far: [soak] thresholds are 0 restarts, 0 not active */
	sample_shiplog(&s, &r, NULL, "soak", "report", "--name", "after-cutover", NULL);
	cr_assert_eq(r.exit_code, 0, "the deploy failed the window:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "compute") && strstr(r.out, "SAMPLES"), "%s", r.out);
	cr_assert(strstr(r.out, "deploy requested"), "the deploy in the window is not listed:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "\noperation spans ") && strstr(r.out, " deploy of compute, "),
		  "the deploy's span is not shown:\n%s", r.out);
	cr_assert(strstr(r.out, "    compute: set aside during operation ") &&
		      strstr(r.out, " (deploy): ") && strstr(r.out, "1 new pid"),
		  "the verdict does not name the deploy's samples:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--name", "after-cutover", "--json", NULL);
	cr_assert(strstr(r.out, "\"during_operations\":{") && strstr(r.out, "\"pids\":1") &&
		      strstr(r.out, "\"operation_spans\":[{") &&
		      strstr(r.out, "\"kind\":\"deploy\""),
		  "%s", r.out);
	tl_run_release(&r);

	/* a crash after the deploy is the service's own */
	cr_assert_eq(tl_sh("kill -9 %u", sample_main_pid(&s, "compute")), 0);
	for (int i = 0; i < 100 && !restart_observed(&s, "compute"); i++)
		usleep(100000);
	sample_shiplog(&s, &r, NULL, "soak", "stop", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--name", "after-cutover", NULL);
	cr_assert_eq(r.exit_code, 1, "a crash outside the deploy does not fail:\n%s\n%s", r.out,
		     r.err);
	cr_assert(strstr(r.out, "    compute: 1 restart (at most 0)") &&
		      strstr(r.out, "  compute          FAIL") &&
		      strstr(r.out, "  candles          pass"),
		  "wrong verdict:\n%s", r.out);
	cr_assert(!strstr(r.out, "(running)"), "stopped soak still shown running:\n%s", r.out);
	{
		/* the crash's restart is named at the time systemd started the unit again, to the
		 * second, as the service's own; the deploy's new process as set aside */
		_cleanup_free_ char *path = xasprintf("%s/started", s.dir), *when = NULL,
				    *want = NULL;
		const char *line;

		cr_assert_eq(tl_sh("date -u -d \"$(systemctl --user show -P "
				   "ExecMainStartTimestamp %s-compute.service)\" "
				   "+%%Y-%%m-%%dT%%H:%%M:%%S > '%s'",
				   s.project, path),
			     0);
		when = tl_read(path);
		when[strcspn(when, "\n")] = '\0';
		want = xasprintf("  compute          native  %s.", when);
		line = strstr(r.out, want);
		cr_assert(strstr(r.out, "\nrestarts and new processes (when the runtime started "
					"them):\n") &&
			      line && strstr(line, "Z restart\n") == strchr(line + 1, 'Z'),
			  "the restart is not named at systemd's start time %s:\n%s", when, r.out);
		cr_assert(strstr(r.out, "Z new process, during operation "),
			  "the deploy's new process is not set aside:\n%s", r.out);
	}
	tl_run_release(&r);
	cr_assert_geq(sample_count_events(&s, "unit.observed"), 8, "too few samples recorded");
	cr_assert_eq(sample_count_events(&s, "soak.stopped"), 1);
	sample_teardown(&s);
}

/* The sampler is a transient unit of the manager, not a child of the command: it runs after
 * `soak start` returned, and ends by itself at --for with soak.stopped. */
Test(soak, sampler_is_a_unit_that_ends_at_for)
{
	struct sample s;
	struct tl_run r;
	char unit[256] = "", *nl;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	sample_setup(&s, "soakfor", true);
	sample_shiplog(&s, &r, NULL, "soak", "start", "--pieces", "compute", "--every", "200ms",
		       "--for", "2s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	nl = strstr(r.out, "sampler unit ");
	cr_assert(nl, "no unit named:\n%s", r.out);
	strlcpy_(unit, nl + 13, sizeof(unit));
	unit[strcspn(unit, "\n")] = '\0';
	tl_run_release(&r);
	cr_assert_eq(tl_sh("systemctl --user is-active --quiet '%s'", unit), 0,
		     "sampler unit %s is not active", unit);
	for (int i = 0; i < 60 && sample_count_events(&s, "soak.stopped") == 0; i++)
		usleep(100000);
	cr_assert_eq(sample_count_events(&s, "soak.stopped"), 1, "the soak did not end at --for");
	cr_assert_geq(sample_count_events(&s, "unit.observed"), 5);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--json", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "\"running\":false") && strstr(r.out, "\"runtime\":\"native\""),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\"overall\":\"pass\""), "a healthy unit does not pass:\n%s",
		  r.out);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "soak.verdict"), 1);
	sample_teardown(&s);
}

/* A unit made to crash: its restarts and the error lines it logged (a configured pattern) are
 * in the report, its journal lines shown, and the verdict fails for it alone; it is recorded
 * once, as soak.verdict. */
Test(soak, a_crashing_unit_fails_the_verdict_with_its_journal_lines)
{
	struct sample s;
	struct tl_run r;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	TL_REQUIRE(getenv("SHIPLOG_TEST_JOURNAL") && getenv("SHIPLOG_JOURNAL_DIR"),
		   "a private journald");
	char *orig_conf;

	sample_setup(&s, "soakcrash", false);
	/* units that write to the journal: no log_dir */
	orig_conf = s.conf;
	s.conf = sample_alt_conf(&s, "journal", "runtime native", "log_dir = ");
	cr_assert_eq(tl_sh("printf '\\n[soak]\\nerror_pattern = crashing\\nlog_lines = 5\\n' >> "
			   "'%s'",
			   s.conf),
		     0);
	sample_shiplog(&s, &r, NULL, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("systemctl --user start %s-compute.service %s-candles.service",
			   s.project, s.project),
		     0);
	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "crashy", "--pieces",
		       "compute,candles", "--every", "200ms", "--for", "7s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("echo 'compute.crash_after = 0.5' >> '%s/app.conf' && systemctl --user "
			   "restart %s-compute.service",
			   s.checkout, s.project),
		     0);
	for (int i = 0; i < 120 && sample_count_events(&s, "soak.stopped") == 0; i++)
		usleep(100000);
	sample_shiplog(&s, &r, NULL, "soak", "report", NULL);
	cr_assert_eq(r.exit_code, 1, "a FAIL verdict exits 1:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "crashing: crash_after elapsed"), "no journal line:\n%s", r.out);
	cr_assert(strstr(r.out, "compute: ") && strstr(r.out, "restart"), "no restart reason:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "error line"), "no error lines:\n%s", r.out);
	cr_assert(strstr(r.out, "  candles          pass") &&
		      strstr(r.out, "  compute          FAIL") &&
		      strstr(r.out, "  overall          FAIL"),
		  "wrong verdict:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--json", NULL);
	cr_assert(strstr(r.out, "\"overall\":\"fail\""), "%s", r.out);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "soak.verdict"), 1, "the verdict is recorded once");
	/* audit --logs: the same journal lines beside the window's events */
	sample_shiplog(&s, &r, NULL, "audit", "--since", "10m", "--logs", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "soak 'crashy' verdict: FAIL") &&
		      strstr(r.out, "logs of compute (native): ") && strstr(r.out, "| ") &&
		      strstr(r.out, "crashing: crash_after elapsed"),
		  "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "\"type\":\"soak.verdict\"") && strstr(r.out, "\"pass\":false") &&
		      strstr(r.out, "compute=fail"),
		  "%s", r.out);
	tl_run_release(&r);
	free(s.conf);
	s.conf = orig_conf;
	sample_teardown(&s);
}

/* With no user manager to reach (a docker-only host), a soak of native units is refused with
 * the fix, and one of containers runs its sampler as a detached process under a supervisor
 * that starts it again when it dies; soak stop ends it and the window. Without a Docker engine
 * the samples say the engine did not answer: the sampler's life is what is tested here. */
Test(soak, without_a_manager_containers_are_sampled_by_a_supervised_process)
{
	char *const nomgr[] = {"XDG_RUNTIME_DIR=/nonexistent-shiplog",
			       "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent-shiplog/bus", NULL};
	struct sample s;
	struct tl_run r;
	int n;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager (for the sample)");
	sample_setup(&s, "soaknomgr", false);
	sample_shiplog(&s, &r, nomgr, "soak", "start", "--pieces", "compute", NULL);
	cr_assert_eq(r.exit_code, 4, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.err, "compute are native units") && strstr(r.err, "enable-linger") &&
		      strstr(r.err, "--runtime docker"),
		  "the refusal does not name the fix:\n%s", r.err);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "soak.started"), 0, "a refused soak left a window");

	sample_shiplog(&s, &r, nomgr, "soak", "start", "--name", "detached", "--pieces", "compute",
		       "--runtime", "docker", "--every", "200ms", "--for", "30s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "sampled by a detached process"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, nomgr, "soak", "start", NULL);
	cr_assert_eq(r.exit_code, 3, "a second soak is not refused:\n%s\n%s", r.out, r.err);
	tl_run_release(&r);
	for (int i = 0; i < 100 && sample_count_events(&s, "unit.observed") < 2; i++)
		usleep(100000);
	/* the sampler killed: its supervisor starts it again */
	cr_assert_eq(tl_sh("kill -9 $(pgrep -P $(cat '%s/soak.pid'))", s.ledger), 0);
	n = sample_count_events(&s, "unit.observed");
	for (int i = 0; i < 100 && sample_count_events(&s, "unit.observed") < n + 2; i++)
		usleep(100000);
	cr_assert_geq(sample_count_events(&s, "unit.observed"), n + 2,
		      "the killed sampler was not started again");
	sample_shiplog(&s, &r, nomgr, "soak", "status", NULL);
	cr_assert(strstr(r.out, "(running)") && strstr(r.out, "a detached process"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, nomgr, "soak", "stop", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(sample_count_events(&s, "soak.stopped"), 1);
	cr_assert_neq(tl_sh("test -e '%s/soak.pid'", s.ledger), 0, "the pid file is left");
	sample_shiplog(&s, &r, nomgr, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "sampled by a detached process"), "not recorded:\n%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* ---- docker ------------------------------------------------------------------------------ */

static struct sample dk_current;
static bool dk_have;

static void dk_teardown(struct sample *s)
{
	dk_have = false;
	if (!s->dir)
		return;
	tl_sh("ids=$(docker ps -aq --filter label=com.docker.compose.project=%s-vps); "
	      "[ -n \"$ids\" ] && docker rm -f $ids >/dev/null 2>&1; "
	      "docker network rm %s-vps_default %s-vps-default >/dev/null 2>&1; "
	      "imgs=$(docker image ls -q --filter 'reference=%s-vps-*'); "
	      "[ -n \"$imgs\" ] && docker rmi -f $imgs >/dev/null 2>&1; true",
	      s->project, s->project, s->project, s->project);
	sample_teardown(s);
}

static void soak_fini(void)
{
	if (dk_have)
		dk_teardown(&dk_current);
}

TestSuite(soakdocker, .fini = soak_fini);

/* Issue 14's soak over both runtimes: a native worker and a container in one window, each
 * killed once (the unit's main pid, the container's); the unit's journal and the container's
 * docker logs are in the report, the verdict fails on the restarts (exit 1) and is recorded;
 * the container's id and memory are sampled (docker inspect, docker stats). show --logs has
 * what the container logged during its deploy. Then the container's service is cut over to
 * native inside a second window: the sampler follows it, the report splits it per runtime, and
 * its native part is compared with its docker window. Interval and length come from [soak]. */
Test(soakdocker, a_unit_and_a_container_killed_in_one_window_then_compared_across_runtimes)
{
	struct sample s;
	struct tl_run r;
	char snippet[1024], *orig_conf, *row;
	int n;

	TL_REQUIRE(tl_have_docker(), "a private Docker engine");
	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	TL_REQUIRE(getenv("SHIPLOG_TEST_JOURNAL") && getenv("SHIPLOG_JOURNAL_DIR"),
		   "a private journald");
	sample_setup(&s, "soakmix", false);
	dk_current = s;
	dk_have = true;
	snprintf(snippet, sizeof(snippet), "'%s/tools/add-docker-sample.sh' . '%s' %d >/dev/null",
		 SHIPLOG_SOURCE_DIR, s.project, s.port);
	sample_commit(&s, NULL, snippet, "docker sample");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s.checkout), 0);
	/* units that write to the journal; samples every 300ms */
	orig_conf = s.conf;
	s.conf = sample_alt_conf(&s, "journal", "runtime native", "log_dir = ");
	cr_assert_eq(
	    tl_sh("printf '\\n[soak]\\nevery = 300ms\\nduration = 60s\\n' >> '%s'", s.conf), 0);
	sample_shiplog(&s, &r, NULL, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	tl_run_release(&r);
	cr_assert_eq(tl_sh("systemctl --user start %s-compute.service", s.project), 0);
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--runtime", "docker", "--pieces", "candles",
		       NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);

	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "mixed", "--pieces",
		       "compute,candles", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "compute=native") && strstr(r.out, "candles=docker") &&
		      strstr(r.out, "every 0.3s"),
		  "%s", r.out);
	tl_run_release(&r);
	/* the first sample of each is the baseline; then one kill each */
	for (int i = 0; i < 100 && sample_count_events(&s, "unit.observed") < 2; i++)
		usleep(100000);
	cr_assert_eq(tl_sh("kill -9 %u", sample_main_pid(&s, "compute")), 0);
	cr_assert_eq(tl_sh("kill -9 $(docker inspect -f '{{.State.Pid}}' $(docker ps -q --filter "
			   "label=com.docker.compose.project=%s-vps --filter "
			   "label=com.docker.compose.service=candles))",
			   s.project),
		     0);
	for (int i = 0;
	     i < 100 && !(restart_observed(&s, "compute") && restart_observed(&s, "candles")); i++)
		usleep(100000);
	sample_shiplog(&s, &r, NULL, "soak", "stop", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", NULL);
	cr_assert_eq(r.exit_code, 1, "a FAIL verdict exits 1:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "logs of compute (native): ") &&
		      strstr(r.out, "sampleapp[compute]: start service=compute") &&
		      strstr(r.out, "logs of candles (docker): ") &&
		      strstr(r.out, "app[candles]: start service=candles"),
		  "the logs are not in the report:\n%s", r.out);
	cr_assert(strstr(r.out, "    compute: 1 restart") &&
		      strstr(r.out, "    candles: 1 restart"),
		  "the restarts are not the reasons:\n%s", r.out);
	cr_assert(strstr(r.out, "  compute          FAIL") &&
		      strstr(r.out, "  candles          FAIL") &&
		      strstr(r.out, "  overall          FAIL"),
		  "wrong verdict:\n%s", r.out);
	row = strstr(r.out, "\ncandles ");
	cr_assert(row && strstr(row, "MB") && strstr(row, "MB") < strchr(row + 1, '\n'),
		  "no memory read of the container:\n%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "\"type\":\"soak.verdict\"") && strstr(r.out, "compute=fail") &&
		      strstr(r.out, "candles=fail"),
		  "no verdict event:\n%s", r.out);
	cr_assert(strstr(r.out, "\"container\":\""), "no container id recorded");
	tl_run_release(&r);
	/* what the container logged during its deploy (operation 1) */
	sample_shiplog(&s, &r, NULL, "show", "1", "--logs", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "logs of candles (docker): ") &&
		      strstr(r.out, "app[candles]: start service=candles") &&
		      !strstr(r.out, "logs of compute"),
		  "show --logs:\n%s", r.out);
	tl_run_release(&r);

	/* candles is cut over to native inside a window: the sampler follows its owner, and the
	 * report shows its docker part and its native part apart, the cut-over's own samples
	 * set aside; the native part is compared with the docker window above */
	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "across", "--pieces", "candles",
		       NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "candles=docker"), "%s", r.out);
	tl_run_release(&r);
	n = sample_count_events(&s, "unit.observed");
	for (int i = 0; i < 100 && sample_count_events(&s, "unit.observed") < n + 2; i++)
		usleep(100000);
	sample_shiplog(&s, &r, NULL, "cutover", "candles", "--to", "native", "--without-soak",
		       NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	n = sample_count_events(&s, "unit.observed");
	for (int i = 0; i < 100 && sample_count_events(&s, "unit.observed") < n + 3; i++)
		usleep(100000);
	sample_shiplog(&s, &r, NULL, "soak", "stop", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", NULL);
	cr_assert_eq(r.exit_code, 0, "the cut-over failed the window:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "\ncandles          docker ") &&
		      strstr(r.out, "\ncandles          native "),
		  "no row per runtime:\n%s", r.out);
	cr_assert(
	    strstr(r.out, "candles: its owner changed in the window: sampled on docker to ") &&
		strstr(r.out, ", on native from "),
	    "the parts are not named:\n%s", r.out);
	cr_assert(strstr(r.out, "owner of candles: docker -> native at "),
		  "the owner change is not among the window's operations:\n%s", r.out);
	cr_assert(strstr(r.out, "logs of candles (docker): ") &&
		      strstr(r.out, "logs of candles (native): ") &&
		      strstr(r.out, "sampleapp[candles]: start service=candles"),
		  "the logs of each part are not read from its runtime:\n%s", r.out);
	cr_assert(strstr(r.out, " (cutover): "), "the cut-over's samples are not set aside:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "compared with the previous window on the other runtime:") &&
		      strstr(r.out, "  candles: native 0.0 restarts/h") &&
		      strstr(r.out, " vs docker "),
		  "no comparison with the docker window:\n%s", r.out);
	cr_assert(strstr(r.out, "  candles          pass"), "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "soak", "report", "--json", NULL);
	cr_assert(strstr(r.out, "\"split\":true") && strstr(r.out, "\"runtime\":\"docker\"") &&
		      strstr(r.out, "\"runtime\":\"native\""),
		  "%s", r.out);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "ledger", "export", NULL);
	cr_assert(strstr(r.out, "candles=pass"), "one verdict for the service:\n%s", r.out);
	tl_run_release(&r);
	free(s.conf);
	s.conf = orig_conf;
	dk_teardown(&s);
}
