/* activity.h: what each worker thread of the process is in the middle
 * of, so that a stop that cannot wait for a thread says what it leaves
 * behind: the thread's pipe, the work it does (a snapshot partition, the
 * changes of some tables, a delivery to the sink) and the call it waits
 * in (a plugin's callback, a store statement) with how long.
 *
 * A thread takes part from activity_join to activity_quit; in any other
 * thread the calls below do nothing. Each thread writes only its own
 * entry; activity_each reads them all. */
#ifndef SLUICE_UTIL_ACTIVITY_H
#define SLUICE_UTIL_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The calling thread takes part, working for `who` (a pipe; NULL: the
 * core). */
void activity_join(const char *who);
void activity_quit(void);

/* The work the thread does from now on, until the next or its end. */
void activity_work(const char *fmt, ...) SLUICE_PRINTF(1, 2);
void activity_work_end(void);

/* A call the thread waits in, from begin to end. Calls nest (a store
 * statement of a transaction): only the outermost is kept. */
void activity_call_begin(const char *fmt, ...) SLUICE_PRINTF(1, 2);
void activity_call_end(void);

/* The calling thread's call and work as one text ("source_x.snapshot_next
 * of table a (in the snapshot of table a, partition 2)"), "" when it has
 * neither; into out. */
const char *activity_mine(char *out, size_t size);

/* For every thread taking part that is in a call: its `who` (NULL: the
 * core), its work and call as activity_mine says them, and how long it
 * has been in the call. Returns how many there were. */
size_t activity_each(void (*fn)(const char *who, const char *what,
                                int64_t in_call_ms, void *arg),
                     void *arg);

#endif
