/* path.c: dotted paths ("a.0.b") and reading them out of BSON. Two ways
 * to read: exactly (a field of a document, an index of an array: what an
 * update addresses), and as the query language does (an array met on the
 * way is looked into, element by element: what a filter compares). The
 * query-filter code and the update language both read paths through
 * here; writing paths is mdoc.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

bool path_parse(const char *text, struct path *p, struct mongo_error *e)
{
    memset(p, 0, sizeof *p);
    if (!*text) {
        mongo_error_set(e, 56, "EmptyFieldName",
                        "An empty update path is not valid.");
        return false;
    }
    p->text = strdup(text);
    for (const char *s = text;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (!len) {
            mongo_error_set(e, 56, "EmptyFieldName",
                            "The update path '%s' contains an empty field "
                            "name, which is not allowed.",
                            text);
            path_free(p);
            return false;
        }
        p->parts = realloc(p->parts, (p->n + 1) * sizeof *p->parts);
        p->parts[p->n++] = strndup(s, len);
        if (!dot)
            return true;
        s = dot + 1;
    }
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

static bool walk(const bson_value_t *v, char *const *parts, size_t n,
                 bool leaf_elements, int index, path_visit_fn fn, void *ctx)
{
    bson_iter_t it;
    if (n == 0) {
        if (fn(v, index, ctx))
            return true;
        if (leaf_elements && v->value_type == BSON_TYPE_ARRAY &&
            open_iter(v, &it))
            for (int k = 0; bson_iter_next(&it); k++)
                if (fn(bson_iter_value(&it), index >= 0 ? index : k, ctx))
                    return true;
        return false;
    }
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        if (open_iter(v, &it) && bson_iter_find(&it, parts[0]))
            return walk(bson_iter_value(&it), parts + 1, n - 1, leaf_elements,
                        index, fn, ctx);
        return fn(NULL, index, ctx);
    }
    if (v->value_type != BSON_TYPE_ARRAY)
        return fn(NULL, index, ctx);
    /* an array: a numeric part indexes it; every element that is a
     * document is looked into too */
    size_t want;
    if (path_part_index(parts[0], &want) && child(v, parts[0], &it) &&
        walk(bson_iter_value(&it), parts + 1, n - 1, leaf_elements, index, fn,
             ctx))
        return true;
    if (!open_iter(v, &it))
        return false;
    for (int k = 0; bson_iter_next(&it); k++) {
        const bson_value_t *e = bson_iter_value(&it);
        if (e->value_type != BSON_TYPE_DOCUMENT)
            continue;
        if (walk(e, parts, n, leaf_elements, index >= 0 ? index : k, fn, ctx))
            return true;
    }
    return false;
}

bool path_walk(const bson_value_t *root, char *const *parts, size_t n,
               bool leaf_elements, path_visit_fn fn, void *ctx)
{
    return walk(root, parts, n, leaf_elements, -1, fn, ctx);
}
