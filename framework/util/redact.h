/* redact.h: masking secrets inside text that is about to be printed. */
#ifndef SLUICE_UTIL_REDACT_H
#define SLUICE_UTIL_REDACT_H

#include <stdbool.h>

#include "buf.h"

#define REDACT_MASK "********"

/* Appends `url` with the password of its userinfo (scheme://user:PASSWORD@
 * host) replaced by REDACT_MASK, and any query parameter whose name says
 * it holds a secret (password, secret, token, key) masked too. */
void redact_url(const char *url, struct buf *out);

#endif
