/* json.c: documents as relaxed extended JSON, byte for byte what libbson's
 * bson_as_relaxed_extended_json writes, several times faster: libbson
 * escapes strings a character at a time, which made the conversion most
 * of a snapshot's work. The common types are written here (strings,
 * numbers, booleans, null, dates, ObjectIds, documents, arrays); a
 * document with any other type, or with text that is not valid UTF-8, is
 * left to libbson whole. tests/source/test_json.c compares the two on
 * generated documents. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mongo.h"

/* libbson writes dates between these as ISO-8601, others as numbers */
#define ISO_DATE_MAX_MS 253402300799999LL

struct out {
    char *data;
    size_t len, cap;
};

static void reserve(struct out *o, size_t n)
{
    if (o->len + n + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n + 1)
        cap *= 2;
    o->data = bson_realloc(o->data, cap);
    o->cap = cap;
}

static void put(struct out *o, const char *s, size_t n)
{
    reserve(o, n);
    memcpy(o->data + o->len, s, n);
    o->len += n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

/* Well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF); NUL bytes are allowed, as libbson allows them in values. */
/* Eight bytes at a time, for the long runs of plain ASCII that most
 * strings are (bit tricks of "Bit Twiddling Hacks": a byte below n, a
 * byte equal to n). */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define HAS_LESS(x, n) (((x)-ONES * (n)) & ~(x)&HIGHS)
#define HAS_BYTE(x, n) HAS_LESS((x) ^ (ONES * (n)), 1)

static uint64_t word_at(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    return w;
}

/* Bytes from `i` on that are ASCII and need no escaping in a string. */
static size_t plain_run(const unsigned char *s, size_t i, size_t n)
{
    while (i + 8 <= n) {
        uint64_t w = word_at(s + i);
        if ((w & HIGHS) || HAS_LESS(w, 0x20) || HAS_BYTE(w, '"') ||
            HAS_BYTE(w, '\\'))
            break;
        i += 8;
    }
    return i;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        while (i + 8 <= n && !(word_at(s + i) & HIGHS))
            i += 8;
        if (i == n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (!len || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        unsigned char d = s[i + 1];
        if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) ||
            (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F))
            return false;
        i += len;
    }
    return true;
}

/* A JSON string: quotes, backslashes and control characters escaped as
 * libbson escapes them; runs of other bytes copied whole. */
static void put_string(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    reserve(o, n + 2);
    o->data[o->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        i = plain_run((const unsigned char *)s, i, n);
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': PUT_LIT(o, "\\\""); break;
        case '\\': PUT_LIT(o, "\\\\"); break;
        case '\b': PUT_LIT(o, "\\b"); break;
        case '\t': PUT_LIT(o, "\\t"); break;
        case '\n': PUT_LIT(o, "\\n"); break;
        case '\f': PUT_LIT(o, "\\f"); break;
        case '\r': PUT_LIT(o, "\\r"); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(o, u, 6);
        }
        }
    }
    put(o, s + run, n - run);
    PUT_LIT(o, "\"");
}

static void put_double(struct out *o, double v)
{
    char text[64];
    if (isnan(v) || isinf(v)) {
        int n = snprintf(text, sizeof text, "{ \"$numberDouble\" : \"%s\" }",
                         isnan(v) ? "NaN"
                         : v > 0  ? "Infinity"
                                  : "-Infinity");
        put(o, text, (size_t)n);
        return;
    }
    int n = snprintf(text, sizeof text, "%.20g", v);
    put(o, text, (size_t)n);
    if (strspn(text, "0123456789-") == (size_t)n)
        PUT_LIT(o, ".0"); /* 3.0 is not 3 */
}

static bool put_date(struct out *o, int64_t ms)
{
    if (ms < 0 || ms > ISO_DATE_MAX_MS)
        return false;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char text[64];
    int n =
        strftime(text, sizeof text, "{ \"$date\" : \"%Y-%m-%dT%H:%M:%S", &tm);
    if (ms % 1000)
        n += snprintf(text + n, sizeof text - (size_t)n, ".%03d",
                      (int)(ms % 1000));
    put(o, text, (size_t)n);
    PUT_LIT(o, "Z\" }");
    return true;
}

static bool put_document(struct out *o, bson_iter_t *it, bool array);

/* One value; false when it is of a type left to libbson. */
static bool put_value(struct out *o, bson_iter_t *it)
{
    char text[64];
    int n;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        if (!valid_utf8((const unsigned char *)s, len))
            return false;
        put_string(o, s, len);
        return true;
    }
    case BSON_TYPE_DOUBLE: put_double(o, bson_iter_double(it)); return true;
    case BSON_TYPE_INT32:
        n = snprintf(text, sizeof text, "%d", bson_iter_int32(it));
        put(o, text, (size_t)n);
        return true;
    case BSON_TYPE_INT64:
        n = snprintf(text, sizeof text, "%lld",
                     (long long)bson_iter_int64(it));
        put(o, text, (size_t)n);
        return true;
    case BSON_TYPE_BOOL:
        if (bson_iter_bool(it))
            PUT_LIT(o, "true");
        else
            PUT_LIT(o, "false");
        return true;
    case BSON_TYPE_NULL: PUT_LIT(o, "null"); return true;
    case BSON_TYPE_DATE_TIME: return put_date(o, bson_iter_date_time(it));
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(bson_iter_oid(it), hex);
        PUT_LIT(o, "{ \"$oid\" : \"");
        put(o, hex, 24);
        PUT_LIT(o, "\" }");
        return true;
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        bson_iter_t child;
        return bson_iter_recurse(it, &child) &&
               put_document(o, &child, bson_iter_type(it) == BSON_TYPE_ARRAY);
    }
    default: return false;
    }
}

static bool put_document(struct out *o, bson_iter_t *it, bool array)
{
    put(o, array ? "[ " : "{ ", 2);
    bool first = true;
    while (bson_iter_next(it)) {
        if (!first)
            PUT_LIT(o, ", ");
        first = false;
        if (!array) {
            const char *key = bson_iter_key(it);
            size_t klen = strlen(key);
            if (!valid_utf8((const unsigned char *)key, klen))
                return false;
            put_string(o, key, klen);
            PUT_LIT(o, " : ");
        }
        if (!put_value(o, it))
            return false;
    }
    put(o, array ? " ]" : " }", 2);
    return true;
}

char *mg_doc_json_own(const bson_t *doc, size_t *len)
{
    struct out o = {0};
    bson_iter_t it;
    /* libbson writes an empty top-level document as "{ }", nested ones
     * as "{  }": the former is its own */
    if (bson_empty(doc) || !bson_iter_init(&it, doc))
        return NULL;
    reserve(&o, doc->len + doc->len / 4);
    if (!put_document(&o, &it, false)) {
        bson_free(o.data);
        return NULL;
    }
    o.data[o.len] = '\0';
    if (len)
        *len = o.len;
    return o.data;
}

char *mg_doc_json(const bson_t *doc, size_t *len)
{
    char *json = mg_doc_json_own(doc, len);
    return json ? json : bson_as_relaxed_extended_json(doc, len);
}
