/* host.c: the host API table that every plugin receives (its registration
 * functions are the loader's, its metrics metrics.c's), plugin
 * contexts (log names and metrics), and whether calls in progress are
 * to be given up (should_stop). The table is a constant: its
 * functions are thread-safe. */
#include "host.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "batch.h"
#include "metrics.h"
#include "plan.h"
#include "values.h"

static void host_log(sluice_context *ctx, sluice_log_level level,
                     const char *message)
{
    if (level < SLUICE_LOG_ERROR || level > SLUICE_LOG_DEBUG)
        level = SLUICE_LOG_INFO;
    log_write(level, ctx ? ctx->plugin : "plugin", ctx ? ctx->pipe : NULL,
              NULL, NULL, message);
}

static void *host_alloc(size_t size)
{
    return malloc(size);
}

static void *host_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size);
}

static void host_free(void *ptr)
{
    free(ptr);
}

static int64_t now_ms(void)
{
    return clock_now_ms();
}

static int64_t monotonic_ms(void)
{
    return clock_monotonic_ms();
}

/* Set once, when a stop gives up the calls in progress: a plugin asks it
 * from any thread, a signal handler may set it. */
static atomic_bool abandoning;

void host_abandon_calls(void)
{
    abandoning = true;
}

bool host_abandoning(void)
{
    return abandoning;
}

static int should_stop(sluice_context *ctx)
{
    (void)ctx; /* the process as a whole, for now: every instance */
    return abandoning;
}

sluice_context *context_new(const char *plugin, const char *pipe)
{
    sluice_context *ctx = xcalloc(1, sizeof *ctx);
    ctx->plugin = xstrdup(plugin);
    ctx->pipe = pipe ? xstrdup(pipe) : NULL;
    pthread_mutex_init(&ctx->lock, NULL);
    return ctx;
}

void context_free(sluice_context *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->metric_count; i++)
        free(ctx->metrics[i].name);
    free(ctx->metrics);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx->plugin);
    free(ctx->pipe);
    free(ctx);
}

static const sluice_host_api table = {
    .size = sizeof(sluice_host_api),
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .version = SLUICE_VERSION,
    .register_source = loader_register_source,
    .register_sink = loader_register_sink,
    .register_retention = loader_register_retention,
    .log = host_log,
    .alloc = host_alloc,
    .realloc = host_realloc,
    .free = host_free,
    .now_ms = now_ms,
    .monotonic_ms = monotonic_ms,
    .batch_add = batch_add,
    .batch_full = batch_full,
    .batch_set_position = batch_set_position,
    .batch_count = batch_count,
    .batch_bytes = batch_bytes,
    .batch_get = batch_get,
    .values_add = values_add,
    .counter_add = metrics_counter_add,
    .gauge_set = metrics_gauge_set,
    .plan_cutoff = plan_cutoff,
    .plan_delete = plan_delete,
    .batch_stop_table = batch_stop_table,
    .metric_describe = metrics_describe,
    .should_stop = should_stop,
};

const sluice_host_api *host_api(void)
{
    return &table;
}
