/* SPDX-License-Identifier: MIT */
/* The guard verdict list: set, replace, the first refusal, the words --dry-run prints. */
#include <criterion/criterion.h>

#include "guard.h"

Test(guard, list_keeps_order_and_replaces)
{
	struct guard_list l = {0};

	guard_list_set(&l, "edge", GUARD_PASS, "no edge role in scope");
	guard_list_set(&l, "quarantine", GUARD_UNKNOWN, "the target is known after the fetch");
	guard_list_set(&l, "dirty-tree", GUARD_REFUSE, "the checkout has local changes: %s", "a");
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(guard_list_refusal(&l)->guard, "dirty-tree");
	guard_list_set(&l, "quarantine", GUARD_REFUSE, "commit %s was rolled back", "abc");
	cr_assert_eq(l.n, 3);
	/* the first in check order refuses, whichever was set last */
	cr_assert_str_eq(guard_list_refusal(&l)->guard, "quarantine");
	cr_assert_str_eq(guard_list_find(&l, "quarantine")->reason, "commit abc was rolled back");
	cr_assert_null(guard_list_find(&l, "lock"));
}

Test(guard, no_refusal_and_names)
{
	struct guard_list l = {0};

	cr_assert_null(guard_list_refusal(&l));
	guard_list_set(&l, "edge", GUARD_PASS, "passes");
	cr_assert_null(guard_list_refusal(&l));
	cr_assert_str_eq(guard_result_name(GUARD_PASS), "pass");
	cr_assert_str_eq(guard_result_name(GUARD_REFUSE), "refuse");
	cr_assert_str_eq(guard_result_name(GUARD_UNKNOWN), "unknown");
}

Test(guard, full_list_reuses_last_slot)
{
	struct guard_list l = {0};
	static const char *const names[GUARD_MAX + 2] = {"a", "b", "c", "d", "e", "f",
							 "g", "h", "i", "j", "k", "l",
							 "m", "n", "o", "p", "q", "r"};

	for (size_t i = 0; i < GUARD_MAX + 2; i++)
		guard_list_set(&l, names[i], GUARD_PASS, "ok");
	cr_assert_eq(l.n, GUARD_MAX);
	cr_assert_str_eq(l.v[GUARD_MAX - 1].guard, "r");
}
