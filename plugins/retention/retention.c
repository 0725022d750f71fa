/* retention.c: the default retention policy of the hub (spec/hub.md).
 *
 * Rule 1, unconsumed: everything published before D - U days goes, where
 * D is 00:00 UTC of the job's date. Rule 2, consumed: with P the 00:00 UTC
 * of the date of the newest `final` publication event published before D,
 * every `final` event published before P - C days goes. An event that both
 * rules would delete is counted under rule 2. All dates are UTC, whatever
 * the machine's time zone: only integer arithmetic on epoch times is used.
 *
 * The plan has no side effects and is a function of its input. */
#include <sluice/sluice.h>
#include <stdbool.h>
#include <stdlib.h>

#define DAY_MS (86400LL * 1000)

static const sluice_host_api *host;

/* 00:00 UTC of the date of `ms`. */
static int64_t utc_day_start(int64_t ms)
{
    int64_t d = ms / DAY_MS;
    if (ms % DAY_MS < 0)
        d--;
    return d * DAY_MS;
}

static const sluice_publication *publication_at(const sluice_retention_input *in,
                                                size_t i)
{
    return (const sluice_publication *)((const char *)in->publications +
                                        i * in->publication_size);
}

static sluice_status plan(void *instance, const sluice_retention_input *in,
                          sluice_retention_plan *out, sluice_error *err)
{
    (void)instance;
    if (in->publication_count && in->publication_size < sizeof(sluice_publication))
        return sluice_fail(err, SLUICE_FATAL,
                           "retention: publication_size %zu is too small",
                           in->publication_size);
    int64_t d = utc_day_start(in->job_time_ms);
    int64_t u_cut = d - in->unconsumed_retention_days * DAY_MS;
    bool have_p = false;
    int64_t newest_final = 0;
    for (size_t i = 0; i < in->publication_count; i++) {
        const sluice_publication *p = publication_at(in, i);
        if (p->consumption == SLUICE_CONSUMPTION_FINAL &&
            p->published_at_ms < d &&
            (!have_p || p->published_at_ms > newest_final)) {
            newest_final = p->published_at_ms;
            have_p = true;
        }
    }
    int64_t c_cut = have_p ? utc_day_start(newest_final) -
                                 in->consumed_retention_days * DAY_MS
                           : 0;
    sluice_status st = host->plan_cutoff(out, "unconsumed", u_cut, err);
    if (st == SLUICE_OK && have_p)
        st = host->plan_cutoff(out, "consumed", c_cut, err);
    for (size_t i = 0; i < in->publication_count && st == SLUICE_OK; i++) {
        const sluice_publication *p = publication_at(in, i);
        if (have_p && p->consumption == SLUICE_CONSUMPTION_FINAL &&
            p->published_at_ms < c_cut)
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
    .description = "Deletes hub data after consumed_retention_days once "
                   "every subscription owed it has consumed it, and after "
                   "unconsumed_retention_days in any case.",
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
