/* subscriptions.c: named readers of a topic (see hub.h). */
#include <stdlib.h>

#include "../util/mem.h"
#include "hub.h"

int subscription_create(struct store *s, const char *name, const char *topic,
                        const char *pipe, int64_t at_ms, struct error *err)
{
    struct topic t;
    bool found;
    if (topic_get(s, topic, &t, &found, err) < 0)
        return -1;
    if (!found)
        return error_set(err, "there is no topic named '%s'", topic);
    topic_free(&t);
    /* A pipe's subscription reads what the pipe publishes from its
     * registration on: what the topic holds already was published by a
     * pipe of the same name since deleted, for a destination it has
     * loaded (or another). Any other subscription may read the topic from
     * its first event. */
    int64_t cursor = 0;
    struct db_value q[] = {DBV_TEXT(topic)};
    struct db_result r;
    if (pipe) {
        if (store_exec(s,
                       "SELECT COALESCE(MAX(id), 0) FROM publications WHERE "
                       "topic = $1",
                       q, 1, &r, err) < 0)
            return -1;
        cursor = db_int(&r, 0, 0);
        db_result_free(&r);
    }
    struct db_value p[] = {DBV_TEXT(name), DBV_TEXT(topic), DBV_TEXT(pipe),
                           DBV_INT(at_ms), DBV_INT(cursor)};
    if (store_exec(s,
                   "INSERT INTO subscriptions (name, topic, pipe, created_at, "
                   "cursor) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO "
                   "NOTHING",
                   p, 5, &r, err) < 0)
        return -1;
    int64_t created = r.changes;
    db_result_free(&r);
    if (created != 1)
        return error_set(err, "subscription '%s' exists already", name);
    return 0;
}

int subscription_set_paused(struct store *s, const char *name, bool paused,
                            struct error *err)
{
    struct db_value p[] = {DBV_INT(paused), DBV_TEXT(name)};
    struct db_result r;
    if (store_exec(s, "UPDATE subscriptions SET paused = $1 WHERE name = $2",
                   p, 2, &r, err) < 0)
        return -1;
    int64_t changed = r.changes;
    db_result_free(&r);
    if (changed != 1)
        return error_set(err, "there is no subscription named '%s'", name);
    return 0;
}

static int do_delete(struct store *s, const char *name, int64_t at,
                     struct error *err)
{
    struct db_value d[] = {DBV_TEXT(name), DBV_INT(at)};
    /* owed, never completed: discarded, so it no longer holds them back */
    if (store_exec(s,
                   "INSERT INTO subscription_events (subscription, "
                   "publication, status, started_at, finished_at) SELECT $1, "
                   "o.publication, 'discarded', $2, $2 FROM owed o WHERE "
                   "o.subscription = $1 ON CONFLICT (publication, "
                   "subscription) DO UPDATE SET status = 'discarded', "
                   "finished_at = excluded.finished_at WHERE "
                   "subscription_events.status <> 'completed'",
                   d, 2, NULL, err) < 0)
        return -1;
    struct db_value p = DBV_TEXT(name);
    struct db_result r;
    if (store_exec(s, "DELETE FROM subscriptions WHERE name = $1", &p, 1, &r,
                   err) < 0)
        return -1;
    int64_t deleted = r.changes;
    db_result_free(&r);
    if (deleted != 1)
        return error_set(err, "there is no subscription named '%s'", name);
    return 0;
}

/* A deletion's arguments (subscription_delete). */
struct deletion {
    const char *name;
    int64_t at;
};

static int delete_step(struct store *s, void *arg, struct error *err)
{
    const struct deletion *d = arg;
    return do_delete(s, d->name, d->at, err);
}

int subscription_delete(struct store *s, const char *name, int64_t at_ms,
                        struct error *err)
{
    struct deletion d = {name, at_ms};
    return store_transaction(s, delete_step, &d, err);
}

#define SUBSCRIPTION_SELECT                                                   \
    "SELECT s.name, s.topic, s.pipe, s.paused, s.cursor, s.created_at, "      \
    "(SELECT COUNT(*) FROM publications p WHERE p.topic = s.topic AND p.id "  \
    "> s.cursor) FROM subscriptions s "

static void read_subscription(const struct db_result *r, size_t i,
                              struct subscription *sub)
{
    sub->name = xstrdup(db_text(r, i, 0));
    sub->topic = xstrdup(db_text(r, i, 1));
    sub->pipe = db_text(r, i, 2) ? xstrdup(db_text(r, i, 2)) : NULL;
    sub->paused = db_int(r, i, 3) != 0;
    sub->cursor = db_int(r, i, 4);
    sub->created_at = db_int(r, i, 5);
    sub->pending = db_int(r, i, 6);
}

int subscription_get(struct store *s, const char *name,
                     struct subscription *out, bool *found, struct error *err)
{
    struct db_value p = DBV_TEXT(name);
    struct db_result r;
    if (store_exec(s, SUBSCRIPTION_SELECT "WHERE s.name = $1", &p, 1, &r,
                   err) < 0)
        return -1;
    *found = r.rows == 1;
    if (*found)
        read_subscription(&r, 0, out);
    db_result_free(&r);
    return 0;
}

int subscription_list(struct store *s, struct subscription **out,
                      size_t *count, struct error *err)
{
    struct db_result r;
    if (store_exec(s, SUBSCRIPTION_SELECT "ORDER BY s.name", NULL, 0, &r,
                   err) < 0)
        return -1;
    *out = xcalloc(r.rows + 1, sizeof **out);
    for (size_t i = 0; i < r.rows; i++)
        read_subscription(&r, i, &(*out)[i]);
    *count = r.rows;
    db_result_free(&r);
    return 0;
}

void subscription_free(struct subscription *sub)
{
    free(sub->name);
    free(sub->topic);
    free(sub->pipe);
    memset(sub, 0, sizeof *sub);
}

void subscriptions_free(struct subscription *subs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        subscription_free(&subs[i]);
    free(subs);
}
