/* test_retention.c: the shipped retention plugin, loaded as the core loads
 * it, planning the worked example of spec/hub.md, under the machine's time
 * zone and under TZ=Asia/Tokyo (the dates are UTC dates either way). */
#include <stdlib.h>
#include <time.h>

#include "../test.h"
#include "maintenance/plan.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "util/mem.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

/* ms of Y-M-D h:00 UTC, without the C library's time zone. */
static int64_t utc(int y, int m, int d, int h)
{
    /* days from civil (Howard Hinnant's algorithm) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * DAY_MS + h * HOUR_MS;
}

static struct plugin *policy;

/* Publications at 03:00 and 15:00 UTC from 2023-11-20 to 2023-11-29. */
static size_t example(sluice_publication *pubs, sluice_consumption c)
{
    size_t n = 0;
    for (int day = 20; day <= 29; day++)
        for (int h = 3; h <= 15; h += 12) {
            int64_t at = utc(2023, 11, day, h);
            pubs[n] = (sluice_publication){
                (int64_t)n + 1, at, 10, c,
                c == SLUICE_CONSUMPTION_FINAL ? at : 0};
            n++;
        }
    return n;
}

static void run_plan(const sluice_publication *pubs, size_t n,
                     struct sluice_retention_plan *plan)
{
    sluice_retention_input in = {
        .size = sizeof in, .topic = "t", .consumed_retention_days = 1,
        .unconsumed_retention_days = 3,
        .job_time_ms = utc(2023, 11, 29, 23), .publications = pubs,
        .publication_count = n, .publication_size = sizeof *pubs};
    char msg[256] = "";
    sluice_error err = {msg, sizeof msg};
    void *inst = NULL;
    CHECK(policy->info.retention.open(NULL, NULL, &inst, &err) == SLUICE_OK);
    CHECK(policy->info.retention.plan(inst, &in, plan, &err) == SLUICE_OK);
    policy->info.retention.close(inst);
}

static int64_t cutoff(const struct sluice_retention_plan *plan,
                      const char *rule)
{
    for (size_t i = 0; i < plan->cutoff_count; i++)
        if (strcmp(plan->cutoffs[i].rule, rule) == 0)
            return plan->cutoffs[i].cutoff_ms;
    return -1;
}

static void worked_example(void)
{
    sluice_publication pubs[32];
    /* orders_raw: no subscription, nothing final: only rule 1 */
    size_t n = example(pubs, SLUICE_CONSUMPTION_PROCESSING);
    struct sluice_retention_plan plan = {0};
    run_plan(pubs, n, &plan);
    CHECK(cutoff(&plan, "unconsumed") == utc(2023, 11, 26, 0));
    CHECK(cutoff(&plan, "consumed") == -1);
    CHECK(plan.delete_count == 12); /* the 20th to the 25th */
    for (size_t i = 0; i < plan.delete_count; i++) {
        CHECK_STR(plan.deletes[i].rule, "unconsumed");
        CHECK(pubs[plan.deletes[i].publication_id - 1].published_at_ms <
              utc(2023, 11, 26, 0));
    }
    plan_free(&plan);

    /* orders: every event consumed: P = 11-28, C_cut = 11-27 */
    n = example(pubs, SLUICE_CONSUMPTION_FINAL);
    run_plan(pubs, n, &plan);
    CHECK(cutoff(&plan, "consumed") == utc(2023, 11, 27, 0));
    CHECK(plan.delete_count == 14); /* the 20th to the 26th */
    for (size_t i = 0; i < plan.delete_count; i++)
        CHECK_STR(plan.deletes[i].rule, "consumed");
    plan_free(&plan);

    /* not final events are left to rule 1 */
    pubs[13].consumption = SLUICE_CONSUMPTION_DELAYED; /* 11-26 15:00 */
    run_plan(pubs, n, &plan);
    CHECK(plan.delete_count == 13);
    for (size_t i = 0; i < plan.delete_count; i++)
        CHECK(plan.deletes[i].publication_id != 14);
    plan_free(&plan);
}

static void deterministic(void)
{
    sluice_publication pubs[32];
    size_t n = example(pubs, SLUICE_CONSUMPTION_FINAL);
    struct sluice_retention_plan a = {0}, b = {0};
    run_plan(pubs, n, &a);
    run_plan(pubs, n, &b);
    CHECK(a.delete_count == b.delete_count);
    for (size_t i = 0; i < a.delete_count && i < b.delete_count; i++)
        CHECK(a.deletes[i].publication_id == b.deletes[i].publication_id);
    plan_free(&a);
    plan_free(&b);
}

int main(void)
{
    struct registry reg;
    struct error err;
    registry_init(&reg);
    char *path = xasprintf("%s/retention.so", PLUGIN_DIR);
    if (registry_load_file(&reg, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    policy = registry_find(&reg, "retention");
    RUN(worked_example);
    RUN(deterministic);
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    RUN(worked_example);
    free(path);
    registry_free(&reg);
    return TEST_RESULT();
}
