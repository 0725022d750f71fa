/* calls.c: the typed wrappers of every plugin callback (see calls.h). Each
 * is the same four steps: lock, call with a fresh error buffer, unlock,
 * judge the status; `call_begin` and `call_end` hold them once. */
#include "calls.h"

#include <stdio.h>
#include <string.h>

#include "../util/utf8.h"
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
    char message[1024];
    sluice_error err;
};

static sluice_error *call_begin(struct call *c, const struct plugin *p,
                                struct plugin_instance *in,
                                const char *callback, struct call_error *e)
{
    *c = (struct call){.in = in, .plugin = p, .callback = callback, .e = e};
    c->err = (sluice_error){c->message, sizeof c->message};
    e->message[0] = '\0';
    e->words_at = 0;
    e->returned = SLUICE_OK;
    e->broken = false;
    if (in)
        plugin_lock(in);
    if (observer)
        observer(callback);
    return &c->err;
}

static sluice_status call_end(struct call *c, sluice_status st,
                              unsigned allowed)
{
    if (observer)
        observer(NULL);
    if (c->in)
        plugin_unlock(c->in);
    struct call_error *e = c->e;
    e->returned = st;
    c->message[sizeof c->message - 1] = '\0';
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
    sluice_error *err = call_begin(&c, p, NULL, "open", e);
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
    in->plugin->close(in->handle);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "ping", e);
    return call_end(&c, ping ? ping(in->handle, err) : absent(&c), MAY_FAIL);
}

/* ---- sources ---- */

#define SOURCE(in) (&(in)->plugin->info.source)

sluice_status source_list_tables(struct plugin_instance *in,
                                 sluice_values *tables, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "list_tables", e);
    return call_end(&c, SOURCE(in)->list_tables(in->handle, tables, err),
                    MAY_FAIL);
}

sluice_status source_snapshot_begin(struct plugin_instance *in,
                                    sluice_values *cdc_start,
                                    struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "snapshot_begin", e);
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
        call_begin(&c, in->plugin, in, "snapshot_partitions", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "snapshot_next", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "estimate_rows", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "cdc_start", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "cdc_poll", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "cdc_ack", e);
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
    sluice_error *err = call_begin(&c, p, NULL, "destination", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "claim", e);
    return call_end(&c,
                    SINK(in)->claim ? SINK(in)->claim(in->handle, owner, err)
                                    : absent(&c),
                    MAY_FAIL_TABLE);
}

sluice_status sink_setup_table(struct plugin_instance *in, const char *table,
                               struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "setup_table", e);
    return call_end(&c, SINK(in)->setup_table(in->handle, table, err),
                    MAY_FAIL_TABLE);
}

sluice_status sink_write(struct plugin_instance *in, const sluice_batch *batch,
                         struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "write", e);
    return call_end(&c, SINK(in)->write(in->handle, batch, err), MAY_FAIL);
}

sluice_status sink_flush(struct plugin_instance *in, struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "flush", e);
    return call_end(&c, SINK(in)->flush(in->handle, err), MAY_FAIL);
}

sluice_status sink_resync_begin(struct plugin_instance *in, const char *table,
                                struct call_error *e)
{
    struct call c;
    sluice_error *err = call_begin(&c, in->plugin, in, "resync_begin", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "resync_swap", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "resync_abort", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "drop_table", e);
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
    sluice_error *err = call_begin(&c, in->plugin, in, "plan", e);
    return call_end(&c,
                    in->plugin->info.retention.plan(in->handle, input, plan,
                                                    err),
                    MAY_FAIL);
}
