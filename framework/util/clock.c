/* clock.c: clocks and UTC times as text (see clock.h). */
#include "clock.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "units.h"

static int64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The test clock, read once (see clock.h). */
static struct {
    bool on;
    double speed;
    int64_t start_ms, offset_ms;
    struct error err; /* why SLUICE_TEST_CLOCK is wrong, or "" */
} test = {.speed = 1};
static pthread_once_t test_once = PTHREAD_ONCE_INIT;

/* One "speed=N" or "offset=[-]DURATION" item of `len` bytes. */
static int test_item(const char *item, size_t len, double *speed,
                     int64_t *offset_ms, struct error *err)
{
    char text[64];
    if (len >= sizeof text)
        return error_set(err, "SLUICE_TEST_CLOCK: an item is too long");
    memcpy(text, item, len);
    text[len] = '\0';
    if (strncmp(text, "speed=", 6) == 0) {
        char *end;
        double v = strtod(text + 6, &end);
        if (end == text + 6 || *end || !isfinite(v) || v <= 0 || v > 1e6)
            return error_set(err, "SLUICE_TEST_CLOCK: speed= expects a number "
                                  "above 0, at most 1000000");
        *speed = v;
        return 0;
    }
    if (strncmp(text, "offset=", 7) == 0) {
        bool minus = text[7] == '-';
        struct error why;
        if (parse_duration(text + 7 + minus, offset_ms, &why) < 0)
            return error_set(err, "SLUICE_TEST_CLOCK: offset=: %s",
                             why.message);
        if (minus)
            *offset_ms = -*offset_ms;
        return 0;
    }
    return error_set(err, "SLUICE_TEST_CLOCK: expected speed=N and/or "
                          "offset=[-]DURATION, separated by commas");
}

int clock_test_parse(const char *text, double *speed, int64_t *offset_ms,
                     struct error *err)
{
    *speed = 1;
    *offset_ms = 0;
    if (!*text)
        return error_set(err, "SLUICE_TEST_CLOCK: it is empty");
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        if (test_item(p, len, speed, offset_ms, err) < 0)
            return -1;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static void read_test_clock(void)
{
    const char *text = getenv("SLUICE_TEST_CLOCK");
    test.start_ms = clock_ms(CLOCK_REALTIME);
    test.err.message[0] = '\0';
    if (!text)
        return;
    test.on =
        clock_test_parse(text, &test.speed, &test.offset_ms, &test.err) == 0;
    if (!test.on) {
        test.speed = 1;
        test.offset_ms = 0;
    }
}

int clock_test_check(bool *on, struct error *err)
{
    pthread_once(&test_once, read_test_clock);
    *on = test.on;
    if (test.err.message[0]) {
        *err = test.err;
        return -1;
    }
    return 0;
}

bool clock_test(int64_t *start_ms, double *speed, int64_t *offset_ms)
{
    pthread_once(&test_once, read_test_clock);
    *start_ms = test.start_ms;
    *speed = test.speed;
    *offset_ms = test.offset_ms;
    return test.on;
}

int64_t clock_real_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t clock_now_ms(void)
{
    pthread_once(&test_once, read_test_clock);
    int64_t real = clock_ms(CLOCK_REALTIME);
    if (!test.on)
        return real;
    return test.start_ms +
           (int64_t)((double)(real - test.start_ms) * test.speed) +
           test.offset_ms;
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
