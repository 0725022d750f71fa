/* count_source.c: the smallest complete sluice plugin; read it first.
 * A source of one table, `numbers`, whose change stream counts from 1 to
 * 1000: number n is an insert with key n, document {"n":n}, version n and
 * the time it was counted. The position is the next number, as text, so
 * a restart goes on from there. It has no snapshot: `mode = cdc`. */
#define _POSIX_C_SOURCE 200809L /* nanosleep, also under -std=c11 */
#include <sluice/sluice.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UP_TO 1000
static const sluice_host_api *host; /* lent by the core at init */

static sluice_status count_open(sluice_context *ctx, const void *config,
                                void **instance, sluice_error *err)
{ /* no side effects: `sluice check --connect` opens plugins too */
    (void)ctx, (void)config;
    *instance = calloc(1, sizeof(long long)); /* the next number */
    if (!*instance)
        return sluice_fail(err, SLUICE_FATAL, "count_source: no memory");
    return SLUICE_OK;
}

static void count_close(void *instance)
{
    free(instance);
}

static sluice_status count_tables(void *instance, sluice_values *tables,
                                  sluice_error *err)
{
    (void)instance;
    return host->values_add(tables, "numbers", 7, err);
}

static sluice_status count_start(void *instance, const char *const *tables,
                                 size_t count, const void *position,
                                 size_t len, sluice_error *err)
{ /* the position is the next number; empty (a new pipe): from 1 */
    char text[24] = "1";
    (void)tables, (void)count;
    if (len >= sizeof text)
        return sluice_fail(err, SLUICE_FATAL, "count_source: bad position");
    if (len > 0)
        memcpy(text, position, len), text[len] = '\0';
    *(long long *)instance = strtoll(text, NULL, 10);
    return SLUICE_OK;
}

static sluice_status count_poll(void *instance, sluice_batch *batch,
                                int64_t timeout_ms, sluice_error *err)
{
    long long *next = instance;
    char key[24], doc[32];
    if (*next > UP_TO) { /* nothing new: wait as long as the core says */
        struct timespec t = {timeout_ms / 1000, timeout_ms % 1000 * 1000000};
        nanosleep(&t, NULL);
    }
    for (; *next <= UP_TO && !host->batch_full(batch); ++*next) {
        int kl = snprintf(key, sizeof key, "%lld", *next);
        int dl = snprintf(doc, sizeof doc, "{\"n\":%lld}", *next);
        sluice_record r = {.size = sizeof r,
                           .op = SLUICE_OP_INSERT,
                           .table = "numbers",
                           .table_len = 7,
                           .key = key,
                           .key_len = (size_t)kl,
                           .doc = doc,
                           .doc_len = (size_t)dl,
                           .version = (uint64_t)*next,
                           .changed_at_ms = host->now_ms()};
        if (host->batch_add(batch, &r, err) != SLUICE_OK)
            return SLUICE_FATAL;
    }
    int n = snprintf(key, sizeof key, "%lld", *next);
    return host->batch_set_position(batch, key, (size_t)n, err);
}

static sluice_status count_ack(void *instance, const void *position,
                               size_t len, sluice_error *err)
{ /* numbers keep no history to release */
    (void)instance, (void)position, (void)len, (void)err;
    return SLUICE_OK;
}

static const sluice_source_info count_source = {
    .size = sizeof(sluice_source_info),
    .name = "count_source",
    .description = "Counts from 1 to 1000, one insert per number.",
    .capabilities = SLUICE_SOURCE_CDC,
    .open = count_open,
    .close = count_close,
    .list_tables = count_tables,
    .cdc_start = count_start,
    .cdc_poll = count_poll,
    .cdc_ack = count_ack,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    return host->register_source(reg, &count_source, sizeof count_source, err);
}

SLUICE_MODULE("count_source", "1.0.0", "Apache-2.0",
              "A source that counts (an SDK example)", init, NULL)
