/* ini_doc.c: reading an INI file with inih, keeping lines (see ini_doc.h).
 *
 * inih reads through our line reader (ini_parse_stream), which sees every
 * whole line first: it knows the current line number and which section
 * header the line is. inih's own line buffer is small (INI_MAX_LINE, 200
 * bytes in Debian's build), so the reader does not hand it the line but
 * the line's shape: every character inih's syntax looks at kept, every
 * run of other text shortened to one character (see shape_line). inih
 * splits the shape into section, name and value as it would the line;
 * the handler maps what it is given back onto the whole line. So inih
 * decides the syntax, and no value is limited in length. */
#include "ini_doc.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/mem.h"

/* What inih's syntax is made of, besides white space: the delimiters of
 * "name = value" and "name: value", the comment prefixes, the brackets
 * of a header. Any other character matters to inih only as not being
 * white space. */
#define SYNTAX_CHARS "=:;#[]"

struct reader {
    FILE *file;
    const char *path;
    struct ini_doc *doc;
    struct diags *diags;
    char *line; /* the whole current line, newline removed */
    size_t line_cap;
    const char *text; /* the line, its byte order mark left out */
    int lineno;
    /* The shape inih was given (its buffer) and, for each of its
     * characters, the part of `text` it stands for: [from, to). */
    const char *shape;
    size_t shape_len;
    size_t *from, *to;
    size_t map_cap;
    struct ini_section *section; /* NULL before any header, or after a
                                    header that could not be read */
    bool section_broken;
    struct ini_entry *last; /* the value a continuation extends */
};
static const char *section_name_at(const void *sections, size_t at)
{
    return ((const struct ini_section *)sections)[at].name;
}

static struct ini_section *section_for(struct ini_doc *doc, const char *name,
                                       int line)
{
    struct ini_section *s = ini_doc_section(doc, name);
    if (s)
        return s;
    XGROW(doc->sections, doc->cap, doc->count + 1);
    s = &doc->sections[doc->count++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->line = line;
    name_index_add(&doc->index, s->name, doc->count - 1, doc->sections,
                   section_name_at);
    return s;
}

static char *skip_space(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* A header line, as inih reads one: '[' then the name up to ']'. */
static void note_header(struct reader *r, char *start)
{
    char *end = strchr(start + 1, ']');
    r->last = NULL;
    if (!end) { /* inih reports the syntax error */
        r->section = NULL;
        r->section_broken = true;
        return;
    }
    char *first = skip_space(start + 1);
    while (end > first && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    char *name = xstrndup(first, (size_t)(end - first));
    r->section = section_for(r->doc, name, r->lineno);
    r->section_broken = false;
    free(name);
}

static bool is_space(char c)
{
    return isspace((unsigned char)c);
}

/* The part of the line from `i` that one character of the shape stands
 * for: a run of white space; one syntax character; or a run of other
 * text, white space between its words included, that begins and ends
 * with a character that is neither (so it ends before the white space
 * in front of a syntax character or the line's end). inih strips
 * white space at the ends of names and values and finds an inline
 * comment only where a ';' follows white space, so it parses the shape
 * as it would the line. Returns the end of the part and its character. */
static size_t shape_part(const char *text, size_t n, size_t i, char *c)
{
    size_t j = i;
    if (is_space(text[i])) {
        while (j < n && is_space(text[j]))
            j++;
        *c = ' ';
        return j;
    }
    if (strchr(SYNTAX_CHARS, text[i])) {
        *c = text[i];
        return i + 1;
    }
    size_t end = i + 1;
    for (; j < n && !strchr(SYNTAX_CHARS, text[j]); j++)
        if (!is_space(text[j]))
            end = j + 1;
    *c = 'x';
    return end;
}

/* Writes the shape of the `n` bytes of `text` into `str` (`num` bytes,
 * ended by a newline as a line from fgets) and maps it; false when it
 * does not fit. */
static bool shape_line(struct reader *r, const char *text, size_t n, char *str,
                       int num)
{
    size_t k = 0, cap = num > 2 ? (size_t)num - 2 : 0;
    if (r->map_cap < cap) {
        r->from = xrealloc(r->from, cap * sizeof *r->from);
        r->to = xrealloc(r->to, cap * sizeof *r->to);
        r->map_cap = cap;
    }
    for (size_t i = 0; i < n; k++) {
        if (k == cap)
            return false;
        size_t j = shape_part(text, n, i, &str[k]);
        r->from[k] = i;
        r->to[k] = j;
        i = j;
    }
    str[k] = '\n';
    str[k + 1] = '\0';
    r->shape = str;
    r->shape_len = k;
    return true;
}

static char *read_line(char *str, int num, void *stream)
{
    struct reader *r = stream;
    ssize_t n = getline(&r->line, &r->line_cap, r->file);
    if (n < 0)
        return NULL;
    r->lineno++;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
        r->line[--n] = '\0';
    char *text = r->line;
    if (r->lineno == 1 && strncmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3, n -= 3;
    r->text = text;
    r->shape = NULL;

    char *start = skip_space(text);
    if (*start == '[')
        note_header(r, start);

    const char *nul = memchr(text, '\0', (size_t)n);
    bool comment = *start == ';' || *start == '#'; /* inih skips it */
    bool fits = !nul && (comment || shape_line(r, text, (size_t)n, str, num));
    if (nul)
        diags_error(r->diags,
                    "%s:%d: the line holds a NUL byte (at column %td); a "
                    "config file is text",
                    r->path, r->lineno, nul - text + 1);
    else if (!fits)
        diags_error(r->diags,
                    "%s:%d: the line has too many of = : ; # [ ] and white "
                    "space for the INI reader (more than %d, a run of "
                    "other text counting as one); continue the value on "
                    "an indented line",
                    r->path, r->lineno, num - 2);
    if (!fits) {
        r->last = NULL; /* its continuation lines continue nothing read */
        if (*start == '[') {
            r->section = NULL;
            r->section_broken = true;
        }
        str[0] = '\0';
    } else if (comment) {
        memcpy(str, ";\n", 3);
    }
    return str;
}

/* Whether inih's `p` points into the shape it was given (a name it keeps
 * of its own, for a continuation line, does not). */
static bool in_shape(const struct reader *r, const char *p)
{
    uintptr_t at = (uintptr_t)p, shape = (uintptr_t)r->shape;
    return r->shape && at >= shape && at < shape + r->shape_len + 1;
}

/* The text of the line that inih's `p` (a name or a value in the shape,
 * ended by inih with a NUL) stands for. */
static char *from_line(const struct reader *r, const char *p)
{
    size_t k = (size_t)(p - r->shape), len = strlen(p);
    if (!len || k + len > r->shape_len)
        return xstrdup("");
    return xstrndup(r->text + r->from[k], r->to[k + len - 1] - r->from[k]);
}

/* A comment after a continued value, cut as inih cuts one after the
 * first line of a value (at a ';' after white space); the inih of Debian
 * (r55) leaves it in the value of a continuation line. */
static void cut_comment(char *piece)
{
    for (char *p = piece; *p; p++) {
        if (*p == ';' && p > piece && is_space(p[-1])) {
            *p = '\0';
            break;
        }
    }
    size_t n = strlen(piece);
    while (n && is_space(piece[n - 1]))
        piece[--n] = '\0';
}

static int on_entry(void *user, const char *section, const char *name_shape,
                    const char *value_shape)
{
    (void)section; /* the reader has the whole name */
    struct reader *r = user;
    if (r->section_broken)
        return 1; /* the header's own error is reported */
    char *value = from_line(r, value_shape);
    if (!in_shape(r, name_shape)) { /* a continuation line */
        cut_comment(value);
        if (r->last) {
            char *joined = xasprintf("%s\n%s", r->last->value, value);
            free(r->last->value);
            r->last->value = joined;
        }
        free(value);
        return 1;
    }
    char *name = from_line(r, name_shape);
    if (!r->section) {
        diags_error(r->diags,
                    "%s:%d: %s: option outside any section; put it under a "
                    "[section] header",
                    r->path, r->lineno, name);
        free(name);
        free(value);
        return 1;
    }
    struct ini_entry *old = ini_section_entry(r->section, name);
    if (old) {
        diags_error(r->diags, "%s:%d: [%s] %s: set twice (first on line %d)",
                    r->path, r->lineno, r->section->name, name, old->line);
        r->last = NULL;
        free(name);
        free(value);
        return 1;
    }
    struct ini_section *s = r->section;
    XGROW(s->entries, s->cap, s->count + 1);
    struct ini_entry *e = &s->entries[s->count++];
    memset(e, 0, sizeof *e);
    e->key = name;
    e->value = value;
    e->line = r->lineno;
    r->last = e;
    return 1;
}

int ini_doc_load(const char *path, struct ini_doc *doc, struct diags *diags,
                 struct error *err)
{
    memset(doc, 0, sizeof *doc);
    doc->path = xstrdup(path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return error_set(err,
                         "%s: cannot read: is a directory, not a config "
                         "file",
                         path);
    FILE *f = fopen(path, "r");
    if (!f)
        return error_set(err, "%s: cannot read: %s", path, strerror(errno));
    struct reader r = {.file = f, .path = path, .doc = doc, .diags = diags};
    int bad_line = ini_parse_stream(read_line, &r, on_entry, &r);
    int read_failed = ferror(f) ? errno : 0;
    fclose(f);
    free(r.line);
    free(r.from);
    free(r.to);
    if (read_failed)
        return error_set(err, "%s: read error after line %d: %s", path,
                         r.lineno, strerror(read_failed));
    /* "option = value", not "key = value": errors are masked as they are
     * printed, and the value of a "key = ..." would be */
    if (bad_line > 0)
        diags_error(diags,
                    "%s:%d: syntax error: expected '[section]', 'option = "
                    "value' or a comment",
                    path, bad_line);
    return 0;
}

void ini_doc_free(struct ini_doc *doc)
{
    for (size_t i = 0; i < doc->count; i++) {
        struct ini_section *s = &doc->sections[i];
        for (size_t j = 0; j < s->count; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
            free(s->entries[j].origin);
        }
        free(s->entries);
        free(s->name);
    }
    free(doc->sections);
    name_index_free(&doc->index);
    free(doc->path);
    memset(doc, 0, sizeof *doc);
}

struct ini_section *ini_doc_section(const struct ini_doc *doc,
                                    const char *name)
{
    size_t at;
    return name_index_find(&doc->index, name, doc->sections, section_name_at,
                           &at)
               ? &doc->sections[at]
               : NULL;
}

struct ini_entry *ini_section_entry(const struct ini_section *section,
                                    const char *key)
{
    for (size_t i = 0; i < section->count; i++)
        if (strcmp(section->entries[i].key, key) == 0)
            return &section->entries[i];
    return NULL;
}
