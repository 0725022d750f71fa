/* body.h: reading an API request's JSON body into the fields its
 * endpoint takes (body.c). */
#ifndef SLUICE_API_BODY_H
#define SLUICE_API_BODY_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util/error.h"

enum body_type {
    BODY_BOOL,   /* out: bool * */
    BODY_STRING, /* out: const char ** */
    BODY_STRINGS /* out: const char *const **, with count: size_t * */
};

struct body_field {
    const char *name;
    enum body_type type;
    void *out; /* set when the body has the field; kept otherwise */
    size_t *count;
};

/* What the values point into: owned by the caller, body_free. */
struct body {
    bson_t doc;
    bool parsed;
    const char **strings;
    size_t strings_cap;
};

/* Reads the body (empty: no fields) into the fields; an error names the
 * field that is unknown or of the wrong type. Only one BODY_STRINGS field
 * per call. */
int body_parse(const char *text, size_t len, const struct body_field *fields,
               size_t count, struct body *b, struct error *err);
void body_free(struct body *b);

#endif
