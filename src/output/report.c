/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "soak-tally.h"

/* ---- aggregation ------------------------------------------------------------------------- */

void report_init(struct report *rp, int64_t since_ns)
{
	memset(rp, 0, sizeof(*rp));
	rp->since_ns = since_ns;
	rp->open_soak = -1;
}

static void recent_clear(struct report_recent *r)
{
	free(r->ref);
	free(r->commit);
	free(r->actor);
	free(r->error);
	free(r->services);
	free(r->mode);
	memset(r, 0, sizeof(*r));
}

static void soak_clear(struct report_soak *s)
{
	for (uint32_t i = 0; i < s->nsvc; i++)
		free(s->svc[i].aside);
	free(s->name);
	free(s->services);
	free(s->summary);
	free(s->actor);
	memset(s, 0, sizeof(*s));
}

void report_release(struct report *rp)
{
	if (!rp)
		return;
	free(rp->ops);
	for (uint32_t i = 0; i < REPORT_RECENT; i++)
		recent_clear(&rp->recent[i]);
	for (uint32_t i = 0; i < rp->nphases; i++)
		free(rp->phases[i].v);
	for (uint32_t i = 0; i < REPORT_MAX_SOAKS; i++)
		soak_clear(&rp->soaks[i]);
	memset(rp, 0, sizeof(*rp));
}

static struct report_op *find_op(const struct report *rp, uint64_t op);

bool report_wants(const struct report *rp, enum ledger_event_type t, uint64_t op)
{
	const struct report_op *o;

	switch (t) {
	case LEDGER_EV_GIT_MOVED:
		/* a deploy of a branch learns its commit after the fetch */
		o = find_op(rp, op);
		return o && o->recent >= 0 && str_empty(rp->recent[o->recent].commit);
	case LEDGER_EV_OP_REQUESTED:
	case LEDGER_EV_OP_REFUSED:
	case LEDGER_EV_OP_FINISHED:
	case LEDGER_EV_PHASE_FINISHED:
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		return true;
	default:
		return false;
	}
}

static struct report_op *find_op(const struct report *rp, uint64_t op)
{
	size_t lo = 0, hi = rp->nops;

	/* the newest is the common case: events of the running operation */
	if (hi && rp->ops[hi - 1].op == op)
		return &rp->ops[hi - 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rp->ops[mid].op < op)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rp->nops && rp->ops[lo].op == op ? &rp->ops[lo] : NULL;
}

const struct report_op *report_find(const struct report *rp, uint64_t op)
{
	return find_op(rp, op);
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

static char *strv_joined(const struct ledger_strv *v)
{
	struct buf b = {0};

	for (uint32_t i = 0; i < v->n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", v->v[i] ? v->v[i] : "");
	return b.data ? b.data : xstrdup("");
}

/* A new operation from its request (op.requested, or a standalone op.refused's request). */
static struct report_op *op_add(struct report *rp, const struct ledger_event *ev,
				const struct ledger_op_requested *rq)
{
	struct report_op *o;
	struct report_recent *rc;
	uint32_t slot = rp->recent_next;

	if (rp->nops && rp->ops[rp->nops - 1].op >= ev->seq)
		return NULL; /* out of order: not a ledger */
	if (rp->nops == rp->capops) {
		rp->capops = rp->capops ? rp->capops * 2 : 1024;
		rp->ops = xrealloc(rp->ops, rp->capops * sizeof(*rp->ops));
	}
	o = &rp->ops[rp->nops++];
	*o = (struct report_op){
	    .op = ev->seq,
	    .number = rq->number,
	    .started_ns = ev->time_ns,
	    .reverts = rq->reverts,
	    .rollback = streq(rq->kind, "rollback"),
	    .runtime = (uint8_t)rq->runtime,
	    .recent = (int32_t)slot,
	};
	/* the ring's oldest slot goes to the newest operation */
	rc = &rp->recent[slot];
	if (rc->op) {
		struct report_op *old = find_op(rp, rc->op);
		if (old)
			old->recent = -1;
	}
	recent_clear(rc);
	rc->op = ev->seq;
	rc->ref = dup_or_empty(rq->ref);
	rc->commit = dup_or_empty(rq->commit);
	rc->actor = dup_or_empty(ev->actor);
	rc->error = xstrdup("");
	rc->services = strv_joined(&rq->services);
	rc->mode = dup_or_empty(rq->mode);
	rp->recent_next = (slot + 1) % REPORT_RECENT;
	if (rp->nrecent < REPORT_RECENT)
		rp->nrecent++;
	if (o->reverts) {
		struct report_op *x = find_op(rp, o->reverts);
		/* a manual rollback of an operation that ended long ago: link it back */
		if (x && !x->rollback_op)
			x->rollback_op = o->op;
	}
	return o;
}

static void op_error(struct report *rp, const struct report_op *o, const char *prefix,
		     const char *msg)
{
	struct report_recent *rc;

	if (o->recent < 0)
		return;
	rc = &rp->recent[o->recent];
	free(rc->error);
	rc->error = xasprintf("%s%s", prefix, msg ? msg : "");
}

static struct report_phase *phase_get(struct report *rp, const char *name)
{
	for (uint32_t i = 0; i < rp->nphases; i++)
		if (streq(rp->phases[i].name, name))
			return &rp->phases[i];
	if (rp->nphases == REPORT_MAX_PHASES || str_empty(name))
		return NULL;
	strlcpy_(rp->phases[rp->nphases].name, name, LEDGER_NAME_MAX);
	return &rp->phases[rp->nphases++];
}

static void phase_add(struct report *rp, const char *name, int64_t t, int64_t d, bool ok)
{
	struct report_phase *p = phase_get(rp, name);

	if (!p || d < 0)
		return;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = (struct report_sample){t, d};
	p->failures += !ok;
}

static void soak_start(struct report *rp, const struct ledger_event *ev)
{
	uint32_t slot = rp->soak_next;
	struct report_soak *s = &rp->soaks[slot];

	soak_clear(s);
	s->name = dup_or_empty(ev->u.soak.name);
	s->services = strv_joined(&ev->u.soak.services);
	s->summary = xstrdup("");
	s->actor = dup_or_empty(ev->actor);
	s->started_ns = ev->time_ns;
	s->start_seq = ev->seq;
	rp->soak_next = (slot + 1) % REPORT_MAX_SOAKS;
	if (rp->nsoaks < REPORT_MAX_SOAKS)
		rp->nsoaks++;
	rp->soaks_total++;
	rp->open_soak = (int32_t)slot;
}

/* One sample into a service's strip: a full strip halves, each cell then covering twice as
 * many samples. */
static void strip_add(struct report_soak_service *v, uint8_t cell)
{
	if (v->in_bin == v->per_bin || !v->nbins) {
		if (v->nbins == REPORT_SOAK_BINS) {
			for (uint32_t i = 0; i < REPORT_SOAK_BINS / 2; i++)
				v->bins[i] = v->bins[2 * i] | v->bins[2 * i + 1];
			memset(v->bins + REPORT_SOAK_BINS / 2, 0, REPORT_SOAK_BINS / 2);
			v->nbins = REPORT_SOAK_BINS / 2;
			v->per_bin *= 2;
			/* the last merged cell may still have room */
			v->in_bin = v->per_bin;
		}
		if (v->in_bin == v->per_bin || !v->nbins) {
			v->nbins++;
			v->in_bin = 0;
		}
	}
	v->bins[v->nbins - 1] |= cell;
	v->in_bin++;
}

/* Each sample of a window as soak_window_tally adds it: the strip of its service (the tally's
 * index in the window's tallies is the row's). */
struct strip_fill {
	struct report_soak *s;
	const struct soak_tally *t0;
};

static void strip_sample(void *ud, const struct soak_tally *t, unsigned added)
{
	struct strip_fill *f = ud;
	struct report_soak_service *v = &f->s->svc[t - f->t0];

	if (!v->per_bin)
		v->per_bin = 1;
	strip_add(v, (uint8_t)(1 | (added & SOAK_ADDED_INACTIVE ? 2 : 0) |
			       (added & SOAK_ADDED_RESTART ? 4 : 0) |
			       (added & SOAK_ADDED_ASIDE ? 8 : 0)));
}

static int soak_tally(struct ledger *lg, struct report_soak *s)
{
	struct soak_tally *t = xcalloc(SOAK_TALLY_MAX, sizeof(*t));
	struct strip_fill f = {.s = s, .t0 = t};
	struct soak_spans sp = {0};
	size_t n = 0;
	int r;

	for (uint32_t i = 0; i < s->nsvc; i++)
		free(s->svc[i].aside);
	memset(s->svc, 0, sizeof(s->svc));
	s->nsvc = 0;
	r = soak_window_spans(lg, s->start_seq, s->stop_seq, &sp);
	if (r == 0)
		r = soak_window_tally(lg, s->start_seq, s->stop_seq, &sp, t, &n, NULL, NULL,
				      strip_sample, &f);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct report_soak_service *v = &s->svc[i];

		strlcpy_(v->name, t[i].name, sizeof(v->name));
		v->runtime = t[i].runtime;
		v->samples = t[i].samples;
		v->inactive = t[i].inactive;
		v->restarts = t[i].restarts;
		v->pids = t[i].pids;
		v->peak_memory = t[i].peak_memory;
		v->aside = soak_set_aside(
		    &t[i], &sp, soak_tally_part(t, n, i, -1) || soak_tally_part(t, n, i, +1));
	}
	s->nsvc = r == 0 ? (uint32_t)n : 0;
	soak_spans_release(&sp);
	free(t);
	return r;
}

int report_soaks(struct ledger *lg, struct report *rp)
{
	int r = 0;

	for (uint32_t i = 0; i < rp->nsoaks && r == 0; i++)
		r = soak_tally(
		    lg, &rp->soaks[(rp->soak_next + REPORT_MAX_SOAKS - 1 - i) % REPORT_MAX_SOAKS]);
	return r;
}

void report_feed(struct report *rp, const struct ledger_event *ev)
{
	struct report_op *o;

	if (!report_wants(rp, ev->type, ev->op))
		return;
	rp->events++;
	if (!rp->first_ns)
		rp->first_ns = ev->time_ns;
	rp->last_ns = ev->time_ns;
	switch (ev->type) {
	case LEDGER_EV_OP_REQUESTED:
		op_add(rp, ev, &ev->u.op_requested);
		break;
	case LEDGER_EV_OP_REFUSED:
		if (ev->op == ev->seq) {
			o = op_add(rp, ev, &ev->u.op_refused.req);
		} else {
			o = find_op(rp, ev->op);
		}
		if (!o)
			break;
		o->outcome = LEDGER_OUT_REFUSED;
		o->finished_ns = ev->time_ns;
		if (o->recent >= 0) {
			struct report_recent *rc = &rp->recent[o->recent];
			free(rc->error);
			rc->error =
			    xasprintf("%s: %s", ev->u.op_refused.guard, ev->u.op_refused.reason);
		}
		break;
	case LEDGER_EV_OP_FINISHED:
		o = find_op(rp, ev->op);
		if (!o)
			break; /* started before --since */
		o->outcome = (uint8_t)ev->u.op_finished.outcome;
		o->finished_ns = ev->time_ns;
		if (ev->u.op_finished.rollback_op)
			o->rollback_op = ev->u.op_finished.rollback_op;
		op_error(rp, o, "", ev->u.op_finished.error);
		if (ev->u.op_finished.outcome != LEDGER_OUT_REFUSED)
			phase_add(rp, "total", o->started_ns, ev->u.op_finished.duration_ns,
				  ev->u.op_finished.outcome == LEDGER_OUT_SUCCEEDED);
		break;
	case LEDGER_EV_PHASE_FINISHED:
		o = find_op(rp, ev->op);
		phase_add(rp, ev->u.phase.name, o ? o->started_ns : ev->time_ns,
			  ev->u.phase.duration_ns, ev->u.phase.ok);
		break;
	case LEDGER_EV_GIT_MOVED:
		o = find_op(rp, ev->op);
		if (o && o->recent >= 0 && !str_empty(ev->u.git_moved.to)) {
			struct report_recent *rc = &rp->recent[o->recent];
			free(rc->commit);
			rc->commit = xstrdup(ev->u.git_moved.to);
		}
		break;
	case LEDGER_EV_SOAK_STARTED:
		soak_start(rp, ev);
		break;
	case LEDGER_EV_SOAK_STOPPED:
		if (rp->open_soak >= 0) {
			struct report_soak *s = &rp->soaks[rp->open_soak];
			s->stopped_ns = ev->time_ns;
			s->stop_seq = ev->seq;
			free(s->summary);
			s->summary = dup_or_empty(ev->u.soak.summary);
			rp->open_soak = -1;
		}
		break;
	default:
		break;
	}
}

uint64_t report_count(const struct report *rp, uint64_t out[LEDGER_OUT__COUNT])
{
	uint64_t rollbacks = 0;

	memset(out, 0, sizeof(uint64_t) * LEDGER_OUT__COUNT);
	for (size_t i = 0; i < rp->nops; i++) {
		const struct report_op *o = &rp->ops[i];
		out[o->outcome < LEDGER_OUT__COUNT ? o->outcome : LEDGER_OUT_NONE]++;
		rollbacks += o->rollback;
	}
	return rollbacks;
}

double report_success_rate(const struct report *rp)
{
	uint64_t c[LEDGER_OUT__COUNT], ended;

	report_count(rp, c);
	ended = c[LEDGER_OUT_SUCCEEDED] + c[LEDGER_OUT_FAILED] + c[LEDGER_OUT_ROLLED_BACK] +
		c[LEDGER_OUT_INTERRUPTED];
	return ended ? (double)c[LEDGER_OUT_SUCCEEDED] / (double)ended : -1;
}

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it, larger after
 * (Hoare's selection, median-of-three pivot): linear on average, where a sort is n log n. */
static void select_kth(int64_t *v, size_t n, size_t k)
{
	long lo = 0, hi = (long)n - 1, kk = (long)k;

	while (lo < hi) {
		long i = lo, j = hi, mid = lo + (hi - lo) / 2;
		int64_t a = v[lo], b = v[mid], c = v[hi], pivot, tmp;

		pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
		do {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				tmp = v[i];
				v[i++] = v[j];
				v[j--] = tmp;
			}
		} while (i <= j);
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			return;
	}
}

/* The first sample at or after t (samples are in time order). */
static size_t sample_at(const struct report_phase *p, int64_t t)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->v[mid].time_ns < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t report_phase_quantiles(const struct report_phase *p, int64_t from, int64_t to,
			      const double *qs, size_t nq, int64_t *out, int64_t **scratch,
			      size_t *scap)
{
	size_t a = sample_at(p, from), b = sample_at(p, to), n = b > a ? b - a : 0;

	if (!n)
		return 0;
	if (n > *scap) {
		*scap = n;
		*scratch = xrealloc(*scratch, n * sizeof(**scratch));
	}
	for (size_t i = 0; i < n; i++)
		(*scratch)[i] = p->v[a + i].dur_ns;
	for (size_t k = 0; k < nq; k++) {
		/* nearest rank: the smallest value with at least q of the samples at or below */
		size_t rank = (size_t)((double)n * qs[k] + 0.999999);
		size_t at = rank ? rank - 1 : 0;

		select_kth(*scratch, n, at);
		out[k] = (*scratch)[at];
	}
	return n;
}

int64_t report_phase_quantile(const struct report *rp, const struct report_phase *p,
			      int64_t from_ns, int64_t to_ns, double q, size_t *n)
{
	int64_t *scratch = NULL, v = -1;
	size_t cap = 0, got;

	(void)rp;
	got = report_phase_quantiles(p, from_ns, to_ns, &q, 1, &v, &scratch, &cap);
	free(scratch);
	if (n)
		*n = got;
	return got ? v : -1;
}

int report_scan(struct ledger *lg, struct report *rp, uint64_t *scanned, uint64_t *bad)
{
	struct ledger_iter *it = NULL;
	uint64_t start = 0, seq;
	const uint8_t *raw;
	size_t len;
	int r;

	if (rp->since_ns) {
		r = ledger_seek_time(lg, rp->since_ns, &start);
		if (r < 0)
			return r;
	}
	r = ledger_iter_new(lg, LEDGER_FORWARD, start, &it);
	if (r < 0)
		return r;
	while ((r = ledger_iter_next_raw(it, &seq, &raw, &len)) > 0) {
		enum ledger_event_type type;
		struct ledger_event ev;
		uint64_t op;
		int64_t t;

		(*scanned)++;
		if (ledger_event_peek(raw, len, &type, &op, &t) < 0) {
			(*bad)++;
			continue;
		}
		if (!report_wants(rp, type, op))
			continue;
		if (ledger_event_decode(raw, len, &ev, NULL, 0) < 0) {
			(*bad)++;
			continue;
		}
		ev.seq = seq;
		report_feed(rp, &ev);
		ledger_event_release(&ev);
	}
	ledger_iter_free(it);
	if (r >= 0)
		r = report_soaks(lg, rp);
	return r;
}
