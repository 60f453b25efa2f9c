/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every part of the program: cleanup, errors, strings, time. */
#ifndef SHIPLOG_UTIL_H
#define SHIPLOG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- results ----------------------------------------------------------------------------
 * Functions in src/ return 0 or a negative code: -errno, a LEDGER_E* code from ledger.h, or one
 * of these. main() maps them to exit codes through one table (exit_code_for()). */
enum {
	SL_EUSAGE = -20001,	  /* bad arguments or config: exit 2 */
	SL_EFAILED = -20002,	  /* the deploy (or check) failed: exit 1 */
	SL_EREFUSED = -20003,	  /* a guard refused: exit 3 */
	SL_EENV = -20004,	  /* the environment is unusable (bus, git, docker): exit 4 */
	SL_EINTERRUPTED = -20005, /* stopped by SIGINT/SIGTERM, what ran said: exit 130 */
	SL_ENOLEDGER = -20006,	  /* a read found no ledger: nothing was deployed with it: exit 5 */
};

enum {
	EXIT_OK = 0,
	EXIT_DEPLOY_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_REFUSED = 3,
	EXIT_ENVIRONMENT = 4,
	EXIT_NO_LEDGER = 5,	/* a state, not a failure: a fleet read counts it as an answer */
	EXIT_INTERRUPTED = 130, /* 128 + SIGINT, as a shell reports a ^C */
};

int exit_code_for(int r);
/* The inverse of exit_code_for(): the result code an exit status of another shiplog (a server's
 * over ssh, a fleet host's) stands for, so that its 130 stays an interruption and its 5 "no
 * ledger" wherever it is read. A status shiplog never exits with (a signal's, a shell's 126 or
 * 127, a crash) gives SL_EENV with *known (may be NULL) false. */
int result_for_exit_code(int code, bool *known);
/* Text for any result code (-errno, LEDGER_E*, SL_E*). */
const char *sl_strerror(int r);

/* ---- cleanup ----------------------------------------------------------------------------- */

#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)
void closep(int *fd);
#define _cleanup_close_ _cleanup_(closep)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- memory and strings ------------------------------------------------------------------ */

/* Abort on allocation failure: a deploy tool that runs out of memory cannot recover. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool streq(const char *a, const char *b); /* NULL-safe */
bool str_startswith(const char *s, const char *prefix);
bool str_empty(const char *s); /* NULL or "" */
/* A C0 control byte (newline and tab included) or DEL in s. */
bool str_has_control(const char *s);
/* Copies with truncation and NUL termination; returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t n);
/* Trims leading and trailing whitespace in place; returns s. */
char *str_trim(char *s);

/* A growable NULL-terminated string vector. Zero-initialised is empty. */
struct strv {
	char **v;
	size_t n, cap;
};
void strv_push(struct strv *sv, const char *s); /* copies s */
void strv_push_take(struct strv *sv, char *s);	/* takes ownership of s */
bool strv_contains(const struct strv *sv, const char *s);
void strv_free(struct strv *sv);
/* Splits on commas, trimming each part, dropping empty ones. */
void strv_split_commas(struct strv *sv, const char *s);
/* Joins with sep into a malloc'd string. */
char *strv_join(const struct strv *sv, const char *sep);

/* A growable byte buffer. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* ---- time --------------------------------------------------------------------------------- */

int64_t now_ns(void);  /* CLOCK_REALTIME */
int64_t mono_ns(void); /* CLOCK_MONOTONIC */

/* "500ms", "5s", "2m", "1h", "3d", "1.5s" -> ns: decimal digits with an optional fraction and a
 * unit (ns, us, ms, s, m, h, d). -EINVAL on anything else ("0x10s", "1e3s", "-1s"), -ERANGE
 * over 2^62 ns (146 years). */
int parse_duration_ns(const char *s, int64_t *out);
/* Like the reference: under 1000 ms "<n>ms", else seconds with two decimals "1.23s". */
void format_duration(int64_t ns, char *buf, size_t n);
/* RFC 3339 ("2026-11-27T08:00:00Z", "...+01:00", fractional seconds; a real calendar date, from
 * 1970 to 2262-04-11, the span of int64 nanoseconds) or a relative age ("90m", "2h", "3d",
 * "45s" = that long before now_ns) -> ns since the epoch. -EINVAL otherwise. */
int parse_time_ns(const char *s, int64_t now, int64_t *out);
/* RFC 3339 in UTC with milliseconds: "2026-11-27T08:00:00.123Z". */
void format_time(int64_t ns, char *buf, size_t n);

/* "user@host" of this process. */
const char *actor_string(void);

/* ---- files -------------------------------------------------------------------------------- */

/* Text with the secrets of every URL in it replaced by "***": the userinfo of "scheme://user:pw@"
 * and the value of each query parameter whose name says token, key, secret, pass(word), auth,
 * sig(nature) or credential. Everything shiplog records or prints from outside (git remotes,
 * health targets, libgit2/libcurl messages) goes through it. New string; NULL gives "". */
char *redact_secrets(const char *s);

/* mkdir -p with mode for the directories it creates. */
int mkdir_p(const char *path, unsigned mode);
/* Reads a whole file (at most max bytes) into a malloc'd NUL-terminated buffer. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes atomically with mode: a new "<path>.tmp.XXXXXX" (mkostemp: exclusive, never a symlink),
 * fsync'ed, then renamed over path. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* Expands a leading "~/" with $HOME. Returns a malloc'd string. */
char *expand_home(const char *path);
/* Hex SHA-256 of bytes (65 bytes incl. NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
