/* test_rates.c: the rates of runtime/rates.h (the moving window, when it
 * is steady, the meter of rows written), what a table's progress shows
 * of them (lifecycle/pipes.h: the share and the ETA, and when they are
 * unknown), and bytes as people read them. */
#include <stdint.h>

#include "../test.h"
#include "lifecycle/figures.h"
#include "lifecycle/pipes.h"
#include "plugin/batch.h"
#include "runtime/counters.h"
#include "runtime/rates.h"
#include "util/units.h"

/* `n` samples a second apart from `at`, `per_s` rows a second from
 * `rows`; returns the rows at the last. */
static int64_t feed(struct rate_window *w, int64_t *at, int64_t rows,
                    int64_t per_s, int n)
{
    for (int i = 0; i < n; i++) {
        rate_window_add(w, *at, rows);
        *at += 1000;
        rows += per_s;
    }
    return rows - per_s;
}

static void window_steady(void)
{
    struct rate_window w;
    rate_window_reset(&w);
    bool steady = true;
    CHECK(rate_window_rate(&w, &steady) == 0 && !steady);
    int64_t at = 1000;
    /* 5 s are not enough to be steady, 6 samples (5 s between) are */
    int64_t rows = feed(&w, &at, 0, 5000, 5);
    CHECK(rate_window_rate(&w, &steady) == 5000 && !steady);
    rows = feed(&w, &at, rows + 5000, 5000, 1);
    CHECK(rate_window_rate(&w, &steady) == 5000 && steady);
    /* ten seconds of samples: the rate is that of the last ten */
    rows = feed(&w, &at, rows + 5000, 5000, 10);
    CHECK(w.count == RATE_SAMPLES);
    rows = feed(&w, &at, rows + 1000, 1000, 3);
    int64_t r = rate_window_rate(&w, &steady);
    CHECK(r == (7 * 5000 + 3 * 1000) / 10);
    CHECK(!steady); /* falling: its halves differ */
    rows = feed(&w, &at, rows + 1000, 1000, 7);
    CHECK(rate_window_rate(&w, &steady) == 1000 && steady);
    /* a stall: no ETA at once, 0 after the window's length */
    feed(&w, &at, rows, 0, 6);
    CHECK(rate_window_rate(&w, &steady) > 0 && !steady);
    feed(&w, &at, rows, 0, 5);
    CHECK(rate_window_rate(&w, &steady) == 0 && !steady);
    CHECK(w.count == 1);
}

/* The window begins with the first rows written, so the seconds before
 * (a snapshot planning its partitions) do not lower the rate, and an
 * uneven start within RATE_STEADY_RATIO is steady. */
static void window_start(void)
{
    struct rate_window w;
    rate_window_reset(&w);
    int64_t at = 0;
    bool steady;
    feed(&w, &at, 700, 0, 4);
    CHECK(w.count == 1 && rate_window_rate(&w, &steady) == 0);
    int64_t rows = feed(&w, &at, 700 + 3000, 3000, 3);
    rows = feed(&w, &at, rows + 4000, 4000, 3);
    CHECK(rate_window_rate(&w, &steady) == (3 * 3000 + 3 * 4000) / 6);
    CHECK(steady);
    /* twice as fast in the newer half: not steady */
    rate_window_reset(&w);
    at = 0;
    rows = feed(&w, &at, 0, 2000, 4);
    feed(&w, &at, rows + 4000, 4000, 3);
    CHECK(rate_window_rate(&w, &steady) == (3 * 2000 + 3 * 4000) / 6);
    CHECK(!steady);
    /* a reset starts from nothing */
    rate_window_reset(&w);
    rate_window_add(&w, at, rows);
    CHECK(rate_window_rate(&w, &steady) == 0 && !steady);
}

/* The meter: rows of the delivery under way as its tally grows, kept
 * when it ends, whatever its outcome. */
static void meter(void)
{
    struct meter m;
    meter_init(&m);
    struct sluice_batch b;
    batch_init(&b, 100, 1 << 20);
    for (int i = 0; i < 3; i++) {
        sluice_record r = {.size = sizeof r,
                           .op = SLUICE_OP_SNAPSHOT,
                           .table = i < 2 ? "x" : "y",
                           .table_len = 1,
                           .key = "k",
                           .key_len = 1};
        CHECK(batch_add(&b, &r, NULL) == SLUICE_OK);
    }
    struct counters_tally t = {0};
    counters_tally_batch(&t, &b);
    meter_group(&m, &t);
    CHECK(meter_rows(&m, "x") == 2 && meter_rows(&m, "y") == 1);
    counters_tally_batch(&t, &b);
    meter_group(&m, &t);
    CHECK(meter_rows(&m, "x") == 4 && meter_rows(&m, "y") == 2);
    meter_group_end(&m);
    counters_tally_free(&t);
    counters_tally_batch(&t, &b);
    meter_group(&m, &t);
    CHECK(meter_rows(&m, "x") == 6 && meter_rows(&m, "y") == 3);
    CHECK(meter_rows(&m, "z") == 0);
    counters_tally_free(&t);
    batch_free(&b);
    meter_free(&m);
}

static void progress_of(const struct pipe_row *p, const struct pipe_table *t,
                        int64_t rows, int64_t permille, int64_t eta_s)
{
    struct table_progress pr;
    pipe_table_progress(p, t, &pr);
    CHECK(pr.rows == rows);
    CHECK(pr.permille == permille);
    CHECK(pr.eta_s == eta_s);
}

static void table_progress(void)
{
    struct pipe_table t = {.name = "x",
                           .status = TABLE_ACTIVE,
                           .rows_copied = 20000,
                           .rows_pending = 6000,
                           .bytes_copied = 100,
                           .bytes_pending = 50,
                           .rows_estimated = 80000,
                           .rows_per_s = 5000,
                           .rate_steady = true};
    struct pipe_row p = {.name = "p",
                         .state = STATE_SNAPSHOT,
                         .context = CONTEXT_INITIAL,
                         .tables = &t,
                         .table_count = 1};
    struct table_progress pr;
    pipe_table_progress(&p, &t, &pr);
    CHECK(pr.bytes == 150);
    progress_of(&p, &t, 26000, 325, 11); /* 54000 left: 10.8 s */
    CHECK(pipe_rows(&p, true) == 26000 && pipe_rows(&p, false) == 20000);
    t.rate_steady = false; /* a share, no ETA */
    progress_of(&p, &t, 26000, 325, -1);
    t.rate_steady = true;
    t.rows_estimated = 25000; /* past the estimate: neither */
    progress_of(&p, &t, 26000, -1, -1);
    t.rows_estimated = 26000;
    progress_of(&p, &t, 26000, 1000, 0);
    t.rows_estimated = -1; /* no estimate */
    progress_of(&p, &t, 26000, -1, -1);
    t.rows_estimated = 80000;
    p.state = STATE_RUNNING; /* not loading: neither */
    progress_of(&p, &t, 26000, -1, -1);
    p.state = STATE_SNAPSHOT; /* tables added: only they load */
    p.context = CONTEXT_ADD;
    progress_of(&p, &t, 26000, -1, -1);
    t.status = TABLE_ADDING;
    progress_of(&p, &t, 26000, 325, 11);

    char out[32];
    figure_percent(325, out, sizeof out);
    CHECK_STR(out, "32.5%");
    figure_percent(-1, out, sizeof out);
    CHECK_STR(out, "-");
    figure_bytes(57600000, false, out, sizeof out);
    CHECK_STR(out, "54.9MiB");
    figure_bytes(57600000, true, out, sizeof out);
    CHECK_STR(out, "57600000");
}

static void bytes(void)
{
    struct {
        int64_t bytes;
        const char *text;
    } cases[] = {{0, "0B"},
                 {1023, "1023B"},
                 {1024, "1.0KiB"},
                 {1536, "1.5KiB"},
                 {1048524, "1023.9KiB"},
                 {1048525, "1.0MiB"},
                 {1150000000, "1.1GiB"},
                 {INT64_MAX, "8.0EiB"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[32];
        format_bytes(cases[i].bytes, out, sizeof out);
        CHECK_STR(out, cases[i].text);
    }
}

int main(void)
{
    RUN(window_steady);
    RUN(window_start);
    RUN(meter);
    RUN(table_progress);
    RUN(bytes);
    return TEST_RESULT();
}
