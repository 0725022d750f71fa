/* prometheus.c: the /metrics page (see prometheus.h). Label values have
 * their secrets masked (util/redact.h) and are escaped as the format
 * wants; so are HELP texts. A figure the store does not know (-1) leaves
 * its sample out. */
#include "prometheus.h"

#include <sluice/version.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/metrics.h"
#include "../util/redact.h"

#define STRINGIFY(x) #x
#define ABI_TEXT(major, minor) STRINGIFY(major) "." STRINGIFY(minor)

/* Text as the format wants it: backslash and newline escaped, and the
 * quote too inside a label value. */
static void escaped(struct buf *b, const char *text, bool quoted)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\' || (quoted && *c == '"'))
            buf_printf(b, "\\%c", *c);
        else if (*c == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, c, 1);
    }
}

/* A label value: secrets masked, escaped. */
static void label(struct buf *b, const char *name, const char *value)
{
    struct buf shown = {0};
    redact(value, &shown);
    buf_printf(b, "%s=\"", name);
    escaped(b, shown.data ? shown.data : "", true);
    buf_puts(b, "\"");
    buf_free(&shown);
}

/* A family's HELP and TYPE lines. */
static void family(struct buf *b, const char *name, const char *type,
                   const char *help)
{
    buf_printf(b, "# HELP %s ", name);
    escaped(b, help, false);
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void value(struct buf *b, double v)
{
    buf_printf(b, "} %.17g\n", v);
}

static void pipe_sample(struct buf *b, const char *metric,
                        const struct pipe_row *p, const struct pipe_table *t,
                        double v)
{
    buf_printf(b, "%s{", metric);
    label(b, "pipe", p->name);
    if (t) {
        buf_puts(b, ",");
        label(b, "table", t->name);
    }
    value(b, v);
}

/* ---- figures of a pipe; a negative one is unknown ---- */

typedef double (*pipe_figure)(const struct pipe_view *pv, int64_t now_ms);
static double retries_of(const struct pipe_view *pv, int64_t now_ms)
{
    (void)now_ms;
    return (double)pv->row.retry_count;
}
static double retrying_of(const struct pipe_view *pv, int64_t now_ms)
{
    int64_t since = pv->row.retrying_since;
    if (!pv->row.retry_count || !since)
        return 0;
    return now_ms > since ? (double)(now_ms - since) / 1000.0 : 0;
}
static double last_error_of(const struct pipe_view *pv, int64_t now_ms)
{
    (void)now_ms;
    return pv->row.last_error_at > 0 ? (double)pv->row.last_error_at / 1000.0
                                     : -1;
}
static double backlog_events_of(const struct pipe_view *pv, int64_t now_ms)
{
    (void)now_ms;
    return (double)pv->backlog_events;
}
static double backlog_records_of(const struct pipe_view *pv, int64_t now_ms)
{
    (void)now_ms;
    return (double)pv->backlog_records;
}
static double batches_of(const struct pipe_view *pv, int64_t now_ms)
{
    (void)now_ms;
    return (double)pv->row.batches;
}

static const struct {
    const char *name, *type, *help;
    pipe_figure figure;
} pipe_metrics[] = {
    {"sluice_pipe_retries", "gauge",
     "Transient errors retried since the pipe last made progress.",
     retries_of},
    {"sluice_pipe_retrying_seconds", "gauge",
     "How long the pipe has retried without making progress; 0 when it is "
     "not retrying.",
     retrying_of},
    {"sluice_pipe_last_error_timestamp_seconds", "gauge",
     "When the pipe's last error (retried or fatal) happened, in seconds "
     "since 1970 UTC; absent when none is recorded.",
     last_error_of},
    {"sluice_pipe_backlog_events", "gauge",
     "Publication events waiting in the hub for the pipe's sink.",
     backlog_events_of},
    {"sluice_pipe_backlog_records", "gauge",
     "Records of the publication events waiting for the pipe's sink.",
     backlog_records_of},
    {"sluice_pipe_batches_total", "counter",
     "Batches (publication events) delivered to the sink.", batches_of},
};

/* ---- figures of a table; a negative one is unknown ---- */

typedef double (*table_figure)(const struct pipe_table *t);
static double rows_of(const struct pipe_table *t)
{
    return (double)t->rows_delivered;
}
static double bytes_of(const struct pipe_table *t)
{
    return (double)t->bytes_delivered;
}
static double snapshot_rows_of(const struct pipe_table *t)
{
    return (double)t->rows_copied;
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
    return t->lag_ms < 0 ? -1 : (double)t->lag_ms / 1000.0;
}

static const struct {
    const char *name, *type, *help;
    table_figure figure;
} table_metrics[] = {
    {"sluice_table_rows_total", "counter",
     "Rows delivered to the sink (durable there), over the table's life: "
     "snapshots, resyncs and changes.",
     rows_of},
    {"sluice_table_bytes_total", "counter",
     "Bytes of keys and documents delivered to the sink, over the table's "
     "life.",
     bytes_of},
    {"sluice_table_snapshot_rows", "gauge",
     "Rows delivered since the table's current snapshot began (0 again when "
     "a resync starts): its progress against sluice_table_rows_estimated.",
     snapshot_rows_of},
    {"sluice_table_rows_estimated", "gauge",
     "The source's estimate of the table's rows when its snapshot began.",
     estimate_of},
    {"sluice_table_rows_per_second", "gauge",
     "Rows written to the sink a second, counted as each batch is written, "
     "over a moving window of the last ten seconds (ROWS/S of sluice "
     "status); 0 when no worker runs the pipe.",
     rate_of},
    {"sluice_table_lag_seconds", "gauge",
     "Time from a change at the source to its delivery, for the newest "
     "delivered change.",
     lag_of},
};

static void build_info(struct buf *b)
{
    family(b, "sluice_build_info", "gauge",
           "The running sluice: its release and plugin ABI (always 1).");
    buf_puts(b, "sluice_build_info{");
    label(b, "version", SLUICE_VERSION);
    buf_puts(b, ",");
    label(b, "abi", ABI_TEXT(SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR));
    value(b, 1);
}

static void store_up(struct buf *b, const struct view *v)
{
    family(b, "sluice_store_up", "gauge",
           "1 when the store answered this scrape; 0 when it did not (the "
           "pipe and table figures are then left out).");
    buf_printf(b, "sluice_store_up %d\n", v->store_ok ? 1 : 0);
}

static void pipe_states(struct buf *b, const struct view *v)
{
    family(b, "sluice_pipe_state", "gauge",
           "1 for the state the pipe is in, 0 for the others.");
    for (size_t i = 0; i < v->count; i++)
        for (int st = 0; st < STATE_COUNT; st++) {
            buf_puts(b, "sluice_pipe_state{");
            label(b, "pipe", v->pipes[i].row.name);
            buf_puts(b, ",");
            label(b, "state", pipe_state_name((enum pipe_state)st));
            value(b, v->pipes[i].row.state == (enum pipe_state)st);
        }
}

static void pipe_figures(struct buf *b, const struct view *v)
{
    for (size_t m = 0; m < sizeof pipe_metrics / sizeof *pipe_metrics; m++) {
        family(b, pipe_metrics[m].name, pipe_metrics[m].type,
               pipe_metrics[m].help);
        for (size_t i = 0; i < v->count; i++) {
            double x = pipe_metrics[m].figure(&v->pipes[i], v->now_ms);
            if (x >= 0)
                pipe_sample(b, pipe_metrics[m].name, &v->pipes[i].row, NULL,
                            x);
        }
    }
}

static void table_figures(struct buf *b, const struct view *v)
{
    for (size_t m = 0; m < sizeof table_metrics / sizeof *table_metrics; m++) {
        family(b, table_metrics[m].name, table_metrics[m].type,
               table_metrics[m].help);
        for (size_t i = 0; i < v->count; i++) {
            const struct pipe_row *p = &v->pipes[i].row;
            for (size_t t = 0; t < p->table_count; t++) {
                double x = table_metrics[m].figure(&p->tables[t]);
                if (x >= 0)
                    pipe_sample(b, table_metrics[m].name, p, &p->tables[t], x);
            }
        }
    }
}

/* The plugins' series, a family at a time (they come sorted). */
static void plugin_figures(struct buf *b)
{
    struct plugin_series *s;
    size_t n;
    plugin_series_list(&s, &n);
    for (size_t i = 0; i < n; i++) {
        if (!i || strcmp(s[i - 1].family, s[i].family))
            family(b, s[i].family, s[i].gauge ? "gauge" : "counter",
                   s[i].help);
        if (!s[i].pipe) { /* an instance of no pipe */
            buf_printf(b, "%s %.17g\n", s[i].family, s[i].value);
            continue;
        }
        buf_printf(b, "%s{", s[i].family);
        label(b, "pipe", s[i].pipe);
        value(b, s[i].value);
    }
    plugin_series_free(s, n);
}

void prometheus_page(const struct view *v, struct buf *out)
{
    build_info(out);
    store_up(out, v);
    pipe_states(out, v);
    pipe_figures(out, v);
    table_figures(out, v);
    plugin_figures(out);
}
