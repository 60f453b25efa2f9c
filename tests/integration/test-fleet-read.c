/* SPDX-License-Identifier: MIT */
/* Reads across the fleet's test hosts (tools/fleet-hosts.sh): status --all-hosts shows a fleet
 * whose hosts run different commits as mixed, and a host that went down as one row that says
 * why while the others are shown; --host passes one host's answer through; history
 * --all-hosts puts the host on every line; report --host NAME writes that host's page here; a
 * host never deployed is a row of its own, not a failed read; an answer over what --all-hosts
 * holds is withheld with how to read it whole, never shown cut. One deployed state serves every
 * case: each host at origin's main, then a new commit on h1 only; a fourth [host] is a second
 * checkout on h2 with a ledger of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "util.h"

static char *dir, *conf, *conf4, *commit_a, *commit_b;

static char *sh_out(const char *cmd)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct tl_run r;
	char *out;

	tl_run(&r, NULL, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "%s: %s", cmd, r.err);
	out = str_trim(r.out);
	r.out = NULL;
	tl_run_release(&r);
	return out;
}

/* Deploys origin's main on the hosts named (space-separated), at once, each by a plain ssh
 * login running its own shiplog. */
static void deploy_on(const char *hosts)
{
	cr_assert_eq(
	    tl_sh("cd '%s' && for h in %s; do (ssh -F \"$SHIPLOG_TEST_FLEET_SSH_CONFIG\" $h "
		  "'cd app && shiplog -q deploy main --edge-ready' >$h.log 2>&1 || "
		  "touch failed) & done; wait; ! [ -e failed ]",
		  dir, hosts),
	    0, "deploying on %s failed (logs in %s)", hosts, dir);
}

/* The controller: origin's shiplog.conf plus a [host hI] per test host. Its ledger and logs are
 * in its own scratch dir: origin's say ~/ (each host's home), which here would be this
 * machine's, shared by every lane. */
static void write_controller(void)
{
	FILE *f;

	dir = tl_mkdtemp("fleetread");
	cr_assert_eq(tl_sh("git clone -q \"$SHIPLOG_TEST_FLEET_ORIGIN\" '%s/c'", dir), 0);
	conf = xasprintf("%s/c/shiplog.conf", dir);
	cr_assert_eq(tl_sh("sed -i -e 's|^ledger = .*|ledger = %s/ledger|' -e 's|^log_dir = "
			   ".*|log_dir = %s/logs|' '%s' && grep -q '^ledger = %s/ledger$' '%s'",
			   dir, dir, conf, dir, conf),
		     0, "the controller's ledger is not in its scratch dir");
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f, "\n[target]\nssh_key = %s\n", getenv("SHIPLOG_TEST_FLEET_KEY"));
	for (int i = 1; i <= tl_fleet_count(); i++) {
		char name[16], *t;
		snprintf(name, sizeof(name), "h%d", i);
		t = tl_fleet_target(name);
		fprintf(f, "\n[host %s]\nssh = %s\ncheckout = %s/%s/app\n", name, t,
			getenv("SHIPLOG_TEST_FLEET_DIR"), name);
		free(t);
	}
	fclose(f);
	setenv("DEPLOY_SSH_KNOWN_HOSTS", getenv("SHIPLOG_TEST_FLEET_KNOWN_HOSTS"), 1);
}

/* Once for the file: every host at A (a new commit on origin's main), then B on h1 only. */
static void fleet_setup(void)
{
	int64_t t0 = mono_ns();

	write_controller();
	/* A is new: origin's main may be a commit another fleet test rolled back (quarantined) */
	cr_assert_eq(tl_sh("cd '%s/c' && git -c user.name=t -c user.email=t@t commit -q "
			   "--allow-empty -m A && git push -q origin HEAD:main",
			   dir),
		     0);
	deploy_on("h1 h2 h3");
	commit_a = sh_out("git --git-dir=\"$SHIPLOG_TEST_FLEET_ORIGIN\" rev-parse main");
	cr_assert_eq(tl_sh("cd '%s/c' && git -c user.name=t -c user.email=t@t commit -q "
			   "--allow-empty -m B && git push -q origin HEAD:main",
			   dir),
		     0);
	commit_b = sh_out("git --git-dir=\"$SHIPLOG_TEST_FLEET_ORIGIN\" rev-parse main");
	deploy_on("h1");
	fprintf(stderr, "fleet read setup: %.1f s\n", (double)(mono_ns() - t0) / 1e9);
}

static void fleet_teardown(void)
{
	if (dir && !getenv("SHIPLOG_TEST_KEEP"))
		tl_rmrf(dir);
	free(dir), free(conf), free(conf4), free(commit_a), free(commit_b);
}

static void controller(struct tl_run *r, const char *a1, const char *a2, const char *a3,
		       const char *a4)
{
	char *argv[] = {SHIPLOG_BINARY, "-c",	    conf,	(char *)a1,
			(char *)a2,	(char *)a3, (char *)a4, NULL};

	tl_run(r, dir, NULL, argv);
}

static void status_names_the_mixed_fleet(void)
{
	struct tl_run r;
	char want[128];

	controller(&r, "status", "--all-hosts", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "fleet: 3 hosts, 3 answered; MIXED"), "%s", r.out);
	snprintf(want, sizeof(want), "MIXED: web runs 2 commits:");
	cr_assert(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "%.12s on h1", commit_b);
	cr_assert(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "%.12s on h2, h3", commit_a);
	cr_assert(strstr(r.out, want), "%s", r.out);
	tl_run_release(&r);

	controller(&r, "--json", "status", "--all-hosts", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"mixed\":true"), "%s", r.out);
	cr_assert(strstr(r.out, "\"answered\":3"), "%s", r.out);
	tl_run_release(&r);
}

static void status_with_one_host_down(void)
{
	struct tl_run r;
	int64_t t0;

	cr_assert_eq(tl_fleet_ctl("down", "h3"), 0);
	t0 = mono_ns();
	controller(&r, "status", "--all-hosts", NULL, NULL);
	fprintf(stderr, "status --all-hosts, h3 down: %.2f s\n", (double)(mono_ns() - t0) / 1e9);
	cr_assert_eq(tl_fleet_ctl("up", "h3"), 0);
	cr_assert_eq(r.exit_code, 4, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "fleet: 3 hosts, 2 answered"), "%s", r.out);
	cr_assert(strstr(r.out, "h3    -                 (no answer: cannot reach"), "%s", r.out);
	cr_assert(strstr(r.out, "connection refused"), "%s", r.out);
	cr_assert(strstr(r.out, "h1    web"), "%s", r.out);
	cr_assert(strstr(r.out, "h2    web"), "%s", r.out);
	cr_assert(strstr(r.err, "1 of 3 hosts did not answer"), "%s", r.err);
	tl_run_release(&r);
}

static void host_passes_one_answer_and_history_gets_a_host_column(void)
{
	struct tl_run r;
	char *host_json = NULL;

	controller(&r, "--json", "history", "--host", "h2");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, commit_a), "%s", r.out);
	cr_assert_null(strstr(r.out, commit_b), "h2 never ran B: %s", r.out);
	cr_assert_null(strstr(r.out, "\"host\""), "--host passes the answer as it is");
	tl_run_release(&r);

	controller(&r, "history", "--all-hosts", "--limit", "1");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	for (int i = 1; i <= 3; i++) {
		char line[24];
		snprintf(line, sizeof(line), "\nh%d  ", i);
		cr_assert(strstr(r.out, line) || !strncmp(r.out, line + 1, 4), "no h%d: %s", i,
			  r.out);
	}
	tl_run_release(&r);

	controller(&r, "--json", "history", "--all-hosts", "--limit=1");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	host_json = xasprintf("\"host\":\"h1\"");
	cr_assert(strstr(r.out, host_json), "%s", r.out);
	free(host_json);
	tl_run_release(&r);

	controller(&r, "show", "1", "--all-hosts", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	tl_run_release(&r);
	controller(&r, "status", "--host", "nosuch", NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "no host 'nosuch'"), "%s", r.err);
	tl_run_release(&r);
}

/* report --host NAME -o FILE: the page of that host's ledger, built there, written here. */
static void report_of_one_host(void)
{
	struct tl_run r;
	char *path = xasprintf("%s/h1.html", dir), *page = NULL, b12[13], a12[13];
	size_t len = 0;

	snprintf(b12, sizeof(b12), "%.12s", commit_b);
	snprintf(a12, sizeof(a12), "%.12s", commit_a);
	controller(&r, "report", "--host", "h1", "-o");
	cr_assert_eq(r.exit_code, 2, "-o needs its FILE: %s", r.err);
	tl_run_release(&r);
	{
		char *argv[] = {SHIPLOG_BINARY, "-c", conf, "report", "--host",
				"h1",		"-o", path, NULL};
		tl_run(&r, dir, NULL, argv);
	}
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert_eq(r.out[0], '\0', "the page goes to the file, not stdout: %s", r.out);
	tl_run_release(&r);
	cr_assert_eq(read_file(path, 64 << 20, &page, &len), 0, "no page at %s", path);
	cr_assert(!strncmp(page, "<!DOCTYPE html>", 15), "%.80s", page);
	cr_assert(strstr(page, "</html>"), "the page is whole");
	cr_assert(strstr(page, b12), "h1 runs B (%s): not in its page", b12);
	free(page);

	controller(&r, "report", "--host", "h2", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, a12) && !strstr(r.out, b12), "h2's page shows A, never B");
	tl_run_release(&r);

	controller(&r, "report", "--all-hosts", NULL, NULL);
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	cr_assert(strstr(r.err, "use --host NAME"), "%s", r.err);
	tl_run_release(&r);
	free(path);
}

/* A fourth host: a second checkout on h2 (its own ledger, none yet), in a second controller
 * config (conf4). */
static void fresh_host(void)
{
	char *argv[] = {"ssh",
			"-F",
			getenv("SHIPLOG_TEST_FLEET_SSH_CONFIG"),
			"h2",
			"rm -rf ~/fresh ~/ledger-fresh && git clone -q ~/app ~/fresh && sed -i -e "
			"'s|^checkout = .*|checkout = ~/fresh|' -e 's|^ledger = .*|ledger = "
			"~/ledger-fresh|' ~/fresh/shiplog.conf",
			NULL};
	struct tl_run r;
	char *t = tl_fleet_target("h2");

	tl_run(&r, NULL, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_run_release(&r);
	conf4 = xasprintf("%s/c/shiplog4.conf", dir);
	cr_assert_eq(
	    tl_sh("cp '%s' '%s' && printf '\n[host fresh]\nssh = %s\ncheckout = %s/h2/fresh\n' "
		  ">>'%s'",
		  conf, conf4, t, getenv("SHIPLOG_TEST_FLEET_DIR"), conf4),
	    0);
	free(t);
}

static void controller4(struct tl_run *r, const char *a1, const char *a2, const char *a3,
			const char *a4)
{
	char *argv[] = {SHIPLOG_BINARY, "-c",	    conf4,	(char *)a1,
			(char *)a2,	(char *)a3, (char *)a4, NULL};

	tl_run(r, dir, NULL, argv);
}

/* A host whose shiplog has no ledger yet: "never deployed", an answer (exit 0), not a host
 * down. */
static void never_deployed_is_its_own_row(void)
{
	struct tl_run r;

	controller4(&r, "status", "--all-hosts", NULL, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "fleet: 4 hosts, 4 answered (1 never deployed); MIXED"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "fresh  -                 (never deployed: no ledger at '"), "%s",
		  r.out);
	cr_assert_null(strstr(r.out, "no answer"), "%s", r.out);
	tl_run_release(&r);

	controller4(&r, "--json", "status", "--all-hosts", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(
	    strstr(r.out, "\"host\":\"fresh\",\"state\":\"never-deployed\",\"answered\":true"),
	    "%s", r.out);
	cr_assert(strstr(r.out, "\"never_deployed\":1"), "%s", r.out);
	tl_run_release(&r);

	controller4(&r, "history", "--all-hosts", "--limit", "1");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "fresh  (never deployed: no ledger at '"), "%s", r.out);
	tl_run_release(&r);

	/* the host says it by its exit code (5), which --host passes on as it is */
	controller4(&r, "status", "--host", "fresh", NULL);
	cr_assert_eq(r.exit_code, 5, "%s%s", r.out, r.err);
	cr_assert(
	    strstr(r.err, "host fresh: never deployed: its shiplog has no ledger yet (exit 5)"),
	    "%s", r.err);
	tl_run_release(&r);
}

/* The fourth host's ledger gets 800 events of 2 KB (an import, on the host): its audit answer
 * is over 1 MiB. --all-hosts withholds it (exit 4, the fix named) and shows the others whole;
 * --host passes it whole. */
static void an_answer_too_big_is_withheld_not_cut(void)
{
	char *argv[] = {
	    "ssh",
	    "-F",
	    getenv("SHIPLOG_TEST_FLEET_SSH_CONFIG"),
	    "h2",
	    "pad=$(head -c 2000 /dev/zero | tr '\\0' x); now=$(date +%s%N); i=1; while [ $i -le "
	    "800 ]; do printf '{\"seq\":%d,\"version\":1,\"type\":\"soak.verdict\",\"time_ns\":%s,"
	    "\"op\":0,\"actor\":\"t@h\",\"name\":\"big\",\"pass\":false,\"reasons\":[\"%s\"]}\\n' "
	    "$i $now $pad; i=$((i+1)); done >~/big.jsonl && cd ~/fresh && shiplog -q ledger "
	    "import ~/big.jsonl",
	    NULL};
	struct tl_run r;

	tl_run(&r, NULL, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	tl_run_release(&r);

	controller4(&r, "audit", "--all-hosts", "--since", "1h");
	cr_assert_eq(r.exit_code, 4, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "fresh  (not shown: its answer is over the 1 MiB that --all-hosts "
				"holds per host"),
		  "%s", r.err);
	cr_assert(strstr(r.out, "read it whole with --host fresh"), "%.2000s", r.out);
	cr_assert_null(strstr(r.out, "earlier bytes dropped"), "a cut answer was shown");
	{
		size_t lines = 0;
		for (const char *q = r.out; (q = strstr(q, "fresh  ")); q++)
			lines++;
		cr_assert_eq(lines, 1, "one line for fresh, none of its cut answer: %zu", lines);
	}
	cr_assert(strstr(r.out, "\nh1  "), "the other hosts are shown: %.2000s", r.out);
	tl_run_release(&r);

	controller4(&r, "audit", "--host", "fresh", "--since=1h");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_gt(strlen(r.out), (size_t)1 << 20, "--host passes it whole");
	cr_assert_null(strstr(r.out, "earlier bytes dropped"));
	tl_run_release(&r);
}

/* One deployed state for every check: the setup is most of the cost. */
Test(fleet_read, reads_across_the_fleet)
{
	TL_REQUIRE(tl_have_fleet(), "the fleet's test hosts");
	fleet_setup();
	status_names_the_mixed_fleet();
	host_passes_one_answer_and_history_gets_a_host_column();
	report_of_one_host();
	fresh_host();
	never_deployed_is_its_own_row();
	an_answer_too_big_is_withheld_not_cut();
	status_with_one_host_down();
	fleet_teardown();
}
