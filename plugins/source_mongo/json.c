/* json.c: documents as compact JSON (no spaces), in one of three forms
 * (docs/mongo.md has the table, type by type):
 *
 * - clickpipes: plain JSON with ClickPipes' (PeerDB's) type mapping:
 *   ObjectIds as hex, dates as ISO 8601 strings, numbers as numbers,
 *   the other types as strings or small objects;
 * - relaxed and canonical: MongoDB's extended JSON, value for value what
 *   libbson's bson_as_relaxed_extended_json and
 *   bson_as_canonical_extended_json write, without their spaces.
 *
 * Every type is written here, in every form, several times faster than
 * libbson, which escapes strings a character at a time. A document with
 * text that is not valid UTF-8 is refused (NULL), as libbson refuses it:
 * malformed.c repairs it and writes it here again. tests/source/
 * test_json_formats.py checks each form against an independent reference
 * on generated documents of every type. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

/* relaxed extended JSON writes dates between these as ISO 8601 strings,
 * others as numbers */
#define ISO_DATE_MAX_MS 253402300799999LL

struct out {
    char *data;
    size_t len, cap;
    int format; /* enum mg_doc_format */
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

/* ---- text ---- */

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

/* Well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF); NUL bytes are allowed, as libbson allows them in values. */
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
 * libbson escapes them; runs of other bytes copied whole. False when the
 * text is not valid UTF-8. */
static bool put_string(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!valid_utf8((const unsigned char *)s, n))
        return false;
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
    return true;
}

static bool put_cstring(struct out *o, const char *s)
{
    return put_string(o, s, strlen(s));
}

/* ---- numbers ---- */

/* Decimal digits of v, at least `width` of them (zeros before). */
static void put_uint(struct out *o, uint64_t v, int width)
{
    char text[24];
    int n = 0;
    do {
        text[sizeof text - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    put(o, text + sizeof text - n, (size_t)n);
}

static void put_int(struct out *o, int64_t v)
{
    if (v < 0)
        PUT_LIT(o, "-");
    put_uint(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 1);
}

/* A finite double, in the fewest digits that read back as the same
 * double (the first of 15, 16 and 17 significant digits that does: any
 * decimal of 15 digits or fewer survives the round trip), and with ".0"
 * when that looks like an integer, so that it reads back as a double. */
static void put_finite(struct out *o, double v)
{
    char text[32];
    int n;
    if (v == floor(v) && fabs(v) < 1e15) { /* integral: exact as int64 */
        if (signbit(v))
            PUT_LIT(o, "-");
        put_uint(o, (uint64_t)fabs(v), 1);
        PUT_LIT(o, ".0");
        return;
    }
    n = snprintf(text, sizeof text, "%.15g", v);
    if (strtod(text, NULL) != v)
        n = snprintf(text, sizeof text, "%.16g", v);
    if (strtod(text, NULL) != v)
        n = snprintf(text, sizeof text, "%.17g", v);
    put(o, text, (size_t)n);
    if (strspn(text, "0123456789-") == (size_t)n)
        PUT_LIT(o, ".0");
}

static void put_double(struct out *o, double v)
{
    const char *special = isnan(v)   ? "NaN"
                          : isinf(v) ? (v > 0 ? "Infinity" : "-Infinity")
                                     : NULL;
    if (special && o->format == MG_DOC_CLICKPIPES) { /* JSON has no number */
        PUT_LIT(o, "\"");
        put(o, special, strlen(special));
        PUT_LIT(o, "\"");
    } else if (special || o->format == MG_DOC_CANONICAL) {
        PUT_LIT(o, "{\"$numberDouble\":\"");
        if (special)
            put(o, special, strlen(special));
        else
            put_finite(o, v);
        PUT_LIT(o, "\"}");
    } else {
        put_finite(o, v);
    }
}

/* An integer: canonical wraps it as {"$numberInt":"1"} or
 * {"$numberLong":"1"}. */
static void put_integer(struct out *o, int64_t v, bool is64)
{
    if (o->format != MG_DOC_CANONICAL) {
        put_int(o, v);
        return;
    }
    if (is64)
        PUT_LIT(o, "{\"$numberLong\":\"");
    else
        PUT_LIT(o, "{\"$numberInt\":\"");
    put_int(o, v);
    PUT_LIT(o, "\"}");
}

/* ---- dates ---- */

/* Milliseconds since 1970 as YYYY-MM-DDTHH:MM:SS.mmmZ in the proleptic
 * Gregorian calendar, UTC, for every int64: years before 0 with a minus
 * sign, after 9999 with as many digits as they need. `ms` says whether
 * to write milliseconds that are zero. Days to a civil date: H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms". */
static void put_iso_date(struct out *o, int64_t ms, bool zero_ms)
{
    int64_t secs = ms / 1000, milli = ms % 1000;
    if (milli < 0) {
        milli += 1000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0)
        PUT_LIT(o, "-");
    put_uint(o, year < 0 ? (uint64_t)-year : (uint64_t)year, 4);
    PUT_LIT(o, "-");
    put_uint(o, (uint64_t)month, 2);
    PUT_LIT(o, "-");
    put_uint(o, (uint64_t)day, 2);
    PUT_LIT(o, "T");
    put_uint(o, (uint64_t)(sod / 3600), 2);
    PUT_LIT(o, ":");
    put_uint(o, (uint64_t)(sod / 60 % 60), 2);
    PUT_LIT(o, ":");
    put_uint(o, (uint64_t)(sod % 60), 2);
    if (milli || zero_ms) {
        PUT_LIT(o, ".");
        put_uint(o, (uint64_t)milli, 3);
    }
    PUT_LIT(o, "Z");
}

static void put_date(struct out *o, int64_t ms)
{
    if (o->format == MG_DOC_CLICKPIPES) {
        PUT_LIT(o, "\"");
        put_iso_date(o, ms, true);
        PUT_LIT(o, "\"");
    } else if (o->format == MG_DOC_RELAXED && ms >= 0 &&
               ms <= ISO_DATE_MAX_MS) {
        PUT_LIT(o, "{\"$date\":\"");
        put_iso_date(o, ms, false);
        PUT_LIT(o, "\"}");
    } else {
        PUT_LIT(o, "{\"$date\":{\"$numberLong\":\"");
        put_int(o, ms);
        PUT_LIT(o, "\"}}");
    }
}

/* ---- other types ---- */

static void put_base64(struct out *o, const uint8_t *data, uint32_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    reserve(o, (size_t)(n + 2) / 3 * 4);
    char *p = o->data + o->len;
    uint32_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w =
            (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *p++ = digits[w >> 18];
        *p++ = digits[w >> 12 & 63];
        *p++ = digits[w >> 6 & 63];
        *p++ = digits[w & 63];
    }
    if (i < n) {
        uint32_t w = (uint32_t)data[i] << 16 |
                     (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0);
        *p++ = digits[w >> 18];
        *p++ = digits[w >> 12 & 63];
        *p++ = i + 1 < n ? digits[w >> 6 & 63] : '=';
        *p++ = '=';
    }
    o->len = (size_t)(p - o->data);
}

static void put_binary(struct out *o, bson_iter_t *it)
{
    static const char hex[] = "0123456789abcdef";
    bson_subtype_t sub;
    uint32_t n;
    const uint8_t *data;
    bson_iter_binary(it, &sub, &n, &data);
    if (o->format == MG_DOC_CLICKPIPES) {
        PUT_LIT(o, "{\"Subtype\":");
        put_uint(o, (uint64_t)sub, 1);
        PUT_LIT(o, ",\"Data\":\"");
        put_base64(o, data, n);
        PUT_LIT(o, "\"}");
        return;
    }
    PUT_LIT(o, "{\"$binary\":{\"base64\":\"");
    put_base64(o, data, n);
    char tail[] = "\",\"subType\":\"00\"}}";
    tail[13] = hex[(unsigned)sub >> 4 & 15];
    tail[14] = hex[(unsigned)sub & 15];
    PUT_LIT(o, tail);
}

static void put_oid(struct out *o, const bson_oid_t *oid)
{
    char hex[25];
    bson_oid_to_string(oid, hex);
    if (o->format == MG_DOC_CLICKPIPES) {
        PUT_LIT(o, "\"");
        put(o, hex, 24);
        PUT_LIT(o, "\"");
        return;
    }
    PUT_LIT(o, "{\"$oid\":\"");
    put(o, hex, 24);
    PUT_LIT(o, "\"}");
}

/* A piece of the value's frame: `cp` in clickpipes, `ext` in extended
 * JSON. */
static void put_frame(struct out *o, const char *cp, const char *ext)
{
    const char *s = o->format == MG_DOC_CLICKPIPES ? cp : ext;
    put(o, s, strlen(s));
}

/* A regular expression's options as libbson writes them: the flags it
 * knows, each once, in its order; any other byte is left out. */
static void regex_options(const char *options, char *out)
{
    static const char known[] = "ilmsux";
    size_t n = 0;
    for (const char *k = known; *k; k++)
        if (strchr(options, *k))
            out[n++] = *k;
    out[n] = '\0';
}

static bool put_regex(struct out *o, bson_iter_t *it)
{
    const char *options, *pattern = bson_iter_regex(it, &options);
    char flags[8];
    regex_options(options, flags);
    put_frame(o, "{\"Pattern\":", "{\"$regularExpression\":{\"pattern\":");
    if (!put_cstring(o, pattern))
        return false;
    put_frame(o, ",\"Options\":", ",\"options\":");
    put_cstring(o, flags);
    put_frame(o, "}", "}}");
    return true;
}

static void put_timestamp(struct out *o, bson_iter_t *it)
{
    uint32_t t, i;
    bson_iter_timestamp(it, &t, &i);
    put_frame(o, "{\"T\":", "{\"$timestamp\":{\"t\":");
    put_uint(o, t, 1);
    put_frame(o, ",\"I\":", ",\"i\":");
    put_uint(o, i, 1);
    put_frame(o, "}", "}}");
}

static bool put_dbpointer(struct out *o, bson_iter_t *it)
{
    uint32_t n;
    const char *coll;
    const bson_oid_t *oid;
    bson_iter_dbpointer(it, &n, &coll, &oid);
    put_frame(o, "{\"DB\":", "{\"$dbPointer\":{\"$ref\":");
    if (!put_string(o, coll, n))
        return false;
    put_frame(o, ",\"Pointer\":", ",\"$id\":");
    put_oid(o, oid);
    put_frame(o, "}", "}}");
    return true;
}

/* Code or a symbol: a string in clickpipes, else {"$code": ...} or
 * {"$symbol": ...}. */
static bool put_text_value(struct out *o, const char *wrap, const char *s,
                           uint32_t n)
{
    put_frame(o, "", wrap);
    if (!put_string(o, s, n))
        return false;
    put_frame(o, "", "}");
    return true;
}

static bool put_document(struct out *o, const uint8_t *data, uint32_t len,
                         bool array);

static bool put_codewscope(struct out *o, bson_iter_t *it)
{
    uint32_t n, scope_len;
    const uint8_t *scope;
    const char *code = bson_iter_codewscope(it, &n, &scope_len, &scope);
    put_frame(o, "{\"Code\":", "{\"$code\":");
    if (!put_string(o, code, n))
        return false;
    put_frame(o, ",\"Scope\":", ",\"$scope\":");
    if (!put_document(o, scope, scope_len, false))
        return false;
    PUT_LIT(o, "}");
    return true;
}

static void put_decimal(struct out *o, bson_iter_t *it)
{
    bson_decimal128_t dec;
    char text[BSON_DECIMAL128_STRING];
    bson_iter_decimal128(it, &dec);
    bson_decimal128_to_string(&dec, text);
    put_frame(o, "\"", "{\"$numberDecimal\":\"");
    put(o, text, strlen(text));
    put_frame(o, "\"", "\"}");
}

/* MinKey, MaxKey and undefined: ClickPipes writes {} for the keys, as
 * PeerDB does, and null for undefined. */
static void put_marker(struct out *o, bson_type_t type)
{
    if (o->format == MG_DOC_CLICKPIPES && type == BSON_TYPE_UNDEFINED)
        PUT_LIT(o, "null");
    else if (o->format == MG_DOC_CLICKPIPES)
        PUT_LIT(o, "{}");
    else if (type == BSON_TYPE_UNDEFINED)
        PUT_LIT(o, "{\"$undefined\":true}");
    else if (type == BSON_TYPE_MINKEY)
        PUT_LIT(o, "{\"$minKey\":1}");
    else
        PUT_LIT(o, "{\"$maxKey\":1}");
}

/* One value; false when its text is not valid UTF-8 or it is not BSON. */
static bool put_value(struct out *o, bson_iter_t *it)
{
    uint32_t n;
    const char *s;
    const uint8_t *data;
    bson_type_t type = bson_iter_type(it);
    switch (type) {
    case BSON_TYPE_UTF8:
        s = bson_iter_utf8(it, &n);
        return put_string(o, s, n);
    case BSON_TYPE_DOUBLE: put_double(o, bson_iter_double(it)); return true;
    case BSON_TYPE_INT32:
        put_integer(o, bson_iter_int32(it), false);
        return true;
    case BSON_TYPE_INT64:
        put_integer(o, bson_iter_int64(it), true);
        return true;
    case BSON_TYPE_BOOL:
        if (bson_iter_bool(it))
            PUT_LIT(o, "true");
        else
            PUT_LIT(o, "false");
        return true;
    case BSON_TYPE_NULL: PUT_LIT(o, "null"); return true;
    case BSON_TYPE_DATE_TIME:
        put_date(o, bson_iter_date_time(it));
        return true;
    case BSON_TYPE_OID: put_oid(o, bson_iter_oid(it)); return true;
    case BSON_TYPE_DOCUMENT:
        bson_iter_document(it, &n, &data);
        return put_document(o, data, n, false);
    case BSON_TYPE_ARRAY:
        bson_iter_array(it, &n, &data);
        return put_document(o, data, n, true);
    case BSON_TYPE_BINARY: put_binary(o, it); return true;
    case BSON_TYPE_REGEX: return put_regex(o, it);
    case BSON_TYPE_TIMESTAMP: put_timestamp(o, it); return true;
    case BSON_TYPE_DECIMAL128: put_decimal(o, it); return true;
    case BSON_TYPE_DBPOINTER: return put_dbpointer(o, it);
    case BSON_TYPE_CODE:
        s = bson_iter_code(it, &n);
        return put_text_value(o, "{\"$code\":", s, n);
    case BSON_TYPE_SYMBOL:
        s = bson_iter_symbol(it, &n);
        return put_text_value(o, "{\"$symbol\":", s, n);
    case BSON_TYPE_CODEWSCOPE: return put_codewscope(o, it);
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY: put_marker(o, type); return true;
    default: return false; /* not a type of BSON */
    }
}

static bool put_document(struct out *o, const uint8_t *data, uint32_t len,
                         bool array)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len))
        return false;
    put(o, array ? "[" : "{", 1);
    bool first = true;
    while (bson_iter_next(&it)) {
        if (!first)
            PUT_LIT(o, ",");
        first = false;
        if (!array) {
            uint32_t klen = bson_iter_key_len(&it);
            if (!put_string(o, bson_iter_key(&it), klen))
                return false;
            PUT_LIT(o, ":");
        }
        if (!put_value(o, &it))
            return false;
    }
    if (it.err_off) /* not BSON: it stopped short */
        return false;
    put(o, array ? "]" : "}", 1);
    return true;
}

char *mg_doc_json(const bson_t *doc, int format, size_t *len)
{
    struct out o = {.format = format};
    reserve(&o, doc->len + doc->len / 4);
    if (!put_document(&o, bson_get_data(doc), doc->len, false)) {
        bson_free(o.data);
        return NULL;
    }
    o.data[o.len] = '\0';
    if (len)
        *len = o.len;
    return o.data;
}
