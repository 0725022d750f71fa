/* test_retention.c: the shipped retention plugin, loaded as the core loads
 * it, planning the worked example of spec/hub.md (with its subscription
 * stopped and caught up on the job's day), consumption on the job's day,
 * a back-fill as of a past date, and the input of a core older than ABI
 * 1.2; each plan also paged as an ABI 1.2 core pages a topic, the same
 * plan page by page; under the machine's time zone and under TZ=Asia/Tokyo
 * (the dates are UTC dates either way). */
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "../test.h"
#include "plugin/host.h"
#include "plugin/plan.h"
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
            pubs[n] =
                (sluice_publication){(int64_t)n + 1, at, 10, c,
                                     c == SLUICE_CONSUMPTION_FINAL ? at : 0};
            n++;
        }
    return n;
}

/* One plan call. */
static void plan_input(const sluice_retention_input *in,
                       struct sluice_retention_plan *plan)
{
    char msg[256] = "";
    sluice_error err = {msg, sizeof msg};
    void *inst = NULL;
    CHECK(policy->info.retention.open(NULL, NULL, &inst, &err) == SLUICE_OK);
    CHECK(policy->info.retention.plan(inst, in, plan, &err) == SLUICE_OK);
    policy->info.retention.close(inst);
}

/* What the core gives as newest_final: the newest event published and
 * final before 00:00 UTC of the job's date. */
static const sluice_publication *newest_final(const sluice_publication *pubs,
                                              size_t n, int64_t job)
{
    int64_t d = job - (job % DAY_MS + DAY_MS) % DAY_MS;
    const sluice_publication *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (pubs[i].published_at_ms < d &&
            pubs[i].consumption == SLUICE_CONSUMPTION_FINAL &&
            pubs[i].final_at_ms < d &&
            (!best || pubs[i].published_at_ms > best->published_at_ms ||
             (pubs[i].published_at_ms == best->published_at_ms &&
              pubs[i].id > best->id)))
            best = &pubs[i];
    return best;
}

/* The plan of an ABI 1.2 core paging the topic `per_page` events at a
 * time is the whole topic's plan, page by page: each page has the same
 * cutoffs, and its deletes are the next ones of `whole`. */
static void check_paged(const sluice_publication *pubs, size_t n, int64_t job,
                        size_t per_page,
                        const struct sluice_retention_plan *whole)
{
    CHECK(policy->capabilities & SLUICE_RETENTION_PAGED);
    size_t next = 0;
    uint64_t page = 0;
    for (size_t at = 0; at < n || page == 0; at += per_page, page++) {
        size_t count = n - at < per_page ? n - at : per_page;
        sluice_retention_input in = {.size = sizeof in,
                                     .topic = "t",
                                     .consumed_retention_days = 1,
                                     .unconsumed_retention_days = 3,
                                     .job_time_ms = job,
                                     .publications = pubs + at,
                                     .publication_count = count,
                                     .publication_size = sizeof *pubs,
                                     .page = page,
                                     .last_page = at + count >= n,
                                     .topic_publication_count = n,
                                     .topic_records = 10 * n,
                                     .newest_final =
                                         newest_final(pubs, n, job)};
        struct sluice_retention_plan plan = {0};
        plan_input(&in, &plan);
        CHECK(plan.cutoff_count == whole->cutoff_count);
        for (size_t i = 0; i < plan.cutoff_count; i++)
            CHECK(plan.cutoffs[i].cutoff_ms == whole->cutoffs[i].cutoff_ms);
        for (size_t i = 0; i < plan.delete_count; i++, next++) {
            CHECK(next < whole->delete_count);
            if (next >= whole->delete_count)
                break;
            CHECK(plan.deletes[i].publication_id ==
                  whole->deletes[next].publication_id);
            CHECK_STR(plan.deletes[i].rule, whole->deletes[next].rule);
        }
        plan_free(&plan);
        if (n == 0)
            break;
    }
    CHECK(next == whole->delete_count);
}

/* The plan for `n` publications of `size` bytes each at `pubs`, the whole
 * topic at once as a core before ABI 1.2 gives it (the plugin finds P
 * itself); checked against the plans of the pages an ABI 1.2 core gives,
 * of 1, 3 and 7 events. */
static void plan_sized(const void *pubs, size_t n, size_t size, int64_t job,
                       struct sluice_retention_plan *plan)
{
    sluice_retention_input in = {.size =
                                     offsetof(sluice_retention_input, page),
                                 .topic = "t",
                                 .consumed_retention_days = 1,
                                 .unconsumed_retention_days = 3,
                                 .job_time_ms = job,
                                 .publications = pubs,
                                 .publication_count = n,
                                 .publication_size = size};
    plan_input(&in, plan);
    if (size != sizeof(sluice_publication))
        return; /* an ABI 1.2 core gives final_at_ms */
    size_t pages[] = {1, 3, 7, n + 1};
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++)
        check_paged(pubs, n, job, pages[i], plan);
}

static void run_plan(const sluice_publication *pubs, size_t n,
                     struct sluice_retention_plan *plan)
{
    plan_sized(pubs, n, sizeof *pubs, utc(2023, 11, 29, 23), plan);
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

/* The example, its subscription stopped since `stopped` and caught up at
 * `caught_up`: events published before it final at once, the others
 * final since `caught_up`. */
static size_t caught_up(sluice_publication *pubs, int64_t stopped,
                        int64_t caught_up)
{
    size_t n = example(pubs, SLUICE_CONSUMPTION_FINAL);
    for (size_t i = 0; i < n; i++)
        if (pubs[i].published_at_ms > stopped)
            pubs[i].final_at_ms = caught_up;
    return n;
}

/* The plan of a job at `job` has these cutoffs (-1: none) and deletes
 * `count` events, all under `rule` and published before `before`. */
static void check_plan(const sluice_publication *pubs, size_t n, int64_t job,
                       int64_t consumed_cut, int64_t unconsumed_cut,
                       const char *rule, int64_t before, size_t count)
{
    struct sluice_retention_plan plan = {0};
    plan_sized(pubs, n, sizeof *pubs, job, &plan);
    CHECK(cutoff(&plan, "consumed") == consumed_cut);
    CHECK(cutoff(&plan, "unconsumed") == unconsumed_cut);
    CHECK(plan.delete_count == count);
    for (size_t i = 0; i < plan.delete_count; i++) {
        CHECK_STR(plan.deletes[i].rule, rule);
        CHECK(pubs[plan.deletes[i].publication_id - 1].published_at_ms <
              before);
    }
    plan_free(&plan);
}

/* Consumed on the job's own day (11-29 10:00): nothing was final before
 * D, so the consumed rule sets no cutoff and deletes nothing; rule 1
 * alone deletes the 20th to the 25th. */
static void consumed_on_the_jobs_day(void)
{
    sluice_publication pubs[32];
    int64_t job = utc(2023, 11, 29, 23), u_cut = utc(2023, 11, 26, 0);
    size_t n = caught_up(pubs, utc(2023, 11, 19, 0), utc(2023, 11, 29, 10));
    check_plan(pubs, n, job, -1, u_cut, "unconsumed", u_cut, 12);
    /* one event consumed the day before (published 11-28 15:00): the
     * consumed rule is back, anchored on it (P = 11-28, C_cut = 11-27),
     * but only that one was final before D: the rest is rule 1's */
    pubs[17].final_at_ms = utc(2023, 11, 28, 23);
    check_plan(pubs, n, job, utc(2023, 11, 27, 0), u_cut, "unconsumed", u_cut,
               12);
}

/* spec/hub.md: the subscription of `orders` stopped since 11-27 12:00 and
 * caught up at 11-29 22:00: P = 11-27, C_cut = 11-26, and the events it
 * consumed on the 29th are kept. */
static void stopped_and_caught_up(void)
{
    sluice_publication pubs[32];
    int64_t cut = utc(2023, 11, 26, 0);
    size_t n = caught_up(pubs, utc(2023, 11, 27, 12), utc(2023, 11, 29, 22));
    check_plan(pubs, n, utc(2023, 11, 29, 23), cut, cut, "consumed", cut, 12);
}

/* A back-fill as of 11-25 23:00 of a subscription that stopped at 11-23
 * 12:00 and caught up at 11-29 22:00: P = 11-23 and C_cut = 11-22, as a
 * job run on the 25th planned, whether the core gives the consumption as
 * it is now (final since the 29th) or as it stood then (not final). */
static void back_fill_after_later_consumption(void)
{
    sluice_publication pubs[32];
    int64_t job = utc(2023, 11, 25, 23), cut = utc(2023, 11, 22, 0);
    size_t n = caught_up(pubs, utc(2023, 11, 23, 12), utc(2023, 11, 29, 22));
    check_plan(pubs, n, job, cut, cut, "consumed", cut, 4);
    for (size_t i = 0; i < n; i++)
        if (pubs[i].final_at_ms > job)
            pubs[i] = (sluice_publication){pubs[i].id, pubs[i].published_at_ms,
                                           pubs[i].records,
                                           SLUICE_CONSUMPTION_PROCESSING, 0};
    check_plan(pubs, n, job, cut, cut, "consumed", cut, 4);
}

/* A publication as ABI 1.0 and 1.1 laid it out: no final_at_ms. */
struct publication_1_1 {
    int64_t id;
    int64_t published_at_ms;
    uint64_t records;
    sluice_consumption consumption;
};

/* From a core older than 1.2 (publication_size without final_at_ms) the
 * plugin plans from the status alone, as those cores stated the rule, and
 * reads nothing past each element: the ids here are times after D, so
 * reading the next element's id as final_at_ms would drop the consumed
 * rule, and reading past the last one is out of the array (AddressSanitizer
 * builds catch it). */
static void core_without_final_at(void)
{
    size_t n = 20;
    struct publication_1_1 *old = xcalloc(n, sizeof *old);
    CHECK(sizeof *old == offsetof(sluice_publication, final_at_ms));
    int64_t first_id = utc(2023, 12, 1, 0);
    for (size_t i = 0; i < n; i++)
        old[i] = (struct publication_1_1){first_id + (int64_t)i,
                                          utc(2023, 11, 20 + (int)i / 2,
                                              i % 2 ? 15 : 3),
                                          10, SLUICE_CONSUMPTION_FINAL};
    /* a job on the 30th, so that every event is published before D and
     * each one's finality is looked at */
    struct sluice_retention_plan plan = {0};
    plan_sized(old, n, sizeof *old, utc(2023, 11, 30, 23), &plan);
    CHECK(cutoff(&plan, "consumed") == utc(2023, 11, 28, 0));
    CHECK(plan.delete_count == 16); /* the 20th to the 27th */
    for (size_t i = 0; i < plan.delete_count; i++) {
        CHECK_STR(plan.deletes[i].rule, "consumed");
        CHECK(plan.deletes[i].publication_id < first_id + 16);
    }
    plan_free(&plan);
    free(old);
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
    RUN(consumed_on_the_jobs_day);
    RUN(stopped_and_caught_up);
    RUN(back_fill_after_later_consumption);
    RUN(core_without_final_at);
    RUN(deterministic);
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    RUN(worked_example);
    RUN(consumed_on_the_jobs_day);
    RUN(back_fill_after_later_consumption);
    free(path);
    registry_free(&reg);
    return TEST_RESULT();
}
