/* clickhouse.h: what the files of sink_clickhouse share: the options,
 * the instance, and the functions each file gives the others. The plugin
 * includes only the SDK (sluice/sluice.h), libcurl and zlib. */
#ifndef SINK_CLICKHOUSE_H
#define SINK_CLICKHOUSE_H

#include <curl/curl.h>
#include <sluice/sluice.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const sluice_host_api *ch_host;

enum ch_compression { CH_COMPRESSION_NONE, CH_COMPRESSION_GZIP };
enum ch_format { CH_FORMAT_ROWBINARY, CH_FORMAT_JSONEACHROW };

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
};

/* What the server can do, from its version. */
struct ch_features {
    int major, minor;
    char version[32];
    bool datetime64;  /* DateTime64(3) */
    bool is_deleted;  /* ReplacingMergeTree(_version, _is_deleted) */
    bool exchange;    /* EXCHANGE TABLES (with an Atomic database) */
    bool json;        /* the JSON column type */
};

#define CH_SHADOW "_resync"

/* A destination table as it is on the server. */
struct ch_dest {
    char *table;      /* its bare name: prefix, table, suffix, extra */
    bool ts64;        /* _synced_at is DateTime64(3), not DateTime */
    bool json;        /* doc is JSON, not String */
};

struct ch_sink {
    sluice_context *ctx;
    const struct ch_config *cfg;
    CURL *curl;
    char *base_url;
    bool connected; /* version known, database created */
    struct ch_features features;
    struct ch_dest *dests;
    size_t dest_count;
    char **resyncing; /* tables whose writes go to the shadow */
    size_t resync_count;
};

/* A growable byte string (the plugin's own; it links nothing of sluice's
 * framework). */
struct ch_buf {
    char *data;
    size_t len, cap;
};
bool ch_buf_append(struct ch_buf *b, const void *data, size_t len);
bool ch_buf_printf(struct ch_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ch_buf_free(struct ch_buf *b);
#define CH_LIT(b, text) ch_buf_append((b), (text), sizeof(text) - 1)

/* ---- http.c: requests to the server ---- */

/* A request body produced piece by piece: `read` fills up to `size`
 * bytes and returns how many; 0 ends the body. `rewind` starts it over
 * (libcurl resends a body when a kept-alive connection turns out dead);
 * false when it cannot. */
struct ch_body {
    size_t (*read)(char *out, size_t size, void *state);
    bool (*rewind)(void *state);
    void *state;
};

/* Runs `query`. With `body`, the query goes in the URL and the body is
 * streamed (compressed when configured); without, the query is the body.
 * The answer (when not NULL) receives the response. Connection failures,
 * timeouts and overload are SLUICE_RETRY; the server's refusals
 * SLUICE_FATAL, with its own message. */
sluice_status ch_request(struct ch_sink *s, const char *query,
                         const char *settings, const struct ch_body *body,
                         struct ch_buf *answer, sluice_error *err);

/* ---- schema.c: tables, versions, the resync swap ---- */

/* Detects the version and creates the database, once. */
sluice_status ch_connect(struct ch_sink *s, sluice_error *err);
/* `db`.`prefix table suffix` (and with a suffix such as "_resync"). */
bool ch_table_name(const struct ch_sink *s, const char *table,
                   const char *extra, struct ch_buf *out);
sluice_status ch_setup_table(struct ch_sink *s, const char *table,
                             const char *extra, sluice_error *err);
/* How to write to a destination ("extra": NULL or the shadow's "_resync"),
 * setting it up when not yet known. */
sluice_status ch_dest_of(struct ch_sink *s, const char *table,
                         const char *extra, struct ch_dest **out,
                         sluice_error *err);
sluice_status ch_swap(struct ch_sink *s, const char *table, sluice_error *err);
sluice_status ch_drop(struct ch_sink *s, const char *table, const char *extra,
                      sluice_error *err);

/* ---- rowbinary.c: batches as insert bodies ---- */

/* Sends every record of `table` in the batch, in requests of at most
 * max_batch_bytes. */
sluice_status ch_insert(struct ch_sink *s, const sluice_batch *batch,
                        const char *table, size_t table_len,
                        sluice_error *err);

#endif
