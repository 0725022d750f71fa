/* connections.c: the store connections `sluice run` will hold, against
 * what a PostgreSQL store still accepts (see runtime.h). A worker keeps
 * one connection of its own, one for the HTTP service, and two per pipe
 * (the pipe's thread and its subscriber's); a pipe loading a snapshot
 * adds one per partition read at once (snapshot_parallelism). When the
 * server refuses one, that pipe's work stops there (a subscriber
 * retries, a pipe's thread ends), so the shortfall is said up front. */
#include <string.h>

#include "../store/store.h"
#include "../util/log.h"
#include "connections.h"

static const char free_slots_sql[] =
    "SELECT current_setting('max_connections')::int8, "
    "current_setting('superuser_reserved_connections')::int8, "
    "(SELECT count(*) FROM pg_stat_activity "
    "WHERE backend_type = 'client backend')";

void connections_check(struct store *s, const struct config *cfg,
                       const bool *runs, bool service)
{
    if (strcmp(store_backend(s), "postgresql") != 0)
        return;
    int64_t steady = service ? 1 : 0, snapshot = 0;
    size_t pipes = 0;
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        if (!runs[i])
            continue;
        const struct pipe_settings *ps = &cfg->pipes[i].settings;
        pipes++;
        steady += 2;
        if (ps->mode != PIPE_MODE_CDC)
            snapshot += ps->snapshot_parallelism;
    }
    struct db_result r;
    struct error err;
    if (store_exec(s, free_slots_sql, NULL, 0, &r, &err) < 0) {
        log_msg(SLUICE_LOG_DEBUG, NULL,
                "the store's free connections are unknown: %s", err.message);
        return;
    }
    int64_t max = db_int(&r, 0, 0), reserved = db_int(&r, 0, 1),
            used = db_int(&r, 0, 2);
    db_result_free(&r);
    int64_t free_slots = max - reserved - used;
    if (steady + snapshot <= free_slots)
        return;
    log_msg(steady > free_slots ? SLUICE_LOG_ERROR : SLUICE_LOG_WARN, NULL,
            "store %s: %zu pipe(s) need %lld more connection(s) (2 a pipe%s) "
            "and %lld more while their snapshots load (snapshot_parallelism "
            "a pipe), but PostgreSQL takes %lld more (max_connections %lld, "
            "%lld reserved for superusers, %lld in use); %s: raise "
            "max_connections or spread the pipes over more workers with "
            "--pipe (see 'Store connections' in docs/operations.md)",
            store_name(s), pipes, (long long)steady,
            service ? ", 1 for "
                      "[service] http_listen"
                    : "",
            (long long)snapshot, (long long)(free_slots > 0 ? free_slots : 0),
            (long long)max, (long long)reserved, (long long)used,
            steady > free_slots ? "pipes past that wait for a free connection"
                                : "snapshots past that will wait and retry");
}
