/* batch.c: framed record batches (see batch.h). */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/mem.h"

#define FRAME_FIELD_MAX 0x7fffffffu

static const char *op_names[] = {
    [SLUICE_OP_SNAPSHOT] = "snapshot", [SLUICE_OP_INSERT] = "insert",
    [SLUICE_OP_UPDATE] = "update",     [SLUICE_OP_REPLACE] = "replace",
    [SLUICE_OP_DELETE] = "delete",
};

const char *op_name(sluice_op op)
{
    if (op < SLUICE_OP_SNAPSHOT || op > SLUICE_OP_DELETE)
        return "unknown";
    return op_names[op];
}

int op_from_name(const char *name)
{
    for (int op = SLUICE_OP_SNAPSHOT; op <= SLUICE_OP_DELETE; op++)
        if (strcmp(name, op_names[op]) == 0)
            return op;
    return -1;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The bytes of a frame's header (its kind says whether it has a time),
 * and of the whole frame. */
static size_t header_size(const unsigned char *frame)
{
    return frame[0] & BATCH_FRAME_TIMED ? BATCH_FRAME_TIMED_HEADER
                                        : BATCH_FRAME_HEADER;
}

static uint64_t body_size(const unsigned char *frame)
{
    return (uint64_t)get_u32(frame + 9) + get_u32(frame + 13) +
           get_u32(frame + 17);
}

void batch_init(struct sluice_batch *b, size_t max_records, size_t max_bytes)
{
    memset(b, 0, sizeof *b);
    b->max_records = max_records;
    b->max_bytes = max_bytes;
}

void batch_reset(struct sluice_batch *b)
{
    buf_reset(&b->frames);
    buf_reset(&b->position);
    buf_reset(&b->stopped);
    buf_reset(&b->tables);
    b->count = 0;
    b->has_position = false;
}

void batch_free(struct sluice_batch *b)
{
    buf_free(&b->frames);
    buf_free(&b->position);
    buf_free(&b->stopped);
    buf_free(&b->tables);
    free(b->offsets);
    memset(b, 0, sizeof *b);
}

static void index_frame(struct sluice_batch *b, size_t offset)
{
    XGROW(b->offsets, b->cap, b->count + 1);
    b->offsets[b->count++] = offset;
}

static bool same_table(const struct sluice_batch *b, size_t at,
                       const char *table, size_t len)
{
    return get_u32((const unsigned char *)b->tables.data + at) == len &&
           !memcmp(b->tables.data + at + 4, table, len);
}

/* The table of a record indexed: the last record's again costs one
 * comparison; another is looked up among the batch's distinct tables
 * (a few), and added when new. */
static void note_table(struct sluice_batch *b, const char *table, size_t len)
{
    if (b->tables.len && same_table(b, b->last_table, table, len))
        return;
    size_t at = 0;
    while (at < b->tables.len && !same_table(b, at, table, len))
        at += 4 + get_u32((const unsigned char *)b->tables.data + at);
    if (at == b->tables.len) {
        unsigned char n[4];
        put_u32(n, (uint32_t)len);
        buf_append(&b->tables, n, 4);
        buf_append(&b->tables, table, len);
    }
    b->last_table = at;
}

bool batch_next_table(const struct sluice_batch *b, size_t *at,
                      const char **table, size_t *len)
{
    if (*at >= b->tables.len)
        return false;
    *len = get_u32((const unsigned char *)b->tables.data + *at);
    *table = b->tables.data + *at + 4;
    *at += 4 + *len;
    return true;
}

/* Whether the list `out` ("a, b") has the name (t, len) as an item. */
static bool named_in(const char *out, const char *t, size_t len)
{
    for (const char *p = out; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && !memcmp(p, t, len))
            return true;
        p += n;
        p += strspn(p, ", ");
    }
    return false;
}

void batch_tables_text(const struct sluice_batch *b, char *out, size_t size)
{
    size_t at = 0, len, used = strlen(out);
    const char *t;
    while (batch_next_table(b, &at, &t, &len))
        if (!named_in(out, t, len) && used + len + 3 < size)
            used += (size_t)snprintf(out + used, size - used, "%s%.*s",
                                     used ? ", " : "", (int)len, t);
}

sluice_status batch_add(sluice_batch *b, const sluice_record *rec,
                        sluice_error *err)
{
    sluice_record r = {0};
    if (!rec ||
        rec->size < offsetof(sluice_record, version) + sizeof r.version)
        return sluice_fail(err, SLUICE_FATAL,
                           "batch_add: record size %u is too small (set "
                           ".size = sizeof(sluice_record))",
                           rec ? rec->size : 0);
    memcpy(&r, rec, rec->size < sizeof r ? rec->size : sizeof r);
    if (r.op < SLUICE_OP_SNAPSHOT || r.op > SLUICE_OP_DELETE)
        return sluice_fail(err, SLUICE_FATAL, "batch_add: unknown op %d",
                           (int)r.op);
    if (!r.table || !r.table_len || !r.key || !r.key_len)
        return sluice_fail(err, SLUICE_FATAL,
                           "batch_add: a record needs a table and a key");
    if (r.table_len > FRAME_FIELD_MAX || r.key_len > FRAME_FIELD_MAX ||
        r.doc_len > FRAME_FIELD_MAX || (r.doc_len && !r.doc))
        return sluice_fail(err, SLUICE_FATAL,
                           "batch_add: record of table '%.*s' is too large",
                           (int)(r.table_len > 64 ? 64 : r.table_len),
                           r.table);
    if (r.changed_at_ms < 0)
        return sluice_fail(err, SLUICE_FATAL,
                           "batch_add: record of table '%.*s' has "
                           "changed_at_ms %lld, before 1970 (0: unknown)",
                           (int)(r.table_len > 64 ? 64 : r.table_len), r.table,
                           (long long)r.changed_at_ms);
    unsigned char head[BATCH_FRAME_TIMED_HEADER];
    head[0] = (unsigned char)r.op;
    put_u64(head + 1, r.version);
    put_u32(head + 9, (uint32_t)r.table_len);
    put_u32(head + 13, (uint32_t)r.key_len);
    put_u32(head + 17, (uint32_t)r.doc_len);
    if (r.changed_at_ms) {
        head[0] |= BATCH_FRAME_TIMED;
        put_u64(head + BATCH_FRAME_HEADER, (uint64_t)r.changed_at_ms);
    }
    size_t head_len = header_size(head);
    size_t offset = b->frames.len;
    /* aligned for the direct I/O that writes the frames to the hub; a
     * batch with a bound gets room for it (and the record that passes
     * it) at once, not by doubling: no copy, nor the old and the new
     * buffer at once */
    size_t need = head_len + r.table_len + r.key_len + r.doc_len;
    if (!b->frames.cap && b->max_bytes && need < b->max_bytes)
        need = b->max_bytes + b->max_bytes / 8;
    buf_reserve_aligned(&b->frames, need, BATCH_FRAMES_ALIGN);
    buf_append(&b->frames, head, head_len);
    buf_append(&b->frames, r.table, r.table_len);
    buf_append(&b->frames, r.key, r.key_len);
    buf_append(&b->frames, r.doc, r.doc_len);
    index_frame(b, offset);
    note_table(b, r.table, r.table_len);
    return SLUICE_OK;
}

int batch_full(const sluice_batch *b)
{
    return (b->max_records && b->count >= b->max_records) ||
           (b->max_bytes && b->frames.len >= b->max_bytes);
}

sluice_status batch_set_position(sluice_batch *b, const void *position,
                                 size_t len, sluice_error *err)
{
    if (len && !position)
        return sluice_fail(err, SLUICE_FATAL,
                           "batch_set_position: position is NULL");
    buf_reset(&b->position);
    buf_append(&b->position, position, len);
    b->has_position = true;
    return SLUICE_OK;
}

sluice_status batch_stop_table(sluice_batch *b, const char *table,
                               const char *reason, sluice_error *err)
{
    if (!table || !table[0])
        return sluice_fail(err, SLUICE_FATAL,
                           "batch_stop_table: the table name is empty");
    buf_append(&b->stopped, table, strlen(table) + 1);
    reason = reason && reason[0] ? reason : "stopped by the source";
    buf_append(&b->stopped, reason, strlen(reason) + 1);
    return SLUICE_OK;
}

bool batch_next_stopped(const struct sluice_batch *b, size_t *at,
                        const char **table, const char **reason)
{
    if (*at >= b->stopped.len)
        return false;
    *table = b->stopped.data + *at;
    *at += strlen(*table) + 1;
    *reason = b->stopped.data + *at;
    *at += strlen(*reason) + 1;
    return true;
}

void batch_append(struct sluice_batch *to, const struct sluice_batch *from)
{
    for (size_t i = 0; i < from->count; i++)
        index_frame(to, to->frames.len + from->offsets[i]);
    buf_append(&to->frames, from->frames.data, from->frames.len);
    const char *table;
    size_t at = 0, len;
    while (batch_next_table(from, &at, &table, &len))
        note_table(to, table, len);
    if (from->has_position)
        batch_set_position(to, from->position.data, from->position.len, NULL);
    buf_append(&to->stopped, from->stopped.data, from->stopped.len);
}

bool batch_append_except(struct sluice_batch *to,
                         const struct sluice_batch *from,
                         const char *const *tables, size_t count)
{
    bool left_out = false;
    for (size_t i = 0; i < from->count; i++) {
        const unsigned char *p =
            (const unsigned char *)from->frames.data + from->offsets[i];
        size_t len = header_size(p) + (size_t)body_size(p);
        bool skip = false;
        for (size_t t = 0; t < count && !skip; t++)
            skip = get_u32(p + 9) == strlen(tables[t]) &&
                   !memcmp(p + header_size(p), tables[t], get_u32(p + 9));
        left_out = left_out || skip;
        if (!skip) {
            index_frame(to, to->frames.len);
            buf_append(&to->frames, p, len);
        }
    }
    return left_out;
}

size_t batch_count(const sluice_batch *b)
{
    return b->count;
}

size_t batch_bytes(const sluice_batch *b)
{
    return b->frames.len;
}

int batch_get(const sluice_batch *b, size_t index, sluice_record *out)
{
    if (index >= b->count || !out || out->size < sizeof(uint32_t))
        return -1;
    const unsigned char *p =
        (const unsigned char *)b->frames.data + b->offsets[index];
    sluice_record r = {.size = out->size};
    r.op = (sluice_op)(p[0] & ~BATCH_FRAME_TIMED);
    r.version = get_u64(p + 1);
    r.table_len = get_u32(p + 9);
    r.key_len = get_u32(p + 13);
    r.doc_len = get_u32(p + 17);
    if (p[0] & BATCH_FRAME_TIMED)
        r.changed_at_ms = (int64_t)get_u64(p + BATCH_FRAME_HEADER);
    r.table = (const char *)p + header_size(p);
    r.key = r.table + r.table_len;
    r.doc = r.key + r.key_len;
    memcpy(out, &r, out->size < sizeof r ? out->size : sizeof r);
    return 0;
}

/* What is wrong with a whole frame that batch_add would not have
 * written (a record without a table or a key, a field too large, a time
 * before 1970 or a timed frame without one); NULL when nothing is. */
static const char *frame_wrong(const unsigned char *frame)
{
    if (!get_u32(frame + 9))
        return "has no table";
    if (!get_u32(frame + 13))
        return "has no key";
    if (get_u32(frame + 9) > FRAME_FIELD_MAX ||
        get_u32(frame + 13) > FRAME_FIELD_MAX ||
        get_u32(frame + 17) > FRAME_FIELD_MAX)
        return "has a field too large";
    if ((frame[0] & BATCH_FRAME_TIMED) &&
        (int64_t)get_u64(frame + BATCH_FRAME_HEADER) <= 0)
        return "has a time that is not after 1970";
    return NULL;
}

int batch_adopt(struct sluice_batch *b, struct buf *frames, struct error *err)
{
    batch_reset(b);
    const unsigned char *p = (const unsigned char *)frames->data;
    size_t len = frames->len;
    for (size_t at = 0; at < len;) {
        unsigned op = p[at] & ~BATCH_FRAME_TIMED;
        if (op < SLUICE_OP_SNAPSHOT || op > SLUICE_OP_DELETE) {
            batch_reset(b);
            return error_set(err, "batch blob: unknown op %u at byte %zu",
                             p[at], at);
        }
        size_t head = header_size(p + at);
        if (len - at < head) {
            batch_reset(b);
            return error_set(err,
                             "batch blob: truncated frame header at "
                             "byte %zu of %zu",
                             at, len);
        }
        uint64_t body = body_size(p + at);
        if (body > len - at - head) {
            batch_reset(b);
            return error_set(err,
                             "batch blob: frame at byte %zu runs past "
                             "the end (%zu bytes)",
                             at, len);
        }
        const char *wrong = frame_wrong(p + at);
        if (wrong) {
            batch_reset(b);
            return error_set(err, "batch blob: frame at byte %zu %s", at,
                             wrong);
        }
        index_frame(b, at);
        note_table(b, (const char *)p + at + head, get_u32(p + at + 9));
        at += head + (size_t)body;
    }
    struct buf old = b->frames;
    b->frames = *frames;
    *frames = old;
    buf_reset(frames);
    return 0;
}

int batch_load(struct sluice_batch *b, const void *blob, size_t len,
               struct error *err)
{
    struct buf copy = {0};
    buf_append(&copy, blob, len);
    int rc = batch_adopt(b, &copy, err);
    buf_free(&copy);
    return rc;
}
