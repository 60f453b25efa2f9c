/* SPDX-License-Identifier: MIT */
#include "text.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out.h"
#include "view.h"

const char *render_short_commit(const char *commit, char buf[RENDER_SHORT_COMMIT + 1])
{
	if (str_empty(commit))
		return "-";
	strlcpy_(buf, commit, RENDER_SHORT_COMMIT + 1);
	return buf;
}

void render_time_short(int64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void render_offset(int64_t ns, int64_t base_ns, char *buf, size_t n)
{
	int64_t d = ns - base_ns;
	const char *sign = "+";

	if (d < 0) {
		sign = "-";
		d = -d;
	}
	snprintf(buf, n, "%s%" PRId64 ".%03ds", sign, d / 1000000000, (int)((d / 1000000) % 1000));
}

static void dur(int64_t ns, char *buf, size_t n)
{
	format_duration(ns, buf, n);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* ---- events ------------------------------------------------------------------------------- */

static void strv_text(struct buf *b, const struct ledger_strv *sv, const char *sep,
		      const char *empty)
{
	if (sv->n == 0) {
		buf_printf(b, "%s", empty);
		return;
	}
	for (uint32_t i = 0; i < sv->n; i++)
		buf_printf(b, "%s%s", i ? sep : "", nz(sv->v[i]));
}

/* Like out_argv: words with blanks or shell characters are JSON-quoted. */
static void argv_text(struct buf *b, const struct ledger_strv *sv)
{
	for (uint32_t i = 0; i < sv->n; i++) {
		const char *w = nz(sv->v[i]);
		bool quote = !*w || strpbrk(w, " \t\n\"'\\$`;&|<>()*?") != NULL;

		if (i)
			buf_append(b, " ", 1);
		if (quote) {
			json_t *s = json_str(w);
			char *q = json_dumps(s, JSON_ENCODE_ANY);
			buf_printf(b, "%s", q ? q : "\"?\"");
			free(q);
			json_decref(s);
		} else {
			buf_printf(b, "%s", w);
		}
	}
}

/* ": first line", then each further line of a detail (a failed unit's last lines) on its own
 * line under the event, as show prints it. */
static void detail_text(struct buf *b, const char *detail)
{
	const char *nl;

	if (str_empty(detail))
		return;
	nl = strchr(detail, '\n');
	buf_printf(b, ": %.*s", nl ? (int)(nl - detail) : (int)strlen(detail), detail);
	while (nl) {
		const char *l = nl + 1;
		nl = strchr(l, '\n');
		buf_printf(b, "\n%19s| %.*s", "", nl ? (int)(nl - l) : (int)strlen(l), l);
	}
}

/* The type's template (ledger_event_type_text() says the grammar). A template's end is n; every
 * scan stops there, so a malformed template prints oddly but never reads past its string. */

/* The end of the group that starts at s[0] ('{' or '['): the index of its closing character, or
 * n when it has none. */
static size_t tmpl_close(const char *s, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			i++;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (--depth == 0)
				return i;
		}
	}
	return n;
}

/* The first c in s[0..n) outside any group, or n. */
static size_t tmpl_find(const char *s, size_t n, char c)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == c)
			return i;
		else if (s[i] == '{' || s[i] == '[')
			i = tmpl_close(s + i, n - i) + i;
	}
	return n;
}

/* A field by its name; "request.NAME" is the field of a standalone op.refused's request. */
static const struct ledger_field *tmpl_field(const struct ledger_event *ev, const char *name,
					     size_t n)
{
	const struct ledger_field *fields;
	unsigned want = 0;
	size_t nf;

	if (n > 8 && memcmp(name, "request.", 8) == 0) {
		name += 8;
		n -= 8;
		want = LEDGER_FIELD_REQUEST;
	}
	fields = ledger_event_fields(ev->type, &nf);
	for (size_t i = 0; i < nf; i++)
		if ((fields[i].flags & LEDGER_FIELD_REQUEST) == want &&
		    strlen(fields[i].name) == n && memcmp(fields[i].name, name, n) == 0)
			return &fields[i];
	return NULL;
}

static bool conv_is(const char *conv, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(conv, name, n) == 0;
}

/* One value, converted. */
static void tmpl_value(struct buf *b, const struct ledger_field *f, const void *v, bool zero,
		       const char *conv, size_t cn)
{
	char tmp[32];

	switch (f->kind) {
	case LEDGER_FIELD_STR: {
		const char *str = zero ? "" : nz(*(const char *const *)v);

		if (conv_is(conv, cn, "short"))
			buf_printf(b, "%s", render_short_commit(str, tmp));
		else if (conv_is(conv, cn, "lines"))
			detail_text(b, str);
		else if (*str || !cn)
			buf_printf(b, "%s", str);
		else
			buf_printf(b, "%s",
				   conv_is(conv, cn, "none")  ? "none"
				   : conv_is(conv, cn, "unk") ? "?"
							      : "-");
		return;
	}
	case LEDGER_FIELD_STRV:
		if (conv_is(conv, cn, "argv"))
			argv_text(b, v);
		else
			strv_text(b, v, ",", conv_is(conv, cn, "all") ? "all" : "");
		return;
	case LEDGER_FIELD_RUNTIME:
		buf_printf(b, "%s", render_runtime_name((int)*(const enum ledger_runtime *)v));
		return;
	case LEDGER_FIELD_OUTCOME:
		buf_printf(b, "%s", ledger_outcome_name(*(const enum ledger_outcome *)v));
		return;
	case LEDGER_FIELD_BOOL:
		buf_printf(b, "%s", *(const bool *)v ? "true" : "false");
		return;
	default:
		break;
	}
	/* the integers */
	{
		bool is_signed = f->kind == LEDGER_FIELD_I64 || f->kind == LEDGER_FIELD_I32;
		int64_t i = f->kind == LEDGER_FIELD_I64	  ? *(const int64_t *)v
			    : f->kind == LEDGER_FIELD_I32 ? *(const int32_t *)v
							  : 0;
		uint64_t u = f->kind == LEDGER_FIELD_U64   ? *(const uint64_t *)v
			     : f->kind == LEDGER_FIELD_U32 ? *(const uint32_t *)v
							   : 0;

		if (conv_is(conv, cn, "dur")) {
			dur(is_signed ? i : (int64_t)u, tmp, sizeof(tmp));
			buf_printf(b, "%s", tmp);
		} else if (conv_is(conv, cn, "kib")) {
			buf_printf(b, "%" PRIu64, u / 1024);
		} else if (conv_is(conv, cn, "s")) {
			buf_printf(b, "%s", (is_signed ? i == 1 : u == 1) ? "" : "s");
		} else if (conv_is(conv, cn, "op") && !is_signed) {
			char on[VIEW_OP_NAME_MAX];

			buf_printf(b, "%s", view_op_name(u, on));
		} else if (conv_is(conv, cn, "exit") && is_signed && i == -1) {
			buf_printf(b, "not started");
		} else {
			if (conv_is(conv, cn, "exit"))
				buf_printf(b, "exit ");
			if (is_signed)
				buf_printf(b, "%" PRId64, i);
			else
				buf_printf(b, "%" PRIu64, u);
		}
	}
}

static bool tmpl_run(struct buf *b, const struct ledger_event *ev, const char *s, size_t n);

/* "{...}" without its braces. Returns whether the value it names is not zero. */
static bool tmpl_ref(struct buf *b, const struct ledger_event *ev, const char *s, size_t n)
{
	size_t name_end = 0, q, other_end;
	const struct ledger_field *f, *other = NULL;
	const char *conv = "";
	size_t cn = 0;
	const void *v;
	bool zero;

	while (name_end < n && s[name_end] != ':' && s[name_end] != '!' && s[name_end] != '?')
		name_end++;
	f = tmpl_field(ev, s, name_end);
	if (!f) {
		buf_printf(b, "?");
		return false;
	}
	v = ledger_event_field(ev, f);
	zero = ledger_field_is_zero(f, v);
	if (name_end < n && s[name_end] == '?') {
		const char *alt = s + name_end + 1;
		size_t an = n - name_end - 1, bar = tmpl_find(alt, an, '|');

		if (!zero)
			tmpl_run(b, ev, alt, bar);
		else if (bar < an)
			tmpl_run(b, ev, alt + bar + 1, an - bar - 1);
		return true;
	}
	q = name_end;
	if (q < n && s[q] == '!') {
		other_end = q + 1;
		while (other_end < n && s[other_end] != ':')
			other_end++;
		other = tmpl_field(ev, s + q + 1, other_end - q - 1);
		q = other_end;
	}
	if (q < n && s[q] == ':') {
		conv = s + q + 1;
		cn = n - q - 1;
	}
	if (other && !zero && f->kind == LEDGER_FIELD_STR && other->kind == LEDGER_FIELD_STR &&
	    streq(nz(*(const char *const *)v),
		  nz(*(const char *const *)ledger_event_field(ev, other))))
		zero = true;
	tmpl_value(b, f, v, zero, conv, cn);
	return !zero;
}

/* Renders s[0..n) into b. Returns whether every value it names (outside choices) is not zero. */
static bool tmpl_run(struct buf *b, const struct ledger_event *ev, const char *s, size_t n)
{
	bool full = true;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			buf_append(b, &s[++i], 1);
		} else if (s[i] == '{' || s[i] == '[') {
			size_t end = i + tmpl_close(s + i, n - i);

			if (s[i] == '{') {
				full &= tmpl_ref(b, ev, s + i + 1, end - i - 1);
			} else {
				struct buf part = {0};

				if (tmpl_run(&part, ev, s + i + 1, end - i - 1) && part.len)
					buf_append(b, part.data, part.len);
				buf_free(&part);
			}
			i = end;
		} else {
			buf_append(b, &s[i], 1);
		}
	}
	return full;
}

void render_event_text(struct buf *b, const struct ledger_event *ev)
{
	const char *t = ledger_event_type_text(ev->type);

	if (ev->type == LEDGER_EV_UNKNOWN || str_empty(t)) {
		buf_printf(b, "%s (event type unknown to this shiplog)",
			   str_empty(ev->type_name) ? "?" : ev->type_name);
		return;
	}
	tmpl_run(b, ev, t, strlen(t));
}

enum out_tone render_event_tone(const struct ledger_event *ev)
{
	switch (ev->type) {
	case LEDGER_EV_PHASE_STARTED:
		return OUT_TONE_HEADER;
	case LEDGER_EV_PHASE_FINISHED:
		return ev->u.phase.ok ? OUT_TONE_NONE : OUT_TONE_FAIL;
	case LEDGER_EV_HEALTH_CHECKED:
		return ev->u.health_checked.ok ? OUT_TONE_NONE : OUT_TONE_FAIL;
	case LEDGER_EV_OP_REFUSED:
		return OUT_TONE_REFUSED;
	case LEDGER_EV_OP_FINISHED:
		return out_tone_outcome(ledger_outcome_name(ev->u.op_finished.outcome));
	default:
		return OUT_TONE_NONE;
	}
}

/* ---- states ------------------------------------------------------------------------------- */

static void inflight_text(FILE *f, const char *label, const struct ledger_state *st,
			  const struct ledger_inflight *in)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1], on[VIEW_OP_NAME_MAX];

	render_time_short(in->started_ns, t, sizeof(t));
	if (in->number || view_op_number(in->op))
		snprintf(on, sizeof(on), "%" PRIu64 " (seq:%" PRIu64 ", ",
			 in->number ? in->number : view_op_number(in->op), in->op);
	else
		snprintf(on, sizeof(on), "seq:%" PRIu64 " (", in->op);
	fprintf(f, "%s operation %s%s on %s), phase %s, by %s pid %u, since %s, target %s", label,
		on, in->kind, render_runtime_name(in->runtime), in->phase[0] ? in->phase : "-",
		in->actor[0] ? in->actor : "?", in->pid, t, render_short_commit(in->commit, c));
	if (in->nservices) {
		fputs(", services ", f);
		for (uint32_t i = 0; i < in->nservices && i < LEDGER_MAX_SERVICES; i++)
			if (in->services[i] < st->nservices)
				fprintf(f, "%s%s", i ? "," : "",
					st->services[in->services[i]].name);
	}
	if (in->verify_failed)
		fputs(", verify failed", f);
	fputc('\n', f);
}

/* One service's rows of the state table: one per runtime it has run on (w: the name column). */
static void state_service_rows(FILE *f, const struct ledger_state *st, uint32_t i, int w)
{
	const struct ledger_service_state *s = &st->services[i];
	char t[40], c[RENDER_SHORT_COMMIT + 1], g[RENDER_SHORT_COMMIT + 1], gt[40];
	char on[VIEW_OP_NAME_MAX];
	const char *owner = s->owner >= 0 ? render_runtime_name(s->owner) : "none";
	bool any = false;

	for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
		const struct ledger_service_runtime *r = &s->rt[rt];

		if (str_empty(r->commit) && r->ngood == 0)
			continue;
		render_time_short(r->since_ns, t, sizeof(t));
		fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  ", w, any ? "" : s->name,
			any ? "" : owner, render_runtime_name(rt),
			render_short_commit(r->commit, c), t);
		if (str_empty(r->commit))
			fprintf(f, "%-9s  ", "-");
		else if (render_restart_unsettled(st, i, rt))
			out_paint(f, OUT_TONE_WARN, "%-9s", "restarting?");
		else
			out_paint(f, r->healthy ? OUT_TONE_OK : OUT_TONE_FAIL, "%-9s",
				  r->healthy ? "healthy" : "UNHEALTHY");
		if (!str_empty(r->commit))
			fputs("  ", f);
		if (r->ngood) {
			render_time_short(r->good[0].time_ns, gt, sizeof(gt));
			fprintf(f, "%s (op %s, %s)\n", render_short_commit(r->good[0].commit, g),
				view_op_name(r->good[0].op, on), gt);
		} else {
			fputs("-\n", f);
		}
		any = true;
	}
	if (!any)
		fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  -\n", w, s->name, owner, "-", "-",
			"-", "-");
}

/* The restarts an operation asked for and did not record the result of. */
static void state_unsettled(FILE *f, const struct ledger_state *st)
{
	char c[RENDER_SHORT_COMMIT + 1], g[RENDER_SHORT_COMMIT + 1], on[VIEW_OP_NAME_MAX];

	for (uint32_t i = 0; i < st->nservices; i++)
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_inflight *in = render_restart_unsettled(st, i, rt);

			if (!in)
				continue;
			fprintf(
			    f,
			    "%s: operation %s asked for its restart and has not recorded "
			    "the result: it runs %s, or %s if systemd carried the restart out; the "
			    "next deploy or rollback settles it\n",
			    st->services[i].name, view_op_name(in->op, on),
			    str_empty(st->services[i].rt[rt].commit)
				? "nothing recorded"
				: render_short_commit(st->services[i].rt[rt].commit, c),
			    str_empty(in->commit) ? "that operation's target"
						  : render_short_commit(in->commit, g));
		}
}

static void state_quarantine(FILE *f, const struct ledger_state *st)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1], on[VIEW_OP_NAME_MAX], on2[VIEW_OP_NAME_MAX];

	if (!st->nquarantine)
		return;
	fputs("\nquarantined commits (a rollback undid them; deploy them again only on "
	      "purpose):\n",
	      f);
	for (uint32_t i = 0; i < st->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
		const struct ledger_quarantine *q = &st->quarantine[i];

		render_time_short(q->time_ns, t, sizeof(t));
		fprintf(f, "  %-12s  op %s rolled back by op %s at %s: %s\n",
			render_short_commit(q->commit, c), view_op_name(q->op, on),
			view_op_name(q->rollback_op, on2), t, q->reason[0] ? q->reason : "-");
	}
}

void render_state_text(FILE *f, const struct ledger_state *st)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1];
	size_t w = 7;

	render_time_short(st->time_ns, t, sizeof(t));
	/* Every op.requested and standalone op.refused counts: an automatic rollback nested in a
	 * deploy is an operation of its own. Say so, or the sum looks wrong. */
	fprintf(f,
		"ledger at seq %" PRIu64 " (%s): %" PRIu64
		" operations (automatic rollbacks and refusals included)",
		st->seq, t, st->counters.ops);
	for (int i = LEDGER_OUT_SUCCEEDED; i < LEDGER_OUT__COUNT; i++)
		if (st->counters.outcome[i])
			fprintf(f, ", %" PRIu64 " %s", st->counters.outcome[i],
				ledger_outcome_name((enum ledger_outcome)i));
	fputc('\n', f);
	if (!str_empty(st->checkout_commit))
		fprintf(f, "checkout %s%s%s%s\n", render_short_commit(st->checkout_commit, c),
			st->checkout_ref[0] ? " (" : "", st->checkout_ref,
			st->checkout_ref[0] ? ")" : "");
	fputc('\n', f);

	if (st->nservices == 0) {
		fputs("no service was deployed yet\n", f);
	} else {
		for (uint32_t i = 0; i < st->nservices; i++)
			if (strlen(st->services[i].name) > w)
				w = strlen(st->services[i].name);
		out_paint(f, OUT_TONE_HEADER, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  %s", (int)w,
			  "SERVICE", "OWNER", "RUNTIME", "COMMIT", "SINCE", "HEALTH", "LAST GOOD");
		fputc('\n', f);
		for (uint32_t i = 0; i < st->nservices; i++)
			state_service_rows(f, st, i, (int)w);
	}
	state_unsettled(f, st);
	state_quarantine(f, st);
	fputc('\n', f);
	if (st->inflight.op) {
		inflight_text(f, "in flight:", st, &st->inflight);
		if (st->parent.op)
			inflight_text(f, "  nested in:", st, &st->parent);
	} else {
		fputs("in flight: none\n", f);
	}
}

/* ---- operation summaries ------------------------------------------------------------------ */

void render_op_header(FILE *f)
{
	out_paint(f, OUT_TONE_HEADER, "%6s  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  %-22s  %8s  %s",
		  "OP", "STARTED", "KIND", "REF", "COMMIT", "RUNTIME", "SCOPE", "OUTCOME",
		  "DURATION", "ACTOR");
	fputc('\n', f);
}

void render_op_text(FILE *f, const struct ledger_op_summary *s, const struct ledger_state *st)
{
	const struct ledger_op_requested *r = render_event_request(&s->request);
	static const struct ledger_op_requested none = {0};
	char t[40], c[RENDER_SHORT_COMMIT + 2], d[32], ref[96], out[64], on[VIEW_OP_NAME_MAX];
	struct buf scope = {0};
	const char *guard = render_op_guard(s);

	if (!r)
		r = &none;
	render_time_short(s->started_ns, t, sizeof(t));
	if (str_empty(r->ref) || streq(r->ref, r->mode))
		snprintf(ref, sizeof(ref), "%s", str_empty(r->mode) ? "-" : r->mode);
	else if (streq(r->mode, "ref") || streq(r->mode, "to"))
		snprintf(ref, sizeof(ref), "%s", r->ref);
	else
		snprintf(ref, sizeof(ref), "%s %s", r->mode, r->ref);
	if (r->reverts) {
		char rv[32];

		snprintf(rv, sizeof(rv), " (op %s)", view_op_name(r->reverts, on));
		if (streq(r->mode, "auto") || streq(r->mode, "last-good"))
			snprintf(ref, sizeof(ref), "%s", r->mode);
		if (strlen(ref) + strlen(rv) < sizeof(ref))
			strcat(ref, rv);
	}
	if (strlen(ref) > 20)
		strcpy(ref + 18, "..");
	render_short_commit(s->commit, c);
	if (str_empty(s->commit))
		strcpy(c, "-");
	else if (st && ledger_state_quarantined(st, s->commit))
		strcat(c, "!");
	for (uint32_t i = 0; i < r->services.n; i++) {
		if (scope.len + strlen(nz(r->services.v[i])) > 22) {
			buf_printf(&scope, "+%u", r->services.n - i);
			break;
		}
		buf_printf(&scope, "%s%s", nz(r->services.v[i]), i + 1 < r->services.n ? "," : "");
	}
	if (!scope.len)
		buf_printf(&scope, "all");
	if (!str_empty(guard))
		snprintf(out, sizeof(out), "refused (%s)", guard);
	else if (s->outcome == LEDGER_OUT_ROLLED_BACK && s->rollback_op)
		snprintf(out, sizeof(out), "rolled-back (op %s)", view_op_name(s->rollback_op, on));
	else
		snprintf(out, sizeof(out), "%s", render_op_outcome(s));
	if (s->finished_ns && !s->refused && str_empty(guard))
		format_duration(s->finished_ns - s->started_ns, d, sizeof(d));
	else
		snprintf(d, sizeof(d), "-");
	if (s->number)
		snprintf(on, sizeof(on), "%" PRIu64, s->number);
	else
		view_op_name(s->op, on);
	fprintf(f, "%6s  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  ", on, t,
		str_empty(r->kind) ? "-" : r->kind, ref, c, render_runtime_name((int)r->runtime),
		scope.data);
	out_paint(f, out_tone_outcome(out), "%-22s", out);
	fprintf(f, "  %8s  %s\n", d, str_empty(s->request.actor) ? "-" : s->request.actor);
	buf_free(&scope);
}
