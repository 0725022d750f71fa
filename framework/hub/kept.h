/* kept.h: publication events' records kept in memory by the process
 * that published them, for its subscriber to take without reading them
 * back from the store: a subscriber that keeps up reads from the hub
 * only after a restart or when it has fallen behind.
 *
 * A publisher hands over its batch's frames once the event committed,
 * and gets a spare buffer for its next batch in exchange (the buffers go
 * round, so no new memory is touched in a steady state). What is kept is
 * bounded by bytes: a publisher ahead of a subscriber that takes waits
 * for room (the subscriber paces it); a subscriber that stops taking
 * makes no publisher wait, nothing more is kept, and it reads those
 * events from the store later. Thread-safe: the
 * pipe's threads put, its subscriber takes. */
#ifndef SLUICE_HUB_KEPT_H
#define SLUICE_HUB_KEPT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../plugin/batch.h"
#include "../util/buf.h"

struct hub_kept;

/* `stop` (may be NULL), once set, ends every wait for room. */
struct hub_kept *hub_kept_new(size_t max_bytes, const atomic_bool *stop);
/* Whether a subscriber runs: only then does a publisher wait for room. */
void hub_kept_taking(struct hub_kept *k, bool taking);
void hub_kept_free(struct hub_kept *k);

/* Before a batch of `bytes` is published: whether its frames are to be
 * kept once committed. While what is kept (and promised to batches
 * being published) would pass the bound, it waits for the subscriber to
 * take (at most two seconds, and only while the subscriber takes; one
 * batch alone may pass the bound): a subscriber behind a fast source (a
 * snapshot) so paces it, instead of reading back from the store all that
 * the source ran ahead with. The wait comes before the commit, so that
 * the subscriber never finds an event committed and not yet kept. */
bool hub_kept_room(struct hub_kept *k, size_t bytes);
/* The frames of `b`, committed as `publication` after hub_kept_room gave
 * room, are kept (b's frames are then a spare buffer, empty). */
void hub_kept_put(struct hub_kept *k, int64_t publication,
                  struct sluice_batch *b);
/* The publication that was given room for `bytes` did not commit. */
void hub_kept_unused(struct hub_kept *k, size_t bytes);
/* Moves the frames of `publication` into *frames (an empty buffer) when
 * they are kept; what was kept of events before it is let go. */
bool hub_kept_take(struct hub_kept *k, int64_t publication,
                   struct buf *frames);
/* Frames done with (emptied): a spare for the next put, or freed. */
void hub_kept_give_back(struct hub_kept *k, struct buf *frames);

#endif
