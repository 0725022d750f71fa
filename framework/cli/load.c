/* load.c: config and plugins for commands (see load.h). */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"
#include "cli.h"
#include "settings.h"

int load_config_and_plugins(const char *config_path, bool bind,
                            struct config *cfg, struct registry *reg,
                            struct diags *diags, struct error *err)
{
    memset(cfg, 0, sizeof *cfg);
    registry_init(reg);
    if (config_path && config_load(config_path, cfg, diags, err) < 0)
        return -1;
    size_t dir_count;
    char **dirs = plugin_search_path((const char *const *)cfg->plugin_dirs,
                                     cfg->plugin_dir_count, &dir_count);
    registry_scan(reg, (const char *const *)dirs, dir_count);
    for (size_t i = 0; i < dir_count; i++)
        free(dirs[i]);
    free(dirs);
    if (config_path && bind)
        config_bind_plugins(cfg, reg, diags);
    return 0;
}

void warn_refused(const struct registry *reg, struct diags *diags)
{
    for (size_t i = 0; i < reg->refused_count; i++)
        diags_warning(diags, "plugin refused: %s", reg->refused[i].reason);
}

void print_diags(const struct diags *diags)
{
    for (size_t i = 0; i < diags->warning_count; i++)
        fprintf(stderr, "warning: %s\n", diags->warnings[i]);
    for (size_t i = 0; i < diags->count; i++)
        fprintf(stderr, "error: %s\n", diags->errors[i]);
}

char *store_url_or_say(const char *store_flag, const char *config_path)
{
    struct diags diags = {0};
    struct error err;
    char *url;
    if (store_url_for(store_flag, config_path, &url, &diags, &err) < 0) {
        if (diags.count)
            print_diags(&diags);
        else
            fprintf(stderr, "error: %s\n", err.message);
    }
    diags_free(&diags);
    return url;
}

int open_store(const char *store_flag, const char *config_path,
               enum store_intent intent, struct store **out)
{
    char *url = store_url_or_say(store_flag, config_path);
    if (!url)
        return EXIT_USAGE;
    struct error err;
    int rc = store_open(url, intent, out, &err);
    free(url);
    if (rc < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}
