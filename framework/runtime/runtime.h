/* runtime.h: sluice run: workers that drive pipes through their states.
 *
 * Per pipe, while this worker holds its lease: the pipe's thread (the
 * publisher loop: operator requests, then its state's work, publishing
 * to the hub; pipe_runner.c, snapshot.c with its reader threads) and a
 * subscriber thread (the hub into the sink; subscriber.c), each with its
 * own store connection. The source instance is the pipe's own; sinks are
 * shared by pipes with the same options (instances.c). A transient error
 * backs off exponentially with jitter without a state change; a fatal
 * one fails the pipe. The main thread runs the hub's daily maintenance,
 * the progress display and the HTTP service. */
#ifndef SLUICE_RUNTIME_RUNTIME_H
#define SLUICE_RUNTIME_RUNTIME_H

#include <stdbool.h>

#include "../config/config.h"
#include "../plugin/plugin.h"

/* Runs the pipes of `cfg` (only those named, when `only` is not empty)
 * until SIGINT or SIGTERM; the progress shows bytes raw with
 * `raw_bytes` (--bytes), else in human units. Returns an exit status. */
int runtime_run(const struct config *cfg, const struct registry *reg,
                const char *store_url, char **only, size_t only_count,
                bool raw_bytes);

#endif
