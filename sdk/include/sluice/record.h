/* sluice/record.h: records, batches and value lists, as plugins see them.
 *
 * A record is one change of one document: table, operation, key, document,
 * version and (ABI 1.2) the time of the change. A batch is an ordered run
 * of records plus the source position reached once the batch is durable.
 * Batches and value lists are opaque and owned by the core; plugins build
 * and read them only through the host API (sluice/host.h), so the core can
 * store a batch as the framed blob it already is.
 *
 * The contract of a record, for the source that makes it and the sink that
 * reads it:
 *
 * - key: the document's key as the destination shows it, unique within
 *   its table: the same bytes for the same document every time (in the
 *   snapshot and in every change, on every restart) and different bytes
 *   for different documents. The core and the sinks compare keys byte for
 *   byte and never parse them, so a value must have one spelling: where a
 *   key is JSON it is written one way only (no optional spaces, a number
 *   always in one form, object members in one order). A sink writes it as
 *   it is, so no sink needs to know the source's types. Examples:
 *   jsonl_source, the "_id" value as the line writes it (42, "a1");
 *   source_mongo, an ObjectId's hex (5f1d7a3e9b1e8a4c2d3b4a5f), a string
 *   itself (a1), any other _id compact canonical extended JSON
 *   ({"$numberInt":"42"}). Not empty.
 * - doc: the document after the change as JSON text; empty for a delete. The
 *   core does not parse it.
 * - version: orders the changes of one key, in the snapshot and in CDC
 *   alike, so the two must be comparable: a snapshot row's version is at
 *   most that of any change after the CDC start position snapshot_begin
 *   gave (source_mongo: the cluster time of snapshot_begin, for every
 *   row), and each change of a key has a larger version than the key had
 *   before it (source_mongo: the change's cluster time, seconds << 32 |
 *   increment; jsonl_source: the line number, snapshot and CDC alike).
 *   Versions of different keys need not be comparable.
 * - What a sink may rely on: op is one of the five; table and key are not
 *   empty; every table's destination was set up (setup_table, by this
 *   instance or an earlier one); records come in the order the source
 *   added them. Not on arrival order across
 *   batches: delivery is at least once, so a batch may come again after
 *   later ones, and a key's newest record is the one with the largest
 *   version, wherever it comes (keep that one: ClickHouse's
 *   ReplacingMergeTree on the version). Not on versions growing along a
 *   table or a batch, nor on changed_at_ms being set. */
#ifndef SLUICE_RECORD_H
#define SLUICE_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef enum sluice_op {
    SLUICE_OP_SNAPSHOT = 1, /* a row read by the initial snapshot */
    SLUICE_OP_INSERT = 2,
    SLUICE_OP_UPDATE = 3, /* doc is the whole document after the update */
    SLUICE_OP_REPLACE = 4,
    SLUICE_OP_DELETE = 5 /* doc is empty */
} sluice_op;

/* A view of one record: `size` first, as in every public struct (fields
 * are appended; the core copies as many bytes as `size` says). The
 * pointed-to bytes are (pointer, length), not NUL-terminated, and belong to
 * whoever filled the view: a source's own buffers while it calls batch_add
 * (which copies them), the batch while a sink reads it (valid while the
 * batch is lent, that is, until the callback returns). */
typedef struct sluice_record {
    uint32_t size; /* sizeof(sluice_record), set by whoever fills it */
    sluice_op op;
    const char *table; /* table (collection) name */
    size_t table_len;
    const char *key; /* the document key, as the destination shows it */
    size_t key_len;
    const char *doc; /* the document as JSON text; empty for deletes */
    size_t doc_len;
    uint64_t version; /* orders changes of one key; larger is newer */
    /* ABI 1.2: when the change happened at the source, UTC, ms since
     * 1970; 0 when the source does not know (snapshot rows, most often).
     * Optional: the core shows a table's lag from it (`sluice status`),
     * and keeps it with the record for sinks. A record built for an older
     * ABI ends before it and has none. */
    int64_t changed_at_ms;
} sluice_record;

/* A batch being built (sources) or read (sinks). Owned by the core. */
typedef struct sluice_batch sluice_batch;

/* A list of byte strings that a plugin fills for the core (table names,
 * snapshot partitions). Owned by the core. */
typedef struct sluice_values sluice_values;

#endif
