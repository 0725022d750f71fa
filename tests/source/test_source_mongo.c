/* test_source_mongo.c: source_mongo through the source ABI, as the core
 * drives it, against the MongoDB wire-protocol test server, or against a
 * real replica set when SLUICE_TEST_MONGO_URI is set (the same tests;
 * faults only the test server can inject are skipped, visibly).
 *
 * Partitioning of every _id type, a snapshot resumed from the middle,
 * every change type, CDC resumed from a stored token after a restart,
 * error 286, transient failures, large documents, the JSON of every BSON
 * type, drops of captured collections, and documents whose text is not
 * valid UTF-8 (in a value, a field name or _id; snapshot and CDC). */
#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"
#include "options/options.h"
#include "plugin/batch.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "plugin/values.h"
#include "util/buf.h"
#include "util/mem.h"

static char uri[512];
static bool real_server;
static pid_t server_pid;
static mongoc_client_t *admin;
static const struct plugin *source;
static int db_counter;

static void start_test_server(void)
{
    int out[2];
    CHECK(pipe(out) == 0);
    server_pid = fork();
    if (server_pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(MONGO_SERVER, MONGO_SERVER, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[128] = "";
    int port = 0;
    if (fgets(line, sizeof line, f))
        sscanf(line, "listening on 127.0.0.1:%d", &port);
    fclose(f);
    snprintf(
        uri, sizeof uri,
        "mongodb://127.0.0.1:%d/?replicaSet=rs0&serverSelectionTimeoutMS=5000",
        port);
}

static bson_t *json(const char *text)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)text, -1, &e);
    if (!b)
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.message);
    return b;
}

/* A database no other test uses. */
static void new_db(char *out, size_t size)
{
    snprintf(out, size, "sluice_test_%d_%d", (int)getpid(), ++db_counter);
}

static void insert_all(const char *db, const char *coll, bson_t **docs,
                       size_t n)
{
    mongoc_collection_t *c = mongoc_client_get_collection(admin, db, coll);
    bson_error_t e;
    for (size_t i = 0; i < n; i += 1000) {
        size_t k = n - i < 1000 ? n - i : 1000;
        if (!mongoc_collection_insert_many(c, (const bson_t **)docs + i, k,
                                           NULL, NULL, &e)) {
            fprintf(stderr, "  insert: %s\n", e.message);
            test_failures++;
        }
    }
    mongoc_collection_destroy(c);
}

static void run_admin(const char *db, const char *cmd_json)
{
    bson_t *cmd = json(cmd_json);
    bson_error_t e;
    if (!mongoc_client_command_simple(admin, db, cmd, NULL, NULL, &e)) {
        fprintf(stderr, "  %s: %s\n", cmd_json, e.message);
        test_failures++;
    }
    bson_destroy(cmd);
}

/* Inserts documents that libmongoc would refuse: text that is not valid
 * UTF-8 (the server stores what it is sent). */
static void insert_unchecked(const char *db, const char *coll, bson_t **docs,
                             size_t n)
{
    mongoc_collection_t *c = mongoc_client_get_collection(admin, db, coll);
    bson_t *opts = BCON_NEW("validate", BCON_BOOL(false));
    bson_error_t e;
    for (size_t i = 0; i < n; i++)
        if (!mongoc_collection_insert_one(c, docs[i], opts, NULL, &e)) {
            fprintf(stderr, "  insert: %s\n", e.message);
            test_failures++;
        }
    bson_destroy(opts);
    mongoc_collection_destroy(c);
}

/* Standard error (where log lines go) into a file until log_end, which
 * returns what was written there; the caller frees it. */
static int saved_stderr = -1;
static char log_path[] = "/tmp/sluice-source-log-XXXXXX";

static void log_begin(void)
{
    fflush(stderr);
    strcpy(log_path + strlen(log_path) - 6, "XXXXXX");
    int fd = mkstemp(log_path);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *log_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    struct buf text = {0};
    FILE *f = fopen(log_path, "r");
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&text, chunk, n);
    if (f)
        fclose(f);
    unlink(log_path);
    buf_append(&text, "", 1);
    fputs(text.data, stderr); /* still shown */
    return text.data;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A record's key or JSON is exactly `want`. */
#define CHECK_TEXT(data, len, want)                                           \
    do {                                                                      \
        const char *w_ = (want);                                              \
        bool same_ = (len) == strlen(w_) && !memcmp((data), w_, (len));       \
        if (!same_)                                                           \
            fprintf(stderr, "  want %s\n  got  %.*s\n", w_, (int)(len),       \
                    (data) ? (data) : "");                                    \
        CHECK(same_);                                                         \
    } while (0)

struct instance {
    void *data, *inst;
    sluice_context *ctx;
};

static char message[2048];
#define CALL(want, expr)                                                      \
    do {                                                                      \
        message[0] = '\0';                                                    \
        sluice_error e_ = {message, sizeof message};                          \
        sluice_error *err_ = &e_;                                             \
        (void)err_;                                                           \
        sluice_status got_ = (expr);                                          \
        if (got_ != (want))                                                   \
            fprintf(stderr, "%s:%d: %s gave %d, not %d: %s\n", __FILE__,      \
                    __LINE__, #expr, got_, want, message);                    \
        CHECK(got_ == (want));                                                \
    } while (0)
#define ERR err_

static void open_source(struct instance *in, const char *db,
                        const char *options)
{
    char path[] = "/tmp/sluice-source-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "[s]\nuri = %s\ndatabase = %s\n%s\n", uri, db,
            options ? options : "");
    fclose(f);
    struct ini_doc doc;
    struct diags d = {0};
    struct error err;
    CHECK(ini_doc_load(path, &doc, &d, &err) == 0);
    in->data = xcalloc(1, source->config_size);
    struct option_source src = {path, "s", ini_doc_section(&doc, "s"), 1};
    options_apply(source->options, source->option_count, &src, in->data, &d);
    for (size_t i = 0; i < d.count; i++)
        fprintf(stderr, "  %s\n", d.errors[i]);
    CHECK(d.count == 0);
    diags_free(&d);
    ini_doc_free(&doc);
    unlink(path);
    in->ctx = context_new("source_mongo", "test");
    CALL(SLUICE_OK,
         source->info.source.open(in->ctx, in->data, &in->inst, ERR));
}

static void close_source(struct instance *in)
{
    if (in->inst)
        source->info.source.close(in->inst);
    options_free(source->options, source->option_count, in->data);
    free(in->data);
    context_free(in->ctx);
    memset(in, 0, sizeof *in);
}

static const sluice_source_info *api(void)
{
    return &source->info.source;
}

/* Keys read, to check exactly-once. */
struct keys {
    char **items;
    size_t count, cap;
};

static void keys_add_batch(struct keys *k, const struct sluice_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        sluice_record r = {.size = sizeof r};
        batch_get(b, i, &r);
        XGROW(k->items, k->cap, k->count + 1);
        k->items[k->count++] = xstrndup(r.key, r.key_len);
    }
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key once: no repeats. Returns the number of distinct keys. */
static size_t distinct(struct keys *k)
{
    qsort(k->items, k->count, sizeof *k->items, compare_strings);
    size_t repeats = 0;
    for (size_t i = 1; i < k->count; i++)
        repeats += !strcmp(k->items[i], k->items[i - 1]);
    if (repeats)
        fprintf(stderr, "  %zu keys read twice\n", repeats);
    CHECK(repeats == 0);
    return k->count - repeats;
}

static void keys_free(struct keys *k)
{
    for (size_t i = 0; i < k->count; i++)
        free(k->items[i]);
    free(k->items);
    memset(k, 0, sizeof *k);
}

/* Reads a partition from `progress` to its end, `max` records a batch. */
static void drain(struct instance *in, const char *table, const char *progress,
                  size_t len, size_t max, struct keys *k)
{
    struct sluice_batch b;
    batch_init(&b, max, 0);
    struct buf pos = {0};
    buf_append(&pos, progress, len);
    for (int guard = 0; guard < 100000; guard++) {
        batch_reset(&b);
        message[0] = '\0';
        sluice_error e = {message, sizeof message};
        sluice_status st =
            api()->snapshot_next(in->inst, table, pos.data, pos.len, &b, &e);
        CHECK(st == SLUICE_OK || st == SLUICE_DONE);
        keys_add_batch(k, &b);
        buf_reset(&pos);
        buf_append(&pos, b.position.data, b.position.len);
        if (st != SLUICE_OK)
            break;
    }
    buf_free(&pos);
    batch_free(&b);
}

static size_t read_table(struct instance *in, const char *table, size_t *parts)
{
    struct sluice_values v = {0};
    CALL(SLUICE_OK, api()->snapshot_partitions(in->inst, table, &v, ERR));
    struct keys k = {0};
    for (size_t i = 0; i < v.count; i++)
        drain(in, table, v.items[i], v.lens[i], 700, &k);
    *parts = v.count;
    values_free(&v);
    size_t n = distinct(&k);
    keys_free(&k);
    return n;
}

static void partitions_of_every_id_type(void)
{
    static const char *const kinds[] = {"objectId", "int", "string", "mixed"};
    for (size_t kind = 0; kind < 4; kind++) {
        char db[64];
        new_db(db, sizeof db);
        size_t n = 5000;
        bson_t **docs = xcalloc(n, sizeof *docs);
        for (size_t i = 0; i < n; i++) {
            docs[i] = bson_new();
            size_t type = kind < 3 ? kind : i % 3;
            if (type == 0) {
                bson_oid_t oid;
                bson_oid_init(&oid, NULL);
                BSON_APPEND_OID(docs[i], "_id", &oid);
            } else if (type == 1) {
                BSON_APPEND_INT64(docs[i], "_id", (int64_t)i * 7 - 1000);
            } else {
                char s[32];
                snprintf(s, sizeof s, "k%05zu", (i * 7919) % 100000);
                BSON_APPEND_UTF8(docs[i], "_id", s);
            }
            BSON_APPEND_INT64(docs[i], "n", (int64_t)i);
        }
        insert_all(db, "c", docs, n);
        for (size_t i = 0; i < n; i++)
            bson_destroy(docs[i]);
        free(docs);
        struct instance in = {0};
        open_source(&in, db, "partition_size = 1000\nbatch_size = 300");
        size_t parts = 0;
        size_t got = read_table(&in, "c", &parts);
        if (got != n)
            fprintf(stderr, "  %s: %zu of %zu documents\n", kinds[kind], got,
                    n);
        CHECK(got == n);
        CHECK(parts >= 3); /* about 5 */
        close_source(&in);
    }
}

static void snapshot_resumed_from_the_middle(void)
{
    char db[64];
    new_db(db, sizeof db);
    size_t n = 3000;
    bson_t **docs = xcalloc(n, sizeof *docs);
    for (size_t i = 0; i < n; i++) {
        docs[i] = bson_new();
        BSON_APPEND_INT32(docs[i], "_id", (int32_t)i);
    }
    insert_all(db, "c", docs, n);
    for (size_t i = 0; i < n; i++)
        bson_destroy(docs[i]);
    free(docs);
    struct instance in = {0};
    open_source(&in, db, "partition_size = 1000");
    struct sluice_values v = {0};
    CALL(SLUICE_OK, api()->snapshot_partitions(in.inst, "c", &v, ERR));
    struct keys k = {0};
    struct sluice_batch b;
    batch_init(&b, 250, 0);
    struct buf pos = {0};
    buf_append(&pos, v.items[0], v.lens[0]);
    for (int i = 0; i < 2; i++) { /* two batches, then the worker dies */
        batch_reset(&b);
        CALL(SLUICE_OK,
             api()->snapshot_next(in.inst, "c", pos.data, pos.len, &b, ERR));
        keys_add_batch(&k, &b);
        buf_reset(&pos);
        buf_append(&pos, b.position.data, b.position.len);
    }
    close_source(&in);
    open_source(&in, db, "partition_size = 1000");
    drain(&in, "c", pos.data, pos.len, 250, &k); /* from the checkpoint */
    for (size_t i = 1; i < v.count; i++)
        drain(&in, "c", v.items[i], v.lens[i], 250, &k);
    CHECK(distinct(&k) == n);
    keys_free(&k);
    buf_free(&pos);
    batch_free(&b);
    values_free(&v);
    close_source(&in);
}

/* Polls until `want` records arrived (or a few seconds passed). */
static void poll_records(struct instance *in, struct sluice_batch *all,
                         size_t want, sluice_status *last)
{
    struct sluice_batch b;
    batch_init(&b, 1000, 0);
    *last = SLUICE_OK;
    for (int i = 0; i < 20 && all->count < want; i++) {
        batch_reset(&b);
        message[0] = '\0';
        sluice_error e = {message, sizeof message};
        *last = api()->cdc_poll(in->inst, &b, 300, &e);
        if (*last != SLUICE_OK)
            break;
        batch_append(all, &b);
    }
    batch_free(&b);
}

static sluice_record record_at(const struct sluice_batch *b, size_t i)
{
    sluice_record r = {.size = sizeof r};
    batch_get(b, i, &r);
    return r;
}

static void every_change_and_a_restart(void)
{
    char db[64];
    new_db(db, sizeof db);
    bson_t *seed = json("{\"_id\": 0}");
    insert_all(db, "a", &seed, 1);
    insert_all(db, "other", &seed, 1);
    bson_destroy(seed);
    struct instance in = {0};
    open_source(&in, db, "collections = a\nmax_await_time = 200ms");
    struct sluice_values start = {0};
    CALL(SLUICE_OK, api()->snapshot_begin(in.inst, &start, ERR));
    mongoc_collection_t *a = mongoc_client_get_collection(admin, db, "a");
    mongoc_collection_t *other =
        mongoc_client_get_collection(admin, db, "other");
    bson_t *d1 = json("{\"_id\": 1, \"v\": 1}"), *s1 = json("{\"_id\": 1}");
    bson_t *set = json("{\"$set\": {\"v\": 2}}"), *rep = json("{\"v\": 3}");
    bson_error_t e;
    CHECK(mongoc_collection_insert_one(a, d1, NULL, NULL, &e));
    CHECK(mongoc_collection_insert_one(other, d1, NULL, NULL,
                                       &e)); /* not captured */
    CHECK(mongoc_collection_update_one(a, s1, set, NULL, NULL, &e));
    const char *tables[] = {"a"};
    CALL(SLUICE_OK, api()->cdc_start(in.inst, tables, 1, start.items[0],
                                     start.lens[0], ERR));
    struct sluice_batch got;
    batch_init(&got, 0, 0);
    sluice_status last;
    /* read before the document changes again: updateLookup finds it */
    poll_records(&in, &got, 2, &last);
    CHECK(mongoc_collection_replace_one(a, s1, rep, NULL, NULL, &e));
    CHECK(mongoc_collection_delete_one(a, s1, NULL, NULL, &e));
    poll_records(&in, &got, 4, &last);
    CHECK(got.count == 4);
    if (got.count == 4) {
        sluice_op want[] = {SLUICE_OP_INSERT, SLUICE_OP_UPDATE,
                            SLUICE_OP_REPLACE, SLUICE_OP_DELETE};
        uint64_t prev = 0;
        for (size_t i = 0; i < 4; i++) {
            sluice_record r = record_at(&got, i);
            CHECK(r.op == want[i]);
            CHECK(r.version > prev);
            prev = r.version;
            CHECK(r.table_len == 1 && r.table[0] == 'a');
            /* the time of the change: the event's wallTime, which a
             * server takes with the cluster time (seconds << 32) */
            int64_t cluster_ms = (int64_t)(r.version >> 32) * 1000;
            CHECK(r.changed_at_ms > cluster_ms - 60000 &&
                  r.changed_at_ms < cluster_ms + 60000);
        }
        sluice_record ins = record_at(&got, 0);
        CHECK(ins.key_len > 0 && strstr(ins.key, "1") != NULL);
        sluice_record del = record_at(&got, 3);
        CHECK(del.doc_len == 0);
        sluice_record upd = record_at(&got, 1);
        CHECK(upd.doc_len && strstr(upd.doc, "\"v\":2"));
    }
    /* the position after those four, stored as the core stores it */
    struct buf position = {0};
    buf_append(&position, got.position.data, got.position.len);
    close_source(&in);
    bson_t *d2 = json("{\"_id\": 2, \"v\": 9}");
    CHECK(mongoc_collection_insert_one(a, d2, NULL, NULL, &e));
    /* a new process resumes from the stored token: only what came after */
    open_source(&in, db, "collections = a\nmax_await_time = 200ms");
    CALL(SLUICE_OK, api()->cdc_start(in.inst, tables, 1, position.data,
                                     position.len, ERR));
    batch_reset(&got);
    poll_records(&in, &got, 1, &last);
    CHECK(got.count == 1);
    if (got.count) {
        sluice_record r = record_at(&got, 0);
        CHECK(r.op == SLUICE_OP_INSERT);
        CHECK(r.doc_len && strstr(r.doc, "9"));
    }
    /* a captured collection dropped: its table stops, the pipe goes on */
    CHECK(mongoc_collection_drop(a, &e));
    batch_reset(&got);
    poll_records(&in, &got, 1, &last);
    CHECK(last == SLUICE_OK && got.count == 0);
    /* ... and the batch tells the core, with the reason */
    size_t at = 0;
    const char *stopped, *reason;
    CHECK(batch_next_stopped(&got, &at, &stopped, &reason));
    if (at) {
        CHECK(!strcmp(stopped, "a"));
        CHECK_CONTAINS(reason, ".a was dropped at the source");
    }
    CHECK(!batch_next_stopped(&got, &at, &stopped, &reason));
    if (!real_server) {
        /* transient failures: retry, then the stream goes on */
        const char *both[] = {"a", "other"};
        CALL(SLUICE_OK, api()->cdc_start(in.inst, both, 2, position.data,
                                         position.len, ERR));
        run_admin("admin", "{\"sluiceFault\": \"failCommands\", \"count\": 4, "
                           "\"mode\": \"network\"}");
        struct sluice_batch b;
        batch_init(&b, 100, 0);
        sluice_status st = SLUICE_OK;
        for (int i = 0; i < 5; i++) {
            message[0] = '\0';
            sluice_error e2 = {message, sizeof message};
            batch_reset(&b);
            st = api()->cdc_poll(in.inst, &b, 200, &e2);
            if (st != SLUICE_OK)
                break;
        }
        CHECK(st == SLUICE_RETRY);
        CHECK_CONTAINS(message, "source_mongo: ");
        for (int i = 0; i < 4 && st != SLUICE_OK; i++) { /* backing off */
            batch_reset(&b);
            message[0] = '\0';
            sluice_error e2 = {message, sizeof message};
            st = api()->cdc_poll(in.inst, &b, 300, &e2);
        }
        CHECK(st == SLUICE_OK);
        batch_free(&b);
        /* history lost: 286 is fatal, and says what to do */
        run_admin("admin", "{\"sluiceFault\": \"truncateOplog\"}");
        close_source(&in);
        open_source(&in, db, "collections = a");
        CALL(SLUICE_FATAL, api()->cdc_start(in.inst, tables, 1, position.data,
                                            position.len, ERR));
        CHECK_CONTAINS(message, "error 286");
        CHECK_CONTAINS(message, "resync");
    } else {
        printf("skipped on a real replica set: injected faults, error 286\n");
    }
    bson_destroy(d1);
    bson_destroy(d2);
    bson_destroy(s1);
    bson_destroy(set);
    bson_destroy(rep);
    buf_free(&position);
    batch_free(&got);
    values_free(&start);
    mongoc_collection_destroy(a);
    mongoc_collection_destroy(other);
    close_source(&in);
}

static void documents_as_json(void)
{
    char db[64];
    new_db(db, sizeof db);
    bson_t *doc = json(
        "{\"_id\": 5, \"oid\": {\"$oid\": \"5f0000000000000000000001\"}, "
        "\"date\": {\"$date\": \"2024-02-25T01:00:00Z\"}, \"i64\": "
        "{\"$numberLong\": \"9007199254740993\"}, \"dec\": {\"$numberDecimal\": "
        "\"1.10\"}, \"bin\": {\"$binary\": {\"base64\": \"AAE=\", "
        "\"subType\": \"00\"}}, \"re\": {\"$regularExpression\": {\"pattern\": "
        "\"^a\", \"options\": \"i\"}}, \"ts\": {\"$timestamp\": {\"t\": 1, "
        "\"i\": 2}}, \"min\": {\"$minKey\": 1}, \"max\": {\"$maxKey\": 1}, "
        "\"d\": 1.5, \"s\": \"\\u00e9\\\"\\n\", \"n\": null, \"t\": true, "
        "\"arr\": [1, {\"x\": [ ]}]}");
    /* a large document: near MongoDB's 16 MiB limit */
    bson_t *big = bson_new();
    BSON_APPEND_INT32(big, "_id", 6);
    size_t size = 15 << 20;
    char *pad = xmalloc(size + 1);
    memset(pad, 'p', size);
    pad[size] = '\0';
    BSON_APPEND_UTF8(big, "pad", pad);
    free(pad);
    bson_t *both[] = {doc, big};
    insert_all(db, "c", both, 2);
    /* the default form, then relaxed extended JSON, both compact */
    static const char *const configs[] = {NULL, "doc_format = relaxed"};
    static const char *const want[] = {
        "{\"_id\":5,\"oid\":\"5f0000000000000000000001\",\"date\":\"2024-02-"
        "25T01:00:00.000Z\",\"i64\":9007199254740993,\"dec\":\"1.10\",\"bin\":"
        "{\"Subtype\":0,\"Data\":\"AAE=\"},\"re\":{\"Pattern\":\"^a\","
        "\"Options\":\"i\"},\"ts\":{\"T\":1,\"I\":2},\"min\":{},\"max\":{},"
        "\"d\":1.5,\"s\":\"\u00e9\\\"\\n\",\"n\":null,\"t\":true,\"arr\":[1,"
        "{\"x\":[]}]}",
        "{\"_id\":5,\"oid\":{\"$oid\":\"5f0000000000000000000001\"},\"date\":"
        "{\"$date\":\"2024-02-25T01:00:00Z\"},\"i64\":9007199254740993,\"dec\":"
        "{\"$numberDecimal\":\"1.10\"},\"bin\":{\"$binary\":{\"base64\":"
        "\"AAE=\",\"subType\":\"00\"}},\"re\":{\"$regularExpression\":"
        "{\"pattern\":\"^a\",\"options\":\"i\"}},\"ts\":{\"$timestamp\":{"
        "\"t\":1,\"i\":2}},\"min\":{\"$minKey\":1},\"max\":{\"$maxKey\":1},"
        "\"d\":1.5,\"s\":\"\u00e9\\\"\\n\",\"n\":null,\"t\":true,\"arr\":[1,"
        "{\"x\":[]}]}"};
    for (int i = 0; i < 2; i++) {
        struct instance in = {0};
        open_source(&in, db, configs[i]);
        struct sluice_values v = {0};
        CALL(SLUICE_OK, api()->snapshot_partitions(in.inst, "c", &v, ERR));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        CALL(SLUICE_DONE, api()->snapshot_next(in.inst, "c", v.items[0],
                                               v.lens[0], &b, ERR));
        CHECK(b.count == 2);
        if (b.count == 2) {
            sluice_record r = record_at(&b, 0);
            CHECK_TEXT(r.doc, r.doc_len, want[i]);
            CHECK(r.key_len == strlen("{\"$numberInt\":\"5\"}") &&
                  !memcmp(r.key, "{\"$numberInt\":\"5\"}", r.key_len));
            sluice_record large = record_at(&b, 1);
            CHECK(large.doc_len > size);
        }
        batch_free(&b);
        values_free(&v);
        close_source(&in);
    }
    bson_destroy(doc);
    bson_destroy(big);
}

/* U+FFFD, the replacement character, in UTF-8 */
#define FFFD "\xef\xbf\xbd"
#define BIN(b64)                                                              \
    "{ \"$binary\" : { \"base64\" : \"" b64 "\", \"subType\" : \"00\" } }"
/* the original bytes in _sluice_malformed, in the default doc_format */
#define DOC_BIN(b64) "{\"Subtype\":0,\"Data\":\"" b64 "\"}"
/* the key of _id "id\xff": the BSON of {_id: "id\xff"} */
#define BROKEN_ID_KEY                                                         \
    "{\"$malformedId\":{\"$binary\":{\"base64\":"                             \
    "\"EgAAAAJfaWQABAAAAGlk/wAA\",\"subType\":\"00\"}}}"

struct want {
    sluice_op op;
    const char *key, *doc;
};

/* The batch holds exactly these records, in this order. */
static void check_records(const struct sluice_batch *b, const struct want *w,
                          size_t n)
{
    if (b->count != n)
        fprintf(stderr, "  %zu records, want %zu\n", b->count, n);
    CHECK(b->count == n);
    for (size_t i = 0; i < b->count; i++) {
        sluice_record r = record_at(b, i);
        if (i >= n || r.op != w[i].op)
            fprintf(stderr, "  record %zu: op %d key %.*s doc %.*s\n", i, r.op,
                    (int)r.key_len, r.key, (int)r.doc_len, r.doc ? r.doc : "");
        if (i >= n)
            continue;
        CHECK(r.op == w[i].op);
        CHECK_TEXT(r.key, r.key_len, w[i].key);
        CHECK_TEXT(r.doc, r.doc_len, w[i].doc);
    }
}

static bson_t *with_id_text(const char *id, size_t len)
{
    bson_t *d = bson_new();
    bson_append_utf8(d, "_id", 3, id, (int)len);
    return d;
}

/* Text that is not valid UTF-8, in values, a field name and _id: every
 * document arrives, with U+FFFD in its JSON and the original bytes kept
 * beside it; the broken _id keeps a key of its own, apart from the valid
 * _id whose text is the replacement's; each is counted, and the table
 * logged once. A restart from a progress whose _id is broken reads on. */
static void invalid_utf8_in_a_snapshot(void)
{
    char db[64];
    new_db(db, sizeof db);
    bson_t *docs[7];
    docs[0] = bson_new();
    BSON_APPEND_INT32(docs[0], "_id", 1);
    bson_append_utf8(docs[0], "s", -1, "caf\xe9", 4);
    BSON_APPEND_UTF8(docs[0], "ok", "fine");
    bson_t sub, arr;
    BSON_APPEND_DOCUMENT_BEGIN(docs[0], "sub", &sub);
    bson_append_utf8(&sub, "t", -1,
                     "\xff\xfe"
                     "A",
                     3);
    bson_append_document_end(docs[0], &sub);
    BSON_APPEND_ARRAY_BEGIN(docs[0], "arr", &arr);
    BSON_APPEND_UTF8(&arr, "0", "x");
    bson_append_utf8(&arr, "1", -1, "\xc3", 1);
    bson_append_array_end(docs[0], &arr);
    docs[1] = json("{\"_id\": 2, \"s\": \"plain\"}");
    /* a type JSON has not, and an encoded surrogate */
    docs[2] = json("{\"_id\": 3, \"dec\": {\"$numberDecimal\": \"1.5\"}}");
    bson_append_utf8(docs[2], "s", -1, "\xed\xa0\x80", 3);
    docs[3] = bson_new();
    BSON_APPEND_INT32(docs[3], "_id", 4);
    BSON_APPEND_UTF8(docs[3], "k\xff", "v");
    docs[4] = with_id_text("id" FFFD, 5); /* valid: the replacement's text */
    docs[5] = with_id_text("id\xff", 3);
    BSON_APPEND_INT32(docs[5], "v", 2);
    docs[6] = json("{\"_id\": \"zz\"}");
    insert_unchecked(db, "texts", docs, 7);
    for (size_t i = 0; i < 7; i++)
        bson_destroy(docs[i]);

    struct instance in = {0};
    open_source(&in, db, NULL);
    struct sluice_values v = {0};
    CALL(SLUICE_OK, api()->snapshot_partitions(in.inst, "texts", &v, ERR));
    struct sluice_batch b;
    batch_init(&b, 6, 0);
    log_begin();
    message[0] = '\0';
    sluice_error e = {message, sizeof message};
    sluice_status st =
        api()->snapshot_next(in.inst, "texts", v.items[0], v.lens[0], &b, &e);
    char *log = log_end();
    if (st != SLUICE_OK)
        fprintf(stderr, "  snapshot_next: %d %s\n", st, message);
    CHECK(st == SLUICE_OK);
    static const struct want snapshot[] = {
        {SLUICE_OP_SNAPSHOT, "{\"$numberInt\":\"1\"}",
         "{\"_id\":1,\"s\":\"caf" FFFD
         "\",\"ok\":\"fine\",\"sub\":{\"t\":\"" FFFD FFFD
         "A\"},\"arr\":[\"x\",\"" FFFD
         "\"],\"_sluice_malformed\":{\"s\":" DOC_BIN("Y2Fm6Q==") ",\"sub.t\":" DOC_BIN(
             "//5B") ",\"arr.1\":" DOC_BIN("ww==") "}}"},
        {SLUICE_OP_SNAPSHOT, "{\"$numberInt\":\"2\"}",
         "{\"_id\":2,\"s\":\"plain\"}"},
        {SLUICE_OP_SNAPSHOT, "{\"$numberInt\":\"3\"}",
         "{\"_id\":3,\"dec\":\"1.5\",\"s\":\"" FFFD FFFD FFFD
         "\",\"_sluice_malformed\":{\"s\":" DOC_BIN("7aCA") "}}"},
        /* a broken field name: its document's original BSON, at its path
         * (the top level's is "") */
        {SLUICE_OP_SNAPSHOT, "{\"$numberInt\":\"4\"}",
         "{\"_id\":4,\"k" FFFD "\":\"v\",\"_sluice_malformed\":{\"\":" DOC_BIN(
             "GAAAABBfaWQABAAAAAJr/wACAAAAdgAA") "}}"},
        {SLUICE_OP_SNAPSHOT, "id" FFFD, "{\"_id\":\"id" FFFD "\"}"},
        {SLUICE_OP_SNAPSHOT, BROKEN_ID_KEY,
         "{\"_id\":\"id" FFFD
         "\",\"v\":2,\"_sluice_malformed\":{\"_id\":" DOC_BIN("aWT/") "}}"},
    };
    check_records(&b, snapshot, 6);
    CHECK(context_metric(in.ctx, "documents_malformed_total") == 4);
    CHECK(count_of(log, "not valid UTF-8") == 1);
    CHECK_CONTAINS(log, "texts");
    CHECK_CONTAINS(log, "{\"_id\":1}");
    free(log);
    /* a new process reads on after the broken _id */
    struct buf pos = {0};
    buf_append(&pos, b.position.data, b.position.len);
    close_source(&in);
    open_source(&in, db, NULL);
    batch_reset(&b);
    CALL(SLUICE_DONE,
         api()->snapshot_next(in.inst, "texts", pos.data, pos.len, &b, ERR));
    CHECK(b.count == 1);
    if (b.count == 1) {
        sluice_record r = record_at(&b, 0);
        CHECK_TEXT(r.key, r.key_len, "zz");
    }
    buf_free(&pos);
    batch_free(&b);
    values_free(&v);
    close_source(&in);
}

/* The same in change events: inserts and updates carry the replaced text
 * and the original bytes, never an empty document; the changes of a
 * broken _id arrive (none dropped) under the snapshot's key, so that its
 * update and delete reach its row. */
static void invalid_utf8_in_changes(void)
{
    char db[64];
    new_db(db, sizeof db);
    bson_t *seed = json("{\"_id\": 0}"); /* not captured */
    insert_all(db, "other", &seed, 1);
    bson_destroy(seed);
    struct instance in = {0};
    open_source(&in, db, "collections = texts\nmax_await_time = 200ms");
    struct sluice_values start = {0};
    CALL(SLUICE_OK, api()->snapshot_begin(in.inst, &start, ERR));
    mongoc_collection_t *c = mongoc_client_get_collection(admin, db, "texts");
    bson_t *unchecked = BCON_NEW("validate", BCON_BOOL(false));
    bson_t *d10 = json("{\"_id\": 10}");
    bson_append_utf8(d10, "s", -1, "caf\xe9", 4);
    bson_t *s10 = json("{\"_id\": 10}"), *set = json("{\"$set\": {\"n\": 1}}");
    bson_t *broken = with_id_text("id\xff", 3);
    BSON_APPEND_INT32(broken, "v", 1);
    bson_t *sbroken = with_id_text("id\xff", 3);
    bson_t *valid = with_id_text("id" FFFD, 5);
    bson_error_t e;
    CHECK(mongoc_collection_insert_one(c, d10, unchecked, NULL, &e));
    CHECK(mongoc_collection_update_one(c, s10, set, unchecked, NULL, &e));
    CHECK(mongoc_collection_insert_one(c, broken, unchecked, NULL, &e));
    CHECK(mongoc_collection_update_one(c, sbroken, set, unchecked, NULL, &e));
    const char *tables[] = {"texts"};
    CALL(SLUICE_OK, api()->cdc_start(in.inst, tables, 1, start.items[0],
                                     start.lens[0], ERR));
    struct sluice_batch got;
    batch_init(&got, 0, 0);
    sluice_status last;
    log_begin();
    /* read before the deletes: updateLookup finds the documents */
    poll_records(&in, &got, 4, &last);
    CHECK(mongoc_collection_delete_one(c, sbroken, NULL, NULL, &e));
    CHECK(mongoc_collection_delete_one(c, s10, NULL, NULL, &e));
    CHECK(mongoc_collection_insert_one(c, valid, NULL, NULL, &e));
    poll_records(&in, &got, 7, &last);
    char *log = log_end();
    CHECK(last == SLUICE_OK);
    static const struct want changes[] = {
        {SLUICE_OP_INSERT, "{\"$numberInt\":\"10\"}",
         "{\"_id\":10,\"s\":\"caf" FFFD
         "\",\"_sluice_malformed\":{\"s\":" DOC_BIN("Y2Fm6Q==") "}}"},
        {SLUICE_OP_UPDATE, "{\"$numberInt\":\"10\"}",
         "{\"_id\":10,\"s\":\"caf" FFFD
         "\",\"n\":1,\"_sluice_malformed\":{\"s\":" DOC_BIN("Y2Fm6Q==") "}}"},
        {SLUICE_OP_INSERT, BROKEN_ID_KEY,
         "{\"_id\":\"id" FFFD
         "\",\"v\":1,\"_sluice_malformed\":{\"_id\":" DOC_BIN("aWT/") "}}"},
        {SLUICE_OP_UPDATE, BROKEN_ID_KEY,
         "{\"_id\":\"id" FFFD
         "\",\"v\":1,\"n\":1,\"_sluice_malformed\":{\"_id\":" DOC_BIN(
             "aWT/") "}}"},
        {SLUICE_OP_DELETE, BROKEN_ID_KEY, ""},
        {SLUICE_OP_DELETE, "{\"$numberInt\":\"10\"}", ""},
        {SLUICE_OP_INSERT, "id" FFFD, "{\"_id\":\"id" FFFD "\"}"},
    };
    check_records(&got, changes, 7);
    CHECK(context_metric(in.ctx, "documents_malformed_total") == 5);
    CHECK(count_of(log, "not valid UTF-8") == 1);
    CHECK_CONTAINS(log, "{\"_id\":10}");
    free(log);
    bson_destroy(unchecked);
    bson_destroy(d10);
    bson_destroy(s10);
    bson_destroy(set);
    bson_destroy(broken);
    bson_destroy(sbroken);
    bson_destroy(valid);
    batch_free(&got);
    values_free(&start);
    mongoc_collection_destroy(c);
    close_source(&in);
}

static void listing_and_estimates(void)
{
    char db[64];
    new_db(db, sizeof db);
    bson_t *d = json("{\"_id\": 1}");
    insert_all(db, "x", &d, 1);
    insert_all(db, "y", &d, 1);
    bson_destroy(d);
    struct instance in = {0};
    open_source(&in, db, NULL);
    struct sluice_values v = {0};
    CALL(SLUICE_OK, api()->list_tables(in.inst, &v, ERR));
    CHECK(v.count == 2);
    uint64_t rows = 0;
    CALL(SLUICE_OK, api()->estimate_rows(in.inst, "x", &rows, ERR));
    CHECK(rows == 1);
    values_free(&v);
    close_source(&in);
    /* a URI of the right scheme that the driver refuses (the core has
     * refused any other scheme, see tests/config/cases/bad_scheme.ini) */
    struct instance bad = {0};
    bad.data = xcalloc(1, source->config_size);
    struct diags dg = {0};
    struct option_source src = {"t", "s", NULL, 0};
    options_apply(source->options, source->option_count, &src, bad.data, &dg);
    struct error perr;
    CHECK(option_parse(&source->options[0], "mongodb://h:99999999/", bad.data,
                       &perr) == 0);
    option_parse(&source->options[1], "db", bad.data, &perr);
    diags_free(&dg);
    bad.ctx = context_new("source_mongo", "test");
    CALL(SLUICE_FATAL, api()->open(bad.ctx, bad.data, &bad.inst, ERR));
    CHECK_CONTAINS(message, "source_mongo: uri:");
    close_source(&bad);
}

int main(void)
{
    const char *env = getenv("SLUICE_TEST_MONGO_URI");
    real_server = env && env[0];
    if (real_server) {
        snprintf(uri, sizeof uri, "%s", env);
        printf("against the replica set of SLUICE_TEST_MONGO_URI\n");
    } else {
        start_test_server();
        printf("against mongo_test_server (set SLUICE_TEST_MONGO_URI for a "
               "real replica set)\n");
    }
    mongoc_init();
    admin = mongoc_client_new(uri);
    mongoc_client_set_error_api(admin, MONGOC_ERROR_API_VERSION_2);
    struct registry reg;
    struct error err;
    registry_init(&reg);
    char *so = xasprintf("%s/source_mongo.so", PLUGIN_DIR);
    if (registry_load_file(&reg, so, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    free(so);
    source = registry_find(&reg, "source_mongo");
    RUN(partitions_of_every_id_type);
    RUN(snapshot_resumed_from_the_middle);
    RUN(every_change_and_a_restart);
    RUN(documents_as_json);
    RUN(invalid_utf8_in_a_snapshot);
    RUN(invalid_utf8_in_changes);
    RUN(listing_and_estimates);
    mongoc_client_destroy(admin);
    registry_free(&reg);
    mongoc_cleanup();
    if (!real_server) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    return TEST_RESULT();
}
