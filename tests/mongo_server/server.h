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
