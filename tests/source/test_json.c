/* test_json.c [COUNT [SEED]] | --dump COUNT SEED: source_mongo's JSON
 * writer (plugins/source_mongo/json.c) on generated documents of every
 * BSON type, nested, with strings of every ASCII byte, multi-byte and
 * broken UTF-8, doubles from random bits, dates at and far beyond the ISO
 * range. Checked here: each form writes valid UTF-8 and refuses exactly
 * the documents libbson refuses; and the repair of text that is not valid
 * UTF-8 (plugins/source_mongo/malformed.c): U+FFFD as Python's "replace"
 * decodes, the original bytes kept at their paths, every refused document
 * written once repaired, every other one left as it was.
 *
 * --dump writes, for each document (repaired when it was refused), its
 * BSON, json.c's clickpipes, relaxed and canonical JSON and libbson's
 * relaxed and canonical JSON, each as a little-endian uint32 length and
 * its bytes: test_json_formats.py compares them with independent
 * references. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/source_mongo/mongo.h"

const sluice_host_api *mg_host; /* used by none of the functions tested */

static uint64_t state;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int pick(int n)
{
    return (int)(next() % (uint64_t)n);
}

static void random_text(char *buf, size_t *len)
{
    static const char *pieces[] = {"a",
                                   "Z",
                                   "\"",
                                   "\\",
                                   "/",
                                   "\b",
                                   "\t",
                                   "\n",
                                   "\f",
                                   "\r",
                                   "\x01",
                                   "\x1f",
                                   "\x7f",
                                   " ",
                                   "é",
                                   "€",
                                   "😀",
                                   "\xe2\x80\xa8",
                                   "{",
                                   "}",
                                   "$",
                                   "\xc3",
                                   "\xed\xa0\x80",
                                   "\xf4\x90\x80\x80",
                                   "\xc0\xaf",
                                   "\0"};
    size_t n = 0, count = (size_t)pick(40);
    bool broken = pick(20) == 0;
    for (size_t i = 0; i < count; i++) {
        int k = pick(broken ? 26 : 21);
        const char *p = pieces[k];
        size_t l = k == 25 ? 1 : strlen(p);
        memcpy(buf + n, p, l);
        n += l;
        if (pick(4) == 0) /* plain runs, so that specials fall at every
                             place of the eight-byte words scanned */
            for (int j = pick(24); j > 0; j--)
                buf[n++] = (char)('a' + pick(26));
    }
    if (pick(10) == 0) /* a long run of plain text */
        for (int i = 0; i < 300; i++)
            buf[n++] = (char)('a' + pick(26));
    *len = n;
}

static double random_double(void)
{
    static const double edges[] = {1e15,
                                   1234567890123456.0,
                                   9007199254740993.0, /* 2^53 + 1 */
                                   1e16,
                                   123456789012345678.0,
                                   1e20,
                                   1e21,
                                   1e300,
                                   5e-324,
                                   DBL_MAX,
                                   0.1,
                                   1e-7,
                                   -2.5e-5,
                                   999999999999999.9};
    switch (pick(9)) {
    case 0: return (double)(int64_t)(next() % 2000000) - 1000000;
    case 1: return NAN;
    case 2: return pick(2) ? INFINITY : -INFINITY;
    case 3: return -0.0;
    case 4: return (double)pick(1000) / 8.0;
    case 5: return (pick(2) ? 1 : -1) * edges[pick(14)];
    default: {
        uint64_t bits = next();
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    }
}

static int64_t random_date(void)
{
    static const int64_t edges[] = {0,
                                    -1,
                                    999,
                                    1000,
                                    253402300799999LL,
                                    253402300800000LL,
                                    -62135596800000LL,
                                    -62167219200000LL, /* 0000-01-01 */
                                    -62167219200001LL,
                                    951782400000LL, /* 2000-02-29 */
                                    INT64_MAX,
                                    INT64_MIN};
    switch (pick(6)) {
    case 0: return edges[pick(12)];
    case 1: return (int64_t)next(); /* far beyond year 9999 or before 0 */
    default: return (int64_t)(next() % 300000000000000ULL) - 10000000000000LL;
    }
}

static void random_decimal(bson_decimal128_t *dec)
{
    static const char *texts[] = {
        "0",         "-0",        "1.10",
        "1E+10",     "NaN",       "Infinity",
        "-Infinity", "1.5E-6143", "-1234567890123456789012345678901234"};
    char text[80];
    if (pick(3) == 0) {
        bson_decimal128_from_string(texts[pick(9)], dec);
        return;
    }
    /* up to 34 digits, any exponent: libbson clamps or says NaN */
    snprintf(text, sizeof text, "%s%llu%.*lluE%d", pick(2) ? "-" : "",
             (unsigned long long)(next() % 10000000000000000ULL), pick(19),
             (unsigned long long)(next() % 1000000000000000000ULL),
             pick(12400) - 6200);
    bson_decimal128_from_string(text, dec);
}

static void random_doc(bson_t *d, int depth, bool array);

/* A document or array below `key`: a value of its own, or the scope of
 * code. */
static void random_child(bson_t *d, const char *key, int depth, bool arr)
{
    bson_t child;
    if (arr)
        bson_append_array_begin(d, key, -1, &child);
    else
        bson_append_document_begin(d, key, -1, &child);
    random_doc(&child, depth + 1, arr);
    if (arr)
        bson_append_array_end(d, &child);
    else
        bson_append_document_end(d, &child);
}

/* A value of any type, the common ones more often. */
static void random_value(bson_t *d, const char *key, int depth)
{
    char text[4096], options[8];
    size_t len;
    bson_oid_t oid;
    bson_decimal128_t dec;
    uint8_t bytes[40];
    for (int i = 0; i < 12; i++)
        oid.bytes[i] = (uint8_t)next();
    int kinds = depth < 3 ? 24 : 22;
    switch (pick(kinds)) {
    case 0:
    case 1:
        random_text(text, &len);
        bson_append_utf8(d, key, -1, text, (int)len);
        break;
    case 2: BSON_APPEND_DOUBLE(d, key, random_double()); break;
    case 3: BSON_APPEND_INT32(d, key, (int32_t)next()); break;
    case 4: BSON_APPEND_INT64(d, key, (int64_t)next()); break;
    case 5: BSON_APPEND_BOOL(d, key, pick(2)); break;
    case 6: BSON_APPEND_NULL(d, key); break;
    case 7: BSON_APPEND_DATE_TIME(d, key, random_date()); break;
    case 8: BSON_APPEND_OID(d, key, &oid); break;
    case 9: {
        static const bson_subtype_t subs[] = {BSON_SUBTYPE_BINARY,
                                              BSON_SUBTYPE_FUNCTION,
                                              BSON_SUBTYPE_BINARY_DEPRECATED,
                                              BSON_SUBTYPE_UUID_DEPRECATED,
                                              BSON_SUBTYPE_UUID,
                                              BSON_SUBTYPE_MD5,
                                              BSON_SUBTYPE_USER};
        uint32_t n = (uint32_t)pick(40);
        for (uint32_t i = 0; i < n; i++)
            bytes[i] = (uint8_t)next();
        bson_append_binary(d, key, -1, subs[pick(7)], bytes, n);
        break;
    }
    case 10: BSON_APPEND_UNDEFINED(d, key); break;
    case 11: {
        random_text(text, &len);
        text[len] = '\0'; /* a cstring: up to a NUL */
        static const char flags[] = "imxslu";
        size_t k = 0;
        for (int i = 0; i < 6; i++)
            if (pick(3) == 0)
                options[k++] = flags[i];
        options[k] = '\0';
        BSON_APPEND_REGEX(d, key, text, options);
        break;
    }
    case 12:
        random_text(text, &len);
        text[len] = '\0';
        bson_append_dbpointer(d, key, -1, text, &oid);
        break;
    case 13:
        random_text(text, &len);
        text[len] = '\0';
        bson_append_code(d, key, -1, text);
        break;
    case 14:
        random_text(text, &len);
        bson_append_symbol(d, key, -1, text, (int)len);
        break;
    case 15: {
        bson_t scope = BSON_INITIALIZER;
        random_text(text, &len);
        text[len] = '\0';
        random_doc(&scope, depth + 1, false);
        bson_append_code_with_scope(d, key, -1, text, &scope);
        bson_destroy(&scope);
        break;
    }
    case 16:
        BSON_APPEND_TIMESTAMP(d, key, (uint32_t)next(), (uint32_t)next());
        break;
    case 17:
        random_decimal(&dec);
        BSON_APPEND_DECIMAL128(d, key, &dec);
        break;
    case 18: BSON_APPEND_MINKEY(d, key); break;
    case 19: BSON_APPEND_MAXKEY(d, key); break;
    case 20: BSON_APPEND_DOUBLE(d, key, random_double()); break;
    case 21: BSON_APPEND_INT32(d, key, pick(1000) - 500); break;
    default: random_child(d, key, depth, pick(2)); break;
    }
}

static void random_doc(bson_t *d, int depth, bool array)
{
    int n = pick(8);
    for (int i = 0; i < n; i++) {
        char key[4096];
        if (array) {
            snprintf(key, sizeof key, "%d", i);
        } else { /* unique: a parsed object keeps one of each name */
            size_t len;
            random_text(key, &len);
            key[len] = '\0'; /* a NUL piece cuts the key short */
            len = strlen(key);
            snprintf(key + len, sizeof key - len, "#%d", i);
        }
        random_value(d, key, depth);
    }
}

/* Inputs and what Python's bytes.decode("utf-8", "replace") makes of
 * them (the first is the example of the Unicode standard, 3.9). */
static const struct {
    const char *in;
    size_t len;
    const char *want;
    size_t want_len;
} replacements[] = {
    {"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", 13,
     "\x61\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x62\xef\xbf\xbd\x63\xef\xbf\xbd\xef\xbf\xbd\x64",
     22},
    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6},
    {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9},
    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9},
    {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
     12},
    {"\xf0\x9f\x98", 3, "\xef\xbf\xbd", 3},
    {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", 4},
    {"\xc3", 1, "\xef\xbf\xbd", 3},
    {"\xc3\xa9", 2, "\xc3\xa9", 2},
    {"\xff\xfe", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6},
    {"\xe2\x82\xac\xe2\x82", 5, "\xe2\x82\xac\xef\xbf\xbd", 6},
    {"\xf8\x88\x80\x80\x80", 5,
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 15},
    {"\x61\x00\xff", 3, "\x61\x00\xef\xbf\xbd", 5},
    {"\xef\xbf\xbd", 3, "\xef\xbf\xbd", 3},
};

static long replacement_failures(void)
{
    long failures = 0;
    for (size_t i = 0; i < sizeof replacements / sizeof *replacements; i++) {
        size_t n = 0, want = replacements[i].want_len;
        char *got =
            mg_utf8_replaced(replacements[i].in, replacements[i].len, &n);
        const char *text = got ? got : replacements[i].in;
        n = got ? n : replacements[i].len;
        if (n != want || memcmp(text, replacements[i].want, n)) {
            fprintf(stderr, "FAIL replacement %zu: %zu bytes, want %zu\n", i,
                    n, want);
            failures++;
        }
        bson_free(got);
    }
    return failures;
}

/* The original bytes at `path` of _sluice_malformed are `bytes`. */
static bool kept(const bson_t *fixed, const char *path, const void *bytes,
                 size_t n)
{
    bson_iter_t it, m;
    const uint8_t *data;
    uint32_t len;
    bson_subtype_t sub;
    if (!bson_iter_init_find(&it, fixed, "_sluice_malformed") ||
        !bson_iter_recurse(&it, &m) || !bson_iter_find(&m, path) ||
        !BSON_ITER_HOLDS_BINARY(&m))
        return false;
    bson_iter_binary(&m, &sub, &len, &data);
    return len == n && !memcmp(data, bytes, n);
}

/* Each kind of text: string, code and symbol replaced at their paths;
 * a broken field name, regular expression or DBPointer keeps its
 * document whole, at that document's path. */
static long repair_failures(void)
{
    long failures = 0;
    bson_t *d = bson_new(), sub, deep, arr;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "5f0000000000000000000001");
    bson_append_code(d, "code", -1, "x\xff");
    bson_append_symbol(d, "sym", -1, "\xc3", 1);
    BSON_APPEND_DOCUMENT_BEGIN(d, "sub", &sub);
    BSON_APPEND_REGEX(&sub, "re", "a\xff", "i");
    BSON_APPEND_DOCUMENT_BEGIN(&sub, "deep", &deep);
    bson_append_utf8(&deep, "s", -1, "\xfe", 1);
    bson_append_document_end(&sub, &deep);
    bson_append_document_end(d, &sub);
    BSON_APPEND_ARRAY_BEGIN(d, "arr", &arr);
    bson_append_dbpointer(&arr, "0", -1, "c\xff", &oid);
    bson_append_array_end(d, &arr);
    BSON_APPEND_UTF8(d, "fine", "ok");
    size_t replaced = 0;
    bson_t *fixed = mg_repaired(d, &replaced);
    char *json = fixed ? mg_doc_json(fixed, MG_DOC_RELAXED, NULL) : NULL;
    bson_iter_t it, child;
    const uint8_t *data;
    uint32_t len;
    bool ok = json && replaced == 5 &&
              bson_utf8_validate(json, strlen(json), false) &&
              strstr(json, "\"code\":{\"$code\":\"x\xef\xbf\xbd\"}") &&
              strstr(json, "\"fine\":\"ok\"") &&
              kept(fixed, "code", "x\xff", 2) && kept(fixed, "sym", "\xc3", 1);
    if (ok && bson_iter_init_find(&it, d, "sub")) {
        bson_iter_document(&it, &len, &data);
        ok = kept(fixed, "sub", data, len) &&
             !kept(fixed, "sub.deep.s", "\xfe", 1);
    }
    if (ok && bson_iter_init_find(&it, d, "arr")) {
        bson_iter_array(&it, &len, &data);
        ok = kept(fixed, "arr", data, len);
    }
    if (!ok) {
        fprintf(stderr, "FAIL repair: %s\n", json ? json : "(null)");
        failures++;
    }
    bson_free(json);
    if (fixed)
        bson_destroy(fixed);
    /* a broken name at the top: the whole document, at "" */
    bson_t *named = bson_new();
    BSON_APPEND_INT32(named, "k\xff", 1);
    fixed = mg_repaired(named, &replaced);
    if (!fixed || replaced != 1 ||
        !kept(fixed, "", bson_get_data(named), named->len) ||
        !bson_iter_init_find(&child, fixed, "k\xef\xbf\xbd")) {
        fprintf(stderr, "FAIL repair of a field name\n");
        failures++;
    }
    if (fixed)
        bson_destroy(fixed);
    bson_destroy(named);
    bson_destroy(d);
    return failures;
}

/* A generated document repaired: written in every form when libbson
 * refused it, with valid UTF-8 and _sluice_malformed; left byte for byte
 * as it was when libbson did not. */
static bool repair_holds(const bson_t *d, bool refused)
{
    size_t replaced = 0, n = 0;
    bson_t *fixed = mg_repaired(d, &replaced);
    if (!fixed)
        return false;
    bool ok;
    if (!refused) {
        ok = replaced == 0 && fixed->len == d->len &&
             !memcmp(bson_get_data(fixed), bson_get_data(d), d->len);
    } else {
        bson_iter_t it;
        ok = replaced > 0 &&
             bson_iter_init_find(&it, fixed, "_sluice_malformed");
        for (int f = MG_DOC_CLICKPIPES; ok && f <= MG_DOC_CANONICAL; f++) {
            char *json = mg_doc_json(fixed, f, &n);
            ok = json && bson_utf8_validate(json, n, true);
            bson_free(json);
        }
    }
    bson_destroy(fixed);
    return ok;
}

static void dump(const char *text, size_t n)
{
    uint32_t len = text ? (uint32_t)n : UINT32_MAX;
    unsigned char le[4] = {(unsigned char)len, (unsigned char)(len >> 8),
                           (unsigned char)(len >> 16),
                           (unsigned char)(len >> 24)};
    fwrite(le, 1, 4, stdout);
    if (text)
        fwrite(text, 1, n, stdout);
}

/* One document through each form: the same refusal as libbson's, valid
 * UTF-8 otherwise; dumped (repaired when refused) with --dump. */
static long document_failures(long i, const bson_t *d, bool dumping,
                              long *refused)
{
    long failures = 0;
    size_t n = 0;
    char *theirs = bson_as_relaxed_extended_json(d, NULL);
    *refused += !theirs;
    for (int f = MG_DOC_CLICKPIPES; f <= MG_DOC_CANONICAL; f++) {
        char *mine = mg_doc_json(d, f, &n);
        if (!mine != !theirs || (mine && (!bson_utf8_validate(mine, n, true) ||
                                          strlen(mine) != n))) {
            fprintf(stderr, "FAIL document %ld, form %d: %s, libbson %s\n", i,
                    f, mine ? mine : "refused",
                    theirs ? "wrote it" : "refused");
            failures++;
        }
        bson_free(mine);
    }
    if (!repair_holds(d, !theirs)) {
        fprintf(stderr, "FAIL repair of document %ld\n", i);
        failures++;
    }
    bson_free(theirs);
    if (!dumping)
        return failures;
    size_t replaced;
    bson_t *fixed = theirs ? bson_copy(d) : mg_repaired(d, &replaced);
    dump((const char *)bson_get_data(fixed), fixed->len);
    for (int f = MG_DOC_CLICKPIPES; f <= MG_DOC_CANONICAL; f++) {
        char *mine = mg_doc_json(fixed, f, &n);
        dump(mine, n);
        bson_free(mine);
    }
    char *relaxed = bson_as_relaxed_extended_json(fixed, &n);
    dump(relaxed, n);
    char *canonical = bson_as_canonical_extended_json(fixed, &n);
    dump(canonical, n);
    bson_free(relaxed);
    bson_free(canonical);
    bson_destroy(fixed);
    return failures;
}

int main(int argc, char **argv)
{
    bool dumping = argc > 1 && !strcmp(argv[1], "--dump");
    int a = dumping ? 2 : 1;
    long count = argc > a ? atol(argv[a]) : 50000;
    state =
        argc > a + 1 ? strtoull(argv[a + 1], NULL, 10) : 0x9e3779b97f4a7c15ULL;
    long failures = replacement_failures() + repair_failures(), refused = 0;
    for (long i = 0; i < count && failures < 5; i++) {
        bson_t *d = bson_new();
        random_doc(d, 0, false);
        failures += document_failures(i, d, dumping, &refused);
        bson_destroy(d);
    }
    /* enough documents must have had broken text, and enough not */
    if (refused < count / 100 || refused > count / 2) {
        fprintf(stderr, "FAIL: %ld of %ld documents had broken text\n",
                refused, count);
        failures++;
    }
    if (!failures)
        fprintf(dumping ? stderr : stdout,
                "%ld documents in three forms: as libbson refuses (%ld, "
                "written once repaired) or writes them, valid UTF-8\n",
                count, refused);
    return failures ? 1 : 0;
}
