/* SPDX-License-Identifier: MIT */
/* The fleet plan, pure: which hosts, in which wave, each with the services it deploys. Nothing
 * here reads the disk, the network or the ledger. */
#include "fleet.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

static bool host_has_label(const struct host *h, const char *label)
{
	return strv_contains(&h->labels, label);
}

int fleet_select(const struct config *cfg, const struct strv *sel, size_t *out, size_t *nout,
		 char *err, size_t errlen)
{
	bool *in = xcalloc(cfg->nhosts ? cfg->nhosts : 1, sizeof(*in));
	size_t n = 0;

	*nout = 0;
	for (size_t s = 0; sel && s < sel->n; s++) {
		bool label = strchr(sel->v[s], '=') != NULL, any = false;

		for (size_t i = 0; i < cfg->nhosts; i++)
			if (label ? host_has_label(&cfg->hosts[i], sel->v[s])
				  : streq(cfg->hosts[i].name, sel->v[s]))
				in[i] = any = true;
		if (!any) {
			snprintf(err, errlen, "%s '%s' is %s; %s", label ? "label" : "host",
				 sel->v[s],
				 label ? "on no [host NAME]" : "not a [host NAME] of shiplog.conf",
				 cfg->nhosts ? "see the [host NAME] sections"
					     : "add [host NAME] sections");
			free(in);
			return SL_EUSAGE;
		}
	}
	for (size_t i = 0; i < cfg->nhosts; i++)
		if (!sel || !sel->n || in[i])
			out[n++] = i;
	free(in);
	*nout = n;
	if (!n) {
		snprintf(err, errlen,
			 "no [host NAME] sections in %s; add one per host (see docs/fleet.md)",
			 cfg->path);
		return SL_EUSAGE;
	}
	return 0;
}

/* The fleet's own options and the ones that only make sense here. */
static bool fleet_option_dropped(const char *name)
{
	static const char *const dropped[] = {"hosts",	     "all-hosts", "retry-failed",
					      "dry-run",     "local",	  "ssh",
					      "no-progress", "wait-lock", "json"};

	for (size_t i = 0; i < ELEMENTSOF(dropped); i++)
		if (streq(name, dropped[i]))
			return true;
	return false;
}

static bool scope_option(const char *name)
{
	for (const struct option *o = scope_options; o->name; o++)
		if (streq(name, o->name))
			return true;
	return false;
}

/* One option at argv[*i] (with its value when it takes one) into the right list. */
static void split_option(int argc, char **argv, int *i, const struct option *options,
			 struct fleet_plan *p)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
	_cleanup_free_ char *name = xstrndup(arg + 2, len);
	bool takes = false;
	struct strv *dst;

	for (const struct option *o = options; o->name; o++)
		if (streq(o->name, name))
			takes = o->has_arg == required_argument;
	dst = fleet_option_dropped(name) ? NULL : scope_option(name) ? &p->scope : &p->flags;
	if (dst)
		strv_push(dst, arg);
	if (takes && !eq && *i + 1 < argc) {
		(*i)++;
		if (dst)
			strv_push(dst, argv[*i]);
	}
}

void fleet_split_args(int argc, char **argv, const struct option *options, struct fleet_plan *p)
{
	bool opts_done = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (opts_done || arg[0] != '-' || arg[1] == '\0')
			strv_push(&p->target, arg);
		else if (streq(arg, "--"))
			opts_done = true;
		else if (arg[1] == '-')
			split_option(argc, argv, &i, options, p);
		else
			strv_push(&p->flags, arg);
	}
}

/* The part of the scope host h runs; empty when it runs every service (pass the scope on). */
static void member_pieces(const struct config *cfg, const struct host *h, const struct plan *scope,
			  struct fleet_member *m)
{
	if (!h->services.n)
		return;
	for (size_t i = 0; i < cfg->nservices; i++) {
		const char *name = cfg->services[i].name;
		bool in_scope = !scope;

		for (size_t j = 0; scope && j < scope->nservices; j++)
			in_scope = in_scope || scope->services[j] == i;
		if (in_scope && config_host_runs(h, name))
			strv_push(&m->pieces, name);
	}
	if (!m->pieces.n) {
		_cleanup_free_ char *runs = strv_join(&h->services, ", ");
		snprintf(m->skip, sizeof(m->skip),
			 "runs none of the services in scope (its services: %s)", runs);
	}
}

/* Hosts per wave after the canaries: wave_size, or wave_percent of n rounded up; at least 1. */
static unsigned wave_size(const struct fleet_policy *f, size_t n)
{
	unsigned w = f->wave_size ? f->wave_size : (unsigned)((n * f->wave_percent + 99) / 100);

	return w ? w : 1;
}

static bool is_canary(const struct fleet_policy *f, const struct host *h, size_t pos)
{
	if (f->canary_hosts.n)
		return strv_contains(&f->canary_hosts, h->name);
	return pos < f->canary_count;
}

/* Moves the members in wave 0 (skipped) to the end, keeping the order of the others. */
static void members_order(struct fleet_plan *p)
{
	struct fleet_member *sorted = xcalloc(p->nmembers, sizeof(*sorted));
	size_t k = 0;

	for (unsigned w = 1; w <= p->nwaves; w++)
		for (size_t i = 0; i < p->nmembers; i++)
			if (p->members[i].wave == w)
				sorted[k++] = p->members[i];
	for (size_t i = 0; i < p->nmembers; i++)
		if (p->members[i].wave == 0)
			sorted[k++] = p->members[i];
	free(p->members);
	p->members = sorted;
}

int fleet_plan_make(const struct config *cfg, const size_t *sel, size_t nsel,
		    const struct plan *scope, struct fleet_plan *p, char *err, size_t errlen)
{
	const struct fleet_policy *f = &cfg->fleet;
	size_t live = 0, pos = 0, in_wave = 0;
	bool any_canary = false;
	unsigned wave;

	p->cfg = cfg;
	p->members = xcalloc(nsel ? nsel : 1, sizeof(*p->members));
	p->nmembers = nsel;
	for (size_t i = 0; i < nsel; i++) {
		p->members[i].host = &cfg->hosts[sel[i]];
		member_pieces(cfg, p->members[i].host, scope, &p->members[i]);
		live += !p->members[i].skip[0];
	}
	if (!live) {
		snprintf(err, errlen,
			 "none of the hosts runs a service in scope; widen the scope or name "
			 "other hosts");
		return SL_EUSAGE;
	}
	p->wave_size = wave_size(f, live);
	/* the canary wave: wave 1 when any host is a canary */
	for (size_t i = 0; i < nsel; i++) {
		struct fleet_member *m = &p->members[i];
		if (m->skip[0])
			continue;
		m->canary = is_canary(f, m->host, pos++);
		if (m->canary)
			m->wave = 1;
		any_canary = any_canary || m->canary;
	}
	wave = any_canary ? 1 : 0;
	for (size_t i = 0; i < nsel; i++) {
		struct fleet_member *m = &p->members[i];
		if (m->skip[0] || m->canary)
			continue;
		if (in_wave == 0)
			wave++;
		m->wave = wave;
		in_wave = (in_wave + 1) % p->wave_size;
	}
	p->nwaves = wave;
	p->parallelism = f->parallelism ? f->parallelism : CONFIG_MAX_HOSTS;
	members_order(p);
	return 0;
}

void fleet_plan_release(struct fleet_plan *p)
{
	for (size_t i = 0; p && i < p->nmembers; i++)
		strv_free(&p->members[i].pieces);
	if (p)
		free(p->members);
	if (p) {
		strv_free(&p->target);
		strv_free(&p->flags);
		strv_free(&p->scope);
	}
}

void fleet_member_words(const struct fleet_plan *p, const struct fleet_member *m,
			struct strv *words)
{
	strv_push(words, "--json");
	strv_push(words, p->kind);
	for (size_t i = 0; i < p->target.n; i++)
		strv_push(words, p->target.v[i]);
	for (size_t i = 0; i < p->flags.n; i++) {
		const char *f = p->flags.v[i];

		/* this host's own --to replaces the one given (fleet:N) */
		if (m->to[0] && streq(f, "--to")) {
			i++;
			continue;
		}
		if (m->to[0] && !strncmp(f, "--to=", 5))
			continue;
		strv_push(words, f);
	}
	if (m->to[0]) {
		strv_push(words, "--to");
		strv_push(words, m->to);
	}
	if (m->pieces.n) {
		strv_push(words, "--pieces");
		strv_push_take(words, strv_join(&m->pieces, ","));
	} else {
		for (size_t i = 0; i < p->scope.n; i++)
			strv_push(words, p->scope.v[i]);
	}
}

static const char *member_where(const struct host *h)
{
	return h->local ? "local" : h->ssh;
}

static void fleet_plan_json(const struct fleet_plan *p)
{
	json_t *o = json_object(), *hosts = json_array();

	json_object_set_new(o, "kind", json_string("fleet"));
	json_object_set_new(o, "command", json_str(p->kind));
	json_object_set_new(o, "waves", json_integer(p->nwaves));
	json_object_set_new(o, "wave_size", json_integer(p->wave_size));
	json_object_set_new(o, "parallelism", json_integer(p->cfg->fleet.parallelism));
	json_object_set_new(o, "max_failed_hosts", json_integer(p->cfg->fleet.max_failed_hosts));
	json_object_set_new(o, "on_failure",
			    json_string(fleet_on_failure_name(p->cfg->fleet.on_failure)));
	for (size_t i = 0; i < p->nmembers; i++) {
		const struct fleet_member *m = &p->members[i];
		json_t *h = json_object(), *sv = json_array();

		json_object_set_new(h, "host", json_str(m->host->name));
		json_object_set_new(h, "ssh", json_str(member_where(m->host)));
		json_object_set_new(h, "checkout", json_str(m->host->checkout));
		json_object_set_new(h, "wave", m->wave ? json_integer(m->wave) : json_null());
		json_object_set_new(h, "canary", json_boolean(m->canary));
		for (size_t j = 0; j < m->pieces.n; j++)
			json_array_append_new(sv, json_str(m->pieces.v[j]));
		json_object_set_new(h, "services", sv);
		json_object_set_new(h, "skipped", m->skip[0] ? json_str(m->skip) : json_null());
		json_array_append_new(hosts, h);
	}
	json_object_set_new(o, "hosts", hosts);
	out_json(o);
}

void fleet_plan_print(const struct fleet_plan *p)
{
	const struct fleet_policy *f = &p->cfg->fleet;

	char par[32];

	if (f->parallelism)
		snprintf(par, sizeof(par), "%u at once", f->parallelism);
	else
		snprintf(par, sizeof(par), "each wave at once");
	out_say("fleet %s over %zu host%s in %u wave%s (wave size %u, %s, max failed hosts %u, "
		"on failure %s)",
		p->kind, p->nmembers, p->nmembers == 1 ? "" : "s", p->nwaves,
		p->nwaves == 1 ? "" : "s", p->wave_size, par, f->max_failed_hosts,
		fleet_on_failure_name(f->on_failure));
	for (size_t i = 0; i < p->nmembers; i++) {
		const struct fleet_member *m = &p->members[i];
		_cleanup_free_ char *pieces = m->pieces.n ? strv_join(&m->pieces, ",") : NULL;

		if (m->skip[0])
			out_say("skipped %s: %s", m->host->name, m->skip);
		else
			out_say("wave %u%s: %s (%s, checkout %s)%s%s", m->wave,
				m->canary ? " (canary)" : "", m->host->name, member_where(m->host),
				m->host->checkout, pieces ? ", services " : "",
				pieces ? pieces : "");
	}
	if (out_settings.json)
		fleet_plan_json(p);
}
