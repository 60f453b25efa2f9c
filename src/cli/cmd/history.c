/* SPDX-License-Identifier: MIT */
/* shiplog history: operations newest first, one line each. ledger_history walks backward from
 * the end and stops after --limit matches, so the cost follows the answer, not the ledger. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "fleet-ops.h"
#include "fleet-reads.h"
#include "json.h"
#include "out.h"
#include "reads.h"
#include "text.h"
#include "util.h"
#include "view.h"

static int parse_outcome(const char *s, int *out)
{
	int o;

	if (streq(s, "running")) {
		*out = LEDGER_OUT_NONE;
		return 0;
	}
	o = ledger_outcome_from_name(s);
	if (o < 0 || o == LEDGER_OUT_NONE) {
		log_error(
		    "history: bad --outcome '%s': use running, succeeded, failed, rolled-back, "
		    "interrupted or refused",
		    s);
		return SL_EUSAGE;
	}
	*out = o;
	return 0;
}

static const struct option options[] = {
    {"limit", required_argument, NULL, 'n'},
    {"since", required_argument, NULL, 's'},
    {"until", required_argument, NULL, 'u'},
    {"service", required_argument, NULL, 'S'},
    {"runtime", required_argument, NULL, 'r'},
    {"outcome", required_argument, NULL, 'o'},
    {"kind", required_argument, NULL, 'k'},
    {"json", no_argument, NULL, 'J'},
    FLEET_READS_OPTIONS,
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1, .fleet = true};
	struct ledger_op_summary *rows = NULL;
	struct ledger_state *st = NULL;
	uint64_t limit = 20;
	size_t n = 0;
	int opt, r;

	r = fleet_reads_maybe(ctx, &cmd_history, argc, argv);
	if (r != CMD_RUN_HERE)
		return r;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			r = args_u64(&cmd_history, "--limit", optarg, 0, &limit);
			if (r < 0)
				return r;
			break;
		case 's':
			r = args_time(&cmd_history, "--since", optarg, &f.since_ns);
			if (r < 0)
				return r;
			break;
		case 'u':
			r = args_time(&cmd_history, "--until", optarg, &f.until_ns);
			if (r < 0)
				return r;
			break;
		case 'S':
			f.service = optarg;
			break;
		case 'r':
			f.runtime = ledger_runtime_from_name(optarg);
			if (f.runtime < 0) {
				log_error("history: bad --runtime '%s': use native or docker",
					  optarg);
				return SL_EUSAGE;
			}
			break;
		case 'o':
			r = parse_outcome(optarg, &f.outcome);
			if (r < 0)
				return r;
			break;
		case 'k':
			if (!streq(optarg, "deploy") && !streq(optarg, "rollback") &&
			    !streq(optarg, "fleet")) {
				log_error("history: bad --kind '%s': use deploy, rollback or fleet",
					  optarg);
				return SL_EUSAGE;
			}
			f.kind = optarg;
			break;
		case 'J':
			out_settings.json = true;
			break;
		default:
			return args_bad_option(&cmd_history, argv, optind, optopt);
		}
	}
	if (optind < argc) {
		log_error("history: unexpected argument '%s'; see 'shiplog history --help'",
			  argv[optind]);
		return SL_EUSAGE;
	}
	if (f.since_ns && f.until_ns && f.until_ns < f.since_ns) {
		log_error("history: --until is before --since; swap them");
		return SL_EUSAGE;
	}
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;

	r = ledger_history(ctx->lg, &f, (size_t)limit, &rows, &n);
	if (r < 0)
		return reads_ledger_fail(&cmd_history, ctx->lg, r, "cannot read the history", 0);
	/* The current state marks commits a rollback quarantined. */
	st = xmalloc(sizeof(*st));
	if (ledger_state_at(ctx->lg, UINT64_MAX, st) < 0) {
		free(st);
		st = NULL;
	}

	if (out_settings.json) {
		for (size_t i = 0; i < n; i++)
			out_json(fleet_ops_is_fleet(&rows[i])
				     ? fleet_ops_row_json(ctx->lg, &rows[i])
				     : render_op_json(&rows[i], st));
	} else if (n == 0) {
		printf("no operations%s\n", f.since_ns || f.until_ns || f.service ||
						    f.runtime >= 0 || f.outcome >= 0 || f.kind
						? " match"
						: " recorded yet");
	} else {
		bool marked = false;

		render_op_header(stdout);
		for (size_t i = 0; i < n; i++) {
			const struct ledger_op_requested *req =
			    render_event_request(&rows[i].request);

			if (fleet_ops_is_fleet(&rows[i]))
				fleet_ops_row_text(stdout, ctx->lg, &rows[i]);
			else
				render_op_text(stdout, &rows[i], st);
			if (st && req && !str_empty(req->commit) &&
			    ledger_state_quarantined(st, req->commit))
				marked = true;
		}
		if (marked)
			printf("(! = commit quarantined by a rollback)\n");
	}

	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	free(st);
	return 0;
}

const struct cmd_entry cmd_history = {
    .name = "history",
    .summary = "operations newest first: number, time, kind, ref, commit, scope, outcome, duration",
    .usage =
	"usage: shiplog history [--limit N] [--since T] [--until T] [--service S]\n"
	"                       [--runtime native|docker] [--outcome O]\n"
	"                       [--kind deploy|rollback|fleet]\n"
	"                       [--json] [--host NAME | --all-hosts]\n"
	"\n"
	"Lists deploys and rollbacks, newest first, one line each: its number (OP: 1, 2, 3 ...\n"
	"in ledger order; refusals and nested automatic rollbacks count too), start time (UTC),\n"
	"kind,\n"
	"mode or ref, target commit (12 characters; '!' when a rollback quarantined it),\n"
	"runtime, scope (services, or 'all'), outcome, duration and who ran it.\n"
	"Outcomes: running, succeeded, failed, rolled-back (op N: the rollback that undid it),\n"
	"interrupted (its process died), refused (GUARD: the guard that said no).\n"
	"A fleet operation this machine ran as controller (deploy --hosts/--all-hosts/\n"
	"--retry-failed, rollback --all-hosts) is numbered among them: kind 'fleet', REF its\n"
	"command and target, SCOPE its waves, OUTCOME its fleet.finished ('unfinished' while\n"
	"it runs or when its controller was lost), then a 'waves:' line and a 'hosts:' line\n"
	"with each host's outcome, its operation number on that host and the commit it went\n"
	"to. Filtering by --service, --runtime or --kind deploy|rollback leaves them out.\n"
	"\n"
	"Options:\n"
	"  -n, --limit N      at most N operations (default 20; 0 = all)\n"
	"  --since T          started at or after T\n"
	"  --until T          started at or before T\n"
	"  --service S        touched service S\n"
	"  --runtime R        on runtime R (native or docker)\n"
	"  --outcome O        running, succeeded, failed, rolled-back, interrupted, refused\n"
	"  --kind K           deploy, rollback or fleet\n"
	"  --json             one JSON object per operation and line: \"number\" is its number,\n"
	"                     \"op\" its id (the sequence of its first event, seq:N elsewhere);\n"
	"                     a fleet operation's has \"kind\":\"fleet\", \"fleet_kind\",\n"
	"                     \"target\", \"commit\", \"waves\" and \"hosts\" ([{host, wave,\n"
	"                     action, outcome, host_op, commit, detail, duration_ns}])\n"
	"  --host NAME        run it on [host NAME] (its own shiplog, over ssh), as it answers\n"
	"  --all-hosts        every host at once, a host column on each line (--json: a \"host\"\n"
	"                     field); a host never deployed gets one line; one that did not\n"
	"                     answer, or answered over 1 MiB (never shown cut: use --host\n"
	"                     NAME or --limit), gets one line (exit 4)\n"
	"  --host-timeout D   a host's answer is awaited this long (default 20s)\n"
	"\n"
	"T is RFC 3339 (2026-11-27T08:00:00Z, 2026-11-27T09:00:00+01:00) or an age: 45s, 90m,\n"
	"2h, 3d (that long ago).\n"
	"\n"
	"Examples:\n"
	"  shiplog history\n"
	"  shiplog history --since 3d --outcome rolled-back\n"
	"  shiplog history --service api --runtime native --limit 5 --json\n"
	"  shiplog history --all-hosts --limit 3\n"
	"\n"
	"Exit codes: 0 ok, 2 usage (bad time, number or name), 4 unreadable ledger, 5 no ledger\n"
	"(nothing was deployed with it yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .shortopts = "n:",
    .options = options,
    .run = run,
};
