/* counters.h: the figures of a pipe's tables in the store, which `sluice
 * status`, the progress lines and /metrics show: rows, bytes and lag
 * counted when a batch is durable in the sink, the pipe's batches, recent
 * rates, and the tables a source stopped following. */
#ifndef SLUICE_RUNTIME_COUNTERS_H
#define SLUICE_RUNTIME_COUNTERS_H

#include <stdint.h>

#include "../plugin/batch.h"
#include "../store/store.h"

/* What batches delivered, counted as they go to the sink: rows and bytes
 * per table, the time of each table's newest change, and the batches
 * (publication events). Owns its table names. */
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
void counters_tally_free(struct counters_tally *t);

/* Marks `stopped`, with the source's reason, the tables the batch says it
 * stopped following. Meant for the transaction that publishes the batch. */
int counters_stop_tables(struct store *s, const char *pipe,
                         const struct sluice_batch *b, struct error *err);

/* Rates of rows copied, sampled every 2 s from the store's counters. */
struct table_rate {
    char *table;
    int64_t rows; /* rows_copied at the last sample */
    double per_s; /* rows per second */
};

struct rate_sampler {
    int64_t at_ms; /* monotonic time of the last sample, 0: none */
    struct table_rate *items;
    size_t count, cap;
};

/* Samples when 2 s have passed, and writes the rates that changed. */
int counters_sample_rates(struct store *s, const char *pipe,
                          struct rate_sampler *rs, int64_t monotonic_ms,
                          struct error *err);
void rate_sampler_free(struct rate_sampler *rs);

#endif
