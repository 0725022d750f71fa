/* convert.c: the key as the record's text: canonical extended JSON of
 * _id (so that 1, 1.0 and "1" stay different keys), written by libbson
 * (the document's relaxed extended JSON is json.c's); and errors of
 * libmongoc classified for the core. */
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

sluice_status mg_fail(const bson_error_t *e, const char *what,
                      sluice_error *err)
{
    bool transient = e->domain == MONGOC_ERROR_STREAM ||
                     e->domain == MONGOC_ERROR_SERVER_SELECTION ||
                     e->code == 6 || e->code == 7 || e->code == 89 ||
                     e->code == 91 || e->code == 189 || e->code == 262 ||
                     e->code == 9001 || e->code == 10107 ||
                     e->code == 11600 || e->code == 11602 ||
                     e->code == 13435 || e->code == 13436 ||
                     e->code == 63 || e->code == 150 || e->code == 234 ||
                     e->code == 133 || e->code == 43;
    if (e->code == 286)
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: %s: the oplog no longer holds the "
                           "position to resume from (error 286, "
                           "ChangeStreamHistoryLost: %s); changes were lost: "
                           "enlarge the oplog window, then resync the pipe",
                           what, e->message);
    return sluice_fail(err, transient ? SLUICE_RETRY : SLUICE_FATAL,
                       "source_mongo: %s: %s (error %u)", what, e->message,
                       e->code);
}
