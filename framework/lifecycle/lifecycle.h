/* lifecycle.h: the pipe state machine of spec/lifecycle.md, as the store
 * records it. Every transition is written (UTC time, from, to, reason) in
 * the same transaction that moves the pipe, and before the work of the
 * new state starts: a caller moves the pipe, then works. The flows of the
 * spec (what follows setup, a snapshot, a resync, a modification) are
 * decided here, never in the runtime.
 *
 * Each function runs in its own transaction, or inside the caller's when
 * one is open (store.h: transactions nest). */
#ifndef SLUICE_LIFECYCLE_LIFECYCLE_H
#define SLUICE_LIFECYCLE_LIFECYCLE_H

#include <stdbool.h>

#include "../store/store.h"
#include "pipes.h"
#include "states.h"

/* What a pipe is, as registered from a config file. */
struct pipe_def {
    const char *name, *source, *sink, *topic, *mode, *settings;
    const char *const *tables;
    size_t table_count;
};

/* Registers a new pipe in `provisioning`, with its tables. */
int lifecycle_register(struct store *s, const struct pipe_def *def,
                       const char *reason, struct error *err);

/* Moves `pipe` from `from` to `to`. Refuses an illegal transition, and a
 * pipe that is not in `from`, with a message naming its current state.
 * `context` is kept with the state (CONTEXT_NONE: none). Reaching running,
 * paused or completed finishes the pipe's requests in progress; reaching
 * failed fails them with the reason. */
int lifecycle_transition(struct store *s, const char *pipe,
                         enum pipe_state from, enum pipe_state to,
                         enum pipe_context context, const char *reason,
                         struct error *err);

/* A fatal error: the pipe goes to failed from whatever state it is in
 * (not from completed or failed), with `message` as the reason and its
 * last error. */
int lifecycle_fail(struct store *s, const char *pipe, const char *message,
                   struct error *err);

/* A transient error: the retry count grows and the message is kept; the
 * state does not change. lifecycle_retry_clear ends the run of errors. */
int lifecycle_retry(struct store *s, const char *pipe, const char *message,
                    struct error *err);
int lifecycle_retry_clear(struct store *s, const char *pipe,
                          struct error *err);

/* A table that cannot be served (spec/lifecycle.md): its status becomes
 * failed with `reason` as its note; the pipe stays in its state and its
 * other tables go on. A resync takes it up again. */
int lifecycle_table_fail(struct store *s, const char *pipe, const char *table,
                         const char *reason, struct error *err);
/* A table the source can no longer follow (its collection dropped or
 * renamed): its status becomes stopped with the source's reason; the
 * pipe's other tables go on, and its destination is kept. */
int lifecycle_table_stop(struct store *s, const char *pipe, const char *table,
                         const char *reason, struct error *err);

/* The flows. Each reads the pipe, checks its state, moves it on. */
int lifecycle_provisioned(struct store *s, const char *pipe,
                          struct error *err);
int lifecycle_setup_done(struct store *s, const char *pipe, struct error *err);
int lifecycle_snapshot_done(struct store *s, const char *pipe,
                            struct error *err);
int lifecycle_resync_done(struct store *s, const char *pipe,
                          struct error *err);
int lifecycle_pause_done(struct store *s, const char *pipe, struct error *err);
int lifecycle_modify_done(struct store *s, const char *pipe,
                          struct error *err);

/* A worker (re)starting a pipe: brings a pipe found half-way through a
 * transient step to where the spec says it continues (pausing completes
 * to paused). Other states continue as they are. */
int lifecycle_recover(struct store *s, const char *pipe, struct error *err);

/* One row of `sluice history`. */
struct transition {
    int64_t id, at;
    char *from, *to, *reason;
};
int lifecycle_history(struct store *s, const char *pipe,
                      struct transition **out, size_t *count,
                      struct error *err);
void transitions_free(struct transition *t, size_t count);

#endif
