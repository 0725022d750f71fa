/* health.c: the /health page (see health.h). A pipe is judged from what
 * the store says of it: its state and since when, its run of retries and
 * since when, its tables' lag and status. Texts are masked by the JSON
 * writer (util/json.h). */
#include "health.h"

#include <stdarg.h>
#include <stdlib.h>

#include "../util/json.h"
#include "../util/mem.h"
#include "../util/units.h"

static const char *const status_names[] = {"ok", "degraded", "failing"};

const char *health_status_name(enum health_status status)
{
    return status_names[status];
}

/* A pipe's status and the reasons for it, each a line of its own. */
struct verdict {
    enum health_status status;
    char **reasons;
    size_t count, cap;
};

static void reason(struct verdict *v, enum health_status status,
                   const char *fmt, ...) SLUICE_PRINTF(3, 4);
static void reason(struct verdict *v, enum health_status status,
                   const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    XGROW(v->reasons, v->cap, v->count + 1);
    v->reasons[v->count++] = buf_take(&b);
    if (status > v->status)
        v->status = status;
}

static void verdict_free(struct verdict *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->reasons[i]);
    free(v->reasons);
}

/* A duration to the second, as options are written ("2m5s"). */
static const char *seconds(int64_t ms, char *out, size_t size)
{
    format_duration(ms < 1000 ? ms : ms / 1000 * 1000, out, size);
    return out;
}

static void judge_retries(const struct pipe_row *p, int64_t now,
                          const struct health_limits *l, struct verdict *v)
{
    if (!p->retry_count || !p->retrying_since)
        return;
    int64_t for_ms = now - p->retrying_since;
    if (for_ms < l->retrying_ms)
        return;
    char d[32], max[32];
    reason(v, HEALTH_DEGRADED,
           "retrying for %s (%lld retries; health_max_retrying is %s): %s",
           seconds(for_ms, d, sizeof d), (long long)p->retry_count,
           seconds(l->retrying_ms, max, sizeof max),
           p->last_error ? p->last_error : "no error recorded");
}

static void judge_state(const struct pipe_row *p, int64_t now,
                        const struct health_limits *l, struct verdict *v)
{
    if (p->state == STATE_FAILED) {
        reason(v, HEALTH_FAILING, "failed: %s",
               p->last_error ? p->last_error : "no error recorded");
        return;
    }
    if (p->state != STATE_PROVISIONING && p->state != STATE_SETUP)
        return;
    int64_t for_ms = now - p->state_since;
    if (for_ms < l->setup_ms)
        return;
    char d[32], max[32];
    reason(v, HEALTH_DEGRADED, "in %s for %s (health_max_setup is %s)",
           pipe_state_name(p->state), seconds(for_ms, d, sizeof d),
           seconds(l->setup_ms, max, sizeof max));
}

static void judge_tables(const struct pipe_row *p,
                         const struct health_limits *l, struct verdict *v)
{
    for (size_t i = 0; i < p->table_count; i++) {
        const struct pipe_table *t = &p->tables[i];
        char d[32], max[32];
        if (t->status == TABLE_FAILED)
            reason(v, HEALTH_DEGRADED, "table %s failed: %s", t->name,
                   t->note);
        else if (t->status == TABLE_ACTIVE && l->lag_ms > 0 &&
                 t->lag_ms > l->lag_ms)
            reason(v, HEALTH_DEGRADED,
                   "table %s: lag %s, above health_max_lag (%s)", t->name,
                   seconds(t->lag_ms, d, sizeof d),
                   seconds(l->lag_ms, max, sizeof max));
    }
}

static void judge(const struct pipe_view *pv, int64_t now,
                  const struct health_limits *l, struct verdict *v)
{
    judge_state(&pv->row, now, l, v);
    judge_retries(&pv->row, now, l, v);
    judge_tables(&pv->row, l, v);
}

static void write_reasons(struct json *j, const struct verdict *v)
{
    json_open_array(j, "reasons");
    for (size_t i = 0; i < v->count; i++)
        json_add_string(j, NULL, v->reasons[i]);
    json_close_array(j);
}

static void write_pipe(struct json *j, const struct pipe_view *pv,
                       const struct verdict *v)
{
    const struct pipe_row *p = &pv->row;
    json_open_object(j, p->name);
    json_add_string(j, "status", health_status_name(v->status));
    write_reasons(j, v);
    json_add_string(j, "state", pipe_state_name(p->state));
    json_add_time(j, "state_since", p->state_since);
    json_add_int(j, "retries", p->retry_count);
    json_add_time(j, "retrying_since",
                  p->retry_count && p->retrying_since ? p->retrying_since
                                                      : -1);
    json_add_string(j, "last_error", p->last_error);
    json_add_time(j, "last_error_at",
                  p->last_error_at > 0 ? p->last_error_at : -1);
    json_add_count(j, "lag_ms", pipe_lag_ms(p));
    json_add_int(j, "backlog_events", pv->backlog_events);
    json_add_int(j, "backlog_records", pv->backlog_records);
    json_open_object(j, "failed_tables");
    for (size_t t = 0; t < p->table_count; t++)
        if (p->tables[t].status == TABLE_FAILED)
            json_add_string(j, p->tables[t].name, p->tables[t].note);
    json_close_object(j);
    json_close_object(j);
}

/* The store could not be read: every pipe's status is unknown. */
static void write_unavailable(struct json *j, const struct view *v)
{
    json_add_string(j, "status", health_status_name(HEALTH_FAILING));
    json_open_array(j, "reasons");
    json_add_string(j, NULL, v->store_error);
    json_close_array(j);
    json_open_object(j, "store");
    json_add_string(j, "status", health_status_name(HEALTH_FAILING));
    json_add_string(j, "error", v->store_error);
    json_close_object(j);
    json_open_object(j, "pipes");
    for (size_t i = 0; i < v->name_count; i++) {
        json_open_object(j, v->names[i]);
        json_add_string(j, "status", "unknown");
        json_close_object(j);
    }
    json_close_object(j);
}

enum health_status health_page(const struct view *v,
                               const struct health_limits *limits,
                               struct buf *out)
{
    struct json j = JSON_INIT(out);
    json_open_object(&j, NULL);
    if (!v->store_ok) {
        write_unavailable(&j, v);
        json_close_object(&j);
        buf_puts(out, "\n");
        return HEALTH_FAILING;
    }
    struct verdict *verdicts = xcalloc(v->count + 1, sizeof *verdicts);
    enum health_status status = HEALTH_OK;
    for (size_t i = 0; i < v->count; i++) {
        judge(&v->pipes[i], v->now_ms, limits, &verdicts[i]);
        if (verdicts[i].status > status)
            status = verdicts[i].status;
    }
    json_add_string(&j, "status", health_status_name(status));
    json_open_array(&j, "reasons");
    for (size_t i = 0; i < v->count; i++)
        for (size_t r = 0; r < verdicts[i].count; r++) {
            struct buf line = {0};
            buf_printf(&line, "pipe %s: %s", v->pipes[i].row.name,
                       verdicts[i].reasons[r]);
            json_add_string(&j, NULL, line.data);
            buf_free(&line);
        }
    json_close_array(&j);
    json_open_object(&j, "store");
    json_add_string(&j, "status", health_status_name(HEALTH_OK));
    json_close_object(&j);
    json_open_object(&j, "pipes");
    for (size_t i = 0; i < v->count; i++) {
        write_pipe(&j, &v->pipes[i], &verdicts[i]);
        verdict_free(&verdicts[i]);
    }
    free(verdicts);
    json_close_object(&j);
    json_close_object(&j);
    buf_puts(out, "\n");
    return status;
}
