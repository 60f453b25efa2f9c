/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ledger/ledger.h>

int exit_code_for(int r)
{
	switch (r) {
	case 0:
		return EXIT_OK;
	case SL_EFAILED:
		return EXIT_DEPLOY_FAILED;
	case SL_EUSAGE:
		return EXIT_USAGE;
	case SL_EREFUSED:
		return EXIT_REFUSED;
	case SL_EINTERRUPTED:
		return EXIT_INTERRUPTED;
	case SL_ENOLEDGER:
		return EXIT_NO_LEDGER;
	default:
		return EXIT_ENVIRONMENT;
	}
}

int result_for_exit_code(int code, bool *known)
{
	static const int results[][2] = {
	    {EXIT_OK, 0},
	    {EXIT_DEPLOY_FAILED, SL_EFAILED},
	    {EXIT_USAGE, SL_EUSAGE},
	    {EXIT_REFUSED, SL_EREFUSED},
	    {EXIT_ENVIRONMENT, SL_EENV},
	    {EXIT_NO_LEDGER, SL_ENOLEDGER},
	    {EXIT_INTERRUPTED, SL_EINTERRUPTED},
	};

	for (size_t i = 0; i < ELEMENTSOF(results); i++)
		if (results[i][0] == code) {
			if (known)
				*known = true;
			return results[i][1];
		}
	if (known)
		*known = false;
	return SL_EENV;
}

const char *sl_strerror(int r)
{
	switch (r) {
	case SL_EUSAGE:
		return "usage or config error";
	case SL_EFAILED:
		return "operation failed";
	case SL_EREFUSED:
		return "refused";
	case SL_EENV:
		return "environment error";
	case SL_EINTERRUPTED:
		return "interrupted";
	case SL_ENOLEDGER:
		return "no ledger";
	default:
		return ledger_strerror(r);
	}
}

void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	va_end(ap);
	return p;
}

bool streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool str_startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_empty(const char *s)
{
	return !s || !*s;
}

bool str_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

size_t strlcpy_(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (n) {
		size_t c = len < n - 1 ? len : n - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return len;
}

char *str_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		memmove(s, s + 1, strlen(s));
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

void strv_push_take(struct strv *sv, char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(char *));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_take(sv, xstrdup(s));
}

bool strv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (streq(sv->v[i], s))
			return true;
	return false;
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct strv){0};
}

void strv_split_commas(struct strv *sv, const char *s)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		str_trim(t);
		if (*t)
			strv_push(sv, t);
	}
}

char *strv_join(const struct strv *sv, const char *sep)
{
	struct buf b = {0};

	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			buf_append(&b, sep, strlen(sep));
		buf_append(&b, sv->v[i], strlen(sv->v[i]));
	}
	buf_append(&b, "", 1);
	return b.data;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_append(b, s, (size_t)n);
	free(s);
}

void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){0};
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int parse_duration_ns(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t ns;
	} units[] = {
	    {"ms", 1000000LL},
	    {"s", 1000000000LL},
	    {"m", 60000000000LL},
	    {"h", 3600000000000LL},
	    {"d", 86400000000000LL},
	    {"us", 1000LL},
	    {"ns", 1LL},
	};
	/* Decimal digits only, with an optional fraction: no sign, exponent, hex, inf or nan
	 * (strtod took "0x10s" and "1e3s"). Exact integer arithmetic, overflow checked. */
	uint64_t whole = 0, frac = 0, den = 1;
	const char *p = s;
	bool digits = false;

	if (!s)
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++, digits = true)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, (uint64_t)(*p - '0'), &whole))
			return -ERANGE;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits = true)
			if (den < 1000000000000000000ULL) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				den *= 10;
			}
	}
	if (!digits)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		if (streq(p, units[i].suffix)) {
			uint64_t ns;

			if (__builtin_mul_overflow(whole, (uint64_t)units[i].ns, &ns) ||
			    __builtin_add_overflow(
				ns,
				(uint64_t)((unsigned __int128)frac * (uint64_t)units[i].ns / den),
				&ns) ||
			    ns > (uint64_t)INT64_MAX / 2)
				return -ERANGE;
			*out = (int64_t)ns;
			return 0;
		}
	}
	return -EINVAL;
}

void format_duration(int64_t ns, char *buf, size_t n)
{
	int64_t ms = ns / 1000000;

	if (ms < 1000)
		snprintf(buf, n, "%lldms", (long long)ms);
	else
		snprintf(buf, n, "%.2fs", (double)ns / 1e9);
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static int parse_rfc3339(const char *s, int64_t *out)
{
	int Y, M, D, h = 0, m = 0, sec = 0, oh = 0, om = 0;
	int64_t frac_ns = 0, offset = 0, ns;
	const char *p = s;
	struct tm tm = {0};
	time_t t;

	if (parse_digits(&p, 4, &Y) || *p++ != '-' || parse_digits(&p, 2, &M) || *p++ != '-' ||
	    parse_digits(&p, 2, &D))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &m))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (parse_digits(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.') {
				int64_t scale = 100000000;
				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				while (isdigit((unsigned char)*p)) {
					frac_ns += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			p++;
			if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om))
				return -EINVAL;
			offset = sign * ((int64_t)oh * 3600 + om * 60);
		} else {
			return -EINVAL; /* a time without a zone is ambiguous */
		}
	}
	if (*p || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -EINVAL;
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	/* Nanoseconds since the epoch fit an int64 from 1970 to 2262-04-11; "2600-..." wrapped
	 * around to 2015 */
	if (__builtin_mul_overflow((int64_t)t - offset, (int64_t)1000000000, &ns) ||
	    __builtin_add_overflow(ns, frac_ns, &ns) || ns < 0)
		return -ERANGE;
	*out = ns;
	return 0;
}

int parse_time_ns(const char *s, int64_t now, int64_t *out)
{
	int64_t age;

	if (str_empty(s))
		return -EINVAL;
	if (parse_rfc3339(s, out) == 0)
		return 0;
	if (parse_duration_ns(s, &age) == 0) {
		*out = now - age;
		return 0;
	}
	return -EINVAL;
}

void format_time(int64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((ns / 1000000) % 1000));
}

const char *actor_string(void)
{
	static char actor[256];
	char host[HOST_NAME_MAX + 1] = "unknown";
	const char *user = NULL;
	struct passwd *pw;

	if (actor[0])
		return actor;
	pw = getpwuid(geteuid());
	if (pw)
		user = pw->pw_name;
	if (!user)
		user = getenv("USER");
	gethostname(host, sizeof(host) - 1);
	snprintf(actor, sizeof(actor), "%s@%s", user ? user : "unknown", host);
	return actor;
}

int mkdir_p(const char *path, unsigned mode)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b = {0};
	char chunk[8192];
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -errno;
		}
		if (b.len + (size_t)n > max) {
			buf_free(&b);
			return -EFBIG;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	if (!b.data)
		b.data = xstrdup("");
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

/* Where a URL ends in free text. */
static bool url_end(char c)
{
	return !c || isspace((unsigned char)c) || strchr("'\"<>`", c);
}

static bool secret_param(const char *name, size_t n)
{
	static const char *const words[] = {"token", "key", "secret",	 "pass",
					    "auth",  "sig", "credential"};
	char low[64];

	if (n == 0 || n >= sizeof(low))
		return n > 0;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[n] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

char *redact_secrets(const char *s)
{
	struct buf b = {0};
	const char *p, *q;

	if (!s)
		return xstrdup("");
	while ((p = strstr(s, "://"))) {
		const char *auth = p + 3, *at = NULL;

		buf_append(&b, s, (size_t)(auth - s));
		/* the authority: up to the path, query or fragment; its last '@' ends the userinfo
		 */
		for (q = auth; !url_end(*q) && !strchr("/?#", *q); q++)
			if (*q == '@')
				at = q;
		if (at) {
			buf_append(&b, "***", 3);
			auth = at;
		}
		/* the rest of the URL: each secret-looking query value becomes *** */
		for (q = auth; !url_end(*q) && *q != '?'; q++)
			;
		buf_append(&b, auth, (size_t)(q - auth));
		while (*q == '?' || *q == '&' || *q == ';') {
			const char *name = q + 1, *eq, *end;

			for (end = name; !url_end(*end) && !strchr("&;#", *end); end++)
				;
			eq = memchr(name, '=', (size_t)(end - name));
			buf_append(&b, q, 1);
			if (eq && secret_param(name, (size_t)(eq - name))) {
				buf_append(&b, name, (size_t)(eq + 1 - name));
				buf_append(&b, "***", 3);
			} else {
				buf_append(&b, name, (size_t)(end - name));
			}
			q = end;
		}
		s = q;
	}
	buf_append(&b, s, strlen(s));
	return b.data ? b.data : xstrdup("");
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	/* An unpredictable name, created exclusively (mkostemp: O_CREAT|O_EXCL, 0600, so never
	 * through a planted symlink) in the target's directory, so that rename() stays atomic. */
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	const char *p = data;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			int r = -errno;
			if (r == -EINTR)
				continue;
			close(fd);
			unlink(tmp);
			return r;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

char *expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0') && home)
		return xasprintf("%s%s", home, path + 1);
	return xstrdup(path);
}

/* SHA-256, FIPS 180-4. Used for config digests, not for anything secret. */
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const uint8_t *p = data;
	uint8_t tail[128] = {0};
	size_t full = len / 64 * 64, rest = len - full, tlen;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha256_block(h, p + i);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tlen; i += 64)
		sha256_block(h, tail + i);
	for (int i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", h[i]);
}
