/* bench_hub.c URL [RECORDS] [BATCH]: the hub's throughput and the
 * maintenance job's time, on one store.
 *
 * 1. publish RECORDS small records (about 100 bytes each) in publication
 *    events of BATCH records, then consume them all with one subscription
 *    (take, decode every record, complete): records/s of both together;
 * 2. the baseline beside it: the same blobs inserted and read back with
 *    plain SQL on the same store, no hub bookkeeping: records/s;
 * 3. 100k publication events of one record over 30 days, then a
 *    maintenance run over them: seconds.
 * Prints one line per figure. A benchmark reports; it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "hub/hub.h"
#include "maintenance/maintenance.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

static void die(const struct error *err)
{
    fprintf(stderr, "bench_hub: %s\n", err->message);
    exit(1);
}

static void fill(struct sluice_batch *b, size_t n, size_t first)
{
    batch_reset(b);
    char key[32], doc[128];
    char msg[64];
    sluice_error e = {msg, sizeof msg};
    for (size_t i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "%zu", first + i);
        int dl = snprintf(doc, sizeof doc,
                          "{\"_id\":%zu,\"customer\":\"c-%zu\",\"total\":%zu."
                          "25,\"status\":\"paid\"}",
                          first + i, (first + i) % 997, (first + i) % 10000);
        sluice_record r = {.size = sizeof r,
                           .op = SLUICE_OP_INSERT,
                           .table = "orders",
                           .table_len = 6,
                           .key = key,
                           .key_len = (size_t)kl,
                           .doc = doc,
                           .doc_len = (size_t)dl,
                           .version = first + i};
        batch_add(b, &r, &e);
    }
    batch_set_position(b, "pos", 3, &e);
}

static double hub_round_trip(struct store *s, size_t records,
                             size_t batch_size)
{
    struct error err;
    struct topic t = {"bench", 1, 7, "retention", 0};
    bool changed;
    if (topic_apply(s, &t, &changed, &err) < 0 ||
        subscription_create(s, "bench-reader", "bench", NULL, clock_now_ms(),
                            &err) < 0)
        die(&err);
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    int64_t start = clock_monotonic_ms();
    for (size_t done = 0; done < records; done += batch_size) {
        size_t n = records - done < batch_size ? records - done : batch_size;
        fill(&b, n, done);
        int64_t id;
        if (hub_publish(s, "bench", NULL, &b, clock_now_ms(), &id, &err) < 0)
            die(&err);
    }
    size_t consumed = 0;
    uint64_t check = 0;
    for (;;) {
        struct hub_event e;
        bool found;
        if (hub_take(s, "bench-reader", clock_now_ms(), &e, &found, &err) < 0)
            die(&err);
        if (!found)
            break;
        for (size_t i = 0; i < e.batch.count; i++) {
            sluice_record r = {.size = sizeof r};
            batch_get(&e.batch, i, &r);
            check += r.version + r.doc_len;
        }
        consumed += e.batch.count;
        int64_t id = e.publication;
        hub_event_free(&e);
        if (hub_complete(s, "bench-reader", id, clock_now_ms(), &err) < 0)
            die(&err);
    }
    double secs = (double)(clock_monotonic_ms() - start) / 1000.0;
    if (consumed != records || check == 0) {
        fprintf(stderr, "bench_hub: consumed %zu of %zu\n", consumed, records);
        exit(1);
    }
    batch_free(&b);
    return (double)records / secs;
}

static double baseline(struct store *s, size_t records, size_t batch_size)
{
    struct error err;
    if (store_exec(s,
                   "CREATE TABLE IF NOT EXISTS bench_blobs (id BIGINT "
                   "PRIMARY KEY, data {{blob}} NOT NULL)",
                   NULL, 0, NULL, &err) < 0)
        die(&err);
    struct sluice_batch b, back;
    batch_init(&b, 0, 0);
    batch_init(&back, 0, 0);
    int64_t start = clock_monotonic_ms();
    int64_t id = 0;
    for (size_t done = 0; done < records; done += batch_size) {
        size_t n = records - done < batch_size ? records - done : batch_size;
        fill(&b, n, done);
        struct db_value p[] = {DBV_INT(++id),
                               DBV_BLOB(b.frames.data, b.frames.len)};
        if (store_exec(s, "INSERT INTO bench_blobs (id, data) VALUES ($1, $2)",
                       p, 2, NULL, &err) < 0)
            die(&err);
    }
    size_t read = 0;
    for (int64_t i = 1; i <= id; i++) {
        struct db_value p = DBV_INT(i);
        struct db_result r;
        if (store_exec(s, "SELECT data FROM bench_blobs WHERE id = $1", &p, 1,
                       &r, &err) < 0)
            die(&err);
        const struct db_value *v = db_cell(&r, 0, 0);
        if (batch_load(&back, v->p, v->len, &err) < 0)
            die(&err);
        uint64_t check = 0;
        for (size_t k = 0; k < back.count; k++) {
            sluice_record rec = {.size = sizeof rec};
            batch_get(&back, k, &rec);
            check += rec.version;
        }
        read += back.count + (check == 0 ? 1 : 0) * 0;
        db_result_free(&r);
    }
    double secs = (double)(clock_monotonic_ms() - start) / 1000.0;
    if (read != records)
        exit(1);
    batch_free(&b);
    batch_free(&back);
    return (double)records / secs;
}

static double maintenance(struct store *s, size_t events)
{
    struct error err;
    struct topic t = {"aged", 1, 3, "retention", 0};
    bool changed;
    if (topic_apply(s, &t, &changed, &err) < 0 ||
        subscription_create(s, "aged-reader", "aged", NULL, 0, &err) < 0)
        die(&err);
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    fill(&b, 1, 0);
    int64_t now = clock_now_ms(), span = 30LL * 86400 * 1000;
    if (store_begin(s, &err) < 0)
        die(&err);
    for (size_t i = 0; i < events; i++) {
        int64_t id;
        if (hub_publish(s, "aged", NULL, &b,
                        now - span + (int64_t)i * span / (int64_t)events, &id,
                        &err) < 0)
            die(&err);
        /* every other event consumed, so both rules have work */
        struct db_value p[] = {DBV_INT(id)};
        if (i % 2 == 0 &&
            store_exec(s,
                       "INSERT INTO subscription_events (subscription, "
                       "publication, status, started_at, finished_at) VALUES "
                       "('aged-reader', $1, 'completed', 0, 0)",
                       p, 1, NULL, &err) < 0)
            die(&err);
    }
    if (store_commit(s, &err) < 0)
        die(&err);
    batch_free(&b);
    struct registry reg;
    registry_init(&reg);
    size_t ndirs;
    char **dirs = plugin_search_path(NULL, 0, &ndirs);
    registry_scan(&reg, (const char *const *)dirs, ndirs);
    for (size_t i = 0; i < ndirs; i++)
        free(dirs[i]);
    free(dirs);
    struct maintenance_report report;
    int64_t start = clock_monotonic_ms();
    if (maintenance_run(s, &reg, NULL, now, false, &report, &err) < 0)
        die(&err);
    double secs = (double)(clock_monotonic_ms() - start) / 1000.0;
    int64_t deleted = 0;
    for (size_t i = 0; i < report.topic_count; i++)
        for (size_t j = 0; j < report.topics[i].rule_count; j++)
            deleted += report.topics[i].rules[j].events;
    printf("maintenance_deleted_events %lld of %zu (%s)\n", (long long)deleted,
           events, report.status);
    maintenance_report_free(&report);
    registry_free(&reg);
    return secs;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_hub URL [RECORDS] [BATCH]\n");
        return 2;
    }
    size_t records = argc > 2 ? (size_t)atoll(argv[2]) : 1000000;
    size_t batch = argc > 3 ? (size_t)atoll(argv[3]) : 100000;
    struct store *s;
    struct error err;
    if (store_open(argv[1], STORE_CREATE, &s, &err) < 0)
        die(&err);
    printf("store %s, %zu records in events of %zu\n", store_backend(s),
           records, batch);
    double hub = hub_round_trip(s, records, batch);
    double base = baseline(s, records, batch);
    printf("hub_publish_consume_records_per_s %.0f\n", hub);
    printf("baseline_blob_insert_select_records_per_s %.0f\n", base);
    printf("hub_vs_baseline %.2f\n", hub / base);
    printf("maintenance_100k_events_s %.2f\n", maintenance(s, 100000));
    store_close(s);
    return 0;
}
