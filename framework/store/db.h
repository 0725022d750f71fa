/* db.h: the SQL layer under the store: one small interface that both the
 * SQLite and the PostgreSQL backends implement, so the modules above
 * (pipes, lifecycle, hub) write their SQL once.
 *
 * SQL is written for PostgreSQL with $1, $2, ... parameters and a few
 * macros for what the dialects spell differently:
 *   {{id}}     an auto-increment 64-bit primary key
 *   {{blob}}   a byte-string column type
 *   {{now}}    sluice's time by the database server's clock, as ms since
 *              1970 (UTC): the server's clock, or under a test clock
 *              (util/clock.h) the test clock's speed and offset applied
 *              to it
 *   {{real_now}} the database server's clock, whatever the test clock:
 *              for leases, which are about processes being alive
 * Each backend translates them. Times are stored as integer ms since 1970
 * UTC everywhere, so no time zone ever enters the database. */
#ifndef SLUICE_STORE_DB_H
#define SLUICE_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../util/error.h"

enum db_type { DB_NULL, DB_INT, DB_TEXT, DB_BLOB, DB_MESSAGE };

/* A parameter or a result cell. In a result, `p` is owned by the result
 * and NUL-terminated after `len` bytes. */
struct db_value {
    enum db_type type;
    int64_t i;
    const char *p;
    size_t len;
};

#define DBV_NULL ((struct db_value){DB_NULL, 0, NULL, 0})
#define DBV_INT(v) ((struct db_value){DB_INT, (int64_t)(v), NULL, 0})
#define DBV_BLOB(ptr, n)                                                      \
    ((struct db_value){DB_BLOB, 0, (const char *)(ptr), (n)})
/* A text parameter; NULL becomes SQL NULL. */
static inline struct db_value DBV_TEXT(const char *s) {
    return s ? (struct db_value){DB_TEXT, 0, s, strlen(s)} : DBV_NULL;
}

/* A text parameter that may carry a secret (an error message, a reason):
 * store_exec masks it (util/redact.h) and stores it as text. Never a
 * result. */
static inline struct db_value
DBV_MESSAGE(const char *s) {
    return s ? (struct db_value){DB_MESSAGE, 0, s, strlen(s)} : DBV_NULL;
}

struct db_result {
    size_t rows, cols;
    struct db_value *cells; /* rows * cols */
    int64_t changes;        /* rows changed by INSERT/UPDATE/DELETE */
};

void db_result_free(struct db_result *r);
/* Takes a text or blob cell's bytes out of the result, without copying:
 * the caller frees them; they are NUL-terminated after *len bytes. NULL
 * for NULL (and for a cell taken before). */
char *db_take(struct db_result *r, size_t row, size_t col, size_t *len);
const struct db_value *db_cell(const struct db_result *r, size_t row,
                               size_t col);
/* Conveniences: 0 / NULL for SQL NULL or out of range. */
int64_t db_int(const struct db_result *r, size_t row, size_t col);
const char *db_text(const struct db_result *r, size_t row, size_t col);

/* What a backend provides. */
struct db_backend {
    const char *name;      /* "sqlite", "postgresql" */
    const char *begin_sql; /* starts a write transaction */
    /* serializes migrations across processes, inside the transaction;
     * NULL when begin_sql already does */
    const char *migration_lock_sql;
    /* Runs one statement (already translated). `res` may be NULL. */
    int (*exec)(void *conn, const char *sql, const struct db_value *params,
                size_t count, struct db_result *res, struct error *err);
    /* Turns the common SQL into the backend's; the caller frees it. */
    char *(*translate)(const char *sql);
    /* -1 (fatal) when the connection no longer reaches the store at the
     * address it was opened by (an SQLite file deleted or replaced), or,
     * opened with DB_WRITE, may no longer write it; NULL when there is
     * nothing to check */
    int (*still_there)(void *conn, struct error *err);
    void (*close)(void *conn);
};

extern const struct db_backend db_sqlite;
extern const struct db_backend db_postgres;

/* How an SQLite connection is opened: DB_CREATE makes a missing file,
 * mode 0600 (SQLite gives its -wal and -shm files the same mode), and
 * sets it up (page size, WAL); without it a missing file is an error.
 * DB_WRITE: the process writes through the connection, so a file it may
 * no longer write fails still_there. */
enum { DB_CREATE = 1, DB_WRITE = 2 };

/* Opens a connection; -1 with a message naming the (redacted) URL. */
int db_sqlite_open(const char *path, unsigned how, void **conn,
                   struct error *err);
/* Copies the database of an SQLite connection, as of one moment, into
 * the new file `dest` (mode 0600). */
int db_sqlite_backup(void *conn, const char *dest, struct error *err);
int db_postgres_open(const char *url, void **conn, struct error *err);
/* Whether libpq can read `url` (its syntax and parameter names), without
 * connecting; -1 with libpq's reason, the URL redacted. */
int db_postgres_check_url(const char *url, struct error *err);

/* Replaces each macro of the table in `sql`; the caller frees the result. */
struct db_macro {
    const char *name; /* "{{id}}" */
    const char *text;
};
/* SQL for sluice's time given SQL for the server's real one (ms, a
 * number): `real_ms` itself, or with the test clock applied. */
void db_clock_sql(const char *real_ms, char *out, size_t size);
char *db_expand(const char *sql, const struct db_macro *macros, size_t count);

#endif
