/* cmd_events.c: sluice events, sluice maintenance run | report. */
#include <stdio.h>
#include <stdlib.h>

#include "../control/control.h"
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

/* Each event is a line of text. */
static void show_publication(const struct publication_info *p)
{
    char t[40];
    printf("%-24s publication   %-6lld topic=%s records=%lld status=%s "
           "consumption=%s",
           format_utc(p->published_at, t, sizeof t), (long long)p->id,
           cli_shown(p->topic), (long long)p->records, p->status,
           consumption_name(p->consumption));
    if (p->final_at)
        printf(" final_at=%s", format_utc(p->final_at, t, sizeof t));
    printf("\n");
}

static void show_subscription(const struct subscription_event_info *e)
{
    char t[40];
    printf("%-24s subscription  %-6lld subscription=%s publication=%lld "
           "status=%s%s%s\n",
           format_utc(e->at, t, sizeof t), (long long)e->id,
           cli_shown(e->subscription), (long long)e->publication, e->status,
           e->message[0] ? " message=" : "", cli_shown(e->message));
}

static void show_system(const struct system_event_info *e)
{
    char t[40], as_of[40];
    printf("%-24s system        %-6lld %s as of %s status=%s: %s\n",
           format_utc(e->at, t, sizeof t), (long long)e->id,
           cli_shown(e->kind), format_utc(e->as_of, as_of, sizeof as_of),
           e->status, cli_shown(e->summary));
}

/* Prints the events as they are read; JSON is written out every 64 KiB. */
static int show_events(struct control_events *ev, bool json, struct error *err)
{
    struct listing l;
    listing_begin(&l, json, "events");
    int rc;
    struct control_event e;
    while ((rc = control_events_next(ev, &e, err)) == 1) {
        if (json)
            control_event_json(&e, &l.j);
        else if (e.type == CONTROL_EVENT_PUBLICATION)
            show_publication(e.event);
        else if (e.type == CONTROL_EVENT_SUBSCRIPTION)
            show_subscription(e.event);
        else
            show_system(e.event);
        cli_shown_forget();
        if (l.out.len > 65536) {
            fputs(l.out.data, stdout);
            buf_reset(&l.out);
        }
    }
    listing_end(&l, rc == 0);
    return rc;
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
    struct control_events *ev;
    struct control_result r;
    if (control_events_open(s, topic, since_ms, NULL, &ev, &r) < 0)
        return cli_error(r.outcome == CONTROL_NOT_FOUND ? EXIT_USAGE
                                                        : EXIT_RUNTIME,
                         "%s", r.err.message);
    if (show_events(ev, json, &err) < 0)
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    control_events_close(ev);
    return status;
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
        control_report_totals(tr, &events, &records);
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
    if (json) {
        struct json j = JSON_INIT(&out);
        control_report_json(r, &j);
        buf_puts(&out, "\n");
    } else
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
    struct control_result r;
    if ((status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    if (control_report_load(s, id, &report, &r) < 0)
        status = cli_error(r.outcome == CONTROL_NOT_FOUND ? EXIT_USAGE
                                                          : EXIT_RUNTIME,
                           "%s", r.err.message);
    else
        print_report(&report, json);
    maintenance_report_free(&report);
    return status;
}
