/* SPDX-License-Identifier: MIT */
/* The event and state codecs: round trips of every type, hostile input (truncation, bit flips,
 * random bytes, msgpack bombs, deep nesting), unknown types and keys, type errors. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ledger-gen.h"
#include "ledger/ledger.h"
#include "testlib.h"

static const char *argv3[] = {"git", "fetch", "--prune"};
static const char *svc2[] = {"web", "api"};
static const char *flags2[] = {"fast", "edge-ready"};
static const char *targets2[] = {"web=1111111111111111111111111111111111111111",
				 "api=3333333333333333333333333333333333333333"};

static void fill_request(struct ledger_op_requested *r)
{
	r->kind = "rollback";
	r->mode = "to";
	r->ref = "v1.2";
	r->commit = "1111111111111111111111111111111111111111";
	r->prev_commit = "2222222222222222222222222222222222222222";
	r->runtime = LEDGER_RT_DOCKER;
	r->services = (struct ledger_strv){2, svc2};
	r->flags = (struct ledger_strv){2, flags2};
	r->exec_mode = "ssh";
	r->config_digest = "deadbeef";
	r->reverts = 41;
	r->reason = "manual";
	r->pid = 4242;
	r->targets = (struct ledger_strv){2, targets2};
	r->number = 12;
	r->from = (struct ledger_strv){2, targets2};
}

/* Every field of every type set to a non-zero value. */
static void fill(struct ledger_event *ev, enum ledger_event_type t)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	ev->time_ns = 1700000000123456789ll;
	ev->op = 77;
	ev->actor = "alice@vps";
	switch (t) {
	case LEDGER_EV_OP_REQUESTED:
		fill_request(&ev->u.op_requested);
		break;
	case LEDGER_EV_OP_REFUSED:
		fill_request(&ev->u.op_refused.req);
		ev->u.op_refused.guard = "edge";
		ev->u.op_refused.reason = "edge roles need an acknowledgement";
		break;
	case LEDGER_EV_OP_FINISHED:
		ev->u.op_finished.outcome = LEDGER_OUT_ROLLED_BACK;
		ev->u.op_finished.error = "verify failed";
		ev->u.op_finished.duration_ns = 123456789;
		ev->u.op_finished.rollback_op = 80;
		break;
	case LEDGER_EV_PHASE_STARTED:
	case LEDGER_EV_PHASE_FINISHED:
		ev->u.phase.name = "public-verify";
		ev->u.phase.duration_ns = 987654321;
		ev->u.phase.ok = true;
		ev->u.phase.error = "none really";
		break;
	case LEDGER_EV_STEP_RAN:
		ev->u.step_ran.argv = (struct ledger_strv){3, argv3};
		ev->u.step_ran.cwd = "/srv/app";
		ev->u.step_ran.exit_code = -1;
		ev->u.step_ran.duration_ns = -5; /* negative on purpose: signed round trip */
		ev->u.step_ran.what = "fetch";
		break;
	case LEDGER_EV_GIT_MOVED:
		ev->u.git_moved.from = "aaaa";
		ev->u.git_moved.to = "bbbb";
		ev->u.git_moved.ref = "main";
		ev->u.git_moved.path = "/srv/app";
		ev->u.git_moved.config_digest = "c0ffee";
		break;
	case LEDGER_EV_UNIT_RESTARTED:
		ev->u.unit_restarted.service = "api";
		ev->u.unit_restarted.runtime = LEDGER_RT_DOCKER;
		ev->u.unit_restarted.unit = "islandflow-api.service";
		ev->u.unit_restarted.result = "done";
		ev->u.unit_restarted.duration_ns = 31000000;
		ev->u.unit_restarted.before = "1234";
		ev->u.unit_restarted.after = "5678";
		ev->u.unit_restarted.commit = "cccc";
		break;
	case LEDGER_EV_HEALTH_CHECKED:
		ev->u.health_checked.service = "web";
		ev->u.health_checked.runtime = LEDGER_RT_DOCKER;
		ev->u.health_checked.kind = "http-head";
		ev->u.health_checked.target = "http://127.0.0.1:3000/";
		ev->u.health_checked.ok = true;
		ev->u.health_checked.attempts = 3;
		ev->u.health_checked.latency_ns = 4500000;
		ev->u.health_checked.detail = "HTTP/1.1 200 OK";
		ev->u.health_checked.cut_short = true;
		break;
	case LEDGER_EV_OWNER_CHANGED:
		ev->u.owner_changed.service = "compute";
		ev->u.owner_changed.from = "native";
		ev->u.owner_changed.to = "docker";
		break;
	case LEDGER_EV_LOCK_BROKEN:
		ev->u.lock_broken.holder_pid = 999;
		ev->u.lock_broken.holder = "bob@vps";
		ev->u.lock_broken.holder_op = 12;
		break;
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		ev->u.soak.name = "nightly";
		ev->u.soak.services = (struct ledger_strv){2, svc2};
		ev->u.soak.summary = "2 restarts";
		ev->u.soak.unit = "shiplog-soak-x.service";
		ev->u.soak.argv = (struct ledger_strv){2, svc2};
		ev->u.soak.runtimes = (struct ledger_strv){2, svc2};
		break;
	case LEDGER_EV_UNIT_OBSERVED:
		ev->u.unit_observed.service = "candles";
		ev->u.unit_observed.runtime = LEDGER_RT_DOCKER;
		ev->u.unit_observed.active_state = "active";
		ev->u.unit_observed.sub_state = "running";
		ev->u.unit_observed.restarts = 2;
		ev->u.unit_observed.pid = 31337;
		ev->u.unit_observed.memory_bytes = 5000000000ull;
		ev->u.unit_observed.health = "healthy";
		ev->u.unit_observed.container = "0123456789ab";
		break;
	case LEDGER_EV_SOAK_VERDICT:
		ev->u.soak_verdict.name = "nightly";
		ev->u.soak_verdict.pass = true;
		ev->u.soak_verdict.services = (struct ledger_strv){2, svc2};
		ev->u.soak_verdict.reasons = (struct ledger_strv){2, svc2};
		ev->u.soak_verdict.compare = (struct ledger_strv){2, svc2};
		break;
	case LEDGER_EV_BUILD_COMPLETED:
		ev->u.build_completed.path = "/srv/app";
		ev->u.build_completed.commit = "dddd";
		break;
	case LEDGER_EV_QUARANTINE_LIFTED:
		ev->u.quarantine_lifted.commit = "eeee";
		ev->u.quarantine_lifted.reason = "fixed upstream";
		break;
	case LEDGER_EV_PHASE_SLOW:
		ev->u.phase_slow.name = "rollout";
		ev->u.phase_slow.duration_ns = 9000000000ll;
		ev->u.phase_slow.p50_ns = 2000000000ll;
		ev->u.phase_slow.p95_ns = 3000000000ll;
		ev->u.phase_slow.samples = 50;
		break;
	case LEDGER_EV_FLEET_STARTED:
		ev->u.fleet_started.kind = "deploy";
		ev->u.fleet_started.target = (struct ledger_strv){2, svc2};
		ev->u.fleet_started.flags = (struct ledger_strv){2, svc2};
		ev->u.fleet_started.hosts = (struct ledger_strv){2, svc2};
		ev->u.fleet_started.policy = "wave size 2";
		ev->u.fleet_started.pid = 42;
		ev->u.fleet_started.retries = 7;
		break;
	case LEDGER_EV_FLEET_WAVE:
		ev->u.fleet_wave.wave = 2;
		ev->u.fleet_wave.hosts = (struct ledger_strv){2, svc2};
		break;
	case LEDGER_EV_FLEET_HOST:
		ev->u.fleet_host.host = "web1";
		ev->u.fleet_host.wave = 1;
		ev->u.fleet_host.action = "deploy";
		ev->u.fleet_host.host_op = 12;
		ev->u.fleet_host.outcome = "succeeded";
		ev->u.fleet_host.commit = "ffff";
		ev->u.fleet_host.prev_commit = "eeee";
		ev->u.fleet_host.detail = "ok";
		ev->u.fleet_host.duration_ns = 5;
		break;
	case LEDGER_EV_FLEET_FINISHED:
		ev->u.fleet_finished.outcome = "failed";
		ev->u.fleet_finished.commit = "ffff";
		ev->u.fleet_finished.runs = (struct ledger_strv){2, svc2};
		ev->u.fleet_finished.failed = (struct ledger_strv){2, svc2};
		ev->u.fleet_finished.error = "web2 unreachable";
		ev->u.fleet_finished.duration_ns = 9;
		break;
	default:
		break;
	}
}

#define SEQ(a, b) cr_assert_str_eq((a), (b), "%s", #a)
#define IEQ(a, b) cr_assert_eq((a), (b), "%s", #a)

static void check_strv(const struct ledger_strv *a, const struct ledger_strv *b)
{
	cr_assert_eq(a->n, b->n);
	for (uint32_t i = 0; i < a->n; i++)
		cr_assert_str_eq(a->v[i], b->v[i]);
}

static void check_request(const struct ledger_op_requested *a, const struct ledger_op_requested *b)
{
	SEQ(a->kind, b->kind);
	SEQ(a->mode, b->mode);
	SEQ(a->ref, b->ref);
	SEQ(a->commit, b->commit);
	SEQ(a->prev_commit, b->prev_commit);
	IEQ(a->runtime, b->runtime);
	check_strv(&a->services, &b->services);
	check_strv(&a->flags, &b->flags);
	SEQ(a->exec_mode, b->exec_mode);
	SEQ(a->config_digest, b->config_digest);
	IEQ(a->reverts, b->reverts);
	SEQ(a->reason, b->reason);
	IEQ(a->pid, b->pid);
	check_strv(&a->targets, &b->targets);
	IEQ(a->number, b->number);
	check_strv(&a->from, &b->from);
}

static void check_same(const struct ledger_event *a, const struct ledger_event *b)
{
	IEQ(a->type, b->type);
	IEQ(a->time_ns, b->time_ns);
	IEQ(a->op, b->op);
	SEQ(a->actor, b->actor);
	switch (a->type) {
	case LEDGER_EV_OP_REQUESTED:
		check_request(&a->u.op_requested, &b->u.op_requested);
		break;
	case LEDGER_EV_OP_REFUSED:
		check_request(&a->u.op_refused.req, &b->u.op_refused.req);
		SEQ(a->u.op_refused.guard, b->u.op_refused.guard);
		SEQ(a->u.op_refused.reason, b->u.op_refused.reason);
		break;
	case LEDGER_EV_OP_FINISHED:
		IEQ(a->u.op_finished.outcome, b->u.op_finished.outcome);
		SEQ(a->u.op_finished.error, b->u.op_finished.error);
		IEQ(a->u.op_finished.duration_ns, b->u.op_finished.duration_ns);
		IEQ(a->u.op_finished.rollback_op, b->u.op_finished.rollback_op);
		break;
	case LEDGER_EV_PHASE_STARTED:
	case LEDGER_EV_PHASE_FINISHED:
		SEQ(a->u.phase.name, b->u.phase.name);
		IEQ(a->u.phase.duration_ns, b->u.phase.duration_ns);
		IEQ(a->u.phase.ok, b->u.phase.ok);
		SEQ(a->u.phase.error, b->u.phase.error);
		break;
	case LEDGER_EV_STEP_RAN:
		check_strv(&a->u.step_ran.argv, &b->u.step_ran.argv);
		SEQ(a->u.step_ran.cwd, b->u.step_ran.cwd);
		IEQ(a->u.step_ran.exit_code, b->u.step_ran.exit_code);
		IEQ(a->u.step_ran.duration_ns, b->u.step_ran.duration_ns);
		SEQ(a->u.step_ran.what, b->u.step_ran.what);
		break;
	case LEDGER_EV_GIT_MOVED:
		SEQ(a->u.git_moved.from, b->u.git_moved.from);
		SEQ(a->u.git_moved.to, b->u.git_moved.to);
		SEQ(a->u.git_moved.ref, b->u.git_moved.ref);
		SEQ(a->u.git_moved.path, b->u.git_moved.path);
		SEQ(a->u.git_moved.config_digest, b->u.git_moved.config_digest);
		break;
	case LEDGER_EV_UNIT_RESTARTED:
		SEQ(a->u.unit_restarted.service, b->u.unit_restarted.service);
		IEQ(a->u.unit_restarted.runtime, b->u.unit_restarted.runtime);
		SEQ(a->u.unit_restarted.unit, b->u.unit_restarted.unit);
		SEQ(a->u.unit_restarted.result, b->u.unit_restarted.result);
		IEQ(a->u.unit_restarted.duration_ns, b->u.unit_restarted.duration_ns);
		SEQ(a->u.unit_restarted.before, b->u.unit_restarted.before);
		SEQ(a->u.unit_restarted.after, b->u.unit_restarted.after);
		SEQ(a->u.unit_restarted.commit, b->u.unit_restarted.commit);
		break;
	case LEDGER_EV_HEALTH_CHECKED:
		SEQ(a->u.health_checked.service, b->u.health_checked.service);
		IEQ(a->u.health_checked.runtime, b->u.health_checked.runtime);
		SEQ(a->u.health_checked.kind, b->u.health_checked.kind);
		SEQ(a->u.health_checked.target, b->u.health_checked.target);
		IEQ(a->u.health_checked.ok, b->u.health_checked.ok);
		IEQ(a->u.health_checked.attempts, b->u.health_checked.attempts);
		IEQ(a->u.health_checked.latency_ns, b->u.health_checked.latency_ns);
		SEQ(a->u.health_checked.detail, b->u.health_checked.detail);
		IEQ(a->u.health_checked.cut_short, b->u.health_checked.cut_short);
		break;
	case LEDGER_EV_OWNER_CHANGED:
		SEQ(a->u.owner_changed.service, b->u.owner_changed.service);
		SEQ(a->u.owner_changed.from, b->u.owner_changed.from);
		SEQ(a->u.owner_changed.to, b->u.owner_changed.to);
		break;
	case LEDGER_EV_LOCK_BROKEN:
		IEQ(a->u.lock_broken.holder_pid, b->u.lock_broken.holder_pid);
		SEQ(a->u.lock_broken.holder, b->u.lock_broken.holder);
		IEQ(a->u.lock_broken.holder_op, b->u.lock_broken.holder_op);
		break;
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		SEQ(a->u.soak.name, b->u.soak.name);
		check_strv(&a->u.soak.services, &b->u.soak.services);
		SEQ(a->u.soak.summary, b->u.soak.summary);
		if (a->type == LEDGER_EV_SOAK_STOPPED)
			break; /* the sampler's fields are soak.started's */
		SEQ(a->u.soak.unit, b->u.soak.unit);
		check_strv(&a->u.soak.argv, &b->u.soak.argv);
		check_strv(&a->u.soak.runtimes, &b->u.soak.runtimes);
		break;
	case LEDGER_EV_UNIT_OBSERVED:
		SEQ(a->u.unit_observed.service, b->u.unit_observed.service);
		IEQ(a->u.unit_observed.runtime, b->u.unit_observed.runtime);
		SEQ(a->u.unit_observed.active_state, b->u.unit_observed.active_state);
		SEQ(a->u.unit_observed.sub_state, b->u.unit_observed.sub_state);
		IEQ(a->u.unit_observed.restarts, b->u.unit_observed.restarts);
		IEQ(a->u.unit_observed.pid, b->u.unit_observed.pid);
		IEQ(a->u.unit_observed.memory_bytes, b->u.unit_observed.memory_bytes);
		SEQ(a->u.unit_observed.health, b->u.unit_observed.health);
		SEQ(a->u.unit_observed.container, b->u.unit_observed.container);
		break;
	case LEDGER_EV_SOAK_VERDICT:
		SEQ(a->u.soak_verdict.name, b->u.soak_verdict.name);
		IEQ(a->u.soak_verdict.pass, b->u.soak_verdict.pass);
		check_strv(&a->u.soak_verdict.services, &b->u.soak_verdict.services);
		check_strv(&a->u.soak_verdict.reasons, &b->u.soak_verdict.reasons);
		check_strv(&a->u.soak_verdict.compare, &b->u.soak_verdict.compare);
		break;
	case LEDGER_EV_BUILD_COMPLETED:
		SEQ(a->u.build_completed.path, b->u.build_completed.path);
		SEQ(a->u.build_completed.commit, b->u.build_completed.commit);
		break;
	case LEDGER_EV_QUARANTINE_LIFTED:
		SEQ(a->u.quarantine_lifted.commit, b->u.quarantine_lifted.commit);
		SEQ(a->u.quarantine_lifted.reason, b->u.quarantine_lifted.reason);
		break;
	case LEDGER_EV_PHASE_SLOW:
		SEQ(a->u.phase_slow.name, b->u.phase_slow.name);
		IEQ(a->u.phase_slow.duration_ns, b->u.phase_slow.duration_ns);
		IEQ(a->u.phase_slow.p50_ns, b->u.phase_slow.p50_ns);
		IEQ(a->u.phase_slow.p95_ns, b->u.phase_slow.p95_ns);
		IEQ(a->u.phase_slow.samples, b->u.phase_slow.samples);
		break;
	case LEDGER_EV_FLEET_STARTED:
		SEQ(a->u.fleet_started.kind, b->u.fleet_started.kind);
		check_strv(&a->u.fleet_started.target, &b->u.fleet_started.target);
		check_strv(&a->u.fleet_started.hosts, &b->u.fleet_started.hosts);
		IEQ(a->u.fleet_started.retries, b->u.fleet_started.retries);
		break;
	case LEDGER_EV_FLEET_WAVE:
		IEQ(a->u.fleet_wave.wave, b->u.fleet_wave.wave);
		check_strv(&a->u.fleet_wave.hosts, &b->u.fleet_wave.hosts);
		break;
	case LEDGER_EV_FLEET_HOST:
		SEQ(a->u.fleet_host.host, b->u.fleet_host.host);
		SEQ(a->u.fleet_host.action, b->u.fleet_host.action);
		IEQ(a->u.fleet_host.host_op, b->u.fleet_host.host_op);
		SEQ(a->u.fleet_host.outcome, b->u.fleet_host.outcome);
		SEQ(a->u.fleet_host.commit, b->u.fleet_host.commit);
		break;
	case LEDGER_EV_FLEET_FINISHED:
		SEQ(a->u.fleet_finished.outcome, b->u.fleet_finished.outcome);
		check_strv(&a->u.fleet_finished.runs, &b->u.fleet_finished.runs);
		check_strv(&a->u.fleet_finished.failed, &b->u.fleet_finished.failed);
		break;
	default:
		cr_assert_fail("unexpected type %d", a->type);
	}
}

Test(codec, names)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		const char *n = ledger_event_type_name(t);

		cr_assert_neq(strcmp(n, "unknown"), 0);
		cr_assert_eq(ledger_event_type_from_name(n), t, "%s", n);
	}
	cr_assert_eq(ledger_event_type_from_name("op.requested"), LEDGER_EV_OP_REQUESTED);
	cr_assert_eq(ledger_event_type_from_name("unit.observed"), LEDGER_EV_UNIT_OBSERVED);
	cr_assert_eq(ledger_event_type_from_name("nope"), LEDGER_EV_UNKNOWN);
	cr_assert_eq(ledger_event_type_from_name(NULL), LEDGER_EV_UNKNOWN);
	cr_assert_str_eq(ledger_runtime_name(LEDGER_RT_DOCKER), "docker");
	cr_assert_eq(ledger_runtime_from_name("native"), LEDGER_RT_NATIVE);
	cr_assert_eq(ledger_runtime_from_name("podman"), LEDGER_EINVAL);
	cr_assert_str_eq(ledger_outcome_name(LEDGER_OUT_ROLLED_BACK), "rolled-back");
	cr_assert_eq(ledger_outcome_from_name("interrupted"), LEDGER_OUT_INTERRUPTED);
	cr_assert_eq(ledger_outcome_from_name("meh"), LEDGER_EINVAL);
	cr_assert_str_eq(ledger_strerror(LEDGER_ECORRUPT), "corrupt data");
}

Test(codec, round_trip_every_type)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		struct ledger_event in, out;
		uint8_t *buf, *buf2;
		size_t len, len2;
		char err[160] = "";
		int rc;

		fill(&in, t);
		rc = ledger_event_encode(&in, &buf, &len);
		cr_assert_eq(rc, 0, "%s: %s", ledger_event_type_name(t), ledger_strerror(rc));
		rc = ledger_event_decode(buf, len, &out, err, sizeof(err));
		cr_assert_eq(rc, 0, "%s: %s", ledger_event_type_name(t), err);
		cr_assert_eq(out.version, LEDGER_SCHEMA_VERSION);
		cr_assert_str_eq(out.type_name, ledger_event_type_name(t));
		check_same(&in, &out);
		/* and the decoded event encodes to the same bytes */
		rc = ledger_event_encode(&out, &buf2, &len2);
		cr_assert_eq(rc, 0);
		cr_assert_eq(len, len2);
		cr_assert_eq(memcmp(buf, buf2, len), 0, "%s re-encodes differently",
			     ledger_event_type_name(t));
		ledger_event_release(&out);
		cr_assert_null(out._arena);
		free(buf);
		free(buf2);
	}
}

Test(codec, zero_values_and_missing_strings)
{
	struct ledger_event in = {.type = LEDGER_EV_OP_REQUESTED, .actor = "a@b"}, out;
	uint8_t *buf;
	size_t len;

	in.u.op_requested.kind = "deploy";
	cr_assert_eq(ledger_event_encode(&in, &buf, &len), 0);
	cr_assert_eq(ledger_event_decode(buf, len, &out, NULL, 0), 0);
	/* every string of the type is "" (never NULL), so callers can print them */
	cr_assert_str_eq(out.u.op_requested.mode, "");
	cr_assert_str_eq(out.u.op_requested.commit, "");
	cr_assert_str_eq(out.u.op_requested.reason, "");
	cr_assert_eq(out.u.op_requested.services.n, 0);
	cr_assert_eq(out.u.op_requested.runtime, LEDGER_RT_NATIVE);
	ledger_event_release(&out);
	free(buf);
}

Test(codec, encode_rejects_bad_events)
{
	struct ledger_event ev;
	static const char *many[LEDGER_MAX_LIST + 1];
	uint8_t *buf = NULL;
	size_t len;
	char *big;

	fill(&ev, LEDGER_EV_OP_FINISHED);
	ev.actor = "";
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_EINVAL);
	fill(&ev, LEDGER_EV_OP_FINISHED);
	ev.u.op_finished.outcome = LEDGER_OUT_NONE;
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_EINVAL);
	fill(&ev, LEDGER_EV_OP_REQUESTED);
	ev.u.op_requested.kind = "explode";
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_EINVAL);
	fill(&ev, LEDGER_EV_UNIT_RESTARTED);
	ev.u.unit_restarted.service = NULL;
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_EINVAL);
	fill(&ev, LEDGER_EV_UNIT_RESTARTED);
	ev.u.unit_restarted.runtime = 7;
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_EINVAL);
	fill(&ev, LEDGER_EV_STEP_RAN);
	for (int i = 0; i <= LEDGER_MAX_LIST; i++)
		many[i] = "x";
	ev.u.step_ran.argv = (struct ledger_strv){LEDGER_MAX_LIST + 1, many};
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_ETOOBIG);
	fill(&ev, LEDGER_EV_HEALTH_CHECKED);
	big = malloc(LEDGER_EVENT_MAX_BYTES + 10);
	memset(big, 'x', LEDGER_EVENT_MAX_BYTES + 9);
	big[LEDGER_EVENT_MAX_BYTES + 9] = '\0';
	ev.u.health_checked.detail = big;
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_ETOOBIG);
	ev.type = LEDGER_EV_UNKNOWN;
	cr_assert_eq(ledger_event_encode(&ev, &buf, &len), LEDGER_EINVAL);
	cr_assert_null(buf);
	free(big);
}

/* A small msgpack writer for hand-made inputs. */
struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_s(struct mp *m, const char *s)
{
	msgpack_pack_str(&m->pk, strlen(s));
	msgpack_pack_str_body(&m->pk, s, strlen(s));
}

static void mp_envelope(struct mp *m, uint32_t nkeys, const char *type)
{
	msgpack_pack_map(&m->pk, nkeys);
	mp_s(m, "v");
	msgpack_pack_uint8(&m->pk, 1);
	mp_s(m, "t");
	mp_s(m, type);
	mp_s(m, "a");
	mp_s(m, "a@b");
}

static int decode_mp(struct mp *m, struct ledger_event *ev, char *err, size_t errlen)
{
	return ledger_event_decode((const uint8_t *)m->sb.data, m->sb.size, ev, err, errlen);
}

Test(codec, unknown_type_is_kept)
{
	struct ledger_event ev;
	struct mp m;
	enum ledger_event_type t;
	uint64_t op;
	int64_t ts;

	mp_init(&m);
	mp_envelope(&m, 6, "deploy.teleported");
	mp_s(&m, "op");
	msgpack_pack_uint8(&m.pk, 9);
	mp_s(&m, "ts");
	msgpack_pack_int64(&m.pk, 1234);
	mp_s(&m, "where");
	msgpack_pack_map(&m.pk, 1);
	mp_s(&m, "x");
	msgpack_pack_array(&m.pk, 0);
	cr_assert_eq(decode_mp(&m, &ev, NULL, 0), 0);
	cr_assert_eq(ev.type, LEDGER_EV_UNKNOWN);
	cr_assert_str_eq(ev.type_name, "deploy.teleported");
	cr_assert_str_eq(ev.actor, "a@b");
	cr_assert_eq(ev.op, 9);
	cr_assert_eq(ev.time_ns, 1234);
	ledger_event_release(&ev);
	cr_assert_eq(ledger_event_peek((const uint8_t *)m.sb.data, m.sb.size, &t, &op, &ts), 0);
	cr_assert_eq(t, LEDGER_EV_UNKNOWN);
	cr_assert_eq(op, 9);
	cr_assert_eq(ts, 1234);
	msgpack_sbuffer_destroy(&m.sb);
}

Test(codec, unknown_keys_ignored_and_int_encodings)
{
	struct ledger_event ev;
	char err[160] = "";
	struct mp m;

	mp_init(&m);
	mp_envelope(&m, 9, "op.finished");
	mp_s(&m, "future");
	msgpack_pack_map(&m.pk, 2);
	mp_s(&m, "deep");
	msgpack_pack_array(&m.pk, 2);
	msgpack_pack_nil(&m.pk);
	msgpack_pack_double(&m.pk, 1.5);
	mp_s(&m, "bin");
	msgpack_pack_bin(&m.pk, 3);
	msgpack_pack_bin_body(&m.pk, "abc", 3);
	mp_s(&m, "o");
	mp_s(&m, "failed");
	/* a positive value in a signed encoding, and a u64-sized one */
	mp_s(&m, "d");
	msgpack_pack_fix_int8(&m.pk, 5);
	mp_s(&m, "rb");
	msgpack_pack_fix_int64(&m.pk, 3);
	mp_s(&m, "op");
	msgpack_pack_fix_uint64(&m.pk, 11);
	mp_s(&m, "err");
	msgpack_pack_nil(&m.pk); /* nil is the zero value */
	cr_assert_eq(decode_mp(&m, &ev, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ev.type, LEDGER_EV_OP_FINISHED);
	cr_assert_eq(ev.u.op_finished.outcome, LEDGER_OUT_FAILED);
	cr_assert_eq(ev.u.op_finished.duration_ns, 5);
	cr_assert_eq(ev.u.op_finished.rollback_op, 3);
	cr_assert_eq(ev.op, 11);
	cr_assert_str_eq(ev.u.op_finished.error, "");
	ledger_event_release(&ev);
	msgpack_sbuffer_destroy(&m.sb);
}

Test(codec, wrong_types_name_the_key)
{
	struct {
		const char *type, *key;
		int kind; /* 0: string, 1: int, 2: negative int, 3: bool-as-int, 4: array of ints */
	} cases[] = {
	    {"unit.restarted", "rt", 1}, {"unit.restarted", "s", 1}, {"health.checked", "ok", 3},
	    {"op.finished", "o", 0},	 {"op.requested", "sv", 4},  {"op.requested", "pid", 2},
	    {"step.ran", "x", 0},	 {"lock.broken", "hop", 2},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger_event ev;
		char err[160] = "", want[32];
		struct mp m;
		int rc;

		mp_init(&m);
		mp_envelope(&m, 5, cases[i].type);
		/* the required key of each type, so only the bad one fails */
		mp_s(&m, strcmp(cases[i].type, "op.finished") == 0    ? "err"
			 : strcmp(cases[i].type, "op.requested") == 0 ? "k"
								      : "s");
		mp_s(&m, strcmp(cases[i].type, "op.requested") == 0 ? "deploy" : "x");
		mp_s(&m, cases[i].key);
		switch (cases[i].kind) {
		case 0:
			mp_s(&m, "nonsense");
			break;
		case 1:
			msgpack_pack_uint8(&m.pk, 5);
			break;
		case 2:
			msgpack_pack_int8(&m.pk, -3);
			break;
		case 3:
			msgpack_pack_uint8(&m.pk, 1);
			break;
		case 4:
			msgpack_pack_array(&m.pk, 1);
			msgpack_pack_uint8(&m.pk, 1);
			break;
		}
		rc = decode_mp(&m, &ev, err, sizeof(err));
		cr_assert_eq(rc, LEDGER_ECORRUPT, "%s.%s: rc %d", cases[i].type, cases[i].key, rc);
		snprintf(want, sizeof(want), "'%s'", cases[i].key);
		cr_assert(strstr(err, want), "%s: message '%s' does not name %s", cases[i].type,
			  err, want);
		cr_assert_null(ev._arena);
		msgpack_sbuffer_destroy(&m.sb);
	}
}

Test(codec, envelope_errors)
{
	struct ledger_event ev;
	char err[160];
	struct mp m;

	/* newer schema */
	mp_init(&m);
	msgpack_pack_map(&m.pk, 2);
	mp_s(&m, "v");
	msgpack_pack_uint8(&m.pk, LEDGER_SCHEMA_VERSION + 1);
	mp_s(&m, "t");
	mp_s(&m, "op.finished");
	cr_assert_eq(decode_mp(&m, &ev, err, sizeof(err)), LEDGER_ESCHEMA);
	msgpack_sbuffer_destroy(&m.sb);

	/* not a map, no type, trailing bytes */
	mp_init(&m);
	msgpack_pack_array(&m.pk, 0);
	cr_assert_eq(decode_mp(&m, &ev, err, sizeof(err)), LEDGER_ECORRUPT);
	msgpack_sbuffer_destroy(&m.sb);
	mp_init(&m);
	msgpack_pack_map(&m.pk, 1);
	mp_s(&m, "v");
	msgpack_pack_uint8(&m.pk, 1);
	cr_assert_eq(decode_mp(&m, &ev, err, sizeof(err)), LEDGER_ECORRUPT);
	cr_assert(strstr(err, "'t'"), "%s", err);
	msgpack_sbuffer_destroy(&m.sb);

	{
		struct ledger_event in;
		uint8_t *buf, *longer;
		size_t len;

		fill(&in, LEDGER_EV_GIT_MOVED);
		cr_assert_eq(ledger_event_encode(&in, &buf, &len), 0);
		longer = malloc(len + 1);
		memcpy(longer, buf, len);
		longer[len] = 0x01;
		cr_assert_eq(ledger_event_decode(longer, len + 1, &ev, err, sizeof(err)),
			     LEDGER_ECORRUPT);
		cr_assert(strstr(err, "trailing"), "%s", err);
		free(longer);
		free(buf);
	}
	cr_assert_eq(ledger_event_decode(NULL, 0, &ev, NULL, 0), LEDGER_ECORRUPT);
}

/* Caps the address space so that a multi-GiB allocation would fail (ENOMEM) instead of being
 * lazily granted: the decoder must reject the bombs with ECORRUPT, never by running out. */
static void cap_memory(void)
{
#ifndef __SANITIZE_ADDRESS__
	struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};

	setrlimit(RLIMIT_AS, &rl);
#endif
	/* under ASan (which reserves terabytes of shadow), its allocator reports any huge
	 * allocation itself */
}

Test(codec, msgpack_bombs_rejected_without_allocating)
{
	static const uint8_t bomb1[] = {0xdd, 0xff, 0xff, 0xff, 0xff}; /* array32 of 4G */
	static const uint8_t bomb2[] = {0xdf, 0x10, 0x00, 0x00, 0x00}; /* map32 of 2^28 pairs */
	static const uint8_t bomb3[] = {0xdb, 0xff, 0xff, 0xff, 0xf0}; /* str32 of 4G */
	static const uint8_t bomb4[] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff};
	const uint8_t *bombs[] = {bomb1, bomb2, bomb3, bomb4};
	size_t lens[] = {sizeof(bomb1), sizeof(bomb2), sizeof(bomb3), sizeof(bomb4)};
	struct ledger_state st;

	cap_memory();
	for (size_t i = 0; i < 4; i++) {
		struct ledger_event ev;
		char err[160] = "";

		cr_assert_eq(ledger_event_decode(bombs[i], lens[i], &ev, err, sizeof(err)),
			     LEDGER_ECORRUPT, "bomb %zu: %s", i, err);
		cr_assert_eq(ledger_event_peek(bombs[i], lens[i], NULL, NULL, NULL),
			     LEDGER_ECORRUPT);
		cr_assert_eq(ledger_state_decode(bombs[i], lens[i], &st), LEDGER_ECORRUPT);
	}
}

static size_t nest(uint8_t *b, int depth)
{
	size_t n = 0;

	/* {"v":1,"t":"op.finished","o":"failed","zz":[[[...1...]]]} with depth levels total */
	b[n++] = 0x84;
	b[n++] = 0xa1, b[n++] = 'v', b[n++] = 0x01;
	b[n++] = 0xa1, b[n++] = 't';
	b[n++] = 0xab;
	memcpy(b + n, "op.finished", 11), n += 11;
	b[n++] = 0xa1, b[n++] = 'o';
	b[n++] = 0xa6;
	memcpy(b + n, "failed", 6), n += 6;
	b[n++] = 0xa2, b[n++] = 'z', b[n++] = 'z';
	for (int i = 1; i < depth; i++)
		b[n++] = 0x91;
	b[n++] = 0x01;
	return n;
}

Test(codec, deep_nesting_rejected)
{
	uint8_t b[256];
	struct ledger_event ev;
	char err[160] = "";
	size_t n;

	n = nest(b, LEDGER_MAX_DEPTH);
	cr_assert_eq(ledger_event_decode(b, n, &ev, err, sizeof(err)), 0, "%s", err);
	ledger_event_release(&ev);
	n = nest(b, LEDGER_MAX_DEPTH + 1);
	cr_assert_eq(ledger_event_decode(b, n, &ev, err, sizeof(err)), LEDGER_ETOOBIG);
	cr_assert(strstr(err, "nested"), "%s", err);
	n = nest(b, 100);
	cr_assert_eq(ledger_event_decode(b, n, &ev, err, sizeof(err)), LEDGER_ETOOBIG);
	cr_assert_eq(ledger_event_decode(b, LEDGER_EVENT_MAX_BYTES + 1, &ev, err, sizeof(err)),
		     LEDGER_ETOOBIG);
}

Test(codec, list_over_limit_rejected)
{
	struct ledger_event ev;
	char err[160] = "";
	struct mp m;

	mp_init(&m);
	mp_envelope(&m, 4, "step.ran");
	mp_s(&m, "argv");
	msgpack_pack_array(&m.pk, LEDGER_MAX_LIST + 1);
	for (int i = 0; i <= LEDGER_MAX_LIST; i++)
		mp_s(&m, "a");
	cr_assert_eq(decode_mp(&m, &ev, err, sizeof(err)), LEDGER_ETOOBIG);
	cr_assert(strstr(err, "'argv'"), "%s", err);
	msgpack_sbuffer_destroy(&m.sb);
}

Test(codec, peek_reads_envelope)
{
	struct ledger_event in;
	enum ledger_event_type t;
	uint64_t op;
	int64_t ts;
	uint8_t *buf;
	size_t len;

	fill(&in, LEDGER_EV_HEALTH_CHECKED);
	cr_assert_eq(ledger_event_encode(&in, &buf, &len), 0);
	cr_assert_eq(ledger_event_peek(buf, len, &t, &op, &ts), 0);
	cr_assert_eq(t, LEDGER_EV_HEALTH_CHECKED);
	cr_assert_eq(op, 77);
	cr_assert_eq(ts, in.time_ns);
	cr_assert_eq(ledger_event_peek(buf, 3, &t, &op, &ts), LEDGER_ECORRUPT);
	free(buf);
}

/* Every valid encoding, cut at every length, never decodes and never crashes. */
Test(codec, every_truncation_fails_cleanly)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		struct ledger_event in, out;
		uint8_t *buf;
		size_t len;

		fill(&in, t);
		cr_assert_eq(ledger_event_encode(&in, &buf, &len), 0);
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
			int rc;

			memcpy(copy, buf, cut);
			rc = ledger_event_decode(copy, cut, &out, NULL, 0);
			cr_assert_lt(rc, 0, "%s cut at %zu decoded", ledger_event_type_name(t),
				     cut);
			cr_assert_null(out._arena);
			ledger_event_peek(copy, cut, NULL, NULL, NULL);
			free(copy);
		}
		free(buf);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Touches every string of a decoded event (ASan would see a bad pointer). */
static size_t touch(const struct ledger_event *ev)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = strlen(ev->actor) + strlen(ev->type_name);

	if (ledger_event_encode(ev, &buf, &len) == 0)
		n += len;
	free(buf);
	return n;
}

/* Bit flips, byte noise, random truncation and random bytes: >= 200k decodes, each either an
 * error or a valid event. */
Test(codec, hostile_input_loop, .timeout = 120)
{
	uint8_t *valid[LEDGER_EV__COUNT];
	size_t vlen[LEDGER_EV__COUNT];
	uint8_t work[1024];
	uint64_t s = 0x1234567887654321ull;
	unsigned ok = 0, bad = 0;
	size_t touched = 0;

	for (int t = 1; t < LEDGER_EV__COUNT; t++) {
		struct ledger_event in;

		fill(&in, t);
		cr_assert_eq(ledger_event_encode(&in, &valid[t], &vlen[t]), 0);
		cr_assert_leq(vlen[t], sizeof(work));
	}
	for (unsigned i = 0; i < 250000; i++) {
		int t = 1 + (int)(rnd(&s) % (LEDGER_EV__COUNT - 1));
		size_t len = vlen[t];
		struct ledger_event ev;
		struct ledger_state st;
		enum ledger_event_type pt;
		int rc;

		memcpy(work, valid[t], len);
		switch (rnd(&s) % 4) {
		case 0: /* bit flips */
			for (unsigned k = 1 + rnd(&s) % 4; k > 0; k--)
				work[rnd(&s) % len] ^= (uint8_t)(1u << (rnd(&s) % 8));
			break;
		case 1: /* byte noise biased to container and string headers */
			for (unsigned k = 1 + rnd(&s) % 3; k > 0; k--) {
				static const uint8_t hdr[] = {0xdc, 0xdd, 0xde, 0xdf, 0xdb,
							      0xc6, 0xc9, 0x9f, 0x8f, 0xc1};
				work[rnd(&s) % len] =
				    rnd(&s) % 2 ? hdr[rnd(&s) % sizeof(hdr)] : (uint8_t)rnd(&s);
			}
			break;
		case 2: /* flip and cut */
			work[rnd(&s) % len] ^= (uint8_t)rnd(&s);
			len = rnd(&s) % (len + 1);
			break;
		default: /* random bytes */
			len = rnd(&s) % 64;
			for (size_t k = 0; k < len; k++)
				work[k] = (uint8_t)rnd(&s);
			if (len)
				work[0] = 0x80 | (work[0] & 0x0f); /* mostly maps */
			break;
		}
		rc = ledger_event_decode(work, len, &ev, NULL, 0);
		if (rc == 0) {
			ok++;
			cr_assert_not_null(ev.actor);
			cr_assert_not_null(ev.type_name);
			touched += touch(&ev);
			ledger_event_release(&ev);
		} else {
			cr_assert(rc == LEDGER_ECORRUPT || rc == LEDGER_ETOOBIG ||
				      rc == LEDGER_ESCHEMA,
				  "unexpected rc %d", rc);
			cr_assert_null(ev._arena);
			bad++;
		}
		ledger_event_peek(work, len, &pt, NULL, NULL);
		if (i % 8 == 0)
			ledger_state_decode(work, len, &st);
	}
	cr_assert_gt(ok, 1000, "the loop should also produce valid events (%u)", ok);
	cr_assert_gt(bad, 1000);
	cr_assert_gt(touched, 0);
	for (int t = 1; t < LEDGER_EV__COUNT; t++)
		free(valid[t]);
}

/* A state with every table used, through the state codec and back. */
Test(codec, state_round_trip_and_hostile)
{
	struct ledger_state *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint8_t *buf, *copy;
	size_t len;
	uint64_t s = 42;

	ledger_state_init(a);
	a->seq = 99;
	a->time_ns = -7;
	strcpy(a->checkout_commit, "abc");
	strcpy(a->checkout_ref, "main");
	a->last_op = 90;
	a->nservices = LEDGER_MAX_SERVICES;
	for (int i = 0; i < LEDGER_MAX_SERVICES; i++) {
		snprintf(a->services[i].name, LEDGER_NAME_MAX, "svc-%d", i);
		a->services[i].owner = i % 3 - 1;
		for (int r = 0; r < LEDGER_RT__COUNT; r++) {
			struct ledger_service_runtime *rt = &a->services[i].rt[r];

			snprintf(rt->commit, LEDGER_COMMIT_MAX, "%064d", i * 10 + r);
			rt->since_ns = i;
			rt->op = (uint64_t)r;
			rt->healthy = (i + r) % 2;
			rt->ngood = LEDGER_GOOD_DEPTH;
			for (int g = 0; g < LEDGER_GOOD_DEPTH; g++) {
				snprintf(rt->good[g].commit, LEDGER_COMMIT_MAX, "g%d-%d", i, g);
				rt->good[g].op = (uint64_t)g;
				rt->good[g].time_ns = g * 1000;
			}
		}
	}
	a->inflight.op = 95;
	strcpy(a->inflight.kind, "rollback");
	a->inflight.runtime = 1;
	strcpy(a->inflight.phase, "verify");
	strcpy(a->inflight.actor, "alice@vps");
	a->inflight.pid = 5;
	a->inflight.started_ns = 17;
	strcpy(a->inflight.commit, "c1");
	strcpy(a->inflight.prev_commit, "c0");
	a->inflight.reverts = 91;
	a->inflight.number = 40;
	a->inflight.numbered = true;
	a->inflight.manual = true;
	a->inflight.nfrom = LEDGER_MAX_FROM;
	for (int i = 0; i < LEDGER_MAX_FROM; i++)
		snprintf(a->inflight.from[i], LEDGER_COMMIT_MAX, "f%d", i);
	a->inflight.nservices = 3;
	a->inflight.services[0] = 31;
	a->inflight.services[1] = 0;
	a->inflight.services[2] = 7;
	a->inflight.verify_failed = true;
	a->parent = a->inflight;
	a->parent.op = 91;
	a->nquarantine = LEDGER_MAX_QUARANTINE;
	for (int i = 0; i < LEDGER_MAX_QUARANTINE; i++) {
		snprintf(a->quarantine[i].commit, LEDGER_COMMIT_MAX, "q%d", i);
		a->quarantine[i].op = (uint64_t)i;
		a->quarantine[i].rollback_op = (uint64_t)i + 1;
		a->quarantine[i].time_ns = i;
		snprintf(a->quarantine[i].reason, 128, "reason %d", i);
	}
	a->counters.events = 99;
	a->counters.ops = 10;
	for (int i = 0; i < LEDGER_OUT__COUNT; i++)
		a->counters.outcome[i] = (uint64_t)i * 3;
	a->counters.unknown_events = 2;

	cr_assert_eq(ledger_state_encode(a, &buf, &len), 0);
	cr_assert_eq(ledger_state_decode(buf, len, b), 0);
	cr_assert(ledger_state_equal(a, b));
	b->services[31].rt[1].good[7].op++;
	cr_assert_not(ledger_state_equal(a, b), "equality must see the last good entry");
	b->services[31].rt[1].good[7].op--;
	b->parent.verify_failed = false;
	cr_assert_not(ledger_state_equal(a, b));

	/* every truncation and a few thousand flips of a real snapshot */
	for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		cr_assert_lt(ledger_state_decode(copy, cut, b), 0, "cut %zu", cut);
		free(copy);
	}
	copy = malloc(len);
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, buf, len);
		copy[rnd(&s) % len] ^= (uint8_t)(1u << (rnd(&s) % 8));
		if (ledger_state_decode(copy, len, b) == 0) {
			cr_assert_leq(b->nservices, LEDGER_MAX_SERVICES);
			cr_assert_leq(b->inflight.nservices, LEDGER_MAX_SERVICES);
			for (uint32_t k = 0; k < b->inflight.nservices; k++)
				cr_assert_lt(b->inflight.services[k], b->nservices);
		}
	}
	free(copy);
	free(buf);
	free(a);
	free(b);
}
