/* cursors.c: reads: find, aggregate (a small pipeline evaluator, and
 * $changeStream, whose events changes.c reads), getMore, killCursors,
 * listCollections. Callers hold srv.lock; a change-stream getMore waits
 * on srv.grew (releasing it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define DEFAULT_BATCH 101

enum cursor_kind { CURSOR_FIND, CURSOR_LIST, CURSOR_CHANGES };

struct cursor {
    int64_t id;
    enum cursor_kind kind;
    char *db, *coll; /* coll NULL: a database or cluster change stream */
    int32_t batch;   /* default batch size of getMore (0: as many as fit) */
    /* find, in _id order */
    struct match *filter;
    struct id_range range; /* borrowed from the filter */
    bson_value_t min, max; /* the min and max options, on _id */
    bool has_min, has_max;
    int direction;
    bson_value_t last;
    bool has_last;
    int64_t left; /* limit left; -1 none */
    int64_t skip; /* matches still to skip */
    struct projection *projection;
    /* materialized */
    bson_t **docs;
    size_t count, next;
    struct change_stream *stream; /* CURSOR_CHANGES */
};

void reply_error(bson_t *reply, int code, const char *code_name,
                 const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    BSON_APPEND_DOUBLE(reply, "ok", 0);
    BSON_APPEND_UTF8(reply, "errmsg", msg);
    BSON_APPEND_INT32(reply, "code", code);
    BSON_APPEND_UTF8(reply, "codeName", code_name);
}

static const char *text_of(const bson_t *b, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, b, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

static int64_t int_of(const bson_t *b, const char *key, int64_t fallback)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, b, key) || !BSON_ITER_HOLDS_NUMBER(&it))
        return fallback;
    return bson_iter_as_int64(&it);
}

static bool doc_of(const bson_t *b, const char *key, bson_t *out)
{
    bson_iter_t it;
    uint32_t len;
    const uint8_t *data;
    if (!bson_iter_init_find(&it, b, key) ||
        (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_ARRAY(&it)))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(&it))
        bson_iter_document(&it, &len, &data);
    else
        bson_iter_array(&it, &len, &data);
    return bson_init_static(out, data, len);
}

static struct cursor *cursor_new(enum cursor_kind kind, const char *db,
                                 const char *coll)
{
    struct cursor *c = calloc(1, sizeof *c);
    c->id = srv.next_cursor_id++;
    c->kind = kind;
    c->db = strdup(db);
    c->coll = coll ? strdup(coll) : NULL;
    c->left = -1;
    c->direction = 1;
    if (srv.ncursors == srv.cursors_cap) {
        srv.cursors_cap = srv.cursors_cap ? srv.cursors_cap * 2 : 16;
        srv.cursors =
            realloc(srv.cursors, srv.cursors_cap * sizeof *srv.cursors);
    }
    srv.cursors[srv.ncursors++] = c;
    return c;
}

static void cursor_free(struct cursor *c)
{
    match_free(c->filter);
    projection_free(c->projection);
    if (c->has_last)
        bson_value_destroy(&c->last);
    if (c->has_min)
        bson_value_destroy(&c->min);
    if (c->has_max)
        bson_value_destroy(&c->max);
    for (size_t i = 0; i < c->count; i++)
        bson_destroy(c->docs[i]);
    change_stream_free(c->stream);
    free(c->docs);
    free(c->db);
    free(c->coll);
    free(c);
}

static void cursor_remove(int64_t id)
{
    for (size_t i = 0; i < srv.ncursors; i++)
        if (srv.cursors[i]->id == id) {
            cursor_free(srv.cursors[i]);
            srv.cursors[i] = srv.cursors[--srv.ncursors];
            return;
        }
}

static struct cursor *cursor_find(int64_t id)
{
    for (size_t i = 0; i < srv.ncursors; i++)
        if (srv.cursors[i]->id == id)
            return srv.cursors[i];
    return NULL;
}

void cursors_free_all(void)
{
    for (size_t i = 0; i < srv.ncursors; i++)
        cursor_free(srv.cursors[i]);
    free(srv.cursors);
    srv.cursors = NULL;
    srv.ncursors = srv.cursors_cap = 0;
}

static void ns_of(const struct cursor *c, char *out, size_t size)
{
    snprintf(out, size, "%s.%s", c->db, c->coll ? c->coll : "$cmd.aggregate");
}

/* ---- change streams (changes.c) ---- */

static void cursor_reply(struct cursor *c, const char *batch_name,
                         const bson_t *batch, bson_t *reply)
{
    char ns[256];
    ns_of(c, ns, sizeof ns);
    bool done = c->kind == CURSOR_CHANGES ? change_stream_closed(c->stream)
                : c->kind == CURSOR_LIST  ? c->next >= c->count
                                          : false;
    bson_t cur;
    if (reply->len == 5) { /* room for the batch and what surrounds it */
        bson_destroy(reply);
        bson_steal(reply, bson_sized_new(batch->len + 512));
    }
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_INT64(&cur, "id", done ? 0 : c->id);
    BSON_APPEND_UTF8(&cur, "ns", ns);
    BSON_APPEND_ARRAY(&cur, batch_name, batch);
    if (c->kind == CURSOR_CHANGES)
        change_stream_token(c->stream, &cur, "postBatchResumeToken");
    bson_append_document_end(reply, &cur);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
    if (done)
        cursor_remove(c->id);
}

static void open_change_stream(const bson_t *cmd, const bson_t *spec,
                               bson_iter_t *stages, const char *db,
                               const char *coll, bson_t *reply)
{
    struct mongo_error e;
    struct change_stream *s = change_stream_open(spec, stages, db, coll, &e);
    if (!s) {
        reply_mongo_error(reply, &e);
        return;
    }
    struct cursor *c = cursor_new(CURSOR_CHANGES, db, coll);
    c->stream = s;
    bson_t cursor_opts;
    c->batch = doc_of(cmd, "cursor", &cursor_opts)
                   ? (int32_t)int_of(&cursor_opts, "batchSize", 0)
                   : 0;
    bson_t batch = BSON_INITIALIZER;
    int count = 0;
    if (change_stream_batch(s, c->batch, &batch, &count, &e)) {
        cursor_reply(c, "firstBatch", &batch, reply);
    } else {
        cursor_remove(c->id);
        reply_mongo_error(reply, &e);
    }
    bson_destroy(&batch);
}

static void list_batch(struct cursor *c, int32_t limit, bson_t *batch)
{
    char key[16];
    int count = 0;
    size_t bytes = 0;
    while (c->next < c->count && (limit <= 0 || count < limit)) {
        const bson_t *d = c->docs[c->next];
        if (bytes + d->len > REPLY_BYTES_MAX && count > 0)
            break;
        snprintf(key, sizeof key, "%d", count++);
        bson_append_document(batch, key, -1, d);
        bytes += d->len;
        c->next++;
    }
}

void reply_list_cursor(const bson_t *cmd, const char *db, const char *coll,
                       bson_t **docs, size_t n, bson_t *reply)
{
    bson_t opts, batch = BSON_INITIALIZER;
    struct cursor *c = cursor_new(CURSOR_LIST, db, coll);
    c->docs = docs;
    c->count = n;
    int32_t first = doc_of(cmd, "cursor", &opts)
                        ? (int32_t)int_of(&opts, "batchSize", 0)
                        : 0;
    list_batch(c, first, &batch);
    cursor_reply(c, "firstBatch", &batch, reply);
    bson_destroy(&batch);
}

/* ---- find ---- */

/* The position a scan in the cursor's direction starts from. */
static long scan_start(const struct cursor *c, const struct collection *coll)
{
    if (c->direction > 0) {
        size_t i = 0, j;
        if (c->has_last)
            return (long)coll_lower_bound(coll, &c->last, true);
        if (c->range.lo)
            i = coll_lower_bound(coll, c->range.lo, !c->range.lo_inclusive);
        if (c->has_min && (j = coll_lower_bound(coll, &c->min, false)) > i)
            i = j;
        return (long)i;
    }
    size_t end = coll->count, j;
    if (c->has_last)
        return (long)coll_lower_bound(coll, &c->last, false) - 1;
    if (c->range.hi &&
        (j = coll_lower_bound(coll, c->range.hi, c->range.hi_inclusive)) < end)
        end = j;
    if (c->has_max && (j = coll_lower_bound(coll, &c->max, false)) < end)
        end = j;
    return (long)end - 1;
}

/* Whether a scan reaching `id` has gone past every document it may
 * give. */
static bool scan_past(const struct cursor *c, const bson_value_t *id)
{
    int k;
    if (c->direction > 0)
        return (c->range.hi && ((k = value_compare(id, c->range.hi)) > 0 ||
                                (k == 0 && !c->range.hi_inclusive))) ||
               (c->has_max && value_compare(id, &c->max) >= 0);
    return (c->range.lo && ((k = value_compare(id, c->range.lo)) < 0 ||
                            (k == 0 && !c->range.lo_inclusive))) ||
           (c->has_min && value_compare(id, &c->min) < 0);
}

static void find_batch(struct cursor *c, int32_t limit, bson_t *batch)
{
    struct collection *coll = coll_find(c->db, c->coll);
    size_t bytes = 0;
    int count = 0;
    char key[16];
    if (!coll) {
        c->left = 0;
        return;
    }
    long i = scan_start(c, coll);
    for (; i >= 0 && (size_t)i < coll->count && c->left != 0;
         i += c->direction) {
        if (limit > 0 && count >= limit)
            break;
        struct doc *d = &coll->docs[i];
        if (scan_past(c, &d->id)) {
            c->left = 0; /* past the range: nothing more can match */
            break;
        }
        if (!match_bson(c->filter, d->bson, NULL))
            continue;
        if (c->skip > 0) {
            c->skip--;
            continue;
        }
        bson_t shown = BSON_INITIALIZER;
        if (c->projection)
            projection_apply(c->projection, d->bson, &shown);
        const bson_t *out = c->projection ? &shown : d->bson;
        if (bytes + out->len > REPLY_BYTES_MAX && count > 0) {
            bson_destroy(&shown);
            break;
        }
        snprintf(key, sizeof key, "%d", count++);
        bson_append_document(batch, key, -1, out);
        bytes += out->len;
        bson_destroy(&shown);
        if (c->has_last)
            bson_value_destroy(&c->last);
        bson_value_copy(&d->id, &c->last);
        c->has_last = true;
        if (c->left > 0)
            c->left--;
    }
    if (i < 0 || (size_t)i >= coll->count)
        c->left = 0;
}

/* The min or max option: {_id: v}, with a hint; false with the error. */
static bool id_bound(const bson_t *cmd, const char *name, bool hinted,
                     bson_value_t *out, bool *has, struct mongo_error *e)
{
    bson_t b;
    bson_iter_t it;
    if (!doc_of(cmd, name, &b))
        return true;
    if (!hinted) {
        mongo_error_set(e, 51173, "Location51173",
                        "When using min()/max() a hint of which index to use "
                        "must be provided");
        return false;
    }
    if (!bson_iter_init(&it, &b) || !bson_iter_next(&it) ||
        strcmp(bson_iter_key(&it), "_id") != 0 || bson_iter_next(&it)) {
        mongo_error_set(e, 238, "NotImplemented",
                        "the sluice test server takes min() and max() on the "
                        "_id index only");
        return false;
    }
    bson_iter_init_find(&it, &b, "_id");
    bson_value_copy(bson_iter_value(&it), out);
    *has = true;
    return true;
}

static bool bad_count(const bson_t *cmd, const char *name, int64_t *out,
                      struct mongo_error *e)
{
    *out = int_of(cmd, name, 0);
    if (*out >= 0)
        return false;
    mongo_error_set(e, 51024, "Location51024",
                    "BSON field '%s' value must be >= 0, actual value '%lld'",
                    name, (long long)*out);
    return true;
}

/* Reads the find command into the cursor; false with the error. */
static bool find_setup(struct cursor *c, const bson_t *cmd,
                       struct collection *coll, struct mongo_error *e)
{
    bson_t filter, spec;
    bson_iter_t it;
    struct sort s;
    int64_t skip, limit;
    if (!query_collation_ok(cmd, e) || bad_count(cmd, "skip", &skip, e) ||
        bad_count(cmd, "limit", &limit, e))
        return false;
    c->filter =
        match_parse(doc_of(cmd, "filter", &filter) ? &filter : NULL, e);
    if (!c->filter ||
        !sort_parse(doc_of(cmd, "sort", &spec) ? &spec : NULL, &s, e))
        return false;
    if (doc_of(cmd, "projection", &spec) && !bson_empty(&spec) &&
        !(c->projection = projection_parse(&spec, e))) {
        sort_free(&s);
        return false;
    }
    bool hinted = bson_iter_init_find(&it, cmd, "hint");
    bool okay = true;
    if (hinted && coll && !index_hint_ok(coll, bson_iter_value(&it))) {
        mongo_error_set(e, 2, "BadValue",
                        "error processing query: planner returned error :: "
                        "caused by :: hint provided does not correspond to an "
                        "existing index");
        okay = false;
    }
    okay = okay && id_bound(cmd, "min", hinted, &c->min, &c->has_min, e) &&
           id_bound(cmd, "max", hinted, &c->max, &c->has_max, e);
    c->skip = skip;
    c->left = limit > 0 ? limit : -1;
    if (okay && sort_by_id(&s, &c->direction)) {
        match_id_range(c->filter, &c->range);
    } else if (okay && (c->has_min || c->has_max)) {
        mongo_error_set(e, 238, "NotImplemented",
                        "the sluice test server takes min() and max() with "
                        "the _id order only");
        okay = false;
    } else if (okay) { /* sorted: the selection, projected, as a list */
        size_t n;
        size_t *at =
            coll ? query_select(coll, c->filter, &s, skip, limit, NULL, &n)
                 : NULL;
        c->kind = CURSOR_LIST;
        c->docs = calloc(at ? n + 1 : 1, sizeof *c->docs);
        for (size_t k = 0; at && k < n; k++) {
            const bson_t *d = coll->docs[at[k]].bson;
            c->docs[k] = bson_new();
            if (c->projection)
                projection_apply(c->projection, d, c->docs[k]);
            else
                bson_concat(c->docs[k], d);
        }
        c->count = at ? n : 0;
        free(at);
    }
    sort_free(&s);
    return okay;
}

void cmd_find(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = text_of(cmd, "find");
    struct mongo_error e = {0};
    if (!name) {
        reply_error(reply, 2, "BadValue", "find needs a collection name");
        return;
    }
    struct cursor *c = cursor_new(CURSOR_FIND, db, name);
    if (!find_setup(c, cmd, coll_find(db, name), &e)) {
        cursor_remove(c->id);
        reply_mongo_error(reply, &e);
        return;
    }
    int32_t batch_size = (int32_t)int_of(cmd, "batchSize", DEFAULT_BATCH);
    bson_t batch = BSON_INITIALIZER;
    bson_iter_t sb;
    bool single =
        bson_iter_init_find(&sb, cmd, "singleBatch") && bson_iter_as_bool(&sb);
    if (c->kind == CURSOR_LIST) {
        list_batch(c, batch_size, &batch);
        if (single)
            c->next = c->count;
        cursor_reply(c, "firstBatch", &batch, reply);
        bson_destroy(&batch);
        return;
    }
    find_batch(c, batch_size, &batch);
    if (single)
        c->left = 0;
    bool done = c->left == 0;
    char ns[256];
    ns_of(c, ns, sizeof ns);
    bson_t cur;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_INT64(&cur, "id", done ? 0 : c->id);
    BSON_APPEND_UTF8(&cur, "ns", ns);
    BSON_APPEND_ARRAY(&cur, "firstBatch", &batch);
    bson_append_document_end(reply, &cur);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
    bson_destroy(&batch);
    if (done)
        cursor_remove(c->id);
}

/* ---- aggregate ---- */

static void materialize(struct cursor *c, struct collection *coll)
{
    c->docs = calloc(coll ? coll->count + 1 : 1, sizeof *c->docs);
    for (size_t i = 0; coll && i < coll->count; i++)
        c->docs[c->count++] = bson_copy(coll->docs[i].bson);
}

static void keep_only(struct cursor *c, bool (*keep)(const bson_t *, void *),
                      void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < c->count; i++)
        if (keep(c->docs[i], arg))
            c->docs[n++] = c->docs[i];
        else
            bson_destroy(c->docs[i]);
    c->count = n;
}

static bool matches(const bson_t *doc, void *arg)
{
    return match_bson(arg, doc, NULL);
}

/* {$group: {_id: X, field: {$sum: 1 | "$field"}}}: one document. */
static bool group(struct cursor *c, bson_iter_t *spec)
{
    bson_iter_t g, acc, op;
    if (!bson_iter_recurse(spec, &g))
        return false;
    bson_t out = BSON_INITIALIZER;
    while (bson_iter_next(&g)) {
        const char *k = bson_iter_key(&g);
        if (!strcmp(k, "_id")) {
            bson_append_iter(&out, "_id", 3, &g);
            continue;
        }
        if (!bson_iter_recurse(&g, &acc) || !bson_iter_next(&acc) ||
            strcmp(bson_iter_key(&acc), "$sum") != 0) {
            bson_destroy(&out);
            return false;
        }
        int64_t total = 0;
        for (size_t i = 0; i < c->count; i++) {
            if (BSON_ITER_HOLDS_UTF8(&acc)) {
                const char *field = bson_iter_utf8(&acc, NULL) + 1;
                total += bson_iter_init_find(&op, c->docs[i], field)
                             ? bson_iter_as_int64(&op)
                             : 0;
            } else {
                total += bson_iter_as_int64(&acc);
            }
        }
        BSON_APPEND_INT64(&out, k, total);
    }
    for (size_t i = 0; i < c->count; i++)
        bson_destroy(c->docs[i]);
    c->count = 0;
    c->docs[c->count++] = bson_copy(&out);
    bson_destroy(&out);
    return true;
}

/* {$sort: {...}}: the documents in the sort's order. */
static bool sort_stage(struct cursor *c, const bson_t *spec,
                       struct mongo_error *e)
{
    struct sort s;
    if (!sort_parse(spec, &s, e))
        return false;
    if (!s.n) {
        mongo_error_set(e, 15976, "Location15976",
                        "$sort stage must have at least one sort key");
        return false;
    }
    size_t *order = calloc(c->count + 1, sizeof *order);
    bson_t **sorted = calloc(c->count + 1, sizeof *sorted);
    sort_order(&s, (const bson_t *const *)c->docs, c->count, order);
    for (size_t i = 0; i < c->count; i++)
        sorted[i] = c->docs[order[i]];
    memcpy(c->docs, sorted, c->count * sizeof *c->docs);
    free(sorted);
    free(order);
    sort_free(&s);
    return true;
}

static bool run_stage(struct cursor *c, bson_iter_t *stage,
                      struct mongo_error *e)
{
    const char *name = bson_iter_key(stage);
    uint32_t len;
    const uint8_t *data;
    bson_t arg;
    bool doc = BSON_ITER_HOLDS_DOCUMENT(stage);
    if (doc) {
        bson_iter_document(stage, &len, &data);
        bson_init_static(&arg, data, len);
    }
    if (!strcmp(name, "$match")) {
        if (!doc) {
            mongo_error_set(e, 15959, "Location15959",
                            "the match filter must be an expression in an "
                            "object");
            return false;
        }
        struct match *m = match_parse(&arg, e);
        if (!m)
            return false;
        keep_only(c, matches, m);
        match_free(m);
    } else if (!strcmp(name, "$group")) {
        bool empty = c->count == 0;
        if (!group(c, stage)) {
            mongo_error_set(e, 2, "BadValue",
                            "the test server groups with $sum only");
            return false;
        }
        if (empty) { /* no input, no group */
            bson_destroy(c->docs[0]);
            c->count = 0;
        }
    } else if (!strcmp(name, "$collStats")) {
        int64_t n = (int64_t)c->count;
        for (size_t i = 0; i < c->count; i++)
            bson_destroy(c->docs[i]);
        bson_t out = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&out, "ns", c->coll ? c->coll : "");
        BSON_APPEND_INT64(&out, "count", n);
        c->docs[0] = bson_copy(&out);
        c->count = 1;
        bson_destroy(&out);
    } else if (!strcmp(name, "$sample")) {
        bson_iter_t s;
        int64_t want =
            bson_iter_recurse(stage, &s) && bson_iter_find(&s, "size")
                ? bson_iter_as_int64(&s)
                : 0;
        for (size_t i = c->count; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)rand() % i;
            bson_t *t = c->docs[i - 1];
            c->docs[i - 1] = c->docs[j];
            c->docs[j] = t;
        }
        while ((int64_t)c->count > want && c->count > 0)
            bson_destroy(c->docs[--c->count]);
    } else if (!strcmp(name, "$sort")) {
        if (!doc) {
            mongo_error_set(e, 15973, "Location15973",
                            "the $sort key specification must be an object");
            return false;
        }
        return sort_stage(c, &arg, e);
    } else if (!strcmp(name, "$skip") || !strcmp(name, "$limit")) {
        size_t n = (size_t)bson_iter_as_int64(stage);
        if (!strcmp(name, "$limit")) {
            while (c->count > n)
                bson_destroy(c->docs[--c->count]);
        } else {
            size_t k = n < c->count ? n : c->count;
            for (size_t i = 0; i < k; i++)
                bson_destroy(c->docs[i]);
            memmove(c->docs, c->docs + k, (c->count - k) * sizeof *c->docs);
            c->count -= k;
        }
    } else {
        mongo_error_set(e, 2, "BadValue",
                        "the test server does not run the stage '%s'", name);
        return false;
    }
    return true;
}

void cmd_aggregate(const bson_t *cmd, const char *db, bson_t *reply)
{
    bson_iter_t it, stages;
    const char *coll = text_of(cmd, "aggregate");
    if (!bson_iter_init_find(&it, cmd, "pipeline") ||
        !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &stages)) {
        reply_error(reply, 9, "FailedToParse", "aggregate needs a pipeline");
        return;
    }
    bson_iter_t first = stages, stage;
    if (bson_iter_next(&first) && bson_iter_recurse(&first, &stage) &&
        bson_iter_next(&stage) &&
        !strcmp(bson_iter_key(&stage), "$changeStream")) {
        uint32_t len;
        const uint8_t *data;
        bson_t spec;
        bson_iter_document(&stage, &len, &data);
        bson_init_static(&spec, data, len);
        open_change_stream(cmd, &spec, &first, db, coll, reply);
        return;
    }
    if (!coll) {
        reply_error(reply, 73, "InvalidNamespace",
                    "the test server aggregates over a collection, or opens "
                    "a $changeStream");
        return;
    }
    struct mongo_error e;
    if (!query_collation_ok(cmd, &e)) {
        reply_mongo_error(reply, &e);
        return;
    }
    struct cursor *c = cursor_new(CURSOR_LIST, db, coll);
    materialize(c, coll_find(db, coll));
    mongo_error_set(&e, 40323, "Location40323",
                    "A pipeline stage specification object must contain "
                    "exactly one field.");
    while (bson_iter_next(&stages)) {
        if (!bson_iter_recurse(&stages, &stage) || !bson_iter_next(&stage) ||
            !run_stage(c, &stage, &e)) {
            cursor_remove(c->id);
            reply_mongo_error(reply, &e);
            return;
        }
    }
    bson_t opts;
    c->batch = doc_of(cmd, "cursor", &opts)
                   ? (int32_t)int_of(&opts, "batchSize", DEFAULT_BATCH)
                   : DEFAULT_BATCH;
    bson_t batch = BSON_INITIALIZER;
    list_batch(c, c->batch, &batch);
    cursor_reply(c, "firstBatch", &batch, reply);
    bson_destroy(&batch);
}

void cmd_list_collections(const bson_t *cmd, const char *db, bson_t *reply)
{
    (void)cmd;
    struct cursor *c = cursor_new(CURSOR_LIST, db, "$cmd.listCollections");
    c->docs = calloc(srv.ncolls + 1, sizeof *c->docs);
    for (size_t i = 0; i < srv.ncolls; i++) {
        if (strcmp(srv.colls[i]->db, db) != 0)
            continue;
        bson_t d = BSON_INITIALIZER, o, info, idx, key;
        BSON_APPEND_UTF8(&d, "name", srv.colls[i]->name);
        BSON_APPEND_UTF8(&d, "type", "collection");
        BSON_APPEND_DOCUMENT_BEGIN(&d, "options", &o);
        bson_append_document_end(&d, &o);
        BSON_APPEND_DOCUMENT_BEGIN(&d, "info", &info);
        BSON_APPEND_BOOL(&info, "readOnly", false);
        bson_append_document_end(&d, &info);
        BSON_APPEND_DOCUMENT_BEGIN(&d, "idIndex", &idx);
        BSON_APPEND_INT32(&idx, "v", 2);
        BSON_APPEND_DOCUMENT_BEGIN(&idx, "key", &key);
        BSON_APPEND_INT32(&key, "_id", 1);
        bson_append_document_end(&idx, &key);
        BSON_APPEND_UTF8(&idx, "name", "_id_");
        bson_append_document_end(&d, &idx);
        c->docs[c->count++] = bson_copy(&d);
        bson_destroy(&d);
    }
    bson_t batch = BSON_INITIALIZER;
    list_batch(c, 0, &batch);
    cursor_reply(c, "firstBatch", &batch, reply);
    bson_destroy(&batch);
}

/* ---- getMore, killCursors ---- */

static void wait_for_changes(int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (oplog_take_growth())
        pthread_cond_broadcast(&srv.grew);
    pthread_cond_timedwait(&srv.grew, &srv.lock, &until);
}

void cmd_get_more(const bson_t *cmd, const char *db, bson_t *reply)
{
    bson_iter_t it;
    (void)db;
    if (!bson_iter_init_find(&it, cmd, "getMore") ||
        !BSON_ITER_HOLDS_INT(&it)) {
        reply_error(reply, 2, "BadValue", "getMore needs a cursor id");
        return;
    }
    int64_t id = bson_iter_as_int64(&it);
    struct cursor *c = cursor_find(id);
    if (!c) {
        reply_error(reply, 43, "CursorNotFound", "cursor id %lld not found",
                    (long long)id);
        return;
    }
    int32_t limit = (int32_t)int_of(cmd, "batchSize", c->batch);
    bson_t batch = BSON_INITIALIZER;
    if (c->kind == CURSOR_FIND) {
        find_batch(c, limit, &batch);
        char ns[256];
        ns_of(c, ns, sizeof ns);
        bool done = c->left == 0;
        bson_t cur;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
        BSON_APPEND_INT64(&cur, "id", done ? 0 : c->id);
        BSON_APPEND_UTF8(&cur, "ns", ns);
        BSON_APPEND_ARRAY(&cur, "nextBatch", &batch);
        bson_append_document_end(reply, &cur);
        BSON_APPEND_DOUBLE(reply, "ok", 1);
        if (done)
            cursor_remove(c->id);
    } else if (c->kind == CURSOR_LIST) {
        list_batch(c, limit, &batch);
        cursor_reply(c, "nextBatch", &batch, reply);
    } else {
        int64_t wait =
            int_of(cmd, "maxTimeMS", int_of(cmd, "maxAwaitTimeMS", 1000));
        int count = 0;
        struct mongo_error e;
        bool ok = change_stream_batch(c->stream, limit, &batch, &count, &e);
        if (ok && count == 0 && !change_stream_closed(c->stream) && wait > 0 &&
            !srv.stopping) {
            wait_for_changes(wait);
            c = cursor_find(id); /* killed meanwhile? */
            if (c)
                ok = change_stream_batch(c->stream, limit, &batch, &count, &e);
        }
        if (!c) {
            reply_error(reply, 43, "CursorNotFound",
                        "cursor id %lld was killed", (long long)id);
        } else if (ok) {
            cursor_reply(c, "nextBatch", &batch, reply);
        } else {
            cursor_remove(c->id);
            reply_mongo_error(reply, &e);
        }
    }
    bson_destroy(&batch);
}

void cmd_kill_cursors(const bson_t *cmd, const char *db, bson_t *reply)
{
    (void)db;
    bson_iter_t it, ids;
    bson_t killed = BSON_INITIALIZER, missing = BSON_INITIALIZER,
           empty = BSON_INITIALIZER;
    int nk = 0, nm = 0;
    char key[16];
    if (bson_iter_init_find(&it, cmd, "cursors") &&
        bson_iter_recurse(&it, &ids))
        while (bson_iter_next(&ids)) {
            int64_t id = bson_iter_as_int64(&ids);
            if (cursor_find(id)) {
                cursor_remove(id);
                snprintf(key, sizeof key, "%d", nk++);
                BSON_APPEND_INT64(&killed, key, id);
            } else {
                snprintf(key, sizeof key, "%d", nm++);
                BSON_APPEND_INT64(&missing, key, id);
            }
        }
    BSON_APPEND_ARRAY(reply, "cursorsKilled", &killed);
    BSON_APPEND_ARRAY(reply, "cursorsNotFound", &missing);
    BSON_APPEND_ARRAY(reply, "cursorsAlive", &empty);
    BSON_APPEND_ARRAY(reply, "cursorsUnknown", &empty);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
    bson_destroy(&killed);
    bson_destroy(&missing);
    bson_destroy(&empty);
}
