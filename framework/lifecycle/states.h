/* states.h: the ten pipe states of spec/lifecycle.md and the one table of
 * which state may follow which; what a state is for (its context); the
 * statuses of a pipe's tables. Each with its names, as stored and shown,
 * in one table of states.c. */
#ifndef SLUICE_LIFECYCLE_STATES_H
#define SLUICE_LIFECYCLE_STATES_H

#include <stdbool.h>

enum pipe_state {
    STATE_PROVISIONING,
    STATE_SETUP,
    STATE_SNAPSHOT,
    STATE_RUNNING,
    STATE_PAUSING,
    STATE_PAUSED,
    STATE_MODIFYING,
    STATE_RESYNC,
    STATE_COMPLETED,
    STATE_FAILED,
    STATE_COUNT
};

const char *pipe_state_name(enum pipe_state state);
/* -1 when `name` is not a state. */
int pipe_state_from_name(const char *name);
bool pipe_state_can_go(enum pipe_state from, enum pipe_state to);
/* "setup, failed": where `from` may go, for messages. */
void pipe_state_successors(enum pipe_state from, char *out, unsigned size);

/* What a state is for, kept with it: a setup or snapshot for a new pipe,
 * a resync or added tables; where a modification goes back to. */
enum pipe_context {
    CONTEXT_NONE,         /* "" */
    CONTEXT_INITIAL,      /* a new pipe: every table */
    CONTEXT_RESYNC,       /* every table, into the shadows */
    CONTEXT_ADD,          /* the added tables only */
    CONTEXT_FROM_RUNNING, /* modifying, then back to running */
    CONTEXT_FROM_PAUSED,  /* modifying, then back to paused */
    CONTEXT_COUNT
};

const char *pipe_context_name(enum pipe_context context);
/* CONTEXT_NONE for a name that is none of them. */
enum pipe_context pipe_context_from_name(const char *name);

/* The status of one table of a pipe. */
enum table_status {
    TABLE_ACTIVE,   /* loaded (or loading) and followed */
    TABLE_ADDING,   /* added: waits for its snapshot */
    TABLE_REMOVING, /* being removed (state modifying) */
    TABLE_STOPPED,  /* dropped or renamed at the source */
    TABLE_FAILED,   /* cannot be served (its note says why); the pipe's
                       other tables go on */
    TABLE_STATUS_COUNT
};

const char *table_status_name(enum table_status status);
/* -1 when `name` is not a status. */
int table_status_from_name(const char *name);

#endif
