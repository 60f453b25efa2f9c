/* SPDX-License-Identifier: MIT */
/* Execution mode and ssh forwarding. The laptop end builds one remote command line (an explicit
 * cwd, an explicit program, every word single-quoted) and streams the remote output live; the
 * server end (--forwarded-from) runs the command detached from the connection's fate. */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "out.h"
#include "spawn.h"
#include "util.h"

const char *remote_mode_name(enum remote_mode mode)
{
	return mode == REMOTE_MODE_SSH ? "ssh" : "local";
}

static bool same_path(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!a || !b || !realpath(a, ra) || !realpath(b, rb))
		return false;
	return streq(ra, rb);
}

/* One argument for the remote shell: single-quoted, with ' written as '\''. */
static void shell_quote(struct buf *b, const char *s)
{
	buf_append(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			buf_append(b, "'\\''", 4);
		else
			buf_append(b, s, 1);
	}
	buf_append(b, "'", 1);
}

/* Splits "user@host[:port]". */
static int split_target(const char *spec, char **host, char **port)
{
	const char *colon = strrchr(spec, ':');

	if (str_empty(spec) || spec[0] == '-' || strpbrk(spec, " \t\n'\"`$;|&<>()\\"))
		return -EINVAL;
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		*host = xstrndup(spec, (size_t)(colon - spec));
		*port = xstrdup(colon + 1);
	} else {
		*host = xstrdup(spec);
		*port = NULL;
	}
	return 0;
}

static const char *remote_shiplog(const struct config *cfg)
{
	return str_empty(cfg->target.shiplog) ? "shiplog" : cfg->target.shiplog;
}

/* What forwarding needs, checked before anything runs: a target and an existing key file. */
static int remote_target_check(const struct config *cfg, char **host, char **port)
{
	const char *key = cfg->target.ssh_key;
	struct stat st;

	if (str_empty(cfg->target.ssh)) {
		log_error(
		    "remote mode needs [target] ssh = user@host[:port] in %s (or run shiplog on "
		    "the server's checkout, or pass --local)",
		    cfg->path);
		return SL_EUSAGE;
	}
	if (split_target(cfg->target.ssh, host, port) < 0) {
		log_error("[target] ssh = '%s' is not user@host[:port]", cfg->target.ssh);
		return SL_EUSAGE;
	}
	if (str_empty(key)) {
		log_error("no ssh key: set DEPLOY_SSH_KEY_PATH or [target] ssh_key in %s",
			  cfg->path);
		return SL_EUSAGE;
	}
	if (stat(key, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("missing ssh key '%s': set DEPLOY_SSH_KEY_PATH or [target] ssh_key to an "
			  "existing private key, or run on the server",
			  key);
		return SL_EUSAGE;
	}
	return 0;
}

char *remote_ssh_failure(const char *ssh, const char *log_path)
{
	_cleanup_free_ char *text = NULL, *host = NULL, *port = NULL;
	const char *last = "", *why, *fix;
	size_t len = 0;
	char *line, *save = NULL;

	if (log_path && read_file(log_path, 65536, &text, &len) == 0 && text) {
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			str_trim(line);
			if (*line && !str_startswith(line, "Warning: Permanently added"))
				last = line;
		}
	}
	if (strstr(last, "Connection refused")) {
		why = "connection refused";
		fix = "check the host and port of the ssh target and that sshd runs there";
	} else if (strstr(last, "Permission denied")) {
		why = "the server refused the key";
		fix = "add the key's .pub to that user's ~/.ssh/authorized_keys on the server, or "
		      "point DEPLOY_SSH_KEY_PATH / ssh_key at an authorized key";
	} else if (strstr(last, "Host key verification failed") ||
		   strstr(last, "REMOTE HOST IDENTIFICATION")) {
		why = "the server's host key is unknown or changed";
		fix = "verify it and add it to known_hosts (or set ssh_options = "
		      "StrictHostKeyChecking=accept-new for a first connection)";
	} else if (strstr(last, "Could not resolve hostname")) {
		why = "unknown host name";
		fix = "check the host of the ssh target";
	} else if (strstr(last, "timed out") || strstr(last, "No route to host") ||
		   strstr(last, "Network is unreachable")) {
		why = "the host does not answer";
		fix = "check the host, the port and the network";
	} else {
		return NULL;
	}
	if (split_target(ssh, &host, &port) < 0)
		return xasprintf("cannot reach '%s' over ssh: %s (%s); %s", ssh, why, last, fix);
	return xasprintf("cannot reach '%s%s%s' over ssh: %s (%s); %s", host, port ? ":" : "",
			 port ? port : "", why, last, fix);
}

/* ssh's own diagnostics (-E file) -> one line saying what went wrong, for exit 255. */
static void remote_explain_ssh_failure(const struct config *cfg, const char *log_path)
{
	_cleanup_free_ char *msg = remote_ssh_failure(cfg->target.ssh, log_path);

	if (msg)
		log_error("%s", msg);
	else
		log_error("the ssh connection to '%s' failed or was lost; a command that "
			  "reached the server goes on there: see 'shiplog history' on the server",
			  cfg->target.ssh);
}

/* The server's exit status as our result: its shiplog's own codes read back as they were made
 * (result_for_exit_code), so that ours is the same; the wrapper's and the shell's explained. */
static int remote_exit_to_code(const struct config *cfg, int code)
{
	bool known;
	int r = result_for_exit_code(code, &known);

	if (known)
		return r;
	switch (code) {
	case REMOTE_EXIT_NO_CHECKOUT:
		log_error("the server has no checkout at '%s'; set [target] checkout to the live "
			  "checkout's path on the server",
			  cfg->target.checkout);
		return SL_EENV;
	case 126:
	case REMOTE_EXIT_NO_SHIPLOG:
		log_error(
		    "the server has no runnable shiplog at '%s' (exit %d); install it there or "
		    "set [target] shiplog to its absolute path (an ssh command gets a minimal "
		    "PATH)",
		    remote_shiplog(cfg), code);
		return SL_EENV;
	default:
		log_error("the remote shiplog ended with status %d", code);
		return SL_EENV;
	}
}

static void push_opt(struct strv *argv, const char *name, const char *value)
{
	strv_push(argv, "-o");
	strv_push_take(argv, xasprintf("%s=%s", name, value));
}

/* The ssh options of remote_ssh_argv: the operator's first (for ssh, the first value of an
 * option wins), then shiplog's defaults. */
static void remote_ssh_options(const struct remote_host *h, const char *port, struct strv *argv)
{
	const struct strv *given[2] = {h->ssh_options, h->more_options};

	if (!str_empty(h->ssh_key)) {
		strv_push(argv, "-i");
		strv_push(argv, h->ssh_key);
		push_opt(argv, "IdentitiesOnly", "yes");
	}
	if (h->log_path) {
		strv_push(argv, "-E");
		strv_push(argv, h->log_path);
	}
	push_opt(argv, "BatchMode", "yes");
	for (size_t g = 0; g < 2; g++)
		for (size_t i = 0; given[g] && i < given[g]->n; i++) {
			strv_push(argv, "-o");
			strv_push(argv, given[g]->v[i]);
		}
	if (h->control_path) {
		push_opt(argv, "ControlMaster", "auto");
		push_opt(argv, "ControlPath", h->control_path);
		push_opt(argv, "ControlPersist", "60");
	}
	push_opt(argv, "ConnectTimeout", "15");
	push_opt(argv, "ServerAliveInterval", "15");
	if (port) {
		strv_push(argv, "-p");
		strv_push(argv, port);
	}
}

int remote_ssh_argv(const struct remote_host *h, char *const *words, int nwords, struct strv *argv)
{
	_cleanup_free_ char *host = NULL, *port = NULL;
	struct buf cmd = {0};

	if (str_empty(h->ssh) || split_target(h->ssh, &host, &port) < 0)
		return -EINVAL;
	strv_push(argv, "ssh");
	remote_ssh_options(h, port, argv);
	strv_push(argv, "--");
	strv_push(argv, host);

	/* The remote command: an explicit cwd and an explicit program, every word quoted. A
	 * non-login ssh command starts in $HOME with a minimal PATH (reference §6). */
	buf_printf(&cmd, "cd ");
	shell_quote(&cmd, h->checkout);
	buf_printf(&cmd, " 2>/dev/null || exit %d; command -v ", REMOTE_EXIT_NO_CHECKOUT);
	shell_quote(&cmd, h->shiplog);
	buf_printf(&cmd, " >/dev/null 2>&1 || exit %d; exec ", REMOTE_EXIT_NO_SHIPLOG);
	shell_quote(&cmd, h->shiplog);
	buf_printf(&cmd, " --forwarded-from ");
	shell_quote(&cmd, actor_string());
	for (int i = 0; i < nwords; i++) {
		buf_append(&cmd, " ", 1);
		shell_quote(&cmd, words[i]);
	}
	strv_push(argv, cmd.data);
	buf_free(&cmd);
	return 0;
}

/* The words forwarded after --forwarded-from: the output flags, then the command as given
 * (a "--ssh" among them dropped: the server runs it here). */
static void forward_words(const struct remote_request *rq, struct strv *words)
{
	if (out_settings.json)
		strv_push(words, "--json");
	if (out_settings.verbosity < 0)
		strv_push(words, "-q");
	if (out_settings.verbosity > 0)
		strv_push(words, "-v");
	for (int i = 0; i < rq->argc; i++)
		if (!streq(rq->argv[i], "--ssh"))
			strv_push(words, rq->argv[i]);
}

static void forward_say(const struct remote_request *rq, const char *host, const char *port,
			char **argv)
{
	const char *checkout = rq->cfg->target.checkout;

	if (rq->read) {
		/* stdout stays exactly what the server prints */
		if (out_settings.verbosity >= 0)
			fprintf(stderr, "Execution mode: ssh to %s%s%s (checkout %s)\n", host,
				port ? " port " : "", port ? port : "", checkout);
	} else {
		out_say("Execution mode: ssh to %s%s%s (checkout %s)", host, port ? " port " : "",
			port ? port : "", checkout);
		out_argv(argv, NULL);
	}
}

static int forward(const struct remote_request *rq)
{
	const struct config *cfg = rq->cfg;
	_cleanup_free_ char *host = NULL, *port = NULL, *log_path = NULL;
	_cleanup_close_ int log_fd = -1;
	struct strv argv = {0}, words = {0};
	struct spawn_opts so = {0};
	struct spawn_result res = {0};
	const char *tmp = getenv("TMPDIR");
	int r;

	r = remote_target_check(cfg, &host, &port);
	if (r < 0)
		return r;

	/* ssh's own messages go to a file (the remote's stderr stays live on ours), so that a
	 * failed connection can be explained in one line. */
	log_path = xasprintf("%s/shiplog-ssh.XXXXXX", str_empty(tmp) ? "/tmp" : tmp);
	log_fd = mkstemp(log_path);
	if (log_fd < 0) {
		log_error("cannot create a temporary file in '%s': %s",
			  str_empty(tmp) ? "/tmp" : tmp, strerror(errno));
		return SL_EENV;
	}
	forward_words(rq, &words);
	r = remote_ssh_argv(&(struct remote_host){.ssh = cfg->target.ssh,
						  .ssh_key = cfg->target.ssh_key,
						  .ssh_options = &cfg->target.ssh_options,
						  .checkout = cfg->target.checkout,
						  .shiplog = remote_shiplog(cfg),
						  .log_path = log_path},
			    words.v, (int)words.n, &argv);
	if (r < 0) {
		log_error("[target] ssh = '%s' is not user@host[:port]", cfg->target.ssh);
		r = SL_EUSAGE;
		goto out;
	}
	forward_say(rq, host, port, argv.v);
	r = spawn_run(argv.v, &so, &res);
	if (r < 0) {
		log_error("cannot run ssh: %s; install openssh-client", strerror(-r));
		r = SL_EENV;
	} else if (res.exit_code == REMOTE_EXIT_SSH) {
		remote_explain_ssh_failure(cfg, log_path);
		r = SL_EENV;
	} else {
		r = remote_exit_to_code(cfg, res.exit_code);
	}
out:
	unlink(log_path);
	spawn_result_release(&res);
	strv_free(&argv);
	strv_free(&words);
	return r;
}

/* The server end of a forwarded command. Its stdout and stderr lead to the operator's ssh
 * client; once that connection is lost, every write to them fails (EPIPE, or SIGPIPE in the
 * programs shiplog runs, which get default signal dispositions). A deploy must not stop
 * because of that: the work goes on in a child, in its own session, writing to pipes that this
 * process relays to the connection while it lasts and drains after (spawn_relay_detached()).
 * On a setup failure the command just runs here, unprotected. */
static void remote_serve_detached(void)
{
	int r = spawn_relay_detached();

	if (r < 0)
		log_warn("cannot detach the forwarded command from the connection (%s); it stops "
			 "if the connection is lost",
			 strerror(-r));
}

/* The decision only: true for ssh. */
static bool remote_wants_ssh(const struct remote_request *rq)
{
	const struct config *cfg = rq->cfg;
	int exec_override = rq->exec_override;
	const char *force = getenv("DEPLOY_FORCE_SSH");
	_cleanup_free_ char *force_trimmed = force ? str_trim(xstrdup(force)) : NULL;

	if (exec_override == EXEC_OVERRIDE_LOCAL)
		return false;
	if (exec_override == EXEC_OVERRIDE_SSH || streq(force_trimmed, "1"))
		return true;
	if (cfg->target.local_exec == LOCAL_EXEC_ALWAYS)
		return false;
	if (cfg->target.local_exec == LOCAL_EXEC_NEVER)
		return true;
	return !same_path(cfg->target.checkout, cfg->dir);
}

int remote_preflight(const struct remote_request *rq)
{
	_cleanup_free_ char *host = NULL, *port = NULL;

	if (rq->forwarded_from || !remote_wants_ssh(rq))
		return REMOTE_RUN_HERE;
	return remote_target_check(rq->cfg, &host, &port);
}

int remote_maybe_forward(const struct remote_request *rq, enum remote_mode *mode)
{
	/* forwarded with --local: a fleet controller's run on its own machine (ssh = local) */
	enum remote_mode m =
	    rq->forwarded_from
		? (rq->exec_override == EXEC_OVERRIDE_LOCAL ? REMOTE_MODE_LOCAL : REMOTE_MODE_SSH)
	    : remote_wants_ssh(rq) ? REMOTE_MODE_SSH
				   : REMOTE_MODE_LOCAL;

	if (mode)
		*mode = m;
	if (rq->forwarded_from) {
		/* we are the server end of a forwarded command */
		remote_serve_detached();
		return REMOTE_RUN_HERE;
	}
	if (m == REMOTE_MODE_LOCAL)
		return REMOTE_RUN_HERE;
	return forward(rq);
}

/* ssh binds "PATH.<16 random>" first: 108 bytes of sun_path hold a directory of 50 or less
 * with %C's 40 hex digits. */
#define REMOTE_CONTROL_DIR_MAX 48

static bool private_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return false;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
	       (st.st_mode & 077) == 0;
}

char *remote_control_path(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *dir = NULL;

	if (!str_empty(rt) && strlen(rt) + strlen("/shiplog-ssh") <= REMOTE_CONTROL_DIR_MAX)
		dir = xasprintf("%s/shiplog-ssh", rt);
	if (!dir || !private_dir(dir)) {
		free(dir);
		dir = xasprintf("/tmp/shiplog-ssh-%u", (unsigned)getuid());
		if (!private_dir(dir)) {
			log_warn(
			    "'%s' is not a private directory of yours: ssh connections are not "
			    "shared (remove it, or set XDG_RUNTIME_DIR)",
			    dir);
			return NULL;
		}
	}
	return xasprintf("%s/%%C", dir);
}
