/* runtime.h: sluice run: workers that drive pipes through their states.
 *
 * One thread per pipe, each with its own store connection and its own
 * plugin instances; the pipe is leased by the worker while it runs it.
 * Each turn of a pipe's loop: renew the lease, carry out the next operator
 * request, do one step of the work of the pipe's state (one snapshot
 * batch, one CDC batch, ...), and drain the pipe's subscription into the
 * sink. A transient error backs off exponentially with jitter without a
 * state change; a fatal one fails the pipe. The main thread runs the
 * hub's daily maintenance. */
#ifndef SLUICE_RUNTIME_RUNTIME_H
#define SLUICE_RUNTIME_RUNTIME_H

#include <stdbool.h>

#include "../config/config.h"
#include "../plugin/plugin.h"

/* Runs the pipes of `cfg` (only those named, when `only` is not empty)
 * until SIGINT or SIGTERM. Returns an exit status. */
int runtime_run(const struct config *cfg, const struct registry *reg,
                const char *store_url, char **only, size_t only_count);

#endif
