/* plugin.c: a plugin as the core keeps it, built from the info struct a
 * module registers (see plugin_from_info in plugin.h): the struct's size,
 * the plugin's name, its capabilities and the callbacks they need, and its
 * option table are checked first; and the names of kinds and
 * capabilities. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../options/options.h"
#include "../util/mem.h"
#include "plugin.h"

/* Every info struct has at least the common head, through `close`. */
#define INFO_MIN_SIZE (offsetof(sluice_source_info, close) + sizeof(void *))
/* An option table element of ABI 1.0. */
#define OPTION_MIN_SIZE (offsetof(sluice_option, allowed) + sizeof(void *))
#define OPTION_MAX_COUNT 1000
/* A config struct holds options (pointers and numbers): anything larger is
 * not one, and allocating it could end the process, not refuse the file. */
#define CONFIG_SIZE_MAX ((size_t)1 << 20)

struct callback_rule {
    const char *name;
    size_t offset;
    uint32_t capability; /* 0: always required */
};

struct kind_rules {
    const char *kind;
    size_t info_size;       /* sizeof the core's info struct */
    size_t option_count_at; /* offsetof its option_count (ABI 1.2) */
    uint32_t known_capabilities;
    const struct callback_rule *callbacks;
    size_t callback_count;
};

#define RULE(type, field, cap)                                                \
    {                                                                         \
#field, offsetof(type, field), cap                                    \
    }

static const struct callback_rule source_callbacks[] = {
    RULE(sluice_source_info, open, 0),
    RULE(sluice_source_info, close, 0),
    RULE(sluice_source_info, list_tables, 0),
    RULE(sluice_source_info, snapshot_begin, SLUICE_SOURCE_SNAPSHOT),
    RULE(sluice_source_info, snapshot_partitions, SLUICE_SOURCE_SNAPSHOT),
    RULE(sluice_source_info, snapshot_next, SLUICE_SOURCE_SNAPSHOT),
    RULE(sluice_source_info, cdc_start, SLUICE_SOURCE_CDC),
    RULE(sluice_source_info, cdc_poll, SLUICE_SOURCE_CDC),
    RULE(sluice_source_info, cdc_ack, SLUICE_SOURCE_CDC),
};

static const struct callback_rule sink_callbacks[] = {
    RULE(sluice_sink_info, open, 0),
    RULE(sluice_sink_info, close, 0),
    RULE(sluice_sink_info, setup_table, 0),
    RULE(sluice_sink_info, write, 0),
    RULE(sluice_sink_info, flush, 0),
    RULE(sluice_sink_info, resync_begin, SLUICE_SINK_RESYNC),
    RULE(sluice_sink_info, resync_swap, SLUICE_SINK_RESYNC),
    RULE(sluice_sink_info, resync_abort, SLUICE_SINK_RESYNC),
    RULE(sluice_sink_info, drop_table, SLUICE_SINK_DROP),
};

static const struct callback_rule retention_callbacks[] = {
    RULE(sluice_retention_info, open, 0),
    RULE(sluice_retention_info, close, 0),
    RULE(sluice_retention_info, plan, 0),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct kind_rules kinds[] = {
    [PLUGIN_SOURCE] = {"source", sizeof(sluice_source_info),
                       offsetof(sluice_source_info, option_count),
                       SLUICE_SOURCE_SNAPSHOT | SLUICE_SOURCE_CDC,
                       source_callbacks, COUNT(source_callbacks)},
    [PLUGIN_SINK] = {"sink", sizeof(sluice_sink_info),
                     offsetof(sluice_sink_info, option_count),
                     SLUICE_SINK_RESYNC | SLUICE_SINK_DROP, sink_callbacks,
                     COUNT(sink_callbacks)},
    [PLUGIN_RETENTION] = {"retention", sizeof(sluice_retention_info),
                          offsetof(sluice_retention_info, option_count),
                          SLUICE_RETENTION_PAGED, retention_callbacks,
                          COUNT(retention_callbacks)},
};

static const struct {
    enum plugin_kind kind;
    uint32_t bit;
    const char *name;
} capability_names[] = {
    {PLUGIN_SOURCE, SLUICE_SOURCE_SNAPSHOT, "snapshot"},
    {PLUGIN_SOURCE, SLUICE_SOURCE_CDC, "cdc"},
    {PLUGIN_SINK, SLUICE_SINK_RESYNC, "resync"},
    {PLUGIN_SINK, SLUICE_SINK_DROP, "drop"},
    {PLUGIN_RETENTION, SLUICE_RETENTION_PAGED, "paged"},
};

const char *plugin_kind_name(enum plugin_kind kind)
{
    return kinds[kind].kind;
}

static const char *capability_name(enum plugin_kind kind, uint32_t bit)
{
    for (size_t i = 0; i < COUNT(capability_names); i++)
        if (capability_names[i].kind == kind && capability_names[i].bit == bit)
            return capability_names[i].name;
    return "?";
}

void plugin_capability_names(const struct plugin *p, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < COUNT(capability_names); i++)
        if (capability_names[i].kind == p->kind &&
            (p->capabilities & capability_names[i].bit) && used < size)
            used +=
                (size_t)snprintf(out + used, size - used, "%s%s",
                                 used ? ", " : "", capability_names[i].name);
    if (!out[0])
        snprintf(out, size, "-");
}

bool plugin_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= 64 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Copies the option table out of the plugin, element by element at the
 * plugin's stride, into zeroed core-sized elements: up to its terminator,
 * and never past `count` entries when the plugin says how many it has
 * (ABI 1.2; 0: not said). */
static int copy_options(const sluice_option *table, size_t stride,
                        size_t count, size_t config_size, unsigned abi_minor,
                        struct plugin *p, struct error *err)
{
    if (!table)
        return 0;
    if (stride < OPTION_MIN_SIZE)
        return error_set(err,
                         "option_size is %zu, smaller than ABI 1.0's "
                         "%zu (fill it with SLUICE_OPTION_TABLE)",
                         stride, (size_t)OPTION_MIN_SIZE);
    if (stride > sizeof(sluice_option))
        return error_set(err,
                         "option_size is %zu, larger than this ABI's "
                         "%zu",
                         stride, sizeof(sluice_option));
    for (size_t n = 0;; n++) {
        if (count && n == count)
            return error_set(err,
                             "option table has no end: none of its %zu "
                             "entries is the {0} that ends it (end the "
                             "table with {0})",
                             count);
        const sluice_option *o =
            (const sluice_option *)((const char *)table + n * stride);
        if (!o->name)
            break;
        if (n == OPTION_MAX_COUNT)
            return error_set(err, "option table has no end (an entry whose "
                                  "name is NULL)");
        XGROW(p->options, p->option_count, n + 1);
        memset(&p->options[n], 0, sizeof p->options[n]);
        memcpy(&p->options[n], o, stride);
        /* before ABI 1.2, `allowed` meant something to an ENUM only */
        if (abi_minor < 2 && o->type != SLUICE_OPTION_ENUM)
            p->options[n].allowed = NULL;
        p->option_count = n + 1;
    }
    return options_check_table(p->options, p->option_count, config_size, err);
}

static int check_callbacks(enum plugin_kind kind, const void *info,
                           uint32_t capabilities, struct error *err)
{
    const struct kind_rules *rules = &kinds[kind];
    for (size_t i = 0; i < rules->callback_count; i++) {
        const struct callback_rule *r = &rules->callbacks[i];
        if (r->capability && !(capabilities & r->capability))
            continue;
        void (*fn)(void);
        memcpy(&fn, (const char *)info + r->offset, sizeof fn);
        if (fn)
            continue;
        if (r->capability)
            return error_set(err,
                             "declares capability '%s' but has no '%s' "
                             "callback",
                             capability_name(kind, r->capability), r->name);
        return error_set(err, "has no '%s' callback (required)", r->name);
    }
    return 0;
}

int plugin_from_info(enum plugin_kind kind, const void *info, size_t size,
                     unsigned abi_minor, struct plugin **out,
                     struct error *err)
{
    const struct kind_rules *rules = &kinds[kind];
    if (!info)
        return error_set(err, "%s info is NULL", rules->kind);
    if (size < INFO_MIN_SIZE)
        return error_set(err,
                         "%s info is %zu bytes, smaller than any ABI "
                         "1.x %s (%zu)",
                         rules->kind, size, rules->kind,
                         (size_t)INFO_MIN_SIZE);
    if (size > rules->info_size)
        return error_set(err,
                         "%s info is %zu bytes, larger than ABI "
                         "%d.%d's %zu",
                         rules->kind, size, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR,
                         rules->info_size);
    struct plugin *p = xcalloc(1, sizeof *p);
    p->kind = kind;
    memcpy(&p->info, info, size);                     /* the rest stays zero */
    const sluice_source_info *head = &p->info.source; /* same head */
    p->name = head->name;
    p->description = head->description ? head->description : "";
    p->capabilities = head->capabilities;
    p->flags = head->flags;
    p->config_size = head->config_size;
    p->open = head->open;
    p->close = head->close;
    *out = p;
    if (!plugin_valid_name(head->name))
        return error_set(err,
                         "%s name '%s' is not 1 to 64 lower case "
                         "letters, digits and '_'",
                         rules->kind, head->name ? head->name : "(null)");
    if (p->capabilities & ~rules->known_capabilities)
        return error_set(err, "%s '%s' declares unknown capabilities 0x%x",
                         rules->kind, p->name,
                         p->capabilities & ~rules->known_capabilities);
    if (kind == PLUGIN_RETENTION && abi_minor < 2 &&
        (p->capabilities & SLUICE_RETENTION_PAGED))
        return error_set(err,
                         "retention '%s' declares capability 'paged', which "
                         "is ABI 1.2's, but is built for ABI 1.%u",
                         p->name, abi_minor);
    if (p->config_size > CONFIG_SIZE_MAX)
        return error_set(err,
                         "%s '%s': config_size is %zu bytes, more than "
                         "the %zu a config struct may have (set it to "
                         "sizeof the struct the options fill)",
                         rules->kind, p->name, p->config_size,
                         (size_t)CONFIG_SIZE_MAX);
    size_t option_count = 0;
    if (size >= rules->option_count_at + sizeof option_count)
        memcpy(&option_count, (const char *)&p->info + rules->option_count_at,
               sizeof option_count);
    if (check_callbacks(kind, &p->info, p->capabilities, err) < 0 ||
        copy_options(head->options, head->option_size, option_count,
                     p->config_size, abi_minor, p, err) < 0)
        return error_prefix(err, "%s '%s'", rules->kind, p->name);
    return 0;
}

void plugin_free(struct plugin *p)
{
    if (!p)
        return;
    free(p->options);
    free(p);
}
