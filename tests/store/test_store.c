/* test_store.c URL: the store suite, run once on SQLite and once on
 * PostgreSQL (the same tests, the URL says which): migrations and the
 * refusal of a newer store, nested transactions and what waits for them,
 * checkpoints, leases, every pair of the 10 x 10 transition table, the
 * flows of spec/lifecycle.md, operator requests, restart semantics, pipes
 * registered from a config file, publishers racing a subscriber, and the
 * hub's consumption status as of a past time, listings and maintenance in
 * pages. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"
#include "config/config.h"
#include "hub/hub.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/registration.h"
#include "lifecycle/requests.h"
#include "maintenance/maintenance.h"
#include "plugin/plugin.h"
#include "store/balance.h"
#include "store/checkpoints.h"
#include "store/leases.h"
#include "store/schema.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

static const char *url;
static struct store *st;
static int pipe_counter;

static void exec_ok(const char *sql, const struct db_value *p, size_t n)
{
    struct error err;
    if (store_exec(st, sql, p, n, NULL, &err) < 0) {
        fprintf(stderr, "  %s: %s\n", sql, err.message);
        test_failures++;
    }
}

/* A new pipe, by a name no other test uses. */
static char *new_pipe(const char *mode, const char *const *tables, size_t n)
{
    char *name = xasprintf("p%d_%lld", ++pipe_counter,
                           (long long)(clock_now_ms() % 100000000));
    char *topic = xasprintf("t_%s", name);
    struct pipe_def def = {.name = name,
                           .source = "memory_source",
                           .sink = "memory_sink",
                           .topic = topic,
                           .mode = mode,
                           .settings = "x = 1\n",
                           .tables = tables,
                           .table_count = n};
    struct error err;
    if (lifecycle_register(st, &def, "test", &err) < 0) {
        fprintf(stderr, "  register: %s\n", err.message);
        test_failures++;
    }
    free(topic);
    return name;
}

static void force_state(const char *pipe, enum pipe_state state,
                        enum pipe_context context)
{
    struct db_value p[] = {DBV_TEXT(pipe_state_name(state)),
                           DBV_TEXT(pipe_context_name(context)),
                           DBV_TEXT(pipe)};
    exec_ok("UPDATE pipes SET state = $1, state_context = $2 WHERE name = $3",
            p, 3);
}

static enum pipe_state state_of(const char *pipe)
{
    struct pipe_row row;
    bool found;
    struct error err;
    if (pipe_load(st, pipe, &row, &found, &err) < 0 || !found)
        return STATE_COUNT;
    enum pipe_state s = row.state;
    pipe_row_free(&row);
    return s;
}

static void migrations_and_newer_store(void)
{
    int version = -1;
    struct error err;
    CHECK(store_schema_version(st, &version, &err) == 0);
    CHECK(version == store_schema_latest());
    struct store *again;
    CHECK(store_open(url, STORE_CREATE, &again, &err) == 0);
    store_close(again);

    struct db_value p = DBV_TEXT("999");
    exec_ok("UPDATE meta SET value = $1 WHERE key = 'schema_version'", &p, 1);
    CHECK(store_open(url, STORE_CREATE, &again, &err) < 0);
    CHECK_CONTAINS(err.message, "was written by a newer sluice (schema "
                                "version 999");
    CHECK_CONTAINS(err.message, "upgrade sluice");
    /* refused whatever the intent */
    CHECK(store_open(url, STORE_READ, &again, &err) < 0);
    CHECK_CONTAINS(err.message, "was written by a newer sluice");
    CHECK(store_open(url, STORE_WRITE, &again, &err) < 0);
    CHECK_CONTAINS(err.message, "was written by a newer sluice");
    char latest[16];
    snprintf(latest, sizeof latest, "%d", store_schema_latest());
    p = DBV_TEXT(latest);
    exec_ok("UPDATE meta SET value = $1 WHERE key = 'schema_version'", &p, 1);
}

static int64_t int_of(const char *sql, const char *param)
{
    struct db_value p = DBV_TEXT(param);
    struct db_result r;
    struct error err;
    if (store_exec(st, sql, &p, 1, &r, &err) < 0) {
        fprintf(stderr, "  %s: %s\n", sql, err.message);
        test_failures++;
        return -1;
    }
    int64_t v = r.rows ? db_int(&r, 0, 0) : -1;
    db_result_free(&r);
    return v;
}

/* A store of schema 3 (before owners) migrated to 4, 5, 6, 7 and 8: the
 * tables of pipes past provisioning are marked as set up before owners
 * (their first claim adopts a destination without an owner); a resync
 * half done starts again from its setup, with a transition saying why; the
 * rows counted so far are the rows delivered; nothing is pending and no
 * rate is steady; and the store gets an id that stays. */
static void migration_to_owners(void)
{
    const char *tables[] = {"t1"};
    char *fresh = new_pipe("snapshot+cdc", tables, 1);
    char *running = new_pipe("snapshot+cdc", tables, 1);
    char *resyncing = new_pipe("snapshot+cdc", tables, 1);
    force_state(running, STATE_RUNNING, CONTEXT_NONE);
    force_state(resyncing, STATE_SNAPSHOT, CONTEXT_RESYNC);
    struct error err;
    CHECK(checkpoint_put(st, resyncing, CHECKPOINT_SNAPSHOT, "t1", 0, "p", 1,
                         false, &err) == 0);
    CHECK(checkpoint_put(st, resyncing, CHECKPOINT_CDC, "", 0, "c", 1, false,
                         &err) == 0);
    struct db_value counted = DBV_TEXT(running);
    exec_ok("UPDATE pipe_tables SET rows_copied = 7, bytes_copied = 70 WHERE "
            "pipe = $1",
            &counted, 1);
    /* back to schema 3, as a store written before owners */
    exec_ok("DROP INDEX publications_by_segment", NULL, 0);
    exec_ok("ALTER TABLE publications DROP COLUMN segment", NULL, 0);
    exec_ok("ALTER TABLE publications DROP COLUMN segment_offset", NULL, 0);
    exec_ok("ALTER TABLE publications DROP COLUMN blob_length", NULL, 0);
    exec_ok("ALTER TABLE publications DROP COLUMN blob_checksum", NULL, 0);
    exec_ok("DROP TABLE workers", NULL, 0);
    exec_ok("ALTER TABLE leases DROP COLUMN wanted_by", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN rows_pending", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN bytes_pending", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN rate_steady", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN rows_delivered", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN bytes_delivered", NULL, 0);
    exec_ok("ALTER TABLE pipes DROP COLUMN retrying_since", NULL, 0);
    exec_ok("ALTER TABLE pipes DROP COLUMN last_error_at", NULL, 0);
    exec_ok("DROP INDEX pipe_tables_by_destination", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN destination", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN set_up_before_owners", NULL,
            0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN form", NULL, 0);
    exec_ok("ALTER TABLE pipe_tables DROP COLUMN swapping", NULL, 0);
    struct db_value adding[] = {DBV_TEXT(running), DBV_TEXT("t2")};
    exec_ok("INSERT INTO pipe_tables (pipe, name, status) VALUES ($1, $2, "
            "'adding')",
            adding, 2);
    struct db_value v = DBV_TEXT("3");
    exec_ok("UPDATE meta SET value = $1 WHERE key = 'schema_version'", &v, 1);
    store_close(st);
    CHECK(store_open(url, STORE_CREATE, &st, &err) == 0);
    const char *flag = "SELECT set_up_before_owners FROM pipe_tables WHERE "
                       "pipe = $1";
    CHECK(int_of(flag, fresh) == 0);
    CHECK(int_of(flag, running) == 1);
    CHECK(int_of(flag, resyncing) == 1);
    CHECK(state_of(resyncing) == STATE_SETUP);
    CHECK(state_of(running) == STATE_RUNNING);
    /* 5: the tables set up before are in the form of their time; the
     * others get theirs at their first setup */
    const char *before = "SELECT count(*) FROM pipe_tables WHERE pipe = $1 "
                         "AND form = '" FORM_BEFORE_FORMS "'";
    const char *unset = "SELECT count(*) FROM pipe_tables WHERE pipe = $1 "
                        "AND form IS NULL";
    CHECK(int_of(before, running) == 1 && int_of(unset, running) == 1);
    CHECK(int_of(before, resyncing) == 1);
    CHECK(int_of(unset, fresh) == 1);
    CHECK(int_of("SELECT count(*) FROM checkpoints WHERE pipe = $1 AND kind "
                 "= 'cdc'",
                 resyncing) == 1);
    CHECK(int_of("SELECT count(*) FROM checkpoints WHERE pipe = $1 AND kind "
                 "<> 'cdc'",
                 resyncing) == 0);
    CHECK(int_of("SELECT count(*) FROM transitions WHERE pipe = $1 AND "
                 "to_state = 'setup' AND reason LIKE 'upgrade: the resync "
                 "in progress starts again%'",
                 resyncing) == 1);
    /* 6: what was counted so far is what was delivered */
    CHECK(int_of("SELECT rows_delivered FROM pipe_tables WHERE pipe = $1 AND "
                 "name = 't1'",
                 running) == 7);
    CHECK(int_of("SELECT bytes_delivered FROM pipe_tables WHERE pipe = $1 "
                 "AND name = 't1'",
                 running) == 70);
    /* 7: no delivery under way, no rate measured yet */
    CHECK(int_of("SELECT rows_pending + bytes_pending + rate_steady FROM "
                 "pipe_tables WHERE pipe = $1 AND name = 't1'",
                 running) == 0);
    const char *id = store_id(st, &err);
    CHECK(id && strlen(id) == 32);
    char *kept = xstrdup(id ? id : "");
    struct store *again;
    CHECK(store_open(url, STORE_READ, &again, &err) == 0);
    CHECK_STR(store_id(again, &err), kept);
    store_close(again);
    free(kept);
    free(fresh);
    free(running);
    free(resyncing);
}

/* Only STORE_CREATE creates or migrates. A store of an older schema is
 * read as it is by STORE_READ, a failing statement then naming the
 * command that upgrades it; STORE_WRITE refuses it. */
static void intents(void)
{
    struct store *other;
    struct error err;
    CHECK(store_open(url, STORE_READ, &other, &err) == 0);
    store_close(other);
    CHECK(store_open(url, STORE_WRITE, &other, &err) == 0);
    store_close(other);

    char older[16];
    snprintf(older, sizeof older, "%d", store_schema_latest() - 1);
    struct db_value p = DBV_TEXT(older);
    exec_ok("UPDATE meta SET value = $1 WHERE key = 'schema_version'", &p, 1);
    CHECK(store_open(url, STORE_WRITE, &other, &err) < 0);
    CHECK_CONTAINS(err.message, "older than this sluice's");
    CHECK_CONTAINS(err.message, "sluice store migrate");
    CHECK(store_open(url, STORE_READ, &other, &err) == 0);
    CHECK(store_exec(other, "SELECT name FROM pipes", NULL, 0, NULL, &err) ==
          0);
    CHECK(store_exec(other, "SELECT not_yet_a_column FROM pipes", NULL, 0,
                     NULL, &err) < 0);
    CHECK_CONTAINS(err.message, "older than this sluice's");
    CHECK_CONTAINS(err.message, "sluice store migrate");
    int version = 0;
    CHECK(store_schema_version(other, &version, &err) == 0);
    CHECK(version == store_schema_latest() - 1); /* not migrated */
    store_close(other);
    char latest[16];
    snprintf(latest, sizeof latest, "%d", store_schema_latest());
    p = DBV_TEXT(latest);
    exec_ok("UPDATE meta SET value = $1 WHERE key = 'schema_version'", &p, 1);

    if (strncmp(url, "sqlite:", 7) != 0)
        return; /* an empty database: tests/store/test_store_open.sh */
    char *missing = xasprintf("%s.missing", url);
    CHECK(store_open(missing, STORE_READ, &other, &err) < 0);
    CHECK_CONTAINS(err.message, "no such file");
    CHECK(store_open(missing, STORE_WRITE, &other, &err) < 0);
    CHECK_CONTAINS(err.message, "no such file");
    CHECK(access(missing + 7, F_OK) != 0);
    free(missing);
}

/* SQLite writes on into a file deleted or replaced under it: the commit
 * after it, and any statement outside a transaction, fail instead. */
static void sqlite_file_lost(void)
{
    if (strncmp(url, "sqlite:", 7) != 0)
        return;
    char *path = xasprintf("%s.lost", url + 7);
    char *lost_url = xasprintf("sqlite:%s", path);
    char *other = xasprintf("%s.other", path);
    struct store *s;
    struct error err;
    for (int replaced = 0; replaced <= 1; replaced++) {
        CHECK(store_open(lost_url, STORE_CREATE, &s, &err) == 0);
        CHECK(store_exec(s, "CREATE TABLE IF NOT EXISTS scratch (k BIGINT)",
                         NULL, 0, NULL, &err) == 0);
        CHECK(store_begin(s, &err) == 0);
        CHECK(store_exec(s, "INSERT INTO scratch VALUES (1)", NULL, 0, NULL,
                         &err) == 0);
        if (replaced) { /* another file moved to its path */
            FILE *f = fopen(other, "w");
            fclose(f);
            CHECK(rename(other, path) == 0);
        } else {
            CHECK(unlink(path) == 0);
        }
        CHECK(store_commit(s, &err) < 0);
        CHECK_CONTAINS(err.message, "deleted, moved or replaced");
        CHECK(!err.transient);
        CHECK(store_exec(s, "SELECT k FROM scratch", NULL, 0, NULL, &err) < 0);
        CHECK_CONTAINS(err.message, path);
        store_close(s);
        unlink(path);
    }
    free(other);
    free(lost_url);
    free(path);
}

static void nested_transactions(void)
{
    struct error err;
    exec_ok("CREATE TABLE IF NOT EXISTS scratch (k TEXT PRIMARY KEY)", NULL,
            0);
    exec_ok("DELETE FROM scratch", NULL, 0);
    struct db_value a = DBV_TEXT("a"), b = DBV_TEXT("b");
    CHECK(store_begin(st, &err) == 0);
    exec_ok("INSERT INTO scratch VALUES ($1)", &a, 1);
    CHECK(store_begin(st, &err) == 0);
    exec_ok("INSERT INTO scratch VALUES ($1)", &b, 1);
    CHECK(store_commit(st, &err) == 0); /* inner: nothing yet */
    CHECK(store_commit(st, &err) == 0);
    struct db_result r;
    CHECK(store_exec(st, "SELECT COUNT(*) FROM scratch", NULL, 0, &r, &err) ==
          0);
    CHECK(db_int(&r, 0, 0) == 2);
    db_result_free(&r);

    /* an inner rollback dooms the outer transaction */
    CHECK(store_begin(st, &err) == 0);
    exec_ok("DELETE FROM scratch", NULL, 0);
    CHECK(store_begin(st, &err) == 0);
    store_rollback(st);
    CHECK(store_commit(st, &err) < 0);
    CHECK_CONTAINS(err.message, "rolled back");
    CHECK(store_exec(st, "SELECT COUNT(*) FROM scratch", NULL, 0, &r, &err) ==
          0);
    CHECK(db_int(&r, 0, 0) == 2);
    db_result_free(&r);

    /* a failed statement inside, rolled back by the caller: nothing left */
    CHECK(store_begin(st, &err) == 0);
    exec_ok("INSERT INTO scratch VALUES ('c')", NULL, 0);
    CHECK(store_exec(st, "INSERT INTO scratch VALUES ('a')", NULL, 0, NULL,
                     &err) < 0);
    store_rollback(st);
    CHECK(store_exec(st, "SELECT COUNT(*) FROM scratch", NULL, 0, &r, &err) ==
          0);
    CHECK(db_int(&r, 0, 0) == 2);
    db_result_free(&r);
}

/* A step of store_transaction's tests: inserts `arg`, then fails when it
 * is "fail", else says a verdict (1) in `err`. */
static int insert_step(struct store *s, void *arg, struct error *err)
{
    struct db_value v = DBV_TEXT(arg);
    if (store_exec(s, "INSERT INTO scratch VALUES ($1)", &v, 1, NULL, err) < 0)
        return -1;
    if (strcmp(arg, "fail") == 0)
        return error_set(err, "the step failed");
    error_set(err, "verdict for %s", (const char *)arg);
    return 1;
}

static int64_t scratch_rows(void)
{
    struct error err;
    struct db_result r;
    CHECK(store_exec(st, "SELECT COUNT(*) FROM scratch", NULL, 0, &r, &err) ==
          0);
    int64_t n = r.rows ? db_int(&r, 0, 0) : -1;
    db_result_free(&r);
    return n;
}

static void transaction_steps(void)
{
    struct error err;
    exec_ok("CREATE TABLE IF NOT EXISTS scratch (k TEXT PRIMARY KEY)", NULL,
            0);
    exec_ok("DELETE FROM scratch", NULL, 0);
    /* committed: the step's result, and what it said, come back */
    CHECK(store_transaction(st, insert_step, "a", &err) == 1);
    CHECK_CONTAINS(err.message, "verdict for a");
    CHECK(scratch_rows() == 1);
    /* failed: rolled back, with the step's message */
    CHECK(store_transaction(st, insert_step, "fail", &err) < 0);
    CHECK_CONTAINS(err.message, "the step failed");
    CHECK(scratch_rows() == 1);
    /* nested: a failed step dooms the caller's transaction */
    CHECK(store_begin(st, &err) == 0);
    CHECK(store_transaction(st, insert_step, "b", &err) == 1);
    CHECK(store_transaction(st, insert_step, "fail", &err) < 0);
    CHECK(store_commit(st, &err) < 0);
    CHECK_CONTAINS(err.message, "rolled back");
    CHECK(scratch_rows() == 1);
    /* nested: a step done commits with the caller's, not before */
    CHECK(store_begin(st, &err) == 0);
    CHECK(store_transaction(st, insert_step, "c", &err) == 1);
    store_rollback(st);
    CHECK(scratch_rows() == 1);
}

/* What waits for a transaction (store_after) sees how it ended: "c" for
 * committed, "r" for rolled back, in the order of the calls. */
static char after_seen[16];

static void after_step(void *arg, bool committed)
{
    size_t n = strlen(after_seen);
    if (n + 2 < sizeof after_seen)
        snprintf(after_seen + n, 3, "%s%c", (const char *)arg,
                 committed ? 'c' : 'r');
}

static void after_transactions(void)
{
    struct error err;
    exec_ok("CREATE TABLE IF NOT EXISTS scratch (k TEXT PRIMARY KEY)", NULL,
            0);
    /* outside a transaction: at once */
    store_after(st, after_step, "1");
    CHECK_STR(after_seen, "1c");
    /* at the outermost commit, not at the inner one, in order */
    after_seen[0] = '\0';
    CHECK(store_begin(st, &err) == 0);
    store_after(st, after_step, "2");
    CHECK(store_begin(st, &err) == 0);
    store_after(st, after_step, "3");
    CHECK(store_commit(st, &err) == 0);
    CHECK_STR(after_seen, "");
    CHECK(store_commit(st, &err) == 0);
    CHECK_STR(after_seen, "2c3c");
    /* rolled back, or doomed by an inner step: not committed */
    after_seen[0] = '\0';
    CHECK(store_begin(st, &err) == 0);
    store_after(st, after_step, "4");
    store_rollback(st);
    CHECK(store_begin(st, &err) == 0);
    store_after(st, after_step, "5");
    CHECK(store_transaction(st, insert_step, "fail", &err) < 0);
    CHECK_STR(after_seen, "4r");
    CHECK(store_commit(st, &err) < 0);
    CHECK_STR(after_seen, "4r5r");
    /* a statement that fails (a key taken), the transaction with it */
    after_seen[0] = '\0';
    exec_ok("DELETE FROM scratch", NULL, 0);
    exec_ok("INSERT INTO scratch VALUES ('k')", NULL, 0);
    CHECK(store_begin(st, &err) == 0);
    store_after(st, after_step, "6");
    CHECK(store_transaction(st, insert_step, "k", &err) < 0);
    CHECK(store_commit(st, &err) < 0);
    CHECK_STR(after_seen, "6r");
    /* the next transaction starts with nothing waiting */
    after_seen[0] = '\0';
    CHECK(store_begin(st, &err) == 0);
    CHECK(store_commit(st, &err) == 0);
    CHECK_STR(after_seen, "");
}

static void checkpoints(void)
{
    struct error err;
    const char *tables[] = {"a"};
    char *pipe = new_pipe("snapshot+cdc", tables, 1);
    size_t big_len = 1 << 20;
    char *big = xmalloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)(i * 7);
    CHECK(checkpoint_put(st, pipe, CHECKPOINT_CDC, "", 0, "\0tok\0", 5, false,
                         &err) == 0);
    CHECK(checkpoint_put(st, pipe, CHECKPOINT_SNAPSHOT, "a", 1, big, big_len,
                         false, &err) == 0);
    CHECK(checkpoint_put(st, pipe, CHECKPOINT_SNAPSHOT, "a", 0, "p0", 2, true,
                         &err) == 0);
    struct checkpoint c;
    bool found;
    CHECK(checkpoint_get(st, pipe, CHECKPOINT_CDC, "", 0, &c, &found, &err) ==
          0);
    CHECK(found && c.position.len == 5 &&
          memcmp(c.position.data, "\0tok\0", 5) == 0);
    checkpoint_free(&c);
    struct checkpoint *list;
    size_t n;
    CHECK(checkpoint_list(st, pipe, CHECKPOINT_SNAPSHOT, "a", &list, &n,
                          &err) == 0);
    CHECK(n == 2);
    if (n == 2) {
        CHECK(list[0].part == 0 && list[0].done);
        CHECK(list[1].position.len == big_len &&
              memcmp(list[1].position.data, big, big_len) == 0);
    }
    checkpoints_free(list, n);
    CHECK(checkpoint_put(st, pipe, CHECKPOINT_CDC, "", 0, "tok2", 4, false,
                         &err) == 0);
    CHECK(checkpoint_get(st, pipe, CHECKPOINT_CDC, "", 0, &c, &found, &err) ==
          0);
    CHECK(found && c.position.len == 4);
    checkpoint_free(&c);
    CHECK(checkpoint_clear(st, pipe, CHECKPOINT_SNAPSHOT, NULL, &err) == 0);
    CHECK(checkpoint_list(st, pipe, CHECKPOINT_SNAPSHOT, NULL, &list, &n,
                          &err) == 0);
    CHECK(n == 0);
    checkpoints_free(list, n);
    /* a checkpoint written in a rolled-back step is not there */
    CHECK(store_begin(st, &err) == 0);
    CHECK(checkpoint_put(st, pipe, CHECKPOINT_CDC, "", 0, "lost", 4, false,
                         &err) == 0);
    store_rollback(st);
    CHECK(checkpoint_get(st, pipe, CHECKPOINT_CDC, "", 0, &c, &found, &err) ==
          0);
    CHECK(found && c.position.len == 4 &&
          memcmp(c.position.data, "tok2", 4) == 0);
    checkpoint_free(&c);
    free(big);
    free(pipe);
}

static void leases(void)
{
    struct error err;
    bool held;
    char *name = xasprintf("lease-%lld", (long long)clock_now_ms());
    CHECK(lease_acquire(st, name, "w1", 300, &held, &err) == 0 && held);
    CHECK(lease_acquire(st, name, "w2", 300, &held, &err) == 0 && !held);
    CHECK(lease_acquire(st, name, "w1", 300, &held, &err) == 0 && held);
    char *owner = NULL;
    CHECK(lease_holder(st, name, &owner, NULL, &err) == 0);
    CHECK_STR(owner, "w1");
    free(owner);
    sleep_ms(450); /* w1 stops renewing: the lease expires */
    CHECK(lease_holder(st, name, &owner, NULL, &err) == 0 && owner == NULL);
    CHECK(lease_acquire(st, name, "w2", 10000, &held, &err) == 0 && held);
    CHECK(lease_release(st, name, "w1", &err) == 0); /* not w1's: no effect */
    CHECK(lease_acquire(st, name, "w1", 300, &held, &err) == 0 && !held);
    CHECK(lease_release(st, name, "w2", &err) == 0);
    CHECK(lease_acquire(st, name, "w1", 300, &held, &err) == 0 && held);
    free(name);
}

/* A commit fenced by a lease (lease_fence in its transaction), as a
 * pipe's publication and a delivery's completion are. */
struct fenced {
    const char *lease, *owner, *topic, *sub;
    bool complete; /* complete `publication`, else publish one */
    int64_t publication;
    bool held;
};

static int fenced_step(struct store *s, void *arg, struct error *err)
{
    struct fenced *f = arg;
    if (lease_fence(s, f->lease, f->owner, &f->held, err) < 0)
        return -1;
    if (f->complete)
        return hub_complete(s, f->sub, f->publication, clock_now_ms(), err);
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    sluice_record r = {.size = sizeof r,
                       .op = SLUICE_OP_INSERT,
                       .table = "t",
                       .table_len = 1,
                       .key = "1",
                       .key_len = 1,
                       .version = 1};
    batch_add(&b, &r, NULL);
    int rc = hub_publish(s, f->topic, "p", &b, clock_now_ms(), &f->publication,
                         err);
    batch_free(&b);
    return rc;
}

static int64_t cursor_of(const char *sub)
{
    struct subscription got;
    bool found = false;
    struct error err;
    CHECK(subscription_get(st, sub, &got, &found, &err) == 0 && found);
    int64_t cursor = found ? got.cursor : -1;
    if (found)
        subscription_free(&got);
    return cursor;
}

/* A worker whose lease expired and was taken over: its publication and
 * its completion fail, and change nothing; the new holder's go through. */
static void fencing(void)
{
    long long tag = (long long)(clock_now_ms() % 100000000);
    char *topic = xasprintf("fence_%lld", tag),
         *sub = xasprintf("%s_s", topic);
    char *lease = xasprintf("pipe:fence_%lld", tag);
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 1,
                      .retention = "retention",
                      .created_at = clock_now_ms()};
    struct error err;
    bool held;
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(subscription_create(st, sub, topic, NULL, clock_now_ms(), &err) ==
          0);
    CHECK(lease_acquire(st, lease, "w1", 300, &held, &err) == 0 && held);
    struct fenced w1 = {lease, "w1", topic, sub, false, 0, false};
    CHECK(store_transaction(st, fenced_step, &w1, &err) == 0 && w1.held);
    int64_t first = w1.publication;

    sleep_ms(450); /* w1 stops renewing; w2 takes the lease over */
    CHECK(lease_acquire(st, lease, "w2", 10000, &held, &err) == 0 && held);
    w1.publication = 0;
    CHECK(store_transaction(st, fenced_step, &w1, &err) < 0 && !w1.held);
    CHECK_CONTAINS(err.message, "no longer held by this worker (w1)");
    CHECK(w1.publication == 0 || w1.publication == first);
    int64_t backlog = -1;
    CHECK(hub_backlog(st, sub, &backlog, &err) == 0 && backlog == 1);

    struct hub_event e;
    bool found = false;
    CHECK(hub_take(st, sub, clock_now_ms(), &e, &found, &err) == 0 && found);
    if (found)
        hub_event_free(&e);
    w1.complete = true;
    w1.publication = first;
    CHECK(store_transaction(st, fenced_step, &w1, &err) < 0 && !w1.held);
    CHECK(cursor_of(sub) == 0); /* the stale completion moved nothing */
    struct fenced w2 = {lease, "w2", topic, sub, true, first, false};
    CHECK(store_transaction(st, fenced_step, &w2, &err) == 0 && w2.held);
    CHECK(cursor_of(sub) == first);
    w2.complete = false;
    CHECK(store_transaction(st, fenced_step, &w2, &err) == 0 && w2.held);
    CHECK(lease_release(st, lease, "w2", &err) == 0);
    free(lease);
    free(sub);
    free(topic);
}

static int64_t count_of(const char *sql, const char *arg)
{
    struct db_value p = DBV_TEXT(arg);
    struct db_result r;
    struct error err;
    if (store_exec(st, sql, &p, 1, &r, &err) < 0) {
        fprintf(stderr, "  %s\n", err.message);
        return -1;
    }
    int64_t n = db_int(&r, 0, 0);
    db_result_free(&r);
    return n;
}

/* Two workers on other hosts: heartbeats, a pipe wanted by the worker
 * under its share and handed to it by the one over its share, which
 * holds as many leases as the store has pipes. */
static void balance_shares(void)
{
    long long tag = (long long)(clock_now_ms() % 100000000);
    char *a = xasprintf("host-a-%lld:7:1:x", tag);
    char *b = xasprintf("host-b-%lld:7:1:x", tag);
    struct error err;
    bool held;
    CHECK(worker_beat(st, a, &err) == 0);
    CHECK(worker_beat(st, a, &err) == 0); /* again: one row */
    CHECK(worker_beat(st, b, &err) == 0);
    CHECK(count_of("SELECT COUNT(*) FROM workers WHERE name = $1", a) == 1);
    int64_t pipes =
        count_of("SELECT COUNT(*) FROM pipes WHERE name <> $1", "");
    CHECK(pipes > 0);
    char **leases = xcalloc((size_t)pipes + 1, sizeof *leases);
    for (int64_t i = 0; i <= pipes; i++) {
        leases[i] = xasprintf("pipe:bal_%lld_%lld", tag, (long long)i);
        CHECK(lease_acquire(st, leases[i], a, 60000, &held, &err) == 0 &&
              held);
    }
    /* a holds them all, b none: b wants one, a hands it over */
    CHECK(balance_acquire(st, leases[0], b, 60000, &held, &err) == 0 && !held);
    CHECK(count_of("SELECT COUNT(*) FROM leases WHERE wanted_by = $1", b) ==
          1);
    char *to = NULL;
    CHECK(balance_over(st, leases[0], a, &to, &err) == 0);
    CHECK_STR(to, b);
    free(to);
    CHECK(balance_over(st, leases[1], a, &to, &err) == 0 && to == NULL);
    bool handed = false;
    CHECK(balance_give(st, leases[0], a, &handed, &err) == 0 && handed);
    char *owner = NULL;
    CHECK(lease_holder(st, leases[0], &owner, NULL, &err) == 0);
    CHECK_STR(owner, b);
    free(owner);
    CHECK(balance_acquire(st, leases[0], b, 60000, &held, &err) == 0 && held);
    /* a, over its share, takes no free pipe; b, under it, does */
    CHECK(lease_release(st, leases[1], a, &err) == 0);
    CHECK(balance_acquire(st, leases[1], a, 60000, &held, &err) == 0 && !held);
    CHECK(balance_acquire(st, leases[1], b, 60000, &held, &err) == 0 && held);
    CHECK(worker_leave(st, b, &err) == 0);
    CHECK(count_of("SELECT COUNT(*) FROM workers WHERE name = $1", b) == 0);
    for (int64_t i = 0; i <= pipes; i++) {
        lease_release(st, leases[i], a, &err);
        lease_release(st, leases[i], b, &err);
        free(leases[i]);
    }
    free(leases);
    CHECK(worker_leave(st, a, &err) == 0);
    free(a);
    free(b);
}

static void every_pair_of_states(void)
{
    char *pipe = new_pipe("snapshot+cdc", NULL, 0);
    int legal = 0;
    for (int from = 0; from < STATE_COUNT; from++)
        for (int to = 0; to < STATE_COUNT; to++) {
            force_state(pipe, (enum pipe_state)from, CONTEXT_NONE);
            struct error err = {0};
            char reason[64];
            snprintf(reason, sizeof reason, "pair %d %d", from, to);
            int64_t before = clock_now_ms();
            int rc = lifecycle_transition(st, pipe, (enum pipe_state)from,
                                          (enum pipe_state)to, CONTEXT_NONE,
                                          reason, &err);
            bool ok =
                pipe_state_can_go((enum pipe_state)from, (enum pipe_state)to);
            if (ok != (rc == 0))
                fprintf(stderr, "  %s -> %s: %s\n",
                        pipe_state_name((enum pipe_state)from),
                        pipe_state_name((enum pipe_state)to), err.message);
            CHECK(ok == (rc == 0));
            if (!ok) {
                char want[96];
                snprintf(want, sizeof want, "cannot go from %s to %s",
                         pipe_state_name((enum pipe_state)from),
                         pipe_state_name((enum pipe_state)to));
                CHECK_CONTAINS(err.message, want);
                CHECK(state_of(pipe) == (enum pipe_state)from);
                continue;
            }
            legal++;
            CHECK(state_of(pipe) == (enum pipe_state)to);
            struct transition *t;
            size_t n;
            CHECK(lifecycle_history(st, pipe, &t, &n, &err) == 0);
            if (n) {
                CHECK_STR(t[n - 1].reason, reason);
                CHECK_STR(t[n - 1].from,
                          pipe_state_name((enum pipe_state)from));
                CHECK_STR(t[n - 1].to, pipe_state_name((enum pipe_state)to));
                CHECK(t[n - 1].at >= before - 1000 &&
                      t[n - 1].at <= clock_now_ms() + 1000);
            }
            transitions_free(t, n);
        }
    CHECK(legal == 27); /* the arrows of spec/lifecycle.md */
    /* the pipe must be in the state the caller says */
    force_state(pipe, STATE_PAUSED, CONTEXT_NONE);
    struct error err;
    CHECK(lifecycle_transition(st, pipe, STATE_RUNNING, STATE_PAUSING,
                               CONTEXT_NONE, "x", &err) < 0);
    CHECK_CONTAINS(err.message, "is paused, not running");
    CHECK(lifecycle_transition(st, "no-such-pipe", STATE_RUNNING,
                               STATE_PAUSING, CONTEXT_NONE, "x", &err) < 0);
    CHECK_CONTAINS(err.message, "no pipe named 'no-such-pipe'");
    free(pipe);
}

#define STEP(call)                                                            \
    do {                                                                      \
        struct error e_;                                                      \
        if ((call) < 0) {                                                     \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,     \
                    e_.message);                                              \
            test_failures++;                                                  \
        }                                                                     \
    } while (0)
#define E (&e_)

/* Plays the worker: takes the next request and starts it. */
static int start_next(const char *pipe, struct error *err)
{
    struct request req;
    bool found;
    if (request_next(st, pipe, &req, &found, err) < 0)
        return -1;
    if (!found)
        return error_set(err, "no pending request");
    int rc = request_start(st, &req, err);
    request_free(&req);
    return rc;
}

static const char *request_status(int64_t id)
{
    static char status[32];
    struct request r;
    bool found;
    struct error err;
    if (request_get(st, id, &r, &found, &err) < 0 || !found)
        return "gone";
    snprintf(status, sizeof status, "%s", r.status);
    request_free(&r);
    return status;
}

static void new_pipe_flows(void)
{
    const char *tables[] = {"a", "b"};
    char *pipe = new_pipe("snapshot+cdc", tables, 2);
    CHECK(state_of(pipe) == STATE_PROVISIONING);
    STEP(lifecycle_provisioned(st, pipe, E));
    CHECK(state_of(pipe) == STATE_SETUP);
    STEP(lifecycle_setup_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_SNAPSHOT);
    STEP(lifecycle_snapshot_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_RUNNING);
    free(pipe);

    pipe = new_pipe("cdc", tables, 1);
    STEP(lifecycle_provisioned(st, pipe, E));
    STEP(lifecycle_setup_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_RUNNING);
    free(pipe);

    pipe = new_pipe("snapshot", tables, 1);
    STEP(lifecycle_provisioned(st, pipe, E));
    STEP(lifecycle_setup_done(st, pipe, E));
    STEP(lifecycle_snapshot_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_COMPLETED);
    /* completed: only a resync; it reloads and completes again */
    int64_t id;
    struct error err;
    CHECK(request_submit(st, pipe, REQUEST_PAUSE, NULL, 0, false, &id, &err) <
          0);
    CHECK_CONTAINS(err.message, "it is completed; pause is possible only when "
                                "running");
    STEP(request_submit(st, pipe, REQUEST_RESYNC, NULL, 0, false, &id, E));
    STEP(start_next(pipe, E));
    CHECK(state_of(pipe) == STATE_SETUP);
    STEP(lifecycle_setup_done(st, pipe, E));
    STEP(lifecycle_snapshot_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_RESYNC);
    STEP(lifecycle_resync_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_COMPLETED);
    CHECK_STR(request_status(id), REQUEST_DONE);
    free(pipe);
}

static char *running_pipe(const char *const *tables, size_t n)
{
    char *pipe = new_pipe("snapshot+cdc", tables, n);
    force_state(pipe, STATE_RUNNING, CONTEXT_NONE);
    return pipe;
}

static void pause_resume(void)
{
    const char *tables[] = {"a"};
    char *pipe = running_pipe(tables, 1);
    int64_t id, id2;
    struct error err;
    STEP(request_submit(st, pipe, REQUEST_PAUSE, NULL, 0, false, &id, E));
    CHECK_STR(request_status(id), REQUEST_PENDING);
    CHECK(request_submit(st, pipe, REQUEST_RESUME, NULL, 0, false, &id2,
                         &err) < 0);
    CHECK_CONTAINS(err.message, "cannot resume pipe");
    CHECK_CONTAINS(err.message, "it is running; resume is possible only when "
                                "paused");
    STEP(start_next(pipe, E));
    CHECK(state_of(pipe) == STATE_PAUSING);
    CHECK_STR(request_status(id), REQUEST_IN_PROGRESS);
    STEP(lifecycle_pause_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_PAUSED);
    CHECK_STR(request_status(id), REQUEST_DONE);
    STEP(request_submit(st, pipe, REQUEST_RESUME, NULL, 0, false, &id, E));
    STEP(start_next(pipe, E));
    CHECK(state_of(pipe) == STATE_RUNNING);
    CHECK_STR(request_status(id), REQUEST_DONE);

    /* legal when recorded, illegal when the worker gets to it: refused
     * then, with the reason kept */
    STEP(request_submit(st, pipe, REQUEST_PAUSE, NULL, 0, false, &id, E));
    force_state(pipe, STATE_FAILED, CONTEXT_NONE);
    CHECK(start_next(pipe, &err) == 1);
    CHECK_CONTAINS(err.message, "it is failed");
    CHECK_STR(request_status(id), REQUEST_REFUSED);
    free(pipe);
}

/* The table has `status`; with -1: the pipe has no such table. */
static bool table_status(const char *pipe, const char *table, int status)
{
    struct pipe_row row;
    bool found, ok = false;
    struct error err;
    if (pipe_load(st, pipe, &row, &found, &err) < 0 || !found)
        return false;
    for (size_t i = 0; i < row.table_count; i++)
        if (strcmp(row.tables[i].name, table) == 0)
            ok = (int)row.tables[i].status == status;
    if (status < 0)
        ok = !pipe_has_table(&row, table);
    pipe_row_free(&row);
    return ok;
}

static void tables_and_resync(void)
{
    const char *tables[] = {"a", "b"};
    char *pipe = running_pipe(tables, 2);
    int64_t id;
    struct error err;
    const char *add[] = {"c"};
    CHECK(request_submit(st, pipe, REQUEST_TABLES_ADD, tables, 1, false, &id,
                         &err) < 0);
    CHECK_CONTAINS(err.message, "cannot add table 'a'");
    STEP(request_submit(st, pipe, REQUEST_TABLES_ADD, add, 1, false, &id, E));
    STEP(start_next(pipe, E));
    CHECK(state_of(pipe) == STATE_SETUP);
    CHECK(table_status(pipe, "c", TABLE_ADDING));
    STEP(lifecycle_setup_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_SNAPSHOT);
    STEP(lifecycle_snapshot_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_RUNNING);
    CHECK(table_status(pipe, "c", TABLE_ACTIVE));
    CHECK_STR(request_status(id), REQUEST_DONE);

    /* remove from paused: back to paused */
    force_state(pipe, STATE_PAUSED, CONTEXT_NONE);
    const char *rm[] = {"b", "c"};
    const char *all[] = {"a", "b", "c"};
    CHECK(request_submit(st, pipe, REQUEST_TABLES_REMOVE, all, 3, false, &id,
                         &err) < 0);
    CHECK_CONTAINS(err.message, "cannot remove every table");
    const char *missing[] = {"zz"};
    CHECK(request_submit(st, pipe, REQUEST_TABLES_REMOVE, missing, 1, false,
                         &id, &err) < 0);
    CHECK_CONTAINS(err.message, "has no such table");
    STEP(checkpoint_put(st, pipe, CHECKPOINT_SNAPSHOT, "b", 0, "x", 1, true,
                        E));
    STEP(request_submit(st, pipe, REQUEST_TABLES_REMOVE, rm, 2, true, &id, E));
    STEP(start_next(pipe, E));
    CHECK(state_of(pipe) == STATE_MODIFYING);
    CHECK(table_status(pipe, "b", TABLE_REMOVING));
    STEP(lifecycle_modify_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_PAUSED);
    CHECK(table_status(pipe, "b", -1) && table_status(pipe, "c", -1));
    struct checkpoint *list;
    size_t n;
    STEP(checkpoint_list(st, pipe, CHECKPOINT_SNAPSHOT, "b", &list, &n, E));
    CHECK(n == 0);
    checkpoints_free(list, n);

    /* resync from failed, the way back: its snapshot counts from 0, what
     * the table delivered over its life does not go down */
    STEP(pipe_table_count(st, pipe, "a", 5, 50, 1000, -1, E));
    STEP(lifecycle_fail(st, pipe, "change history lost", E));
    CHECK(state_of(pipe) == STATE_FAILED);
    CHECK(lifecycle_fail(st, pipe, "again", &err) < 0);
    STEP(checkpoint_put(st, pipe, CHECKPOINT_SNAPSHOT, "a", 0, "x", 1, true,
                        E));
    STEP(request_submit(st, pipe, REQUEST_RESYNC, NULL, 0, false, &id, E));
    STEP(start_next(pipe, E));
    CHECK(state_of(pipe) == STATE_SETUP);
    STEP(checkpoint_list(st, pipe, CHECKPOINT_SNAPSHOT, NULL, &list, &n, E));
    CHECK(n == 0); /* a resync starts its snapshot from nothing */
    checkpoints_free(list, n);
    STEP(pipe_table_count(st, pipe, "a", 2, 20, 2000, -1, E));
    struct pipe_row row;
    bool found;
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK(row.table_count == 1 && row.tables[0].rows_copied == 2 &&
          row.tables[0].bytes_copied == 20);
    CHECK(row.table_count == 1 && row.tables[0].rows_delivered == 7 &&
          row.tables[0].bytes_delivered == 70);
    pipe_row_free(&row);
    STEP(lifecycle_setup_done(st, pipe, E));
    STEP(lifecycle_snapshot_done(st, pipe, E));
    STEP(lifecycle_resync_done(st, pipe, E));
    CHECK(state_of(pipe) == STATE_RUNNING);
    free(pipe);
}

static void failures_and_retries(void)
{
    const char *tables[] = {"a"};
    char *pipe = running_pipe(tables, 1);
    int64_t id;
    STEP(request_submit(st, pipe, REQUEST_PAUSE, NULL, 0, false, &id, E));
    STEP(start_next(pipe, E));
    struct pipe_row row;
    bool found;
    struct error err;
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK(row.retrying_since == 0 && row.last_error_at == 0);
    pipe_row_free(&row);
    int64_t before = clock_now_ms();
    STEP(lifecycle_retry(st, pipe, "sink refused the connection", E));
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    int64_t since = row.retrying_since;
    CHECK(since >= before && since <= clock_now_ms());
    CHECK(row.last_error_at == since);
    pipe_row_free(&row);
    sleep_ms(5);
    STEP(lifecycle_retry(st, pipe, "sink refused the connection", E));
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK(row.retry_count == 2 && row.state == STATE_PAUSING);
    CHECK_STR(row.last_error, "sink refused the connection");
    /* the run of retries began at the first; the error is the last's */
    CHECK(row.retrying_since == since && row.last_error_at > since);
    pipe_row_free(&row);
    STEP(lifecycle_retry_clear(st, pipe, E));
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK(row.retry_count == 0 && row.retrying_since == 0);
    pipe_row_free(&row);
    sleep_ms(5);
    int64_t failed_from = clock_now_ms();
    STEP(lifecycle_fail(st, pipe, "sink: authentication failed", E));
    CHECK(state_of(pipe) == STATE_FAILED);
    CHECK_STR(request_status(id), REQUEST_FAILED);
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK(row.retry_count == 0);
    CHECK_STR(row.last_error, "sink: authentication failed");
    CHECK(row.last_error_at >= failed_from);
    pipe_row_free(&row);
    free(pipe);
}

/* A store that cannot answer leaves no doubt about whether the pipe
 * exists: found is false with the error, never what it was before. */
static void load_fails(void)
{
    const char *tables[] = {"a"};
    char *pipe = running_pipe(tables, 1);
    exec_ok("ALTER TABLE pipes RENAME COLUMN created_at TO created_away", NULL,
            0);
    struct pipe_row row;
    bool found = true;
    struct error err;
    CHECK(pipe_load(st, pipe, &row, &found, &err) < 0);
    CHECK(!found);
    CHECK_CONTAINS(err.message, "created_at");
    exec_ok("ALTER TABLE pipes RENAME COLUMN created_away TO created_at", NULL,
            0);
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    pipe_row_free(&row);
    free(pipe);
}

static void restart_semantics(void)
{
    const char *tables[] = {"a"};
    char *pipe = running_pipe(tables, 1);
    force_state(pipe, STATE_PAUSING, CONTEXT_NONE);
    STEP(lifecycle_recover(st, pipe, E));
    CHECK(state_of(pipe) == STATE_PAUSED);
    for (int s = 0; s < STATE_COUNT; s++) {
        if (s == STATE_PAUSING)
            continue;
        force_state(pipe, (enum pipe_state)s, CONTEXT_NONE);
        STEP(lifecycle_recover(st, pipe, E));
        CHECK(state_of(pipe) == (enum pipe_state)s);
    }
    free(pipe);
}

static void delete_any_state(void)
{
    for (int s = 0; s < STATE_COUNT; s++) {
        const char *tables[] = {"a"};
        char *pipe = new_pipe("snapshot+cdc", tables, 1);
        force_state(pipe, (enum pipe_state)s, CONTEXT_NONE);
        STEP(
            checkpoint_put(st, pipe, CHECKPOINT_CDC, "", 0, "x", 1, false, E));
        int64_t id;
        STEP(request_submit(st, pipe, REQUEST_DELETE, NULL, 0, false, &id, E));
        STEP(start_next(pipe, E));
        CHECK(state_of(pipe) == STATE_COUNT); /* gone */
        struct checkpoint c;
        bool found = true;
        STEP(checkpoint_get(st, pipe, CHECKPOINT_CDC, "", 0, &c, &found, E));
        CHECK(!found);
        CHECK_STR(request_status(id), "gone");
        free(pipe);
    }
}

/* A config file's pipes into the store, and the file changing. */
/* Writes `text` to `path` with every "%s" in it replaced by `name`. */
static void write_named(const char *path, const char *text, const char *name)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (const char *p = text; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            fputs(name, f);
            p++;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
}

static void registration(void)
{
    char dir[] = "/tmp/sluice-reg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = xasprintf("%s/p.ini", dir);
    char *pipe = xasprintf("reg%lld", (long long)(clock_now_ms() % 1000000));
    struct registry reg;
    registry_init(&reg);
    const char *dirs[] = {PLUGIN_DIR, TEST_PLUGIN_DIR};
    registry_scan(&reg, dirs, 2);

#define WRITE_AND_REGISTER(text, expect_ok)                                   \
    do {                                                                      \
        write_named(path, text, pipe);                                        \
        struct config cfg;                                                    \
        struct diags d = {0};                                                 \
        struct error e;                                                       \
        CHECK(config_load(load_path, &cfg, &d, &e) == 0);                     \
        config_bind_plugins(&cfg, &reg, &d);                                  \
        CHECK(d.count == 0);                                                  \
        int rc_ = pipe_register(st, &cfg, &cfg.pipes[0], &d);                 \
        CHECK((rc_ == 0) == (expect_ok));                                     \
        free(last_errors);                                                    \
        last_errors = xstrdup(d.count ? d.errors[0] : "");                    \
        diags_free(&d);                                                       \
        config_free(&cfg);                                                    \
    } while (0)

    char *last_errors = NULL;
    const char *load_path = path;
    const char *base =
        "[pipe %s]\nsource = memory_source\nsink = memory_sink\n"
        "sync_interval = 10s\n[pipe %s.source]\ntables = a, b\n";
    WRITE_AND_REGISTER(base, true);
    CHECK(state_of(pipe) == STATE_PROVISIONING);
    CHECK(table_status(pipe, "a", TABLE_ACTIVE) &&
          table_status(pipe, "b", TABLE_ACTIVE));
    WRITE_AND_REGISTER(base, true); /* the same again: nothing changes */
    struct transition *t;
    size_t n;
    STEP(lifecycle_history(st, pipe, &t, &n, E));
    CHECK(n == 1);
    if (n)
        CHECK_CONTAINS(t[0].reason, "registered from");
    transitions_free(t, n);

    force_state(pipe, STATE_RUNNING, CONTEXT_NONE);
    const char *changed = "[pipe %s]\nsource = memory_source\nsink = "
                          "memory_sink\nsync_interval = 20s\n[pipe "
                          "%s.source]\ntables = a, b\nrows = 5\n";
    WRITE_AND_REGISTER(changed, false);
    /* each setting with its stored and its new value; no worker holds the
     * pipe, so it is only registered as running */
    CHECK_CONTAINS(last_errors, "settings changed (sync_interval: '10s' -> "
                                "'20s', source.rows: '10' -> '5')");
    CHECK_CONTAINS(last_errors, "the pipe is registered as running (no worker "
                                "runs it now); settings change only while a "
                                "pipe is paused");
    /* a worker of another host holds it: it is running */
    char *lease = pipe_lease_name(pipe);
    bool held = false;
    STEP(lease_acquire(st, lease, "elsewhere.example:1:1:x", 60000, &held, E));
    CHECK(held);
    WRITE_AND_REGISTER(changed, false);
    CHECK_CONTAINS(last_errors, "(sync_interval: '10s' -> '20s', source.rows: "
                                "'10' -> '5'), but the pipe is running; "
                                "settings change only");
    STEP(lease_release(st, lease, "elsewhere.example:1:1:x", E));
    free(lease);
    force_state(pipe, STATE_PAUSED, CONTEXT_NONE);
    WRITE_AND_REGISTER(changed, true);
    struct pipe_row row;
    bool found;
    struct error err;
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK_CONTAINS(row.settings, "sync_interval = 20s");
    pipe_row_free(&row);

    /* settings stored by a sluice that had fewer options: the new ones at
     * their defaults are no change, even while the pipe runs; set to
     * something else, they are */
    force_state(pipe, STATE_RUNNING, CONTEXT_NONE);
    struct db_value pp = DBV_TEXT(pipe);
    exec_ok("UPDATE pipes SET settings = replace(replace(settings, "
            "'sink.write_delay = 0s\n', ''), 'sink.check_callers = false\n', "
            "'') WHERE name = $1",
            &pp, 1);
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK(!strstr(row.settings, "sink.write_delay"));
    pipe_row_free(&row);
    WRITE_AND_REGISTER(changed, true);
    exec_ok("UPDATE pipes SET settings = replace(settings, "
            "'sink.write_delay = 0s\n', '') WHERE name = $1",
            &pp, 1);
    char *delayed = xasprintf("[pipe %%s]\nsource = memory_source\nsink = "
                              "memory_sink\nsync_interval = 20s\n[pipe "
                              "%%s.source]\ntables = a, b\nrows = 5\n[pipe "
                              "%s.sink]\nwrite_delay = 5ms\n",
                              pipe);
    WRITE_AND_REGISTER(delayed, false);
    /* stored before the option existed: it was at its default */
    CHECK_CONTAINS(last_errors, "settings changed (sink.write_delay: '0s' -> "
                                "'5ms')");
    free(delayed);
    force_state(pipe, STATE_PAUSED, CONTEXT_NONE);

    /* the table list changed: requests, not settings */
    const char *tables = "[pipe %s]\nsource = memory_source\nsink = "
                         "memory_sink\nsync_interval = 20s\n[pipe "
                         "%s.source]\ntables = a, c\nrows = 5\n";
    WRITE_AND_REGISTER(tables, true);
    struct request *reqs;
    STEP(requests_of(st, pipe, 10, &reqs, &n, E));
    CHECK(n == 2);
    if (n == 2) {
        CHECK(reqs[0].kind == REQUEST_TABLES_REMOVE &&
              reqs[0].table_count == 1);
        CHECK_STR(reqs[0].tables[0], "b");
        CHECK(reqs[1].kind == REQUEST_TABLES_ADD);
        CHECK_STR(reqs[1].tables[0], "c");
    }
    requests_free(reqs, n);
    WRITE_AND_REGISTER(tables, true); /* pending already: not asked twice */
    STEP(requests_of(st, pipe, 10, &reqs, &n, E));
    CHECK(n == 2);
    requests_free(reqs, n);

    /* a path option is stored against the file's real directory: the
     * file named from its own directory, then from elsewhere, is the
     * same setting, so the pipe starts again while running */
    char *with_path = xasprintf("[pipe %%s]\nsource = memory_source\nsink = "
                                "memory_sink\nsync_interval = 20s\n[pipe "
                                "%%s.source]\ntables = a, c\nrows = 5\n[pipe "
                                "%s.sink]\noutput = ./out/rows.jsonl\n",
                                pipe);
    char here[4096];
    CHECK(getcwd(here, sizeof here) != NULL);
    CHECK(chdir(dir) == 0);
    load_path = "p.ini";
    WRITE_AND_REGISTER(with_path, true);
    CHECK(chdir("/") == 0);
    load_path = path;
    force_state(pipe, STATE_RUNNING, CONTEXT_NONE);
    WRITE_AND_REGISTER(with_path, true);
    CHECK_STR(last_errors, "");
    CHECK(chdir(here) == 0);
    char *real = realpath(dir, NULL);
    char *stored = xasprintf("sink.output = %s/out/rows.jsonl\n", real);
    CHECK(pipe_load(st, pipe, &row, &found, &err) == 0 && found);
    CHECK_CONTAINS(row.settings, stored);
    pipe_row_free(&row);
    free(stored);
    free(real);
    free(with_path);
    force_state(pipe, STATE_PAUSED, CONTEXT_NONE);

    free(last_errors);
    registry_free(&reg);
    char *cmd = xasprintf("rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    free(cmd);
    free(path);
    free(pipe);
}

#define RACE_PUBLISHERS 4
#define RACE_BATCHES 40

static const char *race_topic;

/* One publisher of the race: batches of one record, each in a
 * transaction of its own connection that stays open a little while. */
static void *race_publisher(void *arg)
{
    (void)arg;
    struct store *s;
    struct error err;
    if (store_open(url, STORE_WRITE, &s, &err) < 0) {
        fprintf(stderr, "  %s\n", err.message);
        return (void *)1;
    }
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    intptr_t failed = 0;
    for (int i = 0; i < RACE_BATCHES && !failed; i++) {
        batch_reset(&b);
        sluice_record r = {.size = sizeof r,
                           .op = SLUICE_OP_INSERT,
                           .table = "t",
                           .table_len = 1,
                           .key = "1",
                           .key_len = 1,
                           .version = 1};
        batch_add(&b, &r, NULL);
        int64_t id;
        failed = store_begin(s, &err) < 0 ||
                 hub_publish(s, race_topic, NULL, &b, clock_now_ms(), &id,
                             &err) < 0;
        if (!failed) {
            sleep_ms(1 + rand() % 8);
            failed = store_commit(s, &err) < 0;
        }
        if (failed)
            fprintf(stderr, "  publish: %s\n", err.message);
    }
    batch_free(&b);
    store_close(s);
    return (void *)failed;
}

/* Publishers of one topic commit in any order while a subscriber reads
 * on: every publication is read, none twice. */
static void publishers_race_subscriber(void)
{
    char *topic =
        xasprintf("race_%lld", (long long)(clock_now_ms() % 100000000));
    char *sub = xasprintf("%s_sub", topic);
    race_topic = topic;
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 1,
                      .retention = "retention",
                      .created_at = clock_now_ms()};
    struct error err;
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(subscription_create(st, sub, topic, NULL, clock_now_ms(), &err) ==
          0);
    pthread_t threads[RACE_PUBLISHERS];
    for (int i = 0; i < RACE_PUBLISHERS; i++)
        pthread_create(&threads[i], NULL, race_publisher, NULL);
    int read = 0;
    int64_t last = 0;
    int64_t until = clock_monotonic_ms() + 20000;
    while (read < RACE_PUBLISHERS * RACE_BATCHES &&
           clock_monotonic_ms() < until) {
        struct hub_event e;
        bool found;
        CHECK(hub_take(st, sub, clock_now_ms(), &e, &found, &err) == 0);
        if (found) {
            CHECK(e.publication > last);
            last = e.publication;
            read++;
            CHECK(hub_complete(st, sub, e.publication, clock_now_ms(), &err) ==
                  0);
            hub_event_free(&e);
        }
    }
    for (int i = 0; i < RACE_PUBLISHERS; i++) {
        void *failed;
        pthread_join(threads[i], &failed);
        CHECK(failed == NULL);
    }
    struct db_value p = DBV_TEXT(topic);
    struct db_result r;
    CHECK(store_exec(st, "SELECT COUNT(*) FROM publications WHERE topic = $1",
                     &p, 1, &r, &err) == 0);
    CHECK(db_int(&r, 0, 0) == RACE_PUBLISHERS * RACE_BATCHES);
    db_result_free(&r);
    if (read != RACE_PUBLISHERS * RACE_BATCHES)
        fprintf(stderr, "  the subscriber read %d of %d publications\n", read,
                RACE_PUBLISHERS * RACE_BATCHES);
    CHECK(read == RACE_PUBLISHERS * RACE_BATCHES);
    free(sub);
    free(topic);
}

static int64_t publish_one(const char *topic, int64_t at)
{
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    sluice_record r = {.size = sizeof r,
                       .op = SLUICE_OP_INSERT,
                       .table = "t",
                       .table_len = 1,
                       .key = "1",
                       .key_len = 1,
                       .version = 1};
    batch_add(&b, &r, NULL);
    int64_t id = 0;
    struct error err;
    CHECK(hub_publish(st, topic, NULL, &b, at, &id, &err) == 0);
    batch_free(&b);
    return id;
}

/* Takes the subscription's next event at `at`; returns its id. */
static int64_t take(const char *sub, int64_t at)
{
    struct hub_event e;
    bool found = false;
    struct error err;
    CHECK(hub_take(st, sub, at, &e, &found, &err) == 0);
    CHECK(found);
    int64_t id = found ? e.publication : 0;
    if (found)
        hub_event_free(&e);
    return id;
}

/* A subscriber takes what its publisher kept in memory (hub/kept.h)
 * without reading the store, and reads the store for what was not kept:
 * the first event's records are made unreadable in the store, the
 * second's are not kept. Buffers go round: the publisher's batch gets a
 * spare one back. */
static void kept_in_memory(void)
{
    char *topic =
        xasprintf("kept_%lld", (long long)(clock_now_ms() % 100000000));
    char *sub = xasprintf("%s_sub", topic);
    struct error err;
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 1,
                      .retention = "retention",
                      .created_at = clock_now_ms()};
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(subscription_create(st, sub, topic, NULL, clock_now_ms(), &err) ==
          0);
    struct hub_kept *kept = hub_kept_new(1 << 20, NULL);
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    sluice_record r = {.size = sizeof r,
                       .op = SLUICE_OP_INSERT,
                       .table = "t",
                       .table_len = 1,
                       .key = "k1",
                       .key_len = 2,
                       .doc = "{}",
                       .doc_len = 2,
                       .version = 1};
    batch_add(&b, &r, NULL);
    int64_t first = 0, second = 0;
    CHECK(hub_kept_room(kept, b.frames.len));
    CHECK(hub_publish(st, topic, NULL, &b, 1000, &first, &err) == 0);
    hub_kept_put(kept, first, &b);
    CHECK(b.frames.len == 0);
    batch_reset(&b);
    r.key = "k2";
    batch_add(&b, &r, NULL);
    CHECK(hub_publish(st, topic, NULL, &b, 1000, &second, &err) == 0);
    batch_free(&b);
    /* the first event's records can no longer be read from the store:
     * their checksum (SQLite: both events share a segment) or their
     * blobs (PostgreSQL) are gone */
    struct db_value p = DBV_INT(first);
    CHECK(store_exec(st,
                     strncmp(url, "sqlite:", 7) == 0
                         ? "UPDATE publications SET blob_checksum = "
                           "blob_checksum + 1 WHERE id = $1"
                         : "DELETE FROM publication_blobs WHERE publication "
                           "= $1",
                     &p, 1, NULL, &err) == 0);
    struct hub_event e;
    bool found = false;
    CHECK(hub_take_after(st, sub, 0, 2000, kept, &e, &found, &err) == 0);
    CHECK(found && e.publication == first && e.batch.count == 1);
    if (found && e.batch.count == 1) {
        sluice_record got = {.size = sizeof got};
        batch_get(&e.batch, 0, &got);
        CHECK(got.key_len == 2 && memcmp(got.key, "k1", 2) == 0);
    }
    hub_kept_give_back(kept, &e.batch.frames);
    hub_event_free(&e);
    /* taken once: a second take of it reads the store, which lost it */
    CHECK(hub_take_after(st, sub, 0, 2000, kept, &e, &found, &err) < 0);
    /* the second was not kept: read from the store */
    CHECK(hub_take_after(st, sub, first, 2000, kept, &e, &found, &err) == 0);
    CHECK(found && e.publication == second && e.batch.count == 1);
    if (found)
        hub_event_free(&e);
    hub_kept_free(kept);
    free(sub);
    free(topic);
}

/* What waits for a subscription: its events not yet completed, and their
 * records (the backlog of /metrics). */
static void backlog(void)
{
    char *topic =
        xasprintf("bl_%lld", (long long)(clock_now_ms() % 100000000));
    char *sub = xasprintf("%s_s", topic);
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 1,
                      .retention = "retention",
                      .created_at = 0};
    struct error err;
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(subscription_create(st, sub, topic, NULL, 0, &err) == 0);
    int64_t events = -1, records = -1;
    CHECK(hub_backlog_records(st, sub, &events, &records, &err) == 0);
    CHECK(events == 0 && records == 0);
    int64_t p1 = publish_one(topic, 100);
    publish_one(topic, 200);
    publish_one(topic, 300);
    CHECK(hub_backlog_records(st, sub, &events, &records, &err) == 0);
    CHECK(events == 3 && records == 3);
    CHECK(take(sub, 400) == p1);
    CHECK(hub_complete(st, sub, p1, 400, &err) == 0);
    CHECK(hub_backlog_records(st, sub, &events, &records, &err) == 0);
    CHECK(events == 2 && records == 2);
    CHECK(hub_backlog(st, sub, &events, &err) == 0 && events == 2);
    free(sub);
    free(topic);
}

/* The consumption of a topic's events as they stood at `as_of` is `want`:
 * "pN:status:final_at " for each event. */
static void check_as_of(const char *topic, int64_t as_of, const char *want)
{
    struct publication_info *p = NULL;
    size_t n = 0;
    struct error err;
    CHECK(hub_publications(st, topic, INT64_MIN, as_of, &p, &n, &err) == 0);
    struct buf got = {0};
    buf_puts(&got, "");
    for (size_t i = 0; i < n; i++)
        buf_printf(&got, "p%lld:%s:%lld ", (long long)(i + 1),
                   consumption_name(p[i].consumption),
                   (long long)p[i].final_at);
    if (strcmp(got.data, want) != 0)
        fprintf(stderr, "  as of %lld:\n", (long long)as_of);
    CHECK_STR(got.data, want);
    buf_free(&got);
    publications_free(p, n);
}

/* The consumption status as of a time, from the finish times of the
 * subscription events (what a maintenance run as of a past time sees),
 * and when each event became final. */
static void publications_as_of(void)
{
    char *topic =
        xasprintf("asof_%lld", (long long)(clock_now_ms() % 100000000));
    char *a = xasprintf("%s_a", topic), *b = xasprintf("%s_b", topic);
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 1,
                      .retention = "retention",
                      .created_at = 0};
    struct error err;
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(subscription_create(st, a, topic, NULL, 0, &err) == 0);
    CHECK(subscription_create(st, b, topic, NULL, 0, &err) == 0);
    int64_t p1 = publish_one(topic, 100);
    int64_t p2 = publish_one(topic, 200);
    publish_one(topic, 300);
    CHECK(take(a, 400) == p1);
    CHECK(hub_complete(st, a, p1, 400, &err) == 0);
    CHECK(take(a, 450) == p2);
    CHECK(hub_error(st, a, p2, "bad", 450, &err) == 0);
    CHECK(take(b, 500) == p1);
    CHECK(hub_complete(st, b, p1, 500, &err) == 0);
    check_as_of(topic, 420,
                "p1:processing:0 p2:processing:0 p3:processing:0 ");
    check_as_of(topic, 480, "p1:processing:0 p2:error:0 p3:processing:0 ");
    check_as_of(topic, 600, "p1:final:500 p2:error:0 p3:processing:0 ");
    /* later: a reads p2 again and p3, b is deleted (what it had not
     * completed is discarded), p4 is published */
    CHECK(take(a, 700) == p2);
    CHECK(hub_complete(st, a, p2, 700, &err) == 0);
    int64_t p3 = take(a, 750);
    CHECK(hub_complete(st, a, p3, 750, &err) == 0);
    CHECK(subscription_delete(st, b, 800, &err) == 0);
    publish_one(topic, 900);
    /* as of 600 nothing of that counts, and p4 did not exist; p2's failure
     * is no longer known (the store keeps the last status): processing */
    check_as_of(topic, 600, "p1:final:500 p2:processing:0 p3:processing:0 ");
    check_as_of(topic, 800, "p1:final:500 p2:final:800 p3:final:800 ");
    check_as_of(topic, INT64_MAX,
                "p1:final:500 p2:final:800 p3:final:800 p4:processing:0 ");
    /* a paused subscription is refused as an error that passes: the
     * resume ends it (a pipe whose subscription an operator holds waits,
     * and never fails on it) */
    CHECK(subscription_set_paused(st, a, true, &err) == 0);
    struct hub_event e;
    bool found;
    err.transient = false;
    CHECK(hub_take(st, a, 1000, &e, &found, &err) < 0);
    CHECK_CONTAINS(err.message, "is paused; resume it first");
    CHECK(err.transient);
    CHECK(subscription_set_paused(st, a, false, &err) == 0);
    free(a);
    free(b);
    free(topic);
}

/* Listings read in pages of (time, id): events at the same time are not
 * lost nor repeated across a page boundary. */
static void events_by_time(void)
{
    char *topic =
        xasprintf("bt_%lld", (long long)(clock_now_ms() % 100000000));
    char *sub = xasprintf("%s_s", topic);
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 1,
                      .retention = "retention",
                      .created_at = 0};
    struct error err;
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(subscription_create(st, sub, topic, NULL, 0, &err) == 0);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = publish_one(topic, i < 4 ? 100 : 50); /* the last first */
    for (int i = 0; i < 5; i++) {
        CHECK(take(sub, 150) == ids[i]);
        CHECK(hub_complete(st, sub, ids[i], 200, &err) == 0);
    }
    int64_t want[] = {ids[4], ids[0], ids[1], ids[2], ids[3]};
    int64_t at = INT64_MIN, id = INT64_MIN;
    size_t seen = 0;
    for (int page = 0; page < 4; page++) {
        struct publication_info *p;
        size_t n;
        CHECK(hub_publications_by_time(st, topic, at, id, 2, &p, &n, &err) ==
              0);
        for (size_t i = 0; i < n; i++, seen++)
            CHECK(seen < 5 && p[i].id == want[seen]);
        if (n) {
            at = p[n - 1].published_at;
            id = p[n - 1].id;
        }
        publications_free(p, n);
    }
    CHECK(seen == 5);
    at = INT64_MIN, id = INT64_MIN, seen = 0;
    for (int page = 0; page < 4; page++) {
        struct subscription_event_info *e;
        size_t n;
        CHECK(hub_subscription_events_by_time(st, topic, at, id, 2, &e, &n,
                                              &err) == 0);
        for (size_t i = 0; i < n; i++, seen++)
            CHECK(e[i].at == 200 && e[i].publication == ids[seen]);
        if (n) {
            at = e[n - 1].at;
            id = e[n - 1].id;
        }
        subscription_events_free(e, n);
    }
    CHECK(seen == 5);
    free(sub);
    free(topic);
}

/* A retention plugin as ABI 1.1 built it (no paging): how many plan calls
 * it got, and the most events one of them got. */
static size_t whole_calls, whole_largest;

static sluice_status whole_plan(void *instance,
                                const sluice_retention_input *in,
                                sluice_retention_plan *plan, sluice_error *err)
{
    (void)instance, (void)plan, (void)err;
    whole_calls++;
    if (in->publication_count > whole_largest)
        whole_largest = in->publication_count;
    return SLUICE_OK;
}

static sluice_status whole_open(sluice_context *ctx, const void *config,
                                void **instance, sluice_error *err)
{
    (void)ctx, (void)config, (void)err;
    *instance = NULL;
    return SLUICE_OK;
}

static void whole_close(void *instance)
{
    (void)instance;
}

/* The report of `topic` in a dry run with pages of `page` events. */
static struct maintenance_report dry_run(const struct registry *reg,
                                         int64_t as_of, size_t page)
{
    struct maintenance_report r;
    struct error err;
    maintenance_set_page_size(page);
    CHECK(maintenance_run(st, reg, NULL, as_of, true, &r, &err) == 0);
    return r;
}

static const struct topic_report *report_of(const struct maintenance_report *r,
                                            const char *topic)
{
    for (size_t i = 0; i < r->topic_count; i++)
        if (strcmp(r->topics[i].topic, topic) == 0)
            return &r->topics[i];
    return NULL;
}

static int64_t topic_events(const char *topic)
{
    struct publication_info *p;
    size_t n;
    struct error err;
    CHECK(hub_publications(st, topic, INT64_MIN, INT64_MAX, &p, &n, &err) ==
          0);
    publications_free(p, n);
    return (int64_t)n;
}

/* A topic of 23 events planned in pages of 4 is planned as it is in one
 * page (the consumed rule's P is on another page than most of what it
 * deletes), and carried out so; a retention plugin of ABI 1.1 is given
 * the topic whole, in one call, whatever the page size. */
static void maintenance_pages(void)
{
    long long tag = (long long)(clock_now_ms() % 100000000);
    char *topic = xasprintf("pg_%lld", tag),
         *sub = xasprintf("pg_%lld_s", tag),
         *old = xasprintf("pg_%lld_old", tag);
    int64_t job = 1701298800000LL; /* 2023-11-29 23:00 UTC */
    int64_t hour = 3600000;
    struct topic t = {.name = topic,
                      .consumed_retention_days = 1,
                      .unconsumed_retention_days = 6,
                      .retention = "retention",
                      .created_at = 0};
    struct topic t_old = t;
    t_old.name = old;
    t_old.retention = "whole_1_1";
    struct error err;
    CHECK(topic_create(st, &t, &err) == 0);
    CHECK(topic_create(st, &t_old, &err) == 0);
    CHECK(subscription_create(st, sub, topic, NULL, 0, &err) == 0);
    /* every 12 hours from 11-17 23:00; the first 15 consumed an hour after */
    for (int i = 0; i < 23; i++) {
        int64_t at = job - 12 * 24 * hour + i * 12 * hour;
        int64_t id = publish_one(topic, at);
        if (i < 15) {
            CHECK(take(sub, at + hour) == id);
            CHECK(hub_complete(st, sub, id, at + hour, &err) == 0);
        }
        if (i < 9)
            publish_one(old, at);
    }
    struct registry reg;
    registry_init(&reg);
    char *path = xasprintf("%s/retention.so", PLUGIN_DIR);
    CHECK(registry_load_file(&reg, path, &err) == 0);
    static const sluice_retention_info whole = {.size = sizeof whole,
                                                .name = "whole_1_1",
                                                .open = whole_open,
                                                .close = whole_close,
                                                .plan = whole_plan};
    struct plugin *p = NULL;
    CHECK(plugin_from_info(PLUGIN_RETENTION, &whole,
                           offsetof(sluice_retention_info, option_count), 1,
                           &p, &err) == 0);
    XGROW(reg.plugins, reg.cap, reg.count + 1);
    reg.plugins[reg.count++] = p;

    struct maintenance_report one = dry_run(&reg, job, 1000);
    whole_calls = whole_largest = 0;
    struct maintenance_report paged = dry_run(&reg, job, 4);
    CHECK(whole_calls == 1 && whole_largest == 9);
    const struct topic_report *a = report_of(&one, topic),
                              *b = report_of(&paged, topic);
    CHECK(a && b);
    int64_t deleted = 0;
    if (a && b) {
        CHECK_STR(a->message, "");
        CHECK_STR(b->message, "");
        CHECK(a->rule_count == 2 && b->rule_count == a->rule_count);
        for (size_t i = 0; i < a->rule_count && i < b->rule_count; i++) {
            CHECK_STR(a->rules[i].rule, b->rules[i].rule);
            CHECK(a->rules[i].cutoff == b->rules[i].cutoff);
            CHECK(a->rules[i].events == b->rules[i].events);
            deleted += a->rules[i].events;
        }
    }
    /* P = 11-24 (the 15th event, 11-24 23:00, on page 4), C_cut = 11-23:
     * the 11 events before it, on pages 1 to 3; U_cut = 11-23 deletes
     * nothing more */
    CHECK(deleted == 11);
    maintenance_report_free(&one);
    maintenance_report_free(&paged);

    struct maintenance_report done;
    maintenance_set_page_size(4);
    CHECK(maintenance_run(st, &reg, NULL, job, false, &done, &err) == 0);
    CHECK_STR(report_of(&done, topic)->message, "");
    CHECK(topic_events(topic) == 23 - 11);
    maintenance_report_free(&done);
    maintenance_set_page_size(0);
    registry_free(&reg);
    free(path);
    free(topic);
    free(sub);
    free(old);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_store URL\n");
        return 2;
    }
    url = argv[1];
    struct error err;
    if (store_open(url, STORE_CREATE, &st, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    RUN(migrations_and_newer_store);
    RUN(migration_to_owners);
    RUN(intents);
    RUN(sqlite_file_lost);
    RUN(nested_transactions);
    RUN(transaction_steps);
    RUN(after_transactions);
    RUN(checkpoints);
    RUN(leases);
    RUN(fencing);
    RUN(balance_shares);
    RUN(every_pair_of_states);
    RUN(new_pipe_flows);
    RUN(pause_resume);
    RUN(tables_and_resync);
    RUN(failures_and_retries);
    RUN(load_fails);
    RUN(restart_semantics);
    RUN(delete_any_state);
    RUN(registration);
    RUN(publishers_race_subscriber);
    RUN(kept_in_memory);
    RUN(publications_as_of);
    RUN(backlog);
    RUN(events_by_time);
    RUN(maintenance_pages); /* last: its run deletes other tests' events */
    store_close(st);
    return TEST_RESULT();
}
