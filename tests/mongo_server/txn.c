/* txn.c: sessions (lsid), multi-document transactions and retryable
 * writes, as drivers send them: every command's scope (scope.c) ends
 * here, published, kept in a transaction, or undone.
 *
 * A transaction's writes live in its own map between its commands (each
 * document as the transaction left it; NULL: deleted). Before each of its
 * commands they are put in place in the collections, so that the command
 * sees them; after it, the documents it touched are read back into the
 * map, its events are held, and its scope is undone: no other command
 * ever sees them. Commit puts them in place for good and appends the
 * held events to the oplog together, at one cluster time, each with the
 * lsid and txnNumber. Abort drops the map.
 *
 * First writer wins: a transaction that touches a document another open
 * transaction wrote, or one committed since it began, fails with
 * WriteConflict (112, TransientTransactionError) and is aborted. A write
 * outside transactions that touches a document an open transaction wrote
 * is undone, waits for that transaction to end, and runs again, as
 * MongoDB's waits for the document's lock; drop, dropDatabase and
 * renameCollection wait first for the transactions that wrote in their
 * database. An open transaction is aborted after TXN_LIFETIME_MS.
 *
 * A retryable write (lsid and txnNumber without autocommit) keeps its
 * answer in its session: the same write again gets that answer and is not
 * applied twice.
 *
 * Reads in a transaction see its own writes and what others committed
 * (not a snapshot). Callers hold srv.lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define TXN_LIFETIME_MS 60000 /* MongoDB's transactionLifetimeLimitSeconds */
#define SESSION_IDLE_MS (30LL * 60 * 1000) /* logicalSessionTimeoutMinutes */

enum session_state {
    SESSION_NEW,
    SESSION_RETRYABLE, /* `number` was a retryable write */
    SESSION_OPEN,      /* transaction `number` is open */
    SESSION_COMMITTED,
    SESSION_ABORTED
};

struct txn {
    struct session *session;
    int64_t serial;
    int64_t start; /* `commits` when it began */
    int64_t began_ms;
    struct keymap writes; /* bson_t *: the document as it left it */
    struct scope held;    /* its change events, in order */
};

struct session {
    bson_value_t id; /* lsid.id */
    int64_t number;  /* the newest txnNumber */
    enum session_state state;
    bson_t *reply;   /* SESSION_RETRYABLE: write `number`'s answer */
    struct txn *txn; /* SESSION_OPEN */
    int64_t used_ms;
    int busy; /* commands using it (one runs, the rest wait): kept */
};

static struct keymap sessions; /* ("", "", lsid.id): struct session * */
static struct txn **open_txns;
static size_t nopen;
static int64_t next_serial = 1;
static int64_t commits;      /* scopes published */
static struct keymap recent; /* documents published while transactions
                                are open: (intptr_t) the commit's count */
static size_t recent_pruned; /* its size after the last pruning */
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER; /* a transaction
                                       ended, or a session was let go */
static struct command_ctx *current; /* for commit and abort */

/* The uid of a session without authentication, as MongoDB makes it:
 * SHA-256 of the empty string. */
static const uint8_t no_auth_uid[32] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc,
                                        0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8,
                                        0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae,
                                        0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
                                        0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
                                        0xb8, 0x55};

/* ---- errors ---- */

static void add_label(bson_t *reply, const char *label)
{
    bson_t labels;
    BSON_APPEND_ARRAY_BEGIN(reply, "errorLabels", &labels);
    BSON_APPEND_UTF8(&labels, "0", label);
    bson_append_array_end(reply, &labels);
}

static void no_such_transaction(bson_t *reply, int64_t number,
                                const struct session *s)
{
    if (s->number == number && s->state == SESSION_ABORTED)
        reply_error(reply, 251, "NoSuchTransaction",
                    "Transaction %lld has been aborted.", (long long)number);
    else
        reply_error(reply, 251, "NoSuchTransaction",
                    "Given transaction number %lld does not match any "
                    "in-progress transactions. The active transaction "
                    "number is %lld",
                    (long long)number, (long long)s->number);
    add_label(reply, "TransientTransactionError");
}

static void too_old(bson_t *reply, int64_t number, const struct session *s)
{
    reply_error(reply, 225, "TransactionTooOld",
                "Cannot start transaction %lld on session because a newer "
                "transaction %lld has already started",
                (long long)number, (long long)s->number);
}

static bool succeeded(const bson_t *reply)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, reply, "ok") &&
           bson_iter_as_double(&it) == 1 &&
           !bson_iter_init_find(&it, reply, "writeErrors");
}

/* In a transaction a write error fails the whole command, as MongoDB
 * reports it: the first write error as the command's error. */
static void as_command_error(bson_t *reply)
{
    bson_iter_t it, arr, e;
    if (!bson_iter_init_find(&it, reply, "writeErrors") ||
        !bson_iter_recurse(&it, &arr) || !bson_iter_next(&arr) ||
        !bson_iter_recurse(&arr, &e))
        return;
    int code = 8;
    char msg[512] = "write error", name[48] = "";
    while (bson_iter_next(&e)) {
        const char *k = bson_iter_key(&e);
        if (!strcmp(k, "code"))
            code = (int)bson_iter_as_int64(&e);
        else if (!strcmp(k, "errmsg") && BSON_ITER_HOLDS_UTF8(&e))
            snprintf(msg, sizeof msg, "%s", bson_iter_utf8(&e, NULL));
        else if (!strcmp(k, "codeName") && BSON_ITER_HOLDS_UTF8(&e))
            snprintf(name, sizeof name, "%s", bson_iter_utf8(&e, NULL));
    }
    if (!name[0])
        snprintf(name, sizeof name, "%s",
                 code == 11000 ? "DuplicateKey" : "UnknownError");
    bson_reinit(reply);
    reply_error(reply, code, name, "%s", msg);
}

/* ---- sessions ---- */

static struct session *session_get(const bson_value_t *id)
{
    void **slot = keymap_add(&sessions, "", "", id);
    if (!*slot) {
        struct session *s = calloc(1, sizeof *s);
        bson_value_copy(id, &s->id);
        s->number = -1;
        *slot = s;
    }
    return *slot;
}

static void session_row(const struct session *s, struct session_row *row)
{
    row->id = &s->id;
    row->number = s->number;
    row->committed = s->state == SESSION_COMMITTED;
    row->reply = s->state == SESSION_RETRYABLE ? s->reply : NULL;
    row->used = (int64_t)time(NULL);
}

static void restore_session(const struct session_row *row, void *arg)
{
    (void)arg;
    struct session *s = session_get(row->id);
    s->number = row->number;
    s->state = row->committed ? SESSION_COMMITTED : SESSION_RETRYABLE;
    s->reply = row->reply ? bson_copy(row->reply) : NULL;
    s->used_ms = net_now_ms();
}

void txn_load_sessions(void)
{
    persist_load_sessions(restore_session, NULL);
}

static void session_forget(struct session *s)
{
    keymap_remove(&sessions, "", "", &s->id);
    bson_value_destroy(&s->id);
    if (s->reply)
        bson_destroy(s->reply);
    free(s);
}

/* ---- transactions ---- */

static struct txn *txn_open(struct session *s, int64_t number)
{
    struct txn *t = calloc(1, sizeof *t);
    t->session = s;
    t->serial = next_serial++;
    t->start = commits;
    t->began_ms = net_now_ms();
    scope_open(&t->held);
    open_txns = realloc(open_txns, (nopen + 1) * sizeof *open_txns);
    open_txns[nopen++] = t;
    s->number = number;
    s->state = SESSION_OPEN;
    s->txn = t;
    if (s->reply)
        bson_destroy(s->reply);
    s->reply = NULL;
    return t;
}

/* Ends an open transaction: what it holds goes. */
static void txn_close(struct txn *t, enum session_state state)
{
    for (size_t i = 0; i < nopen; i++)
        if (open_txns[i] == t) {
            open_txns[i] = open_txns[--nopen];
            break;
        }
    for (size_t i = 0; i < t->writes.cap; i++)
        if (t->writes.v[i].used && t->writes.v[i].value)
            bson_destroy(t->writes.v[i].value);
    keymap_clear(&t->writes);
    scope_free(&t->held);
    t->session->txn = NULL;
    t->session->state = state;
    free(t);
    if (!nopen) {
        keymap_clear(&recent);
        recent_pruned = 0;
    }
    pthread_cond_broadcast(&ended);
}

static void abort_open(struct session *s)
{
    if (s->txn)
        txn_close(s->txn, SESSION_ABORTED);
}

static struct txn *open_by_serial(int64_t serial)
{
    for (size_t i = 0; i < nopen; i++)
        if (open_txns[i]->serial == serial)
            return open_txns[i];
    return NULL;
}

/* Transactions past their lifetime are aborted; sessions idle past
 * theirs are forgotten (looked at once a minute). */
static void reap(void)
{
    static int64_t last_sweep;
    int64_t now = net_now_ms();
    for (size_t i = nopen; i-- > 0;)
        if (now - open_txns[i]->began_ms > TXN_LIFETIME_MS)
            txn_close(open_txns[i], SESSION_ABORTED);
    if (now - last_sweep < 60000)
        return;
    last_sweep = now;
    struct session **idle = NULL;
    size_t n = 0;
    for (size_t i = 0; i < sessions.cap; i++) {
        struct session *s = sessions.v[i].used ? sessions.v[i].value : NULL;
        if (s && !s->busy && !s->txn && now - s->used_ms > SESSION_IDLE_MS) {
            idle = realloc(idle, (n + 1) * sizeof *idle);
            idle[n++] = s;
        }
    }
    for (size_t i = 0; i < n; i++)
        session_forget(idle[i]);
    free(idle);
}

/* Waits on `ended` (releasing srv.lock) for at most `ms`. */
static void wait_ended(int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    if (oplog_take_growth())
        pthread_cond_broadcast(&srv.grew);
    pthread_cond_timedwait(&ended, &srv.lock, &until);
}

/* Waits until the transaction has ended; one past its lifetime is
 * aborted. */
static void wait_for(int64_t serial)
{
    struct txn *t;
    while ((t = open_by_serial(serial)) && !srv.stopping) {
        int64_t left = t->began_ms + TXN_LIFETIME_MS - net_now_ms();
        if (left <= 0) {
            txn_close(t, SESSION_ABORTED);
            return;
        }
        wait_ended(left < 1000 ? left : 1000);
    }
}

/* Takes the session for a command: as MongoDB checks a session out, a
 * second command of it (a retry sent while the first still waits, say)
 * waits until the first is done, then sees what it did. */
static void session_take(struct session *s)
{
    s->busy++;
    while (s->busy > 1 && !srv.stopping)
        wait_ended(1000);
}

static void session_let_go(struct session *s)
{
    s->busy--;
    pthread_cond_broadcast(&ended);
}

/* The open transaction, other than `self`, that wrote a document the
 * scope touched. */
static struct txn *writer_in(const struct scope *s, const struct txn *self)
{
    for (size_t k = 0; k < nopen; k++) {
        struct txn *t = open_txns[k];
        if (t == self || !t->writes.count)
            continue;
        for (size_t i = 0; i < s->ndocs; i++) {
            const struct scope_doc *d = &s->docs[i];
            if (keymap_find(&t->writes, d->c->db, d->c->name, &d->id))
                return t;
        }
    }
    return NULL;
}

/* Whether a document the scope touched was published after `start`. */
static bool changed_since(const struct scope *s, int64_t start)
{
    for (size_t i = 0; i < s->ndocs; i++) {
        const struct scope_doc *d = &s->docs[i];
        void **v = keymap_find(&recent, d->c->db, d->c->name, &d->id);
        if (v && (intptr_t)*v > start)
            return true;
    }
    return false;
}

/* drop, dropDatabase and renameCollection cannot be undone: they wait
 * until no open transaction has written in their databases. */
static void wait_for_ddl(const bson_t *cmd, const char *name, const char *db)
{
    char dbs[2][128] = {"", ""};
    bson_iter_t it;
    if (!strcmp(name, "drop") || !strcmp(name, "dropDatabase")) {
        snprintf(dbs[0], sizeof dbs[0], "%s", db);
    } else if (!strcmp(name, "renameCollection")) {
        const char *keys[2] = {"renameCollection", "to"};
        for (int k = 0; k < 2; k++)
            if (bson_iter_init_find(&it, cmd, keys[k]) &&
                BSON_ITER_HOLDS_UTF8(&it))
                snprintf(dbs[k], sizeof dbs[k], "%.*s",
                         (int)strcspn(bson_iter_utf8(&it, NULL), "."),
                         bson_iter_utf8(&it, NULL));
    } else {
        return;
    }
    for (;;) {
        struct txn *writer = NULL;
        for (size_t k = 0; k < nopen && !writer; k++)
            for (size_t i = 0; i < open_txns[k]->writes.cap && !writer; i++) {
                const struct keymap_entry *e = &open_txns[k]->writes.v[i];
                if (e->used &&
                    (!strcmp(e->db, dbs[0]) || !strcmp(e->db, dbs[1])))
                    writer = open_txns[k];
            }
        if (!writer || srv.stopping)
            return;
        wait_for(writer->serial);
    }
}

/* ---- changes in and out of the collections ---- */

/* Undoes what the scope recorded, the newest first; collections it made
 * go when they are empty again. Its events go too. */
static void undo(struct scope *s)
{
    scope_active = NULL;
    for (size_t i = s->ndocs; i-- > 0;) {
        struct scope_doc *d = &s->docs[i];
        coll_put(d->c, &d->id, d->old);
        d->old = NULL;
    }
    for (size_t i = s->ncolls; i-- > 0;) {
        const struct scope_coll *op = &s->colls[i];
        struct collection *c = coll_find(op->db, op->name);
        if (op->op == SCOPE_CREATE && c && !c->count)
            coll_drop(op->db, op->name);
    }
    scope_free(s);
}

/* Puts the transaction's writes in place, recorded in `s` (to be undone
 * after its command). `take`: for good (commit), the documents moved. */
static void install(struct txn *t, struct scope *s, bool take)
{
    scope_active = s;
    for (size_t i = 0; i < t->writes.cap; i++) {
        struct keymap_entry *e = &t->writes.v[i];
        if (!e->used)
            continue;
        bson_t *doc = e->value;
        struct collection *c =
            doc ? coll_get(e->db, e->coll) : coll_find(e->db, e->coll);
        if (c)
            coll_put(c, &e->id, !doc ? NULL : take ? doc : bson_copy(doc));
        if (take)
            e->value = NULL;
    }
    scope_active = NULL;
}

/* After a transaction's command: the documents it touched into the
 * transaction's map, its events held, the collections as they were. */
static void keep(struct txn *t, struct scope *s)
{
    for (size_t i = 0; i < s->ndocs; i++) {
        const struct scope_doc *d = &s->docs[i];
        struct doc *now = coll_lookup(d->c, &d->id, NULL);
        void **slot = keymap_add(&t->writes, d->c->db, d->c->name, &d->id);
        if (*slot)
            bson_destroy(*slot);
        *slot = now ? bson_copy(now->bson) : NULL;
    }
    for (size_t i = 0; i < s->nevents; i++)
        scope_add_event(&t->held, s->events[i].db, s->events[i].coll,
                        s->events[i].op, s->events[i].event);
    s->nevents = 0;
    undo(s);
}

/* A change event of a committed transaction: wallTime the commit's, then
 * lsid and txnNumber, as MongoDB shows them. */
static bson_t *txn_event(bson_t *event, const struct txn *t)
{
    bson_t *out = bson_new(), lsid;
    bson_iter_t it;
    bson_iter_init(&it, event);
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "wallTime") != 0)
            bson_append_iter(out, bson_iter_key(&it), -1, &it);
        else
            BSON_APPEND_DATE_TIME(out, "wallTime", (int64_t)time(NULL) * 1000);
    BSON_APPEND_DOCUMENT_BEGIN(out, "lsid", &lsid);
    BSON_APPEND_VALUE(&lsid, "id", &t->session->id);
    BSON_APPEND_BINARY(&lsid, "uid", BSON_SUBTYPE_BINARY, no_auth_uid,
                       sizeof no_auth_uid);
    bson_append_document_end(out, &lsid);
    BSON_APPEND_INT64(out, "txnNumber", t->session->number);
    bson_destroy(event);
    return out;
}

/* Drops from `recent` what no open transaction began before. */
static void prune_recent(void)
{
    int64_t oldest = commits;
    for (size_t k = 0; k < nopen; k++)
        if (open_txns[k]->start < oldest)
            oldest = open_txns[k]->start;
    struct keymap kept = {0};
    for (size_t i = 0; i < recent.cap; i++) {
        struct keymap_entry *e = &recent.v[i];
        if (e->used && (intptr_t)e->value > oldest)
            *keymap_add(&kept, e->db, e->coll, &e->id) = e->value;
    }
    keymap_clear(&recent);
    recent = kept;
    recent_pruned = recent.count;
}

/* The scope's changes made visible and durable: its events to the oplog,
 * each at its own cluster time, or (`t`, a commit) all at one. */
static void publish(struct scope *s, const struct txn *t,
                    const struct session_row *row)
{
    uint32_t ts = 0, inc = 0;
    if (t && s->nevents)
        oplog_next_time(&ts, &inc);
    for (size_t k = 0; k < s->nevents; k++) {
        struct scope_event *e = &s->events[k];
        if (t)
            e->event = txn_event(e->event, t);
        else
            oplog_next_time(&ts, &inc);
        oplog_write(e->db, e->coll, e->op, e->event, ts, inc);
        e->event = NULL;
    }
    commits++;
    for (size_t i = 0; nopen && i < s->ndocs; i++) {
        const struct scope_doc *d = &s->docs[i];
        *keymap_add(&recent, d->c->db, d->c->name, &d->id) =
            (void *)(intptr_t)commits;
    }
    if (recent.count > 4096 && recent.count > 2 * recent_pruned)
        prune_recent();
    persist_scope(s, row);
    scope_free(s);
}

void txn_publish(struct scope *s)
{
    scope_active = NULL;
    publish(s, NULL, NULL);
}

/* ---- a command's start ---- */

struct session_fields {
    bool lsid, number, autocommit_given, autocommit, start;
    bson_value_t id; /* lsid.id, borrowed from the command */
    int64_t txn_number;
};

static void read_fields(const bson_t *cmd, struct session_fields *f)
{
    bson_iter_t it, sub;
    memset(f, 0, sizeof *f);
    bson_iter_init(&it, cmd);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "lsid") && bson_iter_recurse(&it, &sub) &&
            bson_iter_find(&sub, "id")) {
            f->lsid = true;
            f->id = *bson_iter_value(&sub);
        } else if (!strcmp(k, "txnNumber") && BSON_ITER_HOLDS_NUMBER(&it)) {
            f->number = true;
            f->txn_number = bson_iter_as_int64(&it);
        } else if (!strcmp(k, "autocommit")) {
            f->autocommit_given = true;
            f->autocommit = bson_iter_as_bool(&it);
        } else if (!strcmp(k, "startTransaction")) {
            f->start = bson_iter_as_bool(&it);
        }
    }
}

/* What a transaction may run, as MongoDB allows (no count, no DDL, no
 * change stream). */
static bool allowed_in_txn(const bson_t *cmd, const char *name)
{
    static const char *const allowed[] = {
        "find",     "getMore",   "killCursors",       "insert",
        "update",   "delete",    "findAndModify",     "findandmodify",
        "distinct", "aggregate", "commitTransaction", "abortTransaction"};
    bool ok = false;
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        ok = ok || !strcmp(name, allowed[i]);
    bson_iter_t it, stage, first;
    if (ok && !strcmp(name, "aggregate") &&
        bson_iter_init_find(&it, cmd, "pipeline") &&
        bson_iter_recurse(&it, &stage) && bson_iter_next(&stage) &&
        bson_iter_recurse(&stage, &first) && bson_iter_next(&first) &&
        !strcmp(bson_iter_key(&first), "$changeStream"))
        ok = false;
    return ok;
}

static bool begin_retryable(struct command_ctx *ctx, bson_t *reply)
{
    struct session *s = ctx->session;
    if (ctx->number < s->number) {
        too_old(reply, ctx->number, s);
        return false;
    }
    if (ctx->number == s->number) {
        if (s->state == SESSION_RETRYABLE && s->reply) {
            bson_concat(reply, s->reply); /* applied already */
            return false;
        }
        if (s->state != SESSION_RETRYABLE) {
            reply_error(reply, 217, "IncompleteTransactionHistory",
                        "txnNumber %lld is a transaction's on this session, "
                        "not a retryable write's",
                        (long long)ctx->number);
            return false;
        }
        return true; /* its first try failed: again */
    }
    abort_open(s);
    s->number = ctx->number;
    s->state = SESSION_RETRYABLE;
    if (s->reply)
        bson_destroy(s->reply);
    s->reply = NULL;
    return true;
}

static bool begin_in_txn(const bson_t *cmd, struct command_ctx *ctx,
                         bool start, bson_t *reply)
{
    struct session *s = ctx->session;
    int64_t n = ctx->number;
    const char *name = ctx->name;
    if (n < s->number) {
        too_old(reply, n, s);
        return false;
    }
    if (start && n == s->number) {
        reply_error(reply, 117, "ConflictingOperationInProgress",
                    "Cannot start a transaction at given transaction number "
                    "%lld: a transaction with the same number was started",
                    (long long)n);
        return false;
    }
    if (start) {
        abort_open(s);
        txn_open(s, n);
    } else if (n != s->number || s->state < SESSION_OPEN ||
               (s->state == SESSION_ABORTED &&
                strcmp(name, "abortTransaction") != 0)) {
        no_such_transaction(reply, n, s);
        return false;
    }
    if (s->state == SESSION_COMMITTED &&
        strcmp(name, "commitTransaction") != 0) {
        reply_error(reply, 256, "TransactionCommitted",
                    "Transaction %lld has been committed.", (long long)n);
        return false;
    }
    if (s->state != SESSION_OPEN)
        return true; /* commit again, abort again: their commands answer */
    if (!allowed_in_txn(cmd, name)) {
        txn_close(s->txn, SESSION_ABORTED);
        reply_error(reply, 263, "OperationNotSupportedInTransaction",
                    "Cannot run '%s' in a multi-document transaction.", name);
        return false;
    }
    if (strcmp(name, "commitTransaction") != 0 &&
        strcmp(name, "abortTransaction") != 0)
        install(s->txn, &ctx->scope, false);
    return true;
}

bool txn_begin(const bson_t *cmd, const char *name, const char *db,
               struct command_ctx *ctx, bson_t *reply)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->name = name;
    scope_open(&ctx->scope);
    reap();
    struct session_fields f;
    read_fields(cmd, &f);
    if (f.autocommit_given && f.autocommit) {
        reply_error(reply, 72, "InvalidOptions",
                    "Specifying autocommit=true is not allowed.");
        return false;
    }
    if ((f.autocommit_given || f.number) && !(f.lsid && f.number)) {
        reply_error(reply, 72, "InvalidOptions",
                    "txnNumber and autocommit need a session: lsid and "
                    "txnNumber both");
        return false;
    }
    if (f.start && !f.autocommit_given) {
        reply_error(reply, 72, "InvalidOptions",
                    "startTransaction needs autocommit: false");
        return false;
    }
    if (!f.number) {
        wait_for_ddl(cmd, name, db);
        return true;
    }
    ctx->kind = f.autocommit_given ? COMMAND_TXN : COMMAND_RETRYABLE;
    ctx->number = f.txn_number;
    ctx->session = session_get(&f.id);
    session_take(ctx->session);
    ctx->session->used_ms = net_now_ms();
    bool run = ctx->kind == COMMAND_RETRYABLE
                   ? begin_retryable(ctx, reply)
                   : begin_in_txn(cmd, ctx, f.start, reply);
    if (run)
        current = ctx;
    else
        session_let_go(ctx->session);
    return run;
}

/* ---- a command's end ---- */

static void end_in_txn(struct command_ctx *ctx, bson_t *reply)
{
    struct txn *t = ctx->session->txn;
    if (!t || !strcmp(ctx->name, "commitTransaction") ||
        !strcmp(ctx->name, "abortTransaction")) {
        undo(&ctx->scope); /* empty: the two publish themselves */
        return;
    }
    if (!succeeded(reply)) {
        undo(&ctx->scope);
        txn_close(t, SESSION_ABORTED);
        as_command_error(reply);
        return;
    }
    if (writer_in(&ctx->scope, t) || changed_since(&ctx->scope, t->start)) {
        undo(&ctx->scope);
        txn_close(t, SESSION_ABORTED);
        bson_reinit(reply);
        reply_error(reply, 112, "WriteConflict",
                    "WriteConflict error: this operation conflicted with "
                    "another operation. Please retry your operation or "
                    "multi-document transaction.");
        add_label(reply, "TransientTransactionError");
        return;
    }
    keep(t, &ctx->scope);
}

bool txn_end(struct command_ctx *ctx, bson_t *reply)
{
    scope_active = NULL;
    current = NULL;
    struct session *s = ctx->session;
    if (ctx->kind == COMMAND_TXN) {
        end_in_txn(ctx, reply);
        session_let_go(s);
        return true;
    }
    struct txn *writer = writer_in(&ctx->scope, NULL);
    if (writer) {
        int64_t serial = writer->serial;
        undo(&ctx->scope);
        wait_for(serial);
        bson_reinit(reply);
        current = ctx;
        return false;
    }
    /* a retryable write's answer (write errors too; not a command that
     * failed as a whole, which runs again when retried) */
    struct session_row row, *kept = NULL;
    bson_iter_t ok;
    if (s && s->state == SESSION_RETRYABLE && s->number == ctx->number &&
        !s->reply && bson_iter_init_find(&ok, reply, "ok") &&
        bson_iter_as_double(&ok) == 1) {
        s->reply = bson_copy(reply);
        session_row(s, &row);
        kept = &row;
    }
    publish(&ctx->scope, NULL, kept);
    if (s)
        session_let_go(s);
    return true;
}

/* ---- commitTransaction, abortTransaction, endSessions ---- */

static bool in_txn(const char *what, bson_t *reply)
{
    if (current && current->kind == COMMAND_TXN)
        return true;
    reply_error(reply, 72, "InvalidOptions",
                "%s must be run within a transaction (lsid, txnNumber and "
                "autocommit: false)",
                what);
    return false;
}

void txn_cmd_commit(const bson_t *cmd, const char *db, bson_t *reply)
{
    (void)cmd;
    (void)db;
    if (!in_txn("commitTransaction", reply))
        return;
    struct command_ctx *ctx = current;
    struct session *s = ctx->session;
    struct txn *t = s->txn;
    if (t) {
        install(t, &ctx->scope, true);
        struct scope *cs = &ctx->scope;
        for (size_t i = 0; i < t->held.nevents; i++)
            scope_add_event(cs, t->held.events[i].db, t->held.events[i].coll,
                            t->held.events[i].op, t->held.events[i].event);
        t->held.nevents = 0;
        s->state = SESSION_COMMITTED;
        struct session_row row;
        session_row(s, &row);
        publish(cs, t, &row);
        txn_close(t, SESSION_COMMITTED);
    }
    BSON_APPEND_DOUBLE(reply, "ok", 1); /* again after a commit: the same */
}

void txn_cmd_abort(const bson_t *cmd, const char *db, bson_t *reply)
{
    (void)cmd;
    (void)db;
    if (!in_txn("abortTransaction", reply))
        return;
    struct session *s = current->session;
    if (!s->txn) {
        no_such_transaction(reply, current->number, s);
        return;
    }
    txn_close(s->txn, SESSION_ABORTED);
    BSON_APPEND_DOUBLE(reply, "ok", 1);
}

void txn_cmd_end_sessions(const bson_t *cmd, const char *db, bson_t *reply)
{
    (void)db;
    bson_iter_t it, ids, one;
    if (bson_iter_init_find(&it, cmd, "endSessions") &&
        bson_iter_recurse(&it, &ids))
        while (bson_iter_next(&ids)) {
            void **slot;
            if (!bson_iter_recurse(&ids, &one) ||
                !bson_iter_find(&one, "id") ||
                !(slot =
                      keymap_find(&sessions, "", "", bson_iter_value(&one))))
                continue;
            struct session *s = *slot;
            abort_open(s);
            if (!s->busy)
                session_forget(s);
        }
    BSON_APPEND_DOUBLE(reply, "ok", 1);
}
