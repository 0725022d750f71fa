/* stopping.h: how sluice run stops on SIGTERM or SIGINT, in a bounded
 * time whatever the servers do.
 *
 * The first signal sets the run's stop flag: every loop ends after the
 * piece of work it is in, and a call that gets its answer in time ends as
 * usual. STOP_ABANDON_MS later, the calls still waiting are told to give
 * up (the host's should_stop: libcurl's transfers end, a source's read
 * is cut short); each one that returns is logged as abandoned (plugin/
 * calls.h). STOP_EXIT_MS after the signal, the process ends without
 * waiting for the threads still in a call (a read blocked in a library,
 * a store that does not answer), each named at warn with its pipe, its
 * work and its call. Nothing such a call carried had been acknowledged:
 * the store's checkpoints and the hub's events are only ever written
 * after the sink or the source answered, in transactions the end of the
 * process rolls back, so the next run does it again.
 *
 * A second SIGTERM or SIGINT ends the process at once, by the signal
 * (the default action: a shell shows status 128 + the signal's number,
 * 143 for SIGTERM, 130 for SIGINT). */
#ifndef SLUICE_RUNTIME_STOPPING_H
#define SLUICE_RUNTIME_STOPPING_H

#include <stdatomic.h>

#include "../util/error.h"

#define STOP_ABANDON_MS 2000
#define STOP_EXIT_MS 6000

/* Installs the signal handlers and starts the thread that keeps the
 * times; the first signal sets *stop. */
int stopping_start(atomic_bool *stop, struct error *err);
/* The status the process exits with when it cannot wait for its threads
 * (the run's own, as far as it is known; 0 until said). */
void stopping_status(int status);
/* The run is over, its threads joined: the times no longer matter. */
void stopping_end(void);

#endif
