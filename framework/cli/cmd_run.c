/* cmd_run.c: sluice run CONFIG.ini [--pipe NAME]...: the main job. */
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
    /* --pipe repeats: gather it before the common parser */
    char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--pipe") && i + 1 < argc)
            only[only_count++] = argv[++i];
        else
            rest[nrest++] = argv[i];
    }
    struct flag flags[] = {{"--store", &store_url, NULL}};
    char **pos;
    size_t npos;
    int rc = cli_parse(cmd, nrest, rest, flags, 1, &pos, &npos);
    free(rest);
    if (rc != 0) {
        free(only);
        return rc < 0 ? EXIT_USAGE : EXIT_OK;
    }
    const char *path = npos == 1 ? pos[0] : NULL;
    free(pos);
    if (!path) {
        free(only);
        return cli_usage_error(cmd, "which config file?");
    }
    struct config cfg;
    struct registry reg;
    struct diags d = {0};
    struct error err;
    int status = EXIT_OK;
    if (load_config_and_plugins(path, true, &cfg, &reg, &d, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_USAGE;
    } else {
        warn_refused(&reg, &d);
        print_diags(&d);
        if (d.count)
            status = EXIT_USAGE;
    }
    if (status == EXIT_OK) {
        status = runtime_run(&cfg, &reg, store_url_of(store_url, &cfg), only,
                             only_count);
    }
    diags_free(&d);
    config_free(&cfg);
    registry_free(&reg);
    free(only);
    return status;
}
