/* cmd_plugins.c: `sluice plugins list` and `sluice plugins describe`, as
 * text for people, --json for programs, and describe's --markdown for the
 * docs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/control.h"
#include "../options/options.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "cli.h"
#include "load.h"

static const char *abi_text(const struct plugin *p, char *out, size_t size)
{
    snprintf(out, size, "%u.%u", p->module->desc.abi_major,
             p->module->desc.abi_minor);
    return out;
}

/* The section a plugin's options go in. */
static const char *options_section(const struct plugin *p)
{
    return p->kind == PLUGIN_SOURCE ? "[pipe NAME.source]"
           : p->kind == PLUGIN_SINK ? "[pipe NAME.sink]"
                                    : "[topic NAME.retention]";
}

/* The JSON of control.h, printed. */
static void print_json(const struct registry *reg, const struct plugin *p)
{
    struct buf out = {0};
    struct json j = JSON_INIT(&out);
    if (p)
        control_plugin_json(p, &j);
    else
        control_plugins_json(reg, &j);
    printf("%s\n", out.data);
    buf_free(&out);
}

static void text_list(const struct registry *reg)
{
    printf("%-20s %-10s %-10s %-5s %-18s %s\n", "NAME", "KIND", "VERSION",
           "ABI", "CAPABILITIES", "FILE");
    for (size_t i = 0; i < reg->count; i++) {
        const struct plugin *p = reg->plugins[i];
        char abi[16], caps[64];
        plugin_capability_names(p, caps, sizeof caps);
        printf("%-20s %-10s %-10s %-5s %-18s %s\n", p->name,
               plugin_kind_name(p->kind),
               p->module->desc.version ? p->module->desc.version : "-",
               abi_text(p, abi, sizeof abi), caps, p->module->path);
    }
    if (reg->count == 0)
        printf("(no plugins found)\n");
    for (size_t i = 0; i < reg->shadowed_count; i++)
        printf("shadowed: %s in %s (%s is used)\n", reg->shadowed[i].name,
               reg->shadowed[i].path, reg->shadowed[i].used_path);
    printf("searched:");
    for (size_t i = 0; i < reg->dir_count; i++)
        printf(" %s", reg->dirs[i]);
    printf("\n");
}

int cmd_plugins_list(const struct command *cmd, int argc, char **argv)
{
    const char *config_path = NULL;
    bool json = false;
    struct flag flags[] = {CONFIG_FLAGS(config_path), FLAG("--json", &json)};
    size_t nargs;
    int rc = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;

    struct config cfg;
    struct registry reg;
    int status = load_reported(config_path, false, false, &cfg, &reg, NULL);
    if (status == EXIT_OK) {
        if (json)
            print_json(&reg, NULL);
        else
            text_list(&reg);
        for (size_t i = 0; i < reg.refused_count; i++)
            fprintf(stderr, "refused: %s\n", reg.refused[i].reason);
        if (reg.refused_count)
            status = EXIT_RUNTIME;
    }
    config_free(&cfg); /* before the registry its plugins belong to */
    registry_free(&reg);
    return status;
}

static void describe(const struct plugin *p, enum options_format format,
                     struct buf *out)
{
    char caps[64], abi[16];
    plugin_capability_names(p, caps, sizeof caps);
    abi_text(p, abi, sizeof abi);
    const sluice_module *m = &p->module->desc;
    if (format == OPTIONS_MARKDOWN) {
        buf_printf(out, "## %s\n\n%s\n\n", p->name, p->description);
        buf_printf(out,
                   "- kind: %s\n- module: %s %s (%s), plugin ABI %s\n"
                   "- capabilities: %s\n- options go in `%s`\n\n",
                   plugin_kind_name(p->kind), m->name,
                   m->version ? m->version : "-",
                   m->license ? m->license : "no license given", abi, caps,
                   options_section(p));
    } else {
        buf_printf(out, "%s: %s\n\n", p->name, p->description);
        buf_printf(out,
                   "  kind:         %s\n  module:       %s %s (%s)\n"
                   "  plugin ABI:   %s\n  capabilities: %s\n"
                   "  file:         %s\n\nOptions, in %s:\n",
                   plugin_kind_name(p->kind), m->name,
                   m->version ? m->version : "-",
                   m->license ? m->license : "no license given", abi, caps,
                   p->module->path, options_section(p));
    }
    options_describe(p->options, p->option_count, format, out);
}

int cmd_plugins_describe(const struct command *cmd, int argc, char **argv)
{
    const char *config_path = NULL;
    bool markdown = false, json = false;
    struct flag flags[] = {CONFIG_FLAGS(config_path),
                           FLAG("--markdown", &markdown),
                           FLAG("--json", &json)};
    size_t nargs;
    int rc = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!nargs)
        return cli_usage_error(cmd, "which plugin? give its name");
    if (markdown && json)
        return cli_usage_error(cmd, "give --markdown or --json, not both");
    const char *name = argv[0];

    struct config cfg;
    struct registry reg;
    int status = load_reported(config_path, false, false, &cfg, &reg, NULL);
    const struct plugin *p =
        status == EXIT_OK ? registry_find(&reg, name) : NULL;
    if (p) {
        if (json) {
            print_json(&reg, p);
        } else {
            struct buf out = {0};
            describe(p, markdown ? OPTIONS_MARKDOWN : OPTIONS_TEXT, &out);
            fputs(out.data, stdout);
            buf_free(&out);
        }
    } else if (status == EXIT_OK) {
        fprintf(stderr,
                "sluice plugins describe: no plugin named '%s'; "
                "found:",
                name);
        for (size_t i = 0; i < reg.count; i++)
            fprintf(stderr, "%s %s", i ? "," : "", reg.plugins[i]->name);
        fprintf(stderr, "%s\n", reg.count ? "" : " none");
        for (size_t i = 0; i < reg.refused_count; i++)
            fprintf(stderr, "refused: %s\n", reg.refused[i].reason);
        status = EXIT_USAGE;
    }
    config_free(&cfg); /* before the registry its plugins belong to */
    registry_free(&reg);
    return status;
}
