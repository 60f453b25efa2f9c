/* SPDX-License-Identifier: MIT */
/*
 * fuzz-event: libFuzzer target for the ledger's codecs. Any input must decode to an error or to
 * an event; a decoded event that encodes must survive encode -> decode -> encode byte for byte,
 * and the reducer must take it without crashing. The same bytes go through the state codec,
 * whose round trip must give an equal state.
 *
 *   fuzz-event corpus/ ../tests/fuzz/corpus-event -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

static void event_round_trip(const struct ledger_event *ev)
{
	struct ledger_event again;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1, l2;

	/* decoding is more lenient than encoding (an empty actor, say) */
	if (ledger_event_encode(ev, &b1, &l1) != 0)
		return;
	if (ledger_event_decode(b1, l1, &again, NULL, 0) != 0)
		abort(); /* what the encoder wrote must decode */
	if (ledger_event_encode(&again, &b2, &l2) != 0 || l1 != l2 || memcmp(b1, b2, l1) != 0)
		abort(); /* and come back identical */
	ledger_event_release(&again);
	free(b1);
	free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ledger_state st, st2;
	struct ledger_event ev;
	enum ledger_event_type t;
	char err[160];
	uint8_t *buf;
	uint64_t op;
	int64_t ts;
	size_t len;

	if (ledger_event_decode(data, size, &ev, err, sizeof(err)) == 0) {
		if (!ev.actor || !ev.type_name)
			abort();
		event_round_trip(&ev);
		ledger_state_init(&st);
		ev.seq = 1;
		ledger_state_apply(&st, &ev);
		ledger_event_release(&ev);
	}
	ledger_event_peek(data, size, &t, &op, &ts);

	if (ledger_state_decode(data, size, &st) == 0) {
		if (ledger_state_encode(&st, &buf, &len) != 0)
			abort();
		if (ledger_state_decode(buf, len, &st2) != 0 || !ledger_state_equal(&st, &st2))
			abort();
		free(buf);
	}
	return 0;
}
