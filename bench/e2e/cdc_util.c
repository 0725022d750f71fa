/* cdc_util.c: the helpers the phases of bench_e2e_cdc share (cdc.h):
 * clocks, ClickHouse over HTTP, keys, latency reports, CPU seconds read
 * from /proc/PID/stat. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdc.h"

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fail(const char *what, const char *why)
{
    fprintf(stderr, "bench_e2e_cdc: %s: %s\n", what, why);
    exit(1);
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

char *query(struct bench *b, const char *sql)
{
    struct answer a = {calloc(1, 1), 0};
    long code = 0;
    curl_easy_setopt(b->curl, CURLOPT_URL, b->ch_url);
    curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, sql);
    curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, &a);
    CURLcode rc = curl_easy_perform(b->curl);
    curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK)
        fail("ClickHouse", curl_easy_strerror(rc));
    if (code != 200)
        fail("ClickHouse", a.data);
    return a.data;
}

bool key_id(const char *key, int64_t *id)
{
    const char *p = key;
    while (*p && *p != '-' && (*p < '0' || *p > '9'))
        p++;
    if (!*p)
        return false;
    *id = strtoll(p, NULL, 10);
    return true;
}

void insert_docs(mongoc_collection_t *coll, int64_t id, size_t n, int64_t t)
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

void cpu_sample(const struct cpu_watch *w, double *secs)
{
    long hz = sysconf(_SC_CLK_TCK);
    for (size_t i = 0; i < w->n; i++) {
        char path[64], line[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", w->pid[i]);
        FILE *f = fopen(path, "r");
        secs[i] = -1;
        if (!f)
            continue;
        size_t got = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[got] = 0;
        /* after "(comm) ": state is field 3, utime 14, stime 15 */
        char *p = strrchr(line, ')');
        unsigned long long ut = 0, st = 0;
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
                        "%llu",
                        &ut, &st) == 2)
            secs[i] = (double)(ut + st) / (double)hz;
    }
}

void cpu_print(const struct cpu_watch *w, const char *what, double wall,
               const double *from, const double *to)
{
    if (!w->n)
        return;
    printf("  cpu %s (%.1f s):", what, wall);
    for (size_t i = 0; i < w->n; i++)
        printf("%s %s %.1f s (%.2f of a core)", i ? "," : "", w->name[i],
               to[i] - from[i], (to[i] - from[i]) / wall);
    printf("\n");
}

double cpu_of(const struct cpu_watch *w, const char *name, const double *from,
              const double *to)
{
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->name[i], name))
            return to[i] - from[i];
    return -1;
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

void latency_report(const int64_t *sent_ms, const int64_t *lat,
                    const bool *seen, size_t n, double seconds, int64_t *p50,
                    int64_t *p99)
{
    int64_t *sorted = calloc(n + 1, sizeof *sorted);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (seen[i] && lat[i] >= 0)
            sorted[m++] = lat[i];
    qsort(sorted, m, sizeof *sorted, cmp_i64);
    *p50 = percentile(sorted, m, 0.50);
    *p99 = percentile(sorted, m, 0.99);
    printf(
        "  latency_ms p50 %lld p90 %lld p99 %lld max %lld (poll every %d ms)\n",
        (long long)*p50, (long long)percentile(sorted, m, 0.90),
        (long long)*p99, (long long)percentile(sorted, m, 1.0), POLL_MS);
    free(sorted);
    /* the worst latency of each second of writes: spikes that recur on a
     * period point at the work that causes them */
    size_t secs = (size_t)seconds + 6;
    int64_t *worst = calloc(secs, sizeof *worst);
    int64_t t0 = INT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (sent_ms[i] < t0)
            t0 = sent_ms[i];
    for (size_t i = 0; i < n; i++) {
        size_t at = (size_t)((sent_ms[i] - t0) / 1000);
        if (seen[i] && at < secs && lat[i] > worst[at])
            worst[at] = lat[i];
    }
    printf("  worst per second of writes (ms):");
    for (size_t i = 0; i < secs && i <= (size_t)seconds; i++)
        printf(" %lld", (long long)worst[i]);
    printf("\n");
    free(worst);
}

uint64_t max_version(struct bench *b)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT max(_version) FROM %s", b->table);
    char *max = query(b, sql);
    uint64_t version = strtoull(max, NULL, 10);
    free(max);
    return version;
}

size_t follow_phase(struct bench *b, void *(*writer)(void *), void *phase,
                    size_t (*poll)(void *), const int *done,
                    const size_t *written, struct phase_clock *clock)
{
    bool writing = true;
    clock->t[0] = mono_s();
    cpu_sample(&b->cpu, clock->cpu[0]);
    pthread_t th;
    pthread_create(&th, NULL, writer, phase);
    size_t seen = 0;
    double last_new = mono_s();
    for (;;) {
        double tick = mono_s();
        size_t fresh = poll(phase);
        seen += fresh;
        if (fresh)
            last_new = tick;
        if (writing && __atomic_load_n(done, __ATOMIC_ACQUIRE)) {
            writing = false;
            clock->t[1] = mono_s();
            cpu_sample(&b->cpu, clock->cpu[1]);
        }
        if (!writing && (seen == __atomic_load_n(written, __ATOMIC_ACQUIRE) ||
                         tick - last_new > DRAIN_MS / 1000.0))
            break;
        double left = POLL_MS / 1000.0 - (mono_s() - tick);
        if (left > 0)
            usleep((useconds_t)(left * 1e6));
    }
    pthread_join(th, NULL);
    cpu_sample(&b->cpu, clock->cpu[2]);
    clock->t[2] = mono_s();
    return seen;
}

void phase_report(struct bench *b, const struct phase_clock *clock,
                  const char *name, double achieved, int64_t p50, int64_t p99,
                  size_t lost)
{
    cpu_print(&b->cpu, "during the writes", clock->t[1] - clock->t[0],
              clock->cpu[0], clock->cpu[1]);
    cpu_print(&b->cpu, "until the last was visible", clock->t[2] - clock->t[0],
              clock->cpu[0], clock->cpu[2]);
    printf("cdc_%s achieved %.0f p50_ms %lld p99_ms %lld lost %zu "
           "server_cpu_s %.1f sluice_cpu_s %.1f",
           name, achieved, (long long)p50, (long long)p99, lost,
           cpu_of(&b->cpu, "test server", clock->cpu[0], clock->cpu[1]),
           cpu_of(&b->cpu, "sluice", clock->cpu[0], clock->cpu[1]));
}
