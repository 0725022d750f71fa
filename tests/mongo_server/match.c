/* match.c: MongoDB's query language (filters): parsed once into a tree
 * of expressions, then evaluated against documents, with MongoDB's
 * semantics: paths read through arrays (path.c), comparisons only within
 * one canonical type (so {$gt: 5} never matches a string), null matching
 * a missing field, $regex in MongoDB's PCRE dialect through Debian's
 * libpcre2, and the index of the array element a match went through (the
 * positional $ operator's). Parse errors carry MongoDB's codes and
 * messages; valid operators this server does not implement are refused
 * with NotImplemented (238), never guessed at. The expression kinds
 * mirror MongoDB's MatchExpression classes (src/mongo/db/matcher). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

enum kind {
    M_AND,
    M_OR,
    M_NOR,
    M_NOT,
    M_FALSE,
    M_EQ,
    M_LT,
    M_LTE,
    M_GT,
    M_GTE,
    M_IN,
    M_EXISTS,
    M_TYPE,
    M_REGEX,
    M_MOD,
    M_SIZE,        /* these three look at an array at the path's end */
    M_ELEM_OBJECT, /* {$elemMatch: {field: ...}}: elements as documents */
    M_ELEM_VALUE,  /* {$elemMatch: {$gt: ...}}: elements as values */
};

struct regex {
    char *pattern, *flags;
    pcre2_code *code;
    pcre2_match_data *data;
};

/* One expression; a filter is the tree under an M_AND. */
struct match {
    enum kind kind;
    struct path path;   /* n 0: logical, or a value under $elemMatch */
    bson_value_t value; /* comparisons: the operand (owned) */
    bson_value_t *list; /* $in: its values (owned) */
    size_t nlist;
    bool list_null;         /* $in holds null: missing and undefined match */
    struct regex **regexes; /* M_REGEX: one; $in: those of its list */
    size_t nregexes;
    bool all_numbers; /* $type: "number" */
    bool types[256];  /* $type: by BSON type byte */
    int64_t a, b;     /* $size: a; $mod: divisor a, remainder b */
    struct match **kids;
    size_t nkids;
};

static const char *const pathless[] = {
    "$and",        "$or",   "$nor",        "$comment",    "$expr",
    "$where",      "$text", "$jsonSchema", "$alwaysTrue", "$alwaysFalse",
    "$sampleRate", "$ref",  "$id",         "$db"};

/* Operators MongoDB knows on a field that this server does not run. */
static const char *const unimplemented[] = {"$near",         "$nearSphere",
                                            "$geoWithin",    "$geoIntersects",
                                            "$within",       "$maxDistance",
                                            "$minDistance",  "$bitsAllSet",
                                            "$bitsAllClear", "$bitsAnySet",
                                            "$bitsAnyClear"};

static const char *const field_operators[] = {
    "$eq",   "$ne",    "$gt",      "$gte",       "$lt",     "$lte",
    "$in",   "$nin",   "$all",     "$elemMatch", "$exists", "$type",
    "$size", "$regex", "$options", "$mod",       "$not"};

static bool listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i]))
            return true;
    return false;
}

#define LISTED(name, list) listed(name, list, sizeof list / sizeof *list)

static bool known_operator(const char *name)
{
    return LISTED(name, field_operators) || LISTED(name, unimplemented);
}

/* ---- building ---- */

static struct match *node_new(enum kind kind, const char *path)
{
    struct match *m = calloc(1, sizeof *m);
    m->kind = kind;
    if (path)
        path_split(path, &m->path);
    return m;
}

static void node_add(struct match *parent, struct match *kid)
{
    parent->kids =
        realloc(parent->kids, (parent->nkids + 1) * sizeof *parent->kids);
    parent->kids[parent->nkids++] = kid;
}

static void regex_free(struct regex *r)
{
    if (!r)
        return;
    pcre2_match_data_free(r->data);
    pcre2_code_free(r->code);
    free(r->pattern);
    free(r->flags);
    free(r);
}

void match_free(struct match *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nkids; i++)
        match_free(m->kids[i]);
    for (size_t i = 0; i < m->nlist; i++)
        bson_value_destroy(&m->list[i]);
    for (size_t i = 0; i < m->nregexes; i++)
        regex_free(m->regexes[i]);
    if (m->value.value_type)
        bson_value_destroy(&m->value);
    free(m->kids);
    free(m->list);
    free(m->regexes);
    path_free(&m->path);
    free(m);
}

static bool bad_value(struct mongo_error *e, const char *msg)
{
    mongo_error_set(e, 2, "BadValue", "%s", msg);
    return false;
}

/* A regular expression compiled as MongoDB compiles it: UTF-8, with the
 * options i, m, s and x (u is accepted: UTF-8 is always on). */
static struct regex *regex_new(const char *pattern, size_t len,
                               const char *flags, struct mongo_error *e)
{
    uint32_t options = PCRE2_UTF;
    if (memchr(pattern, '\0', len)) {
        bad_value(e, "Regular expression cannot contain an embedded null "
                     "byte");
        return NULL;
    }
    for (const char *f = flags; *f; f++) {
        switch (*f) {
        case 'i': options |= PCRE2_CASELESS; break;
        case 'm': options |= PCRE2_MULTILINE; break;
        case 's': options |= PCRE2_DOTALL; break;
        case 'x': options |= PCRE2_EXTENDED; break;
        case 'u': break; /* UTF-8 always */
        default:
            mongo_error_set(e, 51108, "Location51108",
                            "$regex invalid flag in regex options: %c", *f);
            return NULL;
        }
    }
    int code;
    PCRE2_SIZE at;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &at, NULL);
    if (!re) {
        PCRE2_UCHAR text[256];
        pcre2_get_error_message(code, text, sizeof text);
        mongo_error_set(e, 51091, "Location51091",
                        "Regular expression is invalid: %s", (char *)text);
        return NULL;
    }
    struct regex *r = calloc(1, sizeof *r);
    r->pattern = strndup(pattern, len);
    r->flags = strdup(flags);
    r->code = re;
    r->data = pcre2_match_data_create_from_pattern(re, NULL);
    return r;
}

static struct match *regex_node(const char *path, const char *pattern,
                                size_t len, const char *flags,
                                struct mongo_error *e)
{
    struct regex *r = regex_new(pattern, len, flags, e);
    if (!r)
        return NULL;
    struct match *m = node_new(M_REGEX, path);
    m->regexes = malloc(sizeof *m->regexes);
    m->regexes[m->nregexes++] = r;
    return m;
}

static bool is_expression_doc(const bson_value_t *v, bool incomplete_dbref)
{
    bson_iter_t it;
    if (v->value_type != BSON_TYPE_DOCUMENT ||
        !bson_iter_init_from_data(&it, v->value.v_doc.data,
                                  v->value.v_doc.data_len) ||
        !bson_iter_next(&it) || bson_iter_key(&it)[0] != '$')
        return false;
    bool ref = false, id = false, db = false;
    do {
        ref = ref || !strcmp(bson_iter_key(&it), "$ref");
        id = id || !strcmp(bson_iter_key(&it), "$id");
        db = db || !strcmp(bson_iter_key(&it), "$db");
    } while (bson_iter_next(&it));
    return incomplete_dbref ? !(ref || id || db) : !(ref && id);
}

bool match_is_operator_doc(const bson_value_t *v)
{
    return is_expression_doc(v, false);
}

static void iter_of(const bson_value_t *v, bson_iter_t *it)
{
    bson_iter_init_from_data(it, v->value.v_doc.data, v->value.v_doc.data_len);
}

static bool parse_filter(const bson_value_t *filter, struct match *and,
                         struct mongo_error *e);
static bool parse_sub(const char *path, const bson_value_t *ops,
                      struct match *and, struct mongo_error *e);

static struct match *comparison(enum kind kind, const char *path,
                                const bson_value_t *v, struct mongo_error *e)
{
    if (v->value_type == BSON_TYPE_UNDEFINED) {
        bad_value(e, "cannot compare to undefined");
        return NULL;
    }
    struct match *m = node_new(kind, path);
    bson_value_copy(v, &m->value);
    return m;
}

static struct match *negation(struct match *kid)
{
    if (!kid)
        return NULL;
    struct match *m = node_new(M_NOT, NULL);
    node_add(m, kid);
    return m;
}

static struct match *parse_in(const char *path, const bson_value_t *v,
                              struct mongo_error *e)
{
    bson_iter_t it;
    struct match *m = node_new(M_IN, path);
    iter_of(v, &it);
    while (bson_iter_next(&it)) {
        const bson_value_t *x = bson_iter_value(&it);
        if (is_expression_doc(x, false)) {
            bad_value(e, "cannot nest $ under $in");
        } else if (x->value_type == BSON_TYPE_UNDEFINED) {
            bad_value(e, "InMatchExpression equality cannot be undefined");
        } else if (x->value_type == BSON_TYPE_REGEX) {
            struct regex *r = regex_new(
                x->value.v_regex.regex, strlen(x->value.v_regex.regex),
                x->value.v_regex.options ? x->value.v_regex.options : "", e);
            if (r) {
                m->regexes = realloc(m->regexes,
                                     (m->nregexes + 1) * sizeof *m->regexes);
                m->regexes[m->nregexes++] = r;
                continue;
            }
        } else {
            m->list_null = m->list_null || x->value_type == BSON_TYPE_NULL;
            m->list = realloc(m->list, (m->nlist + 1) * sizeof *m->list);
            bson_value_copy(x, &m->list[m->nlist++]);
            continue;
        }
        match_free(m);
        return NULL;
    }
    return m;
}

/* An integer operand as MongoDB reads one: a whole number of any numeric
 * type. */
static bool whole_number(const bson_value_t *v, int64_t *out)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32: *out = v->value.v_int32; return true;
    case BSON_TYPE_INT64: *out = v->value.v_int64; return true;
    case BSON_TYPE_DOUBLE:
        if (!isfinite(v->value.v_double) ||
            v->value.v_double != trunc(v->value.v_double) ||
            fabs(v->value.v_double) >= 9.2e18)
            return false;
        *out = (int64_t)v->value.v_double;
        return true;
    default: return false;
    }
}

static struct match *parse_size(const char *path, const bson_value_t *v,
                                struct mongo_error *e)
{
    int64_t n = 0;
    if (v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64) {
        whole_number(v, &n);
        if (n < INT32_MIN || n > INT32_MAX) {
            bad_value(e, "$size must be representable as a 32-bit integer");
            return NULL;
        }
    } else if (v->value_type == BSON_TYPE_DOUBLE) {
        if (!whole_number(v, &n) || n < INT32_MIN || n > INT32_MAX) {
            bad_value(e, "$size must be a whole number");
            return NULL;
        }
    } else {
        bad_value(e, "$size needs a number");
        return NULL;
    }
    if (n < 0) {
        bad_value(e, "$size may not be negative");
        return NULL;
    }
    struct match *m = node_new(M_SIZE, path);
    m->a = n;
    return m;
}

static bool truth(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_BOOL: return v->value.v_bool;
    case BSON_TYPE_INT32: return v->value.v_int32 != 0;
    case BSON_TYPE_INT64: return v->value.v_int64 != 0;
    case BSON_TYPE_DOUBLE: return v->value.v_double != 0;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: return false;
    default: return true;
    }
}

static const struct {
    const char *alias;
    int code;
} type_aliases[] = {
    {"double", 1},      {"string", 2},     {"object", 3},
    {"array", 4},       {"binData", 5},    {"undefined", 6},
    {"objectId", 7},    {"bool", 8},       {"date", 9},
    {"null", 10},       {"regex", 11},     {"dbPointer", 12},
    {"javascript", 13}, {"symbol", 14},    {"javascriptWithScope", 15},
    {"int", 16},        {"timestamp", 17}, {"long", 18},
    {"decimal", 19},    {"minKey", -1},    {"maxKey", 127},
};

static bool add_type(struct match *m, const bson_value_t *v,
                     struct mongo_error *e)
{
    if (v->value_type == BSON_TYPE_UTF8) {
        const char *s = v->value.v_utf8.str;
        if (!strcmp(s, "number")) {
            m->all_numbers = true;
            return true;
        }
        for (size_t i = 0; i < sizeof type_aliases / sizeof *type_aliases; i++)
            if (!strcmp(s, type_aliases[i].alias)) {
                m->types[(uint8_t)type_aliases[i].code] = true;
                return true;
            }
        if (!strcmp(s, "missing"))
            return bad_value(e, "'missing' is not a legal type name. To query "
                                "for non-existence of a field, use "
                                "{$exists:false}.");
        mongo_error_set(e, 2, "BadValue", "Unknown type name alias: %s", s);
        return false;
    }
    int64_t code;
    if (v->value_type != BSON_TYPE_INT32 && v->value_type != BSON_TYPE_INT64 &&
        v->value_type != BSON_TYPE_DOUBLE &&
        v->value_type != BSON_TYPE_DECIMAL128) {
        mongo_error_set(e, 14, "TypeMismatch",
                        "type must be represented as a number or a string");
        return false;
    }
    bool whole = whole_number(v, &code);
    double shown =
        v->value_type == BSON_TYPE_DOUBLE ? v->value.v_double : (double)code;
    if (whole && code == 0) {
        bad_value(e, "Invalid numerical type code: 0. Instead use "
                     "{$exists:false}.");
        return false;
    }
    if (!whole || !((code >= 1 && code <= 19) || code == -1 || code == 127)) {
        mongo_error_set(e, 2, "BadValue", "Invalid numerical type code: %g",
                        shown);
        return false;
    }
    m->types[(uint8_t)code] = true;
    return true;
}

static struct match *parse_type(const char *path, const bson_value_t *v,
                                struct mongo_error *e)
{
    struct match *m = node_new(M_TYPE, path);
    bool okay = true, any = false;
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_iter_t it;
        iter_of(v, &it);
        while (okay && bson_iter_next(&it)) {
            okay = add_type(m, bson_iter_value(&it), e);
            any = true;
        }
        if (okay && !any) {
            mongo_error_set(e, 9, "FailedToParse",
                            "%s must match at least one type", path);
            okay = false;
        }
    } else {
        okay = add_type(m, v, e);
    }
    if (!okay) {
        match_free(m);
        return NULL;
    }
    return m;
}

static struct match *parse_mod(const char *path, const bson_value_t *v,
                               struct mongo_error *e)
{
    bson_iter_t it;
    bson_value_t parts[3];
    int n = 0;
    if (v->value_type != BSON_TYPE_ARRAY) {
        bad_value(e, "malformed mod, needs to be an array");
        return NULL;
    }
    iter_of(v, &it);
    while (n < 3 && bson_iter_next(&it))
        parts[n++] = *bson_iter_value(&it);
    if (n < 2) {
        bad_value(e, "malformed mod, not enough elements");
        return NULL;
    }
    if (n > 2) {
        bad_value(e, "malformed mod, too many elements");
        return NULL;
    }
    double d[2];
    for (int i = 0; i < 2; i++) {
        if (!value_is_number(&parts[i])) {
            bad_value(e, i ? "malformed mod, remainder not a number"
                           : "malformed mod, divisor not a number");
            return NULL;
        }
        d[i] = value_as_double(&parts[i]);
        if (!isfinite(d[i]) || fabs(d[i]) >= 9.2e18) {
            mongo_error_set(e, 2, "BadValue",
                            "malformed mod, %s value is invalid :: caused by "
                            ":: Unable to coerce NaN/Inf to integral type",
                            i ? "remainder" : "divisor");
            return NULL;
        }
    }
    int64_t divisor = parts[0].value_type == BSON_TYPE_INT64
                          ? parts[0].value.v_int64
                          : (int64_t)d[0];
    if (divisor == 0) {
        bad_value(e, "divisor cannot be 0");
        return NULL;
    }
    struct match *m = node_new(M_MOD, path);
    m->a = divisor;
    m->b = parts[1].value_type == BSON_TYPE_INT64 ? parts[1].value.v_int64
                                                  : (int64_t)d[1];
    return m;
}

/* {$regex: ..., $options: ...}: both read from the operator document. */
static struct match *parse_regex(const char *path, const bson_value_t *ops,
                                 struct mongo_error *e)
{
    bson_iter_t it;
    const char *pattern = "", *options = "";
    size_t len = 0;
    iter_of(ops, &it);
    while (bson_iter_next(&it)) {
        const bson_value_t *v = bson_iter_value(&it);
        if (!strcmp(bson_iter_key(&it), "$regex")) {
            if (v->value_type == BSON_TYPE_UTF8) {
                pattern = v->value.v_utf8.str;
                len = v->value.v_utf8.len;
            } else if (v->value_type == BSON_TYPE_REGEX) {
                pattern = v->value.v_regex.regex;
                len = strlen(pattern);
                const char *f = v->value.v_regex.options;
                if (f && *f) {
                    if (*options) {
                        mongo_error_set(e, 51074, "Location51074",
                                        "options set in both $regex and "
                                        "$options");
                        return NULL;
                    }
                    options = f;
                }
            } else {
                bad_value(e, "$regex has to be a string");
                return NULL;
            }
        } else if (!strcmp(bson_iter_key(&it), "$options")) {
            if (v->value_type != BSON_TYPE_UTF8) {
                bad_value(e, "$options has to be a string");
                return NULL;
            }
            if (*options) {
                mongo_error_set(e, 51075, "Location51075",
                                "options set in both $regex and $options");
                return NULL;
            }
            options = v->value.v_utf8.str;
        }
    }
    return regex_node(path, pattern, len, options, e);
}

static struct match *parse_elem_match(const char *path, const bson_value_t *v,
                                      struct mongo_error *e)
{
    if (v->value_type != BSON_TYPE_DOCUMENT) {
        bad_value(e, "$elemMatch needs an Object");
        return NULL;
    }
    bson_iter_t it;
    iter_of(v, &it);
    bool value_form = is_expression_doc(v, true) && bson_iter_next(&it) &&
                      !LISTED(bson_iter_key(&it), pathless);
    struct match *m =
        node_new(value_form ? M_ELEM_VALUE : M_ELEM_OBJECT, path);
    if (value_form) {
        if (parse_sub("", v, m, e))
            return m;
    } else {
        struct match *sub = node_new(M_AND, NULL);
        node_add(m, sub);
        if (parse_filter(v, sub, e))
            return m;
    }
    match_free(m);
    return NULL;
}

static struct match *parse_all(const char *path, const bson_value_t *v,
                               struct mongo_error *e)
{
    bson_iter_t it, inner;
    if (v->value_type != BSON_TYPE_ARRAY) {
        bad_value(e, "$all needs an array");
        return NULL;
    }
    struct match *and = node_new(M_AND, NULL);
    iter_of(v, &it);
    bool elem_matches = false, first = true;
    while (bson_iter_next(&it)) {
        const bson_value_t *x = bson_iter_value(&it);
        bool is_elem_match = x->value_type == BSON_TYPE_DOCUMENT &&
                             (iter_of(x, &inner), bson_iter_next(&inner)) &&
                             !strcmp(bson_iter_key(&inner), "$elemMatch");
        if (first)
            elem_matches = is_elem_match;
        first = false;
        struct match *kid = NULL;
        if (elem_matches != is_elem_match && elem_matches) {
            bad_value(e, "$all/$elemMatch has to be consistent");
        } else if (elem_matches) {
            kid = parse_elem_match(path, bson_iter_value(&inner), e);
        } else if (x->value_type == BSON_TYPE_REGEX) {
            kid = regex_node(
                path, x->value.v_regex.regex, strlen(x->value.v_regex.regex),
                x->value.v_regex.options ? x->value.v_regex.options : "", e);
        } else if (x->value_type == BSON_TYPE_DOCUMENT &&
                   (iter_of(x, &inner), bson_iter_next(&inner)) &&
                   known_operator(bson_iter_key(&inner))) {
            bad_value(e, "no $ expressions in $all");
        } else {
            kid = comparison(M_EQ, path, x, e);
        }
        if (!kid) {
            match_free(and);
            return NULL;
        }
        node_add(and, kid);
    }
    if (!and->nkids)
        and->kind = M_FALSE;
    return and;
}

static struct match *parse_not(const char *path, const bson_value_t *v,
                               struct mongo_error *e)
{
    if (v->value_type == BSON_TYPE_REGEX)
        return negation(regex_node(
            path, v->value.v_regex.regex, strlen(v->value.v_regex.regex),
            v->value.v_regex.options ? v->value.v_regex.options : "", e));
    if (v->value_type != BSON_TYPE_DOCUMENT) {
        bad_value(e, "$not needs a regex or a document");
        return NULL;
    }
    if (v->value.v_doc.data_len <= 5) {
        bad_value(e, "$not cannot be empty");
        return NULL;
    }
    struct match *and = node_new(M_AND, NULL);
    if (!parse_sub(path, v, and, e)) {
        match_free(and);
        return NULL;
    }
    return negation(and);
}

/* One operator of {path: {$op: v, ...}}; `ops` is the whole document
 * ($regex and $options are read together). NULL with no error: nothing
 * to add. */
static struct match *parse_operator(const char *path, const char *op,
                                    const bson_value_t *v,
                                    const bson_value_t *ops,
                                    struct mongo_error *e)
{
    static const struct {
        const char *name;
        enum kind kind;
    } comparisons[] = {{"$lt", M_LT},
                       {"$lte", M_LTE},
                       {"$gt", M_GT},
                       {"$gte", M_GTE}};
    bson_iter_t it;
    if (!strcmp(op, "$eq"))
        return comparison(M_EQ, path, v, e);
    for (size_t i = 0; i < sizeof comparisons / sizeof *comparisons; i++)
        if (!strcmp(op, comparisons[i].name)) {
            if (v->value_type == BSON_TYPE_REGEX) {
                mongo_error_set(e, 2, "BadValue",
                                "Can't have RegEx as arg to predicate over "
                                "field '%s'.",
                                path);
                return NULL;
            }
            return comparison(comparisons[i].kind, path, v, e);
        }
    if (!strcmp(op, "$ne")) {
        if (v->value_type == BSON_TYPE_REGEX) {
            bad_value(e, "Can't have regex as arg to $ne.");
            return NULL;
        }
        return negation(comparison(M_EQ, path, v, e));
    }
    if (!strcmp(op, "$in") || !strcmp(op, "$nin")) {
        if (v->value_type != BSON_TYPE_ARRAY) {
            mongo_error_set(e, 2, "BadValue", "%s needs an array", op);
            return NULL;
        }
        struct match *in = parse_in(path, v, e);
        return !strcmp(op, "$in") ? in : negation(in);
    }
    if (!strcmp(op, "$exists")) {
        struct match *m = node_new(M_EXISTS, path);
        return truth(v) ? m : negation(m);
    }
    if (!strcmp(op, "$size"))
        return parse_size(path, v, e);
    if (!strcmp(op, "$type"))
        return parse_type(path, v, e);
    if (!strcmp(op, "$mod"))
        return parse_mod(path, v, e);
    if (!strcmp(op, "$regex"))
        return parse_regex(path, ops, e);
    if (!strcmp(op, "$options")) {
        iter_of(ops, &it);
        if (!bson_iter_find(&it, "$regex"))
            bad_value(e, "$options needs a $regex");
        return NULL;
    }
    if (!strcmp(op, "$elemMatch"))
        return parse_elem_match(path, v, e);
    if (!strcmp(op, "$all"))
        return parse_all(path, v, e);
    if (!strcmp(op, "$not"))
        return parse_not(path, v, e);
    if (LISTED(op, unimplemented))
        mongo_error_set(e, 238, "NotImplemented",
                        "the sluice test server does not implement %s (see "
                        "its README)",
                        op);
    else if (!strcmp(op, "$where"))
        bad_value(e, "$where cannot be applied to a field");
    else
        mongo_error_set(e, 2, "BadValue", "unknown operator: %s", op);
    return NULL;
}

/* {path: {$gt: 1, $lt: 5}}: each operator a child of `and`. */
static bool parse_sub(const char *path, const bson_value_t *ops,
                      struct match *and, struct mongo_error *e)
{
    bson_iter_t it;
    iter_of(ops, &it);
    while (bson_iter_next(&it)) {
        e->code = 0;
        struct match *m = parse_operator(path, bson_iter_key(&it),
                                         bson_iter_value(&it), ops, e);
        if (m)
            node_add(and, m);
        else if (e->code)
            return false;
    }
    return true;
}

static bool parse_tree(const char *op, const bson_value_t *v,
                       struct match *and, struct mongo_error *e)
{
    enum kind kind = !strcmp(op, "$and")  ? M_AND
                     : !strcmp(op, "$or") ? M_OR
                                          : M_NOR;
    bson_iter_t it;
    if (v->value_type != BSON_TYPE_ARRAY) {
        mongo_error_set(e, 2, "BadValue", "%s must be an array", op);
        return false;
    }
    iter_of(v, &it);
    if (!bson_iter_next(&it))
        return bad_value(e, "$and/$or/$nor must be a nonempty array");
    struct match *tree = node_new(kind, NULL);
    node_add(and, tree);
    do {
        const bson_value_t *x = bson_iter_value(&it);
        if (x->value_type != BSON_TYPE_DOCUMENT)
            return bad_value(e, "$or/$and/$nor entries need to be full "
                                "objects");
        struct match *sub = node_new(M_AND, NULL);
        node_add(tree, sub);
        if (!parse_filter(x, sub, e))
            return false;
    } while (bson_iter_next(&it));
    return true;
}

static bool parse_pathless(const char *op, const bson_value_t *v,
                           struct match *and, struct mongo_error *e)
{
    if (!strcmp(op, "$and") || !strcmp(op, "$or") || !strcmp(op, "$nor"))
        return parse_tree(op, v, and, e);
    if (!strcmp(op, "$comment"))
        return true;
    if (!strcmp(op, "$ref") || !strcmp(op, "$id") || !strcmp(op, "$db")) {
        struct match *m = comparison(M_EQ, op, v, e);
        if (m)
            node_add(and, m);
        return m != NULL;
    }
    if (!strcmp(op, "$alwaysTrue") || !strcmp(op, "$alwaysFalse")) {
        int64_t one;
        if (!whole_number(v, &one) || one != 1) {
            mongo_error_set(e, 9, "FailedToParse",
                            "%s must be an integer value of 1", op);
            return false;
        }
        if (!strcmp(op, "$alwaysFalse"))
            node_add(and, node_new(M_FALSE, NULL));
        return true;
    }
    if (LISTED(op, pathless)) {
        mongo_error_set(e, 238, "NotImplemented",
                        "the sluice test server does not implement %s (see "
                        "its README)",
                        op);
        return false;
    }
    if (!strcmp(op, "$not"))
        return bad_value(e, "unknown top level operator: $not. If you are "
                            "trying to negate an entire expression, use "
                            "$nor.");
    mongo_error_set(e, 2, "BadValue",
                    "unknown top level operator: %s. If you have a field "
                    "name that starts with a '$' symbol, consider using "
                    "$getField or $setField.",
                    op);
    return false;
}

/* A filter document: each of its fields a child of `and`. */
static bool parse_filter(const bson_value_t *filter, struct match *and,
                         struct mongo_error *e)
{
    bson_iter_t it;
    iter_of(filter, &it);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        struct match *m = NULL;
        if (key[0] == '$') {
            if (!parse_pathless(key, v, and, e))
                return false;
            continue;
        }
        if (is_expression_doc(v, false)) {
            if (!parse_sub(key, v, and, e))
                return false;
            continue;
        }
        if (v->value_type == BSON_TYPE_REGEX)
            m = regex_node(key, v->value.v_regex.regex,
                           strlen(v->value.v_regex.regex),
                           v->value.v_regex.options ? v->value.v_regex.options
                                                    : "",
                           e);
        else
            m = comparison(M_EQ, key, v, e);
        if (!m)
            return false;
        node_add(and, m);
    }
    return true;
}

struct match *match_parse(const bson_t *filter, struct mongo_error *e)
{
    struct match *and = node_new(M_AND, NULL);
    if (filter) {
        bson_value_t v;
        value_of_doc(filter, &v);
        if (!parse_filter(&v, and, e)) {
            match_free(and);
            return NULL;
        }
    }
    return and;
}

/* ---- evaluating ---- */

/* MongoDB's canonical types: values compare only within one. A missing
 * value is of undefined's. */
static int canonical(const bson_value_t *v)
{
    if (!v)
        return 0;
    switch (v->value_type) {
    case BSON_TYPE_MINKEY: return -1;
    case BSON_TYPE_UNDEFINED: return 0;
    case BSON_TYPE_NULL: return 5;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return 10;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return 15;
    case BSON_TYPE_DOCUMENT: return 20;
    case BSON_TYPE_ARRAY: return 25;
    case BSON_TYPE_BINARY: return 30;
    case BSON_TYPE_OID: return 35;
    case BSON_TYPE_BOOL: return 40;
    case BSON_TYPE_DATE_TIME: return 45;
    case BSON_TYPE_TIMESTAMP: return 47;
    case BSON_TYPE_REGEX: return 50;
    case BSON_TYPE_DBPOINTER: return 55;
    case BSON_TYPE_CODE: return 60;
    case BSON_TYPE_CODEWSCOPE: return 65;
    default: return 127; /* MaxKey */
    }
}

static bool is_nan(const bson_value_t *v)
{
    return value_is_number(v) && isnan(value_as_double(v));
}

/* ComparisonMatchExpression::matchesSingleElement. */
static bool compare(enum kind kind, const bson_value_t *v,
                    const bson_value_t *rhs)
{
    int cv = canonical(v), cr = canonical(rhs);
    if (cv != cr) {
        if (cv + cr == 5) /* null and missing or undefined */
            return kind == M_EQ || kind == M_LTE || kind == M_GTE;
        if (rhs->value_type == BSON_TYPE_MAXKEY)
            return kind == M_LT || kind == M_LTE;
        if (rhs->value_type == BSON_TYPE_MINKEY)
            return kind == M_GT || kind == M_GTE;
        return false;
    }
    if (!v)
        return false;
    if (kind != M_EQ && (is_nan(v) || is_nan(rhs))) {
        bool both = is_nan(v) && is_nan(rhs);
        return (kind == M_LTE || kind == M_GTE) && both;
    }
    int c = value_compare(v, rhs);
    switch (kind) {
    case M_LT: return c < 0;
    case M_LTE: return c <= 0;
    case M_GT: return c > 0;
    case M_GTE: return c >= 0;
    default: return c == 0;
    }
}

static bool regex_matches(const struct regex *r, const bson_value_t *v)
{
    if (!v)
        return false;
    if (v->value_type == BSON_TYPE_REGEX)
        return !strcmp(r->pattern, v->value.v_regex.regex) &&
               !strcmp(r->flags, v->value.v_regex.options
                                     ? v->value.v_regex.options
                                     : "");
    const char *s;
    size_t len;
    if (v->value_type == BSON_TYPE_UTF8) {
        s = v->value.v_utf8.str;
        len = v->value.v_utf8.len;
    } else if (v->value_type == BSON_TYPE_SYMBOL) {
        s = v->value.v_symbol.symbol;
        len = v->value.v_symbol.len;
    } else {
        return false;
    }
    return pcre2_match(r->code, (PCRE2_SPTR)s, len, 0, 0, r->data, NULL) >= 0;
}

static bool in_list(const struct match *m, const bson_value_t *v)
{
    if (m->list_null && (!v || v->value_type == BSON_TYPE_UNDEFINED))
        return true;
    for (size_t i = 0; v && i < m->nlist; i++)
        if (canonical(v) == canonical(&m->list[i]) &&
            value_compare(v, &m->list[i]) == 0)
            return true;
    for (size_t i = 0; i < m->nregexes; i++)
        if (regex_matches(m->regexes[i], v))
            return true;
    return false;
}

static bool mod_matches(const struct match *m, const bson_value_t *v)
{
    int64_t x;
    if (!v || !value_is_number(v))
        return false;
    if (v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64) {
        whole_number(v, &x);
    } else {
        double d = value_as_double(v);
        if (!isfinite(d) || fabs(d) >= 9.2e18)
            return false;
        x = (int64_t)trunc(d);
    }
    return (m->a == -1 ? 0 : x % m->a) == m->b;
}

static bool eval(const struct match *m, const bson_value_t *root, int *index);

/* The expression on one value, without reading a path (NULL: missing).
 * `inner` gets the index of the element an $elemMatch matched. */
static bool eval_value(const struct match *m, const bson_value_t *v,
                       int *inner)
{
    bson_iter_t it;
    switch (m->kind) {
    case M_AND:
        for (size_t i = 0; i < m->nkids; i++)
            if (!eval_value(m->kids[i], v, inner))
                return false;
        return true;
    case M_NOT: return !eval_value(m->kids[0], v, NULL);
    case M_FALSE: return false;
    case M_EQ:
    case M_LT:
    case M_LTE:
    case M_GT:
    case M_GTE: return compare(m->kind, v, &m->value);
    case M_IN: return in_list(m, v);
    case M_EXISTS: return v != NULL;
    case M_TYPE:
        return v && ((m->all_numbers && value_is_number(v)) ||
                     m->types[(uint8_t)v->value_type]);
    case M_REGEX: return regex_matches(m->regexes[0], v);
    case M_MOD: return mod_matches(m, v);
    case M_SIZE:
        if (!v || v->value_type != BSON_TYPE_ARRAY)
            return false;
        iter_of(v, &it);
        int64_t n = 0;
        while (bson_iter_next(&it))
            n++;
        return n == m->a;
    case M_ELEM_OBJECT:
    case M_ELEM_VALUE:
        if (!v || v->value_type != BSON_TYPE_ARRAY)
            return false;
        iter_of(v, &it);
        for (int i = 0; bson_iter_next(&it); i++) {
            const bson_value_t *x = bson_iter_value(&it);
            bool hit = true;
            if (m->kind == M_ELEM_OBJECT)
                hit = (x->value_type == BSON_TYPE_DOCUMENT ||
                       x->value_type == BSON_TYPE_ARRAY) &&
                      eval(m->kids[0], x, NULL);
            for (size_t k = 0; hit && m->kind == M_ELEM_VALUE && k < m->nkids;
                 k++)
                hit = eval_value(m->kids[k], x, NULL);
            if (hit) {
                if (inner)
                    *inner = i;
                return true;
            }
        }
        return false;
    default: return false; /* M_OR, M_NOR: never under a value */
    }
}

struct leaf_visit {
    const struct match *m;
    int index;
};

static bool visit_leaf(const bson_value_t *v, int index, void *ctx)
{
    struct leaf_visit *s = ctx;
    int inner = -1;
    if (!eval_value(s->m, v, &inner))
        return false;
    s->index = index >= 0 ? index : inner;
    return true;
}

static bool eval(const struct match *m, const bson_value_t *root, int *index)
{
    switch (m->kind) {
    case M_AND:
        for (size_t i = 0; i < m->nkids; i++)
            if (!eval(m->kids[i], root, index))
                return false;
        return true;
    case M_OR:
        for (size_t i = 0; i < m->nkids; i++)
            if (eval(m->kids[i], root, index))
                return true;
        return false;
    case M_NOR:
        for (size_t i = 0; i < m->nkids; i++)
            if (eval(m->kids[i], root, NULL))
                return false;
        return true;
    case M_NOT: return !eval(m->kids[0], root, NULL);
    case M_FALSE: return false;
    default: break;
    }
    bool whole = m->kind == M_SIZE || m->kind == M_ELEM_OBJECT ||
                 m->kind == M_ELEM_VALUE;
    struct leaf_visit s = {m, -1};
    if (!path_visit(root, &m->path,
                    whole ? PATH_LEAF_ARRAY : PATH_LEAF_TRAVERSE, visit_leaf,
                    &s))
        return false;
    if (index && s.index >= 0)
        *index = s.index;
    return true;
}

bool match_eval(const struct match *m, const bson_value_t *root, int *index)
{
    return eval(m, root, index);
}

bool match_bson(const struct match *m, const bson_t *doc, int *index)
{
    bson_value_t root;
    value_of_doc(doc, &root);
    return eval(m, &root, index);
}

/* ---- what callers read out of a filter ---- */

static bool is_id(const struct match *m)
{
    return m->path.n == 1 && !strcmp(m->path.parts[0], "_id");
}

const bson_value_t *match_equality(const struct match *m, const char *path)
{
    for (size_t i = 0; m->kind == M_AND && i < m->nkids; i++) {
        const struct match *k = m->kids[i];
        if (k->kind == M_EQ && k->path.text && !strcmp(k->path.text, path))
            return &k->value;
    }
    return NULL;
}

void match_id_range(const struct match *m, struct id_range *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; m->kind == M_AND && i < m->nkids; i++) {
        const struct match *k = m->kids[i];
        const bson_value_t *v = &k->value;
        int c = canonical(v);
        /* only bounds that order ids as BSON order does */
        if (!is_id(k) || k->kind < M_EQ || k->kind > M_GTE || c <= 5 ||
            c == 25 || c == 127)
            continue;
        bool lower = k->kind == M_EQ || k->kind == M_GT || k->kind == M_GTE;
        bool upper = k->kind == M_EQ || k->kind == M_LT || k->kind == M_LTE;
        bool strict = k->kind == M_GT || k->kind == M_LT;
        if (lower) {
            int cmp = r->lo ? value_compare(v, r->lo) : 1;
            if (cmp > 0 || (cmp == 0 && strict)) {
                r->lo = v;
                r->lo_inclusive = !strict;
            }
        }
        if (upper) {
            int cmp = r->hi ? value_compare(v, r->hi) : -1;
            if (cmp < 0 || (cmp == 0 && strict)) {
                r->hi = v;
                r->hi_inclusive = !strict;
            }
        }
    }
}

/* ---- the update language's entry points ---- */

int match_doc(const bson_value_t *root, const bson_t *query, int *index,
              struct mongo_error *e)
{
    struct match *m = match_parse(query, e);
    if (!m)
        return -1;
    bool hit = eval(m, root, index);
    match_free(m);
    return hit;
}

int match_path(const bson_value_t *root, char *const *parts, size_t n,
               const bson_value_t *cond, int *index, struct mongo_error *e)
{
    /* as MongoDB's $pull does: {x: cond} on {x: value} (n 0), else
     * {parts: cond} on the root */
    bson_t query = BSON_INITIALIZER, wrapped = BSON_INITIALIZER;
    char *path = NULL;
    if (n) {
        size_t len = 1;
        for (size_t i = 0; i < n; i++)
            len += strlen(parts[i]) + 1;
        path = calloc(1, len);
        for (size_t i = 0; i < n; i++) {
            if (i)
                strcat(path, ".");
            strcat(path, parts[i]);
        }
    }
    bson_append_value(&query, n ? path : "x", -1, cond);
    bson_value_t doc;
    if (!n && root)
        bson_append_value(&wrapped, "x", 1, root);
    value_of_doc(&wrapped, &doc);
    bson_value_t empty = doc;
    int r = match_doc(n ? (root ? root : &empty) : &doc, &query, index, e);
    free(path);
    bson_destroy(&query);
    bson_destroy(&wrapped);
    return r;
}
