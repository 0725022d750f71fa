/* server.h: the MongoDB wire-protocol test server (mongo_test_server):
 * what its parts share. A test tool: enough of a replica-set primary for
 * libmongoc and other drivers to snapshot and follow collections. It is
 * not MongoDB and never claims to be; README.md says exactly what it
 * implements.
 *
 * One thread per connection; all data, the oplog and the cursors are
 * guarded by one lock; a condition signals new oplog entries to waiting
 * change-stream getMores. */
#ifndef MONGO_TEST_SERVER_H
#define MONGO_TEST_SERVER_H

#include <bson/bson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SET_NAME "rs0"
#define MAX_WIRE_VERSION 13
#define MAX_BSON_SIZE (16 * 1024 * 1024)
#define MAX_MESSAGE_SIZE 48000000
#define REPLY_BYTES_MAX (MAX_BSON_SIZE - 1024 * 1024) /* a batch's */

struct doc {
    bson_t *bson;
    bson_value_t id; /* a copy of its _id */
};

struct index_list;

struct collection {
    char *db, *name;
    struct doc *docs; /* sorted by _id, BSON order */
    size_t count;
    size_t front, cap; /* docs is `front` slots into an allocation of `cap` */
    struct index_list *indexes; /* besides _id_ (index.c); NULL: none */
};

struct oplog_entry {
    int64_t seq;   /* resume tokens name this */
    uint32_t t, i; /* its cluster time */
    char *db, *coll;
    char *op;      /* insert, update, replace, delete, drop, rename,
                    * dropDatabase (whose coll is "") */
    bson_t *event; /* the change event without _id */
};

struct cursor;

struct faults {
    int fail_count;    /* the next N commands fail */
    bool fail_network; /* by closing the connection; else a retryable error */
    bool fail_after;   /* the command runs, then its connection closes */
    int latency_ms;    /* before every reply */
    int64_t close_generation; /* atomic; bumped to close every connection */
    int64_t refuse_until_ms;  /* monotonic: no connection, no command until */
};

struct server {
    pthread_mutex_t lock;
    pthread_cond_t grew; /* the oplog grew */
    bool grown;          /* since srv.grew was last signalled */
    struct collection **colls;
    size_t ncolls, colls_cap;
    struct oplog_entry *log; /* log[0] is the oldest kept */
    size_t log_count, log_cap, log_max;
    int64_t next_seq;    /* of the next entry */
    int64_t lost_before; /* entries with seq < this are gone */
    uint32_t last_t, last_i;
    uint32_t lost_t, lost_i; /* cluster time of the newest entry dropped */
    struct cursor **cursors;
    size_t ncursors, cursors_cap;
    int64_t next_cursor_id;
    struct faults faults;
    int port;
    char address[64]; /* the IPv4 address it listens on (--bind) */
    bool stopping;
};

extern struct server srv;

/* ---- errors.c: errors as MongoDB reports them ---- */
/* An error as MongoDB reports it: code, codeName, message. */
struct mongo_error {
    int code;
    char name[48];
    char msg[1024];
};
void mongo_error_set(struct mongo_error *e, int code, const char *name,
                     const char *fmt, ...) BSON_GNUC_PRINTF(4, 5);
/* The error reply: ok 0, errmsg, code, codeName. */
void reply_mongo_error(bson_t *reply, const struct mongo_error *e);

/* ---- values.c: BSON values as MongoDB compares and shows them ---- */
/* MongoDB's order: the type class first, then the value; documents and
 * arrays field by field. */
int value_compare(const bson_value_t *a, const bson_value_t *b);
/* Same type and same bytes (an update that writes it is a no-op). */
bool value_identical(const bson_value_t *a, const bson_value_t *b);
bool value_is_number(const bson_value_t *v);
double value_as_double(const bson_value_t *v);
const char *value_type_name(bson_type_t t); /* "int", "string", ... */
/* An empty document or array (static bytes, nothing to free). */
void value_empty(bson_type_t type, bson_value_t *out);
/* As MongoDB's messages show values: { a: 1 }, [ 1, 2 ], "x". */
const char *value_render(const bson_value_t *v, char *buf, size_t size);
const char *element_render(const char *key, const bson_value_t *v, char *buf,
                           size_t size); /* "key: value" */

/* ---- path.c: dotted paths, read out of BSON ---- */
struct path {
    char *text;   /* as written */
    char **parts; /* split at the dots */
    size_t n;
};
/* Splits at the dots, as a filter's, a sort's or an index's path. */
void path_split(const char *text, struct path *p);
/* Splits an update's path; an empty path or part is EmptyFieldName
 * (56). */
bool path_parse(const char *text, struct path *p, struct mongo_error *e);
void path_free(struct path *p);
/* "a.0.b" again, malloc'd. */
char *path_join(char *const *parts, size_t n);
/* A part that indexes an array: digits without a leading zero. */
bool path_part_index(const char *part, size_t *index);
/* A document as a value (borrowing its bytes). */
void value_of_doc(const bson_t *doc, bson_value_t *out);
/* Exactly: a field of a document, an index of an array. `out` borrows
 * from `root`. */
bool path_get(const bson_value_t *root, char *const *parts, size_t n,
              bson_value_t *out);
/* What becomes of an array at the path's end. */
enum path_leaf {
    PATH_LEAF_TRAVERSE, /* each element, then the array whole */
    PATH_LEAF_ARRAY,    /* the array whole only */
    PATH_LEAF_ELEMENTS  /* each element only (an empty array: itself) */
};
/* As a query reads a path: calls `fn` with each value the path reaches
 * from `root` (a document, or an array read by its indexes), in
 * MongoDB's order: NULL for a branch where it is missing. `array_index`
 * is the index in the outermost array gone through by implicit
 * traversal, -1 when none. `fn` returns true to stop; path_visit then
 * returns true. */
typedef bool (*path_visit_fn)(const bson_value_t *v, int array_index,
                              void *ctx);
bool path_visit(const bson_value_t *root, const struct path *p,
                enum path_leaf leaf, path_visit_fn fn, void *ctx);

/* ---- mdoc.c: a document being edited (mutable BSON) ---- */
struct mnode {
    char *key;          /* the field name (array elements: unused) */
    bson_value_t value; /* owned; when `open`, only its type is set */
    bool open;          /* a document or array split into `kids` */
    struct mnode **kids;
    size_t n, cap;
};
struct mnode *mdoc_new(const bson_t *doc);
bson_t *mdoc_to_bson(const struct mnode *root);
void mnode_free(struct mnode *n);
bson_type_t mnode_type(const struct mnode *n);
bool mnode_open(struct mnode *n); /* false: not a document or array */
void mnode_get(const struct mnode *n, bson_value_t *out); /* a copy */
void mnode_set(struct mnode *n, const bson_value_t *v);
/* A field of a document, an index of an array; `at` its position. */
struct mnode *mnode_child(struct mnode *n, const char *part, size_t *at);
struct mnode *mnode_insert(struct mnode *parent, size_t at, const char *key,
                           const bson_value_t *v);
void mnode_remove(struct mnode *parent, size_t at);
/* The number of leading parts that exist; `out` the node of the last. */
size_t mdoc_find(struct mnode *root, char *const *parts, size_t n,
                 struct mnode **out);
/* Creates parts[0..n) under `at` (whose own name is `at_name`), the last
 * holding `v`: documents on the way, null padding in arrays; NULL with
 * PathNotViable (28) when `at` cannot hold them. Returns the node of
 * parts[0]. */
struct mnode *mdoc_create(struct mnode *at, const char *at_name,
                          char *const *parts, size_t n, const bson_value_t *v,
                          struct mongo_error *e);

/* ---- update.c: the update language ---- */
struct update;
/* Reads an update statement's `u` (operators, a replacement, or a
 * pipeline) and its arrayFilters (NULL: none). NULL with the error. */
struct update *update_parse(const bson_value_t *u, const bson_t *array_filters,
                            struct mongo_error *e);
void update_free(struct update *u);
bool update_is_replacement(const struct update *u);
enum update_result {
    UPDATE_FAILED = -1,
    UPDATE_NOOP,    /* the document is unchanged */
    UPDATE_CHANGED, /* `description` holds the updateDescription */
    UPDATE_REPLACED /* a change shown as a replace event */
};
/* Applies the update to `doc`. `matched` is the array index the filter
 * matched at (the positional $), -1 none. `inserting`: an upsert's new
 * document ($setOnInsert applies). `*out` gets the new document. */
enum update_result update_apply(const struct update *u, const bson_t *doc,
                                int matched, bool inserting, bson_t **out,
                                bson_t *description, struct mongo_error *e);
/* The document an upsert inserts: the filter's equality fields (only its
 * _id for a replacement), the update applied, an _id first. */
bson_t *update_upsert(const struct update *u, const bson_t *query,
                      struct mongo_error *e);

/* ---- update_log.c: what an update changed, as updateDescription ---- */
enum change_kind {
    CHANGE_UPDATE,
    CHANGE_INSERT,
    CHANGE_DELETE,
    CHANGE_TRUNCATE
};
struct change {
    char **parts;
    size_t n;
    enum change_kind kind;
    int64_t size; /* CHANGE_TRUNCATE: the array's new size */
};
struct change_log {
    struct change *v;
    size_t n, cap;
};
/* Logs a change at a path (copied); one inside a value already logged
 * whole is dropped. */
void change_log_add(struct change_log *l, char *const *parts, size_t n,
                    enum change_kind kind, int64_t size);
void change_log_free(struct change_log *l);
/* Logs the differences between two documents (a pipeline update), as
 * MongoDB's diff; false (nothing logged) when the diff would be larger
 * than the new document: MongoDB then logs a replacement. */
bool change_log_diff(struct change_log *l, const bson_value_t *before,
                     const bson_value_t *after);
/* Appends updatedFields, removedFields and truncatedArrays, with the
 * values `root` (the updated document) holds. */
void change_log_describe(const struct change_log *l, struct mnode *root,
                         bson_t *description);

/* ---- pipeline.c: pipeline-style updates ---- */
/* Checks the stages before any document is read. */
bool pipeline_check(const bson_t *stages, struct mongo_error *e);
/* The document after the stages; NULL with the error. */
bson_t *pipeline_run(const bson_t *stages, const bson_t *doc,
                     struct mongo_error *e);

/* ---- data.c ---- */
struct collection *coll_find(const char *db, const char *name);
struct collection *coll_get(const char *db, const char *name); /* creates */
void coll_drop(const char *db, const char *name);
/* index of the first doc with _id >= id (or > when `after`) */
size_t coll_lower_bound(const struct collection *c, const bson_value_t *id,
                        bool after);
struct doc *coll_lookup(struct collection *c, const bson_value_t *id,
                        size_t *at);
/* Inserts, taking the doc; false (the doc not taken) when its _id is
 * missing or already there. */
bool coll_insert(struct collection *c, bson_t *doc);
/* The same, without a search when the doc goes after the last. */
bool coll_append(struct collection *c, bson_t *doc);
void coll_remove_at(struct collection *c, size_t at);
/* The document at `at` becomes `next` (taken). Every write path changes
 * documents through these functions only: scope.c records each change. */
void doc_replace(struct collection *c, size_t at, bson_t *next);
/* The document with this _id becomes `doc` (taken; NULL: none). */
void coll_put(struct collection *c, const bson_value_t *id, bson_t *doc);
void coll_rename(struct collection *c, const char *db, const char *name);
/* Holds the change back in the running command's scope (taking `event`),
 * or appends it to the oplog with the next cluster time. */
void oplog_append(const char *db, const char *coll, const char *op,
                  bson_t *event);
/* The next cluster time: later than every one given before. */
void oplog_next_time(uint32_t *t, uint32_t *i);
/* Appends the change (taking `event`) at cluster time t, i; the waiting
 * change streams are woken when srv.lock is next released (see
 * oplog_take_growth). */
void oplog_write(const char *db, const char *coll, const char *op,
                 bson_t *event, uint32_t t, uint32_t i);
/* Whether the oplog grew since the last call; whoever is about to release
 * srv.lock asks, and then signals srv.grew: once per command, not per
 * entry, and (at a command's end) after unlocking, so that the woken do
 * not wake to a lock still held. */
bool oplog_take_growth(void);
/* An entry read back from --dbpath, as it was (taking `event`). */
void oplog_restore(int64_t seq, uint32_t t, uint32_t i, const char *db,
                   const char *coll, const char *op, bson_t *event);
void oplog_truncate(void);
/* The current cluster time (of the last write, or now). */
void cluster_time(uint32_t *t, uint32_t *i);

/* ---- fields.c: a command's fields ---- */
/* A string field, or NULL. */
const char *field_text(const bson_t *b, const char *key);
/* A document field, borrowed in place; false when absent or another
 * type. */
bool field_doc(const bson_t *b, const char *key, bson_t *out);

/* ---- match.c: the query language ---- */
struct match; /* a parsed filter */
/* NULL with MongoDB's error; a NULL filter matches everything. */
struct match *match_parse(const bson_t *filter, struct mongo_error *e);
void match_free(struct match *m);
/* `index` (may be NULL) gets the index in the first array the match
 * went through (the positional $ operator's), left as is otherwise. */
bool match_eval(const struct match *m, const bson_value_t *root, int *index);
bool match_bson(const struct match *m, const bson_t *doc, int *index);
/* The operand of a top-level equality on exactly `path`, or NULL. */
const bson_value_t *match_equality(const struct match *m, const char *path);
/* Bounds on _id that every match lies within, for scanning the
 * collection's _id order (borrowed from the match; NULL: unbounded). */
struct id_range {
    const bson_value_t *lo, *hi;
    bool lo_inclusive, hi_inclusive;
};
void match_id_range(const struct match *m, struct id_range *r);
/* One-shot forms for the update language ($pull and arrayFilters; its
 * filters are parsed once with match_parse): 1 match, 0 none, -1 error.
 * match_path: a condition ({$gt: 1, ...} or a value to equal) on the
 * values a path reaches from `root` (n 0: `root` itself as a field's
 * value; NULL root: missing). */
int match_doc(const bson_value_t *root, const bson_t *query, int *index,
              struct mongo_error *e);
int match_path(const bson_value_t *root, char *const *parts, size_t n,
               const bson_value_t *cond, int *index, struct mongo_error *e);
bool match_is_operator_doc(const bson_value_t *v);

/* ---- sort.c: MongoDB's sort order ---- */
struct sort_key {
    struct path path;
    int direction; /* 1 or -1 */
};
struct sort {
    struct sort_key *keys;
    size_t n;
};
/* A sort specification ({a: 1, "b.c": -1}); NULL or {}: none. */
bool sort_parse(const bson_t *spec, struct sort *s, struct mongo_error *e);
void sort_free(struct sort *s);
/* No sort, or one led by _id (or $natural): the collection's order
 * serves; `direction` gets the first key's. */
bool sort_by_id(const struct sort *s, int *direction);
/* The order of `docs` under the sort: order[k] is the index of the k-th;
 * stable. */
void sort_order(const struct sort *s, const bson_t *const *docs, size_t n,
                size_t *order);
/* The keys a path gives a document, as sorts and indexes read them: the
 * values reached, arrays by their elements, missing as null, an empty
 * array as undefined. `fn` returns true to stop. */
typedef bool (*path_key_fn)(const bson_value_t *key, void *ctx);
bool path_keys(const bson_value_t *root, const struct path *p, path_key_fn fn,
               void *ctx);

/* ---- projection.c: find's projection ---- */
struct projection;
/* NULL with MongoDB's error. */
struct projection *projection_parse(const bson_t *spec, struct mongo_error *e);
void projection_free(struct projection *p);
void projection_apply(const struct projection *p, const bson_t *doc,
                      bson_t *out);

/* ---- query.c: selecting documents; count and distinct ---- */
/* A collation other than the simple one is refused (NotImplemented). */
bool query_collation_ok(const bson_t *cmd, struct mongo_error *e);
/* The positions (in c->docs) of the documents `m` matches, in `s`'s
 * order, after `skip`, at most `limit` of them (0: all); the caller
 * frees. `index` (may be NULL) gets each one's positional index. */
size_t *query_select(const struct collection *c, const struct match *m,
                     const struct sort *s, int64_t skip, int64_t limit,
                     int **index, size_t *n);
void cmd_count(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_distinct(const bson_t *cmd, const char *db, bson_t *reply);

/* ---- index.c: createIndexes, listIndexes, dropIndexes; unique keys ---- */
void cmd_create_indexes(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_list_indexes(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_drop_indexes(const bson_t *cmd, const char *db, bson_t *reply);
/* Whether `doc` may be written to `c` under its unique indexes, the
 * document whose _id is `self` (NULL: none) being replaced; false with
 * DuplicateKey (11000) as MongoDB words it. */
bool index_check(const struct collection *c, const bson_t *doc,
                 const bson_value_t *self, struct mongo_error *e);
/* DuplicateKey for a second document with this _id. */
void index_duplicate_id(const struct collection *c, const bson_value_t *id,
                        struct mongo_error *e);
/* A hint ({key: 1} or a name) names an index of `c` (or $natural). */
bool index_hint_ok(const struct collection *c, const bson_value_t *hint);
void index_free_all(struct collection *c);
/* Calls `fn` with the specification of each index but _id_, in order. */
void index_each_spec(const struct collection *c,
                     void (*fn)(const bson_t *spec, void *arg), void *arg);
/* Adds an index read back from --dbpath; false with the error. */
bool index_restore(struct collection *c, const bson_t *spec,
                   struct mongo_error *e);

/* ---- commands.c: the writes findAndModify shares with update and
 * delete; each applies one change and appends its event ---- */
/* Applies `u` to the document at `at`; `matched` is the array index the
 * filter matched at (the positional $; -1 none). The new document is
 * checked against the unique indexes (DuplicateKey) before it replaces
 * the old one; a no-op writes nothing. */
enum update_result write_update(struct collection *c, size_t at,
                                const struct update *u, int matched,
                                struct mongo_error *e);
/* Inserts what an upsert of `u` makes when `query` (NULL: none) matched
 * nothing: its equality fields, the update applied; its _id (a copy) in
 * `id`. */
bool write_upsert(struct collection *c, const bson_t *query,
                  const struct update *u, bson_value_t *id,
                  struct mongo_error *e);
/* Deletes the documents at the positions `at` (ascending). */
void write_delete(struct collection *c, const size_t *at, size_t n);

/* ---- find_and_modify.c ---- */
void cmd_find_and_modify(const bson_t *cmd, const char *db, bson_t *reply);

/* ---- keymap.c: a hash map keyed by (database, collection, _id) ---- */
struct keymap_entry {
    char *db, *coll;
    bson_value_t id;
    uint64_t hash;
    void *value; /* the caller's */
    bool used;
};
struct keymap {
    struct keymap_entry *v; /* cap slots; iterate over those `used` */
    size_t cap, count;
}; /* all zero: empty */
/* The value's slot; NULL when the key is not there. */
void **keymap_find(struct keymap *m, const char *db, const char *coll,
                   const bson_value_t *id);
/* The value's slot, made (holding NULL) when the key was not there. The
 * slot moves when the map grows: use it before the next keymap_add. */
void **keymap_add(struct keymap *m, const char *db, const char *coll,
                  const bson_value_t *id);
bool keymap_remove(struct keymap *m, const char *db, const char *coll,
                   const bson_value_t *id);
void keymap_clear(struct keymap *m); /* the values are the caller's */

/* ---- scope.c: what one command changes ---- */
struct scope_doc {
    struct collection *c;
    bson_value_t id;
    bson_t *old; /* the document before the change; NULL: none */
};
/* SCOPE_INDEXES: the collection's indexes changed (persist.c writes them
 * all again; nothing undoes it: no transaction changes indexes). */
enum scope_coll_op { SCOPE_CREATE, SCOPE_DROP, SCOPE_RENAME, SCOPE_INDEXES };
struct scope_coll {
    enum scope_coll_op op;
    char *db, *name, *to_db, *to_name; /* to_*: SCOPE_RENAME's */
};
struct scope_event {
    char *db, *coll, *op;
    bson_t *event;
};
struct scope {
    struct scope_doc *docs; /* in the order of the changes */
    size_t ndocs, docs_cap;
    struct scope_coll *colls;
    size_t ncolls;
    struct scope_event *events;
    size_t nevents, events_cap;
    int64_t first_seq; /* srv.next_seq when it opened */
};
/* The scope data.c records into; NULL: none (replaced documents are
 * freed). Set by whoever is about to change data, under srv.lock. */
extern struct scope *scope_active;
void scope_open(struct scope *s); /* empty; not made active */
/* A document with this _id changed; `old` (taken) is what it was. */
void scope_note_doc(struct collection *c, const bson_value_t *id, bson_t *old);
void scope_note_coll(enum scope_coll_op op, const char *db, const char *name,
                     const char *to_db, const char *to_name);
/* Holds a change event (taking it) in the active scope; false: none. */
bool scope_stage(const char *db, const char *coll, const char *op,
                 bson_t *event);
/* Adds an event, taking the strings and the event. */
void scope_add_event(struct scope *s, char *db, char *coll, char *op,
                     bson_t *event);
void scope_event_free(struct scope_event *e);
void scope_free(struct scope *s); /* and leaves it empty */

/* ---- txn.c: sessions, transactions, retryable writes ---- */
struct session;
enum command_kind {
    COMMAND_PLAIN,     /* no txnNumber */
    COMMAND_RETRYABLE, /* lsid and txnNumber: a retryable write */
    COMMAND_TXN        /* autocommit: false: in a transaction */
};
/* One command as txn.c sees it, between txn_begin and txn_end. */
struct command_ctx {
    const char *name;
    enum command_kind kind;
    struct session *session;
    int64_t number; /* txnNumber */
    struct scope scope;
};
/* Before a command runs: reads its session fields and readies it (a
 * transaction's writes are put in place for it to see). False when
 * `reply` already answers it: an error, or a retried write's first
 * answer. */
bool txn_begin(const bson_t *cmd, const char *name, const char *db,
               struct command_ctx *ctx, bson_t *reply);
/* After it ran: publishes its changes, or keeps them in its transaction
 * (and takes them away from the collections), or undoes them. False when
 * it must run again: it changed a document an open transaction had
 * written, so it waited for that transaction to end. */
bool txn_end(struct command_ctx *ctx, bson_t *reply);
void txn_cmd_commit(const bson_t *cmd, const char *db, bson_t *reply);
void txn_cmd_abort(const bson_t *cmd, const char *db, bson_t *reply);
void txn_cmd_end_sessions(const bson_t *cmd, const char *db, bson_t *reply);
/* Publishes a scope run outside any command (the seeds at start-up). */
void txn_publish(struct scope *s);
/* The sessions --dbpath kept (their retryable writes' answers). */
void txn_load_sessions(void);

/* ---- persist.c: --dbpath ---- */
/* A session as --dbpath keeps it. */
struct session_row {
    const bson_value_t *id; /* lsid.id */
    int64_t number;
    bool committed;      /* transaction `number` committed; else a write's */
    const bson_t *reply; /* the write's answer; NULL: none */
    int64_t used;        /* seconds since the epoch */
};
/* Opens (creating) DIR's store and loads it into srv; false with a
 * message. `had_data`: it held something. */
bool persist_open(const char *dir, bool *had_data, char *err, size_t size);
/* Writes what a published scope changed (documents, collections, oplog
 * entries from s->first_seq on, the oplog's bounds, the session when not
 * NULL) in one durable transaction; nothing without --dbpath. Exits the
 * server when the store cannot be written. */
void persist_scope(const struct scope *s, const struct session_row *row);
/* Calls fn for each session kept. */
void persist_load_sessions(void (*fn)(const struct session_row *, void *),
                           void *arg);

/* ---- net.c ---- */
/* Closes every client connection (a fault). */
void net_close_all(void);
/* Now on the monotonic clock, in milliseconds. */
int64_t net_now_ms(void);

/* ---- changes.c: change streams ---- */
struct change_stream;
/* A stream on db.coll (coll NULL: the database, or with
 * allChangesForCluster the cluster) from its $changeStream spec and the
 * stages after it ($match only); NULL with MongoDB's error. */
struct change_stream *change_stream_open(const bson_t *spec,
                                         bson_iter_t *stages, const char *db,
                                         const char *coll,
                                         struct mongo_error *e);
void change_stream_free(struct change_stream *s); /* NULL: nothing */
/* Appends to `batch` (keys from *count on) the events after the stream's
 * position: at most `limit` (0: as many as fit a reply); false with 286
 * ChangeStreamHistoryLost when the oplog no longer holds its position. */
bool change_stream_batch(struct change_stream *s, int32_t limit, bson_t *batch,
                         int *count, struct mongo_error *e);
/* Invalidated: its cursor closes. */
bool change_stream_closed(const struct change_stream *s);
/* Appends its resume token (postBatchResumeToken) as `key`. */
void change_stream_token(const struct change_stream *s, bson_t *out,
                         const char *key);

/* ---- cursors.c: find, aggregate, change streams, getMore ---- */
void cmd_find(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_get_more(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_kill_cursors(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_aggregate(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_list_collections(const bson_t *cmd, const char *db, bson_t *reply);
/* Answers with a cursor over `docs` (taken), named db.coll: the first
 * batch as the command's cursor.batchSize asks, the rest by getMore. */
void reply_list_cursor(const bson_t *cmd, const char *db, const char *coll,
                       bson_t **docs, size_t n, bson_t *reply);
/* The error reply of MongoDB: ok 0, errmsg, code, codeName. */
void reply_error(bson_t *reply, int code, const char *code_name,
                 const char *fmt, ...) BSON_GNUC_PRINTF(4, 5);

/* ---- commands.c ---- */
/* Runs a command (the OP_MSG body with any document sequences merged in
 * as arrays); fills `reply`. Returns false when the connection must be
 * closed instead of answered (an injected network failure). */
bool command_run(const bson_t *cmd, bson_t *reply);
void cursors_free_all(void);
/* Synthetic documents, in _id order, without change events. */
void generate(const char *db, const char *coll, int64_t count, int64_t size,
              const char *id_type, int64_t start);

#endif
