/* cmd_pipes.c: operator requests from the command line: sluice pause |
 * resume | resync PIPE, sluice tables add | remove PIPE TABLE..., sluice
 * pipe delete PIPE.
 *
 * Each is made by control_request (control.h), as the API makes it:
 * recorded in the store (or refused at once, naming the pipe's state) and
 * carried out by the worker that runs the pipe, or here at once when no
 * worker holds it and it needs no plugin. This file says how it went. */
#include <stdio.h>
#include <stdlib.h>

#include "../control/control.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../store/leases.h"
#include "../util/clock.h"
#include "../util/mem.h"
#include "../util/units.h"
#include "cli.h"

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
        bool over = control_request_over(&req);
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

/* The exit status of what control_request refused, with its message:
 * a pipe or table that is not there is bad usage, known before anything
 * is recorded. */
static int refused(const struct control_result *r)
{
    return cli_error(r->outcome == CONTROL_NOT_FOUND ||
                             r->outcome == CONTROL_BAD
                         ? EXIT_USAGE
                         : EXIT_RUNTIME,
                     "%s", r->err.message);
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
    int64_t timeout_ms = 600000;
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
    struct control_request_made made;
    struct control_result r;
    if (control_request(s, pipe, kind, (const char *const *)argv + 1, npos - 1,
                        drop, &made, &r) < 0)
        return refused(&r);
    report(s, pipe, made.id, kind, made.carried_here);
    return wait ? wait_for(s, made.id, timeout_ms) : EXIT_OK;
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
