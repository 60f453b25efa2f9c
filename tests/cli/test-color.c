/* SPDX-License-Identifier: MIT */
/* Colour as a person meets it: the real shiplog binary, on a ledger imported from a small
 * fixture (a deploy that succeeded, one rolled back by a nested rollback, a refusal, an
 * interrupted deploy), run with --color=always, piped (the default: no colour), on a real
 * terminal (script(1) gives it a pty) with and without NO_COLOR, and with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "util.h"

#define C0 "0000000000000000000000000000000000000000"
#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"

#define REQ(kind, mode, commit, prev, services, reverts)                                           \
	"\"kind\":\"" kind "\",\"mode\":\"" mode "\",\"ref\":\"main\",\"commit\":\"" commit        \
	"\",\"prev_commit\":\"" prev "\",\"runtime\":\"native\",\"services\":[" services           \
	"],\"flags\":[],\"exec_mode\":\"local\",\"config_digest\":\"d\",\"reverts\":" reverts      \
	",\"reason\":\"\",\"pid\":42"
#define PFIN(p, ok, err)                                                                           \
	"\"phase\":\"" p "\",\"duration_ns\":5000000,\"ok\":" ok ",\"error\":\"" err "\""
#define RESTART(svc, commit)                                                                       \
	"\"service\":\"" svc "\",\"runtime\":\"native\",\"unit\":\"" svc                           \
	".service\",\"result\":\"done\",\"duration_ns\":1000,\"before\":\"1\",\"after\":\"2\","    \
	"\"commit\":\"" commit "\""
#define HEALTH(ok, detail)                                                                         \
	"\"service\":\"api\",\"runtime\":\"native\",\"kind\":\"tcp\",\"target\":\"127.0.0.1:1\","  \
	"\"ok\":" ok ",\"attempts\":1,\"latency_ns\":1000,\"detail\":\"" detail "\""
#define FIN(outcome, err, rb)                                                                      \
	"\"outcome\":\"" outcome "\",\"error\":\"" err "\",\"duration_ns\":9000000,"               \
	"\"rollback_op\":" rb

static const struct {
	int op;
	const char *type, *extra;
} FX[] = {
    /* an operation's id is the sequence (index + 1) of its first event */
    {1, "op.requested", REQ("deploy", "main", C1, C0, "\"api\"", "0")},
    {1, "phase.started", "\"phase\":\"rollout\""},
    {1, "unit.restarted", RESTART("api", C1)},
    {1, "phase.finished", PFIN("rollout", "true", "")},
    {1, "op.finished", FIN("succeeded", "", "0")},
    {6, "op.requested", REQ("deploy", "main", C2, C1, "\"api\"", "0")},
    {6, "phase.started", "\"phase\":\"verify\""},
    /* a detail from outside with a terminal control in it: shown escaped, colour or not */
    {6, "health.checked", HEALTH("false", "refused \\u001b[31mevil")},
    {6, "phase.finished", PFIN("verify", "false", "api: refused")},
    {10, "op.requested", REQ("rollback", "auto", C1, C2, "\"api\"", "6")},
    {10, "op.finished", FIN("succeeded", "", "0")},
    {6, "op.finished", FIN("rolled-back", "verify failed", "10")},
    {13, "op.refused",
     "\"guard\":\"edge\",\"reason\":\"edge\",\"request\":{" REQ("deploy", "main", C2, C1, "\"web\"",
								"0") "}"},
    {14, "op.requested", REQ("deploy", "main", C2, C1, "\"api\"", "0")},
    {14, "op.finished", FIN("interrupted", "its process died", "0")},
};
#define NFX (sizeof(FX) / sizeof(FX[0]))

struct env {
	char *dir, *ledger;
};

static void env_new(struct env *e)
{
	struct buf b = {0};
	struct tl_run r;
	char *fixture;

	e->dir = tl_mkdtemp("color");
	e->ledger = xasprintf("%s/ledger", e->dir);
	fixture = xasprintf("%s/fixture.jsonl", e->dir);
	for (size_t i = 0; i < NFX; i++)
		buf_printf(&b,
			   "{\"seq\":%zu,\"type\":\"%s\",\"time\":\"2026-11-20T10:00:%02zu.000Z\","
			   "\"op\":%d,\"actor\":\"alice@vps\",%s}\n",
			   i + 1, FX[i].type, i, FX[i].op, FX[i].extra);
	tl_write(fixture, b.data);
	buf_free(&b);
	tl_shiplog(&r, e->dir, NULL, "--ledger", e->ledger, "ledger", "import", fixture, NULL);
	cr_assert_eq(r.exit_code, 0, "import failed (%d): %s", r.exit_code, r.err);
	tl_run_release(&r);
	free(fixture);
}

static void env_free(struct env *e)
{
	tl_rmrf(e->dir);
	free(e->dir);
	free(e->ledger);
}

#define SGR(code) "\033[" code "m"

/* The stdout of a run that must succeed, malloc'd. */
static char *out_of(struct tl_run *r, const char *what)
{
	char *out;

	cr_assert_eq(r->exit_code, 0, "shiplog %s: exit %d: %s", what, r->exit_code, r->err);
	out = r->out;
	r->out = NULL;
	tl_run_release(r);
	return out;
}

/* shiplog --ledger L ARGS... with stdout a pipe and env_add (may be NULL): its stdout. */
#define run_piped(e, env_add, ...)                                                                 \
	({                                                                                         \
		struct tl_run r_;                                                                  \
		tl_shiplog(&r_, (e)->dir, (env_add), "--ledger", (e)->ledger, __VA_ARGS__, NULL);  \
		out_of(&r_, #__VA_ARGS__);                                                         \
	})

Test(color, always_colours_outcomes_and_headers)
{
	struct env e;
	char *h, *s, *st, *late;

	env_new(&e);
	h = run_piped(&e, NULL, "--color=always", "history");
	cr_assert(strstr(h, SGR("1") "    OP  STARTED"), "header bold:\n%s", h);
	cr_assert(strstr(h, SGR("32") "succeeded"), "succeeded green:\n%s", h);
	cr_assert(strstr(h, SGR("33") "rolled-back (op 3)"), "rolled back yellow:\n%s", h);
	cr_assert(strstr(h, SGR("35") "refused (edge)"), "refused magenta:\n%s", h);
	cr_assert(strstr(h, SGR("31") "interrupted"), "interrupted red:\n%s", h);
	/* the columns after the outcome stay where they were */
	cr_assert(strstr(h, SGR("32") "succeeded             " SGR("0") "  "), "padding:\n%s", h);

	/* after the command, too */
	late = run_piped(&e, NULL, "history", "--color");
	cr_assert_str_eq(late, h);

	s = run_piped(&e, NULL, "--color=always", "show", "2");
	cr_assert(strstr(s, SGR("1") "== verify =="), "phase header bold:\n%s", s);
	cr_assert(strstr(s, SGR("1;31") "health api"), "failed check red:\n%s", s);
	cr_assert(strstr(s, SGR("1") "== Deploy Timings ==" SGR("0")), "timings:\n%s", s);
	/* the control byte from the ledger is shown escaped even between colour codes */
	cr_assert(strstr(s, "refused \\x1b[31mevil"), "escaped:\n%s", s);
	cr_assert_null(strstr(s, "\033[31mevil"), "an outside escape code passed:\n%s", s);

	st = run_piped(&e, NULL, "--color=always", "status");
	cr_assert(strstr(st, SGR("1") "SERVICE"), "status header:\n%s", st);
	cr_assert(strstr(st, SGR("1;31") "UNHEALTHY" SGR("0") "  111111111111"),
		  "unhealthy red, the columns in place:\n%s", st);
	free(h);
	free(s);
	free(st);
	free(late);
	env_free(&e);
}

Test(color, none_when_piped_never_json_or_no_color_under_auto)
{
	struct env e;
	char *no_color[] = {"NO_COLOR=1", NULL};
	char *force[] = {"CLICOLOR_FORCE=1", NULL};
	char *both[] = {"CLICOLOR_FORCE=1", "NO_COLOR=1", NULL};
	char *o;

	env_new(&e);
	o = run_piped(&e, NULL, "history");
	cr_assert_null(strchr(o, '\033'), "piped, auto:\n%s", o);
	cr_assert(strstr(o, "succeeded"));
	free(o);
	o = run_piped(&e, NULL, "--color=never", "show", "2");
	cr_assert_null(strchr(o, '\033'), "never:\n%s", o);
	free(o);
	o = run_piped(&e, NULL, "--color=always", "history", "--json");
	cr_assert_null(strchr(o, '\033'), "--json:\n%s", o);
	free(o);
	o = run_piped(&e, NULL, "show", "2", "--json", "--color=always");
	cr_assert_null(strchr(o, '\033'), "show --json:\n%s", o);
	free(o);
	o = run_piped(&e, NULL, "--color=always", "ledger", "export");
	cr_assert_null(strchr(o, '\033'), "export:\n%s", o);
	free(o);
	o = run_piped(&e, force, "history");
	cr_assert(strstr(o, SGR("32") "succeeded"), "CLICOLOR_FORCE:\n%s", o);
	free(o);
	o = run_piped(&e, both, "history");
	cr_assert_null(strchr(o, '\033'), "NO_COLOR beats CLICOLOR_FORCE:\n%s", o);
	free(o);
	o = run_piped(&e, no_color, "--color=always", "history");
	cr_assert(strstr(o, SGR("32") "succeeded"), "the flag beats NO_COLOR:\n%s", o);
	free(o);
	env_free(&e);
}

Test(color, a_bad_value_is_a_usage_error)
{
	struct env e;
	struct tl_run r;

	env_new(&e);
	tl_shiplog(&r, e.dir, NULL, "--ledger", e.ledger, "--color=sometimes", "history", NULL);
	cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
	cr_assert(strstr(r.err, "--color: 'sometimes' is not a choice"), "%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, e.dir, NULL, "--ledger", e.ledger, "history", "--color=maybe", NULL);
	cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
	tl_run_release(&r);
	env_free(&e);
}

/* shiplog run by script(1) on a pseudo-terminal; what the terminal showed, malloc'd. */
static char *run_on_pty(struct env *e, const char *envs, const char *args)
{
	char *log = xasprintf("%s/pty.log", e->dir), *text;
	int rc;

	rc = tl_sh("cd '%s' && env %s script -qfec \"'%s' --ledger '%s' %s\" /dev/null "
		   ">'%s' 2>&1 </dev/null",
		   e->dir, envs, SHIPLOG_BINARY, e->ledger, args, log);
	cr_assert_eq(rc, 0, "script(1) ran shiplog %s: exit %d", args, rc);
	text = tl_read(log);
	cr_assert_not_null(text);
	free(log);
	return text;
}

Test(color, on_a_terminal_auto_colours_unless_no_color_or_dumb)
{
	struct env e;
	char *o;

	if (tl_sh("command -v script >/dev/null") != 0)
		cr_skip_test("SKIPPED: script(1) is not installed (util-linux)");
	env_new(&e);
	o = run_on_pty(&e, "-u NO_COLOR -u CLICOLOR_FORCE TERM=xterm", "history");
	cr_assert(strstr(o, SGR("32") "succeeded"), "a terminal:\n%s", o);
	free(o);
	o = run_on_pty(&e, "-u CLICOLOR_FORCE TERM=xterm NO_COLOR=1", "history");
	cr_assert(strstr(o, "succeeded"), "%s", o);
	cr_assert_null(strchr(o, '\033'), "NO_COLOR on a terminal:\n%s", o);
	free(o);
	o = run_on_pty(&e, "-u NO_COLOR -u CLICOLOR_FORCE TERM=dumb", "history");
	cr_assert_null(strchr(o, '\033'), "TERM=dumb:\n%s", o);
	free(o);
	o = run_on_pty(&e, "-u NO_COLOR TERM=xterm", "--color=never history");
	cr_assert_null(strchr(o, '\033'), "--color=never on a terminal:\n%s", o);
	free(o);
	env_free(&e);
}

/* A deploy's end line on stderr, from a real deploy: a native deploy of an edge role without the
 * acknowledgement is refused before anything moves (no user manager needed). */
Test(color, a_refused_deploy_ends_in_the_refused_colour)
{
	struct env e;
	struct tl_run r;
	char *conf, *app, *path;

	env_new(&e);
	app = xasprintf("%s/app", e.dir);
	cr_assert_eq(tl_sh("git init -q '%s' && cd '%s' && git -c user.name=t -c user.email=t@t "
			   "commit -q --allow-empty -m init && git remote add origin '%s'",
			   app, app, app),
		     0);
	conf = xasprintf("[project]\nname = edge\n[target]\ncheckout = %s\nledger = %s/edge\n"
			 "[public]\napp_url = http://127.0.0.1:1/\n"
			 "[service web]\nrole = web\nunit = web.service\n",
			 app, e.dir);
	path = xasprintf("%s/shiplog.conf", app);
	tl_write(path, conf);

	tl_shiplog(&r, app, NULL, "--color=always", "deploy", "main", NULL);
	cr_assert_eq(r.exit_code, 3, "exit %d: %s", r.exit_code, r.err);
	cr_assert(strstr(r.err, "shiplog: " SGR("35") "refusing native deploy of edge services"),
		  "refused magenta:\n%s", r.err);
	tl_run_release(&r);
	tl_shiplog(&r, app, NULL, "deploy", "main", NULL);
	cr_assert_eq(r.exit_code, 3, "exit %d: %s", r.exit_code, r.err);
	cr_assert(strstr(r.err, "refusing native deploy"), "%s", r.err);
	cr_assert_null(strchr(r.err, '\033'), "piped: no colour:\n%s", r.err);
	cr_assert_null(strchr(r.out, '\033'), "piped: no colour:\n%s", r.out);
	tl_run_release(&r);
	free(conf);
	free(path);
	free(app);
	env_free(&e);
}
