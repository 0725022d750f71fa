/* kit_file.c: the kit file (--kit) of `sluice plugin test`. A plugin's
 * options go in a section named by its kind and name, exactly as they
 * would go in [pipe NAME.source] and the like; the kit's own settings for
 * it go in [conformance NAME]. Both are checked by the option engine, so
 * an unknown or misspelt key is an error with file and line. */
#include <stdlib.h>
#include <string.h>

#include "../hub/hub.h"
#include "../options/options.h"
#include "../util/mem.h"
#include "kit.h"

#define KIT_FIELD(f) offsetof(struct kit_settings, f)

static const sluice_option kit_options[] = {
    {.type = SLUICE_OPTION_LIST,
     .name = "tables",
     .offset = KIT_FIELD(tables),
     .description = "Sources: the tables to snapshot and follow; by default "
                    "every table the source lists."},
    {.type = SLUICE_OPTION_INT,
     .name = "batch_records",
     .default_value = "3",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(batch_records),
     .min = 1,
     .max = 1000000,
     .description = "Sources: records per batch; small batches give many "
                    "positions to resume from."},
    {.type = SLUICE_OPTION_INT,
     .name = "max_resumes",
     .default_value = "50",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(max_resumes),
     .min = 1,
     .max = 100000,
     .description = "Sources: the most positions resumed from, per snapshot "
                    "partition and for the change stream, spread evenly."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "cdc_time",
     .default_value = "3s",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(cdc_time_ms),
     .min = 0,
     .max = 3600000,
     .description = "Sources: how long to poll for changes."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "poll_timeout",
     .default_value = "200ms",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(poll_timeout_ms),
     .min = 1,
     .max = 60000,
     .description = "Sources: the timeout given to each cdc_poll."},
    {.type = SLUICE_OPTION_STRING,
     .name = "changes",
     .offset = KIT_FIELD(changes),
     .description = "Sources: a shell command run once the change stream is "
                    "open, to make changes in the source."},
    {.type = SLUICE_OPTION_INT,
     .name = "expect_changes",
     .default_value = "0",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(expect_changes),
     .min = 0,
     .max = 100000000,
     .description = "Sources: fail when fewer changes than this arrive."},
    {.type = SLUICE_OPTION_STRING,
     .name = "table",
     .default_value = "sluice_conformance",
     .offset = KIT_FIELD(table),
     .description = "Sinks: the table the kit sets up, writes and drops."},
    {.type = SLUICE_OPTION_STRING,
     .name = "verify",
     .offset = KIT_FIELD(verify),
     .description = "Sinks: a shell command that prints the destination's "
                    "visible rows, sorted; without it a replay's effect "
                    "cannot be compared."},
    {.type = SLUICE_OPTION_INT,
     .name = "consumed_retention_days",
     .default_value = "1",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(consumed_days),
     .min = HUB_RETENTION_MIN_DAYS,
     .max = HUB_RETENTION_MAX_DAYS,
     .description = "Retention: the topic property given to plan."},
    {.type = SLUICE_OPTION_INT,
     .name = "unconsumed_retention_days",
     .default_value = "3",
     .flags = SLUICE_OPTION_RANGE,
     .offset = KIT_FIELD(unconsumed_days),
     .min = HUB_RETENTION_MIN_DAYS,
     .max = HUB_RETENTION_MAX_DAYS,
     .description = "Retention: the topic property given to plan."},
};
#define KIT_OPTION_COUNT (sizeof kit_options / sizeof kit_options[0])

static const char *const section_kinds[] = {"source", "sink", "retention",
                                            "conformance"};
#define SECTION_KIND_COUNT (sizeof section_kinds / sizeof section_kinds[0])

/* The NAME of "KIND NAME", or NULL when the section is not of that kind. */
static const char *section_plugin(const char *section, const char *kind)
{
    size_t n = strlen(kind);
    if (strncmp(section, kind, n) != 0 || section[n] != ' ')
        return NULL;
    return section + n + 1;
}

int kit_file_load(const char *path, struct kit_file *f, struct diags *diags,
                  struct error *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    if (ini_doc_load(path, &f->doc, diags, err) < 0)
        return -1;
    for (size_t i = 0; i < f->doc.count; i++) {
        const struct ini_section *s = &f->doc.sections[i];
        bool known = false;
        for (size_t k = 0; k < SECTION_KIND_COUNT && !known; k++)
            known = section_plugin(s->name, section_kinds[k]) != NULL;
        if (!known)
            diags_error(diags,
                        "%s:%d: [%s]: unknown section; the kit reads "
                        "[source NAME], [sink NAME], [retention NAME] and "
                        "[conformance NAME]",
                        path, s->line, s->name);
    }
    return 0;
}

void kit_file_free(struct kit_file *f)
{
    ini_doc_free(&f->doc);
    memset(f, 0, sizeof *f);
}

void kit_file_check_names(const struct kit_file *f, const struct registry *reg,
                          struct diags *diags)
{
    for (size_t i = 0; i < f->doc.count; i++) {
        const struct ini_section *s = &f->doc.sections[i];
        for (size_t k = 0; k < SECTION_KIND_COUNT; k++) {
            const char *name = section_plugin(s->name, section_kinds[k]);
            const struct plugin *p = name ? registry_find(reg, name) : NULL;
            bool any_kind = k == SECTION_KIND_COUNT - 1;
            if (name && (!p || (!any_kind && strcmp(plugin_kind_name(p->kind),
                                                    section_kinds[k]) != 0)))
                diags_error(diags,
                            "%s:%d: [%s]: the module registers no %s "
                            "named '%s'",
                            f->path, s->line, s->name,
                            any_kind ? "plugin" : section_kinds[k], name);
        }
    }
}

/* Fills `config` from [name] of the file (absent: defaults). */
static void apply_section(const struct kit_file *f, const char *name,
                          const sluice_option *opts, size_t count,
                          void *config, struct diags *diags)
{
    struct ini_section *s = ini_doc_section(&f->doc, name);
    struct option_source src = {f->path, name, s, s ? s->line : 0};
    options_apply(opts, count, &src, config, diags);
    options_report_unknown(opts, count, &src, diags);
}

void live_prepare(struct live *l, const struct plugin *p,
                  const struct kit_file *f, struct report *r,
                  struct diags *diags)
{
    memset(l, 0, sizeof *l);
    l->plugin = p;
    l->report = r;
    snprintf(l->subject, sizeof l->subject, "%s %s", plugin_kind_name(p->kind),
             p->name);
    if (!f) {
        snprintf(l->why, sizeof l->why,
                 "needs a live instance: give --kit FILE with a [%s] "
                 "section (docs/conformance.md)",
                 l->subject);
        return;
    }
    if (!ini_doc_section(&f->doc, l->subject)) {
        snprintf(l->why, sizeof l->why,
                 "needs a live instance: %s has no [%s] section (an empty "
                 "one is enough when every option has a default)",
                 f->path, l->subject);
        return;
    }
    size_t before = diags->count;
    l->config = xcalloc(1, p->config_size ? p->config_size : 1);
    apply_section(f, l->subject, p->options, p->option_count, l->config,
                  diags);
    char kit_section[96];
    snprintf(kit_section, sizeof kit_section, "conformance %s", p->name);
    apply_section(f, kit_section, kit_options, KIT_OPTION_COUNT, &l->settings,
                  diags);
    l->ready = diags->count == before;
    if (!l->ready)
        snprintf(l->why, sizeof l->why, "[%s] has errors", l->subject);
}

void live_free(struct live *l)
{
    if (l->config)
        options_free(l->plugin->options, l->plugin->option_count, l->config);
    free(l->config);
    options_free(kit_options, KIT_OPTION_COUNT, &l->settings);
    memset(l, 0, sizeof *l);
}
