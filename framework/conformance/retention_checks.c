/* retention_checks.c: a retention plan is a function of its input.
 *
 * The kit builds a topic of 40 publication events, one every six hours
 * over the ten days before a fixed job time, in every consumption status
 * (the final ones final three hours after they were published), and asks
 * for plans:
 *
 * retention.deterministic: the same input gives the same plan (cutoffs and
 * deletes, in order) twice in a row, again after a plan of another input
 * (no state carried from call to call), and in a fresh instance.
 * retention.no_side_effects: the input (struct, topic name, publication
 * array) is byte for byte what it was after every call, and each plan
 * names only publication events of its input, each once, with a rule.
 * What the kit cannot see: the host table is the core's, shared with
 * every plugin, so calls a plan makes through it are not observed; a plan
 * can reach nothing mutable through it but the plan and its own metrics.
 * retention.job_time: with the job time and every publication moved seven
 * days later, the plan deletes the same events and its cutoffs move seven
 * days: the plan follows the job time, not the wall clock.
 * retention.paged (a plugin that declares SLUICE_RETENTION_PAGED; skipped
 * for another, which the core gives each topic whole): the topic given in
 * pages of 7 events, one call per page on one instance as the core pages
 * it, is planned as it is whole: each page has the whole topic's cutoffs,
 * and its deletes are the next ones of the whole topic's plan, events of
 * that page only.
 * Every input has the ABI 1.2 fields the core fills: the page, the topic's
 * totals and its newest event published and final before the job's date.
 * The checks run in a child process (isolate.c). */
#include <stdlib.h>
#include <string.h>

#include "../plugin/plan.h"
#include "kit.h"

#define DAY_MS (86400LL * 1000)
#define JOB_TIME_MS 1710111600000LL /* 2024-03-10 23:00 UTC */
#define EVENTS 40
#define PAGE 7

enum { OPEN, DETERMINISTIC, NO_SIDE_EFFECTS, JOB_TIME, PAGED, CHECK_COUNT };

static const char *const check_names[] = {"retention.open",
                                          "retention.deterministic",
                                          "retention.no_side_effects",
                                          "retention.job_time",
                                          "retention.paged",
                                          NULL};

struct input {
    sluice_retention_input in;
    sluice_publication events[EVENTS];
    char topic[32];
};

static void build_input(struct input *x, const struct kit_settings *k,
                        int64_t shift_ms)
{
    static const sluice_consumption cycle[] = {SLUICE_CONSUMPTION_FINAL,
                                               SLUICE_CONSUMPTION_FINAL,
                                               SLUICE_CONSUMPTION_PROCESSING,
                                               SLUICE_CONSUMPTION_DELAYED,
                                               SLUICE_CONSUMPTION_ERROR};
    memset(x, 0, sizeof *x);
    snprintf(x->topic, sizeof x->topic, "conformance");
    int64_t job = JOB_TIME_MS + shift_ms;
    int64_t d = job - job % DAY_MS; /* job > 0 */
    uint64_t records = 0;
    const sluice_publication *newest = NULL;
    for (int i = 0; i < EVENTS; i++) {
        int64_t at = job - 10 * DAY_MS + i * DAY_MS / 4;
        bool final = cycle[i % 5] == SLUICE_CONSUMPTION_FINAL;
        x->events[i] =
            (sluice_publication){.id = 101 + i,
                                 .published_at_ms = at,
                                 .records = (uint64_t)(i + 1) * 10,
                                 .consumption = cycle[i % 5],
                                 .final_at_ms = final ? at + DAY_MS / 8 : 0};
        records += x->events[i].records;
        if (at < d && final && x->events[i].final_at_ms < d)
            newest = &x->events[i];
    }
    x->in =
        (sluice_retention_input){.size = sizeof x->in,
                                 .topic = x->topic,
                                 .consumed_retention_days = k->consumed_days,
                                 .unconsumed_retention_days =
                                     k->unconsumed_days,
                                 .job_time_ms = job,
                                 .publications = x->events,
                                 .publication_count = EVENTS,
                                 .publication_size = sizeof x->events[0],
                                 .page = 0,
                                 .last_page = 1,
                                 .topic_publication_count = EVENTS,
                                 .topic_records = records,
                                 .newest_final = newest};
}

/* Each page's delete is an event of its page. */
static bool page_has(const sluice_retention_input *page, int64_t id)
{
    for (size_t i = 0; i < page->publication_count; i++)
        if (page->publications[i].id == id)
            return true;
    return false;
}

static int plan(struct plugin_instance *in, const struct input *x,
                struct sluice_retention_plan *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    struct call_error ce;
    sluice_status st;
    char text[1200];
    for (int try = 0;; try++) {
        plan_free(out);
        if (!kit_again(st = retention_plan(in, &x->in, out, &ce), try))
            break;
    }
    if (st == SLUICE_OK)
        return 0;
    return error_set(err, "plan %s", status_text(st, &ce, text, sizeof text));
}

/* Where two plans differ, or NULL; cutoffs compared after `shift_ms`. */
static const char *plan_difference(const struct sluice_retention_plan *a,
                                   const struct sluice_retention_plan *b,
                                   int64_t shift_ms, char *out, size_t size)
{
    if (a->cutoff_count != b->cutoff_count)
        return snprintf(out, size, "%zu cutoffs, then %zu", a->cutoff_count,
                        b->cutoff_count),
               out;
    if (a->delete_count != b->delete_count)
        return snprintf(out, size, "%zu deletes, then %zu", a->delete_count,
                        b->delete_count),
               out;
    for (size_t i = 0; i < a->cutoff_count; i++)
        if (strcmp(a->cutoffs[i].rule, b->cutoffs[i].rule) != 0 ||
            a->cutoffs[i].cutoff_ms + shift_ms != b->cutoffs[i].cutoff_ms)
            return snprintf(out, size,
                            "cutoff %zu: %s at %lld ms, then %s at %lld ms",
                            i + 1, a->cutoffs[i].rule,
                            (long long)a->cutoffs[i].cutoff_ms,
                            b->cutoffs[i].rule,
                            (long long)b->cutoffs[i].cutoff_ms),
                   out;
    for (size_t i = 0; i < a->delete_count; i++)
        if (a->deletes[i].publication_id != b->deletes[i].publication_id ||
            strcmp(a->deletes[i].rule, b->deletes[i].rule) != 0)
            return snprintf(out, size,
                            "delete %zu: event %lld (%s), then event %lld "
                            "(%s)",
                            i + 1, (long long)a->deletes[i].publication_id,
                            a->deletes[i].rule,
                            (long long)b->deletes[i].publication_id,
                            b->deletes[i].rule),
                   out;
    return NULL;
}

/* Each delete names an event of the input, once. */
static int plan_valid(const struct sluice_retention_plan *p,
                      const struct input *x, struct error *err)
{
    for (size_t i = 0; i < p->delete_count; i++) {
        int64_t id = p->deletes[i].publication_id;
        bool known = id >= x->events[0].id && id <= x->events[EVENTS - 1].id;
        if (!known)
            return error_set(err,
                             "the plan deletes event %lld, which is not "
                             "in its input",
                             (long long)id);
        for (size_t j = 0; j < i; j++)
            if (p->deletes[j].publication_id == id)
                return error_set(err, "the plan deletes event %lld twice",
                                 (long long)id);
    }
    return 0;
}

struct retention_run {
    struct live *l;
    struct input x, x_copy, y, later;
    struct sluice_retention_plan p[6]; /* x, x, y, x, x fresh, later */
    bool paged;                        /* the plugin declares paging */
    char paged_diff[600];              /* where the pages differ, or "" */
    char msg[CHECK_COUNT][1400];
    enum check_status status[CHECK_COUNT];
};

static bool same_event(const sluice_publication *a,
                       const sluice_publication *b)
{
    return a->id == b->id && a->published_at_ms == b->published_at_ms &&
           a->records == b->records && a->consumption == b->consumption;
}

/* The input x, field by field, against the copy built the same way. */
static bool input_unchanged(const struct retention_run *r)
{
    const sluice_retention_input *a = &r->x.in, *b = &r->x_copy.in;
    bool same =
        a->size == b->size && a->topic == r->x.topic &&
        strcmp(r->x.topic, r->x_copy.topic) == 0 &&
        a->consumed_retention_days == b->consumed_retention_days &&
        a->unconsumed_retention_days == b->unconsumed_retention_days &&
        a->job_time_ms == b->job_time_ms && a->publications == r->x.events &&
        a->publication_count == b->publication_count &&
        a->publication_size == b->publication_size && a->page == b->page &&
        a->last_page == b->last_page &&
        a->topic_publication_count == b->topic_publication_count &&
        a->topic_records == b->topic_records &&
        (a->newest_final ? a->newest_final - r->x.events : -1) ==
            (b->newest_final ? b->newest_final - r->x_copy.events : -1);
    for (int i = 0; same && i < EVENTS; i++)
        same = same_event(&r->x.events[i], &r->x_copy.events[i]);
    return same;
}

/* Page `k` of x's plan against the whole plan's deletes from *next on;
 * false with r->paged_diff set where it differs. */
static bool page_matches(struct retention_run *r,
                         const sluice_retention_input *page,
                         const struct sluice_retention_plan *got, size_t *next)
{
    const struct sluice_retention_plan *whole = &r->p[0];
    char diff[500];
    struct sluice_retention_plan cut = *got;
    cut.delete_count = 0; /* cutoffs alone */
    struct sluice_retention_plan want = *whole;
    want.delete_count = 0;
    if (plan_difference(&want, &cut, 0, diff, sizeof diff)) {
        snprintf(r->paged_diff, sizeof r->paged_diff,
                 "page %llu's cutoffs are not the whole topic's: %s",
                 (unsigned long long)page->page, diff);
        return false;
    }
    for (size_t i = 0; i < got->delete_count; i++, (*next)++) {
        int64_t id = got->deletes[i].publication_id;
        if (!page_has(page, id)) {
            snprintf(r->paged_diff, sizeof r->paged_diff,
                     "page %llu's plan deletes event %lld, which is not on "
                     "the page",
                     (unsigned long long)page->page, (long long)id);
            return false;
        }
        if (*next >= whole->delete_count ||
            whole->deletes[*next].publication_id != id ||
            strcmp(whole->deletes[*next].rule, got->deletes[i].rule) != 0) {
            snprintf(r->paged_diff, sizeof r->paged_diff,
                     "page %llu deletes event %lld (%s), which the whole "
                     "topic's plan does not delete there",
                     (unsigned long long)page->page, (long long)id,
                     got->deletes[i].rule);
            return false;
        }
    }
    return true;
}

/* x in pages of PAGE events, one instance for all, as the core pages a
 * topic; -1 when a call failed. */
static int plan_pages(struct retention_run *r, struct error *err)
{
    struct plugin_instance a;
    if (kit_instance_open(r->l, &a, err) < 0)
        return error_prefix(err, "paging");
    size_t next = 0;
    bool same = true;
    int rc = 0;
    for (size_t at = 0; at < EVENTS && same && rc == 0; at += PAGE) {
        struct input *page = calloc(1, sizeof *page);
        *page = r->x; /* its pointers stay x's */
        page->in.publications = r->x.events + at;
        page->in.publication_count = EVENTS - at < PAGE ? EVENTS - at : PAGE;
        page->in.page = at / PAGE;
        page->in.last_page = at + PAGE >= EVENTS;
        struct sluice_retention_plan got;
        rc = plan(&a, page, &got, err);
        if (rc == 0)
            same = page_matches(r, &page->in, &got, &next);
        plan_free(&got);
        free(page);
    }
    plugin_close(&a);
    if (rc == 0 && same && next != r->p[0].delete_count)
        snprintf(r->paged_diff, sizeof r->paged_diff,
                 "the pages deleted %zu events, the whole topic's plan %zu",
                 next, r->p[0].delete_count);
    return rc < 0 ? error_prefix(err, "paging") : 0;
}

/* The plans, in order; -1 with the failing call in `err`. */
static int make_plans(struct retention_run *r, struct error *err)
{
    struct plugin_instance a, b;
    if (kit_instance_open(r->l, &a, err) < 0)
        return -1;
    report_running(r->l->report, check_names[DETERMINISTIC]);
    int rc = plan(&a, &r->x, &r->p[0], err);
    if (rc == 0)
        rc = plan(&a, &r->x, &r->p[1], err);
    if (rc == 0)
        rc = plan(&a, &r->y, &r->p[2], err);
    if (rc == 0)
        rc = plan(&a, &r->x, &r->p[3], err);
    report_running(r->l->report, check_names[JOB_TIME]);
    if (rc == 0)
        rc = plan(&a, &r->later, &r->p[5], err);
    report_running(r->l->report, check_names[DETERMINISTIC]);
    plugin_close(&a);
    if (rc == 0 && kit_instance_open(r->l, &b, err) == 0) {
        rc = plan(&b, &r->x, &r->p[4], err);
        plugin_close(&b);
    } else if (rc == 0) {
        rc = error_prefix(err, "a fresh instance");
    }
    if (rc == 0 && r->paged) {
        report_running(r->l->report, check_names[PAGED]);
        rc = plan_pages(r, err);
    }
    return rc;
}

static void judge(struct retention_run *r)
{
    static const char *const when[] = {NULL, "asked twice",
                                       "asked again after another input",
                                       "asked in a fresh instance"};
    char diff[600];
    struct error err;
    snprintf(r->msg[DETERMINISTIC], sizeof r->msg[0],
             "the same plan (%zu cutoffs, %zu deletes) twice, after another "
             "input, and in a fresh instance",
             r->p[0].cutoff_count, r->p[0].delete_count);
    r->status[DETERMINISTIC] = CHECK_PASS;
    static const int same_as_first[] = {1, 3, 4};
    for (int i = 0; i < 3; i++)
        if (plan_difference(&r->p[0], &r->p[same_as_first[i]], 0, diff,
                            sizeof diff)) {
            r->status[DETERMINISTIC] = CHECK_FAIL;
            snprintf(r->msg[DETERMINISTIC], sizeof r->msg[0],
                     "the plan changed when %s: %s", when[i + 1], diff);
            break;
        }
    r->status[NO_SIDE_EFFECTS] = CHECK_PASS;
    snprintf(r->msg[NO_SIDE_EFFECTS], sizeof r->msg[0],
             "the input was unchanged after %d plans, and each plan names "
             "only events of its input, once each (calls through the host "
             "table cannot be observed)",
             6);
    if (!input_unchanged(r)) {
        r->status[NO_SIDE_EFFECTS] = CHECK_FAIL;
        snprintf(r->msg[NO_SIDE_EFFECTS], sizeof r->msg[0],
                 "plan changed its input (the topic, its properties or its "
                 "publication events)");
    }
    for (int i = 0; i < 6 && r->status[NO_SIDE_EFFECTS] == CHECK_PASS; i++)
        if (plan_valid(&r->p[i],
                       i == 2   ? &r->y
                       : i == 5 ? &r->later
                                : &r->x,
                       &err) < 0) {
            r->status[NO_SIDE_EFFECTS] = CHECK_FAIL;
            snprintf(r->msg[NO_SIDE_EFFECTS], sizeof r->msg[0], "%s",
                     err.message);
        }
    r->status[JOB_TIME] = CHECK_PASS;
    snprintf(r->msg[JOB_TIME], sizeof r->msg[0],
             "with everything seven days later, the same events are deleted "
             "and the cutoffs move seven days");
    if (plan_difference(&r->p[0], &r->p[5], 7 * DAY_MS, diff, sizeof diff)) {
        r->status[JOB_TIME] = CHECK_FAIL;
        snprintf(r->msg[JOB_TIME], sizeof r->msg[0],
                 "with the job time and every event seven days later, the "
                 "plan is not the same seven days on: %s",
                 diff);
    }
    r->status[PAGED] = !r->paged          ? CHECK_SKIP
                       : r->paged_diff[0] ? CHECK_FAIL
                                          : CHECK_PASS;
    snprintf(r->msg[PAGED], sizeof r->msg[0], "%s",
             !r->paged ? "the plugin does not declare SLUICE_RETENTION_PAGED: "
                         "the core gives it each topic whole"
             : r->paged_diff[0]
                 ? r->paged_diff
                 : "the topic in pages of 7 events is planned as it is whole");
}

/* In a child: every check, reported at the end. */
static bool retention_work(void *arg)
{
    struct live *l = arg;
    struct retention_run *r = calloc(1, sizeof *r);
    r->l = l;
    r->paged = (l->plugin->capabilities & SLUICE_RETENTION_PAGED) != 0;
    build_input(&r->x, &l->settings, 0);
    build_input(&r->x_copy, &l->settings, 0);
    build_input(&r->y, &l->settings, 3 * DAY_MS);
    build_input(&r->later, &l->settings, 7 * DAY_MS);
    /* the events of y differ in more than time: every one is final */
    for (int i = 0; i < EVENTS; i++)
        r->y.events[i].consumption = SLUICE_CONSUMPTION_FINAL;
    struct error err;
    if (make_plans(r, &err) < 0) {
        bool opened = strncmp(err.message, "open ", 5) != 0;
        if (opened)
            report_line(l->report, CHECK_PASS, l->subject, check_names[OPEN],
                        "open returned OK");
        report_line(l->report, CHECK_FAIL, l->subject,
                    check_names[opened ? DETERMINISTIC : OPEN], "%s",
                    err.message);
        for (int i = opened ? NO_SIDE_EFFECTS : DETERMINISTIC; i < CHECK_COUNT;
             i++)
            report_line(l->report, CHECK_SKIP, l->subject, check_names[i],
                        "an earlier step failed");
    } else {
        judge(r);
        report_line(l->report, CHECK_PASS, l->subject, check_names[OPEN],
                    "open returned OK");
        for (int i = DETERMINISTIC; i < CHECK_COUNT; i++)
            report_line(l->report, r->status[i], l->subject, check_names[i],
                        "%s", r->msg[i]);
    }
    for (int i = 0; i < 6; i++)
        plan_free(&r->p[i]);
    free(r);
    return true;
}

void retention_checks(struct live *l)
{
    if (!l->ready)
        report_skip_all(l->report, l->subject, check_names, l->why);
    else
        kit_isolated(l->report, l->subject, check_names, retention_work, l);
}
