/* SPDX-License-Identifier: MIT */
/* Why a unit failed (Result, exit status, its last lines of that invocation) and `shiplog logs`,
 * against the real user manager and, where tools/test.sh could start one, a real journald
 * (SHIPLOG_TEST_JOURNAL, SHIPLOG_JOURNAL_DIR: see start_journald in tools/lib.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "util.h"

static char *const edge_ok[] = {"DEPLOY_NATIVE_EDGE_READY=1", NULL};

#define REQUIRE_MANAGER() TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager")
#define REQUIRE_JOURNAL()                                                                          \
	TL_REQUIRE(getenv("SHIPLOG_TEST_JOURNAL") && getenv("SHIPLOG_JOURNAL_DIR"),                \
		   "a private systemd-journald (start_journald in tools/lib.sh)")

/* The "  | " lines printed after "<unit>: result ...; its last lines:" (malloc'd). */
static char *failure_lines(const char *out, const char *unit)
{
	_cleanup_free_ char *marker = xasprintf("%s: result", unit);
	const char *p = strstr(out, marker);
	struct buf b = {0};

	if (!p)
		return xstrdup("");
	p = strchr(p, '\n');
	while (p && strstr(p + 1, "  | ") && strchr(p + 1, '\n') &&
	       strstr(p + 1, "  | ") < strchr(p + 1, '\n')) {
		const char *e = strchr(p + 1, '\n');
		buf_append(&b, p + 1, (size_t)(e - p));
		p = e;
	}
	return b.data ? b.data : xstrdup("");
}

/* web is Type=notify: a crash before READY=1 fails its restart job. Today's message was only
 * "restart X: failed"; it now names the Result, the exit status and the unit's last lines, in
 * the output and in the ledger (log_dir file here: the sample's units append to files). */
Test(logs, failed_start_names_result_exit_status_and_lines)
{
	struct sample s;
	struct tl_run r;
	char web[128], want[256];
	unsigned long op;

	REQUIRE_MANAGER();
	sample_setup(&s, "fstart", true);
	snprintf(web, sizeof(web), "%s-web.service", s.project);
	sample_commit(&s, NULL, "echo 'web.crash = 1' >> app.conf", "break web");
	/* a log that has grown for a while (2 MB): its last lines are still found */
	cr_assert_eq(tl_sh("f='%s/logs/web.log'; head -c 2000000 /dev/zero | tr '\\0' x | "
			   "fold -w 99 >> \"$f\" && echo >> \"$f\"",
			   s.dir),
		     0);
	sample_shiplog(&s, &r, edge_ok, "deploy", "main", "--web-only", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	snprintf(want, sizeof(want), "restart %s: failed", web);
	cr_assert(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "%s: result exit-code, exit status 3", web);
	cr_assert(strstr(r.out, want), "no Result/exit status:\n%s", r.out);
	cr_assert(strstr(r.out, "  | sampleapp[web]: crashing: crash = 1 in app.conf"),
		  "no log lines:\n%s", r.out);
	tl_run_release(&r);

	op = sample_newest_op(&s, "\"deploy\"");
	cr_assert(op > 0);
	{
		char id[32];
		snprintf(id, sizeof(id), "%lu", op);
		sample_shiplog(&s, &r, NULL, "show", id, NULL);
	}
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "failed") && strstr(r.out, "result exit-code, exit status 3"),
		  "show has no exit status:\n%s", r.out);
	cr_assert(strstr(r.out, "| sampleapp[web]: crashing: crash = 1 in app.conf"),
		  "show has no log lines:\n%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* With the journal: a worker that ran C1 (and printed lines at C1) then fails at C2. The lines
 * shown and recorded are those of the failing invocation only, none of C1's; `shiplog logs
 * --op` shows an operation's window only. */
Test(logs, journal_lines_are_this_invocation_only)
{
	struct sample s;
	struct tl_run r;
	char compute[128], want[256], c1[41], c2[41], id[32];
	_cleanup_free_ char *lines = NULL;
	char *orig_conf;
	unsigned long op1;

	REQUIRE_MANAGER();
	REQUIRE_JOURNAL();
	sample_setup(&s, "jinv", false);
	/* units that write to the journal: no log_dir */
	orig_conf = s.conf;
	s.conf = sample_alt_conf(&s, "journal", "runtime native", "log_dir = ");
	sample_shiplog(&s, &r, NULL, "units", "install", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	tl_run_release(&r);
	snprintf(compute, sizeof(compute), "%s-compute.service", s.project);

	strlcpy_(c1, sample_commit(&s, NULL, "echo one >> NOTES", "one"), sizeof(c1));
	sample_shiplog(&s, &r, edge_ok, "deploy", "main", "--fast", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	op1 = sample_newest_op(&s, "\"deploy\"");
	sample_beat_commit(&s, "compute", c2); /* C1 ran and beat */
	cr_assert_str_eq(c2, c1);

	strlcpy_(c2, sample_commit(&s, NULL, "echo 'compute.crash = 1' >> app.conf", "break"),
		 sizeof(c2));
	sample_shiplog(&s, &r, edge_ok, "deploy", "main", "--fast", NULL);
	cr_assert_eq(r.exit_code, 1, "got %d:\n%s\n%s", r.exit_code, r.out, r.err);
	snprintf(want, sizeof(want), "%s: result exit-code, exit status 3", compute);
	cr_assert(strstr(r.out, want), "no Result/exit status:\n%s", r.out);
	lines = failure_lines(r.out, compute);
	snprintf(want, sizeof(want), "commit=%s", c2);
	cr_assert(strstr(lines, want) && strstr(lines, "crashing: crash = 1 in app.conf"),
		  "not this invocation's lines:\n%s\n(output:\n%s)", lines, r.out);
	snprintf(want, sizeof(want), "commit=%s", c1);
	cr_assert(!strstr(lines, want) && !strstr(lines, "working:"),
		  "an earlier invocation's lines:\n%s", lines);
	tl_run_release(&r);

	/* logs --op: C1's deploy window has C1's start line, not C2's */
	snprintf(id, sizeof(id), "%lu", op1);
	sample_shiplog(&s, &r, NULL, "logs", "compute", "--op", id, NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	snprintf(want, sizeof(want), "start service=compute role=worker commit=%s", c1);
	cr_assert(strstr(r.out, want), "no C1 start line in --op %s:\n%s", id, r.out);
	snprintf(want, sizeof(want), "commit=%s", c2);
	cr_assert(!strstr(r.out, want), "C2's lines in C1's window:\n%s", r.out);
	tl_run_release(&r);

	/* logs --since: both */
	sample_shiplog(&s, &r, NULL, "logs", "compute", "--since", "10m", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, want), "no C2 line since 10m:\n%s", r.out);
	tl_run_release(&r);

	/* usage errors come before anything is opened */
	sample_shiplog(&s, &r, NULL, "logs", "nosuch", NULL);
	cr_assert_eq(r.exit_code, 2, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "no service 'nosuch'"), "%s", r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "logs", "compute", "--op", "1", "--since", "1h", NULL);
	cr_assert_eq(r.exit_code, 2, "%s%s", r.out, r.err);
	tl_run_release(&r);

	free(s.conf);
	s.conf = orig_conf;
	sample_teardown(&s);
}

/* A log_dir file with terminal controls in it: 'shiplog logs' shows them as \\xNN text. */
Test(logs, log_dir_lines_reach_the_terminal_escaped)
{
	struct sample s;
	struct tl_run r;
	char *dir, *file, *conf, *over;

	REQUIRE_MANAGER();
	sample_setup(&s, "lesc", false);
	dir = xasprintf("%s/esclogs", s.dir);
	tl_sh("mkdir -p '%s'", dir);
	file = xasprintf("%s/compute.log", dir);
	tl_write(file, "before\033]0;pwned\007after\r\302\233end\n");
	over = xasprintf("log_dir = %s", dir);
	conf = sample_alt_conf(&s, "lesc", "runtime native", over);
	tl_shiplog(&r, s.checkout, NULL, "-c", conf, "logs", "compute", NULL);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	for (const unsigned char *p = (const unsigned char *)r.out; *p; p++)
		cr_assert(
		    !((*p < 0x20 && *p != '\n' && *p != '\t') || (p[0] == 0xc2 && p[1] == 0x9b)),
		    "raw control byte 0x%02x in:\n%s", *p, r.out);
	cr_assert(strstr(r.out, "before\\x1b]0;pwned\\x07after\\x0d\\xc2\\x9bend"), "%s", r.out);
	tl_run_release(&r);
	free(over);
	free(conf);
	free(file);
	free(dir);
	sample_teardown(&s);
}
