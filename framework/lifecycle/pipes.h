/* pipes.h: pipe records in the store: what a pipe is (plugins, topic,
 * mode, settings), its state, its tables and their figures. Reading, and
 * writing the figures (rows counted, rates, estimates, tables found):
 * state and status changes go through lifecycle.h, requests through
 * requests.h. Every statement on pipe_tables is here or there. */
#ifndef SLUICE_LIFECYCLE_PIPES_H
#define SLUICE_LIFECYCLE_PIPES_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/store.h"
#include "states.h"

struct pipe_table {
    char *name;
    enum table_status status;
    bool drop_destination;
    /* copied: since the table's snapshot began (a resync starts again
     * from 0); delivered: over the table's life, never reset */
    int64_t rows_copied, rows_estimated, bytes_copied, lag_ms, updated_at;
    int64_t rows_delivered, bytes_delivered;
    /* written to the sink by the delivery under way, not yet durable */
    int64_t rows_pending, bytes_pending;
    int64_t rows_per_s; /* rows written a second, over a moving window */
    bool rate_steady;   /* steady enough for an ETA (runtime/rates.h) */
    char *note;         /* why it stopped or failed, or "" */
};

/* What the progress of a table shows, the same in `sluice status`, its
 * --json and the progress of `sluice run`: rows and bytes written
 * (durable, and those of the delivery under way), and while its snapshot
 * loads, the share of the source's estimate they are (per mille) and the
 * seconds left at a steady rate; -1 when unknown. */
struct table_progress {
    int64_t rows, bytes;
    int64_t permille;
    int64_t eta_s;
};

struct pipe_row {
    char *name, *source, *sink, *topic, *mode, *settings;
    enum pipe_state state;
    int64_t state_since;
    enum pipe_context context;
    char *last_error;      /* NULL when none */
    int64_t last_error_at; /* when it was recorded; 0: unknown */
    int64_t retry_count;
    int64_t retrying_since; /* the first retry of the run; 0: none */
    int64_t batches;        /* delivered to the sink */
    int64_t created_at;
    struct pipe_table *tables;
    size_t table_count;
};

/* Loads one pipe; *found is false when there is none of that name, and
 * on a failure. */
int pipe_load(struct store *s, const char *name, struct pipe_row *out,
              bool *found, struct error *err);
void pipe_row_free(struct pipe_row *p);
/* Every pipe's name, sorted; the caller frees each and the array. */
int pipe_names(struct store *s, char ***names, size_t *count,
               struct error *err);
/* The names of the pipe's tables with `status`, sorted; free them with
 * names_free. */
int pipe_table_names(struct store *s, const char *pipe,
                     enum table_status status, char ***names, size_t *count,
                     struct error *err);
void names_free(char **names, size_t count);
bool pipe_has_table(const struct pipe_row *p, const char *table);
/* A table's progress. The share and the ETA are known while the pipe
 * loads the table (the snapshot state; tables added: those being added)
 * and it has an estimate that its rows have not passed; the ETA also
 * needs a steady rate. */
void pipe_table_progress(const struct pipe_row *p, const struct pipe_table *t,
                         struct table_progress *out);
/* The pipe's rows copied (durable), over all its tables; with `written`,
 * those of the delivery under way too. */
int64_t pipe_rows(const struct pipe_row *p, bool written);
/* The largest lag of the pipe's tables; -1 when none is known. */
int64_t pipe_lag_ms(const struct pipe_row *p);

/* The tables a source found for a pipe that names none: added, active,
 * unless there already. */
int pipe_tables_found(struct store *s, const char *pipe,
                      const char *const *names, size_t count,
                      struct error *err);
/* A table's figures: its rows as the source estimates them; rows and
 * bytes copied and delivered (both added to, with the time and the lag
 * of its newest change, -1 for unknown: kept); the pipe's batches
 * delivered (added to); the table's rate of rows and whether it is
 * steady; the rows and bytes of the delivery under way (set; cleared for
 * every table of the pipe). */
int pipe_table_estimate(struct store *s, const char *pipe, const char *table,
                        int64_t rows, struct error *err);
int pipe_table_count(struct store *s, const char *pipe, const char *table,
                     int64_t rows, int64_t bytes, int64_t at_ms,
                     int64_t lag_ms, struct error *err);
int pipe_count_batches(struct store *s, const char *pipe, int64_t batches,
                       struct error *err);
int pipe_table_rate(struct store *s, const char *pipe, const char *table,
                    int64_t rows_per_s, bool steady, struct error *err);
int pipe_table_pending(struct store *s, const char *pipe, const char *table,
                       int64_t rows, int64_t bytes, struct error *err);
int pipe_tables_pending_clear(struct store *s, const char *pipe,
                              struct error *err);
/* No worker measures the pipe's rates any more: every table's is 0. */
int pipe_tables_rates_clear(struct store *s, const char *pipe,
                            struct error *err);

/* A resync's swaps, recorded before each is made so that a restart in the
 * middle of them begins no table's resync again (a shadow begun anew
 * after its swap would be empty, and swapped in): a table's swap begun,
 * whether it was, and the marks cleared when a resync starts. */
int pipe_table_swap_begun(struct store *s, const char *pipe, const char *table,
                          struct error *err);
int pipe_table_swapping(struct store *s, const char *pipe, const char *table,
                        bool *begun, struct error *err);
int pipe_tables_swaps_clear(struct store *s, const char *pipe,
                            struct error *err);

/* The pipe's mode, as enum pipe_mode of config.h. */
int pipe_mode_of(const struct pipe_row *p);

/* The worker that runs the pipe now (the live holder of its lease):
 * *worker is NULL when none does; the caller frees it. */
int pipe_worker(struct store *s, const char *pipe, char **worker,
                struct error *err);

#endif
