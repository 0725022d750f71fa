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

/* ABI 1.2: who claims a destination (the sink's `claim`). A pipe is
 * named by its store and its name: two deployments with separate stores
 * have different store ids. */
typedef struct sluice_owner {
    uint32_t size;          /* sizeof(sluice_owner) as the core built it */
    const char *store_id;   /* the store's identity, made when it was
                               created; never changes */
    const char *store_name; /* the store's URL, password masked: for
                               messages only */
    const char *pipe;       /* the pipe's name */
    const char *table;      /* the source table */
    int upgrade;            /* 1: the pipe set this table up before sluice
                               recorded owners (an upgrade): a destination
                               that exists without an owner is the pipe's */
} sluice_owner;

/* capabilities, and the callbacks each one requires */
#define SLUICE_SINK_RESYNC 0x1u /* resync_begin, resync_swap, resync_abort */
#define SLUICE_SINK_DROP 0x2u   /* drop_table */

typedef struct sluice_sink_info {
    SLUICE_PLUGIN_HEAD;

    /* Required. Creates the destination of `table` when missing;
     * idempotent: called again on every new instance for the tables the
     * pipe follows. Refuses an existing, incompatible destination. Here,
     * not in `open`, is where a destination is made (sluice/plugin.h). */
    sluice_status (*setup_table)(void *instance, const char *table,
                                 sluice_error *err);
    /* Required. Writes the batch, borrowed for the call only: copy what
     * must outlive the call. sluice/record.h says what a sink may rely on
     * in its records (and what not: arrival order is not version
     * order). */
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

    /* ABI 1.2. Optional. Adds one value: the name of the destination that
     * `table` maps to under `config` (the filled config struct; no
     * instance is open: `sluice check` calls it), the same for every
     * config that writes there and different for every other destination
     * (for ClickHouse: server, database and table name). The core records
     * it, and refuses a second pipe that maps to the same one. */
    sluice_status (*destination)(const void *config, const char *table,
                                 sluice_values *name, sluice_error *err);
    /* ABI 1.2. Optional. Records `owner` as the owner of `table`'s
     * destination in the destination itself, so that deployments with
     * separate stores see it too; called before setup_table. An owner
     * recorded already is kept. SLUICE_FATAL_TABLE, naming the owner, when
     * another owner holds it, or when the destination exists without an
     * owner (not created by sluice for this pipe) and neither the sink's
     * own settings nor owner->upgrade say to adopt it. drop_table, when it
     * removes the destination, removes its owner too. */
    sluice_status (*claim)(void *instance, const sluice_owner *owner,
                           sluice_error *err);

    /* ABI 1.2: the entries of `options`, its terminator included
     * (SLUICE_OPTION_TABLE sets it); 0: not said, the core reads up to
     * the terminator. */
    size_t option_count;
} sluice_sink_info;

#endif
