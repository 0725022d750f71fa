/* tables.c: the work on a pipe's destination tables: finding the tables
 * of a pipe that names none, claiming each destination (one owner per
 * destination) and setting it up, with its shadow for a resync or for a
 * table added; telling a sink opened anew the tables it had; swapping
 * the shadows in; dropping the destinations of removed tables. A table
 * that fails alone does not stop the others (spec/lifecycle.md). */
#include <stdlib.h>
#include <string.h>

#include "../lifecycle/destinations.h"
#include "../lifecycle/lifecycle.h"
#include "../plugin/values.h"
#include "../store/schema.h"
#include "../util/log.h"
#include "pipe.h"

/* A new pipe without a table list: the source says what it has. */
static enum outcome discover_tables(struct run *u, struct pipe_row *row,
                                    struct failure *f)
{
    if (row->table_count)
        return GO_ON;
    struct sluice_values v = {0};
    struct call_error e;
    if (from_call(source_list_tables(SOURCE_OF(u), &v, &e), &e, f) != GO_ON) {
        values_free(&v);
        return f->outcome;
    }
    struct error err;
    int rc = pipe_tables_found(u->s, u->pc->name, (const char *const *)v.items,
                               v.count, &err);
    values_free(&v);
    if (rc < 0)
        return from_store(&err, f);
    bool found;
    pipe_row_free(row);
    if (pipe_load(u->s, u->pc->name, row, &found, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* The owner of a destination, as the sink records it. */
static enum outcome sink_claims(struct run *u, const char *table, bool upgrade,
                                struct failure *f)
{
    struct error err;
    const char *id = store_id(u->s, &err);
    if (!id)
        return from_store(&err, f);
    sluice_owner owner = {.size = sizeof owner,
                          .store_id = id,
                          .store_name = store_name(u->s),
                          .pipe = u->pc->name,
                          .table = table,
                          .upgrade = upgrade};
    struct call_error e;
    if (from_call(sink_claim(SINK_OF(u), &owner, &e), &e, f) != GO_ON)
        return f->outcome;
    if (upgrade && destination_settled(u->s, u->pc->name, table, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}

/* The table's destination is this pipe's: in the store (no other table of
 * this store's pipes has it) and, when the sink records owners, in the
 * destination itself (for deployments with stores of their own). A
 * destination that is another's fails the table alone. */
static enum outcome claim_destination(struct run *u, const char *table,
                                      struct failure *f)
{
    const struct plugin *sink = u->pc->sink.plugin;
    if (!sink->info.sink.destination)
        return GO_ON;
    struct sluice_values name = {0};
    struct call_error e;
    if (from_call(sink_destination(sink, u->pc->sink.data, table, &name, &e),
                  &e, f) != GO_ON) {
        values_free(&name);
        return f->outcome;
    }
    if (name.count != 1) {
        values_free(&name);
        return fail_with(f,
                         "%s.destination: gave %zu names for table %s, "
                         "not one",
                         sink->name, name.count, table);
    }
    bool upgrade;
    char *owner;
    struct error err;
    int rc = destination_claim(u->s, u->pc->name, table, name.items[0],
                               &upgrade, &owner, &err);
    enum outcome o = GO_ON;
    if (rc < 0) {
        o = from_store(&err, f);
    } else if (rc == 1) {
        o = fail_with(f,
                      "destination %s of table %s belongs to %s of this "
                      "store: one destination has one owner (give this "
                      "pipe's sink another database or table prefix, or "
                      "remove the table from one of the pipes)",
                      name.items[0], table, owner);
        f->table_only = true;
    } else if (sink->info.sink.claim) {
        o = sink_claims(u, table, upgrade, f);
    }
    free(owner);
    values_free(&name);
    return o;
}

/* A form as a message shows it. */
static const char *form_shown(const char *form)
{
    return !strcmp(form, FORM_BEFORE_FORMS) ? "the form of the sluice that "
                                              "set it up, before forms were "
                                              "recorded"
           : !form[0]                       ? "no option shapes the data"
                                            : form;
}

/* The table is written in the pipe's form (config_pipe_form), recorded
 * at its first setup; a table written in another fails alone, since its
 * rows would mix two forms. A resync rewrites the table whatever its
 * form (tables_swap records the new one). */
static enum outcome check_form(struct run *u, const char *table, bool resync,
                               struct failure *f)
{
    if (resync)
        return GO_ON;
    char *recorded, *form = NULL;
    struct error err;
    enum outcome o = GO_ON;
    if (destination_form(u->s, u->pc->name, table, &recorded, &err) < 0)
        return from_store(&err, f);
    if (recorded && !config_form_same(u->pc, recorded)) {
        form = config_pipe_form(u->pc);
        o = fail_with(f,
                      "table %s is written in another form (%s) than the "
                      "pipe writes now (%s): its rows would mix the two; "
                      "resync the pipe ('sluice resync %s') to rewrite the "
                      "table, or set those options back",
                      table, form_shown(recorded), form_shown(form),
                      u->pc->name);
        f->table_only = true;
    } else { /* recorded now, or in today's words */
        form = config_pipe_form(u->pc);
        if ((!recorded || strcmp(recorded, form)) &&
            destination_form_set(u->s, u->pc->name, table, form, &err) < 0)
            o = from_store(&err, f);
    }
    free(recorded);
    free(form);
    return o;
}

/* Where a table loads: into its destination, or into its resync shadow,
 * kept as it is (a restart during the load reads on into it) or made new
 * (at setup nothing is loaded yet: a shadow there is what a load cut
 * short left, say by a failure before a new resync, and holds rows the
 * source may no longer have). */
enum shadow { NO_SHADOW, SHADOW_KEPT, SHADOW_NEW };

/* One table's destination claimed and made ready, and its shadow for a
 * resync. The shadow comes first, so that the sink sets the destination
 * up knowing the resync will replace it: a destination it would refuse to
 * write (another form, say) is what a resync is for. A table that fails
 * alone (its destination refused, or another's) does not stop the
 * others: *failed says so. */
static enum outcome set_up_table(struct run *u, const char *table,
                                 enum shadow shadow, bool *failed,
                                 struct failure *f)
{
    struct call_error e;
    bool resync = shadow != NO_SHADOW;
    *failed = false;
    if (check_form(u, table, resync, f) != GO_ON ||
        claim_destination(u, table, f) != GO_ON ||
        (shadow == SHADOW_NEW &&
         from_call(sink_resync_abort(SINK_OF(u), table, &e), &e, f) !=
             GO_ON) ||
        (resync && from_call(sink_resync_begin(SINK_OF(u), table, &e), &e,
                             f) != GO_ON) ||
        from_call(sink_setup_table(SINK_OF(u), table, &e), &e, f) != GO_ON) {
        *failed = f->outcome == FATAL && f->table_only;
        return table_failed(u, table, f);
    }
    log_pipe(SLUICE_LOG_DEBUG, u->pc->name, table, NULL,
             "table %s: destination %s by %s", table,
             resync ? "and its resync shadow set up" : "set up",
             u->pc->sink.plugin->name);
    return GO_ON;
}

/* Whether the tables a `tables add` adds load into their shadows, to be
 * swapped in once loaded, as a resync loads every table: a destination
 * kept from before (the collection dropped and made again, the table
 * removed and added again) holds rows the source has no more, which a
 * load straight into it would leave there. Not without a sink that has
 * resyncs, nor for a cdc-only pipe, which loads nothing. */
static bool adds_in_shadow(const struct run *u, const struct pipe_row *row)
{
    return (u->pc->sink.plugin->capabilities & SLUICE_SINK_RESYNC) &&
           pipe_mode_of(row) != PIPE_MODE_CDC;
}

enum outcome tables_set_up(struct run *u, struct pipe_row *row,
                           struct failure *f)
{
    if (discover_tables(u, row, f) != GO_ON)
        return f->outcome;
    /* a resync starts here: no table's swap has begun (nor an added
     * table's: its row is new) */
    bool resync = row->context == CONTEXT_RESYNC;
    struct error err;
    if (resync && pipe_tables_swaps_clear(u->s, u->pc->name, &err) < 0)
        return from_store(&err, f);
    bool added = row->context == CONTEXT_ADD;
    bool shadow = resync || (added && adds_in_shadow(u, row));
    size_t n;
    char **tables =
        added ? tables_of(row, TABLE_ADDING, &n) : tables_served(row, &n);
    enum outcome o = GO_ON;
    bool failed;
    for (size_t i = 0; i < n && o == GO_ON; i++)
        o = set_up_table(u, tables[i], shadow ? SHADOW_NEW : NO_SHADOW,
                         &failed, f);
    free(tables);
    if (o == GO_ON && lifecycle_setup_done(u->s, u->pc->name, &err) < 0)
        o = from_store(&err, f);
    return o;
}

/* Whether table `t` of a pipe past its setup loads into its shadow, or
 * is swapped in: every table in a resync's snapshot and swaps, an added
 * one in its add's snapshot (adds_in_shadow). */
static bool in_shadow(const struct run *u, const struct pipe_row *row,
                      const struct pipe_table *t)
{
    if (row->state != STATE_SNAPSHOT && row->state != STATE_RESYNC)
        return false;
    return row->context == CONTEXT_RESYNC ||
           (row->context == CONTEXT_ADD && t->status == TABLE_ADDING &&
            adds_in_shadow(u, row));
}

enum outcome tables_reopen(struct run *u, const struct pipe_row *row,
                           bool *changed, struct failure *f)
{
    enum outcome o = GO_ON;
    *changed = false;
    struct error err;
    for (size_t i = 0; i < row->table_count && o == GO_ON; i++) {
        const struct pipe_table *t = &row->tables[i];
        if (t->status != TABLE_ACTIVE && t->status != TABLE_ADDING)
            continue;
        /* a table whose swap began has its shadow in place, or swapped in:
         * begun again, it would be empty */
        bool shadow = in_shadow(u, row, t), failed = false, swapping = false;
        if (shadow && pipe_table_swapping(u->s, u->pc->name, t->name,
                                          &swapping, &err) < 0)
            o = from_store(&err, f);
        else
            o = set_up_table(u, t->name,
                             shadow && !swapping ? SHADOW_KEPT : NO_SHADOW,
                             &failed, f);
        *changed = *changed || failed;
    }
    return o;
}

/* Each table's shadow swapped in (`what` names the load, for the log),
 * and the form it is written in recorded. Each swap is recorded as
 * begun before it is made: a restart begins no shadow of it again, and
 * makes the swap again (a sink's swap may be: done, it finds no
 * shadow). */
static enum outcome swap_in(struct run *u, char *const *tables, size_t n,
                            const char *what, struct failure *f)
{
    enum outcome o = GO_ON;
    struct call_error e;
    struct error err;
    char *form = config_pipe_form(u->pc);
    for (size_t i = 0; i < n && o == GO_ON; i++)
        if (pipe_table_swap_begun(u->s, u->pc->name, tables[i], &err) < 0)
            o = from_store(&err, f);
        else if (from_call(sink_resync_swap(SINK_OF(u), tables[i], &e), &e,
                           f) != GO_ON)
            o = table_failed(u, tables[i], f);
        else if (destination_form_set(u->s, u->pc->name, tables[i], form,
                                      &err) < 0)
            o = from_store(&err, f);
        else
            log_pipe(SLUICE_LOG_DEBUG, u->pc->name, tables[i], NULL,
                     "table %s: %s swapped in", tables[i], what);
    free(form);
    return o;
}

enum outcome tables_swap(struct run *u, const struct pipe_row *row,
                         struct failure *f)
{
    size_t n;
    char **tables = tables_of(row, TABLE_ACTIVE, &n);
    enum outcome o = swap_in(u, tables, n, "resync", f);
    free(tables);
    struct error err;
    if (o == GO_ON && lifecycle_resync_done(u->s, u->pc->name, &err) < 0)
        o = from_store(&err, f);
    return o;
}

enum outcome tables_swap_added(struct run *u, const struct pipe_row *row,
                               struct failure *f)
{
    if (!adds_in_shadow(u, row))
        return GO_ON;
    /* as the store has them now: a table stopped meanwhile is not */
    char **tables;
    size_t n;
    struct error err;
    if (pipe_table_names(u->s, u->pc->name, TABLE_ADDING, &tables, &n, &err) <
        0)
        return from_store(&err, f);
    enum outcome o = swap_in(u, tables, n, "the load of the added table", f);
    names_free(tables, n);
    return o;
}

enum outcome tables_remove(struct run *u, const struct pipe_row *row,
                           struct failure *f)
{
    struct call_error e;
    for (size_t i = 0; i < row->table_count; i++) {
        const struct pipe_table *t = &row->tables[i];
        if (t->status != TABLE_REMOVING || !t->drop_destination)
            continue;
        if (!u->pc->sink.plugin->info.sink.drop_table) {
            log_pipe(SLUICE_LOG_WARN, u->pc->name, t->name, NULL,
                     "table %s: the sink cannot drop destinations; kept",
                     t->name);
            continue;
        }
        if (from_call(sink_drop_table(SINK_OF(u), t->name, &e), &e, f) !=
                GO_ON &&
            table_failed(u, t->name, f) != GO_ON)
            return f->outcome;
    }
    struct error err;
    if (lifecycle_modify_done(u->s, u->pc->name, &err) < 0)
        return from_store(&err, f);
    return GO_ON;
}
