/* redact.h: secrets out of text, by one mechanism. This is the only place
 * that knows what a secret looks like; every surface calls redact()
 * before text leaves the process or is stored: the log (log.c, core and
 * plugins alike); messages written to the store (a DBV_MESSAGE parameter:
 * last_error, transition reasons, request, subscription and maintenance
 * messages, which store_exec masks) and read back from it (so rows that
 * older versions wrote are masked too); JSON strings (json.c: --json,
 * /health); the tables of `status`, `history`, `events` (cli_shown);
 * option values (`check --print`, the stored settings); /metrics labels.
 *
 * What is masked (as REDACT_MASK):
 *   - the password of a URL's userinfo: scheme://user:PASSWORD@host
 *   - the value of a `name=value` whose name holds password, passwd, pwd,
 *     secret, token or key: URL query parameters (up to &, ; or #) and libpq
 *     keyword/value strings (host=h password=VALUE, or 'quoted value')
 *   - each value of MongoDB's authMechanismProperties=KEY:VALUE,...
 *   - every value remembered with redact_remember*(): the config remembers
 *     the value of each option marked SLUICE_OPTION_SECRET and the secrets
 *     inside each SLUICE_OPTION_URL option when it is loaded, so that a
 *     plugin repeating its password bare is masked too. Values shorter
 *     than REDACT_MIN_REMEMBERED bytes are not remembered: they would mask
 *     ordinary words everywhere.
 *
 * Thread-safe: the remembered values are shared by every thread. */
#ifndef SLUICE_UTIL_REDACT_H
#define SLUICE_UTIL_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define REDACT_MASK "********"
#define REDACT_MIN_REMEMBERED 4

/* Appends `text` with every secret in it masked. NULL appends nothing. */
void redact(const char *text, struct buf *out);
/* The same as a new string (the caller frees it); NULL for NULL. */
char *redact_dup(const char *text);
/* Masks the secrets of a NUL-terminated message in its own buffer of
 * `size` bytes (a struct error's, a plugin's error buffer). */
void redact_in_place(char *message, size_t size);
/* For a log line or a cell of a table for people: secrets masked, and
 * control characters (bytes below 0x20 and 0x7f) written as visible
 * escapes (\n, \r, \t, \x1b), the C1 controls (U+0080 to U+009F) as
 * \u009b, so that no text can pass for a line of its own or move a
 * terminal's cursor. */
void redact_line(const char *text, struct buf *out);

/* Remembers `value` as a secret wherever it appears (and its
 * percent-decoded form). */
void redact_remember(const char *value);
/* Remembers the secrets that the forms above find in `text` (a URL, a
 * connection string). */
void redact_remember_in(const char *text);
/* Forgets every remembered value. */
void redact_forget(void);

#endif
