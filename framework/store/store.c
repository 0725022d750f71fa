/* store.c: opening a store by URL, migrating it, statements and nested
 * transactions over the backend of db.h. */
#include "store.h"

#include <sluice/version.h>
#include <stdio.h>
#include <stdlib.h>

#include "../util/buf.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "schema.h"

struct store {
    const struct db_backend *be;
    void *conn;
    char *name;
    char *id;    /* store_id, once read */
    int depth;   /* open begin calls */
    bool doomed; /* an inner step rolled back: the outer one must too */
};

const char *store_name(const struct store *s)
{
    return s->name;
}

const char *store_backend(const struct store *s)
{
    return s->be->name;
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

int store_exec(struct store *s, const char *sql, const struct db_value *params,
               size_t count, struct db_result *res, struct error *err)
{
    struct db_value *shown = masked(params, count);
    char *translated = s->be->translate(sql);
    int rc = s->be->exec(s->conn, translated, shown ? shown : params, count,
                         res, err);
    free(translated);
    for (size_t i = 0; shown && i < count; i++)
        if (params[i].type == DB_MESSAGE)
            free((char *)shown[i].p);
    free(shown);
    return rc;
}

int store_begin(struct store *s, struct error *err)
{
    if (s->depth++ > 0)
        return 0;
    s->doomed = false;
    if (store_exec(s, s->be->begin_sql, NULL, 0, NULL, err) < 0) {
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
        store_exec(s, "ROLLBACK", NULL, 0, NULL, NULL);
        return error_set(err, "store %s: the transaction was rolled back by "
                              "a failed step",
                         s->name);
    }
    if (store_exec(s, "COMMIT", NULL, 0, NULL, err) < 0) {
        store_exec(s, "ROLLBACK", NULL, 0, NULL, NULL);
        return -1;
    }
    return 0;
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
    store_exec(s, "ROLLBACK", NULL, 0, NULL, &ignored);
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
    if (store_exec(s, "SELECT value FROM meta WHERE key = 'store_id'", NULL,
                   0, &r, err) < 0)
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
    writer = NULL;
    if (store_begin(s, err) < 0)
        return -1;
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
    if (rc == 0)
        rc = apply_migrations(s, version, err);
    free(writer);
    if (rc < 0) {
        store_rollback(s);
        return -1;
    }
    return store_commit(s, err);
}

static int open_backend(const char *url, const struct db_backend **be,
                        void **conn, struct error *err)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (!*path)
            return error_set(err, "store URL '%s' has no file path; write "
                                  "sqlite:PATH",
                             url);
        *be = &db_sqlite;
        return db_sqlite_open(path, conn, err);
    }
    if (strncmp(url, "postgresql://", 13) == 0 ||
        strncmp(url, "postgres://", 11) == 0) {
        *be = &db_postgres;
        return db_postgres_open(url, conn, err);
    }
    struct buf shown = {0};
    redact(url, &shown);
    error_set(err, "store URL '%s' is neither sqlite:PATH nor "
                   "postgresql://USER@HOST:PORT/DATABASE",
              shown.data);
    buf_free(&shown);
    return -1;
}

int store_open(const char *url, struct store **out, struct error *err)
{
    const struct db_backend *be = NULL;
    void *conn = NULL;
    redact_remember_in(url); /* from --store or SLUICE_STORE, not a file */
    if (open_backend(url, &be, &conn, err) < 0)
        return -1;
    struct store *s = xcalloc(1, sizeof *s);
    s->be = be;
    s->conn = conn;
    struct buf name = {0};
    redact(url, &name);
    s->name = buf_take(&name);
    if (migrate(s, err) < 0) {
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
    s->be->close(s->conn);
    free(s->name);
    free(s->id);
    free(s);
}
