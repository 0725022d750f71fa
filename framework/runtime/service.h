/* service.h: the HTTP endpoints of sluice run ([service] http_listen),
 * served by libmicrohttpd on a thread of its own with a store connection
 * of its own:
 *   GET /metrics  Prometheus text format (prometheus.h): the pipes' and
 *                 tables' figures, the plugins' own metrics.
 *   GET /health   JSON, ok or degraded (200) or failing (503), with an
 *                 entry per pipe (health.h). */
#ifndef SLUICE_RUNTIME_SERVICE_H
#define SLUICE_RUNTIME_SERVICE_H

#include "../config/config.h"
#include "../util/error.h"

struct service;

/* Starts listening on the settings' http_listen (HOST:PORT) for the pipes
 * named, with their health thresholds. The names are borrowed for the
 * life of the service. */
int service_start(const struct service_settings *settings,
                  const char *store_url, const char *const *pipes,
                  size_t count, struct service **out, struct error *err);
void service_stop(struct service *svc);

#endif
