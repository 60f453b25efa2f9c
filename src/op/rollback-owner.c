/* SPDX-License-Identifier: MIT */
/* A rollback across a cut-over: the previous owner of a service whose newest change was a
 * cut-over is put back (the ledger knows the operation that made the owner, owner_op), through
 * the cut-over's own move. See rollback.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cutover.h"
#include "out.h"
#include "rollback.h"
#include "util.h"
#include "view.h"

/* The cut-over a plain rollback undoes for ss, or 0: the operation that made its owner is also
 * the newest whose verify passed for it there (no deploy since). */
static uint64_t newest_cutover(const struct ledger_service_state *ss)
{
	const struct ledger_service_runtime *rt;

	if (!ss || ss->owner < 0 || !ss->owner_op)
		return 0;
	rt = &ss->rt[ss->owner];
	return rt->ngood && rt->good[0].op == ss->owner_op ? ss->owner_op : 0;
}

/* --to: a service whose owner at the point differs from now keeps its owner; say so. */
static void note_owner_then(struct rollback_plan *p, const struct config *cfg,
			    const struct rollback_inputs *in, const char *name)
{
	const struct ledger_service_state *now = ledger_state_service(in->now, name);
	const struct ledger_service_state *then =
	    in->to.then ? ledger_state_service(in->to.then, name) : NULL;
	char *n;

	(void)cfg;
	if (!now || !then || then->owner < 0 || now->owner < 0 || then->owner == now->owner)
		return;
	n = xasprintf("%s ran on %s at that point and runs on %s now: --to keeps its owner; "
		      "'shiplog cutover %s --to %s' moves it back",
		      name, ledger_runtime_name(then->owner), ledger_runtime_name(now->owner), name,
		      ledger_runtime_name(then->owner));
	strv_push_take(&p->notes, n);
}

static void add_owner(struct rollback_plan *p, size_t service,
		      const struct ledger_service_state *ss, uint64_t cutover)
{
	struct rollback_owner *o = &p->owners[p->nowners++];

	o->service = service;
	o->from = ss->owner;
	o->to = ss->owner == LEDGER_RT_NATIVE ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE;
	o->cutover = cutover;
	strlcpy_(o->commit, ss->rt[o->to].commit, sizeof(o->commit));
	if (cutover > p->reverts)
		p->reverts = cutover;
}

void rollback_plan_owners(struct rollback_plan *p, const struct config *cfg,
			  const struct rollback_inputs *in)
{
	size_t keep = 0;
	char on[VIEW_OP_NAME_MAX];

	for (size_t i = 0; i < p->nscope; i++) {
		const char *name = cfg->services[p->scope[i]].name;
		const struct ledger_service_state *ss = ledger_state_service(in->now, name);
		uint64_t cut = newest_cutover(ss);
		const char *prev;

		if (in->to.kind == ROLLBACK_TO_POINT)
			note_owner_then(p, cfg, in, name);
		if (in->to.kind != ROLLBACK_TO_NONE || !cut) {
			p->scope[keep++] = p->scope[i];
			continue;
		}
		prev = ss->rt[ss->owner == LEDGER_RT_NATIVE ? LEDGER_RT_DOCKER : LEDGER_RT_NATIVE]
			   .commit;
		if (!streq(prev, p->head)) {
			strv_push_take(
			    &p->notes,
			    xasprintf(
				"%s was cut over to %s by operation %s; its previous owner ran "
				"%.12s but the checkout holds %.12s: cut it over by hand",
				name, ledger_runtime_name(ss->owner), view_op_name(cut, on), prev,
				p->head));
			continue;
		}
		add_owner(p, p->scope[i], ss, cut);
		strv_push_take(&p->notes,
			       xasprintf("%s: its newest change is the cut-over to %s (operation "
					 "%s): back to %s at %.12s",
					 name, ledger_runtime_name(ss->owner),
					 view_op_name(cut, on),
					 ledger_runtime_name(p->owners[p->nowners - 1].to), prev));
	}
	p->nscope = keep;
}

void rollback_owners_print(const struct rollback_plan *p, const struct config *cfg)
{
	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];
		out_say("would put back %-16s %s -> %s at %.12s (stop on %s first)",
			cfg->services[o->service].name, ledger_runtime_name(o->from),
			ledger_runtime_name(o->to), o->commit, ledger_runtime_name(o->from));
	}
}

json_t *rollback_owners_json(const struct rollback_plan *p, const struct config *cfg)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];
		json_array_append_new(
		    a, json_pack("{s:o,s:s,s:s,s:o,s:I,s:o}", "service",
				 json_str(cfg->services[o->service].name), "from",
				 ledger_runtime_name(o->from), "to", ledger_runtime_name(o->to),
				 "commit", json_str(o->commit), "cutover", (json_int_t)o->cutover,
				 "cutover_number",
				 json_integer((json_int_t)view_op_number(o->cutover))));
	}
	return a;
}

int rollback_execute_owners(const struct rollback_plan *p, const struct config *cfg, struct op *op,
			    struct repo *repo)
{
	for (size_t i = 0; i < p->nowners; i++) {
		const struct rollback_owner *o = &p->owners[i];
		enum cutover_end end;
		int r;

		out_say("putting back the owner of %s: %s -> %s at %.12s",
			cfg->services[o->service].name, ledger_runtime_name(o->from),
			ledger_runtime_name(o->to), o->commit);
		r = cutover_move_run(op, cfg, repo, &o->service, 1, o->from, o->to, o->commit,
				     o->to == LEDGER_RT_DOCKER, &end);
		if (r < 0)
			return r;
	}
	return 0;
}
