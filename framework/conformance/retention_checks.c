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
 * The checks run in a child process (isolate.c). */
#include <stdlib.h>
#include <string.h>

#include "../plugin/plan.h"
#include "kit.h"

#define DAY_MS (86400LL * 1000)
#define JOB_TIME_MS 1710111600000LL /* 2024-03-10 23:00 UTC */
#define EVENTS 40

enum { OPEN, DETERMINISTIC, NO_SIDE_EFFECTS, JOB_TIME, CHECK_COUNT };

static const char *const check_names[] = {"retention.open",
                                          "retention.deterministic",
                                          "retention.no_side_effects",
                                          "retention.job_time", NULL};

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
    for (int i = 0; i < EVENTS; i++) {
        int64_t at = job - 10 * DAY_MS + i * DAY_MS / 4;
        bool final = cycle[i % 5] == SLUICE_CONSUMPTION_FINAL;
        x->events[i] =
            (sluice_publication){.id = 101 + i,
                                 .published_at_ms = at,
                                 .records = (uint64_t)(i + 1) * 10,
                                 .consumption = cycle[i % 5],
                                 .final_at_ms = final ? at + DAY_MS / 8 : 0};
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
                                 .publication_size = sizeof x->events[0]};
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
    bool same = a->size == b->size && a->topic == r->x.topic &&
                strcmp(r->x.topic, r->x_copy.topic) == 0 &&
                a->consumed_retention_days == b->consumed_retention_days &&
                a->unconsumed_retention_days == b->unconsumed_retention_days &&
                a->job_time_ms == b->job_time_ms &&
                a->publications == r->x.events &&
                a->publication_count == b->publication_count &&
                a->publication_size == b->publication_size;
    for (int i = 0; same && i < EVENTS; i++)
        same = same_event(&r->x.events[i], &r->x_copy.events[i]);
    return same;
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
}

/* In a child: every check, reported at the end. */
static bool retention_work(void *arg)
{
    struct live *l = arg;
    struct retention_run *r = calloc(1, sizeof *r);
    r->l = l;
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
