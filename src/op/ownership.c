/* SPDX-License-Identifier: MIT */
#include "ownership.h"

#include <stdio.h>
#include <string.h>

#include "out.h"
#include "util.h"

int ownership_check(struct rollout *ro, const struct ledger_state *st, bool take_over, char *why,
		    size_t n)
{
	const struct config *cfg = ro->cfg;
	size_t moved[LEDGER_MAX_SERVICES], nmoved = 0;
	struct buf list = {0};
	int other = -1, r;

	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = rollout_service(ro, i);
		const struct ledger_service_state *ss = ledger_state_service(st, s->name);

		if (!ss || ss->owner < 0 || ss->owner == ro->runtime)
			continue;
		other = ss->owner;
		moved[nmoved++] = ro->plan.services[i];
		buf_printf(&list, "%s'%s' (owned by %s, running %.12s)", list.len ? ", " : "",
			   s->name, ledger_runtime_name(ss->owner), ss->rt[ss->owner].commit);
	}
	if (!nmoved)
		return 0;
	if (!take_over) {
		snprintf(
		    why, n,
		    "%s %s owned by the %s runtime; a service runs on one runtime at a time: pass "
		    "--take-over to stop %s on %s and deploy %s on %s",
		    list.data, nmoved == 1 ? "is" : "are", ledger_runtime_name(other),
		    nmoved == 1 ? "it" : "them", ledger_runtime_name(other),
		    nmoved == 1 ? "it" : "them", ledger_runtime_name(ro->runtime));
		buf_free(&list);
		return SL_EREFUSED;
	}

	out_say("--take-over: %s move%s to %s", list.data, nmoved == 1 ? "s" : "",
		ledger_runtime_name(ro->runtime));
	buf_free(&list);
	{
		struct rollout o = {.cfg = cfg, .op = ro->op, .repo = ro->repo, .runtime = other};
		o.ops = runtime_ops_for(other);
		r = o.ops->open(&o);
		if (r >= 0) {
			ro->restarted =
			    true; /* services stop now: a later failure must roll back */
			r = o.ops->stop(&o, moved, nmoved);
		}
		o.ops->close(&o);
		if (r < 0) {
			if (!ro->op->error[0])
				op_fail(ro->op, "take-over: cannot stop the services on %s",
					ledger_runtime_name(other));
			snprintf(why, n, "%s", ro->op->error);
			return SL_EFAILED;
		}
	}
	for (size_t i = 0; i < nmoved; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_OWNER_CHANGED};
		ev.u.owner_changed.service = cfg->services[moved[i]].name;
		ev.u.owner_changed.from = ledger_runtime_name(other);
		ev.u.owner_changed.to = ledger_runtime_name(ro->runtime);
		r = op_append(ro->op, &ev);
		if (r < 0) {
			snprintf(why, n, "cannot record owner.changed: %s", sl_strerror(r));
			return r;
		}
		out_say("owner of %s: %s -> %s", cfg->services[moved[i]].name,
			ledger_runtime_name(other), ledger_runtime_name(ro->runtime));
	}
	return 0;
}
