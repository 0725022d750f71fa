/* records.h: what the kit remembers of the records and positions a source
 * delivered, to compare one run with another.
 *
 * A record is remembered by an identity: its table and key (a snapshot
 * delivers each key once), and for changes also its operation and version
 * (one key changes many times). Positions are kept as the bytes the source
 * set, with the number of records delivered up to them. */
#ifndef SLUICE_CONFORMANCE_RECORDS_H
#define SLUICE_CONFORMANCE_RECORDS_H

#include <sluice/sluice.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"

struct rec_id {
    char *bytes; /* table, NUL, key[, NUL, op, version]: owned */
    size_t len;
};

/* Identities in delivery order (or sorted, after rec_list_sort). */
struct rec_list {
    struct rec_id *items;
    size_t count, cap;
};

/* Appends the identity of every record of `batch`; with `change`, the
 * operation and version are part of it. */
void rec_list_add_batch(struct rec_list *l, const sluice_batch *batch,
                        bool change);
/* A sorted copy of items [from, to) of `l`. */
void rec_list_sorted(const struct rec_list *l, size_t from, size_t to,
                     struct rec_list *out);
bool rec_list_has(const struct rec_list *sorted, const struct rec_id *id);
/* The first identity a sorted list holds twice, or NULL. */
const struct rec_id *rec_list_duplicate(const struct rec_list *sorted);
void rec_list_free(struct rec_list *l);

/* "table items, key 5" (and ", insert version 7" for changes). */
void rec_id_describe(const struct rec_id *id, char *out, size_t size);

struct mark {
    struct buf position;
    size_t records; /* delivered up to and including this position */
};

struct marks {
    struct mark *items;
    size_t count, cap;
};

void marks_add(struct marks *m, const void *position, size_t len,
               size_t records);
void marks_free(struct marks *m);
/* Which marks to resume from when at most `picks` of `count` may be: the
 * index of the k-th, spread evenly, the last always included. */
size_t mark_pick(size_t k, size_t picks, size_t count);
bool position_equal(const struct buf *a, const void *position, size_t len);

/* A position for messages: quoted when it is printable text, else the
 * first bytes in hex and its length. */
void position_describe(const void *position, size_t len, char *out,
                       size_t size);

#endif
