/* api.h: the control API, /v1 (docs/api.md, docs/openapi.json), and the
 * files of the status page: what each request of the HTTP service
 * (runtime/service.c) under / and /v1 is answered, apart from how it came
 * over the wire. Every read and change is one of control.h, the same the
 * command line carries out; every error is one JSON shape,
 * {"error": {"status": 409, "message": "...", "state": "paused"}}. */
#ifndef SLUICE_API_API_H
#define SLUICE_API_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../config/config.h"
#include "../plugin/plugin.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/error.h"

/* What a request may do: by the token it sent (access.c). */
enum api_access { API_ACCESS_NONE, API_ACCESS_READ, API_ACCESS_FULL };

/* The tokens, read from [service]'s files at the start. */
struct api_tokens {
    char *full, *read; /* NULL: not set */
    bool read_open;
};

/* Whether the settings turn the API and the page on. */
bool api_enabled(const struct service_settings *settings);
/* Reads the token files: each must be there, not readable by others, and
 * hold a token on its first line. */
int api_tokens_load(const struct service_settings *settings,
                    struct api_tokens *out, struct error *err);
void api_tokens_free(struct api_tokens *t);
/* The access of a request's Authorization header (NULL: none), compared
 * in constant time. No header gives read access when reads are open; a
 * wrong token gives none. */
enum api_access api_access_of(const struct api_tokens *t,
                              const char *authorization);

/* A query parameter, decoded. */
struct api_param {
    const char *key, *value;
};

/* A request: its method, its path (decoded), its query, its body, and
 * what its token lets it do. Borrowed for the call. */
struct api_request {
    const char *method, *path;
    const struct api_param *params;
    size_t param_count;
    const char *body;
    size_t body_len;
    enum api_access access;
    bool anonymous; /* it sent no token (read access, if any, is open) */
};

/* The answer: its status, its body and the type of it, and the headers
 * some answers have. Owned by the caller: api_reply_free. */
struct api_reply {
    unsigned status;
    struct buf body;
    const char *type;      /* static */
    char location[64];     /* "": none */
    char allow[64];        /* a 405's methods; "": none */
    bool www_authenticate; /* a 401's challenge */
};
void api_reply_free(struct api_reply *r);

/* What the API reads besides the store: the running config and the
 * plugins it found, both borrowed for the API's life. */
struct api_context {
    const struct config *cfg;
    const struct registry *reg;
    bool read_open;              /* [service] api_read_open */
    const atomic_bool *stopping; /* set when the service stops: a wait
                                    ends; NULL: never */
};

/* Whether the path is the API's or the page's (the service answers the
 * rest itself). */
bool api_handles(const char *path);
/* Answers a request with the store given (a connection of the caller's,
 * used by one request at a time). Returns false when the store failed,
 * so that the caller opens it again for the next request. */
bool api_answer(const struct api_context *ctx, struct store *s,
                const struct api_request *req, struct api_reply *out);
/* An error answer in the API's shape. */
void api_error(struct api_reply *out, unsigned status, const char *fmt, ...)
    SLUICE_PRINTF(3, 4);

/* Most bytes of a request's body. */
#define API_BODY_MAX 65536

#endif
