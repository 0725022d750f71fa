/* units.c: parsing and printing option values (see units.h). */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_int(const char *text, int64_t *out, struct error *err)
{
    char *end;
    errno = 0;
    if (!*text || isspace((unsigned char)*text))
        return error_set(err, "expected an integer");
    long long v = strtoll(text, &end, 10);
    if (*end)
        return error_set(err, "expected an integer");
    if (errno == ERANGE)
        return error_set(err, "integer does not fit in 64 bits");
    *out = v;
    return 0;
}

int parse_bool(const char *text, bool *out, struct error *err)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *out = false, 0;
    }
    return error_set(err, "expected true or false (also yes/no, on/off, 1/0)");
}

/* Reads digits at *p; -1 when there are none or they overflow. */
static int read_number(const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int mul_checked(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int parse_duration(const char *text, int64_t *out_ms, struct error *err)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *expected =
        "expected a duration such as 500ms, 60s, 5m, 1h, 1d or 1h30m";
    const char *p = text;
    int64_t total = 0, v;
    if (read_number(&p, &v) < 0)
        return error_set(err, "%s", expected);
    if (!*p) { /* a bare number is seconds */
        if (mul_checked(v, 1000, out_ms) < 0)
            return error_set(err, "duration is too long");
        return 0;
    }
    for (;;) {
        size_t n = 0;
        while (isalpha((unsigned char)p[n]))
            n++;
        int64_t scale = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].unit) == n &&
                strncmp(p, units[i].unit, n) == 0)
                scale = units[i].ms;
        if (!scale)
            return error_set(err, "%s", expected);
        int64_t part;
        if (mul_checked(v, scale, &part) < 0 || total > INT64_MAX - part)
            return error_set(err, "duration is too long");
        total += part;
        p += n;
        if (!*p)
            break;
        if (read_number(&p, &v) < 0)
            return error_set(err, "%s", expected);
    }
    *out_ms = total;
    return 0;
}

int parse_size(const char *text, int64_t *out_bytes, struct error *err)
{
    static const struct {
        const char *unit;
        int64_t bytes;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1LL << 10},
                 {"kib", 1LL << 10},
                 {"kb", 1000},
                 {"m", 1LL << 20},
                 {"mib", 1LL << 20},
                 {"mb", 1000000},
                 {"g", 1LL << 30},
                 {"gib", 1LL << 30},
                 {"gb", 1000000000},
                 {"t", 1LL << 40},
                 {"tib", 1LL << 40},
                 {"tb", 1000000000000LL}};
    const char *p = text;
    int64_t v;
    if (read_number(&p, &v) < 0)
        return error_set(err, "expected a size such as 512, 64KiB, 16MiB, "
                              "1GiB or 10MB");
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            if (mul_checked(v, units[i].bytes, out_bytes) < 0)
                return error_set(err, "size is too large");
            return 0;
        }
    }
    return error_set(err, "unknown size unit; use B, KiB, MiB, GiB, TiB "
                          "(or KB, MB, GB, TB for powers of 1000)");
}

int parse_time_of_day(const char *text, int64_t *out_seconds,
                      struct error *err)
{
    int h, m, s = 0, n = 0;
    size_t len = strlen(text);
    bool ok =
        (len == 5 && sscanf(text, "%2d:%2d%n", &h, &m, &n) == 2 && n == 5) ||
        (len == 8 && sscanf(text, "%2d:%2d:%2d%n", &h, &m, &s, &n) == 3 &&
         n == 8);
    if (!ok || !isdigit((unsigned char)text[0]))
        return error_set(err,
                         "expected a time of day as HH:MM (24-hour, UTC)");
    if (h > 23 || m > 59 || s > 59 || h < 0 || m < 0 || s < 0)
        return error_set(err, "time of day out of range 00:00 to 23:59:59");
    *out_seconds = (int64_t)h * 3600 + m * 60 + s;
    return 0;
}

void format_duration(int64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    if (ms == 0) {
        snprintf(out, size, "0s");
        return;
    }
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < 5 && ms > 0; i++) {
        if (ms >= units[i].ms && used < size) {
            used += (size_t)snprintf(out + used, size - used, "%" PRId64 "%s",
                                     ms / units[i].ms, units[i].unit);
            ms %= units[i].ms;
        }
    }
}

void format_size(int64_t bytes, char *out, size_t size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (u < 4 && bytes != 0 && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, size, "%" PRId64 "%s", bytes, units[u]);
}

void format_bytes(int64_t bytes, char *out, size_t size)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(out, size, "%" PRId64 "B", bytes);
        return;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    while (u < 5 && v >= 1023.95) { /* what would print as 1024.0 */
        v /= 1024.0;
        u++;
    }
    snprintf(out, size, "%.1f%s", v, units[u]);
}

void format_time_of_day(int64_t seconds, char *out, size_t size)
{
    if (seconds % 60)
        snprintf(out, size, "%02d:%02d:%02d", (int)(seconds / 3600),
                 (int)(seconds / 60 % 60), (int)(seconds % 60));
    else
        snprintf(out, size, "%02d:%02d", (int)(seconds / 3600),
                 (int)(seconds / 60 % 60));
}
