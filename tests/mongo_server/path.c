/* path.c: dotted paths ("a.0.b") and reading them out of BSON. Two ways
 * to read: exactly (a field of a document, an index of an array: what an
 * update addresses), and as MongoDB's query language reads them: an
 * array met on the way is looked into (each element that is a document
 * is followed, and a numeric part also indexes the array), and an array
 * at the end is given element by element and then whole. The order and
 * the array indexes reported are those of MongoDB's element iterator
 * (src/mongo/db/matcher/path.cpp), which the positional $ operator and
 * $elemMatch rely on. Filters, sorts, distinct, index keys and the update
 * language all read paths through here; writing paths is mdoc.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void path_split(const char *text, struct path *p)
{
    memset(p, 0, sizeof *p);
    p->text = strdup(text);
    for (const char *s = text;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        p->parts = realloc(p->parts, (p->n + 1) * sizeof *p->parts);
        p->parts[p->n++] = strndup(s, len);
        if (!dot)
            return;
        s = dot + 1;
    }
}

bool path_parse(const char *text, struct path *p, struct mongo_error *e)
{
    memset(p, 0, sizeof *p);
    if (!*text) {
        mongo_error_set(e, 56, "EmptyFieldName",
                        "An empty update path is not valid.");
        return false;
    }
    for (const char *s = text;; s++) {
        const char *dot = strchr(s, '.');
        if (dot == s || !*s) {
            mongo_error_set(e, 56, "EmptyFieldName",
                            "The update path '%s' contains an empty field "
                            "name, which is not allowed.",
                            text);
            return false;
        }
        if (!dot)
            break;
        s = dot;
    }
    path_split(text, p);
    return true;
}

void path_free(struct path *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->parts[i]);
    free(p->parts);
    free(p->text);
    memset(p, 0, sizeof *p);
}

char *path_join(char *const *parts, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]) + 1;
    char *out = malloc(len), *at = out;
    *at = '\0';
    for (size_t i = 0; i < n; i++)
        at += sprintf(at, "%s%s", i ? "." : "", parts[i]);
    return out;
}

bool path_part_index(const char *part, size_t *index)
{
    if (!*part || (part[0] == '0' && part[1]) || strlen(part) > 9)
        return false;
    size_t v = 0;
    for (const char *c = part; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (size_t)(*c - '0');
    }
    *index = v;
    return true;
}

void value_of_doc(const bson_t *doc, bson_value_t *out)
{
    memset(out, 0, sizeof *out);
    out->value_type = BSON_TYPE_DOCUMENT;
    out->value.v_doc.data = (uint8_t *)bson_get_data(doc);
    out->value.v_doc.data_len = doc->len;
}

static bool is_container(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_DOCUMENT ||
           v->value_type == BSON_TYPE_ARRAY;
}

static bool open_iter(const bson_value_t *v, bson_iter_t *it)
{
    return is_container(v) &&
           bson_iter_init_from_data(it, v->value.v_doc.data,
                                    v->value.v_doc.data_len);
}

/* The child of a document by name, or of an array by index. */
static bool child(const bson_value_t *v, const char *part, bson_iter_t *it)
{
    size_t index;
    if (!open_iter(v, it))
        return false;
    if (v->value_type == BSON_TYPE_DOCUMENT)
        return bson_iter_find(it, part);
    if (!path_part_index(part, &index))
        return false;
    for (size_t k = 0; bson_iter_next(it); k++)
        if (k == index)
            return true;
    return false;
}

bool path_get(const bson_value_t *root, char *const *parts, size_t n,
              bson_value_t *out)
{
    bson_value_t at = *root;
    bson_iter_t it;
    for (size_t i = 0; i < n; i++) {
        if (!child(&at, parts[i], &it))
            return false;
        at = *bson_iter_value(&it);
    }
    *out = at;
    return true;
}

/* A part that names an array position: digits only (MongoDB's test). */
static bool all_digits(const char *part)
{
    if (!*part)
        return false;
    for (; *part; part++)
        if (*part < '0' || *part > '9')
            return false;
    return true;
}

struct walk {
    const struct path *p;
    enum path_leaf leaf;
    path_visit_fn fn;
    void *ctx;
};

static bool walk_array(const struct walk *w, const bson_value_t *array,
                       size_t k, int offset);

/* From a document (or an array read as one, by its keys "0", "1"...):
 * down through documents until the path ends, meets an array, or finds
 * nothing (a missing value). */
static bool walk_object(const struct walk *w, const bson_value_t *obj,
                        size_t k, int offset)
{
    bson_value_t at = *obj;
    bson_iter_t it;
    do {
        if (!open_iter(&at, &it) || !bson_iter_find(&it, w->p->parts[k]))
            return w->fn(NULL, offset, w->ctx);
        at = *bson_iter_value(&it);
        k++;
    } while (k < w->p->n && at.value_type == BSON_TYPE_DOCUMENT);
    if (at.value_type == BSON_TYPE_ARRAY)
        return walk_array(w, &at, k, offset);
    return w->fn(k < w->p->n ? NULL : &at, offset, w->ctx);
}

/* Within an array, parts[k..] still to read. `offset` is the index in an
 * outer array, kept in preference to this one's (-1: none). */
static bool walk_array(const struct walk *w, const bson_value_t *array,
                       size_t k, int offset)
{
    bson_iter_t it;
    bool more = k < w->p->n;
    if (!more && w->leaf == PATH_LEAF_ARRAY)
        return w->fn(array, offset, w->ctx);
    const char *next = more ? w->p->parts[k] : NULL;
    bool numeric = more && all_digits(next);
    if (!open_iter(array, &it))
        return false;
    if (!more && w->leaf == PATH_LEAF_ELEMENTS &&
        array->value.v_doc.data_len <= 5) /* empty: itself */
        return w->fn(array, offset, w->ctx);
    for (int i = 0; bson_iter_next(&it); i++) {
        const bson_value_t *e = bson_iter_value(&it);
        int here = offset >= 0 ? offset : i;
        if (!more) {
            if (w->fn(e, here, w->ctx))
                return true;
            continue;
        }
        bool indexed = numeric && !strcmp(bson_iter_key(&it), next);
        if (e->value_type == BSON_TYPE_DOCUMENT) {
            if (walk_object(w, e, k, here))
                return true;
            if (indexed && k + 1 == w->p->n && w->fn(e, offset, w->ctx))
                return true;
            if (indexed && k + 1 < w->p->n && walk_object(w, e, k + 1, offset))
                return true;
        } else if (indexed) {
            if (k + 1 == w->p->n) {
                if (w->fn(e, offset, w->ctx))
                    return true;
            } else if (e->value_type == BSON_TYPE_ARRAY &&
                       walk_array(w, e, k + 1, offset)) {
                return true;
            }
        }
    }
    if (more || w->leaf == PATH_LEAF_ELEMENTS)
        return false;
    return w->fn(array, offset, w->ctx);
}

bool path_visit(const bson_value_t *root, const struct path *p,
                enum path_leaf leaf, path_visit_fn fn, void *ctx)
{
    struct walk w = {p, leaf, fn, ctx};
    return p->n ? walk_object(&w, root, 0, -1) : fn(root, -1, ctx);
}
