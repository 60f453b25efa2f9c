/* SPDX-License-Identifier: MIT */
#include "guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "out.h"

static struct guard_verdict *guard_vset(struct guard_verdict *v, const char *guard,
					enum guard_result result, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static struct guard_verdict *guard_vset(struct guard_verdict *v, const char *guard,
					enum guard_result result, const char *fmt, va_list ap)
{
	v->guard = guard;
	v->result = result;
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	return v;
}

struct guard_verdict *guard_set(struct guard_verdict *v, const char *guard,
				enum guard_result result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guard_vset(v, guard, result, fmt, ap);
	va_end(ap);
	return v;
}

struct guard_verdict *guard_list_set(struct guard_list *l, const char *guard,
				     enum guard_result result, const char *fmt, ...)
{
	struct guard_verdict *v = (struct guard_verdict *)guard_list_find(l, guard);
	va_list ap;

	if (!v) {
		if (l->n < GUARD_MAX)
			l->n++;
		v = &l->v[l->n - 1];
	}
	va_start(ap, fmt);
	guard_vset(v, guard, result, fmt, ap);
	va_end(ap);
	return v;
}

const struct guard_verdict *guard_list_find(const struct guard_list *l, const char *guard)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].guard && strcmp(l->v[i].guard, guard) == 0)
			return &l->v[i];
	return NULL;
}

const struct guard_verdict *guard_list_refusal(const struct guard_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].result == GUARD_REFUSE)
			return &l->v[i];
	return NULL;
}

const char *guard_result_name(enum guard_result r)
{
	switch (r) {
	case GUARD_PASS:
		return "pass";
	case GUARD_REFUSE:
		return "refuse";
	case GUARD_UNKNOWN:
	default:
		return "unknown";
	}
}

json_t *guard_list_json(const struct guard_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++) {
		const struct guard_verdict *v = &l->v[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:o}", "guard", v->guard, "verdict",
						   guard_result_name(v->result), "reason",
						   json_str(v->reason)));
	}
	return a;
}
