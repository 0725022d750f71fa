/* cmd_status.c: sluice status [PIPE] and sluice history PIPE, as text for
 * people and --json for programs. */
#include <stdio.h>
#include <stdlib.h>

#include "../hub/hub.h"
#include "../lifecycle/figures.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../store/leases.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/json.h"
#include "../util/mem.h"
#include "cli.h"
#include "load.h"

struct status_flags {
    const char *store, *config;
    bool json;
};

static int parse(const struct command *cmd, int argc, char **argv,
                 struct status_flags *f, char ***pos, size_t *npos)
{
    struct flag flags[] = {{"--store", &f->store, NULL},
                           {"--config", &f->config, NULL},
                           {"--json", NULL, &f->json}};
    return cli_parse(cmd, argc, argv, flags, 3, pos, npos);
}

static const char *utc(int64_t ms, char *out, size_t size)
{
    format_utc(ms, out, size);
    return out;
}

static char *lease_of(struct store *s, const char *pipe, int64_t *expires)
{
    char *name = pipe_lease_name(pipe), *owner = NULL;
    struct error err;
    lease_holder(s, name, &owner, expires, &err);
    free(name);
    return owner;
}

/* The pipe's deliveries: publication events its subscription has yet to
 * complete (-1: unknown), and whether an operator paused it. */
struct deliveries {
    int64_t waiting;
    bool paused;
};

static struct deliveries deliveries_of(struct store *s, const char *pipe)
{
    struct deliveries d = {-1, false};
    struct subscription sub;
    bool exists;
    struct error err;
    if (hub_backlog(s, pipe, &d.waiting, &err) < 0)
        d.waiting = -1;
    if (subscription_get(s, pipe, &sub, &exists, &err) == 0 && exists) {
        d.paused = sub.paused;
        subscription_free(&sub);
    }
    return d;
}

/* A count, or null when negative (unknown). */
static void json_int_or_null(struct buf *b, int64_t v)
{
    if (v < 0)
        buf_puts(b, "null");
    else
        buf_printf(b, "%lld", (long long)v);
}

static void json_pipe(struct store *s, const struct pipe_row *p,
                      struct buf *b)
{
    char t[40];
    int64_t expires = 0;
    char *worker = lease_of(s, p->name, &expires);
    buf_puts(b, "{\"name\":");
    json_string(b, p->name);
    buf_puts(b, ",\"state\":");
    json_string(b, pipe_state_name(p->state));
    buf_puts(b, ",\"since\":");
    json_string(b, utc(p->state_since, t, sizeof t));
    buf_puts(b, ",\"source\":");
    json_string(b, p->source);
    buf_puts(b, ",\"sink\":");
    json_string(b, p->sink);
    buf_puts(b, ",\"topic\":");
    json_string(b, p->topic);
    buf_puts(b, ",\"mode\":");
    json_string(b, p->mode);
    buf_puts(b, ",\"worker\":");
    json_string(b, worker);
    buf_printf(b, ",\"retry_count\":%lld,\"batches\":%lld,\"last_error\":",
               (long long)p->retry_count, (long long)p->batches);
    json_string(b, p->last_error);
    buf_printf(b, ",\"rows\":%lld,\"lag_ms\":", (long long)pipe_rows(p));
    json_int_or_null(b, pipe_lag_ms(p));
    struct deliveries d = deliveries_of(s, p->name);
    buf_puts(b, ",\"waiting\":");
    json_int_or_null(b, d.waiting);
    buf_printf(b, ",\"subscription_paused\":%s", d.paused ? "true" : "false");
    buf_puts(b, ",\"tables\":[");
    for (size_t i = 0; i < p->table_count; i++) {
        const struct pipe_table *tb = &p->tables[i];
        buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        json_string(b, tb->name);
        buf_puts(b, ",\"status\":");
        json_string(b, table_status_name(tb->status));
        buf_printf(b, ",\"rows\":%lld,\"rows_estimated\":",
                   (long long)tb->rows_copied);
        json_int_or_null(b, tb->rows_estimated);
        buf_printf(b, ",\"bytes\":%lld,\"rows_per_s\":%lld,\"eta_s\":",
                   (long long)tb->bytes_copied, (long long)tb->rows_per_s);
        json_int_or_null(b, pipe_table_eta_s(tb));
        buf_puts(b, ",\"lag_ms\":");
        json_int_or_null(b, tb->lag_ms);
        buf_puts(b, ",\"note\":");
        json_string(b, tb->note && tb->note[0] ? tb->note : NULL);
        buf_puts(b, "}");
    }
    buf_puts(b, "]}");
    free(worker);
}


static void text_pipe_detail(struct store *s, const struct pipe_row *p)
{
    char t[40], lag[32];
    int64_t expires = 0;
    char *worker = lease_of(s, p->name, &expires);
    printf("pipe %s\n", cli_shown(p->name));
    printf("  state:      %s since %s\n", pipe_state_name(p->state),
           utc(p->state_since, t, sizeof t));
    printf("  source:     %s\n  sink:       %s\n  topic:      %s\n"
           "  mode:       %s\n",
           cli_shown(p->source), cli_shown(p->sink), cli_shown(p->topic),
           cli_shown(p->mode));
    if (worker)
        printf("  worker:     %s (lease for %llds more)\n", cli_shown(worker),
               (long long)(expires / 1000));
    else
        printf("  worker:     none\n");
    printf("  retries:    %lld\n  last error: %s\n", (long long)p->retry_count,
           p->last_error ? cli_shown(p->last_error) : "-");
    figure_lag(pipe_lag_ms(p), lag, sizeof lag);
    printf("  rows:       %lld\n  lag:        %s\n", (long long)pipe_rows(p),
           lag);
    printf("  batches:    %lld\n", (long long)p->batches);
    struct deliveries d = deliveries_of(s, p->name);
    if (d.waiting >= 0)
        printf("  waiting:    %lld publication event(s)", (long long)d.waiting);
    else
        printf("  waiting:    unknown");
    if (d.paused)
        printf("; held: its subscription is paused (sluice subscription "
               "resume %s)", cli_shown(p->name));
    printf("\n");
    printf("  tables:\n");
    struct buf b = {0};
    figures_header(&b, "    ");
    for (size_t i = 0; i < p->table_count; i++)
        figures_line(&b, "    ", &p->tables[i]);
    fputs(b.data, stdout);
    buf_free(&b);
    struct request *reqs;
    size_t n;
    struct error err;
    if (requests_of(s, p->name, 5, &reqs, &n, &err) == 0) {
        if (n)
            printf("  recent requests:\n");
        for (size_t i = 0; i < n; i++)
            printf("    %lld %-13s %-11s %s%s%s\n", (long long)reqs[i].id,
                   request_kind_name(reqs[i].kind), reqs[i].status,
                   utc(reqs[i].created_at, t, sizeof t),
                   reqs[i].message[0] ? "  " : "", cli_shown(reqs[i].message));
        requests_free(reqs, n);
    }
    free(worker);
}

static void text_pipe_line(const struct pipe_row *p)
{
    char t[40], lag[32];
    figure_lag(pipe_lag_ms(p), lag, sizeof lag);
    printf("%-20s %-13s %-22s %12lld %8s %7lld  %s\n", cli_shown(p->name),
           pipe_state_name(p->state), utc(p->state_since, t, sizeof t),
           (long long)pipe_rows(p), lag, (long long)p->retry_count,
           p->last_error ? cli_shown(p->last_error) : "-");
}

int cmd_status(const struct command *cmd, int argc, char **argv)
{
    struct status_flags f = {0};
    char **pos;
    size_t npos;
    int rc = parse(cmd, argc, argv, &f, &pos, &npos);
    if (rc != 0)
        return rc < 0 ? EXIT_USAGE : EXIT_OK;
    if (npos > 1) {
        free(pos);
        return cli_usage_error(cmd, "give at most one pipe");
    }
    struct store *s = NULL;
    int status = open_store(f.store, f.config, STORE_READ, &s);
    char **names = NULL;
    size_t count = 0;
    struct error err;
    if (status == EXIT_OK && npos == 1) {
        names = xcalloc(2, sizeof *names);
        names[0] = xstrdup(pos[0]);
        count = 1;
    } else if (status == EXIT_OK && pipe_names(s, &names, &count, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_RUNTIME;
    }
    struct buf json = {0};
    if (status == EXIT_OK && npos == 0 && !f.json)
        printf("%-20s %-13s %-22s %12s %8s %7s  %s\n", "PIPE", "STATE",
               "SINCE", "ROWS", "LAG", "RETRIES", "LAST ERROR");
    if (npos == 0)
        buf_puts(&json, "{\"pipes\":[");
    for (size_t i = 0; status == EXIT_OK && i < count; i++) {
        struct pipe_row p;
        bool found;
        if (pipe_load(s, names[i], &p, &found, &err) < 0) {
            fprintf(stderr, "error: %s\n", err.message);
            status = EXIT_RUNTIME;
        } else if (!found) {
            fprintf(stderr, "error: there is no pipe named '%s'\n", names[i]);
            status = EXIT_USAGE;
        } else {
            if (f.json) {
                if (i)
                    buf_puts(&json, ",");
                json_pipe(s, &p, &json);
            } else if (npos == 1) {
                text_pipe_detail(s, &p);
            } else {
                text_pipe_line(&p);
            }
            pipe_row_free(&p);
        }
    }
    if (npos == 0)
        buf_puts(&json, "]}");
    if (status == EXIT_OK && f.json)
        printf("%s\n", json.data);
    buf_free(&json);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    free(pos);
    store_close(s);
    return status;
}

int cmd_history(const struct command *cmd, int argc, char **argv)
{
    struct status_flags f = {0};
    char **pos;
    size_t npos;
    int rc = parse(cmd, argc, argv, &f, &pos, &npos);
    if (rc != 0)
        return rc < 0 ? EXIT_USAGE : EXIT_OK;
    if (npos != 1) {
        free(pos);
        return cli_usage_error(cmd, "give one pipe");
    }
    const char *pipe = pos[0];
    struct store *s;
    int status = open_store(f.store, f.config, STORE_READ, &s);
    if (status != EXIT_OK) {
        free(pos);
        return status;
    }
    struct pipe_row p;
    bool found;
    struct error err;
    struct transition *t = NULL;
    size_t n = 0;
    if (pipe_load(s, pipe, &p, &found, &err) < 0 ||
        (found && lifecycle_history(s, pipe, &t, &n, &err) < 0)) {
        fprintf(stderr, "error: %s\n", err.message);
        status = EXIT_RUNTIME;
    } else if (!found) {
        fprintf(stderr, "error: there is no pipe named '%s'\n", pipe);
        status = EXIT_USAGE;
    } else {
        pipe_row_free(&p);
        struct buf out = {0};
        char at[40];
        if (f.json)
            buf_puts(&out, "[");
        else
            buf_printf(&out, "%-24s %-13s %-13s %s\n", "AT", "FROM", "TO",
                       "REASON");
        for (size_t i = 0; i < n; i++) {
            utc(t[i].at, at, sizeof at);
            if (f.json) {
                buf_puts(&out, i ? ",{\"at\":" : "{\"at\":");
                json_string(&out, at);
                buf_puts(&out, ",\"from\":");
                json_string(&out, t[i].from[0] ? t[i].from : NULL);
                buf_puts(&out, ",\"to\":");
                json_string(&out, t[i].to);
                buf_puts(&out, ",\"reason\":");
                json_string(&out, t[i].reason);
                buf_puts(&out, "}");
            } else {
                buf_printf(&out, "%-24s %-13s %-13s %s\n", at,
                           t[i].from[0] ? t[i].from : "-", t[i].to,
                           cli_shown(t[i].reason));
            }
        }
        if (f.json)
            buf_puts(&out, "]\n");
        fputs(out.data, stdout);
        buf_free(&out);
    }
    transitions_free(t, n);
    free(pos);
    store_close(s);
    return status;
}
