/* service.c: /metrics and /health over HTTP (see service.h). What they
 * show has its secrets masked: the texts of the store as pipe_load reads
 * them, the rest here (util/redact.h). */
#include "service.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lifecycle/pipes.h"
#include "../plugin/host.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "instances.h"

struct service {
    struct MHD_Daemon *daemon;
    char *listen; /* HOST:PORT, as [service] http_listen says */
    char *store_url;
    struct store *store; /* opened on first use, by the daemon's thread */
    const char *const *pipes;
    size_t count;
};

/* A label value: secrets masked; backslash, quote and newline escaped. */
static void label(struct buf *b, const char *name, const char *value)
{
    struct buf shown = {0};
    redact(value, &shown);
    buf_printf(b, "%s=\"", name);
    for (const char *c = shown.data ? shown.data : ""; *c; c++) {
        if (*c == '\\' || *c == '"')
            buf_printf(b, "\\%c", *c);
        else if (*c == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, c, 1);
    }
    buf_puts(b, "\"");
    buf_free(&shown);
}

static void family(struct buf *b, const char *name, const char *type,
                   const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void pipe_sample(struct buf *b, const char *metric,
                        const struct pipe_row *p, const struct pipe_table *t,
                        double value)
{
    buf_printf(b, "%s{", metric);
    label(b, "pipe", p->name);
    if (t) {
        buf_puts(b, ",");
        label(b, "table", t->name);
    }
    buf_printf(b, "} %.17g\n", value);
}

/* The store connection, (re)opened when needed; with the intent of the
 * pipes' threads, so that it fails when theirs do (the store deleted, or
 * no longer writable). */
static struct store *store_of(struct service *svc, struct error *err)
{
    if (!svc->store &&
        store_open(svc->store_url, STORE_WRITE, &svc->store, err) < 0)
        svc->store = NULL;
    return svc->store;
}

static int load_pipes(struct service *svc, struct pipe_row *rows,
                      size_t *loaded, struct error *err)
{
    *loaded = 0;
    struct store *s = store_of(svc, err);
    if (!s)
        return -1;
    for (size_t i = 0; i < svc->count; i++) {
        bool found;
        if (pipe_load(s, svc->pipes[i], &rows[*loaded], &found, err) < 0) {
            store_close(svc->store); /* reopened on the next request */
            svc->store = NULL;
            return -1;
        }
        if (found)
            (*loaded)++;
    }
    return 0;
}

typedef double (*table_figure)(const struct pipe_table *t);
static double rows_of(const struct pipe_table *t)
{
    return (double)t->rows_copied;
}
static double bytes_of(const struct pipe_table *t)
{
    return (double)t->bytes_copied;
}
static double estimate_of(const struct pipe_table *t)
{
    return (double)t->rows_estimated;
}
static double rate_of(const struct pipe_table *t)
{
    return (double)t->rows_per_s;
}
static double lag_of(const struct pipe_table *t)
{
    return (double)t->lag_ms / 1000.0;
}

static const struct {
    const char *name, *type, *help;
    table_figure figure;
    bool known_only; /* leave out tables where the figure is -1 */
} table_metrics[] = {
    {"sluice_table_rows_total", "counter",
     "Rows delivered to the sink (durable).", rows_of, false},
    {"sluice_table_bytes_total", "counter",
     "Bytes of keys and documents delivered to the sink.", bytes_of, false},
    {"sluice_table_rows_estimated", "gauge",
     "The source's estimate of the table's rows at its snapshot.", estimate_of,
     true},
    {"sluice_table_rows_per_second", "gauge", "Recent rate of rows delivered.",
     rate_of, false},
    {"sluice_table_lag_seconds", "gauge",
     "Time from a change at the source to its delivery, for the newest "
     "delivered change.",
     lag_of, true},
};

/* The plugins' own metrics, gathered from every open instance, then
 * written grouped by name as the format wants. */
struct plugin_sample {
    char *name, *plugin, *pipe;
    bool gauge;
    double value;
};

struct plugin_samples {
    struct plugin_sample *items;
    size_t count, cap;
};

static void gather(const struct instance *in, void *arg)
{
    struct plugin_samples *ps = arg;
    sluice_context *ctx = in->plugin.ctx;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->metric_count; i++) {
        XGROW(ps->items, ps->cap, ps->count + 1);
        ps->items[ps->count++] = (struct plugin_sample){
            xasprintf("sluice_plugin_%s", ctx->metrics[i].name),
            xstrdup(ctx->plugin), xstrdup(ctx->pipe ? ctx->pipe : ""),
            ctx->metrics[i].gauge, ctx->metrics[i].value};
    }
    pthread_mutex_unlock(&ctx->lock);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct plugin_sample *)a)->name,
                  ((const struct plugin_sample *)b)->name);
}

static void plugin_metrics(struct buf *b)
{
    struct plugin_samples ps = {0};
    instances_each(gather, &ps);
    qsort(ps.items, ps.count, sizeof *ps.items, by_name);
    for (size_t i = 0; i < ps.count; i++) {
        struct plugin_sample *m = &ps.items[i];
        if (!i || strcmp(ps.items[i - 1].name, m->name))
            buf_printf(b, "# TYPE %s %s\n", m->name,
                       m->gauge ? "gauge" : "counter");
        buf_printf(b, "%s{", m->name);
        label(b, "plugin", m->plugin);
        buf_puts(b, ",");
        label(b, "pipe", m->pipe);
        buf_printf(b, "} %.17g\n", m->value);
    }
    for (size_t i = 0; i < ps.count; i++) {
        free(ps.items[i].name);
        free(ps.items[i].plugin);
        free(ps.items[i].pipe);
    }
    free(ps.items);
}

static int metrics(struct service *svc, struct buf *b)
{
    struct pipe_row *rows = xcalloc(svc->count + 1, sizeof *rows);
    size_t n;
    struct error err;
    if (load_pipes(svc, rows, &n, &err) < 0) {
        buf_puts(b, "store unavailable: ");
        redact(err.message, b);
        buf_puts(b, "\n");
        free(rows);
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    family(b, "sluice_pipe_state", "gauge",
           "1 for the state the pipe is in, 0 for the others.");
    for (size_t i = 0; i < n; i++)
        for (int st = 0; st < STATE_COUNT; st++) {
            buf_puts(b, "sluice_pipe_state{");
            label(b, "pipe", rows[i].name);
            buf_puts(b, ",");
            label(b, "state", pipe_state_name((enum pipe_state)st));
            buf_printf(b, "} %d\n", rows[i].state == (enum pipe_state)st);
        }
    family(b, "sluice_pipe_retries", "gauge",
           "Transient errors retried since the pipe last made progress.");
    for (size_t i = 0; i < n; i++)
        pipe_sample(b, "sluice_pipe_retries", &rows[i], NULL,
                    (double)rows[i].retry_count);
    family(b, "sluice_pipe_batches_total", "counter",
           "Batches delivered to the sink.");
    for (size_t i = 0; i < n; i++)
        pipe_sample(b, "sluice_pipe_batches_total", &rows[i], NULL,
                    (double)rows[i].batches);
    for (size_t m = 0; m < sizeof table_metrics / sizeof *table_metrics; m++) {
        family(b, table_metrics[m].name, table_metrics[m].type,
               table_metrics[m].help);
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < rows[i].table_count; t++) {
                double v = table_metrics[m].figure(&rows[i].tables[t]);
                if (!table_metrics[m].known_only || v >= 0)
                    pipe_sample(b, table_metrics[m].name, &rows[i],
                                &rows[i].tables[t], v);
            }
    }
    plugin_metrics(b);
    for (size_t i = 0; i < n; i++)
        pipe_row_free(&rows[i]);
    free(rows);
    return MHD_HTTP_OK;
}

static bool has_failed_table(const struct pipe_row *p)
{
    for (size_t t = 0; t < p->table_count; t++)
        if (p->tables[t].status == TABLE_FAILED)
            return true;
    return false;
}

static void json_pipe_health(struct json *j, const struct pipe_row *p)
{
    json_open_object(j, p->name);
    json_add_string(j, "state", pipe_state_name(p->state));
    json_add_string(j, "last_error", p->last_error);
    json_open_object(j, "failed_tables");
    for (size_t t = 0; t < p->table_count; t++)
        if (p->tables[t].status == TABLE_FAILED)
            json_add_string(j, p->tables[t].name, p->tables[t].note);
    json_close_object(j);
    json_close_object(j);
}

static int health(struct service *svc, struct buf *b)
{
    struct pipe_row *rows = xcalloc(svc->count + 1, sizeof *rows);
    size_t n;
    struct error err;
    struct json j = JSON_INIT(b);
    json_open_object(&j, NULL);
    if (load_pipes(svc, rows, &n, &err) < 0) {
        json_add_string(&j, "status", "unavailable");
        json_add_string(&j, "reason", err.message);
        json_close_object(&j);
        buf_puts(b, "\n");
        free(rows);
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    /* a failed table needs an operator as much as a failed pipe does */
    bool failed = false, degraded = false;
    for (size_t i = 0; i < n; i++) {
        failed = failed || rows[i].state == STATE_FAILED;
        degraded = degraded || has_failed_table(&rows[i]);
    }
    json_add_string(&j, "status",
                    failed     ? "failed"
                    : degraded ? "degraded"
                               : "ok");
    json_open_object(&j, "pipes");
    for (size_t i = 0; i < n; i++) {
        json_pipe_health(&j, &rows[i]);
        pipe_row_free(&rows[i]);
    }
    free(rows);
    json_close_object(&j);
    json_close_object(&j);
    buf_puts(b, "\n");
    return failed || degraded ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
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
        code = (unsigned)metrics(svc, &body);
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (!strcmp(url, "/health")) {
        code = (unsigned)health(svc, &body);
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

int service_start(const char *listen, const char *store_url,
                  const char *const *pipes, size_t count, struct service **out,
                  struct error *err)
{
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
