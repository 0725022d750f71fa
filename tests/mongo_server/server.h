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
    bool fail_after;   /* the command runs, then its connection closes */
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

/* ---- data.c ---- */
int value_compare(const bson_value_t *a, const bson_value_t *b);
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
/* Appends the change (taking `event`) at cluster time t, i; wakes waiting
 * change streams. */
void oplog_write(const char *db, const char *coll, const char *op,
                 bson_t *event, uint32_t t, uint32_t i);
/* An entry read back from --dbpath, as it was (taking `event`). */
void oplog_restore(int64_t seq, uint32_t t, uint32_t i, const char *db,
                   const char *coll, const char *op, bson_t *event);
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
enum scope_coll_op { SCOPE_CREATE, SCOPE_DROP, SCOPE_RENAME };
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
