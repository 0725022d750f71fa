/* test_units.c: the text forms of durations, sizes, times of day,
 * booleans and integers, both ways; UTF-8 sequences, JSON strings that
 * stay valid whatever the bytes, and text made safe for a man page. */
#include <stdint.h>

#include "../test.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/roff.h"
#include "util/units.h"
#include "util/utf8.h"

static void durations(void)
{
    struct {
        const char *text;
        int64_t ms;
    } good[] = {{"60s", 60000}, {"5m", 300000},    {"1h", 3600000},
                {"500ms", 500}, {"2d", 172800000}, {"1h30m", 5400000},
                {"90", 90000},  {"0s", 0}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t ms = -1;
        struct error err;
        CHECK(parse_duration(good[i].text, &ms, &err) == 0);
        CHECK(ms == good[i].ms);
    }
    const char *bad[] = {"",    "s",    "5 m", "5x",
                         "-5s", "1.5h", "5m3", "99999999999999999999d"};
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
    } good[] = {{"16MiB", 16 << 20}, {"512", 512},      {"64KiB", 65536},
                {"10MB", 10000000},  {"16M", 16 << 20}, {"1GiB", 1 << 30},
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

static void utf8_sequences(void)
{
    static const struct {
        const char *bytes;
        size_t len, want;
    } cases[] = {
        {"a", 1, 1},
        {"\xc3\xbc", 2, 2},
        {"\xc3", 1, 0},
        {"\xbc", 1, 0},
        {"\xc0\xaf", 2, 0}, /* overlong */
        {"\xe2\x82\xac", 3, 3},
        {"\xed\xa0\x80", 3, 0}, /* surrogate */
        {"\xf0\x9f\x98\x80", 4, 4},
        {"\xf4\x90\x80\x80", 4, 0},
        {"\xe2\x82", 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(utf8_sequence(cases[i].bytes, cases[i].len) == cases[i].want);
    /* a character cut in half at the end is dropped whole */
    CHECK(utf8_whole("ab\xc3\xbc", 4) == 4);
    CHECK(utf8_whole("ab\xc3\xbc", 3) == 2);
    CHECK(utf8_whole("a\xf0\x9f\x98", 4) == 1);
    CHECK(utf8_whole("abc", 3) == 3);
    struct buf b = {0};
    json_string_n(&b, "x\xc3\"\xff\xc3\xbc\n", 7);
    CHECK_STR(b.data, "\"x\xef\xbf\xbd\\\"\xef\xbf\xbd\xc3\xbc\\n\"");
    buf_free(&b);
}

/* Text in a man page reads as text: no request, no escape, '-' as the
 * minus of an option, characters outside ASCII named. */
static void roff_texts(void)
{
    struct {
        const char *text, *roff;
    } cases[] = {
        {"--store URL", "\\-\\-store URL"},
        {"a\\b", "a\\eb"},
        {".TH x\n'br\nnot. a request", "\\&.TH x\n\\&'br\nnot. a request"},
        {"caf\xc3\xa9 \xe2\x86\x92", "caf\\[u00E9] \\[u2192]"},
        {"x\xffy", "x\\[uFFFD]y"},
        {"tab\there\x1b[1m", "tab here[1m"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct buf b = {0};
        roff_text(cases[i].text, &b);
        buf_puts(&b, "");
        CHECK_STR(b.data, cases[i].roff);
        buf_free(&b);
    }
}

int main(void)
{
    RUN(durations);
    RUN(sizes);
    RUN(times_of_day);
    RUN(booleans_and_integers);
    RUN(utf8_sequences);
    RUN(roff_texts);
    return TEST_RESULT();
}
