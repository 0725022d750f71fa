/* cdc.h: what the phases of bench_e2e_cdc share (cdc_util.c): the pipe
 * under test (MongoDB collection, ClickHouse table), clocks, ClickHouse
 * queries over HTTP, keys, latency reports, and the CPU seconds of the
 * processes watched. The phases: bench_e2e_cdc.c (inserts) and
 * cdc_mixed.c (updates, deletes and inserts on existing documents). */
#ifndef BENCH_E2E_CDC_H
#define BENCH_E2E_CDC_H

#include <curl/curl.h>
#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLL_MS 50
#define PAD_BYTES 900
#define PHASE_IDS 100000000LL /* phase k writes ids from k * PHASE_IDS */
#define DRAIN_MS 30000        /* how long to wait for stragglers */
#define MAX_PER_INSERT 1000
#define CPU_MAX 4

/* Processes whose CPU seconds (utime + stime) each phase reports. */
struct cpu_watch {
    const char *name[CPU_MAX];
    int pid[CPU_MAX];
    size_t n;
};

/* The pipe under test. The writer thread of a phase alone uses the
 * MongoDB client while it runs; the main thread the curl handle. */
struct bench {
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    CURL *curl;
    const char *ch_url, *table;
    struct cpu_watch cpu;
};

int64_t now_ms(void);
double mono_s(void);
void fail(const char *what, const char *why);
/* Runs a query, returns its TabSeparated answer (the caller frees it). */
char *query(struct bench *b, const char *sql);
/* The integer inside a canonical JSON key: 5, {"$numberLong": "5"}, ... */
bool key_id(const char *key, int64_t *id);
/* Inserts documents {_id, t, pad} with ids id.. (n at most
 * MAX_PER_INSERT). */
void insert_docs(mongoc_collection_t *coll, int64_t id, size_t n, int64_t t);

/* The CPU seconds of each watched process now. */
void cpu_sample(const struct cpu_watch *w, double *secs);
/* "cpu WHAT (WALL s): sluice 1.0 s (0.05 of a core), ..." */
void cpu_print(const struct cpu_watch *w, const char *what, double wall,
               const double *from, const double *to);
/* The seconds `name` used between the samples, -1 when not watched. */
double cpu_of(const struct cpu_watch *w, const char *name, const double *from,
              const double *to);

/* The largest _version in the table: a phase's rows come after it. */
uint64_t max_version(struct bench *b);

/* A phase's times and CPU seconds: at its start, when its writer is done,
 * when its last change showed (or it gave up waiting). */
struct phase_clock {
    double t[3];
    double cpu[3][CPU_MAX];
};

/* Runs a phase: `writer` in a thread on `phase`, and `poll(phase)` (which
 * returns how many changes it saw first) every POLL_MS until the writer
 * set *done and all *written changes were seen, or nothing new came for
 * DRAIN_MS. Returns the changes seen. */
size_t follow_phase(struct bench *b, void *(*writer)(void *), void *phase,
                    size_t (*poll)(void *), const int *done,
                    const size_t *written, struct phase_clock *clock);
/* The CPU seconds of the phase's writes and until its last change showed,
 * and its "cdc_" line's start: "NAME achieved A p50_ms P p99_ms Q lost L
 * server_cpu_s S sluice_cpu_s T". */
void phase_report(struct bench *b, const struct phase_clock *clock,
                  const char *name, double achieved, int64_t p50, int64_t p99,
                  size_t lost);

/* Prints the latency percentiles of the changes seen with a latency
 * (lat >= 0) and the worst latency of each second of writes (by sent_ms);
 * gives p50 and p99 (-1 when none). */
void latency_report(const int64_t *sent_ms, const int64_t *lat,
                    const bool *seen, size_t n, double seconds, int64_t *p50,
                    int64_t *p99);

/* The phases. k: the phase's number (its ids start at k * PHASE_IDS). */
void run_insert_phase(struct bench *b, int k, double rate, double seconds);
void run_mixed_phase(struct bench *b, int k, double rate, double seconds);

#endif
