/* SPDX-License-Identifier: MIT */
/* shiplog completion: bash and zsh completion scripts written from the command table (commands,
 * their subcommands and options), which call back `shiplog completion --list services|ops` for
 * the service names of the config and the operation numbers of the ledger. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ledger/ledger.h>

#include "cmd.h"
#include "config.h"
#include "out.h"
#include "util.h"

static const struct option options[] = {
    {"list", required_argument, NULL, 'l'},
    {0},
};

/* The case arm of one command: its options and first words. */
static void command_arm(FILE *f, const struct cmd_entry *c)
{
	fprintf(f, "\t%s) opts=\"--help", c->name);
	for (const struct option *o = c->options; o && o->name; o++)
		fprintf(f, " --%s", o->name);
	fprintf(f, "\" words=\"%s\" ;;\n", c->words ? c->words : "");
}

static void bash_script(FILE *f)
{
	fprintf(f,
		"# bash completion for shiplog %s, written by 'shiplog completion bash' from "
		"its command table.\n",
		SHIPLOG_VERSION);
	fputs("_shiplog_list() { \"${COMP_WORDS[0]}\" \"${_shiplog_globals[@]}\" completion --list "
	      "\"$1\" "
	      "2>/dev/null; }\n"
	      "_shiplog() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tlocal i cmd= opts= words= nwords=0\n"
	      "\t_shiplog_globals=()\n"
	      "\tCOMPREPLY=()\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n"
	      "\t\t-C | -c | --ledger)\n"
	      "\t\t\t[ -z \"$cmd\" ] && _shiplog_globals+=(\"${COMP_WORDS[i]}\" "
	      "\"${COMP_WORDS[i+1]}\")\n"
	      "\t\t\t((i++)) ;;\n"
	      "\t\t-*) ;;\n"
	      "\t\t*) if [ -z \"$cmd\" ]; then cmd=${COMP_WORDS[i]}; else ((nwords++)); fi ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tcase $prev in\n"
	      "\t-C | --ledger) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
	      "\t-c | -o | --output) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	      "\t--pieces | --scope | --service | --enable)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(_shiplog_list services)\" -- \"$cur\")); return ;;\n"
	      "\t--op | --to) COMPREPLY=($(compgen -W \"$(_shiplog_list ops)\" -- \"$cur\")); "
	      "return ;;\n"
	      "\tesac\n"
	      "\tif [ -z \"$cmd\" ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(_shiplog_list commands) -C -c --ledger --json "
	      "--color= -q -v "
	      "--help --version\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tcase $cmd in\n",
	      f);
	for (size_t i = 0; i < cmd_table_len; i++)
		command_arm(f, cmd_table[i]);
	fputs("\t*) return ;;\n"
	      "\tesac\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts --json\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tcase $cmd in\n"
	      "\tlogs) ((nwords == 0)) && COMPREPLY=($(compgen -W \"$(_shiplog_list services)\" -- "
	      "\"$cur\")) ;;\n"
	      "\tcutover) COMPREPLY=($(compgen -W \"$(_shiplog_list services)\" -- \"$cur\")) ;;\n"
	      "\tshow | diff) COMPREPLY=($(compgen -W \"$(_shiplog_list ops)\" -- \"$cur\")) ;;\n"
	      "\tdeploy) ((nwords == 0)) && COMPREPLY=($(compgen -W \"main current-branch branch\" "
	      "-- \"$cur\")) ;;\n"
	      "\t*) ((nwords == 0)) && COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")) ;;\n"
	      "\tesac\n"
	      "}\n"
	      "complete -F _shiplog shiplog\n",
	      f);
}

static void zsh_script(FILE *f)
{
	fprintf(f,
		"#compdef shiplog\n# zsh completion for shiplog %s: the bash completion through "
		"zsh's bashcompinit.\n# Load it with: source <(shiplog completion zsh)\n",
		SHIPLOG_VERSION);
	fputs("(( $+functions[compdef] )) || { autoload -U compinit && compinit -u; }\n"
	      "autoload -U +X bashcompinit && bashcompinit\n",
	      f);
	bash_script(f);
	/* Installed in a $fpath directory, compinit autoloads this file as the function _shiplog
	 * on the first TAB: the body only defines the real one, so that TAB must complete too. */
	fputs("# autoloaded from $fpath (the #compdef line): complete this first TAB as well\n"
	      "if [[ -n ${compstate[context]-} ]]; then _bash_complete -F _shiplog; fi\n",
	      f);
}

/* One word per line: what the completion scripts offer for services, ops and commands. */
static int list(struct cmd_ctx *ctx, const char *what)
{
	if (streq(what, "commands")) {
		for (size_t i = 0; i < cmd_table_len; i++)
			printf("%s\n", cmd_table[i]->name);
		return 0;
	}
	if (streq(what, "services")) {
		for (size_t i = 0; ctx->cfg && i < ctx->cfg->nservices; i++)
			printf("%s\n", ctx->cfg->services[i].name);
		return 0;
	}
	if (streq(what, "ops")) {
		struct ledger_history_filter f = {.runtime = -1, .outcome = -1};
		struct ledger_op_summary *rows = NULL;
		size_t n = 0;

		/* quietly nothing when there is no ledger: completion must not print errors */
		if (cmd_open_ledger(ctx, false) < 0 ||
		    ledger_history(ctx->lg, &f, 30, &rows, &n) < 0)
			return 0;
		for (size_t i = 0; i < n; i++) {
			printf("%" PRIu64 "\n", rows[i].number);
			ledger_op_summary_release(&rows[i]);
		}
		free(rows);
		return 0;
	}
	return cmd_usage_error(&cmd_completion, "--list takes services, ops or commands, not '%s'",
			       what);
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *what = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt != 'l')
			return cmd_usage_error(&cmd_completion, "bad option");
		what = optarg;
	}
	if (what) {
		if (optind < argc)
			return cmd_usage_error(&cmd_completion, "--list takes no shell name");
		/* nothing on stderr: a missing ledger or a broken config must not spill into the
		 * operator's prompt at each <Tab> */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDERR_FILENO);
			close(null);
		}
		return list(ctx, what);
	}
	if (optind + 1 != argc || (!streq(argv[optind], "bash") && !streq(argv[optind], "zsh")))
		return cmd_usage_error(&cmd_completion, "say which shell: bash or zsh");
	if (streq(argv[optind], "bash"))
		bash_script(stdout);
	else
		zsh_script(stdout);
	return 0;
}

const struct cmd_entry cmd_completion = {
    .name = "completion",
    .summary = "bash or zsh completion: commands, options, services and operation numbers",
    .usage =
	"usage: shiplog completion bash|zsh\n"
	"\n"
	"Prints a completion script, written from the command table: commands, their\n"
	"subcommands and options, the service names of the shiplog.conf found from the\n"
	"current directory (after --pieces, --scope, --service and for 'logs'), and the\n"
	"newest operation numbers of its ledger (after --op, --to and for 'show' and 'diff').\n"
	"Those two are asked of shiplog itself at each <Tab>: 'shiplog completion --list\n"
	"services|ops|commands' prints them one per line, and nothing when there is no\n"
	"config or ledger.\n"
	"\n"
	"Examples:\n"
	"  source <(shiplog completion bash)             # in ~/.bashrc\n"
	"  source <(shiplog completion zsh)              # in ~/.zshrc\n"
	"  shiplog completion bash > /etc/bash_completion.d/shiplog\n"
	"\n"
	"Exit codes: 0, 2 usage.\n",
    .flags = CMD_CONFIG_OPTIONAL,
    .shortopts = "",
    .options = options,
    .words = "bash zsh",
    .run = run,
};
