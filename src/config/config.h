/* SPDX-License-Identifier: MIT */
/* shiplog.conf: the INI file of design §3, parsed with inih and validated in full before anything
 * acts on it. One service registry; every service list derives from it. */
#ifndef SHIPLOG_CONFIG_H
#define SHIPLOG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum role { ROLE_WEB, ROLE_API, ROLE_WORKER, ROLE__COUNT };
const char *role_name(enum role r);
int role_from_name(const char *s); /* enum role, or -1 */

enum health_kind { HEALTH_HTTP_GET, HEALTH_HTTP_HEAD, HEALTH_TCP, HEALTH_CMD };
const char *health_kind_name(enum health_kind k); /* "http-get", "http-head", "tcp", "cmd" */

struct health_spec {
	enum health_kind kind;
	char *target;	   /* URL, HOST:PORT, or the command line as written */
	int expect_status; /* http-get: 0 = any 2xx/3xx, else exactly this status */
	struct strv
	    argv; /* cmd: the words of the command, split like a shell would without expansion */
	unsigned line;
};

/* Parses "http-get URL [STATUS]", "http-head URL", "tcp HOST:PORT", "cmd ARGV..." (health-spec.c;
 * -EINVAL with a message in err when bad). The checks themselves live in ext/health.c. */
int health_spec_parse(const char *text, struct health_spec *out, char *err, size_t errlen);
void health_spec_release(struct health_spec *h);

/* The fixed points where [hooks] and [service X] run the operator's commands. */
enum hook_point { HOOK_BEFORE_RESTART, HOOK_AFTER_VERIFY, HOOK_AFTER_ROLLBACK, HOOK__COUNT };
const char *hook_point_name(enum hook_point h); /* "before_restart", ... */

/* A hook as written: a JSON array of strings is an argv run as is (["bin/migrate", "up"]);
 * anything else is the operator's shell string, run as ["/bin/sh", "-c", TEXT]. Fills argv
 * (caller frees) and says which; -EINVAL with err when a value starting with '[' is not an
 * array of strings. */
int hook_parse(const char *text, struct strv *argv, bool *shell, char *err, size_t errlen);

struct service {
	char *name;
	enum role role;
	char *unit;    /* systemd unit name, always with a suffix (".service" added when missing) */
	char *compose; /* compose service name (default: the service name) */
	struct strv build; /* native build commands (shell strings from the operator's config) */
	struct strv env_files; /* its own environment files, after [runtime native] env_file
				* (absolute, or relative to the checkout) */
	struct strv env;       /* "NAME=value" entries, last; values are never recorded */
	struct strv hooks[HOOK__COUNT]; /* its hooks, run after the global ones */
	struct health_spec *health;
	size_t nhealth;
	unsigned line; /* where its section starts */
};

enum local_exec { LOCAL_EXEC_AUTO, LOCAL_EXEC_ALWAYS, LOCAL_EXEC_NEVER };
enum layout { LAYOUT_IN_PLACE, LAYOUT_RELEASES };
enum carry_method { CARRY_AUTO, CARRY_HARDLINK };
enum manager { MANAGER_USER, MANAGER_SYSTEM };
enum on_failure { ON_FAILURE_ROLLBACK, ON_FAILURE_STOP };

/* [host NAME]: one machine of a fleet, reached over ssh, or this machine (ssh = local). The
 * host's own shiplog deploys it and keeps its ledger; the controller only runs that shiplog. */
struct host {
	char *name;		 /* letters, digits, '-', '_', '.'; starts with a letter or digit */
	char *ssh;		 /* user@host[:port] (allow-listed characters), NULL when local */
	bool local;		 /* ssh = local: the shiplog runs on this machine, no ssh */
	char *checkout;		 /* the checkout on that host: absolute, or relative to the ssh
				  * user's home; a local host's is resolved like [target]'s */
	char *shiplog;		 /* the shiplog program there; NULL = [target] shiplog */
	char *ssh_key;		 /* NULL = [target] ssh_key (or DEPLOY_SSH_KEY_PATH) */
	struct strv ssh_options; /* "Name=value", allow-listed; before [target]'s */
	struct strv services;	 /* the services this host runs (names of [service] sections);
				  * empty = all */
	struct strv labels;	 /* "name" or "name=value" */
	unsigned line;		 /* where its section starts */
};

enum fleet_on_failure { FLEET_ON_FAILURE_ROLLBACK_MOVED, FLEET_ON_FAILURE_STOP };
const char *fleet_on_failure_name(enum fleet_on_failure f); /* "rollback-moved" | "stop" */

/* [fleet]: how a deploy over several hosts goes, in waves. */
struct fleet_policy {
	struct strv canary_hosts;  /* canary = NAMES: these hosts first, alone in wave one */
	unsigned canary_count;	   /* canary = N: the first N hosts in file order (default 1;
				    * 0 = no canary wave) */
	unsigned wave_size;	   /* hosts per later wave (default 0 = wave_percent) */
	unsigned wave_percent;	   /* wave_size = N%: of all the hosts, rounded up (default 100) */
	unsigned parallelism;	   /* hosts deployed at once inside a wave; 0 = the whole wave */
	unsigned max_failed_hosts; /* failures tolerated before it stops (default 0) */
	int64_t pause_ns;	   /* between waves (default 0) */
	enum fleet_on_failure on_failure;
	int64_t host_timeout_ns; /* one host's remote command (default 30m) */
};

struct config {
	char *path;	 /* absolute path of the file */
	char *dir;	 /* its directory: relative paths in the file are relative to it */
	char digest[65]; /* sha256 of the file's bytes */

	char *project;

	struct {
		char *checkout; /* absolute (relative values resolved against dir; "~/" expanded) */
		char *ssh;	/* user@host[:port] or NULL */
		char *ssh_key;	/* expanded, or NULL */
		struct strv ssh_options; /* extra "-o" options for ssh, e.g. Port-independent
					  * "StrictHostKeyChecking=accept-new" (list) */
		char *shiplog;		 /* the shiplog program on the server (default "shiplog") */
		enum local_exec local_exec;
		struct strv allow_untracked; /* fnmatch globs */
		char *ledger; /* expanded; default $XDG_STATE_HOME/shiplog/<project> */
		enum layout layout;
		unsigned keep_releases;
		struct strv carry;  /* releases: paths copied from the previous release (list) */
		struct strv shared; /* releases: paths symlinked from <checkout>.shared (list) */
		enum carry_method carry_method;
	} target;

	struct {
		char *main_branch;
		char *remote; /* "auto" or a name */
		struct strv remote_candidates;
	} git;

	struct {
		enum manager manager;
		struct strv build;		/* shared build commands (shell strings) */
		struct strv build_when_changed; /* paths relative to the checkout */
		char *env_file;
		char *unit_dir; /* unit templates "<service>.service.in", relative to the checkout;
				 * default "units" */
		char *exec;	/* the program the units run (@EXEC@), relative to the checkout */
		char *log_dir;	/* when set, units append stdout/stderr to <log_dir>/<service>.log
				 * (machines without journald); default NULL = the journal */
	} native;

	struct {
		char *workdir; /* relative to the checkout */
		char *project;
		struct strv foreign_projects;
	} docker;

	struct service *services;
	size_t nservices; /* at most LEDGER_MAX_SERVICES (ledger.h), the reducer's limit: the
			   * parser refuses more, the one check; every per-service array in src/
			   * is sized by it */

	struct strv hooks[HOOK__COUNT]; /* [hooks]: run once per operation, with the environment
					 * of the first service in scope */

	struct {
		char *app_url;
		char *api_health_url;
	} public_;

	struct {
		bool edge_role[ROLE__COUNT]; /* from edge_roles */
		enum on_failure on_failure;
		int64_t settle_ns;
		int64_t health_timeout_ns;
		uint32_t baseline_ops; /* comparable operations the ETA and the slow-phase check
					* read (default 50) */
	} policy;

	struct {
		/* the verdict of `soak report`: a service fails when it goes over one */
		unsigned max_restarts;		/* default 0 */
		unsigned max_not_active;	/* samples not active; default 0 */
		unsigned max_error_lines;	/* default 0 */
		unsigned max_memory_growth_pct; /* last sample over the first, percent; 0 = off */
		struct strv error_patterns;	/* POSIX EREs; a line matching one is an error line
						 * (besides journal priority err or worse) */
		unsigned log_lines;		/* lines shown per service; default 20 */
		int64_t every_ns;		/* `soak start` sampling interval; default 10s */
		int64_t duration_ns;		/* `soak start` window length; default 1h */
	} soak;

	struct host *hosts; /* [host NAME] sections in file order; none for a single host */
	size_t nhosts;	    /* at most CONFIG_MAX_HOSTS */
	struct fleet_policy fleet;
	struct {
		/* [edge]: the operator's proxy switch, run by a cut-over of an edge role after the
		 * new runtime passed its verify (then the public checks), and its revert, run when
		 * the switch or the public checks fail. argv, no shell; the program is a path
		 * (relative to the checkout). Empty: none. */
		struct strv switch_argv;
		struct strv revert_argv;
	} edge;
};

#define CONFIG_MAX_HOSTS 1024

/* The default [soak] error_pattern (when none is given). */
#define SOAK_DEFAULT_ERROR_PATTERN                                                                 \
	"(^|[^[:alnum:]_])(ERROR|FATAL|PANIC|CRITICAL|Traceback)([^[:alnum:]_]|$)"

/* Splits a config value into words like a shell would, without any expansion: whitespace
 * separates words; '...' is literal; "..." is literal except \" \\ \$ \` ; a backslash outside
 * quotes takes the next character. -EINVAL with err on an unterminated quote. */
int config_words_split(const char *s, struct strv *out, char *err, size_t errlen);

/* Walks up from start_dir looking for shiplog.conf, like git finds .git. *path is malloc'd.
 * -ENOENT when none is found. */
int config_find(const char *start_dir, char **path);

/* Parses and validates the whole file. On any error returns SL_EUSAGE and writes one line to err
 * naming file, line and key: "shiplog.conf:14: [service web] health: unknown kind 'http'; use
 * http-get, http-head, tcp or cmd". Nothing is returned half-parsed. Lines over inih's 200
 * characters are rejected. Environment overrides are not applied here (see config_apply_env). */
int config_load(const char *path, struct config **out, char *err, size_t errlen);

/* config_load on bytes already read (e.g. a commit's shiplog.conf from git): abs is the path
 * the file stands for (relative values resolve against its directory), path the name used in
 * messages ("a1b2c3d4e5f6:shiplog.conf"). data must be NUL-terminated at len. */
int config_load_data(const char *abs, const char *path, const char *data, size_t len,
		     struct config **out, char *err, size_t errlen);

/* Applies the reference's environment variables (trimmed, empty = unset):
 * DEPLOY_PUBLIC_APP_URL, DEPLOY_PUBLIC_API_HEALTH_URL, DEPLOY_GIT_REMOTE, DEPLOY_SSH_KEY_PATH,
 * and DEPLOY_NATIVE_<SERVICE>_UNIT (service name upper-cased, '-' -> '_'). */
void config_apply_env(struct config *cfg);

void config_free(struct config *cfg);

/* Whether a line a service logged is an error line: journal priority err (3) or worse
 * (priority < 0: none known), or a match of one of [soak] error_pattern. Used by the soak
 * verdict and by the native verify (a unit that logs one is watched longer). */
bool config_line_is_error(const struct config *cfg, const char *line, int priority);

const struct service *config_service(const struct config *cfg, const char *name);
/* Index of a service or -1. */
int config_service_index(const struct config *cfg, const char *name);

/* The host named name, or NULL. */
const struct host *config_host(const struct config *cfg, const char *name);
/* What reaching a host uses, with the [target] fallbacks applied: the program ("shiplog" when
 * neither says), the key (NULL: ssh's own). Borrowed from cfg. */
const char *config_host_shiplog(const struct config *cfg, const struct host *h);
const char *config_host_ssh_key(const struct config *cfg, const struct host *h);
/* Whether host h runs service svc (an empty subset runs all). */
bool config_host_runs(const struct host *h, const char *svc);

/* The commented starter file that `shiplog init` writes. */
const char *config_starter_text(void);

#endif
