/* SPDX-License-Identifier: MIT */
/* shiplog units: render the unit templates of the service registry into the systemd manager's
 * unit directory, check them with systemd-analyze, and list what the manager knows of them.
 * Nothing here ever starts a unit: deploys do that. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus.h"
#include "cmd.h"
#include "config.h"
#include "out.h"
#include "spawn.h"
#include "units.h"
#include "util.h"

#define UNITS_VERIFY_TIMEOUT_NS (60LL * 1000000000LL)

static int units_bus_open(const struct config *cfg, struct bus **b)
{
	int r = bus_open(b, cfg->native.manager == MANAGER_USER);

	if (r < 0) {
		log_error("%s", bus_errmsg(NULL));
		return SL_EENV;
	}
	return 0;
}

/* ---- install ------------------------------------------------------------------------------ */

static int units_install_cmd(struct cmd_ctx *ctx, const char *scope, bool dry_run)
{
	const struct config *cfg = ctx->cfg;
	struct units_set set = {0};
	struct bus *b = NULL;
	struct strv enable = {0};
	json_t *jr = NULL, *ju = NULL;
	char err[1024];
	size_t changed = 0;
	int r;

	r = units_render(cfg, &set, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	for (size_t i = 0; i < set.n; i++)
		if (units_scope_has(scope, set.f[i].svc->role))
			strv_push(&enable, set.f[i].svc->unit);
	/* The manager must be reachable before anything is written. */
	if (!dry_run && (r = units_bus_open(cfg, &b)) < 0)
		goto out;
	r = units_write(cfg, &set, dry_run, &changed, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	if (!dry_run) {
		/* Always: a unit file edited by hand since the last reload is picked up too. */
		r = bus_reload(b);
		if (r >= 0 && enable.n > 0)
			r = bus_enable_units(b, enable.v, enable.n);
		if (r < 0) {
			log_error("%s", bus_errmsg(b));
			r = SL_EENV;
			goto out;
		}
	}

	if (out_settings.json) {
		json_t *je = json_array();

		jr = json_object();
		ju = json_array();
		for (size_t i = 0; i < set.n; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "service", json_str(set.f[i].svc->name));
			json_object_set_new(o, "unit", json_str(set.f[i].svc->unit));
			json_object_set_new(o, "path", json_str(set.f[i].path));
			json_object_set_new(o, "template", json_str(set.f[i].template_path));
			json_object_set_new(o, "status", json_str(set.f[i].status));
			json_array_append_new(ju, o);
		}
		for (size_t i = 0; i < enable.n; i++)
			json_array_append_new(je, json_str(enable.v[i]));
		json_object_set_new(jr, "dir", json_str(set.dir));
		json_object_set_new(jr, "dry_run", json_boolean(dry_run));
		json_object_set_new(jr, "units", ju);
		json_object_set_new(jr, "changed", json_integer((json_int_t)changed));
		json_object_set_new(jr, "enable_scope", json_str(scope));
		json_object_set_new(jr, "enabled", je);
		out_json(jr);
	} else {
		out_plain("%sunit directory: %s", dry_run ? "(dry run) " : "", set.dir);
		for (size_t i = 0; i < set.n; i++) {
			const char *st = set.f[i].status;

			if (dry_run && streq(st, "installed"))
				st = "would install";
			else if (dry_run && streq(st, "updated"))
				st = "would update";
			out_plain("  %-13s %s (from %s)", st, set.f[i].svc->unit,
				  set.f[i].template_path);
		}
		if (enable.n > 0) {
			_cleanup_free_ char *list = strv_join(&enable, " ");
			out_plain("%s scope '%s' (start at login; nothing started now): %s",
				  dry_run ? "would enable" : "enabled", scope, list);
		} else {
			out_plain("nothing enabled: deploys start the units; to also start them at "
				  "login, run 'shiplog units install --enable full' (or web, api, "
				  "services, workers)");
		}
	}
	r = 0;
out:
	strv_free(&enable);
	bus_close(b);
	units_set_release(&set);
	return r;
}

/* ---- verify ------------------------------------------------------------------------------- */

static char *units_replace_all(const char *s, const char *from, const char *to)
{
	struct buf b = {0};
	size_t fl = strlen(from);
	const char *hit;

	while ((hit = strstr(s, from))) {
		buf_append(&b, s, (size_t)(hit - s));
		buf_append(&b, to, strlen(to));
		s = hit + fl;
	}
	buf_append(&b, s, strlen(s) + 1);
	return b.data;
}

/* `systemd-analyze verify [--user] --man=no FILE...` over the rendered units, written to tmp
 * under their unit names. SL_EENV (said) when one cannot be written. */
static int verify_argv(const struct config *cfg, const struct units_set *set, const char *analyze,
		       const char *tmp, struct strv *argv)
{
	int r;

	strv_push(argv, analyze);
	strv_push(argv, "verify");
	if (cfg->native.manager == MANAGER_USER)
		strv_push(argv, "--user");
	strv_push(argv, "--man=no");
	for (size_t i = 0; i < set->n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", tmp, set->f[i].svc->unit);
		r = write_file_atomic(path, set->f[i].text, strlen(set->f[i].text), 0644);
		if (r < 0) {
			log_error("cannot write '%s': %s", path, strerror(-r));
			return SL_EENV;
		}
		strv_push(argv, path);
	}
	return 0;
}

/* What passed: a JSON object with --json, else a line per unit and a count. */
static void verified_say(const struct units_set *set)
{
	json_t *jr, *ju;

	if (!out_settings.json) {
		for (size_t i = 0; i < set->n; i++)
			out_plain("ok %s (%s)", set->f[i].svc->unit, set->f[i].template_path);
		out_plain("%zu unit%s verified with systemd-analyze", set->n,
			  set->n == 1 ? "" : "s");
		return;
	}
	jr = json_object();
	ju = json_array();
	for (size_t i = 0; i < set->n; i++) {
		json_t *u = json_object();
		json_object_set_new(u, "unit", json_str(set->f[i].svc->unit));
		json_object_set_new(u, "template", json_str(set->f[i].template_path));
		json_array_append_new(ju, u);
	}
	json_object_set_new(jr, "ok", json_true());
	json_object_set_new(jr, "units", ju);
	out_json(jr);
}

static int units_verify(struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	struct units_set set = {0};
	struct strv argv = {0};
	struct spawn_result res = {0};
	struct spawn_opts o = {.capture = true, .timeout_ns = UNITS_VERIFY_TIMEOUT_NS};
	_cleanup_free_ char *tmp = NULL, *analyze = NULL, *rt_env = NULL, *out_text = NULL;
	char *env_add[2] = {NULL, NULL}, err[1024];
	const char *tmpdir = getenv("TMPDIR");
	bool failed;
	int r;

	r = units_render(cfg, &set, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	analyze = spawn_which("systemd-analyze");
	if (!analyze) {
		log_error("systemd-analyze not found on PATH; install the 'systemd' package");
		r = SL_EENV;
		goto out;
	}
	tmp = xasprintf("%s/shiplog-units-XXXXXX", str_empty(tmpdir) ? "/tmp" : tmpdir);
	if (!mkdtemp(tmp)) {
		r = -errno;
		log_error("cannot create a temporary directory '%s': %s", tmp, strerror(-r));
		free(tmp);
		tmp = NULL;
		r = SL_EENV;
		goto out;
	}
	r = verify_argv(cfg, &set, analyze, tmp, &argv);
	if (r < 0)
		goto out;
	/* systemd-analyze --user wants a runtime directory, not a running manager. */
	if (str_empty(getenv("XDG_RUNTIME_DIR"))) {
		rt_env = xasprintf("XDG_RUNTIME_DIR=%s", tmp);
		env_add[0] = rt_env;
		o.env_add = env_add;
	}
	o.cwd = tmp;
	r = spawn_run(argv.v, &o, &res);
	if (r < 0) {
		log_error("cannot run '%s': %s", analyze, strerror(-r));
		r = SL_EENV;
		goto out;
	}
	/* Unknown keys and bad values only warn and exit 0: any output is a failure. */
	out_text = xstrdup(res.output ? res.output : "");
	str_trim(out_text);
	failed = res.exit_code != 0 || res.timed_out || out_text[0] != '\0';
	if (out_text[0]) {
		/* Name the templates, not the temporary copies (their line numbers match). */
		for (size_t i = 0; i < set.n; i++) {
			_cleanup_free_ char *path = xasprintf("%s/%s", tmp, set.f[i].svc->unit);
			char *t = units_replace_all(out_text, path, set.f[i].template_path);
			free(out_text);
			out_text = t;
		}
		fprintf(stderr, "%s\n", out_text);
	}
	if (failed) {
		log_error("unit verification failed (systemd-analyze exit %d%s): fix the templates "
			  "above and run 'shiplog units verify' again",
			  res.exit_code, res.timed_out ? ", timed out" : "");
		r = SL_EFAILED;
		goto out;
	}
	verified_say(&set);
	r = 0;
out:
	spawn_result_release(&res);
	strv_free(&argv);
	if (tmp) {
		for (size_t i = 0; i < set.n; i++) {
			_cleanup_free_ char *path = xasprintf("%s/%s", tmp, set.f[i].svc->unit);
			unlink(path);
		}
		rmdir(tmp);
	}
	units_set_release(&set);
	return r;
}

/* ---- list --------------------------------------------------------------------------------- */

static int units_list(struct cmd_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	struct bus *b = NULL;
	int r;

	r = units_bus_open(cfg, &b);
	if (r < 0)
		return r;
	if (!out_settings.json)
		out_plain("%-16s %-36s %-7s %-10s %-22s %s", "SERVICE", "UNIT", "ROLE", "LOAD",
			  "ACTIVE", "PID");
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct service *svc = &cfg->services[i];
		struct unit_props p = {0};

		r = bus_unit_props(b, svc->unit, &p);
		if (r < 0) {
			log_error("%s", bus_errmsg(b));
			bus_close(b);
			return SL_EENV;
		}
		if (out_settings.json) {
			json_t *o = json_object();
			json_object_set_new(o, "service", json_str(svc->name));
			json_object_set_new(o, "unit", json_str(svc->unit));
			json_object_set_new(o, "role", json_str(role_name(svc->role)));
			json_object_set_new(o, "load_state", json_str(p.load_state));
			json_object_set_new(o, "active_state", json_str(p.active_state));
			json_object_set_new(o, "sub_state", json_str(p.sub_state));
			json_object_set_new(o, "main_pid", json_integer(p.main_pid));
			json_object_set_new(o, "n_restarts", json_integer(p.n_restarts));
			json_object_set_new(o, "fragment_path", json_str(p.fragment_path));
			json_object_set_new(o, "need_daemon_reload",
					    json_boolean(p.need_daemon_reload));
			out_json(o);
		} else {
			_cleanup_free_ char *active =
			    xasprintf("%s/%s", p.active_state, p.sub_state);
			char pid[16] = "-";

			if (p.main_pid)
				snprintf(pid, sizeof(pid), "%u", p.main_pid);
			out_plain("%-16s %-36s %-7s %-10s %-22s %s", svc->name, svc->unit,
				  role_name(svc->role), p.load_state, active, pid);
		}
	}
	bus_close(b);
	return 0;
}

/* ---- entry -------------------------------------------------------------------------------- */

static const struct option options[] = {
    {"enable", required_argument, NULL, 'e'},
    {"dry-run", no_argument, NULL, 'n'},
    {"json", no_argument, NULL, 'J'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *sub, *scope = "none";
	bool dry_run = false, scope_given = false;
	int opt;

	if (argc < 2)
		return cmd_usage_error(&cmd_units, "missing subcommand: install, verify or list");
	sub = argv[1];
	if (!streq(sub, "install") && !streq(sub, "verify") && !streq(sub, "list"))
		return cmd_usage_error(&cmd_units,
				       "unknown subcommand '%s'; use install, verify or "
				       "list",
				       sub);
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc - 1, argv + 1, "+", options, NULL)) != -1) {
		switch (opt) {
		case 'e':
			scope = optarg;
			scope_given = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'J':
			out_settings.json = true;
			break;
		default:
			return cmd_usage_error(&cmd_units, "unknown option '%s' for 'units %s'",
					       argv[optind], sub);
		}
	}
	if (optind < argc - 1)
		return cmd_usage_error(&cmd_units, "unexpected argument '%s'", argv[optind + 1]);
	if (!streq(sub, "install") && (scope_given || dry_run))
		return cmd_usage_error(&cmd_units,
				       "--enable and --dry-run belong to 'units install'");
	if (!units_scope_valid(scope))
		return cmd_usage_error(&cmd_units,
				       "unknown scope '%s'; use one of: " UNITS_SCOPE_LIST, scope);

	if (streq(sub, "install"))
		return units_install_cmd(ctx, scope, dry_run);
	if (streq(sub, "verify"))
		return units_verify(ctx);
	return units_list(ctx);
}

const struct cmd_entry cmd_units = {
    .name = "units",
    .summary = "install, verify and list the services' systemd units",
    .usage =
	"usage: shiplog units install [--enable SCOPE] [--dry-run]\n"
	"       shiplog units verify\n"
	"       shiplog units list [--json]\n"
	"\n"
	"The units come from templates, one per service of shiplog.conf:\n"
	"<checkout>/<[runtime native] unit_dir, default units>/<service>.service.in. A\n"
	"template names its parameters between at-signs: PROJECT, SERVICE, ROLE, WORKDIR (the\n"
	"checkout), ENV_FILE ([runtime native] env_file), EXEC ([runtime native] exec, given\n"
	"the service name as its argument) and STDOUT (journal, or append:<log_dir>/<svc>.log).\n"
	"\n"
	"  install   render every template into the manager's unit directory\n"
	"            ($XDG_CONFIG_HOME/systemd/user), writing only units whose text changed,\n"
	"            then reload the manager. Never starts anything: deploys do.\n"
	"            --enable SCOPE  also enable them (start at login), without starting:\n"
	"                            none (default), full, web, api, services, workers\n"
	"            --dry-run       show what would change; touch nothing\n"
	"  verify    render into a temporary directory and check with 'systemd-analyze verify';\n"
	"            any finding fails (exit 1), warnings included\n"
	"  list      each service's unit: role, load state, active/sub state, main pid\n"
	"\n"
	"Examples:\n"
	"  shiplog units verify                     # check the templates before installing\n"
	"  shiplog units install                    # install or update, enable nothing\n"
	"  shiplog units install --enable workers   # the four workers start at login\n"
	"  shiplog units install --dry-run          # which units would change\n"
	"  shiplog --json units list                # one JSON object per unit\n"
	"\n"
	"Exit codes: 0 ok, 1 verify found problems, 2 usage or config error (missing\n"
	"template, unknown parameter, exec not set), 4 the systemd manager is unreachable.\n",
    .flags = CMD_CONFIG,
    .shortopts = "+",
    .options = options,
    .words = "install verify list",
    .run = run,
};
