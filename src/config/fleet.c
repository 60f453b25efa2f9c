/* SPDX-License-Identifier: MIT */
/* [host NAME] and [fleet]: the machines of a fleet and how a deploy goes over them. A host's
 * values end up in an ssh argv and a remote shell line, so each is allow-listed here, before
 * anything runs: the target's characters, the options (the same list as [target]'s), paths that
 * cannot be read as options. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keys.h"
#include "util.h"
#include "values.h"

const char *fleet_on_failure_name(enum fleet_on_failure f)
{
	return f == FLEET_ON_FAILURE_STOP ? "stop" : "rollback-moved";
}

void host_free(struct host *h)
{
	free(h->name);
	free(h->ssh);
	free(h->checkout);
	free(h->shiplog);
	free(h->ssh_key);
	strv_free(&h->ssh_options);
	strv_free(&h->services);
	strv_free(&h->labels);
}

void host_section_begin(struct parse *p, const char *name)
{
	struct config *c = p->cfg;

	if (!name) {
		parse_fail_line(p, p->line,
				"[host]: a host needs a name; write [host NAME], e.g. [host web1]");
		return;
	}
	if (!host_name_valid(name)) {
		parse_fail_line(p, p->line,
				"[host %s]: invalid host name; use letters, digits, '-', '_' and "
				"'.', starting with a letter or digit (at most 63)",
				name);
		return;
	}
	for (size_t i = 0; i < c->nhosts; i++)
		if (streq(c->hosts[i].name, name)) {
			parse_fail_line(
			    p, p->line,
			    "[host %s]: defined twice (first on line %u); merge the two "
			    "sections",
			    name, c->hosts[i].line);
			return;
		}
	if (c->nhosts >= CONFIG_MAX_HOSTS) {
		parse_fail_line(p, p->line,
				"[host %s]: more than %d hosts; split the fleet into several "
				"projects",
				name, CONFIG_MAX_HOSTS);
		return;
	}
	c->hosts = xrealloc(c->hosts, (c->nhosts + 1) * sizeof(*c->hosts));
	p->host_seen = xrealloc(p->host_seen, (c->nhosts + 1) * sizeof(*p->host_seen));
	memset(p->host_seen[c->nhosts], 0, sizeof(p->host_seen[0]));
	p->host = &c->hosts[c->nhosts++];
	*p->host = (struct host){.name = xstrdup(name), .line = p->line};
	p->sec = SEC_HOST;
	snprintf(p->seclabel, sizeof(p->seclabel), "host %s", name);
}

/* A path given to a remote shell's cd or command -v: never read as an option, no '~' (quoted,
 * the remote shell would not expand it). */
static bool remote_path_valid(const char *v)
{
	return v[0] != '-' && v[0] != '~' && !strstr(v, "/~");
}

/* "name" or "name=value", each part of letters, digits and "._-". */
static bool label_valid(const char *v)
{
	size_t n = strcspn(v, "=");

	if (!n || n > NAME_MAX_LEN || !isalnum((unsigned char)v[0]))
		return false;
	for (size_t i = 0; v[i]; i++)
		if (i != n && !isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
			return false;
	return !v[n] || v[n + 1];
}

static void host_list_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct host *h = p->host;
	struct strv add = {0};

	strv_split_commas(&add, v);
	for (size_t i = 0; i < add.n; i++) {
		const char *w = add.v[i];

		if (k == K_HOST_SERVICES && !service_name_valid(w)) {
			key_fail(p, name, "'%s' is not a service name; list [service NAME] names",
				 w);
			break;
		}
		if (k == K_HOST_LABELS && !label_valid(w)) {
			key_fail(p, name,
				 "'%s' is not a label; write name or name=value with letters, "
				 "digits, '.', '_' and '-', e.g. region=eu",
				 w);
			break;
		}
		strv_push(k == K_HOST_SERVICES ? &h->services : &h->labels, w);
	}
	strv_free(&add);
}

static void host_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct host *h = p->host;

	switch (k) {
	case K_HOST_SSH:
		if (streq(v, "local")) {
			h->local = true;
		} else if (!ssh_target_valid(v)) {
			key_fail(p, name,
				 "'%s' is not user@host[:port] (letters, digits, '.', '_' and '-' "
				 "in the user; a DNS name or [IPv6] as the host); write e.g. "
				 "deploy@web1.example.com:2222, or local for this machine",
				 v);
		} else {
			h->ssh = xstrdup(v);
		}
		break;
	case K_HOST_CHECKOUT:
	case K_HOST_SHIPLOG:
		if (!remote_path_valid(v)) {
			key_fail(p, name,
				 "'%s' cannot be given to the host's shell as a path; write an "
				 "absolute path, or one relative to the ssh user's home (no '~', "
				 "no leading '-')",
				 v);
			break;
		}
		free(k == K_HOST_CHECKOUT ? h->checkout : h->shiplog);
		*(k == K_HOST_CHECKOUT ? &h->checkout : &h->shiplog) = xstrdup(v);
		break;
	case K_HOST_SSH_KEY:
		free(h->ssh_key);
		h->ssh_key = path_resolve(p->cfg->dir, v);
		break;
	case K_HOST_SSH_OPTIONS:
		ssh_options_value(p, name, v, &h->ssh_options);
		break;
	default:
		host_list_value(p, k, name, v);
		break;
	}
}

/* "N" (1..CONFIG_MAX_HOSTS, or from 0 when zero_ok) */
static bool host_count(const char *v, bool zero_ok, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)v[0]))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end || errno || n > CONFIG_MAX_HOSTS || (!zero_ok && n == 0))
		return false;
	*out = (unsigned)n;
	return true;
}

static void fleet_canary_value(struct parse *p, const char *name, const char *v)
{
	struct fleet_policy *f = &p->cfg->fleet;
	struct strv add = {0};

	strv_free(&f->canary_hosts);
	if (host_count(v, true, &f->canary_count))
		return;
	f->canary_count = 0;
	strv_split_commas(&add, v);
	for (size_t i = 0; i < add.n; i++) {
		if (!host_name_valid(add.v[i])) {
			key_fail(p, name,
				 "'%s' is neither a count nor a host name; write e.g. canary = 1 "
				 "or canary = web1, web2",
				 add.v[i]);
			break;
		}
		strv_push(&f->canary_hosts, add.v[i]);
	}
	strv_free(&add);
}

static void fleet_wave_size_value(struct parse *p, const char *name, const char *v)
{
	struct fleet_policy *f = &p->cfg->fleet;
	size_t len = strlen(v);
	char num[8];
	unsigned n;

	if (len > 1 && len <= sizeof(num) && v[len - 1] == '%') {
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		if (host_count(num, false, &n) && n <= 100) {
			f->wave_percent = n;
			f->wave_size = 0;
			return;
		}
	} else if (host_count(v, false, &n)) {
		f->wave_size = n;
		f->wave_percent = 0;
		return;
	}
	key_fail(p, name, "'%s' is not a host count or a percentage; write e.g. 2 or 25%%", v);
}

static void fleet_value(struct parse *p, enum key k, const char *name, const char *v)
{
	struct fleet_policy *f = &p->cfg->fleet;
	int64_t ns;
	int e;

	switch (k) {
	case K_FLEET_CANARY:
		fleet_canary_value(p, name, v);
		break;
	case K_FLEET_WAVE_SIZE:
		fleet_wave_size_value(p, name, v);
		break;
	case K_FLEET_PARALLELISM:
	case K_FLEET_MAX_FAILED_HOSTS:
		if (!host_count(v, true,
				k == K_FLEET_PARALLELISM ? &f->parallelism : &f->max_failed_hosts))
			key_fail(p, name, "'%s' is not a host count (0 to %d); write e.g. %s", v,
				 CONFIG_MAX_HOSTS,
				 k == K_FLEET_PARALLELISM ? "4 (0 = a whole wave)" : "1");
		break;
	case K_FLEET_PAUSE:
	case K_FLEET_HOST_TIMEOUT:
		if (parse_duration_ns(v, &ns) < 0 || (k == K_FLEET_HOST_TIMEOUT && ns <= 0))
			key_fail(p, name, "'%s' is not a duration; write e.g. %s", v,
				 k == K_FLEET_PAUSE ? "0s, 30s or 5m" : "30m");
		else
			*(k == K_FLEET_PAUSE ? &f->pause_ns : &f->host_timeout_ns) = ns;
		break;
	case K_FLEET_ON_FAILURE:
		e = streq(v, "rollback-moved") ? FLEET_ON_FAILURE_ROLLBACK_MOVED
		    : streq(v, "stop")	       ? FLEET_ON_FAILURE_STOP
					       : -1;
		if (e < 0)
			key_fail(p, name,
				 "'%s' is not valid; use rollback-moved (roll back the hosts this "
				 "deploy moved) or stop",
				 v);
		else
			f->on_failure = (enum fleet_on_failure)e;
		break;
	default:
		break;
	}
}

void fleet_key_value(struct parse *p, enum key k, const char *name, const char *v)
{
	if (p->sec == SEC_HOST)
		host_value(p, k, name, v);
	else
		fleet_value(p, k, name, v);
}

/* A host's checkout: its own, else an explicit [target] checkout; a local host's resolves
 * against the config's directory like [target]'s. */
static int host_finish(struct parse *p, struct host *h, unsigned *seen)
{
	struct config *c = p->cfg;

	if (!seen[K_HOST_SSH]) {
		parse_fail_line(p, h->line,
				"[host %s] ssh: missing; add 'ssh = user@host[:port]' (or 'ssh = "
				"local' for this machine)",
				h->name);
		return SL_EUSAGE;
	}
	if (!h->checkout && !p->seen[K_TARGET_CHECKOUT]) {
		parse_fail_line(
		    p, h->line,
		    "[host %s] checkout: missing; add 'checkout = /path/on/host' (or set "
		    "[target] checkout for every host)",
		    h->name);
		return SL_EUSAGE;
	}
	if (!h->checkout)
		h->checkout = xstrdup(c->target.checkout);
	else if (h->local) {
		char *abs = path_resolve(c->dir, h->checkout);
		free(h->checkout);
		h->checkout = abs;
	}
	for (size_t i = 0; i < h->services.n; i++)
		if (config_service_index(c, h->services.v[i]) < 0) {
			parse_fail_line(p, seen[K_HOST_SERVICES],
					"[host %s] services: '%s' is not a [service] of this file; "
					"list defined services or remove it",
					h->name, h->services.v[i]);
			return SL_EUSAGE;
		}
	return 0;
}

int fleet_finish(struct parse *p)
{
	struct config *c = p->cfg;
	int r;

	if (p->seen[K_FLEET_CANARY] || p->seen[K_FLEET_WAVE_SIZE] || p->seen[K_FLEET_ON_FAILURE])
		if (c->nhosts == 0) {
			parse_fail_line(p,
					p->seen[K_FLEET_CANARY]	     ? p->seen[K_FLEET_CANARY]
					: p->seen[K_FLEET_WAVE_SIZE] ? p->seen[K_FLEET_WAVE_SIZE]
								     : p->seen[K_FLEET_ON_FAILURE],
					"[fleet]: no [host NAME] sections; add one per host, or "
					"remove [fleet]");
			return SL_EUSAGE;
		}
	for (size_t i = 0; i < c->nhosts; i++) {
		r = host_finish(p, &c->hosts[i], p->host_seen[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->fleet.canary_hosts.n; i++)
		if (!config_host(c, c->fleet.canary_hosts.v[i])) {
			parse_fail_line(p, p->seen[K_FLEET_CANARY],
					"[fleet] canary: '%s' is not a [host NAME] of this file; "
					"name defined hosts or give a count",
					c->fleet.canary_hosts.v[i]);
			return SL_EUSAGE;
		}
	return 0;
}

const struct host *config_host(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->nhosts; i++)
		if (streq(cfg->hosts[i].name, name))
			return &cfg->hosts[i];
	return NULL;
}

const char *config_host_shiplog(const struct config *cfg, const struct host *h)
{
	if (!str_empty(h->shiplog))
		return h->shiplog;
	return str_empty(cfg->target.shiplog) ? "shiplog" : cfg->target.shiplog;
}

const char *config_host_ssh_key(const struct config *cfg, const struct host *h)
{
	return !str_empty(h->ssh_key) ? h->ssh_key : cfg->target.ssh_key;
}

bool config_host_runs(const struct host *h, const char *svc)
{
	return h->services.n == 0 || strv_contains(&h->services, svc);
}
