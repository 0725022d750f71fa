/* ini_doc.h: an INI file read into memory, every section and key with the
 * line it came from, so that later checks can name file and line.
 *
 * inih does the parsing. Two of its limits are guarded here rather than
 * left to truncate silently: a line longer than the library's buffer
 * (INI_MAX_LINE, 200 bytes in Debian's build) is an error naming the line,
 * and section names are taken whole from the line, not from inih's 50-byte
 * section buffer. An indented line continues the previous value; the two
 * are joined with a newline (lists accept this; other option types refuse
 * it by name). */
#ifndef SLUICE_OPTIONS_INI_DOC_H
#define SLUICE_OPTIONS_INI_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/error.h"

struct ini_entry {
    char *key;
    char *value;
    int line;
    bool used; /* set by whoever consumed it; the rest are "unknown" */
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
