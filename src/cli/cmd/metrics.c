/* SPDX-License-Identifier: MIT */
/* shiplog metrics: the ledger's state as Prometheus metrics, for node_exporter's textfile
 * collector. One state read (snapshot plus tail) and one short history walk per service. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "lock.h"
#include "metrics.h"
#include "out.h"
#include "util.h"

static const struct option options[] = {
    {"output", required_argument, NULL, 'o'},
    {"openmetrics", no_argument, NULL, 'O'},
    {0},
};

/* The newest operation that touched each service in the state. */
static int last_ops(struct ledger *lg, const struct ledger_state *st, struct metrics_last_op *last,
		    struct ledger_op_summary *keep, size_t *n)
{
	*n = 0;
	for (uint32_t i = 0; i < st->nservices; i++) {
		struct ledger_history_filter f = {
		    .service = st->services[i].name, .runtime = -1, .outcome = -1};
		struct ledger_op_summary *rows = NULL;
		size_t nrows = 0;
		int r = ledger_history(lg, &f, 1, &rows, &nrows);

		if (r < 0)
			return r;
		if (nrows) {
			keep[*n] = rows[0];
			last[*n] = (struct metrics_last_op){
			    .service = st->services[i].name,
			    .op = rows[0].op,
			    .finished_ns = rows[0].finished_ns,
			    .outcome = rows[0].refused ? LEDGER_OUT_REFUSED : rows[0].outcome,
			    .kind = rows[0].request.u.op_requested.kind
					? rows[0].request.u.op_requested.kind
					: "deploy",
			};
			(*n)++;
		}
		free(rows);
	}
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *path = NULL;
	struct metrics_input in = {.lock_held = -1, .now_ns = now_ns()};
	struct ledger_state *st = NULL;
	struct metrics_last_op *last = NULL;
	struct ledger_op_summary *keep = NULL;
	struct lock_holder holder;
	struct buf text = {0};
	size_t nlast = 0;
	bool held;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			path = optarg;
			break;
		case 'O':
			in.openmetrics = true;
			break;
		default:
			return cmd_usage_error(&cmd_metrics, "bad option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_metrics, "unexpected argument '%s'", argv[optind]);
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;

	st = xmalloc(sizeof(*st));
	r = ledger_state_at(ctx->lg, UINT64_MAX, st);
	if (r < 0) {
		log_error("cannot replay the ledger '%s': %s", ctx->ledger_dir, ledger_strerror(r));
		goto out;
	}
	last = xcalloc(st->nservices + 1, sizeof(*last));
	keep = xcalloc(st->nservices + 1, sizeof(*keep));
	r = last_ops(ctx->lg, st, last, keep, &nlast);
	if (r < 0) {
		log_error("cannot read the ledger's history '%s': %s", ctx->ledger_dir,
			  ledger_strerror(r));
		goto out;
	}
	if (lock_status(ctx->ledger_dir, &held, &holder) == 0)
		in.lock_held = held;
	in.st = st;
	in.last = last;
	in.nlast = nlast;
	metrics_write(&text, &in);
	if (!path) {
		fwrite(text.data, 1, text.len, stdout);
	} else {
		/* atomic, so that the collector never reads half a file; readable by the collector,
		 * which runs as another user: nothing in it is secret (names, commits, counts) */
		r = write_file_atomic(path, text.data, text.len, 0644);
		if (r < 0)
			log_error("cannot write '%s': %s; check that its directory exists and is "
				  "writable",
				  path, strerror(-r));
	}
out:
	for (size_t i = 0; i < nlast; i++)
		ledger_op_summary_release(&keep[i]);
	free(keep);
	free(last);
	free(st);
	buf_free(&text);
	return r < 0 ? (r == -ENOENT || r == -EACCES ? SL_EENV : r) : 0;
}

const struct cmd_entry cmd_metrics = {
    .name = "metrics",
    .summary = "the ledger as Prometheus metrics, for node_exporter's textfile collector",
    .usage =
	"usage: shiplog metrics [-o FILE] [--openmetrics]\n"
	"\n"
	"Prints the ledger's state as metrics in the Prometheus text format, which\n"
	"node_exporter's textfile collector reads: operations by outcome, phase durations as\n"
	"histograms, each service's commit, health, last restart and last-good time and age,\n"
	"the outcome of the newest operation that touched it, quarantined commits, whether an\n"
	"operation is running and whether the deploy lock is held. It reads one snapshot and a\n"
	"few events: cheap enough to run every minute from a timer.\n"
	"\n"
	"  -o, --output FILE  write FILE atomically (a temporary file renamed over it), mode\n"
	"                     0644 so that the collector can read it\n"
	"  --openmetrics      OpenMetrics 1.0 instead: counter families without _total, '# EOF'\n"
	"\n"
	"Examples:\n"
	"  shiplog metrics\n"
	"  shiplog metrics -o /var/lib/prometheus/node-exporter/shiplog.prom\n"
	"  shiplog metrics | promtool check metrics\n"
	"\n"
	"Exit codes: 0 written, 2 usage, 4 FILE could not be written, 5 no ledger (nothing\n"
	"deployed yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .shortopts = "o:",
    .options = options,
    .run = run,
};
