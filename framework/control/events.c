/* events.c: the events an operator reads (control.h), merged in time
 * order from the hub's publication and subscription events and the
 * system's events, a page at a time; their JSON; and maintenance
 * reports. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../util/mem.h"
#include "control.h"

/* Events per read: the reading holds a page of each kind at a time. */
#define EVENTS_PAGE 5000

/* Publication and subscription events are read by (time, id) after the
 * last one read; system events (one a day) all at once. */
struct control_events {
    struct store *s;
    char *topic;
    struct publication_info *pubs;
    struct subscription_event_info *subs;
    struct system_event_info *sys;
    size_t npubs, nsubs, nsys, ipub, isub, isys;
    bool pubs_done, subs_done;
    int64_t pub_at, pub_id, sub_at, sub_id; /* the last read */
};

static int compare_system(const void *a, const void *b)
{
    const struct system_event_info *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether (at, type, id) comes after (at2, type2, id2). */
static bool later(int64_t at, int type, int64_t id, int64_t at2, int type2,
                  int64_t id2)
{
    if (at != at2)
        return at > at2;
    if (type != type2)
        return type > type2;
    return id > id2;
}

/* The next page of each kind whose page is used up. */
static int refill(struct control_events *ev, struct error *err)
{
    if (ev->ipub == ev->npubs && !ev->pubs_done) {
        publications_free(ev->pubs, ev->npubs);
        ev->ipub = 0;
        if (hub_publications_by_time(ev->s, ev->topic, ev->pub_at, ev->pub_id,
                                     EVENTS_PAGE, &ev->pubs, &ev->npubs,
                                     err) < 0) {
            ev->pubs = NULL, ev->npubs = 0;
            return -1;
        }
        ev->pubs_done = ev->npubs < EVENTS_PAGE;
        if (ev->npubs) {
            ev->pub_at = ev->pubs[ev->npubs - 1].published_at;
            ev->pub_id = ev->pubs[ev->npubs - 1].id;
        }
    }
    if (ev->isub == ev->nsubs && !ev->subs_done) {
        subscription_events_free(ev->subs, ev->nsubs);
        ev->isub = 0;
        if (hub_subscription_events_by_time(ev->s, ev->topic, ev->sub_at,
                                            ev->sub_id, EVENTS_PAGE, &ev->subs,
                                            &ev->nsubs, err) < 0) {
            ev->subs = NULL, ev->nsubs = 0;
            return -1;
        }
        ev->subs_done = ev->nsubs < EVENTS_PAGE;
        if (ev->nsubs) {
            ev->sub_at = ev->subs[ev->nsubs - 1].at;
            ev->sub_id = ev->subs[ev->nsubs - 1].id;
        }
    }
    return 0;
}

/* A cursor: "AT.TYPE.ID", the place of the last event read. */
static bool parse_cursor(const char *text, int64_t *at, int *type, int64_t *id)
{
    int n = 0;
    long long a, i;
    if (sscanf(text, "%lld.%d.%lld%n", &a, type, &i, &n) != 3 ||
        text[n] != '\0' || *type < CONTROL_EVENT_PUBLICATION ||
        *type > CONTROL_EVENT_SYSTEM)
        return false;
    *at = a, *id = i;
    return true;
}

int control_events_open(struct store *s, const char *topic, int64_t since,
                        const char *after, struct control_events **out,
                        struct control_result *r)
{
    *out = NULL;
    int64_t at = since, id = INT64_MIN;
    int type = -1; /* before every event at `since` */
    if (after && !parse_cursor(after, &at, &type, &id))
        return control_fail(r, CONTROL_BAD,
                            "'%s' is not a cursor of the events (give the "
                            "`next` of the page before)",
                            after);
    if (after && at < since) /* since still holds */
        at = since, type = -1, id = INT64_MIN;
    if (topic) {
        struct topic t;
        bool found;
        if (topic_get(s, topic, &t, &found, &r->err) < 0)
            return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
        if (!found)
            return control_fail(r, CONTROL_NOT_FOUND,
                                "there is no topic named '%s'", topic);
        topic_free(&t);
    }
    struct control_events *ev = xcalloc(1, sizeof *ev);
    ev->s = s;
    ev->topic = topic ? xstrdup(topic) : NULL;
    /* each kind from the cursor: at its time, those of a kind after the
     * cursor's all come, those of its kind after its id */
    ev->pub_at = ev->sub_at = at;
    ev->pub_id = type < CONTROL_EVENT_PUBLICATION    ? INT64_MIN
                 : type == CONTROL_EVENT_PUBLICATION ? id
                                                     : INT64_MAX;
    ev->sub_id = type < CONTROL_EVENT_SUBSCRIPTION    ? INT64_MIN
                 : type == CONTROL_EVENT_SUBSCRIPTION ? id
                                                      : INT64_MAX;
    if (hub_system_events(s, at == INT64_MIN ? INT64_MIN : at, &ev->sys,
                          &ev->nsys, &r->err) < 0) {
        control_events_close(ev);
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    }
    qsort(ev->sys, ev->nsys, sizeof *ev->sys, compare_system);
    while (ev->isys < ev->nsys &&
           !later(ev->sys[ev->isys].at, CONTROL_EVENT_SYSTEM,
                  ev->sys[ev->isys].id, at, type, id))
        ev->isys++;
    *out = ev;
    r->outcome = CONTROL_OK;
    return 0;
}

/* The earliest of the three heads; 0 when all are used up. */
int control_events_next(struct control_events *ev, struct control_event *out,
                        struct error *err)
{
    if (refill(ev, err) < 0)
        return -1;
    struct control_event heads[3];
    size_t n = 0;
    if (ev->ipub < ev->npubs) {
        const struct publication_info *p = &ev->pubs[ev->ipub];
        heads[n++] =
            (struct control_event){p->published_at, CONTROL_EVENT_PUBLICATION,
                                   p->id, p};
    }
    if (ev->isub < ev->nsubs) {
        const struct subscription_event_info *e = &ev->subs[ev->isub];
        heads[n++] = (struct control_event){e->at, CONTROL_EVENT_SUBSCRIPTION,
                                            e->id, e};
    }
    if (ev->isys < ev->nsys) {
        const struct system_event_info *e = &ev->sys[ev->isys];
        heads[n++] =
            (struct control_event){e->at, CONTROL_EVENT_SYSTEM, e->id, e};
    }
    if (n == 0)
        return 0;
    *out = heads[0];
    for (size_t i = 1; i < n; i++)
        if (later(out->at, out->type, out->id, heads[i].at, heads[i].type,
                  heads[i].id))
            *out = heads[i];
    if (out->type == CONTROL_EVENT_PUBLICATION)
        ev->ipub++;
    else if (out->type == CONTROL_EVENT_SUBSCRIPTION)
        ev->isub++;
    else
        ev->isys++;
    return 1;
}

void control_events_close(struct control_events *ev)
{
    if (!ev)
        return;
    publications_free(ev->pubs, ev->npubs);
    subscription_events_free(ev->subs, ev->nsubs);
    system_events_free(ev->sys, ev->nsys);
    free(ev->topic);
    free(ev);
}

void control_event_cursor(const struct control_event *e, char *out,
                          size_t size)
{
    snprintf(out, size, "%" PRId64 ".%d.%" PRId64, e->at, e->type, e->id);
}

void control_event_json(const struct control_event *e, struct json *j)
{
    json_open_object(j, NULL);
    if (e->type == CONTROL_EVENT_PUBLICATION) {
        const struct publication_info *p = e->event;
        json_add_string(j, "type", "publication");
        json_add_int(j, "id", p->id);
        json_add_time(j, "at", p->published_at);
        json_add_string(j, "topic", p->topic);
        json_add_int(j, "records", p->records);
        json_add_int(j, "bytes", p->bytes);
        json_add_string(j, "status", p->status);
        json_add_string(j, "consumption", consumption_name(p->consumption));
        json_add_int(j, "owed", p->owed);
        json_add_int(j, "consumed", p->consumed);
        json_add_time(j, "final_at", p->final_at ? p->final_at : -1);
    } else if (e->type == CONTROL_EVENT_SUBSCRIPTION) {
        const struct subscription_event_info *s = e->event;
        json_add_string(j, "type", "subscription");
        json_add_int(j, "id", s->id);
        json_add_time(j, "at", s->at);
        json_add_string(j, "subscription", s->subscription);
        json_add_string(j, "topic", s->topic[0] ? s->topic : NULL);
        json_add_int(j, "publication", s->publication);
        json_add_string(j, "status", s->status);
        json_add_string(j, "message", s->message);
    } else {
        const struct system_event_info *s = e->event;
        json_add_string(j, "type", "system");
        json_add_int(j, "id", s->id);
        json_add_string(j, "kind", s->kind);
        json_add_time(j, "at", s->at);
        json_add_time(j, "as_of", s->as_of);
        json_add_string(j, "status", s->status);
        json_add_string(j, "summary", s->summary);
    }
    json_close_object(j);
}

void control_report_totals(const struct topic_report *tr, int64_t *events,
                           int64_t *records)
{
    *events = *records = 0;
    for (size_t i = 0; i < tr->rule_count; i++) {
        *events += tr->rules[i].events;
        *records += tr->rules[i].records;
    }
}

void control_report_json(const struct maintenance_report *rep, struct json *j)
{
    json_open_object(j, NULL);
    if (rep->dry_run)
        json_add_null(j, "event");
    else
        json_add_int(j, "event", rep->event);
    json_add_time(j, "as_of", rep->as_of);
    json_add_time(j, "at", rep->at);
    json_add_bool(j, "dry_run", rep->dry_run);
    json_add_string(j, "status", rep->status);
    json_open_array(j, "topics");
    for (size_t i = 0; i < rep->topic_count; i++) {
        const struct topic_report *tr = &rep->topics[i];
        const struct rule_report *h = topic_report_headline(tr);
        int64_t events, records;
        control_report_totals(tr, &events, &records);
        json_open_object(j, NULL);
        json_add_string(j, "topic", tr->topic);
        json_add_time(j, "cutoff", h ? h->cutoff : -1);
        json_add_string(j, "rule", h ? h->rule : NULL);
        json_add_int(j, "events_deleted", events);
        json_add_int(j, "records_deleted", records);
        json_open_array(j, "rules");
        for (size_t k = 0; k < tr->rule_count; k++) {
            const struct rule_report *rr = &tr->rules[k];
            json_open_object(j, NULL);
            json_add_string(j, "rule", rr->rule);
            json_add_time(j, "cutoff", rr->cutoff);
            json_add_int(j, "events_deleted", rr->events);
            json_add_int(j, "records_deleted", rr->records);
            json_close_object(j);
        }
        json_close_array(j);
        json_add_string(j, "error", tr->message[0] ? tr->message : NULL);
        json_close_object(j);
    }
    json_close_array(j);
    json_close_object(j);
}

int control_report_load(struct store *s, int64_t id,
                        struct maintenance_report *rep,
                        struct control_result *r)
{
    bool found;
    if (maintenance_report_load(s, id, rep, &found, &r->err) < 0)
        return control_fail(r, CONTROL_FAILED, "%s", r->err.message);
    if (!found)
        return control_fail(r, CONTROL_NOT_FOUND,
                            "event %lld is not a maintenance run",
                            (long long)id);
    r->outcome = CONTROL_OK;
    return 0;
}
