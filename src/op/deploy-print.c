/* SPDX-License-Identifier: MIT */
/* The deploy plan printed: its head lines (every deploy), and --dry-run's whole plan as text,
 * or as one JSON object with --json. See deploy.h. */
#include "deploy.h"

#include <stdio.h>
#include <string.h>

#include "op.h"
#include "out.h"
#include "util.h"

void deploy_plan_say(const struct deploy_plan *p)
{
	const struct deploy_args *a = p->args;
	const struct config *cfg = p->cfg;
	const char *remote = p->facts->remote;

	out_say("Deploying %s%s%s through the %s runtime: %s%s",
		a->mode == DEPLOY_REF ? "" : remote, a->mode == DEPLOY_REF ? "" : "/",
		a->mode == DEPLOY_MAIN ? cfg->git.main_branch : a->target,
		ledger_runtime_name(p->runtime), p->scope.scope_desc, a->fast ? ", fast mode" : "");
	out_say("Using git remote: %s", remote);
	out_say("Execution mode: %s (checkout %s)", remote_mode_name(p->facts->exec_mode),
		cfg->target.checkout);
	if (p->scope.notice[0])
		out_say("%s", p->scope.notice);
	for (size_t i = 0; i < p->scope.nservices; i++) {
		const struct service *s = &cfg->services[p->scope.services[i]];
		out_say("  %-16s %-6s %s", s->name, role_name(s->role),
			p->runtime == LEDGER_RT_NATIVE ? s->unit : s->compose);
	}
}

/* The word a person reads for each guard's line. */
static const char *guard_label(const char *guard)
{
	if (streq(guard, "edge"))
		return "edge guard";
	if (streq(guard, "dirty-tree"))
		return "checkout";
	if (streq(guard, "unit-missing"))
		return "units";
	if (streq(guard, "service-missing"))
		return "compose services";
	return guard;
}

static json_t *json_opt_str(const char *s)
{
	return str_empty(s) ? json_null() : json_str(s);
}

static json_t *json_runs(enum guard_result r)
{
	return r == GUARD_UNKNOWN ? json_null() : json_boolean(r == GUARD_PASS);
}

/* Docker: the engine or compose cannot be asked, so the run stops at its precheck, unless a
 * guard checked before that refuses first. */
static bool stops_at_runtime(const struct deploy_plan *p)
{
	if (!p->facts->compose.open_error[0])
		return false;
	for (size_t i = 0; i < p->guards.n; i++) {
		if (streq(p->guards.v[i].guard, "service-missing"))
			return true;
		if (p->guards.v[i].result == GUARD_REFUSE)
			return false;
	}
	return true;
}

static void plan_json(const struct deploy_plan *p, int ledger_error, bool refused)
{
	const struct deploy_facts *f = p->facts;
	const struct config *cfg = p->cfg;
	json_t *svcs = json_array(), *builds = json_array(), *guards = guard_list_json(&p->guards),
	       *flags = json_array(), *o;

	for (size_t i = 0; i < p->scope.nservices; i++) {
		const struct service *s = &cfg->services[p->scope.services[i]];
		json_array_append_new(
		    svcs,
		    json_pack("{s:o,s:s,s:o}", "name", json_str(s->name), "role",
			      role_name(s->role),
			      p->runtime == LEDGER_RT_NATIVE ? "unit" : "compose",
			      json_str(p->runtime == LEDGER_RT_NATIVE ? s->unit : s->compose)));
	}
	for (size_t i = 0; i < p->nbuilds; i++) {
		const struct deploy_build *b = &p->builds[i];
		json_array_append_new(
		    builds, json_pack("{s:o,s:o,s:o,s:o}", "service", json_opt_str(b->service),
				      "command", json_opt_str(b->command), "runs",
				      json_runs(b->runs), "why", json_str(b->why)));
	}
	for (size_t i = 0; i < p->nflags; i++)
		json_array_append_new(flags, json_str(p->flags[i]));
	o = json_pack("{s:s,s:b,s:s,s:o,s:o,s:o,s:o}", "operation", "deploy", "dry_run", true,
		      "mode", deploy_mode_name(p->args->mode), "ref", json_str(p->ref), "remote",
		      json_str(f->remote), "target_spec", json_str(p->target_spec), "target",
		      json_opt_str(p->target));
	json_object_set_new(o, "branch", json_opt_str(p->branch));
	json_object_set_new(o, "prev_commit", json_opt_str(f->prev));
	json_object_set_new(o, "runtime", json_string(ledger_runtime_name(p->runtime)));
	json_object_set_new(o, "exec_mode", json_string(remote_mode_name(f->exec_mode)));
	json_object_set_new(o, "checkout", json_str(cfg->target.checkout));
	json_object_set_new(o, "layout", json_string(p->releases ? "releases" : "in-place"));
	json_object_set_new(o, "scope", json_str(p->scope.scope_desc));
	json_object_set_new(o, "notice", json_opt_str(p->scope.notice));
	json_object_set_new(o, "services", svcs);
	json_object_set_new(o, "flags", flags);
	json_object_set_new(o, "builds", builds);
	json_object_set_new(o, "guards", guards);
	json_object_set_new(o, "ledger",
			    json_pack("{s:o,s:o}", "path", json_opt_str(f->ledger_dir), "writable",
				      f->ledger_known ? json_boolean(!ledger_error) : json_null()));
	json_object_set_new(o, "would",
			    json_string(ledger_error || stops_at_runtime(p) ? "stop"
					: refused			    ? "refuse"
									    : "deploy"));
	out_json(o);
}

int deploy_plan_print(const struct deploy_plan *p)
{
	const struct deploy_facts *f = p->facts;
	bool refused = guard_list_refusal(&p->guards) != NULL;

	if (p->target[0])
		out_say("target %s -> %.12s (as the checkout knows it; the deploy fetches first)",
			p->ref[0] ? p->ref : p->target_spec, p->target);
	else
		out_say("target %s: not known to the checkout yet (the deploy fetches first)",
			p->target_spec);
	for (size_t i = 0; i < p->nbuilds; i++) {
		const struct deploy_build *b = &p->builds[i];
		out_say("build%s%s: %s: %s", b->service ? " " : "", b->service ? b->service : "",
			b->runs == GUARD_PASS	  ? "runs"
			: b->runs == GUARD_REFUSE ? "skipped"
						  : "not decided",
			b->why);
	}
	for (size_t i = 0; i < p->guards.n; i++) {
		const struct guard_verdict *v = &p->guards.v[i];
		if (v->result != GUARD_REFUSE)
			out_say("%s: %s%s", guard_label(v->guard),
				v->result == GUARD_UNKNOWN ? "not checked: " : "", v->reason);
		else if (streq(v->guard, "lock"))
			out_say("would wait or refuse: the lock is held by %s", f->lock_holder);
		else
			out_say("would refuse: the %s guard: %s", v->guard, v->reason);
	}
	if (f->ledger_known && f->ledger_error) {
		out_say("would stop: the ledger cannot be written (below)");
		op_ledger_write_error(f->ledger_dir, "open", f->ledger_error, "--dry-run checked",
				      0);
	} else if (f->ledger_known) {
		out_say("ledger: writable");
	}
	if (!(f->ledger_known && f->ledger_error) && stops_at_runtime(p))
		out_say("would stop at the precheck: %s", f->compose.open_error);
	if (out_settings.json)
		plan_json(p, f->ledger_known ? f->ledger_error : 0, refused);
	out_say("--dry-run: nothing was changed or recorded");
	if (f->ledger_known && f->ledger_error)
		return f->ledger_error;
	if (stops_at_runtime(p))
		return SL_EENV;
	return refused ? SL_EREFUSED : 0;
}
