/* records.c: record identities and positions (see records.h). */
#include "records.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/batch.h"
#include "../util/mem.h"

static void add_id(struct rec_list *l, const sluice_record *r, bool change)
{
    struct buf b = {0};
    buf_append(&b, r->table, r->table_len);
    buf_append(&b, "", 1);
    buf_append(&b, r->key, r->key_len);
    if (change) {
        buf_append(&b, "", 1);
        buf_printf(&b, "%s version %" PRIu64, op_name(r->op), r->version);
    }
    XGROW(l->items, l->cap, l->count + 1);
    l->items[l->count].len = b.len;
    l->items[l->count++].bytes = buf_take(&b);
}

void rec_list_add_batch(struct rec_list *l, const sluice_batch *batch,
                        bool change)
{
    size_t n = batch_count(batch);
    for (size_t i = 0; i < n; i++) {
        sluice_record r = {.size = sizeof r};
        if (batch_get(batch, i, &r) == 0)
            add_id(l, &r, change);
    }
}

static int compare_ids(const void *a, const void *b)
{
    const struct rec_id *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->bytes, y->bytes, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

void rec_list_sorted(const struct rec_list *l, size_t from, size_t to,
                     struct rec_list *out)
{
    memset(out, 0, sizeof *out);
    if (to > l->count)
        to = l->count;
    for (size_t i = from; i < to; i++) {
        XGROW(out->items, out->cap, out->count + 1);
        char *copy = xmalloc(l->items[i].len + 1);
        memcpy(copy, l->items[i].bytes, l->items[i].len + 1);
        out->items[out->count++] = (struct rec_id){copy, l->items[i].len};
    }
    if (out->count)
        qsort(out->items, out->count, sizeof *out->items, compare_ids);
}

bool rec_list_has(const struct rec_list *sorted, const struct rec_id *id)
{
    return sorted->count && bsearch(id, sorted->items, sorted->count,
                                    sizeof *sorted->items, compare_ids);
}

const struct rec_id *rec_list_duplicate(const struct rec_list *sorted)
{
    for (size_t i = 1; i < sorted->count; i++)
        if (compare_ids(&sorted->items[i - 1], &sorted->items[i]) == 0)
            return &sorted->items[i];
    return NULL;
}

void rec_list_free(struct rec_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].bytes);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void rec_id_describe(const struct rec_id *id, char *out, size_t size)
{
    const char *table = id->bytes;
    const char *key = table + strlen(table) + 1;
    size_t key_len = id->len - (size_t)(key - id->bytes);
    const char *change = memchr(key, '\0', key_len);
    if (change)
        key_len = (size_t)(change - key);
    snprintf(out, size, "table %s, key %.*s%s%s", table,
             (int)(key_len > 200 ? 200 : key_len), key, change ? ", " : "",
             change ? change + 1 : "");
}

void marks_add(struct marks *m, const void *position, size_t len,
               size_t records)
{
    XGROW(m->items, m->cap, m->count + 1);
    struct mark *k = &m->items[m->count++];
    memset(k, 0, sizeof *k);
    buf_append(&k->position, position, len);
    k->records = records;
}

void marks_free(struct marks *m)
{
    for (size_t i = 0; i < m->count; i++)
        buf_free(&m->items[i].position);
    free(m->items);
    memset(m, 0, sizeof *m);
}

size_t mark_pick(size_t k, size_t picks, size_t count)
{
    if (picks >= count)
        return k;
    if (picks == 1)
        return count - 1;
    return k * (count - 1) / (picks - 1);
}

bool position_equal(const struct buf *a, const void *position, size_t len)
{
    return a->len == len && (len == 0 || memcmp(a->data, position, len) == 0);
}

void position_describe(const void *position, size_t len, char *out,
                       size_t size)
{
    const unsigned char *p = position;
    bool text = true;
    for (size_t i = 0; i < len && text; i++)
        text = isprint(p[i]);
    if (len == 0) {
        snprintf(out, size, "(empty)");
    } else if (text) {
        snprintf(out, size, "\"%.*s%s\"", (int)(len > 80 ? 80 : len),
                 (const char *)p, len > 80 ? "..." : "");
    } else {
        size_t used = (size_t)snprintf(out, size, "0x");
        for (size_t i = 0; i < len && i < 24 && used + 3 < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%02x", p[i]);
        snprintf(out + used, size - used, "%s (%zu bytes)",
                 len > 24 ? "..." : "", len);
    }
}
