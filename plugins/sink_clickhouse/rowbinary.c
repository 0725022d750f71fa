/* rowbinary.c: records as rows of an insert body.
 *
 * RowBinary per row: _id and doc as (varint length, bytes), _version
 * UInt64 LE, _is_deleted UInt8, _synced_at as UInt32 LE seconds
 * (DateTime) or Int64 LE milliseconds (DateTime64(3)): the columns in
 * the order of enum ch_role, which the insert's column list names.
 * JSONEachRow, for debugging, writes the same columns as JSON, by the
 * names of the table's shape. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "clickhouse.h"

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

/* The row as one line of JSON, its columns named as the shape says. */
static bool put_json_row(struct ch_buf *b, const struct ch_row_format *f,
                         const sluice_record *r, const char *doc,
                         size_t doc_len)
{
    time_t secs = (time_t)(f->synced_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    bool ok = true, first = true;
    for (int role = 0; ok && role < CH_ROLES; role++) {
        const char *name = ch_shape_name(f->shape, (enum ch_role)role);
        if (!name)
            continue;
        ok = ch_buf_append(b, first ? "{" : ",", 1) &&
             put_json_string(b, name, strlen(name)) && CH_LIT(b, ":");
        first = false;
        switch ((enum ch_role)role) {
        case CH_ID: ok = ok && put_json_string(b, r->key, r->key_len); break;
        case CH_DOC: ok = ok && put_json_string(b, doc, doc_len); break;
        case CH_VERSION:
            ok = ok && ch_buf_printf(b, "%" PRIu64, r->version);
            break;
        case CH_IS_DELETED:
            ok = ok && ch_buf_printf(b, "%d", r->op == SLUICE_OP_DELETE);
            break;
        case CH_SYNCED_AT:
        case CH_ROLES: ok = ok && put_json_string(b, ts, strlen(ts)); break;
        }
    }
    return ok && CH_LIT(b, "}\n");
}

bool ch_encode_row(struct ch_buf *b, const struct ch_row_format *f,
                   const sluice_record *r)
{
    bool deleted = r->op == SLUICE_OP_DELETE;
    const char *doc = deleted ? "" : r->doc;
    size_t doc_len = deleted ? 0 : r->doc_len;
    if (f->json_each_row)
        return put_json_row(b, f, r, doc, doc_len);
    bool ok = put_string(b, r->key, r->key_len) &&
              put_string(b, doc, doc_len) && put_le(b, r->version, 8) &&
              put_le(b, deleted, 1);
    if (f->ts64)
        return ok && put_le(b, (uint64_t)f->synced_ms, 8);
    return ok && put_le(b, (uint64_t)(f->synced_ms / 1000), 4);
}
