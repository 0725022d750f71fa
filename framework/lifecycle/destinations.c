/* destinations.c: one owner per destination (see destinations.h). */
#include "destinations.h"

#include "../util/mem.h"

/* The other table that holds `destination`, or NULL. */
static int holder(struct store *s, const char *pipe, const char *table,
                  const char *destination, char **owner, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(destination), DBV_TEXT(pipe),
                           DBV_TEXT(table)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT pipe, name FROM pipe_tables WHERE destination = $1 "
                   "AND NOT (pipe = $2 AND name = $3)",
                   p, 3, &r, err) < 0)
        return -1;
    *owner = r.rows ? xasprintf("pipe '%s', table '%s'", db_text(&r, 0, 0),
                                db_text(&r, 0, 1))
                    : NULL;
    db_result_free(&r);
    return 0;
}

/* A claim's arguments and results (destination_claim). */
struct claim {
    const char *pipe, *table, *destination;
    bool *upgrade;
    char **owner;
};

static int do_claim(struct store *s, const char *pipe, const char *table,
                    const char *destination, bool *upgrade, char **owner,
                    struct error *err)
{
    if (holder(s, pipe, table, destination, owner, err) < 0)
        return -1;
    if (*owner)
        return 1;
    struct db_value p[] = {DBV_TEXT(destination), DBV_TEXT(pipe),
                           DBV_TEXT(table)};
    struct db_result r;
    if (store_exec(s,
                   "UPDATE pipe_tables SET destination = $1 WHERE pipe = $2 "
                   "AND name = $3 RETURNING set_up_before_owners",
                   p, 3, &r, err) < 0)
        return -1;
    *upgrade = r.rows == 1 && db_int(&r, 0, 0) != 0;
    db_result_free(&r);
    return 0;
}

static int claim_step(struct store *s, void *arg, struct error *err)
{
    const struct claim *c = arg;
    int rc = do_claim(s, c->pipe, c->table, c->destination, c->upgrade,
                      c->owner, err);
    /* failed: another worker claimed it between the look and the write;
     * the next attempt names it */
    if (rc < 0)
        err->transient = true;
    return rc;
}

int destination_claim(struct store *s, const char *pipe, const char *table,
                      const char *destination, bool *upgrade, char **owner,
                      struct error *err)
{
    *owner = NULL;
    *upgrade = false;
    struct claim c = {pipe, table, destination, upgrade, owner};
    return store_transaction(s, claim_step, &c, err);
}

int destination_form(struct store *s, const char *pipe, const char *table,
                     char **recorded, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(table)};
    struct db_result r;
    *recorded = NULL;
    if (store_exec(s,
                   "SELECT form FROM pipe_tables WHERE pipe = $1 AND name = "
                   "$2",
                   p, 2, &r, err) < 0)
        return -1;
    size_t len;
    if (r.rows)
        *recorded = db_take(&r, 0, 0, &len);
    db_result_free(&r);
    return 0;
}

int destination_form_set(struct store *s, const char *pipe, const char *table,
                         const char *form, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(form), DBV_TEXT(pipe), DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET form = $1 WHERE pipe = $2 AND "
                      "name = $3",
                      p, 3, NULL, err);
}

int destination_settled(struct store *s, const char *pipe, const char *table,
                        struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET set_up_before_owners = 0 WHERE "
                      "pipe = $1 AND name = $2 AND set_up_before_owners <> 0",
                      p, 2, NULL, err);
}
