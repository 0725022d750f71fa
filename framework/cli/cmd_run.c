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
    const char *store_url = NULL;
    char **only = xcalloc((size_t)argc + 1, sizeof *only);
    size_t only_count = 0;
    /* --pipe repeats: gathered before the common parser, which parses
     * the rest, moved to the front of argv */
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--pipe") && i + 1 < argc)
            only[only_count++] = argv[++i];
        else
            argv[nrest++] = argv[i];
    }
    bool raw_bytes = false;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--bytes", NULL, &raw_bytes}};
    size_t npos;
    int rc = CLI_ARGS(cmd, nrest, argv, flags, ARGS_ANY, &npos);
    const char *path = rc == CLI_GO_ON && npos == 1 ? argv[0] : NULL;
    if (rc != CLI_GO_ON || !path) {
        free(only);
        return rc != CLI_GO_ON ? rc
                               : cli_usage_error(cmd, "which config file?");
    }
    struct config cfg;
    struct registry reg;
    int status = load_reported(path, true, true, &cfg, &reg, NULL);
    if (status == EXIT_OK &&
        cli_log_level(cmd, cfg.service.log_level) != CLI_GO_ON)
        status = EXIT_USAGE;
    if (status == EXIT_OK)
        status = runtime_run(&cfg, &reg, store_url_of(store_url, &cfg), only,
                             only_count, raw_bytes);
    config_free(&cfg);
    registry_free(&reg);
    free(only);
    return status;
}
