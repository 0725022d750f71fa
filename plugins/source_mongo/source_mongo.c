/* source_mongo.c: the MongoDB source plugin: its descriptor, option table,
 * connection and table listing. The snapshot is in snapshot.c, change
 * streams in cdc.c, JSON and errors in convert.c.
 *
 * Never logs the URI: it may carry a password. */
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

const sluice_host_api *mg_host;

static const char *const full_document_names[] = {
    "updateLookup", "whenAvailable", "required", NULL};
static const char *const read_preference_names[] = {
    "primary", "primaryPreferred", "secondary", "secondaryPreferred",
    "nearest", NULL};

#define FIELD(f) offsetof(struct mg_config, f)

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

static sluice_status mongo_open(sluice_context *ctx, const void *config,
                                void **instance, sluice_error *err)
{
    const struct mg_config *cfg = config;
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->uri, &error);
    if (!uri)
        return sluice_fail(err, SLUICE_FATAL, "source_mongo: uri: %s",
                           error.message);
    mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_APPNAME, "sluice");
    mongoc_client_t *client = mongoc_client_new_from_uri_with_error(uri, &error);
    mongoc_uri_destroy(uri);
    if (!client)
        return sluice_fail(err, SLUICE_FATAL, "source_mongo: uri: %s",
                           error.message);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    struct mg_source *s = calloc(1, sizeof *s);
    if (!s) {
        mongoc_client_destroy(client);
        return sluice_fail(err, SLUICE_FATAL, "source_mongo: out of memory");
    }
    s->ctx = ctx;
    s->cfg = cfg;
    s->client = client;
    s->db = mongoc_client_get_database(client, cfg->database);
    *instance = s;
    return SLUICE_OK;
}

static void mongo_close(void *instance)
{
    struct mg_source *s = instance;
    if (!s)
        return;
    mg_snapshot_close(s);
    mg_cdc_close(s);
    for (size_t i = 0; i < s->table_count; i++)
        free(s->tables[i]);
    free(s->tables);
    if (s->cdc_position)
        bson_destroy(s->cdc_position);
    mongoc_database_destroy(s->db);
    mongoc_client_destroy(s->client);
    free(s);
}

/* The configured collections, or every collection but system.* ones. */
static sluice_status mongo_list_tables(void *instance, sluice_values *tables,
                                       sluice_error *err)
{
    struct mg_source *s = instance;
    const sluice_string_list *c = &s->cfg->collections;
    for (size_t i = 0; i < c->count; i++) {
        sluice_status st =
            mg_host->values_add(tables, c->items[i], strlen(c->items[i]), err);
        if (st != SLUICE_OK)
            return st;
    }
    if (c->count)
        return SLUICE_OK;
    bson_error_t e;
    bson_t *opts = BCON_NEW("filter", "{", "type", "collection", "}");
    char **names = mongoc_database_get_collection_names_with_opts(s->db, opts, &e);
    bson_destroy(opts);
    if (!names)
        return mg_fail(&e, "listing collections", err);
    sluice_status st = SLUICE_OK;
    for (char **n = names; *n && st == SLUICE_OK; n++)
        if (strncmp(*n, "system.", 7) != 0)
            st = mg_host->values_add(tables, *n, strlen(*n), err);
    bson_strfreev(names);
    return st;
}

static const sluice_source_info source_mongo = {
    .size = sizeof(sluice_source_info),
    .name = "source_mongo",
    .description = "Reads MongoDB collections: a parallel snapshot, then "
                   "change streams.",
    .capabilities = SLUICE_SOURCE_SNAPSHOT | SLUICE_SOURCE_CDC,
    SLUICE_OPTION_TABLE(options),
    .config_size = sizeof(struct mg_config),
    .open = mongo_open,
    .close = mongo_close,
    .list_tables = mongo_list_tables,
    .snapshot_begin = mg_snapshot_begin,
    .snapshot_partitions = mg_snapshot_partitions,
    .snapshot_next = mg_snapshot_next,
    .estimate_rows = mg_estimate_rows,
    .cdc_start = mg_cdc_start,
    .cdc_poll = mg_cdc_poll,
    .cdc_ack = mg_cdc_ack,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    mg_host = api;
    mongoc_init();
    return api->register_source(reg, &source_mongo, sizeof source_mongo, err);
}

static void fini(void)
{
    mongoc_cleanup();
}

SLUICE_MODULE("source_mongo", SLUICE_VERSION, "Apache-2.0",
              "MongoDB source: snapshot and change streams", init, fini)
