/* requests.c: operator requests (see requests.h), with the table of which
 * request is legal in which state in one place. */
#include "requests.h"

#include <stdio.h>
#include <stdlib.h>

#include "../hub/hub.h"
#include "../store/leases.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "lifecycle.h"

#define BIT(s) (1u << (s))
#define ANY_STATE ((1u << STATE_COUNT) - 1)

static bool table_has_status(const struct pipe_row *pipe, const char *table,
                             enum table_status status)
{
    for (size_t i = 0; i < pipe->table_count; i++)
        if (!strcmp(pipe->tables[i].name, table))
            return pipe->tables[i].status == status;
    return false;
}

/* Removing only failed tables needs no worker (spec/lifecycle.md): it is
 * legal in any state and carried out at once. */
static bool removes_failed_only(const struct pipe_row *pipe,
                                enum request_kind kind,
                                const char *const *tables, size_t count)
{
    if (kind != REQUEST_TABLES_REMOVE || count == 0)
        return false;
    for (size_t i = 0; i < count; i++)
        if (!table_has_status(pipe, tables[i], TABLE_FAILED))
            return false;
    return true;
}

static const struct {
    const char *name;  /* as stored and shown */
    uint32_t states;   /* where it is legal */
    const char *where; /* the same, for messages */
} rules[REQUEST_KIND_COUNT] = {
    [REQUEST_PAUSE] = {"pause", BIT(STATE_RUNNING), "only when running"},
    [REQUEST_RESUME] = {"resume", BIT(STATE_PAUSED), "only when paused"},
    [REQUEST_RESYNC] = {"resync",
                        BIT(STATE_RUNNING) | BIT(STATE_PAUSED) |
                            BIT(STATE_COMPLETED) | BIT(STATE_FAILED),
                        "when running, paused, completed or failed"},
    [REQUEST_TABLES_ADD] = {"tables add",
                            BIT(STATE_RUNNING) | BIT(STATE_PAUSED),
                            "when running or paused"},
    [REQUEST_TABLES_REMOVE] = {"tables remove",
                               BIT(STATE_RUNNING) | BIT(STATE_PAUSED),
                               "when running or paused"},
    [REQUEST_DELETE] = {"pipe delete", ANY_STATE, "in any state"},
};

const char *request_kind_name(enum request_kind kind)
{
    return kind < REQUEST_KIND_COUNT ? rules[kind].name : "unknown";
}

static int kind_from_name(const char *name)
{
    for (int k = 0; k < REQUEST_KIND_COUNT; k++)
        if (strcmp(rules[k].name, name) == 0)
            return k;
    return -1;
}

int request_check(const struct pipe_row *pipe, enum request_kind kind,
                  const char *const *tables, size_t table_count,
                  struct error *err)
{
    if (!(rules[kind].states & BIT(pipe->state)) &&
        !removes_failed_only(pipe, kind, tables, table_count))
        return error_set(err,
                         "cannot %s pipe '%s': it is %s; %s is possible "
                         "%s%s",
                         rules[kind].name, pipe->name,
                         pipe_state_name(pipe->state), rules[kind].name,
                         rules[kind].where,
                         kind == REQUEST_TABLES_REMOVE
                             ? " (failed tables in any state)"
                             : "");
    if (kind != REQUEST_TABLES_ADD && kind != REQUEST_TABLES_REMOVE)
        return 0;
    if (request_check_names(pipe, kind, tables, table_count, err) < 0)
        return -1;
    size_t remaining = 0;
    for (size_t i = 0; i < pipe->table_count; i++)
        remaining += pipe->tables[i].status != TABLE_REMOVING;
    for (size_t i = 0; i < table_count; i++)
        if (kind == REQUEST_TABLES_ADD && pipe_has_table(pipe, tables[i]) &&
            !table_has_status(pipe, tables[i], TABLE_STOPPED))
            return error_set(err,
                             "cannot add table '%s' to pipe '%s': it is "
                             "already there",
                             tables[i], pipe->name);
    if (kind == REQUEST_TABLES_REMOVE && table_count >= remaining)
        return error_set(err,
                         "cannot remove every table of pipe '%s'; "
                         "delete the pipe instead (sluice pipe delete "
                         "%s)",
                         pipe->name, pipe->name);
    return 0;
}

int request_check_names(const struct pipe_row *pipe, enum request_kind kind,
                        const char *const *tables, size_t table_count,
                        struct error *err)
{
    if (kind != REQUEST_TABLES_ADD && kind != REQUEST_TABLES_REMOVE)
        return 0;
    if (table_count == 0)
        return error_set(err, "%s: name at least one table", rules[kind].name);
    for (size_t i = 0; i < table_count; i++) {
        const unsigned char *c = (const unsigned char *)tables[i];
        while (*c >= 0x20 && *c != 0x7f)
            c++;
        if (!tables[i][0] || *c)
            return error_set(err,
                             "%s: a table's name is empty or has a control "
                             "character",
                             rules[kind].name);
    }
    for (size_t i = 0; i < table_count; i++)
        if (kind == REQUEST_TABLES_REMOVE && !pipe_has_table(pipe, tables[i]))
            return error_set(err,
                             "cannot remove table '%s' from pipe '%s': "
                             "the pipe has no such table",
                             tables[i], pipe->name);
    return 0;
}

static char *join_tables(const char *const *tables, size_t count)
{
    struct buf b = {0};
    for (size_t i = 0; i < count; i++)
        buf_printf(&b, "%s%s", i ? "\n" : "", tables[i]);
    return buf_take(&b);
}

static int load_pipe(struct store *s, const char *name, struct pipe_row *row,
                     struct error *err)
{
    bool found;
    if (pipe_load(s, name, row, &found, err) < 0)
        return -1;
    if (!found)
        return error_set(err, "there is no pipe named '%s'", name);
    return 0;
}

/* The failed tables go from the pipe, with their checkpoints. Their
 * destinations are kept: a table fails because its destination is refused
 * or belongs to another, so it is not the pipe's to drop. */
static int remove_failed(struct store *s, const char *pipe,
                         const char *const *tables, size_t count,
                         struct error *err)
{
    for (size_t i = 0; i < count; i++) {
        struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(tables[i]),
                               DBV_TEXT(table_status_name(TABLE_FAILED))};
        if (store_exec(s,
                       "DELETE FROM checkpoints WHERE pipe = $1 AND tbl = $2",
                       p, 2, NULL, err) < 0 ||
            store_exec(s,
                       "DELETE FROM pipe_tables WHERE pipe = $1 AND name = "
                       "$2 AND status = $3",
                       p, 3, NULL, err) < 0)
            return -1;
    }
    return 0;
}

static int do_submit(struct store *s, const char *pipe, enum request_kind kind,
                     const char *const *tables, size_t table_count,
                     bool drop_destination, int64_t *id, struct error *err)
{
    struct pipe_row row;
    if (load_pipe(s, pipe, &row, err) < 0)
        return -1;
    int rc = request_check(&row, kind, tables, table_count, err);
    bool at_once = removes_failed_only(&row, kind, tables, table_count);
    pipe_row_free(&row);
    if (rc < 0 ||
        (at_once && remove_failed(s, pipe, tables, table_count, err) < 0))
        return -1;
    char *joined = join_tables(tables, table_count);
    int64_t now = clock_now_ms();
    const char *message =
        !at_once ? ""
        : drop_destination
            ? "failed tables removed at once; their destinations are kept"
            : "failed tables removed at once";
    struct db_value p[] = {DBV_TEXT(pipe),
                           DBV_TEXT(rules[kind].name),
                           DBV_TEXT(joined),
                           DBV_INT(drop_destination),
                           DBV_TEXT(at_once ? REQUEST_DONE : REQUEST_PENDING),
                           DBV_INT(now),
                           DBV_TEXT(message)};
    struct db_result r;
    rc = store_exec(s,
                    "INSERT INTO requests (pipe, kind, tables, "
                    "drop_destination, status, created_at, updated_at, "
                    "message) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) "
                    "RETURNING id",
                    p, 7, &r, err);
    free(joined);
    if (rc < 0)
        return -1;
    *id = db_int(&r, 0, 0);
    db_result_free(&r);
    return 0;
}

/* A submission's arguments and result (request_submit). */
struct submission {
    const char *pipe;
    enum request_kind kind;
    const char *const *tables;
    size_t table_count;
    bool drop_destination;
    int64_t *id;
};

static int submit_step(struct store *s, void *arg, struct error *err)
{
    const struct submission *u = arg;
    return do_submit(s, u->pipe, u->kind, u->tables, u->table_count,
                     u->drop_destination, u->id, err);
}

int request_submit(struct store *s, const char *pipe, enum request_kind kind,
                   const char *const *tables, size_t table_count,
                   bool drop_destination, int64_t *id, struct error *err)
{
    struct submission u = {pipe, kind, tables, table_count, drop_destination,
                           id};
    return store_transaction(s, submit_step, &u, err);
}

static void split_tables(const char *text, struct request *r)
{
    r->tables = NULL;
    r->table_count = 0;
    size_t cap = 0;
    while (text && *text) {
        size_t n = strcspn(text, "\n");
        XGROW(r->tables, cap, r->table_count + 1);
        r->tables[r->table_count++] = xstrndup(text, n);
        text += n + (text[n] == '\n');
    }
}

static void read_request(const struct db_result *res, size_t i,
                         struct request *r)
{
    memset(r, 0, sizeof *r);
    r->id = db_int(res, i, 0);
    r->pipe = xstrdup(db_text(res, i, 1));
    int kind = kind_from_name(db_text(res, i, 2));
    r->kind = kind < 0 ? REQUEST_KIND_COUNT : (enum request_kind)kind;
    split_tables(db_text(res, i, 3), r);
    r->drop_destination = db_int(res, i, 4) != 0;
    r->status = xstrdup(db_text(res, i, 5));
    r->message = redact_dup(db_text(res, i, 6) ? db_text(res, i, 6) : "");
    r->created_at = db_int(res, i, 7);
    r->updated_at = db_int(res, i, 8);
}

#define REQUEST_COLUMNS                                                       \
    "id, pipe, kind, tables, drop_destination, status, message, created_at, " \
    "updated_at"

int request_next(struct store *s, const char *pipe, struct request *out,
                 bool *found, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_TEXT(REQUEST_PENDING)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT " REQUEST_COLUMNS " FROM requests WHERE pipe = $1 "
                   "AND status = $2 ORDER BY id LIMIT 1",
                   p, 2, &r, err) < 0)
        return -1;
    *found = r.rows == 1;
    if (*found)
        read_request(&r, 0, out);
    db_result_free(&r);
    return 0;
}

int request_get(struct store *s, int64_t id, struct request *out, bool *found,
                struct error *err)
{
    struct db_value p = DBV_INT(id);
    struct db_result r;
    if (store_exec(s, "SELECT " REQUEST_COLUMNS " FROM requests WHERE id = $1",
                   &p, 1, &r, err) < 0)
        return -1;
    *found = r.rows == 1;
    if (*found)
        read_request(&r, 0, out);
    db_result_free(&r);
    return 0;
}

static int set_status(struct store *s, int64_t id, const char *status,
                      const char *message, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(status), DBV_MESSAGE(message),
                           DBV_INT(clock_now_ms()), DBV_INT(id)};
    return store_exec(s,
                      "UPDATE requests SET status = $1, message = $2, "
                      "updated_at = $3 WHERE id = $4",
                      p, 4, NULL, err);
}

/* The pipe's subscriptions go; what they were owed is discarded. */
static int delete_subscriptions(struct store *s, const char *pipe,
                                struct error *err)
{
    struct db_value p = DBV_TEXT(pipe);
    struct db_result r;
    if (store_exec(s, "SELECT name FROM subscriptions WHERE pipe = $1", &p, 1,
                   &r, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r.rows && rc == 0; i++)
        rc = subscription_delete(s, db_text(&r, i, 0), clock_now_ms(), err);
    db_result_free(&r);
    return rc;
}

static int delete_pipe(struct store *s, const char *pipe, struct error *err)
{
    if (delete_subscriptions(s, pipe, err) < 0)
        return -1;
    static const char *const statements[] = {
        "DELETE FROM checkpoints WHERE pipe = $1",
        "DELETE FROM transitions WHERE pipe = $1",
        "DELETE FROM requests WHERE pipe = $1",
        "DELETE FROM pipe_tables WHERE pipe = $1",
        "DELETE FROM pipes WHERE name = $1",
    };
    struct db_value p = DBV_TEXT(pipe);
    for (size_t i = 0; i < sizeof statements / sizeof *statements; i++)
        if (store_exec(s, statements[i], &p, 1, NULL, err) < 0)
            return -1;
    char *lease = pipe_lease_name(pipe);
    struct db_value l = DBV_TEXT(lease);
    int rc =
        store_exec(s, "DELETE FROM leases WHERE name = $1", &l, 1, NULL, err);
    free(lease);
    return rc;
}

/* New tables, or stopped ones (their collection is back): snapshotted
 * again from scratch. */
static int add_tables(struct store *s, const struct request *req,
                      struct error *err)
{
    for (size_t i = 0; i < req->table_count; i++) {
        struct db_value stopped[] = {DBV_TEXT(req->pipe),
                                     DBV_TEXT(req->tables[i]),
                                     DBV_TEXT(
                                         table_status_name(TABLE_STOPPED))};
        struct db_value adding[] = {DBV_TEXT(req->pipe),
                                    DBV_TEXT(req->tables[i]),
                                    DBV_TEXT(table_status_name(TABLE_ADDING))};
        if (store_exec(s,
                       "DELETE FROM pipe_tables WHERE pipe = $1 AND name = $2 "
                       "AND status = $3",
                       stopped, 3, NULL, err) < 0 ||
            store_exec(s,
                       "INSERT INTO pipe_tables (pipe, name, status) VALUES "
                       "($1, $2, $3)",
                       adding, 3, NULL, err) < 0)
            return -1;
    }
    return 0;
}

static int mark_removing(struct store *s, const struct request *req,
                         struct error *err)
{
    for (size_t i = 0; i < req->table_count; i++) {
        struct db_value p[] = {DBV_TEXT(table_status_name(TABLE_REMOVING)),
                               DBV_INT(req->drop_destination),
                               DBV_TEXT(req->pipe), DBV_TEXT(req->tables[i]),
                               DBV_TEXT(table_status_name(TABLE_FAILED))};
        if (store_exec(s,
                       "UPDATE pipe_tables SET drop_destination = CASE WHEN "
                       "status = $5 THEN 0 ELSE $2 END, status = $1 WHERE "
                       "pipe = $3 AND name = $4",
                       p, 5, NULL, err) < 0)
            return -1;
    }
    return 0;
}

/* A resync starts from nothing: no snapshot progress, counters and rates
 * at zero, and the failed tables are tried again. */
static int reset_for_resync(struct store *s, const char *pipe,
                            struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe),
                           DBV_TEXT(table_status_name(TABLE_ACTIVE)),
                           DBV_TEXT(table_status_name(TABLE_FAILED))};
    return store_exec(s,
                      "DELETE FROM checkpoints WHERE pipe = $1 AND kind <> "
                      "'cdc'",
                      p, 1, NULL, err) < 0 ||
                   store_exec(s,
                              "UPDATE pipe_tables SET rows_copied = 0, "
                              "bytes_copied = 0, rows_pending = 0, "
                              "bytes_pending = 0, rows_estimated = -1, "
                              "rows_per_s = 0, rate_steady = 0 WHERE pipe "
                              "= $1",
                              p, 1, NULL, err) < 0 ||
                   store_exec(s,
                              "UPDATE pipe_tables SET status = $2, note = '' "
                              "WHERE pipe = $1 AND status = $3",
                              p, 3, NULL, err) < 0
               ? -1
               : 0;
}

/* The first transition of each kind of request. */
static int first_step(struct store *s, const struct request *req,
                      enum pipe_state from, struct error *err)
{
    char reason[160];
    snprintf(reason, sizeof reason, "%s requested (request %lld)",
             request_kind_name(req->kind), (long long)req->id);
    switch (req->kind) {
    case REQUEST_PAUSE:
        return lifecycle_transition(s, req->pipe, from, STATE_PAUSING,
                                    CONTEXT_NONE, reason, err);
    case REQUEST_RESUME:
        return lifecycle_transition(s, req->pipe, from, STATE_RUNNING,
                                    CONTEXT_NONE, reason, err);
    case REQUEST_RESYNC:
        if (reset_for_resync(s, req->pipe, err) < 0)
            return -1;
        return lifecycle_transition(s, req->pipe, from, STATE_SETUP,
                                    CONTEXT_RESYNC, reason, err);
    case REQUEST_TABLES_ADD:
        if (add_tables(s, req, err) < 0)
            return -1;
        return lifecycle_transition(s, req->pipe, from, STATE_SETUP,
                                    CONTEXT_ADD, reason, err);
    case REQUEST_TABLES_REMOVE:
        if (mark_removing(s, req, err) < 0)
            return -1;
        return lifecycle_transition(s, req->pipe, from, STATE_MODIFYING,
                                    from == STATE_PAUSED
                                        ? CONTEXT_FROM_PAUSED
                                        : CONTEXT_FROM_RUNNING,
                                    reason, err);
    case REQUEST_DELETE: return delete_pipe(s, req->pipe, err);
    default:
        return error_set(err, "request %lld has an unknown kind",
                         (long long)req->id);
    }
}

/* 0 started, 1 refused now (`err` says why), -1 error; a step of
 * request_start. */
static int do_start(struct store *s, void *arg, struct error *err)
{
    struct request *req = arg;
    struct pipe_row row;
    bool found;
    if (pipe_load(s, req->pipe, &row, &found, err) < 0)
        return -1;
    struct error why;
    int legal =
        found
            ? request_check(&row, req->kind, (const char *const *)req->tables,
                            req->table_count, &why)
            : error_set(&why, "there is no pipe named '%s'", req->pipe);
    enum pipe_state from = row.state;
    pipe_row_free(&row);
    if (legal < 0) {
        if (set_status(s, req->id, REQUEST_REFUSED, why.message, err) < 0)
            return -1;
        *err = why;
        return 1;
    }
    if (req->kind != REQUEST_DELETE &&
        set_status(s, req->id, REQUEST_IN_PROGRESS, "", err) < 0)
        return -1;
    return first_step(s, req, from, err) < 0 ? -1 : 0;
}

int request_start(struct store *s, struct request *req, struct error *err)
{
    return store_transaction(s, do_start, req, err);
}

static bool needs_no_worker(enum request_kind kind)
{
    return kind == REQUEST_PAUSE || kind == REQUEST_RESUME ||
           kind == REQUEST_DELETE;
}

int request_take(struct store *s, const char *pipe, bool without_worker,
                 struct request_taken *taken, struct error *err)
{
    struct request req;
    bool found;
    taken->id = 0;
    if (request_next(s, pipe, &req, &found, err) < 0)
        return -1;
    if (!found)
        return 0;
    if (without_worker && !needs_no_worker(req.kind)) {
        request_free(&req);
        return 0;
    }
    *taken = (struct request_taken){req.id, req.kind};
    int rc = request_start(s, &req, err);
    if (rc == 0 && without_worker && req.kind == REQUEST_PAUSE)
        rc = lifecycle_pause_done(s, pipe, err);
    request_free(&req);
    return rc;
}

int requests_of(struct store *s, const char *pipe, size_t limit,
                struct request **out, size_t *count, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(pipe), DBV_INT(limit)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT " REQUEST_COLUMNS " FROM requests WHERE pipe = $1 "
                   "ORDER BY id DESC LIMIT $2",
                   p, 2, &r, err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        read_request(&r, i, &(*out)[i]);
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

void request_free(struct request *r)
{
    for (size_t i = 0; i < r->table_count; i++)
        free(r->tables[i]);
    free(r->tables);
    free(r->pipe);
    free(r->status);
    free(r->message);
    memset(r, 0, sizeof *r);
}

void requests_free(struct request *r, size_t count)
{
    for (size_t i = 0; i < count; i++)
        request_free(&r[i]);
    free(r);
}
