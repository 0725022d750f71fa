/* pipe_runner.c: one pipe's worker loop (see pipe_runner.h): it holds the
 * pipe's lease, takes the operator's requests, and turns by turn does the
 * work of the state the store says the pipe is in, through the parts of
 * pipe.h; which state follows which is lifecycle's. */
#include <stdlib.h>
#include <string.h>

#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../store/balance.h"
#include "../store/leases.h"
#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "pipe.h"

#define IDLE_MS 500
#define BACKOFF_MAX_MS 60000

/* The pipe's source instance is its own (it holds the change stream); its
 * sink is shared with the pipes whose sinks have the same options. */
static enum outcome open_plugins(struct run *u, struct failure *f)
{
    struct call_error e;
    if (!u->src && from_call(instance_open(&u->pc->source, u->pc->name, false,
                                           &u->src, &e),
                             &e, f) != GO_ON)
        return f->outcome;
    if (!u->sink &&
        from_call(instance_open(&u->pc->sink, u->pc->name, true, &u->sink, &e),
                  &e, f) != GO_ON)
        return f->outcome;
    return GO_ON;
}

static void close_plugins(struct run *u)
{
    subscriber_stop(u);
    instance_close(u->src);
    instance_close(u->sink);
    u->src = u->sink = NULL;
    u->cdc_open = false;
}

/* The plugins open for the state's work: a sink opened anew for a pipe
 * past its setup is told its tables, then the subscriber starts (before,
 * a resync's rows could land in the live table). *again when a table
 * failed meanwhile: the next turn reads the pipe anew. */
static enum outcome make_ready(struct run *u, const struct pipe_row *row,
                               bool *again, struct failure *f)
{
    *again = false;
    if (row->state == STATE_FAILED || row->state == STATE_COMPLETED)
        return GO_ON; /* nothing to read or write; the subscriber drains */
    bool fresh = !u->sink;
    if (open_plugins(u, f) != GO_ON)
        return f->outcome;
    bool set_up =
        row->state != STATE_PROVISIONING && row->state != STATE_SETUP;
    if (fresh && set_up && tables_reopen(u, row, again, f) != GO_ON) {
        close_plugins(u); /* set up again on the next turn */
        return f->outcome;
    }
    if (set_up && !*again && !u->sub.running)
        subscriber_start(u);
    return GO_ON;
}

/* The work of the pipe's state, one piece of it. */
static enum outcome work(struct run *u, struct pipe_row *row,
                         struct failure *f)
{
    struct error err;
    switch (row->state) {
    case STATE_PROVISIONING:
        return lifecycle_provisioned(u->s, u->pc->name, &err) < 0
                   ? from_store(&err, f)
                   : GO_ON;
    case STATE_SETUP: u->cdc_open = false; return tables_set_up(u, row, f);
    case STATE_SNAPSHOT: return do_snapshot(u, row, f);
    case STATE_RESYNC:
        return wait_drained(u, f) != GO_ON ? f->outcome
                                           : tables_swap(u, row, f);
    case STATE_RUNNING: return cdc_step(u, row, f);
    case STATE_PAUSING:
        u->cdc_open = false;
        if (wait_drained(u, f) != GO_ON)
            return f->outcome;
        return lifecycle_pause_done(u->s, u->pc->name, &err) < 0
                   ? from_store(&err, f)
                   : GO_ON;
    case STATE_MODIFYING: u->cdc_open = false; return tables_remove(u, row, f);
    default: /* paused, completed, failed: the subscriber still drains */
        sleep_ms(IDLE_MS);
        return GO_ON;
    }
}

static enum outcome step(struct run *u, struct pipe_row *row,
                         struct failure *f)
{
    bool again;
    if (make_ready(u, row, &again, f) != GO_ON || again)
        return f->outcome;
    return work(u, row, f);
}

/* The next operator request; false when the pipe was deleted. */
static bool take_request(struct run *u)
{
    struct request_taken t;
    struct error err;
    int rc = request_take(u->s, u->pc->name, false, &t, &err);
    if (!t.id)
        return true;
    struct log_field fields[] = {LOG_INT("request", t.id),
                                 LOG_TEXT("kind", request_kind_name(t.kind)),
                                 LOG_END};
    if (rc == 0)
        log_pipe(SLUICE_LOG_INFO, u->pc->name, NULL, fields,
                 "%s (request %lld) started", request_kind_name(t.kind),
                 (long long)t.id);
    else
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, fields,
                 "request %lld: %s", (long long)t.id, err.message);
    u->cdc_open = u->cdc_open && rc != 0;
    return !(rc == 0 && t.kind == REQUEST_DELETE);
}

/* Waits, growing the wait with each failure in a row, before the next
 * turn. */
static void back_off(struct run *u, const char *why)
{
    u->backoff_ms = u->backoff_ms ? u->backoff_ms * 2 : 500;
    if (u->backoff_ms > BACKOFF_MAX_MS)
        u->backoff_ms = BACKOFF_MAX_MS;
    int64_t wait = u->backoff_ms / 2 + rand() % (u->backoff_ms / 2 + 1);
    struct log_field fields[] = {LOG_INT("wait_ms", wait),
                                 LOG_TEXT("error", why), LOG_END};
    log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, fields,
             "retrying in %lldms: %s", (long long)wait, why);
    /* the lease is renewed meanwhile: a pipe that waits keeps it */
    for (int64_t slept = 0; slept < wait && !*u->r->stop && lease_keep(u);
         slept += 100)
        sleep_ms(100);
}

/* A failure goes to the pipe's state (fatal) or its retry count; when
 * the store cannot take it, to the log, and the next turn, after a
 * backoff, meets it again. */
static void handle_failure(struct run *u, const struct failure *f)
{
    struct error err;
    if (f->outcome == FATAL) { /* lifecycle logs the transition to failed */
        int rc = lifecycle_fail(u->s, u->pc->name, f->message, &err);
        close_plugins(u);
        if (rc == 0) {
            u->backoff_ms = 0;
            return;
        }
        /* the store has not the transition: the log says it all */
        struct log_field fields[] = {LOG_TEXT("error", f->message), LOG_END};
        log_pipe(SLUICE_LOG_ERROR, u->pc->name, NULL, fields, "failed: %s",
                 f->message);
        log_pipe(SLUICE_LOG_ERROR, u->pc->name, NULL, NULL,
                 "the failure is not recorded in the store: %s", err.message);
        back_off(u, "recording the failure");
        return;
    }
    if (lifecycle_retry(u->s, u->pc->name, f->message, &err) < 0)
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "the retry is not recorded in the store: %s", err.message);
    back_off(u, f->message);
}

/* Checked at each renewal: a worker over its share hands the pipe to a
 * worker under its share that wants it, once its work here stopped.
 * True when the pipe is no longer this worker's to run. */
static bool hand_over(struct run *u, bool *held_before)
{
    int64_t now = clock_monotonic_ms();
    if (now - u->balanced_ms < LEASE_MS / 3)
        return false;
    u->balanced_ms = now;
    struct error err;
    char *to = NULL;
    if (balance_over(u->s, u->lease, worker_name(), &to, &err) < 0) {
        log_pipe(SLUICE_LOG_DEBUG, u->pc->name, NULL, NULL, "balance: %s",
                 err.message);
        return false;
    }
    if (!to)
        return false;
    char shown[300];
    worker_shown(to, shown, sizeof shown);
    struct log_field fields[] = {LOG_TEXT("to", to), LOG_END};
    log_pipe(SLUICE_LOG_INFO, u->pc->name, NULL, fields,
             "this worker holds more than its share of the pipes: the pipe "
             "goes to worker %s, which wants it",
             shown);
    close_plugins(u);
    *held_before = false; /* brought back to work when held again */
    bool handed = false;
    if (balance_give(u->s, u->lease, worker_name(), &handed, &err) < 0)
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "handing the pipe over: %s", err.message);
    free(to);
    return true;
}

/* Holds the pipe's lease, or waits for it: false when another worker has
 * it (the plugins of a pipe taken over are closed). A pipe first taken
 * is brought back to work where the store says it was. */
static bool hold_lease(struct run *u, bool *held_before)
{
    struct error err;
    bool held = false;
    if (u->lease_lost) { /* its work stopped: begun anew once held again */
        if (*held_before)
            close_plugins(u);
        *held_before = u->lease_lost = false;
    }
    int64_t now = clock_monotonic_ms();
    int rc =
        balance_acquire(u->s, u->lease, worker_name(), LEASE_MS, &held, &err);
    if (rc < 0 || !held) {
        if (*held_before) { /* another worker took the pipe, or may have */
            log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                     "the pipe's lease is lost (%s): its plugins are closed "
                     "until it is held again",
                     rc < 0 ? err.message : "another worker holds it");
            close_plugins(u);
        }
        *held_before = false;
        return false;
    }
    u->lease_renewed_ms = now; /* it runs from before the renewal */
    if (*held_before)
        return !hand_over(u, held_before);
    if (lifecycle_recover(u->s, u->pc->name, &err) < 0) { /* next turn */
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "cannot bring the pipe back to work: %s", err.message);
        return false;
    }
    struct log_field fields[] = {LOG_TEXT("worker", worker_name()), LOG_END};
    log_pipe(SLUICE_LOG_INFO, u->pc->name, NULL, fields,
             "running pipe (worker %s)", worker_name());
    *held_before = true;
    return true;
}

/* One turn of the loop: the next request, then a piece of the state's
 * work, its failure handled. False when the pipe is gone. */
static bool turn(struct run *u)
{
    struct error err;
    if (!take_request(u))
        return false; /* deleted */
    struct pipe_row row;
    bool found = false;
    if (pipe_load(u->s, u->pc->name, &row, &found, &err) < 0) {
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL, "%s", err.message);
        sleep_ms(1000);
        return true;
    }
    if (!found)
        return false; /* deleted */
    struct failure f = {.outcome = GO_ON};
    enum outcome o = subscriber_failed(u, &f) ? f.outcome : step(u, &row, &f);
    activity_work_end();
    if ((o == RETRY || o == LEFT) && *u->r->stop) {
        /* sluice stops: a call given up (logged as abandoned) or a
         * failure met on the way out, tried again after the restart */
    } else if (o == LEFT) { /* the lease is lost, or may be */
        if (f.message[0])
            log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                     "the pipe's work here stops: %s", f.message);
        u->lease_lost = true;
    } else if (o == RETRY || o == FATAL) {
        handle_failure(u, &f);
        subscriber_resume(u); /* after its backoff (a fatal one closed it) */
    } else if (o == GO_ON && row.retry_count && !subscriber_failing(u)) {
        if (lifecycle_retry_clear(u->s, u->pc->name, &err) < 0)
            log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                     "the end of the retries is not recorded in the store: %s",
                     err.message);
        u->backoff_ms = 0;
    }
    pipe_row_free(&row);
    pipe_tick(u);
    return true;
}

/* The pipe's own store connection, tried again with a growing wait while
 * the server refuses it (its max_connections taken, a restart), so that a
 * pipe waits for a free connection instead of not running at all; false
 * when sluice stops first. */
static bool open_store(struct run *u)
{
    struct error err;
    int64_t wait = 1000;
    while (store_open(u->r->store_url, STORE_WRITE, &u->s, &err) < 0) {
        struct log_field fields[] = {LOG_INT("wait_ms", wait),
                                     LOG_TEXT("error", err.message), LOG_END};
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, fields,
                 "no store connection for the pipe, retrying in %llds: %s",
                 (long long)(wait / 1000), err.message);
        for (int64_t slept = 0; slept < wait && !*u->r->stop; slept += 100)
            sleep_ms(100);
        if (*u->r->stop)
            return false;
        wait = wait * 2 > 30000 ? 30000 : wait * 2;
    }
    return true;
}

void *pipe_runner_main(void *arg)
{
    struct pipe_runner *r = arg;
    struct run u = {.r = r, .pc = r->pipe};
    struct error err;
    activity_join(u.pc->name);
    if (!open_store(&u)) {
        activity_quit();
        return NULL;
    }
    batch_init(&u.batch, (size_t)r->pipe->settings.pull_batch_size,
               BATCH_BYTES_MAX);
    u.kept = hub_kept_new(KEPT_BYTES_MAX, r->stop);
    pthread_mutex_init(&u.sub.lock, NULL);
    pthread_cond_init(&u.sub.wake, NULL);
    meter_init(&u.meter);
    u.lease = pipe_lease_name(u.pc->name);
    bool held_before = false, going_on = true;
    while (!*r->stop && going_on) {
        if (hold_lease(&u, &held_before))
            going_on = turn(&u);
        else
            sleep_ms(1000);
    }
    close_plugins(&u);
    cdc_close(&u);
    pthread_cond_destroy(&u.sub.wake);
    pthread_mutex_destroy(&u.sub.lock);
    rate_sampler_free(&u.rates);
    hub_kept_free(u.kept);
    meter_free(&u.meter);
    /* no worker measures the pipe's rates now: none is shown */
    if (held_before && pipe_tables_rates_clear(u.s, u.pc->name, &err) < 0)
        log_pipe(SLUICE_LOG_DEBUG, u.pc->name, NULL, NULL, "rates: %s",
                 err.message);
    lease_release(u.s, u.lease, worker_name(), &err);
    store_close(u.s);
    batch_free(&u.batch);
    free(u.lease);
    activity_quit();
    return NULL;
}
