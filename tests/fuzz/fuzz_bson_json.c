/* fuzz_bson_json.c: source_mongo's BSON to JSON writer (mg_doc_json,
 * compiled in), against libbson's, on any BSON document (the bytes, with
 * their length word set to their size). In every doc_format, what the
 * writer writes is JSON (yajl reads it), and it refuses only documents
 * that libbson refuses too (it may write one libbson refuses: an array
 * whose keys, which JSON does not show, are not UTF-8) and every one
 * whose bytes do not add up. In relaxed and canonical, what both write
 * reads back (libbson's extended JSON reader) as the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "mongo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_json(const char *text, size_t len)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    bool ok =
        yajl_parse(h, (const unsigned char *)text, len) == yajl_status_ok &&
        yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok;
}

/* Says how the writers differ, and stops. */
static void differ(const char *what, int format, const char *ours,
                   const char *ref)
{
    fprintf(stderr,
            "fuzz_bson_json: %s in format %d\n  ours:    %s\n"
            "  libbson: %s\n",
            what, format, ours ? ours : "(refused)", ref ? ref : "(refused)");
    abort();
}

/* Both texts as the values they read back as; a text libbson cannot read
 * back is not compared. */
static void same_values(int format, const char *ours, size_t ours_len,
                        const char *ref, size_t ref_len)
{
    bson_error_t e;
    bson_t *r = bson_new_from_json((const uint8_t *)ref, (ssize_t)ref_len, &e);
    if (!r)
        return;
    bson_t *o =
        bson_new_from_json((const uint8_t *)ours, (ssize_t)ours_len, &e);
    if (!o || !bson_equal(o, r)) /* libbson reads its own text back */
        differ("not the same values", format, ours, ref);
    bson_destroy(o);
    bson_destroy(r);
}

/* Whether the bytes add up: every element of the document and of the
 * documents, arrays and scopes in it can be read (bson_validate does not look
 * inside them all, and it refuses keys that are not UTF-8, which a
 * writer of JSON leaves out for an array). */
static bool readable(const uint8_t *data, uint32_t len, int depth)
{
    bson_iter_t it;
    if (depth > 1000 || !bson_iter_init_from_data(&it, data, len))
        return false;
    while (bson_iter_next(&it)) {
        uint32_t n;
        const uint8_t *inner;
        if (BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &n, &inner);
        else if (BSON_ITER_HOLDS_ARRAY(&it))
            bson_iter_array(&it, &n, &inner);
        else if (BSON_ITER_HOLDS_CODEWSCOPE(&it))
            bson_iter_codewscope(&it, &(uint32_t){0}, &n, &inner);
        else
            continue;
        if (!readable(inner, n, depth + 1))
            return false;
    }
    return !it.err_off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5 || size > (1u << 20))
        return 0;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    uint32_t n = (uint32_t)size;
    for (int i = 0; i < 4; i++)
        copy[i] = (uint8_t)(n >> (8 * i));
    bson_t doc;
    if (!bson_init_static(&doc, copy, size)) {
        free(copy);
        return 0;
    }
    bool valid = readable(copy, n, 0);
    for (int format = MG_DOC_CLICKPIPES; format <= MG_DOC_CANONICAL;
         format++) {
        size_t len = 0, ref_len = 0;
        char *ours = mg_doc_json(&doc, format, &len);
        char *ref = format == MG_DOC_CANONICAL
                        ? bson_as_canonical_extended_json(&doc, &ref_len)
                        : bson_as_relaxed_extended_json(&doc, &ref_len);
        /* libbson refuses a value inside a document by leaving it out,
         * which is no JSON; where the bytes do not add up, it may write
         * the part before (an empty document) */
        bool refused = !ref || !is_json(ref, ref_len) || !valid;
        if (!ours && !refused)
            differ("a document libbson writes refused", format, ours, ref);
        if (ours && !valid)
            differ("a document that is not BSON written", format, ours, ref);
        if (ours && (strlen(ours) != len || !is_json(ours, len)))
            differ("not JSON", format, ours, NULL);
        if (ours && !refused && format != MG_DOC_CLICKPIPES)
            same_values(format, ours, len, ref, ref_len);
        bson_free(ref);
        bson_free(ours);
    }
    free(copy);
    return 0;
}
