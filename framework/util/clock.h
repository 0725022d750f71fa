/* clock.h: time for the core: UTC wall clock in ms since 1970, a
 * monotonic clock, sleeping, and ISO 8601 text (always UTC,
 * "2024-02-25T01:00:00Z"), independent of the machine's time zone. */
#ifndef SLUICE_UTIL_CLOCK_H
#define SLUICE_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

int64_t clock_now_ms(void);
int64_t clock_monotonic_ms(void);
/* Sleeps that long (a signal may cut it short). */
void sleep_ms(int64_t ms);

/* 00:00 UTC of the UTC date of `ms`. */
int64_t utc_day_start(int64_t ms);

/* "2024-02-25T01:00:00Z"; milliseconds are shown only when not zero.
 * Returns `out`. */
const char *format_utc(int64_t ms, char *out, size_t size);
/* Reads "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z", "+HH:MM" or
 * no zone (taken as UTC). */
int parse_utc(const char *text, int64_t *ms, struct error *err);

#endif
