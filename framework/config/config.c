/* config.c: the framework's sections of a sluice INI file, and the binding
 * of pipes and topics to plugins (see config.h). */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../hub/hub.h"
#include "../options/option_text.h"
#include "../options/options.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/mem.h"

const char *const pipe_mode_names[] = {"snapshot", "cdc", "snapshot+cdc",
                                       NULL};

#define OPT(type_, name_, def_, flags_, st_, field_, desc_)                   \
    {                                                                         \
        .type = (type_), .name = (name_), .default_value = (def_),            \
        .flags = (flags_), .offset = offsetof(st_, field_),                   \
        .description = (desc_)                                                \
    }
#define RANGED(type_, name_, def_, st_, field_, lo_, hi_, desc_)              \
    {                                                                         \
        .type = (type_), .name = (name_), .default_value = (def_),            \
        .flags = SLUICE_OPTION_RANGE, .offset = offsetof(st_, field_),        \
        .description = (desc_), .min = (lo_), .max = (hi_)                    \
    }

static const char *const store_schemes[] = {"sqlite", "postgresql", "postgres",
                                            NULL};

static const sluice_option store_options[] = {
    {.type = SLUICE_OPTION_STRING,
     .name = "url",
     .flags = SLUICE_OPTION_URL,
     .offset = offsetof(struct store_settings, url),
     .description = "Where pipes, checkpoints and the hub are kept: "
                    "sqlite:PATH (a file, relative to this file's "
                    "directory; no URL options) or postgresql://... When "
                    "unset: --store, then SLUICE_STORE, then "
                    "sqlite:./sluice.db.",
     .allowed = store_schemes},
};

static const sluice_option plugins_options[] = {
    OPT(SLUICE_OPTION_LIST, "path", NULL, 0, struct plugins_settings, path,
        "Directories searched for plugins, before SLUICE_PLUGIN_PATH and the "
        "install directory; relative to this file's directory."),
};

static const sluice_option hub_options[] = {
    OPT(SLUICE_OPTION_TIME, "maintenance_at", "23:00", 0, struct hub_settings,
        maintenance_at,
        "Time of day, in UTC, of the daily maintenance job that deletes "
        "expired hub data."),
};

static const sluice_option topic_options[] = {
    RANGED(SLUICE_OPTION_INT, "consumed_retention_days", "1",
           struct topic_settings, consumed_retention_days,
           HUB_RETENTION_MIN_DAYS, HUB_RETENTION_MAX_DAYS,
           "Days that data is kept after every subscription owed it has "
           "consumed it."),
    RANGED(SLUICE_OPTION_INT, "unconsumed_retention_days", "7",
           struct topic_settings, unconsumed_retention_days,
           HUB_RETENTION_MIN_DAYS, HUB_RETENTION_MAX_DAYS,
           "Days that data is kept when it has not been consumed; at least "
           "consumed_retention_days."),
    OPT(SLUICE_OPTION_STRING, "retention", TOPIC_DEFAULT_RETENTION, 0,
        struct topic_settings, retention,
        "The retention plugin that decides what the maintenance job "
        "deletes; its options go in [topic NAME.retention]."),
};

static const sluice_option pipe_options[] = {
    OPT(SLUICE_OPTION_STRING, "source", NULL, SLUICE_OPTION_REQUIRED,
        struct pipe_settings, source,
        "The source plugin; its options go in [pipe NAME.source]."),
    OPT(SLUICE_OPTION_STRING, "sink", NULL, SLUICE_OPTION_REQUIRED,
        struct pipe_settings, sink,
        "The sink plugin; its options go in [pipe NAME.sink]."),
    OPT(SLUICE_OPTION_STRING, "topic", NULL, 0, struct pipe_settings, topic,
        "The hub topic the pipe publishes to and its sink reads from; by "
        "default the pipe's name. A topic without a [topic NAME] section "
        "has the default retention."),
    {.type = SLUICE_OPTION_ENUM,
     .name = "mode",
     .default_value = "snapshot+cdc",
     .offset = offsetof(struct pipe_settings, mode),
     .description = "snapshot: load the tables once; cdc: stream changes "
                    "from now on; snapshot+cdc: load, then stream.",
     .allowed = (const char *const *)pipe_mode_names},
    RANGED(SLUICE_OPTION_DURATION, "sync_interval", "60s",
           struct pipe_settings, sync_interval_ms, 1000, 86400000,
           "A batch is cut after this long, or at pull_batch_size records, "
           "whichever comes first."),
    RANGED(SLUICE_OPTION_INT, "pull_batch_size", "100000",
           struct pipe_settings, pull_batch_size, 1, 10000000,
           "A batch is cut at this many records, or after sync_interval, "
           "whichever comes first."),
    RANGED(SLUICE_OPTION_INT, "snapshot_parallelism", "4",
           struct pipe_settings, snapshot_parallelism, 1, 64,
           "Partitions read at the same time during a snapshot, each by a "
           "source instance (and connection) of its own; the tables are "
           "taken in turn, so up to this many collections load side by "
           "side."),
};

static const char *const progress_names[] = {"auto", "terminal", "log", "off",
                                             NULL};

static const sluice_option service_options[] = {
    OPT(SLUICE_OPTION_STRING, "http_listen", NULL, 0, struct service_settings,
        http_listen,
        "HOST:PORT (or :PORT, on loopback) where sluice run serves "
        "/metrics (Prometheus text "
        "format) and /health, and the control API (/v1) and status page "
        "(/) when a token file or api_read_open turns them on; unset: no "
        "HTTP server."),
    OPT(SLUICE_OPTION_STRING, "api_token_file", NULL, SLUICE_OPTION_PATH,
        struct service_settings, api_token_file,
        "A file whose first line is the token that every request of the "
        "control API must send (Authorization: Bearer TOKEN); it may read "
        "and change. The file must not be readable by others. Unset, with "
        "no api_read_token_file and api_read_open false: no API and no "
        "page."),
    OPT(SLUICE_OPTION_STRING, "api_read_token_file", NULL, SLUICE_OPTION_PATH,
        struct service_settings, api_read_token_file,
        "A file whose first line is a token that may only read: status, "
        "history, topics, events, reports, plugins; requests that change "
        "something answer 403 to it."),
    OPT(SLUICE_OPTION_BOOL, "api_read_open", "false", 0,
        struct service_settings, api_read_open,
        "true: the API's read endpoints and the page's read-only view need "
        "no token (for a trusted network); every request that changes "
        "something still needs api_token_file's token."),
    OPT(SLUICE_OPTION_STRING, "tls_cert_file", NULL, SLUICE_OPTION_PATH,
        struct service_settings, tls_cert_file,
        "A PEM certificate (chain): with tls_key_file, the HTTP service "
        "speaks HTTPS only."),
    OPT(SLUICE_OPTION_STRING, "tls_key_file", NULL, SLUICE_OPTION_PATH,
        struct service_settings, tls_key_file,
        "The PEM private key of tls_cert_file."),
    RANGED(SLUICE_OPTION_DURATION, "health_max_retrying", "1m",
           struct service_settings, health_max_retrying_ms, 1000, 604800000,
           "/health says degraded once a pipe has retried errors for this "
           "long without making progress."),
    RANGED(SLUICE_OPTION_DURATION, "health_max_setup", "5m",
           struct service_settings, health_max_setup_ms, 1000, 604800000,
           "/health says degraded once a pipe has been in setup for this "
           "long."),
    RANGED(SLUICE_OPTION_DURATION, "health_max_lag", "0s",
           struct service_settings, health_max_lag_ms, 0, 604800000,
           "/health says degraded while a table's lag is above this; 0s: "
           "lag never degrades it."),
    {.type = SLUICE_OPTION_ENUM,
     .name = "progress",
     .default_value = "auto",
     .offset = offsetof(struct service_settings, progress),
     .description = "How sluice run shows progress: terminal (a live line "
                    "per pipe and table on stderr), log (a structured log "
                    "line per table every progress_interval), off; auto: "
                    "terminal when stderr is one, else log.",
     .allowed = progress_names},
    RANGED(SLUICE_OPTION_DURATION, "progress_interval", "30s",
           struct service_settings, progress_interval_ms, 1000, 86400000,
           "How often progress is logged when it goes to the log."),
    {.type = SLUICE_OPTION_ENUM,
     .name = "log_level",
     .offset = offsetof(struct service_settings, log_level),
     .description = "The least important log lines sluice run writes: "
                    "error, warn, info or debug. --log-level wins over it; "
                    "unset: SLUICE_LOG_LEVEL, else info.",
     .allowed = log_level_names},
    {.type = SLUICE_OPTION_ENUM,
     .name = "log_format",
     .offset = offsetof(struct service_settings, log_format),
     .description = "The form of sluice run's log lines: text (a line for "
                    "people) or json (an object a line: time, level, "
                    "component, pipe, table, message, fields). "
                    "--log-format wins over it; unset: SLUICE_LOG_FORMAT, "
                    "else text.",
     .allowed = log_format_names},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct section_table section_tables[] = {
    {"store", "The store: pipes, their states and checkpoints, and the hub.",
     store_options, COUNT(store_options)},
    {"plugins", "Where plugins are found.", plugins_options,
     COUNT(plugins_options)},
    {"hub", "The topic hub.", hub_options, COUNT(hub_options)},
    {"service",
     "What sluice run serves and shows: metrics, health, "
     "progress.",
     service_options, COUNT(service_options)},
    {"topic NAME", "A hub topic and its retention.", topic_options,
     COUNT(topic_options)},
    {"pipe NAME",
     "A pipe: a source's tables through a topic into a sink. Its plugins' "
     "options go in [pipe NAME.source] and [pipe NAME.sink].",
     pipe_options, COUNT(pipe_options)},
};

const struct section_table *config_section_tables(size_t *count)
{
    *count = COUNT(section_tables);
    return section_tables;
}

/* What a section header names. */
enum section_kind {
    SECTION_STORE,
    SECTION_PLUGINS,
    SECTION_HUB,
    SECTION_SERVICE,
    SECTION_TOPIC,
    SECTION_TOPIC_RETENTION,
    SECTION_PIPE,
    SECTION_PIPE_SOURCE,
    SECTION_PIPE_SINK,
    SECTION_UNKNOWN
};

struct section_name {
    enum section_kind kind;
    char object[65]; /* the topic or pipe name */
};

bool config_valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Classifies a header; -1 with a message when it is malformed. */
static int classify(const char *name, struct section_name *out,
                    struct error *err)
{
    static const struct {
        const char *name;
        enum section_kind kind;
    } fixed[] = {{"store", SECTION_STORE},
                 {"plugins", SECTION_PLUGINS},
                 {"hub", SECTION_HUB},
                 {"service", SECTION_SERVICE}};
    static const struct {
        const char *prefix;
        enum section_kind whole;
        const char *parts[2];
        enum section_kind part_kinds[2];
    } named[] = {
        {"topic",
         SECTION_TOPIC,
         {"retention", NULL},
         {SECTION_TOPIC_RETENTION, SECTION_UNKNOWN}},
        {"pipe",
         SECTION_PIPE,
         {"source", "sink"},
         {SECTION_PIPE_SOURCE, SECTION_PIPE_SINK}},
    };
    out->kind = SECTION_UNKNOWN;
    out->object[0] = '\0';
    for (size_t i = 0; i < COUNT(fixed); i++)
        if (strcmp(name, fixed[i].name) == 0)
            return out->kind = fixed[i].kind, 0;
    for (size_t i = 0; i < COUNT(named); i++) {
        size_t plen = strlen(named[i].prefix);
        if (strncmp(name, named[i].prefix, plen) != 0 ||
            (name[plen] != ' ' && name[plen] != '\0'))
            continue;
        const char *obj = name + plen;
        while (*obj == ' ')
            obj++;
        if (!*obj)
            return error_set(err, "a %s section needs a name: [%s NAME]",
                             named[i].prefix, named[i].prefix);
        const char *dot = strchr(obj, '.');
        size_t olen = dot ? (size_t)(dot - obj) : strlen(obj);
        if (!config_valid_name(obj, olen))
            return error_set(err,
                             "%s name '%.*s' must be 1 to 64 letters, "
                             "digits, '_' or '-'",
                             named[i].prefix, (int)olen, obj);
        memcpy(out->object, obj, olen);
        out->object[olen] = '\0';
        if (!dot)
            return out->kind = named[i].whole, 0;
        for (size_t j = 0; j < 2; j++)
            if (named[i].parts[j] && strcmp(dot + 1, named[i].parts[j]) == 0)
                return out->kind = named[i].part_kinds[j], 0;
        return error_set(err, "unknown part '.%s' of [%s %s]; expected %s",
                         dot + 1, named[i].prefix, out->object,
                         named[i].parts[1] ? "'.source' or '.sink'"
                                           : "'.retention'");
    }
    return error_set(err,
                     "unknown section; expected [store], [plugins], "
                     "[hub], [service], [topic NAME], [topic NAME.retention], "
                     "[pipe NAME], [pipe NAME.source] or "
                     "[pipe NAME.sink]");
}

static void apply_table(const sluice_option *opts, size_t count,
                        struct config *cfg, struct ini_section *section,
                        const char *name, int line, void *out,
                        struct diags *diags)
{
    struct option_source src = {cfg->doc.path, name, section,
                                section ? section->line : line};
    options_apply(opts, count, &src, out, diags);
    options_report_unknown(opts, count, &src, diags);
}

static const char *topic_name_at(const void *topics, size_t at)
{
    return ((const struct topic_config *)topics)[at].name;
}

static const char *pipe_name_at(const void *pipes, size_t at)
{
    return ((const struct pipe_config *)pipes)[at].name;
}

static struct topic_config *add_topic(struct config *cfg, const char *name,
                                      int line, bool declared)
{
    XGROW(cfg->topics, cfg->topic_cap, cfg->topic_count + 1);
    struct topic_config *t = &cfg->topics[cfg->topic_count++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->line = line;
    t->declared = declared;
    name_index_add(&cfg->topic_index, t->name, cfg->topic_count - 1,
                   cfg->topics, topic_name_at);
    return t;
}

/* Two headers that differ only in spacing name one object twice. */
static bool declared_twice(struct config *cfg, struct ini_section *s,
                           const char *kind, int first_line,
                           struct diags *diags)
{
    if (!first_line)
        return false;
    diags_error(diags,
                "%s:%d: [%s]: this %s is declared twice (first on "
                "line %d)",
                cfg->doc.path, s->line, s->name, kind, first_line);
    return true;
}

static void load_topic(struct config *cfg, struct ini_section *s,
                       const char *name, struct diags *diags)
{
    struct topic_config *old = config_topic(cfg, name);
    if (declared_twice(cfg, s, "topic", old ? old->line : 0, diags))
        return;
    struct topic_config *t = add_topic(cfg, name, s->line, true);
    t->section = s;
    apply_table(topic_options, COUNT(topic_options), cfg, s, s->name, s->line,
                &t->settings, diags);
    /* each in its own range, or refused by the table (and left 0):
     * what is left is how the two lie to each other */
    int64_t c = t->settings.consumed_retention_days;
    int64_t u = t->settings.unconsumed_retention_days;
    int64_t value;
    char range[96];
    const char *property =
        c && u ? topic_out_of_range(c, u, &value, range, sizeof range) : NULL;
    if (property) {
        struct ini_entry *e = ini_section_entry(s, property);
        diags_error(diags,
                    "%s:%d: [%s] %s: %lld is out of range: must be "
                    "from %s",
                    cfg->doc.path, e ? e->line : s->line, s->name, property,
                    (long long)value, range);
    }
}

static void load_pipe(struct config *cfg, struct ini_section *s,
                      const char *name, struct diags *diags)
{
    struct pipe_config *old = config_pipe(cfg, name);
    if (declared_twice(cfg, s, "pipe", old ? old->line : 0, diags))
        return;
    XGROW(cfg->pipes, cfg->pipe_cap, cfg->pipe_count + 1);
    struct pipe_config *p = &cfg->pipes[cfg->pipe_count++];
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    p->line = s->line;
    p->section = s;
    name_index_add(&cfg->pipe_index, p->name, cfg->pipe_count - 1, cfg->pipes,
                   pipe_name_at);
    apply_table(pipe_options, COUNT(pipe_options), cfg, s, s->name, s->line,
                &p->settings, diags);
    const char *topic = p->settings.topic;
    if (topic && !config_valid_name(topic, strlen(topic)))
        diags_error(diags,
                    "%s:%d: [%s] topic: topic name '%s' must be 1 to "
                    "64 letters, digits, '_' or '-'",
                    cfg->doc.path, ini_section_entry(s, "topic")->line,
                    s->name, topic);
}

static void resolve_plugin_dirs(struct config *cfg, struct diags *diags)
{
    struct ini_section *s = ini_doc_section(&cfg->doc, "plugins");
    struct ini_entry *e = s ? ini_section_entry(s, "path") : NULL;
    const sluice_string_list *path = &cfg->plugins.path;
    cfg->plugin_dirs = xcalloc(path->count, sizeof(char *));
    for (size_t i = 0; i < path->count; i++) {
        const char *dir = path->items[i];
        while (dir[0] == '.' && dir[1] == '/')
            dir += 2;
        char *full =
            dir[0] == '/' ? xstrdup(dir) : xasprintf("%s/%s", cfg->dir, dir);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode))
            diags_error(diags,
                        "%s:%d: [plugins] path: '%s' is not a "
                        "directory (%s)",
                        cfg->doc.path, e ? e->line : 0, full,
                        errno == ENOENT ? "no such directory"
                                        : "not a directory");
        cfg->plugin_dirs[cfg->plugin_dir_count++] = full;
    }
}

/* What the scheme (checked by the option table) leaves to the store: an
 * SQLite path without URL options. */
static void check_store_url(struct config *cfg, struct diags *diags)
{
    struct error why;
    if (!cfg->store.url || store_url_check(cfg->store.url, &why) == 0)
        return;
    struct ini_section *s = ini_doc_section(&cfg->doc, "store");
    struct ini_entry *e =
        option_text_entry(store_options, COUNT(store_options),
                          &store_options[0], s);
    diags_error(diags, "%s:%d: [store] %s: %s", cfg->doc.path, e ? e->line : 0,
                e ? e->key : "url", why.message);
}

/* sqlite:PATH with a relative PATH: relative to the file, not to where
 * sluice happens to run. */
static void resolve_store_url(struct config *cfg)
{
    const char *url = cfg->store.url;
    if (!url || strncmp(url, "sqlite:", 7) != 0)
        return;
    const char *path = url + 7;
    if (path[0] == '/' || !path[0] || strncmp(path, "//", 2) == 0)
        return;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    char *full = xasprintf("sqlite:%s/%s", cfg->dir, path);
    free((char *)cfg->store.url);
    cfg->store.url = full;
}

static const char *pipe_topic_at(const void *pipes, size_t at)
{
    return ((const struct pipe_config *)pipes)[at].topic;
}

/* Every pipe's topic exists (declared or implied) and is its own. */
static void link_topics(struct config *cfg, struct diags *diags)
{
    struct name_index by_topic = {0}; /* the first pipe of each topic */
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        struct pipe_config *p = &cfg->pipes[i];
        p->topic = p->settings.topic ? p->settings.topic : p->name;
        size_t j;
        if (name_index_find(&by_topic, p->topic, cfg->pipes, pipe_topic_at,
                            &j))
            diags_error(diags,
                        "%s:%d: [pipe %s] topic: topic '%s' is already "
                        "the topic of pipe '%s' (line %d); each pipe "
                        "publishes to a topic of its own",
                        cfg->doc.path, p->line, p->name, p->topic,
                        cfg->pipes[j].name, cfg->pipes[j].line);
        else
            name_index_add(&by_topic, p->topic, i, cfg->pipes, pipe_topic_at);
        if (!config_topic(cfg, p->topic)) {
            struct topic_config *t = add_topic(cfg, p->topic, p->line, false);
            struct option_source src = {cfg->doc.path, p->topic, NULL,
                                        p->line};
            options_apply(topic_options, COUNT(topic_options), &src,
                          &t->settings, diags);
        }
    }
    name_index_free(&by_topic);
}

/* The line of a [service] key; 0 when it is not in the file. */
static int service_line(struct config *cfg, const char *key)
{
    struct ini_section *s = ini_doc_section(&cfg->doc, "service");
    struct ini_entry *e = s ? ini_section_entry(s, key) : NULL;
    return e ? e->line : 0;
}

/* [service] http_listen is HOST:PORT or :PORT (loopback), the port a
 * number from 1 to 65535. */
static void check_http_listen(struct config *cfg, struct diags *diags)
{
    const char *v = cfg->service.http_listen;
    if (!v)
        return;
    const char *colon = strrchr(v, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon && end != colon + 1 && !*end && port >= 1 && port <= 65535)
        return;
    diags_error(diags,
                "%s:%d: [service] http_listen: '%s' is not HOST:PORT or "
                ":PORT (for example 127.0.0.1:9187)",
                cfg->doc.path, service_line(cfg, "http_listen"), v);
}

/* The API's and TLS's options need the service, and TLS both files. */
static void check_api(struct config *cfg, struct diags *diags)
{
    const struct service_settings *sv = &cfg->service;
    const char *keys[] = {"api_token_file", "api_read_token_file",
                          "api_read_open", "tls_cert_file", "tls_key_file"};
    bool set[] = {sv->api_token_file, sv->api_read_token_file,
                  sv->api_read_open, sv->tls_cert_file, sv->tls_key_file};
    for (size_t i = 0; !sv->http_listen && i < sizeof set / sizeof *set; i++)
        if (set[i])
            diags_error(diags,
                        "%s:%d: [service] %s: there is no http_listen to "
                        "serve it on",
                        cfg->doc.path, service_line(cfg, keys[i]), keys[i]);
    if (sv->http_listen && !sv->tls_cert_file != !sv->tls_key_file) {
        const char *given = sv->tls_cert_file ? keys[3] : keys[4];
        diags_error(diags,
                    "%s:%d: [service] %s: HTTPS needs both tls_cert_file "
                    "and tls_key_file",
                    cfg->doc.path, service_line(cfg, given), given);
    }
}

int config_load(const char *path, struct config *cfg, struct diags *diags,
                struct error *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *copy = xstrdup(path);
    cfg->dir = xstrdup(dirname(copy));
    free(copy);
    cfg->service.log_level = -1; /* enums the file may leave unset */
    cfg->service.log_format = -1;
    if (ini_doc_load(path, &cfg->doc, diags, err) < 0)
        return -1;

    struct {
        const char *name;
        const sluice_option *opts;
        size_t count;
        void *out;
    } fixed[] = {
        {"store", store_options, COUNT(store_options), &cfg->store},
        {"plugins", plugins_options, COUNT(plugins_options), &cfg->plugins},
        {"hub", hub_options, COUNT(hub_options), &cfg->hub},
        {"service", service_options, COUNT(service_options), &cfg->service},
    };
    for (size_t i = 0; i < COUNT(fixed); i++)
        apply_table(fixed[i].opts, fixed[i].count, cfg,
                    ini_doc_section(&cfg->doc, fixed[i].name), fixed[i].name,
                    0, fixed[i].out, diags);

    for (size_t i = 0; i < cfg->doc.count; i++) {
        struct ini_section *s = &cfg->doc.sections[i];
        struct section_name sn;
        struct error why;
        if (classify(s->name, &sn, &why) < 0) {
            diags_error(diags, "%s:%d: [%s]: %s", path, s->line, s->name,
                        why.message);
            continue;
        }
        if (sn.kind == SECTION_TOPIC)
            load_topic(cfg, s, sn.object, diags);
        else if (sn.kind == SECTION_PIPE)
            load_pipe(cfg, s, sn.object, diags);
    }
    /* Plugin sections need their owner; their contents wait for step 2. */
    for (size_t i = 0; i < cfg->doc.count; i++) {
        struct ini_section *s = &cfg->doc.sections[i];
        struct section_name sn;
        struct error why;
        if (classify(s->name, &sn, &why) < 0)
            continue;
        if ((sn.kind == SECTION_PIPE_SOURCE || sn.kind == SECTION_PIPE_SINK) &&
            !config_pipe(cfg, sn.object))
            diags_error(diags, "%s:%d: [%s]: there is no [pipe %s] section",
                        path, s->line, s->name, sn.object);
        if (sn.kind == SECTION_TOPIC_RETENTION &&
            !config_topic(cfg, sn.object))
            diags_error(diags, "%s:%d: [%s]: there is no [topic %s] section",
                        path, s->line, s->name, sn.object);
    }
    check_http_listen(cfg, diags);
    check_api(cfg, diags);
    check_store_url(cfg, diags);
    link_topics(cfg, diags);
    resolve_plugin_dirs(cfg, diags);
    resolve_store_url(cfg);
    return 0;
}

/* Looks up a plugin of `kind` named by `name` (from `key` of the section
 * of `owner`), then fills its config from `section_name`. */
static void bind_plugin(struct config *cfg, const struct registry *reg,
                        enum plugin_kind kind, const char *name,
                        const char *owner_section, int owner_line,
                        const char *key, const char *section_name,
                        struct plugin_config *out, struct diags *diags)
{
    struct ini_section *owner = ini_doc_section(&cfg->doc, owner_section);
    struct ini_entry *e = owner ? ini_section_entry(owner, key) : NULL;
    int line = e ? e->line : owner_line;
    struct plugin *p = registry_find(reg, name);
    if (!p || p->kind != kind) {
        struct buf known = {0};
        for (size_t i = 0; i < reg->count; i++)
            if (reg->plugins[i]->kind == kind)
                buf_printf(&known, "%s%s", known.len ? ", " : "",
                           reg->plugins[i]->name);
        if (p)
            diags_error(diags,
                        "%s:%d: [%s] %s: '%s' is a %s plugin, not a %s; %s "
                        "plugins: %s",
                        cfg->doc.path, line, owner_section, key, name,
                        plugin_kind_name(p->kind), plugin_kind_name(kind),
                        plugin_kind_name(kind),
                        known.len ? known.data : "none");
        else
            diags_error(diags,
                        "%s:%d: [%s] %s: unknown plugin '%s'; %s plugins "
                        "found: %s (see 'sluice plugins list')",
                        cfg->doc.path, line, owner_section, key, name,
                        plugin_kind_name(kind),
                        known.len ? known.data : "none");
        buf_free(&known);
        return;
    }
    out->plugin = p;
    out->data = xcalloc(1, p->config_size ? p->config_size : 1);
    struct ini_section *s = ini_doc_section(&cfg->doc, section_name);
    out->section = s;
    struct option_source src = {cfg->doc.path, section_name, s,
                                s ? s->line : owner_line};
    options_apply(p->options, p->option_count, &src, out->data, diags);
    options_report_unknown(p->options, p->option_count, &src, diags);
}

void config_bind_plugins(struct config *cfg, const struct registry *reg,
                         struct diags *diags)
{
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        struct pipe_config *p = &cfg->pipes[i];
        char *owner = xasprintf("pipe %s", p->name);
        char *source = xasprintf("pipe %s.source", p->name);
        char *sink = xasprintf("pipe %s.sink", p->name);
        if (p->settings.source)
            bind_plugin(cfg, reg, PLUGIN_SOURCE, p->settings.source, owner,
                        p->line, "source", source, &p->source, diags);
        if (p->settings.sink)
            bind_plugin(cfg, reg, PLUGIN_SINK, p->settings.sink, owner,
                        p->line, "sink", sink, &p->sink, diags);
        free(owner);
        free(source);
        free(sink);
    }
    for (size_t i = 0; i < cfg->topic_count; i++) {
        struct topic_config *t = &cfg->topics[i];
        if (!t->settings.retention)
            continue;
        char *owner = xasprintf("topic %s", t->name);
        char *section = xasprintf("topic %s.retention", t->name);
        bind_plugin(cfg, reg, PLUGIN_RETENTION, t->settings.retention, owner,
                    t->line, "retention", section, &t->retention, diags);
        free(owner);
        free(section);
    }
}

static void plugin_config_free(struct plugin_config *pc)
{
    if (pc->plugin)
        options_free(pc->plugin->options, pc->plugin->option_count, pc->data);
    free(pc->data);
    pc->data = NULL;
    pc->plugin = NULL;
    pc->section = NULL;
}

void config_free(struct config *cfg)
{
    options_free(store_options, COUNT(store_options), &cfg->store);
    options_free(plugins_options, COUNT(plugins_options), &cfg->plugins);
    options_free(service_options, COUNT(service_options), &cfg->service);
    for (size_t i = 0; i < cfg->topic_count; i++) {
        struct topic_config *t = &cfg->topics[i];
        options_free(topic_options, COUNT(topic_options), &t->settings);
        plugin_config_free(&t->retention);
        free(t->name);
    }
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        struct pipe_config *p = &cfg->pipes[i];
        options_free(pipe_options, COUNT(pipe_options), &p->settings);
        plugin_config_free(&p->source);
        plugin_config_free(&p->sink);
        free(p->name);
    }
    for (size_t i = 0; i < cfg->plugin_dir_count; i++)
        free(cfg->plugin_dirs[i]);
    free(cfg->plugin_dirs);
    free(cfg->topics);
    free(cfg->pipes);
    name_index_free(&cfg->topic_index);
    name_index_free(&cfg->pipe_index);
    free(cfg->dir);
    ini_doc_free(&cfg->doc);
    memset(cfg, 0, sizeof *cfg);
}

struct pipe_config *config_pipe(const struct config *cfg, const char *name)
{
    size_t at;
    return name_index_find(&cfg->pipe_index, name, cfg->pipes, pipe_name_at,
                           &at)
               ? &cfg->pipes[at]
               : NULL;
}

struct topic_config *config_topic(const struct config *cfg, const char *name)
{
    size_t at;
    return name_index_find(&cfg->topic_index, name, cfg->topics, topic_name_at,
                           &at)
               ? &cfg->topics[at]
               : NULL;
}
