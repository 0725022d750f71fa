/* project.c: documents read into typed columns. The values at the
 * columns' paths are found while the document is parsed (find.c: a
 * segment of digits indexes an array), and each is converted to its
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
 * gives the same columns whatever doc_format wrote it). An integer beyond
 * 64 bits is read as the nearest 64-bit limit. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

struct ch_projector {
    struct ch_finder *finder;
    const struct ch_field **fields; /* the typed columns' of a row */
    size_t field_cap;
    struct ch_buf text;      /* a value's JSON, for a String column */
    struct ch_buf malformed; /* {"path":value,...} of the row */
    const char **kept;       /* the paths in it */
    size_t kept_count, kept_cap;
};

struct ch_projector *ch_projector_new(void)
{
    struct ch_projector *p = calloc(1, sizeof *p);
    if (p && !(p->finder = ch_finder_new())) {
        free(p);
        return NULL;
    }
    return p;
}

void ch_projector_free(struct ch_projector *p)
{
    if (!p)
        return;
    ch_finder_free(p->finder);
    free(p->fields);
    ch_buf_free(&p->text);
    ch_buf_free(&p->malformed);
    free(p->kept);
    free(p);
}

/* ---- a value of the document, whatever its JSON form ---- */

enum scalar_kind { S_STRING, S_INT, S_DOUBLE, S_BOOL, S_DATE, S_OTHER };

struct scalar {
    enum scalar_kind kind;
    const char *text; /* S_STRING: the string; S_INT, S_DOUBLE: the number
                         as the document writes it */
    size_t len;
    int64_t i;  /* S_INT (when !big); S_DATE: milliseconds */
    uint64_t u; /* S_INT: the value when above INT64_MAX (big) */
    bool big;   /* S_INT above INT64_MAX */
    double d;   /* S_DOUBLE */
    bool b;     /* S_BOOL */
};

/* A node of the found values, and its text. */
static const struct ch_jv *node(const struct ch_found *t, int32_t n)
{
    return &t->nodes[n];
}

static const char *text_at(const struct ch_found *t, int32_t n, size_t *len)
{
    *len = t->nodes[n].len;
    return t->text + t->nodes[n].text;
}

/* The value's JSON, compact, appended to b. The tree is at most 256
 * levels deep (find.c). */
static bool put_json(struct ch_buf *b, const struct ch_found *t, int32_t n)
{
    const struct ch_jv *v = node(t, n);
    size_t len;
    const char *text = text_at(t, n, &len);
    bool object = v->type == CH_JV_OBJECT, ok = true;
    switch (v->type) {
    case CH_JV_NULL: return CH_LIT(b, "null");
    case CH_JV_FALSE: return CH_LIT(b, "false");
    case CH_JV_TRUE: return CH_LIT(b, "true");
    case CH_JV_NUMBER: return ch_buf_append(b, text, len);
    case CH_JV_STRING: return ch_put_json_string(b, text, len);
    case CH_JV_OBJECT:
    case CH_JV_ARRAY: break;
    }
    ok = object ? CH_LIT(b, "{") : CH_LIT(b, "[");
    for (int32_t m = v->count ? n + 1 : -1; ok && m >= 0;
         m = node(t, m)->next) {
        const struct ch_jv *e = node(t, m);
        ok =
            (m == n + 1 || CH_LIT(b, ",")) &&
            (!object || (ch_put_json_string(b, t->text + e->key, e->key_len) &&
                         CH_LIT(b, ":"))) &&
            put_json(b, t, m);
    }
    return ok && (object ? CH_LIT(b, "}") : CH_LIT(b, "]"));
}

/* The string of an extended JSON wrapper's value; NULL when it is none. */
static const char *wrapped_string(const struct ch_found *t, int32_t n,
                                  size_t *len)
{
    return node(t, n)->type == CH_JV_STRING ? text_at(t, n, len) : NULL;
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

/* A JSON number (yajl checked its form): an integer when it has no
 * fraction or exponent, read to the nearest 64-bit limit beyond them. */
static struct scalar read_number(const char *text, size_t len)
{
    struct scalar x = {.kind = S_INT, .text = text, .len = len};
    char buf[352]; /* a double's longest text, and more */
    if (len >= sizeof buf) {
        x.kind = S_OTHER;
        return x;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(text, '.', len) || memchr(text, 'e', len) ||
        memchr(text, 'E', len)) {
        x.kind = S_DOUBLE;
        x.d = strtod(buf, NULL);
        return x;
    }
    errno = 0;
    x.i = strtoll(buf, NULL, 10);
    if (errno == ERANGE && buf[0] != '-') {
        x.u = strtoull(buf, NULL, 10); /* UINT64_MAX beyond */
        x.big = true;
    }
    return x;
}

/* {"$date": "2024-...Z" | {"$numberLong": "ms"} | ms}. */
static bool read_date(const struct ch_found *t, int32_t n, int64_t *ms)
{
    size_t len;
    const char *text = wrapped_string(t, n, &len);
    const struct ch_jv *v = node(t, n);
    if (text)
        return ch_iso_parse(text, len, ms);
    if (v->type == CH_JV_NUMBER) {
        struct scalar x = read_number(t->text + v->text, v->len);
        *ms = x.i;
        return x.kind == S_INT && !x.big;
    }
    const struct ch_jv *inner = node(t, n + 1);
    return v->type == CH_JV_OBJECT && v->count == 1 && inner->key_len == 11 &&
           !memcmp(t->text + inner->key, "$numberLong", 11) &&
           (text = wrapped_string(t, n + 1, &len)) && parse_int(text, len, ms);
}

static bool key_is(const char *key, size_t len, const char *name)
{
    return len == strlen(name) && !memcmp(key, name, len);
}

/* An object of one $-key, as extended JSON writes the scalar types. */
static struct scalar read_wrapped(const struct ch_found *t, int32_t n)
{
    struct scalar x = {.kind = S_OTHER};
    if (node(t, n)->count != 1)
        return x;
    int32_t inner = n + 1;
    const char *key = t->text + node(t, inner)->key;
    size_t key_len = node(t, inner)->key_len, len = 0;
    const char *text = wrapped_string(t, inner, &len);
    if (key_is(key, key_len, "$date")) {
        if (read_date(t, inner, &x.i))
            x.kind = S_DATE;
    } else if (!text) {
        /* none of the others wraps anything but a string */
    } else if (key_is(key, key_len, "$oid") ||
               key_is(key, key_len, "$symbol") ||
               key_is(key, key_len, "$numberDecimal")) {
        x = (struct scalar){.kind = S_STRING, .text = text, .len = len};
    } else if (key_is(key, key_len, "$numberInt") ||
               key_is(key, key_len, "$numberLong")) {
        if (parse_int(text, len, &x.i))
            x.kind = S_INT, x.text = text, x.len = len;
    } else if (key_is(key, key_len, "$numberDouble")) {
        if (parse_double(text, len, &x.d))
            x.kind = S_DOUBLE, x.text = text, x.len = len;
    }
    return x;
}

static struct scalar read_scalar(const struct ch_found *t, int32_t n)
{
    struct scalar x = {.kind = S_OTHER};
    size_t len;
    const char *text = text_at(t, n, &len);
    switch (node(t, n)->type) {
    case CH_JV_STRING:
        x = (struct scalar){.kind = S_STRING, .text = text, .len = len};
        break;
    case CH_JV_NUMBER: x = read_number(text, len); break;
    case CH_JV_TRUE:
    case CH_JV_FALSE:
        x.kind = S_BOOL;
        x.b = node(t, n)->type == CH_JV_TRUE;
        break;
    case CH_JV_OBJECT: x = read_wrapped(t, n); break;
    case CH_JV_ARRAY:
    case CH_JV_NULL: break;
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

/* A value of the document where it is found: its node, and a buffer for
 * its JSON text when a String column takes it whole. */
struct found_value {
    const struct ch_found *t;
    int32_t n;
    struct ch_buf *json;
};

static bool to_string(const struct scalar *x, const struct found_value *v,
                      struct cell *c)
{
    switch (x->kind) {
    case S_STRING:
    case S_INT:
    case S_DOUBLE: c->text = x->text, c->len = x->len; break;
    case S_BOOL:
        c->text = x->b ? "true" : "false";
        c->len = strlen(c->text);
        break;
    case S_DATE:
        ch_iso_format(x->i, c->own, sizeof c->own);
        c->text = c->own, c->len = strlen(c->own);
        break;
    case S_OTHER:
        v->json->len = 0;
        if (!put_json(v->json, v->t, v->n))
            return false;
        c->text = v->json->data, c->len = v->json->len;
        break;
    }
    return true;
}

static bool convert(const struct scalar *x, const struct found_value *v,
                    enum ch_kind kind, struct cell *c)
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

/* The value of a column from v (not null); false when it does not
 * convert: nothing is written then. */
static bool put_value(struct ch_buf *b, struct ch_type t,
                      const struct found_value *v, bool json, bool *ok)
{
    size_t mark = b->len;
    const struct ch_jv *array = node(v->t, v->n);
    struct cell c;
    *ok = true;
    if (!t.array) {
        struct scalar x = read_scalar(v->t, v->n);
        if (!convert(&x, v, t.kind, &c))
            return false;
        *ok = (json || !t.nullable || ch_put_le(b, 0, 1)) &&
              put_cell(b, t.kind, &c, json);
        return true;
    }
    if (array->type != CH_JV_ARRAY)
        return false;
    *ok = json ? CH_LIT(b, "[") : ch_put_varint(b, array->count);
    for (int32_t e = array->count ? v->n + 1 : -1; *ok && e >= 0;
         e = node(v->t, e)->next) {
        struct found_value element = {v->t, e, v->json};
        struct scalar x = read_scalar(v->t, e);
        if (!convert(&x, &element, t.kind, &c)) {
            b->len = mark;
            return false;
        }
        *ok = (!json || e == v->n + 1 || CH_LIT(b, ",")) &&
              put_cell(b, t.kind, &c, json);
    }
    *ok = *ok && (!json || CH_LIT(b, "]"));
    return true;
}

/* ---- a row's typed columns ---- */

/* The field goes into _malformed with its value, once per path (two
 * columns may read one field). */
static bool keep_malformed(struct ch_projector *p, const char *path,
                           const struct found_value *v)
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
    return ch_buf_append(&p->malformed, p->malformed.len ? "," : "{", 1) &&
           ch_put_json_string(&p->malformed, path, strlen(path)) &&
           CH_LIT(&p->malformed, ":") && put_json(&p->malformed, v->t, v->n);
}

/* The fields of sh's typed columns, in p->fields; false when out of
 * memory. */
static bool fields_of(struct ch_projector *p, const struct ch_shape *sh,
                      size_t *count)
{
    if (sh->count > p->field_cap) {
        const struct ch_field **grown =
            realloc(p->fields, sh->count * sizeof *grown);
        if (!grown)
            return false;
        p->fields = grown;
        p->field_cap = sh->count;
    }
    *count = 0;
    for (size_t i = 0; i < sh->count; i++)
        if (sh->columns[i].role == CH_FIELD)
            p->fields[(*count)++] = sh->columns[i].field;
    return true;
}

bool ch_project(struct ch_projector *p, struct ch_buf *b,
                const struct ch_shape *sh, bool json, const char *doc,
                size_t len)
{
    struct ch_found found = {0};
    size_t count;
    int parsed = 0;
    p->malformed.len = 0;
    p->kept_count = 0;
    if (!fields_of(p, sh, &count))
        return false;
    if (doc &&
        (parsed = ch_find(p->finder, doc, len, p->fields, count, &found)) < 0)
        return false;
    /* a document that is no JSON goes into _malformed whole, under "" */
    bool ok = !doc || parsed ||
              (CH_LIT(&p->malformed, "{\"\":") &&
               ch_put_json_string(&p->malformed, doc, len));
    for (size_t i = 0, k = 0; ok && i < sh->count; i++) {
        const struct ch_column *c = &sh->columns[i];
        if (c->role != CH_FIELD)
            continue;
        if (json)
            ok = CH_LIT(b, ",") &&
                 ch_put_json_string(b, c->name, strlen(c->name)) &&
                 CH_LIT(b, ":");
        struct found_value v = {&found, parsed ? found.at[k] : -1, &p->text};
        k++;
        bool written = false;
        if (ok && v.n >= 0 && node(&found, v.n)->type != CH_JV_NULL) {
            written = put_value(b, c->field->type, &v, json, &ok);
            ok = ok && (written || keep_malformed(p, c->field->path, &v));
        }
        if (ok && !written)
            ok = put_default(b, c->field->type, json);
    }
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
