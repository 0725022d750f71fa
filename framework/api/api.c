/* api.c: the routes of the API and the page (api.h): which endpoint
 * answers a method and path, what access it needs, and the ways every
 * endpoint answers (routes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"
#include "../util/units.h"
#include "assets.h"
#include "body.h"
#include "routes.h"

/* A route: a method and a path whose "*" segments are the call's args. */
struct route {
    const char *method, *path;
    void (*fn)(struct call *c);
    enum api_access needs; /* what the token must allow */
};
#define R API_ACCESS_READ
#define W API_ACCESS_FULL

static const struct route routes[] = {
    {"GET", "/v1/session", route_session, API_ACCESS_NONE},
    {"GET", "/v1/pipes", route_pipes, R},
    {"GET", "/v1/pipes/*", route_pipe, R},
    {"DELETE", "/v1/pipes/*", route_pipe_delete, W},
    {"GET", "/v1/pipes/*/history", route_pipe_history, R},
    {"GET", "/v1/pipes/*/requests", route_pipe_requests, R},
    {"POST", "/v1/pipes/*/pause", route_pipe_pause, W},
    {"POST", "/v1/pipes/*/resume", route_pipe_resume, W},
    {"POST", "/v1/pipes/*/resync", route_pipe_resync, W},
    {"POST", "/v1/pipes/*/tables/add", route_pipe_tables_add, W},
    {"POST", "/v1/pipes/*/tables/remove", route_pipe_tables_remove, W},
    {"GET", "/v1/requests/*", route_request, R},
    {"GET", "/v1/topics", route_topics, R},
    {"GET", "/v1/topics/*", route_topic, R},
    {"GET", "/v1/subscriptions", route_subscriptions, R},
    {"GET", "/v1/subscriptions/*", route_subscription, R},
    {"POST", "/v1/subscriptions/*/pause", route_subscription_pause, W},
    {"POST", "/v1/subscriptions/*/resume", route_subscription_resume, W},
    {"GET", "/v1/events", route_events, R},
    {"GET", "/v1/maintenance/reports", route_reports, R},
    {"GET", "/v1/maintenance/reports/*", route_report, R},
    {"POST", "/v1/maintenance/run", route_maintenance_run, W},
    {"GET", "/v1/plugins", route_plugins, R},
    {"GET", "/v1/plugins/*", route_plugin, R},
};
#undef R
#undef W
#define ROUTE_COUNT (sizeof routes / sizeof *routes)

void api_reply_free(struct api_reply *r)
{
    buf_free(&r->body);
}

/* Whether the path matches the route's, one segment for each "*": the
 * segments it took are in args, cut out of `copy`. */
static bool match(const char *pattern, const char *path, const char **args,
                  char *copy, size_t size)
{
    if (strlen(path) >= size)
        return false;
    strcpy(copy, path);
    size_t nargs = 0;
    char *p = copy;
    const char *q = pattern;
    for (;;) {
        if (!*q || !*p)
            return *q == *p;
        if (*q != '/' || *p != '/')
            return false;
        q++, *p++ = '\0'; /* ends the segment before */
        size_t qlen = strcspn(q, "/"), plen = strcspn(p, "/");
        if (qlen == 1 && *q == '*') {
            if (!plen || nargs == 2)
                return false;
            args[nargs++] = p;
        } else if (qlen != plen || strncmp(q, p, qlen) != 0) {
            return false;
        }
        q += qlen, p += plen;
    }
}

bool api_handles(const char *path)
{
    return !strcmp(path, "/v1") || !strncmp(path, "/v1/", 4) ||
           asset_find(path) != NULL;
}

/* A path with a segment that tricks it: empty, "." or "..". */
static bool tricky(const char *path)
{
    for (const char *p = path; *p; p++) {
        if (*p != '/')
            continue;
        size_t len = strcspn(p + 1, "/");
        if (len == 0 || (len == 1 && p[1] == '.') ||
            (len == 2 && p[1] == '.' && p[2] == '.'))
            return true;
    }
    return false;
}

/* The files of the page and the document: no token needed, GET only. */
static bool answer_asset(const struct api_request *req, struct api_reply *out)
{
    const struct asset *a = asset_find(req->path);
    if (!a)
        return false;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        api_error(out, 405, "%s takes GET only", req->path);
        snprintf(out->allow, sizeof out->allow, "GET, HEAD");
        return true;
    }
    out->status = 200;
    out->type = a->type;
    buf_append(&out->body, a->data, a->size);
    return true;
}

bool api_answer(const struct api_context *ctx, struct store *s,
                const struct api_request *req, struct api_reply *out)
{
    memset(out, 0, sizeof *out);
    if (answer_asset(req, out))
        return true;
    if (tricky(req->path)) {
        api_error(out, 400, "the path %.200s has an empty, '.' or '..' part",
                  req->path);
        return true;
    }
    const char *method = strcmp(req->method, "HEAD") ? req->method : "GET";
    struct call c = {ctx, s, req, {NULL, NULL}, out, false};
    char copy[2048], allow[sizeof out->allow] = "";
    const struct route *found = NULL;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const char *args[2] = {NULL, NULL};
        if (!match(routes[i].path, req->path, args, copy, sizeof copy))
            continue;
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                 routes[i].method);
        if (!strcmp(routes[i].method, method) && !found) {
            found = &routes[i];
            c.arg[0] = args[0], c.arg[1] = args[1];
            break;
        }
    }
    if (!found && allow[0]) {
        api_error(out, 405, "%s does not take %.20s; it takes %s", req->path,
                  req->method, allow);
        snprintf(out->allow, sizeof out->allow, "%s", allow);
        return true;
    }
    if (!found) {
        api_error(out, 404,
                  "there is no endpoint %.200s (see /v1/openapi.json)",
                  req->path);
        return true;
    }
    if (req->access < found->needs &&
        (req->access == API_ACCESS_NONE || req->anonymous)) {
        api_error(out, 401, "unauthorized");
        out->www_authenticate = true;
        return true;
    }
    if (req->access < found->needs) {
        api_error(out, 403,
                  "this token may only read; %s %s needs the token of "
                  "api_token_file",
                  found->method, found->path);
        return true;
    }
    found->fn(&c);
    return !c.store_failed;
}
