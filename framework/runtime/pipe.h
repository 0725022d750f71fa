/* pipe.h: one pipe's work as its parts share it (pipe.c): the running
 * pipe's context, how failures are told apart and handled, and the steps
 * several states take (publishing to the hub, asking where CDC starts,
 * the tables of a status, the lease and the rates between pieces of long
 * work). The parts use it and never each other upwards: pipe_runner.c
 * (the loop) uses tables.c (destinations), snapshot.c, cdc.c and
 * subscriber.c (the sink's side); those use this file, snapshot.c and
 * cdc.c wake the subscriber, and snapshot.c has tables.c swap the added
 * tables in. Private to runtime/. */
#ifndef SLUICE_RUNTIME_PIPE_H
#define SLUICE_RUNTIME_PIPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "../hub/kept.h"
#include "../lifecycle/pipes.h"
#include "../plugin/batch.h"
#include "counters.h"
#include "instances.h"
#include "pipe_runner.h"
#include "rates.h"

/* Bytes of the batches a pipe builds at once, whatever pull_batch_size
 * says: memory stays bounded whatever the documents. */
#define BATCH_BYTES_MAX (32u << 20)
/* What the pipe keeps in memory of what it published, for its
 * subscriber (hub/kept.h), and one batch more. */
#define KEPT_BYTES_MAX ((size_t)BATCH_BYTES_MAX / 2)
/* How long a worker's lease on a pipe lasts; renewed at a third of it. */
#define LEASE_MS 15000
/* The local deadline: a worker that has not renewed a pipe's lease for
 * this long (its own clock) stops the pipe's work, before the lease can
 * expire and another worker take the pipe. */
#define LEASE_DEADLINE_MS 10000

/* An error as the loop handles it: the plugin's status, or the store's;
 * LEFT is no error: the work was left for the next turn of the loop
 * (sluice stops, or another worker took the pipe). */
enum outcome { GO_ON, RETRY, FATAL, LEFT };

struct failure {
    enum outcome outcome;
    bool table_only; /* a plugin's SLUICE_FATAL_TABLE: FATAL, unless the
                        caller was working on one table (table_failed) */
    char message[1024];
};

/* The pipe's subscriber loop, a thread of its own while the plugins are
 * open. `lock` guards the fields below it. */
struct subscriber {
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    bool has_failure;   /* `failure` waits for the pipe's thread */
    bool failing;       /* its last attempt failed */
    bool held;          /* its subscription is paused (its thread's own) */
    bool pending_shown; /* the store may show rows of a delivery under way
                           or cut short (its thread's own) */
    struct failure failure;
};

struct run {
    struct pipe_runner *r;
    const struct pipe_config *pc;
    struct store *s;
    char *lease;
    struct instance *src, *sink;
    bool cdc_open;
    char **cdc_tables; /* the tables cdc_start was given, owned */
    size_t cdc_table_count;
    int64_t backoff_ms;
    struct sluice_batch batch;
    struct hub_kept *kept; /* what was published, for the subscriber */
    struct meter meter;    /* rows the subscriber writes, per table */
    struct rate_sampler rates;
    _Atomic int64_t lease_renewed_ms; /* monotonic; the subscriber reads it */
    int64_t balanced_ms;              /* monotonic: the share last checked */
    bool lease_lost; /* a commit was fenced out or the deadline passed: the
                        plugins close, and the lease is taken anew */
    struct subscriber sub;
};

/* A call's outcome as the loop handles it: GO_ON for OK and DONE, RETRY,
 * or FATAL (table_only for SLUICE_FATAL_TABLE), with its message. */
/* ---- pipe.c: failures, and the steps several states take ---- */

/* A call's outcome as the loop handles it: GO_ON for OK and DONE, RETRY,
 * or FATAL (table_only for SLUICE_FATAL_TABLE), with its message. */
enum outcome from_call(sluice_status st, const struct call_error *e,
                       struct failure *f);
enum outcome from_store(const struct error *err, struct failure *f);
/* After a call about `table` failed with *f: a failure of that table
 * alone (SLUICE_FATAL_TABLE) fails the table, logged and recorded, and
 * the work goes on (GO_ON); any other failure is the pipe's. */
enum outcome table_failed(struct run *u, const char *table, struct failure *f);
/* A failure of the run's own making (a plugin breaking its contract). */
enum outcome fail_with(struct failure *f, const char *fmt, ...)
    SLUICE_PRINTF(2, 3);

/* The pipe's tables with the given status, or served (active and adding);
 * the names are borrowed from `row`, the array is the caller's. */
char **tables_of(const struct pipe_row *row, enum table_status status,
                 size_t *n);
char **tables_served(const struct pipe_row *row, size_t *n);

/* The fence of every commit that moves the pipe on: fails the
 * transaction unless this worker holds the pipe's lease (*lost then). */
int pipe_fence(struct store *s, const char *pipe, bool *lost,
               struct error *err);
/* The outcome of a commit that failed with `err`: LEFT when it was fenced
 * out (`lost`), as the store error says otherwise. */
enum outcome from_commit(const struct error *err, bool lost,
                         struct failure *f);
/* Whether the local deadline passed (LEASE_DEADLINE_MS since the last
 * renewal): *f then says so, LEFT. Any thread of the pipe may ask. */
bool past_deadline(struct run *u, struct failure *f);

/* Publishes `b` (when it has records), the checkpoint it reaches and the
 * tables it stopped, in one transaction of `s`, fenced (pipe_fence);
 * refuses, as fatal, a batch with a record of a table not among `tables`
 * (those the source was asked for). Once committed, b's records are
 * kept in `kept` for the subscriber (b's frames are then another, empty
 * buffer; its count and position stay). */
enum outcome publish(struct store *s, const struct pipe_config *pc,
                     struct hub_kept *kept, struct sluice_batch *b,
                     const char *kind, const char *table, int64_t part,
                     bool done, const char *const *tables, size_t table_count,
                     struct failure *f);

/* Asks the source where CDC would start now (snapshot_begin). */
enum outcome start_position(struct run *u, struct buf *out, struct failure *f);

/* Renews the lease when due: false when another worker holds it, or when
 * renewals failed until the local deadline passed. */
bool lease_keep(struct run *u);
/* Between pieces of long work: renews the lease when due and samples the
 * rates; false when the lease is lost (lease_keep). */
bool pipe_tick(struct run *u);
/* True when an operator request waits for the pipe. */
bool request_waits(struct run *u);

/* The pipe's plugin instances: what the wrappers of plugin/calls.h take. */
#define SOURCE_OF(u) (&(u)->src->plugin)
#define SINK_OF(u) (&(u)->sink->plugin)

/* ---- subscriber.c: the sink's side ---- */

/* The subscriber thread: started once the sink is open, stopped before it
 * closes, woken after each publication. A failure of its own waits in it
 * until the pipe's thread takes it (failed) and, after a backoff, lets it
 * go on (resume). */
void subscriber_start(struct run *u);
void subscriber_stop(struct run *u);
void subscriber_wake(struct run *u);
bool subscriber_failed(struct run *u, struct failure *f);
/* True while its last attempt failed (the retries are not over). */
bool subscriber_failing(struct run *u);
void subscriber_resume(struct run *u);
/* Until the subscriber has completed everything published: GO_ON, its
 * failure, or LEFT when sluice stops or the lease is lost. */
enum outcome wait_drained(struct run *u, struct failure *f);

/* ---- tables.c: the destination tables ---- */

/* The setup state's work: the tables a new pipe's source has (when the
 * pipe names none), then each table to set up claimed, set up, and its
 * shadow begun for a resync, and for tables added when the sink has
 * resyncs (the load of a table added replaces its destination, which
 * may hold rows from before); then the pipe moves on. */
enum outcome tables_set_up(struct run *u, struct pipe_row *row,
                           struct failure *f);
/* A sink opened anew for a pipe past its setup (a restart, a take-over):
 * told its tables again (setup is idempotent), and the shadows of a
 * resync or an add in progress, but those whose swap began. *changed
 * when a table failed (the row in hand is then out of date). */
enum outcome tables_reopen(struct run *u, const struct pipe_row *row,
                           bool *changed, struct failure *f);
/* The resync state's work: each shadow swapped in. */
enum outcome tables_swap(struct run *u, const struct pipe_row *row,
                         struct failure *f);
/* The end of an add's snapshot, everything loaded: each added table's
 * shadow swapped in, when it had one; the pipe stays in its state. */
enum outcome tables_swap_added(struct run *u, const struct pipe_row *row,
                               struct failure *f);
/* The modifying state's work: the destinations of the removed tables
 * dropped where asked. */
enum outcome tables_remove(struct run *u, const struct pipe_row *row,
                           struct failure *f);

/* ---- snapshot.c, cdc.c: reading the source ---- */

/* The snapshot state's work. */
enum outcome do_snapshot(struct run *u, struct pipe_row *row,
                         struct failure *f);
/* The running state's work: one batch of changes. */
enum outcome cdc_step(struct run *u, const struct pipe_row *row,
                      struct failure *f);
/* The change stream is to be opened again; its tables forgotten. */
void cdc_close(struct run *u);

#endif
