/* SPDX-License-Identifier: MIT */
#include "out.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct out_settings out_settings;

/* Every line a person reads is formatted here first: whatever came from outside (git remotes,
 * URLs, libgit2/libcurl messages) is printed with the secrets of its URLs redacted. */
static void vprint(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	_cleanup_free_ char *text = NULL, *clean = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	clean = redact_secrets(text);
	fputs(prefix, f);
	fputs(clean, f);
	fputc('\n', f);
	fflush(f);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	_cleanup_free_ char *p = xasprintf("shiplog: %s", prefix);

	vprint(stderr, p, fmt, ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	if (out_settings.verbosity < 0)
		return;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	if (out_settings.verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}

static FILE *transcript(void)
{
	return out_settings.json ? stderr : stdout;
}

void out_phase(const char *title)
{
	if (out_settings.verbosity < 0)
		return;
	fprintf(transcript(), "\n== %s ==\n", title);
	fflush(transcript());
}

/* Arguments with whitespace or quotes are shown JSON-quoted, as the reference did. */
static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (strchr(" \t\n\"'\\$`;&|<>()*?", *s))
			return true;
	return false;
}

void out_argv(char *const argv[], const char *suffix)
{
	FILE *f = transcript();

	if (out_settings.verbosity < 0)
		return;
	fputc('$', f);
	for (size_t i = 0; argv[i]; i++) {
		_cleanup_free_ char *a = redact_secrets(argv[i]);

		fputc(' ', f);
		if (needs_quotes(a)) {
			json_t *s = json_str(a);
			char *q = json_dumps(s, JSON_ENCODE_ANY);
			fputs(q ? q : "\"?\"", f);
			free(q);
			json_decref(s);
		} else {
			fputs(a, f);
		}
	}
	if (suffix)
		fprintf(f, " %s", suffix);
	fputc('\n', f);
	fflush(f);
}

void out_say(const char *fmt, ...)
{
	va_list ap;
	FILE *f = transcript();

	if (out_settings.verbosity < 0)
		return;
	va_start(ap, fmt);
	vprint(f, "[deploy] ", fmt, ap);
	va_end(ap);
}

void out_plain(const char *fmt, ...)
{
	va_list ap;
	FILE *f = transcript();

	if (out_settings.verbosity < 0)
		return;
	va_start(ap, fmt);
	vprint(f, "", fmt, ap);
	va_end(ap);
}

void out_json(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	fflush(stdout);
	json_decref(v);
}

json_t *json_str(const char *s)
{
	json_t *v;
	char *copy;

	if (!s)
		return json_string("");
	v = json_string(s);
	if (v)
		return v;
	/* invalid UTF-8: replace every byte >= 0x80 with '?' */
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v ? v : json_string("");
}

json_t *json_time(long long ns)
{
	char buf[64];

	if (ns <= 0)
		return json_null();
	format_time(ns, buf, sizeof(buf));
	return json_string(buf);
}
