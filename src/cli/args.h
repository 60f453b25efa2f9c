/* SPDX-License-Identifier: MIT */
/* Argument parsing the commands share: times, numbers, a bad option, the --json-only commands.
 * Each reports a usage error once, naming the command, and returns SL_EUSAGE. */
#ifndef SHIPLOG_ARGS_H
#define SHIPLOG_ARGS_H

#include <stdint.h>

#include "cmd.h"

/* Parses a time argument (RFC 3339 or an age like 90m, 2h, 3d). On error prints one line naming
 * the command, the option, the value and the accepted forms, and returns SL_EUSAGE. */
int args_time(const struct cmd_entry *c, const char *opt, const char *value, int64_t *out);
/* A decimal number >= min. Prints one line and returns SL_EUSAGE otherwise. */
int args_u64(const struct cmd_entry *c, const char *what, const char *value, uint64_t min,
	     uint64_t *out);
/* For getopt's '?' with opterr = 0: one line naming the bad option; returns SL_EUSAGE. */
int args_bad_option(const struct cmd_entry *c, char **argv, int optind_, int optopt_);
/* Option parsing for commands whose only option is --json: 0 with optind at the first operand,
 * or the usage error already reported. */
int args_json_only(const struct cmd_entry *c, int argc, char **argv);

#endif
