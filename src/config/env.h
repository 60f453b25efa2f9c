/* SPDX-License-Identifier: MIT */
/* A service's environment as the config gives it: [runtime native] env_file, then the service's
 * own env_file entries, then its `env = NAME=value` entries (a later one wins, as in systemd).
 * The values are secrets: they reach the units, compose and the hooks, never the ledger or the
 * transcript. Names may be shown; a digest of names and values is recorded so that `diff` shows
 * that an environment changed. */
#ifndef SHIPLOG_ENV_H
#define SHIPLOG_ENV_H

#include "config.h"
#include "util.h"

/* The environment files of a service (s NULL: the global one only), absolute: relative paths
 * are relative to the checkout. */
void env_files(const struct config *cfg, const struct service *s, struct strv *paths);

/* Appends "NAME=value" entries: the files' (missing files are skipped, like systemd's '-'
 * prefix), then s->env. s NULL: the global file only. */
void env_collect(const struct config *cfg, const struct service *s, struct strv *kv);

/* Only the service's own: its env_file entries, then its env. */
void env_collect_own(const struct config *cfg, const struct service *s, struct strv *kv);

/* Every entry any service of the config may get: what output must never show. */
void env_collect_all(const struct config *cfg, struct strv *kv);

/* Hex SHA-256 over the file paths and the entries of a service's environment. */
void env_digest(const struct config *cfg, const struct service *s, char out[65]);

/* The names of kv, comma-separated (malloc'd; "" when empty). */
char *env_names(const struct strv *kv);

/* A copy of text (len bytes) in which every value of kv of at least 4 bytes is replaced by
 * "[redacted NAME]". malloc'd. */
char *env_redact(const char *text, size_t len, const struct strv *kv);

#endif
