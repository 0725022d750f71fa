/* project.c: documents read into typed columns. The document (JSON) is
 * parsed with json-c, each typed column's path looked up in it (a
 * segment of digits indexes an array), and the value converted to the
 * column's type, whichever JSON form the source wrote: plain JSON,
 * ClickPipes' mapping (ObjectIds as hex, dates as ISO 8601 strings,
 * numbers as numbers, NaN and infinities as strings) or MongoDB's
 * extended JSON, relaxed or canonical ({"$oid": ...}, {"$date": ...},
 * {"$numberLong": "..."}, {"$numberDouble": "..."}, ...).
 *
 * Nothing fails a row: a missing field or null gives the column's default
 * (NULL when Nullable); a value that does not convert gives the default
 * too, and goes into _malformed as {"path":value,...}, the value as the
 * document has it (compact), so nothing is lost. What converts:
 *   String      a string as itself; a number, boolean, ObjectId, Decimal128
 *               or symbol as its text; a date as 2024-01-02T03:04:05.678Z;
 *               a document or array as its JSON
 *   Int64       an integer in range; a double with no fraction, in range
 *   UInt64      likewise, from 0
 *   Float64     any number; "NaN", "Infinity", "-Infinity"
 *   UInt8       an integer (or a double with no fraction) 0 to 255; true
 *               and false as 1 and 0
 *   Bool        true, false, 1 and 0
 *   Date, DateTime, DateTime64(3)
 *               a date: {"$date": ...} or an ISO 8601 string, in the
 *               type's range (Date and DateTime from 1970; Date to 2149,
 *               DateTime to 2106; DateTime64(3) 1900 to 2299)
 *   Array(T)    an array whose every element converts to T (else the
 *               whole array is malformed and the column gets [])
 * A string never converts to a number (a Decimal128 is a string in
 * ClickPipes' mapping, so it is one in every form: the same document
 * gives the same columns whatever doc_format wrote it). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

/* Deeper than MongoDB's 100 levels, with extended JSON's wrappers. */
#define MAX_DEPTH 256

struct ch_projector {
    json_tokener *tok;
    struct ch_buf malformed; /* {"path":value,...} of the row */
    const char **kept;       /* the paths in it */
    size_t kept_count, kept_cap;
};

struct ch_projector *ch_projector_new(void)
{
    struct ch_projector *p = calloc(1, sizeof *p);
    if (p && !(p->tok = json_tokener_new_ex(MAX_DEPTH))) {
        free(p);
        return NULL;
    }
    return p;
}

void ch_projector_free(struct ch_projector *p)
{
    if (!p)
        return;
    json_tokener_free(p->tok);
    ch_buf_free(&p->malformed);
    free(p->kept);
    free(p);
}

/* ---- a value of the document, whatever its JSON form ---- */

enum scalar_kind { S_STRING, S_INT, S_DOUBLE, S_BOOL, S_DATE, S_OTHER };

struct scalar {
    enum scalar_kind kind;
    const char *text; /* S_STRING: the string; S_INT, S_DOUBLE from
                         extended JSON: the number as it writes it (NULL:
                         a plain JSON number, whose text is the value's,
                         made only when a String column asks for it) */
    size_t len;
    int64_t i;  /* S_INT (when !big); S_DATE: milliseconds */
    uint64_t u; /* S_INT: the value when above INT64_MAX (big) */
    bool big;   /* S_INT above INT64_MAX */
    double d;   /* S_DOUBLE */
    bool b;     /* S_BOOL */
};

static const char *text_of(json_object *v, size_t *len)
{
    const char *t =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    *len = t ? strlen(t) : 0;
    return t ? t : "";
}

/* The string of an extended JSON wrapper's value; NULL when it is none. */
static const char *wrapped_string(json_object *inner, size_t *len)
{
    if (!json_object_is_type(inner, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(inner);
    return json_object_get_string(inner);
}

static bool parse_int(const char *text, size_t len, int64_t *out)
{
    char buf[32];
    if (!len || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    *out = v;
    return errno == 0 && *end == '\0';
}

/* "NaN", "Infinity", "-Infinity": as $numberDouble and ClickPipes write
 * the doubles JSON has no number for. */
static bool named_double(const char *text, size_t len, double *out)
{
    if (len == 3 && !memcmp(text, "NaN", 3))
        *out = NAN;
    else if (len == 8 && !memcmp(text, "Infinity", 8))
        *out = INFINITY;
    else if (len == 9 && !memcmp(text, "-Infinity", 9))
        *out = -INFINITY;
    else
        return false;
    return true;
}

/* A $numberDouble's text: a number, or one of the names above. */
static bool parse_double(const char *text, size_t len, double *out)
{
    char buf[64];
    if (named_double(text, len, out))
        return true;
    if (!len || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0' && isfinite(*out);
}

/* {"$date": "2024-...Z" | {"$numberLong": "ms"} | ms}. */
static bool read_date(json_object *inner, int64_t *ms)
{
    size_t len;
    const char *text = wrapped_string(inner, &len);
    json_object *n;
    if (text)
        return ch_iso_parse(text, len, ms);
    if (json_object_is_type(inner, json_type_int)) {
        *ms = json_object_get_int64(inner);
        return true;
    }
    return json_object_is_type(inner, json_type_object) &&
           json_object_object_length(inner) == 1 &&
           json_object_object_get_ex(inner, "$numberLong", &n) &&
           (text = wrapped_string(n, &len)) && parse_int(text, len, ms);
}

/* An object of one $-key, as extended JSON writes the scalar types. */
static struct scalar read_wrapped(json_object *v)
{
    struct scalar x = {.kind = S_OTHER};
    if (json_object_object_length(v) != 1)
        return x;
    struct json_object_iterator it = json_object_iter_begin(v);
    const char *key = json_object_iter_peek_name(&it);
    json_object *inner = json_object_iter_peek_value(&it);
    size_t len = 0;
    const char *text = wrapped_string(inner, &len);
    if (!strcmp(key, "$date")) {
        if (read_date(inner, &x.i))
            x.kind = S_DATE;
    } else if (!text) {
        /* none of the others wraps anything but a string */
    } else if (!strcmp(key, "$oid") || !strcmp(key, "$symbol") ||
               !strcmp(key, "$numberDecimal")) {
        x = (struct scalar){.kind = S_STRING, .text = text, .len = len};
    } else if (!strcmp(key, "$numberInt") || !strcmp(key, "$numberLong")) {
        if (parse_int(text, len, &x.i))
            x.kind = S_INT, x.text = text, x.len = len;
    } else if (!strcmp(key, "$numberDouble")) {
        if (parse_double(text, len, &x.d))
            x.kind = S_DOUBLE, x.text = text, x.len = len;
    }
    return x;
}

static struct scalar read_scalar(json_object *v)
{
    struct scalar x = {.kind = S_OTHER};
    switch (json_object_get_type(v)) {
    case json_type_string:
        x.kind = S_STRING;
        x.text = json_object_get_string(v);
        x.len = (size_t)json_object_get_string_len(v);
        break;
    case json_type_int:
        x.kind = S_INT;
        x.i = json_object_get_int64(v);
        if (x.i == INT64_MAX) { /* json-c keeps larger ones as uint64 */
            x.u = json_object_get_uint64(v);
            x.big = x.u > (uint64_t)INT64_MAX;
        }
        break;
    case json_type_double:
        x.kind = S_DOUBLE;
        x.d = json_object_get_double(v);
        break;
    case json_type_boolean:
        x.kind = S_BOOL;
        x.b = json_object_get_boolean(v);
        break;
    case json_type_object: x = read_wrapped(v); break;
    case json_type_array:
    case json_type_null: break;
    }
    return x;
}

/* ---- conversion to a column's type ---- */

/* A value of a column's type, ready to be written. */
struct cell {
    union {
        int64_t i;
        uint64_t u;
        double d;
    } n;
    const char *text; /* String */
    size_t len;
    char own[40]; /* text made here (a date as ISO 8601) */
};

/* The integer of a number that has one exactly, as an int64, or as a
 * uint64 when above; false when it has none. */
static bool integer_of(const struct scalar *x, int64_t *i, uint64_t *u,
                       bool *big)
{
    *big = false;
    if (x->kind == S_INT) {
        *i = x->i, *u = x->u, *big = x->big;
        return true;
    }
    if (x->kind != S_DOUBLE || x->d != floor(x->d) || !isfinite(x->d) ||
        x->d < -9223372036854775808.0 || x->d >= 18446744073709551616.0)
        return false;
    if (x->d >= 9223372036854775808.0)
        *big = true, *u = (uint64_t)x->d;
    else
        *i = (int64_t)x->d;
    return true;
}

/* Milliseconds of a date: {"$date": ...} or an ISO 8601 string. */
static bool time_of(const struct scalar *x, int64_t *ms)
{
    if (x->kind == S_DATE) {
        *ms = x->i;
        return true;
    }
    return x->kind == S_STRING && ch_iso_parse(x->text, x->len, ms);
}

#define MS_1900 (-2208988800000LL) /* 1900-01-01 */
#define MS_2300 (10413792000000LL) /* 2300-01-01 */

static bool to_string(const struct scalar *x, json_object *v, struct cell *c)
{
    switch (x->kind) {
    case S_STRING: c->text = x->text, c->len = x->len; break;
    case S_INT:
    case S_DOUBLE:
        c->text = x->text ? x->text : text_of(v, &c->len);
        c->len = x->text ? x->len : c->len;
        break;
    case S_BOOL:
        c->text = x->b ? "true" : "false";
        c->len = strlen(c->text);
        break;
    case S_DATE:
        ch_iso_format(x->i, c->own, sizeof c->own);
        c->text = c->own, c->len = strlen(c->own);
        break;
    case S_OTHER: c->text = text_of(v, &c->len); break;
    }
    return true;
}

static bool convert(const struct scalar *x, json_object *v, enum ch_kind kind,
                    struct cell *c)
{
    int64_t i = 0, ms;
    uint64_t u = 0;
    bool big;
    switch (kind) {
    case CH_STRING: return to_string(x, v, c);
    case CH_INT64: return integer_of(x, &c->n.i, &u, &big) && !big;
    case CH_UINT64:
        if (!integer_of(x, &i, &c->n.u, &big) || (!big && i < 0))
            return false;
        if (!big)
            c->n.u = (uint64_t)i;
        return true;
    case CH_FLOAT64:
        if (x->kind == S_INT)
            c->n.d = x->big ? (double)x->u : (double)x->i;
        else if (x->kind == S_DOUBLE)
            c->n.d = x->d;
        else
            return x->kind == S_STRING &&
                   named_double(x->text, x->len, &c->n.d);
        return true;
    case CH_UINT8:
    case CH_BOOL:
        if (x->kind == S_BOOL) {
            c->n.u = x->b;
            return true;
        }
        c->n.u = 0;
        if (!integer_of(x, &i, &u, &big) || big || i < 0 ||
            i > (kind == CH_BOOL ? 1 : 255))
            return false;
        c->n.u = (uint64_t)i;
        return true;
    case CH_DATE:
        if (!time_of(x, &ms) || ch_days_of(ms) < 0 || ch_days_of(ms) > 65535)
            return false;
        c->n.i = ch_days_of(ms);
        return true;
    case CH_DATETIME:
        if (!time_of(x, &ms) || ms < 0 || ms / 1000 > (int64_t)UINT32_MAX)
            return false;
        c->n.i = ms / 1000;
        return true;
    case CH_DATETIME64:
        if (!time_of(x, &ms) || ms < MS_1900 || ms >= MS_2300)
            return false;
        c->n.i = ms;
        return true;
    }
    return false;
}

/* ---- writing cells ---- */

static bool put_cell(struct ch_buf *b, enum ch_kind kind, const struct cell *c,
                     bool json)
{
    char text[40];
    if (!json) {
        switch (kind) {
        case CH_STRING: return ch_put_string(b, c->text, c->len);
        case CH_FLOAT64: {
            uint64_t bits;
            memcpy(&bits, &c->n.d, sizeof bits);
            return ch_put_le(b, bits, 8);
        }
        case CH_UINT8:
        case CH_BOOL: return ch_put_le(b, c->n.u, 1);
        case CH_DATE: return ch_put_le(b, (uint64_t)c->n.i, 2);
        case CH_DATETIME: return ch_put_le(b, (uint64_t)c->n.i, 4);
        case CH_INT64:
        case CH_UINT64:
        case CH_DATETIME64: return ch_put_le(b, c->n.u, 8);
        }
        return false;
    }
    switch (kind) {
    case CH_STRING: return ch_put_json_string(b, c->text, c->len);
    case CH_INT64: return ch_buf_printf(b, "%" PRId64, c->n.i);
    case CH_UINT64: return ch_buf_printf(b, "%" PRIu64, c->n.u);
    case CH_FLOAT64:
        if (isnan(c->n.d))
            return CH_LIT(b, "\"nan\"");
        if (isinf(c->n.d))
            return c->n.d < 0 ? CH_LIT(b, "\"-inf\"") : CH_LIT(b, "\"inf\"");
        return ch_buf_printf(b, "%.17g", c->n.d);
    case CH_UINT8:
    case CH_BOOL: return ch_buf_printf(b, "%" PRIu64, c->n.u);
    case CH_DATE:
        ch_date_format(c->n.i, text, sizeof text);
        return ch_put_json_string(b, text, strlen(text));
    case CH_DATETIME: /* seconds since 1970, a number: no time zone is
                         involved (18.16 reads no quoted "0") */
        return ch_buf_printf(b, "%" PRId64, c->n.i);
    case CH_DATETIME64: { /* seconds, as a decimal */
        uint64_t ms = c->n.i < 0 ? 0 - (uint64_t)c->n.i : (uint64_t)c->n.i;
        return ch_buf_printf(b, "%s%" PRIu64 ".%03d", c->n.i < 0 ? "-" : "",
                             ms / 1000, (int)(ms % 1000));
    }
    }
    return false;
}

/* The column's default: NULL, [], or its type's zero. */
static bool put_default(struct ch_buf *b, struct ch_type t, bool json)
{
    if (t.nullable)
        return json ? CH_LIT(b, "null") : ch_put_le(b, 1, 1);
    if (t.array)
        return json ? CH_LIT(b, "[]") : ch_put_varint(b, 0);
    struct cell zero = {.text = ""};
    return put_cell(b, t.kind, &zero, json);
}

/* The value of a column from v (not NULL, not null); false when it does
 * not convert: nothing is written then. */
static bool put_value(struct ch_buf *b, struct ch_type t, json_object *v,
                      bool json, bool *ok)
{
    size_t mark = b->len;
    struct cell c;
    *ok = true;
    if (!t.array) {
        struct scalar x = read_scalar(v);
        if (!convert(&x, v, t.kind, &c))
            return false;
        *ok = (json || !t.nullable || ch_put_le(b, 0, 1)) &&
              put_cell(b, t.kind, &c, json);
        return true;
    }
    if (!json_object_is_type(v, json_type_array))
        return false;
    size_t n = json_object_array_length(v);
    *ok = json ? CH_LIT(b, "[") : ch_put_varint(b, n);
    for (size_t i = 0; *ok && i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        struct scalar x = read_scalar(e);
        if (!e || !convert(&x, e, t.kind, &c)) {
            b->len = mark;
            return false;
        }
        *ok = (!json || !i || CH_LIT(b, ",")) && put_cell(b, t.kind, &c, json);
    }
    *ok = *ok && (!json || CH_LIT(b, "]"));
    return true;
}

/* ---- a row's typed columns ---- */

/* The value at the field's path; NULL when the document has none. */
static json_object *lookup(json_object *root, const struct ch_field *f)
{
    json_object *v = root;
    for (size_t i = 0; v && i < f->depth; i++) {
        const char *seg = f->segments[i];
        json_object *next = NULL;
        if (json_object_is_type(v, json_type_object))
            json_object_object_get_ex(v, seg, &next);
        else if (json_object_is_type(v, json_type_array) &&
                 strspn(seg, "0123456789") == strlen(seg) && strlen(seg) < 10)
            next = json_object_array_get_idx(v, (size_t)atol(seg));
        v = next;
    }
    return v;
}

/* The field goes into _malformed with its value, once per path (two
 * columns may read one field). */
static bool keep_malformed(struct ch_projector *p, const char *path,
                           json_object *v)
{
    for (size_t i = 0; i < p->kept_count; i++)
        if (strcmp(p->kept[i], path) == 0)
            return true;
    if (p->kept_count == p->kept_cap) {
        size_t cap = p->kept_cap ? 2 * p->kept_cap : 8;
        const char **grown = realloc(p->kept, cap * sizeof *grown);
        if (!grown)
            return false;
        p->kept = grown;
        p->kept_cap = cap;
    }
    p->kept[p->kept_count++] = path;
    size_t len;
    const char *text = text_of(v, &len);
    return ch_buf_append(&p->malformed, p->malformed.len ? "," : "{", 1) &&
           ch_put_json_string(&p->malformed, path, strlen(path)) &&
           CH_LIT(&p->malformed, ":") &&
           ch_buf_append(&p->malformed, text, len);
}

/* The document parsed; NULL when it is no JSON (whose text then goes into
 * _malformed whole, under the path ""). */
static json_object *parse(struct ch_projector *p, const char *doc, size_t len)
{
    json_tokener_reset(p->tok);
    json_object *root = json_tokener_parse_ex(p->tok, doc, (int)len);
    size_t end = root ? json_tokener_get_parse_end(p->tok) : 0;
    while (root && end < len &&
           (doc[end] == ' ' || doc[end] == '\n' || doc[end] == '\r' ||
            doc[end] == '\t'))
        end++;
    if (root && end == len)
        return root;
    json_object_put(root);
    return NULL;
}

bool ch_project(struct ch_projector *p, struct ch_buf *b,
                const struct ch_shape *sh, bool json, const char *doc,
                size_t len)
{
    json_object *root = doc && len < INT32_MAX ? parse(p, doc, len) : NULL;
    bool ok = true;
    p->malformed.len = 0;
    p->kept_count = 0;
    if (doc && !root)
        ok = CH_LIT(&p->malformed, "{\"\":") &&
             ch_put_json_string(&p->malformed, doc, len);
    for (size_t i = 0; ok && i < sh->count; i++) {
        const struct ch_column *c = &sh->columns[i];
        if (c->role != CH_FIELD)
            continue;
        if (json)
            ok = CH_LIT(b, ",") &&
                 ch_put_json_string(b, c->name, strlen(c->name)) &&
                 CH_LIT(b, ":");
        json_object *v = root ? lookup(root, c->field) : NULL;
        bool written = false;
        if (ok && v && !json_object_is_type(v, json_type_null)) {
            written = put_value(b, c->field->type, v, json, &ok);
            ok = ok && (written || keep_malformed(p, c->field->path, v));
        }
        if (ok && !written)
            ok = put_default(b, c->field->type, json);
    }
    json_object_put(root);
    if (ok && p->malformed.len)
        ok = CH_LIT(&p->malformed, "}");
    if (json)
        ok = ok && CH_LIT(b, ",\"" CH_MALFORMED_NAME "\":") &&
             ch_put_json_string(b, p->malformed.data ? p->malformed.data : "",
                                p->malformed.len);
    else
        ok = ok && ch_put_string(b, p->malformed.data, p->malformed.len);
    return ok;
}
