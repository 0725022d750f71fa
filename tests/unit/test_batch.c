/* test_batch.c: records framed into a batch through the host API, read
 * back, limits, positions, and blobs loaded back (including corrupt
 * ones, and ones stored before records had a time); the distinct tables
 * a batch knows; value lists and metrics of the host table. */
#include <stdlib.h>

#include "../test.h"
#include "plugin/batch.h"
#include "plugin/host.h"
#include "plugin/values.h"

static const sluice_host_api *host;

static sluice_status add(sluice_batch *b, sluice_op op, const char *key,
                         const char *doc, uint64_t version)
{
    char msg[256] = "";
    sluice_error err = {msg, sizeof msg};
    sluice_record r = {.size = sizeof r,
                       .op = op,
                       .table = "orders",
                       .table_len = 6,
                       .key = key,
                       .key_len = strlen(key),
                       .doc = doc,
                       .doc_len = doc ? strlen(doc) : 0,
                       .version = version};
    return host->batch_add(b, &r, &err);
}

static void build_and_read(void)
{
    struct sluice_batch b;
    batch_init(&b, 3, 0);
    CHECK(add(&b, SLUICE_OP_INSERT, "\"a\"", "{\"x\":1}", 7) == SLUICE_OK);
    CHECK(add(&b, SLUICE_OP_DELETE, "\"b\"", NULL, 8) == SLUICE_OK);
    CHECK(!host->batch_full(&b));
    CHECK(add(&b, SLUICE_OP_UPDATE, "\"c\"", "{}", UINT64_MAX) == SLUICE_OK);
    CHECK(host->batch_full(&b));
    CHECK(host->batch_count(&b) == 3);
    sluice_record r = {.size = sizeof r};
    CHECK(host->batch_get(&b, 1, &r) == 0);
    CHECK(r.op == SLUICE_OP_DELETE && r.version == 8 && r.doc_len == 0);
    CHECK(r.key_len == 3 && memcmp(r.key, "\"b\"", 3) == 0);
    CHECK(host->batch_get(&b, 2, &r) == 0 && r.version == UINT64_MAX);
    CHECK(host->batch_get(&b, 3, &r) == -1);
    sluice_record unset = {0}; /* .size not set: refused, left alone */
    CHECK(host->batch_get(&b, 0, &unset) == -1 && unset.key == NULL);

    /* a reader built against a smaller record gets only its prefix */
    sluice_record small;
    memset(&small, 0x5a, sizeof small);
    small.size = offsetof(sluice_record, doc);
    CHECK(host->batch_get(&b, 0, &small) == 0);
    CHECK(small.key_len == 3);
    CHECK(small.version == 0x5a5a5a5a5a5a5a5aull); /* untouched */

    char msg[64] = "";
    sluice_error err = {msg, sizeof msg};
    CHECK(host->batch_set_position(&b, "tok", 3, &err) == SLUICE_OK);
    CHECK(b.has_position && b.position.len == 3);

    /* the frames are the blob: load them back */
    struct sluice_batch copy;
    struct error e;
    batch_init(&copy, 0, 0);
    CHECK(batch_load(&copy, b.frames.data, b.frames.len, &e) == 0);
    CHECK(host->batch_count(&copy) == 3);
    CHECK(host->batch_get(&copy, 0, &r) == 0);
    CHECK(r.doc_len == 7 && memcmp(r.doc, "{\"x\":1}", 7) == 0);
    CHECK(batch_load(&copy, b.frames.data, b.frames.len - 1, &e) < 0);
    CHECK_CONTAINS(e.message, "runs past the end");
    CHECK(batch_load(&copy, b.frames.data, 5, &e) < 0);
    CHECK_CONTAINS(e.message, "truncated frame header");
    /* frames batch_add never writes: no table, no key, a time at or
     * before 1970 (a store written by a broken version) */
    static const unsigned char no_table[] = {1, 7, 0, 0, 0, 0,  0, 0,
                                             0, 0, 0, 0, 0, 1,  0, 0,
                                             0, 0, 0, 0, 0, 'k'};
    CHECK(batch_load(&copy, no_table, sizeof no_table, &e) < 0);
    CHECK_CONTAINS(e.message, "frame at byte 0 has no table");
    static const unsigned char no_key[] = {1, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 't'};
    CHECK(batch_load(&copy, no_key, sizeof no_key, &e) < 0);
    CHECK_CONTAINS(e.message, "has no key");
    static const unsigned char untimed[] = {0x81, 7,   0,  0, 0,    0,    0,
                                            0,    0,   1,  0, 0,    0,    1,
                                            0,    0,   0,  0, 0,    0,    0,
                                            0,    0,   0,  0, 0xff, 0xff, 0xff,
                                            0xff, 't', 'k'};
    CHECK(batch_load(&copy, untimed, sizeof untimed, &e) < 0);
    CHECK_CONTAINS(e.message, "has a time that is not after 1970");
    batch_free(&copy);
    batch_reset(&b);
    CHECK(host->batch_count(&b) == 0 && !b.has_position);
    batch_free(&b);
}

static void refuses_bad_records(void)
{
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    char msg[256] = "";
    sluice_error err = {msg, sizeof msg};
    sluice_record r = {.size = sizeof r,
                       .op = 99,
                       .table = "t",
                       .table_len = 1,
                       .key = "1",
                       .key_len = 1};
    CHECK(host->batch_add(&b, &r, &err) == SLUICE_FATAL);
    CHECK_CONTAINS(msg, "unknown op 99");
    r.op = SLUICE_OP_INSERT;
    r.key_len = 0;
    CHECK(host->batch_add(&b, &r, &err) == SLUICE_FATAL);
    CHECK_CONTAINS(msg, "needs a table and a key");
    r.key_len = 1;
    r.size = 8;
    CHECK(host->batch_add(&b, &r, &err) == SLUICE_FATAL);
    CHECK_CONTAINS(msg, "record size 8 is too small");
    CHECK(host->batch_count(&b) == 0);
    /* a stopped table needs a name; a missing reason gets one */
    CHECK(host->batch_stop_table(&b, "", "dropped", &err) == SLUICE_FATAL);
    CHECK_CONTAINS(msg, "batch_stop_table: the table name is empty");
    CHECK(host->batch_stop_table(&b, NULL, "dropped", &err) == SLUICE_FATAL);
    CHECK(host->batch_stop_table(&b, "t", NULL, &err) == SLUICE_OK);
    size_t at = 0;
    const char *table, *reason;
    CHECK(batch_next_stopped(&b, &at, &table, &reason));
    CHECK(!strcmp(table, "t") && !strcmp(reason, "stopped by the source"));
    CHECK(!batch_next_stopped(&b, &at, &table, &reason));
    batch_free(&b);
}

static void byte_limit(void)
{
    struct sluice_batch b;
    batch_init(&b, 0, 64);
    while (!host->batch_full(&b))
        CHECK(add(&b, SLUICE_OP_INSERT, "1", "{\"pad\":\"xxxxxxxx\"}", 1) ==
              SLUICE_OK);
    CHECK(host->batch_bytes(&b) >= 64);
    CHECK(host->batch_count(&b) == 2);
    batch_free(&b);
}

static void add_to(sluice_batch *b, const char *table, size_t table_len)
{
    sluice_record r = {.size = sizeof r,
                       .op = SLUICE_OP_INSERT,
                       .table = table,
                       .table_len = table_len,
                       .key = "1",
                       .key_len = 1};
    CHECK(host->batch_add(b, &r, NULL) == SLUICE_OK);
}

/* "a,b,c": the batch's distinct tables, in the order they first came. */
static void tables_of(const struct sluice_batch *b, struct buf *out)
{
    const char *table;
    size_t at = 0, len;
    buf_reset(out);
    while (batch_next_table(b, &at, &table, &len)) {
        if (out->len)
            buf_append(out, ",", 1);
        buf_append(out, table, len);
    }
}

static void distinct_tables(void)
{
    struct sluice_batch b, copy;
    struct buf seen = {0};
    struct error e;
    batch_init(&b, 0, 0);
    batch_init(&copy, 0, 0);
    tables_of(&b, &seen);
    CHECK_STR(seen.data ? seen.data : "", "");
    add_to(&b, "orders", 6);
    add_to(&b, "orders", 6);
    add_to(&b, "order", 5);   /* a prefix is another table */
    add_to(&b, "ordersx", 7); /* so is a longer name */
    add_to(&b, "orders", 6);  /* back to one seen before */
    add_to(&b, "a\0b", 3);    /* bytes, not C strings */
    add_to(&b, "order", 5);
    tables_of(&b, &seen);
    static const char want[] = "orders,order,ordersx,a\0b";
    CHECK(seen.len == sizeof want - 1 && !memcmp(seen.data, want, seen.len));
    /* a blob loaded back knows them too; appending merges */
    CHECK(batch_load(&copy, b.frames.data, b.frames.len, &e) == 0);
    struct buf again = {0};
    tables_of(&copy, &again);
    CHECK(again.len == seen.len && !memcmp(again.data, seen.data, seen.len));
    batch_reset(&copy);
    add_to(&copy, "ordersx", 7);
    add_to(&copy, "items", 5);
    batch_append(&copy, &b);
    tables_of(&copy, &again);
    static const char merged[] = "ordersx,items,orders,order,a\0b";
    CHECK(again.len == sizeof merged - 1 &&
          !memcmp(again.data, merged, again.len));
    batch_reset(&b);
    tables_of(&b, &seen);
    CHECK(seen.len == 0);
    add_to(&b, "x", 1);
    tables_of(&b, &seen);
    CHECK_STR(seen.data, "x");
    buf_free(&seen);
    buf_free(&again);
    batch_free(&copy);
    batch_free(&b);
}

static void values_and_metrics(void)
{
    struct sluice_values v = {0};
    char msg[64];
    sluice_error err = {msg, sizeof msg};
    CHECK(host->values_add(&v, "a\0b", 3, &err) == SLUICE_OK);
    CHECK(host->values_add(&v, "", 0, &err) == SLUICE_OK);
    CHECK(v.count == 2 && v.lens[0] == 3 &&
          memcmp(v.items[0], "a\0b", 4) == 0);
    CHECK(v.items[1][0] == '\0');
    values_free(&v);

    sluice_context *ctx = context_new("memory_sink", "orders");
    CHECK_STR(ctx->plugin, "memory_sink");
    CHECK_STR(ctx->pipe, "orders");
    host->counter_add(ctx, "rows", 5);
    host->counter_add(ctx, "rows", 2);
    host->gauge_set(ctx, "lag_seconds", 1.5);
    CHECK(context_metric(ctx, "rows") == 7);
    CHECK(context_metric(ctx, "lag_seconds") == 1.5);
    CHECK(context_metric(ctx, "unknown") == 0);
    context_free(ctx);
    CHECK(host->size == sizeof(sluice_host_api));
    CHECK(SLUICE_HOST_HAS(host, plan_delete));
    CHECK(host->now_ms() > 1700000000000LL);
    CHECK(host->monotonic_ms() >= 0);
}

/* The time of a change (ABI 1.2) goes through the frame and back; a
 * record of an older ABI, which ends before it, has none; blobs stored
 * before frames could have a time still load. */
static void change_times(void)
{
    struct sluice_batch b, copy;
    struct error e;
    char msg[256] = "";
    sluice_error err = {msg, sizeof msg};
    batch_init(&b, 0, 0);
    batch_init(&copy, 0, 0);
    sluice_record r = {.size = sizeof r,
                       .op = SLUICE_OP_UPDATE,
                       .table = "orders",
                       .table_len = 6,
                       .key = "1",
                       .key_len = 1,
                       .doc = "{}",
                       .doc_len = 2,
                       .version = 9,
                       .changed_at_ms = 1767225600123};
    CHECK(host->batch_add(&b, &r, &err) == SLUICE_OK);
    sluice_record old = r; /* as a plugin built against ABI 1.1 sends it */
    old.size = offsetof(sluice_record, changed_at_ms);
    old.key = "2";
    CHECK(host->batch_add(&b, &old, &err) == SLUICE_OK);
    r.changed_at_ms = -1;
    CHECK(host->batch_add(&b, &r, &err) == SLUICE_FATAL);
    CHECK_CONTAINS(msg, "changed_at_ms -1, before 1970");
    CHECK(batch_load(&copy, b.frames.data, b.frames.len, &e) == 0);
    CHECK(host->batch_count(&copy) == 2);
    sluice_record got = {.size = sizeof got};
    CHECK(host->batch_get(&copy, 0, &got) == 0);
    CHECK(got.changed_at_ms == 1767225600123 && got.version == 9);
    CHECK(got.op == SLUICE_OP_UPDATE && got.doc_len == 2 &&
          !memcmp(got.table, "orders", 6) && got.key[0] == '1');
    CHECK(host->batch_get(&copy, 1, &got) == 0);
    CHECK(got.changed_at_ms == 0 && got.key[0] == '2');
    /* a sink of ABI 1.1 reads the timed frame without the time */
    sluice_record small;
    memset(&small, 0x5a, sizeof small);
    small.size = offsetof(sluice_record, changed_at_ms);
    CHECK(host->batch_get(&copy, 0, &small) == 0);
    CHECK(small.version == 9 && small.doc_len == 2);
    CHECK(small.changed_at_ms == (int64_t)0x5a5a5a5a5a5a5a5aull);
    /* leaving a table out keeps the other's timed frame whole */
    struct sluice_batch kept;
    batch_init(&kept, 0, 0);
    const char *none[] = {"items"};
    CHECK(!batch_append_except(&kept, &copy, none, 1));
    CHECK(host->batch_count(&kept) == 2 && kept.frames.len == b.frames.len);
    CHECK(host->batch_get(&kept, 0, &got) == 0 &&
          got.changed_at_ms == 1767225600123);
    batch_free(&kept);
    /* a timed frame cut inside its time is refused, not misread */
    CHECK(batch_load(&copy, b.frames.data, 25, &e) < 0);
    CHECK_CONTAINS(e.message, "truncated frame header at byte 0");
    /* a blob as stored before ABI 1.2: op 2, version 7, lengths 1, 1, 2 */
    static const unsigned char stored[] = {2, 7, 0, 0,   0,   0,   0,  0, 0,
                                           1, 0, 0, 0,   1,   0,   0,  0, 2,
                                           0, 0, 0, 't', 'k', '{', '}'};
    CHECK(batch_load(&copy, stored, sizeof stored, &e) == 0);
    CHECK(host->batch_count(&copy) == 1);
    CHECK(host->batch_get(&copy, 0, &got) == 0);
    CHECK(got.op == SLUICE_OP_INSERT && got.version == 7 &&
          got.changed_at_ms == 0 && got.table[0] == 't' && got.key[0] == 'k' &&
          got.doc_len == 2 && got.doc[0] == '{');
    batch_free(&copy);
    batch_free(&b);
}

int main(void)
{
    host = host_api();
    RUN(build_and_read);
    RUN(refuses_bad_records);
    RUN(byte_limit);
    RUN(distinct_tables);
    RUN(values_and_metrics);
    RUN(change_times);
    return TEST_RESULT();
}
