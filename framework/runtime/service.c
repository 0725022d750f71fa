/* service.c: the HTTP service of sluice run (see service.h), served by
 * libmicrohttpd with a thread per connection: /metrics and /health from
 * the view of the pipes (view.h, prometheus.c, health.c), and the control
 * API and status page (api.h) when [service] turns them on. This file
 * owns what comes over the wire: the body read up to its limit, the
 * token, TLS, and a small pool of store connections the requests share. */
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "health.h"
#include "prometheus.h"

/* Store connections kept for the next requests. */
#define POOL_MAX 4
/* Connections served at once, and the seconds an idle or slow one is
 * given before it is closed. */
#define CONNECTIONS_MAX 64
#define CONNECTIONS_PER_HOST_MAX 32
#define CONNECTION_TIMEOUT_S 15
/* Bytes of a body past API_BODY_MAX read (and dropped) before its 413,
 * when its length was not said first; past them the connection is cut. */
#define DISCARD_MAX (16u << 20)
/* Query parameters a request may have. */
#define PARAMS_MAX 16

struct service {
    struct MHD_Daemon *daemon;
    char *listen; /* HOST:PORT, as [service] http_listen says */
    char *store_url;
    const char *const *pipes;
    size_t count;
    struct health_limits limits;
    bool api;      /* the API and the page are on */
    bool loopback; /* it listens on a loopback address only */
    atomic_bool stopping;
    struct api_tokens tokens;
    struct api_context context;
    char *tls_cert, *tls_key; /* PEM, read at the start; NULL: plain */
    pthread_mutex_t pool_lock;
    struct store *pool[POOL_MAX];
    size_t pooled;
};

/* A store connection for one request: one kept, or opened now, with the
 * intent of the pipes' threads, so that it fails when theirs do (the
 * store deleted, or no longer writable). */
static struct store *store_take(struct service *svc, struct error *err)
{
    pthread_mutex_lock(&svc->pool_lock);
    struct store *s = svc->pooled ? svc->pool[--svc->pooled] : NULL;
    pthread_mutex_unlock(&svc->pool_lock);
    if (!s && store_open(svc->store_url, STORE_WRITE, &s, err) < 0)
        return NULL;
    return s;
}

/* Gives the connection back; closed when it failed (opened anew for the
 * next request) or when the pool is full. */
static void store_give(struct service *svc, struct store *s, bool ok)
{
    if (!s)
        return;
    pthread_mutex_lock(&svc->pool_lock);
    if (ok && svc->pooled < POOL_MAX) {
        svc->pool[svc->pooled++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&svc->pool_lock);
    store_close(s);
}

/* /metrics or /health: the view of the pipes, written by `page`. */
static unsigned view_page(struct service *svc, bool metrics, struct buf *b)
{
    struct view v;
    struct error err;
    int64_t now = clock_now_ms();
    struct store *s = store_take(svc, &err);
    if (s)
        view_load(s, svc->pipes, svc->count, now, &v);
    else
        view_unavailable(svc->pipes, svc->count, now, err.message, &v);
    store_give(svc, s, v.store_ok);
    unsigned code = MHD_HTTP_OK;
    if (metrics)
        prometheus_page(&v, b);
    else if (health_page(&v, &svc->limits, b) == HEALTH_FAILING)
        code = MHD_HTTP_SERVICE_UNAVAILABLE;
    view_free(&v);
    return code;
}

/* What a connection's request has so far: its body, up to the limit. */
struct upload {
    struct buf body;
    bool too_large;
    size_t discarded; /* bytes read past the limit */
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    (void)kind;
    struct api_request *req = cls;
    if (req->param_count == PARAMS_MAX)
        return MHD_NO;
    ((struct api_param *)req->params)[req->param_count++] =
        (struct api_param){key, value};
    return MHD_YES;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn,
                                  struct api_reply *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->body.len,
                                        r->body.data ? r->body.data
                                                     : (char *)"",
                                        MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->type ? r->type : "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'");
    if (r->location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer");
    enum MHD_Result ok = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    api_reply_free(r);
    return ok;
}

/* /metrics, /health, or what else there is when the API is off. */
static void answer_own(struct service *svc, const char *url,
                       const char *method, struct api_reply *r)
{
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (get && !strcmp(url, "/metrics")) {
        r->status = view_page(svc, true, &r->body);
        r->type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (get && !strcmp(url, "/health")) {
        r->status = view_page(svc, false, &r->body);
        r->type = "application/json";
    } else if (!strcmp(url, "/metrics") || !strcmp(url, "/health")) {
        r->status = MHD_HTTP_METHOD_NOT_ALLOWED;
        snprintf(r->allow, sizeof r->allow, "GET, HEAD");
        buf_puts(&r->body, "only GET\n");
    } else if (api_handles(url)) {
        api_error(r, MHD_HTTP_NOT_FOUND,
                  "the control API and the status page are off: set "
                  "[service] api_token_file (or api_read_token_file, or "
                  "api_read_open) to turn them on");
    } else {
        r->status = MHD_HTTP_NOT_FOUND;
        buf_printf(&r->body,
                   "no such page: %.200s (there are /metrics and "
                   "/health%s)\n",
                   url, svc->api ? ", / and /v1" : "");
    }
}

/* The API's answer, with a store connection of the pool. */
static void answer_api(struct service *svc, struct MHD_Connection *conn,
                       const char *url, const char *method,
                       const struct upload *up, struct api_reply *r)
{
    struct api_param params[PARAMS_MAX];
    const char *token =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_AUTHORIZATION);
    struct api_request req = {.method = method,
                              .path = url,
                              .params = params,
                              .body = up->body.data ? up->body.data : "",
                              .body_len = up->body.len,
                              .access = api_access_of(&svc->tokens, token),
                              .anonymous = token == NULL};
    if (MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) >
        PARAMS_MAX) {
        api_error(r, MHD_HTTP_BAD_REQUEST, "more than %d query parameters",
                  PARAMS_MAX);
        return;
    }
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param,
                              &req);
    struct error err;
    struct store *s = store_take(svc, &err);
    if (!s) {
        api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                  "the store is unavailable: %s", err.message);
        return;
    }
    store_give(svc, s, api_answer(&svc->context, s, &req, r));
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *data_size, void **state)
{
    (void)version;
    struct service *svc = cls;
    struct upload *up = *state;
    struct api_reply r = {0};
    if (!up) { /* the headers: a body too large is refused before it comes */
        up = *state = xcalloc(1, sizeof *up);
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > API_BODY_MAX)
            up->too_large = true;
        if (!up->too_large)
            return MHD_YES;
    }
    if (*data_size) { /* a piece of the body */
        if (!up->too_large && up->body.len + *data_size <= API_BODY_MAX) {
            buf_append(&up->body, data, *data_size);
        } else { /* read on, to answer 413 when it ends (chunked) */
            up->too_large = true;
            up->discarded += *data_size;
            buf_free(&up->body);
        }
        *data_size = 0;
        return up->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (up->too_large) {
        api_error(&r, 413, "the body is larger than %d bytes", API_BODY_MAX);
    } else if (svc->api && api_handles(url)) {
        answer_api(svc, conn, url, method, up, &r);
    } else {
        answer_own(svc, url, method, &r);
    }
    return send_reply(conn, &r);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    struct upload *up = *state;
    if (up) {
        buf_free(&up->body);
        free(up);
        *state = NULL;
    }
}

/* libmicrohttpd's own messages (a port it cannot bind, a connection it
 * drops), which it would print to stderr as they are: log lines of
 * "http", with the address they are about. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    SLUICE_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct service *svc = cls;
    struct buf message = {0};
    buf_vprintf(&message, fmt, ap);
    while (message.len && message.data[message.len - 1] == '\n')
        message.data[--message.len] = '\0';
    struct log_field fields[] = {LOG_TEXT("listen", svc->listen), LOG_END};
    struct buf text = {0};
    buf_printf(&text, "%s: %s", svc->listen, message.data);
    log_write(SLUICE_LOG_WARN, "http", NULL, NULL, fields, text.data);
    buf_free(&text);
    buf_free(&message);
}

/* The port of a resolved address (getaddrinfo may have read a service
 * name): libmicrohttpd names it in its messages. */
static uint16_t port_of(const struct addrinfo *ai)
{
    if (ai->ai_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ai->ai_addr)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ai->ai_addr)->sin_port);
}

static bool is_loopback(const struct addrinfo *ai)
{
    if (ai->ai_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
    return (ntohl(
                ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >>
            24) == 127;
}

/* A whole PEM file, for libmicrohttpd's TLS. */
static char *read_pem(const char *option, const char *path, struct error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        error_set(err, "[service] %s: cannot read %s: %s", option, path,
                  strerror(errno));
        return NULL;
    }
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_puts(&b, "");
    if (!strstr(b.data, "-----BEGIN ")) {
        buf_free(&b);
        error_set(err, "[service] %s: %s is not a PEM file", option, path);
        return NULL;
    }
    return buf_take(&b);
}

static void service_free(struct service *svc)
{
    for (size_t i = 0; i < svc->pooled; i++)
        store_close(svc->pool[i]);
    pthread_mutex_destroy(&svc->pool_lock);
    api_tokens_free(&svc->tokens);
    if (svc->tls_key)
        explicit_bzero(svc->tls_key, strlen(svc->tls_key));
    free(svc->tls_key);
    free(svc->tls_cert);
    free(svc->listen);
    free(svc->store_url);
    free(svc);
}

/* What [service] says beyond the address: the API's tokens, TLS. */
static int load_settings(struct service *svc,
                         const struct service_settings *settings,
                         struct error *err)
{
    svc->api = api_enabled(settings);
    if (svc->api && api_tokens_load(settings, &svc->tokens, err) < 0)
        return -1;
    if (!settings->tls_cert_file)
        return 0;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
        return error_set(err, "[service] tls_cert_file: this libmicrohttpd "
                              "was built without TLS");
    svc->tls_cert = read_pem("tls_cert_file", settings->tls_cert_file, err);
    if (svc->tls_cert)
        svc->tls_key = read_pem("tls_key_file", settings->tls_key_file, err);
    return svc->tls_key ? 0 : -1;
}

int service_start(const struct service_settings *settings,
                  const struct api_context *context, const char *store_url,
                  const char *const *pipes, size_t count, struct service **out,
                  struct error *err)
{
    const char *listen = settings->http_listen;
    *out = NULL;
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return error_set(err, "[service] http_listen: '%s' is not HOST:PORT",
                         listen);
    char *host = colon == listen ? xstrdup("127.0.0.1") /* :PORT */
                                 : xstrndup(listen, (size_t)(colon - listen));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:PORT */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    free(host);
    if (gai != 0)
        return error_set(err, "[service] http_listen %s: %s", listen,
                         gai_strerror(gai));
    struct service *svc = xcalloc(1, sizeof *svc);
    pthread_mutex_init(&svc->pool_lock, NULL);
    svc->loopback = is_loopback(ai);
    svc->listen = xstrdup(listen);
    svc->store_url = xstrdup(store_url);
    svc->pipes = pipes;
    svc->count = count;
    svc->limits = (struct health_limits){settings->health_max_retrying_ms,
                                         settings->health_max_setup_ms,
                                         settings->health_max_lag_ms};
    svc->context = *context;
    svc->context.read_open = settings->api_read_open;
    svc->context.stopping = &svc->stopping;
    if (load_settings(svc, settings, err) < 0) {
        freeaddrinfo(ai);
        service_free(svc);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (svc->tls_cert)
        flags |= MHD_USE_TLS;
    /* the logger first, so that no message of the start goes to stderr */
    struct MHD_OptionItem tls[] = {{svc->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT
                                                  : MHD_OPTION_END,
                                    0, svc->tls_cert},
                                   {MHD_OPTION_HTTPS_MEM_KEY, 0, svc->tls_key},
                                   {MHD_OPTION_END, 0, NULL}};
    svc->daemon = MHD_start_daemon(flags, port_of(ai), NULL, NULL, answer, svc,
                                   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, svc,
                                   MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                   MHD_OPTION_CONNECTION_TIMEOUT,
                                   (unsigned)CONNECTION_TIMEOUT_S,
                                   MHD_OPTION_CONNECTION_LIMIT,
                                   (unsigned)CONNECTIONS_MAX,
                                   MHD_OPTION_NOTIFY_COMPLETED, request_done,
                                   svc, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!svc->daemon) {
        service_free(svc);
        return error_set(err,
                         "[service] http_listen %s: cannot listen "
                         "there (the port is taken, the address is "
                         "not this host's, or the TLS files do not make a "
                         "certificate and its key)",
                         listen);
    }
    *out = svc;
    return 0;
}

bool service_loopback(const struct service *svc)
{
    return svc && svc->loopback;
}

bool service_api(const struct service *svc)
{
    return svc && svc->api;
}

bool service_tls(const struct service *svc)
{
    return svc && svc->tls_cert;
}

void service_stop(struct service *svc)
{
    if (!svc)
        return;
    atomic_store(&svc->stopping, true); /* requests that wait end now */
    MHD_stop_daemon(svc->daemon);
    service_free(svc);
}
