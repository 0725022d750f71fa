/* sluice/options.h: option tables (after Fluent Bit's config maps).
 *
 * A plugin declares its options once, in a table. From that table the core
 * rejects unknown keys (naming file and line), applies defaults, checks
 * types and ranges, fills the plugin's config struct, masks secrets in
 * every output, and prints documentation (`sluice plugins describe`). The
 * framework's own sections are declared the same way.
 *
 * A table is an array of sluice_option ended by an entry whose name is
 * NULL. The plugin passes the element size along with the table (see
 * SLUICE_OPTION_TABLE), so that fields can be appended to sluice_option in
 * later ABI minors without breaking older plugins. */
#ifndef SLUICE_OPTIONS_H
#define SLUICE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each type names the C type of the field at `offset` in the config struct.
 * Values are appended only. */
typedef enum sluice_option_type {
    SLUICE_OPTION_STRING = 1,   /* const char *: NULL when unset, no default */
    SLUICE_OPTION_INT = 2,      /* int64_t: decimal, optional sign */
    SLUICE_OPTION_BOOL = 3,     /* bool: true/false, yes/no, on/off, 1/0 */
    SLUICE_OPTION_DURATION = 4, /* int64_t milliseconds: "500ms", "60s",
                                   "5m", "1h", "1d", "1h30m"; a bare
                                   number is seconds */
    SLUICE_OPTION_SIZE = 5,     /* int64_t bytes: "512", "64KiB", "16MiB",
                                   "1GiB", "10MB" (decimal), "16M" (= MiB) */
    SLUICE_OPTION_ENUM = 6,     /* int: index of the value in `allowed` */
    SLUICE_OPTION_LIST = 7,     /* sluice_string_list: comma-separated,
                                   items trimmed, none empty */
    SLUICE_OPTION_TIME = 8      /* int64_t seconds after 00:00: "HH:MM" or
                                   "HH:MM:SS", 24-hour clock */
} sluice_option_type;

/* Flags, or-ed together. */
#define SLUICE_OPTION_REQUIRED 0x1u /* an error when missing; no default */
#define SLUICE_OPTION_SECRET 0x2u   /* never printed: masked as ******** */
#define SLUICE_OPTION_RANGE                                                   \
    0x4u /* min and max apply (INT, DURATION,                                 \
            SIZE: in the field's unit) */
#define SLUICE_OPTION_URL                                                     \
    0x8u /* a URL that may carry a password                                   \
            (scheme://user:password@host): the                                \
            password is masked when printed.                                  \
            From ABI 1.2, `allowed` may list                                  \
            the schemes the core accepts                                      \
            ("http", "https"); others are                                     \
            refused by `sluice check` */
#define SLUICE_OPTION_TABLES                                                  \
    0x10u /* a LIST naming the tables a pipe                                  \
             captures: when it changes, the core                              \
             adds and removes tables (requests)                               \
             instead of changing settings */
#define SLUICE_OPTION_PATH                                                    \
    0x20u /* ABI 1.1: a STRING naming a file or                               \
             directory; the core makes a relative                             \
             one absolute, against the real                                   \
             directory of the config file (the                                \
             same wherever sluice starts) */
#define SLUICE_OPTION_FORM                                                    \
    0x40u /* ABI 1.2: the option shapes what is                               \
             written to a destination (its key,                               \
             document or columns). A table is                                 \
             written in one form: when such an                                \
             option changes, the core refuses the                             \
             pipe's existing tables until a resync                            \
             rewrites them */

/* The value of a LIST option. Items and the array are owned by the core
 * and stay valid as long as the config struct that holds the list. */
typedef struct sluice_string_list {
    size_t count;
    const char *const *items;
} sluice_string_list;

typedef struct sluice_option {
    sluice_option_type type;
    const char *name;           /* the INI key: lower case, digits, '_' */
    const char *default_value;  /* in INI text form; NULL: none */
    uint32_t flags;             /* SLUICE_OPTION_* */
    size_t offset;              /* offsetof(config struct, field) */
    const char *description;    /* one or two sentences, for the docs */
    int64_t min, max;           /* with SLUICE_OPTION_RANGE, inclusive */
    const char *const *allowed; /* ENUM: the values; URL (ABI 1.2): the
                                   schemes; NULL-terminated */
} sluice_option;

/* Fills the `options`, `option_size` and (ABI 1.2) `option_count` fields
 * of an info struct from the table, an array (not a pointer): the core
 * then reads no entry past its end, and refuses a table whose entries
 * hold no terminator ({0}) instead of reading on into whatever follows. */
#define SLUICE_OPTION_TABLE(table)                                            \
    .options = (table), .option_size = sizeof((table)[0]),                    \
    .option_count = sizeof(table) / sizeof((table)[0])

/* The C type of the field each option type fills (sluice_option_type). */
#define SLUICE_OPTION_CTYPE_STRING const char *
#define SLUICE_OPTION_CTYPE_INT int64_t
#define SLUICE_OPTION_CTYPE_BOOL bool
#define SLUICE_OPTION_CTYPE_DURATION int64_t
#define SLUICE_OPTION_CTYPE_SIZE int64_t
#define SLUICE_OPTION_CTYPE_ENUM int
#define SLUICE_OPTION_CTYPE_LIST sluice_string_list
#define SLUICE_OPTION_CTYPE_TIME int64_t

/* Fills `type` and `offset` of an entry for FIELD of the config struct
 * CONFIG, and refuses to compile when the field is not the size of KIND's
 * C type (an INT option on an `int` field would write 8 bytes into 4, over
 * whatever follows). KIND is the type's name without SLUICE_OPTION_:
 *   {SLUICE_OPTION_FIELD(INT, struct config, level), .name = "level", ...}
 * (C only: C++ allows no struct defined inside sizeof.) */
#define SLUICE_OPTION_FIELD(kind, config, field)                              \
    .type = SLUICE_OPTION_##kind,                                             \
    .offset = offsetof(config, field) +                                       \
              0 * sizeof(struct {                                             \
                  _Static_assert(sizeof(((config *)0)->field) ==              \
                                     sizeof(SLUICE_OPTION_CTYPE_##kind),      \
                                 "option field '" #field "': wrong size "     \
                                 "for option type " #kind);                   \
                  char size_checked;                                          \
              })

#endif
