/* hub.c: the hub as an operator sees it (control.h): topics with their
 * counts, subscriptions, and pausing one. */
#include <string.h>

#include "control.h"

int control_topic_count(struct store *s, const char *topic,
                        struct control_topic_counts *c,
                        struct control_result *r)
{
    struct publication_info *p;
    size_t n;
    memset(c, 0, sizeof *c);
    if (hub_publications(s, topic, INT64_MIN, INT64_MAX, &p, &n, &r->err) < 0)
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    for (size_t i = 0; i < n; i++) {
        c->events++;
        c->records += p[i].records;
        c->bytes += p[i].bytes;
        c->by_consumption[p[i].consumption]++;
        if (i == 0)
            c->oldest = p[i].published_at;
        c->newest = p[i].published_at;
    }
    publications_free(p, n);
    r->outcome = CONTROL_OK;
    return 0;
}

static void topic_head(const struct topic *t,
                       const struct control_topic_counts *c, struct json *j)
{
    json_add_string(j, "name", t->name);
    json_add_int(j, "consumed_retention_days", t->consumed_retention_days);
    json_add_int(j, "unconsumed_retention_days", t->unconsumed_retention_days);
    json_add_string(j, "retention", t->retention);
    json_add_int(j, "events", c->events);
    json_add_int(j, "records", c->records);
    json_add_int(j, "bytes", c->bytes);
}

void control_topic_summary_json(const struct topic *t,
                                const struct control_topic_counts *c,
                                struct json *j)
{
    json_open_object(j, NULL);
    topic_head(t, c, j);
    json_close_object(j);
}

int control_topic_json(struct store *s, const char *name, struct json *j,
                       struct control_result *r)
{
    struct topic t;
    bool found;
    if (topic_get(s, name, &t, &found, &r->err) < 0)
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    if (!found)
        return control_fail(r, CONTROL_NOT_FOUND,
                            "there is no topic named '%s'", name);
    struct control_topic_counts c;
    struct subscription *subs = NULL;
    size_t nsubs = 0;
    int rc = control_topic_count(s, name, &c, r);
    if (rc == 0 && subscription_list(s, &subs, &nsubs, &r->err) < 0)
        rc = control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    if (rc == 0) {
        json_open_object(j, NULL);
        topic_head(&t, &c, j);
        json_add_time(j, "oldest", c.events ? c.oldest : -1);
        json_add_time(j, "newest", c.events ? c.newest : -1);
        json_open_object(j, "consumption");
        for (int k = SLUICE_CONSUMPTION_PROCESSING;
             k <= SLUICE_CONSUMPTION_ERROR; k++)
            json_add_int(j, consumption_name((sluice_consumption)k),
                         c.by_consumption[k]);
        json_close_object(j);
        json_open_array(j, "subscriptions");
        for (size_t i = 0; i < nsubs; i++) {
            if (strcmp(subs[i].topic, t.name) != 0)
                continue;
            json_open_object(j, NULL);
            json_add_string(j, "name", subs[i].name);
            json_add_string(j, "state", subs[i].paused ? "paused" : "active");
            json_add_int(j, "to_read", subs[i].pending);
            json_close_object(j);
        }
        json_close_array(j);
        json_close_object(j);
    }
    topic_free(&t);
    subscriptions_free(subs, nsubs);
    return rc;
}

void control_subscription_json(const struct subscription *sub, struct json *j)
{
    json_open_object(j, NULL);
    json_add_string(j, "name", sub->name);
    json_add_string(j, "topic", sub->topic);
    json_add_string(j, "state", sub->paused ? "paused" : "active");
    json_add_int(j, "to_read", sub->pending);
    json_add_string(j, "pipe", sub->pipe);
    json_close_object(j);
}

int control_subscription_pause(struct store *s, const char *name, bool paused,
                               struct control_result *r)
{
    struct subscription sub;
    bool found;
    if (subscription_get(s, name, &sub, &found, &r->err) < 0)
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    if (!found)
        return control_fail(r, CONTROL_NOT_FOUND,
                            "there is no subscription named '%s'", name);
    subscription_free(&sub);
    if (subscription_set_paused(s, name, paused, &r->err) < 0)
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    r->outcome = CONTROL_OK;
    return 0;
}
