/* SPDX-License-Identifier: MIT */
/* One host's part of a fleet operation: its own shiplog, run over ssh (remote_ssh_argv, the
 * same primitive as forwarding) or here for a `local` host, with --json; its result line says
 * the host's operation number, outcome and commits. Whatever goes wrong becomes the result's
 * outcome and detail: a host never stops the controller. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"
#include "out.h"
#include "remote.h"
#include "spawn.h"

static void result_set(struct fleet_result *r, const char *outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void result_set(struct fleet_result *r, const char *outcome, const char *fmt, ...)
{
	va_list ap;

	strlcpy_(r->outcome, outcome, sizeof(r->outcome));
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* The result line: the last line of the output that is a JSON object with an outcome. */
static bool result_parse(const char *out, struct fleet_result *r)
{
	const char *line = out ? out + strlen(out) : NULL;

	while (line && line > out) {
		const char *start = line - 1;
		json_t *o, *v;

		while (start > out && start[-1] != '\n')
			start--;
		if (*start == '{' && (o = json_loadb(start, (size_t)(line - start), 0, NULL))) {
			v = json_object_get(o, "outcome");
			if (json_is_string(v)) {
				strlcpy_(r->outcome, json_string_value(v), sizeof(r->outcome));
				r->host_op =
				    (uint64_t)json_integer_value(json_object_get(o, "number"));
				strlcpy_(r->commit,
					 json_string_value(json_object_get(o, "commit"))
					     ? json_string_value(json_object_get(o, "commit"))
					     : "",
					 sizeof(r->commit));
				v = json_object_get(o, "prev_commit");
				strlcpy_(r->prev, json_is_string(v) ? json_string_value(v) : "",
					 sizeof(r->prev));
				v = json_object_get(o, "error");
				strlcpy_(r->detail, json_is_string(v) ? json_string_value(v) : "",
					 sizeof(r->detail));
				json_decref(o);
				return true;
			}
			json_decref(o);
		}
		line = start > out ? start - 1 : NULL;
	}
	return false;
}

/* The last thing the host said: its last "shiplog: " line, else its last line. */
static void last_words(const char *out, char *buf, size_t n)
{
	const char *best = NULL, *last = NULL;

	buf[0] = '\0';
	for (const char *l = out; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len) {
			last = l;
			if (str_startswith(l, "shiplog: "))
				best = l;
		}
		l = nl ? nl + 1 : NULL;
	}
	if (!best)
		best = last;
	if (best)
		snprintf(buf, n, "%.*s", (int)strcspn(best, "\n"), best);
}

/* No result line: what the exit status says. */
static void result_from_exit(const struct fleet_host_run *run, const struct spawn_result *res,
			     const char *log_path, struct fleet_result *r)
{
	const struct host *h = run->host;
	_cleanup_free_ char *why = NULL;
	char said[400];

	last_words(res->output, said, sizeof(said));
	if (res->timed_out)
		result_set(
		    r, "error",
		    "no answer within the host timeout; what reached the host goes on there");
	else if (!h->local && res->exit_code == REMOTE_EXIT_SSH) {
		why = remote_ssh_failure(h->ssh, log_path);
		result_set(
		    r, "unreachable", "%s",
		    why ? why
			: "the ssh connection failed or was lost; a command that reached the "
			  "host goes on there (see 'shiplog history' there)");
	} else if (!h->local && res->exit_code == REMOTE_EXIT_NO_CHECKOUT)
		result_set(r, "error", "no checkout at '%s' on the host; fix [host %s] checkout",
			   h->checkout, h->name);
	else if (res->exit_code == REMOTE_EXIT_NO_SHIPLOG || res->exit_code == 126)
		result_set(r, "error",
			   "no runnable shiplog '%s' on the host; set [host %s] shiplog",
			   run->shiplog, h->name);
	else if (res->exit_code == EXIT_REFUSED)
		result_set(r, "refused", "%s", said);
	else if (res->exit_code == EXIT_INTERRUPTED)
		result_set(r, "interrupted", "exit %d: %s", res->exit_code, said);
	else
		result_set(r, res->exit_code == EXIT_DEPLOY_FAILED ? "failed" : "error",
			   "exit %d: %s", res->exit_code, said);
}

/* The program and its arguments: ssh to the host, or this shiplog in the host's checkout. */
static int host_argv(const struct fleet_host_run *run, const char *log_path, struct strv *argv)
{
	const struct host *h = run->host;

	if (h->local) {
		/* --forwarded-from: the run detaches from us as a forwarded command does on a
		 * remote host, so that a lost controller (its watchdog ends our side) never cuts
		 * it mid-step; --local keeps it recorded as run here, not over ssh */
		strv_push(argv, run->shiplog);
		strv_push(argv, "-C");
		strv_push(argv, h->checkout);
		strv_push(argv, "--forwarded-from");
		strv_push(argv, actor_string());
		for (size_t i = 0; i < run->words->n; i++)
			strv_push(argv, run->words->v[i]);
		strv_push(argv, "--local");
		return 0;
	}
	return remote_ssh_argv(&(struct remote_host){.ssh = h->ssh,
						     .ssh_key = run->ssh_key,
						     .ssh_options = &h->ssh_options,
						     .more_options = run->more_options,
						     .checkout = h->checkout,
						     .shiplog = run->shiplog,
						     .log_path = log_path,
						     .control_path = run->control_path},
			       run->words->v, (int)run->words->n, argv);
}

void fleet_run_host(const struct fleet_host_run *run, struct fleet_result *r)
{
	/* its own process group (the terminal's ^C is the controller's to handle: the host's
	 * command is waited for, not cut), never aborted from here */
	static volatile sig_atomic_t never;
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *log_path =
	    xasprintf("%s/shiplog-fleet-ssh.XXXXXX", str_empty(tmp) ? "/tmp" : tmp);
	struct spawn_opts so = {
	    .capture = true, .timeout_ns = run->timeout_ns, .abort_flag = &never};
	struct spawn_result res = {0};
	struct strv argv = {0};
	int fd = mkstemp(log_path), rc;

	if (fd >= 0)
		close(fd);
	rc = host_argv(run, fd >= 0 ? log_path : NULL, &argv);
	if (rc < 0) {
		result_set(r, "error", "[host %s] ssh is not user@host[:port]", run->host->name);
		goto out;
	}
	rc = spawn_run(argv.v, &so, &res);
	r->duration_ns = res.duration_ns;
	if (rc < 0)
		result_set(r, "error", "cannot run '%s': %s", argv.v[0], strerror(-rc));
	else if (!result_parse(res.output, r))
		result_from_exit(run, &res, fd >= 0 ? log_path : NULL, r);
out:
	if (fd >= 0)
		unlink(log_path);
	spawn_result_release(&res);
	strv_free(&argv);
}
