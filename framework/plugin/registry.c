/* registry.c: the plugins this process has loaded, where they were found,
 * and the files that were refused (see plugin.h for the rules). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/mem.h"
#include "host.h"
#include "plugin.h"

#ifndef SLUICE_PLUGIN_DIR
#define SLUICE_PLUGIN_DIR "/usr/local/lib/sluice/plugins"
#define SLUICE_PLUGIN_DIR_FROM_BIN "../lib/sluice/plugins"
#endif

/* The plugin directory of the install this program belongs to: found from
 * the program's own path, so that an install moved to another prefix still
 * finds its plugins; the configured path when that cannot be read. Shown
 * as the real path (/usr/lib/..., not /usr/bin/../lib/...) when it
 * exists. */
const char *plugin_install_dir(void)
{
    static char *dir; /* computed once, kept for the process */
    if (dir)
        return dir;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    if (slash) {
        *slash = '\0';
        dir = xasprintf("%s/%s", exe, SLUICE_PLUGIN_DIR_FROM_BIN);
    } else {
        dir = xstrdup(SLUICE_PLUGIN_DIR);
    }
    char *real = realpath(dir, NULL);
    if (real) {
        free(dir);
        dir = real;
    }
    return dir;
}

const char *plugin_configured_dir(void)
{
    return SLUICE_PLUGIN_DIR;
}

void registry_init(struct registry *reg)
{
    memset(reg, 0, sizeof *reg);
}

void registry_free(struct registry *reg)
{
    for (size_t i = 0; i < reg->module_count; i++) {
        struct module *m = reg->modules[i];
        if (m->desc.fini)
            m->desc.fini();
        free(m->path);
        free(m->dir);
        free(m);
    }
    for (size_t i = 0; i < reg->count; i++)
        plugin_free(reg->plugins[i]);
    for (size_t i = 0; i < reg->refused_count; i++) {
        free(reg->refused[i].path);
        free(reg->refused[i].reason);
    }
    for (size_t i = 0; i < reg->shadowed_count; i++) {
        free(reg->shadowed[i].name);
        free(reg->shadowed[i].path);
        free(reg->shadowed[i].used_path);
    }
    for (size_t i = 0; i < reg->dir_count; i++)
        free(reg->dirs[i]);
    free(reg->modules);
    free(reg->plugins);
    free(reg->refused);
    free(reg->shadowed);
    free(reg->dirs);
    memset(reg, 0, sizeof *reg);
}

struct plugin *registry_find(const struct registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->count; i++)
        if (strcmp(reg->plugins[i]->name, name) == 0)
            return reg->plugins[i];
    return NULL;
}

/* What to do with a name the registry already has. */
enum conflict_rule {
    CONFLICT_REFUSE,          /* explicit loads: always refuse */
    CONFLICT_SHADOW_OTHER_DIR /* scans: shadow across directories */
};

static void add_shadowed(struct registry *reg, const struct plugin *p,
                         const struct plugin *used)
{
    XGROW(reg->shadowed, reg->shadowed_cap, reg->shadowed_count + 1);
    reg->shadowed[reg->shadowed_count++] =
        (struct shadowed){xstrdup(p->name), xstrdup(p->module->path),
                          xstrdup(used->module->path)};
}

static int add_module(struct registry *reg, const char *path,
                      enum conflict_rule rule, struct error *err)
{
    struct module *m;
    struct plugin **plugins;
    size_t count;
    if (module_open(path, host_api(), &m, &plugins, &count, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct plugin *old = registry_find(reg, plugins[i]->name);
        if (old &&
            (rule == CONFLICT_REFUSE || strcmp(old->module->dir, m->dir) == 0))
            rc = error_set(err,
                           "%s: %s '%s' is also provided by %s; remove "
                           "one of the two files",
                           path, plugin_kind_name(plugins[i]->kind),
                           plugins[i]->name, old->module->path);
    }
    for (size_t i = 0; i < count; i++) {
        struct plugin *old = registry_find(reg, plugins[i]->name);
        if (rc == 0 && !old) {
            XGROW(reg->plugins, reg->cap, reg->count + 1);
            reg->plugins[reg->count++] = plugins[i];
            continue;
        }
        if (rc == 0)
            add_shadowed(reg, plugins[i], old);
        plugin_free(plugins[i]);
    }
    free(plugins);
    /* The module stays mapped either way: its init has run. */
    XGROW(reg->modules, reg->module_cap, reg->module_count + 1);
    reg->modules[reg->module_count++] = m;
    return rc;
}

int registry_load_file(struct registry *reg, const char *path,
                       struct error *err)
{
    return add_module(reg, path, CONFLICT_REFUSE, err);
}

static void refuse(struct registry *reg, const char *path, const char *reason)
{
    XGROW(reg->refused, reg->refused_cap, reg->refused_count + 1);
    reg->refused[reg->refused_count++] =
        (struct refusal){xstrdup(path), xstrdup(reason)};
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_plugin_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static void scan_dir(struct registry *reg, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_plugin_file(e->d_name))
            continue;
        XGROW(names, cap, count + 1);
        names[count++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (count) /* names is NULL in a directory without plugins */
        qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        struct error err;
        if (add_module(reg, path, CONFLICT_SHADOW_OTHER_DIR, &err) < 0)
            refuse(reg, path, err.message);
        free(path);
        free(names[i]);
    }
    free(names);
}

void registry_scan(struct registry *reg, const char *const *dirs,
                   size_t dir_count)
{
    for (size_t i = 0; i < dir_count; i++) {
        bool seen = false;
        for (size_t j = 0; j < reg->dir_count; j++)
            seen = seen || strcmp(reg->dirs[j], dirs[i]) == 0;
        if (seen)
            continue;
        XGROW(reg->dirs, reg->dir_cap, reg->dir_count + 1);
        reg->dirs[reg->dir_count++] = xstrdup(dirs[i]);
        scan_dir(reg, dirs[i]);
    }
}

char **plugin_search_path(const char *const *config_dirs, size_t config_count,
                          size_t *count)
{
    char **dirs = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < config_count; i++) {
        XGROW(dirs, cap, n + 1);
        dirs[n++] = xstrdup(config_dirs[i]);
    }
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    while (env && *env) {
        size_t len = strcspn(env, ":");
        if (len) {
            XGROW(dirs, cap, n + 1);
            dirs[n++] = xstrndup(env, len);
        }
        env += len + (env[len] == ':');
    }
    XGROW(dirs, cap, n + 1);
    dirs[n++] = xstrdup(plugin_install_dir());
    *count = n;
    return dirs;
}
