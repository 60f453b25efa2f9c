/* SPDX-License-Identifier: MIT */
#include "view.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

const struct ledger_op_requested *render_event_request(const struct ledger_event *ev)
{
	if (ev->type == LEDGER_EV_OP_REQUESTED)
		return &ev->u.op_requested;
	if (ev->type == LEDGER_EV_OP_REFUSED && !str_empty(ev->u.op_refused.req.kind))
		return &ev->u.op_refused.req;
	return NULL;
}

const char *render_op_outcome(const struct ledger_op_summary *s)
{
	if (s->refused)
		return "refused";
	if (s->outcome == LEDGER_OUT_NONE)
		return "running";
	return ledger_outcome_name(s->outcome);
}

const char *render_op_guard(const struct ledger_op_summary *s)
{
	if (s->request.type == LEDGER_EV_OP_REFUSED)
		return s->request.u.op_refused.guard;
	return NULL;
}

const char *render_runtime_name(int rt)
{
	if (rt < 0 || rt >= LEDGER_RT__COUNT)
		return "";
	return ledger_runtime_name((enum ledger_runtime)rt);
}

const struct ledger_inflight *render_restart_unsettled(const struct ledger_state *st, uint32_t i,
						       int rt)
{
	const struct ledger_inflight *in = &st->inflight;
	const char *phase = strcmp(in->kind, "rollback") == 0  ? "rollout"
			    : strcmp(in->kind, "cutover") == 0 ? "start"
							       : "restart";
	bool restarting = strcmp(in->phase, phase) == 0;

	if (!in->op || in->runtime != rt || !restarting || st->services[i].rt[rt].op == in->op)
		return NULL;
	for (uint32_t k = 0; k < in->nservices && k < LEDGER_MAX_SERVICES; k++)
		if (in->services[k] == i)
			return in;
	return NULL;
}

static struct {
	struct ledger *lg;
	struct {
		uint64_t op, number;
	} memo[64];
	size_t next;
} numbers;

void view_use_ledger(struct ledger *lg)
{
	memset(&numbers, 0, sizeof(numbers));
	numbers.lg = lg;
}

uint64_t view_op_number(uint64_t op)
{
	uint64_t n = 0;
	int r;

	if (!op || !numbers.lg)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(numbers.memo); i++)
		if (numbers.memo[i].op == op)
			return numbers.memo[i].number;
	r = ledger_op_number(numbers.lg, op, &n);
	if (r < 0 && r != LEDGER_ENOTFOUND)
		return 0; /* a failed read is not remembered */
	if (r < 0)
		n = 0;
	numbers.memo[numbers.next].op = op;
	numbers.memo[numbers.next].number = n;
	numbers.next = (numbers.next + 1) % (ELEMENTSOF(numbers.memo));
	return n;
}

const char *view_op_name(uint64_t op, char buf[VIEW_OP_NAME_MAX])
{
	uint64_t n = view_op_number(op);

	if (n)
		snprintf(buf, VIEW_OP_NAME_MAX, "%" PRIu64, n);
	else if (op)
		snprintf(buf, VIEW_OP_NAME_MAX, "seq:%" PRIu64, op);
	else
		snprintf(buf, VIEW_OP_NAME_MAX, "-");
	return buf;
}

const char *view_op_name_seq(uint64_t op, char buf[VIEW_OP_NAME_MAX])
{
	uint64_t n = view_op_number(op);

	if (n)
		snprintf(buf, VIEW_OP_NAME_MAX, "%" PRIu64 " (seq:%" PRIu64 ")", n, op);
	else
		view_op_name(op, buf);
	return buf;
}
