/* settings.c: flag, config file, environment, default (see settings.h). */
#include "settings.h"

#include <stdlib.h>

#include "../store/store.h"
#include "../util/mem.h"

const char *setting_choose(const char *flag_name, const char *flag,
                           const char *configured, const char *env,
                           const char **from)
{
    const char *from_env = getenv(env);
    const char *value = flag                      ? flag
                        : configured              ? configured
                        : from_env && from_env[0] ? from_env
                                                  : NULL;
    if (from)
        *from = flag ? flag_name : configured ? "config" : value ? env : NULL;
    return value;
}

const char *store_url_of(const char *flag, const struct config *cfg)
{
    const char *url =
        setting_choose("--store", flag, cfg ? cfg->store.url : NULL,
                       "SLUICE_STORE", NULL);
    return url ? url : STORE_DEFAULT_URL;
}

int log_level_choose(const char *flag, int configured, sluice_log_level *out,
                     struct error *err)
{
    const char *from;
    const char *name =
        setting_choose("--log-level", flag,
                       configured >= 0 ? log_level_names[configured] : NULL,
                       "SLUICE_LOG_LEVEL", &from);
    *out = SLUICE_LOG_INFO;
    if (!name || log_level_named(name, out) == 0)
        return 0;
    return error_set(err,
                     "%s: '%s' is not a log level (error, warn, info, "
                     "debug)",
                     from, name);
}

int store_url_for(const char *flag, const char *config_path, char **url,
                  struct diags *diags, struct error *err)
{
    struct config cfg;
    int rc = 0;
    bool loaded = !flag && config_path;
    if (loaded &&
        (config_load(config_path, &cfg, diags, err) < 0 || diags->count))
        rc = -1;
    *url = rc == 0 ? xstrdup(store_url_of(flag, loaded ? &cfg : NULL)) : NULL;
    if (loaded)
        config_free(&cfg);
    return rc;
}
