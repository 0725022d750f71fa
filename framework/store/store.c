/* store.c: opening a store by URL with an intent (creating and migrating
 * it only when the intent is to create), statements and nested
 * transactions over the backend of db.h, and the check after each commit
 * that the store is still where it was opened. */
#include "store.h"

#include <sluice/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../util/activity.h"
#include "../util/buf.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "schema.h"
#include "workers.h"

struct store {
    const struct db_backend *be;
    void *conn;
    char *name;
    char *id;    /* store_id, once read */
    int depth;   /* open begin calls */
    bool doomed; /* an inner step rolled back: the outer one must too */
    int older;   /* STORE_READ of an older schema: its version, else 0 */
    struct after *after; /* store_after, until the transaction is over */
    size_t after_count, after_cap;
    char *sqlite_path; /* absolute; NULL for PostgreSQL */
    void *attached;    /* store_attach */
    void (*attached_free)(void *);
};

struct after {
    store_after_fn fn;
    void *arg;
};

void store_after(struct store *s, store_after_fn fn, void *arg)
{
    if (s->depth == 0) {
        fn(arg, true);
        return;
    }
    XGROW(s->after, s->after_cap, s->after_count + 1);
    s->after[s->after_count++] = (struct after){fn, arg};
}

/* The outermost transaction is over: what waited for it runs, in order. */
static void run_after(struct store *s, bool committed)
{
    for (size_t i = 0; i < s->after_count; i++)
        s->after[i].fn(s->after[i].arg, committed);
    s->after_count = 0;
}

const char *store_name(const struct store *s)
{
    return s->name;
}

const char *store_backend(const struct store *s)
{
    return s->be->name;
}

const char *store_sqlite_path(const struct store *s)
{
    return s->sqlite_path;
}

void store_attach(struct store *s, void *data, void (*free_fn)(void *))
{
    s->attached = data;
    s->attached_free = free_fn;
}

void *store_attached(const struct store *s)
{
    return s->attached;
}

int store_sqlite_backup(struct store *s, const char *dest, struct error *err)
{
    if (s->be != &db_sqlite)
        return error_set(err, "store %s is not an SQLite file", s->name);
    return db_sqlite_backup(s->conn, dest, err);
}

/* The parameters with each DB_MESSAGE masked into a DB_TEXT of its own;
 * NULL when there is none. */
static struct db_value *masked(const struct db_value *params, size_t count)
{
    struct db_value *out = NULL;
    for (size_t i = 0; i < count; i++) {
        if (params[i].type != DB_MESSAGE)
            continue;
        if (!out) {
            out = xmalloc(count * sizeof *out);
            memcpy(out, params, count * sizeof *out);
        }
        char *shown = redact_dup(params[i].p);
        out[i] = (struct db_value){DB_TEXT, 0, shown, strlen(shown)};
    }
    return out;
}

static int still_there(struct store *s, struct error *err)
{
    return s->be->still_there ? s->be->still_there(s->conn, err) : 0;
}

/* Each statement is the thread's call (util/activity.h) while it runs:
 * a stop that cannot wait for it names it. */
static int run(struct store *s, const char *sql, const struct db_value *params,
               size_t count, struct db_result *res, struct error *err)
{
    struct db_value *shown = masked(params, count);
    char *translated = s->be->translate(sql);
    sql += strspn(sql, " \n");
    size_t first_line = strcspn(sql, "\n");
    activity_call_begin("store %s: %.*s%s", s->name,
                        (int)(first_line > 60 ? 60 : first_line), sql,
                        first_line > 60 ? "..." : "");
    int rc = s->be->exec(s->conn, translated, shown ? shown : params, count,
                         res, err);
    activity_call_end();
    free(translated);
    for (size_t i = 0; shown && i < count; i++)
        if (params[i].type == DB_MESSAGE)
            free((char *)shown[i].p);
    free(shown);
    return rc;
}

static int refuse_older(struct store *s, int version, const char *why,
                        struct error *err)
{
    char cause[sizeof err->message];
    snprintf(cause, sizeof cause, "%s", why); /* `why` may be err's own */
    return error_set(err,
                     "store %s has schema version %d, older than this "
                     "sluice's %d: %s (sluice store migrate, or sluice "
                     "run, upgrades it)",
                     s->name, version, schema_latest(), cause);
}

int store_exec(struct store *s, const char *sql, const struct db_value *params,
               size_t count, struct db_result *res, struct error *err)
{
    int rc = run(s, sql, params, count, res, err);
    if (rc == 0 && s->depth == 0 && still_there(s, err) < 0) {
        db_result_free(res);
        return -1;
    }
    if (rc < 0 && s->older && !err->transient)
        refuse_older(s, s->older, err->message, err);
    return rc;
}

int store_begin(struct store *s, struct error *err)
{
    if (s->depth++ > 0)
        return 0;
    s->doomed = false;
    if (run(s, s->be->begin_sql, NULL, 0, NULL, err) < 0) {
        s->depth = 0;
        return -1;
    }
    return 0;
}

int store_commit(struct store *s, struct error *err)
{
    if (s->depth <= 0)
        return error_set(err, "store %s: commit without a transaction",
                         s->name);
    if (--s->depth > 0)
        return 0;
    if (s->doomed) {
        run(s, "ROLLBACK", NULL, 0, NULL, NULL);
        run_after(s, false);
        return error_set(err,
                         "store %s: the transaction was rolled back by "
                         "a failed step",
                         s->name);
    }
    if (run(s, "COMMIT", NULL, 0, NULL, err) < 0) {
        run(s, "ROLLBACK", NULL, 0, NULL, NULL);
        run_after(s, false);
        return -1;
    }
    int rc = still_there(s, err);
    run_after(s, rc == 0);
    return rc;
}

void store_rollback(struct store *s)
{
    if (s->depth <= 0)
        return;
    if (--s->depth > 0) {
        s->doomed = true;
        return;
    }
    struct error ignored;
    run(s, "ROLLBACK", NULL, 0, NULL, &ignored);
    run_after(s, false);
}

int store_transaction(struct store *s, store_step step, void *arg,
                      struct error *err)
{
    if (store_begin(s, err) < 0)
        return -1;
    int rc = step(s, arg, err);
    if (rc < 0) {
        store_rollback(s);
        return -1;
    }
    struct error committing;
    if (store_commit(s, &committing) < 0) {
        *err = committing;
        return -1;
    }
    return rc;
}

/* 16 random bytes as hex. */
static int random_id(char out[33], struct error *err)
{
    unsigned char bytes[16];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f)
        fclose(f);
    if (n != sizeof bytes)
        return error_set(err, "cannot read /dev/urandom for the store's id");
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

static int read_id(struct store *s, struct error *err)
{
    struct db_result r;
    if (store_exec(s, "SELECT value FROM meta WHERE key = 'store_id'", NULL, 0,
                   &r, err) < 0)
        return -1;
    if (r.rows == 1)
        s->id = xstrdup(db_text(&r, 0, 0));
    db_result_free(&r);
    return 0;
}

const char *store_id(struct store *s, struct error *err)
{
    if (!s->id && read_id(s, err) < 0)
        return NULL;
    if (s->id)
        return s->id;
    char id[33];
    struct db_value p;
    if (random_id(id, err) < 0)
        return NULL;
    p = DBV_TEXT(id);
    /* two processes may race: the first id written is the store's */
    if (store_exec(s,
                   "INSERT INTO meta (key, value) VALUES ('store_id', $1) ON "
                   "CONFLICT (key) DO NOTHING",
                   &p, 1, NULL, err) < 0 ||
        read_id(s, err) < 0)
        return NULL;
    if (!s->id)
        error_set(err, "store %s: no store_id after writing one", s->name);
    return s->id;
}

int store_schema_latest(void)
{
    return schema_latest();
}

/* The version and writer recorded in meta; 0 when there is none yet. */
static int read_version(struct store *s, int *version, char **writer,
                        struct error *err)
{
    struct db_result r;
    if (store_exec(s,
                   "SELECT key, value FROM meta WHERE key IN "
                   "('schema_version', 'written_by')",
                   NULL, 0, &r, err) < 0)
        return -1;
    *version = 0;
    for (size_t i = 0; i < r.rows; i++) {
        if (strcmp(db_text(&r, i, 0), "schema_version") == 0)
            *version = atoi(db_text(&r, i, 1));
        else if (writer)
            *writer = xstrdup(db_text(&r, i, 1));
    }
    db_result_free(&r);
    return 0;
}

int store_schema_version(struct store *s, int *version, struct error *err)
{
    return read_version(s, version, NULL, err);
}

static int refuse_newer(struct store *s, int version, const char *writer,
                        struct error *err)
{
    return error_set(err,
                     "store %s was written by a newer sluice (schema version "
                     "%d, by sluice %s); this sluice %s knows schema versions "
                     "up to %d: upgrade sluice to use this store",
                     s->name, version, writer ? writer : "?", SLUICE_VERSION,
                     schema_latest());
}

static int set_meta(struct store *s, const char *key, const char *value,
                    struct error *err)
{
    struct db_value p[] = {DBV_TEXT(key), DBV_TEXT(value)};
    return store_exec(s,
                      "INSERT INTO meta (key, value) VALUES ($1, $2) ON "
                      "CONFLICT (key) DO UPDATE SET value = excluded.value",
                      p, 2, NULL, err);
}

static int apply_migrations(struct store *s, int from, struct error *err)
{
    for (int v = from + 1; v <= schema_latest(); v++) {
        for (const char *const *sql = schema_migration(v); *sql; sql++)
            if (store_exec(s, *sql, NULL, 0, NULL, err) < 0)
                return error_prefix(err, "migrating to schema version %d", v);
        char text[16];
        snprintf(text, sizeof text, "%d", v);
        if (set_meta(s, "schema_version", text, err) < 0 ||
            set_meta(s, "written_by", SLUICE_VERSION, err) < 0)
            return -1;
    }
    return 0;
}

/* A store in use is not migrated: workers of the older sluice that hold
 * its leases (pipes, the hub's maintenance) would go on under a schema
 * they do not know. The way to upgrade is to stop them all first
 * (docs/operations.md, "Upgrading"). A lease of a process of this host
 * that is gone (killed) holds nothing back. */
static int refuse_leased(struct store *s, int version, struct error *err)
{
    struct db_result r;
    if (store_exec(s,
                   "SELECT name, owner FROM leases WHERE expires_at >= "
                   "{{real_now}} ORDER BY name",
                   NULL, 0, &r, err) < 0)
        return -1;
    char held[320] = "";
    size_t used = 0, rows = 0;
    for (size_t i = 0; i < r.rows; i++) {
        if (worker_gone_from_here(db_text(&r, i, 1)))
            continue;
        if (rows++ < 3 && used < sizeof held)
            used += (size_t)snprintf(held + used, sizeof held - used,
                                     "%s%s by %s", used ? "; " : "",
                                     db_text(&r, i, 0), db_text(&r, i, 1));
    }
    db_result_free(&r);
    if (rows == 0)
        return 0;
    return error_set(
        err,
        "store %s has schema version %d, older than this "
        "sluice's %d, and is in use: %zu lease(s) held (%s%s). "
        "Migrating it would change it under the workers of the "
        "older sluice: stop every worker of this store first, "
        "then start the upgraded ones (a worker killed on another "
        "host holds its leases until they expire, 3 minutes at "
        "most)",
        s->name, version, schema_latest(), rows, held,
        rows > 3 ? "; ..." : "");
}

/* Under the migration lock: the version read again, then the
 * migrations it lacks. */
static int migrate_locked(struct store *s, void *arg, struct error *err)
{
    (void)arg;
    int version = 0;
    char *writer = NULL;
    int rc = 0;
    if (s->be->migration_lock_sql)
        rc = store_exec(s, s->be->migration_lock_sql, NULL, 0, NULL, err);
    if (rc == 0)
        rc = store_exec(s,
                        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY "
                        "KEY, value TEXT NOT NULL)",
                        NULL, 0, NULL, err);
    if (rc == 0)
        rc = read_version(s, &version, &writer, err);
    if (rc == 0 && version > schema_latest())
        rc = refuse_newer(s, version, writer, err);
    if (rc == 0 && version > 0 && version < schema_latest())
        rc = refuse_leased(s, version, err);
    if (rc == 0)
        rc = apply_migrations(s, version, err);
    free(writer);
    return rc;
}

static int migrate(struct store *s, struct error *err)
{
    int version = 0;
    char *writer = NULL;
    struct error ignored;
    /* fast path: an up-to-date store needs no lock */
    if (read_version(s, &version, &writer, &ignored) == 0 &&
        version == schema_latest()) {
        free(writer);
        return 0;
    }
    free(writer);
    return store_transaction(s, migrate_locked, NULL, err);
}

/* The backend a URL names and what to open it with: the path of
 * sqlite:PATH (sqlite://PATH too), a PostgreSQL URL whole. */
static int parse_url(const char *url, const struct db_backend **be,
                     const char **target, struct error *err)
{
    struct buf shown = {0};
    redact(url, &shown);
    int rc = 0;
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        *be = &db_sqlite;
        *target = path;
        if (!*path)
            rc = error_set(err,
                           "store URL '%s' has no file path; write "
                           "sqlite:PATH",
                           shown.data);
        else if (strchr(path, '?'))
            rc = error_set(err,
                           "store URL '%s': sluice takes no options "
                           "('%s') in an sqlite: URL, nor makes them "
                           "part of the file name; write sqlite:PATH",
                           shown.data, strchr(shown.data, '?'));
    } else if (strncmp(url, "postgresql://", 13) == 0 ||
               strncmp(url, "postgres://", 11) == 0) {
        *be = &db_postgres;
        *target = url;
        rc = db_postgres_check_url(url, err);
    } else {
        rc = error_set(err,
                       "store URL '%s' is neither sqlite:PATH nor "
                       "postgresql://USER@HOST:PORT/DATABASE",
                       shown.data);
    }
    buf_free(&shown);
    return rc;
}

int store_url_check(const char *url, struct error *err)
{
    const struct db_backend *be;
    const char *target;
    return parse_url(url, &be, &target, err);
}

#define SET_UP                                                                \
    "(sluice run, sluice topic create and sluice store migrate "              \
    "set one up; is the URL right?)"

/* STORE_READ and STORE_WRITE: a store with a schema this sluice can use
 * as it is; nothing is written. */
static int check_schema(struct store *s, enum store_intent intent,
                        struct error *err)
{
    int version = 0;
    char *writer = NULL;
    struct error why;
    if (read_version(s, &version, &writer, &why) < 0) {
        *err = why;
        return why.transient ? -1
                             : error_set(err,
                                         "%s: it holds no sluice "
                                         "schema " SET_UP,
                                         why.message);
    }
    int rc = 0;
    if (version == 0)
        rc =
            error_set(err, "store %s holds no sluice schema " SET_UP, s->name);
    else if (version > schema_latest())
        rc = refuse_newer(s, version, writer, err);
    else if (version < schema_latest() && intent == STORE_WRITE)
        rc = refuse_older(s, version,
                          "this command writes only to a store "
                          "of the current schema",
                          err);
    else if (version < schema_latest())
        s->older = version;
    free(writer);
    return rc;
}

/* The path, made absolute against the working directory of the moment
 * it is opened: files kept beside the store (the hub's segments) are
 * found there even after the process changes directory. */
static char *absolute_path(const char *path)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

int store_open(const char *url, enum store_intent intent, struct store **out,
               struct error *err)
{
    static const unsigned sqlite_how[] = {
        [STORE_READ] = 0,
        [STORE_WRITE] = DB_WRITE,
        [STORE_CREATE] = DB_CREATE | DB_WRITE,
    };
    const struct db_backend *be = NULL;
    const char *target = NULL;
    void *conn = NULL;
    redact_remember_in(url); /* from --store or SLUICE_STORE, not a file */
    if (parse_url(url, &be, &target, err) < 0)
        return -1;
    activity_call_begin("connecting to the store");
    int opened = be == &db_sqlite
                     ? db_sqlite_open(target, sqlite_how[intent], &conn, err)
                     : db_postgres_open(target, &conn, err);
    activity_call_end();
    if (opened < 0)
        return -1;
    struct store *s = xcalloc(1, sizeof *s);
    s->be = be;
    s->conn = conn;
    struct buf name = {0};
    redact(url, &name);
    s->name = buf_take(&name);
    if (be == &db_sqlite)
        s->sqlite_path = absolute_path(target);
    if ((intent == STORE_CREATE ? migrate(s, err)
                                : check_schema(s, intent, err)) < 0) {
        store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->depth > 0) {
        s->depth = 1;
        store_rollback(s);
    }
    if (s->attached_free)
        s->attached_free(s->attached);
    s->be->close(s->conn);
    free(s->sqlite_path);
    free(s->name);
    free(s->id);
    free(s->after);
    free(s);
}
