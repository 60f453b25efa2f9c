/* SPDX-License-Identifier: MIT */
/* shiplog state --at SEQ|TIME: the reducer state replayed to a past point (nearest snapshot plus
 * at most snapshot_every events), rendered like status. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "json.h"
#include "out.h"
#include "reads.h"
#include "text.h"
#include "util.h"

static const struct option options[] = {
    {"at", required_argument, NULL, 'a'},
    {"json", no_argument, NULL, 'J'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ledger_state *st = NULL;
	const char *at = NULL;
	char desc[96];
	uint64_t seq;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			at = optarg;
			break;
		case 'J':
			out_settings.json = true;
			break;
		default:
			return args_bad_option(&cmd_state, argv, optind, optopt);
		}
	}
	if (optind < argc) {
		log_error("state: unexpected argument '%s'; see 'shiplog state --help'",
			  argv[optind]);
		return SL_EUSAGE;
	}
	if (!at) {
		log_error("state: --at is required (a sequence, seq:N, or a time); for now use "
			  "'shiplog status'");
		return SL_EUSAGE;
	}
	if (reads_check_point(&cmd_state, at, false) < 0)
		return SL_EUSAGE;
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;
	r = reads_resolve_point(&cmd_state, ctx->lg, at, false, &seq, desc, sizeof(desc));
	if (r < 0)
		return r;

	st = xmalloc(sizeof(*st));
	if (seq == 0) {
		ledger_state_init(st);
	} else {
		r = ledger_state_at(ctx->lg, seq, st);
		if (r < 0) {
			reads_ledger_fail(&cmd_state, ctx->lg, r, "cannot replay the ledger", 0);
			goto out;
		}
	}
	if (out_settings.json) {
		json_t *o = render_state_json(st);

		json_object_set_new(o, "at", json_str(at));
		out_json(o);
	} else {
		printf("state at %s\n", desc);
		render_state_text(stdout, st);
	}
out:
	free(st);
	return r;
}

const struct cmd_entry cmd_state = {
    .name = "state",
    .summary = "the state replayed to a past point (a sequence or a time)",
    .usage =
	"usage: shiplog state --at SEQ|seq:N|TIME [--json]\n"
	"\n"
	"Replays the ledger to a past point and shows the state there, like 'shiplog status'\n"
	"(without the lock): per service the owner, running commit, health and last-good;\n"
	"quarantined commits; the operation that was in flight.\n"
	"\n"
	"  --at N          after event N (a plain number, or seq:N); 0 = the empty ledger\n"
	"  --at TIME       after the last event before TIME: RFC 3339 (2026-11-27T08:00:00Z)\n"
	"                  or an age like 45s, 90m, 2h, 3d\n"
	"  --json          one JSON document, the same fields as 'status --json' plus \"at\"\n"
	"\n"
	"Examples:\n"
	"  shiplog state --at 120\n"
	"  shiplog state --at 2026-11-27T08:00:00Z\n"
	"  shiplog state --at 2h --json\n"
	"\n"
	"Exit codes: 0 ok, 2 usage (bad time, or no such sequence), 4 unreadable ledger, 5 no\n"
	"ledger (nothing deployed yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO,
    .shortopts = "",
    .options = options,
    .run = run,
};
