/* sluice/source.h: source plugins, which read tables and their changes.
 *
 * The core drives a source through two phases. Snapshot: snapshot_begin
 * returns the CDC start position before anything is read; each table is
 * split into partitions, and snapshot_next reads a partition on from a
 * progress position, batch by batch, until it returns SLUICE_DONE. The
 * core checkpoints the progress of every batch, so after a restart it
 * calls snapshot_next again with the last durable progress; the source must
 * then neither repeat nor skip a record. CDC: cdc_start opens the change
 * stream at a position, cdc_poll fills batches, cdc_ack says which
 * position is durable (the source may release history before it).
 *
 * A table added to a running pipe (`sluice tables add`, or the table list
 * of the file) is snapshotted on its own: snapshot_begin is called again
 * and the new table's partitions read; then CDC goes on from the pipe's
 * position as it was, older than that snapshot, with cdc_start given the
 * new table set. For a table the position does not cover (it came later),
 * start no later than where its snapshot began: from the start of its
 * history or from that snapshot_begin position (jsonl_source: the start of
 * the file). Changes from before the snapshot come again harmlessly, as
 * the versions order them; a change skipped is lost.
 *
 * Batches: ask host->batch_full before each batch_add and return when it
 * says the batch is full (sluice/host.h). Records: sluice/record.h says
 * what a key, a version and the time of a change must be.
 *
 * All callbacks of one instance are called from one thread at a time
 * (unless SLUICE_PLUGIN_THREAD_SAFE). Every callback that returns
 * SLUICE_RETRY or SLUICE_FATAL has written a message into `err`. */
#ifndef SLUICE_SOURCE_H
#define SLUICE_SOURCE_H

#include "plugin.h"
#include "record.h"

/* capabilities, and the callbacks each one requires */
#define SLUICE_SOURCE_SNAPSHOT                                                \
    0x1u                       /* snapshot_begin, snapshot_partitions,        \
                                  snapshot_next */
#define SLUICE_SOURCE_CDC 0x2u /* cdc_start, cdc_poll, cdc_ack */

typedef struct sluice_source_info {
    SLUICE_PLUGIN_HEAD;

    /* Required. Adds the name of every table the source can read, in a
     * stable order. */
    sluice_status (*list_tables)(void *instance, sluice_values *tables,
                                 sluice_error *err);

    /* SLUICE_SOURCE_SNAPSHOT. Adds exactly one value: the CDC position to
     * start from after the snapshot, captured before anything is read. */
    sluice_status (*snapshot_begin)(void *instance, sluice_values *cdc_start,
                                    sluice_error *err);
    /* Splits a table: adds one value per partition, the progress position
     * at which that partition starts. */
    sluice_status (*snapshot_partitions)(void *instance, const char *table,
                                         sluice_values *partitions,
                                         sluice_error *err);
    /* Reads the partition on from `progress` (a value that
     * snapshot_partitions added or a batch position that snapshot_next
     * set), adds records until the partition ends or host->batch_full says
     * stop, and sets the batch position to the progress reached. Returns
     * SLUICE_OK when more remains, SLUICE_DONE when the partition is read
     * to its end (the batch may still hold records). */
    sluice_status (*snapshot_next)(void *instance, const char *table,
                                   const void *progress, size_t progress_len,
                                   sluice_batch *batch, sluice_error *err);
    /* Optional: an estimate of the rows of a table, for progress. */
    sluice_status (*estimate_rows)(void *instance, const char *table,
                                   uint64_t *rows, sluice_error *err);

    /* SLUICE_SOURCE_CDC. Starts (or restarts, with another table set)
     * reading changes of `tables` after `position`. A position the source
     * no longer has history for is SLUICE_FATAL with a message saying so.
     * An empty position (length 0) means from now: the core passes it to
     * a source without SLUICE_SOURCE_SNAPSHOT when a cdc-only pipe starts;
     * a source with it gets snapshot_begin's position instead. */
    sluice_status (*cdc_start)(void *instance, const char *const *tables,
                               size_t table_count, const void *position,
                               size_t position_len, sluice_error *err);
    /* Waits up to timeout_ms for changes, adds them until host->batch_full
     * says stop, and sets the batch position to the position after the
     * last change added (or the latest position, when none arrived). The
     * batch may already hold the changes of earlier polls (the core polls
     * in slices until sync_interval): add after them. With no change to
     * give it waits (on the server, or sleeping) until one comes or
     * timeout_ms has passed; returning at once, again and again, would
     * have the core call it in a busy loop (the kit's cdc.poll_waits). */
    sluice_status (*cdc_poll)(void *instance, sluice_batch *batch,
                              int64_t timeout_ms, sluice_error *err);
    /* The core has made everything up to `position` durable. */
    sluice_status (*cdc_ack)(void *instance, const void *position,
                             size_t position_len, sluice_error *err);

    /* ABI 1.1. Optional. Checks, changing nothing, that the servers the
     * instance would use answer and will do (`sluice check --connect`):
     * SLUICE_OK, or the reason they will not. */
    sluice_status (*ping)(void *instance, sluice_error *err);

    /* ABI 1.2: the entries of `options`, its terminator included
     * (SLUICE_OPTION_TABLE sets it); 0: not said, the core reads up to
     * the terminator. */
    size_t option_count;
} sluice_source_info;

#endif
