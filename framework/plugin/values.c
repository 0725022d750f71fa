/* values.c: value lists (see values.h). */
#include "values.h"

#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"

void values_free(struct sluice_values *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    free(v->lens);
    memset(v, 0, sizeof *v);
}

sluice_status values_add(sluice_values *v, const void *data, size_t len,
                         sluice_error *err)
{
    if (len && !data)
        return sluice_fail(err, SLUICE_FATAL, "values_add: data is NULL");
    XGROW(v->items, v->cap, v->count + 1);
    XGROW(v->lens, v->lens_cap, v->count + 1);
    v->items[v->count] = xstrndup(data ? data : "", len);
    v->lens[v->count] = len;
    v->count++;
    return SLUICE_OK;
}
