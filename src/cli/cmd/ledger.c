/* SPDX-License-Identifier: MIT */
/* shiplog ledger verify | export | import FILE | compact DIR: maintenance of the ledger itself.
 * export and import speak JSON lines, one event per line, in render_event_json()'s format, so
 * that import(export(x)) reproduces x's events (with new sequence numbers). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "args.h"
#include "cmd.h"
#include "json.h"
#include "jsonl.h"
#include "lock.h"
#include "out.h"
#include "reads.h"
#include "util.h"

#define IMPORT_BATCH 10000
#define IMPORT_LINE_MAX (4u << 20)

/* Events of a type this shiplog does not know travel as their stored bytes ("raw", base64):
 * the library keeps only their envelope when it decodes them, and writes them only as bytes. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *p, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Decodes into out (at least strlen(s) / 4 * 3 bytes). -EINVAL on anything but padded base64. */
static int base64_decode(const char *s, uint8_t *out, size_t *outlen)
{
	size_t n = strlen(s), o = 0;

	if (n == 0 || n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			const char *c = s[i + j] ? strchr(b64, s[i + j]) : NULL;

			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (!c || pad)
				return -EINVAL;
			v = v << 6 | (uint32_t)(c - b64);
		}
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return 0;
}

static const struct option options[] = {
    {"json", no_argument, NULL, 'J'},
    {"since", required_argument, NULL, 's'},
    {"until", required_argument, NULL, 'u'},
    {0},
};

static int parse_json_flag(const char *sub, int argc, char **argv, int64_t *since, int64_t *until)
{
	int opt, r;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'J':
			out_settings.json = true;
			break;
		case 's':
		case 'u':
			if (!since) {
				log_error("ledger %s: option '%s' belongs to 'ledger export'", sub,
					  argv[optind - 1]);
				return SL_EUSAGE;
			}
			r = args_time(&cmd_ledger, opt == 's' ? "--since" : "--until", optarg,
				      opt == 's' ? since : until);
			if (r < 0)
				return r;
			break;
		default:
			return args_bad_option(&cmd_ledger, argv, optind, optopt);
		}
	}
	return 0;
}

/* ---- damage -------------------------------------------------------------------------------- */

/* How to get a good ledger back; the tail of every "damaged" message. */
#define RECOVER_ADVICE                                                                             \
	"keep a copy of the directory, then restore the last good backup (a data.mdb copy, or "    \
	"'shiplog --ledger NEWDIR ledger import' of the last export), or salvage what still "      \
	"reads: 'shiplog ledger export > part.jsonl' (add --until T before the damage) and "       \
	"'shiplog --ledger NEWDIR ledger import part.jsonl', then point [target] ledger at NEWDIR"

/* A damaged page can send liblmdb through a wild pointer: a flipped byte of a page header ends
 * verify or export with SIGSEGV or SIGBUS inside mdb_cursor_get. The read that checks or
 * salvages a ledger therefore runs in a child process (which opens the ledger itself); a child
 * killed by a signal is reported as damage, exit 4, with the way to recover. */
static int run_guarded(struct cmd_ctx *ctx, const char *sub, int (*fn)(struct cmd_ctx *, void *),
		       void *ud)
{
	int status, sig;
	char how[32];
	pid_t pid;

	if (!ctx->ledger_dir) {
		ctx->ledger_dir = cmd_ledger_dir(ctx->ledger_opt, ctx->cfg);
		if (!ctx->ledger_dir)
			return SL_EUSAGE;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		log_error("ledger %s: cannot fork: %s", sub, strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int r = fn(ctx, ud);

		fflush(stdout);
		fflush(stderr);
		_exit(exit_code_for(r));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			log_error("ledger %s: cannot wait for the reader: %s", sub,
				  strerror(errno));
			return -errno;
		}
	if (WIFEXITED(status))
		return result_for_exit_code(WEXITSTATUS(status), NULL);
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	snprintf(how, sizeof(how), "%s",
		 sig == SIGSEGV	  ? "SIGSEGV"
		 : sig == SIGBUS  ? "SIGBUS"
		 : sig == SIGABRT ? "SIGABRT"
				  : "killed by a signal");
	if (out_settings.json && streq(sub, "verify"))
		out_json(json_pack("{s:b,s:s,s:s}", "ok", false, "error", "damaged ledger",
				   "detail", "reading the ledger crashed inside LMDB"));
	log_error("ledger %s: '%s' is damaged: reading it crashed inside LMDB (%s), so a page is "
		  "corrupt%s; %s",
		  sub, ctx->ledger_dir, how,
		  streq(sub, "export") ? " and the output above stops short of it (drop a cut-off "
					 "last line before importing it)"
				       : "",
		  RECOVER_ADVICE);
	return LEDGER_ECORRUPT;
}

/* ---- verify -------------------------------------------------------------------------------- */

static int ledger_cmd_verify(struct cmd_ctx *ctx, void *ud)
{
	struct ledger_verify_report rep = {0};
	int r;

	(void)ud;
	r = cmd_open_ledger(ctx, false);
	if (r < 0)
		return r;
	r = ledger_verify(ctx->lg, &rep);
	if (out_settings.json) {
		out_json(json_pack("{s:b,s:I,s:I,s:I,s:o,s:o}", "ok", r == 0, "events",
				   (json_int_t)rep.events, "snapshots", (json_int_t)rep.snapshots,
				   "first_bad_seq", (json_int_t)rep.first_bad_seq, "error",
				   r ? json_str(ledger_strerror(r)) : json_null(), "detail",
				   json_str(rep.detail)));
	}
	if (r < 0) {
		log_error("ledger verify: '%s' is damaged at event %" PRIu64 ": %s%s%s; %s",
			  ctx->ledger_dir, rep.first_bad_seq, ledger_strerror(r),
			  rep.detail[0] ? ": " : "", rep.detail, RECOVER_ADVICE);
		return r;
	}
	if (!out_settings.json)
		printf("ledger '%s' ok: %" PRIu64 " events, %" PRIu64 " snapshots; sequences "
		       "contiguous, every event decodes, every snapshot equals its replay\n",
		       ctx->ledger_dir, rep.events, rep.snapshots);
	return 0;
}

/* ---- export -------------------------------------------------------------------------------- */

struct export_window {
	int64_t since, until;
};

static int ledger_cmd_export(struct cmd_ctx *ctx, void *ud)
{
	int64_t since = ((struct export_window *)ud)->since,
		until = ((struct export_window *)ud)->until;
	struct ledger_iter *it = NULL;
	uint64_t start = 0, last = 0;
	FILE *f = out_json_stdout(); /* JSON lines, byte-exact: not the text filter */
	int r;

	r = cmd_open_ledger(ctx, false);
	if (r < 0)
		return r;
	r = ledger_last_seq(ctx->lg, &last);
	if (r < 0)
		return reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot read the ledger", 0);
	if (since) {
		r = ledger_seek_time(ctx->lg, since, &start);
		if (r < 0)
			return reads_ledger_fail(&cmd_ledger, ctx->lg, r,
						 "cannot search the ledger by time", 0);
		if (start == 0)
			start = last + 1;
	} else {
		start = 1;
	}
	if (last == 0 || start > last)
		return 0;

	r = ledger_iter_new(ctx->lg, LEDGER_FORWARD, start, &it);
	if (r < 0)
		return reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot read the ledger", 0);
	for (;;) {
		const struct ledger_event *ev = NULL;
		json_t *o;
		char *line;

		r = ledger_iter_next(it, &ev);
		if (r < 0) {
			reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot read an event",
					  ev ? ev->seq : 0);
			break;
		}
		if (r == 0)
			break;
		if (until && ev->time_ns >= until)
			break;
		o = render_event_json(ev);
		if (ev->type == LEDGER_EV_UNKNOWN) {
			uint8_t *raw = NULL;
			size_t rawlen = 0;

			if (ledger_get_raw(ctx->lg, ev->seq, &raw, &rawlen) == 0) {
				char *enc = base64_encode(raw, rawlen);

				json_object_set_new(o, "raw", json_string(enc));
				free(enc);
			}
			free(raw);
		}
		line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		if (!line) {
			log_error("ledger export: cannot encode event %" PRIu64 " as JSON",
				  ev->seq);
			r = -ENOMEM;
			break;
		}
		fputs(line, f);
		fputc('\n', f);
		free(line);
	}
	ledger_iter_free(it);
	if (fflush(f) != 0 || ferror(f)) {
		log_error("ledger export: cannot write the output: %s", strerror(errno));
		return r < 0 ? r : -EIO;
	}
	return r < 0 ? r : 0;
}

/* ---- import -------------------------------------------------------------------------------- */

struct import {
	const char *name; /* as the operator wrote it, for messages */
	struct ledger_event *evs;
	uint64_t *file_seq;  /* strictly increasing: binary search */
	size_t *line;	     /* line number of each event */
	const uint8_t **raw; /* stored bytes of an event of an unknown type, else NULL */
	size_t *rawlen;
	size_t n, cap;
	struct pool arena;
};

static void import_free(struct import *im)
{
	free(im->evs);
	free(im->file_seq);
	free(im->line);
	free(im->raw);
	free(im->rawlen);
	pool_free(&im->arena);
}

static void import_push(struct import *im, const struct ledger_event *ev, uint64_t fseq,
			size_t line, const uint8_t *raw, size_t rawlen)
{
	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 1024;
		im->evs = xrealloc(im->evs, im->cap * sizeof(*im->evs));
		im->file_seq = xrealloc(im->file_seq, im->cap * sizeof(*im->file_seq));
		im->line = xrealloc(im->line, im->cap * sizeof(*im->line));
		im->raw = xrealloc(im->raw, im->cap * sizeof(*im->raw));
		im->rawlen = xrealloc(im->rawlen, im->cap * sizeof(*im->rawlen));
	}
	im->raw[im->n] = raw;
	im->rawlen[im->n] = rawlen;
	im->evs[im->n] = *ev;
	im->file_seq[im->n] = fseq;
	im->line[im->n] = line;
	im->n++;
}

/* Index of the event whose file sequence is fseq, or -1. */
static ssize_t import_find(const struct import *im, uint64_t fseq)
{
	size_t lo = 0, hi = im->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->file_seq[mid] == fseq)
			return (ssize_t)mid;
		if (im->file_seq[mid] < fseq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int import_bad(const struct import *im, size_t line, const char *fmt, const char *detail)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, detail);
	log_error("ledger import: %s:%zu: %s; nothing was imported", im->name, line, msg);
	return SL_EUSAGE;
}

/* An event of a type this shiplog does not know: its "raw" bytes must decode to the same type;
 * they are appended as they are, with the envelope they carry. */
static int import_unknown(struct import *im, json_t *o, struct ledger_event *ev,
			  const uint8_t **raw, size_t *rawlen, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "raw");
	struct ledger_event dec = {0};
	uint8_t *bytes;
	int r;

	if (!json_is_string(v)) {
		snprintf(err, errlen,
			 "event type '%s' is unknown to this shiplog and the line carries no "
			 "\"raw\" bytes; import it with the shiplog that wrote it",
			 ev->type_name);
		return -EINVAL;
	}
	bytes = pool_alloc(&im->arena, json_string_length(v) / 4 * 3 + 3);
	if (base64_decode(json_string_value(v), bytes, rawlen) < 0) {
		snprintf(err, errlen, "field 'raw' is not base64");
		return -EINVAL;
	}
	r = ledger_event_decode(bytes, *rawlen, &dec, err, errlen);
	if (r < 0)
		return -EINVAL;
	if (dec.type != LEDGER_EV_UNKNOWN || !streq(dec.type_name, ev->type_name)) {
		snprintf(err, errlen, "field 'raw' holds a '%s' event, not '%s'",
			 dec.type_name ? dec.type_name : "?", ev->type_name);
		ledger_event_release(&dec);
		return -EINVAL;
	}
	ev->time_ns = dec.time_ns;
	ev->op = dec.op;
	ledger_event_release(&dec);
	*raw = bytes;
	return 0;
}

/* Reads and validates the whole file before the ledger is touched. */
static int import_read(struct import *im, FILE *f)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, lineno = 0;
	uint64_t prev_fseq = 0;
	int64_t prev_time = 0;
	ssize_t len;

	while ((len = getline(&buf, &cap, f)) >= 0) {
		const uint8_t *raw = NULL;
		size_t rawlen = 0;
		struct ledger_event ev;
		json_error_t jerr;
		char err[256];
		bool has_seq;
		uint64_t fseq;
		json_t *o;
		int r;

		lineno++;
		if ((size_t)len > IMPORT_LINE_MAX)
			return import_bad(im, lineno, "%s", "line longer than 4 MiB");
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (str_empty(str_trim(buf)))
			continue;
		o = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
		if (!o)
			return import_bad(im, lineno, "invalid JSON: %s", jerr.text);
		r = render_event_parse(o, &ev, &has_seq, &im->arena, err, sizeof(err));
		if (r == 0 && ev.type == LEDGER_EV_UNKNOWN)
			r = import_unknown(im, o, &ev, &raw, &rawlen, err, sizeof(err));
		json_decref(o);
		if (r < 0)
			return import_bad(im, lineno, "%s", err);
		fseq = has_seq ? ev.seq : prev_fseq + 1;
		if (fseq <= prev_fseq)
			return import_bad(im, lineno, "%s",
					  "\"seq\" must increase from line to line");
		if (ev.time_ns < prev_time)
			return import_bad(im, lineno, "%s",
					  "time goes backwards; events must be in time order");
		prev_fseq = fseq;
		prev_time = ev.time_ns;
		ev.seq = 0;
		import_push(im, &ev, fseq, lineno, raw, rawlen);
	}
	if (ferror(f)) {
		log_error("ledger import: cannot read '%s': %s", im->name, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Operation references name sequences of the file; make them name the new sequences. */
static int import_remap_one(const struct import *im, size_t i, uint64_t base, const char *field,
			    uint64_t *ref, bool apply)
{
	ssize_t j;
	char what[128];

	if (*ref == 0)
		return 0;
	j = import_find(im, *ref);
	if (j < 0) {
		snprintf(what, sizeof(what), "%s %" PRIu64, field, *ref);
		return import_bad(im, im->line[i],
				  "%s names no event of this file (import whole exports, not "
				  "windows cut with --since)",
				  what);
	}
	if (apply)
		*ref = base + (uint64_t)j + 1;
	return 0;
}

/* apply false: only checks that every reference names an event of the file. */
static int import_remap(struct import *im, uint64_t base, bool apply)
{
	int r = 0;

	for (size_t i = 0; i < im->n && r == 0; i++) {
		struct ledger_event *ev = &im->evs[i];

		if (im->raw[i]) {
			uint64_t op = ev->op;

			r = import_remap_one(im, i, base, "op", &op, true);
			if (r == 0 && apply && op != ev->op)
				r = import_bad(
				    im, im->line[i], "%s",
				    "an event of an unknown type names an operation that "
				    "would be renumbered; import into an empty ledger");
			continue;
		}
		if (apply && ev->op == 0 &&
		    (ev->type == LEDGER_EV_OP_REQUESTED || ev->type == LEDGER_EV_OP_REFUSED))
			ev->op = im->file_seq[i];
		/* operation numbers are the importing ledger's count: ledger_append assigns them
		 * (into an empty ledger, the same numbers as the file's) */
		if (apply && ev->type == LEDGER_EV_OP_REQUESTED)
			ev->u.op_requested.number = 0;
		if (apply && ev->type == LEDGER_EV_OP_REFUSED)
			ev->u.op_refused.req.number = 0;
		r = import_remap_one(im, i, base, "op", &ev->op, apply);
		if (r == 0 && ev->type == LEDGER_EV_OP_REQUESTED)
			r = import_remap_one(im, i, base, "reverts", &ev->u.op_requested.reverts,
					     apply);
		if (r == 0 && ev->type == LEDGER_EV_OP_REFUSED)
			r = import_remap_one(im, i, base, "request.reverts",
					     &ev->u.op_refused.req.reverts, apply);
		if (r == 0 && ev->type == LEDGER_EV_OP_FINISHED)
			r = import_remap_one(im, i, base, "rollback_op",
					     &ev->u.op_finished.rollback_op, apply);
		if (r == 0 && ev->type == LEDGER_EV_LOCK_BROKEN)
			r = import_remap_one(im, i, base, "holder_op", &ev->u.lock_broken.holder_op,
					     apply);
	}
	return r;
}

/* The library's own rules (required fields, limits), checked for every event before any is
 * appended. */
static int import_check_encodable(struct import *im)
{
	for (size_t i = 0; i < im->n; i++) {
		uint8_t *bytes = NULL;
		size_t len;
		int r;

		if (im->raw[i])
			continue;
		im->evs[i].seq = 0;
		r = ledger_event_encode(&im->evs[i], &bytes, &len);
		free(bytes);
		if (r < 0)
			return import_bad(im, im->line[i], "not a valid event: %s",
					  ledger_strerror(r));
	}
	return 0;
}

/* The reducer's limits (LEDGER_MAX_SERVICES), checked by replaying the file onto st, the state
 * the import starts from, with the sequences and operation ids it would get: an import that
 * would not fit is refused before anything is appended (or a ledger is created). */
static int import_check_fits(const struct import *im, struct ledger_state *st)
{
	uint64_t base = st->seq;

	for (size_t i = 0; i < im->n; i++) {
		struct ledger_event ev =
		    im->raw[i] ? (struct ledger_event){.type = LEDGER_EV_UNKNOWN} : im->evs[i];
		uint64_t *refs[2] = {&ev.op, NULL};
		char msg[256];
		int r;

		ev.seq = base + i + 1;
		if (ev.op == 0 &&
		    (ev.type == LEDGER_EV_OP_REQUESTED || ev.type == LEDGER_EV_OP_REFUSED))
			ev.op = im->file_seq[i];
		if (ev.type == LEDGER_EV_OP_REQUESTED)
			refs[1] = &ev.u.op_requested.reverts;
		for (size_t k = 0; k < ELEMENTSOF(refs) && refs[k]; k++) {
			ssize_t j = *refs[k] ? import_find(im, *refs[k]) : -1;

			if (j >= 0)
				*refs[k] = base + (uint64_t)j + 1;
		}
		r = ledger_state_apply(st, &ev);
		if (r == LEDGER_EFULL) {
			snprintf(msg, sizeof(msg),
				 "the ledger would track more than %d services, the most shiplog "
				 "handles (as in shiplog.conf)",
				 LEDGER_MAX_SERVICES);
			return import_bad(im, im->line[i], "%s", msg);
		}
		if (r < 0)
			return import_bad(im, im->line[i], "does not apply to the ledger: %s",
					  ledger_strerror(r));
	}
	return 0;
}

/* Reads file ("-": stdin) into im and checks it on its own: events, encodable, and fitting an
 * empty ledger (st is the state it is checked against). */
static int import_load(struct import *im, const char *file, struct ledger_state *st)
{
	FILE *f = stdin;
	int r;

	if (!streq(file, "-")) {
		f = fopen(file, "re");
		if (!f) {
			log_error("ledger import: cannot open '%s': %s", file, strerror(errno));
			return SL_EUSAGE;
		}
	}
	r = import_read(im, f);
	if (f != stdin)
		fclose(f);
	if (r < 0)
		return r;
	if (im->n == 0) {
		log_error("ledger import: '%s' holds no events; nothing was imported", im->name);
		return SL_EUSAGE;
	}
	r = import_remap(im, 0, false);
	if (r >= 0)
		r = import_check_encodable(im);
	if (r >= 0)
		r = import_check_fits(im, st);
	return r < 0 ? r : 0;
}

/* Under the lock: the ledger's newest event as base; the import must come after it in time and
 * fit the state there. Then the import's ids are moved past base. */
static int import_onto(struct cmd_ctx *ctx, struct import *im, struct ledger_state *st,
		       uint64_t *base)
{
	struct ledger_event last_ev = {0};
	int r;

	r = ledger_last_seq(ctx->lg, base);
	if (r < 0) {
		reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot read the ledger", 0);
		return r;
	}
	if (*base > 0) {
		r = ledger_get(ctx->lg, *base, &last_ev);
		if (r < 0) {
			reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot read the ledger", *base);
			return r;
		}
		if (last_ev.time_ns > im->evs[0].time_ns)
			r = import_bad(im, im->line[0], "%s",
				       "older than the ledger's newest event; import into an empty "
				       "ledger (--ledger NEWDIR)");
		ledger_event_release(&last_ev);
		if (r < 0)
			return r;
		r = ledger_state_at(ctx->lg, *base, st);
		if (r < 0) {
			reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot read the ledger", *base);
			return r;
		}
		r = import_check_fits(im, st);
		if (r < 0)
			return r;
	}
	return import_remap(im, *base, true);
}

/* Appends im after base and syncs: runs of known events go through ledger_append_many, runs of
 * unknown ones as bytes. */
static int import_append(struct cmd_ctx *ctx, struct import *im, uint64_t base)
{
	uint64_t after = 0;
	int r;

	for (size_t i = 0, n; i < im->n; i += n) {
		bool raw = im->raw[i] != NULL;

		for (n = 1; i + n < im->n && n < IMPORT_BATCH && (im->raw[i + n] != NULL) == raw;
		     n++)
			;
		if (raw)
			r = ledger_append_raw(ctx->lg, im->raw + i, im->rawlen + i, n,
					      LEDGER_APPEND_NOSYNC);
		else
			r = ledger_append_many(ctx->lg, im->evs + i, n, LEDGER_APPEND_NOSYNC);
		if (r < 0) {
			log_error("ledger import: appending lines %zu.. of '%s' failed: %s%s%s; "
				  "events before seq %" PRIu64 " were imported",
				  im->line[i], im->name, ledger_strerror(r),
				  ledger_errmsg(ctx->lg)[0] ? ": " : "", ledger_errmsg(ctx->lg),
				  base + i + 1);
			return r;
		}
	}
	r = ledger_sync(ctx->lg);
	if (r < 0) {
		reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot sync the ledger", 0);
		return r;
	}
	if (ledger_last_seq(ctx->lg, &after) == 0 && after != base + im->n)
		log_warn(
		    "ledger import: another writer appended while importing (newest is %" PRIu64
		    ", expected %" PRIu64 "); operation ids may be off",
		    after, base + im->n);
	return 0;
}

static int ledger_cmd_import(struct cmd_ctx *ctx, const char *file)
{
	struct import im = {.name = streq(file, "-") ? "<stdin>" : file};
	struct deploy_lock lock = {.fd = -1};
	struct lock_holder holder = {0};
	struct ledger_state *st = xmalloc(sizeof(*st));
	uint64_t base = 0;
	int r;

	ledger_state_init(st);
	r = import_load(&im, file, st);
	if (r < 0)
		goto out;
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		goto out;
	/* Hold the deploy lock so that no operation appends between our base and our batch. */
	r = lock_acquire(ctx->ledger_dir, 0, &lock, &holder);
	if (r < 0) {
		lock_say_refused("ledger import", ctx->ledger_dir, r, &holder, false);
		goto out;
	}
	r = import_onto(ctx, &im, st, &base);
	if (r < 0)
		goto out;
	r = import_append(ctx, &im, base);
	if (r < 0)
		goto out;
	if (out_settings.json)
		out_json(json_pack("{s:I,s:I,s:I}", "imported", (json_int_t)im.n, "first_seq",
				   (json_int_t)(base + 1), "last_seq", (json_int_t)(base + im.n)));
	else
		printf("imported %zu events from '%s' into '%s' (seq %" PRIu64 "..%" PRIu64 ")\n",
		       im.n, im.name, ctx->ledger_dir, base + 1, base + im.n);
out:
	free(st);
	if (lock.fd >= 0)
		lock_release(&lock);
	import_free(&im);
	return r;
}

/* ---- compact ------------------------------------------------------------------------------- */

static int ledger_cmd_compact(struct cmd_ctx *ctx, const char *dir)
{
	_cleanup_free_ char *target = xasprintf("%s/data.mdb", dir);
	_cleanup_free_ char *source = NULL;
	struct stat a, b;
	int r;

	if (access(target, F_OK) == 0) {
		log_error(
		    "ledger compact: '%s' already holds a ledger (data.mdb); give an empty or "
		    "new directory",
		    dir);
		return SL_EUSAGE;
	}
	r = cmd_open_ledger(ctx, false);
	if (r < 0)
		return r;
	r = mkdir_p(dir, 0700);
	if (r < 0) {
		log_error("ledger compact: cannot create '%s': %s", dir, strerror(-r));
		return r;
	}
	r = ledger_compact_to(ctx->lg, dir);
	if (r < 0)
		return reads_ledger_fail(&cmd_ledger, ctx->lg, r, "cannot write the compacted copy",
					 0);
	source = xasprintf("%s/data.mdb", ctx->ledger_dir);
	if (out_settings.json) {
		out_json(json_pack("{s:o,s:I,s:I}", "path", json_str(dir), "bytes",
				   (json_int_t)(stat(target, &b) == 0 ? b.st_size : 0),
				   "source_bytes",
				   (json_int_t)(stat(source, &a) == 0 ? a.st_size : 0)));
	} else if (stat(target, &b) == 0 && stat(source, &a) == 0) {
		printf("compacted copy of '%s' written to '%s': %lld bytes (was %lld); use it with "
		       "--ledger or move it in place while no deploy runs\n",
		       ctx->ledger_dir, dir, (long long)b.st_size, (long long)a.st_size);
	} else {
		printf("compacted copy written to '%s'\n", dir);
	}
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t since = 0, until = 0;
	const char *sub;
	int r;

	if (argc < 2) {
		log_error(
		    "ledger: expected a subcommand: verify, export, import FILE or compact DIR");
		return SL_EUSAGE;
	}
	sub = argv[1];
	if (streq(sub, "export"))
		r = parse_json_flag(sub, argc - 1, argv + 1, &since, &until);
	else
		r = parse_json_flag(sub, argc - 1, argv + 1, NULL, NULL);
	if (r < 0)
		return r;
	argc -= 1 + optind;
	argv += 1 + optind;

	if (streq(sub, "verify") || streq(sub, "export")) {
		if (argc > 0) {
			log_error("ledger %s: unexpected argument '%s'", sub, argv[0]);
			return SL_EUSAGE;
		}
		if (since && until && until < since) {
			log_error("ledger export: --until is before --since; swap them");
			return SL_EUSAGE;
		}
		struct export_window w = {since, until};

		return run_guarded(
		    ctx, sub, streq(sub, "verify") ? ledger_cmd_verify : ledger_cmd_export, &w);
	}
	if (streq(sub, "import") || streq(sub, "compact")) {
		if (argc != 1) {
			log_error("ledger %s: expected one %s", sub,
				  streq(sub, "import") ? "FILE (or - for stdin)" : "target DIR");
			return SL_EUSAGE;
		}
		return streq(sub, "import") ? ledger_cmd_import(ctx, argv[0])
					    : ledger_cmd_compact(ctx, argv[0]);
	}
	log_error("ledger: unknown subcommand '%s': use verify, export, import FILE or compact DIR",
		  sub);
	return SL_EUSAGE;
}

const struct cmd_entry cmd_ledger = {
    .name = "ledger",
    .summary = "verify | export | import FILE | compact DIR: the ledger itself",
    .usage =
	"usage: shiplog ledger verify [--json]\n"
	"       shiplog ledger export [--since T] [--until T]\n"
	"       shiplog ledger import FILE|-\n"
	"       shiplog ledger compact DIR\n"
	"\n"
	"verify    checks that every event decodes, sequences run 1..N without a gap, the\n"
	"          replay succeeds and every snapshot equals the replay at its point. Exit 4\n"
	"          with the first bad sequence when not.\n"
	"export    writes every event (or those in the time window) to stdout as JSON lines:\n"
	"          seq, version, type, time (RFC 3339), time_ns, op, actor and the type's\n"
	"          fields. Lossless: import reads it back to the same events.\n"
	"import    appends the events of an export (FILE, or - for stdin). The whole file is\n"
	"          validated first; a bad line stops it with its line number and nothing is\n"
	"          imported. Events get new sequences; operation references (op, reverts,\n"
	"          rollback_op, holder_op) are renumbered to match. Creates the ledger when\n"
	"          missing; takes the deploy lock while it appends.\n"
	"compact   writes a compacted copy of the ledger to DIR (created 0700 when missing; it\n"
	"          must not hold a data.mdb); the copy is 0600. The original stays as it is.\n"
	"\n"
	"T is RFC 3339 (2026-11-27T08:00:00Z) or an age: 45s, 90m, 2h, 3d.\n"
	"\n"
	"Examples:\n"
	"  shiplog ledger verify\n"
	"  shiplog ledger export > backup.jsonl\n"
	"  shiplog --ledger /srv/state/new ledger import backup.jsonl\n"
	"  shiplog ledger export --since 7d | jq -c 'select(.type == \"step.ran\")'\n"
	"  shiplog ledger compact /srv/state/app.compact\n"
	"\n"
	"Exit codes: 0 ok, 2 usage (bad line in an import file, target DIR holds a ledger),\n"
	"3 lock held (import), 4 damaged ledger or environment error, 5 no ledger (verify,\n"
	"export: nothing was deployed with it yet).\n",
    .flags = CMD_CONFIG_OPTIONAL,
    .shortopts = "",
    .options = options,
    .words = "verify export import compact",
    .run = run,
};
