/* SPDX-License-Identifier: MIT */
/* shiplog rollback: back to the last-good state before the current one, or to a chosen point
 * (an operation, a sequence, a time, or a git ref), service by service. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "fleet.h"
#include "lock.h"
#include "op.h"
#include "out.h"
#include "point.h"
#include "remote.h"
#include "rollback.h"
#include "view.h"

static const char usage[] =
    "usage: shiplog rollback [--to N|seq:S|TIME|REF] [--runtime native|docker]\n"
    "                        [--web-only|--api-only|--services-only|--workers-only|--pieces a,b]\n"
    "                        [--no-build] [--wait-lock DURATION] [--no-progress]\n"
    "                        [--dry-run [--json]] [--hosts a,b | --all-hosts]\n"
    "\n"
    "Without --to: every service in scope goes back to the last-good commit before the one it\n"
    "runs (the newest deploy whose verify passed and that was not rolled back); failed,\n"
    "rolled-back and interrupted operations are skipped, and the command says which and why.\n"
    "\n"
    "With --to, the ledger is replayed to that point and each service in scope is moved to\n"
    "the commit it ran then:\n"
    "  N         an operation number (1, 2, 3 ..., the OP column of 'shiplog history'): the\n"
    "            state right after that operation finished; a bare number is never a sequence\n"
    "  seq:S     the state after ledger event S\n"
    "  TIME      RFC 3339 (2026-11-27T08:00:00Z) or an age (90m, 2h, 3d)\n"
    "  REF       a commit, tag or branch: every service in scope goes to it\n"
    "Services already at their target are not restarted. The commit rolled away from is\n"
    "quarantined: a later deploy of it needs --force. Runs under the deploy lock.\n"
    "\n"
    "Owners come back too. Without --to, a service whose newest change is a cut-over goes\n"
    "back to the runtime it left. With --to a point, each service another runtime owns now\n"
    "than then goes back to the owner it had then, at the commit it ran then (the checkout\n"
    "moves there, the runtime builds what it lacks), the way 'shiplog cutover' moves it: the\n"
    "current owner stops first, the old one starts and is verified, owner.changed is recorded.\n"
    "A failed move is reversed (the current owner runs again, verified) and the rollback fails\n"
    "naming the operation. A service owned then and now by the other runtime is left to\n"
    "'rollback --runtime' of that runtime.\n"
    "\n"
    "--dry-run prints the plan (targets, owners put back, what it reverts and quarantines,\n"
    "the guards) and changes and records nothing; with --json, the plan as one JSON document.\n"
    "\n"
    "A rollback that was killed or interrupted is completed by the next plain rollback: to the\n"
    "targets it recorded, whatever --to it had, verifying every service.\n"
    "\n"
    "Scope (default: every service the ledger knows on that runtime) and the other options are\n"
    "those of 'shiplog deploy', --no-progress too (no live status line on a terminal; the\n"
    "expected durations are printed at the start either way).\n"
    "\n"
    "--hosts a,b / --all-hosts: each [host NAME] runs its own 'shiplog rollback' (with --to\n"
    "and the scope as given) over ssh, in the fleet's waves ([fleet] canary, wave_size);\n"
    "without --to each host goes to its own last-good. --to fleet:N takes each host to\n"
    "what it ran before fleet operation N (history --kind fleet lists them); a commit or a\n"
    "time is read by each host alike; an operation number or seq:S (each host's own) is\n"
    "refused. The fleet operation is recorded\n"
    "in this ledger (fleet.* events); exit 0 only when every host's rollback succeeded;\n"
    "^C starts no further host, lets the running ones finish and exits 130.\n"
    "\n"
    "Exit codes: 0 rolled back (--dry-run: planned); 1 the rollback failed (or has no\n"
    "target); 2 usage, or nothing to roll back; 3 refused (lock held); 4 ledger or\n"
    "environment error; 130 interrupted (SIGINT/SIGTERM: the next plain rollback\n"
    "completes it).\n"
    "\n"
    "Examples:\n"
    "  shiplog rollback                    # back to the previous good deploy\n"
    "  shiplog rollback --workers-only     # only the workers\n"
    "  shiplog rollback --to 42 --dry-run  # what operation 42's state would need\n"
    "  shiplog rollback --to 7             # owners too: as before the cut-overs after op 7\n"
    "  shiplog rollback --to 2h            # as things were two hours ago\n"
    "  shiplog rollback --all-hosts --to fleet:3   # every host as before fleet operation 3\n"
    "  shiplog rollback --all-hosts        # every host to its last-good, in waves\n";

enum {
	OPT_RUNTIME = 100,
	OPT_TO,
	OPT_DRY_RUN,
	OPT_NO_BUILD,
	OPT_WAIT_LOCK,
	OPT_LOCAL,
	OPT_SSH,
	OPT_NO_PROGRESS,
	OPT_HOSTS,
	OPT_ALL_HOSTS,
};

static const struct option options[] = {
    SCOPE_OPTIONS,
    {"runtime", required_argument, NULL, OPT_RUNTIME},
    {"to", required_argument, NULL, OPT_TO},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"no-build", no_argument, NULL, OPT_NO_BUILD},
    {"wait-lock", required_argument, NULL, OPT_WAIT_LOCK},
    {"local", no_argument, NULL, OPT_LOCAL},
    {"ssh", no_argument, NULL, OPT_SSH},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"hosts", required_argument, NULL, OPT_HOSTS},
    {"all-hosts", no_argument, NULL, OPT_ALL_HOSTS},
    {0},
};

struct cli {
	struct rollback_args a;
	bool dry_run;
	int64_t wait_ns;
	int exec_override;
	struct strv hosts; /* --hosts a,b */
	bool all_hosts;	   /* --all-hosts */
};

static int parse(int argc, char **argv, struct cli *c)
{
	char err[512];
	int opt, r;

	c->a.runtime = LEDGER_RT_NATIVE;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		r = scope_args_option(&c->a.scope, opt, optarg, err, sizeof(err));
		if (r < 0)
			return cmd_usage_error(&cmd_rollback, "%s", err);
		if (r > 0)
			continue;
		if (opt == OPT_RUNTIME) {
			c->a.runtime = ledger_runtime_from_name(optarg);
			if (c->a.runtime < 0)
				return cmd_usage_error(&cmd_rollback,
						       "--runtime: '%s' is not native or docker",
						       optarg);
		} else if (opt == OPT_TO) {
			c->a.to = optarg;
		} else if (opt == OPT_DRY_RUN || opt == OPT_NO_BUILD) {
			*(opt == OPT_DRY_RUN ? &c->dry_run : &c->a.no_build) = true;
		} else if (opt == OPT_WAIT_LOCK) {
			if (parse_duration_ns(optarg, &c->wait_ns) < 0)
				return cmd_usage_error(
				    &cmd_rollback, "--wait-lock: '%s' is not a duration", optarg);
		} else if (opt == OPT_HOSTS || opt == OPT_ALL_HOSTS) {
			if (opt == OPT_HOSTS)
				strv_split_commas(&c->hosts, optarg);
			else
				c->all_hosts = true;
		} else if (opt == OPT_NO_PROGRESS) {
			out_settings.no_progress = true;
		} else if (opt == OPT_LOCAL || opt == OPT_SSH) {
			c->exec_override =
			    opt == OPT_LOCAL ? EXEC_OVERRIDE_LOCAL : EXEC_OVERRIDE_SSH;
		} else {
			return cmd_usage_error(&cmd_rollback, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_rollback, "unexpected argument '%s' (use --to %s)",
				       argv[optind], argv[optind]);
	if (c->all_hosts && c->hosts.n)
		return cmd_usage_error(&cmd_rollback, "choose --hosts or --all-hosts, not both");
	if (c->a.to && (c->a.to[0] == '-' || !*c->a.to))
		return cmd_usage_error(&cmd_rollback, "--to: '%s' is not a target", c->a.to);
	return 0;
}

/* The lock, and the operations a dead holder left open closed, before anything is read. */
static int lock_take(struct cmd_ctx *ctx, int64_t wait_ns, struct deploy_lock *lock)
{
	struct lock_holder holder;
	int r = lock_acquire(ctx->ledger_dir, wait_ns, lock, &holder);

	if (r < 0)
		lock_say_refused("rollback", ctx->ledger_dir, r, &holder, true);
	return r < 0 ? r : op_close_interrupted(ctx->lg, "interrupted");
}

/* The plan: as text (a real run says its notes; a refusal goes to stderr), or with --dry-run
 * --json as one JSON document on stdout. */
static void show(const struct rollback_plan *p, const struct config *cfg, bool dry_run)
{
	json_t *o;

	if (!dry_run || !out_settings.json) {
		rollback_plan_print(p, cfg, dry_run);
		return;
	}
	o = rollback_plan_json(p, cfg);
	json_object_set_new(o, "dry_run", json_true());
	out_json(o);
	if (p->refusal)
		rollback_plan_print(p, cfg, false);
}

static int execute(struct cmd_ctx *ctx, struct repo *repo, const struct rollback_plan *p,
		   const struct ledger_state *st)
{
	uint64_t id = 0;
	char on[VIEW_OP_NAME_MAX], error[512] = "";
	int r = rollback_execute(p, ctx->cfg, ctx->lg, repo, st, &id, error, sizeof(error));

	view_op_name(id, on);
	if (r == 0) {
		out_say_tone(OUT_TONE_OK, "Operation %s succeeded: rolled back", on);
		if (!op_interrupted)
			return 0;
		/* the signal came after its last step: done and recorded, still the operator's
		 * stop (exit 130, as every operation) */
		log_error("rollback operation %s: signal %d came after its last step: the "
			  "rollback was finished; see 'shiplog show %s'",
			  on, (int)op_interrupted, on);
		return SL_EINTERRUPTED;
	}
	if (!id)
		return r;
	if (op_interrupted)
		log_error("rollback operation %s was interrupted by signal %d; 'shiplog "
			  "rollback' completes it; see 'shiplog show %s'",
			  on, (int)op_interrupted, on);
	else
		log_error("rollback operation %s failed%s%s; see 'shiplog show %s'", on,
			  error[0] ? ": " : "", error, on);
	rollback_say_running(ctx->lg, ctx->cfg, p->runtime, p->scope, p->nscope);
	return r;
}

/* A fleet rollback's --to: "fleet:N" (*fleet = N), or a commit or time every host reads
 * alike. An operation number or seq:S is each host's own ledger's, which name different
 * moments on different hosts: refused, with what to give instead. */
static int fleet_to(const char *to, uint64_t *fleet, char *err, size_t errlen)
{
	struct point pt;
	char *end;

	*fleet = 0;
	if (!to)
		return 0;
	if (!strncmp(to, "fleet:", 6)) {
		errno = 0;
		*fleet = strtoull(to + 6, &end, 10);
		if (!isdigit((unsigned char)to[6]) || *end || errno || !*fleet) {
			snprintf(err, errlen,
				 "--to '%s': fleet:N takes a fleet operation's number ('shiplog "
				 "history --kind fleet' lists them)",
				 to);
			return SL_EUSAGE;
		}
		return 0;
	}
	if (point_parse(to, 0, &pt) == 0 && (pt.kind == POINT_NUMBER || pt.kind == POINT_SEQ)) {
		snprintf(
		    err, errlen,
		    "--to '%s' with --hosts/--all-hosts: an operation number or seq:S is each "
		    "host's own ledger's and names a different moment on each; give --to fleet:N "
		    "(each host to what it ran before fleet operation N), a commit, or a time",
		    to);
		return SL_EUSAGE;
	}
	return 0;
}

/* --hosts / --all-hosts: each host's own shiplog rolls it back, in the fleet's waves. */
static int rollback_fleet(struct cmd_ctx *ctx, struct cli *c, int argc, char **argv)
{
	const struct config *cfg = ctx->cfg;
	struct fleet_plan p = {.kind = "rollback"};
	size_t *sel = xcalloc(cfg->nhosts ? cfg->nhosts : 1, sizeof(*sel)), nsel = 0;
	struct plan scope;
	uint64_t fleet = 0;
	char err[1024];
	int r;

	r = fleet_to(c->a.to, &fleet, err, sizeof(err));
	if (r >= 0)
		r = plan_scope(cfg, &c->a.scope, c->a.runtime, false, &scope, err, sizeof(err));
	if (r >= 0)
		r = fleet_select(cfg, &c->hosts, sel, &nsel, err, sizeof(err));
	if (r >= 0) {
		fleet_split_args(argc, argv, options, &p);
		r = fleet_plan_make(cfg, sel, nsel, c->a.scope.explicit_ ? &scope : NULL, &p, err,
				    sizeof(err));
	}
	if (r >= 0 && fleet) {
		/* the controller's ledger says what each host ran before fleet operation N
		 * (opened for writing now unless a dry run: the fleet operation is recorded there)
		 */
		r = cmd_open_ledger(ctx, !c->dry_run);
		if (r >= 0)
			r = fleet_rollback_targets(ctx->lg, fleet, &p, err, sizeof(err));
		if (r < 0 && r != SL_EUSAGE) {
			fleet_plan_release(&p);
			free(sel);
			return r;
		}
	}
	if (r < 0)
		log_error("%s", err);
	else
		fleet_plan_print(&p);
	if (r >= 0 && c->dry_run)
		out_say("--dry-run: nothing was changed or recorded");
	else if (r >= 0)
		r = cmd_open_ledger(ctx, true);
	if (r >= 0 && !c->dry_run)
		r = fleet_execute(&p, ctx->lg, ctx->ledger_dir);
	fleet_plan_release(&p);
	free(sel);
	return r;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cli c = {0};
	struct deploy_lock lock = {.fd = -1};
	struct rollback_inputs in = {0};
	struct rollback_plan *p = xcalloc(1, sizeof(*p));
	struct remote_request rrq;
	struct repo *repo = NULL;
	int r;

	out_settings.tag = "rollback"; /* the transcript says which operation it is */
	r = parse(argc, argv, &c);
	if (r < 0)
		goto out;
	if ((c.all_hosts || c.hosts.n) && !ctx->forwarded_from) {
		r = rollback_fleet(ctx, &c, argc, argv);
		goto out;
	}
	rrq = cmd_remote_request(ctx, c.exec_override);
	r = remote_maybe_forward(&rrq, &c.a.exec_mode);
	if (r != REMOTE_RUN_HERE)
		goto out;
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		goto out;
	r = repo_open(ctx->cfg->target.checkout, &repo);
	if (r < 0) {
		log_error("cannot open the checkout '%s': %s", ctx->cfg->target.checkout,
			  repo_errmsg(repo));
		r = SL_EENV;
		goto out;
	}
	r = c.dry_run ? 0 : lock_take(ctx, c.wait_ns, &lock);
	if (r >= 0)
		r = rollback_inputs_read(ctx->lg, repo, ctx->cfg, &c.a, &in);
	if (r < 0)
		goto out;
	r = rollback_plan(ctx->cfg, &c.a, &in, p);
	show(p, ctx->cfg, c.dry_run);
	if (r == 0 && !c.dry_run)
		r = execute(ctx, repo, p, in.now);
out:
	lock_release(&lock);
	rollback_inputs_release(&in);
	rollback_plan_release(p);
	free(p);
	repo_free(repo);
	scope_args_release(&c.a.scope);
	strv_free(&c.hosts);
	return r;
}

const struct cmd_entry cmd_rollback = {
    .name = "rollback",
    .summary = "roll services back to the last-good state or a chosen point",
    .usage = usage,
    .flags = CMD_CONFIG,
    .shortopts = "",
    .options = options,
    .run = run,
};
