/* schema.c: the store's schema, as numbered migrations. A migration is
 * only ever appended: a released one never changes. Each runs in one
 * transaction with the version it brings, under a lock, so two processes
 * opening a fresh store at once migrate it once. */
#include <stdio.h>
#include <stdlib.h>

#include "../util/mem.h"
#include "schema.h"

static const char *const migration_1[] = {
    "CREATE TABLE pipes ("
    " name TEXT PRIMARY KEY,"
    " source TEXT NOT NULL,"
    " sink TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " mode TEXT NOT NULL,"
    " settings TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " state_since BIGINT NOT NULL,"
    " state_context TEXT NOT NULL DEFAULT '',"
    " last_error TEXT,"
    " retry_count BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX pipes_by_topic ON pipes (topic)",

    "CREATE TABLE pipe_tables ("
    " pipe TEXT NOT NULL REFERENCES pipes(name) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " drop_destination BIGINT NOT NULL DEFAULT 0,"
    " rows_copied BIGINT NOT NULL DEFAULT 0,"
    " rows_estimated BIGINT NOT NULL DEFAULT -1,"
    " bytes_copied BIGINT NOT NULL DEFAULT 0,"
    " lag_ms BIGINT NOT NULL DEFAULT -1,"
    " updated_at BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (pipe, name))",

    "CREATE TABLE transitions ("
    " id {{id}},"
    " pipe TEXT NOT NULL,"
    " at BIGINT NOT NULL,"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " reason TEXT NOT NULL)",
    "CREATE INDEX transitions_by_pipe ON transitions (pipe, id)",

    "CREATE TABLE requests ("
    " id {{id}},"
    " pipe TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " tables TEXT NOT NULL DEFAULT '',"
    " drop_destination BIGINT NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " message TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX requests_by_pipe ON requests (pipe, status, id)",

    "CREATE TABLE checkpoints ("
    " pipe TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " tbl TEXT NOT NULL,"
    " part BIGINT NOT NULL,"
    " position {{blob}} NOT NULL,"
    " done BIGINT NOT NULL DEFAULT 0,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (pipe, kind, tbl, part))",

    "CREATE TABLE leases ("
    " name TEXT PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " expires_at BIGINT NOT NULL)",
    NULL,
};

/* The hub: topics, publication events (records in framed blobs, never a
 * row per record), the subscriptions each was owed to when published,
 * subscriptions and their events, and system events with their reports. */
static const char *const migration_2[] = {
    "CREATE TABLE topics ("
    " name TEXT PRIMARY KEY,"
    " consumed_retention_days BIGINT NOT NULL,"
    " unconsumed_retention_days BIGINT NOT NULL,"
    " retention TEXT NOT NULL,"
    " created_at BIGINT NOT NULL)",

    "CREATE TABLE publications ("
    " id {{id}},"
    " topic TEXT NOT NULL,"
    " published_at BIGINT NOT NULL,"
    " records BIGINT NOT NULL,"
    " bytes BIGINT NOT NULL,"
    " position {{blob}},"
    " status TEXT NOT NULL,"
    " pipe TEXT)",
    "CREATE INDEX publications_by_topic ON publications (topic, id)",
    "CREATE INDEX publications_by_time ON publications (published_at)",

    "CREATE TABLE publication_blobs ("
    " publication BIGINT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " data {{blob}} NOT NULL,"
    " PRIMARY KEY (publication, seq))",

    "CREATE TABLE subscriptions ("
    " name TEXT PRIMARY KEY,"
    " topic TEXT NOT NULL,"
    " paused BIGINT NOT NULL DEFAULT 0,"
    " cursor BIGINT NOT NULL DEFAULT 0,"
    " pipe TEXT,"
    " created_at BIGINT NOT NULL)",

    "CREATE TABLE owed ("
    " publication BIGINT NOT NULL,"
    " subscription TEXT NOT NULL,"
    " PRIMARY KEY (publication, subscription))",

    "CREATE TABLE subscription_events ("
    " id {{id}},"
    " subscription TEXT NOT NULL,"
    " publication BIGINT NOT NULL,"
    " status TEXT NOT NULL,"
    " started_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " message TEXT NOT NULL DEFAULT '')",
    "CREATE UNIQUE INDEX subscription_events_once ON subscription_events "
    "(publication, subscription)",

    "CREATE TABLE system_events ("
    " id {{id}},"
    " kind TEXT NOT NULL,"
    " at BIGINT NOT NULL,"
    " status TEXT NOT NULL,"
    " as_of BIGINT NOT NULL,"
    " summary TEXT NOT NULL)",

    "CREATE TABLE maintenance_cutoffs ("
    " event BIGINT NOT NULL,"
    " topic TEXT NOT NULL,"
    " rule TEXT NOT NULL,"
    " cutoff BIGINT,"
    " events BIGINT NOT NULL,"
    " records BIGINT NOT NULL,"
    " message TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (event, topic, rule))",
    NULL,
};

/* 3: progress figures and stopped tables. */
static const char *const migration_3[] = {
    "ALTER TABLE pipe_tables ADD COLUMN rows_per_s BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE pipe_tables ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE pipes ADD COLUMN batches BIGINT NOT NULL DEFAULT 0",
    NULL,
};

/* 4: one owner per destination. A table's destination, as its sink names
 * it, is recorded once claimed, and no two tables have the same one. The
 * tables that pipes set up before this are theirs: their first claim
 * takes a destination that has no owner yet. A resync in progress starts
 * again, since shadow tables now have names of their own
 * (_sluice_resync_...) and what went into the old ones is not found
 * there; the old shadows are left for the operator to drop. */
static const char *const migration_4[] = {
    "ALTER TABLE pipe_tables ADD COLUMN destination TEXT",
    "ALTER TABLE pipe_tables ADD COLUMN set_up_before_owners BIGINT NOT NULL "
    "DEFAULT 0",
    "CREATE UNIQUE INDEX pipe_tables_by_destination ON pipe_tables "
    "(destination)",
    "UPDATE pipe_tables SET set_up_before_owners = 1 WHERE pipe IN (SELECT "
    "name FROM pipes WHERE state <> 'provisioning')",
    "INSERT INTO transitions (pipe, at, from_state, to_state, reason) SELECT "
    "name, {{now}}, state, 'setup', 'upgrade: the resync in progress starts "
    "again (shadow tables are named _sluice_resync_TABLE now; the old "
    "TABLE_resync ones are left to drop)' FROM pipes WHERE state_context = "
    "'resync' AND state IN ('snapshot', 'resync')",
    "DELETE FROM checkpoints WHERE kind <> 'cdc' AND pipe IN (SELECT name "
    "FROM pipes WHERE state_context = 'resync' AND state IN ('snapshot', "
    "'resync'))",
    "UPDATE pipe_tables SET rows_copied = 0, bytes_copied = 0, "
    "rows_estimated = -1 WHERE pipe IN (SELECT name FROM pipes WHERE "
    "state_context = 'resync' AND state IN ('snapshot', 'resync'))",
    "UPDATE pipes SET state = 'setup', state_since = {{now}} WHERE "
    "state_context = 'resync' AND state IN ('snapshot', 'resync')",
    NULL,
};

/* 5: the form a table is written in (the values of its plugins' options
 * flagged SLUICE_OPTION_FORM), recorded at its first setup so that a
 * table is never written in two. Tables set up before this were written
 * in the form of their time, which no option names. And which tables of
 * a resync have begun their swap, so that a restart does not begin their
 * resync again. */
static const char *const migration_5[] = {
    "ALTER TABLE pipe_tables ADD COLUMN form TEXT",
    "ALTER TABLE pipe_tables ADD COLUMN swapping BIGINT NOT NULL DEFAULT 0",
    "UPDATE pipe_tables SET form = '" FORM_BEFORE_FORMS "' WHERE status <> "
    "'adding' AND pipe IN (SELECT name FROM pipes WHERE state <> "
    "'provisioning')",
    NULL,
};

/* 6: figures that tell the truth to monitoring. A table's rows and bytes
 * delivered over its life, which a resync does not reset (rows_copied is
 * the progress of its current snapshot; Prometheus counters never go
 * down), starting from what the store counted so far; since when a pipe
 * has retried without progress, and when its last error was. */
static const char *const migration_6[] = {
    "ALTER TABLE pipe_tables ADD COLUMN rows_delivered BIGINT NOT NULL "
    "DEFAULT 0",
    "ALTER TABLE pipe_tables ADD COLUMN bytes_delivered BIGINT NOT NULL "
    "DEFAULT 0",
    "UPDATE pipe_tables SET rows_delivered = rows_copied, bytes_delivered = "
    "bytes_copied",
    "ALTER TABLE pipes ADD COLUMN retrying_since BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE pipes ADD COLUMN last_error_at BIGINT NOT NULL DEFAULT 0",
    NULL,
};

/* 7: progress that advances as batches are written. A table's rows and
 * bytes written to the sink in the delivery under way, before its flush
 * makes them durable (rows_copied then takes them), and whether its rate
 * is steady enough for an ETA. */
static const char *const migration_7[] = {
    "ALTER TABLE pipe_tables ADD COLUMN rows_pending BIGINT NOT NULL DEFAULT "
    "0",
    "ALTER TABLE pipe_tables ADD COLUMN bytes_pending BIGINT NOT NULL "
    "DEFAULT 0",
    "ALTER TABLE pipe_tables ADD COLUMN rate_steady BIGINT NOT NULL DEFAULT "
    "0",
    NULL,
};

/* 8: workers on several hosts share the pipes (balance.h). Each running
 * worker's heartbeat, and the worker that wants a pipe another holds. */
static const char *const migration_8[] = {
    "CREATE TABLE workers ("
    " name TEXT PRIMARY KEY,"
    " host TEXT NOT NULL,"
    " started_at BIGINT NOT NULL,"
    " heartbeat_at BIGINT NOT NULL)",
    "ALTER TABLE leases ADD COLUMN wanted_by TEXT",
    NULL,
};

/* 9: listings of a hub with millions of events read them in pages by
 * time: subscription events by the time `sluice events` shows (finished,
 * else started), then id. */
static const char *const migration_9[] = {
    "CREATE INDEX IF NOT EXISTS subscription_events_by_time ON "
    "subscription_events "
    "((COALESCE(finished_at, started_at)), id)",
    NULL,
};

/* 10: an SQLite store keeps a publication event's bytes in a segment
 * file beside it (hub/segments.h), written once; the event says where,
 * with a checksum (XXH3-64) to check them by. Events published before keep
 * theirs in publication_blobs, as PostgreSQL stores do. */
static const char *const migration_10[] = {
    "ALTER TABLE publications ADD COLUMN segment TEXT",
    "ALTER TABLE publications ADD COLUMN segment_offset BIGINT",
    "ALTER TABLE publications ADD COLUMN blob_length BIGINT",
    "ALTER TABLE publications ADD COLUMN blob_checksum BIGINT",
    "CREATE INDEX publications_by_segment ON publications (segment)",
    /* PostgreSQL: the blobs stored out of line as they are, without
     * pglz (SQLite: nothing) */
    "{{blobs_uncompressed}}",
    NULL,
};

static const char *const *const migrations[] = {migration_1, migration_2,
                                                migration_3, migration_4,
                                                migration_5, migration_6,
                                                migration_7, migration_8,
                                                migration_9, migration_10};

int schema_latest(void)
{
    return (int)(sizeof migrations / sizeof *migrations);
}

const char *const *schema_migration(int version)
{
    if (version < 1 || version > schema_latest())
        return NULL;
    return migrations[version - 1];
}
