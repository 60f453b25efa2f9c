/* SPDX-License-Identifier: MIT */
/* A unit's lines in the systemd journal over sd-journal. Nothing else in shiplog includes
 * sd-journal.h. Functions return 0 or -errno; err gets the message (cause, subject, fix).
 *
 * The journal read is the local one (sd_journal_open, SD_JOURNAL_LOCAL_ONLY), or the journal
 * files under $SHIPLOG_JOURNAL_DIR when that is set (a journald namespace, a private journald as
 * tools/test.sh starts, or a copied /var/log/journal/<machine-id>). */
#ifndef SHIPLOG_JOURNAL_H
#define SHIPLOG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct journal_query {
	const char *unit;	   /* "web.service" */
	bool user;		   /* a unit of the user manager (_SYSTEMD_USER_UNIT/USER_UNIT) */
	const char *invocation_id; /* 32 hex digits, or NULL/"" for any invocation */
	uint64_t since_us;	   /* realtime µs; 0 = from the start */
	uint64_t until_us;	   /* realtime µs; 0 = to the end */
	size_t max_lines;	   /* the last N lines; 0 = every line */
};

/* Whether a journal can be read here: false when no journald ever wrote one (no
 * /run/systemd/journal/socket and no $SHIPLOG_JOURNAL_DIR); why says so. */
bool journal_available(char *why, size_t whylen);

/* The unit's lines, oldest first, as "HH:MM:SS message" (control bytes escaped), each cut at
 * 240 bytes. With an invocation id, only that invocation's lines: an entry that carries an
 * invocation id (_SYSTEMD_INVOCATION_ID, INVOCATION_ID, USER_INVOCATION_ID) must carry this
 * one; an entry without one (journald cannot read it on cgroup v1) must be at or after
 * since_us, the invocation's start. */
int journal_lines(const struct journal_query *q, struct strv *lines, char *err, size_t errlen);

/* Calls fn for each of the unit's entries from since_us to until_us (q->max_lines and
 * q->invocation_id are not used), oldest first: its realtime µs, its PRIORITY (0 emerg .. 7
 * debug; 6 when it has none) and its "HH:MM:SS message" (control bytes escaped, cut at 240
 * bytes). fn returns 0 to go on. */
int journal_scan(const struct journal_query *q,
		 int (*fn)(void *ud, uint64_t t_us, int priority, const char *line), void *ud,
		 char *err, size_t errlen);

/* Prints the unit's lines to out as "2026-12-01T15:00:00.123Z unit[pid]: message"; with follow,
 * keeps printing new lines until interrupted (*stop becomes true). */
int journal_print(const struct journal_query *q, FILE *out, bool follow, volatile const int *stop,
		  char *err, size_t errlen);

#endif
