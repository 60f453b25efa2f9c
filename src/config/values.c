/* SPDX-License-Identifier: MIT */
/* The checks of single values in shiplog.conf, shared by config.c's keys: names, refs, URLs,
 * unit names, ssh targets and options, paths inside a release. Pure string work. */
#include "values.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

bool name_valid(const char *s, const char *extra)
{
	if (str_empty(s) || strlen(s) > NAME_MAX_LEN)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(extra, *c))
			return false;
	return true;
}

bool service_name_valid(const char *s)
{
	if (str_empty(s) || strlen(s) > NAME_MAX_LEN)
		return false;
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (const char *c = s; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
			return false;
	return true;
}

/* A git ref or remote name as far as we can tell without git: no spaces, controls, leading '-'. */
bool refname_valid(const char *s)
{
	if (str_empty(s) || s[0] == '-' || str_has_control(s))
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c) || strchr("~^:?*[\\", *c))
			return false;
	return !strstr(s, "..") && !strstr(s, "@{");
}

/* ssh options a committed shiplog.conf may set: none of them runs a program, loads code, opens a
 * forward or changes which host is reached. Everything else (ProxyCommand, ProxyJump,
 * LocalCommand, PermitLocalCommand, KnownHostsCommand, PKCS11Provider, SecurityKeyProvider,
 * Include, Match, ControlPath, forwards, HostName ...) is refused: `shiplog status` in a fresh
 * clone must not run what the repository says. */
const char *const ssh_options_allowed[] = {
    "AddressFamily",
    "BatchMode",
    "CheckHostIP",
    "Ciphers",
    "Compression",
    "ConnectionAttempts",
    "ConnectTimeout",
    "FingerprintHash",
    "GlobalKnownHostsFile",
    "HashKnownHosts",
    "HostKeyAlgorithms",
    "HostKeyAlias",
    "IdentitiesOnly",
    "IPQoS",
    "KexAlgorithms",
    "LogLevel",
    "MACs",
    "Port",
    "PubkeyAcceptedAlgorithms",
    "RekeyLimit",
    "ServerAliveCountMax",
    "ServerAliveInterval",
    "StrictHostKeyChecking",
    "TCPKeepAlive",
    "UpdateHostKeys",
    "UserKnownHostsFile",
    "VerifyHostKeyDNS",
};

/* "Name=value" with Name on the allowlist (ssh compares names case-insensitively). */
bool ssh_option_allowed(const char *opt)
{
	size_t n = 0;

	while (isalnum((unsigned char)opt[n]))
		n++;
	if (n == 0 || opt[n] != '=')
		return false;
	for (size_t i = 0; i < ELEMENTSOF(ssh_options_allowed); i++)
		if (strlen(ssh_options_allowed[i]) == n &&
		    strncasecmp(opt, ssh_options_allowed[i], n) == 0)
			return true;
	return false;
}

bool ssh_known_hosts_allowed(const char *path)
{
	_cleanup_free_ char *ssh_dir = expand_home("~/.ssh/");
	const char *rest, *base;

	if (streq(path, "/dev/null") || strcasecmp(path, "none") == 0)
		return true; /* nothing is kept */
	if (str_startswith(path, "~/.ssh/"))
		rest = path + strlen("~/.ssh/");
	else if (ssh_dir && ssh_dir[0] == '/' && str_startswith(path, ssh_dir))
		rest = path + strlen(ssh_dir);
	else
		return false;
	/* one file, no ssh %-tokens or ${VAR}s, no way back out of ~/.ssh */
	for (const char *c = path; *c; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c) || strchr("%$\"'", *c))
			return false;
	if (!*rest || streq(rest, "..") || str_startswith(rest, "../") || strstr(rest, "/../") ||
	    (strlen(rest) >= 3 && streq(rest + strlen(rest) - 3, "/..")))
		return false;
	base = strrchr(rest, '/') ? strrchr(rest, '/') + 1 : rest;
	return strstr(base, "known_hosts") != NULL;
}

bool url_valid(const char *s)
{
	const char *host = str_startswith(s, "http://")	   ? s + 7
			   : str_startswith(s, "https://") ? s + 8
							   : NULL;

	if (!host || !*host || *host == '/' || *host == ':' || str_has_control(s))
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c))
			return false;
	return true;
}

bool unit_name_valid(const char *s)
{
	if (str_empty(s) || s[0] == '-' || s[0] == '.' || strlen(s) > 255)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(":-_.\\@", *c))
			return false;
	return true;
}

/* "islandflow-web" -> "islandflow-web.service"; a name with a unit type suffix stays. */
char *unit_normalize(const char *s)
{
	static const char *const types[] = {"service", "socket", "target",   "timer",
					    "mount",   "path",	 "slice",    "scope",
					    "device",  "swap",	 "automount"};
	const char *dot = strrchr(s, '.');

	if (dot)
		for (size_t i = 0; i < ELEMENTSOF(types); i++)
			if (streq(dot + 1, types[i]))
				return xstrdup(s);
	return xasprintf("%s.service", s);
}

/* ~/ expanded; relative resolved against the config file's directory. */
char *path_resolve(const char *dir, const char *value)
{
	char *e = expand_home(value);
	char *r;

	if (e[0] == '/')
		return e;
	if (streq(e, "."))
		r = xstrdup(dir);
	else if (str_startswith(e, "./"))
		r = xasprintf("%s/%s", dir, e + 2);
	else
		r = xasprintf("%s/%s", dir, e);
	free(e);
	return r;
}

bool ssh_valid(const char *s)
{
	const char *at = strchr(s, '@'), *host, *colon;

	if (str_empty(s) || s[0] == '-' || str_has_control(s))
		return false;
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c))
			return false;
	host = at ? at + 1 : s;
	if (at == s || !*host || *host == ':' || strchr(host, '@'))
		return false;
	colon = strrchr(host, ':');
	if (colon && host[0] != '[') {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535)
			return false;
	}
	return true;
}

/* n bytes of s, each a letter, digit or one of extra, the first not '-' (nor '.'). */
static bool span_valid(const char *s, size_t n, const char *extra)
{
	if (n == 0 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

static bool port_valid(const char *s)
{
	char *end;
	long port;

	if (!isdigit((unsigned char)s[0]) || strlen(s) > 5)
		return false;
	port = strtol(s, &end, 10);
	return !*end && port >= 1 && port <= 65535;
}

bool ssh_target_valid(const char *s)
{
	const char *at, *host, *end, *rest;

	if (str_empty(s) || strlen(s) > 255)
		return false;
	at = strchr(s, '@');
	if (at && !span_valid(s, (size_t)(at - s), "._-"))
		return false;
	host = at ? at + 1 : s;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || !span_valid(host + 1, (size_t)(end - host - 1), ":.") ||
		    !strchr(host, ':'))
			return false;
		rest = end + 1;
	} else {
		rest = host + strcspn(host, ":");
		if (!span_valid(host, (size_t)(rest - host), ".-"))
			return false;
	}
	if (!*rest)
		return true;
	return rest[0] == ':' && port_valid(rest + 1);
}

bool host_name_valid(const char *s)
{
	return name_valid(s, "-_.") && isalnum((unsigned char)s[0]);
}

int enum_parse(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v, names[i]))
			return (int)i;
	return -1;
}

/* carry and shared: a relative path that stays inside the release. */
bool release_subpath_valid(const char *v)
{
	const char *p = v;

	if (!v[0] || v[0] == '/' || strchr(v, '\n'))
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");
		if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.') || n == 0)
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return v[strlen(v) - 1] != '/';
}

bool env_name_valid(const char *v, size_t n)
{
	if (v[0] >= '0' && v[0] <= '9')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] == '_' || (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9')))
			return false;
	return true;
}

const size_t ssh_options_allowed_count = ELEMENTSOF(ssh_options_allowed);
