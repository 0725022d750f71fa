/* pipes.c: reading pipe records (see pipes.h). */
#include "pipes.h"

#include <stdlib.h>

#include "../config/config.h"
#include "../store/leases.h"
#include "../util/mem.h"
#include "../util/redact.h"

static char *dup_text(const struct db_result *r, size_t row, size_t col)
{
    const char *t = db_text(r, row, col);
    return t ? xstrdup(t) : NULL;
}

static int load_tables(struct store *s, struct pipe_row *p, struct error *err)
{
    struct db_value param = DBV_TEXT(p->name);
    struct db_result r;
    if (store_exec(s,
                   "SELECT name, status, drop_destination, rows_copied, "
                   "rows_estimated, bytes_copied, lag_ms, updated_at, "
                   "rows_per_s, note, rows_delivered, bytes_delivered, "
                   "rows_pending, bytes_pending, rate_steady FROM "
                   "pipe_tables WHERE pipe = $1 ORDER BY name",
                   &param, 1, &r, err) < 0)
        return -1;
    p->tables = xcalloc(r.rows + 1, sizeof *p->tables);
    for (size_t i = 0; i < r.rows; i++) {
        struct pipe_table *t = &p->tables[i];
        t->name = dup_text(&r, i, 0);
        int status = table_status_from_name(db_text(&r, i, 1));
        if (status < 0) {
            error_set(err,
                      "store %s: table '%s' of pipe '%s' has status "
                      "'%s', which this sluice does not know",
                      store_name(s), t->name, p->name, db_text(&r, i, 1));
            p->table_count = i + 1;
            db_result_free(&r);
            return -1;
        }
        t->status = (enum table_status)status;
        t->drop_destination = db_int(&r, i, 2) != 0;
        t->rows_copied = db_int(&r, i, 3);
        t->rows_estimated = db_int(&r, i, 4);
        t->bytes_copied = db_int(&r, i, 5);
        t->lag_ms = db_int(&r, i, 6);
        t->updated_at = db_int(&r, i, 7);
        t->rows_per_s = db_int(&r, i, 8);
        t->note = redact_dup(db_text(&r, i, 9));
        t->rows_delivered = db_int(&r, i, 10);
        t->bytes_delivered = db_int(&r, i, 11);
        t->rows_pending = db_int(&r, i, 12);
        t->bytes_pending = db_int(&r, i, 13);
        t->rate_steady = db_int(&r, i, 14) != 0;
    }
    p->table_count = r.rows;
    db_result_free(&r);
    return 0;
}

int pipe_load(struct store *s, const char *name, struct pipe_row *out,
              bool *found, struct error *err)
{
    memset(out, 0, sizeof *out);
    *found = false;
    struct db_value param = DBV_TEXT(name);
    struct db_result r;
    if (store_exec(s,
                   "SELECT name, source, sink, topic, mode, settings, state, "
                   "state_since, state_context, last_error, retry_count, "
                   "created_at, batches, last_error_at, retrying_since FROM "
                   "pipes WHERE name = $1",
                   &param, 1, &r, err) < 0)
        return -1;
    *found = r.rows == 1;
    if (!*found) {
        db_result_free(&r);
        return 0;
    }
    out->name = dup_text(&r, 0, 0);
    out->source = dup_text(&r, 0, 1);
    out->sink = dup_text(&r, 0, 2);
    out->topic = dup_text(&r, 0, 3);
    out->mode = dup_text(&r, 0, 4);
    out->settings = dup_text(&r, 0, 5);
    int state = pipe_state_from_name(db_text(&r, 0, 6));
    out->state_since = db_int(&r, 0, 7);
    out->context = pipe_context_from_name(db_text(&r, 0, 8));
    out->last_error = redact_dup(db_text(&r, 0, 9));
    out->retry_count = db_int(&r, 0, 10);
    out->created_at = db_int(&r, 0, 11);
    out->batches = db_int(&r, 0, 12);
    out->last_error_at = db_int(&r, 0, 13);
    out->retrying_since = db_int(&r, 0, 14);
    if (state < 0) {
        error_set(err,
                  "store %s: pipe '%s' is in state '%s', which this "
                  "sluice does not know",
                  store_name(s), name, db_text(&r, 0, 6));
        db_result_free(&r);
        pipe_row_free(out);
        return -1;
    }
    out->state = (enum pipe_state)state;
    db_result_free(&r);
    if (load_tables(s, out, err) < 0) {
        pipe_row_free(out);
        return -1;
    }
    return 0;
}

void pipe_row_free(struct pipe_row *p)
{
    for (size_t i = 0; i < p->table_count; i++) {
        free(p->tables[i].name);
        free(p->tables[i].note);
    }
    free(p->tables);
    free(p->name);
    free(p->source);
    free(p->sink);
    free(p->topic);
    free(p->mode);
    free(p->settings);
    free(p->last_error);
    memset(p, 0, sizeof *p);
}

/* The first column of every row, as strings the caller frees. */
static void names_of(struct db_result *r, char ***names, size_t *count)
{
    *names = xcalloc(r->rows + 1, sizeof **names);
    for (size_t i = 0; i < r->rows; i++)
        (*names)[i] = dup_text(r, i, 0);
    *count = r->rows;
}

int pipe_names(struct store *s, char ***names, size_t *count,
               struct error *err)
{
    struct db_result r;
    if (store_exec(s, "SELECT name FROM pipes ORDER BY name", NULL, 0, &r,
                   err) < 0)
        return -1;
    names_of(&r, names, count);
    db_result_free(&r);
    return 0;
}

int pipe_table_names(struct store *s, const char *pipe,
                     enum table_status status, char ***names, size_t *count,
                     struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe),
                           DBV_TEXT(table_status_name(status))};
    struct db_result r;
    if (store_exec(s,
                   "SELECT name FROM pipe_tables WHERE pipe = $1 AND status "
                   "= $2 ORDER BY name",
                   p, 2, &r, err) < 0)
        return -1;
    names_of(&r, names, count);
    db_result_free(&r);
    return 0;
}

void names_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

bool pipe_has_table(const struct pipe_row *p, const char *table)
{
    for (size_t i = 0; i < p->table_count; i++)
        if (strcmp(p->tables[i].name, table) == 0)
            return true;
    return false;
}

int pipe_mode_of(const struct pipe_row *p)
{
    for (int i = 0; pipe_mode_names[i]; i++)
        if (strcmp(pipe_mode_names[i], p->mode) == 0)
            return i;
    return PIPE_MODE_SNAPSHOT_CDC;
}

/* Whether the pipe is loading the table now. */
static bool loading(const struct pipe_row *p, const struct pipe_table *t)
{
    if (p->state != STATE_SNAPSHOT)
        return false;
    if (p->context == CONTEXT_ADD)
        return t->status == TABLE_ADDING;
    return t->status == TABLE_ACTIVE || t->status == TABLE_ADDING;
}

void pipe_table_progress(const struct pipe_row *p, const struct pipe_table *t,
                         struct table_progress *out)
{
    out->rows = t->rows_copied + t->rows_pending;
    out->bytes = t->bytes_copied + t->bytes_pending;
    out->permille = out->eta_s = -1;
    if (!loading(p, t) || t->rows_estimated <= 0 ||
        out->rows > t->rows_estimated)
        return;
    int64_t left = t->rows_estimated - out->rows;
    out->permille = out->rows * 1000 / t->rows_estimated; /* rounded down */
    if (t->rate_steady && t->rows_per_s > 0)
        out->eta_s = (left + t->rows_per_s - 1) / t->rows_per_s;
}

int64_t pipe_rows(const struct pipe_row *p, bool written)
{
    int64_t n = 0;
    for (size_t i = 0; i < p->table_count; i++)
        n += p->tables[i].rows_copied +
             (written ? p->tables[i].rows_pending : 0);
    return n;
}

int64_t pipe_lag_ms(const struct pipe_row *p)
{
    int64_t lag = -1;
    for (size_t i = 0; i < p->table_count; i++)
        if (p->tables[i].lag_ms > lag)
            lag = p->tables[i].lag_ms;
    return lag;
}

int pipe_tables_found(struct store *s, const char *pipe,
                      const char *const *names, size_t count,
                      struct error *err)
{
    for (size_t i = 0; i < count; i++) {
        struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(names[i]),
                               DBV_TEXT(table_status_name(TABLE_ACTIVE))};
        if (store_exec(s,
                       "INSERT INTO pipe_tables (pipe, name, status) VALUES "
                       "($1, $2, $3) ON CONFLICT DO NOTHING",
                       p, 3, NULL, err) < 0)
            return -1;
    }
    return 0;
}

int pipe_table_estimate(struct store *s, const char *pipe, const char *table,
                        int64_t rows, struct error *err)
{
    struct db_value p[] = {DBV_INT(rows), DBV_TEXT(pipe), DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET rows_estimated = $1 WHERE pipe "
                      "= $2 AND name = $3",
                      p, 3, NULL, err);
}

int pipe_table_count(struct store *s, const char *pipe, const char *table,
                     int64_t rows, int64_t bytes, int64_t at_ms,
                     int64_t lag_ms, struct error *err)
{
    struct db_value p[] = {DBV_INT(rows),   DBV_INT(bytes), DBV_INT(at_ms),
                           DBV_INT(lag_ms), DBV_TEXT(pipe), DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET rows_copied = rows_copied + $1, "
                      "bytes_copied = bytes_copied + $2, rows_delivered = "
                      "rows_delivered + $1, bytes_delivered = bytes_delivered "
                      "+ $2, updated_at = $3, "
                      "lag_ms = CASE WHEN $4 >= 0 THEN $4 ELSE lag_ms END "
                      "WHERE pipe = $5 AND name = $6",
                      p, 6, NULL, err);
}

int pipe_count_batches(struct store *s, const char *pipe, int64_t batches,
                       struct error *err)
{
    struct db_value p[] = {DBV_INT(batches), DBV_TEXT(pipe)};
    return store_exec(s,
                      "UPDATE pipes SET batches = batches + $1 WHERE name "
                      "= $2",
                      p, 2, NULL, err);
}

int pipe_table_rate(struct store *s, const char *pipe, const char *table,
                    int64_t rows_per_s, bool steady, struct error *err)
{
    struct db_value p[] = {DBV_INT(rows_per_s), DBV_INT(steady),
                           DBV_TEXT(pipe), DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET rows_per_s = $1, rate_steady = "
                      "$2 WHERE pipe = $3 AND name = $4",
                      p, 4, NULL, err);
}

int pipe_table_pending(struct store *s, const char *pipe, const char *table,
                       int64_t rows, int64_t bytes, struct error *err)
{
    struct db_value p[] = {DBV_INT(rows), DBV_INT(bytes), DBV_TEXT(pipe),
                           DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET rows_pending = $1, "
                      "bytes_pending = $2 WHERE pipe = $3 AND name = $4",
                      p, 4, NULL, err);
}

int pipe_tables_pending_clear(struct store *s, const char *pipe,
                              struct error *err)
{
    struct db_value p = DBV_TEXT(pipe);
    return store_exec(s,
                      "UPDATE pipe_tables SET rows_pending = 0, bytes_pending "
                      "= 0 WHERE pipe = $1 AND (rows_pending <> 0 OR "
                      "bytes_pending <> 0)",
                      &p, 1, NULL, err);
}

int pipe_tables_rates_clear(struct store *s, const char *pipe,
                            struct error *err)
{
    struct db_value p = DBV_TEXT(pipe);
    return store_exec(s,
                      "UPDATE pipe_tables SET rows_per_s = 0, rate_steady = 0 "
                      "WHERE pipe = $1 AND (rows_per_s <> 0 OR rate_steady "
                      "<> 0)",
                      &p, 1, NULL, err);
}

int pipe_table_swap_begun(struct store *s, const char *pipe, const char *table,
                          struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET swapping = 1 WHERE pipe = $1 "
                      "AND name = $2 AND swapping = 0",
                      p, 2, NULL, err);
}

int pipe_table_swapping(struct store *s, const char *pipe, const char *table,
                        bool *begun, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(table)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT swapping FROM pipe_tables WHERE pipe = $1 AND "
                   "name = $2",
                   p, 2, &r, err) < 0)
        return -1;
    *begun = r.rows && db_int(&r, 0, 0) != 0;
    db_result_free(&r);
    return 0;
}

int pipe_tables_swaps_clear(struct store *s, const char *pipe,
                            struct error *err)
{
    struct db_value p = DBV_TEXT(pipe);
    return store_exec(s,
                      "UPDATE pipe_tables SET swapping = 0 WHERE pipe = $1 "
                      "AND swapping <> 0",
                      &p, 1, NULL, err);
}

int pipe_worker(struct store *s, const char *pipe, char **worker,
                struct error *err)
{
    char *lease = pipe_lease_name(pipe);
    int rc = lease_holder(s, lease, worker, NULL, err);
    free(lease);
    return rc;
}
