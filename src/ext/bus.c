/* SPDX-License-Identifier: MIT */
/* The systemd manager over sd-bus: the only place in shiplog that speaks D-Bus. */
#include "bus.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"

struct bus {
	sd_bus *bus;
	bool private_socket; /* a direct connection: no bus daemon, no sender names */
	bool subscribed;     /* Manager.Subscribe done on this connection */
	bool user;	     /* the user manager (for reconnecting) */
	char errmsg[512];
};

/* bus_open() has no handle to hang its failure on: bus_errmsg(NULL) reads this. */
static char open_errmsg[512];

static int bus_fail(struct bus *b, int r, const sd_bus_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records "what: D-Bus message" and returns r. */
static int bus_fail(struct bus *b, int r, const sd_bus_error *err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err && sd_bus_error_is_set(err))
		snprintf(b->errmsg, sizeof(b->errmsg), "%s: %s", what,
			 err->message ? err->message : err->name);
	else
		snprintf(b->errmsg, sizeof(b->errmsg), "%s: %s", what, strerror(r < 0 ? -r : r));
	return r;
}

static int bus_connect_private(sd_bus **out, const char *runtime_dir)
{
	_cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
	_cleanup_free_ char *address = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	address = xasprintf("unix:path=%s/systemd/private", runtime_dir);
	r = sd_bus_set_address(bus, address);
	if (r < 0)
		return r;
	r = sd_bus_start(bus);
	if (r < 0)
		return r;
	*out = bus;
	bus = NULL;
	return 0;
}

int bus_open(struct bus **out, bool user)
{
	_cleanup_free_ struct bus *b = NULL;
	const char *rt, *dbus_address;
	int r, r2;

	*out = NULL;
	open_errmsg[0] = '\0';
	b = xcalloc(1, sizeof(*b));
	b->user = user;

	if (!user) {
		r = sd_bus_open_system(&b->bus);
		if (r < 0) {
			snprintf(open_errmsg, sizeof(open_errmsg),
				 "cannot reach the systemd system manager on the system bus: %s; "
				 "is systemd PID 1 and is dbus running?",
				 strerror(-r));
			return r;
		}
		*out = b;
		b = NULL;
		return 0;
	}

	r = sd_bus_open_user(&b->bus);
	if (r >= 0) {
		*out = b;
		b = NULL;
		return 0;
	}

	rt = getenv("XDG_RUNTIME_DIR");
	dbus_address = getenv("DBUS_SESSION_BUS_ADDRESS");
	if (str_empty(rt)) {
		if (!str_empty(dbus_address))
			snprintf(open_errmsg, sizeof(open_errmsg),
				 "cannot reach the systemd user manager at '%s': %s, and "
				 "XDG_RUNTIME_DIR is not set; is 'systemd --user' running for this "
				 "user? (loginctl enable-linger, or set XDG_RUNTIME_DIR)",
				 dbus_address, strerror(-r));
		else
			snprintf(
			    open_errmsg, sizeof(open_errmsg),
			    "cannot reach the systemd user manager: XDG_RUNTIME_DIR is not set; "
			    "is 'systemd --user' running for this user? (loginctl "
			    "enable-linger, or set XDG_RUNTIME_DIR)");
		return r;
	}

	/* No bus daemon (or a dead one): the manager also listens on its own socket. */
	r2 = bus_connect_private(&b->bus, rt);
	if (r2 >= 0) {
		b->private_socket = true;
		*out = b;
		b = NULL;
		return 0;
	}

	if (!str_empty(dbus_address))
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "cannot reach the systemd user manager at '%s': %s, nor at "
			 "'%s/systemd/private': %s; is 'systemd --user' running for this user? "
			 "(loginctl enable-linger, or set XDG_RUNTIME_DIR)",
			 dbus_address, strerror(-r), rt, strerror(-r2));
	else
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "cannot reach the systemd user manager at '%s/bus': %s, nor at "
			 "'%s/systemd/private': %s; is 'systemd --user' running for this user? "
			 "(loginctl enable-linger, or set XDG_RUNTIME_DIR)",
			 rt, strerror(-r), rt, strerror(-r2));
	return r;
}

void bus_close(struct bus *b)
{
	if (!b)
		return;
	sd_bus_flush_close_unref(b->bus);
	free(b);
}

const char *bus_errmsg(const struct bus *b)
{
	return b ? b->errmsg : open_errmsg;
}

/* ---- units and properties ----------------------------------------------------------------- */

/* LoadUnit: the object path of a unit, loading it (as "not-found" when it does not exist). */
static int bus_unit_path(struct bus *b, const char *unit, char **out)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &err, &reply, "s",
			       unit);
	if (r < 0)
		return bus_fail(b, r, &err, "cannot load unit '%s'", unit);
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return bus_fail(b, r, NULL, "cannot parse the reply to LoadUnit('%s')", unit);
	*out = xstrdup(path);
	return 0;
}

/* Reads a variant holding a string into a fixed buffer; other contents are skipped. */
static int prop_read_string(sd_bus_message *m, char *dst, size_t n)
{
	const char *s;
	int r;

	r = sd_bus_message_read(m, "v", "s", &s);
	if (r >= 0)
		strlcpy_(dst, s, n);
	return r;
}

static int prop_read_trivial(sd_bus_message *m, char type, void *dst)
{
	char sig[2] = {type, '\0'};
	int r;

	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r < 0)
		return r;
	r = sd_bus_message_read_basic(m, type, dst);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int prop_read_id128(sd_bus_message *m, char out[33])
{
	const uint8_t *bytes;
	size_t n;
	int r;

	r = sd_bus_message_enter_container(m, 'v', "ay");
	if (r < 0)
		return r;
	r = sd_bus_message_read_array(m, 'y', (const void **)&bytes, &n);
	if (r < 0)
		return r;
	out[0] = '\0';
	if (n == 16) {
		for (size_t i = 0; i < n; i++)
			snprintf(out + 2 * i, 3, "%02x", bytes[i]);
		/* The null id means "no invocation yet". */
		if (strspn(out, "0") == 32)
			out[0] = '\0';
	}
	return sd_bus_message_exit_container(m);
}

/* Whether the variant that follows has the given signature. */
static bool prop_has_type(sd_bus_message *m, const char *sig)
{
	const char *contents = NULL;
	char type;

	if (sd_bus_message_peek_type(m, &type, &contents) <= 0)
		return false;
	return type == 'v' && streq(contents, sig);
}

static int props_parse(sd_bus_message *m, struct unit_props *p)
{
	const char *key;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (streq(key, "LoadState") && prop_has_type(m, "s"))
			r = prop_read_string(m, p->load_state, sizeof(p->load_state));
		else if (streq(key, "ActiveState") && prop_has_type(m, "s"))
			r = prop_read_string(m, p->active_state, sizeof(p->active_state));
		else if (streq(key, "SubState") && prop_has_type(m, "s"))
			r = prop_read_string(m, p->sub_state, sizeof(p->sub_state));
		else if (streq(key, "FragmentPath") && prop_has_type(m, "s"))
			r = prop_read_string(m, p->fragment_path, sizeof(p->fragment_path));
		else if (streq(key, "Result") && prop_has_type(m, "s"))
			r = prop_read_string(m, p->result, sizeof(p->result));
		else if (streq(key, "InvocationID") && prop_has_type(m, "ay"))
			r = prop_read_id128(m, p->invocation_id);
		else if (streq(key, "NeedDaemonReload") && prop_has_type(m, "b")) {
			int v = 0;

			r = prop_read_trivial(m, 'b', &v);
			p->need_daemon_reload = v;
		} else if (streq(key, "MainPID") && prop_has_type(m, "u"))
			r = prop_read_trivial(m, 'u', &p->main_pid);
		else if (streq(key, "NRestarts") && prop_has_type(m, "u"))
			r = prop_read_trivial(m, 'u', &p->n_restarts);
		else if (streq(key, "ExecMainStatus") && prop_has_type(m, "i"))
			r = prop_read_trivial(m, 'i', &p->exec_main_status);
		else if (streq(key, "ExecMainCode") && prop_has_type(m, "i"))
			r = prop_read_trivial(m, 'i', &p->exec_main_code);
		else if (streq(key, "ExecMainPID") && prop_has_type(m, "u"))
			r = prop_read_trivial(m, 'u', &p->exec_main_pid);
		else if (streq(key, "ExecMainStartTimestamp") && prop_has_type(m, "t"))
			r = prop_read_trivial(m, 't', &p->exec_main_start_us);
		else if (streq(key, "MemoryCurrent") && prop_has_type(m, "t"))
			r = prop_read_trivial(m, 't', &p->memory_bytes);
		else
			r = sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* Properties.GetAll(interface) on a unit object. */
static int bus_get_all(struct bus *b, const char *path, const char *iface, const char *unit,
		       struct unit_props *p)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(b->bus, SD_DEST, path, "org.freedesktop.DBus.Properties", "GetAll",
			       &err, &reply, "s", iface);
	if (r < 0)
		return bus_fail(b, r, &err, "cannot read the properties of unit '%s'", unit);
	r = props_parse(reply, p);
	if (r < 0)
		return bus_fail(b, r, NULL, "cannot parse the properties of unit '%s'", unit);
	return 0;
}

static bool unit_is_service(const char *unit)
{
	size_t n = strlen(unit), k = strlen(".service");

	return n > k && streq(unit + n - k, ".service");
}

static bool connection_lost(int r)
{
	return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ESHUTDOWN;
}

/* The bus daemon can restart under us (a user session's dbus is socket-activated): open a new
 * connection in place of the lost one. */
static int bus_reconnect(struct bus *b)
{
	struct bus *fresh = NULL;
	int r = bus_open(&fresh, b->user);

	if (r < 0)
		return bus_fail(b, r, NULL, "reconnecting to the systemd manager (%s)",
				open_errmsg);
	sd_bus_flush_close_unref(b->bus);
	b->bus = fresh->bus;
	b->private_socket = fresh->private_socket;
	b->subscribed = false;
	free(fresh);
	return 0;
}

static int unit_props_once(struct bus *b, const char *unit, struct unit_props *p);

int bus_unit_props(struct bus *b, const char *unit, struct unit_props *p)
{
	int r = unit_props_once(b, unit, p);

	if (r < 0 && connection_lost(r) && bus_reconnect(b) == 0)
		r = unit_props_once(b, unit, p);
	return r;
}

static int unit_props_once(struct bus *b, const char *unit, struct unit_props *p)
{
	_cleanup_free_ char *path = NULL;
	int r;

	memset(p, 0, sizeof(*p));
	p->memory_bytes = UINT64_MAX;

	r = bus_unit_path(b, unit, &path);
	if (r < 0)
		return r;
	r = bus_get_all(b, path, SD_UNIT, unit, p);
	if (r < 0)
		return r;
	/* Only services carry Result, MainPID and the rest; other unit types keep the defaults. */
	if (!unit_is_service(unit))
		return 0;
	r = bus_get_all(b, path, SD_SERVICE, unit, p);
	/* A unit that never loaded may lack the Service interface: what we have is the answer. */
	if (r < 0 && !streq(p->load_state, "loaded"))
		return 0;
	return r;
}

/* The four properties a settle window compares, each with one Get on the unit's object (its
 * path is the escaped name: no LoadUnit round trip). */
static int unit_watch_once(struct bus *b, const char *unit, struct unit_props *p)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL, *active = NULL, *sub = NULL;
	int r;

	r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
	if (r < 0)
		return r;
	r = sd_bus_get_property_string(b->bus, SD_DEST, path, SD_UNIT, "ActiveState", &err,
				       &active);
	if (r >= 0)
		r = sd_bus_get_property_string(b->bus, SD_DEST, path, SD_UNIT, "SubState", &err,
					       &sub);
	if (r >= 0 && unit_is_service(unit))
		r = sd_bus_get_property_trivial(b->bus, SD_DEST, path, SD_SERVICE, "NRestarts",
						&err, 'u', &p->n_restarts);
	if (r >= 0 && unit_is_service(unit))
		r = sd_bus_get_property_trivial(b->bus, SD_DEST, path, SD_SERVICE, "MainPID", &err,
						'u', &p->main_pid);
	if (r < 0)
		return r;
	strlcpy_(p->active_state, active, sizeof(p->active_state));
	strlcpy_(p->sub_state, sub, sizeof(p->sub_state));
	return 0;
}

int bus_unit_watch(struct bus *b, const char *unit, struct unit_props *p)
{
	char active[sizeof(p->active_state)], sub[sizeof(p->sub_state)];
	int r;

	memset(p, 0, sizeof(*p));
	p->memory_bytes = UINT64_MAX;
	if (unit_watch_once(b, unit, p) < 0)
		return bus_unit_props(b, unit, p); /* its errors, its reconnect */
	if (streq(p->active_state, "active"))
		return 0;
	/* Not active: the whole unit for the failure's detail (Result, exit status), with the
	 * state as this look saw it, whatever the unit has moved on to since. */
	memcpy(active, p->active_state, sizeof(active));
	memcpy(sub, p->sub_state, sizeof(sub));
	r = bus_unit_props(b, unit, p);
	if (r < 0)
		return r;
	memcpy(p->active_state, active, sizeof(active));
	memcpy(p->sub_state, sub, sizeof(sub));
	return 0;
}

void bus_format_exit(const struct unit_props *p, char *out, size_t n)
{
	const char *result = p->result[0] ? p->result : "unknown";

	switch (p->exec_main_code) {
	case CLD_EXITED:
		snprintf(out, n, "result %s, exit status %d", result, p->exec_main_status);
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		snprintf(out, n, "result %s, killed by signal %s%s", result,
			 sigabbrev_np(p->exec_main_status) ? sigabbrev_np(p->exec_main_status)
							   : "?",
			 p->exec_main_code == CLD_DUMPED ? " (core dumped)" : "");
		break;
	default:
		/* No main process ran in this invocation (a failed ExecStartPre, a bad unit...). */
		snprintf(out, n, "result %s, no main process exit status", result);
		break;
	}
}

/* MainPID of a service, 0 when it has none or cannot be read (a missing unit, say). */
static uint32_t bus_main_pid(struct bus *b, const char *unit)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	uint32_t pid = 0;

	if (!unit_is_service(unit))
		return 0;
	/* GetUnit, not LoadUnit: a unit that is not loaded has no main process anyway. */
	if (sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &err, &reply, "s",
			       unit) < 0)
		return 0;
	if (sd_bus_message_read(reply, "o", &path) < 0)
		return 0;
	sd_bus_error_free(&err);
	if (sd_bus_get_property_trivial(b->bus, SD_DEST, path, SD_SERVICE, "MainPID", &err, 'u',
					&pid) < 0)
		return 0;
	return pid;
}

/* Service.Result of a unit, "" when unreadable. */
static void bus_unit_result(struct bus *b, const char *unit, char *out, size_t n)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *result = NULL;
	const char *path;

	out[0] = '\0';
	if (sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &err, &reply, "s",
			       unit) < 0)
		return;
	if (sd_bus_message_read(reply, "o", &path) < 0)
		return;
	sd_bus_error_free(&err);
	if (sd_bus_get_property_string(b->bus, SD_DEST, path, SD_SERVICE, "Result", &err, &result) <
	    0)
		return;
	strlcpy_(out, result, n);
}

int bus_reload(struct bus *b)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	/* The manager answers Reload once the reload is complete. */
	r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "Reload", &err, NULL, "");
	if (r < 0)
		return bus_fail(b, r, &err, "cannot reload the systemd manager");
	return 0;
}

int bus_reset_failed(struct bus *b, const char *unit)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	/* Clears the failed state and the start rate limit counter, as `systemctl reset-failed`. */
	r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &err, NULL,
			       "s", unit);
	if (r < 0)
		return bus_fail(b, r, &err, "cannot reset the failed state of unit '%s'", unit);
	return 0;
}

/* ---- jobs --------------------------------------------------------------------------------- */

struct job_wait {
	struct restart_job *job;
	char *path; /* the job's object path while queued */
	bool pending;
	bool finished; /* JobRemoved seen for the current path */
	int64_t t0;
};

struct job_set {
	struct job_wait *w;
	size_t n;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct job_set *set = userdata;
	const char *path, *unit, *result;
	uint32_t id;

	(void)ret_error;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	/* Other clients' jobs arrive too: match by job path. */
	for (size_t i = 0; i < set->n; i++) {
		struct job_wait *w = &set->w[i];

		if (!w->pending || !streq(w->path, path))
			continue;
		strlcpy_(w->job->result, result, sizeof(w->job->result));
		w->job->duration_ns = mono_ns() - w->t0;
		w->pending = false;
		w->finished = true;
		break;
	}
	return 0;
}

static int bus_job_queue(struct bus *b, struct job_wait *w, const char *method)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &err, &reply, "ss",
			       w->job->unit, "replace");
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &path);
	if (r < 0) {
		w->job->error = r;
		snprintf(w->job->errmsg, sizeof(w->job->errmsg), "cannot %s unit '%s': %s",
			 streq(method, "StopUnit") ? "stop" : "restart", w->job->unit,
			 !sd_bus_error_is_set(&err) ? strerror(-r)
			 : err.message		    ? err.message
						    : err.name);
		return r;
	}
	free(w->path);
	w->path = xstrdup(path);
	w->pending = true;
	w->finished = false;
	return 0;
}

/* Copies each wait's state into its job and tells the watch when the set of pending jobs is not
 * the one it was last told. */
static void watch_tell(const struct bus_jobs_watch *watch, struct job_wait *w,
		       struct restart_job *jobs, size_t n)
{
	bool changed = false;

	for (size_t i = 0; i < n; i++) {
		changed |= jobs[i].pending != w[i].pending;
		jobs[i].pending = w[i].pending;
	}
	if (changed && watch && watch->changed)
		watch->changed(watch->arg, jobs, n);
}

/* Listens to JobRemoved for set, and subscribes the connection to job signals once. Listen
 * before queuing, or a fast job ends before we look. A direct connection to the manager's
 * private socket has no sender names: the match must not name one. */
static int jobs_listen(struct bus *b, sd_bus_slot **slot, struct job_set *set)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_match_signal(b->bus, slot, b->private_socket ? NULL : SD_DEST, SD_PATH,
				SD_MANAGER, "JobRemoved", on_job_removed, set);
	if (r < 0)
		return bus_fail(b, r, NULL, "cannot subscribe to systemd job results");
	if (!b->subscribed) {
		/* Once per connection: a second Subscribe is an error (AlreadySubscribed). */
		r = sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &err,
				       NULL, "");
		if (r < 0 &&
		    !sd_bus_error_has_name(&err, "org.freedesktop.systemd1.AlreadySubscribed"))
			return bus_fail(b, r, &err, "cannot subscribe to systemd job results");
		b->subscribed = true;
	}
	return 0;
}

/* Queues w's job; the first error (and its message in b->errmsg) is kept in *first_error. */
static bool job_queue_noting(struct bus *b, struct job_wait *w, const char *method,
			     int *first_error)
{
	if (bus_job_queue(b, w, method) == 0)
		return true;
	if (!*first_error) {
		*first_error = w->job->error;
		strlcpy_(b->errmsg, w->job->errmsg, sizeof(b->errmsg));
	}
	return false;
}

/* A restart that failed on the start rate limit gets one reset and one more try. */
static void job_retry_start_limit(struct bus *b, struct job_wait *w, const char *method,
				  int *first_error)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	struct restart_job *j = w->job;
	char result[32];

	if (!w->finished || j->reset_start_limit || !streq(j->result, "failed"))
		return;
	w->finished = false;
	bus_unit_result(b, j->unit, result, sizeof(result));
	if (!streq(result, "start-limit-hit"))
		return;
	j->reset_start_limit = true;
	(void)sd_bus_call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &err,
				 NULL, "s", j->unit);
	(void)job_queue_noting(b, w, method, first_error);
}

/* Processes the bus until no job of set is pending or the deadline passes, telling watch as
 * the pending set changes; *pending gets how many still are. 0, or the bus's failure (said). */
static int jobs_wait(struct bus *b, struct job_set *set, struct restart_job *jobs,
		     const char *method, int64_t deadline_ns, const struct bus_jobs_watch *watch,
		     int *first_error, size_t *pending)
{
	bool retry_start_limit = streq(method, "RestartUnit");
	int64_t left;
	int r;

	while (*pending > 0) {
		r = sd_bus_process(b->bus, NULL);
		if (r < 0)
			return bus_fail(b, r, NULL, "lost the connection to the systemd manager");
		*pending = 0;
		for (size_t i = 0; i < set->n; i++) {
			if (retry_start_limit)
				job_retry_start_limit(b, &set->w[i], method, first_error);
			*pending += set->w[i].pending;
		}
		if (*pending == 0)
			break;
		watch_tell(watch, set->w, jobs, set->n);
		/* Checked on every round: other clients' signals must not starve the deadline. */
		left = deadline_ns - mono_ns();
		if (left <= 0)
			break;
		if (r > 0)
			continue;
		r = sd_bus_wait(b->bus, (uint64_t)((left + 999) / 1000));
		if (r < 0 && r != -EINTR)
			return bus_fail(b, r, NULL, "lost the connection to the systemd manager");
	}
	return 0;
}

static int bus_run_jobs(struct bus *b, struct restart_job *jobs, size_t n, int64_t deadline_ns,
			const char *method, const struct bus_jobs_watch *watch)
{
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	_cleanup_free_ struct job_wait *w = NULL;
	struct job_set set;
	size_t pending = 0;
	int r, fatal, first_error = 0;

	b->errmsg[0] = '\0';
	w = xcalloc(n ? n : 1, sizeof(*w));
	set = (struct job_set){.w = w, .n = n};
	for (size_t i = 0; i < n; i++) {
		w[i].job = &jobs[i];
		jobs[i].result[0] = '\0';
		jobs[i].errmsg[0] = '\0';
		jobs[i].duration_ns = 0;
		jobs[i].pid_before = jobs[i].pid_after = 0;
		jobs[i].error = 0;
		jobs[i].reset_start_limit = false;
		jobs[i].pending = false;
	}
	r = jobs_listen(b, &slot, &set);
	if (r < 0)
		return r;
	/* every job is waited for from here on: told before the lookups and the queueing */
	for (size_t i = 0; i < n; i++)
		jobs[i].pending = true;
	if (watch && watch->changed && n)
		watch->changed(watch->arg, jobs, n);
	for (size_t i = 0; i < n; i++)
		jobs[i].pid_before = bus_main_pid(b, jobs[i].unit);
	/* Queue every job at once: each call returns as soon as the job is queued. */
	for (size_t i = 0; i < n; i++) {
		w[i].t0 = mono_ns();
		pending += job_queue_noting(b, &w[i], method, &first_error);
	}
	watch_tell(watch, w, jobs, n);
	fatal = jobs_wait(b, &set, jobs, method, deadline_ns, watch, &first_error, &pending);
	for (size_t i = 0; i < n; i++) {
		if (w[i].pending) {
			strlcpy_(jobs[i].result, "deadline", sizeof(jobs[i].result));
			jobs[i].duration_ns = mono_ns() - w[i].t0;
		}
		if (jobs[i].error == 0)
			jobs[i].pid_after = bus_main_pid(b, jobs[i].unit);
		jobs[i].pending = false;
		free(w[i].path);
	}
	if (fatal < 0)
		return fatal;
	if (pending > 0) {
		snprintf(b->errmsg, sizeof(b->errmsg),
			 "%zu of %zu systemd jobs had not finished when the deadline passed",
			 pending, n);
		return -ETIMEDOUT;
	}
	return first_error;
}

int bus_restart_units(struct bus *b, struct restart_job *jobs, size_t n, int64_t deadline_ns,
		      const struct bus_jobs_watch *watch)
{
	return bus_run_jobs(b, jobs, n, deadline_ns, "RestartUnit", watch);
}

int bus_stop_units(struct bus *b, struct restart_job *jobs, size_t n, int64_t deadline_ns,
		   const struct bus_jobs_watch *watch)
{
	return bus_run_jobs(b, jobs, n, deadline_ns, "StopUnit", watch);
}

int bus_start_transient(struct bus *b, const struct transient_spec *t)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
					   "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", t->unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s",
					  t->description ? t->description : t->unit, "Type", "s",
					  "exec", "Restart", "s", "on-failure", "RestartUSec", "t",
					  (uint64_t)1000000, "CollectMode", "s",
					  "inactive-or-failed");
	if (r >= 0 && t->cwd)
		r = sd_bus_message_append(m, "(sv)", "WorkingDirectory", "s", t->cwd);
	if (r >= 0 && t->runtime_max_us)
		r = sd_bus_message_append(m, "(sv)", "RuntimeMaxUSec", "t", t->runtime_max_us);
	if (r >= 0 && t->env && t->env[0]) {
		r = sd_bus_message_open_container(m, 'r', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", "Environment");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "as");
		if (r >= 0)
			r = sd_bus_message_append_strv(m, (char **)t->env);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	/* ExecStart: a(sasb), one command: path, argv, ignore-failure */
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "ExecStart");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "a(sasb)");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sasb)");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "sasb");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", t->argv[0]);
	if (r >= 0)
		r = sd_bus_message_append_strv(m, (char **)t->argv);
	if (r >= 0)
		r = sd_bus_message_append(m, "b", 0);
	for (int i = 0; r >= 0 && i < 5; i++)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0)
		return bus_fail(b, r, NULL, "cannot build the StartTransientUnit call");
	r = sd_bus_call(b->bus, m, 0, &err, &reply);
	if (r < 0) {
		if (sd_bus_error_has_name(&err, "org.freedesktop.systemd1.UnitExists"))
			r = -EEXIST;
		return bus_fail(b, r, &err, "cannot start the transient unit '%s'", t->unit);
	}
	return 0;
}

int bus_enable_units(struct bus *b, char *const *units, size_t n)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_call(b->bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
					   "EnableUnitFiles");
	if (r < 0)
		return bus_fail(b, r, NULL, "cannot build the EnableUnitFiles call");
	r = sd_bus_message_open_container(m, 'a', "s");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = sd_bus_message_append_basic(m, 's', units[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "bb", 0, 1); /* runtime=false, force=true */
	if (r < 0)
		return bus_fail(b, r, NULL, "cannot build the EnableUnitFiles call");

	r = sd_bus_call(b->bus, m, 0, &err, &reply);
	if (r < 0)
		return bus_fail(b, r, &err, "cannot enable unit%s '%s'%s", n == 1 ? "" : "s",
				n ? units[0] : "", n > 1 ? " and others" : "");
	return bus_reload(b);
}

char *bus_user_unit_dir(void)
{
	const char *config = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct passwd *pw;

	/* The XDG spec ignores relative paths. */
	if (!str_empty(config) && config[0] == '/')
		return xasprintf("%s/systemd/user", config);
	if (str_empty(home)) {
		pw = getpwuid(getuid());
		if (!pw || str_empty(pw->pw_dir))
			return NULL;
		home = pw->pw_dir;
	}
	return xasprintf("%s/.config/systemd/user", home);
}
