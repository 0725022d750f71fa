/* snapshot.c: the parallel, resumable snapshot. The CDC start position is
 * captured first (the cluster time before anything is read). Each
 * collection is split by _id: ObjectId key space split evenly between
 * the smallest and largest _id, integer ranges for integer keys, sampled
 * boundaries ($sample) for other types, one partition when it is small.
 * The first and last partitions are open-ended, so every _id of any type
 * falls in exactly one. A partition is read in _id order and its progress
 * (the last _id read) goes with every batch, so a restart reads on from
 * there: no range twice, none skipped. */
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

#define MAX_PARTITIONS 1024
#define SAMPLES_PER_PARTITION 10
#define STOP_ASKED_EVERY 1024 /* documents read */

static const char *mode_names[] = {"primary", "primaryPreferred", "secondary",
                                   "secondaryPreferred", "nearest"};
static const mongoc_read_mode_t modes[] = {MONGOC_READ_PRIMARY,
                                           MONGOC_READ_PRIMARY_PREFERRED,
                                           MONGOC_READ_SECONDARY,
                                           MONGOC_READ_SECONDARY_PREFERRED,
                                           MONGOC_READ_NEAREST};

static mongoc_collection_t *collection(struct mg_source *s, const char *table)
{
    mongoc_collection_t *c = mongoc_database_get_collection(s->db, table);
    mongoc_read_prefs_t *rp =
        mongoc_read_prefs_new(modes[s->cfg->read_preference]);
    mongoc_collection_set_read_prefs(c, rp);
    mongoc_read_prefs_destroy(rp);
    (void)mode_names;
    return c;
}

sluice_status mg_snapshot_begin(void *instance, sluice_values *cdc_start,
                                sluice_error *err)
{
    struct mg_source *s = instance;
    bson_t reply;
    sluice_status st =
        mg_admin(s, "ping", &reply, "capturing the change stream start", err);
    if (st != SLUICE_OK)
        return st;
    bson_iter_t it;
    uint32_t t = 0, i = 0;
    if (bson_iter_init_find(&it, &reply, "operationTime") &&
        BSON_ITER_HOLDS_TIMESTAMP(&it))
        bson_iter_timestamp(&it, &t, &i);
    bson_destroy(&reply);
    if (!t)
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: the server gave no operationTime; "
                           "change streams need a replica set or a sharded "
                           "cluster");
    s->snapshot_version = mg_version(t, i);
    bson_t pos = BSON_INITIALIZER;
    BSON_APPEND_TIMESTAMP(&pos, "startAtOperationTime", t, i);
    st = mg_host->values_add(cdc_start, bson_get_data(&pos), pos.len, err);
    bson_destroy(&pos);
    return st;
}

sluice_status mg_estimate_rows(void *instance, const char *table,
                               uint64_t *rows, sluice_error *err)
{
    struct mg_source *s = instance;
    mongoc_collection_t *c = collection(s, table);
    bson_error_t e;
    int64_t n =
        mongoc_collection_estimated_document_count(c, NULL, NULL, NULL, &e);
    mongoc_collection_destroy(c);
    if (n < 0)
        return mg_fail(&e, "counting documents", err);
    *rows = (uint64_t)n;
    return SLUICE_OK;
}

/* The smallest (direction 1) or largest _id; false when empty. */
static sluice_status edge_id(mongoc_collection_t *c, int direction,
                             bson_value_t *out, bool *found, sluice_error *err)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts =
        BCON_NEW("sort", "{", "_id", BCON_INT32(direction), "}", "projection",
                 "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(1));
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(c, &filter, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    *found = false;
    bson_iter_t it;
    if (mongoc_cursor_next(cur, &doc) &&
        bson_iter_init_find(&it, doc, "_id")) {
        bson_value_copy(bson_iter_value(&it), out);
        *found = true;
    }
    sluice_status st = mongoc_cursor_error(cur, &e)
                           ? mg_fail(&e, "finding the _id range", err)
                           : SLUICE_OK;
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return st;
}

static sluice_status add_partition(sluice_values *out, const bson_value_t *min,
                                   const bson_value_t *max, uint64_t version,
                                   sluice_error *err)
{
    bson_t p = BSON_INITIALIZER;
    if (min)
        BSON_APPEND_VALUE(&p, "min", min);
    if (max)
        BSON_APPEND_VALUE(&p, "max", max);
    BSON_APPEND_INT64(&p, "version", (int64_t)version);
    sluice_status st = mg_host->values_add(out, bson_get_data(&p), p.len, err);
    bson_destroy(&p);
    return st;
}

static bool is_integer(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 ||
           v->value_type == BSON_TYPE_INT64;
}

static int64_t int_of(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 ? v->value.v_int32
                                            : v->value.v_int64;
}

/* An ObjectId's 12 bytes as a 96-bit number, most significant limb
 * first, for the arithmetic of boundaries (ISO C has no wider integer). */
struct u96 {
    uint32_t limb[3];
};

static struct u96 u96_of(const uint8_t *bytes)
{
    struct u96 v;
    for (int i = 0; i < 3; i++)
        v.limb[i] = (uint32_t)bytes[4 * i] << 24 |
                    (uint32_t)bytes[4 * i + 1] << 16 |
                    (uint32_t)bytes[4 * i + 2] << 8 | bytes[4 * i + 3];
    return v;
}

static void u96_put(struct u96 v, uint8_t *bytes)
{
    for (int i = 0; i < 12; i++)
        bytes[i] = (uint8_t)(v.limb[i / 4] >> (24 - 8 * (i % 4)));
}

/* a + b * sign (sign 1 or -1), modulo 2^96. */
static struct u96 u96_add(struct u96 a, struct u96 b, int sign)
{
    struct u96 r;
    int64_t carry = 0;
    for (int i = 2; i >= 0; i--) {
        int64_t x = (int64_t)a.limb[i] + sign * (int64_t)b.limb[i] + carry;
        carry = x < 0 ? -1 : x >> 32;
        r.limb[i] = (uint32_t)x;
    }
    return r;
}

/* a * k / n, for k <= n < 2^32: (a / n) * k + (a % n) * k / n. */
static struct u96 u96_scale(struct u96 a, uint32_t k, uint32_t n)
{
    struct u96 q;
    uint64_t rem = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t x = rem << 32 | a.limb[i];
        q.limb[i] = (uint32_t)(x / n);
        rem = x % n;
    }
    uint64_t carry = rem * k / n;
    for (int i = 2; i >= 0; i--) {
        uint64_t x = (uint64_t)q.limb[i] * k + carry;
        q.limb[i] = (uint32_t)x;
        carry = x >> 32;
    }
    return q;
}

/* The k-th of n boundaries between lo and hi (lo <= hi), as a value of
 * lo's type: lo + (hi - lo) * k / n, exactly. */
static void boundary(const bson_value_t *lo, const bson_value_t *hi, size_t k,
                     size_t n, bson_value_t *out)
{
    if (lo->value_type == BSON_TYPE_OID) {
        struct u96 a = u96_of(lo->value.v_oid.bytes);
        struct u96 d = u96_add(u96_of(hi->value.v_oid.bytes), a, -1);
        out->value_type = BSON_TYPE_OID;
        u96_put(u96_add(a, u96_scale(d, (uint32_t)k, (uint32_t)n), 1),
                out->value.v_oid.bytes);
    } else {
        uint64_t a = (uint64_t)int_of(lo);
        uint64_t d = (uint64_t)int_of(hi) - a;
        uint64_t step = d / n * k + d % n * k / n;
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = (int64_t)(a + step);
    }
}

/* Boundaries from a sample of _ids, sorted by the server. */
static sluice_status sampled(mongoc_collection_t *c, size_t parts,
                             sluice_values *out, uint64_t version,
                             sluice_error *err)
{
    size_t want = parts * SAMPLES_PER_PARTITION;
    bson_t *pipeline =
        BCON_NEW("pipeline", "[", "{", "$sample", "{", "size",
                 BCON_INT64((int64_t)want), "}", "}", "{", "$sort", "{", "_id",
                 BCON_INT32(1), "}", "}", "]");
    mongoc_cursor_t *cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE,
                                                       pipeline, NULL, NULL);
    bson_value_t *ids = calloc(want + 1, sizeof *ids);
    size_t n = 0;
    const bson_t *doc;
    bson_iter_t it;
    while (ids && n < want && mongoc_cursor_next(cur, &doc))
        if (bson_iter_init_find(&it, doc, "_id"))
            bson_value_copy(bson_iter_value(&it), &ids[n++]);
    bson_error_t e;
    sluice_status st = mongoc_cursor_error(cur, &e)
                           ? mg_fail(&e, "sampling _id boundaries", err)
                           : SLUICE_OK;
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    const bson_value_t *prev = NULL;
    size_t made = 0;
    for (size_t k = 1; st == SLUICE_OK && k < parts; k++) {
        const bson_value_t *b = n ? &ids[k * n / parts] : NULL;
        if (!b || (prev && b == prev))
            continue;
        st = add_partition(out, prev, b, version, err);
        prev = b;
        made++;
    }
    if (st == SLUICE_OK)
        st = add_partition(out, prev, NULL, version, err);
    for (size_t i = 0; i < n; i++)
        bson_value_destroy(&ids[i]);
    free(ids);
    return st;
}

sluice_status mg_snapshot_partitions(void *instance, const char *table,
                                     sluice_values *out, sluice_error *err)
{
    struct mg_source *s = instance;
    uint64_t rows = 0;
    sluice_status st = mg_estimate_rows(s, table, &rows, err);
    if (st != SLUICE_OK)
        return st;
    uint64_t version = s->snapshot_version;
    size_t parts = (size_t)((rows + (uint64_t)s->cfg->partition_size - 1) /
                            (uint64_t)s->cfg->partition_size);
    if (parts > MAX_PARTITIONS)
        parts = MAX_PARTITIONS;
    if (parts <= 1)
        return add_partition(out, NULL, NULL, version, err);
    mongoc_collection_t *c = collection(s, table);
    bson_value_t lo, hi;
    bool has_lo = false, has_hi = false;
    st = edge_id(c, 1, &lo, &has_lo, err);
    if (st == SLUICE_OK)
        st = edge_id(c, -1, &hi, &has_hi, err);
    bool oids = has_lo && has_hi && lo.value_type == BSON_TYPE_OID &&
                hi.value_type == BSON_TYPE_OID;
    bool ints = has_lo && has_hi && is_integer(&lo) && is_integer(&hi);
    if (st == SLUICE_OK && (oids || ints)) {
        bson_value_t prev, b;
        for (size_t k = 1; st == SLUICE_OK && k < parts; k++) {
            boundary(&lo, &hi, k, parts, &b);
            st = add_partition(out, k == 1 ? NULL : &prev, &b, version, err);
            prev = b;
        }
        if (st == SLUICE_OK)
            st = add_partition(out, &prev, NULL, version, err);
    } else if (st == SLUICE_OK && has_lo) {
        st = sampled(c, parts, out, version, err);
    } else if (st == SLUICE_OK) {
        st = add_partition(out, NULL, NULL, version, err);
    }
    if (has_lo)
        bson_value_destroy(&lo);
    if (has_hi)
        bson_value_destroy(&hi);
    mongoc_collection_destroy(c);
    return st;
}

void mg_snapshot_close(struct mg_source *s)
{
    if (s->snap.cursor)
        mongoc_cursor_destroy(s->snap.cursor);
    if (s->snap.progress)
        bson_destroy(s->snap.progress);
    free(s->snap.table);
    memset(&s->snap, 0, sizeof s->snap);
}

static bool same_progress(const struct mg_source *s, const char *table,
                          const bson_t *progress)
{
    return s->snap.cursor && !strcmp(s->snap.table, table) &&
           s->snap.progress->len == progress->len &&
           !memcmp(bson_get_data(s->snap.progress), bson_get_data(progress),
                   progress->len);
}

/* {name: {_id: v}}. */
static void append_id_bound(bson_t *opts, const char *name,
                            const bson_value_t *v)
{
    bson_t bound;
    BSON_APPEND_DOCUMENT_BEGIN(opts, name, &bound);
    BSON_APPEND_VALUE(&bound, "_id", v);
    bson_append_document_end(opts, &bound);
}

/* A partition's documents, after the last one read. Its bounds are the
 * _id index's min and max (inclusive, exclusive), which order _ids of
 * every type as BSON does: a filter's $gte and $lt would compare only
 * within the bound's own type, and lose the _ids of other types that lie
 * between the bounds or beyond an open end. */
static mongoc_cursor_t *open_partition(struct mg_source *s, const char *table,
                                       const bson_t *p)
{
    bson_iter_t it;
    bson_t filter = BSON_INITIALIZER, ne;
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "hint",
                            "{", "_id", BCON_INT32(1), "}", "batchSize",
                            BCON_INT32((int32_t)s->cfg->batch_size));
    if (bson_iter_init_find(&it, p, "after")) {
        append_id_bound(opts, "min", bson_iter_value(&it));
        BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &ne);
        BSON_APPEND_VALUE(&ne, "$ne", bson_iter_value(&it));
        bson_append_document_end(&filter, &ne);
    } else if (bson_iter_init_find(&it, p, "min")) {
        append_id_bound(opts, "min", bson_iter_value(&it));
    }
    if (bson_iter_init_find(&it, p, "max"))
        append_id_bound(opts, "max", bson_iter_value(&it));
    mongoc_collection_t *c = collection(s, table);
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(c, &filter, opts, NULL);
    mongoc_collection_destroy(c);
    bson_destroy(opts);
    bson_destroy(&filter);
    return cur;
}

/* The progress after `last`: the partition's bounds and version kept. */
static bson_t *progress_after(const bson_t *p, const bson_value_t *last,
                              bool done)
{
    bson_t *out = bson_new();
    bson_iter_t it;
    bson_iter_init(&it, p);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "after") != 0 && strcmp(k, "done") != 0)
            bson_append_iter(out, k, -1, &it);
    }
    if (last)
        BSON_APPEND_VALUE(out, "after", last);
    else if (bson_iter_init_find(&it, p, "after"))
        bson_append_iter(out, "after", 5, &it);
    if (done)
        BSON_APPEND_BOOL(out, "done", true);
    return out;
}

sluice_status mg_snapshot_next(void *instance, const char *table,
                               const void *progress, size_t len,
                               sluice_batch *batch, sluice_error *err)
{
    struct mg_source *s = instance;
    bson_t p;
    if (!bson_init_static(&p, progress, len))
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: snapshot progress of '%s' is not "
                           "one source_mongo wrote",
                           table);
    bson_iter_t it;
    uint64_t version = bson_iter_init_find(&it, &p, "version")
                           ? (uint64_t)bson_iter_as_int64(&it)
                           : 0;
    if (bson_iter_init_find(&it, &p, "done") && bson_iter_as_bool(&it)) {
        mg_host->batch_set_position(batch, progress, len, err);
        return SLUICE_DONE;
    }
    if (!same_progress(s, table, &p)) {
        mg_snapshot_close(s);
        s->snap.table = strdup(table);
        s->snap.cursor = open_partition(s, table, &p);
    }
    mongoc_cursor_t *cur = s->snap.cursor;
    const bson_t *doc;
    bson_value_t last = {0};
    bool have_last = false, done = false;
    sluice_status st = SLUICE_OK;
    size_t tlen = strlen(table), read = 0;
    while (st == SLUICE_OK && !mg_host->batch_full(batch)) {
        /* a stop cuts the batch short: asked now and then, not per
         * document (the loop is the snapshot's hot path) */
        if (++read % STOP_ASKED_EVERY == 0 && mg_should_stop(s))
            break;
        if (!mongoc_cursor_next(cur, &doc)) {
            done = true;
            break;
        }
        if (!bson_iter_init_find(&it, doc, "_id"))
            continue;
        size_t klen = 0, dlen = 0;
        char *key = mg_key(bson_iter_value(&it), s->cfg->id_format, &klen);
        char *json = mg_doc_json(doc, s->cfg->doc_format, &dlen);
        if (!key || !json)
            st = mg_malformed(s, table, bson_iter_value(&it), doc, &key, &klen,
                              &json, &dlen, err);
        sluice_record r = {.size = sizeof r,
                           .op = SLUICE_OP_SNAPSHOT,
                           .table = table,
                           .table_len = tlen,
                           .key = key,
                           .key_len = klen,
                           .doc = json,
                           .doc_len = dlen,
                           .version = version};
        if (st == SLUICE_OK)
            st = mg_host->batch_add(batch, &r, err);
        bson_free(key);
        bson_free(json);
        if (have_last)
            bson_value_destroy(&last);
        bson_value_copy(bson_iter_value(&it), &last);
        have_last = true;
    }
    bson_error_t e;
    if (st == SLUICE_OK && done && mongoc_cursor_error(cur, &e)) {
        st = mg_fail(&e, "reading a snapshot partition", err);
        done = false;
    }
    if (st != SLUICE_OK) {
        mg_snapshot_close(s); /* the next call starts from the progress */
        if (have_last)
            bson_value_destroy(&last);
        return st;
    }
    bson_t *next = progress_after(&p, have_last ? &last : NULL, done);
    if (have_last)
        bson_value_destroy(&last);
    st = mg_host->batch_set_position(batch, bson_get_data(next), next->len,
                                     err);
    if (done) {
        mg_snapshot_close(s);
        bson_destroy(next);
    } else {
        if (s->snap.progress)
            bson_destroy(s->snap.progress);
        s->snap.progress = next;
    }
    return st != SLUICE_OK ? st : done ? SLUICE_DONE : SLUICE_OK;
}
