/* query.c: selecting the documents of a collection as find, count,
 * distinct, findAndModify, update and delete select them (a filter, a
 * sort, skip and limit), scanning only the _id range a filter implies;
 * and the commands count and distinct. Callers hold srv.lock. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

bool query_collation_ok(const bson_t *cmd, struct mongo_error *e)
{
    bson_iter_t it, locale;
    if (!bson_iter_init_find(&it, cmd, "collation"))
        return true;
    if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &locale) &&
        bson_iter_find(&locale, "locale") && BSON_ITER_HOLDS_UTF8(&locale) &&
        !strcmp(bson_iter_utf8(&locale, NULL), "simple"))
        return true;
    mongo_error_set(e, 238, "NotImplemented",
                    "the sluice test server compares strings by their bytes "
                    "only (collation {locale: \"simple\"})");
    return false;
}

/* The positions of c->docs the filter's _id range allows. */
static void id_bounds(const struct collection *c, const struct match *m,
                      size_t *from, size_t *to)
{
    struct id_range r;
    match_id_range(m, &r);
    *from = r.lo ? coll_lower_bound(c, r.lo, !r.lo_inclusive) : 0;
    *to = r.hi ? coll_lower_bound(c, r.hi, r.hi_inclusive) : c->count;
    if (*to < *from)
        *to = *from;
}

size_t *query_select(const struct collection *c, const struct match *m,
                     const struct sort *s, int64_t skip, int64_t limit,
                     int **index, size_t *n)
{
    size_t from, to, found = 0;
    id_bounds(c, m, &from, &to);
    size_t *at = malloc((to - from + 1) * sizeof *at);
    int *where = malloc((to - from + 1) * sizeof *where);
    bool sorted = s && s->n;
    for (size_t i = from; i < to; i++) {
        int k = -1;
        if (!sorted && limit > 0 && found == (size_t)(skip + limit))
            break; /* the first ones are all it takes */
        if (match_bson(m, c->docs[i].bson, &k)) {
            where[found] = k;
            at[found++] = i;
        }
    }
    if (sorted && found > 1) {
        const bson_t **docs = malloc(found * sizeof *docs);
        size_t *order = malloc(found * sizeof *order);
        size_t *at2 = malloc(found * sizeof *at2);
        int *where2 = malloc(found * sizeof *where2);
        for (size_t i = 0; i < found; i++)
            docs[i] = c->docs[at[i]].bson;
        sort_order(s, docs, found, order);
        for (size_t i = 0; i < found; i++) {
            at2[i] = at[order[i]];
            where2[i] = where[order[i]];
        }
        memcpy(at, at2, found * sizeof *at);
        memcpy(where, where2, found * sizeof *where);
        free(where2);
        free(at2);
        free(order);
        free(docs);
    }
    size_t first =
        skip > 0 ? ((uint64_t)skip < found ? (size_t)skip : found) : 0;
    size_t count = found - first;
    if (limit > 0 && (uint64_t)limit < count)
        count = (size_t)limit;
    memmove(at, at + first, count * sizeof *at);
    memmove(where, where + first, count * sizeof *where);
    *n = count;
    if (index)
        *index = where;
    else
        free(where);
    return at;
}

static bool number_of(const bson_t *cmd, const char *key, int64_t *out,
                      struct mongo_error *e)
{
    bson_iter_t it;
    *out = 0;
    if (!bson_iter_init_find(&it, cmd, key) || BSON_ITER_HOLDS_NULL(&it))
        return true;
    if (!value_is_number(bson_iter_value(&it))) {
        mongo_error_set(e, 14, "TypeMismatch",
                        "BSON field 'count.%s' is the wrong type, expected "
                        "type 'number'",
                        key);
        return false;
    }
    *out = (int64_t)value_as_double(bson_iter_value(&it));
    return true;
}

/* {count: coll, query, skip, limit, hint, collation}. */
void cmd_count(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = field_text(cmd, "count");
    struct collection *c = name ? coll_find(db, name) : NULL;
    struct mongo_error e = {0};
    bson_t query;
    bson_iter_t hint;
    int64_t skip, limit;
    if (!query_collation_ok(cmd, &e) || !number_of(cmd, "skip", &skip, &e) ||
        !number_of(cmd, "limit", &limit, &e)) {
        reply_mongo_error(reply, &e);
        return;
    }
    if (skip < 0) {
        mongo_error_set(&e, 51024, "Location51024",
                        "BSON field 'skip' value must be >= 0, actual value "
                        "'%lld'",
                        (long long)skip);
        reply_mongo_error(reply, &e);
        return;
    }
    if (c && bson_iter_init_find(&hint, cmd, "hint") &&
        !index_hint_ok(c, bson_iter_value(&hint))) {
        reply_error(reply, 2, "BadValue",
                    "error processing query: planner returned error :: "
                    "caused by :: hint provided does not correspond to an "
                    "existing index");
        return;
    }
    struct match *m =
        match_parse(field_doc(cmd, "query", &query) ? &query : NULL, &e);
    if (!m) {
        reply_mongo_error(reply, &e);
        return;
    }
    size_t n = 0;
    free(c ? query_select(c, m, NULL, skip, limit < 0 ? -limit : limit, NULL,
                          &n)
           : NULL);
    match_free(m);
    BSON_APPEND_INT64(reply, "n", (int64_t)n);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
}

/* The distinct values, sorted in BSON order (owned). */
struct values {
    bson_value_t *v;
    size_t n, cap;
};

static bool add_distinct(const bson_value_t *v, int index, void *ctx)
{
    struct values *set = ctx;
    (void)index;
    if (!v ||
        (v->value_type == BSON_TYPE_ARRAY && v->value.v_doc.data_len <= 5))
        return false; /* missing, or an empty array: no value */
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = value_compare(&set->v[mid], v);
        if (!c)
            return false;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->v = realloc(set->v, set->cap * sizeof *set->v);
    }
    memmove(&set->v[lo + 1], &set->v[lo], (set->n - lo) * sizeof *set->v);
    bson_value_copy(v, &set->v[lo]);
    set->n++;
    return false;
}

/* {distinct: coll, key: "a.b", query, collation}: {values: [...]}. */
void cmd_distinct(const bson_t *cmd, const char *db, bson_t *reply)
{
    const char *name = field_text(cmd, "distinct");
    struct collection *c = name ? coll_find(db, name) : NULL;
    struct mongo_error e = {0};
    bson_iter_t it;
    bson_t query;
    if (!bson_iter_init_find(&it, cmd, "key")) {
        reply_error(reply, 40414, "Location40414",
                    "BSON field 'distinct.key' is missing but a required "
                    "field");
        return;
    }
    if (!BSON_ITER_HOLDS_UTF8(&it)) {
        reply_error(reply, 14, "TypeMismatch",
                    "BSON field 'distinct.key' is the wrong type, expected "
                    "type 'string'");
        return;
    }
    struct match *m =
        query_collation_ok(cmd, &e)
            ? match_parse(field_doc(cmd, "query", &query) ? &query : NULL, &e)
            : NULL;
    if (!m) {
        reply_mongo_error(reply, &e);
        return;
    }
    struct path p;
    path_split(bson_iter_utf8(&it, NULL), &p);
    struct values set = {0};
    size_t n = 0;
    size_t *at = c ? query_select(c, m, NULL, 0, 0, NULL, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        bson_value_t root;
        value_of_doc(c->docs[at[i]].bson, &root);
        path_visit(&root, &p, PATH_LEAF_ELEMENTS, add_distinct, &set);
    }
    bson_t values;
    char key[16];
    BSON_APPEND_ARRAY_BEGIN(reply, "values", &values);
    for (size_t i = 0; i < set.n; i++) {
        const char *k;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
        bson_append_value(&values, k, -1, &set.v[i]);
        bson_value_destroy(&set.v[i]);
    }
    bson_append_array_end(reply, &values);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
    free(set.v);
    free(at);
    path_free(&p);
    match_free(m);
}
