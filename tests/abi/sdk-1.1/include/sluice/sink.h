/* sluice/sink.h: sink plugins, which keep destination tables in step.
 *
 * Delivery is at least once: after a crash the core replays the batches
 * whose flush it did not record, so writing a batch twice must leave the
 * same visible result as writing it once. All callbacks of one instance
 * are called from one thread at a time (unless SLUICE_PLUGIN_THREAD_SAFE).
 * Every callback that returns SLUICE_RETRY or SLUICE_FATAL has written a
 * message into `err`; SLUICE_RETRY is for what may pass (the server is
 * away, overloaded, timed out), SLUICE_FATAL for what will not (bad
 * credentials, unknown database, incompatible table). */
#ifndef SLUICE_SINK_H
#define SLUICE_SINK_H

#include "plugin.h"
#include "record.h"

/* capabilities, and the callbacks each one requires */
#define SLUICE_SINK_RESYNC 0x1u /* resync_begin, resync_swap, resync_abort */
#define SLUICE_SINK_DROP 0x2u   /* drop_table */

typedef struct sluice_sink_info {
    SLUICE_PLUGIN_HEAD;

    /* Required. Creates the destination of `table` when missing;
     * idempotent. Refuses an existing, incompatible destination. */
    sluice_status (*setup_table)(void *instance, const char *table,
                                 sluice_error *err);
    /* Required. Writes the batch, borrowed for the call only. */
    sluice_status (*write)(void *instance, const sluice_batch *batch,
                           sluice_error *err);
    /* Required. Returns when everything written is durable. The core
     * may write several batches before one flush; between a caller's
     * first write and its flush, no other caller's calls reach the
     * instance (unless SLUICE_PLUGIN_THREAD_SAFE). */
    sluice_status (*flush)(void *instance, sluice_error *err);

    /* SLUICE_SINK_RESYNC. resync_begin creates the shadow of `table` (or
     * keeps the one that exists: it is called again after a restart) and
     * sends later writes of `table` there; resync_swap replaces the
     * destination with the shadow atomically, carrying over deletes that
     * only the old one has; resync_abort drops the shadow. */
    sluice_status (*resync_begin)(void *instance, const char *table,
                                  sluice_error *err);
    sluice_status (*resync_swap)(void *instance, const char *table,
                                 sluice_error *err);
    sluice_status (*resync_abort)(void *instance, const char *table,
                                  sluice_error *err);

    /* SLUICE_SINK_DROP. Removes the destination of `table`; a missing one
     * is not an error. */
    sluice_status (*drop_table)(void *instance, const char *table,
                                sluice_error *err);

    /* ABI 1.1. Optional. Checks, changing nothing, that the servers the
     * instance would use answer and will do (`sluice check --connect`):
     * SLUICE_OK, or the reason they will not. */
    sluice_status (*ping)(void *instance, sluice_error *err);
} sluice_sink_info;

#endif
