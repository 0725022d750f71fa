/* json.h: writing JSON text (the --json outputs, /health, the records of
 * `sluice topic consume`). Reading JSON is libbson's job, never
 * hand-written.
 *
 * Every string written is valid UTF-8 JSON whatever its bytes (a byte
 * that is not UTF-8 becomes U+FFFD), and, unless it is data written as it
 * is, has its secrets masked (util/redact.h). */
#ifndef SLUICE_UTIL_JSON_H
#define SLUICE_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A quoted, escaped JSON string, secrets masked; NULL is written as null. */
void json_string(struct buf *b, const char *s);
/* The same for data, as it is (a record's table): nothing masked. */
void json_string_n(struct buf *b, const char *s, size_t len);

/* A JSON text written value by value into `out`: the writer puts the
 * commas and the colons. Each function takes the member's key inside an
 * object (masked, as a name may hold a secret), NULL inside an array or
 * for the outermost value. The caller closes what it opens.
 *     struct json j = JSON_INIT(&out);
 *     json_open_object(&j, NULL);
 *     json_add_string(&j, "name", name);
 *     json_add_count(&j, "lag_ms", lag);
 *     json_close_object(&j);            ->  {"name":"x","lag_ms":null} */
struct json {
    struct buf *out;  /* borrowed */
    bool after_value; /* the next value needs a comma before it */
};
#define JSON_INIT(out)                                                        \
    {                                                                         \
        (out), false                                                          \
    }

void json_open_object(struct json *j, const char *key);
void json_close_object(struct json *j);
void json_open_array(struct json *j, const char *key);
void json_close_array(struct json *j);

/* A string, secrets masked; NULL: null. */
void json_add_string(struct json *j, const char *key, const char *s);
/* A string of data, as it is (nothing masked). */
void json_add_data(struct json *j, const char *key, const char *s, size_t len);
/* Text that is JSON already (a record's key or document), as it is;
 * NULL: null. */
void json_add_raw(struct json *j, const char *key, const char *text,
                  size_t len);
void json_add_int(struct json *j, const char *key, int64_t v);
void json_add_uint(struct json *j, const char *key, uint64_t v);
/* A count or a figure, null when negative (unknown). */
void json_add_count(struct json *j, const char *key, int64_t v);
/* A figure kept in tenths, as a number with one decimal (333: 33.3), null
 * when negative (unknown). */
void json_add_tenths(struct json *j, const char *key, int64_t tenths);
void json_add_bool(struct json *j, const char *key, bool v);
void json_add_null(struct json *j, const char *key);
/* A time as an ISO 8601 UTC string (util/clock.h), null when negative
 * (unknown). */
void json_add_time(struct json *j, const char *key, int64_t ms);

#endif
