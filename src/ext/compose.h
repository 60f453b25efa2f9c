/* SPDX-License-Identifier: MIT */
/* The one home of the docker and compose CLIs: finding them, running them (argv only, never a
 * shell), and reading what they print (container JSON from `docker inspect`, `compose config`).
 * docker.c builds the runtime on top of this.
 *
 * Compose is `docker compose` (v2) when it answers, else `docker-compose` (v1, what Debian 12
 * ships). Every compose command runs as
 *   <compose> -p PROJECT -f WORKDIR/<file> [-f OVERRIDE] --project-directory WORKDIR ARGS...
 * in WORKDIR. The override file (written by compose_override_write() into a private temporary
 * directory removed by compose_free()) tags the images of the services being deployed
 * <project>-<service>:<commit12>. compose.c records nothing: the commands with side effects are
 * built here (compose_argv) and run by the caller, and each read-only probe compose runs itself
 * is reported to the caller's observer, which records it (docker.c: step.ran). */
#ifndef SHIPLOG_COMPOSE_H
#define SHIPLOG_COMPOSE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spawn.h"
#include "util.h"

#define COMPOSE_ID_MAX 72

/* Told of each command compose ran itself (read-only: version checks, `config`, `ps`, `inspect`,
 * `image ls`), after it ran, with its result; record = false for polling (only its time
 * counts). ran NULL: nothing is told. waiting (may be NULL) is told before each recorded one
 * runs, with its short form (compose_describe), and with NULL once it has run: what the caller's
 * progress line shows as waited for. Polls are not told: the caller says what it polls for. */
struct compose_observer {
	void (*ran)(void *arg, const char *what, char *const argv[], const char *cwd,
		    const struct spawn_result *res, bool record);
	void (*waiting)(void *arg, const char *what, const char *shown);
	void *arg;
};

struct compose {
	struct compose_observer obs; /* from compose_open */
	char *docker;		     /* absolute path of the docker client */
	char *v1;	       /* absolute path of docker-compose when v1 is used, else NULL (v2) */
	char *workdir;	       /* absolute compose directory */
	char *file;	       /* absolute compose file in workdir */
	char *project;	       /* -p */
	char *tmpdir;	       /* private directory of the override, NULL until written */
	char *override;	       /* the override file, NULL when none */
	struct strv services;  /* compose services defined (from `config`) */
	struct strv built;     /* ... of which have a build section */
	char version_line[64]; /* the file's top-level "version:" line, "" when none */
	bool parsed;
};

/* One container of the project, from `docker inspect`. */
struct compose_container {
	char id[COMPOSE_ID_MAX]; /* full container id */
	char name[128];		 /* without the leading '/' */
	char service[64];	 /* com.docker.compose.service */
	char status[16];	 /* State.Status: running, restarting, exited, ... */
	bool restarting;
	uint32_t restart_count;
	char health[16]; /* State.Health.Status, "" without a healthcheck */
	int exit_code;
	char image_id[COMPOSE_ID_MAX]; /* sha256:... */
	char image[160];	       /* Config.Image: the tag it was created from */
	char started_at[48];
	uint32_t pid; /* State.Pid, 0 when not running */
};

/* Finds the client and compose, checks that the engine answers. checkout + workdir name the
 * compose directory. SL_EENV with a message in err saying what is missing and how to fix it. */
int compose_open(struct compose **out, const struct compose_observer *obs, const char *checkout,
		 const char *workdir, const char *project, char *err, size_t errlen);
/* Removes the override directory. Accepts NULL. */
void compose_free(struct compose *c);

/* "docker compose" or "docker-compose" (for messages). */
const char *compose_command_name(const struct compose *c);

/* Locates the compose file (docker-compose.yml, docker-compose.yaml, compose.yaml, compose.yml)
 * and runs `config`, recording which services exist and which have a build section. SL_EREFUSED
 * with err when there is no compose file or compose rejects it. */
int compose_config_read(struct compose *c, char *err, size_t errlen);

bool compose_has_service(const struct compose *c, const char *service);
bool compose_has_build(const struct compose *c, const char *service);

/* Pure helpers the runtime and the deploy plan share, so that --dry-run says what the run does:
 *
 * compose_image_tag(): the tag the override gives the image of a compose service with a build
 *   section, built for commit: <project>-<service>:<commit12>, lowercased.
 * compose_dir_changed(): whether paths changed between two commits (relative to the checkout)
 *   touch the compose directory workdir ("", "." or "./": the whole checkout), so that its
 *   compose file must be read again.
 * compose_undefined_why(): the refusal when compose service `compose` of shiplog's service
 *   `service` is not defined in file, naming what it defines and the fix. */
#define COMPOSE_TAG_MAX 200
void compose_image_tag(const char *project, const char *service, const char *commit, char *out,
		       size_t n);
bool compose_dir_changed(const char *workdir, const struct strv *changed);
void compose_undefined_why(char *why, size_t n, const char *compose, const char *service,
			   const char *file, const struct strv *defined);

/* Writes the override (mode 0600): `image: TAG` for each services[i] / tags[i] (skipped when
 * "") and `environment:` with envs[i] ("NAME=value" entries; envs or envs[i] may be NULL).
 * Replaces an older one. */
int compose_override_write(struct compose *c, const char *const *services, const char *const *tags,
			   const struct strv *const *envs, size_t n);

/* The argv of a compose command (args NULL-terminated), appended to *argv, to run in c->workdir:
 * <compose> -p PROJECT -f FILE [-f OVERRIDE] --project-directory WORKDIR ARGS... */
void compose_argv(const struct compose *c, const char *const *args, struct strv *argv);

/* The argv of a docker client command (args without "docker", NULL-terminated). */
void compose_docker_argv(const struct compose *c, const char *const *args, struct strv *argv);

/* A short form of an argv built by compose_argv or compose_docker_argv, for a progress line:
 * the program as people name it and its arguments after the -p/-f/--project-directory prefix
 * ("docker compose build web api", "docker inspect 3f2a..."), cut to fit buf. */
void compose_describe(const struct compose *c, char *const argv[], char *buf, size_t n);

/* The containers of the project (one-off `run` containers excluded), all states. *out is
 * malloc'd. record: echo and record the commands (else they run silently: polling). */
int compose_containers(struct compose *c, bool record, struct compose_container **out, size_t *n);

/* Inspects the given container ids (polling: not recorded). out has n entries, in order; a
 * container that vanished gets status "missing". */
int compose_inspect(struct compose *c, char *const *ids, size_t n, struct compose_container *out);

/* Memory use of running containers from one `docker stats --no-stream` (polling: not
 * recorded): mem[i] for ids[i] in bytes, UINT64_MAX when docker did not say. */
int compose_memory(struct compose *c, char *const *ids, size_t n, uint64_t *mem);

/* "1.523MiB / 23.4GiB" (docker stats' MemUsage) -> bytes of the first figure; false when the
 * text is not that. */
bool compose_parse_mem_usage(const char *text, uint64_t *bytes);

/* Whether each image reference exists locally: exists[i] for refs[i]. One recorded command. */
int compose_images_exist(struct compose *c, const char *const *refs, size_t n, bool *exists);

/* Running containers of any compose project: lines "PROJECT\tNAME\tSTATUS" in *lines. */
int compose_running_projects(struct compose *c, struct strv *lines);

/* `shiplog logs` for the docker runtime: each container of compose service `service` (oldest
 * first; a header line when there are several), as `docker logs --timestamps [--since S]
 * [--until U] [--tail N] [--follow] ID` (argv, never a shell), relayed through the terminal
 * control filter. Only the newest container is followed; *stop (set by a signal handler) ends
 * the follow. SL_EENV with err when there is no such container or docker fails. */
struct compose_logs_opts {
	int64_t since_ns, until_ns; /* 0: no bound */
	uint64_t tail;		    /* 0: every line */
	bool follow;
	volatile sig_atomic_t *stop;
};
int compose_logs(struct compose *c, const char *service, const struct compose_logs_opts *o,
		 char *err, size_t errlen);

/* The lines every container of compose service `service` wrote from since_ns to until_ns
 * (`docker logs --timestamps --since S --until U ID`, argv, oldest container first; polling: not
 * recorded), raw as docker gave them (hostile: escape before showing), appended to *lines.
 * SL_EENV with err when docker fails; 0 with no lines when the service has no container. */
int compose_logs_lines(struct compose *c, const char *service, int64_t since_ns, int64_t until_ns,
		       struct strv *lines, char *err, size_t errlen);

#endif
