/* leases.h: who works on what. A lease names a thing ("pipe:orders",
 * "hub") and the worker that holds it until a time. A worker renews its
 * leases well before they expire; a lease whose worker stopped renewing
 * it expires, and another worker takes the thing over. Expiry is judged
 * by the database server's clock, so workers on hosts whose clocks
 * disagree still agree on who holds what. A lease whose worker was a
 * process of this host (same boot, same PID namespace) that no longer
 * exists is taken over at once: a restart after a crash does not wait. */
#ifndef SLUICE_STORE_LEASES_H
#define SLUICE_STORE_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "workers.h" /* worker_name() */

/* Takes the lease, or renews it when `owner` already holds it, for ttl_ms
 * from now. *held is false when another live worker holds it. */
int lease_acquire(struct store *s, const char *name, const char *owner,
                  int64_t ttl_ms, bool *held, struct error *err);
/* Gives the lease up, when `owner` holds it. */
int lease_release(struct store *s, const char *name, const char *owner,
                  struct error *err);
/* The live holder of a lease (*owner NULL when none, or when it was a
 * process of this host that is gone); the caller frees *owner. */
int lease_holder(struct store *s, const char *name, char **owner,
                 int64_t *expires_in_ms, struct error *err);

/* Fencing: in the transaction of a commit that moves what the lease
 * covers on, fails it (*held false, and an error saying so) unless
 * `owner` holds the lease, unexpired; on PostgreSQL the lease's row stays
 * locked until the commit, so no other worker takes it over meanwhile. */
int lease_fence(struct store *s, const char *name, const char *owner,
                bool *held, struct error *err);

/* The name of a pipe's lease, "pipe:NAME"; the caller frees it. */
char *pipe_lease_name(const char *pipe);

#endif
