/* json.h: writing JSON text (the --json outputs). Reading JSON is
 * libbson's job, never hand-written. */
#ifndef SLUICE_UTIL_JSON_H
#define SLUICE_UTIL_JSON_H

#include <stddef.h>

#include "buf.h"

/* A quoted, escaped JSON string of a --json output, /health or the like:
 * secrets masked (util/redact.h); NULL is written as null. */
void json_string(struct buf *b, const char *s);
/* The same for data, as it is (a record's table): nothing masked. */
void json_string_n(struct buf *b, const char *s, size_t len);

#endif
