/* SPDX-License-Identifier: MIT */
#include "render.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "out.h"
#include "point.h"

/* ---- small pieces -------------------------------------------------------------------------- */

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

const struct ledger_op_requested *render_event_request(const struct ledger_event *ev)
{
	if (ev->type == LEDGER_EV_OP_REQUESTED)
		return &ev->u.op_requested;
	if (ev->type == LEDGER_EV_OP_REFUSED && !str_empty(ev->u.op_refused.req.kind))
		return &ev->u.op_refused.req;
	return NULL;
}

static const char *runtime_name(int rt)
{
	if (rt < 0 || rt >= LEDGER_RT__COUNT)
		return "";
	return ledger_runtime_name((enum ledger_runtime)rt);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* ---- events to JSON ------------------------------------------------------------------------ */

static json_t *strv_json(const struct ledger_strv *sv)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_str(sv->v[i]));
	return a;
}

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

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
		return json_str(runtime_name((int)*(const enum ledger_runtime *)v));
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

/* ---- events to text ------------------------------------------------------------------------ */

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
		buf_printf(b, "%s", runtime_name((int)*(const enum ledger_runtime *)v));
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

/* ---- JSON to events ------------------------------------------------------------------------ */

/* A bump allocator over 64 KiB blocks (import parses millions of small strings). */
#define ARENA_BLOCK (64u * 1024u)

struct render_arena_block {
	struct render_arena_block *next;
	size_t used, size;
	max_align_t data[];
};

static void *arena_alloc(struct render_arena *a, size_t n)
{
	struct render_arena_block *blk = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (!blk || blk->size - blk->used < need) {
		size_t size = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;

		blk = xmalloc(sizeof(*blk) + size);
		blk->used = 0;
		blk->size = size;
		if (size == need && a->head) {
			/* a big one: keep the current block for the small ones */
			blk->next = a->head->next;
			a->head->next = blk;
		} else {
			blk->next = a->head;
			a->head = blk;
		}
	}
	p = (char *)blk->data + blk->used;
	blk->used += need;
	return p;
}

static const char *arena_strdup(struct render_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(a, n);

	memcpy(p, s, n);
	return p;
}

void *render_arena_alloc(struct render_arena *a, size_t n)
{
	return arena_alloc(a, n);
}

void render_arena_free(struct render_arena *a)
{
	while (a->head) {
		struct render_arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

struct parser {
	json_t *obj;
	struct render_arena *a;
	char *err;
	size_t errlen;
	int r;
};

static void perr(struct parser *p, const char *fmt, const char *key)
{
	if (p->r < 0)
		return;
	snprintf(p->err, p->errlen, fmt, key);
	p->r = -EINVAL;
}

static const char *get_str(struct parser *p, const char *key)
{
	json_t *v = json_object_get(p->obj, key);

	if (!v || json_is_null(v))
		return "";
	if (!json_is_string(v)) {
		perr(p, "field '%s' must be a string", key);
		return "";
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		perr(p, "field '%s' contains a NUL character", key);
		return "";
	}
	return arena_strdup(p->a, json_string_value(v));
}

static long long get_int(struct parser *p, const char *key, long long min, long long max)
{
	json_t *v = json_object_get(p->obj, key);
	long long x;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		perr(p, "field '%s' must be an integer", key);
		return 0;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		perr(p, "field '%s' is out of range", key);
		return 0;
	}
	return x;
}

static bool get_bool(struct parser *p, const char *key)
{
	json_t *v = json_object_get(p->obj, key);

	if (!v || json_is_null(v))
		return false;
	if (!json_is_boolean(v)) {
		perr(p, "field '%s' must be true or false", key);
		return false;
	}
	return json_is_true(v);
}

static void get_strv(struct parser *p, const char *key, struct ledger_strv *sv)
{
	json_t *v = json_object_get(p->obj, key), *e;
	const char **arr;
	size_t i;

	sv->n = 0;
	sv->v = NULL;
	if (!v || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		perr(p, "field '%s' must be an array of strings", key);
		return;
	}
	if (json_array_size(v) > LEDGER_MAX_LIST) {
		perr(p, "field '%s' has too many elements", key);
		return;
	}
	arr = arena_alloc(p->a, (json_array_size(v) + 1) * sizeof(*arr));
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			perr(p, "field '%s' must be an array of strings", key);
			return;
		}
		arr[i] = arena_strdup(p->a, json_string_value(e));
	}
	arr[json_array_size(v)] = NULL;
	sv->v = arr;
	sv->n = (uint32_t)json_array_size(v);
}

static int get_runtime(struct parser *p, const char *key, bool required)
{
	const char *s = get_str(p, key);
	int rt;

	if (str_empty(s)) {
		if (required)
			perr(p, "field '%s' is required (native or docker)", key);
		return 0;
	}
	rt = ledger_runtime_from_name(s);
	if (rt < 0) {
		perr(p, "field '%s' must be native or docker", key);
		return 0;
	}
	return rt;
}

static void parse_field(struct parser *p, const struct ledger_field *f, void *v)
{
	switch (f->kind) {
	case LEDGER_FIELD_STR:
		*(const char **)v = get_str(p, f->name);
		break;
	case LEDGER_FIELD_STRV:
		get_strv(p, f->name, v);
		break;
	case LEDGER_FIELD_U64:
		*(uint64_t *)v = (uint64_t)get_int(p, f->name, 0, INT64_MAX);
		break;
	case LEDGER_FIELD_I64:
		*(int64_t *)v = get_int(p, f->name, INT64_MIN, INT64_MAX);
		break;
	case LEDGER_FIELD_U32:
		*(uint32_t *)v = (uint32_t)get_int(p, f->name, 0, UINT32_MAX);
		break;
	case LEDGER_FIELD_I32:
		*(int32_t *)v = (int32_t)get_int(p, f->name, INT32_MIN, INT32_MAX);
		break;
	case LEDGER_FIELD_BOOL:
		*(bool *)v = get_bool(p, f->name);
		break;
	case LEDGER_FIELD_RUNTIME:
		*(enum ledger_runtime *)v = (enum ledger_runtime)get_runtime(
		    p, f->name, (f->flags & LEDGER_FIELD_NAMED) != 0);
		break;
	case LEDGER_FIELD_OUTCOME: {
		int out = ledger_outcome_from_name(get_str(p, f->name));

		if (out <= LEDGER_OUT_NONE)
			perr(p,
			     "field '%s' must be succeeded, failed, rolled-back, interrupted or "
			     "refused",
			     f->name);
		*(enum ledger_outcome *)v = out > 0 ? (enum ledger_outcome)out : LEDGER_OUT_NONE;
		break;
	}
	}
}

/* The type's fields, by the table. A standalone op.refused nests its request under "request". */
static void parse_fields(struct parser *p, struct ledger_event *ev)
{
	json_t *req = json_object_get(p->obj, "request");
	struct parser q = *p;
	size_t n;
	const struct ledger_field *fields = ledger_event_fields(ev->type, &n);

	if (req && !json_is_null(req) && !json_is_object(req)) {
		perr(p, "field '%s' must be an object", "request");
		return;
	}
	q.obj = json_is_object(req) ? req : NULL;
	for (size_t i = 0; i < n && p->r == 0 && q.r == 0; i++) {
		const struct ledger_field *f = &fields[i];

		parse_field(f->flags & LEDGER_FIELD_REQUEST ? &q : p, f,
			    ledger_event_field_mut(ev, f));
	}
	if (q.r < 0)
		p->r = q.r;
}

int render_event_parse(json_t *obj, struct ledger_event *ev, bool *has_seq, struct render_arena *a,
		       char *err, size_t errlen)
{
	struct parser p = {.obj = obj, .a = a, .err = err, .errlen = errlen};
	const char *tn, *ts;
	json_t *seq;

	*ev = (struct ledger_event){0};
	*has_seq = false;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	tn = get_str(&p, "type");
	if (p.r == 0 && str_empty(tn))
		perr(&p, "field '%s' is required", "type");
	seq = json_object_get(obj, "seq");
	if (seq && !json_is_null(seq)) {
		ev->seq = (uint64_t)get_int(&p, "seq", 1, INT64_MAX);
		*has_seq = true;
	}
	ev->version = (uint32_t)get_int(&p, "version", 0, UINT32_MAX);
	ev->op = (uint64_t)get_int(&p, "op", 0, INT64_MAX);
	ev->actor = get_str(&p, "actor");
	if (json_object_get(obj, "time_ns")) {
		ev->time_ns = get_int(&p, "time_ns", 1, INT64_MAX);
	} else {
		ts = get_str(&p, "time");
		if (p.r == 0 && str_empty(ts))
			perr(&p, "field '%s' is required: RFC 3339 text, or give time_ns", "time");
		else if (p.r == 0 && (parse_time_ns(ts, 0, &ev->time_ns) < 0 || ev->time_ns <= 0))
			perr(&p,
			     "field 'time' is not a valid time: '%s'; use RFC 3339 "
			     "(2026-11-27T08:00:00Z, 2026-11-27T09:00:00.250+01:00), a real date "
			     "from 1970 to 2262, or give time_ns",
			     ts);
	}
	if (p.r < 0)
		return p.r;

	ev->type = ledger_event_type_from_name(tn);
	ev->type_name = tn;
	parse_fields(&p, ev);
	return p.r;
}

/* ---- states -------------------------------------------------------------------------------- */

static json_t *commit_or_null(const char *c)
{
	return str_empty(c) ? json_null() : json_str(c);
}

static json_t *good_json(const struct ledger_good *g)
{
	return json_pack("{s:o,s:I,s:o,s:I}", "commit", json_str(g->commit), "op",
			 (json_int_t)g->op, "time", json_time(g->time_ns), "time_ns",
			 (json_int_t)g->time_ns);
}

json_t *render_inflight_json(const struct ledger_state *st, const struct ledger_inflight *in)
{
	json_t *o, *svc;

	if (!in->op)
		return json_null();
	o = json_object();
	set(o, "op", json_integer((json_int_t)in->op));
	set(o, "kind", json_str(in->kind));
	set(o, "runtime", json_str(runtime_name(in->runtime)));
	set(o, "phase", json_str(in->phase));
	set(o, "actor", json_str(in->actor));
	set(o, "pid", json_integer(in->pid));
	set(o, "since", json_time(in->started_ns));
	set(o, "since_ns", json_integer(in->started_ns));
	set(o, "commit", commit_or_null(in->commit));
	set(o, "prev_commit", commit_or_null(in->prev_commit));
	set(o, "reverts", json_integer((json_int_t)in->reverts));
	svc = json_array();
	for (uint32_t i = 0; i < in->nservices && i < LEDGER_MAX_SERVICES; i++)
		if (in->services[i] < st->nservices)
			json_array_append_new(svc, json_str(st->services[in->services[i]].name));
	set(o, "services", svc);
	set(o, "verify_failed", json_boolean(in->verify_failed));
	return o;
}

/* Whether the in-flight operation may have restarted service i on runtime rt without the
 * ledger knowing yet: it is in the phase that restarts (a deploy's "restart", a rollback's
 * "rollout") and no unit.restarted of it names the service. A kill there leaves systemd to
 * finish a restart that was asked for, so what runs is the recorded commit or the operation's
 * target until the next operation settles it. Returns the operation, or NULL. */
static const struct ledger_inflight *restart_unsettled(const struct ledger_state *st, uint32_t i,
						       int rt)
{
	const struct ledger_inflight *in = &st->inflight;
	bool restarting = strcmp(in->kind, "rollback") == 0 ? strcmp(in->phase, "rollout") == 0
							    : strcmp(in->phase, "restart") == 0;

	if (!in->op || in->runtime != rt || !restarting || st->services[i].rt[rt].op == in->op)
		return NULL;
	for (uint32_t k = 0; k < in->nservices && k < LEDGER_MAX_SERVICES; k++)
		if (in->services[k] == i)
			return in;
	return NULL;
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
	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *s = &st->services[i];
		json_t *so = json_object(), *rts = json_object();

		set(so, "name", json_str(s->name));
		set(so, "owner", s->owner >= 0 ? json_str(runtime_name(s->owner)) : json_null());
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
			set(ro, "healthy", json_boolean(r->healthy));
			{
				const struct ledger_inflight *in = restart_unsettled(st, i, rt);

				set(ro, "unsettled",
				    in ? json_pack("{s:I,s:o}", "op", (json_int_t)in->op, "may_run",
						   commit_or_null(in->commit))
				       : json_null());
			}
			set(ro, "last_good", r->ngood ? good_json(&r->good[0]) : json_null());
			goods = json_array();
			for (uint32_t g = 0; g < r->ngood && g < LEDGER_GOOD_DEPTH; g++)
				json_array_append_new(goods, good_json(&r->good[g]));
			set(ro, "good", goods);
			set(rts, runtime_name(rt), ro);
		}
		set(so, "runtimes", rts);
		json_array_append_new(services, so);
	}
	set(o, "services", services);
	for (uint32_t i = 0; i < st->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
		const struct ledger_quarantine *e = &st->quarantine[i];
		json_array_append_new(
		    q, json_pack("{s:o,s:I,s:I,s:o,s:I,s:o}", "commit", json_str(e->commit), "op",
				 (json_int_t)e->op, "rollback_op", (json_int_t)e->rollback_op,
				 "time", json_time(e->time_ns), "time_ns", (json_int_t)e->time_ns,
				 "reason", json_str(e->reason)));
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

static void inflight_text(FILE *f, const char *label, const struct ledger_state *st,
			  const struct ledger_inflight *in)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1];

	render_time_short(in->started_ns, t, sizeof(t));
	fprintf(f, "%s op %" PRIu64 " (%s on %s), phase %s, by %s pid %u, since %s, target %s",
		label, in->op, in->kind, runtime_name(in->runtime), in->phase[0] ? in->phase : "-",
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

void render_state_text(FILE *f, const struct ledger_state *st)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1], g[RENDER_SHORT_COMMIT + 1], gt[40];
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
		fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  %s\n", (int)w, "SERVICE", "OWNER",
			"RUNTIME", "COMMIT", "SINCE", "HEALTH", "LAST GOOD");
		for (uint32_t i = 0; i < st->nservices; i++) {
			const struct ledger_service_state *s = &st->services[i];
			bool any = false;

			for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
				const struct ledger_service_runtime *r = &s->rt[rt];

				if (str_empty(r->commit) && r->ngood == 0)
					continue;
				render_time_short(r->since_ns, t, sizeof(t));
				fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  ", (int)w,
					any ? "" : s->name,
					any ? ""
					    : (s->owner >= 0 ? runtime_name(s->owner) : "none"),
					runtime_name(rt), render_short_commit(r->commit, c), t,
					str_empty(r->commit)	       ? "-"
					: restart_unsettled(st, i, rt) ? "restarting?"
					: r->healthy		       ? "healthy"
								       : "UNHEALTHY");
				if (r->ngood) {
					render_time_short(r->good[0].time_ns, gt, sizeof(gt));
					fprintf(f, "%s (op %" PRIu64 ", %s)\n",
						render_short_commit(r->good[0].commit, g),
						r->good[0].op, gt);
				} else {
					fputs("-\n", f);
				}
				any = true;
			}
			if (!any)
				fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  -\n", (int)w,
					s->name, s->owner >= 0 ? runtime_name(s->owner) : "none",
					"-", "-", "-", "-");
		}
	}

	for (uint32_t i = 0; i < st->nservices; i++)
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_inflight *in = restart_unsettled(st, i, rt);

			if (!in)
				continue;
			fprintf(
			    f,
			    "%s: operation %" PRIu64 " asked for its restart and has not recorded "
			    "the result: it runs %s, or %s if systemd carried the restart out; the "
			    "next deploy or rollback settles it\n",
			    st->services[i].name, in->op,
			    str_empty(st->services[i].rt[rt].commit)
				? "nothing recorded"
				: render_short_commit(st->services[i].rt[rt].commit, c),
			    str_empty(in->commit) ? "that operation's target"
						  : render_short_commit(in->commit, g));
		}
	if (st->nquarantine) {
		fputs("\nquarantined commits (a rollback undid them; deploy them again only on "
		      "purpose):\n",
		      f);
		for (uint32_t i = 0; i < st->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
			const struct ledger_quarantine *q = &st->quarantine[i];

			render_time_short(q->time_ns, t, sizeof(t));
			fprintf(f,
				"  %-12s  op %" PRIu64 " rolled back by op %" PRIu64 " at %s: %s\n",
				render_short_commit(q->commit, c), q->op, q->rollback_op, t,
				q->reason[0] ? q->reason : "-");
		}
	}
	fputc('\n', f);
	if (st->inflight.op) {
		inflight_text(f, "in flight:", st, &st->inflight);
		if (st->parent.op)
			inflight_text(f, "  nested in:", st, &st->parent);
	} else {
		fputs("in flight: none\n", f);
	}
}

/* ---- operation summaries ------------------------------------------------------------------- */

const char *render_op_outcome(const struct ledger_op_summary *s)
{
	if (s->refused)
		return "refused";
	if (s->outcome == LEDGER_OUT_NONE)
		return "running";
	return ledger_outcome_name(s->outcome);
}

static const char *op_guard(const struct ledger_op_summary *s)
{
	if (s->request.type == LEDGER_EV_OP_REFUSED)
		return s->request.u.op_refused.guard;
	return NULL;
}

json_t *render_op_json(const struct ledger_op_summary *s, const struct ledger_state *st)
{
	const struct ledger_op_requested *r = render_event_request(&s->request);
	static const struct ledger_op_requested none = {0};
	json_t *o = json_object();
	const char *guard = op_guard(s);

	if (!r)
		r = &none;
	set(o, "op", json_integer((json_int_t)s->op));
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
	set(o, "runtime", json_str(runtime_name((int)r->runtime)));
	set(o, "services", strv_json(&r->services));
	set(o, "flags", strv_json(&r->flags));
	set(o, "reverts", json_integer((json_int_t)r->reverts));
	set(o, "actor", json_str(s->request.actor));
	set(o, "outcome", json_str(render_op_outcome(s)));
	set(o, "refused", json_boolean(s->refused));
	set(o, "guard", guard ? json_str(guard) : json_null());
	set(o, "error", json_str(s->error));
	set(o, "rollback_op", json_integer((json_int_t)s->rollback_op));
	set(o, "quarantined",
	    json_boolean(st && !str_empty(s->commit) && ledger_state_quarantined(st, s->commit)));
	return o;
}

void render_op_header(FILE *f)
{
	fprintf(f, "%6s  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  %-22s  %8s  %s\n", "ID", "STARTED",
		"KIND", "REF", "COMMIT", "RUNTIME", "SCOPE", "OUTCOME", "DURATION", "ACTOR");
}

void render_op_text(FILE *f, const struct ledger_op_summary *s, const struct ledger_state *st)
{
	const struct ledger_op_requested *r = render_event_request(&s->request);
	static const struct ledger_op_requested none = {0};
	char t[40], c[RENDER_SHORT_COMMIT + 2], d[32], ref[96], out[64];
	struct buf scope = {0};
	const char *guard = op_guard(s);

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

		snprintf(rv, sizeof(rv), " (op %" PRIu64 ")", r->reverts);
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
		snprintf(out, sizeof(out), "rolled-back (op %" PRIu64 ")", s->rollback_op);
	else
		snprintf(out, sizeof(out), "%s", render_op_outcome(s));
	if (s->finished_ns && !s->refused && str_empty(guard))
		format_duration(s->finished_ns - s->started_ns, d, sizeof(d));
	else
		snprintf(d, sizeof(d), "-");
	fprintf(f, "%6" PRIu64 "  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  %-22s  %8s  %s\n", s->op,
		t, str_empty(r->kind) ? "-" : r->kind, ref, c, runtime_name((int)r->runtime),
		scope.data, out, d, str_empty(s->request.actor) ? "-" : s->request.actor);
	buf_free(&scope);
}

/* ---- Deploy Timings ------------------------------------------------------------------------ */

void render_timings_add(struct render_timings *t, const char *phase, int64_t ns)
{
	if (t->n >= ELEMENTSOF(t->v))
		return;
	strlcpy_(t->v[t->n].phase, nz(phase), sizeof(t->v[t->n].phase));
	t->v[t->n].ns = ns;
	t->n++;
}

int64_t render_timings_total(const struct render_timings *t)
{
	int64_t total = 0;

	for (size_t i = 0; i < t->n; i++)
		total += t->v[i].ns;
	return total;
}

void render_timings_print(FILE *f, const struct render_timings *t)
{
	char d[32];

	fputs("\n== Deploy Timings ==\n", f);
	for (size_t i = 0; i < t->n; i++) {
		format_duration(t->v[i].ns, d, sizeof(d));
		fprintf(f, "[deploy] %s: %s\n", t->v[i].phase, d);
	}
	format_duration(render_timings_total(t), d, sizeof(d));
	fprintf(f, "[deploy] total: %s\n", d);
}

json_t *render_timings_json(const struct render_timings *t)
{
	json_t *o = json_object(), *a = json_array();
	char d[32];

	for (size_t i = 0; i < t->n; i++) {
		format_duration(t->v[i].ns, d, sizeof(d));
		json_array_append_new(a,
				      json_pack("{s:o,s:I,s:s}", "phase", json_str(t->v[i].phase),
						"ns", (json_int_t)t->v[i].ns, "duration", d));
	}
	set(o, "phases", a);
	set(o, "total_ns", json_integer(render_timings_total(t)));
	format_duration(render_timings_total(t), d, sizeof(d));
	set(o, "total", json_string(d));
	return o;
}

/* ---- helpers of the read commands ---------------------------------------------------------- */

int render_arg_time(const struct cmd_entry *c, const char *opt, const char *value, int64_t *out)
{
	if (parse_time_ns(value, now_ns(), out) < 0) {
		log_error(
		    "%s: bad time '%s' for %s: use RFC 3339 (2026-11-27T08:00:00Z, a real date "
		    "from 1970 to 2262) or an age like 45s, 90m, 2h, 3d",
		    c->name, value, opt);
		return SL_EUSAGE;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (str_empty(s) || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > INT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

int render_arg_u64(const struct cmd_entry *c, const char *what, const char *value, uint64_t min,
		   uint64_t *out)
{
	if (parse_u64(value, out) < 0 || *out < min) {
		log_error("%s: bad %s '%s': expected a number%s", c->name, what, value,
			  min ? " of 1 or more" : "");
		return SL_EUSAGE;
	}
	return 0;
}

int render_arg_bad_option(const struct cmd_entry *c, char **argv, int optind_, int optopt_)
{
	const char *arg = optind_ > 0 ? argv[optind_ - 1] : "?";

	if (optopt_ && !str_startswith(arg, "--"))
		log_error("%s: unknown option or missing value '-%c'; see 'shiplog %s --help'",
			  c->name, optopt_, c->name);
	else
		log_error("%s: unknown option or missing value '%s'; see 'shiplog %s --help'",
			  c->name, arg, c->name);
	return SL_EUSAGE;
}

int render_ledger_fail(const struct cmd_entry *c, struct ledger *lg, int r, const char *what,
		       uint64_t seq)
{
	const char *detail = lg ? ledger_errmsg(lg) : "";

	if (r == LEDGER_ECORRUPT || r == LEDGER_ETOOBIG || r == LEDGER_ESCHEMA) {
		if (seq)
			log_error("%s: event %" PRIu64 " of the ledger is unreadable (%s%s%s); run "
				  "'shiplog ledger verify'",
				  c->name, seq, ledger_strerror(r), str_empty(detail) ? "" : ": ",
				  detail);
		else
			log_error(
			    "%s: the ledger is unreadable (%s%s%s); run 'shiplog ledger verify'",
			    c->name, ledger_strerror(r), str_empty(detail) ? "" : ": ", detail);
		return r;
	}
	log_error("%s: %s: %s%s%s", c->name, what, ledger_strerror(r),
		  str_empty(detail) ? "" : ": ", detail);
	return r;
}

uint64_t render_newest_op(struct ledger *lg)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	struct ledger_op_summary *rows = NULL;
	size_t n = 0;
	uint64_t op = 0;

	if (ledger_history(lg, &f, 1, &rows, &n) == 0 && n > 0)
		op = rows[0].op;
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	return op;
}

int render_check_point(const struct cmd_entry *c, const char *arg, bool ops)
{
	struct point p;
	int r = point_parse(arg, now_ns(), &p);

	(void)ops;
	if (r == -EINVAL) {
		log_error("%s: bad sequence '%s': expected seq:N with N a number", c->name, arg);
		return SL_EUSAGE;
	}
	if (r < 0) {
		log_error("%s: bad point '%s': use an operation id (41), a sequence (seq:120), RFC "
			  "3339 time (2026-11-27T08:00:00Z) or an age like 90m, 2h, 3d",
			  c->name, arg);
		return SL_EUSAGE;
	}
	return 0;
}

int render_resolve_point(const struct cmd_entry *c, struct ledger *lg, const char *arg, bool ops,
			 uint64_t *seq, char *desc, size_t desclen)
{
	struct point p;
	struct point_at at;
	char err[256];
	int r;

	if (render_check_point(c, arg, ops) < 0)
		return SL_EUSAGE;
	point_parse(arg, now_ns(), &p);
	r = point_resolve(lg, &p, ops ? POINT_NUMBER_OP : POINT_NUMBER_SEQ, &at, err, sizeof(err));
	if (r == -ERANGE) {
		log_error("%s: %s", c->name, err);
		return SL_EUSAGE;
	}
	if (r < 0)
		return render_ledger_fail(c, lg, r, err, 0);
	*seq = at.seq;
	if (p.kind == POINT_NOW) {
		snprintf(desc, desclen, "now (seq %" PRIu64 ")", at.seq);
	} else if (at.op) {
		snprintf(desc, desclen, "op %" PRIu64 " (seq %" PRIu64 ")", at.op, at.seq);
	} else if (p.kind == POINT_TIME) {
		char ts[40];
		render_time_short(p.time_ns, ts, sizeof(ts));
		snprintf(desc, desclen, "%s (seq %" PRIu64 ")", ts, at.seq);
	} else {
		snprintf(desc, desclen, "seq %" PRIu64, at.seq);
	}
	return 0;
}

int render_args_json_only(const struct cmd_entry *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {0},
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'J')
			return render_arg_bad_option(c, argv, optind, optopt);
		out_settings.json = true;
	}
	return 0;
}
