/* SPDX-License-Identifier: MIT */
/*
 * bench-report: the report benchmark of docs/benchmarks.md ("Report"). Builds a ledger of N
 * realistic operations (the ledger benchmark's generator, tests/bench/ledger/gen-ops.h), then
 * times building `shiplog report` from it, against baselines over the same events in the same
 * process: a raw scan (no decode) and a decode of every event. It prints the machine and a
 * table; it is not a pass/fail test and it is not registered with CTest.
 *
 *   in process   report_scan (peek every event, decode and aggregate what the page shows),
 *                then ledger_state_at(newest) and report_write: median of --runs
 *   process      `shiplog --ledger DIR report -o FILE`, fork+exec+wait: median of --runs
 *
 * usage: bench-report [--dir SCRATCH] [--ops N] [--runs N] [--shiplog PATH] [--keep]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "../ledger/gen-ops.h"
#include "report.h"
#include "util.h"

#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif
#define BATCH 10000

static void check(int r, struct ledger *lg, const char *what)
{
	if (r >= 0)
		return;
	fprintf(stderr, "bench-report: %s: %s %s\n", what, ledger_strerror(r),
		lg ? ledger_errmsg(lg) : "");
	exit(1);
}

/* Removes a ledger directory made here (its two LMDB files). */
static void ledger_dir_rm(const char *dir)
{
	char *p;

	p = xasprintf("%s/data.mdb", dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/lock.mdb", dir);
	unlink(p);
	free(p);
	rmdir(dir);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return v[n / 2];
}

static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* user + system time of the waited-for children so far */
static int64_t children_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* Appends whole operations until ops are in; returns the events appended. */
static uint64_t build(struct ledger *lg, uint64_t ops)
{
	struct ledger_event *buf = xmalloc(sizeof(*buf) * (BATCH + GEN_MAX_OP_EVENTS));
	struct gen g;
	uint64_t events = 0, last = 0;
	size_t n = 0;

	check(ledger_last_seq(lg, &last), lg, "ledger_last_seq");
	gen_init(&g, 7, last + 1);
	while (g.ops < ops) {
		n += gen_op(&g, buf + n);
		if (n >= BATCH || g.ops >= ops) {
			check(ledger_append_many(lg, buf, n, LEDGER_APPEND_NOSYNC), lg,
			      "ledger_append_many");
			events += n;
			n = 0;
		}
	}
	check(ledger_sync(lg), lg, "ledger_sync");
	free(buf);
	return events;
}

static int64_t raw_scan(struct ledger *lg, int64_t *cpu)
{
	int64_t c0 = cpu_ns();
	struct ledger_iter *it;
	const uint8_t *p;
	uint64_t seq, sum = 0;
	size_t len;
	int64_t t = mono_ns();
	int r;

	check(ledger_iter_new(lg, LEDGER_FORWARD, 0, &it), lg, "ledger_iter_new");
	while ((r = ledger_iter_next_raw(it, &seq, &p, &len)) > 0)
		sum += len + p[len - 1];
	check(r, lg, "scan");
	ledger_iter_free(it);
	t = mono_ns() - t;
	*cpu = cpu_ns() - c0;
	if (!sum)
		exit(1);
	return t;
}

static int64_t decode_all(struct ledger *lg, int64_t *cpu)
{
	int64_t c0 = cpu_ns();
	struct ledger_iter *it;
	const struct ledger_event *ev;
	uint64_t sum = 0;
	int64_t t = mono_ns();
	int r;

	check(ledger_iter_new(lg, LEDGER_FORWARD, 0, &it), lg, "ledger_iter_new");
	while ((r = ledger_iter_next(it, &ev)) > 0)
		sum += (uint64_t)ev->type;
	check(r, lg, "decode");
	ledger_iter_free(it);
	t = mono_ns() - t;
	*cpu = cpu_ns() - c0;
	if (!sum)
		exit(1);
	return t;
}

struct timing {
	int64_t scan, render, total, cpu, scan_cpu;
	size_t bytes;
	size_t ops;
};

static void report_once(struct ledger *lg, const char *dir, struct timing *tm)
{
	struct report rp;
	struct ledger_state *st = xmalloc(sizeof(*st));
	struct buf html = {0};
	uint64_t scanned = 0, bad = 0;
	int64_t t0 = mono_ns(), c0 = cpu_ns(), t1;

	report_init(&rp, 0);
	check(report_scan(lg, &rp, &scanned, &bad), lg, "report_scan");
	t1 = mono_ns();
	tm->scan_cpu = cpu_ns() - c0;
	check(ledger_state_at(lg, UINT64_MAX, st), lg, "ledger_state_at");
	report_write(
	    &html, &rp, st,
	    &(struct report_page){
		.project = "bench", .ledger_dir = dir, .now_ns = now_ns(), .events = scanned});
	tm->scan = t1 - t0;
	tm->total = mono_ns() - t0;
	tm->render = tm->total - tm->scan;
	tm->cpu = cpu_ns() - c0;
	tm->bytes = html.len;
	tm->ops = rp.nops;
	if (bad) {
		fprintf(stderr, "bench-report: %" PRIu64 " events did not decode\n", bad);
		exit(1);
	}
	report_release(&rp);
	buf_free(&html);
	free(st);
}

/* Wall time of one run; *cpu gets its user + system time. */
static int64_t run_process(char *const argv[], int64_t *cpu)
{
	int64_t t = mono_ns(), c0 = children_cpu_ns();
	pid_t pid;
	int status;

	/* fork+exec: <spawn.h> here would be shiplog's own (src/ext/spawn.h) */
	pid = fork();
	if (pid < 0) {
		perror("bench-report: fork");
		exit(1);
	}
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-report: %s report failed\n", argv[0]);
		exit(1);
	}
	*cpu = children_cpu_ns() - c0;
	return mono_ns() - t;
}

/* One row: wall and CPU time; the ratio is of CPU times (the machine may be shared). */
static void row(const char *name, const char *size, int64_t wall, int64_t cpu, int64_t base_cpu,
		const char *base, bool target)
{
	char r[16] = "-";

	if (base_cpu > 0)
		snprintf(r, sizeof(r), "%.2fx", (double)cpu / (double)base_cpu);
	printf("%-40s %-9s %9.1f %9.1f %7s %-20s %-7s %-4s\n", name, size, ms(wall), ms(cpu), r,
	       base ? base : "-", target ? "< 2 s" : "-",
	       !target		   ? "-"
	       : wall < 2000000000 ? "yes"
	       : cpu < 2000000000  ? "cpu"
				   : "no");
}

static void machine(void)
{
	char cpu[256] = "unknown", line[512], date[64];
	double load[3] = {0, 0, 0};
	struct utsname u;
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	getloadavg(load, 3);
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	printf(
	    "Machine\n  date        %s\n  cpu         %s, %ld cores online\n  kernel      %s %s\n"
	    "  build       %s\n  load        %.2f %.2f %.2f at the start\n\n",
	    date, cpu, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, BENCH_BUILD_TYPE,
	    load[0], load[1], load[2]);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"dir", required_argument, NULL, 'd'},  {"ops", required_argument, NULL, 'n'},
	    {"runs", required_argument, NULL, 'r'}, {"shiplog", required_argument, NULL, 's'},
	    {"keep", no_argument, NULL, 'k'},	    {0},
	};
	const char *scratch = "/tmp", *shiplog = NULL;
	uint64_t ops = 100000, events;
	int runs = 5, opt;
	bool keep = false;
	struct ledger *lg = NULL;
	char *dir, *out, size[32];
	int64_t *v, *vc, scan_raw, scan_dec, raw_cpu, dec_cpu, proc = 0, proc_cpu = 0;
	struct timing tm, best = {0};
	int64_t t;

	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			scratch = optarg;
			break;
		case 'n':
			ops = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		case 's':
			shiplog = optarg;
			break;
		case 'k':
			keep = true;
			break;
		default:
			fprintf(stderr, "usage: bench-report [--dir SCRATCH] [--ops N] [--runs N] "
					"[--shiplog PATH] [--keep]\n");
			return 2;
		}
	}
	machine();
	dir = xasprintf("%s/report-%" PRIu64 "-ops", scratch, ops);
	out = xasprintf("%s/report-%" PRIu64 "-ops.html", scratch, ops);
	ledger_dir_rm(dir);
	fprintf(stderr, "bench-report: building a ledger of %" PRIu64 " operations in %s\n", ops,
		dir);
	check(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), NULL, dir);
	t = mono_ns();
	events = build(lg, ops);
	fprintf(stderr, "bench-report: %" PRIu64 " events in %.1f s\n", events,
		(double)(mono_ns() - t) / 1e9);

	v = xcalloc((size_t)runs, sizeof(*v));
	vc = xcalloc((size_t)runs + 1, sizeof(*vc));
	raw_scan(lg, &raw_cpu); /* warm the page cache */
	for (int i = 0; i < runs; i++)
		v[i] = raw_scan(lg, &vc[i]);
	scan_raw = median(v, runs);
	raw_cpu = median(vc, runs);
	for (int i = 0; i < runs; i++)
		v[i] = decode_all(lg, &vc[i]);
	scan_dec = median(v, runs);
	dec_cpu = median(vc, runs);
	{
		int64_t sc[64], rn[64], to[64], cp[64], scp[64];
		int n = runs < 64 ? runs : 64;
		for (int i = 0; i < n; i++) {
			report_once(lg, dir, &tm);
			sc[i] = tm.scan;
			rn[i] = tm.render;
			to[i] = tm.total;
			cp[i] = tm.cpu;
			scp[i] = tm.scan_cpu;
		}
		best = tm;
		best.scan = median(sc, n);
		best.render = median(rn, n);
		best.total = median(to, n);
		best.cpu = median(cp, n);
		best.scan_cpu = median(scp, n);
	}
	ledger_close(lg);
	if (shiplog) {
		char *const pargv[] = {(char *)shiplog, "--ledger", dir, "report", "-o", out, NULL};
		for (int i = 0; i < runs; i++)
			v[i] = run_process(pargv, &vc[i]);
		proc = median(v, runs);
		proc_cpu = median(vc, runs);
	}

	snprintf(size, sizeof(size), "%.0fk ops", (double)ops / 1000);
	printf("ledger: %" PRIu64 " operations, %" PRIu64 " events; median of %d runs\n\n", ops,
	       events, runs);
	printf("%-40s %-9s %9s %9s %7s %-20s %-7s %-4s\n", "case", "size", "wall ms", "cpu ms",
	       "ratio", "baseline (cpu)", "target", "met?");
	for (int i = 0; i < 110; i++)
		putchar('-');
	putchar('\n');
	row("raw scan, no decode (baseline)", size, scan_raw, raw_cpu, 0, NULL, false);
	row("decode every event (ledger_iter_next)", size, scan_dec, dec_cpu, raw_cpu, "raw scan",
	    false);
	row("report: scan + aggregate", size, best.scan, best.scan_cpu, raw_cpu, "raw scan", false);
	row("report: state + render HTML", size, best.render, best.cpu - best.scan_cpu, 0, NULL,
	    false);
	row("report in process, total", size, best.total, best.cpu, dec_cpu, "decode every event",
	    true);
	if (shiplog)
		row("`shiplog report -o FILE` process", size, proc, proc_cpu, best.cpu,
		    "in process", true);
	printf("\nmet? yes: wall time under 2 s; cpu: only its CPU time is (the machine was "
	       "shared)\n");
	printf("\npage: %.1f KiB, %zu operations aggregated\n", (double)best.bytes / 1024.0,
	       best.ops);
	if (!keep) {
		ledger_dir_rm(dir);
		unlink(out);
	}
	free(v);
	free(vc);
	free(dir);
	free(out);
	return 0;
}
