/* subscriber.c: a pipe's subscriber loop (see run.h). Its thread takes
 * the publication events of the pipe's subscription, oldest first (those
 * that wait, together, up to 48 MiB), gives them to the sink, and
 * completes them, with the table counters, in one transaction once the
 * sink has flushed them; so the sink loads while the pipe's thread reads
 * the source. It has a store connection of its own
 * and shares the pipe's sink instance. A failure stops it until the pipe's
 * thread has dealt with it: after a backoff it goes on, after a fatal one
 * it is stopped with the plugins. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../hub/hub.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "run.h"

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

/* Publication events that wait are given to the sink together, up to
 * this many bytes: one write, so that the sink makes fewer, larger
 * inserts (ClickHouse merges every part it is given). */
#define GROUP_BYTES (48u << 20)
#define GROUP_EVENTS 64

/* The waiting events, oldest first, up to the limits, in one batch; their
 * ids in `ids`. */
static enum outcome take_group(struct run *u, struct store *s,
                               struct sluice_batch *group, int64_t *ids,
                               size_t *n, struct failure *f)
{
    *n = 0;
    while (*n < GROUP_EVENTS && group->frames.len < GROUP_BYTES) {
        struct hub_event e;
        bool found;
        struct error err;
        if (hub_take_after(s, u->pc->name, *n ? ids[*n - 1] : 0,
                           clock_now_ms(), &e, &found, &err) < 0)
            return from_store(&err, f);
        if (!found)
            break;
        if (!*n) { /* the first one's frames become the group's */
            struct sluice_batch swap = *group;
            *group = e.batch;
            e.batch = swap;
        } else {
            batch_append(group, &e.batch);
        }
        ids[(*n)++] = e.publication;
        hub_event_free(&e);
    }
    return GO_ON;
}

/* What waits into the sink; *found false when nothing did. */
static enum outcome deliver(struct run *u, struct store *s, bool *found,
                            struct failure *f)
{
    struct sluice_batch group;
    batch_init(&group, 0, 0);
    int64_t ids[GROUP_EVENTS];
    size_t n = 0;
    enum outcome o = take_group(u, s, &group, ids, &n, f);
    *found = n > 0;
    void *sink = u->sink->handle;
    if (o == GO_ON && n &&
        (PLUGIN_CALL(u->sink, f, SINK(u)->write(sink, &group, ERR)) < 0 ||
         PLUGIN_CALL(u->sink, f, SINK(u)->flush(sink, ERR)) < 0))
        o = f->outcome;
    struct error err;
    if (o == GO_ON && n) { /* durable in the sink: completed together */
        int64_t now = clock_now_ms();
        int rc = store_begin(s, &err);
        if (rc == 0)
            rc = counters_add_batch(s, u->pc->name, &group, (int64_t)n, now,
                                    &err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = hub_complete(s, u->pc->name, ids[i], now, &err);
        if (rc < 0) {
            store_rollback(s);
            o = from_store(&err, f);
        } else if (store_commit(s, &err) < 0) {
            o = from_store(&err, f);
        }
    }
    for (size_t i = 0; o == FATAL && i < n; i++)
        hub_error(s, u->pc->name, ids[i], f->message, clock_now_ms(), &err);
    batch_free(&group);
    return o;
}

static void *subscriber_main(void *arg)
{
    struct run *u = arg;
    struct subscriber *sub = &u->sub;
    struct store *s = NULL;
    struct error err;
    pthread_mutex_lock(&sub->lock);
    while (!sub->stop) {
        if (sub->has_failure) { /* the pipe's thread has it */
            wait_on(sub, IDLE_WAIT_MS);
            continue;
        }
        pthread_mutex_unlock(&sub->lock);
        struct failure f = {GO_ON, ""};
        bool found = false;
        enum outcome o = GO_ON;
        if (!s && store_open(u->r->store_url, &s, &err) < 0) {
            o = from_store(&err, &f);
            s = NULL;
        } else {
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
    return NULL;
}

void subscriber_start(struct run *u)
{
    struct subscriber *sub = &u->sub;
    if (sub->running)
        return;
    sub->stop = false;
    sub->has_failure = sub->failing = false;
    sub->running = pthread_create(&sub->thread, NULL, subscriber_main, u) == 0;
    if (!sub->running)
        log_msg(SLUICE_LOG_ERROR, u->pc->name,
                "cannot start the subscriber thread: %s", strerror(errno));
}

void subscriber_stop(struct run *u)
{
    struct subscriber *sub = &u->sub;
    if (!sub->running)
        return;
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
