/* snapshot.c: the snapshot state's work. Every partition of the pipe's
 * tables is read by up to snapshot_parallelism workers at once, taking
 * the tables in turn so that collections load side by side; each worker
 * has its own source instance and store connection and publishes batch
 * by batch with its partition's progress, waking the subscriber, which
 * loads the sink meanwhile. The pipe's own thread watches for operator
 * requests, stops and the subscriber's failures, which end the workers
 * after their batch in flight. Once all is loaded and written, the tables
 * an add loaded into their shadows are swapped in (tables.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../hub/hub.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../plugin/values.h"
#include "../store/checkpoints.h"
#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "pipe.h"

#define WATCH_MS 200
/* The batches being built at once share BATCH_BYTES_MAX, down to this. */
#define WORKER_BATCH_BYTES_MIN (4u << 20)

struct part_job {
    const char *table; /* borrowed from the pipe row */
    int64_t part;
    struct buf position;
};

struct snapshot_work {
    struct run *u;
    struct part_job *jobs;
    size_t count, next;
    size_t batch_bytes;
    pthread_mutex_t lock;
    int running;          /* workers not yet finished */
    atomic_int interrupt; /* stop after the batch in flight */
    bool failed;
    struct failure failure; /* the first worker's that failed */
};

/* The CDC start position, asked of the source once and kept. */
static enum outcome snapshot_start(struct run *u, struct failure *f)
{
    struct checkpoint c;
    bool found;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START, "", 0, &c,
                       &found, &err) < 0)
        return from_store(&err, f);
    if (found) {
        checkpoint_free(&c);
        return GO_ON;
    }
    struct buf position = {0};
    enum outcome o = start_position(u, &position, f);
    if (o == GO_ON &&
        checkpoint_put(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START, "", 0,
                       position.data, position.len, false, &err) < 0)
        o = from_store(&err, f);
    buf_free(&position);
    return o;
}

/* The partitions a source gave for a table, kept as checkpoints. */
struct partition_list {
    const char *pipe, *table;
    const struct sluice_values *v;
};

static int put_partitions(struct store *s, void *arg, struct error *err)
{
    const struct partition_list *l = arg;
    for (size_t i = 0; i < l->v->count; i++)
        if (checkpoint_put(s, l->pipe, CHECKPOINT_SNAPSHOT, l->table,
                           (int64_t)i, l->v->items[i], l->v->lens[i], false,
                           err) < 0)
            return -1;
    return 0;
}

/* The partitions of a table, made once (with its row estimate) and kept
 * as checkpoints. */
static enum outcome partitions(struct run *u, const char *table,
                               struct checkpoint **out, size_t *n,
                               struct failure *f)
{
    struct error err;
    if (checkpoint_list(u->s, u->pc->name, CHECKPOINT_SNAPSHOT, table, out, n,
                        &err) < 0)
        return from_store(&err, f);
    if (*n)
        return GO_ON;
    checkpoints_free(*out, *n);
    struct sluice_values v = {0};
    struct call_error e;
    if (from_call(source_snapshot_partitions(SOURCE_OF(u), table, &v, &e), &e,
                  f) != GO_ON) {
        values_free(&v);
        return f->outcome;
    }
    if (!v.count) {
        values_free(&v);
        return fail_with(f,
                         "%s.snapshot_partitions: gave no partition for "
                         "table %s",
                         u->pc->source.plugin->name, table);
    }
    /* an estimate, for progress only: none is no failure */
    uint64_t rows = 0;
    if (u->pc->source.plugin->info.source.estimate_rows &&
        source_estimate_rows(SOURCE_OF(u), table, &rows, &e) == SLUICE_OK &&
        pipe_table_estimate(u->s, u->pc->name, table, (int64_t)rows, &err) < 0)
        log_pipe(SLUICE_LOG_DEBUG, u->pc->name, table, NULL,
                 "table %s: estimate: %s", table, err.message);
    struct partition_list l = {u->pc->name, table, &v};
    int rc = store_transaction(u->s, put_partitions, &l, &err);
    values_free(&v);
    if (rc < 0)
        return from_store(&err, f);
    if (checkpoint_list(u->s, u->pc->name, CHECKPOINT_SNAPSHOT, table, out, n,
                        &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* The partitions not done, the tables taken in turn: the first partition
 * of every table, then the second of every table, ... */
static enum outcome plan_jobs(struct run *u, char **tables, size_t n,
                              struct snapshot_work *w, struct failure *f)
{
    struct checkpoint **parts = xcalloc(n + 1, sizeof *parts);
    size_t *counts = xcalloc(n + 1, sizeof *counts), most = 0, cap = 0;
    enum outcome o = GO_ON;
    for (size_t t = 0; t < n && o == GO_ON; t++) {
        o = partitions(u, tables[t], &parts[t], &counts[t], f);
        if (o == GO_ON && counts[t] > most)
            most = counts[t];
    }
    for (size_t i = 0; i < most && o == GO_ON; i++)
        for (size_t t = 0; t < n; t++) {
            if (i >= counts[t] || parts[t][i].done)
                continue;
            XGROW(w->jobs, cap, w->count + 1);
            struct part_job *j = &w->jobs[w->count++];
            *j = (struct part_job){tables[t], parts[t][i].part, {0}};
            buf_append(&j->position, parts[t][i].position.data,
                       parts[t][i].position.len);
        }
    for (size_t t = 0; t < n; t++)
        if (parts[t])
            checkpoints_free(parts[t], counts[t]);
    free(parts);
    free(counts);
    return o;
}

static void worker_failed(struct snapshot_work *w, const struct failure *f)
{
    pthread_mutex_lock(&w->lock);
    if (!w->failed)
        w->failure = *f;
    w->failed = true;
    w->interrupt = 1;
    pthread_mutex_unlock(&w->lock);
}

static struct part_job *next_job(struct snapshot_work *w)
{
    pthread_mutex_lock(&w->lock);
    struct part_job *j =
        w->interrupt || w->next >= w->count ? NULL : &w->jobs[w->next++];
    pthread_mutex_unlock(&w->lock);
    return j;
}

/* One partition to its end, batch by batch. */
static enum outcome read_partition(struct snapshot_work *w, struct store *s,
                                   struct instance *src, struct part_job *j,
                                   struct sluice_batch *b, struct failure *f)
{
    struct run *u = w->u;
    struct call_error e;
    activity_work("the snapshot of table %s, partition %lld", j->table,
                  (long long)j->part);
    while (!w->interrupt && !*u->r->stop) {
        batch_reset(b);
        sluice_status st =
            source_snapshot_next(&src->plugin, j->table, j->position.data,
                                 j->position.len, b, &e);
        if (from_call(st, &e, f) != GO_ON)
            return f->outcome;
        bool done = st == SLUICE_DONE;
        if (!done && !b->has_position)
            return fail_with(f,
                             "%s.snapshot_next: table %s: returned more to "
                             "come but no position to resume from",
                             u->pc->source.plugin->name, j->table);
        if (publish(s, u->pc, u->kept, b, CHECKPOINT_SNAPSHOT, j->table,
                    j->part, done, &j->table, 1, f) != GO_ON)
            return f->outcome;
        subscriber_wake(u);
        if (done) {
            struct log_field fields[] = {LOG_INT("partition", j->part),
                                         LOG_END};
            log_pipe(SLUICE_LOG_DEBUG, u->pc->name, j->table, fields,
                     "table %s: partition %lld read", j->table,
                     (long long)j->part);
            return GO_ON;
        }
        buf_reset(&j->position);
        buf_append(&j->position, b->position.data, b->position.len);
    }
    return GO_ON;
}

static void *snapshot_worker(void *arg)
{
    struct snapshot_work *w = arg;
    struct run *u = w->u;
    struct failure f = {.outcome = GO_ON};
    struct store *s = NULL;
    struct instance *src = NULL;
    struct error err;
    struct sluice_batch b;
    batch_init(&b, (size_t)u->pc->settings.pull_batch_size, w->batch_bytes);
    struct call_error e;
    activity_join(u->pc->name);
    if (store_open(u->r->store_url, STORE_WRITE, &s, &err) < 0)
        worker_failed(w, (from_store(&err, &f), &f));
    else if (from_call(instance_open(&u->pc->source, u->pc->name, false, &src,
                                     &e),
                       &e, &f) != GO_ON)
        worker_failed(w, &f);
    struct part_job *j;
    while (src && s && (j = next_job(w)))
        if (read_partition(w, s, src, j, &b, &f) != GO_ON)
            worker_failed(w, &f);
    instance_close(src);
    store_close(s);
    batch_free(&b);
    activity_quit();
    pthread_mutex_lock(&w->lock);
    w->running--;
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Runs the jobs; the pipe's thread watches meanwhile. */
static enum outcome run_jobs(struct run *u, struct snapshot_work *w,
                             struct failure *f)
{
    size_t workers = (size_t)u->pc->settings.snapshot_parallelism;
    if (workers > w->count)
        workers = w->count;
    size_t share = BATCH_BYTES_MAX / workers;
    w->batch_bytes =
        share < WORKER_BATCH_BYTES_MIN ? WORKER_BATCH_BYTES_MIN : share;
    pthread_mutex_init(&w->lock, NULL);
    pthread_t *threads = xcalloc(workers, sizeof *threads);
    w->running = (int)workers;
    size_t started = 0;
    int rc = 0;
    while (started < workers && (rc = pthread_create(&threads[started], NULL,
                                                     snapshot_worker, w)) == 0)
        started++;
    if (started < workers) { /* the jobs are the started workers' */
        pthread_mutex_lock(&w->lock);
        w->running -= (int)(workers - started);
        pthread_mutex_unlock(&w->lock);
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "snapshot: %zu of %zu worker threads started: %s", started,
                 workers, strerror(rc));
    }
    if (!started) {
        free(threads);
        pthread_mutex_destroy(&w->lock);
        snprintf(f->message, sizeof f->message,
                 "snapshot: cannot start a worker thread: %s", strerror(rc));
        return f->outcome = RETRY;
    }
    struct failure df = {.outcome = GO_ON};
    for (;;) {
        pthread_mutex_lock(&w->lock);
        int running = w->running;
        pthread_mutex_unlock(&w->lock);
        if (!running)
            break;
        if (*u->r->stop || request_waits(u) || !pipe_tick(u) ||
            (df.outcome == GO_ON && subscriber_failed(u, &df)))
            w->interrupt = 1;
        sleep_ms(WATCH_MS);
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    pthread_mutex_destroy(&w->lock);
    if (w->failed)
        return *f = w->failure, f->outcome;
    if (df.outcome != GO_ON)
        return *f = df, f->outcome;
    return GO_ON;
}

/* What the end of a snapshot writes in one transaction: the CDC position
 * (`start`, NULL to keep the one there is), the snapshot's checkpoints
 * gone, and the pipe's next state. */
struct snapshot_end {
    const char *pipe;
    const struct checkpoint *start;
    bool lost; /* fenced out */
};

static int end_snapshot(struct store *s, void *arg, struct error *err)
{
    struct snapshot_end *e = arg;
    if (pipe_fence(s, e->pipe, &e->lost, err) < 0)
        return -1;
    if (e->start && checkpoint_put(s, e->pipe, CHECKPOINT_CDC, "", 0,
                                   e->start->position.data,
                                   e->start->position.len, false, err) < 0)
        return -1;
    if (checkpoint_clear(s, e->pipe, CHECKPOINT_SNAPSHOT_START, NULL, err) <
            0 ||
        checkpoint_clear(s, e->pipe, CHECKPOINT_SNAPSHOT, NULL, err) < 0)
        return -1;
    return lifecycle_snapshot_done(s, e->pipe, err);
}

/* Every partition loaded and written: the tables added swapped in, then
 * CDC starts where the snapshot began, unless (tables added) it already
 * has an older position, which covers the new tables too. */
static enum outcome finish(struct run *u, const struct pipe_row *row,
                           struct failure *f)
{
    if (wait_drained(u, f) != GO_ON)
        return f->outcome;
    if (row->context == CONTEXT_ADD && tables_swap_added(u, row, f) != GO_ON)
        return f->outcome;
    struct checkpoint start, cdc;
    bool has_start, has_cdc;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START, "", 0,
                       &start, &has_start, &err) < 0)
        return from_store(&err, f);
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_CDC, "", 0, &cdc,
                       &has_cdc, &err) < 0) {
        if (has_start)
            checkpoint_free(&start);
        return from_store(&err, f);
    }
    bool keep = has_cdc && row->context == CONTEXT_ADD;
    struct snapshot_end e = {u->pc->name, has_start && !keep ? &start : NULL,
                             false};
    int rc = store_transaction(u->s, end_snapshot, &e, &err);
    if (has_start)
        checkpoint_free(&start);
    if (has_cdc)
        checkpoint_free(&cdc);
    if (rc < 0)
        return from_commit(&err, e.lost, f);
    u->cdc_open = false;
    return GO_ON;
}

enum outcome do_snapshot(struct run *u, struct pipe_row *row,
                         struct failure *f)
{
    if (snapshot_start(u, f) != GO_ON)
        return f->outcome;
    size_t n;
    char **tables = row->context == CONTEXT_ADD
                        ? tables_of(row, TABLE_ADDING, &n)
                        : tables_served(row, &n);
    struct snapshot_work w = {.u = u};
    enum outcome o = plan_jobs(u, tables, n, &w, f);
    struct log_field fields[] = {LOG_INT("partitions", (int64_t)w.count),
                                 LOG_INT("tables", (int64_t)n), LOG_END};
    if (o == GO_ON)
        log_pipe(SLUICE_LOG_DEBUG, u->pc->name, NULL, fields,
                 "snapshot: %zu partition(s) of %zu table(s) to read, up to "
                 "%lld at a time",
                 w.count, n, (long long)u->pc->settings.snapshot_parallelism);
    bool interrupted = false;
    if (o == GO_ON && w.count) {
        o = run_jobs(u, &w, f);
        interrupted = w.interrupt || *u->r->stop;
    }
    for (size_t i = 0; i < w.count; i++)
        buf_free(&w.jobs[i].position);
    free(w.jobs);
    free(tables);
    if (o != GO_ON || interrupted)
        return o; /* the loop takes the request, or stops */
    return finish(u, row, f);
}
