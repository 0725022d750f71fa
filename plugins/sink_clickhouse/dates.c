/* dates.c: times as text: ISO 8601 read into milliseconds since 1970
 * (UTC), and written back as ClickPipes writes dates
 * (2024-01-02T03:04:05.678Z); days since 1970 as a calendar date. The
 * calendar is the proleptic Gregorian one, by Howard Hinnant's
 * days_from_civil, so no time zone of the machine is involved. */
#include <stdio.h>
#include <string.h>

#include "clickhouse.h"

#define MS_PER_DAY 86400000LL

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ch_civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

/* `n` digits at *p, moved past them; -1 when they are not there. */
static int64_t digits(const char **p, const char *end, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static bool at(const char *p, const char *end, char c)
{
    return p < end && *p == c;
}

/* [Z | +HH[:MM] | -HH[:MM] | +HHMM]: the offset in minutes. */
static bool read_offset(const char **p, const char *end, int64_t *minutes)
{
    *minutes = 0;
    if (at(*p, end, 'Z') || at(*p, end, 'z')) {
        (*p)++;
        return true;
    }
    if (!at(*p, end, '+') && !at(*p, end, '-'))
        return true;
    int sign = **p == '-' ? -1 : 1;
    (*p)++;
    int64_t h = digits(p, end, 2), m = 0;
    if (h < 0 || h > 23)
        return false;
    if (at(*p, end, ':'))
        (*p)++;
    if (*p < end && (m = digits(p, end, 2)) < 0)
        return false;
    *minutes = sign * (h * 60 + m);
    return m < 60;
}

bool ch_iso_parse(const char *text, size_t len, int64_t *ms)
{
    const char *p = text, *end = text + len;
    int64_t y = digits(&p, end, 4), mo = -1, d = -1;
    if (y >= 0 && at(p, end, '-') && (p++, (mo = digits(&p, end, 2)) >= 0) &&
        at(p, end, '-'))
        p++, d = digits(&p, end, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    int64_t days = days_from_civil(y, mo, d);
    int year, month, day; /* 2024-02-30 is no date */
    ch_civil_from_days(days, &year, &month, &day);
    if (day != d)
        return false;
    int64_t h = 0, mi = 0, s = 0, frac = 0, offset = 0;
    if (at(p, end, 'T') || at(p, end, 't') || at(p, end, ' ')) {
        p++;
        if ((h = digits(&p, end, 2)) < 0 || h > 23 || !at(p, end, ':'))
            return false;
        p++;
        if ((mi = digits(&p, end, 2)) < 0 || mi > 59)
            return false;
        if (at(p, end, ':')) {
            p++;
            if ((s = digits(&p, end, 2)) < 0 || s > 60)
                return false;
        }
        if (at(p, end, '.')) { /* milliseconds; finer digits dropped */
            p++;
            int n = 0;
            for (; p < end && *p >= '0' && *p <= '9'; p++, n++)
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
            if (!n)
                return false;
            for (; n < 3; n++)
                frac *= 10;
        }
        if (!read_offset(&p, end, &offset))
            return false;
    }
    if (p != end)
        return false;
    *ms = days * MS_PER_DAY + ((h * 60 + mi - offset) * 60 + s) * 1000 + frac;
    return true;
}

/* Floor division: times before 1970 round down, to the day before. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t ch_days_of(int64_t ms)
{
    return floor_div(ms, MS_PER_DAY);
}

void ch_iso_format(int64_t ms, char *out, size_t size)
{
    int64_t days = ch_days_of(ms), rest = ms - days * MS_PER_DAY;
    int y, m, d;
    ch_civil_from_days(days, &y, &m, &d);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
             (int)(rest / 3600000), (int)(rest / 60000 % 60),
             (int)(rest / 1000 % 60), (int)(rest % 1000));
}

void ch_date_format(int64_t days, char *out, size_t size)
{
    int y, m, d;
    ch_civil_from_days(days, &y, &m, &d);
    snprintf(out, size, "%04d-%02d-%02d", y, m, d);
}
