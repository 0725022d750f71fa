/* data.c: collections kept sorted by _id in BSON order, and the bounded
 * oplog with cluster times. A document goes in or out of a collection by
 * moving the shorter side of the array, those before it (into the room
 * kept in front) or those after it: a delete at a random place moves a
 * quarter of the collection on average, not half, and one of the oldest
 * _ids next to nothing. Every change to a collection is reported to
 * scope.c (which may keep the document replaced, to undo the change) and
 * every change event is held there while a command runs. Callers hold
 * srv.lock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

struct collection *coll_find(const char *db, const char *name)
{
    for (size_t i = 0; i < srv.ncolls; i++)
        if (strcmp(srv.colls[i]->db, db) == 0 &&
            strcmp(srv.colls[i]->name, name) == 0)
            return srv.colls[i];
    return NULL;
}

struct collection *coll_get(const char *db, const char *name)
{
    struct collection *c = coll_find(db, name);
    if (c)
        return c;
    if (srv.ncolls == srv.colls_cap) {
        srv.colls_cap = srv.colls_cap ? srv.colls_cap * 2 : 16;
        srv.colls = realloc(srv.colls, srv.colls_cap * sizeof *srv.colls);
    }
    c = calloc(1, sizeof *c);
    c->db = strdup(db);
    c->name = strdup(name);
    srv.colls[srv.ncolls++] = c;
    scope_note_coll(SCOPE_CREATE, db, name, NULL, NULL);
    return c;
}

void coll_drop(const char *db, const char *name)
{
    for (size_t i = 0; i < srv.ncolls; i++) {
        struct collection *c = srv.colls[i];
        if (strcmp(c->db, db) != 0 || strcmp(c->name, name) != 0)
            continue;
        for (size_t j = 0; j < c->count; j++) {
            bson_destroy(c->docs[j].bson);
            bson_value_destroy(&c->docs[j].id);
        }
        index_free_all(c);
        free(c->docs ? c->docs - c->front : NULL);
        scope_note_coll(SCOPE_DROP, c->db, c->name, NULL, NULL);
        free(c->db);
        free(c->name);
        free(c);
        srv.colls[i] = srv.colls[--srv.ncolls];
        return;
    }
}

size_t coll_lower_bound(const struct collection *c, const bson_value_t *id,
                        bool after)
{
    size_t lo = 0, hi = c->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = value_compare(&c->docs[mid].id, id);
        if (cmp < 0 || (after && cmp == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct doc *coll_lookup(struct collection *c, const bson_value_t *id,
                        size_t *at)
{
    size_t i = coll_lower_bound(c, id, false);
    if (i < c->count && value_compare(&c->docs[i].id, id) == 0) {
        if (at)
            *at = i;
        return &c->docs[i];
    }
    return NULL;
}

/* Room for one more document before c->docs and after its end. */
static void make_room(struct collection *c)
{
    if (c->front && c->front + c->count < c->cap)
        return;
    size_t cap = 2 * c->count + 64, front = (cap - c->count) / 2;
    struct doc *base = malloc(cap * sizeof *base);
    if (c->count)
        memcpy(base + front, c->docs, c->count * sizeof *base);
    free(c->docs ? c->docs - c->front : NULL);
    c->docs = base + front;
    c->front = front;
    c->cap = cap;
}

bool coll_insert(struct collection *c, bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return false;
    bson_value_t id;
    bson_value_copy(bson_iter_value(&it), &id);
    size_t at = coll_lower_bound(c, &id, false);
    if (at < c->count && value_compare(&c->docs[at].id, &id) == 0) {
        bson_value_destroy(&id);
        return false;
    }
    make_room(c);
    if (at < c->count / 2) { /* those before it, one to the front */
        c->docs--;
        c->front--;
        memmove(&c->docs[0], &c->docs[1], at * sizeof *c->docs);
    } else {
        memmove(&c->docs[at + 1], &c->docs[at],
                (c->count - at) * sizeof *c->docs);
    }
    c->docs[at].bson = doc;
    c->docs[at].id = id;
    c->count++;
    scope_note_doc(c, &id, NULL);
    return true;
}

bool coll_append(struct collection *c, bson_t *doc)
{
    bson_iter_t it;
    if (!c->count || !bson_iter_init_find(&it, doc, "_id") ||
        value_compare(&c->docs[c->count - 1].id, bson_iter_value(&it)) >= 0)
        return coll_insert(c, doc);
    make_room(c);
    struct doc *d = &c->docs[c->count++];
    d->bson = doc;
    bson_value_copy(bson_iter_value(&it), &d->id);
    scope_note_doc(c, &d->id, NULL);
    return true;
}

void coll_remove_at(struct collection *c, size_t at)
{
    scope_note_doc(c, &c->docs[at].id, c->docs[at].bson);
    bson_value_destroy(&c->docs[at].id);
    if (at < c->count / 2) { /* those before it, one to the back */
        memmove(&c->docs[1], &c->docs[0], at * sizeof *c->docs);
        c->docs++;
        c->front++;
    } else {
        memmove(&c->docs[at], &c->docs[at + 1],
                (c->count - at - 1) * sizeof *c->docs);
    }
    c->count--;
}

void doc_replace(struct collection *c, size_t at, bson_t *next)
{
    struct doc *d = &c->docs[at];
    scope_note_doc(c, &d->id, d->bson);
    d->bson = next;
}

void coll_put(struct collection *c, const bson_value_t *id, bson_t *doc)
{
    size_t at;
    struct doc *d = coll_lookup(c, id, &at);
    if (d && doc)
        doc_replace(c, at, doc);
    else if (d)
        coll_remove_at(c, at);
    else if (doc && !coll_insert(c, doc))
        bson_destroy(doc);
}

void coll_rename(struct collection *c, const char *db, const char *name)
{
    scope_note_coll(SCOPE_RENAME, c->db, c->name, db, name);
    free(c->db);
    free(c->name);
    c->db = strdup(db);
    c->name = strdup(name);
}

void cluster_time(uint32_t *t, uint32_t *i)
{
    uint32_t now = (uint32_t)time(NULL);
    if (now > srv.last_t) {
        *t = now;
        *i = 0;
    } else {
        *t = srv.last_t;
        *i = srv.last_i;
    }
}

void oplog_next_time(uint32_t *t, uint32_t *i)
{
    uint32_t now = (uint32_t)time(NULL);
    if (now > srv.last_t) {
        srv.last_t = now;
        srv.last_i = 1;
    } else {
        srv.last_i++;
    }
    *t = srv.last_t;
    *i = srv.last_i;
}

static void drop_oldest(size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct oplog_entry *e = &srv.log[k];
        srv.lost_t = e->t;
        srv.lost_i = e->i;
        free(e->db);
        free(e->coll);
        free(e->op);
        bson_destroy(e->event);
    }
    memmove(srv.log, srv.log + n, (srv.log_count - n) * sizeof *srv.log);
    srv.log_count -= n;
    srv.lost_before = srv.log_count ? srv.log[0].seq : srv.next_seq;
}

/* A new entry at the end of the oplog, its fields yet to be set. */
static struct oplog_entry *oplog_push(void)
{
    if (srv.log_count == srv.log_max)
        drop_oldest(srv.log_max / 4 + 1);
    if (srv.log_count == srv.log_cap) {
        srv.log_cap = srv.log_cap ? srv.log_cap * 2 : 1024;
        srv.log = realloc(srv.log, srv.log_cap * sizeof *srv.log);
    }
    return &srv.log[srv.log_count++];
}

void oplog_write(const char *db, const char *coll, const char *op,
                 bson_t *event, uint32_t t, uint32_t i)
{
    struct oplog_entry *e = oplog_push();
    e->seq = srv.next_seq++;
    e->t = t;
    e->i = i;
    e->db = strdup(db);
    e->coll = strdup(coll);
    e->op = strdup(op);
    BSON_APPEND_TIMESTAMP(event, "clusterTime", t, i);
    e->event = event;
    srv.grown = true;
}

bool oplog_take_growth(void)
{
    bool grown = srv.grown;
    srv.grown = false;
    return grown;
}

void oplog_append(const char *db, const char *coll, const char *op,
                  bson_t *event)
{
    if (scope_stage(db, coll, op, event))
        return;
    uint32_t t, i;
    oplog_next_time(&t, &i);
    oplog_write(db, coll, op, event, t, i);
}

void oplog_restore(int64_t seq, uint32_t t, uint32_t i, const char *db,
                   const char *coll, const char *op, bson_t *event)
{
    struct oplog_entry *e = oplog_push();
    *e = (struct oplog_entry){seq,          t,          i,    strdup(db),
                              strdup(coll), strdup(op), event};
}

/* Everything but the newest entry goes, as a real oplog never loses its
 * newest: resuming from before it fails, from it does not. An empty oplog
 * loses everything up to now. */
void oplog_truncate(void)
{
    if (srv.log_count) {
        drop_oldest(srv.log_count - 1);
        srv.lost_before = srv.log[0].seq; /* even when nothing was dropped */
        /* lost: every cluster time before the kept entry's */
        srv.lost_t = srv.log[0].i ? srv.log[0].t : srv.log[0].t - 1;
        srv.lost_i = srv.log[0].i ? srv.log[0].i - 1 : UINT32_MAX;
        return;
    }
    srv.lost_before = srv.next_seq;
    cluster_time(&srv.lost_t, &srv.lost_i);
}
