/* SPDX-License-Identifier: MIT */
/*
 * bench-restart: part a of the native deploy benchmark (docs/benchmarks.md, "Native deploy").
 * Restarts the same units, N times each way, interleaved, in one process and on one clock:
 *
 *   shiplog      bus_restart_units() over a fresh sd-bus connection (opened before the clock
 *                starts; what a deploy does: every RestartUnit queued at once, then wait for
 *                every JobRemoved)
 *   seq          the reference helpers' shape: `systemctl --user restart U` per unit, one after the
 *                other, then `systemctl --user is-active --quiet U` per unit
 *   batch        one `systemctl --user restart U1 .. Un`
 *   batch+check  one `systemctl --user restart U1 .. Un`, then is-active per unit (§2.7 of the
 *                reference: what its native deploy ran)
 *   open         bus_open() + bus_close() alone (the one-off cost a deploy pays before restarting)
 *
 * Between two measured restarts (not measured) `systemctl --user reset-failed` clears the units'
 * start limit, which 40 restarts a minute would otherwise hit, and the run pauses --pause-ms.
 *
 * It is not a test: it prints "case median_ms min_ms max_ms n" lines for run.sh to tabulate.
 * Every restart is checked (job result "done" and a new MainPID, or systemctl exit 0); the first
 * failure stops the run with exit 1.
 *
 * usage: bench-restart [--reps N] [--pause-ms MS] [--verbose] UNIT...
 * (--verbose: each shiplog job's result and duration on stderr)
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "util.h"

#define MAX_UNITS 32
#define MAX_REPS 1000
#define DEADLINE_NS (60LL * 1000000000LL)

static bool verbose;

enum { C_SHIPLOG, C_SEQ, C_BATCH, C_BATCH_CHECK, C_OPEN, N_CASES };

static const char *const case_names[N_CASES] = {"shiplog", "seq", "batch", "batch+check", "open"};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("bench-restart: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Runs argv (PATH lookup) with stdout/stderr as they are; returns its exit status. */
static int spawn_wait(char *const argv[])
{
	pid_t pid;
	int st;

	/* fork + execvp: <spawn.h> here would be shiplog's src/spawn.h (same include path) */
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void systemctl(const char *verb, char *const *units, size_t n)
{
	char *argv[MAX_UNITS + 5];
	size_t k = 0;
	int rc;

	argv[k++] = "systemctl";
	argv[k++] = "--user";
	if (streq(verb, "is-active"))
		argv[k++] = "--quiet";
	argv[k++] = (char *)verb;
	for (size_t i = 0; i < n; i++)
		argv[k++] = units[i];
	argv[k] = NULL;
	rc = spawn_wait(argv);
	if (rc != 0)
		fail("'systemctl --user %s %s%s' exited with %d", verb, units[0],
		     n > 1 ? " ..." : "", rc);
}

static long retries;

/* Opens the user bus (not measured), restarts the units, closes: each measured restart has a fresh
 * connection, as each deploy has. When the connection is lost mid-way (seen on a shared machine:
 * the bus daemon stopped under us), it is reopened and the restart retried once, and counted. */
static int64_t run_shiplog(char *const *units, size_t n)
{
	struct restart_job jobs[MAX_UNITS] = {0};
	struct bus *b = NULL;
	int64_t t0, t;
	int r;

	for (int attempt = 0;; attempt++) {
		if (bus_open(&b, true) < 0)
			fail("bus_open: %s", bus_errmsg(NULL));
		for (size_t i = 0; i < n; i++)
			jobs[i].unit = units[i];
		t0 = mono_ns();
		r = bus_restart_units(b, jobs, n, t0 + DEADLINE_NS, NULL);
		t = mono_ns() - t0;
		if (r >= 0 || attempt > 0 ||
		    (r != -ECONNRESET && r != -ENOTCONN && r != -EPIPE && r != -ECONNREFUSED))
			break;
		fprintf(stderr, "bench-restart: retrying once: %s\n", bus_errmsg(b));
		retries++;
		bus_close(b);
		b = NULL;
		usleep(500000);
	}
	if (r < 0)
		fail("bus_restart_units: %s", bus_errmsg(b));
	bus_close(b);
	for (size_t i = 0; i < n; i++) {
		if (verbose)
			fprintf(stderr, "bench-restart: %s: %s in %.1f ms, pid %u -> %u%s\n",
				units[i], jobs[i].result, (double)jobs[i].duration_ns / 1e6,
				jobs[i].pid_before, jobs[i].pid_after,
				jobs[i].reset_start_limit ? " (start limit reset)" : "");
		if (!streq(jobs[i].result, "done"))
			fail("restart of %s: %s %s", units[i], jobs[i].result, jobs[i].errmsg);
		if (jobs[i].pid_after == 0 || jobs[i].pid_after == jobs[i].pid_before)
			fail("restart of %s: main pid %u -> %u (not restarted)", units[i],
			     jobs[i].pid_before, jobs[i].pid_after);
	}
	return t;
}

static int64_t run_seq(char *const *units, size_t n)
{
	int64_t t0 = mono_ns();

	for (size_t i = 0; i < n; i++)
		systemctl("restart", &units[i], 1);
	for (size_t i = 0; i < n; i++)
		systemctl("is-active", &units[i], 1);
	return mono_ns() - t0;
}

static int64_t run_batch(char *const *units, size_t n, bool check)
{
	int64_t t0 = mono_ns();

	systemctl("restart", units, n);
	if (check)
		for (size_t i = 0; i < n; i++)
			systemctl("is-active", &units[i], 1);
	return mono_ns() - t0;
}

static int64_t run_open(void)
{
	struct bus *b = NULL;
	int64_t t0 = mono_ns(), t;

	if (bus_open(&b, true) < 0)
		fail("bus_open: %s", bus_errmsg(NULL));
	/* one call, so that the connection is really up (sd-bus connects lazily) */
	{
		struct unit_props p;
		(void)bus_unit_props(b, "default.target", &p);
	}
	t = mono_ns() - t0;
	bus_close(b);
	return t;
}

/* Between two measured restarts, not measured: the units' start limit (StartLimitBurst=5 in 60 s
 * in the sample's units) would stop the run after a few rounds, so it is reset; then a pause. */
static void settle(char *const *units, size_t n, long pause_ms)
{
	systemctl("reset-failed", units, n);
	usleep((useconds_t)pause_ms * 1000);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_i64);
	if (n % 2)
		return (double)v[n / 2] / 1e6;
	return (double)(v[n / 2 - 1] + v[n / 2]) / 2e6;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reps", required_argument, NULL, 'n'},
	    {"pause-ms", required_argument, NULL, 'p'},
	    {"verbose", no_argument, NULL, 'v'},
	    {0},
	};
	static int64_t t[N_CASES][MAX_REPS];
	long reps = 10, pause_ms = 300;
	char **units;
	size_t n;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'n')
			reps = strtol(optarg, NULL, 10);
		else if (opt == 'p')
			pause_ms = strtol(optarg, NULL, 10);
		else if (opt == 'v')
			verbose = true;
		else
			fail("usage: bench-restart [--reps N] [--pause-ms MS] UNIT...");
	}
	units = &argv[optind];
	n = (size_t)(argc - optind);
	if (n == 0 || n > MAX_UNITS || reps < 1 || reps > MAX_REPS || pause_ms < 0)
		fail("usage: bench-restart [--reps N (1-%d)] [--pause-ms MS] UNIT... (1-%d units)",
		     MAX_REPS, MAX_UNITS);

	/* one unmeasured round, so that no case pays for a cold cache */
	run_shiplog(units, n);
	settle(units, n, pause_ms);

	for (long r = 0; r < reps; r++) {
		/* rotate the order, so that no case always follows the same one */
		for (int k = 0; k < C_OPEN; k++) {
			int c = (int)((k + r) % C_OPEN);
			if (c == C_SHIPLOG)
				t[c][r] = run_shiplog(units, n);
			else if (c == C_SEQ)
				t[c][r] = run_seq(units, n);
			else
				t[c][r] = run_batch(units, n, c == C_BATCH_CHECK);
			settle(units, n, pause_ms);
		}
		t[C_OPEN][r] = run_open();
	}
	for (int c = 0; c < N_CASES; c++) {
		double med = median_ms(t[c], (size_t)reps);
		printf("%s %.1f %.1f %.1f %ld\n", case_names[c], med, (double)t[c][0] / 1e6,
		       (double)t[c][reps - 1] / 1e6, reps);
	}
	printf("retries %ld\n", retries);
	return 0;
}
