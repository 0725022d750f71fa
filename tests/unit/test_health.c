/* test_health.c: the /health page of a view, at the edges of its
 * thresholds: each reason starts when its threshold is reached and not
 * before, a paused or completed pipe is ok, a failed pipe outweighs a
 * degraded one, a run of retries of unknown start (a store migrated in
 * the middle of one) degrades nothing, and a store that cannot be read
 * makes every pipe unknown. The pages as sluice run serves them:
 * tests/runtime/test_health.sh. */
#include <stdlib.h>

#include "../test.h"
#include "runtime/health.h"
#include "util/mem.h"

#define NOW 1800000000000LL

static const struct health_limits limits = {60000, 300000, 120000};

/* A pipe `name` in `state` since `since_ms` before NOW, with one table. */
static struct pipe_view pipe_in(const char *name, enum pipe_state state,
                                int64_t since_ms)
{
    struct pipe_view pv = {0};
    pv.row.name = xstrdup(name);
    pv.row.state = state;
    pv.row.state_since = NOW - since_ms;
    pv.row.tables = xcalloc(2, sizeof *pv.row.tables);
    pv.row.tables[0].name = xstrdup("items");
    pv.row.tables[0].note = xstrdup("");
    pv.row.tables[0].lag_ms = -1;
    pv.row.table_count = 1;
    return pv;
}

/* The page of one pipe: its status, and its page in *page (freed by the
 * caller). */
static enum health_status page_of(struct pipe_view pv, char **page)
{
    const char *names[] = {pv.row.name};
    struct view v = {.now_ms = NOW,
                     .names = names,
                     .name_count = 1,
                     .store_ok = true,
                     .pipes = &pv,
                     .count = 1};
    struct buf b = {0};
    enum health_status st = health_page(&v, &limits, &b);
    *page = buf_take(&b);
    pipe_row_free(&pv.row);
    return st;
}

static void check_page(struct pipe_view pv, enum health_status want,
                       const char *contains)
{
    char *page;
    enum health_status st = page_of(pv, &page);
    if (st != want)
        fprintf(stderr, "  page: %s", page);
    CHECK(st == want);
    if (contains)
        CHECK_CONTAINS(page, contains);
    free(page);
}

static struct pipe_view retrying(int64_t for_ms)
{
    struct pipe_view pv = pipe_in("p", STATE_RUNNING, 3600000);
    pv.row.retry_count = 4;
    pv.row.retrying_since = NOW - for_ms;
    pv.row.last_error = xstrdup("sink_x.write: refused");
    return pv;
}

static void thresholds(void)
{
    check_page(pipe_in("p", STATE_RUNNING, 3600000), HEALTH_OK,
               "{\"status\":\"ok\",\"reasons\":[],\"store\":{\"status\":"
               "\"ok\"},\"pipes\":{\"p\":{\"status\":\"ok\",\"reasons\":[],"
               "\"state\":\"running\"");
    check_page(retrying(59999), HEALTH_OK, "\"retries\":4");
    check_page(retrying(60000), HEALTH_DEGRADED,
               "\"reasons\":[\"pipe p: retrying for 1m (4 retries; "
               "health_max_retrying is 1m): sink_x.write: refused\"]");
    /* a run of retries whose start the store does not know */
    struct pipe_view unknown = retrying(3600000);
    unknown.row.retrying_since = 0;
    check_page(unknown, HEALTH_OK, "\"retrying_since\":null");

    check_page(pipe_in("p", STATE_SETUP, 299999), HEALTH_OK, NULL);
    check_page(pipe_in("p", STATE_SETUP, 305500), HEALTH_DEGRADED,
               "pipe p: in setup for 5m5s (health_max_setup is 5m)");
    check_page(pipe_in("p", STATE_PROVISIONING, 300000), HEALTH_DEGRADED,
               "in provisioning for 5m");
    check_page(pipe_in("p", STATE_SNAPSHOT, 3600000), HEALTH_OK, NULL);

    struct pipe_view lag = pipe_in("p", STATE_RUNNING, 3600000);
    lag.row.tables[0].lag_ms = 120000;
    check_page(lag, HEALTH_OK, "\"lag_ms\":120000");
    lag = pipe_in("p", STATE_RUNNING, 3600000);
    lag.row.tables[0].lag_ms = 121000;
    check_page(lag, HEALTH_DEGRADED,
               "pipe p: table items: lag 2m1s, above health_max_lag (2m)");
}

static void states(void)
{
    check_page(pipe_in("p", STATE_PAUSED, 86400000), HEALTH_OK, NULL);
    check_page(pipe_in("p", STATE_COMPLETED, 86400000), HEALTH_OK, NULL);
    struct pipe_view failed = pipe_in("p", STATE_FAILED, 1000);
    failed.row.last_error = xstrdup("change history lost");
    check_page(failed, HEALTH_FAILING,
               "{\"status\":\"failing\",\"reasons\":[\"pipe p: failed: "
               "change history lost\"]");
    struct pipe_view table = pipe_in("p", STATE_RUNNING, 1000);
    table.row.tables[0].status = TABLE_FAILED;
    free(table.row.tables[0].note);
    table.row.tables[0].note = xstrdup("refused by the sink");
    check_page(table, HEALTH_DEGRADED,
               "\"failed_tables\":{\"items\":\"refused by the sink\"}");
}

/* The worst pipe decides; each keeps its own status and reasons. */
static void worst_of(void)
{
    struct pipe_view pipes[3] = {pipe_in("a", STATE_RUNNING, 1000),
                                 retrying(120000),
                                 pipe_in("c", STATE_FAILED, 1000)};
    const char *names[] = {"a", "p", "c", "gone"};
    struct view v = {.now_ms = NOW,
                     .names = names,
                     .name_count = 4,
                     .store_ok = true,
                     .pipes = pipes,
                     .count = 3};
    struct buf b = {0};
    CHECK(health_page(&v, &limits, &b) == HEALTH_FAILING);
    CHECK_CONTAINS(b.data, "{\"status\":\"failing\",\"reasons\":[\"pipe p: "
                           "retrying for 2m");
    CHECK_CONTAINS(b.data, "\"pipe c: failed: no error recorded\"]");
    CHECK_CONTAINS(b.data, "\"a\":{\"status\":\"ok\"");
    CHECK_CONTAINS(b.data, "\"p\":{\"status\":\"degraded\"");
    CHECK_CONTAINS(b.data, "\"c\":{\"status\":\"failing\"");
    buf_free(&b);
    for (size_t i = 0; i < 3; i++)
        pipe_row_free(&pipes[i].row);
}

static void store_unavailable(void)
{
    const char *names[] = {"a", "b"};
    struct view v;
    view_unavailable(names, 2, NOW,
                     "store postgresql://u:secret@db/s: connection refused",
                     &v);
    struct buf b = {0};
    CHECK(health_page(&v, &limits, &b) == HEALTH_FAILING);
    CHECK_STR(b.data,
              "{\"status\":\"failing\",\"reasons\":[\"store "
              "postgresql://u:********@db/s: connection refused\"],"
              "\"store\":{\"status\":\"failing\",\"error\":\"store "
              "postgresql://u:********@db/s: connection refused\"},"
              "\"pipes\":{\"a\":{\"status\":\"unknown\"},\"b\":{\"status\":"
              "\"unknown\"}}}\n");
    buf_free(&b);
    view_free(&v);
}

int main(void)
{
    RUN(thresholds);
    RUN(states);
    RUN(worst_of);
    RUN(store_unavailable);
    return TEST_RESULT();
}
