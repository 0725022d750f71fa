/* source_snapshot.c: a source's snapshot, read whole and then resumed.
 *
 * snapshot.complete: with one instance, snapshot_begin gives one position;
 * every partition of every table is read with small batches until
 * snapshot_next says DONE; each batch sets a position; every record is of
 * the table asked for, with the operation `snapshot`; no key comes twice.
 *
 * snapshot.resume: for every position a batch ended at (at most
 * max_resumes per partition, spread evenly, the last always among them),
 * a fresh instance reads the partition on from that position, as the core
 * does after a restart (it does not call snapshot_begin again). What it
 * delivers, added to what the whole read delivered up to that position,
 * must be the whole partition: no key repeated, none lost, none new. */
#include <stdlib.h>
#include <string.h>

#include "../plugin/batch.h"
#include "../plugin/values.h"
#include "../util/mem.h"
#include "kit.h"
#include "records.h"

/* A partition is given up on after this many records or empty batches. */
#define MAX_PARTITION_RECORDS 10000000u
#define MAX_STALLS 1000u

struct partition {
    const char *table;
    size_t index;
    struct buf start;
    struct rec_list records; /* in delivery order */
    struct marks marks;      /* after each batch */
};

static int record_error(const sluice_batch *b, const char *table,
                        struct error *err)
{
    for (size_t i = 0; i < batch_count(b); i++) {
        sluice_record r = {.size = sizeof r};
        batch_get(b, i, &r);
        if (r.table_len != strlen(table) ||
            memcmp(r.table, table, r.table_len) != 0)
            return error_set(err,
                             "snapshot_next of table '%s' added a record "
                             "of table '%.*s'",
                             table, (int)(r.table_len > 64 ? 64 : r.table_len),
                             r.table);
        if (r.op != SLUICE_OP_SNAPSHOT)
            return error_set(err,
                             "snapshot_next of table '%s' added a record "
                             "with operation '%s', not 'snapshot'",
                             table, op_name(r.op));
    }
    return 0;
}

/* Reads a partition from `progress` to its end. */
static int read_partition(const struct live *l, struct plugin_instance *in,
                          const char *table, const struct buf *progress,
                          struct rec_list *records, struct marks *marks,
                          struct error *err)
{
    struct sluice_batch b;
    batch_init(&b, (size_t)l->settings.batch_records, 0);
    struct buf at = {0};
    buf_append(&at, progress->data, progress->len);
    size_t stalls = 0;
    int rc = 0;
    char pos[160], text[1200];
    for (;;) {
        struct call_error ce;
        sluice_status st;
        for (int try = 0;; try++) {
            batch_reset(&b);
            if (!kit_again(st = source_snapshot_next(in, table, at.data,
                                                     at.len, &b, &ce),
                           try))
                break;
        }
        position_describe(at.data, at.len, pos, sizeof pos);
        if (st != SLUICE_OK && st != SLUICE_DONE) {
            rc =
                error_set(err, "snapshot_next of table '%s' from %s %s", table,
                          pos, status_text(st, &ce, text, sizeof text));
            break;
        }
        if (!b.has_position) {
            rc = error_set(err,
                           "snapshot_next of table '%s' from %s returned "
                           "without setting the batch position",
                           table, pos);
            break;
        }
        if ((rc = record_error(&b, table, err)) < 0)
            break;
        size_t before = records->count;
        rec_list_add_batch(records, &b, false);
        marks_add(marks, b.position.data, b.position.len, records->count);
        if (st == SLUICE_DONE)
            break;
        bool stalled = records->count == before &&
                       position_equal(&at, b.position.data, b.position.len);
        stalls = stalled ? stalls + 1 : 0;
        if (stalls == MAX_STALLS || records->count > MAX_PARTITION_RECORDS) {
            rc = error_set(err,
                           "snapshot_next of table '%s' does not come to "
                           "an end: %s at %s",
                           table,
                           stalls ? "no record and the same position, again "
                                    "and again,"
                                  : "over ten million records",
                           pos);
            break;
        }
        buf_reset(&at);
        buf_append(&at, b.position.data, b.position.len);
    }
    buf_free(&at);
    batch_free(&b);
    return rc;
}

static int read_table(const struct live *l, struct plugin_instance *in,
                      const char *table, struct partition **parts,
                      size_t *count, size_t *cap, struct error *err)
{
    struct sluice_values v = {0};
    struct call_error ce;
    sluice_status st;
    char text[1200];
    for (int try = 0;; try++)
        if (!kit_again(st = source_snapshot_partitions(in, table, &v, &ce),
                       try))
            break;
    int rc = 0;
    if (st != SLUICE_OK)
        rc = error_set(err, "snapshot_partitions of table '%s' %s", table,
                       status_text(st, &ce, text, sizeof text));
    else if (v.count == 0)
        rc = error_set(err,
                       "snapshot_partitions of table '%s' added no "
                       "partition",
                       table);
    for (size_t i = 0; rc == 0 && i < v.count; i++) {
        XGROW(*parts, *cap, *count + 1);
        struct partition *p = &(*parts)[(*count)++];
        memset(p, 0, sizeof *p);
        p->table = table;
        p->index = i;
        buf_append(&p->start, v.items[i], v.lens[i]);
        rc = read_partition(l, in, table, &p->start, &p->records, &p->marks,
                            err);
    }
    values_free(&v);
    return rc;
}

static void free_partitions(struct partition *parts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        buf_free(&parts[i].start);
        rec_list_free(&parts[i].records);
        marks_free(&parts[i].marks);
    }
    free(parts);
}

/* No key twice within a table (partitions must not overlap). */
static int check_unique_keys(const struct partition *parts, size_t count,
                             struct error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (i && parts[i - 1].table == parts[i].table)
            continue;
        struct rec_list all = {0}, sorted;
        for (size_t j = i; j < count && parts[j].table == parts[i].table; j++)
            for (size_t k = 0; k < parts[j].records.count; k++) {
                XGROW(all.items, all.cap, all.count + 1);
                all.items[all.count++] = parts[j].records.items[k];
            }
        rec_list_sorted(&all, 0, all.count, &sorted);
        free(all.items); /* borrowed identities */
        const struct rec_id *dup = rec_list_duplicate(&sorted);
        char what[300];
        if (dup)
            rec_id_describe(dup, what, sizeof what);
        rec_list_free(&sorted);
        if (dup)
            return error_set(err, "the snapshot delivered %s twice", what);
    }
    return 0;
}

/* Compares what a resume from mark `m` delivered with the whole read. */
static int compare_resume(const struct partition *p, const struct mark *m,
                          const struct rec_list *resumed, struct error *err)
{
    struct rec_list before, whole, got;
    rec_list_sorted(&p->records, 0, m->records, &before);
    rec_list_sorted(&p->records, 0, p->records.count, &whole);
    rec_list_sorted(resumed, 0, resumed->count, &got);
    const struct rec_id *bad = rec_list_duplicate(&got);
    const char *how = "twice";
    for (size_t i = 0; !bad && i < got.count; i++)
        if (rec_list_has(&before, &got.items[i]))
            bad = &got.items[i], how = "again (it came before that position)";
        else if (!rec_list_has(&whole, &got.items[i]))
            bad = &got.items[i], how = "which the whole read did not have";
    for (size_t i = m->records; !bad && i < p->records.count; i++)
        if (!rec_list_has(&got, &p->records.items[i]))
            bad = &p->records.items[i], how = "LOST";
    int rc = 0;
    if (bad) {
        char what[300], pos[160];
        rec_id_describe(bad, what, sizeof what);
        position_describe(m->position.data, m->position.len, pos, sizeof pos);
        rc = strcmp(how, "LOST") == 0
                 ? error_set(err,
                             "resumed from %s (table '%s', partition "
                             "%zu, after %zu records): lost %s",
                             pos, p->table, p->index, m->records, what)
                 : error_set(err,
                             "resumed from %s (table '%s', partition "
                             "%zu, after %zu records): delivered %s %s",
                             pos, p->table, p->index, m->records, what, how);
    }
    rec_list_free(&before);
    rec_list_free(&whole);
    rec_list_free(&got);
    return rc;
}

static int resume_partition(const struct live *l, const struct partition *p,
                            size_t *resumes, struct error *err)
{
    size_t max = (size_t)l->settings.max_resumes;
    size_t picks = p->marks.count < max ? p->marks.count : max;
    for (size_t k = 0; k < picks; k++) {
        const struct mark *m =
            &p->marks.items[mark_pick(k, picks, p->marks.count)];
        struct plugin_instance in;
        if (kit_instance_open(l, &in, err) < 0)
            return error_prefix(err, "a fresh instance to resume in");
        struct rec_list got = {0};
        struct marks marks = {0};
        int rc =
            read_partition(l, &in, p->table, &m->position, &got, &marks, err);
        plugin_close(&in);
        if (rc == 0)
            rc = compare_resume(p, m, &got, err);
        rec_list_free(&got);
        marks_free(&marks);
        if (rc < 0)
            return -1;
        (*resumes)++;
    }
    return 0;
}

void snapshot_checks(struct live *l, const char *const *tables, size_t n)
{
    static const char *const both[] = {"snapshot.complete", "snapshot.resume",
                                       NULL};
    if (!(l->plugin->capabilities & SLUICE_SOURCE_SNAPSHOT)) {
        report_skip_all(l->report, l->subject, both,
                        "the source has no snapshot capability");
        return;
    }
    if (n == 0) {
        report_skip_all(l->report, l->subject, both,
                        "the source has no table to read");
        return;
    }
    struct plugin_instance in;
    struct error err;
    struct partition *parts = NULL;
    size_t count = 0, cap = 0;
    struct buf start = {0};
    int rc = kit_instance_open(l, &in, &err);
    if (rc == 0) {
        rc = source_begin(&in, &start, &err);
        for (size_t t = 0; rc == 0 && t < n; t++)
            rc = read_table(l, &in, tables[t], &parts, &count, &cap, &err);
        plugin_close(&in);
    }
    buf_free(&start);
    if (rc == 0)
        rc = check_unique_keys(parts, count, &err);
    if (rc < 0) {
        report_line(l->report, CHECK_FAIL, l->subject, both[0], "%s",
                    err.message);
        report_line(l->report, CHECK_SKIP, l->subject, both[1],
                    "the snapshot did not complete");
        free_partitions(parts, count);
        return;
    }
    size_t records = 0, batches = 0, resumes = 0;
    for (size_t i = 0; i < count; i++)
        records += parts[i].records.count, batches += parts[i].marks.count;
    report_line(l->report, CHECK_PASS, l->subject, both[0],
                "%zu table%s, %zu partition%s, %zu records in %zu batches; "
                "every partition ends with DONE; no key twice",
                n, n == 1 ? "" : "s", count, count == 1 ? "" : "s", records,
                batches);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = resume_partition(l, &parts[i], &resumes, &err);
    if (rc < 0)
        report_line(l->report, CHECK_FAIL, l->subject, both[1], "%s",
                    err.message);
    else
        report_line(l->report, CHECK_PASS, l->subject, both[1],
                    "%zu resume%s from the %zu positions batches ended at, "
                    "each in a fresh instance: nothing lost or repeated",
                    resumes, resumes == 1 ? "" : "s", batches);
    free_partitions(parts, count);
}
