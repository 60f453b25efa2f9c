/* SPDX-License-Identifier: MIT */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "config.h"
#include "op.h"
#include "out.h"
#include "remote.h"
#include "util.h"
#include "view.h"

/* Alphabetical. */
const struct cmd_entry *const cmd_table[] = {
    &cmd_audit,	     &cmd_check,  &cmd_completion, &cmd_cutover, &cmd_deploy, &cmd_diff,
    &cmd_history,    &cmd_init,	  &cmd_ledger,	   &cmd_lock,	 &cmd_logs,   &cmd_metrics,
    &cmd_quarantine, &cmd_report, &cmd_rollback,   &cmd_show,	 &cmd_soak,   &cmd_state,
    &cmd_stats,	     &cmd_status, &cmd_units,
};
const size_t cmd_table_len = ELEMENTSOF(cmd_table);

const struct cmd_entry *cmd_find(const char *name)
{
	for (size_t i = 0; i < cmd_table_len; i++)
		if (streq(cmd_table[i]->name, name))
			return cmd_table[i];
	return NULL;
}

char *cmd_ledger_dir(const char *ledger_opt, const struct config *cfg)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (!str_empty(ledger_opt))
		return expand_home(ledger_opt);
	if (cfg && !str_empty(cfg->target.ledger))
		return xstrdup(cfg->target.ledger);
	if (!cfg) {
		log_error(
		    "no ledger: no shiplog.conf found from here upward; run inside a project, "
		    "or give -c FILE or --ledger DIR");
		return NULL;
	}
	if (!str_empty(state))
		return xasprintf("%s/shiplog/%s", state, cfg->project);
	return xasprintf("%s/.local/state/shiplog/%s", home ? home : "/root", cfg->project);
}

int cmd_open_ledger(struct cmd_ctx *ctx, bool rw)
{
	struct ledger_options o = {0};
	int r;

	if (ctx->lg)
		return 0;
	if (!ctx->ledger_dir) {
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, ctx->cfg);
		if (!ctx->ledger_dir)
			return SL_EUSAGE;
	}
	if (ctx->cfg)
		o.project = ctx->cfg->project;
	r = ledger_open(&ctx->lg, ctx->ledger_dir, rw ? LEDGER_OPEN_CREATE : LEDGER_OPEN_RDONLY,
			&o);
	if (r == LEDGER_ENOTFOUND) {
		log_error("no ledger at '%s': nothing was deployed with it yet; check --ledger or "
			  "[target] ledger",
			  ctx->ledger_dir);
		return SL_ENOLEDGER;
	}
	if (r == -EPERM) {
		log_error("ledger directory '%s' is open to other users and cannot be made 0700: "
			  "run 'chmod 700 %s' as its owner",
			  ctx->ledger_dir, ctx->ledger_dir);
		return SL_EENV;
	}
	if (r < 0 && rw && (r == -ENOSPC || r == -EDQUOT || r == -EROFS || r == -EACCES)) {
		op_ledger_write_error(ctx->ledger_dir, "open", r,
				      ctx->lg ? ledger_errmsg(ctx->lg) : "", 0);
		return r;
	}
	if (r < 0) {
		log_error("cannot open ledger '%s': %s%s%s", ctx->ledger_dir, ledger_strerror(r),
			  ctx->lg ? ": " : "", ctx->lg ? ledger_errmsg(ctx->lg) : "");
		return r;
	}
	view_use_ledger(ctx->lg);
	return 0;
}

struct remote_request cmd_remote_request(const struct cmd_ctx *ctx, int exec_override)
{
	return (struct remote_request){
	    .cfg = ctx->cfg,
	    .forwarded_from = ctx->forwarded_from,
	    .argc = ctx->cmd_argc,
	    .argv = ctx->cmd_argv,
	    .read = ctx->entry && (ctx->entry->flags & CMD_FORWARDS),
	    .exec_override = exec_override,
	};
}

int cmd_ready(struct cmd_ctx *ctx)
{
	const struct cmd_entry *c = ctx->entry;
	int r;

	if ((c->flags & CMD_FORWARDS) && ctx->cfg && !ctx->ledger_opt) {
		struct remote_request rq = cmd_remote_request(ctx, EXEC_OVERRIDE_NONE);

		r = remote_maybe_forward(&rq, NULL);
		if (r != REMOTE_RUN_HERE)
			return r;
	}
	if (c->flags & (CMD_LEDGER_RO | CMD_LEDGER_RW)) {
		r = cmd_open_ledger(ctx, c->flags & CMD_LEDGER_RW);
		if (r < 0)
			return r;
	}
	return CMD_RUN_HERE;
}

const struct option cmd_no_options[] = {{0}};

int cmd_check_options(const struct cmd_entry *c, int argc, char **argv)
{
	_cleanup_free_ char **copy = xcalloc((size_t)argc + 1, sizeof(*copy));
	char shortopts[64];
	int opt, r = 0;

	if (!c->options)
		return 0;
	/* getopt_long permutes what it parses: a copy keeps the command's own order. */
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	snprintf(shortopts, sizeof(shortopts), ":%s",
		 c->shortopts ? c->shortopts + (c->shortopts[0] == '+') : "");
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, copy, shortopts, c->options, NULL)) != -1) {
		const char *what = copy[optind - 1];
		char shortname[3] = {'-', (char)optopt, 0};

		if (opt != '?' && opt != ':')
			continue;
		/* a short option inside a cluster (-xn) is named alone */
		if (optopt && !str_startswith(what, "--"))
			what = shortname;
		r = opt == ':' ? cmd_usage_error(c, "option '%s' needs a value", what)
			       : cmd_usage_error(c, "unknown option '%s'", what);
		break;
	}
	optind = 0;
	return r;
}

int cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shiplog %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'shiplog %s --help')\n", c->name);
	return SL_EUSAGE;
}
