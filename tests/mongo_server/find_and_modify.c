/* find_and_modify.c: the findAndModify command (find_one_and_update,
 * find_one_and_replace and find_one_and_delete in the drivers): the
 * first document the filter selects in the sort's order, updated,
 * replaced, removed or upserted through the writes update and delete use
 * (commands.c, which apply the update language and append the change
 * events), and that document before or after as `value`. Callers hold
 * srv.lock. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

static bool flag(const bson_t *cmd, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, cmd, key) && bson_iter_as_bool(&it);
}

static bool failed_to_parse(struct mongo_error *e, const char *msg)
{
    mongo_error_set(e, 9, "FailedToParse", "%s", msg);
    return false;
}

/* What the command asks, read and checked before anything is written. */
struct request {
    struct match *query;
    bson_t query_doc; /* the filter as written (an upsert's fields) */
    bool has_query;
    struct sort sort;
    struct projection *fields; /* NULL: whole documents */
    struct update *update;     /* NULL: remove */
    bool remove, want_new, upsert;
};

static void request_free(struct request *r)
{
    match_free(r->query);
    sort_free(&r->sort);
    projection_free(r->fields);
    update_free(r->update);
}

/* Reads the update before the filter, as MongoDB does. */
static bool request_read(const bson_t *cmd, const struct collection *c,
                         struct request *r, struct mongo_error *e)
{
    bson_t doc, array_filters;
    bson_iter_t it, update;
    memset(r, 0, sizeof *r);
    r->remove = flag(cmd, "remove");
    r->want_new = flag(cmd, "new");
    r->upsert = flag(cmd, "upsert");
    bool has_update = bson_iter_init_find(&update, cmd, "update");
    if (has_update && r->remove)
        return failed_to_parse(e, "Cannot specify both an update and "
                                  "remove=true");
    if (!has_update && !r->remove)
        return failed_to_parse(e, "Either an update or remove=true must be "
                                  "specified");
    if (r->remove && r->upsert)
        return failed_to_parse(e, "Cannot specify both upsert=true and "
                                  "remove=true");
    if (r->remove && r->want_new)
        return failed_to_parse(e, "Cannot specify both new=true and "
                                  "remove=true; 'remove' always returns the "
                                  "deleted document");
    bool has_array_filters = bson_iter_init_find(&it, cmd, "arrayFilters");
    if (has_array_filters) {
        uint32_t len;
        const uint8_t *data;
        if (!BSON_ITER_HOLDS_ARRAY(&it)) {
            mongo_error_set(e, 14, "TypeMismatch",
                            "BSON field 'findAndModify.arrayFilters' is the "
                            "wrong type, expected type 'array'");
            return false;
        }
        bson_iter_array(&it, &len, &data);
        bson_init_static(&array_filters, data, len);
    }
    if (has_update &&
        !(r->update =
              update_parse(bson_iter_value(&update),
                           has_array_filters ? &array_filters : NULL, e)))
        return false;
    r->has_query = field_doc(cmd, "query", &r->query_doc);
    if (!query_collation_ok(cmd, e) ||
        !(r->query = match_parse(r->has_query ? &r->query_doc : NULL, e)) ||
        !sort_parse(field_doc(cmd, "sort", &doc) ? &doc : NULL, &r->sort, e))
        return false;
    if (field_doc(cmd, "fields", &doc) && !bson_empty(&doc) &&
        !(r->fields = projection_parse(&doc, e)))
        return false;
    if (c && bson_iter_init_find(&it, cmd, "hint") &&
        !index_hint_ok(c, bson_iter_value(&it))) {
        mongo_error_set(e, 2, "BadValue",
                        "hint provided does not correspond to an existing "
                        "index");
        return false;
    }
    return true;
}

static void append_value(bson_t *reply, const struct request *r,
                         const bson_t *doc)
{
    if (!doc) {
        BSON_APPEND_NULL(reply, "value");
    } else if (r->fields) {
        bson_t shown = BSON_INITIALIZER;
        projection_apply(r->fields, doc, &shown);
        BSON_APPEND_DOCUMENT(reply, "value", &shown);
        bson_destroy(&shown);
    } else {
        BSON_APPEND_DOCUMENT(reply, "value", doc);
    }
}

/* Applies the request to the document found at `at` (or to none);
 * fills lastErrorObject and value. */
static bool modify(struct collection *c, struct request *r, const size_t *at,
                   int matched, bson_t *reply, struct mongo_error *e)
{
    bson_t last = BSON_INITIALIZER, *before = NULL, *after = NULL;
    bool okay = true;
    if (at && r->remove) {
        before = bson_copy(c->docs[*at].bson);
        write_delete(c, at, 1);
        BSON_APPEND_INT32(&last, "n", 1);
    } else if (at) {
        before = bson_copy(c->docs[*at].bson);
        okay = write_update(c, *at, r->update, matched, e) != UPDATE_FAILED;
        if (okay)
            after = bson_copy(c->docs[*at].bson);
        BSON_APPEND_INT32(&last, "n", 1);
        BSON_APPEND_BOOL(&last, "updatedExisting", true);
    } else if (r->upsert) {
        bson_value_t id;
        okay = write_upsert(c, r->has_query ? &r->query_doc : NULL, r->update,
                            &id, e);
        if (okay) {
            struct doc *d = coll_lookup(c, &id, NULL);
            after = d ? bson_copy(d->bson) : NULL;
            BSON_APPEND_INT32(&last, "n", 1);
            BSON_APPEND_BOOL(&last, "updatedExisting", false);
            BSON_APPEND_VALUE(&last, "upserted", &id);
            bson_value_destroy(&id);
        }
    } else {
        BSON_APPEND_INT32(&last, "n", 0);
        if (!r->remove)
            BSON_APPEND_BOOL(&last, "updatedExisting", false);
    }
    if (okay) {
        BSON_APPEND_DOCUMENT(reply, "lastErrorObject", &last);
        append_value(reply, r, r->want_new ? after : before);
        BSON_APPEND_DOUBLE(reply, "ok", 1);
    }
    bson_destroy(&last);
    if (before)
        bson_destroy(before);
    if (after)
        bson_destroy(after);
    return okay;
}

void cmd_find_and_modify(const bson_t *cmd, const char *db, bson_t *reply)
{
    bson_iter_t it;
    struct mongo_error e = {0};
    struct request r;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) ||
        !BSON_ITER_HOLDS_UTF8(&it)) {
        reply_error(reply, 73, "InvalidNamespace",
                    "findAndModify needs a collection name");
        return;
    }
    const char *name = bson_iter_utf8(&it, NULL);
    struct collection *c = coll_find(db, name);
    if (!request_read(cmd, c, &r, &e)) {
        request_free(&r);
        reply_mongo_error(reply, &e);
        return;
    }
    if (!c && r.upsert)
        c = coll_get(db, name);
    size_t n = 0;
    int *where = NULL;
    size_t *at =
        c ? query_select(c, r.query, &r.sort, 0, 1, &where, &n) : NULL;
    if (!modify(c, &r, n ? at : NULL, n ? where[0] : -1, reply, &e))
        reply_mongo_error(reply, &e);
    free(at);
    free(where);
    request_free(&r);
}
