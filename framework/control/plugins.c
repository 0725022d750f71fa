/* plugins.c: the plugins as an operator sees them (control.h): those
 * found, shadowed and refused, and one with its options. */
#include <stdio.h>
#include <string.h>

#include "../options/options.h"
#include "control.h"

/* name, kind, version, abi, capabilities (an array) and file. */
static void plugin_head(const struct plugin *p, struct json *j)
{
    char abi[16], caps[64];
    snprintf(abi, sizeof abi, "%u.%u", p->module->desc.abi_major,
             p->module->desc.abi_minor);
    plugin_capability_names(p, caps, sizeof caps);
    json_add_string(j, "name", p->name);
    json_add_string(j, "kind", plugin_kind_name(p->kind));
    json_add_string(j, "version", p->module->desc.version);
    json_add_string(j, "abi", abi);
    json_open_array(j, "capabilities");
    char *save = NULL;
    for (char *c = strcmp(caps, "-") ? strtok_r(caps, ", ", &save) : NULL; c;
         c = strtok_r(NULL, ", ", &save))
        json_add_string(j, NULL, c);
    json_close_array(j);
    json_add_string(j, "file", p->module->path);
}

void control_plugins_json(const struct registry *reg, struct json *j)
{
    json_open_object(j, NULL);
    json_open_array(j, "plugins");
    for (size_t i = 0; i < reg->count; i++) {
        json_open_object(j, NULL);
        plugin_head(reg->plugins[i], j);
        json_close_object(j);
    }
    json_close_array(j);
    json_open_array(j, "shadowed");
    for (size_t i = 0; i < reg->shadowed_count; i++) {
        json_open_object(j, NULL);
        json_add_string(j, "name", reg->shadowed[i].name);
        json_add_string(j, "file", reg->shadowed[i].path);
        json_add_string(j, "used", reg->shadowed[i].used_path);
        json_close_object(j);
    }
    json_close_array(j);
    json_open_array(j, "refused");
    for (size_t i = 0; i < reg->refused_count; i++)
        json_add_string(j, NULL, reg->refused[i].reason);
    json_close_array(j);
    json_open_array(j, "searched");
    for (size_t i = 0; i < reg->dir_count; i++)
        json_add_string(j, NULL, reg->dirs[i]);
    json_close_array(j);
    json_close_object(j);
}

/* The section a plugin's options go in. */
static const char *options_section(const struct plugin *p)
{
    return p->kind == PLUGIN_SOURCE ? "[pipe NAME.source]"
           : p->kind == PLUGIN_SINK ? "[pipe NAME.sink]"
                                    : "[topic NAME.retention]";
}

void control_plugin_json(const struct plugin *p, struct json *j)
{
    const sluice_module *m = &p->module->desc;
    json_open_object(j, NULL);
    plugin_head(p, j);
    json_add_string(j, "description", p->description);
    json_open_object(j, "module");
    json_add_string(j, "name", m->name);
    json_add_string(j, "version", m->version);
    json_add_string(j, "license", m->license);
    json_close_object(j);
    json_add_string(j, "section", options_section(p));
    options_json(p->options, p->option_count, j);
    json_close_object(j);
}
