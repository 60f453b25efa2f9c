/* SPDX-License-Identifier: MIT */
/* The LMDB store: modes, the one-env-per-path registry, read-only opens, schema and project
 * checks, append assignments, map growth and adoption of another process's growth, crash
 * consistency under SIGKILL, concurrent appenders, NOSYNC, close-on-exec, compaction. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger-gen.h"
#include "ledger/ledger.h"
#include "testlib.h"

static char *path_join(const char *a, const char *b)
{
	char *p = malloc(strlen(a) + strlen(b) + 2);

	sprintf(p, "%s/%s", a, b);
	return p;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char *p = name ? path_join(dir, name) : strdup(dir);
	struct stat sb;

	cr_assert_eq(stat(p, &sb), 0, "stat %s: %s", p, strerror(errno));
	free(p);
	return sb.st_mode & 07777;
}

/* A step.ran whose payload says who wrote it and its intended index. */
static void payload_event(struct ledger_event *ev, char *what, size_t n, const char *who,
			  unsigned idx)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = LEDGER_EV_STEP_RAN;
	ev->actor = "writer@test";
	snprintf(what, n, "%s", who);
	ev->u.step_ran.what = what;
	ev->u.step_ran.exit_code = (int32_t)idx;
	ev->u.step_ran.cwd = "/tmp/padding-padding-padding-padding-padding-padding-padding-padding";
}

Test(store, modes_are_exact_whatever_the_umask)
{
	char *base = tl_mkdtemp("modes");
	char *dir = path_join(base, "state/shiplog/proj");
	struct ledger *lg;

	umask(0);
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(mode_of(dir, NULL), 0700);
	cr_assert_eq(mode_of(dir, "data.mdb"), 0600);
	cr_assert_eq(mode_of(dir, "lock.mdb"), 0600);
	ledger_close(lg);
	umask(022);
	tl_rmrf(base);
	free(dir);
	free(base);
}

/* A ledger directory others can enter (made by hand, restored from a backup) is tightened on
 * open, also a read-only one; a read-write open tightens the files too. */
Test(store, wider_existing_modes_are_tightened)
{
	char *base = tl_mkdtemp("widemodes");
	char *dir = path_join(base, "proj");
	struct ledger *lg;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	ledger_close(lg);
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(tl_sh("chmod 0644 '%s/data.mdb' '%s/lock.mdb'", dir, dir), 0);
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	cr_assert_eq(mode_of(dir, NULL), 0700, "a read-only open left the directory %o",
		     mode_of(dir, NULL));
	ledger_close(lg);
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(mode_of(dir, "data.mdb"), 0600);
	cr_assert_eq(mode_of(dir, "lock.mdb"), 0600);
	ledger_close(lg);
	tl_rmrf(base);
	free(dir);
	free(base);
}

Test(store, readonly_open_of_missing_creates_nothing)
{
	char *base = tl_mkdtemp("ro");
	char *dir = path_join(base, "nope");
	struct ledger *lg = NULL;
	struct stat sb;
	DIR *d;
	int entries = 0;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), LEDGER_ENOTFOUND);
	cr_assert_null(lg);
	cr_assert_eq(stat(dir, &sb), -1, "read-only open created the directory");
	cr_assert_eq(ledger_open(&lg, dir, 0, NULL), LEDGER_ENOTFOUND);
	cr_assert_eq(stat(dir, &sb), -1);
	/* even CREATE|RDONLY does not create */
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY | LEDGER_OPEN_CREATE, NULL),
		     LEDGER_ENOTFOUND);
	cr_assert_eq(stat(dir, &sb), -1);
	/* an existing empty directory stays empty */
	cr_assert_eq(ledger_open(&lg, base, LEDGER_OPEN_RDONLY, NULL), LEDGER_ENOTFOUND);
	d = opendir(base);
	for (struct dirent *e; (e = readdir(d));)
		entries += e->d_name[0] != '.';
	closedir(d);
	cr_assert_eq(entries, 0);
	tl_rmrf(base);
	free(dir);
	free(base);
}

Test(store, second_open_in_process_is_busy)
{
	char *dir = tl_mkdtemp("busy");
	char *alias = path_join(dir, ".");
	struct ledger *a, *b = NULL;

	cr_assert_eq(ledger_open(&a, dir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(ledger_open(&b, dir, 0, NULL), -EBUSY);
	cr_assert_eq(ledger_open(&b, alias, LEDGER_OPEN_RDONLY, NULL), -EBUSY, "same realpath");
	cr_assert_null(b);
	ledger_close(a);
	cr_assert_eq(ledger_open(&b, alias, LEDGER_OPEN_RDONLY, NULL), 0, "free again after close");
	cr_assert_str_eq(ledger_path(b) + strlen(ledger_path(b)) - 5, dir + strlen(dir) - 5);
	ledger_close(b);
	tl_rmrf(dir);
	free(alias);
	free(dir);
}

Test(store, newer_schema_and_other_project_refused)
{
	char *dir = tl_mkdtemp("schema");
	struct ledger_options o = {.project = "islandflow"}, other = {.project = "elsewhere"};
	struct ledger *lg;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	uint8_t v2[4] = {0, 0, 0, LEDGER_SCHEMA_VERSION + 1};
	MDB_val k = {6, "schema"}, v = {4, v2};

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);
	ledger_close(lg);
	cr_assert_eq(ledger_open(&lg, dir, 0, &other), LEDGER_EINVAL);
	cr_assert_eq(ledger_open(&lg, dir, 0, &o), 0);
	ledger_close(lg);

	/* a newer shiplog wrote this ledger */
	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	cr_assert_eq(ledger_open(&lg, dir, 0, NULL), LEDGER_ESCHEMA);
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), LEDGER_ESCHEMA);
	/* the failed opens released the path */
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), LEDGER_ESCHEMA);
	tl_rmrf(dir);
	free(dir);
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

Test(store, append_assigns_seq_op_and_time)
{
	char *dir = tl_mkdtemp("append");
	struct ledger *lg, *ro;
	struct ledger_event ev = {.type = LEDGER_EV_OP_REQUESTED, .actor = "alice@vps"}, got;
	uint64_t seq = 0, last;
	int64_t t0 = realtime_ns();
	uint8_t *raw;
	size_t len;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, 0);
	ev.u.op_requested.kind = "deploy";
	cr_assert_eq(ledger_append(lg, &ev, 0, &seq), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(seq, 1);
	cr_assert_eq(ev.seq, 1);
	cr_assert_eq(ev.op, 1, "op = seq for op.requested");
	cr_assert_geq(ev.time_ns, t0);
	cr_assert_leq(ev.time_ns, realtime_ns());

	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_PHASE_STARTED;
	ev.actor = "alice@vps";
	ev.op = 1;
	ev.time_ns = 42;
	ev.u.phase.name = "precheck";
	cr_assert_eq(ledger_append(lg, &ev, 0, &seq), 0);
	cr_assert_eq(seq, 2);
	cr_assert_eq(ev.op, 1, "kept");
	cr_assert_eq(ev.time_ns, 42, "kept");

	memset(&ev, 0, sizeof(ev));
	ev.type = LEDGER_EV_OP_REFUSED;
	ev.actor = "alice@vps";
	ev.u.op_refused.reason = "edge";
	cr_assert_eq(ledger_append(lg, &ev, 0, &seq), 0);
	cr_assert_eq(ev.op, 3, "standalone refusal: op = seq");

	/* an event without an actor is refused and nothing is written */
	ev.actor = "";
	ev.op = 0;
	cr_assert_eq(ledger_append(lg, &ev, 0, &seq), LEDGER_EINVAL);
	cr_assert(strstr(ledger_errmsg(lg), "actor"), "%s", ledger_errmsg(lg));
	ev.actor = NULL;
	cr_assert_eq(ledger_append(lg, &ev, 0, &seq), LEDGER_EINVAL);
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, 3);

	/* raw appends are decoded first */
	{
		const uint8_t junk[] = {0x81, 0xa1, 'v'};
		const uint8_t *bufs[] = {junk};
		size_t lens[] = {sizeof(junk)};

		cr_assert_eq(ledger_append_raw(lg, bufs, lens, 1, 0), LEDGER_ECORRUPT);
		cr_assert_eq(ledger_last_seq(lg, &last), 0);
		cr_assert_eq(last, 3);
	}

	cr_assert_eq(ledger_get(lg, 2, &got), 0);
	cr_assert_eq(got.seq, 2);
	cr_assert_eq(got.type, LEDGER_EV_PHASE_STARTED);
	cr_assert_str_eq(got.u.phase.name, "precheck");
	ledger_event_release(&got);
	cr_assert_eq(ledger_get(lg, 9, &got), LEDGER_ENOTFOUND);
	cr_assert_eq(ledger_get_raw(lg, 3, &raw, &len), 0);
	cr_assert_eq(ledger_event_decode(raw, len, &got, NULL, 0), 0);
	cr_assert_eq(got.type, LEDGER_EV_OP_REFUSED);
	ledger_event_release(&got);
	free(raw);
	ledger_close(lg);

	cr_assert_eq(ledger_open(&ro, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	ev.actor = "x";
	cr_assert_eq(ledger_append(ro, &ev, 0, &seq), -EROFS);
	cr_assert_eq(ledger_sync(ro), -EROFS);
	cr_assert_eq(ledger_last_seq(ro, &last), 0);
	cr_assert_eq(last, 3);
	ledger_close(ro);
	tl_rmrf(dir);
	free(dir);
}

Test(store, fds_are_close_on_exec)
{
	char *dir = tl_mkdtemp("cloexec");
	struct ledger *lg;
	DIR *d;
	int seen = 0;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	d = opendir("/proc/self/fd");
	for (struct dirent *e; (e = readdir(d));) {
		char link[300], target[4096];
		ssize_t n;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strstr(target, dir))
			continue;
		seen++;
		cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s is inherited by children", target);
	}
	closedir(d);
	cr_assert_geq(seen, 2, "data.mdb and lock.mdb fds");
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

Test(store, map_grows_from_a_tiny_map)
{
	char *dir = tl_mkdtemp("grow");
	struct ledger_options o = {.initial_map_bytes = 64 << 10, .snapshot_every = 50};
	struct ledger_event evs[100];
	char what[100][32];
	struct ledger_verify_report rep;
	struct ledger *lg;
	uint64_t last;
	unsigned idx = 0;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);
	for (int batch = 0; batch < 20; batch++) {
		for (int i = 0; i < 100; i++)
			payload_event(&evs[i], what[i], sizeof(what[i]), "grow", ++idx);
		cr_assert_eq(ledger_append_many(lg, evs, 100, LEDGER_APPEND_NOSYNC), 0, "%s",
			     ledger_errmsg(lg));
		cr_assert_eq(evs[99].seq, idx);
	}
	/* and single appends past more doublings */
	for (int i = 0; i < 500; i++) {
		payload_event(&evs[0], what[0], sizeof(what[0]), "grow", ++idx);
		cr_assert_eq(ledger_append(lg, &evs[0], LEDGER_APPEND_NOSYNC, NULL), 0);
	}
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, 2500);
	cr_assert_eq(ledger_verify(lg, &rep), 0, "%s", rep.detail);
	cr_assert_eq(rep.events, 2500);
	cr_assert_eq(rep.snapshots, 50);
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

Test(store, adopts_another_process_map_growth)
{
	char *dir = tl_mkdtemp("resized");
	struct ledger_options small = {.initial_map_bytes = 64 << 10, .snapshot_every = 10};
	struct ledger_verify_report rep;
	struct ledger_event ev;
	struct ledger *lg;
	char what[32];
	uint64_t last;
	pid_t pid;
	int status;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &small), 0);
	for (unsigned i = 1; i <= 10; i++) {
		payload_event(&ev, what, sizeof(what), "parent", i);
		cr_assert_eq(ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL), 0);
	}
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* a fresh handle in the child (the inherited one must not be used) with a map
		 * 128x larger, written well past the parent's map */
		struct ledger_options big = {.initial_map_bytes = 8 << 20, .snapshot_every = 10};
		struct ledger *c;
		struct ledger_event evs[100];
		char w[100][32];

		if (ledger_open(&c, dir, 0, &big) != 0)
			_exit(2);
		for (unsigned b = 0; b < 30; b++) {
			for (unsigned i = 0; i < 100; i++)
				payload_event(&evs[i], w[i], sizeof(w[i]), "child",
					      b * 100 + i + 1);
			if (ledger_append_many(c, evs, 100, LEDGER_APPEND_NOSYNC) != 0)
				_exit(3);
		}
		ledger_close(c);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

	/* the parent's map is smaller than the file now: its next transaction adopts */
	payload_event(&ev, what, sizeof(what), "parent", 11);
	cr_assert_eq(ledger_append(lg, &ev, 0, NULL), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(ev.seq, 3011);
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, 3011);
	cr_assert_eq(ledger_verify(lg, &rep), 0, "%s", rep.detail);
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

Test(store, nosync_appends_then_sync)
{
	char *dir = tl_mkdtemp("nosync");
	struct ledger_event ev;
	struct ledger *lg;
	char what[32];
	uint64_t last;
	pid_t pid;
	int status;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	for (unsigned i = 1; i <= 100; i++) {
		payload_event(&ev, what, sizeof(what), "nosync", i);
		cr_assert_eq(ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL), 0);
	}
	cr_assert_eq(ledger_sync(lg), 0);
	payload_event(&ev, what, sizeof(what), "durable", 101);
	cr_assert_eq(ledger_append(lg, &ev, 0, NULL), 0);
	ledger_close(lg);

	/* a NOSYNC event survives the death of its process */
	pid = fork();
	if (pid == 0) {
		struct ledger *c;

		if (ledger_open(&c, dir, 0, NULL) != 0)
			_exit(2);
		payload_event(&ev, what, sizeof(what), "killed", 102);
		if (ledger_append(c, &ev, LEDGER_APPEND_NOSYNC, NULL) != 0)
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, 102);
	cr_assert_eq(ledger_get(lg, 102, &ev), 0);
	cr_assert_str_eq(ev.u.step_ran.what, "killed");
	ledger_event_release(&ev);
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

/* A child appends durably in a loop and is SIGKILLed at a random moment, 50 times. After each,
 * the ledger verifies and holds exactly a contiguous prefix of what the child meant to write. */
Test(store, crash_consistency_under_sigkill, .timeout = 240)
{
	char *dir = tl_mkdtemp("crash");
	struct ledger_options o = {.snapshot_every = 5};
	struct ledger *lg;
	uint64_t total = 0, rng = (uint64_t)getpid() * 2654435761u + 1;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);
	ledger_close(lg);
	for (int run = 0; run < 50; run++) {
		struct ledger_verify_report rep;
		struct ledger_iter *it;
		const struct ledger_event *ev;
		char who[32];
		unsigned want = 1;
		pid_t pid;
		int rc, status;

		int ready[2];
		char b;

		snprintf(who, sizeof(who), "run-%d", run);
		cr_assert_eq(pipe(ready), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct ledger_event e;
			struct ledger *c;
			char what[32];

			close(ready[0]);
			if (ledger_open(&c, dir, 0, &o) != 0)
				_exit(2);
			for (unsigned i = 1;; i++) {
				payload_event(&e, what, sizeof(what), who, i);
				if (ledger_append(c, &e, 0, NULL) != 0)
					_exit(3);
				if (i == 1 &&
				    (write(ready[1], "r", 1) != 1 || close(ready[1]) != 0))
					_exit(5);
			}
		}
		/* The random moment starts once the child appends, so a loaded machine (slow fork,
		 * slow open) still kills it mid-stream rather than before its first event. */
		close(ready[1]);
		cr_assert_eq(read(ready[0], &b, 1), 1, "run %d: the child never appended", run);
		close(ready[0]);
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		usleep((useconds_t)(rng % 25000));
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status), "run %d: the child exited by itself (%d)", run,
			  WEXITSTATUS(status));

		cr_assert_eq(ledger_open(&lg, dir, 0, &o), 0);
		rc = ledger_verify(lg, &rep);
		cr_assert_eq(rc, 0, "run %d: verify: %s", run, rep.detail);
		cr_assert_eq(ledger_iter_new(lg, LEDGER_FORWARD, total + 1, &it), 0);
		while ((rc = ledger_iter_next(it, &ev)) == 1) {
			cr_assert_eq(ev->type, LEDGER_EV_STEP_RAN);
			cr_assert_str_eq(ev->u.step_ran.what, who);
			cr_assert_eq(ev->u.step_ran.exit_code, (int32_t)want, "run %d: index", run);
			cr_assert_eq(ev->seq, total + want);
			want++;
		}
		cr_assert_eq(rc, 0);
		ledger_iter_free(it);
		/* the child said its first append had returned: it must be there */
		cr_assert_gt(want, 1, "run %d: an acknowledged durable append is missing", run);
		total += want - 1;
		ledger_close(lg);
	}
	cr_log_info("crash test: %llu events over 50 runs", (unsigned long long)total);
	tl_rmrf(dir);
	free(dir);
}

/* 4 processes x 200 durable appends at once: nothing lost, nothing doubled. */
Test(store, concurrent_appenders, .timeout = 240)
{
	char *dir = tl_mkdtemp("concurrent");
	struct ledger_options o = {.snapshot_every = 7};
	struct ledger_verify_report rep;
	struct ledger_iter *it;
	const struct ledger_event *ev;
	unsigned next[4] = {1, 1, 1, 1};
	struct ledger *lg;
	pid_t pids[4];
	uint64_t last;
	int rc;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);
	ledger_close(lg);
	for (int c = 0; c < 4; c++) {
		pids[c] = fork();
		cr_assert_geq(pids[c], 0);
		if (pids[c] == 0) {
			struct ledger_event e;
			struct ledger *h;
			char what[32], who[16];

			snprintf(who, sizeof(who), "child-%d", c);
			if (ledger_open(&h, dir, 0, &o) != 0)
				_exit(2);
			for (unsigned i = 1; i <= 200; i++) {
				payload_event(&e, what, sizeof(what), who, i);
				if (ledger_append(h, &e, 0, NULL) != 0)
					_exit(3);
			}
			ledger_close(h);
			_exit(0);
		}
	}
	for (int c = 0; c < 4; c++) {
		int status;

		cr_assert_eq(waitpid(pids[c], &status, 0), pids[c]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: %d", c, status);
	}
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, &o), 0);
	cr_assert_eq(ledger_last_seq(lg, &last), 0);
	cr_assert_eq(last, 800);
	cr_assert_eq(ledger_verify(lg, &rep), 0, "%s", rep.detail);
	cr_assert_eq(rep.snapshots, 800 / 7);
	cr_assert_eq(ledger_iter_new(lg, LEDGER_FORWARD, 0, &it), 0);
	while ((rc = ledger_iter_next(it, &ev)) == 1) {
		int c = ev->u.step_ran.what[6] - '0';

		cr_assert(c >= 0 && c < 4);
		cr_assert_eq((unsigned)ev->u.step_ran.exit_code, next[c], "child %d out of order",
			     c);
		next[c]++;
	}
	cr_assert_eq(rc, 0);
	ledger_iter_free(it);
	for (int c = 0; c < 4; c++)
		cr_assert_eq(next[c], 201);
	ledger_close(lg);
	tl_rmrf(dir);
	free(dir);
}

Test(store, compact_copy)
{
	char *dir = tl_mkdtemp("compact");
	char *copy = path_join(dir, "copy");
	struct ledger_verify_report rep;
	struct ledger *lg, *c;
	struct gen g;
	uint64_t last;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	gen_init(&g, lg, 3);
	while (g.events < 500)
		gen_op(&g);
	umask(0);
	cr_assert_eq(ledger_compact_to(lg, copy), 0, "%s", ledger_errmsg(lg));
	umask(022);
	cr_assert_eq(mode_of(copy, NULL), 0700);
	cr_assert_eq(mode_of(copy, "data.mdb"), 0600, "the copy is %o under umask 000",
		     mode_of(copy, "data.mdb"));
	cr_assert_eq(ledger_compact_to(lg, copy), -EEXIST);
	ledger_close(lg);
	cr_assert_eq(ledger_open(&c, copy, LEDGER_OPEN_RDONLY, NULL), 0);
	cr_assert_eq(ledger_last_seq(c, &last), 0);
	cr_assert_eq(last, g.events);
	cr_assert_eq(ledger_verify(c, &rep), 0, "%s", rep.detail);
	ledger_close(c);
	tl_rmrf(dir);
	free(copy);
	free(dir);
}

/* Appends events until one fails (or `max` succeed); returns how many succeeded and leaves the
 * failure's code in *rc. */
static unsigned append_until_full(struct ledger *lg, unsigned max, int *rc)
{
	struct ledger_event ev;
	char what[32];
	unsigned n = 0;

	*rc = 0;
	for (; n < max; n++) {
		payload_event(&ev, what, sizeof(what), "after", n);
		*rc = ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL);
		if (*rc < 0)
			break;
	}
	if (*rc == 0)
		*rc = ledger_sync(lg);
	return n;
}

/* The room a caller reserves before a side effect holds the records that follow it, on a disk
 * that fills in between (issue 9 item 3: a restart whose `unit.restarted` found the disk full).
 * The control: the same appends on the same full disk without a reservation fail. Real tmpfs. */
Test(store, reserved_room_takes_the_records_after_the_disk_fills)
{
	char *base = tl_mkdtemp("reserve");
	char *fs = path_join(base, "fs");
	char *dir = path_join(fs, "ledger");
	struct ledger *lg;
	struct ledger_event ev;
	char what[32];
	unsigned control, reserved;
	int rc;

	TL_REQUIRE(geteuid() == 0 &&
		       tl_sh("mkdir -p '%s' && mount -t tmpfs -o size=2m,mode=0700 tmpfs '%s' "
			     "2>/dev/null",
			     fs, fs) == 0,
		   "a tmpfs mount (root)");
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, NULL), 0);
	for (unsigned i = 0; i < 50; i++) {
		payload_event(&ev, what, sizeof(what), "before", i);
		cr_assert_eq(ledger_append(lg, &ev, 0, NULL), 0);
	}

	/* control: fill the disk, then append */
	tl_sh("dd if=/dev/zero of='%s/fill' bs=4k >/dev/null 2>&1; sync", fs);
	control = append_until_full(lg, 400, &rc);
	cr_assert_eq(rc, -ENOSPC, "a full disk took %u appends (rc %d: %s)", control, rc,
		     ledger_errmsg(lg));
	cr_assert_lt(control, 400);
	cr_assert_eq(ledger_reserve(lg, 256 << 10), -ENOSPC, "a reservation on a full disk");
	ledger_close(lg);

	/* the same with the room reserved before the disk fills */
	tl_sh("rm -f '%s/fill'", fs);
	cr_assert_eq(ledger_open(&lg, dir, 0, NULL), 0);
	cr_assert_eq(ledger_reserve(lg, 256 << 10), 0, "%s", ledger_errmsg(lg));
	cr_assert_eq(ledger_reserve(lg, 256 << 10), 0, "a second reservation of the same room");
	tl_sh("dd if=/dev/zero of='%s/fill' bs=4k >/dev/null 2>&1; sync", fs);
	reserved = append_until_full(lg, 400, &rc);
	cr_assert_eq(rc, 0, "%u appends into the reserved room, then %d: %s", reserved, rc,
		     ledger_errmsg(lg));
	cr_assert_eq(reserved, 400);
	ledger_close(lg);

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	cr_assert_eq(ledger_verify(lg, NULL), 0);
	ledger_close(lg);
	tl_sh("umount -l '%s'", fs);
	tl_rmrf(base);
	free(dir);
	free(fs);
	free(base);
}
