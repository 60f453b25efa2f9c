/* SPDX-License-Identifier: MIT */
/* shiplog cutover: move services from one runtime to the other, deliberately: the old owner
 * stops first, the new one starts at the same commit and is verified; a failure puts the old one
 * back. Planned like deploy (op/cutover.h): --dry-run prints the plan and stops. */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "cutover.h"
#include "out.h"
#include "remote.h"
#include "repo.h"
#include "util.h"

static const char usage[] =
    "usage: shiplog cutover SERVICE... --to native|docker [--dry-run] [--json]\n"
    "                       [--without-soak] [--wait-lock DURATION] [--no-progress]\n"
    "\n"
    "Moves services from the runtime that owns them to the other one, at the commit they run.\n"
    "A service runs on one runtime at a time (durable stream consumers must never run twice),\n"
    "so the old owner stops FIRST; then the new one starts at the same commit and is verified\n"
    "(settle window, health checks). For an edge role (policy edge_roles) the [edge] switch\n"
    "command runs next, then the public checks. Each step is recorded; the ownership change\n"
    "is recorded as owner.changed events.\n"
    "\n"
    "On a failure the new runtime is stopped, the [edge] revert runs (when the switch ran),\n"
    "the old owner starts again at the same commit and is verified; the command exits 1 and\n"
    "names the operation. 'shiplog rollback' after a cut-over puts the previous owner back;\n"
    "'shiplog rollback --to N' the owners of operation N.\n"
    "\n"
    "A first ^C (SIGINT/SIGTERM) ends the current step; then, if the old owner was already\n"
    "stopped and the new one not yet verified, the old owner is put back and verified as on a\n"
    "failure; once the new one was verified, the move is recorded as done. Either way it exits\n"
    "130 and says which. A second ^C stops at once, leaving things as far as they got.\n"
    "\n"
    "Refused (exit 3, recorded) unless: the lock is free; each service is owned by the other\n"
    "runtime; the target runtime is ready (native: its unit is loaded; docker: the compose\n"
    "service is defined; in place, the checkout holds the commit); and the newest soak\n"
    "verdict of each service (written by 'shiplog soak report') passed. What is not built\n"
    "yet (the checkout's shared build, an image of the commit) is built first, before\n"
    "anything stops.\n"
    "\n"
    "With [target] layout = releases the new runtime starts from the commit's release, not\n"
    "the checkout: native runs from <checkout>.releases/COMMIT (written and built first when\n"
    "its build did not complete), the services' release links switched to it when needed and\n"
    "put back on failure; docker reads compose, and builds, in that release (else in the\n"
    "checkout when it holds the commit).\n"
    "\n"
    "Options:\n"
    "  --to native|docker  the runtime the services move to (required)\n"
    "  --dry-run           print the plan (the moves, every guard's verdict, the steps) and\n"
    "                      change and record nothing; with --json, one JSON document\n"
    "  --json              a real run: the transcript on stderr, and stdout ends with one\n"
    "                      JSON result line (number, services, from, to, commit, outcome,\n"
    "                      reversed, end)\n"
    "  --without-soak      cut over without a passing soak verdict (recorded as a flag)\n"
    "  --wait-lock D       wait up to D for the deploy lock instead of refusing at once\n"
    "  --no-progress       no live status line on a terminal\n"
    "\n"
    "Exit codes: 0 cut over; 1 failed (reversed, or the reverse failed: said); 2 usage or\n"
    "config error; 3 refused (guard, lock held); 4 ledger or environment error; 130\n"
    "interrupted (^C; what runs is said).\n"
    "\n"
    "Examples:\n"
    "  shiplog cutover compute candles --to native --dry-run\n"
    "  shiplog cutover compute --to native\n"
    "  shiplog cutover web --to native       # runs [edge] switch, then the public checks\n"
    "  shiplog cutover compute --to docker   # and back\n";

enum { OPT_TO = 100, OPT_DRY_RUN, OPT_WITHOUT_SOAK, OPT_WAIT_LOCK, OPT_NO_PROGRESS };

static const struct option options[] = {
    {"to", required_argument, NULL, OPT_TO},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"without-soak", no_argument, NULL, OPT_WITHOUT_SOAK},
    {"wait-lock", required_argument, NULL, OPT_WAIT_LOCK},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {0},
};

static int parse(int argc, char **argv, struct cutover_args *a)
{
	bool to = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == OPT_TO) {
			a->to = ledger_runtime_from_name(optarg);
			if (a->to < 0)
				return cmd_usage_error(
				    &cmd_cutover, "--to: '%s' is not native or docker", optarg);
			to = true;
		} else if (opt == OPT_DRY_RUN) {
			a->dry_run = true;
		} else if (opt == OPT_WITHOUT_SOAK) {
			a->without_soak = true;
		} else if (opt == OPT_WAIT_LOCK) {
			if (parse_duration_ns(optarg, &a->wait_lock_ns) < 0)
				return cmd_usage_error(
				    &cmd_cutover, "--wait-lock: '%s' is not a duration", optarg);
		} else if (opt == OPT_NO_PROGRESS) {
			out_settings.no_progress = true;
		} else {
			return cmd_usage_error(&cmd_cutover, "unknown option");
		}
	}
	for (int i = optind; i < argc; i++)
		strv_push(&a->services, argv[i]);
	if (!to)
		return cmd_usage_error(&cmd_cutover, "--to native|docker is required");
	if (!a->services.n)
		return cmd_usage_error(&cmd_cutover, "name the services to cut over");
	return 0;
}

/* --dry-run: the facts and the state as they are now (read-only; no ledger yet: the empty
 * state), the plan, printed. */
static int dry_run(struct cmd_ctx *ctx, const struct cutover_args *a, struct repo *repo)
{
	_cleanup_free_ char *data = NULL;
	struct cutover_facts *f = xcalloc(1, sizeof(*f));
	struct cutover_plan *p = xcalloc(1, sizeof(*p));
	struct ledger_state *st = xcalloc(1, sizeof(*st));
	char err[1024];
	int r = 0;

	ledger_state_init(st);
	if (!ctx->ledger_dir)
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, ctx->cfg);
	data = ctx->ledger_dir ? xasprintf("%s/data.mdb", ctx->ledger_dir) : NULL;
	if (data && access(data, F_OK) == 0) {
		r = cmd_open_ledger(ctx, false);
		if (r >= 0)
			r = ledger_state_at(ctx->lg, UINT64_MAX, st);
		if (r < 0)
			goto out;
	}
	cutover_facts_read(ctx->cfg, a, repo, ctx->lg, st, ctx->ledger_dir, f);
	if (!ctx->lg)
		f->soak_read = true; /* no ledger: no verdict */
	r = cutover_plan(ctx->cfg, a, f, st, p, err, sizeof(err));
	if (r < 0) {
		cmd_usage_error(&cmd_cutover, "%s", err);
		goto out;
	}
	cutover_plan_say(p);
	r = cutover_plan_print(p);
out:
	free(f);
	free(p);
	free(st);
	return r;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cutover_args a = {.to = -1};
	struct remote_request rrq;
	struct repo *repo = NULL;
	int r;

	out_settings.tag = "cutover"; /* the transcript says which operation it is */
	r = parse(argc, argv, &a);
	if (r < 0)
		goto out;
	rrq = cmd_remote_request(ctx, EXEC_OVERRIDE_NONE);
	r = remote_maybe_forward(&rrq, &a.exec_mode);
	if (r != REMOTE_RUN_HERE)
		goto out;
	r = repo_open(ctx->cfg->target.checkout, &repo);
	if (r < 0) {
		log_error("cannot open the checkout '%s': %s", ctx->cfg->target.checkout,
			  repo_errmsg(repo));
		r = SL_EENV;
		goto out;
	}
	if (a.dry_run) {
		r = dry_run(ctx, &a, repo);
		goto out;
	}
	r = cmd_open_ledger(ctx, true);
	if (r >= 0)
		r = cutover_execute(ctx->cfg, &a, repo, ctx->lg, ctx->ledger_dir);
out:
	repo_free(repo);
	strv_free(&a.services);
	return r;
}

const struct cmd_entry cmd_cutover = {
    .name = "cutover",
    .summary = "move services between runtimes (stop the old owner, start the new, verify)",
    .usage = usage,
    .flags = CMD_CONFIG,
    .shortopts = "",
    .options = options,
    .run = run,
};
