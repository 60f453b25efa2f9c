/* SPDX-License-Identifier: MIT */
/* shiplog soak start|status|stop|report: sample the units of the services in scope during a soak
 * window, into the ledger (unit.observed), and report what ran and how it behaved. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "args.h"
#include "bus.h"
#include "cmd.h"
#include "compose.h"
#include "config.h"
#include "json.h"
#include "out.h"
#include "plan.h"
#include "soak.h"
#include "spawn.h"
#include "text.h"
#include "util.h"
#include "view.h"

static const char usage[] =
    "usage: shiplog soak start [--name NAME] [--every DURATION] [--for DURATION]\n"
    "                          [--runtime native|docker] [scope flags]\n"
    "       shiplog soak status | stop\n"
    "       shiplog soak report [--name NAME]\n"
    "\n"
    "A soak window watches the services in scope (default: all) after a change, on the runtime\n"
    "that runs each (the ledger's owner, else native; --runtime for all): 'start' records\n"
    "soak.started and starts the sampler as a transient systemd unit of the manager\n"
    "(shiplog-soak-PROJECT-HASH.service, restarted if it fails, independent of this terminal)\n"
    "that appends one unit.observed event per service every --every (default 10s): for a unit\n"
    "its active and sub state, restart count, main pid and memory (sd-bus); for a container its\n"
    "state, restart count, health, pid, id (docker inspect) and memory (docker stats). It stops\n"
    "after --for (default 1h) or at 'soak stop', and records soak.stopped with a summary. One\n"
    "soak runs at a time. ('soak sample ...' is what the unit runs.)\n"
    "\n"
    "'report' answers \"what exactly ran during this soak window?\" from the ledger alone: per\n"
    "service the samples, restarts during the window, main pids seen, samples not active, peak\n"
    "memory; and every operation (deploy, rollback) inside the window. The newest window, or\n"
    "the one named with --name. --json for scripts.\n"
    "\n"
    "Examples:\n"
    "  shiplog soak start --workers-only --every 5s --for 30m\n"
    "  shiplog soak report --json\n"
    "\n"
    "Exit codes: 0 ok, 2 usage (unknown service, no soak window of that name), 3 a soak\n"
    "already runs, 4 no ledger or no user manager.\n";

static char *pid_path(const struct cmd_ctx *ctx)
{
	return xasprintf("%s/soak.pid", ctx->ledger_dir);
}

/* A sampler of an older shiplog: a detached process whose pid is in <ledger>/soak.pid. */
static pid_t legacy_sampler(const struct cmd_ctx *ctx)
{
	_cleanup_free_ char *p = pid_path(ctx), *text = NULL;
	long pid;

	if (read_file(p, 64, &text, NULL) < 0)
		return 0;
	pid = strtol(text, NULL, 10);
	if (pid <= 0 || kill((pid_t)pid, 0) < 0)
		return 0;
	return (pid_t)pid;
}

/* The sampler's unit: one per ledger, named by the project and the ledger's path. */
static char *sampler_unit_name(const struct config *cfg, const char *ledger_dir)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)ledger_dir; *p; p++)
		h = (h ^ *p) * 16777619u;
	return xasprintf("shiplog-soak-%s-%08x.service", cfg->project ? cfg->project : "x", h);
}

/* Whether the sampler unit runs (activating counts: it may be between two restarts). */
static bool unit_running(const char *unit)
{
	struct bus *bus = NULL;
	struct unit_props p;
	bool running = false;

	if (str_empty(unit) || bus_open(&bus, true) < 0)
		return false;
	if (bus_unit_props(bus, unit, &p) == 0)
		running = streq(p.active_state, "active") || streq(p.active_state, "activating") ||
			  streq(p.active_state, "reloading");
	bus_close(bus);
	return running;
}

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* What a window's samples add up to, per service. */
struct tally {
	char name[LEDGER_NAME_MAX];
	int runtime; /* of the samples; -1 before the first */
	uint32_t samples, inactive, restarts, pids;
	bool seen;
	uint32_t prev_restarts, last_pid;
	char last_container[16];
	uint64_t peak_memory, first_memory, last_memory;
};

/* One observation into the tally: restarts are summed per sample (a counter that went down is
 * a new container or a unit started anew: its value counts), pids and containers counted when
 * they change. */
static void tally_add(struct tally *t, const struct ledger_unit_observed *o)
{
	const char *ct = o->container ? o->container : "";

	if (!t->seen)
		t->prev_restarts = o->restarts;
	t->restarts +=
	    o->restarts >= t->prev_restarts ? o->restarts - t->prev_restarts : o->restarts;
	t->prev_restarts = o->restarts;
	t->samples++;
	t->runtime = (int)o->runtime;
	t->inactive += !streq(o->active_state ? o->active_state : "", "active");
	if ((o->pid && o->pid != t->last_pid) || (ct[0] && !streq(ct, t->last_container)))
		t->pids++;
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
	t->seen = true;
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

struct sampled {
	const struct service *svc;
	int runtime;
	struct tally t;
};

/* One round over the services: units over sd-bus, containers through the docker CLI (docker
 * inspect for state, restarts, health and pid; docker stats for memory). */
static void sample_round(struct ledger *lg, struct bus *bus, struct compose **c,
			 const struct config *cfg, struct sampled *sv, size_t n)
{
	struct compose_container *cts = NULL;
	size_t ncts = 0;
	bool docker = false, listed = false;
	char err[512];

	for (size_t i = 0; i < n; i++)
		docker |= sv[i].runtime == LEDGER_RT_DOCKER;
	if (docker && !*c &&
	    compose_open(c, NULL, cfg->target.checkout, cfg->docker.workdir, cfg->docker.project,
			 err, sizeof(err)) < 0)
		fprintf(stderr, "soak: %s\n", err);
	if (docker && *c)
		listed = compose_containers(*c, false, &cts, &ncts) == 0;
	{
		char *ids[LEDGER_MAX_SERVICES];
		uint64_t mem[LEDGER_MAX_SERVICES];
		size_t nids = 0;
		const struct compose_container *pick[LEDGER_MAX_SERVICES] = {0};

		for (size_t i = 0; i < n && listed; i++) {
			const struct service *s = sv[i].svc;
			if (sv[i].runtime != LEDGER_RT_DOCKER)
				continue;
			pick[i] = pick_container(cts, ncts, s->compose ? s->compose : s->name);
			if (pick[i] && streq(pick[i]->status, "running"))
				ids[nids++] = (char *)pick[i]->id;
		}
		if (nids)
			compose_memory(*c, ids, nids, mem);
		for (size_t i = 0; i < n; i++) {
			const struct service *s = sv[i].svc;
			struct ledger_event ev = {.type = LEDGER_EV_UNIT_OBSERVED,
						  .version = LEDGER_SCHEMA_VERSION,
						  .actor = actor_string()};
			struct ledger_unit_observed *o = &ev.u.unit_observed;
			struct unit_props p;
			char cid[16] = "";

			o->service = s->name;
			o->runtime = (enum ledger_runtime)sv[i].runtime;
			if (sv[i].runtime == LEDGER_RT_NATIVE) {
				if (bus_unit_props(bus, s->unit, &p) < 0)
					continue;
				o->active_state = p.active_state;
				o->sub_state = p.sub_state;
				o->restarts = p.n_restarts;
				o->pid = p.main_pid;
				o->memory_bytes = p.memory_bytes == UINT64_MAX ? 0 : p.memory_bytes;
			} else if (!listed) {
				o->active_state = "unknown";
				o->sub_state = "engine-unreachable";
			} else if (!pick[i]) {
				o->active_state = "inactive";
				o->sub_state = "no-container";
			} else {
				const struct compose_container *ct = pick[i];
				o->active_state = container_active_state(ct);
				o->sub_state = ct->status;
				o->restarts = ct->restart_count;
				o->pid = ct->pid;
				o->health = ct->health;
				snprintf(cid, sizeof(cid), "%.12s", ct->id);
				o->container = cid;
				for (size_t k = 0; k < nids; k++)
					if (ids[k] == ct->id && mem[k] != UINT64_MAX)
						o->memory_bytes = mem[k];
			}
			ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL);
			tally_add(&sv[i].t, o);
		}
	}
	free(cts);
	ledger_sync(lg);
}

static bool u64_arg(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*end && !errno;
}

/* `soak sample`: what the sampler unit runs, until the deadline or SIGTERM (soak stop). A
 * restart after a crash (the unit restarts it) goes on to the same deadline. */
static int soak_sample(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct config *cfg = ctx->cfg;
	struct sampled sv[LEDGER_MAX_SERVICES];
	struct bus *bus = NULL;
	struct compose *c = NULL;
	struct ledger_event ev;
	struct buf summary = {0};
	const char *name;
	uint64_t every, deadline;
	size_t n = 0;
	int r;

	if (argc < 4 || !cfg)
		return cmd_usage_error(&cmd_soak, "soak sample NAME EVERY-NS DEADLINE-NS "
						  "SERVICE=RUNTIME...: the sampler unit's command");
	name = argv[0];
	if (!u64_arg(argv[1], &every) || !u64_arg(argv[2], &deadline) || !every)
		return cmd_usage_error(&cmd_soak, "soak sample: bad interval or deadline");
	for (int i = 3; i < argc && n < LEDGER_MAX_SERVICES; i++) {
		const char *eq = strchr(argv[i], '=');
		_cleanup_free_ char *svc = eq ? xstrndup(argv[i], (size_t)(eq - argv[i])) : NULL;
		int idx = svc ? config_service_index(cfg, svc) : -1;
		int rt = eq ? ledger_runtime_from_name(eq + 1) : -1;

		if (idx < 0 || rt < 0)
			return cmd_usage_error(&cmd_soak, "soak sample: bad service '%s'", argv[i]);
		sv[n++] =
		    (struct sampled){.svc = &cfg->services[idx], .runtime = rt, .t.runtime = -1};
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, SIG_IGN);
	r = bus_open(&bus, cfg->native.manager == MANAGER_USER);
	if (r < 0) {
		fprintf(stderr, "soak: %s\n", bus_errmsg(NULL));
		return SL_EENV;
	}
	out_plain("soak '%s': sampling %zu service%s every %.1fs", name, n, n == 1 ? "" : "s",
		  (double)every / 1e9);
	while (!stop_requested && (uint64_t)now_ns() < deadline) {
		int64_t t0 = mono_ns();

		sample_round(ctx->lg, bus, &c, cfg, sv, n);
		while (!stop_requested && mono_ns() - t0 < (int64_t)every &&
		       (uint64_t)now_ns() < deadline)
			usleep(20000);
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(&summary, "%s%s (%s): %u samples, %u restarts, %u pids, %u not active",
			   i ? "; " : "", sv[i].svc->name, ledger_runtime_name(sv[i].runtime),
			   sv[i].t.samples, sv[i].t.restarts, sv[i].t.pids, sv[i].t.inactive);
	ev = (struct ledger_event){.type = LEDGER_EV_SOAK_STOPPED,
				   .version = LEDGER_SCHEMA_VERSION,
				   .actor = actor_string()};
	ev.u.soak.name = name;
	ev.u.soak.summary = summary.data ? summary.data : "";
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0)
		fprintf(stderr, "soak: cannot record soak.stopped: %s\n", ledger_strerror(r));
	buf_free(&summary);
	compose_free(c);
	bus_close(bus);
	return r < 0 ? SL_EENV : 0;
}

/* The runtime a service is sampled on: --runtime, else its owner in the ledger, else native. */
static void sample_runtimes(struct cmd_ctx *ctx, const struct plan *plan, int forced, int *rts)
{
	struct ledger_state *st = xmalloc(sizeof(*st));
	bool have = ledger_state_at(ctx->lg, UINT64_MAX, st) == 0;

	for (size_t i = 0; i < plan->nservices; i++) {
		const struct ledger_service_state *ss =
		    have ? ledger_state_service(st, ctx->cfg->services[plan->services[i]].name)
			 : NULL;
		rts[i] = forced >= 0			       ? forced
			 : ss && ss->owner == LEDGER_RT_DOCKER ? LEDGER_RT_DOCKER
							       : LEDGER_RT_NATIVE;
	}
	free(st);
}

/* Environment the sampler needs from ours (the manager's own may lack them): where docker,
 * the user manager and the state live. Only names that are set. */
static void sampler_env(struct strv *env)
{
	static const char *const names[] = {"PATH",
					    "HOME",
					    "DOCKER_HOST",
					    "DOCKER_CONFIG",
					    "XDG_RUNTIME_DIR",
					    "XDG_STATE_HOME",
					    "XDG_CONFIG_HOME",
					    "LANG"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		if (!str_empty(v))
			strv_push_take(env, xasprintf("%s=%s", names[i], v));
	}
}

static int soak_start(struct cmd_ctx *ctx, const char *name, int64_t every_ns, int64_t for_ns,
		      int forced_rt, struct scope_args *scope)
{
	const struct config *cfg = ctx->cfg;
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_STARTED};
	const char *names[LEDGER_MAX_SERVICES];
	int rts[LEDGER_MAX_SERVICES];
	struct strv argv = {0}, env = {0}, runtimes = {0};
	_cleanup_free_ char *unit = NULL, *exe = NULL, *ledger_abs = NULL, *conf_abs = NULL;
	struct bus *bus = NULL;
	struct plan plan;
	int64_t deadline = now_ns() + for_ns;
	char err[512];
	int r;

	r = plan_scope(cfg, scope, LEDGER_RT_NATIVE, false, &plan, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	if (legacy_sampler(ctx)) {
		log_error("a soak is already running (pid %d); 'shiplog soak stop' it first",
			  (int)legacy_sampler(ctx));
		return SL_EREFUSED;
	}
	r = bus_open(&bus, cfg->native.manager == MANAGER_USER);
	if (r < 0) {
		log_error("soak: the sampler runs as a systemd unit: %s", bus_errmsg(NULL));
		return SL_EENV;
	}
	ledger_abs = realpath(ctx->ledger_dir, NULL);
	conf_abs = realpath(cfg->path, NULL);
	exe = realpath("/proc/self/exe", NULL);
	unit = sampler_unit_name(cfg, ledger_abs ? ledger_abs : ctx->ledger_dir);
	{
		struct unit_props p;
		if (bus_unit_props(bus, unit, &p) == 0 &&
		    (streq(p.active_state, "active") || streq(p.active_state, "activating"))) {
			log_error("a soak is already running (unit %s); 'shiplog soak stop' it "
				  "first",
				  unit);
			bus_close(bus);
			return SL_EREFUSED;
		}
	}
	sample_runtimes(ctx, &plan, forced_rt, rts);
	strv_push(&argv, exe ? exe : "/proc/self/exe");
	strv_push(&argv, "-c");
	strv_push(&argv, conf_abs ? conf_abs : cfg->path);
	strv_push(&argv, "--ledger");
	strv_push(&argv, ledger_abs ? ledger_abs : ctx->ledger_dir);
	strv_push(&argv, "soak");
	strv_push(&argv, "sample");
	strv_push(&argv, name);
	strv_push_take(&argv, xasprintf("%lld", (long long)every_ns));
	strv_push_take(&argv, xasprintf("%lld", (long long)deadline));
	for (size_t i = 0; i < plan.nservices && i < LEDGER_MAX_SERVICES; i++) {
		names[i] = cfg->services[plan.services[i]].name;
		strv_push_take(&runtimes,
			       xasprintf("%s=%s", names[i], ledger_runtime_name(rts[i])));
		strv_push(&argv, runtimes.v[i]);
	}
	/* the intent first: the window is in the ledger before the sampler runs */
	ev.version = LEDGER_SCHEMA_VERSION;
	ev.actor = actor_string();
	ev.u.soak.name = name;
	ev.u.soak.services.n = (uint32_t)plan.nservices;
	ev.u.soak.services.v = names;
	ev.u.soak.unit = unit;
	ev.u.soak.argv = (struct ledger_strv){(uint32_t)argv.n, (const char **)argv.v};
	ev.u.soak.runtimes = (struct ledger_strv){(uint32_t)runtimes.n, (const char **)runtimes.v};
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0) {
		log_error("cannot record soak.started: %s", ledger_strerror(r));
		goto out;
	}
	sampler_env(&env);
	r = bus_start_transient(
	    bus,
	    &(struct transient_spec){.unit = unit,
				     .description = "shiplog soak sampler",
				     .argv = argv.v,
				     .env = env.v,
				     .cwd = "/",
				     .runtime_max_us = (uint64_t)(for_ns / 1000) + 300000000ULL});
	if (r < 0) {
		struct ledger_event stop = {.type = LEDGER_EV_SOAK_STOPPED,
					    .version = LEDGER_SCHEMA_VERSION,
					    .actor = actor_string()};
		_cleanup_free_ char *why =
		    xasprintf("the sampler did not start: %s", bus_errmsg(bus));
		stop.u.soak.name = name;
		stop.u.soak.summary = why;
		ledger_append(ctx->lg, &stop, 0, NULL);
		log_error("soak: %s", bus_errmsg(bus));
		r = SL_EENV;
		goto out;
	}
	out_plain("soak '%s' started: sampling %zu service%s (%s) every %.1fs for %.0fs; sampler "
		  "unit %s",
		  name, plan.nservices, plan.nservices == 1 ? "" : "s", plan.scope_desc,
		  (double)every_ns / 1e9, (double)for_ns / 1e9, unit);
	for (size_t i = 0; i < runtimes.n; i++)
		out_plain("  %s", runtimes.v[i]);
	r = 0;
out:
	strv_free(&argv);
	strv_free(&env);
	strv_free(&runtimes);
	bus_close(bus);
	return r;
}

/* The newest soak window (or the one named): [start seq, stop seq or 0]. */
struct window {
	uint64_t start, stop;
	int64_t start_ns, stop_ns;
	char name[LEDGER_NAME_MAX];
	char unit[256];
	char summary[1024];
};

static int find_window(struct ledger *lg, const char *name, struct window *w)
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

static int soak_stop(struct cmd_ctx *ctx)
{
	pid_t pid = legacy_sampler(ctx);
	struct window w;
	struct bus *bus = NULL;
	int r;

	if (pid) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
			usleep(50000);
		out_plain("soak stopped (sampler pid %d); see 'shiplog soak report'", (int)pid);
		return 0;
	}
	r = find_window(ctx->lg, NULL, &w);
	if (r == LEDGER_ENOTFOUND || (r == 0 && w.stop)) {
		out_plain("no soak is running");
		return 0;
	}
	if (r < 0) {
		log_error("cannot read the ledger: %s", ledger_strerror(r));
		return SL_EENV;
	}
	if (w.unit[0] &&
	    bus_open(&bus, !ctx->cfg || ctx->cfg->native.manager == MANAGER_USER) == 0) {
		/* SIGTERM: the sampler records soak.stopped with its summary and exits */
		struct restart_job job = {.unit = w.unit};
		r = bus_stop_units(bus, &job, 1, mono_ns() + 30000000000LL, NULL);
		if (r < 0 && job.error == 0)
			log_warn("stopping unit %s: %s", w.unit, bus_errmsg(bus));
		bus_close(bus);
	}
	r = find_window(ctx->lg, w.name, &w);
	if (r == 0 && !w.stop) {
		/* the sampler was gone: the window is closed here */
		struct ledger_event ev = {.type = LEDGER_EV_SOAK_STOPPED,
					  .version = LEDGER_SCHEMA_VERSION,
					  .actor = actor_string()};
		ev.u.soak.name = w.name;
		ev.u.soak.summary = "closed by 'soak stop': the sampler was not running";
		r = ledger_append(ctx->lg, &ev, 0, NULL);
		if (r < 0) {
			log_error("cannot record soak.stopped: %s", ledger_strerror(r));
			return SL_EENV;
		}
	}
	if (w.unit[0])
		out_plain("soak '%s' stopped (unit %s); see 'shiplog soak report'", w.name, w.unit);
	else
		out_plain("soak '%s' stopped; see 'shiplog soak report'", w.name);
	return 0;
}

/* The runtime service was sampled on in the window starting at seq (its soak.started's
 * runtimes), -1 when it was not named there. */
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

/* The samples of one window (start seq to stop seq, 0 = to the end), per service. */
static int window_tally(struct ledger *lg, uint64_t start, uint64_t stop, struct tally *t,
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
			size_t i;
			for (i = 0; i < *n; i++)
				if (streq(t[i].name, ev->u.unit_observed.service))
					break;
			if (i == *n) {
				if (*n == LEDGER_MAX_SERVICES)
					continue;
				memset(&t[*n], 0, sizeof(t[*n]));
				t[*n].runtime = -1;
				strlcpy_(t[(*n)++].name, ev->u.unit_observed.service,
					 LEDGER_NAME_MAX);
			}
			tally_add(&t[i], &ev->u.unit_observed);
		} else if (ops &&
			   (ev->type == LEDGER_EV_OP_REQUESTED ||
			    ev->type == LEDGER_EV_OP_FINISHED || ev->type == LEDGER_EV_OP_REFUSED ||
			    ev->type == LEDGER_EV_UNIT_RESTARTED)) {
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

static void figures_of(const struct tally *t, int64_t duration_ns, struct soak_figures *f)
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

/* The same service's newest window before `before` (a soak.started seq) on another runtime
 * than rt, with its figures and (when still readable) its error lines. */
static bool previous_window(struct cmd_ctx *ctx, uint64_t before, const char *service, int rt,
			    struct soak_figures *f)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	uint64_t start = 0, stop = 0;
	int64_t start_ns = 0, stop_ns = 0;
	char name[LEDGER_NAME_MAX] = "";
	struct tally t[LEDGER_MAX_SERVICES];
	size_t n = 0;
	bool found = false;

	if (before <= 1 || ledger_iter_new(ctx->lg, LEDGER_BACKWARD, before - 1, &it) < 0)
		return false;
	while (ledger_iter_next(it, &ev) == 1) {
		int prt;
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !name[0]) {
			/* the newest stop seen so far; matched by name below */
			stop = ev->seq;
			stop_ns = ev->time_ns;
			strlcpy_(name, ev->u.soak.name, sizeof(name));
			continue;
		}
		if (ev->type != LEDGER_EV_SOAK_STARTED)
			continue;
		prt = started_runtime(ev, service);
		if (prt >= 0 && prt != rt && streq(ev->u.soak.name, name)) {
			start = ev->seq;
			start_ns = ev->time_ns;
			break;
		}
		name[0] = '\0';
	}
	ledger_iter_free(it);
	if (!start || window_tally(ctx->lg, start, stop, t, &n, NULL, NULL) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, service) && t[i].samples) {
			const struct service *s = config_service(ctx->cfg, service);
			figures_of(&t[i], stop_ns - start_ns, f);
			if (s) {
				struct soak_logs l;
				soak_logs_read(ctx->cfg, s, f->runtime, start_ns, stop_ns, &l);
				f->errors = l.errors;
				f->errors_known = l.read;
				soak_logs_release(&l);
			}
			found = true;
		}
	return found;
}

/* Whether the window (stopped at stop) has its soak.verdict already. */
static bool verdict_recorded(struct ledger *lg, uint64_t stop, const char *name)
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

static int record_verdict(struct cmd_ctx *ctx, const char *name, bool pass,
			  const struct strv *services, const struct strv *reasons,
			  const struct strv *compare)
{
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_VERDICT,
				  .version = LEDGER_SCHEMA_VERSION,
				  .actor = actor_string()};
	int r;

	/* the report reads a read-only handle: reopen it to write */
	view_use_ledger(NULL);
	ledger_close(ctx->lg);
	ctx->lg = NULL;
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		return r;
	ev.u.soak_verdict.name = name;
	ev.u.soak_verdict.pass = pass;
	ev.u.soak_verdict.services =
	    (struct ledger_strv){(uint32_t)services->n, (const char **)services->v};
	ev.u.soak_verdict.reasons =
	    (struct ledger_strv){(uint32_t)reasons->n, (const char **)reasons->v};
	ev.u.soak_verdict.compare =
	    (struct ledger_strv){(uint32_t)compare->n, (const char **)compare->v};
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0)
		log_error("cannot record soak.verdict: %s", ledger_strerror(r));
	return r < 0 ? SL_EENV : 0;
}

static int soak_report(struct cmd_ctx *ctx, const char *name, bool status_only)
{
	struct window w;
	struct tally t[LEDGER_MAX_SERVICES];
	struct soak_logs logs[LEDGER_MAX_SERVICES];
	bool pass[LEDGER_MAX_SERVICES];
	struct strv ops = {0}, verdicts = {0}, reasons = {0}, compare = {0};
	size_t n = 0;
	json_t *svcs = json_array(), *opsj = json_array();
	char a[64], b[64];
	int64_t until;
	bool running, all_pass = true, judged = false;
	int r;

	memset(logs, 0, sizeof(logs));
	r = find_window(ctx->lg, name, &w);
	if (r == LEDGER_ENOTFOUND) {
		log_error(
		    "no soak window%s%s%s in this ledger; start one with 'shiplog soak start'",
		    name ? " named '" : "", name ? name : "", name ? "'" : "");
		r = SL_EUSAGE;
		goto out;
	}
	if (r < 0)
		goto out;
	r = window_tally(ctx->lg, w.start, w.stop, t, &n, &ops, opsj);
	if (r < 0)
		goto out;
	running = !w.stop && (unit_running(w.unit) || legacy_sampler(ctx));
	until = w.stop ? w.stop_ns : now_ns();
	format_time(w.start_ns, a, sizeof(a));
	if (w.stop_ns)
		format_time(w.stop_ns, b, sizeof(b));
	/* the verdict needs the thresholds and the services' logs: a report with a config */
	judged = !status_only && ctx->cfg;
	for (size_t i = 0; judged && i < n; i++) {
		const struct service *s = config_service(ctx->cfg, t[i].name);
		struct soak_figures f, prev;

		figures_of(&t[i], until - w.start_ns, &f);
		if (s) {
			soak_logs_read(ctx->cfg, s, t[i].runtime, w.start_ns,
				       w.stop ? w.stop_ns : 0, &logs[i]);
			f.errors = logs[i].errors;
			f.errors_known = logs[i].read;
		}
		pass[i] = soak_judge(ctx->cfg, t[i].name, &f, &reasons);
		all_pass &= pass[i];
		strv_push_take(&verdicts, xasprintf("%s=%s", t[i].name, pass[i] ? "pass" : "fail"));
		if (previous_window(ctx, w.start, t[i].name, t[i].runtime, &prev))
			strv_push_take(&compare, soak_compare(t[i].name, &f, &prev));
	}
	if (judged && !n)
		all_pass = false;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:I}", "service", t[i].name,
				      "runtime", ledger_runtime_name(t[i].runtime), "samples",
				      (int)t[i].samples, "restarts", (int)t[i].restarts, "pids",
				      (int)t[i].pids, "not_active", (int)t[i].inactive,
				      "peak_memory_bytes", (json_int_t)t[i].peak_memory);
		if (judged) {
			json_t *lines = json_array();
			for (size_t k = 0; k < logs[i].lines.n; k++)
				json_array_append_new(lines, json_string(logs[i].lines.v[k]));
			json_object_set_new(o, "log_lines",
					    json_integer((json_int_t)logs[i].total));
			json_object_set_new(o, "error_lines",
					    logs[i].read ? json_integer((json_int_t)logs[i].errors)
							 : json_null());
			json_object_set_new(o, "logs", lines);
			if (!logs[i].read)
				json_object_set_new(o, "logs_error", json_string(logs[i].err));
			json_object_set_new(o, "verdict", json_string(pass[i] ? "pass" : "fail"));
		}
		json_array_append_new(svcs, o);
	}
	/* a closed window's verdict is recorded once */
	if (judged && w.stop && !verdict_recorded(ctx->lg, w.stop, w.name)) {
		r = record_verdict(ctx, w.name, all_pass, &verdicts, &reasons, &compare);
		if (r < 0)
			goto out;
	}
	if (out_settings.json) {
		json_t *o = json_pack("{s:s,s:b,s:s,s:o,s:s,s:O,s:O,s:s}", "name", w.name,
				      "running", running, "since", a, "until",
				      w.stop ? json_string(b) : json_null(), "sampler", w.unit,
				      "services", svcs, "operations", opsj, "summary", w.summary);
		if (judged) {
			json_t *rj = json_array(), *cj = json_array();
			for (size_t i = 0; i < reasons.n; i++)
				json_array_append_new(rj, json_string(reasons.v[i]));
			for (size_t i = 0; i < compare.n; i++)
				json_array_append_new(cj, json_string(compare.v[i]));
			json_object_set_new(o, "verdict",
					    json_pack("{s:s,s:b,s:o,s:o}", "overall",
						      all_pass ? "pass" : "fail", "final",
						      w.stop != 0, "reasons", rj, "compare", cj));
		}
		out_json(o);
		goto out;
	}
	printf("soak '%s': %s -> %s%s\n", w.name, a, w.stop ? b : "now",
	       w.stop	 ? ""
	       : running ? " (running)"
			 : " (sampler gone)");
	if (w.unit[0])
		printf("sampler: systemd unit %s\n", w.unit);
	if (status_only) {
		for (size_t i = 0; i < n; i++)
			printf("  %-16s %-6s %u samples so far\n", t[i].name,
			       ledger_runtime_name(t[i].runtime), t[i].samples);
		goto out;
	}
	printf("\n%-16s %-7s %8s %9s %5s %11s %12s %7s\n", "SERVICE", "RUNTIME", "SAMPLES",
	       "RESTARTS", "PIDS", "NOT-ACTIVE", "PEAK-MEMORY", "ERRORS");
	for (size_t i = 0; i < n; i++) {
		char errs[24] = "-";
		if (judged && logs[i].read)
			snprintf(errs, sizeof(errs), "%zu", logs[i].errors);
		printf("%-16s %-7s %8u %9u %5u %11u %10.1fMB %7s\n", t[i].name,
		       ledger_runtime_name(t[i].runtime), t[i].samples, t[i].restarts, t[i].pids,
		       t[i].inactive, (double)t[i].peak_memory / 1048576.0, errs);
	}
	printf("\noperations during the window: %s\n", ops.n ? "" : "none");
	for (size_t i = 0; i < ops.n; i++)
		printf("  %s\n", ops.v[i]);
	if (!judged)
		goto out;
	for (size_t i = 0; i < n; i++) {
		printf("\n");
		soak_logs_print(t[i].name, t[i].runtime, &logs[i]);
	}
	if (compare.n) {
		printf("\ncompared with the previous window on the other runtime:\n");
		for (size_t i = 0; i < compare.n; i++)
			printf("  %s\n", compare.v[i]);
	}
	printf("\nverdict%s:\n", w.stop ? "" : " so far (the window is still open)");
	for (size_t i = 0; i < n; i++)
		printf("  %-16s %s\n", t[i].name, pass[i] ? "pass" : "FAIL");
	for (size_t i = 0; i < reasons.n; i++)
		printf("    %s\n", reasons.v[i]);
	printf("  %-16s %s\n", "overall", all_pass ? "pass" : "FAIL");
out:
	for (size_t i = 0; i < n; i++)
		soak_logs_release(&logs[i]);
	json_decref(svcs);
	json_decref(opsj);
	strv_free(&ops);
	strv_free(&verdicts);
	strv_free(&reasons);
	strv_free(&compare);
	return r;
}

static const struct option options[] = {
    SCOPE_OPTIONS,
    {"name", required_argument, NULL, 'n'},
    {"every", required_argument, NULL, 'e'},
    {"for", required_argument, NULL, 'f'},
    {"runtime", required_argument, NULL, 'r'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct scope_args scope = {0};
	const char *name = NULL, *sub;
	int64_t every = 10000000000LL, dur = 3600000000000LL;
	int forced_rt = -1;
	char err[512], defname[64];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		r = scope_args_option(&scope, opt, optarg, err, sizeof(err));
		if (r < 0) {
			r = cmd_usage_error(&cmd_soak, "%s", err);
			goto out;
		}
		if (r > 0)
			continue;
		if (opt == 'n') {
			name = optarg;
		} else if (opt == 'r') {
			forced_rt = ledger_runtime_from_name(optarg);
			if (forced_rt < 0) {
				r = cmd_usage_error(
				    &cmd_soak, "bad --runtime '%s': use native or docker", optarg);
				goto out;
			}
		} else if (opt == 'e' || opt == 'f') {
			int64_t *dst = opt == 'e' ? &every : &dur;
			if (parse_duration_ns(optarg, dst) < 0 || *dst <= 0) {
				r = cmd_usage_error(&cmd_soak,
						    "--%s: '%s' is not a duration (e.g. 10s, "
						    "30m)",
						    opt == 'e' ? "every" : "for", optarg);
				goto out;
			}
		} else {
			r = cmd_usage_error(&cmd_soak, "unknown option");
			goto out;
		}
	}
	if (optind >= argc) {
		r = cmd_usage_error(&cmd_soak, "say start, status, stop or report");
		goto out;
	}
	sub = argv[optind];
	if (!streq(sub, "start") && !streq(sub, "stop") && !streq(sub, "status") &&
	    !streq(sub, "report") && !streq(sub, "sample")) {
		r = cmd_usage_error(&cmd_soak, "unknown subcommand '%s'", sub);
		goto out;
	}
	if ((streq(sub, "start") || streq(sub, "sample")) && !ctx->cfg) {
		r = cmd_usage_error(&cmd_soak, "'soak %s' needs a shiplog.conf (-c FILE)", sub);
		goto out;
	}
	/* Arguments first: a usage error is exit 2 and creates no ledger; only start, stop and
	 * the sampler write (and create) it. */
	r = cmd_open_ledger(ctx, !streq(sub, "status") && !streq(sub, "report"));
	if (r < 0)
		goto out;
	if (streq(sub, "start")) {
		if (!name) {
			char when[64];
			format_time(now_ns(), when, sizeof(when));
			snprintf(defname, sizeof(defname), "soak-%.19s", when);
			name = defname;
		}
		r = soak_start(ctx, name, every, dur, forced_rt, &scope);
	} else if (streq(sub, "sample")) {
		r = soak_sample(ctx, argc - optind - 1, argv + optind + 1);
	} else if (streq(sub, "stop")) {
		r = soak_stop(ctx);
	} else {
		r = soak_report(ctx, name, streq(sub, "status"));
	}
out:
	scope_args_release(&scope);
	return r;
}

const struct cmd_entry cmd_soak = {
    .name = "soak",
    .summary = "start|status|stop|report: watch units during a soak window",
    .usage = usage,
    .flags = CMD_CONFIG_OPTIONAL, /* the ledger: opened by run, per subcommand */
    .options = options,
    .words = "start status stop report",
    .run = run,
};
