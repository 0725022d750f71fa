/* pipeline.c: pipeline-style updates (an update given as an array of
 * stages): $set / $addFields, $unset, $replaceWith / $replaceRoot, with
 * a small expression evaluator: literals, field paths ("$a.b"), the
 * variables $$NOW, $$ROOT, $$CURRENT, $$REMOVE and $$CLUSTER_TIME, and
 * the operators $literal, $add, $subtract, $multiply, $concat, $ifNull,
 * $concatArrays, $mergeObjects. Anything else is refused with a message
 * that says so, never evaluated wrongly. Each stage reads the document
 * the stage before it made. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

static const char *const allowed[] = {"$set", "$addFields", "$unset",
                                      "$replaceWith", "$replaceRoot"};
static const char *const update_stages[] = {"$project"};

static bool stage_known(const char *name)
{
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        if (!strcmp(allowed[i], name))
            return true;
    return false;
}

bool pipeline_check(const bson_t *stages, struct mongo_error *e)
{
    bson_iter_t it, stage;
    bson_iter_init(&it, stages);
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) ||
            !bson_iter_recurse(&it, &stage) || !bson_iter_next(&stage)) {
            mongo_error_set(e, 14, "TypeMismatch",
                            "Each element of the 'pipeline' array must be an "
                            "object");
            return false;
        }
        const char *name = bson_iter_key(&stage);
        if (stage_known(name))
            continue;
        bool updatable = false;
        for (size_t i = 0; i < sizeof update_stages / sizeof *update_stages;
             i++)
            updatable = updatable || !strcmp(update_stages[i], name);
        if (updatable)
            mongo_error_set(e, 2, "BadValue",
                            "the test server runs $set, $addFields, $unset, "
                            "$replaceWith and $replaceRoot in pipeline "
                            "updates, not %s (see its README)",
                            name);
        else
            mongo_error_set(e, 72, "InvalidOptions",
                            "%s is not allowed to be used within an update",
                            name);
        return false;
    }
    return true;
}

/* ---- expressions ---- */

/* 1 a value (owned, in *out), 0 missing, -1 an error. */
static int eval(const bson_value_t *expr, const bson_t *root,
                bson_value_t *out, struct mongo_error *e);

/* A copy of `b` as a value of `type`. */
static void value_of(bson_t *b, bson_type_t type, bson_value_t *out)
{
    bson_value_t v = {.value_type = type};
    v.value.v_doc.data = (uint8_t *)bson_get_data(b);
    v.value.v_doc.data_len = b->len;
    bson_value_copy(&v, out);
}

/* "$a.b" as aggregation reads it: through arrays, element by element. */
static int field_path(const bson_value_t *at, char *const *parts, size_t n,
                      bson_value_t *out)
{
    bson_iter_t it;
    if (n == 0) {
        bson_value_copy(at, out);
        return 1;
    }
    if (at->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_init_from_data(&it, at->value.v_doc.data,
                                 at->value.v_doc.data_len);
        if (!bson_iter_find(&it, parts[0]))
            return 0;
        return field_path(bson_iter_value(&it), parts + 1, n - 1, out);
    }
    if (at->value_type != BSON_TYPE_ARRAY)
        return 0;
    bson_t arr = BSON_INITIALIZER;
    char key[16];
    int k = 0;
    bson_iter_init_from_data(&it, at->value.v_doc.data,
                             at->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        bson_value_t v;
        const bson_value_t *el = bson_iter_value(&it);
        if (el->value_type != BSON_TYPE_DOCUMENT &&
            el->value_type != BSON_TYPE_ARRAY)
            continue;
        if (field_path(el, parts, n, &v) == 1) {
            snprintf(key, sizeof key, "%d", k++);
            bson_append_value(&arr, key, -1, &v);
            bson_value_destroy(&v);
        }
    }
    value_of(&arr, BSON_TYPE_ARRAY, out);
    bson_destroy(&arr);
    return 1;
}

static int variable(const char *name, const bson_t *root, bson_value_t *out,
                    struct mongo_error *e)
{
    memset(out, 0, sizeof *out);
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    if (len == 3 && !strncmp(name, "NOW", 3)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        out->value_type = BSON_TYPE_DATE_TIME;
        out->value.v_datetime =
            (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        return 1;
    }
    if (len == 12 && !strncmp(name, "CLUSTER_TIME", 12)) {
        out->value_type = BSON_TYPE_TIMESTAMP;
        cluster_time(&out->value.v_timestamp.timestamp,
                     &out->value.v_timestamp.increment);
        return 1;
    }
    if (len == 6 && !strncmp(name, "REMOVE", 6))
        return 0;
    if ((len == 4 && !strncmp(name, "ROOT", 4)) ||
        (len == 7 && !strncmp(name, "CURRENT", 7))) {
        bson_value_t doc;
        value_of_doc(root, &doc);
        if (!dot)
            return field_path(&doc, NULL, 0, out);
        struct path p;
        if (!path_parse(dot + 1, &p, e))
            return -1;
        int r = field_path(&doc, p.parts, p.n, out);
        path_free(&p);
        return r;
    }
    mongo_error_set(e, 17276, "Location17276",
                    "Use of undefined variable: %.*s", (int)len, name);
    return -1;
}

/* The arguments of an operator: an array, or one value as a list of one. */
static int eval_args(const bson_value_t *arg, const bson_t *root,
                     bson_value_t **vals, int **present, size_t *n,
                     struct mongo_error *e)
{
    bson_iter_t it;
    *n = 0;
    *vals = NULL;
    *present = NULL;
    if (arg->value_type != BSON_TYPE_ARRAY) {
        *vals = calloc(1, sizeof **vals);
        *present = calloc(1, sizeof **present);
        *n = 1;
        (*present)[0] = eval(arg, root, &(*vals)[0], e);
        return (*present)[0] < 0 ? -1 : 1;
    }
    bson_iter_init_from_data(&it, arg->value.v_doc.data,
                             arg->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        *vals = realloc(*vals, (*n + 1) * sizeof **vals);
        *present = realloc(*present, (*n + 1) * sizeof **present);
        int r = eval(bson_iter_value(&it), root, &(*vals)[*n], e);
        (*present)[(*n)++] = r;
        if (r < 0)
            return -1;
    }
    return 1;
}

static void free_args(bson_value_t *vals, int *present, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (present[i] == 1)
            bson_value_destroy(&vals[i]);
    free(vals);
    free(present);
}

static bool nullish(const bson_value_t *v, int present)
{
    return present != 1 || v->value_type == BSON_TYPE_NULL ||
           v->value_type == BSON_TYPE_UNDEFINED;
}

static int arith(const char *op, bson_value_t *v, int *present, size_t n,
                 bson_value_t *out, struct mongo_error *e)
{
    bool is_double = false, is_date = false, is_long = false;
    double d = 0;
    int64_t l = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (nullish(&v[i], present[i])) {
            out->value_type = BSON_TYPE_NULL;
            return 1;
        }
        if (v[i].value_type == BSON_TYPE_DATE_TIME &&
            strcmp(op, "$multiply")) {
            is_date = true;
        } else if (!value_is_number(&v[i]) ||
                   v[i].value_type == BSON_TYPE_DECIMAL128) {
            mongo_error_set(e, 14, "TypeMismatch",
                            "%s only supports numeric types, not %s", op,
                            value_type_name(v[i].value_type));
            return -1;
        }
        is_double = is_double || v[i].value_type == BSON_TYPE_DOUBLE;
        is_long = is_long || v[i].value_type == BSON_TYPE_INT64;
    }
    for (size_t i = 0; i < n; i++) {
        double x = v[i].value_type == BSON_TYPE_DATE_TIME
                       ? (double)v[i].value.v_datetime
                       : value_as_double(&v[i]);
        int64_t y = v[i].value_type == BSON_TYPE_DATE_TIME
                        ? v[i].value.v_datetime
                    : v[i].value_type == BSON_TYPE_INT32 ? v[i].value.v_int32
                    : v[i].value_type == BSON_TYPE_INT64 ? v[i].value.v_int64
                                                         : (int64_t)x;
        if (i == 0) {
            d = x;
            l = y;
        } else if (!strcmp(op, "$add")) {
            d += x;
            l += y;
        } else if (!strcmp(op, "$subtract")) {
            d -= x;
            l -= y;
        } else {
            d *= x;
            l *= y;
        }
    }
    if (is_date) {
        out->value_type = BSON_TYPE_DATE_TIME;
        out->value.v_datetime = l;
    } else if (is_double) {
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = d;
    } else if (is_long || l < INT32_MIN || l > INT32_MAX) {
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = l;
    } else {
        out->value_type = BSON_TYPE_INT32;
        out->value.v_int32 = (int32_t)l;
    }
    return 1;
}

static int combine(const char *op, bson_value_t *v, int *present, size_t n,
                   bson_value_t *out, struct mongo_error *e)
{
    if (!strcmp(op, "$ifNull")) {
        for (size_t i = 0; i < n; i++)
            if (!nullish(&v[i], present[i]) || i + 1 == n) {
                if (present[i] != 1)
                    return 0;
                bson_value_copy(&v[i], out);
                return 1;
            }
        return 0;
    }
    if (!strcmp(op, "$concat")) {
        bson_string_t *s = bson_string_new("");
        for (size_t i = 0; i < n; i++) {
            if (nullish(&v[i], present[i])) {
                bson_string_free(s, true);
                out->value_type = BSON_TYPE_NULL;
                return 1;
            }
            if (v[i].value_type != BSON_TYPE_UTF8) {
                bson_string_free(s, true);
                mongo_error_set(e, 16702, "Location16702",
                                "$concat only supports strings, not %s",
                                value_type_name(v[i].value_type));
                return -1;
            }
            bson_string_append(s, v[i].value.v_utf8.str);
        }
        out->value_type = BSON_TYPE_UTF8;
        out->value.v_utf8.len = (uint32_t)s->len;
        out->value.v_utf8.str = bson_string_free(s, false);
        return 1;
    }
    bool arrays = !strcmp(op, "$concatArrays");
    bson_t acc = BSON_INITIALIZER;
    int k = 0;
    char key[16];
    for (size_t i = 0; i < n; i++) {
        if (nullish(&v[i], present[i])) {
            if (!arrays)
                continue;
            bson_destroy(&acc);
            out->value_type = BSON_TYPE_NULL;
            return 1;
        }
        bson_type_t want = arrays ? BSON_TYPE_ARRAY : BSON_TYPE_DOCUMENT;
        if (v[i].value_type != want) {
            bson_destroy(&acc);
            mongo_error_set(e, arrays ? 28664 : 40400,
                            arrays ? "Location28664" : "Location40400",
                            "%s only supports %s, not %s", op,
                            arrays ? "arrays" : "objects",
                            value_type_name(v[i].value_type));
            return -1;
        }
        bson_iter_t it;
        bson_iter_init_from_data(&it, v[i].value.v_doc.data,
                                 v[i].value.v_doc.data_len);
        while (bson_iter_next(&it)) {
            if (arrays) {
                snprintf(key, sizeof key, "%d", k++);
                bson_append_value(&acc, key, -1, bson_iter_value(&it));
            } else {
                bson_t merged = BSON_INITIALIZER;
                bson_copy_to_excluding_noinit(&acc, &merged,
                                              bson_iter_key(&it), NULL);
                bson_append_value(&merged, bson_iter_key(&it), -1,
                                  bson_iter_value(&it));
                bson_destroy(&acc);
                bson_copy_to(&merged, &acc);
                bson_destroy(&merged);
            }
        }
    }
    value_of(&acc, arrays ? BSON_TYPE_ARRAY : BSON_TYPE_DOCUMENT, out);
    bson_destroy(&acc);
    return 1;
}

static int eval_operator(const char *op, const bson_value_t *arg,
                         const bson_t *root, bson_value_t *out,
                         struct mongo_error *e)
{
    static const char *const known[] = {"$add",         "$subtract",
                                        "$multiply",    "$concat",
                                        "$ifNull",      "$concatArrays",
                                        "$mergeObjects"};
    if (!strcmp(op, "$literal")) {
        bson_value_copy(arg, out);
        return 1;
    }
    size_t k = 0;
    while (k < sizeof known / sizeof *known && strcmp(known[k], op) != 0)
        k++;
    if (k == sizeof known / sizeof *known) {
        mongo_error_set(e, 168, "InvalidPipelineOperator",
                        "the test server does not evaluate the expression "
                        "'%s' (see its README)",
                        op);
        return -1;
    }
    bson_value_t *vals;
    int *present;
    size_t n;
    int r = eval_args(arg, root, &vals, &present, &n, e);
    if (r >= 0)
        r = k < 3 ? arith(op, vals, present, n, out, e)
                  : combine(op, vals, present, n, out, e);
    free_args(vals, present, n);
    return r;
}

/* An expression object or array: each member evaluated; a missing
 * member is left out of a document, null in an array. */
static int eval_members(const bson_value_t *expr, const bson_t *root,
                        bson_value_t *out, struct mongo_error *e)
{
    bool array = expr->value_type == BSON_TYPE_ARRAY;
    bson_iter_t it;
    bson_t acc = BSON_INITIALIZER;
    char index[16];
    int k = 0;
    bson_iter_init_from_data(&it, expr->value.v_doc.data,
                             expr->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        bson_value_t v;
        int r = eval(bson_iter_value(&it), root, &v, e);
        if (r < 0) {
            bson_destroy(&acc);
            return -1;
        }
        snprintf(index, sizeof index, "%d", k++);
        const char *key = array ? index : bson_iter_key(&it);
        if (r) {
            bson_append_value(&acc, key, -1, &v);
            bson_value_destroy(&v);
        } else if (array) {
            bson_append_null(&acc, key, -1);
        }
    }
    value_of(&acc, expr->value_type, out);
    bson_destroy(&acc);
    return 1;
}

static int eval(const bson_value_t *expr, const bson_t *root,
                bson_value_t *out, struct mongo_error *e)
{
    if (expr->value_type == BSON_TYPE_UTF8 &&
        expr->value.v_utf8.str[0] == '$') {
        const char *s = expr->value.v_utf8.str;
        if (s[1] == '$')
            return variable(s + 2, root, out, e);
        bson_value_t doc;
        struct path p;
        value_of_doc(root, &doc);
        if (!path_parse(s + 1, &p, e))
            return -1;
        int r = field_path(&doc, p.parts, p.n, out);
        path_free(&p);
        return r;
    }
    if (expr->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t it;
        bson_iter_init_from_data(&it, expr->value.v_doc.data,
                                 expr->value.v_doc.data_len);
        if (bson_iter_next(&it) && bson_iter_key(&it)[0] == '$')
            return eval_operator(bson_iter_key(&it), bson_iter_value(&it),
                                 root, out, e);
        return eval_members(expr, root, out, e);
    }
    if (expr->value_type == BSON_TYPE_ARRAY)
        return eval_members(expr, root, out, e);
    bson_value_copy(expr, out);
    return 1;
}

/* ---- stages ---- */

static bool is_expression_object(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_DOCUMENT && !match_is_operator_doc(v);
}

static bool add_field(struct mnode *node, char *const *parts, size_t n,
                      const bson_value_t *expr, const bson_t *root,
                      struct mongo_error *e);

/* Applies an expression object's fields to the document `node`. */
static bool add_object(struct mnode *node, const bson_value_t *spec,
                       const bson_t *root, struct mongo_error *e)
{
    bson_iter_t it;
    bson_iter_init_from_data(&it, spec->value.v_doc.data,
                             spec->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        char *key = (char *)bson_iter_key(&it);
        bson_value_t v = *bson_iter_value(&it);
        if (!add_field(node, &key, 1, &v, root, e))
            return false;
    }
    return true;
}

/* Into a field's value: a document is gone into, an array's documents
 * each; anything else is replaced by a new document. */
static bool into(struct mnode *node, const char *name, char *const *parts,
                 size_t n, const bson_value_t *expr, const bson_t *root,
                 struct mongo_error *e)
{
    size_t at;
    struct mnode *kid = mnode_child(node, name, &at);
    bson_value_t doc;
    value_empty(BSON_TYPE_DOCUMENT, &doc);
    if (kid && mnode_type(kid) == BSON_TYPE_ARRAY) {
        mnode_open(kid);
        for (size_t i = 0; i < kid->n; i++)
            if (mnode_type(kid->kids[i]) == BSON_TYPE_DOCUMENT &&
                !(n ? add_field(kid->kids[i], parts, n, expr, root, e)
                    : add_object(kid->kids[i], expr, root, e)))
                return false;
        return true;
    }
    if (!kid)
        kid = mnode_insert(node, node->n, name, &doc);
    else if (mnode_type(kid) != BSON_TYPE_DOCUMENT)
        mnode_set(kid, &doc);
    mnode_open(kid);
    return n ? add_field(kid, parts, n, expr, root, e)
             : add_object(kid, expr, root, e);
}

static bool add_field(struct mnode *node, char *const *parts, size_t n,
                      const bson_value_t *expr, const bson_t *root,
                      struct mongo_error *e)
{
    if (n > 1)
        return into(node, parts[0], parts + 1, n - 1, expr, root, e);
    if (is_expression_object(expr))
        return into(node, parts[0], NULL, 0, expr, root, e);
    bson_value_t v;
    int r = eval(expr, root, &v, e);
    if (r < 0)
        return false;
    size_t at;
    struct mnode *kid = mnode_child(node, parts[0], &at);
    if (!r) { /* missing, or $$REMOVE: no such field */
        if (kid)
            mnode_remove(node, at);
        return true;
    }
    if (kid)
        mnode_set(kid, &v);
    else
        mnode_insert(node, node->n, parts[0], &v);
    bson_value_destroy(&v);
    return true;
}

static void remove_path(struct mnode *node, char *const *parts, size_t n)
{
    size_t at;
    struct mnode *kid = mnode_child(node, parts[0], &at);
    if (!kid)
        return;
    if (n == 1) {
        mnode_remove(node, at);
    } else if (mnode_type(kid) == BSON_TYPE_DOCUMENT) {
        remove_path(kid, parts + 1, n - 1);
    } else if (mnode_type(kid) == BSON_TYPE_ARRAY) {
        mnode_open(kid);
        for (size_t i = 0; i < kid->n; i++)
            if (mnode_type(kid->kids[i]) == BSON_TYPE_DOCUMENT)
                remove_path(kid->kids[i], parts + 1, n - 1);
    }
}

static bool run_set(struct mnode *root_node, bson_iter_t *stage,
                    const bson_t *input, struct mongo_error *e)
{
    bson_iter_t it;
    if (!BSON_ITER_HOLDS_DOCUMENT(stage)) {
        mongo_error_set(e, 40272, "Location40272",
                        "$addFields specification stage must be an object, "
                        "got %s",
                        value_type_name(bson_iter_type(stage)));
        return false;
    }
    bson_iter_recurse(stage, &it);
    while (bson_iter_next(&it)) {
        struct path p;
        if (!path_parse(bson_iter_key(&it), &p, e))
            return false;
        bson_value_t expr = *bson_iter_value(&it);
        bool good = add_field(root_node, p.parts, p.n, &expr, input, e);
        path_free(&p);
        if (!good)
            return false;
    }
    return true;
}

static bool unset_one(struct mnode *root_node, const bson_value_t *v,
                      struct mongo_error *e)
{
    struct path p;
    if (v->value_type != BSON_TYPE_UTF8) {
        mongo_error_set(e, 31120, "Location31120",
                        "$unset specification must be a string or an array "
                        "containing only string values");
        return false;
    }
    if (!path_parse(v->value.v_utf8.str, &p, e))
        return false;
    remove_path(root_node, p.parts, p.n);
    path_free(&p);
    return true;
}

static bool run_unset(struct mnode *root_node, bson_iter_t *stage,
                      struct mongo_error *e)
{
    if (!BSON_ITER_HOLDS_ARRAY(stage))
        return unset_one(root_node, bson_iter_value(stage), e);
    bson_iter_t it;
    bson_iter_recurse(stage, &it);
    while (bson_iter_next(&it))
        if (!unset_one(root_node, bson_iter_value(&it), e))
            return false;
    return true;
}

static bson_t *run_replace(bson_iter_t *stage, const bson_t *input,
                           struct mongo_error *e)
{
    bson_value_t expr = *bson_iter_value(stage), v;
    if (!strcmp(bson_iter_key(stage), "$replaceRoot")) {
        bson_iter_t it;
        if (!BSON_ITER_HOLDS_DOCUMENT(stage) ||
            !bson_iter_recurse(stage, &it) ||
            !bson_iter_find(&it, "newRoot")) {
            mongo_error_set(e, 40231, "Location40231",
                            "no newRoot specified for the $replaceRoot stage");
            return NULL;
        }
        expr = *bson_iter_value(&it);
    }
    int r = eval(&expr, input, &v, e);
    if (r < 0)
        return NULL;
    if (r == 0 || v.value_type != BSON_TYPE_DOCUMENT) {
        char shown[256] = "missing";
        if (r)
            value_render(&v, shown, sizeof shown);
        mongo_error_set(e, 40228, "Location40228",
                        "'replacement document' must evaluate to an object, "
                        "but resulting value was: %s",
                        shown);
        if (r)
            bson_value_destroy(&v);
        return NULL;
    }
    bson_t *out =
        bson_new_from_data(v.value.v_doc.data, v.value.v_doc.data_len);
    bson_value_destroy(&v);
    return out;
}

bson_t *pipeline_run(const bson_t *stages, const bson_t *doc,
                     struct mongo_error *e)
{
    bson_iter_t it, stage;
    bson_t *cur = bson_copy(doc);
    bson_iter_init(&it, stages);
    while (bson_iter_next(&it)) {
        bson_iter_recurse(&it, &stage);
        bson_iter_next(&stage);
        const char *name = bson_iter_key(&stage);
        bson_t *next = NULL;
        if (!strcmp(name, "$replaceWith") || !strcmp(name, "$replaceRoot")) {
            next = run_replace(&stage, cur, e);
        } else {
            struct mnode *root = mdoc_new(cur);
            bool good = !strcmp(name, "$unset")
                            ? run_unset(root, &stage, e)
                            : run_set(root, &stage, cur, e);
            if (good)
                next = mdoc_to_bson(root);
            mnode_free(root);
        }
        bson_destroy(cur);
        if (!next)
            return NULL;
        cur = next;
    }
    return cur;
}
