/* SPDX-License-Identifier: MIT */
/* Checks of single shiplog.conf values (values.c), for config.c. Each says whether the value is
 * acceptable; config.c words the error with the file, line and key. */
#ifndef SHIPLOG_VALUES_H
#define SHIPLOG_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#define NAME_MAX_LEN 63 /* project, compose and service names */

/* Levenshtein distance, 99 for strings of 63 bytes or more: "did you mean" for unknown keys. */
size_t edit_distance(const char *a, const char *b);

/* Letters, digits and the characters of `extra`, 1..NAME_MAX_LEN bytes. */
bool name_valid(const char *s, const char *extra);
/* Lowercase letters, digits and '-', starting with a letter or digit. */
bool service_name_valid(const char *s);
/* A git ref or remote name as far as we can tell without git. */
bool refname_valid(const char *s);
/* "Name=value" with Name on ssh_options_allowed (case-insensitive, as ssh compares). */
bool ssh_option_allowed(const char *opt);
extern const char *const ssh_options_allowed[];
/* A UserKnownHostsFile a committed config may name: ssh appends host keys to it
 * (StrictHostKeyChecking=accept-new, UpdateHostKeys), so only one file whose name holds
 * "known_hosts", under ~/.ssh/ (written "~/.ssh/..." or as $HOME's absolute path), with no
 * "..", %-token, $ or quote; or /dev/null or "none". */
bool ssh_known_hosts_allowed(const char *path);
extern const size_t ssh_options_allowed_count;
/* An http:// or https:// URL with a host and no whitespace or control bytes. */
bool url_valid(const char *s);
bool unit_name_valid(const char *s);
/* "islandflow-web" -> "islandflow-web.service"; a name with a unit type suffix stays. malloc'd. */
char *unit_normalize(const char *s);
/* ~/ expanded; relative resolved against dir (the config file's directory). malloc'd. */
char *path_resolve(const char *dir, const char *value);
/* user@host[:port], no leading '-', no whitespace. */
bool ssh_valid(const char *s);
/* A fleet host's ssh target, allow-listed: [user@]host[:port], user of letters, digits and
 * "._-", host a DNS name (letters, digits, '.', '-') or a bracketed IPv6 address, port 1-65535;
 * nothing starts with '-'. */
bool ssh_target_valid(const char *s);
/* A [host NAME]: letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63. */
bool host_name_valid(const char *s);

/* The index of v in names[0..n), or -1. */
int enum_parse(const char *v, const char *const *names, size_t n);
/* carry and shared: a relative path that stays inside the release. */
bool release_subpath_valid(const char *v);
/* An environment variable name: letters, digits and '_', not starting with a digit. */
bool env_name_valid(const char *v, size_t n);

#endif
