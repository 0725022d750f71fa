/* postgres.c: the shared store backend (PostgreSQL through libpq).
 *
 * Parameters go in binary for integers and byte strings, text otherwise;
 * results come back in binary and are decoded by column type. A lost
 * connection is a transient error. Outside a transaction the next
 * statement reconnects; inside one, every statement fails until the
 * caller rolls back, so nothing after the loss can run outside the
 * transaction it belonged to. */
#include <endian.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "../util/buf.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "db.h"

#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_VARCHAR 1043
#define OID_UNKNOWN 705

struct pg_conn {
    PGconn *pg;
    char *url_redacted;
    bool in_tx;
};

static char *redacted(const char *url)
{
    struct buf b = {0};
    redact(url, &b);
    return buf_take(&b);
}

/* libpq messages span lines ("...\n\tHINT"); one line reads better. */
static void trim(char *s)
{
    char *out = s;
    bool space = false;
    for (char *p = s; *p; p++) {
        bool ws = *p == '\n' || *p == '\t' || *p == ' ';
        if (ws && !space && out != s)
            *out++ = ' ';
        else if (!ws)
            *out++ = *p;
        space = ws;
    }
    while (out > s && out[-1] == ' ')
        out--;
    *out = '\0';
}

/* What to do when the server refuses a connection for having as many as
 * it takes (max_connections, less the slots it reserves). */
static const char *full_hint(const char *msg)
{
    if (!strstr(msg, "too many clients") &&
        !strstr(msg, "remaining connection slots are reserved"))
        return "";
    return " (PostgreSQL's max_connections is reached: sluice run holds 1 "
           "store connection, 2 per pipe it runs and 1 per snapshot "
           "partition being read (snapshot_parallelism); raise "
           "max_connections or spread the pipes over more workers with "
           "--pipe: see 'Store connections' in docs/operations.md)";
}

int db_postgres_check_url(const char *url, struct error *err)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &why);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    /* libpq's message may quote the URL, password and all */
    struct buf msg = {0};
    char *shown = redacted(url);
    redact(why ? why : "out of memory", &msg);
    trim(msg.data);
    error_set(err, "store URL '%s' is not a PostgreSQL URL libpq can read: %s",
              shown, msg.data);
    PQfreemem(why);
    free(shown);
    buf_free(&msg);
    return -1;
}

int db_postgres_open(const char *url, void **conn, struct error *err)
{
    struct pg_conn *c = xcalloc(1, sizeof *c);
    c->url_redacted = redacted(url);
    /* a host that stops answering fails the statement in seconds, not
     * after the kernel's minutes of retransmissions: a worker cut off
     * must see it before its leases expire. The URL's own settings win
     * (dbname, expanded, comes last). */
    static const char *const keys[] = {"connect_timeout",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "tcp_user_timeout",
                                       "dbname",
                                       NULL};
    const char *const values[] = {"10", "5", "2", "3", "10000", url, NULL};
    c->pg = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char *msg = xstrdup(PQerrorMessage(c->pg));
        trim(msg);
        bool auth = strstr(msg, "authentication") || strstr(msg, "password");
        if (auth)
            error_set(err, "store %s: cannot connect: %s", c->url_redacted,
                      msg);
        else
            error_transient(err, "store %s: cannot connect: %s%s",
                            c->url_redacted, msg, full_hint(msg));
        free(msg);
        PQfinish(c->pg);
        free(c->url_redacted);
        free(c);
        return -1;
    }
    PQsetErrorVerbosity(c->pg, PQERRORS_DEFAULT);
    /* a transaction left open by a worker cut off from the server would
     * hold the rows it locked (a lease's) for hours: ended after 15 s,
     * the length of a pipe's lease; sluice's transactions run statements
     * only, back to back. No JIT: the store's statements are short, and
     * compiling one (0.1 to 0.2 s) costs more than the page of hub events
     * it reads (servers older than PostgreSQL 11 have no such setting). */
    PGresult *r = PQexec(c->pg, "SET client_min_messages = warning; "
                                "SET TIME ZONE 'UTC'; SET "
                                "idle_in_transaction_session_timeout = "
                                "'15s'; "
                                "SELECT set_config('jit', 'off', false) "
                                "FROM pg_settings WHERE name = 'jit'");
    PQclear(r);
    *conn = c;
    return 0;
}

static void pg_close(void *conn)
{
    struct pg_conn *c = conn;
    if (!c)
        return;
    PQfinish(c->pg);
    free(c->url_redacted);
    free(c);
}

static bool transient_state(const char *sqlstate)
{
    return sqlstate &&
           (strncmp(sqlstate, "08", 2) == 0 ||
            strncmp(sqlstate, "53", 2) == 0 ||
            strncmp(sqlstate, "57P", 3) == 0 ||
            strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0);
}

static bool starts_with(const char *sql, const char *word)
{
    return strncmp(sql, word, strlen(word)) == 0;
}

static int decode(const PGresult *r, struct db_result *res, struct error *err)
{
    res->rows = (size_t)PQntuples(r);
    res->cols = (size_t)PQnfields(r);
    res->cells = xcalloc(res->rows * res->cols + 1, sizeof *res->cells);
    for (size_t i = 0; i < res->rows; i++)
        for (size_t j = 0; j < res->cols; j++) {
            struct db_value *v = &res->cells[i * res->cols + j];
            if (PQgetisnull(r, (int)i, (int)j))
                continue;
            const unsigned char *p =
                (const unsigned char *)PQgetvalue(r, (int)i, (int)j);
            size_t n = (size_t)PQgetlength(r, (int)i, (int)j);
            Oid type = PQftype(r, (int)j);
            if (type == OID_INT8 || type == OID_INT4 || type == OID_INT2 ||
                type == OID_BOOL) {
                uint64_t u = 0;
                for (size_t k = 0; k < n; k++)
                    u = (u << 8) | p[k];
                int64_t s = (int64_t)u;
                if (n < 8 && (p[0] & 0x80) && type != OID_BOOL)
                    s = (int64_t)(u | (~0ULL << (8 * n)));
                *v = DBV_INT(s);
            } else if (type == OID_TEXT || type == OID_VARCHAR ||
                       type == OID_NAME || type == OID_UNKNOWN ||
                       type == OID_BYTEA) {
                v->type = type == OID_BYTEA ? DB_BLOB : DB_TEXT;
                v->p = xstrndup((const char *)p, n);
                v->len = n;
            } else {
                return error_set(err,
                                 "store: column %zu has a type (oid %u) "
                                 "sluice does not read",
                                 j + 1, type);
            }
        }
    res->changes = atoll(PQcmdTuples((PGresult *)r));
    return 0;
}

static int pg_exec(void *conn, const char *sql, const struct db_value *params,
                   size_t count, struct db_result *res, struct error *err)
{
    struct pg_conn *c = conn;
    if (res)
        memset(res, 0, sizeof *res);
    bool rollback = starts_with(sql, "ROLLBACK");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        if (c->in_tx && !rollback)
            return error_transient(err,
                                   "store %s: the connection was lost "
                                   "during a transaction; nothing of it "
                                   "was committed",
                                   c->url_redacted);
        c->in_tx = false;
        PQreset(c->pg);
        if (rollback)
            return 0;
        if (PQstatus(c->pg) != CONNECTION_OK) {
            char *msg = xstrdup(PQerrorMessage(c->pg));
            trim(msg);
            error_transient(err, "store %s: cannot reconnect: %s%s",
                            c->url_redacted, msg, full_hint(msg));
            free(msg);
            return -1;
        }
    }
    Oid *types = xcalloc(count + 1, sizeof *types);
    const char **values = xcalloc(count + 1, sizeof *values);
    int *lengths = xcalloc(count + 1, sizeof *lengths);
    int *formats = xcalloc(count + 1, sizeof *formats);
    uint64_t *ints = xcalloc(count + 1, sizeof *ints);
    for (size_t i = 0; i < count; i++) {
        const struct db_value *v = &params[i];
        if (v->type == DB_INT) {
            ints[i] = htobe64((uint64_t)v->i);
            types[i] = OID_INT8;
            values[i] = (const char *)&ints[i];
            lengths[i] = 8;
            formats[i] = 1;
        } else if (v->type == DB_BLOB) {
            types[i] = OID_BYTEA;
            values[i] = v->p ? v->p : "";
            lengths[i] = (int)v->len;
            formats[i] = 1;
        } else if (v->type == DB_TEXT) {
            values[i] = xstrndup(v->p, v->len);
        }
    }
    PGresult *r = PQexecParams(c->pg, sql, (int)count, types, values, lengths,
                               formats, 1);
    for (size_t i = 0; i < count; i++)
        if (params[i].type == DB_TEXT)
            free((char *)values[i]);
    free(types);
    free(values);
    free(lengths);
    free(formats);
    free(ints);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        char *msg =
            xstrdup(PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                                               : PQerrorMessage(c->pg));
        trim(msg);
        bool lost = PQstatus(c->pg) != CONNECTION_OK;
        if (lost || transient_state(sqlstate))
            rc = error_transient(err, "store %s: %s%s", c->url_redacted, msg,
                                 lost && c->in_tx && starts_with(sql, "COMMIT")
                                     ? " (the commit's outcome is unknown)"
                                     : "");
        else
            rc = error_set(err, "store %s: %s", c->url_redacted, msg);
        free(msg);
    } else if (res) {
        rc = decode(r, res, err);
        if (rc < 0)
            db_result_free(res);
    }
    PQclear(r);
    if (rc == 0 && starts_with(sql, "BEGIN"))
        c->in_tx = true;
    if (starts_with(sql, "COMMIT") || rollback)
        c->in_tx = false;
    return rc;
}

static char *pg_translate(const char *sql)
{
#define PG_REAL_MS "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)"
    char clock[256], now[300];
    db_clock_sql(PG_REAL_MS, clock, sizeof clock);
    snprintf(now, sizeof now, "(%s)::BIGINT", clock);
    const struct db_macro macros[] = {
        {"{{id}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
        {"{{for_share}}", " FOR SHARE"},   /* locked until the commit */
        {"{{for_update}}", " FOR UPDATE"}, /* the same, against others */
        {"{{blob}}", "BYTEA"},
        /* out of line, not compressed by pglz: its CPU was the largest
         * cost of a snapshot on PostgreSQL */
        {"{{blobs_uncompressed}}", "ALTER TABLE publication_blobs ALTER "
                                   "COLUMN data SET STORAGE EXTERNAL"},
        {"{{now}}", now},
        {"{{real_now}}", "(" PG_REAL_MS ")::BIGINT"},
    };
    return db_expand(sql, macros, sizeof macros / sizeof *macros);
}

const struct db_backend db_postgres = {
    .name = "postgresql",
    .begin_sql = "BEGIN",
    .migration_lock_sql = "SELECT pg_advisory_xact_lock(7470001)",
    .exec = pg_exec,
    .translate = pg_translate,
    .close = pg_close,
};
