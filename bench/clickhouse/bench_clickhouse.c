/* bench_clickhouse.c URL [ROWS]: sink_clickhouse writing ROWS documents of
 * about 1 KiB (in batches of 100k, the default pull_batch_size), beside
 * the direct loads of the same rows by curl from RowBinary files into the
 * HTTP interface: all in one request, and in files of 100k rows streamed
 * one request after another (ClickHouse's own advice). Each is timed
 * until its rows are visible: the sink until its flush returns, curl until
 * ClickHouse answers 200; each starts once the server merges nothing. Prints
 * rows/s of each and, last, the sink's rows/s over those of the faster direct
 * load. A benchmark reports; it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options/options.h"
#include "plugin/batch.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "util/clock.h"
#include "util/mem.h"

#define BATCH 100000

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "bench_clickhouse: %s: %s\n", what, why);
    exit(1);
}

/* Row i: the key, and a document of about 1 KiB. */
static int make_doc(size_t i, char *key, char *doc, size_t size)
{
    snprintf(key, 32, "%zu", i);
    return snprintf(doc, size,
                    "{\"_id\":%zu,\"customer\":\"customer-%zu\",\"status\":"
                    "\"paid\",\"total\":%zu.25,\"lines\":\"%0900zu\"}",
                    i, i % 9973, i % 100000, i);
}

static void put_varint(FILE *f, size_t v)
{
    do {
        unsigned char b = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b |= 0x80;
        fputc(b, f);
    } while (v);
}

static void put_le(FILE *f, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        fputc((int)((v >> (8 * i)) & 0xff), f);
}

/* put_row: row i as RowBinary, in the sink's columns and order */
static void put_row(FILE *f, size_t i, int64_t now)
{
    char key[32], doc[1200];
    int n = make_doc(i, key, doc, sizeof doc);
    put_varint(f, strlen(key));
    fputs(key, f);
    put_varint(f, (size_t)n);
    fwrite(doc, 1, (size_t)n, f);
    put_le(f, 1, 8);
    put_le(f, 0, 1);
    put_le(f, (uint64_t)now, 4);
}

/* quiet: waits (at most 2 minutes) until the server merges nothing, twice
 * in a row, so that a load does not pay for the merges of the one before */
static void quiet(const char *url)
{
    char *cmd = xasprintf("curl -sS '%s/' --data-binary "
                          "'SELECT count() FROM system.merges'",
                          url);
    for (int tries = 0, idle = 0; tries < 240 && idle < 2; tries++) {
        FILE *pipe = popen(cmd, "r");
        char count[32] = "";
        if (!pipe || !fgets(count, sizeof count, pipe) || pclose(pipe) != 0)
            fail("merges", cmd);
        idle = strcmp(count, "0\n") == 0 ? idle + 1 : 0;
        if (idle < 2)
            usleep(500 * 1000);
    }
    free(cmd);
}

/* curl_insert: streams the RowBinary file PATH into bench.TABLE in one
 * request; fails the run unless ClickHouse answers 200 */
static void curl_insert(const char *url, const char *table, const char *path)
{
    char *cmd =
        xasprintf("curl -sS -o %s.answer -w '%%{http_code}' -X POST -T %s "
                  "'%s/?query=INSERT%%20INTO%%20bench.%s%%20"
                  "FORMAT%%20RowBinary&max_memory_usage=8000000000'",
                  path, path, url, table);
    FILE *pipe = popen(cmd, "r");
    char code[16] = "";
    if (!pipe || !fgets(code, sizeof code, pipe) || pclose(pipe) != 0 ||
        strcmp(code, "200") != 0) {
        char *show = xasprintf("cat %s.answer >&2", path);
        if (system(show) != 0)
            fprintf(stderr, "(no answer)\n");
        fail("curl", cmd);
    }
    char *answer = xasprintf("%s.answer", path);
    unlink(answer);
    free(answer);
    free(cmd);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_clickhouse URL [ROWS]\n");
        return 2;
    }
    const char *url = argv[1];
    size_t rows = argc > 2 ? (size_t)atoll(argv[2]) : 1000000;
    struct registry reg;
    registry_init(&reg);
    size_t ndirs;
    char **dirs = plugin_search_path(NULL, 0, &ndirs);
    registry_scan(&reg, (const char *const *)dirs, ndirs);
    const struct plugin *p = registry_find(&reg, "sink_clickhouse");
    if (!p)
        fail("plugins", "no sink_clickhouse on SLUICE_PLUGIN_PATH");
    void *cfg = xcalloc(1, p->config_size);
    struct option_source src = {"bench", "sink", NULL, 0};
    struct diags d = {0};
    options_apply(p->options, p->option_count, &src, cfg, &d);
    /* url and database are set by hand: the table has no section */
    for (size_t i = 0; i < p->option_count; i++) {
        struct error err;
        if (strcmp(p->options[i].name, "url") == 0)
            option_parse(&p->options[i], url, cfg, &err);
        if (strcmp(p->options[i].name, "database") == 0)
            option_parse(&p->options[i], "bench", cfg, &err);
    }
    char msg[1024] = "";
    sluice_error e = {msg, sizeof msg};
    sluice_context *ctx = context_new("sink_clickhouse", "bench");
    void *sink = NULL;
    if (p->info.sink.open(ctx, cfg, &sink, &e) != SLUICE_OK ||
        p->info.sink.setup_table(sink, "via_sink", &e) != SLUICE_OK ||
        p->info.sink.setup_table(sink, "via_curl", &e) != SLUICE_OK ||
        p->info.sink.setup_table(sink, "via_chunks", &e) != SLUICE_OK)
        fail("setup", msg);

    /* the sink: every batch made first, so that the time is the sink's
     * alone (it streams an insert while the caller is away), from the
     * first write until the flush returns */
    size_t nbatches = (rows + BATCH - 1) / BATCH;
    struct sluice_batch *batches =
        xcalloc(nbatches ? nbatches : 1, sizeof *batches);
    char key[32], doc[1200];
    for (size_t k = 0; k < nbatches; k++) {
        batch_init(&batches[k], 0, 0);
        for (size_t i = k * BATCH; i < (k + 1) * BATCH && i < rows; i++) {
            int n = make_doc(i, key, doc, sizeof doc);
            sluice_record r = {.size = sizeof r,
                               .op = SLUICE_OP_SNAPSHOT,
                               .table = "via_sink",
                               .table_len = 8,
                               .key = key,
                               .key_len = strlen(key),
                               .doc = doc,
                               .doc_len = (size_t)n,
                               .version = 1};
            batch_add(&batches[k], &r, &e);
        }
    }
    quiet(url);
    int64_t sink_start = clock_monotonic_ms();
    for (size_t k = 0; k < nbatches; k++)
        if (p->info.sink.write(sink, &batches[k], &e) != SLUICE_OK)
            fail("write", msg);
    if (p->info.sink.flush(sink, &e) != SLUICE_OK)
        fail("flush", msg);
    int64_t sink_ms = clock_monotonic_ms() - sink_start;
    for (size_t k = 0; k < nbatches; k++)
        batch_free(&batches[k]);
    free(batches);

    /* the direct loads: the same rows as one RowBinary file and as files
     * of BATCH rows, then curl */
    char path[] = "/tmp/sluice-bench-rows-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    size_t chunks = (rows + BATCH - 1) / BATCH;
    char **chunk_paths = xcalloc(chunks ? chunks : 1, sizeof *chunk_paths);
    int64_t now = clock_now_ms() / 1000;
    for (size_t c = 0; c < chunks; c++) {
        chunk_paths[c] = xasprintf("%s.chunk%zu", path, c);
        FILE *cf = fopen(chunk_paths[c], "w");
        if (!cf)
            fail(chunk_paths[c], "cannot write");
        for (size_t i = c * BATCH; i < (c + 1) * BATCH && i < rows; i++) {
            put_row(f, i, now);
            put_row(cf, i, now);
        }
        fclose(cf);
    }
    fclose(f);
    quiet(url);
    int64_t start = clock_monotonic_ms();
    curl_insert(url, "via_curl", path);
    int64_t curl_ms = clock_monotonic_ms() - start;
    quiet(url);
    start = clock_monotonic_ms();
    for (size_t c = 0; c < chunks; c++)
        curl_insert(url, "via_chunks", chunk_paths[c]);
    int64_t chunked_ms = clock_monotonic_ms() - start;
    unlink(path);
    for (size_t c = 0; c < chunks; c++) {
        unlink(chunk_paths[c]);
        free(chunk_paths[c]);
    }
    free(chunk_paths);

    double sink_rate = (double)rows * 1000.0 / (double)(sink_ms ? sink_ms : 1);
    double curl_rate = (double)rows * 1000.0 / (double)(curl_ms ? curl_ms : 1);
    double chunked_rate =
        (double)rows * 1000.0 / (double)(chunked_ms ? chunked_ms : 1);
    double best_rate = chunked_rate > curl_rate ? chunked_rate : curl_rate;
    printf("rows %zu of about 1 KiB\n", rows);
    printf("curl_rowbinary_file_rows_per_s %.0f\n", curl_rate);
    printf("curl_rowbinary_chunked_rows_per_s %.0f (%zu requests of %d rows, "
           "one after another)\n",
           chunked_rate, chunks, BATCH);
    printf("sink_clickhouse_rows_per_s %.0f\n", sink_rate);
    printf("sink_vs_curl %.2f\n", sink_rate / curl_rate);
    printf("sink_vs_curl_chunked %.2f\n", sink_rate / chunked_rate);
    printf("sink_vs_best_direct %.2f (best: %s)\n", sink_rate / best_rate,
           chunked_rate > curl_rate ? "chunked" : "one request");
    p->info.sink.close(sink);
    context_free(ctx);
    options_free(p->options, p->option_count, cfg);
    free(cfg);
    diags_free(&d);
    for (size_t i = 0; i < ndirs; i++)
        free(dirs[i]);
    free(dirs);
    registry_free(&reg);
    return 0;
}
