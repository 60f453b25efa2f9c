/* SPDX-License-Identifier: MIT */
/* The fleet executor: waves of host runs (fleet-run.c), in parallel inside a wave, recorded in
 * the controller's ledger under the fleet lock. The canary wave must succeed whole; a later
 * wave may lose up to [fleet] max_failed_hosts hosts in all. When it stops, on_failure =
 * rollback-moved rolls back the hosts this operation moved. Ctrl-C (SIGINT, SIGTERM) starts no
 * new host, not even a rollback, and waits for the running ones (their side finishes on its own
 * either way); the end records each host's outcome as fleet.finished "interrupted" and the
 * command exits 130. A fleet left at different commits is never called succeeded. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "fleet.h"
#include "lock.h"
#include "op.h"
#include "out.h"
#include "remote.h"

struct fleet_exec {
	const struct fleet_plan *p;
	struct ledger *lg;
	uint64_t op;		   /* fleet.started's sequence */
	uint64_t number;	   /* its operation number in this ledger */
	struct fleet_result *res;  /* per member (deploy, or the command of the plan) */
	struct fleet_result *undo; /* per member: the rollback of a moved host */
	char target[41];	   /* the commit the first host that succeeded went to */
	char self[PATH_MAX];	   /* this shiplog, for local hosts */
	char *control_path;	   /* the hosts' shared ssh connections (NULL: none) */
	unsigned failed;	   /* hosts whose run did not succeed */
	bool stopped;		   /* a wave failed past the threshold */
	int64_t started_mono;
	int ledger_error;
};

/* ---- the ledger --------------------------------------------------------------------------- */

static void record(struct fleet_exec *x, struct ledger_event *ev)
{
	int r;

	if (x->ledger_error)
		return;
	ev->op = x->op;
	ev->actor = actor_string();
	r = ledger_append(x->lg, ev, 0, ev->type == LEDGER_EV_FLEET_STARTED ? &x->op : NULL);
	if (r < 0) {
		x->ledger_error = r;
		log_error("cannot record %s in the ledger: %s: %s; the hosts' own ledgers keep "
			  "their part",
			  ledger_event_type_name(ev->type), ledger_strerror(r),
			  ledger_errmsg(x->lg));
	}
}

/* struct strv -> struct ledger_strv, borrowing the strings. */
static struct ledger_strv lstrv(const struct strv *s)
{
	return (struct ledger_strv){(uint32_t)s->n, (const char **)s->v};
}

static void record_started(struct fleet_exec *x, uint64_t retries)
{
	const struct fleet_plan *p = x->p;
	struct ledger_event ev = {.type = LEDGER_EV_FLEET_STARTED};
	struct strv hosts = {0}, flags = {0};
	char policy[256];

	for (size_t i = 0; i < p->flags.n; i++)
		strv_push(&flags, p->flags.v[i]);
	for (size_t i = 0; i < p->scope.n; i++)
		strv_push(&flags, p->scope.v[i]);

	for (size_t i = 0; i < p->nmembers; i++)
		if (p->members[i].wave)
			strv_push_take(&hosts, xasprintf("%s=%u", p->members[i].host->name,
							 p->members[i].wave));
	snprintf(policy, sizeof(policy),
		 "wave size %u, parallelism %u, max failed hosts %u, on failure %s", p->wave_size,
		 p->cfg->fleet.parallelism, p->cfg->fleet.max_failed_hosts,
		 fleet_on_failure_name(p->cfg->fleet.on_failure));
	ev.u.fleet_started = (struct ledger_fleet_started){.kind = p->kind,
							   .target = lstrv(&p->target),
							   .flags = lstrv(&flags),
							   .hosts = lstrv(&hosts),
							   .policy = policy,
							   .pid = (uint32_t)getpid(),
							   .retries = retries};
	record(x, &ev);
	x->number = ev.u.fleet_started.number; /* ledger_append numbered it */
	strv_free(&hosts);
	strv_free(&flags);
}

static void record_host(struct fleet_exec *x, const struct fleet_member *m,
			const struct fleet_result *r, unsigned wave)
{
	struct ledger_event ev = {.type = LEDGER_EV_FLEET_HOST};

	ev.u.fleet_host = (struct ledger_fleet_host){.host = m->host->name,
						     .wave = wave,
						     .action = r->action,
						     .host_op = r->host_op,
						     .outcome = r->outcome,
						     .commit = r->commit,
						     .prev_commit = r->prev,
						     .detail = r->detail,
						     .duration_ns = r->duration_ns};
	record(x, &ev);
}

/* ---- running hosts ------------------------------------------------------------------------ */

struct job {
	struct fleet_host_run run;
	struct strv words;
	struct fleet_result *r;
	const struct fleet_member *m;
};

/* A wave's hosts as a pool: `parallelism` workers, each taking the next host as soon as its
 * last one ended (a slow host holds one worker, not the wave), none after an interrupt. A
 * host's end is said and recorded as it comes, under mu. */
struct pool {
	struct fleet_exec *x;
	struct job *jobs;
	size_t n, next;
	unsigned wave;
	pthread_mutex_t mu;
};

static void say_result(const struct fleet_member *m, const struct fleet_result *r)
{
	char op[48] = "", d[32];

	if (r->host_op)
		snprintf(op, sizeof(op), " (its operation %llu)", (unsigned long long)r->host_op);
	format_duration(r->duration_ns, d, sizeof(d));
	out_say_tone(out_tone_outcome(r->outcome), "host %s %s: %s%s, %.12s -> %.12s in %s%s%s",
		     m->host->name, r->action, r->outcome, op, r->prev[0] ? r->prev : "?",
		     r->commit[0] ? r->commit : "?", d, r->detail[0] ? ": " : "", r->detail);
}

static bool pool_take(struct pool *pl, struct job **j)
{
	bool ok;

	pthread_mutex_lock(&pl->mu);
	ok = !op_interrupted && pl->next < pl->n;
	if (ok)
		*j = &pl->jobs[pl->next++];
	pthread_mutex_unlock(&pl->mu);
	return ok;
}

static void *pool_worker(void *arg)
{
	struct pool *pl = arg;
	struct job *j;

	while (pool_take(pl, &j)) {
		fleet_run_host(&j->run, j->r);
		pthread_mutex_lock(&pl->mu);
		say_result(j->m, j->r);
		record_host(pl->x, j->m, j->r, pl->wave);
		pthread_mutex_unlock(&pl->mu);
	}
	return NULL;
}

static void job_init(struct fleet_exec *x, const struct fleet_member *m, struct job *j)
{
	const struct config *cfg = x->p->cfg;
	const struct host *h = m->host;

	j->m = m;
	j->run = (struct fleet_host_run){
	    .host = h,
	    .words = &j->words,
	    .shiplog = h->local && str_empty(h->shiplog) ? x->self : config_host_shiplog(cfg, h),
	    .ssh_key = config_host_ssh_key(cfg, h),
	    .more_options = &cfg->target.ssh_options,
	    .control_path = x->control_path,
	    .timeout_ns = cfg->fleet.host_timeout_ns};
}

/* Runs the members at idx[0..n), at most parallelism at a time, refilling as each ends;
 * starting none after an interrupt. Each ends said and recorded. words_for fills a member's
 * words. */
static void run_members(struct fleet_exec *x, const size_t *idx, size_t n, unsigned wave,
			struct fleet_result *results, const char *action,
			void (*words_for)(struct fleet_exec *, const struct fleet_member *,
					  struct strv *))
{
	size_t nthreads = x->p->parallelism && x->p->parallelism < n ? x->p->parallelism : n;
	pthread_t *tids = xcalloc(nthreads ? nthreads : 1, sizeof(*tids));
	struct pool pl = {.x = x, .n = n, .wave = wave};
	size_t started = 0;

	pl.jobs = xcalloc(n ? n : 1, sizeof(*pl.jobs));
	for (size_t i = 0; i < n; i++) {
		const struct fleet_member *m = &x->p->members[idx[i]];

		job_init(x, m, &pl.jobs[i]);
		words_for(x, m, &pl.jobs[i].words);
		pl.jobs[i].r = &results[idx[i]];
		pl.jobs[i].r->action = action;
	}
	pthread_mutex_init(&pl.mu, NULL);
	while (started < nthreads && pthread_create(&tids[started], NULL, pool_worker, &pl) == 0)
		started++;
	if (!started)
		pool_worker(&pl); /* no thread: one at a time, here */
	for (size_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&pl.mu);
	/* a host never started (interrupted) was not run: no action */
	for (size_t i = pl.next; i < n; i++)
		pl.jobs[i].r->action = NULL;
	for (size_t i = 0; i < n; i++)
		strv_free(&pl.jobs[i].words);
	free(pl.jobs);
	free(tids);
}

/* ---- waves -------------------------------------------------------------------------------- */

static void plan_words(struct fleet_exec *x, const struct fleet_member *m, struct strv *words)
{
	fleet_member_words(x->p, m, words);
}

/* A deploy must bring every host to the same commit; a rollback takes each to its own
 * target (its last-good, or --to), so success is enough there. */
static bool reached(const struct fleet_exec *x, const struct fleet_result *r)
{
	return r->action && streq(r->outcome, "succeeded") &&
	       (streq(x->p->kind, "rollback") || !x->target[0] || streq(r->commit, x->target));
}

/* Runs wave w; true when the fleet may go on. */
static bool run_wave(struct fleet_exec *x, unsigned w)
{
	const struct fleet_plan *p = x->p;
	struct ledger_event ev = {.type = LEDGER_EV_FLEET_WAVE};
	size_t *idx = xcalloc(p->nmembers, sizeof(*idx)), n = 0;
	struct strv names = {0};
	bool canary = false, ok = true;

	for (size_t i = 0; i < p->nmembers; i++)
		if (p->members[i].wave == w) {
			idx[n++] = i;
			strv_push(&names, p->members[i].host->name);
			canary = canary || p->members[i].canary;
		}
	out_phase(canary ? "Fleet Wave (canary)" : "Fleet Wave");
	_cleanup_free_ char *list = strv_join(&names, ", ");
	out_say("wave %u of %u: %s", w, p->nwaves, list);
	ev.u.fleet_wave = (struct ledger_fleet_wave){.wave = w, .hosts = lstrv(&names)};
	record(x, &ev);
	run_members(x, idx, n, w, x->res, p->kind, plan_words);
	for (size_t i = 0; i < n; i++) {
		struct fleet_result *r = &x->res[idx[i]];

		if (streq(r->outcome, "succeeded") && !x->target[0])
			strlcpy_(x->target, r->commit, sizeof(x->target));
		if (!r->action || !reached(x, r)) {
			x->failed++;
			ok = false;
		}
	}
	strv_free(&names);
	free(idx);
	if (!ok && (canary || x->failed > p->cfg->fleet.max_failed_hosts))
		return false;
	return true;
}

/* ---- rolling back what this operation moved ------------------------------------------------ */

/* A host this operation moved: its deploy succeeded, or failed without putting itself back. */
static bool moved(const struct fleet_result *r)
{
	return r->action && (streq(r->outcome, "succeeded") || streq(r->outcome, "failed")) &&
	       r->commit[0] && !streq(r->commit, r->prev);
}

static void runtime_flag(const struct strv *flags, struct strv *words)
{
	for (size_t i = 0; i < flags->n; i++) {
		if (str_startswith(flags->v[i], "--runtime="))
			strv_push(words, flags->v[i]);
		else if (streq(flags->v[i], "--runtime") && i + 1 < flags->n)
			strv_push(words, flags->v[i]), strv_push(words, flags->v[i + 1]);
	}
}

static void undo_words(struct fleet_exec *x, const struct fleet_member *m, struct strv *words)
{
	const struct fleet_result *r = &x->res[m - x->p->members];

	strv_push(words, "--json");
	strv_push(words, "rollback");
	if (r->prev[0]) {
		strv_push(words, "--to");
		strv_push(words, r->prev);
	}
	runtime_flag(&x->p->flags, words);
	if (m->pieces.n) {
		strv_push(words, "--pieces");
		strv_push_take(words, strv_join(&m->pieces, ","));
	} else {
		for (size_t i = 0; i < x->p->scope.n; i++)
			strv_push(words, x->p->scope.v[i]);
	}
}

static bool any_rolled_back(const struct fleet_exec *x)
{
	for (size_t i = 0; i < x->p->nmembers; i++)
		if (x->res[i].action && streq(x->res[i].outcome, "rolled-back"))
			return true;
	return false;
}

/* The number of hosts it started a rollback on (0: this operation moved none). */
static size_t rollback_moved(struct fleet_exec *x)
{
	size_t *idx = xcalloc(x->p->nmembers, sizeof(*idx)), n = 0;

	for (size_t i = 0; i < x->p->nmembers; i++)
		if (moved(&x->res[i]))
			idx[n++] = i;
	if (n) {
		out_phase("Fleet Rollback");
		out_say("on failure = rollback-moved: rolling back the %zu host%s this operation "
			"moved",
			n, n == 1 ? "" : "s");
		run_members(x, idx, n, 0, x->undo, "rollback", undo_words);
	}
	free(idx);
	return n;
}

/* ---- the end ------------------------------------------------------------------------------ */

/* What member i runs now as far as known ("" unknown), and whether the run touched it. */
static const char *runs_now(const struct fleet_exec *x, size_t i, bool *touched)
{
	const struct fleet_result *r = &x->res[i], *u = &x->undo[i];

	*touched = r->action != NULL;
	if (u->action)
		return streq(u->outcome, "succeeded") ? u->commit : "";
	if (!r->action)
		return "";
	if (streq(r->outcome, "succeeded"))
		return r->commit;
	if (streq(r->outcome, "rolled-back") || streq(r->outcome, "refused") ||
	    streq(r->outcome, "unreachable"))
		return r->prev;
	return "";
}

static const char *fleet_outcome(size_t nfailed, bool undone)
{
	if (!nfailed)
		return "succeeded";
	if (op_interrupted)
		return "interrupted";
	return undone ? "rolled-back" : "failed";
}

/* The commit a retry pinned the target to (--pin), or NULL. */
static const char *plan_pin(const struct fleet_plan *p)
{
	for (size_t i = 0; i < p->flags.n; i++) {
		if (streq(p->flags.v[i], "--pin") && i + 1 < p->flags.n)
			return p->flags.v[i + 1];
		if (str_startswith(p->flags.v[i], "--pin="))
			return p->flags.v[i] + strlen("--pin=");
	}
	return NULL;
}

/* Whether a host of a retry refused because the ref moved past the pin. */
static bool pin_moved(const struct fleet_exec *x)
{
	bool moved = false;

	for (size_t i = 0; plan_pin(x->p) && i < x->p->nmembers; i++) {
		const struct fleet_result *r = &x->res[i];
		moved = moved || (r->action && streq(r->outcome, "refused") &&
				  strstr(r->detail, DEPLOY_PIN_MOVED));
	}
	return moved;
}

/* The ref moved past the pin: say so, and what to run. */
static void say_pin_moved(const struct fleet_exec *x, const struct strv *failed)
{
	const char *pin = plan_pin(x->p);
	_cleanup_free_ char *target = strv_join(&x->p->target, " ");
	_cleanup_free_ char *hosts = strv_join(failed, ",");
	log_tone(OUT_TONE_REFUSED,
		 "'%s' moved since the fleet deploy this retries took it to %.12s: the hosts "
		 "that refused did not move. To deploy its new head to the whole fleet, run "
		 "'shiplog deploy %s --all-hosts'; to bring %s to %.12s all the same (detached "
		 "there), run 'shiplog deploy %s --hosts %s'",
		 target, pin, target, hosts, pin, pin, hosts);
}

static int finish(struct fleet_exec *x, bool undone)
{
	const struct fleet_plan *p = x->p;
	struct ledger_event ev = {.type = LEDGER_EV_FLEET_FINISHED};
	struct strv runs = {0}, failed = {0};
	const char *outcome;
	char err[256] = "";
	int r;

	out_phase("Fleet Result");
	for (size_t i = 0; i < p->nmembers; i++) {
		bool touched;
		const char *now = runs_now(x, i, &touched);

		if (!p->members[i].wave)
			continue;
		if (touched)
			strv_push_take(&runs, xasprintf("%s=%s", p->members[i].host->name,
							now[0] ? now : "?"));
		bool ok =
		    touched && now[0] &&
		    (streq(p->kind, "rollback") ? reached(x, &x->res[i]) : streq(now, x->target));

		if (!ok)
			strv_push(&failed, p->members[i].host->name);
		out_say("%-16s %s", p->members[i].host->name,
			!touched ? "not started"
			: ok	 ? "at the target"
			: now[0] ? "runs another commit"
				 : "unknown: see 'shiplog history' on the host");
		if (touched && now[0])
			out_say("%-16s   runs %.12s", "", now);
	}
	outcome = fleet_outcome(failed.n, undone);
	if (failed.n) {
		_cleanup_free_ char *list = strv_join(&failed, ", ");
		snprintf(err, sizeof(err), "%zu host%s not at the target: %s", failed.n,
			 failed.n == 1 ? "" : "s", list);
	}
	ev.u.fleet_finished =
	    (struct ledger_fleet_finished){.outcome = outcome,
					   .commit = x->target,
					   .runs = lstrv(&runs),
					   .failed = lstrv(&failed),
					   .error = err,
					   .duration_ns = mono_ns() - x->started_mono};
	record(x, &ev);
	if (failed.n) {
		bool moved = pin_moved(x);

		/* after a moved pin, another --retry-failed would only be refused again */
		log_tone(OUT_TONE_FAIL, "fleet %s %s (fleet operation %llu, seq:%llu): %s%s",
			 p->kind, outcome, (unsigned long long)x->number, (unsigned long long)x->op,
			 err, moved ? "" : "; 'shiplog deploy --retry-failed' converges them");
		if (moved)
			say_pin_moved(x, &failed);
	}
	if (!failed.n)
		out_say_tone(OUT_TONE_OK,
			     "fleet %s succeeded (fleet operation %llu, seq:%llu): %zu host%s "
			     "at %.12s",
			     p->kind, (unsigned long long)x->number, (unsigned long long)x->op,
			     runs.n, runs.n == 1 ? "" : "s", x->target);
	r = failed.n || x->ledger_error ? SL_EFAILED : 0;
	if (op_interrupted && (failed.n || !x->ledger_error)) {
		/* as a deploy verified before the signal: succeeded, and exit 130 says a signal
		 * came (a script must not read 0 after its ^C) */
		if (!failed.n)
			log_warn(
			    "the signal came while the last hosts deployed: they finished and "
			    "every host reached the target, so the fleet %s succeeded; exit 130 "
			    "says a signal came",
			    p->kind);
		r = SL_EINTERRUPTED;
	}
	strv_free(&runs);
	strv_free(&failed);
	return r;
}

/* Under the fleet lock, so no controller runs it: the newest fleet operation has no end when
 * its controller was lost (SIGKILL, a closed laptop). It is closed here as interrupted, as a
 * host closes a dead operation; its failed hosts are those it recorded no success for (one may
 * have finished on its own after the controller died: the hosts' ledgers, which status
 * --all-hosts reads, say what each runs). */
static void close_lost(struct fleet_exec *x)
{
	struct fleet_view v;
	struct ledger_event ev = {.type = LEDGER_EV_FLEET_FINISHED};
	struct strv failed = {0}, runs = {0};
	int r;

	if (fleet_open_read(x->lg, &v) < 0)
		return;
	for (size_t j = 0; j < v.planned.n; j++) {
		const char *h = v.planned.v[j];
		bool ok = false;

		for (size_t i = 0; i < v.nhosts; i++)
			if (streq(v.hosts[i].host, h) && streq(v.hosts[i].action, v.kind)) {
				ok = streq(v.hosts[i].outcome, "succeeded");
				strv_push_take(
				    &runs,
				    xasprintf("%s=%s", h,
					      v.hosts[i].commit[0] ? v.hosts[i].commit : "?"));
			}
		if (!ok)
			strv_push(&failed, h);
	}
	ev.op = v.op;
	ev.actor = actor_string();
	ev.u.fleet_finished =
	    (struct ledger_fleet_finished){.outcome = "interrupted",
					   .commit = "",
					   .runs = lstrv(&runs),
					   .failed = lstrv(&failed),
					   .error = "its controller was lost before "
						    "it ended; closed by the "
						    "next fleet operation"};
	r = ledger_append(x->lg, &ev, 0, NULL);
	if (r < 0)
		log_error("cannot close fleet operation %llu in the ledger: %s",
			  (unsigned long long)v.number, ledger_strerror(r));
	else {
		_cleanup_free_ char *list = strv_join(&failed, ", ");

		log_warn("fleet operation %llu (seq:%llu) had no end: its controller was lost; "
			 "recorded as interrupted%s%s ('shiplog status --all-hosts' says what each "
			 "host runs)",
			 (unsigned long long)v.number, (unsigned long long)v.op,
			 failed.n ? "; no result recorded for " : "", list);
	}
	strv_free(&failed);
	strv_free(&runs);
	fleet_view_release(&v);
}

/* [fleet] pause between waves, cut short by an interrupt. */
static void pause_between(int64_t ns)
{
	int64_t end = mono_ns() + ns;

	while (!op_interrupted && mono_ns() < end) {
		int64_t left = end - mono_ns(), step = left < 100000000 ? left : 100000000;
		struct timespec ts = {.tv_sec = step / 1000000000, .tv_nsec = step % 1000000000};
		nanosleep(&ts, NULL);
	}
}

static int fleet_lock(const char *ledger_dir, struct deploy_lock *lock)
{
	struct lock_holder holder;
	char who[512];
	int r = lock_acquire_file(ledger_dir, FLEET_LOCK_FILE, 0, lock, &holder);

	if (r == SL_EREFUSED) {
		lock_holder_describe(&holder, who, sizeof(who));
		log_error("refusing: another fleet operation holds the fleet lock: %s; wait for it "
			  "to end (a dead holder's lock is dropped by the kernel)",
			  who);
	} else if (r < 0) {
		log_error("cannot take the fleet lock in '%s': %s", ledger_dir, strerror(-r));
		r = SL_EENV;
	}
	return r;
}

int fleet_execute_retry(const struct fleet_plan *p, struct ledger *lg, const char *ledger_dir,
			uint64_t retries)
{
	struct fleet_exec x = {.p = p, .lg = lg, .started_mono = mono_ns()};
	struct deploy_lock lock = {.fd = -1};
	bool undone = false;
	ssize_t n;
	int r;

	r = fleet_lock(ledger_dir, &lock);
	if (r < 0)
		return r;
	n = readlink("/proc/self/exe", x.self, sizeof(x.self) - 1);
	strlcpy_(x.self, n > 0 ? x.self : "shiplog", sizeof(x.self));
	/* One connection per host, shared with the fleet reads: a rollback of the moved hosts,
	 * a --retry-failed or a status --all-hosts within a minute skips the key exchange (on
	 * both ends, the largest CPU cost of a host's run that is not the deploy's own). */
	x.control_path = remote_control_path();
	if (plan_pin(p)) /* a retry: the target is the commit it is pinned to */
		strlcpy_(x.target, plan_pin(p), sizeof(x.target));
	x.res = xcalloc(p->nmembers, sizeof(*x.res));
	x.undo = xcalloc(p->nmembers, sizeof(*x.undo));
	op_catch_signals();
	close_lost(&x);
	record_started(&x, retries);
	lock_set_op(&lock, x.op, x.number);
	out_say("Fleet operation %llu started (seq:%llu); 'shiplog show %llu' lists it",
		(unsigned long long)x.number, (unsigned long long)x.op,
		(unsigned long long)x.number);
	for (unsigned w = 1; w <= p->nwaves && !x.stopped && !op_interrupted; w++) {
		x.stopped = !run_wave(&x, w);
		if (!x.stopped && w < p->nwaves && p->cfg->fleet.pause_ns > 0 && !op_interrupted) {
			out_say("pausing before the next wave");
			pause_between(p->cfg->fleet.pause_ns);
		}
	}
	if (op_interrupted)
		log_warn("interrupted: no further host was started; the running ones finished");
	if (x.stopped && streq(p->kind, "deploy") &&
	    p->cfg->fleet.on_failure == FLEET_ON_FAILURE_ROLLBACK_MOVED && !op_interrupted) {
		/* "rolled-back" only when something was put back: by us, or by a host's own
		 * policy (a failed canary); hosts that were never reached are just "failed" */
		undone = rollback_moved(&x) > 0 || any_rolled_back(&x);
	}
	r = finish(&x, undone);
	free(x.res);
	free(x.undo);
	free(x.control_path);
	lock_release(&lock);
	return r;
}

int fleet_execute(const struct fleet_plan *p, struct ledger *lg, const char *ledger_dir)
{
	return fleet_execute_retry(p, lg, ledger_dir, 0);
}
