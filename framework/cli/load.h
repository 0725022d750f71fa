/* load.h: what several commands share: reading a config file and loading
 * the plugins its search path finds. */
#ifndef SLUICE_CLI_LOAD_H
#define SLUICE_CLI_LOAD_H

#include <stdbool.h>

#include "../config/config.h"
#include "../plugin/plugin.h"
#include "../util/error.h"

/* Reads `config_path` (when not NULL), then scans the plugin search path
 * into `reg`. With `bind`, checks the plugin sections too. Problems go
 * into `diags`; -1 when the file cannot be read. The caller frees `cfg`
 * and `reg` in every case. */
int load_config_and_plugins(const char *config_path, bool bind,
                            struct config *cfg, struct registry *reg,
                            struct diags *diags, struct error *err);

/* One warning line per refused plugin file. */
void warn_refused(const struct registry *reg, struct diags *diags);

/* load_config_and_plugins with its problems reported (command.h): with
 * `warn`, each refused plugin file as a warning, then the file's errors.
 * EXIT_OK, or EXIT_USAGE when the file cannot be read or has errors (how
 * many: *errors, when not NULL). The caller frees `cfg` and `reg` in
 * every case. */
int load_reported(const char *config_path, bool bind, bool warn,
                  struct config *cfg, struct registry *reg, size_t *errors);

#endif
