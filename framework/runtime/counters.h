/* counters.h: the figures of a pipe's tables in the store, which `sluice
 * status`, the progress lines and /metrics show: rows, bytes and lag
 * counted when a batch is durable in the sink, those of the delivery
 * under way, the pipe's batches, and the tables a source stopped
 * following. The rates are rates.h's. */
#ifndef SLUICE_RUNTIME_COUNTERS_H
#define SLUICE_RUNTIME_COUNTERS_H

#include <stdint.h>

#include "../plugin/batch.h"
#include "../store/store.h"

/* What batches delivered, counted as they go to the sink: rows and bytes
 * per table, the time of each table's newest change, and the batches
 * (publication events). Owns its table names; its tables are 0 to
 * count - 1. */
struct tally;
struct counters_tally {
    struct tally *tables;
    size_t count, cap;
    int64_t batches;
};
void counters_tally_batch(struct counters_tally *t,
                          const struct sluice_batch *b);
/* Adds the tally to the pipe's figures, with the lag of each table's
 * newest change: from the record's time of change when the source gave
 * one, else from a version that is a cluster time (seconds << 32). Meant
 * for the transaction that completes the batches. */
int counters_add(struct store *s, const char *pipe,
                 const struct counters_tally *t, int64_t now_ms,
                 struct error *err);
/* Sets the rows and bytes of the delivery under way (not yet durable),
 * per table, to the tally's: a long delivery's progress shows before its
 * flush. The delivery's end clears them (pipe_tables_pending_clear). */
int counters_pending(struct store *s, const char *pipe,
                     const struct counters_tally *t, struct error *err);
/* The name (borrowed) and rows of the tally's i-th table. */
void counters_tally_table(const struct counters_tally *t, size_t i,
                          const char **table, int64_t *rows);
void counters_tally_free(struct counters_tally *t);

/* Marks `stopped`, with the source's reason, the tables the batch says it
 * stopped following. Meant for the transaction that publishes the batch. */
int counters_stop_tables(struct store *s, const char *pipe,
                         const struct sluice_batch *b, struct error *err);

#endif
