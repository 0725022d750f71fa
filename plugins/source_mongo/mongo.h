/* mongo.h: what the files of source_mongo share: the options, the
 * instance, and the functions each file gives the others. The plugin
 * includes only the SDK and libmongoc.
 *
 * Positions are BSON documents, opaque to the core:
 *   CDC:       {resumeToken: {...}} or {startAtOperationTime: Timestamp}
 *   snapshot:  {min: v, max: v, after: v, version: Int64}, a partition
 *              [min, max) of _id (either bound absent: unbounded), read up
 *              to and including `after`. */
#ifndef SOURCE_MONGO_H
#define SOURCE_MONGO_H

#include <mongoc/mongoc.h>
#include <sluice/sluice.h>

/* The form of the document's JSON (json.c), in the order of the option's
 * names. */
enum mg_doc_format { MG_DOC_CLICKPIPES, MG_DOC_RELAXED, MG_DOC_CANONICAL };

enum mg_full_document {
    MG_FULL_UPDATE_LOOKUP,
    MG_FULL_WHEN_AVAILABLE,
    MG_FULL_REQUIRED
};

/* How a record's key shows _id (id_format). */
enum mg_id_format { MG_ID_NATURAL, MG_ID_EXTENDED };

struct mg_config {
    const char *uri;
    const char *database;
    sluice_string_list collections;
    int full_document;
    int64_t partition_size;
    int64_t batch_size;
    int read_preference;
    int64_t max_await_ms;
    int id_format;  /* enum mg_id_format */
    int doc_format; /* enum mg_doc_format */
};

/* An open snapshot cursor, kept between calls so that reading on from
 * the progress just returned needs no new query. */
struct mg_snapshot_cursor {
    char *table;
    mongoc_cursor_t *cursor;
    bson_t *progress; /* the position the cursor stands at */
};

struct mg_pool;

struct mg_source {
    sluice_context *ctx;
    const struct mg_config *cfg;
    struct mg_pool *pool; /* where `client` goes back to */
    mongoc_client_t *client;
    mongoc_database_t *db;
    uint64_t snapshot_version; /* cluster time of snapshot_begin */
    struct mg_snapshot_cursor snap;
    mongoc_change_stream_t *stream;
    char **tables; /* followed by the change stream */
    size_t table_count;
    bson_t *cdc_position;
};

/* ---- clients.c: connections shared by the instances of a process ---- */

/* The core's API, kept by init (source_mongo.c); here, below every file
 * that calls it. */
extern const sluice_host_api *mg_host;

/* Whether the core says to end the call in progress (sluice is stopping:
 * the host's should_stop, from ABI 1.2). A read cut short returns what it
 * has; a read blocked on a server that does not answer cannot be cut
 * short (libmongoc has no way to): the core then ends the process without
 * waiting for it. */
bool mg_should_stop(const struct mg_source *s);

/* A client from the process's pool for the URI, for the life of an
 * instance; given back when the instance closes. */
sluice_status mg_client_take(const char *uri, struct mg_pool **pool,
                             mongoc_client_t **client, sluice_error *err);
void mg_client_give(struct mg_pool *pool, mongoc_client_t *client);
/* Runs {command: 1} on admin; *reply is the caller's to destroy when OK
 * (and already destroyed otherwise). */
sluice_status mg_admin(struct mg_source *s, const char *command, bson_t *reply,
                       const char *what, sluice_error *err);
/* Once, at module init: libmongoc's log lines into the core's log. */
void mg_clients_init(void);
/* serverSelectionTimeoutMS unless the uri says otherwise */
#define MG_SERVER_SELECTION_MS 5000

/* ---- errors.c ---- */

/* An error of libmongoc as the core needs it: retry what may pass, give up
 * on what will not, always with the server's words. */
sluice_status mg_fail(const bson_error_t *e, const char *what,
                      sluice_error *err);

/* ---- convert.c: what identifies a record ---- */

/* The key of _id in the form `id_format` says: natural, an ObjectId's 24
 * hex digits, a string itself (but "" for the empty one: a key is never
 * empty), any other value as mg_key_canonical;
 * extended, mg_key_canonical of every _id. NULL (and *len 0) for a
 * string that is not UTF-8 (or any value libbson cannot write), which
 * mg_malformed_key keys instead. The caller frees with bson_free. */
char *mg_key(const bson_value_t *id, int id_format, size_t *len);
/* A value as compact canonical extended JSON: {"$numberInt":"1"}. */
char *mg_key_canonical(const bson_value_t *id, size_t *len);
/* The version of a change at cluster time (t, i). */
uint64_t mg_version(uint32_t t, uint32_t i);

/* ---- json.c: documents as JSON ---- */

/* The document as compact JSON in `format` (enum mg_doc_format); NULL
 * when its text is not valid UTF-8 (mg_malformed repairs it) or it is not
 * BSON. The caller frees with bson_free. */
char *mg_doc_json(const bson_t *doc, int format, size_t *len);

/* ---- malformed.c: text that is not valid UTF-8 ---- */

/* Documents with text that is not valid UTF-8, which json.c (and
 * libbson, for keys) will not write. mg_malformed completes a record
 * whose key or JSON (doc NULL for a delete) was refused (left NULL):
 * U+FFFD in the JSON, the original
 * bytes in its _sluice_malformed, the tagged key of such an _id; counted,
 * and logged once per collection and process (forgotten by
 * mg_malformed_cleanup, at module fini). FATAL, naming table and _id, when
 * even that cannot be written. The others are its steps, for the tests;
 * what they return is the caller's (bson_free, bson_destroy); NULL from
 * mg_utf8_replaced means the text was valid. */
sluice_status mg_malformed(struct mg_source *s, const char *table,
                           const bson_value_t *id, const bson_t *doc,
                           char **key, size_t *klen, char **json, size_t *dlen,
                           sluice_error *err);
void mg_malformed_cleanup(void);
char *mg_utf8_replaced(const char *text, size_t n, size_t *out_len);
bson_t *mg_repaired(const bson_t *doc, size_t *replaced);
char *mg_malformed_key(const bson_value_t *id, size_t *len);

/* ---- snapshot.c: the snapshot's callbacks ---- */

sluice_status mg_snapshot_begin(void *instance, sluice_values *cdc_start,
                                sluice_error *err);
sluice_status mg_snapshot_partitions(void *instance, const char *table,
                                     sluice_values *out, sluice_error *err);
sluice_status mg_snapshot_next(void *instance, const char *table,
                               const void *progress, size_t len,
                               sluice_batch *batch, sluice_error *err);
sluice_status mg_estimate_rows(void *instance, const char *table,
                               uint64_t *rows, sluice_error *err);
void mg_snapshot_close(struct mg_source *s);

/* ---- cdc.c: the change stream's callbacks ---- */

sluice_status mg_cdc_start(void *instance, const char *const *tables,
                           size_t count, const void *position, size_t len,
                           sluice_error *err);
sluice_status mg_cdc_poll(void *instance, sluice_batch *batch,
                          int64_t timeout_ms, sluice_error *err);
sluice_status mg_cdc_ack(void *instance, const void *position, size_t len,
                         sluice_error *err);
void mg_cdc_close(struct mg_source *s);

#endif
