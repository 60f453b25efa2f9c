/* SPDX-License-Identifier: MIT */
/* shiplog check: run the health checks of the services in scope now, without deploying. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <ledger/ledger.h>

#include "bus.h"
#include "cmd.h"
#include "config.h"
#include "health.h"
#include "out.h"
#include "plan.h"
#include "util.h"

static const char usage[] =
    "usage: shiplog check [--web-only|--api-only|--services-only|--workers-only|--pieces a,b]\n"
    "                     [--runtime native] [--wait DURATION]\n"
    "\n"
    "Runs the checks of the services in scope now and prints one line per check: the unit\n"
    "state (active, main pid, restarts) and every health check of the service (http-get,\n"
    "http-head, tcp, cmd). Nothing is changed or recorded. Exit 0 when all pass, 1 otherwise.\n"
    "\n"
    "Options:\n"
    "  --wait DURATION   retry failing health checks for up to DURATION (default: one try)\n"
    "\n"
    "Examples:\n"
    "  shiplog check                  # everything\n"
    "  shiplog check --workers-only   # only the worker units\n"
    "  shiplog --json check --api-only\n"
    "\n"
    "Exit codes: 0 every check passed, 1 a check failed, 2 usage or config error, 4 the bus or\n"
    "environment is not usable.\n";

static void report(json_t *rows, const char *service, const char *kind, const char *target, bool ok,
		   const char *detail)
{
	if (out_settings.json) {
		json_array_append_new(rows, json_pack("{s:o,s:s,s:o,s:b,s:o}", "service",
						      json_str(service), "kind", kind, "target",
						      json_str(target), "ok", ok, "detail",
						      json_str(detail)));
		return;
	}
	out_paint(stdout, ok ? OUT_TONE_OK : OUT_TONE_FAIL, "%-4s", ok ? "ok" : "FAIL");
	printf(" %-16s %-9s %s: %s\n", service, kind, target, detail);
}

static const struct option options[] = {
    SCOPE_OPTIONS,
    {"runtime", required_argument, NULL, 'r'},
    {"wait", required_argument, NULL, 'w'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct config *cfg = ctx->cfg;
	struct scope_args scope = {0};
	struct bus *bus = NULL;
	struct plan plan;
	int64_t wait_ns = 0;
	json_t *rows = json_array();
	char err[512];
	int opt, r = 0, failed = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		r = scope_args_option(&scope, opt, optarg, err, sizeof(err));
		if (r < 0) {
			r = cmd_usage_error(&cmd_check, "%s", err);
			goto out;
		}
		if (r > 0)
			continue;
		r = 0;
		if (opt == 'r') {
			if (!streq(optarg, "native")) {
				r = cmd_usage_error(&cmd_check,
						    "--runtime: only 'native' checks are "
						    "available here, not '%s'",
						    optarg);
				goto out;
			}
		} else if (opt == 'w') {
			if (parse_duration_ns(optarg, &wait_ns) < 0) {
				r = cmd_usage_error(&cmd_check,
						    "--wait: '%s' is not a duration (e.g. "
						    "30s, 2m)",
						    optarg);
				goto out;
			}
		} else {
			r = cmd_usage_error(&cmd_check, "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		r = cmd_usage_error(&cmd_check, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	r = plan_scope(cfg, &scope, LEDGER_RT_NATIVE, false, &plan, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	r = bus_open(&bus, cfg->native.manager == MANAGER_USER);
	if (r < 0) {
		log_error("%s", bus_errmsg(bus));
		r = SL_EENV;
		goto out;
	}
	for (size_t i = 0; i < plan.nservices; i++) {
		const struct service *s = &cfg->services[plan.services[i]];
		struct unit_props p;
		char detail[256];
		bool ok;

		r = bus_unit_props(bus, s->unit, &p);
		if (r < 0) {
			snprintf(detail, sizeof(detail), "%s", bus_errmsg(bus));
			ok = false;
		} else {
			ok = streq(p.active_state, "active");
			snprintf(detail, sizeof(detail), "%s %s/%s, pid %u, %u restarts",
				 p.load_state, p.active_state, p.sub_state, p.main_pid,
				 p.n_restarts);
		}
		report(rows, s->name, "unit", s->unit, ok, detail);
		failed += !ok;
		for (size_t j = 0; j < s->nhealth; j++) {
			struct health_result res;
			health_check(&s->health[j], wait_ns, 200000000LL, cfg->target.checkout,
				     &res);
			report(rows, s->name, health_kind_name(s->health[j].kind),
			       s->health[j].target, res.ok, res.detail);
			failed += !res.ok;
		}
	}
	if (out_settings.json)
		out_json(json_pack("{s:b,s:i,s:O}", "ok", failed == 0, "failed", failed, "checks",
				   rows));
	r = failed ? SL_EFAILED : 0;
out:
	json_decref(rows);
	bus_close(bus);
	scope_args_release(&scope);
	return r;
}

const struct cmd_entry cmd_check = {
    .name = "check",
    .summary = "run the health checks of the services in scope now",
    .usage = usage,
    .flags = CMD_CONFIG,
    .options = options,
    .run = run,
};
