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

/* One line (or JSON object) of the listing, whatever its type. */
struct line {
    int64_t at;
    int order; /* publications, then subscriptions, then system, by id */
    int64_t id;
    struct buf text, json;
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

static struct line *add_line(struct line **lines, size_t *n, size_t *cap,
                             int64_t at, int order, int64_t id)
{
    XGROW(*lines, *cap, *n + 1);
    struct line *l = &(*lines)[(*n)++];
    memset(l, 0, sizeof *l);
    l->at = at;
    l->order = order;
    l->id = id;
    return l;
}

int cmd_events(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *topic = NULL,
               *since = NULL;
    bool json = false;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--topic", &topic, NULL},
                           {"--since", &since, NULL},
                           {"--json", NULL, &json}};
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
    }
    struct line *lines = NULL;
    size_t n = 0, cap = 0;
    char t[40];
    for (size_t i = 0; i < npubs; i++) {
        struct line *l = add_line(&lines, &n, &cap, pubs[i].published_at, 0,
                                  pubs[i].id);
        buf_printf(&l->text, "publication   %-6lld topic=%s records=%lld "
                             "status=%s consumption=%s",
                   (long long)pubs[i].id, cli_shown(pubs[i].topic),
                   (long long)pubs[i].records, pubs[i].status,
                   consumption_name(pubs[i].consumption));
        if (pubs[i].final_at)
            buf_printf(&l->text, " final_at=%s",
                       (format_utc(pubs[i].final_at, t, sizeof t), t));
        buf_printf(&l->json, "{\"type\":\"publication\",\"id\":%lld,\"at\":",
                   (long long)pubs[i].id);
        json_string(&l->json, (format_utc(pubs[i].published_at, t, sizeof t), t));
        buf_puts(&l->json, ",\"topic\":");
        json_string(&l->json, pubs[i].topic);
        buf_printf(&l->json, ",\"records\":%lld,\"bytes\":%lld,\"status\":",
                   (long long)pubs[i].records, (long long)pubs[i].bytes);
        json_string(&l->json, pubs[i].status);
        buf_puts(&l->json, ",\"consumption\":");
        json_string(&l->json, consumption_name(pubs[i].consumption));
        buf_printf(&l->json, ",\"owed\":%lld,\"consumed\":%lld,"
                             "\"final_at\":",
                   (long long)pubs[i].owed, (long long)pubs[i].consumed);
        json_string(&l->json, pubs[i].final_at
                                  ? (format_utc(pubs[i].final_at, t, sizeof t), t)
                                  : NULL);
        buf_puts(&l->json, "}");
    }
    for (size_t i = 0; i < nsubs; i++) {
        struct line *l = add_line(&lines, &n, &cap, subs[i].at, 1, subs[i].id);
        buf_printf(&l->text, "subscription  %-6lld subscription=%s "
                             "publication=%lld status=%s%s%s",
                   (long long)subs[i].id, cli_shown(subs[i].subscription),
                   (long long)subs[i].publication, subs[i].status,
                   subs[i].message[0] ? " message=" : "",
                   cli_shown(subs[i].message));
        buf_printf(&l->json, "{\"type\":\"subscription\",\"id\":%lld,\"at\":",
                   (long long)subs[i].id);
        json_string(&l->json, (format_utc(subs[i].at, t, sizeof t), t));
        buf_puts(&l->json, ",\"subscription\":");
        json_string(&l->json, subs[i].subscription);
        buf_puts(&l->json, ",\"topic\":");
        json_string(&l->json, subs[i].topic[0] ? subs[i].topic : NULL);
        buf_printf(&l->json, ",\"publication\":%lld,\"status\":",
                   (long long)subs[i].publication);
        json_string(&l->json, subs[i].status);
        buf_puts(&l->json, ",\"message\":");
        json_string(&l->json, subs[i].message);
        buf_puts(&l->json, "}");
    }
    for (size_t i = 0; i < nsys; i++) {
        struct line *l = add_line(&lines, &n, &cap, sys[i].at, 2, sys[i].id);
        format_utc(sys[i].as_of, t, sizeof t);
        buf_printf(&l->text, "system        %-6lld %s as of %s status=%s: %s",
                   (long long)sys[i].id, cli_shown(sys[i].kind), t,
                   sys[i].status, cli_shown(sys[i].summary));
        buf_printf(&l->json, "{\"type\":\"system\",\"id\":%lld,\"kind\":",
                   (long long)sys[i].id);
        json_string(&l->json, sys[i].kind);
        buf_puts(&l->json, ",\"at\":");
        json_string(&l->json, (format_utc(sys[i].at, t, sizeof t), t));
        buf_puts(&l->json, ",\"as_of\":");
        json_string(&l->json, (format_utc(sys[i].as_of, t, sizeof t), t));
        buf_puts(&l->json, ",\"status\":");
        json_string(&l->json, sys[i].status);
        buf_puts(&l->json, ",\"summary\":");
        json_string(&l->json, sys[i].summary);
        buf_puts(&l->json, "}");
    }
    if (status == EXIT_OK) {
        qsort(lines, n, sizeof *lines, compare_lines);
        if (json)
            printf("{\"events\":[");
        for (size_t i = 0; i < n; i++) {
            if (json) {
                printf("%s%s", i ? "," : "", lines[i].json.data);
            } else {
                format_utc(lines[i].at, t, sizeof t);
                printf("%-24s %s\n", t, lines[i].text.data);
            }
        }
        if (json)
            printf("]}\n");
    }
    for (size_t i = 0; i < n; i++) {
        buf_free(&lines[i].text);
        buf_free(&lines[i].json);
    }
    free(lines);
    publications_free(pubs, npubs);
    subscription_events_free(subs, nsubs);
    system_events_free(sys, nsys);
    store_close(s);
    return status;
}

static void print_report(const struct maintenance_report *r, bool json)
{
    char t[40];
    struct buf out = {0};
    if (json) {
        buf_printf(&out, "{\"event\":");
        if (r->dry_run)
            buf_puts(&out, "null");
        else
            buf_printf(&out, "%lld", (long long)r->event);
        buf_puts(&out, ",\"as_of\":");
        json_string(&out, (format_utc(r->as_of, t, sizeof t), t));
        buf_puts(&out, ",\"at\":");
        json_string(&out, (format_utc(r->at, t, sizeof t), t));
        buf_printf(&out, ",\"dry_run\":%s,\"status\":",
                   r->dry_run ? "true" : "false");
        json_string(&out, r->status);
        buf_puts(&out, ",\"topics\":[");
    } else {
        format_utc(r->as_of, t, sizeof t);
        if (r->dry_run)
            buf_printf(&out, "maintenance dry run as of %s (nothing "
                             "deleted)\n",
                       t);
        else
            buf_printf(&out, "maintenance run %lld as of %s: %s\n",
                       (long long)r->event, t, r->status);
        buf_printf(&out, "%-24s %-22s %-12s %10s %12s\n", "TOPIC", "CUTOFF",
                   "RULE", "EVENTS", "RECORDS");
    }
    for (size_t i = 0; i < r->topic_count; i++) {
        const struct topic_report *tr = &r->topics[i];
        const struct rule_report *h = topic_report_headline(tr);
        int64_t events = 0, records = 0;
        for (size_t j = 0; j < tr->rule_count; j++) {
            events += tr->rules[j].events;
            records += tr->rules[j].records;
        }
        if (json) {
            buf_puts(&out, i ? ",{\"topic\":" : "{\"topic\":");
            json_string(&out, tr->topic);
            buf_puts(&out, ",\"cutoff\":");
            json_string(&out, h ? (format_utc(h->cutoff, t, sizeof t), t)
                                : NULL);
            buf_puts(&out, ",\"rule\":");
            json_string(&out, h ? h->rule : NULL);
            buf_printf(&out, ",\"events_deleted\":%lld,\"records_deleted\":%lld"
                             ",\"rules\":[",
                       (long long)events, (long long)records);
            for (size_t j = 0; j < tr->rule_count; j++) {
                const struct rule_report *rr = &tr->rules[j];
                buf_puts(&out, j ? ",{\"rule\":" : "{\"rule\":");
                json_string(&out, rr->rule);
                buf_puts(&out, ",\"cutoff\":");
                json_string(&out, rr->cutoff >= 0
                                      ? (format_utc(rr->cutoff, t, sizeof t), t)
                                      : NULL);
                buf_printf(&out, ",\"events_deleted\":%lld,"
                                 "\"records_deleted\":%lld}",
                           (long long)rr->events, (long long)rr->records);
            }
            buf_puts(&out, "],\"error\":");
            json_string(&out, tr->message[0] ? tr->message : NULL);
            buf_puts(&out, "}");
        } else {
            buf_printf(&out, "%-24s %-22s %-12s %10lld %12lld\n",
                       cli_shown(tr->topic),
                       h ? (format_utc(h->cutoff, t, sizeof t), t) : "-",
                       h ? cli_shown(h->rule) : "-", (long long)events,
                       (long long)records);
            for (size_t j = 0; j < tr->rule_count; j++) {
                const struct rule_report *rr = &tr->rules[j];
                if (rr == h)
                    continue;
                buf_printf(&out, "  %-22s %-22s %-12s %10lld %12lld\n", "",
                           rr->cutoff >= 0
                               ? (format_utc(rr->cutoff, t, sizeof t), t)
                               : "-",
                           cli_shown(rr->rule), (long long)rr->events,
                           (long long)rr->records);
            }
            if (tr->message[0])
                buf_printf(&out, "  error: %s\n", cli_shown(tr->message));
        }
    }
    if (json)
        buf_puts(&out, "]}\n");
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
