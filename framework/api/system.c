/* system.c: the API's maintenance, plugins and session (routes.h). */
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "../util/units.h"
#include "body.h"
#include "routes.h"

static int newest_first(const void *a, const void *b)
{
    const struct system_event_info *x = a, *y = b;
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

void route_reports(struct call *c)
{
    int64_t limit;
    if (!call_int_param(c, "limit", 20, 1, 1000, &limit))
        return;
    struct system_event_info *e;
    size_t n;
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (hub_system_events(c->s, INT64_MIN, &e, &n, &r.err) < 0) {
        call_failed(c, &r);
        return;
    }
    qsort(e, n, sizeof *e, newest_first);
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_open_array(&j, "reports");
    int64_t shown = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n && shown < limit; i++) {
        struct maintenance_report rep;
        if (strcmp(e[i].kind, "maintenance") != 0)
            continue;
        ok = control_report_load(c->s, e[i].id, &rep, &r) == 0;
        if (ok) {
            control_report_json(&rep, &j);
            shown++;
        }
        maintenance_report_free(&rep);
    }
    json_close_array(&j);
    json_close_object(&j);
    system_events_free(e, n);
    if (!ok)
        call_failed(c, &r);
}

void route_report(struct call *c)
{
    int64_t id;
    struct maintenance_report rep = {0};
    struct control_result r;
    if (parse_int(c->arg[0], &id, &r.err) < 0 || id <= 0) {
        api_error(c->out, 404, "event %.40s is not a maintenance run",
                  c->arg[0]);
        return;
    }
    if (control_report_load(c->s, id, &rep, &r) < 0) {
        call_failed(c, &r);
    } else {
        struct json j = call_json(c, 200);
        control_report_json(&rep, &j);
    }
    maintenance_report_free(&rep);
}

void route_maintenance_run(struct call *c)
{
    const char *as_of = NULL;
    bool dry_run = false;
    struct body_field fields[] = {{"as_of", BODY_STRING, &as_of, NULL},
                                  {"dry_run", BODY_BOOL, &dry_run, NULL}};
    struct body b;
    int64_t as_of_ms = clock_now_ms();
    struct control_result r = {.outcome = CONTROL_FAILED};
    if (!call_body(c, fields, 2, &b)) {
        body_free(&b);
        return;
    }
    if (as_of && parse_utc(as_of, &as_of_ms, &r.err) < 0) {
        api_error(c->out, 400, "body: field 'as_of': %s", r.err.message);
        body_free(&b);
        return;
    }
    body_free(&b);
    struct maintenance_report rep = {0};
    if (maintenance_run(c->s, c->ctx->reg, c->ctx->cfg, as_of_ms, dry_run,
                        &rep, &r.err) < 0) {
        call_failed(c, &r);
    } else {
        struct json j = call_json(c, 200);
        control_report_json(&rep, &j);
    }
    maintenance_report_free(&rep);
}

void route_plugins(struct call *c)
{
    struct json j = call_json(c, 200);
    control_plugins_json(c->ctx->reg, &j);
}

void route_plugin(struct call *c)
{
    const struct plugin *p = registry_find(c->ctx->reg, c->arg[0]);
    if (!p) {
        api_error(c->out, 404, "there is no plugin named '%s'", c->arg[0]);
        return;
    }
    struct json j = call_json(c, 200);
    control_plugin_json(p, &j);
}

void route_session(struct call *c)
{
    static const char *const names[] = {[API_ACCESS_NONE] = "none",
                                        [API_ACCESS_READ] = "read",
                                        [API_ACCESS_FULL] = "full"};
    struct json j = call_json(c, 200);
    json_open_object(&j, NULL);
    json_add_string(&j, "access", names[c->req->access]);
    json_add_bool(&j, "read_open", c->ctx->read_open);
    json_close_object(&j);
}
