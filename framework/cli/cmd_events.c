/* cmd_events.c: sluice events, sluice maintenance run | report. */
#include <stdio.h>
#include <stdlib.h>

#include "../hub/hub.h"
#include "../maintenance/maintenance.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/json.h"
#include "../util/mem.h"
#include "../util/units.h"
#include "cli.h"
#include "load.h"

/* One event of the listing, whatever its type: its line, or its JSON
 * object with --json. */
struct line {
    int64_t at;
    int order; /* publications, then subscriptions, then system, by id */
    int64_t id;
    struct buf text;
};

static int compare_lines(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->order != y->order)
        return x->order - y->order;
    return x->id < y->id ? -1 : x->id > y->id;
}

struct listing {
    struct line *lines;
    size_t count, cap;
    bool json;
};

/* A new line; with --json, `j` writes its object, of `type`. */
static struct buf *add_line(struct listing *l, int64_t at, int order,
                            int64_t id, const char *type, struct json *j)
{
    XGROW(l->lines, l->cap, l->count + 1);
    struct line *line = &l->lines[l->count++];
    *line = (struct line){at, order, id, {0}};
    *j = (struct json)JSON_INIT(&line->text);
    if (l->json) {
        json_open_object(j, NULL);
        json_add_string(j, "type", type);
        json_add_int(j, "id", id);
    }
    return &line->text;
}

static void add_publication(struct listing *l, const struct publication_info *p)
{
    struct json j;
    struct buf *b = add_line(l, p->published_at, 0, p->id, "publication", &j);
    if (l->json) {
        json_add_time(&j, "at", p->published_at);
        json_add_string(&j, "topic", p->topic);
        json_add_int(&j, "records", p->records);
        json_add_int(&j, "bytes", p->bytes);
        json_add_string(&j, "status", p->status);
        json_add_string(&j, "consumption", consumption_name(p->consumption));
        json_add_int(&j, "owed", p->owed);
        json_add_int(&j, "consumed", p->consumed);
        json_add_time(&j, "final_at", p->final_at ? p->final_at : -1);
        json_close_object(&j);
        return;
    }
    char t[40];
    buf_printf(b, "publication   %-6lld topic=%s records=%lld status=%s "
                  "consumption=%s",
               (long long)p->id, cli_shown(p->topic), (long long)p->records,
               p->status, consumption_name(p->consumption));
    if (p->final_at)
        buf_printf(b, " final_at=%s",
                   (format_utc(p->final_at, t, sizeof t), t));
}

static void add_subscription(struct listing *l,
                             const struct subscription_event_info *e)
{
    struct json j;
    struct buf *b = add_line(l, e->at, 1, e->id, "subscription", &j);
    if (l->json) {
        json_add_time(&j, "at", e->at);
        json_add_string(&j, "subscription", e->subscription);
        json_add_string(&j, "topic", e->topic[0] ? e->topic : NULL);
        json_add_int(&j, "publication", e->publication);
        json_add_string(&j, "status", e->status);
        json_add_string(&j, "message", e->message);
        json_close_object(&j);
        return;
    }
    buf_printf(b, "subscription  %-6lld subscription=%s publication=%lld "
                  "status=%s%s%s",
               (long long)e->id, cli_shown(e->subscription),
               (long long)e->publication, e->status,
               e->message[0] ? " message=" : "", cli_shown(e->message));
}

static void add_system(struct listing *l, const struct system_event_info *e)
{
    struct json j;
    struct buf *b = add_line(l, e->at, 2, e->id, "system", &j);
    if (l->json) {
        json_add_string(&j, "kind", e->kind);
        json_add_time(&j, "at", e->at);
        json_add_time(&j, "as_of", e->as_of);
        json_add_string(&j, "status", e->status);
        json_add_string(&j, "summary", e->summary);
        json_close_object(&j);
        return;
    }
    char t[40];
    format_utc(e->as_of, t, sizeof t);
    buf_printf(b, "system        %-6lld %s as of %s status=%s: %s",
               (long long)e->id, cli_shown(e->kind), t, e->status,
               cli_shown(e->summary));
}

/* The lines in time order: each on its own line, or with --json one
 * object of them all. */
static void print_listing(struct listing *l)
{
    qsort(l->lines, l->count, sizeof *l->lines, compare_lines);
    struct buf out = {0};
    struct json j = JSON_INIT(&out);
    if (l->json) {
        json_open_object(&j, NULL);
        json_open_array(&j, "events");
    }
    for (size_t i = 0; i < l->count; i++) {
        const struct line *line = &l->lines[i];
        char t[40];
        if (l->json) {
            json_add_raw(&j, NULL, line->text.data, line->text.len);
        } else {
            format_utc(line->at, t, sizeof t);
            buf_printf(&out, "%-24s %s\n", t, line->text.data);
        }
    }
    if (l->json) {
        json_close_array(&j);
        json_close_object(&j);
        buf_puts(&out, "\n");
    }
    fputs(out.data ? out.data : "", stdout);
    buf_free(&out);
}

int cmd_events(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *topic = NULL,
               *since = NULL;
    struct listing l = {0};
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--topic", &topic, NULL},
                           {"--since", &since, NULL},
                           {"--json", NULL, &l.json}};
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 5, NULL, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    int64_t since_ms = INT64_MIN;
    struct error err;
    if (since && parse_utc(since, &since_ms, &err) < 0)
        return cli_usage_error(cmd, "--since: %s", err.message);
    struct store *s;
    int status = open_store(store_url, config, STORE_READ, &s);
    if (status != EXIT_OK)
        return status;
    struct publication_info *pubs = NULL;
    struct subscription_event_info *subs = NULL;
    struct system_event_info *sys = NULL;
    size_t npubs = 0, nsubs = 0, nsys = 0;
    if (hub_publications(s, topic, since_ms, INT64_MAX, &pubs, &npubs,
                         &err) < 0 ||
        hub_subscription_events(s, topic, since_ms, &subs, &nsubs, &err) < 0 ||
        hub_system_events(s, since_ms, &sys, &nsys, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_RUNTIME;
    } else {
        for (size_t i = 0; i < npubs; i++)
            add_publication(&l, &pubs[i]);
        for (size_t i = 0; i < nsubs; i++)
            add_subscription(&l, &subs[i]);
        for (size_t i = 0; i < nsys; i++)
            add_system(&l, &sys[i]);
        print_listing(&l);
    }
    for (size_t i = 0; i < l.count; i++)
        buf_free(&l.lines[i].text);
    free(l.lines);
    publications_free(pubs, npubs);
    subscription_events_free(subs, nsubs);
    system_events_free(sys, nsys);
    store_close(s);
    return status;
}

/* Events and records a topic's plan deleted, over its rules. */
static void topic_totals(const struct topic_report *tr, int64_t *events,
                         int64_t *records)
{
    *events = *records = 0;
    for (size_t i = 0; i < tr->rule_count; i++) {
        *events += tr->rules[i].events;
        *records += tr->rules[i].records;
    }
}

static void json_report(const struct maintenance_report *r, struct buf *out)
{
    struct json j = JSON_INIT(out);
    json_open_object(&j, NULL);
    if (r->dry_run)
        json_add_null(&j, "event");
    else
        json_add_int(&j, "event", r->event);
    json_add_time(&j, "as_of", r->as_of);
    json_add_time(&j, "at", r->at);
    json_add_bool(&j, "dry_run", r->dry_run);
    json_add_string(&j, "status", r->status);
    json_open_array(&j, "topics");
    for (size_t i = 0; i < r->topic_count; i++) {
        const struct topic_report *tr = &r->topics[i];
        const struct rule_report *h = topic_report_headline(tr);
        int64_t events, records;
        topic_totals(tr, &events, &records);
        json_open_object(&j, NULL);
        json_add_string(&j, "topic", tr->topic);
        json_add_time(&j, "cutoff", h ? h->cutoff : -1);
        json_add_string(&j, "rule", h ? h->rule : NULL);
        json_add_int(&j, "events_deleted", events);
        json_add_int(&j, "records_deleted", records);
        json_open_array(&j, "rules");
        for (size_t k = 0; k < tr->rule_count; k++) {
            const struct rule_report *rr = &tr->rules[k];
            json_open_object(&j, NULL);
            json_add_string(&j, "rule", rr->rule);
            json_add_time(&j, "cutoff", rr->cutoff);
            json_add_int(&j, "events_deleted", rr->events);
            json_add_int(&j, "records_deleted", rr->records);
            json_close_object(&j);
        }
        json_close_array(&j);
        json_add_string(&j, "error", tr->message[0] ? tr->message : NULL);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_close_object(&j);
    buf_puts(out, "\n");
}

/* A cutoff, or "-" when the rule has none. */
static const char *cutoff_text(int64_t cutoff, char *out, size_t size)
{
    if (cutoff < 0)
        return "-";
    format_utc(cutoff, out, size);
    return out;
}

static void text_report(const struct maintenance_report *r, struct buf *out)
{
    char t[40];
    format_utc(r->as_of, t, sizeof t);
    if (r->dry_run)
        buf_printf(out, "maintenance dry run as of %s (nothing deleted)\n",
                   t);
    else
        buf_printf(out, "maintenance run %lld as of %s: %s\n",
                   (long long)r->event, t, r->status);
    buf_printf(out, "%-24s %-22s %-12s %10s %12s\n", "TOPIC", "CUTOFF",
               "RULE", "EVENTS", "RECORDS");
    for (size_t i = 0; i < r->topic_count; i++) {
        const struct topic_report *tr = &r->topics[i];
        const struct rule_report *h = topic_report_headline(tr);
        int64_t events, records;
        topic_totals(tr, &events, &records);
        buf_printf(out, "%-24s %-22s %-12s %10lld %12lld\n",
                   cli_shown(tr->topic),
                   cutoff_text(h ? h->cutoff : -1, t, sizeof t),
                   h ? cli_shown(h->rule) : "-", (long long)events,
                   (long long)records);
        for (size_t k = 0; k < tr->rule_count; k++) {
            const struct rule_report *rr = &tr->rules[k];
            if (rr != h)
                buf_printf(out, "  %-22s %-22s %-12s %10lld %12lld\n", "",
                           cutoff_text(rr->cutoff, t, sizeof t),
                           cli_shown(rr->rule), (long long)rr->events,
                           (long long)rr->records);
        }
        if (tr->message[0])
            buf_printf(out, "  error: %s\n", cli_shown(tr->message));
    }
}

static void print_report(const struct maintenance_report *r, bool json)
{
    struct buf out = {0};
    if (json)
        json_report(r, &out);
    else
        text_report(r, &out);
    fputs(out.data, stdout);
    buf_free(&out);
}

int cmd_maintenance_run(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *as_of = NULL;
    bool dry_run = false, json = false;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--as-of", &as_of, NULL},
                           {"--dry-run", NULL, &dry_run},
                           {"--json", NULL, &json}};
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 5, NULL, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    int64_t as_of_ms = clock_now_ms();
    struct error err;
    if (as_of && parse_utc(as_of, &as_of_ms, &err) < 0)
        return cli_usage_error(cmd, "--as-of: %s", err.message);
    struct config cfg;
    struct registry reg;
    struct diags d = {0};
    int status = EXIT_OK;
    if (load_config_and_plugins(config, true, &cfg, &reg, &d, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_USAGE;
    } else if (d.count) {
        print_diags(&d);
        status = EXIT_USAGE;
    }
    struct store *s = NULL;
    if (status == EXIT_OK)
        status = open_store(store_url, config,
                            dry_run ? STORE_READ : STORE_WRITE, &s);
    if (status == EXIT_OK) {
        struct maintenance_report report;
        if (maintenance_run(s, &reg, config ? &cfg : NULL, as_of_ms, dry_run,
                            &report, &err) < 0) {
            fprintf(stderr, "error: %s\n", err.message);
            status = EXIT_RUNTIME;
        } else {
            print_report(&report, json);
            if (strcmp(report.status, "completed") != 0)
                status = EXIT_RUNTIME;
        }
        maintenance_report_free(&report);
    }
    store_close(s);
    diags_free(&d);
    config_free(&cfg);
    registry_free(&reg);
    return status;
}

int cmd_maintenance_report(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL;
    bool json = false;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--json", NULL, &json}};
    char **pos;
    size_t npos;
    int rc = cli_parse(cmd, argc, argv, flags, 3, &pos, &npos);
    if (rc != 0)
        return rc < 0 ? EXIT_USAGE : EXIT_OK;
    int64_t id = 0;
    struct error err;
    bool ok = npos == 1 && parse_int(pos[0], &id, &err) == 0 && id > 0;
    free(pos);
    if (!ok)
        return cli_usage_error(cmd, "give the id of a maintenance event (see "
                                    "'sluice events')");
    struct store *s;
    int status = open_store(store_url, config, STORE_READ, &s);
    if (status != EXIT_OK)
        return status;
    struct maintenance_report report;
    bool found;
    if (maintenance_report_load(s, id, &report, &found, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_RUNTIME;
    } else if (!found) {
        fprintf(stderr, "error: event %lld is not a maintenance run\n",
                (long long)id);
        status = EXIT_USAGE;
    } else {
        print_report(&report, json);
    }
    maintenance_report_free(&report);
    store_close(s);
    return status;
}
