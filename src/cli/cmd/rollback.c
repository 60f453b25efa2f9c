/* SPDX-License-Identifier: MIT */
/* shiplog rollback: back to the last-good state before the current one, or to a chosen point
 * (an operation, a sequence, a time, or a git ref), service by service. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "config.h"
#include "lock.h"
#include "op.h"
#include "out.h"
#include "plan.h"
#include "remote.h"
#include "repo.h"
#include "rollback.h"
#include "util.h"

static const char usage[] =
    "usage: shiplog rollback [--to ID|seq:N|TIME|REF] [--runtime native|docker]\n"
    "                        [--web-only|--api-only|--services-only|--workers-only|--pieces a,b]\n"
    "                        [--no-build] [--wait-lock DURATION] [--dry-run]\n"
    "\n"
    "Without --to: every service in scope goes back to the last-good commit before the one it\n"
    "runs (the newest deploy whose verify passed and that was not rolled back); failed,\n"
    "rolled-back and interrupted operations are skipped, and the command says which and why.\n"
    "\n"
    "With --to, the ledger is replayed to that point and each service in scope is moved to\n"
    "the commit it ran then:\n"
    "  ID        an operation id: the state right after that operation finished\n"
    "  seq:N     the state after ledger event N (a bare number that is not an operation id is\n"
    "            read as a sequence too)\n"
    "  TIME      RFC 3339 (2026-11-27T08:00:00Z) or an age (90m, 2h, 3d)\n"
    "  REF       a commit, tag or branch: every service in scope goes to it\n"
    "Services already at their target are not restarted. The commit rolled away from is\n"
    "quarantined: a later deploy of it needs --force. Runs under the deploy lock.\n"
    "\n"
    "A rollback that was killed or interrupted is completed by the next plain rollback: to the\n"
    "targets it recorded, whatever --to it had, verifying every service.\n"
    "\n"
    "Scope (default: every service the ledger knows on that runtime) and the other options are\n"
    "those of 'shiplog deploy'.\n"
    "\n"
    "Exit: 0 rolled back; 1 the rollback failed; 2 usage; 3 refused (lock held); 4 ledger or\n"
    "environment error.\n"
    "\n"
    "Examples:\n"
    "  shiplog rollback                    # back to the previous good deploy\n"
    "  shiplog rollback --workers-only     # only the workers\n"
    "  shiplog rollback --to 42 --dry-run  # what operation 42's state would need\n"
    "  shiplog rollback --to 2h            # as things were two hours ago\n";

struct last_seq {
	uint64_t seq;
};

static int op_last(const struct ledger_event *ev, void *ud)
{
	((struct last_seq *)ud)->seq = ev->seq;
	return 0;
}

/* Resolves --to into a ledger point (seq) when it names one; 0 when it is a git ref. */
static int to_point(struct ledger *lg, const char *to, uint64_t *seq, char *what, size_t n)
{
	uint64_t last = 0, v;
	int64_t t;
	char *end;

	ledger_last_seq(lg, &last);
	if (str_startswith(to, "seq:")) {
		errno = 0;
		v = strtoull(to + 4, &end, 10);
		if (errno || *end || end == to + 4 || v == 0 || v > last) {
			log_error("rollback: '%s' is not a sequence in this ledger (1..%llu)", to,
				  (unsigned long long)last);
			return SL_EUSAGE;
		}
		*seq = v;
		snprintf(what, n, "the state after event %llu", (unsigned long long)v);
		return 1;
	}
	errno = 0;
	v = strtoull(to, &end, 10);
	if (!errno && *to && !*end) {
		struct ledger_event ev = {0};
		if (v == 0 || v > last) {
			log_error(
			    "rollback: no operation or sequence %llu in this ledger (newest is "
			    "%llu)",
			    (unsigned long long)v, (unsigned long long)last);
			return SL_EUSAGE;
		}
		if (ledger_get(lg, v, &ev) == 0 && ev.type == LEDGER_EV_OP_REQUESTED &&
		    ev.op == v) {
			struct last_seq ls = {v};
			ledger_event_release(&ev);
			ledger_op_events(lg, v, op_last, &ls);
			*seq = ls.seq;
			snprintf(what, n, "the state after operation %llu (event %llu)",
				 (unsigned long long)v, (unsigned long long)ls.seq);
			return 1;
		}
		ledger_event_release(&ev);
		*seq = v;
		snprintf(what, n, "the state after event %llu", (unsigned long long)v);
		return 1;
	}
	if (parse_time_ns(to, now_ns(), &t) == 0) {
		uint64_t first_after;
		char when[64];
		ledger_seek_time(lg, t, &first_after);
		if (first_after <= 1) {
			log_error("rollback: nothing was recorded before %s", to);
			return SL_EUSAGE;
		}
		*seq = first_after - 1;
		format_time(t, when, sizeof(when));
		snprintf(what, n, "the state at %s (event %llu)", when, (unsigned long long)*seq);
		return 1;
	}
	return 0;
}

struct moved_to {
	char commit[LEDGER_COMMIT_MAX];
};

static int find_moved(const struct ledger_event *ev, void *ud)
{
	if (ev->type == LEDGER_EV_GIT_MOVED)
		strlcpy_(((struct moved_to *)ud)->commit, ev->u.git_moved.to, LEDGER_COMMIT_MAX);
	return 0;
}

/* The commit an operation deployed: its request's, or where it moved the checkout. */
static void op_commit(struct ledger *lg, const struct ledger_op_summary *s, char *out)
{
	struct moved_to m = {""};

	strlcpy_(out, s->request.u.op_requested.commit, LEDGER_COMMIT_MAX);
	if (out[0])
		return;
	ledger_op_events(lg, s->op, find_moved, &m);
	strlcpy_(out, m.commit, LEDGER_COMMIT_MAX);
}

/* Prints the operations newer than the target that a no-target rollback passes over. */
static void say_skipped(struct ledger *lg, const struct config *cfg, int runtime,
			const struct ledger_state *st, const char *target)
{
	struct ledger_history_filter f = {.runtime = runtime, .outcome = -1};
	struct ledger_op_summary *rows = NULL;
	size_t n = 0;

	if (ledger_history(lg, &f, 50, &rows, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct ledger_op_summary *s = &rows[i];
		char commit[LEDGER_COMMIT_MAX];
		if (s->refused || s->request.type != LEDGER_EV_OP_REQUESTED)
			continue;
		op_commit(lg, s, commit);
		if (commit[0] && streq(commit, target))
			break;
		if (s->outcome != LEDGER_OUT_SUCCEEDED)
			out_say("skipping operation %llu (%s %.12s): %s", (unsigned long long)s->op,
				s->request.u.op_requested.kind, commit,
				s->outcome == LEDGER_OUT_NONE ? "still open"
							      : ledger_outcome_name(s->outcome));
		else if (ledger_state_quarantined(st, commit))
			out_say("skipping operation %llu (%s %.12s): its commit is quarantined",
				(unsigned long long)s->op, s->request.u.op_requested.kind, commit);
		else
			out_say("rolling back past operation %llu (%s %.12s, succeeded)",
				(unsigned long long)s->op, s->request.u.op_requested.kind, commit);
	}
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	(void)cfg;
}

/* The newest operation on runtime, when it is a rollback that did not finish (killed, or stopped
 * by a signal): 1 and *row filled (release it), else 0. */
static int find_interrupted_rollback(struct ledger *lg, int runtime, struct ledger_op_summary *row)
{
	struct ledger_history_filter f = {.runtime = runtime, .outcome = -1};
	struct ledger_op_summary *rows = NULL;
	size_t n = 0;
	int found = 0;

	if (ledger_history(lg, &f, 16, &rows, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct ledger_op_summary *s = &rows[i];
		if (s->refused || s->request.type != LEDGER_EV_OP_REQUESTED)
			continue;
		if (streq(s->request.u.op_requested.kind, "rollback") &&
		    (s->outcome == LEDGER_OUT_INTERRUPTED || s->outcome == LEDGER_OUT_NONE)) {
			*row = *s;
			rows[i] = (struct ledger_op_summary){0};
			found = 1;
		}
		break;
	}
	for (size_t i = 0; i < n; i++)
		ledger_op_summary_release(&rows[i]);
	free(rows);
	return found;
}

/* Completing an interrupted rollback: its recorded targets, for the services in svcs. Returns
 * false when it recorded none (a ledger from before targets were recorded). */
static bool take_recorded_targets(const struct config *cfg, const struct ledger_state *st,
				  int runtime, const struct ledger_op_requested *req,
				  const size_t *svcs, size_t nsvcs, struct rb_request *rq)
{
	if (!req->targets.n)
		return false;
	for (uint32_t i = 0; i < req->targets.n; i++) {
		const char *eq = strrchr(req->targets.v[i], '=');
		char name[LEDGER_NAME_MAX];
		const struct ledger_service_state *now;
		struct rb_target *t;
		bool in_scope = false;
		int idx;

		if (!eq || (size_t)(eq - req->targets.v[i]) >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - req->targets.v[i]),
			 req->targets.v[i]);
		idx = config_service_index(cfg, name);
		for (size_t k = 0; idx >= 0 && k < nsvcs; k++)
			in_scope = in_scope || svcs[k] == (size_t)idx;
		if (!in_scope) {
			out_say("%s: not in scope (or no longer configured): left as it is", name);
			continue;
		}
		now = ledger_state_service(st, name);
		t = &rq->targets[rq->ntargets++];
		t->service = (size_t)idx;
		strlcpy_(t->commit, eq + 1, sizeof(t->commit));
		strlcpy_(t->from, now ? now->rt[runtime].commit : "", sizeof(t->from));
	}
	return true;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"web-only", no_argument, NULL, 1},
	    {"api-only", no_argument, NULL, 2},
	    {"services-only", no_argument, NULL, 3},
	    {"workers-only", no_argument, NULL, 4},
	    {"pieces", required_argument, NULL, 5},
	    {"piece", required_argument, NULL, 6},
	    {"runtime", required_argument, NULL, 7},
	    {"to", required_argument, NULL, 8},
	    {"dry-run", no_argument, NULL, 9},
	    {"no-build", no_argument, NULL, 10},
	    {"wait-lock", required_argument, NULL, 11},
	    {"local", no_argument, NULL, 12},
	    {"ssh", no_argument, NULL, 13},
	    {0},
	};
	static const char *const names[] = {NULL,	    "web-only", "api-only", "services-only",
					    "workers-only", "pieces",	"piece"};
	const struct config *cfg = ctx->cfg;
	struct scope_args scope = {0};
	struct ledger_state *st = xcalloc(1, sizeof(*st)), *tst = xcalloc(1, sizeof(*tst));
	struct rb_request *rq = xcalloc(1, sizeof(*rq));
	struct remote_request rrq;
	struct deploy_lock lock = {.fd = -1};
	struct lock_holder holder;
	struct repo *repo = NULL;
	struct strv missing = {0};
	const char *to = NULL;
	bool dry_run = false;
	int runtime = LEDGER_RT_NATIVE, exec_override = 0, opt, r;
	int64_t wait_ns = 0;
	size_t svcs[64], nsvcs = 0;
	char err[512], what[256] = "", interrupted_prev[LEDGER_COMMIT_MAX] = "";
	uint64_t interrupted_reverts = 0;
	uint64_t rb_op = 0;
	struct ledger_op_summary irb = {0};
	bool completing = false, recorded = false;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt >= 1 && opt <= 6) {
			r = scope_args_take(&scope, names[opt], optarg, err, sizeof(err));
			if (r < 0) {
				r = cmd_usage_error(&cmd_rollback, "%s", err);
				goto out;
			}
		} else if (opt == 7) {
			runtime = ledger_runtime_from_name(optarg);
			if (runtime < 0) {
				r = cmd_usage_error(&cmd_rollback,
						    "--runtime: '%s' is not native or "
						    "docker",
						    optarg);
				goto out;
			}
		} else if (opt == 8) {
			to = optarg;
		} else if (opt == 9) {
			dry_run = true;
		} else if (opt == 10) {
			rq->no_build = true;
		} else if (opt == 11) {
			if (parse_duration_ns(optarg, &wait_ns) < 0) {
				r = cmd_usage_error(&cmd_rollback,
						    "--wait-lock: '%s' is not a duration", optarg);
				goto out;
			}
		} else if (opt == 12 || opt == 13) {
			exec_override = opt == 12 ? 1 : 2;
		} else {
			r = cmd_usage_error(&cmd_rollback, "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		r = cmd_usage_error(&cmd_rollback, "unexpected argument '%s' (use --to %s)",
				    argv[optind], argv[optind]);
		goto out;
	}
	if (to && (to[0] == '-' || !*to)) {
		r = cmd_usage_error(&cmd_rollback, "--to: '%s' is not a target", to);
		goto out;
	}
	rrq = cmd_remote_request(ctx, exec_override);
	r = remote_maybe_forward(&rrq, &rq->exec_mode);
	if (r != REMOTE_RUN_HERE)
		goto out;
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		goto out;
	r = repo_open(cfg->target.checkout, &repo);
	if (r < 0) {
		log_error("cannot open the checkout '%s': %s", cfg->target.checkout,
			  repo_errmsg(repo));
		r = SL_EENV;
		goto out;
	}

	if (!dry_run) {
		r = lock_acquire(ctx->ledger_dir, wait_ns, &lock, &holder);
		if (r == SL_EREFUSED) {
			char who[512];
			lock_holder_describe(&holder, who, sizeof(who));
			log_error(
			    "rollback: lock held by %s; wait (--wait-lock 5m) or run 'shiplog "
			    "lock status'",
			    who);
			goto out;
		}
		if (r < 0)
			goto out;
		r = op_close_interrupted(ctx->lg, "interrupted");
		if (r < 0)
			goto out;
	}
	/* A rollback that was killed or stopped half way is completed by a plain rollback: the
	 * targets it recorded, the same reverted operation, and what it rolled away from is what
	 * gets quarantined. An explicit --to is a new target instead. */
	if (!to && find_interrupted_rollback(ctx->lg, runtime, &irb)) {
		const struct ledger_op_requested *ireq = &irb.request.u.op_requested;
		out_say("operation %llu, a rollback (%s%s%s), was interrupted: completing it",
			(unsigned long long)irb.op, ireq->mode, ireq->ref[0] ? " " : "", ireq->ref);
		completing = true;
		interrupted_reverts = ireq->reverts;
		strlcpy_(interrupted_prev, ireq->prev_commit, sizeof(interrupted_prev));
	}
	r = ledger_state_at(ctx->lg, UINT64_MAX, st);
	if (r < 0) {
		log_error("cannot read the ledger state: %s", ledger_strerror(r));
		goto out;
	}

	/* scope: explicit, else every configured service the ledger has seen on this runtime */
	if (scope.explicit_) {
		struct plan p;
		r = plan_scope(cfg, &scope, runtime, false, &p, err, sizeof(err));
		if (r < 0) {
			log_error("%s", err);
			goto out;
		}
		memcpy(svcs, p.services, p.nservices * sizeof(svcs[0]));
		nsvcs = p.nservices;
	} else {
		for (size_t i = 0; i < cfg->nservices; i++) {
			const struct ledger_service_state *ss =
			    ledger_state_service(st, cfg->services[i].name);
			if (ss && ss->rt[runtime].commit[0])
				svcs[nsvcs++] = i;
		}
	}
	if (!nsvcs) {
		log_error(
		    "rollback: nothing to roll back: the ledger shows no service deployed on the "
		    "%s runtime",
		    ledger_runtime_name(runtime));
		r = SL_EUSAGE;
		goto out;
	}

	rq->mode = to ? "to" : "last-good";
	rq->ref = to ? to : "";
	rq->reason = "manual";
	rq->runtime = runtime;
	if (completing) {
		const struct ledger_op_requested *ireq = &irb.request.u.op_requested;
		rq->mode = ireq->mode;
		rq->ref = ireq->ref;
		rq->verify_all = true;
		recorded = take_recorded_targets(cfg, st, runtime, ireq, svcs, nsvcs, rq);
		if (recorded) {
			out_say("target: what operation %llu recorded as its target",
				(unsigned long long)irb.op);
		} else if (streq(ireq->mode, "to") && ireq->ref[0]) {
			/* an older ledger: no targets recorded, only what the operator named */
			out_say("operation %llu recorded no targets: resolving its --to %s again",
				(unsigned long long)irb.op, ireq->ref);
			to = ireq->ref;
		}
	}
	if (!recorded && !to) {
		rollback_pick_last_good(cfg, st, runtime, svcs, nsvcs, true, rq, &missing);
		for (size_t i = 0; i < missing.n; i++)
			out_say("%s: no earlier good commit in the ledger: left as it is",
				missing.v[i]);
		if (rq->ntargets)
			say_skipped(ctx->lg, cfg, runtime, st, rq->targets[0].commit);
	}
	if (!recorded && to) {
		uint64_t seq = 0;
		r = to_point(ctx->lg, to, &seq, what, sizeof(what));
		if (r < 0)
			goto out;
		if (r == 1) {
			r = ledger_state_at(ctx->lg, seq, tst);
			if (r < 0) {
				log_error("cannot replay the ledger to %llu: %s",
					  (unsigned long long)seq, ledger_strerror(r));
				goto out;
			}
			out_say("target: %s", what);
			for (size_t i = 0; i < nsvcs; i++) {
				const char *name = cfg->services[svcs[i]].name;
				const struct ledger_service_state *then =
				    ledger_state_service(tst, name);
				const struct ledger_service_state *now =
				    ledger_state_service(st, name);
				struct rb_target *t;
				if (!then || !then->rt[runtime].commit[0]) {
					out_say("%s: not deployed at that point: left as it is",
						name);
					continue;
				}
				t = &rq->targets[rq->ntargets++];
				t->service = svcs[i];
				strlcpy_(t->commit, then->rt[runtime].commit, sizeof(t->commit));
				strlcpy_(t->from, now ? now->rt[runtime].commit : "",
					 sizeof(t->from));
			}
		} else {
			char oid[REPO_OID_HEX];
			_cleanup_free_ char *remote_ref = NULL;
			r = repo_resolve(repo, to, oid);
			if (r < 0) {
				log_error(
				    "rollback: '%s' is not an operation, sequence, time or git "
				    "ref: %s",
				    to, repo_errmsg(repo));
				r = SL_EUSAGE;
				goto out;
			}
			for (size_t i = 0; i < nsvcs; i++) {
				const struct ledger_service_state *now =
				    ledger_state_service(st, cfg->services[svcs[i]].name);
				struct rb_target *t = &rq->targets[rq->ntargets++];
				t->service = svcs[i];
				strlcpy_(t->commit, oid, sizeof(t->commit));
				strlcpy_(t->from, now ? now->rt[runtime].commit : "",
					 sizeof(t->from));
			}
		}
	}
	/* the operation whose effect this undoes: the newest that restarted a service in scope */
	for (size_t i = 0; i < rq->ntargets; i++) {
		const struct ledger_service_state *now =
		    ledger_state_service(st, cfg->services[rq->targets[i].service].name);
		if (now && now->rt[runtime].op > rq->reverts)
			rq->reverts = now->rt[runtime].op;
	}
	if (interrupted_reverts) {
		rq->reverts = interrupted_reverts;
		if (interrupted_prev[0])
			rq->prev_commit = interrupted_prev;
	}
	if (!rq->ntargets) {
		log_error("rollback: no target: no service in scope has an earlier good commit");
		r = SL_EFAILED;
		goto out;
	}
	if (dry_run) {
		for (size_t i = 0; i < rq->ntargets; i++)
			out_say("would move %-16s %.12s -> %.12s%s",
				cfg->services[rq->targets[i].service].name, rq->targets[i].from,
				rq->targets[i].commit,
				streq(rq->targets[i].from, rq->targets[i].commit)
				    ? " (already there)"
				    : "");
		out_say("--dry-run: nothing was changed or recorded");
		r = 0;
		goto out;
	}
	r = rollback_execute(ctx, repo, rq, &rb_op);
	if (r == 0)
		out_say("Operation %llu succeeded: rolled back", (unsigned long long)rb_op);
	else if (op_interrupted) {
		log_error(
		    "rollback operation %llu was interrupted by signal %d; 'shiplog rollback' "
		    "completes it; see 'shiplog show %llu'",
		    (unsigned long long)rb_op, (int)op_interrupted, (unsigned long long)rb_op);
		rollback_say_running(ctx->lg, cfg, runtime, svcs, nsvcs);
	} else {
		log_error("rollback operation %llu failed; see 'shiplog show %llu'",
			  (unsigned long long)rb_op, (unsigned long long)rb_op);
		rollback_say_running(ctx->lg, cfg, runtime, svcs, nsvcs);
	}
out:
	lock_release(&lock);
	ledger_op_summary_release(&irb);
	repo_free(repo);
	strv_free(&missing);
	scope_args_release(&scope);
	free(st);
	free(tst);
	free(rq);
	return r;
}

const struct cmd_entry cmd_rollback = {
    .name = "rollback",
    .summary = "roll services back to the last-good state or a chosen point",
    .usage = usage,
    .flags = CMD_CONFIG,
    .run = run,
};
