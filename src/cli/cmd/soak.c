/* SPDX-License-Identifier: MIT */
/* shiplog soak start|status|stop|report: sample the units of the services in scope during a soak
 * window, into the ledger (unit.observed), and report what ran and how it behaved. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "args.h"
#include "bus.h"
#include "cmd.h"
#include "config.h"
#include "json.h"
#include "out.h"
#include "plan.h"
#include "spawn.h"
#include "text.h"
#include "util.h"

static const char usage[] =
    "usage: shiplog soak start [--name NAME] [--every DURATION] [--for DURATION] [scope flags]\n"
    "       shiplog soak status | stop\n"
    "       shiplog soak report [--name NAME]\n"
    "\n"
    "A soak window watches the units of the services in scope (default: all) after a change:\n"
    "'start' records soak.started and leaves a sampler running in the background that appends\n"
    "one unit.observed event per service every --every (default 10s): active and sub state,\n"
    "restart count, main pid, memory. It stops after --for (default 1h) or at 'soak stop', and\n"
    "records soak.stopped with a summary. One soak runs at a time.\n"
    "\n"
    "'report' answers \"what exactly ran during this soak window?\" from the ledger alone: per\n"
    "service the samples, restarts during the window, main pids seen, samples not active, peak\n"
    "memory; and every operation (deploy, rollback) inside the window. The newest window, or\n"
    "the one named with --name. --json for scripts.\n"
    "\n"
    "Examples:\n"
    "  shiplog soak start --workers-only --every 5s --for 30m\n"
    "  shiplog soak report --json\n"
    "\n"
    "Exit codes: 0 ok, 2 usage (unknown service, no soak window of that name), 3 a soak\n"
    "already runs, 4 no ledger or no user manager.\n";

static char *pid_path(const struct cmd_ctx *ctx)
{
	return xasprintf("%s/soak.pid", ctx->ledger_dir);
}

static pid_t running_sampler(const struct cmd_ctx *ctx)
{
	_cleanup_free_ char *p = pid_path(ctx), *text = NULL;
	long pid;

	if (read_file(p, 64, &text, NULL) < 0)
		return 0;
	pid = strtol(text, NULL, 10);
	if (pid <= 0 || kill((pid_t)pid, 0) < 0)
		return 0;
	return (pid_t)pid;
}

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct tally {
	uint32_t samples, inactive, restarts_first, restarts_last, pids;
	uint32_t last_pid;
	uint64_t peak_memory;
};

/* The sampler: runs detached until the deadline or SIGTERM. Its own ledger handle (the parent's
 * is never used after fork). */
static int sample_loop(const char *ledger_dir, const struct config *cfg, const size_t *svcs,
		       size_t n, const char *name, int64_t every_ns, int64_t for_ns)
{
	struct ledger *lg = NULL;
	struct bus *bus = NULL;
	struct tally t[LEDGER_MAX_SERVICES] = {0};
	struct ledger_event ev;
	int64_t deadline = mono_ns() + for_ns;
	struct buf summary = {0};
	int r;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, SIG_IGN);
	r = ledger_open(&lg, ledger_dir, 0, NULL);
	if (r < 0)
		return r;
	r = bus_open(&bus, cfg->native.manager == MANAGER_USER);
	if (r < 0) {
		fprintf(stderr, "soak: %s\n", bus_errmsg(bus));
		ledger_close(lg);
		return r;
	}
	while (!stop_requested && mono_ns() < deadline) {
		for (size_t i = 0; i < n; i++) {
			const struct service *s = &cfg->services[svcs[i]];
			struct unit_props p;
			if (bus_unit_props(bus, s->unit, &p) < 0)
				continue;
			ev = (struct ledger_event){.type = LEDGER_EV_UNIT_OBSERVED,
						   .version = LEDGER_SCHEMA_VERSION,
						   .actor = actor_string()};
			ev.u.unit_observed.service = s->name;
			ev.u.unit_observed.runtime = LEDGER_RT_NATIVE;
			ev.u.unit_observed.active_state = p.active_state;
			ev.u.unit_observed.sub_state = p.sub_state;
			ev.u.unit_observed.restarts = p.n_restarts;
			ev.u.unit_observed.pid = p.main_pid;
			ev.u.unit_observed.memory_bytes =
			    p.memory_bytes == UINT64_MAX ? 0 : p.memory_bytes;
			ledger_append(lg, &ev, LEDGER_APPEND_NOSYNC, NULL);
			if (!t[i].samples++)
				t[i].restarts_first = p.n_restarts;
			t[i].restarts_last = p.n_restarts;
			t[i].inactive += !streq(p.active_state, "active");
			if (p.main_pid && p.main_pid != t[i].last_pid)
				t[i].pids++;
			t[i].last_pid = p.main_pid;
			if (p.memory_bytes != UINT64_MAX && p.memory_bytes > t[i].peak_memory)
				t[i].peak_memory = p.memory_bytes;
		}
		ledger_sync(lg);
		for (int64_t slept = 0; slept < every_ns && !stop_requested; slept += 100000000LL)
			usleep(100000);
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(&summary, "%s%s: %u samples, %u restarts, %u pids, %u not active",
			   i ? "; " : "", cfg->services[svcs[i]].name, t[i].samples,
			   t[i].restarts_last - t[i].restarts_first, t[i].pids, t[i].inactive);
	ev = (struct ledger_event){.type = LEDGER_EV_SOAK_STOPPED,
				   .version = LEDGER_SCHEMA_VERSION,
				   .actor = actor_string()};
	ev.u.soak.name = name;
	ev.u.soak.summary = summary.data ? summary.data : "";
	ledger_append(lg, &ev, 0, NULL);
	buf_free(&summary);
	bus_close(bus);
	ledger_close(lg);
	return 0;
}

struct sampler {
	const char *ledger_dir, *name;
	const struct config *cfg;
	const size_t *svcs;
	size_t n;
	int64_t every_ns, for_ns;
	char *pid_path;
};

/* The daemon (spawn_daemon): notes its pid for status and stop, then samples. */
static int sampler_main(void *arg)
{
	const struct sampler *s = arg;
	_cleanup_free_ char *text = xasprintf("%d\n", getpid());

	write_file_atomic(s->pid_path, text, strlen(text), 0600);
	return sample_loop(s->ledger_dir, s->cfg, s->svcs, s->n, s->name, s->every_ns, s->for_ns);
}

static int soak_start(struct cmd_ctx *ctx, const char *name, int64_t every_ns, int64_t for_ns,
		      struct scope_args *scope)
{
	const struct config *cfg = ctx->cfg;
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_STARTED};
	const char *names[LEDGER_MAX_SERVICES];
	struct plan plan;
	_cleanup_free_ char *log = xasprintf("%s/soak.log", ctx->ledger_dir), *pp = pid_path(ctx);
	struct sampler sampler = {.ledger_dir = ctx->ledger_dir,
				  .name = name,
				  .cfg = cfg,
				  .every_ns = every_ns,
				  .for_ns = for_ns,
				  .pid_path = pp};
	char err[512];
	int r;

	r = plan_scope(cfg, scope, LEDGER_RT_NATIVE, false, &plan, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	if (running_sampler(ctx)) {
		log_error("a soak is already running (pid %d); 'shiplog soak stop' it first",
			  (int)running_sampler(ctx));
		return SL_EREFUSED;
	}
	for (size_t i = 0; i < plan.nservices && i < LEDGER_MAX_SERVICES; i++)
		names[i] = cfg->services[plan.services[i]].name;
	ev.version = LEDGER_SCHEMA_VERSION;
	ev.actor = actor_string();
	ev.u.soak.name = name;
	ev.u.soak.services.n = (uint32_t)plan.nservices;
	ev.u.soak.services.v = names;
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0) {
		log_error("cannot record soak.started: %s", ledger_strerror(r));
		return r;
	}
	sampler.svcs = plan.services;
	sampler.n = plan.nservices;
	/* The sampler gets its own ledger handle: LMDB forbids using an inherited one. */
	ledger_close(ctx->lg);
	ctx->lg = NULL;
	fflush(NULL);
	/* the sampler outlives this command and its terminal */
	r = spawn_daemon(sampler_main, &sampler, log, NULL);
	if (r < 0) {
		log_error("cannot start the soak sampler: %s", strerror(-r));
		return SL_EENV;
	}
	for (int i = 0; i < 50 && !running_sampler(ctx); i++)
		usleep(20000);
	out_plain("soak '%s' started: sampling %zu service%s (%s) every %.1fs for %.0fs; sampler "
		  "pid %d",
		  name, plan.nservices, plan.nservices == 1 ? "" : "s", plan.scope_desc,
		  (double)every_ns / 1e9, (double)for_ns / 1e9, (int)running_sampler(ctx));
	return 0;
}

static int soak_stop(struct cmd_ctx *ctx)
{
	pid_t pid = running_sampler(ctx);

	if (!pid) {
		out_plain("no soak is running");
		return 0;
	}
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(50000);
	out_plain("soak stopped (sampler pid %d); see 'shiplog soak report'", (int)pid);
	return 0;
}

/* The newest soak window (or the one named): [start seq, stop seq or 0]. */
struct window {
	uint64_t start, stop;
	int64_t start_ns, stop_ns;
	char name[LEDGER_NAME_MAX];
	char summary[1024];
};

static int find_window(struct ledger *lg, const char *name, struct window *w)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	int r;

	memset(w, 0, sizeof(*w));
	r = ledger_iter_new(lg, LEDGER_BACKWARD, 0, &it);
	if (r < 0)
		return r;
	while ((r = ledger_iter_next(it, &ev)) == 1) {
		if (ev->type == LEDGER_EV_SOAK_STOPPED && !w->stop &&
		    (!name || streq(ev->u.soak.name, name))) {
			w->stop = ev->seq;
			w->stop_ns = ev->time_ns;
			strlcpy_(w->summary, ev->u.soak.summary, sizeof(w->summary));
		}
		if (ev->type == LEDGER_EV_SOAK_STARTED && (!name || streq(ev->u.soak.name, name))) {
			w->start = ev->seq;
			w->start_ns = ev->time_ns;
			strlcpy_(w->name, ev->u.soak.name, sizeof(w->name));
			break;
		}
	}
	ledger_iter_free(it);
	if (r < 0)
		return r;
	if (!w->start)
		return LEDGER_ENOTFOUND;
	if (w->stop && w->stop < w->start)
		w->stop = 0, w->stop_ns = 0, w->summary[0] = '\0'; /* the newest one still runs */
	return 0;
}

static int soak_report(struct cmd_ctx *ctx, const char *name, bool status_only)
{
	struct ledger_iter *it = NULL;
	const struct ledger_event *ev;
	struct window w;
	char names[LEDGER_MAX_SERVICES][LEDGER_NAME_MAX];
	struct tally t[LEDGER_MAX_SERVICES] = {0};
	struct strv ops = {0};
	size_t n = 0;
	json_t *svcs = json_array(), *opsj = json_array();
	char a[64], b[64];
	int r;

	r = find_window(ctx->lg, name, &w);
	if (r == LEDGER_ENOTFOUND) {
		log_error(
		    "no soak window%s%s%s in this ledger; start one with 'shiplog soak start'",
		    name ? " named '" : "", name ? name : "", name ? "'" : "");
		r = SL_EUSAGE;
		goto out;
	}
	if (r < 0)
		goto out;
	r = ledger_iter_new(ctx->lg, LEDGER_FORWARD, w.start, &it);
	if (r < 0)
		goto out;
	while ((r = ledger_iter_next(it, &ev)) == 1) {
		if (w.stop && ev->seq > w.stop)
			break;
		if (ev->type == LEDGER_EV_UNIT_OBSERVED) {
			size_t i;
			for (i = 0; i < n; i++)
				if (streq(names[i], ev->u.unit_observed.service))
					break;
			if (i == n && n < LEDGER_MAX_SERVICES)
				strlcpy_(names[n++], ev->u.unit_observed.service, LEDGER_NAME_MAX);
			if (i >= LEDGER_MAX_SERVICES)
				continue;
			if (!t[i].samples++)
				t[i].restarts_first = ev->u.unit_observed.restarts;
			t[i].restarts_last = ev->u.unit_observed.restarts;
			t[i].inactive += !streq(ev->u.unit_observed.active_state, "active");
			if (ev->u.unit_observed.pid && ev->u.unit_observed.pid != t[i].last_pid)
				t[i].pids++;
			t[i].last_pid = ev->u.unit_observed.pid;
			if (ev->u.unit_observed.memory_bytes > t[i].peak_memory)
				t[i].peak_memory = ev->u.unit_observed.memory_bytes;
		} else if (ev->type == LEDGER_EV_OP_REQUESTED ||
			   ev->type == LEDGER_EV_OP_FINISHED || ev->type == LEDGER_EV_OP_REFUSED ||
			   ev->type == LEDGER_EV_UNIT_RESTARTED) {
			struct buf line = {0};
			render_event_text(&line, ev);
			strv_push_take(&ops, xasprintf("#%llu %s", (unsigned long long)ev->seq,
						       line.data ? line.data : ""));
			json_array_append_new(opsj, render_event_json(ev));
			buf_free(&line);
		}
	}
	ledger_iter_free(it);
	if (r < 0)
		goto out;
	r = 0;
	format_time(w.start_ns, a, sizeof(a));
	if (w.stop_ns)
		format_time(w.stop_ns, b, sizeof(b));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    svcs, json_pack("{s:s,s:i,s:i,s:i,s:i,s:I}", "service", names[i], "samples",
				    (int)t[i].samples, "restarts",
				    (int)(t[i].restarts_last - t[i].restarts_first), "pids",
				    (int)t[i].pids, "not_active", (int)t[i].inactive,
				    "peak_memory_bytes", (json_int_t)t[i].peak_memory));
	if (out_settings.json) {
		out_json(json_pack("{s:s,s:b,s:s,s:o,s:O,s:O,s:s}", "name", w.name, "running",
				   !w.stop && running_sampler(ctx), "since", a, "until",
				   w.stop ? json_string(b) : json_null(), "services", svcs,
				   "operations", opsj, "summary", w.summary));
		goto out;
	}
	printf("soak '%s': %s -> %s%s\n", w.name, a, w.stop ? b : "now",
	       w.stop		      ? ""
	       : running_sampler(ctx) ? " (running)"
				      : " (sampler gone)");
	if (status_only) {
		for (size_t i = 0; i < n; i++)
			printf("  %-16s %u samples so far\n", names[i], t[i].samples);
		goto out;
	}
	printf("\n%-16s %8s %9s %5s %11s %12s\n", "SERVICE", "SAMPLES", "RESTARTS", "PIDS",
	       "NOT-ACTIVE", "PEAK-MEMORY");
	for (size_t i = 0; i < n; i++)
		printf("%-16s %8u %9u %5u %11u %10.1fMB\n", names[i], t[i].samples,
		       t[i].restarts_last - t[i].restarts_first, t[i].pids, t[i].inactive,
		       (double)t[i].peak_memory / 1048576.0);
	printf("\noperations during the window: %s\n", ops.n ? "" : "none");
	for (size_t i = 0; i < ops.n; i++)
		printf("  %s\n", ops.v[i]);
out:
	json_decref(svcs);
	json_decref(opsj);
	strv_free(&ops);
	return r;
}

static const struct option options[] = {
    SCOPE_OPTIONS,
    {"name", required_argument, NULL, 'n'},
    {"every", required_argument, NULL, 'e'},
    {"for", required_argument, NULL, 'f'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct scope_args scope = {0};
	const char *name = NULL, *sub;
	int64_t every = 10000000000LL, dur = 3600000000000LL;
	char err[512], defname[64];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		r = scope_args_option(&scope, opt, optarg, err, sizeof(err));
		if (r < 0) {
			r = cmd_usage_error(&cmd_soak, "%s", err);
			goto out;
		}
		if (r > 0)
			continue;
		if (opt == 'n') {
			name = optarg;
		} else if (opt == 'e' || opt == 'f') {
			int64_t *dst = opt == 'e' ? &every : &dur;
			if (parse_duration_ns(optarg, dst) < 0 || *dst <= 0) {
				r = cmd_usage_error(&cmd_soak,
						    "--%s: '%s' is not a duration (e.g. 10s, "
						    "30m)",
						    opt == 'e' ? "every" : "for", optarg);
				goto out;
			}
		} else {
			r = cmd_usage_error(&cmd_soak, "unknown option");
			goto out;
		}
	}
	if (optind >= argc) {
		r = cmd_usage_error(&cmd_soak, "say start, status, stop or report");
		goto out;
	}
	sub = argv[optind];
	if (!streq(sub, "start") && !streq(sub, "stop") && !streq(sub, "status") &&
	    !streq(sub, "report")) {
		r = cmd_usage_error(&cmd_soak, "unknown subcommand '%s'", sub);
		goto out;
	}
	if (streq(sub, "start") && !ctx->cfg) {
		r = cmd_usage_error(&cmd_soak, "'soak start' needs a shiplog.conf (-c FILE)");
		goto out;
	}
	/* Arguments first: a usage error is exit 2 and creates no ledger; only start and stop
	 * write (and create) it. */
	r = cmd_open_ledger(ctx, streq(sub, "start") || streq(sub, "stop"));
	if (r < 0)
		goto out;
	if (streq(sub, "start")) {
		if (!name) {
			char when[64];
			format_time(now_ns(), when, sizeof(when));
			snprintf(defname, sizeof(defname), "soak-%.19s", when);
			name = defname;
		}
		r = soak_start(ctx, name, every, dur, &scope);
	} else if (streq(sub, "stop")) {
		r = soak_stop(ctx);
	} else {
		r = soak_report(ctx, name, streq(sub, "status"));
	}
out:
	scope_args_release(&scope);
	return r;
}

const struct cmd_entry cmd_soak = {
    .name = "soak",
    .summary = "start|status|stop|report: watch units during a soak window",
    .usage = usage,
    .flags = CMD_CONFIG_OPTIONAL, /* the ledger: opened by run, per subcommand */
    .options = options,
    .words = "start status stop report",
    .run = run,
};
