/* store_helper.c: a test driver that plays the worker (the runtime comes
 * later) and the concurrent processes of the store tests.
 *
 *   store_helper URL register CONFIG        topics and pipes of CONFIG into
 *                                           the store, as sluice run does
 *   store_helper URL step PIPE WHAT [TEXT]  provisioned | setup_done |
 *                                           snapshot_done | resync_done |
 *                                           pause_done | modify_done |
 *                                           recover | fail TEXT | request
 *   store_helper URL hammer ID N PIPE       N rounds of writes, as one of
 *                                           several concurrent processes
 *   store_helper URL hold LEASE TTL_MS      takes a lease and makes
 *                                           progress under it until killed
 *   store_helper URL takeover LEASE TTL_MS  waits for the lease, then
 *                                           prints the progress it finds
 *   store_helper URL tick NOW WORKER        one maintenance tick at NOW
 *                                           (ISO 8601) as WORKER: prints
 *                                           "ran as of T" or "idle"; a
 *                                           failed run is an error
 *   store_helper URL crash KILL RESTART     writes in a transaction, runs
 *                                           the shell command KILL (the
 *                                           server goes away) before the
 *                                           commit, RESTART after, and
 *                                           checks that nothing was
 *                                           half-written
 * Exit status 0 on success; messages on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/command.h"
#include "cli/load.h"
#include "config/config.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/registration.h"
#include "lifecycle/requests.h"
#include "maintenance/maintenance.h"
#include "store/checkpoints.h"
#include "store/leases.h"
#include "util/clock.h"

static int fail(const struct error *err)
{
    fprintf(stderr, "store_helper: %s\n", err->message);
    return 1;
}

static int do_register(struct store *s, const char *path)
{
    struct config cfg;
    struct registry reg;
    struct diags d = {0};
    struct error err;
    int rc = 0;
    if (load_config_and_plugins(path, true, &cfg, &reg, &d, &err) < 0)
        rc = fail(&err);
    if (rc == 0 && !d.count)
        topics_register(s, &cfg, &d);
    for (size_t i = 0; rc == 0 && !d.count && i < cfg.pipe_count; i++)
        pipe_register(s, &cfg, &cfg.pipes[i], &d);
    if (d.count) {
        cli_print_diags(&d);
        rc = 1;
    }
    diags_free(&d);
    config_free(&cfg);
    registry_free(&reg);
    return rc;
}

static int do_step(struct store *s, const char *pipe, const char *what,
                   const char *text)
{
    static const struct {
        const char *name;
        int (*fn)(struct store *, const char *, struct error *);
    } steps[] = {{"provisioned", lifecycle_provisioned},
                 {"setup_done", lifecycle_setup_done},
                 {"snapshot_done", lifecycle_snapshot_done},
                 {"resync_done", lifecycle_resync_done},
                 {"pause_done", lifecycle_pause_done},
                 {"modify_done", lifecycle_modify_done},
                 {"recover", lifecycle_recover}};
    struct error err;
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (strcmp(what, steps[i].name) == 0)
            return steps[i].fn(s, pipe, &err) < 0 ? fail(&err) : 0;
    if (strcmp(what, "fail") == 0)
        return lifecycle_fail(s, pipe, text ? text : "failed", &err) < 0
                   ? fail(&err)
                   : 0;
    if (strcmp(what, "request") == 0) {
        struct request req;
        bool found;
        if (request_next(s, pipe, &req, &found, &err) < 0)
            return fail(&err);
        if (!found) {
            fprintf(stderr, "store_helper: no pending request\n");
            return 1;
        }
        int rc = request_start(s, &req, &err);
        request_free(&req);
        return rc == 0 ? 0 : fail(&err);
    }
    fprintf(stderr, "store_helper: unknown step '%s'\n", what);
    return 2;
}

/* Concurrent writers: every write must land, none twice. */
static int do_hammer(struct store *s, const char *id, int rounds,
                     const char *pipe)
{
    struct error err;
    for (int i = 1; i <= rounds; i++) {
        char pos[32];
        int n = snprintf(pos, sizeof pos, "%d", i);
        int64_t req;
        if (store_begin(s, &err) < 0 ||
            checkpoint_put(s, pipe, CHECKPOINT_CDC, id, 0, pos, (size_t)n,
                           false, &err) < 0 ||
            lifecycle_retry(s, pipe, id, &err) < 0) {
            store_rollback(s);
            return fail(&err);
        }
        if (store_commit(s, &err) < 0)
            return fail(&err);
        if (request_submit(s, pipe, REQUEST_RESYNC, NULL, 0, false, &req,
                           &err) < 0)
            return fail(&err);
    }
    return 0;
}

/* Progress under a lease: each step renews the lease and advances the
 * checkpoint in one transaction, then says so. */
static int do_hold(struct store *s, const char *lease, int64_t ttl)
{
    struct error err;
    bool held;
    if (lease_acquire(s, lease, worker_name(), ttl, &held, &err) < 0)
        return fail(&err);
    if (!held) {
        fprintf(stderr, "store_helper: lease %s is held\n", lease);
        return 1;
    }
    for (int i = 1;; i++) {
        char pos[32];
        int n = snprintf(pos, sizeof pos, "%d", i);
        if (store_begin(s, &err) < 0 ||
            lease_acquire(s, lease, worker_name(), ttl, &held, &err) < 0 ||
            !held ||
            checkpoint_put(s, "lease-test", CHECKPOINT_CDC, lease, 0, pos,
                           (size_t)n, false, &err) < 0) {
            store_rollback(s);
            return held ? fail(&err) : 1;
        }
        if (store_commit(s, &err) < 0)
            return fail(&err);
        printf("%d\n", i);
        fflush(stdout);
        sleep_ms(20);
    }
}

/* One attempt: prints "held" or "not held". */
static int do_try(struct store *s, const char *lease, int64_t ttl)
{
    struct error err;
    bool held;
    if (lease_acquire(s, lease, worker_name(), ttl, &held, &err) < 0)
        return fail(&err);
    printf("%s\n", held ? "held" : "not held");
    return 0;
}

static int do_takeover(struct store *s, const char *lease, int64_t ttl)
{
    struct error err;
    bool held = false;
    int64_t start = clock_monotonic_ms();
    while (!held) {
        if (lease_acquire(s, lease, worker_name(), ttl, &held, &err) < 0)
            return fail(&err);
        if (clock_monotonic_ms() - start > 30000) {
            fprintf(stderr, "store_helper: lease never expired\n");
            return 1;
        }
        if (!held)
            sleep_ms(50);
    }
    struct checkpoint c;
    bool found;
    if (checkpoint_get(s, "lease-test", CHECKPOINT_CDC, lease, 0, &c, &found,
                       &err) < 0)
        return fail(&err);
    printf("%s %lld\n", found ? c.position.data : "none",
           (long long)(clock_monotonic_ms() - start));
    if (found)
        checkpoint_free(&c);
    return 0;
}

static int do_crash(struct store *s, const char *kill_cmd,
                    const char *restart_cmd)
{
    struct error err;
    if (checkpoint_put(s, "crash", CHECKPOINT_CDC, "", 0, "before", 6, false,
                       &err) < 0)
        return fail(&err);
    if (store_begin(s, &err) < 0 ||
        checkpoint_put(s, "crash", CHECKPOINT_CDC, "", 0, "during", 6, false,
                       &err) < 0)
        return fail(&err);
    if (system(kill_cmd) != 0) {
        fprintf(stderr, "store_helper: '%s' failed\n", kill_cmd);
        return 1;
    }
    int rc = store_commit(s, &err);
    printf("commit: %s%s%s\n",
           rc == 0 ? "ok" : "failed: ", rc == 0 ? "" : err.message,
           rc == 0 ? "" : (err.transient ? " [transient]" : " [fatal]"));
    if (rc == 0)
        return 1;
    /* while the server is away, statements fail transiently */
    struct checkpoint c;
    bool found;
    rc = checkpoint_get(s, "crash", CHECKPOINT_CDC, "", 0, &c, &found, &err);
    printf("while away: %s%s\n",
           rc == 0 ? "ok" : "failed: ", rc == 0 ? "" : err.message);
    if (rc == 0 || !err.transient)
        return 1;
    if (system(restart_cmd) != 0) {
        fprintf(stderr, "store_helper: '%s' failed\n", restart_cmd);
        return 1;
    }
    if (checkpoint_get(s, "crash", CHECKPOINT_CDC, "", 0, &c, &found, &err) <
        0)
        return fail(&err);
    printf("after restart: %.*s\n", found ? (int)c.position.len : 4,
           found ? c.position.data : "none");
    if (found)
        checkpoint_free(&c);
    return 0;
}

static int do_tick(struct store *s, const char *now_text, const char *worker)
{
    struct error err;
    int64_t now;
    if (parse_utc(now_text, &now, &err) < 0)
        return fail(&err);
    struct config cfg;
    struct registry reg;
    struct diags d = {0};
    load_config_and_plugins(NULL, false, &cfg, &reg, &d, &err);
    bool ran = false;
    int rc = maintenance_tick(s, &reg, NULL, worker, 60000, now, &ran, &err);
    if (rc == 0 && ran) {
        char t[40];
        struct db_result r;
        rc = store_exec(s,
                        "SELECT as_of FROM system_events ORDER BY id DESC "
                        "LIMIT 1",
                        NULL, 0, &r, &err);
        if (rc == 0) {
            format_utc(db_int(&r, 0, 0), t, sizeof t);
            printf("ran as of %s\n", t);
            db_result_free(&r);
        }
    } else if (rc == 0) {
        printf("idle\n");
    }
    diags_free(&d);
    config_free(&cfg);
    registry_free(&reg);
    return rc < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: store_helper URL COMMAND ...\n");
        return 2;
    }
    struct store *s;
    struct error err;
    if (store_open(argv[1], STORE_CREATE, &s, &err) < 0)
        return fail(&err);
    const char *cmd = argv[2];
    int rc = 2;
    if (strcmp(cmd, "open") == 0 && argc == 3)
        rc = 0; /* opened (created, migrated) above */
    else if (strcmp(cmd, "register") == 0 && argc == 4)
        rc = do_register(s, argv[3]);
    else if (strcmp(cmd, "step") == 0 && argc >= 5)
        rc = do_step(s, argv[3], argv[4], argc > 5 ? argv[5] : NULL);
    else if (strcmp(cmd, "hammer") == 0 && argc == 6)
        rc = do_hammer(s, argv[3], atoi(argv[4]), argv[5]);
    else if (strcmp(cmd, "hold") == 0 && argc == 5)
        rc = do_hold(s, argv[3], atoll(argv[4]));
    else if (strcmp(cmd, "tick") == 0 && argc == 5)
        rc = do_tick(s, argv[3], argv[4]);
    else if (strcmp(cmd, "crash") == 0 && argc == 5)
        rc = do_crash(s, argv[3], argv[4]);
    else if (strcmp(cmd, "try") == 0 && argc == 5)
        rc = do_try(s, argv[3], atoll(argv[4]));
    else if (strcmp(cmd, "takeover") == 0 && argc == 5)
        rc = do_takeover(s, argv[3], atoll(argv[4]));
    else
        fprintf(stderr, "store_helper: bad command line\n");
    store_close(s);
    return rc;
}
