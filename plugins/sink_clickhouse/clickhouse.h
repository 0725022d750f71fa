/* clickhouse.h: what the files of sink_clickhouse share: the options,
 * the instance, and the functions each file gives the others. The plugin
 * includes only the SDK (sluice/sluice.h), libcurl, zlib and yajl
 * (find.c alone). */
#ifndef SINK_CLICKHOUSE_H
#define SINK_CLICKHOUSE_H

#include <curl/curl.h>
#include <sluice/sluice.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ch_compression { CH_COMPRESSION_NONE, CH_COMPRESSION_GZIP };
enum ch_format { CH_FORMAT_ROWBINARY, CH_FORMAT_JSONEACHROW };
/* The metadata columns' names (shape.c): sluice's own, or ClickPipes'. */
enum ch_names { CH_NAMES_SLUICE, CH_NAMES_CLICKPIPES, CH_NAMES_COUNT };

struct ch_config {
    const char *url;
    const char *database;
    const char *user;
    const char *password;
    const char *table_prefix;
    const char *table_suffix;
    int64_t connect_timeout_ms;
    int64_t request_timeout_ms;
    int64_t max_batch_bytes;
    int compression;
    int format;
    const char *tls_ca_file;
    bool tls_verify;
    bool adopt;
    int column_names;           /* enum ch_names */
    sluice_string_list columns; /* TABLE.COLUMN = PATH TYPE (columns.c) */
    bool keep_doc;              /* false: tables with columns have no doc */
};

/* What the server can do, from its version. */
struct ch_features {
    int major, minor;
    char version[32];
    bool datetime64; /* DateTime64(3) */
    bool is_deleted; /* ReplacingMergeTree(_version, _is_deleted) */
    bool exchange;   /* EXCHANGE TABLES (with an Atomic database) */
    bool json;       /* the JSON column type */
    bool bool_type;  /* the Bool column type (else UInt8) */
};
/* Fills `f` from the server's answer to SELECT version() (schema.c). */
void ch_parse_version(const char *text, struct ch_features *f);

/* The sink's own tables in a destination database begin with
 * CH_RESERVED, which no destination may: the owners of its tables, and
 * the shadow and retired tables of a resync, named after the table they
 * stand for, so that no destination can ever have their names. */
#define CH_RESERVED "_sluice_"
#define CH_OWNERS "_sluice_owners"
#define CH_SHADOW "_sluice_resync_"
#define CH_RETIRED "_sluice_retired_"

struct ch_stream;
struct ch_buf;

/* ---- columns.c: typed columns, the option `columns` ---- */

/* What a typed column holds. */
enum ch_kind {
    CH_STRING,
    CH_INT64,
    CH_UINT64,
    CH_FLOAT64,
    CH_UINT8,
    CH_BOOL,
    CH_DATE,
    CH_DATETIME,
    CH_DATETIME64 /* DateTime64(3): milliseconds */
};

struct ch_type {
    enum ch_kind kind;
    bool nullable; /* Nullable(kind) */
    bool array;    /* Array(kind) */
};

/* One item of `columns`, TABLE.COLUMN = PATH TYPE: the column COLUMN of
 * TABLE's destination holds the field at PATH of each document. */
struct ch_field {
    char *table;     /* the source table */
    char *name;      /* the column's */
    char *path;      /* as written: "customer.id" */
    char **segments; /* the path split at its dots */
    size_t depth;
    struct ch_type type;
};

struct ch_fields {
    struct ch_field *items; /* in the order of the option */
    size_t count;
};

/* Reads `columns` (and checks keep_doc against it): every bad item is
 * named in the message, with why. `out` is the caller's (ch_fields_free),
 * also on failure. */
sluice_status ch_fields_parse(const struct ch_config *cfg,
                              struct ch_fields *out, sluice_error *err);
void ch_fields_free(struct ch_fields *f);
/* The type as CREATE TABLE gives it on a server that can do `f` (Bool is
 * UInt8 where the server has no Bool); as written when f is NULL. */
void ch_type_text(struct ch_type t, const struct ch_features *f, char *out,
                  size_t size);
/* Whether a column of type `found` (as system.columns gives it) holds
 * t's values as the sink writes them: t's own type, or UInt8 for Bool. */
bool ch_type_holds(struct ch_type t, const char *found);

/* ---- shape.c: the columns of a destination table ---- */

/* What a column holds. Rows are encoded, and inserts list their columns,
 * in this order (rowbinary.c), the typed columns in the order of the
 * option; a table may order them otherwise. The first five have a name
 * in each set of column_names. */
enum ch_role {
    CH_ID,         /* the record's key: String */
    CH_DOC,        /* the document */
    CH_VERSION,    /* orders the changes of one key: the engine's version */
    CH_IS_DELETED, /* 1 for a delete */
    CH_SYNCED_AT,  /* when sluice wrote the row */
    CH_FIELD,      /* a typed column: a field of the document */
    CH_MALFORMED,  /* the fields that did not convert, with their values */
    CH_ROLES
};
#define CH_NAMED_ROLES CH_FIELD /* the roles named by column_names */
#define CH_MALFORMED_NAME "_malformed"

struct ch_column {
    enum ch_role role;
    const char *name;
    char type[48];                /* what CREATE TABLE gives it here */
    const char *const *accepted;  /* the types an existing table's column
                                     may have, NULL-terminated; NULL for a
                                     typed column (ch_type_holds) */
    const char *want;             /* the accepted types, for messages;
                                     NULL for a typed column */
    const struct ch_field *field; /* CH_FIELD: its item of `columns` */
};

/* The one description of a destination table's columns, built from the
 * options and the server's version: every statement that names a column
 * (CREATE TABLE, the check of an existing table, ALTER TABLE, the INSERT
 * column list, JSONEachRow rows) reads its names here. */
struct ch_shape {
    enum ch_names names;
    struct ch_column *columns; /* in the table's order; the shape's own */
    size_t count;
    bool engine_is_deleted; /* ReplacingMergeTree(version, is_deleted) */
};

/* The shape of table `table` with the metadata names `names` on a server
 * that can do `f`: the typed columns of `fields` that are the table's,
 * then _malformed when it has any, and doc unless keep_doc is false and
 * the table has typed columns. False when out of memory. */
bool ch_shape_init(struct ch_shape *sh, enum ch_names names,
                   const struct ch_features *f, const struct ch_fields *fields,
                   const char *table, bool keep_doc);
void ch_shape_free(struct ch_shape *sh);
/* The column of `role` (the first, for CH_FIELD); NULL when the shape
 * has none. */
const struct ch_column *ch_shape_column(const struct ch_shape *sh,
                                        enum ch_role role);
const char *ch_shape_name(const struct ch_shape *sh, enum ch_role role);
/* The name the set `names` gives `role` (one of the CH_NAMED_ROLES). */
const char *ch_role_name(enum ch_names names, enum ch_role role);
/* What column_names calls a set of names ("sluice", "clickpipes"). */
const char *ch_names_option(enum ch_names names);
/* " (`_id` String, ...) ENGINE = ReplacingMergeTree(...) ORDER BY `_id`":
 * what follows the table's name in CREATE TABLE. */
bool ch_shape_create_sql(const struct ch_shape *sh, struct ch_buf *out);
/* "`_id`, `doc`, ...": the names of sh's columns in the order rows are
 * encoded. */
bool ch_shape_list(const struct ch_shape *sh, struct ch_buf *out);
/* "`_id`, `_version`, `_is_deleted`, `_synced_at`": what a deleted row
 * is (every other column of one holds its default), by the names of the
 * set `names`, in the same order for every set. */
bool ch_deleted_list(enum ch_names names, struct ch_buf *out);
/* The type of column `name` in "name\ttype\n" lines (system.columns),
 * written into out; NULL when there is no such column. */
const char *ch_column_type(const char *columns, const char *name, char *out,
                           size_t size);
/* The sets of metadata names that `columns` ("name\ttype\n" lines, as
 * system.columns gives them) has names of its own of: a bit per enum
 * ch_names. */
unsigned ch_names_found(const char *columns);
/* Whether `columns` has, by the names of `names`, the columns of a
 * deleted row (ch_deleted_list), of any type. */
bool ch_names_present(enum ch_names names, const char *columns);
/* Appends to `diff` ("; "-separated) how `columns` differ from the
 * shape's key, document and metadata columns: missing columns and wrong
 * types; extra columns are allowed. */
bool ch_shape_diff(const struct ch_shape *sh, const char *columns,
                   struct ch_buf *diff);
/* Appends to `diff` the typed columns (and _malformed) that `columns`
 * has with another type than the shape's. */
bool ch_shape_retyped(const struct ch_shape *sh, const char *columns,
                      struct ch_buf *diff);

/* A destination table as it is on the server. */
struct ch_dest {
    char *table; /* its bare name: extra, prefix, table, suffix */
    bool ts64;   /* _synced_at is DateTime64(3), not DateTime */
    bool json;   /* doc is JSON, not String */
};

/* ---- url.c: the server's URL ---- */

/* The `url` option taken apart. Every string is the struct's own. */
struct ch_url {
    char *shown;           /* scheme://host:port[/path]: no credentials, no
                              query; what messages and the log show */
    char *host;            /* as libcurl gives it ("[::1]" for IPv6) */
    int port;              /* the scheme's default when the URL has none */
    char *user, *password; /* the URL's userinfo, decoded; NULL: none */
    char *query;           /* the URL's own query parameters; NULL: none */
};

/* Checks the URL (http or https, with a host) and takes it apart. */
sluice_status ch_url_parse(const char *text, struct ch_url *out,
                           sluice_error *err);
void ch_url_free(struct ch_url *u);

/* ---- the instance, which every file works on ---- */

struct ch_sink {
    sluice_context *ctx;
    const struct ch_config *cfg;
    CURL *curl;
    struct ch_url url;
    const char *user, *password; /* the options', else the URL's */
    bool connected;              /* version known, database created */
    bool owners_ready;           /* the owners table exists */
    struct ch_features features;
    struct ch_fields fields; /* the option `columns`, read by open */
    struct ch_shape shape;   /* of every table without typed columns,
                                from the options and the version: built
                                by ch_connect, as are */
    struct ch_table_shape {  /* those of the tables with typed columns */
        const char *table;   /* the fields' */
        struct ch_shape shape;
    } * shapes;
    size_t shape_count;
    struct ch_dest *dests;
    size_t dest_count;
    char **resyncing; /* tables whose writes go to the shadow */
    size_t resync_count;
    int refusal; /* the last ch_request refused by the server: its
                    code (0: none given); -1 when not refused */
    struct ch_repeat {
        char *table;   /* the table whose setup was last refused */
        char *message; /* with this message */
        int count;     /* so many times in a row */
    } repeat;
    struct ch_ahead *ahead;     /* the typed columns of the batch being
                                   written (ahead.c) */
    CURLM *multi;               /* drives the open inserts */
    struct ch_stream **streams; /* open inserts, one per destination */
    size_t stream_count;
};

/* The shapes of the instance's tables (shape.c), made once the server's
 * version is known; false when out of memory. */
bool ch_shapes_build(struct ch_sink *s);
void ch_shapes_free(struct ch_sink *s);
/* The shape of `table`'s destination: its own when it has typed columns,
 * else the instance's; and of the `len` bytes at `table`. */
const struct ch_shape *ch_shape_of(const struct ch_sink *s, const char *table);
const struct ch_shape *ch_shape_of_len(const struct ch_sink *s,
                                       const char *table, size_t len);

/* ---- http.c: requests to the server ---- */

/* The core's API, kept by init (sink_clickhouse.c); here, below every
 * file that calls it. */
extern const sluice_host_api *ch_host;

/* A growable byte string (the plugin's own; it links nothing of sluice's
 * framework). */
struct ch_buf {
    char *data;
    size_t len, cap;
};
/* Room for `extra` more bytes (and a terminating NUL) at the end. */
bool ch_buf_reserve(struct ch_buf *b, size_t extra);
bool ch_buf_append(struct ch_buf *b, const void *data, size_t len);
bool ch_buf_printf(struct ch_buf *b, const char *fmt, ...) SLUICE_PRINTF(2, 3);
void ch_buf_free(struct ch_buf *b);
#define CH_LIT(b, text) ch_buf_append((b), (text), sizeof(text) - 1)

/* Whether the core says to give up the requests waiting (sluice is
 * stopping: the host's should_stop, from ABI 1.2). */
bool ch_should_stop(const struct ch_sink *s);

/* What one request owns while it runs. */
struct ch_call {
    struct ch_buf url, answer;
    struct curl_slist *headers;
    char curl_error[CURL_ERROR_SIZE];
};

/* Sets `curl` up for `query`: sent as the body, or, `streamed`, in the
 * URL (with `settings`, "name=value&..."), the body then coming from a
 * read callback the caller sets, gzip-compressed when configured. The
 * answer goes into c->answer. */
sluice_status ch_call_prepare(struct ch_sink *s, CURL *curl, struct ch_call *c,
                              const char *query, const char *settings,
                              bool streamed, sluice_error *err);
/* The outcome of a finished request: connection failures, timeouts and
 * overload are SLUICE_RETRY; the server's refusals SLUICE_FATAL, with its
 * own message. */
sluice_status ch_call_result(CURL *curl, const struct ch_call *c, CURLcode rc,
                             const char *query, sluice_error *err);
void ch_call_free(struct ch_call *c);
/* ch_call_result's judgement, of the libcurl result `rc`, the HTTP status
 * and the server's answer `body` (NULL: none). */
sluice_status ch_classify(CURLcode rc, long http, const char *body,
                          const char *query, const char *curl_error,
                          sluice_error *err);

/* "Code: 81, e.displayText() = ..." -> 81; -1 when there is none. */
int ch_answer_code(const char *body);
/* Whether a server error code concerns the user, the server or the
 * database rather than one table (an authentication failure, say). */
bool ch_server_code(int code);

/* Runs `query` (no body) at once; `answer`, when not NULL, receives the
 * response; s->refusal says whether the server refused it. */
sluice_status ch_request(struct ch_sink *s, const char *query,
                         struct ch_buf *answer, sluice_error *err);

/* ---- sql.c: SQL text ---- */

/* `name` quoted (backticks and backslashes escaped), and a string
 * literal. */
bool ch_quote(struct ch_buf *out, const char *name, size_t len);
bool ch_name(struct ch_buf *out, const char *name);
bool ch_literal(struct ch_buf *out, const char *text);

/* ---- schema.c: tables, versions, the resync set and swap ---- */

/* Detects the version and creates the database, once. */
sluice_status ch_connect(struct ch_sink *s, sluice_error *err);
/* A destination's bare name: extra (NULL, CH_SHADOW or CH_RETIRED), then
 * prefix, table, suffix; and qualified: `db`.`bare`. */
bool ch_bare_name(const struct ch_config *cfg, const char *table,
                  const char *extra, struct ch_buf *out);
bool ch_qualified_name(const struct ch_config *cfg, const char *table,
                       const char *extra, struct ch_buf *out);
bool ch_table_name(const struct ch_sink *s, const char *table,
                   const char *extra, struct ch_buf *out);
sluice_status ch_table_exists(struct ch_sink *s, const char *table,
                              const char *extra, bool *out, sluice_error *err);
/* The existing tables that `columns` names, checked as setup would check
 * them (names, types, a column whose type changed), changing nothing: for
 * `sluice check --connect`. A refusal is SLUICE_FATAL. */
sluice_status ch_check_tables(struct ch_sink *s, sluice_error *err);
/* Checks or creates the destination. A refusal that concerns the table
 * alone is SLUICE_FATAL_TABLE (see table_outcome). */
sluice_status ch_setup_table(struct ch_sink *s, const char *table,
                             const char *extra, sluice_error *err);
void ch_forget_repeats(struct ch_sink *s);
/* How to write to a destination ("extra": NULL or the shadow's "_resync"),
 * setting it up when not yet known. */
sluice_status ch_dest_of(struct ch_sink *s, const char *table,
                         const char *extra, struct ch_dest **out,
                         sluice_error *err);
sluice_status ch_swap(struct ch_sink *s, const char *table, sluice_error *err);
sluice_status ch_drop(struct ch_sink *s, const char *table, const char *extra,
                      sluice_error *err);
/* Whether `table` would have a name of the sink's own tables. */
bool ch_reserved(const struct ch_config *cfg, const char *table);
/* The resync set: the tables whose writes go to their shadow, from
 * resync_begin to the swap or abort. ch_is_resyncing says whether `table`
 * is in it (at: where); marking it twice keeps it once; clear frees the
 * set. */
bool ch_is_resyncing(const struct ch_sink *s, const char *table, size_t *at);
sluice_status ch_resync_mark(struct ch_sink *s, const char *table,
                             sluice_error *err);
void ch_resync_unmark(struct ch_sink *s, const char *table);
void ch_resync_clear(struct ch_sink *s);

/* ---- owners.c: who owns a destination table ---- */

/* The sink callbacks `destination` and `claim` (sluice/sink.h). */
sluice_status ch_destination(const void *config, const char *table,
                             sluice_values *name, sluice_error *err);
sluice_status ch_claim(void *instance, const sluice_owner *owner,
                       sluice_error *err);
/* The table was dropped: it has no owner. */
sluice_status ch_release(struct ch_sink *s, const char *table,
                         sluice_error *err);

/* ---- dates.c: times as text ---- */

/* ISO 8601, as documents hold dates: YYYY-MM-DD, then optionally T (or a
 * space) HH:MM[:SS[.fff]] and Z or an offset (none: UTC), into
 * milliseconds since 1970 UTC; false when the text is no such date. */
bool ch_iso_parse(const char *text, size_t len, int64_t *ms);
/* "2024-01-02T03:04:05.678Z", as ClickPipes writes a date. */
void ch_iso_format(int64_t ms, char *out, size_t size);
/* The day of a time (days since 1970, rounded down), and as
 * "2024-01-02". */
int64_t ch_days_of(int64_t ms);
void ch_date_format(int64_t days, char *out, size_t size);
void ch_civil_from_days(int64_t days, int *year, int *month, int *day);

/* ---- values.c: values as insert bodies encode them ---- */

bool ch_put_varint(struct ch_buf *b, uint64_t v);
/* The `bytes` low bytes of v, little-endian. */
bool ch_put_le(struct ch_buf *b, uint64_t v, size_t bytes);
/* A RowBinary String: varint length, bytes. */
bool ch_put_string(struct ch_buf *b, const char *p, size_t len);
/* A JSON string: '"' and backslash escaped, control bytes as \u00XX;
 * other bytes as they are. */
bool ch_put_json_string(struct ch_buf *b, const char *p, size_t len);

/* ---- rowbinary.c: rows as insert bodies ---- */

/* How rows of a destination are encoded. */
struct ch_row_format {
    bool json_each_row;           /* JSONEachRow, not RowBinary */
    bool ts64;                    /* the time is DateTime64(3) */
    int64_t synced_ms;            /* the time the rows were written */
    const struct ch_shape *shape; /* the columns, and their names */
    bool doc;                     /* the shape has doc */
    bool typed;                   /* the shape has typed columns */
};

/* Appends the record as one row of the insert body; `typed` (`len`
 * bytes) are its typed columns and _malformed, as ch_project wrote them
 * in this format (ahead.c), when the shape has typed columns. */
bool ch_encode_row(struct ch_buf *b, const struct ch_row_format *f,
                   const sluice_record *r, const char *typed, size_t len);

/* ---- find.c: the values at the typed columns' paths in a document ---- */

enum ch_jv_type {
    CH_JV_NULL,
    CH_JV_FALSE,
    CH_JV_TRUE,
    CH_JV_NUMBER,
    CH_JV_STRING,
    CH_JV_OBJECT,
    CH_JV_ARRAY
};

/* A JSON value kept from the document, a node of a small tree. */
struct ch_jv {
    enum ch_jv_type type;
    uint32_t key, key_len; /* an object member's key, in the text */
    uint32_t text, len;    /* a string (unescaped) or a number (as
                              written), in the text */
    uint32_t count;        /* an object's or array's members: the first
                              is the node after it */
    int32_t next;          /* the next member of its container; -1: none */
};

/* What ch_find found: at[i] is the node of the value at fields[i]'s path,
 * -1 when the document has none. Valid until the next ch_find. */
struct ch_found {
    const struct ch_jv *nodes;
    const char *text; /* keys, strings and numbers, at the nodes' offsets */
    const int32_t *at;
};

/* A parser and the trees it keeps: one per thread. */
struct ch_finder;
struct ch_finder *ch_finder_new(void);
void ch_finder_free(struct ch_finder *f);
/* Parses `doc`, keeping the value at each field's path: 1 and *out
 * filled, 0 when doc is no JSON (or is nested deeper than 256 levels),
 * -1 when out of memory. */
int ch_find(struct ch_finder *f, const char *doc, size_t len,
            const struct ch_field *const *fields, size_t count,
            struct ch_found *out);

/* ---- project.c: documents read into typed columns ---- */

/* What reading documents keeps from one row to the next: the JSON parser
 * and the text of _malformed. One per open insert. */
struct ch_projector;
struct ch_projector *ch_projector_new(void);
void ch_projector_free(struct ch_projector *p);
/* Appends the values of sh's typed columns, then _malformed, read from
 * the document `doc` (NULL: a deleted row, every column its default): in
 * RowBinary, or (json) as JSONEachRow's ',"name":value' for each. A
 * missing field (or null) gives the column's default (NULL when
 * Nullable); a value that does not convert gives the default too, and
 * goes into _malformed, {"path":value,...}, as the document has it.
 * False when out of memory. */
bool ch_project(struct ch_projector *p, struct ch_buf *b,
                const struct ch_shape *sh, bool json, const char *doc,
                size_t len);

/* ---- ahead.c: a batch's typed columns read on several threads ---- */

/* Reads the typed columns of every record of the batch that has any,
 * before the batch is encoded. */
sluice_status ch_read_ahead(struct ch_sink *s, const sluice_batch *batch,
                            sluice_error *err);
/* The bytes ch_read_ahead made for record `index` of the batch; false
 * when it made none. */
bool ch_ahead_row(const struct ch_sink *s, size_t index, const char **bytes,
                  size_t *len);
void ch_ahead_free(struct ch_sink *s);

/* ---- stream.c: inserts kept open across writes ---- */

/* Sends each record of the batch into its table's open insert (opening
 * one when there is none), after the rows written before; a request ends
 * at max_batch_bytes and the next one opens. On failure every open insert
 * is dropped: the batches written since the last flush are to be written
 * again. */
sluice_status ch_stream_batch(struct ch_sink *s, const sluice_batch *batch,
                              sluice_error *err);
/* Ends every open insert and waits for the server's answers: SLUICE_OK
 * when all the rows written are stored. No insert is open after it. */
sluice_status ch_streams_finish(struct ch_sink *s, sluice_error *err);
/* Drops the open inserts unfinished: the server keeps none of their rows
 * but those of blocks it had already written (max_insert_block_size). */
void ch_streams_abort(struct ch_sink *s);

#endif
