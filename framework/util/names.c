/* names.c: the name index (see names.h): FNV-1a hashes, linear probing,
 * doubled at half full. */
#include "names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot of `name`, or the empty slot where it would go. */
static size_t probe(const struct name_index *ix, const char *name,
                    const void *items, name_at_fn name_at)
{
    size_t i = hash(name) & (ix->cap - 1);
    while (ix->slots[i] && strcmp(name_at(items, ix->slots[i] - 1), name))
        i = (i + 1) & (ix->cap - 1);
    return i;
}

static void grow(struct name_index *ix, const void *items, name_at_fn name_at)
{
    struct name_index bigger = {xcalloc(ix->cap ? ix->cap * 2 : 16,
                                        sizeof *ix->slots),
                                ix->cap ? ix->cap * 2 : 16, ix->count};
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i])
            bigger.slots[probe(&bigger, name_at(items, ix->slots[i] - 1),
                               items, name_at)] = ix->slots[i];
    free(ix->slots);
    *ix = bigger;
}

void name_index_add(struct name_index *ix, const char *name, size_t at,
                    const void *items, name_at_fn name_at)
{
    if ((ix->count + 1) * 2 > ix->cap)
        grow(ix, items, name_at);
    size_t i = probe(ix, name, items, name_at);
    if (ix->slots[i])
        return;
    ix->slots[i] = at + 1;
    ix->count++;
}

bool name_index_find(const struct name_index *ix, const char *name,
                     const void *items, name_at_fn name_at, size_t *at)
{
    if (!ix->cap)
        return false;
    size_t i = probe(ix, name, items, name_at);
    if (!ix->slots[i])
        return false;
    *at = ix->slots[i] - 1;
    return true;
}

void name_index_free(struct name_index *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}
