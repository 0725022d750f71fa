/* test_clock.c URL: the test clock (SLUICE_TEST_CLOCK, util/clock.h): its
 * text, sluice's clock and the store's {{now}} following it, and what
 * stays real: {{real_now}} and the leases' expiry. The variable is set
 * here, before the clock is first read. */
#include <stdint.h>
#include <stdlib.h>

#include "../test.h"
#include "store/leases.h"
#include "store/store.h"
#include "util/clock.h"

#define SPEED 1000
#define DAY_MS 86400000LL

static void text(void)
{
    double speed;
    int64_t offset;
    struct error err;
    CHECK(clock_test_parse("speed=1440", &speed, &offset, &err) == 0);
    CHECK(speed == 1440 && offset == 0);
    CHECK(clock_test_parse("offset=-2d,speed=0.5", &speed, &offset, &err) ==
          0);
    CHECK(speed == 0.5 && offset == -2 * DAY_MS);
    CHECK(clock_test_parse("offset=1h", &speed, &offset, &err) == 0);
    CHECK(speed == 1 && offset == 3600000);
    const char *bad[] = {"",         "speed=",      "speed=0",  "speed=-2",
                         "speed=2x", "speed=1e7",   "fast=2",   "offset=5x",
                         "speed=2,", "offset=--1d", "speed=nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.message[0] = '\0';
        CHECK(clock_test_parse(bad[i], &speed, &offset, &err) < 0);
        CHECK_CONTAINS(err.message, "SLUICE_TEST_CLOCK");
    }
}

/* sluice's time for a real one, by the test clock's parameters. */
static int64_t sluice_time(int64_t real)
{
    int64_t start, offset;
    double speed;
    CHECK(clock_test(&start, &speed, &offset));
    return start + (int64_t)((double)(real - start) * speed) + offset;
}

static void core_clock(void)
{
    bool on = false;
    struct error err;
    CHECK(clock_test_check(&on, &err) == 0 && on);
    int64_t r0 = clock_real_ms(), now = clock_now_ms(), r1 = clock_real_ms();
    CHECK(now >= sluice_time(r0) && now <= sluice_time(r1));
    /* a day behind the real time, and running SPEED times as fast */
    CHECK(now < r0 - DAY_MS / 2);
    int64_t m0 = clock_monotonic_ms();
    sleep_ms(50);
    int64_t later = clock_now_ms(), m1 = clock_monotonic_ms();
    CHECK(later - now >= (m1 - m0 - 5) * SPEED);
}

static void store_clock(const char *url)
{
    struct store *s;
    struct error err;
    if (store_open(url, STORE_CREATE, &s, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        CHECK(!"store_open");
        return;
    }
    int64_t a = clock_now_ms(), ra = clock_real_ms();
    struct db_result r;
    CHECK(store_exec(s, "SELECT {{now}}, {{real_now}}", NULL, 0, &r, &err) ==
          0);
    int64_t b = clock_now_ms(), rb = clock_real_ms();
    int64_t now = db_int(&r, 0, 0), real = db_int(&r, 0, 1);
    db_result_free(&r);
    /* the server's clock has ms steps (and rounds) */
    CHECK(now >= a - 2 * SPEED && now <= b + 2 * SPEED);
    CHECK(real >= ra - 2 && real <= rb + 2);

    /* a lease of 60 s is 60 real seconds: not over after 100 ms (that is
     * 100 s of sluice's time) */
    bool held = false;
    CHECK(lease_acquire(s, "clock", "w1", 60000, &held, &err) == 0 && held);
    sleep_ms(100);
    char *owner = NULL;
    int64_t left = 0;
    CHECK(lease_holder(s, "clock", &owner, &left, &err) == 0);
    CHECK(owner && !strcmp(owner, "w1"));
    CHECK(left > 30000 && left <= 60000);
    free(owner);
    CHECK(lease_acquire(s, "clock", "w2", 60000, &held, &err) == 0 && !held);
    store_close(s);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_clock URL\n");
        return 2;
    }
    setenv("SLUICE_TEST_CLOCK", "speed=1000,offset=-1d", 1);
    text();
    core_clock();
    store_clock(argv[1]);
    return TEST_RESULT();
}
