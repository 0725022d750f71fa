/* loader.c: opening a plugin file and checking it before anything of it is
 * used (after OBS's obs-module.c and PostgreSQL's LoadOutputPlugin).
 *
 * The order is: dlopen; find the descriptor function; check the
 * descriptor's size, magic and ABI version; call init, which registers
 * plugins through the host table; check each registration (size, name,
 * the callbacks its capabilities need, its option table: plugin.c, called
 * by the registrar of host.c). Any refusal
 * names the file and the reason, and refuses the whole module. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"
#include "host.h"
#include "plugin.h"

/* The smallest descriptor any ABI 1.x plugin can have: through `init`. */
#define MODULE_MIN_SIZE (offsetof(sluice_module, init) + sizeof(void *))

static int check_descriptor(const sluice_module *desc, struct error *err)
{
    if (!desc)
        return error_set(err, "its descriptor function returned NULL");
    if (desc->size < MODULE_MIN_SIZE)
        return error_set(err,
                         "descriptor is %u bytes, smaller than any "
                         "sluice ABI's (%zu)",
                         desc->size, (size_t)MODULE_MIN_SIZE);
    if (desc->magic != SLUICE_MODULE_MAGIC)
        return error_set(err,
                         "bad magic 0x%08x (expected 0x%08x): not built "
                         "with the sluice SDK",
                         desc->magic, SLUICE_MODULE_MAGIC);
    if (desc->abi_major != SLUICE_ABI_MAJOR)
        return error_set(err,
                         "built for plugin ABI %u.%u; this sluice has "
                         "ABI %d.%d and loads only ABI %d.x plugins",
                         desc->abi_major, desc->abi_minor, SLUICE_ABI_MAJOR,
                         SLUICE_ABI_MINOR, SLUICE_ABI_MAJOR);
    if (desc->abi_minor > SLUICE_ABI_MINOR)
        return error_set(err,
                         "built for plugin ABI %u.%u, newer than this "
                         "sluice's ABI %d.%d; upgrade sluice or rebuild "
                         "the plugin against an older SDK",
                         desc->abi_major, desc->abi_minor, SLUICE_ABI_MAJOR,
                         SLUICE_ABI_MINOR);
    if (desc->size > sizeof(sluice_module))
        return error_set(err,
                         "descriptor is %u bytes, larger than ABI "
                         "%u.%u's %zu",
                         desc->size, desc->abi_major, desc->abi_minor,
                         sizeof(sluice_module));
    if (!plugin_valid_name(desc->name))
        return error_set(err,
                         "module name '%s' is not 1 to 64 lower case "
                         "letters, digits and '_'",
                         desc->name ? desc->name : "(null)");
    if (!desc->init)
        return error_set(err, "descriptor has no init function");
    return 0;
}

void registrar_release(struct sluice_registrar *reg)
{
    for (size_t i = 0; i < reg->count; i++)
        plugin_free(reg->plugins[i]);
    free(reg->plugins);
    reg->plugins = NULL;
    reg->count = reg->cap = 0;
}

static bool registrar_has(const sluice_registrar *reg, const char *name)
{
    for (size_t i = 0; i < reg->count; i++)
        if (strcmp(reg->plugins[i]->name, name) == 0)
            return true;
    return false;
}

static sluice_status registrar_add(sluice_registrar *reg,
                                   enum plugin_kind kind, const void *info,
                                   size_t size, sluice_error *err)
{
    if (!reg)
        return sluice_fail(err, SLUICE_FATAL,
                           "registration outside the module's init");
    struct plugin *p = NULL;
    struct error why;
    int rc = plugin_from_info(kind, info, size, reg->module->desc.abi_minor,
                              &p, &why);
    if (rc == 0 && registrar_has(reg, p->name))
        rc = error_set(&why, "the module registers '%s' twice", p->name);
    if (rc < 0) {
        plugin_free(p);
        if (!reg->failed)
            reg->error = why;
        reg->failed = true;
        return sluice_fail(err, SLUICE_FATAL, "%s", why.message);
    }
    XGROW(reg->plugins, reg->cap, reg->count + 1);
    reg->plugins[reg->count++] = p;
    return SLUICE_OK;
}

sluice_status loader_register_source(sluice_registrar *reg,
                                     const sluice_source_info *info,
                                     size_t size, sluice_error *err)
{
    return registrar_add(reg, PLUGIN_SOURCE, info, size, err);
}

sluice_status loader_register_sink(sluice_registrar *reg,
                                   const sluice_sink_info *info, size_t size,
                                   sluice_error *err)
{
    return registrar_add(reg, PLUGIN_SINK, info, size, err);
}

sluice_status loader_register_retention(sluice_registrar *reg,
                                        const sluice_retention_info *info,
                                        size_t size, sluice_error *err)
{
    return registrar_add(reg, PLUGIN_RETENTION, info, size, err);
}

/* Opens `path` and runs its init. On success the module and its plugins
 * are returned; on failure nothing is kept (the file stays mapped if init
 * ran: see plugin.h). */
int module_open(const char *path, const sluice_host_api *host,
                struct module **out_module, struct plugin ***out_plugins,
                size_t *out_count, struct error *err)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return error_set(err, "%s: not a loadable shared object: %s", path,
                         dlerror());
    const sluice_module *(*descriptor)(void);
    void *sym = dlsym(handle, SLUICE_MODULE_SYMBOL);
    if (!sym) {
        dlclose(handle);
        return error_set(err,
                         "%s: not a sluice plugin: it exports no %s() "
                         "function (write one with SLUICE_MODULE)",
                         path, SLUICE_MODULE_SYMBOL);
    }
    memcpy(&descriptor, &sym, sizeof descriptor);
    const sluice_module *desc = descriptor();
    if (check_descriptor(desc, err) < 0) {
        dlclose(handle);
        return error_prefix(err, "%s", path);
    }
    struct module *m = xcalloc(1, sizeof *m);
    m->path = xstrdup(path);
    const char *slash = strrchr(path, '/');
    m->dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    m->handle = handle;
    memcpy(&m->desc, desc, desc->size);

    struct sluice_registrar reg = {.module = m};
    char message[512] = "";
    sluice_error perr = {message, sizeof message};
    sluice_status st = m->desc.init(&reg, host, &perr);
    if (reg.failed)
        error_set(err, "%s: %s", path, reg.error.message);
    else if (st != SLUICE_OK)
        error_set(err, "%s: init failed: %s", path,
                  message[0] ? message : "(the plugin gave no message)");
    else if (reg.count == 0)
        error_set(err, "%s: its init registered no plugin", path);
    if (reg.failed || st != SLUICE_OK || reg.count == 0) {
        registrar_release(&reg);
        free(m->path);
        free(m->dir);
        free(m);
        return -1;
    }
    for (size_t i = 0; i < reg.count; i++)
        reg.plugins[i]->module = m;
    *out_module = m;
    *out_plugins = reg.plugins;
    *out_count = reg.count;
    return 0;
}
