/* test_units.c: the text forms of durations, sizes, times of day,
 * booleans and integers, both ways. */
#include <stdint.h>

#include "../test.h"
#include "util/units.h"

static void durations(void)
{
    struct {
        const char *text;
        int64_t ms;
    } good[] = {{"60s", 60000},   {"5m", 300000}, {"1h", 3600000},
                {"500ms", 500},   {"2d", 172800000}, {"1h30m", 5400000},
                {"90", 90000},    {"0s", 0}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t ms = -1;
        struct error err;
        CHECK(parse_duration(good[i].text, &ms, &err) == 0);
        CHECK(ms == good[i].ms);
    }
    const char *bad[] = {"", "s", "5 m", "5x", "-5s", "1.5h", "5m3",
                         "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        struct error err = {0};
        CHECK(parse_duration(bad[i], &ms, &err) < 0);
        CHECK(err.message[0] != '\0');
    }
    char out[32];
    format_duration(5400000, out, sizeof out);
    CHECK_STR(out, "1h30m");
    format_duration(1500, out, sizeof out);
    CHECK_STR(out, "1s500ms");
}

static void sizes(void)
{
    struct {
        const char *text;
        int64_t bytes;
    } good[] = {{"16MiB", 16 << 20}, {"512", 512},         {"64KiB", 65536},
                {"10MB", 10000000},  {"16M", 16 << 20},    {"1GiB", 1 << 30},
                {"2 kib", 2048},     {"100B", 100}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t b = -1;
        struct error err;
        CHECK(parse_size(good[i].text, &b, &err) == 0);
        CHECK(b == good[i].bytes);
    }
    struct error err;
    int64_t b;
    CHECK(parse_size("16XB", &b, &err) < 0);
    CHECK_CONTAINS(err.message, "unknown size unit");
    CHECK(parse_size("MiB", &b, &err) < 0);
    CHECK(parse_size("99999999999TiB", &b, &err) < 0);
    CHECK_CONTAINS(err.message, "too large");
    char out[32];
    format_size(64 << 20, out, sizeof out);
    CHECK_STR(out, "64MiB");
    format_size(1000, out, sizeof out);
    CHECK_STR(out, "1000B");
}

static void times_of_day(void)
{
    int64_t s;
    struct error err;
    CHECK(parse_time_of_day("23:00", &s, &err) == 0 && s == 82800);
    CHECK(parse_time_of_day("00:00:30", &s, &err) == 0 && s == 30);
    CHECK(parse_time_of_day("24:00", &s, &err) < 0);
    CHECK_CONTAINS(err.message, "out of range");
    CHECK(parse_time_of_day("7:00", &s, &err) < 0);
    CHECK(parse_time_of_day("11pm", &s, &err) < 0);
    char out[16];
    format_time_of_day(82800, out, sizeof out);
    CHECK_STR(out, "23:00");
}

static void booleans_and_integers(void)
{
    bool b;
    int64_t v;
    struct error err;
    CHECK(parse_bool("yes", &b, &err) == 0 && b);
    CHECK(parse_bool("OFF", &b, &err) == 0 && !b);
    CHECK(parse_bool("maybe", &b, &err) < 0);
    CHECK(parse_int("-42", &v, &err) == 0 && v == -42);
    CHECK(parse_int("4x", &v, &err) < 0);
    CHECK(parse_int(" 4", &v, &err) < 0);
    CHECK(parse_int("99999999999999999999", &v, &err) < 0);
    CHECK_CONTAINS(err.message, "64 bits");
}

int main(void)
{
    RUN(durations);
    RUN(sizes);
    RUN(times_of_day);
    RUN(booleans_and_integers);
    return TEST_RESULT();
}
