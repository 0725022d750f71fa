/* log.h: log lines on standard error, in one of two forms:
 *   text  "2026-12-02T01:40:54.299Z info  orders: message": UTC time,
 *         level, who speaks (a pipe, a plugin, "sluice"), the message;
 *   json  one object a line: {"time","level","component","pipe","table",
 *         "message","fields"}, pipe and table null when the line is about
 *         none, fields an object of what the call site has as values.
 * Under systemd (JOURNAL_STREAM names standard error), the text form
 * leaves out the time, which the journal records, and starts with the
 * syslog priority, "<6>", that journald reads as the line's priority
 * (sd-daemon(3)); the json form is written as it is.
 *
 * The levels are the SDK's (sluice_log_level), so plugin lines and core
 * lines share one filter. Thread-safe: a line is written with one call. A
 * message is one line: its secrets masked and its control characters
 * escaped (util/redact.h, util/json.h), whatever it holds. */
#ifndef SLUICE_UTIL_LOG_H
#define SLUICE_UTIL_LOG_H

#include <sluice/host.h>
#include <stdint.h>

/* Lines below `level` are not written; info unless set. */
void log_set_level(sluice_log_level level);
sluice_log_level log_level(void);
/* The levels' names, "error" to "debug": log_level_names[level - 1],
 * NULL-ended (the allowed values of [service] log_level). */
extern const char *const log_level_names[];

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
/* "text", "json": log_format_names[format], NULL-ended (the allowed
 * values of [service] log_format). */
extern const char *const log_format_names[];
/* text unless set. */
void log_set_format(enum log_format format);

/* A value of a line, for the json form: a string, an integer, a count (an
 * integer written as null when negative: unknown), or a figure kept in
 * tenths (333 written 33.3; null when negative). The text form has the
 * values in its message, as the call site writes it. */
enum log_field_kind {
    LOG_FIELD_TEXT,
    LOG_FIELD_INT,
    LOG_FIELD_COUNT,
    LOG_FIELD_TENTHS
};
struct log_field {
    const char *name; /* NULL ends a list of fields */
    enum log_field_kind kind;
    const char *text;
    int64_t number;
};
#define LOG_TEXT(name, text)                                                  \
    {                                                                         \
        (name), LOG_FIELD_TEXT, (text), 0                                     \
    }
#define LOG_INT(name, n)                                                      \
    {                                                                         \
        (name), LOG_FIELD_INT, NULL, (n)                                      \
    }
#define LOG_COUNT(name, n)                                                    \
    {                                                                         \
        (name), LOG_FIELD_COUNT, NULL, (n)                                    \
    }
#define LOG_TENTHS(name, n)                                                   \
    {                                                                         \
        (name), LOG_FIELD_TENTHS, NULL, (n)                                   \
    }
#define LOG_END                                                               \
    {                                                                         \
        NULL, LOG_FIELD_TEXT, NULL, 0                                         \
    }

/* A line of `who`, a part of the core or of what it runs ("http"); NULL
 * for the core itself ("sluice"). */
void log_msg(sluice_log_level level, const char *who, const char *fmt, ...)
    SLUICE_PRINTF(3, 4);
/* A line of the core about `pipe` and, when not NULL, one of its tables,
 * with `fields` (NULL: none; else ended by LOG_END). */
void log_pipe(sluice_log_level level, const char *pipe, const char *table,
              const struct log_field *fields, const char *fmt, ...)
    SLUICE_PRINTF(5, 6);
/* The one writer: a finished message of `component` (NULL: the core),
 * about `pipe` and `table` (each may be NULL), with `fields` (likewise). */
void log_write(sluice_log_level level, const char *component, const char *pipe,
               const char *table, const struct log_field *fields,
               const char *message);

/* A block of lines kept below the log lines on a terminal (the live
 * progress of sluice run): each log line is written above it, and a new
 * block replaces the old in place. NULL or "" removes it. The text ends
 * with a newline. */
void log_set_footer(const char *text);

#endif
