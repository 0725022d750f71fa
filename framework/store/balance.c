/* balance.c: the workers of one store share its pipes (see balance.h). A
 * worker's takes and hand-overs run in transactions that lock its row of
 * `workers` first, so that its pipes' threads count what it holds one
 * after the other (PostgreSQL; SQLite has one writer at a time). */
#include "balance.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/mem.h"
#include "leases.h"

/* A one-number query. */
static int number(struct store *s, const char *sql, const struct db_value *p,
                  size_t n, int64_t *out, struct error *err)
{
    struct db_result r;
    if (store_exec(s, sql, p, n, &r, err) < 0)
        return -1;
    *out = r.rows ? db_int(&r, 0, 0) : 0;
    db_result_free(&r);
    return 0;
}

int worker_beat(struct store *s, const char *worker, struct error *err)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    struct db_value p[] = {DBV_TEXT(worker), DBV_TEXT(host)};
    if (store_exec(
            s,
            "INSERT INTO workers (name, host, started_at, "
            "heartbeat_at) VALUES ($1, $2, {{real_now}}, {{real_now}}) ON "
            "CONFLICT (name) DO UPDATE SET heartbeat_at = "
            "excluded.heartbeat_at",
            p, 2, NULL, err) < 0)
        return -1;
    /* the rows of workers gone for a day: nobody reads them */
    return store_exec(
        s,
        "DELETE FROM workers WHERE heartbeat_at < {{real_now}} - "
        "86400000",
        NULL, 0, NULL, err);
}

int worker_leave(struct store *s, const char *worker, struct error *err)
{
    struct db_value p = DBV_TEXT(worker);
    return store_exec(s, "DELETE FROM workers WHERE name = $1", &p, 1, NULL,
                      err);
}

/* The other live workers: those that beat lately, but a process of this
 * host that is gone (killed: its row stays until it is old). */
static int others_live(struct store *s, const char *worker, int64_t *count,
                       struct error *err)
{
    struct db_value w[] = {DBV_TEXT(worker), DBV_INT(WORKER_LIVE_MS)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT name FROM workers WHERE name <> $1 AND "
                   "heartbeat_at >= {{real_now}} - $2",
                   w, 2, &r, err) < 0)
        return -1;
    *count = 0;
    for (size_t i = 0; i < r.rows; i++)
        *count += !worker_gone_from_here(db_text(&r, i, 0));
    db_result_free(&r);
    return 0;
}

/* The pipes `worker` holds, and its share of them: ceil(pipes / live
 * workers), the worker counted live whatever its beat says. */
static int share_of(struct store *s, const char *worker, int64_t *mine,
                    int64_t *share, struct error *err)
{
    struct db_value w[] = {DBV_TEXT(worker)};
    int64_t pipes, others;
    if (number(s, "SELECT COUNT(*) FROM pipes", NULL, 0, &pipes, err) < 0 ||
        others_live(s, worker, &others, err) < 0 ||
        number(s,
               "SELECT COUNT(*) FROM leases WHERE owner = $1 AND name LIKE "
               "'pipe:%' AND expires_at >= {{real_now}}",
               w, 1, mine, err) < 0)
        return -1;
    if (pipes < 1)
        pipes = 1; /* a pipe registered since: one for somebody */
    *share = (pipes + others) / (others + 1); /* ceil(pipes / workers) */
    return 0;
}

/* Locks the worker's row until the transaction ends. */
static int lock_worker(struct store *s, const char *worker, struct error *err)
{
    struct db_value p = DBV_TEXT(worker);
    return store_exec(s, "SELECT 1 FROM workers WHERE name = $1{{for_update}}",
                      &p, 1, NULL, err);
}

struct acquiring {
    const char *lease, *worker;
    int64_t ttl_ms;
    bool *held;
};

static int acquire_step(struct store *s, void *arg, struct error *err)
{
    const struct acquiring *a = arg;
    struct db_value p[] = {DBV_TEXT(a->lease), DBV_TEXT(a->worker),
                           DBV_INT(WORKER_LIVE_MS)};
    int64_t mine, share;
    *a->held = false;
    if (lock_worker(s, a->worker, err) < 0 ||
        share_of(s, a->worker, &mine, &share, err) < 0)
        return -1;
    if (mine >= share)
        return 0; /* its share held: the pipe is left to others */
    if (lease_acquire(s, a->lease, a->worker, a->ttl_ms, a->held, err) < 0)
        return -1;
    if (*a->held) /* what it wanted, it has */
        return store_exec(s,
                          "UPDATE leases SET wanted_by = NULL WHERE name = "
                          "$1 AND wanted_by = $2",
                          p, 2, NULL, err);
    /* held by another: wanted, unless a live worker wants it already */
    return store_exec(
        s,
        "UPDATE leases SET wanted_by = $2 WHERE name = $1 AND owner <> $2 "
        "AND (wanted_by IS NULL OR wanted_by NOT IN (SELECT name FROM "
        "workers WHERE heartbeat_at >= {{real_now}} - $3))",
        p, 3, NULL, err);
}

int balance_acquire(struct store *s, const char *lease, const char *worker,
                    int64_t ttl_ms, bool *held, struct error *err)
{
    /* the usual case, in one statement: the worker renews its own */
    struct db_value p[] = {DBV_TEXT(lease), DBV_TEXT(worker), DBV_INT(ttl_ms)};
    struct db_result r;
    if (store_exec(
            s,
            "UPDATE leases SET expires_at = {{real_now}} + $3 WHERE name = "
            "$1 AND owner = $2 AND expires_at >= {{real_now}}",
            p, 3, &r, err) < 0)
        return -1;
    *held = r.changes == 1;
    db_result_free(&r);
    if (*held)
        return 0;
    struct acquiring a = {lease, worker, ttl_ms, held};
    return store_transaction(s, acquire_step, &a, err);
}

int balance_over(struct store *s, const char *lease, const char *worker,
                 char **to, struct error *err)
{
    *to = NULL;
    struct db_value p[] = {DBV_TEXT(lease), DBV_TEXT(worker),
                           DBV_INT(WORKER_LIVE_MS)};
    struct db_result r;
    if (store_exec(
            s,
            "SELECT l.wanted_by FROM leases l JOIN workers w ON "
            "w.name = l.wanted_by WHERE l.name = $1 AND l.owner = $2 "
            "AND l.wanted_by <> $2 AND w.heartbeat_at >= {{real_now}} - $3",
            p, 3, &r, err) < 0)
        return -1;
    char *wanting = r.rows ? xstrdup(db_text(&r, 0, 0)) : NULL;
    db_result_free(&r);
    if (wanting && worker_gone_from_here(wanting)) {
        free(wanting); /* killed since: it wants nothing */
        wanting = NULL;
    }
    if (!wanting)
        return 0;
    int64_t mine, share, theirs, their_share;
    if (share_of(s, worker, &mine, &share, err) < 0 ||
        share_of(s, wanting, &theirs, &their_share, err) < 0) {
        free(wanting);
        return -1;
    }
    if (mine > share && theirs < share)
        *to = wanting;
    else
        free(wanting);
    return 0;
}

struct giving {
    const char *lease, *worker;
    bool *handed;
};

static int give_step(struct store *s, void *arg, struct error *err)
{
    const struct giving *g = arg;
    char *to = NULL;
    if (lock_worker(s, g->worker, err) < 0 ||
        balance_over(s, g->lease, g->worker, &to, err) < 0)
        return -1;
    if (!to)
        return 0;
    struct db_value p[] = {DBV_TEXT(g->lease), DBV_TEXT(g->worker),
                           DBV_TEXT(to), DBV_INT(BALANCE_GRACE_MS)};
    struct db_result r;
    int rc =
        store_exec(s,
                   "UPDATE leases SET owner = $3, wanted_by = NULL, "
                   "expires_at = {{real_now}} + $4 WHERE name = $1 AND owner "
                   "= $2",
                   p, 4, &r, err);
    free(to);
    if (rc < 0)
        return -1;
    *g->handed = r.changes == 1;
    db_result_free(&r);
    return 0;
}

int balance_give(struct store *s, const char *lease, const char *worker,
                 bool *handed, struct error *err)
{
    *handed = false;
    struct giving g = {lease, worker, handed};
    return store_transaction(s, give_step, &g, err);
}
