/* SPDX-License-Identifier: MIT */
#include "json.h"

#include "out.h"
#include "util.h"
#include "view.h"

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

static json_t *strv_json(const struct ledger_strv *sv)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_str(sv->v[i]));
	return a;
}

static json_t *commit_or_null(const char *c)
{
	return str_empty(c) ? json_null() : json_str(c);
}

/* ---- events ------------------------------------------------------------------------------- */

static json_t *field_json(const struct ledger_field *f, const void *v)
{
	switch (f->kind) {
	case LEDGER_FIELD_STR:
		return json_str(*(const char *const *)v);
	case LEDGER_FIELD_STRV:
		return strv_json(v);
	case LEDGER_FIELD_U64:
		return json_integer((json_int_t) * (const uint64_t *)v);
	case LEDGER_FIELD_I64:
		return json_integer(*(const int64_t *)v);
	case LEDGER_FIELD_U32:
		return json_integer(*(const uint32_t *)v);
	case LEDGER_FIELD_I32:
		return json_integer(*(const int32_t *)v);
	case LEDGER_FIELD_BOOL:
		return json_boolean(*(const bool *)v);
	case LEDGER_FIELD_RUNTIME:
		return json_str(render_runtime_name((int)*(const enum ledger_runtime *)v));
	case LEDGER_FIELD_OUTCOME:
		return json_str(ledger_outcome_name(*(const enum ledger_outcome *)v));
	}
	return json_null();
}

struct json_walk {
	json_t *top;
	json_t *request; /* the nested request of a standalone op.refused */
	bool no_request;
};

static int field_to_json(const struct ledger_field *f, const void *v, void *ud)
{
	struct json_walk *w = ud;
	json_t *o = w->top;

	if (f->flags & LEDGER_FIELD_REQUEST) {
		/* the group's first field says whether there is a request at all */
		if (!w->request && !w->no_request) {
			w->no_request = ledger_field_is_zero(f, v);
			if (!w->no_request)
				w->request = json_object();
		}
		if (w->no_request)
			return 0;
		o = w->request;
	}
	if ((f->flags & LEDGER_FIELD_SPARSE) && ledger_field_is_zero(f, v))
		return 0;
	set(o, f->name, field_json(f, v));
	return 0;
}

json_t *render_event_json(const struct ledger_event *ev)
{
	struct json_walk w = {.top = json_object()};
	const char *tn = ev->type_name ? ev->type_name : ledger_event_type_name(ev->type);

	set(w.top, "seq", json_integer((json_int_t)ev->seq));
	set(w.top, "version", json_integer(ev->version));
	set(w.top, "type", json_str(tn));
	set(w.top, "time", json_time(ev->time_ns));
	set(w.top, "time_ns", json_integer(ev->time_ns));
	set(w.top, "op", json_integer((json_int_t)ev->op));
	set(w.top, "actor", json_str(ev->actor));
	ledger_event_visit(ev, field_to_json, &w);
	if (w.request)
		set(w.top, "request", w.request);
	return w.top;
}

/* ---- states ------------------------------------------------------------------------------- */

/* The number of operation op (view_op_number), null when not known: "op" fields keep the
 * operation's id (the sequence of its first event), "number" and "*_number" fields say the
 * number people see. */
static json_t *number_json(uint64_t op)
{
	uint64_t n = view_op_number(op);

	return n ? json_integer((json_int_t)n) : json_null();
}

static json_t *good_json(const struct ledger_good *g)
{
	return json_pack("{s:o,s:I,s:o,s:o,s:I}", "commit", json_str(g->commit), "op",
			 (json_int_t)g->op, "op_number", number_json(g->op), "time",
			 json_time(g->time_ns), "time_ns", (json_int_t)g->time_ns);
}

json_t *render_inflight_json(const struct ledger_state *st, const struct ledger_inflight *in)
{
	json_t *o, *svc;

	if (!in->op)
		return json_null();
	o = json_object();
	set(o, "op", json_integer((json_int_t)in->op));
	set(o, "number", in->number ? json_integer((json_int_t)in->number) : number_json(in->op));
	set(o, "kind", json_str(in->kind));
	set(o, "runtime", json_str(render_runtime_name(in->runtime)));
	set(o, "phase", json_str(in->phase));
	set(o, "actor", json_str(in->actor));
	set(o, "pid", json_integer(in->pid));
	set(o, "since", json_time(in->started_ns));
	set(o, "since_ns", json_integer(in->started_ns));
	set(o, "commit", commit_or_null(in->commit));
	set(o, "prev_commit", commit_or_null(in->prev_commit));
	set(o, "reverts", json_integer((json_int_t)in->reverts));
	set(o, "reverts_number", number_json(in->reverts));
	svc = json_array();
	for (uint32_t i = 0; i < in->nservices && i < LEDGER_MAX_SERVICES; i++)
		if (in->services[i] < st->nservices)
			json_array_append_new(svc, json_str(st->services[in->services[i]].name));
	set(o, "services", svc);
	set(o, "verify_failed", json_boolean(in->verify_failed));
	return o;
}

json_t *render_state_json(const struct ledger_state *st)
{
	json_t *o = json_object(), *services = json_array(), *q = json_array(), *c, *oc;

	set(o, "seq", json_integer((json_int_t)st->seq));
	set(o, "time", json_time(st->time_ns));
	set(o, "time_ns", json_integer(st->time_ns));
	set(o, "checkout",
	    json_pack("{s:o,s:o}", "commit", commit_or_null(st->checkout_commit), "ref",
		      json_str(st->checkout_ref)));
	set(o, "last_op", json_integer((json_int_t)st->last_op));
	set(o, "last_op_number", number_json(st->last_op));
	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *s = &st->services[i];
		json_t *so = json_object(), *rts = json_object();

		set(so, "name", json_str(s->name));
		set(so, "owner",
		    s->owner >= 0 ? json_str(render_runtime_name(s->owner)) : json_null());
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_service_runtime *r = &s->rt[rt];
			json_t *ro, *goods;

			if (str_empty(r->commit) && r->ngood == 0)
				continue;
			ro = json_object();
			set(ro, "commit", commit_or_null(r->commit));
			set(ro, "since", json_time(r->since_ns));
			set(ro, "since_ns", json_integer(r->since_ns));
			set(ro, "op", json_integer((json_int_t)r->op));
			set(ro, "op_number", number_json(r->op));
			set(ro, "healthy", json_boolean(r->healthy));
			{
				const struct ledger_inflight *in =
				    render_restart_unsettled(st, i, rt);

				set(ro, "unsettled",
				    in ? json_pack("{s:I,s:o,s:o}", "op", (json_int_t)in->op,
						   "op_number", number_json(in->op), "may_run",
						   commit_or_null(in->commit))
				       : json_null());
			}
			set(ro, "last_good", r->ngood ? good_json(&r->good[0]) : json_null());
			goods = json_array();
			for (uint32_t g = 0; g < r->ngood && g < LEDGER_GOOD_DEPTH; g++)
				json_array_append_new(goods, good_json(&r->good[g]));
			set(ro, "good", goods);
			set(rts, render_runtime_name(rt), ro);
		}
		set(so, "runtimes", rts);
		json_array_append_new(services, so);
	}
	set(o, "services", services);
	for (uint32_t i = 0; i < st->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
		const struct ledger_quarantine *e = &st->quarantine[i];
		json_array_append_new(
		    q, json_pack("{s:o,s:I,s:o,s:I,s:o,s:o,s:I,s:o}", "commit", json_str(e->commit),
				 "op", (json_int_t)e->op, "op_number", number_json(e->op),
				 "rollback_op", (json_int_t)e->rollback_op, "rollback_op_number",
				 number_json(e->rollback_op), "time", json_time(e->time_ns),
				 "time_ns", (json_int_t)e->time_ns, "reason", json_str(e->reason)));
	}
	set(o, "quarantine", q);
	set(o, "inflight", render_inflight_json(st, &st->inflight));
	set(o, "parent", render_inflight_json(st, &st->parent));
	c = json_object();
	set(c, "events", json_integer((json_int_t)st->counters.events));
	set(c, "ops", json_integer((json_int_t)st->counters.ops));
	oc = json_object();
	for (int i = LEDGER_OUT_SUCCEEDED; i < LEDGER_OUT__COUNT; i++)
		set(oc, ledger_outcome_name((enum ledger_outcome)i),
		    json_integer((json_int_t)st->counters.outcome[i]));
	set(c, "outcomes", oc);
	set(c, "unknown_events", json_integer((json_int_t)st->counters.unknown_events));
	set(o, "counters", c);
	return o;
}

/* ---- operation summaries ------------------------------------------------------------------ */

json_t *render_op_json(const struct ledger_op_summary *s, const struct ledger_state *st)
{
	const struct ledger_op_requested *r = render_event_request(&s->request);
	static const struct ledger_op_requested none = {0};
	json_t *o = json_object();
	const char *guard = render_op_guard(s);

	if (!r)
		r = &none;
	set(o, "op", json_integer((json_int_t)s->op));
	set(o, "number", s->number ? json_integer((json_int_t)s->number) : number_json(s->op));
	set(o, "started", json_time(s->started_ns));
	set(o, "started_ns", json_integer(s->started_ns));
	set(o, "finished", json_time(s->finished_ns));
	set(o, "finished_ns", json_integer(s->finished_ns));
	set(o, "duration_ns",
	    s->finished_ns ? json_integer(s->finished_ns - s->started_ns) : json_null());
	set(o, "kind", json_str(r->kind));
	set(o, "mode", json_str(r->mode));
	set(o, "ref", json_str(r->ref));
	set(o, "commit", commit_or_null(s->commit[0] ? s->commit : r->commit));
	set(o, "prev_commit", commit_or_null(r->prev_commit));
	set(o, "runtime", json_str(render_runtime_name((int)r->runtime)));
	set(o, "services", strv_json(&r->services));
	set(o, "flags", strv_json(&r->flags));
	set(o, "reverts", json_integer((json_int_t)r->reverts));
	set(o, "reverts_number", number_json(r->reverts));
	set(o, "actor", json_str(s->request.actor));
	set(o, "outcome", json_str(render_op_outcome(s)));
	set(o, "refused", json_boolean(s->refused));
	set(o, "guard", guard ? json_str(guard) : json_null());
	set(o, "error", json_str(s->error));
	set(o, "rollback_op", json_integer((json_int_t)s->rollback_op));
	set(o, "rollback_op_number", number_json(s->rollback_op));
	set(o, "quarantined",
	    json_boolean(st && !str_empty(s->commit) && ledger_state_quarantined(st, s->commit)));
	return o;
}
