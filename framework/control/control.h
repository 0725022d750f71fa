/* control.h: what an operator can see and ask of sluice, implemented once
 * for the command line (cli/) and the control API (api/) alike: every read
 * written as the JSON object that `--json` prints and the API answers,
 * every change carried out with its outcome returned as a value, which
 * each surface turns into its own form (an exit status, an HTTP status).
 *
 * The JSON writers take a writer positioned where a value may go (inside
 * an array, or at the top) and write one complete object. */
#ifndef SLUICE_CONTROL_CONTROL_H
#define SLUICE_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "../hub/hub.h"
#include "../lifecycle/lifecycle.h"
#include "../lifecycle/requests.h"
#include "../maintenance/maintenance.h"
#include "../plugin/plugin.h"
#include "../store/store.h"
#include "../util/error.h"
#include "../util/json.h"

/* How an operator's read or request came out. */
enum control_outcome {
    CONTROL_OK,
    CONTROL_NOT_FOUND, /* no such pipe, topic, subscription, event... */
    CONTROL_BAD,       /* what was asked is malformed (a table unknown) */
    CONTROL_REFUSED,   /* the pipe's state refuses it now */
    CONTROL_FAILED     /* the store failed */
};

/* The outcome with its message (the words the CLI prints) and, when
 * refused, the pipe's state that refused it. */
struct control_result {
    enum control_outcome outcome;
    const char *state; /* CONTROL_REFUSED: a pipe state's name; static */
    struct error err;
};

/* Sets the result's outcome and message; returns -1 unless CONTROL_OK. */
int control_fail(struct control_result *r, enum control_outcome outcome,
                 const char *fmt, ...) SLUICE_PRINTF(3, 4);

/* ---- pipes (pipes.c) ---- */

/* Loads a pipe: CONTROL_NOT_FOUND, naming it, when there is none. */
int control_pipe_load(struct store *s, const char *name, struct pipe_row *row,
                      struct control_result *r);
/* The worker that runs the pipe now (the holder of its lease) and when
 * its lease runs out (ms from now); NULL when none. The caller frees it. */
char *control_pipe_worker(struct store *s, const char *pipe, int64_t *expires);
/* The pipe's deliveries: publication events its subscription has yet to
 * complete (-1: unknown), and whether an operator paused it. */
struct control_deliveries {
    int64_t waiting;
    bool paused;
};
struct control_deliveries control_pipe_deliveries(struct store *s,
                                                  const char *pipe);
/* The requests a pipe's status shows. */
#define CONTROL_RECENT_REQUESTS 5
/* The pipe's status object, as `sluice status --json` lists it; with
 * `recent` above 0, as `sluice status PIPE --json` shows it, with that
 * many of its newest requests. */
void control_pipe_json(struct store *s, const struct pipe_row *p,
                       size_t recent, struct json *j);
/* A state transition of `sluice history --json`. */
void control_transition_json(const struct transition *t, struct json *j);
/* An operator request. */
void control_request_json(const struct request *req, struct json *j);

/* ---- operator requests (requests.c) ---- */

/* What control_request did: the request recorded, and whether it was
 * carried out here because no worker runs the pipe. */
struct control_request_made {
    int64_t id;
    bool carried_here;
};

/* Records an operator request of a pipe (pause, resume, resync, tables
 * add, tables remove, delete) and, when no worker runs the pipe, carries
 * out at once what needs no plugin (pause, resume, delete): otherwise a
 * pipe nobody runs could never be paused, and so never have its settings
 * changed. The pipe must exist (CONTROL_NOT_FOUND), the tables must be
 * right for the request (CONTROL_BAD), its state must allow the request
 * (CONTROL_REFUSED, naming the state). The one way the CLI and the API
 * ask anything of a pipe. */
int control_request(struct store *s, const char *pipe, enum request_kind kind,
                    const char *const *tables, size_t table_count,
                    bool drop_destination, struct control_request_made *made,
                    struct control_result *r);
/* Whether the request is over (done, refused or failed). */
bool control_request_over(const struct request *req);

/* ---- the hub (hub.c) ---- */

/* What a topic holds: its publication events, their records and bytes,
 * the oldest's and newest's times, the events of each consumption. */
struct control_topic_counts {
    int64_t events, records, bytes, oldest, newest;
    int64_t by_consumption[5];
};
int control_topic_count(struct store *s, const char *topic,
                        struct control_topic_counts *c,
                        struct control_result *r);
/* A topic's summary, as an item of `sluice topic list --json`. */
void control_topic_summary_json(const struct topic *t,
                                const struct control_topic_counts *c,
                                struct json *j);
/* A topic in full, as `sluice topic describe --json`. */
int control_topic_json(struct store *s, const char *name, struct json *j,
                       struct control_result *r);
/* A subscription, as an item of `sluice subscription list --json`. */
void control_subscription_json(const struct subscription *sub, struct json *j);
/* Pauses or resumes a subscription. */
int control_subscription_pause(struct store *s, const char *name, bool paused,
                               struct control_result *r);

/* ---- events (events.c) ---- */

/* The events of the hub and the system, in time order (publications,
 * then subscription events, then system events at the same time, each by
 * id), read a page at a time from the store. */
struct control_events;

/* An event and where it stands in the order (its cursor). */
struct control_event {
    int64_t at;
    int type; /* CONTROL_EVENT_* */
    int64_t id;
    const void *event; /* publication_info, subscription_event_info or
                          system_event_info; valid until the next read */
};
#define CONTROL_EVENT_PUBLICATION 0
#define CONTROL_EVENT_SUBSCRIPTION 1
#define CONTROL_EVENT_SYSTEM 2

/* Opens a reading of the events of `topic` (NULL: every topic) from
 * `since` (INT64_MIN: all), after the event `after` names (a cursor of
 * control_event_cursor; NULL: from the first). A topic not in the store
 * is CONTROL_NOT_FOUND, a malformed cursor CONTROL_BAD. */
int control_events_open(struct store *s, const char *topic, int64_t since,
                        const char *after, struct control_events **out,
                        struct control_result *r);
/* The next event: 1, 0 at the end, -1 on a store error (in `err`). */
int control_events_next(struct control_events *ev, struct control_event *e,
                        struct error *err);
void control_events_close(struct control_events *ev);
/* The cursor of an event: the text to give as `after` to read on. */
void control_event_cursor(const struct control_event *e, char *out,
                          size_t size);
/* An event, as an item of `sluice events --json`. */
void control_event_json(const struct control_event *e, struct json *j);

/* ---- maintenance (events.c) ---- */

/* A maintenance report, as `sluice maintenance run | report --json`. */
void control_report_json(const struct maintenance_report *rep, struct json *j);
/* The events and records a topic's plan deleted, over its rules. */
void control_report_totals(const struct topic_report *tr, int64_t *events,
                           int64_t *records);
/* The report of maintenance event `id`: CONTROL_NOT_FOUND when `id` is
 * not a maintenance run. The caller frees it. */
int control_report_load(struct store *s, int64_t id,
                        struct maintenance_report *rep,
                        struct control_result *r);

/* ---- plugins (plugins.c) ---- */

/* The plugins found and refused, as `sluice plugins list --json`. */
void control_plugins_json(const struct registry *reg, struct json *j);
/* One plugin with its options, as `sluice plugins describe --json`. */
void control_plugin_json(const struct plugin *p, struct json *j);

#endif
