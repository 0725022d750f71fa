/* rates.c: the rates of a pipe's tables (see rates.h). */
#include "rates.h"

#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"

void meter_init(struct meter *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
}

void meter_free(struct meter *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->tables[i].table);
    free(m->tables);
    pthread_mutex_destroy(&m->lock);
    memset(m, 0, sizeof *m);
}

/* Under the lock. */
static struct meter_table *meter_table_of(struct meter *m, const char *table)
{
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->tables[i].table, table))
            return &m->tables[i];
    XGROW(m->tables, m->cap, m->count + 1);
    m->tables[m->count] = (struct meter_table){xstrdup(table), 0, 0};
    return &m->tables[m->count++];
}

void meter_group(struct meter *m, const struct counters_tally *t)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < t->count; i++) {
        const char *table;
        int64_t rows;
        counters_tally_table(t, i, &table, &rows);
        meter_table_of(m, table)->group = rows;
    }
    pthread_mutex_unlock(&m->lock);
}

void meter_group_end(struct meter *m)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count; i++) {
        m->tables[i].done += m->tables[i].group;
        m->tables[i].group = 0;
    }
    pthread_mutex_unlock(&m->lock);
}

int64_t meter_rows(struct meter *m, const char *table)
{
    int64_t rows = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->tables[i].table, table))
            rows = m->tables[i].done + m->tables[i].group;
    pthread_mutex_unlock(&m->lock);
    return rows;
}

void rate_window_reset(struct rate_window *w)
{
    w->first = w->count = 0;
}

/* The i-th sample, oldest first. */
static size_t slot(const struct rate_window *w, size_t i)
{
    return (w->first + i) % RATE_SAMPLES;
}

void rate_window_add(struct rate_window *w, int64_t at_ms, int64_t rows)
{
    if (w->count && rows == w->rows[slot(w, 0)]) /* none written yet */
        w->count = 0;
    if (w->count == RATE_SAMPLES) {
        w->first = slot(w, 1);
        w->count--;
    }
    size_t i = slot(w, w->count++);
    w->at_ms[i] = at_ms;
    w->rows[i] = rows;
}

/* Rows a second from the a-th sample to the b-th. */
static double rate_between(const struct rate_window *w, size_t a, size_t b)
{
    int64_t ms = w->at_ms[slot(w, b)] - w->at_ms[slot(w, a)];
    int64_t rows = w->rows[slot(w, b)] - w->rows[slot(w, a)];
    return ms > 0 && rows > 0 ? (double)rows * 1000.0 / (double)ms : 0;
}

int64_t rate_window_rate(const struct rate_window *w, bool *steady)
{
    *steady = false;
    if (w->count < 2)
        return 0;
    size_t last = w->count - 1, mid = last / 2;
    double all = rate_between(w, 0, last);
    if (w->at_ms[slot(w, last)] - w->at_ms[slot(w, 0)] >= RATE_STEADY_MS) {
        double older = rate_between(w, 0, mid);
        double newer = rate_between(w, mid, last);
        *steady = older > 0 && newer > 0 &&
                  older <= newer * RATE_STEADY_RATIO &&
                  newer <= older * RATE_STEADY_RATIO;
    }
    return (int64_t)(all + 0.5);
}

void rate_sampler_free(struct rate_sampler *rs)
{
    for (size_t i = 0; i < rs->count; i++)
        free(rs->items[i].table);
    free(rs->items);
    memset(rs, 0, sizeof *rs);
}

/* A table's window: a new one is empty. */
static struct table_rate *rate_of(struct rate_sampler *rs,
                                  const struct pipe_table *t)
{
    for (size_t i = 0; i < rs->count; i++)
        if (!strcmp(rs->items[i].table, t->name))
            return &rs->items[i];
    XGROW(rs->items, rs->cap, rs->count + 1);
    struct table_rate *r = &rs->items[rs->count++];
    memset(r, 0, sizeof *r);
    r->table = xstrdup(t->name);
    r->status = t->status;
    return r;
}

int rates_sample(struct store *s, const char *pipe, struct meter *m,
                 struct rate_sampler *rs, int64_t monotonic_ms,
                 struct error *err)
{
    if (rs->at_ms && monotonic_ms - rs->at_ms < RATE_SAMPLE_MS)
        return 0;
    rs->at_ms = monotonic_ms;
    struct pipe_row row;
    bool found;
    if (pipe_load(s, pipe, &row, &found, err) < 0)
        return -1;
    bool new_state =
        row.state != rs->state || row.state_since != rs->state_since;
    rs->state = row.state;
    rs->state_since = row.state_since;
    int rc = 0;
    for (size_t i = 0; i < row.table_count && rc == 0; i++) {
        const struct pipe_table *t = &row.tables[i];
        struct table_rate *r = rate_of(rs, t);
        if (new_state || r->status != t->status)
            rate_window_reset(&r->window);
        r->status = t->status;
        rate_window_add(&r->window, monotonic_ms, meter_rows(m, t->name));
        bool steady;
        int64_t per_s = rate_window_rate(&r->window, &steady);
        if (per_s != t->rows_per_s || steady != t->rate_steady)
            rc = pipe_table_rate(s, pipe, t->name, per_s, steady, err);
    }
    pipe_row_free(&row);
    return rc;
}
