/* values.h: the core's value list (sluice_values of the SDK): byte
 * strings that a plugin adds for the core, each copied and NUL-terminated.
 * Owned by whoever initialized it. */
#ifndef SLUICE_PLUGIN_VALUES_H
#define SLUICE_PLUGIN_VALUES_H

#include <sluice/sluice.h>
#include <stddef.h>

struct sluice_values {
    char **items;
    size_t *lens;
    size_t count, cap, lens_cap;
};

void values_free(struct sluice_values *v);
sluice_status values_add(sluice_values *v, const void *data, size_t len,
                         sluice_error *err);

#endif
