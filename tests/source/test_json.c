/* test_json.c [COUNT] [SEED]: source_mongo's relaxed extended JSON
 * (plugins/source_mongo/json.c) against libbson's, byte for byte, on
 * generated documents: every type it writes itself (strings with every
 * ASCII byte, multi-byte and broken UTF-8, doubles from random bits,
 * dates at and beyond the ISO range, nested documents and arrays), and
 * types it leaves to libbson. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/source_mongo/mongo.h"

const sluice_host_api *mg_host; /* json.c does not use it */

static uint64_t state;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int pick(int n) { return (int)(next() % (uint64_t)n); }

static void random_text(char *buf, size_t *len)
{
    static const char *pieces[] = {"a", "Z", "\"", "\\", "/", "\b", "\t",
                                   "\n", "\f", "\r", "\x01", "\x1f", "\x7f",
                                   " ", "é", "€", "😀", "\xe2\x80\xa8", "{",
                                   "}", "$", "\xc3", "\xed\xa0\x80",
                                   "\xf4\x90\x80\x80", "\xc0\xaf", "\0"};
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
    static const int64_t edges[] = {0, -1, 999, 1000, 253402300799999LL,
                                    253402300800000LL, -62135596800000LL};
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
    case 0: random_text(text, &len); bson_append_utf8(d, key, -1, text, (int)len); break;
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
    case 8: random_text(text, &len); bson_append_utf8(d, key, -1, text, (int)len); break;
    case 9: case 10: {
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
    case 11: BSON_APPEND_BINARY(d, key, BSON_SUBTYPE_BINARY, (const uint8_t *)"ab", 2); break;
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

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 50000;
    state = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x9e3779b97f4a7c15ULL;
    long failures = 0, own = 0;
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
               "them itself)\n",
               count, own);
    /* most documents must have been written by json.c itself, or this
     * tested nothing */
    if (own < count / 3) {
        printf("FAIL: json.c wrote only %ld of %ld documents itself\n", own,
               count);
        failures++;
    }
    return failures ? 1 : 0;
}
