/* schema.c: destination tables: the server's version and what it allows,
 * creating the database and tables, refusing incompatible ones and names
 * of the sink's own, the set of tables being resynced (their writes go to
 * the shadow) and the resync swap. A table's shadow and the table it
 * retires are named CH_SHADOW or CH_RETIRED + its name, which no
 * destination can have (set_up refuses names beginning CH_RESERVED).
 *
 * One table per source table, of the columns shape.c describes. A table
 * is never written with names of two sets (column_names): one that has
 * another set's is refused, unless it is being resynced, which replaces
 * it (its deleted rows are read by its own names). A typed column added
 * to the option `columns` is added to the table (ALTER TABLE ... ADD
 * COLUMN); one whose type changed refuses the table until a resync
 * rebuilds it; one taken out of the option stays, no longer written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

static const char *const shadow = CH_SHADOW;
static const char *const retired = CH_RETIRED;

bool ch_bare_name(const struct ch_config *cfg, const char *table,
                  const char *extra, struct ch_buf *out)
{
    return ch_buf_printf(out, "%s%s%s%s", extra ? extra : "",
                         cfg->table_prefix, table, cfg->table_suffix);
}

static bool bare_name(const struct ch_sink *s, const char *table,
                      const char *extra, struct ch_buf *out)
{
    return ch_bare_name(s->cfg, table, extra, out);
}

bool ch_qualified_name(const struct ch_config *cfg, const char *table,
                       const char *extra, struct ch_buf *out)
{
    struct ch_buf bare = {0};
    bool ok = ch_bare_name(cfg, table, extra, &bare) &&
              ch_quote(out, cfg->database, strlen(cfg->database)) &&
              CH_LIT(out, ".") && ch_quote(out, bare.data, bare.len);
    ch_buf_free(&bare);
    return ok;
}

bool ch_table_name(const struct ch_sink *s, const char *table,
                   const char *extra, struct ch_buf *out)
{
    return ch_qualified_name(s->cfg, table, extra, out);
}

bool ch_reserved(const struct ch_config *cfg, const char *table)
{
    struct ch_buf bare = {0};
    bool reserved = ch_bare_name(cfg, table, NULL, &bare) &&
                    strncmp(bare.data, CH_RESERVED, strlen(CH_RESERVED)) == 0;
    ch_buf_free(&bare);
    return reserved;
}

void ch_parse_version(const char *text, struct ch_features *f)
{
    snprintf(f->version, sizeof f->version, "%.*s", (int)strcspn(text, "\r\n"),
             text);
    sscanf(f->version, "%d.%d", &f->major, &f->minor);
    /* the feature checks compare major * 100 + minor: numbers past any
     * release are held below what int can multiply */
    int major = f->major < 0 ? 0 : f->major > 9999 ? 9999 : f->major;
    int minor = f->minor < 0 ? 0 : f->minor > 99 ? 99 : f->minor;
    int v = major * 100 + minor;
    f->datetime64 = v >= 2001;
    f->exchange = v >= 2008;
    f->is_deleted = v >= 2302;
    f->json = v >= 2503;
    f->bool_type = v >= 2112;
}

sluice_status ch_connect(struct ch_sink *s, sluice_error *err)
{
    if (s->connected)
        return SLUICE_OK;
    struct ch_buf answer = {0}, sql = {0};
    sluice_status st = ch_request(s, "SELECT version()", &answer, err);
    if (st == SLUICE_OK) {
        ch_parse_version(answer.data ? answer.data : "", &s->features);
        if (!ch_shapes_build(s))
            st = sluice_fail(err, SLUICE_FATAL,
                             "sink_clickhouse: out of memory");
        else if (s->features.major <= 0)
            st = sluice_fail(err, SLUICE_FATAL,
                             "sink_clickhouse: the server at %s answered "
                             "version() with '%s', not a ClickHouse version",
                             s->url.shown, s->features.version);
    }
    if (st == SLUICE_OK) {
        CH_LIT(&sql, "CREATE DATABASE IF NOT EXISTS ");
        ch_quote(&sql, s->cfg->database, strlen(s->cfg->database));
        st = ch_request(s, sql.data, NULL, err);
    }
    if (st == SLUICE_OK) {
        s->connected = true;
        sluice_log(ch_host, s->ctx, SLUICE_LOG_INFO,
                   "ClickHouse %s at %s: column names of %s, doc %s, "
                   "time %s, %s",
                   s->features.version, s->url.shown,
                   ch_names_option(s->shape.names),
                   s->features.json ? "JSON" : "String",
                   s->features.datetime64 ? "DateTime64(3)" : "DateTime",
                   s->features.exchange ? "EXCHANGE TABLES"
                                        : "RENAME for resync swaps");
    }
    ch_buf_free(&answer);
    ch_buf_free(&sql);
    return st;
}

static bool create_sql(const struct ch_sink *s, const char *table,
                       const char *extra, struct ch_buf *sql)
{
    return CH_LIT(sql, "CREATE TABLE IF NOT EXISTS ") &&
           ch_table_name(s, table, extra, sql) &&
           ch_shape_create_sql(ch_shape_of(s, table), sql);
}

/* The columns and engine of a table on the server; *exists false when it
 * is not there. */
static sluice_status describe(struct ch_sink *s, const char *table,
                              const char *extra, struct ch_buf *columns,
                              struct ch_buf *engine, bool *exists,
                              sluice_error *err)
{
    struct ch_buf bare = {0}, q = {0};
    bool ok = bare_name(s, table, extra, &bare) &&
              CH_LIT(&q, "SELECT engine FROM system.tables WHERE "
                         "database = ") &&
              ch_literal(&q, s->cfg->database) && CH_LIT(&q, " AND name = ") &&
              ch_literal(&q, bare.data);
    sluice_status st =
        ok ? ch_request(s, q.data, engine, err)
           : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    *exists = st == SLUICE_OK && engine->len > 0;
    if (st == SLUICE_OK && *exists) {
        q.len = 0;
        ok = CH_LIT(&q, "SELECT name, type FROM system.columns WHERE "
                        "database = ") &&
             ch_literal(&q, s->cfg->database) && CH_LIT(&q, " AND table = ") &&
             ch_literal(&q, bare.data);
        st = ch_request(s, q.data, columns, err);
    }
    ch_buf_free(&bare);
    ch_buf_free(&q);
    return st;
}

/* Appends how an existing table differs from `sh` (its columns and
 * engine); nothing when it will do. */
static bool table_diff(const struct ch_shape *sh, const char *columns,
                       const char *engine, struct ch_buf *diff)
{
    char eng[64];
    snprintf(eng, sizeof eng, "%.*s", (int)strcspn(engine, "\r\n"), engine);
    bool ok = ch_shape_diff(sh, columns, diff);
    if (ok && !strstr(eng, "ReplacingMergeTree"))
        ok = ch_buf_printf(diff,
                           "%sengine is %s (want ReplacingMergeTree: "
                           "replays would duplicate rows)",
                           diff->len ? "; " : "", eng);
    return ok;
}

/* Whether an old table can be read by the names of `names`: it has the
 * columns of a deleted row, of whatever types (a copy converts them), and
 * FINAL works on it. */
static bool readable_as(enum ch_names names, const char *columns,
                        const char *engine)
{
    return ch_names_present(names, columns) &&
           strstr(engine, "ReplacingMergeTree") != NULL;
}

/* The set of names an old table is read by: the configured one if it
 * has its columns, else another it has names of; false when none. */
static bool read_names(const struct ch_sink *s, const char *table,
                       const char *columns, const char *engine,
                       enum ch_names *out)
{
    const struct ch_shape *want = ch_shape_of(s, table);
    unsigned found = ch_names_found(columns);
    *out = want->names;
    if (readable_as(want->names, columns, engine))
        return true;
    for (int n = 0; n < CH_NAMES_COUNT; n++)
        if (n != (int)want->names && found & 1u << n &&
            readable_as((enum ch_names)n, columns, engine)) {
            *out = (enum ch_names)n;
            return true;
        }
    return false;
}

/* "sluice and clickpipes": the sets of names in `found`. */
static bool names_text(unsigned found, struct ch_buf *out)
{
    bool ok = true;
    for (int n = 0; ok && n < CH_NAMES_COUNT; n++)
        if (found & 1u << n)
            ok = ch_buf_printf(out, "%s%s", out->len ? " and " : "",
                               ch_names_option((enum ch_names)n));
    return ok;
}

/* The table has names of another set than the configured one: it is
 * never written with both. */
static sluice_status other_names(const struct ch_shape *sh, const char *name,
                                 const char *columns, unsigned found,
                                 sluice_error *err)
{
    struct ch_buf has = {0}, sets = {0}, want = {0};
    bool ok = names_text(found, &sets);
    for (const char *p = columns; ok && p && *p;) {
        size_t len = strcspn(p, "\n");
        ok = ch_buf_printf(&has, "%s%.*s", has.len ? ", " : "", (int)len, p);
        p += len + (p[len] == '\n');
    }
    for (size_t i = 0; ok && i < sh->count; i++)
        ok = ch_buf_printf(&want, "%s%s", i ? ", " : "", sh->columns[i].name);
    for (char *c = has.data; c && *c; c++)
        if (*c == '\t')
            *c = ' ';
    sluice_status st =
        ok ? sluice_fail(
                 err, SLUICE_FATAL_TABLE,
                 "sink_clickhouse: table %s has the columns %s (names of "
                 "column_names = %s), not those of column_names = %s as "
                 "configured: %s. A table is never written with two sets "
                 "of names: resync the pipe, which rebuilds the table with "
                 "the configured names and carries its deleted rows across, "
                 "or drop the table",
                 name, has.data, sets.data, ch_names_option(sh->names),
                 want.data)
           : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    ch_buf_free(&has);
    ch_buf_free(&sets);
    ch_buf_free(&want);
    return st;
}

/* Checks an existing table; records how to write to it. A table that is
 * being resynced will be replaced by its shadow: it is only read (the
 * swap copies its deleted rows), so it may have another set of names or
 * other types (a table ClickPipes made, say), and *replaced says so. */
static sluice_status check_table(struct ch_sink *s, const char *table,
                                 const char *extra, const char *columns,
                                 const char *engine, struct ch_dest *dest,
                                 bool *replaced, sluice_error *err)
{
    const struct ch_shape *sh = ch_shape_of(s, table);
    unsigned found = ch_names_found(columns);
    enum ch_names read_as;
    struct ch_buf diff = {0}, name = {0};
    char type[128];
    *replaced = false;
    if (!ch_table_name(s, table, extra, &name))
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    sluice_status st = SLUICE_OK;
    if (!extra && ch_is_resyncing(s, table, NULL) &&
        read_names(s, table, columns, engine, &read_as)) {
        *replaced = true;
        if (read_as != sh->names)
            sluice_log(ch_host, s->ctx, SLUICE_LOG_INFO,
                       "table %s has the names of column_names = %s; the "
                       "resync replaces it with one of column_names = %s",
                       name.data, ch_names_option(read_as),
                       ch_names_option(sh->names));
    } else if (found & ~(1u << sh->names)) {
        st = other_names(sh, name.data, columns, found, err);
    } else if (!table_diff(sh, columns, engine, &diff)) {
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    } else if (diff.len) {
        st = sluice_fail(err, SLUICE_FATAL_TABLE,
                         "sink_clickhouse: table %s exists and is not "
                         "compatible: %s",
                         name.data, diff.data);
    } else if (!ch_shape_retyped(sh, columns, &diff)) {
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    } else if (diff.len) {
        st = sluice_fail(err, SLUICE_FATAL_TABLE,
                         "sink_clickhouse: table %s: %s. A column's type "
                         "changes only with a resync, which rebuilds the "
                         "table with the configured types: resync the "
                         "pipe, or set the type back",
                         name.data, diff.data);
    } else {
        const char *doc = ch_shape_name(sh, CH_DOC);
        const char *at = ch_shape_name(sh, CH_SYNCED_AT);
        dest->json =
            doc && strcmp(ch_column_type(columns, doc, type, sizeof type),
                          "String") != 0;
        dest->ts64 =
            at && strcmp(ch_column_type(columns, at, type, sizeof type),
                         "DateTime64(3)") == 0;
    }
    ch_buf_free(&diff);
    ch_buf_free(&name);
    return st;
}

static struct ch_dest *find_dest(struct ch_sink *s, const char *name)
{
    for (size_t i = 0; i < s->dest_count; i++)
        if (strcmp(s->dests[i].table, name) == 0)
            return &s->dests[i];
    return NULL;
}

static void forget(struct ch_sink *s, const char *table, const char *extra)
{
    struct ch_buf bare = {0};
    bare_name(s, table, extra, &bare);
    struct ch_dest *d = bare.data ? find_dest(s, bare.data) : NULL;
    if (d) {
        free(d->table);
        *d = s->dests[--s->dest_count];
    }
    ch_buf_free(&bare);
}

static struct ch_dest *remember(struct ch_sink *s, const char *table,
                                const struct ch_dest *d)
{
    struct ch_dest *old = find_dest(s, table);
    if (old) {
        old->ts64 = d->ts64;
        old->json = d->json;
        return old;
    }
    struct ch_dest *grown =
        realloc(s->dests, (s->dest_count + 1) * sizeof *s->dests);
    char *name = strdup(table);
    if (!grown || !name) {
        free(name);
        if (grown)
            s->dests = grown;
        return NULL;
    }
    s->dests = grown;
    s->dests[s->dest_count] = *d;
    s->dests[s->dest_count].table = name;
    return &s->dests[s->dest_count++];
}

/* The typed columns (and _malformed) of the shape that an existing
 * table has not are added, each after the column before it in the shape,
 * so that the table has them in the order a new one would. */
static sluice_status add_columns(struct ch_sink *s, const char *table,
                                 const char *extra, const char *columns,
                                 sluice_error *err)
{
    const struct ch_shape *sh = ch_shape_of(s, table);
    struct ch_buf sql = {0}, name = {0};
    char type[128];
    sluice_status st =
        ch_table_name(s, table, extra, &name)
            ? SLUICE_OK
            : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    for (size_t i = 1; st == SLUICE_OK && i < sh->count; i++) {
        const struct ch_column *c = &sh->columns[i];
        if (c->role < CH_NAMED_ROLES ||
            ch_column_type(columns, c->name, type, sizeof type))
            continue;
        sql.len = 0;
        bool ok = CH_LIT(&sql, "ALTER TABLE ") &&
                  ch_buf_append(&sql, name.data, name.len) &&
                  CH_LIT(&sql, " ADD COLUMN ") && ch_name(&sql, c->name) &&
                  ch_buf_printf(&sql, " %s AFTER ", c->type) &&
                  ch_name(&sql, sh->columns[i - 1].name);
        st = ok ? ch_request(s, sql.data, NULL, err)
                : sluice_fail(err, SLUICE_FATAL,
                              "sink_clickhouse: out of memory");
        if (st == SLUICE_OK)
            sluice_log(ch_host, s->ctx, SLUICE_LOG_INFO,
                       "table %s: added column %s %s (its rows written "
                       "before have its default until a resync)",
                       name.data, c->name, c->type);
    }
    ch_buf_free(&sql);
    ch_buf_free(&name);
    return st;
}

/* A typed column of a type the server has not (DateTime64 before 20.1)
 * refuses the table. */
static sluice_status server_types(struct ch_sink *s, const char *table,
                                  sluice_error *err)
{
    const struct ch_shape *sh = ch_shape_of(s, table);
    for (size_t i = 0; i < sh->count; i++) {
        const struct ch_field *f = sh->columns[i].field;
        if (f && f->type.kind == CH_DATETIME64 && !s->features.datetime64)
            return sluice_fail(err, SLUICE_FATAL_TABLE,
                               "sink_clickhouse: columns: %s.%s is "
                               "DateTime64(3), which ClickHouse %s has "
                               "not (it came in 20.1): make it DateTime "
                               "(seconds)",
                               table, f->name, s->features.version);
    }
    return SLUICE_OK;
}

/* The destination made ready: checked when it exists, else created. A
 * destination never has a name of the sink's own tables. */
static sluice_status set_up(struct ch_sink *s, const char *table,
                            const char *extra, sluice_error *err)
{
    if (!extra && ch_reserved(s->cfg, table)) {
        struct ch_buf name = {0};
        ch_table_name(s, table, NULL, &name);
        sluice_status st = sluice_fail(
            err, SLUICE_FATAL_TABLE,
            "sink_clickhouse: table %s: names that begin with %s are the "
            "sink's own (owners, resync shadows); give the pipe's sink a "
            "table_prefix",
            name.data, CH_RESERVED);
        ch_buf_free(&name);
        return st;
    }
    struct ch_buf columns = {0}, engine = {0}, sql = {0};
    bool exists = false, replaced = false;
    struct ch_dest d = {0};
    sluice_status st = server_types(s, table, err);
    if (st == SLUICE_OK)
        st = describe(s, table, extra, &columns, &engine, &exists, err);
    if (st == SLUICE_OK && exists)
        st = check_table(s, table, extra, columns.data, engine.data, &d,
                         &replaced, err);
    if (st == SLUICE_OK && exists && !replaced)
        st = add_columns(s, table, extra, columns.data, err);
    if (st == SLUICE_OK && replaced) /* only read: never written to */
        forget(s, table, extra);
    if (st == SLUICE_OK && !exists) {
        d.ts64 = s->features.datetime64;
        d.json = s->features.json;
        st = create_sql(s, table, extra, &sql)
                 ? ch_request(s, sql.data, NULL, err)
                 : sluice_fail(err, SLUICE_FATAL,
                               "sink_clickhouse: out of memory");
    }
    struct ch_buf bare = {0};
    if (st == SLUICE_OK && !replaced &&
        (!bare_name(s, table, extra, &bare) || !remember(s, bare.data, &d)))
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    ch_buf_free(&bare);
    ch_buf_free(&columns);
    ch_buf_free(&engine);
    ch_buf_free(&sql);
    return st;
}

/* Answers that refuse one table's statements this many times in a row,
 * word for word, will not pass: the table fails. */
#define REPEATS_TO_GIVE_UP 8

static void repeat_clear(struct ch_repeat *r)
{
    free(r->table);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* Counts the refusals of `table`'s setup that are word for word the same;
 * true when there have been enough to give up. */
static bool repeated(struct ch_repeat *r, const char *table,
                     const char *message)
{
    if (r->table && !strcmp(r->table, table) && r->message &&
        !strcmp(r->message, message))
        return ++r->count >= REPEATS_TO_GIVE_UP;
    repeat_clear(r);
    r->table = strdup(table);
    r->message = strdup(message);
    r->count = 1;
    return false;
}

/* What a failed setup means: a refusal of the table's own statements
 * (its name, its shape) is the table's alone, unless the server's code
 * says it is about the user or the database; a passing error that the
 * server repeats word for word for this table is given up on. */
static sluice_status table_outcome(struct ch_sink *s, const char *table,
                                   sluice_status st, sluice_error *err)
{
    bool refused = s->refusal >= 0 && !ch_server_code(s->refusal);
    if (st == SLUICE_OK || st == SLUICE_DONE) {
        if (s->repeat.table && !strcmp(s->repeat.table, table))
            repeat_clear(&s->repeat);
        return st;
    }
    if (st == SLUICE_FATAL && refused)
        return SLUICE_FATAL_TABLE;
    if (st == SLUICE_RETRY && refused &&
        repeated(&s->repeat, table, err->message)) {
        size_t n = strlen(err->message);
        snprintf(err->message + n, err->size - n,
                 " (the same answer %d times in a row: the table fails)",
                 REPEATS_TO_GIVE_UP);
        repeat_clear(&s->repeat);
        return SLUICE_FATAL_TABLE;
    }
    return st;
}

sluice_status ch_setup_table(struct ch_sink *s, const char *table,
                             const char *extra, sluice_error *err)
{
    sluice_status st = ch_connect(s, err);
    if (st != SLUICE_OK)
        return st;
    return table_outcome(s, table, set_up(s, table, extra, err), err);
}

sluice_status ch_check_tables(struct ch_sink *s, sluice_error *err)
{
    sluice_status st = ch_connect(s, err);
    for (size_t i = 0; st == SLUICE_OK && i < s->fields.count; i++) {
        const char *table = s->fields.items[i].table;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(s->fields.items[k].table, table);
        if (seen)
            continue;
        struct ch_buf columns = {0}, engine = {0};
        bool exists = false, replaced;
        struct ch_dest d = {0};
        st = server_types(s, table, err);
        if (st == SLUICE_OK)
            st = describe(s, table, NULL, &columns, &engine, &exists, err);
        if (st == SLUICE_OK && exists)
            st = check_table(s, table, NULL, columns.data, engine.data, &d,
                             &replaced, err);
        ch_buf_free(&columns);
        ch_buf_free(&engine);
    }
    return st == SLUICE_FATAL_TABLE ? SLUICE_FATAL : st;
}

void ch_forget_repeats(struct ch_sink *s)
{
    repeat_clear(&s->repeat);
}

sluice_status ch_dest_of(struct ch_sink *s, const char *table,
                         const char *extra, struct ch_dest **out,
                         sluice_error *err)
{
    struct ch_buf bare = {0};
    if (!bare_name(s, table, extra, &bare))
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    *out = find_dest(s, bare.data);
    sluice_status st = SLUICE_OK;
    if (!*out) {
        st = ch_setup_table(s, table, extra, err);
        *out = find_dest(s, bare.data);
    }
    if (st == SLUICE_OK && !*out) /* one the resync replaces */
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: table %s is being replaced by its "
                         "resync: it is not written to",
                         bare.data);
    ch_buf_free(&bare);
    return st;
}

static sluice_status run(struct ch_sink *s, struct ch_buf *sql,
                         sluice_error *err)
{
    return ch_request(s, sql->data, NULL, err);
}

sluice_status ch_drop(struct ch_sink *s, const char *table, const char *extra,
                      sluice_error *err)
{
    struct ch_buf sql = {0};
    sluice_status st = ch_connect(s, err);
    if (st == SLUICE_OK) {
        CH_LIT(&sql, "DROP TABLE IF EXISTS ");
        ch_table_name(s, table, extra, &sql);
        st = run(s, &sql, err);
    }
    if (st == SLUICE_OK)
        forget(s, table, extra);
    ch_buf_free(&sql);
    return st;
}

sluice_status ch_table_exists(struct ch_sink *s, const char *table,
                              const char *extra, bool *out, sluice_error *err)
{
    struct ch_buf columns = {0}, engine = {0};
    sluice_status st = describe(s, table, extra, &columns, &engine, out, err);
    ch_buf_free(&columns);
    ch_buf_free(&engine);
    return st;
}

/* Deletes that only the old table has go into the shadow first, so that
 * the swap forgets none. A deleted row is its key and metadata, every
 * other column its default (as the sink writes one), so those columns
 * alone are copied, whatever else either table has (doc or not, typed
 * columns of any types); the old table's are read by its own names,
 * which may be another set than the shadow's (a resync changes them). */
static sluice_status carry_deletes(struct ch_sink *s, const char *table,
                                   sluice_error *err)
{
    const struct ch_shape *to = ch_shape_of(s, table);
    struct ch_buf columns = {0}, engine = {0}, sql = {0};
    bool exists = false;
    enum ch_names from;
    sluice_status st =
        describe(s, table, NULL, &columns, &engine, &exists, err);
    if (st != SLUICE_OK || !exists) { /* nothing to carry */
    } else if (!read_names(s, table, columns.data, engine.data, &from)) {
        table_diff(to, columns.data, engine.data, &sql);
        struct ch_buf name = {0};
        ch_table_name(s, table, NULL, &name);
        st = sluice_fail(err, SLUICE_FATAL_TABLE,
                         "sink_clickhouse: the deleted rows of table %s "
                         "cannot be carried across the resync: it has not "
                         "the columns of one set of names, or is no "
                         "ReplacingMergeTree (%s); drop it",
                         name.data, sql.data);
        ch_buf_free(&name);
    } else {
        bool ok = CH_LIT(&sql, "INSERT INTO ") &&
                  ch_table_name(s, table, shadow, &sql) &&
                  CH_LIT(&sql, " (") && ch_deleted_list(to->names, &sql) &&
                  CH_LIT(&sql, ") SELECT ") && ch_deleted_list(from, &sql) &&
                  CH_LIT(&sql, " FROM ") &&
                  ch_table_name(s, table, NULL, &sql) &&
                  CH_LIT(&sql, " FINAL WHERE ") &&
                  ch_name(&sql, ch_role_name(from, CH_IS_DELETED)) &&
                  CH_LIT(&sql, " = 1 AND ") &&
                  ch_name(&sql, ch_role_name(from, CH_ID)) &&
                  CH_LIT(&sql, " NOT IN (SELECT ") &&
                  ch_name(&sql, ch_shape_name(to, CH_ID)) &&
                  CH_LIT(&sql, " FROM ") &&
                  ch_table_name(s, table, shadow, &sql) && CH_LIT(&sql, ")");
        st = ok ? run(s, &sql, err)
                : sluice_fail(err, SLUICE_FATAL,
                              "sink_clickhouse: out of memory");
    }
    ch_buf_free(&columns);
    ch_buf_free(&engine);
    ch_buf_free(&sql);
    return st;
}

static sluice_status atomic_engine(struct ch_sink *s, bool *atomic,
                                   sluice_error *err)
{
    struct ch_buf q = {0}, answer = {0};
    CH_LIT(&q, "SELECT engine FROM system.databases WHERE name = ");
    ch_literal(&q, s->cfg->database);
    sluice_status st = ch_request(s, q.data, &answer, err);
    *atomic = st == SLUICE_OK && answer.data &&
              strncmp(answer.data, "Atomic", 6) == 0;
    ch_buf_free(&q);
    ch_buf_free(&answer);
    return st;
}

/* Replaces the table with its shadow in one statement: EXCHANGE TABLES
 * where the server and database have it, else one multi-table RENAME.
 * The old table is dropped after. Safe to call again after a crash: a
 * swap already made leaves no shadow, only perhaps the retired table. */
sluice_status ch_swap(struct ch_sink *s, const char *table, sluice_error *err)
{
    bool has_shadow = false, atomic = false;
    sluice_status st = ch_connect(s, err);
    if (st == SLUICE_OK)
        st = ch_table_exists(s, table, shadow, &has_shadow, err);
    if (st != SLUICE_OK || !has_shadow)
        return st == SLUICE_OK ? ch_drop(s, table, retired, err) : st;
    st = carry_deletes(s, table, err);
    if (st == SLUICE_OK && s->features.exchange)
        st = atomic_engine(s, &atomic, err);
    struct ch_buf sql = {0};
    if (st == SLUICE_OK && atomic) {
        CH_LIT(&sql, "EXCHANGE TABLES ");
        ch_table_name(s, table, NULL, &sql);
        CH_LIT(&sql, " AND ");
        ch_table_name(s, table, shadow, &sql);
        st = run(s, &sql, err);
        if (st == SLUICE_OK)
            st = ch_drop(s, table, shadow, err);
    } else if (st == SLUICE_OK) {
        st = ch_drop(s, table, retired, err);
        if (st == SLUICE_OK) {
            CH_LIT(&sql, "RENAME TABLE ");
            ch_table_name(s, table, NULL, &sql);
            CH_LIT(&sql, " TO ");
            ch_table_name(s, table, retired, &sql);
            CH_LIT(&sql, ", ");
            ch_table_name(s, table, shadow, &sql);
            CH_LIT(&sql, " TO ");
            ch_table_name(s, table, NULL, &sql);
            st = run(s, &sql, err);
        }
        if (st == SLUICE_OK)
            st = ch_drop(s, table, retired, err);
    }
    forget(s, table, NULL); /* the table now has the shadow's columns */
    forget(s, table, shadow);
    ch_buf_free(&sql);
    return st;
}

/* The resync set (see clickhouse.h). */

bool ch_is_resyncing(const struct ch_sink *s, const char *table, size_t *at)
{
    for (size_t i = 0; i < s->resync_count; i++)
        if (strcmp(s->resyncing[i], table) == 0) {
            if (at)
                *at = i;
            return true;
        }
    return false;
}

sluice_status ch_resync_mark(struct ch_sink *s, const char *table,
                             sluice_error *err)
{
    if (ch_is_resyncing(s, table, NULL))
        return SLUICE_OK;
    char **grown =
        realloc(s->resyncing, (s->resync_count + 1) * sizeof *grown);
    char *name = strdup(table);
    if (!grown || !name) {
        free(name);
        if (grown)
            s->resyncing = grown;
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    }
    s->resyncing = grown;
    s->resyncing[s->resync_count++] = name;
    return SLUICE_OK;
}

void ch_resync_unmark(struct ch_sink *s, const char *table)
{
    size_t at;
    if (ch_is_resyncing(s, table, &at)) {
        free(s->resyncing[at]);
        s->resyncing[at] = s->resyncing[--s->resync_count];
    }
}

void ch_resync_clear(struct ch_sink *s)
{
    for (size_t i = 0; i < s->resync_count; i++)
        free(s->resyncing[i]);
    free(s->resyncing);
    s->resyncing = NULL;
    s->resync_count = 0;
}
