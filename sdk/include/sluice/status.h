/* sluice/status.h: how results and errors cross the plugin boundary.
 *
 * Every callback returns a sluice_status. When it is SLUICE_RETRY or
 * SLUICE_FATAL, the callback has written a message into the error buffer
 * that its caller passed in and owns (after librdkafka's conf_init): nothing
 * crosses the boundary that the other side must free. A plugin never exits,
 * aborts or longjmps; it returns.
 *
 * A message is one line that starts with the plugin's name ("my_sink:
 * cannot write x: disk full"). It names the plugin once: the core shows it
 * as written where it adds no context of its own (a failed pipe's error),
 * and leaves that leading "my_sink: " out where it names the plugin
 * itself ("pipe p: sink my_sink: error: cannot write x: disk full"). */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef enum sluice_status {
    SLUICE_OK = 0,    /* the call did what was asked; call again for more */
    SLUICE_DONE = 1,  /* the call did what was asked and there is no more
                         (a snapshot partition is exhausted) */
    SLUICE_RETRY = 2, /* transient failure: the core backs off and calls
                         again; the state of the pipe does not change */
    SLUICE_FATAL = 3, /* permanent failure: the pipe goes to `failed` with
                         the message */
    SLUICE_FATAL_TABLE = 4 /* ABI 1.2: permanent, and about one table only,
                              from a callback that takes a table (a sink's
                              claim, setup_table, resync_begin,
                              resync_swap, drop_table): the destination
                              refuses that table's name or shape. The table
                              fails on its own with the message; the pipe
                              and its other tables go on. From any other
                              callback, or in a core older than 1.2, it is
                              SLUICE_FATAL. */
} sluice_status;

/* A message buffer owned by the caller. `message` holds `size` bytes; the
 * callee writes a NUL-terminated message, truncated to fit. The caller
 * passes a buffer of at least 256 bytes and clears it before the call. */
typedef struct sluice_error {
    char *message;
    size_t size;
} sluice_error;

#if defined(__GNUC__)
#define SLUICE_PRINTF(fmt_index, first_arg)                                   \
    __attribute__((format(printf, fmt_index, first_arg)))
#else
#define SLUICE_PRINTF(fmt_index, first_arg)
#endif

/* Writes a formatted message into `err` and returns `status`, so that a
 * callback can say `return sluice_fail(err, SLUICE_FATAL, "...", ...);`. */
static inline sluice_status sluice_fail(sluice_error *err,
                                        sluice_status status, const char *fmt,
                                        ...) SLUICE_PRINTF(3, 4);

static inline sluice_status
sluice_fail(sluice_error *err, sluice_status status, const char *fmt, ...)
{
    if (err && err->message && err->size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, err->size, fmt, ap);
        va_end(ap);
    }
    return status;
}

#endif
