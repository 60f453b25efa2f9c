/* SPDX-License-Identifier: MIT */
/* Output: what a person reads (text on stdout, diagnostics on stderr) and what a script parses
 * (--json: one JSON document per line on stdout). Every message goes through here. */
#ifndef SHIPLOG_OUT_H
#define SHIPLOG_OUT_H

#include <jansson.h>
#include <stdbool.h>

struct out_settings {
	bool json;     /* --json: reads print JSON; deploy prints its text to stderr */
	int verbosity; /* -1 quiet, 0 normal, 1 verbose */
};
extern struct out_settings out_settings;

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

/* The deploy transcript, like the reference: on stdout (on stderr with --json), silent with -q
 * except for errors. */
void out_phase(const char *title);		       /* "\n== Title ==" */
void out_argv(char *const argv[], const char *suffix); /* "$ a b \"c d\"" + optional suffix */
void out_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* "[deploy] ..." */
void out_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* as is + "\n" */

/* The real stdout, for output that must stay byte-exact (JSON lines of 'ledger export'). */
FILE *out_json_stdout(void);
/* Prints a JSON value as one compact line on stdout and releases the reference. */
void out_json(json_t *v);

/* A JSON string that is always valid: invalid UTF-8 is replaced, NULL becomes "". */
json_t *json_str(const char *s);
/* ns since epoch -> RFC 3339 string. */
json_t *json_time(long long ns);

#endif
