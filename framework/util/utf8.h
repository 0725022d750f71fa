/* utf8.h: telling valid UTF-8 from bytes that are not, for text that
 * leaves the process (JSON, messages cut to fit a buffer). */
#ifndef SLUICE_UTIL_UTF8_H
#define SLUICE_UTIL_UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the valid UTF-8 sequence at the start of the
 * `len` bytes at `s`, or 0 when they do not start with one (a stray
 * continuation byte, an overlong form, a surrogate, a sequence cut off). */
size_t utf8_sequence(const char *s, size_t len);

/* How many of the `len` bytes at `s` to keep so that a sequence cut off at
 * the end (by a cut to fit a buffer) is dropped whole. */
size_t utf8_whole(const char *s, size_t len);

#endif
