/* SPDX-License-Identifier: MIT */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#define JOURNAL_LINE_MAX 240
#define JOURNAL_SCAN_MAX 200000 /* entries looked at going back, at most */

static void close_journal(sd_journal **j)
{
	if (*j)
		sd_journal_close(*j);
}
#define _cleanup_journal_ __attribute__((cleanup(close_journal)))

bool journal_available(char *why, size_t whylen)
{
	const char *dir = getenv("SHIPLOG_JOURNAL_DIR");

	if (!str_empty(dir)) {
		if (access(dir, R_OK | X_OK) == 0)
			return true;
		snprintf(why, whylen,
			 "cannot read the journal directory '%s' ($SHIPLOG_JOURNAL_DIR): %s", dir,
			 strerror(errno));
		return false;
	}
	if (access("/run/systemd/journal/socket", F_OK) == 0 ||
	    access("/var/log/journal", F_OK) == 0)
		return true;
	snprintf(why, whylen,
		 "no systemd journal on this machine (no journald socket at "
		 "/run/systemd/journal/socket): set [runtime native] log_dir so units append their "
		 "output to files, or set SHIPLOG_JOURNAL_DIR to a journal directory");
	return false;
}

static int journal_open_matched(sd_journal **j, const struct journal_query *q, char *err,
				size_t errlen)
{
	const char *dir = getenv("SHIPLOG_JOURNAL_DIR");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *uid = NULL;
	int r;

	if (!str_empty(dir))
		r = sd_journal_open_directory(j, dir, 0);
	else
		r = sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		snprintf(err, errlen, "cannot open the journal%s%s%s: %s", dir ? " in '" : "",
			 dir ? dir : "", dir ? "'" : "", strerror(-r));
		return r;
	}
	/* As journalctl --user-unit / -u: the unit's own processes, and the manager's messages
	 * about it. */
	m1 = xasprintf("%s=%s", q->user ? "_SYSTEMD_USER_UNIT" : "_SYSTEMD_UNIT", q->unit);
	m2 = xasprintf("%s=%s", q->user ? "USER_UNIT" : "UNIT", q->unit);
	uid = xasprintf("_UID=%u", (unsigned)getuid());
	r = sd_journal_add_match(*j, m1, 0);
	if (r >= 0 && q->user)
		r = sd_journal_add_match(*j, uid, 0);
	if (r >= 0)
		r = sd_journal_add_disjunction(*j);
	if (r >= 0)
		r = sd_journal_add_match(*j, m2, 0);
	if (r >= 0 && q->user)
		r = sd_journal_add_match(*j, uid, 0);
	if (r < 0)
		snprintf(err, errlen, "cannot match unit '%s' in the journal: %s", q->unit,
			 strerror(-r));
	return r;
}

/* The value of FIELD of the current entry into out ("" when absent). */
static void entry_field(sd_journal *j, const char *field, char *out, size_t n)
{
	const void *data;
	size_t len, flen = strlen(field);

	out[0] = '\0';
	if (sd_journal_get_data(j, field, &data, &len) < 0 || len <= flen + 1)
		return;
	len -= flen + 1;
	if (len >= n)
		len = n - 1;
	memcpy(out, (const char *)data + flen + 1, len);
	out[len] = '\0';
}

/* The invocation an entry belongs to: a manager message names it in (USER_)INVOCATION_ID (its
 * _SYSTEMD_INVOCATION_ID is the manager's own); the unit's processes in _SYSTEMD_INVOCATION_ID. */
static void entry_invocation(sd_journal *j, bool user, char *out, size_t n)
{
	entry_field(j, user ? "USER_INVOCATION_ID" : "INVOCATION_ID", out, n);
	if (!out[0])
		entry_field(j, "_SYSTEMD_INVOCATION_ID", out, n);
}

/* MESSAGE with control bytes escaped and cut at max bytes. */
static void entry_message(sd_journal *j, struct buf *b, size_t max)
{
	const void *data;
	size_t len;

	if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
		return;
	for (size_t i = 8; i < len && i - 8 < max; i++) {
		unsigned char c = ((const unsigned char *)data)[i];
		if (c == '\n' && i + 1 == len)
			break;
		if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append(b, &c, 1);
	}
}

int journal_lines(const struct journal_query *q, struct strv *lines, char *err, size_t errlen)
{
	_cleanup_journal_ sd_journal *j = NULL;
	bool inv = !str_empty(q->invocation_id);
	struct strv rev = {0};
	size_t scanned = 0;
	int r;

	r = journal_open_matched(&j, q, err, errlen);
	if (r < 0)
		return r;
	r = q->until_us ? sd_journal_seek_realtime_usec(j, q->until_us + 1)
			: sd_journal_seek_tail(j);
	if (r < 0) {
		snprintf(err, errlen, "cannot seek in the journal: %s", strerror(-r));
		return r;
	}
	while (scanned++ < JOURNAL_SCAN_MAX && (r = sd_journal_previous(j)) > 0) {
		char id[64], when[32];
		uint64_t t = 0;
		struct buf b = {0};
		time_t secs;
		struct tm tm;

		if (sd_journal_get_realtime_usec(j, &t) < 0)
			continue;
		if (q->until_us && t > q->until_us)
			continue;
		if (inv) {
			entry_invocation(j, q->user, id, sizeof(id));
			if (id[0] && !streq(id, q->invocation_id)) {
				if (t < q->since_us)
					break;
				continue;
			}
			if (!id[0] && t < q->since_us)
				break;
		} else if (t < q->since_us) {
			break;
		}
		secs = (time_t)(t / 1000000);
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		buf_printf(&b, "%s ", when);
		entry_message(j, &b, JOURNAL_LINE_MAX);
		strv_push(&rev, b.data ? b.data : "");
		buf_free(&b);
		if (q->max_lines && rev.n >= q->max_lines)
			break;
	}
	for (size_t i = rev.n; i > 0; i--)
		strv_push(lines, rev.v[i - 1]);
	strv_free(&rev);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the journal: %s", strerror(-r));
		return r;
	}
	return 0;
}

int journal_scan(const struct journal_query *q,
		 int (*fn)(void *ud, uint64_t t_us, int priority, const char *line), void *ud,
		 char *err, size_t errlen)
{
	_cleanup_journal_ sd_journal *j = NULL;
	int r;

	r = journal_open_matched(&j, q, err, errlen);
	if (r < 0)
		return r;
	r = q->since_us ? sd_journal_seek_realtime_usec(j, q->since_us) : sd_journal_seek_head(j);
	if (r < 0) {
		snprintf(err, errlen, "cannot seek in the journal: %s", strerror(-r));
		return r;
	}
	while ((r = sd_journal_next(j)) > 0) {
		char prio[8], when[32];
		uint64_t t = 0;
		struct buf b = {0};
		time_t secs;
		struct tm tm;
		int p, stop;

		if (sd_journal_get_realtime_usec(j, &t) < 0 || t < q->since_us)
			continue;
		if (q->until_us && t > q->until_us)
			break;
		entry_field(j, "PRIORITY", prio, sizeof(prio));
		p = prio[0] >= '0' && prio[0] <= '7' && !prio[1] ? prio[0] - '0' : 6;
		secs = (time_t)(t / 1000000);
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		buf_printf(&b, "%s ", when);
		entry_message(j, &b, JOURNAL_LINE_MAX);
		stop = fn(ud, t, p, b.data ? b.data : "");
		buf_free(&b);
		if (stop)
			return 0;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read the journal: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int print_entry(sd_journal *j, const struct journal_query *q, FILE *out)
{
	char pid[16], ident[64], when[40];
	struct buf b = {0};
	uint64_t t = 0;

	if (sd_journal_get_realtime_usec(j, &t) < 0)
		return 0;
	if (q->until_us && t > q->until_us)
		return 1; /* past the window */
	entry_field(j, "_PID", pid, sizeof(pid));
	entry_field(j, "SYSLOG_IDENTIFIER", ident, sizeof(ident));
	format_time((int64_t)t * 1000, when, sizeof(when));
	entry_message(j, &b, SIZE_MAX);
	fprintf(out, "%s %s[%s]: %s\n", when, ident[0] ? ident : q->unit, pid[0] ? pid : "?",
		b.data ? b.data : "");
	buf_free(&b);
	return 0;
}

int journal_print(const struct journal_query *q, FILE *out, bool follow, volatile const int *stop,
		  char *err, size_t errlen)
{
	_cleanup_journal_ sd_journal *j = NULL;
	int r;

	r = journal_open_matched(&j, q, err, errlen);
	if (r < 0)
		return r;
	if (q->since_us)
		r = sd_journal_seek_realtime_usec(j, q->since_us);
	else if (q->max_lines) {
		r = sd_journal_seek_tail(j);
		if (r >= 0)
			r = sd_journal_previous_skip(j, q->max_lines + 1);
		/* Fewer entries than asked for: all of them. */
		if (r >= 0 && (size_t)r < q->max_lines + 1)
			r = sd_journal_seek_head(j);
	} else
		r = sd_journal_seek_head(j);
	if (r < 0) {
		snprintf(err, errlen, "cannot seek in the journal: %s", strerror(-r));
		return r;
	}
	for (;;) {
		while ((r = sd_journal_next(j)) > 0) {
			if (print_entry(j, q, out) > 0)
				return 0;
		}
		if (r < 0) {
			snprintf(err, errlen, "cannot read the journal: %s", strerror(-r));
			return r;
		}
		fflush(out);
		if (!follow)
			return 0;
		while (!*stop) {
			r = sd_journal_wait(j, 250000);
			if (r < 0) {
				snprintf(err, errlen, "cannot wait for the journal: %s",
					 strerror(-r));
				return r;
			}
			if (r != SD_JOURNAL_NOP)
				break;
		}
		if (*stop)
			return 0;
	}
}
