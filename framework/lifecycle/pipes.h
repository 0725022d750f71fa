/* pipes.h: pipe records in the store: what a pipe is (plugins, topic,
 * mode, settings), its state, its tables and their counters. Reading
 * only: state changes go through lifecycle.h, requests through
 * requests.h. */
#ifndef SLUICE_LIFECYCLE_PIPES_H
#define SLUICE_LIFECYCLE_PIPES_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/store.h"
#include "states.h"

/* Table statuses. */
#define TABLE_ACTIVE "active"     /* loaded (or loading) and followed */
#define TABLE_ADDING "adding"     /* added: waits for its snapshot */
#define TABLE_REMOVING "removing" /* being removed (state modifying) */
#define TABLE_STOPPED "stopped"   /* dropped or renamed at the source */
#define TABLE_FAILED "failed"     /* cannot be served (its note says why);
                                     the pipe's other tables go on */

struct pipe_table {
    char *name;
    char *status;
    bool drop_destination;
    int64_t rows_copied, rows_estimated, bytes_copied, lag_ms, updated_at;
    int64_t rows_per_s; /* recent rate of rows copied */
    char *note;         /* why it stopped or failed, or "" */
};

struct pipe_row {
    char *name, *source, *sink, *topic, *mode, *settings;
    enum pipe_state state;
    int64_t state_since;
    char *state_context;
    char *last_error; /* NULL when none */
    int64_t retry_count;
    int64_t batches; /* delivered to the sink */
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
int pipe_table_names(struct store *s, const char *pipe, const char *status,
                     char ***names, size_t *count, struct error *err);
void names_free(char **names, size_t count);
bool pipe_has_table(const struct pipe_row *p, const char *table);
/* Seconds until the table's snapshot is done at its current rate; -1 when
 * unknown (no estimate, no rate, or past the estimate). */
int64_t pipe_table_eta_s(const struct pipe_table *t);
/* The pipe's rows copied, over all its tables. */
int64_t pipe_rows(const struct pipe_row *p);
/* The largest lag of the pipe's tables; -1 when none is known. */
int64_t pipe_lag_ms(const struct pipe_row *p);

/* The pipe's mode, as enum pipe_mode of config.h. */
int pipe_mode_of(const struct pipe_row *p);

/* The worker that runs the pipe now (the live holder of its lease):
 * *worker is NULL when none does; the caller frees it. */
int pipe_worker(struct store *s, const char *pipe, char **worker,
                struct error *err);

#endif
