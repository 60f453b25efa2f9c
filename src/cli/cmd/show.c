/* SPDX-License-Identifier: MIT */
/* shiplog show ID: every event of one operation, with the events of a rollback nested in it (an
 * automatic rollback after a failed verify), then the Deploy Timings block as deploy prints it. */
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
#include "soak.h"
#include "text.h"
#include "timings.h"
#include "util.h"

#define SHOW_MAX_NESTED 16

struct show {
	uint64_t op;
	uint64_t end;	     /* the operation's last event */
	int64_t base_ns;     /* its first event's time */
	const char *outcome; /* from the terminal event; NULL when none was seen */
	char outcome_buf[32];
	uint64_t nested[SHOW_MAX_NESTED];
	size_t nnested;
	struct render_timings timings;
	json_t *events;	      /* --json */
	int64_t end_ns;	      /* its last event's time */
	struct strv services; /* its scope, from its request */
	bool fleet;	      /* a fleet operation (fleet.started first) */
};

static const struct option options[] = {
    {"json", no_argument, NULL, 'J'},
    {"logs", no_argument, NULL, 'L'},
    FLEET_READS_OPTIONS,
    {0},
};

static int end_cb(const struct ledger_event *ev, void *ud)
{
	struct show *s = ud;

	s->end = ev->seq;
	return 0;
}

static bool show_is_nested(const struct show *s, uint64_t op)
{
	for (size_t i = 0; i < s->nnested; i++)
		if (s->nested[i] == op)
			return true;
	return false;
}

/* The kept output of a build or hook, under its step: "  > line". */
static void show_output(const char *text, bool own)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		printf("%9s  %-7s %s> %.*s\n", "", "", own ? "" : "  | ", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void show_event(struct show *s, const struct ledger_event *ev)
{
	bool own = ev->op == s->op;

	if (ev->seq == s->op) {
		s->base_ns = ev->time_ns;
		s->fleet = ev->type == LEDGER_EV_FLEET_STARTED;
	}
	if (ev->seq == s->end)
		s->end_ns = ev->time_ns;
	if (own && ev->type == LEDGER_EV_OP_REQUESTED && ev->u.op_requested.kind)
		strlcpy_(s->timings.kind, ev->u.op_requested.kind, sizeof(s->timings.kind));
	if (own && !s->services.n &&
	    (ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_REFUSED)) {
		const struct ledger_strv *sv = ev->type == LEDGER_EV_OP_REQUESTED
						   ? &ev->u.op_requested.services
						   : &ev->u.op_refused.req.services;
		for (uint32_t i = 0; i < sv->n; i++)
			strv_push(&s->services, sv->v[i]);
	}
	if (!own && ev->type == LEDGER_EV_OP_REQUESTED && ev->u.op_requested.reverts == s->op &&
	    s->nnested < SHOW_MAX_NESTED)
		s->nested[s->nnested++] = ev->op;
	if (!own && !show_is_nested(s, ev->op))
		return;

	if (own && ev->type == LEDGER_EV_PHASE_FINISHED)
		render_timings_add(&s->timings, ev->u.phase.name, ev->u.phase.duration_ns);
	if (own && ev->type == LEDGER_EV_OP_FINISHED) {
		snprintf(s->outcome_buf, sizeof(s->outcome_buf), "%s",
			 ledger_outcome_name(ev->u.op_finished.outcome));
		s->outcome = s->outcome_buf;
	}
	if (own && ev->type == LEDGER_EV_OP_REFUSED)
		s->outcome = "refused";
	if (own && ev->type == LEDGER_EV_FLEET_FINISHED) {
		snprintf(s->outcome_buf, sizeof(s->outcome_buf), "%s",
			 ev->u.fleet_finished.outcome);
		s->outcome = s->outcome_buf;
	}

	if (s->events) {
		json_t *o = render_event_json(ev);

		json_object_set_new(o, "offset_ns", json_integer(ev->time_ns - s->base_ns));
		json_object_set_new(o, "nested", json_boolean(!own));
		json_array_append_new(s->events, o);
	} else {
		struct buf b = {0};
		char off[32];

		render_offset(ev->time_ns, s->base_ns, off, sizeof(off));
		render_event_text(&b, ev);
		printf("%9s  #%-6" PRIu64 " %s", off, ev->seq, own ? "" : "  | ");
		out_paint(stdout, render_event_tone(ev), "%s", b.data);
		putchar('\n');
		buf_free(&b);
		if (ev->type == LEDGER_EV_STEP_RAN && !str_empty(ev->u.step_ran.output))
			show_output(ev->u.step_ran.output, own);
	}
}

/* --logs: what the operation's services logged from its first event to its last (to now
 * while it runs), each on the runtime that ran it at its end; the same blocks as audit --logs. */
static void show_logs(struct cmd_ctx *ctx, const struct show *s)
{
	struct ledger_strv only = {(uint32_t)s->services.n, (const char **)s->services.v};
	bool open = streq(s->outcome, "running") || streq(s->outcome, "unfinished");

	printf("\nlogs of its services from its start to its %s:\n", open ? "last event" : "end");
	soak_logs_print_window(ctx->cfg, ctx->lg, s->end, s->services.n ? &only : NULL, s->base_ns,
			       streq(s->outcome, "running") ? 0 : s->end_ns + 1);
}

static int parse_args(const struct cmd_ctx *ctx, int argc, char **argv, bool *logs)
{
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'J')
			out_settings.json = true;
		else if (opt == 'L')
			*logs = true;
		else
			return args_bad_option(&cmd_show, argv, optind, optopt);
	}
	if (*logs && !ctx->cfg) {
		log_error(
		    "show: --logs reads the services' logs and needs a shiplog.conf (-c FILE)");
		return SL_EUSAGE;
	}
	if (*logs && out_settings.json) {
		log_error("show: --logs is text; leave out --json");
		return SL_EUSAGE;
	}
	return 0;
}

/* An operation without a terminal event: still running, or its process died. */
static const char *open_outcome(struct cmd_ctx *ctx, uint64_t op)
{
	struct ledger_state *st = xmalloc(sizeof(*st));
	bool running = ledger_state_at(ctx->lg, UINT64_MAX, st) == 0 &&
		       (st->inflight.op == op || st->parent.op == op);

	free(st);
	return running ? "running" : "unfinished";
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct show s = {0};
	struct ledger_iter *it = NULL;
	uint64_t number = 0;
	bool logs = false;
	int r;

	r = fleet_reads_maybe(ctx, &cmd_show, argc, argv);
	if (r != CMD_RUN_HERE)
		return r;
	r = parse_args(ctx, argc, argv, &logs);
	if (r < 0)
		return r;
	if (optind + 1 != argc) {
		log_error(
		    "show: expected one operation: its number (12) or the sequence of its first "
		    "event (seq:157); see 'shiplog history'");
		return SL_EUSAGE;
	}
	if (reads_check_op(&cmd_show, argv[optind]) < 0)
		return SL_EUSAGE;
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;
	r = reads_resolve_op(&cmd_show, ctx->lg, argv[optind], &s.op, &number);
	if (r < 0)
		return r;

	r = ledger_op_events(ctx->lg, s.op, end_cb, &s);
	if (r == LEDGER_ENOTFOUND || (r == 0 && s.end == 0)) {
		log_error("show: operation %" PRIu64 " (seq:%" PRIu64 ") has no events", number,
			  s.op);
		return SL_EUSAGE;
	}
	if (r < 0)
		return reads_ledger_fail(&cmd_show, ctx->lg, r, "cannot read the operation", 0);

	if (out_settings.json)
		s.events = json_array();
	else
		printf("operation %" PRIu64 " (seq:%" PRIu64 ")\n", number, s.op);
	r = ledger_iter_new(ctx->lg, LEDGER_FORWARD, s.op, &it);
	if (r < 0) {
		reads_ledger_fail(&cmd_show, ctx->lg, r, "cannot read the ledger", 0);
		goto out;
	}
	for (;;) {
		const struct ledger_event *ev = NULL;

		r = ledger_iter_next(it, &ev);
		if (r < 0) {
			reads_ledger_fail(&cmd_show, ctx->lg, r, "cannot read an event",
					  ev ? ev->seq : 0);
			goto out;
		}
		if (r == 0 || ev->seq > s.end)
			break;
		show_event(&s, ev);
	}
	r = 0;

	if (!s.outcome)
		s.outcome = s.fleet ? "unfinished" : open_outcome(ctx, s.op);

	if (out_settings.json) {
		json_t *o = json_object();

		json_object_set_new(o, "op", json_integer((json_int_t)s.op));
		json_object_set_new(o, "number", json_integer((json_int_t)number));
		json_object_set_new(o, "outcome", json_string(s.outcome));
		json_object_set_new(o, "events", s.events);
		s.events = NULL;
		json_object_set_new(o, "timings", render_timings_json(&s.timings));
		if (s.fleet)
			fleet_ops_show(ctx->lg, s.op, o);
		out_json(o);
	} else if (s.fleet) {
		if (streq(s.outcome, "unfinished"))
			printf("(no fleet.finished: it still runs, or its controller was lost; "
			       "'shiplog status --all-hosts' says what each host runs)\n");
		fleet_ops_show(ctx->lg, s.op, NULL);
	} else {
		if (streq(s.outcome, "unfinished"))
			printf(
			    "(no terminal event: its process died; the next operation records it "
			    "as interrupted)\n");
		if (s.timings.n)
			render_timings_print(stdout, &s.timings);
		if (logs)
			show_logs(ctx, &s);
	}
out:
	strv_free(&s.services);
	json_decref(s.events);
	ledger_iter_free(it);
	return r;
}

const struct cmd_entry cmd_show = {
    .name = "show",
    .summary = "every event of one operation: what ran, results, timings",
    .usage =
	"usage: shiplog show [--json | --logs] [--host NAME] N|seq:S\n"
	"\n"
	"Prints every event of one operation, named by its number N (1, 2, 3 ..., the OP column\n"
	"of 'shiplog history') or by the sequence S of its first event (seq:157, its id), under\n"
	"a line 'operation N (seq:S)', one line each, with its time offset from the start and\n"
	"its sequence number:\n"
	"  == phase ==                  a phase started; '-- phase ok in 1.20s' when it ended\n"
	"  $ argv  [what] exit N, dur   an external command or mutation\n"
	"  git moved A -> B             the checkout moved\n"
	"  restarted S (unit, rt): ...  a restart with its job result and pid before -> after\n"
	"  health S kind target: ...    a health check: ok/FAILED, attempts, latency, detail\n"
	"  finished: OUTCOME in dur     the terminal event\n"
	"A fleet operation (kind fleet in 'shiplog history') shows its fleet.* events, then its\n"
	"outcome, its waves and one line per host run: host, wave, deploy or rollback, outcome,\n"
	"its operation number on that host, the commit it went to, duration and detail.\n"
	"Events of a rollback nested in the operation (the automatic rollback after a failed\n"
	"verify) are shown indented with '| '. Then the Deploy Timings block, as deploy printed\n"
	"it: one '[deploy] <phase>: <dur>' line per finished phase and '[deploy] total: <dur>'\n"
	"(the sum of the phases); a rollback's says Rollback and [rollback], a cut-over's Cutover\n"
	"and [cutover].\n"
	"\n"
	"Options:\n"
	"  --logs    then what the operation's services logged from its first event to its\n"
	"            last, each on the runtime that ran it then (the journal for a unit, docker\n"
	"            logs --since/--until for a container): its last [soak] log_lines lines and\n"
	"            its count of lines and error lines, as 'audit --logs' shows them; needs\n"
	"            the config\n"
	"  --json    {\"op\":S,\"number\":N,\"outcome\":..,\"events\":[..],\"timings\":"
	"{\"phases\":[..],\"total_ns\":..}} (\"op\" is the id, the sequence S)\n"
	"  --host NAME  the operation of [host NAME] (its own shiplog, over ssh), as it answers\n"
	"  --host-timeout D\n"
	"            how long a host's answer is awaited (default 20s)\n"
	"\n"
	"Examples:\n"
	"  shiplog show 12\n"
	"  shiplog show seq:157\n"
	"  shiplog show 12 --json | jq '.timings'\n"
	"  shiplog show 12 --logs\n"
	"  shiplog show 3 --host web2\n"
	"\n"
	"Exit codes: 0 ok, 2 usage (not a number or seq:S, no such operation, or S inside an\n"
	"operation), 4 unreadable ledger, 5 no ledger (nothing deployed yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .options = options,
    .run = run,
};
