/* leases.c: leases in the store (see leases.h). */
#include "leases.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../util/clock.h"
#include "../util/mem.h"

int lease_acquire(struct store *s, const char *name, const char *owner,
                  int64_t ttl_ms, bool *held, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(owner), DBV_INT(ttl_ms)};
    struct db_result r;
    /* insert, or take over a lease that is ours or has expired */
    if (store_exec(s,
                   "INSERT INTO leases (name, owner, expires_at) VALUES ($1, "
                   "$2, {{now}} + $3) ON CONFLICT (name) DO UPDATE SET owner "
                   "= excluded.owner, expires_at = excluded.expires_at WHERE "
                   "leases.owner = excluded.owner OR leases.expires_at < "
                   "{{now}}",
                   p, 3, &r, err) < 0)
        return -1;
    *held = r.changes == 1;
    db_result_free(&r);
    return 0;
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
    if (store_exec(s,
                   "SELECT owner, expires_at - {{now}} FROM leases WHERE name "
                   "= $1 AND expires_at >= {{now}}",
                   &p, 1, &r, err) < 0)
        return -1;
    *owner = r.rows ? xstrdup(db_text(&r, 0, 0)) : NULL;
    if (expires_in_ms)
        *expires_in_ms = r.rows ? db_int(&r, 0, 1) : 0;
    db_result_free(&r);
    return 0;
}

const char *worker_name(void)
{
    static char name[300];
    if (!name[0]) {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(name, sizeof name, "%s:%ld:%lld", host, (long)getpid(),
                 (long long)clock_now_ms());
    }
    return name;
}
