/* connections.h: whether a PostgreSQL store still takes the connections
 * `sluice run` will open (connections.c). */
#ifndef SLUICE_RUNTIME_CONNECTIONS_H
#define SLUICE_RUNTIME_CONNECTIONS_H

#include <stdbool.h>

#include "../config/config.h"
#include "../store/store.h"

/* Logs, naming the store and the figures, when the server takes fewer
 * connections than the pipes marked in `runs` (and the HTTP service,
 * with `service`) need: an error when they cannot all run, a warning
 * when only their snapshots at once cannot. Nothing for SQLite. */
void connections_check(struct store *s, const struct config *cfg,
                       const bool *runs, bool service);

#endif
