/* lifecycle.c: transitions and the flows of spec/lifecycle.md (see
 * lifecycle.h). */
#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "../util/units.h"

/* A flow step: from the state the pipe must be in to the one the spec
 * names, decided by `next` from the pipe's row. */
typedef enum pipe_state (*next_fn)(const struct pipe_row *row,
                                   enum pipe_context *context);

/* What a snapshot loaded, for the log line of its end: its tables' rows
 * and bytes, and the time since it began. */
struct snapshot_figures {
    int64_t rows, bytes, duration_ms;
};

/* What the steps of this file, each run in a transaction of its own
 * (store_transaction), are given: the pipe and what the step needs. */
struct change {
    const char *pipe;
    const struct pipe_def *def; /* register */
    enum pipe_state from, to;   /* transition; flows: from */
    enum pipe_context context;  /* transition */
    next_fn next;               /* flows */
    const char *reason;         /* the transition's; a failure's message */
    const struct snapshot_figures *figures; /* the end of a snapshot */
};

/* A transition's log line, written once the transaction that made the
 * transition has committed: the log never tells of a state the store
 * does not have. */
struct transition_line {
    char *pipe, *from, *to, *context, *reason;
    bool has_figures;
    struct snapshot_figures figures;
};

static void write_line(const struct transition_line *t)
{
    const struct snapshot_figures *f = &t->figures;
    struct log_field fields[] = {LOG_TEXT("from", t->from[0] ? t->from : NULL),
                                 LOG_TEXT("to", t->to),
                                 LOG_TEXT("reason", t->reason),
                                 LOG_TEXT("context",
                                          t->context[0] ? t->context : NULL),
                                 LOG_INT("rows", f->rows),
                                 LOG_INT("bytes", f->bytes),
                                 LOG_INT("duration_ms", f->duration_ms),
                                 LOG_END};
    if (!t->has_figures)
        fields[4] = (struct log_field)LOG_END;
    struct buf message = {0};
    if (t->from[0])
        buf_printf(&message, "%s -> ", t->from);
    buf_printf(&message, "%s: %s", t->to, t->reason);
    if (t->has_figures) {
        char duration[64];
        format_duration(f->duration_ms, duration, sizeof duration);
        buf_printf(&message, ": %lld rows, %lld bytes in %s",
                   (long long)f->rows, (long long)f->bytes, duration);
    }
    bool failed = !strcmp(t->to, pipe_state_name(STATE_FAILED));
    log_pipe(failed ? SLUICE_LOG_ERROR : SLUICE_LOG_INFO, t->pipe, NULL,
             fields, "%s", message.data);
    buf_free(&message);
}

static void log_transition(void *arg, bool committed)
{
    struct transition_line *t = arg;
    if (committed)
        write_line(t);
    free(t->pipe);
    free(t->from);
    free(t->to);
    free(t->context);
    free(t->reason);
    free(t);
}

/* The log line of a transition written in the open transaction. */
static void log_when_committed(struct store *s, const char *pipe,
                               const char *from, const char *to,
                               enum pipe_context context, const char *reason,
                               const struct snapshot_figures *figures)
{
    struct transition_line *t = xcalloc(1, sizeof *t);
    *t = (struct transition_line){xstrdup(pipe),
                                  xstrdup(from),
                                  xstrdup(to),
                                  xstrdup(pipe_context_name(context)),
                                  xstrdup(reason ? reason : ""),
                                  figures != NULL,
                                  figures ? *figures
                                          : (struct snapshot_figures){0}};
    store_after(s, log_transition, t);
}

static int write_transition(struct store *s, const char *pipe,
                            const char *from, const char *to,
                            const char *reason, int64_t at, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_INT(at), DBV_TEXT(from),
                           DBV_TEXT(to), DBV_MESSAGE(reason)};
    return store_exec(s,
                      "INSERT INTO transitions (pipe, at, from_state, "
                      "to_state, reason) VALUES ($1, $2, $3, $4, $5)",
                      p, 5, NULL, err);
}

static int insert_table(struct store *s, const char *pipe, const char *table,
                        enum table_status status, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(table),
                           DBV_TEXT(table_status_name(status))};
    return store_exec(s,
                      "INSERT INTO pipe_tables (pipe, name, status) VALUES "
                      "($1, $2, $3)",
                      p, 3, NULL, err);
}

static int do_register(struct store *s, void *arg, struct error *err)
{
    const struct change *c = arg;
    const struct pipe_def *d = c->def;
    int64_t now = clock_now_ms();
    struct db_value p[] = {DBV_TEXT(d->name),
                           DBV_TEXT(d->source),
                           DBV_TEXT(d->sink),
                           DBV_TEXT(d->topic),
                           DBV_TEXT(d->mode),
                           DBV_TEXT(d->settings),
                           DBV_TEXT(pipe_state_name(STATE_PROVISIONING)),
                           DBV_INT(now),
                           DBV_TEXT(pipe_context_name(CONTEXT_INITIAL))};
    if (store_exec(s,
                   "INSERT INTO pipes (name, source, sink, topic, mode, "
                   "settings, state, state_since, state_context, created_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)",
                   p, 9, NULL, err) < 0)
        return -1;
    for (size_t i = 0; i < d->table_count; i++)
        if (insert_table(s, d->name, d->tables[i], TABLE_ACTIVE, err) < 0)
            return -1;
    if (write_transition(s, d->name, "", pipe_state_name(STATE_PROVISIONING),
                         c->reason, now, err) < 0)
        return -1;
    log_when_committed(s, d->name, "", pipe_state_name(STATE_PROVISIONING),
                       CONTEXT_INITIAL, c->reason, NULL);
    return 0;
}

int lifecycle_register(struct store *s, const struct pipe_def *def,
                       const char *reason, struct error *err)
{
    struct change c = {.def = def, .reason = reason};
    return store_transaction(s, do_register, &c, err);
}

/* Requests in progress end with the state they aimed for. */
static int settle_requests(struct store *s, const char *pipe,
                           enum pipe_state to, const char *reason, int64_t now,
                           struct error *err)
{
    const char *status = to == STATE_FAILED ? "failed" : "done";
    if (to != STATE_RUNNING && to != STATE_PAUSED && to != STATE_COMPLETED &&
        to != STATE_FAILED)
        return 0;
    struct db_value p[] = {DBV_TEXT(status), DBV_INT(now),
                           DBV_MESSAGE(to == STATE_FAILED ? reason : ""),
                           DBV_TEXT(pipe)};
    return store_exec(s,
                      "UPDATE requests SET status = $1, updated_at = $2, "
                      "message = $3 WHERE pipe = $4 AND status = "
                      "'in_progress'",
                      p, 4, NULL, err);
}

static int not_in_state(struct store *s, const char *pipe,
                        enum pipe_state expected, struct error *err)
{
    struct pipe_row row;
    bool found;
    if (pipe_load(s, pipe, &row, &found, err) < 0)
        return -1;
    if (!found)
        return error_set(err, "there is no pipe named '%s'", pipe);
    error_set(err, "pipe '%s' is %s, not %s", pipe, pipe_state_name(row.state),
              pipe_state_name(expected));
    pipe_row_free(&row);
    return -1;
}

static int do_transition(struct store *s, const struct change *c,
                         struct error *err)
{
    const char *pipe = c->pipe, *reason = c->reason;
    enum pipe_state from = c->from, to = c->to;
    enum pipe_context context = c->context;
    int64_t now = clock_now_ms();
    struct db_value p[] = {DBV_TEXT(pipe_state_name(to)), DBV_INT(now),
                           DBV_TEXT(pipe_context_name(context)),
                           DBV_TEXT(pipe), DBV_TEXT(pipe_state_name(from))};
    struct db_result r;
    if (store_exec(s,
                   "UPDATE pipes SET state = $1, state_since = $2, "
                   "state_context = $3 WHERE name = $4 AND state = $5",
                   p, 5, &r, err) < 0)
        return -1;
    int64_t changed = r.changes;
    db_result_free(&r);
    if (changed != 1)
        return not_in_state(s, pipe, from, err);
    if (write_transition(s, pipe, pipe_state_name(from), pipe_state_name(to),
                         reason, now, err) < 0 ||
        settle_requests(s, pipe, to, reason, now, err) < 0)
        return -1;
    log_when_committed(s, pipe, pipe_state_name(from), pipe_state_name(to),
                       context, reason, c->figures);
    return 0;
}

/* A transition the state table allows, else an error naming where the
 * pipe may go. */
static int transition_step(struct store *s, void *arg, struct error *err)
{
    const struct change *c = arg;
    if (!pipe_state_can_go(c->from, c->to)) {
        char next[128];
        pipe_state_successors(c->from, next, sizeof next);
        return error_set(err,
                         "pipe '%s' cannot go from %s to %s; from %s it "
                         "may go to %s",
                         c->pipe, pipe_state_name(c->from),
                         pipe_state_name(c->to), pipe_state_name(c->from),
                         next[0] ? next : "nothing");
    }
    return do_transition(s, c, err);
}

int lifecycle_transition(struct store *s, const char *pipe,
                         enum pipe_state from, enum pipe_state to,
                         enum pipe_context context, const char *reason,
                         struct error *err)
{
    struct change c = {.pipe = pipe,
                       .from = from,
                       .to = to,
                       .context = context,
                       .reason = reason};
    return store_transaction(s, transition_step, &c, err);
}

/* Loads the pipe inside the current transaction, for the flows. */
static int load(struct store *s, const char *pipe, struct pipe_row *row,
                struct error *err)
{
    bool found;
    if (pipe_load(s, pipe, row, &found, err) < 0)
        return -1;
    if (!found)
        return error_set(err, "there is no pipe named '%s'", pipe);
    return 0;
}

static int do_fail(struct store *s, void *arg, struct error *err)
{
    const struct change *c = arg;
    const char *pipe = c->pipe, *message = c->reason;
    struct pipe_row row;
    if (load(s, pipe, &row, err) < 0)
        return -1;
    enum pipe_state from = row.state;
    pipe_row_free(&row);
    if (from == STATE_FAILED || from == STATE_COMPLETED)
        return error_set(err, "pipe '%s' is %s and cannot fail: %s", pipe,
                         pipe_state_name(from), message);
    struct db_value p[] = {DBV_MESSAGE(message), DBV_TEXT(pipe),
                           DBV_INT(clock_now_ms())};
    if (store_exec(s,
                   "UPDATE pipes SET last_error = $1, last_error_at = $3 "
                   "WHERE name = $2",
                   p, 3, NULL, err) < 0)
        return -1;
    struct change failed = {.pipe = pipe,
                            .from = from,
                            .to = STATE_FAILED,
                            .context = CONTEXT_NONE,
                            .reason = message};
    return do_transition(s, &failed, err);
}

int lifecycle_fail(struct store *s, const char *pipe, const char *message,
                   struct error *err)
{
    struct change c = {.pipe = pipe, .reason = message};
    return store_transaction(s, do_fail, &c, err);
}

int lifecycle_retry(struct store *s, const char *pipe, const char *message,
                    struct error *err)
{
    struct db_value p[] = {DBV_MESSAGE(message), DBV_TEXT(pipe),
                           DBV_INT(clock_now_ms())};
    return store_exec(s,
                      "UPDATE pipes SET retry_count = retry_count + 1, "
                      "last_error = $1, last_error_at = $3, retrying_since = "
                      "CASE WHEN retry_count = 0 OR retrying_since = 0 THEN "
                      "$3 ELSE retrying_since END WHERE name = $2",
                      p, 3, NULL, err);
}

int lifecycle_retry_clear(struct store *s, const char *pipe, struct error *err)
{
    struct db_value p = DBV_TEXT(pipe);
    return store_exec(s,
                      "UPDATE pipes SET retry_count = 0, retrying_since = 0 "
                      "WHERE name = $1 AND retry_count <> 0",
                      &p, 1, NULL, err);
}

static int set_table_status(struct store *s, const char *pipe,
                            enum table_status from, enum table_status to,
                            struct error *err)
{
    struct db_value p[] = {DBV_TEXT(table_status_name(to)), DBV_TEXT(pipe),
                           DBV_TEXT(table_status_name(from))};
    return store_exec(s,
                      "UPDATE pipe_tables SET status = $1 WHERE pipe = $2 "
                      "AND status = $3",
                      p, 3, NULL, err);
}

/* A table's status with the reason as its note; its rate stops. */
static int table_status_with(struct store *s, const char *pipe,
                             const char *table, enum table_status status,
                             const char *reason, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(table_status_name(status)),
                           DBV_MESSAGE(reason), DBV_TEXT(pipe),
                           DBV_TEXT(table)};
    return store_exec(s,
                      "UPDATE pipe_tables SET status = $1, note = $2, "
                      "rows_per_s = 0 WHERE pipe = $3 AND name = $4",
                      p, 4, NULL, err);
}

int lifecycle_table_fail(struct store *s, const char *pipe, const char *table,
                         const char *reason, struct error *err)
{
    return table_status_with(s, pipe, table, TABLE_FAILED, reason, err);
}

int lifecycle_table_stop(struct store *s, const char *pipe, const char *table,
                         const char *reason, struct error *err)
{
    return table_status_with(s, pipe, table, TABLE_STOPPED, reason, err);
}

/* The flow of a change (pipe, from, next, reason, figures), inside the
 * caller's transaction. */
static int flow_step(struct store *s, void *arg, struct error *err)
{
    const struct change *c = arg;
    struct pipe_row row;
    if (load(s, c->pipe, &row, err) < 0)
        return -1;
    if (row.state != c->from) {
        error_set(err, "pipe '%s' is %s, not %s", c->pipe,
                  pipe_state_name(row.state), pipe_state_name(c->from));
        pipe_row_free(&row);
        return -1;
    }
    struct change t = *c;
    t.context = row.context;
    t.to = c->next(&row, &t.context);
    pipe_row_free(&row);
    return transition_step(s, &t, err);
}

static struct change flow_of(const char *pipe, enum pipe_state from,
                             next_fn next, const char *reason)
{
    return (struct change){.pipe = pipe,
                           .from = from,
                           .next = next,
                           .reason = reason};
}

static int do_flow(struct store *s, const char *pipe, enum pipe_state from,
                   next_fn next, const char *reason, struct error *err)
{
    struct change c = flow_of(pipe, from, next, reason);
    return flow_step(s, &c, err);
}

/* Runs the flow from `from` in a transaction of its own. */
static int flow(struct store *s, const char *pipe, enum pipe_state from,
                next_fn next, const char *reason, struct error *err)
{
    struct change c = flow_of(pipe, from, next, reason);
    return store_transaction(s, flow_step, &c, err);
}

/* Runs `step` on the pipe in a transaction of its own. */
static int on_pipe(struct store *s, const char *pipe, store_step step,
                   struct error *err)
{
    struct change c = {.pipe = pipe};
    return store_transaction(s, step, &c, err);
}

static enum pipe_state after_provisioning(const struct pipe_row *row,
                                          enum pipe_context *context)
{
    (void)row;
    *context = CONTEXT_INITIAL;
    return STATE_SETUP;
}

int lifecycle_provisioned(struct store *s, const char *pipe, struct error *err)
{
    return flow(s, pipe, STATE_PROVISIONING, after_provisioning,
                "plugins loaded and connections open", err);
}

/* cdc-only pipes have nothing to load, but for a resync. */
static enum pipe_state after_setup(const struct pipe_row *row,
                                   enum pipe_context *context)
{
    bool resync = row->context == CONTEXT_RESYNC;
    if (pipe_mode_of(row) == PIPE_MODE_CDC && !resync) {
        *context = CONTEXT_NONE;
        return STATE_RUNNING;
    }
    return STATE_SNAPSHOT;
}

static int do_setup_done(struct store *s, void *arg, struct error *err)
{
    const char *pipe = ((const struct change *)arg)->pipe;
    if (do_flow(s, pipe, STATE_SETUP, after_setup, "destination tables ready",
                err) < 0)
        return -1;
    /* cdc-only: added tables are followed from now on */
    struct pipe_row row;
    if (load(s, pipe, &row, err) < 0)
        return -1;
    bool running = row.state == STATE_RUNNING;
    pipe_row_free(&row);
    return running ? set_table_status(s, pipe, TABLE_ADDING, TABLE_ACTIVE, err)
                   : 0;
}

int lifecycle_setup_done(struct store *s, const char *pipe, struct error *err)
{
    return on_pipe(s, pipe, do_setup_done, err);
}

static enum pipe_state after_snapshot(const struct pipe_row *row,
                                      enum pipe_context *context)
{
    if (row->context == CONTEXT_RESYNC)
        return STATE_RESYNC;
    *context = CONTEXT_NONE;
    return pipe_mode_of(row) == PIPE_MODE_SNAPSHOT ? STATE_COMPLETED
                                                   : STATE_RUNNING;
}

/* What the snapshot of the pipe in `row` loaded: every table's, or when
 * tables were added, the added ones'. */
static struct snapshot_figures loaded(const struct pipe_row *row, int64_t now)
{
    struct snapshot_figures f = {0, 0, now - row->state_since};
    for (size_t i = 0; i < row->table_count; i++) {
        const struct pipe_table *t = &row->tables[i];
        if (row->context == CONTEXT_ADD && t->status != TABLE_ADDING)
            continue;
        f.rows += t->rows_copied;
        f.bytes += t->bytes_copied;
    }
    return f;
}

static int do_snapshot_done(struct store *s, void *arg, struct error *err)
{
    const char *pipe = ((const struct change *)arg)->pipe;
    struct pipe_row row;
    if (load(s, pipe, &row, err) < 0)
        return -1;
    struct snapshot_figures figures = loaded(&row, clock_now_ms());
    pipe_row_free(&row);
    if (set_table_status(s, pipe, TABLE_ADDING, TABLE_ACTIVE, err) < 0)
        return -1;
    struct change c = {.pipe = pipe,
                       .from = STATE_SNAPSHOT,
                       .next = after_snapshot,
                       .reason = "snapshot loaded",
                       .figures = &figures};
    return flow_step(s, &c, err);
}

int lifecycle_snapshot_done(struct store *s, const char *pipe,
                            struct error *err)
{
    return on_pipe(s, pipe, do_snapshot_done, err);
}

static enum pipe_state after_resync(const struct pipe_row *row,
                                    enum pipe_context *context)
{
    *context = CONTEXT_NONE;
    return pipe_mode_of(row) == PIPE_MODE_SNAPSHOT ? STATE_COMPLETED
                                                   : STATE_RUNNING;
}

int lifecycle_resync_done(struct store *s, const char *pipe, struct error *err)
{
    return flow(s, pipe, STATE_RESYNC, after_resync,
                "resync tables swapped in", err);
}

static enum pipe_state after_pausing(const struct pipe_row *row,
                                     enum pipe_context *context)
{
    (void)row;
    *context = CONTEXT_NONE;
    return STATE_PAUSED;
}

int lifecycle_pause_done(struct store *s, const char *pipe, struct error *err)
{
    return flow(s, pipe, STATE_PAUSING, after_pausing,
                "batch in flight finished and checkpointed", err);
}

/* Back where the modification came from. */
static enum pipe_state after_modifying(const struct pipe_row *row,
                                       enum pipe_context *context)
{
    *context = CONTEXT_NONE;
    return row->context == CONTEXT_FROM_PAUSED ? STATE_PAUSED : STATE_RUNNING;
}

static int do_modify_done(struct store *s, void *arg, struct error *err)
{
    const char *pipe = ((const struct change *)arg)->pipe;
    struct db_value p[] = {DBV_TEXT(pipe),
                           DBV_TEXT(table_status_name(TABLE_REMOVING))};
    if (store_exec(s,
                   "DELETE FROM checkpoints WHERE pipe = $1 AND tbl IN "
                   "(SELECT name FROM pipe_tables WHERE pipe = $1 AND status "
                   "= $2)",
                   p, 2, NULL, err) < 0 ||
        store_exec(s,
                   "DELETE FROM pipe_tables WHERE pipe = $1 AND status = $2",
                   p, 2, NULL, err) < 0)
        return -1;
    return do_flow(s, pipe, STATE_MODIFYING, after_modifying, "tables removed",
                   err);
}

int lifecycle_modify_done(struct store *s, const char *pipe, struct error *err)
{
    return on_pipe(s, pipe, do_modify_done, err);
}

static int do_recover(struct store *s, void *arg, struct error *err)
{
    const char *pipe = ((const struct change *)arg)->pipe;
    struct pipe_row row;
    if (load(s, pipe, &row, err) < 0)
        return -1;
    enum pipe_state state = row.state;
    pipe_row_free(&row);
    if (state != STATE_PAUSING)
        return 0;
    return do_flow(s, pipe, STATE_PAUSING, after_pausing,
                   "worker restarted: the pause completes (no batch was in "
                   "flight)",
                   err);
}

int lifecycle_recover(struct store *s, const char *pipe, struct error *err)
{
    return on_pipe(s, pipe, do_recover, err);
}

int lifecycle_history(struct store *s, const char *pipe,
                      struct transition **out, size_t *count,
                      struct error *err)
{
    struct db_value p = DBV_TEXT(pipe);
    struct db_result r;
    if (store_exec(s,
                   "SELECT id, at, from_state, to_state, reason FROM "
                   "transitions WHERE pipe = $1 ORDER BY id",
                   &p, 1, &r, err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        (*out)[i] = (struct transition){db_int(&r, i, 0), db_int(&r, i, 1),
                                        xstrdup(db_text(&r, i, 2)),
                                        xstrdup(db_text(&r, i, 3)),
                                        redact_dup(db_text(&r, i, 4))};
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

void transitions_free(struct transition *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(t[i].from);
        free(t[i].to);
        free(t[i].reason);
    }
    free(t);
}
