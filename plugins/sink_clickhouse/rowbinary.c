/* rowbinary.c: a batch's records of one table as INSERT bodies, encoded
 * while libcurl sends them (never built whole in memory), in requests of
 * at most max_batch_bytes, cut at record boundaries.
 *
 * RowBinary per row: _id and doc as (varint length, bytes), _version
 * UInt64 LE, _is_deleted UInt8, _synced_at as UInt32 LE seconds
 * (DateTime) or Int64 LE milliseconds (DateTime64(3)). JSONEachRow, for
 * debugging, writes the same columns as JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

struct producer {
    const sluice_batch *batch;
    const char *table;
    size_t table_len;
    size_t next, count;     /* records */
    size_t request_start;   /* `next` when this request began */
    struct ch_buf pending;  /* an encoded row not yet handed out */
    size_t pending_off;
    size_t sent, max;       /* bytes in this request */
    bool ts64, json_format;
    int64_t synced_ms;
    bool failed;
};

static bool put_varint(struct ch_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    return ch_buf_append(b, tmp, n);
}

static bool put_le(struct ch_buf *b, uint64_t v, size_t bytes)
{
    unsigned char tmp[8];
    for (size_t i = 0; i < bytes; i++)
        tmp[i] = (unsigned char)(v >> (8 * i));
    return ch_buf_append(b, tmp, bytes);
}

static bool put_string(struct ch_buf *b, const char *p, size_t len)
{
    return put_varint(b, len) && ch_buf_append(b, p, len);
}

static bool put_json_string(struct ch_buf *b, const char *p, size_t len)
{
    bool ok = CH_LIT(b, "\"");
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            ok = ch_buf_append(b, "\\", 1) && ch_buf_append(b, &p[i], 1);
        else if (c < 0x20)
            ok = ch_buf_printf(b, "\\u%04x", c);
        else
            ok = ch_buf_append(b, &p[i], 1);
    }
    return ok && CH_LIT(b, "\"");
}

static bool encode(struct producer *p, const sluice_record *r)
{
    struct ch_buf *b = &p->pending;
    bool deleted = r->op == SLUICE_OP_DELETE;
    const char *doc = deleted ? "" : r->doc;
    size_t doc_len = deleted ? 0 : r->doc_len;
    if (p->json_format) {
        time_t secs = (time_t)(p->synced_ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char ts[40];
        strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
        return CH_LIT(b, "{\"_id\":") && put_json_string(b, r->key, r->key_len) &&
               CH_LIT(b, ",\"doc\":") && put_json_string(b, doc, doc_len) &&
               ch_buf_printf(b,
                             ",\"_version\":%" PRIu64 ",\"_is_deleted\":%d,"
                             "\"_synced_at\":\"%s\"}\n",
                             r->version, deleted, ts);
    }
    bool ok = put_string(b, r->key, r->key_len) && put_string(b, doc, doc_len) &&
              put_le(b, r->version, 8) && put_le(b, deleted, 1);
    if (p->ts64)
        return ok && put_le(b, (uint64_t)p->synced_ms, 8);
    return ok && put_le(b, (uint64_t)(p->synced_ms / 1000), 4);
}

/* Moves to the next record of the table; false when there is none. */
static bool next_record(struct producer *p, sluice_record *r)
{
    while (p->next < p->count) {
        r->size = sizeof *r;
        ch_host->batch_get(p->batch, p->next++, r);
        if (r->table_len == p->table_len &&
            memcmp(r->table, p->table, p->table_len) == 0)
            return true;
    }
    return false;
}

static size_t produce(char *out, size_t size, void *state)
{
    struct producer *p = state;
    size_t written = 0;
    while (written < size) {
        if (p->pending_off == p->pending.len) {
            sluice_record r;
            if (p->sent >= p->max || !next_record(p, &r))
                break;
            p->pending.len = 0;
            p->pending_off = 0;
            if (!encode(p, &r)) {
                p->failed = true;
                return CURL_READFUNC_ABORT;
            }
        }
        size_t n = p->pending.len - p->pending_off;
        if (n > size - written)
            n = size - written;
        memcpy(out + written, p->pending.data + p->pending_off, n);
        p->pending_off += n;
        p->sent += n;
        written += n;
    }
    return written;
}

/* Back to where this request began, to send it again. */
static bool rewind_request(void *state)
{
    struct producer *p = state;
    p->next = p->request_start;
    p->pending.len = p->pending_off = 0;
    p->sent = 0;
    return true;
}

/* Whether records of the table remain after `next`. */
static bool remaining(struct producer *p)
{
    size_t keep = p->next;
    sluice_record r;
    bool more = next_record(p, &r);
    p->next = keep;
    return more;
}

static bool resyncing(const struct ch_sink *s, const char *table)
{
    for (size_t i = 0; i < s->resync_count; i++)
        if (strcmp(s->resyncing[i], table) == 0)
            return true;
    return false;
}

sluice_status ch_insert(struct ch_sink *s, const sluice_batch *batch,
                        const char *table, size_t table_len,
                        sluice_error *err)
{
    char *name = strndup(table, table_len);
    if (!name)
        return sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    const char *extra = resyncing(s, name) ? CH_SHADOW : NULL;
    struct ch_dest *dest = NULL;
    sluice_status st = ch_dest_of(s, name, extra, &dest, err);
    struct ch_buf query = {0};
    if (st == SLUICE_OK) {
        bool ok = CH_LIT(&query, "INSERT INTO ") &&
                  ch_table_name(s, name, extra, &query) &&
                  ch_buf_printf(&query,
                                " (_id, doc, _version, _is_deleted, "
                                "_synced_at) FORMAT %s",
                                s->cfg->format == CH_FORMAT_JSONEACHROW
                                    ? "JSONEachRow"
                                    : "RowBinary");
        if (!ok)
            st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    }
    struct producer p = {
        .batch = batch, .table = table, .table_len = table_len,
        .count = ch_host->batch_count(batch),
        .max = (size_t)s->cfg->max_batch_bytes, .ts64 = dest && dest->ts64,
        .json_format = s->cfg->format == CH_FORMAT_JSONEACHROW,
        .synced_ms = ch_host->now_ms()};
    const char *settings = dest && dest->json
                               ? "input_format_binary_read_json_as_string=1"
                               : NULL;
    struct ch_body body = {produce, rewind_request, &p};
    int64_t requests = 0;
    while (st == SLUICE_OK && remaining(&p)) {
        p.sent = 0;
        p.request_start = p.next;
        st = ch_request(s, query.data, settings, &body, NULL, err);
        if (p.failed)
            st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
        requests++;
    }
    if (st == SLUICE_OK) {
        ch_host->counter_add(s->ctx, "insert_requests", (uint64_t)requests);
    }
    ch_buf_free(&p.pending);
    ch_buf_free(&query);
    free(name);
    return st;
}
