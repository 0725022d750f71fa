/* bench_e2e_cdc.c MONGO_URI DB COLL CH_URL CH_TABLE RATE:SECONDS...: the CDC
 * latency of a running sluice pipe, from a write on the MongoDB side to the
 * row visible in ClickHouse. For each RATE:SECONDS phase, a writer thread
 * inserts documents {_id, t, pad} (t: the write time in ms since 1970) at
 * RATE documents/s for SECONDS, while the main thread queries ClickHouse
 * every POLL_MS for rows newer than the last _version it saw and records
 * when each row first showed. Prints per phase the achieved write rate, the
 * rows seen, and the latency percentiles (visible - t). A benchmark
 * reports; it asserts nothing. */
#include <curl/curl.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 50
#define MAX_PER_INSERT 1000
#define PAD_BYTES 900
#define PHASE_IDS 100000000LL /* phase k writes ids from k * PHASE_IDS */
#define DRAIN_MS 30000        /* how long to wait for stragglers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "bench_e2e_cdc: %s: %s\n", what, why);
    exit(1);
}

struct phase {
    mongoc_collection_t *coll;
    int64_t first_id;
    double rate, seconds;
    int64_t *sent_ms; /* per id - first_id: when it was written */
    size_t capacity;
    volatile size_t written; /* published to the poller after the insert */
    volatile int done;
    double achieved;
};

/* Inserts ids first_id.. with `t`, n at a time. */
static void insert_docs(mongoc_collection_t *coll, int64_t id, size_t n,
                        int64_t t)
{
    static char pad[PAD_BYTES + 1];
    if (!pad[0])
        memset(pad, 'p', PAD_BYTES);
    bson_t *docs[MAX_PER_INSERT];
    for (size_t i = 0; i < n; i++)
        docs[i] = BCON_NEW("_id", BCON_INT64(id + (int64_t)i), "t",
                           BCON_INT64(t), "pad", BCON_UTF8(pad));
    bson_error_t e;
    if (!mongoc_collection_insert_many(coll, (const bson_t **)docs, n, NULL,
                                       NULL, &e))
        fail("insert", e.message);
    for (size_t i = 0; i < n; i++)
        bson_destroy(docs[i]);
}

/* Writes at the phase's rate: at each tick, the documents now due. */
static void *writer(void *arg)
{
    struct phase *ph = arg;
    double start = mono_s(), end = start + ph->seconds;
    size_t total = (size_t)(ph->rate * ph->seconds);
    for (;;) {
        double now = mono_s();
        size_t due = (size_t)((now - start) * ph->rate);
        if (due > total)
            due = total;
        if (due == ph->written) {
            if (ph->written == total || now >= end + 5)
                break;
            usleep(500);
            continue;
        }
        size_t n = due - ph->written;
        if (n > MAX_PER_INSERT)
            n = MAX_PER_INSERT;
        int64_t t = now_ms();
        for (size_t i = 0; i < n; i++)
            ph->sent_ms[ph->written + i] = t;
        insert_docs(ph->coll, ph->first_id + (int64_t)ph->written, n, t);
        __atomic_store_n(&ph->written, ph->written + n, __ATOMIC_RELEASE);
    }
    ph->achieved = (double)ph->written / (mono_s() - start);
    __atomic_store_n(&ph->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

struct answer {
    char *data;
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    a->data = realloc(a->data, a->len + size * n + 1);
    memcpy(a->data + a->len, p, size * n);
    a->len += size * n;
    a->data[a->len] = 0;
    return size * n;
}

/* Runs a query, returns its TabSeparated answer (the caller frees it). */
static char *query(CURL *c, const char *url, const char *sql)
{
    struct answer a = {calloc(1, 1), 0};
    long code = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, sql);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK)
        fail("ClickHouse", curl_easy_strerror(rc));
    if (code != 200)
        fail("ClickHouse", a.data);
    return a.data;
}

/* The integer inside a canonical JSON key: 5, {"$numberLong": "5"}, ... */
static bool key_id(const char *key, int64_t *id)
{
    const char *p = key;
    while (*p && *p != '-' && (*p < '0' || *p > '9'))
        p++;
    if (!*p)
        return false;
    *id = strtoll(p, NULL, 10);
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t percentile(const int64_t *sorted, size_t n, double p)
{
    if (!n)
        return -1;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i];
}

/* Polls `table` for rows with _version > *version, giving each new row of
 * the phase its latency. Returns how many new rows of the phase it saw. */
static size_t poll_once(CURL *c, const char *url, const char *table,
                        struct phase *ph, uint64_t *version, int64_t *lat,
                        bool *seen)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT _id, _version FROM %s WHERE _version > %llu "
             "FORMAT TabSeparated",
             table, (unsigned long long)*version);
    int64_t asked = now_ms();
    char *rows = query(c, url, sql);
    size_t fresh = 0;
    size_t written = __atomic_load_n(&ph->written, __ATOMIC_ACQUIRE);
    for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strrchr(line, '\t');
        if (!tab)
            continue;
        uint64_t v = strtoull(tab + 1, NULL, 10);
        if (v > *version)
            *version = v;
        *tab = 0;
        int64_t id;
        if (!key_id(line, &id) || id < ph->first_id)
            continue;
        size_t i = (size_t)(id - ph->first_id);
        if (i >= written || seen[i])
            continue; /* not this phase's, or a replayed copy */
        seen[i] = true;
        lat[i] = asked - ph->sent_ms[i];
        fresh++;
    }
    free(rows);
    return fresh;
}

static void run_phase(mongoc_collection_t *coll, CURL *c, const char *url,
                      const char *table, int k, double rate, double seconds)
{
    struct phase ph = {.coll = coll,
                       .first_id = k * PHASE_IDS,
                       .rate = rate,
                       .seconds = seconds};
    ph.capacity = (size_t)(rate * seconds) + 1;
    ph.sent_ms = calloc(ph.capacity, sizeof *ph.sent_ms);
    int64_t *lat = calloc(ph.capacity, sizeof *lat);
    bool *seen = calloc(ph.capacity, sizeof *seen);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT max(_version) FROM %s", table);
    char *max = query(c, url, sql);
    uint64_t version = strtoull(max, NULL, 10);
    free(max);

    pthread_t th;
    pthread_create(&th, NULL, writer, &ph);
    size_t seen_n = 0;
    double last_new = mono_s();
    for (;;) {
        double tick = mono_s();
        size_t fresh = poll_once(c, url, table, &ph, &version, lat, seen);
        seen_n += fresh;
        if (fresh)
            last_new = tick;
        int done = __atomic_load_n(&ph.done, __ATOMIC_ACQUIRE);
        if (done && seen_n == ph.written)
            break;
        if (done && tick - last_new > DRAIN_MS / 1000.0)
            break;
        double left = POLL_MS / 1000.0 - (mono_s() - tick);
        if (left > 0)
            usleep((useconds_t)(left * 1e6));
    }
    pthread_join(th, NULL);

    /* rows the incremental poll missed (visible out of _version order):
     * counted, but without a latency */
    size_t missed = 0;
    if (seen_n < ph.written) {
        snprintf(sql, sizeof sql, "SELECT _id, 0 FROM %s FORMAT TabSeparated",
                 table);
        char *all = query(c, url, sql);
        for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
            int64_t id;
            if (key_id(line, &id) && id >= ph.first_id &&
                (size_t)(id - ph.first_id) < ph.written &&
                !seen[id - ph.first_id]) {
                seen[id - ph.first_id] = true;
                lat[id - ph.first_id] = -1;
                missed++;
            }
        }
        free(all);
    }
    int64_t *sorted = calloc(ph.capacity, sizeof *sorted);
    size_t n = 0;
    for (size_t i = 0; i < ph.written; i++)
        if (seen[i] && lat[i] >= 0)
            sorted[n++] = lat[i];
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    printf("phase %d: target %.0f docs/s for %.0f s\n", k, rate, seconds);
    printf("  written %zu, achieved_docs_per_s %.0f\n", (size_t)ph.written,
           ph.achieved);
    printf(
        "  visible %zu (never seen %zu, seen only by the final sweep %zu)\n",
        seen_n, (size_t)ph.written - seen_n - missed, missed);
    printf(
        "  latency_ms p50 %lld p90 %lld p99 %lld max %lld (poll every %d ms)\n",
        (long long)percentile(sorted, n, 0.50),
        (long long)percentile(sorted, n, 0.90),
        (long long)percentile(sorted, n, 0.99),
        (long long)percentile(sorted, n, 1.0), POLL_MS);
    /* the worst latency of each second of writes: spikes that recur on a
     * period point at the work that causes them */
    size_t secs = (size_t)seconds + 6;
    int64_t *worst = calloc(secs, sizeof *worst);
    int64_t t0 = ph.written ? ph.sent_ms[0] : 0;
    for (size_t i = 0; i < ph.written; i++) {
        size_t at = (size_t)((ph.sent_ms[i] - t0) / 1000);
        if (seen[i] && at < secs && lat[i] > worst[at])
            worst[at] = lat[i];
    }
    printf("  worst per second of writes (ms):");
    for (size_t i = 0; i < secs && i <= (size_t)seconds; i++)
        printf(" %lld", (long long)worst[i]);
    printf("\n");
    free(worst);
    printf("cdc_%.0f achieved %.0f p50_ms %lld p99_ms %lld lost %zu\n", rate,
           ph.achieved, (long long)percentile(sorted, n, 0.50),
           (long long)percentile(sorted, n, 0.99),
           (size_t)ph.written - seen_n - missed);
    fflush(stdout);
    free(sorted);
    free(seen);
    free(lat);
    free(ph.sent_ms);
}

/* Writes probes (negative ids) until one shows in `table`: the pipe's
 * change stream is then open and the phases measure a steady pipe. */
static void wait_ready(mongoc_collection_t *coll, CURL *c, const char *url,
                       const char *table)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count() FROM %s", table);
    double start = mono_s(), probed = 0;
    for (int64_t probe = -1;;) {
        if (mono_s() - probed > 3) {
            insert_docs(coll, probe--, 1, now_ms());
            probed = mono_s();
        }
        char *n = query(c, url, sql);
        long long rows = atoll(n);
        free(n);
        if (rows > 0)
            break;
        if (mono_s() - start > 120)
            fail("ready", "no probe row visible after 120 s");
        usleep(100000);
    }
    printf("ready after %.1f s\n", mono_s() - start);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: bench_e2e_cdc MONGO_URI DB COLL CH_URL "
                        "CH_TABLE RATE:SECONDS...\n");
        return 2;
    }
    mongoc_init();
    curl_global_init(CURL_GLOBAL_ALL);
    mongoc_client_t *client = mongoc_client_new(argv[1]);
    if (!client)
        fail("uri", argv[1]);
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, argv[2], argv[3]);
    CURL *c = curl_easy_init();
    wait_ready(coll, c, argv[4], argv[5]);
    for (int i = 6; i < argc; i++) {
        double rate = 0, seconds = 0;
        if (sscanf(argv[i], "%lf:%lf", &rate, &seconds) != 2 || rate <= 0 ||
            seconds <= 0)
            fail("phase", argv[i]);
        run_phase(coll, c, argv[4], argv[5], i - 5, rate, seconds);
    }
    curl_easy_cleanup(c);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    curl_global_cleanup();
    mongoc_cleanup();
    return 0;
}
