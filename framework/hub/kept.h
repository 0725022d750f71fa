/* kept.h: publication events' records kept in memory by the process
 * that published them, for its subscriber to take without reading them
 * back from the store: a subscriber that keeps up reads from the hub
 * only after a restart or when it has fallen behind.
 *
 * A publisher hands over its batch's frames once the event committed,
 * and gets a spare buffer for its next batch in exchange (the buffers go
 * round, so no new memory is touched in a steady state). What is kept is
 * bounded by bytes: a publisher ahead of a subscriber that takes waits
 * for room (the subscriber paces it); past the bound nothing more is
 * kept, and the subscriber reads those events from the store. Thread-safe: the
 * pipe's threads put, its subscriber takes. */
#ifndef SLUICE_HUB_KEPT_H
#define SLUICE_HUB_KEPT_H

#include <stdbool.h>
#include <stdint.h>

#include "../plugin/batch.h"
#include "../util/buf.h"

struct hub_kept;

struct hub_kept *hub_kept_new(size_t max_bytes);
void hub_kept_free(struct hub_kept *k);

/* The frames of `b`, just committed as `publication`, are kept (b's
 * frames are then a spare buffer, empty). When they would pass the
 * bound, it waits for the subscriber to take what is kept (at most two
 * seconds, and only while the subscriber takes), else leaves b as it is:
 * the subscriber reads that event from the store. */
void hub_kept_put(struct hub_kept *k, int64_t publication,
                  struct sluice_batch *b);
/* Moves the frames of `publication` into *frames (an empty buffer) when
 * they are kept; what was kept of events before it is let go. */
bool hub_kept_take(struct hub_kept *k, int64_t publication,
                   struct buf *frames);
/* Frames done with (emptied): a spare for the next put, or freed. */
void hub_kept_give_back(struct hub_kept *k, struct buf *frames);

#endif
