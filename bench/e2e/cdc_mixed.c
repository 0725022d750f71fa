/* cdc_mixed.c: the mixed phase of bench_e2e_cdc (mixed:RATE:SECONDS).
 * A writer thread changes the captured collection at RATE changes/s in a
 * fixed pattern of six: a $set of a dotted path ({"a.b.c": k}), a $push
 * on the array `arr`, an insert, a $set, a $pull of an element `arr`
 * holds, a delete; so a third $set, a third $push/$pull, a sixth inserts,
 * a sixth deletes, on documents picked at random among those that exist
 * (those of the phases before, or POOL_MIN inserted first). Every
 * TXN_EVERY-th group of GROUP changes runs in one multi-document
 * transaction (libmongoc's client session); the others go out as one
 * command per kind (update, delete, insert) per tick.
 *
 * Every change k sets its document's `seq` to k, so a row in ClickHouse
 * says which change it shows. A change is visible from the first poll
 * that finds a row of its document showing it or a later change of the
 * document (the row of an update is the document as looked up,
 * fullDocument updateLookup), or the document's delete. Its latency runs
 * from just before its command (in a transaction: the commit) is sent.
 * At the end the destination, FINAL without deleted rows, must equal the
 * collection: the same keys, and per document the same seq, a.b.c and
 * arr. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc.h"

#define GROUP 10    /* changes of a transaction */
#define TXN_EVERY 5 /* every fifth group is a transaction */
#define ARR_MAX 8   /* the longest `arr` the writer makes */
#define POOL_MIN 20000
#define RUN_MAX (MAX_PER_INSERT + GROUP)

enum op { OP_SET, OP_PUSH, OP_PULL, OP_INSERT, OP_DELETE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"$set", "$push", "$pull",
                                               "insert", "delete"};
enum { ALIVE, FILLED }; /* the document sets: existing, with `arr` items */

struct mdoc {
    int64_t id;
    int64_t last;       /* its newest change, 0 none */
    int64_t deleted_by; /* atomic: the change that deleted it, 0 none */
    size_t at[2];       /* its place in each set it is in */
    bool in[2];
    size_t narr;
    int64_t arr[ARR_MAX]; /* `arr` as the writer left it */
};

struct change {
    int64_t prev; /* its document's change before it, 0 none */
    size_t doc;
    int64_t sent_ms; /* atomic: 0 until its command or commit is sent */
};

/* The changes of one tick not yet sent, by kind; inserted documents join
 * the sets once sent, so no change of the same run names them. */
enum { K_UPDATE, K_DELETE, K_INSERT, KINDS };
struct run {
    size_t n[KINDS];
    int64_t k[KINDS][RUN_MAX];
    bson_t *doc[KINDS][RUN_MAX]; /* filters (updates, deletes), documents */
    bson_t *update[RUN_MAX];
};

struct mixed {
    struct bench *b;
    double rate, seconds;
    size_t total;      /* changes to make, a multiple of GROUP */
    struct mdoc *docs; /* by _id, ascending */
    size_t ndocs;      /* atomic: published to the poller */
    size_t *set[2], nset[2];
    int64_t next_id;
    struct change *ch; /* ch[1..total] */
    size_t made;       /* the writer's */
    size_t counts[OP_COUNT], in_txn;
    uint64_t rng;
    mongoc_client_session_t *session;
    struct run run;
    int done; /* atomic */
    double achieved;
    /* the poller's */
    uint64_t version; /* the largest _version seen */
    bool *seen;       /* by change */
    int64_t *lat;
};

static uint64_t next_random(struct mixed *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static void set_add(struct mixed *m, int s, size_t d)
{
    m->docs[d].at[s] = m->nset[s];
    m->docs[d].in[s] = true;
    m->set[s][m->nset[s]++] = d;
}

static void set_remove(struct mixed *m, int s, size_t d)
{
    if (!m->docs[d].in[s])
        return;
    size_t i = m->docs[d].at[s], last = m->set[s][--m->nset[s]];
    m->set[s][i] = last;
    m->docs[last].at[s] = i;
    m->docs[d].in[s] = false;
}

static size_t pick(struct mixed *m, int s)
{
    return m->set[s][next_random(m) % m->nset[s]];
}

/* A new document in `docs` (the caller fills it), published to the
 * poller. */
static size_t doc_new(struct mixed *m, int64_t id)
{
    size_t d = m->ndocs;
    m->docs[d] = (struct mdoc){.id = id};
    __atomic_store_n(&m->ndocs, d + 1, __ATOMIC_RELEASE);
    return d;
}

static bool doc_find(const struct mixed *m, size_t n, int64_t id, size_t *d)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->docs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *d = lo;
    return lo < n && m->docs[lo].id == id;
}

static void run_add(struct run *r, int kind, int64_t k, bson_t *doc,
                    bson_t *update)
{
    r->k[kind][r->n[kind]] = k;
    r->doc[kind][r->n[kind]] = doc;
    if (kind == K_UPDATE)
        r->update[r->n[kind]] = update;
    r->n[kind]++;
}

/* Change k's update of document d: `op` on it, and seq = k. */
static bson_t *update_of(struct mixed *m, int op, size_t d, int64_t k)
{
    struct mdoc *doc = &m->docs[d];
    if (op == OP_SET)
        return BCON_NEW("$set", "{", "a.b.c", BCON_INT64(k), "seq",
                        BCON_INT64(k), "}");
    if (op == OP_PUSH) {
        doc->arr[doc->narr++] = k;
        if (doc->narr == 1)
            set_add(m, FILLED, d);
        return BCON_NEW("$push", "{", "arr", BCON_INT64(k), "}", "$set", "{",
                        "seq", BCON_INT64(k), "}");
    }
    int64_t v = doc->arr[0];
    memmove(doc->arr, doc->arr + 1, --doc->narr * sizeof *doc->arr);
    if (!doc->narr)
        set_remove(m, FILLED, d);
    return BCON_NEW("$pull", "{", "arr", BCON_INT64(v), "}", "$set", "{",
                    "seq", BCON_INT64(k), "}");
}

/* Makes change k into the run: its kind by k's place in the pattern, its
 * document at random. */
static void make_change(struct mixed *m, int64_t k)
{
    static const int pattern[6] = {OP_SET, OP_PUSH, OP_INSERT,
                                   OP_SET, OP_PULL, OP_DELETE};
    static char pad[PAD_BYTES + 1];
    if (!pad[0])
        memset(pad, 'p', PAD_BYTES);
    int op = pattern[k % 6];
    if (op == OP_PULL && !m->nset[FILLED])
        op = OP_PUSH;
    if (op != OP_INSERT && !m->nset[ALIVE])
        op = OP_INSERT;
    size_t d = op == OP_INSERT ? doc_new(m, m->next_id++)
               : op == OP_PULL ? pick(m, FILLED)
                               : pick(m, ALIVE);
    if (op == OP_PUSH && m->docs[d].narr == ARR_MAX)
        op = OP_PULL;
    int64_t id = m->docs[d].id;
    if (op == OP_INSERT) {
        run_add(&m->run, K_INSERT, k,
                BCON_NEW("_id", BCON_INT64(id), "seq", BCON_INT64(k), "a", "{",
                         "b", "{", "c", BCON_INT64(k), "}", "}", "arr", "[",
                         "]", "pad", BCON_UTF8(pad)),
                NULL);
    } else if (op == OP_DELETE) {
        set_remove(m, ALIVE, d);
        set_remove(m, FILLED, d);
        __atomic_store_n(&m->docs[d].deleted_by, k, __ATOMIC_RELEASE);
        run_add(&m->run, K_DELETE, k, BCON_NEW("_id", BCON_INT64(id)), NULL);
    } else {
        run_add(&m->run, K_UPDATE, k, BCON_NEW("_id", BCON_INT64(id)),
                update_of(m, op, d, k));
    }
    m->ch[k].prev = m->docs[d].last;
    m->ch[k].doc = d;
    m->docs[d].last = k;
    m->counts[op]++;
}

static void stamp(struct mixed *m, const int64_t *k, size_t n, int64_t t)
{
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&m->ch[k[i]].sent_ms, t, __ATOMIC_RELEASE);
}

/* Sends the kind's changes of the run as one bulk write (one command);
 * outside a transaction each is stamped just before. */
static void send_kind(struct mixed *m, int kind, const bson_t *opts, bool txn)
{
    static const char *const counted[KINDS] = {"nModified", "nRemoved",
                                               "nInserted"};
    struct run *r = &m->run;
    bson_error_t e;
    mongoc_bulk_operation_t *bulk =
        mongoc_collection_create_bulk_operation_with_opts(m->b->coll, opts);
    for (size_t i = 0; i < r->n[kind]; i++) {
        bool ok =
            kind == K_UPDATE
                ? mongoc_bulk_operation_update_one_with_opts(bulk,
                                                             r->doc[kind][i],
                                                             r->update[i],
                                                             NULL, &e)
            : kind == K_DELETE
                ? mongoc_bulk_operation_remove_one_with_opts(bulk,
                                                             r->doc[kind][i],
                                                             NULL, &e)
                : mongoc_bulk_operation_insert_with_opts(bulk, r->doc[kind][i],
                                                         NULL, &e);
        if (!ok)
            fail("bulk write", e.message);
    }
    if (!txn)
        stamp(m, r->k[kind], r->n[kind], now_ms());
    bson_t reply;
    bson_iter_t it;
    if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
        fail(counted[kind], e.message);
    if (!bson_iter_init_find(&it, &reply, counted[kind]) ||
        bson_iter_as_int64(&it) != (int64_t)r->n[kind]) {
        char *json = bson_as_relaxed_extended_json(&reply, NULL);
        fail("a write changed fewer documents than it should", json);
    }
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
}

/* Sends the run (in a transaction: all of it, then the commit), then
 * lets the documents it inserted be picked. */
static void run_send(struct mixed *m, bool txn)
{
    struct run *r = &m->run;
    bson_t opts = BSON_INITIALIZER;
    bson_error_t e;
    if (txn &&
        (!mongoc_client_session_start_transaction(m->session, NULL, &e) ||
         !mongoc_client_session_append(m->session, &opts, &e)))
        fail("start a transaction", e.message);
    for (int kind = 0; kind < KINDS; kind++)
        if (r->n[kind])
            send_kind(m, kind, &opts, txn);
    if (txn) {
        int64_t t = now_ms();
        for (int kind = 0; kind < KINDS; kind++)
            stamp(m, r->k[kind], r->n[kind], t);
        bson_t reply;
        if (!mongoc_client_session_commit_transaction(m->session, &reply, &e))
            fail("commit", e.message);
        bson_destroy(&reply);
    }
    bson_destroy(&opts);
    for (int kind = 0; kind < KINDS; kind++) {
        for (size_t i = 0; i < r->n[kind]; i++) {
            bson_destroy(r->doc[kind][i]);
            if (kind == K_UPDATE)
                bson_destroy(r->update[i]);
            if (kind == K_INSERT)
                set_add(m, ALIVE, m->ch[r->k[kind][i]].doc);
        }
        r->n[kind] = 0;
    }
}

/* Writes at the phase's rate: at each tick the groups now due, those in
 * transactions each in its own. */
static void *mixed_writer(void *arg)
{
    struct mixed *m = arg;
    double start = mono_s(), end = start + m->seconds;
    for (;;) {
        double now = mono_s();
        size_t due = (size_t)((now - start) * m->rate) / GROUP * GROUP;
        if (due > m->total)
            due = m->total;
        if (due == m->made) {
            if (m->made == m->total || now >= end + 5)
                break;
            usleep(500);
            continue;
        }
        size_t stop =
            m->made +
            (due - m->made < MAX_PER_INSERT ? due - m->made : MAX_PER_INSERT);
        while (m->made < stop) {
            bool txn = (m->made / GROUP) % TXN_EVERY == TXN_EVERY - 1;
            if (txn)
                run_send(m, false); /* what came before goes first */
            for (size_t j = 1; j <= GROUP; j++)
                make_change(m, (int64_t)(m->made + j));
            m->made += GROUP;
            if (txn) {
                run_send(m, true);
                m->in_txn += GROUP;
            }
        }
        run_send(m, false);
    }
    m->achieved = (double)m->made / (mono_s() - start);
    __atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Marks change k and the earlier changes of its document not yet seen
 * as visible at `asked`; returns how many. */
static size_t mark(struct mixed *m, int64_t k, int64_t asked)
{
    size_t n = 0;
    for (; k && !m->seen[k]; k = m->ch[k].prev, n++) {
        m->seen[k] = true;
        m->lat[k] = asked - m->ch[k].sent_ms;
    }
    return n;
}

/* Polls the rows with _version >= the largest seen (a transaction's rows
 * share one version and may come in two inserts); returns the changes
 * newly seen. */
static size_t mixed_poll(void *arg)
{
    struct mixed *m = arg;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT _id, _is_deleted, visitParamExtractInt(doc, 'seq'), "
             "_version FROM %s WHERE _version >= %llu FORMAT TabSeparated",
             m->b->table, (unsigned long long)m->version);
    int64_t asked = now_ms();
    char *rows = query(m->b, sql);
    size_t fresh = 0, ndocs = __atomic_load_n(&m->ndocs, __ATOMIC_ACQUIRE);
    for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
        char key[128];
        int deleted;
        long long seq;
        unsigned long long v;
        if (sscanf(line, "%127[^\t]\t%d\t%lld\t%llu", key, &deleted, &seq,
                   &v) != 4)
            fail("an unexpected row", line);
        if (v > m->version)
            m->version = v;
        int64_t id, k = seq;
        size_t d;
        if (!key_id(key, &id) || !doc_find(m, ndocs, id, &d))
            continue; /* not a document of this phase's */
        if (deleted)
            k = __atomic_load_n(&m->docs[d].deleted_by, __ATOMIC_ACQUIRE);
        if (k <= 0 || (size_t)k > m->total ||
            !__atomic_load_n(&m->ch[k].sent_ms, __ATOMIC_ACQUIRE))
            continue; /* a change of before this phase, or not sent */
        if (m->ch[k].doc != d)
            fail("a row shows a change of another document", line);
        fresh += mark(m, k, asked);
    }
    free(rows);
    return fresh;
}

/* The key sluice gives an _id (id_format = natural). */
static bool key_of(const bson_value_t *v, char *buf, size_t size)
{
    if (v->value_type == BSON_TYPE_INT64)
        snprintf(buf, size, "{\"$numberLong\":\"%lld\"}",
                 (long long)v->value.v_int64);
    else if (v->value_type == BSON_TYPE_INT32)
        snprintf(buf, size, "{\"$numberInt\":\"%d\"}", v->value.v_int32);
    else if (v->value_type == BSON_TYPE_OID)
        bson_oid_to_string(&v->value.v_oid, buf);
    else if (v->value_type == BSON_TYPE_UTF8)
        snprintf(buf, size, "%s", v->value.v_utf8.str);
    else
        return false;
    return true;
}

/* Calls fn with each document of the collection (the fields of
 * `projection`), in _id order; takes the projection. */
static void each_doc(struct mixed *m, bson_t *projection,
                     void (*fn)(struct mixed *m, const bson_t *doc, void *ctx),
                     void *ctx)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&opts, "projection", projection);
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(m->b->coll, &filter, &opts, NULL);
    const bson_t *doc;
    while (mongoc_cursor_next(cur, &doc))
        fn(m, doc, ctx);
    bson_error_t e;
    if (mongoc_cursor_error(cur, &e))
        fail("read the collection", e.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(&opts);
    bson_destroy(&filter);
    bson_destroy(projection);
}

/* A document with an int64 _id joins the sets, with its `arr`. */
static void pool_doc(struct mixed *m, const bson_t *doc, void *ctx)
{
    bson_iter_t it, arr;
    (void)ctx;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_INT64(&it))
        return;
    size_t d = doc_new(m, bson_iter_int64(&it));
    if (m->docs[d].id >= m->next_id)
        m->next_id = m->docs[d].id + 1;
    if (d && m->docs[d].id <= m->docs[d - 1].id)
        fail("pool", "the collection's documents came out of _id order");
    if (bson_iter_init_find(&it, doc, "arr") && bson_iter_recurse(&it, &arr))
        while (bson_iter_next(&arr)) {
            if (!BSON_ITER_HOLDS_INT64(&arr) || m->docs[d].narr == ARR_MAX)
                fail("pool", "an arr of other than 8 int64 at most");
            m->docs[d].arr[m->docs[d].narr++] = bson_iter_int64(&arr);
        }
    set_add(m, ALIVE, d);
    if (m->docs[d].narr)
        set_add(m, FILLED, d);
}

/* Fewer than POOL_MIN documents: inserts the rest and waits until the last
 * shows in ClickHouse (rows come in order), so the phase starts steady. */
static void fill_pool(struct mixed *m)
{
    if (m->nset[ALIVE] >= POOL_MIN)
        return;
    size_t want = POOL_MIN - m->nset[ALIVE];
    int64_t first = m->next_id;
    for (size_t done = 0; done < want; done += MAX_PER_INSERT) {
        size_t n = want - done < MAX_PER_INSERT ? want - done : MAX_PER_INSERT;
        insert_docs(m->b->coll, first + (int64_t)done, n, now_ms());
    }
    for (size_t i = 0; i < want; i++)
        set_add(m, ALIVE, doc_new(m, m->next_id++));
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s WHERE _id = '{\"$numberLong\":\"%lld\"}'",
             m->b->table, (long long)(m->next_id - 1));
    double start = mono_s();
    for (;;) {
        char *n = query(m->b, sql);
        long long rows = atoll(n);
        free(n);
        if (rows > 0)
            break;
        if (mono_s() - start > 120)
            fail("pool", "the documents inserted first not visible in 120 s");
        usleep(100000);
    }
    printf("  inserted %zu documents first, visible after %.1f s\n", want,
           mono_s() - start);
}

struct keyed {
    char *key, *value;
};

static int cmp_keyed(const void *a, const void *b)
{
    return strcmp(((const struct keyed *)a)->key,
                  ((const struct keyed *)b)->key);
}

/* seq=S c=C arr=[...] of a document of the collection */
static char *value_of(const bson_t *doc)
{
    bson_iter_t it, sub;
    int64_t seq = 0, c = 0;
    char arr[512] = "";
    if (bson_iter_init_find(&it, doc, "seq"))
        seq = bson_iter_as_int64(&it);
    if (bson_iter_init(&it, doc) &&
        bson_iter_find_descendant(&it, "a.b.c", &sub))
        c = bson_iter_as_int64(&sub);
    if (bson_iter_init_find(&it, doc, "arr") && bson_iter_recurse(&it, &sub)) {
        size_t at = (size_t)snprintf(arr, sizeof arr, "[");
        while (bson_iter_next(&sub) && at < sizeof arr)
            at += (size_t)snprintf(arr + at, sizeof arr - at, "%s%lld",
                                   at > 1 ? "," : "",
                                   (long long)bson_iter_as_int64(&sub));
        if (at < sizeof arr)
            snprintf(arr + at, sizeof arr - at, "]");
    }
    char *out = malloc(600);
    snprintf(out, 600, "seq=%lld c=%lld arr=%s", (long long)seq, (long long)c,
             arr);
    return out;
}

struct keyed_list {
    struct keyed *v;
    size_t n, cap;
};

static void keyed_add(struct keyed_list *l, char *key, char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (struct keyed){key, value};
}

static void collection_value(struct mixed *m, const bson_t *doc, void *ctx)
{
    bson_iter_t it;
    char key[128];
    (void)m;
    if (!bson_iter_init_find(&it, doc, "_id") ||
        !key_of(bson_iter_value(&it), key, sizeof key))
        fail("final check", "an _id of a type this bench does not key");
    keyed_add(ctx, strdup(key), value_of(doc));
}

/* The destination's rows (FINAL, not deleted) as collection_value has
 * them; `answer` is the query's text, which the keys point into. */
static void destination_values(struct mixed *m, char **answer,
                               struct keyed_list *out)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT _id, concat('seq=', toString(visitParamExtractInt(doc, "
             "'seq')), ' c=', toString(visitParamExtractInt(doc, 'c')), "
             "' arr=', visitParamExtractRaw(doc, 'arr')) FROM %s FINAL "
             "WHERE _is_deleted = 0 FORMAT TabSeparated",
             m->b->table);
    *answer = query(m->b, sql);
    for (char *line = strtok(*answer, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab)
            fail("an unexpected row", line);
        *tab = 0;
        keyed_add(out, line, tab + 1);
    }
}

/* Compares the destination with the collection; prints what differs (the
 * first few) and returns how many documents differ. */
static size_t final_check(struct mixed *m)
{
    struct keyed_list want = {0}, got = {0};
    char *answer;
    each_doc(m,
             BCON_NEW("seq", BCON_INT32(1), "a.b.c", BCON_INT32(1), "arr",
                      BCON_INT32(1)),
             collection_value, &want);
    destination_values(m, &answer, &got);
    qsort(want.v, want.n, sizeof *want.v, cmp_keyed);
    qsort(got.v, got.n, sizeof *got.v, cmp_keyed);
    size_t nw = want.n, ng = got.n;
    const struct keyed *w = want.v, *g = got.v;
    size_t i = 0, j = 0, only_coll = 0, only_dest = 0, differ = 0;
    while (i < nw || j < ng) {
        int c = i == nw ? 1 : j == ng ? -1 : strcmp(w[i].key, g[j].key);
        const char *what = c < 0   ? "only in the collection"
                           : c > 0 ? "only in the destination"
                           : strcmp(w[i].value, g[j].value) ? "differs"
                                                            : NULL;
        size_t *count = c < 0 ? &only_coll : c > 0 ? &only_dest : &differ;
        if (what && ++*count <= 3)
            printf("  %s: %s: %s / %s\n", what, c > 0 ? g[j].key : w[i].key,
                   c > 0 ? "-" : w[i].value, c < 0 ? "-" : g[j].value);
        i += c <= 0;
        j += c >= 0;
    }
    printf("  final: the collection %zu documents, the destination (FINAL, "
           "not deleted) %zu rows: only in the collection %zu, only in the "
           "destination %zu, values differing %zu\n",
           nw, ng, only_coll, only_dest, differ);
    for (size_t k = 0; k < nw; k++) {
        free(w[k].key);
        free(w[k].value);
    }
    free(want.v);
    free(got.v);
    free(answer);
    return only_coll + only_dest + differ;
}

void run_mixed_phase(struct bench *b, int k, double rate, double seconds)
{
    struct mixed *m = calloc(1, sizeof *m);
    m->b = b;
    m->rate = rate;
    m->seconds = seconds;
    m->total = (size_t)(rate * seconds) / GROUP * GROUP;
    m->rng = 0x9e3779b97f4a7c15ULL;
    printf("phase %d: mixed, target %.0f changes/s for %.0f s\n", k, rate,
           seconds);
    /* the collection as it is, a pool to fill, the phase's inserts */
    bson_error_t e;
    int64_t have = mongoc_collection_estimated_document_count(b->coll, NULL,
                                                              NULL, NULL, &e);
    if (have < 0)
        fail("count the collection", e.message);
    size_t cap = (size_t)have + POOL_MIN + m->total / 6 + 1;
    m->docs = calloc(cap, sizeof *m->docs);
    m->set[ALIVE] = calloc(cap, sizeof *m->set[ALIVE]);
    m->set[FILLED] = calloc(cap, sizeof *m->set[FILLED]);
    m->ch = calloc(m->total + 1, sizeof *m->ch);
    m->next_id = k * PHASE_IDS;
    each_doc(m, BCON_NEW("arr", BCON_INT32(1)), pool_doc, NULL);
    fill_pool(m);
    m->session = mongoc_client_start_session(b->client, NULL, &e);
    if (!m->session)
        fail("start a session", e.message);
    m->seen = calloc(m->total + 1, sizeof *m->seen);
    m->lat = calloc(m->total + 1, sizeof *m->lat);
    m->version = max_version(b);
    struct phase_clock clock;
    size_t seen_n = follow_phase(b, mixed_writer, m, mixed_poll, &m->done,
                                 &m->made, &clock);
    mongoc_client_session_destroy(m->session);

    printf("  written %zu (", m->made);
    for (int op = 0; op < OP_COUNT; op++)
        printf("%s%zu %s", op ? ", " : "", m->counts[op], op_names[op]);
    printf("; %zu in transactions of %d), achieved_changes_per_s %.0f\n",
           m->in_txn, GROUP, m->achieved);
    printf("  visible %zu (never seen %zu)\n", seen_n, m->made - seen_n);
    int64_t *sent = calloc(m->total + 1, sizeof *sent);
    for (size_t i = 1; i <= m->made; i++)
        sent[i] = m->ch[i].sent_ms;
    int64_t p50, p99;
    latency_report(sent + 1, m->lat + 1, m->seen + 1, m->made, seconds, &p50,
                   &p99);
    size_t differ = final_check(m);
    char name[32];
    snprintf(name, sizeof name, "mixed_%.0f", rate);
    phase_report(b, &clock, name, m->achieved, p50, p99, m->made - seen_n);
    printf(" final_diff %zu\n", differ);
    free(sent);
    free(m->lat);
    free(m->seen);
    free(m->ch);
    free(m->set[ALIVE]);
    free(m->set[FILLED]);
    free(m->docs);
    free(m);
}
