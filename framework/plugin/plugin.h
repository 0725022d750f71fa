/* plugin.h: plugins as the core knows them once loaded, and the registry
 * that holds them.
 *
 * A module is one loaded file; it registers one or more plugins. The core
 * keeps its own zero-extended copy of every descriptor and info struct (so
 * a field beyond the size a plugin was built with reads as zero/NULL) and
 * a normalized copy of every option table. Modules are never unloaded once
 * their init has run: a module may have registered exit handlers or
 * threads-local state that must outlive us. The registry owns every module
 * and plugin in it. */
#ifndef SLUICE_PLUGIN_PLUGIN_H
#define SLUICE_PLUGIN_PLUGIN_H

#include <sluice/sluice.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util/error.h"

enum plugin_kind { PLUGIN_SOURCE, PLUGIN_SINK, PLUGIN_RETENTION };

struct module {
    char *path;
    char *dir;
    void *handle;
    sluice_module desc; /* zero-extended copy */
};

struct plugin {
    enum plugin_kind kind;
    struct module *module;
    const char *name; /* in the module's memory: lives while loaded */
    const char *description;
    uint32_t capabilities, flags;
    sluice_option *options; /* normalized copy, owned */
    size_t option_count;
    size_t config_size;
    sluice_open_fn open; /* from the head every kind shares */
    sluice_close_fn close;
    union {
        sluice_source_info source;
        sluice_sink_info sink;
        sluice_retention_info retention;
    } info; /* zero-extended copy */
};

struct refusal {
    char *path;
    char *reason;
};

/* A plugin that an earlier directory of the search path already provides. */
struct shadowed {
    char *name;
    char *path; /* the file not used */
    char *used_path;
};

struct registry {
    struct module **modules;
    size_t module_count, module_cap;
    struct plugin **plugins;
    size_t count, cap;
    struct refusal *refused;
    size_t refused_count, refused_cap;
    struct shadowed *shadowed;
    size_t shadowed_count, shadowed_cap;
    char **dirs; /* the directories searched, in order */
    size_t dir_count, dir_cap;
};

const char *plugin_kind_name(enum plugin_kind kind);
/* Capability names of a plugin, e.g. "snapshot, cdc", or "-". */
void plugin_capability_names(const struct plugin *p, char *out, size_t size);

void registry_init(struct registry *reg);
void registry_free(struct registry *reg);

/* Loads one file. Every refusal is returned with a message that names the
 * file and the reason; a file refused is not in the registry afterwards. A
 * plugin name that the registry already has is refused. */
int registry_load_file(struct registry *reg, const char *path,
                       struct error *err);

/* Loads every *.so file of each directory in order. Refused files are
 * recorded in reg->refused. A name that an earlier directory provides is
 * shadowed (first found wins, as in PATH); a name that two files of one
 * directory provide refuses the later file. Missing directories are
 * skipped. */
void registry_scan(struct registry *reg, const char *const *dirs,
                   size_t dir_count);

/* The search path: `config_dirs` ([plugins] path, already resolved), then
 * the entries of SLUICE_PLUGIN_PATH (':'-separated), then the install
 * directory. The caller frees each string and the array. */
char **plugin_search_path(const char *const *config_dirs, size_t config_count,
                          size_t *count);

struct plugin *registry_find(const struct registry *reg, const char *name);

/* Whether a module's or plugin's name is 1 to 64 lower case letters,
 * digits and '_'. */
bool plugin_valid_name(const char *name);

/* The core's part of registration (plugin.c): checks an info struct of
 * `size` bytes, from a module built for ABI 1.`abi_minor`, and builds the
 * core's plugin from it. */
int plugin_from_info(enum plugin_kind kind, const void *info, size_t size,
                     unsigned abi_minor, struct plugin **out,
                     struct error *err);
void plugin_free(struct plugin *p);

/* The directory the shipped plugins are installed in. */
const char *plugin_install_dir(void);
/* The plugin directory the build was configured with, under the install
 * prefix: what the man page names. */
const char *plugin_configured_dir(void);

/* A plugin's message for the core to show after naming the plugin itself
 * ("source NAME: ..."): without the "NAME: " the plugin started it with
 * (message.c), or "(the plugin gave no message)". Borrowed from
 * `message`. */
const char *plugin_message(const char *plugin, const char *message);

#endif
