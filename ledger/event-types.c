/* SPDX-License-Identifier: MIT */
/*
 * event-types.c: the event type table. One row per type: wire name, the fields (short key,
 * JSON name, kind, flags, where it lives in struct ledger_event), the required-field check, the
 * reducer's apply function and the one-line text template. The msgpack codec (event-codec.c)
 * is driven by the fields, and so are JSON export, import and the text description outside the
 * library (ledger_event_visit(), ledger_event_fields(), ledger_event_type_text()): adding a
 * field is one line here (and one in docs/events.md) plus its reducer rule. Also here: the
 * names of types, runtimes and outcomes, and the checks encode and decode share.
 */
#include <string.h>

#include "internal.h"

/* Shorter names for the table (the kinds' F_* are internal.h's). */
#define REQ LEDGER_FIELD_REQUEST
#define SPARSE LEDGER_FIELD_SPARSE
#define NAMED LEDGER_FIELD_NAMED

/* One field: wire key, JSON name, kind, flags, member of the union. */
#define EVF(k, name, kind, flags, member)                                                          \
	{                                                                                          \
		k, name, kind, flags, sizeof(k) - 1, offsetof(struct ledger_event, u.member)       \
	}

/* op.requested, and the request part of a standalone op.refused. */
#define REQUEST_FIELDS(m, fl)                                                                      \
	EVF("k", "kind", F_STR, fl, m.kind), EVF("m", "mode", F_STR, fl, m.mode),                  \
	    EVF("ref", "ref", F_STR, fl, m.ref), EVF("c", "commit", F_STR, fl, m.commit),          \
	    EVF("pc", "prev_commit", F_STR, fl, m.prev_commit),                                    \
	    EVF("rt", "runtime", F_RUNTIME, fl, m.runtime),                                        \
	    EVF("sv", "services", F_STRV, fl, m.services),                                         \
	    EVF("fl", "flags", F_STRV, fl, m.flags),                                               \
	    EVF("x", "exec_mode", F_STR, fl, m.exec_mode),                                         \
	    EVF("cd", "config_digest", F_STR, fl, m.config_digest),                                \
	    EVF("rv", "reverts", F_U64, fl, m.reverts), EVF("why", "reason", F_STR, fl, m.reason), \
	    EVF("pid", "pid", F_U32, fl, m.pid), EVF("tg", "targets", F_STRV, fl, m.targets),      \
	    EVF("n", "number", F_U64, (fl) | SPARSE, m.number),                                    \
	    EVF("fr", "from", F_STRV, (fl) | SPARSE, m.from)

static const struct ledger_field f_op_requested[] = {REQUEST_FIELDS(op_requested, 0)};

static const struct ledger_field f_op_refused[] = {
    REQUEST_FIELDS(op_refused.req, REQ),
    EVF("g", "guard", F_STR, 0, op_refused.guard),
    EVF("r", "reason", F_STR, 0, op_refused.reason),
};

static const struct ledger_field f_op_finished[] = {
    EVF("o", "outcome", F_OUTCOME, 0, op_finished.outcome),
    EVF("err", "error", F_STR, 0, op_finished.error),
    EVF("d", "duration_ns", F_I64, 0, op_finished.duration_ns),
    EVF("rb", "rollback_op", F_U64, 0, op_finished.rollback_op),
};

/* phase.started has the keys of phase.finished on the wire (an encoder may set them), but only
 * its name is meant: JSON shows the rest only when set. */
static const struct ledger_field f_phase_started[] = {
    EVF("n", "phase", F_STR, 0, phase.name),
    EVF("d", "duration_ns", F_I64, SPARSE, phase.duration_ns),
    EVF("ok", "ok", F_BOOL, SPARSE, phase.ok),
    EVF("err", "error", F_STR, SPARSE, phase.error),
};

static const struct ledger_field f_phase_finished[] = {
    EVF("n", "phase", F_STR, 0, phase.name),
    EVF("d", "duration_ns", F_I64, 0, phase.duration_ns),
    EVF("ok", "ok", F_BOOL, 0, phase.ok),
    EVF("err", "error", F_STR, 0, phase.error),
};

static const struct ledger_field f_step_ran[] = {
    EVF("argv", "argv", F_STRV, 0, step_ran.argv),
    EVF("cwd", "cwd", F_STR, 0, step_ran.cwd),
    EVF("x", "exit_code", F_I32, 0, step_ran.exit_code),
    EVF("d", "duration_ns", F_I64, 0, step_ran.duration_ns),
    EVF("w", "what", F_STR, 0, step_ran.what),
    EVF("out", "output", F_STR, SPARSE, step_ran.output),
};

static const struct ledger_field f_git_moved[] = {
    EVF("f", "from", F_STR, 0, git_moved.from),
    EVF("to", "to", F_STR, 0, git_moved.to),
    EVF("ref", "ref", F_STR, 0, git_moved.ref),
    EVF("p", "path", F_STR, 0, git_moved.path),
    EVF("cd", "config_digest", F_STR, 0, git_moved.config_digest),
};

static const struct ledger_field f_unit_restarted[] = {
    EVF("s", "service", F_STR, 0, unit_restarted.service),
    EVF("rt", "runtime", F_RUNTIME, NAMED, unit_restarted.runtime),
    EVF("u", "unit", F_STR, 0, unit_restarted.unit),
    EVF("res", "result", F_STR, 0, unit_restarted.result),
    EVF("d", "duration_ns", F_I64, 0, unit_restarted.duration_ns),
    EVF("b", "before", F_STR, 0, unit_restarted.before),
    EVF("af", "after", F_STR, 0, unit_restarted.after),
    EVF("c", "commit", F_STR, 0, unit_restarted.commit),
    EVF("dt", "detail", F_STR, 0, unit_restarted.detail),
    EVF("env", "env", F_STR, SPARSE, unit_restarted.env),
};

static const struct ledger_field f_health_checked[] = {
    EVF("s", "service", F_STR, 0, health_checked.service),
    EVF("rt", "runtime", F_RUNTIME, NAMED, health_checked.runtime),
    EVF("k", "kind", F_STR, 0, health_checked.kind),
    EVF("tg", "target", F_STR, 0, health_checked.target),
    EVF("ok", "ok", F_BOOL, 0, health_checked.ok),
    EVF("n", "attempts", F_U32, 0, health_checked.attempts),
    EVF("lat", "latency_ns", F_I64, 0, health_checked.latency_ns),
    EVF("dt", "detail", F_STR, 0, health_checked.detail),
    EVF("cut", "cut_short", F_BOOL, SPARSE, health_checked.cut_short),
};

static const struct ledger_field f_owner_changed[] = {
    EVF("s", "service", F_STR, 0, owner_changed.service),
    EVF("f", "from", F_STR, 0, owner_changed.from),
    EVF("to", "to", F_STR, 0, owner_changed.to),
    EVF("c", "commit", F_STR, SPARSE, owner_changed.commit),
};

static const struct ledger_field f_lock_broken[] = {
    EVF("pid", "holder_pid", F_U32, 0, lock_broken.holder_pid),
    EVF("h", "holder", F_STR, 0, lock_broken.holder),
    EVF("hop", "holder_op", F_U64, 0, lock_broken.holder_op),
};

/* As with the phases: soak.started has soak.stopped's keys, its summary shown only when set. */
static const struct ledger_field f_soak_started[] = {
    EVF("n", "name", F_STR, 0, soak.name),
    EVF("sv", "services", F_STRV, 0, soak.services),
    EVF("sum", "summary", F_STR, SPARSE, soak.summary),
    EVF("u", "unit", F_STR, SPARSE, soak.unit),
    EVF("argv", "argv", F_STRV, SPARSE, soak.argv),
    EVF("rts", "runtimes", F_STRV, SPARSE, soak.runtimes),
};

static const struct ledger_field f_soak_stopped[] = {
    EVF("n", "name", F_STR, 0, soak.name),
    EVF("sv", "services", F_STRV, 0, soak.services),
    EVF("sum", "summary", F_STR, 0, soak.summary),
};

static const struct ledger_field f_unit_observed[] = {
    EVF("s", "service", F_STR, 0, unit_observed.service),
    EVF("rt", "runtime", F_RUNTIME, NAMED, unit_observed.runtime),
    EVF("as", "active_state", F_STR, 0, unit_observed.active_state),
    EVF("ss", "sub_state", F_STR, 0, unit_observed.sub_state),
    EVF("nr", "restarts", F_U32, 0, unit_observed.restarts),
    EVF("pid", "pid", F_U32, 0, unit_observed.pid),
    EVF("mem", "memory_bytes", F_U64, 0, unit_observed.memory_bytes),
    EVF("h", "health", F_STR, SPARSE, unit_observed.health),
    EVF("ct", "container", F_STR, SPARSE, unit_observed.container),
    EVF("st", "started_ns", F_I64, SPARSE, unit_observed.started_ns),
};

static const struct ledger_field f_soak_verdict[] = {
    EVF("n", "name", F_STR, 0, soak_verdict.name),
    EVF("ok", "pass", F_BOOL, 0, soak_verdict.pass),
    EVF("sv", "services", F_STRV, 0, soak_verdict.services),
    EVF("why", "reasons", F_STRV, 0, soak_verdict.reasons),
    EVF("cmp", "compare", F_STRV, SPARSE, soak_verdict.compare),
};

static const struct ledger_field f_build_completed[] = {
    EVF("p", "path", F_STR, 0, build_completed.path),
    EVF("c", "commit", F_STR, 0, build_completed.commit),
};

static const struct ledger_field f_quarantine_lifted[] = {
    EVF("c", "commit", F_STR, 0, quarantine_lifted.commit),
    EVF("r", "reason", F_STR, 0, quarantine_lifted.reason),
};

static const struct ledger_field f_phase_slow[] = {
    EVF("n", "phase", F_STR, 0, phase_slow.name),
    EVF("d", "duration_ns", F_I64, 0, phase_slow.duration_ns),
    EVF("p50", "p50_ns", F_I64, 0, phase_slow.p50_ns),
    EVF("p95", "p95_ns", F_I64, 0, phase_slow.p95_ns),
    EVF("ns", "samples", F_U32, 0, phase_slow.samples),
};

static const struct ledger_field f_fleet_started[] = {
    EVF("k", "kind", F_STR, 0, fleet_started.kind),
    EVF("tg", "target", F_STRV, 0, fleet_started.target),
    EVF("fl", "flags", F_STRV, 0, fleet_started.flags),
    EVF("h", "hosts", F_STRV, 0, fleet_started.hosts),
    EVF("pol", "policy", F_STR, 0, fleet_started.policy),
    EVF("pid", "pid", F_U32, 0, fleet_started.pid),
    EVF("rt", "retries", F_U64, SPARSE, fleet_started.retries),
    EVF("n", "number", F_U64, SPARSE, fleet_started.number),
};

static const struct ledger_field f_fleet_wave[] = {
    EVF("w", "wave", F_U32, 0, fleet_wave.wave),
    EVF("h", "hosts", F_STRV, 0, fleet_wave.hosts),
};

static const struct ledger_field f_fleet_host[] = {
    EVF("h", "host", F_STR, 0, fleet_host.host),
    EVF("w", "wave", F_U32, 0, fleet_host.wave),
    EVF("act", "action", F_STR, 0, fleet_host.action),
    EVF("hop", "host_op", F_U64, 0, fleet_host.host_op),
    EVF("o", "outcome", F_STR, 0, fleet_host.outcome),
    EVF("c", "commit", F_STR, 0, fleet_host.commit),
    EVF("pc", "prev_commit", F_STR, 0, fleet_host.prev_commit),
    EVF("dt", "detail", F_STR, 0, fleet_host.detail),
    EVF("d", "duration_ns", F_I64, 0, fleet_host.duration_ns),
};

static const struct ledger_field f_fleet_finished[] = {
    EVF("o", "outcome", F_STR, 0, fleet_finished.outcome),
    EVF("c", "commit", F_STR, 0, fleet_finished.commit),
    EVF("run", "runs", F_STRV, 0, fleet_finished.runs),
    EVF("fail", "failed", F_STRV, 0, fleet_finished.failed),
    EVF("err", "error", F_STR, 0, fleet_finished.error),
    EVF("d", "duration_ns", F_I64, 0, fleet_finished.duration_ns),
};

/* The one-line descriptions (grammar: ledger_event_type_text() in ledger.h). */
#define REQUEST_TEXT(verb, R)                                                                      \
	"{" R "kind} " verb "[ {" R "mode}][ '{" R "ref!" R "mode}'] on {" R "runtime}: {" R       \
	"prev_commit:short} -> {" R "commit:short}, services {" R "services:all}[, flags {" R      \
	"flags}][, reverts op {" R "reverts:op}][ ({" R "reason})][, {" R "exec_mode}][, pid {" R  \
	"pid}]"

#define ROW(t, n, f, req, fn, text)                                                                \
	[t] = {n, sizeof(n) - 1, f, sizeof(f) / sizeof((f)[0]), req, fn, text}

const struct event_type event_types[LEDGER_EV__COUNT] = {
    [LEDGER_EV_UNKNOWN] = {"", 0, NULL, 0, NULL, NULL, ""},
    ROW(LEDGER_EV_OP_REQUESTED, "op.requested", f_op_requested, "k", reduce_op_requested,
	REQUEST_TEXT("requested", "")),
    ROW(LEDGER_EV_OP_REFUSED, "op.refused", f_op_refused, "r", reduce_op_refused,
	"{request.kind?" REQUEST_TEXT("refused",
				      "request.") "; |refused: }guard {guard:dash}: {reason}"),
    ROW(LEDGER_EV_OP_FINISHED, "op.finished", f_op_finished, "o", reduce_op_finished,
	"finished: {outcome} in {duration_ns:dur}[, rolled back by op {rollback_op:op}][: "
	"{error}]"),
    ROW(LEDGER_EV_PHASE_STARTED, "phase.started", f_phase_started, "n", reduce_phase_started,
	"== {phase} =="),
    ROW(LEDGER_EV_PHASE_FINISHED, "phase.finished", f_phase_finished, "n", reduce_phase_finished,
	"-- {phase} {ok?ok|FAILED} in {duration_ns:dur}[: {error}]"),
    ROW(LEDGER_EV_STEP_RAN, "step.ran", f_step_ran, NULL, reduce_counters_only,
	"$ {argv:argv}  [\\[{what}\\] ]{exit_code:exit}, {duration_ns:dur}[ in {cwd}]"),
    ROW(LEDGER_EV_GIT_MOVED, "git.moved", f_git_moved, "to", reduce_git_moved,
	"git moved {from:short} -> {to:short}[ ({ref})][ in {path}][, config sha256 "
	"{config_digest:short}]"),
    ROW(LEDGER_EV_UNIT_RESTARTED, "unit.restarted", f_unit_restarted, "s", reduce_unit_restarted,
	"restarted {service} ({unit}, {runtime}): {result:dash}, {runtime?container|pid} "
	"{before:dash} -> {after:dash}, {duration_ns:dur}[, at {commit:short}]{detail:lines}"),
    ROW(LEDGER_EV_HEALTH_CHECKED, "health.checked", f_health_checked, "s", reduce_health_checked,
	"health {service} {kind} {target}: {ok?ok|{cut_short?cut short|FAILED}}, {attempts} "
	"attempt{attempts:s}, {latency_ns:dur}{detail:lines}"),
    ROW(LEDGER_EV_OWNER_CHANGED, "owner.changed", f_owner_changed, "s", reduce_owner_changed,
	"owner of {service}: {from:none} -> {to:none}[ at {commit:short}]"),
    ROW(LEDGER_EV_LOCK_BROKEN, "lock.broken", f_lock_broken, NULL, reduce_counters_only,
	"lock broken: holder pid {holder_pid} ({holder:unk}[, op {holder_op}])"),
    ROW(LEDGER_EV_SOAK_STARTED, "soak.started", f_soak_started, "n", reduce_counters_only,
	"soak '{name}' started, services {services:all}[, sampled by {unit}][, {summary}]"),
    ROW(LEDGER_EV_SOAK_STOPPED, "soak.stopped", f_soak_stopped, "n", reduce_counters_only,
	"soak '{name}' stopped, services {services:all}[: {summary}]"),
    ROW(LEDGER_EV_UNIT_OBSERVED, "unit.observed", f_unit_observed, "s", reduce_unit_observed,
	"observed {service} ({runtime}): {active_state}/{sub_state}, {restarts} restarts, pid "
	"{pid}[, container {container}][, health {health}], {memory_bytes:kib} KiB"),
    ROW(LEDGER_EV_BUILD_COMPLETED, "build.completed", f_build_completed, "c", reduce_counters_only,
	"build completed at {commit:short}[ in {path}]"),
    ROW(LEDGER_EV_QUARANTINE_LIFTED, "quarantine.lifted", f_quarantine_lifted, "c",
	reduce_quarantine_lifted, "quarantine lifted from {commit:short}[: {reason}]"),
    ROW(LEDGER_EV_SOAK_VERDICT, "soak.verdict", f_soak_verdict, "n", reduce_counters_only,
	"soak '{name}' verdict: {pass?pass|FAIL}, services {services:all}[: {reasons}]"),
    ROW(LEDGER_EV_PHASE_SLOW, "phase.slow", f_phase_slow, "n", reduce_counters_only,
	"{phase} slower than usual: {duration_ns:dur}, p95 {p95_ns:dur} (p50 {p50_ns:dur}) over "
	"the last {samples} comparable operation{samples:s}"),
    ROW(LEDGER_EV_FLEET_STARTED, "fleet.started", f_fleet_started, "k", reduce_fleet_started,
	"fleet {kind}[ {target}] over {hosts}[, flags {flags}][ ({policy})][, retries fleet op "
	"{retries:op}][, pid {pid}]"),
    ROW(LEDGER_EV_FLEET_WAVE, "fleet.wave", f_fleet_wave, "w", reduce_counters_only,
	"fleet wave {wave}: {hosts}"),
    ROW(LEDGER_EV_FLEET_HOST, "fleet.host", f_fleet_host, "h", reduce_counters_only,
	"host {host}[ wave {wave}] {action}: {outcome}[, its op {host_op}], {prev_commit:short} "
	"-> {commit:short}, {duration_ns:dur}[: {detail}]"),
    ROW(LEDGER_EV_FLEET_FINISHED, "fleet.finished", f_fleet_finished, "o", reduce_counters_only,
	"fleet finished: {outcome} in {duration_ns:dur}[ at {commit:short}][, runs {runs}][, "
	"not at the target: {failed}][: {error}]"),
};

event_apply_fn event_type_apply(enum ledger_event_type t)
{
	if ((unsigned)t >= LEDGER_EV__COUNT)
		return NULL;
	return event_types[t].apply;
}

/* ---- the schema, for readers outside the library ------------------------------------------- */

const struct ledger_field *ledger_event_fields(enum ledger_event_type t, size_t *n)
{
	if ((unsigned)t >= LEDGER_EV__COUNT) {
		*n = 0;
		return NULL;
	}
	*n = event_types[t].nfields;
	return event_types[t].fields;
}

const char *ledger_event_type_text(enum ledger_event_type t)
{
	if ((unsigned)t >= LEDGER_EV__COUNT)
		return "";
	return event_types[t].text;
}

int ledger_event_visit(const struct ledger_event *ev, ledger_field_fn fn, void *ud)
{
	const struct event_type *et;

	if ((unsigned)ev->type >= LEDGER_EV__COUNT)
		return 0;
	et = &event_types[ev->type];
	for (size_t i = 0; i < et->nfields; i++) {
		int rc = fn(&et->fields[i], ledger_event_field(ev, &et->fields[i]), ud);

		if (rc)
			return rc;
	}
	return 0;
}

/* ---- names -------------------------------------------------------------------------------- */

const char *ledger_event_type_name(enum ledger_event_type t)
{
	if ((unsigned)t >= LEDGER_EV__COUNT || t == LEDGER_EV_UNKNOWN)
		return "unknown";
	return event_types[t].name;
}

enum ledger_event_type event_type_from_bytes(const char *s, size_t n)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++)
		if (event_types[t].namelen == n && memcmp(event_types[t].name, s, n) == 0)
			return (enum ledger_event_type)t;
	return LEDGER_EV_UNKNOWN;
}

enum ledger_event_type ledger_event_type_from_name(const char *name)
{
	if (!name)
		return LEDGER_EV_UNKNOWN;
	return event_type_from_bytes(name, strlen(name));
}

static const char *const runtime_names[LEDGER_RT__COUNT] = {"native", "docker"};

const char *ledger_runtime_name(enum ledger_runtime rt)
{
	if ((unsigned)rt >= LEDGER_RT__COUNT)
		return "unknown";
	return runtime_names[rt];
}

/* The index of a name (not NUL-terminated) in a table, or LEDGER_EINVAL. */
static int name_index(const char *const *names, int count, const char *s, size_t n)
{
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return i;
	return LEDGER_EINVAL;
}

int runtime_from_bytes(const char *s, size_t n)
{
	return name_index(runtime_names, LEDGER_RT__COUNT, s, n);
}

int ledger_runtime_from_name(const char *name)
{
	if (!name)
		return LEDGER_EINVAL;
	return runtime_from_bytes(name, strlen(name));
}

static const char *const outcome_names[LEDGER_OUT__COUNT] = {
    "none", "succeeded", "failed", "rolled-back", "interrupted", "refused",
};

const char *ledger_outcome_name(enum ledger_outcome o)
{
	if ((unsigned)o >= LEDGER_OUT__COUNT)
		return "unknown";
	return outcome_names[o];
}

int outcome_from_bytes(const char *s, size_t n)
{
	return name_index(outcome_names, LEDGER_OUT__COUNT, s, n);
}

int ledger_outcome_from_name(const char *name)
{
	if (!name)
		return LEDGER_EINVAL;
	return outcome_from_bytes(name, strlen(name));
}

/* ---- field access ------------------------------------------------------------------------- */

bool ledger_field_is_zero(const struct ledger_field *f, const void *value)
{
	return field_value_is_zero(f, value);
}

static const struct ledger_field *field_find(const struct event_type *et, const char *key)
{
	for (size_t i = 0; i < et->nfields; i++)
		if (strcmp(et->fields[i].key, key) == 0)
			return &et->fields[i];
	return NULL;
}

/* Caller-side checks shared by encode and decode: required field, enum ranges, list sizes. */
int event_check_fields(const struct ledger_event *ev, char *err, size_t errlen)
{
	const struct event_type *et = &event_types[ev->type];

	for (size_t i = 0; i < et->nfields; i++) {
		const struct ledger_field *f = &et->fields[i];

		if (f->kind == F_RUNTIME &&
		    (unsigned)*CFIELD(ev, f, enum ledger_runtime) >= LEDGER_RT__COUNT) {
			errfmt(err, errlen, "%s: key '%s': invalid runtime", et->name, f->key);
			return LEDGER_EINVAL;
		}
		if (f->kind == F_OUTCOME &&
		    (unsigned)*CFIELD(ev, f, enum ledger_outcome) >= LEDGER_OUT__COUNT) {
			errfmt(err, errlen, "%s: key '%s': invalid outcome", et->name, f->key);
			return LEDGER_EINVAL;
		}
		if (f->kind == F_STRV) {
			const struct ledger_strv *sv = CFIELD(ev, f, struct ledger_strv);

			if (sv->n > LEDGER_MAX_LIST) {
				errfmt(err, errlen,
				       "%s: key '%s': %u elements, over the limit of %u", et->name,
				       f->key, sv->n, LEDGER_MAX_LIST);
				return LEDGER_ETOOBIG;
			}
			if (sv->n && !sv->v) {
				errfmt(err, errlen, "%s: key '%s': list without elements", et->name,
				       f->key);
				return LEDGER_EINVAL;
			}
		}
	}
	if (et->required) {
		const struct ledger_field *f = field_find(et, et->required);

		if (field_value_is_zero(f, ledger_event_field(ev, f))) {
			errfmt(err, errlen, "%s: missing required key '%s'", et->name,
			       et->required);
			return LEDGER_EINVAL;
		}
	}
	if (ev->type == LEDGER_EV_OP_REQUESTED) {
		const char *k = ev->u.op_requested.kind;

		if (strcmp(k, "deploy") != 0 && strcmp(k, "rollback") != 0 &&
		    strcmp(k, "cutover") != 0) {
			errfmt(
			    err, errlen,
			    "op.requested: key 'k': kind '%s' is not deploy, rollback or cutover",
			    k);
			return LEDGER_EINVAL;
		}
	}
	return 0;
}

int event_check(const struct ledger_event *ev, char *err, size_t errlen)
{
	if (!ev)
		return LEDGER_EINVAL;
	if ((unsigned)ev->type >= LEDGER_EV__COUNT || ev->type == LEDGER_EV_UNKNOWN) {
		errfmt(err, errlen, "event type %d cannot be written", (int)ev->type);
		return LEDGER_EINVAL;
	}
	if (!ev->actor || !*ev->actor) {
		errfmt(err, errlen, "%s: missing actor", event_types[ev->type].name);
		return LEDGER_EINVAL;
	}
	return event_check_fields(ev, err, errlen);
}
