/* hub.h: the topic hub of spec/hub.md, on the store.
 *
 * Sources publish to topics, sinks subscribe. A publication event is one
 * batch committed with the source position it ends at, in one
 * transaction (joined with the caller's, so a pipe's checkpoint commits
 * with it); its records are kept as framed blobs (plugin/batch.h), never
 * a row per record. It is owed to the subscriptions that exist when it
 * is published. A subscription reads publication events in order; taking
 * one records a subscription event `processing`, completing it is one
 * transaction that also moves the subscription on. */
#ifndef SLUICE_HUB_HUB_H
#define SLUICE_HUB_HUB_H

#include <sluice/retention.h>
#include <stdbool.h>
#include <stdint.h>

#include "../plugin/batch.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "kept.h"
#include "segments.h"

/* The spec's ranges of a topic's retention, in days: consumed from 1 to
 * 90, unconsumed from consumed to 90. Written here only: topic_check,
 * the option tables of [topic NAME] (config.c) and of the conformance
 * kit take them from here. */
#define HUB_RETENTION_MIN_DAYS 1
#define HUB_RETENTION_MAX_DAYS 90

/* ---- topics ---- */

struct topic {
    char *name;
    int64_t consumed_retention_days;
    int64_t unconsumed_retention_days;
    char *retention; /* the retention plugin */
    int64_t created_at;
};

/* The property of a topic's retention that is out of the spec's ranges
 * (NULL: neither), with its value and, in `range`, the range it must lie
 * in ("1 to 90", "consumed_retention_days (3) to 90"). */
const char *topic_out_of_range(int64_t consumed, int64_t unconsumed,
                               int64_t *value, char *range, size_t size);
/* The spec's ranges; the message names the property, value and range. */
int topic_check(int64_t consumed, int64_t unconsumed, struct error *err);
/* Creates a topic; refuses one that exists. */
int topic_create(struct store *s, const struct topic *t, struct error *err);
/* Creates it, or brings an existing one to these properties; *changed
 * says whether anything was written. */
int topic_apply(struct store *s, const struct topic *t, bool *changed,
                struct error *err);
int topic_get(struct store *s, const char *name, struct topic *out,
              bool *found, struct error *err);
int topic_list(struct store *s, struct topic **out, size_t *count,
               struct error *err);
void topic_free(struct topic *t);
void topics_free(struct topic *t, size_t count);

/* ---- publishing ---- */

/* Publishes the batch and its position as one publication event at
 * `at_ms`, owed to the topic's subscriptions. `pipe` names the publisher
 * (NULL: the command line). */
int hub_publish(struct store *s, const char *topic, const char *pipe,
                const struct sluice_batch *batch, int64_t at_ms,
                int64_t *publication, struct error *err);

/* A batch's bytes written ahead of its publication event: in a segment
 * (SQLite stores), else nothing yet (PostgreSQL stores write them in the
 * event's transaction). Written before the transaction begins, the
 * bytes do not hold the store's write lock while they reach the disk. */
struct hub_blob {
    bool written;
    bool in_segment;
    struct segment_ref ref;
};
int hub_blob_write(struct store *s, const struct sluice_batch *b,
                   struct hub_blob *out, struct error *err);
/* hub_publish of a batch whose bytes hub_blob_write wrote. */
int hub_publish_written(struct store *s, const char *topic, const char *pipe,
                        const struct sluice_batch *batch,
                        const struct hub_blob *blob, int64_t at_ms,
                        int64_t *publication, struct error *err);
/* A publication event's records, from wherever they are kept, into
 * `out` (an initialized batch, replaced). */
int hub_publication_load(struct store *s, int64_t publication,
                         struct sluice_batch *out, struct error *err);

/* ---- subscriptions ---- */

struct subscription {
    char *name, *topic, *pipe;
    bool paused;
    int64_t cursor; /* the last publication completed */
    int64_t created_at;
    int64_t pending; /* publication events not yet completed */
};

/* A subscription of `topic`; a pipe's (pipe not NULL) starts after the
 * topic's last publication event, any other at its first. */
int subscription_create(struct store *s, const char *name, const char *topic,
                        const char *pipe, int64_t at_ms, struct error *err);
int subscription_set_paused(struct store *s, const char *name, bool paused,
                            struct error *err);
/* Removes a subscription; what was owed to it and not consumed is
 * discarded, so it no longer holds those events back. */
int subscription_delete(struct store *s, const char *name, int64_t at_ms,
                        struct error *err);
int subscription_get(struct store *s, const char *name,
                     struct subscription *out, bool *found, struct error *err);
int subscription_list(struct store *s, struct subscription **out,
                      size_t *count, struct error *err);
void subscription_free(struct subscription *sub);
void subscriptions_free(struct subscription *subs, size_t count);

/* ---- consuming ---- */

struct hub_event {
    int64_t publication;
    int64_t published_at;
    struct sluice_batch batch; /* the records, with the position */
};

/* The subscription's next publication event, recorded as `processing`
 * (again, after a crash before it completed); *found false when it has
 * read everything. A paused subscription is refused, as an error that
 * passes (transient: the resume ends it). The caller frees
 * the event with hub_event_free. */
int hub_take(struct store *s, const char *subscription, int64_t at_ms,
             struct hub_event *out, bool *found, struct error *err);
/* The same, for the next event after publication `after` (one taken and
 * not yet completed), to take several and complete them together; its
 * records from `kept` when its publisher kept them there (may be NULL). */
int hub_take_after(struct store *s, const char *subscription, int64_t after,
                   int64_t at_ms, struct hub_kept *kept, struct hub_event *out,
                   bool *found, struct error *err);
/* The event is consumed: completed, and the subscription moves on. */
int hub_complete(struct store *s, const char *subscription,
                 int64_t publication, int64_t at_ms, struct error *err);
/* How many publication events the subscription has still to complete. */
int hub_backlog(struct store *s, const char *subscription, int64_t *count,
                struct error *err);
/* The same, with the records those events carry. */
int hub_backlog_records(struct store *s, const char *subscription,
                        int64_t *events, int64_t *records, struct error *err);
/* The event could not be consumed (the consumer gave up). */
int hub_error(struct store *s, const char *subscription, int64_t publication,
              const char *message, int64_t at_ms, struct error *err);
void hub_event_free(struct hub_event *e);

/* ---- events ---- */

const char *consumption_name(sluice_consumption c);

struct publication_info {
    int64_t id;
    char *topic;
    int64_t published_at, records, bytes;
    char *status;
    sluice_consumption consumption;
    int64_t owed, consumed; /* subscriptions owed, and those done */
    int64_t final_at;       /* when it became final (the latest finish of the
                               subscription events owed); 0 when not final */
};

/* Publication events with their consumption status, oldest first: of one
 * topic (NULL: all), published at or after since_ms, as they stood at
 * as_of_ms (INT64_MAX: now): events published after it are left out, and
 * subscription events finished after it count as not finished. The store
 * keeps only the last status of a subscription event, so one that failed
 * before as_of_ms and was finished again after it counts as `processing`;
 * whether a subscription was paused is today's. */
int hub_publications(struct store *s, const char *topic, int64_t since_ms,
                     int64_t as_of_ms, struct publication_info **out,
                     size_t *count, struct error *err);
/* The same, in pages: the first `limit` events with an id above
 * `after_id`. */
int hub_publications_page(struct store *s, const char *topic, int64_t since_ms,
                          int64_t as_of_ms, int64_t after_id, int64_t limit,
                          struct publication_info **out, size_t *count,
                          struct error *err);
/* For listings: the first `limit` events of one topic (NULL: all) after
 * (after_at, after_id) in the order of (published_at, id), as they are
 * now. */
int hub_publications_by_time(struct store *s, const char *topic,
                             int64_t after_at, int64_t after_id, int64_t limit,
                             struct publication_info **out, size_t *count,
                             struct error *err);
void publications_free(struct publication_info *p, size_t count);

/* A topic as it stood at as_of_ms, for retention rules that look past a
 * page: its publication events and their records; and the newest event
 * (greatest published_at, then id) published before D and final before D,
 * D being 00:00 UTC of as_of_ms's date. newest_final owns no strings. */
struct topic_summary {
    int64_t publications, records;
    bool has_newest_final;
    struct publication_info newest_final;
};
int hub_topic_summary(struct store *s, const char *topic, int64_t as_of_ms,
                      struct topic_summary *out, struct error *err);

struct subscription_event_info {
    int64_t id, publication, at; /* at: finished, else started */
    char *subscription, *topic, *status, *message;
};

struct system_event_info {
    int64_t id, at, as_of;
    char *kind, *status, *summary;
};

/* Subscription events of one topic (NULL: all), the first `limit` after
 * (after_at, after_id) in the order of (at, id). */
int hub_subscription_events_by_time(struct store *s, const char *topic,
                                    int64_t after_at, int64_t after_id,
                                    int64_t limit,
                                    struct subscription_event_info **out,
                                    size_t *count, struct error *err);
void subscription_events_free(struct subscription_event_info *e, size_t n);
int hub_system_events(struct store *s, int64_t since_ms,
                      struct system_event_info **out, size_t *count,
                      struct error *err);
void system_events_free(struct system_event_info *e, size_t n);

#endif
