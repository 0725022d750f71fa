/* error.h: errors as values. A function that can fail returns -1 and writes
 * a message into a `struct error` its caller owns; a message says what was
 * wrong and where (file and line, option, plugin file, server reply).
 *
 * `struct diags` collects many messages at once, for checks that should
 * report every problem in one pass (a config file). */
#ifndef SLUICE_UTIL_ERROR_H
#define SLUICE_UTIL_ERROR_H

#include <sluice/status.h> /* SLUICE_PRINTF */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct error {
    char message[1024];
    bool transient; /* it may pass: retry later (a server away, a lock) */
};

/* Writes the message and returns -1. */
int error_set(struct error *err, const char *fmt, ...) SLUICE_PRINTF(2, 3);
/* The same, for an error that may pass when tried again. */
int error_transient(struct error *err, const char *fmt, ...)
    SLUICE_PRINTF(2, 3);
/* Puts "prefix: " in front of the message already there; returns -1. */
int error_prefix(struct error *err, const char *fmt, ...) SLUICE_PRINTF(2, 3);

struct diags {
    char **errors;
    size_t count, cap;
    char **warnings;
    size_t warning_count, warning_cap;
};

void diags_error(struct diags *d, const char *fmt, ...) SLUICE_PRINTF(2, 3);
void diags_warning(struct diags *d, const char *fmt, ...) SLUICE_PRINTF(2, 3);
void diags_free(struct diags *d);

#endif
