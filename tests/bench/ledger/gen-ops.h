/* SPDX-License-Identifier: MIT */
/* The benchmarks' generator of realistic operations (docs/benchmarks.md, "Ledger"): the reference
 * app's six services on two runtimes, deploys that succeed, fail at build, fail verify and are
 * rolled back by a nested automatic rollback, refusals and interrupted ones. Deterministic for a
 * seed. Shared by bench-ledger and bench-report; include it once, after <ledger/ledger.h>. */
#ifndef BENCH_GEN_OPS_H
#define BENCH_GEN_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#define GEN_MAX_OP_EVENTS 96

/* The reference app's shape: two edge roles and four workers, six units, two runtimes. */
struct svc {
	const char *name;
	const char *unit;
	const char *container;
	const char *health; /* http target for edge roles, NULL for workers */
};

static const struct svc svcs[] = {
    {"web", "islandflow-web.service", "islandflow-web-1", "http://127.0.0.1:3000/"},
    {"api", "islandflow-api.service", "islandflow-api-1", "http://127.0.0.1:4000/health"},
    {"worker-ingest", "islandflow-worker-ingest.service", "islandflow-worker-ingest-1", NULL},
    {"worker-options", "islandflow-worker-options.service", "islandflow-worker-options-1", NULL},
    {"worker-flow", "islandflow-worker-flow.service", "islandflow-worker-flow-1", NULL},
    {"worker-replay", "islandflow-worker-replay.service", "islandflow-worker-replay-1", NULL},
};

struct scope {
	uint32_t n;
	const char **names;
	const int *idx;
	unsigned weight; /* of 100 */
};

static const char *sc_full_n[] = {"web",	 "api",		 "worker-ingest", "worker-options",
				  "worker-flow", "worker-replay"};
static const int sc_full_i[] = {0, 1, 2, 3, 4, 5};
static const char *sc_workers_n[] = {"worker-ingest", "worker-options", "worker-flow",
				     "worker-replay"};
static const int sc_workers_i[] = {2, 3, 4, 5};
static const char *sc_api_n[] = {"api"};
static const int sc_api_i[] = {1};
static const char *sc_web_n[] = {"web"};
static const int sc_web_i[] = {0};
static const char *sc_pair_n[] = {"worker-ingest", "worker-flow"};
static const int sc_pair_i[] = {2, 4};

static const struct scope scopes[] = {
    {6, sc_full_n, sc_full_i, 20}, {4, sc_workers_n, sc_workers_i, 30}, {1, sc_api_n, sc_api_i, 20},
    {1, sc_web_n, sc_web_i, 10},   {2, sc_pair_n, sc_pair_i, 20},
};

static const char *actors[] = {"deploy@islandflow-vps-eu-1", "alice@alice-thinkpad",
			       "ci@gh-runner-islandflow-3"};
static const char *fl_none[1];
static const char *fl_fast[] = {"fast"};
static const char *fl_edge[] = {"edge-ready"};
static const char *fl_nobuild[] = {"no-build", "force-recreate"};

/* argv as the executor records them: absolute programs, full option lists */
static const char *argv_status[] = {"/usr/bin/git",	      "-C",
				    "/srv/islandflow",	      "status",
				    "--porcelain=v1",	      "--untracked-files=no",
				    "--ignore-submodules=all"};
static const char *argv_fetch[] = {
    "/usr/bin/git", "-C",	 "/srv/islandflow", "fetch",
    "--prune",	    "--no-tags", "origin",	    "+refs/heads/main:refs/remotes/origin/main"};
static const char *argv_bun[] = {"/home/deploy/.bun/bin/bun",
				 "install",
				 "--frozen-lockfile",
				 "--production",
				 "--cwd",
				 "/srv/islandflow"};
static const char *argv_compose_build[] = {"/usr/bin/docker",
					   "compose",
					   "--project-directory",
					   "/srv/islandflow",
					   "-f",
					   "/srv/islandflow/docker-compose.yml",
					   "-p",
					   "islandflow",
					   "build",
					   "--pull"};
static const char *argv_reload[] = {"/usr/bin/systemctl", "--user", "daemon-reload"};

/* A ring of commits long enough that a quarantined one does not come back soon. */
#define NCOMMITS 4096
#define NPIDS 61
static char commits[NCOMMITS][41];
static char pids[NPIDS][12];
static char containers[NPIDS][65];
static const char *config_digest =
    "9f2c4e1a7b3d5f60812e4c9a0b7d3e5f6a1c8b2d4e6f7081a2b3c4d5e6f70819";

struct gen {
	uint64_t rng;
	uint64_t next_seq; /* the sequence the next generated event gets */
	int64_t clock_ns;
	uint64_t ops;
	unsigned commit; /* index of what runs now */
};

static uint64_t rnd(struct gen *g)
{
	/* xorshift64* */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ull;
}

static uint32_t rnd_below(struct gen *g, uint32_t n)
{
	return (uint32_t)((rnd(g) >> 11) % n);
}

static int64_t rnd_ms(struct gen *g, uint32_t lo, uint32_t hi)
{
	return ((int64_t)lo + rnd_below(g, hi - lo + 1)) * 1000000;
}

static void gen_init(struct gen *g, uint64_t seed, uint64_t first_seq)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	g->next_seq = first_seq;
	g->clock_ns = 1672531200ll * 1000000000; /* 2023-01-01 */
	for (int i = 0; i < NCOMMITS; i++) {
		uint64_t x = 0x243F6A8885A308D3ull * (uint64_t)(i + 1);

		for (int j = 0; j < 40; j++) {
			x ^= x >> 13;
			x *= 0xff51afd7ed558ccdull;
			commits[i][j] = "0123456789abcdef"[x >> 60];
		}
		commits[i][40] = '\0';
	}
	for (int i = 0; i < NPIDS; i++) {
		snprintf(pids[i], sizeof(pids[i]), "%u", 1000 + 7919u * (unsigned)i % 400000u);
		snprintf(containers[i], sizeof(containers[i]), "%.40s%.24s", commits[i],
			 commits[NCOMMITS - 1 - i]);
	}
}

static struct ledger_event *ev_add(struct gen *g, struct ledger_event *buf, size_t *n,
				   enum ledger_event_type t, uint64_t op, const char *actor)
{
	struct ledger_event *ev = &buf[(*n)++];

	memset(ev, 0, sizeof(*ev));
	ev->seq = g->next_seq++;
	ev->version = LEDGER_SCHEMA_VERSION;
	ev->type = t;
	ev->type_name = ledger_event_type_name(t);
	ev->time_ns = g->clock_ns;
	ev->op = op ? op : ev->seq;
	ev->actor = actor;
	return ev;
}

#define STRV(a) ((struct ledger_strv){sizeof(a) / sizeof((a)[0]), (a)})

static void gen_step(struct gen *g, struct ledger_event *buf, size_t *n, uint64_t op,
		     const char *actor, struct ledger_strv argv, const char *what, int code,
		     uint32_t lo_ms, uint32_t hi_ms)
{
	int64_t d = rnd_ms(g, lo_ms, hi_ms);
	struct ledger_event *ev;

	g->clock_ns += d;
	ev = ev_add(g, buf, n, LEDGER_EV_STEP_RAN, op, actor);
	ev->u.step_ran.argv = argv;
	ev->u.step_ran.cwd = "/srv/islandflow";
	ev->u.step_ran.exit_code = code;
	ev->u.step_ran.duration_ns = d;
	ev->u.step_ran.what = what;
}

static int64_t gen_phase_start(struct gen *g, struct ledger_event *buf, size_t *n, uint64_t op,
			       const char *actor, const char *name)
{
	struct ledger_event *ev = ev_add(g, buf, n, LEDGER_EV_PHASE_STARTED, op, actor);

	ev->u.phase.name = name;
	ev->u.phase.error = "";
	return g->clock_ns;
}

static void gen_phase_end(struct gen *g, struct ledger_event *buf, size_t *n, uint64_t op,
			  const char *actor, const char *name, int64_t started, bool ok,
			  const char *error)
{
	struct ledger_event *ev;

	g->clock_ns += rnd_ms(g, 1, 20);
	ev = ev_add(g, buf, n, LEDGER_EV_PHASE_FINISHED, op, actor);
	ev->u.phase.name = name;
	ev->u.phase.duration_ns = g->clock_ns - started;
	ev->u.phase.ok = ok;
	ev->u.phase.error = error;
}

static void gen_restarts(struct gen *g, struct ledger_event *buf, size_t *n, uint64_t op,
			 const char *actor, const struct scope *sc, int rt, unsigned commit)
{
	for (uint32_t i = 0; i < sc->n; i++) {
		const struct svc *s = &svcs[sc->idx[i]];
		int64_t d = rnd_ms(g, 300, 4000);
		struct ledger_event *ev;

		g->clock_ns += d / 4; /* restarts run in parallel */
		ev = ev_add(g, buf, n, LEDGER_EV_UNIT_RESTARTED, op, actor);
		ev->u.unit_restarted.service = s->name;
		ev->u.unit_restarted.runtime = (enum ledger_runtime)rt;
		ev->u.unit_restarted.unit = rt == LEDGER_RT_NATIVE ? s->unit : s->container;
		ev->u.unit_restarted.result = rt == LEDGER_RT_NATIVE ? "done" : "recreated";
		ev->u.unit_restarted.duration_ns = d;
		if (rt == LEDGER_RT_NATIVE) {
			ev->u.unit_restarted.before = pids[rnd_below(g, NPIDS)];
			ev->u.unit_restarted.after = pids[rnd_below(g, NPIDS)];
		} else {
			ev->u.unit_restarted.before = containers[rnd_below(g, NPIDS)];
			ev->u.unit_restarted.after = containers[rnd_below(g, NPIDS)];
		}
		ev->u.unit_restarted.commit = commits[commit];
	}
}

static bool gen_checks(struct gen *g, struct ledger_event *buf, size_t *n, uint64_t op,
		       const char *actor, const struct scope *sc, int rt, bool fail_last)
{
	bool all_ok = true;

	for (uint32_t i = 0; i < sc->n; i++) {
		const struct svc *s = &svcs[sc->idx[i]];
		bool ok = !(fail_last && i + 1 == sc->n);
		struct ledger_event *ev;
		int64_t lat = rnd_ms(g, 2, ok ? 60 : 5000);

		g->clock_ns += lat + rnd_ms(g, 100, 1500);
		ev = ev_add(g, buf, n, LEDGER_EV_HEALTH_CHECKED, op, actor);
		ev->u.health_checked.service = s->name;
		ev->u.health_checked.runtime = (enum ledger_runtime)rt;
		if (s->health) {
			ev->u.health_checked.kind = "http-get";
			ev->u.health_checked.target = s->health;
			ev->u.health_checked.detail =
			    ok ? "HTTP/1.1 200 OK; body: {\"status\":\"ok\",\"uptime_s\":9,"
				 "\"db\":\"ok\",\"redis\":\"ok\",\"queue_depth\":0}"
			       : "connect to 127.0.0.1:4000 failed: Connection refused "
				 "(5 attempts over 10s)";
		} else {
			ev->u.health_checked.kind = rt == LEDGER_RT_NATIVE ? "unit" : "container";
			ev->u.health_checked.target =
			    rt == LEDGER_RT_NATIVE ? s->unit : s->container;
			ev->u.health_checked.detail =
			    ok ? "active/running for the 10s settle window, NRestarts=0, "
				 "MainPID stable"
			       : "activating/auto-restart: NRestarts went 0 -> 3 within the 10s "
				 "settle window";
		}
		ev->u.health_checked.ok = ok;
		ev->u.health_checked.attempts = ok ? 1 + rnd_below(g, 2) : 5;
		ev->u.health_checked.latency_ns = lat;
		all_ok = all_ok && ok;
	}
	return all_ok;
}

static struct ledger_event *gen_request(struct gen *g, struct ledger_event *buf, size_t *n,
					enum ledger_event_type t, const char *actor,
					const struct scope *sc, int rt)
{
	struct ledger_event *ev = ev_add(g, buf, n, t, 0, actor);
	struct ledger_op_requested *rq =
	    t == LEDGER_EV_OP_REFUSED ? &ev->u.op_refused.req : &ev->u.op_requested;
	uint32_t f = rnd_below(g, 10);

	rq->kind = "deploy";
	rq->mode = rnd_below(g, 5) ? "main" : "branch";
	rq->ref = rq->mode[0] == 'm' ? "main" : "feature/options-chain-cache";
	rq->commit = commits[(g->commit + 1) % NCOMMITS];
	rq->prev_commit = commits[g->commit];
	rq->runtime = (enum ledger_runtime)rt;
	rq->services = (struct ledger_strv){sc->n, sc->names};
	rq->flags = f < 5   ? (struct ledger_strv){0, fl_none}
		    : f < 8 ? STRV(fl_fast)
		    : f < 9 ? STRV(fl_edge)
			    : STRV(fl_nobuild);
	rq->exec_mode = rnd_below(g, 4) ? "local" : "ssh";
	rq->config_digest = config_digest;
	rq->reason = "";
	rq->pid = 2000 + rnd_below(g, 60000);
	g->ops++;
	return ev;
}

/* One operation of a realistic outcome, ~15-25 events, into buf (room for GEN_MAX_OP_EVENTS). */
static size_t gen_op(struct gen *g, struct ledger_event *buf)
{
	const char *actor = actors[rnd_below(g, 3)];
	uint32_t roll = rnd_below(g, 100), w = rnd_below(g, 100), acc = 0;
	int rt = rnd_below(g, 10) < 6 ? LEDGER_RT_NATIVE : LEDGER_RT_DOCKER;
	const struct scope *sc = &scopes[0];
	bool edge = false, failed_build = roll >= 78 && roll < 86;
	bool rolled_back = roll >= 86 && roll < 93, refused = roll >= 93 && roll < 97;
	bool interrupted = roll >= 97;
	unsigned target = (g->commit + 1) % NCOMMITS, prev = g->commit;
	struct ledger_event *ev;
	int64_t t0, ph;
	uint64_t op;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		acc += scopes[i].weight;
		if (w < acc) {
			sc = &scopes[i];
			break;
		}
	}
	for (uint32_t i = 0; i < sc->n; i++)
		edge = edge || svcs[sc->idx[i]].health;
	g->clock_ns += (int64_t)(60 + rnd_below(g, 1800)) * 1000000000;
	t0 = g->clock_ns;

	if (refused) {
		ev = gen_request(g, buf, &n, LEDGER_EV_OP_REFUSED, actor, sc, rt);
		ev->u.op_refused.guard = "dirty-tree";
		ev->u.op_refused.reason = "refusing to deploy: the checkout '/srv/islandflow' has "
					  "uncommitted changes in 'apps/api/src/server.ts'; commit "
					  "or stash them, or add the path to [guard] dirty_allow";
		return n;
	}
	ev = gen_request(g, buf, &n, LEDGER_EV_OP_REQUESTED, actor, sc, rt);
	op = ev->seq;

	ph = gen_phase_start(g, buf, &n, op, actor, "precheck");
	gen_step(g, buf, &n, op, actor, STRV(argv_status), "dirty-check", 0, 8, 60);
	gen_phase_end(g, buf, &n, op, actor, "precheck", ph, true, "");

	ph = gen_phase_start(g, buf, &n, op, actor, "rollout");
	gen_step(g, buf, &n, op, actor, STRV(argv_fetch), "fetch", 0, 300, 2500);
	g->clock_ns += rnd_ms(g, 5, 80);
	ev = ev_add(g, buf, &n, LEDGER_EV_GIT_MOVED, op, actor);
	ev->u.git_moved.from = commits[prev];
	ev->u.git_moved.to = commits[target];
	ev->u.git_moved.ref = "main";
	ev->u.git_moved.path = "/srv/islandflow";
	if (interrupted) {
		/* the process died mid-rollout; the next operation closes it */
		g->clock_ns += rnd_ms(g, 1000, 60000);
		ev = ev_add(g, buf, &n, LEDGER_EV_OP_FINISHED, op, "deploy@vps-eu-1");
		ev->u.op_finished.outcome = LEDGER_OUT_INTERRUPTED;
		ev->u.op_finished.error =
		    "the process (pid 31337) ended without closing the operation";
		ev->u.op_finished.duration_ns = g->clock_ns - t0;
		g->commit = target;
		return n;
	}
	if (rt == LEDGER_RT_NATIVE)
		gen_step(g, buf, &n, op, actor, STRV(argv_bun), "build", failed_build ? 1 : 0, 2000,
			 45000);
	else
		gen_step(g, buf, &n, op, actor, STRV(argv_compose_build), "build",
			 failed_build ? 1 : 0, 8000, 90000);
	if (failed_build) {
		gen_phase_end(g, buf, &n, op, actor, "rollout", ph, false,
			      "build failed: exit status 1 (see the step output)");
		ev = ev_add(g, buf, &n, LEDGER_EV_OP_FINISHED, op, actor);
		ev->u.op_finished.outcome = LEDGER_OUT_FAILED;
		ev->u.op_finished.error = "rollout: build failed: exit status 1";
		ev->u.op_finished.duration_ns = g->clock_ns - t0;
		g->commit = target; /* the checkout moved; nothing was restarted */
		return n;
	}
	if (rt == LEDGER_RT_NATIVE)
		gen_step(g, buf, &n, op, actor, STRV(argv_reload), "reload", 0, 40, 300);
	gen_restarts(g, buf, &n, op, actor, sc, rt, target);
	gen_phase_end(g, buf, &n, op, actor, "rollout", ph, true, "");

	ph = gen_phase_start(g, buf, &n, op, actor, "verify");
	if (!gen_checks(g, buf, &n, op, actor, sc, rt, rolled_back)) {
		uint64_t rb;
		int64_t t1;

		gen_phase_end(g, buf, &n, op, actor, "verify", ph, false,
			      "health check failed for the last service in scope");
		/* the policy rolls back: a nested rollback operation reverting op */
		t1 = g->clock_ns;
		ev = gen_request(g, buf, &n, LEDGER_EV_OP_REQUESTED, actor, sc, rt);
		rb = ev->seq;
		ev->u.op_requested.kind = "rollback";
		ev->u.op_requested.mode = "auto";
		ev->u.op_requested.ref = commits[prev];
		ev->u.op_requested.commit = commits[prev];
		ev->u.op_requested.prev_commit = commits[target];
		ev->u.op_requested.flags = (struct ledger_strv){0, fl_none};
		ev->u.op_requested.reverts = op;
		ev->u.op_requested.reason = "auto";
		ph = gen_phase_start(g, buf, &n, rb, actor, "rollout");
		g->clock_ns += rnd_ms(g, 5, 80);
		ev = ev_add(g, buf, &n, LEDGER_EV_GIT_MOVED, rb, actor);
		ev->u.git_moved.from = commits[target];
		ev->u.git_moved.to = commits[prev];
		ev->u.git_moved.ref = "main";
		ev->u.git_moved.path = "/srv/islandflow";
		gen_restarts(g, buf, &n, rb, actor, sc, rt, prev);
		gen_phase_end(g, buf, &n, rb, actor, "rollout", ph, true, "");
		ph = gen_phase_start(g, buf, &n, rb, actor, "verify");
		gen_checks(g, buf, &n, rb, actor, sc, rt, false);
		gen_phase_end(g, buf, &n, rb, actor, "verify", ph, true, "");
		ev = ev_add(g, buf, &n, LEDGER_EV_OP_FINISHED, rb, actor);
		ev->u.op_finished.outcome = LEDGER_OUT_SUCCEEDED;
		ev->u.op_finished.error = "";
		ev->u.op_finished.duration_ns = g->clock_ns - t1;
		g->clock_ns += rnd_ms(g, 1, 5);
		ev = ev_add(g, buf, &n, LEDGER_EV_OP_FINISHED, op, actor);
		ev->u.op_finished.outcome = LEDGER_OUT_ROLLED_BACK;
		ev->u.op_finished.error = "verify: health check failed; rolled back";
		ev->u.op_finished.duration_ns = g->clock_ns - t0;
		ev->u.op_finished.rollback_op = rb;
		return n; /* g->commit stays prev */
	}
	gen_phase_end(g, buf, &n, op, actor, "verify", ph, true, "");
	if (edge) {
		ph = gen_phase_start(g, buf, &n, op, actor, "public-verify");
		g->clock_ns += rnd_ms(g, 80, 900);
		ev = ev_add(g, buf, &n, LEDGER_EV_HEALTH_CHECKED, op, actor);
		ev->u.health_checked.service = "api";
		ev->u.health_checked.runtime = (enum ledger_runtime)rt;
		ev->u.health_checked.kind = "public";
		ev->u.health_checked.target = "https://islandflow.example.com/api/health";
		ev->u.health_checked.ok = true;
		ev->u.health_checked.attempts = 1;
		ev->u.health_checked.latency_ns = rnd_ms(g, 40, 400);
		ev->u.health_checked.detail = "HTTP/2 200 {\"status\":\"ok\"}";
		gen_phase_end(g, buf, &n, op, actor, "public-verify", ph, true, "");
	}
	ev = ev_add(g, buf, &n, LEDGER_EV_OP_FINISHED, op, actor);
	ev->u.op_finished.outcome = LEDGER_OUT_SUCCEEDED;
	ev->u.op_finished.error = "";
	ev->u.op_finished.duration_ns = g->clock_ns - t0;
	g->commit = target;
	return n;
}

#endif
