/* SPDX-License-Identifier: MIT */
/* shiplog audit --since T [--until T]: every event in a time window, one line each. Seeks to the
 * window by binary search on time, then reads forward. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "fleet-reads.h"
#include "json.h"
#include "out.h"
#include "reads.h"
#include "soak.h"
#include "text.h"
#include "util.h"

static const struct option options[] = {
    {"since", required_argument, NULL, 's'},
    {"until", required_argument, NULL, 'u'},
    {"json", no_argument, NULL, 'J'},
    {"logs", no_argument, NULL, 'L'},
    FLEET_READS_OPTIONS,
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ledger_iter *it = NULL;
	int64_t since = 0, until = 0;
	bool have_since = false, logs = false;
	uint64_t start, last = 0, count = 0;
	int opt, r;

	r = fleet_reads_maybe(ctx, &cmd_audit, argc, argv);
	if (r != CMD_RUN_HERE)
		return r;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			r = args_time(&cmd_audit, "--since", optarg, &since);
			if (r < 0)
				return r;
			have_since = true;
			break;
		case 'u':
			r = args_time(&cmd_audit, "--until", optarg, &until);
			if (r < 0)
				return r;
			break;
		case 'J':
			out_settings.json = true;
			break;
		case 'L':
			logs = true;
			break;
		default:
			return args_bad_option(&cmd_audit, argv, optind, optopt);
		}
	}
	if (optind < argc) {
		log_error("audit: unexpected argument '%s'; see 'shiplog audit --help'",
			  argv[optind]);
		return SL_EUSAGE;
	}
	if (!have_since) {
		log_error("audit: --since is required, e.g. 'shiplog audit --since 2h'");
		return SL_EUSAGE;
	}
	if (until && until < since) {
		log_error("audit: --until is before --since; swap them");
		return SL_EUSAGE;
	}
	if (logs && !ctx->cfg) {
		log_error(
		    "audit: --logs reads the services' logs and needs a shiplog.conf (-c FILE)");
		return SL_EUSAGE;
	}
	if (logs && out_settings.json) {
		log_error(
		    "audit: --logs is text; leave out --json (soak report --json has the logs)");
		return SL_EUSAGE;
	}
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;

	r = ledger_seek_time(ctx->lg, since, &start);
	if (r < 0)
		return reads_ledger_fail(&cmd_audit, ctx->lg, r, "cannot search the ledger by time",
					 0);
	r = ledger_last_seq(ctx->lg, &last);
	if (r < 0)
		return reads_ledger_fail(&cmd_audit, ctx->lg, r, "cannot read the ledger", 0);
	if (start == 0 || start > last)
		goto done; /* the window starts after the newest event */
	r = ledger_iter_new(ctx->lg, LEDGER_FORWARD, start, &it);
	if (r < 0)
		return reads_ledger_fail(&cmd_audit, ctx->lg, r, "cannot read the ledger", 0);
	for (;;) {
		const struct ledger_event *ev = NULL;

		r = ledger_iter_next(it, &ev);
		if (r < 0) {
			reads_ledger_fail(&cmd_audit, ctx->lg, r, "cannot read an event",
					  ev ? ev->seq : 0);
			goto out;
		}
		if (r == 0)
			break;
		if (ev->time_ns < since)
			continue;
		if (until && ev->time_ns >= until)
			break;
		count++;
		if (out_settings.json) {
			out_json(render_event_json(ev));
		} else {
			struct buf b = {0};
			char t[40];

			format_time(ev->time_ns, t, sizeof(t));
			render_event_text(&b, ev);
			printf("%s  #%-6" PRIu64 " op %-6" PRIu64 " %-16s %s\n", t, ev->seq, ev->op,
			       str_empty(ev->actor) ? "-" : ev->actor, b.data);
			buf_free(&b);
		}
	}
done:
	r = 0;
	if (!out_settings.json && count == 0)
		printf("no events in the window\n");
	/* every service, on the runtime that runs it now */
	if (logs)
		soak_logs_print_window(ctx->cfg, ctx->lg, UINT64_MAX, NULL, since, until);
out:
	ledger_iter_free(it);
	return r;
}

const struct cmd_entry cmd_audit = {
    .name = "audit",
    .summary = "everything that happened in a time window, one event per line",
    .usage =
	"usage: shiplog audit --since T [--until T] [--json | --logs] [--host NAME | --all-hosts]\n"
	"\n"
	"Prints every ledger event whose time is at or after --since and before --until (default:\n"
	"now), oldest first, one line each: time (UTC), sequence, operation, actor, and what\n"
	"happened (requests, refusals, phases, commands with exit codes, checkout moves,\n"
	"restarts, health checks, lock breaks, soak windows, observations). Events of types\n"
	"this shiplog does not know are shown by their type name.\n"
	"\n"
	"Options:\n"
	"  --since T   start of the window (required)\n"
	"  --until T   end of the window (exclusive)\n"
	"  --json      one JSON object per event and line (the 'ledger export' format)\n"
	"  --logs      then what each service logged in the window, on the runtime that runs\n"
	"              it (the journal for a unit, docker logs for a container): its last\n"
	"              [soak] log_lines lines and its count of lines and error lines\n"
	"  --host NAME, --all-hosts, --host-timeout D\n"
	"              on [host NAME], or on every host at once with a host column (a host\n"
	"              never deployed: one line; a host that did not answer, or whose\n"
	"              answer is over the 1 MiB --all-hosts holds per host: one line, never\n"
	"              a cut answer, exit 4; --host streams it whole); D: how long a host is\n"
	"              awaited (default 20s)\n"
	"\n"
	"T is RFC 3339 (2026-11-27T08:00:00Z) or an age: 45s, 90m, 2h, 3d (that long ago).\n"
	"\n"
	"Examples:\n"
	"  shiplog audit --since 24h\n"
	"  shiplog audit --since 2026-11-27T08:00:00Z --until 2026-11-27T12:00:00Z --json\n"
	"\n"
	"Exit codes: 0 ok, 2 usage (missing or bad time), 4 unreadable ledger, 5 no ledger\n"
	"(nothing was deployed with it yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO,
    .shortopts = "",
    .options = options,
    .run = run,
};
