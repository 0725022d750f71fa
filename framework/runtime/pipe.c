/* pipe.c: what the parts of one pipe's work share (see pipe.h): failures
 * told apart, the tables of a status, publishing a batch with the
 * checkpoint it reaches, where CDC starts, and what is done between
 * pieces of long work. It calls into no other part of the pipe's work. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../hub/hub.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../plugin/values.h"
#include "../store/checkpoints.h"
#include "../store/leases.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "pipe.h"

enum outcome from_call(sluice_status st, const struct call_error *e,
                       struct failure *f)
{
    if (st == SLUICE_OK || st == SLUICE_DONE)
        return GO_ON;
    f->outcome = st == SLUICE_RETRY ? RETRY : FATAL;
    f->table_only = st == SLUICE_FATAL_TABLE;
    snprintf(f->message, sizeof f->message, "%s", e->message);
    return f->outcome;
}

enum outcome from_store(const struct error *err, struct failure *f)
{
    f->outcome = err->transient ? RETRY : FATAL;
    f->table_only = false;
    snprintf(f->message, sizeof f->message, "%s", err->message);
    return f->outcome;
}

enum outcome fail_with(struct failure *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    f->table_only = false;
    return f->outcome = FATAL;
}

enum outcome table_failed(struct run *u, const char *table, struct failure *f)
{
    if (f->outcome != FATAL || !f->table_only)
        return f->outcome;
    struct log_field fields[] = {LOG_TEXT("error", f->message), LOG_END};
    log_pipe(SLUICE_LOG_ERROR, u->pc->name, table, fields,
             "table %s failed; the pipe's other tables go on: %s", table,
             f->message);
    struct error err;
    if (lifecycle_table_fail(u->s, u->pc->name, table, f->message, &err) < 0)
        return from_store(&err, f);
    *f = (struct failure){.outcome = GO_ON};
    return GO_ON;
}

/* The names of the tables whose status is one of `statuses` (bits). */
static char **tables_in(const struct pipe_row *row, unsigned statuses,
                        size_t *n)
{
    char **out = xcalloc(row->table_count + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < row->table_count; i++)
        if (statuses & (1u << row->tables[i].status))
            out[(*n)++] = row->tables[i].name;
    return out;
}

char **tables_of(const struct pipe_row *row, enum table_status status,
                 size_t *n)
{
    return tables_in(row, 1u << status, n);
}

char **tables_served(const struct pipe_row *row, size_t *n)
{
    return tables_in(row, 1u << TABLE_ACTIVE | 1u << TABLE_ADDING, n);
}

bool request_waits(struct run *u)
{
    struct request req;
    bool pending = false;
    struct error err;
    if (request_next(u->s, u->pc->name, &req, &pending, &err) == 0 && pending)
        request_free(&req);
    return pending;
}

/* A record of a table the source was not asked for would create and fill
 * a destination nobody asked for. Checked over the batch's distinct
 * tables (batch.h), not record by record. */
static enum outcome check_tables(const struct pipe_config *pc,
                                 const struct sluice_batch *b,
                                 const char *kind, const char *table,
                                 const char *const *tables, size_t n,
                                 struct failure *f)
{
    const char *t;
    size_t at = 0, len;
    while (batch_next_table(b, &at, &t, &len)) {
        size_t i = 0;
        while (i < n &&
               (strlen(tables[i]) != len || memcmp(tables[i], t, len)))
            i++;
        if (i < n)
            continue;
        int shown = (int)(len > 64 ? 64 : len);
        if (!strcmp(kind, CHECKPOINT_SNAPSHOT))
            return fail_with(f,
                             "source %s: snapshot_next of table '%s' gave "
                             "a record of table '%.*s'; a source gives "
                             "records only of the table it is asked for",
                             pc->source.plugin->name, table, shown, t);
        return fail_with(f,
                         "source %s: cdc_poll gave a record of table "
                         "'%.*s', which is not among the %zu table(s) "
                         "the pipe follows",
                         pc->source.plugin->name, shown, t, n);
    }
    return GO_ON;
}

int pipe_fence(struct store *s, const char *pipe, bool *lost,
               struct error *err)
{
    char *lease = pipe_lease_name(pipe);
    bool held = true;
    int rc = lease_fence(s, lease, worker_name(), &held, err);
    free(lease);
    *lost = !held;
    return rc;
}

enum outcome from_commit(const struct error *err, bool lost, struct failure *f)
{
    if (!lost)
        return from_store(err, f);
    snprintf(f->message, sizeof f->message, "%s", err->message);
    f->table_only = false;
    return f->outcome = LEFT;
}

bool past_deadline(struct run *u, struct failure *f)
{
    int64_t since = clock_monotonic_ms() - u->lease_renewed_ms;
    if (since < LEASE_DEADLINE_MS)
        return false;
    snprintf(f->message, sizeof f->message,
             "the pipe's lease was last renewed %llds ago: its work stops "
             "(the local deadline is %ds)",
             (long long)(since / 1000), LEASE_DEADLINE_MS / 1000);
    f->table_only = false;
    f->outcome = LEFT;
    return true;
}

/* What publish writes in one transaction. */
struct publication {
    const struct pipe_config *pc;
    const struct sluice_batch *b;
    const struct hub_blob *blob; /* its bytes, written ahead */
    const char *kind, *table;
    int64_t part;
    bool done;
    bool lost;           /* fenced out */
    int64_t publication; /* the event made; 0: none */
};

/* The batch on its topic, the position it reached, and the tables it
 * stopped: all or nothing. The fence comes last: on PostgreSQL it holds
 * the lease's row shared until the commit, and held through the
 * writing of a batch's blobs it kept the lease's renewal waiting for
 * seconds while the snapshot's workers published one after another. */
static int publish_step(struct store *s, void *arg, struct error *err)
{
    struct publication *p = arg;
    if (p->b->count &&
        hub_publish_written(s, p->pc->topic, p->pc->name, p->b, p->blob,
                            clock_now_ms(), &p->publication, err) < 0)
        return -1;
    if (p->b->has_position &&
        checkpoint_put(s, p->pc->name, p->kind, p->table, p->part,
                       p->b->position.data, p->b->position.len, p->done,
                       err) < 0)
        return -1;
    if (counters_stop_tables(s, p->pc->name, p->b, err) < 0)
        return -1;
    return pipe_fence(s, p->pc->name, &p->lost, err);
}

enum outcome publish(struct store *s, const struct pipe_config *pc,
                     struct hub_kept *kept, struct sluice_batch *b,
                     const char *kind, const char *table, int64_t part,
                     bool done, const char *const *tables, size_t table_count,
                     struct failure *f)
{
    if (check_tables(pc, b, kind, table, tables, table_count, f) != GO_ON)
        return f->outcome;
    struct hub_blob blob = {0};
    struct error err;
    if (b->count && hub_blob_write(s, b, &blob, &err) < 0)
        return from_store(&err, f);
    size_t bytes = b->frames.len;
    bool keep = kept && b->count && hub_kept_room(kept, bytes);
    struct publication p = {pc, b, &blob, kind, table, part, done, false, 0};
    if (store_transaction(s, publish_step, &p, &err) < 0) {
        if (keep)
            hub_kept_unused(kept, bytes);
        return from_commit(&err, p.lost, f);
    }
    struct log_field fields[] = {LOG_INT("records", (int64_t)b->count),
                                 LOG_INT("bytes", (int64_t)batch_bytes(b)),
                                 LOG_TEXT("kind", kind), LOG_END};
    if (b->count)
        log_pipe(SLUICE_LOG_DEBUG, pc->name, table[0] ? table : NULL, fields,
                 "published %zu record(s), %zu bytes (%s%s%s)", b->count,
                 batch_bytes(b), kind, table[0] ? " of " : "", table);
    if (keep && p.publication)
        hub_kept_put(kept, p.publication, b);
    else if (keep)
        hub_kept_unused(kept, bytes);
    return GO_ON;
}

enum outcome start_position(struct run *u, struct buf *out, struct failure *f)
{
    struct sluice_values v = {0};
    struct call_error e;
    enum outcome o =
        from_call(source_snapshot_begin(SOURCE_OF(u), &v, &e), &e, f);
    if (o == GO_ON && v.count != 1)
        o = fail_with(f, "%s.snapshot_begin: gave %zu positions, not one",
                      u->pc->source.plugin->name, v.count);
    else if (o == GO_ON)
        buf_append(out, v.items[0], v.lens[0]);
    values_free(&v);
    return o;
}

bool lease_keep(struct run *u)
{
    int64_t now = clock_monotonic_ms();
    if (now - u->lease_renewed_ms < LEASE_MS / 3)
        return true;
    struct error err;
    bool held = false;
    int rc =
        lease_acquire(u->s, u->lease, worker_name(), LEASE_MS, &held, &err);
    if (rc == 0 && held) {
        u->lease_renewed_ms = now; /* it runs from before the renewal */
        return true;
    }
    struct failure f;
    if (rc == 0)
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "another worker holds the pipe's lease now: its work here "
                 "stops");
    else if (past_deadline(u, &f))
        log_pipe(SLUICE_LOG_WARN, u->pc->name, NULL, NULL,
                 "%s; renewing it: %s", f.message, err.message);
    else
        return true; /* tried again at the next tick, until the deadline */
    u->lease_lost = true;
    return false;
}

bool pipe_tick(struct run *u)
{
    if (!lease_keep(u))
        return false;
    struct error err;
    if (rates_sample(u->s, u->pc->name, &u->meter, &u->rates,
                     clock_monotonic_ms(), &err) < 0)
        log_pipe(SLUICE_LOG_DEBUG, u->pc->name, NULL, NULL, "rates: %s",
                 err.message);
    return true;
}
