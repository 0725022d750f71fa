/* kept.c: publication events' records kept in memory (see kept.h). */
#include "kept.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../util/clock.h"
#include "../util/mem.h"

#define SPARES_MAX 1
/* A publisher waits for room at most this long, and only while the
 * subscriber takes: one that stopped taking (its sink down, say) makes
 * no publisher wait, and the hub holds what it has not read. */
#define ROOM_WAIT_MS 2000
#define TAKING_MS 1000
#define SLICE_MS 100

struct kept_event {
    int64_t publication;
    struct buf frames;
};

struct hub_kept {
    const atomic_bool *stop; /* ends every wait when set */
    pthread_mutex_t lock;
    pthread_cond_t room;
    bool taking;      /* a subscriber runs */
    int64_t taken_ms; /* monotonic: the last take */
    size_t max_bytes, bytes;
    size_t promised;           /* room given to batches not yet put */
    struct kept_event *events; /* in the order they were put */
    size_t count, cap;
    struct buf spares[SPARES_MAX];
    size_t spare_count;
};

struct hub_kept *hub_kept_new(size_t max_bytes, const atomic_bool *stop)
{
    struct hub_kept *k = xcalloc(1, sizeof *k);
    k->stop = stop;
    pthread_mutex_init(&k->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&k->room, &attr);
    pthread_condattr_destroy(&attr);
    k->max_bytes = max_bytes;
    k->taken_ms = clock_monotonic_ms(); /* a subscriber starting takes soon */
    return k;
}

void hub_kept_free(struct hub_kept *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->count; i++)
        buf_free(&k->events[i].frames);
    for (size_t i = 0; i < k->spare_count; i++)
        buf_free(&k->spares[i]);
    free(k->events);
    pthread_cond_destroy(&k->room);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* Under the lock. */
static void spare(struct hub_kept *k, struct buf *b)
{
    buf_reset(b);
    if (k->spare_count < SPARES_MAX)
        k->spares[k->spare_count++] = *b;
    else
        buf_free(b);
    *b = (struct buf){0};
}

bool hub_kept_room(struct hub_kept *k, size_t bytes)
{
    pthread_mutex_lock(&k->lock);
    int64_t deadline = clock_monotonic_ms() + ROOM_WAIT_MS;
    bool room;
    /* one batch alone may pass the bound: batches end past their own */
    while (!(room = k->bytes + k->promised == 0 ||
                    k->bytes + k->promised + bytes <= k->max_bytes)) {
        int64_t now = clock_monotonic_ms();
        if (now >= deadline || now - k->taken_ms > TAKING_MS || !k->taking ||
            (k->stop && atomic_load(k->stop)))
            break;
        /* in slices: sluice stopping is a flag, not a signal of ours */
        int64_t wake = now + SLICE_MS < deadline ? now + SLICE_MS : deadline;
        struct timespec until = {.tv_sec = wake / 1000,
                                 .tv_nsec = wake % 1000 * 1000000L};
        pthread_cond_timedwait(&k->room, &k->lock, &until);
    }
    if (room)
        k->promised += bytes;
    pthread_mutex_unlock(&k->lock);
    return room;
}

void hub_kept_taking(struct hub_kept *k, bool taking)
{
    pthread_mutex_lock(&k->lock);
    k->taking = taking;
    k->taken_ms = clock_monotonic_ms();
    pthread_cond_broadcast(&k->room);
    pthread_mutex_unlock(&k->lock);
}

void hub_kept_unused(struct hub_kept *k, size_t bytes)
{
    pthread_mutex_lock(&k->lock);
    k->promised -= bytes;
    pthread_cond_broadcast(&k->room);
    pthread_mutex_unlock(&k->lock);
}

void hub_kept_put(struct hub_kept *k, int64_t publication,
                  struct sluice_batch *b)
{
    pthread_mutex_lock(&k->lock);
    k->promised -= b->frames.len;
    XGROW(k->events, k->cap, k->count + 1);
    k->events[k->count++] = (struct kept_event){publication, b->frames};
    k->bytes += b->frames.len;
    b->frames = k->spare_count ? k->spares[--k->spare_count] : (struct buf){0};
    pthread_mutex_unlock(&k->lock);
}

bool hub_kept_take(struct hub_kept *k, int64_t publication, struct buf *frames)
{
    bool found = false;
    pthread_mutex_lock(&k->lock);
    size_t left = 0;
    for (size_t i = 0; i < k->count; i++) {
        struct kept_event *e = &k->events[i];
        if (e->publication == publication && !found) {
            *frames = e->frames;
            found = true;
            k->bytes -= e->frames.len;
        } else if (e->publication < publication) {
            k->bytes -= e->frames.len;
            spare(k, &e->frames);
        } else {
            k->events[left++] = *e;
        }
    }
    k->count = left;
    k->taken_ms = clock_monotonic_ms();
    pthread_cond_broadcast(&k->room);
    pthread_mutex_unlock(&k->lock);
    return found;
}

void hub_kept_give_back(struct hub_kept *k, struct buf *frames)
{
    pthread_mutex_lock(&k->lock);
    spare(k, frames);
    pthread_mutex_unlock(&k->lock);
}
