/* log.c: log lines on standard error (see log.h). Every line, the core's
 * and the plugins', has its secrets masked and its control characters
 * escaped here: one message is one line, whatever it holds. */
#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "redact.h"

static sluice_log_level threshold = SLUICE_LOG_INFO;
static enum log_format format = LOG_FORMAT_TEXT;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char *footer; /* shown below the log lines, or NULL */
static int footer_lines;

/* Whether standard error is the journal's stream: JOURNAL_STREAM, which
 * systemd sets to "DEVICE:INODE" of the stream it connects, names it (a
 * child whose standard error goes elsewhere inherits the variable, so
 * the stream itself is compared, as systemd.exec(5) advises). */
static bool to_journal;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

static void find_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    to_journal = stream && sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
                 fstat(STDERR_FILENO, &st) == 0 &&
                 (unsigned long long)st.st_dev == dev &&
                 (unsigned long long)st.st_ino == ino;
}

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

const char *const log_format_names[] = {"text", "json", NULL};

void log_set_format(enum log_format f)
{
    format = f;
}

static const char *level_name(sluice_log_level level)
{
    return level >= SLUICE_LOG_ERROR && level <= SLUICE_LOG_DEBUG
               ? log_level_names[level - 1]
               : "?";
}

/* The syslog priority of a level (sd-daemon(3): "<3>" to "<7>"). */
static int priority(sluice_log_level level)
{
    static const int of[] = {6, 3, 4, 6, 7};
    return level >= SLUICE_LOG_ERROR && level <= SLUICE_LOG_DEBUG ? of[level]
                                                                  : 6;
}

/* "2026-12-02T01:40:54.299Z" */
static void timestamp(struct buf *b)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
               ts.tv_nsec / 1000000);
}

static void text_line(struct buf *line, sluice_log_level level,
                      const char *component, const char *pipe,
                      const char *message)
{
    if (to_journal) {
        buf_printf(line, "<%d>", priority(level));
    } else {
        timestamp(line);
        buf_puts(line, " ");
    }
    buf_printf(line, "%-5s ", level_name(level));
    struct buf who = {0};
    if (component && pipe)
        buf_printf(&who, "%s[%s]", component, pipe);
    else
        buf_puts(&who, component ? component : pipe ? pipe : "sluice");
    redact_line(who.data, line);
    buf_free(&who);
    buf_puts(line, ": ");
    redact_line(message, line);
}

static void json_fields(struct json *j, const struct log_field *fields)
{
    json_open_object(j, "fields");
    for (const struct log_field *f = fields; f && f->name; f++)
        switch (f->kind) {
        case LOG_FIELD_TEXT: json_add_string(j, f->name, f->text); break;
        case LOG_FIELD_INT: json_add_int(j, f->name, f->number); break;
        case LOG_FIELD_COUNT: json_add_count(j, f->name, f->number); break;
        case LOG_FIELD_TENTHS: json_add_tenths(j, f->name, f->number); break;
        }
    json_close_object(j);
}

static void json_line(struct buf *line, sluice_log_level level,
                      const char *component, const char *pipe,
                      const char *table, const struct log_field *fields,
                      const char *message)
{
    struct buf time = {0};
    timestamp(&time);
    struct json j = JSON_INIT(line);
    json_open_object(&j, NULL);
    json_add_string(&j, "time", time.data);
    json_add_string(&j, "level", level_name(level));
    json_add_string(&j, "component", component ? component : "sluice");
    json_add_string(&j, "pipe", pipe);
    json_add_string(&j, "table", table);
    json_add_string(&j, "message", message);
    json_fields(&j, fields);
    json_close_object(&j);
    buf_free(&time);
}

void log_write(sluice_log_level level, const char *component, const char *pipe,
               const char *table, const struct log_field *fields,
               const char *message)
{
    if (level > threshold)
        return;
    pthread_once(&journal_once, find_journal);
    struct buf line = {0};
    if (format == LOG_FORMAT_JSON)
        json_line(&line, level, component, pipe, table, fields,
                  message ? message : "");
    else
        text_line(&line, level, component, pipe, message ? message : "");
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

static void log_vwrite(sluice_log_level level, const char *component,
                       const char *pipe, const char *table,
                       const struct log_field *fields, const char *fmt,
                       va_list ap) SLUICE_PRINTF(6, 0);
static void log_vwrite(sluice_log_level level, const char *component,
                       const char *pipe, const char *table,
                       const struct log_field *fields, const char *fmt,
                       va_list ap)
{
    if (level > threshold)
        return;
    struct buf message = {0};
    buf_vprintf(&message, fmt, ap);
    log_write(level, component, pipe, table, fields, message.data);
    buf_free(&message);
}

void log_msg(sluice_log_level level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, who, NULL, NULL, NULL, fmt, ap);
    va_end(ap);
}

void log_pipe(sluice_log_level level, const char *pipe, const char *table,
              const struct log_field *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, NULL, pipe, table, fields, fmt, ap);
    va_end(ap);
}
