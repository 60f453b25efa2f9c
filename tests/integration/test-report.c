/* SPDX-License-Identifier: MIT */
/* shiplog report of a real ledger, made by deploying the sample app (a deploy, a soak window
 * with a deploy inside it, a deploy that fails verify and is rolled back), loaded in a real
 * headless Chromium (Debian's chromium package; tools/test.sh installs it): it loads without a
 * console message, every section is in its DOM (none is made by script: it has none, and its
 * CSP forbids any), and a hostile ref and actor stay text. The sample's page and its screenshot are
 * kept under the build directory as CI artifacts (the test prints their paths on lines starting
 * "artifact: "). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

static char *const edge_ok[] = {"DEPLOY_NATIVE_EDGE_READY=1", NULL};

/* The chromium binary, or NULL (the test then skips, loudly). */
static const char *chromium(void)
{
	static char path[512];
	const char *env = getenv("SHIPLOG_TEST_CHROMIUM");

	if (env && access(env, X_OK) == 0)
		return env;
	for (const char *const *p =
		 (const char *const[]){"/usr/bin/chromium", "/usr/bin/chromium-browser", NULL};
	     *p; p++)
		if (access(*p, X_OK) == 0) {
			snprintf(path, sizeof(path), "%s", *p);
			return path;
		}
	return NULL;
}

/* Where the artifacts go: <build>/artifacts/report (SHIPLOG_BINARY is <build>/src/shiplog). */
static char *artifact_dir(void)
{
	char *bin = xstrdup(SHIPLOG_BINARY), *slash, *dir;

	for (int i = 0; i < 2 && (slash = strrchr(bin, '/')); i++)
		*slash = '\0';
	dir = xasprintf("%s/artifacts/report", bin);
	free(bin);
	cr_assert_eq(tl_sh("mkdir -p '%s'", dir), 0);
	return dir;
}

/* Runs chromium headless on file with extra arguments (NULL-terminated). Its profile lives in
 * scratch; --enable-logging=stderr makes it print every console message as an "INFO:CONSOLE"
 * line, which a page without script must never produce. */
static void run_chromium(struct tl_run *r, const char *scratch, const char *file, const char *a1,
			 const char *a2, const char *a3)
{
	char *profile = xasprintf("--user-data-dir=%s/chromium-profile", scratch);
	char *url = xasprintf("file://%s", file);
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)chromium();
	argv[n++] = "--headless";
	argv[n++] = "--disable-gpu";
	argv[n++] = "--no-sandbox";
	argv[n++] = "--no-first-run";
	argv[n++] = "--hide-scrollbars";
	argv[n++] = "--enable-logging=stderr";
	argv[n++] = "--v=0";
	argv[n++] = profile;
	if (a1)
		argv[n++] = (char *)a1;
	if (a2)
		argv[n++] = (char *)a2;
	if (a3)
		argv[n++] = (char *)a3;
	argv[n++] = url;
	argv[n] = NULL;
	tl_run(r, scratch, NULL, argv);
	cr_assert_eq(r->exit_code, 0, "chromium failed (%d):\n%s", r->exit_code, r->err);
	cr_assert_null(strstr(r->err, ":CONSOLE"), "the page logged to the console:\n%s", r->err);
	free(profile);
	free(url);
}

static void deploy(struct sample *s, char *const env[], const char *scope, int want)
{
	struct tl_run r;

	sample_shiplog(s, &r, env, "deploy", "main", scope, NULL);
	cr_assert_eq(r.exit_code, want, "deploy %s: exit %d, expected %d:\n%s\n%s",
		     scope ? scope : "", r.exit_code, want, r.out, r.err);
	tl_run_release(&r);
}

Test(report, sample_ledger_in_headless_chromium)
{
	struct sample s;
	struct tl_run r;
	char *dir, *html, *png, *dom, *hostile, *line, *shot;
	struct stat sb;

	TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");
	TL_REQUIRE(chromium(), "chromium (apt-get install --no-install-recommends chromium)");
	dir = artifact_dir();
	html = xasprintf("%s/sample-report.html", dir);
	png = xasprintf("%s/sample-report.png", dir);
	unlink(html);
	unlink(png);

	sample_setup(&s, "report", true);
	sample_commit(&s, NULL, "echo one >> NOTES", "one");
	deploy(&s, edge_ok, NULL, 0);
	/* a soak window with a workers deploy inside it (its samples set aside) */
	sample_shiplog(&s, &r, NULL, "soak", "start", "--name", "after-one", "--workers-only",
		       "--every", "200ms", "--for", "30s", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_commit(&s, NULL, "echo two >> NOTES", "two");
	deploy(&s, NULL, "--workers-only", 0);
	usleep(800000);
	sample_shiplog(&s, &r, NULL, "soak", "stop", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	/* verify fails: the automatic rollback reverts it and quarantines its commit */
	sample_commit(&s, NULL, "echo 'api.health_status = 500' >> app.conf", "break api");
	deploy(&s, edge_ok, NULL, 1);

	sample_shiplog(&s, &r, NULL, "report", "-o", html, NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert_str_eq(r.out, "", "-o writes nothing to stdout");
	tl_run_release(&r);
	cr_assert_eq(stat(html, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0644);
	cr_assert_neq(tl_sh("ls '%s' | grep -q '\\.tmp\\.'", dir), 0, "a temporary file was left");

	/* Every section is in the DOM as served. JavaScript off changes nothing: the page has no
	 * script element and its CSP (default-src 'none') would refuse one. (This Chromium's
	 * --blink-settings=scriptEnabled=false makes --dump-dom and --screenshot print nothing,
	 * since both evaluate script in the page; so that is asserted instead of loaded.) */
	run_chromium(&r, s.dir, html, "--dump-dom", NULL, NULL);
	dom = r.out;
	cr_assert_null(strstr(dom, "<script"), "the page has a script element");
	cr_assert(strstr(dom, "content=\"default-src 'none'; style-src 'unsafe-inline'\""),
		  "the page's CSP is not in the DOM:\n%.1000s", dom);
	for (const char *const *w =
		 (const char *const[]){
		     "id=\"summary\"", "id=\"success-rate\"", "id=\"timeline\"",
		     "id=\"timeline-svg\"", "op-mark o-succeeded", "op-mark o-rolled-back",
		     "class=\"revert-link\"", "id=\"trends\"", "id=\"trend-rollout\"",
		     "id=\"trend-total\"", "id=\"state\"", "id=\"quarantine\"",
		     "class=\"quarantined\"", "id=\"soaks\"", "after-one", "class=\"strip\"",
		     "id=\"operations\"", "reverts <a href=\"#op-",
		     /* the workers deploy in the window: its samples set aside as soak report
		      * sets them aside */
		     "compute: set aside during operation ", " (deploy): ", NULL};
	     *w; w++)
		cr_assert(strstr(dom, *w), "the rendered page has no '%s':\n%.2000s", *w, dom);
	tl_run_release(&r);

	shot = xasprintf("--screenshot=%s", png);
	run_chromium(&r, s.dir, html, "--window-size=1280,2900", shot, NULL);
	tl_run_release(&r);
	free(shot);
	cr_assert_eq(stat(png, &sb), 0);
	cr_assert_gt(sb.st_size, 20000, "a screenshot of %lld bytes is blank",
		     (long long)sb.st_size);
	printf("artifact: %s\nartifact: %s\n", html, png);
	fflush(stdout);

	/* a hostile ref and actor, in the same real ledger, stay text */
	hostile = xasprintf("%s/hostile.jsonl", s.dir);
	line = xasprintf("{\"seq\":1,\"type\":\"op.refused\",\"time_ns\":%lld,\"op\":1,"
			 "\"actor\":\"<img src=x onerror=alert(1)>@h\\\"ost\",\"guard\":\"edge\","
			 "\"reason\":\"</td></tr></table><script>alert(2)</script>\","
			 "\"request\":{\"kind\":\"deploy\",\"mode\":\"branch\","
			 "\"ref\":\"<script>alert('ref')</script>\",\"runtime\":\"native\","
			 "\"services\":[\"<b>web</b>\"]}}\n",
			 (long long)now_ns());
	tl_write(hostile, line);
	sample_shiplog(&s, &r, NULL, "ledger", "import", hostile, NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_shiplog(&s, &r, NULL, "report", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "&lt;script&gt;alert(&#39;ref&#39;)&lt;/script&gt;"), "%s", r.out);
	cr_assert(strstr(r.out, "&lt;img src=x onerror=alert(1)&gt;@h&quot;ost"));
	cr_assert_null(strstr(r.out, "<script"), "a raw <script in the page");
	cr_assert_null(strstr(r.out, "<img"), "a raw <img in the page");
	free(line);
	line = xasprintf("%s/hostile.html", s.dir);
	tl_write(line, r.out);
	tl_run_release(&r);
	run_chromium(&r, s.dir, line, "--dump-dom", NULL, NULL);
	cr_assert_null(strstr(r.out, "<script"), "a script element in the DOM");
	cr_assert_null(strstr(r.out, "<img"), "an img element in the DOM");
	cr_assert_null(strstr(r.out, "<b>web"), "a b element in the DOM");
	cr_assert(strstr(r.out, "&lt;script&gt;alert('ref')&lt;/script&gt;"),
		  "the ref is not shown as text:\n%.3000s", r.out);
	cr_assert(strstr(r.out, "id=\"operations\""));
	tl_run_release(&r);

	free(line);
	free(hostile);
	free(html);
	free(png);
	free(dir);
	sample_teardown(&s);
}
