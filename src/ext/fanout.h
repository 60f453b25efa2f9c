/* SPDX-License-Identifier: MIT */
/* Running one program per host at once: a fixed number of workers take the jobs in order, each
 * job a spawn_run() with its own deadline, its stdout captured and its stderr kept apart (a
 * JSON answer stays parseable whatever the other end says on stderr). */
#ifndef SHIPLOG_FANOUT_H
#define SHIPLOG_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "spawn.h"

struct fanout_job {
	char *const *argv;	 /* borrowed; NULL-terminated */
	const char *cwd;	 /* NULL: inherit */
	const char *stderr_path; /* the child's stderr is appended there; NULL: into the output */
};

struct fanout_result {
	int r;			 /* spawn_run()'s: 0 it ran (see res), -errno it could not start */
	struct spawn_result res; /* exit_code, duration_ns, output (stdout), timed_out */
};

/* Runs jobs[0..n) with at most `parallel` of them at once (0: all), each stopped after
 * timeout_ns (0: none; SIGTERM, then SIGKILL). results[i] is jobs[i]'s, always filled. Returns
 * 0, or -errno when no worker thread could start (then nothing ran). */
int fanout_run(const struct fanout_job *jobs, size_t n, unsigned parallel, int64_t timeout_ns,
	       struct fanout_result *results);
void fanout_results_release(struct fanout_result *results, size_t n);

#endif
