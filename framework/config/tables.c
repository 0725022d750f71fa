/* tables.c: the tables a sluice INI file names for a pipe (its source's
 * option flagged SLUICE_OPTION_TABLES), and the line that names them. */
#include <stdlib.h>

#include "../util/mem.h"
#include "config.h"

const sluice_string_list *config_pipe_tables(const struct pipe_config *p)
{
    const struct plugin *src = p->source.plugin;
    for (size_t i = 0; src && p->source.data && i < src->option_count; i++)
        if (src->options[i].flags & SLUICE_OPTION_TABLES)
            return (const sluice_string_list *)((const char *)p->source.data +
                                                src->options[i].offset);
    return NULL;
}

int config_pipe_tables_line(const struct config *cfg,
                            const struct pipe_config *p)
{
    const struct plugin *src = p->source.plugin;
    char *name = xasprintf("pipe %s.source", p->name);
    struct ini_section *s = ini_doc_section(&cfg->doc, name);
    free(name);
    for (size_t i = 0; s && src && i < src->option_count; i++) {
        struct ini_entry *e = ini_section_entry(s, src->options[i].name);
        if ((src->options[i].flags & SLUICE_OPTION_TABLES) && e)
            return e->line;
    }
    return p->line;
}
