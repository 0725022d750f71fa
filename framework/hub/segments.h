/* segments.h: the bytes of publication events, in append-only files
 * beside an SQLite store (the way Kafka's logs and Fluent Bit's
 * filesystem chunks keep data): written once, synced, and read back with
 * one read, instead of through SQLite's WAL, which copied every byte
 * twice. The store keeps the bookkeeping: a publication event names its
 * segment, offset, length and checksum (XXH3-64), and commits after its bytes
 * are on disk. PostgreSQL stores keep the bytes in the store (every worker of
 * every host reaches them there).
 *
 * Files: PATH-segments/NAME.seg beside the store file PATH, NAME being
 * the UTC time it was made, the process id and a count
 * (20261202T160512-4242-1). Who appends: each store connection has a
 * segment of its own while it publishes, and holds an exclusive flock on
 * it until the transaction of the last event written there is over; a
 * segment is never appended to by two. A new one is begun past
 * SEGMENT_BYTES_MAX or SEGMENT_AGE_MAX_MS, so that retention frees old
 * ones whole. Written and read with direct I/O where the file system
 * allows it, each event's bytes starting on a 4 KiB block.
 *
 * What a crash leaves: bytes written and synced whose event did not
 * commit are unreferenced; they go with their segment once no event
 * refers to it. The maintenance job (segments_sweep) deletes each
 * segment no event refers to and no connection holds; bytes that were
 * torn by a crash never have an event. A backup (segments_backup) holds
 * PATH-segments/.lock shared, and the sweep deletes nothing while it
 * does. */
#ifndef SLUICE_HUB_SEGMENTS_H
#define SLUICE_HUB_SEGMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/store.h"
#include "../util/buf.h"

#define SEGMENT_BYTES_MAX ((int64_t)64 << 20)
#define SEGMENT_AGE_MAX_MS (60 * 60 * 1000)
#define SEGMENT_NAME_MAX 64

/* Where one publication event's bytes are. */
struct segment_ref {
    char name[SEGMENT_NAME_MAX];
    int64_t offset, length;
    uint64_t checksum; /* XXH3-64 of the bytes */
};

/* Whether the store keeps its blobs in segments (an SQLite store). */
bool segments_used(const struct store *s);

/* Appends `len` bytes to this connection's segment and syncs them; *ref
 * says where they are. A failed write (a full disk) leaves the segment
 * as it was and is transient. */
int segments_append(struct store *s, const void *data, size_t len,
                    struct segment_ref *ref, struct error *err);

/* Reads the bytes `ref` names into `out` (replaced), checked against
 * their length and checksum: a missing file, a short one or other bytes
 * are errors that name the segment. */
int segments_read(struct store *s, const struct segment_ref *ref,
                  struct buf *out, struct error *err);

/* Deletes the segments that no publication event refers to and no
 * connection holds, counting them and their bytes. Nothing while a
 * backup runs (*busy true). */
int segments_sweep(struct store *s, int64_t *files, int64_t *bytes, bool *busy,
                   struct error *err);

/* One segment file, for the check: its name and size, whether a
 * connection appends to it now, and whether an event refers to it. */
struct segment_file {
    char name[SEGMENT_NAME_MAX];
    int64_t bytes;
    bool held, referenced;
};
/* The segment files there are; *out is the caller's to free. */
int segments_list(struct store *s, struct segment_file **out, size_t *count,
                  struct error *err);

/* Copies the store, consistent as of one moment while others write,
 * into the SQLite file `dest` (which must not exist) with the segment
 * bytes its events refer to in dest-segments/; synced. */
int segments_backup(struct store *s, const char *dest, int64_t *files,
                    int64_t *bytes, struct error *err);

#endif
