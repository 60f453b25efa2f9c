/* SPDX-License-Identifier: MIT */
/* shiplog init [--force] [PATH]: writes the commented starter shiplog.conf, named after the
 * directory it lands in, and says what to do next. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "out.h"
#include "util.h"

static bool project_name_ok(const char *s)
{
	if (str_empty(s) || strlen(s) > 63 || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr("._-", *s))
			return false;
	return true;
}

/* The starter text with "name = myapp" (and the default names derived from it) replaced by
 * the name of the directory the file goes to, when that is a valid project name. */
static char *starter_for(const char *path)
{
	const char *text = config_starter_text();
	_cleanup_free_ char *abs = NULL;
	const char *base;
	struct buf b = {0};

	abs = realpath(".", NULL);
	if (strchr(path, '/')) {
		_cleanup_free_ char *d = xstrndup(path, (size_t)(strrchr(path, '/') - path));
		free(abs);
		abs = realpath(*d ? d : "/", NULL);
	}
	base = abs ? strrchr(abs, '/') : NULL;
	base = base ? base + 1 : NULL;
	if (!project_name_ok(base) || streq(base, "myapp"))
		return xstrdup(text);
	for (const char *p = text; *p;) {
		const char *hit = strstr(p, "myapp");
		if (!hit) {
			buf_append(&b, p, strlen(p));
			break;
		}
		buf_append(&b, p, (size_t)(hit - p));
		buf_append(&b, base, strlen(base));
		p = hit + 5;
	}
	return b.data;
}

static const struct option options[] = {
    {"force", no_argument, NULL, 'f'},
    {0},
};

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct config *cfg = NULL;
	bool force = false;
	struct stat st;
	char err[512];
	int opt, r;

	(void)ctx;
	while ((opt = getopt_long(argc, argv, "+f", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			force = true;
			break;
		default:
			return cmd_usage_error(&cmd_init, "unknown option");
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error(&cmd_init, "too many arguments; give at most one PATH");
	path = xstrdup(optind < argc ? argv[optind] : "shiplog.conf");
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *p = xasprintf("%s/shiplog.conf", path);
		free(path);
		path = p;
	}
	if (!force && lstat(path, &st) == 0) {
		log_error(
		    "'%s' already exists; edit it, or run 'shiplog init --force' to replace it",
		    path);
		return SL_EUSAGE;
	}

	text = starter_for(path);
	r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0) {
		log_error("cannot write '%s': %s; check the directory exists and is writable", path,
			  strerror(-r));
		return SL_EENV;
	}
	/* The starter must load; check the file as written, as every later command will. */
	r = config_load(path, &cfg, err, sizeof(err));
	if (r < 0) {
		log_error("the starter file does not load (a bug in shiplog): %s", err);
		return r;
	}

	if (out_settings.json) {
		json_t *j = json_object();
		json_object_set_new(j, "wrote", json_str(cfg->path));
		json_object_set_new(j, "project", json_str(cfg->project));
		json_object_set_new(j, "services", json_integer((json_int_t)cfg->nservices));
		out_json(j);
	} else {
		printf("wrote %s (project '%s', %zu services: ", cfg->path, cfg->project,
		       cfg->nservices);
		for (size_t i = 0; i < cfg->nservices; i++)
			printf("%s%s", i ? ", " : "", cfg->services[i].name);
		printf(
		    ")\n\n"
		    "next steps:\n"
		    "  1. edit it: one [service NAME] per service, with its role, unit and health\n"
		    "     checks; set [target] checkout and ssh when you deploy to a server\n"
		    "     (docs/config.md explains every key)\n"
		    "  2. shiplog units install      install the user units of your services\n"
		    "  3. shiplog deploy main --dry-run   see what a deploy would do\n"
		    "  4. shiplog deploy main        deploy (native runtime; --runtime docker for "
		    "compose)\n");
	}
	config_free(cfg);
	return 0;
}

const struct cmd_entry cmd_init = {
    .name = "init",
    .summary = "write a commented starter shiplog.conf",
    .usage = "usage: shiplog init [--force] [PATH]\n"
	     "\n"
	     "Writes a commented starter shiplog.conf to PATH (default ./shiplog.conf; a\n"
	     "directory gets a shiplog.conf inside). The project is named after the directory\n"
	     "when that is a valid name. The file has the shape of the reference setup: a web,\n"
	     "an api and four workers. Edit it to match your services.\n"
	     "\n"
	     "  -f, --force   replace an existing file\n"
	     "\n"
	     "Examples:\n"
	     "  shiplog init                    # ./shiplog.conf, commit it with the app\n"
	     "  shiplog init --force deploy/    # deploy/shiplog.conf, replacing it\n"
	     "\n"
	     "Exit codes: 0 written, 2 the file exists (without --force) or bad arguments,\n"
	     "4 it could not be written.\n",
    .flags = 0,
    .shortopts = "+f",
    .options = options,
    .run = run,
};
