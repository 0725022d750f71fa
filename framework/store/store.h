/* store.h: where pipes, their states, checkpoints, operator requests and
 * the hub live. One interface, two backends: SQLite (sqlite:PATH, the
 * embedded default) and PostgreSQL (postgresql://..., shared by workers
 * on several hosts). A store is opened with an intent (see enum
 * store_intent): only the intent to create one creates or migrates it,
 * and a store written by a newer sluice is refused whatever the intent.
 *
 * An SQLite file deleted, moved or replaced while it is open, or opened
 * to write and no longer writable, is noticed after each commit and each
 * statement outside a transaction: the commit or statement fails (fatal),
 * so nothing is taken as durable that did not reach the file at the
 * store's path. One stat() (and for a writer one access()) each.
 *
 * A store handle is one connection: use it from one thread at a time.
 * Transactions nest: only the outermost begin and commit reach the
 * database, so a step (say, publishing a batch) and the checkpoint it
 * reaches commit together even when written by different modules. */
#ifndef SLUICE_STORE_STORE_H
#define SLUICE_STORE_STORE_H

#include <stdbool.h>

#include "../util/error.h"
#include "db.h"

#define STORE_DEFAULT_URL "sqlite:./sluice.db"

struct store;

/* What the opener means to do with the store. */
enum store_intent {
    /* read an existing store as it is: never created nor migrated; an
     * older schema is read while the reading works on it, and a failure
     * then names the command that upgrades it */
    STORE_READ,
    /* write into an existing store of this sluice's schema; an SQLite
     * file that may no longer be written fails every statement */
    STORE_WRITE,
    /* create a missing store (an SQLite file is made mode 0600; an
     * existing file keeps its mode) and migrate an older one */
    STORE_CREATE,
};

/* `url` is sqlite:PATH or postgresql://... (postgres:// too). */
int store_open(const char *url, enum store_intent intent, struct store **out,
               struct error *err);

/* Checks a store URL without opening it: a scheme sluice has a backend
 * for; an SQLite path, without URL options (sluice cannot honour them,
 * and will not take them for part of the file name); a PostgreSQL URL
 * that libpq can read, parameter names included (their values are
 * checked when it connects). */
int store_url_check(const char *url, struct error *err);
void store_close(struct store *s);

/* The URL with any password masked, for messages. */
const char *store_name(const struct store *s);
const char *store_backend(const struct store *s);
/* An SQLite store's file, as an absolute path; NULL for PostgreSQL. */
const char *store_sqlite_path(const struct store *s);
/* Copies an SQLite store as of one moment into the new file `dest`. */
int store_sqlite_backup(struct store *s, const char *dest, struct error *err);

/* What a module keeps per connection (the hub's open segment files):
 * the store owns `data` once attached and frees it with free_fn when it
 * closes. One attachment a store; NULL until one is made. */
void store_attach(struct store *s, void *data, void (*free_fn)(void *));
void *store_attached(const struct store *s);

/* Runs one statement (common SQL, see db.h). `res` may be NULL. An error
 * outside a transaction leaves nothing behind; inside one, roll back. */
int store_exec(struct store *s, const char *sql, const struct db_value *params,
               size_t count, struct db_result *res, struct error *err);

int store_begin(struct store *s, struct error *err);
/* Commits when outermost; -1 when the transaction had to be rolled back
 * (an inner step failed) or the commit failed. */
int store_commit(struct store *s, struct error *err);
/* Rolls back when outermost; inside, dooms the outer transaction. */
void store_rollback(struct store *s);

/* A step of a transaction: a value >= 0 (0, or a verdict the caller
 * reads) when it is done, -1 with `err` set when it failed. */
typedef int (*store_step)(struct store *s, void *arg, struct error *err);

/* Runs `step` in a transaction (nested in the caller's when one is open):
 * begins, runs the step and commits, or rolls back when the step fails.
 * Returns what the step returned once committed, `err` holding what the
 * step left in it; else -1 with `err` saying why. */
int store_transaction(struct store *s, store_step step, void *arg,
                      struct error *err);

/* Something that waits for the transaction: fn(arg, committed) runs once
 * the outermost transaction is over, `committed` saying whether what it
 * wrote is in the store (false: rolled back, or lost with its file);
 * outside a transaction, at once (what was written is). `fn` owns `arg`
 * (frees it) and must not use the store. Say, a log line about what a
 * transaction changed, written only when the change was made. */
typedef void (*store_after_fn)(void *arg, bool committed);
void store_after(struct store *s, store_after_fn fn, void *arg);

/* The store's identity: made once at random, the first time it is asked
 * for, and never changed; it tells deployments with separate stores apart
 * (the owners of destinations). NULL on an error. Owned by the store. */
const char *store_id(struct store *s, struct error *err);

/* The schema versions this sluice knows, and the store's. */
int store_schema_latest(void);
int store_schema_version(struct store *s, int *version, struct error *err);

#endif
