/* source_cdc.c: a source's change stream, followed and then resumed.
 *
 * cdc.forward: a fresh instance starts at the position snapshot_begin
 * gives (a source without a snapshot: at the empty position), the
 * `changes` command runs, and cdc_poll is called for cdc_time, each
 * position acknowledged. The rule for opaque positions: every cdc_poll
 * sets a position; a batch that holds records ends at a position other
 * than the one before it; and once the position has moved on from a
 * value, that value never comes back (the start position included).
 * Every record is a change (not `snapshot`); at least expect_changes
 * arrive.
 *
 * cdc.resume: from every distinct position seen (at most max_resumes,
 * spread evenly, the last always among them), a fresh instance calls
 * cdc_start and polls: nothing delivered at or before that position comes
 * again, and nothing after it is lost. Changes are told apart by table,
 * key, operation and version; changes the first run never saw (the
 * source kept changing) are allowed.
 *
 * cdc.poll_waits: over both, a cdc_poll that brings nothing waits for
 * changes (up to its timeout_ms) instead of returning at once: a source
 * whose empty polls (10 or more) took under 1 ms on average ignores its
 * timeout, and the core would call it in a busy loop. The bound is a
 * lower one, so a slow machine cannot make a waiting source fail it. */
#include <stdlib.h>
#include <string.h>

#include "../plugin/batch.h"
#include "../plugin/values.h"
#include "../util/clock.h"
#include "../util/mem.h"
#include "kit.h"
#include "records.h"

/* How long a resume from the last position polls for redeliveries. */
#define QUIET_MS 1000
/* cdc.poll_waits: how many empty polls it takes to judge, and the
 * shortest timeout under which waiting can be told from not waiting. */
#define EMPTY_POLLS_JUDGED 10
#define TIMEOUT_JUDGED_MS 10

/* The polls that brought nothing, and the time they took. */
struct empty_polls {
    size_t count;
    int64_t ms;
};

struct stream {
    struct rec_list records; /* in delivery order */
    struct marks marks;      /* distinct positions, the start first */
    size_t polls;
};

static void stream_free(struct stream *s)
{
    rec_list_free(&s->records);
    marks_free(&s->marks);
}

/* The position rules for one batch (see the top of the file). */
static int check_position(const struct stream *s, const sluice_batch *b,
                          struct error *err)
{
    char pos[160];
    const struct mark *last = &s->marks.items[s->marks.count - 1];
    size_t n = batch_count(b);
    position_describe(b->position.data, b->position.len, pos, sizeof pos);
    if (position_equal(&last->position, b->position.data, b->position.len)) {
        if (n)
            return error_set(err,
                             "cdc_poll delivered %zu records and ended "
                             "at the position it started from, %s: "
                             "resuming there would deliver them again",
                             n, pos);
        return 0;
    }
    for (size_t i = 0; i + 1 < s->marks.count; i++)
        if (position_equal(&s->marks.items[i].position, b->position.data,
                           b->position.len))
            return error_set(err,
                             "the position went back to %s, which came "
                             "before %zu later positions",
                             pos, s->marks.count - 1 - i);
    for (size_t i = 0; i < n; i++) {
        sluice_record r = {.size = sizeof r};
        batch_get(b, i, &r);
        if (r.op == SLUICE_OP_SNAPSHOT)
            return error_set(err, "cdc_poll delivered a record with "
                                  "operation 'snapshot'");
    }
    return 0;
}

/* Polls until `time_ms` has passed, or `want` records (when > 0) have
 * arrived and a poll brought nothing more; acknowledges every position. */
static int poll_stream(const struct live *l, struct plugin_instance *in,
                       size_t want, int64_t time_ms, struct stream *s,
                       struct empty_polls *empty, struct error *err)
{
    int64_t until = clock_monotonic_ms() + time_ms;
    struct sluice_batch b;
    batch_init(&b, (size_t)l->settings.batch_records, 0);
    int rc = 0;
    char text[1200];
    while (rc == 0 && clock_monotonic_ms() < until) {
        struct call_error ce;
        sluice_status st;
        int64_t called = clock_monotonic_ms();
        for (int try = 0;; try++) {
            batch_reset(&b);
            if (!kit_again(st = source_cdc_poll(in, &b,
                                                l->settings.poll_timeout_ms,
                                                &ce),
                           try))
                break;
        }
        s->polls++;
        if (st == SLUICE_OK && batch_count(&b) == 0) {
            empty->count++;
            empty->ms += clock_monotonic_ms() - called;
        }
        if (st != SLUICE_OK && st != SLUICE_DONE) {
            rc = error_set(err, "cdc_poll %s",
                           status_text(st, &ce, text, sizeof text));
            break;
        }
        if (!b.has_position) {
            rc = error_set(err, "cdc_poll returned without setting the batch "
                                "position");
            break;
        }
        if ((rc = check_position(s, &b, err)) < 0)
            break;
        size_t n = batch_count(&b);
        rec_list_add_batch(&s->records, &b, true);
        const struct mark *last = &s->marks.items[s->marks.count - 1];
        if (!position_equal(&last->position, b.position.data, b.position.len))
            marks_add(&s->marks, b.position.data, b.position.len,
                      s->records.count);
        for (int try = 0;; try++)
            if (!kit_again(st = source_cdc_ack(in, b.position.data,
                                               b.position.len, &ce),
                           try))
                break;
        if (st != SLUICE_OK)
            rc = error_set(err, "cdc_ack %s",
                           status_text(st, &ce, text, sizeof text));
        if (want && s->records.count >= want && n == 0)
            break;
    }
    batch_free(&b);
    return rc;
}

static int start(struct plugin_instance *in, const char *const *tables,
                 size_t n, const struct buf *at, struct error *err)
{
    struct call_error ce;
    sluice_status st;
    char text[1200], pos[160];
    for (int try = 0;; try++)
        if (!kit_again(st = source_cdc_start(in, tables, n, at->data, at->len,
                                             &ce),
                       try))
            break;
    if (st == SLUICE_OK)
        return 0;
    position_describe(at->data, at->len, pos, sizeof pos);
    return error_set(err, "cdc_start from %s %s", pos,
                     status_text(st, &ce, text, sizeof text));
}

static int follow(const struct live *l, const char *const *tables, size_t n,
                  struct stream *s, struct empty_polls *empty,
                  struct error *err)
{
    struct plugin_instance in;
    if (kit_instance_open(l, &in, err) < 0)
        return -1;
    struct buf at = {0};
    int rc = 0;
    buf_append(&at, "", 0); /* a source without a snapshot: empty */
    if (l->plugin->info.source.snapshot_begin)
        rc = source_begin(&in, &at, err);
    if (rc == 0)
        marks_add(&s->marks, at.data, at.len, 0);
    if (rc == 0)
        rc = start(&in, tables, n, &at, err);
    if (rc == 0 && l->settings.changes &&
        kit_run_command(l->settings.changes, NULL, err) < 0)
        rc = error_prefix(err, "the changes command");
    if (rc == 0)
        rc = poll_stream(l, &in, (size_t)l->settings.expect_changes,
                         l->settings.cdc_time_ms, s, empty, err);
    plugin_close(&in);
    buf_free(&at);
    if (rc == 0 && s->records.count < (size_t)l->settings.expect_changes)
        rc = error_set(err,
                       "%zu changes arrived in %zu polls; expected at "
                       "least %lld (does the changes command change the "
                       "tables followed?)",
                       s->records.count, s->polls,
                       (long long)l->settings.expect_changes);
    return rc;
}

static int compare_resume(const struct stream *first, const struct mark *m,
                          const struct stream *again, struct error *err)
{
    struct rec_list before, got;
    rec_list_sorted(&first->records, 0, m->records, &before);
    rec_list_sorted(&again->records, 0, again->records.count, &got);
    const struct rec_id *bad = rec_list_duplicate(&got);
    const char *how = "twice";
    for (size_t i = 0; !bad && i < got.count; i++)
        if (rec_list_has(&before, &got.items[i]))
            bad = &got.items[i], how = "again (it came before that position)";
    for (size_t i = m->records; !bad && i < first->records.count; i++)
        if (!rec_list_has(&got, &first->records.items[i]))
            bad = &first->records.items[i], how = NULL;
    int rc = 0;
    if (bad) {
        char what[300], pos[160];
        rec_id_describe(bad, what, sizeof what);
        position_describe(m->position.data, m->position.len, pos, sizeof pos);
        rc = how ? error_set(err,
                             "cdc_start from %s (after %zu changes) "
                             "delivered %s %s",
                             pos, m->records, what, how)
                 : error_set(err,
                             "cdc_start from %s (after %zu changes) "
                             "lost %s",
                             pos, m->records, what);
    }
    rec_list_free(&before);
    rec_list_free(&got);
    return rc;
}

static int resume(const struct live *l, const char *const *tables, size_t n,
                  const struct stream *first, size_t *resumes,
                  struct empty_polls *empty, struct error *err)
{
    size_t max = (size_t)l->settings.max_resumes;
    size_t count = first->marks.count;
    size_t picks = count < max ? count : max;
    for (size_t k = 0; k < picks; k++) {
        const struct mark *m = &first->marks.items[mark_pick(k, picks, count)];
        size_t want = first->records.count - m->records;
        int64_t time = want ? l->settings.cdc_time_ms
                       : l->settings.cdc_time_ms < QUIET_MS
                           ? l->settings.cdc_time_ms
                           : QUIET_MS;
        struct plugin_instance in;
        if (kit_instance_open(l, &in, err) < 0)
            return error_prefix(err, "a fresh instance to resume in");
        struct stream again = {0};
        marks_add(&again.marks, m->position.data, m->position.len, 0);
        int rc = start(&in, tables, n, &m->position, err);
        if (rc == 0)
            rc = poll_stream(l, &in, want, time, &again, empty, err);
        plugin_close(&in);
        if (rc == 0)
            rc = compare_resume(first, m, &again, err);
        stream_free(&again);
        if (rc < 0)
            return -1;
        (*resumes)++;
    }
    return 0;
}

/* cdc.poll_waits, from the empty polls of cdc.forward and cdc.resume. */
static void report_waits(const struct live *l, const struct empty_polls *e)
{
    int64_t timeout = l->settings.poll_timeout_ms;
    if (timeout < TIMEOUT_JUDGED_MS)
        report_line(l->report, CHECK_SKIP, l->subject, "cdc.poll_waits",
                    "poll_timeout is %lld ms, too short to tell waiting "
                    "from returning at once (give %d ms or more)",
                    (long long)timeout, TIMEOUT_JUDGED_MS);
    else if (e->count == 0)
        report_line(l->report, CHECK_SKIP, l->subject, "cdc.poll_waits",
                    "no cdc_poll came back empty, so none could be judged");
    else if (e->count >= EMPTY_POLLS_JUDGED && e->ms < (int64_t)e->count)
        report_line(l->report, CHECK_FAIL, l->subject, "cdc.poll_waits",
                    "%zu cdc_poll calls with timeout_ms %lld brought "
                    "nothing and returned at once (%lld ms in all): with no "
                    "change, cdc_poll must wait for one up to timeout_ms, "
                    "or the core calls it in a busy loop",
                    e->count, (long long)timeout, (long long)e->ms);
    else
        report_line(l->report, CHECK_PASS, l->subject, "cdc.poll_waits",
                    "%zu cdc_poll calls brought nothing, after %lld ms each "
                    "on average (timeout_ms %lld)",
                    e->count, (long long)(e->ms / (int64_t)e->count),
                    (long long)timeout);
}

void cdc_checks(struct live *l, const char *const *tables, size_t n)
{
    static const char *const all[] = {"cdc.forward", "cdc.resume",
                                      "cdc.poll_waits", NULL};
    if (!(l->plugin->capabilities & SLUICE_SOURCE_CDC)) {
        report_skip_all(l->report, l->subject, all,
                        "the source has no CDC capability");
        return;
    }
    struct stream s = {0};
    struct empty_polls empty = {0};
    struct error err;
    if (follow(l, tables, n, &s, &empty, &err) < 0) {
        report_line(l->report, CHECK_FAIL, l->subject, all[0], "%s",
                    err.message);
        report_skip_all(l->report, l->subject, all + 1,
                        "the change stream could not be followed");
        stream_free(&s);
        return;
    }
    report_line(l->report, CHECK_PASS, l->subject, all[0],
                "%zu changes in %zu polls over %zu distinct positions; no "
                "position came back, none stood still under records",
                s.records.count, s.polls, s.marks.count);
    size_t resumes = 0;
    if (s.records.count == 0)
        report_line(l->report, CHECK_SKIP, l->subject, all[1],
                    "no change arrived, so there is nothing to resume past "
                    "(give [conformance %s] a changes command)",
                    l->plugin->name);
    else if (resume(l, tables, n, &s, &resumes, &empty, &err) < 0)
        report_line(l->report, CHECK_FAIL, l->subject, all[1], "%s",
                    err.message);
    else
        report_line(l->report, CHECK_PASS, l->subject, all[1],
                    "%zu resume%s, each in a fresh instance from a position "
                    "seen: nothing repeated, nothing lost",
                    resumes, resumes == 1 ? "" : "s");
    report_waits(l, &empty);
    stream_free(&s);
}
