/* maintenance.c: the daily job: plans from retention plugins, carried out
 * one transaction per topic, reported as a system event (see
 * maintenance.h). */
#include "maintenance.h"

#include <stdio.h>
#include <stdlib.h>

#include "../hub/hub.h"
#include "../options/options.h"
#include "../plugin/calls.h"
#include "../plugin/host.h"
#include "../plugin/plan.h"
#include "../store/leases.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/redact.h"

#define DAY_MS (86400LL * 1000)
#define DELETE_CHUNK 500

/* The plugin's config for this topic: the file's, or the defaults. */
static void *retention_config(const struct plugin *p, const struct config *cfg,
                              const char *topic, bool *owned,
                              struct error *err)
{
    const struct topic_config *tc = cfg ? config_topic(cfg, topic) : NULL;
    if (tc && tc->retention.plugin == p) {
        *owned = false;
        return tc->retention.data;
    }
    void *data = xcalloc(1, p->config_size ? p->config_size : 1);
    struct diags d = {0};
    struct option_source src = {"(defaults)", topic, NULL, 0};
    options_apply(p->options, p->option_count, &src, data, &d);
    if (d.count) {
        error_set(err,
                  "retention plugin '%s' needs options for topic '%s' "
                  "(give them in [topic %s.retention] and --config): %s",
                  p->name, topic, topic, d.errors[0]);
        diags_free(&d);
        options_free(p->options, p->option_count, data);
        free(data);
        return NULL;
    }
    *owned = true;
    return data;
}

static struct rule_report *rule_slot(struct topic_report *tr, const char *rule)
{
    for (size_t i = 0; i < tr->rule_count; i++)
        if (strcmp(tr->rules[i].rule, rule) == 0)
            return &tr->rules[i];
    tr->rules = xrealloc(tr->rules, (tr->rule_count + 1) * sizeof *tr->rules);
    struct rule_report *r = &tr->rules[tr->rule_count++];
    *r = (struct rule_report){xstrdup(rule), -1, 0, 0};
    return r;
}

static int compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A plan names each publication event once. */
static int check_unique(const struct sluice_retention_plan *plan,
                        const char *topic, struct error *err)
{
    int64_t *ids = xcalloc(plan->delete_count + 1, sizeof *ids);
    for (size_t i = 0; i < plan->delete_count; i++)
        ids[i] = plan->deletes[i].publication_id;
    qsort(ids, plan->delete_count, sizeof *ids, compare_ids);
    int rc = 0;
    for (size_t i = 1; i < plan->delete_count && rc == 0; i++)
        if (ids[i] == ids[i - 1])
            rc = error_set(err,
                           "the plan for topic '%s' deletes publication "
                           "%lld twice",
                           topic, (long long)ids[i]);
    free(ids);
    return rc;
}

/* Counts the plan per rule; refuses ids that are not the topic's. */
static int tally(const struct sluice_retention_plan *plan,
                 const struct publication_info *pubs, size_t count,
                 struct topic_report *tr, struct error *err)
{
    for (size_t i = 0; i < plan->cutoff_count; i++)
        rule_slot(tr, plan->cutoffs[i].rule)->cutoff =
            plan->cutoffs[i].cutoff_ms;
    for (size_t i = 0; i < plan->delete_count; i++) {
        const struct plan_delete *d = &plan->deletes[i];
        const struct publication_info *p = NULL;
        size_t lo = 0, hi = count; /* pubs are ordered by id */
        while (lo < hi && !p) {
            size_t mid = (lo + hi) / 2;
            if (pubs[mid].id == d->publication_id)
                p = &pubs[mid];
            else if (pubs[mid].id < d->publication_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (!p)
            return error_set(err,
                             "the plan deletes publication %lld, which "
                             "topic '%s' does not have",
                             (long long)d->publication_id, tr->topic);
        struct rule_report *r = rule_slot(tr, d->rule);
        r->events++;
        r->records += p->records;
    }
    return 0;
}

static int delete_chunk(struct store *s, const int64_t *ids, size_t n,
                        struct error *err)
{
    static const char *const tables[][2] = {{"publication_blobs",
                                             "publication"},
                                            {"subscription_events",
                                             "publication"},
                                            {"owed", "publication"},
                                            {"publications", "id"}};
    struct buf list = {0};
    for (size_t i = 0; i < n; i++)
        buf_printf(&list, "%s%lld", i ? "," : "", (long long)ids[i]);
    int rc = 0;
    for (size_t t = 0; t < 4 && rc == 0; t++) {
        char *sql = xasprintf("DELETE FROM %s WHERE %s IN (%s)", tables[t][0],
                              tables[t][1], list.data);
        rc = store_exec(s, sql, NULL, 0, NULL, err);
        free(sql);
    }
    buf_free(&list);
    return rc;
}

/* Carries a plan out: in the caller's transaction. */
static int apply(struct store *s, const struct sluice_retention_plan *plan,
                 struct error *err)
{
    int64_t ids[DELETE_CHUNK];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < plan->delete_count; i += DELETE_CHUNK) {
        size_t n = plan->delete_count - i;
        n = n < DELETE_CHUNK ? n : DELETE_CHUNK;
        for (size_t k = 0; k < n; k++)
            ids[k] = plan->deletes[i + k].publication_id;
        rc = delete_chunk(s, ids, n, err);
    }
    return rc;
}

static size_t page_size = MAINTENANCE_PAGE;

void maintenance_set_page_size(size_t events)
{
    page_size = events ? events : MAINTENANCE_PAGE;
}

/* A topic being planned and carried out, page by page. */
struct topic_run {
    const struct plugin *plugin;
    struct plugin_instance *instance;
    const struct topic *topic;
    const struct topic_summary *summary;
    int64_t as_of;
    bool dry_run, paged;
    struct topic_report *report;
};

static sluice_publication to_sdk(const struct publication_info *p)
{
    return (sluice_publication){.id = p->id,
                                .published_at_ms = p->published_at,
                                .records = (uint64_t)p->records,
                                .consumption = p->consumption,
                                .final_at_ms = p->final_at};
}

/* One page: planned, checked, counted and (unless a dry run) deleted. */
static int run_page(struct store *s, const struct topic_run *run,
                    const struct publication_info *pubs, size_t count,
                    uint64_t page, bool last, struct error *err)
{
    sluice_publication *in = xcalloc(count + 1, sizeof *in);
    for (size_t i = 0; i < count; i++)
        in[i] = to_sdk(&pubs[i]);
    sluice_publication newest = {0};
    if (run->summary->has_newest_final)
        newest = to_sdk(&run->summary->newest_final);
    const struct topic *t = run->topic;
    sluice_retention_input input = {
        .size = sizeof input,
        .topic = t->name,
        .consumed_retention_days = t->consumed_retention_days,
        .unconsumed_retention_days = t->unconsumed_retention_days,
        .job_time_ms = run->as_of,
        .publications = in,
        .publication_count = count,
        .publication_size = sizeof *in,
        .page = page,
        .last_page = last,
        .topic_publication_count = (uint64_t)run->summary->publications,
        .topic_records = (uint64_t)run->summary->records,
        .newest_final = run->summary->has_newest_final ? &newest : NULL};
    struct sluice_retention_plan plan = {0};
    struct call_error e;
    int rc = 0;
    if (retention_plan(run->instance, &input, &plan, &e) != SLUICE_OK)
        rc = error_set(err, "retention plugin '%s' failed for topic '%s': %s",
                       run->plugin->name, t->name, e.message);
    free(in);
    if (rc == 0)
        rc = check_unique(&plan, t->name, err);
    if (rc == 0)
        rc = tally(&plan, pubs, count, run->report, err);
    if (rc == 0 && !run->dry_run)
        rc = apply(s, &plan, err);
    plan_free(&plan);
    return rc;
}

static void report_clear(struct topic_report *tr)
{
    for (size_t i = 0; i < tr->rule_count; i++)
        free(tr->rules[i].rule);
    free(tr->rules);
    tr->rules = NULL;
    tr->rule_count = 0;
}

/* The topic's events as they stood at as_of (a run as of a past time plans
 * what a run then would have), oldest first: in pages of page_size for a
 * paged plugin, whole for another; each page planned and carried out
 * before the next is read. At least one page, empty for an empty topic. */
static int run_pages(struct store *s, void *arg, struct error *err)
{
    struct topic_run *run = arg;
    report_clear(run->report); /* the transaction may run it again */
    int64_t after = INT64_MIN;
    int64_t fetch = run->paged ? (int64_t)page_size + 1 : INT64_MAX;
    for (uint64_t page = 0;; page++) {
        struct publication_info *pubs;
        size_t count;
        if (hub_publications_page(s, run->topic->name, INT64_MIN, run->as_of,
                                  after, fetch, &pubs, &count, err) < 0)
            return -1;
        bool last = !run->paged || count <= page_size;
        size_t used = last ? count : page_size; /* one more says it is not */
        int rc = run_page(s, run, pubs, used, page, last, err);
        if (used)
            after = pubs[used - 1].id;
        publications_free(pubs, count);
        if (rc < 0 || last)
            return rc;
    }
}

static int run_plugin(struct store *s, struct topic_run *run, void *config,
                      struct error *err)
{
    struct topic_summary summary;
    if (hub_topic_summary(s, run->topic->name, run->as_of, &summary, err) < 0)
        return -1;
    run->summary = &summary;
    struct call_error e;
    struct plugin_instance instance;
    if (plugin_open(run->plugin, config, run->topic->name, &instance, &e) !=
        SLUICE_OK)
        return error_set(err,
                         "retention plugin '%s' failed for topic '%s': %s",
                         run->plugin->name, run->topic->name, e.message);
    run->instance = &instance;
    int rc = run->dry_run ? run_pages(s, run, err)
                          : store_transaction(s, run_pages, run, err);
    plugin_close(&instance);
    return rc;
}

static void run_topic(struct store *s, const struct registry *reg,
                      const struct config *cfg, const struct topic *t,
                      int64_t as_of, bool dry_run, struct topic_report *tr)
{
    tr->topic = xstrdup(t->name);
    struct error err;
    int rc = 0;
    const struct plugin *p = registry_find(reg, t->retention);
    if (!p || p->kind != PLUGIN_RETENTION)
        rc = error_set(&err,
                       "retention plugin '%s' of topic '%s' is not "
                       "found (see 'sluice plugins list')",
                       t->retention, t->name);
    bool owned = false;
    void *data =
        rc == 0 ? retention_config(p, cfg, t->name, &owned, &err) : NULL;
    if (rc == 0 && !data)
        rc = -1;
    if (rc == 0) {
        struct topic_run run = {.plugin = p,
                                .topic = t,
                                .as_of = as_of,
                                .dry_run = dry_run,
                                .paged = (p->capabilities &
                                          SLUICE_RETENTION_PAGED) != 0,
                                .report = tr};
        rc = run_plugin(s, &run, data, &err);
    }
    if (owned) {
        options_free(p->options, p->option_count, data);
        free(data);
    }
    if (rc < 0)
        report_clear(tr); /* rolled back: nothing was deleted */
    tr->message = redact_dup(rc < 0 ? err.message : "");
}

/* The report into system_events and maintenance_cutoffs. */
static int record(struct store *s, void *arg, struct error *err)
{
    struct maintenance_report *r = arg;
    int64_t events = 0, records = 0;
    for (size_t i = 0; i < r->topic_count; i++)
        for (size_t j = 0; j < r->topics[i].rule_count; j++) {
            events += r->topics[i].rules[j].events;
            records += r->topics[i].rules[j].records;
        }
    char summary[240];
    int len = snprintf(summary, sizeof summary,
                       "%zu topic(s): %lld publication event(s), %lld "
                       "record(s) deleted",
                       r->topic_count, (long long)events, (long long)records);
    if (r->segments)
        snprintf(summary + len, sizeof summary - (size_t)len,
                 "; %lld segment file(s) of the hub, %lld bytes, freed",
                 (long long)r->segments, (long long)r->segment_bytes);
    struct db_value p[] = {DBV_TEXT("maintenance"), DBV_INT(r->at),
                           DBV_TEXT(r->status), DBV_INT(r->as_of),
                           DBV_TEXT(summary)};
    struct db_result res;
    if (store_exec(s,
                   "INSERT INTO system_events (kind, at, status, as_of, "
                   "summary) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                   p, 5, &res, err) < 0)
        return -1;
    r->event = db_int(&res, 0, 0);
    db_result_free(&res);
    for (size_t i = 0; i < r->topic_count; i++) {
        const struct topic_report *t = &r->topics[i];
        for (size_t j = 0; j < t->rule_count || j == 0; j++) {
            const struct rule_report *rr =
                j < t->rule_count ? &t->rules[j] : NULL;
            struct db_value c[] = {DBV_INT(r->event),
                                   DBV_TEXT(t->topic),
                                   DBV_TEXT(rr ? rr->rule : ""),
                                   rr && rr->cutoff >= 0 ? DBV_INT(rr->cutoff)
                                                         : DBV_NULL,
                                   DBV_INT(rr ? rr->events : 0),
                                   DBV_INT(rr ? rr->records : 0),
                                   DBV_MESSAGE(t->message)};
            if (store_exec(s,
                           "INSERT INTO maintenance_cutoffs (event, topic, "
                           "rule, cutoff, events, records, message) VALUES "
                           "($1, $2, $3, $4, $5, $6, $7)",
                           c, 7, NULL, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* The segment files of the hub that no event refers to any more (those
 * of the events deleted, and what a crash left) are deleted. A failure
 * here loses nothing: the next run tries again. */
static void sweep(struct store *s, struct maintenance_report *r)
{
    struct error err;
    bool busy;
    if (segments_sweep(s, &r->segments, &r->segment_bytes, &busy, &err) < 0)
        log_msg(SLUICE_LOG_WARN, "maintenance",
                "the hub's segment files: %s (tried again at "
                "the next run)",
                err.message);
    else if (busy)
        log_msg(SLUICE_LOG_INFO, "maintenance",
                "a backup of the store runs: its segment files "
                "are freed at the next run");
}

int maintenance_run(struct store *s, const struct registry *reg,
                    const struct config *cfg, int64_t as_of, bool dry_run,
                    struct maintenance_report *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    out->at = clock_now_ms();
    out->as_of = as_of;
    out->dry_run = dry_run;
    struct topic *topics;
    size_t count;
    if (topic_list(s, &topics, &count, err) < 0)
        return -1;
    out->topics = xcalloc(count + 1, sizeof *out->topics);
    out->topic_count = count;
    bool failed = false;
    for (size_t i = 0; i < count; i++) {
        run_topic(s, reg, cfg, &topics[i], as_of, dry_run, &out->topics[i]);
        failed = failed || out->topics[i].message[0];
    }
    topics_free(topics, count);
    out->status = xstrdup(failed ? "failed" : "completed");
    if (dry_run)
        return 0;
    sweep(s, out);
    return store_transaction(s, record, out, err);
}

int maintenance_report_load(struct store *s, int64_t event,
                            struct maintenance_report *out, bool *found,
                            struct error *err)
{
    memset(out, 0, sizeof *out);
    struct db_value p = DBV_INT(event);
    struct db_result r;
    if (store_exec(s,
                   "SELECT at, as_of, status FROM system_events WHERE id = $1 "
                   "AND kind = 'maintenance'",
                   &p, 1, &r, err) < 0)
        return -1;
    *found = r.rows == 1;
    if (!*found) {
        db_result_free(&r);
        return 0;
    }
    out->event = event;
    out->at = db_int(&r, 0, 0);
    out->as_of = db_int(&r, 0, 1);
    out->status = xstrdup(db_text(&r, 0, 2));
    db_result_free(&r);
    if (store_exec(s,
                   "SELECT topic, rule, cutoff, events, records, message FROM "
                   "maintenance_cutoffs WHERE event = $1 ORDER BY topic, rule",
                   &p, 1, &r, err) < 0)
        return -1;
    out->topics = xcalloc(r.rows + 1, sizeof *out->topics);
    for (size_t i = 0; i < r.rows; i++) {
        const char *topic = db_text(&r, i, 0);
        struct topic_report *t =
            out->topic_count &&
                    strcmp(out->topics[out->topic_count - 1].topic, topic) == 0
                ? &out->topics[out->topic_count - 1]
                : NULL;
        if (!t) {
            t = &out->topics[out->topic_count++];
            t->topic = xstrdup(topic);
            t->message = redact_dup(db_text(&r, i, 5));
        }
        if (!db_text(&r, i, 1)[0])
            continue;
        struct rule_report *rr = rule_slot(t, db_text(&r, i, 1));
        const struct db_value *c = db_cell(&r, i, 2);
        rr->cutoff = c->type == DB_NULL ? -1 : c->i;
        rr->events = db_int(&r, i, 3);
        rr->records = db_int(&r, i, 4);
    }
    db_result_free(&r);
    return 0;
}

void maintenance_report_free(struct maintenance_report *r)
{
    for (size_t i = 0; i < r->topic_count; i++) {
        for (size_t j = 0; j < r->topics[i].rule_count; j++)
            free(r->topics[i].rules[j].rule);
        free(r->topics[i].rules);
        free(r->topics[i].topic);
        free(r->topics[i].message);
    }
    free(r->topics);
    free(r->status);
    memset(r, 0, sizeof *r);
}

const struct rule_report *topic_report_headline(const struct topic_report *t)
{
    const struct rule_report *best = NULL;
    for (size_t i = 0; i < t->rule_count; i++)
        if (t->rules[i].cutoff >= 0 &&
            (!best || t->rules[i].cutoff > best->cutoff))
            best = &t->rules[i];
    return best;
}

int maintenance_due(struct store *s, int64_t at_seconds, int64_t now_ms,
                    int64_t *slot_ms, bool *due, struct error *err)
{
    int64_t slot = utc_day_start(now_ms) + at_seconds * 1000;
    if (slot > now_ms)
        slot -= DAY_MS;
    /* done: a completed run as of the slot or later, before the next slot,
     * that was not run ahead of its time (see maintenance.h) */
    struct db_value p[] = {DBV_INT(slot), DBV_INT(slot + DAY_MS)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT COUNT(*) FROM system_events WHERE kind = "
                   "'maintenance' AND status = 'completed' AND as_of >= $1 "
                   "AND as_of < $2 AND as_of <= at",
                   p, 2, &r, err) < 0)
        return -1;
    *due = db_int(&r, 0, 0) == 0;
    *slot_ms = slot;
    db_result_free(&r);
    return 0;
}

/* The first topic's failure, to say why a run failed. */
static int run_failed(const struct maintenance_report *r, struct error *err)
{
    char as_of[40];
    format_utc(r->as_of, as_of, sizeof as_of);
    for (size_t i = 0; i < r->topic_count; i++)
        if (r->topics[i].message[0])
            return error_set(err,
                             "the run as of %s failed (event %lld; "
                             "retried at the next tick): topic '%s': %s",
                             as_of, (long long)r->event, r->topics[i].topic,
                             r->topics[i].message);
    return error_set(err, "the run as of %s failed (event %lld)", as_of,
                     (long long)r->event);
}

int maintenance_tick(struct store *s, const struct registry *reg,
                     const struct config *cfg, const char *worker,
                     int64_t lease_ms, int64_t now_ms, bool *ran,
                     struct error *err)
{
    *ran = false;
    bool held, due;
    int64_t slot;
    if (lease_acquire(s, MAINTENANCE_LEASE, worker, lease_ms, &held, err) < 0)
        return -1;
    if (!held)
        return 0;
    int64_t at = cfg ? cfg->hub.maintenance_at : 23 * 3600;
    if (maintenance_due(s, at, now_ms, &slot, &due, err) < 0)
        return -1;
    if (!due)
        return 0;
    struct maintenance_report report;
    int rc = maintenance_run(s, reg, cfg, slot, false, &report, err);
    *ran = rc == 0;
    if (rc == 0 && strcmp(report.status, "completed") != 0)
        rc = run_failed(&report, err);
    maintenance_report_free(&report);
    return rc;
}
