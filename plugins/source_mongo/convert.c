/* convert.c: what identifies a record: its key, the canonical extended
 * JSON of _id (so that 1, 1.0 and "1" stay different keys), written by
 * libbson (the document's relaxed extended JSON is json.c's); and its
 * version, from a cluster time. */
#include <string.h>

#include "mongo.h"

/* libbson writes documents: the value is wrapped as { "v" : VALUE } and
 * unwrapped. */
char *mg_key_json(const bson_value_t *id, size_t *len)
{
    bson_t wrap = BSON_INITIALIZER;
    bson_append_value(&wrap, "v", 1, id);
    size_t n;
    char *text = bson_as_canonical_extended_json(&wrap, &n);
    bson_destroy(&wrap);
    static const char prefix[] = "{ \"v\" : ", suffix[] = " }";
    size_t p = sizeof prefix - 1, s = sizeof suffix - 1;
    if (!text || n < p + s) {
        bson_free(text);
        *len = 0;
        return NULL;
    }
    memmove(text, text + p, n - p - s);
    text[n - p - s] = '\0';
    *len = n - p - s;
    return text;
}

uint64_t mg_version(uint32_t t, uint32_t i)
{
    return (uint64_t)t << 32 | i;
}
