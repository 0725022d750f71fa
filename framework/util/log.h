/* log.h: log lines on standard error: UTC time, level, who, message. The
 * levels are the SDK's (sluice_log_level), so plugin lines and core lines
 * share one filter. Thread-safe: a line is written with one call. A
 * message is one line: its secrets masked and its control characters
 * escaped (util/redact.h). */
#ifndef SLUICE_UTIL_LOG_H
#define SLUICE_UTIL_LOG_H

#include <sluice/host.h>

/* Lines below `level` are not written; info unless set. */
void log_set_level(sluice_log_level level);
sluice_log_level log_level(void);
/* The levels' names, "error" to "debug": log_level_names[level - 1],
 * NULL-ended (the allowed values of [service] log_level). */
extern const char *const log_level_names[];
/* The level `name` names; -1 when it names none. */
int log_level_named(const char *name, sluice_log_level *out);
/* `who` names the part speaking ("core", "source_mongo[orders]"); NULL for
 * the core. */
void log_msg(sluice_log_level level, const char *who, const char *fmt, ...)
    SLUICE_PRINTF(3, 4);

/* A block of lines kept below the log lines on a terminal (the live
 * progress of sluice run): each log line is written above it, and a new
 * block replaces the old in place. NULL or "" removes it. The text ends
 * with a newline. */
void log_set_footer(const char *text);

#endif
