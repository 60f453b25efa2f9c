/* SPDX-License-Identifier: MIT */
/* Soak windows read back from the ledger for their judgement: the same service's previous
 * window on the other runtime, and whether a window's verdict is recorded. (Finding a window
 * and adding up its samples: output/soak-tally.c.) */
#include <string.h>

#include <ledger/ledger.h>

#include "soak.h"

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
	struct soak_tally *t = xmalloc(SOAK_TALLY_MAX * sizeof(*t));
	struct soak_spans sp = {0};
	size_t n = 0;
	bool found = false;

	/* judged like the window itself: what its operations did is set aside */
	if (!find_previous(lg, before, service, rt, &w) ||
	    soak_window_spans(lg, w.start, w.stop, &sp) < 0 ||
	    soak_window_tally(lg, w.start, w.stop, &sp, t, &n, NULL, NULL, NULL, NULL) < 0)
		n = 0;
	soak_spans_release(&sp);
	for (size_t i = 0; i < n; i++) {
		const struct service *s = config_service(cfg, service);
		const struct soak_tally *before = soak_tally_part(t, n, i, -1),
					*after = soak_tally_part(t, n, i, +1);
		int64_t since = before ? before->last_ns : w.start_ns,
			until = after ? after->first_ns : w.stop_ns;
		struct soak_logs l;

		/* of a window where its owner changed, the part on the other runtime */
		if (!streq(t[i].name, service) || !t[i].samples || t[i].runtime == rt)
			continue;
		soak_figures_of(&t[i], until - since, f);
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
