/* SPDX-License-Identifier: MIT */
/* A sample deployment for integration tests: a bare origin, a live checkout with shiplog.conf
 * (tools/make-sample-repo.sh), its six units installed in the private user manager, and helpers
 * to push commits and to see what actually runs. */
#ifndef SHIPLOG_TEST_SAMPLE_H
#define SHIPLOG_TEST_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "testlib.h"

struct sample {
	char *dir;	/* scratch root */
	char *checkout; /* DIR/checkout */
	char *conf;	/* DIR/checkout/shiplog.conf */
	char *ledger;	/* DIR/ledger */
	char project[64];
	int port;  /* web; api = port + 1 */
	char *dev; /* a developer clone that pushes to origin */
};

/* Creates the sample, installs its units; with start, starts all six and waits for health. */
void sample_setup(struct sample *s, const char *tag, bool start);
/* Stops and removes its units, removes the scratch dir. */
void sample_teardown(struct sample *s);

/* Writes DIR/NAME.conf: the sample's shiplog.conf with local_exec = always (it lives outside
 * the checkout) and each "key = value" line of `overrides` (newline-separated) replacing the
 * line of that key, or added to `section` when the key is not there. Returns the path
 * (malloc'd). */
char *sample_alt_conf(struct sample *s, const char *name, const char *section,
		      const char *overrides);

/* Runs shiplog -c CONF with extra env (NULL-terminated list, may be NULL). */
void sample_shiplog(struct sample *s, struct tl_run *r, char *const env[], ...);

/* Starts shiplog -c CONF (NULL: the sample's) ARGS... (NULL-terminated) in the background, in
 * the checkout like sample_shiplog, with its output in DIR/NAME.log; returns its pid once the
 * log holds marker, and fails the test when it exits first or 60 s pass without it. */
pid_t sample_start_until(struct sample *s, const char *conf, const char *name, const char *marker,
			 char *const args[]);

/* The commit a link of <checkout>.releases (`current`, `current-<service>`) names ("" when there
 * is no link). */
void sample_release_link(struct sample *s, const char *name, char out[41]);

/* In the dev clone: applies a shell snippet, commits with message, pushes to origin main (or
 * branch). Returns the new commit (static buffer, 41 bytes). */
const char *sample_commit(struct sample *s, const char *branch, const char *snippet,
			  const char *message);
/* The checkout's HEAD commit. */
void sample_head(struct sample *s, char out[41]);

/* MainPID of the service's unit (0 when not running). */
unsigned sample_main_pid(struct sample *s, const char *service);
/* The number (what people name it by, 1, 2, 3 ...) of the newest of the last 50 operations whose
 * history JSON line contains needle, or 0. */
unsigned long sample_newest_op(struct sample *s, const char *needle);
/* The commit a web/api service answers on /health ("" when it does not answer). */
void sample_http_commit(struct sample *s, const char *service, char out[41]);
/* The commit in a worker's heartbeat file written after `after_unix` (waits up to 5 s). */
void sample_beat_commit(struct sample *s, const char *service, char out[41]);

/* Number of events of a type in the ledger (via `shiplog ledger export`). */
int sample_count_events(struct sample *s, const char *type);

#endif
