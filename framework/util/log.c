/* log.c: log lines on standard error (see log.h). Every line, the core's
 * and the plugins', has its secrets masked and its control characters
 * escaped here: one message is one line, whatever it holds. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "redact.h"

static sluice_log_level threshold = SLUICE_LOG_INFO;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char *footer; /* shown below the log lines, or NULL */
static int footer_lines;

/* Moves the cursor back to the start of the footer and clears it. */
static void erase_footer(struct buf *out)
{
    if (footer_lines)
        buf_printf(out, "\033[%dA\033[J", footer_lines);
}

static void draw_footer(struct buf *out)
{
    footer_lines = 0;
    if (!footer)
        return;
    buf_puts(out, footer);
    for (const char *c = footer; *c; c++)
        footer_lines += *c == '\n';
}

void log_set_footer(const char *text)
{
    struct buf out = {0};
    pthread_mutex_lock(&out_lock);
    erase_footer(&out);
    free(footer);
    footer = text && text[0] ? strdup(text) : NULL;
    draw_footer(&out);
    if (out.len)
        fwrite(out.data, 1, out.len, stderr);
    pthread_mutex_unlock(&out_lock);
    buf_free(&out);
}

void log_set_level(sluice_log_level level)
{
    threshold = level;
}

sluice_log_level log_level(void)
{
    return threshold;
}

const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};

int log_level_named(const char *name, sluice_log_level *out)
{
    for (int i = 0; log_level_names[i]; i++)
        if (name && strcmp(name, log_level_names[i]) == 0) {
            *out = (sluice_log_level)(i + 1);
            return 0;
        }
    return -1;
}

static const char *level_name(sluice_log_level level)
{
    return level >= SLUICE_LOG_ERROR && level <= SLUICE_LOG_DEBUG
               ? log_level_names[level - 1]
               : "?";
}

void log_msg(sluice_log_level level, const char *who, const char *fmt, ...)
{
    if (level > threshold)
        return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    struct buf line = {0}, message = {0};
    buf_printf(&line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
               tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_name(level));
    redact_line(who ? who : "sluice", &line);
    buf_puts(&line, ": ");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&message, fmt, ap);
    va_end(ap);
    redact_line(message.data, &line);
    buf_free(&message);
    buf_puts(&line, "\n");
    pthread_mutex_lock(&out_lock);
    if (footer) {
        struct buf out = {0};
        erase_footer(&out);
        buf_append(&out, line.data, line.len);
        draw_footer(&out);
        fwrite(out.data, 1, out.len, stderr);
        buf_free(&out);
    } else {
        fwrite(line.data, 1, line.len, stderr);
    }
    pthread_mutex_unlock(&out_lock);
    buf_free(&line);
}
