/* sluice/module.h: the one symbol a plugin file exports.
 *
 * A plugin file (a shared object) exports exactly one function, named by
 * SLUICE_MODULE_SYMBOL, that returns a constant descriptor (after
 * PostgreSQL's PG_MODULE_MAGIC: a function, because dlsym is only
 * guaranteed for functions, and a descriptor that begins with its own
 * size). SLUICE_MODULE writes that function. The loader checks size, magic
 * and ABI version before it calls anything else; then it calls `init`,
 * which registers the module's plugins through the host table:
 *
 *     static sluice_status init(sluice_registrar *reg,
 *                               const sluice_host_api *host,
 *                               sluice_error *err)
 *     {
 *         return host->register_sink(reg, &my_sink, sizeof my_sink, err);
 *     }
 *     SLUICE_MODULE("my_sink", "1.0.0", "MIT", "Writes to ...", init, NULL)
 *
 * `init` runs once, on the loading thread, before any plugin is used. The
 * host table it receives stays valid for the life of the process. `fini`,
 * when present, runs once when the core is done with every plugin of the
 * module (at exit); the core may never unload the file itself. */
#ifndef SLUICE_MODULE_H
#define SLUICE_MODULE_H

#include <stdint.h>

#include "host.h"
#include "status.h"
#include "version.h"

#define SLUICE_MODULE_MAGIC 0x534c5543u /* "SLUC" */
#define SLUICE_MODULE_SYMBOL "sluice_module_descriptor"

typedef sluice_status (*sluice_module_init_fn)(sluice_registrar *reg,
                                               const sluice_host_api *host,
                                               sluice_error *err);

typedef struct sluice_module {
    uint32_t size;  /* sizeof(sluice_module) as the plugin was built */
    uint32_t magic; /* SLUICE_MODULE_MAGIC */
    uint16_t abi_major, abi_minor; /* SLUICE_ABI_* the plugin was built with */
    const char *name;        /* the module (file) name, e.g. "source_mongo" */
    const char *version;     /* the module's own release, e.g. "1.2.0" */
    const char *license;     /* SPDX identifier, e.g. "Apache-2.0" */
    const char *description; /* one line */
    sluice_module_init_fn init; /* required */
    void (*fini)(void);         /* optional */
} sluice_module;

#if defined(__GNUC__)
#define SLUICE_EXPORT __attribute__((visibility("default")))
#else
#define SLUICE_EXPORT
#endif

#define SLUICE_MODULE(name_, version_, license_, description_, init_, fini_)  \
    SLUICE_EXPORT const sluice_module *sluice_module_descriptor(void);        \
    SLUICE_EXPORT const sluice_module *sluice_module_descriptor(void)         \
    {                                                                         \
        static const sluice_module module = {sizeof(sluice_module),           \
                                             SLUICE_MODULE_MAGIC,             \
                                             SLUICE_ABI_MAJOR,                \
                                             SLUICE_ABI_MINOR,                \
                                             (name_),                         \
                                             (version_),                      \
                                             (license_),                      \
                                             (description_),                  \
                                             (init_),                         \
                                             (fini_)};                        \
        return &module;                                                       \
    }

#endif
