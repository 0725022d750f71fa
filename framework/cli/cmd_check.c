/* cmd_check.c: `sluice check CONFIG.ini` (or -c CONFIG.ini): the whole
 * file checked, every problem reported; with --print the effective
 * configuration (each value with where it came from: its line, the
 * environment, a file), with --connect each pipe's plugins opened and
 * their servers pinged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../options/options.h"
#include "../plugin/calls.h"
#include "../util/buf.h"
#include "../util/mem.h"
#include "cli.h"
#include "load.h"

/* A section's values, each with where it came from (option_origin). */
static void print_section(struct buf *out, const struct config *cfg,
                          const char *name, struct ini_section *section,
                          const sluice_option *opts, size_t count,
                          const void *values)
{
    struct option_source src = {cfg->doc.path, name, section, 0};
    buf_printf(out, "[%s]\n", cli_shown(name));
    for (size_t i = 0; i < count; i++) {
        const sluice_option *o = &opts[i];
        struct buf value = {0}, origin = {0};
        option_format_value(o, values, &value);
        option_origin(opts, count, o, &src, &origin);
        /* a string that is NULL, an enum that is no index (none given) */
        if ((o->type == SLUICE_OPTION_STRING &&
             !*(const char *const *)((const char *)values + o->offset)) ||
            (o->type == SLUICE_OPTION_ENUM && !value.len))
            buf_printf(out, "; %s is not set\n", o->name);
        else
            buf_printf(out, "%s = %s  ; %s\n", o->name,
                       value.len ? value.data : "", cli_shown(origin.data));
        buf_free(&value);
        buf_free(&origin);
    }
    buf_puts(out, "\n");
}

static void print_plugin_section(struct buf *out, const struct config *cfg,
                                 const char *name,
                                 const struct plugin_config *pc)
{
    if (pc->plugin)
        print_section(out, cfg, name, pc->section, pc->plugin->options,
                      pc->plugin->option_count, pc->data);
}

static void print_effective(const struct config *cfg)
{
    size_t n;
    const struct section_table *tables = config_section_tables(&n);
    struct buf out = {0};
    /* the sections of config_section_tables, in order: the fixed ones,
     * then [topic NAME] and [pipe NAME] */
    const void *fixed[] = {&cfg->store, &cfg->plugins, &cfg->hub,
                           &cfg->service};
    const size_t nfixed = sizeof fixed / sizeof *fixed, topic = nfixed,
                 pipe = nfixed + 1;
    for (size_t i = 0; i < nfixed; i++)
        print_section(&out, cfg, tables[i].section,
                      ini_doc_section(&cfg->doc, tables[i].section),
                      tables[i].options, tables[i].count, fixed[i]);
    for (size_t i = 0; i < cfg->topic_count; i++) {
        const struct topic_config *t = &cfg->topics[i];
        char *name = xasprintf("topic %s", t->name);
        print_section(&out, cfg, name, t->section, tables[topic].options,
                      tables[topic].count, &t->settings);
        free(name);
        if (t->retention.plugin && t->retention.plugin->option_count) {
            name = xasprintf("topic %s.retention", t->name);
            print_plugin_section(&out, cfg, name, &t->retention);
            free(name);
        }
    }
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        const struct pipe_config *p = &cfg->pipes[i];
        char *name = xasprintf("pipe %s", p->name);
        print_section(&out, cfg, name, p->section, tables[pipe].options,
                      tables[pipe].count, &p->settings);
        free(name);
        name = xasprintf("pipe %s.source", p->name);
        print_plugin_section(&out, cfg, name, &p->source);
        free(name);
        name = xasprintf("pipe %s.sink", p->name);
        print_plugin_section(&out, cfg, name, &p->sink);
        free(name);
    }
    fputs(out.data, stdout);
    buf_free(&out);
}

/* One plugin of a pipe opened and asked whether its servers answer. */
static bool connects(const char *pipe, const char *role,
                     const struct plugin_config *pc)
{
    const struct plugin *p = pc->plugin;
    bool has_ping = p->kind == PLUGIN_SOURCE ? p->info.source.ping != NULL
                                             : p->info.sink.ping != NULL;
    struct call_error e;
    struct plugin_instance in;
    sluice_status st = plugin_open(p, pc->data, pipe, &in, &e);
    if (st == SLUICE_OK && has_ping)
        st = plugin_ping(&in, &e);
    if (st == SLUICE_OK)
        printf("  pipe %s: %s %s: %s\n", pipe, role, p->name,
               has_ping ? "connected"
                        : "opened (it has no ping to check its "
                          "servers with)");
    else
        printf("  pipe %s: %s %s: error: %s\n", pipe, role, p->name,
               cli_shown(e.message));
    plugin_close(&in);
    return st == SLUICE_OK;
}

/* The token files of the API can be read as sluice run reads them. */
static int check_tokens(const struct config *cfg)
{
    struct api_tokens tokens;
    struct error err;
    if (!cfg->service.http_listen || !api_enabled(&cfg->service))
        return EXIT_OK;
    if (api_tokens_load(&cfg->service, &tokens, &err) < 0)
        return cli_error(EXIT_USAGE, "%s: %s", cfg->doc.path, err.message);
    api_tokens_free(&tokens);
    return EXIT_OK;
}

/* The file's pipes; with `connect`, whether their servers answer. */
static int summary(const char *path, const struct config *cfg, bool connect)
{
    int status = check_tokens(cfg);
    if (status != EXIT_OK)
        return status;
    printf("%s: ok: %zu pipe%s, %zu topic%s\n", path, cfg->pipe_count,
           cfg->pipe_count == 1 ? "" : "s", cfg->topic_count,
           cfg->topic_count == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        const struct pipe_config *p = &cfg->pipes[i];
        printf("  pipe %s: %s -> topic %s -> %s (%s)\n", cli_shown(p->name),
               p->settings.source, cli_shown(p->topic), p->settings.sink,
               pipe_mode_names[p->settings.mode]);
    }
    for (size_t i = 0; connect && i < cfg->pipe_count; i++) {
        const struct pipe_config *p = &cfg->pipes[i];
        bool source_ok = connects(p->name, "source", &p->source);
        bool sink_ok = connects(p->name, "sink", &p->sink);
        if (!source_ok || !sink_ok)
            status = EXIT_RUNTIME;
    }
    return status;
}

int cmd_check(const struct command *cmd, int argc, char **argv)
{
    bool print = false, connect = false;
    const char *config_path = NULL, *path = NULL;
    struct flag flags[] = {FLAG("--print", &print),
                           FLAG("--connect", &connect),
                           CONFIG_FLAGS(config_path)};
    size_t nargs, errors;
    int rc = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (rc == CLI_GO_ON)
        rc = cli_config_path(cmd, config_path, nargs, argv, &path);
    if (rc != CLI_GO_ON)
        return rc;

    struct config cfg;
    struct registry reg;
    int status = load_reported(path, true, true, &cfg, &reg, &errors);
    if (errors)
        fprintf(stderr, "%s: %zu error%s\n", path, errors,
                errors == 1 ? "" : "s");
    else if (status == EXIT_OK && print)
        print_effective(&cfg);
    else if (status == EXIT_OK)
        status = summary(path, &cfg, connect);
    config_free(&cfg); /* before the registry its plugins belong to */
    registry_free(&reg);
    return status;
}
