/* SPDX-License-Identifier: MIT */
/* The command table is the one list of commands: `shiplog --help`, `shiplog CMD --help`,
 * `shiplog help CMD`, usage errors, the man page, docs/commands.md and the bash completion are
 * checked for every entry of it, so a new command is held to the same standard without touching
 * this file. */
#include <ctype.h>
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

/* The part of the man page from ".SH NAME" up to the next ".SH" (malloc'd, "" when absent). */
static char *man_section(const char *man, const char *name)
{
	char *head = xasprintf("\n.SH %s\n", name);
	const char *p = strstr(man, head), *end;
	char *out;

	if (!p) {
		free(head);
		return xstrdup("");
	}
	p += strlen(head) - 1;
	end = strstr(p, "\n.SH ");
	out = xstrndup(p, end ? (size_t)(end - p) + 1 : strlen(p));
	free(head);
	return out;
}

/* The man page (docs/shiplog.1, what cmake --install and the .deb install) has every command of
 * the table in its SYNOPSIS (".B shiplog NAME") and an entry of its own under COMMANDS
 * (".TP" then ".B NAME"), and no entry for a command the table does not have; docs/commands.md
 * has a "## NAME" section for each. */
Test(help, the_man_page_has_every_command_in_the_table)
{
	char *path = xasprintf("%s/docs/shiplog.1", SHIPLOG_SOURCE_DIR);
	char *man = tl_read(path);
	char *syn, *cmds;
	size_t entries = 0;

	cr_assert_not_null(man, "%s", path);
	syn = man_section(man, "SYNOPSIS");
	cmds = man_section(man, "COMMANDS");
	cr_assert(strlen(syn) > 100 && strlen(cmds) > 100, "no SYNOPSIS or COMMANDS in %s", path);
	for (size_t i = 0; i < cmd_table_len; i++) {
		const char *name = cmd_table[i]->name;
		char *a = xasprintf("\n.B shiplog %s\n", name),
		     *b = xasprintf("\n.B shiplog %s ", name);
		char *entry = xasprintf("\n.TP\n.B %s\n", name);

		cr_assert(strstr(syn, a) || strstr(syn, b),
			  "the man page's SYNOPSIS has no '.B shiplog %s' line", name);
		cr_assert(strstr(cmds, entry), "the man page's COMMANDS has no entry '.TP/.B %s'",
			  name);
		free(a);
		free(b);
		free(entry);
	}
	/* the other way: each COMMANDS entry is a command of the table */
	for (const char *p = strstr(cmds, "\n.TP\n.B "); p; p = strstr(p + 1, "\n.TP\n.B ")) {
		char name[64];

		cr_assert_eq(sscanf(p + strlen("\n.TP\n.B "), "%63s", name), 1);
		cr_assert_not_null(cmd_find(name), "the man page documents '%s', not in the table",
				   name);
		entries++;
	}
	cr_assert_eq(entries, cmd_table_len, "%zu COMMANDS entries for %zu commands", entries,
		     cmd_table_len);
	/* and docs/commands.md a section of its own */
	{
		char *md_path = xasprintf("%s/docs/commands.md", SHIPLOG_SOURCE_DIR);
		char *md = tl_read(md_path);

		cr_assert_not_null(md, "%s", md_path);
		for (size_t i = 0; i < cmd_table_len; i++) {
			char *h = xasprintf("\n## %s\n", cmd_table[i]->name);

			cr_assert(strstr(md, h), "docs/commands.md has no '## %s' section",
				  cmd_table[i]->name);
			free(h);
		}
		free(md);
		free(md_path);
	}
	free(syn);
	free(cmds);
	free(man);
	free(path);
}

/* What the bash completion offers after `shiplog WORDS...` (the last word is the one being
 * completed), from a real bash sourcing the script `shiplog completion bash` printed. */
static char *complete_after(const char *dir, const char *script, const char *cmd, const char *cur)
{
	static const char driver[] = "source \"$1\"; shift; COMP_WORDS=(\"$@\"); "
				     "COMP_CWORD=$(($# - 1)); _shiplog; echo \" ${COMPREPLY[*]} \"";
	char *argv[] = {"bash",		"-c",	     (char *)driver, "_", (char *)script,
			SHIPLOG_BINARY, (char *)cmd, (char *)cur,    NULL};
	struct tl_run r;
	char *out;

	tl_run(&r, dir, NULL, argv);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	out = xstrdup(r.out);
	tl_run_release(&r);
	return out;
}

/* The words a command's usage lines (up to the first blank line) name first ("shiplog lock
 * status", "shiplog soak status | stop", "shiplog completion bash|zsh"): the lowercase words
 * before the first option or bracket. */
static void usage_words(const struct cmd_entry *c, struct strv *out)
{
	char *want = xasprintf("shiplog %s ", c->name);
	const char *end = strstr(c->usage, "\n\n"); /* the usage lines, not the examples */
	char *head = end ? xstrndup(c->usage, (size_t)(end - c->usage) + 1) : xstrdup(c->usage);
	const char *p = head;

	while ((p = strstr(p, want))) {
		const char *q = p + strlen(want);
		char *text = xstrndup(q, strcspn(q, "\n"));
		char *save = NULL;

		for (char *w = strtok_r(text, " |", &save); w; w = strtok_r(NULL, " |", &save)) {
			bool word = w[0] >= 'a' && w[0] <= 'z';

			if (w[0] == '-' || w[0] == '[')
				break;
			for (const char *k = w; *k && word; k++)
				word = (*k >= 'a' && *k <= 'z') || *k == '-';
			if (word)
				strv_push(out, w);
		}
		free(text);
		p = q;
	}
	free(head);
	free(want);
}

/* The completion covers the whole table: after each command, every subcommand its usage names
 * and every long option it takes. */
Test(help, completion_offers_every_command_word_and_option)
{
	char *dir = tl_mkdtemp("help-complete");
	char *script = xasprintf("%s/shiplog.bash", dir);
	struct tl_run r;
	size_t checked = 0;

	tl_shiplog(&r, dir, NULL, "completion", "bash", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	tl_write(script, r.out);
	tl_run_release(&r);
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *c = cmd_table[i];
		struct strv words = {0};
		char *got;

		usage_words(c, &words);
		got = complete_after(dir, script, c->name, "");
		for (size_t k = 0; k < words.n; k++) {
			char *w = xasprintf(" %s ", words.v[k]);

			cr_assert(strstr(got, w), "'shiplog %s <Tab>' does not offer '%s': '%s'",
				  c->name, words.v[k], got);
			free(w);
			checked++;
		}
		free(got);
		strv_free(&words);
		got = complete_after(dir, script, c->name, "--");
		for (const struct option *o = c->options; o && o->name; o++) {
			char *w = xasprintf(" --%s ", o->name);

			cr_assert(strstr(got, w), "'shiplog %s --<Tab>' does not offer --%s: '%s'",
				  c->name, o->name, got);
			free(w);
			checked++;
		}
		free(got);
	}
	cr_assert_gt(checked, 60, "only %zu words and options checked", checked);
	free(script);
	tl_rmrf(dir);
	free(dir);
}

/* The escaped form a man page writes an option in: "--take-over" is "\-\-take\-over". */
static char *man_option(const char *name)
{
	struct buf b = {0};

	buf_printf(&b, "\\-\\-");
	for (const char *p = name; *p; p++)
		if (*p == '-')
			buf_printf(&b, "\\-");
		else
			buf_printf(&b, "%c", *p);
	buf_append(&b, "", 1);
	return b.data;
}

/* Whether esc (an escaped "\-\-name") stands in text as a whole option: "\-\-host" is not
 * found inside "\-\-hosts" or "\-\-host\-timeout". */
static bool has_option(const char *text, const char *esc)
{
	size_t l = strlen(esc);

	for (const char *q = text; (q = strstr(q, esc)); q += l)
		if (!(q[l] == '\\' && q[l + 1] == '-') && !isalnum((unsigned char)q[l]))
			return true;
	return false;
}

/* The text of the man page that documents command c: its SYNOPSIS lines (from ".B shiplog c"
 * to the next command's) and its COMMANDS entry (to the next entry). malloc'd. */
static char *man_of_command(const char *syn, const char *cmds, const char *name)
{
	char *a = xasprintf("\n.B shiplog %s\n", name), *b = xasprintf("\n.B shiplog %s ", name);
	char *head = xasprintf("\n.TP\n.B %s\n", name);
	const char *s = strstr(syn, a), *e, *p = strstr(cmds, head), *next;
	struct buf out = {0};

	if (!s)
		s = strstr(syn, b);
	if (s) {
		e = strstr(s + 1, "\n.B shiplog ");
		buf_append(&out, s, e ? (size_t)(e - s) : strlen(s));
	}
	if (p) {
		next = strstr(p + strlen(head), "\n.TP\n.B ");
		buf_append(&out, p, next ? (size_t)(next - p) : strlen(p));
	}
	buf_append(&out, "", 1);
	free(a);
	free(b);
	free(head);
	return out.data;
}

/* Every long option of every command is in the man page: in that command's SYNOPSIS lines or
 * COMMANDS entry, or under GLOBAL OPTIONS, SCOPE (the scope flags every deploying command
 * takes) or HOSTS (the host flags of the reads). An option that only `--help` and commands.md know
 * is one `man shiplog` hides. Lists every missing one at once. */
Test(help, the_man_page_has_every_option_of_every_command)
{
	char *path = xasprintf("%s/docs/shiplog.1", SHIPLOG_SOURCE_DIR);
	char *man = tl_read(path);
	char *syn, *cmds, *global, *scope, *hosts;
	struct buf missing = {0};

	cr_assert_not_null(man, "%s", path);
	syn = man_section(man, "SYNOPSIS");
	cmds = man_section(man, "COMMANDS");
	global = man_section(man, "GLOBAL OPTIONS");
	scope = man_section(man, "SCOPE");
	hosts = man_section(man, "HOSTS");
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *c = cmd_table[i];
		char *text = man_of_command(syn, cmds, c->name);

		for (const struct option *o = c->options; o && o->name; o++) {
			char *esc = man_option(o->name);

			if (!has_option(text, esc) && !has_option(global, esc) &&
			    !has_option(scope, esc) && !has_option(hosts, esc))
				buf_printf(&missing, " %s --%s;", c->name, o->name);
			free(esc);
		}
		free(text);
	}
	buf_append(&missing, "", 1);
	cr_assert_eq(missing.len, 1, "the man page lacks:%s", missing.data);
	buf_free(&missing);
	free(syn);
	free(cmds);
	free(global);
	free(scope);
	free(hosts);
	free(man);
	free(path);
}
