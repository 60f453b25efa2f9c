/* SPDX-License-Identifier: MIT */
/* Remote mode end to end: a real sshd on 127.0.0.1 (tools/test.sh), a bare origin, the server's
 * checkout with its units in the private user manager, and a "laptop" clone of origin whose
 * shiplog.conf is the server's (same checkout path, so auto mode picks ssh) plus [target] ssh,
 * ssh_key, ssh_options and shiplog. Every check of the outcome reads the server's ledger. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample.h"
#include "util.h"

#define REQUIRE_PARTS()                                                                            \
	do {                                                                                       \
		TL_REQUIRE(tl_have_sshd(), "an sshd on 127.0.0.1");                                \
		TL_REQUIRE(tl_have_user_manager(), "a private systemd user manager");              \
	} while (0)

/* The sample, then the remote settings committed to origin (so that the laptop clone and the
 * server checkout share one shiplog.conf) and pulled into the server checkout. sed_expr, when
 * not NULL, edits shiplog.conf first. The laptop clone is s->dev. */
static void remote_setup(struct sample *s, const char *tag, bool start, const char *sed_expr)
{
	char *conf;
	FILE *f;

	sample_setup(s, tag, start);
	/* the test's known_hosts is outside ~/.ssh: the operator's environment names it, since a
	 * committed shiplog.conf may not (config.md) */
	if (getenv("SHIPLOG_TEST_SSH_KNOWN_HOSTS"))
		setenv("DEPLOY_SSH_KNOWN_HOSTS", getenv("SHIPLOG_TEST_SSH_KNOWN_HOSTS"), 1);
	conf = xasprintf("%s/shiplog.conf", s->dev);
	if (sed_expr)
		cr_assert_eq(tl_sh("sed -i -e '%s' '%s'", sed_expr, conf), 0);
	f = fopen(conf, "a");
	cr_assert_not_null(f);
	fprintf(f,
		"\n[target]\n"
		"ssh = %s@127.0.0.1:%s\n"
		"ssh_key = %s\n"
		"ssh_options = StrictHostKeyChecking=accept-new\n"
		"shiplog = %s\n",
		getenv("SHIPLOG_TEST_SSH_USER") ? getenv("SHIPLOG_TEST_SSH_USER") : "root",
		getenv("SHIPLOG_TEST_SSH_PORT"), getenv("SHIPLOG_TEST_SSH_KEY"), SHIPLOG_BINARY);
	fclose(f);
	sample_commit(s, NULL, "true", "remote settings");
	cr_assert_eq(tl_sh("git -C '%s' pull -q --ff-only origin main", s->checkout), 0,
		     "the server checkout did not take the remote settings");
	cr_assert_eq(tl_sh("cmp -s '%s' '%s'", conf, s->conf), 0);
	free(conf);
}

/* Runs the laptop's shiplog in the laptop clone, its config found from the cwd. */
static void laptop(struct sample *s, struct tl_run *r, char *const env[], ...)
{
	char *argv[64];
	size_t n = 0;
	va_list ap;

	argv[n++] = SHIPLOG_BINARY;
	va_start(ap, env);
	for (char *a; (a = va_arg(ap, char *)) && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	tl_run(r, s->dev, env, argv);
}

/* The trimmed stdout of a shell line (test setup only). */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
	char line[4096];
	char *argv[] = {"/bin/sh", "-c", line, NULL};
	struct tl_run r;
	va_list ap;
	char *out;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tl_run(&r, NULL, NULL, argv);
	out = r.out;
	r.out = NULL;
	tl_run_release(&r);
	return str_trim(out);
}

/* The server ledger, exported as JSON lines (the server's own config, locally). */
static char *server_export(struct sample *s)
{
	struct tl_run r;
	char *out;

	sample_shiplog(s, &r, NULL, "ledger", "export", NULL);
	out = r.out;
	r.out = NULL;
	tl_run_release(&r);
	return out;
}

static unsigned long line_op(const char *line)
{
	const char *p = strstr(line, ",\"op\":");
	return p ? strtoul(p + 6, NULL, 10) : 0;
}

/* The n-th operation (0 = first, -1 = last) in the server ledger: its op.requested line (into
 * *requested when not NULL) and the types of all its events, comma-joined. */
static char *op_shape(struct sample *s, int nth, char **requested)
{
	char *exp = server_export(s), *save = NULL;
	struct strv lines = {0}, types = {0};
	unsigned long ops[256], op = 0;
	int nops = 0;
	char *shape;

	for (char *l = strtok_r(exp, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		strv_push(&lines, l);
		if (strstr(l, "\"type\":\"op.requested\"") && nops < 256)
			ops[nops++] = line_op(l);
	}
	cr_assert(nops > 0, "no operation in the server ledger");
	op = ops[nth < 0 ? nops + nth : nth];
	if (requested)
		*requested = NULL;
	for (size_t i = 0; i < lines.n; i++) {
		const char *t = strstr(lines.v[i], "\"type\":\"");
		if (line_op(lines.v[i]) != op || !t)
			continue;
		t += 8;
		strv_push_take(&types, xstrndup(t, strcspn(t, "\"")));
		if (requested && strstr(lines.v[i], "\"type\":\"op.requested\""))
			*requested = xstrdup(lines.v[i]);
	}
	shape = strv_join(&types, ",");
	strv_free(&types);
	strv_free(&lines);
	free(exp);
	return shape;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; p && *p; p++)
		if (*p == '\n')
			n++;
	return n;
}

static void assert_no_pwned(struct sample *s)
{
	char *home = xasprintf("%s/PWNED", getenv("HOME") ? getenv("HOME") : "/root");

	cr_assert_neq(tl_sh("find '%s' -name PWNED | grep -q .", s->dir), 0,
		      "a name was executed by a shell (a PWNED file exists under %s)", s->dir);
	cr_assert_neq(access(home, F_OK), 0, "a name was executed by a remote shell in $HOME");
	free(home);
}

Test(remote, forwarded_deploy_records_what_a_local_one_does)
{
	struct sample s;
	struct tl_run r;
	char *local_shape, *ssh_shape, *local_req, *ssh_req;
	char got[41];
	const char *c;

	REQUIRE_PARTS();
	remote_setup(&s, "rfwd", true, NULL);

	/* A first deploy records the checkout's completed build, so neither deploy compared
	 * below builds (the first deploy of a checkout always does). */
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "first deploy failed:\n%s\n%s", r.out, r.err);
	tl_run_release(&r);

	/* on the server checkout: local */
	c = sample_commit(&s, NULL, "echo one >> NOTES", "one");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "local deploy failed:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "Execution mode: local"), "%s", r.out);
	tl_run_release(&r);

	/* from the laptop clone: auto mode sees another directory and forwards */
	c = sample_commit(&s, NULL, "echo two >> NOTES", "two");
	laptop(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "forwarded deploy failed:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "Execution mode: ssh to "), "mode not printed:\n%s", r.out);
	cr_assert(strstr(r.out, "Execution mode: ssh (checkout"), "server side not ssh:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "== Deploy Timings =="), "remote output not streamed:\n%s", r.out);
	tl_run_release(&r);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c, "compute runs %s, not the forwarded commit %s", got, c);

	local_shape = op_shape(&s, -2, &local_req);
	ssh_shape = op_shape(&s, -1, &ssh_req);
	cr_assert_str_eq(ssh_shape, local_shape,
			 "the forwarded deploy recorded\n  %s\nthe local one\n  %s", ssh_shape,
			 local_shape);
	cr_assert(strstr(ssh_shape, "op.finished"), "%s", ssh_shape);
	cr_assert(strstr(local_req, "\"exec_mode\":\"local\""), "%s", local_req);
	cr_assert(strstr(ssh_req, "\"exec_mode\":\"ssh\""), "%s", ssh_req);
	cr_assert(strstr(ssh_req, "forwarded-from="), "the forwarding actor is not recorded: %s",
		  ssh_req);
	free(local_shape), free(ssh_shape), free(local_req), free(ssh_req);
	cr_assert_eq(sample_count_events(&s, "op.requested"), 3, "first, local, forwarded");
	sample_teardown(&s);
}

Test(remote, force_ssh_and_flags_choose_the_mode)
{
	struct sample s;
	struct tl_run r;
	char *force[] = {"DEPLOY_FORCE_SSH=1", NULL};
	char *shape, *req;

	REQUIRE_PARTS();
	remote_setup(&s, "rforce", true, NULL);

	sample_commit(&s, NULL, "echo a >> NOTES", "a");
	sample_shiplog(&s, &r, force, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "Execution mode: ssh to ") && strstr(r.out, "@127.0.0.1 port "),
		  "%s", r.out);
	tl_run_release(&r);
	shape = op_shape(&s, -1, &req);
	cr_assert(strstr(req, "\"exec_mode\":\"ssh\""),
		  "DEPLOY_FORCE_SSH=1 did not go over ssh: %s", req);
	free(shape), free(req);

	/* --local beats DEPLOY_FORCE_SSH=1 */
	sample_commit(&s, NULL, "echo b >> NOTES", "b");
	sample_shiplog(&s, &r, force, "deploy", "main", "--workers-only", "--local", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	cr_assert_null(strstr(r.out, "ssh to"), "%s", r.out);
	tl_run_release(&r);
	shape = op_shape(&s, -1, &req);
	cr_assert(strstr(req, "\"exec_mode\":\"local\""), "%s", req);
	free(shape), free(req);

	/* --ssh from the server checkout, without the variable */
	sample_commit(&s, NULL, "echo c >> NOTES", "c");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", "--ssh", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	shape = op_shape(&s, -1, &req);
	cr_assert(strstr(req, "\"exec_mode\":\"ssh\""), "%s", req);
	free(shape), free(req);

	/* a value other than exactly 1 does not force */
	{
		char *not_one[] = {"DEPLOY_FORCE_SSH=yes", NULL};
		sample_commit(&s, NULL, "echo d >> NOTES", "d");
		sample_shiplog(&s, &r, not_one, "deploy", "main", "--workers-only", NULL);
		cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
		tl_run_release(&r);
		shape = op_shape(&s, -1, &req);
		cr_assert(strstr(req, "\"exec_mode\":\"local\""), "%s", req);
		free(shape), free(req);
	}
	sample_teardown(&s);
}

Test(remote, current_branch_pushes_and_deploys_the_branch)
{
	struct sample s;
	struct tl_run r;
	char *forge[] = {"DEPLOY_GIT_REMOTE=forge", NULL};
	char *nosuch[] = {"DEPLOY_GIT_REMOTE=nosuch", NULL};
	char *nokey[] = {"DEPLOY_GIT_REMOTE=forge", "DEPLOY_SSH_KEY_PATH=/nonexistent/key", NULL};
	char *head, *on_origin, *branch, *upstream, *req, *shape;
	char got[41];

	REQUIRE_PARTS();
	remote_setup(&s, "rcur", true, NULL);
	/* the laptop calls the remote "forge"; the server keeps "origin" (reference §6: the local
	 * name must not be reused on the target) */
	cr_assert_eq(
	    tl_sh("cd '%s' && git remote rename origin forge && git checkout -q -b feature "
		  "&& echo feature >> NOTES && git add -A && git commit -qm feature",
		  s.dev),
	    0);
	head = capture("git -C '%s' rev-parse HEAD", s.dev);

	/* a missing key stops before the push */
	laptop(&s, &r, nokey, "deploy", "current-branch", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "missing ssh key '/nonexistent/key'"), "%s", r.err);
	tl_run_release(&r);
	/* an explicit remote that does not exist is an error, not a fall-through */
	laptop(&s, &r, nosuch, "deploy", "current-branch", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "nosuch"), "%s", r.err);
	tl_run_release(&r);
	/* any local change refuses */
	tl_sh("echo wip > '%s/wip.txt'", s.dev);
	laptop(&s, &r, forge, "deploy", "current-branch", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 3, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "wip.txt"), "%s", r.err);
	tl_run_release(&r);
	tl_sh("rm '%s/wip.txt'", s.dev);
	cr_assert_neq(
	    tl_sh("git --git-dir='%s/origin.git' rev-parse -q --verify refs/heads/feature", s.dir),
	    0, "a refused current-branch pushed");
	cr_assert_eq(sample_count_events(&s, "op.requested"), 0, "a refusal reached the server");

	laptop(&s, &r, forge, "deploy", "current-branch", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "current-branch failed:\n%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "== Local Publish =="), "%s", r.out);
	cr_assert(strstr(r.out, "Execution mode: ssh to"), "%s", r.out);
	tl_run_release(&r);

	on_origin = capture("git --git-dir='%s/origin.git' rev-parse refs/heads/feature", s.dir);
	cr_assert_str_eq(on_origin, head, "origin's feature is %s, not %s", on_origin, head);
	upstream = capture("git -C '%s' rev-parse --abbrev-ref '@{u}'", s.dev);
	cr_assert_str_eq(upstream, "forge/feature", "upstream not set: '%s'", upstream);
	branch = capture("git -C '%s' branch --show-current", s.checkout);
	cr_assert_str_eq(branch, "feature", "the server checkout is on '%s'", branch);
	sample_head(&s, got);
	cr_assert_str_eq(got, head);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, head, "compute runs %s, not the branch commit %s", got, head);
	shape = op_shape(&s, -1, &req);
	cr_assert(strstr(req, "\"mode\":\"branch\"") && strstr(req, "\"ref\":\"feature\"") &&
		      strstr(req, "\"exec_mode\":\"ssh\""),
		  "%s", req);
	free(head), free(on_origin), free(branch), free(upstream), free(req), free(shape);

	/* `branch NAME` works from anywhere, without pushing */
	laptop(&s, &r, NULL, "deploy", "branch", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	branch = capture("git -C '%s' branch --show-current", s.checkout);
	cr_assert_str_eq(branch, "main");
	free(branch);
	sample_teardown(&s);
}

Test(remote, hostile_names_arrive_literally_or_are_refused)
{
	struct sample s;
	struct tl_run r;
	const char *evil = "ev$(touch${IFS}PWNED)il;x\"q`id`"; /* no ': sample_commit quotes */
	const char *evil_cb = "cb;$(touch${IFS}PWNED)'q";
	const char *literal_refs[] = {"x; touch PWNED", "$(touch PWNED)", "`touch PWNED`",
				      "it's a 'quoted' ref", "a\"b && touch PWNED"};
	char *branch, *req, *shape;
	char got[41];
	const char *c;

	REQUIRE_PARTS();
	remote_setup(&s, "revil", true, NULL);

	for (size_t i = 0; i < ELEMENTSOF(literal_refs); i++) {
		laptop(&s, &r, NULL, "deploy", literal_refs[i], "--workers-only", NULL);
		cr_assert_neq(r.exit_code, 0, "'%s' deployed?\n%s", literal_refs[i], r.out);
		cr_assert(strstr(r.out, "Execution mode: ssh to"),
			  "'%s' was not forwarded:\n%s\n%s", literal_refs[i], r.out, r.err);
		/* the server saw the name as one literal word */
		cr_assert(strstr(r.err, literal_refs[i]), "'%s' did not arrive literally:\n%s",
			  literal_refs[i], r.err);
		tl_run_release(&r);
	}
	laptop(&s, &r, NULL, "deploy", "branch", "-rf", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "a leading '-' must be refused: %d %s", r.exit_code, r.err);
	tl_run_release(&r);
	assert_no_pwned(&s);

	/* a real branch whose name is full of shell syntax deploys literally over ssh */
	c = sample_commit(&s, evil, "echo evil >> NOTES", "evil branch");
	laptop(&s, &r, NULL, "deploy", "branch", evil, "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c);
	branch = capture("git -C '%s' branch --show-current", s.checkout);
	cr_assert_str_eq(branch, evil, "the server checkout is on '%s'", branch);
	free(branch);
	shape = op_shape(&s, -1, &req);
	cr_assert(strstr(req, "\"exec_mode\":\"ssh\""), "%s", req);
	free(shape), free(req);

	/* and current-branch pushes and forwards such a name literally too */
	{
		char *argv[] = {
		    "/bin/sh",
		    "-c",
		    "cd \"$1\" && git checkout -q -b \"$2\" origin/main && echo cb >> NOTES "
		    "&& git add -A && git commit -qm cb",
		    "sh",
		    s.dev,
		    (char *)evil_cb,
		    NULL};
		tl_run(&r, NULL, NULL, argv);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		tl_run_release(&r);
	}
	laptop(&s, &r, NULL, "deploy", "current-branch", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	branch = capture("git -C '%s' branch --show-current", s.checkout);
	cr_assert_str_eq(branch, evil_cb, "the server checkout is on '%s'", branch);
	free(branch);
	assert_no_pwned(&s);
	sample_teardown(&s);
}

static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd); /* bound, never listened: closed */
	return port;
}

Test(remote, connection_failures_say_why_and_touch_nothing)
{
	struct sample s;
	struct tl_run r;
	char *before, *after, *conf;
	char *other[3] = {NULL, NULL, NULL},
	     *nokey[] = {"DEPLOY_SSH_KEY_PATH=/nonexistent/key", NULL};

	REQUIRE_PARTS();
	remote_setup(&s, "rfail", true, NULL);
	sample_commit(&s, NULL, "echo x >> NOTES", "x");
	before = server_export(&s);

	/* a closed port */
	conf = xasprintf("%s/closed.conf", s.dev);
	cr_assert_eq(
	    tl_sh("sed 's|^ssh = \\(.*\\):[0-9]*$|ssh = \\1:%d|' '%s/shiplog.conf' > '%s' && "
		  "echo closed.conf >> '%s/.git/info/exclude'",
		  closed_port(), s.dev, conf, s.dev),
	    0);
	laptop(&s, &r, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 4, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "connection refused"), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "not one clear error:\n%s", r.err);
	tl_run_release(&r);
	free(conf);

	/* a key the server does not accept */
	cr_assert_eq(tl_sh("ssh-keygen -q -t ed25519 -N '' -f '%s/other_key'", s.dir), 0);
	other[0] = xasprintf("DEPLOY_SSH_KEY_PATH=%s/other_key", s.dir);
	laptop(&s, &r, other, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 4, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "refused the key"), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "not one clear error:\n%s", r.err);
	tl_run_release(&r);
	free(other[0]);

	/* no shiplog at the configured path on the server */
	conf = xasprintf("%s/noshiplog.conf", s.dev);
	cr_assert_eq(
	    tl_sh("sed 's|^shiplog = .*|shiplog = /nonexistent/shiplog|' '%s/shiplog.conf' "
		  "> '%s'",
		  s.dev, conf),
	    0);
	laptop(&s, &r, NULL, "-c", conf, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 4, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "no runnable shiplog at '/nonexistent/shiplog'"), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "not one clear error:\n%s", r.err);
	tl_run_release(&r);
	free(conf);

	/* no key at all: an error before anything runs */
	laptop(&s, &r, nokey, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 2, "%d\n%s\n%s", r.exit_code, r.out, r.err);
	cr_assert(strstr(r.err, "missing ssh key '/nonexistent/key'"), "%s", r.err);
	cr_assert_null(strstr(r.out, "ssh -i"), "ssh ran:\n%s", r.out);
	tl_run_release(&r);

	after = server_export(&s);
	cr_assert_str_eq(after, before, "a failed connection changed the server ledger");
	cr_assert_eq(sample_count_events(&s, "op.requested"), 0);
	free(before), free(after);
	sample_teardown(&s);
}

/* Starts a forwarded deploy from the laptop, SIGKILLs the client's process group (shiplog and
 * its ssh child) once the laptop's output shows `marker`, then checks on the server that the
 * deploy completed anyway. */
static void cut_connection_at(const char *tag, const char *sed_expr, const char *marker)
{
	struct sample s;
	struct tl_run r;
	char *log, *shape = NULL, *req = NULL;
	char got[41];
	const char *c;
	pid_t pid;
	int st;
	bool finished = false;

	remote_setup(&s, tag, true, sed_expr);
	c = sample_commit(&s, NULL, "echo lost >> NOTES", "lost");
	log = xasprintf("%s/laptop.log", s.dir);

	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0); /* shiplog and its ssh child: one group to kill */
		if (chdir(s.dev) < 0 || !freopen(log, "w", stdout) || !freopen(log, "a", stderr))
			_exit(126);
		setvbuf(stdout, NULL, _IONBF, 0);
		execl(SHIPLOG_BINARY, SHIPLOG_BINARY, "deploy", "main", "--workers-only",
		      (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	for (int i = 0; i < 600; i++) {
		if (tl_sh("grep -qF '%s' '%s' 2>/dev/null", marker, log) == 0)
			break;
		usleep(100000);
	}
	cr_assert_eq(tl_sh("grep -qF '%s' '%s'", marker, log), 0,
		     "the forwarded deploy never showed '%s':\n%s", marker, tl_read(log));
	/* the ssh child is alive now, and dies with the group */
	cr_assert_eq(tl_sh("pgrep -g %d -x ssh >/dev/null", (int)pid), 0,
		     "no ssh child in the group");
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (int i = 0; i < 50 && tl_sh("ps -e -o pgid=,stat= | awk '$1 == %d && $2 !~ /Z/' | "
					"grep -q .",
					(int)pid) == 0;
	     i++)
		usleep(100000);
	cr_assert_neq(
	    tl_sh("ps -e -o pgid=,stat= | awk '$1 == %d && $2 !~ /Z/' | grep -q .", (int)pid), 0,
	    "the client group survived");
	cr_assert_null(strstr(tl_read(log), "Deploy Timings"), "the deploy ended before the kill");

	for (int i = 0; i < 300 && !finished; i++) {
		free(shape), free(req);
		shape = op_shape(&s, -1, &req);
		finished = strstr(shape, "op.finished") != NULL;
		if (!finished)
			usleep(100000);
	}
	cr_assert(finished, "the server deploy did not finish: %s", shape);
	cr_assert(strstr(req, "\"exec_mode\":\"ssh\""), "%s", req);
	{
		char *exp = server_export(&s);
		cr_assert(strstr(exp, "\"type\":\"op.finished\"") &&
			      strstr(exp, "\"outcome\":\"succeeded\""),
			  "the server deploy did not succeed:\n%s", exp);
		free(exp);
	}
	cr_assert_eq(sample_count_events(&s, "op.finished"), 1);
	sample_beat_commit(&s, "compute", got);
	cr_assert_str_eq(got, c, "compute runs %s, not %s", got, c);
	sample_beat_commit(&s, "ingest-equities", got);
	cr_assert_str_eq(got, c);

	/* and the server is free for the next deploy */
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);
	free(shape), free(req), free(log);
	sample_teardown(&s);
}

Test(remote, lost_connection_in_the_settle_window_does_not_stop_the_deploy)
{
	REQUIRE_PARTS();
	cut_connection_at("rlost", "s/^settle = .*/settle = 4s/", "== Verify ==");
}

/* The build prints after the cut: a program that writes to the lost connection would die of
 * SIGPIPE, unless the server end keeps draining its output. */
Test(remote, lost_connection_during_a_chatty_build_does_not_stop_the_deploy)
{
	REQUIRE_PARTS();
	cut_connection_at("rbuild",
			  "s/^build = \\(.*\\)/build = sleep 3 \\&\\& echo built after the cut "
			  "\\&\\& \\1/; /^build_when_changed/d",
			  "sleep 3");
}

Test(remote, read_commands_forward_over_ssh)
{
	struct sample s;
	struct tl_run r, local;
	char *nokey[] = {"DEPLOY_SSH_KEY_PATH=/nonexistent/key", NULL};
	static const char *const reads[][3] = {
	    {"--json", "history", NULL},
	    {"--json", "status", NULL},
	    {"--json", "stats", NULL},
	    {"--json", "show", "1"},
	};

	REQUIRE_PARTS();
	remote_setup(&s, "rread", true, NULL);
	sample_commit(&s, NULL, "echo r >> NOTES", "r");
	sample_shiplog(&s, &r, NULL, "deploy", "main", "--workers-only", NULL);
	cr_assert_eq(r.exit_code, 0, "%s\n%s", r.out, r.err);
	tl_run_release(&r);

	for (size_t i = 0; i < ELEMENTSOF(reads); i++) {
		const char *a = reads[i][0], *b = reads[i][1], *c = reads[i][2];

		sample_shiplog(&s, &local, NULL, a, b, c, NULL);
		cr_assert_eq(local.exit_code, 0, "%s %s: %s", b, c ? c : "", local.err);
		laptop(&s, &r, NULL, a, b, c, NULL);
		cr_assert_eq(r.exit_code, 0, "forwarded %s failed: %s", b, r.err);
		if (!streq(b, "status")) /* status shows live state: compare the shape only */
			cr_assert_str_eq(r.out, local.out, "forwarded %s differs", b);
		tl_run_release(&r);
		/* without a key the laptop cannot forward: it does not read some local copy */
		laptop(&s, &r, nokey, a, b, c, NULL);
		cr_assert_eq(r.exit_code, 2, "%s did not forward (%d):\n%s", b, r.exit_code, r.out);
		cr_assert(strstr(r.err, "missing ssh key"), "%s", r.err);
		tl_run_release(&r);
		tl_run_release(&local);
	}
	/* report -o FILE read on the server writes FILE here, on the laptop */
	laptop(&s, &r, NULL, "report", "-o", "laptop-report.html", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "Execution mode: ssh to"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	tl_run_release(&r);
	{
		char *here = xasprintf("%s/laptop-report.html", s.dev);
		char *there = xasprintf("%s/laptop-report.html", s.checkout);
		char *page = tl_read(here);

		cr_assert(page && strstr(page, "id=\"operations\"") && strstr(page, "</html>"),
			  "no page at %s", here);
		cr_assert_null(tl_read(there), "the server wrote -o FILE in its checkout");
		cr_assert_eq(tl_sh("ls '%s' | grep -q '\\.tmp\\.'", s.dev), 1,
			     "a temporary file was left");
		free(page);
		free(here);
		free(there);
	}
	laptop(&s, &r, NULL, "history", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "Execution mode: ssh to"), "%s", r.err);
	cr_assert_null(strstr(r.out, "Execution mode"), "%s", r.out);
	cr_assert(strstr(r.out, "succeeded"), "%s", r.out);
	tl_run_release(&r);
	sample_teardown(&s);
}

/* A committed shiplog.conf is data from the repository: reading its status must not run what it
 * says. Each ssh option that can run a local command is refused when the config loads (exit 2,
 * file:line, the option named), before ssh starts; the allowed ones still connect. */
Test(remote, ssh_options_that_run_commands_are_refused)
{
	struct sample s;
	struct tl_run r;
	char *marker, *conf, *where, *text;
	static const char *const bad[] = {
	    "ProxyCommand=touch %s",
	    "proxycommand=touch %s",
	    "LocalCommand=touch %s",
	    "PermitLocalCommand=yes, LocalCommand=touch %s",
	    "KnownHostsCommand=/usr/bin/touch %s",
	    "ProxyJump=x@127.0.0.1:1%.0s",
	    "PKCS11Provider=%s.so",
	    "Include=%s",
	    "Match=exec \"touch %s\"",
	    "ControlPath=%s",
	};

	REQUIRE_PARTS();
	remote_setup(&s, "rsshopt", false, NULL);
	marker = xasprintf("%s/PROXY_RAN", s.dir);
	conf = xasprintf("%s/shiplog.conf", s.dev);

	/* allowed options (any case) reach the server */
	cr_assert_eq(tl_sh("printf 'ssh_options = connecttimeout=10, ServerAliveCountMax=3, "
			   "Compression=no\\n' >> '%s'",
			   conf),
		     0);
	laptop(&s, &r, NULL, "status", NULL);
	/* nothing was deployed: the server's shiplog answers that it has no ledger yet (exit 5,
	 * passed on as it is) */
	cr_assert(r.exit_code == 5 && strstr(r.err, "Execution mode: ssh to") &&
		      strstr(r.err, "no ledger at"),
		  "allowed ssh options do not reach the server (%d):\n%s\n%s", r.exit_code, r.out,
		  r.err);
	tl_run_release(&r);

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char *opt = xasprintf(bad[i], marker);
		char *name = xstrndup(opt, strcspn(opt, "="));

		cr_assert_eq(tl_sh("git -C '%s' checkout -q -- shiplog.conf && printf "
				   "'ssh_options = %%s\\n' '%s' >> '%s'",
				   s.dev, opt, conf),
			     0);
		text = tl_read(conf);
		where = xasprintf("%s:%d: [target] ssh_options: '", conf, count_lines(text));
		laptop(&s, &r, NULL, "status", NULL);
		cr_assert_eq(r.exit_code, 2, "'%s' was not refused (exit %d):\n%s\n%s", opt,
			     r.exit_code, r.out, r.err);
		cr_assert(strstr(r.err, where), "no file:line for '%s':\n%s", opt, r.err);
		cr_assert(strstr(r.err, name) && strstr(r.err, "ServerAliveInterval"),
			  "the option or the allowlist is not named:\n%s", r.err);
		cr_assert_null(strstr(r.err, "Execution mode"), "ssh was started:\n%s", r.err);
		cr_assert_neq(access(marker, F_OK), 0, "'%s' ran a local command", opt);
		tl_run_release(&r);
		free(opt), free(name), free(where), free(text);
	}
	free(marker), free(conf);
	sample_teardown(&s);
}
