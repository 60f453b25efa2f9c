/* SPDX-License-Identifier: MIT */
/*
 * history.c: the backward walks that summarize operations: history (one row per operation, with
 * filters), phase statistics (percentiles over the last operations, or from the running
 * histograms of every operation) and trends. They read the stored bytes through zero-copy views
 * and ledger_event_peek(), decode only what a row needs, and stop as soon as they have their
 * answer, so their cost follows the answer, not the ledger.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- history ------------------------------------------------------------------------------ */

/* What a backward walk learned about an operation before reaching its first event. */
struct op_end {
	uint64_t op;
	enum ledger_outcome outcome;
	bool refused;
	int64_t finished_ns;
	int64_t duration_ns;
	uint64_t rollback_op;
	char error[256];
};

struct op_ends {
	struct op_end *v;
	size_t n, cap;
};

static struct op_end *ends_find(struct op_ends *e, uint64_t op)
{
	for (size_t i = e->n; i-- > 0;)
		if (e->v[i].op == op)
			return &e->v[i];
	return NULL;
}

static void ends_remove(struct op_ends *e, struct op_end *x)
{
	size_t i = (size_t)(x - e->v);

	e->v[i] = e->v[--e->n];
}

static struct op_end *ends_add(struct op_ends *e, uint64_t op)
{
	struct op_end *x;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct op_end *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		e->v = v;
		e->cap = cap;
	}
	x = &e->v[e->n++];
	memset(x, 0, sizeof(*x));
	x->op = op;
	return x;
}

/* Zero-copy views of the few fields the backward walks need, read straight from the stored
 * bytes (the reader is bounds-checked; damage shows as LEDGER_ECORRUPT). */
struct req_view {
	int64_t time_ns;
	const char *kind;
	uint32_t kind_len;
	int runtime;
	struct mp_rd services; /* the "sv" array, or empty */
	bool fleet;	       /* a fleet operation's fleet.started */
};

/* Walks the map in buf: field() reads the value of each key it wants (returns 1), or leaves it
 * to be skipped (0); < 0: corrupt. Inlined into each scanner, so field() is a direct call. */
static inline int scan_map(const uint8_t *buf, size_t len,
			   int (*field)(struct mp_rd *r, const char *k, uint32_t klen, void *arg),
			   void *arg)
{
	struct mp_rd r = {buf, buf + len};
	uint32_t n, klen;
	const char *k;
	int rc;

	if (mp_read_map(&r, &n) < 0)
		return LEDGER_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		if (mp_read_str(&r, &k, &klen) < 0)
			return LEDGER_ECORRUPT;
		rc = field(&r, k, klen, arg);
		if (rc < 0 || (rc == 0 && mp_skip(&r, LEDGER_MAX_DEPTH) < 0))
			return LEDGER_ECORRUPT;
	}
	return 0;
}

static int request_field(struct mp_rd *r, const char *k, uint32_t klen, void *arg)
{
	struct req_view *v = arg;
	const char *s;
	uint32_t sl;

	if (mp_key_is(k, klen, "k"))
		return mp_read_str(r, &v->kind, &v->kind_len) < 0 ? LEDGER_ECORRUPT : 1;
	if (mp_key_is(k, klen, "rt")) {
		if (mp_read_str(r, &s, &sl) < 0)
			return LEDGER_ECORRUPT;
		v->runtime =
		    sl == 6 && memcmp(s, "docker", 6) == 0 ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;
		return 1;
	}
	if (mp_key_is(k, klen, "sv")) {
		v->services.p = r->p;
		if (mp_skip(r, LEDGER_MAX_DEPTH) < 0)
			return LEDGER_ECORRUPT;
		v->services.end = r->p;
		return 1;
	}
	return 0;
}

static int scan_request(const uint8_t *buf, size_t len, int64_t time_ns, struct req_view *v)
{
	memset(v, 0, sizeof(*v));
	v->time_ns = time_ns;
	v->kind = "";
	return scan_map(buf, len, request_field, v);
}

static bool view_has_service(const struct req_view *v, const char *name)
{
	struct mp_rd r = v->services;
	size_t nl = strlen(name);
	uint32_t n, sl;
	const char *s;

	if (!r.p || mp_read_array(&r, &n) < 0)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (mp_read_str(&r, &s, &sl) < 0)
			return false;
		if (sl == nl && memcmp(s, name, nl) == 0)
			return true;
	}
	return false;
}

/* Are v's services exactly the set sv (lists without repeats, in any order)? */
static bool view_scope_is(const struct req_view *v, const struct ledger_strv *sv)
{
	struct mp_rd r = v->services;
	uint32_t n = 0;

	if (r.p && mp_read_array(&r, &n) < 0)
		return false;
	if (n != sv->n)
		return false;
	for (uint32_t i = 0; i < sv->n; i++)
		if (!view_has_service(v, sv->v[i]))
			return false;
	return true;
}

/* Does the operation whose first event is v pass f? */
static bool filter_match(const struct ledger_history_filter *f, const struct req_view *v,
			 enum ledger_outcome outcome)
{
	if (v->fleet)
		return f && f->fleet && f->runtime < 0 &&
		       (!(f->kind && *f->kind) || strcmp(f->kind, "fleet") == 0) &&
		       !(f->service && *f->service) && !f->match_scope &&
		       (!f->until_ns || v->time_ns <= f->until_ns) &&
		       (!f->since_ns || v->time_ns >= f->since_ns) &&
		       (f->outcome < 0 || (int)outcome == f->outcome);
	if (!f)
		return true;
	if (f->until_ns && v->time_ns > f->until_ns)
		return false;
	if (f->since_ns && v->time_ns < f->since_ns)
		return false;
	if (f->runtime >= 0 && v->runtime != f->runtime)
		return false;
	if (f->outcome >= 0 && (int)outcome != f->outcome)
		return false;
	if (f->kind && *f->kind &&
	    (v->kind_len != strlen(f->kind) || memcmp(v->kind, f->kind, v->kind_len) != 0))
		return false;
	if (f->service && *f->service && !view_has_service(v, f->service))
		return false;
	if (f->match_scope && !view_scope_is(v, &f->scope))
		return false;
	return true;
}

/* The terminal fields of an op.finished / op.refused for the walks. */
struct end_scan {
	enum ledger_event_type t;
	struct op_end *x;
};

static int end_field(struct mp_rd *r, const char *k, uint32_t klen, void *arg)
{
	const struct end_scan *e = arg;
	struct op_end *x = e->x;
	bool fin = e->t == LEDGER_EV_OP_FINISHED || e->t == LEDGER_EV_FLEET_FINISHED;
	const char *s;
	uint32_t sl;
	char o[16];

	if (fin && mp_key_is(k, klen, "o")) {
		if (mp_read_str(r, &s, &sl) < 0 || sl >= sizeof(o))
			return LEDGER_ECORRUPT;
		memcpy(o, s, sl);
		o[sl] = '\0';
		if (ledger_outcome_from_name(o) <= LEDGER_OUT_NONE)
			return LEDGER_ECORRUPT;
		x->outcome = (enum ledger_outcome)ledger_outcome_from_name(o);
		return 1;
	}
	if (fin && mp_key_is(k, klen, "d"))
		return mp_read_i64(r, &x->duration_ns) < 0 ? LEDGER_ECORRUPT : 1;
	if (e->t == LEDGER_EV_OP_FINISHED && mp_key_is(k, klen, "rb"))
		return mp_read_u64(r, &x->rollback_op) < 0 ? LEDGER_ECORRUPT : 1;
	if (mp_key_is(k, klen, fin ? "err" : "r")) {
		if (mp_read_str(r, &s, &sl) < 0)
			return LEDGER_ECORRUPT;
		if (sl >= sizeof(x->error))
			sl = sizeof(x->error) - 1;
		memcpy(x->error, s, sl);
		x->error[sl] = '\0';
		return 1;
	}
	return 0;
}

static int scan_end(const uint8_t *buf, size_t len, enum ledger_event_type t, int64_t time_ns,
		    struct op_end *x)
{
	struct end_scan e = {t, x};

	x->finished_ns = time_ns;
	x->outcome = t == LEDGER_EV_OP_REFUSED ? LEDGER_OUT_REFUSED : LEDGER_OUT_NONE;
	x->refused = t == LEDGER_EV_OP_REFUSED;
	if (scan_map(buf, len, end_field, &e) < 0)
		return LEDGER_ECORRUPT;
	return x->outcome == LEDGER_OUT_NONE ? LEDGER_ECORRUPT : 0;
}

/* Records the terminal event of operation op (the newest one wins: seen first). */
static int ends_note(struct op_ends *e, const uint8_t *buf, size_t len, enum ledger_event_type t,
		     uint64_t op, int64_t time_ns)
{
	struct op_end *x;
	int rc;

	if (ends_find(e, op))
		return 0;
	x = ends_add(e, op);
	if (!x)
		return -ENOMEM;
	rc = scan_end(buf, len, t, time_ns, x);
	if (rc < 0)
		e->n--;
	return rc;
}

struct phase_view {
	const char *name;
	uint32_t name_len;
	int64_t duration_ns;
	bool ok;
};

static int phase_field(struct mp_rd *r, const char *k, uint32_t klen, void *arg)
{
	struct phase_view *v = arg;

	if (mp_key_is(k, klen, "n"))
		return mp_read_str(r, &v->name, &v->name_len) < 0 ? LEDGER_ECORRUPT : 1;
	if (mp_key_is(k, klen, "d"))
		return mp_read_i64(r, &v->duration_ns) < 0 ? LEDGER_ECORRUPT : 1;
	if (mp_key_is(k, klen, "ok"))
		return mp_read_bool(r, &v->ok) < 0 ? LEDGER_ECORRUPT : 1;
	return 0;
}

static int scan_phase(const uint8_t *buf, size_t len, struct phase_view *v)
{
	memset(v, 0, sizeof(*v));
	v->name = "";
	return scan_map(buf, len, phase_field, v);
}

void ledger_op_summary_release(struct ledger_op_summary *s)
{
	if (!s)
		return;
	ledger_event_release(&s->request);
	memset(s, 0, sizeof(*s));
}

/* One step of the backward walks of history and stats over a terminal event or an operation's
 * first event: a terminal event (or a standalone refusal) has its end noted; an operation's
 * first event has its request read and its end found. Returns 1 when *rv and *end describe an
 * operation that starts here, 0 when the walk goes on, < 0 on an undecodable event. */
static int walk_op_event(struct ledger *lg, struct op_ends *ends, const uint8_t *buf, size_t len,
			 enum ledger_event_type t, uint64_t op, uint64_t seq, int64_t time_ns,
			 struct req_view *rv, struct op_end **end)
{
	bool start = event_starts_op(buf, len, t, op, seq);
	int rc;

	if (!start || t == LEDGER_EV_OP_REFUSED) {
		rc = ends_note(ends, buf, len, t, op, time_ns);
		if (rc < 0)
			return lg_err(lg, rc, "event %llu does not decode",
				      (unsigned long long)seq);
		if (!start)
			return 0;
	}
	if (t == LEDGER_EV_FLEET_STARTED) {
		/* its keys mean other things ("rt" is retries): the filter needs only these */
		memset(rv, 0, sizeof(*rv));
		rv->time_ns = time_ns;
		rv->kind = "fleet";
		rv->kind_len = 5;
		rv->runtime = -1;
		rv->fleet = true;
	} else {
		rc = scan_request(buf, len, time_ns, rv);
		if (rc < 0)
			return lg_err(lg, rc, "event %llu does not decode",
				      (unsigned long long)seq);
	}
	*end = ends_find(ends, op);
	return 1;
}

static int note_moved(const struct ledger_event *ev, void *ud)
{
	struct ledger_op_summary *row = ud;

	if (ev->type == LEDGER_EV_GIT_MOVED && ev->u.git_moved.to)
		str_copy(row->commit, sizeof(row->commit), ev->u.git_moved.to);
	return 0;
}

/* One step of a backward walk: the next event's raw bytes and header, stopping (0) at the start
 * of the ledger or before the filter's since_ns. 1 = an event; < 0 = an error, with lg's message.
 */
struct back_event {
	uint64_t seq, op;
	const uint8_t *buf;
	size_t len;
	enum ledger_event_type t;
	int64_t time_ns;
	bool start; /* the event that opens an operation (a refusal opens and closes its own) */
};

static int back_next(struct ledger *lg, struct ledger_iter *it,
		     const struct ledger_history_filter *f, struct back_event *e)
{
	int rc = ledger_iter_next_raw(it, &e->seq, &e->buf, &e->len);

	if (rc <= 0)
		return rc;
	rc = ledger_event_peek(e->buf, e->len, &e->t, &e->op, &e->time_ns);
	if (rc < 0)
		return lg_err(lg, rc, "event %llu does not decode", (unsigned long long)e->seq);
	if (f && f->since_ns && e->time_ns < f->since_ns)
		return 0;
	e->start = event_starts_op(e->buf, e->len, e->t, e->op, e->seq);
	return 1;
}

/* A row for the operation that starts at e (ended as end, or open), appended to *out. */
static int history_row_add(struct ledger *lg, struct ledger_op_summary **out, size_t *n,
			   size_t *cap, const struct back_event *e, const struct op_end *end,
			   uint64_t starts)
{
	struct ledger_op_summary *row;
	int rc;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct ledger_op_summary *v = realloc(*out, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		*out = v;
		*cap = ncap;
	}
	row = &(*out)[*n];
	memset(row, 0, sizeof(*row));
	rc = ledger_event_decode(e->buf, e->len, &row->request, NULL, 0);
	if (rc < 0)
		return lg_err(lg, rc, "event %llu does not decode", (unsigned long long)e->seq);
	row->request.seq = e->seq;
	(*n)++;
	row->op = e->op;
	row->number = starts; /* for now: the how-many-th start walking back */
	row->started_ns = e->time_ns;
	if (end) {
		row->finished_ns = end->finished_ns;
		row->outcome = end->outcome;
		row->refused = end->refused;
		row->rollback_op = end->rollback_op;
		memcpy(row->error, end->error, sizeof(row->error));
	}
	return 0;
}

/* The rows' numbers (the newest row's, looked up, then one less per operation walked past) and
 * what each operation deployed: known at request time, or only once it moved the checkout. */
static int history_rows_finish(struct ledger *lg, struct ledger_op_summary *out, size_t n)
{
	uint64_t first = 0, k0;
	int rc;

	if (!n)
		return 0;
	k0 = out[0].number;
	rc = ledger_op_number(lg, out[0].op, &first);
	for (size_t i = 0; i < n && rc >= 0; i++)
		out[i].number = first - (out[i].number - k0);
	for (size_t i = 0; i < n && rc >= 0; i++) {
		struct ledger_op_summary *row = &out[i];
		const struct ledger_op_requested *req = row->request.type == LEDGER_EV_OP_REQUESTED
							    ? &row->request.u.op_requested
							    : NULL;
		if (!req)
			continue;
		if (req->commit && req->commit[0])
			str_copy(row->commit, sizeof(row->commit), req->commit);
		else
			rc = ledger_op_events(lg, row->op, note_moved, row);
	}
	return rc;
}

int ledger_history(struct ledger *lg, const struct ledger_history_filter *f, size_t limit,
		   struct ledger_op_summary **rows, size_t *nrows)
{
	struct ledger_iter *it = NULL;
	struct back_event e;
	struct op_ends ends = {NULL, 0, 0};
	struct ledger_op_summary *out = NULL;
	size_t n = 0, cap = 0;
	uint64_t starts = 0;
	int rc;

	if (!lg || !rows || !nrows)
		return LEDGER_EINVAL;
	rc = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	if (rc)
		return rc;
	while (limit == 0 || n < limit) {
		struct req_view rv;
		struct op_end *end;

		rc = back_next(lg, it, f, &e);
		if (rc <= 0)
			break;
		starts += e.start;
		if (!e.start && !is_terminal(e.t))
			continue;
		rc = walk_op_event(lg, &ends, e.buf, e.len, e.t, e.op, e.seq, e.time_ns, &rv, &end);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		if (filter_match(f, &rv, end ? end->outcome : LEDGER_OUT_NONE)) {
			rc = history_row_add(lg, &out, &n, &cap, &e, end, starts);
			if (rc < 0)
				break;
		}
		if (end)
			ends_remove(&ends, end);
	}
	ledger_iter_free(it);
	free(ends.v);
	if (rc >= 0)
		rc = history_rows_finish(lg, out, n);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			ledger_op_summary_release(&out[i]);
		free(out);
		return rc;
	}
	*rows = out;
	*nrows = n;
	return 0;
}

/* ---- stats -------------------------------------------------------------------------------- */

/* A phase duration seen before (walking backward) its operation's request. */
struct pending {
	uint64_t op;
	int phase; /* index into the stats phases, by name */
	int64_t duration_ns;
	bool ok;
	uint64_t seq;
};

struct samples {
	int64_t *v;
	size_t n, cap;
};

/* One phase duration of one operation, kept with its operation's start (for the trend). */
struct tsample {
	int64_t period; /* start of the period of the operation's start */
	int64_t d;
	int phase;
	bool ok;
};

struct stats_ctx {
	struct ledger_stats *out;
	int by; /* the trend's period (enum ledger_trend_by), or -1: no trend */
	struct tsample *ts;
	size_t nts, capts;
	char names[16][LEDGER_NAME_MAX]; /* the trend: the phases by sample index */
	uint32_t nnames;
	struct samples s[16];
	uint64_t first_seq[16]; /* the oldest sample's sequence: phases are shown in run order */
	struct pending *pend;
	size_t npend, cappend;
};

static int phase_index(struct ledger_stats *st, const char *name)
{
	for (uint32_t i = 0; i < st->nphases; i++)
		if (strcmp(st->phases[i].phase, name) == 0)
			return (int)i;
	if (st->nphases >= sizeof(st->phases) / sizeof(st->phases[0]))
		return -1; /* more distinct phases than the table holds: ignored */
	str_copy(st->phases[st->nphases].phase, sizeof(st->phases[0].phase), name);
	return (int)st->nphases++;
}

static int sample_add(struct samples *s, int64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		int64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

/* Puts the k-th smallest of v[lo..hi] at v[k], smaller ones before it, larger after (Hoare's
 * selection: linear on average, where sorting 100k samples per phase would dominate). */
static void select_k(int64_t *v, size_t lo, size_t hi, size_t k)
{
	while (lo < hi) {
		int64_t pivot = v[lo + (hi - lo) / 2], t;
		size_t i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				t = v[i], v[i] = v[j], v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/* Nearest rank: the smallest sample with at least p% of the samples at or below it. Ranks are
 * selected in increasing order, each in the part the previous one left to its right. */
static int64_t pct(struct samples *s, unsigned p, size_t *from)
{
	size_t rank = (s->n * p + 99) / 100, k = rank ? rank - 1 : 0;

	select_k(s->v, *from, s->n - 1, k);
	*from = k;
	return s->v[k];
}

#define DAY_NS (86400ll * 1000000000ll)

/* The first instant of the UTC day, or of the ISO week (Monday), that t falls in. */
static int64_t period_of(int by, int64_t t)
{
	int64_t day = t >= 0 ? t / DAY_NS : -((-t + DAY_NS - 1) / DAY_NS);

	if (by == LEDGER_TREND_WEEK) {
		/* 1970-01-01 was a Thursday: day + 3 counts from a Monday */
		int64_t w = day + 3 >= 0 ? (day + 3) / 7 : -((-(day + 3) + 6) / 7);

		day = w * 7 - 3;
	}
	return day * DAY_NS;
}

static int record_phase(struct stats_ctx *c, int idx, int64_t d, bool ok, uint64_t seq,
			int64_t started_ns)
{
	if (idx < 0)
		return 0;
	if (c->by >= 0) {
		if (c->nts == c->capts) {
			size_t cap = c->capts ? c->capts * 2 : 256;
			struct tsample *v = realloc(c->ts, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			c->ts = v;
			c->capts = cap;
		}
		c->ts[c->nts++] = (struct tsample){period_of(c->by, started_ns), d, idx, ok};
	}
	if (!c->first_seq[idx] || seq < c->first_seq[idx])
		c->first_seq[idx] = seq;
	c->out->phases[idx].count++;
	c->out->phases[idx].failures += !ok;
	return sample_add(&c->s[idx], d);
}

/* Phases in the order operations run them (by their oldest sample), phases no matching
 * operation had dropped, "total" last. */
static void stats_order(struct ledger_stats *out, const uint64_t *first_seq, int total)
{
	struct ledger_phase_stats v[16];
	uint64_t key[16];
	uint32_t n = 0;

	for (uint32_t i = 0; i < out->nphases; i++) {
		uint32_t j;

		if ((int)i == total || out->phases[i].count == 0)
			continue;
		/* insertion sort: at most 15 */
		for (j = n; j > 0 && key[j - 1] > first_seq[i]; j--) {
			v[j] = v[j - 1];
			key[j] = key[j - 1];
		}
		v[j] = out->phases[i];
		key[j] = first_seq[i];
		n++;
	}
	v[n++] = out->phases[total];
	memset(out->phases, 0, sizeof(out->phases));
	memcpy(out->phases, v, n * sizeof(v[0]));
	out->nphases = n;
}

/* Fills ps from the n samples in v (reordered): percentiles by nearest rank, exact. */
static void stats_fill(struct ledger_phase_stats *ps, struct samples *s)
{
	__int128 sum = 0;
	size_t from = 0;

	if (s->n == 0)
		return;
	ps->max_ns = s->v[0];
	for (size_t j = 0; j < s->n; j++) {
		sum += s->v[j];
		if (s->v[j] > ps->max_ns)
			ps->max_ns = s->v[j];
	}
	ps->p50_ns = pct(s, 50, &from);
	ps->p90_ns = pct(s, 90, &from);
	ps->p95_ns = pct(s, 95, &from);
	ps->p99_ns = pct(s, 99, &from);
	ps->mean_ns = (int64_t)(sum / (__int128)s->n);
}

/* A phase.finished seen before (walking backward) its operation's request: kept until the
 * request says whether the operation counts. */
static int stats_phase_keep(struct ledger *lg, struct stats_ctx *c, const struct back_event *e)
{
	struct phase_view pv;
	struct pending *p;
	char name[LEDGER_NAME_MAX];
	int rc;

	rc = scan_phase(e->buf, e->len, &pv);
	if (rc < 0)
		return lg_err(lg, rc, "event %llu does not decode", (unsigned long long)e->seq);
	if (c->npend == c->cappend) {
		size_t cap = c->cappend ? c->cappend * 2 : 64;
		struct pending *v = realloc(c->pend, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->pend = v;
		c->cappend = cap;
	}
	if (pv.name_len >= sizeof(name))
		pv.name_len = sizeof(name) - 1;
	memcpy(name, pv.name, pv.name_len);
	name[pv.name_len] = '\0';
	p = &c->pend[c->npend++];
	p->op = e->op;
	p->phase = phase_index(c->out, name);
	p->duration_ns = pv.duration_ns;
	p->ok = pv.ok;
	p->seq = e->seq;
	return 0;
}

/* An operation that passes the filter, starting at e and ended as end (NULL: open): counted,
 * its kept phases recorded, and its whole duration as "total" unless it was refused. */
static int stats_op_record(struct stats_ctx *c, const struct back_event *e,
			   const struct op_end *end, int total)
{
	int rc = 0;

	c->out->ops++;
	c->out->outcome[end ? end->outcome : LEDGER_OUT_NONE]++;
	for (size_t i = 0; i < c->npend && rc >= 0; i++)
		if (c->pend[i].op == e->op)
			rc = record_phase(c, c->pend[i].phase, c->pend[i].duration_ns,
					  c->pend[i].ok, c->pend[i].seq, e->time_ns);
	if (rc == 0 && end && end->outcome != LEDGER_OUT_REFUSED)
		rc = record_phase(c, total, end->duration_ns, end->outcome == LEDGER_OUT_SUCCEEDED,
				  e->seq, e->time_ns);
	return rc;
}

/* After the walk (rc its result): the percentiles, the trend's samples handed to tc, the
 * phases in run order; c's buffers freed. A failed walk leaves c->out zeroed. */
static int stats_walk_finish(struct stats_ctx *c, int rc, int total, struct stats_ctx *tc)
{
	struct ledger_stats *out = c->out;

	for (uint32_t i = 0; rc >= 0 && i < out->nphases; i++)
		stats_fill(&out->phases[i], &c->s[i]);
	for (size_t i = 0; i < sizeof(c->s) / sizeof(c->s[0]); i++)
		free(c->s[i].v);
	if (tc) {
		/* the trend needs the names by sample index, before the reordering */
		tc->nnames = out->nphases;
		for (uint32_t i = 0; i < out->nphases; i++)
			str_copy(tc->names[i], sizeof(tc->names[i]), out->phases[i].phase);
		tc->ts = c->ts;
		tc->nts = c->nts;
		c->ts = NULL;
	}
	free(c->ts);
	if (rc >= 0)
		stats_order(out, c->first_seq, total);
	free(c->pend);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc < 0 ? rc : 0;
}

static int stats_walk(struct ledger *lg, const struct ledger_history_filter *f, size_t last_ops,
		      struct ledger_stats *out, struct stats_ctx *tc);

int ledger_stats(struct ledger *lg, const struct ledger_history_filter *f, size_t last_ops,
		 struct ledger_stats *out)
{
	return stats_walk(lg, f, last_ops, out, NULL);
}

/* The walk behind ledger_stats and ledger_stats_trend; tc (may be NULL) receives the trend's
 * samples, with tc->by set, and keeps them for the caller to free; out->phases are in run order
 * then and tc's phase indexes point into the order before it (tc->first_seq says which). */
static int stats_walk(struct ledger *lg, const struct ledger_history_filter *f, size_t last_ops,
		      struct ledger_stats *out, struct stats_ctx *tc)
{
	struct ledger_iter *it = NULL;
	struct back_event e;
	struct op_ends ends = {NULL, 0, 0};
	struct stats_ctx c;
	int rc, total;

	if (!lg || !out)
		return LEDGER_EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.out = out;
	c.by = tc ? tc->by : -1;
	total = phase_index(out, "total");

	rc = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	if (rc)
		return rc;
	while (last_ops == 0 || out->ops < last_ops) {
		struct req_view rv;
		struct op_end *end;

		rc = back_next(lg, it, f, &e);
		if (rc <= 0)
			break;
		if (!e.start && !is_terminal(e.t) && e.t != LEDGER_EV_PHASE_FINISHED)
			continue;

		if (e.t == LEDGER_EV_PHASE_FINISHED) {
			rc = stats_phase_keep(lg, &c, &e);
			if (rc < 0)
				break;
			continue;
		}
		rc = walk_op_event(lg, &ends, e.buf, e.len, e.t, e.op, e.seq, e.time_ns, &rv, &end);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		if (filter_match(f, &rv, end ? end->outcome : LEDGER_OUT_NONE)) {
			rc = stats_op_record(&c, &e, end, total);
			if (rc < 0)
				break;
		}
		/* this operation is done with: drop what was kept for it */
		for (size_t i = 0; i < c.npend;)
			if (c.pend[i].op == e.op)
				c.pend[i] = c.pend[--c.npend];
			else
				i++;
		if (end)
			ends_remove(&ends, end);
	}
	ledger_iter_free(it);
	free(ends.v);
	return stats_walk_finish(&c, rc, total, tc);
}

/* ---- trend -------------------------------------------------------------------------------- */

static int tsample_cmp(const void *a, const void *b)
{
	const struct tsample *x = a, *y = b;

	return x->period < y->period ? -1 : x->period > y->period;
}

/* One period from its samples ts[0..n): every phase of the whole answer (all), in its order,
 * with the samples whose phase index idx_of maps to it. s is scratch. */
static int trend_period_fill(struct ledger_trend_period *tp, const struct ledger_stats *all,
			     const struct tsample *ts, size_t n, const int *idx_of,
			     struct samples *s)
{
	tp->start_ns = ts[0].period;
	tp->stats.nphases = all->nphases;
	for (uint32_t k = 0; k < all->nphases; k++) {
		struct ledger_phase_stats *ps = &tp->stats.phases[k];

		str_copy(ps->phase, sizeof(ps->phase), all->phases[k].phase);
		s->n = 0;
		for (size_t m = 0; m < n; m++) {
			if (ts[m].phase != idx_of[k])
				continue;
			if (sample_add(s, ts[m].d) < 0)
				return -ENOMEM;
			ps->count++;
			ps->failures += !ts[m].ok;
		}
		stats_fill(ps, s);
		if (strcmp(ps->phase, "total") == 0)
			tp->stats.ops = ps->count;
	}
	return 0;
}

/* Slower: a p50 above the p95 of the newest earlier period with enough samples. */
static void trend_mark_slower(struct ledger_trend_period *p, size_t np, uint32_t nnames)
{
	for (uint32_t k = 0; k < nnames; k++) {
		const struct ledger_phase_stats *prev = NULL;

		for (size_t i = 0; i < np; i++) {
			const struct ledger_phase_stats *ps = &p[i].stats.phases[k];

			if (ps->count < LEDGER_TREND_MIN_SAMPLES)
				continue;
			if (prev && ps->p50_ns > prev->p95_ns)
				p[i].slower[k] = true;
			prev = ps;
		}
	}
}

int ledger_stats_trend(struct ledger *lg, const struct ledger_history_filter *f, size_t last_ops,
		       enum ledger_trend_by by, struct ledger_trend_period **out, size_t *n)
{
	struct stats_ctx tc;
	struct ledger_stats *all;
	struct ledger_trend_period *p = NULL;
	int idx_of[16];
	uint32_t nnames = 0;
	struct samples s = {NULL, 0, 0};
	size_t np = 0;
	int rc;

	if (!lg || !out || !n || (by != LEDGER_TREND_DAY && by != LEDGER_TREND_WEEK))
		return LEDGER_EINVAL;
	*out = NULL;
	*n = 0;
	all = malloc(sizeof(*all));
	if (!all)
		return -ENOMEM;
	memset(&tc, 0, sizeof(tc));
	tc.by = by;
	rc = stats_walk(lg, f, last_ops, all, &tc);
	if (rc < 0)
		goto out;
	/* every period lists the phases in the whole answer's order (run order, "total" last) */
	nnames = all->nphases;
	for (uint32_t k = 0; k < nnames; k++) {
		idx_of[k] = -1;
		for (uint32_t i = 0; i < tc.nnames; i++)
			if (strcmp(tc.names[i], all->phases[k].phase) == 0)
				idx_of[k] = (int)i;
	}
	qsort(tc.ts, tc.nts, sizeof(tc.ts[0]), tsample_cmp);
	for (size_t i = 0; i < tc.nts;) {
		size_t j = i;

		while (j < tc.nts && tc.ts[j].period == tc.ts[i].period)
			j++;
		np++;
		i = j;
	}
	if (np == 0)
		goto out;
	p = calloc(np, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	np = 0;
	for (size_t i = 0, j; i < tc.nts; i = j) {
		for (j = i; j < tc.nts && tc.ts[j].period == tc.ts[i].period;)
			j++;
		rc = trend_period_fill(&p[np++], all, &tc.ts[i], j - i, idx_of, &s);
		if (rc < 0)
			goto out;
	}
	trend_mark_slower(p, np, nnames);
	*out = p;
	*n = np;
	p = NULL;
out:
	free(p);
	free(s.v);
	free(tc.ts);
	free(all);
	return rc < 0 ? rc : 0;
}
