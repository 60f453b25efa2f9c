/* SPDX-License-Identifier: MIT */
/* One job per host for fanout_run(): the ssh argv (or, for ssh = local, the program in the
 * checkout), ssh's own log and the remote's stderr in a private scratch directory, then each
 * result read back as an answer with a one-line reason when there is none. */
#include "fleet-read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanout.h"
#include "out.h"
#include "remote.h"

int fleet_read_select(const struct config *cfg, const char *name, size_t *sel, size_t *nsel)
{
	*nsel = 0;
	if (cfg->nhosts == 0) {
		log_error("%s has no [host NAME] section: --host and --all-hosts need the fleet's "
			  "hosts (docs/fleet.md)",
			  cfg->path);
		return SL_EUSAGE;
	}
	for (size_t i = 0; i < cfg->nhosts; i++)
		if (!name || streq(cfg->hosts[i].name, name))
			sel[(*nsel)++] = i;
	if (*nsel == 0) {
		log_error("no host '%s' in %s; its hosts are the [host NAME] sections", name,
			  cfg->path);
		return SL_EUSAGE;
	}
	return 0;
}

/* What one host's job needs and keeps alive until it ran. */
struct fleet_job {
	struct strv argv;
	char *ssh_log, *err_path;
};

static void fleet_job_argv(const struct config *cfg, const struct host *h, const struct strv *words,
			   const char *control_path, struct fleet_job *j)
{
	if (h->local) {
		strv_push(&j->argv, config_host_shiplog(cfg, h));
		for (size_t i = 0; i < words->n; i++)
			strv_push(&j->argv, words->v[i]);
		return;
	}
	/* the config allow-listed h->ssh: remote_ssh_argv() cannot refuse it */
	remote_ssh_argv(&(struct remote_host){.ssh = h->ssh,
					      .ssh_key = config_host_ssh_key(cfg, h),
					      .ssh_options = &h->ssh_options,
					      .more_options = &cfg->target.ssh_options,
					      .checkout = h->checkout,
					      .shiplog = config_host_shiplog(cfg, h),
					      .log_path = j->ssh_log,
					      .control_path = control_path},
			words->v, (int)words->n, &j->argv);
}

/* The last non-empty line of a file (malloc'd), or NULL. */
static char *last_line(const char *path)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL, *last = NULL;
	size_t len = 0;

	if (read_file(path, 65536, &text, &len) < 0 || !text)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (*str_trim(line))
			last = line;
	return last ? xstrdup(last) : NULL;
}

static char *answer_error(const struct config *cfg, const struct host *h,
			  const struct fanout_result *fr, const struct fleet_job *j,
			  int64_t timeout_ns)
{
	const char *where = h->local ? "this machine" : h->ssh;
	_cleanup_free_ char *said = NULL;

	if (fr->r < 0)
		return xasprintf("cannot run %s: %s", j->argv.v[0], strerror(-fr->r));
	if (fr->res.timed_out)
		return xasprintf("no answer from %s within %llds; the host or its network is slow "
				 "or down",
				 where, (long long)(timeout_ns / 1000000000LL));
	if (fr->res.exit_code == REMOTE_EXIT_SSH && !h->local) {
		char *why = remote_ssh_failure(h->ssh, j->ssh_log);
		return why ? why
			   : xasprintf("the ssh connection to '%s' failed or was lost", where);
	}
	if (fr->res.exit_code == REMOTE_EXIT_NO_CHECKOUT && !h->local)
		return xasprintf("no checkout at '%s' on %s; fix [host %s] checkout", h->checkout,
				 where, h->name);
	if (fr->res.exit_code == REMOTE_EXIT_NO_SHIPLOG || fr->res.exit_code == 126)
		return xasprintf("no runnable shiplog '%s' on %s; install it or set [host %s] "
				 "shiplog",
				 config_host_shiplog(cfg, h), where, h->name);
	said = last_line(j->err_path);
	if (said && str_startswith(said, "shiplog: "))
		return xstrdup(said + strlen("shiplog: "));
	return said ? xstrdup(said) : xasprintf("its shiplog exited %d", fr->res.exit_code);
}

static void answer_take(const struct config *cfg, const struct host *h, struct fanout_result *fr,
			const struct fleet_job *j, int64_t timeout_ns, struct fleet_answer *a)
{
	*a = (struct fleet_answer){.host = h, .duration_ns = fr->res.duration_ns};
	a->out = fr->res.output ? fr->res.output : xstrdup("");
	fr->res.output = NULL;
	a->exit_code = fr->r < 0 || fr->res.timed_out ? -1 : fr->res.exit_code;
	if (a->exit_code == REMOTE_EXIT_SSH || a->exit_code == REMOTE_EXIT_NO_CHECKOUT ||
	    a->exit_code == REMOTE_EXIT_NO_SHIPLOG || a->exit_code == 126)
		a->exit_code = -1;
	if (a->exit_code != 0)
		a->error = answer_error(cfg, h, fr, j, timeout_ns);
	else if (fr->res.dropped) {
		/* only its tail was kept: shown, it would pass for the whole answer */
		a->withheld = true;
		a->exit_code = -1;
		a->out[0] = '\0';
		a->error = xasprintf(
		    "its answer is over the " FLEET_READ_MAX_TEXT
		    " that --all-hosts holds per host "
		    "(%zu bytes more) and is not shown cut; read it whole with --host %s, or "
		    "narrow it (--limit N, --since T)",
		    fr->res.dropped, h->name);
	}
}

/* The scratch directory of one read (ssh logs, stderr): 0700, removed after. */
static char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/shiplog-fleet.XXXXXX", str_empty(tmp) ? "/tmp" : tmp);

	if (!mkdtemp(dir)) {
		log_error("cannot create a temporary directory '%s': %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static void jobs_release(struct fleet_job *jobs, size_t n, char *dir)
{
	for (size_t i = 0; i < n; i++) {
		unlink(jobs[i].ssh_log);
		unlink(jobs[i].err_path);
		free(jobs[i].ssh_log), free(jobs[i].err_path);
		strv_free(&jobs[i].argv);
	}
	free(jobs);
	if (dir)
		rmdir(dir);
	free(dir);
}

int fleet_read_run(const struct config *cfg, const size_t *sel, size_t nsel,
		   const struct strv *words, int64_t timeout_ns, struct fleet_answer *answers)
{
	_cleanup_free_ char *control = remote_control_path();
	_cleanup_free_ struct fanout_job *fj = xcalloc(nsel ? nsel : 1, sizeof(*fj));
	_cleanup_free_ struct fanout_result *fr = xcalloc(nsel ? nsel : 1, sizeof(*fr));
	struct fleet_job *jobs = xcalloc(nsel ? nsel : 1, sizeof(*jobs));
	char *dir = scratch_dir();
	int r;

	if (!dir) {
		jobs_release(jobs, 0, NULL);
		return SL_EENV;
	}
	for (size_t i = 0; i < nsel; i++) {
		const struct host *h = &cfg->hosts[sel[i]];
		jobs[i].ssh_log = xasprintf("%s/%zu.ssh", dir, i);
		jobs[i].err_path = xasprintf("%s/%zu.err", dir, i);
		fleet_job_argv(cfg, h, words, control, &jobs[i]);
		fj[i] = (struct fanout_job){.argv = jobs[i].argv.v,
					    .cwd = h->local ? h->checkout : NULL,
					    .stderr_path = jobs[i].err_path};
	}
	r = fanout_run(fj, nsel, 0, timeout_ns, fr);
	if (r < 0) {
		log_error("cannot start the fleet's queries: %s", strerror(-r));
		jobs_release(jobs, nsel, dir);
		return SL_EENV;
	}
	for (size_t i = 0; i < nsel; i++)
		answer_take(cfg, &cfg->hosts[sel[i]], &fr[i], &jobs[i], timeout_ns, &answers[i]);
	fanout_results_release(fr, nsel);
	jobs_release(jobs, nsel, dir);
	return 0;
}

int fleet_read_stream(const struct config *cfg, size_t host, const struct strv *words,
		      int64_t timeout_ns, struct fleet_answer *answer)
{
	const struct host *h = &cfg->hosts[host];
	struct fleet_job *job = xcalloc(1, sizeof(*job));
	struct fanout_result fr = {0};
	char *dir = scratch_dir();

	if (!dir) {
		jobs_release(job, 0, NULL);
		return SL_EENV;
	}
	job->ssh_log = xasprintf("%s/0.ssh", dir);
	job->err_path = xasprintf("%s/0.err", dir);
	fleet_job_argv(cfg, h, words, NULL, job);
	/* not captured: the answer goes to our stdout as it comes, whatever its size */
	fflush(stdout);
	fr.r = spawn_run(
	    job->argv.v,
	    &(struct spawn_opts){.cwd = h->local ? h->checkout : NULL, .timeout_ns = timeout_ns},
	    &fr.res);
	answer_take(cfg, h, &fr, job, timeout_ns, answer);
	fanout_results_release(&fr, 1);
	jobs_release(job, 1, dir);
	return 0;
}

void fleet_answers_release(struct fleet_answer *answers, size_t n)
{
	for (size_t i = 0; answers && i < n; i++) {
		free(answers[i].out);
		free(answers[i].error);
		answers[i] = (struct fleet_answer){0};
	}
}
