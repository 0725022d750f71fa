/* states.h: the ten pipe states of spec/lifecycle.md and the one table of
 * which state may follow which. */
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

#endif
