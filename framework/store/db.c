/* db.c: what the backends share: results and macro expansion. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>

#include "../util/buf.h"
#include "../util/clock.h"

void db_result_free(struct db_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->rows * r->cols; i++)
        free((void *)r->cells[i].p);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

char *db_take(struct db_result *r, size_t row, size_t col, size_t *len)
{
    struct db_value *v =
        row < r->rows && col < r->cols ? &r->cells[row * r->cols + col] : NULL;
    if (!v || !v->p)
        return NULL;
    char *p = (char *)v->p;
    *len = v->len;
    v->p = NULL;
    v->len = 0;
    return p;
}

const struct db_value *db_cell(const struct db_result *r, size_t row,
                               size_t col)
{
    if (row >= r->rows || col >= r->cols)
        return NULL;
    return &r->cells[row * r->cols + col];
}

int64_t db_int(const struct db_result *r, size_t row, size_t col)
{
    const struct db_value *v = db_cell(r, row, col);
    return v && v->type == DB_INT ? v->i : 0;
}

const char *db_text(const struct db_result *r, size_t row, size_t col)
{
    const struct db_value *v = db_cell(r, row, col);
    return v && (v->type == DB_TEXT || v->type == DB_BLOB) ? v->p : NULL;
}

void db_clock_sql(const char *real_ms, char *out, size_t size)
{
    int64_t start, offset;
    double speed;
    if (!clock_test(&start, &speed, &offset))
        snprintf(out, size, "%s", real_ms);
    else
        snprintf(out, size, "(%lld + (%s - %lld) * %.17g + %lld)",
                 (long long)start, real_ms, (long long)start, speed,
                 (long long)offset);
}

char *db_expand(const char *sql, const struct db_macro *macros, size_t count)
{
    struct buf out = {0};
    const char *p = sql;
    while (*p) {
        bool replaced = false;
        if (p[0] == '{' && p[1] == '{') {
            for (size_t i = 0; i < count && !replaced; i++) {
                size_t n = strlen(macros[i].name);
                if (strncmp(p, macros[i].name, n) == 0) {
                    buf_puts(&out, macros[i].text);
                    p += n;
                    replaced = true;
                }
            }
        }
        if (!replaced)
            buf_append(&out, p++, 1);
    }
    return buf_take(&out);
}
