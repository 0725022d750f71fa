/* log.c: log lines on standard error (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "buf.h"

static sluice_log_level threshold = SLUICE_LOG_INFO;

void log_set_level(sluice_log_level level)
{
    threshold = level;
}

sluice_log_level log_level(void)
{
    return threshold;
}

static const char *level_name(sluice_log_level level)
{
    switch (level) {
    case SLUICE_LOG_ERROR: return "error";
    case SLUICE_LOG_WARN: return "warn";
    case SLUICE_LOG_INFO: return "info";
    case SLUICE_LOG_DEBUG: return "debug";
    }
    return "?";
}

void log_msg(sluice_log_level level, const char *who, const char *fmt, ...)
{
    if (level > threshold)
        return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    struct buf line = {0};
    buf_printf(&line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
               tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_name(level),
               who ? who : "sluice");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&line, fmt, ap);
    va_end(ap);
    buf_puts(&line, "\n");
    fwrite(line.data, 1, line.len, stderr);
    buf_free(&line);
}
