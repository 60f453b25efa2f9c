/* SPDX-License-Identifier: MIT */
/* shiplog: parse the global options, find the command, open what its table entry asks for, run
 * it, and map its result to an exit code. Commands never exit themselves. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "config.h"
#include "out.h"
#include "remote.h"
#include "util.h"
#include "view.h"

static void print_main_help(FILE *f)
{
	fprintf(
	    f,
	    "usage: shiplog [-C DIR] [-c FILE] [--ledger DIR] [--json] [--color=WHEN] [-q|-v]\n"
	    "               COMMAND [ARGS]\n"
	    "\n"
	    "Deploys a multi-service app from a git checkout through systemd user units or Docker\n"
	    "Compose, and records every step in an append-only ledger.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < cmd_table_len; i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fprintf(
	    f,
	    "\n"
	    "Global options:\n"
	    "  -C DIR        run as if started in DIR\n"
	    "  -c FILE       use this shiplog.conf (default: found walking up from the cwd)\n"
	    "  --ledger DIR  use this ledger directory (default: [target] ledger, or\n"
	    "                $XDG_STATE_HOME/shiplog/<project>)\n"
	    "  --json        machine-readable output: one JSON document per line\n"
	    "  --color=WHEN  colour outcomes and headers: auto (default: on a terminal whose\n"
	    "                TERM is not dumb, unless NO_COLOR is set), always, never\n"
	    "  -q, -v        quieter, more verbose\n"
	    "  --version     print the version\n"
	    "\n"
	    "Exit codes: 0 ok, 1 deploy failed, 2 usage or config error, 3 refused (guardrail,\n"
	    "dirty tree, lock held), 4 ledger or environment error, 5 no ledger yet (a read where\n"
	    "nothing was deployed), 130 interrupted (SIGINT or SIGTERM).\n"
	    "\n"
	    "'shiplog COMMAND --help' explains each command.\n");
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--"))
			break;
		if (streq(argv[i], "--help") || streq(argv[i], "-h"))
			return true;
	}
	return false;
}

static int color_option(const char *value, enum out_color_mode *mode)
{
	if (out_color_parse(value ? value : "always", mode) < 0) {
		log_error("--color: '%s' is not a choice; use --color=auto, always or never",
			  value);
		return SL_EUSAGE;
	}
	return 0;
}

/* The global options people also write after the command ("shiplog history --ledger DIR"):
 * --ledger DIR / --ledger=DIR, --json and --color[=WHEN] are taken out of the command's
 * arguments. */
static int take_late_globals(struct cmd_ctx *ctx, enum out_color_mode *color, int argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (streq(argv[i], "--ledger") && i + 1 < argc) {
			ctx->ledger_opt = argv[++i];
		} else if (str_startswith(argv[i], "--ledger=")) {
			ctx->ledger_opt = argv[i] + strlen("--ledger=");
		} else if (streq(argv[i], "--json")) {
			out_settings.json = true;
		} else if (streq(argv[i], "--color") || str_startswith(argv[i], "--color=")) {
			if (color_option(argv[i][7] ? argv[i] + 8 : NULL, color) < 0)
				return -1;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

static int load_config(struct cmd_ctx *ctx, bool required)
{
	_cleanup_free_ char *found = NULL;
	char err[1024];
	const char *path = ctx->config_path;
	int r;

	if (!path) {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		r = config_find(cwd, &found);
		if (r == -ENOENT) {
			if (!required)
				return 0;
			log_error(
			    "no shiplog.conf in '%s' or any parent directory; run 'shiplog init' "
			    "to write one, or give -c FILE",
			    cwd);
			return SL_EUSAGE;
		}
		if (r < 0)
			return r;
		path = found;
	}
	r = config_load(path, &ctx->cfg, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	config_apply_env(ctx->cfg);
	return 0;
}

static int run_command(const struct cmd_entry *c, struct cmd_ctx *ctx, int argc, char **argv)
{
	int r;

	r = cmd_check_options(c, argc, argv);
	if (r < 0)
		return r;
	if (c->flags & (CMD_CONFIG | CMD_CONFIG_OPTIONAL)) {
		r = load_config(ctx, c->flags & CMD_CONFIG);
		if (r < 0)
			return r;
	}
	ctx->entry = c;
	if (!(c->flags & CMD_LEDGER_RO)) {
		r = cmd_ready(ctx);
		if (r != CMD_RUN_HERE)
			return r;
	}
	optind = 0; /* a full getopt reset for the command's own parsing */
	return c->run(ctx, argc, argv);
}

/* The global options before the command (getopt stops at the first non-option: what follows
 * belongs to the command). -1 to go on, else the exit code: --help, --version, a bad option. */
static int global_options(int argc, char **argv, struct cmd_ctx *ctx, enum out_color_mode *color)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"ledger", required_argument, NULL, 'L'},
	    {"json", no_argument, NULL, 'J'},
	    {"color", optional_argument, NULL, 'K'},
	    {"colour", optional_argument, NULL, 'K'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"forwarded-from", required_argument, NULL, 'F'}, /* internal: set by remote.c */
	    {0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+C:c:qvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			if (chdir(optarg) < 0) {
				log_error("cannot change to directory '%s': %s", optarg,
					  strerror(errno));
				return EXIT_USAGE;
			}
			break;
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'L':
			ctx->ledger_opt = optarg;
			break;
		case 'J':
			out_settings.json = true;
			break;
		case 'K':
			if (color_option(optarg, color) < 0)
				return EXIT_USAGE;
			break;
		case 'q':
			out_settings.verbosity = -1;
			break;
		case 'v':
			out_settings.verbosity = 1;
			break;
		case 'h':
			print_main_help(stdout);
			return EXIT_OK;
		case 'V':
			printf("shiplog %s\n", SHIPLOG_VERSION);
			return EXIT_OK;
		case 'F':
			ctx->forwarded_from = optarg;
			/* The operator's ssh client may go away mid-deploy: the deploy goes on. */
			signal(SIGHUP, SIG_IGN);
			signal(SIGPIPE, SIG_IGN);
			break;
		default:
			fprintf(stderr, "(see 'shiplog --help')\n");
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* `shiplog help [COMMAND]`: the main help, or the command's usage. */
static int help_command(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	c = cmd_find(argv[1]);
	if (!c) {
		log_error("unknown command '%s'; see 'shiplog --help'", argv[1]);
		return EXIT_USAGE;
	}
	fputs(c->usage, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx = {.global_argc = argc, .global_argv = argv};
	enum out_color_mode color = OUT_COLOR_AUTO;
	const struct cmd_entry *c;
	int r;

	out_init();
	r = global_options(argc, argv, &ctx, &color);
	if (r >= 0)
		return r;
	if (optind >= argc) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	if (streq(argv[optind], "help"))
		return help_command(argc - optind, argv + optind);
	c = cmd_find(argv[optind]);
	if (!c) {
		log_error("unknown command '%s'; see 'shiplog --help'", argv[optind]);
		return EXIT_USAGE;
	}
	if (wants_help(argc - optind, argv + optind)) {
		fputs(c->usage, stdout);
		return EXIT_OK;
	}

	ctx.cmd_argc = take_late_globals(&ctx, &color, argc - optind, argv + optind);
	if (ctx.cmd_argc < 0)
		return EXIT_USAGE;
	out_color_setup(color);
	ctx.cmd_argv = argv + optind;
	r = run_command(c, &ctx, ctx.cmd_argc, ctx.cmd_argv);
	view_use_ledger(NULL);
	ledger_close(ctx.lg);
	config_free(ctx.cfg);
	free(ctx.ledger_dir);
	return exit_code_for(r);
}
