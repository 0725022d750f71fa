/* schema.h: the store's numbered migrations (schema.c). */
#ifndef SLUICE_STORE_SCHEMA_H
#define SLUICE_STORE_SCHEMA_H

/* The newest schema version this sluice knows. */
int schema_latest(void);
/* The statements that bring a store from version - 1 to `version`, ended
 * by NULL; NULL for a version this sluice does not know. */
const char *const *schema_migration(int version);

/* The form (pipe_tables.form) of a table set up before forms were
 * recorded: written as sluice then wrote every table, in the form that no
 * option names today. */
#define FORM_BEFORE_FORMS "before forms were recorded"

#endif
