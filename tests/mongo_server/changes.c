/* changes.c: change streams ($changeStream), as MongoDB 5.0/6.0 runs
 * them: what a stream follows (a collection, a database, or the whole
 * cluster), where it starts (now, a resume token, a cluster time), its
 * $match stages (the query language, match.c, on each event as the
 * client sees it), its events read from the oplog in batches, and when
 * it is invalidated and closes.
 *
 * What follows what, as MongoDB's change-stream filters say it: a
 * collection stream sees the changes of its collection and a rename from
 * or onto it, and is invalidated by those and by its drop; a database
 * stream sees everything in its database (a rename into it too) and is
 * invalidated by dropDatabase; a cluster stream sees everything and is
 * never invalidated. The invalidate event is subject to the $match stages
 * like every other; the stream closes either way, its last resume token
 * the invalidate's (which only startAfter resumes from).
 *
 * A change-stream getMore is a hot path: the source follows changes
 * through it. Each $match is parsed once, when the stream opens, and what
 * it says of ns.coll and operationType ({f: "x"}, $eq, $in) is kept as
 * lists that pass over most entries without building their event; a
 * filter that says no more than its lists is not evaluated at all.
 * Callers hold srv.lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* The names a condition on a string field admits; not `given`: any. */
struct names {
    char **v;
    size_t n;
    bool given;
};

struct stage {
    struct match *filter;
    struct names colls, ops; /* of ns.coll and operationType */
    bool exact;              /* the lists say all the filter says */
};

struct change_stream {
    char *db, *coll; /* coll NULL: the database, or (all_dbs) the cluster */
    bool all_dbs, lookup;
    int64_t pos;  /* the last oplog seq looked at */
    bool pending; /* entry `pos` invalidated it: the invalidate is next */
    bool closed;  /* invalidated: its cursor closes */
    struct stage *stages;
    size_t nstages;
};

/* ---- resume tokens: {_data: "82" seq in hex, "01" for an invalidate} */

static void token(int64_t seq, bool invalidate, bson_t *out, const char *key)
{
    /* by hand, not snprintf: one per event a getMore returns */
    static const char hex[] = "0123456789ABCDEF";
    char data[21] = "82";
    for (int k = 0; k < 16; k++)
        data[2 + k] = hex[((uint64_t)seq >> (60 - 4 * k)) & 0xf];
    memcpy(data + 18, invalidate ? "01" : "", invalidate ? 3 : 1);
    bson_t t;
    BSON_APPEND_DOCUMENT_BEGIN(out, key, &t);
    BSON_APPEND_UTF8(&t, "_data", data);
    bson_append_document_end(out, &t);
}

/* -1 when the token is not one of ours. */
static int64_t token_seq(const bson_t *t, bool *invalidate)
{
    const char *data = field_text(t, "_data");
    if (!data || strncmp(data, "82", 2) != 0 || strlen(data) < 18)
        return -1;
    char hex[17];
    memcpy(hex, data + 2, 16);
    hex[16] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(hex, &end, 16);
    if (*end || errno)
        return -1;
    *invalidate = strcmp(data + 18, "01") == 0;
    return v;
}

void change_stream_token(const struct change_stream *s, bson_t *out,
                         const char *key)
{
    token(s->pos, s->closed, out, key);
}

bool change_stream_closed(const struct change_stream *s)
{
    return s->closed;
}

/* ---- what a stream follows ---- */

/* The oplog entry with this seq; NULL when the oplog no longer holds it
 * (its entries' seqs are consecutive). */
static const struct oplog_entry *entry_at(int64_t seq)
{
    if (!srv.log_count || seq < srv.log[0].seq ||
        seq > srv.log[srv.log_count - 1].seq)
        return NULL;
    return &srv.log[seq - srv.log[0].seq];
}

/* The index of the first entry with seq >= `seq`. */
static size_t entry_index(int64_t seq)
{
    if (!srv.log_count || seq < srv.log[0].seq)
        return 0;
    size_t i = (size_t)(seq - srv.log[0].seq);
    return i > srv.log_count ? srv.log_count : i;
}

static bool follows_ns(const struct change_stream *s, const char *db,
                       const char *coll)
{
    if (s->all_dbs)
        return true;
    return !strcmp(db, s->db) && (!s->coll || !strcmp(coll, s->coll));
}

/* A rename entry's target, read from its event's `to`. */
static bool rename_target(const struct oplog_entry *e, const char **db,
                          const char **coll)
{
    bson_t to;
    if (!field_doc(e->event, "to", &to))
        return false;
    *db = field_text(&to, "db");
    *coll = field_text(&to, "coll");
    return *db && *coll;
}

/* The entry is in the stream's namespace: its own, or (a rename) its
 * target's. A dropDatabase entry's collection is "": no collection
 * stream follows it. */
static bool follows(const struct change_stream *s, const struct oplog_entry *e)
{
    const char *db, *coll;
    return follows_ns(s, e->db, e->coll) ||
           (!strcmp(e->op, "rename") && rename_target(e, &db, &coll) &&
            follows_ns(s, db, coll));
}

static bool invalidates(const struct change_stream *s,
                        const struct oplog_entry *e)
{
    if (s->all_dbs)
        return false;
    if (!s->coll)
        return !strcmp(e->op, "dropDatabase") && !strcmp(e->db, s->db);
    return (!strcmp(e->op, "drop") || !strcmp(e->op, "rename")) &&
           follows(s, e);
}

/* ---- $match stages ---- */

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void names_add(struct names *l, const char *name)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = strdup(name);
}

/* A string field's value, missing as "" (no name is ""). */
static bool names_admit(const struct names *l, const char *name)
{
    if (!l->given)
        return true;
    for (size_t i = 0; name[0] && i < l->n; i++)
        if (!strcmp(l->v[i], name))
            return true;
    return false;
}

/* {$in: [strings]} into `l`; false when an element is no string. */
static bool names_of_in(bson_iter_t *op, struct names *l)
{
    bson_iter_t arr;
    if (!BSON_ITER_HOLDS_ARRAY(op) || !bson_iter_recurse(op, &arr))
        return false;
    while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_UTF8(&arr))
            return false;
        names_add(l, bson_iter_utf8(&arr, NULL));
    }
    return true;
}

/* The names a condition on a string field admits: "x", {$eq: "x"},
 * {$in: [...]} (of strings). False for any other condition (it is left
 * to the filter). `*exact` false when the names admit more than the
 * condition ($eq and $in together: their union). */
static bool names_of(bson_iter_t *it, struct names *l, bool *exact)
{
    *exact = true;
    l->given = true;
    if (BSON_ITER_HOLDS_UTF8(it)) {
        names_add(l, bson_iter_utf8(it, NULL));
        return true;
    }
    bson_iter_t op;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &op))
        return false;
    int ops = 0;
    while (bson_iter_next(&op)) {
        const char *k = bson_iter_key(&op);
        ops++;
        if (!strcmp(k, "$eq") && BSON_ITER_HOLDS_UTF8(&op))
            names_add(l, bson_iter_utf8(&op, NULL));
        else if (strcmp(k, "$in") != 0 || !names_of_in(&op, l))
            return false;
    }
    *exact = ops == 1;
    return ops > 0;
}

/* What a stage's top-level conditions on ns.coll and operationType say;
 * the stage is exact when it has no other condition. */
static void stage_lists(struct stage *st, const bson_t *filter)
{
    bson_iter_t it;
    st->exact = bson_iter_init(&it, filter);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        struct names *l = !strcmp(k, "ns.coll")         ? &st->colls
                          : !strcmp(k, "operationType") ? &st->ops
                                                        : NULL;
        struct names got = {0};
        bool exact = false;
        if (l && !l->given && names_of(&it, &got, &exact)) {
            *l = got;
        } else {
            names_free(&got);
            exact = false;
        }
        st->exact = st->exact && exact;
    }
}

/* The $match stages after $changeStream, each parsed once. */
static bool read_stages(struct change_stream *s, bson_iter_t *stages,
                        struct mongo_error *e)
{
    while (bson_iter_next(stages)) {
        bson_iter_t stage, more;
        uint32_t len;
        const uint8_t *data;
        bson_t filter;
        bool one = BSON_ITER_HOLDS_DOCUMENT(stages) &&
                   bson_iter_recurse(stages, &stage) && bson_iter_next(&stage);
        if (one) {
            more = stage;
            one = !bson_iter_next(&more);
        }
        if (!one) {
            mongo_error_set(e, 40323, "Location40323",
                            "A pipeline stage specification object must "
                            "contain exactly one field.");
            return false;
        }
        if (strcmp(bson_iter_key(&stage), "$match") != 0) {
            mongo_error_set(e, 40324, "Location40324",
                            "the test server follows $changeStream with "
                            "$match stages only, not %s",
                            bson_iter_key(&stage));
            return false;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&stage)) {
            mongo_error_set(e, 15959, "Location15959",
                            "the match filter must be an expression in an "
                            "object");
            return false;
        }
        bson_iter_document(&stage, &len, &data);
        bson_init_static(&filter, data, len);
        struct match *m = match_parse(&filter, e);
        if (!m)
            return false;
        s->stages = realloc(s->stages, (s->nstages + 1) * sizeof *s->stages);
        struct stage *st = &s->stages[s->nstages++];
        memset(st, 0, sizeof *st);
        st->filter = m;
        stage_lists(st, &filter);
    }
    return true;
}

/* Whether an event with this ns.coll ("": none) and operationType passes
 * every stage's lists; `*full`: some filter must still see the event. */
static bool lists_pass(const struct change_stream *s, const char *coll,
                       const char *op, bool *full)
{
    *full = false;
    for (size_t i = 0; i < s->nstages; i++) {
        const struct stage *st = &s->stages[i];
        if (!names_admit(&st->colls, coll) || !names_admit(&st->ops, op))
            return false;
        *full = *full || !st->exact;
    }
    return true;
}

static bool filters_pass(const struct change_stream *s, const bson_t *event)
{
    for (size_t i = 0; i < s->nstages; i++)
        if (!s->stages[i].exact &&
            !match_bson(s->stages[i].filter, event, NULL))
            return false;
    return true;
}

/* ---- events ---- */

/* The change event as a client sees it: its token first, then the stored
 * event, then the current document for updates with updateLookup. */
static void build_event(const struct change_stream *s,
                        const struct oplog_entry *e, bson_t *out)
{
    token(e->seq, false, out, "_id");
    bson_concat(out, e->event);
    if (s->lookup && !strcmp(e->op, "update")) {
        bson_iter_t key, id;
        struct collection *coll = coll_find(e->db, e->coll);
        struct doc *d = NULL;
        if (bson_iter_init_find(&key, e->event, "documentKey") &&
            bson_iter_recurse(&key, &id) && bson_iter_find(&id, "_id") && coll)
            d = coll_lookup(coll, bson_iter_value(&id), NULL);
        if (d)
            BSON_APPEND_DOCUMENT(out, "fullDocument", d->bson);
        else
            BSON_APPEND_NULL(out, "fullDocument");
    }
}

/* Whether the stream shows the entry, its event then in `out`: built
 * only when its namespace and the stages' lists admit it. */
static bool admits(const struct change_stream *s, const struct oplog_entry *e,
                   bson_t *out)
{
    bool full;
    if (!follows(s, e) || !lists_pass(s, e->coll, e->op, &full))
        return false;
    build_event(s, e, out);
    return !full || filters_pass(s, out);
}

static void append(bson_t *batch, int *count, const bson_t *event)
{
    char buf[16];
    const char *key;
    uint32_t len = (uint32_t)bson_uint32_to_string((uint32_t)(*count)++, &key,
                                                   buf, sizeof buf);
    bson_append_document(batch, key, (int)len, event);
}

/* The invalidate that follows entry s->pos (NULL: no longer in the
 * oplog), shown when the stages admit it; the stream closes. */
static void invalidate(struct change_stream *s, const struct oplog_entry *e,
                       bson_t *batch, int *count)
{
    uint32_t t, i;
    if (e) {
        t = e->t;
        i = e->i;
    } else {
        cluster_time(&t, &i);
    }
    bson_t ev = BSON_INITIALIZER;
    bool full;
    token(s->pos, true, &ev, "_id");
    BSON_APPEND_UTF8(&ev, "operationType", "invalidate");
    BSON_APPEND_TIMESTAMP(&ev, "clusterTime", t, i);
    BSON_APPEND_DATE_TIME(&ev, "wallTime", (int64_t)t * 1000);
    if (lists_pass(s, "", "invalidate", &full) &&
        (!full || filters_pass(s, &ev)))
        append(batch, count, &ev);
    bson_destroy(&ev);
    s->pending = false;
    s->closed = true;
}

bool change_stream_batch(struct change_stream *s, int32_t limit, bson_t *batch,
                         int *count, struct mongo_error *err)
{
    if (s->pos + 1 < srv.lost_before) {
        mongo_error_set(err, 286, "ChangeStreamHistoryLost",
                        "Resume of change stream was not possible, as the "
                        "resume point may no longer be in the oplog");
        return false;
    }
    size_t bytes = 0;
    if (s->pending && (limit <= 0 || *count < limit))
        invalidate(s, entry_at(s->pos), batch, count);
    bson_t ev = BSON_INITIALIZER; /* each event's in turn, one allocation */
    for (size_t k = entry_index(s->pos + 1);
         k < srv.log_count && !s->pending && !s->closed; k++) {
        const struct oplog_entry *e = &srv.log[k];
        if (limit > 0 && *count >= limit)
            break;
        bson_reinit(&ev);
        bool shown = admits(s, e, &ev);
        if (shown && bytes + ev.len > REPLY_BYTES_MAX && *count > 0)
            break;
        s->pos = e->seq;
        if (shown) {
            append(batch, count, &ev);
            bytes += ev.len;
        }
        if (invalidates(s, e)) {
            s->pending = true;
            if (limit <= 0 || *count < limit)
                invalidate(s, e, batch, count);
        }
    }
    bson_destroy(&ev);
    return true;
}

/* ---- opening ---- */

/* Where the stream starts: after a resume token (an entry that
 * invalidates the stream gives its invalidate first, unless the token is
 * that invalidate's and startAfter resumes after it), at a cluster time,
 * or now. */
static bool start_at(struct change_stream *s, const bson_t *spec,
                     struct mongo_error *e)
{
    bson_t resume;
    bson_iter_t it;
    bool start_after = field_doc(spec, "startAfter", &resume);
    if (start_after || field_doc(spec, "resumeAfter", &resume)) {
        bool invalidate = false;
        int64_t seq = token_seq(&resume, &invalidate);
        if (seq < 0 || (invalidate && !start_after)) {
            mongo_error_set(e, 260, "InvalidResumeToken", "%s",
                            invalidate ? "Attempting to resume a change "
                                         "stream using 'resumeAfter' is not "
                                         "allowed from an invalidate "
                                         "notification."
                                       : "the resume token is not one this "
                                         "server made");
            return false;
        }
        const struct oplog_entry *at = entry_at(seq);
        s->pos = seq;
        s->pending = !invalidate && at && invalidates(s, at);
    } else if (bson_iter_init_find(&it, spec, "startAtOperationTime") &&
               BSON_ITER_HOLDS_TIMESTAMP(&it)) {
        uint32_t t, i;
        bson_iter_timestamp(&it, &t, &i);
        if (srv.lost_before > 1 &&
            (t < srv.lost_t || (t == srv.lost_t && i <= srv.lost_i))) {
            mongo_error_set(e, 286, "ChangeStreamHistoryLost",
                            "Resume of change stream was not possible, as "
                            "the resume point may no longer be in the oplog");
            return false;
        }
        for (size_t k = 0; k < srv.log_count; k++)
            if (srv.log[k].t > t || (srv.log[k].t == t && srv.log[k].i >= i)) {
                s->pos = srv.log[k].seq - 1;
                break;
            }
    }
    return true;
}

struct change_stream *change_stream_open(const bson_t *spec,
                                         bson_iter_t *stages, const char *db,
                                         const char *coll,
                                         struct mongo_error *e)
{
    struct change_stream *s = calloc(1, sizeof *s);
    bson_iter_t it;
    const char *full = field_text(spec, "fullDocument");
    s->db = strdup(db);
    s->coll = coll ? strdup(coll) : NULL;
    s->all_dbs = bson_iter_init_find(&it, spec, "allChangesForCluster") &&
                 bson_iter_as_bool(&it);
    s->lookup =
        full && (!strcmp(full, "updateLookup") ||
                 !strcmp(full, "whenAvailable") || !strcmp(full, "required"));
    s->pos = srv.next_seq - 1;
    if (!read_stages(s, stages, e) || !start_at(s, spec, e)) {
        change_stream_free(s);
        return NULL;
    }
    return s;
}

void change_stream_free(struct change_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nstages; i++) {
        match_free(s->stages[i].filter);
        names_free(&s->stages[i].colls);
        names_free(&s->stages[i].ops);
    }
    free(s->stages);
    free(s->db);
    free(s->coll);
    free(s);
}
