/* rates.h: the rates of a pipe's tables, which `sluice status`, the
 * progress of `sluice run` and /metrics show. Rows are counted as the
 * subscriber writes them to the sink (the meter), not when a delivery is
 * durable, which for a long delivery is seconds later; the pipe's own
 * thread samples the meter once a second into a moving window per table,
 * and writes each table's rate, and whether it is steady, to the store
 * when they change.
 *
 * The window holds the last RATE_SAMPLES samples (ten seconds); the rate
 * is the rows written between its first and last sample over the time
 * between them. It starts again, empty, when the pipe's state changes (a
 * snapshot, a resync's load, CDC, each is measured on its own) and when a
 * table's status does (a table added starts its load); while no row has
 * been written since, it is 0. The rate is steady, and an ETA is shown,
 * once the window spans RATE_STEADY_MS and the rates of its older and
 * newer halves are both above 0 and within RATE_STEADY_RATIO of each
 * other: a rate still climbing, falling or stalling gives no ETA. */
#ifndef SLUICE_RUNTIME_RATES_H
#define SLUICE_RUNTIME_RATES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lifecycle/pipes.h"
#include "../store/store.h"
#include "counters.h"

#define RATE_SAMPLE_MS 1000
#define RATE_SAMPLES 11 /* ten seconds of samples a second apart */
#define RATE_STEADY_MS 5000
#define RATE_STEADY_RATIO 1.5

/* Rows written to the sink, per table, over the life of the meter: those
 * of the deliveries done (completed or failed: they were written) and of
 * the delivery under way. Written by the subscriber thread, read by the
 * pipe's thread, under `lock`. Owns its table names. */
struct meter_table {
    char *table;
    int64_t done, group;
};
struct meter {
    pthread_mutex_t lock;
    struct meter_table *tables;
    size_t count, cap;
};
void meter_init(struct meter *m);
void meter_free(struct meter *m);
/* The delivery under way has written the tally's rows so far. */
void meter_group(struct meter *m, const struct counters_tally *t);
/* The delivery under way is over, whatever its outcome. */
void meter_group_end(struct meter *m);
/* A table's rows written (0 for a table the meter has not seen). */
int64_t meter_rows(struct meter *m, const char *table);

/* A table's samples: (time, rows written), oldest first, in a ring. */
struct rate_window {
    int64_t at_ms[RATE_SAMPLES], rows[RATE_SAMPLES];
    size_t first, count;
};
void rate_window_reset(struct rate_window *w);
/* A sample; while no row was written since the window began, it replaces
 * the one there is (the window begins with the first rows written). */
void rate_window_add(struct rate_window *w, int64_t at_ms, int64_t rows);
/* Rows a second over the window (0 with fewer than two samples), and
 * whether the rate is steady (the rule above). */
int64_t rate_window_rate(const struct rate_window *w, bool *steady);

/* A pipe's windows, and the state they were measured in. */
struct table_rate {
    char *table;
    enum table_status status;
    struct rate_window window;
};
struct rate_sampler {
    int64_t at_ms; /* monotonic time of the last sample, 0: none */
    enum pipe_state state;
    int64_t state_since;
    struct table_rate *items;
    size_t count, cap;
};

/* Samples the meter when RATE_SAMPLE_MS have passed, and writes the rates
 * that changed. */
int rates_sample(struct store *s, const char *pipe, struct meter *m,
                 struct rate_sampler *rs, int64_t monotonic_ms,
                 struct error *err);
void rate_sampler_free(struct rate_sampler *rs);

#endif
