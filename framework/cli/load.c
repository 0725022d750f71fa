/* load.c: config and plugins for commands (see load.h). */
#include "load.h"

#include <stdlib.h>
#include <string.h>

#include "command.h"

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
    if (config_path && bind) {
        config_bind_plugins(cfg, reg, diags);
        config_check_destinations(cfg, diags);
    }
    return 0;
}

void warn_refused(const struct registry *reg, struct diags *diags)
{
    for (size_t i = 0; i < reg->refused_count; i++)
        diags_warning(diags, "plugin refused: %s", reg->refused[i].reason);
}

int load_reported(const char *config_path, bool bind, bool warn,
                  struct config *cfg, struct registry *reg, size_t *errors)
{
    struct diags diags = {0};
    struct error err;
    int status = EXIT_OK;
    if (load_config_and_plugins(config_path, bind, cfg, reg, &diags, &err) <
        0) {
        status = cli_error(EXIT_USAGE, "%s", err.message);
    } else {
        if (warn)
            warn_refused(reg, &diags);
        cli_print_diags(&diags);
        status = diags.count ? EXIT_USAGE : EXIT_OK;
    }
    if (errors)
        *errors = diags.count;
    diags_free(&diags);
    return status;
}
