/* SPDX-License-Identifier: MIT */
/* The last fleet deploy as the controller's ledger recorded it, for --retry-failed: what it
 * deployed and which hosts did not get there. Reads only. */
#include <errno.h>
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
