/* source.c: the checks of a source: it opens, lists its tables in a
 * stable order, and then its snapshot (source_snapshot.c) and change
 * stream (source_cdc.c) keep their contracts. */
#include <stdlib.h>
#include <string.h>

#include "../plugin/values.h"
#include "kit.h"

static const char *const after_open[] = {"source.list_tables",
                                         "snapshot.complete", "snapshot.resume",
                                         "cdc.forward", "cdc.resume", NULL};

int source_begin(const struct live *l, struct kit_instance *in,
                 struct buf *out, struct error *err)
{
    struct sluice_values v = {0};
    struct call_error ce;
    sluice_status st;
    char text[1200];
    KIT_CALL(st, &ce, l->plugin->info.source.snapshot_begin(in->handle, &v,
                                                            call_error(&ce)));
    int rc = 0;
    if (st != SLUICE_OK)
        rc = error_set(err, "snapshot_begin %s",
                       status_text(st, &ce, text, sizeof text));
    else if (v.count != 1)
        rc = error_set(err, "snapshot_begin added %zu positions, not one",
                       v.count);
    else
        buf_append(out, v.items[0], v.lens[0]);
    values_free(&v);
    return rc;
}

static int list_tables(struct kit_instance *in, struct sluice_values *v,
                       char *why, size_t size)
{
    struct call_error ce;
    sluice_status st;
    memset(v, 0, sizeof *v);
    KIT_CALL(st, &ce, in->plugin->info.source.list_tables(in->handle, v,
                                                          call_error(&ce)));
    if (st == SLUICE_OK)
        return 0;
    char text[1200];
    snprintf(why, size, "list_tables %s", status_text(st, &ce, text,
                                                      sizeof text));
    return -1;
}

static bool same_values(const struct sluice_values *a,
                        const struct sluice_values *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (a->lens[i] != b->lens[i] ||
            memcmp(a->items[i], b->items[i], a->lens[i]) != 0)
            return false;
    return true;
}

static bool listed(const struct sluice_values *v, const char *table)
{
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->items[i], table) == 0)
            return true;
    return false;
}

/* Lists the tables twice; on success `v` holds them. */
static bool check_list_tables(struct live *l, struct kit_instance *in,
                              struct sluice_values *v)
{
    struct sluice_values again = {0};
    char why[1400] = "";
    bool ok = list_tables(in, v, why, sizeof why) == 0 &&
              list_tables(in, &again, why, sizeof why) == 0;
    if (ok && !same_values(v, &again))
        ok = (snprintf(why, sizeof why, "two calls of list_tables gave "
                                        "different lists (the order must be "
                                        "stable)"),
              false);
    const sluice_string_list *want = &l->settings.tables;
    for (size_t i = 0; ok && i < want->count; i++)
        if (!listed(v, want->items[i]))
            ok = (snprintf(why, sizeof why,
                           "table '%s' of [conformance %s] is not among the "
                           "%zu the source lists",
                           want->items[i], l->plugin->name, v->count),
                  false);
    values_free(&again);
    if (!ok) {
        report_line(l->report, CHECK_FAIL, l->subject, "source.list_tables",
                    "%s", why);
        return false;
    }
    struct buf names = {0};
    for (size_t i = 0; i < v->count && i < 10; i++)
        buf_printf(&names, "%s%s", i ? ", " : "", v->items[i]);
    report_line(l->report, CHECK_PASS, l->subject, "source.list_tables",
                "%zu table%s in a stable order%s%s%s", v->count,
                v->count == 1 ? "" : "s", v->count ? ": " : "",
                v->count ? names.data : "", v->count > 10 ? ", ..." : "");
    buf_free(&names);
    return true;
}

void source_checks(struct live *l)
{
    static const char *const all[] = {"source.open", "source.list_tables",
                                      "snapshot.complete", "snapshot.resume",
                                      "cdc.forward", "cdc.resume", NULL};
    if (!l->ready) {
        report_skip_all(l->report, l->subject, all, l->why);
        return;
    }
    struct kit_instance in;
    struct error err;
    if (kit_instance_open(l, &in, &err) < 0) {
        report_line(l->report, CHECK_FAIL, l->subject, "source.open", "%s",
                    err.message);
        report_skip_all(l->report, l->subject, after_open,
                        "the source did not open");
        return;
    }
    report_line(l->report, CHECK_PASS, l->subject, "source.open",
                "open returned OK");
    struct sluice_values v = {0};
    bool ok = check_list_tables(l, &in, &v);
    kit_instance_close(&in);
    if (!ok) {
        values_free(&v);
        report_skip_all(l->report, l->subject, after_open + 1,
                        "the source's tables are not known");
        return;
    }
    const sluice_string_list *want = &l->settings.tables;
    const char *const *tables =
        want->count ? want->items : (const char *const *)v.items;
    size_t n = want->count ? want->count : v.count;
    snapshot_checks(l, tables, n);
    cdc_checks(l, tables, n);
    values_free(&v);
}
