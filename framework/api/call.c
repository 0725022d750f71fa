/* call.c: the ways an endpoint of the API answers (routes.h): its
 * query parameters and body read, its JSON, and every error in the one
 * shape of the API. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../util/units.h"
#include "body.h"
#include "routes.h"

void api_error(struct api_reply *out, unsigned status, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    buf_reset(&out->body);
    struct json j = JSON_INIT(&out->body);
    json_open_object(&j, NULL);
    json_open_object(&j, "error");
    json_add_int(&j, "status", status);
    json_add_string(&j, "message", message);
    json_close_object(&j);
    json_close_object(&j);
    buf_puts(&out->body, "\n");
    out->status = status;
    out->type = "application/json";
}

const char *call_param(const struct call *c, const char *key)
{
    for (size_t i = 0; i < c->req->param_count; i++)
        if (!strcmp(c->req->params[i].key, key))
            return c->req->params[i].value ? c->req->params[i].value : "";
    return NULL;
}

bool call_int_param(struct call *c, const char *key, int64_t fallback,
                    int64_t min, int64_t max, int64_t *out)
{
    const char *v = call_param(c, key);
    struct error err;
    *out = fallback;
    if (!v)
        return true;
    if (parse_int(v, out, &err) < 0 || *out < min || *out > max) {
        api_error(c->out, 400,
                  "query parameter %s: '%.40s' is not a whole number from "
                  "%lld to %lld",
                  key, v, (long long)min, (long long)max);
        return false;
    }
    return true;
}

struct json call_json(struct call *c, unsigned status)
{
    buf_reset(&c->out->body);
    c->out->status = status;
    c->out->type = "application/json";
    return (struct json)JSON_INIT(&c->out->body);
}

void call_failed(struct call *c, const struct control_result *r)
{
    static const unsigned status[] = {[CONTROL_OK] = 500,
                                      [CONTROL_NOT_FOUND] = 404,
                                      [CONTROL_BAD] = 400,
                                      [CONTROL_REFUSED] = 409,
                                      [CONTROL_FAILED] = 503};
    api_error(c->out, status[r->outcome], "%s", r->err.message);
    if (r->outcome == CONTROL_FAILED)
        c->store_failed = true;
    if (r->outcome == CONTROL_REFUSED && r->state) {
        /* the state, added to the error object */
        struct buf *b = &c->out->body;
        char *end = strstr(b->data, "}}");
        if (end) {
            b->len = (size_t)(end - b->data);
            b->data[b->len] = '\0';
            buf_puts(b, ",\"state\":");
            json_string(b, r->state);
            buf_puts(b, "}}\n");
        }
    }
}

bool call_body(struct call *c, const struct body_field *fields, size_t count,
               struct body *b)
{
    struct error err;
    if (body_parse(c->req->body, c->req->body_len, fields, count, b, &err) ==
        0)
        return true;
    api_error(c->out, 400, "%s", err.message);
    return false;
}
