/* jsonl_sink.c: an example sink plugin, built out of tree against the
 * installed SDK: it writes JSON-lines files.
 *
 * Each table goes to one file, DIRECTORY/TABLE.jsonl: every record's
 * document as one line, in the order the records arrive (a delete as
 * {"_id":KEY,"_deleted":true}). Beside it, TABLE.jsonl.state holds
 * "VERSION LENGTH": the version of the last record made durable and the
 * file's length just after it.
 *
 * Durable: flush writes the files and fsyncs them, then replaces their
 * state files (write, fsync, rename, fsync the directory).
 *
 * Replays: the core replays a batch whose flush it did not record, so a
 * record whose version is not above the last one of its table is already
 * in the file and is skipped. That needs versions that grow per table in
 * the order records arrive, as jsonl_source's line numbers do; with other
 * sources set skip_replayed = false, and a replayed batch is appended
 * again. Bytes written after the last state (a crash in the middle of a
 * flush) are cut off when the table is set up again.
 *
 * Everything it needs is libc and <sluice/sluice.h>. */
#define _POSIX_C_SOURCE 200809L

#include <sluice/sluice.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const sluice_host_api *host;

/* ---- options ---------------------------------------------------------- */

struct config {
    const char *directory;
    bool skip_replayed;
};

static const sluice_option options[] = {
    {SLUICE_OPTION_FIELD(STRING, struct config, directory),
     .name = "directory", .flags = SLUICE_OPTION_REQUIRED | SLUICE_OPTION_PATH,
     .description = "The folder of the output files (made when missing): "
                    "table T goes to T.jsonl, with its state in "
                    "T.jsonl.state. Relative to the config file's "
                    "directory."},
    {SLUICE_OPTION_FIELD(BOOL, struct config, skip_replayed),
     .name = "skip_replayed", .default_value = "true",
     .description = "Skip a record whose version is not above the last one "
                    "written to its table (a replay). Right for sources "
                    "whose versions grow per table, like jsonl_source."},
    {0},
};

/* ---- the instance ----------------------------------------------------- */

struct table {
    char *name;
    FILE *file;       /* DIRECTORY/NAME.jsonl, appending; NULL: not open */
    uint64_t version; /* of the last record written */
    bool dirty;       /* written since the last flush */
};

struct sink {
    const struct config *cfg;
    struct table *tables;
    size_t count;
};

static sluice_status sink_open(sluice_context *ctx, const void *config,
                               void **instance, sluice_error *err)
{
    (void)ctx;
    struct sink *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_sink: out of memory");
    s->cfg = config;
    *instance = s;
    return SLUICE_OK;
}

static void table_close(struct table *t)
{
    if (t->file)
        fclose(t->file); /* unflushed lines are cut off at the next open */
    t->file = NULL;
}

static void sink_close(void *instance)
{
    struct sink *s = instance;
    for (size_t i = 0; i < s->count; i++) {
        table_close(&s->tables[i]);
        free(s->tables[i].name);
    }
    free(s->tables);
    free(s);
}

/* ---- files ------------------------------------------------------------ */

/* DIRECTORY/TABLE.jsonl followed by `suffix`. */
static sluice_status file_path(const struct sink *s, const char *table,
                               const char *suffix, char *path, size_t size,
                               sluice_error *err)
{
    if (!table[0] || table[0] == '.' || strchr(table, '/'))
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_sink: '%s' cannot be a table name", table);
    int n = snprintf(path, size, "%s/%s.jsonl%s", s->cfg->directory, table,
                     suffix);
    if (n < 0 || (size_t)n >= size)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_sink: path too long");
    return SLUICE_OK;
}

static sluice_status sync_directory(const struct sink *s, sluice_error *err)
{
    int fd = open(s->cfg->directory, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sluice_fail(err, SLUICE_RETRY, "jsonl_sink: fsync %s: %s",
                           s->cfg->directory, strerror(e));
    }
    close(fd);
    return SLUICE_OK;
}

/* Reads TABLE.jsonl.state; *exists is false when there is none. */
static sluice_status read_state(const struct sink *s, const char *table,
                                bool *exists, uint64_t *version,
                                uint64_t *length, sluice_error *err)
{
    char path[4096];
    if (file_path(s, table, ".state", path, sizeof path, err) != SLUICE_OK)
        return SLUICE_FATAL;
    *exists = false;
    *version = *length = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT
                   ? SLUICE_OK
                   : sluice_fail(err, SLUICE_RETRY, "jsonl_sink: %s: %s", path,
                                 strerror(errno));
    unsigned long long v, l;
    int n = fscanf(f, "%llu %llu", &v, &l);
    fclose(f);
    if (n != 2)
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_sink: %s: not VERSION LENGTH", path);
    *exists = true;
    *version = v;
    *length = l;
    return SLUICE_OK;
}

/* Replaces TABLE.jsonl.state durably: a new file, fsynced, renamed over
 * the old one, and the directory fsynced. */
static sluice_status write_state(const struct sink *s, const char *table,
                                 uint64_t version, uint64_t length,
                                 sluice_error *err)
{
    char path[4096], tmp[4096];
    if (file_path(s, table, ".state", path, sizeof path, err) != SLUICE_OK ||
        file_path(s, table, ".state.tmp", tmp, sizeof tmp, err) != SLUICE_OK)
        return SLUICE_FATAL;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return sluice_fail(err, SLUICE_RETRY, "jsonl_sink: %s: %s", tmp,
                           strerror(errno));
    bool ok = fprintf(f, "%llu %llu\n", (unsigned long long)version,
                      (unsigned long long)length) > 0 &&
              fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        return sluice_fail(err, SLUICE_RETRY,
                           "jsonl_sink: cannot write %s: %s", path,
                           strerror(errno));
    return sync_directory(s, err);
}

/* Opens a table's file for appending at the length its state records:
 * bytes after it were never made durable and are cut off. A file that
 * has lines but no state was not written by this sink and is refused. */
static sluice_status table_open(const struct sink *s, struct table *t,
                                sluice_error *err)
{
    char path[4096];
    if (file_path(s, t->name, "", path, sizeof path, err) != SLUICE_OK)
        return SLUICE_FATAL;
    if (mkdir(s->cfg->directory, 0755) != 0 && errno != EEXIST)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_sink: mkdir %s: %s",
                           s->cfg->directory, strerror(errno));
    bool exists;
    uint64_t version, length;
    if (read_state(s, t->name, &exists, &version, &length, err) != SLUICE_OK)
        return SLUICE_FATAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sluice_fail(err, SLUICE_RETRY, "jsonl_sink: %s: %s", path,
                           strerror(e));
    }
    uint64_t size = (uint64_t)st.st_size;
    sluice_status status = SLUICE_OK;
    if (!exists && size > 0)
        status = sluice_fail(err, SLUICE_FATAL,
                             "jsonl_sink: %s has lines but no state file: "
                             "not written by jsonl_sink",
                             path);
    else if (!exists)
        status = write_state(s, t->name, 0, 0, err);
    else if (size < length)
        status = sluice_fail(err, SLUICE_FATAL,
                             "jsonl_sink: %s has %llu bytes, fewer than the "
                             "%llu its state says were durable",
                             path, (unsigned long long)size,
                             (unsigned long long)length);
    else if (size > length &&
             (ftruncate(fd, (off_t)length) != 0 || fsync(fd) != 0))
        status =
            sluice_fail(err, SLUICE_RETRY,
                        "jsonl_sink: cannot cut %s back to %llu bytes: %s",
                        path, (unsigned long long)length, strerror(errno));
    if (status == SLUICE_OK && !(t->file = fdopen(fd, "a")))
        status = sluice_fail(err, SLUICE_FATAL, "jsonl_sink: fdopen: %s",
                             strerror(errno));
    if (status != SLUICE_OK) {
        close(fd);
        return status;
    }
    t->version = version;
    t->dirty = false;
    return SLUICE_OK;
}

/* After a failed write or flush: back to what is durable, so that the
 * core's retry writes the batch again from there. */
static void table_reset(const struct sink *s, struct table *t)
{
    char ignored[256];
    sluice_error e = {ignored, sizeof ignored};
    table_close(t);
    table_open(s, t, &e); /* on failure the next write reports it */
}

static struct table *find_table(struct sink *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->count; i++)
        if (strlen(s->tables[i].name) == len &&
            memcmp(s->tables[i].name, name, len) == 0)
            return &s->tables[i];
    return NULL;
}

/* ---- sluice_sink_info callbacks --------------------------------------- */

static sluice_status sink_setup(void *instance, const char *table,
                                sluice_error *err)
{
    struct sink *s = instance;
    struct table *t = find_table(s, table, strlen(table));
    if (t && t->file)
        return SLUICE_OK;
    if (!t) {
        struct table *more =
            realloc(s->tables, (s->count + 1) * sizeof *s->tables);
        if (!more)
            return sluice_fail(err, SLUICE_FATAL, "jsonl_sink: out of memory");
        s->tables = more;
        t = &s->tables[s->count];
        *t = (struct table){.name = strdup(table)};
        if (!t->name)
            return sluice_fail(err, SLUICE_FATAL, "jsonl_sink: out of memory");
        s->count++;
    }
    return table_open(s, t, err);
}

static bool write_record(struct table *t, const sluice_record *r)
{
    FILE *f = t->file;
    if (r->op == SLUICE_OP_DELETE)
        return fprintf(f, "{\"_id\":%.*s,\"_deleted\":true}\n",
                       (int)r->key_len, r->key) > 0;
    return fwrite(r->doc, 1, r->doc_len, f) == r->doc_len &&
           fputc('\n', f) != EOF;
}

static sluice_status sink_write(void *instance, const sluice_batch *batch,
                                sluice_error *err)
{
    struct sink *s = instance;
    size_t n = host->batch_count(batch);
    for (size_t i = 0; i < n; i++) {
        sluice_record r = {.size = sizeof r};
        host->batch_get(batch, i, &r);
        struct table *t = find_table(s, r.table, r.table_len);
        if (!t)
            return sluice_fail(err, SLUICE_FATAL,
                               "jsonl_sink: table '%.*s' was not set up",
                               (int)r.table_len, r.table);
        sluice_status status = t->file ? SLUICE_OK : table_open(s, t, err);
        if (status != SLUICE_OK)
            return status;
        if (s->cfg->skip_replayed && r.version <= t->version)
            continue; /* already in the file */
        if (!write_record(t, &r)) {
            table_reset(s, t);
            return sluice_fail(err, SLUICE_RETRY,
                               "jsonl_sink: cannot write %s.jsonl", t->name);
        }
        if (r.version > t->version)
            t->version = r.version;
        t->dirty = true;
    }
    return SLUICE_OK;
}

static sluice_status sink_flush(void *instance, sluice_error *err)
{
    struct sink *s = instance;
    for (size_t i = 0; i < s->count; i++) {
        struct table *t = &s->tables[i];
        if (!t->dirty || !t->file)
            continue;
        struct stat st;
        off_t length = -1;
        if (fflush(t->file) == 0 && fsync(fileno(t->file)) == 0 &&
            fstat(fileno(t->file), &st) == 0)
            length = st.st_size;
        if (length < 0) {
            int e = errno;
            table_reset(s, t);
            return sluice_fail(err, SLUICE_RETRY, "jsonl_sink: %s.jsonl: %s",
                               t->name, strerror(e));
        }
        if (write_state(s, t->name, t->version, (uint64_t)length, err) !=
            SLUICE_OK) {
            table_reset(s, t);
            return SLUICE_RETRY;
        }
        t->dirty = false;
    }
    return SLUICE_OK;
}

/* SLUICE_SINK_DROP: the file and its state go; a missing one is fine. */
static sluice_status sink_drop(void *instance, const char *table,
                               sluice_error *err)
{
    struct sink *s = instance;
    struct table *t = find_table(s, table, strlen(table));
    if (t) {
        table_close(t);
        free(t->name);
        *t = s->tables[--s->count];
    }
    const char *suffixes[] = {"", ".state"};
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        if (file_path(s, table, suffixes[i], path, sizeof path, err) !=
            SLUICE_OK)
            return SLUICE_FATAL;
        if (unlink(path) != 0 && errno != ENOENT)
            return sluice_fail(err, SLUICE_RETRY, "jsonl_sink: unlink %s: %s",
                               path, strerror(errno));
    }
    return sync_directory(s, err);
}

static const sluice_sink_info jsonl_sink = {
    .size = sizeof(sluice_sink_info),
    .name = "jsonl_sink",
    .description = "Writes every record to a JSON-lines file per table, "
                   "durably and without duplicating replays.",
    .capabilities = SLUICE_SINK_DROP,
    SLUICE_OPTION_TABLE(options),
    .config_size = sizeof(struct config),
    .open = sink_open,
    .close = sink_close,
    .setup_table = sink_setup,
    .write = sink_write,
    .flush = sink_flush,
    .drop_table = sink_drop,
};

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    return host->register_sink(reg, &jsonl_sink, sizeof jsonl_sink, err);
}

SLUICE_MODULE("jsonl_sink", "1.0.0", "Apache-2.0",
              "A sink of JSON-lines files (an SDK example)", init, NULL)
