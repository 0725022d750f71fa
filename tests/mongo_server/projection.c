/* projection.c: find's projection as MongoDB 4.4 and later reads it: a
 * tree of paths ({"a.b": 1} and {a: {b: 1}} alike), all inclusions or
 * all exclusions but for _id (kept unless excluded), applied through
 * arrays element by element, the document's field order kept. Computed
 * fields, $slice, $elemMatch, $meta and the positional $ are refused
 * with NotImplemented (238). Errors carry MongoDB's codes (31249, 31250,
 * 31253, 31254, ...). */
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* A node of the tree: a leaf says include (or exclude) the field; an
 * inner node projects the field's subdocuments. */
struct pnode {
    char *name;
    bool leaf, include;
    struct pnode **kids;
    size_t n;
};

struct projection {
    struct pnode root;
    bool inclusion;
};

struct parse {
    struct projection *p;
    bool typed; /* inclusion or exclusion decided by a field */
    bool id_included, id_excluded, id_specified;
    struct mongo_error *e;
};

static void pnode_free_kids(struct pnode *n)
{
    for (size_t i = 0; i < n->n; i++) {
        pnode_free_kids(n->kids[i]);
        free(n->kids[i]->name);
        free(n->kids[i]);
    }
    free(n->kids);
    n->kids = NULL;
    n->n = 0;
}

void projection_free(struct projection *p)
{
    if (!p)
        return;
    pnode_free_kids(&p->root);
    free(p);
}

static struct pnode *child(const struct pnode *n, const char *name)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->kids[i]->name, name))
            return n->kids[i];
    return NULL;
}

static struct pnode *add_child(struct pnode *n, const char *name)
{
    struct pnode *k = calloc(1, sizeof *k);
    k->name = strdup(name);
    n->kids = realloc(n->kids, (n->n + 1) * sizeof *n->kids);
    n->kids[n->n++] = k;
    return k;
}

static void remove_child(struct pnode *n, const char *name)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->kids[i]->name, name)) {
            pnode_free_kids(n->kids[i]);
            free(n->kids[i]->name);
            free(n->kids[i]);
            memmove(&n->kids[i], &n->kids[i + 1],
                    (n->n - i - 1) * sizeof *n->kids);
            n->n--;
            return;
        }
}

static bool check_path(const struct path *p, struct mongo_error *e)
{
    for (size_t i = 0; i < p->n; i++) {
        if (!*p->parts[i]) {
            mongo_error_set(e, 15998, "Location15998",
                            "FieldPath field names may not be empty "
                            "strings.");
            return false;
        }
        if (p->parts[i][0] == '$') {
            mongo_error_set(e, 16410, "Location16410",
                            "FieldPath field names may not start with '$'. "
                            "Consider using $getField or $setField.");
            return false;
        }
    }
    return true;
}

/* A leaf at `text` under `at`, as MongoDB's addNodeAtPath. */
static bool add_leaf(struct pnode *at, const char *text, bool include,
                     struct mongo_error *e)
{
    struct path p;
    path_split(text, &p);
    bool okay = check_path(&p, e);
    for (size_t i = 0; okay && i < p.n; i++) {
        struct pnode *k = child(at, p.parts[i]);
        if (i + 1 == p.n) {
            if (k) {
                mongo_error_set(e, 31250, "Location31250",
                                "Path collision at %s", text);
                okay = false;
            } else {
                k = add_child(at, p.parts[i]);
                k->leaf = true;
                k->include = include;
            }
        } else if (k && k->leaf) {
            mongo_error_set(e, 31249, "Location31249",
                            "Path collision at %s remaining portion %s", text,
                            strchr(text, '.') + 1);
            okay = false;
        } else {
            at = k ? k : add_child(at, p.parts[i]);
        }
    }
    path_free(&p);
    return okay;
}

static bool not_implemented(struct mongo_error *e, const char *what,
                            const char *field)
{
    mongo_error_set(e, 238, "NotImplemented",
                    "the sluice test server projects by inclusion and "
                    "exclusion only, not by %s (on '%s')",
                    what, field);
    return false;
}

static bool parse_object(struct parse *ctx, const bson_value_t *obj,
                         struct pnode *at, bool root);

static bool parse_element(struct parse *ctx, const char *key,
                          const bson_value_t *v, struct pnode *at, bool root)
{
    bool top_id = root && !strcmp(key, "_id");
    size_t len = strlen(key);
    if (strstr(key, ".$.") || !strcmp(key, "$") ||
        (len >= 2 && !strcmp(key + len - 2, ".$")))
        return not_implemented(ctx->e, "the positional $", key);
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t it;
        bson_iter_init_from_data(&it, v->value.v_doc.data,
                                 v->value.v_doc.data_len);
        if (bson_iter_next(&it) && bson_iter_key(&it)[0] == '$')
            return not_implemented(ctx->e, bson_iter_key(&it), key);
        struct pnode *sub = child(at, key);
        if (sub && sub->leaf) {
            mongo_error_set(ctx->e, 31250, "Location31250",
                            "Path collision at %s", key);
            return false;
        }
        return parse_object(ctx, v, sub ? sub : add_child(at, key), false);
    }
    bool flag = v->value_type == BSON_TYPE_BOOL ||
                v->value_type == BSON_TYPE_INT32 ||
                v->value_type == BSON_TYPE_INT64 ||
                v->value_type == BSON_TYPE_DOUBLE ||
                v->value_type == BSON_TYPE_DECIMAL128;
    if (!flag)
        return not_implemented(ctx->e, "a computed value", key);
    bool include = v->value_type == BSON_TYPE_BOOL ? v->value.v_bool
                                                   : value_as_double(v) != 0;
    if (!add_leaf(at, key, include, ctx->e))
        return false;
    if (top_id) {
        ctx->id_included = include;
        ctx->id_excluded = !include;
        return true;
    }
    if (ctx->typed && ctx->p->inclusion != include) {
        mongo_error_set(ctx->e, include ? 31253 : 31254,
                        include ? "Location31253" : "Location31254",
                        "Cannot do %s on field %s in %s projection",
                        include ? "inclusion" : "exclusion", key,
                        include ? "exclusion" : "inclusion");
        return false;
    }
    ctx->typed = true;
    ctx->p->inclusion = include;
    return true;
}

static bool parse_object(struct parse *ctx, const bson_value_t *obj,
                         struct pnode *at, bool root)
{
    bson_iter_t it;
    bson_iter_init_from_data(&it, obj->value.v_doc.data,
                             obj->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (root)
            ctx->id_specified = ctx->id_specified || !strcmp(key, "_id") ||
                                !strncmp(key, "_id.", 4);
        if (!parse_element(ctx, key, bson_iter_value(&it), at, root))
            return false;
    }
    return true;
}

struct projection *projection_parse(const bson_t *spec, struct mongo_error *e)
{
    struct projection *p = calloc(1, sizeof *p);
    struct parse ctx = {p, false, false, false, false, e};
    bson_value_t v;
    value_of_doc(spec, &v);
    if (!parse_object(&ctx, &v, &p->root, true)) {
        projection_free(p);
        return NULL;
    }
    if (!ctx.typed)
        p->inclusion = ctx.id_included;
    if (!ctx.id_specified && p->inclusion)
        add_leaf(&p->root, "_id", true, e);
    if (!p->inclusion && ctx.id_included)
        remove_child(&p->root, "_id");
    return p;
}

static void apply(const struct pnode *n, bool inclusion,
                  const bson_value_t *doc, bson_t *out);

/* A value under an inner node: documents projected, arrays element by
 * element; false when an inclusion drops it. */
static bool apply_value(const struct pnode *n, bool inclusion,
                        const bson_value_t *v, const char *key, bson_t *out)
{
    bson_t sub;
    bson_iter_t it;
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_append_document_begin(out, key, -1, &sub);
        apply(n, inclusion, v, &sub);
        bson_append_document_end(out, &sub);
        return true;
    }
    if (v->value_type != BSON_TYPE_ARRAY) {
        if (!inclusion)
            bson_append_value(out, key, -1, v);
        return !inclusion;
    }
    bson_append_array_begin(out, key, -1, &sub);
    bson_iter_init_from_data(&it, v->value.v_doc.data,
                             v->value.v_doc.data_len);
    char index[16];
    int k = 0;
    while (bson_iter_next(&it)) {
        const char *at;
        bson_uint32_to_string((uint32_t)k, &at, index, sizeof index);
        k += apply_value(n, inclusion, bson_iter_value(&it), at, &sub);
    }
    bson_append_array_end(out, &sub);
    return true;
}

static void apply(const struct pnode *n, bool inclusion,
                  const bson_value_t *doc, bson_t *out)
{
    bson_iter_t it;
    bson_iter_init_from_data(&it, doc->value.v_doc.data,
                             doc->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        const struct pnode *k = child(n, bson_iter_key(&it));
        if (!k) {
            if (!inclusion)
                bson_append_iter(out, NULL, 0, &it);
        } else if (k->leaf) {
            if (k->include)
                bson_append_iter(out, NULL, 0, &it);
        } else {
            apply_value(k, inclusion, bson_iter_value(&it), bson_iter_key(&it),
                        out);
        }
    }
}

void projection_apply(const struct projection *p, const bson_t *doc,
                      bson_t *out)
{
    bson_value_t v;
    value_of_doc(doc, &v);
    apply(&p->root, p->inclusion, &v, out);
}
