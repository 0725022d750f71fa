/* error.c: error values and diagnostic lists (see error.h). */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "utf8.h"

/* A message cut to fit its buffer loses a character cut in half whole. */
static void whole_characters(char *message)
{
    message[utf8_whole(message, strlen(message))] = '\0';
}

int error_set(struct error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    whole_characters(err->message);
    err->transient = false;
    return -1;
}

int error_transient(struct error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    whole_characters(err->message);
    err->transient = true;
    return -1;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_printf(&b, ": %s", err->message);
    size_t n =
        b.len < sizeof err->message - 1 ? b.len : sizeof err->message - 1;
    memcpy(err->message, b.data, n);
    err->message[n] = '\0';
    whole_characters(err->message);
    buf_free(&b);
    return -1;
}

static void add(char ***list, size_t *count, size_t *cap, const char *fmt,
                va_list ap) SLUICE_PRINTF(4, 0);
static void add(char ***list, size_t *count, size_t *cap, const char *fmt,
                va_list ap)
{
    struct buf b = {0};
    buf_vprintf(&b, fmt, ap);
    XGROW(*list, *cap, *count + 1);
    (*list)[(*count)++] = buf_take(&b);
}

void diags_error(struct diags *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(&d->errors, &d->count, &d->cap, fmt, ap);
    va_end(ap);
}

void diags_warning(struct diags *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(&d->warnings, &d->warning_count, &d->warning_cap, fmt, ap);
    va_end(ap);
}

void diags_free(struct diags *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->errors[i]);
    for (size_t i = 0; i < d->warning_count; i++)
        free(d->warnings[i]);
    free(d->errors);
    free(d->warnings);
    memset(d, 0, sizeof *d);
}
