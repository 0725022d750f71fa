/* test_json.c [COUNT] [SEED]: source_mongo's relaxed extended JSON
 * (plugins/source_mongo/json.c) against libbson's, byte for byte, on
 * generated documents: every type it writes itself (strings with every
 * ASCII byte, multi-byte and broken UTF-8, doubles from random bits,
 * dates at and beyond the ISO range, nested documents and arrays), and
 * types it leaves to libbson. And the repair of text that is not valid
 * UTF-8 (plugins/source_mongo/malformed.c): U+FFFD as Python's "replace"
 * decodes, the original bytes kept at their paths, every generated
 * document that libbson refuses written once repaired, every other one
 * left as it was. */
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
    switch (pick(8)) {
    case 0: return (double)(int64_t)(next() % 2000000) - 1000000;
    case 1: return NAN;
    case 2: return pick(2) ? INFINITY : -INFINITY;
    case 3: return -0.0;
    case 4: return (double)pick(1000) / 8.0;
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
                                    -62135596800000LL};
    if (pick(4) == 0)
        return edges[pick(7)];
    return (int64_t)(next() % 300000000000000ULL) - 10000000000000LL;
}

static void random_doc(bson_t *d, int depth, bool array, bool exotic);

static void random_value(bson_t *d, const char *key, int depth, bool exotic)
{
    char text[4096];
    size_t len;
    int kinds = depth < 3 ? 11 : 9;
    switch (pick(exotic ? kinds + 3 : kinds)) {
    case 0:
        random_text(text, &len);
        bson_append_utf8(d, key, -1, text, (int)len);
        break;
    case 1: BSON_APPEND_DOUBLE(d, key, random_double()); break;
    case 2: BSON_APPEND_INT32(d, key, (int32_t)next()); break;
    case 3: BSON_APPEND_INT64(d, key, (int64_t)next()); break;
    case 4: BSON_APPEND_BOOL(d, key, pick(2)); break;
    case 5: BSON_APPEND_NULL(d, key); break;
    case 6: BSON_APPEND_DATE_TIME(d, key, random_date()); break;
    case 7: {
        bson_oid_t oid;
        for (int i = 0; i < 12; i++)
            oid.bytes[i] = (uint8_t)next();
        BSON_APPEND_OID(d, key, &oid);
        break;
    }
    case 8:
        random_text(text, &len);
        bson_append_utf8(d, key, -1, text, (int)len);
        break;
    case 9:
    case 10: {
        bson_t child;
        bool arr = kinds == 11 && pick(2);
        if (arr)
            bson_append_array_begin(d, key, -1, &child);
        else
            bson_append_document_begin(d, key, -1, &child);
        random_doc(&child, depth + 1, arr, exotic);
        if (arr)
            bson_append_array_end(d, &child);
        else
            bson_append_document_end(d, &child);
        break;
    }
    case 11:
        BSON_APPEND_BINARY(d, key, BSON_SUBTYPE_BINARY, (const uint8_t *)"ab",
                           2);
        break;
    case 12: BSON_APPEND_TIMESTAMP(d, key, (uint32_t)next(), 7); break;
    default: BSON_APPEND_REGEX(d, key, "^a.*", "i"); break;
    }
}

static void random_doc(bson_t *d, int depth, bool array, bool exotic)
{
    int n = pick(8);
    for (int i = 0; i < n; i++) {
        char key[4096];
        if (array) {
            snprintf(key, sizeof key, "%d", i);
        } else {
            size_t len;
            random_text(key, &len);
            key[len] = '\0'; /* a NUL piece cuts the key short */
            if (!key[0] || strlen(key) != len)
                snprintf(key, sizeof key, "k%d", i);
        }
        random_value(d, key, depth, exotic);
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
            printf("FAIL replacement %zu: %zu bytes, want %zu\n", i, n, want);
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
    char *json = fixed ? mg_doc_json(fixed, NULL) : NULL;
    bson_iter_t it, child;
    const uint8_t *data;
    uint32_t len;
    bool ok = json && replaced == 5 &&
              bson_utf8_validate(json, strlen(json), false) &&
              strstr(json, "\"code\" : { \"$code\" : \"x\xef\xbf\xbd\" }") &&
              strstr(json, "\"fine\" : \"ok\"") &&
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
        printf("FAIL repair: %s\n", json ? json : "(null)");
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
        printf("FAIL repair of a field name\n");
        failures++;
    }
    if (fixed)
        bson_destroy(fixed);
    bson_destroy(named);
    bson_destroy(d);
    return failures;
}

/* A generated document repaired: written when libbson refused it, with
 * valid UTF-8 and _sluice_malformed; left byte for byte as it was when
 * libbson did not. */
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
        char *json = mg_doc_json(fixed, &n);
        bson_iter_t it;
        ok = json && replaced > 0 && bson_utf8_validate(json, n, true) &&
             bson_iter_init_find(&it, fixed, "_sluice_malformed");
        bson_free(json);
    }
    bson_destroy(fixed);
    return ok;
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 50000;
    state = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x9e3779b97f4a7c15ULL;
    long failures = replacement_failures() + repair_failures(), own = 0,
         refused = 0;
    for (long i = 0; i < count && failures < 5; i++) {
        bson_t *d = bson_new();
        random_doc(d, 0, false, i % 4 == 3);
        size_t n1 = 0, n2 = 0;
        char *mine = mg_doc_json_own(d, &n1);
        if (mine)
            own++;
        else
            mine = mg_doc_json(d, &n1);
        char *theirs = bson_as_relaxed_extended_json(d, &n2);
        refused += !theirs;
        if (!repair_holds(d, !theirs)) {
            printf("FAIL repair of document %ld\n", i);
            failures++;
        }
        if (!mine != !theirs || (mine && (n1 != n2 || strcmp(mine, theirs)))) {
            printf("FAIL document %ld:\n  json.c: %s\n  libbson: %s\n", i,
                   mine ? mine : "(null)", theirs ? theirs : "(null)");
            failures++;
        }
        bson_free(mine);
        bson_free(theirs);
        bson_destroy(d);
    }
    if (!failures)
        printf("%ld documents: json.c writes what libbson writes (%ld of "
               "them itself); the %ld that libbson refuses are written "
               "once repaired\n",
               count, own, refused);
    /* most documents must have been written by json.c itself, or this
     * tested nothing */
    if (refused < count / 100) {
        printf("FAIL: only %ld of %ld documents had broken text\n", refused,
               count);
        failures++;
    }
    if (own < count / 3) {
        printf("FAIL: json.c wrote only %ld of %ld documents itself\n", own,
               count);
        failures++;
    }
    return failures ? 1 : 0;
}
