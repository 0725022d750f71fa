/* topics.c: topics and their retention properties (see hub.h). */
#include <stdio.h>
#include <stdlib.h>

#include "../util/clock.h"
#include "../util/mem.h"
#include "hub.h"

const char *topic_out_of_range(int64_t consumed, int64_t unconsumed,
                               int64_t *value, char *range, size_t size)
{
    if (consumed < HUB_RETENTION_MIN_DAYS ||
        consumed > HUB_RETENTION_MAX_DAYS) {
        *value = consumed;
        snprintf(range, size, "%d to %d", HUB_RETENTION_MIN_DAYS,
                 HUB_RETENTION_MAX_DAYS);
        return "consumed_retention_days";
    }
    if (unconsumed < consumed || unconsumed > HUB_RETENTION_MAX_DAYS) {
        *value = unconsumed;
        snprintf(range, size, "consumed_retention_days (%lld) to %d",
                 (long long)consumed, HUB_RETENTION_MAX_DAYS);
        return "unconsumed_retention_days";
    }
    return NULL;
}

int topic_check(int64_t consumed, int64_t unconsumed, struct error *err)
{
    int64_t value;
    char range[96];
    const char *property =
        topic_out_of_range(consumed, unconsumed, &value, range, sizeof range);
    if (!property)
        return 0;
    return error_set(err, "%s = %lld is out of range: must be from %s",
                     property, (long long)value, range);
}

#define TOPIC_INSERT                                                          \
    "INSERT INTO topics (name, consumed_retention_days, "                     \
    "unconsumed_retention_days, retention, created_at) VALUES "               \
    "($1, $2, $3, $4, $5) ON CONFLICT (name) "

/* Checks the topic, then inserts it with `on_conflict`; the rows changed
 * are returned, -1 on error. */
static int64_t write_topic(struct store *s, const struct topic *t,
                           const char *on_conflict, struct error *err)
{
    if (topic_check(t->consumed_retention_days, t->unconsumed_retention_days,
                    err) < 0)
        return error_prefix(err, "topic '%s'", t->name);
    struct db_value p[] = {DBV_TEXT(t->name),
                           DBV_INT(t->consumed_retention_days),
                           DBV_INT(t->unconsumed_retention_days),
                           DBV_TEXT(t->retention), DBV_INT(clock_now_ms())};
    char sql[640];
    snprintf(sql, sizeof sql, "%s%s", TOPIC_INSERT, on_conflict);
    struct db_result r;
    if (store_exec(s, sql, p, 5, &r, err) < 0)
        return -1;
    int64_t changes = r.changes;
    db_result_free(&r);
    return changes;
}

int topic_create(struct store *s, const struct topic *t, struct error *err)
{
    int64_t created = write_topic(s, t, "DO NOTHING", err);
    if (created < 0)
        return -1;
    if (created != 1)
        return error_set(err, "topic '%s' exists already", t->name);
    return 0;
}

int topic_apply(struct store *s, const struct topic *t, bool *changed,
                struct error *err)
{
    int64_t n = write_topic(
        s, t,
        "DO UPDATE SET consumed_retention_days = "
        "excluded.consumed_retention_days, unconsumed_retention_days = "
        "excluded.unconsumed_retention_days, retention = excluded.retention "
        "WHERE topics.consumed_retention_days <> "
        "excluded.consumed_retention_days OR topics.unconsumed_retention_days "
        "<> excluded.unconsumed_retention_days OR topics.retention <> "
        "excluded.retention",
        err);
    if (n < 0)
        return -1;
    *changed = n > 0;
    return 0;
}

static void read_topic(const struct db_result *r, size_t i, struct topic *t)
{
    t->name = xstrdup(db_text(r, i, 0));
    t->consumed_retention_days = db_int(r, i, 1);
    t->unconsumed_retention_days = db_int(r, i, 2);
    t->retention = xstrdup(db_text(r, i, 3));
    t->created_at = db_int(r, i, 4);
}

#define TOPIC_COLUMNS                                                         \
    "name, consumed_retention_days, unconsumed_retention_days, retention, "   \
    "created_at"

int topic_get(struct store *s, const char *name, struct topic *out,
              bool *found, struct error *err)
{
    struct db_value p = DBV_TEXT(name);
    struct db_result r;
    if (store_exec(s, "SELECT " TOPIC_COLUMNS " FROM topics WHERE name = $1",
                   &p, 1, &r, err) < 0)
        return -1;
    *found = r.rows == 1;
    if (*found)
        read_topic(&r, 0, out);
    db_result_free(&r);
    return 0;
}

int topic_list(struct store *s, struct topic **out, size_t *count,
               struct error *err)
{
    struct db_result r;
    if (store_exec(s, "SELECT " TOPIC_COLUMNS " FROM topics ORDER BY name",
                   NULL, 0, &r, err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        read_topic(&r, i, &(*out)[i]);
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

void topic_free(struct topic *t)
{
    free(t->name);
    free(t->retention);
    memset(t, 0, sizeof *t);
}

void topics_free(struct topic *t, size_t count)
{
    for (size_t i = 0; i < count; i++)
        topic_free(&t[i]);
    free(t);
}
