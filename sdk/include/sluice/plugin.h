/* sluice/plugin.h: what every kind of plugin has in common.
 *
 * A plugin is one source, sink or retention policy registered by a module.
 * Its info struct starts with the fields below (SLUICE_PLUGIN_HEAD), in the
 * same order for every kind, then the kind's callbacks.
 *
 * Instances: the core fills a zeroed config struct of `config_size` bytes
 * from the option table and calls `open(ctx, config, &instance, err)`.
 * `open` makes the instance and may connect, but changes nothing anywhere:
 * `sluice check --connect` opens every plugin of a file to ask it `ping`,
 * and the conformance kit opens fresh instances again and again. What a
 * pipe needs made is made later: a sink's destinations in setup_table
 * (and claim), a source's CDC state in snapshot_begin or cdc_start. The
 * config struct and every string and list in it are owned by the core and
 * stay valid until `close(instance)` returns; the instance is owned by the
 * plugin and freed by `close`. One instance is called from one thread at a
 * time, unless the plugin sets SLUICE_PLUGIN_THREAD_SAFE. A plugin never
 * exits, aborts, longjmps, installs signal handlers, or keeps threads
 * running after `close` returns. */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "options.h"
#include "status.h"

/* flags */
#define SLUICE_PLUGIN_THREAD_SAFE                                             \
    0x1u /* an instance may be called from                                    \
            several threads at once */

typedef sluice_status (*sluice_open_fn)(sluice_context *ctx,
                                        const void *config, void **instance,
                                        sluice_error *err);
typedef void (*sluice_close_fn)(void *instance);

/* size: sizeof the info struct as built; name: unique among all plugins,
 * lower case, digits and '_'; capabilities: the kind's SLUICE_*_ flags;
 * the core refuses a plugin that declares a capability without the
 * callbacks it needs, naming the missing one. */
#define SLUICE_PLUGIN_HEAD                                                    \
    uint32_t size;                                                            \
    const char *name;                                                         \
    const char *description;                                                  \
    uint32_t capabilities;                                                    \
    uint32_t flags;                                                           \
    const sluice_option *options;                                             \
    size_t option_size;                                                       \
    size_t config_size;                                                       \
    sluice_open_fn open;                                                      \
    sluice_close_fn close

#endif
