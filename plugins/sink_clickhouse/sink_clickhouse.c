/* sink_clickhouse.c: the ClickHouse sink plugin (libcurl, HTTP interface).
 * It owns the descriptor, the option table and the connection settings;
 * table setup, writes and the resync swap are added with their
 * capabilities.
 *
 * Never logs the password or a URL with credentials in it. */
#include <curl/curl.h>
#include <sluice/sluice.h>
#include <stdlib.h>
#include <string.h>

static const sluice_host_api *host;

enum compression { COMPRESSION_NONE, COMPRESSION_GZIP };
static const char *const compression_names[] = {"none", "gzip", NULL};

enum format { FORMAT_ROWBINARY, FORMAT_JSONEACHROW };
static const char *const format_names[] = {"RowBinary", "JSONEachRow", NULL};

struct clickhouse_config {
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

#define FIELD(f) offsetof(struct clickhouse_config, f)

static const sluice_option options[] = {
    {.type = SLUICE_OPTION_STRING, .name = "url",
     .default_value = "http://127.0.0.1:8123", .flags = SLUICE_OPTION_URL,
     .offset = FIELD(url),
     .description = "The server's HTTP interface: http:// or https://, host "
                    "and port."},
    {.type = SLUICE_OPTION_STRING, .name = "database",
     .flags = SLUICE_OPTION_REQUIRED, .offset = FIELD(database),
     .description = "The database of the destination tables; created when "
                    "missing."},
    {.type = SLUICE_OPTION_STRING, .name = "user", .default_value = "default",
     .offset = FIELD(user), .description = "The user to connect as."},
    {.type = SLUICE_OPTION_STRING, .name = "password", .default_value = "",
     .flags = SLUICE_OPTION_SECRET, .offset = FIELD(password),
     .description = "The user's password."},
    {.type = SLUICE_OPTION_STRING, .name = "table_prefix", .default_value = "",
     .offset = FIELD(table_prefix),
     .description = "Put before each collection's name to name its table."},
    {.type = SLUICE_OPTION_STRING, .name = "table_suffix", .default_value = "",
     .offset = FIELD(table_suffix),
     .description = "Put after each collection's name to name its table."},
    {.type = SLUICE_OPTION_DURATION, .name = "connect_timeout",
     .default_value = "10s", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(connect_timeout_ms), .min = 100, .max = 300000,
     .description = "How long to wait for a connection to the server."},
    {.type = SLUICE_OPTION_DURATION, .name = "request_timeout",
     .default_value = "5m", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(request_timeout_ms), .min = 1000, .max = 3600000,
     .description = "How long one request (an insert, a DDL statement) may "
                    "take before it is retried."},
    {.type = SLUICE_OPTION_SIZE, .name = "max_batch_bytes",
     .default_value = "64MiB", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(max_batch_bytes), .min = 64 * 1024,
     .max = 1024 * 1024 * 1024,
     .description = "Largest body of one insert request; larger batches "
                    "are split."},
    {.type = SLUICE_OPTION_ENUM, .name = "compression", .default_value = "none",
     .offset = FIELD(compression), .allowed = compression_names,
     .description = "Compression of insert bodies."},
    {.type = SLUICE_OPTION_ENUM, .name = "format", .default_value = "RowBinary",
     .offset = FIELD(format), .allowed = format_names,
     .description = "Insert format: RowBinary; JSONEachRow only for "
                    "debugging."},
    {.type = SLUICE_OPTION_STRING, .name = "tls_ca_file",
     .offset = FIELD(tls_ca_file),
     .description = "CA certificates (PEM) to verify an https server "
                    "with; by default the system's."},
    {.type = SLUICE_OPTION_BOOL, .name = "tls_verify", .default_value = "true",
     .offset = FIELD(tls_verify),
     .description = "Verify the https server's certificate and host name."},
    {0},
};

struct clickhouse_sink {
    sluice_context *ctx;
    const struct clickhouse_config *config;
};

/* Only http and https, with a host. */
static sluice_status check_url(const char *url, sluice_error *err)
{
    CURLU *u = curl_url();
    if (!u)
        return sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    char *scheme = NULL;
    sluice_status st = SLUICE_OK;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: url: not a valid URL");
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        st = sluice_fail(err, SLUICE_FATAL,
                         "sink_clickhouse: url: scheme '%s' is not http or "
                         "https",
                         scheme);
    curl_free(scheme);
    curl_url_cleanup(u);
    return st;
}

static sluice_status clickhouse_open(sluice_context *ctx, const void *config,
                                     void **instance, sluice_error *err)
{
    const struct clickhouse_config *cfg = config;
    sluice_status st = check_url(cfg->url, err);
    if (st != SLUICE_OK)
        return st;
    struct clickhouse_sink *sink = calloc(1, sizeof *sink);
    if (!sink)
        return sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    sink->ctx = ctx;
    sink->config = cfg;
    *instance = sink;
    return SLUICE_OK;
}

static void clickhouse_close(void *instance)
{
    free(instance);
}

static sluice_status clickhouse_unavailable(void *instance, sluice_error *err)
{
    (void)instance;
    return sluice_fail(err, SLUICE_FATAL,
                       "sink_clickhouse: this build cannot write yet");
}

static sluice_status clickhouse_setup_table(void *instance, const char *table,
                                            sluice_error *err)
{
    (void)table;
    return clickhouse_unavailable(instance, err);
}

static sluice_status clickhouse_write(void *instance,
                                      const sluice_batch *batch,
                                      sluice_error *err)
{
    (void)batch;
    return clickhouse_unavailable(instance, err);
}

static const sluice_sink_info sink_clickhouse = {
    .size = sizeof(sluice_sink_info),
    .name = "sink_clickhouse",
    .description = "Writes to ClickHouse over HTTP: one ReplacingMergeTree "
                   "table per source table, with atomic resync swaps.",
    .capabilities = 0,
    SLUICE_OPTION_TABLE(options),
    .config_size = sizeof(struct clickhouse_config),
    .open = clickhouse_open,
    .close = clickhouse_close,
    .setup_table = clickhouse_setup_table,
    .write = clickhouse_write,
    .flush = clickhouse_unavailable,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return sluice_fail(err, SLUICE_FATAL,
                           "sink_clickhouse: libcurl failed to initialize");
    return host->register_sink(reg, &sink_clickhouse, sizeof sink_clickhouse,
                               err);
}

static void fini(void)
{
    curl_global_cleanup();
}

SLUICE_MODULE("sink_clickhouse", SLUICE_VERSION, "Apache-2.0",
              "ClickHouse sink over HTTP", init, fini)
