/* SPDX-License-Identifier: MIT */
#include "view.h"

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
	bool restarting = strcmp(in->kind, "rollback") == 0 ? strcmp(in->phase, "rollout") == 0
							    : strcmp(in->phase, "restart") == 0;

	if (!in->op || in->runtime != rt || !restarting || st->services[i].rt[rt].op == in->op)
		return NULL;
	for (uint32_t k = 0; k < in->nservices && k < LEDGER_MAX_SERVICES; k++)
		if (in->services[k] == i)
			return in;
	return NULL;
}
