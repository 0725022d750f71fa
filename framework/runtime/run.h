/* run.h: what the parts of one pipe's worker share (pipe_runner.c,
 * snapshot.c, subscriber.c): the running pipe, how errors are handled,
 * publishing to the hub, and the subscriber thread that drains the hub
 * into the sink. Private to runtime/. */
#ifndef SLUICE_RUNTIME_RUN_H
#define SLUICE_RUNTIME_RUN_H

#include <pthread.h>
#include <stdio.h>

#include "../lifecycle/pipes.h"
#include "../plugin/batch.h"
#include "counters.h"
#include "instances.h"
#include "pipe_runner.h"

/* Bytes of the batches a pipe builds at once, whatever pull_batch_size
 * says: memory stays bounded whatever the documents. */
#define BATCH_BYTES_MAX (32u << 20)

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
    bool has_failure; /* `failure` waits for the pipe's thread */
    bool failing;     /* its last attempt failed */
    bool held;        /* its subscription is paused (its thread's own) */
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
    struct rate_sampler rates;
    int64_t lease_renewed_ms; /* monotonic */
    struct subscriber sub;
};

enum outcome from_plugin(sluice_status st, const char *message,
                         struct failure *f);
enum outcome from_store(const struct error *err, struct failure *f);
/* After a callback about `table` failed with *f: a failure of that table
 * alone (SLUICE_FATAL_TABLE) fails the table, logged and recorded, and
 * the work goes on (GO_ON); any other failure is the pipe's. */
enum outcome table_failed(struct run *u, const char *table, struct failure *f);
/* A failure of the run's own making (a plugin breaking its contract). */
enum outcome fail_with(struct failure *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Calls `call` on instance `in` (holding its lock unless the plugin is
 * thread-safe) with `ERR` a fresh sluice_error; the plugin's status, or
 * -1 with *f filled when it is neither OK nor DONE. */
#define PLUGIN_CALL(in, f, call)                                              \
    ({                                                                        \
        char msg_[1024] = "";                                                 \
        sluice_error e_ = {msg_, sizeof msg_};                                \
        sluice_error *ERR = &e_;                                              \
        (void)ERR;                                                            \
        instance_lock(in);                                                    \
        sluice_status st_ = (call);                                           \
        instance_unlock(in);                                                  \
        from_plugin(st_, msg_, (f)) == GO_ON ? (int)st_ : -1;                \
    })

#define SRC(u) (&(u)->pc->source.plugin->info.source)
#define SINK(u) (&(u)->pc->sink.plugin->info.sink)

/* Publishes `b` (when it has records), the checkpoint it reaches and the
 * tables it stopped, in one transaction of `s`; refuses, as fatal, a
 * batch with a record of a table not among `tables` (those the source
 * was asked for). */
enum outcome publish(struct store *s, const struct pipe_config *pc,
                     const struct sluice_batch *b, const char *kind,
                     const char *table, int64_t part, bool done,
                     const char *const *tables, size_t table_count,
                     struct failure *f);

/* The subscriber thread (subscriber.c): started once the sink is open,
 * stopped before it closes, woken after each publication. A failure of
 * its own waits in it until the pipe's thread takes it (failed) and, after
 * a backoff, lets it go on (resume). */
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

/* The pipe's tables with the given status (NULL: active and adding); the
 * names are borrowed from `row`, the array is the caller's. */
char **tables_of(const struct pipe_row *row, const char *status, size_t *n);

/* Between pieces of long work: renews the lease when due and samples the
 * rates; false when another worker took the pipe. */
bool pipe_tick(struct run *u);
/* True when an operator request waits for the pipe. */
bool request_waits(struct run *u);

/* Asks the source where CDC would start now (snapshot_begin). */
enum outcome start_position(struct run *u, struct buf *out, struct failure *f);

/* The snapshot state's work (snapshot.c). */
enum outcome do_snapshot(struct run *u, struct pipe_row *row,
                         struct failure *f);

#endif
