/* SPDX-License-Identifier: MIT */
/* shiplog report: the ledger as one self-contained HTML page (inline CSS and SVG, no script, no
 * external asset). Two halves: an aggregation fed the ledger's events once, in order, that keeps
 * a few bytes per operation and per phase sample (never the events), and a renderer that turns
 * the aggregate and the newest reducer state into the page. Every string from the ledger is
 * HTML-escaped on the way out. No I/O but the ledger read of report_scan(). The aggregation is
 * report.c, the page report-html.c. */
#ifndef SHIPLOG_REPORT_H
#define SHIPLOG_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <ledger/ledger.h>

#include "soak-tally.h"
#include "util.h"

#define REPORT_RECENT 60	/* operations shown in full, newest first */
#define REPORT_MAX_PHASES 8	/* phase names tracked; "total" (whole operations) is one */
#define REPORT_MAX_SOAKS 12	/* newest soak windows kept */
#define REPORT_SOAK_BINS 96	/* cells of a service's sample strip */
#define REPORT_TIMELINE_OPS 240 /* up to this many operations, one mark each; else buckets */
#define REPORT_TIMELINE_BUCKETS 160
#define REPORT_TREND_BUCKETS 40

/* One operation, compact: 100k of them are a few MB. */
struct report_op {
	uint64_t op;	 /* id: its first event's sequence */
	uint64_t number; /* 0 when the request carried none */
	int64_t started_ns, finished_ns;
	uint64_t reverts;     /* a rollback: the operation it reverts, else 0 */
	uint64_t rollback_op; /* rolled back by this operation, else 0 */
	uint8_t outcome;      /* enum ledger_outcome; NONE while open */
	bool rollback;	      /* kind "rollback" */
	uint8_t runtime;
	int32_t recent; /* slot in report.recent while it is one of the newest, else -1 */
};

/* The strings of one of the newest operations (copies; the events are gone by render time). */
struct report_recent {
	uint64_t op;
	char *ref, *commit, *actor, *error, *services, *mode;
};

/* Samples of one phase (or "total"), in time order. */
struct report_sample {
	int64_t time_ns, dur_ns;
};
struct report_phase {
	char name[LEDGER_NAME_MAX];
	struct report_sample *v;
	size_t n, cap;
	uint64_t failures;
};

/* A service's samples in a soak window (on one runtime), added up by soak-tally.h as `soak
 * report` adds them: what deploys, rollbacks and cut-overs inside the window did to it is set
 * aside, not counted as its own. The strip has at most REPORT_SOAK_BINS cells; when full,
 * neighbours merge and each cell covers twice as many samples. */
struct report_soak_service {
	char name[LEDGER_NAME_MAX];
	int runtime;				    /* LEDGER_RT_* of the samples */
	uint32_t samples, inactive, restarts, pids; /* its own */
	uint64_t peak_memory;
	char *aside; /* "compute: set aside during operation 3 (deploy): ...", NULL when none */
	uint32_t per_bin, nbins, in_bin;
	/* bit 0 sampled, bit 1 not active, bit 2 restarted, bit 3 during an operation */
	uint8_t bins[REPORT_SOAK_BINS];
};
struct report_soak {
	char *name, *services, *summary, *actor;
	uint64_t start_seq, stop_seq;	/* stop 0: still open at the end of the ledger */
	int64_t started_ns, stopped_ns; /* stopped 0: still open at the end of the ledger */
	uint32_t nsvc;
	struct report_soak_service svc[SOAK_TALLY_MAX];
};

struct report {
	int64_t since_ns; /* events before it were not fed (0: none) */
	uint64_t events;  /* fed */
	int64_t first_ns, last_ns;
	struct report_op *ops; /* in id order */
	size_t nops, capops;
	struct report_recent recent[REPORT_RECENT];
	uint32_t nrecent, recent_next; /* a ring */
	struct report_phase phases[REPORT_MAX_PHASES];
	uint32_t nphases;
	struct report_soak soaks[REPORT_MAX_SOAKS]; /* a ring too, oldest dropped */
	uint32_t nsoaks, soak_next;
	uint64_t soaks_total;
	int32_t open_soak; /* slot of the window being sampled, -1 */
};

void report_init(struct report *rp, int64_t since_ns);
void report_release(struct report *rp);

/* Whether an event of type t of operation op changes the aggregate: the caller may skip the
 * others without decoding them (a scan of the raw bytes peeks at the envelope). git.moved is
 * wanted only for a recent operation whose request did not name its commit yet. */
bool report_wants(const struct report *rp, enum ledger_event_type t, uint64_t op);
/* Feeds one event; events must come in ledger order. A soak window fed is only named: its
 * samples are added up from the ledger by report_soaks(). */
void report_feed(struct report *rp, const struct ledger_event *ev);
/* Adds up the samples of every soak window kept (soak-tally.h, as `soak report` does). 0 or a
 * ledger code. */
int report_soaks(struct ledger *lg, struct report *rp);

/* Feeds every event of lg from rp->since_ns on, in one read transaction: each envelope is
 * peeked, and only the types report_wants() are decoded; then report_soaks(). *scanned counts
 * the events, *bad the ones that did not decode (left out). 0 or a ledger code. */
int report_scan(struct ledger *lg, struct report *rp, uint64_t *scanned, uint64_t *bad);

/* The operation with id op, or NULL. Binary search. */
const struct report_op *report_find(const struct report *rp, uint64_t op);
/* Operations by outcome (NONE: still open) into out[LEDGER_OUT__COUNT]; returns how many
 * operations of kind rollback. */
uint64_t report_count(const struct report *rp, uint64_t out[LEDGER_OUT__COUNT]);
/* Successes over operations that ran to an end (refused and open ones left out), in [0, 1];
 * -1 when none ran to an end. */
double report_success_rate(const struct report *rp);
/* The q-quantile (0..1, nearest rank) of the durations of phase p between from_ns (inclusive)
 * and to_ns (exclusive); *n gets how many. -1 when none. */
int64_t report_phase_quantile(const struct report *rp, const struct report_phase *p,
			      int64_t from_ns, int64_t to_ns, double q, size_t *n);
/* The quantiles qs[0..nq) of phase p's durations in [from, to) into out[0..nq); returns how many
 * samples there were (0: out untouched). *scratch (grown with xrealloc, *scap its size) is the
 * caller's to free; one buffer serves many calls. */
size_t report_phase_quantiles(const struct report_phase *p, int64_t from, int64_t to,
			      const double *qs, size_t nq, int64_t *out, int64_t **scratch,
			      size_t *scap);

struct report_page {
	const char *project;	/* NULL: unknown */
	const char *ledger_dir; /* shown in the header */
	int64_t now_ns;		/* when it was generated */
	const char *since_text; /* the --since argument as given, NULL when none */
	uint64_t events;	/* events scanned */
};

/* Appends the whole HTML page to out. st is the newest state (the current state table and the
 * quarantined commits come from it). */
void report_write(struct buf *out, const struct report *rp, const struct ledger_state *st,
		  const struct report_page *page);

/* Appends s HTML-escaped (& < > " '); control bytes other than newline and tab become U+FFFD.
 * For text and attribute values alike. */
void report_escape(struct buf *out, const char *s);

#endif
