/* service.c: /metrics and /health over HTTP (see service.h): for each
 * request, the view of the pipes read from the store (view.h), written
 * out by the page asked for (prometheus.c, health.c). */
#include "service.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "health.h"
#include "prometheus.h"

struct service {
    struct MHD_Daemon *daemon;
    char *listen; /* HOST:PORT, as [service] http_listen says */
    char *store_url;
    struct store *store; /* opened on first use, by the daemon's thread */
    const char *const *pipes;
    size_t count;
    struct health_limits limits;
};

/* The store connection, (re)opened when needed; with the intent of the
 * pipes' threads, so that it fails when theirs do (the store deleted, or
 * no longer writable). */
static void read_view(struct service *svc, struct view *v)
{
    struct error err;
    int64_t now = clock_now_ms();
    if (!svc->store &&
        store_open(svc->store_url, STORE_WRITE, &svc->store, &err) < 0) {
        svc->store = NULL;
        view_unavailable(svc->pipes, svc->count, now, err.message, v);
        return;
    }
    view_load(svc->store, svc->pipes, svc->count, now, v);
    if (!v->store_ok) { /* reopened on the next request */
        store_close(svc->store);
        svc->store = NULL;
    }
}

static unsigned metrics(struct service *svc, struct buf *b)
{
    struct view v;
    read_view(svc, &v);
    prometheus_page(&v, b);
    view_free(&v);
    return MHD_HTTP_OK;
}

static unsigned health(struct service *svc, struct buf *b)
{
    struct view v;
    read_view(svc, &v);
    enum health_status st = health_page(&v, &svc->limits, b);
    view_free(&v);
    return st == HEALTH_FAILING ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)state;
    struct service *svc = cls;
    struct buf body = {0};
    const char *type = "text/plain; charset=utf-8";
    unsigned code;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
        buf_puts(&body, "only GET\n");
    } else if (!strcmp(url, "/metrics")) {
        code = metrics(svc, &body);
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (!strcmp(url, "/health")) {
        code = health(svc, &body);
        type = "application/json";
    } else {
        code = MHD_HTTP_NOT_FOUND;
        buf_printf(&body,
                   "no such page: %s (there are /metrics and /health)\n", url);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(body.len,
                                        body.data ? body.data : (char *)"",
                                        MHD_RESPMEM_MUST_COPY);
    buf_free(&body);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ok;
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

int service_start(const struct service_settings *settings,
                  const char *store_url, const char *const *pipes,
                  size_t count, struct service **out, struct error *err)
{
    const char *listen = settings->http_listen;
    *out = NULL;
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return error_set(err, "[service] http_listen: '%s' is not HOST:PORT",
                         listen);
    char *host = xstrndup(listen, (size_t)(colon - listen));
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
    svc->listen = xstrdup(listen);
    svc->store_url = xstrdup(store_url);
    svc->pipes = pipes;
    svc->count = count;
    svc->limits = (struct health_limits){settings->health_max_retrying_ms,
                                         settings->health_max_setup_ms,
                                         settings->health_max_lag_ms};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the logger first, so that no message of the start goes to stderr */
    svc->daemon =
        MHD_start_daemon(flags, port_of(ai), NULL, NULL, answer, svc,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, svc,
                         MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!svc->daemon) {
        free(svc->listen);
        free(svc->store_url);
        free(svc);
        return error_set(err,
                         "[service] http_listen %s: cannot listen "
                         "there (the port is taken, or the address is "
                         "not this host's)",
                         listen);
    }
    *out = svc;
    return 0;
}

void service_stop(struct service *svc)
{
    if (!svc)
        return;
    MHD_stop_daemon(svc->daemon);
    store_close(svc->store);
    free(svc->listen);
    free(svc->store_url);
    free(svc);
}
