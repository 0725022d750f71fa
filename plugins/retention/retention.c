/* retention.c: the default retention policy of the hub (spec/hub.md).
 *
 * D is 00:00 UTC of the job's date. Rule 1, unconsumed: everything
 * published before D - U days goes. Rule 2, consumed, judged as of D: an
 * event is final before D when its consumption is `final` and became so
 * before D (final_at_ms). With P the 00:00 UTC of the date of the newest
 * event published before D and final before D, every event final before D
 * and published before P - C days goes. An event consumed on the job's own
 * day is therefore left to rule 1 that night, and a run as of a past time
 * plans what a run at that time would have, whatever was consumed since.
 * An event that both rules would delete is counted under rule 2.
 *
 * A core older than ABI 1.2 gives no final_at_ms (publication_size does
 * not cover it): then an event counts as final before D when its status
 * is `final`, the rule as those cores stated it. All dates are UTC,
 * whatever the machine's time zone: only integer arithmetic on epoch
 * times is used.
 *
 * Paged (ABI 1.2, SLUICE_RETENTION_PAGED): rule 1 judges each event
 * alone, and rule 2 needs P besides the event, which the core gives as
 * input->newest_final, so a page's plan is the part of the whole topic's
 * plan that falls on the page. A core older than ABI 1.2 gives the whole
 * topic and no newest_final: then P is found among the events.
 *
 * The plan has no side effects and is a function of its input. */
#include <sluice/sluice.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define DAY_MS (86400LL * 1000)

static const sluice_host_api *host;

/* 00:00 UTC of the date of `ms` (INT64_MIN for the times of the first
 * day that int64 milliseconds reach, whose start they do not). */
static int64_t utc_day_start(int64_t ms)
{
    int64_t d = ms / DAY_MS, start;
    if (ms % DAY_MS < 0)
        d--;
    return __builtin_mul_overflow(d, DAY_MS, &start) ? INT64_MIN : start;
}

/* `days` days before `t`, held to the range of int64 milliseconds: a
 * retention longer than that range keeps everything. */
static int64_t days_before(int64_t t, int64_t days)
{
    int64_t span, cut;
    if (__builtin_mul_overflow(days, DAY_MS, &span) ||
        __builtin_sub_overflow(t, span, &cut))
        return days > 0 ? INT64_MIN : INT64_MAX;
    return cut;
}

static const sluice_publication *
publication_at(const sluice_retention_input *in, size_t i)
{
    return (const sluice_publication *)((const char *)in->publications +
                                        i * in->publication_size);
}

/* The publication of ABI 1.0 and 1.1 ends before final_at_ms; a field is
 * read only when the core's publication_size covers it. */
#define PUBLICATION_1_0_SIZE offsetof(sluice_publication, final_at_ms)

/* Whether `p` was final before `d` (00:00 UTC of the job's date). */
static bool final_before(const sluice_retention_input *in,
                         const sluice_publication *p, int64_t d)
{
    if (p->consumption != SLUICE_CONSUMPTION_FINAL)
        return false;
    bool has_final_at =
        in->publication_size >= PUBLICATION_1_0_SIZE + sizeof p->final_at_ms;
    return !has_final_at || p->final_at_ms < d;
}

/* An input of ABI 1.2 has newest_final; one of 1.0 and 1.1 ends before
 * `page`. */
#define INPUT_1_2_SIZE                                                        \
    (offsetof(sluice_retention_input, newest_final) +                         \
     sizeof(const sluice_publication *))

/* The date P is taken from: the core's newest_final, or (a core before
 * ABI 1.2) the newest such event of the input. */
static bool newest_final_at(const sluice_retention_input *in, int64_t d,
                            int64_t *published_at)
{
    if (in->size >= INPUT_1_2_SIZE) {
        if (in->newest_final)
            *published_at = in->newest_final->published_at_ms;
        return in->newest_final != NULL;
    }
    bool have = false;
    for (size_t i = 0; i < in->publication_count; i++) {
        const sluice_publication *p = publication_at(in, i);
        if (p->published_at_ms < d && final_before(in, p, d) &&
            (!have || p->published_at_ms > *published_at)) {
            *published_at = p->published_at_ms;
            have = true;
        }
    }
    return have;
}

static sluice_status plan(void *instance, const sluice_retention_input *in,
                          sluice_retention_plan *out, sluice_error *err)
{
    (void)instance;
    if (in->publication_count && in->publication_size < PUBLICATION_1_0_SIZE)
        return sluice_fail(err, SLUICE_FATAL,
                           "retention: publication_size %zu is too small",
                           in->publication_size);
    int64_t d = utc_day_start(in->job_time_ms);
    int64_t u_cut = days_before(d, in->unconsumed_retention_days);
    int64_t newest_final = 0;
    bool have_p = newest_final_at(in, d, &newest_final);
    int64_t c_cut = have_p ? days_before(utc_day_start(newest_final),
                                         in->consumed_retention_days)
                           : 0;
    sluice_status st = host->plan_cutoff(out, "unconsumed", u_cut, err);
    if (st == SLUICE_OK && have_p)
        st = host->plan_cutoff(out, "consumed", c_cut, err);
    for (size_t i = 0; i < in->publication_count && st == SLUICE_OK; i++) {
        const sluice_publication *p = publication_at(in, i);
        if (have_p && p->published_at_ms < c_cut && final_before(in, p, d))
            st = host->plan_delete(out, p->id, "consumed", err);
        else if (p->published_at_ms < u_cut)
            st = host->plan_delete(out, p->id, "unconsumed", err);
    }
    return st;
}

static sluice_status open_policy(sluice_context *ctx, const void *config,
                                 void **instance, sluice_error *err)
{
    (void)ctx;
    (void)config;
    (void)err;
    *instance = NULL; /* no state: the rules are a pure function */
    return SLUICE_OK;
}

static void close_policy(void *instance)
{
    (void)instance;
}

static const sluice_retention_info retention = {
    .size = sizeof(sluice_retention_info),
    .name = "retention",
    .capabilities = SLUICE_RETENTION_PAGED,
    .description = "Deletes hub data unconsumed_retention_days after it "
                   "was published; data that every subscription owed it "
                   "had consumed before the job's day goes once it is "
                   "consumed_retention_days older than the newest such "
                   "data.",
    .open = open_policy,
    .close = close_policy,
    .plan = plan,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    return host->register_retention(reg, &retention, sizeof retention, err);
}

SLUICE_MODULE("retention", SLUICE_VERSION, "Apache-2.0",
              "The hub's consumed / unconsumed retention policy", init, NULL)
