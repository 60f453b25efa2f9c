/* SPDX-License-Identifier: MIT */
/* Inside config/: the key table of shiplog.conf and the parse state that config.c's reader and
 * keys.c's value handlers share. Nothing outside config/ includes it. */
#ifndef SHIPLOG_KEYS_H
#define SHIPLOG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum section {
	SEC_NONE,
	SEC_PROJECT,
	SEC_TARGET,
	SEC_GIT,
	SEC_NATIVE,
	SEC_DOCKER,
	SEC_SERVICE,
	SEC_PUBLIC,
	SEC_POLICY,
	SEC_HOOKS,
	SEC_SOAK,
	SEC_HOST,
	SEC_FLEET,
	SEC_EDGE,
	SEC__COUNT,
};

enum key {
	K_PROJECT_NAME,
	K_TARGET_CHECKOUT,
	K_TARGET_SSH,
	K_TARGET_SSH_KEY,
	K_TARGET_SSH_OPTIONS,
	K_TARGET_SHIPLOG,
	K_TARGET_LOCAL_EXEC,
	K_TARGET_ALLOW_UNTRACKED,
	K_TARGET_LEDGER,
	K_TARGET_LAYOUT,
	K_TARGET_KEEP_RELEASES,
	K_TARGET_CARRY,
	K_TARGET_SHARED,
	K_TARGET_CARRY_METHOD,
	K_GIT_MAIN_BRANCH,
	K_GIT_REMOTE,
	K_GIT_REMOTE_CANDIDATES,
	K_NATIVE_MANAGER,
	K_NATIVE_BUILD,
	K_NATIVE_BUILD_WHEN_CHANGED,
	K_NATIVE_ENV_FILE,
	K_NATIVE_UNIT_DIR,
	K_NATIVE_EXEC,
	K_NATIVE_LOG_DIR,
	K_DOCKER_WORKDIR,
	K_DOCKER_PROJECT,
	K_DOCKER_FOREIGN_PROJECTS,
	K_SERVICE_ROLE,
	K_SERVICE_UNIT,
	K_SERVICE_COMPOSE,
	K_SERVICE_BUILD,
	K_SERVICE_HEALTH,
	K_SERVICE_ENV_FILE,
	K_SERVICE_ENV,
	K_SERVICE_BEFORE_RESTART,
	K_SERVICE_AFTER_VERIFY,
	K_SERVICE_AFTER_ROLLBACK,
	K_HOOKS_BEFORE_RESTART,
	K_HOOKS_AFTER_VERIFY,
	K_HOOKS_AFTER_ROLLBACK,
	K_PUBLIC_APP_URL,
	K_PUBLIC_API_HEALTH_URL,
	K_POLICY_EDGE_ROLES,
	K_POLICY_ON_FAILURE,
	K_POLICY_SETTLE,
	K_POLICY_HEALTH_TIMEOUT,
	K_POLICY_BASELINE_OPS,
	K_SOAK_MAX_RESTARTS,
	K_SOAK_MAX_NOT_ACTIVE,
	K_SOAK_MAX_ERROR_LINES,
	K_SOAK_MAX_MEMORY_GROWTH,
	K_SOAK_ERROR_PATTERN,
	K_SOAK_LOG_LINES,
	K_HOST_SSH,
	K_HOST_CHECKOUT,
	K_HOST_SHIPLOG,
	K_HOST_SSH_KEY,
	K_HOST_SSH_OPTIONS,
	K_HOST_SERVICES,
	K_HOST_LABELS,
	K_FLEET_CANARY,
	K_FLEET_WAVE_SIZE,
	K_FLEET_PARALLELISM,
	K_FLEET_MAX_FAILED_HOSTS,
	K_FLEET_PAUSE,
	K_FLEET_ON_FAILURE,
	K_FLEET_HOST_TIMEOUT,
	K_SOAK_EVERY,
	K_SOAK_DURATION,
	K_EDGE_SWITCH,
	K_EDGE_REVERT,
	K__COUNT,
};

enum key_type {
	KT_SINGLE, /* once per section */
	KT_LIST,   /* repeats; each line adds one value */
	KT_COMMAS, /* repeats; each line adds comma-separated values */
};

struct key_def {
	enum section sec;
	const char *name;
	enum key_type type;
};

extern const struct key_def keys[K__COUNT];
extern const char *const section_label[SEC__COUNT];

struct parse {
	const char *path; /* as given, for messages */
	struct config *cfg;

	const char *data;
	size_t len, pos;
	unsigned line;
	bool inline_comment; /* the current line had a ' ;' comment that inih cut off */

	enum section sec;
	char seclabel[128];  /* "service web", as shown in messages */
	struct service *svc; /* current service section */
	struct host *host;   /* current host section */

	unsigned seen[K__COUNT];	 /* line of the first occurrence, 0 = not yet */
	unsigned (*svc_seen)[K__COUNT];	 /* per service, same */
	unsigned (*host_seen)[K__COUNT]; /* per host, same */
	bool candidates_given, edge_roles_given, soak_patterns_given;

	char *err;
	size_t errlen;
	unsigned err_line; /* 0 = no error yet */
};

/* Records the first error, "<path>:<line>: ..."; later ones are ignored. */
void parse_fail_line(struct parse *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<path>:<line>: [<section>] <key>: <problem>; <fix>" */
#define key_fail(p, key, fmt, ...)                                                                 \
	parse_fail_line((p), (p)->line, "[%s] %s: " fmt, (p)->seclabel, (key), ##__VA_ARGS__)

/* Applies one key's value to the config (or records why it is wrong). */
void key_value(struct parse *p, enum key k, const char *name, const char *v);
/* "Name=value" ssh options of [target] or [host NAME], each allowed, appended to dst. */
void ssh_options_value(struct parse *p, const char *name, const char *v, struct strv *dst);
/* [host NAME] and [fleet] (fleet.c): a host section begins; a key's value; the whole-file checks
 * (hosts' services and the canaries name what exists; SL_EUSAGE with the error). */
void host_section_begin(struct parse *p, const char *name);
void fleet_key_value(struct parse *p, enum key k, const char *name, const char *v);
int fleet_finish(struct parse *p);
void host_free(struct host *h);

/* Keys whose empty value means "unset" (or, for comma lists, "none"). */
bool key_may_be_empty(enum key k);
/* The error for a key the section does not have: a near miss, the section it belongs to, or
 * the keys this section knows. */
void unknown_key(struct parse *p, const char *name);

#endif
