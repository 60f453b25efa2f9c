/* SPDX-License-Identifier: MIT */
/* Health checks: HTTP through libcurl (the only user of curl.h), TCP connects, and commands. */
#ifndef SHIPLOG_HEALTH_H
#define SHIPLOG_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct health_result {
	bool ok;
	uint32_t attempts;
	int64_t latency_ns; /* of the last attempt */
	int http_status;    /* 0 when not HTTP or no answer */
	char detail[512];   /* "HTTP 200 OK: {body excerpt}", "connect 127.0.0.1:4000: refused" */
};

/* One attempt. */
int health_check_once(const struct health_spec *h, int64_t attempt_timeout_ns, const char *cwd,
		      struct health_result *res);

/* Retries every interval_ns until ok or timeout_ns has passed since the first attempt. Returns 0
 * (look at res->ok). */
int health_check(const struct health_spec *h, int64_t timeout_ns, int64_t interval_ns,
		 const char *cwd, struct health_result *res);

/* Parses "http-get URL [STATUS]", "http-head URL", "tcp HOST:PORT", "cmd ARGV..." (config.c uses
 * it; -EINVAL with a message in err when bad). */
int health_spec_parse(const char *text, struct health_spec *out, char *err, size_t errlen);
void health_spec_release(struct health_spec *h);

#endif
