/* test_api.c: the control API apart from the wire and the store: who a
 * token lets in, bodies read against an endpoint's fields, and the
 * answers that need no store (routes, methods, access, path tricks, the
 * page's files, the session). */
#include <string.h>

#include "../test.h"
#include "api/api.h"
#include "api/body.h"

#define FULL "0123456789abcdef-full"
#define READ "0123456789abcdef-read"

static void tokens(void)
{
    struct api_tokens t = {FULL, READ, false};
    CHECK(api_access_of(&t, "Bearer " FULL) == API_ACCESS_FULL);
    CHECK(api_access_of(&t, "bearer " FULL) == API_ACCESS_FULL);
    CHECK(api_access_of(&t, "Bearer " READ) == API_ACCESS_READ);
    CHECK(api_access_of(&t, "Bearer " FULL "x") == API_ACCESS_NONE);
    CHECK(api_access_of(&t, "Bearer 0123456789abcdef") == API_ACCESS_NONE);
    CHECK(api_access_of(&t, "Bearer ") == API_ACCESS_NONE);
    CHECK(api_access_of(&t, "Basic " FULL) == API_ACCESS_NONE);
    CHECK(api_access_of(&t, NULL) == API_ACCESS_NONE);
    t.read_open = true;
    CHECK(api_access_of(&t, NULL) == API_ACCESS_READ);
    CHECK(api_access_of(&t, "Bearer wrong") == API_ACCESS_NONE);
    struct api_tokens none = {NULL, NULL, false};
    CHECK(api_access_of(&none, "Bearer ") == API_ACCESS_NONE);
}

static void bodies(void)
{
    const char *const *tables = NULL;
    size_t count = 0;
    bool drop = false;
    struct body_field fields[] = {{"tables", BODY_STRINGS, &tables, &count},
                                  {"drop_destination", BODY_BOOL, &drop,
                                   NULL}};
    struct body b;
    struct error err;
    const char *good =
        "{\"tables\": [\"a\", \"b\"], \"drop_destination\": true}";
    CHECK(body_parse(good, strlen(good), fields, 2, &b, &err) == 0);
    CHECK(count == 2 && !strcmp(tables[0], "a") && !strcmp(tables[1], "b"));
    CHECK(drop);
    body_free(&b);
    CHECK(body_parse(" \n", 2, fields, 2, &b, &err) == 0);
    body_free(&b);
    struct {
        const char *body, *message;
    } bad[] = {
        {"{\"tables\": [\"a\"], \"x\": 1}",
         "body: unknown field 'x' (known: tables, drop_destination)"},
        {"{\"tables\": \"a\"}",
         "body: field 'tables' must be an array of strings"},
        {"{\"tables\": [1]}",
         "body: field 'tables' must be an array of strings"},
        {"{\"drop_destination\": \"yes\"}",
         "body: field 'drop_destination' must be true or false"},
        {"[1, 2]", "the body is not a JSON object"},
        {"{\"tables\": [", "the body is not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(body_parse(bad[i].body, strlen(bad[i].body), fields, 2, &b,
                         &err) < 0);
        CHECK_CONTAINS(err.message, bad[i].message);
        body_free(&b);
    }
    CHECK(body_parse("{\"a\": 1}", 8, NULL, 0, &b, &err) < 0);
    CHECK_CONTAINS(err.message, "this request takes none");
    body_free(&b);
}

/* The answer to a request that needs no store. */
static unsigned ask(const char *method, const char *path,
                    enum api_access access, struct api_reply *r)
{
    struct api_context ctx = {NULL, NULL, false, NULL};
    struct api_request req = {method, path, NULL, 0, "", 0, access, false};
    CHECK(api_answer(&ctx, NULL, &req, r));
    buf_puts(&r->body, "");
    return r->status;
}

static void answers(void)
{
    struct api_reply r;
    CHECK(ask("GET", "/v1/nothing", API_ACCESS_FULL, &r) == 404);
    CHECK_CONTAINS(r.body.data, "{\"error\":{\"status\":404,");
    api_reply_free(&r);
    CHECK(ask("PUT", "/v1/pipes/x", API_ACCESS_FULL, &r) == 405);
    CHECK_STR(r.allow, "GET, DELETE");
    api_reply_free(&r);
    CHECK(ask("GET", "/v1/pipes/x/pause", API_ACCESS_FULL, &r) == 405);
    CHECK_STR(r.allow, "POST");
    api_reply_free(&r);
    CHECK(ask("GET", "/v1/pipes", API_ACCESS_NONE, &r) == 401);
    CHECK_STR(r.body.data, "{\"error\":{\"status\":401,\"message\":"
                           "\"unauthorized\"}}\n");
    CHECK(r.www_authenticate);
    api_reply_free(&r);
    CHECK(ask("POST", "/v1/pipes/x/pause", API_ACCESS_READ, &r) == 403);
    api_reply_free(&r);
    CHECK(ask("DELETE", "/v1/pipes/x", API_ACCESS_NONE, &r) == 401);
    api_reply_free(&r);
    /* reads open, no token: a change asks for one */
    struct api_context ctx = {NULL, NULL, true, NULL};
    struct api_request req = {"POST", "/v1/pipes/x/pause", NULL, 0, "",
                              0,      API_ACCESS_READ,     true};
    CHECK(api_answer(&ctx, NULL, &req, &r) && r.status == 401);
    api_reply_free(&r);
    const char *tricks[] = {"/v1/pipes/..", "/v1/pipes/../x", "/v1//pipes",
                            "/v1/pipes/./x", "/v1/pipes/"};
    for (size_t i = 0; i < sizeof tricks / sizeof *tricks; i++) {
        CHECK(ask("GET", tricks[i], API_ACCESS_FULL, &r) == 400);
        api_reply_free(&r);
    }
    CHECK(ask("GET", "/", API_ACCESS_NONE, &r) == 200);
    CHECK_CONTAINS(r.type, "text/html");
    api_reply_free(&r);
    CHECK(ask("GET", "/v1/openapi.json", API_ACCESS_NONE, &r) == 200);
    CHECK_CONTAINS(r.body.data, "\"openapi\"");
    api_reply_free(&r);
    CHECK(ask("POST", "/", API_ACCESS_FULL, &r) == 405);
    api_reply_free(&r);
    CHECK(ask("GET", "/v1/session", API_ACCESS_NONE, &r) == 200);
    CHECK_STR(r.body.data, "{\"access\":\"none\",\"read_open\":false}");
    api_reply_free(&r);
    CHECK(api_handles("/v1/pipes") && api_handles("/") &&
          !api_handles("/metrics") && !api_handles("/v10"));
}

int main(void)
{
    RUN(tokens);
    RUN(bodies);
    RUN(answers);
    return TEST_RESULT();
}
