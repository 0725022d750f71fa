/* update.c: the update language of MongoDB's update command: update
 * operators on dotted paths ($set $unset $inc $mul $min $max $rename
 * $currentDate $setOnInsert $push $addToSet $pop $pull $pullAll), the
 * positional $, $[] and $[id] with arrayFilters, replacement documents,
 * pipelines (pipeline.c) and upserts. Parsing checks what MongoDB checks
 * before it looks at a document (unknown modifiers, bad arguments,
 * conflicting paths: 40), applying what it checks per document (types,
 * paths that cannot be created, _id changes: 66), with MongoDB's codes
 * and messages. What a change touched is logged (update_log.c) and
 * becomes the change event's updateDescription. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

enum kind {
    K_SET,
    K_SET_ON_INSERT,
    K_UNSET,
    K_INC,
    K_MUL,
    K_MIN,
    K_MAX,
    K_RENAME,
    K_CURRENT_DATE,
    K_PUSH,
    K_ADD_TO_SET,
    K_POP,
    K_PULL,
    K_PULL_ALL
};

static const struct {
    const char *name;
    enum kind kind;
} modifiers[] = {
    {"$set", K_SET},
    {"$setOnInsert", K_SET_ON_INSERT},
    {"$unset", K_UNSET},
    {"$inc", K_INC},
    {"$mul", K_MUL},
    {"$min", K_MIN},
    {"$max", K_MAX},
    {"$rename", K_RENAME},
    {"$currentDate", K_CURRENT_DATE},
    {"$push", K_PUSH},
    {"$addToSet", K_ADD_TO_SET},
    {"$pop", K_POP},
    {"$pull", K_PULL},
    {"$pullAll", K_PULL_ALL},
};

struct op {
    enum kind kind;
    const char *name;
    struct path path; /* $rename: the destination */
    struct path from; /* $rename: the source */
    bson_value_t arg; /* borrows from update.doc */
    /* $push, $addToSet: the values (borrowed); $push's clauses */
    bson_value_t *values;
    size_t nvalues;
    bool sort, sort_fields, slice;
    int sort_dir;
    bson_value_t sort_spec;
    int64_t slice_n, position;
    bool timestamp; /* $currentDate */
};

struct array_filter {
    char *id;
    bson_t *filter;
    bool used;
};

enum style { OPERATORS, REPLACEMENT, PIPELINE };

struct update {
    enum style style;
    bson_t *doc; /* the operators, the replacement, or the stages */
    struct op *ops;
    size_t nops;
    struct array_filter *filters;
    size_t nfilters;
};

bool update_is_replacement(const struct update *u)
{
    return u->style == REPLACEMENT;
}

void update_free(struct update *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->nops; i++) {
        path_free(&u->ops[i].path);
        path_free(&u->ops[i].from);
        free(u->ops[i].values);
    }
    for (size_t i = 0; i < u->nfilters; i++) {
        free(u->filters[i].id);
        bson_destroy(u->filters[i].filter);
    }
    free(u->ops);
    free(u->filters);
    bson_destroy(u->doc);
    free(u);
}

/* ---- parsing ---- */

static bool is_filter_part(const char *part)
{
    size_t len = strlen(part);
    return len >= 3 && part[0] == '$' && part[1] == '[' &&
           part[len - 1] == ']';
}

static struct array_filter *filter_named(const struct update *u,
                                         const char *part)
{
    size_t len = strlen(part) - 3;
    for (size_t i = 0; i < u->nfilters; i++)
        if (strlen(u->filters[i].id) == len &&
            !strncmp(u->filters[i].id, part + 2, len))
            return &u->filters[i];
    return NULL;
}

/* The checks MongoDB makes on each path of an update before applying. */
static bool check_path(struct update *u, const struct path *p,
                       struct mongo_error *e)
{
    int positional = 0;
    for (size_t i = 0; i < p->n; i++) {
        const char *part = p->parts[i];
        if (!strcmp(part, "$")) {
            if (i == 0) {
                mongo_error_set(e, 2, "BadValue",
                                "Cannot have positional (i.e. '$') element "
                                "in the first position in path '%s'",
                                p->text);
                return false;
            }
            if (++positional > 1) {
                mongo_error_set(e, 2, "BadValue",
                                "Too many positional (i.e. '$') elements "
                                "found in path '%s'",
                                p->text);
                return false;
            }
        } else if (is_filter_part(part)) {
            if (i == 0) {
                mongo_error_set(e, 2, "BadValue",
                                "Cannot have array filter identifier (i.e. "
                                "'$[<id>]') element in the first position "
                                "in path '%s'",
                                p->text);
                return false;
            }
            if (strcmp(part, "$[]") != 0) {
                struct array_filter *f = filter_named(u, part);
                if (!f) {
                    mongo_error_set(e, 2, "BadValue",
                                    "No array filter found for identifier "
                                    "'%.*s' in path '%s'",
                                    (int)strlen(part) - 3, part + 2, p->text);
                    return false;
                }
                f->used = true;
            }
        } else if (part[0] == '$') {
            mongo_error_set(e, 52, "DollarPrefixedFieldName",
                            "The dollar ($) prefixed field '%s' in '%s' is "
                            "not valid for storage.",
                            part, p->text);
            return false;
        }
    }
    return true;
}

/* MongoDB's conflict check: no path may be a prefix of another, and a
 * level cannot be both an array of $[...] and a document. */
static bool conflict_with(const struct path *n, const struct path *o,
                          struct mongo_error *e)
{
    size_t i = 0;
    while (i < n->n && i < o->n && !strcmp(n->parts[i], o->parts[i]))
        i++;
    size_t at;
    if (i == n->n)
        at = n->n;
    else if (i == o->n)
        at = o->n;
    else if (i > 0 &&
             is_filter_part(n->parts[i]) != is_filter_part(o->parts[i]))
        at = i;
    else
        return false;
    char *where = path_join(n->parts, at);
    mongo_error_set(e, 40, "ConflictingUpdateOperators",
                    "Updating the path '%s' would create a conflict at '%s'",
                    n->text, where);
    free(where);
    return true;
}

static bool add_path(struct update *u, const struct path *p,
                     struct mongo_error *e)
{
    if (!check_path(u, p, e))
        return false;
    for (size_t i = 0; i < u->nops; i++) {
        if (u->ops[i].path.n && conflict_with(p, &u->ops[i].path, e))
            return false;
        if (u->ops[i].from.n && conflict_with(p, &u->ops[i].from, e))
            return false;
    }
    return true;
}

static bool each_values(struct op *op, const bson_value_t *arr)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, arr->value.v_doc.data,
                                  arr->value.v_doc.data_len))
        return false;
    while (bson_iter_next(&it)) {
        op->values =
            realloc(op->values, (op->nvalues + 1) * sizeof *op->values);
        op->values[op->nvalues++] = *bson_iter_value(&it);
    }
    return true;
}

static bool integer_of(const bson_value_t *v, int64_t *out)
{
    if (v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64) {
        *out = v->value_type == BSON_TYPE_INT32 ? v->value.v_int32
                                                : v->value.v_int64;
        return true;
    }
    if (v->value_type == BSON_TYPE_DOUBLE &&
        v->value.v_double == (double)(int64_t)v->value.v_double) {
        *out = (int64_t)v->value.v_double;
        return true;
    }
    return false;
}

static bool sort_direction(const bson_value_t *v, int *dir)
{
    double d = value_is_number(v) ? value_as_double(v) : 0;
    *dir = d == 1 ? 1 : -1;
    return d == 1 || d == -1;
}

static bool parse_push(struct op *op, struct mongo_error *e)
{
    bson_iter_t it;
    bson_value_t each = {0};
    bool has_each = false;
    if (op->arg.value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_init_from_data(&it, op->arg.value.v_doc.data,
                                 op->arg.value.v_doc.data_len);
        has_each = bson_iter_find(&it, "$each");
    }
    op->position = INT64_MAX;
    op->slice_n = INT64_MAX;
    if (!has_each) {
        op->values = malloc(sizeof *op->values);
        op->values[0] = op->arg;
        op->nvalues = 1;
        return true;
    }
    bson_iter_init_from_data(&it, op->arg.value.v_doc.data,
                             op->arg.value.v_doc.data_len);
    bool seen[4] = {false};
    static const char *clauses[4] = {"$each", "$slice", "$sort", "$position"};
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        int c = 0;
        while (c < 4 && strcmp(clauses[c], k) != 0)
            c++;
        if (c == 4) {
            mongo_error_set(e, 2, "BadValue",
                            "Unrecognized clause in $push: %s", k);
            return false;
        }
        if (seen[c]) {
            mongo_error_set(e, 2, "BadValue", "Only one %s is supported.", k);
            return false;
        }
        seen[c] = true;
        if (c == 0) {
            each = *v;
        } else if (c == 1 && !integer_of(v, &op->slice_n)) {
            mongo_error_set(e, 2, "BadValue",
                            "The value for $slice must be an integer value "
                            "but was given type: %s",
                            value_type_name(v->value_type));
            return false;
        } else if (c == 1) {
            op->slice = true;
        } else if (c == 2) {
            op->sort = true;
            op->sort_spec = *v;
            if (v->value_type == BSON_TYPE_DOCUMENT) {
                bson_iter_t f;
                op->sort_fields = true;
                bson_iter_init_from_data(&f, v->value.v_doc.data,
                                         v->value.v_doc.data_len);
                bool any = false;
                int dir;
                while (bson_iter_next(&f)) {
                    any = true;
                    if (!sort_direction(bson_iter_value(&f), &dir)) {
                        mongo_error_set(e, 2, "BadValue",
                                        "The $sort element value must be "
                                        "either 1 or -1");
                        return false;
                    }
                }
                if (!any) {
                    mongo_error_set(e, 2, "BadValue",
                                    "The $sort pattern is empty when it "
                                    "should be a set of fields.");
                    return false;
                }
            } else if (value_is_number(v)) {
                if (!sort_direction(v, &op->sort_dir)) {
                    mongo_error_set(e, 2, "BadValue",
                                    "The $sort element value must be either "
                                    "1 or -1");
                    return false;
                }
            } else {
                mongo_error_set(e, 2, "BadValue",
                                "The $sort is invalid: use 1/-1 to sort the "
                                "whole element, or {field:1/-1} to sort "
                                "embedded fields");
                return false;
            }
        } else if (c == 3 && !integer_of(v, &op->position)) {
            mongo_error_set(e, 2, "BadValue",
                            "The value for $position must be an integer "
                            "value, not of type: %s",
                            value_type_name(v->value_type));
            return false;
        }
    }
    if (each.value_type != BSON_TYPE_ARRAY) {
        mongo_error_set(e, 2, "BadValue",
                        "The argument to $each in $push must be an array but "
                        "it was of type: %s",
                        value_type_name(each.value_type));
        return false;
    }
    return each_values(op, &each);
}

static bool parse_add_to_set(struct op *op, struct mongo_error *e)
{
    bson_iter_t it;
    if (op->arg.value_type == BSON_TYPE_DOCUMENT &&
        bson_iter_init_from_data(&it, op->arg.value.v_doc.data,
                                 op->arg.value.v_doc.data_len) &&
        bson_iter_next(&it) && !strcmp(bson_iter_key(&it), "$each")) {
        bson_value_t each = *bson_iter_value(&it);
        if (bson_iter_next(&it)) {
            char shown[256];
            mongo_error_set(e, 2, "BadValue",
                            "Found unexpected fields after $each in "
                            "$addToSet: %s",
                            value_render(&op->arg, shown, sizeof shown));
            return false;
        }
        if (each.value_type != BSON_TYPE_ARRAY) {
            mongo_error_set(e, 2, "BadValue",
                            "The argument to $each in $addToSet must be an "
                            "array but it was of type %s",
                            value_type_name(each.value_type));
            return false;
        }
        return each_values(op, &each);
    }
    op->values = malloc(sizeof *op->values);
    op->values[0] = op->arg;
    op->nvalues = 1;
    return true;
}

static bool parse_current_date(struct op *op, const char *field,
                               struct mongo_error *e)
{
    char shown[256];
    const bson_value_t *v = &op->arg;
    if (v->value_type == BSON_TYPE_BOOL)
        return true;
    if (v->value_type != BSON_TYPE_DOCUMENT) {
        mongo_error_set(e, 2, "BadValue",
                        "%s is not valid type for $currentDate. Please use a "
                        "boolean ('true') or a $type expression ({$type: "
                        "'timestamp/date'}).",
                        element_render(field, v, shown, sizeof shown));
        return false;
    }
    bson_iter_t it;
    bool typed = false;
    bson_iter_init_from_data(&it, v->value.v_doc.data,
                             v->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "$type") != 0) {
            mongo_error_set(e, 2, "BadValue",
                            "Unrecognized $currentDate option: %s",
                            bson_iter_key(&it));
            return false;
        }
        const char *t =
            BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
        if (strcmp(t, "date") != 0 && strcmp(t, "timestamp") != 0) {
            mongo_error_set(e, 2, "BadValue",
                            "The '$type' string field is required to be "
                            "'date' or 'timestamp': {$currentDate: {field : "
                            "{$type: 'date'}}}");
            return false;
        }
        op->timestamp = !strcmp(t, "timestamp");
        typed = true;
    }
    if (!typed) {
        mongo_error_set(e, 2, "BadValue",
                        "The '$type' string field is required to be 'date' "
                        "or 'timestamp': {$currentDate: {field : {$type: "
                        "'date'}}}");
        return false;
    }
    return true;
}

static bool parse_rename(struct update *u, struct op *op, const char *field,
                         struct mongo_error *e)
{
    char shown[512];
    element_render(field, &op->arg, shown, sizeof shown);
    if (op->arg.value_type != BSON_TYPE_UTF8) {
        mongo_error_set(e, 2, "BadValue",
                        "The 'to' field for $rename must be a string: %s",
                        shown);
        return false;
    }
    if (!path_parse(field, &op->from, e) ||
        !path_parse(op->arg.value.v_utf8.str, &op->path, e))
        return false;
    for (int side = 0; side < 2; side++) {
        const struct path *p = side ? &op->path : &op->from;
        for (size_t i = 0; i < p->n; i++)
            if (p->parts[i][0] == '$') {
                mongo_error_set(e, 2, "BadValue",
                                "The %s field for $rename may not be "
                                "dynamic: %s",
                                side ? "destination" : "source", p->text);
                return false;
            }
    }
    if (!strcmp(op->from.text, op->path.text)) {
        mongo_error_set(e, 2, "BadValue",
                        "The source and target field for $rename must "
                        "differ: %s",
                        shown);
        return false;
    }
    size_t common = 0;
    while (common < op->from.n && common < op->path.n &&
           !strcmp(op->from.parts[common], op->path.parts[common]))
        common++;
    if (common == op->from.n || common == op->path.n) {
        mongo_error_set(e, 2, "BadValue",
                        "The source and target field for $rename must not "
                        "be on the same path: %s",
                        shown);
        return false;
    }
    return add_path(u, &op->from, e) && add_path(u, &op->path, e);
}

static bool parse_op(struct update *u, enum kind kind, const char *name,
                     bson_iter_t *field, struct mongo_error *e)
{
    struct op op = {0};
    char shown[512];
    const char *key = bson_iter_key(field);
    op.kind = kind;
    op.name = name;
    op.arg = *bson_iter_value(field);
    bool good = true;
    element_render(key, &op.arg, shown, sizeof shown);
    if (kind == K_RENAME) {
        good = parse_rename(u, &op, key, e);
    } else {
        good = path_parse(key, &op.path, e) && add_path(u, &op.path, e);
        if (good && (kind == K_INC || kind == K_MUL) &&
            !value_is_number(&op.arg)) {
            mongo_error_set(e, 14, "TypeMismatch",
                            "Cannot %s with non-numeric argument: {%s}",
                            kind == K_INC ? "increment" : "multiply", shown);
            good = false;
        } else if (good && kind == K_POP) {
            double d = value_is_number(&op.arg) ? value_as_double(&op.arg) : 0;
            if (d != 1 && d != -1) {
                char v[256];
                mongo_error_set(e, 9, "FailedToParse",
                                "$pop expects 1 or -1, found: %s",
                                value_render(&op.arg, v, sizeof v));
                good = false;
            }
        } else if (good && kind == K_PULL_ALL &&
                   op.arg.value_type != BSON_TYPE_ARRAY) {
            mongo_error_set(e, 2, "BadValue",
                            "$pullAll requires an array argument but was "
                            "given a %s",
                            value_type_name(op.arg.value_type));
            good = false;
        } else if (good && kind == K_PUSH) {
            good = parse_push(&op, e);
        } else if (good && kind == K_ADD_TO_SET) {
            good = parse_add_to_set(&op, e);
        } else if (good && kind == K_CURRENT_DATE) {
            good = parse_current_date(&op, key, e);
        }
    }
    if (!good) {
        path_free(&op.path);
        path_free(&op.from);
        free(op.values);
        return false;
    }
    u->ops = realloc(u->ops, (u->nops + 1) * sizeof *u->ops);
    u->ops[u->nops++] = op;
    return true;
}

static bool parse_operators(struct update *u, struct mongo_error *e)
{
    bson_iter_t it, fields;
    char shown[512];
    bson_iter_init(&it, u->doc);
    while (bson_iter_next(&it)) {
        const char *name = bson_iter_key(&it);
        size_t k = 0;
        while (k < sizeof modifiers / sizeof *modifiers &&
               strcmp(modifiers[k].name, name) != 0)
            k++;
        if (k == sizeof modifiers / sizeof *modifiers) {
            if (name[0] == '$' && strcmp(name, "$bit") != 0)
                mongo_error_set(e, 9, "FailedToParse",
                                "Unknown modifier: %s. Expected a valid "
                                "update modifier or pipeline-style update "
                                "specified as an array",
                                name);
            else if (name[0] == '$')
                mongo_error_set(e, 2, "BadValue",
                                "the test server does not apply $bit (see "
                                "its README)");
            else
                mongo_error_set(e, 9, "FailedToParse",
                                "Unknown modifier: %s. Expected a valid "
                                "update modifier or pipeline-style update "
                                "specified as an array",
                                name);
            return false;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            mongo_error_set(
                e, 9, "FailedToParse",
                "Modifiers operate on fields but we found type %s instead. "
                "For example: {$mod: {<field>: ...}} not {%s}",
                value_type_name(bson_iter_type(&it)),
                element_render(name, bson_iter_value(&it), shown,
                               sizeof shown));
            return false;
        }
        bson_iter_recurse(&it, &fields);
        while (bson_iter_next(&fields))
            if (!parse_op(u, modifiers[k].kind, name, &fields, e))
                return false;
    }
    return true;
}

/* [{x: cond}, {"y.f": cond, "y.g": cond}]: one identifier a filter. */
static bool parse_array_filters(struct update *u, const bson_t *filters,
                                struct mongo_error *e)
{
    bson_iter_t it, f;
    if (!filters || !bson_iter_init(&it, filters))
        return true;
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            mongo_error_set(e, 14, "TypeMismatch",
                            "Each array filter must be an object");
            return false;
        }
        char *id = NULL;
        bson_iter_recurse(&it, &f);
        while (bson_iter_next(&f)) {
            const char *key = bson_iter_key(&f);
            size_t len = strcspn(key, ".");
            bool good = len > 0 && key[0] >= 'a' && key[0] <= 'z';
            for (size_t i = 0; good && i < len; i++)
                good = (key[i] >= 'a' && key[i] <= 'z') ||
                       (key[i] >= 'A' && key[i] <= 'Z') ||
                       (key[i] >= '0' && key[i] <= '9');
            if (!good) {
                mongo_error_set(e, 2, "BadValue",
                                "The top-level field name must be an "
                                "alphanumeric string beginning with a "
                                "lowercase letter, found '%.*s'",
                                (int)len, key);
                free(id);
                return false;
            }
            if (id && (strlen(id) != len || strncmp(id, key, len) != 0)) {
                mongo_error_set(e, 9, "FailedToParse",
                                "Error parsing array filter :: caused by :: "
                                "Expected a single top-level field name, "
                                "found '%s' and '%.*s'",
                                id, (int)len, key);
                free(id);
                return false;
            }
            if (!id)
                id = strndup(key, len);
        }
        if (!id) {
            mongo_error_set(e, 9, "FailedToParse",
                            "Cannot use an expression without a top-level "
                            "field name in arrayFilters");
            return false;
        }
        for (size_t i = 0; i < u->nfilters; i++)
            if (!strcmp(u->filters[i].id, id)) {
                mongo_error_set(e, 9, "FailedToParse",
                                "Found multiple array filters with the same "
                                "top-level field name %s",
                                id);
                free(id);
                return false;
            }
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        u->filters =
            realloc(u->filters, (u->nfilters + 1) * sizeof *u->filters);
        u->filters[u->nfilters].id = id;
        u->filters[u->nfilters].filter = bson_new_from_data(data, len);
        u->filters[u->nfilters].used = false;
        u->nfilters++;
    }
    return true;
}

struct update *update_parse(const bson_value_t *u_value,
                            const bson_t *array_filters, struct mongo_error *e)
{
    if (u_value->value_type != BSON_TYPE_DOCUMENT &&
        u_value->value_type != BSON_TYPE_ARRAY) {
        mongo_error_set(e, 14, "TypeMismatch",
                        "Update argument must be either an object or an "
                        "array");
        return NULL;
    }
    struct update *u = calloc(1, sizeof *u);
    u->doc = bson_new_from_data(u_value->value.v_doc.data,
                                u_value->value.v_doc.data_len);
    bson_iter_t it;
    bool good = true;
    if (u_value->value_type == BSON_TYPE_ARRAY) {
        u->style = PIPELINE;
        good = pipeline_check(u->doc, e);
    } else if (bson_iter_init(&it, u->doc) && bson_iter_next(&it) &&
               bson_iter_key(&it)[0] == '$') {
        u->style = OPERATORS;
        good =
            parse_array_filters(u, array_filters, e) && parse_operators(u, e);
    } else {
        u->style = REPLACEMENT;
        bson_iter_init(&it, u->doc);
        while (good && bson_iter_next(&it))
            if (bson_iter_key(&it)[0] == '$') {
                mongo_error_set(e, 52, "DollarPrefixedFieldName",
                                "The dollar ($) prefixed field '%s' in '%s' "
                                "is not allowed in the context of an "
                                "update's replacement document. Consider "
                                "using an aggregation pipeline with "
                                "$replaceWith.",
                                bson_iter_key(&it), bson_iter_key(&it));
                good = false;
            }
    }
    if (good && u->style != OPERATORS && array_filters &&
        !bson_empty(array_filters)) {
        mongo_error_set(e, 72, "InvalidOptions",
                        "arrayFilters may not be specified for %s updates",
                        u->style == PIPELINE ? "pipeline-style"
                                             : "replacement-style");
        good = false;
    }
    for (size_t i = 0; good && i < u->nfilters; i++)
        if (!u->filters[i].used) {
            char shown[512];
            bson_value_t whole;
            value_of_doc(u->doc, &whole);
            mongo_error_set(e, 9, "FailedToParse",
                            "The array filter for identifier '%s' was not "
                            "used in the update %s",
                            u->filters[i].id,
                            value_render(&whole, shown, sizeof shown));
            good = false;
        }
    if (!good) {
        update_free(u);
        return NULL;
    }
    return u;
}

/* ---- applying: paths made concrete ---- */

struct target {
    const struct op *op;
    char **parts; /* $, $[] and $[id] resolved */
    size_t n;
};

struct apply {
    const struct update *u;
    const bson_t *original;
    struct mnode *root;
    int matched;
    bool inserting, id_immutable, changed;
    struct target *targets;
    size_t ntargets;
    struct change_log log;
    struct mongo_error *e;
};

static void add_target(struct apply *a, const struct op *op, char **parts,
                       size_t n)
{
    struct target t = {op, malloc(n * sizeof *parts), n};
    for (size_t i = 0; i < n; i++)
        t.parts[i] = strdup(parts[i]);
    a->targets = realloc(a->targets, (a->ntargets + 1) * sizeof *a->targets);
    a->targets[a->ntargets++] = t;
}

static int filter_matches(const struct array_filter *f,
                          const bson_value_t *element, struct mongo_error *e)
{
    bson_iter_t it;
    int ignored;
    bson_iter_init(&it, f->filter);
    while (bson_iter_next(&it)) {
        struct path p;
        if (!path_parse(bson_iter_key(&it), &p, e))
            return -1;
        int r = match_path(element, p.parts + 1, p.n - 1, bson_iter_value(&it),
                           &ignored, e);
        path_free(&p);
        if (r != 1)
            return r;
    }
    return 1;
}

static bool expand(struct apply *a, const struct op *op, char **cur, size_t i)
{
    const struct path *p = &op->path;
    if (i == p->n) {
        add_target(a, op, cur, i);
        return true;
    }
    const char *part = p->parts[i];
    char index[16];
    if (!strcmp(part, "$")) {
        if (a->matched < 0) {
            mongo_error_set(a->e, 2, "BadValue",
                            "The positional operator did not find the match "
                            "needed from the query.");
            return false;
        }
        snprintf(index, sizeof index, "%d", a->matched);
        cur[i] = index;
        return expand(a, op, cur, i + 1);
    }
    if (!is_filter_part(part)) {
        cur[i] = p->parts[i];
        return expand(a, op, cur, i + 1);
    }
    bson_value_t root, arr;
    value_of_doc(a->original, &root);
    if (!path_get(&root, cur, i, &arr)) {
        char *prefix = path_join(cur, i);
        mongo_error_set(a->e, 2, "BadValue",
                        "The path '%s' must exist in the document in order "
                        "to apply array updates.",
                        prefix);
        free(prefix);
        return false;
    }
    if (arr.value_type != BSON_TYPE_ARRAY) {
        char shown[512];
        mongo_error_set(a->e, 2, "BadValue",
                        "Cannot apply array updates to non-array element %s",
                        element_render(cur[i - 1], &arr, shown, sizeof shown));
        return false;
    }
    const struct array_filter *f =
        strcmp(part, "$[]") ? filter_named(a->u, part) : NULL;
    bson_iter_t it;
    bson_iter_init_from_data(&it, arr.value.v_doc.data,
                             arr.value.v_doc.data_len);
    for (int k = 0; bson_iter_next(&it); k++) {
        if (f) {
            int r = filter_matches(f, bson_iter_value(&it), a->e);
            if (r < 0)
                return false;
            if (!r)
                continue;
        }
        snprintf(index, sizeof index, "%d", k);
        cur[i] = index;
        if (!expand(a, op, cur, i + 1))
            return false;
    }
    return true;
}

/* MongoDB's order of application: part by part, array indexes as
 * numbers, other names as strings. */
static int compare_parts(char *const *x, size_t nx, char *const *y, size_t ny)
{
    for (size_t i = 0; i < nx && i < ny; i++) {
        size_t a, b;
        if (path_part_index(x[i], &a) && path_part_index(y[i], &b)) {
            if (a != b)
                return a < b ? -1 : 1;
        } else {
            int c = strcmp(x[i], y[i]);
            if (c)
                return c < 0 ? -1 : 1;
        }
    }
    return nx < ny ? -1 : nx > ny;
}

static int compare_targets(const void *x, const void *y)
{
    const struct target *a = x, *b = y;
    return compare_parts(a->parts, a->n, b->parts, b->n);
}

static bool prefix_of(const struct target *a, const struct target *b)
{
    if (a->n > b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->parts[i], b->parts[i]) != 0)
            return false;
    return true;
}

static bool make_targets(struct apply *a)
{
    for (size_t i = 0; i < a->u->nops; i++) {
        const struct op *op = &a->u->ops[i];
        if (op->kind == K_SET_ON_INSERT && !a->inserting)
            continue;
        char **cur = calloc(op->path.n + 1, sizeof *cur);
        bool good = expand(a, op, cur, 0);
        free(cur);
        if (!good)
            return false;
    }
    if (a->ntargets)
        qsort(a->targets, a->ntargets, sizeof *a->targets, compare_targets);
    for (size_t i = 0; i + 1 < a->ntargets; i++)
        if (prefix_of(&a->targets[i], &a->targets[i + 1])) {
            char *where = path_join(a->targets[i].parts, a->targets[i].n);
            mongo_error_set(a->e, 40, "ConflictingUpdateOperators",
                            "Update created a conflict at '%s'", where);
            free(where);
            return false;
        }
    return true;
}

/* ---- applying: the operators ---- */

static bool check_id(struct apply *a, char *const *parts, size_t n)
{
    if (!a->id_immutable || strcmp(parts[0], "_id") != 0)
        return true;
    char *text = path_join(parts, n);
    mongo_error_set(a->e, 66, "ImmutableField",
                    "Performing an update on the path '%s' would modify the "
                    "immutable field '_id'",
                    text);
    free(text);
    return false;
}

static const char *id_text(struct apply *a, char *buf, size_t size)
{
    bson_iter_t it;
    char shown[256];
    if (bson_iter_init_find(&it, a->original, "_id"))
        snprintf(buf, size, "{%s}",
                 element_render("_id", bson_iter_value(&it), shown,
                                sizeof shown));
    else
        snprintf(buf, size, "{no id}");
    return buf;
}

/* Sets the path to `v`, creating it when missing; 0 when it held an
 * identical value already. */
static int set_path(struct apply *a, char *const *parts, size_t n,
                    const bson_value_t *v)
{
    struct mnode *at;
    size_t found = mdoc_find(a->root, parts, n, &at);
    if (found == n) {
        bson_value_t cur;
        mnode_get(at, &cur);
        bool same = value_identical(&cur, v);
        bson_value_destroy(&cur);
        if (same)
            return 0;
        if (!check_id(a, parts, n))
            return -1;
        mnode_set(at, v);
        change_log_add(&a->log, parts, n, CHANGE_UPDATE, 0);
        return 1;
    }
    if (!check_id(a, parts, n))
        return -1;
    if (!mdoc_create(at, found ? parts[found - 1] : "", parts + found,
                     n - found, v, a->e))
        return -1;
    change_log_add(&a->log, parts, found + 1, CHANGE_INSERT, 0);
    return 1;
}

static int unset_path(struct apply *a, char *const *parts, size_t n)
{
    struct mnode *at, *parent;
    if (mdoc_find(a->root, parts, n, &at) < n)
        return 0;
    if (!check_id(a, parts, n))
        return -1;
    mdoc_find(a->root, parts, n - 1, &parent);
    if (mnode_type(parent) == BSON_TYPE_ARRAY) {
        /* set to null, a change even when null already (as MongoDB) */
        bson_value_t null_value = {.value_type = BSON_TYPE_NULL};
        mnode_set(at, &null_value);
        change_log_add(&a->log, parts, n, CHANGE_UPDATE, 0);
        return 1;
    }
    size_t pos;
    mnode_child(parent, parts[n - 1], &pos);
    mnode_remove(parent, pos);
    change_log_add(&a->log, parts, n, CHANGE_DELETE, 0);
    return 1;
}

static bool add_overflows(int64_t x, int64_t y, int64_t *out)
{
    if ((y > 0 && x > INT64_MAX - y) || (y < 0 && x < INT64_MIN - y))
        return true;
    *out = x + y;
    return false;
}

static bool mul_overflows(int64_t x, int64_t y, int64_t *out)
{
    if (x == 0 || y == 0) {
        *out = 0;
        return false;
    }
    if ((x == -1 && y == INT64_MIN) || (y == -1 && x == INT64_MIN))
        return true;
    int64_t r = (int64_t)((uint64_t)x * (uint64_t)y);
    if (r / y != x)
        return true;
    *out = r;
    return false;
}

/* $inc / $mul of two numbers with MongoDB's types: int32 widens to int64
 * on overflow, a double makes a double; int64 overflow fails. */
static bool arithmetic(struct apply *a, const struct target *t,
                       const bson_value_t *x, const bson_value_t *y,
                       bson_value_t *out)
{
    bool inc = t->op->kind == K_INC;
    memset(out, 0, sizeof *out);
    if (x->value_type == BSON_TYPE_DECIMAL128 ||
        y->value_type == BSON_TYPE_DECIMAL128) {
        mongo_error_set(a->e, 2, "BadValue",
                        "the test server does not do arithmetic on "
                        "decimal128 values (see its README)");
        return false;
    }
    if (x->value_type == BSON_TYPE_DOUBLE ||
        y->value_type == BSON_TYPE_DOUBLE) {
        double p = value_as_double(x), q = value_as_double(y);
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = inc ? p + q : p * q;
        return true;
    }
    int64_t p = x->value_type == BSON_TYPE_INT32 ? x->value.v_int32
                                                 : x->value.v_int64,
            q = y->value_type == BSON_TYPE_INT32 ? y->value.v_int32
                                                 : y->value.v_int64,
            r;
    if (inc ? add_overflows(p, q, &r) : mul_overflows(p, q, &r)) {
        char shown[256], id[300];
        mongo_error_set(a->e, 2, "BadValue",
                        "Failed to apply %s operations to current value "
                        "((NumberLong)%s) for document %s",
                        t->op->name, value_render(x, shown, sizeof shown),
                        id_text(a, id, sizeof id));
        return false;
    }
    bool both32 =
        x->value_type == BSON_TYPE_INT32 && y->value_type == BSON_TYPE_INT32;
    if (both32 && r >= INT32_MIN && r <= INT32_MAX) {
        out->value_type = BSON_TYPE_INT32;
        out->value.v_int32 = (int32_t)r;
    } else {
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = r;
    }
    return true;
}

/* The node at a target's path, or NULL when it does not exist. */
static struct mnode *existing(struct apply *a, const struct target *t)
{
    struct mnode *at;
    return mdoc_find(a->root, t->parts, t->n, &at) == t->n ? at : NULL;
}

static int apply_arithmetic(struct apply *a, const struct target *t)
{
    struct mnode *at = existing(a, t);
    const bson_value_t *arg = &t->op->arg;
    bson_value_t next;
    if (!at) {
        if (t->op->kind == K_INC)
            return set_path(a, t->parts, t->n, arg);
        bson_value_t zero = {.value_type = arg->value_type};
        if (zero.value_type == BSON_TYPE_DECIMAL128)
            bson_decimal128_from_string("0", &zero.value.v_decimal128);
        return set_path(a, t->parts, t->n, &zero);
    }
    bson_value_t cur;
    mnode_get(at, &cur);
    if (!value_is_number(&cur)) {
        char id[300];
        mongo_error_set(a->e, 14, "TypeMismatch",
                        "Cannot apply %s to a value of non-numeric type. %s "
                        "has the field '%s' of non-numeric type %s",
                        t->op->name, id_text(a, id, sizeof id),
                        t->parts[t->n - 1], value_type_name(cur.value_type));
        bson_value_destroy(&cur);
        return -1;
    }
    bool good = arithmetic(a, t, &cur, arg, &next);
    bson_value_destroy(&cur);
    return good ? set_path(a, t->parts, t->n, &next) : -1;
}

static int apply_min_max(struct apply *a, const struct target *t)
{
    struct mnode *at = existing(a, t);
    if (!at)
        return set_path(a, t->parts, t->n, &t->op->arg);
    bson_value_t cur;
    mnode_get(at, &cur);
    int c = value_compare(&t->op->arg, &cur);
    bson_value_destroy(&cur);
    if (t->op->kind == K_MIN ? c >= 0 : c <= 0)
        return 0;
    return set_path(a, t->parts, t->n, &t->op->arg);
}

static int apply_current_date(struct apply *a, const struct target *t)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    bson_value_t v = {0};
    if (t->op->timestamp) {
        uint32_t ts, inc;
        cluster_time(&ts, &inc);
        v.value_type = BSON_TYPE_TIMESTAMP;
        v.value.v_timestamp.timestamp = ts;
        v.value.v_timestamp.increment = inc + 1;
    } else {
        v.value_type = BSON_TYPE_DATE_TIME;
        v.value.v_datetime =
            (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    }
    return set_path(a, t->parts, t->n, &v);
}

/* An array met on a $rename path: MongoDB refuses to rename into or out
 * of arrays. */
static bool rename_through_array(struct apply *a, const struct path *p,
                                 const char *side)
{
    struct mnode *at = a->root;
    for (size_t i = 0; i + 1 < p->n; i++) {
        at = mnode_child(at, p->parts[i], NULL);
        if (!at)
            return true;
        if (mnode_type(at) == BSON_TYPE_ARRAY) {
            char id[300];
            mongo_error_set(a->e, 2, "BadValue",
                            "The %s field cannot be an array element, '%s' "
                            "in doc with %s has an array field called '%s'",
                            side, p->text, id_text(a, id, sizeof id),
                            p->parts[i]);
            return false;
        }
    }
    return true;
}

static int apply_rename(struct apply *a, const struct target *t)
{
    const struct op *op = t->op;
    struct mnode *src;
    if (mdoc_find(a->root, op->from.parts, op->from.n, &src) < op->from.n)
        return 0;
    if (!rename_through_array(a, &op->from, "source") ||
        !rename_through_array(a, &op->path, "destination") ||
        !check_id(a, op->from.parts, op->from.n))
        return -1;
    bson_value_t v;
    mnode_get(src, &v);
    unset_path(a, op->from.parts, op->from.n);
    int r = set_path(a, t->parts, t->n, &v);
    bson_value_destroy(&v);
    return r < 0 ? -1 : 1;
}

/* The node of an array operator's path: NULL when missing, with *bad
 * when it is there but no array. */
static struct mnode *array_at(struct apply *a, const struct target *t,
                              bool *bad)
{
    struct mnode *at = existing(a, t);
    *bad = at && mnode_type(at) != BSON_TYPE_ARRAY;
    if (at && !*bad)
        mnode_open(at);
    return at;
}

static void log_whole(struct apply *a, const struct target *t)
{
    change_log_add(&a->log, t->parts, t->n, CHANGE_UPDATE, 0);
}

/* ---- $push ---- */

struct keyed {
    bson_value_t key; /* what the $sort compares */
    struct mnode *node;
    size_t order;
    int dir;
};

static int compare_keyed(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    int c = value_compare(&a->key, &b->key) * a->dir;
    return c ? c : a->order < b->order ? -1 : 1;
}

static void sort_key(const struct op *op, struct mnode *n, bson_value_t *key)
{
    bson_value_t whole;
    mnode_get(n, &whole);
    if (!op->sort_fields) {
        *key = whole;
        return;
    }
    /* a document of the sort fields' values, compared as a whole */
    bson_t out = BSON_INITIALIZER;
    bson_iter_t it;
    bson_iter_init_from_data(&it, op->sort_spec.value.v_doc.data,
                             op->sort_spec.value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        struct path p;
        struct mongo_error ignored;
        bson_value_t v;
        if (!path_parse(bson_iter_key(&it), &p, &ignored))
            continue;
        if (whole.value_type == BSON_TYPE_DOCUMENT &&
            path_get(&whole, p.parts, p.n, &v))
            bson_append_value(&out, "k", 1, &v);
        else
            bson_append_null(&out, "k", 1);
        path_free(&p);
    }
    bson_value_t doc;
    value_of_doc(&out, &doc);
    bson_value_copy(&doc, key);
    bson_destroy(&out);
    bson_value_destroy(&whole);
}

/* One direction per field: a composite key sorts by the first field's
 * direction; mixed directions are compared field by field. */
static int field_dir(const struct op *op, size_t i)
{
    bson_iter_t it;
    int dir = 1;
    bson_iter_init_from_data(&it, op->sort_spec.value.v_doc.data,
                             op->sort_spec.value.v_doc.data_len);
    for (size_t k = 0; bson_iter_next(&it); k++)
        if (k == i)
            sort_direction(bson_iter_value(&it), &dir);
    return dir;
}

static const struct op *sorting_op; /* under srv.lock */

static int compare_fields(const void *x, const void *y)
{
    const struct keyed *a = x, *b = y;
    bson_iter_t i, j;
    bson_iter_init_from_data(&i, a->key.value.v_doc.data,
                             a->key.value.v_doc.data_len);
    bson_iter_init_from_data(&j, b->key.value.v_doc.data,
                             b->key.value.v_doc.data_len);
    for (size_t k = 0; bson_iter_next(&i) && bson_iter_next(&j); k++) {
        int c = value_compare(bson_iter_value(&i), bson_iter_value(&j));
        if (c)
            return c * field_dir(sorting_op, k);
    }
    return a->order < b->order ? -1 : 1;
}

static void sort_array(const struct op *op, struct mnode *arr)
{
    struct keyed *k = calloc(arr->n + 1, sizeof *k);
    for (size_t i = 0; i < arr->n; i++) {
        sort_key(op, arr->kids[i], &k[i].key);
        k[i].node = arr->kids[i];
        k[i].order = i;
        k[i].dir = op->sort_fields ? 1 : op->sort_dir;
    }
    sorting_op = op;
    qsort(k, arr->n, sizeof *k,
          op->sort_fields ? compare_fields : compare_keyed);
    for (size_t i = 0; i < arr->n; i++) {
        arr->kids[i] = k[i].node;
        bson_value_destroy(&k[i].key);
    }
    free(k);
}

enum push_result { PUSH_NOOP, PUSH_APPENDED, PUSH_CHANGED };

static enum push_result push_into(const struct op *op, struct mnode *arr)
{
    int64_t size = (int64_t)arr->n;
    enum push_result r = PUSH_CHANGED;
    size_t at;
    if (!op->nvalues)
        r = PUSH_NOOP;
    else if (size == 0)
        r = PUSH_CHANGED;
    else if (op->position > size)
        r = PUSH_APPENDED;
    if (op->position >= size)
        at = (size_t)size;
    else if (op->position >= 0)
        at = (size_t)op->position;
    else
        at = -op->position < size ? (size_t)(size + op->position) : 0;
    for (size_t i = 0; i < op->nvalues; i++)
        mnode_insert(arr, at + i, "", &op->values[i]);
    if (op->sort) {
        sort_array(op, arr);
        r = PUSH_CHANGED;
    }
    int64_t keep = op->slice_n == INT64_MIN ? INT64_MAX
                   : op->slice_n < 0        ? -op->slice_n
                                            : op->slice_n;
    while ((int64_t)arr->n > keep) {
        mnode_remove(arr, op->slice_n >= 0 ? arr->n - 1 : 0);
        r = PUSH_CHANGED;
    }
    return r;
}

static int apply_push(struct apply *a, const struct target *t)
{
    bool bad;
    struct mnode *arr = array_at(a, t, &bad);
    if (bad) {
        char *text = path_join(t->parts, t->n), id[300];
        mongo_error_set(a->e, 2, "BadValue",
                        "The field '%s' must be an array but is of type %s "
                        "in document %s",
                        text, value_type_name(mnode_type(arr)),
                        id_text(a, id, sizeof id));
        free(text);
        return -1;
    }
    if (!arr) {
        bson_value_t v;
        value_empty(BSON_TYPE_ARRAY, &v);
        struct mnode *scratch = mdoc_new(&(bson_t)BSON_INITIALIZER);
        struct mnode *tmp = mnode_insert(scratch, 0, "v", &v);
        push_into(t->op, tmp);
        bson_value_t built;
        mnode_get(tmp, &built);
        mnode_free(scratch);
        int r = set_path(a, t->parts, t->n, &built);
        bson_value_destroy(&built);
        return r;
    }
    if (!check_id(a, t->parts, t->n))
        return -1;
    size_t before = arr->n;
    enum push_result r = push_into(t->op, arr);
    if (r == PUSH_NOOP)
        return 0;
    if (r == PUSH_CHANGED) {
        log_whole(a, t);
        return 1;
    }
    char **parts = malloc((t->n + 1) * sizeof *parts), index[24];
    memcpy(parts, t->parts, t->n * sizeof *parts);
    for (size_t i = before; i < arr->n; i++) {
        snprintf(index, sizeof index, "%zu", i);
        parts[t->n] = index;
        change_log_add(&a->log, parts, t->n + 1, CHANGE_UPDATE, 0);
    }
    free(parts);
    return 1;
}

/* ---- $addToSet, $pop, $pull, $pullAll ---- */

static bool holds_equal(struct mnode *arr, const bson_value_t *v)
{
    for (size_t i = 0; i < arr->n; i++) {
        bson_value_t e;
        mnode_get(arr->kids[i], &e);
        bool same = value_compare(&e, v) == 0;
        bson_value_destroy(&e);
        if (same)
            return true;
    }
    return false;
}

static int apply_add_to_set(struct apply *a, const struct target *t)
{
    bool bad;
    struct mnode *arr = array_at(a, t, &bad);
    if (bad) {
        mongo_error_set(a->e, 2, "BadValue",
                        "Cannot apply $addToSet to non-array field. Field "
                        "named '%s' has non-array type %s",
                        t->parts[t->n - 1], value_type_name(mnode_type(arr)));
        return -1;
    }
    struct mnode *scratch = NULL;
    if (!arr) { /* built apart, then set as a whole */
        bson_value_t v;
        value_empty(BSON_TYPE_ARRAY, &v);
        scratch = mdoc_new(&(bson_t)BSON_INITIALIZER);
        arr = mnode_insert(scratch, 0, "v", &v);
        mnode_open(arr);
    } else if (!check_id(a, t->parts, t->n)) {
        return -1;
    }
    size_t before = arr->n;
    for (size_t i = 0; i < t->op->nvalues; i++)
        if (!holds_equal(arr, &t->op->values[i]))
            mnode_insert(arr, arr->n, "", &t->op->values[i]);
    if (scratch) {
        bson_value_t built;
        mnode_get(arr, &built);
        mnode_free(scratch);
        int r = set_path(a, t->parts, t->n, &built);
        bson_value_destroy(&built);
        return r;
    }
    if (arr->n == before)
        return 0;
    log_whole(a, t);
    return 1;
}

static int apply_pop(struct apply *a, const struct target *t)
{
    bool bad;
    struct mnode *arr = array_at(a, t, &bad);
    if (bad) {
        char *text = path_join(t->parts, t->n);
        mongo_error_set(a->e, 14, "TypeMismatch",
                        "Path '%s' contains an element of non-array type "
                        "'%s'",
                        text, value_type_name(mnode_type(arr)));
        free(text);
        return -1;
    }
    if (!arr || !arr->n)
        return 0;
    if (!check_id(a, t->parts, t->n))
        return -1;
    mnode_remove(arr, value_as_double(&t->op->arg) > 0 ? arr->n - 1 : 0);
    log_whole(a, t);
    return 1;
}

/* Whether $pull removes an element: a condition document with operators
 * applies to the element, a document without them is a query on element
 * documents, anything else must equal. */
static int pull_matches(const bson_value_t *cond, const bson_value_t *e,
                        struct mongo_error *err)
{
    int ignored;
    if (match_is_operator_doc(cond))
        return match_path(e, NULL, 0, cond, &ignored, err);
    if (cond->value_type == BSON_TYPE_DOCUMENT) {
        if (e->value_type != BSON_TYPE_DOCUMENT)
            return 0;
        bson_t q;
        bson_init_static(&q, cond->value.v_doc.data,
                         cond->value.v_doc.data_len);
        return match_doc(e, &q, &ignored, err);
    }
    return value_compare(cond, e) == 0; /* types first: 1 is not "1" */
}

static int pull_all_matches(const bson_value_t *list, const bson_value_t *e)
{
    bson_iter_t it;
    bson_iter_init_from_data(&it, list->value.v_doc.data,
                             list->value.v_doc.data_len);
    while (bson_iter_next(&it))
        if (value_compare(bson_iter_value(&it), e) == 0)
            return 1;
    return 0;
}

static int apply_pull(struct apply *a, const struct target *t)
{
    bool bad;
    struct mnode *arr = array_at(a, t, &bad);
    if (bad) {
        mongo_error_set(a->e, 2, "BadValue",
                        "Cannot apply %s to a non-array value", t->op->name);
        return -1;
    }
    if (!arr)
        return 0;
    size_t before = arr->n;
    for (size_t i = 0; i < arr->n;) {
        bson_value_t e;
        mnode_get(arr->kids[i], &e);
        int r = t->op->kind == K_PULL ? pull_matches(&t->op->arg, &e, a->e)
                                      : pull_all_matches(&t->op->arg, &e);
        bson_value_destroy(&e);
        if (r < 0)
            return -1;
        if (r)
            mnode_remove(arr, i);
        else
            i++;
    }
    if (arr->n == before)
        return 0;
    if (!check_id(a, t->parts, t->n))
        return -1;
    log_whole(a, t);
    return 1;
}

static int apply_target(struct apply *a, const struct target *t)
{
    switch (t->op->kind) {
    case K_SET:
    case K_SET_ON_INSERT: return set_path(a, t->parts, t->n, &t->op->arg);
    case K_UNSET: return unset_path(a, t->parts, t->n);
    case K_INC:
    case K_MUL: return apply_arithmetic(a, t);
    case K_MIN:
    case K_MAX: return apply_min_max(a, t);
    case K_RENAME: return apply_rename(a, t);
    case K_CURRENT_DATE: return apply_current_date(a, t);
    case K_PUSH: return apply_push(a, t);
    case K_ADD_TO_SET: return apply_add_to_set(a, t);
    case K_POP: return apply_pop(a, t);
    case K_PULL:
    case K_PULL_ALL: return apply_pull(a, t);
    }
    return -1;
}

static void apply_free(struct apply *a)
{
    for (size_t i = 0; i < a->ntargets; i++) {
        for (size_t k = 0; k < a->targets[i].n; k++)
            free(a->targets[i].parts[k]);
        free(a->targets[i].parts);
    }
    free(a->targets);
    change_log_free(&a->log);
    mnode_free(a->root);
}

static bool too_large(const bson_t *doc, struct mongo_error *e)
{
    if (doc->len <= MAX_BSON_SIZE)
        return false;
    mongo_error_set(e, 17419, "Location17419",
                    "Resulting document after update is larger than %d",
                    MAX_BSON_SIZE);
    return true;
}

static enum update_result apply_operators(const struct update *u,
                                          const bson_t *doc, int matched,
                                          bool inserting, bool id_immutable,
                                          bson_t **out, bson_t *description,
                                          struct mongo_error *e)
{
    struct apply a = {0};
    a.u = u;
    a.original = doc;
    a.root = mdoc_new(doc);
    a.matched = matched;
    a.inserting = inserting;
    a.id_immutable = id_immutable;
    a.e = e;
    enum update_result result = UPDATE_FAILED;
    if (make_targets(&a)) {
        result = UPDATE_NOOP;
        for (size_t i = 0; i < a.ntargets; i++) {
            int r = apply_target(&a, &a.targets[i]);
            if (r < 0) {
                result = UPDATE_FAILED;
                break;
            }
            if (r > 0)
                result = UPDATE_CHANGED;
        }
    }
    if (result == UPDATE_CHANGED) {
        *out = mdoc_to_bson(a.root);
        if (too_large(*out, e)) {
            bson_destroy(*out);
            *out = NULL;
            result = UPDATE_FAILED;
        } else {
            change_log_describe(&a.log, a.root, description);
        }
    }
    apply_free(&a);
    return result;
}

/* ---- replacements, pipelines, upserts ---- */

static bool same_id(const bson_t *before, const bson_t *after,
                    struct mongo_error *e)
{
    bson_iter_t x, y;
    char shown[512];
    if (!bson_iter_init_find(&x, before, "_id"))
        return true;
    if (!bson_iter_init_find(&y, after, "_id")) {
        mongo_error_set(e, 66, "ImmutableField",
                        "After applying the update, the (immutable) field "
                        "'_id' was found to have been removed.");
        return false;
    }
    if (value_compare(bson_iter_value(&x), bson_iter_value(&y)) == 0)
        return true;
    mongo_error_set(e, 66, "ImmutableField",
                    "After applying the update, the (immutable) field '_id' "
                    "was found to have been altered to %s",
                    element_render("_id", bson_iter_value(&y), shown,
                                   sizeof shown));
    return false;
}

/* The document with its _id first (as MongoDB stores inserts). */
static bson_t *id_first(const bson_t *doc)
{
    bson_iter_t it;
    bson_t *out = bson_new();
    if (bson_iter_init_find(&it, doc, "_id")) {
        bson_append_iter(out, "_id", 3, &it);
    } else {
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        BSON_APPEND_OID(out, "_id", &oid);
    }
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "_id") != 0)
            bson_append_iter(out, NULL, 0, &it);
    return out;
}

static enum update_result apply_replacement(const struct update *u,
                                            const bson_t *doc, bson_t **out,
                                            struct mongo_error *e)
{
    bson_iter_t it;
    bson_t *next = bson_new();
    if (bson_iter_init_find(&it, doc, "_id"))
        bson_append_iter(next, "_id", 3, &it);
    bson_iter_init(&it, u->doc);
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "_id") != 0)
            bson_append_iter(next, NULL, 0, &it);
    if (!same_id(doc, u->doc, e) && bson_has_field(u->doc, "_id")) {
        bson_destroy(next);
        return UPDATE_FAILED;
    }
    if (!bson_has_field(doc, "_id") &&
        bson_iter_init_find(&it, u->doc, "_id")) {
        bson_t *with = id_first(u->doc);
        bson_destroy(next);
        next = with;
    }
    if (too_large(next, e)) {
        bson_destroy(next);
        return UPDATE_FAILED;
    }
    if (bson_equal(next, doc)) {
        bson_destroy(next);
        return UPDATE_NOOP;
    }
    *out = next;
    return UPDATE_REPLACED;
}

static enum update_result apply_pipeline(const struct update *u,
                                         const bson_t *doc, bson_t **out,
                                         bson_t *description,
                                         struct mongo_error *e)
{
    bson_t *next = pipeline_run(u->doc, doc, e);
    if (!next)
        return UPDATE_FAILED;
    if (!same_id(doc, next, e) || too_large(next, e)) {
        bson_destroy(next);
        return UPDATE_FAILED;
    }
    if (bson_equal(next, doc)) {
        bson_destroy(next);
        return UPDATE_NOOP;
    }
    *out = next;
    /* MongoDB logs a pipeline's change as a diff, unless the diff would
     * be larger than the new document: then as a replacement */
    struct change_log log = {0};
    bson_value_t before, after;
    value_of_doc(doc, &before);
    value_of_doc(next, &after);
    bool replace = !change_log_diff(&log, &before, &after);
    if (!replace) {
        struct mnode *root = mdoc_new(next);
        change_log_describe(&log, root, description);
        mnode_free(root);
    }
    change_log_free(&log);
    return replace ? UPDATE_REPLACED : UPDATE_CHANGED;
}

enum update_result update_apply(const struct update *u, const bson_t *doc,
                                int matched, bool inserting, bson_t **out,
                                bson_t *description, struct mongo_error *e)
{
    *out = NULL;
    switch (u->style) {
    case OPERATORS:
        return apply_operators(u, doc, matched, inserting, true, out,
                               description, e);
    case REPLACEMENT: return apply_replacement(u, doc, out, e);
    case PIPELINE: return apply_pipeline(u, doc, out, description, e);
    }
    return UPDATE_FAILED;
}

/* The filter's equality conditions ({a: 1}, {"b.c": {$eq: 2}}, inside
 * $and) as a document. Two on one path, or on a path and one inside it,
 * are NotSingleValueField (54). `seen` lists the paths taken. */
struct seen {
    char **paths;
    size_t n;
};

static bool path_inside(const char *outer, const char *inner)
{
    size_t len = strlen(outer);
    return !strncmp(outer, inner, len) && inner[len] == '.';
}

static bool note_path(struct seen *seen, const char *key,
                      struct mongo_error *e)
{
    for (size_t i = 0; i < seen->n; i++) {
        const char *old = seen->paths[i];
        if (!strcmp(old, key)) {
            mongo_error_set(e, 54, "NotSingleValueField",
                            "cannot infer query fields to set, path '%s' is "
                            "matched twice",
                            key);
            return false;
        }
        if (path_inside(old, key) || path_inside(key, old)) {
            mongo_error_set(e, 54, "NotSingleValueField",
                            "cannot infer query fields to set, both paths "
                            "'%s' and '%s' are matched",
                            old, key);
            return false;
        }
    }
    seen->paths = realloc(seen->paths, (seen->n + 1) * sizeof *seen->paths);
    seen->paths[seen->n++] = strdup(key);
    return true;
}

static bool add_equalities(struct mnode *root, const bson_t *query,
                           bool id_only, struct seen *seen,
                           struct mongo_error *e)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, query))
        return true;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        if (!strcmp(key, "$and") && v->value_type == BSON_TYPE_ARRAY) {
            bson_iter_t list;
            bson_iter_recurse(&it, &list);
            while (bson_iter_next(&list)) {
                bson_t sub;
                uint32_t len;
                const uint8_t *data;
                if (!BSON_ITER_HOLDS_DOCUMENT(&list))
                    continue;
                bson_iter_document(&list, &len, &data);
                bson_init_static(&sub, data, len);
                if (!add_equalities(root, &sub, id_only, seen, e))
                    return false;
            }
            continue;
        }
        if (key[0] == '$' || (id_only && strcmp(key, "_id") != 0))
            continue;
        bson_value_t value = *v;
        if (match_is_operator_doc(v)) {
            bson_iter_t ops;
            bson_iter_recurse(&it, &ops);
            if (!bson_iter_find(&ops, "$eq"))
                continue;
            value = *bson_iter_value(&ops);
        }
        struct path p;
        struct mnode *at;
        if (!note_path(seen, key, e) || !path_parse(key, &p, e))
            return false;
        size_t found = mdoc_find(root, p.parts, p.n, &at);
        bool good = mdoc_create(at, found ? p.parts[found - 1] : "",
                                p.parts + found, p.n - found, &value, e);
        path_free(&p);
        if (!good)
            return false;
    }
    return true;
}

bson_t *update_upsert(const struct update *u, const bson_t *query,
                      struct mongo_error *e)
{
    bson_t empty = BSON_INITIALIZER;
    struct mnode *root = mdoc_new(&empty);
    struct seen seen = {0};
    bool good = add_equalities(root, query, u->style == REPLACEMENT, &seen, e);
    for (size_t i = 0; i < seen.n; i++)
        free(seen.paths[i]);
    free(seen.paths);
    if (!good) {
        mnode_free(root);
        return NULL;
    }
    bson_t *base = mdoc_to_bson(root), *next = NULL;
    mnode_free(root);
    bool has_id = bson_has_field(base, "_id");
    bson_t description = BSON_INITIALIZER;
    enum update_result r;
    if (u->style == OPERATORS)
        r = apply_operators(u, base, -1, true, has_id, &next, &description, e);
    else
        r = update_apply(u, base, -1, true, &next, &description, e);
    bson_destroy(&description);
    bson_t *out = NULL;
    if (r == UPDATE_NOOP)
        out = id_first(base);
    else if (r != UPDATE_FAILED)
        out = id_first(next);
    if (next)
        bson_destroy(next);
    bson_destroy(base);
    return out;
}
