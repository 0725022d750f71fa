/* cmd_store.c: sluice store migrate: besides sluice run and sluice topic
 * create, the one command that creates a store or upgrades its schema,
 * for an operator who upgrades sluice without running pipes (the other
 * commands take the store as it is, see store.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_store_migrate(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    struct flag flags[] = {STORE_FLAGS(sf)};
    size_t nargs;
    int rc = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    char *url = cli_store_url(&sf);
    if (!url)
        return EXIT_USAGE;
    /* the version it had, for the message: 0 when it could not be read as
     * it is (missing, never set up) */
    int before = 0, after = 0;
    struct store *s = NULL;
    struct error err;
    if (store_open(url, STORE_READ, &s, &err) == 0 &&
        store_schema_version(s, &before, &err) < 0)
        before = 0;
    store_close(s);
    s = NULL;
    int status = EXIT_OK;
    if (store_open(url, STORE_CREATE, &s, &err) < 0 ||
        store_schema_version(s, &after, &err) < 0) {
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    } else if (before == after) {
        printf("store %s: schema version %d, already current\n", store_name(s),
               after);
    } else if (before) {
        printf("store %s: schema version %d, was %d\n", store_name(s), after,
               before);
    } else {
        printf("store %s: schema version %d, set up new\n", store_name(s),
               after);
    }
    store_close(s);
    free(url);
    return status;
}
