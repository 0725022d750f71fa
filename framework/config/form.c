/* form.c: the form a pipe writes its destination tables in: the options of
 * its plugins that shape the data (SLUICE_OPTION_FORM), with their values,
 * in the order of the plugins' option tables, "role.option = value"
 * joined by ", " (such options are scalars: their values hold no ", ");
 * and whether a recorded form is the pipe's (see config.h). */
#include <stdlib.h>
#include <string.h>

#include "../options/options.h"
#include "../store/schema.h"
#include "../util/buf.h"
#include "../util/mem.h"
#include "config.h"

static void add_form(const char *role, const struct plugin_config *pc,
                     struct buf *out)
{
    const struct plugin *p = pc->plugin;
    if (!p)
        return;
    for (size_t i = 0; i < p->option_count; i++) {
        const sluice_option *o = &p->options[i];
        if (!(o->flags & SLUICE_OPTION_FORM))
            continue;
        buf_printf(out, "%s%s.%s = ", out->len ? ", " : "", role, o->name);
        option_format_value(o, pc->data, out);
    }
}

char *config_pipe_form(const struct pipe_config *p)
{
    struct buf out = {0};
    add_form("source", &p->source, &out);
    add_form("sink", &p->sink, &out);
    return out.data ? out.data : xstrdup(""); /* no option shapes it */
}

/* Where an item of the ", "-joined list `items` starts with `start`, or
 * NULL. */
static const char *item_at(const char *items, const char *start)
{
    for (const char *p = items; (p = strstr(p, start)) != NULL; p++)
        if (p == items || (p >= items + 2 && !strncmp(p - 2, ", ", 2)))
            return p;
    return NULL;
}

/* Each form option of `pc` is as `recorded` has it, or, when `recorded`
 * names it not, at its default; *named counts those it names. */
static bool options_same(const char *role, const struct plugin_config *pc,
                         const char *recorded, size_t *named)
{
    const struct plugin *p = pc->plugin;
    bool same = true;
    for (size_t i = 0; p && same && i < p->option_count; i++) {
        const sluice_option *o = &p->options[i];
        if (!(o->flags & SLUICE_OPTION_FORM))
            continue;
        struct buf key = {0}, value = {0};
        buf_printf(&key, "%s.%s = ", role, o->name);
        option_format_value(o, pc->data, &value);
        const char *now = value.len ? value.data : "";
        const char *at = item_at(recorded, key.data);
        if (at) {
            const char *was = at + key.len;
            size_t n = strlen(now);
            same = !strncmp(was, now, n) &&
                   (was[n] == '\0' || !strncmp(was + n, ", ", 2));
            ++*named;
        } else {
            same = o->default_value && !strcmp(o->default_value, now);
        }
        buf_free(&key);
        buf_free(&value);
    }
    return same;
}

bool config_form_same(const struct pipe_config *p, const char *recorded)
{
    char *form = config_pipe_form(p);
    bool equal = !strcmp(recorded, form), none = !form[0];
    free(form);
    if (equal || !strcmp(recorded, FORM_BEFORE_FORMS))
        return equal || none;
    size_t named = 0, items = recorded[0] ? 1 : 0;
    for (const char *c = recorded; (c = strstr(c, ", ")) != NULL; c += 2)
        items++;
    /* every option recorded is one the pipe still has */
    return options_same("source", &p->source, recorded, &named) &&
           options_same("sink", &p->sink, recorded, &named) && named == items;
}
