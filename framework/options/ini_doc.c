/* ini_doc.c: reading an INI file with inih, keeping lines (see ini_doc.h).
 *
 * inih reads through our line reader (ini_parse_stream). The reader sees
 * every whole line first, so it knows the current line number, whether the
 * line is indented (a continuation), which section header it is, and
 * whether it is longer than inih's buffer. The handler only records. */
#include "ini_doc.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/mem.h"

struct reader {
    FILE *file;
    const char *path;
    struct ini_doc *doc;
    struct diags *diags;
    char *line; /* the whole current line, newline removed */
    size_t line_cap;
    int lineno;
    bool indented;               /* the current line starts with white space */
    struct ini_section *section; /* NULL before any header, or after a
                                    header that could not be read */
    bool section_broken;
    struct ini_entry *last; /* the value a continuation extends */
};

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

    r->indented = (text[0] == ' ' || text[0] == '\t');
    char *start = skip_space(text);
    if (*start == '[')
        note_header(r, start);

    const char *nul = memchr(text, '\0', (size_t)n);
    if (nul)
        diags_error(r->diags,
                    "%s:%d: the line holds a NUL byte (at column %td); a "
                    "config file is text",
                    r->path, r->lineno, nul - text + 1);
    else if (n > num - 1)
        diags_error(r->diags,
                    "%s:%d: line is %zd characters long; lines may have at "
                    "most %d",
                    r->path, r->lineno, n, num - 1);
    if (nul || n > num - 1) {
        if (*start == '[') {
            r->section = NULL;
            r->section_broken = true;
        }
        str[0] = '\0';
        return str;
    }
    memcpy(str, text, (size_t)n + 1);
    return str;
}

static int on_entry(void *user, const char *section, const char *name,
                    const char *value)
{
    (void)section; /* the reader has the whole name */
    struct reader *r = user;
    if (r->section_broken)
        return 1; /* the header's own error is reported */
    if (r->indented && r->last) {
        char *joined = xasprintf("%s\n%s", r->last->value, value);
        free(r->last->value);
        r->last->value = joined;
        return 1;
    }
    if (!r->section) {
        diags_error(r->diags,
                    "%s:%d: %s: option outside any section; put it under a "
                    "[section] header",
                    r->path, r->lineno, name);
        return 1;
    }
    struct ini_entry *old = ini_section_entry(r->section, name);
    if (old) {
        diags_error(r->diags, "%s:%d: [%s] %s: set twice (first on line %d)",
                    r->path, r->lineno, r->section->name, name, old->line);
        r->last = NULL;
        return 1;
    }
    struct ini_section *s = r->section;
    XGROW(s->entries, s->cap, s->count + 1);
    struct ini_entry *e = &s->entries[s->count++];
    e->key = xstrdup(name);
    e->value = xstrdup(value);
    e->line = r->lineno;
    e->used = false;
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
        }
        free(s->entries);
        free(s->name);
    }
    free(doc->sections);
    free(doc->path);
    memset(doc, 0, sizeof *doc);
}

struct ini_section *ini_doc_section(const struct ini_doc *doc,
                                    const char *name)
{
    for (size_t i = 0; i < doc->count; i++)
        if (strcmp(doc->sections[i].name, name) == 0)
            return &doc->sections[i];
    return NULL;
}

struct ini_entry *ini_section_entry(const struct ini_section *section,
                                    const char *key)
{
    for (size_t i = 0; i < section->count; i++)
        if (strcmp(section->entries[i].key, key) == 0)
            return &section->entries[i];
    return NULL;
}
