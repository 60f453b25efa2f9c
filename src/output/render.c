/* SPDX-License-Identifier: MIT */
#include "render.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "out.h"
#include "point.h"

/* ---- small pieces -------------------------------------------------------------------------- */

const char *render_short_commit(const char *commit, char buf[RENDER_SHORT_COMMIT + 1])
{
	if (str_empty(commit))
		return "-";
	strlcpy_(buf, commit, RENDER_SHORT_COMMIT + 1);
	return buf;
}

void render_time_short(int64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void render_offset(int64_t ns, int64_t base_ns, char *buf, size_t n)
{
	int64_t d = ns - base_ns;
	const char *sign = "+";

	if (d < 0) {
		sign = "-";
		d = -d;
	}
	snprintf(buf, n, "%s%" PRId64 ".%03ds", sign, d / 1000000000, (int)((d / 1000000) % 1000));
}

static void dur(int64_t ns, char *buf, size_t n)
{
	format_duration(ns, buf, n);
}

const struct ledger_op_requested *render_event_request(const struct ledger_event *ev)
{
	if (ev->type == LEDGER_EV_OP_REQUESTED)
		return &ev->u.op_requested;
	if (ev->type == LEDGER_EV_OP_REFUSED && !str_empty(ev->u.op_refused.req.kind))
		return &ev->u.op_refused.req;
	return NULL;
}

static const char *runtime_name(int rt)
{
	if (rt < 0 || rt >= LEDGER_RT__COUNT)
		return "";
	return ledger_runtime_name((enum ledger_runtime)rt);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* ---- events to JSON ------------------------------------------------------------------------ */

static json_t *strv_json(const struct ledger_strv *sv)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_str(sv->v[i]));
	return a;
}

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

static json_t *request_json(json_t *o, const struct ledger_op_requested *r)
{
	set(o, "kind", json_str(r->kind));
	set(o, "mode", json_str(r->mode));
	set(o, "ref", json_str(r->ref));
	set(o, "commit", json_str(r->commit));
	set(o, "prev_commit", json_str(r->prev_commit));
	set(o, "runtime", json_str(runtime_name((int)r->runtime)));
	set(o, "services", strv_json(&r->services));
	set(o, "flags", strv_json(&r->flags));
	set(o, "exec_mode", json_str(r->exec_mode));
	set(o, "config_digest", json_str(r->config_digest));
	set(o, "reverts", json_integer((json_int_t)r->reverts));
	set(o, "reason", json_str(r->reason));
	set(o, "pid", json_integer(r->pid));
	set(o, "targets", strv_json(&r->targets));
	return o;
}

json_t *render_event_json(const struct ledger_event *ev)
{
	json_t *o = json_object();
	const char *tn = ev->type_name ? ev->type_name : ledger_event_type_name(ev->type);

	set(o, "seq", json_integer((json_int_t)ev->seq));
	set(o, "version", json_integer(ev->version));
	set(o, "type", json_str(tn));
	set(o, "time", json_time(ev->time_ns));
	set(o, "time_ns", json_integer(ev->time_ns));
	set(o, "op", json_integer((json_int_t)ev->op));
	set(o, "actor", json_str(ev->actor));

	switch (ev->type) {
	case LEDGER_EV_OP_REQUESTED:
		request_json(o, &ev->u.op_requested);
		break;
	case LEDGER_EV_OP_REFUSED:
		set(o, "guard", json_str(ev->u.op_refused.guard));
		set(o, "reason", json_str(ev->u.op_refused.reason));
		if (!str_empty(ev->u.op_refused.req.kind))
			set(o, "request", request_json(json_object(), &ev->u.op_refused.req));
		break;
	case LEDGER_EV_OP_FINISHED:
		set(o, "outcome", json_str(ledger_outcome_name(ev->u.op_finished.outcome)));
		set(o, "error", json_str(ev->u.op_finished.error));
		set(o, "duration_ns", json_integer(ev->u.op_finished.duration_ns));
		set(o, "rollback_op", json_integer((json_int_t)ev->u.op_finished.rollback_op));
		break;
	case LEDGER_EV_PHASE_STARTED:
		set(o, "phase", json_str(ev->u.phase.name));
		break;
	case LEDGER_EV_PHASE_FINISHED:
		set(o, "phase", json_str(ev->u.phase.name));
		set(o, "duration_ns", json_integer(ev->u.phase.duration_ns));
		set(o, "ok", json_boolean(ev->u.phase.ok));
		set(o, "error", json_str(ev->u.phase.error));
		break;
	case LEDGER_EV_STEP_RAN:
		set(o, "argv", strv_json(&ev->u.step_ran.argv));
		set(o, "cwd", json_str(ev->u.step_ran.cwd));
		set(o, "exit_code", json_integer(ev->u.step_ran.exit_code));
		set(o, "duration_ns", json_integer(ev->u.step_ran.duration_ns));
		set(o, "what", json_str(ev->u.step_ran.what));
		if (!str_empty(ev->u.step_ran.output))
			set(o, "output", json_str(ev->u.step_ran.output));
		break;
	case LEDGER_EV_GIT_MOVED:
		set(o, "from", json_str(ev->u.git_moved.from));
		set(o, "to", json_str(ev->u.git_moved.to));
		set(o, "ref", json_str(ev->u.git_moved.ref));
		set(o, "path", json_str(ev->u.git_moved.path));
		set(o, "config_digest", json_str(ev->u.git_moved.config_digest));
		break;
	case LEDGER_EV_UNIT_RESTARTED: {
		const struct ledger_unit_restarted *u = &ev->u.unit_restarted;
		set(o, "service", json_str(u->service));
		set(o, "runtime", json_str(runtime_name((int)u->runtime)));
		set(o, "unit", json_str(u->unit));
		set(o, "result", json_str(u->result));
		set(o, "duration_ns", json_integer(u->duration_ns));
		set(o, "before", json_str(u->before));
		set(o, "after", json_str(u->after));
		set(o, "commit", json_str(u->commit));
		set(o, "detail", json_str(u->detail));
		break;
	}
	case LEDGER_EV_HEALTH_CHECKED: {
		const struct ledger_health_checked *h = &ev->u.health_checked;
		set(o, "service", json_str(h->service));
		set(o, "runtime", json_str(runtime_name((int)h->runtime)));
		set(o, "kind", json_str(h->kind));
		set(o, "target", json_str(h->target));
		set(o, "ok", json_boolean(h->ok));
		set(o, "attempts", json_integer(h->attempts));
		set(o, "latency_ns", json_integer(h->latency_ns));
		set(o, "detail", json_str(h->detail));
		if (h->cut_short)
			set(o, "cut_short", json_true());
		break;
	}
	case LEDGER_EV_OWNER_CHANGED:
		set(o, "service", json_str(ev->u.owner_changed.service));
		set(o, "from", json_str(ev->u.owner_changed.from));
		set(o, "to", json_str(ev->u.owner_changed.to));
		break;
	case LEDGER_EV_LOCK_BROKEN:
		set(o, "holder_pid", json_integer(ev->u.lock_broken.holder_pid));
		set(o, "holder", json_str(ev->u.lock_broken.holder));
		set(o, "holder_op", json_integer((json_int_t)ev->u.lock_broken.holder_op));
		break;
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		set(o, "name", json_str(ev->u.soak.name));
		set(o, "services", strv_json(&ev->u.soak.services));
		if (ev->type == LEDGER_EV_SOAK_STOPPED)
			set(o, "summary", json_str(ev->u.soak.summary));
		break;
	case LEDGER_EV_UNIT_OBSERVED: {
		const struct ledger_unit_observed *u = &ev->u.unit_observed;
		set(o, "service", json_str(u->service));
		set(o, "runtime", json_str(runtime_name((int)u->runtime)));
		set(o, "active_state", json_str(u->active_state));
		set(o, "sub_state", json_str(u->sub_state));
		set(o, "restarts", json_integer(u->restarts));
		set(o, "pid", json_integer(u->pid));
		set(o, "memory_bytes", json_integer((json_int_t)u->memory_bytes));
		break;
	}
	case LEDGER_EV_BUILD_COMPLETED:
		set(o, "path", json_str(ev->u.build_completed.path));
		set(o, "commit", json_str(ev->u.build_completed.commit));
		break;
	default:
		break;
	}
	return o;
}

/* ---- events to text ------------------------------------------------------------------------ */

static void strv_text(struct buf *b, const struct ledger_strv *sv, const char *sep,
		      const char *empty)
{
	if (sv->n == 0) {
		buf_printf(b, "%s", empty);
		return;
	}
	for (uint32_t i = 0; i < sv->n; i++)
		buf_printf(b, "%s%s", i ? sep : "", nz(sv->v[i]));
}

/* Like out_argv: words with blanks or shell characters are JSON-quoted. */
static void argv_text(struct buf *b, const struct ledger_strv *sv)
{
	for (uint32_t i = 0; i < sv->n; i++) {
		const char *w = nz(sv->v[i]);
		bool quote = !*w || strpbrk(w, " \t\n\"'\\$`;&|<>()*?") != NULL;

		if (i)
			buf_append(b, " ", 1);
		if (quote) {
			json_t *s = json_str(w);
			char *q = json_dumps(s, JSON_ENCODE_ANY);
			buf_printf(b, "%s", q ? q : "\"?\"");
			free(q);
			json_decref(s);
		} else {
			buf_printf(b, "%s", w);
		}
	}
}

static void request_text(struct buf *b, const char *verb, const struct ledger_op_requested *r)
{
	char c1[RENDER_SHORT_COMMIT + 1], c2[RENDER_SHORT_COMMIT + 1];

	buf_printf(b, "%s %s", nz(r->kind), verb);
	if (!str_empty(r->mode))
		buf_printf(b, " %s", r->mode);
	if (!str_empty(r->ref) && !streq(r->ref, r->mode))
		buf_printf(b, " '%s'", r->ref);
	buf_printf(b, " on %s: %s -> %s, services ", runtime_name((int)r->runtime),
		   render_short_commit(r->prev_commit, c2), render_short_commit(r->commit, c1));
	strv_text(b, &r->services, ",", "all");
	if (r->flags.n) {
		buf_printf(b, ", flags ");
		strv_text(b, &r->flags, ",", "");
	}
	if (r->reverts)
		buf_printf(b, ", reverts op %" PRIu64, r->reverts);
	if (!str_empty(r->reason))
		buf_printf(b, " (%s)", r->reason);
	if (!str_empty(r->exec_mode))
		buf_printf(b, ", %s", r->exec_mode);
	if (r->pid)
		buf_printf(b, ", pid %u", r->pid);
}

/* ": first line", then each further line of a detail (a failed unit's last lines) on its own
 * line under the event, as show prints it. */
static void detail_text(struct buf *b, const char *detail)
{
	const char *nl;

	if (str_empty(detail))
		return;
	nl = strchr(detail, '\n');
	buf_printf(b, ": %.*s", nl ? (int)(nl - detail) : (int)strlen(detail), detail);
	while (nl) {
		const char *l = nl + 1;
		nl = strchr(l, '\n');
		buf_printf(b, "\n%19s| %.*s", "", nl ? (int)(nl - l) : (int)strlen(l), l);
	}
}

void render_event_text(struct buf *b, const struct ledger_event *ev)
{
	char d[32], c1[RENDER_SHORT_COMMIT + 1], c2[RENDER_SHORT_COMMIT + 1];

	switch (ev->type) {
	case LEDGER_EV_OP_REQUESTED:
		request_text(b, "requested", &ev->u.op_requested);
		break;
	case LEDGER_EV_OP_REFUSED:
		if (!str_empty(ev->u.op_refused.req.kind)) {
			request_text(b, "refused", &ev->u.op_refused.req);
			buf_printf(b, "; ");
		} else {
			buf_printf(b, "refused: ");
		}
		buf_printf(b, "guard %s: %s",
			   str_empty(ev->u.op_refused.guard) ? "-" : ev->u.op_refused.guard,
			   nz(ev->u.op_refused.reason));
		break;
	case LEDGER_EV_OP_FINISHED:
		dur(ev->u.op_finished.duration_ns, d, sizeof(d));
		buf_printf(b, "finished: %s in %s", ledger_outcome_name(ev->u.op_finished.outcome),
			   d);
		if (ev->u.op_finished.rollback_op)
			buf_printf(b, ", rolled back by op %" PRIu64,
				   ev->u.op_finished.rollback_op);
		if (!str_empty(ev->u.op_finished.error))
			buf_printf(b, ": %s", ev->u.op_finished.error);
		break;
	case LEDGER_EV_PHASE_STARTED:
		buf_printf(b, "== %s ==", nz(ev->u.phase.name));
		break;
	case LEDGER_EV_PHASE_FINISHED:
		dur(ev->u.phase.duration_ns, d, sizeof(d));
		buf_printf(b, "-- %s %s in %s", nz(ev->u.phase.name),
			   ev->u.phase.ok ? "ok" : "FAILED", d);
		if (!str_empty(ev->u.phase.error))
			buf_printf(b, ": %s", ev->u.phase.error);
		break;
	case LEDGER_EV_STEP_RAN:
		dur(ev->u.step_ran.duration_ns, d, sizeof(d));
		buf_printf(b, "$ ");
		argv_text(b, &ev->u.step_ran.argv);
		buf_printf(b, "  ");
		if (!str_empty(ev->u.step_ran.what))
			buf_printf(b, "[%s] ", ev->u.step_ran.what);
		if (ev->u.step_ran.exit_code == -1)
			buf_printf(b, "not started, %s", d);
		else
			buf_printf(b, "exit %d, %s", ev->u.step_ran.exit_code, d);
		if (!str_empty(ev->u.step_ran.cwd))
			buf_printf(b, " in %s", ev->u.step_ran.cwd);
		break;
	case LEDGER_EV_GIT_MOVED:
		buf_printf(b, "git moved %s -> %s", render_short_commit(ev->u.git_moved.from, c1),
			   render_short_commit(ev->u.git_moved.to, c2));
		if (!str_empty(ev->u.git_moved.ref))
			buf_printf(b, " (%s)", ev->u.git_moved.ref);
		if (!str_empty(ev->u.git_moved.path))
			buf_printf(b, " in %s", ev->u.git_moved.path);
		if (!str_empty(ev->u.git_moved.config_digest))
			buf_printf(b, ", config sha256 %.12s", ev->u.git_moved.config_digest);
		break;
	case LEDGER_EV_UNIT_RESTARTED: {
		const struct ledger_unit_restarted *u = &ev->u.unit_restarted;
		bool docker = u->runtime == LEDGER_RT_DOCKER;

		dur(u->duration_ns, d, sizeof(d));
		buf_printf(b, "restarted %s (%s, %s): %s, %s %s -> %s, %s", nz(u->service),
			   nz(u->unit), runtime_name((int)u->runtime),
			   str_empty(u->result) ? "-" : u->result, docker ? "container" : "pid",
			   str_empty(u->before) ? "-" : u->before,
			   str_empty(u->after) ? "-" : u->after, d);
		if (!str_empty(u->commit))
			buf_printf(b, ", at %s", render_short_commit(u->commit, c1));
		detail_text(b, u->detail);
		break;
	}
	case LEDGER_EV_HEALTH_CHECKED: {
		const struct ledger_health_checked *h = &ev->u.health_checked;

		dur(h->latency_ns, d, sizeof(d));
		buf_printf(b, "health %s %s %s: %s, %u attempt%s, %s", nz(h->service), nz(h->kind),
			   nz(h->target),
			   h->ok	  ? "ok"
			   : h->cut_short ? "cut short"
					  : "FAILED",
			   h->attempts, h->attempts == 1 ? "" : "s", d);
		detail_text(b, h->detail);
		break;
	}
	case LEDGER_EV_OWNER_CHANGED:
		buf_printf(b, "owner of %s: %s -> %s", nz(ev->u.owner_changed.service),
			   str_empty(ev->u.owner_changed.from) ? "none" : ev->u.owner_changed.from,
			   str_empty(ev->u.owner_changed.to) ? "none" : ev->u.owner_changed.to);
		break;
	case LEDGER_EV_LOCK_BROKEN:
		buf_printf(b, "lock broken: holder pid %u (%s", ev->u.lock_broken.holder_pid,
			   str_empty(ev->u.lock_broken.holder) ? "?" : ev->u.lock_broken.holder);
		if (ev->u.lock_broken.holder_op)
			buf_printf(b, ", op %" PRIu64, ev->u.lock_broken.holder_op);
		buf_printf(b, ")");
		break;
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		buf_printf(b, "soak '%s' %s, services ", nz(ev->u.soak.name),
			   ev->type == LEDGER_EV_SOAK_STARTED ? "started" : "stopped");
		strv_text(b, &ev->u.soak.services, ",", "all");
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !str_empty(ev->u.soak.summary))
			buf_printf(b, ": %s", ev->u.soak.summary);
		break;
	case LEDGER_EV_UNIT_OBSERVED: {
		const struct ledger_unit_observed *u = &ev->u.unit_observed;

		buf_printf(b, "observed %s (%s): %s/%s, %u restarts, pid %u, %" PRIu64 " KiB",
			   nz(u->service), runtime_name((int)u->runtime), nz(u->active_state),
			   nz(u->sub_state), u->restarts, u->pid, u->memory_bytes / 1024);
		break;
	}
	case LEDGER_EV_BUILD_COMPLETED:
		buf_printf(b, "build completed at %s",
			   render_short_commit(ev->u.build_completed.commit, c1));
		if (!str_empty(ev->u.build_completed.path))
			buf_printf(b, " in %s", ev->u.build_completed.path);
		break;
	default:
		buf_printf(b, "%s (event type unknown to this shiplog)",
			   str_empty(ev->type_name) ? "?" : ev->type_name);
		break;
	}
}

/* ---- JSON to events ------------------------------------------------------------------------ */

/* A bump allocator over 64 KiB blocks (import parses millions of small strings). */
#define ARENA_BLOCK (64u * 1024u)

struct render_arena_block {
	struct render_arena_block *next;
	size_t used, size;
	max_align_t data[];
};

static void *arena_alloc(struct render_arena *a, size_t n)
{
	struct render_arena_block *blk = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (!blk || blk->size - blk->used < need) {
		size_t size = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;

		blk = xmalloc(sizeof(*blk) + size);
		blk->used = 0;
		blk->size = size;
		if (size == need && a->head) {
			/* a big one: keep the current block for the small ones */
			blk->next = a->head->next;
			a->head->next = blk;
		} else {
			blk->next = a->head;
			a->head = blk;
		}
	}
	p = (char *)blk->data + blk->used;
	blk->used += need;
	return p;
}

static const char *arena_strdup(struct render_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(a, n);

	memcpy(p, s, n);
	return p;
}

void *render_arena_alloc(struct render_arena *a, size_t n)
{
	return arena_alloc(a, n);
}

void render_arena_free(struct render_arena *a)
{
	while (a->head) {
		struct render_arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

struct parser {
	json_t *obj;
	struct render_arena *a;
	char *err;
	size_t errlen;
	int r;
};

static void perr(struct parser *p, const char *fmt, const char *key)
{
	if (p->r < 0)
		return;
	snprintf(p->err, p->errlen, fmt, key);
	p->r = -EINVAL;
}

static const char *get_str(struct parser *p, const char *key)
{
	json_t *v = json_object_get(p->obj, key);

	if (!v || json_is_null(v))
		return "";
	if (!json_is_string(v)) {
		perr(p, "field '%s' must be a string", key);
		return "";
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		perr(p, "field '%s' contains a NUL character", key);
		return "";
	}
	return arena_strdup(p->a, json_string_value(v));
}

static long long get_int(struct parser *p, const char *key, long long min, long long max)
{
	json_t *v = json_object_get(p->obj, key);
	long long x;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		perr(p, "field '%s' must be an integer", key);
		return 0;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		perr(p, "field '%s' is out of range", key);
		return 0;
	}
	return x;
}

static bool get_bool(struct parser *p, const char *key)
{
	json_t *v = json_object_get(p->obj, key);

	if (!v || json_is_null(v))
		return false;
	if (!json_is_boolean(v)) {
		perr(p, "field '%s' must be true or false", key);
		return false;
	}
	return json_is_true(v);
}

static void get_strv(struct parser *p, const char *key, struct ledger_strv *sv)
{
	json_t *v = json_object_get(p->obj, key), *e;
	const char **arr;
	size_t i;

	sv->n = 0;
	sv->v = NULL;
	if (!v || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		perr(p, "field '%s' must be an array of strings", key);
		return;
	}
	if (json_array_size(v) > LEDGER_MAX_LIST) {
		perr(p, "field '%s' has too many elements", key);
		return;
	}
	arr = arena_alloc(p->a, (json_array_size(v) + 1) * sizeof(*arr));
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			perr(p, "field '%s' must be an array of strings", key);
			return;
		}
		arr[i] = arena_strdup(p->a, json_string_value(e));
	}
	arr[json_array_size(v)] = NULL;
	sv->v = arr;
	sv->n = (uint32_t)json_array_size(v);
}

static int get_runtime(struct parser *p, const char *key, bool required)
{
	const char *s = get_str(p, key);
	int rt;

	if (str_empty(s)) {
		if (required)
			perr(p, "field '%s' is required (native or docker)", key);
		return 0;
	}
	rt = ledger_runtime_from_name(s);
	if (rt < 0) {
		perr(p, "field '%s' must be native or docker", key);
		return 0;
	}
	return rt;
}

static void parse_request(struct parser *p, struct ledger_op_requested *r)
{
	r->kind = get_str(p, "kind");
	r->mode = get_str(p, "mode");
	r->ref = get_str(p, "ref");
	r->commit = get_str(p, "commit");
	r->prev_commit = get_str(p, "prev_commit");
	r->runtime = (enum ledger_runtime)get_runtime(p, "runtime", false);
	get_strv(p, "services", &r->services);
	get_strv(p, "flags", &r->flags);
	r->exec_mode = get_str(p, "exec_mode");
	r->config_digest = get_str(p, "config_digest");
	r->reverts = (uint64_t)get_int(p, "reverts", 0, INT64_MAX);
	r->reason = get_str(p, "reason");
	r->pid = (uint32_t)get_int(p, "pid", 0, UINT32_MAX);
	get_strv(p, "targets", &r->targets);
}

int render_event_parse(json_t *obj, struct ledger_event *ev, bool *has_seq, struct render_arena *a,
		       char *err, size_t errlen)
{
	struct parser p = {.obj = obj, .a = a, .err = err, .errlen = errlen};
	const char *tn, *ts;
	json_t *seq;

	*ev = (struct ledger_event){0};
	*has_seq = false;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	tn = get_str(&p, "type");
	if (p.r == 0 && str_empty(tn))
		perr(&p, "field '%s' is required", "type");
	seq = json_object_get(obj, "seq");
	if (seq && !json_is_null(seq)) {
		ev->seq = (uint64_t)get_int(&p, "seq", 1, INT64_MAX);
		*has_seq = true;
	}
	ev->version = (uint32_t)get_int(&p, "version", 0, UINT32_MAX);
	ev->op = (uint64_t)get_int(&p, "op", 0, INT64_MAX);
	ev->actor = get_str(&p, "actor");
	if (json_object_get(obj, "time_ns")) {
		ev->time_ns = get_int(&p, "time_ns", 1, INT64_MAX);
	} else {
		ts = get_str(&p, "time");
		if (p.r == 0 && str_empty(ts))
			perr(&p, "field '%s' is required: RFC 3339 text, or give time_ns", "time");
		else if (p.r == 0 && (parse_time_ns(ts, 0, &ev->time_ns) < 0 || ev->time_ns <= 0))
			perr(&p,
			     "field 'time' is not a valid time: '%s'; use RFC 3339 "
			     "(2026-11-27T08:00:00Z, 2026-11-27T09:00:00.250+01:00), a real date "
			     "from 1970 to 2262, or give time_ns",
			     ts);
	}
	if (p.r < 0)
		return p.r;

	ev->type = ledger_event_type_from_name(tn);
	ev->type_name = tn;
	switch (ev->type) {
	case LEDGER_EV_OP_REQUESTED:
		parse_request(&p, &ev->u.op_requested);
		break;
	case LEDGER_EV_OP_REFUSED: {
		json_t *req = json_object_get(obj, "request");

		ev->u.op_refused.guard = get_str(&p, "guard");
		ev->u.op_refused.reason = get_str(&p, "reason");
		if (req && !json_is_null(req)) {
			struct parser q = p;

			if (!json_is_object(req)) {
				perr(&p, "field '%s' must be an object", "request");
				break;
			}
			q.obj = req;
			parse_request(&q, &ev->u.op_refused.req);
			p.r = q.r;
		} else {
			ev->u.op_refused.req = (struct ledger_op_requested){.kind = "",
									    .mode = "",
									    .ref = "",
									    .commit = "",
									    .prev_commit = "",
									    .exec_mode = "",
									    .config_digest = "",
									    .reason = ""};
		}
		break;
	}
	case LEDGER_EV_OP_FINISHED: {
		const char *o = get_str(&p, "outcome");
		int out = ledger_outcome_from_name(o);

		if (p.r == 0 && (out <= LEDGER_OUT_NONE))
			perr(&p,
			     "field '%s' must be succeeded, failed, rolled-back, interrupted or "
			     "refused",
			     "outcome");
		ev->u.op_finished.outcome = out > 0 ? (enum ledger_outcome)out : LEDGER_OUT_NONE;
		ev->u.op_finished.error = get_str(&p, "error");
		ev->u.op_finished.duration_ns = get_int(&p, "duration_ns", 0, INT64_MAX);
		ev->u.op_finished.rollback_op = (uint64_t)get_int(&p, "rollback_op", 0, INT64_MAX);
		break;
	}
	case LEDGER_EV_PHASE_STARTED:
	case LEDGER_EV_PHASE_FINISHED:
		ev->u.phase.name = get_str(&p, "phase");
		ev->u.phase.duration_ns = get_int(&p, "duration_ns", 0, INT64_MAX);
		ev->u.phase.ok = get_bool(&p, "ok");
		ev->u.phase.error = get_str(&p, "error");
		break;
	case LEDGER_EV_STEP_RAN:
		get_strv(&p, "argv", &ev->u.step_ran.argv);
		ev->u.step_ran.cwd = get_str(&p, "cwd");
		ev->u.step_ran.exit_code = (int32_t)get_int(&p, "exit_code", INT32_MIN, INT32_MAX);
		ev->u.step_ran.duration_ns = get_int(&p, "duration_ns", 0, INT64_MAX);
		ev->u.step_ran.what = get_str(&p, "what");
		break;
	case LEDGER_EV_GIT_MOVED:
		ev->u.git_moved.from = get_str(&p, "from");
		ev->u.git_moved.to = get_str(&p, "to");
		ev->u.git_moved.ref = get_str(&p, "ref");
		ev->u.git_moved.path = get_str(&p, "path");
		ev->u.git_moved.config_digest = get_str(&p, "config_digest");
		break;
	case LEDGER_EV_UNIT_RESTARTED: {
		struct ledger_unit_restarted *u = &ev->u.unit_restarted;
		u->service = get_str(&p, "service");
		u->runtime = (enum ledger_runtime)get_runtime(&p, "runtime", true);
		u->unit = get_str(&p, "unit");
		u->result = get_str(&p, "result");
		u->duration_ns = get_int(&p, "duration_ns", 0, INT64_MAX);
		u->before = get_str(&p, "before");
		u->after = get_str(&p, "after");
		u->commit = get_str(&p, "commit");
		u->detail = get_str(&p, "detail");
		break;
	}
	case LEDGER_EV_HEALTH_CHECKED: {
		struct ledger_health_checked *h = &ev->u.health_checked;
		h->service = get_str(&p, "service");
		h->runtime = (enum ledger_runtime)get_runtime(&p, "runtime", true);
		h->kind = get_str(&p, "kind");
		h->target = get_str(&p, "target");
		h->ok = get_bool(&p, "ok");
		h->attempts = (uint32_t)get_int(&p, "attempts", 0, UINT32_MAX);
		h->latency_ns = get_int(&p, "latency_ns", 0, INT64_MAX);
		h->detail = get_str(&p, "detail");
		h->cut_short = get_bool(&p, "cut_short");
		break;
	}
	case LEDGER_EV_OWNER_CHANGED:
		ev->u.owner_changed.service = get_str(&p, "service");
		ev->u.owner_changed.from = get_str(&p, "from");
		ev->u.owner_changed.to = get_str(&p, "to");
		break;
	case LEDGER_EV_LOCK_BROKEN:
		ev->u.lock_broken.holder_pid = (uint32_t)get_int(&p, "holder_pid", 0, UINT32_MAX);
		ev->u.lock_broken.holder = get_str(&p, "holder");
		ev->u.lock_broken.holder_op = (uint64_t)get_int(&p, "holder_op", 0, INT64_MAX);
		break;
	case LEDGER_EV_SOAK_STARTED:
	case LEDGER_EV_SOAK_STOPPED:
		ev->u.soak.name = get_str(&p, "name");
		get_strv(&p, "services", &ev->u.soak.services);
		ev->u.soak.summary = get_str(&p, "summary");
		break;
	case LEDGER_EV_UNIT_OBSERVED: {
		struct ledger_unit_observed *u = &ev->u.unit_observed;
		u->service = get_str(&p, "service");
		u->runtime = (enum ledger_runtime)get_runtime(&p, "runtime", true);
		u->active_state = get_str(&p, "active_state");
		u->sub_state = get_str(&p, "sub_state");
		u->restarts = (uint32_t)get_int(&p, "restarts", 0, UINT32_MAX);
		u->pid = (uint32_t)get_int(&p, "pid", 0, UINT32_MAX);
		u->memory_bytes = (uint64_t)get_int(&p, "memory_bytes", 0, INT64_MAX);
		break;
	}
	case LEDGER_EV_BUILD_COMPLETED:
		ev->u.build_completed.path = get_str(&p, "path");
		ev->u.build_completed.commit = get_str(&p, "commit");
		break;
	default:
		break;
	}
	return p.r;
}

/* ---- states -------------------------------------------------------------------------------- */

static json_t *commit_or_null(const char *c)
{
	return str_empty(c) ? json_null() : json_str(c);
}

static json_t *good_json(const struct ledger_good *g)
{
	return json_pack("{s:o,s:I,s:o,s:I}", "commit", json_str(g->commit), "op",
			 (json_int_t)g->op, "time", json_time(g->time_ns), "time_ns",
			 (json_int_t)g->time_ns);
}

json_t *render_inflight_json(const struct ledger_state *st, const struct ledger_inflight *in)
{
	json_t *o, *svc;

	if (!in->op)
		return json_null();
	o = json_object();
	set(o, "op", json_integer((json_int_t)in->op));
	set(o, "kind", json_str(in->kind));
	set(o, "runtime", json_str(runtime_name(in->runtime)));
	set(o, "phase", json_str(in->phase));
	set(o, "actor", json_str(in->actor));
	set(o, "pid", json_integer(in->pid));
	set(o, "since", json_time(in->started_ns));
	set(o, "since_ns", json_integer(in->started_ns));
	set(o, "commit", commit_or_null(in->commit));
	set(o, "prev_commit", commit_or_null(in->prev_commit));
	set(o, "reverts", json_integer((json_int_t)in->reverts));
	svc = json_array();
	for (uint32_t i = 0; i < in->nservices && i < LEDGER_MAX_SERVICES; i++)
		if (in->services[i] < st->nservices)
			json_array_append_new(svc, json_str(st->services[in->services[i]].name));
	set(o, "services", svc);
	set(o, "verify_failed", json_boolean(in->verify_failed));
	return o;
}

/* Whether the in-flight operation may have restarted service i on runtime rt without the
 * ledger knowing yet: it is in the phase that restarts (a deploy's "restart", a rollback's
 * "rollout") and no unit.restarted of it names the service. A kill there leaves systemd to
 * finish a restart that was asked for, so what runs is the recorded commit or the operation's
 * target until the next operation settles it. Returns the operation, or NULL. */
static const struct ledger_inflight *restart_unsettled(const struct ledger_state *st, uint32_t i,
						       int rt)
{
	const struct ledger_inflight *in = &st->inflight;
	bool restarting = strcmp(in->kind, "rollback") == 0 ? strcmp(in->phase, "rollout") == 0
							    : strcmp(in->phase, "restart") == 0;

	if (!in->op || in->runtime != rt || !restarting || st->services[i].rt[rt].op == in->op)
		return NULL;
	for (uint32_t k = 0; k < in->nservices && k < LEDGER_MAX_SERVICES; k++)
		if (in->services[k] == i)
			return in;
	return NULL;
}

json_t *render_state_json(const struct ledger_state *st)
{
	json_t *o = json_object(), *services = json_array(), *q = json_array(), *c, *oc;

	set(o, "seq", json_integer((json_int_t)st->seq));
	set(o, "time", json_time(st->time_ns));
	set(o, "time_ns", json_integer(st->time_ns));
	set(o, "checkout",
	    json_pack("{s:o,s:o}", "commit", commit_or_null(st->checkout_commit), "ref",
		      json_str(st->checkout_ref)));
	set(o, "last_op", json_integer((json_int_t)st->last_op));
	for (uint32_t i = 0; i < st->nservices; i++) {
		const struct ledger_service_state *s = &st->services[i];
		json_t *so = json_object(), *rts = json_object();

		set(so, "name", json_str(s->name));
		set(so, "owner", s->owner >= 0 ? json_str(runtime_name(s->owner)) : json_null());
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_service_runtime *r = &s->rt[rt];
			json_t *ro, *goods;

			if (str_empty(r->commit) && r->ngood == 0)
				continue;
			ro = json_object();
			set(ro, "commit", commit_or_null(r->commit));
			set(ro, "since", json_time(r->since_ns));
			set(ro, "since_ns", json_integer(r->since_ns));
			set(ro, "op", json_integer((json_int_t)r->op));
			set(ro, "healthy", json_boolean(r->healthy));
			{
				const struct ledger_inflight *in = restart_unsettled(st, i, rt);

				set(ro, "unsettled",
				    in ? json_pack("{s:I,s:o}", "op", (json_int_t)in->op, "may_run",
						   commit_or_null(in->commit))
				       : json_null());
			}
			set(ro, "last_good", r->ngood ? good_json(&r->good[0]) : json_null());
			goods = json_array();
			for (uint32_t g = 0; g < r->ngood && g < LEDGER_GOOD_DEPTH; g++)
				json_array_append_new(goods, good_json(&r->good[g]));
			set(ro, "good", goods);
			set(rts, runtime_name(rt), ro);
		}
		set(so, "runtimes", rts);
		json_array_append_new(services, so);
	}
	set(o, "services", services);
	for (uint32_t i = 0; i < st->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
		const struct ledger_quarantine *e = &st->quarantine[i];
		json_array_append_new(
		    q, json_pack("{s:o,s:I,s:I,s:o,s:I,s:o}", "commit", json_str(e->commit), "op",
				 (json_int_t)e->op, "rollback_op", (json_int_t)e->rollback_op,
				 "time", json_time(e->time_ns), "time_ns", (json_int_t)e->time_ns,
				 "reason", json_str(e->reason)));
	}
	set(o, "quarantine", q);
	set(o, "inflight", render_inflight_json(st, &st->inflight));
	set(o, "parent", render_inflight_json(st, &st->parent));
	c = json_object();
	set(c, "events", json_integer((json_int_t)st->counters.events));
	set(c, "ops", json_integer((json_int_t)st->counters.ops));
	oc = json_object();
	for (int i = LEDGER_OUT_SUCCEEDED; i < LEDGER_OUT__COUNT; i++)
		set(oc, ledger_outcome_name((enum ledger_outcome)i),
		    json_integer((json_int_t)st->counters.outcome[i]));
	set(c, "outcomes", oc);
	set(c, "unknown_events", json_integer((json_int_t)st->counters.unknown_events));
	set(o, "counters", c);
	return o;
}

static void inflight_text(FILE *f, const char *label, const struct ledger_state *st,
			  const struct ledger_inflight *in)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1];

	render_time_short(in->started_ns, t, sizeof(t));
	fprintf(f, "%s op %" PRIu64 " (%s on %s), phase %s, by %s pid %u, since %s, target %s",
		label, in->op, in->kind, runtime_name(in->runtime), in->phase[0] ? in->phase : "-",
		in->actor[0] ? in->actor : "?", in->pid, t, render_short_commit(in->commit, c));
	if (in->nservices) {
		fputs(", services ", f);
		for (uint32_t i = 0; i < in->nservices && i < LEDGER_MAX_SERVICES; i++)
			if (in->services[i] < st->nservices)
				fprintf(f, "%s%s", i ? "," : "",
					st->services[in->services[i]].name);
	}
	if (in->verify_failed)
		fputs(", verify failed", f);
	fputc('\n', f);
}

void render_state_text(FILE *f, const struct ledger_state *st)
{
	char t[40], c[RENDER_SHORT_COMMIT + 1], g[RENDER_SHORT_COMMIT + 1], gt[40];
	size_t w = 7;

	render_time_short(st->time_ns, t, sizeof(t));
	/* Every op.requested and standalone op.refused counts: an automatic rollback nested in a
	 * deploy is an operation of its own. Say so, or the sum looks wrong. */
	fprintf(f,
		"ledger at seq %" PRIu64 " (%s): %" PRIu64
		" operations (automatic rollbacks and refusals included)",
		st->seq, t, st->counters.ops);
	for (int i = LEDGER_OUT_SUCCEEDED; i < LEDGER_OUT__COUNT; i++)
		if (st->counters.outcome[i])
			fprintf(f, ", %" PRIu64 " %s", st->counters.outcome[i],
				ledger_outcome_name((enum ledger_outcome)i));
	fputc('\n', f);
	if (!str_empty(st->checkout_commit))
		fprintf(f, "checkout %s%s%s%s\n", render_short_commit(st->checkout_commit, c),
			st->checkout_ref[0] ? " (" : "", st->checkout_ref,
			st->checkout_ref[0] ? ")" : "");
	fputc('\n', f);

	if (st->nservices == 0) {
		fputs("no service was deployed yet\n", f);
	} else {
		for (uint32_t i = 0; i < st->nservices; i++)
			if (strlen(st->services[i].name) > w)
				w = strlen(st->services[i].name);
		fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  %s\n", (int)w, "SERVICE", "OWNER",
			"RUNTIME", "COMMIT", "SINCE", "HEALTH", "LAST GOOD");
		for (uint32_t i = 0; i < st->nservices; i++) {
			const struct ledger_service_state *s = &st->services[i];
			bool any = false;

			for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
				const struct ledger_service_runtime *r = &s->rt[rt];

				if (str_empty(r->commit) && r->ngood == 0)
					continue;
				render_time_short(r->since_ns, t, sizeof(t));
				fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  ", (int)w,
					any ? "" : s->name,
					any ? ""
					    : (s->owner >= 0 ? runtime_name(s->owner) : "none"),
					runtime_name(rt), render_short_commit(r->commit, c), t,
					str_empty(r->commit)	       ? "-"
					: restart_unsettled(st, i, rt) ? "restarting?"
					: r->healthy		       ? "healthy"
								       : "UNHEALTHY");
				if (r->ngood) {
					render_time_short(r->good[0].time_ns, gt, sizeof(gt));
					fprintf(f, "%s (op %" PRIu64 ", %s)\n",
						render_short_commit(r->good[0].commit, g),
						r->good[0].op, gt);
				} else {
					fputs("-\n", f);
				}
				any = true;
			}
			if (!any)
				fprintf(f, "%-*s  %-6s  %-7s  %-12s  %-20s  %-9s  -\n", (int)w,
					s->name, s->owner >= 0 ? runtime_name(s->owner) : "none",
					"-", "-", "-", "-");
		}
	}

	for (uint32_t i = 0; i < st->nservices; i++)
		for (int rt = 0; rt < LEDGER_RT__COUNT; rt++) {
			const struct ledger_inflight *in = restart_unsettled(st, i, rt);

			if (!in)
				continue;
			fprintf(
			    f,
			    "%s: operation %" PRIu64 " asked for its restart and has not recorded "
			    "the result: it runs %s, or %s if systemd carried the restart out; the "
			    "next deploy or rollback settles it\n",
			    st->services[i].name, in->op,
			    str_empty(st->services[i].rt[rt].commit)
				? "nothing recorded"
				: render_short_commit(st->services[i].rt[rt].commit, c),
			    str_empty(in->commit) ? "that operation's target"
						  : render_short_commit(in->commit, g));
		}
	if (st->nquarantine) {
		fputs("\nquarantined commits (a rollback undid them; deploy them again only on "
		      "purpose):\n",
		      f);
		for (uint32_t i = 0; i < st->nquarantine && i < LEDGER_MAX_QUARANTINE; i++) {
			const struct ledger_quarantine *q = &st->quarantine[i];

			render_time_short(q->time_ns, t, sizeof(t));
			fprintf(f,
				"  %-12s  op %" PRIu64 " rolled back by op %" PRIu64 " at %s: %s\n",
				render_short_commit(q->commit, c), q->op, q->rollback_op, t,
				q->reason[0] ? q->reason : "-");
		}
	}
	fputc('\n', f);
	if (st->inflight.op) {
		inflight_text(f, "in flight:", st, &st->inflight);
		if (st->parent.op)
			inflight_text(f, "  nested in:", st, &st->parent);
	} else {
		fputs("in flight: none\n", f);
	}
}

/* ---- operation summaries ------------------------------------------------------------------- */

const char *render_op_outcome(const struct ledger_op_summary *s)
{
	if (s->refused)
		return "refused";
	if (s->outcome == LEDGER_OUT_NONE)
		return "running";
	return ledger_outcome_name(s->outcome);
}

static const char *op_guard(const struct ledger_op_summary *s)
{
	if (s->request.type == LEDGER_EV_OP_REFUSED)
		return s->request.u.op_refused.guard;
	return NULL;
}

json_t *render_op_json(const struct ledger_op_summary *s, const struct ledger_state *st)
{
	const struct ledger_op_requested *r = render_event_request(&s->request);
	static const struct ledger_op_requested none = {0};
	json_t *o = json_object();
	const char *guard = op_guard(s);

	if (!r)
		r = &none;
	set(o, "op", json_integer((json_int_t)s->op));
	set(o, "started", json_time(s->started_ns));
	set(o, "started_ns", json_integer(s->started_ns));
	set(o, "finished", json_time(s->finished_ns));
	set(o, "finished_ns", json_integer(s->finished_ns));
	set(o, "duration_ns",
	    s->finished_ns ? json_integer(s->finished_ns - s->started_ns) : json_null());
	set(o, "kind", json_str(r->kind));
	set(o, "mode", json_str(r->mode));
	set(o, "ref", json_str(r->ref));
	set(o, "commit", commit_or_null(s->commit[0] ? s->commit : r->commit));
	set(o, "prev_commit", commit_or_null(r->prev_commit));
	set(o, "runtime", json_str(runtime_name((int)r->runtime)));
	set(o, "services", strv_json(&r->services));
	set(o, "flags", strv_json(&r->flags));
	set(o, "reverts", json_integer((json_int_t)r->reverts));
	set(o, "actor", json_str(s->request.actor));
	set(o, "outcome", json_str(render_op_outcome(s)));
	set(o, "refused", json_boolean(s->refused));
	set(o, "guard", guard ? json_str(guard) : json_null());
	set(o, "error", json_str(s->error));
	set(o, "rollback_op", json_integer((json_int_t)s->rollback_op));
	set(o, "quarantined",
	    json_boolean(st && !str_empty(s->commit) && ledger_state_quarantined(st, s->commit)));
	return o;
}

void render_op_header(FILE *f)
{
	fprintf(f, "%6s  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  %-22s  %8s  %s\n", "ID", "STARTED",
		"KIND", "REF", "COMMIT", "RUNTIME", "SCOPE", "OUTCOME", "DURATION", "ACTOR");
}

void render_op_text(FILE *f, const struct ledger_op_summary *s, const struct ledger_state *st)
{
	const struct ledger_op_requested *r = render_event_request(&s->request);
	static const struct ledger_op_requested none = {0};
	char t[40], c[RENDER_SHORT_COMMIT + 2], d[32], ref[96], out[64];
	struct buf scope = {0};
	const char *guard = op_guard(s);

	if (!r)
		r = &none;
	render_time_short(s->started_ns, t, sizeof(t));
	if (str_empty(r->ref) || streq(r->ref, r->mode))
		snprintf(ref, sizeof(ref), "%s", str_empty(r->mode) ? "-" : r->mode);
	else if (streq(r->mode, "ref") || streq(r->mode, "to"))
		snprintf(ref, sizeof(ref), "%s", r->ref);
	else
		snprintf(ref, sizeof(ref), "%s %s", r->mode, r->ref);
	if (r->reverts) {
		char rv[32];

		snprintf(rv, sizeof(rv), " (op %" PRIu64 ")", r->reverts);
		if (streq(r->mode, "auto") || streq(r->mode, "last-good"))
			snprintf(ref, sizeof(ref), "%s", r->mode);
		if (strlen(ref) + strlen(rv) < sizeof(ref))
			strcat(ref, rv);
	}
	if (strlen(ref) > 20)
		strcpy(ref + 18, "..");
	render_short_commit(s->commit, c);
	if (str_empty(s->commit))
		strcpy(c, "-");
	else if (st && ledger_state_quarantined(st, s->commit))
		strcat(c, "!");
	for (uint32_t i = 0; i < r->services.n; i++) {
		if (scope.len + strlen(nz(r->services.v[i])) > 22) {
			buf_printf(&scope, "+%u", r->services.n - i);
			break;
		}
		buf_printf(&scope, "%s%s", nz(r->services.v[i]), i + 1 < r->services.n ? "," : "");
	}
	if (!scope.len)
		buf_printf(&scope, "all");
	if (!str_empty(guard))
		snprintf(out, sizeof(out), "refused (%s)", guard);
	else if (s->outcome == LEDGER_OUT_ROLLED_BACK && s->rollback_op)
		snprintf(out, sizeof(out), "rolled-back (op %" PRIu64 ")", s->rollback_op);
	else
		snprintf(out, sizeof(out), "%s", render_op_outcome(s));
	if (s->finished_ns && !s->refused && str_empty(guard))
		format_duration(s->finished_ns - s->started_ns, d, sizeof(d));
	else
		snprintf(d, sizeof(d), "-");
	fprintf(f, "%6" PRIu64 "  %-20s  %-8s  %-20s  %-13s  %-7s  %-24s  %-22s  %8s  %s\n", s->op,
		t, str_empty(r->kind) ? "-" : r->kind, ref, c, runtime_name((int)r->runtime),
		scope.data, out, d, str_empty(s->request.actor) ? "-" : s->request.actor);
	buf_free(&scope);
}

/* ---- Deploy Timings ------------------------------------------------------------------------ */

void render_timings_add(struct render_timings *t, const char *phase, int64_t ns)
{
	if (t->n >= ELEMENTSOF(t->v))
		return;
	strlcpy_(t->v[t->n].phase, nz(phase), sizeof(t->v[t->n].phase));
	t->v[t->n].ns = ns;
	t->n++;
}

int64_t render_timings_total(const struct render_timings *t)
{
	int64_t total = 0;

	for (size_t i = 0; i < t->n; i++)
		total += t->v[i].ns;
	return total;
}

void render_timings_print(FILE *f, const struct render_timings *t)
{
	char d[32];

	fputs("\n== Deploy Timings ==\n", f);
	for (size_t i = 0; i < t->n; i++) {
		format_duration(t->v[i].ns, d, sizeof(d));
		fprintf(f, "[deploy] %s: %s\n", t->v[i].phase, d);
	}
	format_duration(render_timings_total(t), d, sizeof(d));
	fprintf(f, "[deploy] total: %s\n", d);
}

json_t *render_timings_json(const struct render_timings *t)
{
	json_t *o = json_object(), *a = json_array();
	char d[32];

	for (size_t i = 0; i < t->n; i++) {
		format_duration(t->v[i].ns, d, sizeof(d));
		json_array_append_new(a,
				      json_pack("{s:o,s:I,s:s}", "phase", json_str(t->v[i].phase),
						"ns", (json_int_t)t->v[i].ns, "duration", d));
	}
	set(o, "phases", a);
	set(o, "total_ns", json_integer(render_timings_total(t)));
	format_duration(render_timings_total(t), d, sizeof(d));
	set(o, "total", json_string(d));
	return o;
}

/* ---- helpers of the read commands ---------------------------------------------------------- */

int render_arg_time(const struct cmd_entry *c, const char *opt, const char *value, int64_t *out)
{
	if (parse_time_ns(value, now_ns(), out) < 0) {
		log_error(
		    "%s: bad time '%s' for %s: use RFC 3339 (2026-11-27T08:00:00Z, a real date "
		    "from 1970 to 2262) or an age like 45s, 90m, 2h, 3d",
		    c->name, value, opt);
		return SL_EUSAGE;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (str_empty(s) || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > INT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

int render_arg_u64(const struct cmd_entry *c, const char *what, const char *value, uint64_t min,
		   uint64_t *out)
{
	if (parse_u64(value, out) < 0 || *out < min) {
		log_error("%s: bad %s '%s': expected a number%s", c->name, what, value,
			  min ? " of 1 or more" : "");
		return SL_EUSAGE;
	}
	return 0;
}

int render_arg_bad_option(const struct cmd_entry *c, char **argv, int optind_, int optopt_)
{
	const char *arg = optind_ > 0 ? argv[optind_ - 1] : "?";

	if (optopt_ && !str_startswith(arg, "--"))
		log_error("%s: unknown option or missing value '-%c'; see 'shiplog %s --help'",
			  c->name, optopt_, c->name);
	else
		log_error("%s: unknown option or missing value '%s'; see 'shiplog %s --help'",
			  c->name, arg, c->name);
	return SL_EUSAGE;
}

int render_ledger_fail(const struct cmd_entry *c, struct ledger *lg, int r, const char *what,
		       uint64_t seq)
{
	const char *detail = lg ? ledger_errmsg(lg) : "";

	if (r == LEDGER_ECORRUPT || r == LEDGER_ETOOBIG || r == LEDGER_ESCHEMA) {
		if (seq)
			log_error("%s: event %" PRIu64 " of the ledger is unreadable (%s%s%s); run "
				  "'shiplog ledger verify'",
				  c->name, seq, ledger_strerror(r), str_empty(detail) ? "" : ": ",
				  detail);
		else
			log_error(
			    "%s: the ledger is unreadable (%s%s%s); run 'shiplog ledger verify'",
			    c->name, ledger_strerror(r), str_empty(detail) ? "" : ": ", detail);
		return r;
	}
	log_error("%s: %s: %s%s%s", c->name, what, ledger_strerror(r),
		  str_empty(detail) ? "" : ": ", detail);
	return r;
}

uint64_t render_newest_op(struct ledger *lg)
{
	struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
	struct ledger_op_summary *rows = NULL;
	size_t n = 0;
	uint64_t op = 0;

	if (ledger_history(lg, &f, 1, &rows, &n) == 0 && n > 0)
		op = rows[0].op;
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	return op;
}

int render_check_point(const struct cmd_entry *c, const char *arg, bool ops)
{
	struct point p;
	int r = point_parse(arg, now_ns(), &p);

	(void)ops;
	if (r == -EINVAL) {
		log_error("%s: bad sequence '%s': expected seq:N with N a number", c->name, arg);
		return SL_EUSAGE;
	}
	if (r < 0) {
		log_error("%s: bad point '%s': use an operation id (41), a sequence (seq:120), RFC "
			  "3339 time (2026-11-27T08:00:00Z) or an age like 90m, 2h, 3d",
			  c->name, arg);
		return SL_EUSAGE;
	}
	return 0;
}

int render_resolve_point(const struct cmd_entry *c, struct ledger *lg, const char *arg, bool ops,
			 uint64_t *seq, char *desc, size_t desclen)
{
	struct point p;
	struct point_at at;
	char err[256];
	int r;

	if (render_check_point(c, arg, ops) < 0)
		return SL_EUSAGE;
	point_parse(arg, now_ns(), &p);
	r = point_resolve(lg, &p, ops ? POINT_NUMBER_OP : POINT_NUMBER_SEQ, &at, err, sizeof(err));
	if (r == -ERANGE) {
		log_error("%s: %s", c->name, err);
		return SL_EUSAGE;
	}
	if (r < 0)
		return render_ledger_fail(c, lg, r, err, 0);
	*seq = at.seq;
	if (p.kind == POINT_NOW) {
		snprintf(desc, desclen, "now (seq %" PRIu64 ")", at.seq);
	} else if (at.op) {
		snprintf(desc, desclen, "op %" PRIu64 " (seq %" PRIu64 ")", at.op, at.seq);
	} else if (p.kind == POINT_TIME) {
		char ts[40];
		render_time_short(p.time_ns, ts, sizeof(ts));
		snprintf(desc, desclen, "%s (seq %" PRIu64 ")", ts, at.seq);
	} else {
		snprintf(desc, desclen, "seq %" PRIu64, at.seq);
	}
	return 0;
}

int render_args_json_only(const struct cmd_entry *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {0},
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'J')
			return render_arg_bad_option(c, argv, optind, optopt);
		out_settings.json = true;
	}
	return 0;
}
