/* cdc.c: the running state's work, change data capture: the source's
 * change stream opened from the pipe's checkpoint for the tables it
 * follows, read into batches cut at pull_batch_size records or after
 * sync_interval, each published with the position it reaches and then
 * acknowledged to the source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/checkpoints.h"
#include "../util/activity.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "pipe.h"

/* cdc_poll is called in slices, so that a stop or a request is seen
 * within a second. */
#define POLL_SLICE_MS 1000

void cdc_close(struct run *u)
{
    for (size_t i = 0; i < u->cdc_table_count; i++)
        free(u->cdc_tables[i]);
    free(u->cdc_tables);
    u->cdc_tables = NULL;
    u->cdc_table_count = 0;
    u->cdc_open = false;
}

/* From the CDC checkpoint (a cdc-only pipe without one: from now), for
 * the active tables. */
static enum outcome cdc_open(struct run *u, const struct pipe_row *row,
                             struct failure *f)
{
    struct checkpoint cdc;
    bool found;
    struct error err;
    if (checkpoint_get(u->s, u->pc->name, CHECKPOINT_CDC, "", 0, &cdc, &found,
                       &err) < 0)
        return from_store(&err, f);
    if (!found) {
        cdc.position = (struct buf){0};
        cdc.table = NULL;
        if (u->pc->source.plugin->info.source.snapshot_begin &&
            start_position(u, &cdc.position, f) != GO_ON)
            return f->outcome;
    }
    size_t n;
    char **tables = tables_of(row, TABLE_ACTIVE, &n);
    cdc_close(u);
    u->cdc_tables = xcalloc(n + 1, sizeof *u->cdc_tables);
    for (size_t i = 0; i < n; i++)
        u->cdc_tables[u->cdc_table_count++] = xstrdup(tables[i]);
    free(tables);
    struct call_error e;
    enum outcome o =
        from_call(source_cdc_start(SOURCE_OF(u),
                                   (const char *const *)u->cdc_tables, n,
                                   cdc.position.data, cdc.position.len, &e),
                  &e, f);
    u->cdc_open = o == GO_ON;
    struct log_field fields[] = {LOG_INT("tables", (int64_t)n),
                                 LOG_INT("position_bytes",
                                         (int64_t)cdc.position.len),
                                 LOG_END};
    if (u->cdc_open)
        log_pipe(SLUICE_LOG_DEBUG, u->pc->name, NULL, fields,
                 "change stream of %zu table(s) opened from %s", n,
                 found              ? "the checkpoint"
                 : cdc.position.len ? "the source's position now"
                                    : "now");
    checkpoint_free(&cdc);
    return o;
}

enum outcome cdc_step(struct run *u, const struct pipe_row *row,
                      struct failure *f)
{
    if (!u->cdc_open && cdc_open(u, row, f) != GO_ON)
        return f->outcome;
    char tables[200] = "";
    for (size_t i = 0, used = 0; i < u->cdc_table_count; i++)
        if (used + strlen(u->cdc_tables[i]) + 3 < sizeof tables)
            used +=
                (size_t)snprintf(tables + used, sizeof tables - used, "%s%s",
                                 used ? ", " : "", u->cdc_tables[i]);
    activity_work("the changes of table(s) %s", tables);
    batch_reset(&u->batch);
    struct call_error e;
    int64_t until = clock_monotonic_ms() + u->pc->settings.sync_interval_ms;
    while (!*u->r->stop && !batch_full(&u->batch)) {
        int64_t left = until - clock_monotonic_ms();
        if (left <= 0)
            break;
        /* each poll adds to the batch and moves its position on */
        if (from_call(source_cdc_poll(SOURCE_OF(u), &u->batch,
                                      left < POLL_SLICE_MS ? left
                                                           : POLL_SLICE_MS,
                                      &e),
                      &e, f) != GO_ON) {
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
    if (publish(u->s, u->pc, u->kept, &u->batch, CHECKPOINT_CDC, "", 0, false,
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
    if (u->batch.has_position)
        return from_call(source_cdc_ack(SOURCE_OF(u), u->batch.position.data,
                                        u->batch.position.len, &e),
                         &e, f);
    return GO_ON;
}
