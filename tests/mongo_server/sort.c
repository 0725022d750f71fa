/* sort.c: MongoDB's sort order: several keys, each a dotted path, each
 * ascending or descending; a document's key on a path is the smallest of
 * the values the path reaches (ascending) or the largest (descending),
 * arrays giving their elements, a missing value counting as null and an
 * empty array as less than null. The same keys make index entries
 * (index.c). Sorting is stable, so equal keys keep the collection's
 * order. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

bool sort_parse(const bson_t *spec, struct sort *s, struct mongo_error *e)
{
    bson_iter_t it;
    memset(s, 0, sizeof *s);
    if (!spec || !bson_iter_init(&it, spec))
        return true;
    while (bson_iter_next(&it)) {
        const bson_value_t *v = bson_iter_value(&it);
        char shown[256];
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            mongo_error_set(e, 238, "NotImplemented",
                            "the sluice test server sorts by field values "
                            "only, not by %s",
                            element_render(bson_iter_key(&it), v, shown,
                                           sizeof shown));
            sort_free(s);
            return false;
        }
        if (!value_is_number(v)) {
            mongo_error_set(e, 15974, "Location15974",
                            "Illegal key in $sort specification: %s",
                            element_render(bson_iter_key(&it), v, shown,
                                           sizeof shown));
            sort_free(s);
            return false;
        }
        int64_t direction = (int64_t)value_as_double(v);
        if (direction != 1 && direction != -1) {
            mongo_error_set(e, 15975, "Location15975",
                            "$sort key ordering must be 1 (for ascending) or "
                            "-1 (for descending)");
            sort_free(s);
            return false;
        }
        s->keys = realloc(s->keys, (s->n + 1) * sizeof *s->keys);
        path_split(bson_iter_key(&it), &s->keys[s->n].path);
        s->keys[s->n++].direction = (int)direction;
    }
    return true;
}

void sort_free(struct sort *s)
{
    for (size_t i = 0; i < s->n; i++)
        path_free(&s->keys[i].path);
    free(s->keys);
    memset(s, 0, sizeof *s);
}

bool sort_by_id(const struct sort *s, int *direction)
{
    bool by_id = s->n && s->keys[0].path.n == 1 &&
                 (!strcmp(s->keys[0].path.parts[0], "_id") ||
                  !strcmp(s->keys[0].path.parts[0], "$natural"));
    if (direction)
        *direction = s->n ? s->keys[0].direction : 1;
    return !s->n || by_id;
}

struct keys_visit {
    path_key_fn fn;
    void *ctx;
    bool any;
};

static bool visit_key(const bson_value_t *v, int index, void *ctx)
{
    struct keys_visit *k = ctx;
    static const bson_value_t null = {.value_type = BSON_TYPE_NULL};
    static const bson_value_t undefined = {.value_type = BSON_TYPE_UNDEFINED};
    (void)index;
    k->any = true;
    if (!v)
        v = &null;
    else if (v->value_type == BSON_TYPE_ARRAY && v->value.v_doc.data_len <= 5)
        v = &undefined; /* an empty array */
    return k->fn(v, k->ctx);
}

bool path_keys(const bson_value_t *root, const struct path *p, path_key_fn fn,
               void *ctx)
{
    static const bson_value_t null = {.value_type = BSON_TYPE_NULL};
    struct keys_visit k = {fn, ctx, false};
    if (path_visit(root, p, PATH_LEAF_ELEMENTS, visit_key, &k))
        return true;
    return !k.any && fn(&null, ctx);
}

struct extreme {
    int direction;
    bool found;
    bson_value_t best; /* borrows the document's bytes */
};

static bool keep_extreme(const bson_value_t *v, void *ctx)
{
    struct extreme *x = ctx;
    if (!x->found || value_compare(v, &x->best) * x->direction < 0)
        x->best = *v;
    x->found = true;
    return false;
}

/* One document's keys, borrowing its bytes. */
struct keyed {
    size_t at; /* its place before sorting */
    bson_value_t *keys;
};

static const struct sort *sorting; /* qsort has no context; under srv.lock */

static int compare_keyed(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    for (size_t i = 0; i < sorting->n; i++) {
        int c = value_compare(&a->keys[i], &b->keys[i]);
        if (c)
            return c * sorting->keys[i].direction;
    }
    return a->at < b->at ? -1 : a->at > b->at; /* stable */
}

void sort_order(const struct sort *s, const bson_t *const *docs, size_t n,
                size_t *order)
{
    struct keyed *k = calloc(n ? n : 1, sizeof *k);
    bson_value_t *keys = calloc(n * s->n + 1, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        bson_value_t root;
        value_of_doc(docs[i], &root);
        k[i].at = i;
        k[i].keys = keys + i * s->n;
        for (size_t j = 0; j < s->n; j++) {
            struct extreme x = {s->keys[j].direction, false, {0}};
            path_keys(&root, &s->keys[j].path, keep_extreme, &x);
            k[i].keys[j] = x.best;
        }
    }
    sorting = s;
    if (s->n)
        qsort(k, n, sizeof *k, compare_keyed);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].at;
    free(keys);
    free(k);
}
