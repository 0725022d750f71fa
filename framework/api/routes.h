/* routes.h: what the endpoints of the API share (api.c): the request
 * being answered, its path's variable parts, and the ways to answer. */
#ifndef SLUICE_API_ROUTES_H
#define SLUICE_API_ROUTES_H

#include "../control/control.h"
#include "../util/json.h"
#include "api.h"

/* One request being answered. */
struct call {
    const struct api_context *ctx;
    struct store *s;
    const struct api_request *req;
    const char *arg[2]; /* the path's variable segments, in order */
    struct api_reply *out;
    bool store_failed; /* the store failed: reopened for the next */
};

/* A query parameter's value; NULL when not given. */
const char *call_param(const struct call *c, const char *key);
/* An integer parameter from min to max, `fallback` when not given; false
 * (answered 400) when it is not one. */
bool call_int_param(struct call *c, const char *key, int64_t fallback,
                    int64_t min, int64_t max, int64_t *out);
/* Starts a JSON answer with `status`: the writer of its body. */
struct json call_json(struct call *c, unsigned status);
/* Answers what control.h said went wrong: 404, 400, 409 naming the
 * state, or 503 (the store failed). */
void call_failed(struct call *c, const struct control_result *r);
/* Reads the body into the fields; false (answered 400) when it cannot. */
struct body;
struct body_field;
bool call_body(struct call *c, const struct body_field *fields, size_t count,
               struct body *b);

/* The endpoints, each answering one route of api.c. */
void route_pipes(struct call *c);
void route_pipe(struct call *c);
void route_pipe_history(struct call *c);
void route_pipe_requests(struct call *c);
void route_pipe_pause(struct call *c);
void route_pipe_resume(struct call *c);
void route_pipe_resync(struct call *c);
void route_pipe_tables_add(struct call *c);
void route_pipe_tables_remove(struct call *c);
void route_pipe_delete(struct call *c);
void route_request(struct call *c);
void route_topics(struct call *c);
void route_topic(struct call *c);
void route_subscriptions(struct call *c);
void route_subscription(struct call *c);
void route_subscription_pause(struct call *c);
void route_subscription_resume(struct call *c);
void route_events(struct call *c);
void route_reports(struct call *c);
void route_report(struct call *c);
void route_maintenance_run(struct call *c);
void route_plugins(struct call *c);
void route_plugin(struct call *c);
void route_session(struct call *c);

#endif
