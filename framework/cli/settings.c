/* settings.c: flag, config file, environment, default (see settings.h). */
#include "settings.h"

#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
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

int setting_choose_named(const char *flag_name, const char *flag,
                         int configured, const char *env,
                         const char *const *names, const char *what,
                         int *index, struct error *err)
{
    const char *from;
    const char *name =
        setting_choose(flag_name, flag,
                       configured >= 0 ? names[configured] : NULL, env, &from);
    *index = -1;
    if (!name)
        return 0;
    struct buf all = {0};
    for (int i = 0; names[i]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *index = i;
            buf_free(&all);
            return 0;
        }
        buf_printf(&all, "%s%s", i ? ", " : "", names[i]);
    }
    error_set(err, "%s: '%s' is not a %s (%s)", from, name, what, all.data);
    buf_free(&all);
    return -1;
}

int log_settings_choose(const char *level_flag, const char *format_flag,
                        const struct service_settings *service,
                        sluice_log_level *level, enum log_format *format,
                        struct error *err)
{
    int l, f;
    if (setting_choose_named("--log-level", level_flag,
                             service ? service->log_level : -1,
                             "SLUICE_LOG_LEVEL", log_level_names, "log level",
                             &l, err) < 0 ||
        setting_choose_named("--log-format", format_flag,
                             service ? service->log_format : -1,
                             "SLUICE_LOG_FORMAT", log_format_names,
                             "log format", &f, err) < 0)
        return -1;
    *level = l >= 0 ? (sluice_log_level)(l + 1) : SLUICE_LOG_INFO;
    *format = f >= 0 ? (enum log_format)f : LOG_FORMAT_TEXT;
    return 0;
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
