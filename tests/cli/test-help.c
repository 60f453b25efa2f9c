/* SPDX-License-Identifier: MIT */
/* The command table is the one list of commands: `shiplog --help`, `shiplog CMD --help`,
 * `shiplog help CMD` and usage errors are checked for every entry of it, so a new command is
 * held to the same standard without touching this file. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "testlib.h"
#include "util.h"

/* Every command's --help: exit 0, "usage: shiplog NAME" first, examples and exit codes. */
Test(help, every_command_in_the_table_teaches)
{
	char *dir = tl_mkdtemp("help-each");
	struct tl_run r, h;

	cr_assert_gt(cmd_table_len, 10);
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *c = cmd_table[i];
		char want[64];

		snprintf(want, sizeof(want), "usage: shiplog %s", c->name);
		tl_shiplog(&r, dir, NULL, c->name, "--help", NULL);
		cr_assert_eq(r.exit_code, 0, "%s --help: exit %d: %s", c->name, r.exit_code, r.err);
		cr_assert(str_startswith(r.out, want), "%s --help starts with '%s': %s", c->name,
			  want, r.out);
		cr_assert(strstr(r.out, "Examples:"), "%s --help teaches with examples", c->name);
		cr_assert(strstr(r.out, "Exit codes:"), "%s --help names its exit codes", c->name);
		cr_assert_str_eq(r.out, c->usage, "%s --help prints the table's usage", c->name);
		tl_shiplog(&h, dir, NULL, "help", c->name, NULL);
		cr_assert_eq(h.exit_code, 0);
		cr_assert_str_eq(h.out, r.out, "'shiplog help %s' is '%s --help'", c->name,
				 c->name);
		tl_run_release(&h);
		tl_run_release(&r);
	}
	tl_rmrf(dir);
	free(dir);
}

/* `shiplog --help` lists exactly the table, in its order, each with its summary. */
Test(help, main_help_lists_exactly_the_table)
{
	char *dir = tl_mkdtemp("help-main");
	struct tl_run r;
	const char *p;
	size_t listed = 0;

	tl_shiplog(&r, dir, NULL, "--help", NULL);
	cr_assert_eq(r.exit_code, 0);
	p = strstr(r.out, "Commands:\n");
	cr_assert(p, "%s", r.out);
	p += strlen("Commands:\n");
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *c = cmd_table[i];
		const char *eol = strchr(p, '\n');
		char name[64];

		cr_assert(eol && sscanf(p, "  %63s", name) == 1, "line %zu of Commands: %s", i, p);
		cr_assert_str_eq(name, c->name, "entry %zu", i);
		cr_assert(strstr(p, c->summary) && strstr(p, c->summary) < eol,
			  "%s is listed with its summary '%s'", c->name, c->summary);
		p = eol + 1;
		listed++;
	}
	cr_assert(*p == '\n', "nothing listed after the table's %zu commands: %s", listed, p);
	tl_run_release(&r);
	tl_rmrf(dir);
	free(dir);
}

/* An unknown option is a usage error (exit 2) that names it, in a directory with no
 * shiplog.conf and no ledger: arguments are checked before anything is looked for, and nothing
 * is created. */
Test(help, an_unknown_option_is_exit_2_before_any_config_or_ledger)
{
	char *dir = tl_mkdtemp("help-bogus");
	char *state = xasprintf("XDG_STATE_HOME=%s/state", dir);
	char *env[] = {state, NULL};
	struct tl_run r;

	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *c = cmd_table[i];

		tl_shiplog(&r, dir, env, c->name, "--bogus-option", NULL);
		cr_assert_eq(r.exit_code, 2, "%s --bogus-option: exit %d: %s", c->name, r.exit_code,
			     r.err);
		cr_assert(strstr(r.err, "--bogus-option"), "%s: the message names the option: %s",
			  c->name, r.err);
		cr_assert_eq(tl_sh("test -z \"$(ls -A '%s')\"", dir), 0,
			     "%s --bogus-option created nothing in %s", c->name, dir);
		tl_run_release(&r);
	}
	tl_shiplog(&r, dir, env, "no-such-command", NULL);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "unknown command 'no-such-command'"), "%s", r.err);
	tl_run_release(&r);
	free(state);
	tl_rmrf(dir);
	free(dir);
}
