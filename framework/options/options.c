/* options.c: the option-table engine (see options.h). Every option type is
 * handled in one place each: parse, free, format, describe. */
#include "options.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"
#include "../util/redact.h"
#include "../util/roff.h"
#include "../util/units.h"
#include "option_text.h"

static size_t field_size(sluice_option_type type)
{
    switch (type) {
    case SLUICE_OPTION_STRING: return sizeof(const char *);
    case SLUICE_OPTION_INT:
    case SLUICE_OPTION_DURATION:
    case SLUICE_OPTION_SIZE:
    case SLUICE_OPTION_TIME: return sizeof(int64_t);
    case SLUICE_OPTION_BOOL: return sizeof(bool);
    case SLUICE_OPTION_ENUM: return sizeof(int);
    case SLUICE_OPTION_LIST: return sizeof(sluice_string_list);
    }
    return 0;
}

const char *option_type_name(sluice_option_type type)
{
    switch (type) {
    case SLUICE_OPTION_STRING: return "string";
    case SLUICE_OPTION_INT: return "integer";
    case SLUICE_OPTION_BOOL: return "boolean";
    case SLUICE_OPTION_DURATION: return "duration";
    case SLUICE_OPTION_SIZE: return "size";
    case SLUICE_OPTION_ENUM: return "enum";
    case SLUICE_OPTION_LIST: return "list";
    case SLUICE_OPTION_TIME: return "time";
    }
    return "unknown";
}

static void *field(const sluice_option *o, void *config)
{
    return (char *)config + o->offset;
}

static bool has_range(const sluice_option *o)
{
    return (o->flags & SLUICE_OPTION_RANGE) &&
           (o->type == SLUICE_OPTION_INT ||
            o->type == SLUICE_OPTION_DURATION ||
            o->type == SLUICE_OPTION_SIZE);
}

static void format_number(const sluice_option *o, int64_t v, char *out,
                          size_t size)
{
    if (o->type == SLUICE_OPTION_DURATION)
        format_duration(v, out, size);
    else if (o->type == SLUICE_OPTION_SIZE)
        format_size(v, out, size);
    else if (o->type == SLUICE_OPTION_TIME)
        format_time_of_day(v, out, size);
    else
        snprintf(out, size, "%" PRId64, v);
}

static void format_range(const sluice_option *o, struct buf *out)
{
    char lo[64], hi[64];
    format_number(o, o->min, lo, sizeof lo);
    format_number(o, o->max, hi, sizeof hi);
    buf_printf(out, "%s to %s", lo, hi);
}

static void format_allowed(const sluice_option *o, struct buf *out)
{
    for (size_t i = 0; o->allowed && o->allowed[i]; i++)
        buf_printf(out, "%s%s", i ? ", " : "", o->allowed[i]);
}

/* A URL option that lists the schemes it accepts (ABI 1.2). */
static bool has_schemes(const sluice_option *o)
{
    return (o->flags & SLUICE_OPTION_URL) && o->type == SLUICE_OPTION_STRING &&
           o->allowed;
}

#define SCHEME_CHARS                                                          \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-"

/* The value starts with one of the schemes and ':'. A message names the
 * scheme only: the rest of a URL may hold a password. */
static int check_scheme(const sluice_option *o, const char *text,
                        struct error *err)
{
    size_t n = strspn(text, SCHEME_CHARS);
    for (size_t i = 0; o->allowed[i]; i++)
        if (text[n] == ':' && strlen(o->allowed[i]) == n &&
            strncmp(text, o->allowed[i], n) == 0)
            return 0;
    struct buf allowed = {0};
    format_allowed(o, &allowed);
    if (n && text[n] == ':')
        error_set(err, "scheme '%.*s' is not one of: %s", (int)n, text,
                  allowed.data);
    else
        error_set(err,
                  "the URL has no scheme (SCHEME:...); expected one "
                  "of: %s",
                  allowed.data);
    buf_free(&allowed);
    return -1;
}

/* Items are separated by commas and line breaks (a list may go on over
 * indented lines). An empty item is an error, except next to a line break:
 * "a,\n  b" is two items. */
static int parse_list(const char *text, sluice_string_list *list,
                      struct error *err)
{
    size_t count = 0, cap = 0;
    char **items = NULL;
    char before = '\0'; /* the separator in front of the item */
    const char *p = text;
    list->count = 0;
    list->items = NULL;
    while (*text) {
        const char *end = p + strcspn(p, ",\n");
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a < b) {
            XGROW(items, cap, count + 1);
            items[count++] = xstrndup(a, (size_t)(b - a));
        } else if (before != '\n' && *end != '\n') {
            for (size_t i = 0; i < count; i++)
                free(items[i]);
            free(items);
            return error_set(err, "item %zu of the list is empty", count + 1);
        }
        if (!*end)
            break;
        before = *end;
        p = end + 1;
    }
    list->count = count;
    list->items = (const char *const *)items;
    return 0;
}

static void free_field(const sluice_option *o, void *config)
{
    if (o->type == SLUICE_OPTION_STRING) {
        char **s = field(o, config);
        free(*s);
        *s = NULL;
    } else if (o->type == SLUICE_OPTION_LIST) {
        sluice_string_list *l = field(o, config);
        for (size_t i = 0; i < l->count; i++)
            free((char *)l->items[i]);
        free((void *)l->items);
        l->items = NULL;
        l->count = 0;
    }
}

static int parse_typed(const sluice_option *o, const char *text, void *config,
                       struct error *err)
{
    int64_t v = 0;
    switch (o->type) {
    case SLUICE_OPTION_STRING:
        free_field(o, config);
        *(char **)field(o, config) = xstrdup(text);
        return 0;
    case SLUICE_OPTION_LIST: {
        sluice_string_list list;
        if (parse_list(text, &list, err) < 0)
            return -1;
        free_field(o, config);
        *(sluice_string_list *)field(o, config) = list;
        return 0;
    }
    case SLUICE_OPTION_BOOL: return parse_bool(text, field(o, config), err);
    case SLUICE_OPTION_ENUM:
        for (int i = 0; o->allowed && o->allowed[i]; i++) {
            if (strcmp(text, o->allowed[i]) == 0) {
                *(int *)field(o, config) = i;
                return 0;
            }
        }
        {
            struct buf allowed = {0};
            format_allowed(o, &allowed);
            error_set(err, "'%s' is not one of: %s", text, allowed.data);
            buf_free(&allowed);
        }
        return -1;
    case SLUICE_OPTION_INT:
        if (parse_int(text, &v, err) < 0)
            return -1;
        break;
    case SLUICE_OPTION_DURATION:
        if (parse_duration(text, &v, err) < 0)
            return -1;
        break;
    case SLUICE_OPTION_SIZE:
        if (parse_size(text, &v, err) < 0)
            return -1;
        break;
    case SLUICE_OPTION_TIME:
        if (parse_time_of_day(text, &v, err) < 0)
            return -1;
        break;
    default: return error_set(err, "option type %d is unknown", (int)o->type);
    }
    if (has_range(o) && (v < o->min || v > o->max)) {
        struct buf range = {0};
        format_range(o, &range);
        if (o->flags & SLUICE_OPTION_SECRET)
            error_set(err, "value is out of range: must be from %s",
                      range.data);
        else
            error_set(err, "%s is out of range: must be from %s", text,
                      range.data);
        buf_free(&range);
        return -1;
    }
    *(int64_t *)field(o, config) = v;
    return 0;
}

int option_parse(const sluice_option *o, const char *text, void *config,
                 struct error *err)
{
    bool secret = o->flags & SLUICE_OPTION_SECRET;
    if (o->type != SLUICE_OPTION_LIST && strchr(text, '\n'))
        return error_set(err, "the value holds a line break; only a list "
                              "may have more than one line");
    if (!*text && o->type != SLUICE_OPTION_STRING &&
        o->type != SLUICE_OPTION_LIST)
        return error_set(err, "empty value; expected a %s",
                         option_type_name(o->type));
    if (has_schemes(o) && check_scheme(o, text, err) < 0)
        return -1;
    if (parse_typed(o, text, config, err) == 0)
        return 0;
    if (secret && o->type == SLUICE_OPTION_ENUM)
        error_set(err, "value is not one of the allowed values");
    return -1;
}

int options_check_table(const sluice_option *opts, size_t count,
                        size_t config_size, struct error *err)
{
    for (size_t i = 0; i < count; i++) {
        const sluice_option *o = &opts[i];
        if (!o->name[0] || strspn(o->name, "abcdefghijklmnopqrstuvwxyz"
                                           "0123456789_") != strlen(o->name))
            return error_set(err,
                             "option '%s': names are lower case "
                             "letters, digits and '_'",
                             o->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(opts[j].name, o->name) == 0)
                return error_set(err, "option '%s' is declared twice",
                                 o->name);
        size_t size = field_size(o->type);
        if (!size)
            return error_set(err, "option '%s': unknown type %d", o->name,
                             (int)o->type);
        if (o->offset > config_size || size > config_size - o->offset)
            return error_set(err,
                             "option '%s': offset %zu is outside the "
                             "config struct of %zu bytes",
                             o->name, o->offset, config_size);
        if (!o->description || !o->description[0])
            return error_set(err, "option '%s' has no description", o->name);
        if (o->type == SLUICE_OPTION_ENUM && (!o->allowed || !o->allowed[0]))
            return error_set(err, "option '%s': an enum needs allowed values",
                             o->name);
        if (has_schemes(o) && !o->allowed[0])
            return error_set(err,
                             "option '%s': its list of URL schemes is "
                             "empty",
                             o->name);
        for (size_t j = 0; has_schemes(o) && o->allowed[j]; j++) {
            const char *scheme = o->allowed[j];
            if (!(scheme[0] >= 'a' && scheme[0] <= 'z') ||
                strspn(scheme, SCHEME_CHARS) != strlen(scheme))
                return error_set(err,
                                 "option '%s': '%s' is not a URL "
                                 "scheme (a letter, then letters, "
                                 "digits, '+', '.' or '-')",
                                 o->name, scheme);
        }
        if (has_range(o) && o->min > o->max)
            return error_set(err,
                             "option '%s': range minimum is above the "
                             "maximum",
                             o->name);
        if ((o->flags & SLUICE_OPTION_TABLES) && o->type != SLUICE_OPTION_LIST)
            return error_set(err,
                             "option '%s': only a list can name the "
                             "tables",
                             o->name);
        for (size_t j = 0; j < i && (o->flags & SLUICE_OPTION_TABLES); j++)
            if (opts[j].flags & SLUICE_OPTION_TABLES)
                return error_set(err,
                                 "options '%s' and '%s' both name the "
                                 "tables",
                                 opts[j].name, o->name);
        if ((o->flags & SLUICE_OPTION_PATH) && o->type != SLUICE_OPTION_STRING)
            return error_set(err, "option '%s': only a string can be a path",
                             o->name);
        if ((o->flags & SLUICE_OPTION_REQUIRED) && o->default_value)
            return error_set(err,
                             "option '%s' is required and has a "
                             "default; it can be only one",
                             o->name);
        if (o->default_value) {
            /* only the option's own field is written */
            void *scratch = xcalloc(1, o->offset + size);
            struct error why;
            int rc = option_parse(o, o->default_value, scratch, &why);
            free_field(o, scratch);
            free(scratch);
            if (rc < 0)
                return error_set(err, "option '%s': default is invalid: %s",
                                 o->name, why.message);
        }
    }
    return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A relative path option, made absolute against the real directory of
 * `file` (option_path_near): the value is then the same whichever
 * directory sluice starts in and however the file is named, which is
 * what the store compares when the pipe starts again. */
static void relative_to_file(const sluice_option *o, const char *file,
                             void *config)
{
    char **field = (char **)((char *)config + o->offset);
    if (!*field || !(*field)[0])
        return;
    char *full = option_path_near(file, *field);
    if (!full)
        return; /* the file was read, so its directory was there */
    free(*field);
    *field = full;
}

/* The secrets of a value as written, masked from then on wherever text
 * leaves the process (util/redact.h). */
static void remember_secrets(const sluice_option *o, const char *text)
{
    if (o->flags & SLUICE_OPTION_SECRET)
        redact_remember(text);
    else if (o->flags & SLUICE_OPTION_URL)
        redact_remember_in(text);
}

void options_apply(const sluice_option *opts, size_t count,
                   const struct option_source *src, void *config,
                   struct diags *diags)
{
    for (size_t i = 0; i < count; i++) {
        const sluice_option *o = &opts[i];
        struct option_text t;
        struct error why;
        if (option_text_read(opts, count, o, src->section, src->path, &t,
                             &why) < 0) {
            diags_error(diags, "%s:%d: [%s] %s: %s", src->path, t.entry->line,
                        src->name, t.entry->key, why.message);
        } else if (t.entry) {
            if (!t.text[0] && (o->flags & SLUICE_OPTION_REQUIRED))
                diags_error(diags, "%s:%d: [%s] %s: required option is empty",
                            src->path, t.entry->line, src->name, t.entry->key);
            else if (option_parse(o, t.text, config, &why) < 0)
                diags_error(diags, "%s:%d: [%s] %s: %s", src->path,
                            t.entry->line, src->name, t.entry->key,
                            why.message);
            remember_secrets(o, t.text);
        } else if (o->flags & SLUICE_OPTION_REQUIRED) {
            diags_error(diags, "%s:%d: [%s] %s: required option is missing",
                        src->path, src->line, src->name, o->name);
        } else if (o->default_value &&
                   option_parse(o, o->default_value, config, &why) < 0) {
            diags_error(diags, "%s:%d: [%s] %s: default is invalid: %s",
                        src->path, src->line, src->name, o->name, why.message);
        }
        free(t.text);
        if (o->flags & SLUICE_OPTION_PATH)
            relative_to_file(o, src->path, config);
    }
}

void option_origin(const sluice_option *opts, size_t count,
                   const sluice_option *o, const struct option_source *src,
                   struct buf *out)
{
    struct ini_entry *e = option_text_entry(opts, count, o, src->section);
    if (!e) {
        buf_puts(out, "default");
        return;
    }
    buf_printf(out, "%s:%d", src->path, e->line);
    if (e->origin)
        buf_printf(out, ", %s", e->origin);
}

/* The option of the table that `key` would give as NAME_file. */
static const sluice_option *file_form_of(const sluice_option *opts,
                                         size_t count, const char *key)
{
    size_t n = strlen(key), suffix = strlen("_file");
    if (n <= suffix || strcmp(key + n - suffix, "_file") != 0)
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (strlen(opts[i].name) == n - suffix &&
            strncmp(opts[i].name, key, n - suffix) == 0)
            return &opts[i];
    return NULL;
}

void options_report_unknown(const sluice_option *opts, size_t count,
                            const struct option_source *src,
                            struct diags *diags)
{
    if (!src->section)
        return;
    for (size_t i = 0; i < src->section->count; i++) {
        struct ini_entry *e = &src->section->entries[i];
        if (e->used)
            continue;
        const sluice_option *base = file_form_of(opts, count, e->key);
        if (base) {
            diags_error(diags,
                        "%s:%d: [%s] %s: unknown option; only a secret or "
                        "URL option can be read from a file, and %s is "
                        "neither",
                        src->path, e->line, src->name, e->key, base->name);
            continue;
        }
        const char *best = NULL;
        size_t best_distance = 3;
        for (size_t j = 0; j < count; j++) {
            size_t d = edit_distance(e->key, opts[j].name);
            if (d < best_distance)
                best = opts[j].name, best_distance = d;
        }
        if (best) {
            diags_error(diags,
                        "%s:%d: [%s] %s: unknown option; did you mean '%s'?",
                        src->path, e->line, src->name, e->key, best);
            continue;
        }
        struct buf known = {0};
        for (size_t j = 0; j < count; j++)
            buf_printf(&known, "%s%s", j ? ", " : "", opts[j].name);
        diags_error(diags, "%s:%d: [%s] %s: unknown option; known: %s",
                    src->path, e->line, src->name, e->key,
                    count ? known.data : "(none)");
        buf_free(&known);
    }
}

void options_free(const sluice_option *opts, size_t count, void *config)
{
    if (!config)
        return;
    for (size_t i = 0; i < count; i++)
        free_field(&opts[i], config);
}

void option_format_value(const sluice_option *o, const void *config,
                         struct buf *out)
{
    void *f = field(o, (void *)config);
    char text[64];
    bool unset =
        o->type == SLUICE_OPTION_STRING && !(*(char **)f && (*(char **)f)[0]);
    if ((o->flags & SLUICE_OPTION_SECRET) && !unset) {
        buf_puts(out, REDACT_MASK);
        return;
    }
    switch (o->type) {
    case SLUICE_OPTION_STRING: /* a URL, or a text that quotes one */
        redact(*(char **)f, out);
        return;
    case SLUICE_OPTION_LIST: {
        const sluice_string_list *l = f;
        for (size_t i = 0; i < l->count; i++) {
            buf_puts(out, i ? ", " : "");
            redact(l->items[i], out);
        }
        return;
    }
    case SLUICE_OPTION_BOOL:
        buf_puts(out, *(bool *)f ? "true" : "false");
        return;
    case SLUICE_OPTION_ENUM: { /* an index; one out of range is unset */
        int k = *(int *)f, n = 0;
        while (o->allowed[n])
            n++;
        buf_puts(out, k >= 0 && k < n ? o->allowed[k] : "");
        return;
    }
    default:
        format_number(o, *(int64_t *)f, text, sizeof text);
        buf_puts(out, text);
    }
}

/* "integer, 1 to 90" / "enum: a, b" / "string, URL: http, https" */
static void describe_type(const sluice_option *o, struct buf *out)
{
    buf_puts(out, option_type_name(o->type));
    if (o->type == SLUICE_OPTION_ENUM || has_schemes(o)) {
        buf_puts(out, o->type == SLUICE_OPTION_ENUM ? ": " : ", URL: ");
        format_allowed(o, out);
    }
    if (has_range(o)) {
        buf_puts(out, ", ");
        format_range(o, out);
    }
}

static void describe_default(const sluice_option *o, struct buf *out)
{
    if (o->flags & SLUICE_OPTION_REQUIRED)
        buf_puts(out, "required");
    else if (o->default_value && o->default_value[0] &&
             (o->flags & SLUICE_OPTION_SECRET))
        buf_puts(out, REDACT_MASK);
    else if (o->default_value && o->default_value[0] &&
             (o->flags & SLUICE_OPTION_URL))
        redact(o->default_value, out);
    else if (o->default_value && o->default_value[0])
        buf_puts(out, o->default_value);
    else
        buf_puts(out, "none");
}

/* What the flags of an option add to its description. */
static const char *option_note(const sluice_option *o)
{
    return (o->flags & SLUICE_OPTION_SECRET)
               ? " Secret: never printed; can be read from a file with "
                 "NAME_file = PATH."
           : (o->flags & SLUICE_OPTION_FORM)
               ? " Shapes the destination: a table written with one value "
                 "is refused with another until a resync rewrites it."
               : "";
}

static void markdown_cell(struct buf *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            buf_puts(out, "\\|");
        else if (*p == '\n')
            buf_puts(out, " ");
        else
            buf_append(out, p, 1);
    }
}

/* One option as a man page's tagged paragraph (of the page's .TP list). */
static void man_option(const sluice_option *o, const char *type,
                       const char *def, const char *note, struct buf *out)
{
    struct buf text = {0};
    buf_printf(&text, "(%s; %s%s)\n%s%s", type,
               (o->flags & SLUICE_OPTION_REQUIRED) ? "" : "default: ", def,
               o->description, note);
    buf_puts(out, ".TP\n.B ");
    roff_text(o->name, out);
    buf_puts(out, "\n");
    roff_text(text.data, out);
    buf_puts(out, "\n");
    buf_free(&text);
}

void options_describe(const sluice_option *opts, size_t count,
                      enum options_format format, struct buf *out)
{
    if (!count) {
        buf_puts(out, format == OPTIONS_MARKDOWN
                          ? "This plugin has no options.\n"
                      : format == OPTIONS_MAN ? "It has no options.\n"
                                              : "  (no options)\n");
        return;
    }
    if (format == OPTIONS_MARKDOWN)
        buf_puts(out, "| option | type | default | description |\n"
                      "|---|---|---|---|\n");
    for (size_t i = 0; i < count; i++) {
        const sluice_option *o = &opts[i];
        struct buf type = {0}, def = {0};
        describe_type(o, &type);
        describe_default(o, &def);
        const char *note = option_note(o);
        bool required = o->flags & SLUICE_OPTION_REQUIRED;
        if (format == OPTIONS_MARKDOWN) {
            buf_printf(out, "| `%s` | ", o->name);
            markdown_cell(out, type.data);
            buf_puts(out, " | ");
            markdown_cell(out, def.data);
            buf_puts(out, " | ");
            markdown_cell(out, o->description);
            buf_printf(out, "%s |\n", note);
        } else if (format == OPTIONS_MAN) {
            man_option(o, type.data, def.data, note, out);
        } else {
            buf_printf(out, "  %s (%s; %s%s)\n      %s%s\n", o->name,
                       type.data, required ? "" : "default: ", def.data,
                       o->description, note);
        }
        buf_free(&type);
        buf_free(&def);
    }
}

void options_json(const sluice_option *opts, size_t count, struct json *j)
{
    json_open_array(j, "options");
    for (size_t i = 0; i < count; i++) {
        const sluice_option *o = &opts[i];
        struct buf def = {0};
        bool has_default = !(o->flags & SLUICE_OPTION_REQUIRED) &&
                           o->default_value && o->default_value[0];
        if (has_default)
            describe_default(o, &def);
        json_open_object(j, NULL);
        json_add_string(j, "name", o->name);
        json_add_string(j, "type", option_type_name(o->type));
        json_add_string(j, "default", has_default ? def.data : NULL);
        json_add_bool(j, "required", o->flags & SLUICE_OPTION_REQUIRED);
        json_add_bool(j, "secret", o->flags & SLUICE_OPTION_SECRET);
        json_add_bool(j, "shapes_destination", o->flags & SLUICE_OPTION_FORM);
        if (o->type == SLUICE_OPTION_ENUM || has_schemes(o)) {
            json_open_array(j, o->type == SLUICE_OPTION_ENUM ? "allowed"
                                                             : "schemes");
            for (size_t k = 0; o->allowed[k]; k++)
                json_add_string(j, NULL, o->allowed[k]);
            json_close_array(j);
        }
        if (has_range(o)) {
            json_add_int(j, "min", o->min);
            json_add_int(j, "max", o->max);
        }
        json_add_string(j, "description", o->description);
        json_close_object(j);
        buf_free(&def);
    }
    json_close_array(j);
}
