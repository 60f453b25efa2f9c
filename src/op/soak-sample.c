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

/* Names op among the tally's operations (once; beyond SOAK_TALLY_OPS only counted). */
static void tally_note_op(struct soak_tally *t, uint64_t op)
{
	for (uint32_t i = 0; i < t->nops && i < SOAK_TALLY_OPS; i++)
		if (t->ops[i] == op)
			return;
	if (t->nops < SOAK_TALLY_OPS)
		t->ops[t->nops++] = op;
}

void soak_tally_add(struct soak_tally *t, const struct ledger_unit_observed *o, int64_t t_ns,
		    const struct soak_during *d)
{
	const char *ct = o->container ? o->container : "";
	uint64_t sample_op = d ? d->sample_op : 0;
	uint64_t change_op = d && t->seen ? d->change_op : 0; /* a first sample changes nothing */
	uint32_t restarts;
	bool inactive, newpid;

	if (!t->seen)
		t->prev_restarts = o->restarts;
	restarts = o->restarts >= t->prev_restarts ? o->restarts - t->prev_restarts : o->restarts;
	inactive = !streq(o->active_state ? o->active_state : "", "active");
	newpid = (o->pid && o->pid != t->last_pid) || (ct[0] && !streq(ct, t->last_container));
	t->prev_restarts = o->restarts;
	t->samples++;
	t->runtime = (int)o->runtime;
	if (sample_op) {
		t->op_samples++;
		t->op_inactive += inactive;
		tally_note_op(t, sample_op);
	} else {
		t->inactive += inactive;
	}
	if (change_op) {
		t->op_restarts += restarts;
		t->op_pids += newpid;
		if (restarts || newpid)
			tally_note_op(t, change_op);
	} else {
		t->restarts += restarts;
		t->pids += newpid;
	}
	if (o->pid)
		t->last_pid = o->pid;
	if (ct[0])
		strlcpy_(t->last_container, ct, sizeof(t->last_container));
	if (o->memory_bytes) {
		if (!t->first_memory)
			t->first_memory = o->memory_bytes;
		t->last_memory = o->memory_bytes;
		if (o->memory_bytes > t->peak_memory)
			t->peak_memory = o->memory_bytes;
	}
	t->last_ns = t_ns;
	t->seen = true;
}

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
	snprintf(cid, 16, "%.12s", ct->id);
	o->container = cid;
	for (size_t j = 0; j < k->nids; j++)
		if (k->ids[j] == ct->id && k->mem[j] != UINT64_MAX)
			o->memory_bytes = k->mem[j];
}

/* One round over the services: a unit.observed each. A round that a stop interrupted records
 * nothing: the stop's SIGTERM reaches the docker commands too (the unit's whole cgroup), and
 * their failure says nothing about the containers. */
static void sample_round(struct ledger *lg, struct bus *bus, struct compose **c,
			 const struct config *cfg, struct soak_sampled *sv, size_t n,
			 volatile sig_atomic_t *stop)
{
	struct containers k;

	containers_read(c, cfg, sv, n, &k);
	for (size_t i = 0; i < n && !*stop; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_UNIT_OBSERVED,
					  .version = LEDGER_SCHEMA_VERSION,
					  .actor = actor_string()};
		struct ledger_unit_observed *o = &ev.u.unit_observed;
		struct unit_props p;
		char cid[16] = "";

		o->service = sv[i].svc->name;
		o->runtime = (enum ledger_runtime)sv[i].runtime;
		if (sv[i].runtime == LEDGER_RT_NATIVE) {
			if (!bus || bus_unit_props(bus, sv[i].svc->unit, &p) < 0)
				continue;
			o->active_state = p.active_state;
			o->sub_state = p.sub_state;
			o->restarts = p.n_restarts;
			o->pid = p.main_pid;
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

	for (size_t i = 0; i < n; i++)
		buf_printf(&summary, "%s%s (%s): %u samples, %u restarts, %u pids, %u not active",
			   i ? "; " : "", sv[i].svc->name, ledger_runtime_name(sv[i].runtime),
			   sv[i].t.samples, sv[i].t.restarts, sv[i].t.pids, sv[i].t.inactive);
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
	while (!*stop && (uint64_t)now_ns() < deadline_ns) {
		int64_t t0 = mono_ns();

		sample_round(lg, bus, &c, cfg, sv, n, stop);
		while (!*stop && mono_ns() - t0 < (int64_t)every_ns &&
		       (uint64_t)now_ns() < deadline_ns)
			usleep(20000);
	}
	r = record_stopped(lg, name, sv, n);
	compose_free(c);
	bus_close(bus);
	return r;
}
