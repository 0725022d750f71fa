/* mdoc.c: a document being updated, as a tree that can be edited in
 * place (MongoDB's "mutable BSON"): a document or array is opened into
 * its elements only when a path goes into it, so an update of one field
 * of a large document copies the rest whole. Paths are written with
 * MongoDB's update rules: missing documents on the way are created, an
 * array index past the end pads the array with nulls, and a field that
 * cannot be created (inside a number, or a name inside an array) is
 * PathNotViable (28). Each node owns its children. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define MAX_PADDING 1500000

static struct mnode *node_new(const char *key)
{
    struct mnode *n = calloc(1, sizeof *n);
    n->key = strdup(key ? key : "");
    n->value.value_type = BSON_TYPE_NULL;
    return n;
}

static void clear(struct mnode *n)
{
    for (size_t i = 0; i < n->n; i++)
        mnode_free(n->kids[i]);
    free(n->kids);
    n->kids = NULL;
    n->n = n->cap = 0;
    if (!n->open)
        bson_value_destroy(&n->value);
    memset(&n->value, 0, sizeof n->value);
    n->value.value_type = BSON_TYPE_NULL;
    n->open = false;
}

void mnode_free(struct mnode *n)
{
    if (!n)
        return;
    clear(n);
    free(n->key);
    free(n);
}

bson_type_t mnode_type(const struct mnode *n)
{
    return n->value.value_type;
}

static void add_kid(struct mnode *parent, size_t at, struct mnode *kid)
{
    if (parent->n == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids =
            realloc(parent->kids, parent->cap * sizeof *parent->kids);
    }
    memmove(&parent->kids[at + 1], &parent->kids[at],
            (parent->n - at) * sizeof *parent->kids);
    parent->kids[at] = kid;
    parent->n++;
}

bool mnode_open(struct mnode *n)
{
    bson_type_t t = n->value.value_type;
    if (t != BSON_TYPE_DOCUMENT && t != BSON_TYPE_ARRAY)
        return false;
    if (n->open)
        return true;
    bson_iter_t it;
    bson_value_t whole = n->value;
    if (bson_iter_init_from_data(&it, whole.value.v_doc.data,
                                 whole.value.v_doc.data_len))
        while (bson_iter_next(&it)) {
            struct mnode *kid = node_new(bson_iter_key(&it));
            bson_value_copy(bson_iter_value(&it), &kid->value);
            add_kid(n, n->n, kid);
        }
    bson_value_destroy(&whole);
    memset(&n->value, 0, sizeof n->value);
    n->value.value_type = t;
    n->open = true;
    return true;
}

struct mnode *mdoc_new(const bson_t *doc)
{
    struct mnode *root = node_new("");
    bson_value_t v;
    value_of_doc(doc, &v);
    bson_value_copy(&v, &root->value);
    mnode_open(root);
    return root;
}

static void append_node(bson_t *out, const char *key, const struct mnode *n);

static void append_kids(bson_t *out, const struct mnode *n)
{
    char index[24];
    for (size_t i = 0; i < n->n; i++) {
        const char *key = n->kids[i]->key;
        if (n->value.value_type == BSON_TYPE_ARRAY) {
            snprintf(index, sizeof index, "%zu", i);
            key = index;
        }
        append_node(out, key, n->kids[i]);
    }
}

static void append_node(bson_t *out, const char *key, const struct mnode *n)
{
    bson_t sub;
    if (!n->open) {
        bson_append_value(out, key, -1, &n->value);
    } else if (n->value.value_type == BSON_TYPE_ARRAY) {
        bson_append_array_begin(out, key, -1, &sub);
        append_kids(&sub, n);
        bson_append_array_end(out, &sub);
    } else {
        bson_append_document_begin(out, key, -1, &sub);
        append_kids(&sub, n);
        bson_append_document_end(out, &sub);
    }
}

bson_t *mdoc_to_bson(const struct mnode *root)
{
    bson_t *out = bson_new();
    append_kids(out, root);
    return out;
}

void mnode_get(const struct mnode *n, bson_value_t *out)
{
    if (!n->open) {
        bson_value_copy(&n->value, out);
        return;
    }
    bson_t wrap = BSON_INITIALIZER;
    bson_iter_t it;
    append_node(&wrap, "v", n);
    bson_iter_init_find(&it, &wrap, "v");
    bson_value_copy(bson_iter_value(&it), out);
    bson_destroy(&wrap);
}

void mnode_set(struct mnode *n, const bson_value_t *v)
{
    clear(n);
    bson_value_copy(v, &n->value);
}

struct mnode *mnode_child(struct mnode *n, const char *part, size_t *at)
{
    size_t index;
    if (!mnode_open(n))
        return NULL;
    if (n->value.value_type == BSON_TYPE_ARRAY) {
        if (!path_part_index(part, &index) || index >= n->n)
            return NULL;
        if (at)
            *at = index;
        return n->kids[index];
    }
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->kids[i]->key, part)) {
            if (at)
                *at = i;
            return n->kids[i];
        }
    return NULL;
}

struct mnode *mnode_insert(struct mnode *parent, size_t at, const char *key,
                           const bson_value_t *v)
{
    mnode_open(parent);
    struct mnode *kid = node_new(key);
    bson_value_copy(v, &kid->value);
    add_kid(parent, at > parent->n ? parent->n : at, kid);
    return kid;
}

void mnode_remove(struct mnode *parent, size_t at)
{
    mnode_free(parent->kids[at]);
    memmove(&parent->kids[at], &parent->kids[at + 1],
            (parent->n - at - 1) * sizeof *parent->kids);
    parent->n--;
}

size_t mdoc_find(struct mnode *root, char *const *parts, size_t n,
                 struct mnode **out)
{
    struct mnode *at = root;
    size_t i = 0;
    for (; i < n; i++) {
        struct mnode *next = mnode_child(at, parts[i], NULL);
        if (!next)
            break;
        at = next;
    }
    *out = at;
    return i;
}

struct mnode *mdoc_create(struct mnode *at, const char *at_name,
                          char *const *parts, size_t n, const bson_value_t *v,
                          struct mongo_error *e)
{
    char shown[256];
    bson_value_t whole;
    size_t index;
    bool array = mnode_type(at) == BSON_TYPE_ARRAY;
    if (!mnode_open(at) || (array && !path_part_index(parts[0], &index))) {
        mnode_get(at, &whole);
        mongo_error_set(e, 28, "PathNotViable",
                        "Cannot create field '%s' in element {%s}", parts[0],
                        element_render(at_name, &whole, shown, sizeof shown));
        bson_value_destroy(&whole);
        return NULL;
    }
    bson_value_t null_value = {.value_type = BSON_TYPE_NULL}, doc;
    value_empty(BSON_TYPE_DOCUMENT, &doc);
    struct mnode *first;
    if (array) {
        if (index > at->n + MAX_PADDING) {
            mongo_error_set(e, 2, "BadValue",
                            "can't backfill more than %d elements",
                            MAX_PADDING);
            return NULL;
        }
        while (at->n < index)
            mnode_insert(at, at->n, "", &null_value);
        first = mnode_insert(at, at->n, "", n > 1 ? &doc : v);
    } else {
        first = mnode_insert(at, at->n, parts[0], n > 1 ? &doc : v);
    }
    struct mnode *cur = first;
    for (size_t i = 1; i < n; i++)
        cur = mnode_insert(cur, cur->n, parts[i], i + 1 < n ? &doc : v);
    return first;
}
