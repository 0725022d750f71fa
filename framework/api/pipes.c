/* pipes.c: the API's pipes and operator requests (routes.h): status,
 * history and requests of each pipe, and pause, resume, resync, tables
 * add and remove, delete, each made by control_request as the CLI makes
 * it, answered 202 with the request to wait on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "../util/units.h"
#include "body.h"
#include "routes.h"

/* The longest a request is waited on (?wait=S). */
#define WAIT_MAX_S 60

/* Writes the pipe's requests, newest first, at most `limit`, as the
 * array `key`. */
static bool requests_json(struct call *c, const char *pipe, size_t limit,
                          const char *key, struct json *j)
{
    struct request *reqs;
    size_t n;
    struct control_result r;
    if (requests_of(c->s, pipe, limit, &reqs, &n, &r.err) < 0) {
        r.outcome = CONTROL_FAILED;
        call_failed(c, &r);
        return false;
    }
    json_open_array(j, key);
    for (size_t i = 0; i < n; i++)
        control_request_json(&reqs[i], j);
    json_close_array(j);
    requests_free(reqs, n);
    return true;
}

void route_pipes(struct call *c)
{
    char **names;
    size_t count;
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (pipe_names(c->s, &names, &count, &r.err) < 0) {
        call_failed(c, &r);
        return;
    }
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_open_array(&j, "pipes");
    bool ok = true;
    for (size_t i = 0; ok && i < count; i++) {
        struct pipe_row p;
        if (control_pipe_load(c->s, names[i], &p, &r) == 0) {
            control_pipe_json(c->s, &p, 0, &j);
            pipe_row_free(&p);
        } else if (r.outcome != CONTROL_NOT_FOUND) { /* not deleted since */
            ok = false;
        }
    }
    json_close_array(&j);
    json_close_object(&j);
    names_free(names, count);
    if (!ok)
        call_failed(c, &r);
}

void route_pipe(struct call *c)
{
    struct pipe_row p;
    struct control_result r;
    if (control_pipe_load(c->s, c->arg[0], &p, &r) < 0) {
        call_failed(c, &r);
        return;
    }
    struct json j = call_json(c, 200);
    control_pipe_json(c->s, &p, CONTROL_RECENT_REQUESTS, &j);
    pipe_row_free(&p);
}

void route_pipe_history(struct call *c)
{
    struct pipe_row p;
    struct control_result r;
    if (control_pipe_load(c->s, c->arg[0], &p, &r) < 0) {
        call_failed(c, &r);
        return;
    }
    pipe_row_free(&p);
    struct transition *t;
    size_t n;
    if (lifecycle_history(c->s, c->arg[0], &t, &n, &r.err) < 0) {
        r.outcome = CONTROL_FAILED;
        call_failed(c, &r);
        return;
    }
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_open_array(&j, "transitions");
    for (size_t i = 0; i < n; i++)
        control_transition_json(&t[i], &j);
    json_close_array(&j);
    json_close_object(&j);
    transitions_free(t, n);
}

void route_pipe_requests(struct call *c)
{
    int64_t limit;
    struct pipe_row p;
    struct control_result r;
    if (!call_int_param(c, "limit", 50, 1, 1000, &limit))
        return;
    if (control_pipe_load(c->s, c->arg[0], &p, &r) < 0) {
        call_failed(c, &r);
        return;
    }
    pipe_row_free(&p);
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    if (requests_json(c, c->arg[0], (size_t)limit, "requests", &j))
        json_close_object(&j);
}

/* Answers a request made: 202, the request as it is now, and where to
 * wait on it. A delete carried out at once took its request with it:
 * it is answered as done. */
static void answer_made(struct call *c, const char *pipe,
                        enum request_kind kind,
                        const struct control_request_made *made)
{
    struct request req;
    bool found;
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (request_get(c->s, made->id, &req, &found, &r.err) < 0) {
        call_failed(c, &r);
        return;
    }
    if (!found) {
        int64_t now = clock_now_ms();
        req = (struct request){.id = made->id,
                               .pipe = (char *)pipe,
                               .kind = kind,
                               .status = REQUEST_DONE,
                               .message = "",
                               .created_at = now,
                               .updated_at = now};
    }
    struct json j = call_json(c, 202);
    control_request_json(&req, &j);
    snprintf(c->out->location, sizeof c->out->location, "/v1/requests/%lld",
             (long long)made->id);
    if (found)
        request_free(&req);
}

/* Makes a request of the pipe with the tables and the flag given. */
static void make(struct call *c, enum request_kind kind,
                 const char *const *tables, size_t table_count, bool drop)
{
    struct control_request_made made;
    struct control_result r;
    if (control_request(c->s, c->arg[0], kind, tables, table_count, drop,
                        &made, &r) < 0)
        call_failed(c, &r);
    else
        answer_made(c, c->arg[0], kind, &made);
}

/* A request that takes no fields (pause, resume, resync, delete). */
static void make_plain(struct call *c, enum request_kind kind)
{
    struct body b;
    if (call_body(c, NULL, 0, &b))
        make(c, kind, NULL, 0, false);
    body_free(&b);
}

void route_pipe_pause(struct call *c)
{
    make_plain(c, REQUEST_PAUSE);
}

void route_pipe_resume(struct call *c)
{
    make_plain(c, REQUEST_RESUME);
}

void route_pipe_resync(struct call *c)
{
    make_plain(c, REQUEST_RESYNC);
}

void route_pipe_delete(struct call *c)
{
    make_plain(c, REQUEST_DELETE);
}

/* tables add and remove: {"tables": [...]}, and for remove
 * "drop_destination". */
static void make_tables(struct call *c, enum request_kind kind)
{
    const char *const *tables = NULL;
    size_t count = 0;
    bool drop = false;
    struct body_field fields[] = {{"tables", BODY_STRINGS, &tables, &count},
                                  {"drop_destination", BODY_BOOL, &drop,
                                   NULL}};
    size_t nfields = kind == REQUEST_TABLES_REMOVE ? 2 : 1;
    struct body b;
    if (call_body(c, fields, nfields, &b)) {
        if (!tables)
            api_error(c->out, 400,
                      "body: give the tables, {\"tables\": [\"NAME\", ...]}");
        else
            make(c, kind, tables, count, drop);
    }
    body_free(&b);
}

void route_pipe_tables_add(struct call *c)
{
    make_tables(c, REQUEST_TABLES_ADD);
}

void route_pipe_tables_remove(struct call *c)
{
    make_tables(c, REQUEST_TABLES_REMOVE);
}

void route_request(struct call *c)
{
    int64_t id, wait_s;
    struct error err;
    if (parse_int(c->arg[0], &id, &err) < 0 || id <= 0) {
        api_error(c->out, 404, "there is no request %.40s", c->arg[0]);
        return;
    }
    if (!call_int_param(c, "wait", 0, 0, WAIT_MAX_S, &wait_s))
        return;
    int64_t deadline = clock_monotonic_ms() + wait_s * 1000;
    for (;;) {
        struct request req;
        bool found;
        struct control_result r = {.outcome = CONTROL_FAILED};
        if (request_get(c->s, id, &req, &found, &r.err) < 0) {
            call_failed(c, &r);
            return;
        }
        if (!found) {
            api_error(c->out, 404,
                      "there is no request %lld (a deleted pipe's requests "
                      "go with it)",
                      (long long)id);
            return;
        }
        bool over = control_request_over(&req),
             stopping = c->ctx->stopping && atomic_load(c->ctx->stopping);
        if (over || stopping || clock_monotonic_ms() >= deadline) {
            struct json j = call_json(c, 200);
            control_request_json(&req, &j);
            request_free(&req);
            return;
        }
        request_free(&req);
        sleep_ms(100);
    }
}
