/* hub.c: the API's topics, subscriptions and events (routes.h). */
#include <string.h>

#include "../util/clock.h"
#include "body.h"
#include "routes.h"

void route_topics(struct call *c)
{
    struct topic *t;
    size_t n;
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (topic_list(c->s, &t, &n, &r.err) < 0) {
        call_failed(c, &r);
        return;
    }
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_open_array(&j, "topics");
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        struct control_topic_counts counts;
        ok = control_topic_count(c->s, t[i].name, &counts, &r) == 0;
        if (ok)
            control_topic_summary_json(&t[i], &counts, &j);
    }
    json_close_array(&j);
    json_close_object(&j);
    topics_free(t, n);
    if (!ok)
        call_failed(c, &r);
}

void route_topic(struct call *c)
{
    struct control_result r;
    struct json j = call_json(c, 200);
    if (control_topic_json(c->s, c->arg[0], &j, &r) < 0)
        call_failed(c, &r);
}

void route_subscriptions(struct call *c)
{
    struct subscription *subs;
    size_t n;
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (subscription_list(c->s, &subs, &n, &r.err) < 0) {
        call_failed(c, &r);
        return;
    }
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_open_array(&j, "subscriptions");
    for (size_t i = 0; i < n; i++)
        control_subscription_json(&subs[i], &j);
    json_close_array(&j);
    json_close_object(&j);
    subscriptions_free(subs, n);
}

void route_subscription(struct call *c)
{
    struct subscription sub;
    bool found;
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (subscription_get(c->s, c->arg[0], &sub, &found, &r.err) < 0) {
        call_failed(c, &r);
        return;
    }
    if (!found) {
        api_error(c->out, 404, "there is no subscription named '%s'",
                  c->arg[0]);
        return;
    }
    struct json j = call_json(c, 200);
    control_subscription_json(&sub, &j);
    subscription_free(&sub);
}

static void set_paused(struct call *c, bool paused)
{
    struct control_result r;
    struct body b;
    bool read = call_body(c, NULL, 0, &b);
    body_free(&b);
    if (!read)
        return;
    if (control_subscription_pause(c->s, c->arg[0], paused, &r) < 0)
        call_failed(c, &r);
    else
        route_subscription(c);
}

void route_subscription_pause(struct call *c)
{
    set_paused(c, true);
}

void route_subscription_resume(struct call *c)
{
    set_paused(c, false);
}

void route_events(struct call *c)
{
    const char *topic = call_param(c, "topic"),
               *since = call_param(c, "since"),
               *after = call_param(c, "after");
    int64_t limit, since_ms = INT64_MIN;
    struct control_result r;
    if (!call_int_param(c, "limit", 100, 1, 1000, &limit))
        return;
    if (since && parse_utc(since, &since_ms, &r.err) < 0) {
        api_error(c->out, 400, "query parameter since: %s", r.err.message);
        return;
    }
    struct control_events *ev;
    if (control_events_open(c->s, topic, since_ms, after, &ev, &r) < 0) {
        if (r.outcome == CONTROL_BAD) /* the cursor */
            control_fail(&r, CONTROL_BAD, "query parameter after: %s",
                         r.err.message);
        call_failed(c, &r);
        return;
    }
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_open_array(&j, "events");
    struct control_event e;
    char cursor[96] = "";
    int rc = 0;
    int64_t n = 0;
    while (n < limit && (rc = control_events_next(ev, &e, &r.err)) == 1) {
        control_event_json(&e, &j);
        control_event_cursor(&e, cursor, sizeof cursor);
        n++;
    }
    /* one more tells whether there is a next page */
    if (rc >= 0 && n == limit)
        rc = control_events_next(ev, &e, &r.err);
    json_close_array(&j);
    json_add_string(&j, "next", rc == 1 ? cursor : NULL);
    json_close_object(&j);
    control_events_close(ev);
    if (rc < 0) {
        r.outcome = CONTROL_FAILED;
        call_failed(c, &r);
    }
}
