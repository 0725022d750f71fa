/* sqlite.c: the embedded store backend (SQLite, WAL mode).
 *
 * WAL lets readers run beside the one writer, so several sluice processes
 * on one host can share the file. Write transactions start with BEGIN
 * IMMEDIATE, taking the write lock up front, and a busy handler waits for
 * it; a lock held longer than BUSY_TIMEOUT_MS is a transient error.
 * synchronous=FULL: a commit is on disk when it returns.
 *
 * A new file is created mode 0600 before SQLite opens it: the store holds
 * pipe settings and data, and SQLite gives the -wal and -shm files the
 * mode of the main file. SQLite keeps writing to a file that was deleted
 * or replaced under it, or whose mode no longer lets it be written, so
 * the store asks (still_there) whether the file at the path is still the
 * one open, and one it may write. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/mem.h"
#include "db.h"

#define BUSY_TIMEOUT_MS 30000

struct sqlite_conn {
    sqlite3 *db;
    char *path;
    bool write; /* DB_WRITE */
};

static int fail(struct sqlite_conn *c, int rc, const char *what,
                struct error *err)
{
    const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    int base = rc & 0xff;
    if (base == SQLITE_BUSY || base == SQLITE_LOCKED)
        return error_transient(err,
                               "store sqlite:%s: %s: %s (another "
                               "process held the lock for %ds)",
                               c->path, what, msg, BUSY_TIMEOUT_MS / 1000);
    if (base == SQLITE_IOERR || base == SQLITE_FULL)
        return error_transient(err, "store sqlite:%s: %s: %s", c->path, what,
                               msg);
    return error_set(err, "store sqlite:%s: %s: %s", c->path, what, msg);
}

static int pragma(struct sqlite_conn *c, const char *sql, const char *want,
                  struct error *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(c, rc, sql, err);
    rc = sqlite3_step(st);
    const char *got =
        rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int result = 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = fail(c, rc, sql, err);
    else if (want && (!got || strcmp(got, want) != 0))
        result = error_set(err, "store sqlite:%s: %s answered '%s', not '%s'",
                           c->path, sql, got ? got : "", want);
    sqlite3_finalize(st);
    return result;
}

/* Switching a new file to WAL needs it alone for a moment, and SQLite
 * answers busy at once, without its busy handler, when another process
 * opens the file at that moment: asked again until the busy timeout. */
static int enter_wal(struct sqlite_conn *c, struct error *err)
{
    int64_t deadline = clock_monotonic_ms() + BUSY_TIMEOUT_MS;
    for (;;) {
        struct error busy;
        if (pragma(c, "PRAGMA journal_mode=WAL", "wal", &busy) == 0)
            return 0;
        int code = sqlite3_errcode(c->db) & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
            clock_monotonic_ms() >= deadline) {
            *err = busy;
            return -1;
        }
        sleep_ms(10);
    }
}

static void sqlite_close(void *conn)
{
    struct sqlite_conn *c = conn;
    if (!c)
        return;
    sqlite3_close_v2(c->db);
    free(c->path);
    free(c);
}

/* Makes a missing file, mode 0600; an existing one is left as it is. */
static int create_private(const char *path, struct error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        return close(fd), 0;
    if (errno == EEXIST)
        return 0;
    return error_set(err,
                     "store sqlite:%s: cannot create: %s (does the "
                     "directory exist, and may sluice write there?)",
                     path, strerror(errno));
}

static int must_exist(const char *path, struct error *err)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    if (errno == ENOENT)
        return error_set(err,
                         "store sqlite:%s: cannot open: no such file "
                         "(sluice run, sluice topic create and sluice "
                         "store migrate create a store; is the path "
                         "right?)",
                         path);
    return error_set(err, "store sqlite:%s: cannot open: %s", path,
                     strerror(errno));
}

int db_sqlite_open(const char *path, unsigned how, void **conn,
                   struct error *err)
{
    bool create = how & DB_CREATE;
    if ((create ? create_private(path, err) : must_exist(path, err)) < 0)
        return -1;
    struct sqlite_conn *c = xcalloc(1, sizeof *c);
    c->path = xstrdup(path);
    c->write = how & DB_WRITE;
    int rc =
        sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        error_set(err,
                  "store sqlite:%s: cannot open: %s (may sluice read "
                  "and write there?)",
                  path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(c->db, 1);
    /* large pages for the hub's blobs (megabytes each): fewer overflow
     * pages to chain; it only takes on a new, empty database. WAL is
     * kept by the file once set. */
    if ((create && (pragma(c, "PRAGMA page_size=65536", NULL, err) < 0 ||
                    enter_wal(c, err) < 0)) ||
        pragma(c, "PRAGMA synchronous=FULL", NULL, err) < 0 ||
        pragma(c, "PRAGMA foreign_keys=ON", NULL, err) < 0) {
        sqlite_close(c);
        return -1;
    }
    *conn = c;
    return 0;
}

/* One stat of the path (SQLite's own check), and for a writer one
 * access(): writes through the open file would still succeed, but the
 * store is no longer one sluice may write (mode changed, file system
 * remounted read-only), and would not open again. */
static int sqlite_still_there(void *conn, struct error *err)
{
    struct sqlite_conn *c = conn;
    int moved = 0;
    if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) ==
            SQLITE_OK &&
        moved)
        return error_set(err,
                         "store sqlite:%s: the file was deleted, moved "
                         "or replaced while sluice had it open: what "
                         "was just written did not reach the store at "
                         "that path, and nothing more is (put the file "
                         "back or start a new store, then restart "
                         "sluice)",
                         c->path);
    if (c->write && access(c->path, W_OK) != 0)
        return error_set(err,
                         "store sqlite:%s: sluice may no longer write "
                         "the file (%s): what was just written is not "
                         "taken as stored, and nothing more is written "
                         "(make it writable again, then restart sluice)",
                         c->path, strerror(errno));
    return 0;
}

static int bind_all(struct sqlite_conn *c, sqlite3_stmt *st,
                    const struct db_value *params, size_t count,
                    struct error *err)
{
    for (size_t i = 0; i < count; i++) {
        int idx = (int)i + 1, rc = SQLITE_OK;
        const struct db_value *v = &params[i];
        switch (v->type) {
        case DB_NULL: rc = sqlite3_bind_null(st, idx); break;
        case DB_INT: rc = sqlite3_bind_int64(st, idx, v->i); break;
        case DB_MESSAGE: /* store_exec made it DB_TEXT; never here */
        case DB_TEXT:
            rc = sqlite3_bind_text64(st, idx, v->p, v->len, SQLITE_STATIC,
                                     SQLITE_UTF8);
            break;
        case DB_BLOB:
            rc = v->len ? sqlite3_bind_blob64(st, idx, v->p, v->len,
                                              SQLITE_STATIC)
                        : sqlite3_bind_zeroblob(st, idx, 0);
            break;
        }
        if (rc != SQLITE_OK)
            return fail(c, rc, "bind", err);
    }
    return 0;
}

static void take_row(sqlite3_stmt *st, struct db_result *res, size_t *cap)
{
    size_t cols = res->cols;
    XGROW(res->cells, *cap, (res->rows + 1) * cols);
    struct db_value *row = &res->cells[res->rows * cols];
    for (size_t j = 0; j < cols; j++) {
        int t = sqlite3_column_type(st, (int)j);
        struct db_value *v = &row[j];
        *v = DBV_NULL;
        if (t == SQLITE_INTEGER) {
            *v = DBV_INT(sqlite3_column_int64(st, (int)j));
        } else if (t == SQLITE_FLOAT) {
            *v = DBV_INT((int64_t)sqlite3_column_double(st, (int)j));
        } else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
            const void *p = t == SQLITE_TEXT
                                ? (const void *)sqlite3_column_text(st, (int)j)
                                : sqlite3_column_blob(st, (int)j);
            size_t n = (size_t)sqlite3_column_bytes(st, (int)j);
            v->type = t == SQLITE_TEXT ? DB_TEXT : DB_BLOB;
            v->p = xstrndup(p ? p : "", n);
            v->len = n;
        }
    }
    res->rows++;
}

static int sqlite_exec(void *conn, const char *sql,
                       const struct db_value *params, size_t count,
                       struct db_result *res, struct error *err)
{
    struct sqlite_conn *c = conn;
    sqlite3_stmt *st;
    if (res)
        memset(res, 0, sizeof *res);
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(c, rc, "prepare", err);
    if (bind_all(c, st, params, count, err) < 0) {
        sqlite3_finalize(st);
        return -1;
    }
    size_t cap = 0;
    if (res)
        res->cols = (size_t)sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (res)
            take_row(st, res, &cap);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_result_free(res);
        return fail(c, rc, "statement", err);
    }
    if (res)
        res->changes = sqlite3_changes64(c->db);
    return 0;
}

/* Macros, then $N parameters as ?N (outside quoted strings). */
static char *sqlite_translate(const char *sql)
{
#define SQLITE_REAL_MS "((julianday('now') - 2440587.5) * 86400000.0)"
    char clock[256], now[300];
    db_clock_sql(SQLITE_REAL_MS, clock, sizeof clock);
    snprintf(now, sizeof now, "CAST(%s AS INTEGER)", clock);
    const struct db_macro macros[] = {
        {"{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT"},
        {"{{for_share}}", ""}, /* one writer at a time: nothing to lock */
        {"{{for_update}}", ""},
        {"{{blob}}", "BLOB"},
        /* blobs are in segment files: nothing to say of their storage */
        {"{{blobs_uncompressed}}", "SELECT 1"},
        {"{{now}}", now},
        {"{{real_now}}", "CAST(" SQLITE_REAL_MS " AS INTEGER)"},
    };
    char *expanded = db_expand(sql, macros, sizeof macros / sizeof *macros);
    bool quoted = false;
    for (char *p = expanded; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (!quoted && *p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    }
    return expanded;
}

int db_sqlite_backup(void *conn, const char *dest, struct error *err)
{
    struct sqlite_conn *c = conn;
    if (access(dest, F_OK) == 0)
        return error_set(err, "%s exists: a backup is written to a new file",
                         dest);
    if (create_private(dest, err) < 0)
        return -1;
    sqlite3 *to = NULL;
    int rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE, NULL);
    sqlite3_backup *b = rc == SQLITE_OK
                            ? sqlite3_backup_init(to, "main", c->db, "main")
                            : NULL;
    if (b) {
        /* in one step, so that the copy is the store of one moment */
        rc = sqlite3_backup_step(b, -1);
        int finished = sqlite3_backup_finish(b);
        if (rc == SQLITE_DONE)
            rc = finished;
    } else if (rc == SQLITE_OK) {
        rc = sqlite3_errcode(to);
    }
    int result = 0;
    if (rc != SQLITE_OK)
        result =
            error_set(err, "backup of store sqlite:%s into %s: %s", c->path,
                      dest, to ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
    sqlite3_close(to);
    if (result < 0)
        unlink(dest);
    return result;
}

const struct db_backend db_sqlite = {
    .name = "sqlite",
    .begin_sql = "BEGIN IMMEDIATE",
    .migration_lock_sql = NULL,
    .exec = sqlite_exec,
    .translate = sqlite_translate,
    .still_there = sqlite_still_there,
    .close = sqlite_close,
};
