/* destinations.h: one owner per destination. A destination is where a
 * sink writes one table (for ClickHouse: server, database, table), as the
 * sink names it (sink `destination`, ABI 1.2). The store records the
 * destination of each pipe table once claimed, and no two tables of any
 * pipes of one store may claim the same one (a unique index, so that
 * two workers racing cannot both win). A table's row going (tables
 * remove, pipe delete) releases its claim. */
#ifndef SLUICE_LIFECYCLE_DESTINATIONS_H
#define SLUICE_LIFECYCLE_DESTINATIONS_H

#include <stdbool.h>

#include "../store/store.h"

/* Claims `destination` for `table` of `pipe`: 0 when it is that table's
 * (now or already); 1 when another table holds it, `*owner` then naming
 * it ("pipe 'P', table 'T'", the caller frees it); -1 on a store error.
 * *upgrade says that the table was set up before owners were recorded
 * (its destination may exist without an owner: it is the pipe's). */
int destination_claim(struct store *s, const char *pipe, const char *table,
                      const char *destination, bool *upgrade, char **owner,
                      struct error *err);

/* The form a table is written in (config_pipe_form), as recorded at its
 * first setup: *recorded NULL when none is yet (the caller frees it);
 * FORM_BEFORE_FORMS for a table set up before forms were recorded. */
int destination_form(struct store *s, const char *pipe, const char *table,
                     char **recorded, struct error *err);

/* The table is written in `form` (its first setup, or a resync rewrote
 * it). */
int destination_form_set(struct store *s, const char *pipe, const char *table,
                         const char *form, struct error *err);

/* The sink recorded the owner too: the table no longer adopts as an
 * upgrade would. */
int destination_settled(struct store *s, const char *pipe, const char *table,
                        struct error *err);

#endif
