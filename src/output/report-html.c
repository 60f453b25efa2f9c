/* SPDX-License-Identifier: MIT */
/* The report's second half: the aggregate and the newest state as one HTML page (report.h). */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- rendering --------------------------------------------------------------------------- */

void report_escape(struct buf *out, const char *s)
{
	const char *run = s;

	if (!s)
		return;
	for (; *s; s++) {
		const char *rep;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? "\xef\xbf\xbd"
										: NULL;
		}
		if (!rep)
			continue;
		buf_append(out, run, (size_t)(s - run));
		buf_append(out, rep, strlen(rep));
		run = s + 1;
	}
	buf_append(out, run, (size_t)(s - run));
}

static const char *const outcome_class[LEDGER_OUT__COUNT] = {
    "running", "succeeded", "failed", "rolled-back", "interrupted", "refused",
};

static const char *outcome_label(unsigned o)
{
	return o < LEDGER_OUT__COUNT ? outcome_class[o] : "running";
}

static void when(char *b, size_t n, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm)) {
		snprintf(b, n, "-");
		return;
	}
	strftime(b, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void when_short(char *b, size_t n, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(b, n, "-");
		return;
	}
	strftime(b, n, "%m-%d %H:%M", &tm);
}

/* "840ms", "12.3s", "4m 05s", "2h 10m" */
static void dur(char *b, size_t n, int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (ns < 0)
		snprintf(b, n, "-");
	else if (ns < 1000000000)
		snprintf(b, n, "%lldms", (long long)(ns / 1000000));
	else if (s < 60)
		snprintf(b, n, "%.1fs", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(b, n, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(b, n, "%lldh %02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

static void op_name(char *b, size_t n, const struct report_op *o)
{
	if (o->number)
		snprintf(b, n, "#%" PRIu64, o->number);
	else
		snprintf(b, n, "op %" PRIu64, o->op);
}

static void short_commit(struct buf *out, const char *c)
{
	char s[13];

	if (str_empty(c)) {
		buf_printf(out, "-");
		return;
	}
	strlcpy_(s, c, sizeof(s));
	buf_printf(out, "<code title=\"");
	report_escape(out, c);
	buf_printf(out, "\">");
	report_escape(out, s);
	buf_printf(out, "</code>");
}

/* A link to an operation: to its row when the operations table shows it, else its name. */
static void op_link(struct buf *out, const struct report *rp, uint64_t id)
{
	const struct report_op *o = report_find(rp, id);
	char name[32];

	if (!o) {
		buf_printf(out, "op %" PRIu64, id);
		return;
	}
	op_name(name, sizeof(name), o);
	if (o->recent >= 0)
		buf_printf(out, "<a href=\"#op-%" PRIu64 "\">%s</a>", id, name);
	else
		buf_printf(out, "%s", name);
}

static const char css[] =
    ":root{--bg:#f6f6f3;--card:#fff;--ink:#1f2328;--muted:#667085;--line:#e4e4df;"
    "--succeeded:#3a8f63;--failed:#c9483b;--rolled-back:#d99a2b;--interrupted:#7c67b5;"
    "--refused:#98a0a8;--running:#3c7cc9}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}"
    "h1{font-size:22px;margin:0 0 2px;font-weight:600}"
    "h2{font-size:16px;margin:0 0 10px;font-weight:600}"
    ".sub{color:var(--muted);font-size:13px}"
    "section{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:16px 18px;margin:16px 0}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:14px}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:10px 14px;min-width:120px}"
    ".card .v{font-size:22px;font-weight:600}"
    ".card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
    ".legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);"
    "margin:6px 0 0}"
    ".legend span::before{content:'';display:inline-block;width:10px;height:10px;"
    "border-radius:3px;margin-right:5px;vertical-align:-1px;background:currentColor}"
    ".legend .link::before{height:2px;border-radius:0;vertical-align:3px;background:#444}"
    "svg{display:block;width:100%;height:auto}"
    "svg text{font:11px system-ui,sans-serif;fill:var(--muted)}"
    ".axis{stroke:var(--line);stroke-width:1}"
    ".o-succeeded{color:var(--succeeded);fill:var(--succeeded)}"
    ".o-failed{color:var(--failed);fill:var(--failed)}"
    ".o-rolled-back{color:var(--rolled-back);fill:var(--rolled-back)}"
    ".o-interrupted{color:var(--interrupted);fill:var(--interrupted)}"
    ".o-refused{color:var(--refused);fill:var(--refused)}"
    ".o-running{color:var(--running);fill:var(--running)}"
    ".revert-link{fill:none;stroke:#444;stroke-width:1.2;stroke-dasharray:3 2;opacity:.7}"
    ".trends{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}"
    ".trend h3{font-size:13px;margin:0 0 4px;font-weight:600}"
    ".band{fill:#3c7cc9;opacity:.18}"
    ".p50{fill:none;stroke:#2f5f99;stroke-width:1.6}"
    ".dot{fill:#2f5f99;opacity:.5}"
    ".grid{stroke:var(--line);stroke-width:1}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th{text-align:left;color:var(--muted);font-weight:500;border-bottom:1px solid var(--line);"
    "padding:5px 8px;white-space:nowrap}"
    "td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:top}"
    "tr:target td{background:#fff6dc}"
    "td.err{color:#7a2e26;max-width:340px;overflow-wrap:anywhere}"
    "code{font:12px ui-monospace,'DejaVu Sans Mono',monospace}"
    ".badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff;"
    "white-space:nowrap}"
    ".badge.o-succeeded{background:var(--succeeded)}.badge.o-failed{background:var(--failed)}"
    ".badge.o-rolled-back{background:var(--rolled-back)}"
    ".badge.o-interrupted{background:var(--interrupted)}"
    ".badge.o-refused{background:var(--refused)}.badge.o-running{background:var(--running)}"
    ".yes{color:var(--succeeded)}.no{color:var(--failed)}"
    ".none{color:var(--muted);font-style:italic}"
    ".soak{margin:10px 0 16px}"
    "a{color:#2f5f99}"
    "footer{color:var(--muted);font-size:12px;text-align:center}";

static void badge(struct buf *out, unsigned o)
{
	buf_printf(out, "<span class=\"badge o-%s\">%s</span>", outcome_label(o), outcome_label(o));
}

static void header(struct buf *out, const struct report *rp, const struct report_page *pg)
{
	uint64_t c[LEDGER_OUT__COUNT], rollbacks = report_count(rp, c);
	double rate = report_success_rate(rp);
	char t[64], a[64], b[64];

	when(t, sizeof(t), pg->now_ns);
	buf_printf(out, "<header id=\"summary\"><h1>shiplog report");
	if (pg->project) {
		buf_printf(out, ": ");
		report_escape(out, pg->project);
	}
	buf_printf(out, "</h1><div class=\"sub\">ledger <code>");
	report_escape(out, pg->ledger_dir);
	buf_printf(out, "</code> · generated %s UTC", t);
	if (rp->nops) {
		when(a, sizeof(a), rp->ops[0].started_ns);
		when(b, sizeof(b), rp->last_ns);
		buf_printf(out, " · operations from %s to %s UTC", a, b);
	}
	if (pg->since_text) {
		buf_printf(out, " · since ");
		report_escape(out, pg->since_text);
	}
	buf_printf(out, "</div><div class=\"cards\">");
	buf_printf(out,
		   "<div class=\"card\" id=\"ops-count\"><div class=\"k\">operations</div>"
		   "<div class=\"v\">%zu</div></div>",
		   rp->nops);
	buf_printf(out, "<div class=\"card\" id=\"success-rate\"><div class=\"k\">success "
			"rate</div><div class=\"v\">");
	if (rate < 0)
		buf_printf(out, "-");
	else
		buf_printf(out, "%.1f%%", rate * 100);
	buf_printf(out, "</div></div>");
	for (unsigned o = LEDGER_OUT_SUCCEEDED; o < LEDGER_OUT__COUNT; o++)
		buf_printf(
		    out,
		    "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v o-%s\">%" PRIu64
		    "</div></div>",
		    outcome_label(o), outcome_label(o), c[o]);
	if (c[LEDGER_OUT_NONE])
		buf_printf(out,
			   "<div class=\"card\"><div class=\"k\">open</div><div class=\"v "
			   "o-running\">%" PRIu64 "</div></div>",
			   c[LEDGER_OUT_NONE]);
	buf_printf(out,
		   "<div class=\"card\"><div class=\"k\">rollbacks</div><div class=\"v\">%" PRIu64
		   "</div></div>",
		   rollbacks);
	buf_printf(out,
		   "</div><p class=\"sub\">Success rate: succeeded over operations that ran to "
		   "an end (refusals and open operations left out).</p></header>\n");
}

static void legend(struct buf *out, bool links)
{
	buf_printf(out, "<div class=\"legend\">");
	for (unsigned o = LEDGER_OUT_SUCCEEDED; o < LEDGER_OUT__COUNT; o++)
		buf_printf(out, "<span class=\"o-%s\">%s</span>", outcome_label(o),
			   outcome_label(o));
	buf_printf(out, "<span class=\"o-running\">running</span>");
	if (links)
		buf_printf(out, "<span class=\"link\">rollback → what it reverted</span>");
	buf_printf(out, "</div>");
}

#define TL_W 1100
#define TL_PAD 40

static void op_title(struct buf *out, const struct report *rp, const struct report_op *o)
{
	char name[32], t[64], d[32];

	op_name(name, sizeof(name), o);
	when(t, sizeof(t), o->started_ns);
	dur(d, sizeof(d), o->finished_ns ? o->finished_ns - o->started_ns : -1);
	buf_printf(out, "<title>%s %s, %s UTC, %s, %s", name, o->rollback ? "rollback" : "deploy",
		   t, outcome_label(o->outcome), d);
	if (o->recent >= 0) {
		const struct report_recent *rc = &rp->recent[o->recent];
		buf_printf(out, ", ref ");
		report_escape(out, rc->ref);
		buf_printf(out, ", by ");
		report_escape(out, rc->actor);
	}
	buf_printf(out, "</title>");
}

/* Few operations: one mark each, evenly spaced in order; deploys above, rollbacks below, a
 * dashed arc from each rollback to the operation it reverted. */
static void timeline_marks(struct buf *out, const struct report *rp)
{
	const int y_dep = 46, y_rb = 104, h = 150;
	double step = rp->nops > 1 ? (double)(TL_W - 2 * TL_PAD) / (double)(rp->nops - 1) : 0;
	char t[32];

	buf_printf(out,
		   "<svg id=\"timeline-svg\" class=\"marks\" viewBox=\"0 0 %d %d\" role=\"img\" "
		   "aria-label=\"operations in order, coloured by outcome\">",
		   TL_W, h);
	buf_printf(out,
		   "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
		   "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
		   "<text x=\"2\" y=\"%d\">deploys</text><text x=\"2\" y=\"%d\">rollbacks</text>",
		   TL_PAD, y_dep, TL_W - TL_PAD, y_dep, TL_PAD, y_rb, TL_W - TL_PAD, y_rb,
		   y_dep - 14, y_rb + 22);
	for (size_t i = 0; i < rp->nops; i++) {
		const struct report_op *o = &rp->ops[i];
		const struct report_op *x;
		double x0 = TL_PAD + step * (double)i, x1;

		if (!o->rollback || !o->reverts || !(x = report_find(rp, o->reverts)))
			continue;
		x1 = TL_PAD + step * (double)(x - rp->ops);
		buf_printf(out,
			   "<path class=\"revert-link\" d=\"M%.1f %d C%.1f %d %.1f %d %.1f %d\"/>",
			   x0, y_rb - 7, x0, y_rb - 30, x1, y_dep + 30, x1, y_dep + 7);
	}
	for (size_t i = 0; i < rp->nops; i++) {
		const struct report_op *o = &rp->ops[i];
		double x = TL_PAD + step * (double)i;
		int y = o->rollback ? y_rb : y_dep;

		if (o->recent >= 0)
			buf_printf(out, "<a href=\"#op-%" PRIu64 "\">", o->op);
		if (o->rollback)
			buf_printf(out,
				   "<rect class=\"op-mark o-%s\" x=\"%.1f\" y=\"%d\" width=\"12\" "
				   "height=\"12\" rx=\"2\" transform=\"rotate(45 %.1f %d)\">",
				   outcome_label(o->outcome), x - 6, y - 6, x, y);
		else
			buf_printf(out,
				   "<circle class=\"op-mark o-%s\" cx=\"%.1f\" cy=\"%d\" r=\"7\">",
				   outcome_label(o->outcome), x, y);
		op_title(out, rp, o);
		buf_printf(out, o->rollback ? "</rect>" : "</circle>");
		if (o->recent >= 0)
			buf_printf(out, "</a>");
	}
	for (int k = 0; k < 5 && rp->nops; k++) {
		size_t i = (rp->nops - 1) * (size_t)k / 4;
		if (k && i == (rp->nops - 1) * (size_t)(k - 1) / 4)
			continue;
		when_short(t, sizeof(t), rp->ops[i].started_ns);
		buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>",
			   TL_PAD + step * (double)i, h - 4,
			   k == 0   ? "start"
			   : k == 4 ? "end"
				    : "middle",
			   t);
	}
	buf_printf(out, "</svg>");
}

/* Many operations: REPORT_TIMELINE_BUCKETS equal spans of time, each a bar stacked by outcome;
 * rollbacks that reverted an operation of another span are arcs between the two spans. */
static void timeline_buckets(struct buf *out, const struct report *rp)
{
	enum { B = REPORT_TIMELINE_BUCKETS, H = 150, TOP = 10, BASE = 120 };
	uint64_t(*cnt)[LEDGER_OUT__COUNT] = xcalloc(B, sizeof(*cnt));
	uint8_t *pairs = xcalloc(B * B / 8 + 1, 1);
	int64_t t0 = rp->ops[0].started_ns, t1 = rp->ops[rp->nops - 1].started_ns + 1;
	double span = (double)(t1 - t0), bw = (double)(TL_W - 2 * TL_PAD) / B;
	uint64_t max = 1;
	unsigned links = 0;
	char a[64], b[64];

#define BUCKET(t)                                                                                  \
	((size_t)((double)((t)-t0) / span * B) < B ? (size_t)((double)((t)-t0) / span * B) : B - 1)
	for (size_t i = 0; i < rp->nops; i++) {
		const struct report_op *o = &rp->ops[i];
		cnt[BUCKET(o->started_ns)][o->outcome < LEDGER_OUT__COUNT ? o->outcome : 0]++;
	}
	for (size_t k = 0; k < B; k++) {
		uint64_t s = 0;
		for (unsigned o = 0; o < LEDGER_OUT__COUNT; o++)
			s += cnt[k][o];
		if (s > max)
			max = s;
	}
	buf_printf(out,
		   "<svg id=\"timeline-svg\" class=\"buckets\" viewBox=\"0 0 %d %d\" role=\"img\" "
		   "aria-label=\"operations per span of time, stacked by outcome\">",
		   TL_W, H);
	buf_printf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", TL_PAD,
		   BASE, TL_W - TL_PAD, BASE);
	buf_printf(out, "<text x=\"2\" y=\"%d\">%" PRIu64 "</text><text x=\"2\" y=\"%d\">0</text>",
		   TOP + 8, max, BASE);
	for (size_t k = 0; k < B; k++) {
		double x = TL_PAD + bw * (double)k, y = BASE;
		uint64_t s = 0;

		for (unsigned o = 0; o < LEDGER_OUT__COUNT; o++)
			s += cnt[k][o];
		if (!s)
			continue;
		when(a, sizeof(a), t0 + (int64_t)(span * (double)k / B));
		when(b, sizeof(b), t0 + (int64_t)(span * (double)(k + 1) / B));
		buf_printf(out, "<g class=\"bucket\"><title>%s to %s UTC: %" PRIu64 " operations",
			   a, b, s);
		for (unsigned o = 1; o <= LEDGER_OUT__COUNT; o++)
			if (cnt[k][o % LEDGER_OUT__COUNT])
				buf_printf(out, ", %" PRIu64 " %s", cnt[k][o % LEDGER_OUT__COUNT],
					   outcome_label(o % LEDGER_OUT__COUNT));
		buf_printf(out, "</title>");
		/* succeeded at the bottom, the rarer outcomes stacked above it */
		for (unsigned o = 1; o <= LEDGER_OUT__COUNT; o++) {
			uint64_t v = cnt[k][o % LEDGER_OUT__COUNT];
			double hh = (double)v / (double)max * (BASE - TOP);
			if (!v)
				continue;
			if (hh < 1.5)
				hh = 1.5;
			y -= hh;
			buf_printf(out,
				   "<rect class=\"o-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				   "height=\"%.1f\"/>",
				   outcome_label(o % LEDGER_OUT__COUNT), x + 0.5, y, bw - 1, hh);
		}
		buf_printf(out, "</g>");
	}
	for (size_t i = 0; i < rp->nops && links < 400; i++) {
		const struct report_op *o = &rp->ops[i], *x;
		size_t kb, ka, bit;

		if (!o->rollback || !o->reverts || !(x = report_find(rp, o->reverts)))
			continue;
		kb = BUCKET(o->started_ns);
		ka = BUCKET(x->started_ns);
		bit = kb * B + ka;
		if (ka == kb || pairs[bit / 8] & (1u << (bit % 8)))
			continue;
		pairs[bit / 8] |= (uint8_t)(1u << (bit % 8));
		links++;
		buf_printf(
		    out, "<path class=\"revert-link\" d=\"M%.1f %d C%.1f %d %.1f %d %.1f %d\"/>",
		    TL_PAD + bw * ((double)kb + 0.5), BASE + 2, TL_PAD + bw * ((double)kb + 0.5),
		    BASE + 22, TL_PAD + bw * ((double)ka + 0.5), BASE + 22,
		    TL_PAD + bw * ((double)ka + 0.5), BASE + 2);
	}
#undef BUCKET
	for (int k = 0; k <= 4; k++) {
		when_short(a, sizeof(a), t0 + (int64_t)(span * k / 4));
		buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>",
			   TL_PAD + (TL_W - 2 * TL_PAD) * k / 4.0, H - 2,
			   k == 0   ? "start"
			   : k == 4 ? "end"
				    : "middle",
			   a);
	}
	buf_printf(out, "</svg>");
	free(pairs);
	free(cnt);
}

static void timeline(struct buf *out, const struct report *rp)
{
	buf_printf(out, "<section id=\"timeline\"><h2>Timeline</h2>");
	if (!rp->nops) {
		buf_printf(out, "<p class=\"none\">No operations in this range.</p></section>\n");
		return;
	}
	if (rp->nops <= REPORT_TIMELINE_OPS) {
		buf_printf(
		    out, "<p class=\"sub\">Every operation in order, oldest left. Deploys on "
			 "the upper line, rollbacks (diamonds) on the lower; a dashed arc joins a "
			 "rollback to the operation it reverted. Hover for details, click for "
			 "its row.</p>");
		timeline_marks(out, rp);
	} else {
		buf_printf(
		    out,
		    "<p class=\"sub\">%zu operations in %d equal spans of time, each bar "
		    "stacked by outcome; a dashed arc joins spans where a rollback reverted an "
		    "operation of an earlier span.</p>",
		    rp->nops, REPORT_TIMELINE_BUCKETS);
		timeline_buckets(out, rp);
	}
	legend(out, true);
	buf_printf(out, "</section>\n");
}

/* A y-axis top at a round value above max. */
static int64_t nice_top(int64_t max)
{
	static const int64_t steps[] = {1, 2, 5};
	int64_t m = 1000000; /* 1 ms */

	if (max <= 0)
		return m;
	for (;;)
		for (size_t i = 0; i < ELEMENTSOF(steps); i++)
			if (steps[i] * m >= max)
				return steps[i] * m;
			else if (i == ELEMENTSOF(steps) - 1)
				m *= 10;
}

static void trend(struct buf *out, const struct report *rp, const struct report_phase *p,
		  int64_t t0, int64_t t1, int64_t **scratch, size_t *scap)
{
	enum { W = 540, H = 170, L = 56, R = 10, T = 10, BOT = 140 };
	const double qs[] = {0.5, 0.95};
	int64_t q[REPORT_TREND_BUCKETS][2], whole[2] = {0, 0}, top = 0;
	size_t n[REPORT_TREND_BUCKETS], nb, all;
	double span = (double)(t1 - t0), bw;
	char d1[32], d2[32], a[32];
	bool first = true;

	(void)rp;
	all = report_phase_quantiles(p, INT64_MIN, INT64_MAX, qs, 2, whole, scratch, scap);
	if (!all)
		return;
	nb = all / 3 < 1 ? 1 : all / 3 > REPORT_TREND_BUCKETS ? REPORT_TREND_BUCKETS : all / 3;
	bw = (double)(W - L - R) / (double)nb;
	for (size_t k = 0; k < nb; k++) {
		int64_t from = t0 + (int64_t)(span * (double)k / (double)nb);
		int64_t to =
		    k + 1 == nb ? INT64_MAX : t0 + (int64_t)(span * (double)(k + 1) / (double)nb);
		if (k == 0)
			from = INT64_MIN;
		n[k] = report_phase_quantiles(p, from, to, qs, 2, q[k], scratch, scap);
		if (n[k] && q[k][1] > top)
			top = q[k][1];
	}
	/* each run is drawn when there are few: none may fall off the top */
	if (p->n <= 300)
		for (size_t i = 0; i < p->n; i++)
			if (p->v[i].dur_ns > top)
				top = p->v[i].dur_ns;
	top = nice_top(top);
	dur(d1, sizeof(d1), whole[0]);
	dur(d2, sizeof(d2), whole[1]);
	buf_printf(out, "<div class=\"trend\" id=\"trend-");
	report_escape(out, p->name);
	buf_printf(out, "\"><h3>");
	report_escape(out, p->name);
	buf_printf(
	    out, " <span class=\"sub\">%zu runs · p50 %s · p95 %s · %" PRIu64 " failed</span></h3>",
	    all, d1, d2, p->failures);
	buf_printf(out, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H);
	report_escape(out, p->name);
	buf_printf(out, " duration over time, p50 line and p50 to p95 band\">");
#define Y(v) (BOT - (double)(v) / (double)top * (BOT - T))
	for (int g = 0; g <= 2; g++) {
		int64_t v = top * g / 2;
		dur(a, sizeof(a), v);
		buf_printf(out,
			   "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
			   L, Y(v), W - R, Y(v), L - 6, Y(v) + 4, a);
	}
	for (size_t k = 0; k < nb; k++) {
		if (!n[k])
			continue;
		buf_printf(out,
			   "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			   "height=\"%.1f\"><title>%zu runs: p50 ",
			   L + bw * (double)k, Y(q[k][1]), bw, Y(q[k][0]) - Y(q[k][1]) + 0.5, n[k]);
		dur(a, sizeof(a), q[k][0]);
		buf_printf(out, "%s, p95 ", a);
		dur(a, sizeof(a), q[k][1]);
		buf_printf(out, "%s</title></rect>", a);
	}
	if (p->n <= 300)
		for (size_t i = 0; i < p->n; i++) {
			double x = span > 0 ? (double)(p->v[i].time_ns - t0) / span : 0.5;
			int64_t v = p->v[i].dur_ns > top ? top : p->v[i].dur_ns;
			buf_printf(out, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"/>",
				   L + x * (W - L - R), Y(v), p->n <= 40 ? "3.5" : "2.2");
		}
	buf_printf(out, "<polyline class=\"p50\" points=\"");
	for (size_t k = 0; k < nb; k++) {
		if (!n[k])
			continue;
		if (nb == 1)
			buf_printf(out, "%d,%.1f %d,%.1f", L, Y(q[k][0]), W - R, Y(q[k][0]));
		else
			buf_printf(out, "%s%.1f,%.1f", first ? "" : " ", L + bw * ((double)k + 0.5),
				   Y(q[k][0]));
		first = false;
	}
	buf_printf(out, "\"/>");
#undef Y
	when_short(a, sizeof(a), t0);
	buf_printf(out, "<text x=\"%d\" y=\"%d\">%s</text>", L, H - 8, a);
	when_short(a, sizeof(a), t1);
	buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text></svg></div>", W - R,
		   H - 8, a);
}

static void trends(struct buf *out, const struct report *rp)
{
	int64_t *scratch = NULL;
	size_t scap = 0;
	int64_t t0 = rp->nops ? rp->ops[0].started_ns : rp->first_ns, t1 = rp->last_ns;

	buf_printf(out, "<section id=\"trends\"><h2>Phase durations</h2><p class=\"sub\">Each "
			"phase over time: the line is the median (p50) of each span, the band "
			"reaches from p50 to p95. \"total\" is the whole operation.</p>");
	if (!rp->nphases) {
		buf_printf(out, "<p class=\"none\">No phase has finished in this range.</p>");
	} else {
		buf_printf(out, "<div class=\"trends\">");
		for (uint32_t i = 0; i < rp->nphases; i++)
			if (!streq(rp->phases[i].name, "total"))
				trend(out, rp, &rp->phases[i], t0, t1, &scratch, &scap);
		for (uint32_t i = 0; i < rp->nphases; i++)
			if (streq(rp->phases[i].name, "total"))
				trend(out, rp, &rp->phases[i], t0, t1, &scratch, &scap);
		buf_printf(out, "</div>");
	}
	buf_printf(out, "</section>\n");
	free(scratch);
}

static void state_table(struct buf *out, const struct report *rp, const struct ledger_state *st)
{
	char t[64];
	bool any = false;

	buf_printf(out, "<section id=\"state\"><h2>Current state</h2>");
	if (st->inflight.op) {
		buf_printf(out, "<p>Running now: ");
		report_escape(out, st->inflight.kind);
		buf_printf(out, " ");
		op_link(out, rp, st->inflight.op);
		buf_printf(out, ", phase ");
		report_escape(out, st->inflight.phase);
		buf_printf(out, ", by ");
		report_escape(out, st->inflight.actor);
		buf_printf(out, "</p>");
	}
	if (st->checkout_commit[0]) {
		buf_printf(out, "<p class=\"sub\">Checkout at ");
		short_commit(out, st->checkout_commit);
		if (st->checkout_ref[0]) {
			buf_printf(out, " (");
			report_escape(out, st->checkout_ref);
			buf_printf(out, ")");
		}
		buf_printf(out, "</p>");
	}
	buf_printf(out,
		   "<table class=\"state\"><thead><tr><th>service</th><th>runtime</th>"
		   "<th>owner</th><th>commit</th><th>since (UTC)</th><th>by</th><th>healthy</th>"
		   "<th>last good</th></tr></thead><tbody>");
	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *s = &st->services[i];
		for (int r = 0; r < LEDGER_RT__COUNT; r++) {
			const struct ledger_service_runtime *x = &s->rt[r];
			if (!x->commit[0])
				continue;
			any = true;
			buf_printf(out, "<tr><td>");
			report_escape(out, s->name);
			buf_printf(out, "</td><td>%s</td><td>%s</td><td>",
				   ledger_runtime_name((enum ledger_runtime)r),
				   s->owner == r ? "owner" : "");
			short_commit(out, x->commit);
			when(t, sizeof(t), x->since_ns);
			buf_printf(out, "</td><td>%s</td><td>", t);
			if (x->op)
				op_link(out, rp, x->op);
			buf_printf(out, "</td><td class=\"%s\">%s</td><td>",
				   x->healthy ? "yes" : "no", x->healthy ? "yes" : "no");
			if (x->ngood) {
				short_commit(out, x->good[0].commit);
				when(t, sizeof(t), x->good[0].time_ns);
				buf_printf(out, " <span class=\"sub\">%s</span>", t);
			} else {
				buf_printf(out, "<span class=\"none\">none</span>");
			}
			buf_printf(out, "</td></tr>");
		}
	}
	buf_printf(out, "</tbody></table>");
	if (!any)
		buf_printf(out, "<p class=\"none\">Nothing deployed yet.</p>");
	buf_printf(out, "</section>\n");
}

static void quarantine(struct buf *out, const struct report *rp, const struct ledger_state *st)
{
	char t[64];

	buf_printf(out, "<section id=\"quarantine\"><h2>Quarantined commits</h2>");
	if (!st->nquarantine) {
		buf_printf(out, "<p class=\"none\">No commit is quarantined.</p></section>\n");
		return;
	}
	buf_printf(out,
		   "<p class=\"sub\">Commits a rollback undid; deploys of them are refused "
		   "until 'shiplog quarantine lift'.</p><table><thead><tr><th>commit</th>"
		   "<th>since (UTC)</th><th>operation</th><th>rolled back by</th><th>reason</th>"
		   "</tr></thead><tbody>");
	for (uint32_t i = 0; i < st->nquarantine; i++) {
		const struct ledger_quarantine *q = &st->quarantine[i];
		buf_printf(out, "<tr class=\"quarantined\"><td>");
		short_commit(out, q->commit);
		when(t, sizeof(t), q->time_ns);
		buf_printf(out, "</td><td>%s</td><td>", t);
		op_link(out, rp, q->op);
		buf_printf(out, "</td><td>");
		if (q->rollback_op)
			op_link(out, rp, q->rollback_op);
		buf_printf(out, "</td><td class=\"err\">");
		report_escape(out, q->reason);
		buf_printf(out, "</td></tr>");
	}
	buf_printf(out, "</tbody></table></section>\n");
}

static void soak_strip(struct buf *out, const struct report_soak_service *v)
{
	enum { CW = 5, CH = 14 };

	buf_printf(out, "<svg class=\"strip\" viewBox=\"0 0 %d %d\" style=\"width:%dpx\">",
		   REPORT_SOAK_BINS * CW, CH, REPORT_SOAK_BINS * CW);
	for (uint32_t i = 0; i < v->nbins; i++) {
		/* red: not active (its own); grey: an operation's (set aside); else green */
		const char *cls = v->bins[i] & 2   ? "o-failed"
				  : v->bins[i] & 8 ? "o-refused"
						   : "o-succeeded";
		buf_printf(out, "<rect class=\"%s\" x=\"%u\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
			   cls, i * CW, v->bins[i] & 4 ? 0 : 3, CW - 1,
			   v->bins[i] & 4 ? CH : CH - 6);
	}
	buf_printf(out, "</svg>");
}

static void soaks(struct buf *out, const struct report *rp)
{
	char a[64], b[64], m[32];

	buf_printf(out, "<section id=\"soaks\"><h2>Soak windows</h2>");
	if (!rp->nsoaks) {
		buf_printf(out, "<p class=\"none\">No soak window in this range.</p></section>\n");
		return;
	}
	buf_printf(out,
		   "<p class=\"sub\">Units and containers sampled during each window (newest "
		   "first; %u of %" PRIu64 " shown), added up as 'shiplog soak report' does: "
		   "what a deploy, rollback or cut-over inside the window did to the services it "
		   "touched is set aside, not counted as theirs. A cell is one or more samples: "
		   "green all active, red some not active, grey during an operation (set aside), "
		   "tall where the service restarted.</p>",
		   rp->nsoaks, rp->soaks_total);
	for (uint32_t k = 0; k < rp->nsoaks; k++) {
		uint32_t slot = (rp->soak_next + REPORT_MAX_SOAKS - 1 - k) % REPORT_MAX_SOAKS;
		const struct report_soak *s = &rp->soaks[slot];

		when(a, sizeof(a), s->started_ns);
		when(b, sizeof(b), s->stopped_ns);
		buf_printf(out, "<div class=\"soak\"><h3>");
		report_escape(out, s->name);
		buf_printf(out, " <span class=\"sub\">%s to %s UTC · by ", a,
			   s->stopped_ns ? b : "(running)");
		report_escape(out, s->actor);
		buf_printf(out, "</span></h3>");
		if (!s->nsvc) {
			buf_printf(out, "<p class=\"none\">No samples.</p>");
		} else {
			buf_printf(out,
				   "<table><thead><tr><th>service</th><th>runtime</th>"
				   "<th>samples</th>"
				   "<th>restarts</th><th>main pids</th><th>not active</th>"
				   "<th>peak memory</th><th>samples over time</th></tr></thead>"
				   "<tbody>");
			for (uint32_t i = 0; i < s->nsvc; i++) {
				const struct report_soak_service *v = &s->svc[i];
				buf_printf(out, "<tr><td>");
				report_escape(out, v->name);
				snprintf(m, sizeof(m), "%.1f MiB",
					 (double)v->peak_memory / (1024.0 * 1024.0));
				buf_printf(
				    out,
				    "</td><td>%s</td><td>%u</td><td class=\"%s\">%u</td><td>%u</td>"
				    "<td class=\"%s\">%u</td><td>%s</td><td>",
				    ledger_runtime_name(v->runtime), v->samples,
				    v->restarts ? "no" : "", v->restarts, v->pids,
				    v->inactive ? "no" : "", v->inactive, v->peak_memory ? m : "-");
				soak_strip(out, v);
				buf_printf(out, "</td></tr>");
			}
			buf_printf(out, "</tbody></table>");
			for (uint32_t i = 0; i < s->nsvc; i++) {
				if (!s->svc[i].aside)
					continue;
				buf_printf(out, "<p class=\"sub aside\">");
				report_escape(out, s->svc[i].aside);
				buf_printf(out, "</p>");
			}
		}
		if (!str_empty(s->summary)) {
			buf_printf(out, "<p class=\"sub\">");
			report_escape(out, s->summary);
			buf_printf(out, "</p>");
		}
		buf_printf(out, "</div>");
	}
	buf_printf(out, "</section>\n");
}

static void operations(struct buf *out, const struct report *rp)
{
	char t[64], d[32], name[32];

	buf_printf(out, "<section id=\"operations\"><h2>Recent operations</h2>");
	if (!rp->nops) {
		buf_printf(out, "<p class=\"none\">No operations in this range.</p></section>\n");
		return;
	}
	buf_printf(out,
		   "<p class=\"sub\">The newest %u, newest first.</p><table><thead><tr><th>op</th>"
		   "<th>kind</th><th>started (UTC)</th><th>took</th><th>outcome</th>"
		   "<th>runtime</th><th>ref</th><th>commit</th><th>services</th><th>by</th>"
		   "<th>rollback</th><th>error</th></tr></thead><tbody>",
		   rp->nrecent);
	for (size_t i = rp->nops; i-- > 0;) {
		const struct report_op *o = &rp->ops[i];
		const struct report_recent *rc;

		if (o->recent < 0)
			break;
		rc = &rp->recent[o->recent];
		op_name(name, sizeof(name), o);
		when(t, sizeof(t), o->started_ns);
		dur(d, sizeof(d), o->finished_ns ? o->finished_ns - o->started_ns : -1);
		buf_printf(out,
			   "<tr id=\"op-%" PRIu64 "\" class=\"op o-row-%s\"><td>%s</td><td>%s</td>"
			   "<td>%s</td><td>%s</td><td>",
			   o->op, outcome_label(o->outcome), name,
			   o->rollback ? "rollback" : "deploy", t,
			   o->outcome == LEDGER_OUT_NONE ? "-" : d);
		badge(out, o->outcome);
		buf_printf(out, "</td><td>%s</td><td class=\"ref\">",
			   ledger_runtime_name((enum ledger_runtime)o->runtime));
		report_escape(out, rc->ref);
		buf_printf(out, "</td><td>");
		short_commit(out, rc->commit);
		buf_printf(out, "</td><td>");
		report_escape(out, rc->services);
		buf_printf(out, "</td><td class=\"actor\">");
		report_escape(out, rc->actor);
		buf_printf(out, "</td><td>");
		if (o->rollback && o->reverts) {
			buf_printf(out, "reverts ");
			op_link(out, rp, o->reverts);
		} else if (o->rollback_op) {
			buf_printf(out, "rolled back by ");
			op_link(out, rp, o->rollback_op);
		}
		buf_printf(out, "</td><td class=\"err\">");
		report_escape(out, rc->error);
		buf_printf(out, "</td></tr>");
	}
	buf_printf(out, "</tbody></table></section>\n");
}

void report_write(struct buf *out, const struct report *rp, const struct ledger_state *st,
		  const struct report_page *page)
{
	buf_printf(out,
		   "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		   /* nothing may load or run, whatever a ledger string holds */
		   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		   "style-src 'unsafe-inline'\"><title>shiplog report");
	if (page->project) {
		buf_printf(out, ": ");
		report_escape(out, page->project);
	}
	buf_printf(out, "</title><style>%s</style></head>\n<body><main>\n", css);
	header(out, rp, page);
	timeline(out, rp);
	trends(out, rp);
	state_table(out, rp, st);
	quarantine(out, rp, st);
	soaks(out, rp);
	operations(out, rp);
	buf_printf(out,
		   "<footer>shiplog report · %" PRIu64 " events read · static HTML, no "
		   "script</footer>\n</main></body></html>\n",
		   page->events);
}
