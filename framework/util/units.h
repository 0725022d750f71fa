/* units.h: the text forms of option values: integers, booleans, durations,
 * sizes and times of day, and of amounts of bytes as people read them.
 * Each parser takes the whole text, returns 0 and the value, or -1 and a
 * message that says what form was expected (never echoing the text: it
 * may be a secret). */
#ifndef SLUICE_UTIL_UNITS_H
#define SLUICE_UTIL_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

int parse_int(const char *text, int64_t *out, struct error *err);
int parse_bool(const char *text, bool *out, struct error *err);
/* milliseconds: "500ms", "60s", "5m", "1h", "2d", "1h30m"; bare = seconds */
int parse_duration(const char *text, int64_t *out_ms, struct error *err);
/* bytes: "512", "64KiB", "16MiB", "10MB", "16M" (binary), "1G" */
int parse_size(const char *text, int64_t *out_bytes, struct error *err);
/* seconds after midnight: "HH:MM" or "HH:MM:SS" */
int parse_time_of_day(const char *text, int64_t *out_seconds,
                      struct error *err);

/* The shortest exact text form of each, for docs and effective values. */
void format_duration(int64_t ms, char *out, size_t size);
void format_size(int64_t bytes, char *out, size_t size);
void format_time_of_day(int64_t seconds, char *out, size_t size);
/* An amount of bytes for people, rounded to a tenth of its unit: "512B",
 * "1.5KiB", "54.9MiB", "1.1GiB" (units of 1024). */
void format_bytes(int64_t bytes, char *out, size_t size);

#endif
