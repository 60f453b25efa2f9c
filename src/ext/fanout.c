/* SPDX-License-Identifier: MIT */
/* Threads, each running spawn_run() to completion for the next job. spawn_run() keeps no state
 * between calls and waits on its own child only (pidfd / waitpid(pid)), so runs side by side. */
#include "fanout.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "util.h"

#define FANOUT_MAX_THREADS 64

struct fanout {
	const struct fanout_job *jobs;
	struct fanout_result *results;
	size_t n, next;
	int64_t timeout_ns;
	pthread_mutex_t mu;
};

static bool fanout_take(struct fanout *f, size_t *i)
{
	bool ok;

	pthread_mutex_lock(&f->mu);
	ok = f->next < f->n;
	if (ok)
		*i = f->next++;
	pthread_mutex_unlock(&f->mu);
	return ok;
}

static void fanout_one(const struct fanout *f, size_t i)
{
	const struct fanout_job *j = &f->jobs[i];
	struct spawn_opts so = {.cwd = j->cwd,
				.capture = true,
				.stderr_path = j->stderr_path,
				.timeout_ns = f->timeout_ns};

	f->results[i].r = spawn_run(j->argv, &so, &f->results[i].res);
}

static void *fanout_worker(void *arg)
{
	struct fanout *f = arg;
	size_t i;

	while (fanout_take(f, &i))
		fanout_one(f, i);
	return NULL;
}

int fanout_run(const struct fanout_job *jobs, size_t n, unsigned parallel, int64_t timeout_ns,
	       struct fanout_result *results)
{
	struct fanout f = {.jobs = jobs, .results = results, .n = n, .timeout_ns = timeout_ns};
	pthread_t threads[FANOUT_MAX_THREADS];
	size_t nthreads = parallel && parallel < n ? parallel : n, started = 0;
	int r = 0;

	memset(results, 0, n * sizeof(*results));
	for (size_t i = 0; i < n; i++)
		results[i].res.exit_code = -1;
	if (nthreads > FANOUT_MAX_THREADS)
		nthreads = FANOUT_MAX_THREADS;
	pthread_mutex_init(&f.mu, NULL);
	for (; started < nthreads; started++) {
		r = -pthread_create(&threads[started], NULL, fanout_worker, &f);
		if (r < 0)
			break;
	}
	if (started == 0 && n > 0) {
		pthread_mutex_destroy(&f.mu);
		return r;
	}
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_destroy(&f.mu);
	return 0;
}

void fanout_results_release(struct fanout_result *results, size_t n)
{
	for (size_t i = 0; results && i < n; i++)
		spawn_result_release(&results[i].res);
}
