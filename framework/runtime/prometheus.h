/* prometheus.h: the /metrics page, in Prometheus' text format (0.0.4),
 * named as Prometheus names metrics: every family with its HELP and
 * TYPE, counters ending in _total and never going down (over resyncs,
 * restarts of a pipe, and, for the store's figures, of sluice), units in
 * the names. From a view (view.h) and the plugins' own series
 * (plugin/metrics.h); docs/operations.md lists every family. */
#ifndef SLUICE_RUNTIME_PROMETHEUS_H
#define SLUICE_RUNTIME_PROMETHEUS_H

#include "../util/buf.h"
#include "view.h"

void prometheus_page(const struct view *v, struct buf *out);

#endif
