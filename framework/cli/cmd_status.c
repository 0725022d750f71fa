/* cmd_status.c: sluice status [PIPE] and sluice history PIPE, as text for
 * people and --json for programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/control.h"
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
#include "listing.h"

/* The flags of status and history. */
struct status_flags {
    struct store_flags store;
    bool json;
    bool raw_bytes; /* --bytes, status only */
};

/* Parses them and opens the store: CLI_GO_ON, or the status to return.
 * At most one pipe, or with `one` exactly one (argv[0]). */
static int parse(const struct command *cmd, int argc, char **argv, bool one,
                 struct status_flags *f, size_t *npos, struct store **s)
{
    struct flag flags[] = {STORE_FLAGS(f->store), FLAG("--json", &f->json),
                           FLAG("--bytes", &f->raw_bytes)};
    /* history (one pipe) takes no --bytes, the last of the table */
    size_t nflags = sizeof flags / sizeof *flags - (one ? 1 : 0);
    int rc = cli_args(cmd, argc, argv, flags, nflags, ARGS_ANY, npos);
    if (rc != CLI_GO_ON)
        return rc;
    if (*npos > 1 || (one && *npos == 0))
        return cli_usage_error(cmd, one ? "give one pipe"
                                        : "give at most one pipe");
    rc = cli_open_store(&f->store, STORE_READ, s);
    return rc == EXIT_OK ? CLI_GO_ON : rc;
}

static void text_pipe_detail(struct store *s, const struct pipe_row *p,
                             bool raw_bytes)
{
    char t[40], lag[32];
    int64_t expires = 0;
    char *worker = control_pipe_worker(s, p->name, &expires);
    printf("pipe %s\n", cli_shown(p->name));
    printf("  state:      %s since %s\n", pipe_state_name(p->state),
           format_utc(p->state_since, t, sizeof t));
    printf("  source:     %s\n  sink:       %s\n  topic:      %s\n"
           "  mode:       %s\n",
           cli_shown(p->source), cli_shown(p->sink), cli_shown(p->topic),
           cli_shown(p->mode));
    char shown[400] = "none";
    if (worker)
        worker_shown(worker, shown, sizeof shown);
    printf("  worker:     %s", cli_shown(shown));
    if (worker)
        printf(" (lease for %llds more)", (long long)(expires / 1000));
    printf("\n");
    printf("  retries:    %lld\n  last error: %s\n", (long long)p->retry_count,
           p->last_error ? cli_shown(p->last_error) : "-");
    figure_lag(pipe_lag_ms(p), lag, sizeof lag);
    printf("  rows:       %lld\n  lag:        %s\n",
           (long long)pipe_rows(p, true), lag);
    printf("  batches:    %lld\n", (long long)p->batches);
    struct control_deliveries d = control_pipe_deliveries(s, p->name);
    if (d.waiting >= 0)
        printf("  waiting:    %lld publication event(s)",
               (long long)d.waiting);
    else
        printf("  waiting:    unknown");
    if (d.paused)
        printf("; held: its subscription is paused (sluice subscription "
               "resume %s)",
               cli_shown(p->name));
    printf("\n");
    printf("  tables:\n");
    struct buf b = {0};
    figures_header(&b, "    ");
    for (size_t i = 0; i < p->table_count; i++)
        figures_line(&b, "    ", p, &p->tables[i], raw_bytes);
    fputs(b.data, stdout);
    buf_free(&b);
    struct request *reqs;
    size_t n;
    struct error err;
    if (requests_of(s, p->name, CONTROL_RECENT_REQUESTS, &reqs, &n, &err) ==
        0) {
        if (n)
            printf("  recent requests:\n");
        for (size_t i = 0; i < n; i++)
            printf("    %lld %-13s %-11s %s%s%s\n", (long long)reqs[i].id,
                   request_kind_name(reqs[i].kind), reqs[i].status,
                   format_utc(reqs[i].created_at, t, sizeof t),
                   reqs[i].message[0] ? "  " : "", cli_shown(reqs[i].message));
        requests_free(reqs, n);
    }
    free(worker);
}

static void text_pipe_line(struct store *s, const struct pipe_row *p,
                           struct buf *out)
{
    char t[40], lag[32], shown[300] = "-";
    figure_lag(pipe_lag_ms(p), lag, sizeof lag);
    char *worker = control_pipe_worker(s, p->name, NULL);
    if (worker)
        worker_shown(worker, shown, sizeof shown);
    buf_printf(out, "%-20s %-13s %-22s %12lld %8s %7lld  %-24s %s\n",
               cli_shown(p->name), pipe_state_name(p->state),
               format_utc(p->state_since, t, sizeof t),
               (long long)pipe_rows(p, true), lag, (long long)p->retry_count,
               cli_shown(shown),
               p->last_error ? cli_shown(p->last_error) : "-");
    free(worker);
}

/* One pipe, in the form asked for: a line or an object of the listing,
 * or everything about it. */
static int show_pipe(struct store *s, const char *name,
                     const struct status_flags *f, bool detail,
                     struct listing *l)
{
    struct pipe_row p;
    int status = cli_pipe(s, name, &p);
    if (status != EXIT_OK)
        return status;
    if (f->json)
        control_pipe_json(s, &p, detail ? CONTROL_RECENT_REQUESTS : 0, &l->j);
    else if (detail)
        text_pipe_detail(s, &p, f->raw_bytes);
    else
        text_pipe_line(s, &p, &l->out);
    pipe_row_free(&p);
    return EXIT_OK;
}

int cmd_status(const struct command *cmd, int argc, char **argv)
{
    struct status_flags f = {0};
    size_t npos;
    struct store *s;
    int status = parse(cmd, argc, argv, false, &f, &npos, &s);
    if (status != CLI_GO_ON)
        return status;
    status = EXIT_OK;
    char **all = NULL;
    size_t count = npos;
    struct error err;
    if (!npos && pipe_names(s, &all, &count, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    /* every pipe: a listing; one pipe: its object alone */
    struct listing l;
    listing_begin(&l, f.json && !npos, "pipes");
    if (!npos && !f.json)
        buf_printf(&l.out, "%-20s %-13s %-22s %12s %8s %7s  %-24s %s\n",
                   "PIPE", "STATE", "SINCE", "ROWS", "LAG", "RETRIES",
                   "WORKER", "LAST ERROR");
    for (size_t i = 0; status == EXIT_OK && i < count; i++)
        status = show_pipe(s, npos ? argv[0] : all[i], &f, npos, &l);
    if (npos && f.json)
        buf_puts(&l.out, "\n");
    listing_end(&l, status == EXIT_OK);
    for (size_t i = 0; all && i < count; i++)
        free(all[i]);
    free(all);
    return status;
}

static void print_history(const struct transition *t, size_t n, bool json)
{
    struct listing l;
    char at[40];
    listing_begin(&l, json, "transitions");
    if (!json)
        buf_printf(&l.out, "%-24s %-13s %-13s %s\n", "AT", "FROM", "TO",
                   "REASON");
    for (size_t i = 0; i < n; i++) {
        if (json) {
            control_transition_json(&t[i], &l.j);
        } else {
            buf_printf(&l.out, "%-24s %-13s %-13s %s\n",
                       format_utc(t[i].at, at, sizeof at),
                       t[i].from[0] ? t[i].from : "-", t[i].to,
                       cli_shown(t[i].reason));
        }
    }
    listing_end(&l, true);
}

int cmd_history(const struct command *cmd, int argc, char **argv)
{
    struct status_flags f = {0};
    size_t npos;
    struct store *s;
    int status = parse(cmd, argc, argv, true, &f, &npos, &s);
    if (status != CLI_GO_ON)
        return status;
    const char *pipe = argv[0];
    struct pipe_row p;
    struct error err;
    struct transition *t;
    size_t n;
    if ((status = cli_pipe(s, pipe, &p)) != EXIT_OK)
        return status;
    pipe_row_free(&p);
    if (lifecycle_history(s, pipe, &t, &n, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    print_history(t, n, f.json);
    transitions_free(t, n);
    return EXIT_OK;
}
