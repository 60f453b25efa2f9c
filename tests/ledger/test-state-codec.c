/* SPDX-License-Identifier: MIT */
/* The state codec's tables: a snapshot written before the codec was table-driven (the fixture
 * state-v1.msgpack, made by the old code from fill_state() below) still loads to the same state,
 * the tables write exactly its bytes, and every field of the state takes part in the round trip
 * and in ledger_state_equal(). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "testlib.h"

/* A state with every table and field in use, deterministic: the snapshot fixture's input. */
static void fill_state(struct ledger_state *st)
{
	static const char *names[] = {"web", "api", "worker-1"};

	ledger_state_init(st);
	st->seq = 4242;
	st->time_ns = 1700000000123456789ll;
	snprintf(st->checkout_commit, sizeof(st->checkout_commit), "%040d", 7);
	snprintf(st->checkout_ref, sizeof(st->checkout_ref), "main");
	st->last_op = 4200;
	st->nservices = 3;
	for (uint32_t i = 0; i < 3; i++) {
		struct ledger_service_state *s = &st->services[i];

		snprintf(s->name, sizeof(s->name), "%s", names[i]);
		s->owner = i == 2 ? -1 : (int)i % 2;
		for (int r = 0; r < LEDGER_RT__COUNT; r++) {
			struct ledger_service_runtime *rt = &s->rt[r];

			if (i == 2 && r == 1)
				continue;
			snprintf(rt->commit, sizeof(rt->commit), "%040u", 100 + i * 10 + r);
			snprintf(rt->env, sizeof(rt->env), "%064u", 900 + i);
			rt->since_ns = 1700000000000000000ll + i * 1000 + r;
			rt->op = 4000 + i;
			rt->healthy = (i + r) % 2 == 0;
			rt->ngood = i + 1;
			for (uint32_t g = 0; g < rt->ngood; g++) {
				snprintf(rt->good[g].commit, sizeof(rt->good[g].commit), "%040u",
					 200 + g);
				rt->good[g].op = 3000 + g;
				rt->good[g].time_ns = 1690000000000000000ll + g;
			}
		}
	}
	st->inflight.op = 4200;
	snprintf(st->inflight.kind, sizeof(st->inflight.kind), "rollback");
	st->inflight.runtime = 1;
	snprintf(st->inflight.phase, sizeof(st->inflight.phase), "rollout");
	snprintf(st->inflight.actor, sizeof(st->inflight.actor), "alice@vps");
	st->inflight.pid = 31337;
	st->inflight.started_ns = 1700000000100000000ll;
	snprintf(st->inflight.commit, sizeof(st->inflight.commit), "%040d", 8);
	snprintf(st->inflight.prev_commit, sizeof(st->inflight.prev_commit), "%040d", 9);
	st->inflight.reverts = 4199;
	st->inflight.nservices = 2;
	st->inflight.services[0] = 0;
	st->inflight.services[1] = 2;
	st->inflight.verify_failed = true;
	st->parent.op = 4199;
	snprintf(st->parent.kind, sizeof(st->parent.kind), "deploy");
	snprintf(st->parent.phase, sizeof(st->parent.phase), "verify");
	st->parent.nservices = 1;
	st->parent.services[0] = 1;
	st->nquarantine = 2;
	for (uint32_t i = 0; i < 2; i++) {
		snprintf(st->quarantine[i].commit, sizeof(st->quarantine[i].commit), "%040u",
			 300 + i);
		st->quarantine[i].op = 100 + i;
		st->quarantine[i].rollback_op = 101 + i;
		st->quarantine[i].time_ns = 1695000000000000000ll + i;
		snprintf(st->quarantine[i].reason, sizeof(st->quarantine[i].reason),
			 "verify failed: web %u", i);
	}
	st->counters.events = 76000;
	st->counters.ops = 4200;
	for (int i = 0; i < LEDGER_OUT__COUNT; i++)
		st->counters.outcome[i] = 10 * i + 1;
	st->counters.unknown_events = 3;
	st->nhist = 2;
	for (uint32_t i = 0; i < 2; i++) {
		struct ledger_phase_hist *h = &st->hist[i];

		snprintf(h->phase, sizeof(h->phase), "%s", i ? "total" : "verify");
		h->count = 50 + i;
		h->failures = 2 + i;
		h->sum_ns = 123456789012ll + i;
		h->max_ns = 9876543210ll + i;
		h->buckets[3] = 7;
		h->buckets[100 + i] = 40;
		h->buckets[LEDGER_HIST_BUCKETS - 1] = 70000;
	}
}

static uint8_t *read_fixture(size_t *len)
{
	FILE *f = fopen(SHIPLOG_SOURCE_DIR "/tests/ledger/state-v1.msgpack", "rb");
	uint8_t *buf = malloc(1 << 16);

	cr_assert_not_null(f, "tests/ledger/state-v1.msgpack is missing");
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	cr_assert_gt(*len, 0);
	return buf;
}

static struct ledger_state st, back;

/* Whether every count is within its table: a state past them is not one the reducer makes. */
static bool counts_valid(const struct ledger_state *s)
{
	if (s->nservices > LEDGER_MAX_SERVICES || s->nquarantine > LEDGER_MAX_QUARANTINE ||
	    s->nhist > LEDGER_MAX_HISTS || s->inflight.nservices > LEDGER_MAX_SERVICES ||
	    s->parent.nservices > LEDGER_MAX_SERVICES || s->inflight.nfrom > LEDGER_MAX_FROM ||
	    s->parent.nfrom > LEDGER_MAX_FROM)
		return false;
	for (uint32_t i = 0; i < s->nservices; i++)
		for (int r = 0; r < LEDGER_RT__COUNT; r++)
			if (s->services[i].rt[r].ngood > LEDGER_GOOD_DEPTH)
				return false;
	return true;
}

Test(state_codec, snapshot_from_before_the_tables_loads)
{
	size_t len;
	uint8_t *old = read_fixture(&len);

	fill_state(&st);
	cr_assert_eq(ledger_state_decode(old, len, &back), 0);
	cr_assert(ledger_state_equal(&st, &back), "the old snapshot decodes to another state");
	cr_assert_eq(back.services[2].owner, -1);
	cr_assert_eq(back.hist[1].buckets[LEDGER_HIST_BUCKETS - 1], 70000);
	cr_assert_eq(back.inflight.services[1], 2);
	free(old);
}

Test(state_codec, tables_write_the_same_bytes)
{
	size_t len, n;
	uint8_t *old = read_fixture(&len), *now;

	fill_state(&st);
	cr_assert_eq(ledger_state_encode(&st, &now, &n), 0);
	cr_assert_eq(n, len, "encoded %zu bytes, the old code wrote %zu", n, len);
	cr_assert(memcmp(now, old, n) == 0, "the encoding changed");
	free(now);
	free(old);
}

/* Every field the tables know, changed one byte at a time, survives the round trip: a byte flip
 * that ledger_state_equal() sees must come back from encode and decode (a new field left out of
 * the tables would be compared by nobody, and one left out of the codec would fail here). */
Test(state_codec, every_byte_that_counts_round_trips)
{
	static struct ledger_state mod;
	uint8_t *buf;
	size_t n;
	int seen = 0;

	fill_state(&st);
	for (size_t off = 0; off < sizeof(st); off += 7) {
		mod = st;
		((uint8_t *)&mod)[off] ^= 0x01;
		if (ledger_state_equal(&st, &mod) || !counts_valid(&mod))
			continue; /* padding, a byte after a string's NUL, an unused slot */
		cr_assert_eq(ledger_state_encode(&mod, &buf, &n), 0);
		if (ledger_state_decode(buf, n, &back) == 0) {
			cr_assert(ledger_state_equal(&mod, &back),
				  "offset %zu lost in the round trip", off);
			seen++;
		}
		free(buf);
	}
	cr_assert_gt(seen, 100, "only %d changes were seen", seen);
}

Test(state_codec, hostile_values_are_corrupt)
{
	uint8_t *buf;
	size_t n;

	fill_state(&st);
	/* an in-flight service index past the table */
	st.inflight.services[0] = 5;
	cr_assert_eq(ledger_state_encode(&st, &buf, &n), 0);
	cr_assert_eq(ledger_state_decode(buf, n, &back), LEDGER_ECORRUPT);
	free(buf);
	/* an owner outside the runtimes */
	fill_state(&st);
	st.services[0].owner = 7;
	cr_assert_eq(ledger_state_encode(&st, &buf, &n), 0);
	cr_assert_eq(ledger_state_decode(buf, n, &back), LEDGER_ECORRUPT);
	free(buf);
	/* a newer schema */
	fill_state(&st);
	cr_assert_eq(ledger_state_encode(&st, &buf, &n), 0);
	cr_assert_eq(buf[3], 1, "the version is the first value");
	buf[3] = 2;
	cr_assert_eq(ledger_state_decode(buf, n, &back), LEDGER_ESCHEMA);
	free(buf);
}
