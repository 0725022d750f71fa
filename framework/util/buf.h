/* buf.h: a growable byte buffer, always NUL-terminated after `len` bytes so
 * that text built in it can be used as a C string. Owns its bytes. */
#ifndef SLUICE_UTIL_BUF_H
#define SLUICE_UTIL_BUF_H

#include <sluice/status.h> /* SLUICE_PRINTF */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
/* The same, the bytes on an address that is a multiple of `align` (a
 * power of two, at least the size of a pointer) whenever they must move:
 * a buffer written to a file with direct I/O needs no copy. */
void buf_reserve_aligned(struct buf *b, size_t extra, size_t align);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) SLUICE_PRINTF(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    SLUICE_PRINTF(2, 0);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the bytes to the caller (who frees them) and empties the buffer. */
char *buf_take(struct buf *b);

#endif
