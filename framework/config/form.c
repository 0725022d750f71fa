/* form.c: the form a pipe writes its destination tables in: the options of
 * its plugins that shape the data (SLUICE_OPTION_FORM), with their values,
 * in the order of the plugins' option tables (see config.h). */
#include <stdlib.h>

#include "../options/options.h"
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
