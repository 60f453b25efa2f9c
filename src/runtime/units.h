/* SPDX-License-Identifier: MIT */
/* Rendering and installing the unit templates (shared by `shiplog units` and by deploy, which
 * re-installs them when the templates changed between two commits). */
#ifndef SHIPLOG_UNITS_H
#define SHIPLOG_UNITS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct bus;

/* Renders every service's template and writes the units that changed into the manager's unit
 * directory, then reloads the manager when anything changed. *changed (may be NULL) says whether
 * a file was written. Nothing is enabled or started. On error nothing is written and err holds
 * one line naming the file. */
int units_install(const struct config *cfg, struct bus *bus, const char *enable_scope,
		  bool *changed, char *err, size_t errlen);

/* ---- the pieces, for `shiplog units` ------------------------------------------------------ */

struct units_file {
	const struct service *svc;
	char *template_path; /* <checkout>/<unit_dir>/<service>.service.in */
	char *text;	     /* the rendered unit */
	char *path;	     /* where it goes: <dir>/<unit> */
	const char *status;  /* after units_write(): "installed", "updated" or "unchanged" */
	bool secret;	     /* carries `env =` values: written 0600 */
};

struct units_set {
	char *dir; /* the manager's unit directory */
	struct units_file *f;
	size_t n;
};

/* Renders every service's template in memory. Returns 0, or SL_EUSAGE (missing template, unknown
 * @PARAMETER@, [runtime native] exec unset) / SL_EENV with one line in err. Writes nothing. */
int units_render(const struct config *cfg, struct units_set *set, char *err, size_t errlen);
/* Writes the units whose text changed (mode 0644, 0600 with `env =` values, atomically), creating
 * the unit directory and [runtime native] log_dir; with dry_run only sets each status. *changed
 * counts written files. */
int units_write(const struct config *cfg, struct units_set *set, bool dry_run, size_t *changed,
		char *err, size_t errlen);
void units_set_release(struct units_set *set);

/* Scopes of the reference's install-user-units.sh: none, full, web, api, services, workers. */
#define UNITS_SCOPE_LIST "none, full, web, api, services, workers"
bool units_scope_valid(const char *scope);
bool units_scope_has(const char *scope, enum role r);

#endif
