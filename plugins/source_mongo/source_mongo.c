/* source_mongo.c: the MongoDB source plugin (libmongoc). It owns the
 * descriptor, the option table and the connection settings; the snapshot
 * and change-stream readers are added with their capabilities.
 *
 * Never logs the URI unredacted: it may carry a password. */
#include <mongoc/mongoc.h>
#include <sluice/sluice.h>
#include <stdlib.h>
#include <string.h>

static const sluice_host_api *host;

enum full_document { FULL_DOCUMENT_UPDATE_LOOKUP, FULL_DOCUMENT_WHEN_AVAILABLE,
                     FULL_DOCUMENT_REQUIRED };
static const char *const full_document_names[] = {
    "updateLookup", "whenAvailable", "required", NULL};

enum read_preference { READ_PRIMARY, READ_PRIMARY_PREFERRED, READ_SECONDARY,
                       READ_SECONDARY_PREFERRED, READ_NEAREST };
static const char *const read_preference_names[] = {
    "primary", "primaryPreferred", "secondary", "secondaryPreferred",
    "nearest", NULL};

struct mongo_config {
    const char *uri;
    const char *database;
    sluice_string_list collections;
    int full_document;
    int64_t snapshot_parallelism;
    int64_t collections_in_parallel;
    int64_t partition_size;
    int64_t batch_size;
    int read_preference;
    int64_t max_await_ms;
};

#define FIELD(f) offsetof(struct mongo_config, f)

static const sluice_option options[] = {
    {.type = SLUICE_OPTION_STRING, .name = "uri",
     .flags = SLUICE_OPTION_REQUIRED | SLUICE_OPTION_URL, .offset = FIELD(uri),
     .description = "MongoDB connection string of a replica set or sharded "
                    "cluster (change streams need one), e.g. "
                    "mongodb://host:27017/?replicaSet=rs0. A password in it "
                    "is never printed."},
    {.type = SLUICE_OPTION_STRING, .name = "database",
     .flags = SLUICE_OPTION_REQUIRED, .offset = FIELD(database),
     .description = "The database whose collections are captured."},
    {.type = SLUICE_OPTION_LIST, .name = "collections",
     .flags = SLUICE_OPTION_TABLES, .offset = FIELD(collections),
     .description = "Collections to capture, comma-separated; by default "
                    "every collection of the database but system.*."},
    {.type = SLUICE_OPTION_ENUM, .name = "full_document",
     .default_value = "updateLookup", .offset = FIELD(full_document),
     .allowed = full_document_names,
     .description = "How an update's whole document is obtained: "
                    "updateLookup reads the current document; whenAvailable "
                    "and required use post-images (MongoDB 6.0+), required "
                    "failing when there is none."},
    {.type = SLUICE_OPTION_INT, .name = "snapshot_parallelism",
     .default_value = "4", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(snapshot_parallelism), .min = 1, .max = 64,
     .description = "Partitions of one collection read at the same time "
                    "during a snapshot."},
    {.type = SLUICE_OPTION_INT, .name = "collections_in_parallel",
     .default_value = "2", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(collections_in_parallel), .min = 1, .max = 64,
     .description = "Collections snapshotted at the same time."},
    {.type = SLUICE_OPTION_INT, .name = "partition_size",
     .default_value = "500000", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(partition_size), .min = 1000, .max = 1000000000,
     .description = "Documents per snapshot partition (by estimate): a "
                    "collection is split by _id into about count / "
                    "partition_size ranges."},
    {.type = SLUICE_OPTION_INT, .name = "batch_size", .default_value = "1000",
     .flags = SLUICE_OPTION_RANGE, .offset = FIELD(batch_size), .min = 1,
     .max = 100000,
     .description = "Documents per cursor batch asked of the server."},
    {.type = SLUICE_OPTION_ENUM, .name = "read_preference",
     .default_value = "primary", .offset = FIELD(read_preference),
     .allowed = read_preference_names,
     .description = "Which members the snapshot reads from."},
    {.type = SLUICE_OPTION_DURATION, .name = "max_await_time",
     .default_value = "1s", .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(max_await_ms), .min = 10, .max = 60000,
     .description = "How long the server holds a change-stream getMore "
                    "open waiting for changes."},
    {0},
};

struct mongo_source {
    sluice_context *ctx;
    const struct mongo_config *config;
    mongoc_uri_t *uri;
};

static sluice_status mongo_open(sluice_context *ctx, const void *config,
                                void **instance, sluice_error *err)
{
    const struct mongo_config *cfg = config;
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->uri, &error);
    if (!uri)
        return sluice_fail(err, SLUICE_FATAL, "source_mongo: uri: %s",
                           error.message);
    struct mongo_source *src = calloc(1, sizeof *src);
    if (!src) {
        mongoc_uri_destroy(uri);
        return sluice_fail(err, SLUICE_FATAL, "source_mongo: out of memory");
    }
    src->ctx = ctx;
    src->config = cfg;
    src->uri = uri;
    *instance = src;
    return SLUICE_OK;
}

static void mongo_close(void *instance)
{
    struct mongo_source *src = instance;
    if (!src)
        return;
    mongoc_uri_destroy(src->uri);
    free(src);
}

static sluice_status mongo_list_tables(void *instance, sluice_values *tables,
                                       sluice_error *err)
{
    struct mongo_source *src = instance;
    const sluice_string_list *c = &src->config->collections;
    for (size_t i = 0; i < c->count; i++) {
        sluice_status st =
            host->values_add(tables, c->items[i], strlen(c->items[i]), err);
        if (st != SLUICE_OK)
            return st;
    }
    return SLUICE_OK;
}

static const sluice_source_info source_mongo = {
    .size = sizeof(sluice_source_info),
    .name = "source_mongo",
    .description = "Reads MongoDB collections: a parallel snapshot, then "
                   "change streams.",
    .capabilities = 0,
    SLUICE_OPTION_TABLE(options),
    .config_size = sizeof(struct mongo_config),
    .open = mongo_open,
    .close = mongo_close,
    .list_tables = mongo_list_tables,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    mongoc_init();
    return host->register_source(reg, &source_mongo, sizeof source_mongo, err);
}

static void fini(void)
{
    mongoc_cleanup();
}

SLUICE_MODULE("source_mongo", SLUICE_VERSION, "Apache-2.0",
              "MongoDB source: snapshot and change streams", init, fini)
