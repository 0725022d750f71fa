/* subscriber.c: a pipe's subscriber loop (see run.h). Its thread takes
 * the publication events of the pipe's subscription, oldest first, gives
 * each to the sink, and completes it, with the table counters, in one
 * transaction once the sink has flushed it; so the sink loads while the
 * pipe's thread reads the source. It has a store connection of its own
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

/* One publication event into the sink; *found false when there was none.
 * (Giving several waiting events to the sink in one write made no larger
 * difference to ClickHouse's merges than it cost in memory: bench/e2e.) */
static enum outcome deliver(struct run *u, struct store *s, bool *found,
                            struct failure *f)
{
    struct hub_event e;
    struct error err;
    if (hub_take(s, u->pc->name, clock_now_ms(), &e, found, &err) < 0)
        return from_store(&err, f);
    if (!*found)
        return GO_ON;
    enum outcome o = GO_ON;
    void *sink = u->sink->handle;
    if (PLUGIN_CALL(u->sink, f, SINK(u)->write(sink, &e.batch, ERR)) < 0 ||
        PLUGIN_CALL(u->sink, f, SINK(u)->flush(sink, ERR)) < 0)
        o = f->outcome;
    if (o == GO_ON) { /* durable in the sink: completed, with the counters */
        int64_t now = clock_now_ms();
        if (store_begin(s, &err) < 0) {
            o = from_store(&err, f);
        } else if (counters_add_batch(s, u->pc->name, &e.batch, 1, now,
                                      &err) < 0 ||
                   hub_complete(s, u->pc->name, e.publication, now, &err) < 0) {
            store_rollback(s);
            o = from_store(&err, f);
        } else if (store_commit(s, &err) < 0) {
            o = from_store(&err, f);
        }
    }
    if (o == FATAL)
        hub_error(s, u->pc->name, e.publication, f->message, clock_now_ms(),
                  &err);
    hub_event_free(&e);
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
