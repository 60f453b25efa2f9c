/* SPDX-License-Identifier: MIT */
/*
 * event-types.c: the event type table. One row per type: wire name, the fields (short key,
 * JSON name, kind, flags, where it lives in struct ledger_event), the required-field check, the
 * reducer's apply function and the one-line text template. Encoding and decoding are driven by
 * the fields, and so are JSON export, import and the text description outside the library
 * (ledger_event_visit(), ledger_event_fields(), ledger_event_type_text()): adding a field is one
 * line here (and one in docs/events.md) plus its reducer rule.
 *
 * Wire format: a msgpack map. Envelope keys "v" (schema), "t" (type name), "ts" (ns), "op",
 * "a" (actor), always first so ledger_event_peek() can stop early; then the type's fields. Zero
 * numbers, false, empty strings and empty lists are left out: a missing key decodes as that
 * zero value, so the round trip is exact.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Shorter names for the table. */
#define F_STR LEDGER_FIELD_STR
#define F_STRV LEDGER_FIELD_STRV
#define F_U64 LEDGER_FIELD_U64
#define F_I64 LEDGER_FIELD_I64
#define F_U32 LEDGER_FIELD_U32
#define F_I32 LEDGER_FIELD_I32
#define F_BOOL LEDGER_FIELD_BOOL
#define F_RUNTIME LEDGER_FIELD_RUNTIME
#define F_OUTCOME LEDGER_FIELD_OUTCOME
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
	    EVF("pid", "pid", F_U32, fl, m.pid), EVF("tg", "targets", F_STRV, fl, m.targets)

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
};

static const struct ledger_field f_build_completed[] = {
    EVF("p", "path", F_STR, 0, build_completed.path),
    EVF("c", "commit", F_STR, 0, build_completed.commit),
};

/* The one-line descriptions (grammar: ledger_event_type_text() in ledger.h). */
#define REQUEST_TEXT(verb, R)                                                                      \
	"{" R "kind} " verb "[ {" R "mode}][ '{" R "ref!" R "mode}'] on {" R "runtime}: {" R       \
	"prev_commit:short} -> {" R "commit:short}, services {" R "services:all}[, flags {" R      \
	"flags}][, reverts op {" R "reverts}][ ({" R "reason})][, {" R "exec_mode}][, pid {" R     \
	"pid}]"

struct event_type {
	const char *name;
	size_t namelen;
	const struct ledger_field *fields;
	size_t nfields;
	const char *required; /* a field key that must be present (non-empty / non-zero) */
	event_apply_fn apply;
	const char *text;
};

#define ROW(t, n, f, req, fn, text)                                                                \
	[t] = {n, sizeof(n) - 1, f, sizeof(f) / sizeof((f)[0]), req, fn, text}

static const struct event_type types[LEDGER_EV__COUNT] = {
    [LEDGER_EV_UNKNOWN] = {"", 0, NULL, 0, NULL, NULL, ""},
    ROW(LEDGER_EV_OP_REQUESTED, "op.requested", f_op_requested, "k", reduce_op_requested,
	REQUEST_TEXT("requested", "")),
    ROW(LEDGER_EV_OP_REFUSED, "op.refused", f_op_refused, "r", reduce_op_refused,
	"{request.kind?" REQUEST_TEXT("refused",
				      "request.") "; |refused: }guard {guard:dash}: {reason}"),
    ROW(LEDGER_EV_OP_FINISHED, "op.finished", f_op_finished, "o", reduce_op_finished,
	"finished: {outcome} in {duration_ns:dur}[, rolled back by op {rollback_op}][: {error}]"),
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
	"owner of {service}: {from:none} -> {to:none}"),
    ROW(LEDGER_EV_LOCK_BROKEN, "lock.broken", f_lock_broken, NULL, reduce_counters_only,
	"lock broken: holder pid {holder_pid} ({holder:unk}[, op {holder_op}])"),
    ROW(LEDGER_EV_SOAK_STARTED, "soak.started", f_soak_started, "n", reduce_counters_only,
	"soak '{name}' started, services {services:all}"),
    ROW(LEDGER_EV_SOAK_STOPPED, "soak.stopped", f_soak_stopped, "n", reduce_counters_only,
	"soak '{name}' stopped, services {services:all}[: {summary}]"),
    ROW(LEDGER_EV_UNIT_OBSERVED, "unit.observed", f_unit_observed, "s", reduce_unit_observed,
	"observed {service} ({runtime}): {active_state}/{sub_state}, {restarts} restarts, pid "
	"{pid}, {memory_bytes:kib} KiB"),
    ROW(LEDGER_EV_BUILD_COMPLETED, "build.completed", f_build_completed, "c", reduce_counters_only,
	"build completed at {commit:short}[ in {path}]"),
};

event_apply_fn event_type_apply(enum ledger_event_type t)
{
	if ((unsigned)t >= LEDGER_EV__COUNT)
		return NULL;
	return types[t].apply;
}

/* ---- the schema, for readers outside the library ------------------------------------------- */

const struct ledger_field *ledger_event_fields(enum ledger_event_type t, size_t *n)
{
	if ((unsigned)t >= LEDGER_EV__COUNT) {
		*n = 0;
		return NULL;
	}
	*n = types[t].nfields;
	return types[t].fields;
}

const char *ledger_event_type_text(enum ledger_event_type t)
{
	if ((unsigned)t >= LEDGER_EV__COUNT)
		return "";
	return types[t].text;
}

int ledger_event_visit(const struct ledger_event *ev, ledger_field_fn fn, void *ud)
{
	const struct event_type *et;

	if ((unsigned)ev->type >= LEDGER_EV__COUNT)
		return 0;
	et = &types[ev->type];
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
	return types[t].name;
}

static enum ledger_event_type type_from_bytes(const char *s, size_t n)
{
	for (int t = 1; t < LEDGER_EV__COUNT; t++)
		if (types[t].namelen == n && memcmp(types[t].name, s, n) == 0)
			return (enum ledger_event_type)t;
	return LEDGER_EV_UNKNOWN;
}

enum ledger_event_type ledger_event_type_from_name(const char *name)
{
	if (!name)
		return LEDGER_EV_UNKNOWN;
	return type_from_bytes(name, strlen(name));
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

static int runtime_from_bytes(const char *s, size_t n)
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

static int outcome_from_bytes(const char *s, size_t n)
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

typedef const char *cstr;

#define FIELD(ev, f, type) ((type *)((char *)(ev) + (f)->offset))
#define CFIELD(ev, f, type) ((const type *)((const char *)(ev) + (f)->offset))

bool ledger_field_is_zero(const struct ledger_field *f, const void *value)
{
	switch (f->kind) {
	case F_STR: {
		const char *str = *(const cstr *)value;
		return !str || !*str;
	}
	case F_STRV:
		return ((const struct ledger_strv *)value)->n == 0;
	case F_U64:
		return *(const uint64_t *)value == 0;
	case F_I64:
		return *(const int64_t *)value == 0;
	case F_U32:
		return *(const uint32_t *)value == 0;
	case F_I32:
		return *(const int32_t *)value == 0;
	case F_BOOL:
		return !*(const bool *)value;
	case F_RUNTIME:
		return *(const enum ledger_runtime *)value == LEDGER_RT_NATIVE;
	case F_OUTCOME:
		return *(const enum ledger_outcome *)value == LEDGER_OUT_NONE;
	}
	return true;
}

static bool field_is_zero(const struct ledger_event *ev, const struct ledger_field *f)
{
	return ledger_field_is_zero(f, ledger_event_field(ev, f));
}

static const struct ledger_field *field_find(const struct event_type *et, const char *key)
{
	for (size_t i = 0; i < et->nfields; i++)
		if (strcmp(et->fields[i].key, key) == 0)
			return &et->fields[i];
	return NULL;
}

/* Caller-side checks shared by encode and decode: required field, enum ranges, list sizes. */
static int event_check_fields(const struct ledger_event *ev, char *err, size_t errlen)
{
	const struct event_type *et = &types[ev->type];

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
	if (et->required && field_is_zero(ev, field_find(et, et->required))) {
		errfmt(err, errlen, "%s: missing required key '%s'", et->name, et->required);
		return LEDGER_EINVAL;
	}
	if (ev->type == LEDGER_EV_OP_REQUESTED) {
		const char *k = ev->u.op_requested.kind;

		if (strcmp(k, "deploy") != 0 && strcmp(k, "rollback") != 0) {
			errfmt(err, errlen,
			       "op.requested: key 'k': kind '%s' is not deploy or rollback", k);
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
		errfmt(err, errlen, "%s: missing actor", types[ev->type].name);
		return LEDGER_EINVAL;
	}
	return event_check_fields(ev, err, errlen);
}

/* ---- encode ------------------------------------------------------------------------------- */

static void pack_key(msgpack_packer *pk, const char *k)
{
	size_t n = strlen(k);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, k, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	msgpack_pack_str(pk, n);
	if (n)
		msgpack_pack_str_body(pk, s, n);
}

static void pack_field(msgpack_packer *pk, const struct ledger_event *ev,
		       const struct ledger_field *f)
{
	pack_key(pk, f->key);
	switch (f->kind) {
	case F_STR:
		pack_cstr(pk, *CFIELD(ev, f, cstr));
		break;
	case F_STRV: {
		const struct ledger_strv *sv = CFIELD(ev, f, struct ledger_strv);

		msgpack_pack_array(pk, sv->n);
		for (uint32_t i = 0; i < sv->n; i++)
			pack_cstr(pk, sv->v[i]);
		break;
	}
	case F_U64:
		msgpack_pack_uint64(pk, *CFIELD(ev, f, uint64_t));
		break;
	case F_I64:
		msgpack_pack_int64(pk, *CFIELD(ev, f, int64_t));
		break;
	case F_U32:
		msgpack_pack_uint32(pk, *CFIELD(ev, f, uint32_t));
		break;
	case F_I32:
		msgpack_pack_int32(pk, *CFIELD(ev, f, int32_t));
		break;
	case F_BOOL:
		if (*CFIELD(ev, f, bool))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case F_RUNTIME:
		pack_cstr(pk, ledger_runtime_name(*CFIELD(ev, f, enum ledger_runtime)));
		break;
	case F_OUTCOME:
		pack_cstr(pk, ledger_outcome_name(*CFIELD(ev, f, enum ledger_outcome)));
		break;
	}
}

int ledger_event_encode(const struct ledger_event *ev, uint8_t **out, size_t *out_len)
{
	const struct event_type *et;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = 5;
	int rc;

	if (!out || !out_len)
		return LEDGER_EINVAL;
	rc = event_check(ev, NULL, 0);
	if (rc < 0)
		return rc;
	et = &types[ev->type];
	for (size_t i = 0; i < et->nfields; i++)
		n += !field_is_zero(ev, &et->fields[i]);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	pack_key(&pk, "v");
	msgpack_pack_uint32(&pk, LEDGER_SCHEMA_VERSION);
	pack_key(&pk, "t");
	pack_cstr(&pk, et->name);
	pack_key(&pk, "ts");
	msgpack_pack_int64(&pk, ev->time_ns);
	pack_key(&pk, "op");
	msgpack_pack_uint64(&pk, ev->op);
	pack_key(&pk, "a");
	pack_cstr(&pk, ev->actor);
	for (size_t i = 0; i < et->nfields; i++)
		if (!field_is_zero(ev, &et->fields[i]))
			pack_field(&pk, ev, &et->fields[i]);

	/* msgpack_sbuffer_write returns -1 on allocation failure, and the packer ignores it:
	 * a short buffer shows as no data. */
	if (!sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	if (sb.size > LEDGER_EVENT_MAX_BYTES) {
		msgpack_sbuffer_destroy(&sb);
		return LEDGER_ETOOBIG;
	}
	*out_len = sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&sb);
	return 0;
}

/* ---- decode ------------------------------------------------------------------------------- */

static const char empty[] = "";

static int decode_field(struct mp_rd *r, struct ledger_event *ev, const struct ledger_field *f,
			struct arena *a, const char *tname, char *err, size_t errlen)
{
	const char *s;
	uint32_t n;
	uint64_t u;
	int64_t i;
	int rc;

	if (mp_is_nil(r)) {
		/* nil is the zero value of any field */
		mp_read_nil(r);
		if (f->kind == F_STR)
			*FIELD(ev, f, const char *) = empty;
		return 0;
	}
	switch (f->kind) {
	case F_STR:
		rc = mp_read_str(r, &s, &n);
		if (rc < 0)
			goto type;
		s = arena_strndup(a, s, n);
		if (!s)
			return -ENOMEM;
		*FIELD(ev, f, const char *) = s;
		return 0;
	case F_STRV: {
		struct ledger_strv *sv = FIELD(ev, f, struct ledger_strv);
		const char **v;

		rc = mp_read_array(r, &n);
		if (rc < 0)
			goto type;
		if (n > LEDGER_MAX_LIST) {
			errfmt(err, errlen, "%s: key '%s': %u elements, over the limit of %u",
			       tname, f->key, n, LEDGER_MAX_LIST);
			return LEDGER_ETOOBIG;
		}
		v = arena_alloc(a, (n ? n : 1) * sizeof(*v), sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (uint32_t k = 0; k < n; k++) {
			const char *e;
			uint32_t en;

			if (mp_read_str(r, &e, &en) < 0) {
				errfmt(err, errlen, "%s: key '%s': element %u is not a string",
				       tname, f->key, k);
				return LEDGER_ECORRUPT;
			}
			v[k] = arena_strndup(a, e, en);
			if (!v[k])
				return -ENOMEM;
		}
		sv->n = n;
		sv->v = v;
		return 0;
	}
	case F_U64:
		rc = mp_read_u64(r, &u);
		if (rc < 0)
			goto type;
		*FIELD(ev, f, uint64_t) = u;
		return 0;
	case F_U32:
		rc = mp_read_u64(r, &u);
		if (rc == 0 && u > UINT32_MAX)
			rc = -ERANGE;
		if (rc < 0)
			goto type;
		*FIELD(ev, f, uint32_t) = (uint32_t)u;
		return 0;
	case F_I64:
		rc = mp_read_i64(r, &i);
		if (rc < 0)
			goto type;
		*FIELD(ev, f, int64_t) = i;
		return 0;
	case F_I32:
		rc = mp_read_i64(r, &i);
		if (rc == 0 && (i < INT32_MIN || i > INT32_MAX))
			rc = -ERANGE;
		if (rc < 0)
			goto type;
		*FIELD(ev, f, int32_t) = (int32_t)i;
		return 0;
	case F_BOOL:
		rc = mp_read_bool(r, FIELD(ev, f, bool));
		if (rc < 0)
			goto type;
		return 0;
	case F_RUNTIME:
	case F_OUTCOME:
		rc = mp_read_str(r, &s, &n);
		if (rc < 0)
			goto type;
		rc = f->kind == F_RUNTIME ? runtime_from_bytes(s, n) : outcome_from_bytes(s, n);
		if (rc < 0 || (f->kind == F_OUTCOME && rc == LEDGER_OUT_NONE)) {
			errfmt(err, errlen, "%s: key '%s': unknown %s '%.*s'", tname, f->key,
			       f->kind == F_RUNTIME ? "runtime" : "outcome", (int)(n > 32 ? 32 : n),
			       s);
			return LEDGER_ECORRUPT;
		}
		if (f->kind == F_RUNTIME)
			*FIELD(ev, f, enum ledger_runtime) = (enum ledger_runtime)rc;
		else
			*FIELD(ev, f, enum ledger_outcome) = (enum ledger_outcome)rc;
		return 0;
	}
	return 0;

type:
	if (rc == LEDGER_ECORRUPT) {
		errfmt(err, errlen, "%s: key '%s': malformed value", tname, f->key);
		return rc;
	}
	errfmt(err, errlen, "%s: key '%s': %s", tname, f->key,
	       rc == -ERANGE	      ? "integer out of range"
	       : f->kind == F_STR     ? "expected a string"
	       : f->kind == F_STRV    ? "expected a list of strings"
	       : f->kind == F_BOOL    ? "expected a boolean"
	       : f->kind == F_RUNTIME ? "expected a runtime name"
	       : f->kind == F_OUTCOME ? "expected an outcome name"
				      : "expected an integer");
	return LEDGER_ECORRUPT;
}

/* Every string field of the type set to "" so that callers can print any of them. */
static void event_fill_defaults(struct ledger_event *ev)
{
	const struct event_type *et = &types[ev->type];

	ev->actor = empty;
	if (!ev->type_name)
		ev->type_name = empty;
	for (size_t i = 0; i < et->nfields; i++)
		if (et->fields[i].kind == F_STR)
			*FIELD(ev, &et->fields[i], const char *) = empty;
}

/* An envelope key: 0 handled, 1 not an envelope key, < 0 error. */
static int decode_envelope(struct mp_rd *r, struct ledger_event *ev, const char *k, uint32_t klen,
			   struct arena *a, const char **tname, uint32_t *tlen, char *err,
			   size_t errlen)
{
	uint64_t u;

	if (klen > 2)
		return 1;
	if (mp_key_is(k, klen, "v")) {
		if (mp_read_u64(r, &u) < 0 || u == 0 || u > UINT32_MAX) {
			errfmt(err, errlen, "key 'v': expected a schema version");
			return LEDGER_ECORRUPT;
		}
		if (u > LEDGER_SCHEMA_VERSION) {
			errfmt(err, errlen, "schema version %llu is newer than %d",
			       (unsigned long long)u, LEDGER_SCHEMA_VERSION);
			return LEDGER_ESCHEMA;
		}
		ev->version = (uint32_t)u;
	} else if (mp_key_is(k, klen, "t")) {
		if (mp_read_str(r, tname, tlen) < 0 || *tlen == 0) {
			errfmt(err, errlen, "key 't': expected a type name");
			return LEDGER_ECORRUPT;
		}
	} else if (mp_key_is(k, klen, "ts")) {
		if (mp_read_i64(r, &ev->time_ns) < 0) {
			errfmt(err, errlen, "key 'ts': expected an integer");
			return LEDGER_ECORRUPT;
		}
	} else if (mp_key_is(k, klen, "op")) {
		if (mp_read_u64(r, &ev->op) < 0) {
			errfmt(err, errlen, "key 'op': expected an unsigned integer");
			return LEDGER_ECORRUPT;
		}
	} else if (mp_key_is(k, klen, "a")) {
		const char *s;
		uint32_t n;

		if (mp_read_str(r, &s, &n) < 0) {
			errfmt(err, errlen, "key 'a': expected a string");
			return LEDGER_ECORRUPT;
		}
		ev->actor = arena_strndup(a, s, n);
		if (!ev->actor)
			return -ENOMEM;
	} else {
		return 1;
	}
	return 0;
}

/* Once the type is known: its name copied, every string field "". */
static int decode_set_type(struct ledger_event *ev, const char *tname, uint32_t tlen,
			   struct arena *a)
{
	const char *actor = ev->actor;

	ev->type = type_from_bytes(tname, tlen);
	ev->type_name = arena_strndup(a, tname, tlen);
	if (!ev->type_name)
		return -ENOMEM;
	event_fill_defaults(ev);
	if (actor)
		ev->actor = actor;
	return 0;
}

/* Skips a value inside the event's map: one level is the map itself. */
static int skip_value(struct mp_rd *r, char *err, size_t errlen)
{
	int rc = mp_skip(r, LEDGER_MAX_DEPTH - 1);

	if (rc == LEDGER_ETOOBIG) {
		errfmt(err, errlen, "nested deeper than %d levels", LEDGER_MAX_DEPTH);
		return rc;
	}
	if (rc < 0) {
		errfmt(err, errlen, "malformed or truncated msgpack");
		return LEDGER_ECORRUPT;
	}
	return 0;
}

static int decode_type_field(struct mp_rd *r, struct ledger_event *ev, const char *k, uint32_t klen,
			     struct arena *a, char *err, size_t errlen)
{
	const struct event_type *et = &types[ev->type];

	for (size_t j = 0; j < et->nfields; j++) {
		const struct ledger_field *f = &et->fields[j];

		if (f->keylen == klen && memcmp(f->key, k, klen) == 0)
			return decode_field(r, ev, f, a, et->name, err, errlen);
	}
	return skip_value(r, err, errlen);
}

int event_decode_into(const uint8_t *buf, size_t len, struct ledger_event *ev, struct arena *a,
		      char *err, size_t errlen)
{
	struct mp_rd r = {buf, buf + len};
	const char *tname = NULL, *k;
	uint32_t tlen = 0, nkeys, klen;
	bool typed = false, rescan = false;
	int rc;

	memset(ev, 0, sizeof(*ev));
	/* No separate validating walk: every read below is bounds-checked (a declared length or
	 * count never exceeds the bytes left), lists are capped before anything is allocated,
	 * skipped values are depth-limited, and the trailing-bytes check closes the loop. */
	if (len > LEDGER_EVENT_MAX_BYTES) {
		errfmt(err, errlen, "%zu bytes, over the limit of %u", len, LEDGER_EVENT_MAX_BYTES);
		return LEDGER_ETOOBIG;
	}
	if (mp_read_map(&r, &nkeys) < 0) {
		errfmt(err, errlen, "an event is a map");
		return LEDGER_ECORRUPT;
	}

	/* One pass when the type comes before its fields (as this encoder writes it); a field
	 * met before "t" sends us round a second time. */
	for (uint32_t i = 0; i < nkeys; i++) {
		if (mp_read_str(&r, &k, &klen) < 0) {
			errfmt(err, errlen, "map key %u is not a string", i);
			return LEDGER_ECORRUPT;
		}
		rc = decode_envelope(&r, ev, k, klen, a, &tname, &tlen, err, errlen);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (tname && !typed) {
				rc = decode_set_type(ev, tname, tlen, a);
				if (rc < 0)
					return rc;
				typed = true;
			}
			continue;
		}
		if (!typed) {
			rescan = true;
			rc = skip_value(&r, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		if (ev->type == LEDGER_EV_UNKNOWN) {
			rc = skip_value(&r, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = decode_type_field(&r, ev, k, klen, a, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (r.p != r.end) {
		errfmt(err, errlen, "%zu trailing bytes after the event", (size_t)(r.end - r.p));
		return LEDGER_ECORRUPT;
	}
	if (!ev->version || !typed) {
		errfmt(err, errlen, "missing key '%s'", ev->version ? "t" : "v");
		return LEDGER_ECORRUPT;
	}
	if (ev->type == LEDGER_EV_UNKNOWN)
		return 0; /* kept as it is: the envelope is all we know */

	if (rescan) {
		r.p = buf;
		mp_read_map(&r, &nkeys);
		for (uint32_t i = 0; i < nkeys; i++) {
			const char *t2;
			uint32_t t2len;
			struct ledger_event scratch;

			mp_read_str(&r, &k, &klen);
			if (klen <= 2 && (mp_key_is(k, klen, "v") || mp_key_is(k, klen, "t") ||
					  mp_key_is(k, klen, "ts") || mp_key_is(k, klen, "op") ||
					  mp_key_is(k, klen, "a"))) {
				/* decoded already: read again into a scratch event to pass it */
				memset(&scratch, 0, sizeof(scratch));
				rc = decode_envelope(&r, &scratch, k, klen, a, &t2, &t2len, err,
						     errlen);
				if (rc < 0)
					return rc;
				continue;
			}
			rc = decode_type_field(&r, ev, k, klen, a, err, errlen);
			if (rc < 0)
				return rc;
		}
	}
	rc = event_check_fields(ev, err, errlen);
	if (rc < 0)
		return rc == LEDGER_EINVAL ? LEDGER_ECORRUPT : rc;
	return 0;
}

int ledger_event_decode(const uint8_t *buf, size_t len, struct ledger_event *ev, char *errbuf,
			size_t errlen)
{
	struct arena *a;
	int rc;

	if (!ev)
		return LEDGER_EINVAL;
	memset(ev, 0, sizeof(*ev));
	if (!buf && len)
		return LEDGER_EINVAL;
	if (len > LEDGER_EVENT_MAX_BYTES) {
		errfmt(errbuf, errlen, "%zu bytes, over the limit of %u", len,
		       LEDGER_EVENT_MAX_BYTES);
		return LEDGER_ETOOBIG;
	}
	a = arena_new(len + 128);
	if (!a)
		return -ENOMEM;
	rc = event_decode_into(buf, len, ev, a, errbuf, errlen);
	if (rc < 0) {
		arena_free(a);
		memset(ev, 0, sizeof(*ev));
		return rc;
	}
	ev->_arena = a;
	return 0;
}

void ledger_event_release(struct ledger_event *ev)
{
	if (!ev)
		return;
	arena_free(ev->_arena);
	memset(ev, 0, sizeof(*ev));
}

int ledger_event_peek(const uint8_t *buf, size_t len, enum ledger_event_type *type, uint64_t *op,
		      int64_t *time_ns)
{
	struct mp_rd r = {buf, buf + len};
	uint32_t nkeys, klen;
	const char *k;
	int found = 0;
	bool have_t = false;

	if (!buf || len == 0)
		return LEDGER_ECORRUPT;
	if (len > LEDGER_EVENT_MAX_BYTES)
		return LEDGER_ETOOBIG;
	if (mp_read_map(&r, &nkeys) < 0)
		return LEDGER_ECORRUPT;
	if (type)
		*type = LEDGER_EV_UNKNOWN;
	if (op)
		*op = 0;
	if (time_ns)
		*time_ns = 0;
	for (uint32_t i = 0; i < nkeys && found < 3; i++) {
		if (mp_read_str(&r, &k, &klen) < 0)
			return LEDGER_ECORRUPT;
		if (mp_key_is(k, klen, "t")) {
			const char *s;
			uint32_t n;

			if (mp_read_str(&r, &s, &n) < 0)
				return LEDGER_ECORRUPT;
			if (type)
				*type = type_from_bytes(s, n);
			have_t = true;
			found++;
		} else if (mp_key_is(k, klen, "op")) {
			uint64_t u;

			if (mp_read_u64(&r, &u) < 0)
				return LEDGER_ECORRUPT;
			if (op)
				*op = u;
			found++;
		} else if (mp_key_is(k, klen, "ts")) {
			int64_t t;

			if (mp_read_i64(&r, &t) < 0)
				return LEDGER_ECORRUPT;
			if (time_ns)
				*time_ns = t;
			found++;
		} else if (mp_skip(&r, LEDGER_MAX_DEPTH) < 0) {
			return LEDGER_ECORRUPT;
		}
	}
	return have_t ? 0 : LEDGER_ECORRUPT;
}
