/* clock.h: time for the core: UTC wall clock in ms since 1970, a
 * monotonic clock, sleeping, and ISO 8601 text (always UTC,
 * "2024-02-25T01:00:00Z"), independent of the machine's time zone.
 *
 * The test clock, for tests and benchmarks only: SLUICE_TEST_CLOCK, read
 * once when first needed, as "speed=N" and/or "offset=[-]DURATION"
 * (comma-separated), makes sluice's wall clock start at the real time
 * plus the offset and run N times as fast from there (speed=1440: a real
 * minute is a day). clock_now_ms and the store's {{now}} follow it; the
 * monotonic clock, sleeps, timeouts, leases and log line times stay
 * real. */
#ifndef SLUICE_UTIL_CLOCK_H
#define SLUICE_UTIL_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* sluice's wall clock: the test clock when one is set. */
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

/* Reads "speed=N,offset=[-]DURATION" (either or both). */
int clock_test_parse(const char *text, double *speed, int64_t *offset_ms,
                     struct error *err);
/* Whether SLUICE_TEST_CLOCK sets a test clock (-1 and a message when its
 * value is wrong: the clock is then the real one); a process checks it
 * at start. */
int clock_test_check(bool *on, struct error *err);
/* The test clock: the real time it started at, its speed and offset; false
 * when there is none. sluice's time is start + (real - start) * speed +
 * offset. */
bool clock_test(int64_t *start_ms, double *speed, int64_t *offset_ms);
/* The real wall clock, whatever the test clock says. */
int64_t clock_real_ms(void);

#endif
