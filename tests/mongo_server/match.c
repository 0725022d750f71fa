/* match.c: a small matcher, enough for the update language: the filter
 * of an update statement, $pull's conditions and arrayFilters. It knows
 * equality on dotted paths (an array matches when it or one of its
 * elements equals), $eq $ne $gt $gte $lt $lte $in $nin $exists
 * $elemMatch and $and, comparing within one type class as MongoDB does;
 * anything else is refused (BadValue), never guessed. It also reports
 * the index in the first array a match went through, which the
 * positional $ of an update needs. The query-filter work extends or
 * replaces it; its interface (match_doc, match_path) is what the update
 * language relies on. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

enum op { EQ, NE, GT, GTE, LT, LTE, IN, NIN, EXISTS, ELEM_MATCH };

static const struct {
    const char *name;
    enum op op;
} ops[] = {
    {"$eq", EQ},         {"$ne", NE},
    {"$gt", GT},         {"$gte", GTE},
    {"$lt", LT},         {"$lte", LTE},
    {"$in", IN},         {"$nin", NIN},
    {"$exists", EXISTS}, {"$elemMatch", ELEM_MATCH},
};

bool match_is_operator_doc(const bson_value_t *v)
{
    bson_iter_t it;
    return v->value_type == BSON_TYPE_DOCUMENT &&
           bson_iter_init_from_data(&it, v->value.v_doc.data,
                                    v->value.v_doc.data_len) &&
           bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
}

/* Equality as a query sees it; NULL is a missing value, equal to null. */
static bool equal(const bson_value_t *v, const bson_value_t *arg)
{
    if (!v)
        return arg->value_type == BSON_TYPE_NULL;
    return value_same_class(v, arg) && value_compare(v, arg) == 0;
}

static bool compare(const bson_value_t *v, enum op op, const bson_value_t *arg)
{
    if (!v) /* a missing value is null to $gte/$lte null */
        return arg->value_type == BSON_TYPE_NULL && (op == GTE || op == LTE);
    if (!value_same_class(v, arg))
        return false;
    int c = value_compare(v, arg);
    return op == GT ? c > 0 : op == GTE ? c >= 0 : op == LT ? c < 0 : c <= 0;
}

struct visit {
    enum op op;
    const bson_value_t *arg;
    int index; /* of the first array gone through at the match */
    bool hit;
    int status; /* -1 when a nested match failed */
    struct mongo_error *e;
};

static bool in_list(const bson_value_t *v, const bson_value_t *list)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, list->value.v_doc.data,
                                  list->value.v_doc.data_len))
        return false;
    while (bson_iter_next(&it))
        if (equal(v, bson_iter_value(&it)))
            return true;
    return false;
}

static int elem_matches(const bson_value_t *e, const bson_value_t *arg,
                        struct mongo_error *err)
{
    int ignored;
    if (match_is_operator_doc(arg))
        return match_path(e, NULL, 0, arg, &ignored, err);
    if (e->value_type != BSON_TYPE_DOCUMENT)
        return 0;
    bson_t query;
    bson_init_static(&query, arg->value.v_doc.data, arg->value.v_doc.data_len);
    return match_doc(e, &query, &ignored, err);
}

static bool visit(const bson_value_t *v, int index, void *ctx)
{
    struct visit *s = ctx;
    bool hit = false;
    switch (s->op) {
    case EQ:
    case NE: hit = equal(v, s->arg); break;
    case GT:
    case GTE:
    case LT:
    case LTE: hit = compare(v, s->op, s->arg); break;
    case IN:
    case NIN: hit = in_list(v, s->arg); break;
    case EXISTS: hit = v != NULL; break;
    case ELEM_MATCH:
        if (v && v->value_type == BSON_TYPE_ARRAY) {
            bson_iter_t it;
            bson_iter_init_from_data(&it, v->value.v_doc.data,
                                     v->value.v_doc.data_len);
            for (int k = 0; !hit && bson_iter_next(&it); k++) {
                int r = elem_matches(bson_iter_value(&it), s->arg, s->e);
                if (r < 0) {
                    s->status = -1;
                    return true;
                }
                hit = r == 1;
                if (hit && index < 0)
                    index = k;
            }
        }
        break;
    }
    if (hit) {
        s->hit = true;
        s->index = index;
    }
    return hit;
}

static int match_op(const bson_value_t *root, char *const *parts, size_t n,
                    const char *name, const bson_value_t *arg, int *index,
                    struct mongo_error *e)
{
    size_t k = 0;
    while (k < sizeof ops / sizeof *ops && strcmp(ops[k].name, name) != 0)
        k++;
    if (k == sizeof ops / sizeof *ops) {
        mongo_error_set(e, 2, "BadValue",
                        "unknown operator: %s (the test server's update "
                        "matcher knows $eq $ne $gt $gte $lt $lte $in $nin "
                        "$exists $elemMatch)",
                        name);
        return -1;
    }
    enum op op = ops[k].op;
    if ((op == IN || op == NIN) && arg->value_type != BSON_TYPE_ARRAY) {
        mongo_error_set(e, 2, "BadValue", "$in needs an array");
        return -1;
    }
    if (op == ELEM_MATCH && arg->value_type != BSON_TYPE_DOCUMENT) {
        mongo_error_set(e, 2, "BadValue", "$elemMatch needs an Object");
        return -1;
    }
    if (arg->value_type == BSON_TYPE_REGEX) {
        mongo_error_set(e, 2, "BadValue",
                        "the test server's update matcher does not match "
                        "regular expressions");
        return -1;
    }
    struct visit s = {op, arg, -1, false, 0, e};
    bool leaf_elements = op != EXISTS && op != ELEM_MATCH;
    if (!root) /* a missing value itself */
        visit(NULL, -1, &s);
    else
        path_walk(root, parts, n, leaf_elements, visit, &s);
    if (s.status < 0)
        return -1;
    bool result = s.hit;
    if (op == NE || op == NIN)
        result = !result;
    if (op == EXISTS)
        result = s.hit == (arg->value_type == BSON_TYPE_BOOL
                               ? arg->value.v_bool
                               : value_as_double(arg) != 0);
    if (result && s.hit && s.index >= 0)
        *index = s.index;
    return result;
}

int match_path(const bson_value_t *root, char *const *parts, size_t n,
               const bson_value_t *cond, int *index, struct mongo_error *e)
{
    if (!match_is_operator_doc(cond))
        return match_op(root, parts, n, "$eq", cond, index, e);
    bson_iter_t it;
    bson_iter_init_from_data(&it, cond->value.v_doc.data,
                             cond->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        int r = match_op(root, parts, n, bson_iter_key(&it),
                         bson_iter_value(&it), index, e);
        if (r != 1)
            return r;
    }
    return 1;
}

static int match_and(const bson_value_t *root, const bson_value_t *list,
                     int *index, struct mongo_error *e)
{
    bson_iter_t it;
    if (list->value_type != BSON_TYPE_ARRAY ||
        !bson_iter_init_from_data(&it, list->value.v_doc.data,
                                  list->value.v_doc.data_len)) {
        mongo_error_set(e, 2, "BadValue", "$and must be an array");
        return -1;
    }
    while (bson_iter_next(&it)) {
        const bson_value_t *q = bson_iter_value(&it);
        if (q->value_type != BSON_TYPE_DOCUMENT) {
            mongo_error_set(e, 2, "BadValue",
                            "$or/$and/$nor entries need to be full objects");
            return -1;
        }
        bson_t sub;
        bson_init_static(&sub, q->value.v_doc.data, q->value.v_doc.data_len);
        int r = match_doc(root, &sub, index, e);
        if (r != 1)
            return r;
    }
    return 1;
}

int match_doc(const bson_value_t *root, const bson_t *query, int *index,
              struct mongo_error *e)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, query))
        return 1;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        int r;
        if (!strcmp(key, "$and")) {
            r = match_and(root, bson_iter_value(&it), index, e);
        } else if (key[0] == '$') {
            mongo_error_set(e, 2, "BadValue",
                            "unknown top level operator: %s (the test "
                            "server's update matcher knows $and)",
                            key);
            r = -1;
        } else {
            struct path p;
            if (!path_parse(key, &p, e))
                return -1;
            r = match_path(root, p.parts, p.n, bson_iter_value(&it), index, e);
            path_free(&p);
        }
        if (r != 1)
            return r;
    }
    return 1;
}
