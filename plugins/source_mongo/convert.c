/* convert.c: what identifies a record: its key, _id as the destination
 * shows it (an ObjectId's hex, a string itself, any other value, and the
 * empty string, its compact canonical extended JSON, so that 1, 1.0 and
 * "1" stay different keys; or, id_format = extended, that JSON for every
 * _id), and its version, from a cluster time. */
#include <string.h>

#include "mongo.h"

/* Leaves out the spaces libbson writes between tokens; the text is valid
 * JSON, so a space outside a string is never data. Returns the new
 * length. */
static size_t compact(char *text, size_t n)
{
    size_t out = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (in_string) {
            text[out++] = c;
            if (c == '\\' && i + 1 < n)
                text[out++] = text[++i];
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
            text[out++] = c;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            text[out++] = c;
        }
    }
    text[out] = '\0';
    return out;
}

char *mg_key_canonical(const bson_value_t *id, size_t *len)
{
    /* libbson writes documents: the value is wrapped as {"v":VALUE} */
    bson_t wrap = BSON_INITIALIZER;
    bson_append_value(&wrap, "v", 1, id);
    size_t n;
    char *text = bson_as_canonical_extended_json(&wrap, &n);
    bson_destroy(&wrap);
    static const char prefix[] = "{\"v\":";
    n = text ? compact(text, n) : 0;
    size_t p = sizeof prefix - 1;
    if (!text || n < p + 1 || memcmp(text, prefix, p) != 0) {
        bson_free(text);
        *len = 0;
        return NULL;
    }
    memmove(text, text + p, n - p - 1);
    text[n - p - 1] = '\0';
    *len = n - p - 1;
    return text;
}

char *mg_key(const bson_value_t *id, int id_format, size_t *len)
{
    if (id_format == MG_ID_NATURAL && id->value_type == BSON_TYPE_OID) {
        char *hex = bson_malloc(25);
        bson_oid_to_string(&id->value.v_oid, hex);
        *len = 24;
        return hex;
    }
    /* a key is never empty: the empty string is its JSON, "" */
    if (id_format == MG_ID_NATURAL && id->value_type == BSON_TYPE_UTF8 &&
        id->value.v_utf8.len > 0) {
        const char *s = id->value.v_utf8.str;
        size_t n = id->value.v_utf8.len;
        if (!bson_utf8_validate(s, n, true)) {
            *len = 0;
            return NULL; /* mg_malformed_key gives it a form of its own */
        }
        char *copy = bson_malloc(n + 1);
        memcpy(copy, s, n);
        copy[n] = '\0';
        *len = n;
        return copy;
    }
    return mg_key_canonical(id, len);
}

uint64_t mg_version(uint32_t t, uint32_t i)
{
    return (uint64_t)t << 32 | i;
}
