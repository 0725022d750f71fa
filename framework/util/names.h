/* names.h: an index from names to positions (in an array its owner keeps),
 * so that finding one of n names costs the same for 10 and for 10,000. An
 * open-addressing hash table of the names' positions; the names
 * themselves stay with the owner, which passes a function that gives the
 * name at a position. */
#ifndef SLUICE_UTIL_NAMES_H
#define SLUICE_UTIL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* The name at position `at` of the owner's array `items`. */
typedef const char *(*name_at_fn)(const void *items, size_t at);

struct name_index {
    size_t *slots; /* position + 1; 0: empty */
    size_t cap, count;
};

/* Adds position `at`, whose name is `name`. A name added twice is found
 * at its first position. */
void name_index_add(struct name_index *ix, const char *name, size_t at,
                    const void *items, name_at_fn name_at);
/* The position of `name` in `items`; false when it is not there. */
bool name_index_find(const struct name_index *ix, const char *name,
                     const void *items, name_at_fn name_at, size_t *at);
void name_index_free(struct name_index *ix);

#endif
