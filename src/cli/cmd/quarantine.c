/* SPDX-License-Identifier: MIT */
/* shiplog quarantine list | lift: the commits rollbacks quarantined (deploy refuses them without
 * --force), and taking one out by hand, recorded as a quarantine.lifted event. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "out.h"
#include "reads.h"
#include "text.h"
#include "util.h"
#include "view.h"

static const char usage[] =
    "usage: shiplog quarantine list [--json]\n"
    "       shiplog quarantine lift COMMIT [--reason TEXT]\n"
    "\n"
    "A commit that a rollback undid is quarantined: 'shiplog deploy' refuses it (exit 3) unless\n"
    "--force is given. A commit leaves the quarantine when a deploy or rollback of it passes\n"
    "verify again, or when it is lifted by hand.\n"
    "\n"
    "  list          the quarantined commits: commit, since when, the operation that was rolled\n"
    "                back, the one that rolled it back, and why; --json: one object per line\n"
    "                (commit, since, since_ns, op, op_seq, rollback_op, rollback_op_seq,\n"
    "                reason)\n"
    "  lift COMMIT   takes COMMIT (a full commit or a unique prefix of 4 or more characters of a\n"
    "                quarantined one) out of the quarantine, recorded in the ledger as a\n"
    "                quarantine.lifted event with who did it and --reason TEXT; later deploys\n"
    "                of it are not refused\n"
    "\n"
    "Examples:\n"
    "  shiplog quarantine list\n"
    "  shiplog quarantine lift 3f2a9c0d1e4b --reason 'the crash was the config, fixed in 9c0d'\n"
    "\n"
    "Exit codes: 0 ok; 2 usage, or a COMMIT that is not quarantined (or a prefix of several);\n"
    "4 a ledger that cannot be read or written; 5 no ledger (nothing deployed yet).\n";

/* The operation number of op (its id: the sequence of its first event); 0 when unknown. */
static uint64_t op_number(struct ledger *lg, uint64_t op)
{
	uint64_t n = 0;

	if (op == 0 || ledger_op_number(lg, op, &n) < 0)
		return 0;
	return n;
}

/* "op 4" (its number), or "seq:57" when the id names no operation. */
static void op_text(struct ledger *lg, uint64_t op, char *buf, size_t n)
{
	uint64_t num = op_number(lg, op);

	if (num)
		snprintf(buf, n, "%llu (seq:%llu)", (unsigned long long)num,
			 (unsigned long long)op);
	else if (op)
		snprintf(buf, n, "seq:%llu", (unsigned long long)op);
	else
		snprintf(buf, n, "-");
}

static json_t *num_or_null(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

static int do_list(struct cmd_ctx *ctx, const struct ledger_state *st)
{
	if (out_settings.json) {
		for (uint32_t i = 0; i < st->nquarantine; i++) {
			const struct ledger_quarantine *q = &st->quarantine[i];

			/* "op" and "rollback_op" were numbers here from the start; the
			 * *_number names are those of every other JSON output */
			out_json(json_pack(
			    "{s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "commit",
			    json_str(q->commit), "since", json_time(q->time_ns), "since_ns",
			    (json_int_t)q->time_ns, "op", num_or_null(op_number(ctx->lg, q->op)),
			    "op_number", num_or_null(op_number(ctx->lg, q->op)), "op_seq",
			    num_or_null(q->op), "rollback_op",
			    num_or_null(op_number(ctx->lg, q->rollback_op)), "rollback_op_number",
			    num_or_null(op_number(ctx->lg, q->rollback_op)), "rollback_op_seq",
			    num_or_null(q->rollback_op), "reason", json_str(q->reason)));
		}
		return 0;
	}
	if (st->nquarantine == 0) {
		printf("no quarantined commits\n");
		return 0;
	}
	printf("%-12s  %-20s  %-14s  %-14s  %s\n", "COMMIT", "SINCE", "OP", "ROLLED BACK BY",
	       "REASON");
	/* newest first */
	for (uint32_t i = st->nquarantine; i-- > 0;) {
		const struct ledger_quarantine *q = &st->quarantine[i];
		char c[RENDER_SHORT_COMMIT + 1], t[40], op[64], rb[64];

		render_time_short(q->time_ns, t, sizeof(t));
		op_text(ctx->lg, q->op, op, sizeof(op));
		op_text(ctx->lg, q->rollback_op, rb, sizeof(rb));
		printf("%-12s  %-20s  %-14s  %-14s  %s\n", render_short_commit(q->commit, c), t, op,
		       q->rollback_op ? rb : "-", q->reason[0] ? q->reason : "-");
	}
	printf("(deploy refuses these without --force; 'shiplog quarantine lift COMMIT' takes one "
	       "out)\n");
	return 0;
}

/* The quarantined commit that `arg` names (whole, or a unique prefix of 4+ hex characters). */
static const struct ledger_quarantine *find(const struct ledger_state *st, const char *arg,
					    bool *ambiguous)
{
	const struct ledger_quarantine *hit = NULL;
	size_t n = strlen(arg);

	*ambiguous = false;
	for (uint32_t i = 0; i < st->nquarantine; i++) {
		const char *c = st->quarantine[i].commit;

		if (streq(c, arg))
			return &st->quarantine[i];
		if (n >= 4 && strncasecmp(c, arg, n) == 0) {
			if (hit)
				*ambiguous = true;
			hit = &st->quarantine[i];
		}
	}
	return *ambiguous ? NULL : hit;
}

static bool looks_like_commit(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n >= 4 && n < LEDGER_COMMIT_MAX;
}

static int do_lift(struct cmd_ctx *ctx, struct ledger_state *st, const char *arg,
		   const char *reason)
{
	struct ledger_event ev = {.type = LEDGER_EV_QUARANTINE_LIFTED};
	const struct ledger_quarantine *q;
	char c[RENDER_SHORT_COMMIT + 1], commit[LEDGER_COMMIT_MAX], was[160], rb[64];
	bool ambiguous;
	uint64_t seq = 0;
	int r;

	q = find(st, arg, &ambiguous);
	if (!q) {
		if (ambiguous)
			log_error("quarantine lift: '%s' is the start of several quarantined "
				  "commits; give more characters (see 'shiplog quarantine list')",
				  arg);
		else if (st->nquarantine == 0)
			log_error("quarantine lift: '%s' is not quarantined: no commit is", arg);
		else
			log_error("quarantine lift: '%s' is not quarantined (%u commit%s %s; see "
				  "'shiplog quarantine list')",
				  arg, st->nquarantine, st->nquarantine == 1 ? " is" : "s are",
				  "quarantined");
		return SL_EUSAGE;
	}
	strlcpy_(commit, q->commit, sizeof(commit));
	op_text(ctx->lg, q->rollback_op, rb, sizeof(rb));
	snprintf(was, sizeof(was), "%s", q->reason[0] ? q->reason : "no reason recorded");

	/* the read-only handle cannot append: reopen read-write (it exists, so nothing is
	 * created) */
	view_use_ledger(NULL);
	ledger_close(ctx->lg);
	ctx->lg = NULL;
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		return r;
	ev.version = LEDGER_SCHEMA_VERSION;
	ev.actor = actor_string();
	ev.u.quarantine_lifted.commit = commit;
	ev.u.quarantine_lifted.reason = reason ? reason : "";
	r = ledger_append(ctx->lg, &ev, 0, &seq);
	if (r < 0)
		return reads_ledger_fail(&cmd_quarantine, ctx->lg, r,
					 "cannot record quarantine.lifted", 0);
	if (out_settings.json) {
		out_json(json_pack("{s:o,s:I,s:o,s:o}", "lifted", json_str(commit), "seq",
				   (json_int_t)seq, "was", json_str(was), "reason",
				   json_str(reason ? reason : "")));
		return 0;
	}
	printf("lifted the quarantine of %s (it was: %s); deploys of it are no longer refused "
	       "(recorded as event %llu)\n",
	       render_short_commit(commit, c), was, (unsigned long long)seq);
	return 0;
}

static const struct option options[] = {
    {"json", no_argument, NULL, 'J'},
    {"reason", required_argument, NULL, 'r'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *reason = NULL, *sub, *commit = NULL;
	struct ledger_state *st;
	int opt, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'J')
			out_settings.json = true;
		else if (opt == 'r')
			reason = optarg;
		else
			return args_bad_option(&cmd_quarantine, argv, optind, optopt);
	}
	if (optind >= argc)
		return cmd_usage_error(&cmd_quarantine, "say 'list' or 'lift COMMIT'");
	sub = argv[optind++];
	if (streq(sub, "list")) {
		if (optind < argc || reason)
			return cmd_usage_error(&cmd_quarantine,
					       "'list' takes no argument but --json");
	} else if (streq(sub, "lift")) {
		if (optind >= argc)
			return cmd_usage_error(&cmd_quarantine, "lift: which commit?");
		commit = argv[optind++];
		if (optind < argc)
			return cmd_usage_error(&cmd_quarantine, "lift: one commit at a time");
		if (!looks_like_commit(commit))
			return cmd_usage_error(&cmd_quarantine,
					       "lift: '%s' is not a commit (4 to 64 hex digits)",
					       commit);
	} else {
		return cmd_usage_error(&cmd_quarantine,
				       "unknown subcommand '%s'; say 'list' or 'lift COMMIT'", sub);
	}
	r = cmd_ready(ctx);
	if (r != CMD_RUN_HERE)
		return r;
	st = xmalloc(sizeof(*st));
	r = ledger_state_at(ctx->lg, UINT64_MAX, st);
	if (r < 0)
		r = reads_ledger_fail(&cmd_quarantine, ctx->lg, r, "cannot read the ledger state",
				      0);
	else if (commit)
		r = do_lift(ctx, st, commit, reason);
	else
		r = do_list(ctx, st);
	free(st);
	return r;
}

const struct cmd_entry cmd_quarantine = {
    .name = "quarantine",
    .summary = "list | lift COMMIT: the commits rollbacks quarantined; take one out",
    .usage = usage,
    .flags = CMD_CONFIG_OPTIONAL | CMD_LEDGER_RO | CMD_FORWARDS,
    .options = options,
    .words = "list lift",
    .run = run,
};
