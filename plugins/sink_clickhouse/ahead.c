/* ahead.c: the typed columns of a whole batch, read before its rows are
 * encoded, on several threads. Reading a document (parsing its JSON) is
 * by far the costliest step of a row with typed columns, and the rows of
 * a batch do not depend on each other: each thread reads a contiguous run
 * of the batch into a buffer of its own, and the encoder (stream.c) then
 * takes each row's bytes in the batch's order. The threads end before
 * ch_read_ahead returns; each has a projector (project.c) of its own,
 * kept with the sink for the next batch. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clickhouse.h"

#define MAX_THREADS 4
#define ROWS_PER_THREAD 2048 /* fewer rows are not worth a thread */

struct ch_part {
    struct ch_projector *projector;
    struct ch_buf out; /* the rows' typed columns, one after another */
    const struct ch_sink *s;
    const sluice_batch *batch;
    size_t from, to; /* the records this part reads */
    bool ok;
};

struct ch_ahead {
    struct ch_part parts[MAX_THREADS];
    size_t part_count;
    size_t *ends; /* per record: where its bytes end in its part's out */
    size_t cap;
};

/* The shape of a record's table, remembered from the record before (the
 * records of a batch mostly share their table). */
struct last_table {
    const char *table; /* the record's, in the batch */
    size_t len;
    const struct ch_shape *shape;
};

static const struct ch_shape *shape_of(const struct ch_sink *s,
                                       const sluice_record *r,
                                       struct last_table *last)
{
    if (!last->shape || last->len != r->table_len ||
        memcmp(last->table, r->table, r->table_len) != 0)
        *last =
            (struct last_table){r->table, r->table_len,
                                ch_shape_of_len(s, r->table, r->table_len)};
    return last->shape;
}

static void *read_part(void *arg)
{
    struct ch_part *p = arg;
    struct ch_ahead *a = p->s->ahead;
    struct last_table last = {0};
    bool json = p->s->cfg->format == CH_FORMAT_JSONEACHROW;
    p->out.len = 0;
    p->ok = true;
    for (size_t i = p->from; p->ok && i < p->to; i++) {
        sluice_record r = {.size = sizeof r};
        ch_host->batch_get(p->batch, i, &r);
        const struct ch_shape *sh = shape_of(p->s, &r, &last);
        if (ch_shape_column(sh, CH_FIELD))
            p->ok =
                ch_project(p->projector, &p->out, sh, json,
                           r.op == SLUICE_OP_DELETE ? NULL : r.doc, r.doc_len);
        a->ends[i] = p->out.len;
    }
    return NULL;
}

/* Whether a record of the batch has typed columns. */
static bool any_typed(const struct ch_sink *s, const sluice_batch *batch,
                      size_t n)
{
    struct last_table last = {0};
    if (!s->shape_count)
        return false;
    for (size_t i = 0; i < n; i++) {
        sluice_record r = {.size = sizeof r};
        ch_host->batch_get(batch, i, &r);
        if (ch_shape_column(shape_of(s, &r, &last), CH_FIELD))
            return true;
    }
    return false;
}

static size_t threads_for(size_t rows)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = rows / ROWS_PER_THREAD + 1;
    if (cpus > 0 && n > (size_t)cpus)
        n = (size_t)cpus;
    return n < MAX_THREADS ? n : MAX_THREADS;
}

sluice_status ch_read_ahead(struct ch_sink *s, const sluice_batch *batch,
                            sluice_error *err)
{
    size_t n = ch_host->batch_count(batch);
    if (!s->ahead && !(s->ahead = calloc(1, sizeof *s->ahead)))
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    struct ch_ahead *a = s->ahead;
    a->part_count = 0;
    if (!any_typed(s, batch, n))
        return SLUICE_OK;
    if (n > a->cap) {
        size_t *grown = realloc(a->ends, n * sizeof *grown);
        if (!grown)
            return sluice_fail(err, SLUICE_FATAL,
                               "sink_clickhouse: out of memory");
        a->ends = grown;
        a->cap = n;
    }
    size_t parts = threads_for(n);
    pthread_t threads[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    bool ok = true;
    for (size_t k = 0; ok && k < parts; k++) {
        struct ch_part *p = &a->parts[k];
        if (!p->projector && !(p->projector = ch_projector_new()))
            ok = false;
        p->s = s;
        p->batch = batch;
        p->from = n * k / parts;
        p->to = n * (k + 1) / parts;
        /* the first part is read here; the others in threads, or here
         * too when no thread can be had */
        if (ok && k > 0)
            started[k] = pthread_create(&threads[k], NULL, read_part, p) == 0;
    }
    if (ok) {
        for (size_t k = 0; k < parts; k++)
            if (!started[k])
                read_part(&a->parts[k]);
        a->part_count = parts;
    }
    for (size_t k = 0; k < parts; k++) {
        if (started[k])
            pthread_join(threads[k], NULL);
        ok = ok && a->parts[k].ok;
    }
    if (!ok) {
        a->part_count = 0;
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    }
    return SLUICE_OK;
}

bool ch_ahead_row(const struct ch_sink *s, size_t index, const char **bytes,
                  size_t *len)
{
    const struct ch_ahead *a = s->ahead;
    for (size_t k = 0; a && k < a->part_count; k++) {
        const struct ch_part *p = &a->parts[k];
        if (index < p->from || index >= p->to)
            continue;
        size_t start = index == p->from ? 0 : a->ends[index - 1];
        *bytes = p->out.data + start;
        *len = a->ends[index] - start;
        return true;
    }
    return false;
}

void ch_ahead_free(struct ch_sink *s)
{
    struct ch_ahead *a = s->ahead;
    if (!a)
        return;
    for (size_t k = 0; k < MAX_THREADS; k++) {
        ch_projector_free(a->parts[k].projector);
        ch_buf_free(&a->parts[k].out);
    }
    free(a->ends);
    free(a);
    s->ahead = NULL;
}
