/* source_mongo.c: the MongoDB source plugin: its descriptor, option table,
 * connection and table listing. The snapshot is in snapshot.c, change
 * streams in cdc.c, JSON in json.c, keys and versions in convert.c
 * (malformed.c for text that is not valid UTF-8), connections in
 * clients.c, errors in errors.c.
 *
 * Never logs the URI: it may carry a password. */
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

static const char *const uri_schemes[] = {"mongodb", "mongodb+srv", NULL};
static const char *const full_document_names[] = {"updateLookup",
                                                  "whenAvailable", "required",
                                                  NULL};
static const char *const id_format_names[] = {"natural", "extended", NULL};
static const char *const doc_format_names[] = {"clickpipes", "relaxed",
                                               "canonical", NULL};
static const char *const read_preference_names[] = {"primary",
                                                    "primaryPreferred",
                                                    "secondary",
                                                    "secondaryPreferred",
                                                    "nearest",
                                                    NULL};

#define FIELD(f) offsetof(struct mg_config, f)

static const sluice_option options[] = {
    {.type = SLUICE_OPTION_STRING,
     .name = "uri",
     .flags = SLUICE_OPTION_REQUIRED | SLUICE_OPTION_URL,
     .offset = FIELD(uri),
     .allowed = uri_schemes,
     .description = "MongoDB connection string of a replica set or sharded "
                    "cluster (change streams need one), e.g. "
                    "mongodb://host:27017/?replicaSet=rs0. A password in it "
                    "is never printed. The pipes of a process share one "
                    "connection pool per uri; serverSelectionTimeoutMS is "
                    "5000 unless the uri sets it."},
    {.type = SLUICE_OPTION_STRING,
     .name = "database",
     .flags = SLUICE_OPTION_REQUIRED,
     .offset = FIELD(database),
     .description = "The database whose collections are captured."},
    {.type = SLUICE_OPTION_LIST,
     .name = "collections",
     .flags = SLUICE_OPTION_TABLES,
     .offset = FIELD(collections),
     .description = "Collections to capture, comma-separated; by default "
                    "every collection of the database but system.*."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "full_document",
     .default_value = "updateLookup",
     .offset = FIELD(full_document),
     .allowed = full_document_names,
     .description = "How an update's whole document is obtained: "
                    "updateLookup reads the current document; whenAvailable "
                    "and required use post-images (MongoDB 6.0+), required "
                    "failing when there is none."},
    {.type = SLUICE_OPTION_INT,
     .name = "partition_size",
     .default_value = "500000",
     .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(partition_size),
     .min = 1000,
     .max = 1000000000,
     .description = "Documents per snapshot partition (by estimate): a "
                    "collection is split by _id into about count / "
                    "partition_size ranges."},
    {.type = SLUICE_OPTION_INT,
     .name = "batch_size",
     .default_value = "1000",
     .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(batch_size),
     .min = 1,
     .max = 100000,
     .description = "Documents per cursor batch asked of the server."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "read_preference",
     .default_value = "primary",
     .offset = FIELD(read_preference),
     .allowed = read_preference_names,
     .description = "Which members the snapshot reads from."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "max_await_time",
     .default_value = "200ms",
     .flags = SLUICE_OPTION_RANGE,
     .offset = FIELD(max_await_ms),
     .min = 10,
     .max = 60000,
     .description = "How long the server holds a change-stream getMore "
                    "open waiting for changes; when changes stop, a "
                    "batch is cut up to this much after sync_interval."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "id_format",
     .default_value = "natural",
     .flags = SLUICE_OPTION_FORM,
     .offset = FIELD(id_format),
     .allowed = id_format_names,
     .description = "How a document's _id is written as the destination's "
                    "key: natural, an ObjectId as its 24 hex digits, a "
                    "string as itself, any other value as compact canonical "
                    "extended JSON ({\"$numberInt\":\"42\"}); extended, "
                    "every _id as compact canonical extended JSON, for a "
                    "collection whose string ids could equal another id's "
                    "natural form (docs/mongo.md)."},
    {.type = SLUICE_OPTION_ENUM,
     .name = "doc_format",
     .default_value = "clickpipes",
     .flags = SLUICE_OPTION_FORM,
     .offset = FIELD(doc_format),
     .allowed = doc_format_names,
     .description = "The JSON of each document (doc), compact: clickpipes "
                    "is plain JSON with ClickPipes' type mapping (ObjectId "
                    "as hex, dates as ISO 8601 strings, numbers as "
                    "numbers); relaxed and canonical are MongoDB's "
                    "extended JSON, which keeps every type. The table of "
                    "types is in docs/mongo.md."},
    {0},
};

static sluice_status mongo_open(sluice_context *ctx, const void *config,
                                void **instance, sluice_error *err)
{
    const struct mg_config *cfg = config;
    if (SLUICE_HOST_HAS(mg_host, metric_describe)) {
        sluice_status st = mg_host->metric_describe(
            ctx, "documents_malformed_total", SLUICE_METRIC_COUNTER,
            "Documents with text that is not valid UTF-8, written with "
            "U+FFFD in its place and the original bytes in _sluice_malformed.",
            err);
        if (st != SLUICE_OK)
            return st;
    }
    struct mg_source *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_fail(err, SLUICE_FATAL, "source_mongo: out of memory");
    sluice_status st = mg_client_take(cfg->uri, &s->pool, &s->client, err);
    if (st != SLUICE_OK) {
        free(s);
        return st;
    }
    s->ctx = ctx;
    s->cfg = cfg;
    s->db = mongoc_client_get_database(s->client, cfg->database);
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
    mg_client_give(s->pool, s->client);
    free(s);
}

/* The deployment answers hello as a replica set or a sharded cluster:
 * change streams need one. */
static sluice_status mongo_ping(void *instance, sluice_error *err)
{
    struct mg_source *s = instance;
    bson_t reply;
    sluice_status st = mg_admin(s, "hello", &reply, "connecting", err);
    if (st != SLUICE_OK)
        return st;
    bson_iter_t it;
    bool set = bson_iter_init_find(&it, &reply, "setName");
    bool mongos = bson_iter_init_find(&it, &reply, "msg") &&
                  BSON_ITER_HOLDS_UTF8(&it) &&
                  !strcmp(bson_iter_utf8(&it, NULL), "isdbgrid");
    bson_destroy(&reply);
    if (!set && !mongos)
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: the uri names a standalone server; "
                           "change streams need a replica set or a sharded "
                           "cluster");
    return SLUICE_OK;
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
    char **names =
        mongoc_database_get_collection_names_with_opts(s->db, opts, &e);
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
    .ping = mongo_ping,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    mg_host = api;
    mongoc_init();
    mg_clients_init();
    return api->register_source(reg, &source_mongo, sizeof source_mongo, err);
}

static void fini(void)
{
    mg_malformed_cleanup();
    mongoc_cleanup();
}

SLUICE_MODULE("source_mongo", SLUICE_VERSION, "Apache-2.0",
              "MongoDB source: snapshot and change streams", init, fini)
