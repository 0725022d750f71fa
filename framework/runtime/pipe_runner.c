/* pipe_runner.c: one pipe's worker loop (see runtime.h). The states'
 * work lives here; which state follows which is lifecycle's. */
#include "pipe_runner.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../hub/hub.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../plugin/batch.h"
#include "../plugin/host.h"
#include "../plugin/values.h"
#include "../store/checkpoints.h"
#include "../store/leases.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"

#define LEASE_MS 15000
#define POLL_SLICE_MS 1000
#define IDLE_MS 500
#define BACKOFF_MAX_MS 60000
#define BATCH_BYTES_MAX (64u << 20)

struct run {
    struct pipe_runner *r;
    const struct pipe_config *pc;
    struct store *s;
    char *lease;
    sluice_context *src_ctx, *sink_ctx;
    void *src, *sink;
    bool cdc_open;
    int64_t backoff_ms;
    struct sluice_batch batch;
};

static const sluice_source_info *src_api(struct run *u)
{
    return &u->pc->source.plugin->info.source;
}

static const sluice_sink_info *sink_api(struct run *u)
{
    return &u->pc->sink.plugin->info.sink;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An error as the loop handles it: the plugin's status, or the store's. */
enum outcome { GO_ON, RETRY, FATAL };

struct failure {
    enum outcome outcome;
    char message[1024];
};

static enum outcome from_plugin(sluice_status st, const char *message,
                                struct failure *f)
{
    if (st == SLUICE_OK || st == SLUICE_DONE)
        return GO_ON;
    f->outcome = st == SLUICE_RETRY ? RETRY : FATAL;
    snprintf(f->message, sizeof f->message, "%s",
             message[0] ? message : "(the plugin gave no message)");
    return f->outcome;
}

static enum outcome from_store(const struct error *err, struct failure *f)
{
    f->outcome = err->transient ? RETRY : FATAL;
    snprintf(f->message, sizeof f->message, "%s", err->message);
    return f->outcome;
}

#define PLUGIN_CALL(f, call)                                                  \
    ({                                                                        \
        char msg_[1024] = "";                                                 \
        sluice_error e_ = {msg_, sizeof msg_};                                \
        sluice_error *ERR = &e_;                                              \
        (void)ERR;                                                            \
        sluice_status st_ = (call);                                           \
        from_plugin(st_, msg_, (f)) == GO_ON ? (int)st_ : -1;                \
    })

static enum outcome open_plugins(struct run *u, struct failure *f)
{
    if (!u->src) {
        u->src_ctx = context_new(u->pc->source.plugin->name, u->pc->name);
        if (PLUGIN_CALL(f, src_api(u)->open(u->src_ctx, u->pc->source.data,
                                            &u->src, ERR)) < 0)
            return f->outcome;
    }
    if (!u->sink) {
        u->sink_ctx = context_new(u->pc->sink.plugin->name, u->pc->name);
        if (PLUGIN_CALL(f, sink_api(u)->open(u->sink_ctx, u->pc->sink.data,
                                             &u->sink, ERR)) < 0)
            return f->outcome;
    }
    return GO_ON;
}

static void close_plugins(struct run *u)
{
    if (u->src)
        src_api(u)->close(u->src);
    if (u->sink)
        sink_api(u)->close(u->sink);
    u->src = u->sink = NULL;
    context_free(u->src_ctx);
    context_free(u->sink_ctx);
    u->src_ctx = u->sink_ctx = NULL;
    u->cdc_open = false;
}

/* The pipe's tables with the given status (NULL: active and adding). */
static char **tables_of(const struct pipe_row *row, const char *status,
                        size_t *n)
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
    if (PLUGIN_CALL(f, src_api(u)->list_tables(u->src, &v, ERR)) < 0) {
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
    for (size_t i = 0; i < n && o == GO_ON; i++) {
        if (PLUGIN_CALL(f, sink_api(u)->setup_table(u->sink, tables[i], ERR)) < 0)
            o = f->outcome;
        else if (resync &&
                 PLUGIN_CALL(f, sink_api(u)->resync_begin(u->sink, tables[i], ERR)) < 0)
            o = f->outcome;
    }
    free(tables);
    struct error err;
    if (o == GO_ON && lifecycle_setup_done(u->s, u->pc->name, &err) < 0)
        o = from_store(&err, f);
    u->cdc_open = false;
    return o;
}

/* ---- the subscriber: the topic into the sink ---- */

static void count_rows(struct run *u, const struct sluice_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        sluice_record r = {.size = sizeof r};
        batch_get(b, i, &r);
        char *table = xstrndup(r.table, r.table_len);
        /* versions of cluster times (seconds << 32) give the lag; others
         * (counters) do not */
        int64_t secs = (int64_t)(r.version >> 32);
        int64_t lag = r.op == SLUICE_OP_SNAPSHOT || secs < 946684800
                          ? -1
                          : clock_now_ms() - secs * 1000;
        struct db_value p[] = {DBV_INT(r.key_len + r.doc_len),
                               DBV_INT(clock_now_ms()), DBV_INT(lag),
                               DBV_TEXT(u->pc->name), DBV_TEXT(table)};
        struct error err;
        store_exec(u->s,
                   "UPDATE pipe_tables SET rows_copied = rows_copied + 1, "
                   "bytes_copied = bytes_copied + $1, updated_at = $2, "
                   "lag_ms = CASE WHEN $3 >= 0 THEN $3 ELSE lag_ms END WHERE "
                   "pipe = $4 AND name = $5",
                   p, 5, NULL, &err);
        free(table);
    }
}

/* Everything published and not yet consumed goes to the sink; each event
 * is completed, with the counters, in one transaction once it is
 * durable. */
static enum outcome drain(struct run *u, struct failure *f)
{
    for (;;) {
        struct hub_event e;
        bool found;
        struct error err;
        if (hub_take(u->s, u->pc->name, clock_now_ms(), &e, &found, &err) < 0)
            return from_store(&err, f);
        if (!found)
            return GO_ON;
        enum outcome o = GO_ON;
        if (PLUGIN_CALL(f, sink_api(u)->write(u->sink, &e.batch, ERR)) < 0 ||
            PLUGIN_CALL(f, sink_api(u)->flush(u->sink, ERR)) < 0)
            o = f->outcome;
        if (o == GO_ON) {
            if (store_begin(u->s, &err) < 0) {
                o = from_store(&err, f);
            } else {
                count_rows(u, &e.batch);
                if (hub_complete(u->s, u->pc->name, e.publication,
                                 clock_now_ms(), &err) < 0) {
                    store_rollback(u->s);
                    o = from_store(&err, f);
                } else if (store_commit(u->s, &err) < 0) {
                    o = from_store(&err, f);
                }
            }
        }
        if (o == FATAL)
            hub_error(u->s, u->pc->name, e.publication, f->message,
                      clock_now_ms(), &err);
        hub_event_free(&e);
        if (o != GO_ON)
            return o;
    }
}

/* Publishes the batch (when it has records) and the checkpoint it
 * reaches, in one transaction. */
static enum outcome publish(struct run *u, const char *kind, const char *table,
                            int64_t part, bool done, struct failure *f)
{
    struct error err;
    int64_t id;
    if (store_begin(u->s, &err) < 0)
        return from_store(&err, f);
    int rc = 0;
    if (u->batch.count)
        rc = hub_publish(u->s, u->pc->topic, u->pc->name, &u->batch,
                         clock_now_ms(), &id, &err);
    if (rc == 0 && u->batch.has_position)
        rc = checkpoint_put(u->s, u->pc->name, kind, table, part,
                            u->batch.position.data, u->batch.position.len,
                            done, &err);
    if (rc < 0) {
        store_rollback(u->s);
        return from_store(&err, f);
    }
    if (store_commit(u->s, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* ---- snapshot ---- */

static enum outcome snapshot_start(struct run *u, struct failure *f)
{
    struct checkpoint c;
    bool found;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START, "", 0, &c,
                       &found, &err) < 0)
        return from_store(&err, f);
    if (found) {
        checkpoint_free(&c);
        return GO_ON;
    }
    struct sluice_values v = {0};
    enum outcome o = GO_ON;
    if (PLUGIN_CALL(f, src_api(u)->snapshot_begin(u->src, &v, ERR)) < 0)
        o = f->outcome;
    else if (v.count != 1)
        o = (f->outcome = FATAL,
             snprintf(f->message, sizeof f->message,
                      "%s: snapshot_begin gave %zu positions, not one",
                      u->pc->source.plugin->name, v.count),
             FATAL);
    else if (checkpoint_put(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START, "", 0,
                            v.items[0], v.lens[0], false, &err) < 0)
        o = from_store(&err, f);
    values_free(&v);
    return o;
}

/* The partitions of a table, made once and kept as checkpoints. */
static enum outcome partitions(struct run *u, const char *table,
                               struct checkpoint **out, size_t *n,
                               struct failure *f)
{
    struct error err;
    if (checkpoint_list(u->s, u->pc->name, CHECKPOINT_SNAPSHOT, table, out, n,
                        &err) < 0)
        return from_store(&err, f);
    if (*n)
        return GO_ON;
    checkpoints_free(*out, *n);
    struct sluice_values v = {0};
    if (PLUGIN_CALL(f, src_api(u)->snapshot_partitions(u->src, table, &v, ERR)) < 0) {
        values_free(&v);
        return f->outcome;
    }
    uint64_t rows = 0;
    if (src_api(u)->estimate_rows &&
        PLUGIN_CALL(f, src_api(u)->estimate_rows(u->src, table, &rows, ERR)) >= 0) {
        struct db_value p[] = {DBV_INT(rows), DBV_TEXT(u->pc->name),
                               DBV_TEXT(table)};
        store_exec(u->s,
                   "UPDATE pipe_tables SET rows_estimated = $1 WHERE pipe = "
                   "$2 AND name = $3",
                   p, 3, NULL, &err);
    }
    int rc = store_begin(u->s, &err);
    for (size_t i = 0; rc == 0 && i < v.count; i++)
        rc = checkpoint_put(u->s, u->pc->name, CHECKPOINT_SNAPSHOT, table,
                            (int64_t)i, v.items[i], v.lens[i], false, &err);
    values_free(&v);
    if (rc < 0 || store_commit(u->s, &err) < 0) {
        store_rollback(u->s);
        return from_store(&err, f);
    }
    if (checkpoint_list(u->s, u->pc->name, CHECKPOINT_SNAPSHOT, table, out, n,
                        &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* One batch of the first partition not done; *all_done when none is
 * left. */
static enum outcome snapshot_batch(struct run *u, char **tables, size_t n,
                                   bool *all_done, struct failure *f)
{
    *all_done = true;
    for (size_t t = 0; t < n; t++) {
        struct checkpoint *parts;
        size_t count;
        if (partitions(u, tables[t], &parts, &count, f) != GO_ON)
            return f->outcome;
        for (size_t i = 0; i < count; i++) {
            if (parts[i].done)
                continue;
            *all_done = false;
            batch_reset(&u->batch);
            int st = PLUGIN_CALL(
                f, src_api(u)->snapshot_next(u->src, tables[t],
                                             parts[i].position.data,
                                             parts[i].position.len, &u->batch,
                                             ERR));
            enum outcome o = st < 0 ? f->outcome
                             : publish(u, CHECKPOINT_SNAPSHOT, tables[t],
                                       parts[i].part, st == SLUICE_DONE, f);
            checkpoints_free(parts, count);
            return o;
        }
        checkpoints_free(parts, count);
    }
    return GO_ON;
}

static enum outcome do_snapshot(struct run *u, struct pipe_row *row,
                                struct failure *f)
{
    if (snapshot_start(u, f) != GO_ON)
        return f->outcome;
    bool add = !strcmp(row->state_context, CONTEXT_ADD);
    size_t n;
    char **tables = tables_of(row, add ? TABLE_ADDING : NULL, &n);
    bool done = false;
    enum outcome o = snapshot_batch(u, tables, n, &done, f);
    free(tables);
    if (o != GO_ON || !done)
        return o;
    if (drain(u, f) != GO_ON)
        return f->outcome;
    /* loaded: CDC starts where the snapshot began, unless (tables added)
     * it already has an older position, which covers the new tables too */
    struct checkpoint start, cdc;
    bool has_start, has_cdc;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START, "", 0,
                       &start, &has_start, &err) < 0 ||
        checkpoint_get(u->s, u->pc->name, CHECKPOINT_CDC, "", 0, &cdc, &has_cdc,
                       &err) < 0)
        return from_store(&err, f);
    bool keep = has_cdc && add;
    int rc = store_begin(u->s, &err);
    if (rc == 0 && has_start && !keep)
        rc = checkpoint_put(u->s, u->pc->name, CHECKPOINT_CDC, "", 0,
                            start.position.data, start.position.len, false,
                            &err);
    if (rc == 0)
        rc = checkpoint_clear(u->s, u->pc->name, CHECKPOINT_SNAPSHOT_START,
                              NULL, &err);
    if (rc == 0)
        rc = checkpoint_clear(u->s, u->pc->name, CHECKPOINT_SNAPSHOT, NULL,
                              &err);
    if (rc == 0)
        rc = lifecycle_snapshot_done(u->s, u->pc->name, &err);
    if (has_start)
        checkpoint_free(&start);
    if (has_cdc)
        checkpoint_free(&cdc);
    if (rc < 0) {
        store_rollback(u->s);
        return from_store(&err, f);
    }
    if (store_commit(u->s, &err) < 0)
        return from_store(&err, f);
    u->cdc_open = false;
    return GO_ON;
}

static enum outcome do_resync(struct run *u, struct pipe_row *row,
                              struct failure *f)
{
    size_t n;
    char **tables = tables_of(row, TABLE_ACTIVE, &n);
    enum outcome o = GO_ON;
    for (size_t i = 0; i < n && o == GO_ON; i++)
        if (PLUGIN_CALL(f, sink_api(u)->resync_swap(u->sink, tables[i], ERR)) < 0)
            o = f->outcome;
    free(tables);
    struct error err;
    if (o == GO_ON && lifecycle_resync_done(u->s, u->pc->name, &err) < 0)
        o = from_store(&err, f);
    return o;
}

/* ---- change data capture ---- */

static enum outcome open_cdc(struct run *u, struct pipe_row *row,
                             struct failure *f)
{
    struct checkpoint cdc;
    bool found;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_CDC, "", 0, &cdc, &found,
                       &err) < 0)
        return from_store(&err, f);
    struct sluice_values start = {0};
    if (!found) { /* cdc mode: from now */
        if (PLUGIN_CALL(f, src_api(u)->snapshot_begin(u->src, &start, ERR)) < 0) {
            values_free(&start);
            return f->outcome;
        }
        cdc.position = (struct buf){0};
        buf_append(&cdc.position, start.items[0], start.lens[0]);
        cdc.table = NULL;
    }
    size_t n;
    char **tables = tables_of(row, TABLE_ACTIVE, &n);
    enum outcome o = GO_ON;
    if (PLUGIN_CALL(f, src_api(u)->cdc_start(u->src, (const char *const *)tables,
                                             n, cdc.position.data,
                                             cdc.position.len, ERR)) < 0)
        o = f->outcome;
    else
        u->cdc_open = true;
    free(tables);
    checkpoint_free(&cdc);
    values_free(&start);
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
        struct sluice_batch slice;
        batch_init(&slice, u->batch.max_records - u->batch.count, 0);
        int st = PLUGIN_CALL(
            f, src_api(u)->cdc_poll(u->src, &slice,
                                    left < POLL_SLICE_MS ? left : POLL_SLICE_MS,
                                    ERR));
        if (st < 0) {
            batch_free(&slice);
            u->cdc_open = false;
            return f->outcome;
        }
        char msg[64];
        sluice_error e = {msg, sizeof msg};
        for (size_t i = 0; i < slice.count; i++) {
            sluice_record r = {.size = sizeof r};
            batch_get(&slice, i, &r);
            batch_add(&u->batch, &r, &e);
        }
        if (slice.has_position)
            batch_set_position(&u->batch, slice.position.data,
                               slice.position.len, &e);
        batch_free(&slice);
        struct request waiting;
        bool pending = false;
        struct error err;
        if (request_next(u->s, u->pc->name, &waiting, &pending, &err) == 0 &&
            pending) {
            request_free(&waiting);
            break; /* an operator waits: cut the batch here */
        }
    }
    if (publish(u, CHECKPOINT_CDC, "", 0, false, f) != GO_ON)
        return f->outcome;
    if (u->batch.has_position)
        PLUGIN_CALL(f, src_api(u)->cdc_ack(u->src, u->batch.position.data,
                                           u->batch.position.len, ERR));
    return GO_ON;
}

static enum outcome do_modify(struct run *u, struct pipe_row *row,
                              struct failure *f)
{
    for (size_t i = 0; i < row->table_count; i++) {
        const struct pipe_table *t = &row->tables[i];
        if (strcmp(t->status, TABLE_REMOVING) != 0 || !t->drop_destination)
            continue;
        if (!sink_api(u)->drop_table) {
            log_msg(SLUICE_LOG_WARN, u->pc->name,
                    "table %s: the sink cannot drop destinations; kept", t->name);
            continue;
        }
        if (PLUGIN_CALL(f, sink_api(u)->drop_table(u->sink, t->name, ERR)) < 0)
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
 * and the shadows of a resync in progress. */
static enum outcome reopen_tables(struct run *u, const struct pipe_row *row,
                                  struct failure *f)
{
    bool resync = !strcmp(row->state_context, CONTEXT_RESYNC) &&
                  (row->state == STATE_SNAPSHOT || row->state == STATE_RESYNC);
    size_t n;
    char **tables = tables_of(row, NULL, &n);
    enum outcome o = GO_ON;
    for (size_t i = 0; i < n && o == GO_ON; i++)
        if (PLUGIN_CALL(f, sink_api(u)->setup_table(u->sink, tables[i], ERR)) < 0 ||
            (resync &&
             PLUGIN_CALL(f, sink_api(u)->resync_begin(u->sink, tables[i], ERR)) < 0))
            o = f->outcome;
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
    if (fresh && u->sink && row->state != STATE_PROVISIONING &&
        row->state != STATE_SETUP && reopen_tables(u, row, f) != GO_ON) {
        close_plugins(u); /* set up again on the next turn */
        return f->outcome;
    }
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
        return drain(u, f) != GO_ON ? f->outcome : do_resync(u, row, f);
    case STATE_RUNNING:
        if (do_cdc(u, row, f) != GO_ON)
            return f->outcome;
        return drain(u, f);
    case STATE_PAUSING:
        u->cdc_open = false;
        if (drain(u, f) != GO_ON)
            return f->outcome;
        return lifecycle_pause_done(u->s, u->pc->name, &err) < 0
                   ? from_store(&err, f)
                   : GO_ON;
    case STATE_MODIFYING:
        return do_modify(u, row, f);
    default: /* paused, completed, failed: the sink still drains */
        if (u->sink && drain(u, f) != GO_ON)
            return f->outcome;
        sleep_ms(IDLE_MS);
        return GO_ON;
    }
}

/* The next operator request; false when the pipe was deleted. */
static bool take_request(struct run *u)
{
    struct request req;
    bool found;
    struct error err;
    if (request_next(u->s, u->pc->name, &req, &found, &err) < 0 || !found)
        return true;
    int rc = request_start(u->s, &req, &err);
    bool deleted = rc == 0 && req.kind == REQUEST_DELETE;
    if (rc == 0)
        log_msg(SLUICE_LOG_INFO, u->pc->name, "%s (request %lld) started",
                request_kind_name(req.kind), (long long)req.id);
    else
        log_msg(SLUICE_LOG_WARN, u->pc->name, "request %lld: %s",
                (long long)req.id, err.message);
    u->cdc_open = u->cdc_open && rc != 0;
    request_free(&req);
    return !deleted;
}

static void handle_failure(struct run *u, const struct failure *f)
{
    struct error err;
    if (f->outcome == FATAL) {
        log_msg(SLUICE_LOG_ERROR, u->pc->name, "failed: %s", f->message);
        lifecycle_fail(u->s, u->pc->name, f->message, &err);
        close_plugins(u);
        u->backoff_ms = 0;
        return;
    }
    u->backoff_ms = u->backoff_ms ? u->backoff_ms * 2 : 500;
    if (u->backoff_ms > BACKOFF_MAX_MS)
        u->backoff_ms = BACKOFF_MAX_MS;
    int64_t wait = u->backoff_ms / 2 + rand() % (u->backoff_ms / 2 + 1);
    log_msg(SLUICE_LOG_WARN, u->pc->name, "retrying in %lldms: %s",
            (long long)wait, f->message);
    lifecycle_retry(u->s, u->pc->name, f->message, &err);
    for (int64_t slept = 0; slept < wait && !*u->r->stop; slept += 100)
        sleep_ms(100);
}

void *pipe_runner_main(void *arg)
{
    struct pipe_runner *r = arg;
    struct run u = {.r = r, .pc = r->pipe};
    struct error err;
    batch_init(&u.batch, (size_t)r->pipe->settings.pull_batch_size,
               BATCH_BYTES_MAX);
    u.lease = xasprintf("pipe:%s", u.pc->name);
    if (store_open(r->store_url, &u.s, &err) < 0) {
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
        if (!held_before) {
            lifecycle_recover(u.s, u.pc->name, &err);
            log_msg(SLUICE_LOG_INFO, u.pc->name, "running pipe (worker %s)",
                    worker_name());
        }
        held_before = true;
        if (!take_request(&u))
            break; /* deleted */
        struct pipe_row row;
        bool found;
        if (pipe_load(u.s, u.pc->name, &row, &found, &err) < 0 || !found) {
            if (found)
                log_msg(SLUICE_LOG_WARN, u.pc->name, "%s", err.message);
            if (!found)
                break;
            sleep_ms(1000);
            continue;
        }
        struct failure f = {GO_ON, ""};
        enum outcome o = step(&u, &row, &f);
        if (o != GO_ON) {
            handle_failure(&u, &f);
        } else if (row.retry_count) {
            lifecycle_retry_clear(u.s, u.pc->name, &err);
            u.backoff_ms = 0;
        }
        pipe_row_free(&row);
    }
    close_plugins(&u);
    lease_release(u.s, u.lease, worker_name(), &err);
    store_close(u.s);
    batch_free(&u.batch);
    free(u.lease);
    return NULL;
}
