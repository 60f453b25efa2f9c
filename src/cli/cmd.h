/* SPDX-License-Identifier: MIT */
/* The command table. One file per command in src/cmd/, each exporting one struct cmd_entry.
 * Table flags declare what a command needs; the dispatcher opens exactly that. */
#ifndef SHIPLOG_CMD_H
#define SHIPLOG_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "remote.h"

struct config;
struct ledger;

enum cmd_flags {
	CMD_CONFIG = 1 << 0,	      /* a shiplog.conf must be found and valid */
	CMD_CONFIG_OPTIONAL = 1 << 1, /* load it when found (to locate the ledger) */
	CMD_LEDGER_RO = 1 << 2,	      /* open the ledger read-only; it must exist. The command
				       * calls cmd_ready() once its arguments are valid, so that
				       * a usage error is exit 2 whatever the ledger is */
	CMD_LEDGER_RW = 1 << 3,	      /* open or create it read-write */
	CMD_FORWARDS = 1 << 4,	      /* a read that is forwarded over ssh when this is not the
				       * server's checkout (see remote.h) */
};

struct cmd_ctx {
	const char *config_path; /* -c */
	const char *ledger_opt;	 /* --ledger */
	char *ledger_dir;	 /* resolved ledger directory (NULL when unknown) */
	struct config *cfg;	 /* loaded per flags, else NULL */
	struct ledger *lg;	 /* opened per flags, else NULL */
	int global_argc;	 /* the whole command line */
	char **global_argv;
	int cmd_argc; /* the command and its arguments (for remote forwarding) */
	char **cmd_argv;
	const char *forwarded_from;    /* --forwarded-from: this run was forwarded over ssh by that
					* user@host; it never forwards again */
	const struct cmd_entry *entry; /* the command being run */
};

struct cmd_entry {
	const char *name;
	const char *summary; /* one line for `shiplog --help` */
	const char *usage;   /* the full `shiplog CMD --help` text */
	unsigned flags;
	/* The command's options as getopt_long takes them, every subcommand's together. The
	 * dispatcher checks the arguments against them before it looks for a config or a ledger, so
	 * an unknown option or a missing value is exit 2 with one message, whatever the machine
	 * has. cmd_no_options: the command takes none (an argument starting with '-' is refused).
	 */
	const char *shortopts;
	const struct option *options;
	/* The words the command takes first, space-separated (its subcommands: "verify export
	 * ..."), for completion; NULL when none. */
	const char *words;
	/* argv[0] is the command name; getopt state is reset before the call. Returns 0 or a
	 * negative code that main maps to an exit code; the command has already said why. */
	int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
};

extern const struct cmd_entry cmd_audit, cmd_check, cmd_completion, cmd_cutover, cmd_deploy,
    cmd_diff, cmd_history, cmd_init, cmd_ledger, cmd_lock, cmd_logs, cmd_metrics, cmd_quarantine,
    cmd_report, cmd_rollback, cmd_show, cmd_soak, cmd_state, cmd_stats, cmd_status, cmd_units;

extern const struct option cmd_no_options[];

extern const struct cmd_entry *const cmd_table[];
extern const size_t cmd_table_len;
const struct cmd_entry *cmd_find(const char *name);

/* Resolves the ledger directory: --ledger, else [target] ledger, else
 * $XDG_STATE_HOME/shiplog/<project> (~/.local/state when unset). malloc'd, or NULL with an error
 * logged when no config names a project. */
char *cmd_ledger_dir(const char *ledger_opt, const struct config *cfg);

/* Opens ctx->lg on demand (for commands that only sometimes need it). */
int cmd_open_ledger(struct cmd_ctx *ctx, bool rw);

/* What the table flags ask for after the configuration: forwarding over ssh (CMD_FORWARDS) and
 * the ledger (CMD_LEDGER_*). The dispatcher calls it before run, except for CMD_LEDGER_RO
 * commands, which call it themselves once their arguments parsed and validated. Returns
 * CMD_RUN_HERE to go on here; otherwise the command's result (the forwarded run's, or the
 * failure to open the ledger, already said). */
#define CMD_RUN_HERE 1

int cmd_ready(struct cmd_ctx *ctx);

/* Checks argv (the command and its arguments) against c's options without reordering it:
 * 0, or SL_EUSAGE after saying which option is unknown or lacks its value. */
int cmd_check_options(const struct cmd_entry *c, int argc, char **argv);

/* What remote_maybe_forward() and remote_preflight() need from this command line: its config,
 * --forwarded-from, the command and its arguments, whether it is a read (CMD_FORWARDS), and the
 * command's --local/--ssh (EXEC_OVERRIDE_*). */
struct remote_request cmd_remote_request(const struct cmd_ctx *ctx, int exec_override);

/* Prints usage of a command and returns SL_EUSAGE: for argument errors. */
int cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
