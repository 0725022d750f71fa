/* bench_e2e_cdc.c [--cpu NAME=PID]... MONGO_URI DB COLL CH_URL CH_TABLE
 * PHASE...: the CDC latency of a running sluice pipe, from a write on the
 * MongoDB side to the row visible in ClickHouse. A PHASE is RATE:SECONDS
 * (inserts) or mixed:RATE:SECONDS (updates, deletes and inserts on the
 * collection's documents, cdc_mixed.c). An insert phase: a writer thread
 * inserts documents {_id, t, pad} (t: the write time in ms since 1970) at
 * RATE documents/s for SECONDS, while the main thread queries ClickHouse
 * every POLL_MS for rows newer than the last _version it saw and records
 * when each row first showed. Prints per phase the achieved write rate, the
 * rows seen, the latency percentiles (visible - t) and the CPU seconds of
 * the processes named by --cpu. A benchmark reports; it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc.h"

struct phase {
    struct bench *b;
    int64_t first_id;
    double rate, seconds;
    int64_t *sent_ms; /* per id - first_id: when it was written */
    size_t written;   /* atomic: published to the poller after the insert */
    int done;         /* atomic */
    double achieved;
    /* the poller's */
    uint64_t version; /* the largest _version seen */
    int64_t *lat;
    bool *seen;
};

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
        insert_docs(ph->b->coll, ph->first_id + (int64_t)ph->written, n, t);
        __atomic_store_n(&ph->written, ph->written + n, __ATOMIC_RELEASE);
    }
    ph->achieved = (double)ph->written / (mono_s() - start);
    __atomic_store_n(&ph->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Polls the table for rows with _version > the last seen, giving each new
 * row of the phase its latency. Returns how many new rows of the phase it
 * saw. */
static size_t poll_once(void *arg)
{
    struct phase *ph = arg;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT _id, _version FROM %s WHERE _version > %llu "
             "FORMAT TabSeparated",
             ph->b->table, (unsigned long long)ph->version);
    int64_t asked = now_ms();
    char *rows = query(ph->b, sql);
    size_t fresh = 0;
    size_t written = __atomic_load_n(&ph->written, __ATOMIC_ACQUIRE);
    for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strrchr(line, '\t');
        if (!tab)
            continue;
        uint64_t v = strtoull(tab + 1, NULL, 10);
        if (v > ph->version)
            ph->version = v;
        *tab = 0;
        int64_t id;
        if (!key_id(line, &id) || id < ph->first_id)
            continue;
        size_t i = (size_t)(id - ph->first_id);
        if (i >= written || ph->seen[i])
            continue; /* not this phase's, or a replayed copy */
        ph->seen[i] = true;
        ph->lat[i] = asked - ph->sent_ms[i];
        fresh++;
    }
    free(rows);
    return fresh;
}

void run_insert_phase(struct bench *b, int k, double rate, double seconds)
{
    size_t capacity = (size_t)(rate * seconds) + 1;
    struct phase ph = {.b = b,
                       .first_id = k * PHASE_IDS,
                       .rate = rate,
                       .seconds = seconds,
                       .sent_ms = calloc(capacity, sizeof(int64_t)),
                       .version = max_version(b),
                       .lat = calloc(capacity, sizeof(int64_t)),
                       .seen = calloc(capacity, sizeof(bool))};
    int64_t *lat = ph.lat;
    bool *seen = ph.seen;
    struct phase_clock clock;
    size_t seen_n =
        follow_phase(b, writer, &ph, poll_once, &ph.done, &ph.written, &clock);
    char sql[512];

    /* rows the incremental poll missed (visible out of _version order):
     * counted, but without a latency */
    size_t missed = 0;
    if (seen_n < ph.written) {
        snprintf(sql, sizeof sql, "SELECT _id, 0 FROM %s FORMAT TabSeparated",
                 b->table);
        char *all = query(b, sql);
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
    printf("phase %d: target %.0f docs/s for %.0f s\n", k, rate, seconds);
    printf("  written %zu, achieved_docs_per_s %.0f\n", (size_t)ph.written,
           ph.achieved);
    printf(
        "  visible %zu (never seen %zu, seen only by the final sweep %zu)\n",
        seen_n, (size_t)ph.written - seen_n - missed, missed);
    int64_t p50, p99;
    latency_report(ph.sent_ms, lat, seen, ph.written, seconds, &p50, &p99);
    char name[32];
    snprintf(name, sizeof name, "%.0f", rate);
    phase_report(b, &clock, name, ph.achieved, p50, p99,
                 (size_t)ph.written - seen_n - missed);
    printf("\n");
    free(seen);
    free(lat);
    free(ph.sent_ms);
}

/* Writes probes (negative ids) until one shows in the table: the pipe's
 * change stream is then open and the phases measure a steady pipe. */
static void wait_ready(struct bench *b)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count() FROM %s", b->table);
    double start = mono_s(), probed = 0;
    for (int64_t probe = -1;;) {
        if (mono_s() - probed > 3) {
            insert_docs(b->coll, probe--, 1, now_ms());
            probed = mono_s();
        }
        char *n = query(b, sql);
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

/* --cpu NAME=PID */
static void watch_arg(struct cpu_watch *w, char *arg)
{
    char *eq = strrchr(arg, '=');
    if (!eq || w->n == CPU_MAX || atoi(eq + 1) <= 0)
        fail("--cpu takes NAME=PID (at most 4)", arg);
    *eq = 0;
    w->name[w->n] = arg;
    w->pid[w->n++] = atoi(eq + 1);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    int first = 1;
    while (first + 1 < argc && !strcmp(argv[first], "--cpu")) {
        watch_arg(&b.cpu, argv[first + 1]);
        first += 2;
    }
    if (argc - first < 6) {
        fprintf(stderr, "usage: bench_e2e_cdc [--cpu NAME=PID]... MONGO_URI "
                        "DB COLL CH_URL CH_TABLE [mixed:]RATE:SECONDS...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes, through tee */
    mongoc_init();
    curl_global_init(CURL_GLOBAL_ALL);
    b.client = mongoc_client_new(argv[first]);
    if (!b.client)
        fail("uri", argv[first]);
    b.coll = mongoc_client_get_collection(b.client, argv[first + 1],
                                          argv[first + 2]);
    b.ch_url = argv[first + 3];
    b.table = argv[first + 4];
    b.curl = curl_easy_init();
    wait_ready(&b);
    for (int i = first + 5; i < argc; i++) {
        double rate = 0, seconds = 0;
        bool mixed = !strncmp(argv[i], "mixed:", 6);
        if (sscanf(argv[i] + (mixed ? 6 : 0), "%lf:%lf", &rate, &seconds) !=
                2 ||
            rate <= 0 || seconds <= 0)
            fail("phase", argv[i]);
        int k = i - first - 4;
        if (mixed)
            run_mixed_phase(&b, k, rate, seconds);
        else
            run_insert_phase(&b, k, rate, seconds);
    }
    curl_easy_cleanup(b.curl);
    mongoc_collection_destroy(b.coll);
    mongoc_client_destroy(b.client);
    curl_global_cleanup();
    mongoc_cleanup();
    return 0;
}
