/* stopping.c: the stop of sluice run in a bounded time (see stopping.h):
 * the signal handlers, and a thread of its own that keeps the times, so
 * that no call any other thread waits in (a plugin's, the store's) can
 * hold the stop up. The handlers only set flags and post a semaphore,
 * which is safe in a handler. */
#include "stopping.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "../plugin/host.h"
#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"

#define WATCH_MS 50
#define WATCH_STACK (256u << 10)

static atomic_bool *stop_flag;
static atomic_int signalled; /* the first signal, 0 before */
static atomic_bool ended;    /* stopping_end was called */
static atomic_int exit_status;
static sem_t wake; /* posted by the first signal and by the end */
static pthread_t watcher;

static void on_signal(int sig)
{
    /* from now on a signal ends the process at once, by its default
     * action, whatever the threads are doing */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    signalled = sig;
    *stop_flag = true;
    sem_post(&wake);
}

/* Waits until the run ended or `until_ms` (monotonic) has come; true when
 * it ended. */
static bool ended_by(int64_t until_ms)
{
    while (!ended && clock_monotonic_ms() < until_ms)
        sleep_ms(WATCH_MS);
    return ended;
}

static void say_abandoned(const char *who, const char *what, int64_t ms,
                          void *arg)
{
    (void)arg;
    log_msg(SLUICE_LOG_WARN, who,
            "stopping: abandoned %s after %.1f s: it did not return; nothing "
            "it carried was acknowledged: it is done again after the restart",
            what, (double)ms / 1000);
}

static void *watch(void *arg)
{
    (void)arg;
    while (sem_wait(&wake) < 0 && errno == EINTR)
        ;
    if (ended)
        return NULL;
    int64_t t0 = clock_monotonic_ms();
    log_msg(SLUICE_LOG_INFO, NULL,
            "stopping (%s): the work in progress ends; what still waits on "
            "a server after %d s is abandoned, and the process ends within "
            "%d s; a second signal ends it at once",
            signalled == SIGINT ? "SIGINT" : "SIGTERM", STOP_ABANDON_MS / 1000,
            STOP_EXIT_MS / 1000);
    if (ended_by(t0 + STOP_ABANDON_MS))
        return NULL;
    host_abandon_calls();
    if (ended_by(t0 + STOP_EXIT_MS))
        return NULL;
    size_t n = activity_each(say_abandoned, NULL);
    log_msg(SLUICE_LOG_WARN, NULL,
            "stopped without waiting for %zu call(s) in progress", n);
    log_set_footer(NULL);
    _exit(exit_status);
}

int stopping_start(atomic_bool *stop, struct error *err)
{
    stop_flag = stop;
    if (sem_init(&wake, 0, 0) < 0)
        return error_set(err, "cannot make a semaphore: %s", strerror(errno));
    /* a stack of its own size: the default follows RLIMIT_STACK, which
     * may be too large to map (the pipes' threads then say so) */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WATCH_STACK);
    int rc = pthread_create(&watcher, &attr, watch, NULL);
    pthread_attr_destroy(&attr);
    if (rc) {
        sem_destroy(&wake);
        return error_set(err,
                         "cannot start the thread that keeps the stop "
                         "in time: %s",
                         strerror(rc));
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

void stopping_status(int status)
{
    exit_status = status;
}

void stopping_end(void)
{
    ended = true;
    sem_post(&wake);
    pthread_join(watcher, NULL);
    /* `wake` stays: a signal that comes now still posts it */
}
