/* option_text.h: the text an option's value is parsed from, and where it
 * came from (for `sluice check --print`).
 *
 * An option is written `NAME = VALUE`, on its line and the indented lines
 * under it; one that is secret or a URL (which may hold a password) can
 * instead be written `NAME_file = PATH`, to keep the secret out of the
 * file. The text is made as follows:
 *   - continued lines: a list keeps the line break between them (it
 *     separates items); any other option's pieces are joined with nothing
 *     between them (a long URI broken over lines is one URI again);
 *   - then `${NAME}` is replaced by the environment variable NAME (unset:
 *     an error; set and empty: empty), `$$` by one `$`; a `$` followed by
 *     anything else stays as written, so values that held a `$` before
 *     keep working. `${` that does not begin `${NAME}` is an error;
 *   - NAME_file: PATH (`${NAME}` replaced first; relative to the config
 *     file's directory) names a regular file whose content is the value,
 *     one trailing line break removed and nothing replaced in it. Giving
 *     both NAME and NAME_file is an error.
 *
 * Used by the option engine (options.c); it knows nothing of option
 * types but whether one is a list. */
#ifndef SLUICE_OPTIONS_OPTION_TEXT_H
#define SLUICE_OPTIONS_OPTION_TEXT_H

#include <sluice/options.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util/error.h"
#include "ini_doc.h"

/* The largest file NAME_file may name: a secret, not a document. */
#define OPTION_FILE_MAX (64 * 1024)

struct option_text {
    struct ini_entry *entry; /* the line it is written on (NAME or
                                NAME_file); NULL: not written */
    char *text;              /* owned; NULL when not written */
};

/* The line that gives option `o` of the table `opts` in `section` (may be
 * NULL): NAME, else NAME_file where `o` can be given so (it is secret or a
 * URL, and the table has no option of that name of its own); NULL when
 * neither is written. */
struct ini_entry *option_text_entry(const sluice_option *opts, size_t count,
                                    const sluice_option *o,
                                    const struct ini_section *section);

/* Reads option `o` from `section` (may be NULL) of the file at `path`,
 * marking the entries it reads as used and setting their origin. -1 with
 * `err` (never holding the value) and out->entry set to the line and key
 * the error is about. */
int option_text_read(const sluice_option *opts, size_t count,
                     const sluice_option *o, struct ini_section *section,
                     const char *path, struct option_text *out,
                     struct error *err);

/* `path` made absolute against the real directory of the file
 * `config_path` (its symbolic links and "." resolved); a copy of it when
 * it is absolute already; NULL when that directory cannot be resolved.
 * The caller frees it. */
char *option_path_near(const char *config_path, const char *path);

#endif
