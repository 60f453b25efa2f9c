/* SPDX-License-Identifier: MIT */
/* Reads across a fleet: the same shiplog command run on every selected [host NAME] at once, each
 * over ssh through remote_ssh_argv() with one multiplexed connection per host (ControlMaster in
 * a private directory, reused by the next command for a short while), each with its own
 * deadline. A host that does not answer is an answer too: its error says why. */
#ifndef SHIPLOG_FLEET_READ_H
#define SHIPLOG_FLEET_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

#define FLEET_READ_TIMEOUT_NS (20LL * 1000000000LL) /* a host's answer, by default */
/* fleet_read_run holds at most this of each host's answer; a longer one is never shown cut
 * (its tail as if it were all): it is withheld, with how to read it whole. */
#define FLEET_READ_MAX_TEXT "1 MiB"

struct fleet_answer {
	const struct host *host; /* borrowed from the config */
	int exit_code;		 /* the host's shiplog's (0, 1 .. 4), or -1: no answer */
	char *out;		 /* its stdout, "" when none (malloc'd) */
	char *error;		 /* exit_code != 0: one line, why (malloc'd); else NULL */
	bool withheld;		 /* it answered more than a read holds (FLEET_READ_MAX): out is
				  * "", exit_code -1, error says so and how to read it whole */
	int64_t duration_ns;
};

/* The hosts a read names: one name (--host NAME) or, with name NULL, every host in file order.
 * Fills sel (cfg->nhosts entries) with indexes into cfg->hosts. SL_EUSAGE, said, when the config
 * has no [host] section or no host of that name. */
int fleet_read_select(const struct config *cfg, const char *name, size_t *sel, size_t *nsel);

/* Runs "shiplog WORDS..." on the hosts cfg->hosts[sel[i]], all at once, each stopped after
 * timeout_ns; answers[i] (nsel of them) gets host sel[i]'s answer, whole or withheld (an answer
 * over FLEET_READ_MAX_TEXT: see withheld). 0, or a negative code when
 * nothing could run (said). Release the answers with fleet_answers_release(). */
int fleet_read_run(const struct config *cfg, const size_t *sel, size_t nsel,
		   const struct strv *words, int64_t timeout_ns, struct fleet_answer *answers);
/* Runs "shiplog WORDS..." on cfg->hosts[host] alone, its standard output passed on to ours as it
 * comes (not captured: no size limit, for a page or an export), stopped after timeout_ns;
 * answer gets the rest (its out is ""). 0, or a negative code when nothing could run (said). */
int fleet_read_stream(const struct config *cfg, size_t host, const struct strv *words,
		      int64_t timeout_ns, struct fleet_answer *answer);
void fleet_answers_release(struct fleet_answer *answers, size_t n);

#endif
