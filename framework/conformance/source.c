/* source.c: the checks of a source: it opens, lists its tables in a
 * stable order, and then its snapshot (source_snapshot.c) and change
 * stream (source_cdc.c) keep their contracts. The three parts run each
 * in a child process of its own (isolate.c). */
#include <stdlib.h>
#include <string.h>

#include "../plugin/values.h"
#include "kit.h"

static const char *const listing[] = {"source.open", "source.list_tables",
                                      NULL};
static const char *const snapshot[] = {"snapshot.complete", "snapshot.resume",
                                       NULL};
static const char *const cdc[] = {"cdc.forward", "cdc.resume",
                                  "cdc.poll_waits", NULL};

static int list_tables(struct plugin_instance *in, struct sluice_values *v,
                       char *why, size_t size)
{
    struct call_error ce;
    sluice_status st;
    memset(v, 0, sizeof *v);
    for (int try = 0;; try++)
        if (!kit_again(st = source_list_tables(in, v, &ce), try))
            break;
    if (st == SLUICE_OK)
        return 0;
    char text[1200];
    snprintf(why, size, "list_tables %s",
             status_text(st, &ce, text, sizeof text));
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
static bool check_list_tables(struct live *l, struct plugin_instance *in,
                              struct sluice_values *v)
{
    struct sluice_values again = {0};
    char why[1400] = "";
    bool ok = list_tables(in, v, why, sizeof why) == 0 &&
              list_tables(in, &again, why, sizeof why) == 0;
    if (ok && !same_values(v, &again))
        ok = (snprintf(why, sizeof why,
                       "two calls of list_tables gave "
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

/* In a child: source.open and source.list_tables; true when both pass. */
static bool open_and_list(void *arg)
{
    struct live *l = arg;
    struct plugin_instance in;
    struct error err;
    if (kit_instance_open(l, &in, &err) < 0) {
        report_line(l->report, CHECK_FAIL, l->subject, listing[0], "%s",
                    err.message);
        report_line(l->report, CHECK_SKIP, l->subject, listing[1],
                    "the source did not open");
        return false;
    }
    report_line(l->report, CHECK_PASS, l->subject, listing[0],
                "open returned OK");
    struct sluice_values v = {0};
    bool ok = check_list_tables(l, &in, &v);
    plugin_close(&in);
    values_free(&v);
    return ok;
}

/* The snapshot or the change stream checks, and the tables they read. */
struct part {
    struct live *l;
    const char *const *checks;
    void (*run)(struct live *l, const char *const *tables, size_t n);
};

/* In a child: a part, with the tables of [conformance NAME], else every
 * table the source lists (asked again, in this process). */
static bool run_part(void *arg)
{
    struct part *p = arg;
    struct live *l = p->l;
    const sluice_string_list *want = &l->settings.tables;
    if (want->count) {
        p->run(l, want->items, want->count);
        return true;
    }
    struct plugin_instance in;
    struct sluice_values v = {0};
    struct error err;
    char why[1400] = "";
    int rc = kit_instance_open(l, &in, &err);
    if (rc < 0) {
        snprintf(why, sizeof why, "%s", err.message);
    } else {
        rc = list_tables(&in, &v, why, sizeof why);
        plugin_close(&in);
    }
    if (rc < 0) {
        report_line(l->report, CHECK_FAIL, l->subject, p->checks[0],
                    "the tables, asked again: %s", why);
        report_skip_all(l->report, l->subject, p->checks + 1,
                        "the source's tables are not known");
    } else {
        p->run(l, (const char *const *)v.items, v.count);
    }
    values_free(&v);
    return true;
}

void source_checks(struct live *l)
{
    if (!l->ready) {
        report_skip_all(l->report, l->subject, listing, l->why);
        report_skip_all(l->report, l->subject, snapshot, l->why);
        report_skip_all(l->report, l->subject, cdc, l->why);
        return;
    }
    if (!kit_isolated(l->report, l->subject, listing, open_and_list, l)) {
        report_skip_all(l->report, l->subject, snapshot,
                        "the source's tables are not known");
        report_skip_all(l->report, l->subject, cdc,
                        "the source's tables are not known");
        return;
    }
    struct part parts[] = {{l, snapshot, snapshot_checks},
                           {l, cdc, cdc_checks}};
    for (size_t i = 0; i < 2; i++)
        kit_isolated(l->report, l->subject, parts[i].checks, run_part,
                     &parts[i]);
}
