/* service.h: the HTTP endpoints of sluice run ([service] http_listen),
 * served by libmicrohttpd, a thread per connection, over HTTPS when
 * [service] has TLS files:
 *   GET /metrics  Prometheus text format (prometheus.h): the pipes' and
 *                 tables' figures, the plugins' own metrics.
 *   GET /health   JSON, ok or degraded (200) or failing (503), with an
 *                 entry per pipe (health.h).
 *   /v1/...       the control API, and / the status page (api.h), when a
 *                 token file or api_read_open turns them on. */
#ifndef SLUICE_RUNTIME_SERVICE_H
#define SLUICE_RUNTIME_SERVICE_H

#include "../api/api.h"
#include "../config/config.h"
#include "../util/error.h"

struct service;

/* Starts listening on the settings' http_listen (HOST:PORT) for the pipes
 * named, with their health thresholds, and the API with its tokens and
 * its context. The names and the context are borrowed for the life of
 * the service. */
int service_start(const struct service_settings *settings,
                  const struct api_context *context, const char *store_url,
                  const char *const *pipes, size_t count, struct service **out,
                  struct error *err);
/* Whether it serves the API and the page; whether over HTTPS; whether
 * on a loopback address only. */
bool service_api(const struct service *svc);
bool service_tls(const struct service *svc);
bool service_loopback(const struct service *svc);
void service_stop(struct service *svc);

#endif
