/* subscriber.c: a pipe's subscriber loop (see pipe.h). Its thread takes
 * the publication events of the pipe's subscription, oldest first, writes
 * each to the sink as it comes, flushes when none waits (or at the batch
 * limits), and completes them, with the table counters, in one
 * transaction; so the sink loads while the pipe's thread reads the source,
 * and a sink that streams (sink_clickhouse) makes one insert of all the
 * events that waited, not one per event. It has a store connection of its own
 * and shares the pipe's sink instance. A failure stops it until the pipe's
 * thread has dealt with it: after a backoff it goes on, after a fatal one
 * it is stopped with the plugins. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../hub/hub.h"
#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "pipe.h"

#define IDLE_WAIT_MS 200
#define DRAINED_POLL_MS 50

static void wait_on(struct subscriber *sub, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&sub->wake, &sub->lock, &until);
}

/* Whether the group of events given to the sink since its last flush
 * goes on: while more wait, up to pull_batch_size records and for at most
 * sync_interval (the batch limits of the source side), and until sluice
 * stops (what was written is then flushed). */
static bool group_goes_on(struct run *u, int64_t records, int64_t since_ms)
{
    pthread_mutex_lock(&u->sub.lock);
    bool stop = u->sub.stop;
    pthread_mutex_unlock(&u->sub.lock);
    return !stop && !*u->r->stop &&
           records < u->pc->settings.pull_batch_size &&
           clock_monotonic_ms() - since_ms < u->pc->settings.sync_interval_ms;
}

/* Whether an operator paused the pipe's subscription (sluice subscription
 * pause): its events are then `delayed`, not failed, and wait for the
 * resume; said once in the log. */
static bool held_by_operator(struct run *u, struct store *s)
{
    struct subscription sub;
    bool exists;
    struct error err;
    if (subscription_get(s, u->pc->name, &sub, &exists, &err) < 0 || !exists)
        return false;
    bool paused = sub.paused;
    subscription_free(&sub);
    if (paused && !u->sub.held)
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "subscription '%s' is paused: deliveries wait until `sluice "
                 "subscription resume %s`",
                 u->pc->name, u->pc->name);
    u->sub.held = paused;
    return paused;
}

/* The records of a failed table are not the sink's to write (it refused
 * the table); a resync loads the table again. Writes the event's batch,
 * or what is left of it, and tallies what it wrote. */
static enum outcome write_event(struct run *u, const struct sluice_batch *b,
                                char *const *failed, size_t nfailed,
                                struct counters_tally *tally,
                                struct failure *f)
{
    struct sluice_batch kept;
    const struct sluice_batch *out = b;
    if (nfailed) {
        batch_init(&kept, 0, 0);
        if (batch_append_except(&kept, b, (const char *const *)failed,
                                nfailed))
            out = &kept;
    }
    enum outcome o = GO_ON;
    struct call_error e;
    counters_tally_batch(tally, out);
    if (out->count)
        o = from_call(sink_write(SINK_OF(u), out, &e), &e, f);
    if (nfailed)
        batch_free(&kept);
    return o;
}

/* What the events written so far have carried: counted in the meter at
 * once, for the rates, and shown in the store as the delivery's pending
 * rows once a second while it lasts (a delivery may take up to
 * sync_interval before its flush). The first second costs no store
 * write. `shown_ms`: monotonic, the delivery's start or the last time
 * shown. */
static void group_written(struct run *u, struct store *s,
                          const struct counters_tally *tally,
                          int64_t *shown_ms)
{
    meter_group(&u->meter, tally);
    int64_t now = clock_monotonic_ms();
    if (now - *shown_ms < RATE_SAMPLE_MS)
        return;
    *shown_ms = now;
    u->sub.pending_shown = true; /* even when the write fails */
    struct error err;
    if (counters_pending(s, u->pc->name, tally, &err) < 0)
        log_pipe(SLUICE_LOG_DEBUG, u->pc->name, NULL, NULL, "pending rows: %s",
                 err.message);
}

/* What a delivery completes in one transaction: its events, and the
 * counters of what they carried, which take the place of its pending
 * rows (cleared when some were shown). */
struct delivered {
    const char *pipe;
    const struct counters_tally *tally;
    const int64_t *ids;
    size_t count;
    int64_t now;
    bool pending_shown;
    bool lost; /* fenced out */
};

static int complete_step(struct store *s, void *arg, struct error *err)
{
    struct delivered *d = arg;
    if (pipe_fence(s, d->pipe, &d->lost, err) < 0 ||
        counters_add(s, d->pipe, d->tally, d->now, err) < 0 ||
        (d->pending_shown && pipe_tables_pending_clear(s, d->pipe, err) < 0))
        return -1;
    for (size_t i = 0; i < d->count; i++)
        if (hub_complete(s, d->pipe, d->ids[i], d->now, err) < 0)
            return -1;
    return 0;
}

static void log_delivered(const struct run *u, size_t events, int64_t records)
{
    struct log_field fields[] = {LOG_INT("events", (int64_t)events),
                                 LOG_INT("records", records),
                                 LOG_TEXT("sink", u->pc->sink.plugin->name),
                                 LOG_END};
    log_pipe(SLUICE_LOG_DEBUG, u->pc->name, NULL, fields,
             "delivered %zu event(s), %lld record(s), to %s", events,
             (long long)records, u->pc->sink.plugin->name);
}

/* The events that wait, oldest first, into the sink, each written as it
 * is taken, then one flush; then completed together, with the counters,
 * in one transaction. The instance stays locked from the first write to
 * the flush, so that a sink shared with other pipes answers the flush
 * for these writes only. *found false when no event waited. */

static enum outcome deliver(struct run *u, struct store *s, bool *found,
                            struct failure *f)
{
    struct counters_tally tally = {0};
    int64_t *ids = NULL, records = 0, since = clock_monotonic_ms();
    int64_t shown_ms = since;
    size_t n = 0, cap = 0, nfailed = 0;
    char **failed = NULL, tables[200] = "";
    struct error err;
    enum outcome o = GO_ON;
    plugin_lock(SINK_OF(u));
    do {
        struct hub_event e;
        bool more;
        if (hub_take_after(s, u->pc->name, n ? ids[n - 1] : 0, clock_now_ms(),
                           u->kept, &e, &more, &err) < 0) {
            if (!held_by_operator(u, s))
                o = from_store(&err, f);
            break;
        }
        if (!more)
            break;
        if (u->sub.held) {
            log_pipe(SLUICE_LOG_INFO, u->pc->name, NULL, NULL,
                     "subscription '%s' resumed: deliveries go on",
                     u->pc->name);
            u->sub.held = false;
        }
        if (!n && pipe_table_names(s, u->pc->name, TABLE_FAILED, &failed,
                                   &nfailed, &err) < 0) {
            hub_event_free(&e);
            o = from_store(&err, f);
            break;
        }
        XGROW(ids, cap, n + 1);
        ids[n++] = e.publication;
        records += (int64_t)e.batch.count;
        batch_tables_text(&e.batch, tables, sizeof tables);
        activity_work("the delivery of %zu event(s), %lld record(s) of "
                      "table(s) %s, to the sink",
                      n, (long long)records, tables);
        /* no write once the local deadline passed: another worker may
         * hold the pipe by the time it lands */
        o = past_deadline(u, f)
                ? LEFT
                : write_event(u, &e.batch, failed, nfailed, &tally, f);
        hub_kept_give_back(u->kept, &e.batch.frames);
        hub_event_free(&e);
        if (o == GO_ON)
            group_written(u, s, &tally, &shown_ms);
    } while (o == GO_ON && group_goes_on(u, records, since));
    *found = n > 0;
    struct call_error ce;
    if (o == GO_ON && n && !past_deadline(u, f))
        o = from_call(sink_flush(SINK_OF(u), &ce), &ce, f);
    else if (o == GO_ON && n)
        o = LEFT;
    plugin_unlock(SINK_OF(u));
    if (o == GO_ON && n) { /* durable in the sink: completed, counted */
        struct delivered d = {
            u->pc->name,          &tally, ids, n, clock_now_ms(),
            u->sub.pending_shown, false};
        if (store_transaction(s, complete_step, &d, &err) < 0) {
            o = from_commit(&err, d.lost, f);
        } else {
            u->sub.pending_shown = false;
            log_delivered(u, n, records);
        }
    }
    for (size_t i = 0; o == FATAL && i < n; i++)
        hub_error(s, u->pc->name, ids[i], f->message, clock_now_ms(), &err);
    meter_group_end(&u->meter);
    counters_tally_free(&tally);
    names_free(failed, nfailed);
    free(ids);
    activity_work_end();
    return o;
}

static void *subscriber_main(void *arg)
{
    struct run *u = arg;
    struct subscriber *sub = &u->sub;
    struct store *s = NULL;
    struct error err;
    activity_join(u->pc->name);
    pthread_mutex_lock(&sub->lock);
    while (!sub->stop) {
        /* failed: the pipe's thread has it; sluice stops: no more */
        if (sub->has_failure || *u->r->stop) {
            wait_on(sub, IDLE_WAIT_MS);
            continue;
        }
        pthread_mutex_unlock(&sub->lock);
        struct failure f = {.outcome = GO_ON};
        bool found = false;
        enum outcome o = GO_ON;
        if (!s && store_open(u->r->store_url, STORE_WRITE, &s, &err) < 0) {
            o = from_store(&err, &f);
            s = NULL;
        } else {
            /* what a delivery cut short showed: written again */
            if (sub->pending_shown &&
                pipe_tables_pending_clear(s, u->pc->name, &err) == 0)
                sub->pending_shown = false;
            o = deliver(u, s, &found, &f);
        }
        pthread_mutex_lock(&sub->lock);
        sub->failing = o != GO_ON;
        if (o != GO_ON) {
            sub->failure = f;
            sub->has_failure = true;
        } else if (!found && !sub->stop) {
            wait_on(sub, IDLE_WAIT_MS); /* woken by a publication */
        }
    }
    pthread_mutex_unlock(&sub->lock);
    store_close(s);
    activity_quit();
    return NULL;
}

void subscriber_start(struct run *u)
{
    struct subscriber *sub = &u->sub;
    if (sub->running)
        return;
    sub->stop = false;
    sub->has_failure = sub->failing = false;
    sub->pending_shown = true; /* perhaps, by a run cut short */
    int rc = pthread_create(&sub->thread, NULL, subscriber_main, u);
    sub->running = rc == 0;
    hub_kept_taking(u->kept, sub->running);
    if (!sub->running) /* tried again on the pipe's next turn */
        log_pipe(SLUICE_LOG_ERROR, u->pc->name, NULL, NULL,
                 "cannot start the subscriber thread: %s", strerror(rc));
}

void subscriber_stop(struct run *u)
{
    struct subscriber *sub = &u->sub;
    if (!sub->running)
        return;
    hub_kept_taking(u->kept, false);
    pthread_mutex_lock(&sub->lock);
    sub->stop = true;
    pthread_cond_broadcast(&sub->wake);
    pthread_mutex_unlock(&sub->lock);
    pthread_join(sub->thread, NULL);
    sub->running = false;
}

void subscriber_wake(struct run *u)
{
    pthread_mutex_lock(&u->sub.lock);
    pthread_cond_broadcast(&u->sub.wake);
    pthread_mutex_unlock(&u->sub.lock);
}

bool subscriber_failed(struct run *u, struct failure *f)
{
    pthread_mutex_lock(&u->sub.lock);
    bool failed = u->sub.running && u->sub.has_failure;
    if (failed)
        *f = u->sub.failure;
    pthread_mutex_unlock(&u->sub.lock);
    return failed;
}

bool subscriber_failing(struct run *u)
{
    pthread_mutex_lock(&u->sub.lock);
    bool failing = u->sub.running && u->sub.failing;
    pthread_mutex_unlock(&u->sub.lock);
    return failing;
}

void subscriber_resume(struct run *u)
{
    pthread_mutex_lock(&u->sub.lock);
    u->sub.has_failure = false;
    pthread_cond_broadcast(&u->sub.wake);
    pthread_mutex_unlock(&u->sub.lock);
}

enum outcome wait_drained(struct run *u, struct failure *f)
{
    for (;;) {
        if (subscriber_failed(u, f))
            return f->outcome;
        if (*u->r->stop || !pipe_tick(u))
            return f->outcome = LEFT;
        int64_t backlog;
        struct error err;
        if (hub_backlog(u->s, u->pc->name, &backlog, &err) < 0)
            return from_store(&err, f);
        if (!backlog)
            return GO_ON;
        if (!u->sub.running)
            subscriber_start(u);
        subscriber_wake(u);
        sleep_ms(DRAINED_POLL_MS);
    }
}
