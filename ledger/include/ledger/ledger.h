/* SPDX-License-Identifier: MIT */
/*
 * ledger.h: shiplog's event-sourced deploy ledger. The one public header.
 *
 * A ledger is an LMDB environment in one directory (mode 0700, files 0600) with three named
 * databases:
 *   events     big-endian u64 sequence -> one msgpack event (appended with MDB_APPEND)
 *   snapshots  big-endian u64 sequence -> msgpack reducer state after that event
 *   meta       "schema" -> u32, "project" -> string
 *
 * Every function returns 0 or a negative code: a LEDGER_E* value below, or -errno. Turn any of
 * them into text with ledger_strerror(); ledger_errmsg() gives the detail of the last failure on a
 * handle ("event 42: map key 'type' is not a string"). The library never prints, exits or keeps
 * global state, with one documented exception: LMDB forbids opening one environment twice in a
 * process, so ledger_open() keeps a process-wide registry of open paths and refuses a second open
 * of the same path with -EBUSY.
 *
 * Strings handed out inside events and states are owned by the object they come from and live
 * until it is released; copy them to keep them.
 */
#ifndef LEDGER_LEDGER_H
#define LEDGER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------------------------ */

enum {
	LEDGER_ENOTFOUND = -10001, /* no such ledger, event, operation or snapshot */
	LEDGER_ECORRUPT = -10002,  /* bytes that do not decode as an event or state */
	LEDGER_ETOOBIG = -10003,   /* an event or field over the codec's limits */
	LEDGER_ESCHEMA = -10004,   /* the ledger's schema version is newer than this library */
	LEDGER_EINVAL = -10005, /* a caller error: bad argument, event missing a required field */
	LEDGER_ESTORE = -10006, /* LMDB failed; ledger_errmsg() has LMDB's text */
	LEDGER_EGAP = -10007,	/* verify: sequence not contiguous */
	LEDGER_EMISMATCH = -10008, /* verify: a snapshot differs from the replay at its point */
	LEDGER_EFULL = -10009,	   /* the reducer's fixed tables are full (services, quarantine) */
};

/* Text for a LEDGER_E* code or a -errno. Never NULL, never needs freeing. */
const char *ledger_strerror(int code);

/* ---- limits ------------------------------------------------------------------------------ */

#define LEDGER_SCHEMA_VERSION 1
#define LEDGER_EVENT_MAX_BYTES (1u << 20) /* one encoded event */
#define LEDGER_MAX_DEPTH 8		  /* msgpack nesting */
#define LEDGER_MAX_LIST 256		  /* elements of one list field (argv, services) */
/* Services of one project: the config, the reducer and every per-service table use this one limit.
 */
#define LEDGER_MAX_SERVICES 64
#define LEDGER_NAME_MAX 64	 /* service / runtime / phase names incl. NUL */
#define LEDGER_COMMIT_MAX 65	 /* hex sha1 or sha256 incl. NUL */
#define LEDGER_GOOD_DEPTH 8	 /* remembered good commits per runtime and service */
#define LEDGER_MAX_QUARANTINE 32 /* quarantined commits kept (oldest dropped) */
#define LEDGER_DEFAULT_SNAPSHOT_EVERY 1000

/* ---- events ------------------------------------------------------------------------------ */

enum ledger_event_type {
	LEDGER_EV_UNKNOWN = 0, /* a type this library does not know: kept, shown, not applied */
	LEDGER_EV_OP_REQUESTED,
	LEDGER_EV_OP_REFUSED,
	LEDGER_EV_OP_FINISHED,
	LEDGER_EV_PHASE_STARTED,
	LEDGER_EV_PHASE_FINISHED,
	LEDGER_EV_STEP_RAN,
	LEDGER_EV_GIT_MOVED,
	LEDGER_EV_UNIT_RESTARTED,
	LEDGER_EV_HEALTH_CHECKED,
	LEDGER_EV_OWNER_CHANGED,
	LEDGER_EV_LOCK_BROKEN,
	LEDGER_EV_SOAK_STARTED,
	LEDGER_EV_SOAK_STOPPED,
	LEDGER_EV_UNIT_OBSERVED,
	LEDGER_EV_BUILD_COMPLETED,
	LEDGER_EV_QUARANTINE_LIFTED,
	LEDGER_EV_SOAK_VERDICT,
	LEDGER_EV_PHASE_SLOW,
	LEDGER_EV_FLEET_STARTED,
	LEDGER_EV_FLEET_WAVE,
	LEDGER_EV_FLEET_HOST,
	LEDGER_EV_FLEET_FINISHED,
	LEDGER_EV__COUNT
};

/* Wire names ("op.requested", ...). ledger_event_type_from_name() returns LEDGER_EV_UNKNOWN for
 * names it does not know. */
const char *ledger_event_type_name(enum ledger_event_type t);
enum ledger_event_type ledger_event_type_from_name(const char *name);

enum ledger_runtime { LEDGER_RT_NATIVE = 0, LEDGER_RT_DOCKER = 1, LEDGER_RT__COUNT };
const char *ledger_runtime_name(enum ledger_runtime rt); /* "native" | "docker" */
int ledger_runtime_from_name(const char *name);		 /* >= 0, or LEDGER_EINVAL */

/* Outcomes of op.finished. */
enum ledger_outcome {
	LEDGER_OUT_NONE = 0, /* still running (only in derived views) */
	LEDGER_OUT_SUCCEEDED,
	LEDGER_OUT_FAILED,
	LEDGER_OUT_ROLLED_BACK,
	LEDGER_OUT_INTERRUPTED,
	LEDGER_OUT_REFUSED,
	LEDGER_OUT__COUNT
};
const char *ledger_outcome_name(enum ledger_outcome o); /* "succeeded", "rolled-back", ... */
int ledger_outcome_from_name(const char *name);		/* >= 0, or LEDGER_EINVAL */

struct ledger_strv {
	uint32_t n;
	const char **v;
};

/* op.requested: the intent of a deploy or rollback, durable before its first side effect.
 * The operation id of every later event of the operation is this event's sequence. */
struct ledger_op_requested {
	const char *kind; /* "deploy" | "rollback" | "cutover" */
	const char *mode; /* deploy: "main" | "branch" | "ref" | "current-branch"; rollback: "to" |
			     "last-good" | "auto" */
	const char *ref;  /* what the operator named: branch, ref, rollback target text */
	const char *commit; /* resolved target commit, "" when not known yet (then see git.moved) */
	const char *prev_commit; /* checkout commit before the operation, "" when unknown */
	enum ledger_runtime runtime;
	struct ledger_strv services; /* the effective scope, service names */
	struct ledger_strv flags;    /* "fast", "no-build", "dry-run", "force", "edge-ready", ... */
	const char *exec_mode;	     /* "local" | "ssh" */
	const char *config_digest;   /* hex digest of the config file bytes */
	uint64_t reverts;	     /* rollback: the operation it reverts, 0 if none */
	const char *reason;	     /* rollback: "auto" | "manual"; deploy: "" */
	uint32_t pid;		     /* the process that runs the operation */
	struct ledger_strv targets;  /* rollback: "service=commit", where each service goes (the
				      * resolved target, whatever the operator named); empty in
				      * ledgers written before it existed */
	uint64_t number;	 /* the operation's number: 1, 2, 3 ... in the ledger (operations
				  * and standalone refusals counted in order). ledger_append()
				  * assigns it when 0; older ledgers lack it (the reducer counts) */
	struct ledger_strv from; /* rollback: "service=commit", what each service it moves ran
				  * before (the commits it rolls away from, quarantined when it
				  * succeeds); empty when nothing moves and in older ledgers */
};

/* op.refused: a guard said no. Either standalone (op == seq; the request fields are filled) or
 * terminal for an already requested operation (op < seq). Terminal either way. */
struct ledger_op_refused {
	struct ledger_op_requested req; /* standalone: the request; else zero/empty */
	const char *guard;  /* "edge", "dirty-tree", "lock", "unit-missing", "quarantine", ... */
	const char *reason; /* the message shown to the operator */
};

struct ledger_op_finished {
	enum ledger_outcome outcome;
	const char *error; /* "" on success */
	int64_t duration_ns;
	uint64_t rollback_op; /* rolled-back: the operation that rolled it back, else 0 */
};

struct ledger_phase {
	const char *name; /* "precheck", "publish", "rollout", "verify", "public-verify" */
	/* phase.finished only: */
	int64_t duration_ns;
	bool ok;
	const char *error;
};

struct ledger_step_ran {
	struct ledger_strv argv;
	const char *cwd;
	int32_t exit_code; /* -1 when it could not be spawned, 128+n when killed by signal n */
	int64_t duration_ns;
	const char *what;   /* short label: "build", "fetch", "reload", "checkout", ... */
	const char *output; /* the last lines of its output (at most 20 lines, 2 KiB, values of
			     * the environment redacted), "" when not kept */
};

struct ledger_git_moved {
	const char *from;
	const char *to;
	const char *ref;  /* branch or ref name the checkout is now on ("" when detached) */
	const char *path; /* checkout or release directory */
	const char *config_digest; /* sha256 of the shiplog.conf in `to` that the operation applied
				    * ("" when the config is not in the checkout) */
};

struct ledger_unit_restarted {
	const char *service;
	enum ledger_runtime runtime;
	const char *unit;   /* unit name, or compose service / container name */
	const char *result; /* JobRemoved result ("done", "failed", ...) or "recreated" */
	int64_t duration_ns;
	const char *before; /* main pid (decimal) or container id before */
	const char *after;  /* ... and after */
	const char *commit; /* the commit the service runs from now on */
	const char *detail; /* a failed restart: Result, exit status and the unit's last
			     * lines of that invocation, one per line (bounded) */
	const char *env;    /* hex SHA-256 of the service's configured environment (file paths,
			     * names and values; never the values themselves), "" when unknown */
};

struct ledger_health_checked {
	const char *service;
	enum ledger_runtime runtime;
	const char *kind; /* "unit", "container", "http-get", "http-head", "tcp", "cmd", "public" */
	const char *target;
	bool ok;
	uint32_t attempts;
	int64_t latency_ns;
	const char *detail; /* status line, body excerpt, error text */
	bool cut_short;	    /* stopped early: another check of the verify had failed first */
};

struct ledger_owner_changed {
	const char *service;
	const char *from;   /* runtime name or "" */
	const char *to;	    /* runtime name or "" (stopped) */
	const char *commit; /* the commit `to` runs, verified: written by a cut-over that
			     * succeeded; "" for a stop, a failed cut-over's put-back, a take-over
			     * and in older ledgers. One with it sets the state's owner_op */
};

struct ledger_lock_broken {
	uint32_t holder_pid;
	const char *holder; /* user@host */
	uint64_t holder_op;
};

struct ledger_soak {
	const char *name; /* soak window name */
	struct ledger_strv services;
	/* soak.stopped: what the window saw; soak.started: how a sampler without a unit runs
	 * ("sampled by a detached process ..."), else "" */
	const char *summary;
	/* soak.started only ("" / empty in ledgers written before the sampler was a unit): */
	const char *unit;	     /* the sampler's transient systemd unit */
	struct ledger_strv argv;     /* what that unit runs */
	struct ledger_strv runtimes; /* "service=runtime": where each service was sampled */
};

struct ledger_unit_observed {
	const char *service;
	enum ledger_runtime runtime;
	const char *active_state;
	const char *sub_state;
	uint32_t restarts;
	uint32_t pid;
	uint64_t memory_bytes;
	const char *health;    /* docker: the container's health status ("" without a check) */
	const char *container; /* docker: the container id (12 hex digits) */
	/* When the running process started, as the runtime says (ns since the epoch; 0 unknown):
	 * systemd's ExecMainStartTimestamp, docker's State.StartedAt. A restart or new pid that a
	 * sample shows happened then, not when it was sampled. */
	int64_t started_ns;
};

/* soak.verdict: `soak report` judged a soak window against the [soak] thresholds. Outside any
 * operation (op 0). */
struct ledger_soak_verdict {
	const char *name;	     /* the soak window */
	bool pass;		     /* every service passed */
	struct ledger_strv services; /* "service=pass" | "service=fail" */
	struct ledger_strv reasons;  /* "service: 3 restarts (at most 0)", one per failed check;
				      * and one per service whose samples an operation's span held
				      * ("service: set aside during operation 3 (deploy): ..."),
				      * which is not a failed check */
	struct ledger_strv compare;  /* "service: native 12.0 restarts/h, ... vs docker ...": the
				      * same service's previous window on the other runtime */
};

/* build.completed: every shared build command of a deploy or rollback exited 0 in path, at
 * commit. The build decision compares a target with the newest of these for its path; a build
 * that was interrupted or failed writes none, so it counts as no build. */
struct ledger_build_completed {
	const char *path;   /* the checkout (or release directory) that was built */
	const char *commit; /* the commit its files were at */
};

/* quarantine.lifted: an operator took a commit out of the quarantine (`shiplog quarantine lift`):
 * deploys of it are no longer refused. Outside any operation (op 0). */
struct ledger_quarantine_lifted {
	const char *commit; /* the full commit */
	const char *reason; /* what the operator said, "" when nothing */
};

/* phase.slow: a phase of this operation took longer than the p95 of the same phase over the
 * last comparable operations (same kind, runtime and scope, succeeded). Appended at the end of
 * the operation, before op.finished; changes no state. */
struct ledger_phase_slow {
	const char *name;    /* the phase */
	int64_t duration_ns; /* what it took this time */
	int64_t p50_ns;	     /* the comparable operations' p50 ... */
	int64_t p95_ns;	     /* ... and p95 of that phase */
	uint32_t samples;    /* how many comparable operations had that phase */
};

/* The fleet events: a fleet operation on the controller, which runs each host's own shiplog
 * (whose ledger stays authoritative for that host). Their op is fleet.started's sequence; they
 * change no state (a fleet operation is not one of this ledger's deploys). */

/* fleet.started: the intent, durable before the first host is touched. One that carries its
 * number is an operation of this ledger like a deploy: counted in counters.ops (and fleet_ops),
 * listed by ledger_history (with the filter's fleet set), found by ledger_op_number and
 * ledger_op_events; fleet.finished is its terminal event. Earlier ones (no number) are not. */
struct ledger_fleet_started {
	const char *kind;	   /* "deploy" | "rollback" */
	struct ledger_strv target; /* what to deploy as given ("main"; "branch", "x"; a ref), a
				    * rollback's ("--to", "X"), or empty */
	struct ledger_strv flags;  /* the options every host got */
	struct ledger_strv hosts;  /* "host=wave", in wave order */
	const char *policy;	   /* "wave size 2, max failed hosts 0, on failure ..." */
	uint32_t pid;		   /* the controller process */
	uint64_t retries;	   /* --retry-failed: the fleet operation it completes, else 0 */
	uint64_t number;	   /* its operation number; ledger_append() assigns it when 0 */
};

/* fleet.wave: a wave starts. */
struct ledger_fleet_wave {
	uint32_t wave;		  /* 1, 2, ... */
	struct ledger_strv hosts; /* its hosts */
};

/* fleet.host: one host's run ended (or could not start). */
struct ledger_fleet_host {
	const char *host;	 /* its [host NAME] */
	uint32_t wave;		 /* 0: not part of a wave (a rollback of the moved hosts) */
	const char *action;	 /* "deploy" | "rollback" */
	uint64_t host_op;	 /* the host's operation number in its own ledger, 0 unknown */
	const char *outcome;	 /* succeeded | failed | rolled-back | refused | interrupted |
				  * unreachable | error */
	const char *commit;	 /* what it runs now as far as known, "" unknown */
	const char *prev_commit; /* what it ran before, "" unknown */
	const char *detail;	 /* the error, or the last line the host said */
	int64_t duration_ns;
};

/* fleet.finished: the end. outcome "succeeded" only when every host reached the target. */
struct ledger_fleet_finished {
	const char *outcome;	   /* succeeded | failed | rolled-back | interrupted */
	const char *commit;	   /* the target commit the hosts reported, "" none */
	struct ledger_strv runs;   /* "host=commit" (or "host=?" unknown) for every host touched */
	struct ledger_strv failed; /* the hosts that did not reach the target */
	const char *error;
	int64_t duration_ns;
};

struct ledger_event {
	/* envelope */
	uint64_t seq;	  /* assigned by ledger_append(); ignored on input */
	uint32_t version; /* schema version it was written with */
	enum ledger_event_type type;
	const char *type_name; /* the wire name; for LEDGER_EV_UNKNOWN the name that was read */
	int64_t time_ns;       /* wall clock, ns since the epoch; 0 on append means "now" */
	uint64_t op;	       /* operation id; 0 on append of op.requested / standalone op.refused
				* means "this event's own sequence" */
	const char *actor;     /* user@host */
	union {
		struct ledger_op_requested op_requested;
		struct ledger_op_refused op_refused;
		struct ledger_op_finished op_finished;
		struct ledger_phase phase; /* phase.started, phase.finished */
		struct ledger_step_ran step_ran;
		struct ledger_git_moved git_moved;
		struct ledger_unit_restarted unit_restarted;
		struct ledger_health_checked health_checked;
		struct ledger_owner_changed owner_changed;
		struct ledger_lock_broken lock_broken;
		struct ledger_soak soak; /* soak.started, soak.stopped */
		struct ledger_unit_observed unit_observed;
		struct ledger_build_completed build_completed;
		struct ledger_quarantine_lifted quarantine_lifted;
		struct ledger_soak_verdict soak_verdict;
		struct ledger_phase_slow phase_slow;
		struct ledger_fleet_started fleet_started;
		struct ledger_fleet_wave fleet_wave;
		struct ledger_fleet_host fleet_host;
		struct ledger_fleet_finished fleet_finished;
	} u;
	void *_arena; /* private: storage of decoded strings */
};

/* ---- the event schema -------------------------------------------------------------------- */

/* Every type's fields, in one table (ledger/event-types.c). The msgpack codec, JSON export and
 * import and the one-line text description are all driven from it: a new field is one row there
 * (and its reducer rule), and every reader below sees it. */

enum ledger_field_kind {
	LEDGER_FIELD_STR,     /* const char *; decoded events never hold NULL */
	LEDGER_FIELD_STRV,    /* struct ledger_strv */
	LEDGER_FIELD_U64,     /* uint64_t */
	LEDGER_FIELD_I64,     /* int64_t */
	LEDGER_FIELD_U32,     /* uint32_t */
	LEDGER_FIELD_I32,     /* int32_t */
	LEDGER_FIELD_BOOL,    /* bool */
	LEDGER_FIELD_RUNTIME, /* enum ledger_runtime, written as its name */
	LEDGER_FIELD_OUTCOME, /* enum ledger_outcome, written as its name; never NONE on the wire */
};

enum ledger_field_flags {
	/* Part of the request an op.refused carries when it is standalone: JSON nests these under
	 * "request", present when the group's first field ("kind") is not empty. */
	LEDGER_FIELD_REQUEST = 1 << 0,
	/* JSON leaves it out when it is zero (a field most events of the type do not have). */
	LEDGER_FIELD_SPARSE = 1 << 1,
	/* JSON import requires it to be present (a runtime that must be named). */
	LEDGER_FIELD_NAMED = 1 << 2,
};

struct ledger_field {
	const char *key;  /* wire key: one to three letters */
	const char *name; /* JSON name and the name a text template uses */
	enum ledger_field_kind kind;
	unsigned flags; /* enum ledger_field_flags */
	uint8_t keylen; /* strlen(key) */
	size_t offset;	/* of the value inside struct ledger_event */
};

/* The fields of type t in table order, *n of them; NULL and 0 for LEDGER_EV_UNKNOWN. Static. */
const struct ledger_field *ledger_event_fields(enum ledger_event_type t, size_t *n);

/* The one-line description of type t as a template over its fields' names, for a renderer:
 *   {name}          the value (a list joined with ","; a runtime or outcome by name)
 *   {name:conv}     converted: short (a commit's first 12 characters, "-" when empty), dur (a
 *                   duration in ns), dash / none / unk ("-" / "none" / "?" when empty), all (a
 *                   list, "all" when empty), argv (a command line, quoted where needed), lines
 *                   (": " and the first line, each further line under the event), kib (bytes
 *                   in KiB), s ("s" unless the number is 1), exit (an exit code: "exit N", or
 *                   "not started" for -1), op (an operation id, shown by its number when the
 *                   renderer can look it up)
 *   {name!other}    the value, counted as empty when it equals field other's value
 *   {name?yes|no}   yes when the field is not zero, else no; both are templates again
 *   [...]           the part is left out when a value it shows is zero (a choice's field does
 *                   not count)
 *   request.name    as a name: a field of the request a standalone op.refused carries
 *   \c              the character c as it is
 * "" for LEDGER_EV_UNKNOWN. Static. */
const char *ledger_event_type_text(enum ledger_event_type t);

/* Where field f's value lives in ev (its type's field; see ledger_field_kind for the C type). */
static inline const void *ledger_event_field(const struct ledger_event *ev,
					     const struct ledger_field *f)
{
	return (const char *)ev + f->offset;
}
static inline void *ledger_event_field_mut(struct ledger_event *ev, const struct ledger_field *f)
{
	return (char *)ev + f->offset;
}

/* The field visitor: calls fn(field, value, ud) for every field of ev's type in table order,
 * value pointing at the field inside ev. fn returns 0 to go on; anything else stops the walk and
 * is returned. 0 after the last field (and at once for LEDGER_EV_UNKNOWN). */
typedef int (*ledger_field_fn)(const struct ledger_field *f, const void *value, void *ud);
int ledger_event_visit(const struct ledger_event *ev, ledger_field_fn fn, void *ud);

/* Whether a field's value is its zero (what the wire leaves out). */
bool ledger_field_is_zero(const struct ledger_field *f, const void *value);

/* Encodes ev into a malloc'd buffer. Fails with LEDGER_EINVAL when a required field is missing
 * and LEDGER_ETOOBIG over the limits. Caller frees *out. */
int ledger_event_encode(const struct ledger_event *ev, uint8_t **out, size_t *out_len);

/* Decodes any byte string: an event, or LEDGER_ECORRUPT / LEDGER_ETOOBIG / LEDGER_ESCHEMA. A
 * validating pass (size, element counts, depth) runs before anything is allocated. Unknown keys
 * are ignored; an unknown type gives type LEDGER_EV_UNKNOWN with type_name set. On success the
 * event must be released with ledger_event_release(). errbuf, when not NULL, gets the reason. */
int ledger_event_decode(const uint8_t *buf, size_t len, struct ledger_event *ev, char *errbuf,
			size_t errlen);

/* Frees what decode allocated and zeroes the event. Accepts a zeroed event. */
void ledger_event_release(struct ledger_event *ev);

/* Reads only the envelope (type, op, time) of an encoded event, without allocating. For scans. */
int ledger_event_peek(const uint8_t *buf, size_t len, enum ledger_event_type *type, uint64_t *op,
		      int64_t *time_ns);

/* ---- reducer state ----------------------------------------------------------------------- */

struct ledger_good {
	char commit[LEDGER_COMMIT_MAX];
	uint64_t op;
	int64_t time_ns;
};

struct ledger_service_runtime {
	char commit[LEDGER_COMMIT_MAX]; /* what runs now on this runtime, "" when never deployed */
	int64_t since_ns;
	uint64_t op;		     /* the operation that last restarted it */
	bool healthy;		     /* the last health evidence for it was ok */
	char env[LEDGER_COMMIT_MAX]; /* digest of the environment it was restarted with, "" */
	/* good[0] is the last-good commit: the newest operation whose verify passed for this
	 * service and that was not itself rolled back; good[1..] older distinct ones. */
	uint32_t ngood;
	struct ledger_good good[LEDGER_GOOD_DEPTH];
};

struct ledger_service_state {
	char name[LEDGER_NAME_MAX];
	int owner; /* enum ledger_runtime that runs it, or -1 for none */
	/* The operation whose owner.changed (with a commit: a cut-over) made `owner` the owner;
	 * 0 when none did (the owner came from a restart, a take-over). A rollback across a
	 * cut-over reads it to put the previous owner back. */
	uint64_t owner_op;
	struct ledger_service_runtime rt[LEDGER_RT__COUNT];
};

struct ledger_quarantine {
	char commit[LEDGER_COMMIT_MAX];
	uint64_t op;	      /* the operation that was rolled back */
	uint64_t rollback_op; /* the operation that rolled it back */
	int64_t time_ns;
	char reason[128];
};

#define LEDGER_MAX_FROM 8 /* distinct commits a rollback rolls away from */

struct ledger_inflight {
	uint64_t op;	 /* 0 when nothing runs */
	uint64_t number; /* its operation number (counters.ops when it was requested) */
	char kind[16];
	int runtime;
	char phase[LEDGER_NAME_MAX];
	char actor[LEDGER_NAME_MAX * 2];
	uint32_t pid;
	int64_t started_ns;
	char commit[LEDGER_COMMIT_MAX];
	char prev_commit[LEDGER_COMMIT_MAX];
	uint64_t reverts;
	uint32_t nservices;
	uint8_t services[LEDGER_MAX_SERVICES]; /* indexes into ledger_state.services */
	bool verify_failed;		       /* a health check of this operation failed */
	/* rollbacks whose request carries an operation number (this shiplog's): */
	bool manual;	/* reason "manual": an operator asked for it */
	bool numbered;	/* the request carried `number` */
	uint32_t nfrom; /* the commits it rolls away from, distinct */
	char from[LEDGER_MAX_FROM][LEDGER_COMMIT_MAX]; /* (from the request's `from` list) */
};

/* Running duration histograms, one per phase name plus "total" (whole operations, from
 * op.finished): log-linear buckets, 16 per power of two of microseconds, so a percentile read
 * from them is within 1/32 (3.1%) of the exact one. Count, failures, sum and max are exact. They
 * make `stats` over every operation O(1) instead of a walk over the whole ledger. */
#define LEDGER_HIST_SUB 16
#define LEDGER_HIST_BUCKETS (36 * LEDGER_HIST_SUB) /* 1 µs .. 2^36 µs (19 h); beyond: last */
#define LEDGER_MAX_HISTS 8
struct ledger_phase_hist {
	char phase[LEDGER_NAME_MAX];
	uint64_t count;
	uint64_t failures;
	int64_t sum_ns;
	int64_t max_ns;
	uint32_t buckets[LEDGER_HIST_BUCKETS];
};
/* The bucket of a duration, and the duration a bucket stands for (its middle). */
uint32_t ledger_hist_bucket(int64_t ns);
int64_t ledger_hist_value(uint32_t bucket);

struct ledger_counters {
	uint64_t events;
	uint64_t ops;	    /* operations numbered so far, fleet operations among them */
	uint64_t fleet_ops; /* of them, fleet operations (a numbered fleet.started) */
	uint64_t outcome[LEDGER_OUT__COUNT];
	uint64_t unknown_events;
};

struct ledger_state {
	uint64_t seq;	 /* the last event applied, 0 for the empty ledger */
	int64_t time_ns; /* its time */
	char checkout_commit[LEDGER_COMMIT_MAX];
	char checkout_ref[LEDGER_NAME_MAX * 2];
	uint64_t last_op;
	uint32_t nservices;
	struct ledger_service_state services[LEDGER_MAX_SERVICES];
	/* The running operation. An op.requested of kind rollback whose `reverts` is the running
	 * operation nests: the running one moves to `parent` until the rollback finishes. */
	struct ledger_inflight inflight;
	struct ledger_inflight parent;
	uint32_t nquarantine;
	struct ledger_quarantine quarantine[LEDGER_MAX_QUARANTINE];
	struct ledger_counters counters;
	uint32_t nhist;
	struct ledger_phase_hist hist[LEDGER_MAX_HISTS]; /* phases beyond the table are not kept */
};

/* The empty state. */
void ledger_state_init(struct ledger_state *st);

/* The reducer: pure, deterministic, no I/O. Applies one decoded event. Unknown types only count.
 * Fails with LEDGER_EINVAL when ev->seq is not st->seq + 1, LEDGER_EFULL when a table is full
 * (the state is left unchanged then). */
int ledger_state_apply(struct ledger_state *st, const struct ledger_event *ev);

/* Lookups on a state; NULL / -1 when absent. */
const struct ledger_service_state *ledger_state_service(const struct ledger_state *st,
							const char *name);
const struct ledger_quarantine *ledger_state_quarantined(const struct ledger_state *st,
							 const char *commit);

/* State codec (snapshots). Same validation guarantees as the event codec. */
int ledger_state_encode(const struct ledger_state *st, uint8_t **out, size_t *out_len);
int ledger_state_decode(const uint8_t *buf, size_t len, struct ledger_state *st);
bool ledger_state_equal(const struct ledger_state *a, const struct ledger_state *b);

/* ---- the store --------------------------------------------------------------------------- */

struct ledger;

enum ledger_open_flags {
	LEDGER_OPEN_CREATE = 1 << 0, /* create the directory (0700) and databases when missing */
	LEDGER_OPEN_RDONLY = 1 << 1, /* read-only: appends fail with -EROFS */
};

struct ledger_options {
	uint32_t snapshot_every;  /* 0: LEDGER_DEFAULT_SNAPSHOT_EVERY */
	size_t initial_map_bytes; /* 0: 64 MiB; the map grows by doubling on MDB_MAP_FULL */
	const char *project;	  /* stored in meta on create; checked (if set) on open */
};

/* Opens (or with LEDGER_OPEN_CREATE creates) the ledger at dir. Clears stale reader slots and
 * makes every fd close-on-exec. Missing ledger without CREATE: LEDGER_ENOTFOUND. A second open of
 * the same path in this process: -EBUSY. An existing dir with group or other permission bits is
 * chmod'ed to 0700 (and, opened read-write, its data.mdb and lock.mdb to 0600); when that chmod
 * fails: -EPERM. opts may be NULL. */
int ledger_open(struct ledger **out, const char *dir, unsigned flags,
		const struct ledger_options *opts);
/* Accepts NULL. */
void ledger_close(struct ledger *lg);
/* Detail of the last failure on lg ("" when none). Valid until the next call on lg. */
const char *ledger_errmsg(const struct ledger *lg);
const char *ledger_path(const struct ledger *lg);

enum ledger_append_flags {
	LEDGER_APPEND_NOSYNC =
	    1 << 0, /* survives a process crash, not an OS crash; see ledger_sync */
};

/* Appends one event: assigns seq (and op and time when zero), commits, and writes a snapshot in
 * the same transaction when seq is a multiple of snapshot_every. Durable (synced) unless
 * LEDGER_APPEND_NOSYNC. *seq_out (may be NULL) receives the sequence. Safe against concurrent
 * appends from other processes: each gets its own contiguous sequence. */
int ledger_append(struct ledger *lg, struct ledger_event *ev, unsigned flags, uint64_t *seq_out);

/* Appends n events in one transaction (import, benchmarks). Same rules per event. */
int ledger_append_many(struct ledger *lg, struct ledger_event *evs, size_t n, unsigned flags);

/* Appends already-encoded events (import): each is decoded and validated first. */
int ledger_append_raw(struct ledger *lg, const uint8_t *const *bufs, const size_t *lens, size_t n,
		      unsigned flags);

/* Forces everything appended so far to disk. */
int ledger_sync(struct ledger *lg);

/* Allocates `bytes` of disk past the end of the ledger's data file (without changing its size),
 * so that the appends that follow cannot fail for want of space: a caller that is about to do
 * something whose record must follow it reserves the room first, and stops if it cannot.
 * 0; -ENOSPC or -EDQUOT when the filesystem has not that much free; -EROFS. A filesystem that
 * cannot preallocate (EOPNOTSUPP) returns 0 without the guarantee. */
int ledger_reserve(struct ledger *lg, uint64_t bytes);

/* The newest sequence (0 when empty). */
int ledger_last_seq(struct ledger *lg, uint64_t *seq);

/* Reads and decodes one event. LEDGER_ENOTFOUND when absent. Release with ledger_event_release. */
int ledger_get(struct ledger *lg, uint64_t seq, struct ledger_event *ev);

/* The raw bytes of one event, copied into a malloc'd buffer the caller frees. */
int ledger_get_raw(struct ledger *lg, uint64_t seq, uint8_t **buf, size_t *len);

/* ---- iteration ---------------------------------------------------------------------------- */

struct ledger_iter;

enum ledger_iter_dir { LEDGER_FORWARD = 0, LEDGER_BACKWARD = 1 };

/* An iterator over events from start (inclusive; 0 = first for forward, last for backward) in
 * one read transaction. The events it yields are valid until the next ledger_iter_next() or
 * ledger_iter_free(). Keep iterators short-lived: an open read transaction pins pages. */
int ledger_iter_new(struct ledger *lg, enum ledger_iter_dir dir, uint64_t start,
		    struct ledger_iter **out);
/* 1 and *ev set when an event was read, 0 at the end, < 0 on error (a corrupt event gives
 * LEDGER_ECORRUPT with its seq in *ev->seq and the iterator moves past it). */
int ledger_iter_next(struct ledger_iter *it, const struct ledger_event **ev);
/* Like next but raw bytes, no decode. */
int ledger_iter_next_raw(struct ledger_iter *it, uint64_t *seq, const uint8_t **buf, size_t *len);
void ledger_iter_free(struct ledger_iter *it);

/* The first sequence whose event time is >= time_ns (binary search; events are appended in time
 * order). *seq = last + 1 when none. */
int ledger_seek_time(struct ledger *lg, int64_t time_ns, uint64_t *seq);

/* Operation numbers. An operation's id is the sequence of its first event (op.requested, a
 * standalone op.refused, or a numbered fleet.started); its number counts operations in ledger order
 * (1, 2, 3 ...). Both lookups read the nearest snapshot (binary search over them for by_number) and
 * peek at most a snapshot interval of events. LEDGER_ENOTFOUND when seq is no operation's first
 * event, or no operation has that number. */
int ledger_op_number(struct ledger *lg, uint64_t op, uint64_t *number);
int ledger_op_by_number(struct ledger *lg, uint64_t number, uint64_t *op);

/* Calls fn for every event of operation op, in order, without scanning the whole log (it starts
 * at op and stops at the operation's terminal event or the end). fn returns 0 to go on, > 0 to
 * stop, < 0 to fail with that code. LEDGER_ENOTFOUND when op is not an operation's first event. */
int ledger_op_events(struct ledger *lg, uint64_t op,
		     int (*fn)(const struct ledger_event *ev, void *ud), void *ud);

/* ---- derived views ----------------------------------------------------------------------- */

/* The state after event seq (UINT64_MAX = the newest): nearest snapshot at or before seq, plus
 * the tail. At most snapshot_every decodes. */
int ledger_state_at(struct ledger *lg, uint64_t seq, struct ledger_state *st);

/* The state after event seq (UINT64_MAX = the newest) replayed from the first event, ignoring
 * snapshots. Events the reducer only counts are not decoded (ledger_verify decodes every one).
 * LEDGER_EGAP on a missing sequence, LEDGER_ECORRUPT on an event that does not decode. */
int ledger_replay(struct ledger *lg, uint64_t seq, struct ledger_state *st);

/* One row of history: an operation summarized. Strings point into row-owned storage; release
 * with ledger_op_summary_release(). */
struct ledger_op_summary {
	uint64_t op;	 /* its id: the sequence of its first event */
	uint64_t number; /* its number (1, 2, 3 ...) */
	int64_t started_ns;
	int64_t finished_ns;	     /* 0 when it never finished */
	enum ledger_outcome outcome; /* NONE when still running or never closed */
	bool refused;
	struct ledger_event
	    request; /* the op.requested (or standalone op.refused) event, decoded */
	char error[256];
	uint64_t rollback_op;
	/* The commit it deployed: the request's, else the last git.moved target of the operation
	 * ("" when it never moved anything). */
	char commit[LEDGER_COMMIT_MAX];
};
void ledger_op_summary_release(struct ledger_op_summary *s);

struct ledger_history_filter {
	int64_t since_ns;    /* 0: no bound */
	int64_t until_ns;    /* 0: no bound */
	const char *service; /* NULL: any */
	int runtime;	     /* -1: any */
	int outcome;	     /* -1: any; LEDGER_OUT_NONE matches running ones */
	const char *kind;    /* NULL: any; "deploy" | "rollback" */
	/* With match_scope: only operations whose services are exactly these (in any order). */
	bool match_scope;
	struct ledger_strv scope;
	/* Fleet operations (numbered fleet.started) too: their rows' request is the fleet.started,
	 * their outcome fleet.finished's; a kind, runtime, service or scope filter leaves them
	 * out. Without it (and with f NULL) history has only this ledger's own operations. */
	bool fleet;
};

/* Newest-first operations matching the filter, at most limit (0 = no limit). Walks backward from
 * the end and stops after limit matches or before since_ns, so its cost follows the answer's
 * size, not the ledger's. *rows is malloc'd: release each row, then free(*rows). */
int ledger_history(struct ledger *lg, const struct ledger_history_filter *f, size_t limit,
		   struct ledger_op_summary **rows, size_t *nrows);

/* Per-phase duration statistics over the last `last_ops` operations (0 = all) matching f. */
struct ledger_phase_stats {
	char phase[LEDGER_NAME_MAX];
	uint64_t count;
	uint64_t failures;
	int64_t p50_ns, p90_ns, p95_ns, p99_ns, max_ns, mean_ns;
};
struct ledger_stats {
	uint64_t ops;
	uint64_t outcome[LEDGER_OUT__COUNT];
	uint32_t nphases;
	struct ledger_phase_stats phases[16]; /* "total" is one of them: whole operation */
	bool approximate; /* percentiles read from the histograms (within 3.1%) */
};
int ledger_stats(struct ledger *lg, const struct ledger_history_filter *f, size_t last_ops,
		 struct ledger_stats *out);

/* Per-phase statistics per period (UTC days, or ISO weeks from Monday 00:00 UTC) of the
 * operations' start, over the last `last_ops` operations (0 = all) matching f; for `stats
 * --trend`. Each period's stats holds the phases in the order of the whole answer (a phase the
 * period did not run has count 0; ops counts the period's operations). slower[i] marks phase i
 * of a period whose p50 is above the p95 of the same phase in the newest earlier period that
 * had it at least LEDGER_TREND_MIN_SAMPLES times (its own count must be that much too). *out
 * is malloc'd, oldest period first, *n of them (0 and NULL when nothing matches); free() it. */
#define LEDGER_TREND_MIN_SAMPLES 3
enum ledger_trend_by { LEDGER_TREND_DAY = 0, LEDGER_TREND_WEEK = 1 };
struct ledger_trend_period {
	int64_t start_ns; /* the period's first instant */
	struct ledger_stats stats;
	bool slower[16];
};
int ledger_stats_trend(struct ledger *lg, const struct ledger_history_filter *f, size_t last_ops,
		       enum ledger_trend_by by, struct ledger_trend_period **out, size_t *n);

/* Every operation in the ledger, from the newest state's histograms: O(1) whatever the
 * ledger's size. Counts, failures, max and mean are exact; p50/p90/p95/p99 within 3.1%
 * (out->approximate is set). Phases in the order operations run them, "total" last. */
int ledger_stats_summary(struct ledger *lg, struct ledger_stats *out);

/* ---- verification and maintenance -------------------------------------------------------- */

struct ledger_verify_report {
	uint64_t events;
	uint64_t snapshots;
	uint64_t first_bad_seq; /* 0 when all good */
	int first_error;
	char detail[256];
};
/* Every event decodes, sequences are contiguous from 1, replay succeeds, every snapshot equals
 * the replay at its point. Returns 0 or the first error (also in the report). */
int ledger_verify(struct ledger *lg, struct ledger_verify_report *rep);

/* Copies the ledger compacted to dir (created 0700 when missing; it must not hold a data.mdb).
 * The copy's data.mdb is created exclusively, not through a symlink, mode 0600. */
int ledger_compact_to(struct ledger *lg, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
