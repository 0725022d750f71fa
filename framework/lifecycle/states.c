/* states.c: the transition table of spec/lifecycle.md, and the names of
 * states, contexts and table statuses, each in one place. */
#include "states.h"

#include <stdio.h>
#include <string.h>

static const char *const names[STATE_COUNT] = {
    [STATE_PROVISIONING] = "provisioning", [STATE_SETUP] = "setup",
    [STATE_SNAPSHOT] = "snapshot",         [STATE_RUNNING] = "running",
    [STATE_PAUSING] = "pausing",           [STATE_PAUSED] = "paused",
    [STATE_MODIFYING] = "modifying",       [STATE_RESYNC] = "resync",
    [STATE_COMPLETED] = "completed",       [STATE_FAILED] = "failed",
};

#define P STATE_PROVISIONING
#define SU STATE_SETUP
#define SN STATE_SNAPSHOT
#define RU STATE_RUNNING
#define PG STATE_PAUSING
#define PD STATE_PAUSED
#define MO STATE_MODIFYING
#define RS STATE_RESYNC
#define CO STATE_COMPLETED
#define FA STATE_FAILED

/* allowed[from][to] */
static const bool allowed[STATE_COUNT][STATE_COUNT] = {
    [P] = {[SU] = 1, [FA] = 1},
    [SU] = {[SN] = 1, [RU] = 1, [FA] = 1},
    [SN] = {[RU] = 1, [RS] = 1, [CO] = 1, [FA] = 1},
    [RU] = {[PG] = 1, [SU] = 1, [MO] = 1, [FA] = 1},
    [PG] = {[PD] = 1, [FA] = 1},
    [PD] = {[RU] = 1, [SU] = 1, [MO] = 1, [FA] = 1},
    [MO] = {[RU] = 1, [PD] = 1, [FA] = 1},
    [RS] = {[RU] = 1, [CO] = 1, [FA] = 1},
    [CO] = {[SU] = 1},
    [FA] = {[SU] = 1},
};

const char *pipe_state_name(enum pipe_state state)
{
    return state < STATE_COUNT ? names[state] : "unknown";
}

/* The index of `name` in a table of `count` names; -1 when absent. */
static int index_of(const char *const *table, int count, const char *name)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(table[i], name) == 0)
            return i;
    return -1;
}

int pipe_state_from_name(const char *name)
{
    return index_of(names, STATE_COUNT, name);
}

bool pipe_state_can_go(enum pipe_state from, enum pipe_state to)
{
    return from < STATE_COUNT && to < STATE_COUNT && allowed[from][to];
}

void pipe_state_successors(enum pipe_state from, char *out, unsigned size)
{
    unsigned used = 0;
    out[0] = '\0';
    for (int to = 0; to < STATE_COUNT && used < size; to++)
        if (pipe_state_can_go(from, (enum pipe_state)to))
            used += (unsigned)snprintf(out + used, size - used, "%s%s",
                                       used ? ", " : "", names[to]);
}

static const char *const context_names[CONTEXT_COUNT] = {
    [CONTEXT_NONE] = "",
    [CONTEXT_INITIAL] = "initial",
    [CONTEXT_RESYNC] = "resync",
    [CONTEXT_ADD] = "add",
    [CONTEXT_FROM_RUNNING] = "running",
    [CONTEXT_FROM_PAUSED] = "paused",
};

const char *pipe_context_name(enum pipe_context context)
{
    return context < CONTEXT_COUNT ? context_names[context] : "";
}

enum pipe_context pipe_context_from_name(const char *name)
{
    int i = index_of(context_names, CONTEXT_COUNT, name);
    return i < 0 ? CONTEXT_NONE : (enum pipe_context)i;
}

static const char *const status_names[TABLE_STATUS_COUNT] = {
    [TABLE_ACTIVE] = "active",     [TABLE_ADDING] = "adding",
    [TABLE_REMOVING] = "removing", [TABLE_STOPPED] = "stopped",
    [TABLE_FAILED] = "failed",
};

const char *table_status_name(enum table_status status)
{
    return status < TABLE_STATUS_COUNT ? status_names[status] : "unknown";
}

int table_status_from_name(const char *name)
{
    return index_of(status_names, TABLE_STATUS_COUNT, name);
}
