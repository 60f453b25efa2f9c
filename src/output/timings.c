/* SPDX-License-Identifier: MIT */
#include "timings.h"

#include "out.h"
#include "util.h"

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

void render_timings_add(struct render_timings *t, const char *phase, int64_t ns)
{
	if (t->n >= ELEMENTSOF(t->v))
		return;
	strlcpy_(t->v[t->n].phase, phase ? phase : "", sizeof(t->v[t->n].phase));
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
	const char *kind = t->kind[0] ? t->kind : "deploy";
	const char *title = streq(kind, "rollback")  ? "Rollback"
			    : streq(kind, "cutover") ? "Cutover"
						     : "Deploy";
	char d[32];

	fputc('\n', f);
	out_paint(f, OUT_TONE_HEADER, "== %s Timings ==", title);
	fputc('\n', f);
	for (size_t i = 0; i < t->n; i++) {
		format_duration(t->v[i].ns, d, sizeof(d));
		fprintf(f, "[%s] %s: %s\n", kind, t->v[i].phase, d);
	}
	format_duration(render_timings_total(t), d, sizeof(d));
	fprintf(f, "[%s] total: %s\n", kind, d);
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
