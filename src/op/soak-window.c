/* SPDX-License-Identifier: MIT */
/* Soak windows read back from the ledger: where one starts and stops, what its samples add up
 * to, the same service's previous window on the other runtime, and whether its verdict is
 * recorded. */
#include <string.h>

#include <ledger/ledger.h>

#include "json.h"
#include "soak.h"
#include "text.h"

int soak_find_window(struct ledger *lg, const char *name, struct soak_window *w)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	int r;

	memset(w, 0, sizeof(*w));
	r = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	if (r < 0)
		return r;
	while ((r = ledger_iter_next(it, &ev)) == 1) {
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !w->stop &&
		    (!name || streq(ev->u.soak.name, name))) {
			w->stop = ev->seq;
			w->stop_ns = ev->time_ns;
			strlcpy_(w->summary, ev->u.soak.summary, sizeof(w->summary));
		}
		if (ev->type == LEDGER_EV_SOAK_STARTED && (!name || streq(ev->u.soak.name, name))) {
			w->start = ev->seq;
			w->start_ns = ev->time_ns;
			strlcpy_(w->name, ev->u.soak.name, sizeof(w->name));
			strlcpy_(w->unit, ev->u.soak.unit ? ev->u.soak.unit : "", sizeof(w->unit));
			break;
		}
	}
	ledger_iter_free(it);
	if (r < 0)
		return r;
	if (!w->start)
		return LEDGER_ENOTFOUND;
	if (w->stop && w->stop < w->start)
		w->stop = 0, w->stop_ns = 0, w->summary[0] = '\0'; /* the newest one still runs */
	return 0;
}

/* The tally of service in t[0..*n), added when new (NULL when t is full). */
static struct soak_tally *tally_of(struct soak_tally *t, size_t *n, const char *service)
{
	for (size_t i = 0; i < *n; i++)
		if (streq(t[i].name, service))
			return &t[i];
	if (*n == LEDGER_MAX_SERVICES)
		return NULL;
	memset(&t[*n], 0, sizeof(t[*n]));
	t[*n].runtime = -1;
	strlcpy_(t[*n].name, service, LEDGER_NAME_MAX);
	return &t[(*n)++];
}

static bool is_operation_event(const struct ledger_event *ev)
{
	return ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_FINISHED ||
	       ev->type == LEDGER_EV_OP_REFUSED || ev->type == LEDGER_EV_UNIT_RESTARTED;
}

int soak_window_tally(struct ledger *lg, uint64_t start, uint64_t stop, struct soak_tally *t,
		      size_t *n, struct strv *ops, json_t *opsj)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	int r;

	r = ledger_iter_new(lg, LEDGER_FORWARD, start, &it);
	if (r < 0)
		return r;
	while ((r = ledger_iter_next(it, &ev)) == 1) {
		if (stop && ev->seq > stop)
			break;
		if (ev->type == LEDGER_EV_UNIT_OBSERVED) {
			struct soak_tally *ti = tally_of(t, n, ev->u.unit_observed.service);
			if (ti)
				soak_tally_add(ti, &ev->u.unit_observed);
		} else if (ops && is_operation_event(ev)) {
			struct buf line = {0};
			render_event_text(&line, ev);
			strv_push_take(ops, xasprintf("#%llu %s", (unsigned long long)ev->seq,
						      line.data ? line.data : ""));
			json_array_append_new(opsj, render_event_json(ev));
			buf_free(&line);
		}
	}
	ledger_iter_free(it);
	return r < 0 ? r : 0;
}

/* The runtime service was sampled on in the window that ev (a soak.started) opens, from its
 * runtimes; -1 when it was not named there. */
static int started_runtime(const struct ledger_event *ev, const char *service)
{
	size_t n = strlen(service);

	for (uint32_t i = 0; i < ev->u.soak.runtimes.n; i++) {
		const char *v = ev->u.soak.runtimes.v[i];
		if (strncmp(v, service, n) == 0 && v[n] == '=')
			return ledger_runtime_from_name(v + n + 1);
	}
	return -1;
}

/* The newest closed window before `before` that sampled service on another runtime than rt:
 * its start and stop. false when there is none. */
static bool find_previous(struct ledger *lg, uint64_t before, const char *service, int rt,
			  struct soak_window *w)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;

	memset(w, 0, sizeof(*w));
	if (before <= 1 || ledger_iter_new(lg, LEDGER_BACKWARD, before - 1, &it) < 0)
		return false;
	while (ledger_iter_next(it, &ev) == 1) {
		int prt;
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !w->name[0]) {
			/* the newest stop seen so far; matched by name below */
			w->stop = ev->seq;
			w->stop_ns = ev->time_ns;
			strlcpy_(w->name, ev->u.soak.name, sizeof(w->name));
			continue;
		}
		if (ev->type != LEDGER_EV_SOAK_STARTED)
			continue;
		prt = started_runtime(ev, service);
		if (prt >= 0 && prt != rt && streq(ev->u.soak.name, w->name)) {
			w->start = ev->seq;
			w->start_ns = ev->time_ns;
			break;
		}
		w->name[0] = '\0';
	}
	ledger_iter_free(it);
	return w->start != 0;
}

bool soak_previous_window(struct ledger *lg, const struct config *cfg, uint64_t before,
			  const char *service, int rt, struct soak_figures *f)
{
	struct soak_window w;
	struct soak_tally *t = xmalloc(LEDGER_MAX_SERVICES * sizeof(*t));
	size_t n = 0;
	bool found = false;

	if (!find_previous(lg, before, service, rt, &w) ||
	    soak_window_tally(lg, w.start, w.stop, t, &n, NULL, NULL) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		const struct service *s = config_service(cfg, service);
		struct soak_logs l;

		if (!streq(t[i].name, service) || !t[i].samples)
			continue;
		soak_figures_of(&t[i], w.stop_ns - w.start_ns, f);
		if (s) {
			soak_logs_read(cfg, s, f->runtime, w.start_ns, w.stop_ns, &l);
			f->errors = l.errors;
			f->errors_known = l.read;
			soak_logs_release(&l);
		}
		found = true;
	}
	free(t);
	return found;
}

bool soak_verdict_recorded(struct ledger *lg, uint64_t stop, const char *name)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	bool found = false;

	if (ledger_iter_new(lg, LEDGER_FORWARD, stop, &it) < 0)
		return false;
	while (!found && ledger_iter_next(it, &ev) == 1)
		found = ev->type == LEDGER_EV_SOAK_VERDICT && streq(ev->u.soak_verdict.name, name);
	ledger_iter_free(it);
	return found;
}
