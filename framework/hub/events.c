/* events.c: publication events with their consumption status (see hub.h
 * and spec/hub.md): `final` when owed to at least one subscription and
 * every subscription owed has completed or discarded it, since the latest
 * of those finishes; else `error` when one of them failed it, `delayed`
 * when one of them is paused, and `processing` otherwise. The status is
 * judged as of a time, from the finish times of the subscription events,
 * so that a maintenance run as of a past time sees what a run then would
 * have. Read whole or in pages by id, so that the maintenance job's
 * memory does not grow with a topic. */
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "hub.h"

const char *consumption_name(sluice_consumption c)
{
    switch (c) {
    case SLUICE_CONSUMPTION_PROCESSING: return "processing";
    case SLUICE_CONSUMPTION_FINAL: return "final";
    case SLUICE_CONSUMPTION_DELAYED: return "delayed";
    case SLUICE_CONSUMPTION_ERROR: return "error";
    }
    return "unknown";
}

static sluice_consumption consumption_of(int64_t owed, int64_t done,
                                         int64_t errors, int64_t paused)
{
    if (owed > 0 && done == owed)
        return SLUICE_CONSUMPTION_FINAL;
    if (errors > 0)
        return SLUICE_CONSUMPTION_ERROR;
    if (paused > 0)
        return SLUICE_CONSUMPTION_DELAYED;
    return SLUICE_CONSUMPTION_PROCESSING;
}

/* Of a subscription event e: when it was finished by as_of ($3), and
 * whether it had failed by then. */
#define DONE_AT                                                               \
    "CASE WHEN e.status IN ('completed', 'discarded') AND e.finished_at <= "  \
    "$3 THEN e.finished_at END"
#define FAILED                                                                \
    "CASE WHEN e.status = 'error' AND e.finished_at <= $3 THEN 1 ELSE 0 END"

/* The events: of topic $1 (NULL: all), published from $2 to $3, a page of
 * them as PAGE says; with the subscriptions owed each. */
#define OWED_FROM(PAGE)                                                       \
    "FROM (SELECT * FROM publications WHERE (CAST($1 AS TEXT) IS NULL OR "    \
    "topic = $1) AND published_at >= $2 AND published_at <= $3 AND " PAGE     \
    ") p LEFT JOIN owed o ON o.publication = p.id "                           \
    "LEFT JOIN subscriptions sub ON sub.name = o.subscription "

/* One row per publication event and subscription owed: whether that
 * subscription had finished it (completed or discarded by as_of) or
 * failed it by as_of, and is paused. A page looks each subscription event
 * up (a join lets PostgreSQL scan all of them for every page); the whole
 * of a topic is joined at once. */
#define THE_EVENT "e.publication = p.id AND e.subscription = o.subscription"
#define OWED_AS_OF(PAGE)                                                      \
    "SELECT p.id, p.topic, p.published_at, p.records, p.bytes, p.status, "    \
    "o.subscription, (SELECT " DONE_AT                                        \
    " FROM subscription_events e WHERE " THE_EVENT                            \
    ") AS done_at, COALESCE((SELECT " FAILED                                  \
    " FROM subscription_events e WHERE " THE_EVENT "), 0) AS failed, "        \
    "COALESCE(sub.paused, 0) AS paused " OWED_FROM(PAGE)
#define OWED_AS_OF_JOINED(PAGE)                                               \
    "SELECT p.id, p.topic, p.published_at, p.records, p.bytes, p.status, "    \
    "o.subscription, " DONE_AT " AS done_at, " FAILED " AS failed, "          \
    "COALESCE(sub.paused, 0) AS paused " OWED_FROM(                           \
        PAGE) "LEFT JOIN subscription_events e ON " THE_EVENT

/* Pages by id: the first $5 above id $4. */
#define BY_ID "id > $4 ORDER BY id LIMIT $5"
/* Pages by time: the first $5 after ($4, $6) in (published_at, id). */
#define BY_TIME                                                               \
    "published_at >= $4 AND (published_at > $4 OR id > $6) ORDER BY "         \
    "published_at, id LIMIT $5"

/* Events with their consumption, one row each, in the order ORDER, from
 * the rows of ROWS. */
#define CONSUMPTION(ROWS, ORDER)                                              \
    "SELECT id, topic, published_at, records, bytes, status, "                \
    "COUNT(subscription), COUNT(done_at), SUM(failed), "                      \
    "SUM(CASE WHEN paused = 1 AND done_at IS NULL THEN 1 ELSE 0 END), "       \
    "MAX(done_at) FROM (" ROWS ") owed_as_of "                                \
    "GROUP BY id, topic, published_at, records, bytes, status ORDER BY " ORDER

static void read_publications(const struct db_result *r,
                              struct publication_info **out, size_t *count)
{
    *out = xcalloc(r->rows + 1, sizeof **out);
    for (size_t i = 0; i < r->rows; i++) {
        struct publication_info *pi = &(*out)[i];
        pi->id = db_int(r, i, 0);
        pi->topic = xstrdup(db_text(r, i, 1));
        pi->published_at = db_int(r, i, 2);
        pi->records = db_int(r, i, 3);
        pi->bytes = db_int(r, i, 4);
        pi->status = xstrdup(db_text(r, i, 5));
        pi->owed = db_int(r, i, 6);
        pi->consumed = db_int(r, i, 7);
        pi->consumption = consumption_of(pi->owed, pi->consumed,
                                         db_int(r, i, 8), db_int(r, i, 9));
        pi->final_at =
            pi->consumption == SLUICE_CONSUMPTION_FINAL ? db_int(r, i, 10) : 0;
    }
    *count = r->rows;
}

int hub_publications_page(struct store *s, const char *topic, int64_t since_ms,
                          int64_t as_of_ms, int64_t after_id, int64_t limit,
                          struct publication_info **out, size_t *count,
                          struct error *err)
{
    struct db_value p[] = {DBV_TEXT(topic), DBV_INT(since_ms),
                           DBV_INT(as_of_ms), DBV_INT(after_id),
                           DBV_INT(limit)};
    struct db_result r;
    const char *sql = limit == INT64_MAX
                          ? CONSUMPTION(OWED_AS_OF_JOINED(BY_ID), "id")
                          : CONSUMPTION(OWED_AS_OF(BY_ID), "id");
    if (store_exec(s, sql, p, 5, &r, err) < 0)
        return -1;
    read_publications(&r, out, count);
    db_result_free(&r);
    return 0;
}

int hub_publications_by_time(struct store *s, const char *topic,
                             int64_t after_at, int64_t after_id, int64_t limit,
                             struct publication_info **out, size_t *count,
                             struct error *err)
{
    struct db_value p[] = {DBV_TEXT(topic),    DBV_INT(after_at),
                           DBV_INT(INT64_MAX), DBV_INT(after_at),
                           DBV_INT(limit),     DBV_INT(after_id)};
    struct db_result r;
    if (store_exec(s, CONSUMPTION(OWED_AS_OF(BY_TIME), "published_at, id"), p,
                   6, &r, err) < 0)
        return -1;
    read_publications(&r, out, count);
    db_result_free(&r);
    return 0;
}

int hub_publications(struct store *s, const char *topic, int64_t since_ms,
                     int64_t as_of_ms, struct publication_info **out,
                     size_t *count, struct error *err)
{
    return hub_publications_page(s, topic, since_ms, as_of_ms, INT64_MIN,
                                 INT64_MAX, out, count, err);
}

int hub_topic_summary(struct store *s, const char *topic, int64_t as_of_ms,
                      struct topic_summary *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    struct db_value t[] = {DBV_TEXT(topic), DBV_INT(as_of_ms)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT COUNT(*), CAST(COALESCE(SUM(records), 0) AS "
                   "BIGINT) FROM publications WHERE topic = $1 AND "
                   "published_at <= $2",
                   t, 2, &r, err) < 0)
        return -1;
    out->publications = db_int(&r, 0, 0);
    out->records = db_int(&r, 0, 1);
    db_result_free(&r);
    /* final before D: owed to a subscription, and every subscription owed
     * had completed or discarded it before D (consumption_of's `final`, as
     * of D - 1); read from the newest back, so it stops at the first */
    int64_t d = utc_day_start(as_of_ms);
    struct db_value p[] = {DBV_TEXT(topic), DBV_INT(d)};
#define DONE_BEFORE_D                                                         \
    "e.publication = p.id AND e.status IN ('completed', 'discarded') AND "    \
    "e.finished_at < $2"
    if (store_exec(
            s,
            "SELECT p.id, p.published_at, p.records, (SELECT "
            "MAX(e.finished_at) FROM subscription_events e WHERE " DONE_BEFORE_D
            " AND e.subscription IN (SELECT o.subscription FROM owed o WHERE "
            "o.publication = p.id)) FROM publications p WHERE p.topic = $1 AND p.published_at < $2 "
            "AND EXISTS (SELECT 1 FROM owed o WHERE o.publication = p.id) AND "
            "NOT EXISTS (SELECT 1 FROM owed o WHERE o.publication = p.id AND "
            "NOT EXISTS (SELECT 1 FROM subscription_events e WHERE " DONE_BEFORE_D
            " AND e.subscription = o.subscription)) ORDER BY p.published_at "
            "DESC, p.id DESC LIMIT 1",
            p, 2, &r, err) < 0)
        return -1;
#undef DONE_BEFORE_D
    if (r.rows == 1) {
        out->has_newest_final = true;
        out->newest_final =
            (struct publication_info){.id = db_int(&r, 0, 0),
                                      .published_at = db_int(&r, 0, 1),
                                      .records = db_int(&r, 0, 2),
                                      .consumption = SLUICE_CONSUMPTION_FINAL,
                                      .final_at = db_int(&r, 0, 3)};
    }
    db_result_free(&r);
    return 0;
}

void publications_free(struct publication_info *p, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(p[i].topic);
        free(p[i].status);
    }
    free(p);
}

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

/* The time of a subscription event: finished, else started (an index of
 * migration 9 is on it). */
#define EVENT_AT "COALESCE(e.finished_at, e.started_at)"

int hub_subscription_events_by_time(struct store *s, const char *topic,
                                    int64_t after_at, int64_t after_id,
                                    int64_t limit,
                                    struct subscription_event_info **out,
                                    size_t *count, struct error *err)
{
    struct db_value p[] = {DBV_TEXT(topic), DBV_INT(after_at),
                           DBV_INT(after_id), DBV_INT(limit)};
    struct db_result r;
    if (store_exec(s,
                   "SELECT e.id, e.publication, " EVENT_AT
                   ", e.subscription, p.topic, e.status, e.message FROM "
                   "subscription_events e LEFT JOIN publications p ON p.id "
                   "= e.publication WHERE (CAST($1 AS TEXT) IS NULL OR "
                   "p.topic = $1) AND " EVENT_AT " >= $2 AND (" EVENT_AT
                   " > $2 OR e.id > $3) ORDER BY " EVENT_AT ", e.id LIMIT $4",
                   p, 4, &r, err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        (*out)[i] = (struct subscription_event_info){
            db_int(&r, i, 0),
            db_int(&r, i, 1),
            db_int(&r, i, 2),
            dup_or_empty(db_text(&r, i, 3)),
            dup_or_empty(db_text(&r, i, 4)),
            dup_or_empty(db_text(&r, i, 5)),
            redact_dup(db_text(&r, i, 6) ? db_text(&r, i, 6) : "")};
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

void subscription_events_free(struct subscription_event_info *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].subscription);
        free(e[i].topic);
        free(e[i].status);
        free(e[i].message);
    }
    free(e);
}

int hub_system_events(struct store *s, int64_t since_ms,
                      struct system_event_info **out, size_t *count,
                      struct error *err)
{
    struct db_value p = DBV_INT(since_ms);
    struct db_result r;
    if (store_exec(s,
                   "SELECT id, at, as_of, kind, status, summary FROM "
                   "system_events WHERE at >= $1 ORDER BY id",
                   &p, 1, &r, err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        (*out)[i] = (struct system_event_info){
            db_int(&r, i, 0),
            db_int(&r, i, 1),
            db_int(&r, i, 2),
            dup_or_empty(db_text(&r, i, 3)),
            dup_or_empty(db_text(&r, i, 4)),
            redact_dup(db_text(&r, i, 5) ? db_text(&r, i, 5) : "")};
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

void system_events_free(struct system_event_info *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].kind);
        free(e[i].status);
        free(e[i].summary);
    }
    free(e);
}
