/* SPDX-License-Identifier: MIT */
/* The read commands across a fleet (docs/fleet.md): `--host NAME` runs the command on that
 * [host NAME] and shows its answer as it is; `--all-hosts` runs it on every host at once and
 * shows the answers side by side, a host column (or "host" field) on every line, with a host
 * that did not answer said on its own line rather than stopping the rest. status --all-hosts is
 * a host x service table instead, which names a fleet running more than one commit. */
#ifndef SHIPLOG_FLEET_READS_H
#define SHIPLOG_FLEET_READS_H

#include <getopt.h>
#include <stdbool.h>

#include "cmd.h"

enum { FLEET_READS_OPT_HOST = 0x4801, FLEET_READS_OPT_ALL_HOSTS, FLEET_READS_OPT_TIMEOUT };

/* For a command's getopt table (so the dispatcher's option check knows them). */
#define FLEET_READS_OPTIONS                                                                        \
	{"host", required_argument, NULL, FLEET_READS_OPT_HOST},                                   \
	    {"all-hosts", no_argument, NULL, FLEET_READS_OPT_ALL_HOSTS},                           \
	{                                                                                          \
		"host-timeout", required_argument, NULL, FLEET_READS_OPT_TIMEOUT                   \
	}

/* When argv (the command and its arguments) has --host NAME or --all-hosts, runs the command
 * on those hosts (the rest of argv forwarded word for word; one host's answer passes through
 * as it comes, whatever its size) and returns its result: 0; the
 * host's own code for --host; SL_EENV when a host did not answer (the others are shown);
 * SL_EUSAGE (said) for a bad use. Otherwise returns CMD_RUN_HERE and argv is untouched. */
int fleet_reads_maybe(struct cmd_ctx *ctx, const struct cmd_entry *c, int argc, char **argv);

struct fleet_answer;

/* Whether a host answered that it has no ledger yet: never deployed with this shiplog.conf (a
 * state of the host, not a failed read). */
bool fleet_answer_never_deployed(const struct fleet_answer *a);

/* status --all-hosts (fleet-status.c): the host x service table of the answers to
 * "shiplog --json status", or one JSON document. 0 when every host answered (a host never
 * deployed is an answer: its row says so), or SL_EENV when a host did not answer. */
int fleet_status_show(struct fleet_answer *as, size_t n);

#endif
