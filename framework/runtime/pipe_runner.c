/* pipe_runner.c: one pipe's worker loop (see runtime.h). The states'
 * work lives here and in snapshot.c; which state follows which is
 * lifecycle's. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../hub/hub.h"
#include "../lifecycle/destinations.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../plugin/host.h"
#include "../plugin/values.h"
#include "../store/checkpoints.h"
#include "../store/leases.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/utf8.h"
#include "run.h"

#define LEASE_MS 15000
#define POLL_SLICE_MS 1000
#define IDLE_MS 500
#define BACKOFF_MAX_MS 60000

enum outcome from_plugin(sluice_status st, const char *message,
                         struct failure *f)
{
    if (st == SLUICE_OK || st == SLUICE_DONE)
        return GO_ON;
    f->outcome = st == SLUICE_RETRY ? RETRY : FATAL;
    f->table_only = st == SLUICE_FATAL_TABLE;
    snprintf(f->message, sizeof f->message, "%s",
             message[0] ? message : "(the plugin gave no message)");
    f->message[utf8_whole(f->message, strlen(f->message))] = '\0';
    return f->outcome;
}

enum outcome from_store(const struct error *err, struct failure *f)
{
    f->outcome = err->transient ? RETRY : FATAL;
    f->table_only = false;
    snprintf(f->message, sizeof f->message, "%s", err->message);
    return f->outcome;
}

enum outcome fail_with(struct failure *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    f->table_only = false;
    return f->outcome = FATAL;
}

enum outcome table_failed(struct run *u, const char *table, struct failure *f)
{
    if (f->outcome != FATAL || !f->table_only)
        return f->outcome;
    log_msg(SLUICE_LOG_ERROR, u->pc->name,
            "table %s failed; the pipe's other tables go on: %s", table,
            f->message);
    struct error err;
    if (lifecycle_table_fail(u->s, u->pc->name, table, f->message, &err) < 0)
        return from_store(&err, f);
    *f = (struct failure){.outcome = GO_ON};
    return GO_ON;
}

/* The pipe's source instance is its own (it holds the change stream); its
 * sink is shared with the pipes whose sinks have the same options. */
static enum outcome open_plugins(struct run *u, struct failure *f)
{
    char msg[1024] = "";
    sluice_error e = {msg, sizeof msg};
    if (!u->src &&
        from_plugin(instance_open(&u->pc->source, u->pc->name, false, &u->src,
                                  &e),
                    msg, f) != GO_ON)
        return f->outcome;
    if (!u->sink &&
        from_plugin(instance_open(&u->pc->sink, u->pc->name, true, &u->sink,
                                  &e),
                    msg, f) != GO_ON)
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

char **tables_of(const struct pipe_row *row, const char *status, size_t *n)
{
    char **out = xcalloc(row->table_count + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < row->table_count; i++) {
        const char *st = row->tables[i].status;
        if (status ? !strcmp(st, status)
                   : (!strcmp(st, TABLE_ACTIVE) || !strcmp(st, TABLE_ADDING)))
            out[(*n)++] = row->tables[i].name;
    }
    return out;
}

/* A new pipe without a table list: the source says what it has. */
static enum outcome discover_tables(struct run *u, struct pipe_row *row,
                                    struct failure *f)
{
    if (row->table_count)
        return GO_ON;
    struct sluice_values v = {0};
    if (PLUGIN_CALL(u->src, f, SRC(u)->list_tables(u->src->handle, &v, ERR)) < 0) {
        values_free(&v);
        return f->outcome;
    }
    struct error err;
    int rc = 0;
    for (size_t i = 0; i < v.count && rc == 0; i++) {
        struct db_value p[] = {DBV_TEXT(u->pc->name), DBV_TEXT(v.items[i])};
        rc = store_exec(u->s,
                        "INSERT INTO pipe_tables (pipe, name, status) VALUES "
                        "($1, $2, 'active') ON CONFLICT DO NOTHING",
                        p, 2, NULL, &err);
    }
    values_free(&v);
    if (rc < 0)
        return from_store(&err, f);
    bool found;
    pipe_row_free(row);
    if (pipe_load(u->s, u->pc->name, row, &found, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* The owner of a destination, as the sink records it. */
static enum outcome sink_claim(struct run *u, const char *table, bool upgrade,
                               struct failure *f)
{
    struct error err;
    const char *id = store_id(u->s, &err);
    if (!id)
        return from_store(&err, f);
    sluice_owner owner = {.size = sizeof owner,
                          .store_id = id,
                          .store_name = store_name(u->s),
                          .pipe = u->pc->name,
                          .table = table,
                          .upgrade = upgrade};
    if (PLUGIN_CALL(u->sink, f,
                    SINK(u)->claim(u->sink->handle, &owner, ERR)) < 0)
        return f->outcome;
    if (upgrade &&
        destination_settled(u->s, u->pc->name, table, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* The table's destination is this pipe's: in the store (no other table of
 * this store's pipes has it) and, when the sink records owners, in the
 * destination itself (for deployments with stores of their own). A
 * destination that is another's fails the table alone. */
static enum outcome claim_destination(struct run *u, const char *table,
                                      struct failure *f)
{
    const sluice_sink_info *sink = SINK(u);
    if (!sink->destination)
        return GO_ON;
    struct sluice_values name = {0};
    char msg[1024] = "";
    sluice_error e = {msg, sizeof msg};
    if (from_plugin(sink->destination(u->pc->sink.data, table, &name, &e), msg,
                    f) != GO_ON) {
        values_free(&name);
        return f->outcome;
    }
    if (name.count != 1) {
        values_free(&name);
        return fail_with(f, "%s: destination gave %zu names for table %s, "
                            "not one",
                         u->pc->sink.plugin->name, name.count, table);
    }
    bool upgrade;
    char *owner;
    struct error err;
    int rc = destination_claim(u->s, u->pc->name, table, name.items[0],
                               &upgrade, &owner, &err);
    enum outcome o = GO_ON;
    if (rc < 0)
        o = from_store(&err, f);
    else if (rc == 1) {
        o = fail_with(f, "destination %s of table %s belongs to %s of this "
                         "store: one destination has one owner (give this "
                         "pipe's sink another database or table prefix, or "
                         "remove the table from one of the pipes)",
                      name.items[0], table, owner);
        f->table_only = true;
    } else if (sink->claim) {
        o = sink_claim(u, table, upgrade, f);
    }
    free(owner);
    values_free(&name);
    return o;
}

/* One table's destination claimed and made ready, and its shadow for a
 * resync. A table that fails alone (its destination refused, or
 * another's) does not stop the others: *failed says so. */
static enum outcome set_up_table(struct run *u, const char *table,
                                 bool resync, bool *failed, struct failure *f)
{
    *failed = false;
    if (claim_destination(u, table, f) != GO_ON ||
        PLUGIN_CALL(u->sink, f,
                    SINK(u)->setup_table(u->sink->handle, table, ERR)) < 0 ||
        (resync && PLUGIN_CALL(u->sink, f,
                               SINK(u)->resync_begin(u->sink->handle, table,
                                                     ERR)) < 0)) {
        *failed = f->outcome == FATAL && f->table_only;
        return table_failed(u, table, f);
    }
    return GO_ON;
}

static enum outcome do_setup(struct run *u, struct pipe_row *row,
                             struct failure *f)
{
    if (discover_tables(u, row, f) != GO_ON)
        return f->outcome;
    bool resync = !strcmp(row->state_context, CONTEXT_RESYNC);
    bool add = !strcmp(row->state_context, CONTEXT_ADD);
    size_t n;
    char **tables = tables_of(row, add ? TABLE_ADDING : NULL, &n);
    enum outcome o = GO_ON;
    bool failed;
    for (size_t i = 0; i < n && o == GO_ON; i++)
        o = set_up_table(u, tables[i], resync, &failed, f);
    free(tables);
    struct error err;
    if (o == GO_ON && lifecycle_setup_done(u->s, u->pc->name, &err) < 0)
        o = from_store(&err, f);
    u->cdc_open = false;
    return o;
}

bool request_waits(struct run *u)
{
    struct request req;
    bool pending = false;
    struct error err;
    if (request_next(u->s, u->pc->name, &req, &pending, &err) == 0 && pending)
        request_free(&req);
    return pending;
}

/* ---- the hub: publishing (the subscriber is subscriber.c) ---- */

/* A record of a table the source was not asked for would create and fill
 * a destination nobody asked for. Checked over the batch's distinct
 * tables (batch.h), not record by record. */
static enum outcome check_tables(const struct pipe_config *pc,
                                 const struct sluice_batch *b,
                                 const char *kind, const char *table,
                                 const char *const *tables, size_t n,
                                 struct failure *f)
{
    const char *t;
    size_t at = 0, len;
    while (batch_next_table(b, &at, &t, &len)) {
        size_t i = 0;
        while (i < n && (strlen(tables[i]) != len || memcmp(tables[i], t, len)))
            i++;
        if (i < n)
            continue;
        int shown = (int)(len > 64 ? 64 : len);
        if (!strcmp(kind, CHECKPOINT_SNAPSHOT))
            return fail_with(f, "source %s: snapshot_next of table '%s' gave "
                                "a record of table '%.*s'; a source gives "
                                "records only of the table it is asked for",
                             pc->source.plugin->name, table, shown, t);
        return fail_with(f, "source %s: cdc_poll gave a record of table "
                            "'%.*s', which is not among the %zu table(s) "
                            "the pipe follows",
                         pc->source.plugin->name, shown, t, n);
    }
    return GO_ON;
}

enum outcome publish(struct store *s, const struct pipe_config *pc,
                     const struct sluice_batch *b, const char *kind,
                     const char *table, int64_t part, bool done,
                     const char *const *tables, size_t table_count,
                     struct failure *f)
{
    struct error err;
    int64_t id;
    if (check_tables(pc, b, kind, table, tables, table_count, f) != GO_ON)
        return f->outcome;
    if (store_begin(s, &err) < 0)
        return from_store(&err, f);
    int rc = 0;
    if (b->count)
        rc = hub_publish(s, pc->topic, pc->name, b, clock_now_ms(), &id, &err);
    if (rc == 0 && b->has_position)
        rc = checkpoint_put(s, pc->name, kind, table, part, b->position.data,
                            b->position.len, done, &err);
    if (rc == 0)
        rc = counters_stop_tables(s, pc->name, b, &err);
    if (rc < 0) {
        store_rollback(s);
        return from_store(&err, f);
    }
    if (store_commit(s, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

static enum outcome do_resync(struct run *u, struct pipe_row *row,
                              struct failure *f)
{
    size_t n;
    char **tables = tables_of(row, TABLE_ACTIVE, &n);
    enum outcome o = GO_ON;
    for (size_t i = 0; i < n && o == GO_ON; i++)
        if (PLUGIN_CALL(u->sink, f, SINK(u)->resync_swap(u->sink->handle,
                                                         tables[i], ERR)) < 0)
            o = table_failed(u, tables[i], f);
    free(tables);
    struct error err;
    if (o == GO_ON && lifecycle_resync_done(u->s, u->pc->name, &err) < 0)
        o = from_store(&err, f);
    return o;
}

/* ---- change data capture ---- */

enum outcome start_position(struct run *u, struct buf *out, struct failure *f)
{
    struct sluice_values v = {0};
    enum outcome o = GO_ON;
    if (PLUGIN_CALL(u->src, f,
                    SRC(u)->snapshot_begin(u->src->handle, &v, ERR)) < 0)
        o = f->outcome;
    else if (v.count != 1)
        o = fail_with(f, "%s: snapshot_begin gave %zu positions, not one",
                      u->pc->source.plugin->name, v.count);
    else
        buf_append(out, v.items[0], v.lens[0]);
    values_free(&v);
    return o;
}

static void forget_cdc_tables(struct run *u)
{
    for (size_t i = 0; i < u->cdc_table_count; i++)
        free(u->cdc_tables[i]);
    free(u->cdc_tables);
    u->cdc_tables = NULL;
    u->cdc_table_count = 0;
}

static enum outcome open_cdc(struct run *u, struct pipe_row *row,
                             struct failure *f)
{
    struct checkpoint cdc;
    bool found;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_CDC, "", 0, &cdc, &found,
                       &err) < 0)
        return from_store(&err, f);
    if (!found) { /* cdc mode: from now */
        cdc.position = (struct buf){0};
        cdc.table = NULL;
        if (SRC(u)->snapshot_begin &&
            start_position(u, &cdc.position, f) != GO_ON)
            return f->outcome;
    }
    size_t n;
    char **tables = tables_of(row, TABLE_ACTIVE, &n);
    forget_cdc_tables(u);
    u->cdc_tables = xcalloc(n + 1, sizeof *u->cdc_tables);
    for (size_t i = 0; i < n; i++)
        u->cdc_tables[u->cdc_table_count++] = xstrdup(tables[i]);
    free(tables);
    enum outcome o = GO_ON;
    if (PLUGIN_CALL(u->src, f,
                    SRC(u)->cdc_start(u->src->handle,
                                      (const char *const *)u->cdc_tables, n,
                                      cdc.position.data, cdc.position.len,
                                      ERR)) < 0)
        o = f->outcome;
    else
        u->cdc_open = true;
    checkpoint_free(&cdc);
    return o;
}

/* A batch is cut at pull_batch_size records or after sync_interval,
 * polled in slices so that a stop or a request is seen within a second. */
static enum outcome do_cdc(struct run *u, struct pipe_row *row,
                           struct failure *f)
{
    if (!u->cdc_open && open_cdc(u, row, f) != GO_ON)
        return f->outcome;
    batch_reset(&u->batch);
    int64_t until = clock_monotonic_ms() + u->pc->settings.sync_interval_ms;
    while (!*u->r->stop && !batch_full(&u->batch)) {
        int64_t left = until - clock_monotonic_ms();
        if (left <= 0)
            break;
        /* each poll adds to the batch and moves its position on */
        int st = PLUGIN_CALL(
            u->src, f,
            SRC(u)->cdc_poll(u->src->handle, &u->batch,
                             left < POLL_SLICE_MS ? left : POLL_SLICE_MS, ERR));
        if (st < 0) {
            u->cdc_open = false;
            return f->outcome;
        }
        if (!pipe_tick(u)) { /* taken by another worker: not ours to publish */
            u->cdc_open = false;
            return f->outcome = LEFT;
        }
        if (request_waits(u))
            break; /* an operator waits: cut the batch here */
    }
    if (publish(u->s, u->pc, &u->batch, CHECKPOINT_CDC, "", 0, false,
                (const char *const *)u->cdc_tables, u->cdc_table_count,
                f) != GO_ON) {
        /* the stream has moved past the batch: the next turn reads it
         * again from the checkpoint (or after it, had the commit whose
         * outcome was unknown gone through) */
        u->cdc_open = false;
        return f->outcome;
    }
    if (u->batch.count)
        subscriber_wake(u);
    /* the batch is durable: a failed ack is the source's to report, and
     * the pipe's to retry or fail on */
    if (u->batch.has_position &&
        PLUGIN_CALL(u->src, f,
                    SRC(u)->cdc_ack(u->src->handle, u->batch.position.data,
                                    u->batch.position.len, ERR)) < 0) {
        char why[sizeof f->message];
        snprintf(why, sizeof why, "%s", f->message);
        snprintf(f->message, sizeof f->message, "source %s: cdc_ack: %.900s",
                 u->pc->source.plugin->name, why);
        return f->outcome;
    }
    return GO_ON;
}

static enum outcome do_modify(struct run *u, struct pipe_row *row,
                              struct failure *f)
{
    for (size_t i = 0; i < row->table_count; i++) {
        const struct pipe_table *t = &row->tables[i];
        if (strcmp(t->status, TABLE_REMOVING) != 0 || !t->drop_destination)
            continue;
        if (!SINK(u)->drop_table) {
            log_msg(SLUICE_LOG_WARN, u->pc->name,
                    "table %s: the sink cannot drop destinations; kept", t->name);
            continue;
        }
        if (PLUGIN_CALL(u->sink, f, SINK(u)->drop_table(u->sink->handle,
                                                        t->name, ERR)) < 0 &&
            table_failed(u, t->name, f) != GO_ON)
            return f->outcome;
    }
    struct error err;
    if (lifecycle_modify_done(u->s, u->pc->name, &err) < 0)
        return from_store(&err, f);
    u->cdc_open = false;
    return GO_ON;
}

/* Plugins opened by this process for a pipe past its setup (a restart, a
 * take-over): the sink is told its tables again (setup is idempotent),
 * and the shadows of a resync in progress. *changed when a table failed
 * (the row in hand is then out of date). */
static enum outcome reopen_tables(struct run *u, const struct pipe_row *row,
                                  bool *changed, struct failure *f)
{
    bool resync = !strcmp(row->state_context, CONTEXT_RESYNC) &&
                  (row->state == STATE_SNAPSHOT || row->state == STATE_RESYNC);
    size_t n;
    char **tables = tables_of(row, NULL, &n);
    enum outcome o = GO_ON;
    *changed = false;
    for (size_t i = 0; i < n && o == GO_ON; i++) {
        bool failed;
        o = set_up_table(u, tables[i], resync, &failed, f);
        *changed = *changed || failed;
    }
    free(tables);
    return o;
}

static enum outcome step(struct run *u, struct pipe_row *row, struct failure *f)
{
    struct error err;
    bool fresh = !u->sink;
    if (row->state != STATE_FAILED && row->state != STATE_COMPLETED &&
        open_plugins(u, f) != GO_ON)
        return f->outcome;
    bool set_up = row->state != STATE_PROVISIONING && row->state != STATE_SETUP;
    bool changed = false;
    if (fresh && u->sink && set_up && reopen_tables(u, row, &changed, f) != GO_ON) {
        close_plugins(u); /* set up again on the next turn */
        return f->outcome;
    }
    if (changed)
        return GO_ON; /* a table failed: the next turn reads the pipe again */
    /* the subscriber starts once the sink knows its tables and shadows:
     * before, a resync's rows could land in the live table */
    if (u->sink && set_up && !u->sub.running)
        subscriber_start(u);
    switch (row->state) {
    case STATE_PROVISIONING:
        return lifecycle_provisioned(u->s, u->pc->name, &err) < 0
                   ? from_store(&err, f)
                   : GO_ON;
    case STATE_SETUP:
        return do_setup(u, row, f);
    case STATE_SNAPSHOT:
        return do_snapshot(u, row, f);
    case STATE_RESYNC:
        return wait_drained(u, f) != GO_ON ? f->outcome
                                           : do_resync(u, row, f);
    case STATE_RUNNING:
        return do_cdc(u, row, f);
    case STATE_PAUSING:
        u->cdc_open = false;
        if (wait_drained(u, f) != GO_ON)
            return f->outcome;
        return lifecycle_pause_done(u->s, u->pc->name, &err) < 0
                   ? from_store(&err, f)
                   : GO_ON;
    case STATE_MODIFYING:
        return do_modify(u, row, f);
    default: /* paused, completed, failed: the subscriber still drains */
        sleep_ms(IDLE_MS);
        return GO_ON;
    }
}

bool pipe_tick(struct run *u)
{
    struct error err;
    int64_t now = clock_monotonic_ms();
    if (now - u->lease_renewed_ms >= LEASE_MS / 3) {
        bool held = false;
        if (lease_acquire(u->s, u->lease, worker_name(), LEASE_MS, &held,
                          &err) == 0 &&
            !held)
            return false;
        u->lease_renewed_ms = now;
    }
    if (counters_sample_rates(u->s, u->pc->name, &u->rates, now, &err) < 0)
        log_msg(SLUICE_LOG_DEBUG, u->pc->name, "rates: %s", err.message);
    return true;
}

/* The next operator request; false when the pipe was deleted. */
static bool take_request(struct run *u)
{
    struct request_taken t;
    struct error err;
    int rc = request_take(u->s, u->pc->name, false, &t, &err);
    if (!t.id)
        return true;
    if (rc == 0)
        log_msg(SLUICE_LOG_INFO, u->pc->name, "%s (request %lld) started",
                request_kind_name(t.kind), (long long)t.id);
    else
        log_msg(SLUICE_LOG_WARN, u->pc->name, "request %lld: %s",
                (long long)t.id, err.message);
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
    log_msg(SLUICE_LOG_WARN, u->pc->name, "retrying in %lldms: %s",
            (long long)wait, why);
    for (int64_t slept = 0; slept < wait && !*u->r->stop; slept += 100)
        sleep_ms(100);
}

/* A failure goes to the pipe's state (fatal) or its retry count; when
 * the store cannot take it, to the log, and the next turn, after a
 * backoff, meets it again. */
static void handle_failure(struct run *u, const struct failure *f)
{
    struct error err;
    if (f->outcome == FATAL) {
        log_msg(SLUICE_LOG_ERROR, u->pc->name, "failed: %s", f->message);
        int rc = lifecycle_fail(u->s, u->pc->name, f->message, &err);
        close_plugins(u);
        if (rc == 0) {
            u->backoff_ms = 0;
            return;
        }
        log_msg(SLUICE_LOG_ERROR, u->pc->name,
                "the failure is not recorded in the store: %s", err.message);
        back_off(u, "recording the failure");
        return;
    }
    if (lifecycle_retry(u->s, u->pc->name, f->message, &err) < 0)
        log_msg(SLUICE_LOG_WARN, u->pc->name,
                "the retry is not recorded in the store: %s", err.message);
    back_off(u, f->message);
}

void *pipe_runner_main(void *arg)
{
    struct pipe_runner *r = arg;
    struct run u = {.r = r, .pc = r->pipe};
    struct error err;
    batch_init(&u.batch, (size_t)r->pipe->settings.pull_batch_size,
               BATCH_BYTES_MAX);
    pthread_mutex_init(&u.sub.lock, NULL);
    pthread_cond_init(&u.sub.wake, NULL);
    u.lease = xasprintf("pipe:%s", u.pc->name);
    if (store_open(r->store_url, STORE_WRITE, &u.s, &err) < 0) {
        log_msg(SLUICE_LOG_ERROR, u.pc->name, "%s", err.message);
        r->status = 1;
        free(u.lease);
        return NULL;
    }
    bool held_before = false;
    while (!*r->stop) {
        bool held = false;
        if (lease_acquire(u.s, u.lease, worker_name(), LEASE_MS, &held, &err) < 0 ||
            !held) {
            if (held_before)
                close_plugins(&u); /* another worker took the pipe */
            held_before = false;
            sleep_ms(1000);
            continue;
        }
        u.lease_renewed_ms = clock_monotonic_ms();
        if (!held_before &&
            lifecycle_recover(u.s, u.pc->name, &err) < 0) { /* next turn */
            log_msg(SLUICE_LOG_WARN, u.pc->name,
                    "cannot bring the pipe back to work: %s", err.message);
            sleep_ms(1000);
            continue;
        }
        if (!held_before)
            log_msg(SLUICE_LOG_INFO, u.pc->name, "running pipe (worker %s)",
                    worker_name());
        held_before = true;
        if (!take_request(&u))
            break; /* deleted */
        struct pipe_row row;
        bool found = false;
        if (pipe_load(u.s, u.pc->name, &row, &found, &err) < 0) {
            log_msg(SLUICE_LOG_WARN, u.pc->name, "%s", err.message);
            sleep_ms(1000);
            continue;
        }
        if (!found)
            break; /* deleted */
        struct failure f = {.outcome = GO_ON};
        enum outcome o = subscriber_failed(&u, &f) ? f.outcome
                                                   : step(&u, &row, &f);
        if (o == RETRY || o == FATAL) {
            handle_failure(&u, &f);
            subscriber_resume(&u); /* after its backoff (a fatal one closed it) */
        } else if (o == GO_ON && row.retry_count && !subscriber_failing(&u)) {
            if (lifecycle_retry_clear(u.s, u.pc->name, &err) < 0)
                log_msg(SLUICE_LOG_WARN, u.pc->name,
                        "the end of the retries is not recorded in the "
                        "store: %s",
                        err.message);
            u.backoff_ms = 0;
        }
        pipe_row_free(&row);
        pipe_tick(&u);
    }
    close_plugins(&u);
    forget_cdc_tables(&u);
    pthread_cond_destroy(&u.sub.wake);
    pthread_mutex_destroy(&u.sub.lock);
    rate_sampler_free(&u.rates);
    lease_release(u.s, u.lease, worker_name(), &err);
    store_close(u.s);
    batch_free(&u.batch);
    free(u.lease);
    return NULL;
}
