/* body.c: the JSON body of an API request, read by libbson against the
 * fields the endpoint takes: an object whose every member is a field of
 * the endpoint, of that field's type. Anything else is an error naming
 * the field. */
#include "body.h"

#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/mem.h"

static const char *type_name(enum body_type t)
{
    return t == BODY_BOOL     ? "true or false"
           : t == BODY_STRING ? "a string"
                              : "an array of strings";
}

/* Whether the string has no NUL in it (\u0000 would cut it short). */
static bool whole_string(const bson_iter_t *it)
{
    uint32_t len;
    const char *s = bson_iter_utf8(it, &len);
    return strlen(s) == len;
}

/* The field's value from the iterator; -1 when it is of another type. */
static int take(struct body *b, const struct body_field *f, bson_iter_t *it)
{
    switch (f->type) {
    case BODY_BOOL:
        if (!BSON_ITER_HOLDS_BOOL(it))
            return -1;
        *(bool *)f->out = bson_iter_bool(it);
        return 0;
    case BODY_STRING:
        if (!BSON_ITER_HOLDS_UTF8(it) || !whole_string(it))
            return -1;
        *(const char **)f->out = bson_iter_utf8(it, NULL);
        return 0;
    case BODY_STRINGS: {
        bson_iter_t items;
        if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &items))
            return -1;
        size_t n = 0;
        while (bson_iter_next(&items)) {
            if (!BSON_ITER_HOLDS_UTF8(&items) || !whole_string(&items))
                return -1;
            XGROW(b->strings, b->strings_cap, n + 1);
            b->strings[n++] = bson_iter_utf8(&items, NULL);
        }
        *(const char *const **)f->out = (const char *const *)b->strings;
        *f->count = n;
        return 0;
    }
    }
    return -1;
}

int body_parse(const char *text, size_t len, const struct body_field *fields,
               size_t count, struct body *b, struct error *err)
{
    memset(b, 0, sizeof *b);
    size_t start = 0;
    while (start < len && strchr(" \t\r\n", text[start]))
        start++;
    if (start == len)
        return 0; /* no body: no fields */
    if (text[start] != '{')
        return error_set(err, "the body is not a JSON object");
    bson_error_t berr;
    if (!bson_init_from_json(&b->doc, text + start, (ssize_t)(len - start),
                             &berr))
        return error_set(err, "the body is not JSON: %s", berr.message);
    b->parsed = true;
    bson_iter_t it;
    bson_iter_init(&it, &b->doc);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        const struct body_field *f = NULL;
        for (size_t i = 0; i < count && !f; i++)
            if (!strcmp(fields[i].name, key))
                f = &fields[i];
        if (!f) {
            struct buf known = {0};
            for (size_t i = 0; i < count; i++)
                buf_printf(&known, "%s%s", i ? ", " : "", fields[i].name);
            error_set(err, "body: unknown field '%.100s' (%s%s)", key,
                      count ? "known: " : "this request takes none",
                      count ? known.data : "");
            buf_free(&known);
            return -1;
        }
        if (take(b, f, &it) < 0)
            return error_set(err, "body: field '%s' must be %s", f->name,
                             type_name(f->type));
    }
    return 0;
}

void body_free(struct body *b)
{
    if (b->parsed)
        bson_destroy(&b->doc);
    free(b->strings);
    memset(b, 0, sizeof *b);
}
