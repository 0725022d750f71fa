/* man.h: the man pages sluice writes of itself (man.c), at build time, by
 * the hidden `sluice help --man 1` and `sluice help --man 5 [PLUGIN...]`.
 * The command table lives in cli.c, which passes it here: man.c never
 * calls back into the dispatch. */
#ifndef SLUICE_CLI_MAN_H
#define SLUICE_CLI_MAN_H

#include <stddef.h>
#include <stdio.h>

#include "command.h"

/* sluice(1): every command with its usage and help text, the options
 * every command takes, exit statuses, environment, files. */
void man_program(const struct command *commands, size_t count, FILE *out);

/* sluice.ini(5): the format, every section of the framework's option
 * tables, and every option of the plugins named (none: every plugin on
 * the search path). An exit status: EXIT_USAGE when a plugin named is not
 * found. */
int man_config(const char *const *names, size_t count, FILE *out);

#endif
