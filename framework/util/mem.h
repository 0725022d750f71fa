/* mem.h: allocation for the core. The core treats running out of memory as
 * fatal to the process (plugins never do: they return errors); these
 * wrappers print one line and exit with status 1 instead of returning NULL,
 * so callers need no NULL checks. */
#ifndef SLUICE_UTIL_MEM_H
#define SLUICE_UTIL_MEM_H

#include <sluice/status.h> /* SLUICE_PRINTF */
#include <stddef.h>

void *xmalloc(size_t size);
/* `size` bytes at a multiple of `align` (a power of two, at least the
 * size of a pointer); freed with free(). */
void *xaligned(size_t align, size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) SLUICE_PRINTF(1, 2);

/* Grows *items (of *cap elements of `size` bytes) to hold at least `need`. */
void xgrow(void **items, size_t *cap, size_t need, size_t size);
#define XGROW(array, cap, need)                                               \
    xgrow((void **)&(array), &(cap), (need), sizeof *(array))

#endif
