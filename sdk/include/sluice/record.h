/* sluice/record.h: records, batches and value lists, as plugins see them.
 *
 * A record is one change of one document: table, operation, key, document
 * and version. A batch is an ordered run of records plus the source
 * position reached once the batch is durable. Batches and value lists are
 * opaque and owned by the core; plugins build and read them only through
 * the host API (sluice/host.h), so the core can store a batch as the framed
 * blob it already is. */
#ifndef SLUICE_RECORD_H
#define SLUICE_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef enum sluice_op {
    SLUICE_OP_SNAPSHOT = 1, /* a row read by the initial snapshot */
    SLUICE_OP_INSERT = 2,
    SLUICE_OP_UPDATE = 3,   /* doc is the whole document after the update */
    SLUICE_OP_REPLACE = 4,
    SLUICE_OP_DELETE = 5    /* doc is empty */
} sluice_op;

/* A view of one record. The pointed-to bytes are not NUL-terminated and
 * belong to whoever filled the view: a source's own buffers while it calls
 * batch_add (which copies them), the batch while a sink reads it. */
typedef struct sluice_record {
    uint32_t size;      /* sizeof(sluice_record), set by whoever fills it */
    sluice_op op;
    const char *table;  /* table (collection) name */
    size_t table_len;
    const char *key;    /* the document key as canonical JSON text */
    size_t key_len;
    const char *doc;    /* the document as JSON text; empty for deletes */
    size_t doc_len;
    uint64_t version;   /* orders changes of one key; larger is newer */
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
