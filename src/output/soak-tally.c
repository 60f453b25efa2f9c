/* SPDX-License-Identifier: MIT */
/* The samples of a soak window added up, and the spans of the operations inside it that set
 * some of them aside (soak-tally.h). */
#include "soak-tally.h"

#include <string.h>

#include "json.h"
#include "text.h"
#include "view.h"

int soak_find_window(struct ledger *lg, const char *name, struct soak_window *w)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	int r;

	memset(w, 0, sizeof(*w));
	r = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	if (r < 0)
		return r;
	while ((r = ledger_iter_next(it, &ev)) == 1) {
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !w->stop &&
		    (!name || streq(ev->u.soak.name, name))) {
			w->stop = ev->seq;
			w->stop_ns = ev->time_ns;
			strlcpy_(w->summary, ev->u.soak.summary, sizeof(w->summary));
		}
		if (ev->type == LEDGER_EV_SOAK_STARTED && (!name || streq(ev->u.soak.name, name))) {
			w->start = ev->seq;
			w->start_ns = ev->time_ns;
			strlcpy_(w->name, ev->u.soak.name, sizeof(w->name));
			strlcpy_(w->unit, ev->u.soak.unit ? ev->u.soak.unit : "", sizeof(w->unit));
			break;
		}
	}
	ledger_iter_free(it);
	if (r < 0)
		return r;
	if (!w->start)
		return LEDGER_ENOTFOUND;
	if (w->stop && w->stop < w->start)
		w->stop = 0, w->stop_ns = 0, w->summary[0] = '\0'; /* the newest one still runs */
	return 0;
}

/* Names op among the tally's operations (once; beyond SOAK_TALLY_OPS only counted). */
static void tally_note_op(struct soak_tally *t, uint64_t op)
{
	for (uint32_t i = 0; i < t->nops && i < SOAK_TALLY_OPS; i++)
		if (t->ops[i] == op)
			return;
	if (t->nops < SOAK_TALLY_OPS)
		t->ops[t->nops++] = op;
}

unsigned soak_tally_add(struct soak_tally *t, const struct ledger_unit_observed *o, int64_t t_ns,
			const struct soak_during *d)
{
	const char *ct = o->container ? o->container : "";
	uint64_t sample_op = d ? d->sample_op : 0;
	uint64_t change_op = d && t->seen ? d->change_op : 0; /* a first sample changes nothing */
	uint32_t restarts;
	bool inactive, newpid;
	unsigned added = 0;

	if (!t->seen)
		t->prev_restarts = o->restarts;
	restarts = o->restarts >= t->prev_restarts ? o->restarts - t->prev_restarts : o->restarts;
	inactive = !streq(o->active_state ? o->active_state : "", "active");
	newpid = (o->pid && o->pid != t->last_pid) || (ct[0] && !streq(ct, t->last_container));
	t->prev_restarts = o->restarts;
	t->samples++;
	t->runtime = (int)o->runtime;
	if (sample_op) {
		t->op_samples++;
		t->op_inactive += inactive;
		tally_note_op(t, sample_op);
		added |= SOAK_ADDED_ASIDE;
	} else {
		t->inactive += inactive;
		added |= inactive ? SOAK_ADDED_INACTIVE : 0;
	}
	if (change_op) {
		t->op_restarts += restarts;
		t->op_pids += newpid;
		if (restarts || newpid) {
			tally_note_op(t, change_op);
			added |= SOAK_ADDED_ASIDE;
		}
	} else {
		t->restarts += restarts;
		t->pids += newpid;
		added |= restarts ? SOAK_ADDED_RESTART : 0;
	}
	if (t->seen && (restarts || newpid)) {
		bool exact = o->started_ns > t->last_ns && o->started_ns <= t_ns;
		t->starts[t->nstarts++ % SOAK_TALLY_STARTS] =
		    (struct soak_start){.at_ns = exact ? o->started_ns : t_ns,
					.exact = exact,
					.restart = restarts > 0,
					.op = change_op};
	}
	if (o->pid)
		t->last_pid = o->pid;
	if (ct[0])
		strlcpy_(t->last_container, ct, sizeof(t->last_container));
	if (o->memory_bytes) {
		if (!t->first_memory)
			t->first_memory = o->memory_bytes;
		t->last_memory = o->memory_bytes;
		if (o->memory_bytes > t->peak_memory)
			t->peak_memory = o->memory_bytes;
	}
	if (!t->seen)
		t->first_ns = t_ns;
	t->last_ns = t_ns;
	t->seen = true;
	return added;
}

/* The tally of service on runtime in t[0..*n), added when new (NULL when t is full). A service
 * whose owner changed in the window (a cut-over) has one per runtime, in the order sampled. */
static struct soak_tally *tally_of(struct soak_tally *t, size_t *n, const char *service,
				   int runtime)
{
	for (size_t i = 0; i < *n; i++)
		if (streq(t[i].name, service) && t[i].runtime == runtime)
			return &t[i];
	if (*n == SOAK_TALLY_MAX)
		return NULL;
	memset(&t[*n], 0, sizeof(t[*n]));
	t[*n].runtime = runtime;
	strlcpy_(t[*n].name, service, LEDGER_NAME_MAX);
	return &t[(*n)++];
}

static bool is_operation_event(const struct ledger_event *ev)
{
	return ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_FINISHED ||
	       ev->type == LEDGER_EV_OP_REFUSED || ev->type == LEDGER_EV_UNIT_RESTARTED ||
	       ev->type == LEDGER_EV_OWNER_CHANGED;
}

/* ---- operation spans ---------------------------------------------------------------------- */

void soak_spans_release(struct soak_spans *s)
{
	for (size_t i = 0; i < s->n; i++)
		strv_free(&s->v[i].services);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static bool span_touches(const struct soak_span *sp, const char *service)
{
	for (size_t i = 0; i < sp->services.n; i++)
		if (streq(sp->services.v[i], service))
			return true;
	return false;
}

void soak_during_of(const struct soak_spans *sp, const char *service, int64_t prev_ns, int64_t t_ns,
		    int64_t started_ns, struct soak_during *d)
{
	/* the runtime said when the process started, since the previous sample: that instant */
	bool exact = prev_ns && started_ns > prev_ns && started_ns <= t_ns;

	*d = (struct soak_during){0};
	for (size_t i = 0; sp && i < sp->n; i++) {
		const struct soak_span *x = &sp->v[i];
		if (!span_touches(x, service))
			continue;
		if (!d->sample_op && x->start_ns <= t_ns && t_ns <= x->end_ns)
			d->sample_op = x->op;
		if (d->change_op || !prev_ns)
			continue;
		if (exact ? x->start_ns <= started_ns && started_ns <= x->end_ns
			  : prev_ns < x->end_ns && x->start_ns <= t_ns)
			d->change_op = x->op;
	}
}

/* Reads one operation's span: its request, the services it names and restarts, its own last
 * event and its end. */
struct span_read {
	struct soak_span *sp;
	bool led; /* its first event is an op.requested */
	bool ended;
};

static int span_event(const struct ledger_event *ev, void *ud)
{
	struct span_read *sr = ud;
	struct soak_span *sp = sr->sp;

	if (ev->seq == sp->op) {
		const struct ledger_op_requested *q = &ev->u.op_requested;
		if (ev->type != LEDGER_EV_OP_REQUESTED)
			return 1; /* a standalone refusal: no side effect, no span */
		sr->led = true;
		sp->start_ns = sp->end_ns = ev->time_ns;
		strlcpy_(sp->kind, q->kind ? q->kind : "", sizeof(sp->kind));
		for (uint32_t i = 0; i < q->services.n; i++)
			strv_push(&sp->services, q->services.v[i]);
		return 0;
	}
	/* what the next operation (or lock break) wrote for one that had died: not its own end */
	if (ev->type == LEDGER_EV_OP_FINISHED &&
	    ev->u.op_finished.outcome == LEDGER_OUT_INTERRUPTED && !ev->u.op_finished.duration_ns)
		return 1;
	if (ev->type == LEDGER_EV_UNIT_RESTARTED && ev->u.unit_restarted.service &&
	    !span_touches(sp, ev->u.unit_restarted.service))
		strv_push(&sp->services, ev->u.unit_restarted.service);
	sp->end_ns = ev->time_ns;
	if (ev->type == LEDGER_EV_OP_FINISHED || ev->type == LEDGER_EV_OP_REFUSED) {
		sr->ended = true;
		return 1;
	}
	return 0;
}

static bool spans_have(const struct soak_spans *s, uint64_t op)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].op == op)
			return true;
	return false;
}

static int spans_add(struct ledger *lg, struct soak_spans *s, uint64_t op)
{
	struct soak_span sp = {.op = op};
	struct span_read sr = {.sp = &sp};
	int r;

	if (!op || spans_have(s, op))
		return 0;
	r = ledger_op_events(lg, op, span_event, &sr);
	if (r < 0 || !sr.led) {
		strv_free(&sp.services);
		return r < 0 && r != LEDGER_ENOTFOUND ? r : 0;
	}
	sp.unfinished = !sr.ended;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = sp;
	return 0;
}

/* Adds op to ids[0..*n) once. */
static void ids_add(uint64_t **ids, size_t *n, uint64_t op)
{
	for (size_t i = 0; i < *n; i++)
		if ((*ids)[i] == op)
			return;
	*ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
	(*ids)[(*n)++] = op;
}

int soak_window_spans(struct ledger *lg, uint64_t start, uint64_t stop, struct soak_spans *out)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	struct ledger_state *st = xmalloc(sizeof(*st));
	uint64_t *ids = NULL;
	size_t nids = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	/* the operations that ran when the window opened (a rollback nests in its deploy) */
	if (start > 1 && ledger_state_at(lg, start - 1, st) == 0) {
		if (st->parent.op)
			ids_add(&ids, &nids, st->parent.op);
		if (st->inflight.op)
			ids_add(&ids, &nids, st->inflight.op);
	}
	free(st);
	/* then every operation with an event in the window; each is read after this scan, as
	 * ledger_op_events reads with an iterator of its own */
	r = ledger_iter_new(lg, LEDGER_FORWARD, start, &it);
	while (r >= 0 && (r = ledger_iter_next(it, &ev)) == 1) {
		if (stop && ev->seq > stop)
			break;
		if (ev->op)
			ids_add(&ids, &nids, ev->op);
	}
	ledger_iter_free(it);
	for (size_t i = 0; i < nids && r >= 0; i++)
		r = spans_add(lg, out, ids[i]);
	free(ids);
	if (r < 0)
		soak_spans_release(out);
	return r < 0 ? r : 0;
}

/* ---- the samples ---------------------------------------------------------------------------- */

int soak_window_tally(struct ledger *lg, uint64_t start, uint64_t stop, const struct soak_spans *sp,
		      struct soak_tally *t, size_t *n, struct strv *ops, json_t *opsj,
		      soak_sample_fn on_sample, void *ud)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	int r;

	r = ledger_iter_new(lg, LEDGER_FORWARD, start, &it);
	if (r < 0)
		return r;
	while ((r = ledger_iter_next(it, &ev)) == 1) {
		if (stop && ev->seq > stop)
			break;
		if (ev->type == LEDGER_EV_UNIT_OBSERVED) {
			const char *svc = ev->u.unit_observed.service;
			struct soak_tally *ti =
			    tally_of(t, n, svc, (int)ev->u.unit_observed.runtime);
			struct soak_during d;
			unsigned added;
			if (!ti)
				continue;
			soak_during_of(sp, svc, ti->last_ns, ev->time_ns,
				       ev->u.unit_observed.started_ns, &d);
			added = soak_tally_add(ti, &ev->u.unit_observed, ev->time_ns, &d);
			if (on_sample)
				on_sample(ud, ti, added);
		} else if (ops && is_operation_event(ev)) {
			struct buf line = {0};
			render_event_text(&line, ev);
			strv_push_take(ops, xasprintf("#%llu %s", (unsigned long long)ev->seq,
						      line.data ? line.data : ""));
			json_array_append_new(opsj, render_event_json(ev));
			buf_free(&line);
		}
	}
	ledger_iter_free(it);
	return r < 0 ? r : 0;
}

static const char *span_kind(const struct soak_spans *sp, uint64_t op)
{
	for (size_t i = 0; sp && i < sp->n; i++)
		if (sp->v[i].op == op)
			return sp->v[i].kind;
	return "?";
}

const struct soak_start *soak_tally_start(const struct soak_tally *t, uint32_t i)
{
	uint32_t kept = t->nstarts < SOAK_TALLY_STARTS ? t->nstarts : SOAK_TALLY_STARTS;

	return &t->starts[(t->nstarts - kept + i) % SOAK_TALLY_STARTS];
}

const struct soak_tally *soak_tally_part(const struct soak_tally *t, size_t n, size_t i, int dir)
{
	for (size_t k = i; dir < 0 ? k-- > 0 : ++k < n;)
		if (streq(t[k].name, t[i].name))
			return &t[k];
	return NULL;
}

char *soak_set_aside(const struct soak_tally *t, const struct soak_spans *sp, bool split)
{
	struct buf b = {0};
	char on[VIEW_OP_NAME_MAX];

	if (!t->op_samples && !t->op_restarts && !t->op_pids)
		return NULL;
	buf_printf(&b, "%s: ", t->name);
	if (split)
		buf_printf(&b, "on %s, ", ledger_runtime_name(t->runtime));
	buf_printf(&b, "set aside during operation%s ", t->nops > 1 ? "s" : "");
	for (uint32_t i = 0; i < t->nops; i++)
		buf_printf(&b, "%s%s (%s)", i ? ", " : "", view_op_name(t->ops[i], on),
			   span_kind(sp, t->ops[i]));
	buf_printf(&b, ": %u sample%s, %u not active, %u restart%s, %u new pid%s", t->op_samples,
		   t->op_samples == 1 ? "" : "s", t->op_inactive, t->op_restarts,
		   t->op_restarts == 1 ? "" : "s", t->op_pids, t->op_pids == 1 ? "" : "s");
	return b.data;
}
