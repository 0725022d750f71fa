/* cmd_hub.c: the hub from the command line: sluice topic create | list |
 * describe | publish | consume, sluice subscription create | pause |
 * resume | list. */
#include <stdio.h>
#include <stdlib.h>

#include "../hub/hub.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/json.h"
#include "../util/mem.h"
#include "../util/units.h"
#include "cli.h"
#include "jsonl.h"
#include "load.h"

#define MAX_REPORTED_LINES 20

/* --at TIME, or now. */
static int time_flag(const struct command *cmd, const char *text,
                     int64_t *ms)
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
        return cli_usage_error(cmd, "%s name '%s' must be 1 to 64 letters, "
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
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_USAGE;
    } else {
        const struct plugin *p = registry_find(&reg, name);
        if (!p || p->kind != PLUGIN_RETENTION) {
            fprintf(stderr, "error: --retention: '%s' is not a retention "
                            "plugin found on the plugin path (see 'sluice "
                            "plugins list')\n",
                    name);
            status = EXIT_USAGE;
        }
    }
    diags_free(&d);
    config_free(&cfg);
    registry_free(&reg);
    return status;
}

int cmd_topic_create(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *consumed = NULL,
               *unconsumed = NULL, *retention = "retention";
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--consumed-retention-days", &consumed, NULL},
                           {"--unconsumed-retention-days", &unconsumed, NULL},
                           {"--retention", &retention, NULL}};
    const char *name = NULL;
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 5, &name, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!name)
        return cli_usage_error(cmd, "give one topic name");
    int64_t c = 1, u = -1;
    int status = check_name(cmd, "topic", name);
    if (status == EXIT_OK)
        status = parse_days(cmd, "--consumed-retention-days", consumed, &c);
    if (status == EXIT_OK)
        status = parse_days(cmd, "--unconsumed-retention-days", unconsumed, &u);
    if (status != EXIT_OK)
        return status;
    if (u < 0)
        u = c > 7 ? c : 7;
    struct error err;
    if (topic_check(c, u, &err) < 0) {
        fprintf(stderr, "error: topic '%s': %s\n", name, err.message);
        return EXIT_USAGE;
    }
    if ((status = check_retention(config, retention)) != EXIT_OK)
        return status;
    struct store *s;
    if ((status = open_store(store_url, config, STORE_CREATE, &s)) !=
        EXIT_OK)
        return status;
    struct topic t = {(char *)name, c, u, (char *)retention, 0};
    if (topic_create(s, &t, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_RUNTIME;
    } else {
        printf("topic '%s' created: consumed_retention_days = %lld, "
               "unconsumed_retention_days = %lld, retention = %s\n",
               name, (long long)c, (long long)u, retention);
    }
    store_close(s);
    return status;
}

/* Events, records and bytes of a topic, by consumption status. */
struct topic_counts {
    int64_t events, records, bytes, oldest, newest;
    int64_t by_consumption[5];
};

static int count_topic(struct store *s, const char *topic,
                       struct topic_counts *c, struct error *err)
{
    struct publication_info *p;
    size_t n;
    memset(c, 0, sizeof *c);
    if (hub_publications(s, topic, INT64_MIN, INT64_MAX, &p, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        c->events++;
        c->records += p[i].records;
        c->bytes += p[i].bytes;
        c->by_consumption[p[i].consumption]++;
        if (i == 0)
            c->oldest = p[i].published_at;
        c->newest = p[i].published_at;
    }
    publications_free(p, n);
    return 0;
}

int cmd_topic_list(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL}};
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 2, NULL, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    struct store *s;
    int status = open_store(store_url, config, STORE_READ, &s);
    if (status != EXIT_OK)
        return status;
    struct topic *t;
    size_t n;
    struct error err;
    if (topic_list(s, &t, &n, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        store_close(s);
        return EXIT_RUNTIME;
    }
    printf("%-24s %9s %11s %-12s %8s %10s\n", "TOPIC", "CONSUMED", "UNCONSUMED",
           "RETENTION", "EVENTS", "RECORDS");
    for (size_t i = 0; i < n && status == EXIT_OK; i++) {
        struct topic_counts c;
        if (count_topic(s, t[i].name, &c, &err) < 0) {
            fprintf(stderr, "error: %s\n", err.message);
            status = EXIT_RUNTIME;
            break;
        }
        printf("%-24s %8lldd %10lldd %-12s %8lld %10lld\n",
               cli_shown(t[i].name), (long long)t[i].consumed_retention_days,
               (long long)t[i].unconsumed_retention_days,
               cli_shown(t[i].retention),
               (long long)c.events, (long long)c.records);
    }
    topics_free(t, n);
    store_close(s);
    return status;
}

int cmd_topic_describe(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL}};
    const char *name = NULL;
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 2, &name, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!name)
        return cli_usage_error(cmd, "give one topic name");
    struct store *s;
    int status = open_store(store_url, config, STORE_READ, &s);
    if (status != EXIT_OK)
        return status;
    struct topic t;
    bool found;
    struct error err;
    struct topic_counts c;
    struct subscription *subs = NULL;
    size_t nsubs = 0;
    if (topic_get(s, name, &t, &found, &err) < 0 ||
        (found && (count_topic(s, name, &c, &err) < 0 ||
                   subscription_list(s, &subs, &nsubs, &err) < 0))) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_RUNTIME;
    } else if (!found) {
        fprintf(stderr, "error: there is no topic named '%s'\n", name);
        status = EXIT_USAGE;
    } else {
        char a[40], b[40];
        printf("topic %s\n  consumed_retention_days:   %lld\n"
               "  unconsumed_retention_days: %lld\n  retention:                 "
               "%s\n",
               cli_shown(t.name), (long long)t.consumed_retention_days,
               (long long)t.unconsumed_retention_days, cli_shown(t.retention));
        printf("  publication events:        %lld (%lld records, %lld "
               "bytes)\n",
               (long long)c.events, (long long)c.records, (long long)c.bytes);
        if (c.events) {
            format_utc(c.oldest, a, sizeof a);
            format_utc(c.newest, b, sizeof b);
            printf("  published:                 %s to %s\n", a, b);
        }
        printf("  consumption:               final %lld, processing %lld, "
               "delayed %lld, error %lld\n",
               (long long)c.by_consumption[SLUICE_CONSUMPTION_FINAL],
               (long long)c.by_consumption[SLUICE_CONSUMPTION_PROCESSING],
               (long long)c.by_consumption[SLUICE_CONSUMPTION_DELAYED],
               (long long)c.by_consumption[SLUICE_CONSUMPTION_ERROR]);
        printf("  subscriptions:\n");
        for (size_t i = 0; i < nsubs; i++)
            if (strcmp(subs[i].topic, name) == 0)
                printf("    %-24s %-7s %lld event(s) to read\n",
                       cli_shown(subs[i].name),
                       subs[i].paused ? "paused" : "active",
                       (long long)subs[i].pending);
        topic_free(&t);
    }
    subscriptions_free(subs, nsubs);
    store_close(s);
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
                fprintf(stderr, "error: standard input, line %ld: %s\n",
                        lineno, err.message);
        }
    }
    free(line);
    if (bad) {
        fprintf(stderr, "%ld bad line(s); nothing was published\n", bad);
        return EXIT_USAGE;
    }
    if (batch->count == 0) {
        fprintf(stderr, "error: no records on standard input; nothing was "
                        "published\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cmd_topic_publish(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *at = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--at", &at, NULL}};
    const char *topic = NULL;
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 3, &topic, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!topic)
        return cli_usage_error(cmd, "give one topic name");
    int64_t at_ms;
    int status = time_flag(cmd, at, &at_ms);
    if (status != EXIT_OK)
        return status;
    struct sluice_batch batch;
    batch_init(&batch, 0, 0);
    status = read_records(&batch);
    struct store *s = NULL;
    if (status == EXIT_OK)
        status = open_store(store_url, config, STORE_WRITE, &s);
    if (status == EXIT_OK) {
        int64_t id;
        struct error err;
        if (hub_publish(s, topic, NULL, &batch, at_ms, &id, &err) < 0) {
            fprintf(stderr, "error: %s; nothing was published\n", err.message);
            status = strstr(err.message, "no topic") ? EXIT_USAGE
                                                     : EXIT_RUNTIME;
        } else {
            printf("published %zu record(s) to topic '%s' as publication "
                   "event %lld\n",
                   batch.count, topic, (long long)id);
        }
    }
    batch_free(&batch);
    store_close(s);
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
    bool ok = fwrite(out.data ? out.data : "", 1, out.len, stdout) == out.len &&
              fflush(stdout) == 0;
    buf_free(&out);
    return ok;
}

int cmd_topic_consume(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *at = NULL, *sub = NULL,
               *max = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--at", &at, NULL},
                           {"--subscription", &sub, NULL},
                           {"--max-events", &max, NULL}};
    const char *topic = NULL;
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 5, &topic, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!topic || !sub)
        return cli_usage_error(cmd, "give a topic and --subscription NAME");
    int64_t at_ms, limit = INT64_MAX;
    struct error err;
    int status = time_flag(cmd, at, &at_ms);
    if (status != EXIT_OK)
        return status;
    if (max && (parse_int(max, &limit, &err) < 0 || limit < 1))
        return cli_usage_error(cmd, "--max-events: expected a positive "
                                    "integer");
    struct store *s;
    if ((status = open_store(store_url, config, STORE_WRITE, &s)) != EXIT_OK)
        return status;
    struct subscription info;
    bool found;
    if (subscription_get(s, sub, &info, &found, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        store_close(s);
        return EXIT_RUNTIME;
    }
    if (!found || strcmp(info.topic, topic) != 0) {
        if (found)
            fprintf(stderr, "error: subscription '%s' reads topic '%s', not "
                            "'%s'\n",
                    sub, info.topic, topic);
        else
            fprintf(stderr, "error: there is no subscription named '%s' "
                            "(sluice subscription create %s --topic %s)\n",
                    sub, sub, topic);
        if (found)
            subscription_free(&info);
        store_close(s);
        return EXIT_USAGE;
    }
    subscription_free(&info);
    long events = 0, records = 0;
    while (events < limit) {
        struct hub_event e;
        if (hub_take(s, sub, at_ms, &e, &found, &err) < 0) {
            fprintf(stderr, "error: %s\n", err.message);
            status = EXIT_RUNTIME;
            break;
        }
        if (!found)
            break;
        bool printed = print_event(&e);
        int64_t id = e.publication;
        records += (long)e.batch.count;
        hub_event_free(&e);
        if (!printed) {
            fprintf(stderr, "error: writing the records of publication %lld "
                            "failed; it stays unconsumed\n",
                    (long long)id);
            status = EXIT_RUNTIME;
            break;
        }
        if (hub_complete(s, sub, id, at_ms, &err) < 0) {
            fprintf(stderr, "error: %s\n", err.message);
            status = EXIT_RUNTIME;
            break;
        }
        events++;
    }
    fprintf(stderr, "consumed %ld publication event(s), %ld record(s)\n",
            events, records);
    store_close(s);
    return status;
}

int cmd_subscription_create(const struct command *cmd, int argc, char **argv)
{
    const char *store_url = NULL, *config = NULL, *topic = NULL, *at = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL},
                           {"--topic", &topic, NULL},
                           {"--at", &at, NULL}};
    const char *name = NULL;
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 4, &name, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!name || !topic)
        return cli_usage_error(cmd, "give a subscription name and --topic");
    int64_t at_ms;
    int status = check_name(cmd, "subscription", name);
    if (status == EXIT_OK)
        status = time_flag(cmd, at, &at_ms);
    struct store *s;
    if (status != EXIT_OK ||
        (status = open_store(store_url, config, STORE_WRITE, &s)) != EXIT_OK)
        return status;
    struct error err;
    if (subscription_create(s, name, topic, NULL, at_ms, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = strstr(err.message, "no topic") ? EXIT_USAGE : EXIT_RUNTIME;
    } else {
        printf("subscription '%s' created on topic '%s'; publication events "
               "from now on are owed to it\n",
               name, topic);
    }
    store_close(s);
    return status;
}

static int set_paused(const struct command *cmd, int argc, char **argv,
                      bool paused)
{
    const char *store_url = NULL, *config = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL}};
    const char *name = NULL;
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 2, &name, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!name)
        return cli_usage_error(cmd, "give one subscription name");
    struct store *s;
    int status = open_store(store_url, config, STORE_WRITE, &s);
    if (status != EXIT_OK)
        return status;
    struct error err;
    if (subscription_set_paused(s, name, paused, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_USAGE;
    } else {
        printf("subscription '%s' %s\n", name, paused ? "paused" : "resumed");
    }
    store_close(s);
    return status;
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
    const char *store_url = NULL, *config = NULL;
    struct flag flags[] = {{"--store", &store_url, NULL},
                           {"--config", &config, NULL}};
    size_t nargs;
    int rc = cli_args(cmd, argc, argv, flags, 2, NULL, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    struct store *s;
    int status = open_store(store_url, config, STORE_READ, &s);
    if (status != EXIT_OK)
        return status;
    struct subscription *subs;
    size_t n;
    struct error err;
    if (subscription_list(s, &subs, &n, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        store_close(s);
        return EXIT_RUNTIME;
    }
    printf("%-24s %-24s %-7s %8s  %s\n", "SUBSCRIPTION", "TOPIC", "STATE",
           "TO READ", "PIPE");
    for (size_t i = 0; i < n; i++)
        printf("%-24s %-24s %-7s %8lld  %s\n", cli_shown(subs[i].name),
               cli_shown(subs[i].topic), subs[i].paused ? "paused" : "active",
               (long long)subs[i].pending,
               subs[i].pipe ? cli_shown(subs[i].pipe) : "-");
    subscriptions_free(subs, n);
    store_close(s);
    return status;
}
