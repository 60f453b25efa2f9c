/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Criterion tests: scratch directories, running the real shiplog binary,
 * and finding the real services tools/test.sh started (or skipping, loudly, without them). */
#ifndef SHIPLOG_TESTLIB_H
#define SHIPLOG_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>

#include <criterion/criterion.h>

/* A fresh private directory under $TMPDIR; removed by tl_rmrf. malloc'd. */
char *tl_mkdtemp(const char *tag);
void tl_rmrf(const char *path);

struct tl_run {
	int exit_code; /* 128+n when killed by signal n */
	char *out;     /* stdout */
	char *err;     /* stderr */
};
/* Runs argv (NULL-terminated) in cwd with extra env entries "K=V" (NULL-terminated, may be NULL),
 * capturing both streams. */
void tl_run(struct tl_run *r, const char *cwd, char *const env_add[], char *const argv[]);
/* Runs the shiplog binary: tl_shiplog(&r, cwd, env, "status", "--json", NULL). */
void tl_shiplog(struct tl_run *r, const char *cwd, char *const env_add[], ...);
void tl_run_release(struct tl_run *r);

/* Runs a shell snippet (test setup only; never with untrusted data). Returns its exit code. */
int tl_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a file (creating parent directories). */
void tl_write(const char *path, const char *content);
/* Fails the test when s holds a raw terminal control byte (C0 other than newline and tab, DEL,
 * or a UTF-8 C1 control): what shiplog prints must have them escaped. */
void tl_assert_no_controls(const char *what, const char *s);
/* Reads a whole file, malloc'd, NULL when missing. */
char *tl_read(const char *path);

/* A minimal HTTP/1.1 request to 127.0.0.1:port (connect retried up to `tries` times, 10 ms
 * apart). Returns the status, 0 when nothing answered; *response (malloc'd, may be NULL) is the
 * whole response, headers included. */
int tl_http(int port, const char *method, const char *path, int tries, char **response);

/* Real parts. Each returns true when the part is usable; otherwise the test must call
 * cr_skip_test() with the reason, which these helpers also print to stderr with "SKIP". */
bool tl_have_user_manager(void); /* XDG_RUNTIME_DIR with a running systemd --user (tools/test.sh) */
bool tl_have_docker(void);	 /* DOCKER_HOST answering, docker-compose present */
bool tl_have_sshd(void);  /* SHIPLOG_TEST_SSH_PORT, SHIPLOG_TEST_SSH_KEY set by tools/test.sh */
bool tl_have_fleet(void); /* SHIPLOG_TEST_FLEET_* set by tools/test.sh (tools/fleet-hosts.sh) */

/* The fleet's test hosts (docs/fleet.md, "Test hosts"): h1 .. hN, each a user, a network
 * namespace, an sshd and a user manager, with the sample "fleetapp" checked out at
 * $SHIPLOG_TEST_FLEET_DIR/<name>/app. */
int tl_fleet_count(void);		 /* N */
char *tl_fleet_target(const char *name); /* "user@127.0.0.1:port" (malloc'd), NULL if none */
/* tools/fleet-hosts.sh VERB on host NAME: "down" (ssh refused), "up", "manager-stop". Returns
 * the exit status. */
int tl_fleet_ctl(const char *verb, const char *name);
/* The trimmed stdout (malloc'd) of COMMAND on host NAME by a plain ssh login, as an operator's
 * (`ssh -F $SHIPLOG_TEST_FLEET_SSH_CONFIG NAME COMMAND`, inside the host's namespace). With code
 * NULL the command must exit 0; else *code gets its exit status. */
char *tl_fleet_sh(const char *name, const char *command, int *code);

#define TL_REQUIRE(have, what)                                                                     \
	do {                                                                                       \
		if (!(have)) {                                                                     \
			cr_skip_test("SKIPPED: %s is not available (run tests through "            \
				     "tools/test.sh)",                                             \
				     what);                                                        \
		}                                                                                  \
	} while (0)

#endif
