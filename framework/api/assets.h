/* assets.h: the files the service serves as they are: the status page
 * (framework/page/) and the API's OpenAPI document (docs/openapi.json),
 * built into the program (embed.cmake writes assets.c) so that nothing
 * is read from disk or fetched from elsewhere. */
#ifndef SLUICE_API_ASSETS_H
#define SLUICE_API_ASSETS_H

#include <stddef.h>

struct asset {
    const char *path; /* "/", "/ui/app.js", "/v1/openapi.json" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t size;
};

/* The asset served at `path`; NULL when none is. */
const struct asset *asset_find(const char *path);

#endif
