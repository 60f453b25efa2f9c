/* SPDX-License-Identifier: MIT */
#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "out.h"
#include "util.h"

int args_time(const struct cmd_entry *c, const char *opt, const char *value, int64_t *out)
{
	if (parse_time_ns(value, now_ns(), out) < 0) {
		log_error(
		    "%s: bad time '%s' for %s: use RFC 3339 (2026-11-27T08:00:00Z, a real date "
		    "from 1970 to 2262) or an age like 45s, 90m, 2h, 3d",
		    c->name, value, opt);
		return SL_EUSAGE;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (str_empty(s) || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > INT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

int args_u64(const struct cmd_entry *c, const char *what, const char *value, uint64_t min,
	     uint64_t *out)
{
	if (parse_u64(value, out) < 0 || *out < min) {
		log_error("%s: bad %s '%s': expected a number%s", c->name, what, value,
			  min ? " of 1 or more" : "");
		return SL_EUSAGE;
	}
	return 0;
}

int args_bad_option(const struct cmd_entry *c, char **argv, int optind_, int optopt_)
{
	const char *arg = optind_ > 0 ? argv[optind_ - 1] : "?";

	if (optopt_ && !str_startswith(arg, "--"))
		log_error("%s: unknown option or missing value '-%c'; see 'shiplog %s --help'",
			  c->name, optopt_, c->name);
	else
		log_error("%s: unknown option or missing value '%s'; see 'shiplog %s --help'",
			  c->name, arg, c->name);
	return SL_EUSAGE;
}

int args_json_only(const struct cmd_entry *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {0},
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'J')
			return args_bad_option(c, argv, optind, optopt);
		out_settings.json = true;
	}
	return 0;
}
