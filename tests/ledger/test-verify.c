/* SPDX-License-Identifier: MIT */
/* ledger_verify: passes on a generated ledger, and finds each kind of damage made behind the
 * library's back with raw LMDB: undecodable event, sequence gap, wrong snapshot, orphan
 * snapshot. Reads of damaged data fail with an error, never a crash. */
#include <criterion/criterion.h>
#include <endian.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-gen.h"
#include "ledger/ledger.h"
#include "testlib.h"

static char *dir;
static uint64_t nevents;

static void setup(void)
{
	struct ledger_options o = {.snapshot_every = 10};
	struct ledger *lg;
	struct gen g;

	dir = tl_mkdtemp("verify");
	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_CREATE, &o), 0);
	gen_init(&g, lg, 5);
	while (g.events < 300)
		gen_op(&g);
	nevents = g.events;
	ledger_close(lg);
}

static void teardown(void)
{
	tl_rmrf(dir);
	free(dir);
}

TestSuite(verify, .init = setup, .fini = teardown);

/* Runs fn on the raw environment (the ledger is closed: one env per process). */
static void tamper(const char *db, uint64_t seq, const void *val, size_t len, bool del)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t be = htobe64(seq);
	MDB_val k = {8, &be}, v = {len, (void *)val};

	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	if (del)
		cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
	else
		cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static int run_verify(struct ledger_verify_report *rep)
{
	struct ledger *lg;
	int rc;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	rc = ledger_verify(lg, rep);
	if (rc)
		cr_assert_str_eq(ledger_errmsg(lg), rep->detail);
	ledger_close(lg);
	return rc;
}

Test(verify, clean_ledger_passes)
{
	struct ledger_verify_report rep;

	cr_assert_eq(run_verify(&rep), 0, "%s", rep.detail);
	cr_assert_eq(rep.events, nevents);
	cr_assert_eq(rep.snapshots, nevents / 10);
	cr_assert_eq(rep.first_bad_seq, 0);
}

Test(verify, undecodable_event)
{
	struct ledger_verify_report rep;
	static const uint8_t junk[] = {0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0xc1};
	struct ledger *lg;
	struct ledger_state st;
	struct ledger_event ev;

	tamper("events", 123, junk, sizeof(junk), false);
	cr_assert_eq(run_verify(&rep), LEDGER_ECORRUPT);
	cr_assert_eq(rep.first_bad_seq, 123);
	cr_assert_eq(rep.events, 122);
	cr_assert(strstr(rep.detail, "123"), "%s", rep.detail);

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	cr_assert_eq(ledger_get(lg, 123, &ev), LEDGER_ECORRUPT);
	cr_assert_eq(ledger_state_at(lg, 125, &st), LEDGER_ECORRUPT, "the tail crosses it");
	cr_assert_eq(ledger_state_at(lg, 130, &st), 0, "a snapshot at 130 spares the replay");
	ledger_close(lg);
}

Test(verify, sequence_gap)
{
	struct ledger_verify_report rep;

	tamper("events", 57, NULL, 0, true);
	cr_assert_eq(run_verify(&rep), LEDGER_EGAP);
	cr_assert_eq(rep.first_bad_seq, 57);
}

Test(verify, snapshot_differs_from_replay)
{
	struct ledger_verify_report rep;
	struct ledger_state *st = malloc(sizeof(*st));
	struct ledger *lg;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(ledger_open(&lg, dir, LEDGER_OPEN_RDONLY, NULL), 0);
	cr_assert_eq(ledger_state_at(lg, 200, st), 0);
	ledger_close(lg);
	st->counters.ops++;
	cr_assert_eq(ledger_state_encode(st, &buf, &len), 0);
	tamper("snapshots", 200, buf, len, false);
	free(buf);
	cr_assert_eq(run_verify(&rep), LEDGER_EMISMATCH);
	cr_assert_eq(rep.first_bad_seq, 200);
	cr_assert_eq(rep.snapshots, 19);
	free(st);
}

Test(verify, snapshot_past_the_end)
{
	struct ledger_verify_report rep;
	struct ledger_state st;
	uint8_t *buf;
	size_t len;

	ledger_state_init(&st);
	st.seq = nevents + 5;
	cr_assert_eq(ledger_state_encode(&st, &buf, &len), 0);
	tamper("snapshots", nevents + 5, buf, len, false);
	free(buf);
	cr_assert_eq(run_verify(&rep), LEDGER_EMISMATCH);
	cr_assert_eq(rep.first_bad_seq, nevents + 5);
}
