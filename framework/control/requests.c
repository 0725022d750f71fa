/* requests.c: an operator request of a pipe, from its checks to its
 * record (control.h): the one way the CLI and the API ask anything of a
 * pipe. */
#include <stdlib.h>
#include <string.h>

#include "../store/leases.h"
#include "../util/clock.h"
#include "control.h"

/* How long the lease lasts that a request carried out here holds. */
#define HERE_LEASE_MS 30000

/* Carries out, in order, the pending requests of a pipe nobody runs, up
 * to the first that needs a worker. Returns whether it held the pipe. A
 * request that fails here stays recorded with its reason. */
static bool carry_out_here(struct store *s, const char *pipe)
{
    char *lease = pipe_lease_name(pipe);
    bool held = false, deleted = false;
    struct error err;
    if (lease_acquire(s, lease, worker_name(), HERE_LEASE_MS, &held, &err) <
            0 ||
        !held) {
        free(lease);
        return false;
    }
    for (;;) {
        struct request_taken t;
        int rc = request_take(s, pipe, true, &t, &err);
        deleted = rc == 0 && t.id && t.kind == REQUEST_DELETE;
        if (rc < 0 || !t.id || deleted)
            break;
    }
    if (!deleted)
        lease_release(s, lease, worker_name(), &err);
    free(lease);
    return true;
}

int control_request(struct store *s, const char *pipe, enum request_kind kind,
                    const char *const *tables, size_t table_count,
                    bool drop_destination, struct control_request_made *made,
                    struct control_result *r)
{
    struct pipe_row row;
    *made = (struct control_request_made){0, false};
    if (control_pipe_load(s, pipe, &row, r) < 0)
        return -1;
    int rc = 0;
    if (request_check_names(&row, kind, tables, table_count, &r->err) < 0)
        rc = control_fail(r, CONTROL_BAD, "%s", r->err.message);
    else if (request_check(&row, kind, tables, table_count, &r->err) < 0) {
        rc = control_fail(r, CONTROL_REFUSED, "%s", r->err.message);
        r->state = pipe_state_name(row.state);
    }
    pipe_row_free(&row);
    if (rc < 0)
        return -1;
    if (request_submit(s, pipe, kind, tables, table_count, drop_destination,
                       &made->id, &r->err) < 0) {
        /* refused by a state the pipe moved to since it was loaded, or a
         * store error: the state, when the pipe can be read again */
        bool found = false;
        enum control_outcome outcome = CONTROL_FAILED;
        struct error again;
        if (pipe_load(s, pipe, &row, &found, &again) == 0 && found) {
            if (request_check(&row, kind, tables, table_count, &again) < 0)
                outcome = CONTROL_REFUSED;
            r->state = pipe_state_name(row.state);
            pipe_row_free(&row);
        }
        const char *state = r->state;
        control_fail(r, outcome, "%s", r->err.message);
        r->state = outcome == CONTROL_REFUSED ? state : NULL;
        return -1;
    }
    made->carried_here = carry_out_here(s, pipe);
    r->outcome = CONTROL_OK;
    return 0;
}

bool control_request_over(const struct request *req)
{
    return strcmp(req->status, REQUEST_PENDING) != 0 &&
           strcmp(req->status, REQUEST_IN_PROGRESS) != 0;
}
