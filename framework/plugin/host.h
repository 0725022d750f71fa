/* host.h: the core's side of the host API table (sdk/include/sluice/
 * host.h): the table itself, the registrar that collects a module's
 * registrations during init, and plugin contexts with their metrics. */
#ifndef SLUICE_PLUGIN_HOST_H
#define SLUICE_PLUGIN_HOST_H

#include <pthread.h>
#include <sluice/sluice.h>
#include <stdbool.h>

#include "../util/error.h"
#include "plugin.h"

struct sluice_registrar {
    struct module *module;
    struct plugin **plugins;
    size_t count, cap;
    bool failed; /* a registration was refused: the module is refused */
    struct error error;
};

/* The one host table of this process. */
const sluice_host_api *host_api(void);

struct metric {
    char *name;
    bool gauge;
    double value;
};

struct sluice_context {
    char *plugin; /* for log lines: "plugin[pipe]" */
    char *pipe;   /* may be NULL */
    pthread_mutex_t lock;
    struct metric *metrics;
    size_t metric_count, metric_cap;
};

/* From now on the host's should_stop says yes to every plugin: the calls
 * in progress are to be given up (a stop that has waited for them). */
void host_abandon_calls(void);
bool host_abandoning(void);

sluice_context *context_new(const char *plugin, const char *pipe);
void context_free(sluice_context *ctx);
/* The value of a metric this context counted or set (metrics.c), or 0
 * when it never did. */
double context_metric(sluice_context *ctx, const char *name);

/* ---- loader.c ---- */

/* Opens one file and runs its init with `host` (see registry_load_file
 * for the rules). */
int module_open(const char *path, const sluice_host_api *host,
                struct module **out_module, struct plugin ***out_plugins,
                size_t *out_count, struct error *err);
/* Frees the plugins a refused module had registered. */
void registrar_release(struct sluice_registrar *reg);
/* The registration functions of the host table. */
sluice_status loader_register_source(sluice_registrar *reg,
                                     const sluice_source_info *info,
                                     size_t size, sluice_error *err);
sluice_status loader_register_sink(sluice_registrar *reg,
                                   const sluice_sink_info *info, size_t size,
                                   sluice_error *err);
sluice_status loader_register_retention(sluice_registrar *reg,
                                        const sluice_retention_info *info,
                                        size_t size, sluice_error *err);

#endif
