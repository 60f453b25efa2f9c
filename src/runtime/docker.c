/* SPDX-License-Identifier: MIT */
/* The docker runtime: Docker Compose services, driven through the compose CLI (compose.c).
 * Images of the services being deployed are tagged <project>-<service>:<commit12> through an
 * override file, so that a rollback to a commit whose image still exists rebuilds nothing; every
 * container id and image id before and after is recorded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"
#include "env.h"
#include "out.h"
#include "rollout.h"
#include "util.h"

#define POLL_NS 200000000LL /* 200 ms between two inspections while settling */

/* Per service (cfg index): what the last restart left, for verify and its detail. */
struct docker_svc {
	char container[COMPOSE_ID_MAX]; /* after the restart, "" when unknown */
	char image_before[COMPOSE_ID_MAX];
	char tag[COMPOSE_TAG_MAX]; /* the image it runs from ("" = as written) */
};

struct docker {
	struct compose *c;
	char parsed_at[REPO_OID_HEX];  /* commit of the checkout when `config` was read */
	char tagged_for[REPO_OID_HEX]; /* commit the override was written for */
	struct docker_svc svc[LEDGER_MAX_SERVICES];
};

static const struct service *svc(const struct rollout *ro, size_t i)
{
	return rollout_service(ro, i);
}

static size_t svc_index(const struct rollout *ro, const struct service *s)
{
	return (size_t)(s - ro->cfg->services);
}

static void set_commit_env(const char *commit)
{
	setenv("SHIPLOG_COMMIT", str_empty(commit) ? "unknown" : commit, 1);
}

static void short_id(const char *id, char *out, size_t n)
{
	const char *p = str_startswith(id, "sha256:") ? id + 7 : id;

	snprintf(out, n, "%.12s", p);
}

/* compose.c records nothing: what it ran itself is recorded here, in the operation of the
 * rollout (ro->op at that moment): a step.ran, or only its time for a poll. */
static void docker_observe(void *arg, const char *what, char *const argv[], const char *cwd,
			   const struct spawn_result *res, bool record)
{
	struct rollout *ro = arg;

	if (!ro->op)
		return;
	if (record)
		op_record_step(ro->op, what, argv, cwd ? cwd : "", res->exit_code, res->duration_ns,
			       NULL);
	else
		op_waited(ro->op, res->duration_ns);
}

/* What the progress line says while compose runs one of its own recorded probes. */
static void docker_waiting(void *arg, const char *what, const char *shown)
{
	struct rollout *ro = arg;

	if (!ro->op)
		return;
	(void)what; /* "docker", "compose": the short form names it */
	if (shown)
		op_waiting(ro->op, NULL, 0, "%s", shown);
	else
		op_waiting(ro->op, NULL, 0, NULL);
}

/* A compose command (docker: a docker client command), echoed, run and recorded by op_run. */
static int compose_step(struct rollout *ro, bool docker, const char *what, const char *const *args,
			bool capture, struct spawn_result *res)
{
	struct docker *d = ro->rt;
	struct strv v = {0};
	char shown[160];
	int r;

	if (docker)
		compose_docker_argv(d->c, args, &v);
	else
		compose_argv(d->c, args, &v);
	compose_describe(d->c, v.v, shown, sizeof(shown));
	r = op_run_as(ro->op, what, shown, v.v, d->c->workdir, capture, res);
	strv_free(&v);
	return r;
}

static int docker_open(struct rollout *ro)
{
	const struct compose_observer obs = {
	    .ran = docker_observe, .waiting = docker_waiting, .arg = ro};
	struct docker *d;
	char err[1024];
	int r;

	if (ro->rt)
		return 0;
	d = xcalloc(1, sizeof(*d));
	/* the checkout, or the tree the operation set (a cut-over's release of the commit) */
	r = compose_open(&d->c, &obs, rollout_workdir(ro), ro->cfg->docker.workdir,
			 ro->cfg->docker.project, err, sizeof(err));
	if (r < 0) {
		op_fail(ro->op, "%s", err);
		log_error("%s", err);
		free(d);
		return r;
	}
	ro->rt = d;
	return 0;
}

static void docker_close(struct rollout *ro)
{
	struct docker *d = ro->rt;

	if (!d)
		return;
	compose_free(d->c);
	free(d);
	ro->rt = NULL;
}

static int docker_precheck(struct rollout *ro, char *why, size_t whylen)
{
	struct docker *d = ro->rt;
	const struct strv *foreign = &ro->cfg->docker.foreign_projects;
	struct strv lines = {0};
	size_t own = 0, stray = 0;
	int r;

	set_commit_env(ro->prev);
	r = compose_config_read(d->c, why, whylen);
	if (r < 0)
		return r;
	strlcpy_(d->parsed_at, ro->prev, sizeof(d->parsed_at));
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = svc(ro, i);
		if (!compose_has_service(d->c, s->compose)) {
			compose_undefined_why(why, whylen, s->compose, s->name, d->c->file,
					      &d->c->services);
			return SL_EREFUSED;
		}
		out_say("compose service %s: defined, %s", s->compose,
			compose_has_build(d->c, s->compose)
			    ? "built from source"
			    : "image as written (no build section)");
	}

	/* Stray compose projects (the reference's duplicate-project warning, generalised): found
	 * by container label, so it works with compose v1 and v2 alike. Advisory only. */
	r = compose_running_projects(d->c, &lines);
	if (r < 0) {
		log_warn("cannot list the running compose projects; the foreign project check was "
			 "skipped");
		return 0;
	}
	for (size_t i = 0; i < lines.n; i++) {
		char *tab = strchr(lines.v[i], '\t');
		if (!tab)
			continue;
		*tab = '\0';
		if (streq(lines.v[i], d->c->project)) {
			own++;
		} else if (strv_contains(foreign, lines.v[i])) {
			stray++;
			*tab = '\t';
			log_warn("foreign compose project '%.*s' is running: %s",
				 (int)(tab - lines.v[i]), lines.v[i], tab + 1);
			out_say("WARNING: container of foreign project %.*s running: %s",
				(int)(tab - lines.v[i]), lines.v[i], tab + 1);
		}
	}
	if (stray)
		log_warn(
		    "only the '%s' compose project should run here; %zu container%s of a project "
		    "listed in [runtime docker] foreign_projects run%s too (they may hold the same "
		    "ports or consumers); stop them with 'docker stop' or '%s -p NAME down'",
		    d->c->project, stray, stray == 1 ? "" : "s", stray == 1 ? "s" : "",
		    compose_command_name(d->c));
	out_say("compose project %s: %zu running container%s; %zu of foreign projects",
		d->c->project, own, own == 1 ? "" : "s", stray);
	strv_free(&lines);
	return 0;
}

/* The checkout is at ro->target: read its compose config (unless the compose directory did not
 * change since it was read) and write the override that tags the images with the commit. */
static int prepare(struct rollout *ro)
{
	struct docker *d = ro->rt;
	const char *names[LEDGER_MAX_SERVICES], *tags[LEDGER_MAX_SERVICES];
	struct strv envs[LEDGER_MAX_SERVICES] = {{0}};
	const struct strv *envp[LEDGER_MAX_SERVICES];
	char err[1024];
	size_t n = 0;
	int r;

	set_commit_env(ro->target);
	if (streq(d->tagged_for, ro->target))
		return 0;
	if (!d->c->parsed || (!streq(d->parsed_at, ro->target) &&
			      (!streq(d->parsed_at, ro->prev) ||
			       compose_dir_changed(ro->cfg->docker.workdir, &ro->changed)))) {
		r = compose_config_read(d->c, err, sizeof(err));
		if (r < 0) {
			op_fail(ro->op, "%s", err);
			log_error("%s", err);
			return SL_EFAILED;
		}
		strlcpy_(d->parsed_at, ro->target, sizeof(d->parsed_at));
	}
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = svc(ro, i);
		struct docker_svc *ds = &d->svc[svc_index(ro, s)];

		ds->tag[0] = '\0';
		if (!compose_has_service(d->c, s->compose)) {
			op_fail(ro->op,
				"compose service '%s' of service '%s' is not defined at %.12s",
				s->compose, s->name, ro->target);
			log_error("%s", ro->op->error);
			return SL_EFAILED;
		}
		/* the service's own environment ([service X] env_file, env) */
		env_collect_own(ro->cfg, s, &envs[n]);
		envp[n] = &envs[n];
		names[n] = s->compose;
		tags[n] = "";
		if (compose_has_build(d->c, s->compose)) {
			compose_image_tag(ro->cfg->docker.project, s->compose, ro->target, ds->tag,
					  sizeof(ds->tag));
			tags[n] = ds->tag;
		}
		if (envs[n].n) {
			_cleanup_free_ char *list = env_names(&envs[n]);
			out_say("environment of %s: %s", s->name, list);
		}
		n++;
	}
	r = compose_override_write(d->c, names, tags, envp, n);
	for (size_t i = 0; i < n; i++)
		strv_free(&envs[i]);
	if (r < 0) {
		op_fail(ro->op, "cannot write the compose override file: %s", strerror(-r));
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	for (size_t i = 0; i < n; i++)
		if (tags[i][0])
			out_say("image of %s: %s", names[i], tags[i]);
	out_say("compose runs with SHIPLOG_COMMIT=%s and the override %s", ro->target,
		d->c->override);
	strlcpy_(d->tagged_for, ro->target, sizeof(d->tagged_for));
	return 0;
}

/* Which images of the services in scope are missing: missing[i] per plan index. */
static int images_missing(struct rollout *ro, bool *missing, size_t *nmissing)
{
	struct docker *d = ro->rt;
	const char *refs[LEDGER_MAX_SERVICES] = {0};
	size_t idx[LEDGER_MAX_SERVICES], n = 0;
	bool exists[LEDGER_MAX_SERVICES];
	int r;

	*nmissing = 0;
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct docker_svc *ds = &d->svc[svc_index(ro, svc(ro, i))];
		missing[i] = false;
		if (ds->tag[0]) {
			idx[n] = i;
			refs[n++] = ds->tag;
		}
	}
	r = compose_images_exist(d->c, refs, n, exists);
	if (r < 0) {
		op_fail(ro->op, "cannot list the docker images: %s", sl_strerror(r));
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	for (size_t k = 0; k < n; k++) {
		missing[idx[k]] = !exists[k];
		if (!exists[k])
			(*nmissing)++;
	}
	return 0;
}

static int docker_build(struct rollout *ro)
{
	struct docker *d = ro->rt;
	const char *args[LEDGER_MAX_SERVICES + 8];
	bool missing[LEDGER_MAX_SERVICES];
	size_t nmissing, k = 0;
	int r;

	r = prepare(ro);
	if (r < 0)
		return r;
	r = images_missing(ro, missing, &nmissing);
	if (r < 0)
		return r;
	args[k++] = "build";
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = svc(ro, i);
		const struct docker_svc *ds = &d->svc[svc_index(ro, s)];
		if (!ds->tag[0])
			out_say("%s: no build section: nothing to build", s->compose);
		else if (!missing[i])
			out_say("image %s exists: not rebuilt", ds->tag);
		else
			args[k++] = s->compose;
	}
	args[k] = NULL;
	if (!nmissing) {
		out_say("every image exists: nothing to build");
		return 0;
	}
	r = compose_step(ro, false, "build", args, false, NULL);
	return r < 0 ? SL_EFAILED : 0;
}

/* The container of a compose service (a running one first), or NULL. */
static const struct compose_container *find_container(const struct compose_container *cts, size_t n,
						      const char *service)
{
	const struct compose_container *best = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!streq(cts[i].service, service))
			continue;
		if (!best || (streq(cts[i].status, "running") && !streq(best->status, "running")))
			best = &cts[i];
	}
	return best;
}

/* --no-build: every image of the services in scope must exist already. */
static int images_present(struct rollout *ro)
{
	struct docker *d = ro->rt;
	bool missing[LEDGER_MAX_SERVICES];
	size_t nmissing;
	int r = images_missing(ro, missing, &nmissing);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ro->plan.nservices; i++) {
		if (!missing[i])
			continue;
		op_fail(ro->op,
			"image %s of service '%s' does not exist and --no-build was given; deploy "
			"without --no-build to build it",
			d->svc[svc_index(ro, svc(ro, i))].tag, svc(ro, i)->name);
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	return 0;
}

/* What 'up' did to service s's container (b before, a after; either may be NULL): recorded as
 * its unit.restarted and said. false when it has no container after. */
static bool restart_note(struct rollout *ro, const struct service *s,
			 const struct compose_container *b, const struct compose_container *a,
			 bool up_failed, int64_t dur)
{
	struct docker_svc *ds = &((struct docker *)ro->rt)->svc[svc_index(ro, s)];
	char bid[16] = "", aid[16] = "", bimg[16] = "", aimg[16] = "";
	const char *result;

	if (b) {
		short_id(b->id, bid, sizeof(bid));
		short_id(b->image_id, bimg, sizeof(bimg));
	}
	if (a) {
		short_id(a->id, aid, sizeof(aid));
		short_id(a->image_id, aimg, sizeof(aimg));
	}
	if (!a)
		result = "missing";
	else if (!b)
		result = "started";
	else if (!streq(a->id, b->id))
		result = "recreated";
	else
		result = "unchanged";
	strlcpy_(ds->container, a ? a->id : "", sizeof(ds->container));
	strlcpy_(ds->image_before, b ? b->image_id : "", sizeof(ds->image_before));
	rollout_record_restart(ro, s,
			       a   ? a->name
			       : b ? b->name
				   : s->compose,
			       up_failed && !a ? "failed" : result, dur, bid, aid);
	if (!a) {
		out_say("%s: no container after 'up'", s->compose);
		op_fail(ro->op, "compose service '%s' has no container after 'up'", s->compose);
		return false;
	}
	out_say("%s: container %s %s -> %s (%s), image %s -> %s (%s)", s->compose, a->name,
		bid[0] ? bid : "(none)", aid, result, bimg[0] ? bimg : "(none)", aimg, a->image);
	return true;
}

static int docker_restart(struct rollout *ro)
{
	struct docker *d = ro->rt;
	struct compose_container *before = NULL, *after = NULL;
	size_t nbefore = 0, nafter = 0, k = 0;
	const char *args[LEDGER_MAX_SERVICES + 8];
	int64_t t0, dur;
	int r, failed = 0;

	r = prepare(ro);
	if (r < 0)
		return r;
	if (ro->no_build) {
		r = images_present(ro);
		if (r < 0)
			return r;
	}
	r = compose_containers(d->c, true, &before, &nbefore);
	if (r < 0) {
		op_fail(ro->op, "cannot list the containers of compose project '%s'",
			d->c->project);
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	args[k++] = "up";
	args[k++] = "-d";
	args[k++] = "--no-deps";  /* the services in scope only: others keep their containers */
	args[k++] = "--no-build"; /* built (or found) above: never a hidden build here */
	if (ro->force_recreate)
		args[k++] = "--force-recreate";
	for (size_t i = 0; i < ro->plan.nservices; i++)
		args[k++] = svc(ro, i)->compose;
	args[k] = NULL;
	t0 = mono_ns();
	r = compose_step(ro, false, "up", args, false, NULL);
	dur = mono_ns() - t0;
	if (compose_containers(d->c, true, &after, &nafter) < 0)
		log_warn("cannot list the containers after 'up'");

	for (size_t i = 0; i < ro->plan.nservices; i++) {
		const struct service *s = svc(ro, i);
		const struct compose_container *b = find_container(before, nbefore, s->compose);
		const struct compose_container *a = find_container(after, nafter, s->compose);

		failed += !restart_note(ro, s, b, a, r < 0, dur);
	}
	free(before);
	free(after);
	return r < 0 || failed ? SL_EFAILED : 0;
}

/* Runs `compose logs` without letting a failure of the logs themselves become the operation's
 * error. */
static void show_logs(struct rollout *ro, const char *const *services, size_t n)
{
	const char *args[LEDGER_MAX_SERVICES + 8];
	char saved[sizeof(ro->op->error)];
	size_t k = 0;

	if (!n)
		return;
	args[k++] = "logs";
	args[k++] = "--no-color";
	args[k++] = "--tail=100";
	for (size_t i = 0; i < n && k < ELEMENTSOF(args) - 1; i++)
		args[k++] = services[i];
	args[k] = NULL;
	memcpy(saved, ro->op->error, sizeof(saved));
	compose_step(ro, false, "logs", args, false, NULL);
	memcpy(ro->op->error, saved, sizeof(saved));
}

/* The progress line while verify polls: "4 of 6 stable, settle 0.6s left" in the settle window,
 * then the healthchecks still starting against the health timeout. */
static void verify_progress(struct rollout *ro, const struct compose_container *cur,
			    const bool *bad, size_t n, bool settling, int64_t settle_end,
			    int64_t health_end)
{
	struct buf starting = {0};
	size_t stable = 0;

	for (size_t i = 0; i < n; i++) {
		if (bad[i])
			continue;
		if (streq(cur[i].health, "starting"))
			buf_printf(&starting, "%s%s", starting.len ? ", " : "",
				   cur[i].name[0] ? cur[i].name : svc(ro, i)->compose);
		else
			stable++;
	}
	if (settling)
		op_waiting(ro->op, "settle", settle_end, "%zu of %zu stable%s%s", stable, n,
			   starting.len ? ", healthcheck starting: " : "",
			   starting.len ? starting.data : "");
	else
		op_waiting(ro->op, "health timeout", health_end,
			   "%zu of %zu stable, healthcheck starting: %s", stable, n,
			   starting.len ? starting.data : "-");
	buf_free(&starting);
}

/* Each container running, not restarting and keeping its restart count and start time for the
 * whole settle window; a container with a healthcheck must also turn healthy within the health
 * timeout. */
/* Containers not known from a restart in this process: looked up by compose service. */
static void find_containers(struct rollout *ro)
{
	struct docker *d = ro->rt;
	struct compose_container *cts = NULL;
	size_t nc = 0;
	bool known = true;

	for (size_t i = 0; i < ro->plan.nservices; i++)
		known = known && d->svc[svc_index(ro, svc(ro, i))].container[0];
	if (known || compose_containers(d->c, true, &cts, &nc) < 0) {
		free(cts);
		return;
	}
	for (size_t j = 0; j < ro->plan.nservices; j++) {
		const struct compose_container *a = find_container(cts, nc, svc(ro, j)->compose);
		struct docker_svc *ds = &d->svc[svc_index(ro, svc(ro, j))];
		if (a && !ds->container[0])
			strlcpy_(ds->container, a->id, sizeof(ds->container));
	}
	free(cts);
}

/* One look at a container against the first: 1 it failed (detail says how), 2 its healthcheck
 * is still starting, 0 running and stable so far. */
static int container_judge(const struct compose_container *f, const struct compose_container *c,
			   char *detail, size_t n)
{
	if (streq(c->status, "missing")) {
		snprintf(detail, n, "no container");
	} else if (c->restarting || !streq(c->status, "running")) {
		snprintf(detail, n, "%s (exit code %d, %u restarts)",
			 c->restarting ? "restarting" : c->status, c->exit_code, c->restart_count);
	} else if (c->restart_count != f->restart_count || !streq(c->started_at, f->started_at)) {
		snprintf(detail, n,
			 "restarted during the settle window (restart count %u -> %u, started "
			 "%.19s -> %.19s)",
			 f->restart_count, c->restart_count, f->started_at, c->started_at);
	} else if (streq(c->health, "unhealthy")) {
		snprintf(detail, n, "its healthcheck says unhealthy");
	} else {
		return streq(c->health, "starting") ? 2 : 0;
	}
	return 1;
}

/* The containers checked in one verify: what each looked like first and last, and the verdict
 * so far. */
struct settle {
	char *ids[LEDGER_MAX_SERVICES];
	struct compose_container first[LEDGER_MAX_SERVICES], cur[LEDGER_MAX_SERVICES];
	char detail[LEDGER_MAX_SERVICES][512];
	bool bad[LEDGER_MAX_SERVICES];
	uint32_t polls;
};

/* Polls the containers until the settle window ends with none waiting for its healthcheck, or
 * the health timeout. SL_EFAILED (said) when they cannot be inspected. */
static int settle_poll(struct rollout *ro, struct settle *st, int64_t t0)
{
	struct docker *d = ro->rt;
	size_t n = ro->plan.nservices;
	int64_t settle_end = t0 + ro->cfg->policy.settle_ns,
		health_end = t0 + ro->cfg->policy.health_timeout_ns;
	char dur[32];
	int r;

	if (health_end < settle_end)
		health_end = settle_end;
	op_waiting(ro->op, "settle", settle_end, "inspecting %zu container%s", n,
		   n == 1 ? "" : "s");
	r = compose_inspect(d->c, st->ids, n, st->first);
	for (;;) {
		bool waiting = false;
		int64_t now;

		st->polls++;
		if (r == 0)
			r = compose_inspect(d->c, st->ids, n, st->cur);
		if (r < 0) {
			op_fail(ro->op, "cannot inspect the containers: %s", sl_strerror(r));
			log_error("%s", ro->op->error);
			return SL_EFAILED;
		}
		for (size_t i = 0; i < n; i++) {
			int v = st->bad[i] ? 1
					   : container_judge(&st->first[i], &st->cur[i],
							     st->detail[i], sizeof(st->detail[i]));
			st->bad[i] = v == 1;
			waiting = waiting || v == 2;
		}
		now = mono_ns();
		if (now >= settle_end && !waiting)
			return 0;
		verify_progress(ro, st->cur, st->bad, n, now < settle_end, settle_end, health_end);
		if (now >= health_end)
			break;
		usleep(POLL_NS / 1000);
	}
	format_duration(ro->cfg->policy.health_timeout_ns, dur, sizeof(dur));
	for (size_t i = 0; i < n; i++)
		if (!st->bad[i] && streq(st->cur[i].health, "starting")) {
			snprintf(st->detail[i], sizeof(st->detail[i]),
				 "healthcheck still starting after %s", dur);
			st->bad[i] = true;
		}
	return 0;
}

/* The settle window as one step: `docker inspect ID...`, polled N times over its duration. */
static void settle_record(struct rollout *ro, const struct settle *st, int64_t t0)
{
	struct docker *d = ro->rt;
	struct strv v = {0};
	char suffix[96], dur[32];

	strv_push(&v, "docker");
	strv_push(&v, "inspect");
	for (size_t i = 0; i < ro->plan.nservices; i++)
		strv_push_take(&v, xstrndup(st->ids[i], 12));
	format_duration(mono_ns() - t0, dur, sizeof(dur));
	snprintf(suffix, sizeof(suffix), "# polled %u times over %s", st->polls, dur);
	op_record_step(ro->op, "settle", v.v, d->c->workdir, 0, mono_ns() - t0, suffix);
	strv_free(&v);
}

/* A container that passed: what runs, how long it was stable, and the image it replaced. */
static void container_ok_detail(const struct rollout *ro, const struct docker_svc *ds,
				const struct compose_container *c, char *detail, size_t n)
{
	bool changed = ds->image_before[0] && !streq(ds->image_before, c->image_id);
	char img[16], was[16], sett[32];

	format_duration(ro->cfg->policy.settle_ns, sett, sizeof(sett));
	short_id(c->image_id, img, sizeof(img));
	short_id(ds->image_before, was, sizeof(was));
	snprintf(detail, n, "running, %u restarts, stable for %s%s%s; image %s (%s)%s%s",
		 c->restart_count, sett, c->health[0] ? ", " : "", c->health, c->image, img,
		 changed ? ", was " : "", changed ? was : "");
}

static int docker_verify(struct rollout *ro)
{
	struct docker *d = ro->rt;
	size_t n = ro->plan.nservices, nbad = 0;
	const char *bad_svcs[LEDGER_MAX_SERVICES], *all_svcs[LEDGER_MAX_SERVICES];
	struct settle *st = xcalloc(1, sizeof(*st));
	int64_t t0 = mono_ns();
	int r;

	find_containers(ro);
	for (size_t i = 0; i < n; i++) {
		const char *id = d->svc[svc_index(ro, svc(ro, i))].container;
		st->ids[i] = (char *)(id[0] ? id : "none");
		all_svcs[i] = svc(ro, i)->compose;
	}
	r = settle_poll(ro, st, t0);
	if (r < 0)
		goto out;
	op_waiting(ro->op, NULL, 0, NULL);
	settle_record(ro, st, t0);
	for (size_t i = 0; i < n; i++) {
		const struct service *s = svc(ro, i);
		const struct compose_container *c = &st->cur[i];
		const char *name = c->name[0] ? c->name : s->compose;

		if (!st->bad[i])
			container_ok_detail(ro, &d->svc[svc_index(ro, s)], c, st->detail[i],
					    sizeof(st->detail[i]));
		rollout_record_health(ro, s, "container", name, !st->bad[i], st->polls, 0,
				      st->detail[i]);
		out_say("%s %s: %s", st->bad[i] ? "FAIL" : "ok", name, st->detail[i]);
		if (st->bad[i]) {
			op_fail(ro->op, "container of %s: %s", s->compose, st->detail[i]);
			bad_svcs[nbad++] = s->compose;
		}
	}
	if (nbad) {
		show_logs(ro, bad_svcs, nbad);
		r = SL_EFAILED;
	} else if (ro->fast) {
		out_say("--fast: skipped '%s logs --tail=100'", compose_command_name(d->c));
	} else {
		show_logs(ro, all_svcs, n);
	}
out:
	free(st);
	return r;
}

static int docker_stop(struct rollout *ro, const size_t *svcs, size_t n)
{
	struct docker *d = ro->rt;
	struct compose_container *cts = NULL;
	const char *args[LEDGER_MAX_SERVICES + 8];
	size_t nc = 0, k = 0;
	int r;

	r = compose_containers(d->c, true, &cts, &nc);
	if (r < 0) {
		op_fail(ro->op, "cannot list the containers of compose project '%s'",
			d->c->project);
		log_error("%s", ro->op->error);
		return SL_EFAILED;
	}
	args[k++] = "stop";
	for (size_t i = 0; i < n; i++) {
		const struct service *s = &ro->cfg->services[svcs[i]];
		bool any = false;
		for (size_t j = 0; j < nc && k < ELEMENTSOF(args) - 1; j++) {
			if (!streq(cts[j].service, s->compose) || !streq(cts[j].status, "running"))
				continue;
			args[k++] = cts[j].name;
			any = true;
		}
		if (!any)
			out_say("%s: no running container in compose project %s: nothing to stop",
				s->compose, d->c->project);
	}
	args[k] = NULL;
	r = k > 1 ? compose_step(ro, true, "stop", args, false, NULL) : 0;
	free(cts);
	return r < 0 ? SL_EFAILED : 0;
}

const struct runtime_ops docker_runtime_ops = {
    .name = "docker",
    .open = docker_open,
    .close = docker_close,
    .precheck = docker_precheck,
    .build = docker_build,
    .restart = docker_restart,
    .verify = docker_verify,
    .stop = docker_stop,
};
