/* calls.h: every call into a plugin, one small typed function per
 * callback (after PostgreSQL's logical.c, *_cb_wrapper). Each takes the
 * instance's lock when the plugin is not SLUICE_PLUGIN_THREAD_SAFE, gives
 * the callback an error buffer, checks the status against what that
 * callback may return, and prefixes a failure's message with
 * "plugin.callback: " (the plugin's own "plugin: " before its words is
 * dropped: one prefix, the core's). They carry no retry policy: the
 * runtime and the conformance kit keep their own. A call that fails once
 * a stop has told plugins to give up (host_abandon_calls) is abandoned:
 * logged at warn, with the thread's work (util/activity.h), and returned
 * as SLUICE_RETRY. Nothing else calls a callback pointer.
 *
 * Optional callbacks: the caller asks whether the plugin has one by
 * reading its info (a NULL pointer is never called); the wrapper of a
 * missing one fails, naming it. */
#ifndef SLUICE_PLUGIN_CALLS_H
#define SLUICE_PLUGIN_CALLS_H

#include <pthread.h>
#include <sluice/sluice.h>
#include <stdbool.h>

#include "plugin.h"

/* One open instance of a plugin. The plugin and the config it was opened
 * with are borrowed and must outlive it. */
struct plugin_instance {
    const struct plugin *plugin;
    sluice_context *ctx;
    void *handle;
    pthread_mutex_t lock; /* recursive: a caller may hold it over several
                             calls that must not interleave with others' */
};

/* What a call said. `message` is "" when the call succeeded; `returned`
 * is the status the plugin returned, and `broken` says that it was one
 * the callback may not return (the call's status is then SLUICE_FATAL,
 * and the message says so): what the conformance kit reports. */
struct call_error {
    char message[1024];
    size_t words_at; /* where the plugin's own words start in `message` */
    sluice_status returned;
    bool broken;
};

/* Told the name of each callback as it is called, and NULL as it returns
 * (the conformance kit: which callback a process that ended was in). One
 * observer for the process; NULL: none. */
void plugin_calls_observe(void (*observer)(const char *callback));

/* Opens an instance for `pipe` (NULL: none) with `config`, a config
 * struct filled for `p`. On failure nothing is left open. */
sluice_status plugin_open(const struct plugin *p, const void *config,
                          const char *pipe, struct plugin_instance *in,
                          struct call_error *e);
void plugin_close(struct plugin_instance *in);

/* Held around a caller's several calls (a subscriber's writes and the
 * flush that ends them); each wrapper takes it too. */
void plugin_lock(struct plugin_instance *in);
void plugin_unlock(struct plugin_instance *in);

/* Sources and sinks: the servers answer and will do (optional). */
sluice_status plugin_ping(struct plugin_instance *in, struct call_error *e);

/* Sources (sluice/source.h). */
sluice_status source_list_tables(struct plugin_instance *in,
                                 sluice_values *tables, struct call_error *e);
sluice_status source_snapshot_begin(struct plugin_instance *in,
                                    sluice_values *cdc_start,
                                    struct call_error *e);
sluice_status source_snapshot_partitions(struct plugin_instance *in,
                                         const char *table,
                                         sluice_values *partitions,
                                         struct call_error *e);
sluice_status source_snapshot_next(struct plugin_instance *in,
                                   const char *table, const void *progress,
                                   size_t progress_len, sluice_batch *batch,
                                   struct call_error *e);
sluice_status source_estimate_rows(struct plugin_instance *in,
                                   const char *table, uint64_t *rows,
                                   struct call_error *e);
sluice_status source_cdc_start(struct plugin_instance *in,
                               const char *const *tables, size_t table_count,
                               const void *position, size_t position_len,
                               struct call_error *e);
sluice_status source_cdc_poll(struct plugin_instance *in, sluice_batch *batch,
                              int64_t timeout_ms, struct call_error *e);
sluice_status source_cdc_ack(struct plugin_instance *in, const void *position,
                             size_t position_len, struct call_error *e);

/* Sinks (sluice/sink.h). sink_destination needs no instance: `check`
 * calls it with a config alone. */
sluice_status sink_destination(const struct plugin *p, const void *config,
                               const char *table, sluice_values *name,
                               struct call_error *e);
sluice_status sink_claim(struct plugin_instance *in, const sluice_owner *owner,
                         struct call_error *e);
sluice_status sink_setup_table(struct plugin_instance *in, const char *table,
                               struct call_error *e);
sluice_status sink_write(struct plugin_instance *in, const sluice_batch *batch,
                         struct call_error *e);
sluice_status sink_flush(struct plugin_instance *in, struct call_error *e);
sluice_status sink_resync_begin(struct plugin_instance *in, const char *table,
                                struct call_error *e);
sluice_status sink_resync_swap(struct plugin_instance *in, const char *table,
                               struct call_error *e);
sluice_status sink_resync_abort(struct plugin_instance *in, const char *table,
                                struct call_error *e);
sluice_status sink_drop_table(struct plugin_instance *in, const char *table,
                              struct call_error *e);

/* Retention policies (sluice/retention.h). */
sluice_status retention_plan(struct plugin_instance *in,
                             const sluice_retention_input *input,
                             sluice_retention_plan *plan,
                             struct call_error *e);

/* "OK", "DONE", "RETRY", "FATAL", "FATAL_TABLE", or "status N". */
const char *status_name(sluice_status st, char *out, size_t size);

#endif
