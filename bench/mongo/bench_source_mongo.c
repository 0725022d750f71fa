/* bench_source_mongo.c URI DB COLL THREADS [DOC_FORMAT]: source_mongo's
 * snapshot of a collection, as the runtime drives it: the collection
 * split into partitions, read by THREADS instances at once
 * (snapshot_parallelism), each batch of up to 100k records
 * (pull_batch_size) built through the host API, doc in DOC_FORMAT (the
 * source's doc_format; its default when not given). Prints documents/s.
 * Compare with bench_mongo's find + JSON loop, run beside it by
 * bench/run.sh. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options/options.h"
#include "plugin/batch.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "plugin/values.h"
#include "util/clock.h"
#include "util/mem.h"

static const struct plugin *p;
static const char *uri, *db, *coll, *doc_format;
static struct sluice_values parts;
static size_t next_part;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total;

static void *open_instance(void **data)
{
    *data = xcalloc(1, p->config_size);
    struct option_source src = {"bench", "source", NULL, 0};
    struct diags d = {0};
    options_apply(p->options, p->option_count, &src, *data, &d);
    struct error err;
    for (size_t i = 0; i < p->option_count; i++) {
        if (!strcmp(p->options[i].name, "uri"))
            option_parse(&p->options[i], uri, *data, &err);
        if (!strcmp(p->options[i].name, "database"))
            option_parse(&p->options[i], db, *data, &err);
        if (!strcmp(p->options[i].name, "partition_size"))
            option_parse(&p->options[i], "50000", *data, &err);
        if (!strcmp(p->options[i].name, "doc_format") && doc_format &&
            option_parse(&p->options[i], doc_format, *data, &err) != 0) {
            fprintf(stderr, "bench_source_mongo: %s\n", err.message);
            exit(2);
        }
    }
    diags_free(&d);
    char msg[512] = "";
    sluice_error e = {msg, sizeof msg};
    void *inst = NULL;
    if (p->info.source.open(NULL, *data, &inst, &e) != SLUICE_OK) {
        fprintf(stderr, "bench_source_mongo: %s\n", msg);
        exit(1);
    }
    return inst;
}

static void *reader(void *arg)
{
    (void)arg;
    void *data;
    void *inst = open_instance(&data);
    struct sluice_batch b;
    batch_init(&b, 100000, 64 << 20);
    char msg[512] = "";
    sluice_error e = {msg, sizeof msg};
    for (;;) {
        pthread_mutex_lock(&lock);
        size_t i = next_part++;
        pthread_mutex_unlock(&lock);
        if (i >= parts.count)
            break;
        char *pos = xstrndup(parts.items[i], parts.lens[i]);
        size_t len = parts.lens[i];
        for (;;) {
            batch_reset(&b);
            sluice_status st =
                p->info.source.snapshot_next(inst, coll, pos, len, &b, &e);
            if (st != SLUICE_OK && st != SLUICE_DONE) {
                fprintf(stderr, "bench_source_mongo: %s\n", msg);
                exit(1);
            }
            pthread_mutex_lock(&lock);
            total += b.count;
            pthread_mutex_unlock(&lock);
            free(pos);
            pos = xstrndup(b.position.data, b.position.len);
            len = b.position.len;
            if (st == SLUICE_DONE)
                break;
        }
        free(pos);
    }
    batch_free(&b);
    p->info.source.close(inst);
    options_free(p->options, p->option_count, data);
    free(data);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(
            stderr,
            "usage: bench_source_mongo URI DB COLL THREADS [DOC_FORMAT]\n");
        return 2;
    }
    doc_format = argc == 6 ? argv[5] : NULL;
    uri = argv[1];
    db = argv[2];
    coll = argv[3];
    int threads = atoi(argv[4]);
    struct registry reg;
    registry_init(&reg);
    size_t ndirs;
    char **dirs = plugin_search_path(NULL, 0, &ndirs);
    registry_scan(&reg, (const char *const *)dirs, ndirs);
    p = registry_find(&reg, "source_mongo");
    if (!p) {
        fprintf(stderr,
                "bench_source_mongo: no source_mongo on SLUICE_PLUGIN_PATH\n");
        return 1;
    }
    void *data;
    void *inst = open_instance(&data);
    char msg[512] = "";
    sluice_error e = {msg, sizeof msg};
    int64_t start = clock_monotonic_ms();
    struct sluice_values begin = {0};
    if (p->info.source.snapshot_begin(inst, &begin, &e) != SLUICE_OK ||
        p->info.source.snapshot_partitions(inst, coll, &parts, &e) !=
            SLUICE_OK) {
        fprintf(stderr, "bench_source_mongo: %s\n", msg);
        return 1;
    }
    pthread_t t[64];
    for (int i = 0; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (int i = 0; i < threads && i < 64; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(clock_monotonic_ms() - start) / 1000.0;
    printf("source_mongo_snapshot_docs %llu in %zu partitions, %d threads\n",
           (unsigned long long)total, parts.count, threads);
    printf("source_mongo_snapshot_docs_per_s %.0f\n", (double)total / secs);
    values_free(&begin);
    values_free(&parts);
    p->info.source.close(inst);
    options_free(p->options, p->option_count, data);
    free(data);
    for (size_t i = 0; i < ndirs; i++)
        free(dirs[i]);
    free(dirs);
    registry_free(&reg);
    return 0;
}
