/* values.c: BSON values as MongoDB sees them: the order of comparison
 * that filters, sorts, indexes and updates share (types first, then
 * values; documents and arrays field by field), the identity an update
 * uses to tell a change from a no-op, the type names and the text of
 * values that MongoDB's error messages show. Pure functions, no state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* MongoDB's order of types for comparison (its canonical type). */
static int type_rank(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_MINKEY: return 0;
    case BSON_TYPE_UNDEFINED: return 1; /* an empty array's sort key */
    case BSON_TYPE_NULL: return 2;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return 3;
    case BSON_TYPE_SYMBOL:
    case BSON_TYPE_UTF8: return 4;
    case BSON_TYPE_DOCUMENT: return 5;
    case BSON_TYPE_ARRAY: return 6;
    case BSON_TYPE_BINARY: return 7;
    case BSON_TYPE_OID: return 8;
    case BSON_TYPE_BOOL: return 9;
    case BSON_TYPE_DATE_TIME: return 10;
    case BSON_TYPE_TIMESTAMP: return 11;
    case BSON_TYPE_REGEX: return 12;
    case BSON_TYPE_DBPOINTER: return 13;
    case BSON_TYPE_CODE: return 14;
    case BSON_TYPE_CODEWSCOPE: return 15;
    case BSON_TYPE_MAXKEY: return 17;
    default: return 16;
    }
}

bool value_is_number(const bson_value_t *v)
{
    return type_rank(v->value_type) == 3;
}

/* Exact for every int64 and double (a 64-bit mantissa); decimals near
 * enough. */
static long double as_long_double(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32: return v->value.v_int32;
    case BSON_TYPE_INT64: return (long double)v->value.v_int64;
    case BSON_TYPE_DOUBLE: return v->value.v_double;
    case BSON_TYPE_DECIMAL128: {
        char text[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, text);
        return strtold(text, NULL);
    }
    default: return 0;
    }
}

double value_as_double(const bson_value_t *v)
{
    return (double)as_long_double(v);
}

static int cmp_bytes(const void *a, size_t la, const void *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c)
        return c < 0 ? -1 : 1;
    return la < lb ? -1 : la > lb;
}

static int sign(long c)
{
    return c < 0 ? -1 : c > 0;
}

static int compare_numbers(const bson_value_t *a, const bson_value_t *b)
{
    long double x = as_long_double(a), y = as_long_double(b);
    if (isnan(x) || isnan(y)) /* NaN sorts before every number */
        return isnan(x) && isnan(y) ? 0 : isnan(x) ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Documents and arrays: element by element, each by type, then name,
 * then value; the shorter one first. */
static int compare_containers(const bson_value_t *a, const bson_value_t *b)
{
    bson_iter_t x, y;
    if (!bson_iter_init_from_data(&x, a->value.v_doc.data,
                                  a->value.v_doc.data_len) ||
        !bson_iter_init_from_data(&y, b->value.v_doc.data,
                                  b->value.v_doc.data_len))
        return cmp_bytes(a->value.v_doc.data, a->value.v_doc.data_len,
                         b->value.v_doc.data, b->value.v_doc.data_len);
    for (;;) {
        bool more_x = bson_iter_next(&x), more_y = bson_iter_next(&y);
        if (!more_x || !more_y)
            return more_x == more_y ? 0 : more_x ? 1 : -1;
        const bson_value_t *vx = bson_iter_value(&x),
                           *vy = bson_iter_value(&y);
        int rx = type_rank(vx->value_type), ry = type_rank(vy->value_type);
        if (rx != ry)
            return rx < ry ? -1 : 1;
        int c = sign(strcmp(bson_iter_key(&x), bson_iter_key(&y)));
        if (!c)
            c = value_compare(vx, vy);
        if (c)
            return c;
    }
}

int value_compare(const bson_value_t *a, const bson_value_t *b)
{
    int ra = type_rank(a->value_type), rb = type_rank(b->value_type);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return compare_numbers(a, b);
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        /* a symbol's fields lie where a string's do */
        return cmp_bytes(a->value.v_utf8.str, a->value.v_utf8.len,
                         b->value.v_utf8.str, b->value.v_utf8.len);
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: return compare_containers(a, b);
    case BSON_TYPE_BINARY:
        if (a->value.v_binary.data_len != b->value.v_binary.data_len)
            return a->value.v_binary.data_len < b->value.v_binary.data_len ? -1
                                                                           : 1;
        if (a->value.v_binary.subtype != b->value.v_binary.subtype)
            return a->value.v_binary.subtype < b->value.v_binary.subtype ? -1
                                                                         : 1;
        return cmp_bytes(a->value.v_binary.data, a->value.v_binary.data_len,
                         b->value.v_binary.data, b->value.v_binary.data_len);
    case BSON_TYPE_OID:
        return cmp_bytes(a->value.v_oid.bytes, 12, b->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL:
        return a->value.v_bool == b->value.v_bool ? 0
               : a->value.v_bool                  ? 1
                                                  : -1;
    case BSON_TYPE_DATE_TIME:
        return sign((a->value.v_datetime > b->value.v_datetime) -
                    (a->value.v_datetime < b->value.v_datetime));
    case BSON_TYPE_TIMESTAMP:
        if (a->value.v_timestamp.timestamp != b->value.v_timestamp.timestamp)
            return a->value.v_timestamp.timestamp <
                           b->value.v_timestamp.timestamp
                       ? -1
                       : 1;
        return sign((long)a->value.v_timestamp.increment -
                    (long)b->value.v_timestamp.increment);
    case BSON_TYPE_REGEX: {
        int c = sign(strcmp(a->value.v_regex.regex, b->value.v_regex.regex));
        return c ? c
                 : sign(strcmp(a->value.v_regex.options
                                   ? a->value.v_regex.options
                                   : "",
                               b->value.v_regex.options
                                   ? b->value.v_regex.options
                                   : ""));
    }
    case BSON_TYPE_DBPOINTER: {
        int c = cmp_bytes(a->value.v_dbpointer.collection,
                          a->value.v_dbpointer.collection_len,
                          b->value.v_dbpointer.collection,
                          b->value.v_dbpointer.collection_len);
        return c ? c
                 : cmp_bytes(a->value.v_dbpointer.oid.bytes, 12,
                             b->value.v_dbpointer.oid.bytes, 12);
    }
    case BSON_TYPE_CODE:
        return cmp_bytes(a->value.v_code.code, a->value.v_code.code_len,
                         b->value.v_code.code, b->value.v_code.code_len);
    case BSON_TYPE_CODEWSCOPE: {
        int c = cmp_bytes(a->value.v_codewscope.code,
                          a->value.v_codewscope.code_len,
                          b->value.v_codewscope.code,
                          b->value.v_codewscope.code_len);
        return c ? c
                 : cmp_bytes(a->value.v_codewscope.scope_data,
                             a->value.v_codewscope.scope_len,
                             b->value.v_codewscope.scope_data,
                             b->value.v_codewscope.scope_len);
    }
    default: return 0;
    }
}

/* The same type and the same bytes: what MongoDB calls a no-op. */
bool value_identical(const bson_value_t *a, const bson_value_t *b)
{
    if (a->value_type != b->value_type)
        return false;
    switch (a->value_type) {
    case BSON_TYPE_DOUBLE:
        return memcmp(&a->value.v_double, &b->value.v_double,
                      sizeof(double)) == 0;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return cmp_bytes(a->value.v_doc.data, a->value.v_doc.data_len,
                         b->value.v_doc.data, b->value.v_doc.data_len) == 0;
    case BSON_TYPE_DECIMAL128:
        return a->value.v_decimal128.high == b->value.v_decimal128.high &&
               a->value.v_decimal128.low == b->value.v_decimal128.low;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_BINARY:
    case BSON_TYPE_REGEX:
    case BSON_TYPE_OID:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_BOOL:
    case BSON_TYPE_DATE_TIME:
    case BSON_TYPE_TIMESTAMP:
        return value_compare(a, b) == 0 &&
               (a->value_type != BSON_TYPE_BINARY ||
                a->value.v_binary.subtype == b->value.v_binary.subtype);
    default: return true; /* null, undefined, minKey, maxKey */
    }
}

const char *value_type_name(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_DOUBLE: return "double";
    case BSON_TYPE_UTF8: return "string";
    case BSON_TYPE_DOCUMENT: return "object";
    case BSON_TYPE_ARRAY: return "array";
    case BSON_TYPE_BINARY: return "binData";
    case BSON_TYPE_UNDEFINED: return "undefined";
    case BSON_TYPE_OID: return "objectId";
    case BSON_TYPE_BOOL: return "bool";
    case BSON_TYPE_DATE_TIME: return "date";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_REGEX: return "regex";
    case BSON_TYPE_DBPOINTER: return "dbPointer";
    case BSON_TYPE_CODE: return "javascript";
    case BSON_TYPE_SYMBOL: return "symbol";
    case BSON_TYPE_CODEWSCOPE: return "javascriptWithScope";
    case BSON_TYPE_INT32: return "int";
    case BSON_TYPE_TIMESTAMP: return "timestamp";
    case BSON_TYPE_INT64: return "long";
    case BSON_TYPE_DECIMAL128: return "decimal";
    case BSON_TYPE_MINKEY: return "minKey";
    case BSON_TYPE_MAXKEY: return "maxKey";
    default: return "unknown";
    }
}

void value_empty(bson_type_t type, bson_value_t *out)
{
    static const uint8_t empty[5] = {5, 0, 0, 0, 0};
    memset(out, 0, sizeof *out);
    out->value_type = type;
    out->value.v_doc.data = (uint8_t *)empty;
    out->value.v_doc.data_len = 5;
}

/* ---- the text of values in messages, as MongoDB's toString() ---- */

struct text {
    char *buf;
    size_t size, used;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->used + 1 >= t->size)
        return;
    size_t room = t->size - t->used - 1;
    if (n > room)
        n = room;
    memcpy(t->buf + t->used, s, n);
    t->used += n;
    t->buf[t->used] = '\0';
}

static void puts_(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void render(struct text *t, const bson_value_t *v);

static void render_container(struct text *t, const bson_value_t *v, bool array)
{
    bson_iter_t it;
    bool first = true;
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data,
                                  v->value.v_doc.data_len))
        return;
    puts_(t, array ? "[" : "{");
    while (bson_iter_next(&it)) {
        puts_(t, first ? " " : ", ");
        first = false;
        if (!array) {
            puts_(t, bson_iter_key(&it));
            puts_(t, ": ");
        }
        render(t, bson_iter_value(&it));
    }
    puts_(t, first ? "" : " ");
    puts_(t, array ? "]" : "}");
}

static void render(struct text *t, const bson_value_t *v)
{
    char num[64];
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        snprintf(num, sizeof num, "%d", v->value.v_int32);
        puts_(t, num);
        break;
    case BSON_TYPE_INT64:
        snprintf(num, sizeof num, "%lld", (long long)v->value.v_int64);
        puts_(t, num);
        break;
    case BSON_TYPE_DOUBLE:
        snprintf(num, sizeof num, "%.17g", v->value.v_double);
        if (v->value.v_double == floor(v->value.v_double) &&
            fabs(v->value.v_double) < 1e16)
            snprintf(num, sizeof num, "%.1f", v->value.v_double);
        puts_(t, num);
        break;
    case BSON_TYPE_DECIMAL128: {
        char text[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, text);
        puts_(t, text);
        break;
    }
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        puts_(t, "\"");
        put(t, v->value.v_utf8.str, v->value.v_utf8.len);
        puts_(t, "\"");
        break;
    case BSON_TYPE_DOCUMENT: render_container(t, v, false); break;
    case BSON_TYPE_ARRAY: render_container(t, v, true); break;
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(&v->value.v_oid, hex);
        puts_(t, "ObjectId('");
        puts_(t, hex);
        puts_(t, "')");
        break;
    }
    case BSON_TYPE_BOOL: puts_(t, v->value.v_bool ? "true" : "false"); break;
    case BSON_TYPE_NULL: puts_(t, "null"); break;
    case BSON_TYPE_UNDEFINED: puts_(t, "undefined"); break;
    case BSON_TYPE_MINKEY: puts_(t, "MinKey"); break;
    case BSON_TYPE_MAXKEY: puts_(t, "MaxKey"); break;
    case BSON_TYPE_REGEX:
        puts_(t, "/");
        puts_(t, v->value.v_regex.regex);
        puts_(t, "/");
        puts_(t, v->value.v_regex.options ? v->value.v_regex.options : "");
        break;
    case BSON_TYPE_BINARY:
        snprintf(num, sizeof num, "BinData(%d, %u bytes)",
                 (int)v->value.v_binary.subtype, v->value.v_binary.data_len);
        puts_(t, num);
        break;
    case BSON_TYPE_DATE_TIME:
        snprintf(num, sizeof num, "new Date(%lld)",
                 (long long)v->value.v_datetime);
        puts_(t, num);
        break;
    case BSON_TYPE_TIMESTAMP:
        snprintf(num, sizeof num, "Timestamp(%u, %u)",
                 v->value.v_timestamp.timestamp,
                 v->value.v_timestamp.increment);
        puts_(t, num);
        break;
    default: puts_(t, value_type_name(v->value_type)); break;
    }
}

const char *value_render(const bson_value_t *v, char *buf, size_t size)
{
    struct text t = {buf, size, 0};
    buf[0] = '\0';
    render(&t, v);
    return buf;
}

const char *element_render(const char *key, const bson_value_t *v, char *buf,
                           size_t size)
{
    struct text t = {buf, size, 0};
    buf[0] = '\0';
    puts_(&t, key);
    puts_(&t, ": ");
    render(&t, v);
    return buf;
}
