/* json.h: writing JSON text (the --json outputs). Reading JSON is
 * libbson's job, never hand-written. */
#ifndef SLUICE_UTIL_JSON_H
#define SLUICE_UTIL_JSON_H

#include <stddef.h>

#include "buf.h"

/* A quoted, escaped JSON string; NULL is written as null. */
void json_string(struct buf *b, const char *s);
void json_string_n(struct buf *b, const char *s, size_t len);

#endif
