/* publish.c: publication events in, subscription events out (see hub.h).
 *
 * An SQLite store keeps a batch's frames in a segment file
 * (segments.h); a PostgreSQL store in blobs of at most BLOB_MAX bytes,
 * cut at frame boundaries, so a very large batch never needs one huge
 * value. */
#include <stdio.h>
#include <stdlib.h>

#include "../util/crash.h"
#include "../util/mem.h"
#include "hub.h"

#define BLOB_MAX (16u << 20)

static int64_t inserted_id(struct store *s, const char *sql,
                           const struct db_value *p, size_t n,
                           struct error *err)
{
    struct db_result r;
    if (store_exec(s, sql, p, n, &r, err) < 0)
        return -1;
    int64_t id = db_int(&r, 0, 0);
    db_result_free(&r);
    return id;
}

static int store_blobs(struct store *s, int64_t publication,
                       const struct sluice_batch *b, struct error *err)
{
    size_t start = 0;
    int64_t seq = 0;
    for (size_t i = 0; i <= b->count; i++) {
        size_t end = i < b->count ? b->offsets[i] : b->frames.len;
        bool last = i == b->count;
        if (!last && end - start < BLOB_MAX)
            continue;
        if (end > start || (last && seq == 0)) {
            struct db_value p[] = {DBV_INT(publication), DBV_INT(seq++),
                                   DBV_BLOB(b->frames.data + start,
                                            end - start)};
            if (store_exec(s,
                           "INSERT INTO publication_blobs (publication, seq, "
                           "data) VALUES ($1, $2, $3)",
                           p, 3, NULL, err) < 0)
                return -1;
        }
        start = end;
    }
    return 0;
}

int hub_blob_write(struct store *s, const struct sluice_batch *b,
                   struct hub_blob *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    out->written = true;
    if (!segments_used(s) || !b->frames.len)
        return 0;
    out->in_segment = true;
    return segments_append(s, b->frames.data, b->frames.len, &out->ref, err);
}

static int do_publish(struct store *s, const char *topic, const char *pipe,
                      const struct sluice_batch *b,
                      const struct hub_blob *given, int64_t at,
                      int64_t *publication, struct error *err)
{
    struct hub_blob blob = given ? *given : (struct hub_blob){0};
    if (!blob.written && hub_blob_write(s, b, &blob, err) < 0)
        return -1;
    /* The topic's row is locked until the transaction ends, so that the
     * publications of a topic are numbered in the order they commit:
     * subscriptions read on from the last id they completed, and one
     * committed after a higher id would never be read (PostgreSQL; SQLite
     * has one writer at a time anyway). */
    struct db_value t = DBV_TEXT(topic);
    struct db_result r;
    if (store_exec(s, "UPDATE topics SET name = name WHERE name = $1", &t, 1,
                   &r, err) < 0)
        return -1;
    bool exists = r.changes == 1;
    db_result_free(&r);
    if (!exists)
        return error_set(err, "there is no topic named '%s'", topic);
    struct db_value p[] = {DBV_TEXT(topic),
                           DBV_INT(at),
                           DBV_INT(b->count),
                           DBV_INT(b->frames.len),
                           b->has_position
                               ? DBV_BLOB(b->position.data, b->position.len)
                               : DBV_NULL,
                           DBV_TEXT("completed"),
                           DBV_TEXT(pipe),
                           blob.in_segment ? DBV_TEXT(blob.ref.name)
                                           : DBV_NULL,
                           DBV_INT(blob.ref.offset),
                           DBV_INT(blob.ref.length),
                           DBV_INT((int64_t)blob.ref.checksum)};
    int64_t id =
        inserted_id(s,
                    "INSERT INTO publications (topic, published_at, "
                    "records, bytes, position, status, pipe, "
                    "segment, segment_offset, blob_length, "
                    "blob_checksum) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                    "$8, $9, $10, $11) RETURNING id",
                    p, 11, err);
    if (id < 0 || (!segments_used(s) && store_blobs(s, id, b, err) < 0))
        return -1;
    struct db_value o[] = {DBV_INT(id), DBV_TEXT(topic)};
    if (store_exec(s,
                   "INSERT INTO owed (publication, subscription) SELECT $1, "
                   "name FROM subscriptions WHERE topic = $2",
                   o, 2, NULL, err) < 0)
        return -1;
    *publication = id;
    return 0;
}

/* A publication's arguments and result (hub_publish). */
struct publishing {
    const char *topic, *pipe;
    const struct sluice_batch *batch;
    const struct hub_blob *blob;
    int64_t at;
    int64_t *publication;
};

static int publish_step(struct store *s, void *arg, struct error *err)
{
    const struct publishing *p = arg;
    return do_publish(s, p->topic, p->pipe, p->batch, p->blob, p->at,
                      p->publication, err);
}

static void committed_point(void *arg, bool committed)
{
    (void)arg;
    if (committed)
        crash_point("publication.committed");
}

int hub_publish_written(struct store *s, const char *topic, const char *pipe,
                        const struct sluice_batch *batch,
                        const struct hub_blob *blob, int64_t at_ms,
                        int64_t *publication, struct error *err)
{
    struct publishing p = {topic, pipe, batch, blob, at_ms, publication};
    int rc = store_transaction(s, publish_step, &p, err);
    if (rc == 0)
        store_after(s, committed_point, NULL);
    return rc;
}

int hub_publish(struct store *s, const char *topic, const char *pipe,
                const struct sluice_batch *batch, int64_t at_ms,
                int64_t *publication, struct error *err)
{
    return hub_publish_written(s, topic, pipe, batch, NULL, at_ms, publication,
                               err);
}

/* Reads an event's records from its segment into `out` (an empty batch). */
static int hub_blob_load(struct store *s, int64_t publication,
                         const struct segment_ref *ref,
                         struct sluice_batch *out, struct error *err)
{
    struct buf frames = {0};
    int rc = segments_read(s, ref, &frames, err);
    if (rc == 0)
        rc = batch_adopt(out, &frames, err);
    buf_free(&frames);
    if (rc < 0)
        return error_prefix(err, "publication %lld", (long long)publication);
    return 0;
}

static int load_event(struct store *s, int64_t publication,
                      const struct segment_ref *ref, struct hub_event *out,
                      struct error *err)
{
    if (ref)
        return hub_blob_load(s, publication, ref, &out->batch, err);
    struct db_value p = DBV_INT(publication);
    struct db_result r;
    if (store_exec(s,
                   "SELECT data FROM publication_blobs WHERE publication = $1 "
                   "ORDER BY seq",
                   &p, 1, &r, err) < 0)
        return -1;
    /* the first blob's bytes become the batch's, copied no more; the
     * others (a batch above BLOB_MAX) are appended to them */
    struct buf frames = {0};
    size_t len = 0;
    char *first = r.rows ? db_take(&r, 0, 0, &len) : NULL;
    if (first)
        frames = (struct buf){first, len, len + 1};
    for (size_t i = 1; i < r.rows; i++) {
        const struct db_value *v = db_cell(&r, i, 0);
        buf_append(&frames, v->p ? v->p : "", v->len);
    }
    db_result_free(&r);
    int rc = batch_adopt(&out->batch, &frames, err);
    buf_free(&frames);
    if (rc < 0)
        return error_prefix(err, "publication %lld", (long long)publication);
    return 0;
}

/* The segment columns (segment, segment_offset, blob_length,
 * blob_checksum) of a result from `col` on; false when the event's bytes
 * are in publication_blobs. */
static bool hub_blob_ref(const struct db_result *r, size_t row, size_t col,
                         struct segment_ref *ref)
{
    if (db_cell(r, row, col)->type == DB_NULL)
        return false;
    snprintf(ref->name, sizeof ref->name, "%s", db_text(r, row, col));
    ref->offset = db_int(r, row, col + 1);
    ref->length = db_int(r, row, col + 2);
    ref->checksum = (uint64_t)db_int(r, row, col + 3);
    return true;
}

int hub_publication_load(struct store *s, int64_t publication,
                         struct sluice_batch *out, struct error *err)
{
    struct db_value p = DBV_INT(publication);
    struct db_result r;
    if (store_exec(
            s,
            "SELECT segment, segment_offset, blob_length, blob_checksum "
            "FROM publications WHERE id = $1",
            &p, 1, &r, err) < 0)
        return -1;
    if (!r.rows) {
        db_result_free(&r);
        return error_set(err, "there is no publication event %lld",
                         (long long)publication);
    }
    struct segment_ref ref;
    bool in_segment = hub_blob_ref(&r, 0, 0, &ref);
    db_result_free(&r);
    struct hub_event e = {.publication = publication};
    batch_init(&e.batch, 0, 0);
    int rc = load_event(s, publication, in_segment ? &ref : NULL, &e, err);
    batch_free(out);
    *out = e.batch;
    return rc;
}

/* An event's records: from memory when the publisher kept them, else
 * from where the store keeps them. */
static int take_records(struct store *s, struct hub_kept *kept,
                        int64_t publication, const struct segment_ref *ref,
                        struct hub_event *out, struct error *err)
{
    struct buf frames = {0};
    if (!kept || !hub_kept_take(kept, publication, &frames))
        return load_event(s, publication, ref, out, err);
    int rc = batch_adopt(&out->batch, &frames, err);
    buf_free(&frames);
    return rc < 0 ? error_prefix(err, "publication %lld (kept)",
                                 (long long)publication)
                  : 0;
}

static int do_take(struct store *s, const char *subscription, int64_t after,
                   int64_t at, struct hub_kept *kept, struct hub_event *out,
                   bool *found, struct error *err)
{
    struct subscription sub;
    bool exists;
    if (subscription_get(s, subscription, &sub, &exists, err) < 0)
        return -1;
    if (!exists)
        return error_set(err, "there is no subscription named '%s'",
                         subscription);
    if (sub.paused) { /* an operator's hold: it passes at the resume */
        subscription_free(&sub);
        return error_transient(err,
                               "subscription '%s' is paused; resume it "
                               "first (sluice subscription resume %s)",
                               subscription, subscription);
    }
    struct db_value p[] = {DBV_TEXT(sub.topic),
                           DBV_INT(after > sub.cursor ? after : sub.cursor)};
    struct db_result r;
    int rc = store_exec(s,
                        "SELECT id, published_at, position, segment, "
                        "segment_offset, blob_length, blob_checksum, records "
                        "FROM publications WHERE topic = $1 AND id > $2 "
                        "ORDER BY id LIMIT 1",
                        p, 2, &r, err);
    subscription_free(&sub);
    if (rc < 0)
        return -1;
    *found = r.rows == 1;
    if (!*found) {
        db_result_free(&r);
        return 0;
    }
    out->publication = db_int(&r, 0, 0);
    out->published_at = db_int(&r, 0, 1);
    const struct db_value *pos = db_cell(&r, 0, 2);
    bool has_position = pos->type != DB_NULL;
    struct buf position = {0};
    buf_append(&position, has_position ? pos->p : "",
               has_position ? pos->len : 0);
    struct segment_ref ref;
    bool in_segment = hub_blob_ref(&r, 0, 3, &ref);
    int64_t records = db_int(&r, 0, 7);
    db_result_free(&r);
    batch_init(&out->batch, 0, 0);
    struct db_value e[] = {DBV_TEXT(subscription), DBV_INT(out->publication),
                           DBV_INT(at)};
    if (store_exec(s,
                   "INSERT INTO subscription_events (subscription, "
                   "publication, status, started_at) VALUES ($1, $2, "
                   "'processing', $3) ON CONFLICT (publication, subscription) "
                   "DO UPDATE SET status = 'processing', started_at = "
                   "excluded.started_at",
                   e, 3, NULL, err) < 0 ||
        take_records(s, kept, out->publication, in_segment ? &ref : NULL, out,
                     err) < 0) {
        buf_free(&position);
        return -1;
    }
    if ((int64_t)out->batch.count != records) {
        buf_free(&position);
        return error_set(err,
                         "publication %lld: %zu record(s) found, not the "
                         "%lld it was published with",
                         (long long)out->publication, out->batch.count,
                         (long long)records);
    }
    buf_free(&out->batch.position);
    out->batch.position = position;
    out->batch.has_position = has_position;
    return 0;
}

/* A take's arguments and results (hub_take_after). */
struct taking {
    const char *subscription;
    int64_t after, at;
    struct hub_kept *kept;
    struct hub_event *out;
    bool *found;
};

static int take_step(struct store *s, void *arg, struct error *err)
{
    const struct taking *t = arg;
    return do_take(s, t->subscription, t->after, t->at, t->kept, t->out,
                   t->found, err);
}

int hub_take(struct store *s, const char *subscription, int64_t at_ms,
             struct hub_event *out, bool *found, struct error *err)
{
    return hub_take_after(s, subscription, 0, at_ms, NULL, out, found, err);
}

int hub_take_after(struct store *s, const char *subscription, int64_t after,
                   int64_t at_ms, struct hub_kept *kept, struct hub_event *out,
                   bool *found, struct error *err)
{
    memset(out, 0, sizeof *out);
    *found = false;
    struct taking t = {subscription, after, at_ms, kept, out, found};
    if (store_transaction(s, take_step, &t, err) < 0) {
        hub_event_free(out);
        return -1;
    }
    return 0;
}

static int finish(struct store *s, const char *subscription,
                  int64_t publication, const char *status, const char *message,
                  int64_t at, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(status), DBV_INT(at), DBV_MESSAGE(message),
                           DBV_TEXT(subscription), DBV_INT(publication)};
    struct db_result r;
    if (store_exec(s,
                   "UPDATE subscription_events SET status = $1, finished_at = "
                   "$2, message = $3 WHERE subscription = $4 AND publication "
                   "= $5",
                   p, 5, &r, err) < 0)
        return -1;
    int64_t changed = r.changes;
    db_result_free(&r);
    if (changed != 1)
        return error_set(err,
                         "subscription '%s' has not taken publication "
                         "%lld",
                         subscription, (long long)publication);
    if (strcmp(status, "completed") != 0)
        return 0;
    struct db_value c[] = {DBV_INT(publication), DBV_TEXT(subscription)};
    return store_exec(s,
                      "UPDATE subscriptions SET cursor = $1 WHERE name = $2 "
                      "AND cursor < $1",
                      c, 2, NULL, err);
}

/* A completion's arguments (hub_complete). */
struct completion {
    const char *subscription;
    int64_t publication, at;
};

static int complete_step(struct store *s, void *arg, struct error *err)
{
    const struct completion *c = arg;
    return finish(s, c->subscription, c->publication, "completed", "", c->at,
                  err);
}

int hub_complete(struct store *s, const char *subscription,
                 int64_t publication, int64_t at_ms, struct error *err)
{
    struct completion c = {subscription, publication, at_ms};
    return store_transaction(s, complete_step, &c, err);
}

int hub_backlog(struct store *s, const char *subscription, int64_t *count,
                struct error *err)
{
    int64_t records;
    return hub_backlog_records(s, subscription, count, &records, err);
}

int hub_backlog_records(struct store *s, const char *subscription,
                        int64_t *events, int64_t *records, struct error *err)
{
    struct db_value p = DBV_TEXT(subscription);
    struct db_result r;
    if (store_exec(
            s,
            "SELECT COUNT(*), CAST(COALESCE(SUM(p.records), 0) AS BIGINT) FROM "
            "publications p JOIN subscriptions s ON p.topic = s.topic "
            "WHERE s.name = $1 AND p.id > s.cursor",
            &p, 1, &r, err) < 0)
        return -1;
    *events = db_int(&r, 0, 0);
    *records = db_int(&r, 0, 1);
    db_result_free(&r);
    return 0;
}

int hub_error(struct store *s, const char *subscription, int64_t publication,
              const char *message, int64_t at_ms, struct error *err)
{
    return finish(s, subscription, publication, "error", message, at_ms, err);
}

void hub_event_free(struct hub_event *e)
{
    batch_free(&e->batch);
}
