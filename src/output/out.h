/* SPDX-License-Identifier: MIT */
/* Output: what a person reads (text on stdout, diagnostics on stderr) and what a script parses
 * (--json: one JSON document per line on stdout). Every message goes through here. */
#ifndef SHIPLOG_OUT_H
#define SHIPLOG_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

struct out_settings {
	bool json;	  /* --json: reads print JSON; deploy prints its text to stderr */
	int verbosity;	  /* -1 quiet, 0 normal, 1 verbose */
	bool no_progress; /* deploy/rollback --no-progress: no live status line (progress.h) */
	/* The transcript's prefix, "[tag] ": the operation the command runs ("deploy" when NULL;
	 * "rollback", "cutover"). A rollback nested in a failed deploy keeps the deploy's: it is
	 * that command's transcript. */
	const char *tag;
};
extern struct out_settings out_settings;

/* Colour. One place decides whether text is coloured (out_color_setup, once, after the global
 * options); everything else asks out_color_on() or prints through out_paint()/out_say_tone(),
 * which colour only stdout and stderr, never another stream (files written with -o), and
 * never under --json. */
enum out_color_mode { OUT_COLOR_AUTO, OUT_COLOR_ALWAYS, OUT_COLOR_NEVER };
/* What a piece of text says, not how it looks: each tone has one SGR code here. */
enum out_tone {
	OUT_TONE_NONE,
	OUT_TONE_HEADER,  /* bold: "== Phase ==", table headers */
	OUT_TONE_OK,	  /* green: succeeded, healthy, ok */
	OUT_TONE_FAIL,	  /* bold red: failed, UNHEALTHY, FAIL */
	OUT_TONE_ERROR,	  /* red: interrupted, error lines */
	OUT_TONE_WARN,	  /* yellow: rolled back, warnings, restarting? */
	OUT_TONE_REFUSED, /* magenta: refused by a guard */
	OUT_TONE_ACTIVE,  /* cyan: running */
	OUT_TONE__COUNT,
};
/* "auto", "always" (or "yes", "force"), "never" (or "no", "none") -> *mode; -EINVAL otherwise. */
int out_color_parse(const char *s, enum out_color_mode *mode);
/* The rule, pure: always and never are what they say; under auto, NO_COLOR (any non-empty
 * value) turns colour off, then CLICOLOR_FORCE (non-empty, not "0") turns it on, otherwise
 * colour needs a terminal whose TERM is set and not "dumb". */
bool out_color_decide(enum out_color_mode mode, bool tty, const char *term, const char *no_color,
		      const char *clicolor_force);
/* Decides for stdout and for stderr (each by its own isatty) from the mode and the
 * environment. Until it is called, nothing is coloured. */
void out_color_setup(enum out_color_mode mode);
/* Whether text written to f gets colour: f is stdout or stderr, its decision was yes, and
 * --json is off. */
bool out_color_on(FILE *f);
/* The tone of an outcome as the ledger names it ("succeeded", "failed", "rolled-back",
 * "refused", "interrupted", "running"; a "refused (edge)" counts as refused); NONE for others. */
enum out_tone out_tone_outcome(const char *outcome);
/* printf to f, in the tone's colour when out_color_on(f). Padding inside fmt is coloured
 * too, so columns stay aligned. */
void out_paint(FILE *f, enum out_tone tone, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces stdout and stderr, first thing in main, by streams that show terminal control bytes
 * (C0 but newline and tab, DEL, UTF-8 C1) as visible \xNN text; out_json keeps the real stdout. */
void out_init(void);
/* The escaping itself: n bytes of src into dst (room for 8 * n bytes); *held_c2 carries a
 * 0xC2 lead byte from one call to the next. Returns the bytes written. */
size_t out_escape(char *dst, const char *src, size_t n, bool *held_c2);

/* Diagnostics on stderr, prefixed "shiplog: " (error), "shiplog: warning: ". Lowercase, cause
 * first, the subject in quotes, the fix when there is one. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error line (never silenced) in the tone of the outcome it ends: a refusal, a rollback. */
void log_tone(enum out_tone tone, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The deploy transcript, like the reference: on stdout (on stderr with --json), silent with -q
 * except for errors. */
void out_phase(const char *title);		       /* "\n== Title ==" */
void out_argv(char *const argv[], const char *suffix); /* "$ a b \"c d\"" + optional suffix */
void out_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* "[tag] ..." */
void out_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* as is + "\n" */
/* out_say with the message (not the "[tag] " prefix) in the tone's colour: the end lines. */
void out_say_tone(enum out_tone tone, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The real stdout, for output that must stay byte-exact (JSON lines of 'ledger export'). */
FILE *out_json_stdout(void);
/* Prints a JSON value as one compact line on stdout and releases the reference. */
void out_json(json_t *v);

/* A JSON string that is always valid: invalid UTF-8 is replaced, NULL becomes "". */
json_t *json_str(const char *s);
/* ns since epoch -> RFC 3339 string. */
json_t *json_time(long long ns);

#endif
