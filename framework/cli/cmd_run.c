/* cmd_run.c: sluice run CONFIG.ini [--pipe NAME]... [--bytes]: the main
 * job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/runtime.h"
#include "../util/mem.h"
#include "cli.h"
#include "load.h"
#include "settings.h"

int cmd_run(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config_path = NULL, *path = NULL;
    const char **only = xcalloc((size_t)argc + 1, sizeof *only);
    size_t only_count = 0, npos;
    bool raw_bytes = false;
    struct flag flags[] = {OPTION("--store", &store_url),
                           CONFIG_FLAGS(config_path),
                           REPEATED("--pipe", only, &only_count),
                           FLAG("--bytes", &raw_bytes)};
    int rc = CLI_ARGS(cmd, argc, argv, flags, 1, &npos);
    if (rc == CLI_GO_ON)
        rc = cli_config_path(cmd, config_path, npos, argv, &path);
    if (rc != CLI_GO_ON) {
        free(only);
        return rc;
    }
    struct config cfg;
    struct registry reg;
    int status = load_reported(path, true, true, &cfg, &reg, NULL);
    if (status == EXIT_OK && cli_log_settings(cmd, &cfg.service) != CLI_GO_ON)
        status = EXIT_USAGE;
    const char *url = store_url_of(store_url, &cfg);
    if (status == EXIT_OK && !cli_store_url_ok(url))
        status = EXIT_USAGE;
    if (status == EXIT_OK)
        status =
            runtime_run(&cfg, &reg, url, (char **)only, only_count, raw_bytes);
    config_free(&cfg);
    registry_free(&reg);
    free(only);
    return status;
}
