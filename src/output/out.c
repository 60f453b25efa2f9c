/* SPDX-License-Identifier: MIT */
#include "out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
};
static struct esc_stream esc_out = {.fd = 1}, esc_err = {.fd = 2};
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

static ssize_t esc_cookie_write(void *cookie, const char *buf, size_t n)
{
	struct esc_stream *s = cookie;
	char out[4096 * 8 + 8];
	size_t done = 0;

	/* at most 8 output bytes per input byte (\xc2\x9b) */
	while (done < n) {
		size_t k = n - done < 4096 ? n - done : 4096;

		if (!esc_write_all(s->fd, out, out_escape(out, buf + done, k, &s->held_c2)))
			return -1; /* ferror() on the stream, as with the real one */
		done += k;
	}
	return (ssize_t)n;
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
	stdout = o;
	stderr = e;
}

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
