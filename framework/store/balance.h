/* balance.h: the workers of one store share its pipes. A running worker
 * beats in the store's `workers` table (worker_beat); one whose last beat
 * is older than WORKER_LIVE_MS is not counted. A worker's share of the
 * pipes is ceil(pipes / live workers). It takes a free pipe only while it
 * holds fewer than its share; under its share, it marks a pipe another
 * worker holds as wanted (leases.wanted_by), and the holder, when over
 * its share, stops the pipe's work and hands its lease to the worker
 * that wants it, for BALANCE_GRACE_MS, in which that worker renews it:
 * no third worker takes it meanwhile. */
#ifndef SLUICE_STORE_BALANCE_H
#define SLUICE_STORE_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* How often a running worker beats, and how long a beat counts. */
#define WORKER_BEAT_MS 2000
#define WORKER_LIVE_MS 15000
/* How long a lease handed over lasts until its new holder renews it. */
#define BALANCE_GRACE_MS 3000

/* The worker's beat: it is live for WORKER_LIVE_MS more. */
int worker_beat(struct store *s, const char *worker, struct error *err);
/* The worker stops: no longer counted. */
int worker_leave(struct store *s, const char *worker, struct error *err);

/* A pipe's lease for `worker`: renewed when it holds it, taken when it is
 * to be had (free, expired, or a gone process's of this host) and the
 * worker is under its share; else, under its share, marked as wanted.
 * *held as lease_acquire's. */
int balance_acquire(struct store *s, const char *lease, const char *worker,
                    int64_t ttl_ms, bool *held, struct error *err);
/* Whether `worker`, holding `lease`, is to hand it over: it is over its
 * share, and a live worker under its share wants it (*to, the caller
 * frees it; NULL when not). */
int balance_over(struct store *s, const char *lease, const char *worker,
                 char **to, struct error *err);
/* Hands the lease to the worker that wants it, when balance_over still
 * says so; the caller has stopped the pipe's work. *handed when done. */
int balance_give(struct store *s, const char *lease, const char *worker,
                 bool *handed, struct error *err);

#endif
