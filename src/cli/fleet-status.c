/* SPDX-License-Identifier: MIT */
/* status --all-hosts: each host's `status --json` parsed, one row per host and service (the
 * owner runtime's commit, health, last-good; the host's lock), and per service the commits the
 * fleet runs: more than one is a mixed fleet, said first. A host is in one of three states:
 * deployed (its rows), never deployed (its shiplog has no ledger yet: an answer, one row that
 * says so) or no answer (down, unreachable, or its shiplog failed: one row that says why). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fleet-read.h"
#include "fleet-reads.h"
#include "out.h"
#include "util.h"

#define SHORT 12 /* commit digits shown */

/* The owner runtime's record of one service in a host's status (NULL when none). */
static json_t *service_runtime(json_t *svc)
{
	const char *owner = json_string_value(json_object_get(svc, "owner"));
	json_t *rts = json_object_get(svc, "runtimes");

	if (owner)
		return json_object_get(rts, owner);
	return json_object_size(rts) == 1 ? json_object_iter_value(json_object_iter(rts)) : NULL;
}

static const char *str_at(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The fleet's commits per service: {"web": {"abc...": ["h1", "h2"]}}. */
static json_t *commits_by_service(json_t *docs, const struct fleet_answer *as, size_t n)
{
	json_t *by = json_object();

	for (size_t i = 0; i < n; i++) {
		json_t *svcs = json_object_get(json_array_get(docs, i), "services"), *svc;
		size_t k;

		json_array_foreach(svcs, k, svc)
		{
			const char *name = str_at(svc, "name");
			const char *commit = str_at(service_runtime(svc), "commit");
			json_t *per = json_object_get(by, name), *hosts;

			if (!*commit)
				continue;
			if (!per)
				json_object_set_new(by, name, per = json_object());
			hosts = json_object_get(per, commit);
			if (!hosts)
				json_object_set_new(per, commit, hosts = json_array());
			json_array_append_new(hosts, json_string(as[i].host->name));
		}
	}
	return by;
}

static bool any_mixed(json_t *by)
{
	const char *k;
	json_t *per;

	json_object_foreach(by, k, per)
	{
		if (json_object_size(per) > 1)
			return true;
	}
	return false;
}

/* "mixed: api runs 2 commits: 1a2b3c4d5e6f on h1, h2; 7a8b9c0d1e2f on h3" per such service. */
static void mixed_text(json_t *by)
{
	const char *name, *commit;
	json_t *per, *hosts;

	json_object_foreach(by, name, per)
	{
		if (json_object_size(per) < 2)
			continue;
		printf("MIXED: %s runs %zu commits:", name, json_object_size(per));
		const char *sep = " ";
		json_object_foreach(per, commit, hosts)
		{
			size_t k;
			json_t *h;

			printf("%s%.*s on", sep, SHORT, commit);
			json_array_foreach(hosts, k, h)
			{
				printf("%s%s", k ? ", " : " ", json_string_value(h));
			}
			sep = "; ";
		}
		printf("\n");
	}
}

static void lock_text(json_t *lock, char *out, size_t len)
{
	if (!json_is_true(json_object_get(lock, "held"))) {
		snprintf(out, len, "free");
		return;
	}
	snprintf(out, len, "held by %s (op %lld)", str_at(lock, "actor"),
		 (long long)json_integer_value(json_object_get(lock, "number")));
}

static void host_rows(const struct fleet_answer *a, json_t *doc, size_t w)
{
	json_t *svcs = json_object_get(doc, "services"), *svc;
	char lock[256];
	size_t k;

	if (fleet_answer_never_deployed(a)) {
		printf("%-*s  %-16s  (never deployed: %s)\n", (int)w, a->host->name, "-", a->error);
		return;
	}
	if (a->exit_code != 0) {
		printf("%-*s  %-16s  (%s: %s)\n", (int)w, a->host->name, "-",
		       a->withheld ? "not shown" : "no answer", a->error);
		return;
	}
	lock_text(json_object_get(doc, "lock"), lock, sizeof(lock));
	if (json_array_size(svcs) == 0)
		printf("%-*s  %-16s  (nothing deployed yet)  lock %s\n", (int)w, a->host->name, "-",
		       lock);
	json_array_foreach(svcs, k, svc)
	{
		json_t *rt = service_runtime(svc);
		const char *commit = str_at(rt, "commit");
		const char *good = str_at(json_object_get(rt, "last_good"), "commit");

		printf("%-*s  %-16s  %-12.12s  %-7s  %-12.12s  %s\n", (int)w, a->host->name,
		       str_at(svc, "name"), *commit ? commit : "-",
		       !rt					      ? "-"
		       : json_is_true(json_object_get(rt, "healthy")) ? "ok"
								      : "FAILING",
		       *good ? good : "-", lock);
	}
}

static size_t never_deployed(const struct fleet_answer *as, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += fleet_answer_never_deployed(&as[i]);
	return k;
}

static void status_text(const struct fleet_answer *as, size_t n, json_t *docs, json_t *by,
			size_t answered)
{
	size_t w = 4, never = never_deployed(as, n);
	char nv[48] = "";

	for (size_t i = 0; i < n; i++)
		if (strlen(as[i].host->name) > w)
			w = strlen(as[i].host->name);
	if (never)
		snprintf(nv, sizeof(nv), " (%zu never deployed)", never);
	printf("fleet: %zu hosts, %zu answered%s; %s\n", n, answered, nv,
	       any_mixed(by) ? "MIXED versions (below)"
			     : "every service at one commit across the hosts that answered");
	mixed_text(by);
	printf("%-*s  %-16s  %-12s  %-7s  %-12s  %s\n", (int)w, "HOST", "SERVICE", "COMMIT",
	       "HEALTH", "LAST-GOOD", "LOCK");
	for (size_t i = 0; i < n; i++)
		host_rows(&as[i], json_array_get(docs, i), w);
}

static void status_json(const struct fleet_answer *as, size_t n, json_t *docs, json_t *by,
			size_t answered)
{
	json_t *hosts = json_array();

	for (size_t i = 0; i < n; i++) {
		bool never = fleet_answer_never_deployed(&as[i]);
		json_t *h = json_pack("{s:s,s:s,s:b,s:I}", "host", as[i].host->name, "state",
				      as[i].exit_code == 0 ? "ok"
				      : never		   ? "never-deployed"
							   : "no-answer",
				      "answered", as[i].exit_code == 0 || never, "elapsed_ms",
				      (json_int_t)(as[i].duration_ns / 1000000));
		if (as[i].exit_code == 0)
			json_object_set(h, "status", json_array_get(docs, i));
		else
			json_object_set_new(h, never ? "detail" : "error",
					    json_string(as[i].error));
		json_array_append_new(hosts, h);
	}
	out_json(json_pack("{s:I,s:I,s:I,s:b,s:O,s:o}", "hosts_total", (json_int_t)n, "answered",
			   (json_int_t)answered, "never_deployed",
			   (json_int_t)never_deployed(as, n), "mixed", any_mixed(by), "commits", by,
			   "hosts", hosts));
}

/* An answer that is not a status document counts as no answer. */
static json_t *parse_answers(struct fleet_answer *as, size_t n, size_t *answered)
{
	json_t *docs = json_array();

	*answered = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *doc = as[i].exit_code == 0 ? json_loads(as[i].out, 0, NULL) : NULL;

		if (as[i].exit_code == 0 && !json_is_object(doc)) {
			as[i].exit_code = -1;
			as[i].error = xstrdup("its answer is not a status document (another "
					      "shiplog version?)");
		}
		*answered += as[i].exit_code == 0 || fleet_answer_never_deployed(&as[i]);
		json_array_append_new(docs, doc ? doc : json_null());
	}
	return docs;
}

int fleet_status_show(struct fleet_answer *as, size_t n)
{
	size_t answered;
	json_t *docs = parse_answers(as, n, &answered);
	json_t *by = commits_by_service(docs, as, n);

	if (out_settings.json)
		status_json(as, n, docs, by, answered);
	else
		status_text(as, n, docs, by, answered);
	fflush(stdout);
	json_decref(by);
	json_decref(docs);
	if (answered < n)
		log_error("%zu of %zu hosts did not answer (see their rows)", n - answered, n);
	return answered < n ? SL_EENV : 0;
}
