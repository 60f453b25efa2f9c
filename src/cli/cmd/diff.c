/* SPDX-License-Identifier: MIT */
/* shiplog diff A B: the states at two points of the ledger, compared service by service. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "out.h"
#include "reads.h"
#include "text.h"
#include "util.h"
#include "view.h"

static const struct ledger_service_state empty_service = {.owner = -1};

static const char *owner_name(int owner)
{
	return owner >= 0 && owner < LEDGER_RT__COUNT ? ledger_runtime_name(owner) : "none";
}

static const char *good_commit(const struct ledger_service_runtime *r)
{
	return r->ngood ? r->good[0].commit : "";
}

static json_t *change_json(json_t *from, json_t *to)
{
	return json_pack("{s:o,s:o}", "from", from, "to", to);
}

static json_t *commit_json(const char *c)
{
	return str_empty(c) ? json_null() : json_str(c);
}

/* One service: returns NULL when nothing changed, else its JSON; prints text lines. */
static json_t *diff_service(const char *name, const struct ledger_service_state *a,
			    const struct ledger_service_state *b, bool text)
{
	json_t *o = json_object(), *rts = json_object();
	char c1[RENDER_SHORT_COMMIT + 1], c2[RENDER_SHORT_COMMIT + 1];
	bool changed = false;

	if (a->owner != b->owner) {
		json_object_set_new(
		    o, "owner",
		    change_json(json_str(owner_name(a->owner)), json_str(owner_name(b->owner))));
		if (text)
			printf("%s: owner %s -> %s\n", name, owner_name(a->owner),
			       owner_name(b->owner));
		changed = true;
	}
	for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
		const struct ledger_service_runtime *ra = &a->rt[rt], *rb = &b->rt[rt];
		const char *rtn = ledger_runtime_name(rt);
		json_t *ro = json_object();

		if (!streq(ra->commit, rb->commit)) {
			json_object_set_new(
			    ro, "commit",
			    change_json(commit_json(ra->commit), commit_json(rb->commit)));
			if (text)
				printf("%s: %s commit %s -> %s\n", name, rtn,
				       render_short_commit(ra->commit, c1),
				       render_short_commit(rb->commit, c2));
		}
		if (!streq(ra->env, rb->env) && !str_empty(ra->env) && !str_empty(rb->env)) {
			json_object_set_new(ro, "env",
					    change_json(json_str(ra->env), json_str(rb->env)));
			if (text)
				printf("%s: %s environment changed (digest %.12s -> %.12s)\n", name,
				       rtn, ra->env, rb->env);
		}
		if (ra->healthy != rb->healthy && !str_empty(rb->commit)) {
			json_object_set_new(
			    ro, "healthy",
			    change_json(json_boolean(ra->healthy), json_boolean(rb->healthy)));
			if (text)
				printf("%s: %s health %s -> %s\n", name, rtn,
				       ra->healthy ? "healthy" : "unhealthy",
				       rb->healthy ? "healthy" : "unhealthy");
		}
		if (!streq(good_commit(ra), good_commit(rb))) {
			json_object_set_new(ro, "last_good",
					    change_json(commit_json(good_commit(ra)),
							commit_json(good_commit(rb))));
			if (text)
				printf("%s: %s last-good %s -> %s\n", name, rtn,
				       render_short_commit(good_commit(ra), c1),
				       render_short_commit(good_commit(rb), c2));
		}
		if (json_object_size(ro)) {
			json_object_set_new(rts, rtn, ro);
			changed = true;
		} else {
			json_decref(ro);
		}
	}
	if (!changed) {
		json_decref(o);
		json_decref(rts);
		return NULL;
	}
	json_object_set_new(o, "name", json_str(name));
	json_object_set_new(o, "runtimes", rts);
	return o;
}

static json_t *quarantine_json(const struct ledger_quarantine *q)
{
	uint64_t n = view_op_number(q->op), rn = view_op_number(q->rollback_op);

	return json_pack("{s:o,s:I,s:o,s:I,s:o,s:o,s:o}", "commit", json_str(q->commit), "op",
			 (json_int_t)q->op, "op_number",
			 n ? json_integer((json_int_t)n) : json_null(), "rollback_op",
			 (json_int_t)q->rollback_op, "rollback_op_number",
			 rn ? json_integer((json_int_t)rn) : json_null(), "time",
			 json_time(q->time_ns), "reason", json_str(q->reason));
}

/* Quarantine entries of x missing from y. */
static void quarantine_missing(const struct ledger_state *x, const struct ledger_state *y,
			       char sign, json_t *arr, bool text)
{
	char c[RENDER_SHORT_COMMIT + 1], on[VIEW_OP_NAME_MAX], on2[VIEW_OP_NAME_MAX];

	for (uint32_t i = 0; i < x->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
		const struct ledger_quarantine *q = &x->quarantine[i];

		if (ledger_state_quarantined(y, q->commit))
			continue;
		json_array_append_new(arr, quarantine_json(q));
		if (text)
			printf("quarantine %c %s (op %s rolled back by op %s)%s%s\n", sign,
			       render_short_commit(q->commit, c), view_op_name(q->op, on),
			       view_op_name(q->rollback_op, on2), q->reason[0] ? ": " : "",
			       q->reason);
	}
}

static int state_at(struct ledger *lg, uint64_t seq, struct ledger_state *st)
{
	if (seq == 0) {
		ledger_state_init(st);
		return 0;
	}
	return ledger_state_at(lg, seq, st);
}

/* The checkout's commit and ref from a to b, into o's "checkout" (null when the same) and said
 * with text; 1 when it changed. */
static size_t diff_checkout(const struct ledger_state *a, const struct ledger_state *b, json_t *o,
			    bool text)
{
	char c1[RENDER_SHORT_COMMIT + 1], c2[RENDER_SHORT_COMMIT + 1];

	if (streq(a->checkout_commit, b->checkout_commit) &&
	    streq(a->checkout_ref, b->checkout_ref)) {
		json_object_set_new(o, "checkout", json_null());
		return 0;
	}
	json_object_set_new(
	    o, "checkout",
	    change_json(json_pack("{s:o,s:o}", "commit", commit_json(a->checkout_commit), "ref",
				  json_str(a->checkout_ref)),
			json_pack("{s:o,s:o}", "commit", commit_json(b->checkout_commit), "ref",
				  json_str(b->checkout_ref))));
	if (text)
		printf("checkout: %s%s%s -> %s%s%s\n", render_short_commit(a->checkout_commit, c1),
		       a->checkout_ref[0] ? " " : "", a->checkout_ref,
		       render_short_commit(b->checkout_commit, c2), b->checkout_ref[0] ? " " : "",
		       b->checkout_ref);
	return 1;
}

/* The services that changed from a to b: b's in its order, then those only a knows. */
static json_t *diff_services(const struct ledger_state *a, const struct ledger_state *b, bool text)
{
	json_t *services = json_array(), *d;

	for (uint32_t i = 0; i < b->nservices; i++) {
		const struct ledger_service_state *sa_ =
		    ledger_state_service(a, b->services[i].name);
		d = diff_service(b->services[i].name, sa_ ? sa_ : &empty_service, &b->services[i],
				 text);
		if (d)
			json_array_append_new(services, d);
	}
	for (uint32_t i = 0; i < a->nservices; i++) {
		if (ledger_state_service(b, a->services[i].name))
			continue;
		d = diff_service(a->services[i].name, &a->services[i], &empty_service, text);
		if (d)
			json_array_append_new(services, d);
	}
	return services;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ledger_state *a = NULL, *b = NULL;
	char da[96], db[96];
	uint64_t sa, sb;
	json_t *o = NULL, *services, *qa, *qr;
	bool text;
	size_t nchanged = 0;
	int r;

	r = args_json_only(&cmd_diff, argc, argv);
	if (r < 0)
		return r;
	text = !out_settings.json;
	if (optind + 2 != argc) {
		log_error("diff: expected two points A B (operation number, seq:N or time); see "
			  "'shiplog diff --help'");
		return SL_EUSAGE;
	}
	if (reads_check_point(&cmd_diff, argv[optind], true) < 0 ||
	    reads_check_point(&cmd_diff, argv[optind + 1], true) < 0)
		return SL_EUSAGE;
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;
	r = reads_resolve_point(&cmd_diff, ctx->lg, argv[optind], true, &sa, da, sizeof(da));
	if (r < 0)
		return r;
	r = reads_resolve_point(&cmd_diff, ctx->lg, argv[optind + 1], true, &sb, db, sizeof(db));
	if (r < 0)
		return r;

	a = xmalloc(sizeof(*a));
	b = xmalloc(sizeof(*b));
	r = state_at(ctx->lg, sa, a);
	if (r >= 0)
		r = state_at(ctx->lg, sb, b);
	if (r < 0) {
		reads_ledger_fail(&cmd_diff, ctx->lg, r, "cannot replay the ledger", 0);
		goto out;
	}

	o = json_object();
	json_object_set_new(o, "a",
			    json_pack("{s:s,s:I}", "point", argv[optind], "seq", (json_int_t)sa));
	json_object_set_new(
	    o, "b", json_pack("{s:s,s:I}", "point", argv[optind + 1], "seq", (json_int_t)sb));
	if (text)
		printf("diff %s -> %s\n", da, db);
	nchanged += diff_checkout(a, b, o, text);
	services = diff_services(a, b, text);
	nchanged += json_array_size(services);
	json_object_set_new(o, "services", services);

	qa = json_array();
	qr = json_array();
	quarantine_missing(b, a, '+', qa, text);
	quarantine_missing(a, b, '-', qr, text);
	nchanged += json_array_size(qa) + json_array_size(qr);
	json_object_set_new(o, "quarantine", json_pack("{s:o,s:o}", "added", qa, "removed", qr));
	json_object_set_new(o, "changed", json_boolean(nchanged > 0));

	if (text) {
		if (!nchanged)
			printf("no changes\n");
		json_decref(o);
	} else {
		out_json(o);
	}
out:
	free(a);
	free(b);
	return r < 0 ? r : 0;
}

const struct cmd_entry cmd_diff = {
    .name = "diff",
    .summary = "what changed between two operations, sequences or times",
    .usage =
	"usage: shiplog diff [--json] A B\n"
	"\n"
	"Replays the ledger to two points and compares the states: the checkout, and per\n"
	"service the owner runtime, the commit on each runtime, health, last-good and whether\n"
	"its environment changed (a digest; values are never recorded); then\n"
	"the commits quarantined (+) or released (-) in between.\n"
	"\n"
	"A point is:\n"
	"  12        operation 12 (its number, as 'shiplog history' shows it): the state after\n"
	"            its last event\n"
	"  seq:120   the state after event 120 (seq:0 = the empty ledger)\n"
	"  TIME      the state after the last event before TIME: RFC 3339\n"
	"            (2026-11-27T08:00:00Z) or an age like 90m, 2h, 3d\n"
	"  now       the newest state\n"
	"\n"
	"Options:\n"
	"  --json    {\"a\":{..},\"b\":{..},\"checkout\":..,\"services\":[{\"name\",\"owner\",\n"
	"            \"runtimes\":{\"native\":{\"commit\":{\"from\",\"to\"},..}}}],\n"
	"            \"quarantine\":{\"added\",\"removed\"},\"changed\":bool}\n"
	"\n"
	"Examples:\n"
	"  shiplog diff 11 12\n"
	"  shiplog diff 1d now        what changed in the last day\n"
	"  shiplog diff 2026-11-27T08:00:00Z 2026-11-28T08:00:00Z --json\n"
	"\n"
	"Exit codes: 0 ok (also when something changed), 2 usage (bad point, no such\n"
	"operation or sequence), 4 unreadable ledger, 5 no ledger (nothing deployed yet).\n",
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO,
    .options = cmd_no_options,
    .run = run,
};
