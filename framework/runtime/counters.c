/* counters.c: the figures of a pipe's tables that `sluice status`, the
 * progress lines and /metrics show (see counters.h). */
#include "counters.h"

#include <stdlib.h>
#include <string.h>

#include "../lifecycle/lifecycle.h"
#include "../lifecycle/pipes.h"
#include "../util/log.h"
#include "../util/mem.h"

#define RATE_SAMPLE_MS 2000

struct tally {
    char *table;
    int64_t rows, bytes;
    int64_t newest_ms; /* time of the newest change, 0: none known */
};

/* When a change happened: the time its source gave it (ABI 1.2); 0 when
 * it gave none. A version is never read as a time: record.h promises
 * only that versions order the changes of a key. */
static int64_t change_time_ms(const sluice_record *r)
{
    return r->changed_at_ms > 0 ? r->changed_at_ms : 0;
}

static struct tally *tally_of(struct counters_tally *t, const sluice_record *r)
{
    for (size_t i = 0; i < t->count; i++)
        if (strlen(t->tables[i].table) == r->table_len &&
            !memcmp(t->tables[i].table, r->table, r->table_len))
            return &t->tables[i];
    XGROW(t->tables, t->cap, t->count + 1);
    t->tables[t->count] =
        (struct tally){xstrndup(r->table, r->table_len), 0, 0, 0};
    return &t->tables[t->count++];
}

void counters_tally_batch(struct counters_tally *t,
                          const struct sluice_batch *b)
{
    struct tally *x = NULL;
    for (size_t i = 0; i < b->count; i++) {
        sluice_record r = {.size = sizeof r};
        batch_get(b, i, &r);
        if (!x || strlen(x->table) != r.table_len ||
            memcmp(x->table, r.table, r.table_len))
            x = tally_of(t, &r);
        x->rows++;
        x->bytes += (int64_t)(r.key_len + r.doc_len);
        int64_t at = change_time_ms(&r);
        if (r.op != SLUICE_OP_SNAPSHOT && at > x->newest_ms)
            x->newest_ms = at;
    }
    t->batches++;
}

int counters_add(struct store *s, const char *pipe,
                 const struct counters_tally *t, int64_t now_ms,
                 struct error *err)
{
    int rc = 0;
    for (size_t i = 0; i < t->count && rc == 0; i++) {
        const struct tally *x = &t->tables[i];
        int64_t lag = !x->newest_ms           ? -1
                      : now_ms > x->newest_ms ? now_ms - x->newest_ms
                                              : 0;
        rc = pipe_table_count(s, pipe, x->table, x->rows, x->bytes, now_ms,
                              lag, err);
    }
    if (rc == 0 && t->batches)
        rc = pipe_count_batches(s, pipe, t->batches, err);
    return rc;
}

void counters_tally_free(struct counters_tally *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->tables[i].table);
    free(t->tables);
    memset(t, 0, sizeof *t);
}

int counters_stop_tables(struct store *s, const char *pipe,
                         const struct sluice_batch *b, struct error *err)
{
    size_t at = 0;
    const char *table, *reason;
    while (batch_next_stopped(b, &at, &table, &reason)) {
        if (lifecycle_table_stop(s, pipe, table, reason, err) < 0)
            return -1;
        struct log_field fields[] = {LOG_TEXT("reason", reason), LOG_END};
        log_pipe(SLUICE_LOG_WARN, pipe, table, fields, "table %s stopped: %s",
                 table, reason);
    }
    return 0;
}

void rate_sampler_free(struct rate_sampler *rs)
{
    for (size_t i = 0; i < rs->count; i++)
        free(rs->items[i].table);
    free(rs->items);
    memset(rs, 0, sizeof *rs);
}

static struct table_rate *rate_of(struct rate_sampler *rs, const char *table,
                                  int64_t rows)
{
    for (size_t i = 0; i < rs->count; i++)
        if (!strcmp(rs->items[i].table, table))
            return &rs->items[i];
    XGROW(rs->items, rs->cap, rs->count + 1);
    rs->items[rs->count] = (struct table_rate){xstrdup(table), rows, 0};
    return &rs->items[rs->count++];
}

/* A moving average: each sample counts for 40%, so a burst shows at once
 * and an idle table falls to zero in a few samples. */
int counters_sample_rates(struct store *s, const char *pipe,
                          struct rate_sampler *rs, int64_t monotonic_ms,
                          struct error *err)
{
    if (rs->at_ms && monotonic_ms - rs->at_ms < RATE_SAMPLE_MS)
        return 0;
    double secs = rs->at_ms ? (double)(monotonic_ms - rs->at_ms) / 1000.0 : 0;
    rs->at_ms = monotonic_ms;
    struct pipe_row row;
    bool found;
    if (pipe_load(s, pipe, &row, &found, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < row.table_count && rc == 0; i++) {
        const char *table = row.tables[i].name;
        int64_t rows = row.tables[i].rows_copied;
        struct table_rate *t = rate_of(rs, table, rows);
        if (secs > 0) {
            double now = rows >= t->rows ? (double)(rows - t->rows) / secs : 0;
            t->per_s = 0.6 * t->per_s + 0.4 * now;
            if (t->per_s < 0.5)
                t->per_s = 0;
        }
        t->rows = rows;
        int64_t rate = (int64_t)(t->per_s + 0.5);
        if (rate != row.tables[i].rows_per_s)
            rc = pipe_table_rate(s, pipe, table, rate, err);
    }
    pipe_row_free(&row);
    return rc;
}
