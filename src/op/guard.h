/* SPDX-License-Identifier: MIT */
/* Guards: the checks that may refuse an operation before it changes anything. A guard is a pure
 * function of an operation's plan and the ledger state read for it; it returns a verdict, and a
 * refusing verdict is what op.refused records (its `guard` and `reason`). Each operation (deploy,
 * rollback) keeps its guards' verdicts in its plan, in the order they are checked, so that
 * --dry-run can print every one and the executor refuses with the first that refuses. */
#ifndef SHIPLOG_GUARD_H
#define SHIPLOG_GUARD_H

#include <stdbool.h>
#include <stddef.h>

enum guard_result {
	GUARD_PASS,    /* the guard lets the operation go on */
	GUARD_REFUSE,  /* it refuses: nothing may change; reason says why and the fix */
	GUARD_UNKNOWN, /* not decided from what the plan knows (e.g. the runtime was not asked,
			* or the target is only known after the fetch); the executor decides it
			* when it knows */
};

#define GUARD_REASON_MAX 1024

struct guard_verdict {
	const char *guard; /* the guard's name, as op.refused records it: "edge", "dirty-tree",
			    * "lock", "quarantine", "unit-missing", "config", "ownership", ... */
	enum guard_result result;
	char reason[GUARD_REASON_MAX]; /* why it refuses, or what it found ("clean") */
};

#define GUARD_MAX 16

/* The verdicts of one plan, in the order they are checked. */
struct guard_list {
	struct guard_verdict v[GUARD_MAX];
	size_t n;
};

/* Sets v to a verdict with a printf reason; returns v. */
struct guard_verdict *guard_set(struct guard_verdict *v, const char *guard,
				enum guard_result result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds (or replaces, when a verdict of that guard is already listed) a verdict; returns it.
 * Past GUARD_MAX the last slot is reused (a programming error, not a runtime one). */
struct guard_verdict *guard_list_set(struct guard_list *l, const char *guard,
				     enum guard_result result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The verdict of that guard, or NULL when it is not listed. */
const struct guard_verdict *guard_list_find(const struct guard_list *l, const char *guard);

/* The first refusing verdict (the one the operation refuses with), or NULL when none refuses. */
const struct guard_verdict *guard_list_refusal(const struct guard_list *l);

/* "pass", "refuse", "unknown": the words --dry-run prints and its JSON carries. */
const char *guard_result_name(enum guard_result r);

/* The verdicts as a --dry-run --json plan carries them: [{guard, verdict, reason}, ...]. */
struct json_t;
struct json_t *guard_list_json(const struct guard_list *l);

#endif
