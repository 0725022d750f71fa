/* kept.c: publication events' records kept in memory (see kept.h). */
#include "kept.h"

#include <pthread.h>
#include <stdlib.h>

#include "../util/mem.h"

#define SPARES_MAX 2

struct kept_event {
    int64_t publication;
    struct buf frames;
};

struct hub_kept {
    pthread_mutex_t lock;
    size_t max_bytes, bytes;
    struct kept_event *events; /* in the order they were put */
    size_t count, cap;
    struct buf spares[SPARES_MAX];
    size_t spare_count;
};

struct hub_kept *hub_kept_new(size_t max_bytes)
{
    struct hub_kept *k = xcalloc(1, sizeof *k);
    pthread_mutex_init(&k->lock, NULL);
    k->max_bytes = max_bytes;
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

void hub_kept_put(struct hub_kept *k, int64_t publication,
                  struct sluice_batch *b)
{
    pthread_mutex_lock(&k->lock);
    if (k->bytes + b->frames.len <= k->max_bytes) {
        XGROW(k->events, k->cap, k->count + 1);
        k->events[k->count++] = (struct kept_event){publication, b->frames};
        k->bytes += b->frames.len;
        b->frames =
            k->spare_count ? k->spares[--k->spare_count] : (struct buf){0};
    }
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
    pthread_mutex_unlock(&k->lock);
    return found;
}

void hub_kept_give_back(struct hub_kept *k, struct buf *frames)
{
    pthread_mutex_lock(&k->lock);
    spare(k, frames);
    pthread_mutex_unlock(&k->lock);
}
