/* sink_checks.c: a sink's setup is idempotent and a replayed batch
 * changes nothing.
 *
 * The kit sets up its table (`table` of [conformance NAME]) twice, writes
 * and flushes one batch (snapshot rows, an insert, an update, a delete and
 * a replace, with growing versions) twice in that instance, closes it,
 * and in a fresh instance (as after a crash) sets the table up again and
 * writes and flushes the same batch once more. Every call must return OK.
 *
 * The sink ABI has no read-back, so what a replay did to the destination
 * can only be seen through the `verify` command, which prints the visible
 * rows: its output after the first write must not be empty, and must be
 * the same after each replay and after the second setup. Without it, those
 * two checks are skipped and say so. With the drop capability the table is
 * dropped at the end, twice (a missing table is not an error). The
 * checks run in a child process (isolate.c). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/batch.h"
#include "kit.h"

enum {
    OPEN,
    SETUP_IDEMPOTENT,
    REPLAY_ACCEPTED,
    REPLAY_UNCHANGED,
    SETUP_KEEPS_ROWS,
    DROP_IDEMPOTENT,
    CHECK_COUNT
};

static const char *const check_names[] = {"sink.open",
                                          "sink.setup_idempotent",
                                          "sink.replay_accepted",
                                          "sink.replay_unchanged",
                                          "sink.setup_keeps_rows",
                                          "sink.drop_idempotent",
                                          NULL};

struct outcome {
    enum check_status status;
    char message[1400];
};

struct sink_run {
    const struct live *l;
    struct outcome out[CHECK_COUNT];
    struct sluice_batch batch;
    struct buf rows[3]; /* after the first write, its replay, the setup */
};

static void set(struct sink_run *s, int check, enum check_status st,
                const char *fmt, ...) SLUICE_PRINTF(4, 5);

static void set(struct sink_run *s, int check, enum check_status st,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->out[check].status = st;
    vsnprintf(s->out[check].message, sizeof s->out[check].message, fmt, ap);
    va_end(ap);
}

static void build_batch(struct sluice_batch *b, const char *table)
{
    static const struct {
        sluice_op op;
        const char *key, *doc;
        uint64_t version;
    } rows[] = {
        {SLUICE_OP_SNAPSHOT, "1", "{\"_id\":1,\"name\":\"one\"}", 100},
        {SLUICE_OP_SNAPSHOT, "2", "{\"_id\":2,\"name\":\"two\"}", 100},
        {SLUICE_OP_SNAPSHOT, "\"three\"", "{\"_id\":\"three\",\"n\":3}", 100},
        {SLUICE_OP_INSERT, "4", "{\"_id\":4,\"name\":\"four\"}", 200},
        {SLUICE_OP_UPDATE, "2", "{\"_id\":2,\"name\":\"two, updated\"}", 300},
        {SLUICE_OP_DELETE, "1", "", 400},
        {SLUICE_OP_REPLACE, "4", "{\"_id\":4,\"name\":\"four, replaced\"}",
         500},
    };
    batch_init(b, 0, 0);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        sluice_record r = {.size = sizeof r,
                           .op = rows[i].op,
                           .table = table,
                           .table_len = strlen(table),
                           .key = rows[i].key,
                           .key_len = strlen(rows[i].key),
                           .doc = rows[i].doc,
                           .doc_len = strlen(rows[i].doc),
                           .version = rows[i].version};
        batch_add(b, &r, NULL);
    }
}

static int setup(struct sink_run *s, struct plugin_instance *in,
                 const char *when, struct error *err)
{
    struct call_error ce;
    sluice_status st;
    char text[1200];
    const char *table = s->l->settings.table;
    for (int try = 0;; try++)
        if (!kit_again(st = sink_setup_table(in, table, &ce), try))
            break;
    if (st == SLUICE_OK)
        return 0;
    return error_set(err, "setup_table of '%s' %s %s", table, when,
                     status_text(st, &ce, text, sizeof text));
}

static int write_flush(struct sink_run *s, struct plugin_instance *in,
                       const char *when, struct error *err)
{
    struct call_error ce;
    sluice_status st;
    char text[1200];
    for (int try = 0;; try++)
        if (!kit_again(st = sink_write(in, &s->batch, &ce), try))
            break;
    if (st != SLUICE_OK)
        return error_set(err, "write %s %s", when,
                         status_text(st, &ce, text, sizeof text));
    for (int try = 0;; try++)
        if (!kit_again(st = sink_flush(in, &ce), try))
            break;
    if (st != SLUICE_OK)
        return error_set(err, "flush %s %s", when,
                         status_text(st, &ce, text, sizeof text));
    return 0;
}

/* The visible rows, by the verify command (nothing without one). */
static int observe(struct sink_run *s, struct buf *rows, struct error *err)
{
    buf_append(rows, "", 0);
    if (!s->l->settings.verify)
        return 0;
    if (kit_run_command(s->l->settings.verify, rows, err) < 0)
        return error_prefix(err, "the verify command");
    return 0;
}

static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* "line N was 'X', is 'Y'": the first line where two outputs differ. */
static void difference(const struct buf *was, const struct buf *is, char *out,
                       size_t size)
{
    const char *a = was->data, *b = is->data;
    for (size_t line = 1;; line++) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0 || !a[la] || !b[lb]) {
            snprintf(out, size, "line %zu was '%.*s', is '%.*s'", line,
                     (int)(la > 200 ? 200 : la), a, (int)(lb > 200 ? 200 : lb),
                     b);
            return;
        }
        a += la + 1;
        b += lb + 1;
    }
}

/* First instance: setup twice, the batch written twice. */
static int first_instance(struct sink_run *s, struct plugin_instance *in)
{
    struct error err;
    report_running(s->l->report, check_names[SETUP_IDEMPOTENT]);
    if (setup(s, in, "the first time", &err) < 0 ||
        setup(s, in, "a second time", &err) < 0) {
        set(s, SETUP_IDEMPOTENT, CHECK_FAIL, "%s", err.message);
        return -1;
    }
    set(s, SETUP_IDEMPOTENT, CHECK_PASS,
        "setup_table of '%s' twice in one instance, and again in a fresh "
        "one, returned OK",
        s->l->settings.table);
    report_running(s->l->report, check_names[REPLAY_ACCEPTED]);
    if (write_flush(s, in, "of the batch", &err) < 0 ||
        observe(s, &s->rows[0], &err) < 0 ||
        write_flush(s, in, "of the batch replayed", &err) < 0 ||
        observe(s, &s->rows[1], &err) < 0) {
        set(s, REPLAY_ACCEPTED, CHECK_FAIL, "%s", err.message);
        return -1;
    }
    return 0;
}

/* Fresh instance: setup again over the rows, the batch once more. */
static int second_instance(struct sink_run *s, struct plugin_instance *in)
{
    struct error err;
    report_running(s->l->report, check_names[SETUP_IDEMPOTENT]);
    if (setup(s, in, "in a fresh instance, over rows written before", &err) <
        0) {
        set(s, SETUP_IDEMPOTENT, CHECK_FAIL, "%s", err.message);
        return -1;
    }
    struct buf after = {0};
    int rc = observe(s, &s->rows[2], &err);
    report_running(s->l->report, check_names[REPLAY_ACCEPTED]);
    if (rc == 0)
        rc = write_flush(s, in, "of the batch replayed in a fresh instance",
                         &err);
    if (rc == 0)
        rc = observe(s, &after, &err);
    if (rc < 0) {
        set(s, REPLAY_ACCEPTED, CHECK_FAIL, "%s", err.message);
        buf_free(&after);
        return -1;
    }
    set(s, REPLAY_ACCEPTED, CHECK_PASS,
        "a batch of %zu records written and flushed three times (twice in "
        "one instance, once in a fresh one): OK each time",
        batch_count(&s->batch));
    const char *verify = s->l->settings.verify;
    if (!verify) {
        set(s, REPLAY_UNCHANGED, CHECK_SKIP,
            "no verify command in [conformance %s]: the sink ABI has no "
            "read-back, so only the statuses were checked",
            s->l->plugin->name);
        set(s, SETUP_KEEPS_ROWS, CHECK_SKIP,
            "no verify command in [conformance %s]: setup_table over "
            "written rows returned OK, but the rows cannot be seen",
            s->l->plugin->name);
    } else if (s->rows[0].len == 0) {
        set(s, REPLAY_UNCHANGED, CHECK_FAIL,
            "the verify command printed nothing after the batch was "
            "written: it cannot show what a replay does");
    } else if (!same(&s->rows[0], &s->rows[1]) || !same(&s->rows[0], &after)) {
        bool fresh = same(&s->rows[0], &s->rows[1]);
        char diff[600];
        difference(&s->rows[0], fresh ? &after : &s->rows[1], diff,
                   sizeof diff);
        set(s, REPLAY_UNCHANGED, CHECK_FAIL,
            "the visible rows changed when the batch was replayed%s: %s",
            fresh ? " in a fresh instance" : "", diff);
    } else {
        set(s, REPLAY_UNCHANGED, CHECK_PASS,
            "the verify command printed the same %zu bytes after the batch "
            "and after each replay",
            s->rows[0].len);
    }
    if (verify && !same(&s->rows[1], &s->rows[2])) {
        char diff[600];
        difference(&s->rows[1], &s->rows[2], diff, sizeof diff);
        set(s, SETUP_KEEPS_ROWS, CHECK_FAIL,
            "setup_table over written rows changed them: %s", diff);
    } else if (verify)
        set(s, SETUP_KEEPS_ROWS, CHECK_PASS,
            "setup_table over written rows left them as they were");
    buf_free(&after);
    return 0;
}

static void drop_twice(struct sink_run *s, struct plugin_instance *in)
{
    const char *table = s->l->settings.table;
    report_running(s->l->report, check_names[DROP_IDEMPOTENT]);
    for (int i = 0; i < 2; i++) {
        struct call_error ce;
        sluice_status st;
        char text[1200];
        for (int try = 0;; try++)
            if (!kit_again(st = sink_drop_table(in, table, &ce), try))
                break;
        if (st != SLUICE_OK) {
            set(s, DROP_IDEMPOTENT, CHECK_FAIL, "drop_table of '%s' %s %s",
                table,
                i ? "a second time (a missing table is not an error)"
                  : "the first time",
                status_text(st, &ce, text, sizeof text));
            return;
        }
    }
    set(s, DROP_IDEMPOTENT, CHECK_PASS,
        "drop_table of '%s' twice: OK both times", table);
}

/* sink.open is reported at once (nothing later changes it); the other
 * checks at the end. */
static void run(struct sink_run *s)
{
    struct plugin_instance in;
    struct error err;
    const struct live *l = s->l;
    if (kit_instance_open(l, &in, &err) < 0) {
        report_line(l->report, CHECK_FAIL, l->subject, check_names[OPEN], "%s",
                    err.message);
        return;
    }
    report_line(l->report, CHECK_PASS, l->subject, check_names[OPEN],
                "open returned OK");
    int rc = first_instance(s, &in);
    plugin_close(&in);
    if (rc < 0)
        return;
    report_running(s->l->report, check_names[REPLAY_ACCEPTED]);
    if (kit_instance_open(s->l, &in, &err) < 0) {
        set(s, REPLAY_ACCEPTED, CHECK_FAIL, "a fresh instance: %s",
            err.message);
        return;
    }
    if (second_instance(s, &in) == 0 && in.plugin->info.sink.drop_table)
        drop_twice(s, &in);
    plugin_close(&in);
}

/* In a child: every check, reported at the end. */
static bool sink_work(void *arg)
{
    struct live *l = arg;
    struct sink_run s = {.l = l};
    for (int i = 0; i < CHECK_COUNT; i++)
        set(&s, i, CHECK_SKIP, "an earlier step failed");
    if (!(l->plugin->capabilities & SLUICE_SINK_DROP))
        set(&s, DROP_IDEMPOTENT, CHECK_SKIP,
            "the sink has no drop capability (the kit's table '%s' is left "
            "in place)",
            l->settings.table);
    build_batch(&s.batch, l->settings.table);
    run(&s);
    for (int i = OPEN + 1; i < CHECK_COUNT; i++)
        report_line(l->report, s.out[i].status, l->subject, check_names[i],
                    "%s", s.out[i].message);
    batch_free(&s.batch);
    for (int i = 0; i < 3; i++)
        buf_free(&s.rows[i]);
    return true;
}

void sink_checks(struct live *l)
{
    if (!l->ready)
        report_skip_all(l->report, l->subject, check_names, l->why);
    else
        kit_isolated(l->report, l->subject, check_names, sink_work, l);
}
