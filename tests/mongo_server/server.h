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

struct doc {
    bson_t *bson;
    bson_value_t id; /* a copy of its _id */
};

struct collection {
    char *db, *name;
    struct doc *docs; /* sorted by _id, BSON order */
    size_t count, cap;
};

struct oplog_entry {
    int64_t seq;   /* resume tokens name this */
    uint32_t t, i; /* its cluster time */
    char *db, *coll;
    char *op;      /* insert, update, replace, delete, drop, rename */
    bson_t *event; /* the change event without _id */
};

struct cursor;

struct faults {
    int fail_count;    /* the next N commands fail */
    bool fail_network; /* by closing the connection; else a retryable error */
    int latency_ms;    /* before every reply */
    int64_t close_generation; /* bumped to close every connection */
    int64_t refuse_until_ms;  /* monotonic: no connection, no command until */
};

struct server {
    pthread_mutex_t lock;
    pthread_cond_t grew; /* the oplog grew */
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
    bool stopping;
};

extern struct server srv;

/* ---- values.c: BSON values as MongoDB compares and shows them ---- */
/* An error as MongoDB reports it: code, codeName, message. */
struct mongo_error {
    int code;
    char name[48];
    char msg[1024];
};
void mongo_error_set(struct mongo_error *e, int code, const char *name,
                     const char *fmt, ...) BSON_GNUC_PRINTF(4, 5);
/* MongoDB's order: the type class first, then the value. */
int value_compare(const bson_value_t *a, const bson_value_t *b);
/* Same type and same bytes (an update that writes it is a no-op). */
bool value_identical(const bson_value_t *a, const bson_value_t *b);
bool value_same_class(const bson_value_t *a, const bson_value_t *b);
bool value_is_number(const bson_value_t *v);
double value_as_double(const bson_value_t *v);
const char *value_type_name(bson_type_t t); /* "int", "string", ... */
/* An empty document or array (static bytes, nothing to free). */
void value_empty(bson_type_t type, bson_value_t *out);
/* As MongoDB's messages show values: {a: 1}, [ 1, 2 ], "x". */
const char *value_render(const bson_value_t *v, char *buf, size_t size);
const char *element_render(const char *key, const bson_value_t *v, char *buf,
                           size_t size); /* "key: value" */

/* ---- path.c: dotted paths, read out of BSON ---- */
struct path {
    char *text;   /* as written */
    char **parts; /* split at the dots */
    size_t n;
};
/* Splits; an empty path or part is EmptyFieldName (56). */
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
/* As a query reads a path: an array met on the way is looked into
 * (a numeric part indexes it, and each element that is a document is
 * followed); with `leaf_elements`, an array at the end is given whole,
 * then element by element. A branch that ends before the path does
 * gives NULL (a missing value). `array_index` is the index in the first
 * array gone through, -1 when none. `fn` returns true to stop; so does
 * path_walk then. */
typedef bool (*path_visit_fn)(const bson_value_t *v, int array_index,
                              void *ctx);
bool path_walk(const bson_value_t *root, char *const *parts, size_t n,
               bool leaf_elements, path_visit_fn fn, void *ctx);

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

/* ---- match.c: the update language's small matcher ---- */
/* 1 match, 0 none, -1 error. `index` gets the index in the first array
 * the match went through (for the positional $), left as is otherwise. */
int match_doc(const bson_value_t *root, const bson_t *query, int *index,
              struct mongo_error *e);
/* A condition ({$gt: 1, ...} or a value to equal) on the values a path
 * reaches from `root` (n 0: `root` itself; NULL root: a missing value). */
int match_path(const bson_value_t *root, char *const *parts, size_t n,
               const bson_value_t *cond, int *index, struct mongo_error *e);
bool match_is_operator_doc(const bson_value_t *v);

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
void coll_remove_at(struct collection *c, size_t at);
/* Appends the change to the oplog (taking `event`), with the next cluster
 * time; wakes waiting change streams. */
void oplog_append(const char *db, const char *coll, const char *op,
                  bson_t *event);
void oplog_truncate(void);
/* The current cluster time (of the last write, or now). */
void cluster_time(uint32_t *t, uint32_t *i);

/* A filter on _id: every condition must hold. */
struct id_filter {
    bool has_min, min_inclusive, has_max, max_inclusive;
    bson_value_t min, max;
    bson_value_t *in; /* $in / equality; NULL: any */
    size_t in_count;
    bool has_in;
};
/* Reads {_id: v} / {_id: {$gte.., $in..}} / {}; false with a message. */
bool filter_parse(const bson_t *filter, struct id_filter *f, char *err,
                  size_t size);
bool filter_match(const struct id_filter *f, const bson_value_t *id);
void filter_free(struct id_filter *f);

/* ---- net.c ---- */
/* Closes every client connection (a fault). */
void net_close_all(void);
/* Now on the monotonic clock, in milliseconds. */
int64_t net_now_ms(void);

/* ---- cursors.c: find, aggregate, change streams, getMore ---- */
void cmd_find(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_get_more(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_kill_cursors(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_aggregate(const bson_t *cmd, const char *db, bson_t *reply);
void cmd_list_collections(const bson_t *cmd, const char *db, bson_t *reply);
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
