/* load.h: what several commands share: reading a config file and loading
 * the plugins its search path finds, with problems printed the same way
 * by every command. */
#ifndef SLUICE_CLI_LOAD_H
#define SLUICE_CLI_LOAD_H

#include <stdbool.h>

#include "../config/config.h"
#include "../plugin/plugin.h"
#include "../store/store.h"
#include "../util/error.h"

/* Reads `config_path` (when not NULL), then scans the plugin search path
 * into `reg`. With `bind`, checks the plugin sections too. Problems go
 * into `diags`; -1 when the file cannot be read. The caller frees `cfg`
 * and `reg` in every case. */
int load_config_and_plugins(const char *config_path, bool bind,
                            struct config *cfg, struct registry *reg,
                            struct diags *diags, struct error *err);

/* Prints warnings, then errors, one per line, on stderr. */
void print_diags(const struct diags *diags);

/* One warning line per refused plugin file. */
void warn_refused(const struct registry *reg, struct diags *diags);

/* The store a command uses (settings.h: store_url_for); NULL, after
 * printing why, when the config file is bad. The caller frees the URL. */
char *store_url_or_say(const char *store_flag, const char *config_path);

/* That store, opened with the command's intent (store.h). Prints why on
 * failure and returns the exit status; EXIT_OK with *out open. */
int open_store(const char *store_flag, const char *config_path,
               enum store_intent intent, struct store **out);

#endif
