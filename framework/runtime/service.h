/* service.h: the HTTP endpoints of sluice run ([service] http_listen),
 * served by libmicrohttpd on a thread of its own with a store connection
 * of its own:
 *   GET /metrics  Prometheus text format: per pipe its state, retries and
 *                 batches; per table rows, bytes, estimate, rate and lag;
 *                 the plugins' own counters and gauges.
 *   GET /health   200 with {"status":"ok",...} when the store answers and
 *                 no pipe of this process has failed; 503 otherwise, with
 *                 the reason. */
#ifndef SLUICE_RUNTIME_SERVICE_H
#define SLUICE_RUNTIME_SERVICE_H

#include "../util/error.h"

struct service;

/* Starts listening on `listen` (HOST:PORT) for the pipes named. The names
 * are borrowed for the life of the service. */
int service_start(const char *listen, const char *store_url,
                  const char *const *pipes, size_t count, struct service **out,
                  struct error *err);
void service_stop(struct service *svc);

#endif
