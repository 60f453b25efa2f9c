/* SPDX-License-Identifier: MIT */
/* The soak sampler: what it reads of each service every interval (units over sd-bus, containers
 * through the docker CLI) and what the samples add up to. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "bus.h"
#include "compose.h"
#include "out.h"
#include "soak.h"
#include "view.h"

void soak_figures_of(const struct soak_tally *t, int64_t duration_ns, struct soak_figures *f)
{
	*f = (struct soak_figures){.runtime = t->runtime,
				   .duration_ns = duration_ns,
				   .samples = t->samples,
				   .inactive = t->inactive,
				   .restarts = t->restarts,
				   .first_memory = t->first_memory,
				   .last_memory = t->last_memory,
				   .peak_memory = t->peak_memory};
}

/* docker's State.Status as a unit's ActiveState, so that "not active" means one thing. */
static const char *container_active_state(const struct compose_container *ct)
{
	if (streq(ct->status, "running"))
		return ct->restarting ? "activating" : "active";
	if (streq(ct->status, "restarting"))
		return "activating";
	if (streq(ct->status, "exited") || streq(ct->status, "dead"))
		return ct->exit_code ? "failed" : "inactive";
	return "inactive";
}

/* The container of compose service `name` that stands for it: a running one first, then the
 * newest start. NULL when it has none. */
static const struct compose_container *pick_container(const struct compose_container *cts, size_t n,
						      const char *name)
{
	const struct compose_container *best = NULL;

	for (size_t i = 0; i < n; i++) {
		bool run = streq(cts[i].status, "running");
		if (!streq(cts[i].service, name))
			continue;
		if (!best || (run && !streq(best->status, "running")) ||
		    (run == streq(best->status, "running") &&
		     strcmp(cts[i].started_at, best->started_at) > 0))
			best = &cts[i];
	}
	return best;
}

/* One round's view of the containers: each docker service's container and its memory. */
struct containers {
	struct compose_container *cts;
	size_t ncts;
	bool listed; /* the engine answered */
	const struct compose_container *pick[LEDGER_MAX_SERVICES];
	char *ids[LEDGER_MAX_SERVICES];
	uint64_t mem[LEDGER_MAX_SERVICES];
	size_t nids;
};

static void containers_read(struct compose **c, const struct config *cfg,
			    const struct soak_sampled *sv, size_t n, struct containers *k)
{
	bool docker = false;
	char err[512];

	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < n; i++)
		docker |= sv[i].runtime == LEDGER_RT_DOCKER;
	if (docker && !*c &&
	    compose_open(c, NULL, cfg->target.checkout, cfg->docker.workdir, cfg->docker.project,
			 err, sizeof(err)) < 0)
		fprintf(stderr, "soak: %s\n", err);
	if (docker && *c)
		k->listed = compose_containers(*c, false, &k->cts, &k->ncts) == 0;
	for (size_t i = 0; i < n && k->listed; i++) {
		const struct service *s = sv[i].svc;
		if (sv[i].runtime != LEDGER_RT_DOCKER)
			continue;
		k->pick[i] = pick_container(k->cts, k->ncts, s->compose ? s->compose : s->name);
		if (k->pick[i] && streq(k->pick[i]->status, "running"))
			k->ids[k->nids++] = (char *)k->pick[i]->id;
	}
	if (k->nids)
		compose_memory(*c, k->ids, k->nids, k->mem);
}

/* A container's sample (cid: room for its short id). */
static void observe_container(const struct containers *k, size_t i, struct ledger_unit_observed *o,
			      char cid[16])
{
	const struct compose_container *ct = k->pick[i];

	if (!k->listed) {
		o->active_state = "unknown";
		o->sub_state = "engine-unreachable";
		return;
	}
	if (!ct) {
		o->active_state = "inactive";
		o->sub_state = "no-container";
		return;
	}
	o->active_state = container_active_state(ct);
	o->sub_state = ct->status;
	o->restarts = ct->restart_count;
	o->pid = ct->pid;
	o->health = ct->health;
	/* "0001-01-01T00:00:00Z" for one never started: out of range, left unknown */
	if (parse_time_ns(ct->started_at, 0, &o->started_ns) < 0 || o->started_ns < 0)
		o->started_ns = 0;
	snprintf(cid, 16, "%.12s", ct->id);
	o->container = cid;
	for (size_t j = 0; j < k->nids; j++)
		if (k->ids[j] == ct->id && k->mem[j] != UINT64_MAX)
			o->memory_bytes = k->mem[j];
}

/* The runtime service moved to in ev, an owner.changed (-1: none, or a stop). */
static int owner_moved(const struct ledger_event *ev, const char *service)
{
	const struct ledger_owner_changed *o = &ev->u.owner_changed;

	if (ev->type != LEDGER_EV_OWNER_CHANGED || !o->service || !streq(o->service, service) ||
	    str_empty(o->to))
		return -1;
	return ledger_runtime_from_name(o->to);
}

/* sv[i] is sampled on rt from now on: what it saw on its old runtime is a finished part. */
static void sampled_move(struct soak_sampled *sv, int rt, uint64_t op)
{
	char on[VIEW_OP_NAME_MAX];

	if (sv->t.seen)
		strv_push_take(&sv->parts,
			       xasprintf("%u samples, %u restarts, %u pids, %u not active on %s",
					 sv->t.samples, sv->t.restarts, sv->t.pids, sv->t.inactive,
					 ledger_runtime_name(sv->runtime)));
	out_plain("soak: %s is owned by %s now (operation %s): sampled there from now on",
		  sv->svc->name, ledger_runtime_name(rt), view_op_name(op, on));
	sv->runtime = rt;
	memset(&sv->t, 0, sizeof(sv->t));
	sv->t.runtime = -1;
}

/* Follows the owners: the owner.changed events after *seen (the window's soak.started at
 * first), peeked and only those decoded. */
static void follow_owners(struct ledger *lg, struct soak_sampled *sv, size_t n, uint64_t *seen)
{
	struct ledger_iter *it = NULL;
	const uint8_t *raw;
	uint64_t seq;
	size_t len;

	if (ledger_iter_new(lg, LEDGER_FORWARD, *seen + 1, &it) < 0)
		return;
	while (ledger_iter_next_raw(it, &seq, &raw, &len) == 1) {
		enum ledger_event_type type;
		struct ledger_event ev;

		*seen = seq;
		if (ledger_event_peek(raw, len, &type, NULL, NULL) < 0 ||
		    type != LEDGER_EV_OWNER_CHANGED ||
		    ledger_event_decode(raw, len, &ev, NULL, 0) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			int rt = owner_moved(&ev, sv[i].svc->name);
			if (sv[i].follow && rt >= 0 && rt != sv[i].runtime)
				sampled_move(&sv[i], rt, ev.op);
		}
		ledger_event_release(&ev);
	}
	ledger_iter_free(it);
}

/* One round over the services: a unit.observed each. A round that a stop interrupted records
 * nothing: the stop's SIGTERM reaches the docker commands too (the unit's whole cgroup), and
 * their failure says nothing about the containers. */
static void sample_round(struct ledger *lg, struct bus **bus, struct compose **c,
			 const struct config *cfg, struct soak_sampled *sv, size_t n,
			 volatile sig_atomic_t *stop, uint64_t *seen)
{
	struct containers k;
	int read_rt[LEDGER_MAX_SERVICES];
	bool native = false;

	if (*seen)
		follow_owners(lg, sv, n, seen);
	for (size_t i = 0; i < n; i++)
		read_rt[i] = sv[i].runtime;

	/* a service that moved to its native unit needs the manager (opened once) */
	for (size_t i = 0; i < n; i++)
		native |= sv[i].runtime == LEDGER_RT_NATIVE;
	if (native && !*bus && bus_open(bus, cfg->native.manager == MANAGER_USER) < 0)
		*bus = NULL;

	containers_read(c, cfg, sv, n, &k);
	/* an owner that changed while the containers were read: that service's reading is of the
	 * runtime it just left, and would land after the change; it is sampled anew next round */
	if (*seen)
		follow_owners(lg, sv, n, seen);
	for (size_t i = 0; i < n && !*stop; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_UNIT_OBSERVED,
					  .version = LEDGER_SCHEMA_VERSION,
					  .actor = actor_string()};
		struct ledger_unit_observed *o = &ev.u.unit_observed;
		struct unit_props p;
		char cid[16] = "";

		if (sv[i].runtime != read_rt[i])
			continue;
		o->service = sv[i].svc->name;
		o->runtime = (enum ledger_runtime)sv[i].runtime;
		if (sv[i].runtime == LEDGER_RT_NATIVE && !*bus) {
			o->active_state = "unknown";
			o->sub_state = "no-manager";
		} else if (sv[i].runtime == LEDGER_RT_NATIVE) {
			if (bus_unit_props(*bus, sv[i].svc->unit, &p) < 0)
				continue;
			o->active_state = p.active_state;
			o->sub_state = p.sub_state;
			o->restarts = p.n_restarts;
			o->pid = p.main_pid;
			o->started_ns = (int64_t)p.exec_main_start_us * 1000;
			o->memory_bytes = p.memory_bytes == UINT64_MAX ? 0 : p.memory_bytes;
		} else {
			observe_container(&k, i, o, cid);
		}
		ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL);
		soak_tally_add(&sv[i].t, o, now_ns(), NULL);
	}
	free(k.cts);
	ledger_sync(lg);
}

static int record_stopped(struct ledger *lg, const char *name, const struct soak_sampled *sv,
			  size_t n)
{
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_STOPPED,
				  .version = LEDGER_SCHEMA_VERSION,
				  .actor = actor_string()};
	struct buf summary = {0};
	int r;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *before = strv_join(&sv[i].parts, ", ");
		buf_printf(&summary, "%s%s (%s): %u samples, %u restarts, %u pids, %u not active",
			   i ? "; " : "", sv[i].svc->name, ledger_runtime_name(sv[i].runtime),
			   sv[i].t.samples, sv[i].t.restarts, sv[i].t.pids, sv[i].t.inactive);
		if (sv[i].parts.n)
			buf_printf(&summary, " (before its owner changed: %s)", before);
	}
	ev.u.soak.name = name;
	ev.u.soak.summary = summary.data ? summary.data : "";
	r = ledger_append(lg, &ev, 0, NULL);
	if (r < 0)
		fprintf(stderr, "soak: cannot record soak.stopped: %s\n", ledger_strerror(r));
	buf_free(&summary);
	return r < 0 ? SL_EENV : 0;
}

int soak_sample_run(struct ledger *lg, const struct config *cfg, const char *name,
		    struct soak_sampled *sv, size_t n, uint64_t every_ns, uint64_t deadline_ns,
		    volatile sig_atomic_t *stop)
{
	struct bus *bus = NULL;
	struct compose *c = NULL;
	struct soak_window w;
	uint64_t seen = 0;
	bool native = false;
	int r;

	for (size_t i = 0; i < n; i++)
		native |= sv[i].runtime == LEDGER_RT_NATIVE;
	/* containers alone need no manager: the sampler of a docker-only host has none */
	if (native && bus_open(&bus, cfg->native.manager == MANAGER_USER) < 0) {
		fprintf(stderr, "soak: %s\n", bus_errmsg(NULL));
		return SL_EENV;
	}
	out_plain("soak '%s': sampling %zu service%s every %.1fs", name, n, n == 1 ? "" : "s",
		  (double)every_ns / 1e9);
	/* owners follow from the window's start: also what changed before a restart of ours */
	if (soak_find_window(lg, name, &w) == 0)
		seen = w.start;
	while (!*stop && (uint64_t)now_ns() < deadline_ns) {
		int64_t t0 = mono_ns();

		sample_round(lg, &bus, &c, cfg, sv, n, stop, &seen);
		while (!*stop && mono_ns() - t0 < (int64_t)every_ns &&
		       (uint64_t)now_ns() < deadline_ns)
			usleep(20000);
	}
	r = record_stopped(lg, name, sv, n);
	for (size_t i = 0; i < n; i++)
		strv_free(&sv[i].parts);
	compose_free(c);
	bus_close(bus);
	return r;
}
