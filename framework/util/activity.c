/* activity.c: what each worker thread is in the middle of (see
 * activity.h). An entry per thread taking part, owned by that thread
 * (made by activity_join, freed by activity_quit) and listed for
 * activity_each; its lock guards its fields against that reader. */
#include "activity.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mem.h"

struct activity {
    pthread_mutex_t lock;
    char *who;
    char work[256];
    char call[256];
    int depth; /* calls begun and not ended; call[] is the outermost's */
    int64_t call_since_ms;
    struct activity *next;
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct activity *list;
static _Thread_local struct activity *mine;

void activity_join(const char *who)
{
    if (mine)
        return;
    struct activity *a = xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    a->who = who ? xstrdup(who) : NULL;
    pthread_mutex_lock(&list_lock);
    a->next = list;
    list = a;
    pthread_mutex_unlock(&list_lock);
    mine = a;
}

void activity_quit(void)
{
    struct activity *a = mine;
    if (!a)
        return;
    pthread_mutex_lock(&list_lock);
    struct activity **at = &list;
    while (*at != a)
        at = &(*at)->next;
    *at = a->next;
    pthread_mutex_unlock(&list_lock);
    mine = NULL;
    pthread_mutex_destroy(&a->lock);
    free(a->who);
    free(a);
}

/* Writes the text into one of a's fields of `size` bytes (at most 256),
 * and with `since` the time into call_since_ms. */
static void put(struct activity *a, char *field, size_t size, bool since,
                const char *fmt, va_list ap) SLUICE_PRINTF(5, 0);

static void put(struct activity *a, char *field, size_t size, bool since,
                const char *fmt, va_list ap)
{
    char text[256];
    vsnprintf(text, sizeof text < size ? sizeof text : size, fmt, ap);
    int64_t now = since ? clock_monotonic_ms() : 0;
    pthread_mutex_lock(&a->lock);
    snprintf(field, size, "%s", text);
    if (since)
        a->call_since_ms = now;
    pthread_mutex_unlock(&a->lock);
}

void activity_work(const char *fmt, ...)
{
    struct activity *a = mine;
    if (!a)
        return;
    va_list ap;
    va_start(ap, fmt);
    put(a, a->work, sizeof a->work, false, fmt, ap);
    va_end(ap);
}

void activity_work_end(void)
{
    struct activity *a = mine;
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->work[0] = '\0';
    pthread_mutex_unlock(&a->lock);
}

void activity_call_begin(const char *fmt, ...)
{
    struct activity *a = mine;
    if (!a || a->depth++)
        return;
    va_list ap;
    va_start(ap, fmt);
    put(a, a->call, sizeof a->call, true, fmt, ap);
    va_end(ap);
}

void activity_call_end(void)
{
    struct activity *a = mine;
    if (!a || !a->depth || --a->depth)
        return;
    pthread_mutex_lock(&a->lock);
    a->call[0] = '\0';
    pthread_mutex_unlock(&a->lock);
}

/* "CALL (in WORK)", either alone, or "". The caller holds a's lock. */
static const char *describe(const struct activity *a, char *out, size_t size)
{
    bool both = a->call[0] && a->work[0];
    snprintf(out, size, "%s%s%s%s", a->call, both ? " (in " : "", a->work,
             both ? ")" : "");
    return out;
}

const char *activity_mine(char *out, size_t size)
{
    struct activity *a = mine;
    if (!a) {
        if (size)
            out[0] = '\0';
        return out;
    }
    pthread_mutex_lock(&a->lock);
    describe(a, out, size);
    pthread_mutex_unlock(&a->lock);
    return out;
}

size_t activity_each(void (*fn)(const char *who, const char *what,
                                int64_t in_call_ms, void *arg),
                     void *arg)
{
    size_t n = 0;
    int64_t now = clock_monotonic_ms();
    pthread_mutex_lock(&list_lock);
    for (struct activity *a = list; a; a = a->next) {
        char what[sizeof a->call + sizeof a->work + 8];
        pthread_mutex_lock(&a->lock);
        bool in_call = a->call[0] != '\0';
        int64_t since = a->call_since_ms;
        describe(a, what, sizeof what);
        pthread_mutex_unlock(&a->lock);
        if (!in_call)
            continue;
        fn(a->who, what, now - since, arg);
        n++;
    }
    pthread_mutex_unlock(&list_lock);
    return n;
}
