/* SPDX-License-Identifier: MIT */
/* The last fleet deploy as the controller's ledger recorded it, for --retry-failed: what it
 * deployed and which hosts did not get there; and any one fleet operation, for history and
 * show. Reads only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ledger/ledger.h>

#include "fleet.h"
#include "out.h"

static void strv_from(struct strv *dst, const struct ledger_strv *src)
{
	for (uint32_t i = 0; i < src->n; i++)
		strv_push(dst, src->v[i]);
}

/* "host=wave" -> its hosts */
static void hosts_from(struct strv *dst, const struct ledger_strv *src)
{
	for (uint32_t i = 0; i < src->n; i++)
		strv_push_take(dst, xstrndup(src->v[i], strcspn(src->v[i], "=")));
}

/* One event of the operation, in order. */
static void last_take(struct fleet_last *l, const struct ledger_event *ev, struct strv *ok)
{
	switch (ev->type) {
	case LEDGER_EV_FLEET_STARTED:
		l->number = ev->u.fleet_started.number;
		strv_from(&l->target, &ev->u.fleet_started.target);
		strv_from(&l->flags, &ev->u.fleet_started.flags);
		hosts_from(&l->failed, &ev->u.fleet_started.hosts); /* until it says */
		break;
	case LEDGER_EV_FLEET_HOST:
		if (streq(ev->u.fleet_host.outcome, "succeeded") &&
		    streq(ev->u.fleet_host.action, "deploy")) {
			strv_push(ok, ev->u.fleet_host.host);
			if (!l->commit[0])
				strlcpy_(l->commit, ev->u.fleet_host.commit, sizeof(l->commit));
		}
		break;
	case LEDGER_EV_FLEET_FINISHED:
		l->finished = true;
		strlcpy_(l->commit, ev->u.fleet_finished.commit, sizeof(l->commit));
		strv_free(&l->failed);
		strv_from(&l->failed, &ev->u.fleet_finished.failed);
		break;
	default:
		break;
	}
}

/* The newest fleet.started of a deploy: its sequence, or 0. */
static uint64_t last_deploy(struct ledger *lg, int *r)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	uint64_t op = 0;

	*r = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	while (*r >= 0 && (*r = ledger_iter_next(it, &ev)) > 0)
		if (ev->type == LEDGER_EV_FLEET_STARTED &&
		    streq(ev->u.fleet_started.kind, "deploy")) {
			op = ev->seq;
			break;
		}
	ledger_iter_free(it);
	return op;
}

/* A lost controller wrote no end: every host without a success did not get there. */
static void drop_reached(struct strv *failed, const struct strv *ok)
{
	struct strv keep = {0};

	for (size_t i = 0; i < failed->n; i++)
		if (!strv_contains(ok, failed->v[i]))
			strv_push(&keep, failed->v[i]);
	strv_free(failed);
	*failed = keep;
}

/* The newest fleet.started of any kind: its sequence, or 0. */
static uint64_t last_started(struct ledger *lg, int *r)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	uint64_t op = 0;

	*r = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	while (*r >= 0 && (*r = ledger_iter_next(it, &ev)) > 0)
		if (ev->type == LEDGER_EV_FLEET_STARTED) {
			op = ev->seq;
			break;
		}
	ledger_iter_free(it);
	return op;
}

int fleet_open_read(struct ledger *lg, struct fleet_view *v)
{
	int r;
	uint64_t op = last_started(lg, &r);

	*v = (struct fleet_view){0};
	if (r < 0)
		return r;
	if (!op)
		return -ENOENT;
	r = fleet_view_read(lg, op, v);
	if (r == 0 && v->outcome[0]) {
		fleet_view_release(v);
		return -ENOENT;
	}
	return r;
}

int fleet_last_read(struct ledger *lg, struct fleet_last *l)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	struct strv ok = {0};
	int r;

	*l = (struct fleet_last){0};
	l->op = last_deploy(lg, &r);
	if (r < 0)
		return r;
	if (!l->op)
		return -ENOENT;
	r = ledger_iter_new(lg, LEDGER_FORWARD, l->op, &it);
	while (r >= 0 && (r = ledger_iter_next(it, &ev)) > 0)
		if (ev->op == l->op)
			last_take(l, ev, &ok);
	ledger_iter_free(it);
	if (!l->finished)
		drop_reached(&l->failed, &ok);
	strv_free(&ok);
	return r < 0 ? r : 0;
}

void fleet_last_release(struct fleet_last *l)
{
	strv_free(&l->target);
	strv_free(&l->flags);
	strv_free(&l->failed);
}

/* ---- one fleet operation, for history and show --------------------------------------------- */

static void view_host(struct fleet_view *v, const struct ledger_fleet_host *h)
{
	struct fleet_view_host *x;

	v->hosts = xrealloc(v->hosts, (v->nhosts + 1) * sizeof(*v->hosts));
	x = &v->hosts[v->nhosts++];
	*x = (struct fleet_view_host){
	    .wave = h->wave, .host_op = h->host_op, .duration_ns = h->duration_ns};
	strlcpy_(x->host, h->host, sizeof(x->host));
	strlcpy_(x->action, h->action, sizeof(x->action));
	strlcpy_(x->outcome, h->outcome, sizeof(x->outcome));
	strlcpy_(x->commit, h->commit, sizeof(x->commit));
	strlcpy_(x->prev_commit, h->prev_commit ? h->prev_commit : "", sizeof(x->prev_commit));
	strlcpy_(x->detail, h->detail, sizeof(x->detail));
}

static int view_take(const struct ledger_event *ev, void *ud)
{
	struct fleet_view *v = ud;

	switch (ev->type) {
	case LEDGER_EV_FLEET_STARTED:
		strlcpy_(v->kind, ev->u.fleet_started.kind, sizeof(v->kind));
		strv_from(&v->target, &ev->u.fleet_started.target);
		v->retries = ev->u.fleet_started.retries;
		v->number = ev->u.fleet_started.number;
		hosts_from(&v->planned, &ev->u.fleet_started.hosts);
		break;
	case LEDGER_EV_FLEET_WAVE: {
		struct strv names = {0};
		strv_from(&names, &ev->u.fleet_wave.hosts);
		while (v->waves.n + 1 < ev->u.fleet_wave.wave)
			strv_push(&v->waves, "");
		strv_push_take(&v->waves, strv_join(&names, ", "));
		strv_free(&names);
		break;
	}
	case LEDGER_EV_FLEET_HOST:
		view_host(v, &ev->u.fleet_host);
		break;
	case LEDGER_EV_FLEET_FINISHED:
		strlcpy_(v->outcome, ev->u.fleet_finished.outcome, sizeof(v->outcome));
		strlcpy_(v->commit, ev->u.fleet_finished.commit, sizeof(v->commit));
		strv_from(&v->failed, &ev->u.fleet_finished.failed);
		break;
	default:
		break;
	}
	return 0;
}

int fleet_view_read(struct ledger *lg, uint64_t op, struct fleet_view *v)
{
	int r;

	*v = (struct fleet_view){.op = op};
	r = ledger_op_events(lg, op, view_take, v);
	if (r == 0 && !v->kind[0])
		r = LEDGER_ENOTFOUND;
	return r;
}

void fleet_view_release(struct fleet_view *v)
{
	strv_free(&v->target);
	strv_free(&v->waves);
	strv_free(&v->planned);
	strv_free(&v->failed);
	free(v->hosts);
	*v = (struct fleet_view){0};
}

/* ---- rollback --to fleet:N ------------------------------------------------------------------ */

int fleet_rollback_targets(struct ledger *lg, uint64_t number, struct fleet_plan *p, char *err,
			   size_t errlen)
{
	struct fleet_view v;
	struct strv unmoved = {0};
	uint64_t op;
	int r = ledger_op_by_number(lg, number, &op);

	if (r == 0)
		r = fleet_view_read(lg, op, &v);
	if (r == LEDGER_ENOTFOUND) {
		snprintf(
		    err, errlen,
		    "--to fleet:%llu: this ledger has no fleet operation %llu ('shiplog history "
		    "--kind fleet' lists them)",
		    (unsigned long long)number, (unsigned long long)number);
		return SL_EUSAGE;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->nmembers; i++) {
		struct fleet_member *m = &p->members[i];

		if (!m->wave)
			continue;
		/* its deploy in operation N, and what it ran before */
		for (size_t j = 0; j < v.nhosts; j++)
			if (streq(v.hosts[j].host, m->host->name) &&
			    streq(v.hosts[j].action, "deploy") && v.hosts[j].prev_commit[0])
				strlcpy_(m->to, v.hosts[j].prev_commit, sizeof(m->to));
		if (!m->to[0])
			strv_push(&unmoved, m->host->name);
	}
	if (unmoved.n) {
		_cleanup_free_ char *list = strv_join(&unmoved, ", ");

		snprintf(
		    err, errlen,
		    "--to fleet:%llu: fleet operation %llu (%s) recorded no earlier commit for "
		    "%s (it did not deploy there, or the host did not say); leave %s out with "
		    "--hosts, or give a commit: --to REF",
		    (unsigned long long)number, (unsigned long long)number, v.kind, list,
		    unmoved.n == 1 ? "it" : "them");
		r = SL_EUSAGE;
	}
	strv_free(&unmoved);
	fleet_view_release(&v);
	return r;
}
