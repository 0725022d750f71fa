/* jsonl_source.c: an example source plugin, built out of tree against the
 * installed SDK: it reads JSON-lines files.
 *
 * Each table is one file, DIRECTORY/TABLE.jsonl, holding one JSON object a
 * line. The snapshot reads the complete lines a file has; CDC follows the
 * lines appended after them. A record's key is the line's top-level "_id"
 * value (its JSON text as written) or, without one, the line number; its
 * version is the line number, so versions grow down a file. Positions are
 * text, so that a person can read them: a snapshot partition's progress is
 * "OFFSET LINE END", a CDC position one "OFFSET LINE TABLE" line per table,
 * where OFFSET is the byte after the last line read and LINE its number;
 * the empty CDC position means after the lines the files have now.
 *
 * It only reads, never writes into the directory, and only complete lines
 * (ending in '\n'): a line still being written is read once it is whole.
 * Everything it needs is libc and <sluice/sluice.h>. */
#define _POSIX_C_SOURCE 200809L

#include <sluice/sluice.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const sluice_host_api *host;

#define NO_END ULLONG_MAX /* read_lines: no byte limit */

/* ---- options ---------------------------------------------------------- */

struct config {
    const char *directory;
    sluice_string_list tables;
    int64_t poll_interval_ms;
};

static const sluice_option options[] = {
    {SLUICE_OPTION_FIELD(STRING, struct config, directory),
     .name = "directory", .flags = SLUICE_OPTION_REQUIRED | SLUICE_OPTION_PATH,
     .description = "The folder of the input files: table T is the file "
                    "T.jsonl, one JSON object a line. Relative to the "
                    "config file's directory."},
    {SLUICE_OPTION_FIELD(LIST, struct config, tables), .name = "tables",
     .flags = SLUICE_OPTION_TABLES,
     .description = "The tables to read. Unset: every *.jsonl file of the "
                    "directory when the pipe starts."},
    {SLUICE_OPTION_FIELD(DURATION, struct config, poll_interval_ms),
     .name = "poll_interval", .default_value = "200ms",
     .flags = SLUICE_OPTION_RANGE, .min = 10, .max = 60000,
     .description = "How often change data capture looks for appended "
                    "lines."},
    {0},
};

/* ---- the instance ----------------------------------------------------- */

/* How far one table has been read: the byte after the last line read, and
 * that line's number (0 before the first). */
struct cursor {
    char *table;
    unsigned long long offset, line;
};

struct source {
    const struct config *cfg;
    struct cursor *cursors; /* the tables CDC follows */
    size_t cursor_count;
    char *line; /* getline's buffer */
    size_t line_cap;
};

static sluice_status source_open(sluice_context *ctx, const void *config,
                                 void **instance, sluice_error *err)
{
    (void)ctx;
    struct source *s = calloc(1, sizeof *s);
    if (!s)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    s->cfg = config;
    *instance = s;
    return SLUICE_OK;
}

static void free_cursors(struct source *s)
{
    for (size_t i = 0; i < s->cursor_count; i++)
        free(s->cursors[i].table);
    free(s->cursors);
    s->cursors = NULL;
    s->cursor_count = 0;
}

static void source_close(void *instance)
{
    struct source *s = instance;
    free_cursors(s);
    free(s->line);
    free(s);
}

/* ---- files and tables ------------------------------------------------- */

/* A table names a file inside the directory, nothing else. */
static bool table_name_ok(const char *table)
{
    return table[0] != '\0' && table[0] != '.' && !strchr(table, '/') &&
           !strchr(table, '\n') && strlen(table) < 200;
}

static sluice_status table_path(const struct source *s, const char *table,
                                char *path, size_t size, sluice_error *err)
{
    if (!table_name_ok(table))
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_source: '%s' cannot be a table name", table);
    int n = snprintf(path, size, "%s/%s.jsonl", s->cfg->directory, table);
    if (n < 0 || (size_t)n >= size)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: path too long");
    return SLUICE_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* The tables: the `tables` option, or else every T.jsonl of the directory,
 * sorted. The caller frees them with free_names. */
static sluice_status table_names(const struct source *s, char ***out,
                                 size_t *count, sluice_error *err)
{
    const sluice_string_list *listed = &s->cfg->tables;
    size_t n = 0, cap = listed->count + 16;
    bool out_of_memory = false;
    char **names = calloc(cap, sizeof *names);
    if (!names)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    for (size_t i = 0; i < listed->count && !out_of_memory; i++) {
        names[n] = strdup(listed->items[i]);
        out_of_memory = !names[n++];
    }
    DIR *dir = listed->count ? NULL : opendir(s->cfg->directory);
    if (!listed->count && !dir) {
        free(names);
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_source: cannot read directory %s: %s",
                           s->cfg->directory, strerror(errno));
    }
    struct dirent *e;
    while (dir && !out_of_memory && (e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 6 || strcmp(e->d_name + len - 6, ".jsonl") != 0)
            continue;
        if (n == cap) {
            char **more = realloc(names, 2 * cap * sizeof *names);
            if (!more) {
                out_of_memory = true;
                break;
            }
            names = more;
            cap *= 2;
        }
        names[n] = strndup(e->d_name, len - 6);
        out_of_memory = !names[n];
        if (names[n] && table_name_ok(names[n]))
            n++;
        else
            free(names[n]);
    }
    if (dir)
        closedir(dir);
    if (out_of_memory) {
        free_names(names, n);
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    }
    qsort(names, n, sizeof *names, compare_names);
    *out = names;
    *count = n;
    return SLUICE_OK;
}

/* Where the complete lines of a file end, and how many there are. A file
 * that does not exist (yet) is empty. */
static sluice_status complete_lines(const struct source *s, const char *table,
                                    unsigned long long *end,
                                    unsigned long long *lines,
                                    sluice_error *err)
{
    char path[4096];
    if (table_path(s, table, path, sizeof path, err) != SLUICE_OK)
        return SLUICE_FATAL;
    *end = 0;
    *lines = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT
                   ? SLUICE_OK
                   : sluice_fail(err, SLUICE_RETRY, "jsonl_source: %s: %s",
                                 path, strerror(errno));
    char chunk[65536];
    unsigned long long at = 0;
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        for (size_t i = 0; i < got; i++)
            if (chunk[i] == '\n') {
                *end = at + i + 1;
                (*lines)++;
            }
        at += got;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed)
        return sluice_fail(err, SLUICE_RETRY, "jsonl_source: cannot read %s",
                           path);
    return SLUICE_OK;
}

/* ---- the tiny JSON scan ----------------------------------------------- */
/* Just enough of JSON to find the value of an object's top-level "_id"
 * member; the document itself goes on as the text it is. */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p is at a '"': the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* The byte after the value that starts at p, or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_string(p, end);
    if (p < end && (*p == '{' || *p == '[')) {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *start = p; /* number, true, false, null */
    while (p < end && !strchr(",}] \t\r\n", *p))
        p++;
    return p > start ? p : NULL;
}

/* 1 and the value's text when the object has a top-level "_id", 0 when it
 * has none, -1 when the text is not a JSON object. */
static int find_id(const char *text, size_t len, const char **value,
                   size_t *value_len)
{
    const char *p = skip_space(text, text + len), *end = text + len;
    if (p == end || *p != '{')
        return -1;
    p = skip_space(p + 1, end);
    while (p < end && *p != '}') {
        if (*p != '"')
            return -1;
        const char *key = p + 1, *after = skip_string(p, end);
        if (!after)
            return -1;
        p = skip_space(after, end);
        if (p == end || *p != ':')
            return -1;
        const char *v = skip_space(p + 1, end);
        p = skip_value(v, end);
        if (!p)
            return -1;
        if (after - 1 - key == 3 && memcmp(key, "_id", 3) == 0) {
            *value = v;
            *value_len = (size_t)(p - v);
            return 1;
        }
        p = skip_space(p, end);
        if (p < end && *p == ',')
            p = skip_space(p + 1, end);
    }
    return p < end ? 0 : -1;
}

/* ---- reading lines into batches --------------------------------------- */

/* changed_at_ms: when the line was written, 0 when unknown. */
static sluice_status add_line(const char *table, sluice_op op,
                              const char *text, size_t len,
                              unsigned long long line, int64_t changed_at_ms,
                              sluice_batch *batch, sluice_error *err)
{
    const char *key;
    size_t key_len;
    char number[32];
    int found = find_id(text, len, &key, &key_len);
    if (found < 0)
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_source: %s.jsonl:%llu: not a JSON object",
                           table, line);
    if (found == 0) {
        key_len = (size_t)snprintf(number, sizeof number, "%llu", line);
        key = number;
    }
    sluice_record r = {.size = sizeof r,
                       .op = op,
                       .table = table,
                       .table_len = strlen(table),
                       .key = key,
                       .key_len = key_len,
                       .doc = text,
                       .doc_len = len,
                       .version = line,
                       .changed_at_ms = changed_at_ms};
    return host->batch_add(batch, &r, err);
}

/* Adds the complete lines of `table` after c->offset, up to byte `end`
 * (NO_END: to the end of the file), as records of `op`, until
 * host->batch_full, and moves the cursor past them. *full says the batch
 * stopped it. Blank lines are counted and skipped. A change (not a
 * snapshot row) is timed by the file's last modification: the line was
 * appended then or a little before. */
static sluice_status read_lines(struct source *s, struct cursor *c,
                                sluice_op op, unsigned long long end,
                                sluice_batch *batch, size_t *added, bool *full,
                                sluice_error *err)
{
    char path[4096];
    *full = false;
    if (table_path(s, c->table, path, sizeof path, err) != SLUICE_OK)
        return SLUICE_FATAL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT && c->offset == 0
                   ? SLUICE_OK
                   : sluice_fail(err, SLUICE_RETRY, "jsonl_source: %s: %s",
                                 path, strerror(errno));
    struct stat st;
    bool stated = fstat(fileno(f), &st) == 0;
    int64_t changed_at_ms =
        stated && op != SLUICE_OP_SNAPSHOT
            ? (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000
            : 0;
    if (stated && (unsigned long long)st.st_size < c->offset) {
        fclose(f);
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_source: %s is shorter than the position "
                           "(%llu bytes read): it was truncated or replaced",
                           path, c->offset);
    }
    sluice_status status = SLUICE_OK;
    if (fseeko(f, (off_t)c->offset, SEEK_SET) != 0)
        status = sluice_fail(err, SLUICE_RETRY, "jsonl_source: %s: %s", path,
                             strerror(errno));
    while (status == SLUICE_OK && c->offset < end) {
        if (host->batch_full(batch)) {
            *full = true;
            break;
        }
        ssize_t n = getline(&s->line, &s->line_cap, f);
        if (n <= 0 || s->line[n - 1] != '\n')
            break; /* the end, or a line not yet whole */
        if (n > 1) {
            status = add_line(c->table, op, s->line, (size_t)n - 1,
                              c->line + 1, changed_at_ms, batch, err);
            (*added)++;
        }
        c->offset += (unsigned long long)n;
        c->line++;
    }
    fclose(f);
    return status;
}

/* A CDC position: one "OFFSET LINE TABLE" line per cursor, in *text
 * (malloc'd, for the caller to free). */
static sluice_status format_position(const struct cursor *cursors,
                                     size_t count, char **text, size_t *len,
                                     sluice_error *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < count; i++)
        cap += 2 * 21 + 2 + strlen(cursors[i].table) + 1;
    *text = malloc(cap);
    *len = 0;
    if (!*text)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    for (size_t i = 0; i < count; i++)
        *len += (size_t)snprintf(*text + *len, cap - *len, "%llu %llu %s\n",
                                 cursors[i].offset, cursors[i].line,
                                 cursors[i].table);
    return SLUICE_OK;
}

/* ---- sluice_source_info callbacks ------------------------------------- */

static sluice_status source_list_tables(void *instance, sluice_values *out,
                                        sluice_error *err)
{
    char **names;
    size_t count;
    if (table_names(instance, &names, &count, err) != SLUICE_OK)
        return SLUICE_FATAL;
    sluice_status status = SLUICE_OK;
    for (size_t i = 0; i < count && status == SLUICE_OK; i++)
        status = host->values_add(out, names[i], strlen(names[i]), err);
    free_names(names, count);
    return status;
}

/* The CDC start: where the complete lines of every table end now. */
static sluice_status source_snapshot_begin(void *instance, sluice_values *out,
                                           sluice_error *err)
{
    char **names;
    size_t count;
    if (table_names(instance, &names, &count, err) != SLUICE_OK)
        return SLUICE_FATAL;
    struct cursor *ends = calloc(count + 1, sizeof *ends);
    sluice_status status =
        ends ? SLUICE_OK
             : sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    for (size_t i = 0; i < count && status == SLUICE_OK; i++) {
        ends[i].table = names[i];
        status = complete_lines(instance, names[i], &ends[i].offset,
                                &ends[i].line, err);
    }
    char *text = NULL;
    size_t len = 0;
    if (status == SLUICE_OK)
        status = format_position(ends, count, &text, &len, err);
    if (status == SLUICE_OK)
        status = host->values_add(out, text, len, err);
    free(text);
    free(ends);
    free_names(names, count);
    return status;
}

/* One partition a table: its complete lines as they are now. */
static sluice_status source_partitions(void *instance, const char *table,
                                       sluice_values *out, sluice_error *err)
{
    unsigned long long end, lines;
    sluice_status status = complete_lines(instance, table, &end, &lines, err);
    if (status != SLUICE_OK)
        return status;
    char text[64];
    int n = snprintf(text, sizeof text, "0 0 %llu", end);
    return host->values_add(out, text, (size_t)n, err);
}

static sluice_status source_snapshot_next(void *instance, const char *table,
                                          const void *progress, size_t len,
                                          sluice_batch *batch,
                                          sluice_error *err)
{
    char text[64];
    unsigned long long end;
    struct cursor c = {.table = (char *)table};
    if (len >= sizeof text)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: bad progress");
    memcpy(text, progress, len);
    text[len] = '\0';
    if (sscanf(text, "%llu %llu %llu", &c.offset, &c.line, &end) != 3)
        return sluice_fail(err, SLUICE_FATAL,
                           "jsonl_source: bad progress '%s'", text);
    size_t added = 0;
    bool full;
    sluice_status status = read_lines(instance, &c, SLUICE_OP_SNAPSHOT, end,
                                      batch, &added, &full, err);
    if (status != SLUICE_OK)
        return status;
    int n =
        snprintf(text, sizeof text, "%llu %llu %llu", c.offset, c.line, end);
    if (host->batch_set_position(batch, text, (size_t)n, err) != SLUICE_OK)
        return SLUICE_FATAL;
    return full ? SLUICE_OK : SLUICE_DONE;
}

static sluice_status source_estimate(void *instance, const char *table,
                                     uint64_t *rows, sluice_error *err)
{
    unsigned long long end, lines;
    sluice_status status = complete_lines(instance, table, &end, &lines, err);
    if (status != SLUICE_OK)
        return status;
    *rows = lines;
    return SLUICE_OK;
}

/* Where `table` is in a CDC position; 0 0 when it is not there (a table
 * added since: its file is followed from its start). */
static void position_of(const char *position, const char *table,
                        struct cursor *c)
{
    c->offset = c->line = 0;
    for (const char *p = position; *p;) {
        size_t len = strcspn(p, "\n");
        unsigned long long offset, line;
        int name_at = 0;
        if (sscanf(p, "%llu %llu %n", &offset, &line, &name_at) == 2 &&
            name_at > 0 && (size_t)name_at <= len &&
            len - (size_t)name_at == strlen(table) &&
            memcmp(p + name_at, table, strlen(table)) == 0) {
            c->offset = offset;
            c->line = line;
            return;
        }
        p += len + (p[len] == '\n');
    }
}

static sluice_status source_cdc_start(void *instance,
                                      const char *const *tables, size_t count,
                                      const void *position, size_t len,
                                      sluice_error *err)
{
    struct source *s = instance;
    char *text = malloc(len + 1);
    if (!text)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    memcpy(text, position, len);
    text[len] = '\0';
    free_cursors(s);
    s->cursors = calloc(count + 1, sizeof *s->cursors);
    for (size_t i = 0; s->cursors && i < count; i++) {
        struct cursor *c = &s->cursors[s->cursor_count];
        c->table = strdup(tables[i]);
        if (!c->table)
            break;
        position_of(text, tables[i], c);
        s->cursor_count++;
    }
    free(text);
    if (!s->cursors || s->cursor_count < count)
        return sluice_fail(err, SLUICE_FATAL, "jsonl_source: out of memory");
    /* the empty position: from now, after the lines there are */
    for (size_t i = 0; len == 0 && i < s->cursor_count; i++) {
        struct cursor *c = &s->cursors[i];
        sluice_status status =
            complete_lines(s, c->table, &c->offset, &c->line, err);
        if (status != SLUICE_OK)
            return status;
    }
    return SLUICE_OK;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Looks for appended lines every poll_interval until some arrive, the
 * batch is full, or timeout_ms has passed. */
static sluice_status source_cdc_poll(void *instance, sluice_batch *batch,
                                     int64_t timeout_ms, sluice_error *err)
{
    struct source *s = instance;
    int64_t deadline = host->monotonic_ms() + timeout_ms;
    for (;;) {
        size_t added = 0;
        bool full = false;
        for (size_t i = 0; i < s->cursor_count && !full; i++) {
            sluice_status status =
                read_lines(s, &s->cursors[i], SLUICE_OP_INSERT, NO_END, batch,
                           &added, &full, err);
            if (status != SLUICE_OK)
                return status;
        }
        int64_t left = deadline - host->monotonic_ms();
        if (added || full || left <= 0)
            break;
        sleep_ms(left < s->cfg->poll_interval_ms ? left
                                                 : s->cfg->poll_interval_ms);
    }
    char *text;
    size_t len;
    if (format_position(s->cursors, s->cursor_count, &text, &len, err) !=
        SLUICE_OK)
        return SLUICE_FATAL;
    sluice_status status = host->batch_set_position(batch, text, len, err);
    free(text);
    return status;
}

/* Files keep their history: nothing to release. */
static sluice_status source_cdc_ack(void *instance, const void *position,
                                    size_t len, sluice_error *err)
{
    (void)instance, (void)position, (void)len, (void)err;
    return SLUICE_OK;
}

static const sluice_source_info jsonl_source = {
    .size = sizeof(sluice_source_info),
    .name = "jsonl_source",
    .description = "Reads JSON-lines files, one a table: their lines, then "
                   "the lines appended to them.",
    .capabilities = SLUICE_SOURCE_SNAPSHOT | SLUICE_SOURCE_CDC,
    SLUICE_OPTION_TABLE(options),
    .config_size = sizeof(struct config),
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

static sluice_status init(sluice_registrar *reg, const sluice_host_api *api,
                          sluice_error *err)
{
    host = api;
    return host->register_source(reg, &jsonl_source, sizeof jsonl_source, err);
}

SLUICE_MODULE("jsonl_source", "1.0.0", "Apache-2.0",
              "A source of JSON-lines files (an SDK example)", init, NULL)
