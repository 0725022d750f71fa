/* workers.h: a worker, a `sluice` process using a store, and its name
 * "host:pid:start_ms:bootid.pidns": the host, the process, when it
 * started, and where its PID means it (this boot of the host, this PID
 * namespace). Leases (leases.h) and the store's migration (store.c) ask
 * whether the worker holding something is still there. */
#ifndef SLUICE_STORE_WORKERS_H
#define SLUICE_STORE_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

/* This process's name as a worker, built once. */
const char *worker_name(void);
/* A worker's name as people read it: "host pid N" (what else the name
 * holds tells a restarted process from the one before it, for taking its
 * leases over); a name of another form as it is. */
void worker_shown(const char *name, char *out, size_t size);
/* Whether `owner` was a process of this host, boot and PID namespace that
 * is gone: what it held need not be waited out. */
bool worker_gone_from_here(const char *owner);

#endif
