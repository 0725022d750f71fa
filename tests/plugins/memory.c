/* memory.c: in-memory test plugins for framework tests, one module with
 * two plugins.
 *
 * memory_source generates deterministic records: `rows` snapshot rows per
 * table (keys 0..rows-1, split into `partitions` key ranges, at most
 * `batch_rows` to a batch when set), then `changes` inserts as change data
 * (keys from `rows` on, spread over the tables; all at once, or one per
 * `change_every`; with `change_age`, each saying it happened that long
 * ago). Positions are text, so tests can read them; with `ack_output`,
 * each acknowledged position is appended to that file, one line each.
 * With `stop_table`, once the changes are all given, CDC stops following
 * that table as a source does when a collection is dropped (ABI 1.1).
 * With `extra_table`, every batch with records also gets one record of
 * that table, which nobody asked for (a source breaking its contract).
 *
 * memory_sink keeps what it is given, as ReplacingMergeTree would: per
 * table and key, the row with the highest version. With `output`, each
 * flush writes every table, sorted, as JSON lines. `fail_writes` makes the
 * first N writes return SLUICE_RETRY; `leak` makes it say its secrets.
 * It counts the rows it is given (rows_written_total) and keeps the
 * instances open as a gauge (open_sinks). With `keep_rows = false` it
 * keeps nothing, only takes its `write_delay` (a slow destination, for
 * rates); with `write_log`, each write appends when it was done and its
 * rows to that file ("UNIX_MS ROWS" lines).
 *
 * Both misbehave on purpose when asked: `misbehave = CALLBACK:HOW` makes
 * the named callback return fatal or retry, crash (SIGSEGV), abort, call
 * exit(3), hang (as a server that does not answer: until the core says
 * to stop, ABI 1.2, then it gives up) or block (for ever, as a read
 * blocked in a library); with `misbehave_while = FILE`, only while FILE
 * exists. */
#include <pthread.h>
#include <signal.h>
#include <sluice/sluice.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const sluice_host_api *host;

/* memory.c is also built against the frozen 1.0 headers (tests/abi) */
#ifdef SLUICE_OPTION_PATH
#define PATH_FLAGS SLUICE_OPTION_PATH
#else
#define PATH_FLAGS 0u
#endif

/* ---- misbehaving on purpose (both plugins) ---------------------------- */

struct misbehaviour {
    const char *spec;       /* CALLBACK:HOW, or NULL */
    const char *while_file; /* only while it exists; NULL: always */
};

#define MISBEHAVE_OPTIONS(config)                                             \
    {.type = SLUICE_OPTION_STRING,                                            \
     .name = "misbehave",                                                     \
     .offset = offsetof(config, misbehave.spec),                              \
     .description = "CALLBACK:HOW, HOW one of fatal, retry, crash, abort, "   \
                    "exit, hang, block: the callback returns that status, "   \
                    "raises SIGSEGV, aborts, calls exit(3), waits until "     \
                    "sluice stops, or waits for ever."},                      \
    {                                                                         \
        .type = SLUICE_OPTION_STRING, .name = "misbehave_while",              \
        .flags = PATH_FLAGS,                                                  \
        .offset = offsetof(config, misbehave.while_file),                     \
        .description = "A file: misbehave only while it exists."              \
    }

static const char *const hows[] = {"fatal", "retry", "crash", "abort",
                                   "exit",  "hang",  "block", NULL};

static bool listed(const char *const *list, const char *name, size_t len)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == len && !strncmp(list[i], name, len))
            return true;
    return false;
}

/* At open: the spec names one of `callbacks` and a known HOW. */
static sluice_status misbehave_valid(const struct misbehaviour *m,
                                     const char *const *callbacks,
                                     sluice_error *err)
{
    if (!m->spec)
        return SLUICE_OK;
    size_t n = strcspn(m->spec, ":");
    const char *how = m->spec + n + (m->spec[n] == ':');
    if (!listed(callbacks, m->spec, n) || !listed(hows, how, strlen(how)))
        return sluice_fail(err, SLUICE_FATAL,
                           "memory: misbehave = '%s': expected CALLBACK:HOW "
                           "with a callback of this plugin and HOW one of "
                           "fatal, retry, crash, abort, exit, hang, block",
                           m->spec);
    return SLUICE_OK;
}

/* Whether the core says to give up the call in progress (ABI 1.2). */
static bool told_to_stop(void)
{
#if SLUICE_ABI_AT_LEAST(1, 2)
    return SLUICE_HOST_HAS(host, should_stop) && host->should_stop(NULL);
#else
    return false;
#endif
}

/* As a server that does not answer: until the core says to stop, then
 * given up (`give_up`), or for ever. */
static sluice_status wait_on_nothing(const struct misbehaviour *m,
                                     const char *callback, bool give_up,
                                     sluice_error *err)
{
    while (!give_up || !told_to_stop()) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return sluice_fail(err, SLUICE_RETRY,
                       "memory: %s gave up waiting, sluice is stopping "
                       "(misbehave = %s)",
                       callback, m->spec);
}

/* At the top of each callback: OK, or the misbehaviour asked for. */
static sluice_status misbehave(const struct misbehaviour *m,
                               const char *callback, sluice_error *err)
{
    size_t n = m->spec ? strcspn(m->spec, ":") : 0;
    if (!m->spec || strlen(callback) != n || strncmp(m->spec, callback, n) ||
        (m->while_file && access(m->while_file, F_OK) != 0))
        return SLUICE_OK;
    const char *how = m->spec + n + 1;
    if (!strcmp(how, "crash"))
        raise(SIGSEGV);
    else if (!strcmp(how, "abort"))
        abort();
    else if (!strcmp(how, "exit"))
        exit(3);
    else if (!strcmp(how, "hang") || !strcmp(how, "block"))
        return wait_on_nothing(m, callback, !strcmp(how, "hang"), err);
    return sluice_fail(err, strcmp(how, "retry") ? SLUICE_FATAL : SLUICE_RETRY,
                       "memory: %s fails on purpose (misbehave = %s)",
                       callback, m->spec);
}

/* Returns from the callback when it is to misbehave. */
#define MISBEHAVE(m, callback, err)                                           \
    do {                                                                      \
        sluice_status st_ = misbehave((m), (callback), (err));                \
        if (st_ != SLUICE_OK)                                                 \
            return st_;                                                       \
    } while (0)

/* ---- memory_source ---------------------------------------------------- */

struct source_config {
    sluice_string_list tables;
    int64_t rows;
    int64_t partitions;
    int64_t changes;
    int64_t change_every_ms;
    int64_t change_age_ms;
    const char *stop_table;
    const char *extra_table;
    struct misbehaviour misbehave;
    const char *ack_output;
    int64_t batch_rows;
};

static const sluice_option source_options[] = {
    {.type = SLUICE_OPTION_LIST,
     .name = "tables",
     .default_value = "items",
     .flags = SLUICE_OPTION_TABLES,
     .offset = offsetof(struct source_config, tables),
     .description = "The tables the source has."},
    {.type = SLUICE_OPTION_INT,
     .name = "rows",
     .default_value = "10",
     .flags = SLUICE_OPTION_RANGE,
     .offset = offsetof(struct source_config, rows),
     .min = 0,
     .max = 100000000,
     .description = "Snapshot rows per table."},
    {.type = SLUICE_OPTION_INT,
     .name = "partitions",
     .default_value = "1",
     .flags = SLUICE_OPTION_RANGE,
     .offset = offsetof(struct source_config, partitions),
     .min = 1,
     .max = 64,
     .description = "Snapshot partitions per table."},
    {.type = SLUICE_OPTION_INT,
     .name = "changes",
     .default_value = "0",
     .flags = SLUICE_OPTION_RANGE,
     .offset = offsetof(struct source_config, changes),
     .min = 0,
     .max = 100000000,
     .description = "Inserts streamed as change data."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "change_every",
     .default_value = "0ms",
     .offset = offsetof(struct source_config, change_every_ms),
     .description = "With a duration, one change per such interval instead "
                    "of all at once."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "change_age",
     .default_value = "0ms",
     .offset = offsetof(struct source_config, change_age_ms),
     .description = "With a duration, each change says it happened that "
                    "long before it is given (built for ABI 1.2 or later)."},
    {.type = SLUICE_OPTION_STRING,
     .name = "stop_table",
     .offset = offsetof(struct source_config, stop_table),
     .description = "A table CDC stops following after the last change."},
    {.type = SLUICE_OPTION_STRING,
     .name = "extra_table",
     .offset = offsetof(struct source_config, extra_table),
     .description = "A table not asked for: every batch with records gets "
                    "one record of it too."},
    MISBEHAVE_OPTIONS(struct source_config),
    {.type = SLUICE_OPTION_STRING,
     .name = "ack_output",
     .flags = PATH_FLAGS,
     .offset = offsetof(struct source_config, ack_output),
     .description = "A file each cdc_ack appends the position it "
                    "acknowledges to, as a line."},
    {.type = SLUICE_OPTION_INT,
     .name = "batch_rows",
     .default_value = "0",
     .flags = SLUICE_OPTION_RANGE,
     .offset = offsetof(struct source_config, batch_rows),
     .min = 0,
     .max = 100000000,
     .description = "Snapshot rows per batch at most; 0: as many as the "
                    "batch takes."},
    {0},
};

static const char *const source_callbacks[] = {"open",
                                               "close",
                                               "list_tables",
                                               "snapshot_begin",
                                               "snapshot_partitions",
                                               "snapshot_next",
                                               "estimate_rows",
                                               "cdc_start",
                                               "cdc_poll",
                                               "cdc_ack",
                                               NULL};

struct source {
    const struct source_config *cfg;
    int64_t next_change;    /* CDC position: index of the next change */
    int64_t last_change_ms; /* when the last one was given (change_every) */
    int64_t acked;
    char **tables; /* the tables CDC follows */
    size_t table_count;
};

static sluice_status source_open(sluice_context *ctx, const void *config,
                                 void **instance, sluice_error *err)
{
    (void)ctx;
    const struct source_config *cfg = config;
    if (misbehave_valid(&cfg->misbehave, source_callbacks, err) != SLUICE_OK)
        return SLUICE_FATAL;
    MISBEHAVE(&cfg->misbehave, "open", err);
    struct source *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_fail(err, SLUICE_FATAL, "memory_source: out of memory");
    s->cfg = config;
    s->acked = -1;
    *instance = s;
    return SLUICE_OK;
}

static void free_tables(struct source *s)
{
    for (size_t i = 0; i < s->table_count; i++)
        free(s->tables[i]);
    free(s->tables);
    s->tables = NULL;
    s->table_count = 0;
}

static void source_close(void *instance)
{
    struct source *s = instance;
    misbehave(&s->cfg->misbehave, "close", NULL);
    free_tables(s);
    free(s);
}

static sluice_status source_list_tables(void *instance, sluice_values *out,
                                        sluice_error *err)
{
    struct source *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "list_tables", err);
    for (size_t i = 0; i < s->cfg->tables.count; i++) {
        const char *t = s->cfg->tables.items[i];
        if (host->values_add(out, t, strlen(t), err) != SLUICE_OK)
            return SLUICE_FATAL;
    }
    return SLUICE_OK;
}

/* A record of `table`; changed_at_ms, when not 0, is when it changed
 * (said from ABI 1.2 on). */
static sluice_status add_row(sluice_batch *batch, const char *table,
                             sluice_op op, int64_t key, uint64_t version,
                             int64_t changed_at_ms, sluice_error *err)
{
    char k[32], doc[256];
    int kl = snprintf(k, sizeof k, "%lld", (long long)key);
    int dl = snprintf(doc, sizeof doc, "{\"_id\":%lld,\"table\":\"%s\"}",
                      (long long)key, table);
    sluice_record r = {.size = sizeof r,
                       .op = op,
                       .table = table,
                       .table_len = strlen(table),
                       .key = k,
                       .key_len = (size_t)kl,
                       .doc = doc,
                       .doc_len = (size_t)dl,
                       .version = version};
#if SLUICE_ABI_AT_LEAST(1, 2)
    r.changed_at_ms = changed_at_ms;
#else
    (void)changed_at_ms;
#endif
    return host->batch_add(batch, &r, err);
}

/* extra_table: one record of it, when the batch has records. */
static sluice_status add_extra(const struct source *s, sluice_batch *batch,
                               sluice_op op, int64_t key, sluice_error *err)
{
    if (!s->cfg->extra_table || !host->batch_count(batch))
        return SLUICE_OK;
    return add_row(batch, s->cfg->extra_table, op, key, 1, 0, err);
}

static sluice_status source_snapshot_begin(void *instance, sluice_values *out,
                                           sluice_error *err)
{
    struct source *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "snapshot_begin", err);
    return host->values_add(out, "0", 1, err);
}

/* A partition's progress: "FIRST-END@NEXT", keys FIRST <= k < END. */
static sluice_status source_partitions(void *instance, const char *table,
                                       sluice_values *out, sluice_error *err)
{
    struct source *s = instance;
    (void)table;
    MISBEHAVE(&s->cfg->misbehave, "snapshot_partitions", err);
    int64_t n = s->cfg->partitions, rows = s->cfg->rows;
    for (int64_t i = 0; i < n; i++) {
        char p[64];
        int64_t first = rows * i / n, end = rows * (i + 1) / n;
        int len = snprintf(p, sizeof p, "%lld-%lld@%lld", (long long)first,
                           (long long)end, (long long)first);
        if (host->values_add(out, p, (size_t)len, err) != SLUICE_OK)
            return SLUICE_FATAL;
    }
    return SLUICE_OK;
}

static sluice_status source_snapshot_next(void *instance, const char *table,
                                          const void *progress, size_t len,
                                          sluice_batch *batch,
                                          sluice_error *err)
{
    struct source *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "snapshot_next", err);
    char text[64];
    long long first, end, next;
    if (len >= sizeof text)
        return sluice_fail(err, SLUICE_FATAL, "memory_source: bad progress");
    memcpy(text, progress, len);
    text[len] = '\0';
    if (sscanf(text, "%lld-%lld@%lld", &first, &end, &next) != 3)
        return sluice_fail(err, SLUICE_FATAL,
                           "memory_source: bad progress '%s'", text);
    int64_t most = s->cfg->batch_rows ? s->cfg->batch_rows : end - next;
    for (int64_t added = 0;
         next < end && added < most && !host->batch_full(batch); added++) {
        if (add_row(batch, table, SLUICE_OP_SNAPSHOT, next, 1, 0, err) !=
            SLUICE_OK)
            return SLUICE_FATAL;
        next++;
    }
    if (add_extra(s, batch, SLUICE_OP_SNAPSHOT, next, err) != SLUICE_OK)
        return SLUICE_FATAL;
    int n = snprintf(text, sizeof text, "%lld-%lld@%lld", first, end, next);
    if (host->batch_set_position(batch, text, (size_t)n, err) != SLUICE_OK)
        return SLUICE_FATAL;
    return next >= end ? SLUICE_DONE : SLUICE_OK;
}

static sluice_status source_estimate(void *instance, const char *table,
                                     uint64_t *rows, sluice_error *err)
{
    struct source *s = instance;
    (void)table;
    MISBEHAVE(&s->cfg->misbehave, "estimate_rows", err);
    *rows = (uint64_t)s->cfg->rows;
    return SLUICE_OK;
}

static int64_t parse_position(const void *position, size_t len)
{
    char text[32];
    if (len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, position, len);
    text[len] = '\0';
    return strtoll(text, NULL, 10);
}

static sluice_status source_cdc_start(void *instance,
                                      const char *const *tables, size_t count,
                                      const void *position, size_t len,
                                      sluice_error *err)
{
    struct source *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "cdc_start", err);
    int64_t at = parse_position(position, len);
    if (at < 0)
        return sluice_fail(err, SLUICE_FATAL,
                           "memory_source: bad CDC position");
    free_tables(s);
    s->tables = calloc(count ? count : 1, sizeof *s->tables);
    for (size_t i = 0; s->tables && i < count; i++)
        s->tables[s->table_count++] = strdup(tables[i]);
    s->next_change = at;
    s->acked = -1; /* a new stream (a resync's starts over): its acks
                      go forward from its own start */
    return SLUICE_OK;
}

static sluice_status source_cdc_poll(void *instance, sluice_batch *batch,
                                     int64_t timeout_ms, sluice_error *err)
{
    struct source *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "cdc_poll", err);
    int64_t now = host->monotonic_ms(), limit = INT64_MAX;
    if (s->cfg->change_every_ms > 0) { /* one change when due */
        limit = now >= s->last_change_ms + s->cfg->change_every_ms;
        if (limit)
            s->last_change_ms = now;
    }
    if (s->next_change >= s->cfg->changes || s->table_count == 0 || !limit) {
        int64_t wait = timeout_ms < 20 ? timeout_ms : 20;
        struct timespec ts = {0, (long)wait * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int64_t given = 0;
         given < limit && s->next_change < s->cfg->changes && s->table_count &&
         !host->batch_full(batch);
         given++) {
        int64_t i = s->next_change;
        const char *table = s->tables[(size_t)i % s->table_count];
        int64_t at =
            s->cfg->change_age_ms ? host->now_ms() - s->cfg->change_age_ms : 0;
        if (add_row(batch, table, SLUICE_OP_INSERT, s->cfg->rows + i,
                    (uint64_t)(2 + i), at, err) != SLUICE_OK)
            return SLUICE_FATAL;
        s->next_change++;
    }
    if (add_extra(s, batch, SLUICE_OP_INSERT, s->cfg->rows + s->next_change,
                  err) != SLUICE_OK)
        return SLUICE_FATAL;
#if SLUICE_ABI_AT_LEAST(1, 1)
    for (size_t i = 0; s->next_change >= s->cfg->changes &&
                       s->cfg->stop_table && i < s->table_count;
         i++)
        if (!strcmp(s->tables[i], s->cfg->stop_table) &&
            SLUICE_HOST_HAS(host, batch_stop_table)) {
            if (host->batch_stop_table(batch, s->tables[i],
                                       "dropped by the test",
                                       err) != SLUICE_OK)
                return SLUICE_FATAL;
            free(s->tables[i]);
            s->tables[i] = s->tables[--s->table_count];
            break;
        }
#endif
    char text[32];
    int n = snprintf(text, sizeof text, "%lld", (long long)s->next_change);
    return host->batch_set_position(batch, text, (size_t)n, err);
}

static sluice_status source_cdc_ack(void *instance, const void *position,
                                    size_t len, sluice_error *err)
{
    struct source *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "cdc_ack", err);
    int64_t at = parse_position(position, len);
    if (at < s->acked)
        return sluice_fail(err, SLUICE_FATAL,
                           "memory_source: ack went back from %lld to %lld",
                           (long long)s->acked, (long long)at);
    s->acked = at;
    FILE *f = s->cfg->ack_output ? fopen(s->cfg->ack_output, "a") : NULL;
    if (f) {
        fprintf(f, "%lld\n", (long long)at);
        fclose(f);
    } else if (s->cfg->ack_output) {
        return sluice_fail(err, SLUICE_FATAL, "memory_source: cannot open %s",
                           s->cfg->ack_output);
    }
    return SLUICE_OK;
}

static const sluice_source_info memory_source = {
    .size = sizeof(sluice_source_info),
    .name = "memory_source",
    .description = "Test source: deterministic rows and inserts.",
    .capabilities = SLUICE_SOURCE_SNAPSHOT | SLUICE_SOURCE_CDC,
    SLUICE_OPTION_TABLE(source_options),
    .config_size = sizeof(struct source_config),
    .open = source_open,
    .close = source_close,
    .list_tables = source_list_tables,
    .snapshot_begin = source_snapshot_begin,
    .snapshot_partitions = source_partitions,
    .snapshot_next = source_snapshot_next,
    .estimate_rows = source_estimate,
    .cdc_start = source_cdc_start,
    .cdc_poll = source_cdc_poll,
    .cdc_ack = source_cdc_ack,
};

/* ---- memory_sink ------------------------------------------------------ */

struct sink_config {
    const char *output;
    int64_t fail_writes;
    const char *password;
    int64_t pin;
    bool check_callers;
    int64_t write_delay_ms;
    bool keep_rows;
    const char *write_log;
    sluice_string_list refuse_tables;
    struct misbehaviour misbehave;
    const char *url;
    const char *leak;
};

static const sluice_option sink_options[] = {
    {.type = SLUICE_OPTION_STRING,
     .name = "output",
     .flags = PATH_FLAGS,
     .offset = offsetof(struct sink_config, output),
     .description = "A file that each flush rewrites with every table, as "
                    "sorted JSON lines."},
    {.type = SLUICE_OPTION_INT,
     .name = "fail_writes",
     .default_value = "0",
     .flags = SLUICE_OPTION_RANGE,
     .offset = offsetof(struct sink_config, fail_writes),
     .min = 0,
     .max = 1000000,
     .description = "The first N writes return retry."},
    {.type = SLUICE_OPTION_STRING,
     .name = "password",
     .default_value = "",
     .flags = SLUICE_OPTION_SECRET,
     .offset = offsetof(struct sink_config, password),
     .description = "A secret, to test that secrets are never printed."},
    {.type = SLUICE_OPTION_INT,
     .name = "pin",
     .default_value = "0",
     .flags = SLUICE_OPTION_SECRET | SLUICE_OPTION_RANGE,
     .offset = offsetof(struct sink_config, pin),
     .min = 0,
     .max = 9999,
     .description = "A secret number, to test that secrets are never "
                    "printed, even when out of range."},
    {.type = SLUICE_OPTION_BOOL,
     .name = "check_callers",
     .default_value = "false",
     .offset = offsetof(struct sink_config, check_callers),
     .description = "Refuse, as fatal, a call from another thread between "
                    "a thread's write and its flush (what sink.h promises "
                    "a shared instance)."},
    {.type = SLUICE_OPTION_DURATION,
     .name = "write_delay",
     .default_value = "0ms",
     .offset = offsetof(struct sink_config, write_delay_ms),
     .description = "How long each write takes, as a slow sink's would."},
    {.type = SLUICE_OPTION_BOOL,
     .name = "keep_rows",
     .default_value = "true",
     .offset = offsetof(struct sink_config, keep_rows),
     .description = "false: keep nothing, only take write_delay (a slow "
                    "destination of any size)."},
    {.type = SLUICE_OPTION_STRING,
     .name = "write_log",
     .flags = PATH_FLAGS,
     .offset = offsetof(struct sink_config, write_log),
     .description = "A file each write appends a line to: the time it was "
                    "done (Unix ms) and its rows."},
    {.type = SLUICE_OPTION_LIST,
     .name = "refuse_tables",
     .default_value = NULL,
     .offset = offsetof(struct sink_config, refuse_tables),
     .description = "Tables whose setup is refused, as a destination that "
                    "refuses their names would (SLUICE_FATAL_TABLE from ABI "
                    "1.2)."},
    MISBEHAVE_OPTIONS(struct sink_config),
    {.type = SLUICE_OPTION_STRING,
     .name = "url",
     .flags = SLUICE_OPTION_URL,
     .offset = offsetof(struct sink_config, url),
     .description = "A URL, to test that the secrets in it are never "
                    "printed."},
    {.type = SLUICE_OPTION_STRING,
     .name = "leak",
     .offset = offsetof(struct sink_config, leak),
     .description = "On purpose, a careless sink: it logs this text, its "
                    "password and its url when it opens, and fails its "
                    "first write with them and a forged log line, to test "
                    "that the core masks and escapes what a plugin says."},
    {0},
};

static const char *const sink_callbacks[] = {"open",        "close",
                                             "setup_table", "write",
                                             "flush",       "resync_begin",
                                             "resync_swap", "resync_abort",
                                             "drop_table",  NULL};

struct row {
    char *table; /* a destination: "items" or "items_resync" */
    char *key;
    char *doc;
    uint64_t version;
    bool deleted;
};

struct sink {
    const struct sink_config *cfg;
    sluice_context *ctx;
    struct row *rows;
    size_t count, cap;
    size_t sorted;    /* rows[0, sorted) are in compare_rows order */
    char **resyncing; /* tables whose writes go to the shadow */
    size_t resync_count;
    char **tables; /* tables set up */
    size_t table_count;
    int64_t writes;
    bool unflushed; /* `writer` wrote and has not flushed (check_callers) */
    pthread_t writer;
};

/* check_callers: between a thread's write and its flush, no other thread
 * calls the instance. */
static sluice_status check_caller(struct sink *s, sluice_error *err)
{
    if (!s->cfg->check_callers || !s->unflushed ||
        pthread_equal(s->writer, pthread_self()))
        return SLUICE_OK;
    return sluice_fail(err, SLUICE_FATAL,
                       "memory_sink: called by another thread between a "
                       "thread's write and its flush");
}

/* Instances open in the process, shown as the gauge `open_sinks`: a test
 * sees whether pipes share one. And the rows written: built against ABI
 * 1.2 or later, both described; before, not, and the counter named
 * without _total, as plugins of then named theirs (the core appends it). */
static int open_sinks;
#if SLUICE_ABI_AT_LEAST(1, 2)
#define ROWS_WRITTEN "rows_written_total"
#else
#define ROWS_WRITTEN "rows_written"
#endif

static sluice_status describe_metrics(sluice_context *ctx, sluice_error *err)
{
#if SLUICE_ABI_AT_LEAST(1, 2)
    if (!SLUICE_HOST_HAS(host, metric_describe))
        return SLUICE_OK;
    sluice_status st =
        host->metric_describe(ctx, "open_sinks", SLUICE_METRIC_GAUGE,
                              "memory_sink instances open.", err);
    if (st != SLUICE_OK)
        return st;
    return host->metric_describe(ctx, ROWS_WRITTEN, SLUICE_METRIC_COUNTER,
                                 "Rows memory_sink was given to write.", err);
#else
    (void)ctx;
    (void)err;
    return SLUICE_OK;
#endif
}

static sluice_status sink_open(sluice_context *ctx, const void *config,
                               void **instance, sluice_error *err)
{
    const struct sink_config *cfg = config;
    if (misbehave_valid(&cfg->misbehave, sink_callbacks, err) != SLUICE_OK)
        return SLUICE_FATAL;
    MISBEHAVE(&cfg->misbehave, "open", err);
    if (describe_metrics(ctx, err) != SLUICE_OK)
        return SLUICE_FATAL;
    struct sink *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_fail(err, SLUICE_FATAL, "memory_sink: out of memory");
    s->cfg = config;
    s->ctx = ctx;
    *instance = s;
    if (s->cfg->leak) {
        char said[1024];
        snprintf(said, sizeof said, "memory_sink: %s, password %s, url %s",
                 s->cfg->leak, s->cfg->password,
                 s->cfg->url ? s->cfg->url : "");
        host->log(ctx, SLUICE_LOG_WARN, said);
    }
    host->gauge_set(ctx, "open_sinks",
                    __atomic_add_fetch(&open_sinks, 1, __ATOMIC_SEQ_CST));
    return SLUICE_OK;
}

static void free_row(struct row *r)
{
    free(r->table);
    free(r->key);
    free(r->doc);
}

static void sink_close(void *instance)
{
    struct sink *s = instance;
    misbehave(&s->cfg->misbehave, "close", NULL);
    __atomic_sub_fetch(&open_sinks, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < s->count; i++)
        free_row(&s->rows[i]);
    for (size_t i = 0; i < s->resync_count; i++)
        free(s->resyncing[i]);
    for (size_t i = 0; i < s->table_count; i++)
        free(s->tables[i]);
    free(s->rows);
    free(s->resyncing);
    free(s->tables);
    free(s);
}

static bool has(char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static void add_name(char ***list, size_t *n, const char *name)
{
    if (has(*list, *n, name))
        return;
    *list = realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = strdup(name);
}

static void remove_name(char **list, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], name) == 0) {
            free(list[i]);
            list[i] = list[--*n];
            return;
        }
}

/* The table fails alone where the SDK can say so. */
#if SLUICE_ABI_AT_LEAST(1, 2)
#define TABLE_REFUSED SLUICE_FATAL_TABLE
#else
#define TABLE_REFUSED SLUICE_FATAL
#endif

static sluice_status sink_setup(void *instance, const char *table,
                                sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "setup_table", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    for (size_t i = 0; i < s->cfg->refuse_tables.count; i++)
        if (!strcmp(s->cfg->refuse_tables.items[i], table))
            return sluice_fail(err, TABLE_REFUSED,
                               "memory_sink: the destination refuses table "
                               "'%s'",
                               table);
    add_name(&s->tables, &s->table_count, table);
    return SLUICE_OK;
}

/* A row's place against (table, key) in compare_rows order. */
static int row_order(const struct row *r, const char *table, const char *key,
                     size_t key_len)
{
    int c = strcmp(r->table, table);
    if (c)
        return c;
    size_t n = strlen(r->key);
    c = memcmp(r->key, key, n < key_len ? n : key_len);
    return c ? c : (n > key_len) - (n < key_len);
}

/* Searched by halves in the rows the last flush sorted, one by one in
 * those added since: loading many rows does not take the square of their
 * number (which made the runtime tests slow under ThreadSanitizer). */
static struct row *find_row(struct sink *s, const char *table, const char *key,
                            size_t key_len)
{
    size_t lo = 0, hi = s->sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = row_order(&s->rows[mid], table, key, key_len);
        if (c == 0)
            return &s->rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = s->sorted; i < s->count; i++)
        if (row_order(&s->rows[i], table, key, key_len) == 0)
            return &s->rows[i];
    return NULL;
}

/* Keeps the newer of two versions of a key (ReplacingMergeTree). */
static void upsert(struct sink *s, const char *table, const char *key,
                   size_t key_len, const char *doc, size_t doc_len,
                   uint64_t version, bool deleted)
{
    struct row *r = find_row(s, table, key, key_len);
    if (r && r->version > version)
        return;
    if (!r) {
        if (s->count == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
        }
        r = &s->rows[s->count++];
        r->table = strdup(table);
        r->key = strndup(key, key_len);
        r->doc = NULL;
    }
    free(r->doc);
    r->doc = strndup(doc ? doc : "", doc_len);
    r->version = version;
    r->deleted = deleted;
}

/* write_log: when a write was done, and its rows. */
static sluice_status log_write(const char *path, size_t rows,
                               sluice_error *err)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    FILE *f = fopen(path, "a");
    bool written =
        f && fprintf(f, "%lld %zu\n",
                     (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
                     rows) > 0;
    if (f && fclose(f) != 0)
        written = false;
    return written ? SLUICE_OK
                   : sluice_fail(err, SLUICE_FATAL,
                                 "memory_sink: cannot write %s", path);
}

static sluice_status sink_write(void *instance, const sluice_batch *batch,
                                sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "write", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    s->unflushed = false; /* until this write has succeeded */
    if (s->cfg->write_delay_ms > 0) {
        struct timespec ts = {s->cfg->write_delay_ms / 1000,
                              (long)(s->cfg->write_delay_ms % 1000) *
                                  1000000L};
        nanosleep(&ts, NULL);
    }
    if (s->cfg->leak && s->writes == 0)
        return sluice_fail(err, SLUICE_FATAL,
                           "memory_sink: %s, password %s, url %s\n"
                           "2000-01-01T00:00:00.000Z error sluice: forged",
                           s->cfg->leak, s->cfg->password,
                           s->cfg->url ? s->cfg->url : "");
    if (s->writes++ < s->cfg->fail_writes)
        return sluice_fail(err, SLUICE_RETRY,
                           "memory_sink: refusing write %lld of %lld on "
                           "purpose",
                           (long long)s->writes,
                           (long long)s->cfg->fail_writes);
    size_t n = host->batch_count(batch);
    for (size_t i = 0; i < n; i++) {
        sluice_record r = {.size = sizeof r};
        host->batch_get(batch, i, &r);
        char table[256];
        snprintf(table, sizeof table, "%.*s", (int)r.table_len, r.table);
        if (!has(s->tables, s->table_count, table))
            return sluice_fail(err, SLUICE_FATAL,
                               "memory_sink: table '%s' was not set up",
                               table);
        if (has(s->resyncing, s->resync_count, table))
            strncat(table, "_resync", sizeof table - strlen(table) - 1);
        if (s->cfg->keep_rows)
            upsert(s, table, r.key, r.key_len, r.doc, r.doc_len, r.version,
                   r.op == SLUICE_OP_DELETE);
    }
    if (s->cfg->write_log && log_write(s->cfg->write_log, n, err) != SLUICE_OK)
        return SLUICE_FATAL;
    s->unflushed = true;
    s->writer = pthread_self();
    host->counter_add(s->ctx, ROWS_WRITTEN, n);
    return SLUICE_OK;
}

static int compare_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->table, y->table);
    return c ? c : strcmp(x->key, y->key);
}

static sluice_status sink_flush(void *instance, sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "flush", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    s->unflushed = false;
    if (!s->cfg->output)
        return SLUICE_OK;
    qsort(s->rows, s->count, sizeof *s->rows, compare_rows);
    s->sorted = s->count;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->cfg->output);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return sluice_fail(err, SLUICE_RETRY, "memory_sink: cannot write %s",
                           tmp);
    for (size_t i = 0; i < s->count; i++) {
        const struct row *r = &s->rows[i];
        fprintf(f,
                "{\"table\":\"%s\",\"key\":%s,\"version\":%llu,"
                "\"deleted\":%d,\"doc\":%s}\n",
                r->table, r->key, (unsigned long long)r->version, r->deleted,
                r->doc[0] ? r->doc : "null");
    }
    if (fclose(f) != 0 || rename(tmp, s->cfg->output) != 0)
        return sluice_fail(err, SLUICE_RETRY, "memory_sink: cannot write %s",
                           s->cfg->output);
    return SLUICE_OK;
}

static void drop_rows(struct sink *s, const char *table)
{
    s->sorted = 0; /* rows move */
    for (size_t i = 0; i < s->count;) {
        if (strcmp(s->rows[i].table, table) == 0) {
            free_row(&s->rows[i]);
            s->rows[i] = s->rows[--s->count];
        } else {
            i++;
        }
    }
}

static sluice_status sink_resync_begin(void *instance, const char *table,
                                       sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "resync_begin", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    add_name(&s->resyncing, &s->resync_count, table);
    return SLUICE_OK;
}

static sluice_status sink_resync_swap(void *instance, const char *table,
                                      sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "resync_swap", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    char shadow[256];
    snprintf(shadow, sizeof shadow, "%s_resync", table);
    if (!has(s->resyncing, s->resync_count, table))
        return sluice_fail(err, SLUICE_FATAL,
                           "memory_sink: no resync of '%s' to swap", table);
    /* carry over deletes that only the old table has (the rows renamed
     * here and below lose their order) */
    s->sorted = 0;
    for (size_t i = 0; i < s->count; i++) {
        struct row *r = &s->rows[i];
        if (strcmp(r->table, table) == 0 && r->deleted &&
            !find_row(s, shadow, r->key, strlen(r->key))) {
            free(r->table);
            r->table = strdup(shadow);
        }
    }
    drop_rows(s, table);
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->rows[i].table, shadow) == 0) {
            free(s->rows[i].table);
            s->rows[i].table = strdup(table);
        }
    remove_name(s->resyncing, &s->resync_count, table);
    return SLUICE_OK;
}

static sluice_status sink_resync_abort(void *instance, const char *table,
                                       sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "resync_abort", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    char shadow[256];
    snprintf(shadow, sizeof shadow, "%s_resync", table);
    drop_rows(s, shadow);
    remove_name(s->resyncing, &s->resync_count, table);
    return SLUICE_OK;
}

static sluice_status sink_drop(void *instance, const char *table,
                               sluice_error *err)
{
    struct sink *s = instance;
    MISBEHAVE(&s->cfg->misbehave, "drop_table", err);
    if (check_caller(s, err) != SLUICE_OK)
        return SLUICE_FATAL;
    drop_rows(s, table);
    remove_name(s->tables, &s->table_count, table);
    return SLUICE_OK;
}

#if SLUICE_ABI_AT_LEAST(1, 2)
/* A table's destination: the output file and the table (no output: every
 * instance keeps its own rows, and shares no destination). */
static sluice_status sink_destination(const void *config, const char *table,
                                      sluice_values *name, sluice_error *err)
{
    const struct sink_config *cfg = config;
    char text[4096];
    if (cfg->output)
        snprintf(text, sizeof text, "memory:%s/%s", cfg->output, table);
    else
        snprintf(text, sizeof text, "memory:%p/%s", config, table);
    return host->values_add(name, text, strlen(text), err);
}
#endif

static const sluice_sink_info memory_sink = {
    .size = sizeof(sluice_sink_info),
    .name = "memory_sink",
    .description = "Test sink: keeps the newest version of every row.",
    .capabilities = SLUICE_SINK_RESYNC | SLUICE_SINK_DROP,
    SLUICE_OPTION_TABLE(sink_options),
    .config_size = sizeof(struct sink_config),
    .open = sink_open,
    .close = sink_close,
    .setup_table = sink_setup,
    .write = sink_write,
    .flush = sink_flush,
    .resync_begin = sink_resync_begin,
    .resync_swap = sink_resync_swap,
    .resync_abort = sink_resync_abort,
    .drop_table = sink_drop,
#if SLUICE_ABI_AT_LEAST(1, 2)
    .destination = sink_destination,
#endif
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    if (host->register_source(reg, &memory_source, sizeof memory_source,
                              err) != SLUICE_OK)
        return SLUICE_FATAL;
    return host->register_sink(reg, &memory_sink, sizeof memory_sink, err);
}

SLUICE_MODULE("memory", SLUICE_VERSION, "Apache-2.0",
              "In-memory test source and sink", init, NULL)
