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
#include "listing.h"
#include "load.h"

/* An event of the listing, whatever its type, to sort them by time. */
struct entry {
    int64_t at;
    int type; /* publications, then subscriptions, then system, by id */
    int64_t id;
    const void *event;
};

static int compare_entries(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->type != y->type)
        return x->type - y->type;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Each event is a line, or with --json an object that `j` writes. */
static void show_publication(const struct publication_info *p, struct json *j)
{
    char t[40];
    if (!j) {
        printf("%-24s publication   %-6lld topic=%s records=%lld status=%s "
               "consumption=%s",
               format_utc(p->published_at, t, sizeof t), (long long)p->id,
               cli_shown(p->topic), (long long)p->records, p->status,
               consumption_name(p->consumption));
        if (p->final_at)
            printf(" final_at=%s", format_utc(p->final_at, t, sizeof t));
        printf("\n");
        return;
    }
    json_open_object(j, NULL);
    json_add_string(j, "type", "publication");
    json_add_int(j, "id", p->id);
    json_add_time(j, "at", p->published_at);
    json_add_string(j, "topic", p->topic);
    json_add_int(j, "records", p->records);
    json_add_int(j, "bytes", p->bytes);
    json_add_string(j, "status", p->status);
    json_add_string(j, "consumption", consumption_name(p->consumption));
    json_add_int(j, "owed", p->owed);
    json_add_int(j, "consumed", p->consumed);
    json_add_time(j, "final_at", p->final_at ? p->final_at : -1);
    json_close_object(j);
}

static void show_subscription(const struct subscription_event_info *e,
                              struct json *j)
{
    char t[40];
    if (!j) {
        printf("%-24s subscription  %-6lld subscription=%s publication=%lld "
               "status=%s%s%s\n",
               format_utc(e->at, t, sizeof t), (long long)e->id,
               cli_shown(e->subscription), (long long)e->publication,
               e->status, e->message[0] ? " message=" : "",
               cli_shown(e->message));
        return;
    }
    json_open_object(j, NULL);
    json_add_string(j, "type", "subscription");
    json_add_int(j, "id", e->id);
    json_add_time(j, "at", e->at);
    json_add_string(j, "subscription", e->subscription);
    json_add_string(j, "topic", e->topic[0] ? e->topic : NULL);
    json_add_int(j, "publication", e->publication);
    json_add_string(j, "status", e->status);
    json_add_string(j, "message", e->message);
    json_close_object(j);
}

static void show_system(const struct system_event_info *e, struct json *j)
{
    char t[40], as_of[40];
    if (!j) {
        printf("%-24s system        %-6lld %s as of %s status=%s: %s\n",
               format_utc(e->at, t, sizeof t), (long long)e->id,
               cli_shown(e->kind), format_utc(e->as_of, as_of, sizeof as_of),
               e->status, cli_shown(e->summary));
        return;
    }
    json_open_object(j, NULL);
    json_add_string(j, "type", "system");
    json_add_int(j, "id", e->id);
    json_add_string(j, "kind", e->kind);
    json_add_time(j, "at", e->at);
    json_add_time(j, "as_of", e->as_of);
    json_add_string(j, "status", e->status);
    json_add_string(j, "summary", e->summary);
    json_close_object(j);
}

/* Events per read: the listing holds a page of each kind at a time. */
#define EVENTS_PAGE 5000

/* The listing's events, read in time order a page at a time: publication
 * and subscription events by (time, id) after the last one read; system
 * events (one a day) all at once. */
struct events {
    struct store *s;
    const char *topic;
    struct publication_info *pubs;
    struct subscription_event_info *subs;
    struct system_event_info *sys;
    size_t npubs, nsubs, nsys, ipub, isub, isys;
    bool pubs_done, subs_done;
    int64_t pub_at, pub_id, sub_at, sub_id; /* the last read */
};

static int compare_system(const void *a, const void *b)
{
    const struct system_event_info *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The next page of each kind whose page is used up. */
static int refill(struct events *ev, struct error *err)
{
    if (ev->ipub == ev->npubs && !ev->pubs_done) {
        publications_free(ev->pubs, ev->npubs);
        ev->ipub = 0;
        if (hub_publications_by_time(ev->s, ev->topic, ev->pub_at, ev->pub_id,
                                     EVENTS_PAGE, &ev->pubs, &ev->npubs,
                                     err) < 0) {
            ev->pubs = NULL, ev->npubs = 0;
            return -1;
        }
        ev->pubs_done = ev->npubs < EVENTS_PAGE;
        if (ev->npubs) {
            ev->pub_at = ev->pubs[ev->npubs - 1].published_at;
            ev->pub_id = ev->pubs[ev->npubs - 1].id;
        }
    }
    if (ev->isub == ev->nsubs && !ev->subs_done) {
        subscription_events_free(ev->subs, ev->nsubs);
        ev->isub = 0;
        if (hub_subscription_events_by_time(ev->s, ev->topic, ev->sub_at,
                                            ev->sub_id, EVENTS_PAGE, &ev->subs,
                                            &ev->nsubs, err) < 0) {
            ev->subs = NULL, ev->nsubs = 0;
            return -1;
        }
        ev->subs_done = ev->nsubs < EVENTS_PAGE;
        if (ev->nsubs) {
            ev->sub_at = ev->subs[ev->nsubs - 1].at;
            ev->sub_id = ev->subs[ev->nsubs - 1].id;
        }
    }
    return 0;
}

/* The earliest of the three heads; false when all are used up. */
static bool next_event(struct events *ev, struct entry *out)
{
    struct entry heads[3];
    size_t n = 0;
    if (ev->ipub < ev->npubs) {
        const struct publication_info *p = &ev->pubs[ev->ipub];
        heads[n++] = (struct entry){p->published_at, 0, p->id, p};
    }
    if (ev->isub < ev->nsubs) {
        const struct subscription_event_info *e = &ev->subs[ev->isub];
        heads[n++] = (struct entry){e->at, 1, e->id, e};
    }
    if (ev->isys < ev->nsys) {
        const struct system_event_info *e = &ev->sys[ev->isys];
        heads[n++] = (struct entry){e->at, 2, e->id, e};
    }
    if (n == 0)
        return false;
    *out = heads[0];
    for (size_t i = 1; i < n; i++)
        if (compare_entries(&heads[i], out) < 0)
            *out = heads[i];
    if (out->type == 0)
        ev->ipub++;
    else if (out->type == 1)
        ev->isub++;
    else
        ev->isys++;
    return true;
}

/* Prints the events as they are read; JSON is written out every 64 KiB. */
static int show_events(struct events *ev, bool json, struct error *err)
{
    struct listing l;
    listing_begin(&l, json, "events");
    struct json *jp = json ? &l.j : NULL;
    int rc = 0;
    struct entry e;
    while ((rc = refill(ev, err)) == 0 && next_event(ev, &e)) {
        if (e.type == 0)
            show_publication(e.event, jp);
        else if (e.type == 1)
            show_subscription(e.event, jp);
        else
            show_system(e.event, jp);
        cli_shown_forget();
        if (l.out.len > 65536) {
            fputs(l.out.data, stdout);
            buf_reset(&l.out);
        }
    }
    listing_end(&l, rc == 0);
    return rc;
}

/* EXIT_OK when the store has the topic; EXIT_USAGE when it has not. */
static int topic_exists(struct store *s, const char *name)
{
    struct topic t;
    bool found;
    struct error err;
    if (topic_get(s, name, &t, &found, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    if (!found)
        return cli_error(EXIT_USAGE, "there is no topic named '%s'", name);
    topic_free(&t);
    return EXIT_OK;
}

int cmd_events(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    const char *topic = NULL, *since = NULL;
    bool json = false;
    struct flag flags[] = {STORE_FLAGS(sf), OPTION("--topic", &topic),
                           OPTION("--since", &since), FLAG("--json", &json)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (status != CLI_GO_ON)
        return status;
    int64_t since_ms = INT64_MIN;
    struct error err;
    if (since && parse_utc(since, &since_ms, &err) < 0)
        return cli_usage_error(cmd, "--since: %s", err.message);
    struct store *s;
    if ((status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    if (topic && (status = topic_exists(s, topic)) != EXIT_OK)
        return status;
    struct events ev = {.s = s,
                        .topic = topic,
                        .pub_at = since_ms,
                        .pub_id = INT64_MIN,
                        .sub_at = since_ms,
                        .sub_id = INT64_MIN};
    if (hub_system_events(s, since_ms, &ev.sys, &ev.nsys, &err) < 0 ||
        (qsort(ev.sys, ev.nsys, sizeof *ev.sys, compare_system),
         show_events(&ev, json, &err) < 0))
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    publications_free(ev.pubs, ev.npubs);
    subscription_events_free(ev.subs, ev.nsubs);
    system_events_free(ev.sys, ev.nsys);
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
    return cutoff < 0 ? "-" : format_utc(cutoff, out, size);
}

static void text_report(const struct maintenance_report *r, struct buf *out)
{
    char t[40];
    format_utc(r->as_of, t, sizeof t);
    if (r->dry_run)
        buf_printf(out, "maintenance dry run as of %s (nothing deleted)\n", t);
    else
        buf_printf(out, "maintenance run %lld as of %s: %s\n",
                   (long long)r->event, t, r->status);
    buf_printf(out, "%-24s %-22s %-12s %10s %12s\n", "TOPIC", "CUTOFF", "RULE",
               "EVENTS", "RECORDS");
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
    if (r->segments)
        buf_printf(out, "%lld segment file(s) of the hub, %lld bytes, freed\n",
                   (long long)r->segments, (long long)r->segment_bytes);
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
    struct store_flags sf = {0};
    const char *as_of = NULL;
    bool dry_run = false, json = false;
    struct flag flags[] = {STORE_FLAGS(sf), OPTION("--as-of", &as_of),
                           FLAG("--dry-run", &dry_run), FLAG("--json", &json)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (status != CLI_GO_ON)
        return status;
    int64_t as_of_ms = clock_now_ms();
    struct error err;
    if (as_of && parse_utc(as_of, &as_of_ms, &err) < 0)
        return cli_usage_error(cmd, "--as-of: %s", err.message);
    struct config cfg;
    struct registry reg;
    struct store *s;
    struct maintenance_report report = {0};
    status = load_reported(sf.config, true, false, &cfg, &reg, NULL);
    if (status == EXIT_OK)
        status = cli_open_store(&sf, dry_run ? STORE_READ : STORE_WRITE, &s);
    if (status == EXIT_OK &&
        maintenance_run(s, &reg, sf.config ? &cfg : NULL, as_of_ms, dry_run,
                        &report, &err) < 0) {
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    } else if (status == EXIT_OK) {
        print_report(&report, json);
        if (strcmp(report.status, "completed") != 0)
            status = EXIT_RUNTIME;
    }
    maintenance_report_free(&report);
    config_free(&cfg);
    registry_free(&reg);
    return status;
}

int cmd_maintenance_report(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    bool json = false;
    struct flag flags[] = {STORE_FLAGS(sf), FLAG("--json", &json)};
    size_t npos;
    int status = CLI_ARGS(cmd, argc, argv, flags, ARGS_ANY, &npos);
    if (status != CLI_GO_ON)
        return status;
    int64_t id = 0;
    struct error err;
    if (npos != 1 || parse_int(argv[0], &id, &err) < 0 || id <= 0)
        return cli_usage_error(cmd, "give the id of a maintenance event (see "
                                    "'sluice events')");
    struct store *s;
    struct maintenance_report report;
    bool found;
    if ((status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    if (maintenance_report_load(s, id, &report, &found, &err) < 0)
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    else if (!found)
        status = cli_error(EXIT_USAGE, "event %lld is not a maintenance run",
                           (long long)id);
    else
        print_report(&report, json);
    maintenance_report_free(&report);
    return status;
}
