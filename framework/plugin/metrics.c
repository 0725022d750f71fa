/* metrics.c: the plugins' metrics in this process (see metrics.h). One
 * lock guards the series and the descriptions; a context's own values
 * are under its lock. Nothing here is ever removed before the process
 * ends: a series of a pipe deleted while sluice runs stays at its last
 * value. */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "host.h"

#define NAME_MAX_LEN 100
#define TOTAL "_total"

struct description {
    char *plugin, *name, *help;
    bool gauge;
};

struct series {
    char *plugin, *pipe, *name; /* pipe may be NULL */
    bool gauge;
    bool refused; /* used against the rules: left out, warned once */
    double value;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct description *descriptions;
static size_t description_count, description_cap;
static struct series *all;
static size_t series_count, series_cap;

static bool ends_with_total(const char *name)
{
    size_t n = strlen(name), t = strlen(TOTAL);
    return n > t && !strcmp(name + n - t, TOTAL);
}

/* Why a name cannot be a metric of that kind; NULL when it can. */
static const char *name_problem(const char *name, bool gauge)
{
    if (!name || !*name)
        return "it is empty";
    if (strlen(name) > NAME_MAX_LEN)
        return "it is longer than 100 characters";
    if (name[0] < 'a' || name[0] > 'z')
        return "it does not start with a letter a-z";
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return "it is not lower_snake_case (a-z, 0-9, _)";
    if (gauge && ends_with_total(name))
        return "a gauge's name does not end in _total (Prometheus keeps it "
               "for counters)";
    return NULL;
}

static bool same_pipe(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static struct description *description_of(const char *plugin, const char *name)
{
    for (size_t i = 0; i < description_count; i++)
        if (!strcmp(descriptions[i].plugin, plugin) &&
            !strcmp(descriptions[i].name, name))
            return &descriptions[i];
    return NULL;
}

/* A warning of the plugin whose context it is, about its pipe. */
static void warn(sluice_context *ctx, const char *fmt, ...)
    SLUICE_PRINTF(2, 3);
static void warn(sluice_context *ctx, const char *fmt, ...)
{
    struct buf text = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&text, fmt, ap);
    va_end(ap);
    log_write(SLUICE_LOG_WARN, ctx->plugin, ctx->pipe, NULL, NULL, text.data);
    buf_free(&text);
}

/* The series of the context's plugin and pipe; made on first use, with
 * the kind of that use (or of its description). Under the lock. */
static struct series *series_of(sluice_context *ctx, const char *name,
                                bool gauge)
{
    for (size_t i = 0; i < series_count; i++)
        if (!strcmp(all[i].plugin, ctx->plugin) &&
            !strcmp(all[i].name, name) && same_pipe(all[i].pipe, ctx->pipe))
            return &all[i];
    const struct description *d = description_of(ctx->plugin, name);
    XGROW(all, series_cap, series_count + 1);
    struct series *s = &all[series_count++];
    *s = (struct series){xstrdup(ctx->plugin),
                         ctx->pipe ? xstrdup(ctx->pipe) : NULL,
                         xstrdup(name),
                         d ? d->gauge : gauge,
                         false,
                         0};
    const char *problem = name_problem(name, s->gauge);
    if (problem) {
        s->refused = true;
        warn(ctx, "metric '%s' is left out of /metrics: %s", name, problem);
    }
    return s;
}

/* Whether the use of a series as `gauge` (or counter) is its kind; a
 * first wrong use is logged. Under the lock. */
static bool used_as(sluice_context *ctx, struct series *s, bool gauge)
{
    if (s->refused)
        return false;
    if (s->gauge == gauge)
        return true;
    s->refused = true; /* its values would not mean anything any more */
    warn(ctx, "metric '%s' is a %s, and was %s: it is left out of /metrics",
         s->name, s->gauge ? "gauge" : "counter",
         gauge ? "set as a gauge" : "added to as a counter");
    return false;
}

/* The context's own value of the metric. Under the context's lock. */
static struct metric *context_slot(sluice_context *ctx, const char *name,
                                   bool gauge)
{
    for (size_t i = 0; i < ctx->metric_count; i++)
        if (strcmp(ctx->metrics[i].name, name) == 0)
            return &ctx->metrics[i];
    XGROW(ctx->metrics, ctx->metric_cap, ctx->metric_count + 1);
    struct metric *m = &ctx->metrics[ctx->metric_count++];
    *m = (struct metric){xstrdup(name), gauge, 0};
    return m;
}

/* A counter added to, or a gauge set: in its series and its context. */
static void record(sluice_context *ctx, const char *name, bool gauge,
                   double value)
{
    if (!ctx || !name)
        return;
    pthread_mutex_lock(&lock);
    struct series *s = series_of(ctx, name, gauge);
    if (used_as(ctx, s, gauge))
        s->value = gauge ? value : s->value + value;
    pthread_mutex_unlock(&lock);
    pthread_mutex_lock(&ctx->lock);
    struct metric *m = context_slot(ctx, name, gauge);
    m->value = gauge ? value : m->value + value;
    pthread_mutex_unlock(&ctx->lock);
}

void metrics_counter_add(sluice_context *ctx, const char *name, uint64_t delta)
{
    record(ctx, name, false, (double)delta);
}

void metrics_gauge_set(sluice_context *ctx, const char *name, double value)
{
    record(ctx, name, true, value);
}

double context_metric(sluice_context *ctx, const char *name)
{
    double v = 0;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->metric_count; i++)
        if (strcmp(ctx->metrics[i].name, name) == 0)
            v = ctx->metrics[i].value;
    pthread_mutex_unlock(&ctx->lock);
    return v;
}

/* Why the description cannot be taken; NULL when it can. Under the
 * lock. */
static const char *describe_problem(const char *plugin, const char *name,
                                    bool gauge, const char *help)
{
    const char *problem = name_problem(name, gauge);
    if (problem)
        return problem;
    if (!gauge && !ends_with_total(name))
        return "a counter's name ends in _total";
    if (!help || !*help)
        return "its help is empty";
    const struct description *d = description_of(plugin, name);
    if (d && d->gauge != gauge)
        return d->gauge ? "it is described as a gauge already"
                        : "it is described as a counter already";
    for (size_t i = 0; i < series_count; i++)
        if (!strcmp(all[i].plugin, plugin) && !strcmp(all[i].name, name) &&
            all[i].gauge != gauge)
            return all[i].gauge ? "it is used as a gauge already"
                                : "it is used as a counter already";
    return NULL;
}

sluice_status metrics_describe(sluice_context *ctx, const char *name,
                               sluice_metric_kind kind, const char *help,
                               sluice_error *err)
{
    if (!ctx)
        return sluice_fail(err, SLUICE_FATAL,
                           "metric_describe: no context (call it from open, "
                           "with the instance's context)");
    if (kind != SLUICE_METRIC_COUNTER && kind != SLUICE_METRIC_GAUGE)
        return sluice_fail(err, SLUICE_FATAL,
                           "metric_describe: metric '%s': kind %d is neither "
                           "SLUICE_METRIC_COUNTER nor SLUICE_METRIC_GAUGE",
                           name ? name : "", (int)kind);
    bool gauge = kind == SLUICE_METRIC_GAUGE;
    pthread_mutex_lock(&lock);
    const char *problem = describe_problem(ctx->plugin, name, gauge, help);
    if (!problem) {
        struct description *d = description_of(ctx->plugin, name);
        if (!d) {
            XGROW(descriptions, description_cap, description_count + 1);
            d = &descriptions[description_count++];
            *d = (struct description){xstrdup(ctx->plugin), xstrdup(name),
                                      NULL, gauge};
        }
        free(d->help);
        d->help = xstrdup(help);
    }
    pthread_mutex_unlock(&lock);
    if (problem)
        return sluice_fail(err, SLUICE_FATAL,
                           "metric_describe: metric '%s' of plugin %s: %s",
                           name ? name : "", ctx->plugin, problem);
    return SLUICE_OK;
}

static char *family_of(const struct series *s)
{
    bool total = !s->gauge && !ends_with_total(s->name);
    return xasprintf("sluice_plugin_%s_%s%s", s->plugin, s->name,
                     total ? TOTAL : "");
}

static void item_free(struct plugin_series *s)
{
    free(s->family);
    free(s->help);
    free(s->pipe);
}

static int by_family_and_pipe(const void *a, const void *b)
{
    const struct plugin_series *x = a, *y = b;
    int c = strcmp(x->family, y->family);
    if (c)
        return c;
    return strcmp(x->pipe ? x->pipe : "", y->pipe ? y->pipe : "");
}

void plugin_series_list(struct plugin_series **out, size_t *count)
{
    pthread_mutex_lock(&lock);
    struct plugin_series *list = xcalloc(series_count + 1, sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < series_count; i++) {
        const struct series *s = &all[i];
        if (s->refused)
            continue;
        const struct description *d = description_of(s->plugin, s->name);
        list[n++] = (struct plugin_series){
            family_of(s),
            d ? xstrdup(d->help)
              : xasprintf("Metric %s of plugin %s, which does not describe "
                          "it.",
                          s->name, s->plugin),
            s->pipe ? xstrdup(s->pipe) : NULL, s->gauge, s->value};
    }
    pthread_mutex_unlock(&lock);
    qsort(list, n, sizeof *list, by_family_and_pipe);
    /* a counter counted as both x and x_total (not described, since a
     * description needs the _total) is one family: one series per pipe */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && !by_family_and_pipe(&list[kept - 1], &list[i])) {
            list[kept - 1].value += list[i].value;
            item_free(&list[i]);
            continue;
        }
        list[kept++] = list[i];
    }
    *out = list;
    *count = kept;
}

void plugin_series_free(struct plugin_series *s, size_t count)
{
    for (size_t i = 0; i < count; i++)
        item_free(&s[i]);
    free(s);
}
