/* runtime.c: sluice run (see runtime.h): registration, a thread per pipe,
 * the daily maintenance, progress, the HTTP service, and a stop on SIGINT
 * or SIGTERM (stopping.h keeps it in time). */
#include "runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../lifecycle/registration.h"
#include "../maintenance/maintenance.h"
#include "../store/balance.h"
#include "../store/leases.h"
#include "../store/store.h"
#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "connections.h"
#include "pipe_runner.h"
#include "progress.h"
#include "service.h"
#include "stopping.h"

#define MAINTENANCE_EVERY_MS 60000

/* How often, in real ms, the maintenance is looked at: every minute of
 * sluice's time (a test clock runs faster), at most every 200 ms. */
static int64_t maintenance_every_ms(void)
{
    int64_t start, offset;
    double speed;
    if (!clock_test(&start, &speed, &offset))
        return MAINTENANCE_EVERY_MS;
    double every = MAINTENANCE_EVERY_MS / speed;
    return every < 200 ? 200 : (int64_t)every;
}

/* Set by the signal handler (stopping.c), read by every pipe's thread:
 * an atomic (lock free, so safe in a handler), not a volatile
 * sig_atomic_t, which only the thread that takes the signal may share
 * with its handler. */
static atomic_bool stop_requested;

static bool selected(const char *name, char **only, size_t count)
{
    if (!count)
        return true;
    for (size_t i = 0; i < count; i++)
        if (!strcmp(only[i], name))
            return true;
    return false;
}

int runtime_run(const struct config *cfg, const struct registry *reg,
                const char *store_url, char **only, size_t only_count,
                bool raw_bytes)
{
    for (size_t i = 0; i < only_count; i++)
        if (!config_pipe(cfg, only[i])) {
            log_msg(SLUICE_LOG_ERROR, NULL, "--pipe %s: %s has no [pipe %s]",
                    only[i], cfg->doc.path, only[i]);
            return 2;
        }
    struct store *s;
    struct error err;
    if (store_open(store_url, STORE_CREATE, &s, &err) < 0) {
        log_msg(SLUICE_LOG_ERROR, NULL, "%s", err.message);
        return 1;
    }
    bool *runs = xcalloc(cfg->pipe_count + 1, sizeof *runs);
    for (size_t i = 0; i < cfg->pipe_count; i++)
        runs[i] = selected(cfg->pipes[i].name, only, only_count);
    /* the service first: a port already taken changes nothing */
    struct progress progress;
    progress_init(&progress, cfg, runs, raw_bytes);
    struct service *svc = NULL;
    struct api_context api = {cfg, reg, false, NULL};
    if (cfg->service.http_listen &&
        service_start(&cfg->service, &api, store_url, progress.pipes,
                      progress.count, &svc, &err) < 0) {
        log_msg(SLUICE_LOG_ERROR, NULL, "%s", err.message);
        progress_end(&progress);
        free(runs);
        store_close(s);
        return 1;
    }
    if (svc)
        log_msg(SLUICE_LOG_INFO, NULL,
                "serving /metrics, /health%s on %s://%s",
                service_api(svc) ? ", the API (/v1) and the status page (/)"
                                 : "",
                service_tls(svc) ? "https" : "http", cfg->service.http_listen);
    if (service_api(svc) && !service_tls(svc) && !service_loopback(svc))
        log_msg(SLUICE_LOG_WARN, NULL,
                "[service] http_listen %s is not a loopback address and "
                "there is no TLS: the API's tokens cross the network in "
                "clear text (set tls_cert_file and tls_key_file)",
                cfg->service.http_listen);
    struct diags d = {0};
    topics_register(s, cfg, &d);
    for (size_t i = 0; i < cfg->pipe_count; i++)
        if (runs[i])
            runs[i] = pipe_register(s, cfg, &cfg->pipes[i], &d) == 0;
    for (size_t i = 0; i < d.count; i++)
        log_msg(SLUICE_LOG_ERROR, NULL, "%s", d.errors[i]);
    connections_check(s, cfg, runs, svc != NULL);
    signal(SIGPIPE, SIG_IGN);
    if (stopping_start(&stop_requested, &err) < 0) {
        log_msg(SLUICE_LOG_ERROR, NULL, "%s", err.message);
        service_stop(svc);
        progress_end(&progress);
        diags_free(&d);
        free(runs);
        store_close(s);
        return 1;
    }
    activity_join(NULL);

    /* beating before its pipes start: counted in their shares */
    if (worker_beat(s, worker_name(), &err) < 0)
        log_msg(SLUICE_LOG_WARN, NULL, "heartbeat: %s", err.message);
    int64_t next_beat = clock_monotonic_ms() + WORKER_BEAT_MS;
    struct pipe_runner *runners =
        xcalloc(cfg->pipe_count + 1, sizeof *runners);
    pthread_t *threads = xcalloc(cfg->pipe_count + 1, sizeof *threads);
    size_t started = 0;
    bool unstarted = false;
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        if (!runs[i])
            continue;
        runners[i] = (struct pipe_runner){cfg, &cfg->pipes[i], store_url,
                                          &stop_requested, 0};
        int rc =
            pthread_create(&threads[i], NULL, pipe_runner_main, &runners[i]);
        runs[i] = rc == 0;
        if (rc)
            log_pipe(SLUICE_LOG_ERROR, cfg->pipes[i].name, NULL, NULL,
                     "cannot start the pipe's thread: %s", strerror(rc));
        unstarted = unstarted || rc;
        started += rc == 0;
    }
    log_msg(SLUICE_LOG_INFO, NULL, "running %zu pipe(s) from %s; store %s",
            started, cfg->doc.path, store_name(s));
    int64_t next_maintenance = 0;
    while (!stop_requested && (started || (d.count == 0 && !unstarted))) {
        if (clock_monotonic_ms() >= next_maintenance) {
            activity_work("the hub's maintenance");
            bool ran = false;
            if (maintenance_tick(s, reg, cfg, worker_name(),
                                 3 * MAINTENANCE_EVERY_MS, clock_now_ms(),
                                 &ran, &err) < 0)
                log_msg(SLUICE_LOG_WARN, NULL, "maintenance: %s", err.message);
            else if (ran)
                log_msg(SLUICE_LOG_INFO, NULL, "maintenance ran");
            next_maintenance = clock_monotonic_ms() + maintenance_every_ms();
        }
        if (clock_monotonic_ms() >= next_beat) {
            activity_work("the worker's heartbeat");
            if (worker_beat(s, worker_name(), &err) < 0)
                log_msg(SLUICE_LOG_DEBUG, NULL, "heartbeat: %s", err.message);
            next_beat = clock_monotonic_ms() + WORKER_BEAT_MS;
        }
        activity_work("the progress of the pipes");
        progress_tick(&progress, s, clock_monotonic_ms());
        activity_work_end();
        sleep_ms(200);
    }
    stop_requested = true;
    int status = d.count ? 2 : unstarted ? 1 : 0;
    stopping_status(status);
    for (size_t i = 0; i < cfg->pipe_count; i++)
        if (runs[i]) {
            pthread_join(threads[i], NULL);
            if (runners[i].status)
                status = runners[i].status;
        }
    /* the service reads the progress's pipes: stopped first */
    service_stop(svc);
    progress_end(&progress);
    lease_release(s, MAINTENANCE_LEASE, worker_name(), &err);
    worker_leave(s, worker_name(), &err);
    log_msg(SLUICE_LOG_INFO, NULL, "stopped");
    diags_free(&d);
    free(runs);
    free(runners);
    free(threads);
    store_close(s);
    activity_quit();
    stopping_end();
    return status;
}
