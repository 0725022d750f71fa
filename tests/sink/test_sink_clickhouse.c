/* test_sink_clickhouse.c CH_DIR: sink_clickhouse through the sink ABI, as
 * the core drives it, against a real ClickHouse server (tests/servers/
 * clickhouse.sh; its URL in CH_DIR/url): setup, writes, replays, splits,
 * formats and compression, large documents, names, incompatible tables,
 * the resync swap, drops, and every class of error, including servers
 * that refuse, stall, overload or hang up (a fake server in a thread),
 * and instances that fail in threads of their own at once. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../test.h"
#include "options/options.h"
#include "plugin/batch.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "plugin/values.h"
#include "util/buf.h"
#include "util/mem.h"

static char url[256];
static const struct plugin *sink;
static int db_counter;

/* ---- talking to the server directly, to check what the sink did ---- */

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    buf_append(user, data, size * n);
    return size * n;
}

/* The answer to `sql` (TSV), "" on failure. The caller frees it. */
static char *query(const char *sql)
{
    CURL *c = curl_easy_init();
    struct buf out = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, sql);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    long http = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_cleanup(c);
    if (http != 200) {
        fprintf(stderr, "  query failed (%ld): %s\n  %s\n", http, sql,
                out.data ? out.data : "");
        buf_reset(&out);
    }
    return buf_take(&out);
}

#define CHECK_QUERY(sql, expected)                                            \
    do {                                                                      \
        char *got_ = query(sql);                                              \
        CHECK_STR(got_, expected);                                            \
        free(got_);                                                           \
    } while (0)

/* ---- a sink instance, configured as from an INI section ---- */

struct instance {
    void *data; /* the config struct */
    void *inst;
    sluice_context *ctx;
    char db[64];
};

/* A sink on the database `db` (NULL: one of its own). */
static sluice_status open_sink_on(struct instance *in, const char *db,
                                  const char *url_override,
                                  const char *extra_options, char *message,
                                  size_t size)
{
    if (db)
        snprintf(in->db, sizeof in->db, "%s", db);
    else
        snprintf(in->db, sizeof in->db, "sink_test_%d_%d", (int)getpid(),
                 ++db_counter);
    char path[] = "/tmp/sluice-sink-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "[s]\nurl = %s\ndatabase = %s\n%s\n",
            url_override ? url_override : url, in->db,
            extra_options ? extra_options : "");
    fclose(f);
    struct ini_doc doc;
    struct diags d = {0};
    struct error err;
    CHECK(ini_doc_load(path, &doc, &d, &err) == 0);
    in->data = xcalloc(1, sink->config_size);
    struct option_source src = {path, "s", ini_doc_section(&doc, "s"), 1};
    options_apply(sink->options, sink->option_count, &src, in->data, &d);
    for (size_t i = 0; i < d.count; i++)
        fprintf(stderr, "  %s\n", d.errors[i]);
    CHECK(d.count == 0);
    diags_free(&d);
    ini_doc_free(&doc);
    unlink(path);
    in->ctx = context_new("sink_clickhouse", "test");
    sluice_error e = {message, size};
    return sink->info.sink.open(in->ctx, in->data, &in->inst, &e);
}

static sluice_status open_sink(struct instance *in, const char *url_override,
                               const char *extra_options, char *message,
                               size_t size)
{
    return open_sink_on(in, NULL, url_override, extra_options, message, size);
}

static void close_sink(struct instance *in)
{
    if (in->inst)
        sink->info.sink.close(in->inst);
    options_free(sink->options, sink->option_count, in->data);
    free(in->data);
    context_free(in->ctx);
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", in->db);
    free(query(sql));
    memset(in, 0, sizeof *in);
}

/* Runs a callback, expecting `want`; returns the message. */
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

static void add(struct sluice_batch *b, const char *table, sluice_op op,
                const char *key, const char *doc, uint64_t version)
{
    char msg[128];
    sluice_error e = {msg, sizeof msg};
    sluice_record r = {.size = sizeof r,
                       .op = op,
                       .table = table,
                       .table_len = strlen(table),
                       .key = key,
                       .key_len = strlen(key),
                       .doc = doc,
                       .doc_len = doc ? strlen(doc) : 0,
                       .version = version};
    CHECK(batch_add(b, &r, &e) == SLUICE_OK);
}

static const sluice_sink_info *api(void)
{
    return &sink->info.sink;
}

/* A write, then the flush that makes it durable: the first failure. */
static sluice_status write_flush(void *inst, const struct sluice_batch *b,
                                 sluice_error *err)
{
    sluice_status st = api()->write(inst, b, err);
    return st == SLUICE_OK ? api()->flush(inst, err) : st;
}

static void setup_is_idempotent(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT name, type FROM system.columns WHERE database = '%s' "
             "AND table = 'orders'",
             in.db);
    CHECK_QUERY(sql, "_id\tString\ndoc\tString\n_version\tUInt64\n"
                     "_is_deleted\tUInt8\n_synced_at\tDateTime\n");
    snprintf(sql, sizeof sql,
             "SELECT engine_full FROM system.tables WHERE database = '%s' AND "
             "name = 'orders'",
             in.db);
    char *engine = query(sql);
    CHECK_CONTAINS(engine, "ReplacingMergeTree(_version) ORDER BY _id");
    free(engine);
    close_sink(&in);
}

#define FINAL_ROWS                                                            \
    "SELECT _id, doc, _version, _is_deleted FROM %s.orders FINAL ORDER BY _id"

/* The metadata columns of each column_names, in the table's order. */
static const struct names {
    const char *option; /* as the sink's section sets it */
    const char *version, *is_deleted, *synced_at;
    const char *columns; /* system.columns of a table made on 18.16 */
} names_of[] = {
    {"column_names = sluice", "_version", "_is_deleted", "_synced_at",
     "_id\tString\ndoc\tString\n_version\tUInt64\n_is_deleted\tUInt8\n"
     "_synced_at\tDateTime\n"},
    {"column_names = clickpipes", "_peerdb_version", "_peerdb_is_deleted",
     "_peerdb_synced_at",
     "_id\tString\ndoc\tString\n_peerdb_synced_at\tDateTime\n"
     "_peerdb_is_deleted\tUInt8\n_peerdb_version\tUInt64\n"},
};

/* SELECT of `table`'s rows after FINAL, deleted ones too, by n's names. */
static void final_rows(char *sql, size_t size, const char *db,
                       const char *table, const struct names *n)
{
    snprintf(sql, size,
             "SELECT _id, doc, %s, %s FROM %s.%s FINAL ORDER BY _id",
             n->version, n->is_deleted, db, table);
}

/* The columns of db.table as system.columns gives them. */
static char *columns_of(const char *db, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT name, type FROM system.columns WHERE database = '%s' "
             "AND table = '%s'",
             db, table);
    return query(sql);
}

/* Seven changes of three keys: 1 and 2 snapshot, 3 inserted, 2 updated,
 * 1 replaced, 3 deleted, and an update of 2 older than the others. After
 * FINAL: 1 done (13), 2 sent (12), 3 deleted (14). */
static void add_history(struct sluice_batch *b, const char *t)
{
    add(b, t, SLUICE_OP_SNAPSHOT, "1", "{\"status\":\"new\"}", 10);
    add(b, t, SLUICE_OP_SNAPSHOT, "2", "{\"status\":\"new\"}", 10);
    add(b, t, SLUICE_OP_INSERT, "3", "{\"status\":\"paid\"}", 11);
    add(b, t, SLUICE_OP_UPDATE, "2", "{\"status\":\"sent\"}", 12);
    add(b, t, SLUICE_OP_REPLACE, "1", "{\"status\":\"done\"}", 13);
    add(b, t, SLUICE_OP_DELETE, "3", NULL, 14);
    add(b, t, SLUICE_OP_UPDATE, "2", "{\"status\":\"stale\"}", 9);
}

static void writes_and_replays(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add_history(&b, "orders");
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    CALL(SLUICE_OK, api()->flush(in.inst, ERR));
    char sql[256];
    snprintf(sql, sizeof sql, FINAL_ROWS, in.db);
    const char *expected = "1\t{\"status\":\"done\"}\t13\t0\n"
                           "2\t{\"status\":\"sent\"}\t12\t0\n3\t\t14\t1\n";
    CHECK_QUERY(sql, expected);
    /* a replay after a crash: the same FINAL result */
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    CHECK_QUERY(sql, expected);
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s.orders FINAL WHERE _is_deleted = 0",
             in.db);
    CHECK_QUERY(sql, "2\n");
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s.orders WHERE _synced_at >= now() - 60",
             in.db);
    CHECK_QUERY(sql, "14\n");
    batch_free(&b);
    close_sink(&in);
}

static void batches_split_at_max_bytes(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, "max_batch_bytes = 64KiB", message,
                              sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "items", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    char key[32], doc[160];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "%d", i);
        snprintf(doc, sizeof doc, "{\"n\":%d,\"pad\":\"%0100d\"}", i, i);
        add(&b, i % 2 ? "orders" : "items", SLUICE_OP_SNAPSHOT, key, doc, 1);
    }
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    double requests = context_metric(in.ctx, "insert_requests_total");
    CHECK(requests >= 10); /* about 700 KB in 64 KiB requests */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(), uniqExact(_id), sum(length(doc)) > 0 FROM "
             "%s.orders",
             in.db);
    CHECK_QUERY(sql, "2500\t2500\t1\n");
    batch_free(&b);
    close_sink(&in);
}

/* Writes go into one open insert per table until the flush: one request
 * and one part per table, however many writes; nothing stored before. */
static void writes_stream_until_flush(void)
{
    const char *variants[] = {NULL, "compression = gzip"};
    for (size_t v = 0; v < 2; v++) {
        struct instance in = {0};
        CALL(SLUICE_OK,
             open_sink(&in, NULL, variants[v], message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "items", ERR));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        char key[32], doc[512]; /* 6 MB in all: libcurl gets it in chunks */
        for (int w = 0; w < 5; w++) {
            batch_reset(&b);
            for (int i = 0; i < 3000; i++) {
                snprintf(key, sizeof key, "%d", w * 3000 + i);
                snprintf(doc, sizeof doc, "{\"n\":%d,\"pad\":\"%0400d\"}", i,
                         i);
                add(&b, i % 3 ? "orders" : "items", SLUICE_OP_SNAPSHOT, key,
                    doc, 1);
            }
            CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
        }
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count() FROM %s.orders) + (SELECT count() "
                 "FROM %s.items)",
                 in.db, in.db);
        CHECK_QUERY(sql, "0\n");
        CHECK(context_metric(in.ctx, "insert_requests_total") == 0);
        CALL(SLUICE_OK, api()->flush(in.inst, ERR));
        CHECK(context_metric(in.ctx, "insert_requests_total") == 2);
        CHECK_QUERY(sql, "15000\n");
        snprintf(sql, sizeof sql,
                 "SELECT table, count() FROM system.parts WHERE database = "
                 "'%s' AND active GROUP BY table ORDER BY table",
                 in.db);
        CHECK_QUERY(sql, "items\t1\norders\t1\n");
        CALL(SLUICE_OK, api()->flush(in.inst, ERR)); /* nothing open */
        batch_free(&b);
        close_sink(&in);
    }
}

/* Writes to more tables than inserts are kept open: each table past the
 * 16th finishes the insert written to longest ago, so the 40 tables of a
 * batch cost 24 inserts before the flush and 16 at it, and every row
 * arrives. */
static void open_inserts_are_bounded(void)
{
    enum { TABLES = 40, ROWS = 5 };
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    char table[32], key[32];
    for (int t = 0; t < TABLES; t++) {
        snprintf(table, sizeof table, "t%02d", t);
        CALL(SLUICE_OK, api()->setup_table(in.inst, table, ERR));
    }
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    for (int t = 0; t < TABLES; t++)
        for (int i = 0; i < ROWS; i++) {
            snprintf(table, sizeof table, "t%02d", t);
            snprintf(key, sizeof key, "%d", i);
            add(&b, table, SLUICE_OP_SNAPSHOT, key, "{\"n\":1}", 1);
        }
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    CHECK(context_metric(in.ctx, "insert_requests_total") == TABLES - 16);
    CALL(SLUICE_OK, api()->flush(in.inst, ERR));
    CHECK(context_metric(in.ctx, "insert_requests_total") == TABLES);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(), uniqExact(_table) FROM merge('%s', '^t[0-9]+$')",
             in.db);
    CHECK_QUERY(sql, "200\t40\n");
    batch_free(&b);
    close_sink(&in);
}

/* An insert open for half the request timeout ends at the next write,
 * to its table or not, before the timeout can strike it. */
static void old_inserts_end_before_the_timeout(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, "request_timeout = 1s", message,
                              sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "items", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    struct timespec pause = {0, 700 * 1000000L};
    nanosleep(&pause, NULL);
    batch_reset(&b);
    add(&b, "items", SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    CHECK(context_metric(in.ctx, "insert_requests_total") == 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count() FROM %s.orders", in.db);
    CHECK_QUERY(sql, "1\n");
    nanosleep(&pause, NULL); /* an insert idle a while, then flushed */
    CALL(SLUICE_OK, api()->flush(in.inst, ERR));
    snprintf(sql, sizeof sql, "SELECT count() FROM %s.items", in.db);
    CHECK_QUERY(sql, "1\n");
    batch_free(&b);
    close_sink(&in);
}

/* A refused write drops what was written since the flush, and the
 * instance goes on: the batches written again land. */
static void refusal_drops_open_inserts(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "bad", ERR));
    char sql[256];
    snprintf(sql, sizeof sql,
             "ALTER TABLE %s.bad MODIFY COLUMN _is_deleted Date", in.db);
    free(query(sql));
    struct sluice_batch good, bad;
    batch_init(&good, 0, 0);
    batch_init(&bad, 0, 0);
    add(&good, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    add(&bad, "bad", SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_OK, api()->write(in.inst, &good, ERR));
    CALL(SLUICE_FATAL, write_flush(in.inst, &bad, ERR));
    CHECK_CONTAINS(message, "INSERT INTO `sink_test_");
    /* refused early in a long body: the server's answer, not the broken
     * send that follows, decides */
    char key[32], doc[256];
    for (int i = 2; i < 200000; i++) {
        snprintf(key, sizeof key, "%d", i);
        snprintf(doc, sizeof doc, "{\"pad\":\"%0180d\"}", i);
        add(&bad, "bad", SLUICE_OP_INSERT, key, doc, 1);
    }
    CALL(SLUICE_FATAL, write_flush(in.inst, &bad, ERR));
    CHECK_CONTAINS(message, "Code: ");
    CALL(SLUICE_OK, api()->flush(in.inst, ERR)); /* nothing left open */
    CALL(SLUICE_OK, write_flush(in.inst, &good, ERR));
    snprintf(sql, sizeof sql, "SELECT count() FROM %s.orders FINAL", in.db);
    CHECK_QUERY(sql, "1\n");
    batch_free(&good);
    batch_free(&bad);
    close_sink(&in);
}

static void formats_and_compression(void)
{
    const char *variants[] = {"format = JSONEachRow", "compression = gzip",
                              "format = JSONEachRow\ncompression = gzip"};
    for (size_t v = 0; v < 3; v++) {
        struct instance in = {0};
        CALL(SLUICE_OK,
             open_sink(&in, NULL, variants[v], message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        add(&b, "orders", SLUICE_OP_INSERT, "\"k\\\"1\"",
            "{\"s\":\"tab\\there \\u00e9\"}", 5);
        add(&b, "orders", SLUICE_OP_DELETE, "\"k2\"", NULL, 6);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        char sql[256];
        snprintf(sql, sizeof sql, FINAL_ROWS, in.db);
        CHECK_QUERY(
            sql, "\"k2\"\t\t6\t1\n"
                 "\"k\\\\\"1\"\t{\"s\":\"tab\\\\there \\\\u00e9\"}\t5\t0\n");
        batch_free(&b);
        close_sink(&in);
    }
}

static void large_documents(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    size_t n = 16 << 20; /* MongoDB's largest document */
    char *doc = xmalloc(n + 1);
    memset(doc, 'x', n);
    memcpy(doc, "{\"big\":\"", 8);
    memcpy(doc + n - 2, "\"}", 2);
    doc[n] = '\0';
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1", doc, 1);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT length(doc) FROM %s.orders", in.db);
    char want[32];
    snprintf(want, sizeof want, "%zu\n", n);
    CHECK_QUERY(sql, want);
    free(doc);
    batch_free(&b);
    close_sink(&in);
}

static void table_names(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK,
         open_sink(&in, NULL, "table_prefix = mongo_\ntable_suffix = _v1",
                   message, sizeof message));
    const char *odd = "we`ird.na\\me";
    CALL(SLUICE_OK, api()->setup_table(in.inst, odd, ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, odd, SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT name FROM system.tables WHERE database = "
             "'%s'",
             in.db);
    char *tables = query(sql);
    CHECK_CONTAINS(tables, "mongo_we`ird.na\\\\me_v1");
    free(tables);
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s.`mongo_we\\`ird.na\\\\me_v1`", in.db);
    CHECK_QUERY(sql, "1\n");
    batch_free(&b);
    close_sink(&in);
}

static void incompatible_table(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "ok", ERR)); /* the database */
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s.bad (_id UInt64, doc String, _is_deleted "
             "String) ENGINE = MergeTree ORDER BY _id",
             in.db);
    free(query(sql));
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "bad", ERR));
    CHECK_CONTAINS(message, "table `sink_test_");
    CHECK_CONTAINS(message, "exists and is not compatible: column _id is "
                            "UInt64 (want String); column _version is missing "
                            "(want UInt64); column _is_deleted is String "
                            "(want UInt8); column _synced_at is missing");
    CHECK_CONTAINS(message, "engine is MergeTree (want ReplacingMergeTree");
    close_sink(&in);
}

/* A name the server's file system cannot take: 18.x answers code 1000
 * (POCO_EXCEPTION) "Bad path syntax", which no retry passes. The table
 * fails alone; the next table is set up. */
static void refused_name_fails_the_table(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    char name[200] = "";
    for (int i = 0; i < 60; i++)
        strcat(name, "\xc3\xbc"); /* ü */
    message[0] = '\0';
    sluice_error e = {message, sizeof message};
    sluice_status st = api()->setup_table(in.inst, name, &e);
    if (st == SLUICE_OK) { /* a server whose file system takes it */
        printf("  (skipped: the server accepts a name of 60 x u-umlaut)\n");
    } else {
        CHECK(st == SLUICE_FATAL_TABLE);
        CHECK_CONTAINS(message, "CREATE TABLE");
    }
    CALL(SLUICE_OK, api()->setup_table(in.inst, "fine", ERR));
    close_sink(&in);
}

/* The destination a table maps to, from the config alone. */
static char *destination_of(struct instance *in, const char *table)
{
    struct sluice_values v = {0};
    char msg[256];
    sluice_error e = {msg, sizeof msg};
    CHECK(api()->destination(in->data, table, &v, &e) == SLUICE_OK);
    CHECK(v.count == 1);
    char *name = v.count ? xstrdup(v.items[0]) : xstrdup("");
    values_free(&v);
    return name;
}

static sluice_owner owner_of(const char *store_id, const char *pipe,
                             const char *table)
{
    return (sluice_owner){.size = sizeof(sluice_owner),
                          .store_id = store_id,
                          .store_name = "sqlite:/test/sluice.db",
                          .pipe = pipe,
                          .table = table};
}

/* One owner per destination table, recorded in the database itself: a
 * second deployment (another store id) is refused, naming the owner; a
 * table not created by sluice is refused unless adopted (or set up before
 * owners were recorded); adopt takes a table over; dropping it frees it;
 * the sink's own names are refused. */
static void one_owner_per_table(void)
{
    struct instance a = {0}, b = {0}, c = {0};
    CALL(SLUICE_OK, open_sink(&a, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, open_sink_on(&b, a.db, NULL, "adopt = true", message,
                                 sizeof message));
    /* the same server however it is spelled; another database differs */
    char other_url[300];
    snprintf(other_url, sizeof other_url, "%s/", url);
    char *at = strstr(other_url, "127.0.0.1");
    memcpy(at, "LOCALHOST", 9);
    CALL(SLUICE_OK, open_sink(&c, other_url, NULL, message, sizeof message));
    char *da = destination_of(&a, "orders"),
         *db = destination_of(&b, "orders"),
         *dc = destination_of(&c, "orders");
    CHECK_STR(da, db);
    CHECK_CONTAINS(da, "`.`orders`");
    CHECK(strcmp(da, dc) != 0);
    CHECK_CONTAINS(dc, "localhost:");
    free(da);
    free(db);
    free(dc);
    sluice_owner s1 = owner_of("store-1", "p", "orders");
    sluice_owner s2 = owner_of("store-2", "p", "orders");
    CALL(SLUICE_OK, api()->claim(a.inst, &s1, ERR));
    CALL(SLUICE_OK, api()->setup_table(a.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->claim(a.inst, &s1, ERR)); /* again: still its */
    CALL(SLUICE_FATAL_TABLE, api()->claim(a.inst, &s2, ERR));
    CHECK_CONTAINS(message, "belongs to pipe 'p' (its table 'orders') of "
                            "another store (sqlite:/test/sluice.db, id "
                            "store-1)");
    CHECK_CONTAINS(message, "adopt = true");
    /* a table sluice did not create */
    char sql[300];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s.legacy (_id String, doc String, _version "
             "UInt64, _is_deleted UInt8, _synced_at DateTime) ENGINE = "
             "ReplacingMergeTree(_version) ORDER BY _id",
             a.db);
    free(query(sql));
    sluice_owner legacy = owner_of("store-1", "p", "legacy");
    CALL(SLUICE_FATAL_TABLE, api()->claim(a.inst, &legacy, ERR));
    CHECK_CONTAINS(message, "exists and was not created by sluice for pipe "
                            "'p'");
    legacy.upgrade = 1; /* set up by the pipe before owners were recorded */
    CALL(SLUICE_OK, api()->claim(a.inst, &legacy, ERR));
    /* adopt: another deployment takes orders over; the first is refused */
    CALL(SLUICE_OK, api()->claim(b.inst, &s2, ERR));
    CALL(SLUICE_FATAL_TABLE, api()->claim(a.inst, &s1, ERR));
    CHECK_CONTAINS(message, "id store-2");
    /* dropped: no owner, and the next claim takes it */
    CALL(SLUICE_OK, api()->drop_table(b.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->claim(a.inst, &s1, ERR));
    /* the sink's own names are no destination's */
    CALL(SLUICE_FATAL_TABLE,
         api()->setup_table(a.inst, "_sluice_owners", ERR));
    CHECK_CONTAINS(message,
                   "names that begin with _sluice_ are the sink's own");
    sluice_owner own = owner_of("store-1", "p", "_sluice_resync_x");
    CALL(SLUICE_FATAL_TABLE, api()->claim(a.inst, &own, ERR));
    close_sink(&c);
    b.db[0] = '\0';
    sink->info.sink.close(b.inst);
    options_free(sink->options, sink->option_count, b.data);
    free(b.data);
    context_free(b.ctx);
    close_sink(&a);
}

/* Collections orders, orders_resync and orders_resync_old in one pipe: a
 * resync of orders touches neither of the others (its shadow and retired
 * tables have names of the sink's own). */
static void resync_names_never_collide(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    const char *tables[] = {"orders", "orders_resync", "orders_resync_old"};
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    for (size_t i = 0; i < 3; i++) {
        CALL(SLUICE_OK, api()->setup_table(in.inst, tables[i], ERR));
        add(&b, tables[i], SLUICE_OP_INSERT, "1", "{\"v\":\"mine\"}", 5);
    }
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    CALL(SLUICE_OK, api()->resync_begin(in.inst, "orders", ERR));
    batch_reset(&b);
    add(&b, "orders", SLUICE_OP_SNAPSHOT, "2", "{\"v\":\"new\"}", 20);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    CALL(SLUICE_OK, api()->resync_swap(in.inst, "orders", ERR));
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT name FROM system.tables WHERE database = '%s' ORDER BY "
             "name",
             in.db);
    CHECK_QUERY(sql, "orders\norders_resync\norders_resync_old\n");
    for (size_t i = 1; i < 3; i++) {
        snprintf(sql, sizeof sql, "SELECT _id, doc FROM %s.%s FINAL", in.db,
                 tables[i]);
        CHECK_QUERY(sql, "1\t{\"v\":\"mine\"}\n");
    }
    snprintf(sql, sizeof sql, "SELECT _id FROM %s.orders FINAL", in.db);
    CHECK_QUERY(sql, "2\n");
    batch_free(&b);
    close_sink(&in);
}

/* What a resync starts from: key 1 (version 5), and key 9 deleted (6);
 * then the shadow's rows, 1 and 2 (20). */
#define OLD_ROWS "1\t{\"v\":\"old\"}\t5\t0\n9\t\t6\t1\n"
#define SWAPPED_ROWS                                                          \
    "1\t{\"v\":\"new\"}\t20\t0\n2\t{\"v\":\"new\"}\t20\t0\n9\t\t6\t1\n"

static void add_before_resync(struct sluice_batch *b)
{
    add(b, "orders", SLUICE_OP_INSERT, "1", "{\"v\":\"old\"}", 5);
    add(b, "orders", SLUICE_OP_INSERT, "9", "{\"v\":\"gone\"}", 5);
    add(b, "orders", SLUICE_OP_DELETE, "9", NULL, 6);
}

/* The resync under each set of column names: writes go to the shadow,
 * the swap carries across the deletes only the old table has, abort
 * drops the shadow. */
static void resync_swap_and_abort(void)
{
    for (size_t v = 0; v < 2; v++) {
        const struct names *n = &names_of[v];
        struct instance in = {0};
        CALL(SLUICE_OK,
             open_sink(&in, NULL, n->option, message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        add_before_resync(&b);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        CALL(SLUICE_OK, api()->resync_begin(in.inst, "orders", ERR));
        CALL(SLUICE_OK,
             api()->resync_begin(in.inst, "orders", ERR)); /* again */
        batch_reset(&b);
        add(&b, "orders", SLUICE_OP_SNAPSHOT, "1", "{\"v\":\"new\"}", 20);
        add(&b, "orders", SLUICE_OP_SNAPSHOT, "2", "{\"v\":\"new\"}", 20);
        CALL(SLUICE_OK, api()->write(in.inst, &b, ERR)); /* swap flushes */
        char sql[256];
        final_rows(sql, sizeof sql, in.db, "orders", n);
        /* during the resync, the old table is untouched */
        CHECK_QUERY(sql, OLD_ROWS);
        CALL(SLUICE_OK, api()->resync_swap(in.inst, "orders", ERR));
        /* swapped, with the delete only the old table had */
        CHECK_QUERY(sql, SWAPPED_ROWS);
        char *columns = columns_of(in.db, "orders");
        CHECK_STR(columns, n->columns);
        free(columns);
        snprintf(sql, sizeof sql,
                 "SELECT name FROM system.tables WHERE database = '%s' "
                 "ORDER BY name",
                 in.db);
        CHECK_QUERY(sql, "orders\n");
        CALL(SLUICE_OK,
             api()->resync_swap(in.inst, "orders", ERR)); /* again */
        /* writes go to the table again */
        batch_reset(&b);
        add(&b, "orders", SLUICE_OP_INSERT, "3", "{}", 30);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        snprintf(sql, sizeof sql, "SELECT count() FROM %s.orders FINAL",
                 in.db);
        CHECK_QUERY(sql, "4\n");
        /* abort: the shadow goes, the table stays */
        CALL(SLUICE_OK, api()->resync_begin(in.inst, "orders", ERR));
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        CALL(SLUICE_OK, api()->resync_abort(in.inst, "orders", ERR));
        snprintf(sql, sizeof sql,
                 "SELECT name FROM system.tables WHERE database = '%s' "
                 "ORDER BY name",
                 in.db);
        CHECK_QUERY(sql, "orders\n");
        CALL(SLUICE_OK, api()->drop_table(in.inst, "orders", ERR));
        CHECK_QUERY(sql, "_sluice_owners\n"); /* its owner was removed */
        CALL(SLUICE_OK,
             api()->drop_table(in.inst, "orders", ERR)); /* missing */
        batch_free(&b);
        close_sink(&in);
    }
}

/* A sink of the database another sink of the test has: closed without
 * dropping the database. */
static void close_sink_only(struct instance *in)
{
    sink->info.sink.close(in->inst);
    options_free(sink->options, sink->option_count, in->data);
    free(in->data);
    context_free(in->ctx);
    memset(in, 0, sizeof *in);
}

/* Runs a statement of the test's own, which must pass. */
static void run_sql(const char *sql)
{
    char *got = query(sql);
    CHECK(got && !got[0]); /* "" on success; NULL on failure */
    free(got);
}

/* column_names = clickpipes: the table as ClickPipes makes one for a
 * collection (its names, order and engine, as 18.16 allows), written in
 * each format; the queries of ClickPipes' documentation run on it
 * unchanged, but for what 18.16 has not (the JSON type's doc.field,
 * DateTime64(9)): FINAL with _peerdb_is_deleted = 0, argMax on
 * _peerdb_version, and a materialized view made before the rows came
 * that reads the metadata columns by name (into columns of their types:
 * 18.16 converts none on the way into a view's table). */
static void clickpipes_column_names(void)
{
    const char *variants[] = {"", "format = JSONEachRow",
                              "compression = gzip"};
    for (size_t v = 0; v < 3; v++) {
        char options[128];
        snprintf(options, sizeof options, "column_names = clickpipes\n%s",
                 variants[v]);
        struct instance in = {0};
        CALL(SLUICE_OK,
             open_sink(&in, NULL, options, message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "t1", ERR));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "t1", ERR));
        char *columns = columns_of(in.db, "t1");
        CHECK_STR(columns, names_of[1].columns);
        free(columns);
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT engine_full FROM system.tables WHERE database = "
                 "'%s' AND name = 't1'",
                 in.db);
        char *engine = query(sql);
        CHECK_CONTAINS(engine,
                       "ReplacingMergeTree(_peerdb_version) ORDER BY _id");
        free(engine);
        snprintf(sql, sizeof sql,
                 "CREATE TABLE %s.flattened_t1 (_id String, status String, "
                 "_peerdb_version UInt64, _peerdb_synced_at DateTime, "
                 "_peerdb_is_deleted UInt8) ENGINE = "
                 "ReplacingMergeTree(_peerdb_version) PRIMARY KEY _id ORDER "
                 "BY _id",
                 in.db);
        run_sql(sql);
        snprintf(sql, sizeof sql,
                 "CREATE MATERIALIZED VIEW %s.imv TO %s.flattened_t1 AS "
                 "SELECT _id, visitParamExtractString(doc, 'status') AS "
                 "status, _peerdb_version, _peerdb_synced_at, "
                 "_peerdb_is_deleted FROM %s.t1",
                 in.db, in.db, in.db);
        run_sql(sql);
        snprintf(sql, sizeof sql,
                 "CREATE VIEW %s.flattened_t1_final AS SELECT * FROM "
                 "%s.flattened_t1 FINAL WHERE _peerdb_is_deleted = 0",
                 in.db, in.db);
        run_sql(sql);
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        add_history(&b, "t1");
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR)); /* a replay */
        snprintf(sql, sizeof sql,
                 "SELECT _id, doc, _peerdb_is_deleted, _peerdb_version FROM "
                 "(SELECT * FROM %s.t1 FINAL) ORDER BY _id",
                 in.db);
        CHECK_QUERY(sql, "1\t{\"status\":\"done\"}\t0\t13\n"
                         "2\t{\"status\":\"sent\"}\t0\t12\n3\t\t1\t14\n");
        snprintf(sql, sizeof sql,
                 "SELECT _id, doc FROM (SELECT * FROM %s.t1 FINAL WHERE "
                 "_peerdb_is_deleted = 0) ORDER BY _id",
                 in.db);
        CHECK_QUERY(sql, "1\t{\"status\":\"done\"}\n"
                         "2\t{\"status\":\"sent\"}\n");
        snprintf(sql, sizeof sql,
                 "SELECT _id, argMax(doc, _peerdb_version) FROM %s.t1 GROUP "
                 "BY _id HAVING argMax(_peerdb_is_deleted, _peerdb_version) "
                 "= 0 ORDER BY _id",
                 in.db);
        CHECK_QUERY(sql, "1\t{\"status\":\"done\"}\n"
                         "2\t{\"status\":\"sent\"}\n");
        snprintf(sql, sizeof sql,
                 "SELECT _id, status FROM %s.flattened_t1_final ORDER BY _id",
                 in.db);
        CHECK_QUERY(sql, "1\tdone\n2\tsent\n");
        snprintf(sql, sizeof sql,
                 "SELECT count() FROM %s.t1 WHERE _peerdb_synced_at >= "
                 "now() - 60",
                 in.db);
        CHECK_QUERY(sql, "14\n");
        batch_free(&b);
        close_sink(&in);
    }
}

/* A table is never written with names of two sets: one made under the
 * other column_names, or one with names of both, is refused, naming the
 * table, the columns it has and those configured, and saying to resync
 * or drop; nothing is written into it. */
static void column_names_never_mixed(void)
{
    struct instance mine = {0}, theirs = {0};
    CALL(SLUICE_OK,
         open_sink(&mine, NULL, names_of[0].option, message, sizeof message));
    CALL(SLUICE_OK, open_sink_on(&theirs, mine.db, NULL, names_of[1].option,
                                 message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(mine.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(theirs.inst, "items", ERR));
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s.both (_id String, doc String, _version UInt64, "
             "_is_deleted UInt8, _synced_at DateTime, _peerdb_version "
             "UInt64) ENGINE = ReplacingMergeTree(_version) ORDER BY _id",
             mine.db);
    free(query(sql));
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(theirs.inst, "orders", ERR));
    char want[400];
    snprintf(want, sizeof want, "table `%s`.`orders` has the columns ",
             mine.db);
    CHECK_CONTAINS(message, want);
    CHECK_CONTAINS(message,
                   "has the columns _id String, doc String, _version UInt64, "
                   "_is_deleted UInt8, _synced_at DateTime (names of "
                   "column_names = sluice), not those of column_names = "
                   "clickpipes as configured: _id, doc, _peerdb_synced_at, "
                   "_peerdb_is_deleted, _peerdb_version");
    CHECK_CONTAINS(message, "resync the pipe");
    CHECK_CONTAINS(message, "or drop the table");
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(mine.inst, "items", ERR));
    CHECK_CONTAINS(message, "_peerdb_version UInt64 (names of column_names "
                            "= clickpipes), not those of column_names = "
                            "sluice as configured: _id, doc, _version, "
                            "_is_deleted, _synced_at");
    for (int i = 0; i < 2; i++) {
        CALL(SLUICE_FATAL_TABLE,
             api()->setup_table(i ? theirs.inst : mine.inst, "both", ERR));
        CHECK_CONTAINS(message, "(names of column_names = sluice and "
                                "clickpipes)");
    }
    /* written to without a setup: refused (the pipe's failure, since
     * only a setup fails a table alone), nothing lands */
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_FATAL_TABLE, write_flush(theirs.inst, &b, ERR));
    CHECK_CONTAINS(message, "names of column_names = sluice");
    snprintf(sql, sizeof sql, "SELECT count() FROM %s.orders", mine.db);
    CHECK_QUERY(sql, "0\n");
    batch_free(&b);
    close_sink_only(&theirs);
    close_sink(&mine);
}

/* A table set up for a resync, as the core does it: the shadow first. */
static sluice_status resync_set_up(void *inst, const char *table,
                                   sluice_error *err)
{
    sluice_status st = api()->resync_begin(inst, table, err);
    return st == SLUICE_OK ? api()->setup_table(inst, table, err) : st;
}

/* A resync is the way from one set of column names to the other: the
 * core begins it before it sets the table up, so the table of the other
 * names is accepted, only read: the shadow gets the configured names,
 * the deletes of the old table are carried across by the old names, and
 * the swap leaves a table of the configured names only; across a
 * restart too. Aborted, the old table is still refused. */
static void resync_changes_column_names(void)
{
    for (size_t v = 0; v < 2; v++) {
        const struct names *from = &names_of[v], *to = &names_of[1 - v];
        struct instance old = {0}, in = {0};
        CALL(SLUICE_OK,
             open_sink(&old, NULL, from->option, message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(old.inst, "orders", ERR));
        CALL(SLUICE_OK, api()->setup_table(old.inst, "items", ERR));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        add_before_resync(&b);
        add(&b, "items", SLUICE_OP_INSERT, "1", "{}", 5);
        CALL(SLUICE_OK, write_flush(old.inst, &b, ERR));
        char db[64];
        snprintf(db, sizeof db, "%s", old.db);
        close_sink_only(&old);

        CALL(SLUICE_OK,
             open_sink_on(&in, db, NULL, to->option, message, sizeof message));
        CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "orders", ERR));
        CALL(SLUICE_OK, resync_set_up(in.inst, "orders", ERR));
        batch_reset(&b);
        add(&b, "orders", SLUICE_OP_SNAPSHOT, "1", "{\"v\":\"new\"}", 20);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        char sql[256];
        final_rows(sql, sizeof sql, in.db, "orders", from);
        CHECK_QUERY(sql, OLD_ROWS);
        /* a restart: the resync begins again, the shadow kept */
        close_sink_only(&in);
        CALL(SLUICE_OK,
             open_sink_on(&in, db, NULL, to->option, message, sizeof message));
        CALL(SLUICE_OK, resync_set_up(in.inst, "orders", ERR));
        batch_reset(&b);
        add(&b, "orders", SLUICE_OP_SNAPSHOT, "2", "{\"v\":\"new\"}", 20);
        CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
        CALL(SLUICE_OK, api()->resync_swap(in.inst, "orders", ERR));
        char *columns = columns_of(db, "orders");
        CHECK_STR(columns, to->columns);
        free(columns);
        final_rows(sql, sizeof sql, db, "orders", to);
        CHECK_QUERY(sql, SWAPPED_ROWS);
        CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
        batch_reset(&b);
        add(&b, "orders", SLUICE_OP_INSERT, "3", "{}", 30);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        snprintf(sql, sizeof sql,
                 "SELECT count() FROM %s.orders FINAL WHERE %s = 0", db,
                 to->is_deleted);
        CHECK_QUERY(sql, "3\n");
        /* aborted: the table of the other names is refused again */
        CALL(SLUICE_OK, resync_set_up(in.inst, "items", ERR));
        CALL(SLUICE_OK, api()->resync_abort(in.inst, "items", ERR));
        CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "items", ERR));
        batch_reset(&b);
        add(&b, "items", SLUICE_OP_INSERT, "2", "{}", 30);
        CALL(SLUICE_FATAL_TABLE, write_flush(in.inst, &b, ERR));
        snprintf(sql, sizeof sql,
                 "SELECT name FROM system.tables WHERE database = '%s' "
                 "ORDER BY name",
                 db);
        CHECK_QUERY(sql, "items\norders\n");
        snprintf(sql, sizeof sql, "SELECT count() FROM %s.items", db);
        CHECK_QUERY(sql, "1\n");
        batch_free(&b);
        close_sink(&in);
    }
}

/* A table as ClickPipes made it (Int64 version, Int8 deleted; 18.16
 * has no DateTime64(9)), taken over: refused for its types, rebuilt by a
 * resync with the sink's, its deleted rows converted across. */
static void resync_rebuilds_a_clickpipes_table(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK,
         open_sink(&in, NULL, names_of[1].option, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "x", ERR)); /* database */
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s.orders (_id String, doc String, "
             "_peerdb_synced_at DateTime DEFAULT now(), _peerdb_is_deleted "
             "Int8, _peerdb_version Int64) ENGINE = "
             "ReplacingMergeTree(_peerdb_version) PRIMARY KEY _id ORDER BY "
             "_id",
             in.db);
    run_sql(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO %s.orders (_id, doc, _peerdb_is_deleted, "
             "_peerdb_version) VALUES ('1', '{\"v\":\"old\"}', 0, 5), ('9', "
             "'{\"v\":\"gone\"}', 0, 5), ('9', '', 1, 6)",
             in.db);
    run_sql(sql);
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "column _peerdb_is_deleted is Int8 (want UInt8); "
                            "column _peerdb_version is Int64 (want UInt64)");
    CALL(SLUICE_OK, resync_set_up(in.inst, "orders", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_SNAPSHOT, "1", "{\"v\":\"new\"}", 20);
    add(&b, "orders", SLUICE_OP_SNAPSHOT, "2", "{\"v\":\"new\"}", 20);
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    CALL(SLUICE_OK, api()->resync_swap(in.inst, "orders", ERR));
    char *columns = columns_of(in.db, "orders");
    CHECK_STR(columns, names_of[1].columns);
    free(columns);
    final_rows(sql, sizeof sql, in.db, "orders", &names_of[1]);
    CHECK_QUERY(sql, SWAPPED_ROWS);
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    batch_free(&b);
    close_sink(&in);
}

static void server_refusals_are_fatal(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, "user = sluice\npassword = wrong",
                              message, sizeof message));
    CALL(SLUICE_FATAL, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "Wrong password for user sluice");
    CHECK_NOT_CONTAINS(message, "wrong");
    close_sink(&in);

    CALL(SLUICE_OK,
         open_sink(&in, NULL, "user = sluice\npassword = sluice-test", message,
                   sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    char sql[256];
    /* the database goes away under the sink */
    snprintf(sql, sizeof sql, "DROP DATABASE %s", in.db);
    free(query(sql));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_FATAL, write_flush(in.inst, &b, ERR));
    CHECK_CONTAINS(message, "doesn't exist");
    close_sink(&in);

    /* a column of the wrong type */
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    snprintf(sql, sizeof sql,
             "ALTER TABLE %s.orders MODIFY COLUMN _is_deleted "
             "Date",
             in.db);
    free(query(sql));
    CALL(SLUICE_FATAL, write_flush(in.inst, &b, ERR));
    CHECK_CONTAINS(message, "INSERT INTO `sink_test_");
    CHECK_CONTAINS(message, "Code: ");
    batch_free(&b);
    close_sink(&in);
}

/* The test server's URL with `userinfo` in it and `tail` after it. */
static void url_with(char *out, size_t size, const char *userinfo,
                     const char *tail)
{
    const char *rest = strstr(url, "://") + 3;
    snprintf(out, size, "http://%s%s%s%s", userinfo ? userinfo : "",
             userinfo ? "@" : "", rest, tail ? tail : "");
}

/* What the core's log (standard error) says between the two calls. */
struct capture {
    int saved;
    char path[32];
};

static void capture_start(struct capture *c)
{
    fflush(stderr);
    snprintf(c->path, sizeof c->path, "/tmp/sluice-log-XXXXXX");
    int fd = mkstemp(c->path);
    c->saved = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    struct buf out = {0};
    FILE *f = fopen(c->path, "r");
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&out, chunk, n);
    if (f)
        fclose(f);
    unlink(c->path);
    buf_puts(&out, "");
    return buf_take(&out);
}

/* The URL's userinfo is who the sink connects as, unless the options say
 * otherwise; a wrong password fails with ClickHouse's own message; the
 * URL's query parameters go with every request, inserts too; and neither
 * the password nor the URL with it is in a message or the log. */
static void credentials_in_the_url(void)
{
    char right[300], wrong[300], nobody[300], with_query[300];
    url_with(right, sizeof right, "sluice:sluice-test", NULL);
    url_with(wrong, sizeof wrong, "sluice:not-the-password", NULL);
    url_with(nobody, sizeof nobody, "nobody:not-the-password", NULL);
    url_with(with_query, sizeof with_query, "sluice:sluice-test",
             "/?max_insert_block_size=100");
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, right, NULL, message, sizeof message));
    struct capture c;
    capture_start(&c);
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    char *log = capture_end(&c);
    char shown[300];
    snprintf(shown, sizeof shown, "at %s:", url);
    CHECK_CONTAINS(log, shown);
    CHECK_NOT_CONTAINS(log, "sluice-test");
    CHECK_NOT_CONTAINS(log, "@127.0.0.1");
    free(log);
    close_sink(&in);

    CALL(SLUICE_OK, open_sink(&in, wrong, NULL, message, sizeof message));
    CALL(SLUICE_FATAL, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "Wrong password for user sluice");
    CHECK_NOT_CONTAINS(message, "not-the-password");
    CALL(SLUICE_FATAL, api()->ping(in.inst, ERR));
    CHECK_CONTAINS(message, "Wrong password for user sluice");
    close_sink(&in);

    /* the options win over the URL */
    CALL(SLUICE_OK, open_sink(&in, nobody,
                              "user = sluice\n"
                              "password = sluice-test",
                              message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    close_sink(&in);
    CALL(SLUICE_OK, open_sink(&in, right, "password = not-the-password",
                              message, sizeof message));
    CALL(SLUICE_FATAL, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "Wrong password for user sluice");
    close_sink(&in);

    /* the URL's own query parameters, beside those of an insert */
    CALL(SLUICE_OK, open_sink(&in, with_query, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    add(&b, "orders", SLUICE_OP_INSERT, "2", "{}", 1);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count() FROM %s.orders FINAL", in.db);
    CHECK_QUERY(sql, "2\n");
    batch_free(&b);
    close_sink(&in);
}

/* ---- sinks failing in threads of their own at once ---- */

#define AT_ONCE 3
#define AT_ONCE_ROUNDS 20

struct at_once {
    struct instance in;
    struct sluice_batch b;
    int refused;      /* FATAL answers, as expected */
    char wrong[1024]; /* the first message that was not its own */
};

static void *fail_repeatedly(void *arg)
{
    struct at_once *a = arg;
    for (int i = 0; i < AT_ONCE_ROUNDS; i++) {
        char msg[1024] = "";
        sluice_error e = {msg, sizeof msg};
        sluice_status st = write_flush(a->in.inst, &a->b, &e);
        if (st == SLUICE_FATAL && strstr(msg, a->in.db))
            a->refused++;
        else if (!a->wrong[0])
            snprintf(a->wrong, sizeof a->wrong, "status %d: %.900s", st, msg);
    }
    return NULL;
}

/* Instances in threads of their own, refused at the same time (their
 * databases gone): each message names its own insert. The messages were
 * built in one buffer that every sink thread shared (ThreadSanitizer
 * reported it; a message could name another thread's table). */
static void sinks_fail_at_once(void)
{
    static struct at_once a[AT_ONCE];
    char sql[256];
    for (int i = 0; i < AT_ONCE; i++) {
        memset(&a[i], 0, sizeof a[i]);
        CALL(SLUICE_OK,
             open_sink(&a[i].in, NULL, NULL, message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(a[i].in.inst, "orders", ERR));
        snprintf(sql, sizeof sql, "DROP DATABASE %s", a[i].in.db);
        free(query(sql));
        batch_init(&a[i].b, 0, 0);
        add(&a[i].b, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    }
    pthread_t t[AT_ONCE];
    for (int i = 0; i < AT_ONCE; i++)
        pthread_create(&t[i], NULL, fail_repeatedly, &a[i]);
    for (int i = 0; i < AT_ONCE; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < AT_ONCE; i++) {
        if (a[i].wrong[0])
            fprintf(stderr, "  %s: %s\n", a[i].in.db, a[i].wrong);
        CHECK(a[i].refused == AT_ONCE_ROUNDS);
        batch_free(&a[i].b);
        close_sink(&a[i].in);
    }
}

/* ---- a fake server that misbehaves on purpose ---- */

struct fake {
    int listener, port;
    const char *answer; /* NULL: never answer; "": hang up */
    pthread_t thread;
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int c = accept(f->listener, NULL, NULL);
        if (c < 0)
            return NULL;
        char in[4096];
        ssize_t got = read(c, in, sizeof in);
        (void)got;
        if (!f->answer) {
            sleep(2); /* longer than the sink's request_timeout */
        } else if (f->answer[0]) {
            ssize_t w = write(c, f->answer, strlen(f->answer));
            (void)w;
        }
        close(c);
    }
}

/* A socket listening on a free loopback port. */
static int loopback_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, 16) == 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Stops a server thread before its socket's number can be reused. */
static void listener_stop(int listener, pthread_t thread)
{
    shutdown(listener, SHUT_RDWR);
    pthread_join(thread, NULL);
    close(listener);
}

static void fake_start(struct fake *f, const char *answer)
{
    f->answer = answer;
    f->listener = loopback_listener(&f->port);
    pthread_create(&f->thread, NULL, fake_serve, f);
}

static void fake_stop(struct fake *f)
{
    listener_stop(f->listener, f->thread);
}

static void transient_failures_retry(void)
{
    static const struct {
        const char *answer, *expect;
        sluice_status status;
    } cases[] = {
        {"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n",
         "HTTP 503", SLUICE_RETRY},
        {"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n"
         "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) "
         "exceeded, e.what() = DB::Exc",
         "Code: 241", SLUICE_RETRY},
        {"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n"
         "Code: 202, e.displayText() = Too many qu...",
         "Code: 202", SLUICE_RETRY},
        {"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n"
         "Code: 62, e.displayText() = Syntax error: .......",
         "Code: 62", SLUICE_FATAL},
        {"", "", SLUICE_RETRY},            /* hangs up */
        {NULL, "timed out", SLUICE_RETRY}, /* never answers */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct fake f;
        fake_start(&f, cases[i].answer);
        char fake_url[64];
        snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", f.port);
        struct instance in = {0};
        CALL(SLUICE_OK, open_sink(&in, fake_url, "request_timeout = 1s",
                                  message, sizeof message));
        CALL(cases[i].status, api()->setup_table(in.inst, "orders", ERR));
        CHECK_CONTAINS(message, cases[i].expect);
        CHECK_CONTAINS(message, "sink_clickhouse: SELECT version()");
        fake_stop(&f);
        in.db[0] = '\0';
        options_free(sink->options, sink->option_count, in.data);
        free(in.data);
        sink->info.sink.close(in.inst);
        context_free(in.ctx);
    }
    /* nothing listening */
    struct fake f;
    fake_start(&f, "");
    int port = f.port;
    fake_stop(&f);
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", port);
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, dead, NULL, message, sizeof message));
    CALL(SLUICE_RETRY, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "onnect");
    sink->info.sink.close(in.inst);
    options_free(sink->options, sink->option_count, in.data);
    free(in.data);
    context_free(in.ctx);
}

/* ---- a scripted newer server: answers in turn, keeps the requests ---- */

struct script {
    int listener, port;
    const char *const *answers; /* bodies of 200 answers, in turn */
    size_t next;
    struct buf requests; /* every request, one after another */
    pthread_mutex_t lock;
};

/* Reads one request: headers, then Content-Length bytes (or, chunked,
 * up to the last chunk). */
static void read_request(int c, struct buf *into)
{
    struct buf req = {0};
    char tmp[65536];
    for (;;) {
        ssize_t n = read(c, tmp, sizeof tmp);
        if (n <= 0)
            break;
        buf_append(&req, tmp, (size_t)n);
        char *end = strstr(req.data, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(req.data, "Content-Length: ");
        size_t head = (size_t)(end + 4 - req.data);
        if (cl && cl < end && req.len >= head + (size_t)atol(cl + 16))
            break;
        if (!cl && strstr(end, "\r\n0\r\n\r\n"))
            break;
    }
    buf_append(into, req.data ? req.data : "", req.len);
    buf_puts(into, "\n----\n");
    buf_free(&req);
}

static void *script_serve(void *arg)
{
    struct script *sc = arg;
    for (;;) {
        int c = accept(sc->listener, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_mutex_lock(&sc->lock);
        read_request(c, &sc->requests);
        const char *body =
            sc->answers[sc->next] ? sc->answers[sc->next++] : "";
        pthread_mutex_unlock(&sc->lock);
        char head[128] = ""; /* an answer of its own is sent as it is */
        if (strncmp(body, "HTTP/", 5) != 0)
            snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: "
                     "close\r\n\r\n",
                     strlen(body));
        ssize_t w = write(c, head, strlen(head));
        w = write(c, body, strlen(body));
        (void)w;
        close(c);
    }
}

static void script_start(struct script *sc, const char *const *answers,
                         pthread_t *thread)
{
    memset(sc, 0, sizeof *sc);
    sc->answers = answers;
    pthread_mutex_init(&sc->lock, NULL);
    sc->listener = loopback_listener(&sc->port);
    pthread_create(thread, NULL, script_serve, sc);
}

static void script_stop(struct script *sc, pthread_t thread)
{
    listener_stop(sc->listener, thread);
    pthread_mutex_destroy(&sc->lock);
    buf_free(&sc->requests);
}

/* An answer that would pass (code 202, too many queries) but that the
 * server gives word for word every time one table is set up: after eight
 * in a row, the table fails. */
static void repeated_answers_fail_the_table(void)
{
#define BUSY                                                                  \
    "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n"         \
    "Code: 202, e.displayText() = DB::Exception: Too many "                   \
    "simultaneous queries. Maximum: 1"
    static const char *const answers[] = {
        "18.16.1\n", "", /* version, CREATE DATABASE */
        BUSY,        BUSY, BUSY, BUSY, BUSY, BUSY, BUSY, BUSY, NULL};
#undef BUSY
    struct script sc;
    pthread_t t;
    script_start(&sc, answers, &t);
    char fake_url[64];
    snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", sc.port);
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, fake_url, NULL, message, sizeof message));
    for (int i = 1; i < 8; i++) {
        CALL(SLUICE_RETRY, api()->setup_table(in.inst, "orders", ERR));
        CHECK_CONTAINS(message, "Code: 202");
    }
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "Too many simultaneous queries");
    CHECK_CONTAINS(message, "the same answer 8 times in a row");
    script_stop(&sc, t);
    sink->info.sink.close(in.inst);
    options_free(sink->options, sink->option_count, in.data);
    free(in.data);
    context_free(in.ctx);
}

/* A server that answers as 25.3 does: the table is created with its
 * newer types and engine, under either set of column names, and a resync
 * swaps with EXCHANGE TABLES. */
static void newer_server_forms(void)
{
    static const struct {
        const char *option, *columns, *create;
    } names[] = {
        {"column_names = sluice",
         "_id\tString\ndoc\tJSON\n_version\tUInt64\n_is_deleted\tUInt8\n"
         "_synced_at\tDateTime64(3)\n",
         "(`_id` String, `doc` JSON, `_version` UInt64, `_is_deleted` UInt8, "
         "`_synced_at` DateTime64(3)) ENGINE = "
         "ReplacingMergeTree(`_version`, `_is_deleted`) ORDER BY `_id`"},
        {"column_names = clickpipes",
         "_id\tString\ndoc\tJSON\n_peerdb_synced_at\tDateTime64(3)\n"
         "_peerdb_is_deleted\tUInt8\n_peerdb_version\tUInt64\n",
         "(`_id` String, `doc` JSON, `_peerdb_synced_at` DateTime64(3), "
         "`_peerdb_is_deleted` UInt8, `_peerdb_version` UInt64) ENGINE = "
         "ReplacingMergeTree(`_peerdb_version`, `_peerdb_is_deleted`) ORDER "
         "BY `_id`"},
    };
    for (size_t v = 0; v < 2; v++) {
        const char *const answers[] = {
            "25.3.1.1\n",           /* SELECT version() */
            "",                     /* CREATE DATABASE */
            "",                     /* system.tables: no such table */
            "",                     /* CREATE TABLE */
            "",                     /* resync_begin: the shadow's tables */
            "",                     /* CREATE TABLE of the shadow */
            "ReplacingMergeTree\n", /* swap: the shadow exists */
            names[v].columns,       /* its columns */
            "ReplacingMergeTree\n", /* the table whose deletes it carries */
            names[v].columns,       /* its columns */
            "",                     /* INSERT the deletes only it has */
            "Atomic\n",             /* the database engine */
            "",                     /* EXCHANGE TABLES */
            "",                     /* DROP the shadow */
            NULL};
        struct script sc;
        pthread_t t;
        script_start(&sc, answers, &t);
        char fake_url[64];
        snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", sc.port);
        struct instance in = {0};
        CALL(SLUICE_OK, open_sink(&in, fake_url, names[v].option, message,
                                  sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
        CALL(SLUICE_OK, api()->resync_begin(in.inst, "orders", ERR));
        CALL(SLUICE_OK, api()->resync_swap(in.inst, "orders", ERR));
        pthread_mutex_lock(&sc.lock);
        CHECK_CONTAINS(sc.requests.data, names[v].create);
        char want[400];
        snprintf(want, sizeof want,
                 "EXCHANGE TABLES `%s`.`orders` AND "
                 "`%s`.`_sluice_resync_orders`",
                 in.db, in.db);
        CHECK_CONTAINS(sc.requests.data, want);
        CHECK_NOT_CONTAINS(sc.requests.data, "RENAME TABLE");
        pthread_mutex_unlock(&sc.lock);
        script_stop(&sc, t);
        sink->info.sink.close(in.inst);
        options_free(sink->options, sink->option_count, in.data);
        free(in.data);
        context_free(in.ctx);
    }
}

/* What goes over the wire: the URL's path and query parameters, with
 * the insert's own after them; its credentials as Basic authorization,
 * decoded, never in the request line; and not in a message either. */
static void url_parts_in_requests(void)
{
    static const char *const answers[] = {
        "25.3.1.1\n", /* SELECT version() */
        "",           /* CREATE DATABASE */
        "",           /* system.tables: no such table */
        "",           /* CREATE TABLE */
        "",           /* the insert */
        "hello\n",    /* the next sink's SELECT version() */
        NULL};
    struct script sc;
    pthread_t t;
    script_start(&sc, answers, &t);
    char fake_url[128];
    snprintf(fake_url, sizeof fake_url,
             "http://alice:p%%40ss%%3Aw%%2Frd@127.0.0.1:%d/ch?"
             "max_insert_block_size=100#part",
             sc.port);
    struct instance in = {0};
    /* JSONEachRow: the script reads a body up to its end as text */
    CALL(SLUICE_OK, open_sink(&in, fake_url,
                              "format = JSONEachRow\n"
                              "request_timeout = 10s",
                              message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1", "{}", 1);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    batch_free(&b);
    sink->info.sink.close(in.inst);
    CALL(SLUICE_OK, sink->info.sink.open(in.ctx, in.data, &in.inst, ERR));
    CALL(SLUICE_FATAL, api()->setup_table(in.inst, "orders", ERR));
    CHECK_CONTAINS(message, "the server at http://127.0.0.1:");
    CHECK_NOT_CONTAINS(message, "alice");
    CHECK_NOT_CONTAINS(message, "p%40ss");
    pthread_mutex_lock(&sc.lock);
    const char *r = sc.requests.data;
    CHECK_CONTAINS(r, "POST /ch/?max_insert_block_size=100 HTTP/1.1\r\n");
    CHECK_CONTAINS(r, "POST /ch/?max_insert_block_size=100&query=INSERT%20");
    CHECK_CONTAINS(r, "Authorization: Basic YWxpY2U6cEBzczp3L3Jk\r\n");
    CHECK_NOT_CONTAINS(r, "alice:");
    CHECK_NOT_CONTAINS(r, "part");
    pthread_mutex_unlock(&sc.lock);
    script_stop(&sc, t);
    sink->info.sink.close(in.inst);
    options_free(sink->options, sink->option_count, in.data);
    free(in.data);
    context_free(in.ctx);
}

/* The stored doc of key `key` in database db, table t, byte for byte
 * (RowBinary: varint length, bytes). */
static char *stored_doc(const char *db, const char *key, size_t *len)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT doc FROM %s.t FINAL WHERE _id = '%s' FORMAT RowBinary",
             db, key);
    CURL *c = curl_easy_init();
    struct buf out = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, sql);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    const unsigned char *p = (const unsigned char *)out.data;
    size_t n = 0, shift = 0, i = 0;
    while (p && i < out.len) {
        n |= (size_t)(p[i] & 0x7f) << shift;
        shift += 7;
        if (!(p[i++] & 0x80))
            break;
    }
    *len = n;
    char *doc = xmalloc(n + 1);
    if (p && i + n <= out.len)
        memcpy(doc, p + i, n);
    else
        *len = (size_t)-1;
    buf_free(&out);
    return doc;
}

static void documents_round_trip_exactly(void)
{
    static const char *const docs[] = {
        "{ \"_id\" : { \"$oid\" : \"5f0000000000000000000001\" }, \"d\" : "
        "{ \"$date\" : \"2024-02-25T01:00:00Z\" }, \"old\" : { \"$date\" : "
        "{ \"$numberLong\" : \"-62135596800000\" } } }",
        "{ \"dec\" : { \"$numberDecimal\" : \"1.10\" }, \"bin\" : { "
        "\"$binary\" : { \"base64\" : \"AAEC/w==\", \"subType\" : \"04\" } }, "
        "\"re\" : { \"$regularExpression\" : { \"pattern\" : \"^a.*\\\\d\", "
        "\"options\" : \"im\" } } }",
        "{ \"ts\" : { \"$timestamp\" : { \"t\" : 1700000000, \"i\" : 7 } }, "
        "\"min\" : { \"$minKey\" : 1 }, \"max\" : { \"$maxKey\" : 1 }, "
        "\"big\" : 9223372036854775807, \"neg\" : -0.0, \"nan\" : { "
        "\"$numberDouble\" : \"NaN\" }, \"inf\" : { \"$numberDouble\" : "
        "\"-Infinity\" }, \"f\" : 1.5e+300 }",
        "{ \"s\" : \"\\\"quoted\\\" back\\\\slash \\n\\t\\u0001 "
        "\\u0000 nul\", \"u\" : \"\u00e9\u00e8 \u65e5\u672c \U0001d11e\", "
        "\"a\" : [ 1, [ ], { }, null, true, false ], \"undef\" : { "
        "\"$undefined\" : true }, \"code\" : { \"$code\" : \"f()\" } }",
    };
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    char msg[128];
    sluice_error e = {msg, sizeof msg};
    char raw[] = "{\"raw\":\"a\0b\xff\"}"; /* NUL and a stray byte */
    for (size_t i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%zu", i);
        const char *doc = i < 4 ? docs[i] : raw;
        size_t len = i < 4 ? strlen(docs[i]) : sizeof raw - 1;
        sluice_record r = {.size = sizeof r,
                           .op = SLUICE_OP_INSERT,
                           .table = "t",
                           .table_len = 1,
                           .key = key,
                           .key_len = strlen(key),
                           .doc = doc,
                           .doc_len = len,
                           .version = 1};
        CHECK(batch_add(&b, &r, &e) == SLUICE_OK);
    }
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    for (size_t i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%zu", i);
        size_t len;
        char *got = stored_doc(in.db, key, &len);
        const char *want = i < 4 ? docs[i] : raw;
        size_t want_len = i < 4 ? strlen(docs[i]) : sizeof raw - 1;
        CHECK(len == want_len && memcmp(got, want, want_len) == 0);
        free(got);
    }
    batch_free(&b);
    close_sink(&in);
}

struct killer {
    const char *dir;
    int after_ms;
};

static void *kill_later(void *arg)
{
    struct killer *k = arg;
    struct timespec ts = {0, (long)k->after_ms * 1000000L};
    nanosleep(&ts, NULL);
    char *cmd = xasprintf("%s kill %s", CH_SCRIPT, k->dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    return NULL;
}

/* The first line of a file, without its newline; "" when unreadable. */
static bool first_line(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    bool ok = f && fgets(out, (int)size, f);
    if (f)
        fclose(f);
    out[strcspn(out, "\n")] = '\0';
    return ok;
}

/* The server is killed while a batch streams in: the write says retry;
 * after a restart the replayed batch lands whole, each row once. */
static void server_killed_mid_batch(void)
{
    char dir[] = "/tmp/sluice-ch-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *start = xasprintf("%s start %s/ch", CH_SCRIPT, dir);
    if (system(start) != 0) {
        CHECK(!"a ClickHouse server of the test's own started");
        free(start);
        return;
    }
    char *path = xasprintf("%s/ch/url", dir), private_url[128];
    first_line(path, private_url, sizeof private_url);
    char saved[256];
    snprintf(saved, sizeof saved, "%s", url);
    snprintf(url, sizeof url, "%s", private_url);

    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, "max_batch_bytes = 256KiB", message,
                              sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    char key[32], doc[256];
    size_t rows = 400000;
    for (size_t i = 0; i < rows; i++) {
        snprintf(key, sizeof key, "%zu", i);
        snprintf(doc, sizeof doc, "{\"n\":%zu,\"pad\":\"%0120zu\"}", i, i);
        add(&b, "t", SLUICE_OP_SNAPSHOT, key, doc, 1);
    }
    char *ch_dir = xasprintf("%s/ch", dir);
    struct killer k = {ch_dir, 150};
    pthread_t t;
    pthread_create(&t, NULL, kill_later, &k);
    CALL(SLUICE_RETRY, write_flush(in.inst, &b, ERR));
    pthread_join(t, NULL);
    char *restart = xasprintf("%s restart %s", CH_SCRIPT, ch_dir);
    CHECK(system(restart) == 0);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(), uniqExact(_id) FROM %s.t FINAL",
             in.db);
    char want[64];
    snprintf(want, sizeof want, "%zu\t%zu\n", rows, rows);
    CHECK_QUERY(sql, want);
    close_sink(&in);

    /* the server goes away while an insert is open, between a write and
     * its flush: the flush says retry; written again after a restart,
     * every row is there once */
    CALL(SLUICE_OK, open_sink(&in, NULL, "request_timeout = 1s", message,
                              sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    batch_reset(&b);
    for (size_t i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "open%zu", i);
        add(&b, "t", SLUICE_OP_INSERT, key, "{}", 2);
    }
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    char *kill_now = xasprintf("%s kill %s", CH_SCRIPT, ch_dir);
    CHECK(system(kill_now) == 0);
    CALL(SLUICE_RETRY, api()->flush(in.inst, ERR));
    CHECK(system(restart) == 0);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    snprintf(sql, sizeof sql,
             "SELECT count(), uniqExact(_id) FROM %s.t FINAL WHERE _id LIKE "
             "'open%%'",
             in.db);
    CHECK_QUERY(sql, "1000\t1000\n");
    /* the server stops answering while an insert is open: the flush gives
     * up at request_timeout and says retry */
    CALL(SLUICE_OK, api()->write(in.inst, &b, ERR));
    char *pid_path = xasprintf("%s/server.pid", ch_dir), pid[32];
    first_line(pid_path, pid, sizeof pid);
    char *freeze = xasprintf("kill -STOP %s", pid);
    char *thaw = xasprintf("kill -CONT %s", pid);
    CHECK(pid[0] && system(freeze) == 0);
    CALL(SLUICE_RETRY, api()->flush(in.inst, ERR));
    CHECK_CONTAINS(message, "imed out");
    CHECK(system(thaw) == 0);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    CHECK_QUERY(sql, "1000\t1000\n");
    close_sink(&in);
    free(thaw);
    free(freeze);
    free(pid_path);
    free(kill_now);
    batch_free(&b);
    snprintf(url, sizeof url, "%s", saved);
    char *stop = xasprintf("%s stop %s/ch; rm -rf %s", CH_SCRIPT, dir, dir);
    CHECK(system(stop) == 0);
    free(stop);
    free(restart);
    free(ch_dir);
    free(path);
    free(start);
}

/* ---- typed columns (the option columns, keep_doc) ---- */

/* A column of each type, read from the documents below. */
#define TYPED_COLUMNS                                                         \
    "columns = t.s = s String, t.i = i Int64, t.u = u UInt64,\n"              \
    "  t.f = f Float64, t.b = b Bool, t.u8 = u8 UInt8, t.d = when Date,\n"    \
    "  t.dt = when DateTime, t.ni = ni Nullable(Int64),\n"                    \
    "  t.ns = nothing Nullable(String), t.tags = tags Array(String),\n"       \
    "  t.nums = nums Array(Int64), t.fl = fl Array(Float64),\n"               \
    "  t.cid = customer.id String"

/* One document as each form writes it: ClickPipes' mapping (and plain
 * JSON), MongoDB's relaxed extended JSON with libbson's spaces, and its
 * canonical extended JSON. */
static const char *const typed_docs[] = {
    "{\"_id\":\"65a1b2c3d4e5f60718293a4b\",\"s\":\"x\",\"i\":-5,\"u\":42,"
    "\"f\":1.5,\"b\":true,\"u8\":7,\"when\":\"2024-01-02T03:04:05.678Z\","
    "\"ni\":3,\"tags\":[\"a\",\"b\"],\"nums\":[1,2],\"fl\":[0.5,\"NaN\"],"
    "\"customer\":{\"id\":\"65a1b2c3d4e5f60718293a4b\"}}",
    "{ \"_id\" : { \"$oid\" : \"65a1b2c3d4e5f60718293a4b\" }, \"s\" : \"x\", "
    "\"i\" : -5, \"u\" : 42, \"f\" : 1.5, \"b\" : true, \"u8\" : 7, \"when\" "
    ": { \"$date\" : \"2024-01-02T03:04:05.678Z\" }, \"ni\" : 3, \"tags\" : "
    "[ \"a\", \"b\" ], \"nums\" : [ 1, 2 ], \"fl\" : [ 0.5, { "
    "\"$numberDouble\" : \"NaN\" } ], \"customer\" : { \"id\" : { \"$oid\" "
    ": \"65a1b2c3d4e5f60718293a4b\" } } }",
    "{\"_id\":{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"},\"s\":\"x\",\"i\":{"
    "\"$numberInt\":\"-5\"},\"u\":{\"$numberLong\":\"42\"},\"f\":{"
    "\"$numberDouble\":\"1.5\"},\"b\":true,\"u8\":{\"$numberInt\":\"7\"},"
    "\"when\":{\"$date\":{\"$numberLong\":\"1704164645678\"}},\"ni\":{"
    "\"$numberLong\":\"3\"},\"tags\":[\"a\",\"b\"],\"nums\":[{\"$numberInt\":"
    "\"1\"},{\"$numberLong\":\"2\"}],\"fl\":[{\"$numberDouble\":\"0.5\"},{"
    "\"$numberDouble\":\"NaN\"}],\"customer\":{\"id\":{\"$oid\":"
    "\"65a1b2c3d4e5f60718293a4b\"}}}"};

#define TYPED_ROW(key)                                                        \
    key "\tx\t-5\t42\t1.5\t1\t7\t19724\t1704164645\t3\t\\N\t['a','b']"        \
        "\t[1,2]\t[0.5,nan]\t65a1b2c3d4e5f60718293a4b\t\n"
#define DEFAULT_ROW(key, malformed)                                           \
    key "\t\t0\t0\t0\t0\t0\t0\t0\t\\N\t\\N\t[]\t[]\t[]\t\t" malformed "\n"

/* Each type from each form of one document, in each format: the same
 * values; a document of values that do not convert: the defaults, and
 * every field kept in _malformed (once, though two columns read it);
 * fields missing or null: the defaults or NULL; a deleted row: the
 * defaults. */
static void typed_columns_from_every_form(void)
{
    const char *variants[] = {"", "format = JSONEachRow",
                              "compression = gzip"};
    for (size_t v = 0; v < 3; v++) {
        char options[1024];
        snprintf(options, sizeof options, "%s\n%s", TYPED_COLUMNS,
                 variants[v]);
        struct instance in = {0};
        CALL(SLUICE_OK,
             open_sink(&in, NULL, options, message, sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        add(&b, "t", SLUICE_OP_SNAPSHOT, "a-clickpipes", typed_docs[0], 1);
        add(&b, "t", SLUICE_OP_SNAPSHOT, "b-relaxed", typed_docs[1], 1);
        add(&b, "t", SLUICE_OP_SNAPSHOT, "c-canonical", typed_docs[2], 1);
        add(&b, "t", SLUICE_OP_INSERT, "d-bad",
            "{\"s\":{\"a\":1},\"i\":\"x\",\"u\":-1,\"f\":\"1.5\",\"b\":2,"
            "\"u8\":300,\"when\":\"nope\",\"ni\":\"x\",\"tags\":\"a\","
            "\"nums\":[1,\"x\"],\"fl\":{},\"customer\":{\"id\":null}}",
            2);
        add(&b, "t", SLUICE_OP_INSERT, "e-missing", "{\"ni\":null}", 2);
        add(&b, "t", SLUICE_OP_INSERT, "f-deleted", typed_docs[0], 2);
        add(&b, "t", SLUICE_OP_DELETE, "f-deleted", NULL, 3);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT _id, s, i, u, f, b, u8, toUInt16(d), "
                 "toUnixTimestamp(dt), ni, ns, tags, nums, fl, cid, "
                 "_malformed FROM %s.t FINAL ORDER BY _id",
                 in.db);
        char *got = query(sql);
        CHECK_CONTAINS(got, TYPED_ROW("a-clickpipes") TYPED_ROW("b-relaxed")
                                TYPED_ROW("c-canonical"));
        CHECK_CONTAINS(
            got, "d-bad\t{\"a\":1}\t0\t0\t0\t0\t0\t0\t0\t\\N\t\\N\t[]\t[]\t[]"
                 "\t\t{\"i\":\"x\",\"u\":-1,\"f\":\"1.5\",\"b\":2,\"u8\":300,"
                 "\"when\":\"nope\",\"ni\":\"x\",\"tags\":\"a\",\"nums\":[1,"
                 "\"x\"],\"fl\":{}}\n");
        CHECK_CONTAINS(got, DEFAULT_ROW("e-missing", "")
                                DEFAULT_ROW("f-deleted", ""));
        free(got);
        /* the documents are kept whole beside their columns */
        snprintf(sql, sizeof sql,
                 "SELECT doc FROM %s.t FINAL WHERE _id = 'b-relaxed'", in.db);
        char want[1024];
        snprintf(want, sizeof want, "%s\n", typed_docs[1]);
        CHECK_QUERY(sql, want);
        batch_free(&b);
        close_sink(&in);
    }
}

/* A batch large enough to be read on several threads (ahead.c): every
 * row gets its own values, in the batch's order, in each format; rows of
 * a table without typed columns in the same batch are left as they are;
 * a malformed row in the middle is kept. */
static void typed_columns_of_a_large_batch(void)
{
    const char *variants[] = {"", "format = JSONEachRow"};
    for (size_t v = 0; v < 2; v++) {
        char options[256];
        snprintf(options, sizeof options,
                 "columns = t.n = n Int64, t.s = n String\n%s", variants[v]);
        struct instance in = {0};
        CALL(SLUICE_OK,
             open_sink(&in, NULL, options, message, sizeof message));
        struct sluice_batch b;
        batch_init(&b, 0, 0);
        for (int i = 0; i < 20000; i++) {
            char key[16], doc[64];
            snprintf(key, sizeof key, "%d", i);
            if (i == 12345)
                snprintf(doc, sizeof doc, "{\"n\":\"x%d\"}", i);
            else
                snprintf(doc, sizeof doc, "{\"n\":%d,\"pad\":\"%.*s\"}", i,
                         i % 30, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            add(&b, i % 10 == 3 ? "plain" : "t", SLUICE_OP_INSERT, key, doc,
                1);
        }
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(), countIf(n = toInt64(_id)), countIf(s = "
                 "toString(n)), countIf(_malformed != '') FROM %s.t",
                 in.db);
        CHECK_QUERY(sql, "18000\t17999\t17999\t1\n");
        snprintf(sql, sizeof sql,
                 "SELECT _id, n, s, _malformed FROM %s.t WHERE _malformed != "
                 "''",
                 in.db);
        CHECK_QUERY(sql, "12345\t0\tx12345\t{\"n\":\"x12345\"}\n");
        snprintf(sql, sizeof sql,
                 "SELECT count(), countIf(visitParamExtractInt(doc, 'n') = "
                 "toInt64(_id)), countIf(length(doc) > 200) FROM %s.plain",
                 in.db);
        CHECK_QUERY(sql, "2000\t2000\t0\n");
        batch_free(&b);
        close_sink(&in);
    }
}

/* keep_doc = false: a table with typed columns has no doc, one without
 * keeps it; the table as SHOW CREATE TABLE gives it (docs/clickhouse.md
 * shows it). */
/* As docs/clickhouse.md shows it. */
#define SHOW_CREATE_ORDERS                                                    \
    "CREATE TABLE %s.orders ( _id String,  _version UInt64,  _is_deleted "    \
    "UInt8,  _synced_at DateTime,  total Float64,  customer_id String,  "     \
    "created DateTime,  tags Array(String),  _malformed String) ENGINE = "    \
    "ReplacingMergeTree(_version) ORDER BY _id SETTINGS index_granularity = " \
    "8192"

#define KEEP_DOC_FALSE                                                        \
    "columns = orders.total = total Float64,\n"                               \
    "  orders.customer_id = customer.id String,\n"                            \
    "  orders.created = created_at DateTime,\n"                               \
    "  orders.tags = tags Array(String)\n"                                    \
    "keep_doc = false"

static void keep_doc_false(void)
{
    struct instance in = {0}, json = {0};
    CALL(SLUICE_OK,
         open_sink(&in, NULL, KEEP_DOC_FALSE, message, sizeof message));
    CALL(SLUICE_OK, open_sink_on(&json, in.db, NULL,
                                 KEEP_DOC_FALSE "\nformat = JSONEachRow",
                                 message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "orders", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "customers", ERR));
    char *columns = columns_of(in.db, "orders");
    CHECK_STR(columns, "_id\tString\n_version\tUInt64\n_is_deleted\tUInt8\n"
                       "_synced_at\tDateTime\ntotal\tFloat64\ncustomer_id\t"
                       "String\ncreated\tDateTime\ntags\tArray(String)\n"
                       "_malformed\tString\n");
    free(columns);
    columns = columns_of(in.db, "customers");
    CHECK_STR(columns, names_of[0].columns);
    free(columns);
    char sql[512];
    snprintf(sql, sizeof sql, "SHOW CREATE TABLE %s.orders", in.db);
    char want[1024];
    snprintf(want, sizeof want, SHOW_CREATE_ORDERS "\n", in.db);
    CHECK_QUERY(sql, want);
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "orders", SLUICE_OP_INSERT, "1",
        "{\"total\":12.5,\"customer\":{\"id\":\"c-7\"},\"created_at\":"
        "\"2024-01-02T03:04:05Z\",\"tags\":[\"gift\"]}",
        1);
    add(&b, "customers", SLUICE_OP_INSERT, "c-7", "{\"name\":\"Ada\"}", 1);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    CALL(SLUICE_OK, write_flush(json.inst, &b, ERR)); /* a replay */
    snprintf(sql, sizeof sql,
             "SELECT _id, total, customer_id, toUnixTimestamp(created), tags, "
             "_malformed FROM %s.orders",
             in.db);
    CHECK_QUERY(sql, "1\t12.5\tc-7\t1704164645\t['gift']\t\n"
                     "1\t12.5\tc-7\t1704164645\t['gift']\t\n");
    snprintf(sql, sizeof sql, "SELECT _id, doc FROM %s.customers FINAL",
             in.db);
    CHECK_QUERY(sql, "c-7\t{\"name\":\"Ada\"}\n");
    /* the queries docs/clickhouse.md shows */
    batch_reset(&b);
    add(&b, "orders", SLUICE_OP_INSERT, "2",
        "{\"total\":7.5,\"customer\":{\"id\":\"c-7\"},\"created_at\":"
        "\"2023-12-31T23:59:59Z\"}",
        2);
    add(&b, "orders", SLUICE_OP_INSERT, "3",
        "{\"total\":\"12,50\",\"customer\":{\"id\":\"c-8\"},"
        "\"created_at\":\"next week\"}",
        2);
    add(&b, "orders", SLUICE_OP_INSERT, "4",
        "{\"total\":2,\"customer\":{\"id\":\"c-8\"},\"created_at\":"
        "\"2024-03-01\"}",
        2);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    snprintf(sql, sizeof sql,
             "SELECT customer_id, sum(total) FROM %s.orders FINAL WHERE "
             "_is_deleted = 0 AND created >= '2024-01-01 00:00:00' GROUP BY "
             "customer_id ORDER BY customer_id",
             in.db);
    CHECK_QUERY(sql, "c-7\t12.5\nc-8\t2\n");
    snprintf(sql, sizeof sql,
             "SELECT _id, _malformed FROM %s.orders FINAL WHERE _malformed "
             "!= ''",
             in.db);
    CHECK_QUERY(sql,
                "3\t{\"total\":\"12,50\",\"created_at\":\"next week\"}\n");
    snprintf(sql, sizeof sql,
             "SELECT _id, visitParamExtractRaw(_malformed, 'total') FROM "
             "%s.orders FINAL WHERE _malformed != ''",
             in.db);
    CHECK_QUERY(sql, "3\t\"12,50\"\n");
    batch_free(&b);
    close_sink_only(&json);
    close_sink(&in);
}

/* A column added to the option is added to the table at its next setup,
 * after the column before it in the option, its rows so far holding its
 * default; one taken out of the option stays in the table and is no
 * longer written. */
static void columns_added_and_removed(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, NULL, message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "t", SLUICE_OP_INSERT, "1",
        "{\"total\":1.5,\"n\":1,\"customer\":\"c1\"}", 1);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    char db[64];
    snprintf(db, sizeof db, "%s", in.db);
    close_sink_only(&in);
    const char *configs[] = {
        "columns = t.total = total Float64, t.n = n Nullable(Int64)",
        ("columns = t.total = total Float64, t.customer = customer String,\n"
         "  t.n = n Nullable(Int64)"),
        "columns = t.total = total Float64, t.customer = customer String"};
    const char *tables[] = {
        "total\tFloat64\nn\tNullable(Int64)\n_malformed\tString\n",
        "total\tFloat64\ncustomer\tString\nn\tNullable(Int64)\n"
        "_malformed\tString\n",
        "total\tFloat64\ncustomer\tString\nn\tNullable(Int64)\n"
        "_malformed\tString\n"};
    const char *rows[] = {"1\t0\t\\N\n2\t1.5\t1\n",
                          "1\t0\t\t\\N\n2\t1.5\t\t1\n3\t1.5\tc1\t1\n",
                          ("1\t0\t\t\\N\n2\t1.5\t\t1\n3\t1.5\tc1\t1\n"
                           "4\t1.5\tc1\t\\N\n")};
    const char *selects[] = {"total, n", "total, customer, n",
                             "total, customer, n"};
    for (int step = 0; step < 3; step++) {
        CALL(SLUICE_OK, open_sink_on(&in, db, NULL, configs[step], message,
                                     sizeof message));
        CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
        char *columns = columns_of(db, "t");
        char want[512];
        snprintf(want, sizeof want, "%s%s", names_of[0].columns, tables[step]);
        CHECK_STR(columns, want);
        free(columns);
        batch_reset(&b);
        char key[8];
        snprintf(key, sizeof key, "%d", step + 2);
        add(&b, "t", SLUICE_OP_INSERT, key,
            "{\"total\":1.5,\"n\":1,\"customer\":\"c1\"}", 1);
        CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT _id, %s FROM %s.t ORDER BY _id",
                 selects[step], db);
        CHECK_QUERY(sql, rows[step]);
        if (step < 2)
            close_sink_only(&in);
    }
    batch_free(&b);
    close_sink(&in);
}

/* A column whose type changed in the option refuses the table, naming
 * the column and both types and saying to resync; written to without a
 * setup, too. The resync rebuilds the table with the new type, its
 * deleted rows carried across. DateTime64(3), which 18.16 has not,
 * refuses the table, saying what to use. */
static void changed_type_refused_until_resync(void)
{
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, NULL, "columns = t.total = total Float64",
                              message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    add(&b, "t", SLUICE_OP_INSERT, "1", "{\"total\":1.5}", 5);
    add(&b, "t", SLUICE_OP_INSERT, "9", "{\"total\":9.5}", 5);
    add(&b, "t", SLUICE_OP_DELETE, "9", NULL, 6);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    char db[64];
    snprintf(db, sizeof db, "%s", in.db);
    close_sink_only(&in);

    CALL(SLUICE_OK,
         open_sink_on(&in, db, NULL, "columns = t.total = total Int64",
                      message, sizeof message));
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "t", ERR));
    char want[512];
    snprintf(want, sizeof want,
             "sink_clickhouse: table `%s`.`t`: column total is Float64 in "
             "the table, Int64 in columns (t.total = total Int64). A "
             "column's type changes only with a resync, which rebuilds the "
             "table with the configured types: resync the pipe, or set the "
             "type back",
             db);
    CHECK_STR(message, want);
    batch_reset(&b);
    add(&b, "t", SLUICE_OP_INSERT, "1", "{\"total\":3}", 30);
    CALL(SLUICE_FATAL_TABLE, write_flush(in.inst, &b, ERR));
    CHECK_CONTAINS(message, "column total is Float64 in the table");
    CALL(SLUICE_OK, resync_set_up(in.inst, "t", ERR));
    batch_reset(&b);
    add(&b, "t", SLUICE_OP_SNAPSHOT, "1", "{\"total\":7}", 20);
    add(&b, "t", SLUICE_OP_SNAPSHOT, "2", "{\"total\":8.5}", 20);
    CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
    CALL(SLUICE_OK, api()->resync_swap(in.inst, "t", ERR));
    char *columns = columns_of(db, "t");
    char table[512];
    snprintf(table, sizeof table, "%stotal\tInt64\n_malformed\tString\n",
             names_of[0].columns);
    CHECK_STR(columns, table);
    free(columns);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT _id, total, _version, _is_deleted, _malformed FROM %s.t "
             "FINAL ORDER BY _id",
             db);
    CHECK_QUERY(sql, "1\t7\t20\t0\t\n2\t0\t20\t0\t{\"total\":8.5}\n"
                     "9\t0\t6\t1\t\n");
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    close_sink_only(&in);

    CALL(SLUICE_OK,
         open_sink_on(&in, db, NULL, "columns = u.at = at DateTime64(3)",
                      message, sizeof message));
    CALL(SLUICE_FATAL_TABLE, api()->setup_table(in.inst, "u", ERR));
    CHECK_STR(message, "sink_clickhouse: columns: u.at is DateTime64(3), "
                       "which ClickHouse 18.16.1 has not (it came in 20.1): "
                       "make it DateTime (seconds)");
    batch_free(&b);
    close_sink(&in);
}

/* On a server with Bool and DateTime64 (a scripted 25.3): the columns
 * are made of those types; an existing UInt8 column holds a Bool
 * column's values (a table made before the server had Bool). */
static void typed_columns_on_newer_servers(void)
{
    const char *const answers[] = {
        "25.3.1.1\n",           /* SELECT version() */
        "",                     /* CREATE DATABASE */
        "",                     /* system.tables: no such table */
        "",                     /* CREATE TABLE */
        "ReplacingMergeTree\n", /* system.tables: u exists */
        "_id\tString\ndoc\tJSON\n_version\tUInt64\n_is_deleted\tUInt8\n"
        "_synced_at\tDateTime64(3)\nb\tUInt8\n_malformed\tString\n",
        NULL};
    struct script sc;
    pthread_t t;
    script_start(&sc, answers, &t);
    char fake_url[64];
    snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", sc.port);
    struct instance in = {0};
    CALL(SLUICE_OK, open_sink(&in, fake_url,
                              "columns = t.b = b Bool, t.at = at "
                              "DateTime64(3), t.nb = nb Nullable(Bool),\n"
                              "  u.b = b Bool",
                              message, sizeof message));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
    CALL(SLUICE_OK, api()->setup_table(in.inst, "u", ERR));
    pthread_mutex_lock(&sc.lock);
    CHECK_CONTAINS(sc.requests.data,
                   "`_synced_at` DateTime64(3), `b` Bool, `at` DateTime64(3), "
                   "`nb` Nullable(Bool), `_malformed` String) ENGINE");
    CHECK_NOT_CONTAINS(sc.requests.data, "ALTER");
    pthread_mutex_unlock(&sc.lock);
    script_stop(&sc, t);
    close_sink_only(&in);
}

/* The shapes a table can have: each set of names, with and without
 * typed columns, with and without doc. */
static const struct shape_case {
    const char *options;
    const struct names *names;
    const char *columns; /* beside the metadata ones */
} shapes[] = {
    {"column_names = sluice", &names_of[0], ""},
    {"column_names = clickpipes", &names_of[1], ""},
    {"column_names = sluice\ncolumns = t.v = v String, t.n = n "
     "Nullable(Int64)",
     &names_of[0], "v\tString\nn\tNullable(Int64)\n_malformed\tString\n"},
    {"column_names = clickpipes\ncolumns = t.v = v Int64\nkeep_doc = false",
     &names_of[1], "v\tInt64\n_malformed\tString\n"},
};
#define SHAPES (sizeof shapes / sizeof *shapes)

/* A resync from every shape to every other: the shadow has the new
 * shape, the deleted rows only the old table has are carried across
 * (their key and metadata; every other column its default, as the sink
 * writes a delete), and the table is written after the swap. */
static void resync_between_every_shape(void)
{
    for (size_t from = 0; from < SHAPES; from++)
        for (size_t to = 0; to < SHAPES; to++) {
            if (from == to)
                continue;
            struct instance in = {0};
            CALL(SLUICE_OK, open_sink(&in, NULL, shapes[from].options, message,
                                      sizeof message));
            CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
            struct sluice_batch b;
            batch_init(&b, 0, 0);
            add(&b, "t", SLUICE_OP_INSERT, "1", "{\"v\":1}", 5);
            add(&b, "t", SLUICE_OP_INSERT, "9", "{\"v\":9}", 5);
            add(&b, "t", SLUICE_OP_DELETE, "9", NULL, 6);
            CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
            char db[64];
            snprintf(db, sizeof db, "%s", in.db);
            close_sink_only(&in);

            CALL(SLUICE_OK, open_sink_on(&in, db, NULL, shapes[to].options,
                                         message, sizeof message));
            CALL(SLUICE_OK, resync_set_up(in.inst, "t", ERR));
            batch_reset(&b);
            add(&b, "t", SLUICE_OP_SNAPSHOT, "1", "{\"v\":2,\"n\":3}", 20);
            CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
            CALL(SLUICE_OK, api()->resync_swap(in.inst, "t", ERR));
            CALL(SLUICE_OK, api()->setup_table(in.inst, "t", ERR));
            batch_reset(&b);
            add(&b, "t", SLUICE_OP_INSERT, "3", "{}", 30);
            CALL(SLUICE_OK, write_flush(in.inst, &b, ERR));
            const struct names *n = shapes[to].names;
            char sql[256];
            snprintf(sql, sizeof sql,
                     "SELECT _id, %s, %s FROM %s.t FINAL ORDER BY _id",
                     n->version, n->is_deleted, db);
            char *got = query(sql);
            if (!got || strcmp(got, "1\t20\t0\n3\t30\t0\n9\t6\t1\n")) {
                fprintf(stderr, "  resync from shape %zu to %zu: %s\n", from,
                        to, got ? got : "(failed)");
                test_failures++;
            }
            free(got);
            char *columns = columns_of(db, "t");
            char want[512];
            snprintf(want, sizeof want, "%s%s", n->columns,
                     shapes[to].columns);
            if (strstr(shapes[to].options, "keep_doc = false"))
                memmove(strstr(want, "doc\tString\n"),
                        strstr(want, "doc\tString\n") + 11,
                        strlen(strstr(want, "doc\tString\n") + 11) + 1);
            CHECK_STR(columns, want);
            free(columns);
            batch_free(&b);
            close_sink(&in);
        }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_sink_clickhouse CH_DIR\n");
        return 2;
    }
    char *path = xasprintf("%s/url", argv[1]);
    bool found = first_line(path, url, sizeof url);
    free(path);
    if (!found) {
        fprintf(stderr, "no ClickHouse test server at %s\n", argv[1]);
        return 1;
    }
    struct registry reg;
    struct error err;
    registry_init(&reg);
    char *so = xasprintf("%s/sink_clickhouse.so", PLUGIN_DIR);
    if (registry_load_file(&reg, so, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    free(so);
    sink = registry_find(&reg, "sink_clickhouse");
    RUN(setup_is_idempotent);
    RUN(writes_and_replays);
    RUN(batches_split_at_max_bytes);
    RUN(writes_stream_until_flush);
    RUN(open_inserts_are_bounded);
    RUN(refusal_drops_open_inserts);
    RUN(old_inserts_end_before_the_timeout);
    RUN(formats_and_compression);
    RUN(large_documents);
    RUN(table_names);
    RUN(incompatible_table);
    RUN(refused_name_fails_the_table);
    RUN(repeated_answers_fail_the_table);
    RUN(one_owner_per_table);
    RUN(resync_names_never_collide);
    RUN(resync_swap_and_abort);
    RUN(clickpipes_column_names);
    RUN(column_names_never_mixed);
    RUN(resync_changes_column_names);
    RUN(resync_rebuilds_a_clickpipes_table);
    RUN(server_refusals_are_fatal);
    RUN(credentials_in_the_url);
    RUN(url_parts_in_requests);
    RUN(sinks_fail_at_once);
    RUN(transient_failures_retry);
    RUN(newer_server_forms);
    RUN(documents_round_trip_exactly);
    RUN(server_killed_mid_batch);
    RUN(typed_columns_from_every_form);
    RUN(typed_columns_of_a_large_batch);
    RUN(keep_doc_false);
    RUN(columns_added_and_removed);
    RUN(changed_type_refused_until_resync);
    RUN(typed_columns_on_newer_servers);
    RUN(resync_between_every_shape);
    registry_free(&reg);
    return TEST_RESULT();
}
