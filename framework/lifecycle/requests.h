/* requests.h: operator requests (pause, resume, resync, tables add,
 * tables remove, pipe delete), recorded in the store and carried out by
 * whichever worker runs the pipe.
 *
 * A request is refused at once when it is illegal in the pipe's current
 * state (the message names the state). The worker takes pending requests
 * in order; starting one checks it again (the state may have moved) and
 * makes its first transition; the request is done when the pipe reaches
 * the state it aimed for (lifecycle.h settles it). */
#ifndef SLUICE_LIFECYCLE_REQUESTS_H
#define SLUICE_LIFECYCLE_REQUESTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/store.h"
#include "pipes.h"

enum request_kind {
    REQUEST_PAUSE,
    REQUEST_RESUME,
    REQUEST_RESYNC,
    REQUEST_TABLES_ADD,
    REQUEST_TABLES_REMOVE,
    REQUEST_DELETE,
    REQUEST_KIND_COUNT
};

/* Request statuses. */
#define REQUEST_PENDING "pending"
#define REQUEST_IN_PROGRESS "in_progress"
#define REQUEST_DONE "done"
#define REQUEST_REFUSED "refused"
#define REQUEST_FAILED "failed"

struct request {
    int64_t id;
    char *pipe;
    enum request_kind kind;
    char **tables;
    size_t table_count;
    bool drop_destination;
    char *status;
    char *message;
    int64_t created_at, updated_at;
};

/* "pause", "tables add", ... */
const char *request_kind_name(enum request_kind kind);
/* Whether the request is legal for the pipe as it is; the message says
 * why not, naming the state. */
int request_check(const struct pipe_row *pipe, enum request_kind kind,
                  const char *const *tables, size_t table_count,
                  struct error *err);
/* The part of request_check that no state changes: the tables a request
 * names (tables add and remove name at least one; tables remove, only
 * tables of the pipe). A command refuses these as bad usage. */
int request_check_names(const struct pipe_row *pipe, enum request_kind kind,
                        const char *const *tables, size_t table_count,
                        struct error *err);

/* Records a request; -1 when it is refused (nothing is recorded). */
int request_submit(struct store *s, const char *pipe, enum request_kind kind,
                   const char *const *tables, size_t table_count,
                   bool drop_destination, int64_t *id, struct error *err);

/* The pipe's oldest pending request; *found false when there is none. */
int request_next(struct store *s, const char *pipe, struct request *out,
                 bool *found, struct error *err);

/* Starts carrying out a pending request: checks it again and makes its
 * first transition (pause: running -> pausing; resume: paused -> running;
 * resync: -> setup for a resync; tables add: -> setup for the new tables;
 * tables remove: -> modifying; delete: removes the pipe and everything
 * of it). Returns 0 when started, 1 when it was refused now (recorded
 * with the reason in `err`), -1 on a store error. */
int request_start(struct store *s, struct request *req, struct error *err);

/* What request_take took: the request's id (0: none) and kind. */
struct request_taken {
    int64_t id;
    enum request_kind kind;
};

/* Takes the pipe's oldest pending request and starts it (request_start):
 * the one way a request is taken up, by the worker that runs the pipe,
 * or, `without_worker`, by a command that holds the pipe's lease while no
 * worker runs it. That one takes only what needs no plugin (pause,
 * resume, delete), and finishes a pause at once: no batch is in flight.
 * Returns 0 when it started one or there was none to take (taken->id 0),
 * 1 when the request was refused now (recorded, `err` says why), -1 on a
 * store error. */
int request_take(struct store *s, const char *pipe, bool without_worker,
                 struct request_taken *taken, struct error *err);

/* One request by id; *found false when there is none (a deleted pipe
 * takes its requests with it). */
int request_get(struct store *s, int64_t id, struct request *out, bool *found,
                struct error *err);

/* The requests of a pipe (all, newest first, at most `limit`). */
int requests_of(struct store *s, const char *pipe, size_t limit,
                struct request **out, size_t *count, struct error *err);
void request_free(struct request *r);
void requests_free(struct request *r, size_t count);

#endif
