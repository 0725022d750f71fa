/* batch.h: the core's batch (sluice_batch of the SDK). Records are framed
 * one after another in one buffer, which is exactly the blob the hub
 * stores for a publication event; an index of offsets makes them
 * addressable. A frame is: kind (u8), version (u64 LE), the lengths of
 * table, key and doc (u32 LE each), for a timed frame the time of the
 * change (i64 LE, ms), then the table, key and doc bytes. The kind is the
 * op, with BATCH_FRAME_TIMED set when the frame has a time: blobs written
 * before records had a time (ABI 1.2) have only untimed frames, and read
 * as they always did.
 *
 * A batch is owned by whoever initialized it; sinks borrow it for a call. */
#ifndef SLUICE_PLUGIN_BATCH_H
#define SLUICE_PLUGIN_BATCH_H

#include <sluice/sluice.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"
#include "../util/error.h"

#define BATCH_FRAME_HEADER 21       /* an untimed frame's header */
#define BATCH_FRAME_TIMED 0x80      /* kind bit: an i64 time follows */
#define BATCH_FRAME_TIMED_HEADER 29 /* a timed frame's header */

/* The frames of a batch start on a multiple of this (hub/segments.c
 * writes them with direct I/O, in blocks of this size). */
#define BATCH_FRAMES_ALIGN 4096

struct sluice_batch {
    struct buf frames;
    size_t *offsets;
    size_t count, cap;
    struct buf position;
    bool has_position;
    size_t max_records; /* batch_full when reached; 0: no limit */
    size_t max_bytes;
    /* tables the source stopped following (batch_stop_table): names and
     * reasons, NUL-terminated one after another, pairs in order */
    struct buf stopped;
    /* the distinct tables of the records, in the order they first came:
     * each a u32 length and its bytes (batch_next_table); the last
     * record's is at `last_table`, so a run of one table costs one
     * comparison per record */
    struct buf tables;
    size_t last_table;
};

void batch_init(struct sluice_batch *b, size_t max_records, size_t max_bytes);
/* Empties the batch, keeping its memory and limits. */
void batch_reset(struct sluice_batch *b);
void batch_free(struct sluice_batch *b);
/* Replaces the contents with the frames of `blob`; refuses a blob whose
 * frames do not add up, or with a frame batch_add would not have written
 * (no table, no key, a time before 1970), naming the byte offset.
 * batch_adopt takes the bytes of `frames` instead of copying them (the
 * batch's old buffer is left there, emptied); on a refusal `frames` is
 * untouched. */
int batch_adopt(struct sluice_batch *b, struct buf *frames, struct error *err);
int batch_load(struct sluice_batch *b, const void *blob, size_t len,
               struct error *err);

/* The host API functions. */
sluice_status batch_add(sluice_batch *b, const sluice_record *rec,
                        sluice_error *err);
int batch_full(const sluice_batch *b);
sluice_status batch_set_position(sluice_batch *b, const void *position,
                                 size_t len, sluice_error *err);
size_t batch_count(const sluice_batch *b);
size_t batch_bytes(const sluice_batch *b);
int batch_get(const sluice_batch *b, size_t index, sluice_record *out);
sluice_status batch_stop_table(sluice_batch *b, const char *table,
                               const char *reason, sluice_error *err);

/* Walks the stopped tables: *at starts at 0; false when there are no
 * more. */
bool batch_next_stopped(const struct sluice_batch *b, size_t *at,
                        const char **table, const char **reason);
/* Appends the records of `from` whose table is none of `tables` (of
 * `count`); true when it left any out. */
bool batch_append_except(struct sluice_batch *to,
                         const struct sluice_batch *from,
                         const char *const *tables, size_t count);
/* Walks the distinct tables of the records, in the order they first
 * came: *at starts at 0; false when there are no more. `table` is not
 * NUL-terminated (a record's table is bytes). */
bool batch_next_table(const struct sluice_batch *b, size_t *at,
                      const char **table, size_t *len);
/* Adds to the list `out` ("a, b": NUL-terminated, `size` bytes, "" at
 * first) the batch's tables it does not have yet; a name that does not
 * fit is left out. For messages. */
void batch_tables_text(const struct sluice_batch *b, char *out, size_t size);
/* Appends the records, position and stopped tables of `from`. */
void batch_append(struct sluice_batch *to, const struct sluice_batch *from);

const char *op_name(sluice_op op);
/* -1 when the name is not an operation. */
int op_from_name(const char *name);

#endif
