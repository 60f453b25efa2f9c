/* SPDX-License-Identifier: MIT */
/* Soak windows read back from the ledger: where one starts and stops, what its samples add up
 * to, the same service's previous window on the other runtime, and whether its verdict is
 * recorded. */
#include <string.h>

#include <ledger/ledger.h>

#include "json.h"
#include "soak.h"
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

/* The tally of service in t[0..*n), added when new (NULL when t is full). */
static struct soak_tally *tally_of(struct soak_tally *t, size_t *n, const char *service)
{
	for (size_t i = 0; i < *n; i++)
		if (streq(t[i].name, service))
			return &t[i];
	if (*n == LEDGER_MAX_SERVICES)
		return NULL;
	memset(&t[*n], 0, sizeof(t[*n]));
	t[*n].runtime = -1;
	strlcpy_(t[*n].name, service, LEDGER_NAME_MAX);
	return &t[(*n)++];
}

static bool is_operation_event(const struct ledger_event *ev)
{
	return ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_FINISHED ||
	       ev->type == LEDGER_EV_OP_REFUSED || ev->type == LEDGER_EV_UNIT_RESTARTED;
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
		    struct soak_during *d)
{
	*d = (struct soak_during){0};
	for (size_t i = 0; sp && i < sp->n; i++) {
		const struct soak_span *x = &sp->v[i];
		if (!span_touches(x, service))
			continue;
		if (!d->sample_op && x->start_ns <= t_ns && t_ns <= x->end_ns)
			d->sample_op = x->op;
		if (!d->change_op && prev_ns && prev_ns < x->end_ns && x->start_ns <= t_ns)
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
		      struct soak_tally *t, size_t *n, struct strv *ops, json_t *opsj)
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
			struct soak_tally *ti = tally_of(t, n, svc);
			struct soak_during d;
			if (!ti)
				continue;
			soak_during_of(sp, svc, ti->last_ns, ev->time_ns, &d);
			soak_tally_add(ti, &ev->u.unit_observed, ev->time_ns, &d);
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

char *soak_set_aside(const struct soak_tally *t, const struct soak_spans *sp)
{
	struct buf b = {0};
	char on[VIEW_OP_NAME_MAX];

	if (!t->op_samples && !t->op_restarts && !t->op_pids)
		return NULL;
	buf_printf(&b, "%s: set aside during operation%s ", t->name, t->nops > 1 ? "s" : "");
	for (uint32_t i = 0; i < t->nops; i++)
		buf_printf(&b, "%s%s (%s)", i ? ", " : "", view_op_name(t->ops[i], on),
			   span_kind(sp, t->ops[i]));
	buf_printf(&b, ": %u sample%s, %u not active, %u restart%s, %u new pid%s", t->op_samples,
		   t->op_samples == 1 ? "" : "s", t->op_inactive, t->op_restarts,
		   t->op_restarts == 1 ? "" : "s", t->op_pids, t->op_pids == 1 ? "" : "s");
	return b.data;
}

/* The runtime service was sampled on in the window that ev (a soak.started) opens, from its
 * runtimes; -1 when it was not named there. */
static int started_runtime(const struct ledger_event *ev, const char *service)
{
	size_t n = strlen(service);

	for (uint32_t i = 0; i < ev->u.soak.runtimes.n; i++) {
		const char *v = ev->u.soak.runtimes.v[i];
		if (strncmp(v, service, n) == 0 && v[n] == '=')
			return ledger_runtime_from_name(v + n + 1);
	}
	return -1;
}

/* The newest closed window before `before` that sampled service on another runtime than rt:
 * its start and stop. false when there is none. */
static bool find_previous(struct ledger *lg, uint64_t before, const char *service, int rt,
			  struct soak_window *w)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;

	memset(w, 0, sizeof(*w));
	if (before <= 1 || ledger_iter_new(lg, LEDGER_BACKWARD, before - 1, &it) < 0)
		return false;
	while (ledger_iter_next(it, &ev) == 1) {
		int prt;
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !w->name[0]) {
			/* the newest stop seen so far; matched by name below */
			w->stop = ev->seq;
			w->stop_ns = ev->time_ns;
			strlcpy_(w->name, ev->u.soak.name, sizeof(w->name));
			continue;
		}
		if (ev->type != LEDGER_EV_SOAK_STARTED)
			continue;
		prt = started_runtime(ev, service);
		if (prt >= 0 && prt != rt && streq(ev->u.soak.name, w->name)) {
			w->start = ev->seq;
			w->start_ns = ev->time_ns;
			break;
		}
		w->name[0] = '\0';
	}
	ledger_iter_free(it);
	return w->start != 0;
}

bool soak_previous_window(struct ledger *lg, const struct config *cfg, uint64_t before,
			  const char *service, int rt, struct soak_figures *f)
{
	struct soak_window w;
	struct soak_tally *t = xmalloc(LEDGER_MAX_SERVICES * sizeof(*t));
	struct soak_spans sp = {0};
	size_t n = 0;
	bool found = false;

	/* judged like the window itself: what its operations did is set aside */
	if (!find_previous(lg, before, service, rt, &w) ||
	    soak_window_spans(lg, w.start, w.stop, &sp) < 0 ||
	    soak_window_tally(lg, w.start, w.stop, &sp, t, &n, NULL, NULL) < 0)
		n = 0;
	soak_spans_release(&sp);
	for (size_t i = 0; i < n; i++) {
		const struct service *s = config_service(cfg, service);
		struct soak_logs l;

		if (!streq(t[i].name, service) || !t[i].samples)
			continue;
		soak_figures_of(&t[i], w.stop_ns - w.start_ns, f);
		if (s) {
			soak_logs_read(cfg, s, f->runtime, w.start_ns, w.stop_ns, &l);
			f->errors = l.errors;
			f->errors_known = l.read;
			soak_logs_release(&l);
		}
		found = true;
	}
	free(t);
	return found;
}

bool soak_verdict_recorded(struct ledger *lg, uint64_t stop, const char *name)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	bool found = false;

	if (ledger_iter_new(lg, LEDGER_FORWARD, stop, &it) < 0)
		return false;
	while (!found && ledger_iter_next(it, &ev) == 1)
		found = ev->type == LEDGER_EV_SOAK_VERDICT && streq(ev->u.soak_verdict.name, name);
	ledger_iter_free(it);
	return found;
}
