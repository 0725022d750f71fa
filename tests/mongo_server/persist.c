/* persist.c: --dbpath DIR: the test server's collections, documents,
 * indexes, oplog and retryable writes' answers kept in
 * DIR/mongo_test_server.sqlite (SQLite: WAL journal, synchronous FULL), so
 * that the server can be killed and started again with its data and its change
 * history. What one command changed (its published scope) is written in one
 * SQLite transaction before the command is answered; the server answers
 * nothing it has not written. Loaded once, at start-up, into srv; after that
 * only written. DIR/mongo_test_server.lock (flock) keeps a second server out.
 * Without --dbpath nothing here runs. The format, user_version 1:
 *   collections(db, name)
 *   documents(db, coll, id, doc)   id: {"_id": value} as BSON; doc: BSON
 *   indexes(db, coll, pos, spec)   each index but _id_ as listIndexes
 *       shows it (BSON), in the collection's order
 *   oplog(seq, t, i, db, coll, op, event)   the change event as the
 *       oplog holds it (without its resume token, which seq makes)
 *   meta(key, value)   next_seq, lost_before, last_t, last_i, lost_t,
 *       lost_i: the oplog's bounds and the last cluster time
 *   sessions(id, number, committed, reply, used)   id: {"id": lsid.id}
 * A store that cannot be written stops the server (exit status 3): it
 * would otherwise answer writes it would lose. Callers hold srv.lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define SESSION_KEEP_S (30 * 60) /* logicalSessionTimeoutMinutes */

static sqlite3 *store;
static char store_path[PATH_MAX];

enum statement {
    ST_COLL_ADD,
    ST_COLL_DROP_DOCS,
    ST_COLL_DROP,
    ST_COLL_RENAME_DOCS,
    ST_COLL_RENAME,
    ST_IX_CLEAR,
    ST_IX_RENAME,
    ST_IX_ADD,
    ST_DOC_PUT,
    ST_DOC_DELETE,
    ST_OP_ADD,
    ST_OP_TRIM,
    ST_META,
    ST_SESSION,
    ST_COUNT
};
static const char *const statement_sql[ST_COUNT] = {
    "INSERT OR IGNORE INTO collections VALUES (?1, ?2)",
    "DELETE FROM documents WHERE db = ?1 AND coll = ?2",
    "DELETE FROM collections WHERE db = ?1 AND name = ?2",
    "UPDATE documents SET db = ?3, coll = ?4 WHERE db = ?1 AND coll = ?2",
    "UPDATE collections SET db = ?3, name = ?4 WHERE db = ?1 AND name = ?2",
    "DELETE FROM indexes WHERE db = ?1 AND coll = ?2",
    "UPDATE indexes SET db = ?3, coll = ?4 WHERE db = ?1 AND coll = ?2",
    "INSERT INTO indexes VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR REPLACE INTO documents VALUES (?1, ?2, ?3, ?4)",
    "DELETE FROM documents WHERE db = ?1 AND coll = ?2 AND id = ?3",
    "INSERT OR REPLACE INTO oplog VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "DELETE FROM oplog WHERE seq < ?1",
    "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
    "INSERT OR REPLACE INTO sessions VALUES (?1, ?2, ?3, ?4, ?5)",
};
static sqlite3_stmt *statements[ST_COUNT];

/* What the store holds of srv's counters. */
struct counters {
    int64_t next_seq, lost_before;
    int64_t last_t, last_i, lost_t, lost_i;
};
static struct counters saved;

static const char *const counter_names[6] = {"next_seq", "lost_before",
                                             "last_t",   "last_i",
                                             "lost_t",   "lost_i"};

static void counters_now(struct counters *c)
{
    *c = (struct counters){srv.next_seq, srv.lost_before, srv.last_t,
                           srv.last_i,   srv.lost_t,      srv.lost_i};
}

static int64_t *counter(struct counters *c, int k)
{
    int64_t *v[6] = {&c->next_seq, &c->lost_before, &c->last_t,
                     &c->last_i,   &c->lost_t,      &c->lost_i};
    return v[k];
}

static void fail(const char *what)
{
    fprintf(stderr, "mongo_test_server: %s: %s: %s\n", store_path, what,
            sqlite3_errmsg(store));
    exit(3);
}

static void exec(const char *sql)
{
    if (sqlite3_exec(store, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail(sql);
}

/* Runs a prepared statement with its parameters bound. */
static void run(enum statement k)
{
    sqlite3_stmt *st = statements[k];
    if (sqlite3_step(st) != SQLITE_DONE)
        fail(statement_sql[k]);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(enum statement k, int at, const char *text)
{
    sqlite3_bind_text(statements[k], at, text, -1, SQLITE_TRANSIENT);
}

static void bind_bson(enum statement k, int at, const bson_t *b)
{
    sqlite3_bind_blob(statements[k], at, bson_get_data(b), (int)b->len,
                      SQLITE_TRANSIENT);
}

/* {name: v} as BSON: how a value is a key in the store. */
static void key_of(const char *name, const bson_value_t *v, bson_t *out)
{
    bson_init(out);
    BSON_APPEND_VALUE(out, name, v);
}

struct index_row {
    const struct scope_coll *op;
    int pos;
};

static void write_index(const bson_t *spec, void *arg)
{
    struct index_row *row = arg;
    bind_text(ST_IX_ADD, 1, row->op->db);
    bind_text(ST_IX_ADD, 2, row->op->name);
    sqlite3_bind_int(statements[ST_IX_ADD], 3, row->pos++);
    bind_bson(ST_IX_ADD, 4, spec);
    run(ST_IX_ADD);
}

/* The statements a change to a collection runs, in order. */
static const struct {
    enum statement run[3];
    size_t n;
} coll_change[] = {
    [SCOPE_CREATE] = {{ST_COLL_ADD}, 1},
    [SCOPE_DROP] = {{ST_COLL_DROP_DOCS, ST_IX_CLEAR, ST_COLL_DROP}, 3},
    [SCOPE_RENAME] = {{ST_COLL_RENAME_DOCS, ST_IX_RENAME, ST_COLL_RENAME}, 3},
    [SCOPE_INDEXES] = {{ST_IX_CLEAR}, 1},
};

static void write_collections(const struct scope *s)
{
    for (size_t i = 0; i < s->ncolls; i++) {
        const struct scope_coll *op = &s->colls[i];
        const enum statement *run_these = coll_change[op->op].run;
        for (size_t k = 0; k < coll_change[op->op].n; k++) {
            bind_text(run_these[k], 1, op->db);
            bind_text(run_these[k], 2, op->name);
            if (op->op == SCOPE_RENAME) {
                bind_text(run_these[k], 3, op->to_db);
                bind_text(run_these[k], 4, op->to_name);
            }
            run(run_these[k]);
        }
        struct collection *c = coll_find(op->db, op->name);
        if (op->op == SCOPE_INDEXES && c) /* as they are now */
            index_each_spec(c, write_index, &(struct index_row){op, 0});
    }
}

/* Each document the scope touched, as it is now (or gone). */
static void write_documents(const struct scope *s)
{
    for (size_t i = 0; i < s->ndocs; i++) {
        const struct scope_doc *d = &s->docs[i];
        struct doc *now = coll_lookup(d->c, &d->id, NULL);
        bson_t key, now_key;
        key_of("_id", &d->id, &key);
        if (now)
            key_of("_id", &now->id, &now_key);
        if (!now || !bson_equal(&key, &now_key)) { /* 1 became 1.0, say */
            bind_text(ST_DOC_DELETE, 1, d->c->db);
            bind_text(ST_DOC_DELETE, 2, d->c->name);
            bind_bson(ST_DOC_DELETE, 3, &key);
            run(ST_DOC_DELETE);
        }
        if (now) {
            bind_text(ST_DOC_PUT, 1, d->c->db);
            bind_text(ST_DOC_PUT, 2, d->c->name);
            bind_bson(ST_DOC_PUT, 3, &now_key);
            bind_bson(ST_DOC_PUT, 4, now->bson);
            run(ST_DOC_PUT);
            bson_destroy(&now_key);
        }
        bson_destroy(&key);
    }
}

/* The oplog's entries from `first_seq` on, and its new start. */
static void write_oplog(int64_t first_seq)
{
    size_t from = srv.log_count;
    while (from > 0 && srv.log[from - 1].seq >= first_seq)
        from--;
    for (size_t k = from; k < srv.log_count; k++) {
        const struct oplog_entry *e = &srv.log[k];
        sqlite3_bind_int64(statements[ST_OP_ADD], 1, e->seq);
        sqlite3_bind_int64(statements[ST_OP_ADD], 2, e->t);
        sqlite3_bind_int64(statements[ST_OP_ADD], 3, e->i);
        bind_text(ST_OP_ADD, 4, e->db);
        bind_text(ST_OP_ADD, 5, e->coll);
        bind_text(ST_OP_ADD, 6, e->op);
        bind_bson(ST_OP_ADD, 7, e->event);
        run(ST_OP_ADD);
    }
    if (srv.lost_before != saved.lost_before) {
        sqlite3_bind_int64(statements[ST_OP_TRIM], 1, srv.lost_before);
        run(ST_OP_TRIM);
    }
}

static void write_session(const struct session_row *row)
{
    bson_t key;
    key_of("id", row->id, &key);
    bind_bson(ST_SESSION, 1, &key);
    sqlite3_bind_int64(statements[ST_SESSION], 2, row->number);
    sqlite3_bind_int(statements[ST_SESSION], 3, row->committed);
    if (row->reply)
        bind_bson(ST_SESSION, 4, row->reply);
    sqlite3_bind_int64(statements[ST_SESSION], 5, row->used);
    run(ST_SESSION);
    bson_destroy(&key);
}

void persist_scope(const struct scope *s, const struct session_row *row)
{
    if (!store)
        return;
    struct counters now;
    counters_now(&now);
    bool moved = memcmp(&now, &saved, sizeof now) != 0;
    if (!s->ndocs && !s->ncolls && !row && !moved)
        return;
    exec("BEGIN IMMEDIATE");
    write_collections(s);
    write_documents(s);
    write_oplog(s->first_seq);
    for (int k = 0; moved && k < 6; k++)
        if (*counter(&now, k) != *counter(&saved, k)) {
            bind_text(ST_META, 1, counter_names[k]);
            sqlite3_bind_int64(statements[ST_META], 2, *counter(&now, k));
            run(ST_META);
        }
    if (row)
        write_session(row);
    exec("COMMIT");
    saved = now;
}

/* ---- loading ---- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS collections(db TEXT NOT NULL, name TEXT "
    "NOT NULL, PRIMARY KEY (db, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS documents(db TEXT NOT NULL, coll TEXT NOT "
    "NULL, id BLOB NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (db, coll, id)) "
    "WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS indexes(db TEXT NOT NULL, coll TEXT NOT "
    "NULL, pos INTEGER NOT NULL, spec BLOB NOT NULL, PRIMARY KEY (db, coll, "
    "pos)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS oplog(seq INTEGER PRIMARY KEY, t INTEGER NOT "
    "NULL, i INTEGER NOT NULL, db TEXT NOT NULL, coll TEXT NOT NULL, op TEXT "
    "NOT NULL, event BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT "
    "NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sessions(id BLOB PRIMARY KEY, number INTEGER "
    "NOT NULL, committed INTEGER NOT NULL, reply BLOB, used INTEGER NOT NULL) "
    "WITHOUT ROWID;";

static bool failed(char *err, size_t size, const char *what)
{
    snprintf(err, size, "%s: %s: %s", store_path, what,
             store ? sqlite3_errmsg(store) : "cannot open");
    return false;
}

/* A statement for reading; false with a message naming `what`. */
static bool query(const char *sql, sqlite3_stmt **st, const char *what,
                  char *err, size_t size)
{
    return sqlite3_prepare_v2(store, sql, -1, st, NULL) == SQLITE_OK ||
           failed(err, size, what);
}

/* A BSON blob of a row, copied; NULL when it is not BSON. */
static bson_t *bson_column(sqlite3_stmt *st, int col)
{
    const void *data = sqlite3_column_blob(st, col);
    int len = sqlite3_column_bytes(st, col);
    return data && len >= 5 ? bson_new_from_data(data, (size_t)len) : NULL;
}

struct loaded_doc {
    bson_t *doc;
    bson_value_t id; /* borrowed from doc */
};

static int by_id(const void *a, const void *b)
{
    return value_compare(&((const struct loaded_doc *)a)->id,
                         &((const struct loaded_doc *)b)->id);
}

/* One collection's documents, sorted, appended (taking them). */
static void add_documents(const char *db, const char *coll,
                          struct loaded_doc *docs, size_t n)
{
    struct collection *c = coll_get(db, coll);
    qsort(docs, n, sizeof *docs, by_id);
    for (size_t i = 0; i < n; i++)
        if (!coll_append(c, docs[i].doc))
            bson_destroy(docs[i].doc);
}

static bool load_documents(char *err, size_t size, bool *any)
{
    sqlite3_stmt *st;
    if (!query("SELECT db, coll, doc FROM documents ORDER BY db, coll", &st,
               "reading documents", err, size))
        return false;
    struct loaded_doc *docs = NULL;
    size_t n = 0, cap = 0;
    char *db = NULL, *coll = NULL;
    bool good = true;
    int rc;
    while (good && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0),
                   *c = (const char *)sqlite3_column_text(st, 1);
        if (db && (strcmp(db, d) || strcmp(coll, c))) {
            add_documents(db, coll, docs, n);
            n = 0;
        }
        if (!db || strcmp(db, d) || strcmp(coll, c)) {
            free(db);
            free(coll);
            db = strdup(d);
            coll = strdup(c);
        }
        bson_t *doc = bson_column(st, 2);
        bson_iter_t it;
        if (!doc || !bson_iter_init_find(&it, doc, "_id")) {
            snprintf(err, size,
                     "%s: a document of %s.%s is not BSON with an "
                     "_id",
                     store_path, d, c);
            if (doc)
                bson_destroy(doc);
            good = false;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            docs = realloc(docs, cap * sizeof *docs);
        }
        docs[n].doc = doc;
        docs[n++].id = *bson_iter_value(&it);
        *any = true;
    }
    if (good && rc != SQLITE_DONE)
        good = failed(err, size, "reading documents");
    if (good && db)
        add_documents(db, coll, docs, n);
    else
        for (size_t i = 0; i < n; i++)
            bson_destroy(docs[i].doc);
    free(docs);
    free(db);
    free(coll);
    sqlite3_finalize(st);
    return good;
}

static bool load_oplog(char *err, size_t size, bool *any)
{
    sqlite3_stmt *st;
    if (!query("SELECT seq, t, i, db, coll, op, event FROM oplog WHERE seq "
               ">= ?1 ORDER BY seq",
               &st, "reading the oplog", err, size))
        return false;
    sqlite3_bind_int64(st, 1, srv.lost_before);
    int rc;
    bool good = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        bson_t *event = bson_column(st, 6);
        if (!event) {
            snprintf(err, size, "%s: oplog entry %lld is not BSON", store_path,
                     (long long)seq);
            good = false;
            break;
        }
        oplog_restore(seq, (uint32_t)sqlite3_column_int64(st, 1),
                      (uint32_t)sqlite3_column_int64(st, 2),
                      (const char *)sqlite3_column_text(st, 3),
                      (const char *)sqlite3_column_text(st, 4),
                      (const char *)sqlite3_column_text(st, 5), event);
        *any = true;
    }
    if (good && rc != SQLITE_DONE)
        good = failed(err, size, "reading the oplog");
    sqlite3_finalize(st);
    return good;
}

static bool load_meta(char *err, size_t size, bool *any)
{
    sqlite3_stmt *st;
    if (!query("SELECT key, value FROM meta", &st, "reading meta", err, size))
        return false;
    struct counters c;
    counters_now(&c);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        for (int k = 0; k < 6; k++)
            if (!strcmp(key, counter_names[k]))
                *counter(&c, k) = sqlite3_column_int64(st, 1);
        *any = true;
    }
    sqlite3_finalize(st);
    saved = c; /* as the store holds them, whatever loading changes */
    srv.next_seq = c.next_seq;
    srv.lost_before = c.lost_before;
    srv.last_t = (uint32_t)c.last_t;
    srv.last_i = (uint32_t)c.last_i;
    srv.lost_t = (uint32_t)c.lost_t;
    srv.lost_i = (uint32_t)c.lost_i;
    return true;
}

static bool load_collections(char *err, size_t size, bool *any)
{
    sqlite3_stmt *st;
    if (!query("SELECT db, name FROM collections", &st, "reading collections",
               err, size))
        return false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        coll_get((const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1));
        *any = true;
    }
    sqlite3_finalize(st);
    return true;
}

static bool load_indexes(char *err, size_t size)
{
    sqlite3_stmt *st;
    if (!query("SELECT db, coll, spec FROM indexes ORDER BY db, coll, pos",
               &st, "reading indexes", err, size))
        return false;
    bool good = true;
    int rc;
    while (good && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *db = (const char *)sqlite3_column_text(st, 0),
                   *coll = (const char *)sqlite3_column_text(st, 1);
        bson_t *spec = bson_column(st, 2);
        struct mongo_error e = {0};
        if (!spec || !index_restore(coll_get(db, coll), spec, &e)) {
            snprintf(err, size, "%s: an index of %s.%s cannot be read: %s",
                     store_path, db, coll, spec ? e.msg : "not BSON");
            good = false;
        }
        if (spec)
            bson_destroy(spec);
    }
    if (good && rc != SQLITE_DONE)
        good = failed(err, size, "reading indexes");
    sqlite3_finalize(st);
    return good;
}

void persist_load_sessions(void (*fn)(const struct session_row *, void *),
                           void *arg)
{
    sqlite3_stmt *st;
    if (!store ||
        sqlite3_prepare_v2(store,
                           "SELECT id, number, committed, reply, used FROM "
                           "sessions WHERE used >= ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, (int64_t)time(NULL) - SESSION_KEEP_S);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bson_t *key = bson_column(st, 0), *reply = bson_column(st, 3);
        bson_iter_t it;
        if (key && bson_iter_init_find(&it, key, "id")) {
            struct session_row row = {bson_iter_value(&it),
                                      sqlite3_column_int64(st, 1),
                                      sqlite3_column_int(st, 2) != 0, reply,
                                      sqlite3_column_int64(st, 4)};
            fn(&row, arg);
        }
        if (key)
            bson_destroy(key);
        if (reply)
            bson_destroy(reply);
    }
    sqlite3_finalize(st);
}

/* One server per DIR: an exclusive flock, which the kernel lets go when
 * the server dies, however it dies. */
static bool lock_dir(const char *dir, char *err, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/mongo_test_server.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, size, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, size,
                 "%s is in use by another mongo_test_server (it holds %s)",
                 dir, path);
        close(fd);
        return false;
    }
    return true; /* held until the process ends */
}

static bool check_version(char *err, size_t size)
{
    sqlite3_stmt *st;
    int version = -1;
    if (sqlite3_prepare_v2(store, "PRAGMA user_version", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version == 0)
        return sqlite3_exec(store, "PRAGMA user_version = 1", NULL, NULL,
                            NULL) == SQLITE_OK ||
               failed(err, size, "setting its version");
    if (version != 1) {
        snprintf(err, size,
                 "%s is not a store of this mongo_test_server (user_version "
                 "%d; this server reads 1)",
                 store_path, version);
        return false;
    }
    return true;
}

bool persist_open(const char *dir, bool *had_data, char *err, size_t size)
{
    *had_data = false;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, size, "cannot make the directory %s: %s", dir,
                 strerror(errno));
        return false;
    }
    if (!lock_dir(dir, err, size))
        return false;
    snprintf(store_path, sizeof store_path, "%s/mongo_test_server.sqlite",
             dir);
    if (sqlite3_open_v2(store_path, &store,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK)
        return failed(err, size, "cannot open");
    if (sqlite3_exec(store,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL",
                     NULL, NULL, NULL) != SQLITE_OK)
        return failed(err, size, "setting its journal");
    if (!check_version(err, size))
        return false;
    if (sqlite3_exec(store, schema, NULL, NULL, NULL) != SQLITE_OK)
        return failed(err, size, "making its tables");
    if (!load_meta(err, size, had_data) ||
        !load_collections(err, size, had_data) ||
        !load_documents(err, size, had_data) || !load_indexes(err, size) ||
        !load_oplog(err, size, had_data))
        return false;
    for (int k = 0; k < ST_COUNT; k++)
        if (sqlite3_prepare_v3(store, statement_sql[k], -1,
                               SQLITE_PREPARE_PERSISTENT, &statements[k],
                               NULL) != SQLITE_OK)
            return failed(err, size, statement_sql[k]);
    return true;
}
