/* SPDX-License-Identifier: MIT */
/* An operation in flight against a real ledger: what op.c appends for the intent, phases,
 * commands and the end, that a command's failure is named by what the operator wrote, that
 * secrets never reach the ledger, and that an operation left open is closed as interrupted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "op.h"
#include "testlib.h"
#include "util.h"

struct fixture {
	char *dir;
	struct ledger *lg;
	struct op op;
};

static void begin(struct fixture *f, const char *tag)
{
	struct ledger_op_requested req = {
	    .kind = "deploy", .mode = "ref", .ref = "main", .commit = "", .prev_commit = ""};

	memset(f, 0, sizeof(*f));
	f->dir = tl_mkdtemp(tag);
	cr_assert_eq(ledger_open(&f->lg, f->dir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(op_begin(&f->op, f->lg, &req), 0);
}

static void end(struct fixture *f)
{
	ledger_close(f->lg);
	tl_rmrf(f->dir);
	free(f->dir);
}

/* The event at seq, decoded; caller releases. */
static void get(struct fixture *f, uint64_t seq, struct ledger_event *ev,
		enum ledger_event_type want)
{
	cr_assert_eq(ledger_get(f->lg, seq, ev), 0, "event %llu", (unsigned long long)seq);
	cr_assert_eq(ev->type, want, "event %llu is %s", (unsigned long long)seq, ev->type_name);
	cr_assert_eq(ev->op, f->op.id, "event %llu belongs to the operation",
		     (unsigned long long)seq);
}

static uint64_t last(struct fixture *f)
{
	uint64_t seq = 0;

	cr_assert_eq(ledger_last_seq(f->lg, &seq), 0);
	return seq;
}

Test(op, the_intent_phases_steps_and_end_are_events_of_the_operation)
{
	struct fixture f;
	struct ledger_event ev;
	char *ok[] = {"true", NULL}, *bad[] = {"sh", "-c", "exit 3", NULL};

	begin(&f, "op-events");
	cr_assert_eq(f.op.id, 1, "the intent's sequence is the operation id");
	get(&f, 1, &ev, LEDGER_EV_OP_REQUESTED);
	cr_assert_eq(ev.u.op_requested.pid, (uint32_t)getpid());
	ledger_event_release(&ev);

	cr_assert_eq(op_phase_begin(&f.op, "rollout", "Rollout"), 0);
	cr_assert_eq(op_run(&f.op, "probe", ok, "/", true, NULL), 0);
	cr_assert_eq(op_run(&f.op, "probe", bad, "/", true, NULL), SL_EFAILED);
	cr_assert_eq(op_phase_end(&f.op, false, "probe failed"), 0);
	cr_assert_eq(op_finish(&f.op, LEDGER_OUT_FAILED, 0), 0);

	get(&f, 2, &ev, LEDGER_EV_PHASE_STARTED);
	cr_assert_str_eq(ev.u.phase.name, "rollout");
	ledger_event_release(&ev);
	get(&f, 3, &ev, LEDGER_EV_STEP_RAN);
	cr_assert_eq(ev.u.step_ran.exit_code, 0);
	cr_assert_str_eq(ev.u.step_ran.argv.v[0], "true");
	ledger_event_release(&ev);
	get(&f, 4, &ev, LEDGER_EV_STEP_RAN);
	cr_assert_eq(ev.u.step_ran.exit_code, 3);
	cr_assert_eq(ev.u.step_ran.argv.n, 3);
	cr_assert_str_eq(ev.u.step_ran.argv.v[2], "exit 3");
	ledger_event_release(&ev);
	get(&f, 5, &ev, LEDGER_EV_PHASE_FINISHED);
	cr_assert_not(ev.u.phase.ok);
	ledger_event_release(&ev);
	get(&f, 6, &ev, LEDGER_EV_OP_FINISHED);
	cr_assert_eq(ev.u.op_finished.outcome, LEDGER_OUT_FAILED);
	cr_assert(strstr(ev.u.op_finished.error, "probe"), "the first failure is the error: %s",
		  ev.u.op_finished.error);
	cr_assert_gt(ev.u.op_finished.duration_ns, 0);
	ledger_event_release(&ev);
	cr_assert_eq(last(&f), 6, "nothing else was appended");
	end(&f);
}

Test(op, a_shell_build_is_named_by_its_text_and_its_secrets_are_redacted)
{
	struct fixture f;
	struct ledger_event ev;
	struct strv secrets = {0};
	char *argv[] = {"/bin/sh", "-c", "echo token is $API_TOKEN; echo done; exit 7", NULL};
	char *env[] = {"API_TOKEN=hunter2-very-secret", NULL};

	begin(&f, "op-shell");
	strv_push(&secrets, "API_TOKEN=hunter2-very-secret");
	cr_assert_eq(op_phase_begin(&f.op, "build", "Build"), 0);
	cr_assert_eq(op_run_shell(&f.op, "build", argv, "/", env, &secrets), SL_EFAILED);
	cr_assert(strstr(f.op.error, "echo token is"), "the failure names the shell string: %s",
		  f.op.error);
	cr_assert_null(strstr(f.op.error, "'/bin/sh' exited"), "%s", f.op.error);
	get(&f, 3, &ev, LEDGER_EV_STEP_RAN);
	cr_assert_eq(ev.u.step_ran.exit_code, 7);
	cr_assert(strstr(ev.u.step_ran.output, "done"), "the tail is kept: %s",
		  ev.u.step_ran.output);
	cr_assert_null(strstr(ev.u.step_ran.output, "hunter2"), "the secret value is redacted: %s",
		       ev.u.step_ran.output);
	cr_assert(strstr(ev.u.step_ran.output, "token is"), "%s", ev.u.step_ran.output);
	ledger_event_release(&ev);
	strv_free(&secrets);
	cr_assert_eq(op_finish(&f.op, LEDGER_OUT_FAILED, 0), 0);
	end(&f);
}

Test(op, an_operation_left_open_is_closed_as_interrupted)
{
	struct fixture f;
	struct ledger_event ev;
	struct ledger_state *st = xcalloc(1, sizeof(*st));

	begin(&f, "op-open");
	cr_assert_eq(op_phase_begin(&f.op, "rollout", "Rollout"), 0);
	/* the process "dies" here: nothing more is appended by this operation */
	cr_assert_eq(op_close_interrupted(f.lg, "test"), 0);
	get(&f, last(&f), &ev, LEDGER_EV_OP_FINISHED);
	cr_assert_eq(ev.u.op_finished.outcome, LEDGER_OUT_INTERRUPTED);
	ledger_event_release(&ev);
	cr_assert_eq(ledger_state_at(f.lg, last(&f), st), 0);
	cr_assert_eq(st->inflight.op, 0, "no operation is in flight any more");
	/* closing again finds nothing to close */
	{
		uint64_t before = last(&f);
		cr_assert_eq(op_close_interrupted(f.lg, "test"), 0);
		cr_assert_eq(last(&f), before);
	}
	free(st);
	end(&f);
}

Test(op, a_failed_append_stops_every_later_side_effect)
{
	struct fixture f;
	char *touch[] = {"touch", NULL, NULL};
	char *marker;

	begin(&f, "op-ro");
	marker = xasprintf("%s/ran", f.dir);
	touch[1] = marker;
	/* what op.c does after any append or sync failed */
	f.op.ledger_error = -ENOSPC;
	cr_assert_lt(op_durable(&f.op), 0, "no side effect after a failed append");
	cr_assert_lt(op_run(&f.op, "touch", touch, "/", true, NULL), 0);
	cr_assert_neq(access(marker, F_OK), 0, "the command did not run");
	free(marker);
	end(&f);
}
