/* columns.c: typed columns, the option `columns`. Each item is
 * TABLE.COLUMN = PATH TYPE: the column COLUMN of TABLE's destination
 * holds the field at the dotted PATH of each document, as TYPE. The table
 * is everything before the last dot of the left side (collection names
 * may hold dots). Every bad item is refused, named, with why; so is
 * keep_doc = false without columns. The types' forms on a server: Bool
 * is UInt8 where the server has no Bool.
 *
 * Called by open and by destination, which `sluice check` calls with the
 * config alone: a bad item is refused before anything runs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

static const char *const kind_names[] = {[CH_STRING] = "String",
                                         [CH_INT64] = "Int64",
                                         [CH_UINT64] = "UInt64",
                                         [CH_FLOAT64] = "Float64",
                                         [CH_UINT8] = "UInt8",
                                         [CH_BOOL] = "Bool",
                                         [CH_DATE] = "Date",
                                         [CH_DATETIME] = "DateTime",
                                         [CH_DATETIME64] = "DateTime64(3)"};
#define KINDS (sizeof kind_names / sizeof *kind_names)

#define TYPES_TEXT                                                            \
    "String, Int64, UInt64, Float64, UInt8, Bool, Date, DateTime, "           \
    "DateTime64(3), Nullable(T) of each, Array(String), Array(Int64), "       \
    "Array(Float64)"

/* Names no typed column may have: the sink's own (of both sets of
 * column_names) and those the sink or ClickPipes begin theirs with. */
static const char *const reserved_names[] = {"_id",         "doc",
                                             "_malformed",  "_version",
                                             "_is_deleted", "_synced_at",
                                             NULL};
static const char *const reserved_prefixes[] = {CH_RESERVED, "_peerdb_", NULL};

void ch_type_text(struct ch_type t, const struct ch_features *f, char *out,
                  size_t size)
{
    const char *kind = kind_names[t.kind];
    if (t.kind == CH_BOOL && f && !f->bool_type)
        kind = "UInt8";
    snprintf(out, size, "%s%s%s",
             t.array      ? "Array("
             : t.nullable ? "Nullable("
                          : "",
             kind, t.array || t.nullable ? ")" : "");
}

bool ch_type_holds(struct ch_type t, const char *found)
{
    char want[48];
    ch_type_text(t, NULL, want, sizeof want);
    if (strcmp(found, want) == 0)
        return true;
    if (t.kind != CH_BOOL) /* Bool is UInt8 on servers without Bool */
        return false;
    struct ch_features old = {0};
    ch_type_text(t, &old, want, sizeof want);
    return strcmp(found, want) == 0;
}

/* A type as written, spaces ignored: "Nullable( Int64 )" is
 * Nullable(Int64). */
static bool parse_type(const char *text, struct ch_type *t)
{
    char compact[64];
    size_t n = 0;
    for (const char *p = text; *p; p++)
        if (!isspace((unsigned char)*p)) {
            if (n + 1 >= sizeof compact)
                return false;
            compact[n++] = *p;
        }
    compact[n] = '\0';
    memset(t, 0, sizeof *t);
    const char *inner = compact;
    size_t len = n;
    if (strncmp(compact, "Nullable(", 9) == 0 && compact[n - 1] == ')')
        t->nullable = true, inner += 9, len -= 10;
    else if (strncmp(compact, "Array(", 6) == 0 && compact[n - 1] == ')')
        t->array = true, inner += 6, len -= 7;
    for (size_t k = 0; k < KINDS; k++)
        if (strlen(kind_names[k]) == len &&
            strncmp(kind_names[k], inner, len) == 0) {
            t->kind = (enum ch_kind)k;
            return !t->array || k == CH_STRING || k == CH_INT64 ||
                   k == CH_FLOAT64;
        }
    return false;
}

static bool name_char(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!first && c >= '0' && c <= '9');
}

/* Why `name` cannot name a typed column; NULL when it can. */
static const char *bad_name(const char *name)
{
    if (!name[0])
        return "the column has no name (TABLE.COLUMN)";
    for (const char *p = name; *p; p++)
        if (!name_char(*p, p == name))
            return "a column's name is a letter or '_', then letters, "
                   "digits or '_'";
    for (size_t i = 0; reserved_names[i]; i++)
        if (strcmp(name, reserved_names[i]) == 0)
            return "the name is one of the sink's own columns";
    for (size_t i = 0; reserved_prefixes[i]; i++)
        if (strncmp(name, reserved_prefixes[i],
                    strlen(reserved_prefixes[i])) == 0)
            return "names that begin with _sluice_ or _peerdb_ are kept "
                   "for metadata columns";
    return NULL;
}

static char *trimmed(const char *from, const char *to)
{
    while (from < to && isspace((unsigned char)*from))
        from++;
    while (to > from && isspace((unsigned char)to[-1]))
        to--;
    return strndup(from, (size_t)(to - from));
}

/* The path split at its dots; NULL when a segment is empty. */
static char **split_path(const char *path, size_t *depth)
{
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '.';
    char **segments = calloc(n, sizeof *segments);
    const char *p = path;
    for (size_t i = 0; segments && i < n; i++) {
        size_t len = strcspn(p, ".");
        if (!len || !(segments[i] = strndup(p, len))) {
            for (size_t j = 0; j < i; j++)
                free(segments[j]);
            free(segments);
            return NULL;
        }
        p += len + 1;
    }
    *depth = n;
    return segments;
}

static void field_free(struct ch_field *f)
{
    for (size_t i = 0; f->segments && i < f->depth; i++)
        free(f->segments[i]);
    free(f->segments);
    free(f->table);
    free(f->name);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* One item into *f; NULL, or why it is refused. */
static const char *parse_item(const char *item, struct ch_field *f)
{
    const char *eq = strchr(item, '=');
    if (!eq)
        return "expected TABLE.COLUMN = PATH TYPE";
    char *left = trimmed(item, eq);
    const char *right = eq + 1;
    while (isspace((unsigned char)*right))
        right++;
    const char *space = right + strcspn(right, " \t");
    const char *why = NULL;
    char *dot = left ? strrchr(left, '.') : NULL;
    if (!left || !dot || dot == left)
        why = "expected TABLE.COLUMN on the left of '='";
    else if (!*right || !*space)
        why = "expected PATH TYPE on the right of '='";
    if (!why) {
        f->table = strndup(left, (size_t)(dot - left));
        f->name = strdup(dot + 1);
        f->path = strndup(right, (size_t)(space - right));
        why = f->table && f->name && f->path ? bad_name(f->name)
                                             : "out of memory";
    }
    if (!why && !(f->segments = split_path(f->path, &f->depth)))
        why = "a path is names separated by single dots (customer.id), "
              "none of them empty";
    char *type = why ? NULL : trimmed(space, space + strlen(space));
    if (!why && !(type && parse_type(type, &f->type)))
        why = "the type is not one of " TYPES_TEXT;
    free(type);
    free(left);
    return why;
}

static bool same_column(const struct ch_field *a, const struct ch_field *b)
{
    return strcmp(a->table, b->table) == 0 && strcmp(a->name, b->name) == 0;
}

sluice_status ch_fields_parse(const struct ch_config *cfg,
                              struct ch_fields *out, sluice_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = cfg->columns.count;
    struct ch_buf why = {0};
    if (n && !(out->items = calloc(n, sizeof *out->items)))
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const char *item = cfg->columns.items[i];
        struct ch_field *f = &out->items[out->count];
        const char *bad = parse_item(item, f);
        for (size_t j = 0; !bad && j < out->count; j++)
            if (same_column(&out->items[j], f))
                bad = "the table has a column of that name already";
        if (bad) {
            ok = ch_buf_printf(&why, "%sitem %zu, '%s': %s",
                               why.len ? "; " : "", i + 1, item, bad);
            field_free(f);
        } else {
            out->count++;
        }
    }
    sluice_status st = SLUICE_OK;
    if (!ok)
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    else if (why.len)
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: columns: %s (each item is "
                         "TABLE.COLUMN = PATH TYPE)",
                         why.data);
    else if (!cfg->keep_doc && !n)
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: keep_doc: false drops the "
                         "document of the tables that have typed columns, "
                         "and no table has any: set columns, or keep_doc = "
                         "true");
    ch_buf_free(&why);
    return st;
}

void ch_fields_free(struct ch_fields *f)
{
    for (size_t i = 0; i < f->count; i++)
        field_free(&f->items[i]);
    free(f->items);
    memset(f, 0, sizeof *f);
}
