/* listing.h: the output of a listing command, in the one shape every
 * listing has: for people, lines the command writes into `out` (a header,
 * a line per item); with --json, one object whose plural key holds the
 * items, {"pipes": [{...}, ...]}, written through `j` (docs/operations.md,
 * "JSON output"). Nothing is printed until the listing is complete, so a
 * listing that fails half-way prints nothing but its error. */
#ifndef SLUICE_CLI_LISTING_H
#define SLUICE_CLI_LISTING_H

#include <stdbool.h>

#include "../util/buf.h"
#include "../util/json.h"

struct listing {
    bool json;
    struct buf out;
    struct json j;
};

/* Starts the listing; with `json`, the object and its array `key`. The
 * struct must not move until listing_end. */
void listing_begin(struct listing *l, bool json, const char *key);

/* Closes the array and the object (with json), prints the whole listing
 * on standard output when `print`, and frees it. */
void listing_end(struct listing *l, bool print);

#endif
