/* SPDX-License-Identifier: MIT */
/* remote: the execution-mode decision, returned to the caller (no process-wide mode). Only the
 * decisions that run nothing are exercised here; forwarding over a real sshd is in
 * tests/integration/test-remote.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "remote.h"
#include "testlib.h"
#include "util.h"

static char here[4096], elsewhere[] = "/", conf[] = "shiplog.conf",
			ssh[] = "deploy@example.invalid", key[] = "/nonexistent/key";

static void setup(struct config *cfg, struct remote_request *rq, int override)
{
	memset(cfg, 0, sizeof(*cfg));
	cr_assert_not_null(getcwd(here, sizeof(here)));
	cfg->path = conf;
	cfg->dir = here;
	cfg->target.checkout = elsewhere;
	*rq = (struct remote_request){.cfg = cfg, .exec_override = override};
	unsetenv("DEPLOY_FORCE_SSH");
}

Test(remote, mode_names)
{
	cr_assert_str_eq(remote_mode_name(REMOTE_MODE_LOCAL), "local");
	cr_assert_str_eq(remote_mode_name(REMOTE_MODE_SSH), "ssh");
}

Test(remote, local_decisions_fill_the_mode)
{
	struct config cfg;
	struct remote_request rq;
	enum remote_mode mode = REMOTE_MODE_SSH;

	/* --local */
	setup(&cfg, &rq, EXEC_OVERRIDE_LOCAL);
	cr_assert_eq(remote_maybe_forward(&rq, &mode), REMOTE_RUN_HERE);
	cr_assert_eq(mode, REMOTE_MODE_LOCAL);

	/* [target] local_exec = always */
	setup(&cfg, &rq, EXEC_OVERRIDE_NONE);
	cfg.target.local_exec = LOCAL_EXEC_ALWAYS;
	mode = REMOTE_MODE_SSH;
	cr_assert_eq(remote_maybe_forward(&rq, &mode), REMOTE_RUN_HERE);
	cr_assert_eq(mode, REMOTE_MODE_LOCAL);

	/* auto: the checkout is this config's directory */
	setup(&cfg, &rq, EXEC_OVERRIDE_NONE);
	cfg.target.checkout = here;
	mode = REMOTE_MODE_SSH;
	cr_assert_eq(remote_maybe_forward(&rq, &mode), REMOTE_RUN_HERE);
	cr_assert_eq(mode, REMOTE_MODE_LOCAL);
	cr_assert_eq(remote_preflight(&rq), REMOTE_RUN_HERE);

	/* the mode may be ignored */
	cr_assert_eq(remote_maybe_forward(&rq, NULL), REMOTE_RUN_HERE);
}

Test(remote, ssh_decisions_fill_the_mode_before_failing)
{
	struct config cfg;
	struct remote_request rq;
	enum remote_mode mode = REMOTE_MODE_LOCAL;

	/* auto, another checkout, no [target] ssh: ssh is chosen, then refused as a usage error
	 * before anything runs */
	setup(&cfg, &rq, EXEC_OVERRIDE_NONE);
	cr_assert_eq(remote_preflight(&rq), SL_EUSAGE);
	cr_assert_eq(remote_maybe_forward(&rq, &mode), SL_EUSAGE);
	cr_assert_eq(mode, REMOTE_MODE_SSH);

	/* --ssh wins over local_exec = always; a missing key is refused */
	setup(&cfg, &rq, EXEC_OVERRIDE_SSH);
	cfg.target.local_exec = LOCAL_EXEC_ALWAYS;
	cfg.target.ssh = ssh;
	cfg.target.ssh_key = key;
	cr_assert_eq(remote_preflight(&rq), SL_EUSAGE);

	/* DEPLOY_FORCE_SSH=1 */
	setup(&cfg, &rq, EXEC_OVERRIDE_NONE);
	cfg.target.checkout = here;
	setenv("DEPLOY_FORCE_SSH", " 1 ", 1);
	mode = REMOTE_MODE_LOCAL;
	cr_assert_eq(remote_maybe_forward(&rq, &mode), SL_EUSAGE);
	cr_assert_eq(mode, REMOTE_MODE_SSH);
	unsetenv("DEPLOY_FORCE_SSH");
}

/* The one remote command line: options before "--", the host after it, and a single remote
 * shell line in which every given word is single-quoted (a quote in a word closes nothing). */
Test(remote, ssh_argv_quotes_every_word)
{
	struct strv opts = {0}, more = {0}, argv = {0};
	char *words[] = {"deploy", "it's; rm -rf /", "--json"};
	struct remote_host h = {.ssh = "ops@web1.example:2222",
				.ssh_key = "/k/id",
				.ssh_options = &opts,
				.more_options = &more,
				.checkout = "/srv/app $(x)",
				.shiplog = "/opt/shiplog",
				.control_path = "/tmp/cm/%C"};
	size_t dd = 0;

	strv_push(&opts, "Port=2200");
	strv_push(&more, "StrictHostKeyChecking=accept-new");
	cr_assert_eq(remote_ssh_argv(&h, words, 3, &argv), 0);
	cr_assert_str_eq(argv.v[0], "ssh");
	for (size_t i = 0; i < argv.n; i++)
		if (streq(argv.v[i], "--"))
			dd = i;
	cr_assert_eq(dd, argv.n - 3, "'--' right before the host and the line");
	cr_assert_str_eq(argv.v[dd + 1], "ops@web1.example");
	cr_assert(strv_contains(&argv, "-p") && strv_contains(&argv, "2222"));
	cr_assert(strv_contains(&argv, "ControlPath=/tmp/cm/%C"));
	cr_assert(strv_contains(&argv, "Port=2200"));
	cr_assert(strstr(argv.v[dd + 2], " 'deploy' 'it'\\''s; rm -rf /' '--json'"), "%s",
		  argv.v[dd + 2]);
	cr_assert(str_startswith(argv.v[dd + 2],
				 "cd '/srv/app $(x)' 2>/dev/null || exit 124; "
				 "command -v '/opt/shiplog' >/dev/null 2>&1 || "
				 "exit 127; exec '/opt/shiplog' --forwarded-from '"),
		  "%s", argv.v[dd + 2]);
	strv_free(&argv);

	h.ssh = "-oProxyCommand=id";
	cr_assert_eq(remote_ssh_argv(&h, words, 3, &argv), -EINVAL);
	cr_assert_eq(argv.n, 0, "nothing appended");
	h.ssh = "ops@host;id";
	cr_assert_eq(remote_ssh_argv(&h, words, 3, &argv), -EINVAL);
	strv_free(&opts);
	strv_free(&more);
}
