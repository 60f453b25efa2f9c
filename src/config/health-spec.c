/* SPDX-License-Identifier: MIT */
/* The parser of a health check as written in shiplog.conf. Pure string work: the checks
 * themselves live in health.c. Messages are "<problem>; <fix>" so that config.c can put the
 * file, line and key in front. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util.h"

const char *health_kind_name(enum health_kind k)
{
	switch (k) {
	case HEALTH_HTTP_GET:
		return "http-get";
	case HEALTH_HTTP_HEAD:
		return "http-head";
	case HEALTH_TCP:
		return "tcp";
	case HEALTH_CMD:
		return "cmd";
	}
	return "unknown";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Splits like a shell without any expansion: whitespace separates words; '...' is literal;
 * "..." is literal except \" \\ \$ \` ; a backslash outside quotes takes the next character. */
int config_words_split(const char *s, struct strv *out, char *err, size_t errlen)
{
	struct buf w = {0};
	bool in_word = false;
	int r = 0;

	for (const char *p = s;; p++) {
		if (*p == '\0' || isspace((unsigned char)*p)) {
			if (in_word) {
				buf_append(&w, "", 1);
				strv_push_take(out, w.data);
				w = (struct buf){0};
				in_word = false;
			}
			if (*p == '\0')
				break;
			continue;
		}
		in_word = true;
		if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (!end) {
				r = fail(err, errlen, "unterminated single quote in '%s'; close it",
					 s);
				goto out;
			}
			buf_append(&w, p + 1, (size_t)(end - p - 1));
			p = end;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				buf_append(&w, p, 1);
			}
			if (*p != '"') {
				r = fail(err, errlen, "unterminated double quote in '%s'; close it",
					 s);
				goto out;
			}
		} else if (*p == '\\' && p[1]) {
			p++;
			buf_append(&w, p, 1);
		} else {
			buf_append(&w, p, 1);
		}
	}
out:
	buf_free(&w);
	return r;
}

static int url_check(const char *url, char *err, size_t errlen)
{
	const char *host;

	if (str_startswith(url, "http://"))
		host = url + 7;
	else if (str_startswith(url, "https://"))
		host = url + 8;
	else
		return fail(err, errlen,
			    "'%s' is not an http:// or https:// URL; write the full URL", url);
	if (*host == '\0' || *host == '/' || *host == ':')
		return fail(err, errlen, "'%s' has no host; write e.g. http://127.0.0.1:3000/",
			    url);
	return 0;
}

static int port_parse(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

static int tcp_check(const char *t, char *err, size_t errlen)
{
	const char *colon;
	unsigned port;

	if (t[0] == '[') {
		const char *close = strchr(t, ']');
		if (!close || close == t + 1 || close[1] != ':')
			return fail(err, errlen, "'%s' is not [IPV6]:PORT; write e.g. [::1]:4222",
				    t);
		colon = close + 1;
	} else {
		colon = strrchr(t, ':');
		if (!colon || colon == t)
			return fail(err, errlen, "'%s' is not HOST:PORT; write e.g. 127.0.0.1:4222",
				    t);
		if (memchr(t, ':', (size_t)(colon - t)))
			return fail(err, errlen,
				    "'%s': put an IPv6 address in brackets; write "
				    "e.g. [::1]:4222",
				    t);
	}
	if (port_parse(colon + 1, &port) < 0)
		return fail(err, errlen, "'%s' has no valid port (1-65535); write HOST:PORT", t);
	return 0;
}

int health_spec_parse(const char *text, struct health_spec *out, char *err, size_t errlen)
{
	struct health_spec h = {0};
	struct strv words = {0};
	const char *kind, *rest;
	size_t klen;
	int r;

	*out = (struct health_spec){0};
	if (str_empty(text))
		return fail(err, errlen,
			    "empty check; use http-get URL [STATUS], http-head URL, "
			    "tcp HOST:PORT or cmd ARGV...");
	if (str_has_control(text))
		return fail(err, errlen, "control characters in the check; remove them");

	kind = text;
	while (isspace((unsigned char)*kind))
		kind++;
	klen = strcspn(kind, " \t");
	rest = kind + klen;
	while (isspace((unsigned char)*rest))
		rest++;

	if (klen == 3 && !strncmp(kind, "cmd", 3)) {
		h.kind = HEALTH_CMD;
		r = config_words_split(rest, &h.argv, err, errlen);
		if (r < 0)
			goto fail;
		if (h.argv.n == 0) {
			r = fail(err, errlen,
				 "'cmd' needs a command; write e.g. cmd redis-cli ping");
			goto fail;
		}
		h.target = xstrdup(rest);
		str_trim(h.target);
		*out = h;
		return 0;
	}

	r = config_words_split(rest, &words, err, errlen);
	if (r < 0)
		goto fail;
	if (klen == 8 && !strncmp(kind, "http-get", 8)) {
		h.kind = HEALTH_HTTP_GET;
		if (words.n < 1 || words.n > 2) {
			r = fail(err, errlen,
				 "'http-get' takes a URL and an optional status; write "
				 "http-get URL [STATUS]");
			goto fail;
		}
		if (words.n == 2) {
			char *end;
			long st;
			errno = 0;
			st = strtol(words.v[1], &end, 10);
			if (errno || *end || !isdigit((unsigned char)words.v[1][0]) || st < 100 ||
			    st > 599) {
				r = fail(err, errlen,
					 "status '%s' is not an HTTP status; use 100-599",
					 words.v[1]);
				goto fail;
			}
			h.expect_status = (int)st;
		}
	} else if (klen == 9 && !strncmp(kind, "http-head", 9)) {
		h.kind = HEALTH_HTTP_HEAD;
		if (words.n != 1) {
			r = fail(err, errlen,
				 "'http-head' takes exactly one URL; write http-head URL");
			goto fail;
		}
	} else if (klen == 3 && !strncmp(kind, "tcp", 3)) {
		h.kind = HEALTH_TCP;
		if (words.n != 1) {
			r = fail(err, errlen,
				 "'tcp' takes exactly one HOST:PORT; write tcp HOST:PORT");
			goto fail;
		}
		r = tcp_check(words.v[0], err, errlen);
		if (r < 0)
			goto fail;
	} else {
		r = fail(err, errlen, "unknown kind '%.*s'; use http-get, http-head, tcp or cmd",
			 (int)(klen > 40 ? 40 : klen), kind);
		goto fail;
	}
	if (h.kind != HEALTH_TCP) {
		r = url_check(words.v[0], err, errlen);
		if (r < 0)
			goto fail;
	}
	h.target = xstrdup(words.v[0]);
	strv_free(&words);
	*out = h;
	return 0;
fail:
	strv_free(&words);
	health_spec_release(&h);
	return r;
}

void health_spec_release(struct health_spec *h)
{
	if (!h)
		return;
	free(h->target);
	strv_free(&h->argv);
	*h = (struct health_spec){0};
}
