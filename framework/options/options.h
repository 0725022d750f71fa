/* options.h: the option-table engine, shared by the framework's own
 * sections and every plugin's (the tables are sluice_option arrays, see
 * sdk/include/sluice/options.h).
 *
 * From one table it checks the table itself (at plugin registration),
 * fills a config struct from an INI section with every error named by
 * file, line, section and key, frees what it filled, prints values with
 * secrets masked, and writes the documentation.
 *
 * A leaf: config/ (the framework's sections) and plugin/ (a plugin's
 * table, checked at registration) both use it, and it uses nothing of the
 * framework but util/ and the INI document beside it (ini_doc.h). */
#ifndef SLUICE_OPTIONS_OPTIONS_H
#define SLUICE_OPTIONS_OPTIONS_H

#include <sluice/options.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"
#include "../util/error.h"
#include "../util/json.h"
#include "ini_doc.h"

/* Where a section's values come from, for messages. `section` may be NULL
 * (the file has no such section: defaults only); then errors point at
 * `line`, the place that made the section necessary. */
struct option_source {
    const char *path;
    const char *name; /* the section name as written, e.g. "pipe a.sink" */
    struct ini_section *section;
    int line;
};

/* Checks a table: names, types, offsets inside config_size, ENUM values,
 * ranges, and that every default parses and lies in range. */
int options_check_table(const sluice_option *opts, size_t count,
                        size_t config_size, struct error *err);

/* Fills `config` (zeroed, of the size the table was checked against) from
 * the section, applying defaults; marks the entries it used. The text of
 * each value is read as option_text.h says: lines joined, ${NAME} from the
 * environment, NAME_file for a secret or URL option. Errors go to
 * `diags`; on error the struct may be partly filled (free it anyway). The
 * value of a secret option and the secrets inside a URL option are
 * remembered, to be masked in every output (util/redact.h). */
void options_apply(const sluice_option *opts, size_t count,
                   const struct option_source *src, void *config,
                   struct diags *diags);

/* Reports every entry of the section that no option used. */
void options_report_unknown(const sluice_option *opts, size_t count,
                            const struct option_source *src,
                            struct diags *diags);

/* Frees the strings and lists that options_apply put into `config`. */
void options_free(const sluice_option *opts, size_t count, void *config);

/* Parses one value into its field (used for defaults and entries). The
 * message never repeats the value of a secret. */
int option_parse(const sluice_option *o, const char *text, void *config,
                 struct error *err);

/* The value of a filled field, as text; secrets masked (util/redact.h),
 * but an empty or unset secret shows as empty: there is nothing to hide. */
void option_format_value(const sluice_option *o, const void *config,
                         struct buf *out);

/* Where the value of `o` (of the table `opts`) in the section came from,
 * for `check --print`: "FILE:LINE", "FILE:LINE, environment NAME, ...",
 * "FILE:LINE, file PATH" (NAME_file), or "default". Meant after
 * options_apply, which records it (option_text.h). */
void option_origin(const sluice_option *opts, size_t count,
                   const sluice_option *o, const struct option_source *src,
                   struct buf *out);

const char *option_type_name(sluice_option_type type);

/* Documentation of a table: plain text, a Markdown table, or a man
 * page's list of tagged paragraphs (.TP). */
enum options_format { OPTIONS_TEXT, OPTIONS_MARKDOWN, OPTIONS_MAN };
void options_describe(const sluice_option *opts, size_t count,
                      enum options_format format, struct buf *out);

/* The same as the member "options" of the object `j` is writing: an
 * array of objects (name, type, default, required, secret,
 * shapes_destination, allowed or schemes, min and max, description). */
void options_json(const sluice_option *opts, size_t count, struct json *j);

#endif
