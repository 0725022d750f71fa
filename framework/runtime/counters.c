/* counters.c: the figures of a pipe's tables that `sluice status`, the
 * progress lines and /metrics show (see counters.h). */
#include "counters.h"

#include <stdlib.h>
#include <string.h>

#include "../lifecycle/lifecycle.h"
#include "../lifecycle/pipes.h"
#include "../util/log.h"
#include "../util/mem.h"

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

int counters_pending(struct store *s, const char *pipe,
                     const struct counters_tally *t, struct error *err)
{
    int rc = 0;
    for (size_t i = 0; i < t->count && rc == 0; i++)
        rc = pipe_table_pending(s, pipe, t->tables[i].table, t->tables[i].rows,
                                t->tables[i].bytes, err);
    return rc;
}

void counters_tally_table(const struct counters_tally *t, size_t i,
                          const char **table, int64_t *rows)
{
    *table = t->tables[i].table;
    *rows = t->tables[i].rows;
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
