/* destinations.c: no two pipes of a file write one destination. Only the
 * sink knows where a table goes (server, database, prefix, suffix: sink
 * `destination`, ABI 1.2, from the config alone), so each pipe's sink
 * names the destination of every table the file lists for the pipe, and
 * two pipes that name the same one are an error naming both and their
 * lines. Tables a source finds by itself are checked when the pipe is
 * set up, against the store (lifecycle/destinations.h). */
#include <stdlib.h>
#include <string.h>

#include "../plugin/calls.h"
#include "../plugin/values.h"
#include "../util/mem.h"
#include "config.h"

struct named {
    char *destination;
    const struct pipe_config *pipe;
    const char *table;
};

static int by_destination(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->destination, y->destination);
    return c ? c : (x->pipe < y->pipe ? -1 : x->pipe > y->pipe);
}

/* A sink's refusal of its config, where it points: at the option whose
 * name begins the words ("columns: ..."), as the option engine's own
 * errors do, else at the pipe's sink section. */
static void refused(const struct config *cfg, const struct pipe_config *p,
                    const char *table, const char *words, struct diags *diags)
{
    char *name = xasprintf("pipe %s.sink", p->name);
    const struct ini_section *s = ini_doc_section(&cfg->doc, name);
    free(name);
    size_t key = strspn(words, "abcdefghijklmnopqrstuvwxyz0123456789_");
    const struct ini_entry *e = NULL;
    for (size_t i = 0; s && key && words[key] == ':' && i < s->count; i++)
        if (strlen(s->entries[i].key) == key &&
            !strncmp(s->entries[i].key, words, key))
            e = &s->entries[i];
    if (e)
        diags_error(diags, "%s:%d: [pipe %s.sink] %s", cfg->doc.path, e->line,
                    p->name, words);
    else
        diags_error(diags,
                    "%s:%d: [pipe %s.sink]: %s refuses these options "
                    "(asked where table '%s' goes): %s",
                    cfg->doc.path, s ? s->line : p->line, p->name,
                    p->sink.plugin->name, table, words);
}

/* Every (destination, pipe, table) the file can tell. A sink that cannot
 * name one (it has only the config: its options are what it refuses, as
 * open would) is reported once for its pipe. */
static struct named *name_all(const struct config *cfg, size_t *count,
                              struct diags *diags)
{
    struct named *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < cfg->pipe_count; i++) {
        const struct pipe_config *p = &cfg->pipes[i];
        const sluice_string_list *tables = config_pipe_tables(p);
        const struct plugin *sink = p->sink.plugin;
        if (!tables || !sink || !sink->info.sink.destination || !p->sink.data)
            continue;
        for (size_t t = 0; t < tables->count; t++) {
            struct sluice_values v = {0};
            struct call_error e;
            if (sink_destination(sink, p->sink.data, tables->items[t], &v,
                                 &e) != SLUICE_OK ||
                v.count != 1) {
                refused(cfg, p, tables->items[t],
                        e.message[0] ? e.message + e.words_at
                                     : "it gave no single name",
                        diags);
                values_free(&v);
                break;
            } else {
                XGROW(all, cap, n + 1);
                all[n++] =
                    (struct named){xstrdup(v.items[0]), p, tables->items[t]};
            }
            values_free(&v);
        }
    }
    *count = n;
    return all;
}

void config_check_destinations(const struct config *cfg, struct diags *diags)
{
    if (diags->count)
        return; /* the sinks' options may be what is wrong */
    size_t n;
    struct named *all = name_all(cfg, &n, diags);
    if (n)
        qsort(all, n, sizeof *all, by_destination);
    for (size_t i = 1; i < n; i++) {
        const struct named *a = &all[i - 1], *b = &all[i];
        if (strcmp(a->destination, b->destination) != 0 ||
            (a->pipe == b->pipe && !strcmp(a->table, b->table)))
            continue;
        diags_error(diags,
                    "%s:%d: pipe '%s' (table '%s', line %d) and pipe '%s' "
                    "(table '%s', line %d) write into one destination, %s: "
                    "give one of their sinks another database or "
                    "table_prefix",
                    cfg->doc.path, config_pipe_tables_line(cfg, b->pipe),
                    a->pipe->name, a->table,
                    config_pipe_tables_line(cfg, a->pipe), b->pipe->name,
                    b->table, config_pipe_tables_line(cfg, b->pipe),
                    a->destination);
    }
    for (size_t i = 0; i < n; i++)
        free(all[i].destination);
    free(all);
}
