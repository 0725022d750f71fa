/* commands.c: the command dispatcher (each command between txn_begin and
 * txn_end: its session, its transaction, its changes published or
 * undone), the handshake and server commands, writes (which append change
 * events to the oplog), and the test-only commands: sluiceFault (truncate
 * the oplog, fail commands or lose their answers, add latency, close
 * connections, refuse connections for a while) and sluiceGenerate
 * (synthetic documents). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static const char *text_of(const bson_t *b, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, b, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

static bool doc_of(const bson_t *b, const char *key, bson_t *out)
{
    bson_iter_t it;
    uint32_t len;
    const uint8_t *data;
    if (!bson_iter_init_find(&it, b, key))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(&it))
        bson_iter_document(&it, &len, &data);
    else if (BSON_ITER_HOLDS_ARRAY(&it))
        bson_iter_array(&it, &len, &data);
    else
        return false;
    return bson_init_static(out, data, len);
}

static void ok(bson_t *reply)
{
    BSON_APPEND_DOUBLE(reply, "ok", 1);
}

static void hello(bson_t *reply)
{
    char me[96];
    snprintf(me, sizeof me, "%s:%d", srv.address, srv.port);
    bson_t hosts, last, op;
    BSON_APPEND_BOOL(reply, "helloOk", true);
    BSON_APPEND_BOOL(reply, "ismaster", true);
    BSON_APPEND_BOOL(reply, "isWritablePrimary", true);
    BSON_APPEND_UTF8(reply, "setName", SET_NAME);
    BSON_APPEND_INT32(reply, "setVersion", 1);
    BSON_APPEND_ARRAY_BEGIN(reply, "hosts", &hosts);
    BSON_APPEND_UTF8(&hosts, "0", me);
    bson_append_array_end(reply, &hosts);
    BSON_APPEND_UTF8(reply, "primary", me);
    BSON_APPEND_UTF8(reply, "me", me);
    BSON_APPEND_BOOL(reply, "secondary", false);
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", MAX_BSON_SIZE);
    BSON_APPEND_INT32(reply, "maxMessageSizeBytes", MAX_MESSAGE_SIZE);
    BSON_APPEND_INT32(reply, "maxWriteBatchSize", 100000);
    BSON_APPEND_DATE_TIME(reply, "localTime", (int64_t)time(NULL) * 1000);
    BSON_APPEND_INT32(reply, "logicalSessionTimeoutMinutes", 30);
    BSON_APPEND_INT32(reply, "connectionId", 1);
    BSON_APPEND_INT32(reply, "minWireVersion", 0);
    BSON_APPEND_INT32(reply, "maxWireVersion", MAX_WIRE_VERSION);
    BSON_APPEND_BOOL(reply, "readOnly", false);
    uint32_t t, i;
    cluster_time(&t, &i);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "lastWrite", &last);
    BSON_APPEND_DOCUMENT_BEGIN(&last, "opTime", &op);
    BSON_APPEND_TIMESTAMP(&op, "ts", t, i);
    BSON_APPEND_INT64(&op, "t", 1);
    bson_append_document_end(&last, &op);
    BSON_APPEND_DATE_TIME(&last, "lastWriteDate", (int64_t)t * 1000);
    bson_append_document_end(reply, &last);
    BSON_APPEND_UTF8(reply, "msg",
                     "sluice mongo_test_server: a test tool, not MongoDB");
    ok(reply);
}

static void build_info(bson_t *reply)
{
    bson_t arr;
    BSON_APPEND_UTF8(reply, "version", "5.0.0");
    BSON_APPEND_ARRAY_BEGIN(reply, "versionArray", &arr);
    BSON_APPEND_INT32(&arr, "0", 5);
    BSON_APPEND_INT32(&arr, "1", 0);
    BSON_APPEND_INT32(&arr, "2", 0);
    BSON_APPEND_INT32(&arr, "3", 0);
    bson_append_array_end(reply, &arr);
    BSON_APPEND_UTF8(reply, "gitVersion", "sluice-mongo-test-server");
    BSON_APPEND_BOOL(reply, "sluiceTestServer", true);
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", MAX_BSON_SIZE);
    ok(reply);
}

static void list_databases(bson_t *reply)
{
    bson_t dbs;
    int n = 0;
    char key[16];
    BSON_APPEND_ARRAY_BEGIN(reply, "databases", &dbs);
    for (size_t i = 0; i < srv.ncolls; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(srv.colls[j]->db, srv.colls[i]->db);
        if (seen)
            continue;
        bson_t d;
        snprintf(key, sizeof key, "%d", n++);
        BSON_APPEND_DOCUMENT_BEGIN(&dbs, key, &d);
        BSON_APPEND_UTF8(&d, "name", srv.colls[i]->db);
        BSON_APPEND_INT64(&d, "sizeOnDisk", 0);
        BSON_APPEND_BOOL(&d, "empty", false);
        bson_append_document_end(&dbs, &d);
    }
    bson_append_array_end(reply, &dbs);
    BSON_APPEND_INT64(reply, "totalSize", 0);
    ok(reply);
}

/* ---- change events ---- */

/* An event's operationType, wallTime and ns (coll NULL: {db} only, as
 * dropDatabase's), in an allocation with `room` bytes more for what
 * follows: the oplog keeps it as long as the entry, and grown by doubling
 * a 1 KiB document's event would hold 2 KiB. */
static bson_t *event_sized(const char *op, const char *db, const char *coll,
                           size_t room)
{
    bson_t *e = bson_sized_new(room + 256 + strlen(db) +
                               (coll ? strlen(coll) : 0)),
           ns;
    BSON_APPEND_UTF8(e, "operationType", op);
    BSON_APPEND_DATE_TIME(e, "wallTime", (int64_t)time(NULL) * 1000);
    BSON_APPEND_DOCUMENT_BEGIN(e, "ns", &ns);
    BSON_APPEND_UTF8(&ns, "db", db);
    if (coll)
        BSON_APPEND_UTF8(&ns, "coll", coll);
    bson_append_document_end(e, &ns);
    return e;
}

static bson_t *event_base(const char *op, const char *db, const char *coll)
{
    return event_sized(op, db, coll, 0);
}

static void document_key(bson_t *e, const bson_value_t *id)
{
    bson_t k;
    BSON_APPEND_DOCUMENT_BEGIN(e, "documentKey", &k);
    BSON_APPEND_VALUE(&k, "_id", id);
    bson_append_document_end(e, &k);
}

static void emit_doc_event(const char *op, const char *db, const char *coll,
                           const bson_value_t *id, const bson_t *full,
                           const bson_t *description)
{
    size_t room =
        64 + (full ? full->len : 0) + (description ? description->len : 0);
    bson_t *e = event_sized(op, db, coll, room);
    document_key(e, id);
    if (full)
        BSON_APPEND_DOCUMENT(e, "fullDocument", full);
    if (description)
        BSON_APPEND_DOCUMENT(e, "updateDescription", description);
    oplog_append(db, coll, op, e);
}

/* ---- writes ---- */

struct write_result {
    int64_t n, modified;
    bson_t errors, upserted;
    int nerrors, nupserted;
};

static void write_error(struct write_result *r, int index, int code,
                        const char *msg)
{
    char key[16];
    bson_t e;
    snprintf(key, sizeof key, "%d", r->nerrors++);
    BSON_APPEND_DOCUMENT_BEGIN(&r->errors, key, &e);
    BSON_APPEND_INT32(&e, "index", index);
    BSON_APPEND_INT32(&e, "code", code);
    BSON_APPEND_UTF8(&e, "errmsg", msg);
    bson_append_document_end(&r->errors, &e);
}

static void write_reply(struct write_result *r, bool with_modified,
                        bson_t *reply)
{
    BSON_APPEND_INT32(reply, "n", (int32_t)r->n); /* drivers read int32 */
    if (with_modified)
        BSON_APPEND_INT32(reply, "nModified", (int32_t)r->modified);
    if (r->nupserted)
        BSON_APPEND_ARRAY(reply, "upserted", &r->upserted);
    if (r->nerrors)
        BSON_APPEND_ARRAY(reply, "writeErrors", &r->errors);
    ok(reply);
    bson_destroy(&r->errors);
    bson_destroy(&r->upserted);
}

static bool ordered(const bson_t *cmd)
{
    bson_iter_t it;
    return !bson_iter_init_find(&it, cmd, "ordered") || bson_iter_as_bool(&it);
}

/* The doc with an _id first (a new ObjectId when it had none). */
static bson_t *with_id(const bson_t *doc)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id"))
        return bson_copy(doc);
    bson_t *out = bson_new();
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    BSON_APPEND_OID(out, "_id", &oid);
    bson_concat(out, doc);
    return out;
}

static void insert(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = text_of(cmd, "insert");
    bson_t docs;
    bson_iter_t it;
    struct write_result r = {0};
    bson_init(&r.errors);
    bson_init(&r.upserted);
    struct collection *c = coll_get(db, name ? name : "");
    int index = 0;
    if (doc_of(cmd, "documents", &docs) && bson_iter_init(&it, &docs))
        while (bson_iter_next(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_t d;
            bson_iter_document(&it, &len, &data);
            bson_init_static(&d, data, len);
            bson_t *doc = with_id(&d);
            bson_iter_t id;
            bson_iter_init_find(&id, doc, "_id");
            bson_value_t idv;
            bson_value_copy(bson_iter_value(&id), &idv);
            struct mongo_error e = {0};
            if (coll_lookup(c, &idv, NULL))
                index_duplicate_id(c, &idv, &e);
            if (!e.code && index_check(c, doc, NULL, &e) &&
                coll_insert(c, doc)) {
                emit_doc_event("insert", db, name, &idv, doc, NULL);
                r.n++;
            } else {
                bson_destroy(doc);
                write_error(&r, index, e.code, e.msg);
                if (ordered(cmd)) {
                    bson_value_destroy(&idv);
                    break;
                }
            }
            bson_value_destroy(&idv);
            index++;
        }
    write_reply(&r, false, reply);
}

enum update_result write_update(struct collection *c, size_t at,
                                const struct update *u, int matched,
                                struct mongo_error *e)
{
    struct doc *d = &c->docs[at];
    bson_t *next = NULL, desc = BSON_INITIALIZER;
    enum update_result res =
        update_apply(u, d->bson, matched, false, &next, &desc, e);
    if (res != UPDATE_FAILED && res != UPDATE_NOOP &&
        !index_check(c, next, &d->id, e))
        res = UPDATE_FAILED;
    if (res == UPDATE_FAILED || res == UPDATE_NOOP) {
        if (next)
            bson_destroy(next);
        bson_destroy(&desc);
        return res;
    }
    doc_replace(c, at, next);
    if (res == UPDATE_CHANGED)
        emit_doc_event("update", c->db, c->name, &d->id, NULL, &desc);
    else
        emit_doc_event("replace", c->db, c->name, &d->id, next, NULL);
    bson_destroy(&desc);
    return res;
}

bool write_upsert(struct collection *c, const bson_t *query,
                  const struct update *u, bson_value_t *id,
                  struct mongo_error *e)
{
    bson_t empty = BSON_INITIALIZER;
    bson_t *doc = update_upsert(u, query ? query : &empty, e);
    bson_iter_t it;
    if (!doc)
        return false;
    if (!bson_iter_init_find(&it, doc, "_id")) { /* update_upsert adds one */
        mongo_error_set(e, 1, "InternalError", "an upsert made no _id");
        bson_destroy(doc);
        return false;
    }
    bson_value_copy(bson_iter_value(&it), id);
    bool taken = coll_lookup(c, id, NULL) != NULL;
    if (taken)
        index_duplicate_id(c, id, e);
    if (taken || !index_check(c, doc, NULL, e)) {
        bson_value_destroy(id);
        bson_destroy(doc);
        return false;
    }
    bson_t *copy = bson_copy(doc);
    coll_insert(c, doc);
    emit_doc_event("insert", c->db, c->name, id, copy, NULL);
    bson_destroy(copy);
    return true;
}

void write_delete(struct collection *c, const size_t *at, size_t n)
{
    for (size_t k = 0; k < n; k++) /* the events in the collection's order */
        emit_doc_event("delete", c->db, c->name, &c->docs[at[k]].id, NULL,
                       NULL);
    for (size_t k = n; k-- > 0;) /* from the end: positions stay put */
        coll_remove_at(c, at[k]);
}

/* Runs one statement of an update command: the update language is
 * update.c's, the filter match.c's; false when it failed. As MongoDB,
 * the update is read before the filter. */
static bool update_statement(struct collection *c, const bson_t *one,
                             int index, struct write_result *r)
{
    bson_iter_t flag, it;
    bool multi =
        bson_iter_init_find(&flag, one, "multi") && bson_iter_as_bool(&flag);
    bool ups =
        bson_iter_init_find(&flag, one, "upsert") && bson_iter_as_bool(&flag);
    bson_t q, filters;
    struct mongo_error e = {0};
    if (!doc_of(one, "q", &q) || !bson_iter_init_find(&it, one, "u")) {
        write_error(r, index, 9, "update needs q and u");
        return false;
    }
    struct update *u =
        update_parse(bson_iter_value(&it),
                     doc_of(one, "arrayFilters", &filters) ? &filters : NULL,
                     &e);
    if (u && multi && update_is_replacement(u)) {
        mongo_error_set(&e, 9, "FailedToParse",
                        "multi update is not supported for replacement-style "
                        "update");
        update_free(u);
        u = NULL;
    }
    struct match *m =
        u && query_collation_ok(one, &e) ? match_parse(&q, &e) : NULL;
    if (!m) {
        update_free(u);
        write_error(r, index, e.code, e.msg);
        return false;
    }
    size_t n;
    int *where;
    size_t *at = query_select(c, m, NULL, 0, multi ? 0 : 1, &where, &n);
    bool good = true;
    for (size_t k = 0; good && k < n; k++) {
        enum update_result res = write_update(c, at[k], u, where[k], &e);
        good = res != UPDATE_FAILED;
        r->modified += res == UPDATE_CHANGED || res == UPDATE_REPLACED;
    }
    if (good && !n && ups) {
        bson_value_t id;
        good = write_upsert(c, &q, u, &id, &e);
        if (good) {
            char key[16];
            bson_t up;
            snprintf(key, sizeof key, "%d", r->nupserted++);
            BSON_APPEND_DOCUMENT_BEGIN(&r->upserted, key, &up);
            BSON_APPEND_INT32(&up, "index", index);
            BSON_APPEND_VALUE(&up, "_id", &id);
            bson_append_document_end(&r->upserted, &up);
            bson_value_destroy(&id);
            r->n++;
        }
    }
    free(at);
    free(where);
    match_free(m);
    update_free(u);
    if (!good) {
        write_error(r, index, e.code, e.msg);
        return false;
    }
    r->n += (int64_t)n;
    return true;
}

typedef bool (*statement_fn)(struct collection *c, const bson_t *one,
                             int index, struct write_result *r);

/* Runs each statement of the write command's list `field` (its
 * documents, `what` each is called in errors) in turn, stopping at the
 * first that fails when the command is ordered, and answers. */
static void run_statements(const bson_t *cmd, const char *field,
                           const char *what, struct collection *c,
                           statement_fn run, bool upserts, bson_t *reply)
{
    bson_t list;
    bson_iter_t it;
    struct write_result r = {0};
    bson_init(&r.errors);
    bson_init(&r.upserted);
    int index = 0;
    if (doc_of(cmd, field, &list) && bson_iter_init(&it, &list))
        while (bson_iter_next(&it)) {
            bson_t one;
            uint32_t len;
            const uint8_t *data;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
                char msg[64];
                snprintf(msg, sizeof msg, "each %s must be a document", what);
                write_error(&r, index++, 9, msg);
                if (ordered(cmd))
                    break;
                continue;
            }
            bson_iter_document(&it, &len, &data);
            bson_init_static(&one, data, len);
            if (!run(c, &one, index++, &r) && ordered(cmd))
                break;
        }
    write_reply(&r, upserts, reply);
}

static void update(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = text_of(cmd, "update");
    run_statements(cmd, "updates", "update", coll_get(db, name ? name : ""),
                   update_statement, true, reply);
}

/* Runs one statement of a delete command; false when it failed. */
static bool delete_statement(struct collection *c, const bson_t *one,
                             int index, struct write_result *r)
{
    bson_t q;
    bson_iter_t lim;
    struct mongo_error e = {0};
    int64_t limit =
        bson_iter_init_find(&lim, one, "limit") ? bson_iter_as_int64(&lim) : 0;
    if (!doc_of(one, "q", &q)) {
        write_error(r, index, 9, "delete needs a q document");
        return false;
    }
    struct match *m = query_collation_ok(one, &e) ? match_parse(&q, &e) : NULL;
    if (!m) {
        write_error(r, index, e.code, e.msg);
        return false;
    }
    size_t n = 0;
    size_t *at =
        c ? query_select(c, m, NULL, 0, limit == 1 ? 1 : 0, NULL, &n) : NULL;
    if (n)
        write_delete(c, at, n);
    r->n += (int64_t)n;
    free(at);
    match_free(m);
    return true;
}

static void delete_docs(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = text_of(cmd, "delete");
    run_statements(cmd, "deletes", "delete", coll_find(db, name ? name : ""),
                   delete_statement, false, reply);
}

/* A collection goes, with its drop event. */
static void drop_collection(const char *db, const char *name)
{
    coll_drop(db, name);
    oplog_append(db, name, "drop", event_base("drop", db, name));
}

static void drop(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = text_of(cmd, "drop");
    if (!name || !coll_find(db, name)) {
        reply_error(reply, 26, "NamespaceNotFound", "ns not found");
        return;
    }
    drop_collection(db, name);
    ok(reply);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* As MongoDB: a drop event for each collection (in name order), then a
 * dropDatabase event whose ns is {db} only, the oplog entry's collection
 * ""; a database without collections answers ok, with no event. */
static void drop_database(const char *db, bson_t *reply)
{
    char **names = calloc(srv.ncolls + 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < srv.ncolls; i++)
        if (!strcmp(srv.colls[i]->db, db))
            names[n++] = strdup(srv.colls[i]->name);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        drop_collection(db, names[i]);
        free(names[i]);
    }
    free(names);
    if (n)
        oplog_append(db, "", "dropDatabase",
                     event_base("dropDatabase", db, NULL));
    ok(reply);
}

static void rename_collection(const bson_t *cmd, bson_t *reply)
{
    const char *from = text_of(cmd, "renameCollection"),
               *to = text_of(cmd, "to");
    bson_iter_t it;
    bool drop_target =
        bson_iter_init_find(&it, cmd, "dropTarget") && bson_iter_as_bool(&it);
    const char *fd = from ? strchr(from, '.') : NULL,
               *td = to ? strchr(to, '.') : NULL;
    if (!fd || !td) {
        reply_error(reply, 73, "InvalidNamespace",
                    "renameCollection needs "
                    "db.collection names");
        return;
    }
    char *fdb = strndup(from, (size_t)(fd - from)),
         *tdb = strndup(to, (size_t)(td - to));
    struct collection *c = coll_find(fdb, fd + 1);
    if (!strcmp(from, to)) { /* dropTarget would drop the source itself */
        reply_error(reply, 20, "IllegalOperation",
                    "Can't rename a collection to itself");
    } else if (!c) {
        reply_error(reply, 26, "NamespaceNotFound",
                    "source namespace does "
                    "not exist");
    } else if (coll_find(tdb, td + 1) && !drop_target) {
        reply_error(reply, 48, "NamespaceExists", "target namespace exists");
    } else {
        /* as MongoDB 4.2 on: the target dropped without a drop event of
         * its own (SERVER-53478); the rename event, which names it in
         * `to`, invalidates its streams */
        if (coll_find(tdb, td + 1))
            coll_drop(tdb, td + 1);
        bson_t *e = event_base("rename", fdb, fd + 1), t;
        BSON_APPEND_DOCUMENT_BEGIN(e, "to", &t);
        BSON_APPEND_UTF8(&t, "db", tdb);
        BSON_APPEND_UTF8(&t, "coll", td + 1);
        bson_append_document_end(e, &t);
        coll_rename(c, tdb, td + 1);
        oplog_append(fdb, fd + 1, "rename", e);
        ok(reply);
    }
    free(fdb);
    free(tdb);
}

/* ---- test-only commands ---- */

static void fault(const bson_t *cmd, bson_t *reply)
{
    const char *what = text_of(cmd, "sluiceFault");
    bson_iter_t it;
    int64_t n =
        bson_iter_init_find(&it, cmd, "count") ? bson_iter_as_int64(&it) : 1;
    if (!what) {
        reply_error(reply, 2, "BadValue", "sluiceFault needs a name");
    } else if (!strcmp(what, "truncateOplog")) {
        oplog_truncate();
        ok(reply);
    } else if (!strcmp(what, "failCommands")) {
        const char *mode = text_of(cmd, "mode");
        if (!mode)
            mode = "retryable";
        if (strcmp(mode, "network") && strcmp(mode, "retryable") &&
            strcmp(mode, "lostReply")) {
            reply_error(reply, 2, "BadValue",
                        "failCommands mode '%s': network, retryable or "
                        "lostReply",
                        mode);
            return;
        }
        srv.faults.fail_count = (int)n;
        srv.faults.fail_network = !strcmp(mode, "network");
        srv.faults.fail_after = !strcmp(mode, "lostReply");
        ok(reply);
    } else if (!strcmp(what, "latency")) {
        srv.faults.latency_ms = bson_iter_init_find(&it, cmd, "ms")
                                    ? (int)bson_iter_as_int64(&it)
                                    : 0;
        ok(reply);
    } else if (!strcmp(what, "closeConnections")) {
        __atomic_add_fetch(&srv.faults.close_generation, 1, __ATOMIC_RELEASE);
        ok(reply);
    } else if (!strcmp(what, "refuseConnections")) {
        /* as a server that went away: every connection closes once this
         * is answered, and until `ms` have passed the port refuses new
         * ones (net.c closes the listener) and any command that still
         * arrives closes its connection unanswered */
        int64_t ms =
            bson_iter_init_find(&it, cmd, "ms") ? bson_iter_as_int64(&it) : -1;
        if (ms < 0 || ms > 3600000) {
            reply_error(reply, 2, "BadValue",
                        "refuseConnections needs ms, from 0 to 3600000");
        } else {
            __atomic_store_n(&srv.faults.refuse_until_ms, net_now_ms() + ms,
                             __ATOMIC_RELAXED);
            __atomic_add_fetch(&srv.faults.close_generation, 1,
                               __ATOMIC_RELEASE);
            ok(reply);
        }
    } else {
        reply_error(reply, 2, "BadValue",
                    "unknown fault '%s': truncateOplog, failCommands, "
                    "latency, closeConnections, refuseConnections",
                    what);
    }
}

/* Synthetic documents: {_id, n, pad} of about `size` bytes, with _ids of
 * the given type in increasing order, without change events (a seed). */
void generate(const char *db, const char *coll, int64_t count, int64_t size,
              const char *id_type, int64_t start)
{
    struct collection *c = coll_get(db, coll);
    size_t pad = size > 48 ? (size_t)size - 48 : 1;
    char *text = malloc(pad + 1);
    memset(text, 'x', pad);
    text[pad] = '\0';
    bson_oid_t oid;
    for (int64_t k = 0; k < count; k++) {
        bson_t *d = bson_new();
        int64_t n = start + k;
        if (!strcmp(id_type, "int")) {
            BSON_APPEND_INT64(d, "_id", n);
        } else if (!strcmp(id_type, "string")) {
            char s[32];
            snprintf(s, sizeof s, "key-%012lld", (long long)n);
            BSON_APPEND_UTF8(d, "_id", s);
        } else {
            uint8_t bytes[12] = {0};
            uint32_t secs = 1700000000u + (uint32_t)(n / 1000);
            bytes[0] = (uint8_t)(secs >> 24);
            bytes[1] = (uint8_t)(secs >> 16);
            bytes[2] = (uint8_t)(secs >> 8);
            bytes[3] = (uint8_t)secs;
            for (int b = 0; b < 8; b++)
                bytes[4 + b] = (uint8_t)((uint64_t)n >> (8 * (7 - b)));
            bson_oid_init_from_data(&oid, bytes);
            BSON_APPEND_OID(d, "_id", &oid);
        }
        BSON_APPEND_INT64(d, "n", n);
        BSON_APPEND_UTF8(d, "pad", text);
        if (!coll_append(c, d))
            bson_destroy(d);
    }
    free(text);
}

static void generate_cmd(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *coll = text_of(cmd, "sluiceGenerate");
    const char *id_type = text_of(cmd, "idType");
    bson_iter_t it;
    int64_t count =
        bson_iter_init_find(&it, cmd, "count") ? bson_iter_as_int64(&it) : 0;
    int64_t size =
        bson_iter_init_find(&it, cmd, "size") ? bson_iter_as_int64(&it) : 100;
    int64_t start =
        bson_iter_init_find(&it, cmd, "start") ? bson_iter_as_int64(&it) : 0;
    if (!coll) {
        reply_error(reply, 2, "BadValue", "sluiceGenerate needs a collection");
        return;
    }
    generate(db, coll, count, size, id_type ? id_type : "objectId", start);
    BSON_APPEND_INT64(reply, "n", count);
    ok(reply);
}

/* ---- dispatch ---- */

typedef void (*handler_fn)(const bson_t *cmd, const char *db, bson_t *reply);

static void h_hello(const bson_t *c, const char *d, bson_t *r)
{
    (void)c;
    (void)d;
    hello(r);
}
static void h_ping(const bson_t *c, const char *d, bson_t *r)
{
    (void)c;
    (void)d;
    ok(r);
}
static void h_build(const bson_t *c, const char *d, bson_t *r)
{
    (void)c;
    (void)d;
    build_info(r);
}
static void h_dbs(const bson_t *c, const char *d, bson_t *r)
{
    (void)c;
    (void)d;
    list_databases(r);
}
static void h_rename(const bson_t *c, const char *d, bson_t *r)
{
    (void)d;
    rename_collection(c, r);
}
static void h_fault(const bson_t *c, const char *d, bson_t *r)
{
    (void)d;
    fault(c, r);
}

static void h_create(const bson_t *c, const char *d, bson_t *r)
{
    const char *name = text_of(c, "create");
    if (name && coll_find(d, name)) {
        reply_error(r, 48, "NamespaceExists", "Collection already exists");
        return;
    }
    coll_get(d, name ? name : "");
    ok(r);
}

static void h_drop_database(const bson_t *c, const char *d, bson_t *r)
{
    (void)c;
    drop_database(d, r);
}

static const struct {
    const char *name;
    handler_fn fn;
    bool exempt; /* from injected failures: monitoring and faults */
} commands[] = {
    {"hello", h_hello, true},
    {"isMaster", h_hello, true},
    {"ismaster", h_hello, true},
    {"ping", h_ping, false},
    {"buildInfo", h_build, false},
    {"buildinfo", h_build, false},
    {"endSessions", txn_cmd_end_sessions, true},
    {"commitTransaction", txn_cmd_commit, false},
    {"abortTransaction", txn_cmd_abort, false},
    {"killAllSessions", h_ping, true},
    {"listDatabases", h_dbs, false},
    {"listCollections", cmd_list_collections, false},
    {"count", cmd_count, false},
    {"distinct", cmd_distinct, false},
    {"findAndModify", cmd_find_and_modify, false},
    {"findandmodify", cmd_find_and_modify, false},
    {"createIndexes", cmd_create_indexes, false},
    {"listIndexes", cmd_list_indexes, false},
    {"dropIndexes", cmd_drop_indexes, false},
    {"find", cmd_find, false},
    {"getMore", cmd_get_more, false},
    {"killCursors", cmd_kill_cursors, false},
    {"aggregate", cmd_aggregate, false},
    {"insert", insert, false},
    {"update", update, false},
    {"delete", delete_docs, false},
    {"drop", drop, false},
    {"create", h_create, false},
    {"dropDatabase", h_drop_database, false},
    {"renameCollection", h_rename, false},
    {"sluiceFault", h_fault, true},
    {"sluiceGenerate", generate_cmd, true},
};

static void append_cluster_time(bson_t *reply)
{
    uint32_t t, i;
    cluster_time(&t, &i);
    bson_t ct, sig;
    uint8_t hash[20] = {0};
    BSON_APPEND_DOCUMENT_BEGIN(reply, "$clusterTime", &ct);
    BSON_APPEND_TIMESTAMP(&ct, "clusterTime", t, i);
    BSON_APPEND_DOCUMENT_BEGIN(&ct, "signature", &sig);
    BSON_APPEND_BINARY(&sig, "hash", BSON_SUBTYPE_BINARY, hash, 20);
    BSON_APPEND_INT64(&sig, "keyId", 0);
    bson_append_document_end(&ct, &sig);
    bson_append_document_end(reply, &ct);
    BSON_APPEND_TIMESTAMP(reply, "operationTime", t, i);
}

bool command_run(const bson_t *cmd, bson_t *reply)
{
    bson_iter_t it;
    const char *db = text_of(cmd, "$db");
    if (!db)
        db = "admin";
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it)) {
        reply_error(reply, 2, "BadValue", "an empty command");
        return true;
    }
    const char *name = bson_iter_key(&it);
    int latency;
    pthread_mutex_lock(&srv.lock);
    size_t found = sizeof commands / sizeof *commands;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(commands[i].name, name))
            found = i;
    bool known = found < sizeof commands / sizeof *commands;
    bool fail = known && !commands[found].exempt && srv.faults.fail_count > 0;
    if (fail)
        srv.faults.fail_count--;
    bool lose_reply = fail && srv.faults.fail_after; /* once it has run */
    if (fail && !lose_reply) {
        bool network = srv.faults.fail_network;
        pthread_mutex_unlock(&srv.lock);
        if (network)
            return false;
        reply_error(reply, 189, "PrimarySteppedDown",
                    "injected by sluiceFault: not primary");
        bson_t labels;
        BSON_APPEND_ARRAY_BEGIN(reply, "errorLabels", &labels);
        BSON_APPEND_UTF8(&labels, "0", "RetryableWriteError");
        BSON_APPEND_UTF8(&labels, "1", "ResumableChangeStreamError");
        bson_append_array_end(reply, &labels);
        pthread_mutex_lock(&srv.lock);
        append_cluster_time(reply);
        pthread_mutex_unlock(&srv.lock);
        return true;
    }
    if (known) {
        struct command_ctx ctx;
        if (txn_begin(cmd, name, db, &ctx, reply))
            do {
                scope_active = &ctx.scope;
                commands[found].fn(cmd, db, reply);
                scope_active = NULL;
            } while (!txn_end(&ctx, reply));
    } else
        reply_error(reply, 59, "CommandNotFound",
                    "no such command: '%s' (the sluice test server "
                    "implements a subset; see its README)",
                    name);
    append_cluster_time(reply);
    latency = srv.faults.latency_ms;
    bool grown = oplog_take_growth();
    pthread_mutex_unlock(&srv.lock);
    if (grown)
        pthread_cond_broadcast(&srv.grew);
    if (latency > 0)
        usleep((useconds_t)latency * 1000);
    return !lose_reply;
}
