/* SPDX-License-Identifier: MIT */
/* Generates realistic operation sequences into a ledger for the ledger tests: deploys that
 * succeed, fail, get rolled back by a nested automatic rollback, get interrupted, refusals
 * (standalone and terminal), manual rollbacks, soak windows, unknown future event types. */
#ifndef TESTS_LEDGER_GEN_H
#define TESTS_LEDGER_GEN_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "ledger/ledger.h"

static const char *const gen_services[] = {
    "web", "api", "compute", "candles", "ingest-options", "ingest-equities"};
#define GEN_NSERVICES 6

struct gen {
	struct ledger *lg;
	uint64_t rng;
	int64_t t;	  /* fake clock, ns; strictly increasing */
	unsigned commits; /* commits made so far */
	char checkout[41];
	char good[2][41]; /* last good per runtime (what a rollback goes back to) */
	uint64_t last_ok_op[2];
	unsigned flags; /* append flags */
	uint64_t events;
};

static inline uint64_t gen_rand(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static inline void gen_init(struct gen *g, struct ledger *lg, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->lg = lg;
	g->rng = seed ? seed : 88172645463325252ull;
	g->t = 1700000000000000000ll;
	g->flags = LEDGER_APPEND_NOSYNC;
}

static inline void gen_commit(struct gen *g, char out[41])
{
	g->commits++;
	snprintf(out, 41, "%08x%032" PRIx64, g->commits,
		 (uint64_t)(g->commits * 0x9e3779b97f4a7c15ull));
}

/* Appends ev (time from the fake clock) and returns its seq. */
static inline uint64_t gen_emit(struct gen *g, struct ledger_event *ev)
{
	uint64_t seq = 0;
	int rc;

	g->t += 1000000 + (int64_t)(gen_rand(g) % 50000000);
	ev->time_ns = g->t;
	if (!ev->actor)
		ev->actor = "alice@vps";
	rc = ledger_append(g->lg, ev, g->flags, &seq);
	cr_assert_eq(rc, 0, "append %s: %s (%s)", ledger_event_type_name(ev->type),
		     ledger_strerror(rc), ledger_errmsg(g->lg));
	g->events++;
	return seq;
}

static inline void gen_phase(struct gen *g, uint64_t op, const char *name, bool ok, int64_t dur)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_STARTED, .op = op};

	ev.u.phase.name = name;
	gen_emit(g, &ev);
	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_PHASE_FINISHED;
	ev.op = op;
	ev.u.phase.name = name;
	ev.u.phase.ok = ok;
	ev.u.phase.duration_ns = dur;
	ev.u.phase.error = ok ? "" : "health check failed";
	gen_emit(g, &ev);
}

static inline void gen_step(struct gen *g, uint64_t op, const char *what)
{
	static const char *argv[] = {"bun", "install", "--frozen-lockfile"};
	struct ledger_event ev = {.type = LEDGER_EV_STEP_RAN, .op = op};

	ev.u.step_ran.argv = (struct ledger_strv){3, argv};
	ev.u.step_ran.cwd = "/srv/app";
	ev.u.step_ran.duration_ns = 1000000;
	ev.u.step_ran.what = what;
	gen_emit(g, &ev);
}

static inline void gen_move(struct gen *g, uint64_t op, const char *to)
{
	struct ledger_event ev = {.type = LEDGER_EV_GIT_MOVED, .op = op};

	ev.u.git_moved.from = g->checkout;
	ev.u.git_moved.to = to;
	ev.u.git_moved.ref = "main";
	ev.u.git_moved.path = "/srv/app";
	gen_emit(g, &ev);
	snprintf(g->checkout, sizeof(g->checkout), "%s", to);
}

static inline void gen_restart(struct gen *g, uint64_t op, int rt, const char *const *sv,
			       unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_UNIT_RESTARTED, .op = op};

		ev.u.unit_restarted.service = sv[i];
		ev.u.unit_restarted.runtime = rt;
		ev.u.unit_restarted.unit = sv[i];
		ev.u.unit_restarted.result = "done";
		ev.u.unit_restarted.duration_ns = 20000000;
		ev.u.unit_restarted.before = "100";
		ev.u.unit_restarted.after = "200";
		gen_emit(g, &ev);
	}
}

static inline void gen_health(struct gen *g, uint64_t op, int rt, const char *const *sv, unsigned n,
			      bool ok)
{
	for (unsigned i = 0; i < n; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_HEALTH_CHECKED, .op = op};

		ev.u.health_checked.service = sv[i];
		ev.u.health_checked.runtime = rt;
		ev.u.health_checked.kind = "http-get";
		ev.u.health_checked.target = "http://127.0.0.1:4000/health";
		ev.u.health_checked.ok = ok || i + 1 < n; /* a failure fails the last one */
		ev.u.health_checked.attempts = 1;
		ev.u.health_checked.latency_ns = 3000000;
		gen_emit(g, &ev);
	}
}

static inline void gen_finish(struct gen *g, uint64_t op, enum ledger_outcome o,
			      uint64_t rollback_op, const char *error)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED, .op = op};

	ev.u.op_finished.outcome = o;
	ev.u.op_finished.error = error;
	ev.u.op_finished.duration_ns = 5000000000ll;
	ev.u.op_finished.rollback_op = rollback_op;
	gen_emit(g, &ev);
}

static inline uint64_t gen_request(struct gen *g, const char *kind, const char *commit, int rt,
				   const char *const *sv, unsigned n, uint64_t reverts)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};
	static const char *flags[] = {"fast"};

	ev.u.op_requested.kind = kind;
	ev.u.op_requested.mode = strcmp(kind, "deploy") == 0 ? "main" : "auto";
	ev.u.op_requested.ref = "main";
	ev.u.op_requested.commit = commit;
	ev.u.op_requested.prev_commit = g->checkout;
	ev.u.op_requested.runtime = rt;
	ev.u.op_requested.services = (struct ledger_strv){n, (const char **)sv};
	ev.u.op_requested.flags = (struct ledger_strv){1, flags};
	ev.u.op_requested.exec_mode = "local";
	ev.u.op_requested.config_digest = "abc123";
	ev.u.op_requested.reverts = reverts;
	ev.u.op_requested.reason = reverts ? "auto" : "";
	ev.u.op_requested.pid = 4242;
	return gen_emit(g, &ev);
}

/* A rollback of op to the last good commit (nested when op is still running). */
static inline uint64_t gen_rollback(struct gen *g, uint64_t op, int rt, const char *const *sv,
				    unsigned n)
{
	char target[41];
	uint64_t r;

	snprintf(target, sizeof(target), "%s", g->good[rt]);
	r = gen_request(g, "rollback", target, rt, sv, n, op);
	gen_phase(g, r, "precheck", true, 1000000);
	if (target[0])
		gen_move(g, r, target);
	gen_restart(g, r, rt, sv, n);
	gen_health(g, r, rt, sv, n, true);
	gen_phase(g, r, "verify", true, 2000000);
	gen_finish(g, r, LEDGER_OUT_SUCCEEDED, 0, "");
	return r;
}

static inline void gen_unknown(struct gen *g)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const uint8_t *bufs[1];
	size_t lens[1];
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	msgpack_pack_str(&pk, 1), msgpack_pack_str_body(&pk, "v", 1), msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str(&pk, 1), msgpack_pack_str_body(&pk, "t", 1);
	msgpack_pack_str(&pk, 12), msgpack_pack_str_body(&pk, "future.thing", 12);
	g->t += 1000000;
	msgpack_pack_str(&pk, 2), msgpack_pack_str_body(&pk, "ts", 2),
	    msgpack_pack_int64(&pk, g->t);
	msgpack_pack_str(&pk, 2), msgpack_pack_str_body(&pk, "op", 2), msgpack_pack_uint64(&pk, 0);
	msgpack_pack_str(&pk, 1), msgpack_pack_str_body(&pk, "a", 1);
	msgpack_pack_str(&pk, 3), msgpack_pack_str_body(&pk, "bob", 3);
	msgpack_pack_str(&pk, 3), msgpack_pack_str_body(&pk, "zzz", 3);
	msgpack_pack_array(&pk, 2), msgpack_pack_true(&pk), msgpack_pack_nil(&pk);
	bufs[0] = (const uint8_t *)sb.data;
	lens[0] = sb.size;
	rc = ledger_append_raw(g->lg, bufs, lens, 1, g->flags);
	cr_assert_eq(rc, 0, "append raw: %s (%s)", ledger_strerror(rc), ledger_errmsg(g->lg));
	g->events++;
	msgpack_sbuffer_destroy(&sb);
}

/* One random operation (or a few events of other kinds). */
static inline void gen_op(struct gen *g)
{
	unsigned kind = (unsigned)(gen_rand(g) % 100);
	int rt = (int)(gen_rand(g) % 2);
	unsigned first = (unsigned)(gen_rand(g) % GEN_NSERVICES);
	unsigned n = 1 + (unsigned)(gen_rand(g) % (GEN_NSERVICES - first));
	const char *const *sv = &gen_services[first];
	char commit[41];
	uint64_t op, r;

	gen_commit(g, commit);
	if (kind < 45) { /* a deploy that succeeds */
		op = gen_request(g, "deploy", commit, rt, sv, n, 0);
		gen_phase(g, op, "precheck", true, 3000000);
		gen_move(g, op, commit);
		gen_step(g, op, "build");
		gen_restart(g, op, rt, sv, n);
		gen_phase(g, op, "rollout", true, 900000000);
		gen_health(g, op, rt, sv, n, true);
		gen_phase(g, op, "verify", true, 400000000);
		gen_finish(g, op, LEDGER_OUT_SUCCEEDED, 0, "");
		snprintf(g->good[rt], sizeof(g->good[rt]), "%s", commit);
		g->last_ok_op[rt] = op;
	} else if (kind < 60) { /* verify fails, nested automatic rollback */
		op = gen_request(g, "deploy", commit, rt, sv, n, 0);
		gen_phase(g, op, "precheck", true, 3000000);
		gen_move(g, op, commit);
		gen_restart(g, op, rt, sv, n);
		gen_phase(g, op, "rollout", true, 800000000);
		gen_health(g, op, rt, sv, n, false);
		gen_phase(g, op, "verify", false, 600000000);
		r = gen_rollback(g, op, rt, sv, n);
		gen_finish(g, op, LEDGER_OUT_ROLLED_BACK, r, "verify failed: api unhealthy");
	} else if (kind < 68) { /* fails with on_failure = stop */
		op = gen_request(g, "deploy", commit, rt, sv, n, 0);
		gen_phase(g, op, "precheck", true, 3000000);
		gen_step(g, op, "build");
		gen_phase(g, op, "rollout", false, 100000000);
		gen_finish(g, op, LEDGER_OUT_FAILED, 0, "build failed");
	} else if (kind < 74) { /* interrupted: the process died; closed by the next one */
		op = gen_request(g, "deploy", commit, rt, sv, n, 0);
		gen_phase(g, op, "precheck", true, 3000000);
		gen_move(g, op, commit);
		if (gen_rand(g) % 2)
			gen_finish(g, op, LEDGER_OUT_INTERRUPTED, 0, "holder died");
	} else if (kind < 80) { /* standalone refusal */
		struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED};

		ev.u.op_refused.req.kind = "deploy";
		ev.u.op_refused.req.mode = "main";
		ev.u.op_refused.req.runtime = rt;
		ev.u.op_refused.req.services = (struct ledger_strv){n, (const char **)sv};
		ev.u.op_refused.guard = "edge";
		ev.u.op_refused.reason = "edge roles need DEPLOY_NATIVE_EDGE_READY=1";
		gen_emit(g, &ev);
	} else if (kind < 85) { /* requested, then refused by a guard */
		struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED};

		op = gen_request(g, "deploy", commit, rt, sv, n, 0);
		gen_phase(g, op, "precheck", false, 2000000);
		ev.op = op;
		ev.u.op_refused.guard = "dirty-tree";
		ev.u.op_refused.reason = "the checkout has local changes";
		gen_emit(g, &ev);
	} else if (kind < 92) { /* manual rollback of the last good deploy */
		if (!g->last_ok_op[rt] || !g->good[rt][0])
			return;
		r = gen_rollback(g, g->last_ok_op[rt], rt, sv, n);
		(void)r;
	} else if (kind < 96) { /* soak + observations + owner changes */
		struct ledger_event ev = {.type = LEDGER_EV_SOAK_STARTED};

		ev.u.soak.name = "nightly";
		ev.u.soak.services = (struct ledger_strv){n, (const char **)sv};
		gen_emit(g, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.type = LEDGER_EV_UNIT_OBSERVED;
		ev.u.unit_observed.service = sv[0];
		ev.u.unit_observed.runtime = rt;
		ev.u.unit_observed.active_state = gen_rand(g) % 2 ? "active" : "failed";
		ev.u.unit_observed.sub_state = "running";
		gen_emit(g, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.type = LEDGER_EV_OWNER_CHANGED;
		ev.u.owner_changed.service = sv[0];
		ev.u.owner_changed.from = "native";
		ev.u.owner_changed.to = gen_rand(g) % 3 ? "docker" : "";
		gen_emit(g, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.type = LEDGER_EV_SOAK_STOPPED;
		ev.u.soak.name = "nightly";
		ev.u.soak.summary = "0 restarts";
		gen_emit(g, &ev);
	} else if (kind < 98) {
		struct ledger_event ev = {.type = LEDGER_EV_LOCK_BROKEN};

		ev.u.lock_broken.holder_pid = 77;
		ev.u.lock_broken.holder = "bob@vps";
		ev.u.lock_broken.holder_op = 3;
		gen_emit(g, &ev);
	} else {
		gen_unknown(g);
	}
}

#endif
