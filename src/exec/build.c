/* SPDX-License-Identifier: MIT */
/* The shared build's decision (see build.h): the facts it needs, read, and the decision, pure. */
#include "build.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int build_facts_read_last(struct ledger *lg, const char *path, struct build_facts *f)
{
	struct ledger_iter *it = NULL;
	const uint8_t *buf;
	size_t len;
	uint64_t seq;
	int r;

	strlcpy_(f->path, path, sizeof(f->path));
	f->base[0] = '\0';
	f->base_op = 0;
	f->base_error = 0;
	f->base_read = false;
	r = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	while (r >= 0 && (r = ledger_iter_next_raw(it, &seq, &buf, &len)) > 0) {
		enum ledger_event_type t;
		struct ledger_event ev;

		if (ledger_event_peek(buf, len, &t, NULL, NULL) < 0 ||
		    t != LEDGER_EV_BUILD_COMPLETED)
			continue;
		if (ledger_event_decode(buf, len, &ev, NULL, 0) < 0)
			continue;
		if (streq(ev.u.build_completed.path, path)) {
			strlcpy_(f->base, ev.u.build_completed.commit, sizeof(f->base));
			f->base_op = ev.op;
			view_op_name(ev.op, f->base_op_name);
			ledger_event_release(&ev);
			break;
		}
		ledger_event_release(&ev);
	}
	ledger_iter_free(it);
	if (r < 0) {
		f->base_error = r;
		return r;
	}
	f->base_read = true;
	return 0;
}

int build_facts_diff(struct repo *repo, const char *target, struct build_facts *f)
{
	int r;

	strv_free(&f->changed);
	f->diff_error[0] = '\0';
	strlcpy_(f->target, target, sizeof(f->target));
	if (!f->base[0] || !target[0] || streq(f->base, target))
		return 0;
	r = repo_changed_paths(repo, f->base, target, &f->changed);
	if (r < 0)
		strlcpy_(f->diff_error, repo_errmsg(repo), sizeof(f->diff_error));
	return r;
}

void build_facts_release(struct build_facts *f)
{
	strv_free(&f->changed);
}

static bool path_matches(const struct strv *when, const char *path)
{
	for (size_t j = 0; j < when->n; j++)
		if (fnmatch(when->v[j], path, FNM_PATHNAME) == 0 || streq(when->v[j], path))
			return true;
	return false;
}

static int why(struct build_decision *d, bool run, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int why(struct build_decision *d, bool run, const char *fmt, ...)
{
	va_list ap;

	d->run = run;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	return 0;
}

static int decide(const struct strv *when, bool force, const char *target,
		  const struct build_facts *f, struct build_decision *d)
{
	_cleanup_free_ char *list = NULL;
	const char *since = f->releases ? "release" : "the last completed build";

	if (force)
		return why(d, true, "--build forces it");
	if (!when->n)
		return why(d, true, "no build_when_changed list: always built");
	if (f->releases && !f->base[0])
		return why(d, true,
			   "a new release with no build output carried from a built release");
	if (!f->releases && f->base_error)
		return why(d, true, "the last completed build cannot be read from the ledger (%s)",
			   ledger_strerror(f->base_error));
	if (!f->releases && !f->base_read)
		return why(d, true, "no completed build is recorded (no ledger yet)");
	if (!f->releases && !f->base[0])
		return why(d, true, "no completed build of %s is recorded",
			   f->path[0] ? f->path : "this checkout");
	if (!target[0])
		return why(d, true, "the target is not known, so nothing can be compared");
	if (streq(f->base, target)) {
		if (f->releases)
			return why(d, false, "release %.12s carried is the target itself", f->base);
		return why(d, false, "%.12s was built completely by operation %s", f->base,
			   f->base_op_name);
	}
	if (!streq(f->target, target))
		return why(d, true, "the paths changed since %s %.12s were not listed for %.12s",
			   since, f->base, target);
	if (f->diff_error[0])
		return why(d, true, "cannot compare with %s %.12s: %s", since, f->base,
			   f->diff_error);
	for (size_t i = 0; i < f->changed.n; i++) {
		if (!path_matches(when, f->changed.v[i]))
			continue;
		if (f->releases)
			return why(d, true, "'%s' changed since release %.12s", f->changed.v[i],
				   f->base);
		return why(d, true,
			   "'%s' changed between the last completed build %.12s (operation %s) "
			   "and %.12s",
			   f->changed.v[i], f->base, f->base_op_name, target);
	}
	list = strv_join(when, ", ");
	if (f->releases)
		return why(d, false,
			   "none of %s changed since release %.12s, whose build output is carried",
			   list, f->base);
	return why(d, false,
		   "none of %s changed between the last completed build %.12s (operation %s) "
		   "and %.12s",
		   list, f->base, f->base_op_name, target);
}

void build_decide(const struct strv *when, bool force, const char *target,
		  const struct build_facts *f, struct build_decision *d)
{
	(void)decide(when, force, target, f, d);
}
