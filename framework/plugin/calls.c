/* calls.c: the typed wrappers of every plugin callback (see calls.h). Each
 * is the same four steps: lock, call with a fresh error buffer, unlock,
 * judge the status; `call_begin` and `call_end` hold them once. They also
 * tell util/activity.h which call the thread waits in, and judge a call
 * that fails once the host told it to give up (should_stop): abandoned. */
#include "calls.h"

#include <stdio.h>
#include <string.h>

#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/utf8.h"
#include "batch.h"
#include "host.h"

/* What each callback may return, as bits of sluice_status. */
#define BIT(st) (1u << (st))
#define MAY_FAIL (BIT(SLUICE_OK) | BIT(SLUICE_RETRY) | BIT(SLUICE_FATAL))
#define MAY_BE_DONE (MAY_FAIL | BIT(SLUICE_DONE))
#define MAY_FAIL_TABLE (MAY_FAIL | BIT(SLUICE_FATAL_TABLE))

const char *status_name(sluice_status st, char *out, size_t size)
{
    static const char *const names[] = {[SLUICE_OK] = "OK",
                                        [SLUICE_DONE] = "DONE",
                                        [SLUICE_RETRY] = "RETRY",
                                        [SLUICE_FATAL] = "FATAL",
                                        [SLUICE_FATAL_TABLE] = "FATAL_TABLE"};
    if ((unsigned)st < sizeof names / sizeof *names)
        snprintf(out, size, "%s", names[st]);
    else
        snprintf(out, size, "status %d", (int)st);
    return out;
}

static void (*observer)(const char *callback);

void plugin_calls_observe(void (*fn)(const char *callback))
{
    observer = fn;
}

/* One call in progress: the plugin's error buffer and who is called. */
struct call {
    struct plugin_instance *in; /* NULL: no instance (destination) */
    const struct plugin *plugin;
    const char *callback;
    struct call_error *e;
    int64_t since_ms;
    char message[1024];
    sluice_error err;
};

static sluice_error *call_begin(struct call *c, const struct plugin *p,
                                struct plugin_instance *in,
                                const char *callback, const char *table,
                                struct call_error *e)
{
    *c = (struct call){.in = in, .plugin = p, .callback = callback, .e = e};
    c->err = (sluice_error){c->message, sizeof c->message};
    c->since_ms = clock_monotonic_ms();
    e->message[0] = '\0';
    e->words_at = 0;
    e->returned = SLUICE_OK;
    e->broken = false;
    activity_call_begin("%s.%s%s%s", p->name, callback,
                        !table                ? ""
                        : strstr(table, ", ") ? " of tables "
                                              : " of table ",
                        table ? table : "");
    if (in)
        plugin_lock(in);
    if (observer)
        observer(callback);
    return &c->err;
}

/* A sink's write, named by the tables of its batch. */
static sluice_error *write_begin(struct call *c, struct plugin_instance *in,
                                 const sluice_batch *batch,
                                 struct call_error *e)
{
    char tables[200] = "";
    batch_tables_text(batch, tables, sizeof tables);
    return call_begin(c, in->plugin, in, "write", tables[0] ? tables : NULL,
                      e);
}

/* A call that failed after the host told it to give up was abandoned
 * by the stop: said once, at warn, with what it was for, and made
 * SLUICE_RETRY (nothing of it was acknowledged: it is done again after
 * the restart, where a failure of its own shows again). */
static sluice_status abandoned(struct call *c)
{
    char what[600];
    if (!activity_mine(what, sizeof what)[0]) /* a thread not taking part */
        snprintf(what, sizeof what, "%s.%s", c->plugin->name, c->callback);
    log_msg(SLUICE_LOG_WARN, c->in && c->in->ctx ? c->in->ctx->pipe : NULL,
            "stopping: abandoned %s after %.1f s: %s; nothing it carried "
            "was acknowledged: it is done again after the restart",
            what, (double)(clock_monotonic_ms() - c->since_ms) / 1000,
            plugin_message(c->plugin->name, c->message));
    return SLUICE_RETRY;
}

static sluice_status call_end(struct call *c, sluice_status st,
                              unsigned allowed)
{
    if (observer)
        observer(NULL);
    if (c->in)
        plugin_unlock(c->in);
    c->message[sizeof c->message - 1] = '\0';
    if (st != SLUICE_OK && st != SLUICE_DONE && host_abandoning())
        st = abandoned(c);
    activity_call_end();
    struct call_error *e = c->e;
    e->returned = st;
    bool known = (unsigned)st < 32 && (allowed & BIT(st));
    if (known && (st == SLUICE_OK || st == SLUICE_DONE))
        return st;
    int prefix = snprintf(e->message, sizeof e->message,
                          "%s.%s: ", c->plugin->name, c->callback);
    e->words_at =
        prefix > 0 && (size_t)prefix < sizeof e->message ? (size_t)prefix : 0;
    size_t left = sizeof e->message - e->words_at;
    if (known) {
        snprintf(e->message + e->words_at, left, "%s",
                 plugin_message(c->plugin->name, c->message));
    } else {
        char name[32];
        e->broken = true;
        snprintf(e->message + e->words_at, left,
                 "returned %s, which it may not return (its message: %s)",
                 status_name(st, name, sizeof name),
                 plugin_message(c->plugin->name, c->message));
        st = SLUICE_FATAL;
    }
    e->message[utf8_whole(e->message, strlen(e->message))] = '\0';
    return st;
}

/* A wrapper of an optional callback that the plugin does not have. */
static sluice_status absent(struct call *c)
{
    snprintf(c->message, sizeof c->message, "the plugin has no %s callback",
             c->callback);
    return SLUICE_FATAL;
}

sluice_status plugin_open(const struct plugin *p, const void *config,
                          const char *pipe, struct plugin_instance *in,
                          struct call_error *e)
{
    memset(in, 0, sizeof *in);
    in->plugin = p;
    in->ctx = context_new(p->name, pipe);
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&in->lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    struct call c;
    sluice_error *err = call_begin(&c, p, NULL, "open", NULL, e);
    sluice_status st =
        call_end(&c, p->open(in->ctx, config, &in->handle, err), MAY_FAIL);
    if (st != SLUICE_OK) {
        context_free(in->ctx);
        pthread_mutex_destroy(&in->lock);
        memset(in, 0, sizeof *in);
    }
    return st;
}

void plugin_close(struct plugin_instance *in)
{
    if (!in || !in->plugin)
        return;
    if (observer)
        observer("close");
    activity_call_begin("%s.close", in->plugin->name);
    in->plugin->close(in->handle);
    activity_call_end();
    if (observer)
        observer(NULL);
    context_free(in->ctx);
    pthread_mutex_destroy(&in->lock);
    memset(in, 0, sizeof *in);
}

void plugin_lock(struct plugin_instance *in)
{
    if (!(in->plugin->flags & SLUICE_PLUGIN_THREAD_SAFE))
        pthread_mutex_lock(&in->lock);
}

void plugin_unlock(struct plugin_instance *in)
{
    if (!(in->plugin->flags & SLUICE_PLUGIN_THREAD_SAFE))
        pthread_mutex_unlock(&in->lock);
}

sluice_status plugin_ping(struct plugin_instance *in, struct call_error *e)
{
    sluice_status (*ping)(void *, sluice_error *) =
        in->plugin->kind == PLUGIN_SOURCE ? in->plugin->info.source.ping
        : in->plugin->kind == PLUGIN_SINK ? in->plugin->info.sink.ping
                                          : NULL;
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "ping", NULL, e);
    return call_end(&c, ping ? ping(in->handle, err) : absent(&c), MAY_FAIL);
}

/* ---- sources ---- */

#define SOURCE(in) (&(in)->plugin->info.source)

sluice_status source_list_tables(struct plugin_instance *in,
                                 sluice_values *tables, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "list_tables", NULL, e);
    return call_end(&c, SOURCE(in)->list_tables(in->handle, tables, err),
                    MAY_FAIL);
}

sluice_status source_snapshot_begin(struct plugin_instance *in,
                                    sluice_values *cdc_start,
                                    struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "snapshot_begin", NULL, e);
    return call_end(&c,
                    SOURCE(in)->snapshot_begin
                        ? SOURCE(in)->snapshot_begin(in->handle, cdc_start,
                                                     err)
                        : absent(&c),
                    MAY_FAIL);
}

sluice_status source_snapshot_partitions(struct plugin_instance *in,
                                         const char *table,
                                         sluice_values *partitions,
                                         struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "snapshot_partitions", table, e);
    return call_end(&c,
                    SOURCE(in)->snapshot_partitions
                        ? SOURCE(in)->snapshot_partitions(in->handle, table,
                                                          partitions, err)
                        : absent(&c),
                    MAY_FAIL);
}

sluice_status source_snapshot_next(struct plugin_instance *in,
                                   const char *table, const void *progress,
                                   size_t progress_len, sluice_batch *batch,
                                   struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "snapshot_next", table, e);
    return call_end(&c,
                    SOURCE(in)->snapshot_next
                        ? SOURCE(in)->snapshot_next(in->handle, table,
                                                    progress, progress_len,
                                                    batch, err)
                        : absent(&c),
                    MAY_BE_DONE);
}

sluice_status source_estimate_rows(struct plugin_instance *in,
                                   const char *table, uint64_t *rows,
                                   struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "estimate_rows", table, e);
    return call_end(&c,
                    SOURCE(in)->estimate_rows
                        ? SOURCE(in)->estimate_rows(in->handle, table, rows,
                                                    err)
                        : absent(&c),
                    MAY_FAIL);
}

sluice_status source_cdc_start(struct plugin_instance *in,
                               const char *const *tables, size_t table_count,
                               const void *position, size_t position_len,
                               struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "cdc_start", NULL, e);
    return call_end(&c,
                    SOURCE(in)->cdc_start
                        ? SOURCE(in)->cdc_start(in->handle, tables,
                                                table_count, position,
                                                position_len, err)
                        : absent(&c),
                    MAY_FAIL);
}

sluice_status source_cdc_poll(struct plugin_instance *in, sluice_batch *batch,
                              int64_t timeout_ms, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "cdc_poll", NULL, e);
    return call_end(&c,
                    SOURCE(in)->cdc_poll
                        ? SOURCE(in)->cdc_poll(in->handle, batch, timeout_ms,
                                               err)
                        : absent(&c),
                    MAY_FAIL);
}

sluice_status source_cdc_ack(struct plugin_instance *in, const void *position,
                             size_t position_len, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "cdc_ack", NULL, e);
    return call_end(&c,
                    SOURCE(in)->cdc_ack
                        ? SOURCE(in)->cdc_ack(in->handle, position,
                                              position_len, err)
                        : absent(&c),
                    MAY_FAIL);
}

/* ---- sinks ---- */

#define SINK(in) (&(in)->plugin->info.sink)

sluice_status sink_destination(const struct plugin *p, const void *config,
                               const char *table, sluice_values *name,
                               struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, p, NULL, "destination", table, e);
    return call_end(&c,
                    p->info.sink.destination
                        ? p->info.sink.destination(config, table, name, err)
                        : absent(&c),
                    MAY_FAIL);
}

sluice_status sink_claim(struct plugin_instance *in, const sluice_owner *owner,
                         struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "claim", owner->table, e);
    return call_end(&c,
                    SINK(in)->claim ? SINK(in)->claim(in->handle, owner, err)
                                    : absent(&c),
                    MAY_FAIL_TABLE);
}

sluice_status sink_setup_table(struct plugin_instance *in, const char *table,
                               struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "setup_table", table, e);
    return call_end(&c, SINK(in)->setup_table(in->handle, table, err),
                    MAY_FAIL_TABLE);
}

sluice_status sink_write(struct plugin_instance *in, const sluice_batch *batch,
                         struct call_error *e)
{
    struct call c;
    sluice_error *err = write_begin(&c, in, batch, e);
    return call_end(&c, SINK(in)->write(in->handle, batch, err), MAY_FAIL);
}

sluice_status sink_flush(struct plugin_instance *in, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "flush", NULL, e);
    return call_end(&c, SINK(in)->flush(in->handle, err), MAY_FAIL);
}

sluice_status sink_resync_begin(struct plugin_instance *in, const char *table,
                                struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "resync_begin", table, e);
    return call_end(&c,
                    SINK(in)->resync_begin
                        ? SINK(in)->resync_begin(in->handle, table, err)
                        : absent(&c),
                    MAY_FAIL_TABLE);
}

sluice_status sink_resync_swap(struct plugin_instance *in, const char *table,
                               struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "resync_swap", table, e);
    return call_end(&c,
                    SINK(in)->resync_swap
                        ? SINK(in)->resync_swap(in->handle, table, err)
                        : absent(&c),
                    MAY_FAIL_TABLE);
}

sluice_status sink_resync_abort(struct plugin_instance *in, const char *table,
                                struct call_error *e)
{
    struct call c;
    sluice_error *err =
        call_begin(&c, in->plugin, in, "resync_abort", table, e);
    return call_end(&c,
                    SINK(in)->resync_abort
                        ? SINK(in)->resync_abort(in->handle, table, err)
                        : absent(&c),
                    MAY_FAIL_TABLE);
}

sluice_status sink_drop_table(struct plugin_instance *in, const char *table,
                              struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "drop_table", table, e);
    return call_end(&c,
                    SINK(in)->drop_table
                        ? SINK(in)->drop_table(in->handle, table, err)
                        : absent(&c),
                    MAY_FAIL_TABLE);
}

/* ---- retention policies ---- */

sluice_status retention_plan(struct plugin_instance *in,
                             const sluice_retention_input *input,
                             sluice_retention_plan *plan, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "plan", NULL, e);
    return call_end(&c,
                    in->plugin->info.retention.plan(in->handle, input, plan,
                                                    err),
                    MAY_FAIL);
}
