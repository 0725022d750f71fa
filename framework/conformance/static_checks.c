/* static_checks.c: the checks that need no instance: the module's
 * descriptor and ABI, each plugin's registration and option table.
 *
 * The loader already refuses a module that breaks these rules; the kit
 * reports what the loader accepted check by check, and when the loader
 * refuses a module, names the check its reason belongs to. It never
 * repeats the loader's work on the raw descriptor: the loader is the one
 * place that decides. */
#include <stdlib.h>
#include <string.h>

#include "../options/options.h"
#include "../util/mem.h"
#include "kit.h"

static const char *const module_checks[] = {"module.load", "module.magic",
                                            "module.abi",  "module.descriptor",
                                            "module.init", NULL};

/* Which check a loader refusal belongs to, by the words of its reason
 * (framework/plugin/loader.c, host.c). Most specific first; the unit
 * test of the kit pins every fixture's refusal to its check. */
static const struct {
    const char *words;
    const char *check;
} refusal_checks[] = {
    {"not a loadable shared object", "module.load"},
    {"init failed", "module.init"},
    {"registered no plugin", "module.init"},
    {"bad magic", "module.magic"},
    {"built for plugin ABI", "module.abi"},
    {"not a sluice plugin", "module.descriptor"},
    {"descriptor", "module.descriptor"},
    {"module name", "module.descriptor"},
    {"has no description", "options.described"},
    {"is declared twice", "options.unique"},
    {"names are lower case", "options.unique"},
    {"default is invalid", "options.defaults"},
    {"is required and has a default", "options.defaults"},
    {"config_size", "plugin.info"},
    {"option table has no end", "options.table"},
    {"option", "options.table"},
    {"callback", "plugin.info"},
    {"capabilit", "plugin.info"},
    {"registers '", "plugin.info"},
    {" info is", "plugin.info"},
    {" name '", "plugin.info"},
};

/* The reason without the file ("PATH: ") and the plugin ("sink 'NAME': ")
 * in front, whose names could hold any of the words. */
static const char *reason_proper(const char *path, const char *reason)
{
    size_t n = strlen(path);
    if (strncmp(reason, path, n) == 0 && strncmp(reason + n, ": ", 2) == 0)
        reason += n + 2;
    static const char *const kinds[] = {"source '", "sink '", "retention '"};
    for (size_t i = 0; i < 3; i++) {
        const char *end = strstr(reason, "': ");
        if (strncmp(reason, kinds[i], strlen(kinds[i])) == 0 && end)
            return end + 3;
    }
    return reason;
}

void static_checks_refused(struct report *r, const char *path,
                           const char *reason)
{
    const char *check = "module.load";
    const char *proper = reason_proper(path, reason);
    for (size_t i = 0; i < sizeof refusal_checks / sizeof *refusal_checks; i++)
        if (strstr(proper, refusal_checks[i].words)) {
            check = refusal_checks[i].check;
            break;
        }
    char subject[1100];
    snprintf(subject, sizeof subject, "module %s", path);
    report_line(r, CHECK_FAIL, subject, check, "refused by the loader: %s",
                reason);
    report_line(r, CHECK_SKIP, subject, "plugins",
                "the module was refused, so none of its plugins can be "
                "tested");
}

static bool given(const char *s)
{
    return s && s[0];
}

void static_checks_module(struct report *r, const struct module *m,
                          size_t plugin_count)
{
    const sluice_module *d = &m->desc;
    char subject[96];
    snprintf(subject, sizeof subject, "module %s", d->name);
    report_line(r, CHECK_PASS, subject, module_checks[0],
                "%s loads (%zu plugin%s)", m->path, plugin_count,
                plugin_count == 1 ? "" : "s");
    report_line(r, CHECK_PASS, subject, module_checks[1], "magic 0x%08x",
                d->magic);
    report_line(r, CHECK_PASS, subject, module_checks[2],
                "built for plugin ABI %u.%u; this sluice has ABI %d.%d and "
                "loads %d.0 to %d.%d",
                d->abi_major, d->abi_minor, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR,
                SLUICE_ABI_MAJOR, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
    const char *missing = !given(d->version)       ? "version"
                          : !given(d->license)     ? "license"
                          : !given(d->description) ? "description"
                                                   : NULL;
    if (missing)
        report_line(r, CHECK_FAIL, subject, module_checks[3],
                    "the descriptor has no %s (SLUICE_MODULE takes name, "
                    "version, license and description)",
                    missing);
    else
        report_line(r, CHECK_PASS, subject, module_checks[3],
                    "%u bytes: name %s, version %s, license %s, "
                    "description given",
                    d->size, d->name, d->version, d->license);
    report_line(r, CHECK_PASS, subject, module_checks[4],
                "init registered %zu plugin%s", plugin_count,
                plugin_count == 1 ? "" : "s");
}

static void check_info(struct report *r, const struct plugin *p,
                       const char *subject)
{
    char caps[64];
    plugin_capability_names(p, caps, sizeof caps);
    if (!given(p->description))
        report_line(r, CHECK_FAIL, subject, "plugin.info",
                    "no description (it is what 'sluice plugins describe' "
                    "prints)");
    else
        report_line(r, CHECK_PASS, subject, "plugin.info",
                    "%u-byte info; capabilities: %s; every callback they "
                    "need is present",
                    p->info.source.size, caps);
}

static void check_described(struct report *r, const struct plugin *p,
                            const char *subject)
{
    for (size_t i = 0; i < p->option_count; i++)
        if (!given(p->options[i].description)) {
            report_line(r, CHECK_FAIL, subject, "options.described",
                        "option '%s' has no description", p->options[i].name);
            return;
        }
    report_line(r, CHECK_PASS, subject, "options.described",
                "%zu option%s, each with a description", p->option_count,
                p->option_count == 1 ? "" : "s");
}

static void check_unique(struct report *r, const struct plugin *p,
                         const char *subject)
{
    for (size_t i = 0; i < p->option_count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->options[i].name, p->options[j].name) == 0) {
                report_line(r, CHECK_FAIL, subject, "options.unique",
                            "option '%s' is declared twice",
                            p->options[i].name);
                return;
            }
    report_line(r, CHECK_PASS, subject, "options.unique",
                "every option name is declared once");
}

/* Every default parses as its option's type and lies in its range or
 * allowed values: option_parse is the same code that reads the file. */
static void check_defaults(struct report *r, const struct plugin *p,
                           const char *subject)
{
    size_t n = 0;
    for (size_t i = 0; i < p->option_count; i++) {
        const sluice_option *o = &p->options[i];
        if (!o->default_value)
            continue;
        if (o->flags & SLUICE_OPTION_REQUIRED) {
            report_line(r, CHECK_FAIL, subject, "options.defaults",
                        "option '%s' is required and has a default", o->name);
            return;
        }
        void *scratch = xcalloc(1, p->config_size ? p->config_size : 1);
        struct error why;
        int rc = option_parse(o, o->default_value, scratch, &why);
        options_free(o, 1, scratch);
        free(scratch);
        if (rc < 0) {
            report_line(r, CHECK_FAIL, subject, "options.defaults",
                        "option '%s': default is invalid: %s", o->name,
                        why.message);
            return;
        }
        n++;
    }
    report_line(r, CHECK_PASS, subject, "options.defaults",
                "%zu default%s, each valid for its type, range and allowed "
                "values",
                n, n == 1 ? "" : "s");
}

static void check_table(struct report *r, const struct plugin *p,
                        const char *subject)
{
    struct error err;
    if (options_check_table(p->options, p->option_count, p->config_size,
                            &err) < 0)
        report_line(r, CHECK_FAIL, subject, "options.table", "%s",
                    err.message);
    else
        report_line(r, CHECK_PASS, subject, "options.table",
                    "types, offsets inside the %zu-byte config struct, "
                    "ranges and allowed values are consistent",
                    p->config_size);
}

void static_checks_plugin(struct report *r, const struct plugin *p,
                          const char *subject)
{
    check_info(r, p, subject);
    check_described(r, p, subject);
    check_unique(r, p, subject);
    check_defaults(r, p, subject);
    check_table(r, p, subject);
}
