/* cmd_hub.c: the hub from the command line: sluice topic create | list |
 * describe | publish | consume, sluice subscription create | pause |
 * resume | list. */
#include <stdio.h>
#include <stdlib.h>

#include "../control/control.h"
#include "../hub/hub.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/json.h"
#include "../util/mem.h"
#include "../util/units.h"
#include "cli.h"
#include "jsonl.h"
#include "listing.h"
#include "load.h"

#define MAX_REPORTED_LINES 20

/* --at TIME, or now. */
static int time_flag(const struct command *cmd, const char *text, int64_t *ms)
{
    struct error err;
    if (!text) {
        *ms = clock_now_ms();
        return EXIT_OK;
    }
    if (parse_utc(text, ms, &err) < 0)
        return cli_usage_error(cmd, "--at: %s", err.message);
    return EXIT_OK;
}

static int check_name(const struct command *cmd, const char *what,
                      const char *name)
{
    if (!config_valid_name(name, strlen(name)))
        return cli_usage_error(cmd,
                               "%s name '%s' must be 1 to 64 letters, "
                               "digits, '_' or '-'",
                               what, name);
    return EXIT_OK;
}

static int parse_days(const struct command *cmd, const char *flag,
                      const char *text, int64_t *out)
{
    struct error err;
    if (text && parse_int(text, out, &err) < 0)
        return cli_usage_error(cmd, "%s: %s", flag, err.message);
    return EXIT_OK;
}

/* A retention plugin on the search path, or a message. */
static int check_retention(const char *config, const char *name)
{
    struct config cfg;
    struct registry reg;
    struct diags d = {0};
    struct error err;
    int status = EXIT_OK;
    if (load_config_and_plugins(config, false, &cfg, &reg, &d, &err) < 0) {
        status = cli_error(EXIT_USAGE, "%s", err.message);
    } else {
        const struct plugin *p = registry_find(&reg, name);
        if (!p || p->kind != PLUGIN_RETENTION)
            status = cli_error(EXIT_USAGE,
                               "--retention: '%s' is not a "
                               "retention plugin found on the "
                               "plugin path (see 'sluice "
                               "plugins list')",
                               name);
    }
    diags_free(&d);
    config_free(&cfg);
    registry_free(&reg);
    return status;
}

int cmd_topic_create(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    const char *consumed = NULL, *unconsumed = NULL, *retention = "retention";
    struct flag flags[] = {STORE_FLAGS(sf),
                           OPTION("--consumed-retention-days", &consumed),
                           OPTION("--unconsumed-retention-days", &unconsumed),
                           OPTION("--retention", &retention)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (status != CLI_GO_ON)
        return status;
    if (!nargs)
        return cli_usage_error(cmd, "give one topic name");
    const char *name = argv[0];
    int64_t c = 1, u = -1;
    if ((status = check_name(cmd, "topic", name)) != EXIT_OK ||
        (status = parse_days(cmd, "--consumed-retention-days", consumed,
                             &c)) != EXIT_OK ||
        (status = parse_days(cmd, "--unconsumed-retention-days", unconsumed,
                             &u)) != EXIT_OK)
        return status;
    if (u < 0)
        u = c > 7 ? c : 7;
    struct error err;
    struct store *s;
    if (topic_check(c, u, &err) < 0)
        return cli_error(EXIT_USAGE, "topic '%s': %s", name, err.message);
    if ((status = check_retention(sf.config, retention)) != EXIT_OK ||
        (status = cli_open_store(&sf, STORE_CREATE, &s)) != EXIT_OK)
        return status;
    struct topic t = {(char *)name, c, u, (char *)retention, 0};
    if (topic_create(s, &t, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    printf("topic '%s' created: consumed_retention_days = %lld, "
           "unconsumed_retention_days = %lld, retention = %s\n",
           name, (long long)c, (long long)u, retention);
    return EXIT_OK;
}

/* Events, records and bytes of a topic, by consumption status. */
int cmd_topic_list(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    bool json = false;
    struct flag flags[] = {STORE_FLAGS(sf), FLAG("--json", &json)};
    size_t nargs;
    struct store *s;
    int status = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (status != CLI_GO_ON ||
        (status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    struct topic *t;
    size_t n;
    struct error err;
    struct control_result r;
    if (topic_list(s, &t, &n, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    struct listing l;
    listing_begin(&l, json, "topics");
    if (!json)
        buf_printf(&l.out, "%-24s %9s %11s %-12s %8s %10s\n", "TOPIC",
                   "CONSUMED", "UNCONSUMED", "RETENTION", "EVENTS", "RECORDS");
    for (size_t i = 0; i < n && status == EXIT_OK; i++) {
        struct control_topic_counts c;
        if (control_topic_count(s, t[i].name, &c, &r) < 0) {
            status = cli_error(EXIT_RUNTIME, "%s", r.err.message);
        } else if (json) {
            control_topic_summary_json(&t[i], &c, &l.j);
        } else {
            buf_printf(&l.out, "%-24s %8lldd %10lldd %-12s %8lld %10lld\n",
                       cli_shown(t[i].name),
                       (long long)t[i].consumed_retention_days,
                       (long long)t[i].unconsumed_retention_days,
                       cli_shown(t[i].retention), (long long)c.events,
                       (long long)c.records);
        }
    }
    listing_end(&l, status == EXIT_OK);
    topics_free(t, n);
    return status;
}

static void print_topic(const struct topic *t,
                        const struct control_topic_counts *c,
                        const struct subscription *subs, size_t nsubs)
{
    char a[40], b[40];
    printf("topic %s\n  consumed_retention_days:   %lld\n"
           "  unconsumed_retention_days: %lld\n  retention:                 "
           "%s\n",
           cli_shown(t->name), (long long)t->consumed_retention_days,
           (long long)t->unconsumed_retention_days, cli_shown(t->retention));
    printf("  publication events:        %lld (%lld records, %lld bytes)\n",
           (long long)c->events, (long long)c->records, (long long)c->bytes);
    if (c->events) {
        format_utc(c->oldest, a, sizeof a);
        format_utc(c->newest, b, sizeof b);
        printf("  published:                 %s to %s\n", a, b);
    }
    printf("  consumption:               final %lld, processing %lld, "
           "delayed %lld, error %lld\n",
           (long long)c->by_consumption[SLUICE_CONSUMPTION_FINAL],
           (long long)c->by_consumption[SLUICE_CONSUMPTION_PROCESSING],
           (long long)c->by_consumption[SLUICE_CONSUMPTION_DELAYED],
           (long long)c->by_consumption[SLUICE_CONSUMPTION_ERROR]);
    printf("  subscriptions:\n");
    for (size_t i = 0; i < nsubs; i++)
        if (strcmp(subs[i].topic, t->name) == 0)
            printf("    %-24s %-7s %lld event(s) to read\n",
                   cli_shown(subs[i].name),
                   subs[i].paused ? "paused" : "active",
                   (long long)subs[i].pending);
}

static int print_topic_json(struct store *s, const char *name)
{
    struct buf out = {0};
    struct json j = JSON_INIT(&out);
    struct control_result r;
    int status = EXIT_OK;
    if (control_topic_json(s, name, &j, &r) < 0)
        status = cli_error(r.outcome == CONTROL_NOT_FOUND ? EXIT_USAGE
                                                          : EXIT_RUNTIME,
                           "%s", r.err.message);
    else
        printf("%s\n", out.data);
    buf_free(&out);
    return status;
}

int cmd_topic_describe(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    bool json = false;
    struct flag flags[] = {STORE_FLAGS(sf), FLAG("--json", &json)};
    size_t nargs;
    struct store *s;
    int status = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (status != CLI_GO_ON)
        return status;
    if (!nargs)
        return cli_usage_error(cmd, "give one topic name");
    if ((status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    const char *name = argv[0];
    struct topic t;
    bool found;
    struct error err;
    struct control_topic_counts c;
    struct subscription *subs = NULL;
    size_t nsubs = 0;
    if (json)
        return print_topic_json(s, name);
    if (topic_get(s, name, &t, &found, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    if (!found)
        return cli_error(EXIT_USAGE, "there is no topic named '%s'", name);
    struct control_result r;
    if (control_topic_count(s, name, &c, &r) < 0)
        status = cli_error(EXIT_RUNTIME, "%s", r.err.message);
    else if (subscription_list(s, &subs, &nsubs, &err) < 0)
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    else
        print_topic(&t, &c, subs, nsubs);
    topic_free(&t);
    subscriptions_free(subs, nsubs);
    return status;
}

/* Reads every line of standard input into the batch; every bad line is
 * reported with its number, and then nothing is published. */
static int read_records(struct sluice_batch *batch)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, bad = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        size_t blank = strspn(line, " \t");
        if ((size_t)n == blank)
            continue;
        struct error err;
        if (jsonl_parse(line, (size_t)n, batch, &err) < 0) {
            if (bad++ < MAX_REPORTED_LINES)
                cli_error(EXIT_USAGE, "standard input, line %ld: %s", lineno,
                          err.message);
        }
    }
    free(line);
    if (bad) {
        fprintf(stderr, "%ld bad line(s); nothing was published\n", bad);
        return EXIT_USAGE;
    }
    if (batch->count == 0)
        return cli_error(EXIT_USAGE, "no records on standard input; nothing "
                                     "was published");
    return EXIT_OK;
}

int cmd_topic_publish(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    const char *at = NULL;
    struct flag flags[] = {STORE_FLAGS(sf), OPTION("--at", &at)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (status != CLI_GO_ON)
        return status;
    if (!nargs)
        return cli_usage_error(cmd, "give one topic name");
    const char *topic = argv[0];
    int64_t at_ms, id;
    if ((status = time_flag(cmd, at, &at_ms)) != EXIT_OK)
        return status;
    struct sluice_batch batch;
    struct store *s;
    struct error err;
    batch_init(&batch, 0, 0);
    status = read_records(&batch);
    if (status == EXIT_OK)
        status = cli_open_store(&sf, STORE_WRITE, &s);
    if (status == EXIT_OK &&
        hub_publish(s, topic, NULL, &batch, at_ms, &id, &err) < 0)
        status = cli_error(strstr(err.message, "no topic") ? EXIT_USAGE
                                                           : EXIT_RUNTIME,
                           "%s; nothing was published", err.message);
    else if (status == EXIT_OK)
        printf("published %zu record(s) to topic '%s' as publication event "
               "%lld\n",
               batch.count, topic, (long long)id);
    batch_free(&batch);
    return status;
}

/* Prints an event's records; false when standard output failed. */
static bool print_event(const struct hub_event *e)
{
    struct buf out = {0};
    for (size_t i = 0; i < e->batch.count; i++) {
        sluice_record r = {.size = sizeof r};
        batch_get(&e->batch, i, &r);
        jsonl_format(&r, &out);
        buf_puts(&out, "\n");
    }
    bool ok =
        fwrite(out.data ? out.data : "", 1, out.len, stdout) == out.len &&
        fflush(stdout) == 0;
    buf_free(&out);
    return ok;
}

/* The subscription exists and reads `topic`. */
static int check_subscription(struct store *s, const char *sub,
                              const char *topic)
{
    struct subscription info;
    bool found;
    struct error err;
    if (subscription_get(s, sub, &info, &found, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    if (!found)
        return cli_error(EXIT_USAGE,
                         "there is no subscription named '%s' "
                         "(sluice subscription create %s "
                         "--topic %s)",
                         sub, sub, topic);
    int status = strcmp(info.topic, topic) == 0
                     ? EXIT_OK
                     : cli_error(EXIT_USAGE,
                                 "subscription '%s' reads topic "
                                 "'%s', not '%s'",
                                 sub, info.topic, topic);
    subscription_free(&info);
    return status;
}

/* Prints the records of the subscription's next publication event and
 * completes it; EXIT_OK with *found false when there is none. */
static int consume_event(struct store *s, const char *sub, int64_t at_ms,
                         bool *found, long *records)
{
    struct hub_event e;
    struct error err;
    if (hub_take(s, sub, at_ms, &e, found, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    if (!*found)
        return EXIT_OK;
    bool printed = print_event(&e);
    int64_t id = e.publication;
    *records += (long)e.batch.count;
    hub_event_free(&e);
    if (!printed)
        return cli_error(EXIT_RUNTIME,
                         "writing the records of publication "
                         "%lld failed; it stays unconsumed",
                         (long long)id);
    if (hub_complete(s, sub, id, at_ms, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    return EXIT_OK;
}

int cmd_topic_consume(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    const char *at = NULL, *sub = NULL, *max = NULL;
    struct flag flags[] = {STORE_FLAGS(sf), OPTION("--at", &at),
                           OPTION("--subscription", &sub),
                           OPTION("--max-events", &max)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (status != CLI_GO_ON)
        return status;
    if (!nargs || !sub)
        return cli_usage_error(cmd, "give a topic and --subscription NAME");
    const char *topic = argv[0];
    int64_t at_ms, limit = INT64_MAX;
    struct error err;
    struct store *s;
    if ((status = time_flag(cmd, at, &at_ms)) != EXIT_OK)
        return status;
    if (max && (parse_int(max, &limit, &err) < 0 || limit < 1))
        return cli_usage_error(cmd, "--max-events: expected a positive "
                                    "integer");
    if ((status = cli_open_store(&sf, STORE_WRITE, &s)) != EXIT_OK ||
        (status = check_subscription(s, sub, topic)) != EXIT_OK)
        return status;
    long events = 0, records = 0;
    bool found = true;
    while (status == EXIT_OK && found && events < limit) {
        status = consume_event(s, sub, at_ms, &found, &records);
        events += status == EXIT_OK && found;
    }
    fprintf(stderr, "consumed %ld publication event(s), %ld record(s)\n",
            events, records);
    return status;
}

int cmd_subscription_create(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    const char *topic = NULL, *at = NULL;
    struct flag flags[] = {STORE_FLAGS(sf), OPTION("--topic", &topic),
                           OPTION("--at", &at)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (status != CLI_GO_ON)
        return status;
    if (!nargs || !topic)
        return cli_usage_error(cmd, "give a subscription name and --topic");
    const char *name = argv[0];
    int64_t at_ms;
    struct store *s;
    struct error err;
    if ((status = check_name(cmd, "subscription", name)) != EXIT_OK ||
        (status = time_flag(cmd, at, &at_ms)) != EXIT_OK ||
        (status = cli_open_store(&sf, STORE_WRITE, &s)) != EXIT_OK)
        return status;
    if (subscription_create(s, name, topic, NULL, at_ms, &err) < 0)
        return cli_error(strstr(err.message, "no topic") ? EXIT_USAGE
                                                         : EXIT_RUNTIME,
                         "%s", err.message);
    printf("subscription '%s' created on topic '%s'; publication events "
           "from now on are owed to it\n",
           name, topic);
    return EXIT_OK;
}

static int set_paused(const struct command *cmd, int argc, char **argv,
                      bool paused)
{
    struct store_flags sf = {0};
    struct flag flags[] = {STORE_FLAGS(sf)};
    size_t nargs;
    struct store *s;
    int status = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (status != CLI_GO_ON)
        return status;
    if (!nargs)
        return cli_usage_error(cmd, "give one subscription name");
    if ((status = cli_open_store(&sf, STORE_WRITE, &s)) != EXIT_OK)
        return status;
    struct control_result r;
    if (control_subscription_pause(s, argv[0], paused, &r) < 0)
        return cli_error(r.outcome == CONTROL_NOT_FOUND ? EXIT_USAGE
                                                        : EXIT_RUNTIME,
                         "%s", r.err.message);
    printf("subscription '%s' %s\n", argv[0], paused ? "paused" : "resumed");
    return EXIT_OK;
}

int cmd_subscription_pause(const struct command *cmd, int argc, char **argv)
{
    return set_paused(cmd, argc, argv, true);
}

int cmd_subscription_resume(const struct command *cmd, int argc, char **argv)
{
    return set_paused(cmd, argc, argv, false);
}

int cmd_subscription_list(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    bool json = false;
    struct flag flags[] = {STORE_FLAGS(sf), FLAG("--json", &json)};
    size_t nargs;
    struct store *s;
    int status = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (status != CLI_GO_ON ||
        (status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    struct subscription *subs;
    size_t n;
    struct error err;
    if (subscription_list(s, &subs, &n, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    struct listing l;
    listing_begin(&l, json, "subscriptions");
    if (!json)
        buf_printf(&l.out, "%-24s %-24s %-7s %8s  %s\n", "SUBSCRIPTION",
                   "TOPIC", "STATE", "TO READ", "PIPE");
    for (size_t i = 0; i < n; i++) {
        const char *state = subs[i].paused ? "paused" : "active";
        if (json) {
            control_subscription_json(&subs[i], &l.j);
        } else {
            buf_printf(&l.out, "%-24s %-24s %-7s %8lld  %s\n",
                       cli_shown(subs[i].name), cli_shown(subs[i].topic),
                       state, (long long)subs[i].pending,
                       subs[i].pipe ? cli_shown(subs[i].pipe) : "-");
        }
    }
    listing_end(&l, true);
    subscriptions_free(subs, n);
    return EXIT_OK;
}
