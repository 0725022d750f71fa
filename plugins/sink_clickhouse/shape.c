/* shape.c: the columns of a destination table, described once: their
 * names (the option column_names: sluice's own, or ClickPipes'), their
 * types on the server at hand, their order in the table and in a row,
 * and the engine. Statements are written from the description, never
 * with a column's name of their own.
 *
 * sluice:     _id String, doc, _version UInt64, _is_deleted UInt8,
 *             _synced_at
 * clickpipes: _id String, doc, _peerdb_synced_at, _peerdb_is_deleted
 *             UInt8, _peerdb_version UInt64 (ClickPipes' order)
 * then the table's typed columns (the option `columns`, in its order)
 * and _malformed String when it has any; doc is left out when keep_doc
 * is false and the table has typed columns.
 * doc is JSON where the server has it (25.3+), else String; the time is
 * DateTime64(3) where available (20.1+), else DateTime.
 * ENGINE = ReplacingMergeTree(version[, is_deleted from 23.2]) ORDER BY
 * _id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

static const char *const option_names[CH_NAMES_COUNT] = {
    [CH_NAMES_SLUICE] = "sluice",
    [CH_NAMES_CLICKPIPES] = "clickpipes",
};

static const char *const role_names[CH_NAMES_COUNT][CH_NAMED_ROLES] = {
    [CH_NAMES_SLUICE] = {"_id", "doc", "_version", "_is_deleted",
                         "_synced_at"},
    [CH_NAMES_CLICKPIPES] = {"_id", "doc", "_peerdb_version",
                             "_peerdb_is_deleted", "_peerdb_synced_at"},
};

static const enum ch_role table_order[CH_NAMES_COUNT][CH_NAMED_ROLES] = {
    [CH_NAMES_SLUICE] = {CH_ID, CH_DOC, CH_VERSION, CH_IS_DELETED,
                         CH_SYNCED_AT},
    [CH_NAMES_CLICKPIPES] = {CH_ID, CH_DOC, CH_SYNCED_AT, CH_IS_DELETED,
                             CH_VERSION},
};

static const char *const string_types[] = {"String", NULL};
static const char *const doc_types[] = {"String", "JSON", "Object('json')",
                                        NULL};
static const char *const u64_types[] = {"UInt64", NULL};
static const char *const u8_types[] = {"UInt8", NULL};
static const char *const time_types[] = {"DateTime", "DateTime64(3)", NULL};

static struct ch_column column_of(enum ch_names names, enum ch_role role,
                                  const struct ch_features *f)
{
    struct ch_column c = {.role = role};
    const char *type = NULL;
    switch (role) {
    case CH_ID:
        type = c.want = "String";
        c.accepted = string_types;
        break;
    case CH_DOC:
        type = f->json ? "JSON" : "String";
        c.accepted = doc_types;
        c.want = "String or JSON";
        break;
    case CH_VERSION:
        type = c.want = "UInt64";
        c.accepted = u64_types;
        break;
    case CH_IS_DELETED:
        type = c.want = "UInt8";
        c.accepted = u8_types;
        break;
    case CH_SYNCED_AT:
        type = f->datetime64 ? "DateTime64(3)" : "DateTime";
        c.accepted = time_types;
        c.want = "DateTime or DateTime64(3)";
        break;
    case CH_MALFORMED:
        c.name = CH_MALFORMED_NAME;
        type = c.want = "String";
        c.accepted = string_types;
        break;
    case CH_FIELD: /* a typed column is the field's (typed_column) */
    case CH_ROLES: break;
    }
    if (role < CH_NAMED_ROLES)
        c.name = role_names[names][role];
    snprintf(c.type, sizeof c.type, "%s", type ? type : "");
    return c;
}

static struct ch_column typed_column(const struct ch_field *field,
                                     const struct ch_features *f)
{
    struct ch_column c = {.role = CH_FIELD,
                          .name = field->name,
                          .field = field};
    ch_type_text(field->type, f, c.type, sizeof c.type);
    return c;
}

bool ch_shape_init(struct ch_shape *sh, enum ch_names names,
                   const struct ch_features *f, const struct ch_fields *fields,
                   const char *table, bool keep_doc)
{
    memset(sh, 0, sizeof *sh);
    sh->names = names;
    sh->engine_is_deleted = f->is_deleted;
    size_t typed = 0;
    for (size_t i = 0; fields && i < fields->count; i++)
        typed += strcmp(fields->items[i].table, table) == 0;
    sh->columns = calloc(CH_NAMED_ROLES + typed + 1, sizeof *sh->columns);
    if (!sh->columns)
        return false;
    for (size_t i = 0; i < CH_NAMED_ROLES; i++)
        if (table_order[names][i] != CH_DOC || keep_doc || !typed)
            sh->columns[sh->count++] =
                column_of(names, table_order[names][i], f);
    for (size_t i = 0; typed && i < fields->count; i++)
        if (strcmp(fields->items[i].table, table) == 0)
            sh->columns[sh->count++] = typed_column(&fields->items[i], f);
    if (typed)
        sh->columns[sh->count++] = column_of(names, CH_MALFORMED, f);
    return true;
}

void ch_shape_free(struct ch_shape *sh)
{
    free(sh->columns);
    memset(sh, 0, sizeof *sh);
}

bool ch_shapes_build(struct ch_sink *s)
{
    ch_shapes_free(s);
    enum ch_names names = (enum ch_names)s->cfg->column_names;
    const struct ch_fields *fields = &s->fields;
    if (!ch_shape_init(&s->shape, names, &s->features, NULL, "",
                       s->cfg->keep_doc) ||
        (fields->count &&
         !(s->shapes = calloc(fields->count, sizeof *s->shapes))))
        return false;
    for (size_t i = 0; i < fields->count; i++) {
        const char *table = fields->items[i].table;
        if (ch_shape_of(s, table) != &s->shape)
            continue; /* the table has its shape already */
        struct ch_table_shape *t = &s->shapes[s->shape_count];
        t->table = table;
        if (!ch_shape_init(&t->shape, names, &s->features, fields, table,
                           s->cfg->keep_doc))
            return false;
        s->shape_count++;
    }
    return true;
}

void ch_shapes_free(struct ch_sink *s)
{
    ch_shape_free(&s->shape);
    for (size_t i = 0; i < s->shape_count; i++)
        ch_shape_free(&s->shapes[i].shape);
    free(s->shapes);
    s->shapes = NULL;
    s->shape_count = 0;
}

const struct ch_shape *ch_shape_of_len(const struct ch_sink *s,
                                       const char *table, size_t len)
{
    for (size_t i = 0; i < s->shape_count; i++)
        if (strlen(s->shapes[i].table) == len &&
            memcmp(s->shapes[i].table, table, len) == 0)
            return &s->shapes[i].shape;
    return &s->shape;
}

const struct ch_shape *ch_shape_of(const struct ch_sink *s, const char *table)
{
    return ch_shape_of_len(s, table, strlen(table));
}

const struct ch_column *ch_shape_column(const struct ch_shape *sh,
                                        enum ch_role role)
{
    for (size_t i = 0; i < sh->count; i++)
        if (sh->columns[i].role == role)
            return &sh->columns[i];
    return NULL;
}

const char *ch_shape_name(const struct ch_shape *sh, enum ch_role role)
{
    const struct ch_column *c = ch_shape_column(sh, role);
    return c ? c->name : NULL;
}

const char *ch_role_name(enum ch_names names, enum ch_role role)
{
    return role < CH_NAMED_ROLES ? role_names[names][role] : NULL;
}

const char *ch_names_option(enum ch_names names)
{
    return option_names[names];
}

bool ch_shape_create_sql(const struct ch_shape *sh, struct ch_buf *out)
{
    bool ok = CH_LIT(out, " (");
    for (size_t i = 0; ok && i < sh->count; i++)
        ok = (i == 0 || CH_LIT(out, ", ")) &&
             ch_name(out, sh->columns[i].name) && CH_LIT(out, " ") &&
             ch_buf_append(out, sh->columns[i].type,
                           strlen(sh->columns[i].type));
    ok = ok && CH_LIT(out, ") ENGINE = ReplacingMergeTree(") &&
         ch_name(out, ch_shape_name(sh, CH_VERSION));
    if (sh->engine_is_deleted)
        ok = ok && CH_LIT(out, ", ") &&
             ch_name(out, ch_shape_name(sh, CH_IS_DELETED));
    return ok && CH_LIT(out, ") ORDER BY ") &&
           ch_name(out, ch_shape_name(sh, CH_ID));
}

bool ch_shape_list(const struct ch_shape *sh, struct ch_buf *out)
{
    bool ok = true, first = true;
    for (int role = 0; ok && role < CH_ROLES; role++)
        for (size_t i = 0; ok && i < sh->count; i++) {
            const struct ch_column *c = &sh->columns[i];
            if ((int)c->role != role)
                continue;
            ok = (first || CH_LIT(out, ", ")) && ch_name(out, c->name);
            first = false;
        }
    return ok;
}

/* The columns of a deleted row: its key and metadata. */
static const enum ch_role deleted_roles[] = {CH_ID, CH_VERSION, CH_IS_DELETED,
                                             CH_SYNCED_AT};
#define DELETED_ROLES (sizeof deleted_roles / sizeof *deleted_roles)

bool ch_deleted_list(enum ch_names names, struct ch_buf *out)
{
    bool ok = true;
    for (size_t i = 0; ok && i < DELETED_ROLES; i++)
        ok = (i == 0 || CH_LIT(out, ", ")) &&
             ch_name(out, role_names[names][deleted_roles[i]]);
    return ok;
}

/* The type of a column in "name\ttype\n" lines; NULL when absent. */
const char *ch_column_type(const char *columns, const char *name, char *out,
                           size_t size)
{
    size_t n = strlen(name);
    for (const char *p = columns; p && *p;) {
        size_t len = strcspn(p, "\n");
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '\t') {
            snprintf(out, size, "%.*s", (int)(len - n - 1), p + n + 1);
            return out;
        }
        p += len + (p[len] == '\n');
    }
    return NULL;
}

/* Whether no other set of names calls `role` what `names` does. */
static bool own_name(enum ch_names names, enum ch_role role)
{
    for (int other = 0; other < CH_NAMES_COUNT; other++)
        if (other != (int)names &&
            strcmp(role_names[other][role], role_names[names][role]) == 0)
            return false;
    return true;
}

unsigned ch_names_found(const char *columns)
{
    unsigned found = 0;
    char type[128];
    for (int names = 0; names < CH_NAMES_COUNT; names++)
        for (int role = 0; role < CH_NAMED_ROLES; role++)
            if (own_name((enum ch_names)names, (enum ch_role)role) &&
                ch_column_type(columns, role_names[names][role], type,
                               sizeof type))
                found |= 1u << names;
    return found;
}

bool ch_names_present(enum ch_names names, const char *columns)
{
    char type[128];
    for (size_t i = 0; i < DELETED_ROLES; i++)
        if (!ch_column_type(columns, role_names[names][deleted_roles[i]], type,
                            sizeof type))
            return false;
    return true;
}

static bool accepted(const char *type, const char *const *types)
{
    for (; *types; types++)
        if (strcmp(type, *types) == 0)
            return true;
    return false;
}

bool ch_shape_diff(const struct ch_shape *sh, const char *columns,
                   struct ch_buf *diff)
{
    char type[128];
    bool ok = true;
    for (size_t i = 0; ok && i < sh->count; i++) {
        const struct ch_column *c = &sh->columns[i];
        if (c->role >= CH_NAMED_ROLES) /* added when missing */
            continue;
        const char *got = ch_column_type(columns, c->name, type, sizeof type);
        if (!got)
            ok = ch_buf_printf(diff, "%scolumn %s is missing (want %s)",
                               diff->len ? "; " : "", c->name, c->want);
        else if (!accepted(got, c->accepted))
            ok = ch_buf_printf(diff, "%scolumn %s is %s (want %s)",
                               diff->len ? "; " : "", c->name, got, c->want);
    }
    return ok;
}

bool ch_shape_retyped(const struct ch_shape *sh, const char *columns,
                      struct ch_buf *diff)
{
    char type[128];
    bool ok = true;
    for (size_t i = 0; ok && i < sh->count; i++) {
        const struct ch_column *c = &sh->columns[i];
        const char *got =
            c->role >= CH_NAMED_ROLES
                ? ch_column_type(columns, c->name, type, sizeof type)
                : NULL;
        if (!got || (c->field ? ch_type_holds(c->field->type, got)
                              : accepted(got, c->accepted)))
            continue;
        char configured[48];
        if (c->field)
            ch_type_text(c->field->type, NULL, configured, sizeof configured);
        if (c->field)
            ok = ch_buf_printf(diff,
                               "%scolumn %s is %s in the table, %s in "
                               "columns (%s.%s = %s %s)",
                               diff->len ? "; " : "", c->name, got, configured,
                               c->field->table, c->name, c->field->path,
                               configured);
        else
            ok =
                ch_buf_printf(diff, "%scolumn %s is %s in the table (want %s)",
                              diff->len ? "; " : "", c->name, got, c->want);
    }
    return ok;
}
