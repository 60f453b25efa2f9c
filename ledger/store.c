/* SPDX-License-Identifier: MIT */
/*
 * store.c: the LMDB boundary. Opening (directory and file modes, the per-process registry,
 * stale readers, close-on-exec), transactions that follow the map size (grow on MDB_MAP_FULL,
 * adopt another process's growth on MDB_MAP_RESIZED), the state inside a transaction, reads of
 * one event, compaction. Appending is in append.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_MAP_BYTES ((size_t)64 << 20)

/* ---- the process-wide registry of open paths ----------------------------------------------
 * LMDB must not open one environment twice in a process: closing the second handle drops the
 * process's fcntl locks on lock.mdb and the next opener re-initializes the reader table under
 * live readers. Entries carry the pid, so a child forked from a process with an open ledger may
 * still open it afresh (it must not use the inherited handle). */

struct reg_entry {
	struct reg_entry *next;
	pid_t pid;
	char path[];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg_entry *reg_head;

static int registry_add(const char *path)
{
	struct reg_entry **pp, *e;
	pid_t pid = getpid();
	int rc = 0;

	pthread_mutex_lock(&reg_lock);
	for (pp = &reg_head; *pp;) {
		e = *pp;
		if (e->pid != pid) {
			/* inherited across fork: not ours */
			*pp = e->next;
			free(e);
			continue;
		}
		if (strcmp(e->path, path) == 0) {
			rc = -EBUSY;
			goto out;
		}
		pp = &e->next;
	}
	e = malloc(sizeof(*e) + strlen(path) + 1);
	if (!e) {
		rc = -ENOMEM;
		goto out;
	}
	e->pid = pid;
	strcpy(e->path, path);
	e->next = reg_head;
	reg_head = e;
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

static void registry_remove(const char *path)
{
	struct reg_entry **pp, *e;
	pid_t pid = getpid();

	pthread_mutex_lock(&reg_lock);
	for (pp = &reg_head; *pp; pp = &(*pp)->next) {
		e = *pp;
		if (e->pid == pid && strcmp(e->path, path) == 0) {
			*pp = e->next;
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* ---- errors ------------------------------------------------------------------------------- */

int lg_err(struct ledger *lg, int code, const char *fmt, ...)
{
	va_list ap;

	if (lg) {
		va_start(ap, fmt);
		vsnprintf(lg->errmsg, sizeof(lg->errmsg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int lg_mdb_err(struct ledger *lg, int rc, const char *what)
{
	lg_err(lg, 0, "%s: %s", what, mdb_strerror(rc));
	/* LMDB passes system errors through as positive errno values */
	return rc > 0 ? -rc : LEDGER_ESTORE;
}

const char *ledger_errmsg(const struct ledger *lg)
{
	return lg ? lg->errmsg : "";
}

const char *ledger_path(const struct ledger *lg)
{
	return lg ? lg->path : NULL;
}

/* ---- transactions ------------------------------------------------------------------------- */

/* Less than 1 MiB left for the ledger's directory: a write that came up short ran out of space. */
bool store_disk_full(const struct ledger *lg)
{
	struct statvfs sv;

	return statvfs(lg->path, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < (1u << 20);
}

static void store_refresh_mapsize(struct ledger *lg)
{
	MDB_envinfo info;

	if (mdb_env_info(lg->env, &info) == 0)
		lg->mapsize = info.me_mapsize;
}

int store_txn_begin(struct ledger *lg, unsigned flags, MDB_txn **txn)
{
	int rc;

	for (int tries = 0;; tries++) {
		rc = mdb_txn_begin(lg->env, NULL, flags, txn);
		if (rc != MDB_MAP_RESIZED || tries >= 8)
			break;
		/* another process grew the map: adopt its size, which is only safe while no
		 * read transaction of ours uses the current mapping */
		if (lg->readers > 0)
			return lg_err(lg, LEDGER_ESTORE,
				      "the ledger map was resized by another process while a read "
				      "transaction is open; retry after closing iterators");
		rc = mdb_env_set_mapsize(lg->env, 0);
		if (rc)
			break;
		store_refresh_mapsize(lg);
	}
	if (rc) {
		*txn = NULL;
		return lg_mdb_err(lg, rc, "begin transaction");
	}
	return 0;
}

int store_read_begin(struct ledger *lg, MDB_txn **txn)
{
	int rc = store_txn_begin(lg, MDB_RDONLY, txn);

	if (rc == 0)
		lg->readers++;
	return rc;
}

void store_read_end(struct ledger *lg, MDB_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_abort(txn);
	lg->readers--;
}

int store_grow(struct ledger *lg)
{
	size_t next;
	int rc;

	if (lg->readers > 0)
		return lg_err(lg, LEDGER_ESTORE,
			      "the ledger map is full and cannot grow while a read transaction is "
			      "open");
	store_refresh_mapsize(lg);
	next = lg->mapsize * 2;
	rc = mdb_env_set_mapsize(lg->env, next);
	if (rc)
		return lg_mdb_err(lg, rc, "grow the map");
	store_refresh_mapsize(lg);
	return 0;
}

int store_last_seq_txn(struct ledger *lg, MDB_txn *txn, uint64_t *seq)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, lg->events, &c);
	if (rc)
		return lg_mdb_err(lg, rc, "open cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return 0;
	}
	if (rc)
		return lg_mdb_err(lg, rc, "read the last event");
	*seq = key_seq(&k);
	return 0;
}

/* ---- open / close ------------------------------------------------------------------------- */

static int mkdir_p(const char *dir, mode_t mode)
{
	char *p, *s;
	int rc = 0;

	s = strdup(dir);
	if (!s)
		return -ENOMEM;
	for (p = s + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, mode) < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(s, mode) < 0) {
		rc = errno == EEXIST ? 0 : -errno;
		goto out;
	}
	/* mkdir's mode passes through the umask; the ledger's directory is 0700 exactly */
	if (chmod(s, mode) < 0)
		rc = -errno;
out:
	free(s);
	return rc;
}

/* The schema version in meta: written when the ledger is new (create), else read and refused
 * when newer than this shiplog's. 0 or a ledger code. */
static int store_schema_check(struct ledger *lg, MDB_txn *txn, bool create)
{
	MDB_val k = {6, "schema"}, v;
	uint8_t sv[4];
	const uint8_t *b;
	uint32_t schema;
	int rc = mdb_get(txn, lg->meta, &k, &v);

	if (rc == MDB_NOTFOUND) {
		if (!create)
			return lg_err(lg, LEDGER_ENOTFOUND, "'%s' has no schema version", lg->path);
		sv[0] = 0, sv[1] = 0, sv[2] = 0, sv[3] = LEDGER_SCHEMA_VERSION;
		v = (MDB_val){4, sv};
		rc = mdb_put(txn, lg->meta, &k, &v, 0);
		return rc ? lg_mdb_err(lg, rc, "write the schema version") : 0;
	}
	if (rc)
		return lg_mdb_err(lg, rc, "read the schema version");
	b = v.mv_data;
	if (v.mv_size != 4)
		return lg_err(lg, LEDGER_ECORRUPT, "'%s': malformed schema version", lg->path);
	schema = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	if (schema > LEDGER_SCHEMA_VERSION)
		return lg_err(lg, LEDGER_ESCHEMA,
			      "'%s' has schema version %u, newer than this shiplog's %d; upgrade "
			      "shiplog",
			      lg->path, schema, LEDGER_SCHEMA_VERSION);
	return 0;
}

/* The project the ledger belongs to: recorded by the first writer, refused when another. */
static int store_project_check(struct ledger *lg, MDB_txn *txn, const char *project)
{
	bool rdonly = lg->flags & LEDGER_OPEN_RDONLY;
	size_t n = strlen(project);
	MDB_val k = {7, "project"}, v;
	int rc = mdb_get(txn, lg->meta, &k, &v);

	if (rc == 0 && (v.mv_size != n || memcmp(v.mv_data, project, n) != 0))
		return lg_err(lg, LEDGER_EINVAL, "ledger '%s' belongs to project '%.*s', not '%s'",
			      lg->path, (int)(v.mv_size > 64 ? 64 : v.mv_size),
			      (const char *)v.mv_data, project);
	if (rc == MDB_NOTFOUND && !rdonly) {
		v = (MDB_val){n, (void *)project};
		rc = mdb_put(txn, lg->meta, &k, &v, 0);
	} else if (rc == MDB_NOTFOUND) {
		rc = 0;
	}
	return rc ? lg_mdb_err(lg, rc, "project name") : 0;
}

static int store_open_dbs(struct ledger *lg, bool create, const struct ledger_options *opts)
{
	bool rdonly = lg->flags & LEDGER_OPEN_RDONLY;
	unsigned dbf = create ? MDB_CREATE : 0;
	MDB_txn *txn = NULL;
	int rc;

	rc = store_txn_begin(lg, rdonly ? MDB_RDONLY : 0, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_dbi_open(txn, "events", dbf, &lg->events)) ||
	    (rc = mdb_dbi_open(txn, "snapshots", dbf, &lg->snapshots)) ||
	    (rc = mdb_dbi_open(txn, "meta", dbf, &lg->meta))) {
		if (rc == MDB_NOTFOUND) {
			rc = lg_err(lg, LEDGER_ENOTFOUND, "'%s' is not a shiplog ledger", lg->path);
			goto out;
		}
		rc = lg_mdb_err(lg, rc, "open databases");
		goto out;
	}

	rc = store_schema_check(lg, txn, create);
	if (rc == 0 && opts && opts->project && *opts->project)
		rc = store_project_check(lg, txn, opts->project);
	if (rc)
		goto out;

	/* committing (also the read-only one) keeps the database handles */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		rc = lg_mdb_err(lg, rc, "commit");
out:
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

static void ledger_free(struct ledger *lg)
{
	if (!lg)
		return;
	free(lg->cache);
	free(lg->work);
	arena_free(lg->arena);
	free(lg->path);
	free(lg);
}

/* The ledger directory: found (its data.mdb there), or made (create: *fresh), its real path in
 * real. A directory others can enter (made by hand, restored from a backup) is tightened to
 * 0700, like a new one; one that cannot be is refused: -EPERM. */
static int store_dir_prepare(const char *dir, bool create, char real[PATH_MAX], bool *fresh)
{
	char *data = NULL;
	struct stat sb;
	int rc = 0;

	if (asprintf(&data, "%s/data.mdb", dir) < 0)
		return -ENOMEM;
	if (stat(data, &sb) < 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			rc = -errno;
			goto out;
		}
		if (!create) {
			rc = LEDGER_ENOTFOUND;
			goto out;
		}
		rc = mkdir_p(dir, 0700);
		if (rc < 0)
			goto out;
		*fresh = true;
	}
	if (!realpath(dir, real)) {
		rc = -errno;
		goto out;
	}
	if (!*fresh && stat(real, &sb) == 0 && (sb.st_mode & 077) && chmod(real, 0700) < 0)
		rc = -EPERM;
out:
	free(data);
	return rc < 0 ? rc : 0;
}

/* The LMDB environment of the ledger at real: created, configured and opened; its files made
 * exactly 0600 and its data fd close-on-exec; dead readers cleared. 0 or a ledger code. */
static int store_env_open(struct ledger *lg, const char *real, bool rdonly, bool fresh)
{
	int rc, fd, dead;

	rc = mdb_env_create(&lg->env);
	if (rc)
		return lg_mdb_err(lg, rc, "create environment");
	if ((rc = mdb_env_set_maxdbs(lg->env, 4)) ||
	    (rc = mdb_env_set_mapsize(lg->env, lg->mapsize)))
		return lg_mdb_err(lg, rc, "configure environment");
	rc = mdb_env_open(lg->env, real, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0600);
	if (rc)
		return lg_mdb_err(lg, rc, "open environment");
	/* LMDB marks lock.mdb close-on-exec but not the main data fd: every git, systemctl or
	 * hook we spawn would inherit it */
	if (mdb_env_get_fd(lg->env, &fd) == 0 && fd >= 0)
		fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	if (!rdonly || fresh) {
		char *p = NULL;

		/* created through the umask (or copied in by hand): make them exactly 0600 */
		if (asprintf(&p, "%s/data.mdb", real) >= 0)
			chmod(p, 0600);
		free(p);
		if (asprintf(&p, "%s/lock.mdb", real) >= 0)
			chmod(p, 0600);
		free(p);
	}
	/* slots of readers that died (SIGKILL) pin pages until cleared */
	mdb_reader_check(lg->env, &dead);
	store_refresh_mapsize(lg);
	return 0;
}

int ledger_open(struct ledger **out, const char *dir, unsigned flags,
		const struct ledger_options *opts)
{
	bool rdonly = flags & LEDGER_OPEN_RDONLY;
	bool create = (flags & LEDGER_OPEN_CREATE) && !rdonly;
	bool registered = false, fresh = false;
	struct ledger *lg = NULL;
	char real[PATH_MAX];
	int rc;

	if (!out || !dir || !*dir)
		return LEDGER_EINVAL;

	rc = store_dir_prepare(dir, create, real, &fresh);
	if (rc < 0)
		return rc;
	rc = registry_add(real);
	if (rc < 0)
		goto out;
	registered = true;

	lg = calloc(1, sizeof(*lg));
	if (!lg || !(lg->path = strdup(real)) || !(lg->cache = malloc(sizeof(*lg->cache))) ||
	    !(lg->work = malloc(sizeof(*lg->work))) || !(lg->arena = arena_new(64 << 10))) {
		rc = -ENOMEM;
		goto out;
	}
	lg->flags = flags;
	lg->pid = getpid();
	lg->snapshot_every =
	    opts && opts->snapshot_every ? opts->snapshot_every : LEDGER_DEFAULT_SNAPSHOT_EVERY;
	lg->mapsize = opts && opts->initial_map_bytes ? opts->initial_map_bytes : DEFAULT_MAP_BYTES;

	rc = store_env_open(lg, real, rdonly, fresh);
	if (rc)
		goto out;

	rc = store_open_dbs(lg, create, opts);
	if (rc < 0)
		goto out;

	*out = lg;
	lg = NULL;
	registered = false;
	rc = 0;
out:
	if (lg) {
		if (lg->env)
			mdb_env_close(lg->env);
		ledger_free(lg);
	}
	if (registered)
		registry_remove(real);
	return rc;
}

void ledger_close(struct ledger *lg)
{
	if (!lg)
		return;
	/* a forked child must not close the parent's environment: that would release locks
	 * and reader slots that belong to the parent */
	if (lg->pid == getpid()) {
		mdb_env_close(lg->env);
		registry_remove(lg->path);
	}
	ledger_free(lg);
}

/* ---- state inside a transaction ----------------------------------------------------------- */

/* Applies one stored event to st. Events the reducer only counts (step.ran, soak.*, lock.broken,
 * unknown types) are not decoded: their envelope is all it reads. That is most of replay's
 * saving; `ledger verify` still decodes every event in full. */
int store_apply_raw(struct ledger *lg, struct ledger_state *st, uint64_t seq, const void *data,
		    size_t len)
{
	struct ledger_event ev = {0};
	enum ledger_event_type t;
	event_apply_fn fn;
	char err[160] = "";
	int rc;

	if (ledger_event_peek(data, len, &t, &ev.op, &ev.time_ns) == 0) {
		fn = event_type_apply(t);
		if (!fn || fn == reduce_counters_only) {
			ev.type = t;
			ev.seq = seq;
			rc = ledger_state_apply(st, &ev);
			if (rc < 0)
				return lg_err(lg, rc, "event %llu does not apply: %s",
					      (unsigned long long)seq, ledger_strerror(rc));
			return 0;
		}
	}
	arena_reset(lg->arena);
	rc = event_decode_into(data, len, &ev, lg->arena, err, sizeof(err));
	if (rc < 0)
		return lg_err(lg, rc, "event %llu: %s", (unsigned long long)seq, err);
	ev.seq = seq;
	rc = ledger_state_apply(st, &ev);
	if (rc < 0)
		return lg_err(lg, rc, "event %llu does not apply: %s", (unsigned long long)seq,
			      ledger_strerror(rc));
	return 0;
}

int store_read_point(struct ledger *lg, MDB_txn **txn, uint64_t *seq)
{
	uint64_t last = 0;
	int rc = store_read_begin(lg, txn);

	if (rc)
		return rc;
	rc = store_last_seq_txn(lg, *txn, &last);
	if (rc == 0 && *seq == UINT64_MAX)
		*seq = last;
	if (rc == 0 && *seq > last)
		rc = lg_err(lg, LEDGER_ENOTFOUND, "event %llu does not exist (the last is %llu)",
			    (unsigned long long)*seq, (unsigned long long)last);
	if (rc) {
		store_read_end(lg, *txn);
		*txn = NULL;
	}
	return rc;
}

int ledger_replay(struct ledger *lg, uint64_t seq, struct ledger_state *st)
{
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint64_t want = 1;
	int rc;

	if (!lg || !st)
		return LEDGER_EINVAL;
	ledger_state_init(st);
	rc = store_read_point(lg, &txn, &seq);
	if (rc)
		return rc;
	if (seq == 0)
		goto out;
	rc = mdb_cursor_open(txn, lg->events, &c);
	if (rc) {
		rc = lg_mdb_err(lg, rc, "open cursor");
		goto out;
	}
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (key_seq(&k) != want) {
			rc = lg_err(lg, LEDGER_EGAP, "event %llu is missing",
				    (unsigned long long)want);
			goto out;
		}
		rc = store_apply_raw(lg, st, want, v.mv_data, v.mv_size);
		if (rc < 0 || want == seq)
			goto out;
		want++;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	rc = rc == MDB_NOTFOUND ? lg_err(lg, LEDGER_ENOTFOUND, "event %llu does not exist",
					 (unsigned long long)want)
				: lg_mdb_err(lg, rc, "read events");
out:
	arena_reset(lg->arena);
	if (c)
		mdb_cursor_close(c);
	store_read_end(lg, txn);
	return rc;
}

int store_state_at_txn(struct ledger *lg, MDB_txn *txn, uint64_t seq,
		       const struct ledger_state *from, struct ledger_state *st)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint64_t be, snap = 0, want;
	int rc;

	ledger_state_init(st);
	if (seq == 0)
		return 0;

	rc = mdb_cursor_open(txn, lg->snapshots, &c);
	if (rc)
		return lg_mdb_err(lg, rc, "open cursor");
	be = htobe64(seq);
	k = (MDB_val){sizeof(be), &be};
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && key_seq(&k) != seq)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0)
		snap = key_seq(&k);
	else if (rc != MDB_NOTFOUND) {
		rc = lg_mdb_err(lg, rc, "read snapshots");
		goto out;
	}

	if (from && from->seq <= seq && from->seq >= snap) {
		memcpy(st, from, sizeof(*st));
	} else if (snap) {
		rc = ledger_state_decode(v.mv_data, v.mv_size, st);
		if (rc == 0 && st->seq != snap)
			rc = LEDGER_ECORRUPT;
		if (rc < 0) {
			rc = lg_err(lg, rc, "snapshot %llu does not decode: %s",
				    (unsigned long long)snap, ledger_strerror(rc));
			goto out;
		}
	}
	mdb_cursor_close(c);
	c = NULL;
	if (st->seq == seq)
		return 0;

	rc = mdb_cursor_open(txn, lg->events, &c);
	if (rc)
		return lg_mdb_err(lg, rc, "open cursor");
	want = st->seq + 1;
	be = htobe64(want);
	k = (MDB_val){sizeof(be), &be};
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
	while (rc == 0) {
		if (key_seq(&k) != want) {
			rc = lg_err(lg, LEDGER_EGAP, "event %llu is missing",
				    (unsigned long long)want);
			goto out;
		}
		rc = store_apply_raw(lg, st, want, v.mv_data, v.mv_size);
		if (rc < 0)
			goto out;
		if (want == seq)
			break;
		want++;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		rc = lg_err(lg, LEDGER_ENOTFOUND, "event %llu does not exist",
			    (unsigned long long)want);
	else if (rc > 0)
		rc = lg_mdb_err(lg, rc, "read events");
out:
	arena_reset(lg->arena);
	if (c)
		mdb_cursor_close(c);
	return rc;
}

/* ---- reads -------------------------------------------------------------------------------- */

int ledger_last_seq(struct ledger *lg, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	if (!lg || !seq)
		return LEDGER_EINVAL;
	rc = store_read_begin(lg, &txn);
	if (rc)
		return rc;
	rc = store_last_seq_txn(lg, txn, seq);
	store_read_end(lg, txn);
	return rc;
}

static int store_get_val(struct ledger *lg, MDB_txn *txn, uint64_t seq, MDB_val *v)
{
	uint64_t be = htobe64(seq);
	MDB_val k = {sizeof(be), &be};
	int rc = mdb_get(txn, lg->events, &k, v);

	if (rc == MDB_NOTFOUND)
		return lg_err(lg, LEDGER_ENOTFOUND, "event %llu does not exist",
			      (unsigned long long)seq);
	if (rc)
		return lg_mdb_err(lg, rc, "read event");
	return 0;
}

int ledger_get(struct ledger *lg, uint64_t seq, struct ledger_event *ev)
{
	MDB_txn *txn;
	MDB_val v;
	char err[160] = "";
	int rc;

	if (!lg || !ev)
		return LEDGER_EINVAL;
	memset(ev, 0, sizeof(*ev));
	rc = store_read_begin(lg, &txn);
	if (rc)
		return rc;
	rc = store_get_val(lg, txn, seq, &v);
	if (rc == 0) {
		rc = ledger_event_decode(v.mv_data, v.mv_size, ev, err, sizeof(err));
		if (rc < 0)
			lg_err(lg, rc, "event %llu: %s", (unsigned long long)seq, err);
		else
			ev->seq = seq;
	}
	store_read_end(lg, txn);
	return rc;
}

int ledger_get_raw(struct ledger *lg, uint64_t seq, uint8_t **buf, size_t *len)
{
	MDB_txn *txn;
	MDB_val v;
	int rc;

	if (!lg || !buf || !len)
		return LEDGER_EINVAL;
	rc = store_read_begin(lg, &txn);
	if (rc)
		return rc;
	rc = store_get_val(lg, txn, seq, &v);
	if (rc == 0) {
		*buf = malloc(v.mv_size ? v.mv_size : 1);
		if (!*buf) {
			rc = -ENOMEM;
		} else {
			memcpy(*buf, v.mv_data, v.mv_size);
			*len = v.mv_size;
		}
	}
	store_read_end(lg, txn);
	return rc;
}

/* ---- maintenance -------------------------------------------------------------------------- */

int ledger_compact_to(struct ledger *lg, const char *dir)
{
	char *data = NULL;
	int rc, fd;

	if (!lg || !dir || !*dir)
		return LEDGER_EINVAL;
	rc = mkdir_p(dir, 0700);
	if (rc < 0)
		return lg_err(lg, rc, "create '%s': %s", dir, strerror(-rc));
	if (asprintf(&data, "%s/data.mdb", dir) < 0)
		return -ENOMEM;
	/* mdb_env_copy2() would create data.mdb 0666 through the umask: the copy is opened here,
	 * exclusively, never through a symlink, and exactly 0600 like the ledger it copies */
	fd = open(data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		free(data);
		if (rc == -EEXIST)
			return lg_err(lg, rc, "'%s' already holds a ledger", dir);
		return lg_err(lg, rc, "create '%s/data.mdb': %s", dir, strerror(-rc));
	}
	if (fchmod(fd, 0600) < 0) {
		rc = lg_err(lg, -errno, "chmod '%s': %s", data, strerror(errno));
		goto fail;
	}
	rc = mdb_env_copyfd2(lg->env, fd, MDB_CP_COMPACT);
	if (rc) {
		rc = lg_mdb_err(lg, rc, "compact copy");
		goto fail;
	}
	if (fsync(fd) < 0) {
		rc = lg_err(lg, -errno, "sync '%s': %s", data, strerror(errno));
		goto fail;
	}
	close(fd);
	free(data);
	return 0;
fail:
	close(fd);
	unlink(data);
	free(data);
	return rc;
}
