/* SPDX-License-Identifier: MIT */
#include "remote.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "out.h"
#include "spawn.h"
#include "util.h"

static const char *mode = "local";

const char *remote_exec_mode(void)
{
	return mode;
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

static int forward(struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	_cleanup_free_ char *host = NULL, *port = NULL;
	const char *key = cfg->target.ssh_key;
	struct strv argv = {0};
	struct buf cmd = {0};
	struct spawn_opts so = {0};
	struct spawn_result res = {0};
	struct stat stt;
	int r;

	if (str_empty(cfg->target.ssh)) {
		log_error("remote mode needs [target] ssh = user@host[:port] in %s (or run shiplog on "
			  "the server's checkout, or pass --local)", cfg->path);
		return SL_EUSAGE;
	}
	if (split_target(cfg->target.ssh, &host, &port) < 0) {
		log_error("[target] ssh = '%s' is not user@host[:port]", cfg->target.ssh);
		return SL_EUSAGE;
	}
	if (str_empty(key)) {
		log_error("no ssh key: set DEPLOY_SSH_KEY_PATH or [target] ssh_key in %s", cfg->path);
		return SL_EUSAGE;
	}
	if (stat(key, &stt) < 0 || !S_ISREG(stt.st_mode)) {
		log_error("missing ssh key '%s': set DEPLOY_SSH_KEY_PATH or [target] ssh_key to an "
			  "existing private key, or run on the server", key);
		return SL_EUSAGE;
	}

	strv_push(&argv, "ssh");
	strv_push(&argv, "-i");
	strv_push(&argv, key);
	strv_push(&argv, "-o");
	strv_push(&argv, "IdentitiesOnly=yes");
	strv_push(&argv, "-o");
	strv_push(&argv, "BatchMode=yes");
	for (size_t i = 0; i < cfg->target.ssh_options.n; i++) {
		strv_push(&argv, "-o");
		strv_push(&argv, cfg->target.ssh_options.v[i]);
	}
	if (port) {
		strv_push(&argv, "-p");
		strv_push(&argv, port);
	}
	strv_push(&argv, "--");
	strv_push(&argv, host);

	/* The remote command: an explicit cwd and an explicit program, every word quoted. */
	buf_printf(&cmd, "cd ");
	shell_quote(&cmd, cfg->target.checkout);
	buf_printf(&cmd, " && exec ");
	shell_quote(&cmd, str_empty(cfg->target.shiplog) ? "shiplog" : cfg->target.shiplog);
	buf_printf(&cmd, " --forwarded-from ");
	shell_quote(&cmd, actor_string());
	if (out_settings.json)
		buf_printf(&cmd, " --json");
	if (out_settings.verbosity < 0)
		buf_printf(&cmd, " -q");
	if (out_settings.verbosity > 0)
		buf_printf(&cmd, " -v");
	for (int i = 0; i < ctx->cmd_argc; i++) {
		if (streq(ctx->cmd_argv[i], "--ssh"))
			continue; /* the server runs it here */
		buf_append(&cmd, " ", 1);
		shell_quote(&cmd, ctx->cmd_argv[i]);
	}
	strv_push(&argv, cmd.data);

	if (!out_settings.json)
		out_say("Execution mode: ssh to %s%s%s (checkout %s)", host, port ? " port " : "",
			port ? port : "", cfg->target.checkout);
	out_argv(argv.v, NULL);
	r = spawn_run(argv.v, &so, &res);
	if (r < 0) {
		log_error("cannot run ssh: %s; install openssh-client", strerror(-r));
		r = SL_EENV;
		goto out;
	}
	switch (res.exit_code) {
	case 0:
		r = 0;
		break;
	case 1:
		r = SL_EFAILED;
		break;
	case 2:
		r = SL_EUSAGE;
		break;
	case 3:
		r = SL_EREFUSED;
		break;
	case 4:
		r = SL_EENV;
		break;
	case 126:
	case 127:
		log_error("the server has no runnable shiplog at '%s' (exit %d); install it there or "
			  "set [target] shiplog to its absolute path",
			  str_empty(cfg->target.shiplog) ? "shiplog" : cfg->target.shiplog,
			  res.exit_code);
		r = SL_EENV;
		break;
	case 255:
		log_error("cannot reach '%s' over ssh (exit 255): check the host, the port and that "
			  "the key '%s' is authorized there", cfg->target.ssh, key);
		r = SL_EENV;
		break;
	default:
		log_error("the remote shiplog ended with status %d", res.exit_code);
		r = SL_EENV;
		break;
	}
out:
	spawn_result_release(&res);
	strv_free(&argv);
	buf_free(&cmd);
	return r;
}

int remote_maybe_forward(struct cmd_ctx *ctx, int exec_override)
{
	const struct config *cfg = ctx->cfg;
	const char *force = getenv("DEPLOY_FORCE_SSH");
	_cleanup_free_ char *force_trimmed = force ? str_trim(xstrdup(force)) : NULL;
	bool ssh;

	if (ctx->forwarded_from) {
		mode = "ssh";
		return REMOTE_RUN_HERE; /* we are the server end of a forwarded command */
	}
	if (exec_override == EXEC_OVERRIDE_LOCAL)
		ssh = false;
	else if (exec_override == EXEC_OVERRIDE_SSH || streq(force_trimmed, "1"))
		ssh = true;
	else if (cfg->target.local_exec == LOCAL_EXEC_ALWAYS)
		ssh = false;
	else if (cfg->target.local_exec == LOCAL_EXEC_NEVER)
		ssh = true;
	else
		ssh = !same_path(cfg->target.checkout, cfg->dir);
	if (!ssh) {
		mode = "local";
		return REMOTE_RUN_HERE;
	}
	mode = "ssh";
	return forward(ctx);
}
