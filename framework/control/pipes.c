/* pipes.c: a pipe as an operator sees it (control.h): its status, its
 * history and its requests, as JSON; and control_fail, the one way a
 * control function says how it came out. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/leases.h"
#include "control.h"

int control_fail(struct control_result *r, enum control_outcome outcome,
                 const char *fmt, ...)
{
    r->outcome = outcome;
    r->state = NULL;
    char message[sizeof r->err.message]; /* fmt's args may be the message */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(r->err.message, message, sizeof message);
    return outcome == CONTROL_OK ? 0 : -1;
}

int control_pipe_load(struct store *s, const char *name, struct pipe_row *row,
                      struct control_result *r)
{
    bool found;
    if (pipe_load(s, name, row, &found, &r->err) < 0)
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    if (!found)
        return control_fail(r, CONTROL_NOT_FOUND,
                            "there is no pipe named '%s'", name);
    r->outcome = CONTROL_OK;
    return 0;
}

char *control_pipe_worker(struct store *s, const char *pipe, int64_t *expires)
{
    char *name = pipe_lease_name(pipe), *owner = NULL;
    int64_t left = 0;
    struct error err;
    lease_holder(s, name, &owner, &left, &err);
    free(name);
    if (expires)
        *expires = left;
    return owner;
}

struct control_deliveries control_pipe_deliveries(struct store *s,
                                                  const char *pipe)
{
    struct control_deliveries d = {-1, false};
    struct subscription sub;
    bool exists;
    struct error err;
    if (hub_backlog(s, pipe, &d.waiting, &err) < 0)
        d.waiting = -1;
    if (subscription_get(s, pipe, &sub, &exists, &err) == 0 && exists) {
        d.paused = sub.paused;
        subscription_free(&sub);
    }
    return d;
}

static void table_json(const struct pipe_row *p, const struct pipe_table *tb,
                       struct json *j)
{
    struct table_progress pr;
    pipe_table_progress(p, tb, &pr);
    json_open_object(j, NULL);
    json_add_string(j, "name", tb->name);
    json_add_string(j, "status", table_status_name(tb->status));
    json_add_int(j, "rows", tb->rows_copied);
    json_add_int(j, "rows_written", pr.rows);
    json_add_count(j, "rows_estimated", tb->rows_estimated);
    json_add_tenths(j, "percent", pr.permille); /* 33.3 */
    json_add_int(j, "bytes", tb->bytes_copied);
    json_add_int(j, "bytes_written", pr.bytes);
    json_add_int(j, "rows_per_s", tb->rows_per_s);
    json_add_count(j, "eta_s", pr.eta_s);
    json_add_count(j, "lag_ms", tb->lag_ms);
    json_add_string(j, "note", tb->note && tb->note[0] ? tb->note : NULL);
    json_close_object(j);
}

void control_pipe_json(struct store *s, const struct pipe_row *p,
                       size_t recent, struct json *j)
{
    char *worker = control_pipe_worker(s, p->name, NULL);
    struct control_deliveries d = control_pipe_deliveries(s, p->name);
    json_open_object(j, NULL);
    json_add_string(j, "name", p->name);
    json_add_string(j, "state", pipe_state_name(p->state));
    json_add_time(j, "since", p->state_since);
    json_add_string(j, "source", p->source);
    json_add_string(j, "sink", p->sink);
    json_add_string(j, "topic", p->topic);
    json_add_string(j, "mode", p->mode);
    json_add_string(j, "worker", worker);
    json_add_int(j, "retry_count", p->retry_count);
    json_add_int(j, "batches", p->batches);
    json_add_string(j, "last_error", p->last_error);
    json_add_int(j, "rows", pipe_rows(p, false));
    json_add_count(j, "lag_ms", pipe_lag_ms(p));
    json_add_int(j, "rows_written", pipe_rows(p, true));
    json_add_count(j, "waiting", d.waiting);
    json_add_bool(j, "subscription_paused", d.paused);
    json_open_array(j, "tables");
    for (size_t i = 0; i < p->table_count; i++)
        table_json(p, &p->tables[i], j);
    json_close_array(j);
    struct request *reqs;
    size_t n;
    struct error err;
    if (recent && requests_of(s, p->name, recent, &reqs, &n, &err) == 0) {
        json_open_array(j, "requests");
        for (size_t i = 0; i < n; i++)
            control_request_json(&reqs[i], j);
        json_close_array(j);
        requests_free(reqs, n);
    }
    json_close_object(j);
    free(worker);
}

void control_transition_json(const struct transition *t, struct json *j)
{
    json_open_object(j, NULL);
    json_add_time(j, "at", t->at);
    json_add_string(j, "from", t->from[0] ? t->from : NULL);
    json_add_string(j, "to", t->to);
    json_add_string(j, "reason", t->reason);
    json_close_object(j);
}

void control_request_json(const struct request *req, struct json *j)
{
    json_open_object(j, NULL);
    json_add_int(j, "id", req->id);
    json_add_string(j, "pipe", req->pipe);
    json_add_string(j, "kind", request_kind_name(req->kind));
    json_open_array(j, "tables");
    for (size_t i = 0; i < req->table_count; i++)
        json_add_string(j, NULL, req->tables[i]);
    json_close_array(j);
    json_add_bool(j, "drop_destination", req->drop_destination);
    json_add_string(j, "status", req->status);
    json_add_string(j, "message", req->message);
    json_add_time(j, "created_at", req->created_at);
    json_add_time(j, "updated_at", req->updated_at);
    json_close_object(j);
}
