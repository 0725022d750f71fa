/* sluice/host.h: the host API table, the functions the core lends plugins
 * (after SQLite's sqlite3ext.h).
 *
 * One struct of function pointers, appended to only at its end, each group
 * marked with the ABI minor that added it. A plugin built against an older
 * minor sees a prefix of the table; one that wants a newer function checks
 * `size` first (SLUICE_HOST_HAS). The table and every function in it are
 * valid for the life of the process and may be called from any thread.
 *
 * Results: a function that can fail returns a sluice_status and writes
 * the reason into `err` (which may be NULL); the two that answer a
 * question, batch_full and batch_get, return an int, as they have since
 * ABI 1.0 (a return type is never changed within a major). Strings: a
 * name or a message (registration, log, metrics, batch_stop_table, plan
 * rules) is NUL-terminated; data (record fields, positions, value list
 * items) is (pointer, length) and may hold any byte. */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "status.h"

struct sluice_source_info;
struct sluice_sink_info;
struct sluice_retention_info;

/* What a plugin instance is to the core: it names the plugin and the pipe in
 * log lines and holds the instance's metrics. Given to `open`, owned by the
 * core, valid until `close` returns. */
typedef struct sluice_context sluice_context;

/* The handle through which a module registers its plugins. Valid only
 * during the module's `init`. */
typedef struct sluice_registrar sluice_registrar;

/* A retention plan being built (sluice/retention.h). Owned by the core. */
typedef struct sluice_retention_plan sluice_retention_plan;

typedef enum sluice_log_level {
    SLUICE_LOG_ERROR = 1,
    SLUICE_LOG_WARN = 2,
    SLUICE_LOG_INFO = 3,
    SLUICE_LOG_DEBUG = 4
} sluice_log_level;

/* What a metric is (metric_describe, ABI 1.2): a counter only grows (by
 * counter_add), a gauge is set to any value (by gauge_set). */
typedef enum sluice_metric_kind {
    SLUICE_METRIC_COUNTER = 1,
    SLUICE_METRIC_GAUGE = 2
} sluice_metric_kind;

typedef struct sluice_host_api {
    uint32_t size;                 /* sizeof the table the core provides */
    uint16_t abi_major, abi_minor; /* the core's ABI version */
    const char *version;           /* the core's release, "0.1.0" */

    /* --- ABI 1.0: registration; only inside the module's init. Each call
     * passes sizeof the info struct the plugin was compiled with; the core
     * copies that many bytes and reads only the fields they cover. A
     * refusal (missing callback, bad option table, ...) is returned as
     * SLUICE_FATAL with the reason, and refuses the whole module. */
    sluice_status (*register_source)(sluice_registrar *reg,
                                     const struct sluice_source_info *info,
                                     size_t info_size, sluice_error *err);
    sluice_status (*register_sink)(sluice_registrar *reg,
                                   const struct sluice_sink_info *info,
                                   size_t info_size, sluice_error *err);
    sluice_status (*register_retention)(
        sluice_registrar *reg, const struct sluice_retention_info *info,
        size_t info_size, sluice_error *err);

    /* --- ABI 1.0: logging. `message` is one line without a newline; the
     * core adds time, level, plugin and pipe. Secrets must never be
     * logged. ctx may be NULL inside init. */
    void (*log)(sluice_context *ctx, sluice_log_level level,
                const char *message);

    /* --- ABI 1.0: memory. Plain allocation, for plugins that want the
     * core's allocator; what a plugin allocates, it frees. alloc and
     * realloc return NULL on failure. */
    void *(*alloc)(size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);

    /* --- ABI 1.0: clock. */
    int64_t (*now_ms)(void);       /* UTC wall clock, ms since 1970 */
    int64_t (*monotonic_ms)(void); /* for timeouts and rates */

    /* --- ABI 1.0: building batches (sources). batch_add copies the
     * record's bytes (the record's `size` must cover `version`); it never
     * refuses a record for the batch's size. batch_full returns nonzero
     * once the batch has reached the size the core wants (records or
     * bytes): ask it before each batch_add, and return when it says so
     *   while (more && !host->batch_full(batch)) host->batch_add(...);
     * (asking after would add one record past the size). The position is
     * what the source will have reached once the batch is durable; it is
     * copied. */
    sluice_status (*batch_add)(sluice_batch *batch, const sluice_record *rec,
                               sluice_error *err);
    int (*batch_full)(const sluice_batch *batch);
    sluice_status (*batch_set_position)(sluice_batch *batch,
                                        const void *position, size_t len,
                                        sluice_error *err);

    /* --- ABI 1.0: reading batches (sinks). batch_get fills `out` with a
     * view valid while the batch is lent, as many bytes of it as out->size
     * says: set `.size = sizeof(sluice_record)` first. It returns 0, or -1
     * (and leaves `out` alone) when index >= batch_count or out->size is
     * 0 (not set). */
    size_t (*batch_count)(const sluice_batch *batch);
    size_t (*batch_bytes)(const sluice_batch *batch);
    int (*batch_get)(const sluice_batch *batch, size_t index,
                     sluice_record *out);

    /* --- ABI 1.0: value lists (table names, partitions, positions). The
     * bytes are copied; the core adds a terminating NUL after them. */
    sluice_status (*values_add)(sluice_values *values, const void *data,
                                size_t len, sluice_error *err);

    /* --- ABI 1.0: metrics, per instance. Names are lower_snake_case
     * ([a-z][a-z0-9_]*), in base units (_seconds, _bytes); a counter's
     * ends in _total, a gauge's never does. The core exports NAME as
     * sluice_plugin_PLUGIN_NAME{pipe="..."} (a counter named without
     * _total gets it appended), summed over the instances of one plugin
     * and pipe and kept for the life of the process: a counter never goes
     * down when an instance closes. A name that breaks these rules, or a
     * counter set as a gauge (or the other way round), is left out, with
     * a warning in the log. Describe each metric (metric_describe, 1.2)
     * for its HELP line. */
    void (*counter_add)(sluice_context *ctx, const char *name, uint64_t delta);
    void (*gauge_set)(sluice_context *ctx, const char *name, double value);

    /* --- ABI 1.0: retention plans (retention plugins). `rule` is a short
     * constant name of the rule ("unconsumed", "consumed"). */
    sluice_status (*plan_cutoff)(sluice_retention_plan *plan, const char *rule,
                                 int64_t cutoff_ms, sluice_error *err);
    sluice_status (*plan_delete)(sluice_retention_plan *plan,
                                 int64_t publication_id, const char *rule,
                                 sluice_error *err);

    /* --- ABI 1.1: a table the source can no longer follow (its
     * collection was dropped or renamed), said from inside cdc_poll with
     * the batch being filled. The core marks the table `stopped` with the
     * reason in the same transaction that makes the batch durable, and
     * leaves it out of later cdc_start calls; the pipe's other tables go
     * on. Its destination is kept. Check SLUICE_HOST_HAS(host,
     * batch_stop_table) before calling. */
    sluice_status (*batch_stop_table)(sluice_batch *batch, const char *table,
                                      const char *reason, sluice_error *err);

    /* --- ABI 1.2: what a metric means, for the HELP and TYPE lines of
     * /metrics: its kind and one line of help ("Rows inserted into
     * ClickHouse."). Call it in `open`, before counting, once per metric
     * (again in each instance is harmless: the plugin's latest
     * description stands for all its instances). Refused (SLUICE_FATAL,
     * with the reason) for a name that breaks the rules above, an empty
     * help, or a metric already described or used as the other kind.
     * Check SLUICE_HOST_HAS(host, metric_describe) before calling. */
    sluice_status (*metric_describe)(sluice_context *ctx, const char *name,
                                     sluice_metric_kind kind, const char *help,
                                     sluice_error *err);

    /* --- ABI 1.2: stopping. Nonzero once the core wants the calls in
     * progress to end now: the process is stopping (SIGTERM, SIGINT) and
     * has waited for them a moment already. A callback that waits on a
     * server (a request, a cursor, a change stream) asks it every second
     * or so (from libcurl's progress callback, between reads) and, when
     * it says so, returns soon: what it has done (a batch cut short,
     * with its position) as SLUICE_OK, or what it leaves undone as
     * SLUICE_RETRY with a message saying what it gave up. Nothing of a
     * call given up is acknowledged, so the core does it again after the
     * restart. A call that cannot return in time (a blocked read) is
     * left running when the process ends. ctx may be NULL (the process
     * as a whole). Check SLUICE_HOST_HAS(host, should_stop) first. */
    int (*should_stop)(sluice_context *ctx);
} sluice_host_api;

/* True when the host table has `field` (a plugin built against a newer
 * minor than the core it runs in can test before calling). */
#define SLUICE_HOST_HAS(host, field)                                          \
    ((host)->size >= offsetof(sluice_host_api, field) + sizeof((host)->field))

/* printf-style logging through host->log. Long messages are cut at 1 KiB. */
static inline void sluice_log(const sluice_host_api *host, sluice_context *ctx,
                              sluice_log_level level, const char *fmt, ...)
    SLUICE_PRINTF(4, 5);

static inline void sluice_log(const sluice_host_api *host, sluice_context *ctx,
                              sluice_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    host->log(ctx, level, line);
}

#endif
