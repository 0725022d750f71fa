/* leases.c: leases in the store (see leases.h). */
#include "leases.h"

#include <stdlib.h>

#include "../util/log.h"
#include "../util/mem.h"
#include "workers.h"

/* Runs a statement that writes the lease row when the lease is to be
 * had: *held when it wrote one. */
static int claim(struct store *s, const char *sql, const struct db_value *p,
                 size_t n, bool *held, struct error *err)
{
    struct db_result r;
    if (store_exec(s, sql, p, n, &r, err) < 0)
        return -1;
    *held = r.changes == 1;
    db_result_free(&r);
    return 0;
}

/* Takes over the lease from `dead` (worker_gone_from_here) unless another
 * worker did first. */
static int take_from_gone(struct store *s, const char *name, const char *owner,
                          const char *dead, int64_t ttl_ms, bool *held,
                          struct error *err)
{
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(owner), DBV_INT(ttl_ms),
                           DBV_TEXT(dead)};
    if (claim(
            s,
            "UPDATE leases SET owner = $2, expires_at = {{real_now}} + $3 WHERE "
            "name = $1 AND owner = $4",
            p, 4, held, err) < 0)
        return -1;
    if (*held)
        log_msg(SLUICE_LOG_INFO, NULL,
                "lease %s taken over from %s, a process of this host that "
                "is gone",
                name, dead);
    return 0;
}

int lease_acquire(struct store *s, const char *name, const char *owner,
                  int64_t ttl_ms, bool *held, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(owner), DBV_INT(ttl_ms)};
    /* insert, or take over a lease that is ours or has expired */
    if (claim(
            s,
            "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, "
            "{{real_now}} + $3) ON CONFLICT (name) DO UPDATE SET owner = "
            "excluded.owner, expires_at = excluded.expires_at WHERE "
            "leases.owner = excluded.owner OR leases.expires_at < {{real_now}}",
            p, 3, held, err) < 0)
        return -1;
    if (*held)
        return 0;
    struct db_result r;
    struct db_value q = DBV_TEXT(name);
    if (store_exec(s, "SELECT owner FROM leases WHERE name = $1", &q, 1, &r,
                   err) < 0)
        return -1;
    char *dead = r.rows && worker_gone_from_here(db_text(&r, 0, 0))
                     ? xstrdup(db_text(&r, 0, 0))
                     : NULL;
    db_result_free(&r);
    int rc =
        dead ? take_from_gone(s, name, owner, dead, ttl_ms, held, err) : 0;
    free(dead);
    return rc;
}

int lease_release(struct store *s, const char *name, const char *owner,
                  struct error *err)
{
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(owner)};
    return store_exec(s, "DELETE FROM leases WHERE name = $1 AND owner = $2",
                      p, 2, NULL, err);
}

int lease_holder(struct store *s, const char *name, char **owner,
                 int64_t *expires_in_ms, struct error *err)
{
    struct db_value p = DBV_TEXT(name);
    struct db_result r;
    if (store_exec(
            s,
            "SELECT owner, expires_at - {{real_now}} FROM leases WHERE name "
            "= $1 AND expires_at >= {{real_now}}",
            &p, 1, &r, err) < 0)
        return -1;
    bool live = r.rows && !worker_gone_from_here(db_text(&r, 0, 0));
    *owner = live ? xstrdup(db_text(&r, 0, 0)) : NULL;
    if (expires_in_ms)
        *expires_in_ms = live ? db_int(&r, 0, 1) : 0;
    db_result_free(&r);
    return 0;
}

int lease_fence(struct store *s, const char *name, const char *owner,
                bool *held, struct error *err)
{
    *held = false;
    /* FOR SHARE (PostgreSQL): a takeover waits for this transaction, and
     * this one for a takeover under way, which it then sees */
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(owner)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT 1 FROM leases WHERE name = $1 AND owner = $2 AND "
                   "expires_at >= {{real_now}}{{for_share}}",
                   p, 2, &r, err) < 0)
        return -1;
    *held = r.rows == 1;
    db_result_free(&r);
    if (!*held)
        return error_set(err,
                         "lease %s is no longer held by this worker (%s): "
                         "what it did since is not committed",
                         name, owner);
    return 0;
}

char *pipe_lease_name(const char *pipe)
{
    return xasprintf("pipe:%s", pipe);
}
