/* test_metrics.c: the plugins' metrics through the host API table: the
 * series /metrics shows (summed over the instances of a plugin and pipe,
 * kept when an instance closes, a counter named without _total given
 * it), the descriptions of ABI 1.2 and each refusal, and the names and
 * uses that are left out. */
#include <stdlib.h>

#include "../test.h"
#include "plugin/host.h"
#include "plugin/metrics.h"

static const sluice_host_api *host;
static char msg[256];
static sluice_error err = {msg, sizeof msg};

/* The value of a series, -1 when /metrics would not show it; its help
 * into `help` when asked. */
static double series(const char *family, const char *pipe, char *help,
                     size_t size)
{
    struct plugin_series *s;
    size_t n;
    double v = -1;
    plugin_series_list(&s, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].family, family) &&
            (pipe ? s[i].pipe && !strcmp(s[i].pipe, pipe) : !s[i].pipe)) {
            v = s[i].value;
            if (help)
                snprintf(help, size, "%s%s", s[i].gauge ? "gauge: " : "",
                         s[i].help);
        }
    plugin_series_free(s, n);
    return v;
}

static sluice_status describe(sluice_context *ctx, const char *name,
                              sluice_metric_kind kind, const char *help)
{
    msg[0] = '\0';
    return host->metric_describe(ctx, name, kind, help, &err);
}

/* A counter goes on when its instance closes and another opens, and is
 * the sum of the instances of one plugin and pipe; the context keeps its
 * own. */
static void counters_outlive_instances(void)
{
    sluice_context *a = context_new("p_one", "orders");
    sluice_context *b = context_new("p_one", "orders");
    sluice_context *other = context_new("p_one", "users");
    CHECK(describe(a, "rows_total", SLUICE_METRIC_COUNTER, "Rows.") ==
          SLUICE_OK);
    host->counter_add(a, "rows_total", 5);
    host->counter_add(b, "rows_total", 2);
    host->counter_add(other, "rows_total", 1);
    CHECK(context_metric(a, "rows_total") == 5);
    CHECK(series("sluice_plugin_p_one_rows_total", "orders", NULL, 0) == 7);
    CHECK(series("sluice_plugin_p_one_rows_total", "users", NULL, 0) == 1);
    context_free(a);
    context_free(b);
    sluice_context *again = context_new("p_one", "orders");
    CHECK(series("sluice_plugin_p_one_rows_total", "orders", NULL, 0) == 7);
    host->counter_add(again, "rows_total", 1);
    CHECK(context_metric(again, "rows_total") == 1);
    CHECK(series("sluice_plugin_p_one_rows_total", "orders", NULL, 0) == 8);
    context_free(again);
    context_free(other);
}

/* What a plugin says of its metrics is their HELP; one that says nothing
 * (built before 1.2) gets a help naming it, and a counter of such a
 * plugin named without _total gets it. */
static void descriptions(void)
{
    sluice_context *ctx = context_new("p_two", NULL);
    char help[256];
    CHECK(describe(ctx, "open_things", SLUICE_METRIC_GAUGE,
                   "Things open, with a \\ and a\nnewline.") == SLUICE_OK);
    host->gauge_set(ctx, "open_things", 3);
    host->gauge_set(ctx, "open_things", 2);
    CHECK(series("sluice_plugin_p_two_open_things", NULL, help, sizeof help) ==
          2);
    CHECK_STR(help, "gauge: Things open, with a \\ and a\nnewline.");
    /* described again (another instance): the latest stands */
    CHECK(describe(ctx, "open_things", SLUICE_METRIC_GAUGE, "Things.") ==
          SLUICE_OK);
    series("sluice_plugin_p_two_open_things", NULL, help, sizeof help);
    CHECK_STR(help, "gauge: Things.");

    host->counter_add(ctx, "requests", 4);
    CHECK(series("sluice_plugin_p_two_requests_total", NULL, help,
                 sizeof help) == 4);
    CHECK_STR(help, "Metric requests of plugin p_two, which does not "
                    "describe it.");
    CHECK(series("sluice_plugin_p_two_requests", NULL, NULL, 0) == -1);
    context_free(ctx);
}

static void refusals(void)
{
    sluice_context *ctx = context_new("p_three", "orders");
    CHECK(describe(ctx, "rows", SLUICE_METRIC_COUNTER, "Rows.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "metric 'rows' of plugin p_three: a counter's name "
                        "ends in _total");
    CHECK(describe(ctx, "open_total", SLUICE_METRIC_GAUGE, "Open.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "a gauge's name does not end in _total");
    CHECK(describe(ctx, "Rows_total", SLUICE_METRIC_COUNTER, "Rows.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "does not start with a letter a-z");
    CHECK(describe(ctx, "rows-x_total", SLUICE_METRIC_COUNTER, "Rows.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "not lower_snake_case");
    CHECK(describe(ctx, "rows_total", SLUICE_METRIC_COUNTER, "") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "its help is empty");
    CHECK(describe(ctx, "rows_total", (sluice_metric_kind)7, "Rows.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "kind 7 is neither");
    CHECK(describe(NULL, "rows_total", SLUICE_METRIC_COUNTER, "Rows.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "no context");
    /* one kind per name */
    CHECK(describe(ctx, "level", SLUICE_METRIC_GAUGE, "Level.") == SLUICE_OK);
    host->counter_add(ctx, "seen_total", 1);
    CHECK(describe(ctx, "seen_total", SLUICE_METRIC_GAUGE, "Seen.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "not end in _total");
    host->gauge_set(ctx, "depth", 1);
    CHECK(describe(ctx, "depth", SLUICE_METRIC_COUNTER, "Depth.") ==
          SLUICE_FATAL);
    CHECK_CONTAINS(msg, "ends in _total");
    context_free(ctx);
}

/* A name /metrics cannot show, or a metric used as the other kind, is
 * left out (with a warning in the log), and counting goes on. */
static void left_out(void)
{
    sluice_context *ctx = context_new("p_four", "orders");
    host->counter_add(ctx, "Bad Name", 1);
    host->gauge_set(ctx, "queue_total", 1);
    CHECK(series("sluice_plugin_p_four_queue_total", "orders", NULL, 0) == -1);
    CHECK(describe(ctx, "level", SLUICE_METRIC_GAUGE, "Level.") == SLUICE_OK);
    host->counter_add(ctx, "level", 5); /* a gauge added to */
    CHECK(series("sluice_plugin_p_four_level", "orders", NULL, 0) == -1);
    host->counter_add(ctx, "rows_total", 2);
    host->gauge_set(ctx, "rows_total", 0); /* a counter set */
    CHECK(series("sluice_plugin_p_four_rows_total", "orders", NULL, 0) == -1);
    struct plugin_series *s;
    size_t n;
    plugin_series_list(&s, &n);
    for (size_t i = 0; i < n; i++)
        CHECK(strncmp(s[i].family, "sluice_plugin_p_four", 20) != 0);
    plugin_series_free(s, n);
    context_free(ctx);
}

int main(void)
{
    host = host_api();
    CHECK(SLUICE_HOST_HAS(host, metric_describe));
    RUN(counters_outlive_instances);
    RUN(descriptions);
    RUN(refusals);
    RUN(left_out);
    return TEST_RESULT();
}
