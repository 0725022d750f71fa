/* sink_clickhouse.c: the ClickHouse sink plugin: its descriptor, option
 * table and callbacks. The work is in http.c (requests), schema.c
 * (tables, versions, the resync set and swap), owners.c (who owns a
 * table), shape.c and columns.c (a table's columns), stream.c,
 * rowbinary.c and project.c (inserts).
 *
 * Never logs the password or a URL with credentials in it. */
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

static const char *const url_schemes[] = {"http", "https", NULL};
static const char *const compression_names[] = {"none", "gzip", NULL};
static const char *const format_names[] = {"RowBinary", "JSONEachRow", NULL};
static const char *const column_names[] = {"sluice", "clickpipes", NULL};

#define FIELD(f) offsetof(struct ch_config, f)

static const sluice_option options[] = {
    {.type = SLUICE_OPTION_STRING,
     .name = "url",
     .default_value = "http://127.0.0.1:8123",
     .flags = SLUICE_OPTION_URL,
     .offset = FIELD(url),
     .allowed = url_schemes,
     .description = "The server's HTTP interface: http:// or https://, host "
                    "and port; a user and password in it are used unless "
                    "the options say otherwise, and its query parameters "
                    "(ClickHouse settings) go with every request."},
    {.type = SLUICE_OPTION_STRING,
     .name = "database",
     .flags = SLUICE_OPTION_REQUIRED,
     .offset = FIELD(database),
     .description = "The database of the destination tables; created when "
                    "missing."},
    {.type = SLUICE_OPTION_STRING,
     .name = "user",
     .default_value = "default",
     .offset = FIELD(user),
     .description = "The user to connect as; left at `default`, the user of "
                    "the url (http://USER:PASSWORD@host:8123) when it has "
                    "one."},
    {.type = SLUICE_OPTION_STRING,
     .name = "password",
     .flags = SLUICE_OPTION_SECRET,
     .offset = FIELD(password),
     .description = "The user's password; when not set, the password of "
                    "the url, else none."},
    {.type = SLUICE_OPTION_STRING,
     .name = "table_prefix",
     .default_value = "",
     .offset = FIELD(table_prefix),
     .description = "Put before each collection's name to name its table."},
    {.type = SLUICE_OPTION_STRING,
     .name = "table_suffix",
     .default_value = "",
     .offset = FIELD(table_suffix),
     .description = "Put after each collection's name to name its table."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "connect_timeout",
     .default_value = "10s",
     .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(connect_timeout_ms),
     .min = 100,
     .max = 300000,
     .description = "How long to wait for a connection to the server."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "request_timeout",
     .default_value = "5m",
     .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(request_timeout_ms),
     .min = 1000,
     .max = 3600000,
     .description = "How long one request (an insert, a DDL statement) may "
                    "take before it is retried."},
    {.type = SLUICE_OPTION_SIZE,
     .name = "max_batch_bytes",
     .default_value = "256MiB",
     .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(max_batch_bytes),
     .min = 64 * 1024,
     .max = 1024 * 1024 * 1024,
     .description = "Largest body of one insert request: the rows "
                    "written between two flushes go into one request (one "
                    "part in ClickHouse) up to this size, then the next "
                    "one opens."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "compression",
     .default_value = "none",
     .offset = FIELD(compression),
     .allowed = compression_names,
     .description =
         "Compression of insert bodies (gzip: Content-Encoding, which every "
         "ClickHouse version reads)."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "format",
     .default_value = "RowBinary",
     .offset = FIELD(format),
     .allowed = format_names,
     .description = "Insert format: RowBinary; JSONEachRow only for "
                    "debugging."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "column_names",
     .default_value = "sluice",
     .flags = SLUICE_OPTION_FORM,
     .offset = FIELD(column_names),
     .allowed = column_names,
     .description =
         "Names of the metadata columns: sluice (_version, _is_deleted, "
         "_synced_at) or clickpipes (_peerdb_version, _peerdb_is_deleted, "
         "_peerdb_synced_at, as ClickPipes names them, so that queries "
         "written for ClickPipes' tables run unchanged); _id and doc stay. "
         "A table made with the other names is refused until the pipe is "
         "resynced."},
    {.type = SLUICE_OPTION_LIST,
     .name = "columns",
     .offset = FIELD(columns),
     .description =
         "Typed columns beside doc, an item each: TABLE.COLUMN = PATH "
         "TYPE (orders.total = total Float64): the column COLUMN of "
         "TABLE's destination holds the field at the dotted PATH of each "
         "document. TYPE: String, Int64, UInt64, Float64, UInt8, Bool, "
         "Date, DateTime, DateTime64(3), Nullable(T) of each, "
         "Array(String), Array(Int64), Array(Float64). A value that does "
         "not convert gives the column's default and is kept in the "
         "column _malformed. A column added here is added to the table at "
         "the next start; a changed type refuses the table until a resync "
         "(docs/clickhouse.md)."},
    {.type = SLUICE_OPTION_BOOL,
     .name = "keep_doc",
     .default_value = "true",
     .flags = SLUICE_OPTION_FORM,
     .offset = FIELD(keep_doc),
     .description = "false: the tables that have typed columns have no "
                    "doc column, only their columns (needs columns)."},
    {.type = SLUICE_OPTION_STRING,
     .name = "tls_ca_file",
     .offset = FIELD(tls_ca_file),
     .description = "CA certificates (PEM) to verify an https server "
                    "with; by default the system's."},
    {.type = SLUICE_OPTION_BOOL,
     .name = "tls_verify",
     .default_value = "true",
     .offset = FIELD(tls_verify),
     .description = "Verify the https server's certificate and host name."},
    {.type = SLUICE_OPTION_BOOL,
     .name = "adopt",
     .default_value = "false",
     .offset = FIELD(adopt),
     .description = "Take over destination tables that exist but were not "
                    "created by sluice for this pipe, or that another "
                    "deployment's pipe owns (its owner in _sluice_owners). "
                    "Without it such tables are never written, swapped or "
                    "dropped, and their sluice tables fail."},
    {0},
};

/* The counters of /metrics (sluice_plugin_sink_clickhouse_NAME). */
static const struct {
    const char *name, *help;
} ch_metrics[] = {
    {"rows_written_total",
     "Rows streamed into ClickHouse inserts (a batch written again after an "
     "error counts again)."},
    {"written_bytes_total",
     "Bytes of keys and documents streamed into ClickHouse inserts."},
    {"insert_requests_total", "INSERT requests ClickHouse answered as done."},
};

static sluice_status ch_describe_metrics(sluice_context *ctx,
                                         sluice_error *err)
{
    if (!SLUICE_HOST_HAS(ch_host, metric_describe))
        return SLUICE_OK;
    for (size_t i = 0; i < sizeof ch_metrics / sizeof *ch_metrics; i++) {
        sluice_status st = ch_host->metric_describe(ctx, ch_metrics[i].name,
                                                    SLUICE_METRIC_COUNTER,
                                                    ch_metrics[i].help, err);
        if (st != SLUICE_OK)
            return st;
    }
    return SLUICE_OK;
}

static sluice_status ch_open(sluice_context *ctx, const void *config,
                             void **instance, sluice_error *err)
{
    const struct ch_config *cfg = config;
    sluice_status described = ch_describe_metrics(ctx, err);
    if (described != SLUICE_OK)
        return described;
    struct ch_sink *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: out of memory");
    sluice_status st = ch_url_parse(cfg->url, &s->url, err);
    if (st == SLUICE_OK)
        st = ch_fields_parse(cfg, &s->fields, err);
    if (st == SLUICE_OK && !(s->curl = curl_easy_init()))
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    if (st != SLUICE_OK) {
        ch_fields_free(&s->fields);
        ch_url_free(&s->url);
        free(s);
        return st;
    }
    s->ctx = ctx;
    s->cfg = cfg;
    /* an option given wins over the URL's userinfo; `user` left at its
     * default (as pipes registered before URLs carried users have it
     * stored) gives way */
    s->user = strcmp(cfg->user, "default") != 0 ? cfg->user
              : s->url.user                     ? s->url.user
                                                : "default";
    s->password = cfg->password     ? cfg->password
                  : s->url.password ? s->url.password
                                    : "";
    *instance = s;
    return SLUICE_OK;
}

static void ch_close(void *instance)
{
    struct ch_sink *s = instance;
    if (!s)
        return;
    for (size_t i = 0; i < s->dest_count; i++)
        free(s->dests[i].table);
    free(s->dests);
    ch_resync_clear(s);
    ch_forget_repeats(s);
    ch_streams_abort(s); /* not flushed: the core replays their batches */
    free(s->streams);
    ch_ahead_free(s);
    ch_shapes_free(s);
    ch_fields_free(&s->fields);
    curl_multi_cleanup(s->multi);
    curl_easy_cleanup(s->curl);
    ch_url_free(&s->url);
    free(s);
}

/* The server answers version() with a ClickHouse version. */
static sluice_status ch_ping(void *instance, sluice_error *err)
{
    struct ch_sink *s = instance;
    struct ch_buf answer = {0};
    sluice_status st = ch_request(s, "SELECT version()", &answer, err);
    if (st == SLUICE_OK &&
        !(answer.data && answer.data[0] >= '1' && answer.data[0] <= '9'))
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: the server at %s answered "
                         "version() with '%.40s', not a ClickHouse version",
                         s->url.shown, answer.data ? answer.data : "");
    free(answer.data);
    /* the tables whose typed columns are configured: one whose setup
     * would be refused (a changed type, say) is said now */
    return st == SLUICE_OK ? ch_check_tables(s, err) : st;
}

static sluice_status ch_setup(void *instance, const char *table,
                              sluice_error *err)
{
    sluice_status st = ch_streams_finish(instance, err);
    return st == SLUICE_OK ? ch_setup_table(instance, table, NULL, err) : st;
}

/* The rows go into the open inserts of their tables (stream.c). */
static sluice_status ch_write(void *instance, const sluice_batch *batch,
                              sluice_error *err)
{
    struct ch_sink *s = instance;
    sluice_status st = ch_connect(s, err);
    if (st == SLUICE_OK)
        st = ch_stream_batch(s, batch, err);
    if (st == SLUICE_OK) {
        ch_host->counter_add(s->ctx, "rows_written_total",
                             ch_host->batch_count(batch));
        ch_host->counter_add(s->ctx, "written_bytes_total",
                             ch_host->batch_bytes(batch));
    }
    return st;
}

/* Rows are stored when the server answers their insert: the open ones end
 * here. */
static sluice_status ch_flush(void *instance, sluice_error *err)
{
    return ch_streams_finish(instance, err);
}

static sluice_status ch_resync_begin(void *instance, const char *table,
                                     sluice_error *err)
{
    struct ch_sink *s = instance;
    sluice_status st = ch_streams_finish(s, err);
    if (st == SLUICE_OK)
        st = ch_setup_table(s, table, CH_SHADOW, err);
    return st == SLUICE_OK ? ch_resync_mark(s, table, err) : st;
}

static sluice_status ch_resync_swap(void *instance, const char *table,
                                    sluice_error *err)
{
    struct ch_sink *s = instance;
    sluice_status st = ch_streams_finish(s, err);
    if (st == SLUICE_OK)
        st = ch_swap(s, table, err);
    if (st == SLUICE_OK)
        ch_resync_unmark(s, table);
    return st;
}

static sluice_status ch_resync_abort(void *instance, const char *table,
                                     sluice_error *err)
{
    struct ch_sink *s = instance;
    sluice_status st = ch_streams_finish(s, err);
    if (st == SLUICE_OK)
        st = ch_drop(s, table, CH_SHADOW, err);
    if (st == SLUICE_OK)
        ch_resync_unmark(s, table);
    return st;
}

/* The table and its owner go. */
static sluice_status ch_drop_table(void *instance, const char *table,
                                   sluice_error *err)
{
    sluice_status st = ch_streams_finish(instance, err);
    if (st == SLUICE_OK)
        st = ch_drop(instance, table, NULL, err);
    return st == SLUICE_OK ? ch_release(instance, table, err) : st;
}

static const sluice_sink_info sink_clickhouse = {
    .size = sizeof(sluice_sink_info),
    .name = "sink_clickhouse",
    .description = "Writes to ClickHouse over HTTP: one ReplacingMergeTree "
                   "table per source table, with atomic resync swaps.",
    .capabilities = SLUICE_SINK_RESYNC | SLUICE_SINK_DROP,
    SLUICE_OPTION_TABLE(options),
    .config_size = sizeof(struct ch_config),
    .open = ch_open,
    .close = ch_close,
    .setup_table = ch_setup,
    .write = ch_write,
    .flush = ch_flush,
    .resync_begin = ch_resync_begin,
    .resync_swap = ch_resync_swap,
    .resync_abort = ch_resync_abort,
    .drop_table = ch_drop_table,
    .ping = ch_ping,
    .destination = ch_destination,
    .claim = ch_claim,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    ch_host = api;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: libcurl failed to initialize");
    return api->register_sink(reg, &sink_clickhouse, sizeof sink_clickhouse,
                              err);
}

static void fini(void)
{
    curl_global_cleanup();
}

SLUICE_MODULE("sink_clickhouse", SLUICE_VERSION, "Apache-2.0",
              "ClickHouse sink over HTTP", init, fini)
