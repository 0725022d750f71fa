/* metrics.h: the plugins' metrics in this process (the host API's
 * counter_add, gauge_set and metric_describe).
 *
 * A value is kept twice: in the context of the instance that counted it
 * (context_metric: what one instance did), and in a series per plugin,
 * pipe and name that lives as long as the process, so that a counter
 * never goes down when an instance closes and another opens (a pipe
 * restarting, snapshot readers coming and going). What a metric means,
 * its kind and help, is the plugin's: described once for all its
 * instances. Every function is thread-safe. */
#ifndef SLUICE_PLUGIN_METRICS_H
#define SLUICE_PLUGIN_METRICS_H

#include <sluice/sluice.h>
#include <stdbool.h>

void metrics_counter_add(sluice_context *ctx, const char *name,
                         uint64_t delta);
void metrics_gauge_set(sluice_context *ctx, const char *name, double value);
sluice_status metrics_describe(sluice_context *ctx, const char *name,
                               sluice_metric_kind kind, const char *help,
                               sluice_error *err);

/* One series as /metrics shows it: its family's name
 * (sluice_plugin_PLUGIN_NAME, a counter's ending in _total), help and
 * kind, its pipe (NULL: an instance of no pipe) and value. */
struct plugin_series {
    char *family, *help, *pipe;
    bool gauge;
    double value;
};

/* A copy of every series, sorted by family, then pipe; a family's series
 * have one help and kind. Free it with plugin_series_free. */
void plugin_series_list(struct plugin_series **out, size_t *count);
void plugin_series_free(struct plugin_series *s, size_t count);

#endif
