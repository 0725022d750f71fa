/* progress.h: what sluice run shows of its pipes while they run: on a
 * terminal, a live block with a line per pipe and per table (state, rows
 * written of the estimate and its share, rate, ETA, bytes, lag), redrawn
 * every second below the log lines; otherwise a structured log line per
 * table every progress_interval. The figures are the store's, the same
 * that `sluice status` shows from another terminal (pipes.h, rates.h). */
#ifndef SLUICE_RUNTIME_PROGRESS_H
#define SLUICE_RUNTIME_PROGRESS_H

#include <stdbool.h>

#include "../config/config.h"
#include "../store/store.h"

struct progress {
    int mode; /* enum progress_mode, auto resolved */
    int64_t interval_ms, next_ms;
    const char **pipes; /* borrowed from the config */
    size_t count;
    bool raw_bytes; /* --bytes */
};

/* The pipes this process runs: those of `cfg` with runs[i]. */
void progress_init(struct progress *p, const struct config *cfg,
                   const bool *runs, bool raw_bytes);
/* Shows the figures when it is time (monotonic clock). */
void progress_tick(struct progress *p, struct store *s, int64_t now_ms);
/* Removes the live block; frees what init allocated. */
void progress_end(struct progress *p);

#endif
