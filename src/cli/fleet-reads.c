/* SPDX-License-Identifier: MIT */
/* --host / --all-hosts for the read commands: the arguments split into the fleet's and the
 * command's, the command run on the hosts (fleet_read_run), and the answers shown. */
#include "fleet-reads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "args.h"
#include "config.h"
#include "fleet-read.h"
#include "out.h"
#include "util.h"

struct fleet_args {
	const char *host; /* --host NAME */
	bool all;	  /* --all-hosts */
	int64_t timeout_ns;
	struct strv rest; /* the command's own arguments, in order */
};

/* Takes --host, --all-hosts and --host-timeout out of argv[1..]; everything after "--" stays. */
static int fleet_args_split(const struct cmd_entry *c, int argc, char **argv, struct fleet_args *fa)
{
	bool end = false;

	fa->timeout_ns = FLEET_READ_TIMEOUT_NS;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (!end && streq(a, "--"))
			end = true;
		if (end || !str_startswith(a, "--") || streq(a, "--")) {
			strv_push(&fa->rest, a);
			continue;
		}
		if (streq(a, "--all-hosts")) {
			fa->all = true;
			continue;
		}
		if (streq(a, "--host") || streq(a, "--host-timeout"))
			v = i + 1 < argc ? argv[++i] : "";
		else if (str_startswith(a, "--host=") || str_startswith(a, "--host-timeout="))
			v = strchr(a, '=') + 1;
		else {
			strv_push(&fa->rest, a);
			continue;
		}
		if (str_startswith(a, "--host-timeout")) {
			if (parse_duration_ns(v, &fa->timeout_ns) < 0 || fa->timeout_ns <= 0)
				return cmd_usage_error(c,
						       "bad --host-timeout '%s': use a duration "
						       "such as 500ms, 10s or 2m",
						       v);
		} else {
			fa->host = v;
		}
	}
	return 0;
}

static int fleet_args_check(const struct cmd_ctx *ctx, const struct cmd_entry *c,
			    const struct fleet_args *fa)
{
	if (fa->host && fa->all)
		return cmd_usage_error(c, "--host and --all-hosts exclude each other");
	if (fa->host && str_empty(fa->host))
		return cmd_usage_error(c, "--host needs a host name");
	if (fa->all && streq(c->name, "show"))
		return cmd_usage_error(c, "an operation belongs to one host: use --host NAME");
	if (!ctx->cfg) {
		log_error(
		    "%s: --host and --all-hosts need a shiplog.conf with [host NAME] sections "
		    "(none found; use -c FILE)",
		    c->name);
		return SL_EUSAGE;
	}
	return 0;
}

bool fleet_answer_never_deployed(const struct fleet_answer *a)
{
	return a->exit_code == EXIT_NO_LEDGER;
}

/* --host NAME: the host's answer as it is, its errors named by host. */
static int show_one(const struct fleet_answer *a)
{
	fputs(a->out, stdout);
	fflush(stdout);
	if (fleet_answer_never_deployed(a))
		log_error("host %s: never deployed: its shiplog has no ledger yet (exit %d)",
			  a->host->name, EXIT_NO_LEDGER);
	else if (a->error)
		log_error("host %s: %s", a->host->name, a->error);
	return a->exit_code < 0 ? SL_EENV : result_for_exit_code(a->exit_code, NULL);
}

static size_t name_width(const struct fleet_answer *as, size_t n)
{
	size_t w = 4;

	for (size_t i = 0; i < n; i++)
		if (strlen(as[i].host->name) > w)
			w = strlen(as[i].host->name);
	return w;
}

/* One answer's JSON, each document or line with "host" added first, one line each. */
static void lines_json(const struct fleet_answer *a)
{
	json_t *doc = json_loads(a->out, 0, NULL);
	char *save = NULL, *copy;

	if (fleet_answer_never_deployed(a)) {
		out_json(json_pack("{s:s,s:b,s:s}", "host", a->host->name, "never_deployed", 1,
				   "detail", a->error));
		json_decref(doc);
		return;
	}
	if (a->exit_code != 0) {
		out_json(json_pack("{s:s,s:s,s:b}", "host", a->host->name, "error", a->error,
				   "withheld", a->withheld));
		json_decref(doc);
		return;
	}
	if (json_is_object(doc)) {
		json_object_set_new(doc, "host", json_string(a->host->name));
		out_json(doc);
		return;
	}
	json_decref(doc);
	copy = xstrdup(a->out);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(l, 0, NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			continue;
		}
		json_object_set_new(o, "host", json_string(a->host->name));
		out_json(o);
	}
	free(copy);
}

/* One answer's text, every line behind a host column. */
static void lines_text(const struct fleet_answer *a, size_t w)
{
	char *save = NULL, *copy;

	if (fleet_answer_never_deployed(a)) {
		printf("%-*s  (never deployed: %s)\n", (int)w, a->host->name, a->error);
		return;
	}
	if (a->exit_code != 0) {
		printf("%-*s  (%s: %s)\n", (int)w, a->host->name,
		       a->withheld ? "not shown" : "no answer", a->error);
		return;
	}
	copy = xstrdup(a->out);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		printf("%-*s  %s\n", (int)w, a->host->name, l);
	free(copy);
}

/* --all-hosts for history, audit, stats: the answers in the config's order. */
static int show_lines(const struct fleet_answer *as, size_t n)
{
	size_t w = name_width(as, n), missing = 0, withheld = 0;

	for (size_t i = 0; i < n; i++) {
		if (out_settings.json)
			lines_json(&as[i]);
		else
			lines_text(&as[i], w);
		withheld += as[i].withheld;
		missing +=
		    as[i].exit_code != 0 && !as[i].withheld && !fleet_answer_never_deployed(&as[i]);
	}
	fflush(stdout);
	if (missing)
		log_error("%zu of %zu hosts did not answer (said on their lines)", missing, n);
	if (withheld)
		log_error("%zu of %zu hosts answered more than --all-hosts holds: not shown (said "
			  "on their lines); use --host NAME for each",
			  withheld, n);
	return missing || withheld ? SL_EENV : 0;
}

/* The words each host runs: the output flags, the command, its own arguments. */
static void host_words(const struct cmd_entry *c, const struct fleet_args *fa, bool json,
		       struct strv *words)
{
	if (json)
		strv_push(words, "--json");
	if (out_settings.verbosity < 0)
		strv_push(words, "-q");
	strv_push(words, c->name);
	for (size_t i = 0; i < fa->rest.n; i++)
		strv_push(words, fa->rest.v[i]);
}

static bool wants_fleet(int argc, char **argv)
{
	for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
		if (streq(argv[i], "--all-hosts") || streq(argv[i], "--host") ||
		    str_startswith(argv[i], "--host="))
			return true;
	return false;
}

int fleet_reads_maybe(struct cmd_ctx *ctx, const struct cmd_entry *c, int argc, char **argv)
{
	struct fleet_args fa = {0};
	struct strv words = {0};
	struct fleet_answer *as = NULL;
	size_t *sel = NULL, nsel = 0;
	bool status = streq(c->name, "status");
	int r;

	if (!wants_fleet(argc, argv))
		return CMD_RUN_HERE;
	r = fleet_args_split(c, argc, argv, &fa);
	if (r >= 0)
		r = fleet_args_check(ctx, c, &fa);
	if (r >= 0) {
		sel = xcalloc(ctx->cfg->nhosts + 1, sizeof(*sel));
		r = fleet_read_select(ctx->cfg, fa.host, sel, &nsel);
	}
	if (r < 0)
		goto out;
	host_words(c, &fa, out_settings.json || (status && fa.all), &words);
	as = xcalloc(nsel, sizeof(*as));
	/* one host's answer passes through as it comes (no cap on its size); several are held */
	if (fa.host)
		r = fleet_read_stream(ctx->cfg, sel[0], &words, fa.timeout_ns, as);
	else
		r = fleet_read_run(ctx->cfg, sel, nsel, &words, fa.timeout_ns, as);
	if (r < 0)
		goto out;
	if (fa.host)
		r = show_one(&as[0]);
	else if (status)
		r = fleet_status_show(as, nsel);
	else
		r = show_lines(as, nsel);
out:
	fleet_answers_release(as, nsel);
	free(as);
	free(sel);
	strv_free(&words);
	strv_free(&fa.rest);
	return r;
}
