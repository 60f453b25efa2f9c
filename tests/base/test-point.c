/* SPDX-License-Identifier: MIT */
/* point.c: the one grammar of a ledger point (now, seq:N, N, a time), parsed without the ledger
 * and resolved against a real one made with the ledger API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ledger/ledger-gen.h"
#include "point.h"
#include "testlib.h"
#include "util.h"

#define NOW 1800000000000000000ll

Test(point, parses_every_form)
{
	struct point p;

	cr_assert_eq(point_parse("now", NOW, &p), 0);
	cr_assert_eq(p.kind, POINT_NOW);
	cr_assert_eq(point_parse("seq:120", NOW, &p), 0);
	cr_assert_eq(p.kind, POINT_SEQ);
	cr_assert_eq(p.n, 120);
	cr_assert_eq(point_parse("seq:0", NOW, &p), 0);
	cr_assert_eq(p.n, 0);
	cr_assert_eq(point_parse("41", NOW, &p), 0);
	cr_assert_eq(p.kind, POINT_NUMBER);
	cr_assert_eq(p.n, 41);
	cr_assert_eq(point_parse("2h", NOW, &p), 0);
	cr_assert_eq(p.kind, POINT_TIME);
	cr_assert_eq(p.time_ns, NOW - 7200ll * 1000000000ll);
	cr_assert_eq(point_parse("2026-11-27T08:00:00Z", NOW, &p), 0);
	cr_assert_eq(p.kind, POINT_TIME);
	cr_assert_eq(p.time_ns, 1795766400ll * 1000000000ll);
}

Test(point, a_bad_sequence_and_what_is_no_point)
{
	struct point p;

	cr_assert_eq(point_parse("seq:", NOW, &p), -EINVAL);
	cr_assert_eq(p.kind, POINT_SEQ);
	cr_assert_eq(point_parse("seq:x1", NOW, &p), -EINVAL);
	cr_assert_eq(point_parse("seq:-1", NOW, &p), -EINVAL);
	/* what is none of the forms: rollback reads it as a git ref */
	cr_assert_eq(point_parse("v2.0", NOW, &p), -ENOENT);
	cr_assert_eq(point_parse("main", NOW, &p), -ENOENT);
	cr_assert_eq(point_parse("+5", NOW, &p), -ENOENT);
	cr_assert_eq(point_parse(" 5", NOW, &p), -ENOENT);
	cr_assert_eq(point_parse("", NOW, &p), -ENOENT);
	cr_assert_eq(point_parse("99999999999999999999", NOW, &p), -ENOENT);
}

/* A ledger of: 1 a lock.broken (no operation), 2..5 operation 2 (requested, moved, restarted,
 * finished), 6..9 operation 6. */
static struct ledger *make_ledger(char **dir, struct gen *g, int64_t *t_between)
{
	static const char *const sv[] = {"web"};
	struct ledger_event ev = {.type = LEDGER_EV_LOCK_BROKEN};
	struct ledger *lg = NULL;
	uint64_t op;
	char c[41];

	*dir = tl_mkdtemp("point");
	cr_assert_eq(ledger_open(&lg, *dir, LEDGER_OPEN_CREATE, NULL), 0);
	gen_init(g, lg, 7);
	ev.u.lock_broken.holder = "bob@vps";
	gen_emit(g, &ev);
	for (int i = 0; i < 2; i++) {
		gen_commit(g, c);
		op = gen_request(g, "deploy", c, LEDGER_RT_NATIVE, sv, 1, 0);
		gen_move(g, op, c);
		gen_restart(g, op, LEDGER_RT_NATIVE, sv, 1);
		gen_finish(g, op, LEDGER_OUT_SUCCEEDED, 0, "");
		if (i == 0)
			*t_between = g->t + 1;
	}
	return lg;
}

static int resolve(struct ledger *lg, const char *arg, enum point_number number,
		   struct point_at *at, char *err)
{
	struct point p;

	cr_assert_eq(point_parse(arg, NOW, &p), 0, "%s", arg);
	return point_resolve(lg, &p, number, at, err, 256);
}

Test(point, resolves_against_a_ledger)
{
	struct gen g;
	struct point_at at;
	struct point p = {.kind = POINT_TIME};
	char *dir, err[256];
	int64_t between;
	struct ledger *lg = make_ledger(&dir, &g, &between);

	cr_assert_eq(resolve(lg, "now", POINT_NUMBER_SEQ, &at, err), 0);
	cr_assert_eq(at.seq, 9);
	cr_assert_eq(at.last, 9);
	cr_assert_eq(resolve(lg, "seq:3", POINT_NUMBER_OP, &at, err), 0);
	cr_assert_eq(at.seq, 3);
	cr_assert_eq(at.op, 0);
	cr_assert_eq(resolve(lg, "seq:0", POINT_NUMBER_OP, &at, err), 0);
	cr_assert_eq(at.seq, 0);

	/* a bare number: state --at reads a sequence; diff and rollback --to an operation number
	 * (1, 2, 3 ...: the lock.broken at event 1 is no operation, so operation 1 starts at event
	 * 2 and operation 2 at event 6) */
	cr_assert_eq(resolve(lg, "2", POINT_NUMBER_SEQ, &at, err), 0);
	cr_assert_eq(at.seq, 2);
	cr_assert_eq(at.op, 0);
	cr_assert_eq(resolve(lg, "1", POINT_NUMBER_OP, &at, err), 0);
	cr_assert_eq(at.seq, 5, "operation 1 ends at event 5, got %llu",
		     (unsigned long long)at.seq);
	cr_assert_eq(at.op, 2);
	cr_assert_eq(at.number, 1);
	cr_assert_eq(resolve(lg, "2", POINT_NUMBER_OP, &at, err), 0);
	cr_assert_eq(at.seq, 9);
	cr_assert_eq(at.op, 6);
	cr_assert_eq(at.number, 2);
	/* seq:N is an event, also where an operation starts */
	cr_assert_eq(resolve(lg, "seq:6", POINT_NUMBER_OP, &at, err), 0);
	cr_assert_eq(at.seq, 6);
	cr_assert_eq(at.op, 0);

	/* a time: the state after the last event before it */
	p.time_ns = between;
	cr_assert_eq(point_resolve(lg, &p, POINT_NUMBER_SEQ, &at, err, sizeof(err)), 0);
	cr_assert_eq(at.seq, 5);
	p.time_ns = 1;
	cr_assert_eq(point_resolve(lg, &p, POINT_NUMBER_SEQ, &at, err, sizeof(err)), 0);
	cr_assert_eq(at.seq, 0, "before the first event: the empty ledger");

	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

Test(point, what_is_not_in_the_ledger_is_said)
{
	struct gen g;
	struct point_at at;
	char *dir, err[256];
	int64_t between;
	struct ledger *lg = make_ledger(&dir, &g, &between);

	cr_assert_eq(resolve(lg, "seq:10", POINT_NUMBER_OP, &at, err), -ERANGE);
	cr_assert_str_eq(err, "no event 10 in this ledger (newest is 9)");
	cr_assert_eq(resolve(lg, "10", POINT_NUMBER_SEQ, &at, err), -ERANGE);
	cr_assert_str_eq(err, "no event 10 in this ledger (newest is 9)");
	/* a bare number is never read as a sequence where it names an operation, even when
	 * there is such an event */
	cr_assert_eq(resolve(lg, "4", POINT_NUMBER_OP, &at, err), -ERANGE);
	cr_assert_str_eq(err, "no operation 4 in this ledger (newest is 2); see 'shiplog history', "
			      "or write seq:4 for event 4");
	cr_assert_eq(resolve(lg, "0", POINT_NUMBER_OP, &at, err), -ERANGE);
	cr_assert_eq(resolve(lg, "12", POINT_NUMBER_OP, &at, err), -ERANGE);

	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}
