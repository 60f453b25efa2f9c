/* SPDX-License-Identifier: MIT */
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct parser {
	json_t *obj;
	struct pool *a;
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

/* An imported string as the ledger keeps it: the secrets of any URL in it redacted, as for
 * everything shiplog records itself (a hand-written or foreign file may carry them). */
static const char *pool_redacted(struct pool *a, const char *s)
{
	_cleanup_free_ char *r = redact_secrets(s);

	return pool_strdup(a, r);
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
	return pool_redacted(p->a, json_string_value(v));
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
	arr = pool_alloc(p->a, (json_array_size(v) + 1) * sizeof(*arr));
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			perr(p, "field '%s' must be an array of strings", key);
			return;
		}
		arr[i] = pool_redacted(p->a, json_string_value(e));
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

int render_event_parse(json_t *obj, struct ledger_event *ev, bool *has_seq, struct pool *a,
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
