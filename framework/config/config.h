/* config.h: a sluice INI file, checked and in memory.
 *
 * Loading has two steps. config_load reads the file and checks the
 * framework's own sections ([store], [plugins], [hub], [service], [topic
 * NAME], [pipe NAME]) against their option tables. config_bind_plugins then
 * looks up the plugins the pipes and topics name and checks the plugin
 * sections
 * ([pipe NAME.source], [pipe NAME.sink], [topic NAME.retention]) against
 * each plugin's own table. Every problem is collected, named by file,
 * line, section and key, so one run reports them all.
 *
 * Relative paths in the file ([plugins] path) are relative to the
 * directory of the file. The config owns everything in it. */
#ifndef SLUICE_CONFIG_CONFIG_H
#define SLUICE_CONFIG_CONFIG_H

#include <sluice/options.h>
#include <stdbool.h>
#include <stdint.h>

#include "../options/ini_doc.h"
#include "../plugin/plugin.h"
#include "../util/error.h"
#include "../util/names.h"

enum pipe_mode { PIPE_MODE_SNAPSHOT, PIPE_MODE_CDC, PIPE_MODE_SNAPSHOT_CDC };

extern const char *const pipe_mode_names[];

#define TOPIC_DEFAULT_RETENTION "retention"

struct store_settings {
    const char *url; /* NULL when the file does not say; a relative
                        sqlite path is made relative to the file */
};

struct plugins_settings {
    sluice_string_list path;
};

struct hub_settings {
    int64_t maintenance_at; /* seconds after 00:00 UTC */
};

enum progress_mode {
    PROGRESS_AUTO,
    PROGRESS_TERMINAL,
    PROGRESS_LOG,
    PROGRESS_OFF
};

struct service_settings {
    const char *http_listen; /* HOST:PORT, NULL: none */
    /* the control API: token files (NULL: none), reads without a token */
    const char *api_token_file, *api_read_token_file;
    bool api_read_open;
    const char *tls_cert_file, *tls_key_file; /* PEM; NULL: plain HTTP */
    /* /health is degraded past these; a lag of 0 is never too much */
    int64_t health_max_retrying_ms, health_max_setup_ms, health_max_lag_ms;
    int progress; /* enum progress_mode */
    int64_t progress_interval_ms;
    int log_level;  /* index in log_level_names; -1: not set */
    int log_format; /* index in log_format_names; -1: not set */
};

struct topic_settings {
    int64_t consumed_retention_days;
    int64_t unconsumed_retention_days;
    const char *retention;
};

struct pipe_settings {
    const char *source;
    const char *sink;
    const char *topic; /* NULL: the pipe's name */
    int mode;          /* enum pipe_mode */
    int64_t sync_interval_ms;
    int64_t pull_batch_size;
    int64_t snapshot_parallelism;
};

/* A plugin's options for one use of it: its filled config struct. */
struct plugin_config {
    struct plugin *plugin;       /* borrowed from the registry */
    void *data;                  /* plugin->config_size bytes, owned */
    struct ini_section *section; /* where its options were; NULL: none */
};

struct topic_config {
    char *name;
    int line;                    /* its section, or the pipe that implied it */
    bool declared;               /* false: implied by a pipe, all defaults */
    struct ini_section *section; /* NULL when implied */
    struct topic_settings settings;
    struct plugin_config retention;
};

struct pipe_config {
    char *name;
    int line;
    struct ini_section *section;
    struct pipe_settings settings;
    const char *topic; /* settings.topic or name */
    struct plugin_config source, sink;
};

struct config {
    struct ini_doc doc;
    char *dir; /* of the file, for relative paths */
    struct store_settings store;
    struct plugins_settings plugins;
    char **plugin_dirs; /* [plugins] path, resolved */
    size_t plugin_dir_count;
    struct hub_settings hub;
    struct service_settings service;
    struct topic_config *topics;
    size_t topic_count, topic_cap;
    struct pipe_config *pipes;
    size_t pipe_count, pipe_cap;
    struct name_index topic_index, pipe_index; /* by name */
};

/* Step one. Returns -1 with `err` when the file cannot be read; otherwise
 * 0, with problems (if any) in `diags`. Free the config in both cases. */
int config_load(const char *path, struct config *cfg, struct diags *diags,
                struct error *err);

/* Step two: resolve plugins from `reg` and check their sections. */
void config_bind_plugins(struct config *cfg, const struct registry *reg,
                         struct diags *diags);

/* Frees the config; it borrows plugins, so free it before their registry. */
void config_free(struct config *cfg);

struct pipe_config *config_pipe(const struct config *cfg, const char *name);
/* The tables the file names for the pipe (its source's option flagged
 * SLUICE_OPTION_TABLES); NULL when it names none (the source decides).
 * tables.c. */
const sluice_string_list *config_pipe_tables(const struct pipe_config *p);

/* The form a pipe writes its destinations in (config/form.c): the values
 * of its source's and sink's options flagged SLUICE_OPTION_FORM, as
 * "source.id_format = natural, sink.column_names = sluice"; "" when none
 * is. The caller frees it. */
char *config_pipe_form(const struct pipe_config *p);

/* Whether a table recorded in the form `recorded` (config_pipe_form's
 * text, from this sluice or an earlier one) is written as the pipe writes
 * now: each of its options has the value it has now, and an option it
 * lacks (a plugin added it since) is now at its default. FORM_BEFORE_FORMS
 * is the form of a pipe with no such option. */
bool config_form_same(const struct pipe_config *p, const char *recorded);
/* The line of the source option that names the pipe's tables, else the
 * pipe's section. */
int config_pipe_tables_line(const struct config *cfg,
                            const struct pipe_config *p);

/* Two pipes that write one table into one destination are an error,
 * naming both (destinations.c); meant after config_bind_plugins. */
void config_check_destinations(const struct config *cfg, struct diags *diags);
struct topic_config *config_topic(const struct config *cfg, const char *name);

/* Names of pipes, topics and subscriptions: 1 to 64 letters, digits, '_'
 * or '-'. */
bool config_valid_name(const char *name, size_t len);

/* The framework's own option tables, for the docs and `check --print`. */
struct section_table {
    const char *section; /* "store", "topic NAME", ... */
    const char *summary;
    const sluice_option *options;
    size_t count;
};
const struct section_table *config_section_tables(size_t *count);

#endif
