/* bench_json.c [COUNT]: source_mongo's JSON writer (plugins/source_mongo/
 * json.c) alone, on COUNT generated documents of three shapes: "common",
 * the common types of an application's document (strings with escapes,
 * int32, int64, doubles, booleans, null, a date, ObjectIds, an array of
 * strings, nested documents; about 450 bytes), "mixed", the same with a
 * Decimal128 and binary data, and "pad", the shape bench_source_mongo
 * reads ({_id: ObjectId, n: int64, pad: 1 KiB of text}). Prints MB/s of BSON
 * read and documents/s for each form of doc_format, and for libbson's
 * bson_as_relaxed_extended_json as the baseline of the same run.
 *
 * Built with -DBENCH_JSON_BEFORE_FORMATS, it measures the writer of before
 * doc_format (mg_doc_json(doc, len), relaxed only), for the side by side
 * of bench/results.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../plugins/source_mongo/mongo.h"

const sluice_host_api *mg_host; /* used by none of the functions measured */

#ifdef BENCH_JSON_BEFORE_FORMATS
#define WRITE(doc, format, len) mg_doc_json((doc), (len))
static const char *const forms[] = {"relaxed"};
#else
#define WRITE(doc, format, len) mg_doc_json((doc), (format), (len))
static const char *const forms[] = {"clickpipes", "relaxed", "canonical"};
#endif
#define FORM_COUNT (sizeof forms / sizeof *forms)

/* An application's document; `rare` adds a Decimal128 and binary data,
 * types the writer before doc_format left to libbson. */
static bson_t *document(int i, bool rare)
{
    bson_t *d = bson_new(), sub, deep, tags;
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    BSON_APPEND_OID(d, "_id", &oid);
    BSON_APPEND_INT32(d, "n", i);
    BSON_APPEND_UTF8(d, "name", "customer \"quoted\" \\ é ✓ \t tab");
    BSON_APPEND_DOUBLE(d, "price", (double)(i % 10000) / 100.0);
    BSON_APPEND_DOUBLE(d, "whole", 1000.0);
    BSON_APPEND_INT64(d, "big", (int64_t)i * 1000003);
    BSON_APPEND_BOOL(d, "flag", i % 2);
    BSON_APPEND_NULL(d, "none");
    BSON_APPEND_DATE_TIME(d, "at", 1704164645678LL + i);
    BSON_APPEND_OID(d, "ref", &oid);
    if (rare) {
        bson_decimal128_t dec;
        bson_decimal128_from_string("1234.56", &dec);
        BSON_APPEND_DECIMAL128(d, "dec", &dec);
        BSON_APPEND_BINARY(d, "bin", BSON_SUBTYPE_UUID,
                           (const uint8_t *)"0123456789abcdef", 16);
    }
    BSON_APPEND_ARRAY_BEGIN(d, "tags", &tags);
    BSON_APPEND_UTF8(&tags, "0", "red");
    BSON_APPEND_UTF8(&tags, "1", "green");
    BSON_APPEND_UTF8(&tags, "2", "blue");
    bson_append_array_end(d, &tags);
    BSON_APPEND_DOCUMENT_BEGIN(d, "address", &sub);
    BSON_APPEND_UTF8(&sub, "street", "1 Long Street, Apartment 42");
    BSON_APPEND_UTF8(&sub, "city", "Springfield");
    BSON_APPEND_INT32(&sub, "zip", 12345);
    BSON_APPEND_DOCUMENT_BEGIN(&sub, "geo", &deep);
    BSON_APPEND_DOUBLE(&deep, "lat", 48.8566);
    BSON_APPEND_DOUBLE(&deep, "lon", 2.3522);
    bson_append_document_end(&sub, &deep);
    bson_append_document_end(d, &sub);
    BSON_APPEND_UTF8(d, "note",
                     "a longer text field of plain words, as comments and "
                     "descriptions are, with no character to escape in it");
    return d;
}

static bson_t *mixed(int i)
{
    return document(i, true);
}

static bson_t *common(int i)
{
    return document(i, false);
}

static bson_t *pad(int i)
{
    static char text[977];
    memset(text, 'x', sizeof text - 1);
    bson_t *d = bson_new();
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    BSON_APPEND_OID(d, "_id", &oid);
    BSON_APPEND_INT64(d, "n", i);
    BSON_APPEND_UTF8(d, "pad", text);
    return d;
}

/* CPU seconds of this process: steadier than wall time on a shared
 * machine. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds to write every document once, and the JSON's bytes. */
static double run(bson_t **docs, int count, int form, bool libbson,
                  size_t *bytes)
{
    double start = cpu_seconds();
    *bytes = 0;
    for (int i = 0; i < count; i++) {
        size_t len = 0;
        char *json = libbson ? bson_as_relaxed_extended_json(docs[i], &len)
                             : WRITE(docs[i], form, &len);
        if (!json) {
            fprintf(stderr, "bench_json: document %d not written\n", i);
            exit(1);
        }
        *bytes += len;
        bson_free(json);
    }
    (void)form;
    return cpu_seconds() - start;
}

static void shape(const char *name, bson_t *(*make)(int), int count)
{
    bson_t **docs = malloc((size_t)count * sizeof *docs);
    size_t in = 0, out;
    for (int i = 0; i < count; i++) {
        docs[i] = make(i);
        in += docs[i]->len;
    }
    for (size_t f = 0; f <= FORM_COUNT; f++) {
        bool libbson = f == FORM_COUNT;
        /* the best of five: the machine is shared */
        double best = 1e30;
        for (int k = 0; k < 5; k++) {
            double secs = run(docs, count, (int)f, libbson, &out);
            best = secs < best ? secs : best;
        }
        printf("%s %-22s %10.0f docs/s %7.1f MB/s of BSON, %zu bytes of "
               "JSON a document\n",
               name, libbson ? "libbson_relaxed" : forms[f],
               (double)count / best, (double)in / best / 1e6,
               out / (size_t)count);
    }
    for (int i = 0; i < count; i++)
        bson_destroy(docs[i]);
    free(docs);
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 200000;
    shape("common", common, count);
    shape("mixed", mixed, count);
    shape("pad", pad, count);
    return 0;
}
