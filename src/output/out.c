/* SPDX-License-Identifier: MIT */
#include "out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

struct out_settings out_settings;

/* Text output: terminal control bytes in text that came from outside (refs, actors, errors and
 * health details from an imported ledger, compose and command output) must not reach a
 * terminal as controls. stdout and stderr are replaced by streams that show C0 controls other
 * than newline and tab, DEL, and UTF-8-encoded C1 controls (U+0080..U+009F) as visible \xNN
 * text, so nothing printed with printf/fputs anywhere can slip by. JSON goes to the real
 * stdout: jansson has escaped it already, and it must stay byte-exact. */
struct esc_stream {
	int fd;
	bool held_c2; /* a 0xC2 lead byte whose next byte decides whether it starts a C1 */
	bool raw;     /* set by sgr() alone, around a colour code of its own making */
};
static struct esc_stream esc_out = {.fd = 1}, esc_err = {.fd = 2};
static FILE *esc_files[2]; /* the escaping stdout and stderr */
static FILE *json_stdout;

static bool esc_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

size_t out_escape(char *dst, const char *src, size_t n, bool *held_c2)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (*held_c2) {
			*held_c2 = false;
			if (c >= 0x80 && c <= 0x9f) {
				o += (size_t)sprintf(dst + o, "\\xc2\\x%02x", c);
				continue;
			}
			dst[o++] = (char)0xc2;
		}
		if (c == 0xc2)
			*held_c2 = true;
		else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			o += (size_t)sprintf(dst + o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	return o;
}

static ssize_t esc_write(struct esc_stream *s, const char *buf, size_t n)
{
	char out[4096 * 8 + 8];
	size_t done = 0;

	if (s->raw) {
		/* a colour code: the byte held before it was no C1 lead */
		if (s->held_c2 && !esc_write_all(s->fd, "\xc2", 1))
			return -1;
		s->held_c2 = false;
		return esc_write_all(s->fd, buf, n) ? (ssize_t)n : -1;
	}
	/* at most 8 output bytes per input byte (\xc2\x9b) */
	while (done < n) {
		size_t k = n - done < 4096 ? n - done : 4096;

		if (!esc_write_all(s->fd, out, out_escape(out, buf + done, k, &s->held_c2)))
			return -1; /* ferror() on the stream, as with the real one */
		done += k;
	}
	return (ssize_t)n;
}

/* The live progress line (progress.c) is taken off the terminal before anything else is
 * written there, and learns whether the stream now stands at the start of a line. */
static ssize_t esc_cookie_write(void *cookie, const char *buf, size_t n)
{
	struct esc_stream *s = cookie;
	ssize_t r;

	progress_write_begin(s->fd);
	r = esc_write(s, buf, n);
	progress_write_end(s->fd, buf, n);
	return r;
}

static int esc_cookie_close(void *cookie)
{
	struct esc_stream *s = cookie;

	bool ok = !s->held_c2 || esc_write_all(s->fd, "\xc2", 1);

	s->held_c2 = false;
	return ok ? 0 : -1;
}

void out_init(void)
{
	cookie_io_functions_t io = {.write = esc_cookie_write, .close = esc_cookie_close};
	FILE *o, *e;

	json_stdout = stdout;
	o = fopencookie(&esc_out, "w", io);
	e = fopencookie(&esc_err, "w", io);
	if (!o || !e) {
		if (o)
			fclose(o);
		if (e)
			fclose(e);
		return; /* out of memory this early: print as before */
	}
	setvbuf(o, NULL, isatty(1) ? _IOLBF : _IOFBF, BUFSIZ);
	setvbuf(e, NULL, _IOLBF, BUFSIZ);
	stdout = esc_files[0] = o;
	stderr = esc_files[1] = e;
}

/* ---- colour ------------------------------------------------------------------------------- */

static bool color_fd[2]; /* stdout, stderr */

static const char *const tone_sgr[OUT_TONE__COUNT] = {
    [OUT_TONE_HEADER] = "1",  [OUT_TONE_OK] = "32",   [OUT_TONE_FAIL] = "1;31",
    [OUT_TONE_ERROR] = "31",  [OUT_TONE_WARN] = "33", [OUT_TONE_REFUSED] = "35",
    [OUT_TONE_ACTIVE] = "36",
};

int out_color_parse(const char *s, enum out_color_mode *mode)
{
	if (!s)
		return -EINVAL;
	if (streq(s, "auto"))
		*mode = OUT_COLOR_AUTO;
	else if (streq(s, "always") || streq(s, "yes") || streq(s, "force"))
		*mode = OUT_COLOR_ALWAYS;
	else if (streq(s, "never") || streq(s, "no") || streq(s, "none"))
		*mode = OUT_COLOR_NEVER;
	else
		return -EINVAL;
	return 0;
}

bool out_color_decide(enum out_color_mode mode, bool tty, const char *term, const char *no_color,
		      const char *clicolor_force)
{
	if (mode != OUT_COLOR_AUTO)
		return mode == OUT_COLOR_ALWAYS;
	if (!str_empty(no_color))
		return false;
	if (!str_empty(clicolor_force) && !streq(clicolor_force, "0"))
		return true;
	return tty && !str_empty(term) && !streq(term, "dumb");
}

void out_color_setup(enum out_color_mode mode)
{
	for (int fd = 1; fd <= 2; fd++)
		color_fd[fd - 1] = out_color_decide(mode, isatty(fd), getenv("TERM"),
						    getenv("NO_COLOR"), getenv("CLICOLOR_FORCE"));
}

bool out_color_on(FILE *f)
{
	if (out_settings.json || !f)
		return false;
	return (f == stdout && color_fd[0]) || (f == stderr && color_fd[1]);
}

enum out_tone out_tone_outcome(const char *outcome)
{
	if (str_empty(outcome))
		return OUT_TONE_NONE;
	if (streq(outcome, "succeeded"))
		return OUT_TONE_OK;
	if (streq(outcome, "failed"))
		return OUT_TONE_FAIL;
	if (str_startswith(outcome, "rolled-back") || str_startswith(outcome, "rolled back"))
		return OUT_TONE_WARN;
	if (str_startswith(outcome, "refused"))
		return OUT_TONE_REFUSED;
	if (streq(outcome, "interrupted"))
		return OUT_TONE_ERROR;
	if (streq(outcome, "running"))
		return OUT_TONE_ACTIVE;
	return OUT_TONE_NONE;
}

/* A colour code passes the control-byte filter only here: the stream is flushed so the text
 * before it went through the filter, then the code alone is written as is. */
static void sgr(FILE *f, const char *code)
{
	struct esc_stream *s = f == esc_files[0] ? &esc_out : f == esc_files[1] ? &esc_err : NULL;

	if (s) {
		fflush(f);
		s->raw = true;
	}
	fprintf(f, "\033[%sm", code);
	if (s) {
		fflush(f);
		s->raw = false;
	}
}

static void vpaint(FILE *f, enum out_tone tone, const char *fmt, va_list ap)
{
	bool on = tone > OUT_TONE_NONE && tone < OUT_TONE__COUNT && out_color_on(f);

	if (on)
		sgr(f, tone_sgr[tone]);
	vfprintf(f, fmt, ap);
	if (on)
		sgr(f, "0");
}

void out_paint(FILE *f, enum out_tone tone, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpaint(f, tone, fmt, ap);
	va_end(ap);
}

/* Every line a person reads is formatted here first: whatever came from outside (git remotes,
 * URLs, libgit2/libcurl messages) is printed with the secrets of its URLs redacted. */
static void vprint_tone(FILE *f, const char *prefix, enum out_tone tone, const char *fmt,
			va_list ap)
{
	_cleanup_free_ char *text = NULL, *clean = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	clean = redact_secrets(text);
	fputs(prefix, f);
	out_paint(f, tone, "%s", clean);
	fputc('\n', f);
	fflush(f);
}

static void vprint(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	vprint_tone(f, prefix, OUT_TONE_NONE, fmt, ap);
}

/* An error line is red after its prefix; a warning's "warning:" is yellow. */
static void vlog(const char *prefix, enum out_tone tone, const char *fmt, va_list ap)
{
	fputs("shiplog: ", stderr);
	if (prefix[0])
		out_paint(stderr, tone, "%s", prefix);
	vprint_tone(stderr, "", prefix[0] ? OUT_TONE_NONE : tone, fmt, ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", OUT_TONE_ERROR, fmt, ap);
	va_end(ap);
}

void log_tone(enum out_tone tone, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", tone, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	if (out_settings.verbosity < 0)
		return;
	va_start(ap, fmt);
	vlog("warning: ", OUT_TONE_WARN, fmt, ap);
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
	fputc('\n', transcript());
	out_paint(transcript(), OUT_TONE_HEADER, "== %s ==", title);
	fputc('\n', transcript());
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

/* "[deploy] ", or the command's own tag. */
static const char *say_prefix(char *buf, size_t len)
{
	snprintf(buf, len, "[%s] ", out_settings.tag ? out_settings.tag : "deploy");
	return buf;
}

void out_say(const char *fmt, ...)
{
	va_list ap;
	FILE *f = transcript();
	char prefix[32];

	if (out_settings.verbosity < 0)
		return;

	va_start(ap, fmt);
	vprint(f, say_prefix(prefix, sizeof(prefix)), fmt, ap);
	va_end(ap);
}

void out_say_tone(enum out_tone tone, const char *fmt, ...)
{
	va_list ap;
	FILE *f = transcript();
	char prefix[32];

	if (out_settings.verbosity < 0)
		return;

	va_start(ap, fmt);
	vprint_tone(f, say_prefix(prefix, sizeof(prefix)), tone, fmt, ap);
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

FILE *out_json_stdout(void)
{
	fflush(stdout); /* text printed before stays before */
	return json_stdout ? json_stdout : stdout;
}

void out_json(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	FILE *f = out_json_stdout();

	if (s) {
		fputs(s, f);
		fputc('\n', f);
		free(s);
	}
	fflush(f);
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
