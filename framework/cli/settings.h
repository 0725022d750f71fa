/* settings.h: a setting that a command takes from its flag, else from the
 * config file, else from an environment variable, else from its default.
 * This is the one place of that order, for every such setting: the store
 * (--store URL, [store] url, SLUICE_STORE, sqlite:./sluice.db), the log
 * level (--log-level, [service] log_level, SLUICE_LOG_LEVEL, info) and the
 * log's form (--log-format, [service] log_format, SLUICE_LOG_FORMAT,
 * text). */
#ifndef SLUICE_CLI_SETTINGS_H
#define SLUICE_CLI_SETTINGS_H

#include "../config/config.h"
#include "../util/error.h"
#include "../util/log.h"

/* The first given of `flag`, `configured` (the file's value) and the
 * environment variable `env` (unset or empty: not given); NULL when none
 * is. `from`, when not NULL, gets where the value came from: `flag_name`,
 * "config" or `env`. */
const char *setting_choose(const char *flag_name, const char *flag,
                           const char *configured, const char *env,
                           const char **from);

/* The same for a setting that names one of `names` (NULL-ended), a
 * `what` ("log level"): `configured` is an index in `names` (-1: not
 * set); *index gets the index of the name given, -1 when none is. -1 when
 * the name given is none of `names`, `err` saying which, where it came
 * from and what `names` are. */
int setting_choose_named(const char *flag_name, const char *flag,
                         int configured, const char *env,
                         const char *const *names, const char *what,
                         int *index, struct error *err);

/* The store's URL: --store `flag`, else [store] url of `cfg` (NULL: no
 * config file), else SLUICE_STORE, else sqlite:./sluice.db. Borrowed from
 * the arguments, the config or the environment. */
const char *store_url_of(const char *flag, const struct config *cfg);

/* The same for a command given the file's path: the file is read only
 * when there is no --store. -1 when it cannot be read (`err`) or has
 * errors (`diags`); otherwise *url, which the caller frees. */
/* The log's level and form: --log-level `level_flag`, else [service]
 * log_level of `service` (NULL: no config file), else SLUICE_LOG_LEVEL,
 * else info; --log-format `format_flag`, else [service] log_format, else
 * SLUICE_LOG_FORMAT, else text. -1 when a name given is not a level or a
 * form, `err` saying which and where it came from. */
int log_settings_choose(const char *level_flag, const char *format_flag,
                        const struct service_settings *service,
                        sluice_log_level *level, enum log_format *format,
                        struct error *err);

int store_url_for(const char *flag, const char *config_path, char **url,
                  struct diags *diags, struct error *err);

#endif
