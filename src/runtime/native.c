/* SPDX-License-Identifier: MIT */
/* The native runtime: systemd units over sd-bus (bus.c), builds as shell commands from the
 * operator's config, run in the checkout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus.h"
#include "env.h"
#include "journal.h"
#include "out.h"
#include "releases.h"
#include "rollout.h"
#include "units.h"
#include "util.h"

#define SETTLE_POLL_NS 100000000LL /* 100 ms */
#define FAILURE_LINES 10	   /* journal lines kept of a failed unit */
#define FAILURE_DETAIL_MAX 2048	   /* bytes of them recorded in the ledger */

static const struct service *svc(const struct rollout *ro, size_t i)
{
	return rollout_service(ro, i);
}

static int native_open(struct rollout *ro)
{
	int r;

	if (ro->bus)
		return 0;
	r = bus_open(&ro->bus, ro->cfg->native.manager == MANAGER_USER);
	if (r < 0) {
		log_error("%s", bus_errmsg(ro->bus));
		bus_close(ro->bus);
		ro->bus = NULL;
		return SL_EENV;
	}
	return 0;
}

static void native_close(struct rollout *ro)
{
	bus_close(ro->bus);
	ro->bus = NULL;
}

static int native_precheck(struct rollout *ro, char *why, size_t whylen)
{
	struct unit_props p;
	int r;

	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = svc(ro, i);
		r = bus_unit_props(ro->bus, s->unit, &p);
		if (r < 0) {
			snprintf(why, whylen, "cannot read unit '%s': %s", s->unit,
				 bus_errmsg(ro->bus));
			return SL_EENV;
		}
		if (!streq(p.load_state, "loaded")) {
			snprintf(why, whylen,
				 "unit '%s' of service '%s' is %s; install it with 'shiplog units "
				 "install' (or tools/install-user-units.sh)",
				 s->unit, s->name, p.load_state[0] ? p.load_state : "not loaded");
			return SL_EREFUSED;
		}
		out_say("unit %s: loaded, %s/%s", s->unit, p.active_state, p.sub_state);
	}
	return 0;
}

/* The shared build as the operation decided it (build_decide, in its plan). */
static const struct build_decision *shared_decision(struct rollout *ro)
{
	if (!ro->shared_build_decided) {
		/* a caller that did not decide: build, which is never wrong */
		ro->shared_build.run = true;
		strlcpy_(ro->shared_build.why, "not decided by the operation: built",
			 sizeof(ro->shared_build.why));
		ro->shared_build_decided = true;
	}
	return &ro->shared_build;
}

/* Records that the shared build of the target completed in the checkout. */
static int record_build(struct rollout *ro)
{
	struct ledger_event ev = {.type = LEDGER_EV_BUILD_COMPLETED};

	ev.u.build_completed.path = rollout_workdir(ro);
	ev.u.build_completed.commit = ro->target;
	return op_append(ro->op, &ev);
}

static int run_shell(struct rollout *ro, const char *what, const char *cmd,
		     const struct strv *secrets, struct strv *dirty)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	int r = op_run_shell(ro->op, what, argv, rollout_workdir(ro), NULL, secrets);

	if (!ro->releases)
		rollout_check_tree(ro, cmd, dirty);
	return r;
}

static int build_all(struct rollout *ro, const struct strv *secrets, struct strv *dirty)
{
	const struct strv *shared = &ro->cfg->native.build;
	const struct build_decision *d = shared_decision(ro);
	int r;

	if (ro->releases && ro->release_built) {
		/* A release is built as a whole, once: every unit runs from it after the switch. */
		out_say("release %.12s is already built: nothing to build", ro->target);
		return 0;
	}
	if (ro->releases)
		out_say("new release: running its build commands in %s", rollout_workdir(ro));
	if (shared->n && !d->run) {
		out_say("skipping the shared build: %s", d->why);
	} else if (shared->n) {
		out_say("shared build: %s", d->why);
		for (size_t i = 0; i < shared->n; i++) {
			r = run_shell(ro, "build", shared->v[i], secrets, dirty);
			if (r < 0)
				return SL_EFAILED;
		}
		if (!ro->releases) {
			r = record_build(ro);
			if (r < 0)
				return r;
		}
	}
	/* a release builds every service (all of them run from it after their switch); in
	 * place, the services in scope */
	for (size_t i = 0; i < (ro->releases ? ro->cfg->nservices : ro->plan.nservices); i++) {
		const struct service *s = ro->releases ? &ro->cfg->services[i] : svc(ro, i);
		for (size_t j = 0; j < s->build.n; j++) {
			_cleanup_free_ char *what = xasprintf("build %s", s->name);
			r = run_shell(ro, what, s->build.v[j], secrets, dirty);
			if (r < 0)
				return SL_EFAILED;
		}
	}
	if (ro->releases) {
		r = releases_mark_built(ro->cfg, ro->target);
		if (r < 0)
			log_warn("cannot mark release %.12s as built: %s", ro->target,
				 strerror(-r));
	}
	return 0;
}

static int native_build(struct rollout *ro)
{
	struct strv secrets = {0}, dirty = {0};
	int r;

	/* the values of every configured environment stay out of the kept output */
	env_collect_all(ro->cfg, &secrets);
	r = build_all(ro, &secrets, &dirty);
	strv_free(&secrets);
	strv_free(&dirty);
	return r;
}

static bool unit_templates_changed(const struct rollout *ro)
{
	const char *dir = ro->cfg->native.unit_dir ? ro->cfg->native.unit_dir : "units";
	_cleanup_free_ char *prefix = xasprintf("%s/", dir);

	for (size_t i = 0; i < ro->changed.n; i++)
		if (str_startswith(ro->changed.v[i], prefix))
			return true;
	return false;
}

static bool service_env_configured(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nservices; i++)
		if (cfg->services[i].env.n || cfg->services[i].env_files.n)
			return true;
	return false;
}

static int reload_if_needed(struct rollout *ro)
{
	bool need = false;
	struct unit_props p;
	int64_t t0;
	int r;

	if (unit_templates_changed(ro)) {
		char err[512];
		bool changed = false;
		out_say("unit templates changed: installing the rendered units");
		r = units_install(ro->cfg, ro->bus, NULL, &changed, err, sizeof(err));
		if (r < 0) {
			op_fail(ro->op, "%s", err);
			log_error("%s", err);
			return SL_EFAILED;
		}
		need = need || changed;
	} else if (ro->releases) {
		/* units that still run from the single `current` link move to their own */
		char err[512];
		bool changed = false;
		r = units_install(ro->cfg, ro->bus, NULL, &changed, err, sizeof(err));
		if (r < 0)
			out_say("note: the units were not re-rendered (%s)", err);
		else if (changed)
			out_say("units now run from their own release links: reinstalled");
		need = need || changed;
	}
	if (service_env_configured(ro->cfg)) {
		/* `env =` values live in the rendered units: a changed value changes the unit */
		char err[512];
		bool changed = false;
		r = units_install(ro->cfg, ro->bus, NULL, &changed, err, sizeof(err));
		if (r < 0) {
			op_fail(ro->op, "%s", err);
			log_error("%s", err);
			return SL_EFAILED;
		}
		if (changed)
			out_say("a service's environment changed: the units were re-rendered");
		need = need || changed;
	}
	for (size_t i = 0; i < ro->plan.nservices && !need; i++)
		if (bus_unit_props(ro->bus, svc(ro, i)->unit, &p) >= 0 && p.need_daemon_reload)
			need = true;
	if (!need)
		return 0;
	{
		char *argv[] = {"systemctl", "--user", "daemon-reload", NULL};
		if (ro->cfg->native.manager == MANAGER_SYSTEM)
			argv[1] = "daemon-reload", argv[2] = NULL;
		r = op_durable(ro->op);
		if (r < 0)
			return r;
		t0 = mono_ns();
		r = bus_reload(ro->bus);
		op_record_step(ro->op, "reload", argv, "", r < 0 ? 1 : 0, mono_ns() - t0,
			       "# via sd-bus");
		if (r < 0) {
			op_fail(ro->op, "daemon-reload failed: %s", bus_errmsg(ro->bus));
			log_error("daemon-reload failed: %s", bus_errmsg(ro->bus));
			return SL_EFAILED;
		}
	}
	return 0;
}

#define LOG_TAIL_WINDOW (64 * 1024) /* bytes read from a log_dir file's end */

/* The last lines of a unit's log_dir file (no invocation there: the file's last lines), from
 * its last LOG_TAIL_WINDOW bytes, as tail(1) reads them: a log that grows for months costs
 * no more than a new one. */
static char *log_file_path(struct rollout *ro, const struct service *s)
{
	const char *dir = ro->cfg->native.log_dir;

	return dir[0] == '/' ? xasprintf("%s/%s.log", dir, s->name)
			     : xasprintf("%s/%s/%s.log", ro->cfg->target.checkout, dir, s->name);
}

static void log_file_tail(struct rollout *ro, const struct service *s, size_t max,
			  struct strv *lines)
{
	_cleanup_free_ char *path = log_file_path(ro, s);
	_cleanup_free_ char *data = xmalloc(LOG_TAIL_WINDOW + 1);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	off_t from;
	ssize_t got;
	size_t len = 0, start, n = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		strv_push_take(lines, xasprintf("(cannot read %s: %s)", path, strerror(errno)));
		return;
	}
	from = st.st_size > LOG_TAIL_WINDOW ? st.st_size - LOG_TAIL_WINDOW : 0;
	while (len < LOG_TAIL_WINDOW &&
	       (got = pread(fd, data + len, LOG_TAIL_WINDOW - len, from + (off_t)len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			strv_push_take(lines,
				       xasprintf("(cannot read %s: %s)", path, strerror(errno)));
			return;
		}
		len += (size_t)got;
	}
	data[len] = '\0';
	start = len;
	while (start > 0 && n <= max)
		if (data[--start] == '\n' && start + 1 < len)
			n++;
	if (n > max)
		start++;
	else if (from > 0) /* the window began inside a line: drop that part */
		start = len ? strcspn(data, "\n") + 1 : 0;
	for (char *l = data + start, *e; l < data + len; l = e + 1) {
		e = strchr(l, '\n');
		if (!e)
			e = data + len;
		*e = '\0';
		if (*l)
			strv_push(lines, l);
	}
}

/* Why a unit is down: its Result and exit status (sd-bus), then the last lines of this
 * invocation only (sd-journal, by invocation id and start time; or the log_dir file). Prints
 * them and returns them for the ledger, bounded. */
static char *unit_failure(struct rollout *ro, const struct service *s,
			  const struct unit_props *seen, const struct unit_props *started)
{
	struct journal_query q = {.unit = s->unit,
				  .user = ro->cfg->native.manager == MANAGER_USER,
				  .max_lines = FAILURE_LINES};
	struct strv lines = {0};
	struct unit_props p;
	struct buf b = {0};
	char exit[160], err[512];

	/* Verify passes the state it saw fail and the invocation it started: reading them again
	 * here would describe the unit's next run (Restart= has moved on by now), whose result is
	 * "success" and whose lines hide the crash. */
	if (seen) {
		p = *seen;
		bus_format_exit(&p, exit, sizeof(exit));
	} else if (bus_unit_props(ro->bus, s->unit, &p) < 0) {
		memset(&p, 0, sizeof(p));
		snprintf(exit, sizeof(exit), "cannot read unit: %s", bus_errmsg(ro->bus));
	} else {
		bus_format_exit(&p, exit, sizeof(exit));
	}
	if (started && started->invocation_id[0]) {
		memcpy(p.invocation_id, started->invocation_id, sizeof(p.invocation_id));
		p.exec_main_start_us = started->exec_main_start_us;
	}
	buf_printf(&b, "%s", exit);
	if (ro->cfg->native.log_dir) {
		log_file_tail(ro, s, FAILURE_LINES, &lines);
	} else if (journal_available(err, sizeof(err))) {
		q.invocation_id = p.invocation_id;
		q.since_us =
		    p.exec_main_start_us ? p.exec_main_start_us : (uint64_t)ro->restarted_ns / 1000;
		/* journald reads the unit's output a moment after the unit wrote it. */
		for (int i = 0; i < 5 && lines.n == 0; i++) {
			if (i)
				usleep(100000);
			if (journal_lines(&q, &lines, err, sizeof(err)) < 0) {
				strv_push_take(&lines, xasprintf("(%s)", err));
				break;
			}
		}
		if (lines.n == 0)
			strv_push(&lines, "(no journal lines in this invocation)");
	} else {
		strv_push_take(&lines, xasprintf("(%s)", err));
	}
	out_say("%s: %s; its last lines:", s->unit, exit);
	for (size_t i = 0; i < lines.n; i++)
		out_say("  | %s", lines.v[i]);
	for (size_t i = 0; i < lines.n; i++) {
		if (b.len + strlen(lines.v[i]) + 2 > FAILURE_DETAIL_MAX)
			break;
		buf_printf(&b, "\n%s", lines.v[i]);
	}
	strv_free(&lines);
	return b.data ? b.data : xstrdup(exit);
}

/* A unit that failed (or whose last run did not end in success) may have used up its start
 * limit: its next start is refused, and the refusal leaves Result as it was (exit-code), so the
 * restart's start-limit-hit retry cannot tell. Such units are reset before they are started. */
static int reset_failed_units(struct rollout *ro)
{
	char *argv[LEDGER_MAX_SERVICES + 8];
	size_t k = 0, first;
	struct unit_props p;
	int64_t t0;
	int r = 0;

	argv[k++] = "systemctl";
	if (ro->cfg->native.manager == MANAGER_USER)
		argv[k++] = "--user";
	argv[k++] = "reset-failed";
	first = k;
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = svc(ro, i);
		if (bus_unit_props(ro->bus, s->unit, &p) < 0)
			continue;
		if (!streq(p.active_state, "failed") &&
		    (!p.result[0] || streq(p.result, "success")))
			continue;
		out_say("unit %s is %s (result %s): resetting it so that it can start", s->unit,
			p.active_state, p.result);
		argv[k++] = (char *)s->unit;
	}
	argv[k] = NULL;
	if (k == first)
		return 0;
	r = op_durable(ro->op);
	if (r < 0)
		return r;
	t0 = mono_ns();
	for (size_t i = first; i < k && r >= 0; i++)
		r = bus_reset_failed(ro->bus, argv[i]);
	op_record_step(ro->op, "reset-failed", argv, "", r < 0 ? 1 : 0, mono_ns() - t0,
		       "# via sd-bus");
	if (r < 0) {
		op_fail(ro->op, "%s", bus_errmsg(ro->bus));
		log_error("%s", bus_errmsg(ro->bus));
		return SL_EFAILED;
	}
	return 0;
}

/* The systemd jobs still waited for, on the progress line: "restart: waiting for
 * app-web.service, app-api.service (4 of 6 done), timeout 8.2s left". */
struct jobs_progress {
	struct op *op;
	const char *verb; /* "restart", "stop" */
	int64_t deadline;
};

static void jobs_changed(void *arg, const struct restart_job *jobs, size_t n)
{
	const struct jobs_progress *p = arg;
	struct buf units = {0};
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		if (jobs[i].pending)
			buf_printf(&units, "%s%s", units.len ? ", " : "", jobs[i].unit);
		else
			done++;
	}
	if (units.len)
		op_waiting(p->op, "timeout", p->deadline, "%s: waiting for %s (%zu of %zu done)",
			   p->verb, units.data, done, n);
	else
		op_waiting(p->op, NULL, 0, NULL);
	buf_free(&units);
}

static int native_restart(struct rollout *ro)
{
	struct restart_job jobs[LEDGER_MAX_SERVICES] = {0};
	size_t n = ro->plan.nservices;
	char *argv[LEDGER_MAX_SERVICES + 8];
	size_t k = 0;
	int64_t t0;
	int r, failed = 0;

	r = reload_if_needed(ro);
	if (r < 0)
		return r;
	r = reset_failed_units(ro);
	if (r < 0)
		return r;
	argv[k++] = "systemctl";
	if (ro->cfg->native.manager == MANAGER_USER)
		argv[k++] = "--user";
	argv[k++] = "restart";
	for (size_t i = 0; i < n; i++) {
		jobs[i].unit = svc(ro, i)->unit;
		argv[k++] = (char *)jobs[i].unit;
	}
	argv[k] = NULL;
	out_argv(argv, "# via sd-bus, in parallel");
	r = op_durable(ro->op);
	if (r < 0)
		return r;
	t0 = mono_ns();
	ro->restarted_ns = now_ns();
	{
		struct jobs_progress jp = {ro->op, "restart",
					   t0 + ro->cfg->policy.health_timeout_ns};
		struct bus_jobs_watch w = {jobs_changed, &jp};

		r = bus_restart_units(ro->bus, jobs, n, jp.deadline, &w);
	}
	op_waiting(ro->op, NULL, 0, NULL);
	op_waited(ro->op, mono_ns() - t0);
	for (size_t i = 0; i < n; i++) {
		struct ledger_event ev = {.type = LEDGER_EV_UNIT_RESTARTED};
		char before[16], after[16], d[32], envd[65];
		const char *result = jobs[i].error < 0 ? "error" : jobs[i].result;
		bool ok = jobs[i].error >= 0 && streq(jobs[i].result, "done");
		_cleanup_free_ char *why = NULL, *said = NULL;

		snprintf(before, sizeof(before), "%u", jobs[i].pid_before);
		snprintf(after, sizeof(after), "%u", jobs[i].pid_after);
		ev.u.unit_restarted.service = svc(ro, i)->name;
		ev.u.unit_restarted.runtime = ro->runtime;
		ev.u.unit_restarted.unit = jobs[i].unit;
		ev.u.unit_restarted.result = result;
		ev.u.unit_restarted.duration_ns = jobs[i].duration_ns;
		ev.u.unit_restarted.before = before;
		ev.u.unit_restarted.after = after;
		ev.u.unit_restarted.commit = ro->target;
		env_digest(ro->cfg, svc(ro, i), envd);
		ev.u.unit_restarted.env = envd;
		if (!ok) {
			/* the ledger keeps the word; the operator gets what it means */
			if (streq(result, "deadline")) {
				char h[32];

				format_duration(ro->cfg->policy.health_timeout_ns, h, sizeof(h));
				said = xasprintf("its restart job did not finish within [policy] "
						 "health_timeout (%s): the unit is slow to stop or "
						 "start; raise health_timeout if that is expected",
						 h);
			}
			out_say("restart %s: %s%s%s", jobs[i].unit, said ? said : result,
				jobs[i].errmsg[0] ? ": " : "", jobs[i].errmsg);
			if (jobs[i].error >= 0)
				why = unit_failure(ro, svc(ro, i), NULL, NULL);
			ev.u.unit_restarted.detail = why;
		}
		op_append(ro->op, &ev);
		format_duration(jobs[i].duration_ns, d, sizeof(d));
		if (!ok) {
			failed++;
			/* the first line of why: Result and exit status */
			op_fail(ro->op, "restart of %s: %s%s%s%s%.*s%s", jobs[i].unit,
				said ? said : result, jobs[i].errmsg[0] ? ": " : "", jobs[i].errmsg,
				why ? " (" : "", why ? (int)strcspn(why, "\n") : 0, why ? why : "",
				why ? ")" : "");
		} else {
			out_say("restart %s: done in %s, pid %u -> %u%s", jobs[i].unit, d,
				jobs[i].pid_before, jobs[i].pid_after,
				jobs[i].reset_start_limit ? " (start limit was reset once)" : "");
		}
	}
	if (r == -ETIMEDOUT && !failed)
		op_fail(ro->op, "restart jobs did not finish before the deadline");
	return failed || r < 0 ? SL_EFAILED : 0;
}

/* A unit's last lines after a deploy, read here: from the one journal reader (journal.c), as
 * the failure path reads them (not the journalctl binary, which mixes in earlier runs and
 * misses a journal under $SHIPLOG_JOURNAL_DIR), or from the log_dir file (not a `tail` process
 * per unit: two forks and an exec each, on every host of a fleet). A read, so not recorded. */
static void show_log_tail(struct rollout *ro, const struct service *s, size_t max)
{
	struct strv got = {0};

	if (ro->cfg->native.log_dir) {
		log_file_tail(ro, s, max, &got);
	} else {
		struct journal_query q = {.unit = s->unit,
					  .user = ro->cfg->native.manager == MANAGER_USER,
					  .max_lines = max};
		struct unit_props p;
		char err[512];

		if (!journal_available(err, sizeof(err)))
			return;
		if (bus_unit_props(ro->bus, s->unit, &p) == 0) {
			q.invocation_id = p.invocation_id;
			q.since_us = p.exec_main_start_us;
		}
		if (journal_lines(&q, &got, err, sizeof(err)) < 0)
			strv_push_take(&got, xasprintf("(%s)", err));
	}
	if (got.n)
		out_say("%s: its last lines:", s->unit);
	for (size_t i = 0; i < got.n; i++)
		out_say("  | %s", got.v[i]);
	strv_free(&got);
}

/* Units must be active, keep their MainPID and not restart for the whole settle window. */
/* One look at a unit in the settle window against what it was at its start: true when it
 * failed (detail says how: not active, restarted, another main pid). */
static bool unit_judge(const struct unit_props *first, const struct unit_props *p, char *detail,
		       size_t n)
{
	char exit[160];

	if (!streq(p->active_state, "active")) {
		bus_format_exit(p, exit, sizeof(exit));
		snprintf(detail, n, "%s/%s (%s)", p->active_state, p->sub_state, exit);
	} else if (p->n_restarts != first->n_restarts) {
		snprintf(detail, n, "restarted %u time(s) during the settle window",
			 p->n_restarts - first->n_restarts);
	} else if (p->main_pid != first->main_pid) {
		snprintf(detail, n, "main pid changed %u -> %u during the settle window",
			 first->main_pid, p->main_pid);
	} else {
		return false;
	}
	return true;
}

/* A unit's verdict, said and recorded as its health.checked: a failed one with the state as it
 * was seen (seen, may be NULL), then why and this invocation's last lines. */
static void unit_verdict_record(struct rollout *ro, const struct service *s, bool bad,
				const char *detail, const struct unit_props *seen,
				const struct unit_props *first, uint32_t polls)
{
	_cleanup_free_ char *why = NULL;

	out_say("%s %s: %s", bad ? "FAIL" : "ok", s->unit, detail);
	if (bad) {
		_cleanup_free_ char *lines = unit_failure(ro, s, seen, first);
		const char *nl = strchr(lines, '\n');
		why = xasprintf("%s%s", detail, nl ? nl : "");
	}
	rollout_record_health(ro, s, "unit", s->unit, !bad, polls, 0, why ? why : detail);
	if (bad)
		op_fail(ro->op, "unit %s: %s", s->unit, detail);
}

struct error_scan {
	const struct config *cfg;
	char *line;
	size_t n;
	bool hit;
};

static int error_scan_line(void *ud, uint64_t t_us, int priority, const char *line)
{
	struct error_scan *e = ud;

	(void)t_us;
	if (!config_line_is_error(e->cfg, line, priority))
		return 0;
	snprintf(e->line, e->n, "%s", line);
	e->hit = true;
	return 1;
}

/* log_dir: the size of the unit's file now (0: none yet), and whether a line appended after
 * that offset (at most the last LOG_TAIL_WINDOW bytes) is an error line (the file has no
 * invocations: what was appended during the window). */
static off_t log_file_size(struct rollout *ro, const struct service *s)
{
	_cleanup_free_ char *path = log_file_path(ro, s);
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

static bool log_file_error(struct rollout *ro, const struct service *s, off_t from,
			   struct error_scan *e)
{
	_cleanup_free_ char *path = log_file_path(ro, s), *data = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t len = 0, want;
	ssize_t got;

	if (from < 0 || fd < 0 || fstat(fd, &st) < 0 || st.st_size <= from)
		return false;
	if (st.st_size - from > LOG_TAIL_WINDOW)
		from = st.st_size - LOG_TAIL_WINDOW;
	want = (size_t)(st.st_size - from);
	data = xmalloc(want + 1);
	while (len < want && (got = pread(fd, data + len, want - len, from + (off_t)len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return false;
		len += (size_t)got;
	}
	data[len] = '\0';
	for (char *l = data, *end; *l && !e->hit; l = end ? end + 1 : l + strlen(l)) {
		end = strchr(l, '\n');
		if (end)
			*end = '\0';
		(void)error_scan_line(e, 0, -1, l);
	}
	return e->hit;
}

/* The first error line ([soak] error_pattern, or journal priority err or worse) a unit logged
 * since its main process started (log_dir: appended to its file after log_from), into line;
 * false when none, or no journal to read. */
static bool unit_logged_error(struct rollout *ro, const struct service *s,
			      const struct unit_props *first, off_t log_from, char *line, size_t n)
{
	struct journal_query q = {.unit = s->unit,
				  .user = ro->cfg->native.manager == MANAGER_USER,
				  .since_us = first->exec_main_start_us};
	struct error_scan e = {ro->cfg, line, n, false};
	char err[256];

	if (ro->cfg->native.log_dir)
		return log_file_error(ro, s, log_from, &e);
	if (!first->exec_main_start_us || !journal_available(err, sizeof(err)))
		return false;
	(void)journal_scan(&q, error_scan_line, &e, err, sizeof(err));
	return e.hit;
}

struct settle {
	size_t n;
	struct unit_props first[LEDGER_MAX_SERVICES], seen[LEDGER_MAX_SERVICES];
	bool bad[LEDGER_MAX_SERVICES], have_seen[LEDGER_MAX_SERVICES];
	bool watch[LEDGER_MAX_SERVICES];    /* looked at in this window */
	off_t log_off[LEDGER_MAX_SERVICES]; /* log_dir: each file's size at the start */
	char detail[LEDGER_MAX_SERVICES][256];
	uint32_t polls;
};

/* Looks at the watched units every 100 ms until deadline; a unit that fails is bad from then
 * on. SL_EFAILED when interrupted. */
static int settle_watch(struct rollout *ro, struct settle *w, int64_t deadline)
{
	struct unit_props p;

	for (;;) {
		size_t stable = 0, watched = 0;

		w->polls++;
		for (size_t i = 0; i < w->n; i++) {
			if (w->bad[i] || !w->watch[i])
				continue;
			/* every 100 ms: a cheap look (four Gets), the whole unit only once it
			 * is not active */
			if (bus_unit_watch(ro->bus, svc(ro, i)->unit, &p) < 0) {
				snprintf(w->detail[i], sizeof(w->detail[i]), "cannot read unit: %s",
					 bus_errmsg(ro->bus));
				w->bad[i] = true;
				continue;
			}
			w->bad[i] =
			    unit_judge(&w->first[i], &p, w->detail[i], sizeof(w->detail[i]));
			if (w->bad[i] && !streq(p.active_state, "active")) {
				w->seen[i] = p;
				w->have_seen[i] = true;
			}
		}
		if (mono_ns() >= deadline)
			return 0;
		for (size_t i = 0; i < w->n; i++) {
			watched += w->watch[i];
			stable += w->watch[i] && !w->bad[i];
		}
		op_waiting(ro->op, "settle", deadline, "%zu of %zu stable", stable, watched);
		if (op_interrupted) {
			op_fail(ro->op, "interrupted during the settle window");
			return SL_EFAILED;
		}
		usleep(SETTLE_POLL_NS / 1000);
	}
}

static int verify_units(struct rollout *ro)
{
	struct settle *w = xcalloc(1, sizeof(*w));
	int64_t t0 = mono_ns(), settle = ro->cfg->policy.settle_ns;
	bool longer[LEDGER_MAX_SERVICES] = {0}, again = false;
	int failed = 0;
	char d[32], d2[32];

	w->n = ro->plan.nservices;
	for (size_t i = 0; i < w->n; i++) {
		if (bus_unit_props(ro->bus, svc(ro, i)->unit, &w->first[i]) < 0)
			memset(&w->first[i], 0, sizeof(w->first[i]));
		w->watch[i] = true;
		w->log_off[i] = ro->cfg->native.log_dir ? log_file_size(ro, svc(ro, i)) : -1;
	}
	if (settle_watch(ro, w, t0 + settle) < 0)
		goto out;
	/* A unit that stayed up but logged an error line may be on its way down: an interpreter
	 * prints its traceback and then exits, and a slow start puts the exit just past the
	 * window. Those are watched for one more settle window before they count as stable. */
	format_duration(settle, d, sizeof(d));
	for (size_t i = 0; i < w->n; i++) {
		char line[256];

		w->watch[i] = false;
		if (w->bad[i] || !unit_logged_error(ro, svc(ro, i), &w->first[i], w->log_off[i],
						    line, sizeof(line)))
			continue;
		out_say("%s stayed up but logged an error line: %s", svc(ro, i)->unit, line);
		out_say("  watching it %s more before it counts as stable", d);
		w->watch[i] = longer[i] = again = true;
	}
	if (again && settle_watch(ro, w, mono_ns() + settle) < 0)
		goto out;
	op_waiting(ro->op, NULL, 0, NULL);
	op_waited(ro->op, mono_ns() - t0);
	format_duration(2 * settle, d2, sizeof(d2));
	for (size_t i = 0; i < w->n; i++) {
		if (!w->bad[i])
			snprintf(w->detail[i], sizeof(w->detail[i]),
				 "active/running, pid %u, %u restarts, stable for %s%s",
				 w->first[i].main_pid, w->first[i].n_restarts, longer[i] ? d2 : d,
				 longer[i] ? " (watched longer: it logged an error line)" : "");
		else if (longer[i])
			strlcpy_(w->detail[i] + strlen(w->detail[i]),
				 " (within one more settle window after it logged an error line)",
				 sizeof(w->detail[i]) - strlen(w->detail[i]));
		unit_verdict_record(ro, svc(ro, i), w->bad[i], w->detail[i],
				    w->have_seen[i] ? &w->seen[i] : NULL, &w->first[i], w->polls);
		failed += w->bad[i];
		/* the reference showed the journal of each unit when not fast: after the health
		 * checks now (native_show_logs), which no longer wait for it */
	}
	if (ro->fast)
		out_say("--fast: skipped the per-unit status and log output");
	free(w);
	return failed ? SL_EFAILED : 0;
out:
	free(w);
	return SL_EFAILED;
}

static int native_stop(struct rollout *ro, const size_t *svcs, size_t n)
{
	struct restart_job jobs[LEDGER_MAX_SERVICES] = {0};
	int64_t t0 = mono_ns();
	int r, failed = 0;

	for (size_t i = 0; i < n; i++)
		jobs[i].unit = ro->cfg->services[svcs[i]].unit;
	{
		struct jobs_progress jp = {ro->op, "stop", t0 + ro->cfg->policy.health_timeout_ns};
		struct bus_jobs_watch w = {jobs_changed, &jp};

		r = bus_stop_units(ro->bus, jobs, n, jp.deadline, &w);
	}
	op_waiting(ro->op, NULL, 0, NULL);
	op_waited(ro->op, mono_ns() - t0);
	for (size_t i = 0; i < n; i++) {
		char *argv[] = {"systemctl", "--user", "stop", (char *)jobs[i].unit, NULL};
		bool ok = jobs[i].error >= 0 && streq(jobs[i].result, "done");
		op_record_step(ro->op, "stop", argv, "", ok ? 0 : 1, jobs[i].duration_ns,
			       "# via sd-bus");
		if (!ok) {
			failed++;
			op_fail(ro->op, "stop of %s: %s %s", jobs[i].unit, jobs[i].result,
				jobs[i].errmsg);
		}
	}
	return failed || r < 0 ? SL_EFAILED : 0;
}

static void native_show_logs(struct rollout *ro, const size_t *plan_idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		show_log_tail(ro, svc(ro, plan_idx[i]), 5);
}

const struct runtime_ops native_runtime_ops = {
    .name = "native",
    .open = native_open,
    .close = native_close,
    .precheck = native_precheck,
    .build = native_build,
    .restart = native_restart,
    .verify = verify_units,
    .show_logs = native_show_logs,
    .stop = native_stop,
};
