/* bench_mongo.c URI DB COLL: reads a whole collection with plain libmongoc
 * find loops, twice: raw (iterate the documents only) and as the baseline
 * of source_mongo (each document converted to relaxed extended JSON).
 * With the test server, the raw loop shows how fast the server serves:
 * when it beats the converting loop, the server is not what a consumer
 * waits on. Prints docs/s of each and their ratio. */
#include <mongoc/mongoc.h>
#include <stdio.h>

static double loop(mongoc_collection_t *coll, bool convert, int64_t *count)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(1000));
    int64_t start = bson_get_monotonic_time();
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    size_t bytes = 0;
    *count = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        if (convert) {
            size_t len;
            char *json = bson_as_relaxed_extended_json(doc, &len);
            bytes += len;
            bson_free(json);
        } else {
            bytes += doc->len;
        }
        (*count)++;
    }
    bson_error_t e;
    if (mongoc_cursor_error(cur, &e)) {
        fprintf(stderr, "bench_mongo: %s\n", e.message);
        exit(1);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    double secs = (double)(bson_get_monotonic_time() - start) / 1e6;
    return bytes ? (double)*count / secs : 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_mongo URI DB COLL\n");
        return 2;
    }
    mongoc_init();
    mongoc_client_t *client = mongoc_client_new(argv[1]);
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, argv[2], argv[3]);
    int64_t raw_n, json_n;
    double raw = loop(coll, false, &raw_n);
    double json = loop(coll, true, &json_n);
    printf("documents %lld\n", (long long)raw_n);
    printf("raw_find_loop_docs_per_s %.0f\n", raw);
    printf("find_and_relaxed_json_docs_per_s %.0f\n", json);
    printf("server_headroom_raw_vs_json %.2f\n", raw / json);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_cleanup();
    return 0;
}
