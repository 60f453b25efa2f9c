/* SPDX-License-Identifier: MIT */
/* Health checks: HTTP through libcurl (the only user of curl.h), TCP connects, and commands. */
#ifndef SHIPLOG_HEALTH_H
#define SHIPLOG_HEALTH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct health_result {
	bool ok;
	uint32_t attempts;
	int64_t latency_ns; /* of the last attempt */
	int http_status;    /* 0 when not HTTP or no answer */
	char detail[512];   /* "HTTP 200 OK: {body excerpt}", "connect 127.0.0.1:4000: refused" */
	bool cut_short;	    /* stopped before it passed or ran out of time (health_check_all) */
};

/* One attempt. */
int health_check_once(const struct health_spec *h, int64_t attempt_timeout_ns, const char *cwd,
		      struct health_result *res);

/* Retries every interval_ns until ok or timeout_ns has passed since the first attempt. Returns 0
 * (look at res->ok). */
int health_check(const struct health_spec *h, int64_t timeout_ns, int64_t interval_ns,
		 const char *cwd, struct health_result *res);

/* A check run side by side with others by health_check_all(). */
struct health_job {
	const struct health_spec *spec;
	struct health_result res;
	int rc;		  /* what health_check would return */
	int64_t ended_ns; /* monotonic time it ended */
};

/* Runs the jobs' checks concurrently (a thread each), each with health_check's retries against
 * one deadline timeout_ns from now. The first job that fails for good (its time is up, or its
 * spec cannot run) ends the others at once: a wait between attempts or a TCP connect stops
 * within 50 ms, a command gets SIGTERM with its process group, an HTTP request in flight is
 * aborted within a second; they are marked res.cut_short, not ok, with the detail of their last
 * finished attempt. So is every job still running when *stop (may be NULL) becomes non-zero.
 * Returns when every job has ended: 0. */
int health_check_all(struct health_job *jobs, size_t n, int64_t timeout_ns, int64_t interval_ns,
		     const char *cwd, volatile sig_atomic_t *stop);

#endif
