/* test_mongo_server.c: the test server driven by libmongoc as an application
 * drives MongoDB: the handshake and server commands, writes (with document
 * sequences; documents in and out at either end and in the middle of a
 * collection), finds with filters, sorts, limits, batches and projections,
 * counts, $sample, listings, change streams (every change type,
 * updateLookup, resuming from a token with a new client,
 * startAtOperationTime, database streams with $match, drop and rename with
 * invalidate; dropDatabase's events, $match in the query language, an
 * invalidate it filters out, a rename onto a watched collection), the update
 * language (dotted paths, array operators, positional updates, arrayFilters,
 * upserts, pipelines, errors and updateDescription), injected faults,
 * seeding, generation, and a clean stop on SIGTERM; transactions through
 * mongoc_client_session_t (commit, abort, their change events, write
 * conflicts), a retryable write whose answer was lost applied once, and
 * --dbpath across a SIGKILL. */
#include <arpa/inet.h>
#include <errno.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"

static pid_t server_pid;
static int server_port;
static char uri_text[256];

static void start_server(const char *extra1, const char *extra2)
{
    int out[2];
    CHECK(pipe(out) == 0);
    server_pid = fork();
    if (server_pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(MONGO_SERVER, MONGO_SERVER, "--port", "0", "--oplog-size",
              "1000", extra1 ? extra1 : NULL, extra2, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[128] = "";
    int port = 0;
    if (fgets(line, sizeof line, f))
        sscanf(line, "listening on 127.0.0.1:%d", &port);
    CHECK(port > 0);
    server_port = port;
    snprintf(uri_text, sizeof uri_text,
             "mongodb://127.0.0.1:%d/?replicaSet=rs0&serverSelectionTimeoutMS="
             "5000&heartbeatFrequencyMS=500",
             port);
    fclose(f);
}

static int stop_server(void)
{
    int status = -1;
    kill(server_pid, SIGTERM);
    waitpid(server_pid, &status, 0);
    return status;
}

static mongoc_client_t *client(void)
{
    mongoc_client_t *c = mongoc_client_new(uri_text);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    return c;
}

#define OK(expr)                                                              \
    do {                                                                      \
        bson_error_t e_;                                                      \
        bson_error_t *err_ = &e_;                                             \
        (void)err_;                                                           \
        if (!(expr)) {                                                        \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,     \
                    e_.message);                                              \
            test_failures++;                                                  \
        }                                                                     \
    } while (0)
#define ERR err_

static bson_t *json(const char *text)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)text, -1, &e);
    if (!b)
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.message);
    return b;
}

/* The _ids (as int64) a cursor yields, as "1,2,3". */
static char *ids_of(mongoc_cursor_t *cur)
{
    static char out[4096];
    const bson_t *doc;
    size_t used = 0;
    out[0] = '\0';
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, "_id"))
            used += (size_t)snprintf(out + used, sizeof out - used, "%s%lld",
                                     used ? "," : "",
                                     (long long)bson_iter_as_int64(&it));
    }
    bson_error_t e;
    if (mongoc_cursor_error(cur, &e))
        snprintf(out, sizeof out, "error: %s", e.message);
    mongoc_cursor_destroy(cur);
    return out;
}

static void handshake_and_server_commands(void)
{
    mongoc_client_t *c = client();
    bson_t reply;
    bson_t *cmd = json("{\"ping\": 1}");
    OK(mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, ERR));
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_server_description_t *sd =
        mongoc_client_select_server(c, true, NULL, NULL);
    CHECK(sd != NULL);
    if (sd) {
        CHECK_STR(mongoc_server_description_type(sd), "RSPrimary");
        mongoc_server_description_destroy(sd);
    }
    cmd = json("{\"buildInfo\": 1}");
    OK(mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, ERR));
    bson_iter_t it;
    CHECK(bson_iter_init_find(&it, &reply, "sluiceTestServer"));
    CHECK(bson_iter_init_find(&it, &reply, "operationTime"));
    CHECK(bson_iter_init_find(&it, &reply, "$clusterTime"));
    bson_destroy(&reply);
    bson_destroy(cmd);
    cmd = json("{\"noSuchCommand\": 1}");
    CHECK(!mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, NULL));
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_client_destroy(c);
}

static void writes_and_finds(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll =
        mongoc_client_get_collection(c, "shop", "orders");
    bson_t *docs[20];
    for (int i = 0; i < 20; i++) {
        char text[64];
        snprintf(text, sizeof text, "{\"_id\": %d, \"n\": %d, \"s\": \"x\"}",
                 i, i);
        docs[i] = json(text);
    }
    OK(mongoc_collection_insert_many(coll, (const bson_t **)docs, 20, NULL,
                                     NULL, ERR));
    for (int i = 0; i < 20; i++)
        bson_destroy(docs[i]);
    bson_t *dup = json("{\"_id\": 3}");
    CHECK(!mongoc_collection_insert_one(coll, dup, NULL, NULL, NULL));
    bson_destroy(dup);
    bson_t *oid_doc = json("{\"no_id\": true}");
    mongoc_collection_t *other =
        mongoc_client_get_collection(c, "shop", "other");
    OK(mongoc_collection_insert_one(other, oid_doc, NULL, NULL, ERR));
    bson_destroy(oid_doc);

    bson_t *f = json("{\"_id\": {\"$gte\": 5, \"$lt\": 9}}");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, f, NULL, NULL)),
              "5,6,7,8");
    bson_destroy(f);
    f = json("{\"_id\": {\"$in\": [2, 17, 99]}}");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, f, NULL, NULL)),
              "2,17");
    bson_destroy(f);
    f = json("{\"_id\": 4}");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, f, NULL, NULL)),
              "4");
    bson_destroy(f);
    f = json("{\"_id\": {\"$gt\": 14}}");
    bson_t *o = json("{\"sort\": {\"_id\": -1}, \"limit\": 3}");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, f, o, NULL)),
              "19,18,17");
    bson_destroy(o);
    bson_destroy(f);
    /* small batches: several getMores */
    f = json("{}");
    o = json("{\"batchSize\": 3}");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, f, o, NULL)),
              "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19");
    bson_destroy(o);
    /* projection */
    o = json("{\"projection\": {\"n\": 1, \"_id\": 0}, \"limit\": 1}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, f, o, NULL);
    const bson_t *doc;
    CHECK(mongoc_cursor_next(cur, &doc));
    if (doc) {
        char *text = bson_as_relaxed_extended_json(doc, NULL);
        CHECK_STR(text, "{ \"n\" : 0 }");
        bson_free(text);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(o);
    /* a cursor given up early: killCursors */
    o = json("{\"batchSize\": 2}");
    cur = mongoc_collection_find_with_opts(coll, f, o, NULL);
    CHECK(mongoc_cursor_next(cur, &doc));
    mongoc_cursor_destroy(cur);
    bson_destroy(o);
    /* an operator MongoDB does not know is an error, as there */
    bson_t *bad = json("{\"n\": {\"$foo\": 3}}");
    cur = mongoc_collection_find_with_opts(coll, bad, NULL, NULL);
    CHECK(!mongoc_cursor_next(cur, &doc));
    bson_error_t e;
    CHECK(mongoc_cursor_error(cur, &e));
    CHECK(e.code == 2);
    CHECK_STR(e.message, "unknown operator: $foo");
    mongoc_cursor_destroy(cur);
    bson_destroy(bad);

    /* updates */
    bson_t *
        sel = json("{\"_id\": 1}"),
       *upd = json(
           "{\"$set\": {\"s\": \"y\", \"t\": 1}, \"$inc\": {\"n\": 10}, \"$unset\": {\"zz\": \"\"}}");
    OK(mongoc_collection_update_one(coll, sel, upd, NULL, NULL, ERR));
    bson_destroy(upd);
    upd = json("{\"only\": \"this\"}");
    bson_t *sel2 = json("{\"_id\": 2}");
    OK(mongoc_collection_replace_one(coll, sel2, upd, NULL, NULL, ERR));
    bson_destroy(upd);
    bson_t *sel3 = json("{\"_id\": 100}");
    upd = json("{\"$set\": {\"new\": true}}");
    bson_t *uopt = json("{\"upsert\": true}"), reply;
    OK(mongoc_collection_update_one(coll, sel3, upd, uopt, &reply, ERR));
    bson_iter_t it;
    CHECK(bson_iter_init_find(&it, &reply, "upsertedId") &&
          bson_iter_as_int64(&it) == 100);
    bson_destroy(&reply);
    bson_destroy(uopt);
    bson_destroy(upd);
    cur = mongoc_collection_find_with_opts(coll, sel, NULL, NULL);
    CHECK(mongoc_cursor_next(cur, &doc));
    if (doc) {
        char *text = bson_as_relaxed_extended_json(doc, NULL);
        CHECK_STR(text,
                  "{ \"_id\" : 1, \"n\" : 11, \"s\" : \"y\", \"t\" : 1 }");
        bson_free(text);
    }
    mongoc_cursor_destroy(cur);
    cur = mongoc_collection_find_with_opts(coll, sel2, NULL, NULL);
    CHECK(mongoc_cursor_next(cur, &doc));
    if (doc) {
        char *text = bson_as_relaxed_extended_json(doc, NULL);
        CHECK_STR(text, "{ \"_id\" : 2, \"only\" : \"this\" }");
        bson_free(text);
    }
    mongoc_cursor_destroy(cur);
    /* deletes */
    OK(mongoc_collection_delete_one(coll, sel3, NULL, NULL, ERR));
    bson_t *many = json("{\"_id\": {\"$gte\": 15}}");
    OK(mongoc_collection_delete_many(coll, many, NULL, &reply, ERR));
    CHECK(bson_iter_init_find(&it, &reply, "deletedCount") &&
          bson_iter_as_int64(&it) == 5);
    bson_destroy(&reply);
    /* counts */
    CHECK(mongoc_collection_count_documents(coll, f, NULL, NULL, NULL, NULL) ==
          15);
    bson_t *range = json("{\"_id\": {\"$lt\": 5}}");
    CHECK(mongoc_collection_count_documents(coll, range, NULL, NULL, NULL,
                                            NULL) == 5);
    CHECK(mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL,
                                                     NULL) == 15);
    /* $sample after $match */
    bson_t *pipeline =
        json("{\"pipeline\": [{\"$match\": {\"_id\": {\"$lt\": 10}}}, "
             "{\"$sample\": {\"size\": 4}}]}");
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL,
                                      NULL);
    int sampled = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        CHECK(bson_iter_init_find(&it, doc, "_id") &&
              bson_iter_as_int64(&it) < 10);
        sampled++;
    }
    CHECK(sampled == 4);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    /* listings */
    mongoc_database_t *db = mongoc_client_get_database(c, "shop");
    char **names =
        mongoc_database_get_collection_names_with_opts(db, NULL, NULL);
    int found = 0;
    for (char **n = names; n && *n; n++)
        found += !strcmp(*n, "orders") || !strcmp(*n, "other");
    CHECK(found == 2);
    bson_strfreev(names);
    names = mongoc_client_get_database_names_with_opts(c, NULL, NULL);
    found = 0;
    for (char **n = names; n && *n; n++)
        found += !strcmp(*n, "shop");
    CHECK(found == 1);
    bson_strfreev(names);
    mongoc_database_destroy(db);
    bson_destroy(range);
    bson_destroy(many);
    bson_destroy(sel);
    bson_destroy(sel2);
    bson_destroy(sel3);
    bson_destroy(f);
    mongoc_collection_destroy(other);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* The next change event of a stream, waiting up to ~3 s. */
static bool next_change(mongoc_change_stream_t *s, const bson_t **doc)
{
    for (int i = 0; i < 10; i++)
        if (mongoc_change_stream_next(s, doc))
            return true;
    return false;
}

static const char *field(const bson_t *doc, const char *path)
{
    static char out[256];
    bson_iter_t it, f;
    out[0] = '\0';
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &f)) {
        if (BSON_ITER_HOLDS_UTF8(&f))
            snprintf(out, sizeof out, "%s", bson_iter_utf8(&f, NULL));
        else if (BSON_ITER_HOLDS_NUMBER(&f))
            snprintf(out, sizeof out, "%lld",
                     (long long)bson_iter_as_int64(&f));
        else if (BSON_ITER_HOLDS_NULL(&f))
            snprintf(out, sizeof out, "null");
        else
            snprintf(out, sizeof out, "present");
    }
    return out;
}

/* The document with _id `id`, as relaxed extended JSON. */
static char *doc_text(mongoc_collection_t *coll, int id)
{
    static char out[1024];
    char sel[64];
    const bson_t *doc;
    snprintf(sel, sizeof sel, "{\"_id\": %d}", id);
    bson_t *f = json(sel);
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(coll, f, NULL, NULL);
    snprintf(out, sizeof out, "(none)");
    if (mongoc_cursor_next(cur, &doc)) {
        char *text = bson_as_relaxed_extended_json(doc, NULL);
        snprintf(out, sizeof out, "%s", text);
        bson_free(text);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    return out;
}

/* Runs one update statement; false with the error. */
static bool update_with(mongoc_collection_t *coll, const char *filter,
                        const char *update, const char *opts, bool many,
                        bson_t *reply, bson_error_t *e)
{
    bson_t *f = json(filter), *u = json(update), *o = opts ? json(opts) : NULL;
    bool ok = many ? mongoc_collection_update_many(coll, f, u, o, reply, e)
                   : mongoc_collection_update_one(coll, f, u, o, reply, e);
    bson_destroy(f);
    bson_destroy(u);
    if (o)
        bson_destroy(o);
    return ok;
}

/* The update language through libmongoc: dotted paths, array operators,
 * the positional $, $[] and arrayFilters, filters on other fields than
 * _id, upserts with $setOnInsert, a pipeline, errors with MongoDB's codes
 * and the updateDescription of the change events. */
static void update_language(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "up", "docs");
    bson_t *empty = json("{}"), *opts = json("{\"maxAwaitTimeMS\": 300}");
    mongoc_change_stream_t *s = mongoc_collection_watch(coll, empty, opts);
    bson_t *d = json("{\"_id\": 1, \"a\": {\"b\": 1}, \"arr\": [1, 2, 3], "
                     "\"grades\": [{\"g\": 80}, {\"g\": 85}]}");
    OK(mongoc_collection_insert_one(coll, d, NULL, NULL, ERR));
    bson_destroy(d);
    d = json("{\"_id\": 2, \"kind\": \"x\", \"n\": 1}");
    OK(mongoc_collection_insert_one(coll, d, NULL, NULL, ERR));
    bson_destroy(d);
    bson_t reply;
    bson_error_t e;
    bson_iter_t it;

    CHECK(update_with(coll, "{\"_id\": 1}",
                      "{\"$set\": {\"a.c\": 2}, \"$push\": {\"arr\": 4}}",
                      NULL, false, NULL, &e));
    CHECK(update_with(coll, "{\"grades.g\": 85}",
                      "{\"$set\": {\"grades.$.top\": true}}", NULL, false,
                      NULL, &e));
    CHECK(update_with(coll, "{\"_id\": 1}",
                      "{\"$inc\": {\"grades.$[low].g\": 5}}",
                      "{\"arrayFilters\": [{\"low.g\": {\"$lt\": 85}}]}",
                      false, NULL, &e));
    CHECK(update_with(coll, "{\"_id\": 1}",
                      "{\"$pull\": {\"arr\": {\"$lt\": 2}}}", NULL, false,
                      NULL, &e));
    CHECK_STR(doc_text(coll, 1),
              "{ \"_id\" : 1, \"a\" : { \"b\" : 1, \"c\" : 2 }, \"arr\" : "
              "[ 2, 3, 4 ], \"grades\" : [ { \"g\" : 85 }, { \"g\" : 85, "
              "\"top\" : true } ] }");
    /* a filter on another field than _id, multi */
    CHECK(update_with(coll, "{\"kind\": \"x\"}",
                      "{\"$mul\": {\"n\": 3}, \"$rename\": {\"kind\": \"k\"}}",
                      NULL, true, &reply, &e));
    CHECK(bson_iter_init_find(&it, &reply, "modifiedCount") &&
          bson_iter_as_int64(&it) == 1);
    bson_destroy(&reply);
    CHECK_STR(doc_text(coll, 2), "{ \"_id\" : 2, \"n\" : 3, \"k\" : \"x\" }");
    /* an upsert built from the filter, $setOnInsert applied */
    CHECK(update_with(
        coll,
        "{\"_id\": 3, \"tag\": \"a tag long enough for a diff smaller than it\"}",
        "{\"$setOnInsert\": {\"made\": true}}", "{\"upsert\": true}", false,
        NULL, &e));
    CHECK_STR(
        doc_text(coll, 3),
        "{ \"_id\" : 3, \"tag\" : \"a tag long enough for a diff smaller than it\", "
        "\"made\" : true }");
    /* a pipeline */
    bson_t *f = json("{\"_id\": 3}"),
           *pipe = json("{\"0\": {\"$set\": {\"n\": {\"$add\": [1, 2]}}}, "
                        "\"1\": {\"$unset\": \"made\"}}");
    OK(mongoc_collection_update_one(coll, f, pipe, NULL, NULL, ERR));
    bson_destroy(pipe);
    bson_destroy(f);
    CHECK_STR(
        doc_text(coll, 3),
        "{ \"_id\" : 3, \"tag\" : \"a tag long enough for a diff smaller than it\", \"n\" : 3 }");
    /* errors carry MongoDB's codes */
    CHECK(!update_with(coll, "{\"_id\": 1}",
                       "{\"$set\": {\"a\": 1}, \"$unset\": {\"a.b\": 1}}",
                       NULL, false, NULL, &e));
    CHECK(e.code == 40);
    CHECK_STR(e.message,
              "Updating the path 'a.b' would create a conflict at 'a'");
    CHECK(!update_with(coll, "{\"_id\": 2}", "{\"$set\": {\"n.x\": 1}}", NULL,
                       false, NULL, &e));
    CHECK(e.code == 28);
    CHECK(!update_with(coll, "{\"_id\": 2}", "{\"$set\": {\"_id\": 9}}", NULL,
                       false, NULL, &e));
    CHECK(e.code == 66);

    /* the change events */
    const bson_t *ev;
    const char *want[] = {"insert", "insert", "update", "update", "update",
                          "update", "update", "insert", "update"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        CHECK(next_change(s, &ev));
        if (!ev)
            break;
        CHECK_STR(field(ev, "operationType"), want[i]);
        if (i == 2) {
            bson_iter_t u, v;
            CHECK(bson_iter_init_find(&u, ev, "updateDescription") &&
                  bson_iter_recurse(&u, &v) &&
                  bson_iter_find(&v, "updatedFields"));
            bson_iter_t fields;
            bson_iter_recurse(&v, &fields);
            CHECK(bson_iter_find(&fields, "a.c") &&
                  bson_iter_as_int64(&fields) == 2);
            bson_iter_recurse(&v, &fields);
            CHECK(bson_iter_find(&fields, "arr.3") &&
                  bson_iter_as_int64(&fields) == 4);
        }
    }
    mongoc_change_stream_destroy(s);
    bson_destroy(empty);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* The error of a command that must fail: its code, and its message in
 * `message`. */
static uint32_t command_error(mongoc_client_t *c, const char *db,
                              const char *cmd_json, char *message, size_t size)
{
    bson_t *cmd = json(cmd_json), reply;
    bson_error_t e = {0};
    bool ok = mongoc_client_command_simple(c, db, cmd, NULL, &reply, &e);
    CHECK(!ok);
    snprintf(message, size, "%s", e.message);
    bson_destroy(&reply);
    bson_destroy(cmd);
    return ok ? 0 : e.code;
}

static char *find_ids(mongoc_collection_t *coll, const char *filter,
                      const char *opts)
{
    bson_t *f = json(filter), *o = opts ? json(opts) : NULL;
    char *out = ids_of(mongoc_collection_find_with_opts(coll, f, o, NULL));
    bson_destroy(f);
    if (o)
        bson_destroy(o);
    return out;
}

static void query_language(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "q", "items");
    bson_t *docs[40];
    for (int i = 0; i < 40; i++) {
        char text[160];
        snprintf(text, sizeof text,
                 "{\"_id\": %d, \"n\": %d, \"s\": \"%c\", \"tags\": [\"t%d\", "
                 "\"all\"], \"sub\": {\"k\": %d}}",
                 i, i % 5, 'a' + i % 3, i % 4, i % 7);
        docs[i] = json(text);
    }
    OK(mongoc_collection_insert_many(coll, (const bson_t **)docs, 40, NULL,
                                     NULL, ERR));
    for (int i = 0; i < 40; i++)
        bson_destroy(docs[i]);
    /* filters on any field, dotted paths and arrays */
    CHECK_STR(find_ids(coll, "{\"n\": 3, \"_id\": {\"$lt\": 20}}", NULL),
              "3,8,13,18");
    CHECK_STR(find_ids(coll, "{\"sub.k\": {\"$gte\": 6}}", NULL),
              "6,13,20,27,34");
    CHECK_STR(find_ids(coll, "{\"tags\": \"t3\", \"s\": {\"$in\": [\"a\"]}}",
                       NULL),
              "3,15,27,39");
    CHECK_STR(find_ids(coll,
                       "{\"$or\": [{\"n\": 4}, {\"s\": {\"$regex\": \"^C\", "
                       "\"$options\": \"i\"}}], \"_id\": {\"$lt\": 10}}",
                       NULL),
              "2,4,5,8,9");
    CHECK_STR(find_ids(coll, "{\"n\": {\"$gt\": \"a\"}}", NULL), "");
    /* sort, skip, limit, projection */
    CHECK_STR(find_ids(coll, "{\"n\": 0}",
                       "{\"sort\": {\"sub.k\": -1, \"_id\": 1}, \"skip\": 1, "
                       "\"limit\": 4}"),
              "5,25,10,30");
    CHECK_STR(
        find_ids(coll, "{\"n\": 1}",
                 "{\"sort\": {\"s\": 1, \"_id\": -1}, \"batchSize\": 2}"),
        "36,21,6,31,16,1,26,11");
    bson_t *f = json("{\"_id\": 7}"),
           *o = json("{\"projection\": {\"sub.k\": 1, \"s\": 1, \"_id\": 0}}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, f, o, NULL);
    const bson_t *doc;
    CHECK(mongoc_cursor_next(cur, &doc));
    if (doc) {
        char *text = bson_as_relaxed_extended_json(doc, NULL);
        CHECK_STR(text, "{ \"s\" : \"b\", \"sub\" : { \"k\" : 0 } }");
        bson_free(text);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(o);
    bson_destroy(f);
    /* min and max on the _id index, as the source reads partitions */
    CHECK_STR(find_ids(coll, "{\"_id\": {\"$ne\": 5}}",
                       "{\"hint\": {\"_id\": 1}, \"min\": {\"_id\": 5}, "
                       "\"max\": {\"_id\": 9}, \"sort\": {\"_id\": 1}}"),
              "6,7,8");
    /* count, distinct */
    bson_t *filter = json("{\"tags\": \"t0\"}");
    CHECK(mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL,
                                            NULL) == 10);
    bson_destroy(filter);
    bson_t *
        distinct = json(
           "{\"distinct\": \"items\", \"key\": \"s\", \"query\": {\"n\": 2}}"),
       reply;
    OK(mongoc_collection_read_command_with_opts(coll, distinct, NULL, NULL,
                                                &reply, ERR));
    bson_iter_t it;
    char *values = NULL;
    if (bson_iter_init_find(&it, &reply, "values")) {
        bson_t arr;
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        bson_init_static(&arr, data, len);
        values = bson_array_as_json(&arr, NULL);
    }
    CHECK_STR(values, "[ \"a\", \"b\", \"c\" ]");
    bson_free(values);
    bson_destroy(&reply);
    bson_destroy(distinct);
    /* update and delete by filter */
    bson_t *sel = json("{\"n\": 2, \"s\": \"c\"}"),
           *upd = json("{\"$set\": {\"hit\": true}}");
    OK(mongoc_collection_update_many(coll, sel, upd, NULL, &reply, ERR));
    CHECK(bson_iter_init_find(&it, &reply, "matchedCount") &&
          bson_iter_as_int64(&it) == 3);
    bson_destroy(&reply);
    CHECK_STR(find_ids(coll, "{\"hit\": true}", NULL), "2,17,32");
    bson_destroy(upd);
    bson_destroy(sel);
    sel = json("{\"sub.k\": {\"$in\": [0, 1]}}");
    OK(mongoc_collection_delete_many(coll, sel, NULL, &reply, ERR));
    CHECK(bson_iter_init_find(&it, &reply, "deletedCount") &&
          bson_iter_as_int64(&it) == 12);
    bson_destroy(&reply);
    bson_destroy(sel);
    /* findAndModify */
    bson_t *query = json("{\"n\": 4}"), *sort = json("{\"_id\": -1}"),
           *update = json("{\"$inc\": {\"n\": 10}}");
    mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_sort(fam, sort);
    mongoc_find_and_modify_opts_set_update(fam, update);
    mongoc_find_and_modify_opts_set_flags(fam,
                                          MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    OK(mongoc_collection_find_and_modify_with_opts(coll, query, fam, &reply,
                                                   ERR));
    CHECK_STR(field(&reply, "value._id"), "39");
    CHECK_STR(field(&reply, "value.n"), "14");
    CHECK_STR(field(&reply, "lastErrorObject.updatedExisting"), "present");
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(fam);
    bson_destroy(update);
    bson_destroy(sort);
    bson_destroy(query);
    /* errors, with MongoDB's codes */
    char msg[512];
    CHECK(command_error(c, "q",
                        "{\"find\": \"items\", \"filter\": {\"n\": {\"$bad\": "
                        "1}}}",
                        msg, sizeof msg) == 2);
    CHECK_STR(msg, "unknown operator: $bad");
    CHECK(
        command_error(c, "q",
                      "{\"find\": \"items\", \"filter\": {\"s\": {\"$regex\": "
                      "\"(\"}}}",
                      msg, sizeof msg) == 51091);
    CHECK(command_error(c, "q", "{\"find\": \"items\", \"sort\": {\"n\": 0}}",
                        msg, sizeof msg) == 15975);
    CHECK(command_error(c, "q",
                        "{\"find\": \"items\", \"projection\": {\"n\": 1, "
                        "\"s\": 0}}",
                        msg, sizeof msg) == 31254);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

static void indexes(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "q", "people");
    bson_t *
        create = json(
           "{\"createIndexes\": \"people\", \"indexes\": [{\"key\": {\"email\": "
           "1}, \"name\": \"email_1\", \"unique\": true}]}"),
       reply;
    OK(mongoc_collection_write_command_with_opts(coll, create, NULL, &reply,
                                                 ERR));
    CHECK_STR(field(&reply, "numIndexesBefore"), "1");
    CHECK_STR(field(&reply, "numIndexesAfter"), "2");
    bson_destroy(&reply);
    mongoc_cursor_t *cur =
        mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *doc;
    char names[128] = "";
    while (mongoc_cursor_next(cur, &doc)) {
        strncat(names, field(doc, "name"), sizeof names - strlen(names) - 2);
        strcat(names, " ");
    }
    mongoc_cursor_destroy(cur);
    CHECK_STR(names, "_id_ email_1 ");
    bson_t *a = json("{\"_id\": 1, \"email\": \"a@x\"}"),
           *b = json("{\"_id\": 2, \"email\": \"a@x\"}");
    OK(mongoc_collection_insert_one(coll, a, NULL, NULL, ERR));
    bson_error_t e;
    CHECK(!mongoc_collection_insert_one(coll, b, NULL, NULL, &e));
    CHECK(e.code == 11000);
    CHECK_STR(e.message, "E11000 duplicate key error collection: q.people "
                         "index: email_1 dup key: { email: \"a@x\" }");
    char msg[512];
    CHECK(command_error(c, "q",
                        "{\"dropIndexes\": \"people\", \"index\": \"_id_\"}",
                        msg, sizeof msg) == 72);
    bson_t *drop =
        json("{\"dropIndexes\": \"people\", \"index\": \"email_1\"}");
    OK(mongoc_collection_write_command_with_opts(coll, drop, NULL, NULL, ERR));
    OK(mongoc_collection_insert_one(coll, b, NULL, NULL, ERR));
    bson_destroy(drop);
    bson_destroy(a);
    bson_destroy(b);
    bson_destroy(create);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

static void change_streams(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "cs", "items");
    bson_t
        *empty = json("{}"),
        *opts = json(
            "{\"fullDocument\": \"updateLookup\", \"maxAwaitTimeMS\": 300}");
    mongoc_change_stream_t *s = mongoc_collection_watch(coll, empty, opts);
    const bson_t *doc;
    bson_error_t e;
    CHECK(!mongoc_change_stream_error_document(s, &e, NULL));
    bson_t *d = json("{\"_id\": 1, \"v\": 1}");
    OK(mongoc_collection_insert_one(coll, d, NULL, NULL, ERR));
    bson_t *sel = json("{\"_id\": 1}"), *upd = json("{\"$set\": {\"v\": 2}}");
    OK(mongoc_collection_update_one(coll, sel, upd, NULL, NULL, ERR));
    bson_t *rep = json("{\"v\": 3}");
    OK(mongoc_collection_replace_one(coll, sel, rep, NULL, NULL, ERR));
    OK(mongoc_collection_delete_one(coll, sel, NULL, NULL, ERR));
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "insert");
    CHECK_STR(field(doc, "fullDocument.v"), "1");
    CHECK_STR(field(doc, "ns.coll"), "items");
    CHECK_STR(field(doc, "documentKey._id"), "1");
    CHECK_STR(field(doc, "clusterTime"), "present");
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "update");
    CHECK_STR(field(doc, "updateDescription.updatedFields.v"), "2");
    CHECK_STR(field(doc, "fullDocument"),
              "null"); /* looked up: deleted since */
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "replace");
    CHECK_STR(field(doc, "fullDocument.v"), "3");
    /* a resume token, for a new client after this one goes */
    bson_t *token = bson_copy(mongoc_change_stream_get_resume_token(s));
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "delete");
    mongoc_change_stream_destroy(s);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);

    c = client();
    coll = mongoc_client_get_collection(c, "cs", "items");
    bson_t resume = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&resume, "resumeAfter", token);
    s = mongoc_collection_watch(coll, empty, &resume);
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "delete");
    mongoc_change_stream_destroy(s);
    bson_destroy(&resume);

    /* a database stream with $match on ns.coll and operationType */
    mongoc_database_t *db = mongoc_client_get_database(c, "cs");
    bson_t *pipe = json(
        "{\"pipeline\": [{\"$match\": {\"ns.coll\": {\"$in\": [\"a\", \"b\"]}, "
        "\"operationType\": \"insert\"}}]}");
    bson_t *wait = json("{\"maxAwaitTimeMS\": 300}");
    s = mongoc_database_watch(db, pipe, wait);
    mongoc_collection_t *a = mongoc_client_get_collection(c, "cs", "a");
    mongoc_collection_t *b = mongoc_client_get_collection(c, "cs", "b");
    mongoc_collection_t *z = mongoc_client_get_collection(c, "cs", "z");
    bson_t *one = json("{\"_id\": 1}");
    OK(mongoc_collection_insert_one(z, one, NULL, NULL, ERR));
    OK(mongoc_collection_insert_one(a, one, NULL, NULL, ERR));
    OK(mongoc_collection_delete_one(a, one, NULL, NULL, ERR));
    OK(mongoc_collection_insert_one(b, one, NULL, NULL, ERR));
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "ns.coll"), "a");
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "ns.coll"), "b");
    CHECK_STR(field(doc, "operationType"), "insert");
    mongoc_change_stream_destroy(s);

    /* drop and rename end a collection stream with invalidate */
    s = mongoc_collection_watch(a, empty, wait);
    OK(mongoc_collection_rename(a, "cs", "a2", false, ERR));
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "rename");
    CHECK_STR(field(doc, "to.coll"), "a2");
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "invalidate");
    mongoc_change_stream_destroy(s);
    s = mongoc_collection_watch(b, empty, wait);
    OK(mongoc_collection_drop(b, ERR));
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "drop");
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "operationType"), "invalidate");
    mongoc_change_stream_destroy(s);

    /* startAtOperationTime: from a cluster time on */
    bson_t reply;
    bson_t *ping = json("{\"ping\": 1}");
    OK(mongoc_client_command_simple(c, "admin", ping, NULL, &reply, ERR));
    bson_iter_t it;
    uint32_t t = 0, i = 0;
    if (bson_iter_init_find(&it, &reply, "operationTime"))
        bson_iter_timestamp(&it, &t, &i);
    bson_destroy(&reply);
    bson_t *two = json("{\"_id\": 2}");
    OK(mongoc_collection_insert_one(z, two, NULL, NULL, ERR));
    bson_t at = BSON_INITIALIZER;
    BSON_APPEND_TIMESTAMP(&at, "startAtOperationTime", t, i + 1);
    s = mongoc_collection_watch(z, empty, &at);
    CHECK(next_change(s, &doc));
    CHECK_STR(field(doc, "documentKey._id"), "2");
    mongoc_change_stream_destroy(s);
    bson_destroy(&at);

    /* history lost: error 286 */
    bson_t *truncate = json("{\"sluiceFault\": \"truncateOplog\"}");
    OK(mongoc_client_command_simple(c, "admin", truncate, NULL, NULL, ERR));
    resume = (bson_t)BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&resume, "resumeAfter", token);
    s = mongoc_collection_watch(coll, empty, &resume);
    CHECK(!mongoc_change_stream_next(s, &doc));
    const bson_t *err_doc;
    CHECK(mongoc_change_stream_error_document(s, &e, &err_doc));
    CHECK(e.code == 286);
    CHECK_CONTAINS(e.message, "no longer be in the oplog");
    mongoc_change_stream_destroy(s);
    bson_destroy(&resume);

    bson_destroy(truncate);
    bson_destroy(two);
    bson_destroy(ping);
    bson_destroy(one);
    bson_destroy(wait);
    bson_destroy(pipe);
    mongoc_collection_destroy(a);
    mongoc_collection_destroy(b);
    mongoc_collection_destroy(z);
    mongoc_database_destroy(db);
    bson_destroy(token);
    bson_destroy(rep);
    bson_destroy(upd);
    bson_destroy(sel);
    bson_destroy(d);
    bson_destroy(opts);
    bson_destroy(empty);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* The _data of a stream's resume token. */
static const char *token_data(mongoc_change_stream_t *s)
{
    const bson_t *t = mongoc_change_stream_get_resume_token(s);
    return t ? field(t, "_data") : "";
}

/* The stream's next event copied into `out` (emptied first); false, `out`
 * empty, when none came. */
static bool next_into(mongoc_change_stream_t *s, bson_t *out)
{
    const bson_t *doc;
    bson_reinit(out);
    if (!next_change(s, &doc))
        return false;
    bson_concat(out, doc);
    return true;
}

/* dropDatabase, $match in the query language and a rename onto a
 * watched collection, as MongoDB 5.0/6.0 shows them. */
static void change_stream_ddl(void)
{
    mongoc_client_t *c = client();
    mongoc_database_t *db = mongoc_client_get_database(c, "ddl");
    mongoc_collection_t *a = mongoc_client_get_collection(c, "ddl", "a"),
                        *b = mongoc_client_get_collection(c, "ddl", "b");
    bson_t *one = json("{\"_id\": 1}"), *empty = json("{}"),
           *wait = json("{\"maxAwaitTimeMS\": 300}"),
           *pipe = json("{\"pipeline\": [{\"$match\": {\"$or\": ["
                        "{\"ns.coll\": \"a\"}, {\"operationType\": "
                        "\"dropDatabase\"}]}}]}");
    bson_t ev = BSON_INITIALIZER;
    bson_error_t e;
    OK(mongoc_collection_insert_one(a, one, NULL, NULL, ERR));
    OK(mongoc_collection_insert_one(b, one, NULL, NULL, ERR));
    mongoc_change_stream_t *all = mongoc_database_watch(db, empty, wait),
                           *some = mongoc_database_watch(db, pipe, wait);
    OK(mongoc_database_drop(db, ERR));
    const char *want[] = {"drop", "drop", "dropDatabase", "invalidate"};
    for (int i = 0; i < 4; i++) {
        CHECK(next_into(all, &ev));
        CHECK_STR(field(&ev, "operationType"), want[i]);
    }
    CHECK_STR(field(&ev, "ns"), ""); /* the invalidate's */
    /* the $or: the drop of a and dropDatabase; not the invalidate, which
     * closes the stream all the same, its token the invalidate's */
    CHECK(next_into(some, &ev));
    CHECK_STR(field(&ev, "ns.coll"), "a");
    CHECK(next_into(some, &ev));
    CHECK_STR(field(&ev, "operationType"), "dropDatabase");
    CHECK_STR(field(&ev, "ns.db"), "ddl");
    CHECK_STR(field(&ev, "ns.coll"), "");
    /* libmongoc, finding the cursor closed, resumes after its last token
     * (the invalidate's): refused, as MongoDB refuses it */
    CHECK(!next_into(some, &ev));
    CHECK(mongoc_change_stream_error_document(some, &e, NULL));
    CHECK(e.code == 260);
    CHECK_CONTAINS(e.message, "not allowed from an invalidate notification");
    CHECK_STR(token_data(some), token_data(all));
    CHECK(strlen(token_data(all)) == 20); /* "82", seq, "01" */
    mongoc_change_stream_destroy(all);
    mongoc_change_stream_destroy(some);

    /* a bad filter: the query language's error */
    bson_t *bad =
        json("{\"pipeline\": [{\"$match\": {\"a\": {\"$foo\": 1}}}]}");
    all = mongoc_database_watch(db, bad, NULL);
    CHECK(mongoc_change_stream_error_document(all, &e, NULL));
    CHECK(e.code == 2);
    CHECK_CONTAINS(e.message, "unknown operator: $foo");
    mongoc_change_stream_destroy(all);

    /* renamed onto b with dropTarget: one rename event; the streams on
     * both collections are invalidated */
    OK(mongoc_collection_insert_one(a, one, NULL, NULL, ERR));
    OK(mongoc_collection_insert_one(b, one, NULL, NULL, ERR));
    all = mongoc_collection_watch(a, empty, wait);
    some = mongoc_collection_watch(b, empty, wait);
    OK(mongoc_collection_rename(a, "ddl", "b", true, ERR));
    for (int k = 0; k < 2; k++) {
        mongoc_change_stream_t *s = k ? some : all;
        CHECK(next_into(s, &ev));
        CHECK_STR(field(&ev, "operationType"), "rename");
        CHECK_STR(field(&ev, "ns.coll"), "a");
        CHECK_STR(field(&ev, "to.coll"), "b");
        CHECK(next_into(s, &ev));
        CHECK_STR(field(&ev, "operationType"), "invalidate");
        mongoc_change_stream_destroy(s);
    }
    bson_destroy(&ev);
    bson_destroy(bad);
    bson_destroy(pipe);
    bson_destroy(wait);
    bson_destroy(empty);
    bson_destroy(one);
    mongoc_collection_destroy(a);
    mongoc_collection_destroy(b);
    mongoc_database_destroy(db);
    mongoc_client_destroy(c);
}

/* Whether a new TCP connection to the server is refused, tried a few
 * times 50 ms apart (the listener closes within its poll interval). */
static bool connect_refused(void)
{
    for (int i = 0; i < 20; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)server_port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
        int why = errno;
        close(fd);
        if (rc < 0 && why == ECONNREFUSED)
            return true;
        usleep(50000);
    }
    return false;
}

static void faults_and_generation(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "gen", "docs");
    bson_t *gen = json(
        "{\"sluiceGenerate\": \"docs\", \"count\": 10000, \"size\": 200, \"idType\": \"int\"}");
    OK(mongoc_client_command_simple(c, "gen", gen, NULL, NULL, ERR));
    bson_t *all = json("{}");
    CHECK(mongoc_collection_count_documents(coll, all, NULL, NULL, NULL,
                                            NULL) == 10000);
    /* a retryable error: libmongoc retries the read once */
    bson_t *fail = json(
        "{\"sluiceFault\": \"failCommands\", \"count\": 1, \"mode\": \"retryable\"}");
    OK(mongoc_client_command_simple(c, "admin", fail, NULL, NULL, ERR));
    bson_t *range = json("{\"_id\": {\"$lt\": 3}}");
    CHECK_STR(ids_of(
                  mongoc_collection_find_with_opts(coll, range, NULL, NULL)),
              "0,1,2");
    /* a network error on a write: retried too */
    bson_t *net = json(
        "{\"sluiceFault\": \"failCommands\", \"count\": 1, \"mode\": \"network\"}");
    OK(mongoc_client_command_simple(c, "admin", net, NULL, NULL, ERR));
    bson_t *doc = json("{\"_id\": -1}");
    OK(mongoc_collection_insert_one(coll, doc, NULL, NULL, ERR));
    /* two failures in a row: the caller sees the error */
    bson_t *two = json(
        "{\"sluiceFault\": \"failCommands\", \"count\": 2, \"mode\": \"retryable\"}");
    OK(mongoc_client_command_simple(c, "admin", two, NULL, NULL, ERR));
    bson_error_t e;
    CHECK(mongoc_collection_count_documents(coll, all, NULL, NULL, NULL, &e) <
          0);
    /* latency */
    bson_t *slow = json("{\"sluiceFault\": \"latency\", \"ms\": 300}");
    OK(mongoc_client_command_simple(c, "admin", slow, NULL, NULL, ERR));
    int64_t t0 = bson_get_monotonic_time();
    CHECK(mongoc_collection_count_documents(coll, all, NULL, NULL, NULL,
                                            NULL) == 10001);
    CHECK(bson_get_monotonic_time() - t0 >= 300000);
    bson_t *fast = json("{\"sluiceFault\": \"latency\", \"ms\": 0}");
    OK(mongoc_client_command_simple(c, "admin", fast, NULL, NULL, ERR));
    /* every connection closed: the next command reconnects */
    bson_t *close_all = json("{\"sluiceFault\": \"closeConnections\"}");
    mongoc_client_command_simple(c, "admin", close_all, NULL, NULL, NULL);
    bool counted = false;
    for (int i = 0; i < 3 && !counted; i++)
        counted = mongoc_collection_count_documents(coll, all, NULL, NULL,
                                                    NULL, NULL) == 10001;
    CHECK(counted);
    /* every connection dropped and new ones refused for 4 s, then served
     * again on the same port */
    bson_t *refuse =
        json("{\"sluiceFault\": \"refuseConnections\", \"ms\": 4000}");
    OK(mongoc_client_command_simple(c, "admin", refuse, NULL, NULL, ERR));
    CHECK(connect_refused());
    CHECK(mongoc_collection_count_documents(coll, all, NULL, NULL, NULL, &e) <
          0);
    counted = false;
    for (int i = 0; i < 300 && !counted; i++) {
        counted = mongoc_collection_count_documents(coll, all, NULL, NULL,
                                                    NULL, NULL) == 10001;
        if (!counted)
            usleep(100000);
    }
    CHECK(counted);
    bson_t *bad = json("{\"sluiceFault\": \"refuseConnections\"}");
    CHECK(!mongoc_client_command_simple(c, "admin", bad, NULL, NULL, &e));
    CHECK(strstr(e.message, "refuseConnections needs ms") != NULL);
    bson_destroy(bad);
    bson_destroy(refuse);
    bson_destroy(close_all);
    bson_destroy(fast);
    bson_destroy(slow);
    bson_destroy(two);
    bson_destroy(doc);
    bson_destroy(net);
    bson_destroy(range);
    bson_destroy(fail);
    bson_destroy(all);
    bson_destroy(gen);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* A timestamp field, as t:i (0:0 when missing). */
static uint64_t timestamp_of(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    uint32_t t = 0, i = 0;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_TIMESTAMP(&it))
        bson_iter_timestamp(&it, &t, &i);
    return (uint64_t)t << 32 | i;
}

/* Checks the n of the document with _id 1. */
static void check_n_of_1(mongoc_collection_t *coll, const char *want)
{
    bson_t *sel = json("{\"_id\": 1}");
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(coll, sel, NULL, NULL);
    const bson_t *doc;
    CHECK(mongoc_cursor_next(cur, &doc));
    CHECK_STR(doc ? field(doc, "n") : "(none)", want);
    mongoc_cursor_destroy(cur);
    bson_destroy(sel);
}

/* Whether the event's lsid.id is the session's. */
static bool same_lsid(const bson_t *event, mongoc_client_session_t *cs)
{
    bson_iter_t a, b, fa, fb;
    const bson_t *lsid = mongoc_client_session_get_lsid(cs);
    uint32_t la = 0, lb = 0;
    const uint8_t *da = NULL, *db = NULL;
    bson_subtype_t st;
    if (!bson_iter_init(&a, event) ||
        !bson_iter_find_descendant(&a, "lsid.id", &fa) ||
        !bson_iter_init(&b, lsid) ||
        !bson_iter_find_descendant(&b, "id", &fb) ||
        !BSON_ITER_HOLDS_BINARY(&fa) || !BSON_ITER_HOLDS_BINARY(&fb))
        return false;
    bson_iter_binary(&fa, &st, &la, &da);
    bson_iter_binary(&fb, &st, &lb, &db);
    return la == lb && memcmp(da, db, la) == 0;
}

/* Inserts or deletes {_id: id} (with `opts`), noting it in `in` (when
 * not NULL). */
static void churn_id(mongoc_collection_t *coll, int id, bool insert,
                     const bson_t *opts, bool *in)
{
    bson_t *doc = BCON_NEW("_id", BCON_INT32(id));
    if (insert)
        OK(mongoc_collection_insert_one(coll, doc, opts, NULL, ERR));
    else
        OK(mongoc_collection_delete_one(coll, doc, opts, NULL, ERR));
    bson_destroy(doc);
    if (in)
        in[id] = insert;
}

static const char *churn_expected(const bool *in, int n)
{
    static char out[4096];
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        if (in[i])
            used += (size_t)snprintf(out + used, sizeof out - used, "%s%d",
                                     used ? "," : "", i);
    return out;
}

/* Documents going in and out at the front, the back and the middle of a
 * collection (data.c moves the shorter side of its array): a find gives
 * exactly those left, in _id order, and the deletes of an aborted
 * transaction, put back by its undo, come back in their places. */
static void documents_in_and_out_anywhere(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll =
        mongoc_client_get_collection(c, "shop", "churn");
    bson_t *all = json("{}");
    bool in[300] = {false};
    for (int i = 100; i < 200; i++) /* each one last */
        churn_id(coll, i, true, NULL, in);
    for (int i = 99; i >= 0; i--) /* each one first */
        churn_id(coll, i, true, NULL, in);
    for (int i = 299; i >= 200; i -= 2) /* into the back half */
        churn_id(coll, i, true, NULL, in);
    for (int i = 200; i < 300; i += 2)
        churn_id(coll, i, true, NULL, in);
    for (int i = 0; i < 300; i += 3) /* out of either half */
        churn_id(coll, i, false, NULL, in);
    for (int i = 0; i < 40; i++) /* the first, over and over */
        if (in[i])
            churn_id(coll, i, false, NULL, in);
    for (int i = 0; i < 300; i += 6) /* some again */
        churn_id(coll, i, true, NULL, in);
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, all, NULL, NULL)),
              churn_expected(in, 300));

    bson_error_t e;
    mongoc_client_session_t *cs = mongoc_client_start_session(c, NULL, &e);
    CHECK(cs != NULL);
    bson_t opts = BSON_INITIALIZER;
    OK(mongoc_client_session_append(cs, &opts, ERR));
    OK(mongoc_client_session_start_transaction(cs, NULL, ERR));
    for (int id = 0; id < 300; id++) /* the first, the last, the middle */
        if (in[id] && (id < 50 || id > 250 || id == 151))
            churn_id(coll, id, false, &opts, NULL);
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, all, NULL, NULL)),
              churn_expected(in, 300));
    OK(mongoc_client_session_abort_transaction(cs, ERR));
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, all, NULL, NULL)),
              churn_expected(in, 300));
    bson_destroy(&opts);
    mongoc_client_session_destroy(cs);
    bson_destroy(all);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* Transactions as libmongoc runs them: the writes invisible to others
 * until commit, their change events together at one cluster time with
 * lsid and txnNumber, abort leaving nothing, and WriteConflict (112,
 * TransientTransactionError) when two transactions write one document. */
static void transactions(void)
{
    mongoc_client_t *c = client(), *other = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "tx", "items");
    mongoc_collection_t *seen =
        mongoc_client_get_collection(other, "tx", "items");
    bson_t *all = json("{}"), *wait = json("{\"maxAwaitTimeMS\": 300}");
    bson_t *one = json("{\"_id\": 1, \"n\": 1}");
    OK(mongoc_collection_insert_one(coll, one, NULL, NULL, ERR));
    mongoc_change_stream_t *s = mongoc_collection_watch(coll, all, wait);
    bson_error_t e;
    mongoc_client_session_t *cs = mongoc_client_start_session(c, NULL, &e);
    CHECK(cs != NULL);
    bson_t in = BSON_INITIALIZER;
    OK(mongoc_client_session_append(cs, &in, ERR));
    OK(mongoc_client_session_start_transaction(cs, NULL, ERR));
    bson_t *two = json("{\"_id\": 2}"), *sel = json("{\"_id\": 1}"),
           *inc = json("{\"$inc\": {\"n\": 1}}");
    OK(mongoc_collection_insert_one(coll, two, &in, NULL, ERR));
    OK(mongoc_collection_update_one(coll, sel, inc, &in, NULL, ERR));
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, all, &in, NULL)),
              "1,2");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(seen, all, NULL, NULL)),
              "1");
    bson_t reply;
    OK(mongoc_client_session_commit_transaction(cs, &reply, ERR));
    bson_destroy(&reply);
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(seen, all, NULL, NULL)),
              "1,2");
    const bson_t *ev;
    bson_t *events[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++)
        if (next_change(s, &ev))
            events[k] = bson_copy(ev);
    CHECK(events[0] && events[1]);
    if (events[0] && events[1]) {
        CHECK_STR(field(events[0], "operationType"), "insert");
        CHECK_STR(field(events[1], "operationType"), "update");
        CHECK(timestamp_of(events[0], "clusterTime") ==
              timestamp_of(events[1], "clusterTime"));
        CHECK(same_lsid(events[0], cs) && same_lsid(events[1], cs));
        CHECK(strcmp(field(events[0], "txnNumber"), "") != 0);
        CHECK_STR(field(events[0], "txnNumber"),
                  field(events[1], "txnNumber"));
    }

    /* abort: no document, no event */
    OK(mongoc_client_session_start_transaction(cs, NULL, ERR));
    bson_t *three = json("{\"_id\": 3}");
    OK(mongoc_collection_insert_one(coll, three, &in, NULL, ERR));
    OK(mongoc_collection_update_one(coll, sel, inc, &in, NULL, ERR));
    OK(mongoc_client_session_abort_transaction(cs, ERR));
    bson_t *four = json("{\"_id\": 4}");
    OK(mongoc_collection_insert_one(coll, four, NULL, NULL, ERR));
    CHECK_STR(next_change(s, &ev) ? field(ev, "documentKey._id") : "none",
              "4");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(seen, all, NULL, NULL)),
              "1,2,4");
    check_n_of_1(seen, "2");

    /* two transactions, one document: the second writer loses */
    mongoc_client_session_t *cs2 = mongoc_client_start_session(c, NULL, &e);
    bson_t in2 = BSON_INITIALIZER;
    OK(mongoc_client_session_append(cs2, &in2, ERR));
    OK(mongoc_client_session_start_transaction(cs, NULL, ERR));
    OK(mongoc_client_session_start_transaction(cs2, NULL, ERR));
    OK(mongoc_collection_update_one(coll, sel, inc, &in, NULL, ERR));
    CHECK(!mongoc_collection_update_one(coll, sel, inc, &in2, &reply, &e));
    CHECK(e.code == 112);
    CHECK(mongoc_error_has_label(&reply, "TransientTransactionError"));
    bson_destroy(&reply);
    CHECK(!mongoc_client_session_commit_transaction(cs2, &reply, &e));
    CHECK(e.code == 251);
    bson_destroy(&reply);
    OK(mongoc_client_session_commit_transaction(cs, NULL, ERR));
    check_n_of_1(seen, "3");

    mongoc_client_session_destroy(cs2);
    mongoc_client_session_destroy(cs);
    mongoc_change_stream_destroy(s);
    for (int k = 0; k < 2; k++)
        if (events[k])
            bson_destroy(events[k]);
    bson_t *docs[] = {all, wait, one, two, sel, inc, three, four};
    for (size_t k = 0; k < sizeof docs / sizeof *docs; k++)
        bson_destroy(docs[k]);
    bson_destroy(&in);
    bson_destroy(&in2);
    mongoc_collection_destroy(seen);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(other);
    mongoc_client_destroy(c);
}

/* A retryable write whose answer is lost: libmongoc sends it again with
 * the same lsid and txnNumber, and it is applied once. */
static void retryable_write_applied_once(void)
{
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "tx", "retry");
    bson_t *one = json("{\"_id\": 1, \"n\": 0}"), *sel = json("{\"_id\": 1}"),
           *inc = json("{\"$inc\": {\"n\": 1}}");
    OK(mongoc_collection_insert_one(coll, one, NULL, NULL, ERR));
    bson_t *lose = json(
        "{\"sluiceFault\": \"failCommands\", \"count\": 1, \"mode\": \"lostReply\"}");
    OK(mongoc_client_command_simple(c, "admin", lose, NULL, NULL, ERR));
    bson_t reply;
    OK(mongoc_collection_update_one(coll, sel, inc, NULL, &reply, ERR));
    CHECK_STR(field(&reply, "modifiedCount"), "1");
    bson_destroy(&reply);
    check_n_of_1(coll, "1");
    OK(mongoc_client_command_simple(c, "admin", lose, NULL, NULL, ERR));
    bson_t *two = json("{\"_id\": 2}");
    OK(mongoc_collection_insert_one(coll, two, NULL, NULL,
                                    ERR)); /* no 11000 */
    bson_destroy(two);
    bson_destroy(lose);
    bson_destroy(inc);
    bson_destroy(sel);
    bson_destroy(one);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

/* --dbpath: killed with SIGKILL and started again, the server has its
 * documents and its change history: a stream resumes from a token taken
 * before the kill, and cluster times go on increasing. */
static void killed_and_restarted(void)
{
    char dir[] = "/tmp/sluice-dbpath-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    start_server("--dbpath", dir);
    mongoc_client_t *c = client();
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "keep", "it");
    bson_t *all = json("{}"), *wait = json("{\"maxAwaitTimeMS\": 300}");
    mongoc_change_stream_t *s = mongoc_collection_watch(coll, all, wait);
    const bson_t *ev;
    bson_t *token = NULL;
    for (int i = 1; i <= 3; i++) {
        char text[32];
        snprintf(text, sizeof text, "{\"_id\": %d}", i);
        bson_t *d = json(text);
        OK(mongoc_collection_insert_one(coll, d, NULL, NULL, ERR));
        bson_destroy(d);
    }
    CHECK(next_change(s, &ev));
    token = bson_copy(mongoc_change_stream_get_resume_token(s));
    bson_t reply;
    bson_t *ping = json("{\"ping\": 1}");
    OK(mongoc_client_command_simple(c, "admin", ping, NULL, &reply, ERR));
    uint64_t before = timestamp_of(&reply, "operationTime");
    bson_destroy(&reply);
    mongoc_change_stream_destroy(s);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
    kill(server_pid, SIGKILL);
    int status;
    waitpid(server_pid, &status, 0);

    start_server("--dbpath", dir);
    c = client();
    coll = mongoc_client_get_collection(c, "keep", "it");
    CHECK_STR(ids_of(mongoc_collection_find_with_opts(coll, all, NULL, NULL)),
              "1,2,3");
    bson_t resume = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&resume, "resumeAfter", token);
    s = mongoc_collection_watch(coll, all, &resume);
    CHECK_STR(next_change(s, &ev) ? field(ev, "documentKey._id") : "none",
              "2");
    CHECK_STR(next_change(s, &ev) ? field(ev, "documentKey._id") : "none",
              "3");
    mongoc_change_stream_destroy(s);
    bson_t *four = json("{\"_id\": 4}");
    OK(mongoc_collection_insert_one(coll, four, NULL, NULL, ERR));
    OK(mongoc_client_command_simple(c, "admin", ping, NULL, &reply, ERR));
    CHECK(timestamp_of(&reply, "operationTime") > before);
    bson_destroy(&reply);
    bson_destroy(four);
    bson_destroy(&resume);
    bson_destroy(token);
    bson_destroy(ping);
    bson_destroy(wait);
    bson_destroy(all);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
    status = stop_server();
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static void seeded_at_start(void)
{
    char path[] = "/tmp/sluice-seed-XXXXXX";
    int fd = mkstemp(path);
    const char *lines =
        "{\"_id\": {\"$oid\": \"5f0000000000000000000002\"}, \"a\": 1}\n"
        "\n{\"_id\": {\"$oid\": \"5f0000000000000000000001\"}, \"a\": 2}\n";
    CHECK(write(fd, lines, strlen(lines)) == (ssize_t)strlen(lines));
    close(fd);
    char seed[128];
    snprintf(seed, sizeof seed, "shop.seeded=%s", path);
    start_server("--seed", seed);
    mongoc_client_t *c = client();
    mongoc_collection_t *coll =
        mongoc_client_get_collection(c, "shop", "seeded");
    bson_t *all = json("{}");
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(coll, all, NULL, NULL);
    const bson_t *doc;
    int n = 0;
    while (mongoc_cursor_next(cur, &doc))
        CHECK_STR(field(doc, "a"), n++ == 0 ? "2" : "1"); /* in _id order */
    CHECK(n == 2);
    mongoc_cursor_destroy(cur);
    bson_destroy(all);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
    int status = stop_server();
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(path);
}

int main(void)
{
    mongoc_init();
    start_server(NULL, NULL);
    RUN(handshake_and_server_commands);
    RUN(writes_and_finds);
    RUN(documents_in_and_out_anywhere);
    RUN(query_language);
    RUN(indexes);
    RUN(change_streams);
    RUN(change_stream_ddl);
    RUN(update_language);
    RUN(faults_and_generation);
    RUN(transactions);
    RUN(retryable_write_applied_once);
    int status = stop_server();
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    RUN(seeded_at_start);
    RUN(killed_and_restarted);
    mongoc_cleanup();
    return TEST_RESULT();
}
