/* cmd_pipes.c: operator requests from the command line: sluice pause |
 * resume | resync PIPE, sluice tables add | remove PIPE TABLE..., sluice
 * pipe delete PIPE.
 *
 * Each is recorded in the store (or refused at once, naming the pipe's
 * state) and carried out by the worker that runs the pipe. When no worker
 * holds the pipe, what needs no plugin (pause, resume, delete) is carried
 * out here at once: otherwise a pipe nobody runs could never be paused,
 * and so never have its settings changed. */
#include <stdio.h>
#include <stdlib.h>

#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../store/leases.h"
#include "../util/clock.h"
#include "../util/mem.h"
#include "../util/units.h"
#include "cli.h"

#define CLI_LEASE_MS 30000

/* Carries out, in order, the pending requests of a pipe nobody runs, up
 * to the first that needs a worker. Returns whether it held the pipe. */
static bool carry_out_here(struct store *s, const char *pipe)
{
    char *lease = pipe_lease_name(pipe);
    bool held = false, deleted = false;
    struct error err;
    if (lease_acquire(s, lease, worker_name(), CLI_LEASE_MS, &held, &err) <
            0 ||
        !held) {
        free(lease);
        return false;
    }
    for (;;) {
        struct request_taken t;
        int rc = request_take(s, pipe, true, &t, &err);
        if (rc < 0 && t.id)
            cli_error(EXIT_RUNTIME, "carrying out request %lld: %s",
                      (long long)t.id, err.message);
        deleted = rc == 0 && t.id && t.kind == REQUEST_DELETE;
        if (rc < 0 || !t.id || deleted)
            break;
    }
    if (!deleted)
        lease_release(s, lease, worker_name(), &err);
    free(lease);
    return true;
}

/* Polls until the request is over; EXIT_OK when done. */
static int wait_for(struct store *s, int64_t id, int64_t timeout_ms)
{
    int64_t deadline = clock_monotonic_ms() + timeout_ms;
    for (;;) {
        struct request req;
        bool found;
        struct error err;
        if (request_get(s, id, &req, &found, &err) < 0)
            return cli_error(EXIT_RUNTIME, "%s", err.message);
        if (!found)
            return EXIT_OK; /* the pipe was deleted, requests and all */
        bool over = strcmp(req.status, REQUEST_PENDING) != 0 &&
                    strcmp(req.status, REQUEST_IN_PROGRESS) != 0;
        int status =
            strcmp(req.status, REQUEST_DONE) == 0 ? EXIT_OK : EXIT_RUNTIME;
        if (over && status != EXIT_OK)
            fprintf(stderr, "request %lld %s: %s\n", (long long)id, req.status,
                    cli_shown(req.message));
        request_free(&req);
        if (over)
            return status;
        if (clock_monotonic_ms() > deadline) {
            fprintf(stderr,
                    "request %lld is not done after waiting; it "
                    "stays recorded\n",
                    (long long)id);
            return EXIT_RUNTIME;
        }
        sleep_ms(200);
    }
}

static void report(struct store *s, const char *pipe, int64_t id,
                   enum request_kind kind, bool here)
{
    printf("pipe '%s': %s requested (request %lld)\n", pipe,
           request_kind_name(kind), (long long)id);
    struct request req;
    bool found;
    struct error err;
    if (request_get(s, id, &req, &found, &err) < 0)
        return;
    if (!found) {
        printf("pipe '%s' deleted; its destination tables are kept\n", pipe);
        return;
    }
    if (strcmp(req.status, REQUEST_DONE) == 0) {
        struct pipe_row row;
        bool pipe_found;
        if (pipe_load(s, pipe, &row, &pipe_found, &err) == 0 && pipe_found) {
            printf("done: pipe '%s' is %s (no worker was running it)\n", pipe,
                   pipe_state_name(row.state));
            pipe_row_free(&row);
        }
    } else if (strcmp(req.status, REQUEST_REFUSED) == 0) {
        printf("refused: %s\n", cli_shown(req.message));
    } else if (here) {
        printf("no worker runs pipe '%s' now: 'sluice run' will carry the "
               "request out\n",
               pipe);
    } else {
        char *owner = NULL, shown[400] = "?";
        char *lease = pipe_lease_name(pipe);
        lease_holder(s, lease, &owner, NULL, &err);
        if (owner)
            worker_shown(owner, shown, sizeof shown);
        printf("the worker running it (%s) carries it out within one sync "
               "interval\n",
               cli_shown(shown));
        free(owner);
        free(lease);
    }
    request_free(&req);
}

/* The pipe and the tables the request names exist: a wrong name is bad
 * usage (EXIT_USAGE), known before anything is recorded; what the pipe's
 * state refuses is left to request_submit. */
static int check_names(struct store *s, const char *pipe,
                       enum request_kind kind, char **tables, size_t count)
{
    struct pipe_row row;
    struct error err;
    int status = cli_pipe(s, pipe, &row);
    if (status != EXIT_OK)
        return status;
    status = request_check_names(&row, kind, (const char *const *)tables,
                                 count, &err) < 0
                 ? cli_error(EXIT_USAGE, "%s", err.message)
                 : EXIT_OK;
    pipe_row_free(&row);
    return status;
}

static int submit(const struct command *cmd, int argc, char **argv,
                  enum request_kind kind)
{
    struct store_flags sf = {0};
    const char *timeout = NULL;
    bool wait = false, drop = false;
    struct flag flags[] = {STORE_FLAGS(sf), FLAG("--wait", &wait),
                           OPTION("--timeout", &timeout),
                           FLAG("--drop-destination", &drop)};
    /* only tables remove takes the last */
    size_t nflags =
               sizeof flags / sizeof *flags - (kind != REQUEST_TABLES_REMOVE),
           npos;
    int status = cli_args(cmd, argc, argv, flags, nflags, ARGS_ANY, &npos);
    if (status != CLI_GO_ON)
        return status;
    bool with_tables =
        kind == REQUEST_TABLES_ADD || kind == REQUEST_TABLES_REMOVE;
    int64_t timeout_ms = 600000, id;
    struct error err;
    struct store *s;
    if (npos < 1 || (with_tables && npos < 2) || (!with_tables && npos > 1))
        return cli_usage_error(cmd, with_tables ? "give a pipe and tables"
                                                : "give one pipe");
    if (timeout && parse_duration(timeout, &timeout_ms, &err) < 0)
        return cli_usage_error(cmd, "--timeout: %s", err.message);
    if ((status = cli_open_store(&sf, STORE_WRITE, &s)) != EXIT_OK)
        return status;
    const char *pipe = argv[0];
    if ((status = check_names(s, pipe, kind, argv + 1, npos - 1)) != EXIT_OK)
        return status;
    if (request_submit(s, pipe, kind, (const char *const *)argv + 1, npos - 1,
                       drop, &id, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    bool here = carry_out_here(s, pipe);
    report(s, pipe, id, kind, here);
    return wait ? wait_for(s, id, timeout_ms) : EXIT_OK;
}

int cmd_pause(const struct command *cmd, int argc, char **argv)
{
    return submit(cmd, argc, argv, REQUEST_PAUSE);
}

int cmd_resume(const struct command *cmd, int argc, char **argv)
{
    return submit(cmd, argc, argv, REQUEST_RESUME);
}

int cmd_resync(const struct command *cmd, int argc, char **argv)
{
    return submit(cmd, argc, argv, REQUEST_RESYNC);
}

int cmd_tables_add(const struct command *cmd, int argc, char **argv)
{
    return submit(cmd, argc, argv, REQUEST_TABLES_ADD);
}

int cmd_tables_remove(const struct command *cmd, int argc, char **argv)
{
    return submit(cmd, argc, argv, REQUEST_TABLES_REMOVE);
}

int cmd_pipe_delete(const struct command *cmd, int argc, char **argv)
{
    return submit(cmd, argc, argv, REQUEST_DELETE);
}
