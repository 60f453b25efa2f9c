/* SPDX-License-Identifier: MIT */
/* shiplog soak start|status|stop|report: sample the services in scope during a soak window, into
 * the ledger (unit.observed), and report what ran, how it behaved and its verdict. The sampler,
 * the windows and the report are in op/soak-*.c; this is the command and where the sampler
 * runs: a transient systemd unit, or without a manager a detached supervised process. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "soak.h"
#include "spawn.h"
#include "util.h"
#include "view.h"

static const char usage[] =
    "usage: shiplog soak start [--name NAME] [--every DURATION] [--for DURATION]\n"
    "                          [--runtime native|docker] [scope flags]\n"
    "       shiplog soak status | stop\n"
    "       shiplog soak report [--name NAME] [--json]\n"
    "\n"
    "A soak window watches the services in scope (default: all) after a change, on the runtime\n"
    "that runs each (the ledger's owner, else native; --runtime for all): 'start' records\n"
    "soak.started and starts the sampler as a transient systemd unit of the manager\n"
    "(shiplog-soak-PROJECT-HASH.service, restarted if it fails, independent of this terminal)\n"
    "that appends one unit.observed event per service every --every (default [soak] every,\n"
    "10s): for a unit its active and sub state, restart count, main pid and memory (sd-bus);\n"
    "for a container its state, restart count, health, pid, id (docker inspect) and memory\n"
    "(docker stats). It stops after --for (default [soak] duration, 1h) or at 'soak stop', and\n"
    "records soak.stopped with a summary. One soak runs at a time. ('soak sample ...' is what\n"
    "the sampler runs.) When a service's owner changes in the window (a cut-over, or a\n"
    "'rollback --to' that moves it), the sampler samples the new owner from then on, and the\n"
    "report shows the service's samples per runtime: a row, logs and verdict for each part\n"
    "(the service passes when both do). With --runtime every service stays on that runtime.\n"
    "\n"
    "Without a reachable user manager (a docker-only host), a soak of containers alone runs\n"
    "its sampler as a detached process instead, supervised by a small process of its own that\n"
    "restarts it after a failure (1s later, at most 5 times) until --for; its pid is in\n"
    "LEDGER/soak.pid, its output in LEDGER/soak.log, and soak.started says so. A soak that\n"
    "samples native units needs the manager and is refused with the fix.\n"
    "\n"
    "'report' answers \"what exactly ran during this soak window?\" from the ledger alone: per\n"
    "service the samples, restarts during the window, main pids seen, samples not active, peak\n"
    "memory; every operation (deploy, rollback) inside the window; what each service logged\n"
    "(the journal or docker logs) with its error lines; the comparison with the same\n"
    "service's previous window on the other runtime (restarts/h, errors/h, peak memory); and\n"
    "the verdict per service and overall against [soak]'s thresholds, recorded once as\n"
    "soak.verdict when the window is closed. The newest window, or the one named with --name.\n"
    "--json for scripts. 'status' is the window and its sample counts.\n"
    "\n"
    "A deploy, rollback or cut-over in the window does not count against the services it\n"
    "touched: their samples inside its span (op.requested to its op.finished), and the\n"
    "restarts and new pids first seen after it, are set aside and shown apart (\"set aside\n"
    "during operation 3 (deploy): ...\", also a line of the verdict's reasons). An operation\n"
    "that never ended (killed) has its span cut at its last event, and the report says so.\n"
    "\n"
    "Examples:\n"
    "  shiplog soak start --workers-only --every 5s --for 30m\n"
    "  shiplog soak report || exit 1          # a script stops at a FAIL verdict\n"
    "  shiplog soak report --json\n"
    "\n"
    "Exit codes: 0 ok (report: the verdict is pass, or there is none without a config);\n"
    "1 report: the verdict is FAIL (of an open window: so far); 2 usage (unknown service,\n"
    "no soak window of that name); 3 a soak already runs; 4 no user manager for a soak of\n"
    "native units; 5 status, report: no ledger (nothing deployed yet).\n";

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static char *pid_path(const struct cmd_ctx *ctx)
{
	return xasprintf("%s/soak.pid", ctx->ledger_dir);
}

/* A detached sampler's supervisor that still runs: its pid from <ledger>/soak.pid, when that
 * process is a shiplog soak (not a pid used again since). 0 when none runs. */
static pid_t sampler_pid(const struct cmd_ctx *ctx)
{
	_cleanup_free_ char *p = pid_path(ctx), *text = NULL, *cmdline = NULL, *proc = NULL;
	size_t len = 0;
	long pid;

	if (read_file(p, 64, &text, NULL) < 0)
		return 0;
	pid = strtol(text, NULL, 10);
	if (pid <= 0 || kill((pid_t)pid, 0) < 0)
		return 0;
	proc = xasprintf("/proc/%ld/cmdline", pid);
	if (read_file(proc, 65536, &cmdline, &len) == 0 && !memmem(cmdline, len, "soak", 5))
		return 0;
	return (pid_t)pid;
}

/* The sampler's unit: one per ledger, named by the project and the ledger's path. */
static char *sampler_unit_name(const struct config *cfg, const char *ledger_dir)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)ledger_dir; *p; p++)
		h = (h ^ *p) * 16777619u;
	return xasprintf("shiplog-soak-%s-%08x.service", cfg->project ? cfg->project : "x", h);
}

static bool manager_is_user(const struct cmd_ctx *ctx)
{
	return !ctx->cfg || ctx->cfg->native.manager == MANAGER_USER;
}

/* Whether the sampler unit runs (activating counts: it may be between two restarts). */
static bool unit_running(const struct cmd_ctx *ctx, const char *unit)
{
	struct bus *bus = NULL;
	struct unit_props p;
	bool running = false;

	if (str_empty(unit) || bus_open(&bus, manager_is_user(ctx)) < 0)
		return false;
	if (bus_unit_props(bus, unit, &p) == 0)
		running = streq(p.active_state, "active") || streq(p.active_state, "activating") ||
			  streq(p.active_state, "reloading");
	bus_close(bus);
	return running;
}

static bool u64_arg(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*end && !errno;
}

/* `soak sample`: what the sampler runs, until the deadline or SIGTERM (soak stop). A restart
 * after a crash goes on to the same deadline. */
static int soak_sample(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct config *cfg = ctx->cfg;
	struct soak_sampled sv[LEDGER_MAX_SERVICES];
	uint64_t every, deadline;
	size_t n = 0;

	bool follow = true;
	int first = 3;

	if (argc < 4 || !cfg)
		return cmd_usage_error(&cmd_soak, "soak sample NAME EVERY-NS DEADLINE-NS "
						  "[follow|fixed] SERVICE=RUNTIME...: the "
						  "sampler's command");
	if (!u64_arg(argv[1], &every) || !u64_arg(argv[2], &deadline) || !every)
		return cmd_usage_error(&cmd_soak, "soak sample: bad interval or deadline");
	/* follow: a service is sampled on its new owner after a cut-over; fixed: --runtime */
	if (streq(argv[3], "follow") || streq(argv[3], "fixed"))
		follow = streq(argv[first++], "follow");
	for (int i = first; i < argc && n < LEDGER_MAX_SERVICES; i++) {
		const char *eq = strchr(argv[i], '=');
		_cleanup_free_ char *svc = eq ? xstrndup(argv[i], (size_t)(eq - argv[i])) : NULL;
		int idx = svc ? config_service_index(cfg, svc) : -1;
		int rt = eq ? ledger_runtime_from_name(eq + 1) : -1;

		if (idx < 0 || rt < 0)
			return cmd_usage_error(&cmd_soak, "soak sample: bad service '%s'", argv[i]);
		sv[n++] = (struct soak_sampled){
		    .svc = &cfg->services[idx], .runtime = rt, .follow = follow, .t.runtime = -1};
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, SIG_IGN);
	return soak_sample_run(ctx->lg, cfg, argv[0], sv, n, every, deadline, &stop_requested);
}

/* The runtime a service is sampled on: --runtime, else its owner in the ledger, else native. */
static void sample_runtimes(struct cmd_ctx *ctx, const struct plan *plan, int forced, int *rts)
{
	struct ledger_state *st = xmalloc(sizeof(*st));
	bool have = ledger_state_at(ctx->lg, UINT64_MAX, st) == 0;

	for (size_t i = 0; i < plan->nservices; i++) {
		const struct ledger_service_state *ss =
		    have ? ledger_state_service(st, ctx->cfg->services[plan->services[i]].name)
			 : NULL;
		rts[i] = forced >= 0			       ? forced
			 : ss && ss->owner == LEDGER_RT_DOCKER ? LEDGER_RT_DOCKER
							       : LEDGER_RT_NATIVE;
	}
	free(st);
}

/* Environment the sampler unit needs from ours (the manager's own may lack them): where
 * docker, the user manager and the state live. Only names that are set. */
static void sampler_env(struct strv *env)
{
	static const char *const names[] = {"PATH",
					    "HOME",
					    "DOCKER_HOST",
					    "DOCKER_CONFIG",
					    "XDG_RUNTIME_DIR",
					    "XDG_STATE_HOME",
					    "XDG_CONFIG_HOME",
					    "LANG"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		if (!str_empty(v))
			strv_push_take(env, xasprintf("%s=%s", names[i], v));
	}
}

/* What `soak start` decided: the window's name, the sampler's command, where each service is
 * sampled, and where the sampler runs (a unit, or detached when unit is NULL). */
struct start {
	const char *name;
	struct strv argv, runtimes;
	const char *names[LEDGER_MAX_SERVICES];
	size_t n;
	char *unit;
	char *detached_why; /* detached: the soak.started summary */
	struct bus *bus;
	int64_t for_ns;
};

static void start_release(struct start *s)
{
	strv_free(&s->argv);
	strv_free(&s->runtimes);
	free(s->unit);
	free(s->detached_why);
	bus_close(s->bus);
}

/* The sampler's command line: this shiplog, the same config and ledger, `soak sample`. */
static void start_argv(struct cmd_ctx *ctx, struct start *s, int64_t every_ns, int64_t deadline_ns,
		       const struct plan *plan, const int *rts, bool follow)
{
	_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL);
	_cleanup_free_ char *ledger_abs = realpath(ctx->ledger_dir, NULL);
	_cleanup_free_ char *conf_abs = realpath(ctx->cfg->path, NULL);

	strv_push(&s->argv, exe ? exe : "/proc/self/exe");
	strv_push(&s->argv, "-c");
	strv_push(&s->argv, conf_abs ? conf_abs : ctx->cfg->path);
	strv_push(&s->argv, "--ledger");
	strv_push(&s->argv, ledger_abs ? ledger_abs : ctx->ledger_dir);
	strv_push(&s->argv, "soak");
	strv_push(&s->argv, "sample");
	strv_push(&s->argv, s->name);
	strv_push_take(&s->argv, xasprintf("%lld", (long long)every_ns));
	strv_push_take(&s->argv, xasprintf("%lld", (long long)deadline_ns));
	strv_push(&s->argv, follow ? "follow" : "fixed");
	for (size_t i = 0; i < plan->nservices && i < LEDGER_MAX_SERVICES; i++) {
		s->names[i] = ctx->cfg->services[plan->services[i]].name;
		strv_push_take(&s->runtimes,
			       xasprintf("%s=%s", s->names[i], ledger_runtime_name(rts[i])));
		strv_push(&s->argv, s->runtimes.v[i]);
		s->n++;
	}
}

/* Where the sampler runs: a unit of the manager; without one, for containers alone, a
 * detached process. SL_EREFUSED when a sampler unit runs already, SL_EENV when native units
 * are to be sampled and there is no manager. */
static int start_where(struct cmd_ctx *ctx, struct start *s, const int *rts)
{
	_cleanup_free_ char *ledger_abs = realpath(ctx->ledger_dir, NULL);
	struct strv native = {0};
	struct unit_props p;

	if (bus_open(&s->bus, manager_is_user(ctx)) < 0) {
		for (size_t i = 0; i < s->n; i++)
			if (rts[i] == LEDGER_RT_NATIVE)
				strv_push(&native, s->names[i]);
		if (native.n) {
			_cleanup_free_ char *list = strv_join(&native, ", ");
			log_error("soak: %s are native units, sampled over the systemd manager, "
				  "which does not answer: %s. Start the manager for this user "
				  "(loginctl enable-linger USER), or soak only containers "
				  "(--runtime docker, or a scope of docker-owned services).",
				  list, bus_errmsg(NULL));
			strv_free(&native);
			return SL_EENV;
		}
		s->detached_why = xasprintf("sampled by a detached process (no systemd manager: "
					    "containers only), pid in %s/soak.pid",
					    ctx->ledger_dir);
		return 0;
	}
	s->unit = sampler_unit_name(ctx->cfg, ledger_abs ? ledger_abs : ctx->ledger_dir);
	if (bus_unit_props(s->bus, s->unit, &p) == 0 &&
	    (streq(p.active_state, "active") || streq(p.active_state, "activating"))) {
		log_error("a soak is already running (unit %s); 'shiplog soak stop' it first",
			  s->unit);
		return SL_EREFUSED;
	}
	return 0;
}

/* soak.started: the window is in the ledger before its sampler runs. */
static int record_started(struct cmd_ctx *ctx, const struct start *s)
{
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_STARTED,
				  .version = LEDGER_SCHEMA_VERSION,
				  .actor = actor_string()};
	int r;

	ev.u.soak.name = s->name;
	ev.u.soak.services = (struct ledger_strv){(uint32_t)s->n, (const char **)s->names};
	ev.u.soak.unit = s->unit ? s->unit : "";
	ev.u.soak.summary = s->detached_why ? s->detached_why : "";
	ev.u.soak.argv = (struct ledger_strv){(uint32_t)s->argv.n, (const char **)s->argv.v};
	ev.u.soak.runtimes =
	    (struct ledger_strv){(uint32_t)s->runtimes.n, (const char **)s->runtimes.v};
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0)
		log_error("cannot record soak.started: %s", ledger_strerror(r));
	return r < 0 ? SL_EENV : 0;
}

/* Closes a window whose sampler could not run or is gone. */
static int record_closed(struct cmd_ctx *ctx, const char *name, const char *why)
{
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_STOPPED,
				  .version = LEDGER_SCHEMA_VERSION,
				  .actor = actor_string()};
	int r;

	ev.u.soak.name = name;
	ev.u.soak.summary = why;
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0)
		log_error("cannot record soak.stopped: %s", ledger_strerror(r));
	return r < 0 ? SL_EENV : 0;
}

/* The detached sampler's supervisor, for a host without a manager to run it as a unit: runs
 * the sampler and, like the unit's Restart=on-failure, runs it again after a failure (1s
 * later, at most 5 times) until the deadline; SIGTERM (soak stop) is passed on to it. */
struct supervisor {
	char **argv;
	char *pidfile;
	int64_t deadline_ns;
};

static int supervise(void *arg)
{
	struct supervisor *sp = arg;
	int failures = 0;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, SIG_IGN);
	while (!stop_requested) {
		bool sent = false;
		int st = 0;
		pid_t pid = fork();

		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			execv(sp->argv[0], sp->argv);
			_exit(127);
		}
		if (pid < 0)
			break;
		while (waitpid(pid, &st, WNOHANG) == 0) {
			if (stop_requested && !sent)
				sent = kill(pid, SIGTERM) == 0;
			usleep(50000);
		}
		if ((WIFEXITED(st) && WEXITSTATUS(st) == 0) || now_ns() >= sp->deadline_ns ||
		    ++failures > 5)
			break;
		fprintf(stderr, "soak: the sampler failed (status %d); again in 1s\n", st);
		for (int i = 0; i < 20 && !stop_requested; i++)
			usleep(50000);
	}
	unlink(sp->pidfile);
	return 0;
}

static int start_detached(struct cmd_ctx *ctx, struct start *s, int64_t deadline_ns)
{
	_cleanup_free_ char *log = xasprintf("%s/soak.log", ctx->ledger_dir);
	_cleanup_free_ char *pidtext = NULL;
	struct supervisor sp = {
	    .argv = s->argv.v, .pidfile = pid_path(ctx), .deadline_ns = deadline_ns};
	pid_t pid = 0;
	int r;

	fflush(NULL);
	r = spawn_daemon(supervise, &sp, log, &pid);
	if (r >= 0) {
		pidtext = xasprintf("%d\n", (int)pid);
		r = write_file_atomic(sp.pidfile, pidtext, strlen(pidtext), 0600);
		if (r < 0)
			kill(pid, SIGTERM);
	}
	free(sp.pidfile);
	return r;
}

static int start_unit(struct start *s)
{
	struct strv env = {0};
	int r;

	sampler_env(&env);
	r = bus_start_transient(s->bus,
				&(struct transient_spec){
				    .unit = s->unit,
				    .description = "shiplog soak sampler",
				    .argv = s->argv.v,
				    .env = env.v,
				    .cwd = "/",
				    .runtime_max_us = (uint64_t)(s->for_ns / 1000) + 300000000ULL});
	strv_free(&env);
	return r;
}

static int soak_start(struct cmd_ctx *ctx, const char *name, int64_t every_ns, int64_t for_ns,
		      int forced_rt, struct scope_args *scope)
{
	struct start s = {.name = name, .for_ns = for_ns};
	int rts[LEDGER_MAX_SERVICES];
	int64_t deadline = now_ns() + for_ns;
	struct plan plan;
	char err[512];
	int r;

	r = plan_scope(ctx->cfg, scope, LEDGER_RT_NATIVE, false, &plan, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	if (sampler_pid(ctx)) {
		log_error("a soak is already running (pid %d); 'shiplog soak stop' it first",
			  (int)sampler_pid(ctx));
		return SL_EREFUSED;
	}
	sample_runtimes(ctx, &plan, forced_rt, rts);
	start_argv(ctx, &s, every_ns, deadline, &plan, rts, forced_rt < 0);
	r = start_where(ctx, &s, rts);
	if (r == 0)
		r = record_started(ctx, &s);
	if (r < 0)
		goto out;
	r = s.unit ? start_unit(&s) : start_detached(ctx, &s, deadline);
	if (r < 0) {
		_cleanup_free_ char *why = xasprintf("the sampler did not start: %s",
						     s.unit ? bus_errmsg(s.bus) : sl_strerror(r));
		record_closed(ctx, name, why);
		log_error("soak: %s", why);
		r = SL_EENV;
		goto out;
	}
	out_plain("soak '%s' started: sampling %zu service%s (%s) every %.1fs for %.0fs; %s%s",
		  name, s.n, s.n == 1 ? "" : "s", plan.scope_desc, (double)every_ns / 1e9,
		  (double)for_ns / 1e9, s.unit ? "sampler unit " : "",
		  s.unit ? s.unit : s.detached_why);
	for (size_t i = 0; i < s.runtimes.n; i++)
		out_plain("  %s", s.runtimes.v[i]);
out:
	start_release(&s);
	return r;
}

static void stop_process(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(50000);
}

/* SIGTERM through the manager: the sampler records soak.stopped with its summary and exits. */
static void stop_unit(struct cmd_ctx *ctx, const char *unit)
{
	struct bus *bus = NULL;
	struct restart_job job = {.unit = unit};

	if (bus_open(&bus, manager_is_user(ctx)) < 0)
		return;
	if (bus_stop_units(bus, &job, 1, mono_ns() + 30000000000LL, NULL) < 0 && job.error == 0)
		log_warn("stopping unit %s: %s", unit, bus_errmsg(bus));
	bus_close(bus);
}

static int soak_stop(struct cmd_ctx *ctx)
{
	pid_t pid = sampler_pid(ctx);
	struct soak_window w;
	int r;

	r = soak_find_window(ctx->lg, NULL, &w);
	if (r < 0 && r != LEDGER_ENOTFOUND) {
		log_error("cannot read the ledger: %s", ledger_strerror(r));
		return SL_EENV;
	}
	if (!pid && (r == LEDGER_ENOTFOUND || w.stop)) {
		out_plain("no soak is running");
		return 0;
	}
	if (pid)
		stop_process(pid);
	else if (w.unit[0])
		stop_unit(ctx, w.unit);
	if (r == 0) {
		r = soak_find_window(ctx->lg, w.name, &w);
		/* the sampler was gone: the window is closed here */
		if (r == 0 && !w.stop &&
		    record_closed(ctx, w.name,
				  "closed by 'soak stop': the sampler was not running") < 0)
			return SL_EENV;
	}
	if (w.unit[0])
		out_plain("soak '%s' stopped (unit %s); see 'shiplog soak report'", w.name, w.unit);
	else
		out_plain("soak '%s' stopped (sampler pid %d); see 'shiplog soak report'", w.name,
			  (int)pid);
	return 0;
}

static int record_verdict(struct cmd_ctx *ctx, const struct soak_report *rep)
{
	struct ledger_event ev = {.type = LEDGER_EV_SOAK_VERDICT,
				  .version = LEDGER_SCHEMA_VERSION,
				  .actor = actor_string()};
	int r;

	/* the report reads a read-only handle: reopen it to write */
	view_use_ledger(NULL);
	ledger_close(ctx->lg);
	ctx->lg = NULL;
	r = cmd_open_ledger(ctx, true);
	if (r < 0)
		return r;
	ev.u.soak_verdict.name = rep->w.name;
	ev.u.soak_verdict.pass = rep->all_pass;
	ev.u.soak_verdict.services =
	    (struct ledger_strv){(uint32_t)rep->verdicts.n, (const char **)rep->verdicts.v};
	ev.u.soak_verdict.reasons =
	    (struct ledger_strv){(uint32_t)rep->reasons.n, (const char **)rep->reasons.v};
	ev.u.soak_verdict.compare =
	    (struct ledger_strv){(uint32_t)rep->compare.n, (const char **)rep->compare.v};
	r = ledger_append(ctx->lg, &ev, 0, NULL);
	if (r < 0)
		log_error("cannot record soak.verdict: %s", ledger_strerror(r));
	return r < 0 ? SL_EENV : 0;
}

/* `soak report` and `soak status`: exit 1 when the verdict is FAIL. */
static int soak_report(struct cmd_ctx *ctx, const char *name, bool status_only)
{
	struct soak_report *rep = xmalloc(sizeof(*rep));
	int r;

	r = soak_report_gather(ctx->lg, ctx->cfg, name, status_only, rep);
	if (r == LEDGER_ENOTFOUND) {
		log_error(
		    "no soak window%s%s%s in this ledger; start one with 'shiplog soak start'",
		    name ? " named '" : "", name ? name : "", name ? "'" : "");
		r = SL_EUSAGE;
		goto out;
	}
	if (r < 0)
		goto out;
	rep->running = !rep->w.stop &&
		       (rep->w.unit[0] ? unit_running(ctx, rep->w.unit) : sampler_pid(ctx) != 0);
	/* a closed window's verdict is recorded once */
	if (rep->judged && rep->w.stop &&
	    !soak_verdict_recorded(ctx->lg, rep->w.stop, rep->w.name)) {
		r = record_verdict(ctx, rep);
		if (r < 0)
			goto out;
	}
	if (out_settings.json)
		out_json(soak_report_json(rep));
	else
		soak_report_print(rep, status_only);
	r = rep->judged && !rep->all_pass ? SL_EFAILED : 0;
out:
	soak_report_release(rep);
	free(rep);
	return r;
}

static const struct option options[] = {
    SCOPE_OPTIONS,
    {"name", required_argument, NULL, 'n'},
    {"every", required_argument, NULL, 'e'},
    {"for", required_argument, NULL, 'f'},
    {"runtime", required_argument, NULL, 'r'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct scope_args scope = {0};
	const char *name = NULL, *sub;
	int64_t every = 0, dur = 0; /* 0: [soak] every and duration */
	int forced_rt = -1;
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
		} else if (opt == 'r') {
			forced_rt = ledger_runtime_from_name(optarg);
			if (forced_rt < 0) {
				r = cmd_usage_error(
				    &cmd_soak, "bad --runtime '%s': use native or docker", optarg);
				goto out;
			}
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
	    !streq(sub, "report") && !streq(sub, "sample")) {
		r = cmd_usage_error(&cmd_soak, "unknown subcommand '%s'", sub);
		goto out;
	}
	if ((streq(sub, "start") || streq(sub, "sample")) && !ctx->cfg) {
		r = cmd_usage_error(&cmd_soak, "'soak %s' needs a shiplog.conf (-c FILE)", sub);
		goto out;
	}
	/* Arguments first: a usage error is exit 2 and creates no ledger; only start, stop and
	 * the sampler write (and create) it. */
	r = cmd_open_ledger(ctx, !streq(sub, "status") && !streq(sub, "report"));
	if (r < 0)
		goto out;
	if (streq(sub, "start")) {
		if (!name) {
			char when[64];
			format_time(now_ns(), when, sizeof(when));
			snprintf(defname, sizeof(defname), "soak-%.19s", when);
			name = defname;
		}
		r = soak_start(ctx, name, every ? every : ctx->cfg->soak.every_ns,
			       dur ? dur : ctx->cfg->soak.duration_ns, forced_rt, &scope);
	} else if (streq(sub, "sample")) {
		r = soak_sample(ctx, argc - optind - 1, argv + optind + 1);
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
    .summary = "start|status|stop|report: watch units and containers during a soak window",
    .usage = usage,
    .flags = CMD_CONFIG_OPTIONAL, /* the ledger: opened by run, per subcommand */
    .options = options,
    .words = "start status stop report",
    .run = run,
};
