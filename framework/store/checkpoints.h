/* checkpoints.h: how far a pipe has got, per table: snapshot progress
 * (opaque bytes per partition, with a done mark), the CDC start position
 * captured before a snapshot, and the CDC position. Positions are the
 * source's own bytes; the core never reads them.
 *
 * Writes join the caller's transaction when one is open, so a step and
 * the position it reaches commit together. */
#ifndef SLUICE_STORE_CHECKPOINTS_H
#define SLUICE_STORE_CHECKPOINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/buf.h"
#include "store.h"

#define CHECKPOINT_CDC "cdc"                       /* table "" : the pipe's */
#define CHECKPOINT_SNAPSHOT "snapshot"             /* per table, partition */
#define CHECKPOINT_SNAPSHOT_START "snapshot_start" /* table "": CDC start */

struct checkpoint {
    char *table;
    int64_t part;
    struct buf position;
    bool done;
    int64_t updated_at;
};

int checkpoint_put(struct store *s, const char *pipe, const char *kind,
                   const char *table, int64_t part, const void *position,
                   size_t len, bool done, struct error *err);
/* *found is false when there is none. */
int checkpoint_get(struct store *s, const char *pipe, const char *kind,
                   const char *table, int64_t part, struct checkpoint *out,
                   bool *found, struct error *err);
/* Every checkpoint of a kind for a table (NULL: every table), by table
 * and part. */
int checkpoint_list(struct store *s, const char *pipe, const char *kind,
                    const char *table, struct checkpoint **out, size_t *count,
                    struct error *err);
/* Removes a kind for a table (NULL: every table). */
int checkpoint_clear(struct store *s, const char *pipe, const char *kind,
                     const char *table, struct error *err);
void checkpoint_free(struct checkpoint *c);
void checkpoints_free(struct checkpoint *c, size_t count);

#endif
