/* SPDX-License-Identifier: MIT */
#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "out.h"
#include "util.h"

#define TICK_MS 100
#define DEPTH 2 /* an operation and the automatic rollback nested in it */

struct line {
	char kind[16];
	struct progress_expect e;
	bool started[PROGRESS_MAX_PHASES]; /* e's phases begun (done unless current) */
	char phase[LEDGER_NAME_MAX];
	int64_t op_start, phase_start;
	char what[160], prefix[32];
	int64_t deadline;
};

/* Everything below is guarded by mu, but `depth`, which only the main thread changes (under
 * mu) and reads, so that out.c's hooks cost nothing while no line runs. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool thread_on, stopping;
static int depth;
static struct line lines[DEPTH];
static bool shown;	  /* the line is on the terminal now */
static bool mid_line[3];  /* fd 1, 2: the last byte written was not a newline */
static bool watch_err;	  /* stderr is a terminal too: its half lines count */
static bool write_locked; /* progress_write_begin took mu */

bool progress_decide(bool tty, bool json, int verbosity, bool no_progress, const char *ci)
{
	if (!tty || json || verbosity < 0 || no_progress)
		return false;
	if (ci && (streq(ci, "true") || streq(ci, "1")))
		return false;
	return true;
}

bool progress_wanted(void)
{
	return progress_decide(isatty(1), out_settings.json, out_settings.verbosity,
			       out_settings.no_progress, getenv("CI"));
}

/* Short durations for a line that changes ten times a second: 0.6s, 38s, 2m05s. */
static void dur(int64_t ns, char *buf, size_t n)
{
	double s = (double)(ns < 0 ? 0 : ns) / 1e9;

	if (s < 10)
		snprintf(buf, n, "%.1fs", s);
	else if (s < 60)
		snprintf(buf, n, "%.0fs", s);
	else
		snprintf(buf, n, "%lldm%02llds", (long long)(s / 60), (long long)s % 60);
}

/* Appends to buf[*n..len) what snprintf would, keeping *n at the bytes really written. */
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n + 1 >= len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	*n += w < 0 ? 0 : (size_t)w >= len - *n ? len - *n - 1 : (size_t)w;
}

/* The detail a narrow terminal gives up first, one level at a time: the usual time, the time
 * in, the phase's own time; what it waits for and its time left stay to the last, being what a
 * person watching needs (which unit, how long until the timeout). */
enum { DETAIL_ALL, DETAIL_NO_USUAL, DETAIL_NO_IN, DETAIL_LEAST };

size_t progress_format(char *buf, size_t len, size_t width, const char *phase, int64_t phase_ns,
		       int64_t usual_ns, int64_t op_ns, int64_t left_ns, bool have_eta,
		       const char *what, const char *prefix, int64_t what_left_ns)
{
	char a[32], b[32], c[32], d[32], e[32];
	size_t n = 0, max = width > 1 ? width - 1 : 0;

	if (!len)
		return 0;
	dur(phase_ns, a, sizeof(a));
	dur(usual_ns, b, sizeof(b));
	dur(op_ns, c, sizeof(c));
	dur(left_ns, d, sizeof(d));
	dur(what_left_ns, e, sizeof(e));
	size_t what_max = what ? strlen(what) : 0;

	for (int level = DETAIL_ALL; level <= DETAIL_LEAST + 1; level++) {
		n = 0;
		buf[0] = '\0';
		append(buf, len, &n, "~ %s", phase);
		if (level < DETAIL_LEAST)
			append(buf, len, &n, " %s", a);
		if (level == DETAIL_ALL && usual_ns > 0)
			append(buf, len, &n, ", usually %s", b);
		append(buf, len, &n, " | ");
		if (level < DETAIL_NO_IN)
			append(buf, len, &n, "%s in, ", c);
		if (have_eta)
			append(buf, len, &n, "ETA %s", d);
		else
			append(buf, len, &n,
			       level < DETAIL_NO_IN ? "no ETA (no history yet)" : "no ETA");
		if (what && *what) {
			size_t wl = strlen(what);

			if (wl > what_max)
				append(buf, len, &n, " | %.*s...", (int)what_max, what);
			else
				append(buf, len, &n, " | %s", what);
			if (what_left_ns >= 0)
				append(buf, len, &n, ", %s%s%s left", prefix ? prefix : "",
				       prefix && *prefix ? " " : "", e);
		}
		if (!max || n <= max)
			break;
		if (level == DETAIL_LEAST) {
			/* still too wide: the end of what it waits for goes, its time left stays */
			size_t over = n - max + 3;

			if (!what || what_max < over + 8)
				break;
			what_max -= over;
		}
	}
	/* one line, never wider than the terminal (a wrapped line cannot be taken back with \r),
	 * and nothing a terminal would act on */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	if (max && n > max)
		n = max;
	buf[n] = '\0';
	return n;
}

static size_t term_width(void)
{
	struct winsize ws;

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void raw_write(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void clear_locked(void)
{
	if (shown) {
		raw_write("\r\033[K", 4);
		shown = false;
	}
}

static void draw_locked(void)
{
	const struct line *l;
	int64_t now = mono_ns(), usual = 0, left = 0, phase_ns, what_left = -1;
	bool have_eta;
	char text[512], out[520];
	size_t n;

	if (depth == 0 || mid_line[1] || (watch_err && mid_line[2]))
		return;
	l = &lines[depth - 1];
	if (!l->phase[0])
		return;
	phase_ns = now - l->phase_start;
	have_eta = l->e.n > 0;
	for (size_t i = 0; i < l->e.n; i++) {
		if (streq(l->e.v[i].phase, l->phase)) {
			usual = l->e.v[i].ns;
			if (usual > phase_ns)
				left += usual - phase_ns;
		} else if (!l->started[i]) {
			left += l->e.v[i].ns;
		}
	}
	if (l->deadline)
		what_left = l->deadline > now ? l->deadline - now : 0;
	n = progress_format(text, sizeof(text), term_width(), l->phase, phase_ns, usual,
			    now - l->op_start, left, have_eta, l->what, l->prefix, what_left);
	out[0] = '\r';
	memcpy(out + 1, text, n);
	memcpy(out + 1 + n, "\033[K", 3);
	raw_write(out, n + 4);
	shown = true;
}

static void *run(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		struct timespec ts;

		draw_locked();
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wake, &mu, &ts);
	}
	clear_locked();
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* A path that leaves without ending its operation's line (an early return, exit()) must not
 * leave the line on the terminal nor the thread running. */
static void end_all(void)
{
	while (depth > 0)
		progress_end();
}

void progress_begin(const char *kind, const struct progress_expect *e)
{
	static bool atexit_set;
	struct line *l;

	if (!progress_wanted() || depth >= DEPTH)
		return;
	if (!atexit_set)
		atexit_set = atexit(end_all) == 0;
	fflush(stdout);
	fflush(stderr);
	pthread_mutex_lock(&mu);
	l = &lines[depth];
	memset(l, 0, sizeof(*l));
	strlcpy_(l->kind, kind ? kind : "", sizeof(l->kind));
	if (e)
		l->e = *e;
	l->op_start = mono_ns();
	if (depth == 0) {
		mid_line[1] = mid_line[2] = false;
		watch_err = isatty(2);
	}
	depth++;
	pthread_mutex_unlock(&mu);
	if (!thread_on) {
		sigset_t all, old;

		/* signals stay with the main thread: ^C must reach the operation's handler */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		stopping = false;
		thread_on = pthread_create(&thread, NULL, run, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
}

void progress_phase(const char *name)
{
	struct line *l;

	if (depth == 0)
		return;
	pthread_mutex_lock(&mu);
	l = &lines[depth - 1];
	strlcpy_(l->phase, name, sizeof(l->phase));
	l->phase_start = mono_ns();
	l->what[0] = l->prefix[0] = '\0';
	l->deadline = 0;
	for (size_t i = 0; i < l->e.n; i++)
		if (streq(l->e.v[i].phase, name))
			l->started[i] = true;
	pthread_mutex_unlock(&mu);
}

void progress_wait(const char *what, const char *prefix, int64_t deadline_mono)
{
	struct line *l;

	if (depth == 0)
		return;
	pthread_mutex_lock(&mu);
	l = &lines[depth - 1];
	strlcpy_(l->what, what ? what : "", sizeof(l->what));
	strlcpy_(l->prefix, prefix ? prefix : "", sizeof(l->prefix));
	l->deadline = what ? deadline_mono : 0;
	pthread_mutex_unlock(&mu);
}

void progress_end(void)
{
	if (depth == 0)
		return;
	fflush(stdout);
	fflush(stderr);
	pthread_mutex_lock(&mu);
	depth--;
	clear_locked();
	if (depth == 0)
		stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&mu);
	if (depth == 0 && thread_on) {
		pthread_join(thread, NULL);
		thread_on = false;
	}
}

void progress_write_begin(int fd)
{
	if (!thread_on || (fd != 1 && fd != 2))
		return;
	pthread_mutex_lock(&mu);
	write_locked = true;
	clear_locked();
}

void progress_write_end(int fd, const char *p, size_t n)
{
	if (!write_locked)
		return;
	if (n)
		mid_line[fd] = p[n - 1] != '\n';
	write_locked = false;
	pthread_mutex_unlock(&mu);
}
