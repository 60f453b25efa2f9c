/* SPDX-License-Identifier: MIT */
/* The report's aggregation and page, fed hand-made events (no ledger): outcomes and the success
 * rate, rollbacks linked both ways, refusals standalone and terminal, per-phase quantiles by
 * window, the ring of recent operations, soak windows and their sample strips, --since, and the
 * page: its sections, the timeline's two modes, and every ledger string escaped. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger-gen.h"
#include "report.h"
#include "testlib.h"
#include "util.h"

#define T0 1700000000000000000ll
#define SEC 1000000000ll

struct feeder {
	struct report rp;
	uint64_t seq;
	int64_t t;
};

static void feeder_init(struct feeder *f, int64_t since)
{
	report_init(&f->rp, since);
	f->seq = 0;
	f->t = T0;
}

/* Feeds ev with the next sequence and a clock one second on; returns the sequence. */
static uint64_t feed(struct feeder *f, struct ledger_event *ev)
{
	ev->seq = ++f->seq;
	f->t += SEC;
	ev->time_ns = f->t;
	if (!ev->op)
		ev->op = ev->seq;
	if (!ev->actor)
		ev->actor = "alice@vps";
	report_feed(&f->rp, ev);
	return ev->seq;
}

static const char *svc1[] = {"api"};

static uint64_t request(struct feeder *f, const char *kind, uint64_t reverts, const char *ref,
			const char *actor)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED, .actor = actor};

	ev.u.op_requested.kind = kind;
	ev.u.op_requested.mode = "main";
	ev.u.op_requested.ref = ref;
	ev.u.op_requested.commit = "0123456789abcdef0123456789abcdef01234567";
	ev.u.op_requested.services = (struct ledger_strv){1, svc1};
	ev.u.op_requested.reverts = reverts;
	ev.u.op_requested.number = f->rp.nops + 1;
	return feed(f, &ev);
}

static void phase(struct feeder *f, uint64_t op, const char *name, int64_t dur, bool ok)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_FINISHED, .op = op};

	ev.u.phase.name = name;
	ev.u.phase.duration_ns = dur;
	ev.u.phase.ok = ok;
	ev.u.phase.error = ok ? "" : "boom";
	feed(f, &ev);
}

static void finish(struct feeder *f, uint64_t op, enum ledger_outcome o, uint64_t rb,
		   const char *error)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED, .op = op};

	ev.u.op_finished.outcome = o;
	ev.u.op_finished.error = error;
	ev.u.op_finished.duration_ns = 10 * SEC;
	ev.u.op_finished.rollback_op = rb;
	feed(f, &ev);
}

static void refuse(struct feeder *f, uint64_t op, const char *guard, const char *reason)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED, .op = op};

	if (!op) {
		ev.u.op_refused.req.kind = "deploy";
		ev.u.op_refused.req.ref = "main";
		ev.u.op_refused.req.services = (struct ledger_strv){1, svc1};
	}
	ev.u.op_refused.guard = guard;
	ev.u.op_refused.reason = reason;
	feed(f, &ev);
}

/* Every outcome once, an automatic rollback nested in the deploy it reverts. */
static void mixed(struct feeder *f, uint64_t ids[6])
{
	uint64_t d, rb;

	d = ids[0] = request(f, "deploy", 0, "main", NULL);
	phase(f, d, "rollout", 2 * SEC, true);
	finish(f, d, LEDGER_OUT_SUCCEEDED, 0, "");

	d = ids[1] = request(f, "deploy", 0, "main", NULL);
	phase(f, d, "verify", 3 * SEC, false);
	rb = ids[2] = request(f, "rollback", d, "last-good", NULL);
	phase(f, rb, "rollout", 1 * SEC, true);
	finish(f, rb, LEDGER_OUT_SUCCEEDED, 0, "");
	finish(f, d, LEDGER_OUT_ROLLED_BACK, rb, "verify failed");

	d = ids[3] = request(f, "deploy", 0, "main", NULL);
	finish(f, d, LEDGER_OUT_FAILED, 0, "build failed");

	refuse(f, 0, "edge", "edge roles need the acknowledgement");
	ids[4] = f->seq;

	d = ids[5] = request(f, "deploy", 0, "main", NULL);
	refuse(f, d, "dirty-tree", "local changes");
}

Test(report, counts_outcomes_and_the_success_rate)
{
	struct feeder f;
	uint64_t ids[6], c[LEDGER_OUT__COUNT];

	feeder_init(&f, 0);
	mixed(&f, ids);
	cr_assert_eq(f.rp.nops, 6);
	cr_assert_eq(report_count(&f.rp, c), 1, "one rollback");
	cr_assert_eq(c[LEDGER_OUT_SUCCEEDED], 2);
	cr_assert_eq(c[LEDGER_OUT_ROLLED_BACK], 1);
	cr_assert_eq(c[LEDGER_OUT_FAILED], 1);
	cr_assert_eq(c[LEDGER_OUT_REFUSED], 2, "standalone and terminal refusals");
	cr_assert_eq(c[LEDGER_OUT_NONE], 0);
	/* 2 succeeded of 4 that ran to an end; refusals are not counted */
	cr_assert_float_eq(report_success_rate(&f.rp), 0.5, 1e-9);
	report_release(&f.rp);

	feeder_init(&f, 0);
	cr_assert_lt(report_success_rate(&f.rp), 0, "no operation: no rate");
	request(&f, "deploy", 0, "main", NULL);
	report_count(&f.rp, c);
	cr_assert_eq(c[LEDGER_OUT_NONE], 1, "an open operation counts as running");
	report_release(&f.rp);
}

Test(report, links_a_rollback_and_what_it_reverted_both_ways)
{
	struct feeder f;
	uint64_t ids[6], manual;
	const struct report_op *d, *rb, *first;

	feeder_init(&f, 0);
	mixed(&f, ids);
	d = report_find(&f.rp, ids[1]);
	rb = report_find(&f.rp, ids[2]);
	cr_assert(d && rb);
	cr_assert(rb->rollback && rb->reverts == ids[1]);
	cr_assert_eq(d->rollback_op, ids[2]);
	cr_assert_eq(d->outcome, LEDGER_OUT_ROLLED_BACK);
	/* a manual rollback of a deploy that succeeded long ago links back too */
	manual = request(&f, "rollback", ids[0], "#1", NULL);
	finish(&f, manual, LEDGER_OUT_SUCCEEDED, 0, "");
	first = report_find(&f.rp, ids[0]);
	cr_assert_eq(first->rollback_op, manual);
	cr_assert_null(report_find(&f.rp, 999));
	report_release(&f.rp);
}

Test(report, keeps_the_strings_of_the_newest_operations_only)
{
	struct feeder f;
	char ref[32];
	uint32_t shown = 0;

	feeder_init(&f, 0);
	for (int i = 0; i < 200; i++) {
		uint64_t op;
		snprintf(ref, sizeof(ref), "ref-%d", i);
		op = request(&f, "deploy", 0, ref, NULL);
		finish(&f, op, LEDGER_OUT_FAILED, 0, i == 199 ? "the last error" : "");
	}
	cr_assert_eq(f.rp.nrecent, REPORT_RECENT);
	for (size_t i = 0; i < f.rp.nops; i++) {
		const struct report_op *o = &f.rp.ops[i];
		if (o->recent >= 0) {
			shown++;
			cr_assert_geq(i, 200 - REPORT_RECENT, "op %zu is not among the newest", i);
			snprintf(ref, sizeof(ref), "ref-%zu", i);
			cr_assert_str_eq(f.rp.recent[o->recent].ref, ref);
			cr_assert_eq(f.rp.recent[o->recent].op, o->op);
		}
	}
	cr_assert_eq(shown, REPORT_RECENT);
	cr_assert_str_eq(f.rp.recent[f.rp.ops[199].recent].error, "the last error");
	report_release(&f.rp);
}

Test(report, refusals_keep_guard_and_reason)
{
	struct feeder f;
	uint64_t ids[6];
	const struct report_op *a, *b;

	feeder_init(&f, 0);
	mixed(&f, ids);
	a = report_find(&f.rp, ids[4]);
	b = report_find(&f.rp, ids[5]);
	cr_assert(a && b);
	cr_assert_eq(a->outcome, LEDGER_OUT_REFUSED);
	cr_assert_str_eq(f.rp.recent[a->recent].error, "edge: edge roles need the acknowledgement");
	cr_assert_str_eq(f.rp.recent[b->recent].error, "dirty-tree: local changes");
	report_release(&f.rp);
}

Test(report, phase_quantiles_by_window)
{
	struct feeder f;
	const struct report_phase *p = NULL;
	int64_t mid;
	size_t n;

	feeder_init(&f, 0);
	/* 1..100 ms in shuffled order: p50 is 50 ms, p95 95 ms */
	for (int i = 0; i < 100; i++) {
		uint64_t op = request(&f, "deploy", 0, "main", NULL);
		phase(&f, op, "build", (int64_t)((i * 37) % 100 + 1) * 1000000, i % 10 != 0);
		finish(&f, op, LEDGER_OUT_SUCCEEDED, 0, "");
	}
	for (uint32_t i = 0; i < f.rp.nphases; i++)
		if (streq(f.rp.phases[i].name, "build"))
			p = &f.rp.phases[i];
	cr_assert(p);
	cr_assert_eq(p->n, 100);
	cr_assert_eq(p->failures, 10);
	cr_assert_eq(report_phase_quantile(&f.rp, p, INT64_MIN, INT64_MAX, 0.5, &n), 50000000);
	cr_assert_eq(n, 100);
	cr_assert_eq(report_phase_quantile(&f.rp, p, INT64_MIN, INT64_MAX, 0.95, NULL), 95000000);
	cr_assert_eq(report_phase_quantile(&f.rp, p, INT64_MIN, INT64_MAX, 1.0, NULL), 100000000);
	cr_assert_eq(report_phase_quantile(&f.rp, p, INT64_MIN, INT64_MAX, 0.0, NULL), 1000000);
	/* a window: the samples of the first half only, by their operation's start */
	mid = f.rp.ops[50].started_ns;
	report_phase_quantile(&f.rp, p, INT64_MIN, mid, 0.5, &n);
	cr_assert_eq(n, 50);
	cr_assert_eq(report_phase_quantile(&f.rp, p, mid + 1, mid + 2, 0.5, &n), -1);
	cr_assert_eq(n, 0);
	/* whole operations are "total", from op.finished */
	cr_assert(streq(f.rp.phases[1].name, "total") && f.rp.phases[1].n == 100);
	report_release(&f.rp);
}

static void soak(struct feeder *f, const char *name, bool stop)
{
	struct ledger_event ev = {.type = stop ? LEDGER_EV_SOAK_STOPPED : LEDGER_EV_SOAK_STARTED};

	ev.u.soak.name = name;
	ev.u.soak.services = (struct ledger_strv){1, svc1};
	ev.u.soak.summary = stop ? "api: fine" : "";
	feed(f, &ev);
}

static void observe(struct gen *g, const char *svc, const char *state, uint32_t restarts,
		    uint32_t pid, uint64_t mem)
{
	struct ledger_event ev = {.type = LEDGER_EV_UNIT_OBSERVED};

	ev.u.unit_observed.service = svc;
	ev.u.unit_observed.active_state = state;
	ev.u.unit_observed.sub_state = "running";
	ev.u.unit_observed.restarts = restarts;
	ev.u.unit_observed.pid = pid;
	ev.u.unit_observed.memory_bytes = mem;
	gen_emit(g, &ev);
}

static void soak_event(struct gen *g, const char *name, bool stop)
{
	struct ledger_event ev = {.type = stop ? LEDGER_EV_SOAK_STOPPED : LEDGER_EV_SOAK_STARTED};

	ev.u.soak.name = name;
	ev.u.soak.services = (struct ledger_strv){1, svc1};
	ev.u.soak.summary = stop ? "api: fine" : "";
	gen_emit(g, &ev);
}

/* A soak window read from a real ledger, added up as `soak report` adds it (soak-tally.h): a
 * deploy of api inside it, whose samples are not active, is set aside (grey cells, named), not
 * counted as api's own; a sample not active and a restart later are api's. */
Test(report, soak_windows_count_samples_set_aside_operations_and_fold_their_strip)
{
	_cleanup_free_ char *dir = tl_mkdtemp("reportsoak"), *ldir = xasprintf("%s/l", dir);
	struct ledger *lg = NULL;
	struct report rp;
	const struct report_soak *s;
	const struct report_soak_service *v;
	uint64_t scanned = 0, bad = 0, op = 0;
	uint32_t marked = 0, grey = 0;
	struct gen g;

	cr_assert_eq(ledger_open(&lg, ldir, LEDGER_OPEN_CREATE, NULL), 0);
	gen_init(&g, lg, 3);
	observe(&g, "api", "active", 0, 1, 0); /* outside a window: not counted */
	soak_event(&g, "after-cutover", false);
	for (uint32_t i = 0; i < 1000; i++) {
		if (i == 300)
			op = gen_request(&g, "deploy", "c1", LEDGER_RT_NATIVE, svc1, 1, 0);
		if (i == 310)
			gen_finish(&g, op, LEDGER_OUT_SUCCEEDED, 0, "");
		observe(&g, "api", i == 500 || (i >= 300 && i < 310) ? "activating" : "active",
			i < 700 ? 2 : 3, i < 700 ? 100 : 200, 1000 + i);
	}
	soak_event(&g, "after-cutover", true);
	observe(&g, "api", "failed", 9, 1, 0); /* after it: not counted */

	report_init(&rp, 0);
	cr_assert_eq(report_scan(lg, &rp, &scanned, &bad), 0);
	cr_assert_eq(bad, 0);
	cr_assert_eq(rp.nsoaks, 1);
	s = &rp.soaks[0];
	cr_assert_str_eq(s->name, "after-cutover");
	cr_assert_str_eq(s->summary, "api: fine");
	cr_assert(s->stopped_ns > s->started_ns);
	cr_assert_eq(s->nsvc, 1);
	v = &s->svc[0];
	cr_assert_eq(v->samples, 1000);
	cr_assert_eq(v->inactive, 1, "the deploy's 10 samples are set aside, not api's");
	cr_assert_eq(v->restarts, 1);
	cr_assert_eq(v->pids, 2);
	cr_assert_eq(v->peak_memory, 1999);
	cr_assert_eq(v->runtime, LEDGER_RT_NATIVE);
	cr_assert_not_null(v->aside);
	cr_assert(strstr(v->aside, "api: set aside during operation ") &&
		      strstr(v->aside, " (deploy): 10 samples, 10 not active"),
		  "%s", v->aside);
	cr_assert_leq(v->nbins, REPORT_SOAK_BINS);
	cr_assert_geq(v->nbins * v->per_bin, 1000, "the strip covers every sample");
	cr_assert_lt((v->nbins - 1) * v->per_bin, 1000);
	for (uint32_t i = 0; i < v->nbins; i++) {
		cr_assert(v->bins[i] & 1, "cell %u was sampled", i);
		if (v->bins[i] & 2)
			cr_assert_eq(i, 500 / v->per_bin, "the inactive sample's cell");
		if (v->bins[i] & 4)
			cr_assert_eq(i, 700 / v->per_bin, "the restart's cell");
		if (v->bins[i] & 8)
			cr_assert(i >= 300 / v->per_bin && i <= 309 / v->per_bin,
				  "cell %u is not the deploy's", i);
		marked += !!(v->bins[i] & 6);
		grey += !!(v->bins[i] & 8);
	}
	cr_assert_eq(marked, 2);
	cr_assert_geq(grey, 1);
	report_release(&rp);
	ledger_close(lg);
	tl_rmrf(dir);
}

Test(report, soak_windows_ring_keeps_the_newest)
{
	struct feeder f;

	feeder_init(&f, 0);
	for (int i = 0; i < REPORT_MAX_SOAKS + 4; i++) {
		soak(&f, "nightly", false);
		soak(&f, "nightly", true);
	}
	cr_assert_eq(f.rp.nsoaks, REPORT_MAX_SOAKS);
	cr_assert_eq(f.rp.soaks_total, REPORT_MAX_SOAKS + 4);
	report_release(&f.rp);
}

Test(report, since_leaves_out_operations_that_started_before)
{
	struct feeder f;
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED, .op = 1};

	/* the scan starts at --since: the first events it sees belong to an older operation */
	feeder_init(&f, T0);
	f.seq = 10;
	ev.u.op_finished.outcome = LEDGER_OUT_SUCCEEDED;
	ev.u.op_finished.error = "";
	feed(&f, &ev);
	cr_assert_eq(f.rp.nops, 0);
	request(&f, "deploy", 0, "main", NULL);
	cr_assert_eq(f.rp.nops, 1);
	report_release(&f.rp);
}

Test(report, escape_covers_markup_quotes_and_controls)
{
	struct buf b = {0};

	report_escape(&b, "<script>alert('x')</script> & \"q\"\x01\x1b[31m\ttab");
	buf_append(&b, "", 1);
	cr_assert_str_eq(b.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
				 "&quot;q&quot;\xef\xbf\xbd\xef\xbf\xbd[31m\ttab");
	buf_free(&b);
}

static char *page(struct report *rp, const struct ledger_state *st)
{
	struct buf b = {0};

	report_write(&b, rp, st,
		     &(struct report_page){.project = "demo<b>",
					   .ledger_dir = "/tmp/l\"x",
					   .now_ns = T0,
					   .since_text = "<7d>",
					   .events = 42});
	buf_append(&b, "", 1);
	return b.data;
}

Test(report, page_has_every_section_and_escapes_every_ledger_string)
{
	static const char *hostile_svc[] = {"<img src=x onerror=alert(1)>"};
	const char *evil = "<script>alert(1)</script>";
	struct ledger_state *st = calloc(1, sizeof(*st));
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED, .actor = "eve\"><svg onload=x>"};
	struct feeder f;
	uint64_t ids[6], op;
	char *html;

	ledger_state_init(st);
	feeder_init(&f, 0);
	mixed(&f, ids);
	ev.u.op_requested.kind = "deploy";
	ev.u.op_requested.ref = evil;
	ev.u.op_requested.commit = "<i>c</i>";
	ev.u.op_requested.services = (struct ledger_strv){1, hostile_svc};
	op = feed(&f, &ev);
	finish(&f, op, LEDGER_OUT_FAILED, 0, "</td></tr></table><h1>pwned</h1>");
	phase(&f, op, "<phase>", SEC, true);
	soak(&f, "<soak>", false);
	soak(&f, "<soak>", true);
	{
		/* a window's rows come from the ledger (report_soaks): made by hand here */
		struct report_soak *sk =
		    &f.rp.soaks[(f.rp.soak_next + REPORT_MAX_SOAKS - 1) % REPORT_MAX_SOAKS];
		sk->nsvc = 1;
		strcpy(sk->svc[0].name, "<svc>");
		sk->svc[0].aside = xstrdup("<svc>: set aside during operation 1 (<kind>)");
		sk->svc[0].nbins = sk->svc[0].per_bin = 1;
		sk->svc[0].bins[0] = 1 | 8;
	}
	/* the state's strings are the ledger's too */
	st->nservices = 1;
	strcpy(st->services[0].name, "<b>svc</b>");
	st->services[0].owner = 0;
	strcpy(st->services[0].rt[0].commit, "<u>1234567890abcdef</u>");
	st->services[0].rt[0].op = op;
	st->nquarantine = 1;
	strcpy(st->quarantine[0].commit, "<q>");
	strcpy(st->quarantine[0].reason, "<em>why</em>");
	st->quarantine[0].op = op;
	strcpy(st->checkout_ref, "<ref>");
	strcpy(st->checkout_commit, "abc");

	html = page(&f.rp, st);
	{
		const char *want[] = {
		    "id=\"summary\"",
		    "id=\"success-rate\"",
		    "id=\"timeline\"",
		    "id=\"timeline-svg\"",
		    "id=\"trends\"",
		    "id=\"state\"",
		    "id=\"quarantine\"",
		    "id=\"soaks\"",
		    "id=\"operations\"",
		    "class=\"revert-link\"",
		    "op-mark o-rolled-back",
		    "class=\"marks\"",
		    "class=\"quarantined\"",
		    "class=\"strip\"",
		    "&lt;script&gt;alert(1)&lt;/script&gt;",
		    "eve&quot;&gt;&lt;svg onload=x&gt;",
		    "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;pwned",
		    "&lt;img src=x onerror=alert(1)&gt;",
		    "&lt;b&gt;svc&lt;/b&gt;",
		    "&lt;em&gt;why&lt;/em&gt;",
		    "demo&lt;b&gt;",
		    "&lt;7d&gt;",
		    "href=\"#op-",
		    "Content-Security-Policy",
		};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			cr_assert(strstr(html, want[i]), "the page has '%s'", want[i]);
	}
	{
		const char *never[] = {"<script", "<img",    "<svg onload", "<h1>pwned", "<b>svc",
				       "<em>",	  "<phase>", "<soak>",	    "<svc>",	 "<q>",
				       "<ref>",	  "<u>",     "<i>c",	    "demo<b>",	 "<7d>",
				       "l\"x",	  "<kind>"};
		for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
			cr_assert_null(strstr(html, never[i]), "the page has raw '%s'", never[i]);
	}
	cr_assert_null(strstr(html, "http://"), "no external asset");
	cr_assert_null(strstr(html, "https://"), "no external asset");
	free(html);
	report_release(&f.rp);
	free(st);
}

Test(report, many_operations_become_buckets)
{
	struct ledger_state *st = calloc(1, sizeof(*st));
	struct feeder f;
	char *html;

	ledger_state_init(st);
	feeder_init(&f, 0);
	for (int i = 0; i < REPORT_TIMELINE_OPS + 1; i++) {
		uint64_t op = request(&f, "deploy", 0, "main", NULL);
		finish(&f, op, i % 7 ? LEDGER_OUT_SUCCEEDED : LEDGER_OUT_FAILED, 0, "");
	}
	html = page(&f.rp, st);
	cr_assert(strstr(html, "class=\"buckets\""));
	cr_assert(strstr(html, "class=\"bucket\""));
	cr_assert_null(strstr(html, "op-mark"), "no mark per operation past the limit");
	free(html);
	report_release(&f.rp);

	feeder_init(&f, 0);
	html = page(&f.rp, st);
	cr_assert(strstr(html, "No operations in this range."));
	cr_assert(strstr(html, "Nothing deployed yet."));
	cr_assert(strstr(html, "No soak window in this range."));
	cr_assert(strstr(html, "</html>"));
	free(html);
	report_release(&f.rp);
	free(st);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The selection the quantiles use agrees with a sort, duplicates and all. */
Test(report, quantiles_agree_with_a_sort)
{
	static const double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1};
	struct report_phase p = {.name = "x"};
	struct report rp;
	uint64_t rng = 12345;

	report_init(&rp, 0);
	for (size_t n = 1; n < 400; n += 37) {
		int64_t *sorted = malloc(n * sizeof(*sorted));
		p.v = malloc(n * sizeof(*p.v));
		p.n = n;
		for (size_t i = 0; i < n; i++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			p.v[i] = (struct report_sample){(int64_t)i, (int64_t)(rng % (n / 3 + 2))};
			sorted[i] = p.v[i].dur_ns;
		}
		qsort(sorted, n, sizeof(*sorted), cmp_i64);
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			size_t rank = (size_t)((double)n * qs[k] + 0.999999);
			cr_assert_eq(
			    report_phase_quantile(&rp, &p, INT64_MIN, INT64_MAX, qs[k], NULL),
			    sorted[rank ? rank - 1 : 0], "n %zu q %g", n, qs[k]);
		}
		free(sorted);
		free(p.v);
	}
	report_release(&rp);
}

/* A deploy of a branch names its commit only when the checkout moves: git.moved fills it in,
 * and is decoded only for such an operation. */
Test(report, git_moved_gives_a_recent_operation_its_commit)
{
	struct feeder f;
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};
	const struct report_op *o;
	uint64_t op, known;

	feeder_init(&f, 0);
	known = request(&f, "deploy", 0, "main", NULL);
	cr_assert_not(report_wants(&f.rp, LEDGER_EV_GIT_MOVED, known), "its commit is known");
	ev.u.op_requested.kind = "deploy";
	ev.u.op_requested.ref = "feature";
	ev.u.op_requested.commit = "";
	op = feed(&f, &ev);
	cr_assert(report_wants(&f.rp, LEDGER_EV_GIT_MOVED, op));
	cr_assert_not(report_wants(&f.rp, LEDGER_EV_STEP_RAN, op));
	cr_assert_not(report_wants(&f.rp, LEDGER_EV_GIT_MOVED, 999), "no such operation");
	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_GIT_MOVED;
	ev.op = op;
	ev.u.git_moved.from = "aaaa";
	ev.u.git_moved.to = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	feed(&f, &ev);
	o = report_find(&f.rp, op);
	cr_assert_str_eq(f.rp.recent[o->recent].commit, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	cr_assert_not(report_wants(&f.rp, LEDGER_EV_GIT_MOVED, op), "known now");
	report_release(&f.rp);
}
