/* health.h: the /health page: whether this process's pipes do their
 * work, as JSON with an entry per pipe, and the HTTP status a monitor
 * acts on:
 *   ok        200  every pipe works (paused and completed ones too);
 *   degraded  200  a pipe needs a look, and goes on: it has retried for
 *                  longer than health_max_retrying, has been in setup for
 *                  longer than health_max_setup, a table's lag is above
 *                  health_max_lag, or a table failed;
 *   failing   503  a pipe failed, or the store cannot be read or written.
 * Each reason says which pipe (and table) and why. From a view (view.h)
 * alone. */
#ifndef SLUICE_RUNTIME_HEALTH_H
#define SLUICE_RUNTIME_HEALTH_H

#include "../util/buf.h"
#include "view.h"

/* The [service] thresholds, in ms; a lag of 0 is never too much. */
struct health_limits {
    int64_t retrying_ms, setup_ms, lag_ms;
};

enum health_status { HEALTH_OK, HEALTH_DEGRADED, HEALTH_FAILING };

const char *health_status_name(enum health_status status);
/* Writes the page; returns the process's status. */
enum health_status health_page(const struct view *v,
                               const struct health_limits *limits,
                               struct buf *out);

#endif
