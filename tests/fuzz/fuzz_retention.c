/* fuzz_retention.c: the retention plugin's plan (plugins/retention),
 * compiled in, on any input: the days, the job's time and the
 * publications come from the bytes, as a core of ABI 1.2 or of 1.0 gives
 * them. A plan may delete only publications of its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host.h"
#include "plugin/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the plugin's module, compiled into this program */
const sluice_module *sluice_module_descriptor(void);

static const sluice_retention_info *policy;

static sluice_status take_retention(sluice_registrar *reg,
                                    const sluice_retention_info *info,
                                    size_t size, sluice_error *err)
{
    (void)reg;
    (void)size;
    (void)err;
    policy = info;
    return SLUICE_OK;
}

static void load(void)
{
    static sluice_host_api host;
    host = *host_api();
    host.register_retention = take_retention;
    char message[256] = "";
    sluice_error e = {message, sizeof message};
    if (sluice_module_descriptor()->init(NULL, &host, &e) != SLUICE_OK ||
        !policy)
        abort();
}

static int64_t take_i64(const uint8_t **p, size_t *left)
{
    int64_t v = 0;
    size_t n = *left < 8 ? *left : 8;
    memcpy(&v, *p, n);
    *p += n;
    *left -= n;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!policy)
        load();
    const uint8_t *p = data;
    size_t left = size;
    sluice_retention_input in = {.size = sizeof in, .topic = "t"};
    in.consumed_retention_days = take_i64(&p, &left);
    in.unconsumed_retention_days = take_i64(&p, &left);
    in.job_time_ms = take_i64(&p, &left);
    bool old_core = left && (*p++ & 1);
    left -= left ? 1 : 0;
    /* each publication: id, published_at, consumption (a byte), final_at */
    size_t count = left / 25;
    sluice_publication *pubs = calloc(count + 1, sizeof *pubs);
    for (size_t i = 0; i < count; i++) {
        pubs[i].id = take_i64(&p, &left);
        pubs[i].published_at_ms = take_i64(&p, &left);
        pubs[i].consumption = (sluice_consumption)(*p++ % 4 + 1);
        left--;
        pubs[i].final_at_ms = take_i64(&p, &left);
        pubs[i].records = 1;
    }
    in.publications = pubs;
    in.publication_count = count;
    in.publication_size =
        old_core ? offsetof(sluice_publication, final_at_ms) : sizeof *pubs;
    if (old_core) { /* the 1.0 layout: final_at_ms is not there */
        size_t n = in.publication_size;
        char *packed = calloc(count + 1, n);
        for (size_t i = 0; i < count; i++)
            memcpy(packed + i * n, &pubs[i], n);
        free(pubs);
        pubs = (sluice_publication *)packed;
        in.publications = pubs;
    }
    struct sluice_retention_plan plan = {0};
    char message[256] = "";
    sluice_error e = {message, sizeof message};
    void *instance = NULL;
    if (policy->open(NULL, NULL, &instance, &e) != SLUICE_OK)
        abort();
    if (policy->plan(instance, &in, &plan, &e) == SLUICE_OK) {
        for (size_t i = 0; i < plan.delete_count; i++) {
            size_t found = 0;
            for (size_t j = 0; j < count; j++) {
                const sluice_publication *q =
                    (const sluice_publication *)((const char *)pubs +
                                                 j * in.publication_size);
                found += q->id == plan.deletes[i].publication_id;
            }
            if (!found)
                abort(); /* deletes what it was not given */
        }
    }
    policy->close(instance);
    plan_free(&plan);
    free(pubs);
    return 0;
}
