/* ini_doc.h: an INI file read into memory, every section and key with the
 * line it came from, so that later checks can name file and line.
 *
 * inih does the parsing, through a line reader that gives it each line's
 * shape and takes names and values from the whole line (ini_doc.c): no
 * line or value is cut at inih's buffer (INI_MAX_LINE, 200 bytes in
 * Debian's build), and section names are taken whole from the line, not
 * from inih's 50-byte section buffer. An indented line continues the
 * previous value; the two are kept joined with a newline, and the option
 * that takes the value decides what the line break means (a list's items
 * are separated by it; any other value is joined without it: see
 * option_text.h). */
#ifndef SLUICE_OPTIONS_INI_DOC_H
#define SLUICE_OPTIONS_INI_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/error.h"
#include "../util/names.h"

struct ini_entry {
    char *key;
    char *value;
    int line;
    bool used;    /* set by whoever consumed it; the rest are "unknown" */
    char *origin; /* where the value came from besides its line, set as
                     it is used: "environment NAME, ...", "file PATH";
                     NULL: as written (see option_text.h) */
};

struct ini_section {
    char *name;
    int line; /* of its first header */
    struct ini_entry *entries;
    size_t count, cap;
};

struct ini_doc {
    char *path;
    struct ini_section *sections;
    size_t count, cap;
    struct name_index index; /* of the sections' names */
};

/* Reads `path`. Syntax errors go into `diags` (as "path:line: ..."); -1
 * with `err` set when the file cannot be read at all. */
int ini_doc_load(const char *path, struct ini_doc *doc, struct diags *diags,
                 struct error *err);
void ini_doc_free(struct ini_doc *doc);

struct ini_section *ini_doc_section(const struct ini_doc *doc,
                                    const char *name);
struct ini_entry *ini_section_entry(const struct ini_section *section,
                                    const char *key);

#endif
