/* leases.c: leases in the store (see leases.h). */
#include "leases.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"

struct worker {
    char host[256], place[96];
    long pid;
    long long started_ms;
};

/* Where a PID means one process: this boot of the machine (the start of
 * its boot id) and this PID namespace; "" when either is unknown. */
static void this_place(char *out, size_t size)
{
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f && !fgets(boot, sizeof boot, f))
        boot[0] = '\0';
    if (f)
        fclose(f);
    boot[strcspn(boot, "-\n")] = '\0';
    struct stat ns;
    if (boot[0] && stat("/proc/self/ns/pid", &ns) == 0)
        snprintf(out, size, "%s.%lu", boot, (unsigned long)ns.st_ino);
    else
        out[0] = '\0';
}

static bool parse_worker(const char *name, struct worker *w)
{
    w->place[0] = '\0';
    return sscanf(name, "%255[^:]:%ld:%lld:%95s", w->host, &w->pid,
                  &w->started_ms, w->place) >= 3;
}

/* Whether `owner` was a process of this host, boot and PID namespace that
 * is gone: its leases need not be waited out. */
static bool gone_from_here(const char *owner)
{
    struct worker me, them;
    if (!parse_worker(worker_name(), &me) || !parse_worker(owner, &them) ||
        !me.place[0] || strcmp(me.host, them.host) != 0 ||
        strcmp(me.place, them.place) != 0)
        return false;
    if (them.pid == me.pid) /* this PID, another start: an earlier life */
        return them.started_ms != me.started_ms;
    return kill((pid_t)them.pid, 0) < 0 && errno == ESRCH;
}

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

/* Takes over the lease from `dead` (gone_from_here) unless another worker
 * did first. */
static int take_from_gone(struct store *s, const char *name, const char *owner,
                          const char *dead, int64_t ttl_ms, bool *held,
                          struct error *err)
{
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(owner), DBV_INT(ttl_ms),
                           DBV_TEXT(dead)};
    if (claim(s,
              "UPDATE leases SET owner = $2, expires_at = {{now}} + $3 WHERE "
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
    if (claim(s,
              "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, "
              "{{now}} + $3) ON CONFLICT (name) DO UPDATE SET owner = "
              "excluded.owner, expires_at = excluded.expires_at WHERE "
              "leases.owner = excluded.owner OR leases.expires_at < {{now}}",
              p, 3, held, err) < 0)
        return -1;
    if (*held)
        return 0;
    struct db_result r;
    struct db_value q = DBV_TEXT(name);
    if (store_exec(s, "SELECT owner FROM leases WHERE name = $1", &q, 1, &r,
                   err) < 0)
        return -1;
    char *dead = r.rows && gone_from_here(db_text(&r, 0, 0))
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
    if (store_exec(s,
                   "SELECT owner, expires_at - {{now}} FROM leases WHERE name "
                   "= $1 AND expires_at >= {{now}}",
                   &p, 1, &r, err) < 0)
        return -1;
    bool live = r.rows && !gone_from_here(db_text(&r, 0, 0));
    *owner = live ? xstrdup(db_text(&r, 0, 0)) : NULL;
    if (expires_in_ms)
        *expires_in_ms = live ? db_int(&r, 0, 1) : 0;
    db_result_free(&r);
    return 0;
}

/* The name, built once for the process: the maintenance loop and every
 * pipe's thread ask for it first at the same time. */
static char the_worker_name[512]; /* host, two numbers, place */

static void name_worker(void)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    char place[96];
    this_place(place, sizeof place);
    snprintf(the_worker_name, sizeof the_worker_name, "%s:%ld:%lld:%s", host,
             (long)getpid(), (long long)clock_now_ms(), place);
}

const char *worker_name(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, name_worker);
    return the_worker_name;
}

void worker_shown(const char *name, char *out, size_t size)
{
    struct worker w;
    if (parse_worker(name, &w))
        snprintf(out, size, "%s pid %ld", w.host, w.pid);
    else
        snprintf(out, size, "%s", name);
}

char *pipe_lease_name(const char *pipe)
{
    return xasprintf("pipe:%s", pipe);
}
