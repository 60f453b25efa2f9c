/* SPDX-License-Identifier: MIT */
#include "op.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "env.h"
#include "interrupt.h"
#include "out.h"
#include "progress.h"
#include "util.h"
#include "view.h"

volatile sig_atomic_t op_interrupted;

void op_catch_signals(void)
{
	interrupt_catch(&op_interrupted);
}

int op_interrupt_take(void)
{
	int sig = op_interrupted;

	op_interrupted = 0;
	return sig;
}

void op_interrupt_restore(int sig)
{
	if (sig)
		op_interrupted = sig;
}

/* Every event shiplog writes passes here: its free text (errors, argv, health targets and
 * details, which carry git remotes, URLs and libgit2/libcurl messages) is recorded with the
 * secrets of its URLs redacted. The copies live in strs until the append is done. */
static void redact_event(struct ledger_event *ev, struct strv *strs, const char ***argv)
{
#define REDACT(field)                                                                              \
	do {                                                                                       \
		if (field) {                                                                       \
			strv_push_take(strs, redact_secrets(field));                               \
			(field) = strs->v[strs->n - 1];                                            \
		}                                                                                  \
	} while (0)
	switch (ev->type) {
	case LEDGER_EV_OP_REFUSED:
		REDACT(ev->u.op_refused.reason);
		break;
	case LEDGER_EV_OP_FINISHED:
		REDACT(ev->u.op_finished.error);
		break;
	case LEDGER_EV_PHASE_FINISHED:
		REDACT(ev->u.phase.error);
		break;
	case LEDGER_EV_HEALTH_CHECKED:
		REDACT(ev->u.health_checked.target);
		REDACT(ev->u.health_checked.detail);
		break;
	case LEDGER_EV_STEP_RAN:
		*argv = xcalloc(ev->u.step_ran.argv.n + 1, sizeof(char *));
		for (uint32_t i = 0; i < ev->u.step_ran.argv.n; i++) {
			(*argv)[i] = ev->u.step_ran.argv.v[i];
			REDACT((*argv)[i]);
		}
		ev->u.step_ran.argv.v = *argv;
		break;
	default:
		break;
	}
#undef REDACT
}

void op_ledger_write_error(const char *path, const char *what, int r, const char *detail,
			   uint64_t op)
{
	char stopped[96] = "";

	const char *cause, *fix;

	switch (r) {
	case -ENOSPC:
	case -EDQUOT:
		cause = "the disk is full";
		fix =
		    "free space on that filesystem (df -h), or move the ledger ([target] ledger or "
		    "--ledger)";
		break;
	case -EROFS:
		cause = "the filesystem is read-only";
		fix = "remount it read-write, or move the ledger ([target] ledger or --ledger)";
		break;
	case -EACCES:
	case -EPERM:
		cause = "permission denied";
		fix =
		    "run shiplog as the ledger's owner, or give it back its modes (0700 directory, "
		    "0600 files)";
		break;
	default:
		cause = ledger_strerror(r);
		fix = "check the ledger's filesystem and run 'shiplog ledger verify'";
		break;
	}
	if (op) {
		char on[VIEW_OP_NAME_MAX];

		snprintf(stopped, sizeof(stopped), "; operation %s stopped before its next step",
			 view_op_name(op, on));
	}
	log_error("%s: cannot %s the ledger '%s'%s%s%s%s; %s, then run the command again", cause,
		  what, path ? path : "?", detail && *detail ? " (" : "", detail ? detail : "",
		  detail && *detail ? ")" : "", stopped, fix);
}

static int append(struct ledger *lg, struct ledger_event *ev, bool durable, uint64_t *seq)
{
	struct ledger_event clean = *ev;
	struct strv strs = {0};
	const char **argv = NULL;
	int r;

	ev->version = LEDGER_SCHEMA_VERSION;
	if (!ev->actor)
		ev->actor = actor_string();
	clean.version = ev->version;
	clean.actor = ev->actor;
	redact_event(&clean, &strs, &argv);
	r = ledger_append(lg, &clean, durable ? 0 : LEDGER_APPEND_NOSYNC, seq);
	/* the operation number the ledger assigned */
	if (ev->type == LEDGER_EV_OP_REQUESTED)
		ev->u.op_requested.number = clean.u.op_requested.number;
	else if (ev->type == LEDGER_EV_OP_REFUSED)
		ev->u.op_refused.req.number = clean.u.op_refused.req.number;
	free(argv);
	strv_free(&strs);
	return r;
}

/* Says once why the ledger took no write: later failures of the same operation stay quiet. */
static int append_failed(struct op *op, struct ledger *lg, const struct ledger_event *ev, int r)
{
	_cleanup_free_ char *what = xasprintf("record '%s' in", ledger_event_type_name(ev->type));

	if (op && op->ledger_error)
		return r;
	if (op)
		op->ledger_error = r;
	op_ledger_write_error(ledger_path(lg), what, r, ledger_errmsg(lg),
			      op && !op->finished ? op->id : 0);
	return r;
}

int op_begin(struct op *op, struct ledger *lg, struct ledger_op_requested *req)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED};
	int r;

	*op = (struct op){.lg = lg, .current = -1};
	op_catch_signals();
	strlcpy_(op->kind, req->kind, sizeof(op->kind));
	req->pid = (uint32_t)getpid();
	ev.u.op_requested = *req;
	r = append(lg, &ev, true, &op->id);
	if (r < 0)
		return append_failed(op, lg, &ev, r);
	req->number = op->number = ev.u.op_requested.number;
	op->started_mono = mono_ns();
	return 0;
}

static const struct ledger_phase_stats *base_phase(const struct op *op, const char *name)
{
	for (uint32_t i = 0; i < op->base.nphases && i < ELEMENTSOF(op->base.phases); i++)
		if (streq(op->base.phases[i].phase, name))
			return &op->base.phases[i];
	return NULL;
}

void op_expect(struct op *op, const struct ledger_op_requested *req, uint32_t last_n)
{
	struct ledger_history_filter f = {.runtime = (int)req->runtime,
					  .outcome = LEDGER_OUT_SUCCEEDED,
					  .kind = req->kind,
					  .match_scope = true,
					  .scope = req->services};
	struct progress_expect e = {0};
	const struct ledger_phase_stats *total;
	struct buf line = {0};
	char d[32];
	int r;

	r = ledger_stats(op->lg, &f, last_n ? last_n : 50, &op->base);
	if (r < 0)
		memset(&op->base, 0, sizeof(op->base));
	total = base_phase(op, "total");
	if (op->base.ops == 0 || !total || total->count == 0) {
		out_say("expected: no history yet (no earlier %s %s of this scope succeeded%s)",
			ledger_runtime_name(req->runtime), req->kind,
			r < 0 ? "; the ledger could not be read for it" : "");
		progress_begin(req->kind, NULL);
		return;
	}
	for (uint32_t i = 0; i < op->base.nphases && i < ELEMENTSOF(op->base.phases); i++) {
		const struct ledger_phase_stats *p = &op->base.phases[i];

		if (streq(p->phase, "total") || p->count == 0)
			continue;
		format_duration(p->p50_ns, d, sizeof(d));
		buf_printf(&line, "%s%s %s", line.len ? ", " : "", p->phase, d);
		if (e.n < ELEMENTSOF(e.v)) {
			strlcpy_(e.v[e.n].phase, p->phase, sizeof(e.v[e.n].phase));
			e.v[e.n++].ns = p->p50_ns;
		}
	}
	format_duration(total->p50_ns, d, sizeof(d));
	out_say("expected (p50 of the last %llu succeeded %s %s%s of this scope): %s",
		(unsigned long long)total->count, ledger_runtime_name(req->runtime), req->kind,
		total->count == 1 ? "" : "s", line.len ? line.data : "-");
	out_say("expected total: %s", d);
	buf_free(&line);
	progress_begin(req->kind, &e);
}

void op_waiting(struct op *op, const char *prefix, int64_t deadline_mono, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;

	(void)op;
	if (!fmt) {
		progress_wait(NULL, NULL, 0);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	progress_wait(what, prefix, deadline_mono);
}

int op_refuse_request(struct ledger *lg, struct ledger_op_requested *req, const char *guard,
		      const char *reason, uint64_t *id_out)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_REFUSED};
	int r;

	req->pid = (uint32_t)getpid();
	ev.u.op_refused.req = *req;
	ev.u.op_refused.guard = guard;
	ev.u.op_refused.reason = reason;
	r = append(lg, &ev, true, id_out);
	if (r < 0)
		return append_failed(NULL, lg, &ev, r);
	req->number = ev.u.op_refused.req.number;
	return r;
}

int op_append(struct op *op, struct ledger_event *ev)
{
	int r;

	ev->op = op->id;
	if (op->ledger_error)
		return op->ledger_error; /* nothing after a lost event: the record stays a prefix */
	r = append(op->lg, ev, false, NULL);
	if (r < 0)
		return append_failed(op, op->lg, ev, r);
	op->unsynced = true;
	return r;
}

int op_durable(struct op *op)
{
	int r;

	/* Called before every side effect: the place to stop when the operator asked to. */
	/* An event that could not be appended stops the operation here, before the side
	 * effect: nothing may happen that the ledger does not hold. */
	if (op->ledger_error)
		return op->ledger_error;
	if (op_interrupted) {
		op_fail(op, "interrupted by signal %d", (int)op_interrupted);
		ledger_sync(op->lg);
		return SL_EFAILED;
	}
	if (op->unsynced) {
		r = ledger_sync(op->lg);
		if (r < 0) {
			op->ledger_error = r;
			op_ledger_write_error(ledger_path(op->lg), "sync", r, ledger_errmsg(op->lg),
					      op->id);
			return r;
		}
		op->unsynced = false;
	}
	/* The records of the side effect come after it: their room is taken now, so a disk
	 * that fills in between cannot leave a restart or a checkout unrecorded. */
	r = ledger_reserve(op->lg, OP_RECORD_ROOM);
	if (r < 0) {
		op->ledger_error = r;
		op_ledger_write_error(ledger_path(op->lg), "make room for the next records in", r,
				      ledger_errmsg(op->lg), op->id);
		return r;
	}
	return 0;
}

int op_phase_begin(struct op *op, const char *name, const char *title)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_STARTED};

	if (op->current >= 0)
		op_phase_end(op, true, NULL);
	if (op->nphases >= OP_MAX_PHASES)
		return -E2BIG;
	op->current = (int)op->nphases++;
	strlcpy_(op->phases[op->current].name, name, LEDGER_NAME_MAX);
	op->phase_started_mono = mono_ns();
	out_phase(title);
	progress_phase(name);
	ev.u.phase.name = name;
	return op_append(op, &ev);
}

int op_phase_end(struct op *op, bool ok, const char *error)
{
	struct ledger_event ev = {.type = LEDGER_EV_PHASE_FINISHED};
	struct op_phase *p;

	if (op->current < 0)
		return 0;
	p = &op->phases[op->current];
	p->duration_ns = mono_ns() - op->phase_started_mono;
	p->ok = ok;
	op->current = -1;
	ev.u.phase.name = p->name;
	ev.u.phase.duration_ns = p->duration_ns;
	ev.u.phase.ok = ok;
	ev.u.phase.error = error ? error : "";
	return op_append(op, &ev);
}

void op_fail(struct op *op, const char *fmt, ...)
{
	va_list ap;

	if (op->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(op->error, sizeof(op->error), fmt, ap);
	va_end(ap);
}

static int record_step(struct op *op, const char *what, char *const argv[], const char *cwd,
		       int exit_code, int64_t duration_ns, const char *output)
{
	struct ledger_event ev = {.type = LEDGER_EV_STEP_RAN};
	size_t n = 0;

	while (argv[n])
		n++;
	ev.u.step_ran.argv.n = (uint32_t)n;
	ev.u.step_ran.argv.v = (const char **)argv;
	ev.u.step_ran.cwd = cwd ? cwd : "";
	ev.u.step_ran.exit_code = exit_code;
	ev.u.step_ran.duration_ns = duration_ns;
	ev.u.step_ran.what = what;
	ev.u.step_ran.output = output;
	return op_append(op, &ev);
}

int op_record_step(struct op *op, const char *what, char *const argv[], const char *cwd,
		   int exit_code, int64_t duration_ns, const char *suffix)
{
	out_argv(argv, suffix);
	op_waited(op, duration_ns);
	return record_step(op, what, argv, cwd, exit_code, duration_ns, NULL);
}

int op_record_check(struct op *op, const char *what, char *const argv[], const char *cwd,
		    int exit_code, int64_t duration_ns, const char *suffix, const char *output)
{
	out_argv(argv, suffix);
	op_waited(op, duration_ns);
	return record_step(op, what, argv, cwd, exit_code, duration_ns, output);
}

/* A line of a command's output on its way to the terminal: the values of `arg` (a struct strv of
 * "NAME=value" secrets, may be NULL) and the secrets of URLs redacted, before it is shown. */
static char *redact_line(const char *line, size_t len, void *arg)
{
	const struct strv *secrets = arg;
	_cleanup_free_ char *env = NULL;

	if (secrets && secrets->n)
		env = env_redact(line, len, secrets);
	else
		env = xstrndup(line, len);
	return redact_secrets(env);
}

int op_run(struct op *op, const char *what, char *const argv[], const char *cwd, bool capture,
	   struct spawn_result *res)
{
	return op_run_as(op, what, NULL, argv, cwd, capture, res);
}

int op_run_as(struct op *op, const char *what, const char *shown, char *const argv[],
	      const char *cwd, bool capture, struct spawn_result *res)
{
	/* Output that streams is relayed by us (captured and teed), not inherited: it passes the
	 * filter of terminal control bytes on its way to the terminal, line by line after the
	 * redaction of URL secrets. */
	struct spawn_opts so = {.cwd = cwd,
				.capture = true,
				.tee = !capture,
				.stream_to_stderr = out_settings.json,
				.tee_filter = redact_line,
				.abort_flag = &op_interrupted};
	struct spawn_result local = {0}, *rr = res ? res : &local;
	int r;

	out_argv(argv, NULL);
	r = op_durable(op);
	if (r < 0)
		return r;
	op_waiting(op, NULL, 0, "%s: %s", what, shown ? shown : argv[0]);
	r = spawn_run(argv, &so, rr);
	op_waiting(op, NULL, 0, NULL);
	if (!capture)
		spawn_result_release(rr); /* streamed: the caller asked for no output */
	op_waited(op, rr->duration_ns);
	record_step(op, what, argv, cwd, rr->exit_code, rr->duration_ns, NULL);
	if (r < 0) {
		op_fail(op, "%s: cannot run '%s': %s", what, argv[0], strerror(-r));
		log_error("%s: cannot run '%s': %s", what, argv[0], strerror(-r));
	} else if (rr->exit_code != 0) {
		op_fail(op, "%s: '%s' exited with status %d", what, argv[0], rr->exit_code);
		log_error("%s: '%s' exited with status %d", what, argv[0], rr->exit_code);
		r = SL_EFAILED;
	}
	if (!res)
		spawn_result_release(&local);
	return r;
}

/* The last OP_TAIL_LINES lines (at most OP_TAIL_BYTES) of an output, redacted. The redaction
 * runs on a wider window first, so that a value cut by the window's edge is not half shown. */
static char *output_tail(const char *out, size_t len, const struct strv *secrets)
{
	size_t from = len > 4 * OP_TAIL_BYTES ? len - 4 * OP_TAIL_BYTES : 0;
	_cleanup_free_ char *env = env_redact(out + from, len - from, secrets);
	_cleanup_free_ char *red = redact_secrets(env);
	size_t n = strlen(red), lines = 0, start;

	while (n && (red[n - 1] == '\n' || red[n - 1] == '\r'))
		red[--n] = '\0';
	start = n;
	while (start > 0 && n - start < OP_TAIL_BYTES) {
		if (red[start - 1] == '\n' && ++lines == OP_TAIL_LINES)
			break;
		start--;
	}
	if (n - start >= OP_TAIL_BYTES) {
		/* one long line: keep its end, from a character boundary */
		start = n - OP_TAIL_BYTES;
		while (start < n && ((unsigned char)red[start] & 0xC0) == 0x80)
			start++;
	}
	return xstrdup(red + start);
}

int op_run_shell(struct op *op, const char *what, char *const argv[], const char *cwd,
		 char *const env_add[], const struct strv *secrets)
{
	struct spawn_opts so = {.cwd = cwd,
				.env_add = env_add,
				.capture = true,
				.tee = true,
				.stream_to_stderr = out_settings.json,
				/* redacted line by line before it reaches the terminal */
				.tee_filter = redact_line,
				.tee_arg = (void *)secrets,
				.abort_flag = &op_interrupted};
	struct spawn_result res = {0};
	_cleanup_free_ char *tail = NULL;
	const char *shown;
	int r;

	out_argv(argv, NULL);
	r = op_durable(op);
	if (r < 0)
		return r;
	shown = streq(argv[0], "/bin/sh") && streq(argv[1], "-c") && argv[2] ? argv[2] : argv[0];
	op_waiting(op, NULL, 0, "%s: %s", what, shown);
	r = spawn_run(argv, &so, &res);
	op_waiting(op, NULL, 0, NULL);
	op_waited(op, res.duration_ns);
	tail = output_tail(res.output ? res.output : "", res.output_len, secrets);
	record_step(op, what, argv, cwd, res.exit_code, res.duration_ns, tail);
	spawn_result_release(&res);
	if (r < 0) {
		op_fail(op, "%s: cannot run '%s': %s", what, shown, strerror(-r));
		log_error("%s: cannot run '%s': %s", what, shown, strerror(-r));
	} else if (res.exit_code != 0 && op_interrupted) {
		/* not a failure of the step: the signal stopped it (abort_flag) */
		op_fail(op, "%s: '%.200s' was stopped by signal %d (it ended with status %d)", what,
			shown, (int)op_interrupted, res.exit_code);
		log_error("%s: '%.200s' was stopped: shiplog got signal %d (it ended with status "
			  "%d); its last lines are kept in 'shiplog show %llu'",
			  what, shown, (int)op_interrupted, res.exit_code,
			  (unsigned long long)op->number);
		r = SL_EFAILED;
	} else if (res.exit_code != 0) {
		op_fail(op, "%s: '%.200s' exited with status %d", what, shown, res.exit_code);
		log_error("%s: '%.200s' exited with status %d; its last lines are kept in 'shiplog "
			  "show %llu'",
			  what, shown, res.exit_code, (unsigned long long)op->number);
		r = SL_EFAILED;
	}
	return r;
}

void op_waited(struct op *op, int64_t ns)
{
	op->wait_ns += ns;
}

/* The phases slower than the comparable operations' p95: flagged and recorded (phase.slow). */
static void note_slow(struct op *op)
{
	for (size_t i = 0; i < op->nphases; i++) {
		struct op_phase *p = &op->phases[i];
		const struct ledger_phase_stats *b = base_phase(op, p->name);
		struct ledger_event ev = {.type = LEDGER_EV_PHASE_SLOW};

		if (!b || b->count < OP_SLOW_MIN_SAMPLES || p->duration_ns <= b->p95_ns ||
		    p->duration_ns - b->p95_ns <= OP_SLOW_MARGIN_NS)
			continue;
		p->slow = true;
		ev.u.phase_slow.name = p->name;
		ev.u.phase_slow.duration_ns = p->duration_ns;
		ev.u.phase_slow.p50_ns = b->p50_ns;
		ev.u.phase_slow.p95_ns = b->p95_ns;
		ev.u.phase_slow.samples = (uint32_t)b->count;
		op_append(op, &ev);
	}
}

/* The --json result line of a finished operation (op.h). */
static void op_print_result(const struct op *op, enum ledger_outcome outcome, uint64_t rollback_op)
{
	uint64_t rb_number = 0;
	json_t *o;

	if (rollback_op && ledger_op_number(op->lg, rollback_op, &rb_number) < 0)
		rb_number = 0;
	o = json_pack(
	    "{s:s,s:I,s:I,s:s,s:o,s:o,s:o,s:o,s:o}", "kind", op->kind, "op", (json_int_t)op->id,
	    "number", (json_int_t)op->number, "outcome", ledger_outcome_name(outcome), "commit",
	    json_str(op->result_commit), "prev_commit", json_str(op->result_prev), "rollback_op",
	    rollback_op ? json_integer((json_int_t)rollback_op) : json_null(), "rollback_number",
	    rb_number ? json_integer((json_int_t)rb_number) : json_null(), "error",
	    json_str(op->error));
	if (o && op->result_extra)
		json_object_update(o, op->result_extra);
	if (o)
		out_json(o);
}

int op_finish(struct op *op, enum ledger_outcome outcome, uint64_t rollback_op)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED};
	int r;

	if (op->finished)
		return 0;
	if (op->current >= 0)
		op_phase_end(op, outcome == LEDGER_OUT_SUCCEEDED, op->error);
	note_slow(op);
	ev.op = op->id;
	ev.u.op_finished.outcome = outcome;
	ev.u.op_finished.error = op->error;
	ev.u.op_finished.duration_ns = mono_ns() - op->started_mono;
	ev.u.op_finished.rollback_op = rollback_op;
	r = op->ledger_error ? op->ledger_error : append(op->lg, &ev, true, NULL);
	op->finished = true;
	if (r < 0)
		append_failed(op, op->lg, &ev, r);
	op->unsynced = false;
	op_print_timings(op);
	if (out_settings.json)
		op_print_result(op, outcome, rollback_op);
	return r;
}

void op_print_timings(const struct op *op)
{
	int64_t total = 0, wall = mono_ns() - op->started_mono;
	char d[32], p95[32], p50[32];

	progress_end();
	/* the reference's title for deploys; a rollback (also one nested in a failed deploy) says
	 * what it is */
	out_phase(streq(op->kind, "rollback")  ? "Rollback Timings"
		  : streq(op->kind, "cutover") ? "Cutover Timings"
					       : "Deploy Timings");
	for (size_t i = 0; i < op->nphases; i++) {
		const struct op_phase *ph = &op->phases[i];
		const struct ledger_phase_stats *b = ph->slow ? base_phase(op, ph->name) : NULL;

		format_duration(ph->duration_ns, d, sizeof(d));
		if (b) {
			format_duration(b->p95_ns, p95, sizeof(p95));
			format_duration(b->p50_ns, p50, sizeof(p50));
			out_say_tone(OUT_TONE_WARN,
				     "%s: %s%s  SLOW: p95 %s, p50 %s over %llu earlier", ph->name,
				     d, ph->ok ? "" : " (failed)", p95, p50,
				     (unsigned long long)b->count);
		} else {
			out_say("%s: %s%s", ph->name, d, ph->ok ? "" : " (failed)");
		}
		total += op->phases[i].duration_ns;
	}
	format_duration(total, d, sizeof(d));
	out_say("total: %s", d);
	if (out_settings.verbosity > 0) {
		format_duration(wall - op->wait_ns, d, sizeof(d));
		out_say(
		    "shiplog overhead: %s (%.3f ms; wall minus time waiting on commands, jobs and "
		    "checks)",
		    d, (double)(wall - op->wait_ns) / 1e6);
	}
}

static int close_one(struct ledger *lg, const struct ledger_inflight *f, const char *why_prefix)
{
	struct ledger_event ev = {.type = LEDGER_EV_OP_FINISHED};
	char when[64], err[512], on[VIEW_OP_NAME_MAX];
	int r;

	format_time(f->started_ns, when, sizeof(when));
	if (f->number)
		snprintf(on, sizeof(on), "%llu", (unsigned long long)f->number);
	else
		view_op_name(f->op, on);
	snprintf(err, sizeof(err),
		 "%s: process %u (%s) stopped during phase '%s' without finishing", why_prefix,
		 f->pid, f->actor, f->phase[0] ? f->phase : "start");
	ev.op = f->op;
	ev.u.op_finished.outcome = LEDGER_OUT_INTERRUPTED;
	ev.u.op_finished.error = err;
	out_say("closing operation %s (%s started %s by %s) as interrupted: it stopped during "
		"phase '%s'",
		on, f->kind, when, f->actor, f->phase[0] ? f->phase : "start");
	r = append(lg, &ev, true, NULL);
	return r < 0 ? append_failed(NULL, lg, &ev, r) : r;
}

int op_close_interrupted(struct ledger *lg, const char *why_prefix)
{
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	int r;

	r = ledger_state_at(lg, UINT64_MAX, st);
	if (r < 0) {
		log_error("cannot read the ledger state: %s: %s", ledger_strerror(r),
			  ledger_errmsg(lg));
		goto out;
	}
	r = op_close_inflight(lg, st, why_prefix);
out:
	free(st);
	return r;
}

int op_close_inflight(struct ledger *lg, const struct ledger_state *st, const char *why_prefix)
{
	int r = 0;

	if (st->inflight.op) {
		struct ledger_inflight parent = st->parent;
		r = close_one(lg, &st->inflight, why_prefix);
		if (r >= 0 && parent.op)
			r = close_one(lg, &parent, why_prefix);
	}
	return r;
}
