/* cdc.c: change data capture: one change stream per database, filtered to
 * the pipe's collections. Insert, update, replace and delete become
 * records versioned by the change's cluster time and timed by its wall
 * time (else its cluster time); the resume token after each batch is its
 * position, so a restart resumes there. A drop, rename or invalidate of
 * a captured collection, or a rename onto one, is logged and that table
 * stops (its destination stays; the core marks it stopped); the others
 * go on. Error
 * 286 (history lost) is fatal with what to do; network and retryable errors
 * are transient, and the stream reopens from the last position. Every
 * conversion is checked: a key or document libbson refuses goes to
 * malformed.c, and what even that cannot write fails the pipe, named; no
 * change is dropped. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mongo.h"

static const char *const followed_ops[] = {"insert", "update", "replace",
                                           "delete", "drop",   "rename"};

void mg_cdc_close(struct mg_source *s)
{
    if (s->stream)
        mongoc_change_stream_destroy(s->stream);
    s->stream = NULL;
}

static void forget_tables(struct mg_source *s)
{
    for (size_t i = 0; i < s->table_count; i++)
        free(s->tables[i]);
    free(s->tables);
    s->tables = NULL;
    s->table_count = 0;
}

/* Stops following table i: logged, and (ABI 1.1) told to the core with
 * the batch, which marks the table stopped once the batch is durable. */
static sluice_status stop_table(struct mg_source *s, size_t i, const char *why,
                                sluice_batch *batch, sluice_error *err)
{
    char reason[512];
    snprintf(reason, sizeof reason, "collection %s.%s was %s at the source",
             s->cfg->database, s->tables[i], why);
    sluice_log(mg_host, s->ctx, SLUICE_LOG_WARN,
               "%s: its table stops; its destination stays", reason);
    sluice_status st = SLUICE_OK;
    if (SLUICE_HOST_HAS(mg_host, batch_stop_table))
        st = mg_host->batch_stop_table(batch, s->tables[i], reason, err);
    free(s->tables[i]);
    s->tables[i] = s->tables[--s->table_count];
    return st;
}

/* The index of `table` among those followed; table_count when none. */
static size_t followed_at(const struct mg_source *s, const char *table)
{
    size_t i = 0;
    while (i < s->table_count && strcmp(s->tables[i], table))
        i++;
    return i;
}

static bool followed(const struct mg_source *s, const char *table)
{
    return table && followed_at(s, table) < s->table_count;
}

/* Appends {FIELD: {$in: LIST}} to `doc`. */
static void append_in(bson_t *doc, const char *field, const char *const *list,
                      size_t n)
{
    bson_t f, in;
    char key[24];
    BSON_APPEND_DOCUMENT_BEGIN(doc, field, &f);
    BSON_APPEND_ARRAY_BEGIN(&f, "$in", &in);
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%zu", i);
        BSON_APPEND_UTF8(&in, key, list[i]);
    }
    bson_append_array_end(&f, &in);
    bson_append_document_end(doc, &f);
}

/* The stream's filter, any of: the followed operations on the pipe's
 * collections; a rename onto one (a renameCollection with dropTarget
 * replaces a collection with a single rename event of the other name);
 * the invalidate that ends the stream (it has no ns.coll, and $match
 * filters it like any event: left out, the stream would end unseen). */
static void stream_pipeline(const struct mg_source *s, bson_t *pipeline)
{
    static const char *const rename[] = {"rename"};
    static const char *const invalidate[] = {"invalidate"};
    const char *const *tables = (const char *const *)s->tables;
    bson_t stages, m, match, any, ours, onto, end;
    BSON_APPEND_ARRAY_BEGIN(pipeline, "pipeline", &stages);
    BSON_APPEND_DOCUMENT_BEGIN(&stages, "0", &m);
    BSON_APPEND_DOCUMENT_BEGIN(&m, "$match", &match);
    BSON_APPEND_ARRAY_BEGIN(&match, "$or", &any);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "0", &ours);
    append_in(&ours, "ns.coll", tables, s->table_count);
    append_in(&ours, "operationType", followed_ops,
              sizeof followed_ops / sizeof *followed_ops);
    bson_append_document_end(&any, &ours);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "1", &onto);
    append_in(&onto, "to.coll", tables, s->table_count);
    append_in(&onto, "operationType", rename, 1);
    bson_append_document_end(&any, &onto);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "2", &end);
    append_in(&end, "operationType", invalidate, 1);
    bson_append_document_end(&any, &end);
    bson_append_array_end(&match, &any);
    bson_append_document_end(&m, &match);
    bson_append_document_end(&stages, &m);
    bson_append_array_end(pipeline, &stages);
}

static sluice_status open_stream(struct mg_source *s, sluice_error *err)
{
    bson_t pipeline = BSON_INITIALIZER;
    stream_pipeline(s, &pipeline);

    static const char *const full[] = {"updateLookup", "whenAvailable",
                                       "required"};
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&opts, "fullDocument", full[s->cfg->full_document]);
    BSON_APPEND_INT64(&opts, "maxAwaitTimeMS", s->cfg->max_await_ms);
    BSON_APPEND_INT32(&opts, "batchSize", (int32_t)s->cfg->batch_size);
    bson_iter_t it;
    if (bson_iter_init_find(&it, s->cdc_position, "resumeToken"))
        bson_append_iter(&opts, "resumeAfter", -1, &it);
    else if (bson_iter_init_find(&it, s->cdc_position, "startAfter"))
        bson_append_iter(&opts, "startAfter", -1, &it);
    else if (bson_iter_init_find(&it, s->cdc_position, "startAtOperationTime"))
        bson_append_iter(&opts, "startAtOperationTime", -1, &it);
    s->stream = mongoc_database_watch(s->db, &pipeline, &opts);
    bson_destroy(&pipeline);
    bson_destroy(&opts);
    bson_error_t e;
    if (mongoc_change_stream_error_document(s->stream, &e, NULL)) {
        mg_cdc_close(s);
        return mg_fail(&e, "opening the change stream", err);
    }
    return SLUICE_OK;
}

sluice_status mg_cdc_start(void *instance, const char *const *tables,
                           size_t count, const void *position, size_t len,
                           sluice_error *err)
{
    struct mg_source *s = instance;
    bson_t pos;
    if (!bson_init_static(&pos, position, len))
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: the CDC position is not one "
                           "source_mongo wrote");
    mg_cdc_close(s);
    forget_tables(s);
    s->tables = calloc(count + 1, sizeof *s->tables);
    for (size_t i = 0; i < count; i++)
        s->tables[s->table_count++] = strdup(tables[i]);
    if (s->cdc_position)
        bson_destroy(s->cdc_position);
    s->cdc_position = bson_copy(&pos);
    return open_stream(s, err);
}

static const char *event_text(const bson_t *ev, const char *path)
{
    bson_iter_t it, f;
    if (bson_iter_init(&it, ev) && bson_iter_find_descendant(&it, path, &f) &&
        BSON_ITER_HOLDS_UTF8(&f))
        return bson_iter_utf8(&f, NULL);
    return NULL;
}

/* A rename stops the table renamed away, and the table renamed onto
 * (its collection replaced by another's documents, with no drop event). */
static sluice_status take_rename(struct mg_source *s, const bson_t *ev,
                                 sluice_batch *batch, sluice_error *err)
{
    const char *from = event_text(ev, "ns.coll"),
               *to_db = event_text(ev, "to.db"),
               *to = event_text(ev, "to.coll");
    bool ours = to_db && !strcmp(to_db, s->cfg->database);
    char why[300];
    sluice_status st = SLUICE_OK;
    if (followed(s, from)) {
        snprintf(why, sizeof why, "renamed to %s.%s", to_db ? to_db : "?",
                 to ? to : "?");
        st = stop_table(s, followed_at(s, from), why, batch, err);
    }
    if (st == SLUICE_OK && ours && followed(s, to)) {
        snprintf(why, sizeof why,
                 "replaced by renameCollection from %s.%s (dropTarget)",
                 s->cfg->database, from ? from : "?");
        st = stop_table(s, followed_at(s, to), why, batch, err);
    }
    return st;
}

static sluice_status take_event(struct mg_source *s, const bson_t *ev,
                                sluice_batch *batch, sluice_error *err)
{
    const char *op = event_text(ev, "operationType");
    const char *table = event_text(ev, "ns.coll");
    if (!op)
        return SLUICE_OK;
    if (!strcmp(op, "invalidate")) {
        /* the stream ends: a new one starts after this event, which only
         * startAfter accepts (resumeAfter an invalidate is refused) */
        bson_iter_t id;
        if (bson_iter_init_find(&id, ev, "_id") &&
            BSON_ITER_HOLDS_DOCUMENT(&id)) {
            bson_t *pos = bson_new();
            bson_append_iter(pos, "startAfter", -1, &id);
            bson_destroy(s->cdc_position);
            s->cdc_position = pos;
        }
        mg_cdc_close(s);
        sluice_status st = SLUICE_OK;
        while (s->table_count && st == SLUICE_OK)
            st = stop_table(s, s->table_count - 1, "dropped with its database",
                            batch, err);
        return st;
    }
    if (!strcmp(op, "rename"))
        return take_rename(s, ev, batch, err);
    if (!table || !followed(s, table))
        return SLUICE_OK;
    if (!strcmp(op, "drop"))
        return stop_table(s, followed_at(s, table), "dropped", batch, err);
    sluice_op kind = !strcmp(op, "insert")    ? SLUICE_OP_INSERT
                     : !strcmp(op, "update")  ? SLUICE_OP_UPDATE
                     : !strcmp(op, "replace") ? SLUICE_OP_REPLACE
                     : !strcmp(op, "delete")  ? SLUICE_OP_DELETE
                                              : 0;
    if (!kind)
        return SLUICE_OK;
    bson_iter_t it;
    uint32_t t = 0, i = 0;
    if (bson_iter_init_find(&it, ev, "clusterTime") &&
        BSON_ITER_HOLDS_TIMESTAMP(&it))
        bson_iter_timestamp(&it, &t, &i);
    /* when it happened: the server's wall clock (MongoDB 6.0 and later),
     * else the cluster time, which has whole seconds */
    int64_t changed_at_ms = (int64_t)t * 1000;
    if (bson_iter_init_find(&it, ev, "wallTime") &&
        BSON_ITER_HOLDS_DATE_TIME(&it) && bson_iter_date_time(&it) > 0)
        changed_at_ms = bson_iter_date_time(&it);
    bson_iter_t key_it, id;
    if (!bson_iter_init_find(&key_it, ev, "documentKey") ||
        !bson_iter_recurse(&key_it, &id) || !bson_iter_find(&id, "_id"))
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: collection %s.%s: a change event "
                           "(%s) without documentKey._id",
                           s->cfg->database, table, op);
    bson_t full;
    if (kind != SLUICE_OP_DELETE) {
        uint32_t len;
        const uint8_t *data;
        if (!bson_iter_init_find(&it, ev, "fullDocument") ||
            !BSON_ITER_HOLDS_DOCUMENT(&it))
            return SLUICE_OK; /* updated, then deleted: a delete follows */
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&full, data, len))
            return sluice_fail(err, SLUICE_FATAL,
                               "source_mongo: collection %s.%s: the "
                               "fullDocument of a change event (%s) is not "
                               "BSON",
                               s->cfg->database, table, op);
    }
    const bson_t *whole = kind != SLUICE_OP_DELETE ? &full : NULL;
    size_t dlen = 0, klen = 0;
    char *doc = whole ? mg_doc_json(whole, s->cfg->doc_format, &dlen) : NULL;
    char *key = mg_key(bson_iter_value(&id), s->cfg->id_format, &klen);
    sluice_status st = SLUICE_OK;
    if (!key || (whole && !doc))
        st = mg_malformed(s, table, bson_iter_value(&id), whole, &key, &klen,
                          &doc, &dlen, err);
    sluice_record r = {.size = sizeof r,
                       .op = kind,
                       .table = table,
                       .table_len = strlen(table),
                       .key = key,
                       .key_len = klen,
                       .doc = doc,
                       .doc_len = dlen,
                       .version = mg_version(t, i),
                       .changed_at_ms = changed_at_ms};
    if (st == SLUICE_OK)
        st = mg_host->batch_add(batch, &r, err);
    bson_free(key);
    bson_free(doc);
    return st;
}

/* The stream's position, kept: after the last change it gave. */
static void keep_position(struct mg_source *s)
{
    const bson_t *token =
        s->stream ? mongoc_change_stream_get_resume_token(s->stream) : NULL;
    if (token) {
        bson_t *pos = bson_new();
        BSON_APPEND_DOCUMENT(pos, "resumeToken", token);
        bson_destroy(s->cdc_position);
        s->cdc_position = pos;
    }
}

static sluice_status remember_position(struct mg_source *s,
                                       sluice_batch *batch, sluice_error *err)
{
    keep_position(s);
    return mg_host->batch_set_position(batch, bson_get_data(s->cdc_position),
                                       s->cdc_position->len, err);
}

/* Sleeps until the deadline, or until the host says to stop. */
static void wait_until(const struct mg_source *s, int64_t deadline)
{
    int64_t left;
    while (!mg_should_stop(s) &&
           (left = deadline - mg_host->monotonic_ms()) > 0) {
        int64_t ms = left < 100 ? left : 100;
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

sluice_status mg_cdc_poll(void *instance, sluice_batch *batch,
                          int64_t timeout_ms, sluice_error *err)
{
    struct mg_source *s = instance;
    if (!s->cdc_position)
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: cdc_poll before cdc_start");
    if (!s->stream && s->table_count) {
        sluice_status st = open_stream(s, err);
        if (st != SLUICE_OK)
            return st;
    }
    int64_t deadline = mg_host->monotonic_ms() + timeout_ms;
    if (!s->stream) /* every table stopped and the stream read out */
        wait_until(s, deadline);
    sluice_status st = SLUICE_OK;
    while (s->stream && st == SLUICE_OK && !mg_host->batch_full(batch) &&
           !mg_should_stop(s)) {
        const bson_t *ev;
        if (mongoc_change_stream_next(s->stream, &ev)) {
            st = take_event(s, ev, batch, err);
            if (mg_host->monotonic_ms() >= deadline)
                break; /* the core cuts batches on time, busy or not */
            continue;
        }
        bson_error_t e;
        if (mongoc_change_stream_error_document(s->stream, &e, NULL)) {
            st = mg_fail(&e, "reading the change stream", err);
            mg_cdc_close(s); /* it reopens from the last position */
            return st;
        }
        if (!s->table_count) { /* every table stopped, what came is read: */
            keep_position(s);  /* past it all (a following invalidate too) */
            mg_cdc_close(s);
            break;
        }
        if (mg_host->monotonic_ms() >= deadline)
            break;
    }
    if (st != SLUICE_OK)
        return st;
    return remember_position(s, batch, err);
}

sluice_status mg_cdc_ack(void *instance, const void *position, size_t len,
                         sluice_error *err)
{
    (void)instance;
    (void)position;
    (void)len;
    (void)err;
    return SLUICE_OK; /* MongoDB keeps its oplog by its own rules */
}
