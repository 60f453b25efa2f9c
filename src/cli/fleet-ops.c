/* SPDX-License-Identifier: MIT */
/* A fleet operation in history and show: the row and the summary, from fleet_view_read(). */
#include "fleet-ops.h"

#include <inttypes.h>
#include <string.h>

#include "fleet.h"
#include "out.h"
#include "text.h"
#include "util.h"

bool fleet_ops_is_fleet(const struct ledger_op_summary *s)
{
	return s->request.type == LEDGER_EV_FLEET_STARTED;
}

/* Its outcome: fleet.finished's, or "unfinished" (still running, or its controller was lost:
 * the next fleet command says which hosts run what). */
static const char *view_outcome(const struct fleet_view *v)
{
	return v->outcome[0] ? v->outcome : "unfinished";
}

/* "h1 succeeded (op 12) -> 1a2b3c4d5e6f" per host run, joined with "; ". */
static void hosts_text(const struct fleet_view *v, struct buf *b)
{
	for (size_t i = 0; i < v->nhosts; i++) {
		const struct fleet_view_host *h = &v->hosts[i];
		char c[RENDER_SHORT_COMMIT + 1];

		buf_printf(b, "%s%s%s%s %s", i ? "; " : "", h->host,
			   streq(h->action, "deploy") ? "" : " ",
			   streq(h->action, "deploy") ? "" : h->action, h->outcome);
		if (h->host_op)
			buf_printf(b, " (op %" PRIu64 ")", h->host_op);
		if (h->commit[0])
			buf_printf(b, " at %s", render_short_commit(h->commit, c));
	}
	if (!v->nhosts)
		buf_printf(b, "none ran");
}

void fleet_ops_row_text(FILE *f, struct ledger *lg, const struct ledger_op_summary *s)
{
	struct fleet_view v;
	char t[40], c[RENDER_SHORT_COMMIT + 2], d[32], ref[96], scope[64], on[32];
	struct buf b = {0};
	int r = fleet_view_read(lg, s->op, &v);

	render_time_short(s->started_ns, t, sizeof(t));
	snprintf(on, sizeof(on), "%" PRIu64, s->number);
	if (r < 0) {
		fprintf(f, "%6s  %-20s  %-8s  (unreadable: %s)\n", on, t, "fleet",
			ledger_strerror(r));
		return;
	}
	{
		_cleanup_free_ char *tg = strv_join(&v.target, " ");
		snprintf(ref, sizeof(ref), "%s%s%s", v.kind, tg[0] ? " " : "", tg);
	}
	if (strlen(ref) > 20)
		strcpy(ref + 18, "..");
	render_short_commit(v.commit, c);
	if (!v.commit[0])
		strcpy(c, "-");
	snprintf(scope, sizeof(scope), "%zu wave%s", v.waves.n, v.waves.n == 1 ? "" : "s");
	if (s->finished_ns)
		format_duration(s->finished_ns - s->started_ns, d, sizeof(d));
	else
		snprintf(d, sizeof(d), "-");
	fprintf(f, "%6s  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  ", on, t, "fleet", ref, c, "-",
		scope);
	out_paint(f, out_tone_outcome(view_outcome(&v)), "%-22s", view_outcome(&v));
	fprintf(f, "  %8s  %s\n", d, str_empty(s->request.actor) ? "-" : s->request.actor);
	for (size_t i = 0; i < v.waves.n; i++)
		buf_printf(&b, "%s%zu: %s", i ? "; " : "", i + 1, v.waves.v[i]);
	fprintf(f, "%6s  waves: %s%s\n", "", b.len ? b.data : "none started",
		v.retries ? " (a retry)" : "");
	b.len = 0;
	hosts_text(&v, &b);
	fprintf(f, "%6s  hosts: %s\n", "", b.data);
	buf_free(&b);
	fleet_view_release(&v);
}

static json_t *waves_json(const struct fleet_view *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->waves.n; i++)
		json_array_append_new(
		    a, json_pack("{s:I,s:s}", "wave", (json_int_t)(i + 1), "hosts", v->waves.v[i]));
	return a;
}

static json_t *hosts_json(const struct fleet_view *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->nhosts; i++) {
		const struct fleet_view_host *h = &v->hosts[i];

		json_array_append_new(
		    a, json_pack("{s:s,s:I,s:s,s:s,s:o,s:o,s:s,s:I}", "host", h->host, "wave",
				 (json_int_t)h->wave, "action", h->action, "outcome", h->outcome,
				 "host_op",
				 h->host_op ? json_integer((json_int_t)h->host_op) : json_null(),
				 "commit", h->commit[0] ? json_string(h->commit) : json_null(),
				 "detail", h->detail, "duration_ns", (json_int_t)h->duration_ns));
	}
	return a;
}

static json_t *strv_json_(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* The fields of a fleet operation, added to o. */
static void view_json(const struct fleet_view *v, json_t *o)
{
	json_object_set_new(o, "kind", json_string("fleet"));
	json_object_set_new(o, "fleet_kind", json_string(v->kind));
	json_object_set_new(o, "target", strv_json_(&v->target));
	json_object_set_new(o, "commit", v->commit[0] ? json_string(v->commit) : json_null());
	json_object_set_new(o, "outcome", json_string(view_outcome(v)));
	json_object_set_new(o, "retries",
			    v->retries ? json_integer((json_int_t)v->retries) : json_null());
	json_object_set_new(o, "waves", waves_json(v));
	json_object_set_new(o, "hosts", hosts_json(v));
	json_object_set_new(o, "failed", strv_json_(&v->failed));
}

json_t *fleet_ops_row_json(struct ledger *lg, const struct ledger_op_summary *s)
{
	json_t *o = json_object();
	struct fleet_view v;
	int r = fleet_view_read(lg, s->op, &v);

	json_object_set_new(o, "op", json_integer((json_int_t)s->op));
	json_object_set_new(o, "number", json_integer((json_int_t)s->number));
	json_object_set_new(o, "started", json_time(s->started_ns));
	json_object_set_new(o, "started_ns", json_integer(s->started_ns));
	json_object_set_new(o, "finished", json_time(s->finished_ns));
	json_object_set_new(o, "finished_ns", json_integer(s->finished_ns));
	json_object_set_new(o, "duration_ns",
			    s->finished_ns ? json_integer(s->finished_ns - s->started_ns)
					   : json_null());
	json_object_set_new(o, "actor", json_str(s->request.actor));
	if (r < 0) {
		json_object_set_new(o, "kind", json_string("fleet"));
		json_object_set_new(o, "error", json_string(ledger_strerror(r)));
		return o;
	}
	view_json(&v, o);
	fleet_view_release(&v);
	return o;
}

void fleet_ops_show(struct ledger *lg, uint64_t op, json_t *o)
{
	struct fleet_view v;
	int r = fleet_view_read(lg, op, &v);

	if (r < 0)
		return;
	if (o) {
		view_json(&v, o);
		fleet_view_release(&v);
		return;
	}
	printf("fleet %s: %s\n", v.kind, view_outcome(&v));
	for (size_t i = 0; i < v.waves.n; i++)
		printf("  wave %zu: %s\n", i + 1, v.waves.v[i]);
	for (size_t i = 0; i < v.nhosts; i++) {
		const struct fleet_view_host *h = &v.hosts[i];
		char c[RENDER_SHORT_COMMIT + 1], d[32], hop[32] = "-";

		if (h->host_op)
			snprintf(hop, sizeof(hop), "op %" PRIu64, h->host_op);
		format_duration(h->duration_ns, d, sizeof(d));
		printf("  %-16s  wave %-2u  %-8s  %-12s  %-10s  %-12s  %s%s%s\n", h->host, h->wave,
		       h->action, h->outcome, hop,
		       h->commit[0] ? render_short_commit(h->commit, c) : "-", d,
		       h->detail[0] ? "  " : "", h->detail);
	}
	if (v.failed.n) {
		_cleanup_free_ char *list = strv_join(&v.failed, ", ");
		printf("  not at the target: %s\n", list);
	}
	fleet_view_release(&v);
}
