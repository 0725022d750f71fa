/* clock.c: clocks and UTC times as text (see clock.h). */
#include "clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t clock_monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int64_t utc_day_start(int64_t ms)
{
    const int64_t day = 86400LL * 1000;
    int64_t d = ms / day;
    if (ms % day < 0)
        d--;
    return d * day;
}

const char *format_utc(int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int millis = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (millis)
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, millis);
    else
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
    return out;
}

/* Reads exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int parse_utc(const char *text, int64_t *ms, struct error *err)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, frac = 0, offset = 0;
    const char *expected = "expected an ISO 8601 time such as "
                           "2024-02-25T01:00:00Z";
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
        *p++ != '-' || digits(&p, 2, &d) < 0)
        return error_set(err, "'%s': %s", text, expected);
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return error_set(err, "'%s': %s", text, expected);
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &s) < 0)
                return error_set(err, "'%s': %s", text, expected);
            if (*p == '.') {
                p++;
                int scale = 100;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p++ - '0') * scale;
                    scale /= 10;
                }
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, 2, &oh) < 0 || *p++ != ':' ||
                digits(&p, 2, &om) < 0)
                return error_set(err, "'%s': %s", text, expected);
            offset = sign * (oh * 60 + om);
        }
    }
    if (*p)
        return error_set(err, "'%s': %s", text, expected);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return error_set(err, "'%s': a field is out of range", text);
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d)
        return error_set(err, "'%s': there is no such date", text);
    *ms = ((int64_t)t - (int64_t)offset * 60) * 1000 + frac;
    return 0;
}

void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
