/* checkpoints.c: positions in the store (see checkpoints.h). */
#include "checkpoints.h"

#include <stdlib.h>

#include "../util/clock.h"
#include "../util/mem.h"

int checkpoint_put(struct store *s, const char *pipe, const char *kind,
                   const char *table, int64_t part, const void *position,
                   size_t len, bool done, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe),          DBV_TEXT(kind),
                           DBV_TEXT(table),         DBV_INT(part),
                           DBV_BLOB(position, len), DBV_INT(done),
                           DBV_INT(clock_now_ms())};
    return store_exec(s,
                      "INSERT INTO checkpoints (pipe, kind, tbl, part, "
                      "position, done, updated_at) VALUES ($1, $2, $3, $4, "
                      "$5, $6, $7) ON CONFLICT (pipe, kind, tbl, part) DO "
                      "UPDATE SET position = excluded.position, done = "
                      "excluded.done, updated_at = excluded.updated_at",
                      p, 7, NULL, err);
}

static void read_checkpoint(const struct db_result *r, size_t i,
                            struct checkpoint *c)
{
    memset(c, 0, sizeof *c);
    c->table = xstrdup(db_text(r, i, 0));
    c->part = db_int(r, i, 1);
    const struct db_value *v = db_cell(r, i, 2);
    buf_append(&c->position, v->p ? v->p : "", v->len);
    c->done = db_int(r, i, 3) != 0;
    c->updated_at = db_int(r, i, 4);
}

int checkpoint_get(struct store *s, const char *pipe, const char *kind,
                   const char *table, int64_t part, struct checkpoint *out,
                   bool *found, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(kind), DBV_TEXT(table),
                           DBV_INT(part)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT tbl, part, position, done, updated_at FROM "
                   "checkpoints WHERE pipe = $1 AND kind = $2 AND tbl = $3 "
                   "AND part = $4",
                   p, 4, &r, err) < 0)
        return -1;
    *found = r.rows == 1;
    if (*found)
        read_checkpoint(&r, 0, out);
    db_result_free(&r);
    return 0;
}

int checkpoint_list(struct store *s, const char *pipe, const char *kind,
                    const char *table, struct checkpoint **out, size_t *count,
                    struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(kind), DBV_TEXT(table)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT tbl, part, position, done, updated_at FROM "
                   "checkpoints WHERE pipe = $1 AND kind = $2 AND "
                   "(CAST($3 AS TEXT) IS NULL OR tbl = $3) ORDER BY tbl, part",
                   p, 3, &r, err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        read_checkpoint(&r, i, &(*out)[i]);
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

int checkpoint_clear(struct store *s, const char *pipe, const char *kind,
                     const char *table, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(kind), DBV_TEXT(table)};
    return store_exec(s,
                      "DELETE FROM checkpoints WHERE pipe = $1 AND kind = $2 "
                      "AND (CAST($3 AS TEXT) IS NULL OR tbl = $3)",
                      p, 3, NULL, err);
}

void checkpoint_free(struct checkpoint *c)
{
    free(c->table);
    buf_free(&c->position);
}

void checkpoints_free(struct checkpoint *c, size_t count)
{
    for (size_t i = 0; i < count; i++)
        checkpoint_free(&c[i]);
    free(c);
}
